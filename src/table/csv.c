/* CSV input (RFC 4180): records with quoted fields, "" escapes, CRLF or LF line
 * ends and newlines inside quotes; the header names the columns. */
#include "reader.h"

#include <stdlib.h>
#include <string.h>

/* Ends the current cell and records it. */
static int push_cell(st_table_reader_t *r, tbl_cell *cell) {
    cell->len = r->rec.len - cell->off;
    return st_buf_append(&r->cells, cell, sizeof *cell);
}

/* After a line-end candidate '\r': true (and consumed) when it ends the line. */
static bool cr_ends_line(st_table_reader_t *r, int *rc) {
    int p = tbl_rd_peek(r, rc);
    if (p == '\n') {
        r->pos++;
        return true;
    }
    return p < 0;
}

/* Reads one record into r->rec / r->cells, skipping blank lines. Returns 1 with
 * a record, 0 at the end of the input, or a negative status. */
static int read_record(st_table_reader_t *r) {
    int rc = ST_OK;
    for (;;) {
        st_buf_reset(&r->rec);
        st_buf_reset(&r->cells);
        if (tbl_rd_peek(r, &rc) < 0) return rc;
        r->row_line = r->line;
        bool end = false;
        while (!end) {
            tbl_cell cell = {r->rec.len, 0, r->line, false};
            int c = tbl_rd_get(r, &rc);
            if (c == '"') {
                cell.quoted = true;
                for (;;) {
                    /* Copy the plain run up to the next quote or newline in one go. */
                    size_t k = r->pos;
                    while (k < r->len && r->buf[k] != '"' && r->buf[k] != '\n')
                        k++;
                    if ((rc = st_buf_append(&r->rec, r->buf + r->pos, k - r->pos))) return rc;
                    r->pos = k;
                    c = tbl_rd_get(r, &rc);
                    if (c < 0) {
                        if (rc) return rc;
                        return st_error(ST_ECORRUPT, "%s: line %lld: quoted field never closed",
                                        r->path, (long long)cell.line);
                    }
                    if (c == '"') {
                        if (tbl_rd_peek(r, &rc) != '"') break;
                        r->pos++;
                    } else if (c == '\n') {
                        r->line++;
                    }
                    if ((rc = st_buf_append_byte(&r->rec, (uint8_t)c))) return rc;
                }
                c = tbl_rd_get(r, &rc);
                if (c == '\r' && cr_ends_line(r, &rc)) c = '\n';
                if (c == '\n') r->line++;
                if (c < 0 || c == '\n')
                    end = true;
                else if (c != ',')
                    return st_error(ST_ECORRUPT,
                                    "%s: line %lld: unexpected character after a closing quote "
                                    "(a quote inside a quoted field is written \"\")",
                                    r->path, (long long)r->line);
            } else {
                for (;;) {
                    if (c == '\r' && cr_ends_line(r, &rc)) c = '\n';
                    if (c < 0 || c == '\n') {
                        if (c == '\n') r->line++;
                        end = true;
                        break;
                    }
                    if (c == ',') break;
                    if ((rc = st_buf_append_byte(&r->rec, (uint8_t)c))) return rc;
                    size_t k = r->pos;
                    while (k < r->len && r->buf[k] != ',' && r->buf[k] != '\n' && r->buf[k] != '\r')
                        k++;
                    if ((rc = st_buf_append(&r->rec, r->buf + r->pos, k - r->pos))) return rc;
                    r->pos = k;
                    c = tbl_rd_get(r, &rc);
                }
            }
            if (rc) return rc;
            if ((rc = push_cell(r, &cell))) return rc;
        }
        const tbl_cell *cells = (const tbl_cell *)r->cells.data;
        bool blank = r->cells.len == sizeof(tbl_cell) && cells[0].len == 0 && !cells[0].quoted;
        if (!blank) return 1;
    }
}

int tbl_csv_open(st_table_reader_t *r) {
    int rc = ST_OK;
    r->field_cell = malloc((size_t)(r->nfields ? r->nfields : 1) * sizeof *r->field_cell);
    if (!r->field_cell) return st_error(ST_ENOMEM, "out of memory");
    for (int f = 0; f < r->nfields; f++)
        r->field_cell[f] = -1;
    /* A byte order mark is how some spreadsheets say "UTF-8". */
    if (tbl_rd_peek(r, &rc) == 0xef && r->len - r->pos >= 3 &&
        !memcmp(r->buf + r->pos, "\xef\xbb\xbf", 3))
        r->pos += 3;
    if (rc) return rc;
    rc = read_record(r);
    if (rc <= 0) return rc; /* empty input: no header, no rows */
    const tbl_cell *cells = (const tbl_cell *)r->cells.data;
    r->ncols = (int)(r->cells.len / sizeof *cells);
    for (int k = 0; k < r->ncols; k++) {
        const char *name = (const char *)r->rec.data + cells[k].off;
        int f = tbl_reader_field(r, name, cells[k].len);
        int shown = cells[k].len > 100 ? 100 : (int)cells[k].len;
        if (f < 0) {
            if (r->strict)
                return st_error(ST_EVALIDATION, "%s: line %lld: column '%.*s' is not in the schema",
                                r->path, (long long)r->row_line, shown, name);
            continue;
        }
        if (r->field_cell[f] >= 0)
            return st_error(ST_EVALIDATION,
                            "%s: line %lld: column '%.*s' appears twice in the "
                            "header",
                            r->path, (long long)r->row_line, shown, name);
        r->field_cell[f] = k;
    }
    return ST_OK;
}

static int append_row(st_table_reader_t *r, st_batch_t *b) {
    const tbl_cell *cells = (const tbl_cell *)r->cells.data;
    for (int f = 0; f < r->nfields; f++) {
        st_column_t *col = &b->cols[f];
        int k = r->field_cell[f];
        int rc;
        if (k < 0) {
            rc = st_col_append_null(col);
        } else {
            const char *text = (const char *)r->rec.data + cells[k].off;
            st_type_id id = col->field.type.id;
            if (cells[k].len == 0 && cells[k].quoted &&
                (id == ST_TYPE_STRING || id == ST_TYPE_BINARY))
                rc = st_col_append_bytes(col, "", 0);
            else
                rc = st_coerce_append(col, text, cells[k].len);
            if (rc)
                return st_error_prefix(rc, "%s: line %lld, column %s", r->path,
                                       (long long)cells[k].line, col->field.name);
        }
        if (rc) return rc;
    }
    return st_batch_end_row(b);
}

int tbl_csv_next(st_table_reader_t *r, st_batch_t *b, int64_t max_rows, int64_t *nread) {
    if (r->ncols == 0) return ST_OK;
    while (*nread < max_rows) {
        int rc = read_record(r);
        if (rc == 0) break;
        if (rc < 0) return rc;
        int ncells = (int)(r->cells.len / sizeof(tbl_cell));
        if (ncells != r->ncols)
            return st_error(ST_EVALIDATION, "%s: line %lld: expected %d cells, found %d", r->path,
                            (long long)r->row_line, r->ncols, ncells);
        if ((rc = append_row(r, b))) {
            tbl_reader_rollback(b);
            return rc;
        }
        (*nread)++;
    }
    return ST_OK;
}
