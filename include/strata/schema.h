/*
 * strata schemas: the schema file format, and reading CSV / JSON Lines into
 * batches with type coercion.
 *
 * A schema file is the contract for `--schema FILE` and for the schema registry:
 *
 *   {
 *     "name": "borelog_versions",           table name: letters, digits, _ - . (1..128)
 *     "version": 1,                         integer >= 1 (default 1)
 *     "description": "...",                 optional
 *     "strict": false,                      true: refuse columns the schema does not name
 *     "primary_key": ["borelog_id", ...],   optional; names of fields, no repeats
 *     "fields": [                           at least one field
 *       {"name": "depth_m", "type": "decimal(8,3)", "nullable": true,
 *        "description": "...", "unique": false,
 *        "min": 0, "max": 2000,             numeric, decimal, date, time, timestamp fields
 *        "min_length": 0, "max_length": 4000,   string, binary, json fields
 *        "pattern": "^BH-[0-9]+$",          PCRE2, string fields (compiled by validation)
 *        "enum": ["a", "b"]}                strings, each a valid value of the field's type
 *     ]
 *   }
 *
 * Types are spelled as st_type_parse() reads them (table.h). Parsing is strict
 * about what it knows and open to what it does not: a known key with the wrong
 * JSON type, an unknown type, a repeated field name, bad decimal parameters,
 * min > max, negative lengths or a primary key naming an unknown field are
 * errors, with messages such as
 *   borehole.schema.json: field 'depth_m': unknown type 'decmal(8,3)'
 * while keys this version does not know are accepted and ignored, so the format
 * can grow by adding keys. Constraints are only parsed here; enforcing them is
 * the validation layer's job.
 */
#ifndef STRATA_SCHEMA_H
#define STRATA_SCHEMA_H

#include "strata/table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One field of a schema: the plain field plus its documentation and constraints. */
typedef struct st_schema_field {
    st_field_t field;  /* name, type, nullable (default true) */
    char *description; /* or NULL */
    bool unique;
    /* Bounds. `min`/`max` hold the value as a number: for numeric and decimal
     * fields the number itself (decimals rounded to double; use min_text for the
     * exact value), for DATE the days since the epoch, for TIME and TIMESTAMP the
     * count of the field's unit. min_text/max_text keep the bound as written in
     * the file (a JSON number's literal or the string), NULL when absent. */
    bool has_min, has_max;
    double min, max;
    char *min_text, *max_text;
    int64_t min_length, max_length; /* -1 when absent; characters (code points) for
                                     * string and json fields, bytes for binary */
    char *pattern;                  /* PCRE2 pattern text or NULL (compiled later) */
    char **enum_values;             /* NULL when absent */
    int n_enum;
} st_schema_field_t;

typedef struct st_schema {
    char *name;
    int version;
    char *description; /* or NULL */
    bool strict;
    char **primary_key; /* field names, NULL when absent */
    int n_primary_key;
    st_schema_field_t *fields;
    int nfields;
    /* Private: the plain fields as one array, returned by st_schema_fields. Set
     * by st_schema_parse; names point into `fields`. */
    st_field_t *plain_fields;
} st_schema_t;

/* Parses a schema file held in json[0..n). `origin` names the file in error
 * messages (NULL: "schema"); when the file has no "name", the name is taken from
 * origin's base name without ".schema.json" / ".json". ST_EINVAL on any error.
 * Free the result with st_schema_free. */
int st_schema_parse(const char *json, size_t n, const char *origin, st_schema_t **out);
/* Reads and parses a local schema file (ST_ENOTFOUND / ST_EIO / ST_EINVAL). */
int st_schema_load(const char *path, st_schema_t **out);
void st_schema_free(st_schema_t *s);
/* Appends the schema as a JSON document in the file format (one field per line,
 * keys in a fixed order, defaults omitted). Parsing the output gives back an
 * equal schema; keys unknown to this version are not kept. */
int st_schema_to_json(const st_schema_t *s, st_buf_t *out);
/* The plain fields, for st_batch_new and the Parquet writer; owned by s and
 * valid until st_schema_free. Only for schemas made by st_schema_parse/load. */
const st_field_t *st_schema_fields(const st_schema_t *s);
/* Index of the named field or -1. */
int st_schema_field_index(const st_schema_t *s, const char *name);

