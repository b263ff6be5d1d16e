/*
 * Footer reading: facts of corpus files, schema JSON against the corpus's
 * expected/<name>.schema.json, schema text, footer JSON, row-group selection,
 * and clean failures on malformed footers, bad/ corpus files and mutations.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/pq_decode.h"
#include "parquet/pq_internal.h"
#include "test_util.h"

static char *corpus_path(const char *rel) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", st_test_corpus_dir(), rel);
    return buf;
}

static st_pq_file_t *open_corpus(const char *rel) {
    st_pq_file_t *f = NULL;
    int rc = st_pq_open_path(corpus_path(rel), &f);
    if (rc) fail_msg("%s: %s", rel, st_errmsg());
    return f;
}

/* Opens from memory and reads every chunk; returns the first error or 0. */
static int read_all_mem(const uint8_t *data, size_t n, const char *name) {
    st_pq_source_t src;
    int rc = st_pq_source_mem(data, n, name, &src);
    if (rc) return rc;
    st_pq_file_t *f;
    rc = st_pq_open(&src, &f);
    if (rc) return rc;
    for (int g = 0; g < st_pq_num_row_groups(f) && !rc; g++)
        for (int l = 0; l < f->num_leaves && !rc; l++) {
            pq_column_data_t c;
            rc = pq_read_column(f, g, l, &c);
            if (!rc) {
                /* The contract the assembler relies on. */
                int64_t present = 0;
                for (int64_t i = 0; i < c.num_levels; i++) present += !c.def || c.def[i] == c.max_def;
                assert_int_equal(present, c.num_values);
                if (c.physical == PQ_BYTE_ARRAY) assert_true(c.offsets[c.num_values] == c.values.len);
                pq_column_data_free(&c);
            }
        }
    st_pq_close(f);
    return rc;
}

static int read_all_path(const char *path) {
    st_buf_t b = ST_BUF_INIT;
    int rc = st_read_file(path, &b);
    if (rc) return rc;
    rc = read_all_mem(b.data, b.len, path);
    st_buf_free(&b);
    return rc;
}

static json_t *load_manifest(void) {
    json_error_t e;
    json_t *m = json_load_file(corpus_path("manifest.json"), 0, &e);
    if (!m) fail_msg("manifest: %s", e.text);
    return m;
}

/* ---- facts ----------------------------------------------------------------- */

static void test_footer_facts(void **state) {
    (void)state;
    if (!st_test_corpus_or_skip()) return;
    st_pq_file_t *f = open_corpus("files/alltypes_plain.parquet");
    assert_int_equal(st_pq_num_rows(f), 8);
    assert_int_equal(st_pq_num_row_groups(f), 1);
    assert_int_equal(st_pq_row_group_num_rows(f, 0), 8);
    assert_int_equal(st_pq_row_group_num_rows(f, 1), -1);
    assert_int_equal(st_pq_num_columns(f), 11);
    assert_string_equal(st_pq_column_name(f, 0), "id");
    assert_null(st_pq_column_name(f, 11));
    assert_int_equal(st_pq_column_index(f, "string_col"), 9);
    assert_int_equal(st_pq_column_index(f, "nope"), -1);
    assert_non_null(st_pq_created_by(f));
    assert_true(!strncmp(st_pq_created_by(f), "impala", 6));
    assert_null(st_pq_kv(f, "no such key"));
    assert_string_equal(pq_leaf_path(f, 10), "timestamp_col");
    assert_int_equal(f->row_groups[0].chunks[0].codec, ST_CODEC_UNCOMPRESSED);
    st_pq_close(f);

    f = open_corpus("files/nested_lists.snappy.parquet");
    assert_int_equal(st_pq_num_columns(f), 2);
    assert_int_equal(f->num_leaves, 2);
    assert_string_equal(pq_leaf_path(f, 0), "a.list.element.list.element.list.element");
    const pq_node_t *leaf = &f->nodes[f->leaf_nodes[0]];
    assert_int_equal(leaf->max_def, 7);
    assert_int_equal(leaf->max_rep, 3);
    assert_int_equal(f->nodes[leaf->parent].num_children, 1);
    st_pq_close(f);

    /* FileMetaData.num_rows is 0 here; the row groups count. */
    f = open_corpus("files/repeated_no_annotation.parquet");
    assert_int_equal(f->num_rows, 0);
    assert_int_equal(st_pq_num_rows(f), 6);
    st_pq_close(f);

    f = open_corpus("files/floating_orders_nan_count.parquet");
    assert_int_equal(st_pq_num_row_groups(f), 5);
    st_pq_close(f);

    f = open_corpus("files/dict-page-offset-zero.parquet");
    assert_true(!strncmp(st_pq_created_by(f), "parquet-mr version 1.12.0", 25));
    assert_int_equal(f->row_groups[0].chunks[0].dictionary_page_offset, 0);
    st_pq_close(f);

    f = open_corpus("files/column_chunk_key_value_metadata.parquet");
    assert_int_equal(st_pq_num_rows(f), 0);
    pq_column_data_t c;
    for (int g = 0; g < st_pq_num_row_groups(f); g++) {
        assert_int_equal(pq_read_column(f, g, 0, &c), 0);
        assert_int_equal(c.num_levels, 0);
        pq_column_data_free(&c);
    }
    assert_int_equal(pq_read_column(f, 99, 0, &c), ST_EINVAL);
    st_pq_close(f);

    st_pq_file_t *none;
    assert_int_equal(st_pq_open_path("/nonexistent/x.parquet", &none), ST_ENOTFOUND);
    assert_null(none);
}

