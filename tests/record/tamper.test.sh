#!/usr/bin/env bash
# Tampering with a record on a file:// store, one change at a time: a byte of
# a version file, a removed log event, a hand edit of metadata.json, an event
# edited in place, a version file with no event. strata record verify must
# name each (exit 5) while reads of the versions nobody touched keep working,
# and a changed version is refused rather than served.
set -uo pipefail
strata=${STRATA:?path of the strata binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset STRATA_SCHEMA_DIR STRATA_APPROVER_NOT_AUTHOR
export STRATA_STORE="file://$tmp/store"
rec="$tmp/store/records/bh"
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
verify_says() { # <expected exit> <text...>: verify's report must contain every text
  local want=$1; shift
  $strata record verify bh >"$tmp/out" 2>"$tmp/err"
  local got=$?
  [ "$got" -eq "$want" ] || fail "verify exit $got, want $want: $(cat "$tmp/out" "$tmp/err")"
  for t in "$@"; do
    grep -qF -- "$t" "$tmp/out" || fail "verify does not say '$t': $(cat "$tmp/out")"
  done
  echo "ok   verify (exit $got) names: $*"
}
reads() { # <version> <expected first line>
  local got
  got=$($strata record cat bh --version "$1" 2>"$tmp/err" | head -1)
  [ "$got" = "$2" ] || fail "v$1 no longer reads: [$got] $(cat "$tmp/err")"
}

printf '{"name":"t","fields":[{"name":"id","type":"int32"},{"name":"s","type":"string"}]}' >"$tmp/t.json"
for i in 1 2 3 4; do printf 'id,s\n%d,row%d\n' "$i" "$i" >"$tmp/v$i.csv"; done
$strata record create bh --schema "$tmp/t.json" --from "$tmp/v1.csv" --by alice >/dev/null || fail create
$strata record update bh --from "$tmp/v2.csv" --by alice >/dev/null || fail update2
$strata record approve bh --by bob >/dev/null || fail approve
$strata record update bh --from "$tmp/v3.csv" --by alice >/dev/null || fail update3
$strata record update bh --from "$tmp/v4.csv" --by carol >/dev/null || fail update4
verify_says 0 "the chain holds"
cp -a "$tmp/store" "$tmp/pristine"
restore() { rm -rf "$tmp/store"; cp -a "$tmp/pristine" "$tmp/store"; }

# 1. One byte of v2.parquet changed (same size).
python3 - "$rec/versions/v2.parquet" <<'P'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x01
open(p, "wb").write(bytes(b))
P
verify_says 5 "v2.parquet: SHA-256 differs from the event 2 that added it"
$strata record cat bh --version 2 >/dev/null 2>"$tmp/err"
[ $? -eq 5 ] && grep -q "v2.parquet" "$tmp/err" || fail "the changed v2 was served: $(cat "$tmp/err")"
reads 1 '{"id":1,"s":"row1"}'
reads 3 '{"id":3,"s":"row3"}'
reads 4 '{"id":4,"s":"row4"}'
restore

# 2. Event 3 (the approval) removed.
rm "$rec/log/0000000003.json"
verify_says 5 "log event 3: missing" "log event 4: its prev_sha256 does not match"
for v in 1 2 3 4; do reads $v "{\"id\":$v,\"s\":\"row$v\"}"; done
restore

# 3. metadata.json edited by hand (status flipped).
sed -i 's/"status": "draft"/"status": "approved"/' "$rec/metadata.json"
verify_says 5 "metadata.json: changed by hand"
st=$($strata record show bh | grep -m1 '"status"')
[ "$st" = '  "status": "draft",' ] || fail "a hand-edited snapshot was believed: $st"
for v in 1 2 3 4; do reads $v "{\"id\":$v,\"s\":\"row$v\"}"; done
restore

# 4. All three at once: each is named.
python3 - "$rec/versions/v2.parquet" <<'P'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read()); b[40] ^= 0xff; open(p, "wb").write(bytes(b))
P
rm "$rec/log/0000000003.json"
sed -i 's/"carol"/"mallory"/' "$rec/metadata.json"
verify_says 5 "v2.parquet: SHA-256 differs" "log event 3: missing" "metadata.json: changed by hand"
reads 1 '{"id":1,"s":"row1"}'
reads 3 '{"id":3,"s":"row3"}'
reads 4 '{"id":4,"s":"row4"}'
$strata record update bh --from "$tmp/v1.csv" --by alice >/dev/null 2>"$tmp/err"
[ $? -eq 5 ] && grep -q "verify" "$tmp/err" || fail "a write went onto a damaged log: $(cat "$tmp/err")"
restore

# 5. An event edited in place (the approver renamed), and events reordered.
sed -i 's/"by":"bob"/"by":"eve"/' "$rec/log/0000000003.json"
verify_says 5 "log event 4: its prev_sha256 does not match log event 3"
restore
mv "$rec/log/0000000004.json" "$tmp/e4"; mv "$rec/log/0000000005.json" "$rec/log/0000000004.json"
mv "$tmp/e4" "$rec/log/0000000005.json"
verify_says 5 "log event 4: says it is event 5" "log event 5: says it is event 4"
restore

# 6. A version file no event adds (below the latest): planted data.
cp "$rec/versions/v1.parquet" "$rec/versions/v9.parquet"
verify_says 5 "v9.parquet: no event adds this version"
rm "$rec/versions/v9.parquet"
# ...while the next version, uncommitted (a crashed writer), is only a note.
cp "$rec/versions/v1.parquet" "$rec/versions/v5.parquet"
verify_says 0 "note: v5.parquet: pending"
restore

# 7. A version file removed.
rm "$rec/versions/v3.parquet"
verify_says 5 "v3.parquet: missing"
reads 4 '{"id":4,"s":"row4"}'
restore
verify_says 0 "the chain holds"

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "all tamper checks passed"
