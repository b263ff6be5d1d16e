/* Row windows and page statistics: st_pq_read_rows must give exactly the rows
 * st_pq_read_row_group gives for the same range, whatever the pages, nulls,
 * encodings and page versions; st_pq_page_ranges must describe every data
 * page (rows and bounds) truthfully; page_rows must cut pages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/dataset.h" /* st_col_compare */
#include "strata/parquet.h"

#define ROWS 5000

static st_field_t fld(const char *name, st_type_id id, bool nullable) {
    st_field_t f;
    memset(&f, 0, sizeof f);
    f.name = (char *)name;
    f.type.id = id;
    f.nullable = nullable;
    return f;
}

static uint64_t g_rng = 88172645463325252u;
static uint64_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

/* id (sorted, required), i32 (nullable, few values: dictionary), d (double,
 * nullable, unique), s (string, nullable, varying length), b (bool). */
static st_batch_t *make_batch(void) {
    st_field_t f[] = {fld("id", ST_TYPE_INT64, false), fld("i32", ST_TYPE_INT32, true),
                      fld("d", ST_TYPE_DOUBLE, true), fld("s", ST_TYPE_STRING, true),
                      fld("b", ST_TYPE_BOOL, true)};
    st_batch_t *b;
    assert_int_equal(st_batch_new(f, 5, &b), 0);
    for (int i = 0; i < ROWS; i++) {
        st_col_append_i64(&b->cols[0], i * 3);
        if (rnd() % 5 == 0) st_col_append_null(&b->cols[1]);
        else st_col_append_i64(&b->cols[1], (int64_t)(rnd() % 17) - 8);
        if (rnd() % 7 == 0) st_col_append_null(&b->cols[2]);
        else st_col_append_double(&b->cols[2], (double)(rnd() % 1000000) / 7.0);
        if (i % 11 == 3) st_col_append_null(&b->cols[3]);
        else {
            char s[64];
            int n = snprintf(s, sizeof s, "%.*s-%d", (int)(rnd() % 20), "abcdefghijklmnopqrstuvwxyz", i);
            st_col_append_bytes(&b->cols[3], s, (size_t)n);
        }
        if (rnd() % 9 == 0) st_col_append_null(&b->cols[4]);
        else st_col_append_bool(&b->cols[4], rnd() & 1);
        st_batch_end_row(b);
    }
    return b;
}

static void write_file(const st_batch_t *b, st_buf_t *out, int page_version, bool dict, int64_t page_rows) {
    st_pq_sink_t sink;
    assert_int_equal(st_pq_sink_buf(out, "rows.parquet", &sink), 0);
    st_pq_write_opts_t o;
    st_pq_write_opts_default(&o);
    o.page_version = page_version;
    o.dictionary = dict;
    o.page_rows = page_rows;
    o.row_group_rows = 2000;
    st_field_t f[5];
    for (int i = 0; i < 5; i++) f[i] = b->cols[i].field;
    st_pq_writer_t *w;
    assert_int_equal(st_pq_writer_open(&sink, f, 5, &o, &w), 0);
    assert_int_equal(st_pq_writer_write(w, b), 0);
    assert_int_equal(st_pq_writer_close(w), 0);
}

/* Value (row, col) as JSON text, for comparing two batches. */
static void value_text(const st_batch_t *b, int col, int64_t row, st_buf_t *out) {
    st_buf_reset(out);
    assert_int_equal(st_col_value_json(&b->cols[col], row, out), 0);
    st_buf_append_byte(out, 0);
}

