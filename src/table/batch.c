/* In-memory columnar batches in the Arrow layout: appending values, reading them
 * back, and the canonical JSON form of one value. */
#include "table_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- batch lifecycle ---- */

int tbl_col_init(st_column_t *c, const st_field_t *f) {
    memset(c, 0, sizeof *c);
    c->field = *f;
    c->field.name = strdup(f->name ? f->name : "");
    if (!c->field.name) return st_error(ST_ENOMEM, "out of memory");
    if (st_type_is_varlen(&f->type)) {
        int32_t zero = 0;
        if (st_buf_append(&c->offsets, &zero, 4)) {
            free(c->field.name);
            c->field.name = NULL;
            return ST_ENOMEM;
        }
    }
    return ST_OK;
}

void tbl_col_free(st_column_t *c) {
    free(c->field.name);
    c->field.name = NULL;
    st_buf_free(&c->validity);
    st_buf_free(&c->values);
    st_buf_free(&c->offsets);
}

int st_batch_new(const st_field_t *fields, int nfields, st_batch_t **out) {
    *out = NULL;
    if (nfields < 0 || (nfields > 0 && !fields))
        return st_error(ST_EINVAL, "st_batch_new: bad field list");
    st_batch_t *b = calloc(1, sizeof *b);
    if (!b) return st_error(ST_ENOMEM, "out of memory");
    if (nfields > 0) {
        b->cols = calloc((size_t)nfields, sizeof *b->cols);
        if (!b->cols) {
            free(b);
            return st_error(ST_ENOMEM, "out of memory");
        }
    }
    for (int i = 0; i < nfields; i++) {
        int rc = tbl_col_init(&b->cols[i], &fields[i]);
        if (rc) {
            b->ncols = i;
            st_batch_free(b);
            return rc;
        }
    }
    b->ncols = nfields;
    *out = b;
    return ST_OK;
}

void st_batch_free(st_batch_t *b) {
    if (!b) return;
    for (int i = 0; i < b->ncols; i++)
        tbl_col_free(&b->cols[i]);
    free(b->cols);
    free(b);
}

void st_batch_clear(st_batch_t *b) {
    for (int i = 0; i < b->ncols; i++)
        tbl_col_truncate(&b->cols[i], 0);
    b->nrows = 0;
}

int st_batch_column_index(const st_batch_t *b, const char *name) {
    for (int i = 0; i < b->ncols; i++)
        if (!strcmp(b->cols[i].field.name, name)) return i;
    return -1;
}

size_t st_batch_bytes(const st_batch_t *b) {
    size_t n = 0;
    for (int i = 0; i < b->ncols; i++)
        n += b->cols[i].values.len + b->cols[i].offsets.len + b->cols[i].validity.len;
    return n;
}

int st_batch_end_row(st_batch_t *b) {
    for (int i = 0; i < b->ncols; i++) {
        if (b->cols[i].length != b->nrows + 1)
            return st_error(ST_EINVAL, "column '%s' has %lld values, row %lld needs %lld",
                            b->cols[i].field.name, (long long)b->cols[i].length,
                            (long long)b->nrows, (long long)b->nrows + 1);
    }
    b->nrows++;
    return ST_OK;
}

/* ---- bits ---- */

static inline bool bit_get(const uint8_t *bits, int64_t i) { return (bits[i >> 3] >> (i & 7)) & 1; }

