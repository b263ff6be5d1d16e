/* Evaluating a bound filter over a batch, one node at a time over all rows
 * (a tight loop per value type), in SQL's three-valued logic: a comparison
 * with null is unknown, NOT keeps unknown unknown, AND is false when either
 * side is false, OR true when either side is true; a row is selected only when
 * the whole filter is true. */
#include "expr_internal.h"

#include <stdlib.h>

enum { V_FALSE = 0, V_TRUE = 1, V_UNKNOWN = 2 };

/* Result of `value op literal` for a comparison outcome c in {-1, 0, 1}. */
static const uint8_t op_table[6][3] = {
    /* EQ */ {V_FALSE, V_TRUE, V_FALSE},
    /* NE */ {V_TRUE, V_FALSE, V_TRUE},
    /* LT */ {V_TRUE, V_FALSE, V_FALSE},
    /* LE */ {V_TRUE, V_TRUE, V_FALSE},
    /* GT */ {V_FALSE, V_FALSE, V_TRUE},
    /* GE */ {V_FALSE, V_TRUE, V_TRUE},
};

static inline bool valid_at(const st_column_t *c, int64_t i) {
    return c->validity.len == 0 || ((c->validity.data[i >> 3] >> (i & 7)) & 1);
}

/* Unaligned-safe loads (the compiler makes them plain loads). */
#define DEFINE_LOAD(T)                                                                             \
    static inline T load_##T(const uint8_t *p, int64_t i) {                                        \
        T x;                                                                                       \
        memcpy(&x, p + (size_t)i * sizeof(T), sizeof(T));                                          \
        return x;                                                                                  \
    }
DEFINE_LOAD(int8_t)
DEFINE_LOAD(int16_t)
DEFINE_LOAD(int32_t)
DEFINE_LOAD(int64_t)
DEFINE_LOAD(uint8_t)
DEFINE_LOAD(uint16_t)
DEFINE_LOAD(uint32_t)
DEFINE_LOAD(uint64_t)
DEFINE_LOAD(float)
DEFINE_LOAD(double)
#define LOAD(T, p, i) load_##T(p, i)

#define CMP_LOOP(T, LIT)                                                                           \
    for (int64_t i = 0; i < n; i++) {                                                              \
        T x = LOAD(T, p, i);                                                                       \
        out[i] = (int8_t)((x > (LIT)) - (x < (LIT)));                                              \
    }

/* out[i] = sign(col[i] - lit[k]) for every row (nulls get any value; the
 * caller masks them). The types are comparable (checked by the caller). */
