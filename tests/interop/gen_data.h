/*
 * Deterministic test data for every strata type, shared by the writer's unit
 * tests and the DuckDB interop generator.
 *
 * The value of column c at row r depends only on (c, r): the same rows come out
 * whatever codec, page version or row-group size a file uses, and the nullable
 * variant holds the same values with some of them replaced by nulls. Values mix
 * edge cases (integer limits, NaN, infinities, -0.0, empty and non-ASCII
 * strings), a small pool of repeated values (so dictionaries pay off) and
 * random values (so they fill up and fall back).
 *
 * Alongside each value the generator produces its canonical JSON text (the
 * Parquet corpus form) from its own data, and tracks min/max/null counts with
 * the Parquet sort order of each type: an oracle independent of any reader.
 */
#ifndef STRATA_TESTS_GEN_DATA_H
#define STRATA_TESTS_GEN_DATA_H

#include "strata/table.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct gen_col {
    const char *name;
    const char *type;
} gen_col_t;

static const gen_col_t gen_cols[] = {
    {"c_bool", "bool"},
    {"c_int8", "int8"},
    {"c_int16", "int16"},
    {"c_int32", "int32"},
    {"c_int64", "int64"},
    {"c_uint8", "uint8"},
    {"c_uint16", "uint16"},
    {"c_uint32", "uint32"},
    {"c_uint64", "uint64"},
    {"c_float", "float"},
    {"c_double", "double"},
    {"c_string", "string"},
    {"c_enum", "string"},
    {"c_binary", "binary"},
    {"c_fixed3", "fixed(3)"},
    {"c_date", "date"},
    {"c_time_ms", "time(ms)"},
    {"c_time_us", "time(us)"},
    {"c_time_ns", "time(ns)"},
    {"c_ts_ms", "timestamp(ms)"},
    {"c_ts_us", "timestamp(us)"},
    {"c_ts_ns", "timestamp(ns)"},
    {"c_ts_ms_utc", "timestamp(ms, UTC)"},
    {"c_ts_us_utc", "timestamp(us, UTC)"},
    {"c_ts_ns_utc", "timestamp(ns, UTC)"},
    {"c_dec9", "decimal(9,2)"},
    {"c_dec18", "decimal(18,4)"},
    {"c_dec38", "decimal(38,10)"},
    {"c_uuid", "uuid"},
    {"c_json", "json"},
};
#define GEN_NCOLS ((int)(sizeof gen_cols / sizeof gen_cols[0]))

/* Sort orders of the oracle's statistics. */
enum { GK_BOOL, GK_INT, GK_UINT, GK_FLOAT, GK_BYTES };

#define GEN_MAX_BYTES 4096
/* Infinities only from this row on: DuckDB hides infinite min/max, so the
 * earlier row groups keep finite float statistics that can be compared. */
#define GEN_INF_FROM 2000

typedef struct gen_val {
    bool null;
    int kind;
    __int128 i;   /* GK_INT: every signed integer, date, time, timestamp, decimal */
    uint64_t u;   /* GK_UINT */
    double d;     /* GK_FLOAT (float columns hold the float's exact value) */
    bool b;
    uint8_t bytes[GEN_MAX_BYTES];
    size_t n;
} gen_val_t;

static inline uint64_t gen_mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Whether column c is null at row r in the nullable variant (about 15 %;
 * c_enum never, so one nullable column keeps no nulls). */
static inline bool gen_is_null(int c, int64_t r) {
    if (!strcmp(gen_cols[c].name, "c_enum")) return false;
    return gen_mix(((uint64_t)c << 40) ^ (uint64_t)r ^ 0xABCDEFull) % 100 < 15;
}

static const char *const gen_pieces[] = {"a", "b", "c", "x", "y", "z", "Q", "0", "7", " ", "é",
                                         "ß", "日本", "😀", "\"", "\\", "\n", "\t", "\x01", "/",
                                         "\x7f", "Ω"};

static inline void gen_text(uint64_t u, gen_val_t *v) {
    size_t len = u % 24;
    v->n = 0;
    for (size_t k = 0; k < len; k++) {
        u = gen_mix(u);
        const char *p = gen_pieces[u % (sizeof gen_pieces / sizeof gen_pieces[0])];
        size_t l = strlen(p);
        memcpy(v->bytes + v->n, p, l);
        v->n += l;
    }
}

static inline __int128 gen_pow10(int p) {
    __int128 x = 1;
    while (p-- > 0) x *= 10;
    return x;
}

/* A value in [-(lim-1), lim-1] from two random words (2 * lim may pass the
 * signed 128-bit range, so the arithmetic is unsigned). */