static inline void bit_put(uint8_t *bits, int64_t i, bool v) {
    if (v)
        bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    else
        bits[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}

/* Makes room for bit `i` in a bitmap buffer whose bytes past the end are zero. */
static int bits_room(st_buf_t *b, int64_t i) {
    size_t need = (size_t)(i >> 3) + 1;
    if (b->len >= need) return ST_OK;
    return st_buf_append_zeros(b, need - b->len);
}

/* Records whether the value about to become row `c->length` is valid. The
 * bitmap stays empty while every value is valid; the first null materialises it
 * with all earlier bits set. */
static int push_validity(st_column_t *c, bool valid) {
    int64_t row = c->length;
    if (c->validity.len == 0) {
        if (valid) return ST_OK;
        size_t full = (size_t)(row >> 3);
        int rc = st_buf_reserve(&c->validity, full + 1);
        if (rc) return rc;
        memset(c->validity.data, 0xff, full);
        c->validity.data[full] = (uint8_t)((1u << (row & 7)) - 1);
        c->validity.len = full + 1;
    }
    int rc = bits_room(&c->validity, row);
    if (rc) return rc;
    bit_put(c->validity.data, row, valid);
    return ST_OK;
}

static int append_offset(st_column_t *c) {
    if (c->values.len > INT32_MAX)
        return st_error(ST_ENOMEM, "column '%s': more than 2 GiB of data in one batch",
                        c->field.name);
    int32_t off = (int32_t)c->values.len;
    return st_buf_append(&c->offsets, &off, 4);
}

/* Appends one value's worth of physical storage (bytes for fixed width, data
 * for var-len, a bit for BOOL) and its validity. */
static int push(st_column_t *c, bool valid, const void *data, size_t n) {
    int rc;
    size_t old_values = c->values.len, old_offsets = c->offsets.len;
    if (c->field.type.id == ST_TYPE_BOOL) {
        rc = bits_room(&c->values, c->length);
        if (!rc) bit_put(c->values.data, c->length, valid && n && *(const uint8_t *)data);
    } else if (st_type_is_varlen(&c->field.type)) {
        rc = valid ? st_buf_append(&c->values, data, n) : ST_OK;
        if (!rc) rc = append_offset(c);
    } else {
        rc = valid ? st_buf_append(&c->values, data, n) : st_buf_append_zeros(&c->values, n);
    }
    if (!rc) rc = push_validity(c, valid);
    if (rc) {
        c->values.len = old_values;
        c->offsets.len = old_offsets;
        return rc;
    }
    c->length++;
    if (!valid) c->null_count++;
    return ST_OK;
}

void tbl_col_truncate(st_column_t *c, int64_t len) {
    if (len < 0 || len > c->length) return;
    if (c->validity.len) {
        for (int64_t i = len; i < c->length; i++)
            if (!bit_get(c->validity.data, i)) c->null_count--;
    }
    c->length = len;
    if (c->field.type.id == ST_TYPE_BOOL) {
        /* Appends only ever set bits, so stale ones past the end must go. */
        c->values.len = (size_t)((len + 7) >> 3);
        if (len & 7) c->values.data[len >> 3] &= (uint8_t)((1u << (len & 7)) - 1);
    } else if (st_type_is_varlen(&c->field.type)) {
        int32_t end;
        memcpy(&end, c->offsets.data + 4 * len, 4);
        c->offsets.len = (size_t)(len + 1) * 4;
        c->values.len = (size_t)end;
    } else {
        c->values.len = (size_t)len * (size_t)st_type_value_width(&c->field.type);
    }
    if (len == 0) {
        /* An empty column is "all valid so far" again. */
        c->validity.len = 0;
        c->null_count = 0;
    } else if (c->validity.len) {
        c->validity.len = (size_t)((len + 7) >> 3);
        if (len & 7) c->validity.data[len >> 3] &= (uint8_t)((1u << (len & 7)) - 1);
    }
}

/* ---- appending ---- */

int tbl_col_append_raw(st_column_t *c, const void *data, size_t n) {
    return push(c, true, data, n);
}

static int type_error(const st_column_t *c, const char *what) {
    char t[48];
    st_type_format(&c->field.type, t, sizeof t);
    return st_error(ST_ETYPE, "column '%s' (%s) does not take %s", c->field.name, t, what);
}

static int range_error(const st_column_t *c, const char *value) {
    char t[48];
    st_type_format(&c->field.type, t, sizeof t);
    return st_error(ST_ETYPE, "column '%s': %s is out of range for %s", c->field.name, value, t);
}

int st_col_append_null(st_column_t *c) {
    return push(c, false, NULL, (size_t)st_type_value_width(&c->field.type));
}

int st_col_append_bool(st_column_t *c, bool v) {
    if (c->field.type.id != ST_TYPE_BOOL) return type_error(c, "a boolean");
    uint8_t b = v;
    return push(c, true, &b, 1);
}

/* v already fits the precision. */
static int append_decimal(st_column_t *c, __int128 v) {
    uint8_t le[16];
    tbl_dec_store(v, le);
    return push(c, true, le, 16);
}

/* Stores v (already known to fit) in the column's physical width. */
static int push_int(st_column_t *c, int64_t v) {
    switch (st_type_value_width(&c->field.type)) {
    case 1: {
        int8_t x = (int8_t)v;
        return push(c, true, &x, 1);
    }
    case 2: {
        int16_t x = (int16_t)v;
        return push(c, true, &x, 2);
    }
    case 4: {
        int32_t x = (int32_t)v;
        return push(c, true, &x, 4);
    }
    default: return push(c, true, &v, 8);
    }
}

static int range_error_i64(const st_column_t *c, int64_t v) {
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)v);
    return range_error(c, text);
}

