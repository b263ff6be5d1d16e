/*
 * strata parquet: reading and writing Apache Parquet files.
 *
 * The writer takes flat batches (table.h) and streams them out: memory is
 * bounded by the open row group, not by the file. The reader understands what
 * the writer writes and what is common in the wild (every standard encoding and
 * codec, legacy converted types, INT96, data page v2, nested LIST/MAP/STRUCT).
 * Every length, offset and count read from a file is checked before it is used:
 * a malformed file fails with ST_ECORRUPT and a message naming the file and the
 * problem, never with a crash, a hang or an outsized allocation.
 *
 * Bytes come from a source and go to a sink (structs of function pointers), so
 * the same code reads local files, memory and object stores.
 */
#ifndef STRATA_PARQUET_H
#define STRATA_PARQUET_H

#include "strata/store.h"
#include "strata/table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- sources and sinks --------------------------------------------------- */

/* Random-access bytes to read a file from. */
typedef struct st_pq_source {
    void *ctx;
    char *name; /* shown in error messages; owned (malloc'd) by the source */
    uint64_t size;
    /* Reads exactly n bytes at off (off + n <= size is checked by the caller). */
    int (*read_at)(void *ctx, uint64_t off, void *buf, size_t n);
    void (*close)(void *ctx);
} st_pq_source_t;

/* A local file. */
int st_pq_source_file(const char *path, st_pq_source_t *out);
/* Borrowed memory: `data` must outlive the source. */
int st_pq_source_mem(const void *data, size_t n, const char *name, st_pq_source_t *out);
/* Closes the source and frees its name (safe on a zeroed source). */
void st_pq_source_close(st_pq_source_t *src);

/* An object in a store (store.h), read with ranged GETs: the first request
 * fetches the footer end of the object together with its size, and reads are
 * served from a small read-ahead cache, so opening a file costs at most two
 * requests. The store must stay open while the source is. */
int st_pq_source_store(st_store_t *s, const char *key, st_pq_source_t *out);

/* Sequential bytes to write a file to. finish(commit=true) makes the file
 * visible atomically; finish(commit=false) discards everything written. */
typedef struct st_pq_sink {
    void *ctx;
    char *name;
    int (*write)(void *ctx, const void *buf, size_t n);
    int (*finish)(void *ctx, bool commit);
} st_pq_sink_t;

/* A local file written to "<path>.tmp-<random>" and renamed over `path` on commit
 * (after fsync), so readers never see a torn file. */
int st_pq_sink_file(const char *path, st_pq_sink_t *out);
/* Appends to a caller-owned buffer (commit does nothing more). */
int st_pq_sink_buf(st_buf_t *buf, const char *name, st_pq_sink_t *out);
/* An object in a store, written through the store's streaming writer:
 * finish(true) commits (atomically; opts may ask for if-absent or if-match,
 * and then a lost race fails the commit with ST_ECONFLICT), finish(false)
 * aborts and leaves nothing. opts may be NULL; the store must stay open while
 * the sink is. */
int st_pq_sink_store(st_store_t *s, const char *key, const st_put_opts_t *opts, st_pq_sink_t *out);

/* ---- writer -------------------------------------------------------------- */

/* Compression codecs; numbering follows parquet.thrift CompressionCodec. */
typedef enum st_codec {
    ST_CODEC_UNCOMPRESSED = 0,
    ST_CODEC_SNAPPY = 1,
    ST_CODEC_GZIP = 2,
    ST_CODEC_LZO = 3,
    ST_CODEC_BROTLI = 4,
    ST_CODEC_LZ4 = 5, /* legacy Hadoop framing; read only */
    ST_CODEC_ZSTD = 6,
    ST_CODEC_LZ4_RAW = 7
} st_codec_t;

/* "snappy" -> ST_CODEC_SNAPPY etc. (case-insensitive); ST_EINVAL if unknown. */
int st_codec_parse(const char *name, st_codec_t *out);
const char *st_codec_name(st_codec_t codec); /* "SNAPPY" */

typedef struct st_pq_write_opts {
    st_codec_t codec;          /* default SNAPPY */
    int codec_level;           /* 0 = codec default (ZSTD 3, GZIP 6) */
    int page_version;          /* 1 (default) or 2 */
    bool dictionary;           /* try RLE_DICTIONARY first (default true) */
    size_t dictionary_limit;   /* dictionary page bytes before falling back to PLAIN (1 MiB) */
    size_t page_bytes;         /* target uncompressed data page size (1 MiB) */
    size_t row_group_bytes;    /* close a row group at this many buffered bytes (128 MiB) */
    int64_t row_group_rows;    /* ...or at this many rows (0 = no row limit) */
    bool statistics;           /* min/max/null_count per chunk and page (true) */
    const char *created_by;    /* default "strata version X (build ...)" */
    /* Rows per data page at most (20,000; 0 = no limit): pages small enough
     * that readers can skip most of a row group by page statistics. */
    int64_t page_rows;
} st_pq_write_opts_t;

