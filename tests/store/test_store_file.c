/*
 * The file backend beyond the contract: what it leaves on disk, files written
 * by other tools, and the states a crash can leave (simulated by performing
 * a commit's steps by hand and stopping between them). Everything runs twice:
 * with records in extended attributes (the default, where the file system
 * has them) and in sidecars (?xattr=0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "store/file_internal.h"
#include "strata/store.h"

static char g_root[256];
static st_store_t *g_s;
static bool g_xattr; /* records are expected in extended attributes */

/* Whether the file system under g_root takes user attributes at all. */
static bool fs_has_xattr(void) {
    char probe[300];
    snprintf(probe, sizeof probe, "%s/.probe", g_root);
    FILE *f = fopen(probe, "w");
    if (!f) return false;
    fclose(f);
    bool ok = setxattr(probe, "user.probe", "1", 1, 0) == 0;
    unlink(probe);
    return ok;
}

static int open_store(bool want_xattr) {
    snprintf(g_root, sizeof g_root, "/tmp/strata-file-XXXXXX");
    if (!mkdtemp(g_root)) return -1;
    g_xattr = want_xattr && fs_has_xattr();
    char url[300];
    snprintf(url, sizeof url, "file://%s%s", g_root, want_xattr ? "" : "?xattr=0");
    printf("file backend: %s (records in %s)\n", url, g_xattr ? "extended attributes" : "sidecars");
    return st_store_open(url, &g_s) ? -1 : 0;
}

static int setup_xattr(void **state) {
    (void)state;
    return open_store(true);
}

static int setup_sidecar(void **state) {
    (void)state;
    return open_store(false);
}

static int teardown(void **state) {
    (void)state;
    st_store_close(g_s);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
    return system(cmd);
}

static const char *P(const char *rel) {
    static char bufs[4][1024];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", g_root, rel);
    return b;
}

static void write_file(const char *path, const char *content) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static int count_listed(const char *prefix) {
    st_list_iter_t *it;
    assert_int_equal(st_store_list(g_s, prefix, NULL, &it), ST_OK);
    int n = 0;
    const st_list_entry_t *e;
    while (st_list_next(it, &e) == 0 && e)
        n++;
    st_list_close(it);
    return n;
}

static void test_layout(void **state) {
    (void)state;
    st_meta_pair_t meta[] = {{"owner", "ops"}};
    st_put_opts_t o = {.content_type = "text/csv", .meta = meta, .nmeta = 1};
    assert_int_equal(st_store_put(g_s, "lay/b.csv", "a,b\n1,2\n", 8, &o, NULL), ST_OK);
    /* The object is a plain file any tool can read. */
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_read_file(P("lay/b.csv"), &b), ST_OK);
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.data, "a,b\n1,2\n", 8);
    st_buf_free(&b);
    /* Its record rides on the file, or sits beside it hidden from listings. */
    char rec[4096];
    ssize_t n = getxattr(P("lay/b.csv"), "user.strata", rec, sizeof rec);
    if (g_xattr) {
        assert_true(n > 0);
        assert_non_null(memmem(rec, (size_t)n, "\"owner\"", 7));
        assert_int_not_equal(access(P("lay/.b.csv\\meta"), F_OK), 0);
    } else {
        assert_true(n < 0);
        assert_int_equal(access(P("lay/.b.csv\\meta"), F_OK), 0);
    }
    assert_int_equal(count_listed("lay/"), 1);
    /* The ETag is the SHA-256 of the content. */
    st_object_info_t h;
    assert_int_equal(st_store_head(g_s, "lay/b.csv", &h), ST_OK);
    char want[65];
    st_sha256_hex("a,b\n1,2\n", 8, want);
    assert_string_equal(h.etag, want);
    st_object_info_free(&h);
    /* Deleting removes both and prunes the emptied directory. */
    assert_int_equal(st_store_delete(g_s, "lay/b.csv"), ST_OK);
    assert_int_not_equal(access(P("lay/.b.csv\\meta"), F_OK), 0);
    assert_int_not_equal(access(P("lay"), F_OK), 0);
    assert_int_equal(access(g_root, F_OK), 0); /* never the root itself */
}

/* A cache put (no_sync) is still an atomic, conditional, recorded put; only
 * its durability differs, which a test cannot observe without a crash. */
