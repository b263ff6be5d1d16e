#!/usr/bin/env bash
# strata write end to end on file:// datasets: help and usage errors, a
# partitioned write read back, explicit file names (exit 3, --overwrite), the
# registry (--table, --dir), hostile input (wrong types, overlong strings,
# invalid UTF-8, ragged CSV, broken JSON Lines, constraint violations, a bad row
# after more than a batch of good rows spread over more partitions than files
# can be open), each ending in exit 4, a clear report and a byte-identical
# dataset; the progress line only on a terminal; and a ~1 GB CSV with a bad
# cell near its end, streamed with bounded memory and leaving nothing behind.
# STRATA_SKIP_1GB=1 leaves out the 1 GB part (it takes a minute or two).
set -uo pipefail
strata=${STRATA:?path of the strata binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
pass() { echo "ok   $1"; }
failed() { echo "FAIL $1"; fails=$((fails + 1)); }
check() { # <description> <command...>: the command must succeed
  local what=$1; shift
  if "$@"; then pass "$what"; else failed "$what"; fi
}
expect_exit() { # <code> <description> <command...>
  local want=$1 what=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -eq "$want" ] && { [ "$want" -eq 0 ] || [ -s "$tmp/err" ]; }; then
    pass "$what (exit $got)"
  else
    failed "$what: exit $got, want $want; stderr: $(head -c 400 "$tmp/err")"
  fi
}
expect_err() { # <description> <text>: stderr of the last command mentions text
  if grep -qF -- "$2" "$tmp/err"; then pass "$1"; else failed "$1: no '$2' in: $(head -c 400 "$tmp/err")"; fi
}
# What a dataset holds: every file with its size and content hash, and the
# directories (a failed write must not even leave empty partition directories).
snap() {
  (cd "$1" 2>/dev/null || exit 0
   find . \( -type f -printf 'f %p %s\n' \) -o \( -type d -printf 'd %p\n' \) | LC_ALL=C sort
   find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}
untouched() { # <description> <dir> <snapshot file>
  if snap "$2" | cmp -s - "$3"; then pass "$1: dataset untouched"; else
    failed "$1: dataset changed"; diff <(snap "$2") "$3" | head -10; fi
}

cat >"$tmp/s.json" <<'EOF'
{"name": "samples", "primary_key": ["id"], "fields": [
  {"name": "id", "type": "int64", "nullable": false},
  {"name": "project", "type": "string", "max_length": 12},
  {"name": "depth_m", "type": "decimal(8,3)", "min": 0, "max": 2000},
  {"name": "status", "type": "string", "enum": ["draft", "approved"]},
  {"name": "taken", "type": "timestamp(us, UTC)"}]}
EOF
ds="$tmp/ds"
url="file://$ds"

# ---- help and usage ----
expect_exit 0 "strata write --help" $strata write --help
grep -q "^usage: strata write DATASET_URL" "$tmp/out" || failed "help text has no usage line"
$strata --help | grep -q "write" || failed "strata --help does not list write"
printf 'id,project,depth_m,status,taken\n1,p1,1.5,draft,2024-01-01\n' >"$tmp/one.csv"
expect_exit 1 "no DATASET_URL" $strata write --schema "$tmp/s.json" --from "$tmp/one.csv"
expect_exit 1 "no --from" $strata write "$url" --schema "$tmp/s.json"
expect_exit 1 "both --table and --schema" $strata write "$url" --table x --schema "$tmp/s.json" --from "$tmp/one.csv"
expect_exit 1 "neither --table nor --schema" $strata write "$url" --from "$tmp/one.csv"
expect_exit 1 "--overwrite without --file" $strata write "$url" --schema "$tmp/s.json" --from "$tmp/one.csv" --overwrite
expect_exit 1 "--file with --partition" $strata write "$url" --schema "$tmp/s.json" --from "$tmp/one.csv" --file x.parquet --partition project
expect_exit 1 "bad --max-errors" $strata write "$url" --schema "$tmp/s.json" --from "$tmp/one.csv" --max-errors 0
expect_exit 1 "bad --codec" $strata write "$url" --schema "$tmp/s.json" --from "$tmp/one.csv" --codec nope
expect_exit 2 "missing input" $strata write "$url" --schema "$tmp/s.json" --from "$tmp/nope.csv"
expect_exit 2 "missing schema file" $strata write "$url" --schema "$tmp/nope.json" --from "$tmp/one.csv"
expect_exit 2 "unknown table" $strata write "$url" --table no_such_table --from "$tmp/one.csv"
expect_exit 2 "unknown partition column" $strata write "$url" --schema "$tmp/s.json" --from "$tmp/one.csv" --partition nope
check "failed commands left no dataset behind" test -z "$(find "$ds" -type f 2>/dev/null)"

# ---- a partitioned write ----
cat >"$tmp/good.csv" <<'EOF'
id,project,depth_m,status,taken
1,p1,1.5,draft,2024-01-01T10:00:00+02:00
2,p2,20,approved,2024-01-02
3,p1,,,
4,a/b=c%,7.25,approved,2024-03-04T05:06:07Z
5,"",0,draft,2024-01-01
6,,1,draft,
EOF
expect_exit 0 "partitioned write" $strata write "$url" --schema "$tmp/s.json" --from "$tmp/good.csv" --partition project --codec zstd --verbose
grep -q "^wrote 6 rows in 5 files ([0-9]* bytes)$" "$tmp/out" || failed "summary line: $(cat "$tmp/out")"
check "--verbose lists the files" test "$(grep -c '\.parquet  [0-9]* rows  [0-9]* bytes$' "$tmp/out")" -eq 5
check "the schema file is at the root" test -f "$ds/_strata_schema.json"
for d in "project=p1" "project=p2" "project=a%2Fb%3Dc%25" "project=" "project=__HIVE_DEFAULT_PARTITION__"; do
  check "partition directory $d" test -d "$ds/$d"
done
n=$(find "$ds" -name '*.parquet' | grep -cE '/samples_[0-9]{8}_[0-9]{6}_[0-9a-f]{8}\.parquet$')
check "file names <stem>_<YYYYMMDD>_<HHMMSS>_<uuid8>.parquet" test "$n" -eq 5
f1=$(ls "$ds/project=p1/"*.parquet)
$strata parquet cat "$f1" >"$tmp/p1.jsonl" 2>"$tmp/err"
check "partition column is not inside the files" test "$(head -1 "$tmp/p1.jsonl")" = '{"id":1,"depth_m":"1.500","status":"draft","taken":"2024-01-01T08:00:00.000000Z"}'
check "rows of a partition" test "$(wc -l <"$tmp/p1.jsonl")" -eq 2
if $strata read "$url" --format jsonl --where "project = 'a/b=c%'" >"$tmp/r.jsonl" 2>"$tmp/err"; then
  check "strata read finds the escaped partition" grep -q '"id":4' "$tmp/r.jsonl"
  check "strata read: every row" test "$($strata read "$url" --format jsonl | wc -l)" -eq 6
else
  failed "strata read: $(head -c 300 "$tmp/err")"
fi
snap "$ds" >"$tmp/snap"

# --explain: what a filtered read scanned and skipped. 3,000 rows sorted by id
# in row groups of 1,000 and pages of 100: a narrow range reads one row group
# and in it only the pages that can match.
printf '{"name":"ex","fields":[{"name":"id","type":"int64","nullable":false},{"name":"v","type":"string"}]}\n' >"$tmp/ex.json"
{ echo "id,v"; for i in $(seq 0 2999); do echo "$i,v$((i % 7))"; done; } >"$tmp/ex.csv"
mkdir -p "$tmp/exds"
$strata parquet write --schema "$tmp/ex.json" --from "$tmp/ex.csv" --row-group-size 1000 --page-rows 100 \
  "$tmp/exds/part-0.parquet" >/dev/null 2>"$tmp/err" || failed "explain fixture: $(head -c 300 "$tmp/err")"
expect_exit 0 "read --explain" $strata read "file://$tmp/exds" --where "id >= 1234 and id < 1290" --format csv --explain
check "explain: the matching rows" test "$(grep -c . "$tmp/out")" -eq 57
expect_err "explain: files" "files: 1 total, 0 pruned by partition values, 1 scanned"
expect_err "explain: row groups pruned by statistics" "row groups: 3 total in scanned files, 2 pruned by statistics"
expect_err "explain: rows" "rows: 100 read, 56 matched"
pages=$(sed -n 's/^pages: \([0-9]*\) in .*, \([0-9]*\) decoded, \([0-9]*\) skipped.*/\1 \2 \3/p' "$tmp/err")
echo "note explain pages (total decoded skipped): $pages"
set -- $pages
check "explain: pages decoded (${2:-?}) are one or two per column" test "${2:-99}" -le 4
check "explain: pages skipped (${3:-?}) are the rest" test "${3:-0}" -eq $(( ${1:-0} - ${2:-0} ))

# A second write adds files, never touches the first ones.
printf 'id,project,depth_m,status,taken\n7,p1,3,draft,2024-05-05\n' >"$tmp/more.csv"
expect_exit 0 "second write" $strata write "$url" --schema "$tmp/s.json" --from "$tmp/more.csv" --partition project --name extra
check "second file in p1" test "$(ls "$ds/project=p1/" | grep -c '^extra_')" -eq 1
for f in $(cd "$ds" && find . -name 'samples_*.parquet'); do
  grep -q "$(sha256sum <"$ds/$f" | cut -c1-64)" "$tmp/snap" || failed "file $f changed"
done
snap "$ds" >"$tmp/snap"

# ---- explicit file names ----
expect_exit 0 "--file" $strata write "$tmp/plain" --schema "$tmp/s.json" --from "$tmp/good.csv" --file fixed.parquet
check "--file writes that name" test -f "$tmp/plain/fixed.parquet"
snap "$tmp/plain" >"$tmp/snap_plain"
expect_exit 3 "--file that exists" $strata write "$tmp/plain" --schema "$tmp/s.json" --from "$tmp/more.csv" --file fixed.parquet
expect_err "exists message names the file" "fixed.parquet already exists"
untouched "--file that exists" "$tmp/plain" "$tmp/snap_plain"
expect_exit 0 "--file --overwrite" $strata write "file://$tmp/plain" --schema "$tmp/s.json" --from "$tmp/more.csv" --file fixed.parquet --overwrite
check "overwritten file has the new rows" test "$($strata parquet cat "$tmp/plain/fixed.parquet" | wc -l)" -eq 1

# ---- the registry ----
mkdir -p "$tmp/schemas"
cp "$tmp/s.json" "$tmp/schemas/samples.json"
expect_exit 0 "--table with --dir" $strata write "file://$tmp/reg" --table samples --dir "$tmp/schemas" --from "$tmp/good.csv"
p1=11111111-1111-4111-8111-111111111111
p2=22222222-2222-4222-8222-222222222222
{
  echo "borehole_id,project_id,name,latitude,longitude,ground_level_m,depth_m,status,drilled_on,logged_by,created_at,is_cased,remarks"
  for i in $(seq 10 99); do
    p=$p1; [ $((i % 3)) -eq 0 ] && p=$p2
    printf '%08d-0000-4000-8000-%012d,%s,BH-%02d,51.5,-0.12,12.5,%d.25,completed,2024-02-01,J. Smith,2024-02-01T12:00:00Z,yes,"cased, to %d m"\n' "$i" "$i" "$p" "$i" "$i" "$i"
  done
} >"$tmp/boreholes.csv"
expect_exit 0 "built-in borehole table, partitioned by project" $strata write "file://$tmp/bh" --table borehole --from "$tmp/boreholes.csv" --partition project_id
grep -q "^wrote 90 rows in 2 files" "$tmp/out" || failed "borehole summary: $(cat "$tmp/out")"
check "borehole partitions" test -d "$tmp/bh/project_id=$p1" -a -d "$tmp/bh/project_id=$p2"

# ---- hostile input: exit 4, a clear report, the dataset byte-identical ----
hostile() { # <description> <expected text> <input file> [extra args...]
  local what=$1 text=$2 input=$3; shift 3
  expect_exit 4 "$what" $strata write "$url" --schema "$tmp/s.json" --from "$input" --partition project "$@"
  expect_err "$what: message" "$text"
  expect_err "$what: says nothing was written" "nothing written"
  untouched "$what" "$ds" "$tmp/snap"
}
head -1 "$tmp/good.csv" >"$tmp/h.csv"
printf '7,p1,abc,draft,2024-01-01\n' >>"$tmp/h.csv"
hostile "wrong type" "line 2, column depth_m: 'abc' is not a valid decimal(8,3)" "$tmp/h.csv"
printf 'id,project,depth_m,status,taken\n7,p1,1,draft,2024-01-01\nx8,p1,1,draft,2024-01-01\n' >"$tmp/h.csv"
hostile "wrong type (integer)" "'x8' is not a valid int64" "$tmp/h.csv"
printf 'id,project,depth_m,status,taken\n7,much-too-long-project,1,draft,2024-01-01\n' >"$tmp/h.csv"
hostile "overlong string" "max_length" "$tmp/h.csv"
printf 'id,project,depth_m,status,taken\n7,p\xff\xfe,1,draft,2024-01-01\n' >"$tmp/h.csv"
hostile "invalid UTF-8" "invalid UTF-8" "$tmp/h.csv"
printf 'id,project,depth_m,status,taken\n7,p1,1,draft,2024-01-01\n8,p1,1\n9,p1,1,draft,2024-01-01,extra\n' >"$tmp/h.csv"
hostile "ragged CSV" "line 3: expected 5 cells, found 3" "$tmp/h.csv"
expect_err "ragged CSV: the long row too" "line 4: expected 5 cells, found 6"
printf 'id,project,depth_m,status,taken\n7,p1,"1,draft,2024-01-01\n' >"$tmp/h.csv"
hostile "unterminated quote" "h.csv" "$tmp/h.csv"
printf 'id,project,depth_m,status,taken\n7,p1,-1,draft,2024-01-01\n8,p1,1,final,2024-01-01\n8,p2,1,draft,2024-13-01\n9,p1,3000,draft,\n9,p1,1,draft,\n' >"$tmp/h.csv"
hostile "constraint violations" "below the minimum" "$tmp/h.csv"
expect_err "constraint violations: enum" "[enum]"
expect_err "constraint violations: bad date" "'2024-13-01' is not a valid timestamp"
expect_err "constraint violations: max" "[max]"
expect_err "constraint violations: primary key" "[primary_key]"
expect_err "constraint violations: count" "5 violations"
printf '{"id": 7, "project": "p1", "depth_m": 1}\n{"id": 8, "project": "p1", "depth_m": "x"}\n{"id": 9,\n' >"$tmp/h.jsonl"
hostile "JSON Lines: bad cell and broken line" "'x' is not a valid decimal(8,3)" "$tmp/h.jsonl"
expect_err "JSON Lines: broken line" "line 3"
printf '{"id": 7, "project": ["p1"]}\n' >"$tmp/h.jsonl"
hostile "JSON Lines: array into a string column" "line 1" "$tmp/h.jsonl"
printf 'id,project,depth_m,status,taken,bogus\n7,p1,1,draft,2024-01-01,z\n' >"$tmp/h.csv"
sed 's/"name": "samples",/"name": "samples", "strict": true,/' "$tmp/s.json" >"$tmp/strict.json"
expect_exit 4 "strict schema, unknown column" $strata write "$url" --schema "$tmp/strict.json" --from "$tmp/h.csv"
expect_err "strict: names the column" "bogus"
untouched "strict schema" "$ds" "$tmp/snap"
# --max-errors stops early.
{ head -1 "$tmp/good.csv"; for i in $(seq 1 50); do echo "$i,p1,-$i,draft,"; done; } >"$tmp/h.csv"
hostile "--max-errors" "--max-errors 3 reached" "$tmp/h.csv" --max-errors 3
# A bad row after more than one batch of good rows, spread over more
# partitions than files can be open: files already finished must go again.
awk 'BEGIN { print "id,project,depth_m,status,taken";
             for (i = 100; i < 70100; i++) printf "%d,q%d,1.5,draft,2024-01-01\n", i, i % 300;
             print "70100,q1,1.5,bogus,2024-01-01" }' >"$tmp/h.csv"
