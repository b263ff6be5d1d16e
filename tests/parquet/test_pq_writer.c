/* The Parquet writer: the thrift encoder and RLE encoder against hand-computed
 * bytes, the dictionary builder, file layout, page structure (walked with the
 * thrift decoder), dictionary fallback, statistics, sinks (atomic commit, abort,
 * refused nulls leave nothing on disk), streaming by row group, and round trips
 * through the reader for every type x codec x page version x dictionary x
 * nullability, checked against the data generator's own canonical JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "interop/gen_data.h"
#include "parquet/pq_decode.h"
#include "parquet/pq_encode.h"
#include "parquet/pq_internal.h"
#include "parquet/thrift.h"
#include "parquet/thrift_write.h"
#include "strata/parquet.h"

#define OK(x) assert_int_equal((x), ST_OK)

static void assert_bytes(const st_buf_t *b, const uint8_t *want, size_t n) {
    if (b->len != n || memcmp(b->data, want, n)) {
        fprintf(stderr, "got %zu bytes:", b->len);
        for (size_t i = 0; i < b->len; i++) fprintf(stderr, " %02x", b->data[i]);
        fprintf(stderr, "\nwant %zu bytes:", n);
        for (size_t i = 0; i < n; i++) fprintf(stderr, " %02x", want[i]);
        fprintf(stderr, "\n");
        fail();
    }
}

/* ---- thrift encoder ---- */

static void test_thrift_bytes(void **state) {
    (void)state;
    st_buf_t b = ST_BUF_INIT;
    pq_tw_t w;
    pq_tw_init(&w, &b);
    pq_tw_i32(&w, 1, 5);           /* 0x15, zigzag 10 */
    pq_tw_i64(&w, 3, -1);          /* delta 2: 0x26, zigzag 1 */
    pq_tw_string(&w, 20, "ab");    /* delta 17: long form 0x08, zigzag(20) = 40 */
    pq_tw_bool(&w, 21, true);      /* 0x11 */
    pq_tw_struct(&w, 22);          /* 0x1c */
    pq_tw_i32(&w, 1, 0);           /* 0x15 0x00 */
    pq_tw_end(&w);                 /* 0x00 */
    pq_tw_list(&w, 23, PQ_TC_I32, 3); /* 0x19 0x35 */
    pq_tw_elem_i32(&w, -1);
    pq_tw_elem_i32(&w, 1);
    pq_tw_elem_i32(&w, 64);        /* zigzag 128: 0x80 0x01 */
    pq_tw_list(&w, 24, PQ_TC_BINARY, 15); /* 0x19 0xf8 0x0f */
    for (int i = 0; i < 15; i++) pq_tw_elem_binary(&w, "", 0);
    pq_tw_i32(&w, 2, 7);           /* id goes down: long form 0x05 0x04, zigzag 14 */
    pq_tw_i8(&w, 3, -2);           /* 0x13 0xfe */
    pq_tw_i16(&w, 4, -300);        /* 0x14, zigzag 599 = 0xd7 0x04 */
    pq_tw_end(&w);
    OK(pq_tw_error(&w));
    uint8_t want[] = {0x15, 0x0a, 0x26, 0x01, 0x08, 0x28, 0x02, 'a', 'b', 0x11, 0x1c, 0x15, 0x00,
                      0x00, 0x19, 0x35, 0x01, 0x02, 0x80, 0x01, 0x19, 0xf8, 0x0f, 0, 0, 0, 0,
                      0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0x05, 0x04,
                      0x0e, 0x13, 0xfe, 0x14, 0xd7, 0x04, 0x00};
    assert_bytes(&b, want, sizeof want);
    st_buf_free(&b);
}

/* Encodes a struct with nested structs and lists and reads it back with the
 * reader's decoder. */
static void test_thrift_roundtrip(void **state) {
    (void)state;
    st_buf_t b = ST_BUF_INIT;
    pq_tw_t w;
    pq_tw_init(&w, &b);
    pq_tw_i64(&w, 1, INT64_MIN);
    pq_tw_list(&w, 2, PQ_TC_STRUCT, 20);
    for (int i = 0; i < 20; i++) {
        pq_tw_elem_struct(&w);
        pq_tw_i32(&w, 1, i * 1000 - 7);
        pq_tw_struct(&w, 300);
        pq_tw_bool(&w, 1, i & 1);
        pq_tw_end(&w);
        pq_tw_end(&w);
    }
    pq_tw_binary(&w, 3, "\x00\xff", 2);
    pq_tw_end(&w);
    OK(pq_tw_error(&w));

    th_reader_t r;
    th_struct_t s, e, in;
    int16_t id;
    int type, et;
    uint32_t n;
    int64_t v64;
    th_init(&r, b.data, b.len);
    OK(th_struct_begin(&r, &s));
    OK(th_field(&r, &s, &id, &type));
    assert_int_equal(id, 1);
    OK(th_read_i64(&r, type, &v64));
    assert_true(v64 == INT64_MIN);
    OK(th_field(&r, &s, &id, &type));
    assert_int_equal(id, 2);
    OK(th_list_begin(&r, type, &et, &n));
    assert_int_equal(et, TH_STRUCT);
    assert_int_equal(n, 20);
    for (uint32_t i = 0; i < n; i++) {
        int32_t v;
        bool flag;
        OK(th_struct_begin(&r, &e));
        OK(th_field(&r, &e, &id, &type));
        assert_int_equal(id, 1);
        OK(th_read_i32(&r, type, &v));
        assert_int_equal(v, (int32_t)i * 1000 - 7);
        OK(th_field(&r, &e, &id, &type));
        assert_int_equal(id, 300);
        OK(th_struct_begin(&r, &in));
        OK(th_field(&r, &in, &id, &type));
        OK(th_read_bool(&r, type, &flag));
        assert_int_equal(flag, (i & 1) != 0);
        OK(th_field(&r, &in, &id, &type));
        assert_int_equal(type, TH_STOP);
        th_struct_end(&r);
        OK(th_field(&r, &e, &id, &type));
        assert_int_equal(type, TH_STOP);
        th_struct_end(&r);
    }
    const uint8_t *p;
    OK(th_field(&r, &s, &id, &type));
    assert_int_equal(id, 3);
    OK(th_read_binary(&r, type, &p, &n));
    assert_int_equal(n, 2);
    assert_memory_equal(p, "\x00\xff", 2);
    OK(th_field(&r, &s, &id, &type));
    assert_int_equal(type, TH_STOP);
    assert_int_equal(th_remaining(&r), 0);
    st_buf_free(&b);
}

/* ---- RLE / bit-packed hybrid ---- */

static void rle_case(const uint32_t *v, size_t n, int width, const uint8_t *want, size_t wn) {
    st_buf_t b = ST_BUF_INIT;
    OK(pq_rle_encode(v, n, width, &b));
    assert_bytes(&b, want, wn);
    st_buf_free(&b);
}

