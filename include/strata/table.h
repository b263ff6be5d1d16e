/*
 * strata tables: typed fields and in-memory columnar batches.
 *
 * A batch is a set of equally long columns laid out exactly as the Arrow C Data
 * Interface describes (validity bitmap with bit i = 1 when row i is valid, LSB
 * first; fixed-width values packed; strings/binary as int32 offsets + data), so a
 * batch can be handed to any Arrow consumer through st_batch_export() and one
 * coming from Arrow can be taken in with st_batch_import().
 *
 * Physical layout per type (Arrow format string in brackets):
 *   BOOL            bit-packed values                      [b]
 *   INT8..UINT64    1/2/4/8-byte little-endian integers    [c C s S i I l L]
 *   FLOAT, DOUBLE   IEEE 754                               [f g]
 *   STRING, JSON    int32 offsets (length+1) + UTF-8 bytes [u]  (JSON: extension arrow.json)
 *   BINARY          int32 offsets + bytes                  [z]
 *   FIXED(n)        n bytes per value                      [w:n]
 *   UUID            16 bytes per value (big-endian, RFC 4122 order)
 *                                                          [w:16] (extension arrow.uuid)
 *   DATE            int32 days since 1970-01-01            [tdD]
 *   TIME(ms)        int32 time of day; TIME(us|ns) int64   [ttm ttu ttn]
 *   TIMESTAMP(u[,UTC]) int64 since the epoch               [tsm: tsu: tsn:, UTC: "tsu:UTC"]
 *   DECIMAL(p,s)    16-byte little-endian two's complement [d:p,s]
 *
 * Ownership: st_batch_new/st_batch_free; a batch owns its buffers. Every column
 * is nullable at the storage level; st_field_t.nullable is the schema's promise.
 */
#ifndef STRATA_TABLE_H
#define STRATA_TABLE_H

#include "strata/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum st_type_id {
    ST_TYPE_BOOL = 1,
    ST_TYPE_INT8,
    ST_TYPE_INT16,
    ST_TYPE_INT32,
    ST_TYPE_INT64,
    ST_TYPE_UINT8,
    ST_TYPE_UINT16,
    ST_TYPE_UINT32,
    ST_TYPE_UINT64,
    ST_TYPE_FLOAT,
    ST_TYPE_DOUBLE,
    ST_TYPE_STRING,
    ST_TYPE_BINARY,
    ST_TYPE_FIXED,
    ST_TYPE_DATE,
    ST_TYPE_TIME,
    ST_TYPE_TIMESTAMP,
    ST_TYPE_DECIMAL,
    ST_TYPE_UUID,
    ST_TYPE_JSON
} st_type_id;

typedef enum st_time_unit { ST_UNIT_MS = 3, ST_UNIT_US = 6, ST_UNIT_NS = 9 } st_time_unit;

/* A logical type. Fields beyond `id` matter only for the types that use them. */
typedef struct st_type {
    st_type_id id;
    int32_t width;        /* FIXED: bytes per value */
    uint8_t precision;    /* DECIMAL: 1..38 */
    uint8_t scale;        /* DECIMAL: 0..precision */
    st_time_unit unit;    /* TIME, TIMESTAMP */
    bool utc;             /* TIMESTAMP: adjusted to UTC */
} st_type_t;

/* Parses a type as written in schema files: "int32", "decimal(8,3)",
 * "timestamp(us, UTC)", "fixed(16)", "time(ms)", "date", "uuid", ... */
int st_type_parse(const char *text, st_type_t *out);
/* The schema-file spelling of a type ("timestamp(us, UTC)"). Returns length. */
int st_type_format(const st_type_t *t, char *out, size_t cap);
/* Bytes per value for fixed-width types (BOOL: 0, variable-width: 0). */
int st_type_value_width(const st_type_t *t);
bool st_type_is_varlen(const st_type_t *t);
/* True if a and b are the same logical type (id and the parameters it uses). */
bool st_type_equal(const st_type_t *a, const st_type_t *b);