static void compare_rows(const st_column_t *c, int64_t n, const st_column_t *lit, int64_t k,
                         int8_t *out) {
    /* Empty strings may leave the data buffer unallocated. */
    static const uint8_t none[1];
    const uint8_t *p = c->values.data ? c->values.data : none;
    const st_type_t *t = &c->field.type;
    switch (ds_type_class(t)) {
    case DS_CLS_BOOL: {
        int l = st_col_get_bool(lit, k);
        for (int64_t i = 0; i < n; i++) {
            int x = (p[i >> 3] >> (i & 7)) & 1;
            out[i] = (int8_t)((x > l) - (x < l));
        }
        return;
    }
    case DS_CLS_INT: {
        __int128 l = ds_int_at(lit, k);
        bool is_unsigned = t->id >= ST_TYPE_UINT8;
        /* A literal outside the column's range compares the same way with
         * every value; otherwise compare in the column's own type. */
        if (is_unsigned ? l < 0 : l < INT64_MIN) {
            memset(out, 1, (size_t)n);
            return;
        }
        if (is_unsigned ? l > (__int128)UINT64_MAX : l > INT64_MAX) {
            memset(out, -1, (size_t)n);
            return;
        }
        switch (t->id) {
        case ST_TYPE_INT8: CMP_LOOP(int8_t, (int64_t)l) return;
        case ST_TYPE_INT16: CMP_LOOP(int16_t, (int64_t)l) return;
        case ST_TYPE_INT32: CMP_LOOP(int32_t, (int64_t)l) return;
        case ST_TYPE_INT64: CMP_LOOP(int64_t, (int64_t)l) return;
        case ST_TYPE_UINT8: CMP_LOOP(uint8_t, (uint64_t)l) return;
        case ST_TYPE_UINT16: CMP_LOOP(uint16_t, (uint64_t)l) return;
        case ST_TYPE_UINT32: CMP_LOOP(uint32_t, (uint64_t)l) return;
        default: CMP_LOOP(uint64_t, (uint64_t)l) return;
        }
    }
    case DS_CLS_TEMPORAL: {
        int64_t l = st_col_get_i64(lit, k);
        if (st_type_value_width(t) == 4) {
            CMP_LOOP(int32_t, l)
        } else {
            CMP_LOOP(int64_t, l)
        }
        return;
    }
    case DS_CLS_FLOAT: {
        double l = st_col_get_double(lit, k);
        if (t->id == ST_TYPE_FLOAT) {
            for (int64_t i = 0; i < n; i++)
                out[i] = (int8_t)ds_double_cmp(LOAD(float, p, i), l);
        } else {
            for (int64_t i = 0; i < n; i++)
                out[i] = (int8_t)ds_double_cmp(LOAD(double, p, i), l);
        }
        return;
    }
    case DS_CLS_DECIMAL: {
        __int128 l = ds_dec_at(lit, k);
        int ls = lit->field.type.scale, cs = t->scale;
        for (int64_t i = 0; i < n; i++) {
            unsigned __int128 u = 0;
            for (int b = 15; b >= 0; b--)
                u = (u << 8) | p[16 * i + b];
            __int128 x = (__int128)u;
            out[i] = (int8_t)(cs == ls ? (x > l) - (x < l) : ds_dec_cmp(x, cs, l, ls));
        }
        return;
    }
    case DS_CLS_BYTES: {
        size_t ln;
        const uint8_t *lp = st_col_get_bytes(lit, k, &ln);
        const uint8_t *off = c->offsets.data;
        for (int64_t i = 0; i < n; i++) {
            int32_t a = LOAD(int32_t, off, i), b = LOAD(int32_t, off, i + 1);
            out[i] = (int8_t)ds_bytes_cmp(p + a, (size_t)(b - a), lp, ln);
        }
        return;
    }
    case DS_CLS_FIXED: {
        size_t ln;
        const uint8_t *lp = st_col_get_bytes(lit, k, &ln);
        for (int64_t i = 0; i < n; i++)
            out[i] = (int8_t)ds_bytes_cmp(p + ln * (size_t)i, ln, lp, ln);
        return;
    }
    case DS_CLS_NONE: break;
    }
    memset(out, 0, (size_t)n);
}

typedef struct {
    const st_batch_t *b;
    int64_t n;
    int8_t *cmp; /* scratch for compare_rows */
} eval_ctx;

static int leaf_column(const st_expr_t *e, const eval_ctx *x, const st_column_t **out) {
    if (e->column_index < 0 || !e->values)
        return st_error(ST_EINVAL, "filter: column '%s' is not bound", e->column);
    if (e->column_index >= x->b->ncols)
        return st_error(ST_EINVAL, "filter: column '%s' is bound to column %d, the batch has %d",
                        e->column, e->column_index, x->b->ncols);
    const st_column_t *c = &x->b->cols[e->column_index];
    if (strcmp(c->field.name, e->values->field.name) ||
        !ds_comparable(&c->field.type, &e->values->field.type)) {
        char tb[48], tf[48];
        st_type_format(&c->field.type, tb, sizeof tb);
        st_type_format(&e->values->field.type, tf, sizeof tf);
        return st_error(ST_ETYPE,
                        "filter: column '%s' (%s) was bound, but the batch has '%s' (%s) there",
                        e->values->field.name, tf, c->field.name, tb);
    }
    if (c->length < x->n)
        return st_error(ST_EINVAL, "filter: column '%s' has %lld values, the batch %lld rows",
                        c->field.name, (long long)c->length, (long long)x->n);
    *out = c;
    return ST_OK;
}

static int eval_node(const st_expr_t *e, eval_ctx *x, uint8_t *r);

/* AND / OR: the right side is skipped when the left already decides every
 * row (all false for AND, all true for OR). */