static void test_rle_bytes(void **state) {
    (void)state;
    uint32_t ones[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    rle_case(ones, 10, 1, (const uint8_t[]){0x14, 0x01}, 2);
    /* The spec's example: 0..7 with width 3. */
    uint32_t seq[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    rle_case(seq, 8, 3, (const uint8_t[]){0x03, 0x88, 0xc6, 0xfa}, 4);
    /* A run, then a literal padded to a group of 8. */
    uint32_t a[13] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 1, 2, 3};
    rle_case(a, 13, 3, (const uint8_t[]){0x14, 0x05, 0x03, 0xd1, 0x00, 0x00}, 6);
    /* A literal completed with values of the following run. */
    uint32_t c[18] = {1, 2, 3, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    rle_case(c, 18, 3, (const uint8_t[]){0x03, 0xd1, 0xfe, 0xff, 0x14, 0x07}, 6);
    /* ...but not when fewer than 8 of the run would be left: all literal. */
    rle_case(c, 13, 3, (const uint8_t[]){0x05, 0xd1, 0xfe, 0xff, 0xff, 0x7f, 0x00}, 7);
    /* Wide values: the RLE value takes ceil(width/8) bytes. */
    uint32_t big[9] = {0x12345, 0x12345, 0x12345, 0x12345, 0x12345, 0x12345, 0x12345, 0x12345, 0x12345};
    rle_case(big, 9, 17, (const uint8_t[]){0x12, 0x45, 0x23, 0x01}, 4);

    st_buf_t b = ST_BUF_INIT;
    uint8_t bits[8];
    memset(bits, 0xff, sizeof bits);
    bits[7] = 0x0f; /* 60 ones */
    OK(pq_rle_encode_bits(bits, 60, &b));
    assert_bytes(&b, (const uint8_t[]){0x78, 0x01}, 2);
    st_buf_reset(&b);
    uint8_t alt[3] = {0xaa, 0xaa, 0xaa};
    OK(pq_rle_encode_bits(alt, 24, &b));
    assert_bytes(&b, (const uint8_t[]){0x07, 0xaa, 0xaa, 0xaa}, 4);
    st_buf_reset(&b);
    /* 32 ones, 0xaa, then 5 tail bits 10101. */
    uint8_t mix[6] = {0xff, 0xff, 0xff, 0xff, 0xaa, 0x15};
    OK(pq_rle_encode_bits(mix, 45, &b));
    assert_bytes(&b, (const uint8_t[]){0x40, 0x01, 0x05, 0xaa, 0x15}, 5);
    st_buf_reset(&b);
    /* A zero run that reaches the end takes the tail bits with it. */
    uint8_t zt[4] = {0x01, 0x00, 0x00, 0x00};
    OK(pq_rle_encode_bits(zt, 29, &b));
    assert_bytes(&b, (const uint8_t[]){0x03, 0x01, 0x2a, 0x00}, 4);
    st_buf_free(&b);
}

/* Encodes many shapes of data and decodes them with the reader's decoder. */
static void test_rle_roundtrip(void **state) {
    (void)state;
    enum { N = 5000 };
    uint32_t *v = malloc(N * sizeof *v), *back = malloc(N * sizeof *back);
    uint8_t *bits = calloc(N / 8 + 1, 1);
    st_buf_t b = ST_BUF_INIT;
    for (int width = 1; width <= 32; width++) {
        for (int shape = 0; shape < 4; shape++) {
            uint64_t mask = width == 32 ? UINT32_MAX : ((uint64_t)1 << width) - 1;
            size_t n = (size_t)(N - shape * 7 - width);
            for (size_t i = 0; i < n; i++) {
                uint64_t h = gen_mix(i * 31 + (uint64_t)width * 7 + (uint64_t)shape);
                switch (shape) {
                case 0: v[i] = (uint32_t)(h & mask); break;                        /* random */
                case 1: v[i] = (uint32_t)((i / 37) & mask); break;                 /* long runs */
                case 2: v[i] = (uint32_t)((h % 4 == 0 ? h >> 8 : i / 9) & mask); break; /* mixed */
                default: v[i] = (uint32_t)(mask * ((i / 600) & 1)); break;         /* huge literals/runs */
                }
            }
            st_buf_reset(&b);
            OK(pq_rle_encode(v, n, width, &b));
            pq_rle_t r;
            pq_rle_init(&r, b.data, b.len, width);
            OK(pq_rle_get(&r, back, n));
            assert_memory_equal(v, back, n * sizeof *v);
            if (width == 1) {
                memset(bits, 0, N / 8 + 1);
                for (size_t i = 0; i < n; i++)
                    if (v[i]) bits[i >> 3] |= (uint8_t)(1u << (i & 7));
                st_buf_reset(&b);
                OK(pq_rle_encode_bits(bits, n, &b));
                pq_rle_init(&r, b.data, b.len, 1);
                OK(pq_rle_get(&r, back, n));
                assert_memory_equal(v, back, n * sizeof *v);
            }
        }
    }
    assert_int_equal(pq_enc_bit_width(0), 0);
    assert_int_equal(pq_enc_bit_width(1), 1);
    assert_int_equal(pq_enc_bit_width(255), 8);
    assert_int_equal(pq_enc_bit_width(256), 9);
    st_buf_free(&b);
    free(v);
    free(back);
    free(bits);
}

static void test_bits_helpers(void **state) {
    (void)state;
    uint8_t src[40], dst[48];
    for (int i = 0; i < 40; i++) src[i] = (uint8_t)gen_mix((uint64_t)i);
    for (int so = 0; so < 20; so++)
        for (int dof = 0; dof < 20; dof++)
            for (int n = 0; n < 250; n += 13) {
                memset(dst, 0, sizeof dst);
                pq_bits_copy(dst, (uint64_t)dof, src, (uint64_t)so, (uint64_t)n);
                for (int i = 0; i < 48 * 8; i++) {
                    bool want = i >= dof && i < dof + n && pq_bit_get(src, (uint64_t)(so + i - dof));
                    assert_int_equal(pq_bit_get(dst, (uint64_t)i), want);
                }
                uint64_t cnt = 0;
                for (int i = 0; i < n; i++) cnt += pq_bit_get(src, (uint64_t)(so + i));
                assert_int_equal(pq_bits_count(src, (uint64_t)so, (uint64_t)n), cnt);
                uint64_t k = cnt / 2, seen = 0, pos = (uint64_t)n;
                for (int i = 0; i < n; i++)
                    if (pq_bit_get(src, (uint64_t)(so + i)) && seen++ == k) {
                        pos = (uint64_t)i;
                        break;
                    }
                assert_int_equal(pq_bits_nth(src, (uint64_t)so, (uint64_t)n, k), pos);
            }
    assert_int_equal(pq_bits_nth(src, 3, 10, 100), 10);
}

/* ---- dictionary builder ---- */

static void test_dict_builder(void **state) {
    (void)state;
    pq_dictb_t d;
    uint32_t idx[4096];
    size_t done;
    pq_dictb_init(&d, PQ_DICTB_K8, 8);
    int64_t vals[3000];
    for (int i = 0; i < 3000; i++) vals[i] = (int64_t)(gen_mix((uint64_t)(i % 1500)) << 3);
    OK(pq_dictb_put_fixed(&d, (const uint8_t *)vals, 3000, 1 << 20, idx, &done));
    assert_int_equal(done, 3000);
    assert_int_equal(d.count, 1500);
    for (int i = 0; i < 3000; i++) {
        size_t len;
        assert_int_equal(idx[i], (uint32_t)(i % 1500));
        const uint8_t *e = pq_dictb_entry(&d, idx[i], &len);
        assert_int_equal(len, 8);
        assert_memory_equal(e, &vals[i], 8);
    }
    /* The limit stops before the first value that needs a new entry. */
    pq_dictb_reset(&d);
    assert_int_equal(d.count, 0);
    OK(pq_dictb_put_fixed(&d, (const uint8_t *)vals, 3000, 800, idx, &done));
    assert_int_equal(done, 100);
    assert_int_equal(d.count, 100);
    assert_int_equal(d.values.len, 800);
    pq_dictb_free(&d);

    /* Floats compare by bit pattern: -0 and +0 are different entries. */
    pq_dictb_init(&d, PQ_DICTB_K4, 4);
    float f[4] = {0.0f, -0.0f, 0.0f, 1.5f};
    OK(pq_dictb_put_fixed(&d, (const uint8_t *)f, 4, 1 << 20, idx, &done));
    assert_int_equal(d.count, 3);
    assert_int_equal(idx[2], 0);
    assert_int_equal(idx[1], 1);
    pq_dictb_free(&d);

    /* FIXED of 3 bytes. */
    pq_dictb_init(&d, PQ_DICTB_FIXED, 3);
    OK(pq_dictb_put_fixed(&d, (const uint8_t *)"abcxyzabcabc", 4, 1 << 20, idx, &done));
    assert_int_equal(d.count, 2);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 1);
    assert_int_equal(idx[3], 0);
    pq_dictb_free(&d);

    /* Byte arrays with nulls; the dictionary page holds length-prefixed values. */
    pq_dictb_init(&d, PQ_DICTB_BYTES, 0);
    const char *data = "hellohelloworld";
    int32_t off[6] = {0, 5, 5, 10, 15, 15}; /* hello, null, hello, world, "" */
    uint8_t valid = 0x1d;                   /* rows 0, 2, 3, 4 */
    size_t nidx;
    int64_t rows;
    OK(pq_dictb_put_bytes(&d, off, (const uint8_t *)data, &valid, 0, 5, 1 << 20, idx, &nidx, &rows));
    assert_int_equal(nidx, 4);
    assert_int_equal(rows, 5);
    assert_int_equal(d.count, 3);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 0);
    assert_int_equal(idx[2], 1);
    assert_int_equal(idx[3], 2);
    assert_bytes(&d.values, (const uint8_t *)"\x05\0\0\0hello\x05\0\0\0world\0\0\0\0", 22);
    /* Limit: rows consumed stop at the row of the value that does not fit. */
    pq_dictb_reset(&d);
    OK(pq_dictb_put_bytes(&d, off, (const uint8_t *)data, &valid, 0, 5, 10, idx, &nidx, &rows));
    assert_int_equal(nidx, 2);
    assert_int_equal(rows, 3);
    pq_dictb_free(&d);
}

