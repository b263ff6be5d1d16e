#!/usr/bin/env bash
# strata schema end to end: help texts and usage errors, the built-in registry
# (list, show, directory overrides), and validate on valid and hostile inputs
# (wrong types, overlong strings, invalid UTF-8, ragged rows, values out of
# range, enum and pattern violations, repeated keys, strict columns, bad JSON)
# with the exact report lines and the exit codes 0 / 4 / 2 / 1; a large input
# validated in bounded memory.
set -uo pipefail
strata=${STRATA:?path of the strata binary}
src=${STRATA_SOURCE_DIR:?source directory}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset STRATA_SCHEMA_DIR
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
check() { # <description> <command...>: the command must succeed
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else fail "$what"; fi
}
expect_exit() { # <code> <description> <command...>: stdout in $tmp/out, stderr in $tmp/err
  local want=$1 what=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -eq "$want" ] && { [ "$want" -eq 0 ] || [ -s "$tmp/err" ]; }; then
    echo "ok   $what (exit $got)"
  else
    fail "$what: exit $got, want $want; stderr: $(head -c 300 "$tmp/err")"
  fi
}
has_line() { # <file> <exact line>
  grep -qxF -- "$2" "$1" || { echo "     missing line: $2"; echo "     in:"; sed 's/^/       /' "$1" | head -20; return 1; }
}

# ---- help and usage ----
for c in "schema" "schema list" "schema show" "schema validate"; do
  # shellcheck disable=SC2086
  expect_exit 0 "strata $c --help" $strata $c --help
  grep -q usage "$tmp/out" || fail "help text of '$c' has no usage line"
done
expect_exit 1 "schema without a command" $strata schema
expect_exit 1 "unknown schema command" $strata schema nosuch
expect_exit 1 "list with a bad --format" $strata schema list --format xml
expect_exit 1 "list with an extra argument" $strata schema list extra
expect_exit 1 "show without a name" $strata schema show
expect_exit 1 "validate without arguments" $strata schema validate
expect_exit 1 "validate with a name only" $strata schema validate borehole
expect_exit 1 "validate --schema with two more arguments" \
  $strata schema validate --schema "$src/examples/borehole.schema.json" borehole "$src/examples/boreholes.csv"
expect_exit 1 "--max-errors 0" $strata schema validate borehole "$src/examples/boreholes.csv" --max-errors 0
expect_exit 1 "--max-errors abc" $strata schema validate borehole "$src/examples/boreholes.csv" --max-errors abc
expect_exit 1 "bad --input-format" $strata schema validate borehole - --input-format xml
expect_exit 1 "stdin without --input-format" $strata schema validate borehole - </dev/null

# ---- list ----
builtins="borehole borelog borelog_details borelog_versions contacts customers lab_report_versions
organisations pending_csv_uploads projects soil_test_samples stratum_layers stratum_sample_points
structure sub_structures substructure_assignments unified_lab_reports users"
expect_exit 0 "list" $strata schema list
check "list shows a header and 18 schemas" test "$(wc -l <"$tmp/out")" -eq 20
for n in $builtins; do
  grep -q "^$n " "$tmp/out" || fail "list does not show $n"
done
expect_exit 0 "list --format json" $strata schema list --format json
check "json list has 18 lines" test "$(wc -l <"$tmp/out")" -eq 18
check "json list names the built-ins in order" \
  test "$(jq -r .name "$tmp/out" | tr '\n' ' ')" = "$(echo $builtins | tr '\n' ' ')"
check "json list: borelog_versions has a two-column key" \
  test "$(jq -c 'select(.name == "borelog_versions") | .primary_key' "$tmp/out")" = '["borelog_id","version_no"]'
expect_exit 0 "list --format csv" $strata schema list --format csv
check "csv list starts with its header" test "$(head -1 "$tmp/out")" = "name,version,fields,primary_key,strict,description"

