/*
 * Private to the dataset scan: the listing and unified schema (scan_schema.c),
 * column surgery that widens, compacts and repeats values (scan_cols.c), the
 * byte-counting store source (scan_source.c) and the pruning checks
 * (scan_prune.c), driven by scan.c.
 */
#ifndef STRATA_DS_SCAN_INTERNAL_H
#define STRATA_DS_SCAN_INTERNAL_H

#include "strata/dataset.h"

/* One Parquet file of the dataset. */
typedef struct ds_file {
    char *key;
    uint64_t size;
    char **pvals;      /* per partition column: unescaped value, NULL = null */
    bool pruned;       /* by partition values */
} ds_file_t;

typedef struct ds_layout {
    st_store_t *store;
    char *prefix;          /* "" or "path/" */
    ds_file_t *files;
    int nfiles;
    int npart;             /* partition columns: fields[nfields - npart ..] */
    st_field_t *fields;    /* unified: data columns, then partition columns */
    int nfields;
    bool from_schema_file; /* data columns come from _strata_schema.json */
    char **origin;         /* per data field: the file that fixed its type */
    uint64_t bytes_read;   /* footers read while unifying, schema file */
} ds_layout_t;

/* Lists `path` (a prefix or a single .parquet key), parses partitions, reads
 * _strata_schema.json when present or else every footer, and unifies. */
int ds_layout_load(st_store_t *s, const char *path, ds_layout_t *out);
/* The same for an explicit list of files (sizes may be NULL: one HEAD each),
 * without partitions or a schema file. */
int ds_layout_load_files(st_store_t *s, const char *const *keys, const uint64_t *sizes, int nkeys,
                         ds_layout_t *out);
void ds_layout_free(ds_layout_t *l);

/* True if a value of type `from` can be read as type `to` (same, or a safe
 * widening: intN -> wider int, uintN -> wider uint, float -> double, decimal
 * with the same scale to a larger precision). */
bool ds_type_widens(const st_type_t *from, const st_type_t *to);
/* The wider of two types into *out; false when neither widens to the other. */
bool ds_type_unify(const st_type_t *a, const st_type_t *b, st_type_t *out);

/* A source over a store object whose size is known (from the listing): the
 * first read fetches the tail with the footer; every read adds the bytes it
 * fetched to *counter. */
int ds_source_open(st_store_t *s, const char *key, uint64_t size, uint64_t *counter,
                   st_pq_source_t *out);

/* Appends rows of src (idx[0..n), or rows 0..n-1 when idx is NULL) to the
 * EMPTY column dst, converting when dst's type is wider. */
int ds_col_take(st_column_t *dst, const st_column_t *src, const int32_t *idx, int64_t n);
/* Fills the EMPTY column dst with n copies of row `row` of src. */
int ds_col_repeat(st_column_t *dst, const st_column_t *src, int64_t row, int64_t n);
/* Fills the EMPTY column dst with n nulls. */
int ds_col_nulls(st_column_t *dst, int64_t n);
/* Moves src's buffers into the EMPTY dst (same type), leaving src empty. */
void ds_col_move(st_column_t *dst, st_column_t *src);

/* False only when the dictionaries prove no row can match: dicts[i] is the
 * value set of filter field i (NULL: unknown). */
bool ds_dict_may_match(const st_expr_t *e, st_column_t *const *dicts);

#endif
