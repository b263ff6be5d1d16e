/* Private to the dataset layer's filter code: which values can be compared
 * with which, shared by evaluation (expr_eval.c), pruning and st_col_compare
 * (expr_match.c). */
#ifndef STRATA_DS_EXPR_INTERNAL_H
#define STRATA_DS_EXPR_INTERNAL_H

#include "strata/dataset.h"

#include <string.h>

/* Comparison families: values of two types compare when their families are
 * equal (and, for temporal, fixed and decimal types, see ds_comparable). */
typedef enum {
    DS_CLS_NONE,
    DS_CLS_BOOL,
    DS_CLS_INT,      /* signed and unsigned integers of every width */
    DS_CLS_FLOAT,    /* float, double: NaN orders after every number */
    DS_CLS_DECIMAL,  /* 128-bit unscaled values, rescaled when scales differ */
    DS_CLS_TEMPORAL, /* date, time, timestamp: integers in the same unit */
    DS_CLS_BYTES,    /* string, json, binary: byte-wise, shorter prefix first */
    DS_CLS_FIXED     /* fixed(n), uuid: byte-wise */
} ds_cls_t;

ds_cls_t ds_type_class(const st_type_t *t);
/* True when values of a and b can be compared (same family, and for temporal
 * types the same type and unit, for fixed types the same width). */
bool ds_comparable(const st_type_t *a, const st_type_t *b);

/* The signed 128-bit value of an integer column's row (either signedness). */
__int128 ds_int_at(const st_column_t *c, int64_t i);
/* The unscaled value of a DECIMAL row. */
__int128 ds_dec_at(const st_column_t *c, int64_t i);
/* Compares unscaled decimals of different scales exactly: <0, 0, >0. */
int ds_dec_cmp(__int128 a, int sa, __int128 b, int sb);
/* NaN-last comparison of doubles (-0 equals 0). */
static inline int ds_double_cmp(double a, double b) {
    if (a != a) return b != b ? 0 : 1;
    if (b != b) return -1;
    return (a > b) - (a < b);
}
static inline int ds_bytes_cmp(const uint8_t *a, size_t na, const uint8_t *b, size_t nb) {
    size_t n = na < nb ? na : nb;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return c < 0 ? -1 : 1;
    return (na > nb) - (na < nb);
}

#endif
