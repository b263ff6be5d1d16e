/* Dataset scans on mem:// and file://: union of file schemas (missing columns,
 * widening, clashes), projection, every filter operator on data and partition
 * columns checked against a brute-force evaluation, pruning counts (partition
 * values, row-group statistics, dictionaries) and limits. Fixtures are written
 * with the Parquet writer directly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strata/dataset.h"

static char g_url[512];
static int g_threads = 1; /* the file group runs with 0: one per CPU */

static st_store_t *open_store(void) {
    st_store_t *s;
    assert_int_equal(st_store_open(g_url, &s), 0);
    return s;
}

/* Writes a batch as one file (row groups of rg_rows rows). */
static void put_file(st_store_t *s, const char *key, const st_batch_t *b, int64_t rg_rows) {
    st_pq_sink_t sink;
    assert_int_equal(st_pq_sink_store(s, key, NULL, &sink), 0);
    st_pq_write_opts_t o;
    st_pq_write_opts_default(&o);
    o.row_group_rows = rg_rows;
    st_pq_writer_t *w;
    st_field_t *fs = calloc((size_t)b->ncols, sizeof *fs);
    for (int i = 0; i < b->ncols; i++) fs[i] = b->cols[i].field;
    assert_int_equal(st_pq_writer_open(&sink, fs, b->ncols, &o, &w), 0);
    free(fs);
    assert_int_equal(st_pq_writer_write(w, b), 0);
    assert_int_equal(st_pq_writer_close(w), 0);
}

static st_field_t fld(const char *name, st_type_id id) {
    st_field_t f;
    memset(&f, 0, sizeof f);
    f.name = (char *)name;
    f.type.id = id;
    f.nullable = true;
    return f;
}

/* Appends row r of b as a JSON object line. */
static void render_row(const st_batch_t *b, const st_field_t *fs, int nf, int64_t r, st_buf_t *text) {
    st_buf_append_byte(text, '{');
    for (int c = 0; c < nf; c++) {
        if (c) st_buf_append_byte(text, ',');
        st_json_append_string(text, fs[c].name, strlen(fs[c].name));
        st_buf_append_byte(text, ':');
        assert_int_equal(st_col_value_json(&b->cols[c], r, text), 0);
    }
    st_buf_append_str(text, "}\n");
}

/* Scans and renders every row as a JSON object line, concatenated; returns
 * the row count. */
static int64_t scan_all(st_store_t *s, const char *path, const char *filter, const char *const *cols, int ncols,
                        int64_t limit, st_buf_t *text, st_scan_stats_t *stats) {
    st_scan_opts_t o = {.columns = cols, .ncolumns = ncols, .filter = filter, .limit = limit, .threads = g_threads};
    st_dataset_scan_t *sc;
    int rc = st_dataset_scan_open(s, path, &o, &sc);
    if (rc) fprintf(stderr, "scan_open(%s): %s\n", filter ? filter : "", st_errmsg());
    assert_int_equal(rc, 0);
    int nf;
    const st_field_t *fs = st_dataset_scan_fields(sc, &nf);
    int64_t n = 0;
    for (;;) {
        st_batch_t *b;
        assert_int_equal(st_dataset_scan_next(sc, &b), 0);
        if (!b) break;
        assert_int_equal(b->ncols, nf);
        for (int64_t r = 0; text && r < b->nrows; r++) render_row(b, fs, nf, r, text);
        n += b->nrows;
        st_batch_free(b);
    }
    if (stats) st_dataset_scan_stats(sc, stats);
    st_dataset_scan_close(sc);
    if (text) st_buf_append_byte(text, 0);
    return n;
}

/* ---- union, widening, clashes, projection ---- */

