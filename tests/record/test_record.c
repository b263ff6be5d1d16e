/* Record lifecycle on mem:// and file://: every rule of record.h with its
 * message, reads (latest, version, approved, as of a time), validation that
 * writes nothing, the metadata.json layout, the approver policy, a crashed
 * writer's orphan being completed, a stale or hand-edited snapshot, and
 * threads racing to update and approve one record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata/record.h"

static const char schema_json[] =
    "{\"name\": \"things\", \"primary_key\": [\"id\"], \"fields\": ["
    "{\"name\": \"id\", \"type\": \"int32\", \"nullable\": false},"
    "{\"name\": \"label\", \"type\": \"string\"},"
    "{\"name\": \"depth\", \"type\": \"double\", \"min\": 0}]}";

static int g_no;
static char g_dir[256];

typedef struct {
    st_store_t *store;
    st_records_t *r;
    st_schema_t *schema;
} fx_t;

static void fx_open(fx_t *f, bool on_disk, bool policy) {
    char url[512];
    if (on_disk) {
        snprintf(url, sizeof url, "file://%s/s%d", g_dir, ++g_no);
    } else {
        snprintf(url, sizeof url, "mem://rec%d-%d", (int)getpid(), ++g_no);
    }
    if (st_store_open(url, &f->store)) fail_msg("%s: %s", url, st_errmsg());
    st_records_opts_t o = {.approver_not_author = policy};
    if (st_records_open(f->store, &o, &f->r)) fail_msg("open: %s", st_errmsg());
    if (st_schema_parse(schema_json, strlen(schema_json), "things", &f->schema))
        fail_msg("schema: %s", st_errmsg());
}

/* A new handle on the same store: what another process would see (a handle
 * remembers the states it saw, so changes made behind its back by deleting
 * objects, as the crash and tamper tests do, need a fresh one). */
static void fx_reopen(fx_t *f, bool policy) {
    st_records_close(f->r);
    st_records_opts_t o = {.approver_not_author = policy};
    if (st_records_open(f->store, &o, &f->r)) fail_msg("open: %s", st_errmsg());
}

static void fx_close(fx_t *f) {
    st_records_close(f->r);
    st_store_close(f->store);
    st_schema_free(f->schema);
}

/* n rows: id = base + i, label "row<i>", depth = d. */
static st_batch_t *rows(const fx_t *f, int base, int n, double d) {
    st_batch_t *b;
    assert_int_equal(st_batch_new(st_schema_fields(f->schema), f->schema->nfields, &b), 0);
    for (int i = 0; i < n; i++) {
        char label[32];
        snprintf(label, sizeof label, "row%d", base + i);
        assert_int_equal(st_col_append_i64(&b->cols[0], base + i), 0);
        assert_int_equal(st_col_append_bytes(&b->cols[1], label, strlen(label)), 0);
        assert_int_equal(st_col_append_double(&b->cols[2], d), 0);
        assert_int_equal(st_batch_end_row(b), 0);
    }
    return b;
}

static void expect_msg(int rc, int code, const char *text) {
    if (rc != code || !strstr(st_errmsg(), text))
        fail_msg("expected %s '%s', got %s '%s'", st_strerror(code), text, st_strerror(rc),
                 st_errmsg());
}

static int count_keys(st_store_t *s, const char *prefix) {
    st_list_iter_t *it;
    assert_int_equal(st_store_list(s, prefix, NULL, &it), 0);
    int n = 0;
    const st_list_entry_t *e;
    while (st_list_next(it, &e) == 0 && e)
        n++;
    st_list_close(it);
    return n;
}

static int create(fx_t *f, const char *id, int base, const char *by) {
    st_batch_t *b = rows(f, base, 3, 1.5);
    int v = 0, rc = st_record_create(f->r, id, b, NULL, f->schema, by, "Initial creation", &v);
    st_batch_free(b);
    if (!rc) assert_int_equal(v, 1);
    return rc;
}

static int update(fx_t *f, const char *id, int base, const char *by, int *v) {
    st_batch_t *b = rows(f, base, 2, 2.5);
    int rc = st_record_update(f->r, id, b, by, "more rows", v);
    st_batch_free(b);
    return rc;
}

static st_record_state_t *state(fx_t *f, const char *id) {
    st_record_state_t *s;
    if (st_record_get_state(f->r, id, &s)) fail_msg("state: %s", st_errmsg());
    return s;
}

static int64_t first_id(fx_t *f, const char *id, const st_record_selector_t *sel) {
    st_batch_t *b;
    if (st_record_read(f->r, id, sel, &b)) fail_msg("read: %s", st_errmsg());
    int64_t v = st_col_get_i64(&b->cols[0], 0);
    st_batch_free(b);
    return v;
}

/* ---- lifecycle ---- */