static int range_error_u64(const st_column_t *c, uint64_t v) {
    char text[24];
    snprintf(text, sizeof text, "%llu", (unsigned long long)v);
    return range_error(c, text);
}

int st_col_append_i64(st_column_t *c, int64_t v) {
    int64_t lo, hi;
    switch (c->field.type.id) {
    case ST_TYPE_INT8: lo = INT8_MIN, hi = INT8_MAX; break;
    case ST_TYPE_INT16: lo = INT16_MIN, hi = INT16_MAX; break;
    case ST_TYPE_INT32:
    case ST_TYPE_DATE: lo = INT32_MIN, hi = INT32_MAX; break;
    case ST_TYPE_TIME:
        if (c->field.type.unit == ST_UNIT_MS)
            lo = INT32_MIN, hi = INT32_MAX;
        else
            lo = INT64_MIN, hi = INT64_MAX;
        break;
    case ST_TYPE_INT64:
    case ST_TYPE_TIMESTAMP: lo = INT64_MIN, hi = INT64_MAX; break;
    case ST_TYPE_UINT8:
    case ST_TYPE_UINT16:
    case ST_TYPE_UINT32:
    case ST_TYPE_UINT64:
        if (v < 0) return range_error_i64(c, v);
        return st_col_append_u64(c, (uint64_t)v);
    case ST_TYPE_DECIMAL:
        if (!tbl_dec_fits(v, c->field.type.precision)) return range_error_i64(c, v);
        return append_decimal(c, v);
    default: return type_error(c, "an integer");
    }
    if (v < lo || v > hi) return range_error_i64(c, v);
    return push_int(c, v);
}

int st_col_append_u64(st_column_t *c, uint64_t v) {
    uint64_t hi;
    switch (c->field.type.id) {
    case ST_TYPE_UINT8: hi = UINT8_MAX; break;
    case ST_TYPE_UINT16: hi = UINT16_MAX; break;
    case ST_TYPE_UINT32: hi = UINT32_MAX; break;
    case ST_TYPE_UINT64: hi = UINT64_MAX; break;
    case ST_TYPE_DECIMAL:
        if (!tbl_dec_fits((__int128)v, c->field.type.precision)) return range_error_u64(c, v);
        return append_decimal(c, (__int128)v);
    default:
        if (v > INT64_MAX) {
            if (c->field.type.id >= ST_TYPE_INT8 && c->field.type.id <= ST_TYPE_INT64)
                return range_error_u64(c, v);
            return type_error(c, "an unsigned integer");
        }
        return st_col_append_i64(c, (int64_t)v);
    }
    if (v > hi) return range_error_u64(c, v);
    switch (st_type_value_width(&c->field.type)) {
    case 1: {
        uint8_t x = (uint8_t)v;
        return push(c, true, &x, 1);
    }
    case 2: {
        uint16_t x = (uint16_t)v;
        return push(c, true, &x, 2);
    }
    case 4: {
        uint32_t x = (uint32_t)v;
        return push(c, true, &x, 4);
    }
    default: return push(c, true, &v, 8);
    }
}

int st_col_append_double(st_column_t *c, double v) {
    if (c->field.type.id == ST_TYPE_DOUBLE) return push(c, true, &v, 8);
    if (c->field.type.id == ST_TYPE_FLOAT) {
        /* A finite double that rounds past FLT_MAX would silently become infinity
         * (the bound is FLT_MAX plus half an ulp). */
        if (isfinite(v) && fabs(v) >= 0x1.ffffffp+127) {
            char text[32];
            st_format_double(v, text);
            return range_error(c, text);
        }
        float f = (float)v;
        return push(c, true, &f, 4);
    }
    return type_error(c, "a floating-point number");
}

