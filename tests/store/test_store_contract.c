/*
 * The store contract: one suite every backend must pass. With
 * STRATA_TEST_STORE_URL set it tests that store (for example an s3:// URL
 * against radosgw, with AWS_* credentials in the environment); otherwise a
 * fresh mem:// store and a fresh file:// directory (twice: records in
 * extended attributes, and in sidecars). Every run works below its
 * own key prefix and removes what it wrote, so it can run against a shared
 * bucket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/backend.h"
#include "strata/store.h"

#define MiB (1024u * 1024u)
#define RACERS 8

static const char *g_url;
static char g_run[64]; /* "ct-<pid>-<hex>/": every key of this run starts with it */
static st_store_t *g_s;
static const char *g_file_root; /* directory of a file:// store, else NULL */

/* Keys below the run prefix; a few rotating buffers so calls can nest. */
static const char *K(const char *fmt, ...) {
    static char bufs[8][2048];
    static int next;
    char *b = bufs[next++ % 8];
    size_t n = (size_t)snprintf(b, sizeof bufs[0], "%s", g_run);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b + n, sizeof bufs[0] - n, fmt, ap);
    va_end(ap);
    return b;
}

static void fill(uint8_t *p, size_t n, uint64_t seed) {
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 24);
    }
}

static void put_str(const char *key, const char *s) {
    int rc = st_store_put(g_s, key, s, strlen(s), NULL, NULL);
    if (rc) fail_msg("put %s: %s", key, st_errmsg());
}

static void assert_content(const char *key, const void *want, size_t n) {
    st_buf_t b = ST_BUF_INIT;
    int rc = st_store_get(g_s, key, &b, NULL);
    if (rc) fail_msg("get %s: %s", key, st_errmsg());
    assert_int_equal(b.len, n);
    if (n) assert_memory_equal(b.data, want, n);
    st_buf_free(&b);
}

/* ---- round trips ---- */

static void test_caps(void **state) {
    (void)state;
    unsigned caps = st_store_caps(g_s);
    if (!strncmp(g_url, "mem:", 4) || !strncmp(g_url, "file:", 5)) {
        assert_int_equal(caps, ST_CAP_PUT_IF_ABSENT | ST_CAP_PUT_IF_MATCH);
        assert_int_equal(st_store_require(g_s, ST_CAP_PUT_IF_ABSENT | ST_CAP_PUT_IF_MATCH, "test"),
                         ST_OK);
    }
    if (!(caps & ST_CAP_PUT_IF_ABSENT)) {
        assert_int_equal(st_store_require(g_s, ST_CAP_PUT_IF_ABSENT, "record commits"),
                         ST_EUNSUPPORTED);
        assert_non_null(strstr(st_errmsg(), "record commits"));
    }
    assert_non_null(st_store_url(g_s));
    char *u = st_store_object_url(g_s, "a/b");
    assert_non_null(u);
    assert_non_null(strstr(u, "a/b"));
    free(u);
}

static void test_roundtrip_empty(void **state) {
    (void)state;
    st_object_info_t info;
    assert_int_equal(st_store_put(g_s, K("rt/empty"), "", 0, NULL, &info), ST_OK);
    assert_int_equal(info.size, 0);
    assert_true(info.etag[0] != '\0');
    assert_content(K("rt/empty"), "", 0);
    st_object_info_t h;
    assert_int_equal(st_store_head(g_s, K("rt/empty"), &h), ST_OK);
    assert_int_equal(h.size, 0);
    assert_string_equal(h.etag, info.etag);
    st_object_info_free(&h);
    st_object_info_free(&info);
}

static void test_roundtrip_small(void **state) {
    (void)state;
    uint8_t data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7); /* includes NUL and high bytes */
    st_object_info_t info;
    assert_int_equal(st_store_put(g_s, K("rt/small.bin"), data, sizeof data, NULL, &info), ST_OK);
    assert_int_equal(info.size, sizeof data);
    st_buf_t b = ST_BUF_INIT;
    st_buf_append(&b, "prefix:", 7); /* get appends */
    st_object_info_t gi;
    assert_int_equal(st_store_get(g_s, K("rt/small.bin"), &b, &gi), ST_OK);
    assert_int_equal(b.len, 7 + sizeof data);
    assert_memory_equal(b.data, "prefix:", 7);
    assert_memory_equal(b.data + 7, data, sizeof data);
    assert_int_equal(gi.size, sizeof data);
    assert_string_equal(gi.etag, info.etag);
    st_buf_free(&b);
    st_object_info_free(&gi);

    /* Replacing changes the ETag; the same bytes again keep the content. */
    data[0] ^= 0xff;
    st_object_info_t info2;
    assert_int_equal(st_store_put(g_s, K("rt/small.bin"), data, sizeof data, NULL, &info2), ST_OK);
    assert_string_not_equal(info2.etag, info.etag);
    assert_content(K("rt/small.bin"), data, sizeof data);
    st_object_info_free(&info);
    st_object_info_free(&info2);

    /* Deep keys, odd but valid characters. */
    const char *odd = K("rt/d1/d2/d3/sp ace+plus=eq&amp%25pct,comma;semi:colon@at~tilde!.txt");
    put_str(odd, "odd");
    assert_content(odd, "odd", 3);
    const char *utf = K("rt/unicodé/日本語/ключ");
    put_str(utf, "utf8");
    assert_content(utf, "utf8", 4);
    /* A long valid key (segments kept well under file-name limits). */
    char longkey[700] = "rt/long";
    while (strlen(longkey) < 600)
        strcat(longkey, "/0123456789abcdefghij0123456789abcdefghij");
    put_str(K("%s", longkey), "long");
    assert_content(K("%s", longkey), "long", 4);
}