/* ---- helpers for files ---- */

static st_pq_write_opts_t opts_default(void) {
    st_pq_write_opts_t o;
    st_pq_write_opts_default(&o);
    return o;
}

/* Builds a batch of the generator's columns (indices cols[0..ncols)). */
static st_batch_t *gen_batch(const int *cols, int ncols, bool nullable, int64_t r0, int64_t n,
                             st_field_t *fields) {
    static gen_val_t v;
    for (int i = 0; i < ncols; i++) {
        fields[i].name = (char *)gen_cols[cols[i]].name;
        OK(st_type_parse(gen_cols[cols[i]].type, &fields[i].type));
        fields[i].nullable = nullable;
    }
    st_batch_t *b;
    OK(st_batch_new(fields, ncols, &b));
    for (int64_t r = r0; r < r0 + n; r++) {
        for (int i = 0; i < ncols; i++) {
            gen_make(cols[i], &fields[i].type, r, &v);
            v.null = nullable && gen_is_null(cols[i], r);
            OK(gen_append(&b->cols[i], &v));
        }
        OK(st_batch_end_row(b));
    }
    return b;
}

static st_pq_file_t *open_buf(const st_buf_t *file) {
    st_pq_source_t src;
    OK(st_pq_source_mem(file->data, file->len, "test.parquet", &src));
    st_pq_file_t *f;
    int rc = st_pq_open(&src, &f);
    if (rc) fprintf(stderr, "open: %s\n", st_errmsg());
    OK(rc);
    return f;
}

typedef struct lines {
    st_buf_t text;
    int64_t n;
} lines_t;

static int collect(void *ctx, const char *line, size_t n) {
    lines_t *l = ctx;
    l->n++;
    int rc = st_buf_append(&l->text, line, n);
    return rc ? rc : st_buf_append_byte(&l->text, '\n');
}

/* ---- page walker (thrift decoder over the raw file) ---- */

typedef struct page_info {
    int type, encoding;
    int32_t num_values, num_nulls, csize, usize;
    bool has_min;
    uint8_t min[16], max[16];
    uint32_t min_len, max_len;
    int64_t null_count;
} page_info_t;

static void read_stats(th_reader_t *r, page_info_t *pi) {
    th_struct_t s;
    int16_t id;
    int type;
    OK(th_struct_begin(r, &s));
    for (;;) {
        OK(th_field(r, &s, &id, &type));
        if (type == TH_STOP) break;
        const uint8_t *p;
        uint32_t n;
        if (id == 5 || id == 6) {
            OK(th_read_binary(r, type, &p, &n));
            assert_true(n <= 16);
            memcpy(id == 6 ? pi->min : pi->max, p, n);
            *(id == 6 ? &pi->min_len : &pi->max_len) = n;
            pi->has_min = true;
        } else if (id == 3) {
            OK(th_read_i64(r, type, &pi->null_count));
        } else {
            OK(th_skip(r, type));
        }
    }
    th_struct_end(r);
}

/* Walks the pages of one column chunk; returns the page count. */
static int walk_pages(const st_buf_t *file, int64_t start, int64_t size, page_info_t *out, int max) {
    int n = 0;
    int64_t pos = start;
    while (pos < start + size) {
        assert_true(n < max);
        page_info_t *pi = &out[n++];
        memset(pi, 0, sizeof *pi);
        th_reader_t r;
        th_struct_t s, sub;
        int16_t id;
        int type;
        th_init(&r, file->data + pos, (size_t)(start + size - pos));
        OK(th_struct_begin(&r, &s));
        for (;;) {
            OK(th_field(&r, &s, &id, &type));
            if (type == TH_STOP) break;
            if (id == 1) OK(th_read_i32(&r, type, &pi->type));
            else if (id == 2) OK(th_read_i32(&r, type, &pi->usize));
            else if (id == 3) OK(th_read_i32(&r, type, &pi->csize));
            else if (id == 5 || id == 7 || id == 8) {
                OK(th_struct_begin(&r, &sub));
                for (;;) {
                    int16_t sid;
                    OK(th_field(&r, &sub, &sid, &type));
                    if (type == TH_STOP) break;
                    if (sid == 1) OK(th_read_i32(&r, type, &pi->num_values));
                    else if (id == 8 && sid == 2) OK(th_read_i32(&r, type, &pi->num_nulls));
                    else if ((id != 8 && sid == 2) || (id == 8 && sid == 4)) OK(th_read_i32(&r, type, &pi->encoding));
                    else if ((id == 5 && sid == 5) || (id == 8 && sid == 8)) read_stats(&r, pi);
                    else OK(th_skip(&r, type));
                }
                th_struct_end(&r);
            } else {
                OK(th_skip(&r, type));
            }
        }
        th_struct_end(&r);
        pos = (int64_t)(r.p - file->data) + pi->csize;
    }
    assert_int_equal(pos, start + size);
    return n;
}

static const pq_chunk_meta_t *chunk(const st_pq_file_t *f, int rg, int col) {
    return &f->row_groups[rg].chunks[col];
}

static bool has_encoding(const pq_chunk_meta_t *c, int enc) {
    for (int i = 0; i < c->num_encodings; i++)
        if (c->encodings[i] == enc) return true;
    return false;
}

/* ---- layout ---- */

