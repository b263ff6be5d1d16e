/* Repository (repo.h): changes by entity type and project, the index (markers,
 * pending markers, snapshot, compaction, reindex), query, config. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strata/repo.h"

typedef struct fx {
    st_store_t *store;
    st_registry_t *reg;
    const st_schema_t *schema;
    st_repo_t *repo;
    char url[64];
} fx_t;

static int counter;

static int setup(void **state) {
    fx_t *f = calloc(1, sizeof *f);
    snprintf(f->url, sizeof f->url, "mem://test-repo-%d-%d", (int)getpid(), counter++);
    assert_int_equal(st_store_open(f->url, &f->store), 0);
    assert_int_equal(st_registry_open(NULL, &f->reg), 0);
    assert_int_equal(st_registry_get(f->reg, "borelog_versions", &f->schema), 0);
    st_repo_opts_t o;
    memset(&o, 0, sizeof o);
    o.registry = f->reg;
    assert_int_equal(st_repo_open(f->store, &o, &f->repo), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx_t *f = *state;
    st_repo_close(f->repo);
    st_registry_free(f->reg);
    st_store_close(f->store);
    free(f);
    return 0;
}

/* rows rows of borelog_versions with depth_m = depth + row. */
static st_batch_t *batch(const fx_t *f, int rows, int depth) {
    st_batch_t *b;
    assert_int_equal(st_batch_new(st_schema_fields(f->schema), f->schema->nfields, &b), 0);
    for (int r = 0; r < rows; r++) {
        char d[32], v[16];
        snprintf(d, sizeof d, "%d.5", depth + r);
        snprintf(v, sizeof v, "%d", r + 1);
        const char *vals[] = {"6f1c1e4e-8d5c-4c1b-9d59-1b2a3c4d5e6f", v, "draft", d, "x", NULL, NULL,
                              "2024-05-01T10:00:00Z"};
        for (int c = 0; c < b->ncols; c++) {
            const char *t = c < 8 ? vals[c] : NULL;
            assert_int_equal(st_coerce_append(&b->cols[c], t ? t : "", t ? strlen(t) : 0), 0);
        }
        assert_int_equal(st_batch_end_row(b), 0);
    }
    return b;
}

static const st_repo_entry_t *find(const st_repo_list_t *l, const char *id) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->entries[i].record_id, id)) return &l->entries[i];
    return NULL;
}

static int count_keys(fx_t *f, const char *prefix) {
    st_list_iter_t *it;
    const st_list_entry_t *e;
    int n = 0;
    assert_int_equal(st_store_list(f->store, prefix, NULL, &it), 0);
    while (st_list_next(it, &e) == 0 && e) n++;
    st_list_close(it);
    return n;
}