static void sha_of(const void *p, size_t n, char hex[65]) { st_sha256_hex(p, n, hex); }

static void test_roundtrip_100mib(void **state) {
    (void)state;
    size_t n = 100 * MiB;
    uint8_t *data = malloc(n);
    assert_non_null(data);
    fill(data, n, 42);
    char want[65];
    sha_of(data, n, want);
    st_object_info_t info;
    int rc = st_store_put(g_s, K("rt/big.bin"), data, n, NULL, &info);
    if (rc) fail_msg("put 100 MiB: %s", st_errmsg());
    assert_int_equal(info.size, n);
    st_object_info_free(&info);
    st_buf_t b = ST_BUF_INIT;
    st_object_info_t gi;
    rc = st_store_get(g_s, K("rt/big.bin"), &b, &gi);
    if (rc) fail_msg("get 100 MiB: %s", st_errmsg());
    assert_int_equal(b.len, n);
    assert_int_equal(gi.size, n);
    char got[65];
    sha_of(b.data, b.len, got);
    assert_string_equal(got, want);
    st_object_info_free(&gi);
    /* A range far into the object. */
    st_buf_reset(&b);
    assert_int_equal(st_store_get_range(g_s, K("rt/big.bin"), (int64_t)(n - 1000), 5000, &b),
                     ST_OK);
    assert_int_equal(b.len, 1000);
    assert_memory_equal(b.data, data + n - 1000, 1000);
    st_buf_free(&b);
    free(data);
    assert_int_equal(st_store_delete(g_s, K("rt/big.bin")), ST_OK);
}

/* ---- ranges ---- */

static void expect_range(const char *key, const uint8_t *data, int64_t off, uint64_t len,
                         size_t want_off, size_t want_len) {
    st_buf_t b = ST_BUF_INIT;
    int rc = st_store_get_range(g_s, key, off, len, &b);
    if (rc) fail_msg("range %lld+%llu: %s", (long long)off, (unsigned long long)len, st_errmsg());
    if (b.len != want_len)
        fail_msg("range %lld+%llu: got %zu bytes, want %zu", (long long)off,
                 (unsigned long long)len, b.len, want_len);
    if (want_len) assert_memory_equal(b.data, data + want_off, want_len);
    st_buf_free(&b);
}

static void test_get_range(void **state) {
    (void)state;
    uint8_t data[1000];
    fill(data, sizeof data, 7);
    const char *k = K("range/obj");
    assert_int_equal(st_store_put(g_s, k, data, sizeof data, NULL, NULL), ST_OK);
    expect_range(k, data, 0, 10, 0, 10);
    expect_range(k, data, 100, 250, 100, 250);
    expect_range(k, data, 999, 1, 999, 1);
    expect_range(k, data, 990, 20, 990, 10);       /* cut at the end */
    expect_range(k, data, 0, 1000000, 0, 1000);    /* longer than the object */
    expect_range(k, data, 1000, 5, 1000, 0);       /* starts exactly at the end: empty */
    expect_range(k, data, 0, UINT64_MAX, 0, 1000); /* no overflow */
    expect_range(k, data, -1, 10, 990, 10);        /* suffix */
    expect_range(k, data, -1, 1, 999, 1);
    expect_range(k, data, -1, 1000, 0, 1000);
    expect_range(k, data, -5, 5000, 0, 1000); /* suffix longer than the object */
    expect_range(k, data, 10, 0, 10, 0);      /* zero length */
    expect_range(k, data, -1, 0, 0, 0);

    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_store_get_range(g_s, k, 1001, 1, &b), ST_EINVAL);
    assert_int_equal(st_store_get_range(g_s, k, 5000, 0, &b), ST_EINVAL);
    assert_int_equal(b.len, 0);
    assert_int_equal(st_store_get_range(g_s, K("range/missing"), 0, 10, &b), ST_ENOTFOUND);
    assert_int_equal(st_store_get_range(g_s, K("range/missing"), -1, 10, &b), ST_ENOTFOUND);
    assert_int_equal(b.len, 0);

    /* Ranges on an empty object. */
    put_str(K("range/empty"), "");
    assert_int_equal(st_store_get_range(g_s, K("range/empty"), 0, 10, &b), ST_OK);
    assert_int_equal(st_store_get_range(g_s, K("range/empty"), -1, 10, &b), ST_OK);
    assert_int_equal(b.len, 0);
    assert_int_equal(st_store_get_range(g_s, K("range/empty"), 1, 10, &b), ST_EINVAL);

    /* get_range_info reports the whole object's size. */
    st_object_info_t info;
    assert_int_equal(st_store_get_range_info(g_s, k, -1, 8, &b, &info), ST_OK);
    assert_int_equal(b.len, 8);
    assert_int_equal(info.size, sizeof data);
    assert_true(info.etag[0] != '\0');
    st_object_info_free(&info);
    st_buf_free(&b);
}

/* ---- head and metadata ---- */