static void test_union(void **state) {
    (void)state;
    st_store_t *s = open_store();
    st_field_t fa[] = {fld("id", ST_TYPE_INT32), fld("name", ST_TYPE_STRING), fld("score", ST_TYPE_FLOAT)};
    st_batch_t *a;
    assert_int_equal(st_batch_new(fa, 3, &a), 0);
    for (int i = 0; i < 3; i++) {
        st_col_append_i64(&a->cols[0], i);
        st_col_append_bytes(&a->cols[1], "ab", 2);
        st_col_append_double(&a->cols[2], 0.5 + i);
        st_batch_end_row(a);
    }
    put_file(s, "u/a.parquet", a, 0);
    st_field_t fb[] = {fld("id", ST_TYPE_INT64), fld("score", ST_TYPE_DOUBLE), fld("extra", ST_TYPE_BOOL)};
    st_batch_t *b;
    assert_int_equal(st_batch_new(fb, 3, &b), 0);
    st_col_append_i64(&b->cols[0], 5000000000LL);
    st_col_append_double(&b->cols[1], 0.1);
    st_col_append_bool(&b->cols[2], true);
    st_batch_end_row(b);
    put_file(s, "u/b.parquet", b, 0);
    st_buf_t t = ST_BUF_INIT;
    assert_int_equal(scan_all(s, "u", NULL, NULL, 0, -1, &t, NULL), 4);
    assert_string_equal((char *)t.data,
                        "{\"id\":0,\"name\":\"ab\",\"score\":0.5,\"extra\":null}\n"
                        "{\"id\":1,\"name\":\"ab\",\"score\":1.5,\"extra\":null}\n"
                        "{\"id\":2,\"name\":\"ab\",\"score\":2.5,\"extra\":null}\n"
                        "{\"id\":5000000000,\"name\":null,\"score\":0.1,\"extra\":true}\n");
    /* The unified types are the wider ones. */
    st_scan_opts_t o = {.limit = -1, .threads = 1};
    st_dataset_scan_t *sc;
    assert_int_equal(st_dataset_scan_open(s, "u/", &o, &sc), 0);
    int nf;
    const st_field_t *fs = st_dataset_scan_fields(sc, &nf);
    assert_int_equal(nf, 4);
    assert_int_equal(fs[0].type.id, ST_TYPE_INT64);
    assert_int_equal(fs[2].type.id, ST_TYPE_DOUBLE);
    st_dataset_scan_close(sc);
    /* Projection, filters across the widened column and a missing one. */
    st_buf_reset(&t);
    const char *cols[] = {"extra", "id"};
    assert_int_equal(scan_all(s, "u", "id >= 2 and extra is null", cols, 2, -1, &t, NULL), 1);
    assert_string_equal((char *)t.data, "{\"extra\":null,\"id\":2}\n");
    assert_int_equal(scan_all(s, "u", "extra = true or name = 'ab'", NULL, 0, -1, NULL, NULL), 4);
    /* A single file by key. */
    assert_int_equal(scan_all(s, "u/b.parquet", NULL, NULL, 0, -1, NULL, NULL), 1);
    /* Unknown columns. */
    const char *bad[] = {"nope"};
    o.columns = bad;
    o.ncolumns = 1;
    assert_int_equal(st_dataset_scan_open(s, "u", &o, &sc), ST_ENOTFOUND);
    assert_non_null(strstr(st_errmsg(), "nope"));
    o.columns = NULL;
    o.ncolumns = 0;
    o.filter = "nope = 1";
    assert_int_equal(st_dataset_scan_open(s, "u", &o, &sc), ST_ENOTFOUND);
    /* A clash: id as a string in a third file. */
    st_field_t fc[] = {fld("id", ST_TYPE_STRING)};
    st_batch_t *c;
    assert_int_equal(st_batch_new(fc, 1, &c), 0);
    st_col_append_bytes(&c->cols[0], "x", 1);
    st_batch_end_row(c);
    put_file(s, "u/c.parquet", c, 0);
    o.filter = NULL;
    assert_int_equal(st_dataset_scan_open(s, "u", &o, &sc), ST_ETYPE);
    assert_non_null(strstr(st_errmsg(), "'id'"));
    assert_non_null(strstr(st_errmsg(), "a.parquet"));
    assert_non_null(strstr(st_errmsg(), "c.parquet"));
    /* An empty prefix. */
    assert_int_equal(st_dataset_scan_open(s, "nothing-here", &o, &sc), ST_ENOTFOUND);
    st_buf_free(&t);
    st_batch_free(a);
    st_batch_free(b);
    st_batch_free(c);
    st_store_close(s);
}

