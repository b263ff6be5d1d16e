/*
 * The Parquet writer: flat schemas, PLAIN and dictionary encodings, data pages
 * v1/v2, every writable codec, statistics, logical and legacy converted types.
 *
 * Streaming: each column keeps only its open page uncompressed plus the
 * compressed pages of the open row group; a row group goes to the sink as soon
 * as it closes, so memory is bounded by the row group, never by the file.
 *
 * A chunk's dictionary page must precede its data pages but is complete only
 * when the chunk closes, so it is compressed and written at row-group flush,
 * in front of the data pages buffered for that column.
 */
#include "parquet/codec.h"
#include "parquet/pq_encode.h"
#include "parquet/pq_internal.h"
#include "parquet/thrift_write.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PQ_BUILD_ID "release"
#define PQ_DEFAULT_CREATED_BY "strata version " ST_VERSION_STRING " (build " PQ_BUILD_ID ")"

/* Rows handed to every column before the row-group size is checked again. */
#define SLICE_ROWS 65536
#define MIN_SLICE_ROWS 256
/* Byte-array statistics longer than this are left out rather than bloating
 * every page header and the footer. */
#define STATS_MAX_BYTES 4096
#define MAX_PAGE_BYTES (256u << 20)

enum { PAGE_DATA = 0, PAGE_DICT = 2, PAGE_DATA_V2 = 3 };
enum { ENC_PLAIN = 0, ENC_RLE = 3, ENC_RLE_DICTIONARY = 8 };

/* How batch values become physical values. */
enum conv {
    CV_BOOL, CV_I8, CV_I16, CV_U8, CV_U16, CV_COPY4, CV_COPY8, CV_FIXED, CV_DEC4, CV_DEC8,
    CV_DEC_FLBA, CV_BYTES
};

/* Sort order used for statistics. */
enum order { OR_BOOL, OR_I32, OR_U32, OR_I64, OR_U64, OR_F32, OR_F64, OR_BYTES, OR_FLBA_S };

typedef union num {
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    float f32;
    double f64;
} num_t;

typedef struct stats {
    bool has; /* min/max hold a value (not every value is null or NaN) */
    int64_t nulls;
    num_t min, max;      /* numeric orders; BOOL uses u32 0/1 */
    st_buf_t bmin, bmax; /* byte orders */
} stats_t;

typedef struct colw {
    const st_field_t *field;
    int physical, type_length, conv, order, src_width, phys_width;
    int converted; /* PQ_CT_NONE if absent */
    pq_logical_type_t logical;
    bool has_logical;
    int16_t max_def;

    /* dictionary state of the open chunk */
    bool dict_allowed;  /* options and type permit a dictionary */
    bool dict_on;       /* values currently go through the dictionary */
    bool skip_dict;     /* the previous chunk fell back: start the next one PLAIN */
    bool fell_back;
    bool dict_checked;  /* the early "is it worth it" test has run */
    int dict_pages, plain_pages;
    int64_t ck_dict_vals;  /* values of the chunk that went through the dictionary */
    uint64_t ck_dict_plain; /* ...and the bytes they would take PLAIN */
    pq_dictb_t dict;
    uint32_t *seen;     /* per dictionary entry: last page whose stats counted it */
    uint32_t seen_cap, stamp;

    /* open page */
    int64_t pg_rows, pg_nulls, pg_vals;
    st_buf_t pg_def;    /* definition levels as a bitmap (max_def == 1) */
    st_buf_t pg_plain;  /* PLAIN values, or the bit-packed booleans */
    uint64_t pg_bits;   /* booleans in pg_plain */
    uint32_t *pg_idx;   /* dictionary indices */
    size_t pg_idx_cap;
    stats_t pg_stats;

    /* open chunk */
    st_buf_t chunk;     /* page headers + compressed data pages */
    int64_t ck_values, ck_uncompressed;
    stats_t ck_stats;
} colw_t;

typedef struct kv {
    char *key, *value;
} kv_t;

struct st_pq_writer {
    st_pq_sink_t sink;
    st_pq_write_opts_t opts;
    char *created_by;
    const pq_codec_t *codec;
    int nfields;
    st_field_t *fields;
    colw_t *cols;
    int64_t rows, rg_rows;
    uint64_t bytes;
    int failed; /* first error; the writer then only aborts */
    st_buf_t rowgroups; /* serialised RowGroup structs */
    int nrg;
    kv_t *kv;
    int nkv;
    /* scratch reused by every page */
    st_buf_t body, cbuf, levels, idxenc, hdr, gather, meta;
};

/* ---- options ---- */

void st_pq_write_opts_default(st_pq_write_opts_t *o) {
    memset(o, 0, sizeof *o);
    o->codec = ST_CODEC_SNAPPY;
    o->codec_level = 0;
    o->page_version = 1;
    o->dictionary = true;
    o->dictionary_limit = 1u << 20;
    o->page_bytes = 1u << 20;
    o->row_group_bytes = 128u << 20;
    o->row_group_rows = 0;
    o->statistics = true;
    o->created_by = NULL;
    o->page_rows = 20000;
}

/* ---- type mapping ---- */

static int decimal_flba_width(int precision) {
    /* Smallest n with 2^(8n-1) > 10^p - 1. */
    for (int n = 1; n <= 16; n++)
        if ((8.0 * n - 1) > precision * 3.3219280948873623) return n;
    return 16;
}

static void set_int_logical(colw_t *c, int bits, bool is_signed, int converted) {
    c->has_logical = true;
    c->logical.id = PQ_LT_INTEGER;
    c->logical.bit_width = bits;
    c->logical.is_signed = is_signed;
    c->converted = converted;
}

static void set_logical(colw_t *c, int id) {
    c->has_logical = true;
    c->logical.id = id;
}