static void test_no_sync(void **state) {
    (void)state;
    st_meta_pair_t meta[] = {{"kind", "snapshot"}};
    st_put_opts_t o = {.content_type = "application/json", .meta = meta, .nmeta = 1, .no_sync = true};
    assert_int_equal(st_store_put(g_s, "ns/m.json", "{\"v\":1}", 7, &o, NULL), ST_OK);
    assert_int_equal(st_store_put(g_s, "ns/m.json", "{\"v\":22}", 8, &o, NULL), ST_OK);
    st_buf_t b = ST_BUF_INIT;
    st_object_info_t h;
    assert_int_equal(st_store_get(g_s, "ns/m.json", &b, &h), ST_OK);
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.data, "{\"v\":22}", 8);
    assert_string_equal(h.content_type, "application/json");
    assert_int_equal(h.nmeta, 1);
    assert_string_equal(h.meta[0].value, "snapshot");
    char want[65];
    st_sha256_hex("{\"v\":22}", 8, want);
    assert_string_equal(h.etag, want);
    st_object_info_free(&h);
    st_buf_free(&b);
    st_put_opts_t ia = {.mode = ST_PUT_IF_ABSENT, .no_sync = true};
    assert_int_equal(st_store_put(g_s, "ns/m.json", "x", 1, &ia, NULL), ST_ECONFLICT);
    assert_int_equal(count_listed("ns/"), 1);
    assert_int_equal(st_store_delete(g_s, "ns/m.json"), ST_OK);
}

static void test_foreign_files(void **state) {
    (void)state;
    assert_int_equal(mkdir(P("for"), 0777), 0);
    write_file(P("for/plain.txt"), "written by another tool");
    write_file(P("for/bad\\name"), "not a valid key");
    write_file(P("for/ctl\x01name"), "not a valid key");
    write_file(P("for/.x\\tmp-0123"), "a leftover temporary file");
    st_object_info_t h;
    assert_int_equal(st_store_head(g_s, "for/plain.txt", &h), ST_OK);
    char want[65];
    st_sha256_hex("written by another tool", 23, want);
    assert_string_equal(h.etag, want);
    assert_string_equal(h.content_type, "application/octet-stream");
    assert_int_equal(h.nmeta, 0);
    st_object_info_free(&h);
    st_list_iter_t *it;
    assert_int_equal(st_store_list(g_s, "for/", NULL, &it), ST_OK);
    const st_list_entry_t *e;
    assert_int_equal(st_list_next(it, &e), ST_OK);
    assert_non_null(e);
    assert_string_equal(e->key, "for/plain.txt");
    assert_string_equal(e->etag, want);
    assert_int_equal(e->size, 23);
    assert_int_equal(st_list_next(it, &e), ST_OK);
    assert_null(e);
    st_list_close(it);

    /* Changed in place by another tool: the sidecar no longer describes the
     * file, so the ETag comes from the content and the metadata is dropped
     * rather than attached to bytes it was not written with. */
    st_meta_pair_t meta[] = {{"k", "v"}};
    st_put_opts_t o = {.meta = meta, .nmeta = 1};
    st_object_info_t pi;
    assert_int_equal(st_store_put(g_s, "for/changed", "version one", 11, &o, &pi), ST_OK);
    write_file(P("for/changed"), "version two, longer");
    assert_int_equal(st_store_head(g_s, "for/changed", &h), ST_OK);
    st_sha256_hex("version two, longer", 19, want);
    assert_string_equal(h.etag, want);
    assert_string_not_equal(h.etag, pi.etag);
    assert_int_equal(h.nmeta, 0);
    st_object_info_free(&h);
    st_object_info_free(&pi);
    /* if-match against the true current ETag works. */
    o = (st_put_opts_t){.mode = ST_PUT_IF_MATCH, .if_match = want};
    assert_int_equal(st_store_put(g_s, "for/changed", "three", 5, &o, NULL), ST_OK);
}

/* A put stopped after it recorded the new version (in the sidecar, or on the
 * temporary file) but before the rename: readers still see the old object,
 * metadata and all; after the rename they see the new one with its metadata. */
