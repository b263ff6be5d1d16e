#!/usr/bin/env bash
# The strata CLI end to end: help texts, exit codes, write -> cat round trips,
# and bad input refused with a clear message and nothing left behind.
set -uo pipefail
strata=${STRATA:?path of the strata binary}
src=${STRATA_SOURCE_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # <description> <command...>: the command must succeed
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
expect_exit() { # <code> <description> <command...>
  local want=$1 what=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -eq "$want" ] && { [ "$want" -eq 0 ] || [ -s "$tmp/err" ]; }; then
    echo "ok   $what (exit $got)"
  else
    echo "FAIL $what: exit $got, want $want; stderr: $(head -c 300 "$tmp/err")"
    fails=$((fails + 1))
  fi
}

# --help everywhere
for c in "" "parquet" "parquet cat" "parquet schema" "parquet meta" "parquet write"; do
  # shellcheck disable=SC2086
  expect_exit 0 "strata $c --help" $strata $c --help
  grep -q usage "$tmp/out" || { echo "FAIL help text of '$c' has no usage line"; fails=$((fails + 1)); }
done
expect_exit 1 "no arguments is a usage error" $strata
expect_exit 1 "unknown group" $strata nosuch
expect_exit 1 "unknown parquet command" $strata parquet nosuch
expect_exit 1 "cat without a file" $strata parquet cat
expect_exit 1 "bad --limit" $strata parquet cat x.parquet --limit -3
expect_exit 1 "bad --format" $strata parquet cat x.parquet --format xml
expect_exit 2 "missing file" $strata parquet cat "$tmp/missing.parquet"

# A schema and data with every kind of cell.
cat >"$tmp/s.json" <<'JSON'
{"name": "t", "fields": [
  {"name": "id", "type": "int64", "nullable": false},
  {"name": "name", "type": "string"},
  {"name": "depth_m", "type": "decimal(8,3)"},
  {"name": "ok", "type": "bool"},
  {"name": "at", "type": "timestamp(us, UTC)"},
  {"name": "on", "type": "date"},
  {"name": "u", "type": "uuid"},
  {"name": "x", "type": "double"}
]}
JSON
cat >"$tmp/d.csv" <<'CSV'
id,name,depth_m,ok,at,on,u,x
1,"BH-01, north",12.5,yes,2024-05-01T12:00:00+02:00,2024-05-01,8e2b6c1a-1111-4222-8333-444455556666,1.1
2,,0.001,0,2024-05-02 00:00:00,2024-05-02,,1e21
3,"quote ""q""",,true,,,,
CSV
for codec in uncompressed snappy gzip zstd lz4_raw brotli; do
  for pv in 1 2; do
    expect_exit 0 "write csv codec=$codec page v$pv" \
      $strata parquet write --schema "$tmp/s.json" --from "$tmp/d.csv" --codec $codec --page-version $pv "$tmp/o.parquet"
    $strata parquet cat "$tmp/o.parquet" >"$tmp/rows.jsonl"
    cat >"$tmp/want.jsonl" <<'ROWS'
{"id":1,"name":"BH-01, north","depth_m":"12.500","ok":true,"at":"2024-05-01T10:00:00.000000Z","on":"2024-05-01","u":"8e2b6c1a-1111-4222-8333-444455556666","x":1.1}
{"id":2,"name":null,"depth_m":"0.001","ok":false,"at":"2024-05-02T00:00:00.000000Z","on":"2024-05-02","u":null,"x":1e+21}
{"id":3,"name":"quote \"q\"","depth_m":null,"ok":true,"at":null,"on":null,"u":null,"x":null}
ROWS
    check "cat round trip codec=$codec v$pv" cmp -s "$tmp/rows.jsonl" "$tmp/want.jsonl"
  done
done
$strata parquet cat "$tmp/o.parquet" --format csv --columns name,id >"$tmp/o.csv"
printf 'name,id\n"BH-01, north",1\n,2\n"quote ""q""",3\n' >"$tmp/want.csv"
check "cat --format csv --columns" cmp -s "$tmp/o.csv" "$tmp/want.csv"
check "cat --limit 1" test "$($strata parquet cat "$tmp/o.parquet" --limit 1 | wc -l)" -eq 1
$strata parquet cat "$tmp/o.parquet" --format table >"$tmp/o.txt"
check "cat --format table has a header and 3 rows" test "$(wc -l <"$tmp/o.txt")" -eq 5
expect_exit 2 "cat --columns with an unknown column" $strata parquet cat "$tmp/o.parquet" --columns nope
expect_exit 0 "schema --format json" $strata parquet schema "$tmp/o.parquet" --format json
check "schema json names the decimal" grep -q '"DECIMAL"' "$tmp/out"
expect_exit 0 "meta" $strata parquet meta "$tmp/o.parquet"
check "meta names the codec" grep -q 'BROTLI' "$tmp/out"

# JSON Lines input, footer key-value metadata, row groups by row count.
printf '{"id":1,"name":"a","x":2.5}\n\n{"id":2,"ok":false}\n{"id":3,"name":"c"}\n' >"$tmp/d.jsonl"
expect_exit 0 "write jsonl with --row-group-size and --kv" \
  $strata parquet write --schema "$tmp/s.json" --from "$tmp/d.jsonl" --row-group-size 2 --kv origin=test "$tmp/j.parquet"
$strata parquet meta "$tmp/j.parquet" --format json >"$tmp/meta.json"
check "two row groups" test "$(grep -o '"num_rows"' "$tmp/meta.json" | wc -l)" -ge 3
check "kv metadata kept" grep -q '"origin"' "$tmp/meta.json"

# Bad input: clear errors, nothing written.
printf 'id,name\n1,a\nnot-a-number,b\n' >"$tmp/bad.csv"
expect_exit 4 "a cell that is not an int64" \
  $strata parquet write --schema "$tmp/s.json" --from "$tmp/bad.csv" "$tmp/bad.parquet"
check "error names line and value" grep -q "not-a-number" "$tmp/err"
check "nothing left behind" test ! -e "$tmp/bad.parquet"
check "no temporary files left" test -z "$(ls "$tmp" | grep tmp-)"
printf 'id,name\n,a\n' >"$tmp/null.csv"
expect_exit 4 "null in a non-nullable column" \
  $strata parquet write --schema "$tmp/s.json" --from "$tmp/null.csv" "$tmp/bad.parquet"
check "nothing left behind after null" test ! -e "$tmp/bad.parquet"
printf '{"name": "t", "fields": [{"name": "a", "type": "decmal(8,3)"}]}' >"$tmp/badschema.json"
expect_exit 1 "unknown type in the schema" \
  $strata parquet write --schema "$tmp/badschema.json" --from "$tmp/d.csv" "$tmp/bad.parquet"
check "error names the type" grep -q "decmal" "$tmp/err"
expect_exit 1 "unknown codec" \
  $strata parquet write --schema "$tmp/s.json" --from "$tmp/d.csv" --codec lzo "$tmp/bad.parquet"
head -c 100 "$tmp/o.parquet" >"$tmp/trunc.parquet"
expect_exit 5 "truncated file" $strata parquet cat "$tmp/trunc.parquet"
check "error names the file" grep -q "trunc.parquet" "$tmp/err"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