static int map_type(const st_field_t *f, colw_t *c) {
    const st_type_t *t = &f->type;
    c->converted = PQ_CT_NONE;
    c->type_length = -1;
    switch (t->id) {
    case ST_TYPE_BOOL:
        c->physical = PQ_BOOLEAN, c->conv = CV_BOOL, c->order = OR_BOOL;
        break;
    case ST_TYPE_INT8:
        c->physical = PQ_INT32, c->conv = CV_I8, c->order = OR_I32, c->src_width = 1;
        set_int_logical(c, 8, true, PQ_CT_INT_8);
        break;
    case ST_TYPE_INT16:
        c->physical = PQ_INT32, c->conv = CV_I16, c->order = OR_I32, c->src_width = 2;
        set_int_logical(c, 16, true, PQ_CT_INT_16);
        break;
    case ST_TYPE_INT32:
        c->physical = PQ_INT32, c->conv = CV_COPY4, c->order = OR_I32;
        set_int_logical(c, 32, true, PQ_CT_INT_32);
        break;
    case ST_TYPE_INT64:
        c->physical = PQ_INT64, c->conv = CV_COPY8, c->order = OR_I64;
        break;
    case ST_TYPE_UINT8:
        c->physical = PQ_INT32, c->conv = CV_U8, c->order = OR_U32, c->src_width = 1;
        set_int_logical(c, 8, false, PQ_CT_UINT_8);
        break;
    case ST_TYPE_UINT16:
        c->physical = PQ_INT32, c->conv = CV_U16, c->order = OR_U32, c->src_width = 2;
        set_int_logical(c, 16, false, PQ_CT_UINT_16);
        break;
    case ST_TYPE_UINT32:
        c->physical = PQ_INT32, c->conv = CV_COPY4, c->order = OR_U32;
        set_int_logical(c, 32, false, PQ_CT_UINT_32);
        break;
    case ST_TYPE_UINT64:
        c->physical = PQ_INT64, c->conv = CV_COPY8, c->order = OR_U64;
        set_int_logical(c, 64, false, PQ_CT_UINT_64);
        break;
    case ST_TYPE_FLOAT:
        c->physical = PQ_FLOAT, c->conv = CV_COPY4, c->order = OR_F32;
        break;
    case ST_TYPE_DOUBLE:
        c->physical = PQ_DOUBLE, c->conv = CV_COPY8, c->order = OR_F64;
        break;
    case ST_TYPE_STRING:
        c->physical = PQ_BYTE_ARRAY, c->conv = CV_BYTES, c->order = OR_BYTES;
        set_logical(c, PQ_LT_STRING);
        c->converted = PQ_CT_UTF8;
        break;
    case ST_TYPE_JSON:
        c->physical = PQ_BYTE_ARRAY, c->conv = CV_BYTES, c->order = OR_BYTES;
        set_logical(c, PQ_LT_JSON);
        c->converted = PQ_CT_JSON;
        break;
    case ST_TYPE_BINARY:
        c->physical = PQ_BYTE_ARRAY, c->conv = CV_BYTES, c->order = OR_BYTES;
        break;
    case ST_TYPE_FIXED:
        if (t->width < 1) return st_error(ST_EINVAL, "fixed width %d out of range", t->width);
        c->physical = PQ_FIXED_LEN_BYTE_ARRAY, c->conv = CV_FIXED, c->order = OR_BYTES;
        c->type_length = c->src_width = t->width;
        break;
    case ST_TYPE_UUID:
        c->physical = PQ_FIXED_LEN_BYTE_ARRAY, c->conv = CV_FIXED, c->order = OR_BYTES;
        c->type_length = c->src_width = 16;
        set_logical(c, PQ_LT_UUID);
        break;
    case ST_TYPE_DATE:
        c->physical = PQ_INT32, c->conv = CV_COPY4, c->order = OR_I32;
        set_logical(c, PQ_LT_DATE);
        c->converted = PQ_CT_DATE;
        break;
    case ST_TYPE_TIME:
        set_logical(c, PQ_LT_TIME);
        c->logical.utc = true;
        if (t->unit == ST_UNIT_MS) {
            c->physical = PQ_INT32, c->conv = CV_COPY4, c->order = OR_I32;
            c->logical.unit = PQ_MILLIS;
            c->converted = PQ_CT_TIME_MILLIS;
        } else if (t->unit == ST_UNIT_US || t->unit == ST_UNIT_NS) {
            c->physical = PQ_INT64, c->conv = CV_COPY8, c->order = OR_I64;
            c->logical.unit = t->unit == ST_UNIT_US ? PQ_MICROS : PQ_NANOS;
            if (t->unit == ST_UNIT_US) c->converted = PQ_CT_TIME_MICROS;
        } else {
            return st_error(ST_EINVAL, "time unit %d is not ms, us or ns", (int)t->unit);
        }
        break;
    case ST_TYPE_TIMESTAMP:
        if (t->unit != ST_UNIT_MS && t->unit != ST_UNIT_US && t->unit != ST_UNIT_NS)
            return st_error(ST_EINVAL, "timestamp unit %d is not ms, us or ns", (int)t->unit);
        c->physical = PQ_INT64, c->conv = CV_COPY8, c->order = OR_I64;
        set_logical(c, PQ_LT_TIMESTAMP);
        c->logical.utc = t->utc;
        c->logical.unit = (int)t->unit;
        if (t->utc && t->unit == ST_UNIT_MS) c->converted = PQ_CT_TIMESTAMP_MILLIS;
        if (t->utc && t->unit == ST_UNIT_US) c->converted = PQ_CT_TIMESTAMP_MICROS;
        break;
    case ST_TYPE_DECIMAL:
        if (t->precision < 1 || t->precision > 38 || t->scale > t->precision)
            return st_error(ST_EINVAL, "decimal(%d,%d) out of range", t->precision, t->scale);
        c->src_width = 16;
        if (t->precision <= 9) {
            c->physical = PQ_INT32, c->conv = CV_DEC4, c->order = OR_I32;
        } else if (t->precision <= 18) {
            c->physical = PQ_INT64, c->conv = CV_DEC8, c->order = OR_I64;
        } else {
            c->physical = PQ_FIXED_LEN_BYTE_ARRAY, c->conv = CV_DEC_FLBA, c->order = OR_FLBA_S;
            c->type_length = decimal_flba_width(t->precision);
        }
        set_logical(c, PQ_LT_DECIMAL);
        c->logical.scale = t->scale;
        c->logical.precision = t->precision;
        c->converted = PQ_CT_DECIMAL;
        break;
    default:
        return st_error(ST_EUNSUPPORTED, "type id %d cannot be written to Parquet", (int)t->id);
    }
    switch (c->physical) {
    case PQ_INT32: case PQ_FLOAT: c->phys_width = 4; break;
    case PQ_INT64: case PQ_DOUBLE: c->phys_width = 8; break;
    case PQ_FIXED_LEN_BYTE_ARRAY: c->phys_width = c->type_length; break;
    default: c->phys_width = 0;
    }
    if (c->conv == CV_COPY4) c->src_width = 4;
    if (c->conv == CV_COPY8) c->src_width = 8;
    return ST_OK;
}

/* ---- statistics ---- */

static int cmp_bytes(int order, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
    if (order == OR_FLBA_S && alen && blen && (a[0] ^ b[0]) & 0x80)
        return (a[0] & 0x80) ? -1 : 1; /* big-endian two's complement: sign first */
    size_t n = alen < blen ? alen : blen;
    int r = n ? memcmp(a, b, n) : 0;
    if (r) return r;
    return alen < blen ? -1 : alen > blen;
}

static int set_bytes(st_buf_t *b, const uint8_t *p, size_t n) {
    st_buf_reset(b);
    return st_buf_append(b, p, n);
}

static int stats_bytes(stats_t *s, int order, const uint8_t *mn, size_t mnl, const uint8_t *mx,
                       size_t mxl) {
    int rc;
    if (!s->has || cmp_bytes(order, mn, mnl, s->bmin.data, s->bmin.len) < 0)
        if ((rc = set_bytes(&s->bmin, mn, mnl))) return rc;
    if (!s->has || cmp_bytes(order, mx, mxl, s->bmax.data, s->bmax.len) > 0)
        if ((rc = set_bytes(&s->bmax, mx, mxl))) return rc;
    s->has = true;
    return ST_OK;
}

/* Min/max over n dense values of a numeric order. NaN never counts. */
static void stats_dense(stats_t *s, int order, const uint8_t *v, size_t n) {
    if (n == 0) return;
#define MINMAX(T, field)                                                     \
    do {                                                                     \
        const T *x = (const T *)(const void *)v;                             \
        T mn = s->has ? s->min.field : x[0], mx = s->has ? s->max.field : x[0]; \
        for (size_t i = 0; i < n; i++) {                                     \
            mn = x[i] < mn ? x[i] : mn;                                      \
            mx = x[i] > mx ? x[i] : mx;                                      \
        }                                                                    \
        s->min.field = mn, s->max.field = mx, s->has = true;                 \
    } while (0)
#define MINMAX_FP(T, field)                                                  \
    do {                                                                     \
        const T *x = (const T *)(const void *)v;                             \
        T mn = s->has ? s->min.field : (T)INFINITY;                          \
        T mx = s->has ? s->max.field : (T)-INFINITY;                         \
        size_t cnt = 0;                                                      \
        for (size_t i = 0; i < n; i++) {                                     \
            T y = x[i];                                                      \
            cnt += y == y;                                                   \
            mn = y < mn ? y : mn;                                            \
            mx = y > mx ? y : mx;                                            \
        }                                                                    \
        if (cnt) s->min.field = mn, s->max.field = mx, s->has = true;        \
    } while (0)
    switch (order) {
    case OR_I32: MINMAX(int32_t, i32); break;
    case OR_U32: MINMAX(uint32_t, u32); break;
    case OR_I64: MINMAX(int64_t, i64); break;
    case OR_U64: MINMAX(uint64_t, u64); break;
    case OR_F32: MINMAX_FP(float, f32); break;
    case OR_F64: MINMAX_FP(double, f64); break;
    default: break;
    }
#undef MINMAX
#undef MINMAX_FP
}

/* Folds one value (physical bytes) into s. */
static int stats_one(stats_t *s, int order, const uint8_t *p, size_t n) {
    if (order == OR_BYTES || order == OR_FLBA_S) return stats_bytes(s, order, p, n, p, n);
    if (order == OR_BOOL) {
        uint32_t b = p[0] != 0;
        if (!s->has || b < s->min.u32) s->min.u32 = b;
        if (!s->has || b > s->max.u32) s->max.u32 = b;
        s->has = true;
        return ST_OK;
    }
    /* Unaligned entry bytes: copy before the typed loop reads them. */
    uint64_t tmp;
    memcpy(&tmp, p, n);
    stats_dense(s, order, (const uint8_t *)&tmp, 1);
    return ST_OK;
}