static void lifecycle(bool on_disk) {
    fx_t f;
    fx_open(&f, on_disk, false);
    int v = 0;
    expect_msg(update(&f, "bh-1", 10, "alice", &v), ST_ENOTFOUND, "Record does not exist");
    expect_msg(st_record_approve(f.r, "bh-1", "bob", NULL), ST_ENOTFOUND, "Record does not exist");
    assert_int_equal(create(&f, "bh-1", 0, "alice"), 0);
    expect_msg(create(&f, "bh-1", 0, "alice"), ST_EEXIST, "Record already exists");

    st_record_state_t *s = state(&f, "bh-1");
    assert_int_equal(s->current_version, 1);
    assert_int_equal(s->status, ST_RECORD_DRAFT);
    assert_string_equal(s->created_by, "alice");
    assert_string_equal(s->table_name, "things");
    assert_null(s->approved_by);
    assert_int_equal(s->nhistory, 1);
    assert_string_equal(s->history[0].comment, "Initial creation");
    assert_int_equal(strlen(s->history[0].version_sha256), 64);
    assert_string_equal(s->history[0].prev_sha256, "");
    st_record_state_free(s);

    assert_int_equal(update(&f, "bh-1", 10, "alice", &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(st_record_approve(f.r, "bh-1", "bob", "ok"), 0);
    expect_msg(st_record_approve(f.r, "bh-1", "bob", NULL), ST_ECONFLICT, "Already approved");
    expect_msg(st_record_reject(f.r, "bh-1", "bob", NULL), ST_ECONFLICT, "Cannot reject approved");
    s = state(&f, "bh-1");
    assert_int_equal(s->status, ST_RECORD_APPROVED);
    assert_string_equal(s->approved_by, "bob");
    assert_true(s->approved_at_us > 0);
    assert_int_equal(s->nhistory, 3);
    assert_int_equal(s->history[2].kind, ST_EVENT_APPROVE);
    assert_int_equal(s->history[2].version, 2);
    assert_int_equal(strlen(s->history[2].prev_sha256), 64);
    st_record_state_free(s);

    assert_int_equal(update(&f, "bh-1", 20, "carol", &v), 0);
    assert_int_equal(v, 3);
    s = state(&f, "bh-1");
    assert_int_equal(s->status, ST_RECORD_DRAFT);
    assert_null(s->approved_by); /* the approval belonged to v2 */
    st_record_state_free(s);
    assert_int_equal(st_record_reject(f.r, "bh-1", "bob", "bad depths"), 0);
    expect_msg(st_record_reject(f.r, "bh-1", "bob", NULL), ST_ECONFLICT, "Already rejected");
    expect_msg(st_record_approve(f.r, "bh-1", "bob", NULL), ST_ECONFLICT,
               "Cannot approve rejected");
    s = state(&f, "bh-1");
    assert_int_equal(s->status, ST_RECORD_REJECTED);
    assert_string_equal(s->rejected_by, "bob");
    assert_null(s->approved_by);
    assert_int_equal(s->nhistory, 5);
    st_record_state_free(s);

    /* approve / reject write no Parquet: three versions, three files. */
    assert_int_equal(count_keys(f.store, "records/bh-1/versions/"), 3);
    assert_int_equal(count_keys(f.store, "records/bh-1/log/"), 5);

    int *vs, n;
    assert_int_equal(st_record_versions(f.r, "bh-1", &vs, &n), 0);
    assert_int_equal(n, 3);
    for (int i = 0; i < n; i++)
        assert_int_equal(vs[i], i + 1);
    free(vs);

    /* A rejected record becomes a draft again by an update. */
    assert_int_equal(update(&f, "bh-1", 30, "carol", &v), 0);
    assert_int_equal(v, 4);
    assert_int_equal(st_record_approve(f.r, "bh-1", "dave", NULL), 0);
    fx_close(&f);
}

static void test_lifecycle_mem(void **st) {
    (void)st;
    lifecycle(false);
}
static void test_lifecycle_file(void **st) {
    (void)st;
    lifecycle(true);
}

/* ---- reads ---- */

static void reads(bool on_disk) {
    fx_t f;
    fx_open(&f, on_disk, false);
    int v;
    assert_int_equal(create(&f, "r", 100, "alice"), 0);
    int64_t t1 = st_now_us();
    usleep(2000);
    assert_int_equal(update(&f, "r", 200, "alice", &v), 0);
    assert_int_equal(st_record_approve(f.r, "r", "bob", NULL), 0);
    int64_t t2 = st_now_us();
    usleep(2000);
    assert_int_equal(update(&f, "r", 300, "alice", &v), 0);

    st_record_selector_t latest = {0}, v1 = {.version = 1}, appr = {.approved = true};
    st_record_selector_t at1 = {.as_of_us = t1}, at2 = {.as_of_us = t2};
    assert_int_equal(first_id(&f, "r", NULL), 300);
    assert_int_equal(first_id(&f, "r", &latest), 300);
    assert_int_equal(first_id(&f, "r", &v1), 100);
    assert_int_equal(first_id(&f, "r", &appr), 200);
    assert_int_equal(first_id(&f, "r", &at1), 100);
    assert_int_equal(first_id(&f, "r", &at2), 200);

    st_batch_t *b;
    assert_int_equal(st_record_read(f.r, "r", &v1, &b), 0);
    assert_int_equal(b->nrows, 3);
    size_t n;
    const uint8_t *label = st_col_get_bytes(&b->cols[1], 2, &n);
    assert_int_equal(n, 6);
    assert_memory_equal(label, "row102", 6);
    st_batch_free(b);

    st_record_selector_t v9 = {.version = 9}, early = {.as_of_us = 1000};
    expect_msg(st_record_read(f.r, "r", &v9, &b), ST_ENOTFOUND, "no version 9");
    expect_msg(st_record_read(f.r, "r", &early, &b), ST_ENOTFOUND, "did not exist yet");
    expect_msg(st_record_read(f.r, "nope", NULL, &b), ST_ENOTFOUND, "Record does not exist");
    int got;
    assert_int_equal(st_record_resolve(f.r, "r", &appr, &got), 0);
    assert_int_equal(got, 2);

    /* No approved version yet. */
    assert_int_equal(create(&f, "fresh", 1, "alice"), 0);
    expect_msg(st_record_read(f.r, "fresh", &appr, &b), ST_ENOTFOUND, "no approved version");

    char *key = st_record_version_key(f.r, "r", 2);
    assert_string_equal(key, "records/r/versions/v2.parquet");
    free(key);
    st_schema_t *sc;
    assert_int_equal(st_record_schema(f.r, "r", &sc), 0);
    assert_string_equal(sc->name, "things");
    assert_int_equal(sc->nfields, 3);
    st_schema_free(sc);
    fx_close(&f);
}

static void test_reads_mem(void **st) {
    (void)st;
    reads(false);
}
static void test_reads_file(void **st) {
    (void)st;
    reads(true);
}

/* ---- metadata.json: the seed layout ---- */

static void test_metadata_layout(void **st) {
    (void)st;
    fx_t f;
    fx_open(&f, false, false);
    int v;
    assert_int_equal(create(&f, "borelog-001", 0, "user-123"), 0);
    assert_int_equal(update(&f, "borelog-001", 5, "user-123", &v), 0);
    assert_int_equal(st_record_approve(f.r, "borelog-001", "approver-456", "Approved"), 0);
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_record_metadata_json(f.r, "borelog-001", &b), 0);
    json_t *o = json_loadb((const char *)b.data, b.len, 0, NULL);
    assert_non_null(o);
    static const char *keys[] = {"record_id",  "table_name",  "current_version", "status",
                                 "created_by", "created_at",  "approved_by",     "approved_at",
                                 "rejected_by", "rejected_at", "history"};
    const char *k;
    json_t *val;
    int i = 0;
    json_object_foreach(o, k, val) {
        if (i < 11) assert_string_equal(k, keys[i]);
        i++;
    }
    assert_true(i >= 11);
    assert_string_equal(json_string_value(json_object_get(o, "record_id")), "borelog-001");
    assert_int_equal(json_integer_value(json_object_get(o, "current_version")), 2);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "approved");
    assert_string_equal(json_string_value(json_object_get(o, "approved_by")), "approver-456");
    assert_true(json_is_null(json_object_get(o, "rejected_by")));
    assert_true(json_is_null(json_object_get(o, "rejected_at")));
    const char *at = json_string_value(json_object_get(o, "created_at"));
    int64_t us;
    assert_int_equal(st_parse_timestamp(at, 6, &us), 0);
    json_t *h = json_object_get(o, "history");
    assert_int_equal(json_array_size(h), 3);
    static const char *hkeys[] = {"version", "status", "created_by", "created_at", "comment"};
    for (size_t j = 0; j < 3; j++) {
        json_t *e = json_array_get(h, j);
        i = 0;
        json_object_foreach(e, k, val) {
            if (i < 5) assert_string_equal(k, hkeys[i]);
            i++;
        }
    }
    json_t *last = json_array_get(h, 2);
    assert_int_equal(json_integer_value(json_object_get(last, "version")), 2);
    assert_string_equal(json_string_value(json_object_get(last, "status")), "approved");
    assert_string_equal(json_string_value(json_object_get(last, "created_by")), "approver-456");
    assert_string_equal(json_string_value(json_object_get(last, "comment")), "Approved");
    json_decref(o);
    /* The stored snapshot is the same document. */
    st_buf_t stored = ST_BUF_INIT;
    assert_int_equal(st_store_get(f.store, "records/borelog-001/metadata.json", &stored, NULL), 0);
    assert_int_equal(stored.len, b.len);
    assert_memory_equal(stored.data, b.data, b.len);
    st_buf_free(&stored);
    st_buf_free(&b);
    fx_close(&f);
}