hostile "bad row after 70000 rows in 300 partitions" "[enum]" "$tmp/h.csv"
# The same rows without the bad one go in: 300 partitions.
head -n -1 "$tmp/h.csv" >"$tmp/ok300.csv"
expect_exit 0 "70000 rows in 300 partitions" $strata write "file://$tmp/p300" --schema "$tmp/s.json" --from "$tmp/ok300.csv" --partition project
check "300 partition directories" test "$(find "$tmp/p300" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 300
check "no temporary files left" test -z "$(find "$tmp/p300" "$ds" -name '*tmp*')"

# ---- the dataset's schema must stay compatible ----
sed 's/"int64"/"string"/' "$tmp/s.json" >"$tmp/other.json"
expect_exit 4 "schema with another type for a field" $strata write "$url" --schema "$tmp/other.json" --from "$tmp/one.csv" --partition project
expect_err "schema conflict message" "field 'id' is int64 in the dataset's schema but string"
untouched "schema conflict" "$ds" "$tmp/snap"

# ---- progress only on a terminal ----
$strata write "file://$tmp/prog" --schema "$tmp/s.json" --from "$tmp/ok300.csv" >"$tmp/out" 2>"$tmp/err"
if grep -q "rows/s" "$tmp/err"; then failed "progress printed without a terminal"; else pass "no progress without a terminal"; fi
if script -qec "$strata write file://$tmp/prog2 --schema $tmp/s.json --from $tmp/ok300.csv" /dev/null >"$tmp/tty" 2>&1; then
  check "progress line on a terminal" grep -q "rows/s" "$tmp/tty"
