#!/usr/bin/env bash
# strata's S3 backend against a real, strict S3 server (Ceph radosgw, started here on
# 127.0.0.1 and stopped by PID on exit), cross-checked with an independent client, the
# AWS CLI: (a) the store contract suite, (b) objects each side writes (small and
# multipart) read back intact by the other, listings and a Parquet round trip,
# (c) a wrong secret refused with ST_EAUTH, (d) conditional create.
# Needs STRATA (CLI) and STRATA_BINARY_DIR (tests/test_store_contract).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_strata
contract=${STRATA_BINARY_DIR:?}/tests/test_store_contract
[ -x "$contract" ] || die "contract suite not built: $contract"

start_radosgw
run=s3test-$(date +%s)-$$
t=$s3t_tmp

echo "== (a) store contract suite on $(s3_url "$run/contract")"
if STRATA_TEST_STORE_URL=$(s3_url "$run/contract") "$contract" >"$t/contract.log" 2>&1; then
  ok "contract suite on radosgw ($(grep -c '\[       OK \]' "$t/contract.log") tests)"
else
  cat "$t/contract.log"
  bad "contract suite on radosgw"
fi

echo "== (b) strata writes, the AWS CLI reads"
rand_file "$t/small.bin" 1000
# Above the 8 MiB part size, not a multiple of it: three parts, the last one short.
rand_file "$t/big.bin" $((20 * 1024 * 1024 + 4321))
: >"$t/empty.bin"
for f in small big empty; do
  expect_exit 0 "strata store put $f.bin" "$STRATA" store put "$t/$f.bin" "$(s3_obj_url "$run/x" "by-strata/$f.bin")"
  aws_s3 s3api get-object --bucket "$STRATA_S3_BUCKET" --key "$run/x/by-strata/$f.bin" "$t/$f.aws" >"$t/$f.head" 2>&1 ||
    bad "aws s3api get-object of $f.bin: $(cat "$t/$f.head")"
  same_file "aws get-object of what strata put ($f.bin)" "$t/$f.bin" "$t/$f.aws"
done
aws_s3 s3 cp --only-show-errors "s3://$STRATA_S3_BUCKET/$run/x/by-strata/big.bin" "$t/big.awscp" ||
  bad "aws s3 cp of big.bin"
same_file "aws s3 cp of what strata put (big.bin)" "$t/big.bin" "$t/big.awscp"
# A multipart object's ETag is "<md5 of part md5s>-<parts>": proves strata used multipart.
etag=$(aws_s3 s3api head-object --bucket "$STRATA_S3_BUCKET" --key "$run/x/by-strata/big.bin" \
  --query ETag --output text 2>&1)