static void test_file_layout(void **state) {
    (void)state;
    int cols[] = {3, 11};
    st_field_t fields[2];
    st_batch_t *b = gen_batch(cols, 2, true, 0, 100, fields);
    st_buf_t file = ST_BUF_INIT;
    st_pq_sink_t sink;
    OK(st_pq_sink_buf(&file, "mem", &sink));
    st_pq_write_opts_t o = opts_default();
    st_pq_writer_t *w;
    OK(st_pq_writer_open(&sink, fields, 2, &o, &w));
    assert_null(sink.ctx); /* moved into the writer */
    OK(st_pq_writer_add_kv(w, "origin", "unit test"));
    OK(st_pq_writer_add_kv(w, "novalue", NULL));
    OK(st_pq_writer_write(w, b));
    assert_int_equal(st_pq_writer_rows(w), 100);
    OK(st_pq_writer_close(w));
    assert_true(file.len > 12);
    assert_memory_equal(file.data, "PAR1", 4);
    assert_memory_equal(file.data + file.len - 4, "PAR1", 4);
    uint32_t flen = (uint32_t)file.data[file.len - 8] | (uint32_t)file.data[file.len - 7] << 8 |
                    (uint32_t)file.data[file.len - 6] << 16 | (uint32_t)file.data[file.len - 5] << 24;
    assert_true(flen + 12 <= file.len);

    /* FileMetaData: version 1, 3 schema elements, num_rows, one row group,
     * key-values, created_by, one TypeDefinedOrder per column. */
    th_reader_t r;
    th_struct_t s;
    int16_t id;
    int type, et;
    uint32_t n;
    int32_t v32;
    int64_t v64;
    const uint8_t *p;
    bool seen[8] = {false};
    th_init(&r, file.data + file.len - 8 - flen, flen);
    OK(th_struct_begin(&r, &s));
    for (;;) {
        OK(th_field(&r, &s, &id, &type));
        if (type == TH_STOP) break;
        assert_true(id >= 1 && id <= 7);
        seen[id] = true;
        switch (id) {
        case 1: OK(th_read_i32(&r, type, &v32)); assert_int_equal(v32, 1); break;
        case 3: OK(th_read_i64(&r, type, &v64)); assert_int_equal(v64, 100); break;
        case 6:
            OK(th_read_binary(&r, type, &p, &n));
            assert_int_equal(n, strlen("strata version " ST_VERSION_STRING " (build release)"));
            assert_memory_equal(p, "strata version " ST_VERSION_STRING " (build release)", n);
            break;
        case 7: {
            OK(th_list_begin(&r, type, &et, &n));
            assert_int_equal(n, 2);
            for (uint32_t i = 0; i < n; i++) {
                th_struct_t u, t;
                OK(th_struct_begin(&r, &u));
                OK(th_field(&r, &u, &id, &type));
                assert_int_equal(id, 1); /* TYPE_ORDER */
                OK(th_struct_begin(&r, &t));
                OK(th_field(&r, &t, &id, &type));
                assert_int_equal(type, TH_STOP);
                th_struct_end(&r);
                OK(th_field(&r, &u, &id, &type));
                assert_int_equal(type, TH_STOP);
                th_struct_end(&r);
            }
            break;
        }
        default: OK(th_skip(&r, type));
        }
    }
    for (int i = 1; i <= 7; i++) assert_true(seen[i]);

    st_pq_file_t *f = open_buf(&file);
    assert_int_equal(st_pq_num_rows(f), 100);
    assert_int_equal(st_pq_num_row_groups(f), 1);
    assert_string_equal(st_pq_kv(f, "origin"), "unit test");
    assert_string_equal(st_pq_created_by(f), "strata version " ST_VERSION_STRING " (build release)");
    /* The chunks tile the file between the magic and the footer. */
    const pq_chunk_meta_t *c0 = chunk(f, 0, 0), *c1 = chunk(f, 0, 1);
    int64_t s0 = c0->dictionary_page_offset >= 0 ? c0->dictionary_page_offset : c0->data_page_offset;
    int64_t s1 = c1->dictionary_page_offset >= 0 ? c1->dictionary_page_offset : c1->data_page_offset;
    assert_int_equal(s0, 4);
    assert_int_equal(s1, s0 + c0->total_compressed_size);
    assert_int_equal(s1 + c1->total_compressed_size, (int64_t)(file.len - 8 - flen));
    st_pq_close(f);
    st_batch_free(b);
    st_buf_free(&file);
}

/* Writes a batch to memory with the given options. */
static void write_mem(st_buf_t *file, const st_field_t *fields, int n, const st_pq_write_opts_t *o,
                      st_batch_t *const *batches, int nb) {
    st_pq_sink_t sink;
    OK(st_pq_sink_buf(file, "mem", &sink));
    st_pq_writer_t *w;
    OK(st_pq_writer_open(&sink, fields, n, o, &w));
    for (int i = 0; i < nb; i++) {
        int rc = st_pq_writer_write(w, batches[i]);
        if (rc) fprintf(stderr, "write: %s\n", st_errmsg());
        OK(rc);
    }
    int rc = st_pq_writer_close(w);
    if (rc) fprintf(stderr, "close: %s\n", st_errmsg());
    OK(rc);
}

/* One int64 column of the given values (NULL-free). */
static st_batch_t *int_batch(const char *type, const int64_t *v, int n, st_field_t *f) {
    f->name = "x";
    OK(st_type_parse(type, &f->type));
    f->nullable = false;
    st_batch_t *b;
    OK(st_batch_new(f, 1, &b));
    for (int i = 0; i < n; i++) {
        OK(st_col_append_i64(&b->cols[0], v[i]));
        OK(st_batch_end_row(b));
    }
    return b;
}

/* ---- dictionary fallback ---- */

static void test_dictionary_fallback(void **state) {
    (void)state;
    enum { N = 2000 };
    int64_t *v = malloc(N * sizeof *v);
    /* 150 distinct values repeating: a dictionary pays off but its limit (100
     * entries of 8 bytes) is reached. */
    for (int i = 0; i < N; i++) v[i] = (i * 7919) % 150 - 75;
    st_field_t f;
    st_batch_t *b = int_batch("int64", v, N, &f);
    st_pq_write_opts_t o = opts_default();
    o.codec = ST_CODEC_UNCOMPRESSED;
    o.dictionary_limit = 800;
    o.page_bytes = 256;
    st_buf_t file = ST_BUF_INIT;
    write_mem(&file, &f, 1, &o, &b, 1);
    st_pq_file_t *fl = open_buf(&file);
    const pq_chunk_meta_t *c = chunk(fl, 0, 0);
    assert_true(c->dictionary_page_offset == 4);
    assert_true(has_encoding(c, 0 /* PLAIN */));
    assert_true(has_encoding(c, 8 /* RLE_DICTIONARY */));
    assert_false(has_encoding(c, 3 /* RLE: no levels for a required column */));
    page_info_t pages[256];
    int np = walk_pages(&file, c->dictionary_page_offset, c->total_compressed_size, pages, 256);
    assert_int_equal(pages[0].type, 2); /* DICTIONARY_PAGE */
    assert_int_equal(pages[0].encoding, 0);
    assert_int_equal(pages[0].num_values, 100);
    assert_int_equal(pages[0].usize, 800);
    int i = 1, total = 0;
    for (; i < np && pages[i].encoding == 8; i++) total += pages[i].num_values;
    assert_true(i > 1);
    assert_true(i < np); /* then PLAIN pages to the end of the chunk */
    for (; i < np; i++) {
        assert_int_equal(pages[i].type, 0);
        assert_int_equal(pages[i].encoding, 0);
        assert_true(pages[i].usize <= 256 + 8);
        total += pages[i].num_values;
    }
    assert_int_equal(total, N);
    /* Values intact. */
    st_batch_t *back;
    OK(st_pq_read_row_group(fl, 0, NULL, 0, &back));
    assert_int_equal(back->nrows, N);
    for (int k = 0; k < N; k++) assert_int_equal(st_col_get_i64(&back->cols[0], k), v[k]);
    st_batch_free(back);
    st_pq_close(fl);

    /* Unique values: the dictionary is given up once it stops paying off,
     * long before its limit. */
    for (int k = 0; k < N; k++) v[k] = k * 1000003LL;
    st_batch_free(b);
    b = int_batch("int64", v, N, &f);
    o.dictionary_limit = 1 << 20;
    o.page_bytes = 1024;
    st_buf_reset(&file);
    write_mem(&file, &f, 1, &o, &b, 1);
    fl = open_buf(&file);
    c = chunk(fl, 0, 0);
    np = walk_pages(&file, c->dictionary_page_offset, c->total_compressed_size, pages, 256);
    assert_int_equal(pages[0].type, 2);
    assert_true(pages[0].num_values < N / 2);
    assert_int_equal(pages[1].encoding, 8); /* one dictionary-encoded page, then PLAIN */
    for (int k = 2; k < np; k++) assert_int_equal(pages[k].encoding, 0);
    assert_true(np > 3);
    st_pq_close(fl);

    /* The next row group starts PLAIN right away. */
    o.row_group_rows = 1000;
    st_buf_reset(&file);
    write_mem(&file, &f, 1, &o, &b, 1);
    fl = open_buf(&file);
    assert_int_equal(st_pq_num_row_groups(fl), 2);
    assert_true(chunk(fl, 0, 0)->dictionary_page_offset >= 0);
    assert_true(chunk(fl, 1, 0)->dictionary_page_offset < 0);
    assert_false(has_encoding(chunk(fl, 1, 0), 8));
    st_pq_close(fl);

    /* Dictionary off: PLAIN only. */
    o.dictionary = false;
    st_buf_reset(&file);
    write_mem(&file, &f, 1, &o, &b, 1);
    fl = open_buf(&file);
    assert_true(chunk(fl, 0, 0)->dictionary_page_offset < 0);
    assert_false(has_encoding(chunk(fl, 0, 0), 8));
    st_pq_close(fl);
    st_batch_free(b);
    st_buf_free(&file);
    free(v);
}