static void test_crash_between_record_and_rename(void **state) {
    (void)state;
    st_meta_pair_t m1[] = {{"v", "1"}};
    st_put_opts_t o1 = {.content_type = "text/one", .meta = m1, .nmeta = 1};
    st_object_info_t v1;
    assert_int_equal(st_store_put(g_s, "crash/obj", "old content", 11, &o1, &v1), ST_OK);

    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", P("crash/.obj\\tmp-deadbeef"));
    write_file(tmp, "new content!");
    struct stat nsb, osb;
    assert_int_equal(stat(tmp, &nsb), 0);
    assert_int_equal(stat(P("crash/obj"), &osb), 0);
    fs_rec_t fresh;
    memset(&fresh, 0, sizeof fresh);
    fresh.ino = (uint64_t)nsb.st_ino;
    fresh.size = (uint64_t)nsb.st_size;
    fresh.mtime_ns = fs_mtime_ns(&nsb);
    st_sha256_hex("new content!", 12, fresh.etag);
    fresh.content_type = "text/two";
    fs_rec_t recs[FS_MAX_RECS];
    int n = 0;
    if (g_xattr) {
        int fd = open(tmp, O_RDWR);
        assert_true(fd >= 0);
        assert_int_equal(fs_xattr_write(fd, &fresh), 0);
        close(fd);
    } else {
        assert_int_equal(fs_side_read(P("crash/.obj\\meta"), recs, &n), ST_OK);
        assert_int_equal(n, 1);
        assert_true(fs_rec_matches(&recs[0], &osb));
        fs_rec_t both[2] = {fresh, recs[0]};
        assert_int_equal(fs_side_write(P("crash"), "obj", both, 2), ST_OK);
    }

    /* "Crash" here. */
    st_object_info_t h;
    assert_int_equal(st_store_head(g_s, "crash/obj", &h), ST_OK);
    assert_string_equal(h.etag, v1.etag);
    assert_string_equal(h.content_type, "text/one");
    assert_int_equal(h.nmeta, 1);
    st_object_info_free(&h);
    assert_int_equal(count_listed("crash/"), 1);

    /* The rename happens ("crash" after it instead). */
    assert_int_equal(rename(tmp, P("crash/obj")), 0);
    assert_int_equal(st_store_head(g_s, "crash/obj", &h), ST_OK);
    assert_string_equal(h.etag, fresh.etag);
    assert_string_equal(h.content_type, "text/two");
    assert_int_equal(h.nmeta, 0);
    st_object_info_free(&h);
    fs_recs_free(recs, n);
    st_object_info_free(&v1);

    /* The next put leaves records describing live files only. */
    assert_int_equal(st_store_put(g_s, "crash/obj", "third", 5, NULL, NULL), ST_OK);
    assert_int_equal(fs_side_read(P("crash/.obj\\meta"), recs, &n), ST_OK);
    assert_int_equal(n, g_xattr ? 0 : 2); /* sidecar: the new file and the one it replaced */
    fs_recs_free(recs, n);
}

/* A store used with and without attributes over time (a copy to another
 * file system, a changed URL): whichever record describes the file wins. */
static void test_mixed_records(void **state) {
    (void)state;
    char url[300];
    snprintf(url, sizeof url, "file://%s%s", g_root, g_xattr ? "?xattr=0" : "");
    st_store_t *other;
    assert_int_equal(st_store_open(url, &other), ST_OK);
    st_meta_pair_t ma[] = {{"from", "a"}}, mb[] = {{"from", "b"}};
    st_put_opts_t oa = {.meta = ma, .nmeta = 1}, ob = {.meta = mb, .nmeta = 1};
    assert_int_equal(st_store_put(g_s, "mixed/x", "first", 5, &oa, NULL), ST_OK);
    assert_int_equal(st_store_put(other, "mixed/x", "second", 6, &ob, NULL), ST_OK);
    st_object_info_t h;
    st_store_t *both[] = {g_s, other};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(st_store_head(both[i], "mixed/x", &h), ST_OK);
        assert_int_equal(h.size, 6);
        assert_string_equal(h.meta[0].value, "b");
        st_object_info_free(&h);
    }
    assert_int_equal(st_store_put(g_s, "mixed/x", "third!!", 7, &oa, NULL), ST_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(st_store_head(both[i], "mixed/x", &h), ST_OK);
        assert_int_equal(h.size, 7);
        assert_string_equal(h.meta[0].value, "a");
        st_object_info_free(&h);
    }
    st_store_close(other);
}

/* A put stopped before its record was written leaves only a hidden temporary
 * file: invisible, and no obstacle to the next put. */
static void test_crash_before_record(void **state) {
    (void)state;
    assert_int_equal(st_store_put(g_s, "crash2/obj", "kept", 4, NULL, NULL), ST_OK);
    write_file(P("crash2/.obj\\tmp-0badc0de"), "half writ");
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_store_get(g_s, "crash2/obj", &b, NULL), ST_OK);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "kept", 4);
    st_buf_free(&b);
    assert_int_equal(count_listed("crash2/"), 1);
    st_put_opts_t o = {.mode = ST_PUT_IF_ABSENT};
    assert_int_equal(st_store_put(g_s, "crash2/new", "n", 1, &o, NULL), ST_OK);
    assert_int_equal(count_listed("crash2/"), 2);
}

