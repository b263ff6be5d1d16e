#!/usr/bin/env bash
# The first thing to run: builds strata and shows its main job on local files.
# Borehole data from CSV files, validated against schemas, written as Parquet,
# partitioned datasets queried with filters, a versioned, approved record, and
# artifacts found again by full-text search.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target strata >/dev/null

work=${STRATA_DEMO_DIR:-$root/build/demo}
mkdir -p "$work"
strata=build/strata
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step $strata parquet write --schema examples/borehole.schema.json --from examples/boreholes.csv \
  --codec zstd "$work/boreholes.parquet"
step $strata parquet schema "$work/boreholes.parquet"
step $strata parquet cat "$work/boreholes.parquet" --format table --limit 5 \
  --columns name,status,depth_m,drilled_on,created_at
step $strata parquet cat "$work/boreholes.parquet" --limit 2
printf '\n\033[1m$ %s\033[0m\n' "$strata parquet meta $work/boreholes.parquet | head -25"
$strata parquet meta "$work/boreholes.parquet" >"$work/meta.txt"
head -25 "$work/meta.txt"

# The same job on a store URL: file:// here; s3://bucket/prefix?endpoint=... works alike.
store="file://$work/store"
rm -rf "$work/store" # a second run starts afresh (the create-only put below must win)
step $strata parquet write --schema examples/borehole.schema.json --from examples/boreholes.csv \
  --codec zstd "$store/projects/boreholes.parquet"
step $strata store put --if-absent examples/borehole.schema.json "$store/schemas/borehole.schema.json"
printf '\n\033[1m$ %s\033[0m\n' "$strata store put --if-absent ... (again: refused, exit 3)"
$strata store put --if-absent examples/borehole.schema.json "$store/schemas/borehole.schema.json" || true
step $strata store ls "$store" --recursive
step $strata store stat "$store/projects/boreholes.parquet"
step $strata parquet cat "$store/projects/boreholes.parquet" --format csv --limit 3 --columns name,status,depth_m

# A dataset: validated against the built-in 'borehole' schema, partitioned by
# project, then queried with a filter that prunes what cannot match.
rm -rf "$work/datasets"
step $strata schema validate borehole examples/boreholes.csv
step $strata write "file://$work/datasets/boreholes" --table borehole --from examples/boreholes.csv \
  --partition project_id --codec zstd
step $strata read "file://$work/datasets/boreholes" --where "status = 'completed' and depth_m > 40" \
  --columns project_id,name,depth_m,drilled_on --format table --explain
# A versioned record: a borelog's layers, validated against the built-in
# 'stratum_layers' schema; v1, then v2, approved; every change is an event in a
# hash-chained log that verify checks.
records="file://$work/records"
rm -rf "$work/records"
step $strata record create BL-0001 --store "$records" --table stratum_layers \
  --from examples/borelog_v1.csv --by alice --comment "field log"
step $strata record update BL-0001 --store "$records" --from examples/borelog_v2.csv --by alice \
  --comment "lab corrections"
step $strata record approve BL-0001 --store "$records" --by bob --comment "checked against lab report"
printf '\n\033[1m$ %s\033[0m\n' "$strata record approve BL-0001 ... (again: refused, exit 3)"
$strata record approve BL-0001 --store "$records" --by bob 2>&1 || true
step $strata record history BL-0001 --store "$records"
step $strata record cat BL-0001 --store "$records" --approved --format csv
step $strata record verify BL-0001 --store "$records"
# The artifact lake: a schema, a guide and a rig log with metadata, then ranked
# full-text search (phrase, prefix, filters). The index is a cache of the store.
lake="file://$work/lake"
rm -rf "$work/lake" "$work/lake-index.sqlite"
export STRATA_LAKE_INDEX="$work/lake-index.sqlite"
step $strata lake store borehole.schema.json --store "$lake" --type schema --subpath field/boreholes \
  --meta '{"owner":"geotech","status":"approved"}' --file examples/borehole.schema.json
step $strata lake store drilling-guide.md --store "$lake" --type documentation --subpath field \
  --meta '{"owner":"geotech"}' --content "Log every stratum with its depth, soil class and moisture.
Record core recovery and RQD in rock. Approved borelogs are never changed."
step $strata lake store rig-07.log --store "$lake" --type logs --subpath rigs/2026 --meta '{"rig":"R-07"}' \
  --content "09:12 start drilling BH-13
11:40 partial water loss at 6.2 m
15:05 core recovery 78% in weathered sandstone"
step $strata lake search '"core recovery"' --store "$lake"
step $strata lake search 'sandst*' --store "$lake" --type logs
step $strata lake search depth --store "$lake" --meta owner=geotech
step $strata lake ls --store "$lake" --recursive
step $strata lake stats --store "$lake"
echo
echo "The Parquet files are under $work; any engine (DuckDB, Spark, pandas) reads them."