static int stats_merge(stats_t *d, const stats_t *s, int order) {
    d->nulls += s->nulls;
    if (!s->has) return ST_OK;
    if (order == OR_BYTES || order == OR_FLBA_S)
        return stats_bytes(d, order, s->bmin.data, s->bmin.len, s->bmax.data, s->bmax.len);
    if (order == OR_BOOL) {
        if (!d->has || s->min.u32 < d->min.u32) d->min.u32 = s->min.u32;
        if (!d->has || s->max.u32 > d->max.u32) d->max.u32 = s->max.u32;
        d->has = true;
        return ST_OK;
    }
    int w = (order == OR_I32 || order == OR_U32 || order == OR_F32) ? 4 : 8;
    stats_one(d, order, (const uint8_t *)&s->min, (size_t)w);
    stats_one(d, order, (const uint8_t *)&s->max, (size_t)w);
    return ST_OK;
}

static void stats_clear(stats_t *s) {
    s->has = false;
    s->nulls = 0;
    st_buf_reset(&s->bmin);
    st_buf_reset(&s->bmax);
}

static void stats_free(stats_t *s) {
    st_buf_free(&s->bmin);
    st_buf_free(&s->bmax);
}

/* Writes a Statistics struct as field `id` of the current struct. Min and max
 * are PLAIN-encoded; the spec asks for -0 as min and +0 as max when zero. */
static void write_stats(pq_tw_t *tw, int16_t id, const colw_t *c, const stats_t *s) {
    const uint8_t *mn = NULL, *mx = NULL;
    size_t n = 0, mnl = 0, mxl = 0;
    num_t a = s->min, b = s->max;
    uint8_t bmn = 0, bmx = 0;
    bool has = s->has;
    switch (c->order) {
    case OR_BOOL:
        bmn = (uint8_t)a.u32, bmx = (uint8_t)b.u32;
        mn = &bmn, mx = &bmx, n = 1;
        break;
    case OR_F32:
        if (a.f32 == 0) a.f32 = -0.0f;
        if (b.f32 == 0) b.f32 = 0.0f;
        mn = (const uint8_t *)&a, mx = (const uint8_t *)&b, n = 4;
        break;
    case OR_F64:
        if (a.f64 == 0) a.f64 = -0.0;
        if (b.f64 == 0) b.f64 = 0.0;
        mn = (const uint8_t *)&a, mx = (const uint8_t *)&b, n = 8;
        break;
    case OR_I32: case OR_U32:
        mn = (const uint8_t *)&a, mx = (const uint8_t *)&b, n = 4;
        break;
    case OR_I64: case OR_U64:
        mn = (const uint8_t *)&a, mx = (const uint8_t *)&b, n = 8;
        break;
    default:
        mn = s->bmin.data, mnl = s->bmin.len, mx = s->bmax.data, mxl = s->bmax.len;
        if (mnl > STATS_MAX_BYTES || mxl > STATS_MAX_BYTES) has = false;
    }
    if (n) mnl = mxl = n;
    /* The deprecated min/max use signed comparison: only valid where the
     * type's order is signed. */
    bool legacy = has && (c->order == OR_I32 || c->order == OR_I64 || c->order == OR_F32 ||
                          c->order == OR_F64);
    pq_tw_struct(tw, id);
    if (legacy) {
        pq_tw_binary(tw, 1, mx, mxl);
        pq_tw_binary(tw, 2, mn, mnl);
    }
    pq_tw_i64(tw, 3, s->nulls);
    if (has) {
        pq_tw_binary(tw, 5, mx, mxl);
        pq_tw_binary(tw, 6, mn, mnl);
    }
    pq_tw_end(tw);
}

/* ---- errors ---- */

static int fail(st_pq_writer_t *w, int rc) {
    if (!w->failed) w->failed = rc;
    return rc;
}

/* ---- column state ---- */

static void col_free(colw_t *c) {
    pq_dictb_free(&c->dict);
    free(c->seen);
    st_buf_free(&c->pg_def);
    st_buf_free(&c->pg_plain);
    free(c->pg_idx);
    stats_free(&c->pg_stats);
    st_buf_free(&c->chunk);
    stats_free(&c->ck_stats);
}

static void chunk_start(colw_t *c) {
    c->dict_on = c->dict_allowed && !c->skip_dict;
    c->fell_back = false;
    c->dict_checked = false;
    c->dict_pages = c->plain_pages = 0;
    c->ck_dict_vals = 0;
    c->ck_dict_plain = 0;
    pq_dictb_reset(&c->dict);
    st_buf_reset(&c->chunk);
    c->ck_values = c->ck_uncompressed = 0;
    stats_clear(&c->ck_stats);
}

static void page_reset(colw_t *c) {
    c->pg_rows = c->pg_nulls = c->pg_vals = 0;
    c->pg_bits = 0;
    st_buf_reset(&c->pg_def);
    st_buf_reset(&c->pg_plain);
    stats_clear(&c->pg_stats);
}

static int dict_bit_width(const colw_t *c) {
    int bw = pq_enc_bit_width(c->dict.count ? c->dict.count - 1 : 0);
    return bw < 1 ? 1 : bw;
}

/* Encoded bytes of the open page, as far as cheaply known. */
static size_t page_estimate(const colw_t *c) {
    size_t def = c->max_def ? (size_t)c->pg_rows / 8 : 0;
    if (c->dict_on) return def + (size_t)c->pg_vals * (size_t)dict_bit_width(c) / 8;
    return def + c->pg_plain.len;
}

/* Appends n bits (the validity of rows [r0, r0+n), all ones when validity is
 * NULL) to a page bitmap holding `have` bits. */
static int bits_append(st_buf_t *b, uint64_t have, const uint8_t *validity, int64_t r0, int64_t n) {
    size_t need = (size_t)((have + (uint64_t)n + 7) / 8);
    if (need > b->len) {
        int rc = st_buf_append_zeros(b, need - b->len);
        if (rc) return rc;
    }
    if (validity) {
        pq_bits_copy(b->data, have, validity, (uint64_t)r0, (uint64_t)n);
    } else {
        uint64_t i = have, end = have + (uint64_t)n;
        for (; i < end && (i & 7); i++) b->data[i >> 3] |= (uint8_t)(1u << (i & 7));
        if (end - i >= 8) {
            memset(b->data + (i >> 3), 0xFF, (size_t)((end - i) >> 3));
            i += (end - i) & ~(uint64_t)7;
        }
        for (; i < end; i++) b->data[i >> 3] |= (uint8_t)(1u << (i & 7));
    }
    return ST_OK;
}

/* Physical values of the valid rows among [r0, r0+n): a pointer into the
 * batch when no conversion is needed, else converted into w->gather. */
static int gather(st_pq_writer_t *w, const colw_t *c, const st_column_t *col, int64_t r0, int64_t n,
                  const uint8_t *validity, const uint8_t **out, size_t *nv) {
    const uint8_t *src = col->values.data;
    const size_t sw = (size_t)c->src_width, pw = (size_t)c->phys_width;
    if (!validity && (c->conv == CV_COPY4 || c->conv == CV_COPY8 || c->conv == CV_FIXED)) {
        *out = src + (size_t)r0 * sw;
        *nv = (size_t)n;
        return ST_OK;
    }
    st_buf_reset(&w->gather);
    int rc = st_buf_reserve(&w->gather, (size_t)n * pw + 8);
    if (rc) return rc;
    uint8_t *d = w->gather.data;
    size_t k = 0;
    for (int64_t r = r0; r < r0 + n; r++) {
        if (validity && !pq_bit_get(validity, (uint64_t)r)) continue;
        const uint8_t *s = src + (size_t)r * sw;
        uint8_t *o = d + k * pw;
        int32_t v32;
        switch (c->conv) {
        case CV_I8: v32 = (int8_t)s[0]; memcpy(o, &v32, 4); break;
        case CV_U8: v32 = s[0]; memcpy(o, &v32, 4); break;
        case CV_I16: { int16_t x; memcpy(&x, s, 2); v32 = x; memcpy(o, &v32, 4); break; }
        case CV_U16: { uint16_t x; memcpy(&x, s, 2); v32 = x; memcpy(o, &v32, 4); break; }
        case CV_DEC4: memcpy(o, s, 4); break; /* low bytes of the LE 128-bit value */
        case CV_DEC8: memcpy(o, s, 8); break;
        case CV_DEC_FLBA:
            for (size_t j = 0; j < pw; j++) o[j] = s[pw - 1 - j];
            break;
        default: memcpy(o, s, pw); break;
        }
        k++;
    }
    *out = d;
    *nv = k;
    return ST_OK;
}

