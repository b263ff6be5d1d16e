/* Ordering of values (st_col_compare) and pruning (st_expr_may_match): can any
 * row whose values lie within known ranges satisfy a filter? Pruning must never
 * drop a row the filter would keep, so every unknown answers "may match". */
#include "expr_internal.h"

#include <stdlib.h>

ds_cls_t ds_type_class(const st_type_t *t) {
    switch (t->id) {
    case ST_TYPE_BOOL: return DS_CLS_BOOL;
    case ST_TYPE_INT8:
    case ST_TYPE_INT16:
    case ST_TYPE_INT32:
    case ST_TYPE_INT64:
    case ST_TYPE_UINT8:
    case ST_TYPE_UINT16:
    case ST_TYPE_UINT32:
    case ST_TYPE_UINT64: return DS_CLS_INT;
    case ST_TYPE_FLOAT:
    case ST_TYPE_DOUBLE: return DS_CLS_FLOAT;
    case ST_TYPE_DECIMAL: return DS_CLS_DECIMAL;
    case ST_TYPE_DATE:
    case ST_TYPE_TIME:
    case ST_TYPE_TIMESTAMP: return DS_CLS_TEMPORAL;
    case ST_TYPE_STRING:
    case ST_TYPE_JSON:
    case ST_TYPE_BINARY: return DS_CLS_BYTES;
    case ST_TYPE_FIXED:
    case ST_TYPE_UUID: return DS_CLS_FIXED;
    }
    return DS_CLS_NONE;
}

bool ds_comparable(const st_type_t *a, const st_type_t *b) {
    ds_cls_t ca = ds_type_class(a);
    if (ca == DS_CLS_NONE || ca != ds_type_class(b)) return false;
    if (ca == DS_CLS_TEMPORAL)
        return a->id == b->id && (a->id == ST_TYPE_DATE || a->unit == b->unit);
    if (ca == DS_CLS_FIXED) return st_type_value_width(a) == st_type_value_width(b);
    return true;
}

__int128 ds_int_at(const st_column_t *c, int64_t i) {
    if (c->field.type.id >= ST_TYPE_UINT8 && c->field.type.id <= ST_TYPE_UINT64)
        return (__int128)st_col_get_u64(c, i);
    return (__int128)st_col_get_i64(c, i);
}

__int128 ds_dec_at(const st_column_t *c, int64_t i) {
    size_t n;
    const uint8_t *p = st_col_get_bytes(c, i, &n);
    unsigned __int128 u = 0;
    for (int k = 15; k >= 0; k--)
        u = (u << 8) | p[k];
    return (__int128)u;
}

int ds_dec_cmp(__int128 a, int sa, __int128 b, int sb) {
    if (sa != sb) {
        /* Bring the smaller scale up; a value that would overflow 128 bits is
         * beyond anything the other side can hold, so its sign decides. */
        bool swap = sa > sb;
        __int128 *lo = swap ? &b : &a;
        int diff = swap ? sa - sb : sb - sa;
        const __int128 max = (__int128)(~(unsigned __int128)0 >> 1);
        for (int k = 0; k < diff; k++) {
            if (*lo > max / 10 || *lo < -(max / 10)) {
                int sign = *lo > 0 ? 1 : -1;
                return swap ? -sign : sign;
            }
            *lo *= 10;
        }
    }
    return (a > b) - (a < b);
}

int st_col_compare(const st_column_t *a, int64_t i, const st_column_t *b, int64_t j) {
    bool na = st_col_is_null(a, i), nb = st_col_is_null(b, j);
    if (na || nb) return na && nb ? 0 : na ? -1 : 1;
    const st_type_t *ta = &a->field.type, *tb = &b->field.type;
    size_t la, lb;
    const uint8_t *pa, *pb;
    switch (ds_type_class(ta)) {
    case DS_CLS_BOOL: {
        int x = st_col_get_bool(a, i), y = st_col_get_bool(b, j);
        return (x > y) - (x < y);
    }
    case DS_CLS_INT: {
        __int128 x = ds_int_at(a, i), y = ds_int_at(b, j);
        return (x > y) - (x < y);
    }
    case DS_CLS_FLOAT: return ds_double_cmp(st_col_get_double(a, i), st_col_get_double(b, j));
    case DS_CLS_DECIMAL: return ds_dec_cmp(ds_dec_at(a, i), ta->scale, ds_dec_at(b, j), tb->scale);
    case DS_CLS_TEMPORAL: {
        int64_t x = st_col_get_i64(a, i), y = st_col_get_i64(b, j);
        return (x > y) - (x < y);
    }
    case DS_CLS_BYTES:
    case DS_CLS_FIXED:
        pa = st_col_get_bytes(a, i, &la);
        pb = st_col_get_bytes(b, j, &lb);
        return ds_bytes_cmp(pa, la, pb, lb);
    case DS_CLS_NONE: break;
    }
    return 0;
}

/* ---- pruning ---- */

