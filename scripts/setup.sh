#!/usr/bin/env bash
# Installs every Debian and npm dependency strata needs to build, test and benchmark.
# Idempotent: safe to run again; skips work that is already done.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

debs=(
  build-essential cmake pkg-config clang llvm libclang-rt-14-dev
  libssl-dev libjansson-dev libzstd-dev libsnappy-dev zlib1g-dev liblz4-dev libbrotli-dev
  libcmocka-dev libpcre2-dev libcurl4-openssl-dev libsqlite3-dev libxml2-dev
  radosgw ceph-mon ceph-osd awscli
)
# Node.js may already come from elsewhere (a newer build); Debian's is the fallback.
command -v node >/dev/null 2>&1 || debs+=(nodejs)
command -v npm >/dev/null 2>&1 || debs+=(npm)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm peers (DuckDB as the independent Parquet reader and benchmark peer), pinned in
# tests/peers/package.json; no lock file is committed.
# Installs when any pinned package is missing or at another version.
peers_missing=$(cd "$here/tests/peers" && node -e '
  const fs = require("fs");
  const deps = JSON.parse(fs.readFileSync("package.json", "utf8")).dependencies || {};
  for (const [name, want] of Object.entries(deps)) {
    let have = null;
    try { have = JSON.parse(fs.readFileSync(`node_modules/${name}/package.json`, "utf8")).version; } catch (e) {}
    if (have !== want) { console.log(name); }
  }')
if [ -n "$peers_missing" ]; then
  (cd "$here/tests/peers" && npm install --no-audit --no-fund --loglevel=error --no-package-lock)
fi