/* ---- schema JSON against the corpus ------------------------------------------ */

static void strip_text(json_t *schema) {
    json_t *a = json_object_get(schema, "schema");
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) json_object_del(v, "logical_type_text");
}

static void test_schema_json_matches_corpus(void **state) {
    (void)state;
    if (!st_test_corpus_or_skip()) return;
    json_t *m = load_manifest();
    size_t i;
    json_t *e;
    int checked = 0;
    json_array_foreach(json_object_get(m, "entries"), i, e) {
        if (strcmp(json_string_value(json_object_get(e, "expect")), "rows")) continue;
        const char *file = json_string_value(json_object_get(e, "file"));
        const char *exp = json_string_value(json_object_get(json_object_get(e, "expected"), "schema"));
        st_pq_file_t *f = open_corpus(file);
        st_buf_t b = ST_BUF_INIT;
        assert_int_equal(st_pq_schema_json(f, &b), 0);
        json_error_t err;
        json_t *got = json_loadb((const char *)b.data, b.len, 0, &err);
        if (!got) fail_msg("%s: schema JSON does not parse: %s", file, err.text);
        json_t *want = json_load_file(corpus_path(exp), 0, &err);
        assert_non_null(want);
        strip_text(got);
        strip_text(want);
        if (!json_equal(got, want)) {
            char *g = json_dumps(got, JSON_COMPACT), *w = json_dumps(want, JSON_COMPACT);
            fail_msg("%s: schema differs\n got  %.2000s\n want %.2000s", file, g, w);
        }
        json_decref(got);
        json_decref(want);
        st_buf_free(&b);
        st_pq_close(f);
        checked++;
    }
    assert_true(checked >= 50);
    json_decref(m);
}

/* ---- every corpus file through open + pq_read_column ------------------------- */

static void test_corpus_read_all_chunks(void **state) {
    (void)state;
    if (!st_test_corpus_or_skip()) return;
    json_t *m = load_manifest();
    size_t i;
    json_t *e;
    int errors_seen = 0, error_expected = 0, ok_rows = 0;
    json_array_foreach(json_object_get(m, "entries"), i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *file = json_string_value(json_object_get(e, "file"));
        const char *expect = json_string_value(json_object_get(e, "expect"));
        /* Two 1 GiB strings: decodes (see test_large_page), but too slow and
         * too big for every sanitizer run. */
        if (!strcmp(name, "large_string_map.brotli")) continue;
        int rc = read_all_path(corpus_path(file));
        if (!strcmp(expect, "rows")) {
            if (rc) fail_msg("%s: %s", name, st_errmsg());
            ok_rows++;
        } else if (!strcmp(expect, "error")) {
            error_expected++;
            if (rc) {
                errors_seen++;
                /* Messages name the file. */
                assert_non_null(strstr(st_errmsg(), name));
            } else {
                fail_msg("%s: expected an error from the footer or page reader", name);
            }
        }
    }
    assert_int_equal(errors_seen, error_expected);
    assert_true(ok_rows >= 50);
    json_decref(m);
}