static int eval_logic(const st_expr_t *e, eval_ctx *x, uint8_t *r) {
    int rc = eval_node(e->left, x, r);
    if (rc) return rc;
    uint8_t decided = e->kind == ST_EXPR_AND ? V_FALSE : V_TRUE;
    int64_t i = 0;
    while (i < x->n && r[i] == decided)
        i++;
    if (i == x->n) return ST_OK;
    uint8_t *t = malloc((size_t)x->n);
    if (!t) return st_error(ST_ENOMEM, "filter: out of memory");
    if ((rc = eval_node(e->right, x, t))) {
        free(t);
        return rc;
    }
    if (e->kind == ST_EXPR_AND) {
        for (i = 0; i < x->n; i++)
            r[i] = (r[i] == V_FALSE || t[i] == V_FALSE) ? V_FALSE
                   : (r[i] == V_TRUE && t[i] == V_TRUE) ? V_TRUE
                                                        : V_UNKNOWN;
    } else {
        for (i = 0; i < x->n; i++)
            r[i] = (r[i] == V_TRUE || t[i] == V_TRUE)     ? V_TRUE
                   : (r[i] == V_FALSE && t[i] == V_FALSE) ? V_FALSE
                                                          : V_UNKNOWN;
    }
    free(t);
    return ST_OK;
}

static void negate(uint8_t *r, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (r[i] != V_UNKNOWN) r[i] ^= 1;
}

static int eval_node(const st_expr_t *e, eval_ctx *x, uint8_t *r) {
    int64_t n = x->n;
    const st_column_t *c;
    int rc;
    switch (e->kind) {
    case ST_EXPR_AND:
    case ST_EXPR_OR: return eval_logic(e, x, r);
    case ST_EXPR_NOT:
        if ((rc = eval_node(e->left, x, r))) return rc;
        negate(r, n);
        return ST_OK;
    case ST_EXPR_IS_NULL: {
        if ((rc = leaf_column(e, x, &c))) return rc;
        uint8_t if_null = e->negated ? V_FALSE : V_TRUE;
        for (int64_t i = 0; i < n; i++)
            r[i] = valid_at(c, i) ? (uint8_t)(if_null ^ 1) : if_null;
        return ST_OK;
    }
    case ST_EXPR_CMP: {
        if ((rc = leaf_column(e, x, &c))) return rc;
        if (st_col_is_null(e->values, 0)) {
            memset(r, V_UNKNOWN, (size_t)n);
            return ST_OK;
        }
        compare_rows(c, n, e->values, 0, x->cmp);
        const uint8_t *tab = op_table[e->op];
        for (int64_t i = 0; i < n; i++)
            r[i] = tab[x->cmp[i] + 1];
        if (c->validity.len)
            for (int64_t i = 0; i < n; i++)
                if (!valid_at(c, i)) r[i] = V_UNKNOWN;
        return ST_OK;
    }
    case ST_EXPR_IN: {
        if ((rc = leaf_column(e, x, &c))) return rc;
        memset(r, V_FALSE, (size_t)n);
        bool list_null = false;
        for (int64_t k = 0; k < e->values->length; k++) {
            if (st_col_is_null(e->values, k)) {
                list_null = true;
                continue;
            }
            compare_rows(c, n, e->values, k, x->cmp);
            for (int64_t i = 0; i < n; i++)
                if (x->cmp[i] == 0) r[i] = V_TRUE;
        }
        /* No match is false, unless the value or a list entry is null. */
        for (int64_t i = 0; i < n; i++)
            if (!valid_at(c, i) || (r[i] != V_TRUE && list_null)) r[i] = V_UNKNOWN;
        if (e->negated) negate(r, n);
        return ST_OK;
    }
    }
    return st_error(ST_EINVAL, "filter: unknown expression node %d", (int)e->kind);
}

int st_expr_eval(const st_expr_t *e, const st_batch_t *batch, uint8_t *sel) {
    if (!e || !batch || (!sel && batch->nrows > 0))
        return st_error(ST_EINVAL, "st_expr_eval: NULL argument");
    int64_t n = batch->nrows;
    if (n == 0) return ST_OK;
    eval_ctx x = {batch, n, malloc((size_t)n)};
    if (!x.cmp) return st_error(ST_ENOMEM, "filter: out of memory");
    int rc = eval_node(e, &x, sel);
    free(x.cmp);
    if (rc) return rc;
    for (int64_t i = 0; i < n; i++)
        sel[i] = sel[i] == V_TRUE;
    return ST_OK;
}
