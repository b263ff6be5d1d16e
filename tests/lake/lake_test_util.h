/*
 * Helpers for the lake tests (header only). Each test gets a store of its own:
 * with STRATA_TEST_STORE_URL set (an s3:// URL against radosgw, say) a fresh
 * prefix below it, else a fresh mem:// name or file:// directory. Index files
 * live in a temporary directory removed at exit.
 */
#ifndef STRATA_LAKE_TEST_UTIL_H
#define STRATA_LAKE_TEST_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strata/lake.h"

static char lt_tmp[4096];
static const char *lt_base; /* NULL: mem:// and file:// by kind */
static int lt_kind;         /* 0 mem, 1 file (without a base URL) */
static int lt_seq;

static int lt_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void lt_cleanup(void) {
    if (*lt_tmp) nftw(lt_tmp, lt_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static void lt_init(void) {
    const char *t = getenv("TMPDIR");
    snprintf(lt_tmp, sizeof lt_tmp, "%s/strata-lake-test-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(lt_tmp)) {
        perror("mkdtemp");
        exit(1);
    }
    atexit(lt_cleanup);
    const char *b = getenv("STRATA_TEST_STORE_URL");
    lt_base = b && *b ? b : NULL;
}

/* A new, empty store URL (static buffer; copy it to keep it). */
static const char *lt_new_url(void) {
    static char url[8192];
    int n = ++lt_seq;
    if (lt_base) {
        const char *q = strchr(lt_base, '?');
        size_t head = q ? (size_t)(q - lt_base) : strlen(lt_base);
        snprintf(url, sizeof url, "%.*s/t%d-%d%s", (int)head, lt_base, (int)getpid(), n,
                 q ? q : "");
    } else if (lt_kind == 0) {
        snprintf(url, sizeof url, "mem://lake-test-%d-%d", (int)getpid(), n);
    } else {
        snprintf(url, sizeof url, "file://%s/store%d", lt_tmp, n);
    }
    return url;
}

/* A fresh index file path (static buffer). */
static const char *lt_new_index(void) {
    static char p[4200];
    snprintf(p, sizeof p, "%s/index%d.sqlite", lt_tmp, ++lt_seq);
    return p;
}

#endif