int st_col_append_bytes(st_column_t *c, const void *data, size_t n) {
    const st_type_t *t = &c->field.type;
    if (st_type_is_varlen(t)) {
        if (n > INT32_MAX) return range_error(c, "a value over 2 GiB");
        return push(c, true, data, n);
    }
    if (t->id == ST_TYPE_FIXED || t->id == ST_TYPE_UUID) {
        int w = st_type_value_width(t);
        if (n != (size_t)w) {
            char t_text[48];
            st_type_format(t, t_text, sizeof t_text);
            return st_error(ST_ETYPE, "column '%s' (%s): value has %zu bytes, expected %d",
                            c->field.name, t_text, n, w);
        }
        return push(c, true, data, n);
    }
    return type_error(c, "bytes");
}

int st_col_append_decimal128(st_column_t *c, const uint8_t le16[16]) {
    if (c->field.type.id != ST_TYPE_DECIMAL) return type_error(c, "a decimal");
    __int128 v = tbl_dec_load(le16);
    if (!tbl_dec_fits(v, c->field.type.precision)) {
        st_buf_t b = ST_BUF_INIT;
        int rc = tbl_dec_format(v, c->field.type.scale, &b);
        if (!rc) rc = st_buf_append_byte(&b, 0);
        rc = range_error(c, rc ? "value" : (const char *)b.data);
        st_buf_free(&b);
        return rc;
    }
    return push(c, true, le16, 16);
}

/* ---- reading ---- */

bool st_col_is_null(const st_column_t *c, int64_t i) {
    return c->validity.len != 0 && !bit_get(c->validity.data, i);
}

bool st_col_get_bool(const st_column_t *c, int64_t i) { return bit_get(c->values.data, i); }

int64_t st_col_get_i64(const st_column_t *c, int64_t i) {
    const uint8_t *p = c->values.data;
    bool is_unsigned = c->field.type.id >= ST_TYPE_UINT8 && c->field.type.id <= ST_TYPE_UINT64;
    if (c->field.type.id == ST_TYPE_BOOL) return st_col_get_bool(c, i);
    switch (st_type_value_width(&c->field.type)) {
    case 1: {
        if (is_unsigned) return p[i];
        int8_t x;
        memcpy(&x, p + i, 1);
        return x;
    }
    case 2: {
        if (is_unsigned) {
            uint16_t x;
            memcpy(&x, p + 2 * i, 2);
            return x;
        }
        int16_t x;
        memcpy(&x, p + 2 * i, 2);
        return x;
    }
    case 4: {
        if (is_unsigned) {
            uint32_t x;
            memcpy(&x, p + 4 * i, 4);
            return x;
        }
        int32_t x;
        memcpy(&x, p + 4 * i, 4);
        return x;
    }
    case 8: {
        int64_t x;
        memcpy(&x, p + 8 * i, 8);
        return x;
    }
    default: return 0;
    }
}

uint64_t st_col_get_u64(const st_column_t *c, int64_t i) {
    if (c->field.type.id == ST_TYPE_UINT64) {
        uint64_t x;
        memcpy(&x, c->values.data + 8 * i, 8);
        return x;
    }
    return (uint64_t)st_col_get_i64(c, i);
}

double st_col_get_double(const st_column_t *c, int64_t i) {
    if (c->field.type.id == ST_TYPE_FLOAT) {
        float f;
        memcpy(&f, c->values.data + 4 * i, 4);
        return f;
    }
    double d;
    memcpy(&d, c->values.data + 8 * i, 8);
    return d;
}

const uint8_t *st_col_get_bytes(const st_column_t *c, int64_t i, size_t *n) {
    if (st_type_is_varlen(&c->field.type)) {
        int32_t a, b;
        memcpy(&a, c->offsets.data + 4 * i, 4);
        memcpy(&b, c->offsets.data + 4 * (i + 1), 4);
        *n = (size_t)(b - a);
        /* An empty value may sit at the end of a never-allocated data buffer. */
        static const uint8_t empty[1];
        return c->values.data ? c->values.data + a : empty;
    }
    size_t w = (size_t)st_type_value_width(&c->field.type);
    *n = w;
    return c->values.data + w * (size_t)i;
}

/* ---- canonical JSON ---- */