/* ---- validation ---- */

static void test_validation_writes_nothing(void **st) {
    (void)st;
    fx_t f;
    fx_open(&f, false, false);
    st_batch_t *bad = rows(&f, 0, 2, -1.0); /* depth below its minimum */
    expect_msg(st_record_create(f.r, "v", bad, NULL, f.schema, "alice", NULL, NULL),
               ST_EVALIDATION, "below the minimum");
    assert_int_equal(count_keys(f.store, ""), 0);
    assert_int_equal(create(&f, "v", 0, "alice"), 0);
    int n0 = count_keys(f.store, "");
    expect_msg(st_record_update(f.r, "v", bad, "alice", NULL, NULL), ST_EVALIDATION, "depth");
    assert_int_equal(count_keys(f.store, ""), n0);
    st_batch_free(bad);
    /* A repeated primary key. */
    st_batch_t *dup = rows(&f, 0, 2, 1.0);
    st_batch_t *one = rows(&f, 0, 1, 1.0);
    assert_int_equal(st_col_append_i64(&dup->cols[0], 0), 0);
    assert_int_equal(st_col_append_null(&dup->cols[1]), 0);
    assert_int_equal(st_col_append_double(&dup->cols[2], 1), 0);
    assert_int_equal(st_batch_end_row(dup), 0);
    expect_msg(st_record_update(f.r, "v", dup, "alice", NULL, NULL), ST_EVALIDATION,
               "primary key");
    st_batch_free(dup);
    st_batch_free(one);
    /* Columns that are not the table's. */
    st_field_t other[] = {{"x", {.id = ST_TYPE_INT32}, true}};
    st_batch_t *wrong;
    assert_int_equal(st_batch_new(other, 1, &wrong), 0);
    expect_msg(st_record_update(f.r, "v", wrong, "alice", NULL, NULL), ST_EVALIDATION,
               "1 columns, table things has 3");
    st_batch_free(wrong);
    assert_int_equal(count_keys(f.store, ""), n0);
    st_record_state_t *s = state(&f, "v");
    assert_int_equal(s->current_version, 1);
    st_record_state_free(s);
    /* Bad ids and users are refused before any I/O. */
    st_batch_t *ok = rows(&f, 0, 1, 1.0);
    expect_msg(st_record_create(f.r, "../x", ok, NULL, f.schema, "a", NULL, NULL), ST_EINVAL,
               "record id");
    expect_msg(st_record_create(f.r, ".hidden", ok, NULL, f.schema, "a", NULL, NULL), ST_EINVAL,
               "starts with '.'");
    expect_msg(st_record_create(f.r, "x", ok, NULL, f.schema, "", NULL, NULL), ST_EINVAL,
               "created_by");
    expect_msg(st_record_create(f.r, "x", ok, "no_such_table", NULL, "a", NULL, NULL),
               ST_ENOTFOUND, "no_such_table");
    st_batch_free(ok);
    assert_int_equal(count_keys(f.store, ""), n0);
    fx_close(&f);
}