static void test_head_metadata(void **state) {
    (void)state;
    const char *k = K("meta/obj.txt");
    st_meta_pair_t meta[] = {{"project", "p-42"}, {"owner", "alice smith"}, {"x-1", ""}};
    st_put_opts_t o = {.content_type = "text/plain; charset=utf-8", .meta = meta, .nmeta = 3};
    int64_t before = st_now_us();
    st_object_info_t pi;
    assert_int_equal(st_store_put(g_s, k, "hello", 5, &o, &pi), ST_OK);
    int64_t after = st_now_us();
    st_object_info_t h;
    assert_int_equal(st_store_head(g_s, k, &h), ST_OK);
    assert_int_equal(h.size, 5);
    assert_string_equal(h.etag, pi.etag);
    assert_string_equal(h.content_type, "text/plain; charset=utf-8");
    /* Servers keep whole seconds; allow clock skew of a few seconds. */
    assert_true(h.last_modified_us >= before - 3000000 && h.last_modified_us <= after + 3000000);
    assert_int_equal(h.nmeta, 3);
    /* Reported sorted by name, whatever the order given. */
    assert_string_equal(h.meta[0].key, "owner");
    assert_string_equal(h.meta[0].value, "alice smith");
    assert_string_equal(h.meta[1].key, "project");
    assert_string_equal(h.meta[1].value, "p-42");
    assert_string_equal(h.meta[2].key, "x-1");
    assert_string_equal(h.meta[2].value, "");
    st_object_info_free(&h);
    assert_null(h.meta);
    st_object_info_free(&pi);

    /* get with info reports the same. */
    st_buf_t b = ST_BUF_INIT;
    st_object_info_t gi;
    assert_int_equal(st_store_get(g_s, k, &b, &gi), ST_OK);
    assert_string_equal(gi.content_type, "text/plain; charset=utf-8");
    assert_int_equal(gi.nmeta, 3);
    st_object_info_free(&gi);
    st_buf_free(&b);

    /* A plain put replaces metadata too; the default content type. */
    put_str(k, "bye");
    assert_int_equal(st_store_head(g_s, k, &h), ST_OK);
    assert_int_equal(h.nmeta, 0);
    assert_string_equal(h.content_type, "application/octet-stream");
    assert_int_equal(h.size, 3);
    st_object_info_free(&h);

    /* head without info, and on a missing key. */
    assert_int_equal(st_store_head(g_s, k, NULL), ST_OK);
    assert_int_equal(st_store_head(g_s, K("meta/missing"), &h), ST_ENOTFOUND);
    assert_non_null(strstr(st_errmsg(), "meta/missing"));
}

static void test_metadata_rules(void **state) {
    (void)state;
    const char *k = K("meta/rules");
    st_meta_pair_t upper[] = {{"Owner", "x"}};
    st_meta_pair_t ctrl[] = {{"owner", "a\nb"}};
    st_meta_pair_t dup[] = {{"a", "1"}, {"a", "2"}};
    st_meta_pair_t blank[] = {{"a", " x"}};
    char big[3000];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    st_meta_pair_t large[] = {{"a", big}};
    st_meta_pair_t *bad[] = {upper, ctrl, dup, blank, large};
    int nbad[] = {1, 1, 2, 1, 1};
    for (int i = 0; i < 5; i++) {
        st_put_opts_t o = {.meta = bad[i], .nmeta = nbad[i]};
        assert_int_equal(st_store_put(g_s, k, "x", 1, &o, NULL), ST_EINVAL);
        st_store_writer_t *w = NULL;
        assert_int_equal(st_store_writer_open(g_s, k, &o, &w), ST_EINVAL);
        assert_null(w);
    }
    st_put_opts_t badct = {.content_type = "text/plain\r\nx-injected: 1"};
    assert_int_equal(st_store_put(g_s, k, "x", 1, &badct, NULL), ST_EINVAL);
    st_put_opts_t badmode = {.mode = (st_put_mode_t)42};
    assert_int_equal(st_store_put(g_s, k, "x", 1, &badmode, NULL), ST_EINVAL);
    assert_int_equal(st_store_head(g_s, k, NULL), ST_ENOTFOUND); /* nothing was written */
}

/* ---- listing ---- */

typedef struct seen {
    char key[1100];
    bool is_prefix;
    uint64_t size;
} seen_t;

/* Lists into `out` (at most max entries); returns the count. */
static int list_all(const char *prefix, const char *delim, seen_t *out, int max,
                    size_t *max_buffered) {
    st_list_iter_t *it;
    int rc = st_store_list(g_s, prefix, delim, &it);
    if (rc) fail_msg("list %s: %s", prefix, st_errmsg());
    int n = 0;
    for (;;) {
        const st_list_entry_t *e;
        rc = st_list_next(it, &e);
        if (rc) fail_msg("list next: %s", st_errmsg());
        size_t buffered = st_list_iter_buffered(it);
        if (buffered != SIZE_MAX) {
            assert_true(buffered <= 1000);
            if (max_buffered && buffered > *max_buffered) *max_buffered = buffered;
        }
        if (!e) break;
        if (n >= max) fail_msg("list %s: more than %d entries", prefix, max);
        snprintf(out[n].key, sizeof out[n].key, "%s", e->key);
        out[n].is_prefix = e->is_prefix;
        out[n].size = e->size;
        if (!e->is_prefix) assert_true(e->etag && e->etag[0]);
        n++;
    }
    st_list_close(it);
    return n;
}

