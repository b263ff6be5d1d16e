#!/usr/bin/env bash
# strata record end to end on file:// stores: help texts, every lifecycle rule
# with its message and exit code (create / exists, update / missing, approve and
# reject only from draft, the approver policy by flag and by environment),
# validation that writes nothing, reads (latest, --version, --approved,
# --as-of; jsonl, csv, table, parquet read back by strata parquet cat), show
# in the seed layout, versions, history, verify, --store vs STRATA_STORE, and
# two processes racing to update one record.
set -uo pipefail
strata=${STRATA:?path of the strata binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset STRATA_SCHEMA_DIR STRATA_APPROVER_NOT_AUTHOR
export STRATA_STORE="file://$tmp/store"
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
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
err_has() { grep -qF -- "$1" "$tmp/err" || fail "stderr lacks '$1': $(head -c 300 "$tmp/err")"; }
out_is() { # <expected stdout>
  local got; got=$(cat "$tmp/out")
  [ "$got" = "$1" ] || fail "stdout: got [$got], want [$1]"
}

cat >"$tmp/things.json" <<'J'
{"name": "things", "primary_key": ["id"], "fields": [
 {"name": "id", "type": "int32", "nullable": false},
 {"name": "label", "type": "string", "max_length": 10},
 {"name": "depth", "type": "decimal(6,2)", "min": 0}]}
J
printf 'id,label,depth\n1,a,1.50\n2,b,2.25\n' >"$tmp/v1.csv"
printf '{"id":1,"label":"x","depth":"3"}\n{"id":2,"label":"y","depth":4.5}\n{"id":3,"label":null,"depth":0}\n' >"$tmp/v2.jsonl"
printf 'id,label,depth\n1,ok,1\n2,this is far too long,-1\n' >"$tmp/bad.csv"
printf 'id,label,depth\n1,a,notanumber\n' >"$tmp/badtype.csv"

# ---- help and usage ----
for c in "record" "record create" "record update" "record approve" "record reject" "record show" \
         "record versions" "record history" "record cat" "record verify"; do
  # shellcheck disable=SC2086
  expect_exit 0 "strata $c --help" $strata $c --help
  grep -q usage "$tmp/out" || fail "help text of '$c' has no usage line"
done
expect_exit 1 "record without a command" $strata record
expect_exit 1 "unknown command" $strata record frobnicate x
expect_exit 1 "create without --by" $strata record create r1 --schema "$tmp/things.json" --from "$tmp/v1.csv"
expect_exit 1 "create with --table and --schema" $strata record create r1 --table t --schema "$tmp/things.json" --from "$tmp/v1.csv" --by a
expect_exit 1 "cat with --version and --approved" $strata record cat r1 --version 1 --approved
expect_exit 1 "bad --as-of" $strata record cat r1 --as-of yesterday
expect_exit 1 "option of another command" $strata record show r1 --by a
STRATA_STORE= expect_exit 1 "no store" $strata record show r1
err_has "no store"
expect_exit 1 "bad record id" $strata record show ../etc
expect_exit 2 "show a missing record" $strata record show nope
err_has "Record does not exist"

# ---- lifecycle ----
expect_exit 4 "create with invalid rows writes nothing" $strata record create r1 --schema "$tmp/things.json" --from "$tmp/bad.csv" --by alice
err_has "row 2, column label"
err_has "row 2, column depth"
err_has "nothing written"
[ ! -e "$tmp/store/records/r1" ] || fail "a refused create left files: $(find "$tmp/store" -type f)"
expect_exit 4 "create with a bad cell" $strata record create r1 --schema "$tmp/things.json" --from "$tmp/badtype.csv" --by alice
err_has "notanumber"
expect_exit 0 "create" $strata record create r1 --schema "$tmp/things.json" --from "$tmp/v1.csv" --by alice --comment "Initial creation"
out_is "created r1 v1 (draft)"
expect_exit 3 "create again" $strata record create r1 --schema "$tmp/things.json" --from "$tmp/v1.csv" --by alice
err_has "Record already exists"
expect_exit 2 "update a missing record" $strata record update r2 --from "$tmp/v2.jsonl" --by alice
err_has "Record does not exist"
expect_exit 4 "update with invalid rows" $strata record update r1 --from "$tmp/bad.csv" --by alice
expect_exit 0 "update" $strata record update r1 --from "$tmp/v2.jsonl" --by bob --comment "second"
out_is "updated r1 to v2 (draft)"
expect_exit 3 "approve own version with --approver-not-author" $strata record approve r1 --by bob --approver-not-author
err_has "Approver is the author"
STRATA_APPROVER_NOT_AUTHOR=1 expect_exit 3 "approve own version with the env policy" $strata record approve r1 --by bob
err_has "Approver is the author"
expect_exit 0 "approve" $strata record approve r1 --by carol --comment "checked"
out_is "approved r1 v2"
expect_exit 3 "approve twice" $strata record approve r1 --by carol
err_has "Already approved"
expect_exit 3 "reject approved" $strata record reject r1 --by carol
err_has "Cannot reject approved"
expect_exit 0 "update an approved record" $strata record update r1 --from "$tmp/v1.csv" --by alice
expect_exit 0 "reject" $strata record reject r1 --by dave --comment "no"
expect_exit 3 "reject twice" $strata record reject r1 --by dave
err_has "Already rejected"
expect_exit 3 "approve rejected" $strata record approve r1 --by carol
err_has "Cannot approve rejected"
n=$(find "$tmp/store/records/r1/versions" -type f -name '*.parquet' | wc -l)
[ "$n" -eq 3 ] || fail "approve/reject wrote Parquet: $n version files"

# ---- reads ----
expect_exit 0 "versions" $strata record versions r1
out_is $'1\n2\n3'
expect_exit 0 "cat latest" $strata record cat r1
out_is $'{"id":1,"label":"a","depth":"1.50"}\n{"id":2,"label":"b","depth":"2.25"}'
expect_exit 0 "cat --approved as csv" $strata record cat r1 --approved --format csv
out_is $'id,label,depth\n1,x,3.00\n2,y,4.50\n3,,0.00'
expect_exit 0 "cat --version 1 as a table" $strata record cat r1 --version 1 --format table
grep -q "^id *| label *| depth" "$tmp/out" || fail "table header: $(cat "$tmp/out")"
expect_exit 2 "cat a missing version" $strata record cat r1 --version 7
expect_exit 0 "cat parquet" $strata record cat r1 --version 2 --format parquet -o "$tmp/v2.parquet"
expect_exit 0 "the parquet file reads back" $strata parquet cat "$tmp/v2.parquet"
[ "$(wc -l <"$tmp/out")" -eq 3 ] || fail "parquet cat: $(cat "$tmp/out")"
cmp -s "$tmp/v2.parquet" "$tmp/store/records/r1/versions/v2.parquet" || fail "parquet output is not the stored file"
# --as-of: the time of the update event to v2 selects v2; a time before create, nothing.
at2=$($strata record history r1 --format jsonl | sed -n 2p | sed 's/.*"at":"\([^"]*\)".*/\1/')
expect_exit 0 "cat --as-of the time of v2" $strata record cat r1 --as-of "$at2" --format csv
out_is $'id,label,depth\n1,x,3.00\n2,y,4.50\n3,,0.00'
expect_exit 2 "cat --as-of before the record" $strata record cat r1 --as-of 2000-01-01T00:00:00Z
err_has "did not exist yet"

# ---- show / history ----
expect_exit 0 "show" $strata record show r1
node -e '
const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const keys = ["record_id","table_name","current_version","status","created_by","created_at",
  "approved_by","approved_at","rejected_by","rejected_at","history"];
const got = Object.keys(m).slice(0, keys.length);
if (JSON.stringify(got) !== JSON.stringify(keys)) throw new Error("keys " + got);
if (m.record_id !== "r1" || m.table_name !== "things" || m.current_version !== 3 ||
    m.status !== "rejected" || m.rejected_by !== "dave" || m.approved_by !== null ||
    m.created_by !== "alice") throw new Error("values " + JSON.stringify(m));
if (m.history.length !== 5) throw new Error("history " + m.history.length);
const h = m.history.map(e => [e.version, e.status, e.created_by, e.comment].join("/"));
const want = ["1/draft/alice/Initial creation", "2/draft/bob/second", "2/approved/carol/checked",
  "3/draft/alice/", "3/rejected/dave/no"];
if (JSON.stringify(h) !== JSON.stringify(want)) throw new Error("history " + h);
for (const e of m.history) for (const k of ["version","status","created_by","created_at","comment"])
  if (!(k in e)) throw new Error("history entry lacks " + k);
' "$tmp/out" || fail "show: metadata layout"
cmp -s "$tmp/out" "$tmp/store/records/r1/metadata.json" || fail "show differs from the stored metadata.json"
expect_exit 0 "history" $strata record history r1 --format csv
[ "$(sed -n 1p "$tmp/out")" = "seq,event,version,status,by,at,comment" ] || fail "history header: $(head -1 "$tmp/out")"
[ "$(wc -l <"$tmp/out")" -eq 6 ] || fail "history rows: $(cat "$tmp/out")"
expect_exit 0 "verify" $strata record verify r1
grep -q "the chain holds" "$tmp/out" || fail "verify output: $(cat "$tmp/out")"

# ---- --store and the registry ----
unset STRATA_STORE
expect_exit 0 "create with --store and --table from a registry dir" $strata record create t1 --table things --dir "$tmp" --from "$tmp/v1.csv" --by a --store "file://$tmp/other"
expect_exit 0 "update validates against the kept schema" $strata record update t1 --from "$tmp/v2.jsonl" --by a --store "file://$tmp/other"
expect_exit 2 "the other store does not have r1" $strata record show r1 --store "file://$tmp/other"
export STRATA_STORE="file://$tmp/store"

# ---- two processes racing ----
$strata record create race --schema "$tmp/things.json" --from "$tmp/v1.csv" --by a >/dev/null 2>&1 || fail "create race"
for p in 1 2 3 4; do
  ( for i in $(seq 1 15); do
      $strata record update race --from "$tmp/v1.csv" --by "p$p" >/dev/null 2>>"$tmp/race$p.err"
      echo $? >>"$tmp/race$p.codes"
    done ) &
done
wait
ok=$(cat "$tmp"/race*.codes | grep -cx 0)
lost=$(cat "$tmp"/race*.codes | grep -cx 3)
other=$(cat "$tmp"/race*.codes | grep -cvx '[03]')
[ "$other" -eq 0 ] || fail "racing updates failed otherwise: $(cat "$tmp"/race*.err | grep -v 'was created by' | head -3)"
[ $((ok + lost)) -eq 60 ] || fail "racing updates: $ok won, $lost lost"
$strata record versions race >"$tmp/out" 2>"$tmp/err"
[ "$(cat "$tmp/out")" = "$(seq 1 $((ok + 1)))" ] || fail "versions after the race are not 1..$((ok + 1)): $(tr '\n' ' ' <"$tmp/out")"
expect_exit 0 "verify after the race" $strata record verify race
echo "race: $ok updates won, $lost lost"

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "all record CLI checks passed"