static inline __int128 gen_bounded(uint64_t a, uint64_t b, __int128 lim) {
    unsigned __int128 x = ((unsigned __int128)a << 64) | b;
    unsigned __int128 m = x % (2 * (unsigned __int128)lim - 1);
    return (__int128)(m - (unsigned __int128)(lim - 1));
}

/* The non-null value of column c (type t) at row r. */
static inline void gen_make(int c, const st_type_t *t, int64_t r, gen_val_t *v) {
    uint64_t h = gen_mix(((uint64_t)c << 48) ^ (uint64_t)r);
    uint64_t sel = h % 100, u;
    bool edge = sel < 8;
    if (edge) u = h >> 8;
    else if (sel < 60 || !strcmp(gen_cols[c].name, "c_enum"))
        u = gen_mix((uint64_t)c * 1000 + (h >> 8) % (!strcmp(gen_cols[c].name, "c_enum") ? 5 : 12));
    else u = gen_mix(h);
    uint64_t u2 = gen_mix(u ^ 0x5555);
    memset(v, 0, offsetof(gen_val_t, bytes));
    v->n = 0;
    int e = (int)(u % 8);
    switch (t->id) {
    case ST_TYPE_BOOL:
        v->kind = GK_BOOL, v->b = u & 1;
        break;
    case ST_TYPE_INT8: case ST_TYPE_INT16: case ST_TYPE_INT32: case ST_TYPE_INT64: {
        int bits = t->id == ST_TYPE_INT8 ? 8 : t->id == ST_TYPE_INT16 ? 16 : t->id == ST_TYPE_INT32 ? 32 : 64;
        __int128 lo = -((__int128)1 << (bits - 1)), hi = ((__int128)1 << (bits - 1)) - 1;
        __int128 edges[8] = {lo, hi, 0, -1, 1, lo + 1, hi - 1, 42};
        v->kind = GK_INT;
        if (edge) v->i = edges[e];
        else v->i = bits == 64 ? (__int128)(int64_t)u : (__int128)((int64_t)(u % (uint64_t)(hi - lo + 1)) + (int64_t)lo);
        break;
    }
    case ST_TYPE_UINT8: case ST_TYPE_UINT16: case ST_TYPE_UINT32: case ST_TYPE_UINT64: {
        int bits = t->id == ST_TYPE_UINT8 ? 8 : t->id == ST_TYPE_UINT16 ? 16 : t->id == ST_TYPE_UINT32 ? 32 : 64;
        uint64_t hi = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
        uint64_t edges[8] = {0, hi, 1, hi - 1, hi / 2, hi / 2 + 1, 7, 100};
        v->kind = GK_UINT;
        v->u = edge ? edges[e] : (bits == 64 ? u : u & hi);
        break;
    }
    case ST_TYPE_FLOAT: {
        float edges[8] = {NAN, INFINITY, -INFINITY, -0.0f, 0.0f, FLT_MAX, -FLT_MIN, 1e-45f};
        float f = edge ? edges[e] : (float)((double)((int64_t)(u % 2000001) - 1000000) / 64.0);
        if (!edge && (u2 & 3) == 0) f = (float)((double)(int64_t)u * 1e-12);
        if (isinf(f) && r < GEN_INF_FROM) f = 0.5f;
        v->kind = GK_FLOAT, v->d = f;
        break;
    }
    case ST_TYPE_DOUBLE: {
        double edges[8] = {NAN, INFINITY, -INFINITY, -0.0, 0.0, DBL_MAX, -DBL_MIN, 5e-324};
        double d = edge ? edges[e] : (double)((int64_t)(u % 2000001) - 1000000) / 1024.0;
        if (!edge && (u2 & 3) == 0) d = (double)(int64_t)u * 1.2345e-7;
        if (isinf(d) && r < GEN_INF_FROM) d = 0.5;
        v->kind = GK_FLOAT, v->d = d;
        break;
    }
    case ST_TYPE_STRING:
        v->kind = GK_BYTES;
        if (edge && e == 0) v->n = 0;
        else if (edge && e == 1) {
            for (size_t k = 0; k < 3000; k++) v->bytes[k] = (uint8_t)('a' + k % 26);
            v->n = 3000;
        } else if (edge && e == 2) {
            memcpy(v->bytes, "\xef\xbf\xbf", 3), v->n = 3; /* U+FFFF sorts high */
        } else gen_text(u, v);
        break;
    case ST_TYPE_JSON: {
        v->kind = GK_BYTES;
        int n = snprintf((char *)v->bytes, 64, "{\"k\":%d,\"ok\":%s}", (int)(u % 1000) - 500,
                         (u2 & 1) ? "true" : "false");
        v->n = (size_t)n;
        break;
    }
    case ST_TYPE_BINARY:
        v->kind = GK_BYTES;
        v->n = edge ? (size_t)e : u % 16;
        for (size_t k = 0; k < v->n; k++) v->bytes[k] = (uint8_t)(edge ? (e & 1 ? 0xFF : 0) : gen_mix(u + k));
        break;
    case ST_TYPE_FIXED: case ST_TYPE_UUID:
        v->kind = GK_BYTES;
        v->n = (size_t)st_type_value_width(t);
        for (size_t k = 0; k < v->n; k++)
            v->bytes[k] = (uint8_t)(edge ? (e & 1 ? 0xFF : 0) : gen_mix(u + k));
        break;
    case ST_TYPE_DATE: {
        int64_t edges[8] = {0, -1, 1, -719162, 2932896, 19000, -25567, 10957};
        v->kind = GK_INT, v->i = edge ? edges[e] : (int64_t)(u % 3652059) - 719162;
        break;
    }
    case ST_TYPE_TIME: {
        int64_t day = t->unit == ST_UNIT_MS ? 86400000LL : t->unit == ST_UNIT_US ? 86400000000LL : 86400000000000LL;
        int64_t edges[8] = {0, day - 1, 1, day / 2, 1000, day - 1000, 3600, 59};
        v->kind = GK_INT, v->i = edge ? edges[e] : (int64_t)(u % (uint64_t)day);
        break;
    }
    case ST_TYPE_TIMESTAMP: {
        int64_t scale = t->unit == ST_UNIT_MS ? 1 : t->unit == ST_UNIT_US ? 1000 : 1000000;
        /* Years 0001..9999 for ms/us; ns spans what int64 nanoseconds can hold. */
        int64_t lo = -62135596800000LL, hi = 253402300799999LL, x;
        if (t->unit == ST_UNIT_NS) {
            lo = -(1LL << 62), hi = 1LL << 62;
            x = (int64_t)(u % ((uint64_t)hi - (uint64_t)lo)) + lo;
        } else {
            x = ((int64_t)(u % (uint64_t)(hi - lo)) + lo) * scale + (int64_t)(u2 % (uint64_t)scale);
            lo *= scale, hi *= scale;
        }
        int64_t edges[8] = {0, -1, 1, lo, hi, 1700000000000LL * scale, -86400000LL * scale, 951782400000LL * scale};
        v->kind = GK_INT, v->i = edge ? edges[e] : x;
        break;
    }
    case ST_TYPE_DECIMAL: {
        __int128 lim = gen_pow10(t->precision);
        __int128 edges[8] = {lim - 1, -(lim - 1), 0, -1, 1, 5, -5, lim / 2};
        v->kind = GK_INT, v->i = edge ? edges[e] : gen_bounded(u, u2, lim);
        break;
    }
    default:
        break;
    }
}