else
  failed "write under a terminal: $(head -c 300 "$tmp/tty")"
fi

# ---- ~1 GB of CSV with a bad cell near the end: bounded memory, nothing written ----
if [ "${STRATA_SKIP_1GB:-}" = 1 ]; then
  echo "note 1 GB streaming check left out (STRATA_SKIP_1GB=1)"
else
  cat >"$tmp/big.json" <<'EOF'
{"name": "readings", "fields": [
  {"name": "id", "type": "int64", "nullable": false},
  {"name": "project", "type": "string", "max_length": 40},
  {"name": "depth_m", "type": "decimal(8,3)", "min": 0, "max": 2000},
  {"name": "status", "type": "string", "enum": ["draft", "submitted", "approved", "rejected"]},
  {"name": "taken_at", "type": "timestamp(us, UTC)"},
  {"name": "note", "type": "string"}]}
EOF
  # A 1 MB block repeated: generating is I/O speed.
  awk 'BEGIN { split("draft submitted approved rejected", st, " ");
               for (i = 0; i < 10000; i++)
                 printf "%d,PRJ-%04d,%d.%03d,%s,2024-%02d-%02dT%02d:%02d:00Z,sample note %d for the borehole log\n",
                        i, i % 37, i % 1500, i % 1000, st[i % 4 + 1], i % 12 + 1, i % 28 + 1, i % 24, i % 60, i }' >"$tmp/block.csv"
  { echo "id,project,depth_m,status,taken_at,note"
    for _ in $(seq 1 1150); do cat "$tmp/block.csv"; done
    echo "99,PRJ-0001,not-a-number,draft,2024-01-01T00:00:00Z,the bad cell"
    head -1000 "$tmp/block.csv"; } >"$tmp/big.csv"
  size=$(stat -c %s "$tmp/big.csv")
  check "the big CSV is about 1 GB ($size bytes)" test "$size" -gt 1000000000
  mkdir -p "$tmp/bigds"
  $strata write "file://$tmp/bigds" --schema "$tmp/big.json" --from "$tmp/block.csv" --file existing.parquet >/dev/null 2>&1
  snap "$tmp/bigds" >"$tmp/snap_big"
  # Sanitizer builds map shadow memory; the bound is for the real footprint.
  limit_kb=400000
  if ldd "$strata" 2>/dev/null | grep -q libasan; then limit_kb=1500000; fi
  start=$(date +%s)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%M" -o "$tmp/rss" $strata write "file://$tmp/bigds" --schema "$tmp/big.json" --from "$tmp/big.csv" --codec zstd >"$tmp/out" 2>"$tmp/err"
    code=$?
    rss=$(tail -1 "$tmp/rss")
  else
    # Peak resident set from /proc while the command runs.
    $strata write "file://$tmp/bigds" --schema "$tmp/big.json" --from "$tmp/big.csv" --codec zstd >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    rss=0
    while kill -0 $pid 2>/dev/null; do
      v=$(awk '/VmHWM/ { print $2 }' /proc/$pid/status 2>/dev/null)
      [ -n "$v" ] && [ "$v" -gt "$rss" ] && rss=$v
      sleep 0.2
    done
    wait $pid
    code=$?
  fi
  secs=$(( $(date +%s) - start ))
  echo "note 1 GB write: exit $code in ${secs}s, peak RSS ${rss} KB (limit ${limit_kb} KB)"
  check "1 GB with a bad cell: exit 4" test "$code" -eq 4
  expect_err "1 GB: the bad cell is reported with its line" "line 11500002, column depth_m: 'not-a-number' is not a valid decimal(8,3)"
  check "1 GB: peak RSS ${rss} KB under ${limit_kb} KB" test "$rss" -lt "$limit_kb"
  untouched "1 GB with a bad cell" "$tmp/bigds" "$tmp/snap_big"
  check "1 GB: no temporary files left" test -z "$(find "$tmp/bigds" -name '*tmp*')"
  rm -f "$tmp/big.csv"
fi

if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all checks passed"
