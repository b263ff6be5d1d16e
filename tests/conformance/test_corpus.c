/* The Parquet conformance corpus (../shared/parquet-corpus, see its README):
 * every readable file must decode to exactly the expected canonical JSONL
 * (and flat ones, read as batches, to the same values),
 * every malformed one must fail cleanly, and nothing may crash. Run under
 * ASan+UBSan too: "cleanly" includes no out-of-bounds access.
 *
 * Corpus: $STRATA_PARQUET_CORPUS, else $STRATA_SOURCE_DIR/../shared/parquet-corpus.
 * Missing corpus: skipped, except under CI=true where it fails.
 * STRATA_CORPUS_ONLY=<name> runs one entry (for debugging). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/parquet.h"
#include "test_util.h"

#define SHOW 300 /* characters of a differing line to print */

static const char *corpus;
static int batch_files; /* flat files also checked through batches */

static char *corpus_path(const char *rel) {
    size_t n = strlen(corpus) + strlen(rel) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", corpus, rel);
    return p;
}

/* Compares emitted lines with expected text as they arrive, and hashes them. */
typedef struct cmp {
    const uint8_t *exp;
    size_t exp_len, off;
    int64_t compare_lines; /* compare only this many lines (< 0: all) */
    int64_t lines;
    uint64_t bytes;
    st_sha256_ctx_t *sha;
    int64_t bad_line; /* 1-based, 0 = none */
    char bad_exp[SHOW + 32], bad_got[SHOW + 32];
} cmp_t;

static void show(char *dst, const char *s, size_t n) {
    size_t k = n < SHOW ? n : SHOW;
    memcpy(dst, s, k);
    strcpy(dst + k, n > SHOW ? "..." : "");
}

static int on_row(void *ctx, const char *line, size_t n) {
    cmp_t *c = ctx;
    c->lines++;
    c->bytes += n + 1;
    if (c->sha) {
        st_sha256_update(c->sha, line, n);
        st_sha256_update(c->sha, "\n", 1);
    }
    if (c->bad_line || (c->compare_lines >= 0 && c->lines > c->compare_lines)) return 0;
    const uint8_t *start = c->exp + c->off;
    const uint8_t *nl = c->off < c->exp_len ? memchr(start, '\n', c->exp_len - c->off) : NULL;
    size_t elen = nl ? (size_t)(nl - start) : c->exp_len - c->off;
    if (c->off >= c->exp_len || elen != n || memcmp(start, line, n) != 0) {
        c->bad_line = c->lines;
        if (c->off >= c->exp_len) strcpy(c->bad_exp, "<no more lines>");
        else show(c->bad_exp, (const char *)start, elen);
        show(c->bad_got, line, n);
        return 0;
    }
    c->off += elen + (nl ? 1 : 0);
    return 0;
}

typedef struct tally {
    int pass, fail;
} tally_t;

/* Opens and scans the whole file; returns the status, fills c. */
static int scan_file(const char *path, cmp_t *c) {
    st_pq_file_t *f = NULL;
    st_error_clear();
    int rc = st_pq_open_path(path, &f);
    if (rc) return rc;
    st_pq_scan_t scan = {NULL, 0, NULL, -1};
    rc = st_pq_scan_json(f, &scan, on_row, c);
    st_pq_close(f);
    return rc;
}

