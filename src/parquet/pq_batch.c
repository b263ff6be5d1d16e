/* Flat Parquet columns as strata batches: the type mapping (st_pq_fields) and
 * bulk conversion of a decoded column chunk into Arrow-layout buffers
 * (st_pq_read_row_group). Values are written straight into the column
 * buffers, a whole chunk at a time, because this is the hot path of full
 * reads. */
#include "parquet/pq_decode.h"
#include "parquet/pq_output.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *fname(const st_pq_file_t *f) { return f->src.name ? f->src.name : "parquet"; }

/* Declared width of an integer column: INTEGER(n) or INT_n/UINT_n, else physical. */
static int int_bits(const pq_node_t *n) {
    int phys = n->physical == PQ_INT32 ? 32 : 64, bits = 0;
    if (n->has_logical && n->logical.id == PQ_LT_INTEGER) bits = n->logical.bit_width;
    else if (n->converted == PQ_CT_INT_8 || n->converted == PQ_CT_UINT_8) bits = 8;
    else if (n->converted == PQ_CT_INT_16 || n->converted == PQ_CT_UINT_16) bits = 16;
    else if (n->converted == PQ_CT_INT_32 || n->converted == PQ_CT_UINT_32) bits = 32;
    else if (n->converted == PQ_CT_INT_64 || n->converted == PQ_CT_UINT_64) bits = 64;
    if (bits != 8 && bits != 16 && bits != 32 && bits != 64) bits = phys;
    return bits < phys ? bits : phys;
}

static bool is_json(const pq_node_t *n) {
    if (n->has_logical && n->logical.id == PQ_LT_JSON) return true;
    return !(n->has_logical && n->logical.id == PQ_LT_STRING) && n->converted == PQ_CT_JSON;
}

/* The strata type of top-level column `col`; the name is borrowed from f. */
static int map_column(const st_pq_file_t *f, int col, st_field_t *out) {
    const pq_node_t *root = &f->nodes[0];
    if (col < 0 || col >= root->num_children)
        return st_error(ST_EINVAL, "%s: no column %d (file has %d)", fname(f), col,
                        root->num_children);
    const pq_node_t *n = &f->nodes[root->children[col]];
    const char *name = n->name ? n->name : "";
    if (n->num_children > 0 || n->physical < 0 || n->repetition == PQ_REPEATED)
        return st_error(ST_EUNSUPPORTED,
                        "%s: column %s is nested; read it with st_pq_scan_json", fname(f), name);
    memset(out, 0, sizeof *out);
    out->name = (char *)name;
    out->nullable = n->repetition == PQ_OPTIONAL;
    st_type_t *t = &out->type;
    pq_vfmt_t v;
    pq_vfmt_for_node(n, &v);
    static const st_type_id sint[] = {ST_TYPE_INT8, ST_TYPE_INT16, ST_TYPE_INT32, ST_TYPE_INT64};
    static const st_type_id usig[] = {ST_TYPE_UINT8, ST_TYPE_UINT16, ST_TYPE_UINT32,
                                      ST_TYPE_UINT64};
    int bits = n->physical == PQ_INT32 || n->physical == PQ_INT64 ? int_bits(n) : 0;
    int bi = bits == 8 ? 0 : bits == 16 ? 1 : bits == 32 ? 2 : 3;
    switch (v.kind) {
    case PQ_V_BOOL: t->id = ST_TYPE_BOOL; break;
    case PQ_V_I32:
    case PQ_V_I64: t->id = sint[bi]; break;
    case PQ_V_U32:
    case PQ_V_U64: t->id = usig[bi]; break;
    case PQ_V_FLOAT:
    case PQ_V_FLOAT16: t->id = ST_TYPE_FLOAT; break;
    case PQ_V_DOUBLE: t->id = ST_TYPE_DOUBLE; break;
    case PQ_V_STRING: t->id = is_json(n) ? ST_TYPE_JSON : ST_TYPE_STRING; break;
    case PQ_V_HEX:
        if (n->physical == PQ_FIXED_LEN_BYTE_ARRAY) {
            t->id = ST_TYPE_FIXED;
            t->width = n->type_length;
        } else {
            t->id = ST_TYPE_BINARY;
        }
        break;
    case PQ_V_UUID:
        t->id = ST_TYPE_UUID;
        t->width = 16;
        break;
    case PQ_V_DECIMAL: {
        int prec = n->has_logical && n->logical.id == PQ_LT_DECIMAL ? n->logical.precision
                                                                    : n->precision;
        if (prec > 38)
            return st_error(ST_EUNSUPPORTED, "%s: column %s: decimal precision %d exceeds 38",
                            fname(f), name, prec);
        if (prec < 1 || v.scale < 0 || v.scale > prec)
            return st_error(ST_ECORRUPT, "%s: column %s: bad decimal precision %d / scale %d",
                            fname(f), name, prec, v.scale);
        t->id = ST_TYPE_DECIMAL;
        t->precision = (uint8_t)prec;
        t->scale = (uint8_t)v.scale;
        break;
    }
    case PQ_V_DATE: t->id = ST_TYPE_DATE; break;
    case PQ_V_TIME:
        t->id = ST_TYPE_TIME;
        t->unit = (st_time_unit)v.digits;
        break;
    case PQ_V_TIMESTAMP:
        t->id = ST_TYPE_TIMESTAMP;
        t->unit = (st_time_unit)v.digits;
        t->utc = v.utc;
        break;
    case PQ_V_INT96:
        t->id = ST_TYPE_TIMESTAMP;
        t->unit = ST_UNIT_NS;
        break;
    }
    if (t->id == ST_TYPE_FIXED && t->width <= 0)
        return st_error(ST_ECORRUPT, "%s: column %s: bad fixed length %d", fname(f), name,
                        t->width);
    return 0;
}

