/* The Arrow C Data Interface: a batch leaves as a struct array whose children
 * own their column buffers (so a consumer may move a child out and release the
 * parent), and an Arrow struct array comes in as a copied batch. */
#include "table_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arrow wants non-NULL pointers for buffers that exist, even empty ones. */
static const int64_t empty_buffer[2];

/* ---- schema export ---- */

typedef struct schema_priv {
    char *format;
    char *name;
    char *metadata;
    struct ArrowSchema **children; /* parent only */
    int64_t n_children;
} schema_priv;

static void schema_priv_free(schema_priv *p) {
    free(p->format);
    free(p->name);
    free(p->metadata);
    free(p->children);
    free(p);
}

static void release_schema(struct ArrowSchema *s) {
    if (!s || !s->release) return;
    schema_priv *p = s->private_data;
    for (int64_t i = 0; i < p->n_children; i++) {
        struct ArrowSchema *c = p->children[i];
        if (c->release) c->release(c);
        free(c);
    }
    schema_priv_free(p);
    s->release = NULL;
}

/* Extension metadata in the C Data Interface encoding: int32 pair count, then
 * per pair int32 length + key bytes, int32 length + value bytes. */
static char *extension_metadata(const char *ext_name) {
    const char *keys[2] = {"ARROW:extension:name", "ARROW:extension:metadata"};
    const char *vals[2] = {ext_name, ""};
    st_buf_t b = ST_BUF_INIT;
    int32_t n = 2;
    int rc = st_buf_append(&b, &n, 4);
    for (int i = 0; i < 2 && !rc; i++) {
        int32_t kl = (int32_t)strlen(keys[i]), vl = (int32_t)strlen(vals[i]);
        rc = st_buf_append(&b, &kl, 4);
        if (!rc) rc = st_buf_append(&b, keys[i], (size_t)kl);
        if (!rc) rc = st_buf_append(&b, &vl, 4);
        if (!rc) rc = st_buf_append(&b, vals[i], (size_t)vl);
    }
    if (rc) {
        st_buf_free(&b);
        return NULL;
    }
    return (char *)st_buf_detach(&b, NULL);
}

static const char *unit_letter(st_time_unit u) {
    return u == ST_UNIT_MS ? "m" : u == ST_UNIT_US ? "u" : "n";
}

static int arrow_format(const st_type_t *t, char *out, size_t cap) {
    const char *f = NULL;
    switch (t->id) {
    case ST_TYPE_BOOL: f = "b"; break;
    case ST_TYPE_INT8: f = "c"; break;
    case ST_TYPE_UINT8: f = "C"; break;
    case ST_TYPE_INT16: f = "s"; break;
    case ST_TYPE_UINT16: f = "S"; break;
    case ST_TYPE_INT32: f = "i"; break;
    case ST_TYPE_UINT32: f = "I"; break;
    case ST_TYPE_INT64: f = "l"; break;
    case ST_TYPE_UINT64: f = "L"; break;
    case ST_TYPE_FLOAT: f = "f"; break;
    case ST_TYPE_DOUBLE: f = "g"; break;
    case ST_TYPE_STRING:
    case ST_TYPE_JSON: f = "u"; break;
    case ST_TYPE_BINARY: f = "z"; break;
    case ST_TYPE_DATE: f = "tdD"; break;
    case ST_TYPE_UUID: f = "w:16"; break;
    case ST_TYPE_FIXED: return snprintf(out, cap, "w:%d", (int)t->width);
    case ST_TYPE_DECIMAL: return snprintf(out, cap, "d:%u,%u", t->precision, t->scale);
    case ST_TYPE_TIME: return snprintf(out, cap, "tt%s", unit_letter(t->unit));
    case ST_TYPE_TIMESTAMP:
        return snprintf(out, cap, "ts%s:%s", unit_letter(t->unit), t->utc ? "UTC" : "");
    }
    if (!f) return -1;
    return snprintf(out, cap, "%s", f);
}

static int make_schema(struct ArrowSchema *s, const char *format, const char *name, const char *ext,
                       int64_t flags) {
    memset(s, 0, sizeof *s);
    schema_priv *p = calloc(1, sizeof *p);
    if (!p) return ST_ENOMEM;
    p->format = strdup(format);
    p->name = strdup(name);
    if (ext) p->metadata = extension_metadata(ext);
    if (!p->format || !p->name || (ext && !p->metadata)) {
        schema_priv_free(p);
        return ST_ENOMEM;
    }
    s->format = p->format;
    s->name = p->name;
    s->metadata = p->metadata;
    s->flags = flags;
    s->release = release_schema;
    s->private_data = p;
    return ST_OK;
}