void st_pq_write_opts_default(st_pq_write_opts_t *opts);

typedef struct st_pq_writer st_pq_writer_t;

/* Starts a file with the given flat schema. The sink is moved into the writer
 * (finished by close/abort). */
int st_pq_writer_open(st_pq_sink_t *sink, const st_field_t *fields, int nfields,
                      const st_pq_write_opts_t *opts, st_pq_writer_t **out);
/* Adds a key-value pair to the footer (before close). */
int st_pq_writer_add_kv(st_pq_writer_t *w, const char *key, const char *value);
/* Appends the rows of a batch whose columns match the writer's fields. */
int st_pq_writer_write(st_pq_writer_t *w, const st_batch_t *batch);
/* Flushes the open row group, writes the footer, commits the sink, frees w. */
int st_pq_writer_close(st_pq_writer_t *w);
/* Discards the file and frees w. */
void st_pq_writer_abort(st_pq_writer_t *w);
/* Rows and bytes written so far (bytes: file bytes emitted to the sink). */
int64_t st_pq_writer_rows(const st_pq_writer_t *w);
uint64_t st_pq_writer_bytes(const st_pq_writer_t *w);

/* ---- reader -------------------------------------------------------------- */

typedef struct st_pq_file st_pq_file_t;

/* Opens a file: reads and validates the footer. The source is moved into the
 * file handle (closed by st_pq_close, also on failure). */
int st_pq_open(st_pq_source_t *src, st_pq_file_t **out);
/* Convenience: st_pq_source_file + st_pq_open. */
int st_pq_open_path(const char *path, st_pq_file_t **out);
/* Opens a local path or any store URL naming an object (file://, mem://,
 * s3://...): the file handle keeps what it opened until st_pq_close. */
int st_pq_open_url(const char *url_or_path, st_pq_file_t **out);
void st_pq_close(st_pq_file_t *f);

int64_t st_pq_num_rows(const st_pq_file_t *f);
int st_pq_num_row_groups(const st_pq_file_t *f);
int64_t st_pq_row_group_num_rows(const st_pq_file_t *f, int rg);
/* Top-level fields (columns of a flat file, or the roots of nested ones). */
int st_pq_num_columns(const st_pq_file_t *f);
const char *st_pq_column_name(const st_pq_file_t *f, int col);
/* Index of a top-level column by name, or -1. */
int st_pq_column_index(const st_pq_file_t *f, const char *name);
/* Value of a footer key-value pair, or NULL. */
const char *st_pq_kv(const st_pq_file_t *f, const char *key);
const char *st_pq_created_by(const st_pq_file_t *f);

/* The schema as JSON, in the form of the corpus's expected/<name>.schema.json
 * ({"rows","footer_num_rows","columns","schema":[...],"leaves":[...]}). */
int st_pq_schema_json(st_pq_file_t *f, st_buf_t *out);
/* Human-readable schema tree. */
int st_pq_schema_text(st_pq_file_t *f, st_buf_t *out);
/* Footer details as JSON: row groups, column chunks (path, type, encodings,
 * codec, sizes, offsets, statistics), key-value metadata, created_by. */
int st_pq_meta_json(st_pq_file_t *f, st_buf_t *out);

/* The flat schema mapped to strata types (for files whose top-level columns are
 * all primitive). INT96 maps to TIMESTAMP(ns); unsigned and legacy converted
 * types map to their strata equivalents. Fields belong to f. */
int st_pq_fields(st_pq_file_t *f, const st_field_t **fields, int *nfields);

/* Which part of a file to read. columns = NULL reads every top-level column;
 * row_groups = NULL reads every row group, otherwise only those with
 * row_groups[rg] true. limit < 0 means no limit. */
typedef struct st_pq_scan {
    const int *columns;
    int ncolumns;
    const bool *row_groups;
    int64_t limit;
} st_pq_scan_t;

/* Reads row group `rg` of a flat file into a new batch (projected to the given
 * top-level columns; NULL = all). */
int st_pq_read_row_group(st_pq_file_t *f, int rg, const int *columns, int ncolumns,
                         st_batch_t **out);
