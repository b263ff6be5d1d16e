#!/usr/bin/env bash
# Dataset benchmark: strata (bench/dataset.c) and DuckDB (bench/dataset_duckdb.mjs)
# on the same Hive-partitioned files in the same run: ROWS rows (default 50 million)
# over 20 projects, each project sorted by time, row groups of 100,000 rows.
#   selective query: one project and a time window holding 0.1% of all rows
#   full scan: every row of time, depth and value
# Prints seconds for strata and DuckDB, each with one thread and with its default
# (one per CPU), the ratios, the bytes strata read and the share of row groups its pruning skipped.
#
#   bench/dataset.sh [BUILD_DIR]     env: BENCH_ROWS (50000000), BENCH_DIR (a temp
#                                    dir under $TMPDIR; kept when given)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
bench=$build/bench/bench_dataset
[ -x "$bench" ] || { echo "bench/dataset.sh: $bench not found: cmake --build $build --target bench_dataset" >&2; exit 1; }
rows=${BENCH_ROWS:-50000000}
if [ -n "${BENCH_DIR:-}" ]; then
  dir=$BENCH_DIR
  mkdir -p "$dir"
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench-dataset.XXXXXX")
  trap 'rm -rf "$dir"' EXIT
fi
if [ ! -f "$dir/ds/_strata_schema.json" ] || [ "$(cat "$dir/rows" 2>/dev/null)" != "$rows" ]; then
  rm -rf "$dir/ds"
  "$bench" gen "$dir" "$rows"
  echo "$rows" >"$dir/rows"
fi
echo "dataset: $rows rows, $(du -sh "$dir/ds" | cut -f1) on disk, $(find "$dir/ds" -name '*.parquet' | wc -l) files"
s=$("$bench" query "$dir" "$rows")
from=$(node -e 'console.log(JSON.parse(process.argv[1]).from)' "$s")
to=$(node -e 'console.log(JSON.parse(process.argv[1]).to)' "$s")
d=$(node "$root/bench/dataset_duckdb.mjs" "$root/tests/peers" "$dir" "$from" "$to")
node -e '
const s = JSON.parse(process.argv[1]), d = JSON.parse(process.argv[2]);
const f = (x) => x.toFixed(4) + " s";
const r = (a, b) => (a / b).toFixed(2);
console.log(`selective query: ${s.filter}`);
console.log(`  strata rows ${s.sel_rows}, bytes read ${s.sel_bytes}, files pruned ${s.sel_files_pruned}, row groups read ${s.sel_rg_read} of ${s.rg_total} (${(100 * s.rg_skipped_frac).toFixed(2)}% skipped)`);
console.log(`  threads=1          strata ${f(s.sel_s)}  duckdb ${f(d.sel_t1_s)}  ratio strata/duckdb ${r(s.sel_s, d.sel_t1_s)}`);
console.log(`  threads=${s.cpus} (default) strata ${f(s.sel_auto_s)}  duckdb ${f(d.sel_tdefault_s)}  ratio ${r(s.sel_auto_s, d.sel_tdefault_s)}`);
console.log(`  duckdb result ${d.sel_result.join(", ")}; strata rows ${s.sel_rows}, sum(value) ${s.sel_sum_value}`);
console.log(`full scan (time, depth, value of every row): strata bytes read ${s.full_bytes}`);
console.log(`  threads=1          strata ${f(s.full_s)}  duckdb ${f(d.full_t1_s)}  ratio strata/duckdb ${r(s.full_s, d.full_t1_s)}`);
console.log(`  threads=${s.cpus} (default) strata ${f(s.full_auto_s)}  duckdb ${f(d.full_tdefault_s)}  ratio ${r(s.full_auto_s, d.full_tdefault_s)}`);
console.log(`  duckdb result ${d.full_result.join(", ")}; strata rows ${s.full_rows}, sum(value) ${s.full_sum_value}, sum(depth) ${s.full_sum_depth}`);
' "$s" "$d"
