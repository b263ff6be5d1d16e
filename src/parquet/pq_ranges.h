/*
 * Private to the parquet layer: one PLAIN-encoded value (a statistics bound or
 * a dictionary entry) appended to a strata column of the column's mapped type.
 * Shared by the row-group ranges (pq_ranges.c) and dictionary reads
 * (pq_dict.c).
 */
#ifndef STRATA_PQ_RANGES_H
#define STRATA_PQ_RANGES_H

#include "parquet/pq_internal.h"

/* Appends the value v[0..len) of leaf node n to c (typed as st_pq_fields maps
 * n). A value that cannot serve as a bound (INT96, half floats, NaN, a width
 * that does not match, a string that is not UTF-8, out of range) is appended
 * as null: callers treat null as "unknown". Fails only on allocation. */
int pq_append_plain_value(st_column_t *c, const pq_node_t *n, const uint8_t *v, size_t len);

#endif