/* ---- operators on data and partition columns ---- */

#define NROWS 240
typedef struct row {
    int64_t v;
    bool v_null;
    const char *tag; /* NULL = null */
    double x;
    const char *proj;
    int64_t year;
} row_t;
static row_t g_rows[NROWS];

static const char *projs[] = {"alpha", "beta", "g/m=a%"};

static void build_partitioned(st_store_t *s, const char *root) {
    static const char *tags[] = {"red", "green", "blue", NULL};
    st_field_t f[] = {fld("v", ST_TYPE_INT32), fld("tag", ST_TYPE_STRING), fld("x", ST_TYPE_DOUBLE)};
    int r = 0;
    for (int p = 0; p < 3; p++)
        for (int y = 0; y < 2; y++) {
            st_batch_t *b;
            assert_int_equal(st_batch_new(f, 3, &b), 0);
            for (int i = 0; i < NROWS / 6; i++, r++) {
                row_t *w = &g_rows[r];
                w->v = (r * 37) % 101 - 20;
                w->v_null = r % 11 == 0;
                w->tag = tags[r % 4];
                w->x = r * 0.25;
                w->proj = projs[p];
                w->year = 2020 + y;
                if (w->v_null) st_col_append_null(&b->cols[0]);
                else st_col_append_i64(&b->cols[0], w->v);
                if (w->tag) st_col_append_bytes(&b->cols[1], w->tag, strlen(w->tag));
                else st_col_append_null(&b->cols[1]);
                st_col_append_double(&b->cols[2], w->x);
                st_batch_end_row(b);
            }
            char key[256];
            /* "g/m=a%" escaped for the path, as Hive does. */
            const char *pe = p == 2 ? "g%2Fm%3Da%25" : projs[p];
            snprintf(key, sizeof key, "%s/proj=%s/year=%d/part-0.parquet", root, pe, 2020 + y);
            put_file(s, key, b, 16);
            st_batch_free(b);
        }
}

typedef bool (*pred_fn)(const row_t *r);
static bool p1(const row_t *r) { return !r->v_null && r->v > 10; }
static bool p2(const row_t *r) { return !r->v_null && r->v != 5 && r->tag && !strcmp(r->tag, "red"); }
static bool p3(const row_t *r) { return r->tag && (!strcmp(r->tag, "red") || !strcmp(r->tag, "blue")); }
static bool p4(const row_t *r) { return r->tag && strcmp(r->tag, "red") && strcmp(r->tag, "blue"); }
static bool p5(const row_t *r) { return r->v_null; }
static bool p6(const row_t *r) { return !r->v_null; }
static bool p7(const row_t *r) { return !strcmp(r->proj, "beta") && r->year == 2021; }
static bool p8(const row_t *r) { return !strcmp(r->proj, "g/m=a%") || (!r->v_null && r->v <= -10); }
static bool p9(const row_t *r) { return !(r->year >= 2021) && r->x < 10; }
static bool p10(const row_t *r) { return !r->v_null && !(r->v < 0) && r->x >= 30 && r->tag == NULL; }
static bool p11(const row_t *r) { return strcmp(r->proj, "alpha") && strcmp(r->proj, "beta"); }
static bool p12(const row_t *r) { return r->tag == NULL || r->year == 2020; }

