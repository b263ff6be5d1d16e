/*
 * strata datasets: a prefix of immutable Parquet files in a store, optionally
 * Hive-partitioned (col=value/ directories), written once and read back with
 * projection, filters and pruning.
 *
 * Layout: <path>/[col=value/...]/<name>_<YYYYMMDD>_<HHMMSS>_<uuid8>.parquet
 * Files are never modified: each write adds new files (put-if-absent), so a
 * reader sees a file whole or not at all. Partition values are escaped so that
 * any string round-trips (percent-encoding of '/', '=', '%', control and
 * non-printable bytes; null as __HIVE_DEFAULT_PARTITION__).
 *
 * Partition columns are not stored inside the files (Hive convention): a value
 * is its canonical text (st_col_value_json without the quotes for non-strings:
 * dates YYYY-MM-DD, timestamps ISO-8601, decimals exact, binary as hex; strings
 * as they are; an empty string stays empty, "col=/"), read back with
 * st_coerce_append. So that readers know the types of partition columns, the
 * dataset root holds _strata_schema.json: the schema (st_schema_to_json) the
 * dataset was first written with, created put-if-absent by the first write
 * that succeeds. A later write whose schema gives a field of the same name
 * another type, or partitions by a column that file does not name, fails with
 * ST_EVALIDATION. Names starting with '_' or '.' are not data files.
 *
 * Reading unions every file under the prefix (recursively) under one schema:
 * columns missing from a file read as null, safe widening (int32 -> int64,
 * float -> double) is applied, incompatible types are an error naming both
 * files. Filters prune in order: partition values, row-group statistics,
 * dictionaries — before any data page is decompressed.
 */
#ifndef STRATA_DATASET_H
#define STRATA_DATASET_H

#include "strata/parquet.h"
#include "strata/schema.h"
#include "strata/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- filter expressions -------------------------------------------------- */

/* Grammar (case-insensitive keywords):
 *   expr    := or
 *   or      := and ("or" and)*
 *   and     := unary ("and" unary)*
 *   unary   := "not" unary | "(" expr ")" | pred
 *   pred    := col op literal | col ["not"] "in" "(" literal ("," literal)* ")"
 *            | col "is" ["not"] "null"
 *   op      := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
 *   col     := identifier | "double-quoted name"
 *   literal := 'single-quoted string' ('' escapes) | number | true | false | null
 * Literals are converted to the column's type when the expression is bound
 * ('2024-01-01' to a date or timestamp, '12.5' to a decimal, ...). */
typedef enum st_expr_kind {
    ST_EXPR_AND,
    ST_EXPR_OR,
    ST_EXPR_NOT,
    ST_EXPR_CMP,     /* column op literal */
    ST_EXPR_IN,      /* column [not] in (literals) */
    ST_EXPR_IS_NULL  /* column is [not] null */
} st_expr_kind_t;

typedef enum st_cmp_op { ST_CMP_EQ, ST_CMP_NE, ST_CMP_LT, ST_CMP_LE, ST_CMP_GT, ST_CMP_GE } st_cmp_op_t;

typedef struct st_expr {
    st_expr_kind_t kind;
    struct st_expr *left, *right; /* AND/OR: both; NOT: left */
    char *column;                 /* CMP, IN, IS_NULL */
    st_cmp_op_t op;               /* CMP */
    bool negated;                 /* IN: not in; IS_NULL: is not null */
    char **literals;              /* literal texts as written, unquoted; NULL entry = null */
    int nliterals;
    /* Bound form (st_expr_bind): column index and literals as a column of the
     * column's type (one row per literal). A number beyond the column's range,
     * precision or scale is held in a wider type of the same family (int64 or
     * uint64, double, decimal(38,s)), so "int8_col > -1000" binds;
     * st_col_compare orders values across those types. */
    int column_index;
    st_column_t *values;
    /* Per literal: true when it was written as a 'quoted string' (false for
     * numbers, true/false and null), so binding can refuse a string compared
     * with a number column and formatting can quote it again. */
    bool *quoted;
} st_expr_t;

/* Parses a filter; ST_EINVAL with the position and what was expected. */
int st_expr_parse(const char *text, st_expr_t **out);
void st_expr_free(st_expr_t *e);
/* Canonical text of an expression (round-trips through st_expr_parse). */
int st_expr_format(const st_expr_t *e, st_buf_t *out);
/* Resolves columns against fields and converts literals to their types.
 * ST_ENOTFOUND for an unknown column, ST_ETYPE for a literal that does not
 * convert ("filter: column depth: '12.5' is not a valid int32: ...") or is of
 * the wrong kind: numeric columns take numbers, bool columns true/false, every
 * other column a 'quoted' literal (dates, timestamps, times, UUIDs, strings,
 * hex for binary/fixed). Names match exactly, else regardless of case when
 * that is unambiguous. Binding again (other fields) replaces the bound form. */
int st_expr_bind(st_expr_t *e, const st_field_t *fields, int nfields);
/* Evaluates a bound expression on every row: sel[i] = 1 if row i matches
 * (SQL semantics: comparisons with null are unknown, which does not match;
 * NaN sorts after every number and equals NaN). Column column_index of the
 * batch must be the bound column (same name, comparable type): bind against
 * the batch's own fields. */
int st_expr_eval(const st_expr_t *e, const st_batch_t *batch, uint8_t *sel);

/* Value ranges for pruning: for each field, the smallest and largest value
 * (a 2-row batch: row 0 = min, row 1 = max; null when unknown), and the
 * null count and row count (-1 when unknown). Columns are indexed like the
 * fields the expression was bound to. A partition value is a range whose min
 * and max are equal; a null partition value is a column whose null count
 * equals rows (e.g. both 1). rows == 0 matches nothing. */
