#!/usr/bin/env bash
# Records under contention: 16 processes each update and then approve the same record at
# the same moment, on file:// and on S3 (a private Ceph radosgw). Afterwards:
#   - the versions are 1..N with no gap and no duplicate, N - 1 = the successful updates;
#   - every call that succeeded is in the history (its own comment, its version), every
#     call that was refused got exit 3 (ST_ECONFLICT) and said why, nothing else happened;
#   - at most one approve per draft, and an approve names a version that was current;
#   - the hash chain verifies (strata record verify when the CLI has it, and strata repo
#     verify), and the project's index lists the record's final state.
# Several rounds per store, so the interleavings differ.
. "$(dirname "${BASH_SOURCE[0]}")/../s3/lib.sh"
need_strata
t=$s3t_tmp
N=${RACE_PROCS:-16}
ROUNDS=${RACE_ROUNDS:-3}

cat >"$t/v.csv" <<'EOF'
borelog_id,version_no,status,depth_m,remarks,created_at
6f1c1e4e-8d5c-4c1b-9d59-1b2a3c4d5e6f,1,draft,12.5,race,2024-05-01T10:00:00Z
EOF

has_record_verify=0
"$STRATA" record verify --help >/dev/null 2>&1 && has_record_verify=1

# One worker: update, then approve; each result line "<op> <exit> <worker>".
worker() {
  local store=$1 id=$2 i=$3 out=$4 rc
  # Start together: wait for the gate file.
  while [ ! -e "$t/gate" ]; do sleep 0.005; done
  "$STRATA" repo update borelog race "$id" --store "$store" --from "$t/v.csv" --by "w$i" \
    --comment "upd-$i" >"$out.upd.out" 2>"$out.upd.err"
  rc=$?
  echo "update $rc $i" >>"$out"
  "$STRATA" repo approve borelog race "$id" --store "$store" --by "a$i" --comment "apr-$i" \
    >"$out.apr.out" 2>"$out.apr.err"
  rc=$?
  echo "approve $rc $i" >>"$out"
}

race_round() {
  local store=$1 label=$2 id=$3 i
  rm -f "$t/gate" "$t"/res.*
  expect_exit 0 "$label: create $id" "$STRATA" repo create borelog race "$id" --store "$store" \
    --from "$t/v.csv" --by creator --comment create || return
  local pids=()
  for ((i = 0; i < N; i++)); do
    worker "$store" "$id" "$i" "$t/res.$i" &
    pids+=($!)
  done
  sleep 0.3
  : >"$t/gate"
  for p in "${pids[@]}"; do wait "$p"; done
  "$STRATA" repo history borelog race "$id" --store "$store" >"$t/hist.json" 2>"$t/hist.err" ||
    {
      bad "$label: history of $id: $(cat "$t/hist.err")"
      return
    }
  "$STRATA" repo list borelog race --store "$store" >"$t/list.jsonl" 2>"$t/list.err" ||
    bad "$label: list: $(cat "$t/list.err")"
  if python3 - "$t" "$N" "$id" <<'EOF'; then ok "$label: $id: $(cat "$t/summary")"; else bad "$label: $id: $(cat "$t/summary")"; fi
import json, sys, glob
t, n, rid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
h = json.load(open(f"{t}/hist.json"))
hist = h["history"]
errs = []
# Events are seq 1..K in order.
seqs = [e["seq"] for e in hist]
if seqs != list(range(1, len(hist) + 1)):
    errs.append(f"log seqs not contiguous: {seqs}")
adds = [e for e in hist if e["event"] in ("create", "update")]
vers = [e["version"] for e in adds]
if vers != list(range(1, len(vers) + 1)):
    errs.append(f"versions not 1..N without gaps/duplicates: {vers}")
if h["current_version"] != len(vers):
    errs.append(f"current_version {h['current_version']} != {len(vers)}")
by_comment = {}
for e in hist:
    by_comment.setdefault(e["comment"], []).append(e)
ok_upd = ok_apr = conf = 0
for i in range(n):
    for line in open(f"{t}/res.{i}"):
        op, rc, w = line.split()
        rc = int(rc)
        tag = ("upd-" if op == "update" else "apr-") + w
        ev = by_comment.get(tag, [])
        err = open(f"{t}/res.{i}.{'upd' if op == 'update' else 'apr'}.err").read().strip()
        if rc == 0:
            if len(ev) != 1:
                errs.append(f"{op} by worker {w} succeeded but is in the history {len(ev)} times")
                continue
            if op == "update":
                ok_upd += 1
                out = json.loads(open(f"{t}/res.{i}.upd.out").read())
                if out.get("version") != ev[0]["version"]:
                    errs.append(f"worker {w} was told v{out.get('version')}, history says v{ev[0]['version']}")
            else:
                ok_apr += 1
                if ev[0]["event"] != "approve":
                    errs.append(f"approve by {w} recorded as {ev[0]['event']}")
        elif rc == 3:
            conf += 1
            if ev:
                errs.append(f"{op} by worker {w} was refused (exit 3) but is in the history")
            if not err:
                errs.append(f"{op} by worker {w}: exit 3 without a message")
        else:
            errs.append(f"{op} by worker {w}: exit {rc} (want 0 or 3): {err[:300]}")
# Nothing but the calls we made: create + successful updates + successful approves.
if len(hist) != 1 + ok_upd + ok_apr:
    errs.append(f"history has {len(hist)} events, calls succeeded: 1 + {ok_upd} + {ok_apr}")
if ok_upd < 1:
    errs.append("no update succeeded")
# An approve acts on the version current before it, and follows a draft.
cur, status = 0, "draft"
for e in hist:
    if e["event"] in ("create", "update"):
        cur, status = e["version"], "draft"
    elif e["event"] == "approve":
        if status != "draft":
            errs.append(f"approve at seq {e['seq']} follows status {status}")
        if e["version"] != cur:
            errs.append(f"approve at seq {e['seq']} names v{e['version']}, current was v{cur}")
        status = "approved"
rows = [json.loads(l) for l in open(f"{t}/list.jsonl") if l.strip()]
mine = [r for r in rows if r["record_id"] == rid]
if len(mine) != 1 or mine[0]["version"] != len(vers) or mine[0]["status"] != h["status"] or mine[0]["log_seq"] != len(hist):
    errs.append(f"index lists {mine}, the log says v{len(vers)} {h['status']} seq {len(hist)}")
open(f"{t}/summary", "w").write(
    (f"v1..v{len(vers)}, {ok_upd} updates + {ok_apr} approves won, {conf} refused with exit 3, {len(hist)} events"
     if not errs else "; ".join(errs[:8])))
sys.exit(1 if errs else 0)
EOF
  expect_exit 0 "$label: strata repo verify $id" "$STRATA" repo verify borelog race "$id" --store "$store"
  if [ "$has_record_verify" = 1 ]; then
    expect_exit 0 "$label: strata record verify $id" "$STRATA" record verify "$id" --store "$store" \
      --root records/borelog/race
  else
    bad "$label: strata record verify is missing from the CLI"
  fi
}

echo "== file:// ($N processes, $ROUNDS rounds)"
fstore="file://$t/store"
for ((r = 1; r <= ROUNDS; r++)); do race_round "$fstore" "file" "bl-race-$r"; done

echo "== S3 on radosgw ($N processes, $ROUNDS rounds)"
start_radosgw
s3store=$(s3_url "race-$(date +%s)-$$")
for ((r = 1; r <= ROUNDS; r++)); do race_round "$s3store" "s3" "bl-race-$r"; done

finish