/* The mapping is cached in f->fields, which st_pq_close frees. */
int st_pq_fields(st_pq_file_t *f, const st_field_t **fields, int *nfields) {
    if (!f || f->num_nodes < 1) return st_error(ST_EINVAL, "st_pq_fields: no file");
    if (!f->fields) {
        int n = f->nodes[0].num_children;
        st_field_t *fs = calloc(n > 0 ? (size_t)n : 1, sizeof *fs);
        if (!fs) return st_error(ST_ENOMEM, "out of memory");
        for (int i = 0; i < n; i++) {
            int rc = map_column(f, i, &fs[i]);
            if (!rc && !(fs[i].name = strdup(fs[i].name))) rc = st_error(ST_ENOMEM, "out of memory");
            if (rc) {
                fs[i].name = NULL;
                for (int j = 0; j < i; j++) free(fs[j].name);
                free(fs);
                return rc;
            }
        }
        f->fields = fs;
        f->nfields = n;
    }
    *fields = f->fields;
    *nfields = f->nfields;
    return 0;
}

/* ---- conversion ---- */

typedef struct conv {
    const st_pq_file_t *f;
    int rg, leaf;
    pq_column_data_t *c; /* its buffers may be moved into the batch */
    const pq_vfmt_t *v;
    int64_t nrows, nulls;
    const int16_t *def; /* NULL once the column is known to hold no nulls */
    int16_t max_def;
} conv_t;

static int conv_error(const conv_t *k, int code, const char *what, int64_t row) {
    char path[512];
    return st_error(code, "%s: row group %d column %s: %s (row %lld)", fname(k->f), k->rg,
                    pq_node_path(k->f, k->f->leaf_nodes[k->leaf], path, sizeof path), what,
                    (long long)row);
}

static inline bool present(const conv_t *k, int64_t row) {
    return !k->def || k->def[row] >= k->max_def;
}

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* Validity bitmap and null count from the definition levels (0 or 1 for a
 * flat optional column), in one pass. */
static int scan_levels(conv_t *k, st_column_t *col) {
    st_buf_reset(&col->validity);
    k->nulls = 0;
    if (!k->def) return 0;
    int64_t n = k->nrows;
    size_t nb = ((size_t)n + 7) / 8;
    int rc = st_buf_reserve(&col->validity, nb);
    if (rc) return rc;
    uint8_t *bits = col->validity.data;
    const int16_t *def = k->def;
    uint16_t seen = 0, max = (uint16_t)k->max_def;
    int64_t valid = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        unsigned byte = 0;
        for (int b = 0; b < 8; b++) {
            uint16_t d = (uint16_t)def[i + b];
            seen |= d;
            byte |= (unsigned)(d == max) << b;
            valid += d == max;
        }
        bits[i >> 3] = (uint8_t)byte;
    }
    if (i < n) {
        unsigned byte = 0;
        for (int b = 0; i + b < n; b++) {
            uint16_t d = (uint16_t)def[i + b];
            seen |= d;
            byte |= (unsigned)(d == max) << b;
            valid += d == max;
        }
        bits[i >> 3] = (uint8_t)byte;
    }
    if (seen & (uint16_t)~max) return conv_error(k, ST_ECORRUPT, "definition level out of range", 0);
    k->nulls = n - valid;
    if (k->nulls == 0) k->def = NULL; /* all valid: the fast paths apply */
    else col->validity.len = nb;
    return 0;
}