static void test_operators(void **state) {
    (void)state;
    st_store_t *s = open_store();
    build_partitioned(s, "ds");
    struct {
        const char *filter;
        pred_fn fn;
    } cases[] = {
        {"v > 10", p1},
        {"v <> 5 and tag = 'red'", p2},
        {"tag in ('red', 'blue')", p3},
        {"tag not in ('red', 'blue')", p4},
        {"v is null", p5},
        {"v is not null", p6},
        {"proj = 'beta' and year = 2021", p7},
        {"proj = 'g/m=a%' or v <= -10", p8},
        {"not (year >= 2021) and x < 10", p9},
        {"v >= 0 and x >= 30 and tag is null", p10},
        {"proj not in ('alpha', 'beta')", p11},
        {"tag is null or year = 2020", p12},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t want = 0;
        for (int i = 0; i < NROWS; i++) want += cases[c].fn(&g_rows[i]);
        st_scan_stats_t st;
        int64_t got = scan_all(s, "ds", cases[c].filter, NULL, 0, -1, NULL, &st);
        if (got != want) fprintf(stderr, "%s: got %lld, want %lld\n", cases[c].filter, (long long)got, (long long)want);
        assert_int_equal(got, want);
        assert_int_equal(st.rows_matched, want);
    }
    /* Partition columns are typed: year inferred as int64, proj a string with
     * its escaped characters restored. */
    st_buf_t t = ST_BUF_INIT;
    const char *cols[] = {"proj", "year", "v"};
    assert_int_equal(scan_all(s, "ds", "proj = 'g/m=a%' and year = 2021", cols, 3, 1, &t, NULL), 1);
    assert_non_null(strstr((char *)t.data, "\"proj\":\"g/m=a%\",\"year\":2021"));
    /* Partition pruning: the other five files are never opened. */
    st_scan_stats_t st;
    scan_all(s, "ds", "proj = 'beta' and year = 2021", NULL, 0, -1, NULL, &st);
    assert_int_equal(st.files_total, 6);
    assert_int_equal(st.files_pruned, 5);
    assert_int_equal(st.row_groups_total, 3); /* 40 rows in row groups of 16 */
    /* Limits stop early. */
    assert_int_equal(scan_all(s, "ds", NULL, NULL, 0, 7, NULL, &st), 7);
    assert_int_equal(st.row_groups_total, 3);
    assert_int_equal(scan_all(s, "ds", "v is not null", NULL, 0, 25, NULL, NULL), 25);
    assert_int_equal(scan_all(s, "ds", NULL, NULL, 0, 0, NULL, NULL), 0);
    st_buf_free(&t);
    st_store_close(s);
}

/* ---- pruning by statistics and dictionaries ---- */

static void test_pruning(void **state) {
    (void)state;
    st_store_t *s = open_store();
    st_field_t f[] = {fld("id", ST_TYPE_INT64), fld("cat", ST_TYPE_STRING), fld("pad", ST_TYPE_STRING)};
    st_batch_t *b;
    assert_int_equal(st_batch_new(f, 3, &b), 0);
    /* Ten row groups of 100 rows with disjoint id ranges; cat holds "a" and
     * "c" everywhere (so min/max never exclude "b") and "b" only in row
     * group 7. */
    for (int i = 0; i < 1000; i++) {
        st_col_append_i64(&b->cols[0], i);
        const char *cat = (i / 100 == 7 && i % 100 == 50) ? "b" : (i % 2 ? "a" : "c");
        st_col_append_bytes(&b->cols[1], cat, 1);
        char pad[32];
        int n = snprintf(pad, sizeof pad, "row-%d", i);
        st_col_append_bytes(&b->cols[2], pad, (size_t)n);
        st_batch_end_row(b);
    }
    put_file(s, "pr/one.parquet", b, 100);
    st_batch_free(b);
    st_scan_stats_t st;
    st_buf_t t = ST_BUF_INIT;
    assert_int_equal(scan_all(s, "pr", "id = 250", NULL, 0, -1, &t, &st), 1);
    assert_string_equal((char *)t.data, "{\"id\":250,\"cat\":\"c\",\"pad\":\"row-250\"}\n");
    assert_int_equal(st.row_groups_total, 10);
    assert_int_equal(st.row_groups_pruned_stats, 9);
    assert_int_equal(st.rows_read, 100);
    assert_true(st.pages_read < st.pages_total);
    assert_true(st.bytes_read > 0);
    /* Range and OR. */
    assert_int_equal(scan_all(s, "pr", "id >= 120 and id < 180 or id in (990, 5)", NULL, 0, -1, NULL, &st), 62);
    assert_int_equal(st.row_groups_pruned_stats, 7);
    /* Dictionary: only row group 7 holds "b". */
    st_buf_reset(&t);
    assert_int_equal(scan_all(s, "pr", "cat = 'b'", NULL, 0, -1, &t, &st), 1);
    assert_string_equal((char *)t.data, "{\"id\":750,\"cat\":\"b\",\"pad\":\"row-750\"}\n");
    assert_int_equal(st.row_groups_pruned_stats, 0);
    assert_int_equal(st.row_groups_pruned_dict, 9);
    assert_int_equal(st.rows_read, 100);
    assert_int_equal(scan_all(s, "pr", "cat in ('b', 'z')", NULL, 0, -1, NULL, &st), 1);
    assert_int_equal(st.row_groups_pruned_dict, 9);
    /* Nothing to prune under a negation: the odd ids and the one "b". */
    assert_int_equal(scan_all(s, "pr", "not (cat = 'c')", NULL, 0, -1, NULL, &st), 501);
    assert_int_equal(st.row_groups_pruned_dict + st.row_groups_pruned_stats, 0);
    assert_int_equal(scan_all(s, "pr", "cat = 'zz'", NULL, 0, -1, NULL, &st), 0);
    assert_int_equal(st.row_groups_pruned_stats, 10); /* 'zz' > max 'c' */
    st_buf_free(&t);
    st_store_close(s);
}

