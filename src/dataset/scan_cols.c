/* Column surgery for the scan: selected rows copied into output columns a
 * buffer at a time (widening int32 -> int64 and float -> double on the way),
 * partition values repeated, missing columns as nulls. Every function fills
 * an empty column, so the "no bitmap means all valid" rule is kept simply. */
#include "dataset/scan_internal.h"

#include <stdlib.h>
#include <string.h>

static inline bool bit(const uint8_t *b, int64_t i) { return (b[i >> 3] >> (i & 7)) & 1; }

static bool is_int(st_type_id id) { return id >= ST_TYPE_INT8 && id <= ST_TYPE_UINT64; }
static bool is_signed(st_type_id id) { return id >= ST_TYPE_INT8 && id <= ST_TYPE_INT64; }

bool ds_type_widens(const st_type_t *f, const st_type_t *t) {
    if (f->id == t->id) {
        switch (f->id) {
        case ST_TYPE_FIXED: return f->width == t->width;
        case ST_TYPE_TIME: return f->unit == t->unit;
        case ST_TYPE_TIMESTAMP: return f->unit == t->unit && f->utc == t->utc;
        case ST_TYPE_DECIMAL: return f->scale == t->scale && f->precision <= t->precision;
        default: return true;
        }
    }
    if (is_int(f->id) && is_int(t->id))
        return is_signed(f->id) == is_signed(t->id) && f->id < t->id;
    return f->id == ST_TYPE_FLOAT && t->id == ST_TYPE_DOUBLE;
}

bool ds_type_unify(const st_type_t *a, const st_type_t *b, st_type_t *out) {
    if (ds_type_widens(a, b)) *out = *b;
    else if (ds_type_widens(b, a)) *out = *a;
    else return false;
    return true;
}

/* Validity of the output from src's bitmap; stays empty when nothing is null. */
static int take_validity(st_column_t *dst, const st_column_t *src, const int32_t *idx, int64_t n) {
    if (src->null_count == 0 || src->validity.len == 0) return ST_OK;
    size_t nb = ((size_t)n + 7) / 8;
    int rc = st_buf_append_zeros(&dst->validity, nb);
    if (rc) return rc;
    uint8_t *d = dst->validity.data;
    const uint8_t *s = src->validity.data;
    int64_t nulls = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t r = idx ? idx[i] : i;
        if (bit(s, r)) d[i >> 3] |= (uint8_t)(1u << (i & 7));
        else nulls++;
    }
    dst->null_count = nulls;
    if (!nulls) dst->validity.len = 0;
    return ST_OK;
}

static int take_fixed(st_column_t *dst, const st_column_t *src, const int32_t *idx, int64_t n, size_t w) {
    if (!idx) return st_buf_append(&dst->values, src->values.data, (size_t)n * w);
    int rc = st_buf_reserve(&dst->values, (size_t)n * w);
    if (rc) return rc;
    uint8_t *d = dst->values.data;
    const uint8_t *s = src->values.data;
    if (w == 8)
        for (int64_t i = 0; i < n; i++) memcpy(d + 8 * i, s + 8 * (size_t)idx[i], 8);
    else if (w == 4)
        for (int64_t i = 0; i < n; i++) memcpy(d + 4 * i, s + 4 * (size_t)idx[i], 4);
    else
        for (int64_t i = 0; i < n; i++) memcpy(d + w * (size_t)i, s + w * (size_t)idx[i], w);
    dst->values.len = (size_t)n * w;
    return ST_OK;
}

static int take_bool(st_column_t *dst, const st_column_t *src, const int32_t *idx, int64_t n) {
    int rc = st_buf_append_zeros(&dst->values, ((size_t)n + 7) / 8);
    if (rc) return rc;
    for (int64_t i = 0; i < n; i++)
        if (bit(src->values.data, idx ? idx[i] : i)) dst->values.data[i >> 3] |= (uint8_t)(1u << (i & 7));
    return ST_OK;
}

static int take_varlen(st_column_t *dst, const st_column_t *src, const int32_t *idx, int64_t n) {
    const int32_t *so = (const int32_t *)(const void *)src->offsets.data;
    st_buf_reset(&dst->offsets);
    int rc = st_buf_reserve(&dst->offsets, ((size_t)n + 1) * 4);
    if (rc) return rc;
    int32_t *o = (int32_t *)(void *)dst->offsets.data;
    if (!idx) {
        int32_t base = so[0];
        for (int64_t i = 0; i <= n; i++) o[i] = so[i] - base;
        dst->offsets.len = ((size_t)n + 1) * 4;
        return st_buf_append(&dst->values, src->values.data + base, (size_t)(so[n] - base));
    }
    uint64_t total = 0;
    for (int64_t i = 0; i < n; i++) total += (uint64_t)(so[idx[i] + 1] - so[idx[i]]);
    if (total > INT32_MAX) return st_error(ST_ENOMEM, "column '%s': more than 2 GiB in one batch", dst->field.name);
    if ((rc = st_buf_reserve(&dst->values, (size_t)total))) return rc;
    uint8_t *d = dst->values.data;
    int32_t pos = 0;
    o[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t a = so[idx[i]], l = so[idx[i] + 1] - a;
        if (l) memcpy(d + pos, src->values.data + a, (size_t)l);
        pos += l;
        o[i + 1] = pos;
    }
    dst->values.len = (size_t)total;
    dst->offsets.len = ((size_t)n + 1) * 4;
    return ST_OK;
}