int st_col_value_text(const st_column_t *c, int64_t i, st_buf_t *out) {
    if (st_col_is_null(c, i)) return ST_OK;
    const st_type_t *t = &c->field.type;
    char text[64];
    int n;
    size_t len;
    const uint8_t *p;
    switch (t->id) {
    case ST_TYPE_BOOL: return st_buf_append_str(out, st_col_get_bool(c, i) ? "true" : "false");
    case ST_TYPE_INT8:
    case ST_TYPE_INT16:
    case ST_TYPE_INT32:
    case ST_TYPE_INT64: return st_buf_printf(out, "%lld", (long long)st_col_get_i64(c, i));
    case ST_TYPE_UINT8:
    case ST_TYPE_UINT16:
    case ST_TYPE_UINT32:
    case ST_TYPE_UINT64:
        return st_buf_printf(out, "%llu", (unsigned long long)st_col_get_u64(c, i));
    case ST_TYPE_FLOAT: {
        float f;
        memcpy(&f, c->values.data + 4 * i, 4);
        n = st_format_float(f, text);
        break;
    }
    case ST_TYPE_DOUBLE: n = st_format_double(st_col_get_double(c, i), text); break;
    case ST_TYPE_STRING:
    case ST_TYPE_JSON: p = st_col_get_bytes(c, i, &len); return st_buf_append(out, p, len);
    case ST_TYPE_BINARY:
    case ST_TYPE_FIXED: {
        static const char hex[] = "0123456789abcdef";
        p = st_col_get_bytes(c, i, &len);
        int rc = st_buf_reserve(out, 2 * len);
        if (rc) return rc;
        for (size_t k = 0; k < len; k++) {
            out->data[out->len++] = (uint8_t)hex[p[k] >> 4];
            out->data[out->len++] = (uint8_t)hex[p[k] & 15];
        }
        return ST_OK;
    }
    case ST_TYPE_UUID:
        p = st_col_get_bytes(c, i, &len);
        st_uuid_format(p, text);
        n = ST_UUID_STR_LEN;
        break;
    case ST_TYPE_DECIMAL:
        p = st_col_get_bytes(c, i, &len);
        return tbl_dec_format(tbl_dec_load(p), t->scale, out);
    case ST_TYPE_DATE: n = st_format_date(st_col_get_i64(c, i), text, sizeof text); break;
    case ST_TYPE_TIME:
        n = st_format_time(st_col_get_i64(c, i), (int)t->unit, text, sizeof text);
        break;
    case ST_TYPE_TIMESTAMP:
        n = st_format_timestamp(st_col_get_i64(c, i), (int)t->unit, t->utc, text, sizeof text);
        break;
    default: return st_error(ST_EINVAL, "column '%s': unknown type", c->field.name);
    }
    if (n < 0 || (size_t)n >= sizeof text) return st_error(ST_EINVAL, "value too long");
    return st_buf_append(out, text, (size_t)n);
}

int st_col_value_json(const st_column_t *c, int64_t i, st_buf_t *out) {
    if (st_col_is_null(c, i)) return st_buf_append(out, "null", 4);
    switch (c->field.type.id) {
    case ST_TYPE_STRING:
    case ST_TYPE_JSON: {
        size_t len;
        const uint8_t *p = st_col_get_bytes(c, i, &len);
        return st_json_append_string(out, (const char *)p, len);
    }
    case ST_TYPE_BOOL:
    case ST_TYPE_INT8:
    case ST_TYPE_INT16:
    case ST_TYPE_INT32:
    case ST_TYPE_INT64:
    case ST_TYPE_UINT8:
    case ST_TYPE_UINT16:
    case ST_TYPE_UINT32:
    case ST_TYPE_UINT64: return st_col_value_text(c, i, out);
    case ST_TYPE_FLOAT:
    case ST_TYPE_DOUBLE: {
        size_t start = out->len;
        int rc = st_col_value_text(c, i, out);
        if (rc) return rc;
        /* NaN and the infinities are not JSON numbers: the corpus quotes them. */
        uint8_t first = out->data[start];
        if (first == 'N' || first == 'I' || (first == '-' && out->data[start + 1] == 'I')) {
            if ((rc = st_buf_append_byte(out, '"'))) return rc;
            memmove(out->data + start + 1, out->data + start, out->len - start - 1);
            out->data[start] = '"';
            return st_buf_append_byte(out, '"');
        }
        return ST_OK;
    }
    default: {
        /* Dates, times, decimals, UUIDs and hex bytes are JSON strings of their
         * text, which never needs escaping. */
        int rc = st_buf_append_byte(out, '"');
        if (!rc) rc = st_col_value_text(c, i, out);
        if (!rc) rc = st_buf_append_byte(out, '"');
        return rc;
    }
    }
}