/* A table from a registry directory, looked up by name. */
static void test_registry_table(void **st) {
    (void)st;
    char dir[300], path[400];
    snprintf(dir, sizeof dir, "%s/reg", g_dir);
    snprintf(path, sizeof path, "%s/things.json", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(schema_json, fp);
    fclose(fp);
    st_registry_t *reg;
    assert_int_equal(st_registry_open(dir, &reg), 0);
    fx_t f;
    fx_open(&f, false, false);
    st_records_close(f.r);
    st_records_opts_t o = {.registry = reg};
    assert_int_equal(st_records_open(f.store, &o, &f.r), 0);
    st_batch_t *b = rows(&f, 0, 2, 3.0);
    int v;
    assert_int_equal(st_record_create(f.r, "t1", b, "things", NULL, "alice", NULL, &v), 0);
    st_batch_free(b);
    b = rows(&f, 0, 2, -3.0);
    expect_msg(st_record_update(f.r, "t1", b, "alice", NULL, NULL), ST_EVALIDATION, "depth");
    st_batch_free(b);
    st_record_state_t *s = state(&f, "t1");
    assert_string_equal(s->table_name, "things");
    st_record_state_free(s);
    fx_close(&f);
    st_registry_free(reg);
}

/* ---- approver policy ---- */

static void test_approver_policy(void **st) {
    (void)st;
    fx_t f;
    fx_open(&f, false, false);
    assert_int_equal(create(&f, "p", 0, "alice"), 0);
    assert_int_equal(st_record_approve(f.r, "p", "alice", NULL), 0); /* off by default */
    fx_close(&f);

    fx_open(&f, false, true);
    int v;
    assert_int_equal(create(&f, "p", 0, "alice"), 0);
    expect_msg(st_record_approve(f.r, "p", "alice", NULL), ST_ECONFLICT,
               "Approver is the author");
    assert_int_equal(update(&f, "p", 5, "bob", &v), 0);
    /* The author of the version counts, not of the record. */
    expect_msg(st_record_approve(f.r, "p", "bob", NULL), ST_ECONFLICT, "Approver is the author");
    assert_int_equal(st_record_reject(f.r, "p", "bob", NULL), 0); /* rejecting is allowed */
    assert_int_equal(update(&f, "p", 6, "bob", &v), 0);
    assert_int_equal(st_record_approve(f.r, "p", "alice", NULL), 0);
    fx_close(&f);
}

/* ---- crashes ---- */

static void test_crash_orphan_completed(void **st) {
    (void)st;
    fx_t f;
    fx_open(&f, false, false);
    int v;
    assert_int_equal(create(&f, "c", 0, "alice"), 0);
    assert_int_equal(update(&f, "c", 10, "alice", &v), 0);
    /* A writer that stopped after putting v2 and before its log entry: take
     * the entry and the snapshot away again, keep the file and the old
     * snapshot. */
    st_buf_t snap1 = ST_BUF_INIT;
    assert_int_equal(st_store_delete(f.store, "records/c/log/0000000002.json"), 0);
    assert_int_equal(st_store_delete(f.store, "records/c/metadata.json"), 0);
    fx_reopen(&f, false);
    st_record_state_t *s = state(&f, "c");
    assert_int_equal(s->current_version, 1); /* still readable */
    st_record_state_free(s);
    assert_int_equal(first_id(&f, "c", NULL), 0);
    st_buf_t rep = ST_BUF_INIT;
    int problems;
    assert_int_equal(st_record_verify(f.r, "c", &rep, &problems), 0);
    assert_int_equal(problems, 0);
    assert_non_null(strstr((const char *)rep.data, "pending"));
    st_buf_free(&rep);
    /* The next writer completes v2 for its author, and loses that version. */
    expect_msg(update(&f, "c", 20, "bob", &v), ST_ECONFLICT, "Version 2 was created by alice");
    s = state(&f, "c");
    assert_int_equal(s->current_version, 2);
    assert_string_equal(s->history[1].by, "alice");
    assert_string_equal(s->history[1].comment, "more rows");
    st_record_state_free(s);
    assert_int_equal(first_id(&f, "c", NULL), 10);
    assert_int_equal(update(&f, "c", 20, "bob", &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(st_record_verify(f.r, "c", &rep, &problems), 0);
    assert_int_equal(problems, 0);
    st_buf_free(&rep);
    st_buf_free(&snap1);
    fx_close(&f);
}

static void test_crash_before_snapshot(void **st) {
    (void)st;
    fx_t f;
    fx_open(&f, true, false);
    int v;
    assert_int_equal(create(&f, "m", 0, "alice"), 0);
    st_buf_t old = ST_BUF_INIT;
    assert_int_equal(st_store_get(f.store, "records/m/metadata.json", &old, NULL), 0);
    assert_int_equal(update(&f, "m", 10, "alice", &v), 0);
    assert_int_equal(st_record_approve(f.r, "m", "bob", NULL), 0);
    /* The snapshot of event 1 is put back: as if the two later writers died
     * before writing theirs. Readers roll forward from it. */
    assert_int_equal(st_store_put(f.store, "records/m/metadata.json", old.data, old.len, NULL, NULL),
                     0);
    fx_reopen(&f, false);
    st_record_state_t *s = state(&f, "m");
    assert_int_equal(s->current_version, 2);
    assert_int_equal(s->status, ST_RECORD_APPROVED);
    assert_int_equal(s->nhistory, 3);
    st_record_state_free(s);
    int problems;
    st_buf_t rep = ST_BUF_INIT;
    assert_int_equal(st_record_verify(f.r, "m", &rep, &problems), 0);
    assert_int_equal(problems, 0); /* a snapshot behind the log is not damage */
    st_buf_free(&rep);
    /* A hand-edited snapshot is ignored by readers, reported by verify. */
    st_buf_t ed = ST_BUF_INIT;
    assert_int_equal(st_store_get(f.store, "records/m/metadata.json", &ed, NULL), 0);
    char *p = strstr((char *)ed.data, "\"draft\"");
    assert_non_null(p);
    memcpy(p, "\"drift\"", 7);
    assert_int_equal(st_store_put(f.store, "records/m/metadata.json", ed.data, ed.len, NULL, NULL),
                     0);
    fx_reopen(&f, false);
    s = state(&f, "m");
    assert_int_equal(s->status, ST_RECORD_APPROVED);
    st_record_state_free(s);
    assert_int_equal(st_record_verify(f.r, "m", &rep, &problems), 0);
    assert_int_equal(problems, 1);
    assert_non_null(strstr((const char *)rep.data, "metadata.json"));
    st_buf_free(&rep);
    /* The next write repairs the snapshot. */
    assert_int_equal(update(&f, "m", 20, "carol", &v), 0);
    assert_int_equal(st_record_verify(f.r, "m", &rep, &problems), 0);
    assert_int_equal(problems, 0);
    st_buf_free(&rep);
    st_buf_free(&ed);
    st_buf_free(&old);
    fx_close(&f);
}

/* ---- races ---- */

typedef struct {
    fx_t *f;
    int wins, losses, other;
    int n;
} worker_t;

static void *updater(void *arg) {
    worker_t *w = arg;
    for (int i = 0; i < w->n; i++) {
        int v, rc = update(w->f, "race", i, "writer", &v);
        if (rc == 0) w->wins++;
        else if (rc == ST_ECONFLICT) w->losses++;
        else w->other++;
    }
    return NULL;
}

static void *approver(void *arg) {
    worker_t *w = arg;
    int rc = st_record_approve(w->f->r, "race", "approver", NULL);
    if (rc == 0) w->wins++;
    else if (rc == ST_ECONFLICT) w->losses++;
    else w->other++;
    return NULL;
}

static void race(bool on_disk) {
    fx_t f;
    fx_open(&f, on_disk, false);
    assert_int_equal(create(&f, "race", 0, "alice"), 0);
    enum { T = 6 };
    pthread_t th[T];
    worker_t w[T];
    int wins = 0, losses = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < T; i++) {
            w[i] = (worker_t){&f, 0, 0, 0, 15};
            assert_int_equal(pthread_create(&th[i], NULL, updater, &w[i]), 0);
        }
        for (int i = 0; i < T; i++) {
            pthread_join(th[i], NULL);
            assert_int_equal(w[i].other, 0);
            wins += w[i].wins;
            losses += w[i].losses;
        }
        for (int i = 0; i < T; i++) {
            w[i] = (worker_t){&f, 0, 0, 0, 1};
            assert_int_equal(pthread_create(&th[i], NULL, approver, &w[i]), 0);
        }
        int aw = 0;
        for (int i = 0; i < T; i++) {
            pthread_join(th[i], NULL);
            assert_int_equal(w[i].other, 0);
            aw += w[i].wins;
            assert_int_equal(w[i].wins + w[i].losses, 1);
        }
        assert_int_equal(aw, 1); /* exactly one approval */
    }
    int *vs, n;
    assert_int_equal(st_record_versions(f.r, "race", &vs, &n), 0);
    assert_int_equal(n, wins + 1);
    for (int i = 0; i < n; i++)
        assert_int_equal(vs[i], i + 1); /* 1..N without gaps */
    free(vs);
    assert_int_equal(wins + losses, 3 * T * 15);
    st_record_state_t *s = state(&f, "race");
    assert_int_equal(s->nhistory, wins + 1 + 3);
    for (int i = 0; i < s->nhistory; i++)
        assert_int_equal(s->history[i].seq, i + 1);
    assert_int_equal(s->status, ST_RECORD_APPROVED);
    st_record_state_free(s);
    st_buf_t rep = ST_BUF_INIT;
    int problems;
    assert_int_equal(st_record_verify(f.r, "race", &rep, &problems), 0);
    if (problems) fail_msg("%.*s", (int)rep.len, (const char *)rep.data);
    st_buf_free(&rep);
    assert_int_equal(count_keys(f.store, "records/race/versions/"), n);
    fx_close(&f);
}

static void test_race_mem(void **st) {
    (void)st;
    race(false);
}
static void test_race_file(void **st) {
    (void)st;
    race(true);
}

/* ---- tampering ---- */

static void test_tamper(void **st) {
    (void)st;
    fx_t f;
    fx_open(&f, true, false);
    int v;
    assert_int_equal(create(&f, "t", 0, "alice"), 0);
    assert_int_equal(update(&f, "t", 10, "alice", &v), 0);
    assert_int_equal(st_record_approve(f.r, "t", "bob", NULL), 0);
    assert_int_equal(update(&f, "t", 20, "alice", &v), 0);
    st_buf_t rep = ST_BUF_INIT;
    int problems;
    assert_int_equal(st_record_verify(f.r, "t", &rep, &problems), 0);
    assert_int_equal(problems, 0);
    st_buf_reset(&rep);

    /* One byte of v2 changed. */
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_store_get(f.store, "records/t/versions/v2.parquet", &b, NULL), 0);
    b.data[b.len / 2] ^= 1;
    assert_int_equal(st_store_put(f.store, "records/t/versions/v2.parquet", b.data, b.len, NULL,
                                  NULL),
                     0);
    assert_int_equal(st_record_verify(f.r, "t", &rep, &problems), 0);
    assert_int_equal(problems, 1);
    assert_non_null(strstr((char *)rep.data, "v2.parquet: SHA-256 differs from the event 2"));
    st_buf_reset(&rep);
    st_record_selector_t v2 = {.version = 2}, v1 = {.version = 1};
    st_batch_t *out;
    expect_msg(st_record_read(f.r, "t", &v2, &out), ST_ECORRUPT, "v2.parquet");
    assert_int_equal(first_id(&f, "t", &v1), 0);
    assert_int_equal(first_id(&f, "t", NULL), 20);

    /* Event 3 removed. */
    assert_int_equal(st_store_delete(f.store, "records/t/log/0000000003.json"), 0);
    assert_int_equal(st_record_verify(f.r, "t", &rep, &problems), 0);
    assert_true(problems >= 3);
    assert_non_null(strstr((char *)rep.data, "log event 3: missing"));
    assert_non_null(strstr((char *)rep.data, "log event 4: its prev_sha256 does not match"));
    st_buf_reset(&rep);
    assert_int_equal(first_id(&f, "t", &v1), 0);

    /* metadata.json edited. */
    st_buf_reset(&b);
    assert_int_equal(st_store_get(f.store, "records/t/metadata.json", &b, NULL), 0);
    char *p = strstr((char *)b.data, "\"alice\"");
    assert_non_null(p);
    memcpy(p, "\"mallo\"", 7);
    assert_int_equal(st_store_put(f.store, "records/t/metadata.json", b.data, b.len, NULL, NULL),
                     0);
    assert_int_equal(st_record_verify(f.r, "t", &rep, &problems), 0);
    assert_non_null(strstr((char *)rep.data, "metadata.json: changed by hand"));
    assert_non_null(strstr((char *)rep.data, "v2.parquet"));
    assert_non_null(strstr((char *)rep.data, "log event 3"));
    st_buf_reset(&rep);
    /* Untouched versions still read; writers refuse a damaged log. */
    fx_reopen(&f, false);
    assert_int_equal(first_id(&f, "t", &v1), 0);
    assert_int_equal(first_id(&f, "t", NULL), 20);
    expect_msg(update(&f, "t", 30, "alice", &v), ST_ECORRUPT, "verify");
    st_buf_free(&b);
    st_buf_free(&rep);
    fx_close(&f);
}