static void test_encrypted_is_unsupported(void **state) {
    (void)state;
    if (!st_test_corpus_or_skip()) return;
    st_pq_file_t *f;
    assert_int_equal(st_pq_open_path(corpus_path("bad/uniform_encryption.encrypted.parquet"), &f),
                     ST_EUNSUPPORTED);
    assert_non_null(strstr(st_errmsg(), "encrypt"));
    assert_int_equal(
        st_pq_open_path(corpus_path("bad/aes256-encrypt_columns_plaintext_footer.encrypted.parquet"), &f),
        ST_EUNSUPPORTED);
}

/* ---- malformed footers ------------------------------------------------------ */

static int open_bytes(const uint8_t *d, size_t n) {
    st_pq_source_t src;
    st_pq_file_t *f;
    assert_int_equal(st_pq_source_mem(d, n, "crafted.parquet", &src), 0);
    int rc = st_pq_open(&src, &f);
    if (!rc) st_pq_close(f);
    return rc;
}

/* "PAR1" + footer + length + "PAR1". */
static size_t wrap_footer(const uint8_t *footer, size_t n, uint8_t *out) {
    memcpy(out, "PAR1", 4);
    memcpy(out + 4, footer, n);
    out[4 + n] = (uint8_t)n;
    out[5 + n] = (uint8_t)(n >> 8);
    out[6 + n] = (uint8_t)(n >> 16);
    out[7 + n] = (uint8_t)(n >> 24);
    memcpy(out + 8 + n, "PAR1", 4);
    return n + 12;
}

static void test_malformed_footers(void **state) {
    (void)state;
    uint8_t buf[4096];
    assert_int_equal(open_bytes((const uint8_t *)"PAR1PAR1", 8), ST_ECORRUPT);
    assert_non_null(strstr(st_errmsg(), "crafted.parquet: "));
    assert_int_equal(open_bytes((const uint8_t *)"PAR1\0\0\0\0\0\0\0\0PAR2", 16), ST_ECORRUPT);
    assert_int_equal(open_bytes((const uint8_t *)"PAR1\0\0\0\0\0\0\0\0PARE", 16), ST_EUNSUPPORTED);
    /* Footer length larger than the file. */
    assert_int_equal(open_bytes((const uint8_t *)"PAR1\0\0\0\0\xff\0\0\0PAR1", 16), ST_ECORRUPT);
    assert_non_null(strstr(st_errmsg(), "footer length"));
    /* Zero-length footer. */
    assert_int_equal(open_bytes((const uint8_t *)"PAR1\0\0\0\0\0\0\0\0PAR1", 16), ST_ECORRUPT);

    /* A minimal valid footer: version 1, schema [root(0 children)], num_rows 0,
     * row_groups []. */
    static const uint8_t ok[] = {0x15, 0x02, 0x19, 0x1c, 0x48, 0x01, 'r', 0x15, 0x00, 0x00,
                                 0x16, 0x00, 0x19, 0x0c, 0x00};
    size_t n = wrap_footer(ok, sizeof ok, buf);
    assert_int_equal(open_bytes(buf, n), 0);
    /* Truncating the footer anywhere fails cleanly. */
    for (size_t cut = 1; cut < sizeof ok; cut++) {
        n = wrap_footer(ok, cut, buf);
        assert_int_not_equal(open_bytes(buf, n), 0);
    }
    /* The schema claims 5 children that are not there. */
    static const uint8_t kids[] = {0x15, 0x02, 0x19, 0x1c, 0x48, 0x01, 'r', 0x15, 0x0a, 0x00,
                                   0x16, 0x00, 0x19, 0x0c, 0x00};
    n = wrap_footer(kids, sizeof kids, buf);
    assert_int_equal(open_bytes(buf, n), ST_ECORRUPT);
    assert_non_null(strstr(st_errmsg(), "schema"));
    /* A list claiming more elements than bytes left. */
    static const uint8_t biglist[] = {0x15, 0x02, 0x19, 0xfc, 0xff, 0xff, 0xff, 0x0f, 0x00};
    n = wrap_footer(biglist, sizeof biglist, buf);
    assert_int_equal(open_bytes(buf, n), ST_ECORRUPT);
    assert_non_null(strstr(st_errmsg(), "thrift"));
    /* Deeply nested unknown structs hit the depth limit instead of recursing. */
    uint8_t deep[1200];
    size_t k = 0;
    for (int i = 0; i < 500; i++) deep[k++] = 0x1c; /* field id+1, struct */
    for (int i = 0; i < 500; i++) deep[k++] = 0x00;
    deep[0] = 0x7c; /* unknown field 7 */
    n = wrap_footer(deep, k, buf);
    assert_int_equal(open_bytes(buf, n), ST_ECORRUPT);
    assert_non_null(strstr(st_errmsg(), "deep"));
    /* No schema at all. */
    static const uint8_t noschema[] = {0x15, 0x02, 0x26, 0x00, 0x00};
    n = wrap_footer(noschema, sizeof noschema, buf);
    assert_int_equal(open_bytes(buf, n), ST_ECORRUPT);
}

