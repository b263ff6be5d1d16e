/*
 * Private to the table layer: 128-bit decimal helpers, column surgery used to
 * undo a half-appended row, and the small JSON parser that CSV/JSONL reading and
 * schema files share (it keeps number literals as written, which a general JSON
 * library does not, so decimals and bounds stay exact).
 */
#ifndef STRATA_TABLE_INTERNAL_H
#define STRATA_TABLE_INTERNAL_H

#include "strata/table.h"

/* ---- decimals (decimal.c) ---- */

/* 16-byte little-endian two's complement <-> native 128-bit integer. */
__int128 tbl_dec_load(const uint8_t le16[16]);
void tbl_dec_store(__int128 v, uint8_t le16[16]);
/* 10^p for p in 0..38. */
unsigned __int128 tbl_pow10_128(int p);
/* True when |v| < 10^precision. */
bool tbl_dec_fits(__int128 v, int precision);
/* Appends the unscaled value v with `scale` fraction digits ("-0.05"). */
int tbl_dec_format(__int128 v, int scale, st_buf_t *out);
/* Parses decimal text (sign, digits, optional fraction, optional exponent) into
 * an unscaled value with the given scale, exactly. On failure returns ST_ETYPE
 * and writes a short reason ("more than 3 fraction digits") to `why`. */
int tbl_dec_parse(const char *s, size_t n, int precision, int scale, __int128 *out,
                  const char **why);

/* ---- columns (batch.c) ---- */

/* Drops rows from `len` on (len <= c->length), keeping buffers consistent. */
void tbl_col_truncate(st_column_t *c, int64_t len);
/* Appends one valid value's physical bytes without type checks: `n` bytes for
 * fixed-width types, the data for var-len ones, one byte 0/1 for BOOL. */
int tbl_col_append_raw(st_column_t *c, const void *data, size_t n);
/* Frees a column's name and buffers. */
void tbl_col_free(st_column_t *c);
/* Initialises an empty column for a copy of `f` (name duplicated). */
int tbl_col_init(st_column_t *c, const st_field_t *f);

/* ---- JSON (tjson.c) ---- */

typedef enum tj_kind {
    TJ_NULL,
    TJ_FALSE,
    TJ_TRUE,
    TJ_NUMBER,
    TJ_STRING,
    TJ_ARRAY,
    TJ_OBJECT
} tj_kind;

typedef struct tj_value tj_value;
struct tj_value {
    tj_kind kind;
    int line, col;  /* 1-based position of the value's first byte */
    size_t raw_off; /* the value's source text: src[raw_off .. raw_off + raw_len) */
    size_t raw_len;
    const char *str;   /* STRING: unescaped, NUL-terminated; NUMBER: the literal */
    size_t len;        /* bytes in str (a string may hold NUL) */
    bool utf8_ok;      /* STRING: str is valid UTF-8 (lone surrogate escapes are not) */
    int n;             /* ARRAY / OBJECT: number of items */
    tj_value *items;   /* ARRAY / OBJECT items, in source order */
    const char **keys; /* OBJECT: unescaped member names, parallel to items */
};

/* A parsed document; all nodes and strings live in its arena. */
typedef struct tj_doc {
    tj_value *root;
    void *blocks;   /* private: arena block list, newest first */
    size_t total;   /* private: bytes held by the arena */
    st_buf_t stack; /* private: items of open arrays/objects while parsing */
    /* After a syntax error: where and what (also in the error message). */
    int err_line, err_col;
    const char *err_what;
} tj_doc;

/* Parses src[0..n) (one JSON text, whitespace around it allowed). On failure
 * returns ST_ECORRUPT with the message "line L, column C: <problem>". `doc` is
 * reusable: a second parse into it recycles its memory. */
int tj_parse(tj_doc *doc, const char *src, size_t n);
void tj_doc_free(tj_doc *doc);
/* Appends the value's source text without insignificant whitespace. */
int tj_append_compact(const char *src, const tj_value *v, st_buf_t *out);
/* Member of an object by name, or NULL. */
const tj_value *tj_get(const tj_value *obj, const char *key);

#endif
