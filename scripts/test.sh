#!/usr/bin/env bash
# Builds strata and runs every test: once in a release build, once with
# AddressSanitizer + UndefinedBehaviorSanitizer. Installs dependencies first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh

# The Parquet corpus lives in ../shared beside the checkout. A clone made
# elsewhere (a temporary directory) finds it beside the repository it was
# cloned from, when that is a local directory.
if [ -z "${STRATA_PARQUET_CORPUS:-}" ] && [ ! -d "$root/../shared/parquet-corpus" ]; then
  origin=$(git -C "$root" config --get remote.origin.url 2>/dev/null || true)
  if [ -n "$origin" ] && [ -d "$origin/../shared/parquet-corpus" ]; then
    STRATA_PARQUET_CORPUS=$(cd "$origin/../shared/parquet-corpus" && pwd)
    export STRATA_PARQUET_CORPUS
  fi
fi

jobs=$(nproc 2>/dev/null || echo 2)
run_suite() { # <build dir> <extra cmake args...>
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  (cd "$dir" && ctest --output-on-failure -j "$jobs")
}

echo "== release build and tests"
run_suite build
echo "== ASan + UBSan build and tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan -DSTRATA_SANITIZE=ON
echo "== all tests passed"
