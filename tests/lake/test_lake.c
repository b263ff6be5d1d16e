/*
 * The lake's operations and errors on mem://, file:// and (with
 * STRATA_TEST_STORE_URL) any other store: store / retrieve / by path, list,
 * update with versions, delete with tombstones, purge, stats, types, the
 * validation rules, conflicts, integrity checks, a second handle with its own
 * index following the first through the journal, and index recovery.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>

#include "lake_test_util.h"

typedef struct {
    char url[8192];
    char index[4200];
    st_store_t *store;
    st_lake_t *lake;
} fx_t;

static void must(int rc, const char *what) {
    if (rc) fail_msg("%s: %s (%s)", what, st_strerror(rc), st_errmsg());
}

static int setup(void **state) {
    fx_t *f = calloc(1, sizeof *f);
    snprintf(f->url, sizeof f->url, "%s", lt_new_url());
    snprintf(f->index, sizeof f->index, "%s", lt_new_index());
    if (st_store_open(f->url, &f->store)) {
        fprintf(stderr, "open %s: %s\n", f->url, st_errmsg());
        return -1;
    }
    st_lake_opts_t o = {.index_path = f->index};
    if (st_lake_open(f->store, &o, &f->lake)) {
        fprintf(stderr, "lake open %s: %s\n", f->url, st_errmsg());
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx_t *f = *state;
    st_lake_close(f->lake);
    st_store_close(f->store);
    free(f);
    return 0;
}

static void put(fx_t *f, const char *name, const char *text, const char *type, const char *meta,
                const char *sub, st_lake_entry_t *out) {
    must(st_lake_store(f->lake, name, text, strlen(text), type, meta, sub, out), name);
}

static bool exists(fx_t *f, const char *key) {
    st_object_info_t info;
    int rc = st_store_head(f->store, key, &info);
    if (!rc) st_object_info_free(&info);
    return rc == ST_OK;
}

/* A second handle on the same store with its own index (another process or
 * host, as far as the lake can tell). */
static void other(fx_t *f, st_store_t **s, st_lake_t **l, const char *index) {
    must(st_store_open(f->url, s), "open second store");
    st_lake_opts_t o = {.index_path = index};
    must(st_lake_open(*s, &o, l), "open second lake");
}

/* ---- store and retrieve ---- */

static void test_store_retrieve(void **state) {
    fx_t *f = *state;
    st_lake_entry_t e, r;
    put(f, "user_schema.sql", "CREATE TABLE users (id INT, name VARCHAR(100));", "schema",
        "{\"version\":\"1.0\",\"database\":\"production\"}", NULL, &e);
    assert_string_equal(e.path, "lake/schema/user_schema.sql");
    assert_int_equal(e.version, 1);
    assert_true(e.is_text);
    assert_int_equal(e.size, strlen("CREATE TABLE users (id INT, name VARCHAR(100));"));
    assert_true(exists(f, "lake/schema/user_schema.sql"));
    char key[256];
    snprintf(key, sizeof key, "lake/.metadata/%s.json", e.id);
    assert_true(exists(f, key));
    must(st_lake_retrieve(f->lake, e.id, &r), "retrieve");
    assert_string_equal(r.id, e.id);
    assert_string_equal(r.name, "user_schema.sql");
    assert_string_equal(r.data_type, "schema");
    assert_string_equal((char *)r.content, "CREATE TABLE users (id INT, name VARCHAR(100));");
    assert_int_equal(r.content_len, e.size);
    assert_string_equal(r.metadata_json, "{\"version\":\"1.0\",\"database\":\"production\"}");
    assert_true(r.created_at_us > 0 && r.created_at_us == r.updated_at_us);
    st_buf_t j = ST_BUF_INIT;
    must(st_lake_entry_json(&r, true, &j), "json");
    st_buf_append_byte(&j, 0);
    assert_true(!strncmp((char *)j.data, "{\"id\":\"", 7));
    assert_non_null(strstr((char *)j.data, "\"content\":\"CREATE TABLE users"));
    st_buf_free(&j);
    st_lake_entry_free(&r);
    st_lake_entry_free(&e);
}