/* Fixed-width output of `w` bytes per row; `one` converts one present value. */
typedef int (*conv_one_fn)(const conv_t *k, const uint8_t *src, size_t n, uint8_t *dst,
                           int64_t row);

/* Values already in the output layout: the decoded buffer becomes the column
 * buffer, and nulls are opened up in place, back to front. */
static int move_fixed(conv_t *k, st_column_t *col, size_t w) {
    int64_t n = k->nrows, vi = k->c->num_values;
    st_buf_free(&col->values);
    col->values = k->c->values;
    memset(&k->c->values, 0, sizeof k->c->values);
    col->values.len = (size_t)vi * w;
    if (!k->def) return 0;
    int rc = st_buf_reserve(&col->values, (size_t)(n - vi) * w);
    if (rc) return rc;
    uint8_t *d = col->values.data;
    for (int64_t row = n - 1; row >= 0 && vi != row + 1; row--) {
        uint8_t *to = d + (size_t)row * w;
        if (present(k, row)) {
            vi--;
            if (w == 8) memcpy(to, d + (size_t)vi * 8, 8);
            else if (w == 4) memcpy(to, d + (size_t)vi * 4, 4);
            else memcpy(to, d + (size_t)vi * w, w);
        } else {
            memset(to, 0, w);
        }
    }
    col->values.len = (size_t)n * w;
    return 0;
}

static int fill_fixed(conv_t *k, st_column_t *col, int w, conv_one_fn one) {
    size_t sw = (size_t)k->v->width;
    if (!one && (size_t)w == sw && k->v->physical != PQ_BYTE_ARRAY) return move_fixed(k, col, sw);
    st_buf_reset(&col->values);
    int rc = st_buf_reserve(&col->values, (size_t)k->nrows * (size_t)w);
    if (rc) return rc;
    uint8_t *dst = col->values.data;
    const uint8_t *src = k->c->values.data;
    int64_t vi = 0;
    for (int64_t row = 0; row < k->nrows; row++, dst += w) {
        if (!present(k, row)) {
            memset(dst, 0, (size_t)w);
            continue;
        }
        const uint8_t *s;
        size_t n = sw;
        if (k->v->physical == PQ_BYTE_ARRAY) {
            s = src + k->c->offsets[vi];
            n = k->c->offsets[vi + 1] - k->c->offsets[vi];
        } else {
            s = src + (size_t)vi * sw;
        }
        vi++;
        if (!one) memcpy(dst, s, (size_t)w); /* narrowing LE integers keeps the low bytes */
        else if ((rc = one(k, s, n, dst, row))) return rc;
    }
    col->values.len = (size_t)k->nrows * (size_t)w;
    return 0;
}

static int one_half(const conv_t *k, const uint8_t *s, size_t n, uint8_t *d, int64_t row) {
    (void)k, (void)n, (void)row;
    float f = pq_half_to_float((uint16_t)(s[0] | s[1] << 8));
    memcpy(d, &f, 4);
    return 0;
}

static int one_int96(const conv_t *k, const uint8_t *s, size_t n, uint8_t *d, int64_t row) {
    (void)n;
    int64_t nanos = (int64_t)rd64(s), days = (int64_t)(int32_t)rd32(s + 8) - 2440588, v;
    if (__builtin_mul_overflow(days, INT64_C(86400000000000), &v) ||
        __builtin_add_overflow(v, nanos, &v))
        return conv_error(k, ST_ETYPE, "INT96 value outside the timestamp(ns) range", row);
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++) d[i] = (uint8_t)(u >> (8 * i));
    return 0;
}

