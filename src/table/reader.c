/* Opening CSV / JSON Lines input, buffered reading, and the parts of the row
 * loop both formats share. */
#include "reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define READ_CHUNK 65536

int tbl_rd_peek(st_table_reader_t *r, int *rc) {
    if (r->pos < r->len) return (unsigned char)r->buf[r->pos];
    if (r->eof) return -1;
    r->pos = 0;
    r->len = fread(r->buf, 1, READ_CHUNK, r->fp);
    if (r->len == 0) {
        r->eof = true;
        if (ferror(r->fp)) *rc = st_error(ST_EIO, "%s: read failed: %s", r->path, strerror(errno));
        return -1;
    }
    return (unsigned char)r->buf[0];
}

bool tbl_rd_line(st_table_reader_t *r, st_buf_t *out, int *rc) {
    st_buf_reset(out);
    bool any = false;
    for (;;) {
        if (r->pos >= r->len && tbl_rd_peek(r, rc) < 0) return any;
        any = true;
        const char *start = r->buf + r->pos;
        size_t avail = r->len - r->pos;
        const char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;
        if ((*rc = st_buf_append(out, start, take))) return false;
        r->pos += take;
        if (nl) {
            r->pos++;
            r->line++;
            return true;
        }
    }
}

static uint64_t hash_name(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

int tbl_reader_field(const st_table_reader_t *r, const char *name, size_t n) {
    size_t mask = r->nslots - 1;
    for (size_t k = hash_name(name, n) & mask;; k = (k + 1) & mask) {
        int f = r->slots[k];
        if (f < 0) return -1;
        const char *fn = r->fields[f].name;
        if (strlen(fn) == n && !memcmp(fn, name, n)) return f;
    }
}

void tbl_reader_rollback(st_batch_t *b) {
    for (int i = 0; i < b->ncols; i++)
        tbl_col_truncate(&b->cols[i], b->nrows);
}

static st_text_format_t format_from_path(const char *path) {
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/')) return ST_FORMAT_AUTO;
    if (!strcasecmp(dot, ".csv")) return ST_FORMAT_CSV;
    if (!strcasecmp(dot, ".jsonl") || !strcasecmp(dot, ".ndjson")) return ST_FORMAT_JSONL;
    return ST_FORMAT_AUTO;
}

void st_table_reader_close(st_table_reader_t *r) {
    if (!r) return;
    if (r->own_fp && r->fp) fclose(r->fp);
    for (int i = 0; i < r->nfields; i++)
        free(r->fields[i].name);
    free(r->fields);
    free(r->slots);
    free(r->field_cell);
    free(r->buf);
    free(r->path);
    free(r->member);
    st_buf_free(&r->rec);
    st_buf_free(&r->cells);
    st_buf_free(&r->linebuf);
    tj_doc_free(&r->doc);
    free(r);
}

static int copy_fields(st_table_reader_t *r, const st_field_t *fields, int nfields) {
    r->fields = nfields ? calloc((size_t)nfields, sizeof *r->fields) : NULL;
    r->nslots = 8;
    while (r->nslots < 2 * (size_t)nfields)
        r->nslots *= 2;
    r->slots = malloc(r->nslots * sizeof *r->slots);
    if ((nfields && !r->fields) || !r->slots) return st_error(ST_ENOMEM, "out of memory");
    memset(r->slots, 0xff, r->nslots * sizeof *r->slots);
    for (int i = 0; i < nfields; i++) {
        r->fields[i] = fields[i];
        r->fields[i].name = strdup(fields[i].name);
        if (!r->fields[i].name) return st_error(ST_ENOMEM, "out of memory");
        r->nfields = i + 1;
        size_t n = strlen(fields[i].name);
        if (tbl_reader_field(r, fields[i].name, n) >= 0)
            return st_error(ST_EINVAL, "field '%s' is listed twice", fields[i].name);
        size_t mask = r->nslots - 1, k = hash_name(fields[i].name, n) & mask;
        while (r->slots[k] >= 0)
            k = (k + 1) & mask;
        r->slots[k] = i;
    }
    return ST_OK;
}

int st_table_reader_open(const char *path, st_text_format_t fmt, const st_field_t *fields,
                         int nfields, bool strict, st_table_reader_t **out) {
    *out = NULL;
    if (!path || nfields < 0 || (nfields && !fields))
        return st_error(ST_EINVAL, "st_table_reader_open: bad arguments");
    bool is_stdin = !strcmp(path, "-");
    if (fmt == ST_FORMAT_AUTO) {
        if (is_stdin)
            return st_error(ST_EINVAL,
                            "reading from stdin needs an explicit format (csv or jsonl)");
        fmt = format_from_path(path);
        if (fmt == ST_FORMAT_AUTO)
            return st_error(ST_EINVAL,
                            "%s: cannot tell the format from the name; use .csv or "
                            ".jsonl, or give the format",
                            path);
    }
    st_table_reader_t *r = calloc(1, sizeof *r);
    if (!r) return st_error(ST_ENOMEM, "out of memory");
    r->fmt = fmt;
    r->strict = strict;
    r->line = 1;
    r->path = strdup(is_stdin ? "<stdin>" : path);
    r->buf = malloc(READ_CHUNK);
    int rc = (!r->path || !r->buf) ? st_error(ST_ENOMEM, "out of memory") : ST_OK;
    if (!rc) rc = copy_fields(r, fields, nfields);
    if (!rc && fmt == ST_FORMAT_JSONL && nfields) {
        r->member = calloc((size_t)nfields, sizeof *r->member);
        if (!r->member) rc = st_error(ST_ENOMEM, "out of memory");
    }
    if (!rc) {
        if (is_stdin) {
            r->fp = stdin;
        } else {
            r->fp = fopen(path, "rb");
            r->own_fp = r->fp != NULL;
            if (!r->fp) {
                int e = errno;
                rc = st_error(e == ENOENT ? ST_ENOTFOUND : ST_EIO, "%s: %s", path, strerror(e));
            }
        }
    }
    if (!rc && fmt == ST_FORMAT_CSV) rc = tbl_csv_open(r);
    if (rc) {
        st_table_reader_close(r);
        return rc;
    }
    *out = r;
    return ST_OK;
}

int st_table_reader_next(st_table_reader_t *r, st_batch_t *batch, int64_t max_rows,
                         int64_t *nread) {
    *nread = 0;
    if (max_rows <= 0) return st_error(ST_EINVAL, "%s: max_rows must be positive", r->path);
    if (batch->ncols != r->nfields)
        return st_error(ST_EINVAL, "%s: batch has %d columns, the reader %d fields", r->path,
                        batch->ncols, r->nfields);
    for (int i = 0; i < r->nfields; i++) {
        if (!st_type_equal(&batch->cols[i].field.type, &r->fields[i].type))
            return st_error(ST_EINVAL, "%s: batch column %d ('%s') does not match field '%s'",
                            r->path, i, batch->cols[i].field.name, r->fields[i].name);
    }
    if (r->fmt == ST_FORMAT_CSV) return tbl_csv_next(r, batch, max_rows, nread);
    return tbl_jsonl_next(r, batch, max_rows, nread);
}

int64_t st_table_reader_line(const st_table_reader_t *r) { return r->row_line; }