/* ---- statistics ---- */

static void test_page_statistics(void **state) {
    (void)state;
    enum { N = 64 };
    int64_t v[N];
    for (int i = 0; i < N; i++) v[i] = (int64_t)(gen_mix((uint64_t)i) % 20) - 10;
    st_field_t f;
    st_batch_t *b = int_batch("int32", v, N, &f);
    for (int dict = 0; dict < 2; dict++)
        for (int pv = 1; pv <= 2; pv++) {
            st_pq_write_opts_t o = opts_default();
            o.page_bytes = dict ? 20 : 16; /* four int32 per PLAIN page */
            o.dictionary = dict;
            o.page_version = pv;
            st_buf_t file = ST_BUF_INIT;
            write_mem(&file, &f, 1, &o, &b, 1);
            st_pq_file_t *fl = open_buf(&file);
            const pq_chunk_meta_t *c = chunk(fl, 0, 0);
            int64_t start = c->dictionary_page_offset >= 0 ? c->dictionary_page_offset : c->data_page_offset;
            page_info_t pages[32];
            int np = walk_pages(&file, start, c->total_compressed_size, pages, 32);
            int first = dict ? 1 : 0;
            if (dict) assert_int_equal(pages[0].type, 2);
            assert_true(np - first >= (dict ? 2 : N / 4));
            if (!dict) assert_int_equal(np, N / 4);
            int pos = 0;
            for (int k = first; k < np; k++) {
                page_info_t *pi = &pages[k];
                assert_int_equal(pi->type, pv == 2 ? 3 : 0);
                assert_int_equal(pi->encoding, dict ? 8 : 0);
                int32_t lo = INT32_MAX, hi = INT32_MIN;
                for (int i = pos; i < pos + pi->num_values; i++) {
                    lo = v[i] < lo ? (int32_t)v[i] : lo;
                    hi = v[i] > hi ? (int32_t)v[i] : hi;
                }
                pos += pi->num_values;
                assert_true(pi->has_min);
                assert_int_equal(pi->min_len, 4);
                assert_memory_equal(pi->min, &lo, 4);
                assert_memory_equal(pi->max, &hi, 4);
                assert_int_equal(pi->null_count, 0);
            }
            assert_int_equal(pos, N);
            assert_true(c->has_stats);
            assert_false(c->stats.legacy);
            int32_t lo = -10, hi = 9;
            assert_memory_equal(c->stats.min, &lo, 4);
            assert_memory_equal(c->stats.max, &hi, 4);
            st_pq_close(fl);
            st_buf_free(&file);
        }
    st_batch_free(b);
}

/* Plain-encoded bytes of an oracle value for the type's physical form. */
static size_t plain_of(const st_type_t *t, const gen_val_t *v, uint8_t *out) {
    switch (t->id) {
    case ST_TYPE_BOOL: out[0] = v->b; return 1;
    case ST_TYPE_INT8: case ST_TYPE_INT16: case ST_TYPE_INT32: case ST_TYPE_DATE: {
        int32_t x = (int32_t)v->i;
        memcpy(out, &x, 4);
        return 4;
    }
    case ST_TYPE_UINT8: case ST_TYPE_UINT16: case ST_TYPE_UINT32: {
        uint32_t x = (uint32_t)v->u;
        memcpy(out, &x, 4);
        return 4;
    }
    case ST_TYPE_UINT64: memcpy(out, &v->u, 8); return 8;
    case ST_TYPE_FLOAT: {
        float x = (float)v->d;
        memcpy(out, &x, 4);
        return 4;
    }
    case ST_TYPE_DOUBLE: memcpy(out, &v->d, 8); return 8;
    case ST_TYPE_TIME:
        if (t->unit == ST_UNIT_MS) {
            int32_t x = (int32_t)v->i;
            memcpy(out, &x, 4);
            return 4;
        }
        /* fall through */
    case ST_TYPE_INT64: case ST_TYPE_TIMESTAMP: {
        int64_t x = (int64_t)v->i;
        memcpy(out, &x, 8);
        return 8;
    }
    case ST_TYPE_DECIMAL: {
        if (t->precision <= 9) {
            int32_t x = (int32_t)v->i;
            memcpy(out, &x, 4);
            return 4;
        }
        if (t->precision <= 18) {
            int64_t x = (int64_t)v->i;
            memcpy(out, &x, 8);
            return 8;
        }
        uint8_t le[16];
        memcpy(le, &v->i, 16);
        for (int k = 0; k < 16; k++) out[k] = le[15 - k]; /* precision 38: 16 bytes BE */
        return 16;
    }
    default: return 0; /* byte arrays: compared directly */
    }
}