static int one_decimal(const conv_t *k, const uint8_t *s, size_t w, uint8_t *d, int64_t row) {
    if (k->v->physical == PQ_INT32 || k->v->physical == PQ_INT64) {
        int64_t x = k->v->physical == PQ_INT32 ? (int32_t)rd32(s) : (int64_t)rd64(s);
        for (int i = 0; i < 16; i++)
            d[i] = (uint8_t)(i < 8 ? (uint64_t)x >> (8 * i) : x < 0 ? 0xff : 0);
        return 0;
    }
    /* FIXED_LEN_BYTE_ARRAY / BYTE_ARRAY: big-endian two's complement,
     * sign-extended or checked to fit in 16 bytes. */
    uint8_t pad = w > 0 && (s[0] & 0x80) ? 0xff : 0x00;
    if (w > 16) {
        for (size_t i = 0; i < w - 16; i++)
            if (s[i] != pad) return conv_error(k, ST_ETYPE, "decimal wider than 128 bits", row);
        if (((s[w - 16] & 0x80) ? 0xff : 0) != pad)
            return conv_error(k, ST_ETYPE, "decimal wider than 128 bits", row);
    }
    for (size_t i = 0; i < 16; i++) d[i] = i < w ? s[w - 1 - i] : pad;
    return 0;
}

static int fill_bool(const conv_t *k, st_column_t *col) {
    size_t nb = ((size_t)k->nrows + 7) / 8;
    st_buf_reset(&col->values);
    int rc = st_buf_append_zeros(&col->values, nb);
    if (rc) return rc;
    const uint8_t *src = k->c->values.data;
    int64_t vi = 0;
    if (!k->def) {
        /* Eight 0/1 bytes to eight bits at once: the multiply gathers byte i's
         * low bit into bit i of the top byte. */
        uint8_t *bits = col->values.data;
        for (; vi + 8 <= k->nrows; vi += 8) {
            uint64_t x;
            memcpy(&x, src + vi, 8);
            x &= UINT64_C(0x0101010101010101);
            bits[vi >> 3] = (uint8_t)((x * UINT64_C(0x0102040810204080)) >> 56);
        }
    }
    for (int64_t row = vi; row < k->nrows; row++)
        if (present(k, row) && src[vi++]) col->values.data[row >> 3] |= (uint8_t)(1u << (row & 7));
    return 0;
}

static bool all_ascii(const uint8_t *p, size_t n) {
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        acc |= w;
    }
    for (; i < n; i++) acc |= p[i];
    return !(acc & UINT64_C(0x8080808080808080));
}

/* BYTE_ARRAY as STRING / JSON / BINARY: the decoded data and end offsets are
 * already Arrow's layout, so both buffers move into the column; nulls repeat
 * the previous offset, filled in place back to front. */
static int move_varlen(conv_t *k, st_column_t *col) {
    pq_column_data_t *c = k->c;
    int64_t n = k->nrows, nv = c->num_values;
    size_t total = c->offsets[nv];
    uint32_t *o = c->offsets;
    if (k->def) {
        o = realloc(c->offsets, ((size_t)n + 1) * sizeof *o);
        if (!o) return st_error(ST_ENOMEM, "out of memory (%lld offsets)", (long long)n + 1);
        int64_t j = nv;
        for (int64_t row = n - 1; row >= 0 && j != row + 1; row--) {
            o[row + 1] = o[j];
            if (present(k, row)) j--;
        }
    }
    c->offsets = NULL;
    st_buf_free(&col->offsets);
    col->offsets.data = (uint8_t *)o;
    col->offsets.len = col->offsets.cap = ((size_t)n + 1) * 4;
    st_buf_free(&col->values);
    col->values = c->values;
    memset(&c->values, 0, sizeof c->values);
    col->values.len = total;
    return 0;
}