static void test_binary_and_subpath(void **state) {
    fx_t *f = *state;
    uint8_t bin[300];
    for (int i = 0; i < 300; i++) bin[i] = (uint8_t)(i * 7);
    st_lake_entry_t e, r;
    must(st_lake_store(f->lake, "macro.xlsm", bin, sizeof bin, "macro", "{\"author\":\"fin\"}",
                       "finance/2023-10-27", &e),
         "store binary");
    assert_false(e.is_text);
    assert_string_equal(e.path, "lake/macro/finance/2023-10-27/macro.xlsm");
    must(st_lake_retrieve_by_path(f->lake, "lake/macro/finance/2023-10-27/macro.xlsm", &r),
         "by path");
    assert_string_equal(r.id, e.id);
    assert_int_equal(r.content_len, sizeof bin);
    assert_memory_equal(r.content, bin, sizeof bin);
    st_buf_t j = ST_BUF_INIT;
    must(st_lake_entry_json(&r, true, &j), "json");
    st_buf_append_byte(&j, 0);
    assert_non_null(strstr((char *)j.data, "\"content_base64\":\"AAcOFRwj"));
    st_buf_free(&j);
    st_lake_entry_free(&r);
    must(st_lake_retrieve_by_path(f->lake, "macro/finance/2023-10-27/macro.xlsm", &r), "short");
    assert_string_equal(r.id, e.id);
    st_lake_entry_free(&r);
    assert_int_equal(st_lake_retrieve_by_path(f->lake, "macro/finance/nope.xlsm", &r),
                     ST_ENOTFOUND);
    assert_non_null(strstr(st_errmsg(), "lake/macro/finance/nope.xlsm"));
    assert_int_equal(st_lake_retrieve_by_path(f->lake, "../lake/macro/x", &r), ST_EVALIDATION);
    assert_int_equal(st_lake_retrieve_by_path(f->lake, ".metadata/x.json", &r), ST_EVALIDATION);
    /* An object in the lake's area that no entry wrote. */
    must(st_store_put(f->store, "lake/other/stray", "x", 1, NULL, NULL), "stray");
    assert_int_equal(st_lake_retrieve_by_path(f->lake, "other/stray", &r), ST_ENOTFOUND);
    assert_non_null(strstr(st_errmsg(), "not a lake entry"));
    /* Empty content is fine. */
    st_lake_entry_t z;
    must(st_lake_store(f->lake, "empty.txt", "", 0, "other", NULL, NULL, &z), "empty");
    must(st_lake_retrieve(f->lake, z.id, &r), "retrieve empty");
    assert_int_equal(r.content_len, 0);
    assert_string_equal(r.metadata_json, "{}");
    st_lake_entry_free(&r);
    st_lake_entry_free(&z);
    st_lake_entry_free(&e);
}

static void test_validation(void **state) {
    fx_t *f = *state;
    st_lake_entry_t e;
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    char longsub[600];
    memset(longsub, 'b', sizeof longsub - 1);
    longsub[sizeof longsub - 1] = 0;
    static const struct {
        const char *name, *type, *meta, *sub, *msg;
    } bad[] = {
        {"", "schema", NULL, NULL, "empty"},
        {NULL, "schema", NULL, NULL, "empty"},
        {"a/b.sql", "schema", NULL, NULL, "contains '/'"},
        {"..", "schema", NULL, NULL, ".."},
        {".", "schema", NULL, NULL, "lake entry name"},
        {"bad\nname", "schema", NULL, NULL, "control"},
        {"tab\tname", "schema", NULL, NULL, "control"},
        {"ok.sql", "schema", NULL, "../../etc", ".."},
        {"ok.sql", "schema", NULL, "/abs", "lake subpath"},
        {"ok.sql", "schema", NULL, "a//b", "lake subpath"},
        {"ok.sql", "schema", NULL, "a/../../b", ".."},
        {"ok.sql", "schema", NULL, "x\x01y", "control"},
        {"ok.sql", "schema", NULL, "a/", "lake subpath"},
        {"ok.sql", "nosuchtype", NULL, NULL, "unknown"},
        {"ok.sql", "", NULL, NULL, "empty"},
        {"ok.sql", "../x", NULL, NULL, "unknown"},
        {"ok.sql", "schema", "[1,2]", NULL, "must be a JSON object"},
        {"ok.sql", "schema", "\"s\"", NULL, "must be a JSON object"},
        {"ok.sql", "schema", "{bad json", NULL, "not valid JSON"},
        {"ok.sql", "schema", "{\"a\":1,\"a\":2}", NULL, "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = st_lake_store(f->lake, bad[i].name, "x", 1, bad[i].type, bad[i].meta, bad[i].sub,
                               &e);
        if (rc != ST_EVALIDATION)
            fail_msg("case %zu: got %s (%s)", i, st_strerror(rc), st_errmsg());
        if (!strstr(st_errmsg(), bad[i].msg))
            fail_msg("case %zu: message '%s' lacks '%s'", i, st_errmsg(), bad[i].msg);
    }
    assert_int_equal(st_lake_store(f->lake, longname, "x", 1, "schema", NULL, NULL, &e),
                     ST_EVALIDATION);
    assert_non_null(strstr(st_errmsg(), "at most 255"));
    assert_int_equal(st_lake_store(f->lake, "x", "x", 1, "schema", NULL, longsub, &e),
                     ST_EVALIDATION);
    assert_non_null(strstr(st_errmsg(), "at most 512"));
    assert_int_equal(st_lake_retrieve(f->lake, "not-a-uuid", &e), ST_EVALIDATION);
    assert_int_equal(st_lake_retrieve(f->lake, "../../etc/passwd", &e), ST_EVALIDATION);
    assert_int_equal(st_lake_update(f->lake, "0a0a0a0a-0000-4000-8000-000000000000", NULL, 0,
                                    "[]", NULL),
                     ST_EVALIDATION);
    /* Nothing was written anywhere. */
    st_list_iter_t *it;
    must(st_store_list(f->store, "lake/", NULL, &it), "list");
    const st_list_entry_t *le;
    int objects = 0;
    while (st_list_next(it, &le) == ST_OK && le) objects += !strstr(le->key, "lake/.lake.json");
    st_list_close(it);
    assert_int_equal(objects, 0);
}

