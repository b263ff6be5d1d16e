/* Dictionary pruning: a fully dictionary-encoded chunk holds only values of
 * its dictionary (and nulls, which satisfy no comparison), so a comparison or
 * IN list that no dictionary value satisfies cannot match any row. The check
 * walks AND/OR; under NOT nothing is concluded. */
#include "dataset/scan_internal.h"

static bool cmp_holds(st_cmp_op_t op, int c) {
    switch (op) {
    case ST_CMP_EQ: return c == 0;
    case ST_CMP_NE: return c != 0;
    case ST_CMP_LT: return c < 0;
    case ST_CMP_LE: return c <= 0;
    case ST_CMP_GT: return c > 0;
    case ST_CMP_GE: return c >= 0;
    }
    return true;
}

static bool some_value_matches(const st_expr_t *e, const st_column_t *d) {
    const st_column_t *lit = e->values;
    if (!lit) return true;
    for (int64_t i = 0; i < d->length; i++) {
        if (st_col_is_null(d, i)) return true; /* an unusable entry: assume it matches */
        if (e->kind == ST_EXPR_CMP) {
            if (lit->length < 1 || st_col_is_null(lit, 0)) return false; /* x op null is never true */
            if (cmp_holds(e->op, st_col_compare(d, i, lit, 0))) return true;
        } else {
            bool in = false, any_null = false;
            for (int64_t j = 0; j < lit->length && !in; j++) {
                if (st_col_is_null(lit, j)) any_null = true;
                else if (st_col_compare(d, i, lit, j) == 0) in = true;
            }
            if (!e->negated && in) return true;
            if (e->negated && !in && !any_null) return true;
        }
    }
    return false;
}

bool ds_dict_may_match(const st_expr_t *e, st_column_t *const *dicts) {
    switch (e->kind) {
    case ST_EXPR_AND: return ds_dict_may_match(e->left, dicts) && ds_dict_may_match(e->right, dicts);
    case ST_EXPR_OR: return ds_dict_may_match(e->left, dicts) || ds_dict_may_match(e->right, dicts);
    case ST_EXPR_CMP:
    case ST_EXPR_IN: {
        const st_column_t *d = e->column_index >= 0 ? dicts[e->column_index] : NULL;
        return !d || some_value_matches(e, d);
    }
    default: return true;
    }
}