static int fill_varlen(conv_t *k, st_column_t *col, bool text) {
    const pq_column_data_t *c = k->c;
    bool flba = k->v->physical != PQ_BYTE_ARRAY;
    bool none = c->num_values == 0;
    size_t w = (size_t)k->v->width;
    uint64_t base = flba || none ? 0 : c->offsets[0];
    uint64_t total = flba   ? (uint64_t)c->num_values * w
                     : none ? 0
                            : c->offsets[c->num_values] - base;
    if (total > INT32_MAX)
        return conv_error(k, ST_EUNSUPPORTED, "more than 2 GiB of values in one row group",
                          k->nrows);
    const uint8_t *data = none ? NULL : c->values.data + base;
    if (text && total > 0 && !all_ascii(data, (size_t)total)) {
        for (int64_t i = 0; i < c->num_values; i++) {
            const uint8_t *p = flba ? data + (size_t)i * w : c->values.data + c->offsets[i];
            size_t n = flba ? w : c->offsets[i + 1] - c->offsets[i];
            if (!st_utf8_valid(p, n)) return conv_error(k, ST_ECORRUPT, "string is not UTF-8", i);
        }
    }
    if (!flba && !none && base == 0) return move_varlen(k, col);
    st_buf_reset(&col->values);
    st_buf_reset(&col->offsets);
    int rc = total ? st_buf_append(&col->values, data, (size_t)total) : 0;
    if (!rc) rc = st_buf_reserve(&col->offsets, ((size_t)k->nrows + 1) * 4);
    if (rc) return rc;
    int32_t *off = (int32_t *)(void *)col->offsets.data;
    int64_t vi = 0;
    off[0] = 0;
    for (int64_t row = 0; row < k->nrows; row++) {
        if (present(k, row)) {
            vi++;
            off[row + 1] = (int32_t)(flba ? (uint64_t)vi * w : c->offsets[vi] - base);
        } else {
            off[row + 1] = off[row];
        }
    }
    col->offsets.len = ((size_t)k->nrows + 1) * 4;
    return 0;
}

static int check_values(const conv_t *k) {
    const pq_column_data_t *c = k->c;
    int64_t n = c->num_levels;
    if (n != k->nrows)
        return conv_error(k, ST_ECORRUPT, "level count differs from the row group's row count", n);
    if (c->num_values != n - k->nulls)
        return conv_error(k, ST_ECORRUPT, "value count differs from the definition levels", n);
    if (k->v->physical == PQ_BYTE_ARRAY) {
        if (c->num_values > 0 && !c->offsets)
            return conv_error(k, ST_ECORRUPT, "missing value offsets", 0);
        uint32_t prev = c->offsets ? c->offsets[0] : 0;
        for (int64_t i = 1; c->offsets && i <= c->num_values; i++) {
            if (c->offsets[i] < prev) return conv_error(k, ST_ECORRUPT, "value offsets go backwards", i);
            prev = c->offsets[i];
        }
        if (prev > c->values.len) return conv_error(k, ST_ECORRUPT, "value offsets past the data", n);
    } else if (k->v->width <= 0 || (uint64_t)c->num_values * (uint64_t)k->v->width > c->values.len) {
        return conv_error(k, ST_ECORRUPT, "fewer value bytes than values", n);
    }
    return 0;
}

static int fill_column(conv_t *k, st_column_t *col) {
    if (k->c->num_levels != k->nrows)
        return conv_error(k, ST_ECORRUPT, "level count differs from the row group's row count",
                          k->c->num_levels);
    int rc = scan_levels(k, col);
    if (!rc) rc = check_values(k);
    if (rc) return rc;
    const st_type_t *t = &col->field.type;
    switch (t->id) {
    case ST_TYPE_BOOL: rc = fill_bool(k, col); break;
    case ST_TYPE_STRING:
    case ST_TYPE_JSON: rc = fill_varlen(k, col, true); break;
    case ST_TYPE_BINARY: rc = fill_varlen(k, col, false); break;
    case ST_TYPE_FLOAT:
        rc = fill_fixed(k, col, 4, k->v->kind == PQ_V_FLOAT16 ? one_half : NULL);
        break;
    case ST_TYPE_DECIMAL: rc = fill_fixed(k, col, 16, one_decimal); break;
    case ST_TYPE_TIMESTAMP:
        rc = fill_fixed(k, col, 8, k->v->kind == PQ_V_INT96 ? one_int96 : NULL);
        break;
    default: {
        int w = st_type_value_width(t);
        if (w <= 0 || w > k->v->width)
            return conv_error(k, ST_EUNSUPPORTED, "no conversion to the column type", 0);
        rc = fill_fixed(k, col, w, NULL);
    }
    }
    if (rc) return rc;
    col->length = k->nrows;
    col->null_count = k->nulls;
    return 0;
}

/* Cuts a decoded flat column, which covers whole pages from cd->first_row,
 * down to rows [lo, hi): leading levels and their values are dropped,
 * trailing ones forgotten. */