static int ensure_idx(colw_t *c, size_t more) {
    size_t need = (size_t)c->pg_vals + more;
    if (need <= c->pg_idx_cap) return ST_OK;
    size_t cap = c->pg_idx_cap ? c->pg_idx_cap : 4096;
    while (cap < need) cap *= 2;
    uint32_t *p = realloc(c->pg_idx, cap * sizeof *p);
    if (!p) return st_error(ST_ENOMEM, "out of memory (dictionary indices)");
    c->pg_idx = p;
    c->pg_idx_cap = cap;
    return ST_OK;
}

/* Value bytes of a var-len column: a column whose values are all empty may
 * have no data buffer at all. */
static const uint8_t *col_data(const st_column_t *col) {
    static const uint8_t empty[1];
    return col->values.data ? col->values.data : empty;
}

/* Min/max of the valid byte arrays among rows [r0, r0+n) into the page stats. */
static int stats_byte_rows(colw_t *c, const st_column_t *col, int64_t r0, int64_t n,
                           const uint8_t *validity) {
    const int32_t *off = (const int32_t *)(const void *)col->offsets.data;
    const uint8_t *data = col_data(col);
    const uint8_t *mn = NULL, *mx = NULL;
    size_t mnl = 0, mxl = 0;
    for (int64_t r = r0; r < r0 + n; r++) {
        if (validity && !pq_bit_get(validity, (uint64_t)r)) continue;
        const uint8_t *p = data + off[r];
        size_t l = (size_t)(off[r + 1] - off[r]);
        if (!mn || cmp_bytes(OR_BYTES, p, l, mn, mnl) < 0) mn = p, mnl = l;
        if (!mx || cmp_bytes(OR_BYTES, p, l, mx, mxl) > 0) mx = p, mxl = l;
    }
    return mn ? stats_bytes(&c->pg_stats, OR_BYTES, mn, mnl, mx, mxl) : ST_OK;
}

static int stats_fixed_dense(colw_t *c, const uint8_t *v, size_t nv) {
    if (c->order != OR_BYTES && c->order != OR_FLBA_S) {
        stats_dense(&c->pg_stats, c->order, v, nv);
        return ST_OK;
    }
    const size_t w = (size_t)c->phys_width;
    const uint8_t *mn = NULL, *mx = NULL;
    for (size_t i = 0; i < nv; i++) {
        const uint8_t *p = v + i * w;
        if (!mn || cmp_bytes(c->order, p, w, mn, w) < 0) mn = p;
        if (!mx || cmp_bytes(c->order, p, w, mx, w) > 0) mx = p;
    }
    return mn ? stats_bytes(&c->pg_stats, c->order, mn, w, mx, w) : ST_OK;
}

/* Encodes rows [r0, r0+n) into the open page. *done < n only when the
 * dictionary filled up: the caller then flushes the page and goes PLAIN. */
static int append_segment(st_pq_writer_t *w, colw_t *c, const st_column_t *col, int64_t r0,
                          int64_t n, int64_t *done) {
    const uint8_t *validity = col->validity.len ? col->validity.data : NULL;
    uint64_t nvalid = validity ? pq_bits_count(validity, (uint64_t)r0, (uint64_t)n) : (uint64_t)n;
    if (nvalid == (uint64_t)n) validity = NULL;
    int64_t rows = n;
    size_t vals = (size_t)nvalid;
    int rc;

    if (c->conv == CV_BOOL) {
        /* PLAIN booleans are bit-packed like Arrow's, so bits move as bits. */
        uint64_t before = c->pg_bits;
        if (!validity) {
            if ((rc = bits_append(&c->pg_plain, c->pg_bits, col->values.data, r0, n))) return rc;
        } else {
            size_t need = (size_t)((c->pg_bits + nvalid + 7) / 8);
            if (need > c->pg_plain.len && (rc = st_buf_append_zeros(&c->pg_plain, need - c->pg_plain.len)))
                return rc;
            uint64_t k = c->pg_bits;
            for (int64_t r = r0; r < r0 + n; r++) {
                if (!pq_bit_get(validity, (uint64_t)r)) continue;
                if (pq_bit_get(col->values.data, (uint64_t)r)) c->pg_plain.data[k >> 3] |= (uint8_t)(1u << (k & 7));
                k++;
            }
        }
        c->pg_bits += nvalid;
        uint64_t ones = pq_bits_count(c->pg_plain.data, before, nvalid);
        if (nvalid) {
            uint8_t t = 1, f = 0;
            if (ones) stats_one(&c->pg_stats, OR_BOOL, &t, 1);
            if (ones < nvalid) stats_one(&c->pg_stats, OR_BOOL, &f, 1);
        }
    } else if (c->conv == CV_BYTES) {
        const int32_t *off = (const int32_t *)(const void *)col->offsets.data;
        if (c->dict_on) {
            if ((rc = ensure_idx(c, vals))) return rc;
            if ((rc = pq_dictb_put_bytes(&c->dict, off, col_data(col), validity, r0, n,
                                        w->opts.dictionary_limit, c->pg_idx + c->pg_vals, &vals, &rows)))
                return rc;
            c->ck_dict_plain += (uint64_t)(off[r0 + rows] - off[r0]) + 4 * (uint64_t)vals;
            c->ck_dict_vals += (int64_t)vals;
        } else {
            if ((rc = pq_plain_bytes(&c->pg_plain, off, col_data(col), validity, r0, n))) return rc;
            if (w->opts.statistics && (rc = stats_byte_rows(c, col, r0, n, validity))) return rc;
        }
    } else {
        const uint8_t *v;
        size_t nv;
        if ((rc = gather(w, c, col, r0, n, validity, &v, &nv))) return rc;
        if (c->dict_on) {
            if ((rc = ensure_idx(c, nv))) return rc;
            if ((rc = pq_dictb_put_fixed(&c->dict, v, nv, w->opts.dictionary_limit,
                                        c->pg_idx + c->pg_vals, &vals)))
                return rc;
            if (vals < nv)
                rows = validity ? (int64_t)pq_bits_nth(validity, (uint64_t)r0, (uint64_t)n, vals)
                                : (int64_t)vals;
            c->ck_dict_plain += (uint64_t)vals * (uint64_t)c->phys_width;
            c->ck_dict_vals += (int64_t)vals;
        } else {
            if ((rc = st_buf_append(&c->pg_plain, v, nv * (size_t)c->phys_width))) return rc;
            if (w->opts.statistics && (rc = stats_fixed_dense(c, v, nv))) return rc;
        }
    }
    if (c->max_def && (rc = bits_append(&c->pg_def, (uint64_t)c->pg_rows, validity, r0, rows)))
        return rc;
    c->pg_rows += rows;
    c->pg_vals += (int64_t)vals;
    c->pg_nulls += rows - (int64_t)vals;
    *done = rows;
    return ST_OK;
}

/* Rows from r0 that should fill the open page up to the target size. */
static int64_t rows_fitting(const st_pq_writer_t *w, const colw_t *c, const st_column_t *col,
                            int64_t r0, int64_t r1) {
    size_t est = page_estimate(c), target = w->opts.page_bytes;
    size_t room = est < target ? target - est : 1;
    int64_t max = r1 - r0, n;
    if (c->dict_on) {
        /* Indices widen as the dictionary grows: size the segment for the
         * width it would have if every value were new. */
        n = (int64_t)(room * 8 / (size_t)(dict_bit_width(c) + 1));
        int wide = pq_enc_bit_width((uint64_t)c->dict.count + (uint64_t)n);
        if (wide > dict_bit_width(c) + 1) n = (int64_t)(room * 8 / (size_t)wide);
    } else if (c->conv == CV_BOOL) {
        n = (int64_t)(room * 8);
    } else if (c->conv == CV_BYTES) {
        /* Offsets tell the PLAIN size of any row range: binary search. */
        const int32_t *off = (const int32_t *)(const void *)col->offsets.data;
        int64_t lo = 1, hi = max;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo + 1) / 2;
            size_t sz = (size_t)(off[r0 + mid] - off[r0]) + 4 * (size_t)mid;
            if (sz <= room) lo = mid;
            else hi = mid - 1;
        }
        n = lo;
    } else {
        n = (int64_t)(room / (size_t)c->phys_width);
    }
    if (n < 1) n = 1;
    if (w->opts.page_rows > 0) {
        int64_t left = w->opts.page_rows - c->pg_rows;
        if (n > left) n = left > 1 ? left : 1;
    }
    return n < max ? n : max;
}