if [[ $etag =~ -[0-9]+\"?$ ]]; then ok "strata uploaded big.bin in parts (ETag $etag)"; else bad "big.bin ETag $etag: not a multipart upload"; fi
if uploads=$(aws_s3 s3api list-multipart-uploads --bucket "$STRATA_S3_BUCKET" --prefix "$run/" \
  --query 'Uploads[].Key' --output text 2>&1) && { [ -z "$uploads" ] || [ "$uploads" = None ]; }; then
  ok "no multipart upload left open"
else
  bad "multipart uploads left open: $uploads"
fi

echo "== (b) the AWS CLI writes, strata reads"
rand_file "$t/awssmall.bin" 777
rand_file "$t/awsbig.bin" $((17 * 1024 * 1024 + 5))
aws_s3 s3api put-object --bucket "$STRATA_S3_BUCKET" --key "$run/x/by-aws/small.bin" --body "$t/awssmall.bin" \
  >/dev/null || bad "aws s3api put-object small"
aws_s3 s3 cp --only-show-errors "$t/awsbig.bin" "s3://$STRATA_S3_BUCKET/$run/x/by-aws/big.bin" ||
  bad "aws s3 cp big (multipart)"
aws_s3 s3 cp --only-show-errors "$t/awssmall.bin" "s3://$STRATA_S3_BUCKET/$run/x/by-aws/sub/dir/deep.bin" ||
  bad "aws s3 cp deep"
for f in small big; do
  expect_exit 0 "strata store get by-aws/$f.bin -o" \
    "$STRATA" store get "$(s3_obj_url "$run/x" "by-aws/$f.bin")" -o "$t/aws$f.strata"
  same_file "strata get of what aws put ($f.bin)" "$t/aws$f.bin" "$t/aws$f.strata"
done
expect_exit 0 "strata store get to stdout" "$STRATA" store get "$(s3_obj_url "$run/x" "by-aws/small.bin")"
same_file "strata get to stdout" "$t/awssmall.bin" "$t/out"
# A range in the middle of the multipart object, crossing the first part boundary.
a=$((8 * 1024 * 1024 - 100))
b=$((8 * 1024 * 1024 + 99))
expect_exit 0 "strata store get --range $a-$b" \
  "$STRATA" store get "$(s3_obj_url "$run/x" "by-aws/big.bin")" --range "$a-$b" -o "$t/range.strata"
aws_s3 s3api get-object --bucket "$STRATA_S3_BUCKET" --key "$run/x/by-aws/big.bin" --range "bytes=$a-$b" \
  "$t/range.aws" >/dev/null || bad "aws get-object --range"
same_file "strata ranged get equals aws ranged get" "$t/range.aws" "$t/range.strata"
[ "$(stat -c %s "$t/range.strata" 2>/dev/null)" = 200 ] && ok "range length 200" || bad "range length is not 200"

expect_exit 0 "strata store stat by-aws/big.bin" "$STRATA" store stat "$(s3_obj_url "$run/x" "by-aws/big.bin")"
grep -q "$((17 * 1024 * 1024 + 5))" "$t/out" && ok "stat shows the size" || bad "stat output lacks the size: $(cat "$t/out")"

expect_exit 0 "strata store ls --recursive" "$STRATA" store ls "$(s3_url "$run/x")" --recursive
cp "$t/out" "$t/ls.strata"
for k in by-aws/small.bin by-aws/big.bin by-aws/sub/dir/deep.bin by-strata/small.bin by-strata/big.bin; do
  grep -q -- "$k" "$t/ls.strata" && ok "ls lists $k" || bad "ls does not list $k: $(cat "$t/ls.strata")"
done
n_strata=$(grep -c 'by-\(aws\|strata\)/' "$t/ls.strata")
n_aws=$(aws_s3 s3api list-objects-v2 --bucket "$STRATA_S3_BUCKET" --prefix "$run/x/" --query 'length(Contents)' --output text)
[ "$n_strata" = "$n_aws" ] && ok "ls lists as many objects as aws ($n_aws)" || bad "ls lists $n_strata objects, aws $n_aws"
expect_exit 0 "strata store ls (one level)" "$STRATA" store ls "$(s3_url "$run/x/by-aws")"
if grep -q 'small.bin' "$t/out" && grep -q 'sub/' "$t/out" && ! grep -q 'deep.bin' "$t/out"; then
  ok "ls without --recursive rolls sub/ up"
else
  bad "ls without --recursive: $(cat "$t/out")"
fi

echo "== (b) Parquet on S3"
ex=$S3T_SOURCE_DIR/examples
pq_url=$(s3_obj_url "$run/pq" boreholes.parquet)
expect_exit 0 "strata parquet write to s3://" \
  "$STRATA" parquet write --schema "$ex/borehole.schema.json" --from "$ex/boreholes.csv" "$pq_url"
expect_exit 0 "strata parquet write to a local file" \
  "$STRATA" parquet write --schema "$ex/borehole.schema.json" --from "$ex/boreholes.csv" "$t/local.parquet"
aws_s3 s3 cp --only-show-errors "s3://$STRATA_S3_BUCKET/$run/pq/boreholes.parquet" "$t/fetched.parquet" ||
  bad "aws s3 cp of the Parquet file"
"$STRATA" parquet cat "$t/local.parquet" --format jsonl >"$t/local.jsonl" 2>"$t/err" || bad "cat local: $(cat "$t/err")"
"$STRATA" parquet cat "$t/fetched.parquet" --format jsonl >"$t/fetched.jsonl" 2>"$t/err" || bad "cat fetched: $(cat "$t/err")"
"$STRATA" parquet cat "$pq_url" --format jsonl >"$t/remote.jsonl" 2>"$t/err" || bad "cat s3://: $(cat "$t/err")"
[ -s "$t/local.jsonl" ] && ok "local Parquet has rows ($(wc -l <"$t/local.jsonl"))" || bad "local Parquet gave no rows"
same_file "Parquet written to S3, fetched by aws, equals the local one's rows" "$t/local.jsonl" "$t/fetched.jsonl"
same_file "strata parquet cat s3:// equals the local rows" "$t/local.jsonl" "$t/remote.jsonl"
"$STRATA" parquet meta "$pq_url" >/dev/null 2>"$t/err" && ok "parquet meta on s3://" || bad "parquet meta s3://: $(cat "$t/err")"

echo "== (c) a wrong secret is refused"
for verb in get stat; do
  AWS_SECRET_ACCESS_KEY=wrong expect_exit 6 "store $verb with a wrong secret exits 6 (ST_EAUTH)" \
    "$STRATA" store "$verb" "$(s3_obj_url "$run/x" "by-aws/small.bin")"
  grep -Eqi '403|signature|denied|forbidden' "$t/err" && ok "message names the refusal: $(head -c 200 "$t/err")" ||
    bad "message does not mention 403/signature: $(cat "$t/err")"
done
# Without the probe on open, the refused request is the GET itself.
AWS_SECRET_ACCESS_KEY=wrong expect_exit 6 "store get with a wrong secret and probe=0 exits 6" \
  "$STRATA" store get "$(s3_obj_url "$run/x" "by-aws/small.bin")&probe=0"
grep -q 'by-aws/small.bin' "$t/err" && grep -Eqi '403|signature' "$t/err" &&
  ok "the GET itself is refused: $(head -c 200 "$t/err")" || bad "probe=0 wrong-secret message: $(cat "$t/err")"
AWS_SECRET_ACCESS_KEY=wrong expect_exit 6 "store put with a wrong secret exits 6" \
  "$STRATA" store put "$t/small.bin" "$(s3_obj_url "$run/x" "by-wrong/small.bin")"
if aws_s3 s3api head-object --bucket "$STRATA_S3_BUCKET" --key "$run/x/by-wrong/small.bin" >/dev/null 2>&1; then
  bad "a put with a wrong secret created the object"
else
  ok "a put with a wrong secret created nothing"
fi

echo "== (d) conditional create"
url=$(s3_obj_url "$run/cond" once.bin)
expect_exit 0 "put --if-absent on a new key" "$STRATA" store put --if-absent "$t/small.bin" "$url"
expect_exit 3 "put --if-absent again loses (ST_ECONFLICT)" "$STRATA" store put --if-absent "$t/awssmall.bin" "$url"
aws_s3 s3api get-object --bucket "$STRATA_S3_BUCKET" --key "$run/cond/once.bin" "$t/once.aws" >/dev/null
same_file "the first writer's bytes stay" "$t/small.bin" "$t/once.aws"
expect_exit 0 "store caps on radosgw" "$STRATA" store caps "$(s3_url "$run/cond")"
grep -q 'put_if_absent: yes' "$t/out" && grep -q 'put_if_match: yes' "$t/out" &&
  ok "radosgw: put_if_absent yes, put_if_match yes" || bad "caps on radosgw: $(cat "$t/out")"

echo "== rm"
expect_exit 0 "strata store rm" "$STRATA" store rm "$(s3_obj_url "$run/x" "by-aws/small.bin")"
aws_s3 s3api head-object --bucket "$STRATA_S3_BUCKET" --key "$run/x/by-aws/small.bin" >/dev/null 2>&1 &&
  bad "object still there after rm" || ok "aws no longer sees the removed object"
expect_exit 2 "strata store rm of a missing object exits 2" "$STRATA" store rm "$(s3_obj_url "$run/x" "by-aws/small.bin")"
expect_exit 2 "strata store get of a missing object exits 2" "$STRATA" store get "$(s3_obj_url "$run/x" "nope.bin")"

finish