/* Appends v to a batch column. */
static inline int gen_append(st_column_t *col, const gen_val_t *v) {
    if (v->null) return st_col_append_null(col);
    switch (col->field.type.id) {
    case ST_TYPE_BOOL: return st_col_append_bool(col, v->b);
    case ST_TYPE_UINT8: case ST_TYPE_UINT16: case ST_TYPE_UINT32: case ST_TYPE_UINT64:
        return st_col_append_u64(col, v->u);
    case ST_TYPE_FLOAT: case ST_TYPE_DOUBLE: return st_col_append_double(col, v->d);
    case ST_TYPE_STRING: case ST_TYPE_JSON: case ST_TYPE_BINARY: case ST_TYPE_FIXED: case ST_TYPE_UUID:
        return st_col_append_bytes(col, v->bytes, v->n);
    case ST_TYPE_DECIMAL: {
        uint8_t le[16];
        memcpy(le, &v->i, 16); /* x86-64 and aarch64 are little-endian */
        return st_col_append_decimal128(col, le);
    }
    default: return st_col_append_i64(col, (int64_t)v->i);
    }
}

static inline int gen_hex(st_buf_t *out, const uint8_t *p, size_t n) {
    static const char hx[] = "0123456789abcdef";
    int rc = st_buf_append_byte(out, '"');
    for (size_t i = 0; !rc && i < n; i++) {
        char two[2] = {hx[p[i] >> 4], hx[p[i] & 15]};
        rc = st_buf_append(out, two, 2);
    }
    return rc ? rc : st_buf_append_byte(out, '"');
}

static inline int gen_decimal_text(st_buf_t *out, __int128 v, int scale) {
    char digits[64];
    int n = 0;
    unsigned __int128 x = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
    do {
        digits[n++] = (char)('0' + (int)(x % 10));
        x /= 10;
    } while (x);
    while (n <= scale) digits[n++] = '0';
    char s[80];
    int k = 0;
    s[k++] = '"';
    if (v < 0) s[k++] = '-';
    for (int i = n - 1; i >= 0; i--) {
        s[k++] = digits[i];
        if (i == scale && scale > 0) s[k++] = '.';
    }
    s[k++] = '"';
    return st_buf_append(out, s, (size_t)k);
}

