/* JSON Lines input: one object per line, members matched to fields by name.
 * JSON values keep their literal text on the way in, so numbers reach decimal
 * columns exactly and nothing is converted twice. */
#include "reader.h"

#include <string.h>

static bool blank_line(const st_buf_t *line) {
    for (size_t i = 0; i < line->len; i++) {
        char c = (char)line->data[i];
        if (c != ' ' && c != '\t' && c != '\r') return false;
    }
    return true;
}

static int append_value(st_table_reader_t *r, st_column_t *col, const tj_value *v) {
    st_type_id id = col->field.type.id;
    switch (v->kind) {
    case TJ_NULL: return st_col_append_null(col);
    case TJ_TRUE:
    case TJ_FALSE:
        if (id == ST_TYPE_BOOL) return st_col_append_bool(col, v->kind == TJ_TRUE);
        return v->kind == TJ_TRUE ? st_coerce_append(col, "true", 4)
                                  : st_coerce_append(col, "false", 5);
    case TJ_NUMBER: return st_coerce_append(col, v->str, v->len);
    case TJ_STRING:
        if (!v->utf8_ok) return st_error(ST_ETYPE, "invalid UTF-8 in a string");
        if (v->len == 0 && (id == ST_TYPE_STRING || id == ST_TYPE_BINARY))
            return st_col_append_bytes(col, "", 0);
        return st_coerce_append(col, v->str, v->len);
    case TJ_ARRAY:
    case TJ_OBJECT: {
        if (id != ST_TYPE_JSON) {
            char tname[48];
            st_type_format(&col->field.type, tname, sizeof tname);
            return st_error(ST_ETYPE, "a JSON %s is not a valid %s",
                            v->kind == TJ_ARRAY ? "array" : "object", tname);
        }
        /* Objects and arrays keep their source text, minus insignificant blanks. */
        st_buf_t text = ST_BUF_INIT;
        int rc = tj_append_compact((const char *)r->linebuf.data, v, &text);
        if (!rc) rc = st_col_append_bytes(col, text.data ? (const char *)text.data : "", text.len);
        st_buf_free(&text);
        return rc;
    }
    }
    return st_error(ST_EINVAL, "bad JSON value");
}

/* Parses the current line and appends its row. */
static int append_row(st_table_reader_t *r, st_batch_t *b) {
    int rc = tj_parse(&r->doc, (const char *)r->linebuf.data, r->linebuf.len);
    if (rc == ST_ECORRUPT)
        return st_error(ST_ECORRUPT, "%s: line %lld: invalid JSON at character %d: %s", r->path,
                        (long long)r->row_line, r->doc.err_col, r->doc.err_what);
    if (rc) return rc;
    const tj_value *obj = r->doc.root;
    if (obj->kind != TJ_OBJECT)
        return st_error(ST_ECORRUPT, "%s: line %lld: expected a JSON object", r->path,
                        (long long)r->row_line);
    memset(r->member, 0, (size_t)r->nfields * sizeof *r->member);
    for (int k = 0; k < obj->n; k++) {
        const char *key = obj->keys[k];
        int f = tbl_reader_field(r, key, strlen(key));
        if (f < 0) {
            if (r->strict)
                return st_error(ST_EVALIDATION,
                                "%s: line %lld: member '%.100s' is not in the "
                                "schema",
                                r->path, (long long)r->row_line, key);
            continue;
        }
        if (r->member[f])
            return st_error(ST_EVALIDATION, "%s: line %lld: member '%.100s' appears twice", r->path,
                            (long long)r->row_line, key);
        r->member[f] = &obj->items[k];
    }
    for (int f = 0; f < r->nfields; f++) {
        st_column_t *col = &b->cols[f];
        rc = r->member[f] ? append_value(r, col, r->member[f]) : st_col_append_null(col);
        if (rc)
            return st_error_prefix(rc, "%s: line %lld, column %s", r->path, (long long)r->row_line,
                                   col->field.name);
    }
    return st_batch_end_row(b);
}

int tbl_jsonl_next(st_table_reader_t *r, st_batch_t *b, int64_t max_rows, int64_t *nread) {
    while (*nread < max_rows) {
        int rc = ST_OK;
        int64_t line = r->line;
        if (!tbl_rd_line(r, &r->linebuf, &rc)) return rc;
        if (blank_line(&r->linebuf)) continue;
        r->row_line = line;
        if ((rc = append_row(r, b))) {
            tbl_reader_rollback(b);
            return rc;
        }
        (*nread)++;
    }
    return ST_OK;
}
