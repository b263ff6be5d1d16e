#!/usr/bin/env bash
# Record benchmark driver (bench/record.c):
#   file:// on a real disk (every put fsyncs): create / update / approve throughput of the
#   record layer and of the repository (one writer, and BENCH_THREADS writers on their own
#   records), with store requests per operation;
#   S3 on a private radosgw (started and stopped here): the same, fewer operations, for the
#   request counts per operation and the rates over the network;
#   list_by_project with BENCH_LIST_RECORDS (100,000) records in one project on file://:
#   the first listing (index markers), a compaction, then the median of 5 (target < 100 ms).
# Targets: >= 1,000 versioned updates per second on local disk; list under 100 ms.
#
#   bench/record.sh [BUILD_DIR]     (default: build; needs bench/bench_record built)
# Env: BENCH_OPS (1000), BENCH_S3_OPS (200), BENCH_THREADS (8), BENCH_LIST_RECORDS (100000),
#      BENCH_DISK (where the file:// store lives; default $TMPDIR or /tmp), BENCH_S3=0 skips S3.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
bench=$build/bench/bench_record
[ -x "$bench" ] || {
  echo "bench/record.sh: $bench not found: cmake --build $build --target bench_record" >&2
  exit 1
}
ops=${BENCH_OPS:-1000}
s3ops=${BENCH_S3_OPS:-200}
threads=${BENCH_THREADS:-8}
nlist=${BENCH_LIST_RECORDS:-100000}
disk=$(mktemp -d "${BENCH_DISK:-${TMPDIR:-/tmp}}/strata-bench-record.XXXXXX")
rgw=$disk/rgw
cleanup() {
  bash "$root/scripts/radosgw.sh" stop "$rgw" >/dev/null 2>&1 || true
  rm -rf "$disk"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

echo "== file:// on $(df -T "$disk" | awk 'NR==2 {print $2" "$1}'): $ops operations each, $threads writers"
"$bench" "file://$disk/changes" --ops "$ops" --threads "$threads"

echo "== list_by_project: $nlist records in one project (file://, populated by $threads threads)"
"$bench" "file://$disk/list" --ops 0 --list-records "$nlist" --threads "$threads"

if [ "${BENCH_S3:-1}" != 0 ]; then
  echo "== S3 on radosgw: $s3ops operations each"
  STRATA_RADOSGW_OWNER=$$ bash "$root/scripts/radosgw.sh" start "$rgw" >/dev/null
  set -a
  . "$rgw/env"
  set +a
  "$bench" "s3://$STRATA_S3_BUCKET/bench-record?endpoint=$STRATA_S3_ENDPOINT&region=us-east-1&path_style=1" \
    --ops "$s3ops" --threads "$threads"
fi