/* Canonical JSON text of v as a value of type t. */
static inline int gen_json(st_buf_t *out, const st_type_t *t, const gen_val_t *v) {
    char s[96];
    int n, digits = t->unit == ST_UNIT_MS ? 3 : t->unit == ST_UNIT_US ? 6 : 9;
    if (v->null) return st_buf_append_str(out, "null");
    switch (t->id) {
    case ST_TYPE_BOOL: return st_buf_append_str(out, v->b ? "true" : "false");
    case ST_TYPE_INT8: case ST_TYPE_INT16: case ST_TYPE_INT32: case ST_TYPE_INT64:
        return st_buf_printf(out, "%lld", (long long)v->i);
    case ST_TYPE_UINT8: case ST_TYPE_UINT16: case ST_TYPE_UINT32: case ST_TYPE_UINT64:
        return st_buf_printf(out, "%llu", (unsigned long long)v->u);
    case ST_TYPE_FLOAT: case ST_TYPE_DOUBLE:
        n = t->id == ST_TYPE_FLOAT ? st_format_float((float)v->d, s) : st_format_double(v->d, s);
        if (isfinite(v->d)) return st_buf_append(out, s, (size_t)n);
        return st_buf_printf(out, "\"%s\"", s);
    case ST_TYPE_STRING: case ST_TYPE_JSON: return st_json_append_string(out, (const char *)v->bytes, v->n);
    case ST_TYPE_BINARY: case ST_TYPE_FIXED: return gen_hex(out, v->bytes, v->n);
    case ST_TYPE_UUID:
        st_uuid_format(v->bytes, s);
        return st_buf_printf(out, "\"%s\"", s);
    case ST_TYPE_DATE:
        st_format_date((int64_t)v->i, s, sizeof s);
        return st_buf_printf(out, "\"%s\"", s);
    case ST_TYPE_TIME:
        st_format_time((int64_t)v->i, digits, s, sizeof s);
        return st_buf_printf(out, "\"%sZ\"", s); /* strata writes TIME as adjusted to UTC */
    case ST_TYPE_TIMESTAMP:
        st_format_timestamp((int64_t)v->i, digits, t->utc, s, sizeof s);
        return st_buf_printf(out, "\"%s\"", s);
    case ST_TYPE_DECIMAL: return gen_decimal_text(out, v->i, t->scale);
    default: return st_error(ST_EINVAL, "gen_json: type %d", (int)t->id);
    }
}

/* ---- statistics oracle ---- */

typedef struct gen_stats {
    bool has;
    int64_t nulls;
    gen_val_t min, max;
} gen_stats_t;

/* Parquet order: signed, unsigned, floats ignoring NaN, bytes unsigned
 * lexicographic (strings, binary, fixed, uuid). */
static inline int gen_cmp(const gen_val_t *a, const gen_val_t *b) {
    switch (a->kind) {
    case GK_BOOL: return (int)a->b - (int)b->b;
    case GK_INT: return a->i < b->i ? -1 : a->i > b->i;
    case GK_UINT: return a->u < b->u ? -1 : a->u > b->u;
    case GK_FLOAT: return a->d < b->d ? -1 : a->d > b->d;
    default: {
        size_t n = a->n < b->n ? a->n : b->n;
        int r = n ? memcmp(a->bytes, b->bytes, n) : 0;
        return r ? r : (a->n < b->n ? -1 : a->n > b->n);
    }
    }
}

static inline void gen_stats_add(gen_stats_t *s, const gen_val_t *v) {
    if (v->null) {
        s->nulls++;
        return;
    }
    if (v->kind == GK_FLOAT && isnan(v->d)) return;
    if (!s->has || gen_cmp(v, &s->min) < 0) s->min = *v;
    if (!s->has || gen_cmp(v, &s->max) > 0) s->max = *v;
    s->has = true;
}

/* Canonical text of the min (which = 0) or max (1), with the spec's zero
 * rule for floats: -0 as min, +0 as max; "null" when there is none. */
static inline int gen_stats_json(st_buf_t *out, const st_type_t *t, const gen_stats_t *s, int which) {
    if (!s->has) return st_buf_append_str(out, "null");
    gen_val_t v = which ? s->max : s->min;
    if (v.kind == GK_FLOAT && v.d == 0) v.d = which ? 0.0 : -0.0;
    return gen_json(out, t, &v);
}

#endif
