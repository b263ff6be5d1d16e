#!/usr/bin/env bash
# strata store on file:// stores end to end: help texts, put/get/stat/ls/rm
# round trips (binary-safe, streamed, ranges), conditional puts, exit codes
# (missing object 2, conflict 3, bad key or usage 1), and parquet commands
# reading and writing store URLs.
set -uo pipefail
strata=${STRATA:?path of the strata binary}
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

store="file://$tmp/store"

for c in "store" "store ls" "store get" "store put" "store stat" "store rm" "store caps"; do
  # shellcheck disable=SC2086
  expect_exit 0 "strata $c --help" $strata $c --help
  grep -q usage "$tmp/out" || { echo "FAIL help text of '$c' has no usage line"; fails=$((fails + 1)); }
done
expect_exit 1 "store without a command" $strata store
expect_exit 1 "unknown store command" $strata store nosuch
expect_exit 1 "get without a URL" $strata store get
expect_exit 1 "put without a URL" $strata store put "$tmp/x"
expect_exit 1 "bad --range" $strata store get "$store/a" --range 5-2
expect_exit 1 "bad --format" $strata store ls "$store" --format xml
expect_exit 1 "--if-absent with --if-match" $strata store put /dev/null "$store/a" --if-absent --if-match x

# Binary round trip, including NUL bytes and every byte value.
head -c 300000 /dev/urandom >"$tmp/bin"
printf '\0\1\2\377' >>"$tmp/bin"
expect_exit 0 "put a binary file" $strata store put "$tmp/bin" "$store/data/blob.bin"
grep -q "wrote 300004 bytes" "$tmp/err" || { echo "FAIL put did not report its size"; fails=$((fails + 1)); }
$strata store get "$store/data/blob.bin" >"$tmp/got" 2>"$tmp/err"
check "get to stdout is byte-identical" cmp -s "$tmp/bin" "$tmp/got"
expect_exit 0 "get -o FILE" $strata store get "$store/data/blob.bin" -o "$tmp/got2"
check "get -o is byte-identical" cmp -s "$tmp/bin" "$tmp/got2"
check "the object is a plain file" cmp -s "$tmp/bin" "$tmp/store/data/blob.bin"

# Ranges: a-b inclusive, a- to the end, -N the last N bytes.
printf '0123456789' >"$tmp/digits"
$strata store put "$tmp/digits" "$store/digits.txt" 2>/dev/null
check "range 2-5" test "$($strata store get "$store/digits.txt" --range 2-5)" = "2345"
check "range 7-" test "$($strata store get "$store/digits.txt" --range 7-)" = "789"
check "range -3" test "$($strata store get "$store/digits.txt" --range -3)" = "789"
check "range past the end is cut" test "$($strata store get "$store/digits.txt" --range 8-100)" = "89"
check "suffix longer than the object" test "$($strata store get "$store/digits.txt" --range -50)" = "0123456789"
expect_exit 1 "range starting past the end" $strata store get "$store/digits.txt" --range 11-12

# Standard input, streamed (larger than one 8 MiB piece).
head -c 20000000 /dev/urandom >"$tmp/big"
$strata store put - "$store/big/stdin.bin" <"$tmp/big" 2>"$tmp/err"
check "put from stdin" test $? -eq 0
$strata store get "$store/big/stdin.bin" | cmp -s - "$tmp/big"
check "20 MB through stdin and stdout" test "${PIPESTATUS[0]}" -eq 0 -a "${PIPESTATUS[1]}" -eq 0

# stat: size, ETag (SHA-256 of the content), type, metadata.
expect_exit 0 "put with metadata" $strata store put "$tmp/digits" "$store/meta/d.csv" --meta owner=alice \
  --meta project=p-42 --content-type text/csv
expect_exit 0 "stat json" $strata store stat "$store/meta/d.csv" --format json
want_etag=$(sha256sum "$tmp/digits" | cut -d' ' -f1)
check "stat reports the size" grep -q '"size":10,' "$tmp/out"
check "stat reports the ETag" grep -q "\"etag\":\"$want_etag\"" "$tmp/out"
check "stat reports the type" grep -q '"content_type":"text/csv"' "$tmp/out"
check "stat reports the metadata" grep -q '"meta":{"owner":"alice","project":"p-42"}' "$tmp/out"
expect_exit 0 "stat text" $strata store stat "$store/meta/d.csv"
check "stat text names the ETag" grep -q "etag: *$want_etag" "$tmp/out"
expect_exit 1 "bad metadata name" $strata store put "$tmp/digits" "$store/meta/e" --meta Owner=x
expect_exit 2 "stat of a missing object" $strata store stat "$store/meta/missing"