static void expect_list(const char *prefix, const char *delim, const char *const *want, int nwant) {
    seen_t got[64];
    int n = list_all(prefix, delim, got, 64, NULL);
    for (int i = 0; i < n && i < nwant; i++) {
        const char *w = want[i];
        /* Entries ending with the delimiter are common prefixes. */
        bool pre =
            delim && strlen(w) >= strlen(delim) && !strcmp(w + strlen(w) - strlen(delim), delim);
        char full[1100];
        snprintf(full, sizeof full, "%s%s", g_run, w);
        if (strcmp(got[i].key, full) || got[i].is_prefix != pre)
            fail_msg("list '%s' delim '%s' entry %d: got '%s'%s, want '%s'%s", prefix,
                     delim ? delim : "", i, got[i].key, got[i].is_prefix ? " (prefix)" : "", full,
                     pre ? " (prefix)" : "");
    }
    if (n != nwant)
        fail_msg("list '%s' delim '%s': %d entries, want %d", prefix, delim ? delim : "", n, nwant);
}

static void test_list(void **state) {
    (void)state;
    const char *keys[] = {"l/d", "l/b/2", "l/a", "l/c/d/e", "l/b-c", "l/b/1", "l/c/x", "l/.dot"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        put_str(K("%s", keys[i]), keys[i]);

    const char *all[] = {"l/.dot", "l/a", "l/b-c", "l/b/1", "l/b/2", "l/c/d/e", "l/c/x", "l/d"};
    expect_list(K("l/"), NULL, all, 8);
    expect_list(K("l"), NULL, all, 8);
    const char *top[] = {"l/.dot", "l/a", "l/b-c", "l/b/", "l/c/", "l/d"};
    expect_list(K("l/"), "/", top, 6);
    const char *ll[] = {"l/"};
    expect_list(K("l"), "/", ll, 1);
    const char *b_all[] = {"l/b-c", "l/b/1", "l/b/2"};
    expect_list(K("l/b"), NULL, b_all, 3);
    const char *b_delim[] = {"l/b-c", "l/b/"};
    expect_list(K("l/b"), "/", b_delim, 2);
    const char *b_dir[] = {"l/b/1", "l/b/2"};
    expect_list(K("l/b/"), "/", b_dir, 2);
    const char *c_delim[] = {"l/c/d/", "l/c/x"};
    expect_list(K("l/c/"), "/", c_delim, 2);
    expect_list(K("l/zzz"), NULL, NULL, 0);
    expect_list(K("l/zzz/"), "/", NULL, 0);
    expect_list(K("nothing-here/"), "/", NULL, 0);
    /* A delimiter other than '/': S3 semantics. */
    const char *dash[] = {"l/.dot", "l/a", "l/b-", "l/b/1", "l/b/2", "l/c/d/e", "l/c/x", "l/d"};
    expect_list(K("l/"), "-", dash, 8);

    /* Sizes in entries. */
    seen_t got[16];
    int n = list_all(K("l/b/"), NULL, got, 16, NULL);
    assert_int_equal(n, 2);
    assert_int_equal(got[0].size, strlen("l/b/1"));

    /* Deleting the only key below a prefix removes the prefix. */
    assert_int_equal(st_store_delete(g_s, K("l/c/d/e")), ST_OK);
    const char *top2[] = {"l/.dot", "l/a", "l/b-c", "l/b/", "l/c/", "l/d"};
    expect_list(K("l/"), "/", top2, 6);
    assert_int_equal(st_store_delete(g_s, K("l/c/x")), ST_OK);
    const char *top3[] = {"l/.dot", "l/a", "l/b-c", "l/b/", "l/d"};
    expect_list(K("l/"), "/", top3, 5);

    /* Bad prefixes and delimiters. */
    st_list_iter_t *it = NULL;
    assert_int_equal(st_store_list(g_s, "../", NULL, &it), ST_EINVAL);
    assert_int_equal(st_store_list(g_s, "/abs", NULL, &it), ST_EINVAL);
    assert_int_equal(st_store_list(g_s, "a//", NULL, &it), ST_EINVAL);
    assert_int_equal(st_store_list(g_s, "a\x01", NULL, &it), ST_EINVAL);
    assert_int_equal(st_store_list(g_s, "a/", "\n", &it), ST_EINVAL);
    assert_null(it);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_list_pagination(void **state) {
    (void)state;
    enum { N = 2500, DIRS = 100 };
    char **want = calloc(N, sizeof *want);
    assert_non_null(want);
    /* 2,400 flat keys and 100 in sub-directories, put in a scrambled order. */
    for (int i = 0; i < N; i++) {
        int j = (int)(((long)i * 7919) % N);
        char k[64];
        if (j < N - DIRS)
            snprintf(k, sizeof k, "pg/k%04d", j);
        else
            snprintf(k, sizeof k, "pg/sub%03d/x", j - (N - DIRS));
        want[i] = strdup(K("%s", k));
        int rc = st_store_put(g_s, want[i], k, strlen(k), NULL, NULL);
        if (rc) fail_msg("put %s: %s", want[i], st_errmsg());
    }
    qsort(want, N, sizeof *want, cmp_str);

    seen_t *got = calloc(N + 10, sizeof *got);
    size_t maxbuf = 0;
    int n = list_all(K("pg/"), NULL, got, N + 10, &maxbuf);
    assert_int_equal(n, N);
    for (int i = 0; i < N; i++) {
        if (strcmp(got[i].key, want[i]))
            fail_msg("entry %d: got %s, want %s", i, got[i].key, want[i]);
        assert_false(got[i].is_prefix);
        if (i) assert_true(strcmp(got[i - 1].key, got[i].key) < 0); /* ordered, no duplicates */
    }
    if (maxbuf) assert_true(maxbuf <= 1000 && maxbuf > 1);
    printf("  pagination: %d keys, at most %zu buffered\n", n, maxbuf);

    /* With a delimiter: 2,400 objects and 100 prefixes, in order. */
    n = list_all(K("pg/"), "/", got, N + 10, NULL);
    assert_int_equal(n, N);
    int prefixes = 0;
    for (int i = 0; i < n; i++) {
        prefixes += got[i].is_prefix;
        if (i) assert_true(strcmp(got[i - 1].key, got[i].key) < 0);
        if (got[i].is_prefix) assert_non_null(strstr(got[i].key, "/sub"));
    }
    assert_int_equal(prefixes, DIRS);
    /* The run's top level rolls all of it into one prefix. */
    n = list_all(g_run, "/", got, N + 10, NULL);
    bool found = false;
    for (int i = 0; i < n; i++)
        found |= got[i].is_prefix && !strcmp(got[i].key, K("pg/"));
    assert_true(found);

    for (int i = 0; i < N; i++) {
        assert_int_equal(st_store_delete(g_s, want[i]), ST_OK);
        free(want[i]);
    }
    free(want);
    free(got);
    assert_int_equal(list_all(K("pg/"), NULL, NULL, 0, NULL), 0);
}

/* ---- hostile keys ---- */

static void test_hostile_keys(void **state) {
    (void)state;
    char longkey[ST_KEY_MAX + 2];
    memset(longkey, 'a', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    const char *bad[] = {"",
                         "/abs",
                         "..",
                         "../escape-ct",
                         "a/../../escape-ct",
                         "a/..",
                         "./a",
                         "a/./b",
                         "a//b",
                         "a/",
                         "/",
                         "a\x01"
                         "b",
                         "a\nb",
                         "a\rb",
                         "tab\there",
                         "del\x7f",
                         "back\\slash",
                         "\xff\xfe",
                         "bad\xc3(",
                         longkey};
    put_str(K("hostile/a/b"), "inside");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *k = bad[i];
        st_buf_t b = ST_BUF_INIT;
        st_object_info_t info;
        if (st_store_get(g_s, k, &b, &info) != ST_EINVAL) fail_msg("get accepted bad key #%zu", i);
        if (st_store_get_range(g_s, k, 0, 1, &b) != ST_EINVAL)
            fail_msg("range accepted bad key #%zu", i);
        if (st_store_put(g_s, k, "x", 1, NULL, NULL) != ST_EINVAL)
            fail_msg("put accepted bad key #%zu", i);
        if (st_store_head(g_s, k, &info) != ST_EINVAL) fail_msg("head accepted bad key #%zu", i);
        if (st_store_delete(g_s, k) != ST_EINVAL) fail_msg("delete accepted bad key #%zu", i);
        st_store_writer_t *w = NULL;
        if (st_store_writer_open(g_s, k, NULL, &w) != ST_EINVAL)
            fail_msg("writer accepted bad key #%zu", i);
        assert_null(w);
        assert_true(strlen(st_errmsg()) > 0);
        assert_int_equal(b.len, 0);
    }
    /* Relative to the run prefix too: the stored object must not be reachable
     * through a non-canonical spelling. */
    const char *alias[] = {"hostile//a/b", "hostile/./a/b", "hostile/a/../a/b", "hostile/a/b/"};
    for (size_t i = 0; i < 4; i++) {
        st_buf_t b = ST_BUF_INIT;
        assert_int_equal(st_store_get(g_s, K("%s", alias[i]), &b, NULL), ST_EINVAL);
    }
    assert_int_equal(st_store_get(g_s, NULL, NULL, NULL), ST_EINVAL);
    assert_int_equal(st_store_put(g_s, K("hostile/null"), NULL, 5, NULL, NULL), ST_EINVAL);
    /* Nothing escaped the store's directory, and nothing new is listed. */
    if (g_file_root) {
        char p[4200];
        snprintf(p, sizeof p, "%s/../escape-ct", g_file_root);
        assert_int_not_equal(access(p, F_OK), 0);
    }
    seen_t got[8];
    assert_int_equal(list_all(K("hostile/"), NULL, got, 8, NULL), 1);
}

/* ---- conditional puts raced ---- */

typedef struct racer {
    int idx;
    const char *key;
    st_put_mode_t mode;
    const char *etag;
    int rc;
    pthread_barrier_t *barrier;
} racer_t;

static void racer_content(int idx, char *buf, size_t cap) {
    snprintf(buf, cap, "racer %d of %d, pid %d: %0*d", idx, RACERS, (int)getpid(), 64 + idx * 13,
             idx);
}

/* One contender: its own handle from the URL, then one conditional put. */
static int race_once(const racer_t *r) {
    st_store_t *s;
    int rc = st_store_open(g_url, &s);
    if (rc) return rc;
    char content[256];
    racer_content(r->idx, content, sizeof content);
    st_put_opts_t o = {.mode = r->mode, .if_match = r->etag};
    rc = st_store_put(s, r->key, content, strlen(content), &o, NULL);
    st_store_close(s);
    return rc;
}

static void *race_thread(void *arg) {
    racer_t *r = arg;
    pthread_barrier_wait(r->barrier);
    r->rc = race_once(r);
    return NULL;
}

/* Runs RACERS contenders at once (processes, or threads for mem:// stores,
 * which are per process). Returns the winner's index, checking that exactly
 * one won and all others got ST_ECONFLICT. */
static int race(const char *key, st_put_mode_t mode, const char *etag, int *winner_pid) {
    racer_t r[RACERS];
    for (int i = 0; i < RACERS; i++)
        r[i] = (racer_t){i, key, mode, etag, 0, NULL};
    int pids[RACERS];
    if (!strncmp(g_url, "mem:", 4)) {
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, RACERS);
        pthread_t t[RACERS];
        for (int i = 0; i < RACERS; i++) {
            r[i].barrier = &bar;
            pthread_create(&t[i], NULL, race_thread, &r[i]);
        }
        for (int i = 0; i < RACERS; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&bar);
        for (int i = 0; i < RACERS; i++)
            pids[i] = (int)getpid();
    } else {
        int go[2];
        assert_int_equal(pipe(go), 0);
        fflush(NULL);
        for (int i = 0; i < RACERS; i++) {
            pid_t pid = fork();
            assert_true(pid >= 0);
            if (pid == 0) {
                close(go[1]);
                char c;
                while (read(go[0], &c, 1) > 0) {
                }
                int rc = race_once(&r[i]);
                _exit(rc == ST_OK ? 0 : rc == ST_ECONFLICT ? 3 : 10 - rc);
            }
            pids[i] = (int)pid;
        }
        close(go[0]);
        close(go[1]); /* all children start now */
        for (int i = 0; i < RACERS; i++) {
            int st;
            assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
            assert_true(WIFEXITED(st));
            int code = WEXITSTATUS(st);
            r[i].rc = code == 0 ? ST_OK : code == 3 ? ST_ECONFLICT : 10 - code;
        }
    }
    int won = -1, lost = 0;
    for (int i = 0; i < RACERS; i++) {
        if (r[i].rc == ST_OK) {
            if (won >= 0) fail_msg("two racers won the same conditional put (%d and %d)", won, i);
            won = i;
        } else if (r[i].rc == ST_ECONFLICT) {
            lost++;
        } else {
            fail_msg("racer %d: unexpected status %s", i, st_strerror(r[i].rc));
        }
    }
    assert_int_equal(won >= 0, 1);
    assert_int_equal(lost, RACERS - 1);
    *winner_pid = pids[won];
    return won;
}

static void check_winner(const char *key, int won, int pid) {
    char content[256];
    /* The content names the winner's pid (the child's, for processes). */
    snprintf(content, sizeof content, "racer %d of %d, pid %d: %0*d", won, RACERS, pid,
             64 + won * 13, won);
    assert_content(key, content, strlen(content));
}

static void test_if_absent_race(void **state) {
    (void)state;
    for (int round = 0; round < 3; round++) {
        const char *k = K("race/absent-%d", round);
        int pid;
        int won = race(k, ST_PUT_IF_ABSENT, NULL, &pid);
        check_winner(k, won, pid);
        /* And once it exists, a lone if-absent put loses too. */
        st_put_opts_t o = {.mode = ST_PUT_IF_ABSENT};
        assert_int_equal(st_store_put(g_s, k, "late", 4, &o, NULL), ST_ECONFLICT);
        check_winner(k, won, pid);
    }
    seen_t got[8];
    assert_int_equal(list_all(K("race/"), NULL, got, 8, NULL), 3); /* no temporary files listed */
}

static void test_if_match(void **state) {
    (void)state;
    const char *k = K("match/obj");
    st_object_info_t v1, v2, v3;
    assert_int_equal(st_store_put(g_s, k, "one", 3, NULL, &v1), ST_OK);
    st_put_opts_t o = {.mode = ST_PUT_IF_MATCH, .if_match = v1.etag};
    assert_int_equal(st_store_put(g_s, k, "two", 3, &o, &v2), ST_OK);
    assert_string_not_equal(v1.etag, v2.etag);
    /* Stale ETag: refused, content unchanged. */
    assert_int_equal(st_store_put(g_s, k, "three", 5, &o, NULL), ST_ECONFLICT);
    assert_non_null(strstr(st_errmsg(), "match/obj"));
    assert_content(k, "two", 3);
    /* A quoted ETag is the same ETag. */
    char quoted[140];
    snprintf(quoted, sizeof quoted, "\"%s\"", v2.etag);
    o.if_match = quoted;
    assert_int_equal(st_store_put(g_s, k, "three", 5, &o, &v3), ST_OK);
    assert_content(k, "three", 5);
    st_object_info_t h;
    assert_int_equal(st_store_head(g_s, k, &h), ST_OK);
    assert_string_equal(h.etag, v3.etag);
    st_object_info_free(&h);
    /* Made-up ETag, missing object, missing ETag. */
    o.if_match = "0123456789abcdef0123456789abcdef";
    assert_int_equal(st_store_put(g_s, k, "four", 4, &o, NULL), ST_ECONFLICT);
    o.if_match = v3.etag;
    assert_int_equal(st_store_put(g_s, K("match/missing"), "x", 1, &o, NULL), ST_ECONFLICT);
    assert_int_equal(st_store_head(g_s, K("match/missing"), NULL), ST_ENOTFOUND);
    o.if_match = NULL;
    assert_int_equal(st_store_put(g_s, k, "x", 1, &o, NULL), ST_EINVAL);
    o.if_match = "";
    assert_int_equal(st_store_put(g_s, k, "x", 1, &o, NULL), ST_EINVAL);
    assert_content(k, "three", 5);
    st_object_info_free(&v1);
    st_object_info_free(&v2);
    st_object_info_free(&v3);
}

static void test_if_match_race(void **state) {
    (void)state;
    if (!(st_store_caps(g_s) & ST_CAP_PUT_IF_MATCH)) {
        printf("  store does not claim put-if-match: race not applicable\n");
        return;
    }
    const char *k = K("match/race");
    st_object_info_t v;
    assert_int_equal(st_store_put(g_s, k, "base", 4, NULL, &v), ST_OK);
    int pid;
    int won = race(k, ST_PUT_IF_MATCH, v.etag, &pid);
    check_winner(k, won, pid);
    st_object_info_free(&v);
}

/* ---- delete ---- */

static void test_delete(void **state) {
    (void)state;
    const char *k = K("del/a/b");
    put_str(k, "doomed");
    put_str(K("del/keep"), "keep");
    assert_int_equal(st_store_delete(g_s, k), ST_OK);
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_store_get(g_s, k, &b, NULL), ST_ENOTFOUND);
    assert_non_null(strstr(st_errmsg(), "del/a/b"));
    assert_int_equal(st_store_get_range(g_s, k, 0, 1, &b), ST_ENOTFOUND);
    assert_int_equal(st_store_head(g_s, k, NULL), ST_ENOTFOUND);
    assert_int_equal(st_store_delete(g_s, k), ST_ENOTFOUND);
    assert_int_equal(st_store_delete(g_s, K("del/a")),
                     ST_ENOTFOUND); /* a "directory" is no object */
    assert_int_equal(b.len, 0);
    const char *left[] = {"del/keep"};
    expect_list(K("del/"), "/", left, 1);
    /* The key can be created again, if-absent. */
    st_put_opts_t o = {.mode = ST_PUT_IF_ABSENT};
    assert_int_equal(st_store_put(g_s, k, "again", 5, &o, NULL), ST_OK);
    assert_content(k, "again", 5);
}