/* Compresses and stores the open page in the chunk buffer. */
static int flush_page(st_pq_writer_t *w, colw_t *c) {
    if (c->pg_rows == 0) return ST_OK;
    int rc;
    /* A dictionary page with no values (all nulls) is written PLAIN so a chunk
     * never needs an empty dictionary. */
    bool dict_page = c->dict_on && c->pg_vals > 0;
    const uint8_t *vals;
    size_t vals_len;
    if (dict_page) {
        int bw = dict_bit_width(c);
        st_buf_reset(&w->idxenc);
        if ((rc = st_buf_append_byte(&w->idxenc, (uint8_t)bw))) return rc;
        if ((rc = pq_rle_encode(c->pg_idx, (size_t)c->pg_vals, bw, &w->idxenc))) return rc;
        vals = w->idxenc.data, vals_len = w->idxenc.len;
        if (w->opts.statistics) {
            /* Stats from the distinct entries the page uses, not every value. */
            if (c->seen_cap < c->dict.count) {
                uint32_t ncap = c->dict.count * 2;
                uint32_t *s = realloc(c->seen, (size_t)ncap * sizeof *s);
                if (!s) return st_error(ST_ENOMEM, "out of memory");
                memset(s + c->seen_cap, 0, (size_t)(ncap - c->seen_cap) * sizeof *s);
                c->seen = s;
                c->seen_cap = ncap;
            }
            if (++c->stamp == 0) {
                memset(c->seen, 0, (size_t)c->seen_cap * sizeof *c->seen);
                c->stamp = 1;
            }
            for (int64_t i = 0; i < c->pg_vals; i++) {
                uint32_t e = c->pg_idx[i];
                if (c->seen[e] == c->stamp) continue;
                c->seen[e] = c->stamp;
                size_t len;
                const uint8_t *p = pq_dictb_entry(&c->dict, e, &len);
                if ((rc = stats_one(&c->pg_stats, c->order, p, len))) return rc;
            }
        }
    } else {
        static const uint8_t empty[1];
        vals = c->pg_plain.len ? c->pg_plain.data : empty, vals_len = c->pg_plain.len;
    }
    c->pg_stats.nulls = c->pg_nulls;

    st_buf_reset(&w->levels);
    if (c->max_def && (rc = pq_rle_encode_bits(c->pg_def.data, (size_t)c->pg_rows, &w->levels)))
        return rc;

    const uint8_t *src;
    size_t src_len, uncompressed, lv_len = 0;
    if (w->opts.page_version == 2) {
        src = vals, src_len = vals_len;
        lv_len = w->levels.len;
        uncompressed = lv_len + vals_len;
    } else if (c->max_def) {
        st_buf_reset(&w->body);
        uint32_t l = (uint32_t)w->levels.len;
        uint8_t le[4] = {(uint8_t)l, (uint8_t)(l >> 8), (uint8_t)(l >> 16), (uint8_t)(l >> 24)};
        if ((rc = st_buf_reserve(&w->body, 4 + w->levels.len + vals_len))) return rc;
        st_buf_append(&w->body, le, 4);
        st_buf_append(&w->body, w->levels.data, w->levels.len);
        st_buf_append(&w->body, vals, vals_len);
        src = w->body.data, src_len = w->body.len;
        uncompressed = src_len;
    } else {
        src = vals, src_len = vals_len;
        uncompressed = src_len;
    }
    if (uncompressed > INT32_MAX)
        return st_error(ST_EUNSUPPORTED, "column '%s': page of %zu bytes is too large",
                        c->field->name, uncompressed);
    const uint8_t *comp = src;
    size_t comp_len = src_len;
    if (w->codec->id != ST_CODEC_UNCOMPRESSED) {
        st_buf_reset(&w->cbuf);
        if ((rc = w->codec->compress(src, src_len, w->opts.codec_level, &w->cbuf))) return rc;
        comp = w->cbuf.data, comp_len = w->cbuf.len;
    }
    if (lv_len + comp_len > INT32_MAX)
        return st_error(ST_EUNSUPPORTED, "column '%s': compressed page is too large", c->field->name);

    int enc = dict_page ? ENC_RLE_DICTIONARY : ENC_PLAIN;
    st_buf_reset(&w->hdr);
    pq_tw_t tw;
    pq_tw_init(&tw, &w->hdr);
    pq_tw_i32(&tw, 1, w->opts.page_version == 2 ? PAGE_DATA_V2 : PAGE_DATA);
    pq_tw_i32(&tw, 2, (int32_t)uncompressed);
    pq_tw_i32(&tw, 3, (int32_t)(lv_len + comp_len));
    if (w->opts.page_version == 2) {
        pq_tw_struct(&tw, 8);
        pq_tw_i32(&tw, 1, (int32_t)c->pg_rows);
        pq_tw_i32(&tw, 2, (int32_t)c->pg_nulls);
        pq_tw_i32(&tw, 3, (int32_t)c->pg_rows);
        pq_tw_i32(&tw, 4, enc);
        pq_tw_i32(&tw, 5, (int32_t)lv_len);
        pq_tw_i32(&tw, 6, 0);
        pq_tw_bool(&tw, 7, w->codec->id != ST_CODEC_UNCOMPRESSED);
        if (w->opts.statistics) write_stats(&tw, 8, c, &c->pg_stats);
        pq_tw_end(&tw);
    } else {
        pq_tw_struct(&tw, 5);
        pq_tw_i32(&tw, 1, (int32_t)c->pg_rows);
        pq_tw_i32(&tw, 2, enc);
        pq_tw_i32(&tw, 3, ENC_RLE);
        pq_tw_i32(&tw, 4, ENC_RLE);
        if (w->opts.statistics) write_stats(&tw, 5, c, &c->pg_stats);
        pq_tw_end(&tw);
    }
    pq_tw_end(&tw);
    if ((rc = pq_tw_error(&tw))) return rc;

    if ((rc = st_buf_reserve(&c->chunk, w->hdr.len + lv_len + comp_len))) return rc;
    st_buf_append(&c->chunk, w->hdr.data, w->hdr.len);
    st_buf_append(&c->chunk, w->levels.data, lv_len);
    st_buf_append(&c->chunk, comp, comp_len);
    c->ck_uncompressed += (int64_t)(w->hdr.len + uncompressed);
    c->ck_values += c->pg_rows;
    if (dict_page) c->dict_pages++;
    else c->plain_pages++;
    if ((rc = stats_merge(&c->ck_stats, &c->pg_stats, c->order))) return rc;
    page_reset(c);
    return ST_OK;
}

/* A dictionary pays off while entries plus indices take fewer bytes than
 * the same values PLAIN (the test parquet-mr applies after its first page). */
static bool dict_worth_it(const colw_t *c) {
    uint64_t idx_bytes = (uint64_t)c->ck_dict_vals * (uint64_t)dict_bit_width(c) / 8;
    return (uint64_t)c->dict.values.len + idx_bytes < c->ck_dict_plain;
}

/* Ends dictionary encoding for the rest of the chunk: the open page stays
 * dictionary-encoded, later pages are PLAIN. */
static int dict_fall_back(st_pq_writer_t *w, colw_t *c) {
    int rc = flush_page(w, c);
    c->dict_on = false;
    c->fell_back = true;
    return rc;
}

/* Entries after which a dictionary that does not pay off is given up, so a
 * column of unique values does not fill a whole dictionary first. */
#define DICT_EARLY_CHECK 8192