/* Every single-byte corruption of a real footer, and every truncation of a
 * real file, either opens or fails cleanly; reading what opens never crashes. */
static void test_mutations(void **state) {
    (void)state;
    if (!st_test_corpus_or_skip()) return;
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_read_file(corpus_path("files/alltypes_dictionary.parquet"), &b), 0);
    size_t n = b.len;
    uint32_t flen = (uint32_t)b.data[n - 8] | (uint32_t)b.data[n - 7] << 8 | (uint32_t)b.data[n - 6] << 16 |
                    (uint32_t)b.data[n - 5] << 24;
    uint8_t *copy = malloc(n);
    static const uint8_t flips[] = {0xff, 0x80, 0x01, 0x40};
    int opened = 0, failed = 0;
    for (size_t pos = n - 8 - flen; pos < n; pos++)
        for (size_t k = 0; k < sizeof flips; k++) {
            memcpy(copy, b.data, n);
            copy[pos] ^= flips[k];
            int rc = read_all_mem(copy, n, "mutant.parquet");
            if (rc) {
                failed++;
                assert_true(rc == ST_ECORRUPT || rc == ST_EUNSUPPORTED || rc == ST_ENOMEM);
            } else {
                opened++;
            }
        }
    assert_true(failed > 0 && opened > 0);
    /* Corrupting page bytes too. */
    for (size_t pos = 4; pos < n - 8 - flen; pos++) {
        memcpy(copy, b.data, n);
        copy[pos] ^= 0xff;
        (void)read_all_mem(copy, n, "mutant.parquet");
    }
    for (size_t cut = 0; cut < n; cut++) assert_int_not_equal(read_all_mem(b.data, cut, "cut.parquet"), 0);
    free(copy);
    st_buf_free(&b);
}

/* ---- schema text and footer JSON ---------------------------------------------- */

static void test_schema_text_and_meta(void **state) {
    (void)state;
    if (!st_test_corpus_or_skip()) return;
    st_pq_file_t *f = open_corpus("files/nested_lists.snappy.parquet");
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_pq_schema_text(f, &b), 0);
    assert_int_equal(st_buf_append_byte(&b, 0), 0);
    const char *t = (const char *)b.data;
    assert_true(!strncmp(t, "message spark_schema\n", 21));
    assert_non_null(strstr(t, "\n  optional group a (LIST)\n    repeated group list\n      optional group element (LIST)\n"));
    assert_non_null(strstr(t, "\n              optional binary element (UTF8)\n"));
    assert_non_null(strstr(t, "\n  required int32 b\n"));
    st_buf_free(&b);
    st_pq_close(f);

    f = open_corpus("files/int32_decimal.parquet");
    assert_int_equal(st_pq_schema_text(f, &b), 0);
    assert_int_equal(st_buf_append_byte(&b, 0), 0);
    assert_non_null(strstr((const char *)b.data, "int32 value (DECIMAL(4,2))"));
    st_buf_free(&b);

    assert_int_equal(st_pq_meta_json(f, &b), 0);
    json_error_t err;
    json_t *j = json_loadb((const char *)b.data, b.len, 0, &err);
    if (!j) fail_msg("meta JSON does not parse: %s", err.text);
    json_t *rg = json_array_get(json_object_get(j, "row_groups"), 0);
    assert_int_equal(json_integer_value(json_object_get(rg, "num_rows")), 24);
    json_t *col = json_array_get(json_object_get(rg, "columns"), 0);
    assert_string_equal(json_string_value(json_object_get(col, "path")), "value");
    assert_string_equal(json_string_value(json_object_get(col, "physical_type")), "INT32");
    assert_true(json_is_string(json_object_get(col, "codec")));
    assert_true(json_array_size(json_object_get(col, "encodings")) > 0);
    json_t *st = json_object_get(col, "statistics");
    assert_true(json_is_object(st));
    /* Stats of INT32 render as numbers: the decimal's unscaled 100..2400. */
    assert_int_equal(json_integer_value(json_object_get(st, "min")), 100);
    assert_int_equal(json_integer_value(json_object_get(st, "max")), 2400);
    json_decref(j);
    st_buf_free(&b);
    st_pq_close(f);
}