/* Two handles (two processes) on one store: each rolls forward past what the
 * other committed, whatever it remembers. */
static void test_two_handles(void **st) {
    (void)st;
    fx_t a, b;
    fx_open(&a, true, false);
    b = a;
    assert_int_equal(st_records_open(a.store, NULL, &b.r), 0);
    int v;
    assert_int_equal(create(&a, "two", 0, "alice"), 0);
    st_record_state_t *s = state(&b, "two"); /* b now remembers v1 */
    assert_int_equal(s->current_version, 1);
    st_record_state_free(s);
    assert_int_equal(update(&a, "two", 10, "alice", &v), 0);
    assert_int_equal(st_record_approve(b.r, "two", "bob", NULL), 0);
    s = state(&a, "two");
    assert_int_equal(s->current_version, 2);
    assert_int_equal(s->status, ST_RECORD_APPROVED);
    assert_int_equal(s->history[2].version, 2); /* b approved v2, not the v1 it had seen */
    st_record_state_free(s);
    expect_msg(st_record_approve(a.r, "two", "carol", NULL), ST_ECONFLICT, "Already approved");
    assert_int_equal(update(&b, "two", 20, "bob", &v), 0);
    assert_int_equal(v, 3);
    st_buf_t rep = ST_BUF_INIT;
    int problems;
    assert_int_equal(st_record_verify(a.r, "two", &rep, &problems), 0);
    assert_int_equal(problems, 0);
    st_buf_free(&rep);
    st_records_close(b.r);
    fx_close(&a);
}

