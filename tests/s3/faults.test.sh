#!/usr/bin/env bash
# Fault tests: strata's S3 backend through tests/s3/faultproxy.mjs, which answers a
# fraction of requests with 503 (before or after the server applied them), resets
# connections before the request and mid-body, and delays answers. Every operation
# must complete correctly (content verified) or fail with a clear error, and nothing
# partial may become visible: afterwards the bucket, listed directly on radosgw with
# the AWS CLI, holds exactly the objects that were reported written, byte for byte,
# and no multipart upload is left open.
# Env: STRATA_FAULT_RATE (default 0.2), STRATA_FAULT_SEED (default 20240601).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_strata
contract=${STRATA_BINARY_DIR:?}/tests/test_store_contract
[ -x "$contract" ] || die "contract suite not built: $contract"
command -v node >/dev/null || die "node not found (run scripts/setup.sh)"
rate=${STRATA_FAULT_RATE:-0.2}
seed=${STRATA_FAULT_SEED:-20240601}

start_radosgw
t=$s3t_tmp
run=faults-$(date +%s)-$$

node "$S3T_SOURCE_DIR/tests/s3/faultproxy.mjs" --target "$STRATA_S3_ENDPOINT" --faults "$rate" \
  --seed "$seed" --delay-ms 50-500 --port-file "$t/proxy.port" --log "$t/proxy.log" \
  </dev/null >"$t/proxy.out" 2>&1 &
proxy_pid=$!
on_exit "kill $proxy_pid 2>/dev/null; wait $proxy_pid 2>/dev/null"
for ((i = 0; i < 100; i++)); do
  [ -s "$t/proxy.port" ] && break
  kill -0 "$proxy_pid" 2>/dev/null || break
  sleep 0.1
done
[ -s "$t/proxy.port" ] || die "faultproxy did not start: $(cat "$t/proxy.out")"
proxy=http://127.0.0.1:$(cat "$t/proxy.port")
cat "$t/proxy.out"

# Failures are allowed only as clear errors; each is counted and shown.
op_ok=0
op_failed=0
# run_op <description> <command...>: 0 if the command succeeded; otherwise it must
# have exited non-zero with a message on stderr (an unclear failure is a bug).
run_op() {
  local what=$1 rc
  shift
  "$@" >"$t/op.out" 2>"$t/op.err"
  rc=$?
  if [ $rc -eq 0 ]; then
    op_ok=$((op_ok + 1))
    return 0
  fi
  op_failed=$((op_failed + 1))
  if [ -s "$t/op.err" ]; then
    echo "note: $what failed clearly (exit $rc): $(head -c 300 "$t/op.err")"
  else
    bad "$what failed (exit $rc) without a message"
  fi
  return $rc
}

echo "== contract suite through the proxy ($rate faults)"
if STRATA_TEST_STORE_URL=$(s3_url "$run/contract" "$proxy") "$contract" >"$t/contract.log" 2>&1; then
  ok "contract suite through faults ($(grep -c '\[       OK \]' "$t/contract.log") tests)"
else
  tail -n 60 "$t/contract.log"
  bad "contract suite through faults"
fi

echo "== puts, gets, ranges, lists, multipart and conditional puts through the proxy"
mkdir -p "$t/src" "$t/back"
declare -A written=() # key -> local file holding the bytes strata reported written
for i in $(seq 1 40); do
  rand_file "$t/src/s$i" $(((RANDOM * 7 + i) % 65536))
  if run_op "put s$i" "$STRATA" store put "$t/src/s$i" "$(s3_obj_url "$run/data" "small/s$i" "$proxy")"; then
    written[small/s$i]=$t/src/s$i
  fi
done
for i in 1 2 3; do
  rand_file "$t/src/m$i" $((18 * 1024 * 1024 + i * 1000))
  if run_op "multipart put m$i" "$STRATA" store put "$t/src/m$i" "$(s3_obj_url "$run/data" "big/m$i" "$proxy")"; then
    written[big/m$i]=$t/src/m$i
  fi
done
# Conditional creates on fresh keys: nobody else writes them, so a conflict would be
# a retried put that had already won being misreported.
for i in $(seq 1 15); do
  rand_file "$t/src/c$i" $((100 + i))
  if run_op "put --if-absent c$i" "$STRATA" store put --if-absent "$t/src/c$i" \
    "$(s3_obj_url "$run/data" "cond/c$i" "$proxy")"; then
    written[cond/c$i]=$t/src/c$i
  elif grep -qi conflict "$t/op.err"; then
    bad "put --if-absent c$i on a fresh key reported a conflict (a retried put that won?)"
  fi