/* ---- explicit file lists ---- */

static void test_open_files(void **state) {
    (void)state;
    st_store_t *s = open_store();
    st_field_t fa[] = {fld("id", ST_TYPE_INT32), fld("name", ST_TYPE_STRING)};
    st_field_t fb[] = {fld("id", ST_TYPE_INT64), fld("depth", ST_TYPE_DOUBLE)};
    st_batch_t *a, *b;
    assert_int_equal(st_batch_new(fa, 2, &a), 0);
    assert_int_equal(st_batch_new(fb, 2, &b), 0);
    for (int i = 0; i < 4; i++) {
        st_col_append_i64(&a->cols[0], i);
        st_col_append_bytes(&a->cols[1], "x", 1);
        st_batch_end_row(a);
        st_col_append_i64(&b->cols[0], 100 + i);
        st_col_append_double(&b->cols[1], i * 1.5);
        st_batch_end_row(b);
    }
    put_file(s, "f/r1/v1.parquet", a, 0);
    put_file(s, "f/r2/v3.parquet", b, 0);
    put_file(s, "f/r2/v2.parquet", a, 0); /* not listed: never read */
    st_batch_free(a);
    st_batch_free(b);
    const char *keys[] = {"f/r2/v3.parquet", "f/r1/v1.parquet"};
    st_scan_opts_t o = {.filter = "id >= 2 and (depth > 2 or depth is null)", .limit = -1, .threads = g_threads};
    st_dataset_scan_t *sc;
    assert_int_equal(st_dataset_scan_open_files(s, keys, NULL, 2, &o, &sc), 0);
    int nf;
    const st_field_t *fs = st_dataset_scan_fields(sc, &nf);
    assert_int_equal(nf, 3); /* id (widened), depth, name */
    assert_int_equal(fs[0].type.id, ST_TYPE_INT64);
    st_buf_t t = ST_BUF_INIT;
    for (;;) {
        st_batch_t *bt;
        assert_int_equal(st_dataset_scan_next(sc, &bt), 0);
        if (!bt) break;
        for (int64_t r = 0; r < bt->nrows; r++) {
            for (int c = 0; c < nf; c++) {
                assert_int_equal(st_col_value_json(&bt->cols[c], r, &t), 0);
                st_buf_append_byte(&t, c + 1 < nf ? ',' : ';');
            }
        }
        st_batch_free(bt);
    }
    st_buf_append_byte(&t, 0);
    assert_string_equal((char *)t.data, "102,3,null;103,4.5,null;2,null,\"x\";3,null,\"x\";");
    st_scan_stats_t st;
    st_dataset_scan_stats(sc, &st);
    assert_int_equal(st.files_total, 2);
    st_dataset_scan_close(sc);
    /* Sizes given: no HEAD needed, same result count. */
    st_object_info_t i1, i2;
    assert_int_equal(st_store_head(s, keys[0], &i1), 0);
    assert_int_equal(st_store_head(s, keys[1], &i2), 0);
    uint64_t sizes[] = {i1.size, i2.size};
    st_object_info_free(&i1);
    st_object_info_free(&i2);
    o.filter = "name = 'x'";
    assert_int_equal(st_dataset_scan_open_files(s, keys, sizes, 2, &o, &sc), 0);
    int64_t rows = 0;
    for (;;) {
        st_batch_t *bt;
        assert_int_equal(st_dataset_scan_next(sc, &bt), 0);
        if (!bt) break;
        rows += bt->nrows;
        st_batch_free(bt);
    }
    assert_int_equal(rows, 4);
    st_dataset_scan_close(sc);
    /* Errors: no files, a missing file, a hostile key. */
    sc = NULL;
    assert_int_equal(st_dataset_scan_open_files(s, keys, NULL, 0, &o, &sc), ST_EINVAL);
    const char *missing[] = {"f/r1/v1.parquet", "f/r9/v1.parquet"};
    assert_int_equal(st_dataset_scan_open_files(s, missing, NULL, 2, &o, &sc), ST_ENOTFOUND);
    const char *hostile[] = {"../etc/passwd"};
    assert_int_equal(st_dataset_scan_open_files(s, hostile, NULL, 1, &o, &sc), ST_EINVAL);
    assert_null(sc);
    st_buf_free(&t);
    st_store_close(s);
}

