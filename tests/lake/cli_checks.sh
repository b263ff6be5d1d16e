# The strata lake CLI checks, run against one store URL (sourced by
# lake_cli.test.sh for file:// and lake_s3.test.sh for radosgw, after
# tests/s3/lib.sh). Usage: lake_cli_checks <store URL> <work dir>
lake_cli_checks() {
  local U=$1 w=$2
  mkdir -p "$w"
  local i1=$w/index1.sqlite i2=$w/index2.sqlite
  L() { "$STRATA" lake "$@" --store "$U" --index "$i1"; }     # process 1
  L2() { "$STRATA" lake "$@" --store "$U" --index "$i2"; }    # process 2, its own index
  jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

  echo "== store, get, ls on $U"
  expect_exit 0 "store --content" L store user_schema.sql --type schema --meta '{"version":"1.0","database":"production"}' --content 'CREATE TABLE users (id INT, name VARCHAR(100));'
  check "store prints the id first" grep -qE '^id +[0-9a-f-]{36}$' <(head -n 1 "$s3t_tmp/out")
  local id1
  id1=$(awk 'NR==1{print $2}' "$s3t_tmp/out")
  head -c 5000 /dev/urandom >"$w/blob.bin"
  expect_exit 0 "store a binary --file" L store macro.xlsm --type macro --subpath finance/2023-10-27 --meta '{"author":"finance_team"}' --file "$w/blob.bin" --format json
  local id2
  id2=$(jget 'd["id"]' <"$s3t_tmp/out")
  check "json entry: path" test "$(jget 'd["path"]' <"$s3t_tmp/out")" = "lake/macro/finance/2023-10-27/macro.xlsm"
  check "json entry: binary" test "$(jget 'd["content_type"]' <"$s3t_tmp/out")" = binary
  printf 'service: api\nversion: 1.2.3\nretries: 5\n' >"$w/cfg.yaml"
  expect_exit 0 "store from standard input" sh -c "'$STRATA' lake store config.yaml --type configuration --subpath svc/api --meta '{\"env\":\"prod\"}' --file - --store '$U' --index '$i1' --format json <'$w/cfg.yaml'"
  local id3
  id3=$(jget 'd["id"]' <"$s3t_tmp/out")
  local guide='How the quarterly reconciliation macro processes ledger data.'
  local later='nightly job finished: walrus' users2='CREATE TABLE users2 (id INT);'
  expect_exit 0 "store documentation" L store guide.md --type documentation --content "$guide"
  expect_exit 0 "get ID -o FILE (binary)" L get "$id2" -o "$w/blob.out"
  same_file "binary content round trip" "$w/blob.bin" "$w/blob.out"
  expect_exit 0 "get ID to stdout" L get "$id3"
  same_file "text content round trip" "$w/cfg.yaml" "$s3t_tmp/out"
  expect_exit 0 "get --path" L get --path lake/schema/user_schema.sql
  check "get --path content" grep -q 'CREATE TABLE users' "$s3t_tmp/out"
  expect_exit 0 "get --format json" L get "$id1" --format json
  check "json content" test "$(jget 'd["content"]' <"$s3t_tmp/out")" = 'CREATE TABLE users (id INT, name VARCHAR(100));'
  expect_exit 0 "info" L info "$id2"
  check "info shows metadata" grep -q 'finance_team' "$s3t_tmp/out"
  expect_exit 0 "ls --recursive --format json" L ls --recursive --format json
  check "ls: 4 entries" test "$(jget 'len(d)' <"$s3t_tmp/out")" -eq 4
  expect_exit 0 "ls --type schema" L ls --type schema
  check "ls --type: one line + header" test "$(wc -l <"$s3t_tmp/out")" -eq 2
  expect_exit 0 "ls --type macro --subpath finance (not recursive)" L ls --type macro --subpath finance --format json
  check "ls non-recursive: none directly in finance" test "$(jget 'len(d)' <"$s3t_tmp/out")" -eq 0
  expect_exit 0 "ls --subpath finance --recursive" L ls --subpath finance --recursive --format json
  check "ls recursive: the macro" test "$(jget 'd[0]["id"]' <"$s3t_tmp/out")" = "$id2"

  echo "== search"
  expect_exit 0 "search phrase" L search '"CREATE TABLE users"'
  check "phrase hit with marked terms" grep -q '\[CREATE TABLE users\]' "$s3t_tmp/out"
  check "phrase: the schema ranks first" grep -q '^1\. lake/schema/user_schema.sql' "$s3t_tmp/out"
  check "score printed with significant digits, not 0.000" grep -Eq '^1\. .*\(score [0-9.e+-]*[1-9][0-9.e+-]*, ' "$s3t_tmp/out"
  check "score not rounded to 0.000" sh -c "! grep -q 'score 0.000' '$s3t_tmp/out'"
  expect_exit 0 "search --exact" L search '"CREATE TABLE users"' --exact --format json
  check "--exact: the schema ranks first" test "$(jget 'd[0]["entry"]["name"]' <"$s3t_tmp/out")" = user_schema.sql
  expect_exit 0 "search --help" L search --help
  check "--help explains bounded and exact" grep -q -- '--exact  *rank every match' "$s3t_tmp/out"
  expect_exit 0 "search --format json" L search reconcil* --format json
  check "prefix query finds the guide" test "$(jget 'd[0]["entry"]["name"]' <"$s3t_tmp/out")" = guide.md
  expect_exit 0 "search metadata value" L search production --format json
  check "metadata value search" test "$(jget 'd[0]["entry"]["id"]' <"$s3t_tmp/out")" = "$id1"
  expect_exit 0 "search --meta filter" L search 'service OR macro OR users' --meta env=prod --format json
  check "--meta filter keeps only the config" test "$(jget '[h["entry"]["id"] for h in d]' <"$s3t_tmp/out")" = "['$id3']"
  expect_exit 0 "search --type filter" L search 'macro OR users' --type documentation --format json
  check "--type filter" test "$(jget 'len(d)' <"$s3t_tmp/out")" -eq 1
  expect_exit 0 "search --subpath filter" L search 'service' --subpath svc --format json
  check "--subpath filter" test "$(jget 'len(d)' <"$s3t_tmp/out")" -eq 1
  expect_exit 0 "search --limit 1" L search 'macro OR users OR service' --limit 1 --format json
  check "--limit" test "$(jget 'len(d)' <"$s3t_tmp/out")" -eq 1
  expect_exit 0 "search without hits" L search zebra
  check "says no matches" grep -q 'no matches' "$s3t_tmp/out"

  echo "== another process (its own index) follows without reindex"
  expect_exit 0 "second process searches" L2 search quarterly --format json
  check "second process sees the first's entries" test "$(jget 'len(d)' <"$s3t_tmp/out")" -eq 1
  expect_exit 0 "update with new content and metadata" L update "$id1" --content 'CREATE TABLE accounts (id INT);' --meta '{"version":"2.0","updated_by":"admin"}'
  check "update prints version 2" grep -qE '^version +2$' "$s3t_tmp/out"
  expect_exit 0 "second process sees the update" L2 search accounts --format json
  check "new content found by process 2" test "$(jget 'd[0]["entry"]["version"]' <"$s3t_tmp/out")" -eq 2
  expect_exit 0 "old content gone from process 2's search" L2 search '"TABLE users"' --format json
  check "old content not found" test "$(jget 'len(d)' <"$s3t_tmp/out")" -eq 0
  expect_exit 0 "process 2 writes" L2 store later.txt --type logs --content "$later"
  local id4
  id4=$(awk 'NR==1{print $2}' "$s3t_tmp/out")
  expect_exit 0 "process 1 sees process 2's entry" L search walrus --format json
  check "process 1 found it" test "$(jget 'd[0]["entry"]["id"]' <"$s3t_tmp/out")" = "$id4"

  echo "== versions, delete, purge, stats"
  expect_exit 0 "versions" L versions "$id1" --format json
  check "two versions" test "$(jget 'len(d)' <"$s3t_tmp/out")" -eq 2
  expect_exit 0 "get --version 1" L get "$id1" --version 1
  check "version 1 content" test "$(cat "$s3t_tmp/out")" = 'CREATE TABLE users (id INT, name VARCHAR(100));'
  expect_exit 2 "get --version 3 (none)" L get "$id1" --version 3
  expect_exit 0 "rm" L rm "$id1"
  expect_exit 2 "get after rm" L get "$id1"
  expect_exit 2 "rm again" L rm "$id1"
  expect_exit 2 "update after rm" L update "$id1" --content x
  expect_exit 0 "versions readable after rm" L get "$id1" --version 2
  check "version 2 after rm" grep -q accounts "$s3t_tmp/out"
  expect_exit 0 "ls after rm" L2 ls --recursive --format json
  check "rm'd entry not listed (process 2)" test "$(jget "'$id1' in [e['id'] for e in d]" <"$s3t_tmp/out")" = False
  expect_exit 0 "search after rm" L2 search accounts --format json
  check "rm'd entry not found (process 2)" test "$(jget 'len(d)' <"$s3t_tmp/out")" -eq 0
  expect_exit 0 "the path is free again" L store user_schema.sql --type schema --content "$users2"
  expect_exit 0 "stats --format json" L2 stats --format json
  check "stats: 5 live, 1 deleted" test "$(jget '(d["total_entries"], d["deleted_entries"], d["entries_by_type"]["schema"])' <"$s3t_tmp/out")" = "(5, 1, 1)"
  check "stats: total size" test "$(jget 'd["total_size"]' <"$s3t_tmp/out")" -eq $((5000 + $(wc -c <"$w/cfg.yaml") + ${#guide} + ${#later} + ${#users2}))
  expect_exit 0 "purge" L purge "$id1"
  expect_exit 2 "versions after purge" L versions "$id1"
  expect_exit 2 "get --version after purge" L get "$id1" --version 1
  expect_exit 2 "purge again" L purge "$id1"
  expect_exit 0 "reindex" L2 reindex
  check "reindex counts" grep -q 'reindexed: 5 entries, 0 deleted' "$s3t_tmp/out"
  expect_exit 0 "search after reindex" L2 search walrus --format json
  check "found after reindex" test "$(jget 'len(d)' <"$s3t_tmp/out")" -eq 1
  rm -f "$i2" "$i2-wal" "$i2-shm"
  expect_exit 0 "a lost index is rebuilt" L2 ls --recursive --format json
  check "rebuilt index lists 5" test "$(jget 'len(d)' <"$s3t_tmp/out")" -eq 5

  echo "== errors"
  expect_exit 3 "store to a taken path" L store guide.md --type documentation --content again
  check "conflict names the path" grep -q 'lake/documentation/guide.md' "$s3t_tmp/err"
  expect_exit 4 "name with /" L store a/b --type other --content x
  expect_exit 4 "name .." L store .. --type other --content x
  expect_exit 4 "name with a control character" L store "$(printf 'a\tb')" --type other --content x
  expect_exit 4 "subpath escaping the lake" L store x --type other --subpath ../../etc --content x
  expect_exit 4 "absolute subpath" L store x --type other --subpath /etc --content x
  expect_exit 4 "unknown type" L store x --type spreadsheet --content x
  check "names the known types" grep -q 'known: schema' "$s3t_tmp/err"
  expect_exit 4 "metadata not an object" L store x --type other --meta '[1]' --content x
  expect_exit 4 "metadata not JSON" L store x --type other --meta '{oops' --content x
  expect_exit 4 "malformed query" L search 'users AND'
  expect_exit 4 "id not a UUID" L get ../../etc/passwd
  expect_exit 2 "unknown id" L get 00000000-0000-4000-8000-000000000000
  expect_exit 2 "unknown path" L get --path schema/none.sql
  expect_exit 1 "no content" L store x --type other
  expect_exit 1 "no type" L store x --content x
  expect_exit 1 "bad format" L ls --format xml
  expect_exit 1 "bad --meta filter" L search x --meta novalue
  expect_exit 1 "unknown command" L frobnicate
  expect_exit 0 "register a type" L types --register drawing
  expect_exit 0 "store with it (process 2)" L2 store plan.dxf --type drawing --content 'drawing of the north wall'
  check "nothing was written by the failures" test "$(L ls --recursive --format json | jget 'len(d)')" -eq 6
}
