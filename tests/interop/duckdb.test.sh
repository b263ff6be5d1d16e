#!/usr/bin/env bash
# DuckDB interop: strata writes a matrix of files (every type x codec x
# dictionary x nulls x page v1/v2, several row groups and pages) that DuckDB must
# read back value for value with matching statistics; then DuckDB writes the same
# rows and strata must read exactly what DuckDB reads. Needs node and
# @duckdb/node-api in tests/peers: without them the test says SKIPPED, or fails
# when CI=true.
set -euo pipefail

src=${STRATA_SOURCE_DIR:?STRATA_SOURCE_DIR not set}
bin=${STRATA_BINARY_DIR:?STRATA_BINARY_DIR not set}
peers=$src/tests/peers
gen=$bin/tests/interop_gen

missing=""
command -v node >/dev/null 2>&1 || missing="node"
[ -d "$peers/node_modules/@duckdb/node-api" ] || missing="${missing:+$missing and }@duckdb/node-api (npm install in tests/peers)"
if [ -n "$missing" ]; then
    if [ "${CI:-}" = "true" ]; then
        echo "FAIL: interop test needs $missing" >&2
        exit 1
    fi
    echo "SKIPPED: interop test needs $missing"
    exit 0
fi
[ -x "$gen" ] || { echo "FAIL: $gen not built" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/strata-interop.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$gen" matrix "$work"

# strata reads DuckDB's files through the CLI when it has `parquet cat`,
# otherwise through the library (st_pq_scan_json) via the generator.
cat_cmd=("$gen" cat)
if [ -n "${STRATA:-}" ] && [ -x "$STRATA" ] && \
   "$STRATA" parquet cat --format jsonl "$work/uncompressed_plain_req_v1.parquet" >/dev/null 2>&1; then
    cat_cmd=("$STRATA" parquet cat --format jsonl)
    echo "reading DuckDB's files with: strata parquet cat --format jsonl"
else
    echo "reading DuckDB's files with: interop_gen cat (strata parquet cat not available)"
fi

node "$src/tests/interop/duckdb_check.mjs" "$peers" "$work" "${cat_cmd[@]}"
