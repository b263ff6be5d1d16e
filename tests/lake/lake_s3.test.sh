#!/usr/bin/env bash
# The lake on a real, strict S3 server (Ceph radosgw, started here and stopped
# by PID): the unit suite (tests/test_lake) with STRATA_TEST_STORE_URL on
# radosgw, then every CLI command and error with two processes following each
# other through the journal in the bucket, and the layout seen by the AWS CLI.
# Fails loudly if radosgw cannot start. Needs STRATA and STRATA_BINARY_DIR.
. "${STRATA_SOURCE_DIR:-$(dirname "${BASH_SOURCE[0]}")/../..}/tests/s3/lib.sh"
. "$S3T_SOURCE_DIR/tests/lake/cli_checks.sh"
need_strata
unit=${STRATA_BINARY_DIR:?}/tests/test_lake
[ -x "$unit" ] || die "unit tests not built: $unit"

start_radosgw
run=lake-$(date +%s)-$$
t=$s3t_tmp

echo "== lake unit tests on $(s3_url "$run/unit")"
if STRATA_TEST_STORE_URL=$(s3_url "$run/unit") "$unit" >"$t/unit.log" 2>&1; then
  ok "test_lake on radosgw ($(grep -c '\[       OK \]' "$t/unit.log") tests)"
else
  cat "$t/unit.log"
  bad "test_lake on radosgw"
fi

lake_cli_checks "$(s3_url "$run/cli")" "$t/w"

echo "== the layout as the AWS CLI sees it"
aws_s3 s3 ls --recursive "s3://$STRATA_S3_BUCKET/$run/cli/lake/" >"$t/ls" 2>&1 || bad "aws s3 ls: $(cat "$t/ls")"
check "content at lake/<type>/<subpath>/<name>" grep -q "$run/cli/lake/configuration/svc/api/config.yaml$" "$t/ls"
check "entries at lake/.metadata/<id>.json" grep -qE "$run/cli/lake/\.metadata/[0-9a-f-]{36}\.json$" "$t/ls"
check "journal records" grep -q "$run/cli/lake/.journal/0000000000000001.json$" "$t/ls"
aws_s3 s3 cp "s3://$STRATA_S3_BUCKET/$run/cli/lake/configuration/svc/api/config.yaml" "$t/cfg.aws" >/dev/null 2>&1
same_file "content read back by the AWS CLI" "$t/w/cfg.yaml" "$t/cfg.aws"
aws_s3 s3api head-object --bucket "$STRATA_S3_BUCKET" --key "$run/cli/lake/configuration/svc/api/config.yaml" >"$t/head" 2>&1
check "the content object names its entry (x-amz-meta-lake-id)" grep -q '"lake-id"' "$t/head"
finish