/* ---- streaming writer ---- */

/* No hidden temporary files anywhere below the file store's root. */
static int tmp_seen;
static int find_tmp(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    if (strstr(path + ftw->base, "\\tmp-")) tmp_seen++;
    return 0;
}

static void assert_no_temp_files(void) {
    if (!g_file_root) return;
    tmp_seen = 0;
    nftw(g_file_root, find_tmp, 16, FTW_PHYS);
    assert_int_equal(tmp_seen, 0);
}

static void test_writer_commit(void **state) {
    (void)state;
    const char *k = K("w/big.bin");
    size_t total = 20 * MiB + 12345;
    uint8_t *data = malloc(total);
    fill(data, total, 99);
    st_store_writer_t *w;
    st_meta_pair_t meta[] = {{"kind", "stream"}};
    st_put_opts_t o = {.content_type = "application/x-test", .meta = meta, .nmeta = 1};
    assert_int_equal(st_store_writer_open(g_s, k, &o, &w), ST_OK);
    size_t sizes[] = {1, 4095, MiB + 7, 3 * MiB, 17, 9 * MiB + 1};
    size_t off = 0;
    for (int i = 0; off < total; i = (i + 1) % 6) {
        size_t n = sizes[i] < total - off ? sizes[i] : total - off;
        int rc = st_store_writer_write(w, data + off, n);
        if (rc) fail_msg("writer write: %s", st_errmsg());
        off += n;
    }
    /* Nothing visible before the commit. */
    assert_int_equal(st_store_head(g_s, k, NULL), ST_ENOTFOUND);
    assert_int_equal(list_all(K("w/"), NULL, NULL, 0, NULL), 0);
    st_object_info_t info;
    int rc = st_store_writer_commit(w, &info);
    if (rc) fail_msg("writer commit: %s", st_errmsg());
    assert_int_equal(info.size, total);
    st_object_info_t h;
    assert_int_equal(st_store_head(g_s, k, &h), ST_OK);
    assert_int_equal(h.size, total);
    assert_string_equal(h.etag, info.etag);
    assert_string_equal(h.content_type, "application/x-test");
    assert_int_equal(h.nmeta, 1);
    assert_string_equal(h.meta[0].value, "stream");
    st_object_info_free(&h);
    st_object_info_free(&info);
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_store_get(g_s, k, &b, NULL), ST_OK);
    char want[65], got[65];
    sha_of(data, total, want);
    sha_of(b.data, b.len, got);
    assert_string_equal(got, want);
    st_buf_free(&b);
    free(data);
    assert_int_equal(st_store_delete(g_s, k), ST_OK);

    /* An empty object through the writer. */
    assert_int_equal(st_store_writer_open(g_s, K("w/empty"), NULL, &w), ST_OK);
    assert_int_equal(st_store_writer_commit(w, NULL), ST_OK);
    assert_content(K("w/empty"), "", 0);
    assert_no_temp_files();
}