static const char *jstr(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Checks one `rows` entry; returns true when it passes (prints why not). */
static bool check_rows(const char *name, json_t *e, const char *path) {
    json_t *exp = json_object_get(e, "expected");
    bool accept_error = json_is_true(json_object_get(e, "accept_error"));
    const char *jsonl = jstr(exp, "jsonl"), *head = jstr(exp, "head");
    cmp_t c;
    memset(&c, 0, sizeof c);
    c.compare_lines = -1;
    st_buf_t want = ST_BUF_INIT;
    char *wpath = corpus_path(jsonl ? jsonl : head ? head : "");
    int rrc = st_read_file(wpath, &want);
    free(wpath);
    if (rrc) {
        printf("FAIL %s: cannot read expected output: %s\n", name, st_errmsg());
        return false;
    }
    if (head) {
        c.compare_lines = (int64_t)json_integer_value(json_object_get(exp, "head_rows"));
        st_sha256_begin(&c.sha);
    }
    c.exp = want.data ? want.data : (const uint8_t *)"";
    c.exp_len = want.len;
    int rc = scan_file(path, &c);
    uint8_t digest[ST_SHA256_LEN];
    char hex[ST_SHA256_HEX_LEN + 1] = "";
    if (c.sha) {
        st_sha256_end(c.sha, digest);
        st_hex(digest, ST_SHA256_LEN, hex);
    }
    bool ok = true;
    if (rc) {
        if (accept_error && st_errmsg()[0]) {
            printf("ok   %s: failed cleanly (accepted): %s\n", name, st_errmsg());
        } else {
            printf("FAIL %s: %s: %s (after %lld rows)\n", name, st_strerror(rc), st_errmsg(),
                   (long long)c.lines);
            ok = false;
        }
    } else if (c.bad_line) {
        printf("FAIL %s: line %lld differs\n  expected: %s\n  got:      %s\n", name,
               (long long)c.bad_line, c.bad_exp, c.bad_got);
        ok = false;
    } else if (!head && c.off != c.exp_len) {
        printf("FAIL %s: output ends after %lld lines, expected more\n", name, (long long)c.lines);
        ok = false;
    } else if (head) {
        const char *want_sha = jstr(exp, "jsonl_sha256");
        uint64_t want_bytes = (uint64_t)json_integer_value(json_object_get(exp, "jsonl_bytes"));
        if (c.lines < c.compare_lines) {
            printf("FAIL %s: only %lld lines, head has %lld\n", name, (long long)c.lines,
                   (long long)c.compare_lines);
            ok = false;
        } else if (c.bytes != want_bytes || !want_sha || strcmp(hex, want_sha) != 0) {
            printf("FAIL %s: whole output %llu bytes sha256 %s, expected %llu bytes %s\n", name,
                   (unsigned long long)c.bytes, hex, (unsigned long long)want_bytes,
                   want_sha ? want_sha : "?");
            ok = false;
        }
    }
    st_buf_free(&want);
    return ok;
}

/* The same file through st_pq_read_row_group: each batch row rendered with
 * st_col_value_json must equal the expected line too. Flat files only; TIME
 * columns are left out because strata's TIME type has no UTC flag while the
 * canonical form marks UTC times with Z. Returns false on a mismatch. */
static bool check_batches(const char *name, json_t *e, const char *path) {
    json_t *exp = json_object_get(e, "expected");
    const char *jsonl = jstr(exp, "jsonl");
    const char *shape = jstr(e, "shape");
    if (!jsonl || !shape || strcmp(shape, "flat")) return true;
    bool accept_error = json_is_true(json_object_get(e, "accept_error"));
    st_pq_file_t *f = NULL;
    st_error_clear();
    int rc = st_pq_open_path(path, &f);
    if (rc) return accept_error;
    const st_field_t *fields;
    int nfields;
    if ((rc = st_pq_fields(f, &fields, &nfields))) {
        st_pq_close(f);
        if (rc == ST_EUNSUPPORTED) {
            printf("note %s: batches: %s\n", name, st_errmsg());
            return true;
        }
        printf("FAIL %s: st_pq_fields: %s\n", name, st_errmsg());
        return false;
    }
    for (int i = 0; i < nfields; i++) {
        if (fields[i].type.id == ST_TYPE_TIME) {
            st_pq_close(f);
            return true;
        }
    }
    st_buf_t want = ST_BUF_INIT, line = ST_BUF_INIT;
    char *wpath = corpus_path(jsonl);
    rc = st_read_file(wpath, &want);
    free(wpath);
    cmp_t c;
    memset(&c, 0, sizeof c);
    c.compare_lines = -1;
    c.exp = want.data ? want.data : (const uint8_t *)"";
    c.exp_len = want.len;
    for (int rg = 0; !rc && rg < st_pq_num_row_groups(f); rg++) {
        st_batch_t *b;
        if ((rc = st_pq_read_row_group(f, rg, NULL, 0, &b))) break;
        if (b->ncols != nfields || b->nrows != st_pq_row_group_num_rows(f, rg)) {
            rc = st_error(ST_EINVAL, "batch of row group %d has %d columns / %lld rows", rg,
                          b->ncols, (long long)b->nrows);
        }
        for (int64_t r = 0; !rc && r < b->nrows; r++) {
            st_buf_reset(&line);
            st_buf_append_byte(&line, '{');
            for (int j = 0; !rc && j < b->ncols; j++) {
                if (j) st_buf_append_byte(&line, ',');
                const char *cn = b->cols[j].field.name;
                st_json_append_string(&line, cn, strlen(cn));
                st_buf_append_byte(&line, ':');
                if (b->cols[j].length != b->nrows)
                    rc = st_error(ST_EINVAL, "column %s has %lld values", cn,
                                  (long long)b->cols[j].length);
                else rc = st_col_value_json(&b->cols[j], r, &line);
            }
            st_buf_append_byte(&line, '}');
            if (!rc) on_row(&c, (const char *)line.data, line.len);
        }
        st_batch_free(b);
    }
    st_pq_close(f);
    st_buf_free(&want);
    st_buf_free(&line);
    if (rc) {
        if (accept_error && st_errmsg()[0]) return true;
        printf("FAIL %s: batches: %s: %s\n", name, st_strerror(rc), st_errmsg());
        return false;
    }
    if (c.bad_line) {
        printf("FAIL %s: batches: line %lld differs\n  expected: %s\n  got:      %s\n", name,
               (long long)c.bad_line, c.bad_exp, c.bad_got);
        return false;
    }
    batch_files++;
    if (c.off != c.exp_len) {
        printf("FAIL %s: batches end after %lld rows, expected more\n", name, (long long)c.lines);
        return false;
    }
    return true;
}

static bool check_error(const char *name, const char *path) {
    cmp_t c;
    memset(&c, 0, sizeof c);
    c.compare_lines = 0;
    int rc = scan_file(path, &c);
    if (rc == 0) {
        printf("FAIL %s: expected an error, decoded %lld rows\n", name, (long long)c.lines);
        return false;
    }
    if (!st_errmsg()[0]) {
        printf("FAIL %s: failed (%s) without a message\n", name, st_strerror(rc));
        return false;
    }
    return true;
}

static void test_corpus(void **state) {
    (void)state;
    if (!(corpus = st_test_corpus_or_skip())) return;
    char *mpath = corpus_path("manifest.json");
    json_error_t jerr;
    json_t *m = json_load_file(mpath, 0, &jerr);
    free(mpath);
    if (!m) fail_msg("manifest.json: %s (line %d)", jerr.text, jerr.line);
    json_t *entries = json_object_get(m, "entries");
    assert_true(json_is_array(entries));
    const char *only = getenv("STRATA_CORPUS_ONLY");
    if (only && !*only) only = NULL;
    /* rows, unverified, error, no-crash */
    static const char *kinds[] = {"rows", "unverified", "error", "no-crash"};
    tally_t t[4] = {{0, 0}, {0, 0}, {0, 0}, {0, 0}};
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        const char *name = jstr(e, "name"), *file = jstr(e, "file"), *expect = jstr(e, "expect");
        assert_non_null(name);
        assert_non_null(file);
        assert_non_null(expect);
        if (only && strcmp(only, name)) continue;
        char *path = corpus_path(file);
        int k;
        bool ok;
        if (!strcmp(expect, "rows")) {
            k = 0;
            ok = check_rows(name, e, path);
            if (ok) ok = check_batches(name, e, path);
        } else if (!strcmp(expect, "error")) {
            k = 2;
            ok = check_error(name, path);
        } else {
            /* unverified, no-crash: either result is fine; reaching here is the test. */
            k = !strcmp(expect, "unverified") ? 1 : 3;
            cmp_t c;
            memset(&c, 0, sizeof c);
            c.compare_lines = 0;
            int rc = scan_file(path, &c);
            printf("ok   %s (%s): %s\n", name, expect,
                   rc ? st_errmsg() : "decoded");
            ok = true;
        }
        free(path);
        if (ok) t[k].pass++;
        else t[k].fail++;
        fflush(stdout);
    }
    json_decref(m);
    int failed = 0, total = 0;
    printf("parquet corpus:");
    for (int k = 0; k < 4; k++) {
        printf(" %s %d/%d%s", kinds[k], t[k].pass, t[k].pass + t[k].fail, k < 3 ? "," : "\n");
        failed += t[k].fail;
        total += t[k].pass + t[k].fail;
    }
    printf("parquet corpus: %d of %d entries pass (%d flat files also read as batches)\n",
           total - failed, total, batch_files);
    assert_int_equal(failed, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_corpus)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