# A directory overrides built-ins and adds tables; $STRATA_SCHEMA_DIR is the default.
mkdir "$tmp/schemas"
cat >"$tmp/schemas/borehole.schema.json" <<'EOF'
{"name": "borehole", "version": 7, "description": "local variant", "fields": [{"name": "id", "type": "int32", "nullable": false, "max": 100}]}
EOF
cat >"$tmp/schemas/site_visits.json" <<'EOF'
{"fields": [{"name": "visit_id", "type": "uuid", "nullable": false}, {"name": "note", "type": "string", "max_length": 5}]}
EOF
expect_exit 0 "list --dir" $strata schema list --dir "$tmp/schemas" --format json
check "list --dir has 19 schemas" test "$(wc -l <"$tmp/out")" -eq 19
check "list --dir: borehole is the local one" \
  test "$(jq -r 'select(.name == "borehole") | .version' "$tmp/out")" = 7
STRATA_SCHEMA_DIR="$tmp/schemas" expect_exit 0 "list with STRATA_SCHEMA_DIR" $strata schema list --format json
check "STRATA_SCHEMA_DIR is used" grep -q '"name":"site_visits"' "$tmp/out"
expect_exit 2 "list --dir that does not exist" $strata schema list --dir "$tmp/nosuch"
grep -q "schema directory $tmp/nosuch: No such file or directory" "$tmp/err" || fail "missing-dir message: $(cat "$tmp/err")"
mkdir "$tmp/broken"
echo '{"name": "x", "fields": [{"name": "a", "type": "decmal(8,3)"}]}' >"$tmp/broken/x.json"
expect_exit 1 "list --dir with a broken schema" $strata schema list --dir "$tmp/broken"
grep -qF "$tmp/broken/x.json: field 'a': unknown type" "$tmp/err" || fail "broken-schema message: $(cat "$tmp/err")"

# ---- show ----
expect_exit 0 "show borehole" $strata schema show borehole
cp "$tmp/out" "$tmp/borehole.shown.json"
check "show prints the schema file" grep -q '"primary_key": \["borehole_id"\]' "$tmp/out"
check "show prints valid JSON" jq -e '.fields | length == 13' "$tmp/out" >/dev/null
expect_exit 0 "show --dir prefers the local borehole" $strata schema show borehole --dir "$tmp/schemas"
check "local borehole shown" grep -q '"version": 7' "$tmp/out"
expect_exit 2 "show an unknown schema" $strata schema show borehol
check "unknown schema: close names suggested" \
  grep -qxF "strata: no schema named 'borehol' (did you mean borehole, borelog?)" "$tmp/err"
for n in $builtins; do
  $strata schema show "$n" >"$tmp/$n.json" 2>"$tmp/err" || fail "show $n: $(cat "$tmp/err")"
  jq -e . "$tmp/$n.json" >/dev/null || fail "show $n is not JSON"
done

# ---- validate: valid inputs ----
expect_exit 0 "validate the example boreholes" $strata schema validate borehole "$src/examples/boreholes.csv"
check "valid: N rows valid" has_line "$tmp/out" "50 rows valid"
expect_exit 0 "validate with --schema FILE" \
  $strata schema validate --schema "$src/examples/borehole.schema.json" "$src/examples/boreholes.csv"
expect_exit 0 "validate with the schema printed by show" \
  $strata schema validate --schema "$tmp/borehole.shown.json" "$src/examples/boreholes.csv"
expect_exit 0 "validate from stdin" \
  $strata schema validate borehole - --input-format csv <"$src/examples/boreholes.csv"
check "stdin: 50 rows valid" has_line "$tmp/out" "50 rows valid"
# The same rows as JSON Lines, through Parquet and back.
if $strata parquet write --schema "$src/examples/borehole.schema.json" --from "$src/examples/boreholes.csv" \
  "$tmp/b.parquet" 2>"$tmp/err" && $strata parquet cat "$tmp/b.parquet" --format jsonl >"$tmp/b.jsonl" 2>>"$tmp/err"; then
  expect_exit 0 "validate JSON Lines" $strata schema validate borehole "$tmp/b.jsonl"
  check "jsonl: 50 rows valid" has_line "$tmp/out" "50 rows valid"
else
  fail "could not make JSON Lines: $(cat "$tmp/err")"
fi
: >"$tmp/empty.csv"
expect_exit 0 "an empty file is valid" $strata schema validate borehole "$tmp/empty.csv"
check "empty: 0 rows valid" has_line "$tmp/out" "0 rows valid"

