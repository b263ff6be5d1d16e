#!/usr/bin/env bash
# Dataset writes on a real, strict S3 server (Ceph radosgw, started here and
# stopped by PID): the writer's unit tests with STRATA_TEST_STORE_URL pointing
# at radosgw (naming, hostile partitions, explicit names and ST_EEXIST,
# failures and aborts leaving the bucket as it was, eviction beyond the open
# file bound, the dataset schema file), then `strata write` with partitions
# read back by the AWS CLI and by `strata read`, and a failed write leaving no
# object and no pending multipart upload behind.
# Needs STRATA and STRATA_BINARY_DIR (tests/test_dataset_write).
. "${STRATA_SOURCE_DIR:-$(dirname "${BASH_SOURCE[0]}")/../..}/tests/s3/lib.sh"
need_strata
unit=${STRATA_BINARY_DIR:?}/tests/test_dataset_write
[ -x "$unit" ] || die "unit tests not built: $unit"

start_radosgw
run=dswrite-$(date +%s)-$$
t=$s3t_tmp

echo "== writer unit tests on $(s3_url "$run/unit")"
if STRATA_TEST_STORE_URL=$(s3_url "$run/unit") "$unit" >"$t/unit.log" 2>&1; then
  ok "test_dataset_write on radosgw ($(grep -c '\[       OK \]' "$t/unit.log") tests)"
else
  cat "$t/unit.log"
  bad "test_dataset_write on radosgw"
fi

echo "== strata write to s3://"
cat >"$t/s.json" <<'EOF'
{"name": "samples", "primary_key": ["id"], "fields": [
  {"name": "id", "type": "int64", "nullable": false},
  {"name": "project", "type": "string"},
  {"name": "depth_m", "type": "decimal(8,3)", "min": 0}]}
EOF
{ echo "id,project,depth_m"
  for i in $(seq 1 3000); do echo "$i,p$((i % 7)) x/y,$((i % 50)).5"; done; } >"$t/good.csv"
url=$(s3_url "$run/cli/ds")
expect_exit 0 "partitioned write" "$STRATA" write "$url" --schema "$t/s.json" --from "$t/good.csv" --partition project --verbose
grep -q "^wrote 3000 rows in 7 files" "$s3t_tmp/out" || bad "summary: $(cat "$s3t_tmp/out")"
aws_s3 s3 ls --recursive "s3://$STRATA_S3_BUCKET/$run/cli/ds/" >"$t/ls" 2>&1 || bad "aws s3 ls: $(cat "$t/ls")"
check "7 files in escaped partition directories" test "$(grep -c 'ds/project=p[0-6] x%2Fy/samples_[0-9]\{8\}_[0-9]\{6\}_[0-9a-f]\{8\}\.parquet$' "$t/ls")" -eq 7
check "the dataset schema file" grep -q "ds/_strata_schema.json$" "$t/ls"
if "$STRATA" read "$url" --format jsonl --where "project = 'p3 x/y'" >"$t/read" 2>"$t/err"; then
  check "strata read back one partition" test "$(wc -l <"$t/read")" -eq 429
else
  bad "strata read: $(head -c 300 "$t/err")"
fi
cp "$t/ls" "$t/ls.before"

# A bad row after the first batch: files were started (multipart uploads may be
# under way) and must leave nothing.
{ cat "$t/good.csv"; for i in $(seq 3001 70000); do echo "$i,p$((i % 7)) x/y,1"; done
  echo "70001,p1 x/y,-1"; } >"$t/bad.csv"
expect_exit 4 "a bad row after 70000 good ones" "$STRATA" write "$url" --schema "$t/s.json" --from "$t/bad.csv" --partition project
grep -q "below the minimum" "$s3t_tmp/err" || bad "report: $(head -c 300 "$s3t_tmp/err")"
aws_s3 s3 ls --recursive "s3://$STRATA_S3_BUCKET/$run/cli/ds/" >"$t/ls.after" 2>&1
check "the dataset is as before" cmp -s "$t/ls.before" "$t/ls.after"
aws_s3 s3api list-multipart-uploads --bucket "$STRATA_S3_BUCKET" --prefix "$run/" >"$t/mpu" 2>&1 ||
  bad "list-multipart-uploads: $(cat "$t/mpu")"
check "no multipart upload left pending" sh -c "! grep -q UploadId '$t/mpu'"

finish
