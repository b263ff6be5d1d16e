/* Filter expressions: the canonical text form and binding to a schema (column
 * lookup, literals converted to the column's type by the same coercion CSV
 * cells go through, so '2024-01-01' means the same thing in a file and in a
 * filter). */
#include "expr_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- formatting ---- */

static const char *const keywords[] = {"and", "or", "not", "in", "is", "null", "true", "false"};

/* A name can stay bare when the lexer would read it back as the same
 * identifier: letters, digits, '_', non-ASCII bytes, not starting with a
 * digit, and not a keyword. */
static bool bare_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80 ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
        if (!strcasecmp(s, keywords[k])) return false;
    return true;
}

static int append_quoted(st_buf_t *out, const char *s, char q) {
    int rc = st_buf_append_byte(out, (uint8_t)q);
    for (const char *p = s; !rc && *p; p++) {
        if (*p == q) rc = st_buf_append_byte(out, (uint8_t)q);
        if (!rc) rc = st_buf_append_byte(out, (uint8_t)*p);
    }
    if (!rc) rc = st_buf_append_byte(out, (uint8_t)q);
    return rc;
}

static int append_name(st_buf_t *out, const char *name) {
    return bare_name(name) ? st_buf_append_str(out, name) : append_quoted(out, name, '"');
}

static int append_literal(st_buf_t *out, const st_expr_t *e, int k) {
    const char *lit = e->literals[k];
    if (!lit) return st_buf_append_str(out, "null");
    if (e->quoted && e->quoted[k]) return append_quoted(out, lit, '\'');
    return st_buf_append_str(out, lit);
}

static int format_node(const st_expr_t *e, st_buf_t *out);

static int format_child(const st_expr_t *child, bool parens, st_buf_t *out) {
    int rc = parens ? st_buf_append_byte(out, '(') : ST_OK;
    if (!rc) rc = format_node(child, out);
    if (!rc && parens) rc = st_buf_append_byte(out, ')');
    return rc;
}

static int format_node(const st_expr_t *e, st_buf_t *out) {
    static const char *ops[] = {"=", "!=", "<", "<=", ">", ">="};
    int rc = ST_OK;
    switch (e->kind) {
    case ST_EXPR_AND:
    case ST_EXPR_OR: {
        /* Chains associate to the left: a right child of the same kind, and
         * an OR under an AND, need parentheses to come back as the same tree. */
        bool is_and = e->kind == ST_EXPR_AND;
        bool lp = is_and && e->left->kind == ST_EXPR_OR;
        bool rp = e->right->kind == e->kind || (is_and && e->right->kind == ST_EXPR_OR);
        rc = format_child(e->left, lp, out);
        if (!rc) rc = st_buf_append_str(out, is_and ? " and " : " or ");
        if (!rc) rc = format_child(e->right, rp, out);
        return rc;
    }
    case ST_EXPR_NOT:
        rc = st_buf_append_str(out, "not ");
        if (!rc)
            rc = format_child(e->left, e->left->kind == ST_EXPR_AND || e->left->kind == ST_EXPR_OR,
                              out);
        return rc;
    case ST_EXPR_CMP:
        rc = append_name(out, e->column);
        if (!rc) rc = st_buf_printf(out, " %s ", ops[e->op]);
        if (!rc) rc = append_literal(out, e, 0);
        return rc;
    case ST_EXPR_IN:
        rc = append_name(out, e->column);
        if (!rc) rc = st_buf_append_str(out, e->negated ? " not in (" : " in (");
        for (int k = 0; !rc && k < e->nliterals; k++) {
            if (k) rc = st_buf_append_str(out, ", ");
            if (!rc) rc = append_literal(out, e, k);
        }
        if (!rc) rc = st_buf_append_byte(out, ')');
        return rc;
    case ST_EXPR_IS_NULL:
        rc = append_name(out, e->column);
        if (!rc) rc = st_buf_append_str(out, e->negated ? " is not null" : " is null");
        return rc;
    }
    return st_error(ST_EINVAL, "filter: unknown expression node %d", (int)e->kind);
}