static void test_not_found(void **state) {
    fx_t *f = *state;
    st_lake_entry_t e;
    const char *id = "6f1e3c2a-9b7d-4c1e-8a2b-3c4d5e6f7a8b";
    assert_int_equal(st_lake_retrieve(f->lake, id, &e), ST_ENOTFOUND);
    assert_non_null(strstr(st_errmsg(), id));
    assert_int_equal(st_lake_update(f->lake, id, "x", 1, NULL, NULL), ST_ENOTFOUND);
    assert_int_equal(st_lake_delete(f->lake, id), ST_ENOTFOUND);
    assert_int_equal(st_lake_purge(f->lake, id), ST_ENOTFOUND);
    st_lake_version_t *v;
    size_t n;
    assert_int_equal(st_lake_versions(f->lake, id, &v, &n), ST_ENOTFOUND);
    assert_int_equal(st_lake_retrieve_version(f->lake, id, 1, &e), ST_ENOTFOUND);
}

static void test_conflict_same_path(void **state) {
    fx_t *f = *state;
    st_lake_entry_t a;
    put(f, "cfg.json", "{}", "configuration", NULL, "svc", &a);
    assert_int_equal(st_lake_store(f->lake, "cfg.json", "{\"x\":1}", 7, "configuration", NULL,
                                   "svc", NULL),
                     ST_ECONFLICT);
    assert_non_null(strstr(st_errmsg(), "lake/configuration/svc/cfg.json"));
    /* The first entry is untouched. */
    st_lake_entry_t r;
    must(st_lake_retrieve(f->lake, a.id, &r), "retrieve");
    assert_string_equal((char *)r.content, "{}");
    st_lake_entry_free(&r);
    /* Same name elsewhere is fine. */
    put(f, "cfg.json", "{}", "configuration", NULL, "svc2", NULL);
    put(f, "cfg.json", "{}", "schema", NULL, "svc", NULL);
    st_lake_entry_free(&a);
}

/* ---- update and versions ---- */

static void test_update_versions(void **state) {
    fx_t *f = *state;
    st_lake_entry_t e, u, r;
    put(f, "schema.sql", "CREATE TABLE a (x INT);", "schema", "{\"version\":\"2.1\",\"keep\":1}",
        NULL, &e);
    must(st_lake_update(f->lake, e.id, "-- v2\nCREATE TABLE b ();", 24,
                        "{\"version\":\"2.0\",\"updated_by\":\"admin\",\"keep\":null}", &u),
         "update");
    assert_int_equal(u.version, 2);
    assert_true(u.updated_at_us >= e.updated_at_us);
    assert_int_equal(u.created_at_us, e.created_at_us);
    assert_string_equal(u.metadata_json, "{\"version\":\"2.0\",\"updated_by\":\"admin\"}");
    st_lake_entry_free(&u);
    /* Metadata only: no new version. */
    must(st_lake_update(f->lake, e.id, NULL, 0, "{\"reviewed\":true}", &u), "meta update");
    assert_int_equal(u.version, 2);
    st_lake_entry_free(&u);
    must(st_lake_update(f->lake, e.id, "v3", 2, NULL, &u), "update 3");
    assert_int_equal(u.version, 3);
    st_lake_entry_free(&u);
    st_lake_version_t *v;
    size_t n;
    must(st_lake_versions(f->lake, e.id, &v, &n), "versions");
    assert_int_equal(n, 3);
    assert_int_equal(v[0].version, 1);
    assert_int_equal(v[0].size, 23);
    assert_int_equal(v[2].version, 3);
    assert_int_equal(v[2].size, 2);
    free(v);
    must(st_lake_retrieve_version(f->lake, e.id, 1, &r), "v1");
    assert_string_equal((char *)r.content, "CREATE TABLE a (x INT);");
    st_lake_entry_free(&r);
    must(st_lake_retrieve_version(f->lake, e.id, 2, &r), "v2");
    assert_string_equal((char *)r.content, "-- v2\nCREATE TABLE b ();");
    st_lake_entry_free(&r);
    must(st_lake_retrieve(f->lake, e.id, &r), "current");
    assert_string_equal((char *)r.content, "v3");
    assert_non_null(strstr(r.metadata_json, "\"reviewed\":true"));
    st_lake_entry_free(&r);
    assert_int_equal(st_lake_retrieve_version(f->lake, e.id, 4, &r), ST_ENOTFOUND);
    assert_non_null(strstr(st_errmsg(), "no version 4"));
    assert_int_equal(st_lake_update(f->lake, e.id, NULL, 0, NULL, NULL), ST_EVALIDATION);
    assert_int_equal(st_lake_update(f->lake, e.id, NULL, 0, "7", NULL), ST_EVALIDATION);
    st_lake_entry_free(&e);
}

/* Two handles update the same entry from stale reads: exactly one version
 * per successful update, the losers get ST_ECONFLICT. */
struct racer {
    fx_t *f;
    const char *id;
    int idx;
    int rc;
};

static void *race_update(void *p) {
    struct racer *r = p;
    char text[64];
    int n = snprintf(text, sizeof text, "content from racer %d", r->idx);
    r->rc = st_lake_update(r->f->lake, r->id, text, (size_t)n, NULL, NULL);
    return NULL;
}