static st_cmp_op_t invert(st_cmp_op_t op) {
    switch (op) {
    case ST_CMP_EQ: return ST_CMP_NE;
    case ST_CMP_NE: return ST_CMP_EQ;
    case ST_CMP_LT: return ST_CMP_GE;
    case ST_CMP_LE: return ST_CMP_GT;
    case ST_CMP_GT: return ST_CMP_LE;
    case ST_CMP_GE: return ST_CMP_LT;
    }
    return op;
}

/* What the ranges say about one column. */
typedef struct {
    const st_column_t *mm; /* min at row 0, max at row 1; NULL when unknown */
    bool has_min, has_max;
    int64_t nulls, rows; /* -1 when unknown */
} col_range_t;

static col_range_t range_of(const st_expr_t *e, const st_ranges_t *r) {
    col_range_t cr = {NULL, false, false, -1, r ? r->rows : -1};
    if (!r || e->column_index < 0) return cr;
    if (r->null_counts) cr.nulls = r->null_counts[e->column_index];
    const st_batch_t *b = r->minmax;
    if (!b || e->column_index >= b->ncols || b->nrows < 2 || !e->values) return cr;
    const st_column_t *c = &b->cols[e->column_index];
    if (c->length < 2 || !ds_comparable(&c->field.type, &e->values->field.type)) return cr;
    cr.mm = c;
    cr.has_min = !st_col_is_null(c, 0);
    cr.has_max = !st_col_is_null(c, 1);
    return cr;
}

/* True unless the range proves no non-null value v satisfies `v op lit`. */
static bool cmp_may(const col_range_t *cr, st_cmp_op_t op, const st_column_t *lit, int64_t k) {
    int lo = cr->has_min ? st_col_compare(cr->mm, 0, lit, k) : 0;
    int hi = cr->has_max ? st_col_compare(cr->mm, 1, lit, k) : 0;
    switch (op) {
    case ST_CMP_EQ: return !((cr->has_min && lo > 0) || (cr->has_max && hi < 0));
    case ST_CMP_NE: return !(cr->has_min && cr->has_max && lo == 0 && hi == 0);
    case ST_CMP_LT: return !(cr->has_min && lo >= 0);
    case ST_CMP_LE: return !(cr->has_min && lo > 0);
    case ST_CMP_GT: return !(cr->has_max && hi <= 0);
    case ST_CMP_GE: return !(cr->has_max && hi < 0);
    }
    return true;
}

/* `neg` asks about NOT e, pushed down to the leaves: De Morgan for AND/OR,
 * inverted operators for comparisons. That is exact under SQL's three-valued
 * logic, since NOT keeps unknown unknown and a leaf that is unknown (a null
 * value) never matches either way. */
static bool may_match(const st_expr_t *e, const st_ranges_t *r, bool neg) {
    switch (e->kind) {
    case ST_EXPR_AND:
        if (neg) return may_match(e->left, r, true) || may_match(e->right, r, true);
        return may_match(e->left, r, false) && may_match(e->right, r, false);
    case ST_EXPR_OR:
        if (neg) return may_match(e->left, r, true) && may_match(e->right, r, true);
        return may_match(e->left, r, false) || may_match(e->right, r, false);
    case ST_EXPR_NOT: return may_match(e->left, r, !neg);
    default: break;
    }
    if (r && r->rows == 0) return false;
    if (e->column_index < 0 || !e->values) return true; /* unbound: nothing is known */
    col_range_t cr = range_of(e, r);
    if (e->kind == ST_EXPR_IS_NULL) {
        bool want_null = e->negated == neg;
        if (want_null) return cr.nulls != 0;
        return !(cr.nulls >= 0 && cr.rows >= 0 && cr.nulls >= cr.rows);
    }
    /* Comparisons and IN only ever match non-null values. */
    if (cr.nulls >= 0 && cr.rows >= 0 && cr.nulls >= cr.rows) return false;
    const st_column_t *lit = e->values;
    if (e->kind == ST_EXPR_CMP) {
        if (st_col_is_null(lit, 0)) return false; /* compared with null: unknown */
        if (!cr.mm) return true;
        return cmp_may(&cr, neg ? invert(e->op) : e->op, lit, 0);
    }
    bool in = e->negated == neg;
    if (in) {
        for (int64_t k = 0; k < lit->length; k++)
            if (!st_col_is_null(lit, k) && (!cr.mm || cmp_may(&cr, ST_CMP_EQ, lit, k))) return true;
        return false;
    }
    /* NOT IN: a null in the list makes it never true; otherwise only a range
     * holding one value that the list names rules it out. */
    for (int64_t k = 0; k < lit->length; k++)
        if (st_col_is_null(lit, k)) return false;
    if (!cr.mm) return true;
    for (int64_t k = 0; k < lit->length; k++)
        if (!cmp_may(&cr, ST_CMP_NE, lit, k)) return false;
    return true;
}

bool st_expr_may_match(const st_expr_t *e, const st_ranges_t *ranges) {
    if (!e) return true;
    return may_match(e, ranges, false);
}