static int export_schema(const st_batch_t *b, struct ArrowSchema *out) {
    int rc = make_schema(out, "+s", "", NULL, 0);
    if (rc) return rc;
    schema_priv *p = out->private_data;
    if (b->ncols > 0) {
        p->children = calloc((size_t)b->ncols, sizeof *p->children);
        if (!p->children) goto nomem;
    }
    for (int i = 0; i < b->ncols; i++) {
        const st_field_t *f = &b->cols[i].field;
        char fmt[32];
        if (arrow_format(&f->type, fmt, sizeof fmt) < 0) {
            release_schema(out);
            return st_error(ST_EINVAL, "column '%s': type has no Arrow form", f->name);
        }
        const char *ext = f->type.id == ST_TYPE_UUID   ? "arrow.uuid"
                          : f->type.id == ST_TYPE_JSON ? "arrow.json"
                                                       : NULL;
        struct ArrowSchema *c = malloc(sizeof *c);
        if (!c) goto nomem;
        if (make_schema(c, fmt, f->name, ext, f->nullable ? ARROW_FLAG_NULLABLE : 0)) {
            free(c);
            goto nomem;
        }
        p->children[i] = c;
        p->n_children = i + 1;
    }
    out->n_children = b->ncols;
    out->children = p->children;
    return ST_OK;
nomem:
    release_schema(out);
    return st_error(ST_ENOMEM, "out of memory exporting an Arrow schema");
}

/* ---- array export ---- */

typedef struct column_priv { /* one child: owns its column's buffers */
    st_column_t col;
    const void *buffers[3];
} column_priv;

typedef struct struct_priv {
    struct ArrowArray **children;
    int64_t n_children;
    const void *buffers[1];
} struct_priv;

static void release_column(struct ArrowArray *a) {
    if (!a || !a->release) return;
    column_priv *p = a->private_data;
    tbl_col_free(&p->col);
    free(p);
    a->release = NULL;
}

static void release_struct(struct ArrowArray *a) {
    if (!a || !a->release) return;
    struct_priv *p = a->private_data;
    for (int64_t i = 0; i < p->n_children; i++) {
        struct ArrowArray *c = p->children[i];
        if (c->release) c->release(c);
        free(c);
    }
    free(p->children);
    free(p);
    a->release = NULL;
}

static const void *or_empty(const st_buf_t *b) {
    return b->data ? (const void *)b->data : (const void *)empty_buffer;
}

/* Fills a child array around column `col`, which the caller has moved in. */
static void fill_column(struct ArrowArray *a, column_priv *p) {
    st_column_t *c = &p->col;
    memset(a, 0, sizeof *a);
    a->length = c->length;
    a->null_count = c->null_count;
    p->buffers[0] = c->null_count ? c->validity.data : NULL;
    if (st_type_is_varlen(&c->field.type)) {
        a->n_buffers = 3;
        p->buffers[1] = or_empty(&c->offsets);
        p->buffers[2] = or_empty(&c->values);
    } else {
        a->n_buffers = 2;
        p->buffers[1] = or_empty(&c->values);
    }
    a->buffers = p->buffers;
    a->release = release_column;
    a->private_data = p;
}

static int export_array(st_batch_t *b, struct ArrowArray *out) {
    memset(out, 0, sizeof *out);
    struct_priv *p = calloc(1, sizeof *p);
    column_priv **cp = b->ncols ? calloc((size_t)b->ncols, sizeof *cp) : NULL;
    if (p && b->ncols) p->children = calloc((size_t)b->ncols, sizeof *p->children);
    bool ok = p && (!b->ncols || (cp && p->children));
    for (int i = 0; ok && i < b->ncols; i++) {
        cp[i] = calloc(1, sizeof **cp);
        p->children[i] = malloc(sizeof **p->children);
        ok = cp[i] && p->children[i];
    }
    if (!ok) {
        for (int i = 0; cp && i < b->ncols; i++) {
            free(cp[i]);
            if (p && p->children) free(p->children[i]);
        }
        free(cp);
        if (p) free(p->children);
        free(p);
        return st_error(ST_ENOMEM, "out of memory exporting an Arrow array");
    }
    /* Nothing can fail from here: move the columns into the children. */
    for (int i = 0; i < b->ncols; i++) {
        cp[i]->col = b->cols[i];
        memset(&b->cols[i], 0, sizeof b->cols[i]);
        fill_column(p->children[i], cp[i]);
    }
    free(cp);
    p->n_children = b->ncols;
    p->buffers[0] = NULL;
    out->length = b->nrows;
    out->null_count = 0;
    out->n_buffers = 1;
    out->buffers = p->buffers;
    out->n_children = b->ncols;
    out->children = p->children;
    out->release = release_struct;
    out->private_data = p;
    return ST_OK;
}