static void test_concurrent_updates(void **state) {
    fx_t *f = *state;
    st_lake_entry_t e, r;
    put(f, "race.txt", "original", "other", NULL, NULL, &e);
    enum { N = 6 };
    pthread_t t[N];
    struct racer rs[N];
    for (int i = 0; i < N; i++) {
        rs[i] = (struct racer){f, e.id, i, 0};
        pthread_create(&t[i], NULL, race_update, &rs[i]);
    }
    int wins = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        if (rs[i].rc == ST_OK) wins++;
        else if (rs[i].rc != ST_ECONFLICT) fail_msg("racer %d: %s", i, st_strerror(rs[i].rc));
    }
    assert_true(wins >= 1);
    must(st_lake_retrieve(f->lake, e.id, &r), "retrieve");
    assert_int_equal(r.version, 1 + wins);
    assert_int_equal(r.nversions, (size_t)(1 + wins));
    assert_non_null(strstr((char *)r.content, "content from racer"));
    for (int v = 1; v <= r.version; v++) {
        st_lake_entry_t old;
        must(st_lake_retrieve_version(f->lake, e.id, v, &old), "old version");
        st_lake_entry_free(&old);
    }
    st_lake_entry_free(&r);
    st_lake_entry_free(&e);
}

/* ---- delete, tombstones, purge ---- */

static void test_delete_purge(void **state) {
    fx_t *f = *state;
    st_lake_entry_t e, r;
    put(f, "notes.md", "quarterly zeppelin notes", "documentation", NULL, "team", &e);
    must(st_lake_update(f->lake, e.id, "quarterly zeppelin notes v2", 27, NULL, NULL), "update");
    must(st_lake_delete(f->lake, e.id), "delete");
    assert_int_equal(st_lake_retrieve(f->lake, e.id, &r), ST_ENOTFOUND);
    assert_non_null(strstr(st_errmsg(), "deleted"));
    assert_int_equal(st_lake_delete(f->lake, e.id), ST_ENOTFOUND);
    assert_int_equal(st_lake_update(f->lake, e.id, "x", 1, NULL, NULL), ST_ENOTFOUND);
    assert_false(exists(f, "lake/documentation/team/notes.md"));
    assert_int_equal(st_lake_retrieve_by_path(f->lake, "documentation/team/notes.md", &r),
                     ST_ENOTFOUND);
    /* Gone from list, search and stats; the versions remain readable. */
    st_lake_entry_t *list;
    size_t n;
    must(st_lake_list(f->lake, NULL, NULL, true, &list, &n), "list");
    assert_int_equal(n, 0);
    st_lake_entries_free(list, n);
    st_lake_hit_t *hits;
    must(st_lake_search(f->lake, "zeppelin", NULL, &hits, &n), "search");
    assert_int_equal(n, 0);
    st_lake_hits_free(hits, n);
    st_lake_stats_t s;
    must(st_lake_stats(f->lake, &s), "stats");
    assert_int_equal(s.total_entries, 0);
    assert_int_equal(s.deleted_entries, 1);
    st_lake_stats_free(&s);
    must(st_lake_retrieve_version(f->lake, e.id, 2, &r), "v2 after delete");
    assert_string_equal((char *)r.content, "quarterly zeppelin notes v2");
    assert_true(r.deleted);
    st_lake_entry_free(&r);
    /* The path is free for a new entry. */
    st_lake_entry_t e2;
    put(f, "notes.md", "new notes", "documentation", NULL, "team", &e2);
    /* Purge removes every trace of the old one and leaves the new one. */
    must(st_lake_purge(f->lake, e.id), "purge");
    assert_int_equal(st_lake_retrieve_version(f->lake, e.id, 1, &r), ST_ENOTFOUND);
    char key[256];
    snprintf(key, sizeof key, "lake/.versions/%s/v1", e.id);
    assert_false(exists(f, key));
    snprintf(key, sizeof key, "lake/.metadata/%s.json", e.id);
    assert_false(exists(f, key));
    assert_int_equal(st_lake_purge(f->lake, e.id), ST_ENOTFOUND);
    must(st_lake_retrieve_by_path(f->lake, "documentation/team/notes.md", &r), "new by path");
    assert_string_equal(r.id, e2.id);
    st_lake_entry_free(&r);
    /* Purging a live entry removes its content too. */
    must(st_lake_purge(f->lake, e2.id), "purge live");
    assert_false(exists(f, "lake/documentation/team/notes.md"));
    must(st_lake_stats(f->lake, &s), "stats");
    assert_int_equal(s.total_entries + s.deleted_entries, 0);
    st_lake_stats_free(&s);
    st_lake_entry_free(&e2);
    st_lake_entry_free(&e);
}

/* ---- list, stats, types ---- */

