#!/usr/bin/env bash
# Builds strata and runs every test: once in a release build, once with
# AddressSanitizer + UndefinedBehaviorSanitizer. Installs dependencies first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh

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