# ---- validate: hostile CSV ----
h=$(head -1 "$src/examples/boreholes.csv")
row() { # borehole_id name latitude depth_m status remarks [is_cased]
  printf '%s,6762b34f-4e26-4a8e-a032-35a1e58e1b1c,%s,%s,153.01867,19.686,%s,%s,2023-03-12,J. Kowalski,2023-03-04T14:17:33.275112Z,%s,%s\n' \
    "$1" "$2" "$3" "$4" "$5" "${7:-false}" "$6"
}
long=$(printf 'x%.0s' $(seq 1 4001))
{
  echo "$h"
  row 00000000-0000-4000-8000-000000000001 BH-01 -27.1 5.020 completed ok                  # line 2: fine
  row 00000000-0000-4000-8000-000000000002 BH-02 -27.1 abc completed ok                    # line 3: wrong type
  row 00000000-0000-4000-8000-000000000003 BH-03 -27.1 2500 completed ok                   # line 4: above max
  row 00000000-0000-4000-8000-000000000004 BH-04 95 5 completed ok                         # line 5: latitude
  row 00000000-0000-4000-8000-000000000005 BH-05 -27.1 5 done ok                           # line 6: enum
  row 00000000-0000-4000-8000-000000000006 XX-6 -27.1 5 completed ok                       # line 7: pattern
  row 00000000-0000-4000-8000-000000000007 BH-07 -27.1 5 completed "$long"                 # line 8: overlong
  row 00000000-0000-4000-8000-000000000008 BH-08 -27.1 5 completed "$(printf 'bad\377byte')" # line 9: UTF-8
  echo "00000000-0000-4000-8000-000000000009,6762b34f-4e26-4a8e-a032-35a1e58e1b1c,BH-09"      # line 10: ragged
  row 00000000-0000-4000-8000-000000000001 BH-10 -27.1 5 completed ok                      # line 11: repeated key
  row 00000000-0000-4000-8000-000000000011 BH-11 -27.1 5 completed '"two
lines"' maybe                                                                               # line 12-13: bool
  row 00000000-0000-4000-8000-000000000012 BH-12 -27.1 -0.001 planned ok                   # line 14: below min
} >"$tmp/hostile.csv"
expect_exit 4 "hostile CSV is invalid" $strata schema validate borehole "$tmp/hostile.csv"
check "stderr names the file, schema and count" \
  grep -qxF "strata: $tmp/hostile.csv does not match the schema borehole: 11 violations" "$tmp/err"
for want in \
  "line 3: row 2, column depth_m: 'abc' is not a valid decimal(8,3) [type]" \
  "line 4: row 3, column depth_m: 2500.000 is above the maximum 2000 [max]" \
  "line 5: row 4, column latitude: 95 is above the maximum 90 [max]" \
  "line 6: row 5, column status: 'done' is not one of planned, drilling, completed, abandoned [enum]" \
  "line 7: row 6, column name: 'XX-6' does not match the pattern ^BH-[0-9]{2,3}[A-Z]?\$ [pattern]" \
  "line 8: row 7, column remarks: '$(printf 'x%.0s' $(seq 1 60))...' is 4001 characters long, longer than the maximum length 4000 [max_length]" \
  "line 9: row 8, column remarks: 'bad\\xffbyte' is not a valid string: invalid UTF-8 [type]" \
  "line 10: row 9: expected 13 cells, found 3 [type]" \
  "line 11: row 10, column borehole_id: '00000000-0000-4000-8000-000000000001' is not unique (it appears in an earlier row) [unique]" \
  "line 12: row 11, column is_cased: 'maybe' is not a valid bool [type]" \
  "line 14: row 12, column depth_m: -0.001 is below the minimum 0 [min]" \
  "11 violations in 12 rows"; do
  check "report: ${want:0:60}" has_line "$tmp/out" "$want"
done
check "report has 12 lines" test "$(wc -l <"$tmp/out")" -eq 12

# The limit: the first violations in input order, all counted.
expect_exit 4 "--max-errors 3" $strata schema validate borehole "$tmp/hostile.csv" --max-errors 3
check "three shown, then the total" test "$(wc -l <"$tmp/out")" -eq 4
check "limited report ends with the total" has_line "$tmp/out" "11 violations in 12 rows (raise --max-errors to see more)"
check "limited report starts at line 3" test "$(head -1 "$tmp/out" | cut -d: -f1)" = "line 3"