# Conditional puts.
expect_exit 0 "if-absent creates" $strata store put "$tmp/digits" "$store/cond/v1" --if-absent
expect_exit 3 "if-absent conflict" $strata store put "$tmp/bin" "$store/cond/v1" --if-absent
check "the conflict names the object" grep -q "cond/v1" "$tmp/err"
check "the first version stays" cmp -s "$tmp/digits" "$tmp/store/cond/v1"
expect_exit 3 "if-match with a stale ETag" $strata store put "$tmp/bin" "$store/cond/v1" --if-match 0000
expect_exit 0 "if-match with the current ETag" $strata store put "$tmp/bin" "$store/cond/v1" --if-match "$want_etag"
check "if-match replaced the object" cmp -s "$tmp/bin" "$tmp/store/cond/v1"
expect_exit 3 "if-match on a missing object" $strata store put "$tmp/bin" "$store/cond/none" --if-match "$want_etag"

# Listing.
expect_exit 0 "ls" $strata store ls "$store"
check "ls rolls directories up" grep -q "PRE  data/" "$tmp/out"
check "ls shows top-level objects" grep -q " 10  digits.txt" "$tmp/out"
expect_exit 0 "ls --recursive --format json" $strata store ls "$store" --recursive --format json
check "ls json names deep keys" grep -q '"key":"data/blob.bin","size":300004' "$tmp/out"
check "ls json is valid JSON" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out"
check "ls hides sidecars and temporary files" bash -c '! grep -qF "\\" "$1"' _ "$tmp/out"
expect_exit 0 "ls of an empty store" $strata store ls "file://$tmp/empty" --format json
check "empty listing is []" test "$(tr -d '\n ' <"$tmp/out")" = "[]"

# Exit codes: missing object 2, bad key 1.
expect_exit 2 "get of a missing object" $strata store get "$store/nope"
expect_exit 2 "rm of a missing object" $strata store rm "$store/nope"
expect_exit 1 "a control character in a key" $strata store get "$store/a%01b"
expect_exit 1 "a backslash in a key" $strata store put "$tmp/digits" "$store/back%5Cslash"
expect_exit 1 "a URL naming a store, not an object" $strata store get "$store/"
expect_exit 1 "an unknown scheme" $strata store ls "ftp://host/x"
check "nothing was created by refused keys" test ! -e "$tmp/store/back\\slash"
expect_exit 2 "put of a missing local file" $strata store put "$tmp/no-such-file" "$store/x"
expect_exit 0 "rm" $strata store rm "$store/digits.txt"
expect_exit 2 "get after rm" $strata store get "$store/digits.txt"
expect_exit 0 "caps" $strata store caps "$store"

# Plain directories work as stores too.
expect_exit 0 "put to a plain path" $strata store put "$tmp/digits" "$tmp/plain/d.txt"
check "plain path round trip" test "$($strata store get "$tmp/plain/d.txt")" = "0123456789"

# Parquet through store URLs.
cat >"$tmp/schema.json" <<'EOF'
{"name": "logs", "fields": [
  {"name": "id", "type": "int32", "nullable": false},
  {"name": "depth_m", "type": "double"},
  {"name": "soil", "type": "string"}]}
EOF
printf 'id,depth_m,soil\n1,0.5,clay\n2,1.25,sand\n3,,gravel\n' >"$tmp/logs.csv"
expect_exit 0 "parquet write to a file:// URL" $strata parquet write --schema "$tmp/schema.json" --from "$tmp/logs.csv" \
  "$store/tables/logs.parquet"
expect_exit 0 "parquet cat from the URL" $strata parquet cat "$store/tables/logs.parquet"
check "rows read back" test "$(wc -l <"$tmp/out")" -eq 3
check "values read back" grep -q '"soil":"gravel"' "$tmp/out"
expect_exit 0 "parquet cat from the plain path" $strata parquet cat "$tmp/store/tables/logs.parquet"
expect_exit 0 "stat of the Parquet object" $strata store stat "$store/tables/logs.parquet" --format json
check "Parquet content type" grep -q 'application/vnd.apache.parquet' "$tmp/out"
expect_exit 0 "parquet schema from the URL" $strata parquet schema "$store/tables/logs.parquet"
expect_exit 0 "parquet meta from the URL" $strata parquet meta "$store/tables/logs.parquet" --format json
expect_exit 2 "parquet cat of a missing URL" $strata parquet cat "$store/tables/none.parquet"
printf 'id,depth_m,soil\n1,notanumber,clay\n' >"$tmp/bad.csv"
"$strata" parquet write --schema "$tmp/schema.json" --from "$tmp/bad.csv" "$store/tables/bad.parquet" >/dev/null 2>&1
check "failed parquet write leaves nothing" test ! -e "$tmp/store/tables/bad.parquet"
expect_exit 2 "and the store says so" $strata store stat "$store/tables/bad.parquet"

# -o onto a device writes through it and leaves the device node in place.
mknod "$tmp/devnull" c 1 3 2>/dev/null || ln -s /dev/null "$tmp/devnull"
expect_exit 0 "get -o onto a device" $strata store get "$store/tables/logs.parquet" -o "$tmp/devnull"
check "the device node is still a device" test -c "$tmp/devnull"

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "all store CLI checks passed"
