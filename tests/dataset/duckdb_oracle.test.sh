#!/usr/bin/env bash
# DuckDB as the oracle for dataset filters: a generated Hive-partitioned dataset
# (project x status, several files per partition, row groups of 50 rows in pages
# of 7 so that page statistics prune too, nulls,
# strings, decimals, timestamps, some files without a column) written with
# strata; for a few hundred seeded random predicates, `strata read --where P`
# must return exactly DuckDB's rows for the same predicate over the same files,
# on file:// and on radosgw (a copy of the same files, compared with DuckDB's
# local result). Needs node and @duckdb/node-api in tests/peers (SKIPPED
# without them, FAIL when CI=true). STRATA_ORACLE_SKIP_S3=1 skips radosgw.
set -euo pipefail

src=${STRATA_SOURCE_DIR:?STRATA_SOURCE_DIR not set}
strata=${STRATA:?STRATA not set}
peers=$src/tests/peers
seed=${STRATA_ORACLE_SEED:-4242}
count=${STRATA_ORACLE_COUNT:-250}

missing=""
command -v node >/dev/null 2>&1 || missing="node"
[ -d "$peers/node_modules/@duckdb/node-api" ] || missing="${missing:+$missing and }@duckdb/node-api (npm install in tests/peers)"
if [ -n "$missing" ]; then
    if [ "${CI:-}" = "true" ]; then
        echo "FAIL: the DuckDB oracle test needs $missing" >&2
        exit 1
    fi
    echo "SKIPPED: the DuckDB oracle test needs $missing"
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/strata-oracle.XXXXXX")
rgw=""
cleanup() {
    if [ -n "$rgw" ]; then bash "$src/scripts/radosgw.sh" stop "$rgw" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

node "$src/tests/dataset/duckdb_oracle.mjs" gen "$peers" "$work" "$seed"
files=0
while IFS= read -r csv; do
    rel=${csv#"$work/csv/"}
    project=${rel%%/*}
    rest=${rel#*/}
    status=${rest%%/*}
    base=$(basename "$csv" .csv)
    schema=$work/schema.json
    case $base in *-noremark) schema=$work/schema_noremark.json ;; esac
    # A space in a partition value is escaped as Hive does.
    pdir="project=${project// /%20}/status=$status"
    mkdir -p "$work/ds/$pdir"
    "$strata" parquet write --schema "$schema" --from "$csv" --row-group-size 50 --page-rows 7 \
        "$work/ds/$pdir/part-$base.parquet" >/dev/null 2>"$work/write.err" || { cat "$work/write.err" >&2; exit 1; }
    files=$((files + 1))
done < <(find "$work/csv" -name '*.csv' | sort)
echo "wrote $files files"

urls=("file://$work/ds")
if [ "${STRATA_ORACLE_SKIP_S3:-}" != "1" ]; then
    rgw=$work/rgw
    if ! STRATA_RADOSGW_OWNER=$$ bash "$src/scripts/radosgw.sh" start "$rgw" >"$work/rgw.log" 2>&1; then
        tail -20 "$work/rgw.log" >&2
        echo "FAIL: radosgw did not start" >&2
        exit 1
    fi
    set -a
    # shellcheck disable=SC1091
    . "$rgw/env"
    set +a
    export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
    /usr/bin/aws --endpoint-url "$STRATA_S3_ENDPOINT" s3 sync --quiet "$work/ds" "s3://$STRATA_S3_BUCKET/oracle/ds"
    urls+=("s3://$STRATA_S3_BUCKET/oracle/ds?endpoint=$STRATA_S3_ENDPOINT&region=us-east-1&path_style=1")
fi

# DuckDB reads the local files; its result is the expectation for every store.
node "$src/tests/dataset/duckdb_oracle.mjs" check "$peers" "$strata" "$work/ds" "$seed" "$count" "${urls[@]}"