static int trim_rows(const st_pq_file_t *f, int rg, pq_column_data_t *cd, int64_t lo, int64_t hi) {
    int64_t skip = lo - cd->first_row, keep = hi - lo;
    if (keep == 0) { /* no page was needed */
        cd->num_levels = cd->num_values = 0;
        cd->values.len = 0;
        cd->first_row = lo;
        return 0;
    }
    if (skip < 0 || keep < 0 || skip + keep > cd->num_levels)
        return st_error(ST_ECORRUPT, "%s: row group %d column %s: pages do not cover rows %lld..%lld",
                        fname(f), rg, pq_leaf_path(f, cd->leaf), (long long)lo, (long long)hi);
    if (skip == 0 && keep == cd->num_levels) return 0;
    int64_t vskip = skip, vkeep = keep;
    if (cd->def) {
        vskip = vkeep = 0;
        for (int64_t i = 0; i < skip; i++) vskip += cd->def[i] == cd->max_def;
        for (int64_t i = skip; i < skip + keep; i++) vkeep += cd->def[i] == cd->max_def;
        memmove(cd->def, cd->def + skip, (size_t)keep * sizeof *cd->def);
    }
    if (vskip + vkeep > cd->num_values)
        return st_error(ST_ECORRUPT, "%s: row group %d column %s: fewer values than levels", fname(f), rg,
                        pq_leaf_path(f, cd->leaf));
    if (cd->physical == PQ_BYTE_ARRAY) {
        if (cd->offsets) memmove(cd->offsets, cd->offsets + vskip, ((size_t)vkeep + 1) * sizeof *cd->offsets);
    } else {
        size_t w = (size_t)pq_physical_width(cd->physical, cd->type_length);
        /* No values at all (every kept row null): the buffer may be NULL. */
        if (vkeep > 0) memmove(cd->values.data, cd->values.data + (size_t)vskip * w, (size_t)vkeep * w);
        cd->values.len = (size_t)vkeep * w;
    }
    cd->num_levels = keep;
    cd->num_values = vkeep;
    cd->first_row = lo;
    return 0;
}

/* One st_pq_read_rows call: columns are independent, so each can decode on
 * its own thread into its own column of the batch. */
typedef struct read_job {
    st_pq_file_t *f;
    int rg;
    const int *columns;
    int ncolumns;
    int64_t row_lo, row_hi;
    st_batch_t *b;
    int next;    /* next column to take (atomic) */
    int *status; /* per column, parallel reads only */
    char **msg;
} read_job_t;

/* Below this many rows a row group decodes faster than threads start. */
#define PARALLEL_MIN_ROWS 16384

static int read_one(read_job_t *j, int i) {
    st_pq_file_t *f = j->f;
    const pq_node_t *n = &f->nodes[f->nodes[0].children[j->columns ? j->columns[i] : i]];
    pq_column_data_t cd;
    memset(&cd, 0, sizeof cd);
    int rc;
    if (n->leaf < 0) rc = st_error(ST_EUNSUPPORTED, "%s: column %s is nested", fname(f), n->name);
    else if (j->row_lo == 0 && j->row_hi == f->row_groups[j->rg].num_rows) rc = pq_read_column(f, j->rg, n->leaf, &cd);
    else if (!(rc = pq_read_column_rows(f, j->rg, n->leaf, j->row_lo, j->row_hi, &cd)))
        rc = trim_rows(f, j->rg, &cd, j->row_lo, j->row_hi);
    if (!rc) {
        pq_vfmt_t v;
        pq_vfmt_for_node(n, &v);
        int16_t md = n->repetition == PQ_OPTIONAL ? 1 : 0;
        conv_t k = {f, j->rg, n->leaf, &cd, &v, j->row_hi - j->row_lo, 0, md > 0 ? cd.def : NULL, md};
        if (cd.max_def != md || cd.max_rep != 0 || (md > 0 && !cd.def && cd.num_levels > 0))
            rc = conv_error(&k, ST_ECORRUPT, "levels do not match the schema", 0);
        else
            rc = fill_column(&k, &j->b->cols[i]);
    }
    pq_column_data_free(&cd);
    return rc;
}

static void *read_worker(void *arg) {
    read_job_t *j = arg;
    for (;;) {
        int i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= j->ncolumns) break;
        int rc = read_one(j, i);
        if (rc) {
            j->status[i] = rc;
            j->msg[i] = strdup(st_errmsg()); /* the message slot is per thread */
        }
    }
    return NULL;
}