/* ---- row-group selection ------------------------------------------------------- */

static st_pq_file_t *written_file(st_buf_t *file) {
    st_field_t fields[] = {
        {"id", {.id = ST_TYPE_INT64}, false},
        {"u", {.id = ST_TYPE_UINT32}, true},
        {"name", {.id = ST_TYPE_STRING}, true},
        {"x", {.id = ST_TYPE_DOUBLE}, true},
        {"day", {.id = ST_TYPE_DATE}, true},
        {"ts", {.id = ST_TYPE_TIMESTAMP, .unit = ST_UNIT_MS, .utc = true}, true},
        {"flag", {.id = ST_TYPE_BOOL}, true},
        {"price", {.id = ST_TYPE_DECIMAL, .precision = 9, .scale = 2}, true},
        {"empty", {.id = ST_TYPE_INT32}, true},
    };
    int nf = (int)(sizeof fields / sizeof fields[0]);
    st_batch_t *batch;
    assert_int_equal(st_batch_new(fields, nf, &batch), 0);
    for (int i = 0; i < 1000; i++) {
        char s[16];
        snprintf(s, sizeof s, "k%03d", i);
        assert_int_equal(st_col_append_i64(&batch->cols[0], i), 0);
        assert_int_equal(st_col_append_u64(&batch->cols[1], (uint64_t)i * 4000000u), 0);
        assert_int_equal(st_col_append_bytes(&batch->cols[2], s, strlen(s)), 0);
        assert_int_equal(st_col_append_double(&batch->cols[3], i - 500.5), 0);
        assert_int_equal(st_col_append_i64(&batch->cols[4], 19000 + i), 0);
        assert_int_equal(st_col_append_i64(&batch->cols[5], (int64_t)i * 86400000), 0);
        assert_int_equal(st_col_append_bool(&batch->cols[6], i >= 500), 0);
        assert_int_equal(st_col_append_i64(&batch->cols[7], i * 10), 0);
        assert_int_equal(i % 200 < 100 ? st_col_append_null(&batch->cols[8]) : st_col_append_i64(&batch->cols[8], 7),
                         0);
        assert_int_equal(st_batch_end_row(batch), 0);
    }
    st_pq_write_opts_t o;
    st_pq_write_opts_default(&o);
    o.row_group_rows = 100;
    st_pq_sink_t sink;
    assert_int_equal(st_pq_sink_buf(file, "ranges.parquet", &sink), 0);
    st_pq_writer_t *w;
    assert_int_equal(st_pq_writer_open(&sink, fields, nf, &o, &w), 0);
    assert_int_equal(st_pq_writer_write(w, batch), 0);
    assert_int_equal(st_pq_writer_close(w), 0);
    st_batch_free(batch);
    st_pq_source_t src;
    assert_int_equal(st_pq_source_mem(file->data, file->len, "ranges.parquet", &src), 0);
    st_pq_file_t *f;
    if (st_pq_open(&src, &f)) fail_msg("%s", st_errmsg());
    assert_int_equal(st_pq_num_row_groups(f), 10);
    return f;
}

/* Row groups kept for one predicate, as a bit mask. */
static unsigned kept(st_pq_file_t *f, const char *col, st_pq_cmp_t cmp, const char *lit) {
    st_pq_pred_t p = {col, cmp, lit};
    bool keep[10];
    int rc = st_pq_select_row_groups(f, &p, 1, keep);
    if (rc) fail_msg("%s %s: %s", col, lit ? lit : "", st_errmsg());
    unsigned m = 0;
    for (int i = 0; i < 10; i++) m |= (unsigned)keep[i] << i;
    return m;
}