typedef struct st_field {
    char *name;
    st_type_t type;
    bool nullable;
} st_field_t;

/* One column of a batch: Arrow layout, buffers grown as values are appended. */
typedef struct st_column {
    st_field_t field;
    int64_t length;
    int64_t null_count;
    st_buf_t validity; /* bitmap; empty (len 0) means "all valid" until a null arrives */
    st_buf_t values;   /* fixed-width values, bit-packed bools, or var-len data bytes */
    st_buf_t offsets;  /* int32 offsets, length+1 entries, for STRING/BINARY/JSON */
} st_column_t;

typedef struct st_batch {
    int ncols;
    st_column_t *cols;
    int64_t nrows;
} st_batch_t;

/* A new, empty batch with copies of the given fields. */
int st_batch_new(const st_field_t *fields, int nfields, st_batch_t **out);
void st_batch_free(st_batch_t *b);
/* Drops all rows, keeps the columns and their allocations. */
void st_batch_clear(st_batch_t *b);
/* Index of the named column or -1. */
int st_batch_column_index(const st_batch_t *b, const char *name);
/* Approximate bytes held by the values (used to close row groups by size). */
size_t st_batch_bytes(const st_batch_t *b);

/* Appending, one value at a time, to column `c`. The caller keeps every column
 * the same length (st_batch_end_row checks and sets nrows). Integers of every
 * width go through i64/u64 (range-checked: ST_ETYPE); DATE and TIME(ms) through
 * i64 too; DECIMAL takes the unscaled value as 16 LE bytes or via i64. */
int st_col_append_null(st_column_t *c);
int st_col_append_bool(st_column_t *c, bool v);
int st_col_append_i64(st_column_t *c, int64_t v);
int st_col_append_u64(st_column_t *c, uint64_t v);
int st_col_append_double(st_column_t *c, double v);
int st_col_append_bytes(st_column_t *c, const void *data, size_t n);
int st_col_append_decimal128(st_column_t *c, const uint8_t le16[16]);
int st_batch_end_row(st_batch_t *b);

/* Reading values back. */
bool st_col_is_null(const st_column_t *c, int64_t i);
bool st_col_get_bool(const st_column_t *c, int64_t i);
int64_t st_col_get_i64(const st_column_t *c, int64_t i);   /* any signed int, DATE, TIME, TIMESTAMP */
uint64_t st_col_get_u64(const st_column_t *c, int64_t i);  /* any unsigned int */
double st_col_get_double(const st_column_t *c, int64_t i); /* FLOAT or DOUBLE */
/* Var-len and fixed-width bytes (STRING, BINARY, JSON, FIXED, UUID, DECIMAL). */
const uint8_t *st_col_get_bytes(const st_column_t *c, int64_t i, size_t *n);

/* Appends the value at row i as canonical JSON (the Parquet corpus form). */
int st_col_value_json(const st_column_t *c, int64_t i, st_buf_t *out);
/* Appends the value at row i as plain text: the canonical JSON form without
 * quotes or escapes (strings raw, binary as lowercase hex). A null appends
 * nothing. */
int st_col_value_text(const st_column_t *c, int64_t i, st_buf_t *out);

/* ---- Arrow C Data Interface --------------------------------------------- */

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE
#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};
#endif

/* Exports the batch as a struct array (format "+s", one child per column).
 * The batch is moved: on success *b is left empty and freed by the released
 * ArrowArray; the schema and array are released by their consumer. */
int st_batch_export(st_batch_t **b, struct ArrowSchema *schema, struct ArrowArray *array);
/* Copies a struct array into a new batch; the caller still releases the inputs.
 * Types strata has no equivalent for are refused with ST_EUNSUPPORTED. */
int st_batch_import(const struct ArrowSchema *schema, const struct ArrowArray *array,
                    st_batch_t **out);

#ifdef __cplusplus
}
#endif
#endif