/* Chunk statistics of every type against the generator's oracle. */
static void test_chunk_statistics(void **state) {
    (void)state;
    int cols[GEN_NCOLS];
    for (int i = 0; i < GEN_NCOLS; i++) cols[i] = i;
    enum { N = 3000, RG = 1000 };
    st_field_t fields[GEN_NCOLS];
    for (int nullable = 0; nullable < 2; nullable++) {
        st_batch_t *b = gen_batch(cols, GEN_NCOLS, nullable, 0, N, fields);
        st_pq_write_opts_t o = opts_default();
        o.row_group_rows = RG;
        o.page_bytes = 2048;
        st_buf_t file = ST_BUF_INIT;
        write_mem(&file, fields, GEN_NCOLS, &o, &b, 1);
        st_pq_file_t *f = open_buf(&file);
        assert_int_equal(st_pq_num_row_groups(f), N / RG);
        static gen_val_t v;
        for (int c = 0; c < GEN_NCOLS; c++) {
            for (int g = 0; g < N / RG; g++) {
                static gen_stats_t st;
                memset(&st, 0, sizeof st);
                for (int r = g * RG; r < (g + 1) * RG; r++) {
                    gen_make(c, &fields[c].type, r, &v);
                    v.null = nullable && gen_is_null(c, r);
                    gen_stats_add(&st, &v);
                }
                const pq_chunk_meta_t *ck = chunk(f, g, c);
                assert_true(ck->has_stats);
                assert_true(ck->stats.has_null_count);
                assert_int_equal(ck->stats.null_count, st.nulls);
                assert_int_equal(ck->stats.has_min, st.has);
                if (!st.has) continue;
                uint8_t mn[16], mx[16];
                gen_val_t lo = st.min, hi = st.max;
                if (lo.kind == GK_FLOAT && lo.d == 0) lo.d = -0.0;
                if (hi.kind == GK_FLOAT && hi.d == 0) hi.d = 0.0;
                size_t n = plain_of(&fields[c].type, &lo, mn);
                plain_of(&fields[c].type, &hi, mx);
                if (!n) {
                    assert_int_equal(ck->stats.min_len, lo.n);
                    assert_int_equal(ck->stats.max_len, hi.n);
                    if (lo.n) assert_memory_equal(ck->stats.min, lo.bytes, lo.n);
                    if (hi.n) assert_memory_equal(ck->stats.max, hi.bytes, hi.n);
                } else {
                    if (ck->stats.min_len != n || memcmp(ck->stats.min, mn, n) ||
                        ck->stats.max_len != n || memcmp(ck->stats.max, mx, n)) {
                        fprintf(stderr, "column %s row group %d: statistics differ\n", gen_cols[c].name, g);
                        fail();
                    }
                }
            }
        }
        st_pq_close(f);
        st_buf_free(&file);
        st_batch_free(b);
    }

    /* An all-null chunk has a null count and no min/max; a NaN-only float
     * chunk has no min/max either. */
    st_field_t fl[2] = {{"n", {0}, true}, {"f", {0}, true}};
    OK(st_type_parse("int32", &fl[0].type));
    OK(st_type_parse("float", &fl[1].type));
    st_batch_t *b;
    OK(st_batch_new(fl, 2, &b));
    for (int i = 0; i < 10; i++) {
        OK(st_col_append_null(&b->cols[0]));
        OK(i % 2 ? st_col_append_null(&b->cols[1]) : st_col_append_double(&b->cols[1], NAN));
        OK(st_batch_end_row(b));
    }
    st_pq_write_opts_t o = opts_default();
    st_buf_t file = ST_BUF_INIT;
    write_mem(&file, fl, 2, &o, &b, 1);
    st_pq_file_t *f = open_buf(&file);
    assert_int_equal(chunk(f, 0, 0)->stats.null_count, 10);
    assert_false(chunk(f, 0, 0)->stats.has_min);
    assert_int_equal(chunk(f, 0, 1)->stats.null_count, 5);
    assert_false(chunk(f, 0, 1)->stats.has_min);
    st_pq_close(f);
    st_buf_free(&file);
    st_batch_free(b);
}

/* ---- round trips through the reader ---- */

static void roundtrip(const st_pq_write_opts_t *o, bool nullable, int64_t n, int64_t batch_rows) {
    int cols[GEN_NCOLS];
    for (int i = 0; i < GEN_NCOLS; i++) cols[i] = i;
    st_field_t fields[GEN_NCOLS];
    int nb = (int)((n + batch_rows - 1) / batch_rows);
    st_batch_t **batches = calloc((size_t)nb, sizeof *batches);
    for (int i = 0; i < nb; i++) {
        int64_t r0 = i * batch_rows;
        batches[i] = gen_batch(cols, GEN_NCOLS, nullable, r0, r0 + batch_rows <= n ? batch_rows : n - r0, fields);
    }
    st_buf_t file = ST_BUF_INIT;
    write_mem(&file, fields, GEN_NCOLS, o, batches, nb);

    /* Canonical JSON from the reader equals the generator's own rendering. */
    st_buf_t want = ST_BUF_INIT;
    static gen_val_t v;
    for (int64_t r = 0; r < n; r++) {
        st_buf_append_byte(&want, '{');
        for (int c = 0; c < GEN_NCOLS; c++) {
            gen_make(c, &fields[c].type, r, &v);
            v.null = nullable && gen_is_null(c, r);
            if (c) st_buf_append_byte(&want, ',');
            st_json_append_string(&want, fields[c].name, strlen(fields[c].name));
            st_buf_append_byte(&want, ':');
            OK(gen_json(&want, &fields[c].type, &v));
        }
        st_buf_append_str(&want, "}\n");
    }
    st_pq_file_t *f = open_buf(&file);
    assert_int_equal(st_pq_num_rows(f), n);
    lines_t got = {ST_BUF_INIT, 0};
    st_pq_scan_t scan = {NULL, 0, NULL, -1};
    int rc = st_pq_scan_json(f, &scan, collect, &got);
    if (rc) fprintf(stderr, "scan: %s\n", st_errmsg());
    OK(rc);
    assert_int_equal(got.n, n);
    if (got.text.len != want.len || memcmp(got.text.data, want.data, want.len)) {
        size_t i = 0;
        while (i < want.len && i < got.text.len && want.data[i] == got.text.data[i]) i++;
        size_t from = i > 200 ? i - 200 : 0;
        fprintf(stderr, "codec %d v%d dict %d nullable %d: first difference at byte %zu\n got: %.300s\nwant: %.300s\n",
                o->codec, o->page_version, o->dictionary, nullable, i, got.text.data + from, want.data + from);
        fail();
    }

    /* Batches: the same types and values as written. */
    const st_field_t *rf;
    int nrf;
    OK(st_pq_fields(f, &rf, &nrf));
    assert_int_equal(nrf, GEN_NCOLS);
    for (int c = 0; c < GEN_NCOLS; c++) {
        char a[64], b2[64];
        st_type_format(&rf[c].type, a, sizeof a);
        st_type_format(&fields[c].type, b2, sizeof b2);
        assert_string_equal(a, b2);
        assert_int_equal(rf[c].nullable, nullable);
    }
    int64_t row = 0;
    st_buf_t x = ST_BUF_INIT, y = ST_BUF_INIT;
    for (int g = 0; g < st_pq_num_row_groups(f); g++) {
        st_batch_t *rb;
        OK(st_pq_read_row_group(f, g, NULL, 0, &rb));
        for (int64_t i = 0; i < rb->nrows; i++, row++) {
            const st_batch_t *src = batches[row / batch_rows];
            int64_t si = row % batch_rows;
            for (int c = 0; c < GEN_NCOLS; c++) {
                st_buf_reset(&x);
                st_buf_reset(&y);
                OK(st_col_value_json(&rb->cols[c], i, &x));
                OK(st_col_value_json(&src->cols[c], si, &y));
                if (x.len != y.len || memcmp(x.data, y.data, x.len)) {
                    fprintf(stderr, "row %lld column %s: %.*s vs %.*s\n", (long long)row, fields[c].name,
                            (int)x.len, (char *)x.data, (int)y.len, (char *)y.data);
                    fail();
                }
            }
        }
        st_batch_free(rb);
    }
    assert_int_equal(row, n);
    st_buf_free(&x);
    st_buf_free(&y);
    st_pq_close(f);
    st_buf_free(&got.text);
    st_buf_free(&want);
    st_buf_free(&file);
    for (int i = 0; i < nb; i++) st_batch_free(batches[i]);
    free(batches);
}

static void test_roundtrip_matrix(void **state) {
    (void)state;
    const st_codec_t codecs[] = {ST_CODEC_UNCOMPRESSED, ST_CODEC_SNAPPY, ST_CODEC_GZIP,
                                 ST_CODEC_ZSTD,         ST_CODEC_LZ4_RAW, ST_CODEC_BROTLI};
    for (size_t k = 0; k < sizeof codecs / sizeof codecs[0]; k++)
        for (int pv = 1; pv <= 2; pv++)
            for (int dict = 0; dict < 2; dict++)
                for (int nullable = 0; nullable < 2; nullable++) {
                    st_pq_write_opts_t o = opts_default();
                    o.codec = codecs[k];
                    o.page_version = pv;
                    o.dictionary = dict;
                    o.dictionary_limit = 1500;
                    o.page_bytes = 700;
                    o.row_group_rows = 500;
                    roundtrip(&o, nullable, 1234, 300);
                }
}