static void test_select_row_groups(void **state) {
    (void)state;
    st_buf_t file = ST_BUF_INIT;
    st_pq_file_t *f = written_file(&file);
    /* Each row group g holds ids 100g .. 100g+99. */
    assert_int_equal(kept(f, "id", ST_PQ_EQ, "250"), 1u << 2);
    assert_int_equal(kept(f, "id", ST_PQ_EQ, "1000"), 0);
    assert_int_equal(kept(f, "id", ST_PQ_LT, "100"), 1u);
    assert_int_equal(kept(f, "id", ST_PQ_LE, "100"), 3u);
    assert_int_equal(kept(f, "id", ST_PQ_GT, "899"), 1u << 9);
    assert_int_equal(kept(f, "id", ST_PQ_GE, "899"), 3u << 8);
    assert_int_equal(kept(f, "id", ST_PQ_NE, "5"), 0x3ffu);
    assert_int_equal(kept(f, "id", ST_PQ_GT, "99.5"), 0x3feu);
    assert_int_equal(kept(f, "id", ST_PQ_LT, "99.5"), 1u);
    assert_int_equal(kept(f, "id", ST_PQ_EQ, "99.5"), 0);
    assert_int_equal(kept(f, "id", ST_PQ_IS_NULL, NULL), 0); /* required */
    assert_int_equal(kept(f, "id", ST_PQ_NOT_NULL, NULL), 0x3ffu);
    /* Unsigned: values above 2^31 sort after the small ones. */
    assert_int_equal(kept(f, "u", ST_PQ_GE, "3996000000"), 1u << 9);
    assert_int_equal(kept(f, "u", ST_PQ_LT, "400000000"), 1u);
    /* Strings compare byte-wise. */
    assert_int_equal(kept(f, "name", ST_PQ_EQ, "k512"), 1u << 5);
    assert_int_equal(kept(f, "name", ST_PQ_GE, "k9"), 1u << 9);
    assert_int_equal(kept(f, "name", ST_PQ_LT, "k1"), 1u);
    /* Doubles. */
    assert_int_equal(kept(f, "x", ST_PQ_LT, "-400.5"), 1u);
    assert_int_equal(kept(f, "x", ST_PQ_GT, "398.5"), 1u << 9);
    assert_int_equal(kept(f, "x", ST_PQ_EQ, "NaN"), 0x3ffu);
    /* Dates, timestamps, booleans, decimals. */
    assert_int_equal(kept(f, "day", ST_PQ_GE, "2023-01-01"), 0x3f8u); /* 19358: rows 358.. */
    assert_int_equal(kept(f, "ts", ST_PQ_LT, "1970-01-02T00:00:00.000Z"), 1u);
    assert_int_equal(kept(f, "ts", ST_PQ_GE, "1972-09-26"), 1u << 9); /* day 999 is 1972-09-26 */
    assert_int_equal(kept(f, "flag", ST_PQ_EQ, "true"), 0x3e0u);
    assert_int_equal(kept(f, "price", ST_PQ_GE, "9.91"), 0x3feu);
    assert_int_equal(kept(f, "price", ST_PQ_LT, "0.05"), 1u);
    assert_int_equal(kept(f, "price", ST_PQ_GT, "9.9"), 0x3feu);
    /* Null counts: groups 0, 2, 4, 6, 8 are all null. */
    assert_int_equal(kept(f, "empty", ST_PQ_IS_NULL, NULL), 0x155u);
    assert_int_equal(kept(f, "empty", ST_PQ_NOT_NULL, NULL), 0x2aau);
    assert_int_equal(kept(f, "empty", ST_PQ_EQ, "7"), 0x2aau);
    /* AND of two predicates. */
    st_pq_pred_t two[] = {{"id", ST_PQ_GE, "300"}, {"name", ST_PQ_LT, "k500"}};
    bool keep[10];
    assert_int_equal(st_pq_select_row_groups(f, two, 2, keep), 0);
    for (int i = 0; i < 10; i++) assert_int_equal(keep[i], i == 3 || i == 4);
    /* Errors. */
    st_pq_pred_t badcol = {"nope", ST_PQ_EQ, "1"};
    assert_int_equal(st_pq_select_row_groups(f, &badcol, 1, keep), ST_ENOTFOUND);
    st_pq_pred_t badlit = {"id", ST_PQ_EQ, "abc"};
    assert_int_equal(st_pq_select_row_groups(f, &badlit, 1, keep), ST_ETYPE);
    st_pq_pred_t baddate = {"day", ST_PQ_EQ, "2024-13-45"};
    assert_int_not_equal(st_pq_select_row_groups(f, &baddate, 1, keep), 0);

    /* Footer JSON shows readable statistics. */
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_pq_meta_json(f, &b), 0);
    json_error_t err;
    json_t *j = json_loadb((const char *)b.data, b.len, 0, &err);
    assert_non_null(j);
    json_t *rg = json_array_get(json_object_get(j, "row_groups"), 3);
    json_t *name = json_array_get(json_object_get(rg, "columns"), 2);
    json_t *st = json_object_get(name, "statistics");
    assert_string_equal(json_string_value(json_object_get(st, "min")), "k300");
    assert_string_equal(json_string_value(json_object_get(st, "max")), "k399");
    json_t *u = json_object_get(json_array_get(json_object_get(rg, "columns"), 1), "statistics");
    assert_int_equal(json_integer_value(json_object_get(u, "max")), 399LL * 4000000);
    json_decref(j);
    st_buf_free(&b);

    /* Every chunk decodes back to what was written. */
    pq_column_data_t c;
    assert_int_equal(pq_read_column(f, 3, 0, &c), 0);
    assert_int_equal(c.num_values, 100);
    int64_t v;
    memcpy(&v, c.values.data + 8 * 42, 8);
    assert_int_equal(v, 342);
    pq_column_data_free(&c);
    assert_int_equal(pq_read_column(f, 3, 2, &c), 0);
    assert_int_equal(c.num_values, 100);
    assert_int_equal(c.offsets[1] - c.offsets[0], 4);
    assert_memory_equal(c.values.data + c.offsets[7], "k307", 4);
    pq_column_data_free(&c);
    st_pq_close(f);
    st_buf_free(&file);
}