int st_expr_format(const st_expr_t *e, st_buf_t *out) {
    if (!e || !out) return st_error(ST_EINVAL, "st_expr_format: NULL argument");
    return format_node(e, out);
}

/* ---- binding ---- */

static int find_column(const char *name, const st_field_t *fields, int nfields) {
    for (int i = 0; i < nfields; i++)
        if (!strcmp(fields[i].name, name)) return i;
    /* SQL users expect names to match regardless of case; only when that is
     * unambiguous. */
    int found = -1;
    for (int i = 0; i < nfields; i++) {
        if (strcasecmp(fields[i].name, name)) continue;
        if (found >= 0) return -2;
        found = i;
    }
    return found;
}

static int not_found(const char *name, int why, const st_field_t *fields, int nfields) {
    st_buf_t list = ST_BUF_INIT;
    for (int i = 0; i < nfields && i < 20; i++)
        st_buf_printf(&list, "%s%s", i ? ", " : "", fields[i].name);
    if (nfields > 20) st_buf_printf(&list, ", ... (%d in all)", nfields);
    st_buf_append_byte(&list, 0);
    int rc;
    if (why == -2)
        rc = st_error(ST_ENOTFOUND, "filter: column '%s' is ambiguous (names differ only in case)",
                      name);
    else
        rc = st_error(ST_ENOTFOUND, "filter: no column '%s' (columns: %s)", name,
                      list.data ? (const char *)list.data : "");
    st_buf_free(&list);
    return rc;
}

static void free_values(st_expr_t *e) {
    if (!e->values) return;
    st_batch_t *b = calloc(1, sizeof *b);
    if (b) {
        b->ncols = 1;
        b->cols = e->values;
        st_batch_free(b);
    }
    e->values = NULL;
}

/* What kind of literal a type takes: numbers for numeric columns, true/false
 * for booleans, quoted text for the rest. */
typedef enum { LIT_NUMBER, LIT_BOOL, LIT_TEXT } lit_kind_t;

static lit_kind_t wanted(const st_type_t *t) {
    switch (ds_type_class(t)) {
    case DS_CLS_INT:
    case DS_CLS_FLOAT:
    case DS_CLS_DECIMAL: return LIT_NUMBER;
    case DS_CLS_BOOL: return LIT_BOOL;
    default: return LIT_TEXT;
    }
}

/* Refuses a literal of the wrong kind for the field (a string compared with a
 * number column, ...), naming both. */
static int check_kind(const st_expr_t *e, int k, const st_field_t *f) {
    const char *lit = e->literals[k];
    if (!lit) return ST_OK;
    bool quoted = e->quoted && e->quoted[k];
    bool is_bool = !quoted && (!strcmp(lit, "true") || !strcmp(lit, "false"));
    lit_kind_t have = quoted ? LIT_TEXT : is_bool ? LIT_BOOL : LIT_NUMBER;
    lit_kind_t want = wanted(&f->type);
    if (have == want) return ST_OK;
    static const char *names[] = {"a number", "a boolean", "a 'quoted' value"};
    char type[48], shown[80];
    st_type_format(&f->type, type, sizeof type);
    snprintf(shown, sizeof shown, quoted ? "'%.60s%s'" : "%.60s%s", lit,
             strlen(lit) > 60 ? "..." : "");
    return st_error(ST_ETYPE, "filter: column %s is %s and compares with %s, not %s %s", f->name,
                    type, names[want],
                    have == LIT_TEXT   ? "the string"
                    : have == LIT_BOOL ? "the boolean"
                                       : "the number",
                    shown);
}

static int append_literal_value(st_column_t *col, const char *lit) {
    if (!lit) return st_col_append_null(col);
    size_t n = strlen(lit);
    /* Coercion reads empty text as null; a quoted '' is the empty string. */
    if (n == 0 && (col->field.type.id == ST_TYPE_STRING || col->field.type.id == ST_TYPE_BINARY))
        return st_col_append_bytes(col, "", 0);
    return st_coerce_append(col, lit, n);
}