static void check_windows(st_pq_file_t *f) {
    st_buf_t x = ST_BUF_INIT, y = ST_BUF_INIT;
    for (int rg = 0; rg < st_pq_num_row_groups(f); rg++) {
        st_batch_t *all;
        assert_int_equal(st_pq_read_row_group(f, rg, NULL, 0, &all), 0);
        int64_t n = all->nrows;
        for (int t = 0; t < 40; t++) {
            int64_t lo = (int64_t)(rnd() % (uint64_t)(n + 1)), hi = (int64_t)(rnd() % (uint64_t)(n + 1));
            if (lo > hi) {
                int64_t s = lo;
                lo = hi;
                hi = s;
            }
            if (t == 0) lo = 0, hi = n;
            if (t == 1) lo = hi = n / 2;
            int cols[] = {4, 0, 3};
            st_batch_t *w;
            int rc = st_pq_read_rows(f, rg, cols, 3, lo, hi, &w);
            if (rc) fail_msg("rows %lld..%lld: %s", (long long)lo, (long long)hi, st_errmsg());
            assert_int_equal(w->nrows, hi - lo);
            for (int c = 0; c < 3; c++) {
                int64_t nulls = 0;
                for (int64_t r = lo; r < hi; r++) {
                    value_text(all, cols[c], r, &x);
                    value_text(w, c, r - lo, &y);
                    if (strcmp((char *)x.data, (char *)y.data))
                        fail_msg("rg %d rows %lld..%lld col %d row %lld: %s vs %s", rg, (long long)lo, (long long)hi,
                                 cols[c], (long long)r, (char *)x.data, (char *)y.data);
                    nulls += st_col_is_null(&all->cols[cols[c]], r);
                }
                assert_int_equal(w->cols[c].null_count, nulls);
            }
            st_batch_free(w);
        }
        /* Out of range and reversed windows are refused. */
        st_batch_t *w = NULL;
        assert_int_equal(st_pq_read_rows(f, rg, NULL, 0, 0, n + 1, &w), ST_EINVAL);
        assert_int_equal(st_pq_read_rows(f, rg, NULL, 0, 5, 4, &w), ST_EINVAL);
        assert_null(w);
        st_batch_free(all);
    }
    st_buf_free(&x);
    st_buf_free(&y);
}

static void check_page_ranges(st_pq_file_t *f, int64_t page_rows) {
    st_buf_t x = ST_BUF_INIT;
    for (int rg = 0; rg < st_pq_num_row_groups(f); rg++) {
        st_batch_t *all;
        assert_int_equal(st_pq_read_row_group(f, rg, NULL, 0, &all), 0);
        for (int c = 0; c < 5; c++) {
            st_pq_page_ranges_t pr;
            assert_int_equal(st_pq_page_ranges(f, rg, c, &pr), 0);
            assert_true(pr.npages >= (int)((all->nrows + page_rows - 1) / page_rows));
            int64_t next = 0;
            for (int p = 0; p < pr.npages; p++) {
                assert_int_equal(pr.first_row[p], next);
                assert_true(pr.num_rows[p] <= page_rows);
                next += pr.num_rows[p];
                /* Every value of the page lies within its bounds. */
                int64_t nulls = 0;
                bool bounded = !st_col_is_null(&pr.bounds->cols[0], 2 * p);
                for (int64_t r = pr.first_row[p]; r < next; r++) {
                    if (st_col_is_null(&all->cols[c], r)) {
                        nulls++;
                        continue;
                    }
                    if (!bounded) continue;
                    assert_true(st_col_compare(&all->cols[c], r, &pr.bounds->cols[0], 2 * p) >= 0);
                    assert_true(st_col_compare(&all->cols[c], r, &pr.bounds->cols[0], 2 * p + 1) <= 0);
                }
                if (pr.null_counts[p] >= 0) assert_int_equal(pr.null_counts[p], nulls);
                if (c == 0) { /* sorted and required: exact bounds, no nulls */
                    assert_true(bounded);
                    value_text(pr.bounds, 0, 2 * p, &x);
                    char want[32];
                    snprintf(want, sizeof want, "%lld", (long long)(pr.first_row[p] + rg * 2000) * 3);
                    assert_string_equal((char *)x.data, want);
                    assert_int_equal(pr.null_counts[p], 0);
                }
            }
            assert_int_equal(next, all->nrows);
            st_pq_page_ranges_free(&pr);
        }
        st_batch_free(all);
    }
    st_buf_free(&x);
}