/* Corpus files with statistics: floating_orders_nan_count has 5 row groups. */
static void test_select_corpus(void **state) {
    (void)state;
    if (!st_test_corpus_or_skip()) return;
    st_pq_file_t *f = open_corpus("files/int32_decimal.parquet");
    bool keep[1];
    st_pq_pred_t p = {"value", ST_PQ_GT, "24.00"};
    assert_int_equal(st_pq_select_row_groups(f, &p, 1, keep), 0);
    assert_false(keep[0]);
    p.literal = "23.99";
    assert_int_equal(st_pq_select_row_groups(f, &p, 1, keep), 0);
    assert_true(keep[0]);
    p.cmp = ST_PQ_LT;
    p.literal = "1.00";
    assert_int_equal(st_pq_select_row_groups(f, &p, 1, keep), 0);
    assert_false(keep[0]);
    st_pq_close(f);
    /* INT96 has no defined order: always kept. */
    f = open_corpus("files/alltypes_plain.parquet");
    st_pq_pred_t q = {"timestamp_col", ST_PQ_EQ, "1900-01-01"};
    assert_int_equal(st_pq_select_row_groups(f, &q, 1, keep), 0);
    assert_true(keep[0]);
    st_pq_close(f);
}

/* Files from the writer with many small pages, dictionary fallback to PLAIN,
 * nulls, data page v1 and v2 and every writable codec decode back exactly. */
