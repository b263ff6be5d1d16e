/*
 * Shared helpers for tests that need the Parquet conformance corpus. Header
 * only. The corpus is found through $STRATA_PARQUET_CORPUS, else
 * $STRATA_SOURCE_DIR/../shared/parquet-corpus. Without it a test prints
 * "SKIPPED: corpus not found" and passes, except under CI (CI=true), where a
 * missing corpus is a failure: CI must exercise it.
 */
#ifndef STRATA_TEST_UTIL_H
#define STRATA_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The corpus directory (with manifest.json), or NULL. The string is static. */
static inline const char *st_test_corpus_dir(void) {
    static char path[4096];
    const char *env = getenv("STRATA_PARQUET_CORPUS");
    if (env && *env) {
        snprintf(path, sizeof path, "%s", env);
    } else {
        const char *src = getenv("STRATA_SOURCE_DIR");
        if (!src || !*src) return NULL;
        snprintf(path, sizeof path, "%s/../shared/parquet-corpus", src);
    }
    char manifest[4200];
    snprintf(manifest, sizeof manifest, "%s/manifest.json", path);
    return access(manifest, R_OK) == 0 ? path : NULL;
}

/* Returns the corpus directory, or NULL after printing the skip notice. Under
 * CI=true a missing corpus ends the test process with exit status 1. */
static inline const char *st_test_corpus_or_skip(void) {
    const char *dir = st_test_corpus_dir();
    if (dir) return dir;
    const char *ci = getenv("CI");
    if (ci && !strcmp(ci, "true")) {
        fprintf(stderr, "FAILED: corpus not found (set STRATA_PARQUET_CORPUS) and CI=true\n");
        exit(1);
    }
    printf("SKIPPED: corpus not found\n");
    return NULL;
}

#endif