/* Appends rows [r0, r1) of one column, cutting pages at the target size. */
static int col_append(st_pq_writer_t *w, colw_t *c, const st_column_t *col, int64_t r0, int64_t r1) {
    int rc;
    while (r0 < r1) {
        int64_t n = rows_fitting(w, c, col, r0, r1), done;
        /* Until the early test has run, feed the dictionary in steps of that
         * size, so a column of unique values falls back after DICT_EARLY_CHECK
         * entries, not after a whole batch has gone into the dictionary. */
        if (c->dict_on && !c->dict_checked && n > DICT_EARLY_CHECK) n = DICT_EARLY_CHECK;
        if ((rc = append_segment(w, c, col, r0, n, &done))) return rc;
        r0 += done;
        if (done < n) {
            /* Dictionary full. */
            if ((rc = dict_fall_back(w, c))) return rc;
        } else if (c->dict_on && !c->dict_checked && c->dict.count >= DICT_EARLY_CHECK) {
            c->dict_checked = true;
            if (!dict_worth_it(c) && (rc = dict_fall_back(w, c))) return rc;
        }
        if (page_estimate(c) >= w->opts.page_bytes ||
            (w->opts.page_rows > 0 && c->pg_rows >= w->opts.page_rows)) {
            bool was_dict = c->dict_on;
            if ((rc = flush_page(w, c))) return rc;
            if (was_dict && !dict_worth_it(c)) {
                c->dict_on = false;
                c->fell_back = true;
            }
        }
    }
    return ST_OK;
}

/* ---- row groups ---- */

static int sink_write(st_pq_writer_t *w, const void *p, size_t n) {
    if (n == 0) return ST_OK;
    int rc = w->sink.write(w->sink.ctx, p, n);
    if (rc) return st_error_prefix(rc, "%s", w->sink.name);
    w->bytes += n;
    return ST_OK;
}

static size_t rowgroup_bytes(const st_pq_writer_t *w) {
    size_t total = 0;
    for (int i = 0; i < w->nfields; i++) {
        const colw_t *c = &w->cols[i];
        total += (size_t)c->ck_uncompressed + page_estimate(c) + c->dict.values.len;
    }
    return total;
}

static void write_column_chunk(pq_tw_t *tw, const st_pq_writer_t *w, const colw_t *c,
                               int64_t start, int64_t data_off, bool has_dict, int64_t uncompressed,
                               int64_t compressed) {
    pq_tw_elem_struct(tw);
    pq_tw_i64(tw, 2, start);
    pq_tw_struct(tw, 3);
    pq_tw_i32(tw, 1, c->physical);
    int enc[3], nenc = 0;
    if (has_dict || c->plain_pages) enc[nenc++] = ENC_PLAIN;
    if (c->max_def) enc[nenc++] = ENC_RLE;
    if (c->dict_pages) enc[nenc++] = ENC_RLE_DICTIONARY;
    pq_tw_list(tw, 2, PQ_TC_I32, (uint32_t)nenc);
    for (int i = 0; i < nenc; i++) pq_tw_elem_i32(tw, enc[i]);
    pq_tw_list(tw, 3, PQ_TC_BINARY, 1);
    pq_tw_elem_binary(tw, c->field->name, strlen(c->field->name));
    pq_tw_i32(tw, 4, (int32_t)w->codec->id);
    pq_tw_i64(tw, 5, c->ck_values);
    pq_tw_i64(tw, 6, uncompressed);
    pq_tw_i64(tw, 7, compressed);
    pq_tw_i64(tw, 9, data_off);
    if (has_dict) pq_tw_i64(tw, 11, start);
    if (w->opts.statistics) write_stats(tw, 12, c, &c->ck_stats);
    /* encoding_stats: lets readers see at once whether every page is
     * dictionary-encoded. */
    int dtype = w->opts.page_version == 2 ? PAGE_DATA_V2 : PAGE_DATA;
    int nstats = (has_dict ? 1 : 0) + (c->dict_pages ? 1 : 0) + (c->plain_pages ? 1 : 0);
    pq_tw_list(tw, 13, PQ_TC_STRUCT, (uint32_t)nstats);
    if (has_dict) {
        pq_tw_elem_struct(tw);
        pq_tw_i32(tw, 1, PAGE_DICT);
        pq_tw_i32(tw, 2, ENC_PLAIN);
        pq_tw_i32(tw, 3, 1);
        pq_tw_end(tw);
    }
    if (c->dict_pages) {
        pq_tw_elem_struct(tw);
        pq_tw_i32(tw, 1, dtype);
        pq_tw_i32(tw, 2, ENC_RLE_DICTIONARY);
        pq_tw_i32(tw, 3, c->dict_pages);
        pq_tw_end(tw);
    }
    if (c->plain_pages) {
        pq_tw_elem_struct(tw);
        pq_tw_i32(tw, 1, dtype);
        pq_tw_i32(tw, 2, ENC_PLAIN);
        pq_tw_i32(tw, 3, c->plain_pages);
        pq_tw_end(tw);
    }
    pq_tw_end(tw); /* ColumnMetaData */
    pq_tw_end(tw); /* ColumnChunk */
}

/* Writes the open row group to the sink and records its metadata. */
static int flush_row_group(st_pq_writer_t *w) {
    int rc;
    if (w->rg_rows == 0) return ST_OK;
    for (int i = 0; i < w->nfields; i++)
        if ((rc = flush_page(w, &w->cols[i]))) return rc;

    int64_t rg_start = (int64_t)w->bytes, total_uncompressed = 0;
    st_buf_reset(&w->meta);
    pq_tw_t tw;
    pq_tw_init(&tw, &w->meta);
    pq_tw_list(&tw, 1, PQ_TC_STRUCT, (uint32_t)w->nfields);
    for (int i = 0; i < w->nfields; i++) {
        colw_t *c = &w->cols[i];
        int64_t start = (int64_t)w->bytes, uncompressed = c->ck_uncompressed;
        bool has_dict = c->dict_pages > 0;
        if (has_dict) {
            const uint8_t *comp = c->dict.values.data;
            size_t comp_len = c->dict.values.len;
            if (w->codec->id != ST_CODEC_UNCOMPRESSED) {
                st_buf_reset(&w->cbuf);
                if ((rc = w->codec->compress(c->dict.values.data, c->dict.values.len,
                                             w->opts.codec_level, &w->cbuf)))
                    return rc;
                comp = w->cbuf.data, comp_len = w->cbuf.len;
            }
            st_buf_reset(&w->hdr);
            pq_tw_t hw;
            pq_tw_init(&hw, &w->hdr);
            pq_tw_i32(&hw, 1, PAGE_DICT);
            pq_tw_i32(&hw, 2, (int32_t)c->dict.values.len);
            pq_tw_i32(&hw, 3, (int32_t)comp_len);
            pq_tw_struct(&hw, 7);
            pq_tw_i32(&hw, 1, (int32_t)c->dict.count);
            pq_tw_i32(&hw, 2, ENC_PLAIN);
            pq_tw_end(&hw);
            pq_tw_end(&hw);
            if ((rc = pq_tw_error(&hw))) return rc;
            if ((rc = sink_write(w, w->hdr.data, w->hdr.len))) return rc;
            if ((rc = sink_write(w, comp, comp_len))) return rc;
            uncompressed += (int64_t)(w->hdr.len + c->dict.values.len);
        }
        int64_t data_off = (int64_t)w->bytes;
        if ((rc = sink_write(w, c->chunk.data, c->chunk.len))) return rc;
        int64_t compressed = (int64_t)w->bytes - start;
        total_uncompressed += uncompressed;
        write_column_chunk(&tw, w, c, start, data_off, has_dict, uncompressed, compressed);
    }
    pq_tw_i64(&tw, 2, total_uncompressed);
    pq_tw_i64(&tw, 3, w->rg_rows);
    pq_tw_i64(&tw, 5, rg_start);
    pq_tw_i64(&tw, 6, (int64_t)w->bytes - rg_start);
    pq_tw_i16(&tw, 7, (int16_t)w->nrg);
    pq_tw_end(&tw);
    if ((rc = pq_tw_error(&tw))) return rc;
    if ((rc = st_buf_append(&w->rowgroups, w->meta.data, w->meta.len))) return rc;
    w->nrg++;
    w->rg_rows = 0;
    for (int i = 0; i < w->nfields; i++) {
        colw_t *c = &w->cols[i];
        c->skip_dict = c->fell_back;
        chunk_start(c);
    }
    return ST_OK;
}