static void test_shape_conflicts(void **state) {
    (void)state;
    assert_int_equal(st_store_put(g_s, "shape/leaf", "x", 1, NULL, NULL), ST_OK);
    assert_int_equal(st_store_put(g_s, "shape/leaf/below", "y", 1, NULL, NULL), ST_EUNSUPPORTED);
    assert_non_null(strstr(st_errmsg(), "below another key"));
    assert_int_equal(st_store_put(g_s, "shape/dir/x", "x", 1, NULL, NULL), ST_OK);
    assert_int_equal(st_store_put(g_s, "shape/dir", "y", 1, NULL, NULL), ST_EUNSUPPORTED);
    assert_int_equal(st_store_head(g_s, "shape/dir", NULL), ST_ENOTFOUND);
    assert_int_equal(count_listed("shape/"), 2);
}

static void test_long_names(void **state) {
    (void)state;
    char key[600] = "long/";
    memset(key + 5, 'n', 250); /* 250 bytes: the hidden names are hashed */
    key[255] = '\0';
    st_meta_pair_t meta[] = {{"len", "250"}};
    st_put_opts_t o = {.meta = meta, .nmeta = 1};
    assert_int_equal(st_store_put(g_s, key, "L", 1, &o, NULL), ST_OK);
    st_object_info_t h;
    assert_int_equal(st_store_head(g_s, key, &h), ST_OK);
    assert_int_equal(h.nmeta, 1);
    st_object_info_free(&h);
    assert_int_equal(count_listed("long/"), 1);
    memset(key + 5, 'm', 300);
    key[305] = '\0';
    assert_int_equal(st_store_put(g_s, key, "L", 1, NULL, NULL), ST_EINVAL);
    assert_non_null(strstr(st_errmsg(), "too long"));
}

/* Writers replacing one object while readers read it: every read returns the
 * bytes of one version together with that version's ETag and metadata. */
typedef struct churn {
    int id;
    int bad;
} churn_t;

static void *churn_writer(void *arg) {
    churn_t *c = arg;
    for (int i = 0; i < 40; i++) {
        char body[256], hash[65];
        int n = snprintf(body, sizeof body, "writer %d version %d %.*s", c->id, i, 7 * (i % 13),
                         "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
                         "pppppppppppppppppp");
        st_sha256_hex(body, (size_t)n, hash);
        st_meta_pair_t m[] = {{"sha", hash}};
        st_put_opts_t o = {.meta = m, .nmeta = 1};
        if (st_store_put(g_s, "churn/obj", body, (size_t)n, &o, NULL)) c->bad++;
    }
    return NULL;
}

static void *churn_reader(void *arg) {
    churn_t *c = arg;
    for (int i = 0; i < 150; i++) {
        st_buf_t b = ST_BUF_INIT;
        st_object_info_t info;
        if (st_store_get(g_s, "churn/obj", &b, &info) == ST_OK) {
            char hash[65];
            st_sha256_hex(b.data ? (const void *)b.data : "", b.len, hash);
            if (strcmp(hash, info.etag) || info.size != b.len) c->bad++;
            if (info.nmeta != 1 || strcmp(info.meta[0].value, hash)) c->bad++;
            st_object_info_free(&info);
        }
        st_buf_free(&b);
    }
    return NULL;
}

static void test_concurrent_replace(void **state) {
    (void)state;
    assert_int_equal(st_store_put(g_s, "churn/obj", "seed", 4, NULL, NULL), ST_OK);
    /* The seed has no metadata: make it look like the others. */
    char hash[65];
    st_sha256_hex("seed", 4, hash);
    st_meta_pair_t m[] = {{"sha", hash}};
    st_put_opts_t o = {.meta = m, .nmeta = 1};
    assert_int_equal(st_store_put(g_s, "churn/obj", "seed", 4, &o, NULL), ST_OK);
    pthread_t t[8];
    churn_t c[8];
    for (int i = 0; i < 8; i++) {
        c[i] = (churn_t){i, 0};
        pthread_create(&t[i], NULL, i < 3 ? churn_writer : churn_reader, &c[i]);
    }
    int bad = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        bad += c[i].bad;
    }
    assert_int_equal(bad, 0);
    assert_int_equal(count_listed("churn/"), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_no_sync),
        cmocka_unit_test(test_foreign_files),
        cmocka_unit_test(test_crash_between_record_and_rename),
        cmocka_unit_test(test_crash_before_record),
        cmocka_unit_test(test_mixed_records),
        cmocka_unit_test(test_concurrent_replace),
        cmocka_unit_test(test_shape_conflicts),
        cmocka_unit_test(test_long_names),
    };
    int fails = cmocka_run_group_tests_name("file backend, records in extended attributes", tests,
                                            setup_xattr, teardown);
    fails += cmocka_run_group_tests_name("file backend, records in sidecars", tests, setup_sidecar,
                                         teardown);
    return fails ? 1 : 0;
}