static void test_list_stats(void **state) {
    fx_t *f = *state;
    put(f, "a.sql", "aaaa", "schema", NULL, NULL, NULL);
    put(f, "b.sql", "bb", "schema", NULL, "prod", NULL);
    put(f, "c.sql", "c", "schema", NULL, "prod/eu", NULL);
    put(f, "d.sql", "d", "schema", NULL, "production", NULL);
    put(f, "m.vba", "Sub X()", "macro", NULL, "prod", NULL);
    st_lake_entry_t *l;
    size_t n;
    must(st_lake_list(f->lake, "schema", NULL, false, &l, &n), "top");
    assert_int_equal(n, 1);
    assert_string_equal(l[0].path, "lake/schema/a.sql");
    st_lake_entries_free(l, n);
    must(st_lake_list(f->lake, "schema", NULL, true, &l, &n), "all schema");
    assert_int_equal(n, 4);
    st_lake_entries_free(l, n);
    must(st_lake_list(f->lake, "schema", "prod", false, &l, &n), "prod");
    assert_int_equal(n, 1);
    assert_string_equal(l[0].name, "b.sql");
    st_lake_entries_free(l, n);
    must(st_lake_list(f->lake, "schema", "prod", true, &l, &n), "prod recursive");
    assert_int_equal(n, 2); /* prod and prod/eu, not production */
    assert_string_equal(l[0].path, "lake/schema/prod/b.sql");
    assert_string_equal(l[1].path, "lake/schema/prod/eu/c.sql");
    st_lake_entries_free(l, n);
    must(st_lake_list(f->lake, NULL, "prod", false, &l, &n), "any type in prod");
    assert_int_equal(n, 2);
    st_lake_entries_free(l, n);
    assert_int_equal(st_lake_list(f->lake, "bogus", NULL, true, &l, &n), ST_EVALIDATION);
    assert_int_equal(st_lake_list(f->lake, NULL, "../x", true, &l, &n), ST_EVALIDATION);
    st_lake_stats_t s;
    must(st_lake_stats(f->lake, &s), "stats");
    assert_int_equal(s.total_entries, 5);
    assert_int_equal(s.total_size, 4 + 2 + 1 + 1 + 7);
    assert_int_equal(s.ntypes, 2);
    assert_string_equal(s.by_type[0].data_type, "macro");
    assert_int_equal(s.by_type[0].entries, 1);
    assert_string_equal(s.by_type[1].data_type, "schema");
    assert_int_equal(s.by_type[1].entries, 4);
    assert_int_equal(s.by_type[1].size, 8);
    st_lake_stats_free(&s);
}

static void test_types(void **state) {
    fx_t *f = *state;
    assert_int_equal(st_lake_store(f->lake, "w.dxf", "x", 1, "drawing", NULL, NULL, NULL),
                     ST_EVALIDATION);
    assert_non_null(strstr(st_errmsg(), "'drawing' is unknown"));
    assert_int_equal(st_lake_register_type(f->lake, "Bad Type"), ST_EVALIDATION);
    assert_int_equal(st_lake_register_type(f->lake, ".metadata"), ST_EVALIDATION);
    must(st_lake_register_type(f->lake, "drawing"), "register");
    must(st_lake_register_type(f->lake, "drawing"), "register twice");
    put(f, "w.dxf", "x", "drawing", NULL, NULL, NULL);
    char **t;
    size_t n;
    must(st_lake_types(f->lake, &t, &n), "types");
    assert_int_equal(n, 7);
    assert_string_equal(t[0], "schema");
    assert_string_equal(t[6], "drawing");
    st_lake_types_free(t, n);
    /* Another handle learns the type from the store. */
    st_store_t *s2;
    st_lake_t *l2;
    other(f, &s2, &l2, lt_new_index());
    must(st_lake_store(l2, "v.dxf", "y", 1, "drawing", NULL, NULL, NULL), "store in second");
    st_lake_close(l2);
    st_store_close(s2);
}

/* ---- search basics (quality has its own test) ---- */