static int read_parallel(read_job_t *j, int threads) {
    pthread_t tid[ST_PQ_MAX_THREADS];
    j->status = calloc((size_t)j->ncolumns, sizeof *j->status);
    j->msg = calloc((size_t)j->ncolumns, sizeof *j->msg);
    int rc = j->status && j->msg ? ST_OK : st_error(ST_ENOMEM, "out of memory");
    int started = 0;
    if (!rc) {
        __atomic_store_n(&j->f->parallel, true, __ATOMIC_RELEASE);
        /* A thread that cannot start leaves its share to the others. */
        while (started < threads - 1 && started < ST_PQ_MAX_THREADS &&
               pthread_create(&tid[started], NULL, read_worker, j) == 0)
            started++;
        read_worker(j);
        for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
        __atomic_store_n(&j->f->parallel, false, __ATOMIC_RELEASE);
        for (int i = 0; i < j->ncolumns && !rc; i++)
            if (j->status[i]) rc = st_error(j->status[i], "%s", j->msg[i] ? j->msg[i] : "column read failed");
    }
    for (int i = 0; j->msg && i < j->ncolumns; i++) free(j->msg[i]);
    free(j->msg);
    free(j->status);
    return rc;
}

int st_pq_set_threads(st_pq_file_t *f, int threads) {
    if (!f) return st_error(ST_EINVAL, "st_pq_set_threads: no file");
    if (threads < 0) return st_error(ST_EINVAL, "%s: negative thread count %d", fname(f), threads);
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > 0 ? (int)cpus : 1;
    }
    f->threads = threads < ST_PQ_MAX_THREADS ? threads : ST_PQ_MAX_THREADS;
    return ST_OK;
}

int st_pq_read_row_group(st_pq_file_t *f, int rg, const int *columns, int ncolumns,
                         st_batch_t **out) {
    if (!f || f->num_nodes < 1) return st_error(ST_EINVAL, "st_pq_read_row_group: no file");
    if (rg < 0 || rg >= f->num_row_groups)
        return st_error(ST_EINVAL, "%s: no row group %d (file has %d)", fname(f), rg,
                        f->num_row_groups);
    return st_pq_read_rows(f, rg, columns, ncolumns, 0, f->row_groups[rg].num_rows, out);
}

int st_pq_read_rows(st_pq_file_t *f, int rg, const int *columns, int ncolumns, int64_t row_lo,
                    int64_t row_hi, st_batch_t **out) {
    *out = NULL;
    if (!f || f->num_nodes < 1) return st_error(ST_EINVAL, "st_pq_read_rows: no file");
    if (rg < 0 || rg >= f->num_row_groups)
        return st_error(ST_EINVAL, "%s: no row group %d (file has %d)", fname(f), rg,
                        f->num_row_groups);
    if (row_lo < 0 || row_hi < row_lo || row_hi > f->row_groups[rg].num_rows)
        return st_error(ST_EINVAL, "%s: row group %d has no rows %lld..%lld (it has %lld)", fname(f), rg,
                        (long long)row_lo, (long long)row_hi, (long long)f->row_groups[rg].num_rows);
    int ntop = f->nodes[0].num_children;
    if (!columns) ncolumns = ntop;
    if (ncolumns < 0) return st_error(ST_EINVAL, "%s: negative column count", fname(f));
    st_field_t *fields = calloc(ncolumns > 0 ? (size_t)ncolumns : 1, sizeof *fields);
    if (!fields) return st_error(ST_ENOMEM, "out of memory");
    int rc = 0;
    for (int i = 0; i < ncolumns && !rc; i++) rc = map_column(f, columns ? columns[i] : i, &fields[i]);
    st_batch_t *b = NULL;
    if (!rc) rc = st_batch_new(fields, ncolumns, &b);
    free(fields);
    if (rc) return rc;
    read_job_t job = {f, rg, columns, ncolumns, row_lo, row_hi, b, 0, NULL, NULL};
    int threads = f->threads < ncolumns ? f->threads : ncolumns;
    if (threads > 1 && row_hi - row_lo >= PARALLEL_MIN_ROWS) rc = read_parallel(&job, threads);
    else
        for (int i = 0; i < ncolumns && !rc; i++) rc = read_one(&job, i);
    if (rc) {
        st_batch_free(b);
        return rc;
    }
    b->nrows = row_hi - row_lo;
    *out = b;
    return 0;
}
