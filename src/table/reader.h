/*
 * Private to the table layer: the state of a CSV / JSON Lines reader. reader.c
 * owns opening, buffered input and the row loop's shared parts; csv.c and
 * jsonl.c turn records into rows.
 */
#ifndef STRATA_TABLE_READER_H
#define STRATA_TABLE_READER_H

#include <stdio.h>

#include "strata/schema.h"
#include "table_internal.h"

/* One CSV cell of the current record: bytes rec[off .. off+len). */
typedef struct tbl_cell {
    size_t off, len;
    int64_t line; /* where the cell starts */
    bool quoted;
} tbl_cell;

struct st_table_reader {
    char *path; /* as shown in messages ("<stdin>" for "-") */
    FILE *fp;
    bool own_fp;
    st_text_format_t fmt;
    st_field_t *fields;
    int nfields;
    bool strict;
    int64_t row_line; /* first line of the last row read */
    int64_t line;     /* line of the next unread byte */
    /* buffered input */
    char *buf;
    size_t pos, len;
    bool eof;
    /* field lookup by name: open addressing, -1 = empty */
    int *slots;
    size_t nslots;
    /* CSV */
    int ncols;       /* header cells */
    int *field_cell; /* per field: header position, or -1 */
    st_buf_t rec;    /* cell bytes of the current record */
    st_buf_t cells;  /* tbl_cell array of the current record */
    /* JSONL */
    st_buf_t linebuf;
    tj_doc doc;
    const tj_value **member; /* per field: the row's value or NULL */
};

/* Buffered input: the next byte without consuming it, or -1 at the end of the
 * input; ST_EIO is reported through *rc. */
int tbl_rd_peek(st_table_reader_t *r, int *rc);
static inline int tbl_rd_get(st_table_reader_t *r, int *rc) {
    if (r->pos < r->len) return (unsigned char)r->buf[r->pos++];
    int c = tbl_rd_peek(r, rc);
    if (c >= 0) r->pos++;
    return c;
}
/* Reads through the next '\n' (not kept) into `out` (reset first); false at the
 * end of the input. */
bool tbl_rd_line(st_table_reader_t *r, st_buf_t *out, int *rc);

/* Field index of a name, or -1. */
int tbl_reader_field(const st_table_reader_t *r, const char *name, size_t n);

/* Drops the partial row after a failure so every column keeps nrows values. */
void tbl_reader_rollback(st_batch_t *b);

int tbl_csv_open(st_table_reader_t *r);
int tbl_csv_next(st_table_reader_t *r, st_batch_t *b, int64_t max_rows, int64_t *nread);
int tbl_jsonl_next(st_table_reader_t *r, st_batch_t *b, int64_t max_rows, int64_t *nread);

#endif
