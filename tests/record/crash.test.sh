#!/usr/bin/env bash
# Writers killed at random points: hundreds of `strata repo create/update/approve/reject`
# processes on a few records of one project, each killed with SIGKILL after a random
# 0-30 ms (so some die before, some during, some after their commit, some between the
# commit and the index marker). Afterwards, for every record:
#   - strata repo verify passes (an uncommitted version a killed writer left is a note,
#     not a problem) and reads work (history, get of the latest version);
#   - the project's listing equals what each record's log says (pending markers make the
#     listing read a record whose writer died after committing but before indexing);
#   - the next operation succeeds (or, when it completes a killed writer's version,
#     reports exit 3 naming it and the retry succeeds), and verify passes again;
#   - repo reindex rebuilds the same listing.
# On file:// always; on radosgw too (fewer iterations, kills after 0-400 ms as a CLI call
# takes longer there: CRASH_MAX_MS_S3) unless CRASH_S3=0.
. "$(dirname "${BASH_SOURCE[0]}")/../s3/lib.sh"
need_strata
t=$s3t_tmp
ITER=${CRASH_ITER:-400}
ITER_S3=${CRASH_ITER_S3:-150}
RECS=${CRASH_RECORDS:-6}

cat >"$t/v.csv" <<'EOF'
borelog_id,version_no,status,depth_m,remarks,created_at
6f1c1e4e-8d5c-4c1b-9d59-1b2a3c4d5e6f,1,draft,12.5,crash,2024-05-01T10:00:00Z
6f1c1e4e-8d5c-4c1b-9d59-1b2a3c4d5e6f,2,draft,13.5,crash,2024-05-01T10:00:00Z
EOF

# Random delay in seconds, 0 to CRASH_MAX_MS (default 30) ms.
MAXMS=${CRASH_MAX_MS:-30}
rdelay() {
  local ms=$((RANDOM % (MAXMS + 1)))
  printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

crash_loop() {
  local store=$1 iters=$2 MAXMS=$3 i op id pid killed=0 finished=0
  for ((i = 0; i < iters; i++)); do
    id=c$((RANDOM % RECS))
    case $((RANDOM % 4)) in
    0) op=(create --from "$t/v.csv") ;;
    1) op=(update --from "$t/v.csv") ;;
    2) op=(approve) ;;
    3) op=(reject) ;;
    esac
    "$STRATA" repo "${op[0]}" borelog crash "$id" "${op[@]:1}" --store "$store" --by "k$i" \
      --comment "it-$i" >/dev/null 2>&1 &
    pid=$!
    sleep "$(rdelay)"
    if kill -KILL "$pid" 2>/dev/null; then killed=$((killed + 1)); else finished=$((finished + 1)); fi
    wait "$pid" 2>/dev/null
  done
  echo "$killed killed, $finished finished before the kill"
}

# The listing against the logs: prints mismatches, exits 1 on any.
compare_listing() {
  local store=$1 label=$2 id
  "$STRATA" repo list borelog crash --store "$store" >"$t/list.jsonl" 2>"$t/list.err" || {
    bad "$label: list: $(cat "$t/list.err")"
    return
  }
  : >"$t/logs.jsonl"
  for ((id = 0; id < RECS; id++)); do
    if "$STRATA" repo history borelog crash "c$id" --store "$store" >"$t/h.json" 2>"$t/h.err"; then
      python3 -c 'import json,sys; h=json.load(open(sys.argv[1])); print(json.dumps({"record_id":h["record_id"],"version":h["current_version"],"status":h["status"],"log_seq":len(h["history"])}))' "$t/h.json" >>"$t/logs.jsonl"
    elif ! grep -q "does not exist" "$t/h.err"; then
      bad "$label: history c$id: $(cat "$t/h.err")"
    fi
  done
  if python3 - "$t/list.jsonl" "$t/logs.jsonl" >"$t/cmp" <<'EOF'; then ok "$label: $(cat "$t/cmp")"; else bad "$label: $(cat "$t/cmp")"; fi
import json, sys
lst = {r["record_id"]: (r["version"], r["status"], r["log_seq"]) for r in map(json.loads, open(sys.argv[1]))}
log = {r["record_id"]: (r["version"], r["status"], r["log_seq"]) for r in map(json.loads, open(sys.argv[2]))}
if lst != log:
    print(f"listing differs from the logs: listing {lst} logs {log}")
    sys.exit(1)
print(f"listing equals the logs of {len(log)} records")
EOF
}

check_store() {
  local store=$1 label=$2 id retried=0 rc
  for ((id = 0; id < RECS; id++)); do
    if ! "$STRATA" repo history borelog crash "c$id" --store "$store" >/dev/null 2>&1; then continue; fi
    expect_exit 0 "$label: verify c$id after the kills" "$STRATA" repo verify borelog crash "c$id" --store "$store"
    expect_exit 0 "$label: get c$id (latest)" "$STRATA" repo get borelog crash "c$id" --store "$store"
  done
  compare_listing "$store" "$label: after the kills"
  # The next operation on every record: create where none exists, else update + approve.
  for ((id = 0; id < RECS; id++)); do
    local verb=update
    "$STRATA" repo history borelog crash "c$id" --store "$store" >/dev/null 2>&1 || verb=create
    for step in $verb approve; do
      "$STRATA" repo $step borelog crash "c$id" --from "$t/v.csv" --store "$store" --by next \
        >"$t/n.out" 2>"$t/n.err"
      rc=$?
      if [ "$rc" = 3 ] && [ "$step" != approve ] && [ -s "$t/n.err" ]; then
        # It completed a killed writer's version and lost that version: retry once.
        retried=$((retried + 1))
        [ $verb = create ] && step=update
        "$STRATA" repo $step borelog crash "c$id" --from "$t/v.csv" --store "$store" --by next \
          >"$t/n.out" 2>"$t/n.err"
        rc=$?
      fi
      if [ "$rc" = 0 ]; then ok "$label: next $step of c$id"; else bad "$label: next $step of c$id: exit $rc: $(cat "$t/n.err")"; fi
    done
    expect_exit 0 "$label: verify c$id after the next operation" "$STRATA" repo verify borelog crash "c$id" --store "$store"
  done
  echo "   ($retried next operations completed a killed writer's version first and were retried)"
  compare_listing "$store" "$label: after the next operations"
  expect_exit 0 "$label: reindex" "$STRATA" repo reindex borelog crash --store "$store"
  compare_listing "$store" "$label: after reindex"
}

echo "== file:// ($ITER writers killed at random, $RECS records)"
fstore="file://$t/store"
t0=$(date +%s)
echo "   $(crash_loop "$fstore" "$ITER" "$MAXMS") in $(($(date +%s) - t0)) s"
check_store "$fstore" "file"

if [ "${CRASH_S3:-1}" != 0 ]; then
  echo "== S3 on radosgw ($ITER_S3 writers killed at random)"
  start_radosgw
  s3store=$(s3_url "crash-$(date +%s)-$$")
  t0=$(date +%s)
  echo "   $(crash_loop "$s3store" "$ITER_S3" "${CRASH_MAX_MS_S3:-400}") in $(($(date +%s) - t0)) s"
  check_store "$s3store" "s3"
fi

finish
