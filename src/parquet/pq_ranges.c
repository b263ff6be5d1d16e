/* Row-group statistics as value ranges: the footer's PLAIN-encoded min/max of
 * each chunk decoded into a 2-row batch of the column's strata type, so that a
 * filter can be checked against them with the same comparisons it uses on
 * data (st_pq_row_group_ranges). */
#include "parquet/pq_ranges.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t le_bytes(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Big-endian two's complement of any width (or a little-endian INT32/INT64)
 * into 16 little-endian bytes; false when it does not fit. */
static bool decimal_le16(const pq_node_t *n, const uint8_t *v, size_t len, uint8_t out[16]) {
    if (n->physical == PQ_INT32 || n->physical == PQ_INT64) {
        size_t w = n->physical == PQ_INT32 ? 4 : 8;
        if (len != w) return false;
        int64_t x = w == 4 ? (int64_t)(int32_t)(uint32_t)le_bytes(v, 4) : (int64_t)le_bytes(v, 8);
        for (int i = 0; i < 16; i++) out[i] = (uint8_t)(i < 8 ? (uint64_t)x >> (8 * i) : x < 0 ? 0xff : 0);
        return true;
    }
    if (len == 0) return false;
    uint8_t pad = (v[0] & 0x80) ? 0xff : 0x00;
    if (len > 16) {
        for (size_t i = 0; i < len - 16; i++)
            if (v[i] != pad) return false;
        if (((v[len - 16] & 0x80) ? 0xff : 0) != pad) return false;
    }
    for (size_t i = 0; i < 16; i++) out[i] = i < len ? v[len - 1 - i] : pad;
    return true;
}

/* 0 appended, 1 unusable (caller appends null), < 0 error. */
static int append_value(st_column_t *c, const pq_node_t *n, const uint8_t *v, size_t len) {
    const st_type_t *t = &c->field.type;
    int rc;
    switch (t->id) {
    case ST_TYPE_BOOL:
        if (n->physical != PQ_BOOLEAN || len < 1) return 1;
        return st_col_append_bool(c, v[0] & 1);
    case ST_TYPE_INT8:
    case ST_TYPE_INT16:
    case ST_TYPE_INT32:
    case ST_TYPE_INT64:
    case ST_TYPE_DATE:
    case ST_TYPE_TIME:
    case ST_TYPE_TIMESTAMP: {
        int64_t x;
        if (n->physical == PQ_INT32 && len == 4) x = (int32_t)(uint32_t)le_bytes(v, 4);
        else if (n->physical == PQ_INT64 && len == 8) x = (int64_t)le_bytes(v, 8);
        else return 1; /* INT96 and the like: no usable order */
        rc = st_col_append_i64(c, x);
        return rc == ST_ETYPE ? 1 : rc;
    }
    case ST_TYPE_UINT8:
    case ST_TYPE_UINT16:
    case ST_TYPE_UINT32:
    case ST_TYPE_UINT64: {
        uint64_t x;
        if (n->physical == PQ_INT32 && len == 4) x = (uint32_t)le_bytes(v, 4);
        else if (n->physical == PQ_INT64 && len == 8) x = le_bytes(v, 8);
        else return 1;
        rc = st_col_append_u64(c, x);
        return rc == ST_ETYPE ? 1 : rc;
    }
    case ST_TYPE_FLOAT:
    case ST_TYPE_DOUBLE: {
        double d;
        if (n->physical == PQ_FLOAT && len == 4) {
            uint32_t u = (uint32_t)le_bytes(v, 4);
            float f;
            memcpy(&f, &u, 4);
            d = f;
        } else if (n->physical == PQ_DOUBLE && len == 8) {
            uint64_t u = le_bytes(v, 8);
            memcpy(&d, &u, 8);
        } else {
            return 1; /* half floats */
        }
        if (isnan(d)) return 1;
        return st_col_append_double(c, d);
    }
    case ST_TYPE_STRING:
    case ST_TYPE_JSON:
        if (!st_utf8_valid(v, len)) return 1;
        return st_col_append_bytes(c, v, len);
    case ST_TYPE_BINARY: return st_col_append_bytes(c, v, len);
    case ST_TYPE_FIXED:
    case ST_TYPE_UUID:
        if ((int)len != st_type_value_width(t)) return 1;
        return st_col_append_bytes(c, v, len);
    case ST_TYPE_DECIMAL: {
        uint8_t le[16];
        if (!decimal_le16(n, v, len, le)) return 1;
        rc = st_col_append_decimal128(c, le);
        return rc == ST_ETYPE ? 1 : rc;
    }
    }
    return 1;
}

int pq_append_plain_value(st_column_t *c, const pq_node_t *n, const uint8_t *v, size_t len) {
    int rc = append_value(c, n, v, len);
    if (rc == 1) {
        st_error_clear();
        rc = st_col_append_null(c);
    }
    return rc;
}

int st_pq_row_group_ranges(st_pq_file_t *f, int rg, const int *cols, int ncols, st_batch_t **minmax,
                           int64_t *null_counts) {
    *minmax = NULL;
    if (!f || rg < 0 || rg >= f->num_row_groups || ncols < 0 || (ncols > 0 && !cols))
        return st_error(ST_EINVAL, "st_pq_row_group_ranges: bad arguments");
    const st_field_t *all;
    int nall;
    int rc = st_pq_fields(f, &all, &nall);
    if (rc) return rc;
    st_field_t *fields = calloc(ncols > 0 ? (size_t)ncols : 1, sizeof *fields);
    if (!fields) return st_error(ST_ENOMEM, "out of memory");
    for (int i = 0; i < ncols; i++) {
        if (cols[i] < 0 || cols[i] >= nall) {
            free(fields);
            return st_error(ST_EINVAL, "%s: no column %d", f->src.name, cols[i]);
        }
        fields[i] = all[cols[i]];
    }
    st_batch_t *b;
    rc = st_batch_new(fields, ncols, &b);
    free(fields);
    if (rc) return rc;
    const pq_row_group_t *g = &f->row_groups[rg];
    for (int i = 0; i < ncols && !rc; i++) {
        const pq_node_t *n = &f->nodes[f->nodes[0].children[cols[i]]];
        st_column_t *c = &b->cols[i];
        const pq_chunk_meta_t *m = n->leaf >= 0 ? &g->chunks[n->leaf] : NULL;
        const pq_stats_t *s = m && m->has_stats ? &m->stats : NULL;
        null_counts[i] = s && s->has_null_count ? s->null_count : -1;
        if (n->repetition == PQ_REQUIRED) null_counts[i] = 0;
        bool ok = s && s->has_min && s->has_max;
        rc = ok ? pq_append_plain_value(c, n, s->min, s->min_len) : st_col_append_null(c);
        if (!rc) rc = ok ? pq_append_plain_value(c, n, s->max, s->max_len) : st_col_append_null(c);
    }
    if (!rc) b->nrows = 2;
    if (rc) {
        st_batch_free(b);
        return rc;
    }
    *minmax = b;
    return 0;
}
