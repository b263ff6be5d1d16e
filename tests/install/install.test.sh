#!/usr/bin/env bash
# `cmake --install` lays out the library, headers, pkg-config file and CLI so
# that a program found through pkg-config builds against libstrata and runs.
set -euo pipefail
bin=${STRATA_BINARY_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$bin" --prefix "$tmp/prefix" >/dev/null
for f in bin/strata include/strata/core.h include/strata/parquet.h lib/libstrata.a \
         lib/libstrata.so lib/pkgconfig/strata.pc; do
  test -e "$tmp/prefix/$f" || { echo "FAIL: $f not installed"; exit 1; }
done
cat >"$tmp/t.c" <<'C'
#include <stdio.h>
#include <strata/parquet.h>
int main(int argc, char **argv) {
    st_pq_file_t *f;
    if (argc < 2 || st_pq_open_url(argv[1], &f)) { fprintf(stderr, "%s\n", st_errmsg()); return 1; }
    printf("%lld\n", (long long)st_pq_num_rows(f));
    st_pq_close(f);
    return 0;
}
C
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
# A sanitized libstrata needs a sanitized client.
san=""
grep -q '^STRATA_SANITIZE:BOOL=ON' "$bin/CMakeCache.txt" && san="-fsanitize=address,undefined"
cc -std=c11 $san "$tmp/t.c" -o "$tmp/t" $(pkg-config --cflags --libs strata) -Wl,-rpath,"$tmp/prefix/lib"
printf '{"name":"t","fields":[{"name":"a","type":"int32"}]}' >"$tmp/s.json"
printf 'a\n1\n2\n3\n' >"$tmp/d.csv"
"$tmp/prefix/bin/strata" parquet write --schema "$tmp/s.json" --from "$tmp/d.csv" "$tmp/x.parquet" 2>/dev/null
rows=$("$tmp/t" "$tmp/x.parquet")
[ "$rows" = 3 ] || { echo "FAIL: program built with pkg-config read $rows rows, want 3"; exit 1; }
if "$tmp/t" "$tmp/missing.parquet" 2>"$tmp/err"; then echo "FAIL: missing file accepted"; exit 1; fi
grep -q missing.parquet "$tmp/err" || { echo "FAIL: error does not name the file"; exit 1; }
echo "ok: installed tree builds and runs a pkg-config client"