done
for i in $(seq 1 15); do
  [ -n "${written[cond/c$i]:-}" ] || continue
  "$STRATA" store put --if-absent "$t/src/s1" "$(s3_obj_url "$run/data" "cond/c$i" "$proxy")" >/dev/null 2>"$t/op.err"
  rc=$?
  if [ $rc -eq 3 ]; then
    op_ok=$((op_ok + 1))
  elif [ $rc -eq 0 ]; then
    bad "second put --if-absent on cond/c$i succeeded"
  else
    run_op "second put --if-absent c$i" false
  fi
done

for k in "${!written[@]}"; do
  if run_op "get $k" "$STRATA" store get "$(s3_obj_url "$run/data" "$k" "$proxy")" -o "$t/back/x"; then
    cmp -s "$t/back/x" "${written[$k]}" || bad "get $k through faults returned different bytes"
  fi
done
big=${written[big/m1]:-}
if [ -n "$big" ]; then
  size=$(stat -c %s "$big")
  for r in 1 2 3 4 5 6 7 8 9 10; do
    a=$(((RANDOM * 32768 + RANDOM) % size))
    b=$((a + (RANDOM * 97) % (size - a)))
    if run_op "range $a-$b" "$STRATA" store get "$(s3_obj_url "$run/data" big/m1 "$proxy")" --range "$a-$b" -o "$t/back/r"; then
      tail -c +$((a + 1)) "$big" | head -c $((b - a + 1)) >"$t/back/r.want"
      cmp -s "$t/back/r" "$t/back/r.want" || bad "range $a-$b through faults returned different bytes"
    fi
  done
fi
if run_op "ls --recursive" "$STRATA" store ls "$(s3_url "$run/data" "$proxy")" --recursive; then
  for k in "${!written[@]}"; do
    grep -q -- "$k" "$t/op.out" || bad "ls through faults misses $k"
  done
  n=$(grep -c -E '(small|big|cond)/' "$t/op.out")
  [ "$n" -eq "${#written[@]}" ] || bad "ls through faults lists $n objects, ${#written[@]} were written"
fi
# Deletes: removed keys must be gone, the rest intact.
for i in $(seq 1 10); do
  [ -n "${written[small/s$i]:-}" ] || continue
  if run_op "rm s$i" "$STRATA" store rm "$(s3_obj_url "$run/data" "small/s$i" "$proxy")"; then
    unset "written[small/s$i]"
  fi
done

echo "== what the proxy did"
kill -TERM "$proxy_pid" 2>/dev/null
wait "$proxy_pid" 2>/dev/null
grep 'faultproxy stats' "$t/proxy.out" || bad "faultproxy printed no stats"
stats=$(sed -n 's/^faultproxy stats //p' "$t/proxy.out")
for kind in 503 503-after reset-early reset-body delay; do
  n=$(node -e 'const s = JSON.parse(process.argv[1]); console.log(s[process.argv[2]] || 0)' "$stats" "$kind")
  [ "$n" -gt 0 ] && ok "faults injected: $kind x$n" || bad "no '$kind' fault was injected: the run proves nothing about it"
done

echo "== without retries: failures must be clear and leave nothing partial"
# retries=0 and probe=0 (the probe's own requests would fail first): every injected fault
# now reaches the caller. A failed put may still have landed whole (the answer was lost);
# it must never land in part, and a failed get must not leave a partial -o file.
node "$S3T_SOURCE_DIR/tests/s3/faultproxy.mjs" --target "$STRATA_S3_ENDPOINT" --p503 0.25 --preset-body 0.15 \
  --preset-early 0.1 --seed "$((seed + 1))" --port-file "$t/harsh.port" </dev/null >"$t/harsh.out" 2>&1 &
harsh_pid=$!
on_exit "kill $harsh_pid 2>/dev/null; wait $harsh_pid 2>/dev/null"
for ((i = 0; i < 100; i++)); do
  [ -s "$t/harsh.port" ] && break
  sleep 0.1
done
[ -s "$t/harsh.port" ] || die "second faultproxy did not start: $(cat "$t/harsh.out")"
harsh=http://127.0.0.1:$(cat "$t/harsh.port")
harsh_url() { echo "$(s3_obj_url "$run/harsh" "$1" "$harsh")&retries=0&probe=0"; }
declare -A maybe=() # key -> bytes a failed or successful put may have stored
h_ok=0
h_failed=0
for i in $(seq 1 12); do
  f=$t/src/s$i
  [ "$i" -gt 9 ] && f=$t/src/m$((i - 9))
  [ -f "$f" ] || continue
  "$STRATA" store put "$f" "$(harsh_url "h$i")" >/dev/null 2>"$t/op.err"
  rc=$?
  maybe[h$i]=$f
  if [ $rc -eq 0 ]; then
    h_ok=$((h_ok + 1))
  elif [ $rc -eq 5 ] && grep -Eqi '503|SlowDown|ServiceUnavailable|reset|connection|recv|send|transfer|partial' "$t/op.err"; then
    h_failed=$((h_failed + 1))
  else
    bad "put h$i without retries: exit $rc, unclear message: $(head -c 300 "$t/op.err")"
  fi
