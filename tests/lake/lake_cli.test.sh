#!/usr/bin/env bash
# strata lake end to end on file://: every command and its errors and exit
# codes, two processes with their own indexes following each other through
# the store's journal, the default index location, STRATA_STORE.
# Needs STRATA (the CLI).
. "${STRATA_SOURCE_DIR:-$(dirname "${BASH_SOURCE[0]}")/../..}/tests/s3/lib.sh"
. "$S3T_SOURCE_DIR/tests/lake/cli_checks.sh"
need_strata
t=$s3t_tmp

lake_cli_checks "file://$t/store" "$t/w"

echo "== the default index location and STRATA_STORE"
export XDG_CACHE_HOME=$t/cache
expect_exit 0 "store with STRATA_STORE and the default index" env STRATA_STORE="file://$t/store2" "$STRATA" lake store a.txt --type other --content 'penguin'
check "index file under \$XDG_CACHE_HOME/strata" sh -c "ls '$t/cache/strata/'lake-*.sqlite >/dev/null"
expect_exit 0 "search with the default index" env STRATA_STORE="file://$t/store2" "$STRATA" lake search penguin --format json
check "found" grep -q '"name":"a.txt"' "$s3t_tmp/out"
expect_exit 0 "STRATA_LAKE_INDEX" env STRATA_STORE="file://$t/store2" STRATA_LAKE_INDEX="$t/custom.sqlite" "$STRATA" lake ls
check "index at STRATA_LAKE_INDEX" test -s "$t/custom.sqlite"
expect_exit 1 "no store" env -u STRATA_STORE "$STRATA" lake ls
expect_exit 0 "help" "$STRATA" lake --help
expect_exit 0 "command help" "$STRATA" lake search --help

echo "== the layout on disk"
check "content under lake/<type>/<subpath>/<name>" test -f "$t/store/lake/configuration/svc/api/config.yaml"
check "metadata under lake/.metadata/<id>.json" sh -c "ls '$t/store/lake/.metadata/'*.json >/dev/null"
check "journal numbered from 1" test -f "$t/store/lake/.journal/0000000000000001.json"
finish