# JSON report: one object per violation, then a summary.
expect_exit 4 "--format json" $strata schema validate borehole "$tmp/hostile.csv" --format json
check "json report: 12 valid JSON lines" test "$(jq -c . "$tmp/out" | wc -l)" -eq 12
check "json report: the max violation" \
  test "$(jq -c 'select(.rule == "max" and .column == "depth_m") | [.line, .row, .value]' "$tmp/out")" = '[4,3,"2500.000"]'
check "json report: the summary" \
  test "$(tail -1 "$tmp/out" | jq -c '[.rows, .violations, .shown, .valid]')" = '[12,11,11,false]'

# Strict schemas: an unknown column is reported once, and the rows still checked.
{
  echo "$h,extra"
  for k in 1 2 3; do printf '%s,1\n' "$(row 00000000-0000-4000-8000-00000000009$k BH-9$k -27.1 3 completed ok)"; done
  printf '%s,1\n' "$(row 00000000-0000-4000-8000-000000000099 BH-99 -27.1 3000 completed ok)"
} >"$tmp/extra.csv"
expect_exit 4 "strict: unknown column" $strata schema validate borehole "$tmp/extra.csv"
check "strict violation on the header" has_line "$tmp/out" "line 1: header: column 'extra' is not in the schema [strict]"
check "rows still checked after a strict header" has_line "$tmp/out" \
  "line 5: row 4, column depth_m: 3000.000 is above the maximum 2000 [max]"
check "strict: two violations" has_line "$tmp/out" "2 violations in 4 rows"
# From stdin the header cannot be read twice: the strict violation alone.
expect_exit 4 "strict: unknown column on stdin" $strata schema validate borehole - --input-format csv <"$tmp/extra.csv"
check "stdin strict report" has_line "$tmp/out" "1 violation in 0 rows"
# A non-strict schema ignores unknown columns.
expect_exit 0 "non-strict schema ignores extra columns" $strata schema validate borelog_versions - --input-format csv <<'EOF'
borelog_id,version_no,status,depth_m,created_at,unknown
3e4f1740-0fcb-44b3-bcba-4843d2380b6a,1,draft,12.5,2024-01-01T00:00:00Z,x
3e4f1740-0fcb-44b3-bcba-4843d2380b6a,2,approved,12.5,2024-01-02T00:00:00+05:30,x
EOF
check "2 rows valid" has_line "$tmp/out" "2 rows valid"

# Composite primary key repeated, a null in a key column.
expect_exit 4 "composite key repeated" $strata schema validate borelog_versions - --input-format csv <<'EOF'
borelog_id,version_no,status,created_at
3e4f1740-0fcb-44b3-bcba-4843d2380b6a,1,draft,2024-01-01T00:00:00Z
3e4f1740-0fcb-44b3-bcba-4843d2380b6a,1,approved,2024-01-02T00:00:00Z
3e4f1740-0fcb-44b3-bcba-4843d2380b6a,0,approved,2024-01-02T00:00:00Z
,3,approved,2024-01-02T00:00:00Z
EOF
check "key repeat reported" has_line "$tmp/out" \
  "line 3: row 2: primary key (borelog_id, version_no) = ('3e4f1740-0fcb-44b3-bcba-4843d2380b6a', 1) appears in an earlier row [primary_key]"
check "version below its minimum" has_line "$tmp/out" "line 4: row 3, column version_no: 0 is below the minimum 1 [min]"
check "null key column" has_line "$tmp/out" "line 5: row 4, column borelog_id: null, but the field is not nullable [nullable]"