static void test_windows_and_pages(void **state) {
    (void)state;
    st_batch_t *b = make_batch();
    const int64_t page_rows[] = {137, 1000, 20000};
    for (int v = 1; v <= 2; v++)
        for (int dict = 0; dict <= 1; dict++)
            for (size_t pr = 0; pr < sizeof page_rows / sizeof page_rows[0]; pr++) {
                st_buf_t file = ST_BUF_INIT;
                write_file(b, &file, v, dict, page_rows[pr]);
                st_pq_source_t src;
                assert_int_equal(st_pq_source_mem(file.data, file.len, "rows.parquet", &src), 0);
                st_pq_file_t *f;
                assert_int_equal(st_pq_open(&src, &f), 0);
                assert_int_equal(st_pq_num_rows(f), ROWS);
                check_windows(f);
                check_page_ranges(f, page_rows[pr]);
                /* A window decodes fewer pages than the whole row group. */
                if (page_rows[pr] == 137) {
                    int64_t before = st_pq_pages_decoded(f);
                    st_batch_t *w;
                    int col = 0;
                    assert_int_equal(st_pq_read_rows(f, 0, &col, 1, 300, 400, &w), 0);
                    int64_t used = st_pq_pages_decoded(f) - before;
                    assert_true(used >= 1 && used <= 3); /* a dictionary page, one or two data pages */
                    st_batch_free(w);
                }
                st_pq_close(f);
                st_buf_free(&file);
            }
    st_batch_free(b);
}

/* Columns decoded on several threads give the batch one thread gives. */
static void test_parallel_columns(void **state) {
    (void)state;
    st_batch_t *b;
    st_field_t f[6];
    const char *names[] = {"a", "b", "c", "d", "e", "f"};
    for (int i = 0; i < 6; i++) f[i] = fld(names[i], i % 2 ? ST_TYPE_STRING : ST_TYPE_INT64, true);
    assert_int_equal(st_batch_new(f, 6, &b), 0);
    for (int r = 0; r < 60000; r++) {
        for (int c = 0; c < 6; c++) {
            if ((r + c) % 19 == 0) st_col_append_null(&b->cols[c]);
            else if (c % 2) {
                char t[32];
                int n = snprintf(t, sizeof t, "v%d-%d", c, (int)(rnd() % 5000));
                st_col_append_bytes(&b->cols[c], t, (size_t)n);
            } else {
                st_col_append_i64(&b->cols[c], (int64_t)(rnd() % 100000) * (c + 1));
            }
        }
        st_batch_end_row(b);
    }
    st_buf_t file = ST_BUF_INIT;
    st_pq_sink_t sink;
    assert_int_equal(st_pq_sink_buf(&file, "par.parquet", &sink), 0);
    st_pq_write_opts_t o;
    st_pq_write_opts_default(&o);
    st_pq_writer_t *w;
    assert_int_equal(st_pq_writer_open(&sink, f, 6, &o, &w), 0);
    assert_int_equal(st_pq_writer_write(w, b), 0);
    assert_int_equal(st_pq_writer_close(w), 0);
    st_batch_free(b);
    st_pq_source_t src;
    assert_int_equal(st_pq_source_mem(file.data, file.len, "par.parquet", &src), 0);
    st_pq_file_t *pf;
    assert_int_equal(st_pq_open(&src, &pf), 0);
    assert_int_equal(st_pq_set_threads(pf, -1), ST_EINVAL);
    st_batch_t *one, *many;
    assert_int_equal(st_pq_read_rows(pf, 0, NULL, 0, 1000, 59000, &one), 0);
    int64_t before = st_pq_pages_decoded(pf);
    assert_int_equal(st_pq_set_threads(pf, 4), 0);
    assert_int_equal(st_pq_read_rows(pf, 0, NULL, 0, 1000, 59000, &many), 0);
    assert_true(st_pq_pages_decoded(pf) - before >= 6 * 3); /* every column, pages of 20,000 rows */
    st_buf_t x = ST_BUF_INIT, y = ST_BUF_INIT;
    for (int c = 0; c < 6; c++) {
        assert_int_equal(one->cols[c].null_count, many->cols[c].null_count);
        for (int64_t r = 0; r < one->nrows; r += 7) {
            value_text(one, c, r, &x);
            value_text(many, c, r, &y);
            assert_string_equal((char *)x.data, (char *)y.data);
        }
    }
    st_batch_free(one);
    st_batch_free(many);
    assert_int_equal(st_pq_set_threads(pf, 0), 0); /* one per CPU */
    assert_int_equal(st_pq_read_row_group(pf, 0, NULL, 0, &many), 0);
    assert_int_equal(many->nrows, 60000);
    st_batch_free(many);
    st_buf_free(&x);
    st_buf_free(&y);
    st_pq_close(pf);
    st_buf_free(&file);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows_and_pages),
        cmocka_unit_test(test_parallel_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