static void test_writer_abort(void **state) {
    (void)state;
    const char *k = K("wa/aborted.bin");
    size_t n = 9 * MiB + 5; /* past the S3 part size: a multipart upload is under way */
    uint8_t *data = malloc(n);
    fill(data, n, 5);
    st_store_writer_t *w;
    assert_int_equal(st_store_writer_open(g_s, k, NULL, &w), ST_OK);
    assert_int_equal(st_store_writer_write(w, data, n), ST_OK);
    st_store_writer_abort(w);
    assert_int_equal(st_store_head(g_s, k, NULL), ST_ENOTFOUND);
    assert_int_equal(list_all(K("wa/"), NULL, NULL, 0, NULL), 0);
    assert_no_temp_files();

    /* Aborting a replacement leaves the old object. */
    put_str(k, "old");
    assert_int_equal(st_store_writer_open(g_s, k, NULL, &w), ST_OK);
    assert_int_equal(st_store_writer_write(w, data, 1000), ST_OK);
    st_store_writer_abort(w);
    assert_content(k, "old", 3);
    free(data);
    assert_no_temp_files();
}

static void test_writer_conditional(void **state) {
    (void)state;
    const char *k = K("wc/obj");
    put_str(k, "original");
    st_store_writer_t *w = NULL;
    st_put_opts_t o = {.mode = ST_PUT_IF_ABSENT};
    int rc = st_store_writer_open(g_s, k, &o, &w);
    if (rc == ST_OK) {
        assert_int_equal(st_store_writer_write(w, "new", 3), ST_OK);
        rc = st_store_writer_commit(w, NULL);
    }
    assert_int_equal(rc, ST_ECONFLICT);
    assert_content(k, "original", 8);

    st_object_info_t h;
    assert_int_equal(st_store_head(g_s, k, &h), ST_OK);
    put_str(k, "changed");
    st_put_opts_t m = {.mode = ST_PUT_IF_MATCH, .if_match = h.etag};
    rc = st_store_writer_open(g_s, k, &m, &w);
    if (rc == ST_OK) {
        assert_int_equal(st_store_writer_write(w, "stale", 5), ST_OK);
        rc = st_store_writer_commit(w, NULL);
    }
    assert_int_equal(rc, ST_ECONFLICT);
    assert_content(k, "changed", 7);
    st_object_info_free(&h);

    /* The winning cases. */
    assert_int_equal(st_store_head(g_s, k, &h), ST_OK);
    m.if_match = h.etag;
    assert_int_equal(st_store_writer_open(g_s, k, &m, &w), ST_OK);
    assert_int_equal(st_store_writer_write(w, "fresh", 5), ST_OK);
    assert_int_equal(st_store_writer_commit(w, NULL), ST_OK);
    assert_content(k, "fresh", 5);
    st_object_info_free(&h);
    assert_int_equal(st_store_writer_open(g_s, K("wc/new"), &o, &w), ST_OK);
    assert_int_equal(st_store_writer_write(w, "created", 7), ST_OK);
    assert_int_equal(st_store_writer_commit(w, NULL), ST_OK);
    assert_content(K("wc/new"), "created", 7);
    assert_no_temp_files();
}