static void test_lifecycle_and_list(void **state) {
    fx_t *f = *state;
    st_batch_t *b = batch(f, 3, 10);
    int v = 0;
    assert_int_equal(st_repo_create(f->repo, "borelog", "P1", "a", b, "alice", NULL, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(st_repo_create(f->repo, "borelog", "P1", "a", b, "alice", NULL, &v), ST_EEXIST);
    assert_int_equal(st_repo_update(f->repo, "borelog", "P1", "a", b, "bob", "fix", &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(st_repo_approve(f->repo, "borelog", "P1", "a", "carol", NULL), 0);
    assert_int_equal(st_repo_approve(f->repo, "borelog", "P1", "a", "carol", NULL), ST_ECONFLICT);
    assert_int_equal(st_repo_update(f->repo, "borelog", "P1", "a", b, "bob", NULL, &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(st_repo_create(f->repo, "borelog", "P1", "b", b, "alice", NULL, NULL), 0);
    assert_int_equal(st_repo_reject(f->repo, "borelog", "P1", "b", "carol", NULL), 0);
    assert_int_equal(st_repo_create(f->repo, "borelog", "P2", "c", b, "alice", NULL, NULL), 0);
    assert_int_equal(st_repo_update(f->repo, "borelog", "P1", "zz", b, "bob", NULL, NULL), ST_ENOTFOUND);

    st_repo_list_t l;
    assert_int_equal(st_repo_list_by_project(f->repo, "borelog", "P1", NULL, &l), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.resolved, 0); /* no pending marker left behind */
    const st_repo_entry_t *a = find(&l, "a"), *eb = find(&l, "b");
    assert_non_null(a);
    assert_non_null(eb);
    assert_int_equal(a->version, 3);
    assert_int_equal(a->status, ST_RECORD_DRAFT);
    assert_int_equal(a->approved_version, 2);
    assert_int_equal(a->seq, 4);
    assert_int_equal(eb->status, ST_RECORD_REJECTED);
    st_repo_list_free(&l);
    /* One marker per record: each change removed the one before. */
    assert_int_equal(count_keys(f, "repo/index/borelog/P1/m/"), 2);

    st_record_status_t rej = ST_RECORD_REJECTED;
    assert_int_equal(st_repo_list_by_project(f->repo, "borelog", "P1", &rej, &l), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.entries[0].record_id, "b");
    st_repo_list_free(&l);
    assert_int_equal(st_repo_list_by_project(f->repo, "borelog", "P2", NULL, &l), 0);
    assert_int_equal(l.n, 1);
    st_repo_list_free(&l);
    assert_int_equal(st_repo_list_by_project(f->repo, "borelog", "empty", NULL, &l), 0);
    assert_int_equal(l.n, 0);
    st_repo_list_free(&l);

    /* The records live where record.h says, under records/<entity>/<project>. */
    st_object_info_t info;
    memset(&info, 0, sizeof info);
    assert_int_equal(st_store_head(f->store, "records/borelog/P1/a/versions/v3.parquet", &info), 0);
    st_object_info_free(&info);
    st_record_state_t *s;
    assert_int_equal(st_repo_history(f->repo, "borelog", "P1", "a", &s), 0);
    assert_int_equal(s->nhistory, 4);
    st_record_state_free(s);
    st_batch_t *got;
    st_record_selector_t sel = {0, true, 0};
    assert_int_equal(st_repo_get(f->repo, "borelog", "P1", "a", &sel, &got), 0);
    assert_int_equal(got->nrows, 3);
    st_batch_free(got);
    st_batch_free(b);
}

static void test_bad_names(void **state) {
    fx_t *f = *state;
    st_batch_t *b = batch(f, 1, 1);
    assert_int_equal(st_repo_create(f->repo, "nosuch", "P1", "a", b, "u", NULL, NULL), ST_ENOTFOUND);
    assert_non_null(strstr(st_errmsg(), "Unknown entity type 'nosuch'"));
    assert_int_equal(st_repo_create(f->repo, "borelog", "../x", "a", b, "u", NULL, NULL), ST_EINVAL);
    assert_int_equal(st_repo_create(f->repo, "borelog", ".p", "a", b, "u", NULL, NULL), ST_EINVAL);
    assert_int_equal(st_repo_create(f->repo, "borelog", "P1", "a/b", b, "u", NULL, NULL), ST_EINVAL);
    st_repo_list_t l;
    assert_int_equal(st_repo_list_by_project(f->repo, "borelog", "P1", NULL, &l), 0);
    assert_int_equal(l.n, 0);
    st_repo_list_free(&l);
    /* Nothing was written: not even a pending marker. */
    assert_int_equal(count_keys(f, "repo/"), 0);
    st_batch_free(b);
}

/* A writer that died between its commit and its marker: the change is in the
 * log, the index marker is not, a pending marker is. */
static void test_crash_between_commit_and_marker(void **state) {
    fx_t *f = *state;
    st_batch_t *b = batch(f, 2, 1);
    assert_int_equal(st_repo_create(f->repo, "borelog", "P1", "a", b, "alice", NULL, NULL), 0);
    st_records_t *rec;
    assert_int_equal(st_repo_records(f->repo, "borelog", "P1", &rec), 0);
    /* The killed writer: pending marker, then the commit, then nothing. */
    assert_int_equal(st_store_put(f->store, "repo/index/borelog/P1/m/a~p0000000000000001-deadbeef", "", 0,
                                  &(st_put_opts_t){.mode = ST_PUT_IF_ABSENT}, NULL),
                     0);
    assert_int_equal(st_record_update(rec, "a", b, "bob", NULL, NULL), 0);
    assert_int_equal(st_record_approve(rec, "a", "carol", NULL), 0);
    st_repo_list_t l;
    assert_int_equal(st_repo_list_by_project(f->repo, "borelog", "P1", NULL, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.resolved, 1);
    assert_int_equal(l.entries[0].version, 2);
    assert_int_equal(l.entries[0].status, ST_RECORD_APPROVED);
    assert_int_equal(l.entries[0].seq, 3);
    st_repo_list_free(&l);

    /* A create that died after its pending marker, before any commit: the
     * listing reads the log, finds nothing and leaves the id out. */
    assert_int_equal(st_store_put(f->store, "repo/index/borelog/P1/m/ghost~p0000000000000001-00", "", 0,
                                  NULL, NULL),
                     0);
    assert_int_equal(st_repo_list_by_project(f->repo, "borelog", "P1", NULL, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.resolved, 2);
    st_repo_list_free(&l);

    /* Without the pending marker (an index written by hand, or lost), reindex
     * repairs from the records; stale pending markers (older than the
     * timeout) go. */
    assert_int_equal(st_store_delete(f->store, "repo/index/borelog/P1/m/a~p0000000000000001-deadbeef"), 0);
    assert_int_equal(st_record_update(rec, "a", b, "bob", NULL, NULL), 0); /* behind the index's back */
    int n = 0;
    assert_int_equal(st_repo_reindex(f->repo, "borelog", "P1", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(count_keys(f, "repo/index/borelog/P1/m/"), 0);
    assert_int_equal(st_repo_list_by_project(f->repo, "borelog", "P1", NULL, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.resolved, 0);
    assert_int_equal(l.entries[0].version, 3);
    assert_int_equal(l.entries[0].status, ST_RECORD_DRAFT);
    assert_int_equal(l.entries[0].approved_version, 2);
    st_repo_list_free(&l);
    st_batch_free(b);
}

/* Markers in any order and leftovers: the highest log position wins. */
static void test_markers_highest_seq_wins(void **state) {
    fx_t *f = *state;
    st_put_opts_t po = {.mode = ST_PUT_IF_ABSENT};
    assert_int_equal(st_store_put(f->store, "repo/index/borelog/P9/m/x~s0000000003~approved~2~2~100", "", 0, &po, NULL), 0);
    assert_int_equal(st_store_put(f->store, "repo/index/borelog/P9/m/x~s0000000002~draft~2~0~90", "", 0, &po, NULL), 0);
    assert_int_equal(st_store_put(f->store, "repo/index/borelog/P9/m/x.y~s0000000001~draft~1~0~80", "", 0, &po, NULL), 0);
    assert_int_equal(st_store_put(f->store, "repo/index/borelog/P9/m/junk-without-tilde", "", 0, &po, NULL), 0);
    st_repo_list_t l;
    assert_int_equal(st_repo_list_by_project(f->repo, "borelog", "P9", NULL, &l), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.entries[0].record_id, "x");
    assert_int_equal(l.entries[0].seq, 3);
    assert_int_equal(l.entries[0].status, ST_RECORD_APPROVED);
    assert_int_equal(l.entries[0].updated_at_us, 100);
    assert_string_equal(l.entries[1].record_id, "x.y");
    st_repo_list_free(&l);
}

static void test_compaction(void **state) {
    fx_t *f = *state;
    if (!(st_store_caps(f->store) & ST_CAP_PUT_IF_MATCH)) {
        assert_int_equal(st_repo_compact(f->repo, "borelog", "P1"), ST_EUNSUPPORTED);
        return;
    }
    st_batch_t *b = batch(f, 1, 1);
    char id[16];
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "r%02d", i);
        assert_int_equal(st_repo_create(f->repo, "borelog", "P1", id, b, "u", NULL, NULL), 0);
    }
    assert_int_equal(count_keys(f, "repo/index/borelog/P1/m/"), 20);
    assert_int_equal(st_repo_compact(f->repo, "borelog", "P1"), 0);
    assert_int_equal(count_keys(f, "repo/index/borelog/P1/m/"), 0);
    /* Changes after the compaction: markers newer than the snapshot win. */
    assert_int_equal(st_repo_approve(f->repo, "borelog", "P1", "r05", "boss", NULL), 0);
    st_repo_list_t l;
    assert_int_equal(st_repo_list_by_project(f->repo, "borelog", "P1", NULL, &l), 0);
    assert_int_equal(l.n, 20);
    assert_int_equal(l.markers, 1);
    assert_int_equal(find(&l, "r05")->status, ST_RECORD_APPROVED);
    assert_int_equal(find(&l, "r06")->status, ST_RECORD_DRAFT);
    st_repo_list_free(&l);
    /* A corrupt snapshot is reported, and reindex repairs it. */
    assert_int_equal(st_store_put(f->store, "repo/index/borelog/P1/snapshot", "garbage", 7, NULL, NULL), 0);
    assert_int_equal(st_repo_list_by_project(f->repo, "borelog", "P1", NULL, &l), ST_ECORRUPT);
    int n;
    assert_int_equal(st_repo_reindex(f->repo, "borelog", "P1", &n), 0);
    assert_int_equal(n, 20);
    assert_int_equal(st_repo_list_by_project(f->repo, "borelog", "P1", NULL, &l), 0);
    assert_int_equal(l.n, 20);
    assert_int_equal(find(&l, "r05")->status, ST_RECORD_APPROVED);
    st_repo_list_free(&l);
    st_batch_free(b);
}

static void test_query(void **state) {
    fx_t *f = *state;
    st_batch_t *b1 = batch(f, 3, 10), *b2 = batch(f, 2, 100);
    assert_int_equal(st_repo_create(f->repo, "borelog", "Q", "a", b1, "u", NULL, NULL), 0);
    assert_int_equal(st_repo_approve(f->repo, "borelog", "Q", "a", "boss", NULL), 0);
    assert_int_equal(st_repo_update(f->repo, "borelog", "Q", "a", b2, "u", NULL, NULL), 0);
    assert_int_equal(st_repo_create(f->repo, "borelog", "Q", "b", b2, "u", NULL, NULL), 0);

    /* Latest versions: a v2 (2 rows) + b v1 (2 rows), filtered on depth. */
    const char *cols[] = {"depth_m"};
    st_repo_query_opts_t o = {false, NULL, cols, 1, "depth_m >= 101", -1};
    st_repo_query_t *q;
    assert_int_equal(st_repo_query_open(f->repo, "borelog", "Q", &o, &q), 0);
    int rows = 0, batches = 0;
    st_batch_t *out;
    const char *rid;
    int ver;
    while (st_repo_query_next(q, &out, &rid, &ver) == 0 && out) {
        assert_int_equal(out->ncols, 1);
        assert_int_equal(ver, !strcmp(rid, "a") ? 2 : 1);
        rows += (int)out->nrows;
        batches++;
        st_batch_free(out);
    }
    st_repo_query_close(q);
    assert_int_equal(rows, 2);
    assert_int_equal(batches, 2);

    /* Latest approved: only a, at v1 (3 rows). */
    st_repo_query_opts_t oa = {true, NULL, NULL, 0, NULL, -1};
    assert_int_equal(st_repo_query_open(f->repo, "borelog", "Q", &oa, &q), 0);
    rows = 0;
    while (st_repo_query_next(q, &out, &rid, &ver) == 0 && out) {
        assert_string_equal(rid, "a");
        assert_int_equal(ver, 1);
        rows += (int)out->nrows;
        st_batch_free(out);
    }
    st_repo_query_close(q);
    assert_int_equal(rows, 3);

    /* A limit spans records; a bad filter fails up front. */
    st_repo_query_opts_t ol = {false, NULL, NULL, 0, NULL, 3};
    assert_int_equal(st_repo_query_open(f->repo, "borelog", "Q", &ol, &q), 0);
    rows = 0;
    while (st_repo_query_next(q, &out, NULL, NULL) == 0 && out) {
        rows += (int)out->nrows;
        st_batch_free(out);
    }
    st_repo_query_close(q);
    assert_int_equal(rows, 3);
    st_repo_query_opts_t ob = {false, NULL, NULL, 0, "depth_m >", -1};
    assert_int_equal(st_repo_query_open(f->repo, "borelog", "Q", &ob, &q), ST_EINVAL);
    /* No record has an approved version: an empty table, not an error. */
    assert_int_equal(st_repo_create(f->repo, "borelog", "Q2", "c", b1, "u", NULL, NULL), 0);
    assert_int_equal(st_repo_query_open(f->repo, "borelog", "Q2", &oa, &q), 0);
    assert_int_equal(st_repo_query_next(q, &out, &rid, &ver), 0);
    assert_null(out);
    st_repo_query_close(q);
    st_batch_free(b1);
    st_batch_free(b2);
}

static void test_config(void **state) {
    fx_t *f = *state;
    const char *cfg = "{\"entity_types\": {\"log\": {\"table\": \"borelog_versions\"}}}";
    assert_int_equal(st_store_put(f->store, "repo/config.json", cfg, strlen(cfg), NULL, NULL), 0);
    st_repo_t *r2;
    st_repo_opts_t o;
    memset(&o, 0, sizeof o);
    o.registry = f->reg;
    assert_int_equal(st_repo_open(f->store, &o, &r2), 0);
    assert_int_equal(st_repo_entity_count(r2), 1);
    const char *table;
    assert_int_equal(st_repo_entity_table(r2, "log", &table), 0);
    assert_string_equal(table, "borelog_versions");
    assert_int_equal(st_repo_entity_table(r2, "borelog", &table), ST_ENOTFOUND);
    st_repo_close(r2);
    const char *bad = "{\"entity_types\": {\"log\": {\"table\": \"no_such_table\"}}}";
    assert_int_equal(st_store_put(f->store, "repo/config.json", bad, strlen(bad), NULL, NULL), 0);
    assert_int_equal(st_repo_open(f->store, &o, &r2), ST_EINVAL);
    assert_non_null(strstr(st_errmsg(), "no_such_table"));
    /* A local file given by path wins over the store's. */
    char path[] = "/tmp/strata-repo-cfg-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, cfg, strlen(cfg)), (ssize_t)strlen(cfg));
    close(fd);
    o.config_path = path;
    assert_int_equal(st_repo_open(f->store, &o, &r2), 0);
    assert_int_equal(st_repo_entity_count(r2), 1);
    st_repo_close(r2);
    unlink(path);
    /* The built-in mapping names only tables of the built-in pack. */
    assert_int_equal(st_repo_entity_table(f->repo, "lab_report", &table), 0);
    assert_string_equal(table, "lab_report_versions");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lifecycle_and_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_between_commit_and_marker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_markers_highest_seq_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