int st_batch_export(st_batch_t **bp, struct ArrowSchema *schema, struct ArrowArray *array) {
    st_batch_t *b = *bp;
    for (int i = 0; i < b->ncols; i++)
        if (b->cols[i].length != b->nrows)
            return st_error(ST_EINVAL, "column '%s' has %lld values, the batch %lld rows",
                            b->cols[i].field.name, (long long)b->cols[i].length,
                            (long long)b->nrows);
    int rc = export_schema(b, schema);
    if (rc) return rc;
    rc = export_array(b, array);
    if (rc) {
        schema->release(schema);
        return rc;
    }
    /* The columns now live in the array; only the empty shell is left. */
    free(b->cols);
    free(b);
    *bp = NULL;
    return ST_OK;
}

/* ---- import ---- */

/* Looks up a key in C Data Interface metadata. */
static bool metadata_has(const char *md, const char *key, const char *value) {
    if (!md) return false;
    int32_t n;
    memcpy(&n, md, 4);
    const char *p = md + 4;
    for (int32_t i = 0; i < n; i++) {
        int32_t kl, vl;
        memcpy(&kl, p, 4);
        const char *k = p + 4;
        memcpy(&vl, k + kl, 4);
        const char *v = k + kl + 4;
        if ((size_t)kl == strlen(key) && !memcmp(k, key, (size_t)kl) &&
            (size_t)vl == strlen(value) && !memcmp(v, value, (size_t)vl))
            return true;
        p = v + vl;
    }
    return false;
}

static bool parse_unit(char c, st_time_unit *u) {
    switch (c) {
    case 'm': *u = ST_UNIT_MS; return true;
    case 'u': *u = ST_UNIT_US; return true;
    case 'n': *u = ST_UNIT_NS; return true;
    default: return false;
    }
}

/* Maps an Arrow format string to a strata type. *large is set for the 64-bit
 * offset variants ("U", "Z"), which are copied into 32-bit offsets. */
static int import_type(const struct ArrowSchema *s, st_type_t *t, bool *large) {
    const char *f = s->format;
    memset(t, 0, sizeof *t);
    *large = false;
    static const struct {
        const char *fmt;
        st_type_id id;
    } simple[] = {
        {"b", ST_TYPE_BOOL},   {"c", ST_TYPE_INT8},   {"C", ST_TYPE_UINT8},  {"s", ST_TYPE_INT16},
        {"S", ST_TYPE_UINT16}, {"i", ST_TYPE_INT32},  {"I", ST_TYPE_UINT32}, {"l", ST_TYPE_INT64},
        {"L", ST_TYPE_UINT64}, {"f", ST_TYPE_FLOAT},  {"g", ST_TYPE_DOUBLE}, {"u", ST_TYPE_STRING},
        {"U", ST_TYPE_STRING}, {"z", ST_TYPE_BINARY}, {"Z", ST_TYPE_BINARY}, {"tdD", ST_TYPE_DATE}};
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
        if (!strcmp(f, simple[i].fmt)) {
            t->id = simple[i].id;
            *large = f[0] == 'U' || f[0] == 'Z';
            if (t->id == ST_TYPE_STRING &&
                metadata_has(s->metadata, "ARROW:extension:name", "arrow.json"))
                t->id = ST_TYPE_JSON;
            return ST_OK;
        }
    }
    if (!strncmp(f, "w:", 2)) {
        char *end;
        long w = strtol(f + 2, &end, 10);
        if (*end || w < 1 || w > (1L << 24)) return ST_EUNSUPPORTED;
        t->id = ST_TYPE_FIXED;
        t->width = (int32_t)w;
        if (w == 16 && metadata_has(s->metadata, "ARROW:extension:name", "arrow.uuid"))
            t->id = ST_TYPE_UUID;
        return ST_OK;
    }
    if (!strncmp(f, "d:", 2)) {
        int p, sc, bits = 128, used = 0;
        int n = sscanf(f + 2, "%d,%d%n,%d%n", &p, &sc, &used, &bits, &used);
        if (n < 2 || f[2 + used] || bits != 128 || p < 1 || p > 38 || sc < 0 || sc > p)
            return ST_EUNSUPPORTED;
        t->id = ST_TYPE_DECIMAL;
        t->precision = (uint8_t)p;
        t->scale = (uint8_t)sc;
        return ST_OK;
    }
    if (f[0] == 't' && f[1] == 't' && f[2] && !f[3] && parse_unit(f[2], &t->unit)) {
        t->id = ST_TYPE_TIME;
        return ST_OK;
    }
    if (f[0] == 't' && f[1] == 's' && f[2] && f[3] == ':' && parse_unit(f[2], &t->unit)) {
        /* With any time zone the stored values are UTC instants. */
        t->id = ST_TYPE_TIMESTAMP;
        t->utc = f[4] != '\0';
        return ST_OK;
    }
    return ST_EUNSUPPORTED;
}

static bool bit_at(const void *bits, int64_t i) {
    return (((const uint8_t *)bits)[i >> 3] >> (i & 7)) & 1;
}