done
for k in "${!written[@]}"; do
  [[ $k == big/* ]] || continue
  for r in 1 2 3; do
    rm -f "$t/back/h"
    "$STRATA" store get "$(s3_obj_url "$run/data" "$k" "$harsh")&retries=0&probe=0" -o "$t/back/h" >/dev/null 2>"$t/op.err"
    rc=$?
    if [ $rc -eq 0 ]; then
      h_ok=$((h_ok + 1))
      cmp -s "$t/back/h" "${written[$k]}" || bad "get $k without retries exited 0 with different bytes"
    elif [ $rc -eq 5 ] && [ -s "$t/op.err" ]; then
      h_failed=$((h_failed + 1))
      [ -e "$t/back/h" ] && bad "failed get $k left a partial -o file ($(stat -c %s "$t/back/h") bytes)"
    else
      bad "get $k without retries: exit $rc, unclear message: $(head -c 300 "$t/op.err")"
    fi
  done
done
echo "without retries: $h_ok succeeded, $h_failed failed clearly; e.g. $(head -c 200 "$t/op.err")"
[ "$h_failed" -gt 0 ] && ok "failures without retries happened and were clear" ||
  bad "no operation failed without retries: the harsh phase proves nothing"
kill -TERM "$harsh_pid" 2>/dev/null
wait "$harsh_pid" 2>/dev/null

echo "== nothing partial is visible (AWS CLI straight to radosgw)"
aws_s3 s3 cp --only-show-errors --recursive "s3://$STRATA_S3_BUCKET/$run/harsh/" "$t/harsh-final/" ||
  bad "aws s3 cp --recursive of the harsh prefix"
n_landed=0
for k in $(cd "$t/harsh-final" 2>/dev/null && find . -type f | sed 's|^\./||'); do
  if [ -z "${maybe[$k]:-}" ]; then
    bad "unexpected object $run/harsh/$k"
  elif cmp -s "$t/harsh-final/$k" "${maybe[$k]}"; then
    n_landed=$((n_landed + 1))
  else
    bad "$run/harsh/$k is not what was put: a partial or mixed object is visible"
  fi
done
ok "without retries: $n_landed of ${#maybe[@]} puts landed, each one whole"
aws_s3 s3 cp --only-show-errors --recursive "s3://$STRATA_S3_BUCKET/$run/data/" "$t/final/" ||
  bad "aws s3 cp --recursive of the final state"
actual=$(cd "$t/final" 2>/dev/null && find . -type f | sed 's|^\./||' | sort)
expected=$(printf '%s\n' "${!written[@]}" | sort)
if [ "$actual" = "$expected" ]; then
  ok "the bucket holds exactly the ${#written[@]} objects reported written"
else
  bad "bucket contents differ from what was reported written: $(diff <(echo "$expected") <(echo "$actual") | head -20)"
fi
for k in "${!written[@]}"; do
  cmp -s "$t/final/$k" "${written[$k]}" || bad "$k on radosgw differs from what strata wrote"
done
# The whole bucket: the contract suite removes what it wrote, the capability probe its
# probe objects; anything else is debris a failure left behind.
others=$(aws_s3 s3api list-objects-v2 --bucket "$STRATA_S3_BUCKET" --query 'Contents[].Key' --output text 2>&1 |
  tr '\t' '\n' | grep -v -e "^$run/data/" -e "^$run/harsh/" -e '^None$' || true)
if [ -z "$others" ]; then
  ok "no other object in the bucket"
else
  bad "objects left outside the written set: $(echo "$others" | head -10)"
fi
uploads=$(aws_s3 s3api list-multipart-uploads --bucket "$STRATA_S3_BUCKET" --query 'Uploads[].[Key,UploadId]' \
  --output text 2>&1)
# Without retries an abort can fail as well; such uploads are invisible to readers and
# are reported, not failed. With retries, none may be left.
harsh_uploads=$(grep "^$run/harsh/" <<<"$uploads" || true)
uploads=$(grep -v -e "^$run/harsh/" -e '^None$' <<<"$uploads" || true)
[ -n "$harsh_uploads" ] && echo "note: uploads left by failed aborts without retries: $(wc -l <<<"$harsh_uploads")"
if [ -z "$uploads" ]; then ok "no multipart upload left open"; else bad "open multipart uploads: $uploads"; fi

echo "operations: $op_ok succeeded, $op_failed failed with a clear error"
total=$((op_ok + op_failed))
# Retries should carry nearly everything through; many failures mean they do not.
[ $((op_failed * 20)) -le "$total" ] && ok "at least 95% of operations succeeded" ||
  bad "$op_failed of $total operations failed: retries are not doing their job"

finish