/* Rows [row_lo, row_hi) of row group `rg`, as st_pq_read_row_group would give
 * them: data pages holding none of those rows are neither decompressed nor
 * decoded. */
int st_pq_read_rows(st_pq_file_t *f, int rg, const int *columns, int ncolumns, int64_t row_lo,
                    int64_t row_hi, st_batch_t **out);
/* Columns that st_pq_read_rows / st_pq_read_row_group decode at once, each on
 * its own thread (default 1; 0 = one per online CPU; at most
 * ST_PQ_MAX_THREADS). Reads of the source are serialised meanwhile. */
#define ST_PQ_MAX_THREADS 16
int st_pq_set_threads(st_pq_file_t *f, int threads);
/* Pages (data and dictionary) decoded through this handle so far. */
int64_t st_pq_pages_decoded(const st_pq_file_t *f);

/* Decodes rows in the canonical JSON form (one object per row, see the corpus
 * README) and calls emit once per row with the line (no trailing newline).
 * Works for flat and nested files. A non-zero return from emit stops the scan
 * and is returned. */
typedef int (*st_pq_emit_fn)(void *ctx, const char *line, size_t n);
int st_pq_scan_json(st_pq_file_t *f, const st_pq_scan_t *scan, st_pq_emit_fn emit, void *ctx);

/* ---- statistics and row-group selection ---------------------------------- */

typedef enum st_pq_cmp {
    ST_PQ_EQ, ST_PQ_NE, ST_PQ_LT, ST_PQ_LE, ST_PQ_GT, ST_PQ_GE, ST_PQ_IS_NULL, ST_PQ_NOT_NULL
} st_pq_cmp_t;

/* A comparison of a top-level primitive column with a literal given as text in
 * its canonical JSON spelling without quotes ("42", "2024-01-01T00:00:00.000Z",
 * "approved", "1.5"); the literal is converted to the column's type. */
typedef struct st_pq_pred {
    const char *column;
    st_pq_cmp_t cmp;
    const char *literal;
} st_pq_pred_t;

/* For each row group, keep[rg] = false when the footer statistics prove that no
 * row can satisfy all predicates (AND); true when it may. Row groups without
 * usable statistics are kept. */
int st_pq_select_row_groups(st_pq_file_t *f, const st_pq_pred_t *preds, int npreds, bool *keep);

/* Statistics of row group `rg` as value ranges for the top-level columns
 * cols[0..ncols): *minmax gets a new 2-row batch typed as st_pq_fields maps
 * the columns (row 0 = min, row 1 = max; null where the footer has no usable
 * bound), null_counts[i] the chunk's null count or -1 when unknown. */
int st_pq_row_group_ranges(st_pq_file_t *f, int rg, const int *cols, int ncols,
                           st_batch_t **minmax, int64_t *null_counts);

/* The data pages of one column chunk with the statistics of their headers,
 * read by walking the page headers without decompressing anything. For page
 * p: rows [first_row[p], first_row[p] + num_rows[p]) of the row group,
 * bounds row 2p = min and 2p + 1 = max (typed as st_pq_fields maps the column;
 * null = unknown), null_counts[p] (-1 = unknown). */
typedef struct st_pq_page_ranges {
    int npages;
    int64_t *first_row, *num_rows, *null_counts;
    st_batch_t *bounds;
} st_pq_page_ranges_t;

int st_pq_page_ranges(st_pq_file_t *f, int rg, int col, st_pq_page_ranges_t *out);
void st_pq_page_ranges_free(st_pq_page_ranges_t *r);

/* Pages of one column chunk, from the footer's encoding_stats when present
 * (exact), else estimated from the chunk's sizes and encodings. */
typedef struct st_pq_chunk_pages {
    bool exact;            /* counted by the writer (encoding_stats) */
    bool all_dictionary;   /* every data page is dictionary-encoded */
    int64_t dict_pages;    /* 0 or 1 */
    int64_t data_pages;
} st_pq_chunk_pages_t;

/* Fills out[rg * st_pq_num_columns(f) + col] for every row group and
 * top-level column of a flat file. */
int st_pq_chunk_pages(st_pq_file_t *f, st_pq_chunk_pages_t *out);

/* Reads only the dictionary page of chunk (rg, col) and returns its values as
 * a new 1-column batch typed as st_pq_fields maps the column; *out = NULL
 * when the chunk has no dictionary page. Reads no data page. */
int st_pq_read_dictionary(st_pq_file_t *f, int rg, int col, st_batch_t **out);

#ifdef __cplusplus
}
#endif
#endif