/* ---- pruning by page statistics ---- */

/* Rows of an unfiltered scan that the filter selects, rendered as scan_all
 * renders them: the same evaluator without any pruning, as the oracle. */
static int64_t oracle(st_store_t *s, const char *path, const char *filter, st_buf_t *text) {
    st_scan_opts_t o = {.limit = -1, .threads = 1};
    st_dataset_scan_t *sc;
    assert_int_equal(st_dataset_scan_open(s, path, &o, &sc), 0);
    int nf;
    const st_field_t *fs = st_dataset_scan_fields(sc, &nf);
    st_expr_t *e;
    assert_int_equal(st_expr_parse(filter, &e), 0);
    assert_int_equal(st_expr_bind(e, fs, nf), 0);
    int64_t n = 0;
    for (;;) {
        st_batch_t *b;
        assert_int_equal(st_dataset_scan_next(sc, &b), 0);
        if (!b) break;
        uint8_t *sel = calloc((size_t)b->nrows + 1, 1);
        assert_int_equal(st_expr_eval(e, b, sel), 0);
        for (int64_t r = 0; r < b->nrows; r++) {
            if (!sel[r]) continue;
            n++;
            render_row(b, fs, nf, r, text);
        }
        free(sel);
        st_batch_free(b);
    }
    st_buf_append_byte(text, 0);
    st_expr_free(e);
    st_dataset_scan_close(sc);
    return n;
}

