/*
 * Fuzzer regressions: every file in tests/fuzz/regress/ (inputs that once
 * crashed, hung or over-allocated in fuzz_parquet_reader) must now go through
 * open, pq_read_column of every chunk, page statistics, a window of rows, the
 * footer outputs and a JSON scan with either success or a clean error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/pq_internal.h"

static int count_row(void *ctx, const char *line, size_t n) {
    (void)line;
    (void)n;
    (*(int64_t *)ctx)++;
    return 0;
}

static bool clean(int rc) {
    return rc == 0 || rc == ST_ECORRUPT || rc == ST_EUNSUPPORTED || rc == ST_ENOMEM;
}

static void run_one(const char *path) {
    st_buf_t data = ST_BUF_INIT;
    assert_int_equal(st_read_file(path, &data), 0);
    st_pq_source_t src;
    assert_int_equal(st_pq_source_mem(data.data, data.len, path, &src), 0);
    st_pq_file_t *f;
    int rc = st_pq_open(&src, &f);
    if (!clean(rc)) fail_msg("%s: open returned %s: %s", path, st_strerror(rc), st_errmsg());
    if (rc) {
        /* A failure names the input. */
        assert_non_null(strstr(st_errmsg(), path));
        st_buf_free(&data);
        return;
    }
    for (int g = 0; g < st_pq_num_row_groups(f); g++)
        for (int l = 0; l < f->num_leaves; l++) {
            pq_column_data_t c;
            rc = pq_read_column(f, g, l, &c);
            if (!clean(rc)) fail_msg("%s: read returned %s: %s", path, st_strerror(rc), st_errmsg());
            if (!rc) pq_column_data_free(&c);
        }
    /* Page statistics and a window of rows of flat files, as the fuzzer does. */
    const st_field_t *fields;
    int nfields;
    if (st_pq_fields(f, &fields, &nfields) == 0) {
        for (int g = 0; g < st_pq_num_row_groups(f) && g < 4; g++) {
            for (int c = 0; c < nfields && c < 8; c++) {
                st_pq_page_ranges_t pr;
                rc = st_pq_page_ranges(f, g, c, &pr);
                if (!clean(rc)) fail_msg("%s: page ranges returned %s: %s", path, st_strerror(rc), st_errmsg());
                if (!rc) st_pq_page_ranges_free(&pr);
            }
            int64_t n = st_pq_row_group_num_rows(f, g);
            st_batch_t *w;
            if (n <= 0 || n >= (INT64_C(1) << 40)) continue;
            rc = st_pq_read_rows(f, g, NULL, 0, n / 3, n - n / 3, &w);
            if (!clean(rc) && rc != ST_ETYPE) fail_msg("%s: row window returned %s: %s", path, st_strerror(rc), st_errmsg());
            if (!rc) st_batch_free(w);
        }
    }
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_pq_schema_json(f, &b), 0);
    assert_int_equal(st_pq_meta_json(f, &b), 0);
    assert_int_equal(st_pq_schema_text(f, &b), 0);
    st_buf_free(&b);
    int64_t rows = 0;
    rc = st_pq_scan_json(f, NULL, count_row, &rows);
    if (!clean(rc) && rc != ST_ETYPE) fail_msg("%s: scan returned %s: %s", path, st_strerror(rc), st_errmsg());
    st_pq_close(f);
    st_buf_free(&data);
}

static void test_regressions(void **state) {
    (void)state;
    const char *srcdir = getenv("STRATA_SOURCE_DIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/regress", srcdir ? srcdir : ".");
    DIR *d = opendir(dir);
    if (!d) fail_msg("%s: cannot open (is STRATA_SOURCE_DIR set?)", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        run_one(path);
        n++;
    }
    closedir(d);
    assert_true(n > 0);
    printf("%d regression inputs\n", n);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_regressions)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
