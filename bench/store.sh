#!/usr/bin/env bash
# Store benchmark driver: strata (bench/store.c) and the AWS CLI move the same files
# to and from the same radosgw in the same run; strata also on file://.
#   1,000 objects of 4 KiB: put, get (both with 10 requests in flight: the AWS CLI's
#   default max_concurrent_requests, and strata's --threads)
#   one 1 GiB object: put (multipart), get (strata: one whole GET and 8 MiB ranged
#   GETs in parallel; the AWS CLI: its parallel ranged GETs)
# Prints objects/s and MB/s (10^6 bytes) for both and the ratio strata/aws.
#
#   bench/store.sh [BUILD_DIR]      (default: build; needs bench/bench_store built)
# Env: BENCH_COUNT (1000), BENCH_SIZE (4096), BENCH_BIG_MB (1024), BENCH_THREADS (10),
#      BENCH_TMP: where the source files and the downloads live, default /dev/shm when it
#      has room (both tools then read and write memory, so disk noise stays out of the
#      S3 figures), else $TMPDIR or /tmp;
#      BENCH_DISK: where the file:// store lives (a real disk: fsync counts), default
#      $TMPDIR or /tmp.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
bench=$build/bench/bench_store
[ -x "$bench" ] || {
  echo "bench/store.sh: $bench not found: cmake --build $build --target bench_store" >&2
  exit 1
}
AWS=/usr/bin/aws
[ -x "$AWS" ] || {
  echo "bench/store.sh: $AWS not found (run scripts/setup.sh)" >&2
  exit 1
}
count=${BENCH_COUNT:-1000}
size=${BENCH_SIZE:-4096}
big_mb=${BENCH_BIG_MB:-1024}
threads=${BENCH_THREADS:-10}
tmp_default=${TMPDIR:-/tmp}
if [ -z "${BENCH_TMP:-}" ] && [ -d /dev/shm ] &&
  [ "$(df -k --output=avail /dev/shm 2>/dev/null | tail -n 1)" -gt $(((4 * big_mb + 512) * 1024)) ]; then
  BENCH_TMP=/dev/shm