static void test_page_pruning(void **state) {
    (void)state;
    st_store_t *s = open_store();
    st_field_t f[] = {fld("id", ST_TYPE_INT64), fld("v", ST_TYPE_DOUBLE), fld("s", ST_TYPE_STRING)};
    st_batch_t *b;
    assert_int_equal(st_batch_new(f, 3, &b), 0);
    for (int i = 0; i < 3000; i++) {
        st_col_append_i64(&b->cols[0], i);
        if (i % 13 == 0) st_col_append_null(&b->cols[1]);
        else st_col_append_double(&b->cols[1], (double)((i * 7919) % 1000) / 1000.0);
        if (i % 17 == 5) st_col_append_null(&b->cols[2]);
        else {
            char t[32];
            int n = snprintf(t, sizeof t, "s%05d", (i * 31) % 3000);
            st_col_append_bytes(&b->cols[2], t, (size_t)n);
        }
        st_batch_end_row(b);
    }
    /* Row groups of 1000 rows, pages of 100. */
    st_pq_sink_t sink;
    assert_int_equal(st_pq_sink_store(s, "pp/one.parquet", NULL, &sink), 0);
    st_pq_write_opts_t o;
    st_pq_write_opts_default(&o);
    o.row_group_rows = 1000;
    o.page_rows = 100;
    st_pq_writer_t *w;
    assert_int_equal(st_pq_writer_open(&sink, f, 3, &o, &w), 0);
    assert_int_equal(st_pq_writer_write(w, b), 0);
    assert_int_equal(st_pq_writer_close(w), 0);
    st_batch_free(b);
    const char *filters[] = {
        "id >= 1234 and id < 1290", "id < 50 or id > 2950", "not (id < 2500)", "id = 999",
        "id in (5, 2999, 1500)", "v > 0.5 and id < 400", "s is null and id >= 2000",
        "id > 1050 and id < 1150 and v is not null", "s >= 's02000' and id < 700",
        "id >= 1000 and id < 1000", "id > 150 and id < 160 or s = 's00031'",
    };
    st_buf_t got = ST_BUF_INIT, want = ST_BUF_INIT;
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        st_buf_reset(&got);
        st_buf_reset(&want);
        st_scan_stats_t st;
        int64_t n = scan_all(s, "pp", filters[i], NULL, 0, -1, &got, &st);
        int64_t m = oracle(s, "pp", filters[i], &want);
        if (n != m || strcmp((char *)got.data, (char *)want.data))
            fail_msg("%s: %lld rows, oracle %lld", filters[i], (long long)n, (long long)m);
    }
    /* A narrow range on the sorted column decodes a page or two per column,
     * not the row group's ten. */
    st_scan_stats_t st;
    assert_int_equal(scan_all(s, "pp", "id >= 1234 and id < 1290", NULL, 0, -1, NULL, &st), 56);
    assert_int_equal(st.row_groups_pruned_stats, 2);
    assert_true(st.rows_read <= 200);
    assert_true(st.pages_read <= 3 * 3);
    assert_true(st.pages_total >= 3 * 30);
    st_buf_free(&got);
    st_buf_free(&want);
    st_store_close(s);
}

static int setup_mem(void **state) {
    (void)state;
    snprintf(g_url, sizeof g_url, "mem://dsscan-%d", (int)getpid());
    return 0;
}

static char g_dir[256];

static int setup_file(void **state) {
    (void)state;
    g_threads = 0;
    snprintf(g_dir, sizeof g_dir, "/tmp/strata-dsscan-XXXXXX");
    if (!mkdtemp(g_dir)) return -1;
    snprintf(g_url, sizeof g_url, "file://%s", g_dir);
    return 0;
}

static int teardown_file(void **state) {
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest mem[] = {
        cmocka_unit_test_setup(test_union, setup_mem),
        cmocka_unit_test_setup(test_operators, setup_mem),
        cmocka_unit_test_setup(test_pruning, setup_mem),
        cmocka_unit_test_setup(test_page_pruning, setup_mem),
        cmocka_unit_test_setup(test_open_files, setup_mem),
    };
    const struct CMUnitTest file[] = {
        cmocka_unit_test_setup_teardown(test_union, setup_file, teardown_file),
        cmocka_unit_test_setup_teardown(test_operators, setup_file, teardown_file),
        cmocka_unit_test_setup_teardown(test_pruning, setup_file, teardown_file),
        cmocka_unit_test_setup_teardown(test_page_pruning, setup_file, teardown_file),
        cmocka_unit_test_setup_teardown(test_open_files, setup_file, teardown_file),
    };
    int rc = cmocka_run_group_tests_name("mem", mem, NULL, NULL);
    rc |= cmocka_run_group_tests_name("file", file, NULL, NULL);
    return rc;
}