static void test_search(void **state) {
    fx_t *f = *state;
    put(f, "user_schema.sql", "CREATE TABLE users (id INT, name VARCHAR(100));", "schema",
        "{\"database\":\"production\",\"owner\":{\"team\":\"core\"}}", "db", NULL);
    put(f, "orders.sql", "CREATE TABLE orders (id INT, user_id INT);", "schema",
        "{\"database\":\"staging\"}", "db/archive", NULL);
    put(f, "readme.md", "How users are created: see the users table.", "documentation", NULL,
        NULL, NULL);
    st_lake_hit_t *h;
    size_t n;
    must(st_lake_search(f->lake, "\"CREATE TABLE users\"", NULL, &h, &n), "phrase");
    assert_int_equal(n, 1);
    assert_string_equal(h[0].entry.name, "user_schema.sql");
    if (!strstr(h[0].snippet, "[CREATE TABLE users]")) fail_msg("snippet: %s", h[0].snippet);
    assert_true(h[0].score > 0);
    st_lake_hits_free(h, n);
    must(st_lake_search(f->lake, "users", NULL, &h, &n), "word");
    assert_int_equal(n, 2);
    st_lake_hits_free(h, n);
    st_lake_search_opts_t o = {.data_type = "schema"};
    must(st_lake_search(f->lake, "users", &o, &h, &n), "typed");
    assert_int_equal(n, 1);
    st_lake_hits_free(h, n);
    o = (st_lake_search_opts_t){.subpath = "db"};
    must(st_lake_search(f->lake, "create", &o, &h, &n), "subpath recursive");
    assert_int_equal(n, 2);
    st_lake_hits_free(h, n);
    st_lake_filter_t mf[] = {{"database", "staging"}};
    o = (st_lake_search_opts_t){.meta = mf, .nmeta = 1};
    must(st_lake_search(f->lake, "create", &o, &h, &n), "meta filter");
    assert_int_equal(n, 1);
    assert_string_equal(h[0].entry.name, "orders.sql");
    st_lake_hits_free(h, n);
    st_lake_filter_t nested[] = {{"owner.team", "core"}};
    o = (st_lake_search_opts_t){.meta = nested, .nmeta = 1, .mark_open = "<b>",
                                .mark_close = "</b>"};
    must(st_lake_search(f->lake, "TABLE", &o, &h, &n), "nested filter");
    assert_int_equal(n, 1);
    assert_non_null(strstr(h[0].snippet, "<b>TABLE</b>"));
    st_lake_hits_free(h, n);
    /* Metadata values and names are searchable; punctuation is harmless. */
    must(st_lake_search(f->lake, "production", NULL, &h, &n), "metadata value");
    assert_int_equal(n, 1);
    st_lake_hits_free(h, n);
    must(st_lake_search(f->lake, "user_schema.sql", NULL, &h, &n), "name with punctuation");
    assert_int_equal(n, 1);
    st_lake_hits_free(h, n);
    must(st_lake_search(f->lake, "ord*", NULL, &h, &n), "prefix");
    assert_int_equal(n, 1);
    st_lake_hits_free(h, n);
    must(st_lake_search(f->lake, "orders OR readme", NULL, &h, &n), "or");
    assert_int_equal(n, 2);
    st_lake_hits_free(h, n);
    must(st_lake_search(f->lake, "users NOT orders", NULL, &h, &n), "not");
    assert_int_equal(n, 2);
    st_lake_hits_free(h, n);
    o = (st_lake_search_opts_t){.limit = 1};
    must(st_lake_search(f->lake, "create OR users", &o, &h, &n), "limit");
    assert_int_equal(n, 1);
    st_lake_hits_free(h, n);
    assert_int_equal(st_lake_search(f->lake, "", NULL, &h, &n), ST_EVALIDATION);
    assert_int_equal(st_lake_search(f->lake, "  ... ;; ", NULL, &h, &n), ST_EVALIDATION);
    assert_int_equal(st_lake_search(f->lake, "users AND", NULL, &h, &n), ST_EVALIDATION);
    assert_non_null(strstr(st_errmsg(), "users AND"));
    assert_int_equal(st_lake_search(f->lake, "(users", NULL, &h, &n), ST_EVALIDATION);
    o = (st_lake_search_opts_t){.data_type = "nope"};
    assert_int_equal(st_lake_search(f->lake, "users", &o, &h, &n), ST_EVALIDATION);
    /* Odd input is searched, never executed as FTS5 syntax. */
    must(st_lake_search(f->lake, "name: \"unterminated col:x NEAR(a b) ^x", NULL, &h, &n),
         "hostile");
    st_lake_hits_free(h, n);
}

/* ---- a second handle, the journal, recovery ---- */

static void test_second_handle(void **state) {
    fx_t *f = *state;
    st_store_t *s2;
    st_lake_t *l2;
    char idx2[4200];
    snprintf(idx2, sizeof idx2, "%s", lt_new_index());
    other(f, &s2, &l2, idx2);
    st_lake_hit_t *h;
    size_t n;
    must(st_lake_search(l2, "walrus", NULL, &h, &n), "empty");
    assert_int_equal(n, 0);
    st_lake_hits_free(h, n);
    st_lake_entry_t e;
    put(f, "animals.txt", "the walrus and the carpenter", "other", NULL, NULL, &e);
    must(st_lake_search(l2, "walrus", NULL, &h, &n), "after store");
    assert_int_equal(n, 1);
    assert_string_equal(h[0].entry.id, e.id);
    st_lake_hits_free(h, n);
    must(st_lake_update(f->lake, e.id, "the oyster and the carpenter", 28, NULL, NULL), "update");
    must(st_lake_search(l2, "walrus", NULL, &h, &n), "after update");
    assert_int_equal(n, 0);
    st_lake_hits_free(h, n);
    must(st_lake_search(l2, "oyster", NULL, &h, &n), "after update 2");
    assert_int_equal(n, 1);
    st_lake_hits_free(h, n);
    /* The second handle writes; the first sees it. */
    st_lake_entry_t e2;
    must(st_lake_store(l2, "more.txt", "a walrus again", 14, "other", NULL, NULL, &e2), "store 2");
    must(st_lake_search(f->lake, "walrus", NULL, &h, &n), "first sees second");
    assert_int_equal(n, 1);
    assert_string_equal(h[0].entry.id, e2.id);
    st_lake_hits_free(h, n);
    must(st_lake_delete(f->lake, e.id), "delete");
    must(st_lake_purge(f->lake, e2.id), "purge");
    st_lake_entry_t *l;
    must(st_lake_list(l2, NULL, NULL, true, &l, &n), "list after delete");
    assert_int_equal(n, 0);
    st_lake_entries_free(l, n);
    st_lake_stats_t s;
    must(st_lake_stats(l2, &s), "stats");
    assert_int_equal(s.deleted_entries, 1);
    st_lake_stats_free(&s);
    /* The journal has no gaps: 1..6 (store, update, store, delete, purge... ). */
    st_list_iter_t *it;
    must(st_store_list(f->store, "lake/.journal/", NULL, &it), "journal");
    const st_list_entry_t *le;
    int k = 0;
    while (st_list_next(it, &le) == ST_OK && le) {
        char want[64];
        snprintf(want, sizeof want, "lake/.journal/%016d.json", ++k);
        assert_string_equal(le->key, want);
    }
    st_list_close(it);
    assert_int_equal(k, 5);
    st_lake_entry_free(&e);
    st_lake_entry_free(&e2);
    st_lake_close(l2);
    st_store_close(s2);
}