/* Big pages and one big batch (slices, several row groups by bytes). */
static void test_roundtrip_large(void **state) {
    (void)state;
    st_pq_write_opts_t o = opts_default();
    o.codec = ST_CODEC_ZSTD;
    o.row_group_bytes = 1 << 20;
    roundtrip(&o, true, 30000, 30000);
}

/* ---- row groups and streaming ---- */

static void test_row_group_bytes(void **state) {
    (void)state;
    enum { N = 20000 };
    int64_t *v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++) v[i] = (int64_t)gen_mix((uint64_t)i);
    st_field_t f;
    st_batch_t *b = int_batch("int64", v, N, &f);
    st_pq_write_opts_t o = opts_default();
    o.codec = ST_CODEC_UNCOMPRESSED;
    o.dictionary = false;
    o.row_group_bytes = 16384;
    st_buf_t file = ST_BUF_INIT;
    write_mem(&file, &f, 1, &o, &b, 1);
    st_pq_file_t *fl = open_buf(&file);
    int nrg = st_pq_num_row_groups(fl);
    assert_true(nrg >= 8 && nrg <= 12); /* 160000 bytes in groups of about 16 KiB */
    int64_t rows = 0;
    for (int g = 0; g < nrg; g++) {
        rows += st_pq_row_group_num_rows(fl, g);
        assert_true(fl->row_groups[g].total_byte_size <= 16384 + 256 * 8 + 1024);
    }
    assert_int_equal(rows, N);
    st_pq_close(fl);
    st_buf_free(&file);
    st_batch_free(b);
    free(v);
}

static void test_streaming(void **state) {
    (void)state;
    int64_t v[100];
    for (int i = 0; i < 100; i++) v[i] = i;
    st_field_t f;
    st_batch_t *b = int_batch("int64", v, 100, &f);
    st_buf_t file = ST_BUF_INIT;
    st_pq_sink_t sink;
    OK(st_pq_sink_buf(&file, "mem", &sink));
    st_pq_write_opts_t o = opts_default();
    o.row_group_rows = 250;
    st_pq_writer_t *w;
    OK(st_pq_writer_open(&sink, &f, 1, &o, &w));
    assert_int_equal(st_pq_writer_bytes(w), 4);
    uint64_t last = 4;
    int grew = 0;
    for (int i = 0; i < 10; i++) {
        OK(st_pq_writer_write(w, b));
        /* Row groups reach the sink as they close, not at the end. */
        assert_int_equal(file.len, st_pq_writer_bytes(w));
        if (st_pq_writer_bytes(w) > last) grew++;
        last = st_pq_writer_bytes(w);
    }
    assert_int_equal(grew, 4);
    assert_int_equal(st_pq_writer_rows(w), 1000);
    OK(st_pq_writer_close(w));
    st_pq_file_t *fl = open_buf(&file);
    assert_int_equal(st_pq_num_row_groups(fl), 4);
    for (int g = 0; g < 4; g++) assert_int_equal(st_pq_row_group_num_rows(fl, g), 250);
    st_pq_close(fl);
    st_buf_free(&file);
    st_batch_free(b);
}

static void test_empty_file(void **state) {
    (void)state;
    st_field_t f = {"x", {0}, true};
    OK(st_type_parse("string", &f.type));
    st_buf_t file = ST_BUF_INIT;
    st_pq_write_opts_t o = opts_default();
    write_mem(&file, &f, 1, &o, NULL, 0);
    st_pq_file_t *fl = open_buf(&file);
    assert_int_equal(st_pq_num_rows(fl), 0);
    assert_int_equal(st_pq_num_row_groups(fl), 0);
    assert_int_equal(st_pq_num_columns(fl), 1);
    st_pq_close(fl);
    st_buf_free(&file);
}

/* ---- types in the footer ---- */

static void test_schema_types(void **state) {
    (void)state;
    const struct {
        const char *type;
        int physical, type_length, converted, logical;
    } cases[] = {
        {"bool", PQ_BOOLEAN, -1, PQ_CT_NONE, PQ_LT_NONE},
        {"int8", PQ_INT32, -1, PQ_CT_INT_8, PQ_LT_INTEGER},
        {"uint32", PQ_INT32, -1, PQ_CT_UINT_32, PQ_LT_INTEGER},
        {"uint64", PQ_INT64, -1, PQ_CT_UINT_64, PQ_LT_INTEGER},
        {"string", PQ_BYTE_ARRAY, -1, PQ_CT_UTF8, PQ_LT_STRING},
        {"json", PQ_BYTE_ARRAY, -1, PQ_CT_JSON, PQ_LT_JSON},
        {"binary", PQ_BYTE_ARRAY, -1, PQ_CT_NONE, PQ_LT_NONE},
        {"fixed(5)", PQ_FIXED_LEN_BYTE_ARRAY, 5, PQ_CT_NONE, PQ_LT_NONE},
        {"uuid", PQ_FIXED_LEN_BYTE_ARRAY, 16, PQ_CT_NONE, PQ_LT_UUID},
        {"date", PQ_INT32, -1, PQ_CT_DATE, PQ_LT_DATE},
        {"time(ms)", PQ_INT32, -1, PQ_CT_TIME_MILLIS, PQ_LT_TIME},
        {"time(us)", PQ_INT64, -1, PQ_CT_TIME_MICROS, PQ_LT_TIME},
        {"time(ns)", PQ_INT64, -1, PQ_CT_NONE, PQ_LT_TIME},
        {"timestamp(ms, UTC)", PQ_INT64, -1, PQ_CT_TIMESTAMP_MILLIS, PQ_LT_TIMESTAMP},
        {"timestamp(us)", PQ_INT64, -1, PQ_CT_NONE, PQ_LT_TIMESTAMP},
        {"decimal(9,2)", PQ_INT32, -1, PQ_CT_DECIMAL, PQ_LT_DECIMAL},
        {"decimal(18,0)", PQ_INT64, -1, PQ_CT_DECIMAL, PQ_LT_DECIMAL},
        {"decimal(19,3)", PQ_FIXED_LEN_BYTE_ARRAY, 9, PQ_CT_DECIMAL, PQ_LT_DECIMAL},
        {"decimal(38,10)", PQ_FIXED_LEN_BYTE_ARRAY, 16, PQ_CT_DECIMAL, PQ_LT_DECIMAL},
    };
    int n = (int)(sizeof cases / sizeof cases[0]);
    st_field_t fields[32];
    char names[32][16];
    for (int i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        fields[i].name = names[i];
        OK(st_type_parse(cases[i].type, &fields[i].type));
        fields[i].nullable = i % 2;
    }
    st_buf_t file = ST_BUF_INIT;
    st_pq_write_opts_t o = opts_default();
    write_mem(&file, fields, n, &o, NULL, 0);
    st_pq_file_t *f = open_buf(&file);
    assert_int_equal(f->num_leaves, n);
    for (int i = 0; i < n; i++) {
        const pq_node_t *nd = &f->nodes[f->leaf_nodes[i]];
        assert_string_equal(nd->name, names[i]);
        assert_int_equal(nd->physical, cases[i].physical);
        assert_int_equal(nd->type_length, cases[i].type_length);
        assert_int_equal(nd->converted, cases[i].converted);
        assert_int_equal(nd->repetition, i % 2 ? PQ_OPTIONAL : PQ_REQUIRED);
        assert_int_equal(nd->has_logical, cases[i].logical != PQ_LT_NONE);
        if (nd->has_logical) assert_int_equal(nd->logical.id, cases[i].logical);
    }
    const pq_node_t *ts = &f->nodes[f->leaf_nodes[13]], *tn = &f->nodes[f->leaf_nodes[12]];
    assert_true(ts->logical.utc);
    assert_int_equal(ts->logical.unit, PQ_MILLIS);
    assert_true(tn->logical.utc);
    assert_int_equal(tn->logical.unit, PQ_NANOS);
    assert_false(f->nodes[f->leaf_nodes[14]].logical.utc);
    const pq_node_t *u32 = &f->nodes[f->leaf_nodes[2]];
    assert_int_equal(u32->logical.bit_width, 32);
    assert_false(u32->logical.is_signed);
    const pq_node_t *d = &f->nodes[f->leaf_nodes[17]];
    assert_int_equal(d->scale, 3);
    assert_int_equal(d->precision, 19);
    assert_int_equal(d->logical.scale, 3);
    assert_int_equal(d->logical.precision, 19);
    st_pq_close(f);
    st_buf_free(&file);
}