/* ---- footer ---- */

static void write_logical(pq_tw_t *tw, const colw_t *c) {
    const pq_logical_type_t *l = &c->logical;
    pq_tw_struct(tw, 10);
    pq_tw_struct(tw, (int16_t)l->id);
    switch (l->id) {
    case PQ_LT_DECIMAL:
        pq_tw_i32(tw, 1, l->scale);
        pq_tw_i32(tw, 2, l->precision);
        break;
    case PQ_LT_TIME:
    case PQ_LT_TIMESTAMP:
        pq_tw_bool(tw, 1, l->utc);
        pq_tw_struct(tw, 2);
        pq_tw_struct(tw, l->unit == PQ_MILLIS ? 1 : l->unit == PQ_MICROS ? 2 : 3);
        pq_tw_end(tw);
        pq_tw_end(tw);
        break;
    case PQ_LT_INTEGER:
        pq_tw_i8(tw, 1, (int8_t)l->bit_width);
        pq_tw_bool(tw, 2, l->is_signed);
        break;
    default:
        break;
    }
    pq_tw_end(tw);
    pq_tw_end(tw);
}

static int write_footer(st_pq_writer_t *w) {
    st_buf_t *f = &w->meta;
    st_buf_reset(f);
    pq_tw_t tw;
    pq_tw_init(&tw, f);
    pq_tw_i32(&tw, 1, w->opts.page_version == 2 ? 2 : 1);
    pq_tw_list(&tw, 2, PQ_TC_STRUCT, (uint32_t)w->nfields + 1);
    pq_tw_elem_struct(&tw);
    pq_tw_string(&tw, 4, "schema");
    pq_tw_i32(&tw, 5, w->nfields);
    pq_tw_end(&tw);
    for (int i = 0; i < w->nfields; i++) {
        const colw_t *c = &w->cols[i];
        pq_tw_elem_struct(&tw);
        pq_tw_i32(&tw, 1, c->physical);
        if (c->type_length >= 0) pq_tw_i32(&tw, 2, c->type_length);
        pq_tw_i32(&tw, 3, c->max_def ? PQ_OPTIONAL : PQ_REQUIRED);
        pq_tw_string(&tw, 4, c->field->name);
        if (c->converted != PQ_CT_NONE) pq_tw_i32(&tw, 6, c->converted);
        if (c->logical.id == PQ_LT_DECIMAL && c->has_logical) {
            pq_tw_i32(&tw, 7, c->logical.scale);
            pq_tw_i32(&tw, 8, c->logical.precision);
        }
        if (c->has_logical) write_logical(&tw, c);
        pq_tw_end(&tw);
    }
    pq_tw_i64(&tw, 3, w->rows);
    pq_tw_list(&tw, 4, PQ_TC_STRUCT, (uint32_t)w->nrg);
    pq_tw_raw(&tw, w->rowgroups.data, w->rowgroups.len);
    if (w->nkv) {
        pq_tw_list(&tw, 5, PQ_TC_STRUCT, (uint32_t)w->nkv);
        for (int i = 0; i < w->nkv; i++) {
            pq_tw_elem_struct(&tw);
            pq_tw_string(&tw, 1, w->kv[i].key);
            if (w->kv[i].value) pq_tw_string(&tw, 2, w->kv[i].value);
            pq_tw_end(&tw);
        }
    }
    pq_tw_string(&tw, 6, w->created_by);
    pq_tw_list(&tw, 7, PQ_TC_STRUCT, (uint32_t)w->nfields);
    for (int i = 0; i < w->nfields; i++) {
        pq_tw_elem_struct(&tw);
        pq_tw_struct(&tw, 1); /* TypeDefinedOrder */
        pq_tw_end(&tw);
        pq_tw_end(&tw);
    }
    pq_tw_end(&tw);
    int rc = pq_tw_error(&tw);
    if (rc) return rc;
    if (f->len > UINT32_MAX) return st_error(ST_EUNSUPPORTED, "%s: footer too large", w->sink.name);
    uint32_t n = (uint32_t)f->len;
    uint8_t tail[8] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24),
                       'P', 'A', 'R', '1'};
    if ((rc = sink_write(w, f->data, f->len))) return rc;
    return sink_write(w, tail, 8);
}

/* ---- public API ---- */

static void writer_free(st_pq_writer_t *w) {
    if (!w) return;
    if (w->cols)
        for (int i = 0; i < w->nfields; i++) col_free(&w->cols[i]);
    free(w->cols);
    if (w->fields)
        for (int i = 0; i < w->nfields; i++) free(w->fields[i].name);
    free(w->fields);
    for (int i = 0; i < w->nkv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].value);
    }
    free(w->kv);
    free(w->created_by);
    st_buf_free(&w->rowgroups);
    st_buf_free(&w->body);
    st_buf_free(&w->cbuf);
    st_buf_free(&w->levels);
    st_buf_free(&w->idxenc);
    st_buf_free(&w->hdr);
    st_buf_free(&w->gather);
    st_buf_free(&w->meta);
    free(w->sink.name);
    free(w);
}

static void sink_discard(st_pq_sink_t *s) {
    if (s->finish) s->finish(s->ctx, false);
    free(s->name);
    memset(s, 0, sizeof *s);
}

static int check_opts(const st_pq_write_opts_t *o, const char *name, const pq_codec_t **codec) {
    *codec = pq_codec_find(o->codec);
    if (!*codec || !(*codec)->compress)
        return st_error(ST_EINVAL, "%s: codec %s cannot be written", name, st_codec_name(o->codec));
    if (o->page_version != 1 && o->page_version != 2)
        return st_error(ST_EINVAL, "%s: data page version %d (expected 1 or 2)", name, o->page_version);
    if (o->page_bytes == 0 || o->page_bytes > MAX_PAGE_BYTES)
        return st_error(ST_EINVAL, "%s: page size %zu out of range (1 .. %u)", name, o->page_bytes,
                        MAX_PAGE_BYTES);
    if (o->row_group_bytes == 0)
        return st_error(ST_EINVAL, "%s: row group size must be positive", name);
    if (o->row_group_rows < 0)
        return st_error(ST_EINVAL, "%s: row group row limit must not be negative", name);
    if (o->page_rows < 0)
        return st_error(ST_EINVAL, "%s: page row limit must not be negative", name);
    return ST_OK;
}