static void copy_file(const char *from, const char *to) {
    st_buf_t b = ST_BUF_INIT;
    must(st_read_file(from, &b), from);
    FILE *fp = fopen(to, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b.data, 1, b.len, fp), b.len);
    fclose(fp);
    st_buf_free(&b);
}

static void test_index_recovery(void **state) {
    fx_t *f = *state;
    char idx2[4200], saved[4300];
    snprintf(idx2, sizeof idx2, "%s", lt_new_index());
    snprintf(saved, sizeof saved, "%s.saved", idx2);
    st_store_t *s2;
    st_lake_t *l2;
    put(f, "one.txt", "alpha bravo", "other", NULL, NULL, NULL);
    other(f, &s2, &l2, idx2);
    st_lake_stats_t s;
    must(st_lake_stats(l2, &s), "stats");
    assert_int_equal(s.total_entries, 1);
    st_lake_stats_free(&s);
    st_lake_close(l2); /* checkpoints: the file alone is the index */
    copy_file(idx2, saved);
    /* More changes, then the index comes back as it was (a crash that lost
     * the last writes, or a backup): it catches up from its position. */
    st_lake_entry_t e;
    put(f, "two.txt", "charlie delta", "other", NULL, NULL, &e);
    must(st_lake_update(f->lake, e.id, "charlie echo", 12, NULL, NULL), "update");
    must(st_lake_open(s2, &(st_lake_opts_t){.index_path = idx2}, &l2), "reopen");
    st_lake_hit_t *h;
    size_t n;
    must(st_lake_search(l2, "echo", NULL, &h, &n), "search");
    assert_int_equal(n, 1);
    st_lake_hits_free(h, n);
    st_lake_close(l2);
    copy_file(saved, idx2);
    char side[4300];
    snprintf(side, sizeof side, "%s-wal", idx2);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", idx2);
    unlink(side);
    must(st_lake_open(s2, &(st_lake_opts_t){.index_path = idx2}, &l2), "reopen old");
    must(st_lake_search(l2, "echo", NULL, &h, &n), "search old");
    assert_int_equal(n, 1);
    st_lake_hits_free(h, n);
    must(st_lake_search(l2, "delta", NULL, &h, &n), "search old 2");
    assert_int_equal(n, 0);
    st_lake_hits_free(h, n);
    st_lake_close(l2);
    /* A garbage index file is rebuilt, never trusted. */
    FILE *fp = fopen(idx2, "wb");
    fputs("this is not a database, not at all, not even close to one.............", fp);
    fclose(fp);
    must(st_lake_open(s2, &(st_lake_opts_t){.index_path = idx2}, &l2), "open garbage");
    must(st_lake_search(l2, "alpha", NULL, &h, &n), "search rebuilt");
    assert_int_equal(n, 1);
    st_lake_hits_free(h, n);
    /* Reindex from the store alone gives the same answers. */
    must(st_lake_reindex(l2), "reindex");
    st_lake_entry_t *l;
    must(st_lake_list(l2, NULL, NULL, true, &l, &n), "list");
    assert_int_equal(n, 2);
    st_lake_entries_free(l, n);
    must(st_lake_search(l2, "charlie", NULL, &h, &n), "search after reindex");
    assert_int_equal(n, 1);
    assert_int_equal(h[0].entry.version, 2);
    st_lake_hits_free(h, n);
    st_lake_close(l2);
    st_store_close(s2);
    st_lake_entry_free(&e);
}

/* A writer that stored an entry but died before its journal record: the
 * entry is retrievable, and a reindex shows it to every index. */
static void test_unjournaled_entry(void **state) {
    fx_t *f = *state;
    st_lake_entry_t e;
    put(f, "seen.txt", "kiwi", "other", NULL, NULL, &e);
    /* Remove the last journal record, as if the writer had crashed. */
    must(st_store_delete(f->store, "lake/.journal/0000000000000001.json"), "drop record");
    st_store_t *s2;
    st_lake_t *l2;
    other(f, &s2, &l2, lt_new_index());
    st_lake_entry_t r;
    must(st_lake_retrieve(l2, e.id, &r), "retrieve");
    st_lake_entry_free(&r);
    st_lake_hit_t *h;
    size_t n;
    must(st_lake_reindex(l2), "reindex");
    must(st_lake_search(l2, "kiwi", NULL, &h, &n), "search");
    assert_int_equal(n, 1);
    st_lake_hits_free(h, n);
    /* The next writer (the crashed one is gone) fills number 1 again; nobody
     * is left behind. */
    st_store_t *s3;
    st_lake_t *l3;
    other(f, &s3, &l3, lt_new_index());
    must(st_lake_store(l3, "next.txt", "mango", 5, "other", NULL, NULL, NULL), "store next");
    st_lake_close(l3);
    st_store_close(s3);
    must(st_lake_search(l2, "mango", NULL, &h, &n), "search next");
    assert_int_equal(n, 1);
    st_lake_hits_free(h, n);
    st_lake_close(l2);
    st_store_close(s2);
    st_lake_entry_free(&e);
}