/* ---- Reading CSV and JSON Lines ----------------------------------------- */

typedef struct st_table_reader st_table_reader_t;

typedef enum { ST_FORMAT_AUTO, ST_FORMAT_CSV, ST_FORMAT_JSONL } st_text_format_t;

/* Opens DATA.csv / DATA.jsonl (format from the extension when AUTO: .csv, or
 * .jsonl / .ndjson; "-" = stdin, which needs an explicit format) for the given
 * fields (copied; the caller's array may go away).
 *
 * CSV: RFC 4180 (quoted fields, "" escapes, CRLF or LF, embedded newlines); a
 * UTF-8 byte order mark is skipped; the first line is the header; columns are
 * matched by name (order may differ); a header column not in the fields is
 * ST_EVALIDATION when `strict`, else ignored; a field missing from the header
 * reads as null; blank lines are skipped. An unquoted empty cell is null; a
 * quoted empty cell ("") is the empty string in STRING and BINARY columns.
 *
 * JSONL: one object per line, members matched by name (unknown members are
 * ST_EVALIDATION when strict, else ignored; missing ones are null); blank lines
 * are skipped. JSON null is null; booleans and numbers convert naturally (a
 * number keeps its exact text, so decimals stay exact; into a STRING column it
 * becomes its text); strings go through st_coerce_append, except that "" is the
 * empty string in STRING and BINARY columns (so a JSON column takes a string
 * holding JSON text, which is how canonical JSON output prints JSON values); an
 * object or array into a JSON column is stored as its compact text, into any
 * other column it is ST_ETYPE.
 *
 * The reader streams: memory is bounded by the batch and the longest line. */
int st_table_reader_open(const char *path, st_text_format_t fmt, const st_field_t *fields,
                         int nfields, bool strict, st_table_reader_t **out);

/* Appends up to max_rows rows to `batch` (whose columns are the given fields, in
 * that order); *nread = rows added (0 at the end of the input).
 * On a bad cell: ST_ETYPE with
 *   "<path>: line L, column C: '<value>' is not a valid <type>[: <reason>]"
 * where C is the column's name and the value is cut to about 60 characters.
 * Ragged CSV rows (too many / too few cells) and duplicate JSONL members are
 * ST_EVALIDATION, malformed CSV quoting or JSON ST_ECORRUPT, each naming the line.
 * On an error the rows read before the bad one stay in the batch (counted in
 * *nread) and the bad row is not added; the next call continues after it. */
int st_table_reader_next(st_table_reader_t *r, st_batch_t *batch, int64_t max_rows, int64_t *nread);

/* Line number of the last row read (1-based; the line where it starts). */
int64_t st_table_reader_line(const st_table_reader_t *r);

void st_table_reader_close(st_table_reader_t *r);

/* Converts one text cell to the column's type and appends it (shared by CSV and
 * JSONL and the CLI):
 *   - empty text is null (for every type);
 *   - STRING: the text, which must be valid UTF-8; JSON: the text, which must be
 *     valid JSON, stored as written;
 *   - other types ignore blanks around the value;
 *   - integers: decimal digits with optional sign (a fraction of zeros such as
 *     "12.0" is accepted), range-checked;
 *   - DECIMAL: exact, with optional exponent; more fraction digits than the
 *     scale is an error unless the extra digits are zeros (never rounded);
 *     more digits than the precision is an error;
 *   - FLOAT / DOUBLE: strtod syntax, also "NaN", "Infinity", "-Infinity";
 *     values beyond the type's range are errors;
 *   - BOOL: true/false, yes/no, 1/0, t/f (any case);
 *   - DATE "YYYY-MM-DD"; TIME "HH:MM[:SS[.fff]]"; TIMESTAMP ISO-8601 with an
 *     optional offset, normalised to UTC; fraction digits beyond the unit are
 *     an error unless zeros;
 *   - UUID in 8-4-4-4-12 form; BINARY / FIXED as hex digits (FIXED: exact width).
 * Failure: ST_ETYPE "'<value>' is not a valid <type>[: <reason>]" and nothing
 * is appended. */
int st_coerce_append(st_column_t *col, const char *text, size_t n);


/* ---- Validation ---------------------------------------------------------- */

