#!/usr/bin/env bash
# Lake benchmark driver: bench/lake.c ingests generated text artifacts into a
# lake on file:// and times 1,000 searches; then `grep -rlw` looks for a
# sample of the same single-word queries over the same content files, in the
# same run, as the baseline. Prints ingest rate, search p50/p99 and the
# lake/grep ratio at p50.
#
#   bench/lake.sh [BUILD_DIR]      (default: build; needs bench/bench_lake built)
# Env: BENCH_LAKE_COUNT (100000 documents), BENCH_LAKE_SIZE (10000 bytes each:
#      1 GB in all), BENCH_LAKE_QUERIES (1000), BENCH_LAKE_GREPS (20 grep runs),
#      BENCH_THREADS (4 ingest threads), BENCH_DISK (where the store and the
#      index live: a real disk, default $TMPDIR or /tmp), BENCH_LAKE_DIR (keep
#      the lake in this directory: the first run ingests and leaves it there,
#      later runs with the same count and size skip the ingest and only rebuild
#      or catch up the index, then search; remove the directory to start over;
#      BENCH_LAKE_REINDEX=1 also drops the index so it is rebuilt),
#      BENCH_LAKE_EXACT=1 (the queries run in exact mode, every match ranked,
#      instead of the default bounded mode; printed as "search ... exact").
# Quick run: BENCH_LAKE_COUNT=5000 BENCH_LAKE_GREPS=5 bench/lake.sh build
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
bench=$build/bench/bench_lake
[ -x "$bench" ] || {
  echo "bench/lake.sh: $bench not found: cmake --build $build --target bench_lake" >&2
  exit 1
}
count=${BENCH_LAKE_COUNT:-100000}
size=${BENCH_LAKE_SIZE:-10000}
queries=${BENCH_LAKE_QUERIES:-1000}
greps=${BENCH_LAKE_GREPS:-20}
threads=${BENCH_THREADS:-4}
reuse=()
exact=()
[ "${BENCH_LAKE_EXACT:-0}" = 1 ] && exact=(--exact)
if [ -n "${BENCH_LAKE_DIR:-}" ]; then
  disk=$BENCH_LAKE_DIR
  mkdir -p "$disk"
  # The marker names what was ingested; anything else starts from an empty lake.
  if [ "$(cat "$disk/ingested" 2>/dev/null)" = "$count $size" ]; then
    reuse=(--reuse)
    [ "${BENCH_LAKE_REINDEX:-0}" = 1 ] && rm -f "$disk/index.sqlite" "$disk/index.sqlite-wal" "$disk/index.sqlite-shm"
  else
    rm -rf "$disk/store" "$disk/index.sqlite" "$disk/index.sqlite-wal" "$disk/index.sqlite-shm" "$disk/ingested"
  fi
else
  disk=$(mktemp -d "${BENCH_DISK:-${TMPDIR:-/tmp}}/strata-bench-lake.XXXXXX")
  trap 'rm -rf "$disk"' EXIT
fi
trap 'exit 130' INT TERM HUP

echo "== lake: $count documents of ~$size bytes, $queries ${exact:+exact }queries ($threads ingest threads; store and index in $disk${reuse:+; reusing its ingested lake})"
"$bench" "file://$disk/store" --count "$count" --size "$size" --queries "$queries" \
  --threads "$threads" --index "$disk/index.sqlite" --terms "$disk/terms" ${reuse[@]+"${reuse[@]}"} \
  ${exact[@]+"${exact[@]}"} | tee "$disk/bench.out"
[ ${#reuse[@]} -eq 0 ] && echo "$count $size" >"$disk/ingested"
field() { sed -n "s/.*kind=all.*$1=\([0-9.]*\).*/\1/p" "$disk/bench.out" | head -n 1; }
p50=$(field p50_ms)
p99=$(field p99_ms)

echo "== grep -rlw over the same files ($greps of the single-word queries)"
# Only the content tree (lake/<type>/...), not the lake's own .metadata/.journal.
dirs=()
for d in "$disk/store/lake/"*/; do dirs+=("$d"); done
sync
# A first pass warms the page cache, as the index's pages are warm for strata.
grep -rlw zzzzwarm "${dirs[@]}" >/dev/null || true
: >"$disk/grep.times"
head -n "$greps" "$disk/terms" | while read -r term; do
  t0=$(date +%s.%N)
  n=$(grep -rlw -- "$term" "${dirs[@]}" | wc -l || true)
  t1=$(date +%s.%N)
  ms=$(python3 -c "print(f'{($t1 - $t0) * 1000:.1f}')")
  echo "  grep $term: $n files, $ms ms"
  echo "$ms" >>"$disk/grep.times"
done
gp50=$(python3 -c "
import statistics
v = sorted(float(x) for x in open('$disk/grep.times'))
print(f'{statistics.median(v):.1f}')")

echo
echo "== results"
python3 - "$disk/bench.out" "$p50" "$p99" "$gp50" "$disk/grep.times" <<'PY'
import re, sys
out = open(sys.argv[1]).read()
ing = dict(re.findall(r'(\w+)=([0-9.]+)', out.splitlines()[0]))
p50, p99, gp50 = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
g = sorted(float(x) for x in open(sys.argv[5]))
if 'sync_seconds' in ing:
    print(f"ingest           reused {int(ing['docs'])} docs; index caught up in {float(ing['sync_seconds']):.1f} s")
else:
    print(f"ingest           {int(ing['docs'])} docs, {float(ing['bytes'])/1e9:.2f} GB in {float(ing['seconds']):.1f} s: "
          f"{float(ing['docs_per_s']):.0f} docs/s, {float(ing['MB_per_s']):.1f} MB/s")
for line in out.splitlines():
    if line.startswith('lake optimize'):
        print(f"index optimize   {float(line.split('=')[1]):.1f} s (st_lake_optimize after the load)")
for line in out.splitlines():
    if line.startswith('lake search kind='):
        f = dict(re.findall(r'(\w+)=([0-9a-z.]+)', line))
        print(f"search {f['kind']:<6} {f.get('mode', 'bounded'):<7} p50 {float(f['p50_ms']):7.2f} ms, p90 {float(f['p90_ms']):7.2f}, "
              f"p99 {float(f['p99_ms']):7.2f}, max {float(f['max_ms']):7.2f} ({f['queries']} queries, {f['hits_mean']} hits)")
print(f"lake search      p50 {p50:.2f} ms, p99 {p99:.2f} ms (target p99 < 20 ms: {'met' if p99 < 20 else 'NOT met'})")
print(f"grep -rlw        p50 {gp50:.0f} ms over {len(g)} runs (min {g[0]:.0f}, max {g[-1]:.0f})")
ratio = gp50 / p50 if p50 > 0 else float('inf')
print(f"lake/grep        {ratio:.0f}x faster at p50 (target >= 100x: {'met' if ratio >= 100 else 'NOT met'})")
PY