typedef struct st_ranges {
    const st_batch_t *minmax;
    const int64_t *null_counts;
    int64_t rows;
} st_ranges_t;

/* False only when no row within the ranges can match the bound expression. */
bool st_expr_may_match(const st_expr_t *e, const st_ranges_t *ranges);

/* Compares two values of the same type (nulls first): <0, 0, >0. */
int st_col_compare(const st_column_t *a, int64_t i, const st_column_t *b, int64_t j);

/* ---- writing ------------------------------------------------------------- */

typedef struct st_dataset_write_opts {
    const char *name;             /* file-name stem; default: last segment of path */
    const char *const *partition; /* partition columns, in directory order */
    int npartition;
    const char *file_name;        /* write exactly this file name (no partitions) */
    bool overwrite;               /* with file_name: replace an existing file */
    st_pq_write_opts_t parquet;
    /* Validation: a caller-owned validator to use (so the caller can print its
     * report, or record cells that did not convert), or NULL for one owned by
     * the writer keeping at most max_violations (0 = 100). */
    st_validator_t *validator;
    int max_violations;
    /* Bounds for partitioned writes: files open at once (0 = 256; beyond it
     * the least recently used file is finished and the partition later gets a
     * new file) and bytes of input buffered across the open files (0 = 512 MiB;
     * beyond it the file holding most is finished). */
    int max_open_files;
    size_t buffer_bytes;
} st_dataset_write_opts_t;

void st_dataset_write_opts_default(st_dataset_write_opts_t *o);

/* The files a write produced (keys relative to the store root). */
typedef struct st_file_list {
    char **keys;
    int64_t *rows;
    uint64_t *bytes;
    int n;
} st_file_list_t;

void st_file_list_free(st_file_list_t *l);

/* Streaming writer: batches are validated against the schema (constraints,
 * strict, primary key / unique within the write) and routed to one open file
 * per partition; memory is bounded by the open row groups. Nothing becomes
 * visible until st_dataset_writer_close succeeds, except files finished early
 * because of max_open_files / buffer_bytes, which appear before close; on any
 * failure (or abort) every file it created is removed. With file_name and
 * !overwrite an existing file is ST_EEXIST. */
typedef struct st_dataset_writer st_dataset_writer_t;

int st_dataset_writer_open(st_store_t *s, const char *path, const st_schema_t *schema,
                           const st_dataset_write_opts_t *opts, st_dataset_writer_t **out);
int st_dataset_writer_write(st_dataset_writer_t *w, const st_batch_t *batch);
/* Rows accepted so far and bytes of files emitted so far (they trail the
 * input by what the open row groups hold); for progress reports. */
void st_dataset_writer_progress(const st_dataset_writer_t *w, int64_t *rows, uint64_t *bytes);
/* Finishes every file, fills `files` (optional) and frees w. */
int st_dataset_writer_close(st_dataset_writer_t *w, st_file_list_t *files);
void st_dataset_writer_abort(st_dataset_writer_t *w);

/* One-shot: write(store, path, batch, schema, partition_cols, overwrite). */
int st_dataset_write(st_store_t *s, const char *path, const st_batch_t *batch,
                     const st_schema_t *schema, const st_dataset_write_opts_t *opts,
                     st_file_list_t *files);

/* ---- reading ------------------------------------------------------------- */

typedef struct st_scan_opts {
    const char *const *columns; /* projection by name; NULL = all */
    int ncolumns;
    const char *filter;         /* expression text or NULL */
    int64_t limit;              /* < 0: no limit */
    /* Columns of a row group decoded at once, each on its own thread: 0 = one
     * per online CPU (the default), 1 = only the calling thread. */
    int threads;
} st_scan_opts_t;

/* What a scan touched and skipped (for --explain and tests). */
typedef struct st_scan_stats {
    int64_t files_total, files_pruned;            /* pruned by partition values */
    int64_t row_groups_total, row_groups_pruned_stats, row_groups_pruned_dict;
    int64_t pages_total, pages_read;
    int64_t rows_read, rows_matched;
    uint64_t bytes_read;
} st_scan_stats_t;

typedef struct st_dataset_scan st_dataset_scan_t;

/* Lists the files under path (a prefix, or a single .parquet key), unifies
 * their schemas, binds the filter. */
int st_dataset_scan_open(st_store_t *s, const char *path, const st_scan_opts_t *opts,
                         st_dataset_scan_t **out);
/* A scan of an explicit list of Parquet files (no partitions, no schema
 * file): unified, projected, filtered and pruned as above. sizes (optional)
 * are the objects' sizes, saving a HEAD per file. */
int st_dataset_scan_open_files(st_store_t *s, const char *const *keys, const uint64_t *sizes, int nkeys,
                               const st_scan_opts_t *opts, st_dataset_scan_t **out);
/* The output fields (projected, partition columns included). */
const st_field_t *st_dataset_scan_fields(const st_dataset_scan_t *scan, int *nfields);
/* Next batch of matching rows (owned by the caller), *out = NULL at the end. */
int st_dataset_scan_next(st_dataset_scan_t *scan, st_batch_t **out);
void st_dataset_scan_stats(const st_dataset_scan_t *scan, st_scan_stats_t *stats);
/* The file the last batch came from (a batch never spans files): its index in
 * keys for st_dataset_scan_open_files, in listing order otherwise; -1 before
 * the first batch. */
int st_dataset_scan_file_index(const st_dataset_scan_t *scan);
void st_dataset_scan_close(st_dataset_scan_t *scan);

#ifdef __cplusplus
}
#endif
#endif