/* ---- integrity and interrupted writes ---- */

static void test_integrity(void **state) {
    fx_t *f = *state;
    st_lake_entry_t e, r;
    put(f, "data.csv", "a,b\n1,2\n", "other", NULL, NULL, &e);
    /* Someone changed the bytes behind the lake's back. */
    must(st_store_put(f->store, e.path, "a,b\n1,3\n", 8, NULL, NULL), "tamper");
    assert_int_equal(st_lake_retrieve(f->lake, e.id, &r), ST_ECORRUPT);
    assert_non_null(strstr(st_errmsg(), "SHA-256"));
    /* An update interrupted after saving v1 and replacing the path: retrieve
     * still gives v1 (the saved copy), and the next update completes. */
    must(st_store_put(f->store, e.path, "a,b\n1,2\n", 8, NULL, NULL), "restore");
    char key[256];
    snprintf(key, sizeof key, "lake/.versions/%s/v1", e.id);
    must(st_store_put(f->store, key, "a,b\n1,2\n", 8, NULL, NULL), "saved copy");
    must(st_store_put(f->store, e.path, "half-written update", 19, NULL, NULL), "path replaced");
    must(st_lake_retrieve(f->lake, e.id, &r), "retrieve after crash");
    assert_string_equal((char *)r.content, "a,b\n1,2\n");
    st_lake_entry_free(&r);
    must(st_lake_update(f->lake, e.id, "a,b\n9,9\n", 8, NULL, NULL), "update after crash");
    must(st_lake_retrieve(f->lake, e.id, &r), "retrieve v2");
    assert_string_equal((char *)r.content, "a,b\n9,9\n");
    st_lake_entry_free(&r);
    must(st_lake_retrieve_version(f->lake, e.id, 1, &r), "v1");
    assert_string_equal((char *)r.content, "a,b\n1,2\n");
    st_lake_entry_free(&r);
    /* A malformed entry file is reported as corrupt, naming it. */
    snprintf(key, sizeof key, "lake/.metadata/%s.json", e.id);
    must(st_store_put(f->store, key, "{\"id\":1}", 8, NULL, NULL), "break entry");
    assert_int_equal(st_lake_retrieve(f->lake, e.id, &r), ST_ECORRUPT);
    assert_non_null(strstr(st_errmsg(), key));
    st_lake_entry_free(&e);
}

/* Many threads storing through one handle: every entry is indexed and the
 * journal stays contiguous. */
struct storer {
    fx_t *f;
    int idx;
    int rc;
};

static void *store_many(void *p) {
    struct storer *s = p;
    for (int i = 0; i < 10 && !s->rc; i++) {
        char name[64], text[128];
        snprintf(name, sizeof name, "t%d-%d.txt", s->idx, i);
        int n = snprintf(text, sizeof text, "thread%d item%d common", s->idx, i);
        s->rc = st_lake_store(s->f->lake, name, text, (size_t)n, "logs", NULL, NULL, NULL);
    }
    return NULL;
}

static void test_threads(void **state) {
    fx_t *f = *state;
    enum { T = 4 };
    pthread_t t[T];
    struct storer s[T];
    for (int i = 0; i < T; i++) {
        s[i] = (struct storer){f, i, 0};
        pthread_create(&t[i], NULL, store_many, &s[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(s[i].rc, ST_OK);
    }
    st_lake_hit_t *h;
    size_t n;
    st_store_t *s2;
    st_lake_t *l2;
    other(f, &s2, &l2, lt_new_index());
    must(st_lake_search(l2, "thread3 item9", NULL, &h, &n), "second");
    assert_int_equal(n, 1);
    st_lake_hits_free(h, n);
    st_lake_close(l2);
    st_store_close(s2);
    /* The writers' index updates (applied in batches by whichever writer
     * held the index) must all be in this handle's index already: with the
     * journal gone, nothing could be replayed to make up for a lost one. */
    st_list_iter_t *it;
    const st_list_entry_t *le;
    char keys[64][256];
    int nk = 0;
    must(st_store_list(f->store, "lake/.journal/", NULL, &it), "list journal");
    while (st_list_next(it, &le) == ST_OK && le && nk < 64)
        if (!le->is_prefix) snprintf(keys[nk++], sizeof keys[0], "%s", le->key);
    st_list_close(it);
    assert_int_equal(nk, 40);
    for (int i = 0; i < nk; i++) must(st_store_delete(f->store, keys[i]), "delete journal");
    st_lake_search_opts_t o = {.limit = 100};
    must(st_lake_search(f->lake, "common", &o, &h, &n), "search");
    assert_int_equal(n, 40);
    st_lake_hits_free(h, n);
}

static int run_suite(const char *label) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_retrieve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_and_subpath, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_same_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_updates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unjournaled_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integrity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };
    char name[256];
    snprintf(name, sizeof name, "lake on %s", label);
    return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}

int main(void) {
    lt_init();
    if (lt_base) return run_suite(lt_base) ? 1 : 0;
    int fails = 0;
    lt_kind = 0;
    fails += run_suite("mem://");
    lt_kind = 1;
    fails += run_suite("file://");
    return fails ? 1 : 0;
}