int st_pq_writer_open(st_pq_sink_t *sink, const st_field_t *fields, int nfields,
                      const st_pq_write_opts_t *opts, st_pq_writer_t **out) {
    *out = NULL;
    st_pq_write_opts_t defaults;
    if (!opts) {
        st_pq_write_opts_default(&defaults);
        opts = &defaults;
    }
    const char *name = sink->name ? sink->name : "parquet";
    const pq_codec_t *codec;
    int rc = check_opts(opts, name, &codec);
    if (!rc && (nfields < 1 || !fields))
        rc = st_error(ST_EINVAL, "%s: a Parquet file needs at least one column", name);
    for (int i = 0; !rc && i < nfields; i++) {
        if (!fields[i].name || !fields[i].name[0]) {
            rc = st_error(ST_EINVAL, "%s: column %d has no name", name, i);
            break;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(fields[i].name, fields[j].name)) {
                rc = st_error(ST_EINVAL, "%s: duplicate column name '%s'", name, fields[i].name);
                break;
            }
    }
    st_pq_writer_t *w = NULL;
    if (!rc && !(w = calloc(1, sizeof *w))) rc = st_error(ST_ENOMEM, "out of memory");
    if (rc) {
        sink_discard(sink);
        return rc;
    }
    w->sink = *sink;
    memset(sink, 0, sizeof *sink);
    w->opts = *opts;
    w->codec = codec;
    if (w->opts.dictionary_limit > (1u << 30)) w->opts.dictionary_limit = 1u << 30;
    w->opts.created_by = NULL;
    w->created_by = strdup(opts->created_by ? opts->created_by : PQ_DEFAULT_CREATED_BY);
    w->nfields = nfields;
    w->fields = calloc((size_t)nfields, sizeof *w->fields);
    w->cols = calloc((size_t)nfields, sizeof *w->cols);
    if (!w->created_by || !w->fields || !w->cols) {
        rc = st_error(ST_ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < nfields; i++) {
        w->fields[i] = fields[i];
        if (!(w->fields[i].name = strdup(fields[i].name))) {
            rc = st_error(ST_ENOMEM, "out of memory");
            goto fail;
        }
        colw_t *c = &w->cols[i];
        c->field = &w->fields[i];
        if ((rc = map_type(c->field, c))) {
            st_error_prefix(rc, "%s: column '%s'", name, c->field->name);
            goto fail;
        }
        c->max_def = fields[i].nullable ? 1 : 0;
        c->dict_allowed = opts->dictionary && c->conv != CV_BOOL;
        int kind = c->conv == CV_BYTES ? PQ_DICTB_BYTES
                   : c->physical == PQ_FIXED_LEN_BYTE_ARRAY ? PQ_DICTB_FIXED
                   : c->phys_width == 4 ? PQ_DICTB_K4 : PQ_DICTB_K8;
        pq_dictb_init(&c->dict, kind, c->phys_width);
        chunk_start(c);
    }
    if ((rc = sink_write(w, "PAR1", 4))) goto fail;
    *out = w;
    return ST_OK;
fail:
    sink_discard(&w->sink);
    writer_free(w);
    return rc;
}

int st_pq_writer_add_kv(st_pq_writer_t *w, const char *key, const char *value) {
    if (!key) return st_error(ST_EINVAL, "%s: key-value metadata needs a key", w->sink.name);
    kv_t *n = realloc(w->kv, ((size_t)w->nkv + 1) * sizeof *n);
    if (!n) return st_error(ST_ENOMEM, "out of memory");
    w->kv = n;
    char *k = strdup(key), *v = value ? strdup(value) : NULL;
    if (!k || (value && !v)) {
        free(k);
        free(v);
        return st_error(ST_ENOMEM, "out of memory");
    }
    w->kv[w->nkv].key = k;
    w->kv[w->nkv].value = v;
    w->nkv++;
    return ST_OK;
}

/* Checks that a batch column has the writer's type and buffers long enough
 * for its rows, and that a non-nullable field holds no null. */
static int check_column(const st_pq_writer_t *w, const colw_t *c, const st_column_t *col, int64_t n) {
    const char *name = w->sink.name, *cn = c->field->name;
    if (!st_type_equal(&col->field.type, &c->field->type)) {
        char a[64], b[64];
        st_type_format(&col->field.type, a, sizeof a);
        st_type_format(&c->field->type, b, sizeof b);
        return st_error(ST_EINVAL, "%s: column '%s' is %s in the batch but %s in the file", name, cn,
                        a, b);
    }
    if (col->length != n)
        return st_error(ST_EINVAL, "%s: column '%s' has %lld values for %lld rows", name, cn,
                        (long long)col->length, (long long)n);
    size_t nbitmap = (size_t)(n + 7) / 8;
    if (col->validity.len && col->validity.len < nbitmap)
        return st_error(ST_EINVAL, "%s: column '%s': validity bitmap too short", name, cn);
    if (c->conv == CV_BOOL) {
        if (col->values.len < nbitmap)
            return st_error(ST_EINVAL, "%s: column '%s': value bitmap too short", name, cn);
    } else if (c->conv == CV_BYTES) {
        if (col->offsets.len < ((size_t)n + 1) * 4)
            return st_error(ST_EINVAL, "%s: column '%s': offsets too short", name, cn);
        const int32_t *off = (const int32_t *)(const void *)col->offsets.data;
        bool ok = off[0] >= 0 && (size_t)off[n] <= col->values.len;
        for (int64_t i = 0; ok && i < n; i++) ok = off[i] <= off[i + 1];
        if (!ok) return st_error(ST_EINVAL, "%s: column '%s': offsets out of order or range", name, cn);
    } else if (col->values.len < (size_t)n * (size_t)c->src_width) {
        return st_error(ST_EINVAL, "%s: column '%s': value buffer too short", name, cn);
    }
    if (!c->max_def && col->validity.len) {
        uint64_t valid = pq_bits_count(col->validity.data, 0, (uint64_t)n);
        if (valid < (uint64_t)n) {
            int64_t row = 0;
            while (pq_bit_get(col->validity.data, (uint64_t)row)) row++;
            return st_error(ST_EVALIDATION,
                            "%s: column '%s' is not nullable but row %lld (row %lld of the batch) is null",
                            name, cn, (long long)(w->rows + row), (long long)row);
        }
    }
    return ST_OK;
}

int st_pq_writer_write(st_pq_writer_t *w, const st_batch_t *batch) {
    int rc;
    if (w->failed)
        return st_error(w->failed, "%s: an earlier write failed; the file can only be aborted",
                        w->sink.name);
    if (batch->ncols != w->nfields)
        return fail(w, st_error(ST_EINVAL, "%s: batch has %d columns, the file %d", w->sink.name,
                                batch->ncols, w->nfields));
    for (int i = 0; i < w->nfields; i++) {
        if (strcmp(batch->cols[i].field.name, w->fields[i].name))
            return fail(w, st_error(ST_EINVAL, "%s: batch column %d is '%s', the file's '%s'",
                                    w->sink.name, i, batch->cols[i].field.name, w->fields[i].name));
        if ((rc = check_column(w, &w->cols[i], &batch->cols[i], batch->nrows))) return fail(w, rc);
    }
    int64_t r = 0, n = batch->nrows;
    /* PLAIN bytes per row, an upper bound of what a row adds to the row group:
     * slices are sized so a row group ends near row_group_bytes. */
    size_t per_row = 1;
    for (int i = 0; n > 0 && i < w->nfields; i++) {
        const colw_t *c = &w->cols[i];
        if (c->conv == CV_BYTES) {
            const int32_t *off = (const int32_t *)(const void *)batch->cols[i].offsets.data;
            per_row += 4 + (size_t)(off[n] - off[0]) / (size_t)n;
        } else {
            per_row += c->conv == CV_BOOL ? 1 : (size_t)c->phys_width;
        }
    }
    while (r < n) {
        size_t have = rowgroup_bytes(w);
        size_t room = have < w->opts.row_group_bytes ? w->opts.row_group_bytes - have : 0;
        int64_t take = (int64_t)(room / per_row);
        if (take < MIN_SLICE_ROWS) take = MIN_SLICE_ROWS;
        if (take > SLICE_ROWS) take = SLICE_ROWS;
        if (take > n - r) take = n - r;
        if (w->opts.row_group_rows && take > w->opts.row_group_rows - w->rg_rows)
            take = w->opts.row_group_rows - w->rg_rows;
        for (int i = 0; i < w->nfields; i++) {
            if ((rc = col_append(w, &w->cols[i], &batch->cols[i], r, r + take))) {
                st_error_prefix(rc, "%s: column '%s'", w->sink.name, w->fields[i].name);
                return fail(w, rc);
            }
        }
        r += take;
        w->rg_rows += take;
        w->rows += take;
        if ((w->opts.row_group_rows && w->rg_rows >= w->opts.row_group_rows) ||
            rowgroup_bytes(w) >= w->opts.row_group_bytes)
            if ((rc = flush_row_group(w))) return fail(w, rc);
    }
    return ST_OK;
}

int st_pq_writer_close(st_pq_writer_t *w) {
    int rc = w->failed;
    if (rc) {
        st_error(rc, "%s: not written: an earlier write failed", w->sink.name);
    } else if (!(rc = flush_row_group(w)) && !(rc = write_footer(w))) {
        rc = w->sink.finish(w->sink.ctx, true);
        w->sink.finish = NULL;
        if (rc) st_error_prefix(rc, "%s", w->sink.name);
    }
    if (w->sink.finish) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", st_errmsg());
        w->sink.finish(w->sink.ctx, false);
        st_error(rc, "%s", msg);
    }
    writer_free(w);
    return rc;
}

void st_pq_writer_abort(st_pq_writer_t *w) {
    if (!w) return;
    if (w->sink.finish) w->sink.finish(w->sink.ctx, false);
    writer_free(w);
}

int64_t st_pq_writer_rows(const st_pq_writer_t *w) { return w->rows; }

uint64_t st_pq_writer_bytes(const st_pq_writer_t *w) { return w->bytes; }