/* Fraction digits a decimal literal needs ("1.25" 2, "1e-3" 3, "5e2" 0). */
static int fraction_digits(const char *s) {
    const char *dot = strchr(s, '.'), *ex = strpbrk(s, "eE");
    long frac = 0;
    if (dot)
        for (const char *p = dot + 1; *p >= '0' && *p <= '9'; p++)
            frac++;
    if (ex) frac -= strtol(ex + 1, NULL, 10);
    return frac < 0 ? 0 : frac > 38 ? 38 : (int)frac;
}

/* Types to hold the literals in, in order of preference: the field's own
 * type, then (for numbers outside its range or precision) a wider type of the
 * same family, so "int8_col > -1000" is a valid filter. */
static int candidate_types(const st_expr_t *e, const st_type_t *t, st_type_t *out) {
    int n = 0;
    out[n++] = *t;
    st_type_t w = {0};
    switch (ds_type_class(t)) {
    case DS_CLS_INT:
        w.id = ST_TYPE_INT64;
        out[n++] = w;
        w.id = ST_TYPE_UINT64;
        out[n++] = w;
        break;
    case DS_CLS_FLOAT:
        w.id = ST_TYPE_DOUBLE;
        out[n++] = w;
        break;
    case DS_CLS_DECIMAL: {
        int scale = t->scale;
        for (int k = 0; k < e->nliterals; k++)
            if (e->literals[k]) {
                int f = fraction_digits(e->literals[k]);
                if (f > scale) scale = f;
            }
        w.id = ST_TYPE_DECIMAL;
        w.precision = 38;
        w.scale = (uint8_t)scale;
        out[n++] = w;
        break;
    }
    default: break;
    }
    return n;
}

static int make_values(const st_field_t *f, const st_type_t *t, st_column_t **out) {
    st_field_t vf = *f;
    vf.type = *t;
    st_batch_t *b;
    int rc = st_batch_new(&vf, 1, &b);
    if (rc) return rc;
    *out = b->cols;
    b->cols = NULL;
    b->ncols = 0;
    st_batch_free(b);
    return ST_OK;
}

static int bind_leaf(st_expr_t *e, const st_field_t *f) {
    int rc;
    for (int k = 0; k < e->nliterals; k++)
        if ((rc = check_kind(e, k, f))) return rc;
    st_type_t types[4];
    int ntypes = candidate_types(e, &f->type, types);
    char first[512] = "";
    for (int c = 0; c < ntypes; c++) {
        if ((rc = make_values(f, &types[c], &e->values))) return rc;
        for (int k = 0; !rc && k < e->nliterals; k++)
            rc = append_literal_value(e->values, e->literals[k]);
        if (!rc) return ST_OK;
        free_values(e);
        if (rc != ST_ETYPE) return rc;
        if (c == 0) snprintf(first, sizeof first, "%s", st_errmsg());
    }
    return st_error(ST_ETYPE, "filter: column %s: %s", f->name, first);
}

static int bind_node(st_expr_t *e, const st_field_t *fields, int nfields) {
    int rc;
    switch (e->kind) {
    case ST_EXPR_AND:
    case ST_EXPR_OR:
        if ((rc = bind_node(e->left, fields, nfields))) return rc;
        return bind_node(e->right, fields, nfields);
    case ST_EXPR_NOT: return bind_node(e->left, fields, nfields);
    default: break;
    }
    free_values(e);
    e->column_index = -1;
    int idx = find_column(e->column, fields, nfields);
    if (idx < 0) return not_found(e->column, idx, fields, nfields);
    if ((rc = bind_leaf(e, &fields[idx]))) return rc;
    e->column_index = idx;
    return ST_OK;
}

int st_expr_bind(st_expr_t *e, const st_field_t *fields, int nfields) {
    if (!e || (nfields > 0 && !fields)) return st_error(ST_EINVAL, "st_expr_bind: NULL argument");
    return bind_node(e, fields, nfields);
}
