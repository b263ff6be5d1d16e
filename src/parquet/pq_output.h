/*
 * Private to the output side of the Parquet reader: how a leaf's values are
 * rendered as canonical JSON (pq_json.c), the assembly plan that turns decoded
 * leaf columns back into rows (pq_assemble.c), and the glue between them and
 * the decoding side (pq_scan.c, pq_batch.c).
 */
#ifndef STRATA_PQ_OUTPUT_H
#define STRATA_PQ_OUTPUT_H

#include "parquet/pq_internal.h"

/* ---- leaf values as canonical JSON (pq_json.c) ---------------------------- */

typedef enum pq_vkind {
    PQ_V_BOOL,
    PQ_V_I32,
    PQ_V_U32,
    PQ_V_I64,
    PQ_V_U64,
    PQ_V_FLOAT,
    PQ_V_DOUBLE,
    PQ_V_FLOAT16,
    PQ_V_STRING,
    PQ_V_HEX,
    PQ_V_UUID,
    PQ_V_DECIMAL,
    PQ_V_DATE,
    PQ_V_TIME,
    PQ_V_TIMESTAMP,
    PQ_V_INT96
} pq_vkind_t;

/* How one leaf's values print: the kind plus the parameters it needs. */
typedef struct pq_vfmt {
    pq_vkind_t kind;
    int physical;
    int width;  /* bytes per value for fixed-width physical types (0: BYTE_ARRAY) */
    int scale;  /* DECIMAL */
    int digits; /* TIME / TIMESTAMP: 3, 6 or 9 */
    bool utc;   /* TIME / TIMESTAMP */
} pq_vfmt_t;

/* The rendering of a leaf node: logical type first, then the converted type,
 * then the physical type; an annotation that does not fit the physical type
 * is ignored. */
void pq_vfmt_for_node(const pq_node_t *n, pq_vfmt_t *out);

/* Appends present value `vi` of column `c` (vi < c->num_values). Fails only on
 * values the canonical form cannot hold (string that is not UTF-8, absurd
 * decimal scale) with a message that the caller prefixes with the column. */
int pq_json_value(st_buf_t *out, const pq_vfmt_t *fmt, const pq_column_data_t *c, int64_t vi);

/* Big-endian two's complement integer of n bytes as a decimal string with
 * `scale` fraction digits (no quotes). */
int pq_decimal_append(st_buf_t *out, const uint8_t *be, size_t n, int scale);

/* IEEE 754 half precision to single precision (exact). */
float pq_half_to_float(uint16_t h);

/* ---- record assembly (pq_assemble.c) --------------------------------------- */

typedef struct pq_rnode pq_rnode_t;

/* What a scan produces: the projected top-level fields as render trees, and the
 * leaf columns they need. */
typedef struct pq_plan {
    int nfields;
    pq_rnode_t **fields;
    int nleaves;          /* leaves needed, ascending leaf indices */
    int *leaves;
    bool flat;            /* every projected field is a non-repeated primitive */
    int num_leaves_file;  /* f->num_leaves, size of the per-leaf arrays */
    pq_vfmt_t *vfmt;      /* per file leaf (only needed ones filled) */
    int16_t *max_def;     /* per file leaf, computed from the schema */
    int16_t *max_rep;
} pq_plan_t;

/* Builds the plan for top-level fields `columns` (NULL = all). ST_EINVAL for a
 * bad column index, ST_ECORRUPT / ST_EUNSUPPORTED for schemas it cannot read. */
int pq_plan_build(const st_pq_file_t *f, const int *columns, int ncolumns, pq_plan_t **out);
void pq_plan_free(pq_plan_t *p);

/* Emits up to `max_rows` (< 0: all) of the `nrows` rows of row group `rg` from
 * decoded columns: cols[leaf] for every leaf in p->leaves. Adds the number of
 * rows emitted to *emitted. Checks that levels and values agree; a mismatch is
 * ST_ECORRUPT naming the file, row group and column. A non-zero return from
 * emit stops and is returned. */
int pq_plan_emit(const pq_plan_t *p, const st_pq_file_t *f, int rg,
                 const pq_column_data_t *const *cols, int64_t nrows, int64_t max_rows,
                 st_pq_emit_fn emit, void *ctx, int64_t *emitted);

/* Dotted path of a schema node ("a.list.element") into buf, for messages. */
const char *pq_node_path(const st_pq_file_t *f, int node, char *buf, size_t cap);

#endif
