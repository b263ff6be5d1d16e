/*
 * Parquet through stores: files written with st_pq_sink_store to mem:// and
 * file:// are byte-identical to the same file written to memory, read back
 * through st_pq_source_store and st_pq_open_url with the same rows, and a
 * failed or conditional write leaves nothing (or the old file) behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strata/parquet.h"
#include "strata/store.h"

static char g_dir[128];
static char g_mem[64];

static void make_fields(st_field_t f[3]) {
    f[0] = (st_field_t){.name = "id", .nullable = false};
    f[1] = (st_field_t){.name = "name", .nullable = true};
    f[2] = (st_field_t){.name = "score", .nullable = true};
    assert_int_equal(st_type_parse("int64", &f[0].type), ST_OK);
    assert_int_equal(st_type_parse("string", &f[1].type), ST_OK);
    assert_int_equal(st_type_parse("double", &f[2].type), ST_OK);
}

/* Writes `rows` rows to the sink (uncompressed, so the size is predictable:
 * large files need more than the source's tail window). */
static int write_rows(st_pq_sink_t *sink, int64_t rows) {
    st_field_t f[3];
    make_fields(f);
    st_pq_write_opts_t o;
    st_pq_write_opts_default(&o);
    o.codec = ST_CODEC_UNCOMPRESSED;
    o.dictionary = false;
    o.row_group_rows = 10000;
    st_pq_writer_t *w;
    int rc = st_pq_writer_open(sink, f, 3, &o, &w);
    if (rc) return rc;
    st_batch_t *b;
    assert_int_equal(st_batch_new(f, 3, &b), ST_OK);
    for (int64_t r = 0; r < rows; r++) {
        char name[48];
        snprintf(name, sizeof name, "borehole-%06lld-%s", (long long)r, r % 3 ? "clay" : "sand");
        st_col_append_i64(&b->cols[0], r);
        if (r % 7 == 0)
            st_col_append_null(&b->cols[1]);
        else
            st_col_append_bytes(&b->cols[1], name, strlen(name));
        st_col_append_double(&b->cols[2], (double)r / 8.0);
        st_batch_end_row(b);
    }
    rc = st_pq_writer_write(w, b);
    st_batch_free(b);
    if (rc) {
        st_pq_writer_abort(w);
        return rc;
    }
    return st_pq_writer_close(w);
}

static int emit(void *ctx, const char *line, size_t n) {
    st_buf_t *b = ctx;
    st_buf_append(b, line, n);
    return st_buf_append_byte(b, '\n');
}

static void scan_all(st_pq_file_t *f, st_buf_t *out) {
    st_pq_scan_t scan = {NULL, 0, NULL, -1};
    assert_int_equal(st_pq_scan_json(f, &scan, emit, out), ST_OK);
}

static void roundtrip(const char *store_url, int64_t rows) {
    /* Reference: the same file written to memory. */
    st_buf_t ref = ST_BUF_INIT;
    st_pq_sink_t sink;
    assert_int_equal(st_pq_sink_buf(&ref, "ref", &sink), ST_OK);
    assert_int_equal(write_rows(&sink, rows), ST_OK);
    st_pq_source_t msrc;
    assert_int_equal(st_pq_source_mem(ref.data, ref.len, "ref", &msrc), ST_OK);
    st_pq_file_t *mf;
    assert_int_equal(st_pq_open(&msrc, &mf), ST_OK);
    st_buf_t want = ST_BUF_INIT;
    scan_all(mf, &want);
    st_pq_close(mf);

    st_store_t *s;
    assert_int_equal(st_store_open(store_url, &s), ST_OK);
    const char *key = "tables/boreholes/part-0.parquet";
    assert_int_equal(st_pq_sink_store(s, key, NULL, &sink), ST_OK);
    assert_non_null(strstr(sink.name, "part-0.parquet"));
    assert_int_equal(write_rows(&sink, rows), ST_OK);

    /* Stored bytes are exactly the file, with a Parquet content type. */
    st_buf_t stored = ST_BUF_INIT;
    st_object_info_t info;
    assert_int_equal(st_store_get(s, key, &stored, &info), ST_OK);
    assert_int_equal(stored.len, ref.len);
    assert_memory_equal(stored.data, ref.data, ref.len);
    assert_string_equal(info.content_type, "application/vnd.apache.parquet");
    st_object_info_free(&info);
    st_buf_free(&stored);

    /* Read through the store source. */
    st_pq_source_t src;
    assert_int_equal(st_pq_source_store(s, key, &src), ST_OK);
    assert_int_equal(src.size, ref.len);
    st_pq_file_t *f;
    assert_int_equal(st_pq_open(&src, &f), ST_OK);
    assert_int_equal(st_pq_num_rows(f), rows);
    st_buf_t got = ST_BUF_INIT;
    scan_all(f, &got);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);
    st_pq_close(f);

    /* And by URL, with its own store handle. */
    char url[512];
    snprintf(url, sizeof url, "%s/%s", store_url, key);
    assert_int_equal(st_pq_open_url(url, &f), ST_OK);
    st_buf_reset(&got);
    scan_all(f, &got);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);
    st_pq_close(f);

    /* A missing object and a non-Parquet object fail cleanly. */
    assert_int_equal(st_pq_source_store(s, "tables/missing.parquet", &src), ST_ENOTFOUND);
    assert_int_equal(
        st_store_put(s, "tables/not.parquet", "definitely not parquet", 22, NULL, NULL), ST_OK);
    assert_int_equal(st_pq_source_store(s, "tables/not.parquet", &src), ST_OK);
    assert_int_equal(st_pq_open(&src, &f), ST_ECORRUPT);
    assert_non_null(strstr(st_errmsg(), "not.parquet"));

    st_buf_free(&got);
    st_buf_free(&want);
    st_buf_free(&ref);
    st_store_close(s);
}