static void test_store_without_conditional_put(void **st) {
    (void)st;
    st_records_t *r;
    expect_msg(st_records_open(NULL, NULL, &r), ST_EINVAL, "no store");
    assert_int_equal(st_record_id_validate("borelog-001_v.2"), 0);
    assert_int_equal(st_record_id_validate("a/b"), ST_EINVAL);
    assert_int_equal(st_record_id_validate(""), ST_EINVAL);
    st_record_status_t s;
    assert_int_equal(st_record_status_parse("approved", &s), 0);
    assert_int_equal(s, ST_RECORD_APPROVED);
    assert_int_equal(st_record_status_parse("done", &s), ST_EINVAL);
    assert_string_equal(st_record_status_name(ST_RECORD_REJECTED), "rejected");
}

static int setup(void **st) {
    (void)st;
    snprintf(g_dir, sizeof g_dir, "/tmp/strata-rec-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **st) {
    (void)st;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- long histories: heads without the history, a snapshot that may lag ---- */

static int64_t stored_log_seq(fx_t *f, const char *key) {
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_store_get(f->store, key, &b, NULL), 0);
    json_t *o = json_loadb((const char *)b.data, b.len, 0, NULL);
    assert_non_null(o);
    int64_t seq = json_integer_value(json_object_get(o, "log_seq"));
    json_decref(o);
    st_buf_free(&b);
    return seq;
}

static void expect_head(const st_record_head_t *h, int64_t seq, int version,
                        st_record_status_t status, int approved) {
    assert_int_equal(h->seq, seq);
    assert_int_equal(h->version, version);
    assert_int_equal(h->status, status);
    assert_int_equal(h->approved_version, approved);
    assert_true(h->at_us > 0);
}

static bool same_head(const st_record_head_t *a, const st_record_head_t *b) {
    return a->seq == b->seq && a->version == b->version && a->status == b->status &&
           a->approved_version == b->approved_version && a->at_us == b->at_us;
}

static void test_long_history(void **st) {
    (void)st;
    fx_t f;
    fx_open(&f, false, true);
    char comment[600];
    memset(comment, 'c', sizeof comment - 1);
    comment[sizeof comment - 1] = 0;
    assert_int_equal(create(&f, "long", 0, "alice"), 0);
    st_record_head_t h, p, hs, ps;
    assert_int_equal(st_record_head(f.r, "long", &h, &p), 0);
    expect_head(&h, 1, 1, ST_RECORD_DRAFT, 0);
    assert_int_equal(p.seq, 0);
    int64_t seq = 1, max_lag = 0;
    int version = 1, approved = 0;
    for (int i = 0; i < 150; i++) {
        st_batch_t *b = rows(&f, i, 1, 1.0);
        int v;
        assert_int_equal(st_record_update(f.r, "long", b, "alice", comment, &v), 0);
        st_batch_free(b);
        assert_int_equal(v, ++version);
        seq++;
        if (i % 3 == 0) {
            /* The policy reads the author of the current version from the head. */
            expect_msg(st_record_approve(f.r, "long", "alice", NULL), ST_ECONFLICT,
                       "Approver is the author");
            assert_int_equal(st_record_approve(f.r, "long", "bob", comment), 0);
            approved = version;
            seq++;
            assert_int_equal(st_record_head(f.r, "long", &h, &p), 0);
            expect_head(&h, seq, version, ST_RECORD_APPROVED, approved);
            expect_head(&p, seq - 1, version, ST_RECORD_DRAFT, i ? approved - 3 : 0);
        } else {
            assert_int_equal(st_record_head(f.r, "long", &h, &p), 0);
            expect_head(&h, seq, version, ST_RECORD_DRAFT, approved);
            assert_int_equal(p.seq, seq - 1);
            assert_int_equal(p.version, version - 1);
        }
        assert_int_equal(st_record_head_seen(f.r, "long", &hs, &ps), 0);
        assert_true(same_head(&hs, &h) && same_head(&ps, &p));
        int64_t lag = seq - stored_log_seq(&f, "records/long/metadata.json");
        assert_true(lag >= 0 && lag <= 32);
        if (lag > max_lag) max_lag = lag;
    }
    /* Over 64 KiB of history: the snapshot was allowed to fall behind. */
    assert_true(max_lag > 0);
    expect_msg(st_record_head_seen(f.r, "other", &hs, NULL), ST_ENOTFOUND, "other");
    /* Another process reads the full state from the lagging snapshot + log. */
    fx_reopen(&f, true);
    st_record_state_t *s = state(&f, "long");
    assert_int_equal(s->nhistory, (int)seq);
    assert_int_equal(s->current_version, version);
    assert_string_equal(s->history[seq - 1].comment, comment);
    st_record_state_free(s);
    st_buf_t rep = ST_BUF_INIT;
    int problems;
    assert_int_equal(st_record_verify(f.r, "long", &rep, &problems), 0);
    if (problems) fail_msg("%s", (const char *)rep.data);
    /* ... and a writer in another process goes on from the snapshot's head. */
    fx_reopen(&f, true);
    int v;
    assert_int_equal(update(&f, "long", 1000, "carol", &v), 0);
    assert_int_equal(v, version + 1);
    assert_int_equal(st_record_head(f.r, "long", &h, NULL), 0);
    expect_head(&h, seq + 1, version + 1, ST_RECORD_DRAFT, approved);
    /* A head part edited by hand is ignored: the writer reads the log. */
    fx_reopen(&f, true);
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_store_get(f.store, "records/long/metadata.json", &b, NULL), 0);
    char *q = strstr((char *)b.data, "\"head\": {\"at\": ");
    assert_non_null(q);
    q = strstr(q, "\"approved_version\": ");
    assert_non_null(q);
    q[strlen("\"approved_version\": ")] = '9';
    assert_int_equal(st_store_put(f.store, "records/long/metadata.json", b.data, b.len, NULL, NULL),
                     0);
    st_buf_free(&b);
    assert_int_equal(st_record_head(f.r, "long", &h, NULL), 0);
    expect_head(&h, seq + 1, version + 1, ST_RECORD_DRAFT, approved);
    assert_int_equal(st_record_approve(f.r, "long", "bob", NULL), 0);
    fx_reopen(&f, true);
    assert_int_equal(st_record_verify(f.r, "long", &rep, &problems), 0);
    if (problems) fail_msg("%s", (const char *)rep.data);
    s = state(&f, "long");
    assert_int_equal(s->nhistory, (int)seq + 2);
    assert_int_equal(s->status, ST_RECORD_APPROVED);
    st_record_state_free(s);
    st_buf_free(&rep);
    fx_close(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle_mem),
        cmocka_unit_test(test_lifecycle_file),
        cmocka_unit_test(test_reads_mem),
        cmocka_unit_test(test_reads_file),
        cmocka_unit_test(test_metadata_layout),
        cmocka_unit_test(test_validation_writes_nothing),
        cmocka_unit_test(test_registry_table),
        cmocka_unit_test(test_approver_policy),
        cmocka_unit_test(test_crash_orphan_completed),
        cmocka_unit_test(test_crash_before_snapshot),
        cmocka_unit_test(test_race_mem),
        cmocka_unit_test(test_race_file),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_two_handles),
        cmocka_unit_test(test_store_without_conditional_put),
        cmocka_unit_test(test_long_history),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