/* Integer and float widening, one value at a time into the wider layout. */
static int take_widen(st_column_t *dst, const st_column_t *src, const int32_t *idx, int64_t n) {
    size_t w = (size_t)st_type_value_width(&dst->field.type);
    int rc = st_buf_reserve(&dst->values, (size_t)n * w);
    if (rc) return rc;
    uint8_t *d = dst->values.data;
    st_type_id to = dst->field.type.id;
    for (int64_t i = 0; i < n; i++) {
        int64_t r = idx ? idx[i] : i;
        uint8_t *p = d + (size_t)i * w;
        if (to == ST_TYPE_DOUBLE) {
            double v = st_col_get_double(src, r);
            memcpy(p, &v, 8);
        } else if (is_signed(to)) {
            int64_t v = st_col_get_i64(src, r);
            if (w == 8) memcpy(p, &v, 8);
            else if (w == 4) { int32_t x = (int32_t)v; memcpy(p, &x, 4); }
            else { int16_t x = (int16_t)v; memcpy(p, &x, 2); }
        } else {
            uint64_t v = st_col_get_u64(src, r);
            if (w == 8) memcpy(p, &v, 8);
            else if (w == 4) { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); }
            else { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); }
        }
    }
    dst->values.len = (size_t)n * w;
    return ST_OK;
}

int ds_col_take(st_column_t *dst, const st_column_t *src, const int32_t *idx, int64_t n) {
    if (dst->length != 0) return st_error(ST_EINVAL, "ds_col_take: column '%s' is not empty", dst->field.name);
    const st_type_t *t = &dst->field.type;
    int rc;
    if (t->id != src->field.type.id) rc = take_widen(dst, src, idx, n);
    else if (t->id == ST_TYPE_BOOL) rc = take_bool(dst, src, idx, n);
    else if (st_type_is_varlen(t)) rc = take_varlen(dst, src, idx, n);
    else rc = take_fixed(dst, src, idx, n, (size_t)st_type_value_width(t));
    if (!rc) rc = take_validity(dst, src, idx, n);
    if (rc) return rc;
    dst->length = n;
    return ST_OK;
}

int ds_col_nulls(st_column_t *dst, int64_t n) {
    if (dst->length != 0) return st_error(ST_EINVAL, "ds_col_nulls: column '%s' is not empty", dst->field.name);
    const st_type_t *t = &dst->field.type;
    int rc = st_buf_append_zeros(&dst->validity, ((size_t)n + 7) / 8);
    if (!rc) {
        if (t->id == ST_TYPE_BOOL) rc = st_buf_append_zeros(&dst->values, ((size_t)n + 7) / 8);
        else if (st_type_is_varlen(t)) rc = st_buf_append_zeros(&dst->offsets, (size_t)n * 4);
        else rc = st_buf_append_zeros(&dst->values, (size_t)n * (size_t)st_type_value_width(t));
    }
    if (rc) return rc;
    if (n == 0) dst->validity.len = 0;
    dst->length = n;
    dst->null_count = n;
    return ST_OK;
}

int ds_col_repeat(st_column_t *dst, const st_column_t *src, int64_t row, int64_t n) {
    if (st_col_is_null(src, row)) return ds_col_nulls(dst, n);
    if (dst->length != 0) return st_error(ST_EINVAL, "ds_col_repeat: column '%s' is not empty", dst->field.name);
    /* One converted value, then copies of its bytes. */
    st_column_t one;
    memset(&one, 0, sizeof one);
    one.field = dst->field;
    int32_t zero = 0;
    int rc = st_type_is_varlen(&dst->field.type) ? st_buf_append(&one.offsets, &zero, 4) : ST_OK;
    int32_t r = (int32_t)row;
    if (!rc) rc = ds_col_take(&one, src, &r, 1);
    const st_type_t *t = &dst->field.type;
    if (!rc && t->id == ST_TYPE_BOOL) {
        rc = st_buf_append_zeros(&dst->values, ((size_t)n + 7) / 8);
        if (!rc && bit(one.values.data, 0)) memset(dst->values.data, 0xff, dst->values.len);
    } else if (!rc && st_type_is_varlen(t)) {
        size_t l = one.values.len;
        if ((uint64_t)l * (uint64_t)n > INT32_MAX) rc = st_error(ST_ENOMEM, "column '%s': batch too large", t->id ? dst->field.name : "");
        if (!rc) rc = st_buf_reserve(&dst->values, l * (size_t)n);
        if (!rc) rc = st_buf_reserve(&dst->offsets, (size_t)n * 4);
        if (!rc) {
            int32_t *o = (int32_t *)(void *)dst->offsets.data;
            for (int64_t i = 0; i < n; i++) {
                if (l) memcpy(dst->values.data + l * (size_t)i, one.values.data, l);
                o[i + 1] = (int32_t)(l * (size_t)(i + 1));
            }
            dst->values.len = l * (size_t)n;
            dst->offsets.len = ((size_t)n + 1) * 4;
        }
    } else if (!rc) {
        size_t w = (size_t)st_type_value_width(t);
        rc = st_buf_reserve(&dst->values, w * (size_t)n);
        if (!rc) {
            for (int64_t i = 0; i < n; i++) memcpy(dst->values.data + w * (size_t)i, one.values.data, w);
            dst->values.len = w * (size_t)n;
        }
    }
    st_buf_free(&one.values);
    st_buf_free(&one.offsets);
    st_buf_free(&one.validity);
    if (rc) return rc;
    dst->length = n;
    return ST_OK;
}

void ds_col_move(st_column_t *dst, st_column_t *src) {
    st_buf_free(&dst->values);
    st_buf_free(&dst->offsets);
    st_buf_free(&dst->validity);
    dst->values = src->values;
    dst->offsets = src->offsets;
    dst->validity = src->validity;
    dst->length = src->length;
    dst->null_count = src->null_count;
    memset(&src->values, 0, sizeof src->values);
    memset(&src->offsets, 0, sizeof src->offsets);
    memset(&src->validity, 0, sizeof src->validity);
    src->length = src->null_count = 0;
}
