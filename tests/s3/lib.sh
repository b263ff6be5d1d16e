# Helpers shared by the S3 script tests (sourced, not run by ctest).
# Provides: fail/ok/check bookkeeping, cleanup on any exit, a radosgw started for the
# test and stopped by PID, the independent AWS CLI bound to it, and exit-code checks.
set -uo pipefail

S3T_SOURCE_DIR=${STRATA_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
S3T_AWS=/usr/bin/aws
s3t_tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-s3test.XXXXXX")
s3t_fails=0
s3t_cleanups=()

# Credentials come only from the environment: a developer's ~/.aws must not leak in.
: >"$s3t_tmp/aws-empty"
export AWS_CONFIG_FILE=$s3t_tmp/aws-empty AWS_SHARED_CREDENTIALS_FILE=$s3t_tmp/aws-empty AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY 2>/dev/null || true

on_exit() { s3t_cleanups+=("$1"); }
s3t_run_cleanups() {
  local i
  for ((i = ${#s3t_cleanups[@]} - 1; i >= 0; i--)); do eval "${s3t_cleanups[$i]}" || true; done
  rm -rf "$s3t_tmp"
}
trap s3t_run_cleanups EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM HUP

# Fatal: the test cannot go on (a server did not start, a tool is missing).
die() {
  echo "FAIL (fatal): $*" >&2
  exit 1
}
ok() { echo "ok   $*"; }
bad() {
  echo "FAIL $*"
  s3t_fails=$((s3t_fails + 1))
}
# check <description> <command...>: the command must succeed.
check() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
# expect_exit <code> <description> <command...>: runs the command with stdout in
# $s3t_tmp/out and stderr in $s3t_tmp/err; the exit code must be <code>, and a
# failing command must say why on stderr.
expect_exit() {
  local want=$1 what=$2 got
  shift 2
  "$@" >"$s3t_tmp/out" 2>"$s3t_tmp/err"
  got=$?
  if [ "$got" -eq "$want" ] && { [ "$want" -eq 0 ] || [ -s "$s3t_tmp/err" ]; }; then
    ok "$what (exit $got)"
    return 0
  fi
  bad "$what: exit $got, want $want; stderr: $(head -c 600 "$s3t_tmp/err")"
  return 1
}
# Prints the result and returns the test's exit status.
finish() {
  if [ "$s3t_fails" -gt 0 ]; then
    echo "$s3t_fails check(s) failed"
    exit 1
  fi
  echo "all checks passed"
  exit 0
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
# same_file <description> <a> <b>: identical SHA-256.
same_file() {
  local a b
  a=$(sha "$2" 2>/dev/null || echo missing-a)
  b=$(sha "$3" 2>/dev/null || echo missing-b)
  if [ "$a" = "$b" ]; then ok "$1 (sha256 ${a:0:16}…)"; else bad "$1: sha256 $a != $b"; fi
}

need_strata() {
  [ -n "${STRATA:-}" ] && [ -x "$STRATA" ] || die "STRATA must name the strata CLI binary (got '${STRATA:-}')"
}

# Starts a private radosgw (scripts/radosgw.sh) and exports its environment. It is
# stopped by PID when the test exits, and by the script's watchdog if this shell dies
# without running its traps. Failing to start fails the test loudly, in CI or not:
# scripts/setup.sh installs the packages, so a missing server is a broken setup.
start_radosgw() {
  local dir=$s3t_tmp/rgw t0 t1
  t0=$(date +%s)
  on_exit "bash '$S3T_SOURCE_DIR/scripts/radosgw.sh' stop '$dir'"
  if ! STRATA_RADOSGW_OWNER=$$ bash "$S3T_SOURCE_DIR/scripts/radosgw.sh" start "$dir"; then
    die "radosgw did not start (CI=${CI:-unset}); see the log tail above. Install with scripts/setup.sh."
  fi
  t1=$(date +%s)
  set -a
  # shellcheck disable=SC1091
  . "$dir/env"
  set +a
  echo "radosgw up in $((t1 - t0)) s at $STRATA_S3_ENDPOINT"
}

# The AWS CLI against the private radosgw (or $1 when given as --endpoint-url URL first).
aws_s3() {
  "$S3T_AWS" --endpoint-url "$STRATA_S3_ENDPOINT" "$@"
}

# A store URL for prefix $1 in the test bucket on endpoint $2 (default: radosgw).
s3_url() {
  local prefix=$1 endpoint=${2:-$STRATA_S3_ENDPOINT}
  echo "s3://$STRATA_S3_BUCKET/$prefix?endpoint=$endpoint&region=us-east-1&path_style=1"
}
# The URL of one object: s3_obj_url <prefix> <key> [endpoint].
s3_obj_url() {
  local prefix=$1 key=$2 endpoint=${3:-$STRATA_S3_ENDPOINT}
  echo "s3://$STRATA_S3_BUCKET/$prefix/$key?endpoint=$endpoint&region=us-east-1&path_style=1"
}

# Random bytes: rand_file <path> <bytes>.
rand_file() {
  head -c "$2" /dev/urandom >"$1"
}