/* Rules and their messages ("row R, column C: " first; values cut to about 60
 * characters, strings quoted):
 *   type        invalid UTF-8 in a string or json value ('ab\xff' is not valid UTF-8);
 *               such a value is not checked by the other rules
 *   nullable    null, but the field is not nullable
 *   primary_key null in a primary key column (a key column the schema calls
 *               nullable); "row R: primary key (a, b) = ('x', 2) appears in an
 *               earlier row" for a repeated key (column NULL, value "x, 2")
 *   min, max    2500.000 is above the maximum 2000 — numbers, decimals (exact,
 *               from min_text/max_text), dates, times and timestamps (exact, in
 *               the field's unit); floats compare in float; NaN fails any bound
 *   min_length, max_length  'abcd' is 4 characters long, longer than the maximum
 *               length 3 — characters for string and json, bytes for binary
 *   pattern     'BH-1' does not match the pattern ^BH-[0-9]+$ — PCRE2 in UTF
 *               mode, anchored only as written ('$' is the very end); a value the
 *               pattern cannot decide within PCRE2's match limit also fails
 *   enum        'done' is not one of planned, drilling — exact; other types
 *               compare values ("1.50" matches a decimal enum value "1.5")
 *   unique      'x' is not unique (it appears in an earlier row) — nulls never
 *               repeat; a one-column primary key that is also unique is reported
 *               as unique only
 *   strict      added by callers (the reader checks the columns)
 * Unique and primary-key checks span every batch the validator sees and keep a
 * 64-bit fingerprint per distinct value, not the value: exact for values of
 * up to 8 bytes (integers, dates, times, timestamps, floats, bools), hashed for
 * the others (a false repeat needs a 64-bit collision, about n^2 / 2^65 for n
 * distinct values). Violations are kept in row order. A validator is not
 * thread-safe; it copies what it needs, so the schema may be freed first. */

/* One broken rule. row is 1-based over everything the validator has seen
 * (for CSV input, row 1 is the first data line). */
typedef struct st_violation {
    int64_t row;
    char *column; /* NULL for row-level rules (strict, primary key) */
    char *value;  /* the offending value as text (cut to ~60 chars), or NULL */
    char *rule;   /* "nullable", "min", "max", "min_length", "max_length",
                   * "pattern", "enum", "unique", "primary_key", "strict", "type" */
    char *message;
} st_violation_t;

typedef struct st_validator st_validator_t;

/* A validator for a schema: compiles patterns (PCRE2; a bad pattern is
 * ST_EINVAL naming the field) and keeps the state of unique / primary-key
 * checks across batches. At most max_violations are kept (0 = 100); counting
 * goes on past the limit. */
int st_validator_new(const st_schema_t *schema, int max_violations, st_validator_t **out);
/* Checks a batch whose columns are the schema's fields. Returns ST_EVALIDATION
 * (message: the first violation and the count) if any row of it breaks a rule. */
int st_validator_check(st_validator_t *v, const st_batch_t *batch);
/* Records a violation found elsewhere (a cell that did not convert: rule "type"). */
int st_validator_add(st_validator_t *v, int64_t row, const char *column, const char *value,
                     const char *rule, const char *message);
/* Counts rows without checking them (rows skipped by the caller). */
void st_validator_skip_rows(st_validator_t *v, int64_t n);
int64_t st_validator_count(const st_validator_t *v);  /* violations found in all */
const st_violation_t *st_validator_violations(const st_validator_t *v, int *n);
/* Human report: one line per kept violation, then the total. */
int st_validator_report(const st_validator_t *v, st_buf_t *out);
void st_validator_free(st_validator_t *v);

/* ---- Registry ------------------------------------------------------------ */

/* A set of schemas by name: the built-in pack (schemas/ in the source tree,
 * compiled into the library) plus, optionally, every *.json file of a
 * directory (which override built-ins of the same name). */
typedef struct st_registry st_registry_t;

int st_registry_open(const char *dir, st_registry_t **out); /* dir may be NULL */
void st_registry_free(st_registry_t *r);
int st_registry_count(const st_registry_t *r);
const st_schema_t *st_registry_at(const st_registry_t *r, int i); /* sorted by name */
/* ST_ENOTFOUND naming the table and listing close names. */
int st_registry_get(const st_registry_t *r, const char *name, const st_schema_t **out);

#ifdef __cplusplus
}
#endif
#endif