static int import_column(st_column_t *c, const struct ArrowArray *a, bool large,
                         const struct ArrowArray *parent) {
    const st_type_t *t = &c->field.type;
    bool varlen = st_type_is_varlen(t);
    if (a->n_buffers != (varlen ? 3 : 2))
        return st_error(ST_EINVAL, "Arrow column '%s': %lld buffers, expected %d", c->field.name,
                        (long long)a->n_buffers, varlen ? 3 : 2);
    if (a->length < parent->offset + parent->length)
        return st_error(ST_EINVAL, "Arrow column '%s': %lld values for %lld rows", c->field.name,
                        (long long)a->length, (long long)(parent->offset + parent->length));
    const void *validity = a->null_count != 0 ? a->buffers[0] : NULL;
    const void *pvalid = parent->null_count != 0 ? parent->buffers[0] : NULL;
    const uint8_t *values = a->buffers[1];
    int w = st_type_value_width(t);
    for (int64_t r = 0; r < parent->length; r++) {
        int64_t i = a->offset + parent->offset + r;
        int rc;
        if ((pvalid && !bit_at(pvalid, parent->offset + r)) || (validity && !bit_at(validity, i))) {
            rc = st_col_append_null(c);
        } else if (t->id == ST_TYPE_BOOL) {
            uint8_t v = bit_at(values, i);
            rc = tbl_col_append_raw(c, &v, 1);
        } else if (varlen) {
            int64_t start, end;
            if (large) {
                memcpy(&start, values + 8 * i, 8);
                memcpy(&end, values + 8 * (i + 1), 8);
            } else {
                int32_t s32, e32;
                memcpy(&s32, values + 4 * i, 4);
                memcpy(&e32, values + 4 * (i + 1), 4);
                start = s32, end = e32;
            }
            if (start < 0 || end < start || end - start > INT32_MAX)
                return st_error(ST_EINVAL, "Arrow column '%s': bad offsets at row %lld",
                                c->field.name, (long long)r);
            rc = tbl_col_append_raw(c, (const uint8_t *)a->buffers[2] + start,
                                    (size_t)(end - start));
        } else {
            rc = tbl_col_append_raw(c, values + (size_t)w * (size_t)i, (size_t)w);
        }
        if (rc) return rc;
    }
    return ST_OK;
}

int st_batch_import(const struct ArrowSchema *schema, const struct ArrowArray *array,
                    st_batch_t **out) {
    *out = NULL;
    if (!schema || !array || !schema->release || !array->release)
        return st_error(ST_EINVAL, "Arrow import: schema or array missing or released");
    if (!schema->format || strcmp(schema->format, "+s"))
        return st_error(ST_EUNSUPPORTED,
                        "Arrow import: top-level format '%s', expected a struct "
                        "('+s')",
                        schema->format ? schema->format : "(null)");
    if (schema->n_children != array->n_children)
        return st_error(ST_EINVAL, "Arrow import: schema has %lld children, array %lld",
                        (long long)schema->n_children, (long long)array->n_children);
    if (array->n_buffers != 1)
        return st_error(ST_EINVAL, "Arrow import: struct array has %lld buffers, expected 1",
                        (long long)array->n_buffers);
    if (schema->n_children > INT32_MAX)
        return st_error(ST_EINVAL, "Arrow import: too many columns");
    int n = (int)schema->n_children;
    st_field_t *fields = n ? calloc((size_t)n, sizeof *fields) : NULL;
    bool *large = n ? calloc((size_t)n, sizeof *large) : NULL;
    if (n && (!fields || !large)) {
        free(fields);
        free(large);
        return st_error(ST_ENOMEM, "out of memory");
    }
    int rc = ST_OK;
    for (int i = 0; i < n && !rc; i++) {
        const struct ArrowSchema *cs = schema->children[i];
        fields[i].name = (char *)(cs->name ? cs->name : "");
        fields[i].nullable = (cs->flags & ARROW_FLAG_NULLABLE) != 0;
        if (cs->dictionary || cs->n_children)
            rc = st_error(ST_EUNSUPPORTED,
                          "Arrow column '%s': nested and dictionary-encoded "
                          "columns are not supported",
                          fields[i].name);
        else if (import_type(cs, &fields[i].type, &large[i]))
            rc = st_error(ST_EUNSUPPORTED, "Arrow column '%s': format '%s' is not supported",
                          fields[i].name, cs->format);
    }
    st_batch_t *b = NULL;
    if (!rc) rc = st_batch_new(fields, n, &b);
    for (int i = 0; i < n && !rc; i++)
        rc = import_column(&b->cols[i], array->children[i], large[i], array);
    free(fields);
    free(large);
    if (rc) {
        st_batch_free(b);
        return rc;
    }
    b->nrows = array->length;
    *out = b;
    return ST_OK;
}
