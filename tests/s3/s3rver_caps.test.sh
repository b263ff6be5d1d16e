#!/usr/bin/env bash
# Capability detection: s3rver (npm) speaks S3 but ignores If-None-Match / If-Match and
# overwrites. strata must find that out when it opens the store, keep plain puts and
# reads working, and refuse what needs atomic commits with a clear ST_EUNSUPPORTED
# instead of silently racing. (radosgw, which enforces both, reports yes/yes in
# s3.test.sh.) s3rver runs on 127.0.0.1, a port the kernel picks, and is stopped by PID.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_strata
peers=$S3T_SOURCE_DIR/tests/peers
s3rver_js=$peers/node_modules/s3rver/bin/s3rver.js
[ -f "$s3rver_js" ] || die "s3rver is not installed in $peers (run scripts/setup.sh)"
command -v node >/dev/null || die "node not found (run scripts/setup.sh)"

mkdir -p "$s3t_tmp/s3rver"
# --openssl-legacy-provider: s3rver's ListObjectsV2 paging hashes with MD4 (TEST-PEERS.md).
node --openssl-legacy-provider "$s3rver_js" -d "$s3t_tmp/s3rver" -a 127.0.0.1 -p 0 \
  --configure-bucket strata-test --no-vhost-buckets </dev/null >"$s3t_tmp/s3rver.log" 2>&1 &
s3rver_pid=$!
on_exit "kill $s3rver_pid 2>/dev/null; wait $s3rver_pid 2>/dev/null"
port=
for ((i = 0; i < 100; i++)); do
  port=$(sed -n 's/.*S3rver listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$s3t_tmp/s3rver.log" | head -n 1)
  [ -n "$port" ] && break
  kill -0 "$s3rver_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || die "s3rver did not start: $(tail -n 20 "$s3t_tmp/s3rver.log")"
echo "s3rver (pid $s3rver_pid) on 127.0.0.1:$port"

export STRATA_S3_ENDPOINT=http://127.0.0.1:$port STRATA_S3_BUCKET=strata-test
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
t=$s3t_tmp
run=caps-$$

echo "== s3rver really ignores conditional puts (so a 'no' below is the truth)"
rand_file "$t/a.bin" 300
rand_file "$t/b.bin" 400
aws_s3 s3api put-object --bucket strata-test --key "$run/peer.bin" --body "$t/a.bin" >/dev/null || die "aws put on s3rver"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'If-None-Match: *' --data-binary "@$t/b.bin" \
  "$STRATA_S3_ENDPOINT/strata-test/$run/peer.bin")
aws_s3 s3api get-object --bucket strata-test --key "$run/peer.bin" "$t/peer.now" >/dev/null
if [ "$code" = 200 ] && cmp -s "$t/peer.now" "$t/b.bin"; then
  ok "If-None-Match: * on an existing key: 200 and overwritten"
else
  bad "s3rver honoured If-None-Match (HTTP $code): this test's premise changed"
fi

echo "== plain operations work"
url=$(s3_obj_url "$run" plain.bin)
expect_exit 0 "strata store put on s3rver" "$STRATA" store put "$t/a.bin" "$url"
aws_s3 s3api get-object --bucket strata-test --key "$run/plain.bin" "$t/plain.aws" >/dev/null || bad "aws get of plain.bin"
same_file "aws reads what strata put on s3rver" "$t/a.bin" "$t/plain.aws"
expect_exit 0 "strata store stat on s3rver" "$STRATA" store stat "$url"
grep -q 300 "$t/out" && ok "stat shows size 300" || bad "stat output: $(cat "$t/out")"
expect_exit 0 "strata store get on s3rver" "$STRATA" store get "$url" -o "$t/plain.strata"
same_file "strata reads it back" "$t/a.bin" "$t/plain.strata"

echo "== capabilities probed on open"
expect_exit 0 "strata store caps on s3rver" "$STRATA" store caps "$(s3_url "$run")"
cat "$t/out"
grep -q 'put_if_absent: no' "$t/out" && ok "put_if_absent: no" || bad "expected put_if_absent: no, got: $(cat "$t/out")"
grep -q 'put_if_match: no' "$t/out" && ok "put_if_match: no" || bad "expected put_if_match: no, got: $(cat "$t/out")"
if expect_exit 5 "caps --require (a layer needing atomic commits) is refused (ST_EUNSUPPORTED)" \
  "$STRATA" store caps "$(s3_url "$run")" --require; then
  grep -Eqi 'atomic|conditional' "$t/err" && ok "message: $(head -c 300 "$t/err")" || bad "unclear message: $(cat "$t/err")"
fi

echo "== atomic create is refused, not faked"
new=$(s3_obj_url "$run" created-once.bin)
if expect_exit 5 "put --if-absent on s3rver exits 5 (ST_EUNSUPPORTED)" "$STRATA" store put --if-absent "$t/a.bin" "$new"; then
  grep -Eqi 'atomic|put-if-absent|conditional' "$t/err" && ok "message: $(head -c 300 "$t/err")" ||
    bad "message does not say the store cannot do atomic create: $(cat "$t/err")"
fi
if aws_s3 s3api head-object --bucket strata-test --key "$run/created-once.bin" >/dev/null 2>&1; then
  bad "the refused put --if-absent still wrote the object"
else
  ok "the refused put --if-absent wrote nothing"
fi
expect_exit 5 "put --if-absent on an existing key is refused the same way (never a silent overwrite)" \
  "$STRATA" store put --if-absent "$t/b.bin" "$url"
aws_s3 s3api get-object --bucket strata-test --key "$run/plain.bin" "$t/plain.after" >/dev/null
same_file "the existing object is unchanged" "$t/a.bin" "$t/plain.after"

finish
