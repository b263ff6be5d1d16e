#!/usr/bin/env bash
# A throwaway one-node Ceph cluster serving S3 on 127.0.0.1, for strata's S3 tests
# and benchmarks (facts in ../shared/TEST-PEERS.md).
#
#   scripts/radosgw.sh start DIR   ceph-mon + one memstore ceph-osd + radosgw (beast),
#                                  all state and logs under DIR, free ports; creates an
#                                  S3 user and the bucket "strata-test"; writes DIR/env
#   scripts/radosgw.sh stop DIR    stops what start recorded, by PID: radosgw, osd, mon
#
# DIR/env is shell-sourceable: STRATA_S3_ENDPOINT, STRATA_S3_BUCKET, STRATA_S3_URL,
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, AWS_REGION and the PIDs.
# With STRATA_RADOSGW_OWNER=PID in the environment, a watchdog stops the cluster once
# that process is gone, so a test killed with SIGKILL does not leave 200 MB+ behind.
# The OSD keeps objects in memory (at most 2 GiB): delete what you no longer need.
set -euo pipefail

usage() {
  echo "usage: $0 start DIR | stop DIR" >&2
  exit 1
}
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

die() {
  echo "radosgw.sh: $*" >&2
  exit 1
}

# Prints the last lines of every log so a failed start explains itself.
show_logs() {
  local f
  for f in "$dir"/log/*; do
    [ -s "$f" ] || continue
    echo "---- tail of $f" >&2
    tail -n 20 "$f" >&2
  done
}

fail_start() {
  echo "radosgw.sh: start failed: $*" >&2
  show_logs
  stop_all || true
  exit 1
}

# True if PID is alive and runs the program named $2 (guards against a reused PID).
is_ours() {
  local pid=$1 prog=$2
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$prog"
}

stop_pid() { # <pid> <program name>
  local pid=$1 prog=$2 i
  is_ours "$pid" "$prog" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 200; i++)); do
    is_ours "$pid" "$prog" || return 0
    # A child of this shell that exited stays a zombie until reaped.
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  echo "radosgw.sh: $prog (pid $pid) ignored SIGTERM for 20 s; sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    is_ours "$pid" "$prog" || return 0
    sleep 0.1
  done
}

stop_all() {
  local f="$dir/pids" WATCHDOG_PID="" RADOSGW_PID="" CEPH_OSD_PID="" CEPH_MON_PID=""
  [ -f "$f" ] || return 0
  # shellcheck disable=SC1090
  . "$f"
  # The watchdog first, so it does not race this stop with its own.
  [ -n "$WATCHDOG_PID" ] && [ "$WATCHDOG_PID" != "${BASHPID:-$$}" ] && stop_pid "$WATCHDOG_PID" radosgw.sh
  stop_pid "$RADOSGW_PID" radosgw
  stop_pid "$CEPH_OSD_PID" ceph-osd
  stop_pid "$CEPH_MON_PID" ceph-mon
  rm -f "$f"
}

# Prints N consecutive TCP ports on 127.0.0.1 that nothing listens on right now.
free_ports() { # <count>
  python3 - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(500):
    base = random.randrange(20000, 60000 - n)
    if all(free(p) for p in range(base, base + n)):
        print(" ".join(str(p) for p in range(base, base + n)))
        sys.exit(0)
sys.exit("no free port range found")
EOF
}

record_pid() { # <NAME> <pid>
  echo "$1=$2" >>"$dir/pids"
}

ceph_cmd() {
  timeout 15 ceph -c "$conf" --connect-timeout 10 "$@"
}

# Retries a mon command: a mon just started may still refuse for a moment.
ceph_retry() {
  local i out
  for ((i = 0; i < 30; i++)); do
    if out=$(ceph_cmd "$@" 2>&1); then
      printf '%s\n' "$out"
      return 0
    fi
    sleep 1
  done
  echo "$out" >&2
  return 1
}

start_once() {
  local ports mon_port rgw_port ms_min ms_max fsid uuid osd_id i code key secret
  rm -rf "$dir/mon" "$dir/osd" "$dir/rgw" "$dir/run" "$dir/log" "$dir/env" "$dir/monmap" "$dir/keyring"
  mkdir -p "$dir/mon" "$dir/osd" "$dir/rgw" "$dir/run" "$dir/log"
  conf="$dir/ceph.conf"

  # mon, radosgw, and a range for the OSD's messengers (public, cluster, heartbeats).
  ports=($(free_ports 14)) || die "could not find free ports"
  mon_port=${ports[0]}
  rgw_port=${ports[1]}
  ms_min=${ports[2]}
  ms_max=${ports[13]}
  fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')

  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr2 = false
ms bind port min = $ms_min
ms bind port max = $ms_max
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
mon osd full ratio = 0.99
mon osd backfillfull ratio = 0.985
mon osd nearfull ratio = 0.98
osd failsafe full ratio = 0.995
mon data avail crit = 1
mon data avail warn = 2
osd crush chooseleaf type = 0
# The OSD is placed in the CRUSH map by this script; its own registration commands on
# start can race its first monmap ('wrong fsid') and abort it.
osd crush update on start = false
osd class update on start = false
osd objectstore = memstore
memstore device bytes = 2147483648
osd max object name len = 2048
osd max object namespace len = 64
run dir = $dir/run
log file = $dir/log/\$name.log
keyring = $dir/keyring
mon data = $dir/mon/\$cluster-\$id
osd data = $dir/osd/\$cluster-\$id

[client.rgw.strata]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw data = $dir/rgw
# Deleted objects' data goes to garbage collection, by default after two hours; the
# in-memory OSD holds 2 GiB, so reclaim it soon (benchmarks also run 'gc process').
rgw gc obj min wait = 1
rgw gc processor period = 10
EOF

  ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null ||
    fail_start "ceph-authtool"
  monmaptool --create --addv a "[v1:127.0.0.1:$mon_port]" --fsid "$fsid" "$dir/monmap" >/dev/null ||
    fail_start "monmaptool"
  ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring" \
    >"$dir/log/mon-mkfs.out" 2>&1 || fail_start "ceph-mon --mkfs"

  ceph-mon -c "$conf" -i a -f </dev/null >"$dir/log/mon.out" 2>&1 &
  record_pid CEPH_MON_PID $!
  local mon_pid=$!
  ceph_retry -s >/dev/null || fail_start "ceph-mon (pid $mon_pid) does not answer on 127.0.0.1:$mon_port"
  is_ours "$mon_pid" ceph-mon || fail_start "ceph-mon exited"

  # A small or busy disk must not block writes to the in-memory OSD.
  ceph_retry osd set-full-ratio 0.99 >/dev/null || fail_start "osd set-full-ratio"
  ceph_retry osd set-backfillfull-ratio 0.985 >/dev/null || fail_start "osd set-backfillfull-ratio"
  ceph_retry osd set-nearfull-ratio 0.98 >/dev/null || fail_start "osd set-nearfull-ratio"

  uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  osd_id=$(ceph_retry osd new "$uuid") || fail_start "ceph osd new"
  osd_id=$(echo "$osd_id" | tail -n 1)
  [[ $osd_id =~ ^[0-9]+$ ]] || fail_start "ceph osd new printed '$osd_id', not an id"
  mkdir -p "$dir/osd/ceph-$osd_id"
  ceph-osd -c "$conf" -i "$osd_id" --mkfs --osd-uuid "$uuid" >"$dir/log/osd-mkfs.out" 2>&1 ||
    fail_start "ceph-osd --mkfs"
  ceph_retry osd crush add-bucket localhost host >/dev/null || fail_start "crush add-bucket"
  ceph_retry osd crush move localhost root=default >/dev/null || fail_start "crush move"
  ceph_retry osd crush add "osd.$osd_id" 1.0 host=localhost >/dev/null || fail_start "crush add"

  ceph-osd -c "$conf" -i "$osd_id" -f </dev/null >"$dir/log/osd.out" 2>&1 &
  record_pid CEPH_OSD_PID $!
  local osd_pid=$!
  for ((i = 0; ; i++)); do
    ceph_cmd osd stat 2>/dev/null | grep -q '1 up' && break
    is_ours "$osd_pid" ceph-osd || fail_start "ceph-osd exited"
    [ $i -lt 120 ] || fail_start "ceph-osd (pid $osd_pid) not up after 60 s"
    sleep 0.5
  done

  radosgw -c "$conf" -n client.rgw.strata -f </dev/null >"$dir/log/rgw.out" 2>&1 &
  record_pid RADOSGW_PID $!
  local rgw_pid=$!
  for ((i = 0; ; i++)); do
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$rgw_port/" || true)
    [ "$code" = 200 ] && break
    is_ours "$rgw_pid" radosgw || fail_start "radosgw exited"
    [ $i -lt 240 ] || fail_start "radosgw (pid $rgw_pid) gives no HTTP 200 on 127.0.0.1:$rgw_port after 120 s (last: $code)"
    sleep 0.5
  done

  key=$(tr -dc 'A-Z0-9' </dev/urandom | head -c 20 || true)
  secret=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 40 || true)
  timeout 60 radosgw-admin -c "$conf" user create --uid=strata --display-name="strata tests" \
    --access-key="$key" --secret="$secret" >"$dir/log/user-create.out" 2>&1 ||
    fail_start "radosgw-admin user create"

  cat >"$dir/env" <<EOF
STRATA_RADOSGW_DIR='$dir'
STRATA_S3_ENDPOINT='http://127.0.0.1:$rgw_port'
STRATA_S3_BUCKET='strata-test'
STRATA_S3_URL='s3://strata-test?endpoint=http://127.0.0.1:$rgw_port&region=us-east-1&path_style=1'
AWS_ACCESS_KEY_ID='$key'
AWS_SECRET_ACCESS_KEY='$secret'
AWS_DEFAULT_REGION='us-east-1'
AWS_REGION='us-east-1'
AWS_EC2_METADATA_DISABLED='true'
RADOSGW_PID=$rgw_pid
CEPH_OSD_PID=$osd_pid
CEPH_MON_PID=$mon_pid
export STRATA_RADOSGW_DIR STRATA_S3_ENDPOINT STRATA_S3_BUCKET STRATA_S3_URL
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION AWS_REGION AWS_EC2_METADATA_DISABLED
EOF

  # The user's own credentials (not a profile from ~/.aws) create the test bucket.
  (
    set -a
    . "$dir/env"
    unset AWS_PROFILE AWS_SESSION_TOKEN
    : >"$dir/aws-empty"
    AWS_CONFIG_FILE=$dir/aws-empty AWS_SHARED_CREDENTIALS_FILE=$dir/aws-empty \
      timeout 60 /usr/bin/aws --endpoint-url "$STRATA_S3_ENDPOINT" s3api create-bucket \
      --bucket strata-test >"$dir/log/create-bucket.out" 2>&1
  ) || fail_start "aws s3api create-bucket strata-test"

}

start() {
  local t0 attempt
  t0=$(date +%s.%N)
  for p in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool curl python3; do
    command -v "$p" >/dev/null || die "$p not found: run scripts/setup.sh (Debian radosgw, ceph-mon, ceph-osd, awscli)"
  done
  [ -x /usr/bin/aws ] || die "/usr/bin/aws not found: run scripts/setup.sh (Debian awscli)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ -f "$dir/pids" ] && die "$dir/pids exists: a cluster may still run there; run '$0 stop $dir' first"
  # A daemon that dies on start (a port taken meanwhile, a Ceph start-up race) gets
  # one more try on fresh ports; the failed try's logs are shown above.
  for attempt in 1 2; do
    (start_once) && break
    [ $attempt -eq 2 ] && exit 1
    echo "radosgw.sh: retrying once on fresh ports" >&2
  done
  # shellcheck disable=SC1091
  . "$dir/env"
  if [ -n "${STRATA_RADOSGW_OWNER:-}" ]; then
    # Watchdog: stops the cluster when the owner is gone (a test killed by SIGKILL).
    (
      trap '' HUP
      while kill -0 "$STRATA_RADOSGW_OWNER" 2>/dev/null && [ -f "$dir/pids" ]; do sleep 2; done
      stop_all
    ) </dev/null >>"$dir/log/watchdog.out" 2>&1 &
    record_pid WATCHDOG_PID $!
  fi
  echo "radosgw: S3 on $STRATA_S3_ENDPOINT, bucket strata-test, env in $dir/env" \
    "(started in $(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$t0" "$(date +%s.%N)") s)"
}

case "$cmd" in
start) start ;;
stop)
  [ -d "$dir" ] || exit 0
  dir=$(cd "$dir" && pwd)
  stop_all
  ;;
*) usage ;;
esac