static void test_mem_small(void **state) {
    (void)state;
    roundtrip(g_mem, 100);
}

static void test_mem_large(void **state) {
    (void)state;
    roundtrip(g_mem, 60000); /* several MiB: more than the tail window */
}

static void test_file(void **state) {
    (void)state;
    char url[256];
    snprintf(url, sizeof url, "file://%s/store", g_dir);
    roundtrip(url, 100);
    roundtrip(url, 60000);
    /* A plain path to the same object. */
    char path[300];
    snprintf(path, sizeof path, "%s/store/tables/boreholes/part-0.parquet", g_dir);
    st_pq_file_t *f;
    assert_int_equal(st_pq_open_url(path, &f), ST_OK);
    assert_int_equal(st_pq_num_rows(f), 60000);
    st_pq_close(f);
}

static void test_abort_and_conditions(void **state) {
    (void)state;
    st_store_t *s;
    assert_int_equal(st_store_open(g_mem, &s), ST_OK);
    st_pq_sink_t sink;
    st_field_t f[3];
    make_fields(f);
    st_pq_writer_t *w;
    st_pq_write_opts_t o;
    st_pq_write_opts_default(&o);

    /* An aborted writer leaves nothing. */
    assert_int_equal(st_pq_sink_store(s, "abort/x.parquet", NULL, &sink), ST_OK);
    assert_int_equal(st_pq_writer_open(&sink, f, 3, &o, &w), ST_OK);
    st_pq_writer_abort(w);
    assert_int_equal(st_store_head(s, "abort/x.parquet", NULL), ST_ENOTFOUND);

    /* if-absent: the second writer loses at commit, the first file stays. */
    st_put_opts_t once = {.mode = ST_PUT_IF_ABSENT};
    assert_int_equal(st_pq_sink_store(s, "once/v1.parquet", &once, &sink), ST_OK);
    assert_int_equal(write_rows(&sink, 10), ST_OK);
    assert_int_equal(st_pq_sink_store(s, "once/v1.parquet", &once, &sink), ST_OK);
    assert_int_equal(write_rows(&sink, 20), ST_ECONFLICT);
    st_pq_source_t src;
    assert_int_equal(st_pq_source_store(s, "once/v1.parquet", &src), ST_OK);
    st_pq_file_t *pf;
    assert_int_equal(st_pq_open(&src, &pf), ST_OK);
    assert_int_equal(st_pq_num_rows(pf), 10);
    st_pq_close(pf);

    /* Bad keys are refused before anything is written. */
    assert_int_equal(st_pq_sink_store(s, "../escape.parquet", NULL, &sink), ST_EINVAL);
    assert_int_equal(st_pq_source_store(s, "a//b.parquet", &src), ST_EINVAL);
    assert_int_equal(st_pq_open_url("mem://nosuch-store-xyz/missing.parquet", &pf), ST_ENOTFOUND);
    assert_int_equal(st_pq_open_url("mem://x", &pf), ST_EINVAL);
    assert_int_equal(st_pq_open_url("", &pf), ST_EINVAL);
    st_store_close(s);
}

static int setup(void **state) {
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/strata-pqstore-XXXXXX");
    if (!mkdtemp(g_dir)) return -1;
    snprintf(g_mem, sizeof g_mem, "mem://pq-%d", (int)getpid());
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mem_small),
        cmocka_unit_test(test_mem_large),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_abort_and_conditions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