# ---- validate: hostile JSON Lines ----
cat >"$tmp/hostile.jsonl" <<'EOF'
{"visit_id": "3e4f1740-0fcb-44b3-bcba-4843d2380b6a", "note": "fine"}
{"visit_id": "not-a-uuid", "note": "x"}
{"visit_id": "3e4f1740-0fcb-44b3-bcba-4843d2380b6b", "note": "too long"}
{"visit_id": null}
{"visit_id": "3e4f1740-0fcb-44b3-bcba-4843d2380b6c", "note": "x"
[1, 2]

{"visit_id": "3e4f1740-0fcb-44b3-bcba-4843d2380b6d", "note": {"a": 1}}
{"visit_id": "3e4f1740-0fcb-44b3-bcba-4843d2380b6e", "note": "ok"}
EOF
expect_exit 4 "hostile JSON Lines" $strata schema validate site_visits "$tmp/hostile.jsonl" --dir "$tmp/schemas"
for want in \
  "line 2: row 2, column visit_id: 'not-a-uuid' is not a valid uuid [type]" \
  "line 3: row 3, column note: 'too long' is 8 characters long, longer than the maximum length 5 [max_length]" \
  "line 4: row 4, column visit_id: null, but the field is not nullable [nullable]" \
  "line 8: row 7, column note: a JSON object is not a valid string [type]" \
  "6 violations in 8 rows"; do
  check "jsonl report: ${want:0:60}" has_line "$tmp/out" "$want"
done
check "jsonl: malformed line reported" grep -qE '^line 5: row 5: invalid JSON at character [0-9]+: .* \[type\]$' "$tmp/out"
check "jsonl: a non-object line reported" has_line "$tmp/out" "line 6: row 6: expected a JSON object [type]"

# ---- validate: not found and bad schemas ----
expect_exit 2 "validate: unknown schema" $strata schema validate nosuch "$src/examples/boreholes.csv"
grep -qF "no schema named 'nosuch'" "$tmp/err" || fail "unknown schema message: $(cat "$tmp/err")"
expect_exit 2 "validate: missing data file" $strata schema validate borehole "$tmp/nosuch.csv"
expect_exit 2 "validate: missing schema file" $strata schema validate --schema "$tmp/nosuch.json" "$src/examples/boreholes.csv"
expect_exit 1 "validate: unknown data extension" $strata schema validate borehole "$tmp/data.txt"
echo '{"name": "p", "fields": [{"name": "a", "type": "string", "pattern": "^(unclosed"}]}' >"$tmp/badpattern.json"
echo 'a' >"$tmp/a.csv"
expect_exit 1 "validate: a pattern that does not compile" $strata schema validate --schema "$tmp/badpattern.json" "$tmp/a.csv"
grep -qF "field 'a': bad pattern '^(unclosed'" "$tmp/err" || fail "bad pattern message: $(cat "$tmp/err")"

# ---- a large input in bounded memory ----
# 800,000 rows (about 190 MB): memory must stay far below the input size (the
# batch, and 8 bytes per key for the unique borehole_id), also under
# AddressSanitizer, and a bad row at the very end is still found.
awk -v n=800000 'BEGIN {
  print "borehole_id,project_id,name,latitude,longitude,ground_level_m,depth_m,status,drilled_on,logged_by,created_at,is_cased,remarks"
  for (i = 0; i < n; i++)
    printf "%08x-0fcb-44b3-bcba-%012x,6762b34f-4e26-4a8e-a032-35a1e58e1b1c,BH-%02d,-27.%06d,153.%06d,%d.%03d,%d.%03d,completed,2023-03-%02d,J. Kowalski,2023-03-04T14:17:33.%06dZ,true,\"Groundwater struck at 4.2 m, rose to 3.1 m after 20 min\"\n", i, i, i % 100, i % 999999, i % 999999, i % 90, i % 1000, i % 60, i % 1000, i % 28 + 1, i % 1000000
  print "ffffffff-0fcb-44b3-bcba-000000000000,6762b34f-4e26-4a8e-a032-35a1e58e1b1c,BH-01,-27.1,153.1,1,5000,completed,2023-03-01,x,2023-03-04T14:17:33Z,true,x"
}' >"$tmp/big.csv"
size_kb=$(( $(stat -c %s "$tmp/big.csv") / 1024 ))
/usr/bin/time -f "%M" -o "$tmp/rss" $strata schema validate borehole "$tmp/big.csv" >"$tmp/out" 2>"$tmp/err"
code=$?
rss_kb=$(tail -1 "$tmp/rss")
check "large input: exit 4" test "$code" -eq 4
check "large input: the bad last row" has_line "$tmp/out" \
  "line 800002: row 800001, column depth_m: 5000.000 is above the maximum 2000 [max]"
check "large input: counted every row" has_line "$tmp/out" "1 violation in 800001 rows"
echo "     input ${size_kb} KB, peak memory ${rss_kb} KB"
check "large input: memory bounded (under 128 MB and half the input)" \
  test "$rss_kb" -lt 131072 -a "$rss_kb" -lt $((size_kb / 2))

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "all schema CLI checks passed"