static void test_written_variants(void **state) {
    (void)state;
    st_field_t fields[] = {
        {"n", {.id = ST_TYPE_INT64}, true},
        {"s", {.id = ST_TYPE_STRING}, true},
        {"d", {.id = ST_TYPE_DOUBLE}, false},
        {"b", {.id = ST_TYPE_BOOL}, true},
    };
    const int rows = 20000;
    st_batch_t *batch;
    assert_int_equal(st_batch_new(fields, 4, &batch), 0);
    for (int i = 0; i < rows; i++) {
        char s[32];
        /* Few distinct strings first (dictionary), then all distinct (fallback). */
        int len = i < rows / 2 ? snprintf(s, sizeof s, "v%d", i % 7) : snprintf(s, sizeof s, "value-%d", i);
        assert_int_equal(i % 5 == 0 ? st_col_append_null(&batch->cols[0]) : st_col_append_i64(&batch->cols[0], i * 3 - 7), 0);
        assert_int_equal(i % 11 == 0 ? st_col_append_null(&batch->cols[1]) : st_col_append_bytes(&batch->cols[1], s, (size_t)len), 0);
        assert_int_equal(st_col_append_double(&batch->cols[2], i / 8.0), 0);
        assert_int_equal(i % 3 == 0 ? st_col_append_null(&batch->cols[3]) : st_col_append_bool(&batch->cols[3], i % 2), 0);
        assert_int_equal(st_batch_end_row(batch), 0);
    }
    static const st_codec_t codecs[] = {ST_CODEC_UNCOMPRESSED, ST_CODEC_SNAPPY, ST_CODEC_GZIP,
                                        ST_CODEC_BROTLI, ST_CODEC_ZSTD, ST_CODEC_LZ4_RAW};
    for (size_t ci = 0; ci < sizeof codecs / sizeof codecs[0]; ci++)
        for (int version = 1; version <= 2; version++) {
            st_pq_write_opts_t o;
            st_pq_write_opts_default(&o);
            o.codec = codecs[ci];
            o.page_version = version;
            o.page_bytes = 4096;
            o.dictionary_limit = 2048;
            st_buf_t file = ST_BUF_INIT;
            st_pq_sink_t sink;
            assert_int_equal(st_pq_sink_buf(&file, "variants.parquet", &sink), 0);
            st_pq_writer_t *w;
            assert_int_equal(st_pq_writer_open(&sink, fields, 4, &o, &w), 0);
            assert_int_equal(st_pq_writer_write(w, batch), 0);
            if (st_pq_writer_close(w)) fail_msg("%s", st_errmsg());
            st_pq_source_t src;
            assert_int_equal(st_pq_source_mem(file.data, file.len, "variants.parquet", &src), 0);
            st_pq_file_t *f;
            if (st_pq_open(&src, &f)) fail_msg("%s", st_errmsg());
            assert_int_equal(st_pq_num_rows(f), rows);
            int64_t base = 0;
            for (int g = 0; g < st_pq_num_row_groups(f); g++) {
                pq_column_data_t c[4];
                for (int l = 0; l < 4; l++)
                    if (pq_read_column(f, g, l, &c[l])) fail_msg("codec %d v%d: %s", codecs[ci], version, st_errmsg());
                int64_t nrows = st_pq_row_group_num_rows(f, g);
                int64_t vi[4] = {0, 0, 0, 0};
                for (int64_t r = 0; r < nrows; r++) {
                    int i = (int)(base + r);
                    for (int l = 0; l < 4; l++) assert_int_equal(c[l].num_levels, nrows);
                    bool null0 = i % 5 == 0, null1 = i % 11 == 0, null3 = i % 3 == 0;
                    assert_int_equal(c[0].def[r] == 0, null0);
                    if (!null0) {
                        int64_t v;
                        memcpy(&v, c[0].values.data + 8 * vi[0]++, 8);
                        assert_int_equal(v, i * 3 - 7);
                    }
                    assert_int_equal(c[1].def[r] == 0, null1);
                    if (!null1) {
                        char s[32];
                        int len = i < rows / 2 ? snprintf(s, sizeof s, "v%d", i % 7)
                                               : snprintf(s, sizeof s, "value-%d", i);
                        uint32_t a = c[1].offsets[vi[1]], e = c[1].offsets[vi[1] + 1];
                        assert_int_equal(e - a, len);
                        assert_memory_equal(c[1].values.data + a, s, (size_t)len);
                        vi[1]++;
                    }
                    assert_null(c[2].def);
                    double d;
                    memcpy(&d, c[2].values.data + 8 * r, 8);
                    assert_true(d == i / 8.0);
                    assert_int_equal(c[3].def[r] == 0, null3);
                    if (!null3) assert_int_equal(c[3].values.data[vi[3]++], i % 2);
                }
                for (int l = 0; l < 4; l++) pq_column_data_free(&c[l]);
                base += nrows;
            }
            /* The writer really produced several pages and a dictionary. */
            const pq_chunk_meta_t *m = &f->row_groups[0].chunks[1];
            bool plain = false, dict = false;
            for (int e = 0; e < m->num_encodings; e++) {
                plain |= m->encodings[e] == PQ_ENC_PLAIN;
                dict |= m->encodings[e] == PQ_ENC_RLE_DICTIONARY || m->encodings[e] == PQ_ENC_PLAIN_DICTIONARY;
            }
            assert_true(plain && dict);
            assert_true(m->dictionary_page_offset > 0);
            assert_true(f->row_groups[0].chunks[0].total_uncompressed_size > 4 * 4096);
            st_pq_close(f);
            st_buf_free(&file);
        }
    st_batch_free(batch);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_footer_facts),
        cmocka_unit_test(test_schema_json_matches_corpus),
        cmocka_unit_test(test_corpus_read_all_chunks),
        cmocka_unit_test(test_encrypted_is_unsupported),
        cmocka_unit_test(test_malformed_footers),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_schema_text_and_meta),
        cmocka_unit_test(test_select_row_groups),
        cmocka_unit_test(test_select_corpus),
        cmocka_unit_test(test_written_variants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