/* ---- suite plumbing ---- */

static int setup(void **state) {
    (void)state;
    uint8_t rnd[16];
    char hex[33];
    st_uuid_v4(rnd);
    st_hex(rnd, 4, hex);
    snprintf(g_run, sizeof g_run, "ct-%d-%s/", (int)getpid(), hex);
    if (st_store_open(g_url, &g_s)) {
        fprintf(stderr, "cannot open %s: %s\n", g_url, st_errmsg());
        return -1;
    }
    printf("store contract: testing %s (keys below %s)\n", st_store_url(g_s), g_run);
    return 0;
}

/* Removes everything this run wrote, and checks that nothing is left. */
static int teardown(void **state) {
    (void)state;
    int left = 0;
    for (int pass = 0; pass < 2; pass++) {
        st_list_iter_t *it;
        if (st_store_list(g_s, g_run, NULL, &it)) break;
        char **keys = NULL;
        int n = 0;
        const st_list_entry_t *e;
        while (st_list_next(it, &e) == 0 && e) {
            keys = realloc(keys, (size_t)(n + 1) * sizeof *keys);
            keys[n++] = strdup(e->key);
        }
        st_list_close(it);
        for (int i = 0; i < n; i++) {
            if (st_store_delete(g_s, keys[i]) && pass == 0)
                fprintf(stderr, "cleanup %s: %s\n", keys[i], st_errmsg());
            free(keys[i]);
        }
        free(keys);
        left = n;
    }
    st_store_close(g_s);
    g_s = NULL;
    if (left) fprintf(stderr, "cleanup: %d keys would not go away\n", left);
    return left ? -1 : 0;
}