/* ---- sinks, refused input, abort ---- */

static char *make_dir(void) {
    char *d = strdup("/tmp/strata-pqw-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void test_null_in_required(void **state) {
    (void)state;
    char *dir = make_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/out.parquet", dir);
    st_field_t f[2] = {{"a", {0}, true}, {"b", {0}, false}};
    OK(st_type_parse("int32", &f[0].type));
    OK(st_type_parse("string", &f[1].type));
    st_batch_t *b;
    OK(st_batch_new(f, 2, &b));
    for (int i = 0; i < 5; i++) {
        OK(st_col_append_i64(&b->cols[0], i));
        OK(st_col_append_bytes(&b->cols[1], "x", 1));
        OK(st_batch_end_row(b));
    }
    st_pq_sink_t sink;
    OK(st_pq_sink_file(path, &sink));
    st_pq_writer_t *w;
    OK(st_pq_writer_open(&sink, f, 2, NULL, &w));
    OK(st_pq_writer_write(w, b));
    assert_int_equal(count_entries(dir), 1); /* the temporary file */
    st_batch_clear(b);
    for (int i = 0; i < 5; i++) {
        OK(st_col_append_i64(&b->cols[0], i));
        OK(i == 3 ? st_col_append_null(&b->cols[1]) : st_col_append_bytes(&b->cols[1], "y", 1));
        OK(st_batch_end_row(b));
    }
    assert_int_equal(st_pq_writer_write(w, b), ST_EVALIDATION);
    assert_non_null(strstr(st_errmsg(), "'b'"));
    assert_non_null(strstr(st_errmsg(), "row 8"));
    assert_non_null(strstr(st_errmsg(), "row 3 of the batch"));
    /* The writer refuses to commit a file missing a batch. */
    assert_int_equal(st_pq_writer_write(w, b), ST_EVALIDATION);
    assert_int_equal(st_pq_writer_close(w), ST_EVALIDATION);
    assert_int_equal(count_entries(dir), 0);
    st_batch_free(b);
    rmdir(dir);
    free(dir);
}

static void test_commit_and_abort(void **state) {
    (void)state;
    char *dir = make_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/out.parquet", dir);
    int64_t v[3] = {1, 2, 3};
    st_field_t f;
    st_batch_t *b = int_batch("int64", v, 3, &f);

    /* Abort: nothing remains. */
    st_pq_sink_t sink;
    OK(st_pq_sink_file(path, &sink));
    st_pq_writer_t *w;
    OK(st_pq_writer_open(&sink, &f, 1, NULL, &w));
    OK(st_pq_writer_write(w, b));
    st_pq_writer_abort(w);
    assert_int_equal(count_entries(dir), 0);

    /* Commit: exactly the file, readable; a second commit replaces it. */
    for (int round = 0; round < 2; round++) {
        OK(st_pq_sink_file(path, &sink));
        OK(st_pq_writer_open(&sink, &f, 1, NULL, &w));
        for (int i = 0; i <= round; i++) OK(st_pq_writer_write(w, b));
        OK(st_pq_writer_close(w));
        assert_int_equal(count_entries(dir), 1);
        st_pq_file_t *fl;
        OK(st_pq_open_path(path, &fl));
        assert_int_equal(st_pq_num_rows(fl), 3 * (round + 1));
        st_pq_close(fl);
    }

    /* A writer that cannot start discards its sink. */
    char other[600];
    snprintf(other, sizeof other, "%s/bad.parquet", dir);
    OK(st_pq_sink_file(other, &sink));
    st_pq_write_opts_t o = opts_default();
    o.codec = ST_CODEC_LZ4; /* read-only legacy codec */
    assert_int_equal(st_pq_writer_open(&sink, &f, 1, &o, &w), ST_EINVAL);
    assert_null(w);
    assert_int_equal(count_entries(dir), 1);

    /* A missing directory is reported. */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no/such/dir.parquet", dir);
    assert_int_equal(st_pq_sink_file(missing, &sink), ST_ENOTFOUND);
    assert_non_null(strstr(st_errmsg(), "no/such/dir.parquet"));

    unlink(path);
    rmdir(dir);
    free(dir);
    st_batch_free(b);
}

static void test_bad_input(void **state) {
    (void)state;
    st_field_t f[2] = {{"a", {0}, true}, {"a", {0}, true}};
    OK(st_type_parse("int32", &f[0].type));
    OK(st_type_parse("int64", &f[1].type));
    st_buf_t file = ST_BUF_INIT;
    st_pq_sink_t sink;
    st_pq_writer_t *w;
    st_pq_write_opts_t o = opts_default();

    OK(st_pq_sink_buf(&file, "mem", &sink));
    assert_int_equal(st_pq_writer_open(&sink, f, 2, &o, &w), ST_EINVAL);
    assert_non_null(strstr(st_errmsg(), "duplicate column name 'a'"));
    OK(st_pq_sink_buf(&file, "mem", &sink));
    assert_int_equal(st_pq_writer_open(&sink, f, 0, &o, &w), ST_EINVAL);
    o.page_version = 3;
    OK(st_pq_sink_buf(&file, "mem", &sink));
    assert_int_equal(st_pq_writer_open(&sink, f, 1, &o, &w), ST_EINVAL);
    assert_int_equal(file.len, 0);

    /* A batch of another type is refused and poisons the writer. */
    o = opts_default();
    st_field_t x = {"x", {0}, false};
    OK(st_type_parse("int32", &x.type));
    OK(st_pq_sink_buf(&file, "mem", &sink));
    OK(st_pq_writer_open(&sink, &x, 1, &o, &w));
    int64_t v[2] = {1, 2};
    st_field_t g;
    st_batch_t *b = int_batch("int64", v, 2, &g);
    assert_int_equal(st_pq_writer_write(w, b), ST_EINVAL);
    assert_non_null(strstr(st_errmsg(), "int64"));
    assert_int_not_equal(st_pq_writer_close(w), ST_OK);
    assert_int_equal(file.len, 0); /* the memory sink was rolled back */
    st_batch_free(b);
    st_buf_free(&file);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thrift_bytes),
        cmocka_unit_test(test_thrift_roundtrip),
        cmocka_unit_test(test_rle_bytes),
        cmocka_unit_test(test_rle_roundtrip),
        cmocka_unit_test(test_bits_helpers),
        cmocka_unit_test(test_dict_builder),
        cmocka_unit_test(test_file_layout),
        cmocka_unit_test(test_dictionary_fallback),
        cmocka_unit_test(test_page_statistics),
        cmocka_unit_test(test_chunk_statistics),
        cmocka_unit_test(test_roundtrip_matrix),
        cmocka_unit_test(test_roundtrip_large),
        cmocka_unit_test(test_row_group_bytes),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_schema_types),
        cmocka_unit_test(test_null_in_required),
        cmocka_unit_test(test_commit_and_abort),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