fi
work=$(mktemp -d "${BENCH_TMP:-$tmp_default}/strata-bench-store.XXXXXX")
disk=$(mktemp -d "${BENCH_DISK:-$tmp_default}/strata-bench-store-disk.XXXXXX")
rgw=$disk/rgw
cleanup() {
  bash "$root/scripts/radosgw.sh" stop "$rgw" || true
  rm -rf "$work" "$disk"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
: >"$disk/aws-empty"
export AWS_CONFIG_FILE=$disk/aws-empty AWS_SHARED_CREDENTIALS_FILE=$disk/aws-empty
unset AWS_PROFILE AWS_SESSION_TOKEN

now() { date +%s.%N; }
calc() { python3 -c "print(format($1, '.${2:-2f}'))"; }

echo "== data: $count files of $size bytes, one file of $big_mb MiB (in $work; file:// store in $disk)"
mkdir -p "$work/src"
python3 - "$work/src" "$count" "$size" <<'EOF'
import os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(os.urandom(size))
EOF
head -c $((big_mb * 1024 * 1024)) /dev/urandom >"$work/big"
big_bytes=$((big_mb * 1024 * 1024))
small_bytes=$((count * size))

STRATA_RADOSGW_OWNER=$$ bash "$root/scripts/radosgw.sh" start "$rgw"
set -a
. "$rgw/env"
set +a
s3=$(printf 's3://%s/%%s?endpoint=%s&region=us-east-1&path_style=1' "$STRATA_S3_BUCKET" "$STRATA_S3_ENDPOINT")
# Deleted data is reclaimed by radosgw's garbage collector; the in-memory OSD holds
# only 2 GiB, so collect between phases.
gc() { radosgw-admin -c "$rgw/ceph.conf" gc process --include-all >/dev/null 2>&1 || true; }
aws_s3() { "$AWS" --endpoint-url "$STRATA_S3_ENDPOINT" "$@"; }

declare -A r # result key -> "seconds"
strata_run() { # <label> <bench args...>: records r[<label>:<op>] = seconds
  local label=$1 line op secs
  shift
  if ! "$bench" "$@" --threads "$threads" >"$work/bench.out" 2>"$work/bench.err"; then
    cat "$work/bench.out" "$work/bench.err" >&2
    echo "bench/store.sh: bench_store $* failed" >&2
    exit 1
  fi
  while read -r line; do
    echo "  $line"
    op=$(awk '{print $2}' <<<"$line")
    secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$line")
    r[$label:$op]=$secs
  done <"$work/bench.out"
}
timed() { # <key> <command...>: records r[key] = seconds
  local key=$1 t0 t1
  shift
  t0=$(now)
  "$@"
  t1=$(now)
  r[$key]=$(calc "$t1 - $t0" 3f)
  echo "  aws ${key#aws:} seconds=${r[$key]}"
}

echo "== strata on file://"
strata_run file "file://$disk/filestore" --src "$work/src" --count "$count" --big "$work/big" --out "$work/out-file"
rm -rf "$disk/filestore" "$work/out-file"

echo "== radosgw: $count small objects"
# shellcheck disable=SC2059
strata_run s3 "$(printf "$s3" strata-small)" --src "$work/src" --count "$count" --out "$work/out-s3" --phase small
timed aws:put_small aws_s3 s3 cp --only-show-errors --recursive "$work/src" "s3://$STRATA_S3_BUCKET/aws-small/"
timed aws:get_small aws_s3 s3 cp --only-show-errors --recursive "s3://$STRATA_S3_BUCKET/aws-small/" "$work/out-aws"
diff -r "$work/src" "$work/out-aws" >/dev/null || {
  echo "bench/store.sh: the AWS CLI's small objects came back different" >&2
  exit 1
}
aws_s3 s3 rm --only-show-errors --recursive "s3://$STRATA_S3_BUCKET/aws-small/"
rm -rf "$work/out-aws" "$work/out-s3"
gc

echo "== radosgw: one $big_mb MiB object"
# shellcheck disable=SC2059
strata_run s3 "$(printf "$s3" strata-big)" --big "$work/big" --count 1 --out "$work/out-s3" --phase big
gc
timed aws:put_big aws_s3 s3 cp --only-show-errors "$work/big" "s3://$STRATA_S3_BUCKET/aws-big"
timed aws:get_big aws_s3 s3 cp --only-show-errors "s3://$STRATA_S3_BUCKET/aws-big" "$work/big.aws"
cmp -s "$work/big" "$work/big.aws" || {
  echo "bench/store.sh: the AWS CLI's big object came back different" >&2
  exit 1
}
rm -f "$work/big.aws"
aws_s3 s3 rm --only-show-errors "s3://$STRATA_S3_BUCKET/aws-big"
gc

rate() { # <seconds> <objects> <bytes> -> "obj/s MB/s"
  python3 -c "s=$1; print('%9.1f obj/s %8.1f MB/s' % ($2 / s, $3 / 1e6 / s))"
}
row() { # <label> <strata key> <aws key> <objects> <bytes>
  local s=${r[$2]:-} a=${r[$3]:-} ratio=""
  [ -n "$s" ] || return 0
  [ -n "$a" ] && ratio=$(calc "$a / $s" 2f)
  printf '%-34s %s   %s   %s\n' "$1" "$(rate "$s" "$4" "$5")" \
    "$([ -n "$a" ] && rate "$a" "$4" "$5" || printf '%28s' -)" "${ratio:--}"
}
echo
echo "== results ($threads requests in flight; MB = 10^6 bytes; ratio = strata speed / aws speed)"
printf '%-34s %-28s   %-28s   %s\n' "operation" "strata" "aws cli" "strata/aws"
row "radosgw put $count x $size B" s3:put_small aws:put_small "$count" "$small_bytes"
row "radosgw get $count x $size B" s3:get_small aws:get_small "$count" "$small_bytes"
row "radosgw put $big_mb MiB" s3:put_big aws:put_big 1 "$big_bytes"
row "radosgw get $big_mb MiB (one GET)" s3:get_big_whole aws:get_big 1 "$big_bytes"
row "radosgw get $big_mb MiB (ranged GETs)" s3:get_big_ranges aws:get_big 1 "$big_bytes"
row "file:// put $count x $size B" file:put_small - "$count" "$small_bytes"
row "file:// get $count x $size B" file:get_small - "$count" "$small_bytes"
row "file:// put $big_mb MiB" file:put_big - 1 "$big_bytes"
row "file:// get $big_mb MiB (whole)" file:get_big_whole - 1 "$big_bytes"
row "file:// get $big_mb MiB (ranges)" file:get_big_ranges - 1 "$big_bytes"