static int run_suite(const char *url, const char *file_root) {
    g_url = url;
    g_file_root = file_root;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_roundtrip_empty),
        cmocka_unit_test(test_roundtrip_small),
        cmocka_unit_test(test_roundtrip_100mib),
        cmocka_unit_test(test_get_range),
        cmocka_unit_test(test_head_metadata),
        cmocka_unit_test(test_metadata_rules),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_list_pagination),
        cmocka_unit_test(test_hostile_keys),
        cmocka_unit_test(test_if_absent_race),
        cmocka_unit_test(test_if_match),
        cmocka_unit_test(test_if_match_race),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_writer_commit),
        cmocka_unit_test(test_writer_abort),
        cmocka_unit_test(test_writer_conditional),
    };
    char name[512];
    snprintf(name, sizeof name, "store contract %s", url);
    return cmocka_run_group_tests_name(name, tests, setup, teardown);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

int main(void) {
    const char *env = getenv("STRATA_TEST_STORE_URL");
    if (env && *env) {
        char root[4096] = "";
        if (!strncmp(env, "file://", 7))
            snprintf(root, sizeof root, "%.*s", (int)strcspn(env + 7, "?"), env + 7);
        return run_suite(env, *root ? root : NULL) ? 1 : 0;
    }
    int fails = 0;
    char mem[64];
    snprintf(mem, sizeof mem, "mem://contract-%d", (int)getpid());
    fails += run_suite(mem, NULL);

    const char *tmpdir = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/strata-contract-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    /* A root that does not exist yet: the first put creates it. */
    char root[4200], url[4300];
    snprintf(root, sizeof root, "%s/store", dir);
    snprintf(url, sizeof url, "file://%s", root);
    fails += run_suite(url, root);
    /* The file backend again with its records in sidecars, not attributes. */
    snprintf(root, sizeof root, "%s/sidecars", dir);
    snprintf(url, sizeof url, "file://%s?xattr=0", root);
    fails += run_suite(url, root);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return fails ? 1 : 0;
}
