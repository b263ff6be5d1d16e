/* The schema file format: strict parsing with messages that name the file and
 * the field, and a canonical serialisation that parses back to the same schema. */
#include "strata/schema.h"
#include "table_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 128
#define FIELD_NAME_MAX_LEN 255

typedef struct ctx {
    const char *origin; /* file name for messages */
    char where[320];    /* "field 'x': " or "" */
} ctx;

static int serr(const ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int serr(const ctx *c, const char *fmt, ...) {
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return st_error(ST_EINVAL, "%s: %s%s", c->origin, c->where, msg);
}

static char *dup_n(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static int nomem(void) { return st_error(ST_ENOMEM, "out of memory"); }

/* Object members that this version interprets must not repeat: which of two
 * values was meant is unknowable, and guessing silently is worse than asking. */
static int check_duplicates(const ctx *c, const tj_value *obj) {
    for (int i = 0; i < obj->n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(obj->keys[i], obj->keys[j]))
                return serr(c, "key '%s' appears twice", obj->keys[i]);
    return ST_OK;
}

/* ---- typed member access: absent or null means "not given" ---- */

static const tj_value *member(const tj_value *obj, const char *key) {
    const tj_value *v = tj_get(obj, key);
    return v && v->kind != TJ_NULL ? v : NULL;
}

static int get_string(const ctx *c, const tj_value *obj, const char *key, char **out) {
    const tj_value *v = member(obj, key);
    *out = NULL;
    if (!v) return ST_OK;
    if (v->kind != TJ_STRING) return serr(c, "'%s' must be a string", key);
    if (!v->utf8_ok) return serr(c, "'%s' is not valid UTF-8", key);
    if (memchr(v->str, '\0', v->len)) return serr(c, "'%s' contains a NUL character", key);
    *out = dup_n(v->str, v->len);
    return *out ? ST_OK : nomem();
}

static int get_bool(const ctx *c, const tj_value *obj, const char *key, bool dflt, bool *out) {
    const tj_value *v = member(obj, key);
    *out = dflt;
    if (!v) return ST_OK;
    if (v->kind != TJ_TRUE && v->kind != TJ_FALSE)
        return serr(c, "'%s' must be true or false", key);
    *out = v->kind == TJ_TRUE;
    return ST_OK;
}

/* A non-negative integer written as one (no fraction, no exponent). */
static int get_count(const ctx *c, const tj_value *obj, const char *key, int64_t dflt,
                     int64_t *out) {
    const tj_value *v = member(obj, key);
    *out = dflt;
    if (!v) return ST_OK;
    if (v->kind != TJ_NUMBER) return serr(c, "'%s' must be an integer", key);
    const char *s = v->str;
    bool neg = *s == '-';
    if (neg) s++;
    int64_t x = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (x > (INT64_MAX - 9) / 10) return serr(c, "'%s' is too large", key);
        x = x * 10 + (*s - '0');
    }
    if (*s) return serr(c, "'%s' must be an integer, not %s", key, v->str);
    if (neg && x) return serr(c, "'%s' must not be negative (got %s)", key, v->str);
    *out = x;
    return ST_OK;
}

/* ---- names ---- */

static bool table_name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN || s[0] == '.') return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.'))
            return false;
    }
    return true;
}

static char *name_from_origin(const char *origin) {
    const char *base = strrchr(origin, '/');
    base = base ? base + 1 : origin;
    size_t n = strlen(base);
    static const char *suffixes[] = {".schema.json", ".json"};
    for (int k = 0; k < 2; k++) {
        size_t m = strlen(suffixes[k]);
        if (n > m && !strcmp(base + n - m, suffixes[k])) {
            n -= m;
            break;
        }
    }
    return dup_n(base, n);
}

/* ---- bounds ---- */

static bool is_numeric(st_type_id id) {
    return (id >= ST_TYPE_INT8 && id <= ST_TYPE_DOUBLE) || id == ST_TYPE_DECIMAL;
}

static bool is_temporal(st_type_id id) {
    return id == ST_TYPE_DATE || id == ST_TYPE_TIME || id == ST_TYPE_TIMESTAMP;
}

/* Reads "min" or "max": a number for numeric fields (a numeric string is taken
 * too, so long decimals can be written exactly), a string in the type's text form
 * for temporal ones. */
static int get_bound(const ctx *c, const tj_value *obj, const char *key, const st_type_t *t,
                     bool *has, double *value, char **text) {
    const tj_value *v = member(obj, key);
    *has = false;
    *text = NULL;
    if (!v) return ST_OK;
    char tname[48];
    st_type_format(t, tname, sizeof tname);
    if (is_numeric(t->id)) {
        if (v->kind != TJ_NUMBER && v->kind != TJ_STRING)
            return serr(c, "'%s' must be a number", key);
        char *end;
        errno = 0;
        double d = strtod(v->str, &end);
        if (v->len == 0 || *end || !isfinite(d) || memchr(v->str, '\0', v->len) ||
            v->str[0] == ' ' || v->str[0] == '\t')
            return serr(c, "'%s' must be a finite number, not '%s'", key, v->str);
        *value = d;
    } else if (is_temporal(t->id)) {
        if (v->kind != TJ_STRING)
            return serr(c, "'%s' must be a string in the %s format (such as \"%s\")", key, tname,
                        t->id == ST_TYPE_DATE   ? "2020-01-01"
                        : t->id == ST_TYPE_TIME ? "08:00:00"
                                                : "2020-01-01T00:00:00Z");
        int64_t x = 0;
        int rc;
        if (t->id == ST_TYPE_DATE) {
            int32_t d;
            rc = st_parse_date(v->str, &d);
            x = d;
        } else if (t->id == ST_TYPE_TIME) {
            rc = st_parse_time(v->str, (int)t->unit, &x);
        } else {
            rc = st_parse_timestamp(v->str, (int)t->unit, &x);
        }
        if (rc) return serr(c, "'%s': '%s' is not a valid %s", key, v->str, tname);
        *value = (double)x;
    } else {
        return serr(c, "'%s' applies to numeric, decimal, date, time and timestamp fields, not %s",
                    key, tname);
    }
    *text = dup_n(v->str, v->len);
    if (!*text) return nomem();
    *has = true;
    return ST_OK;
}

/* ---- enum ---- */

static int parse_enum(const ctx *c, const tj_value *obj, st_schema_field_t *f) {
    const tj_value *v = member(obj, "enum");
    if (!v) return ST_OK;
    if (v->kind != TJ_ARRAY) return serr(c, "'enum' must be an array of strings");
    if (v->n == 0) return serr(c, "'enum' must list at least one value");
    f->enum_values = calloc((size_t)v->n, sizeof *f->enum_values);
    if (!f->enum_values) return nomem();
    st_column_t scratch;
    int rc = tbl_col_init(&scratch, &f->field);
    if (rc) return rc;
    for (int i = 0; i < v->n && !rc; i++) {
        const tj_value *e = &v->items[i];
        if (e->kind != TJ_STRING || !e->utf8_ok || memchr(e->str, '\0', e->len)) {
            rc = serr(c, "'enum' must be an array of strings (item %d is not)", i + 1);
            break;
        }
        for (int j = 0; j < i; j++) {
            if (!strcmp(f->enum_values[j], e->str)) {
                rc = serr(c, "'enum' lists '%s' twice", e->str);
                break;
            }
        }
        if (rc) break;
        if (f->field.type.id != ST_TYPE_STRING) {
            /* Each value must be something the column can hold. */
            if (e->len == 0 || st_coerce_append(&scratch, e->str, e->len)) {
                char tname[48];
                st_type_format(&f->field.type, tname, sizeof tname);
                rc = serr(c, "'enum' value '%s' is not a valid %s", e->str, tname);
                break;
            }
        }
        f->enum_values[i] = dup_n(e->str, e->len);
        if (!f->enum_values[i])
            rc = nomem();
        else
            f->n_enum = i + 1;
    }
    tbl_col_free(&scratch);
    return rc;
}

/* ---- fields ---- */

static int parse_field(ctx *c, const tj_value *obj, int index, st_schema_field_t *f) {
    snprintf(c->where, sizeof c->where, "field #%d: ", index + 1);
    if (obj->kind != TJ_OBJECT) return serr(c, "must be an object");
    int rc = check_duplicates(c, obj);
    if (rc) return rc;
    if ((rc = get_string(c, obj, "name", &f->field.name))) return rc;
    if (!f->field.name) return serr(c, "missing \"name\"");
    size_t nlen = strlen(f->field.name);
    if (nlen == 0) return serr(c, "\"name\" is empty");
    if (nlen > FIELD_NAME_MAX_LEN) return serr(c, "\"name\" is longer than 255 bytes");
    for (size_t i = 0; i < nlen; i++)
        if ((unsigned char)f->field.name[i] < 0x20)
            return serr(c, "\"name\" contains a control character");
    snprintf(c->where, sizeof c->where, "field '%s': ", f->field.name);

    const tj_value *tv = member(obj, "type");
    if (!tv) return serr(c, "missing \"type\"");
    if (tv->kind != TJ_STRING) return serr(c, "'type' must be a string");
    if (st_type_parse(tv->str, &f->field.type)) return serr(c, "%s", st_errmsg());
    char tname[48];
    st_type_format(&f->field.type, tname, sizeof tname);

    if ((rc = get_bool(c, obj, "nullable", true, &f->field.nullable))) return rc;
    if ((rc = get_string(c, obj, "description", &f->description))) return rc;
    if ((rc = get_bool(c, obj, "unique", false, &f->unique))) return rc;

    const st_type_t *t = &f->field.type;
    if ((rc = get_bound(c, obj, "min", t, &f->has_min, &f->min, &f->min_text))) return rc;
    if ((rc = get_bound(c, obj, "max", t, &f->has_max, &f->max, &f->max_text))) return rc;
    if (f->has_min && f->has_max && f->min > f->max)
        return serr(c, "min %s is greater than max %s", f->min_text, f->max_text);

    if ((rc = get_count(c, obj, "min_length", -1, &f->min_length))) return rc;
    if ((rc = get_count(c, obj, "max_length", -1, &f->max_length))) return rc;
    if ((f->min_length >= 0 || f->max_length >= 0) && !st_type_is_varlen(t))
        return serr(c, "min_length/max_length apply to string, binary and json fields, not %s",
                    tname);
    if (f->min_length >= 0 && f->max_length >= 0 && f->min_length > f->max_length)
        return serr(c, "min_length %lld is greater than max_length %lld", (long long)f->min_length,
                    (long long)f->max_length);

    if ((rc = get_string(c, obj, "pattern", &f->pattern))) return rc;
    if (f->pattern && t->id != ST_TYPE_STRING)
        return serr(c, "'pattern' applies to string fields, not %s", tname);
    if (f->pattern && !*f->pattern) return serr(c, "'pattern' is empty");

    return parse_enum(c, obj, f);
}

static int parse_primary_key(ctx *c, const tj_value *root, st_schema_t *s) {
    const tj_value *v = member(root, "primary_key");
    if (!v) return ST_OK;
    if (v->kind != TJ_ARRAY) return serr(c, "'primary_key' must be an array of field names");
    if (v->n == 0) return ST_OK;
    s->primary_key = calloc((size_t)v->n, sizeof *s->primary_key);
    if (!s->primary_key) return nomem();
    for (int i = 0; i < v->n; i++) {
        const tj_value *e = &v->items[i];
        if (e->kind != TJ_STRING) return serr(c, "'primary_key' must be an array of field names");
        if (st_schema_field_index(s, e->str) < 0)
            return serr(c, "primary_key names '%s', which is not a field", e->str);
        for (int j = 0; j < i; j++)
            if (!strcmp(s->primary_key[j], e->str))
                return serr(c, "primary_key lists '%s' twice", e->str);
        s->primary_key[i] = dup_n(e->str, e->len);
        if (!s->primary_key[i]) return nomem();
        s->n_primary_key = i + 1;
    }
    return ST_OK;
}

static int parse_root(ctx *c, const tj_value *root, st_schema_t *s) {
    if (root->kind != TJ_OBJECT) return serr(c, "a schema must be a JSON object");
    int rc = check_duplicates(c, root);
    if (rc) return rc;
    if ((rc = get_string(c, root, "name", &s->name))) return rc;
    if (!s->name) {
        s->name = name_from_origin(c->origin);
        if (!s->name) return nomem();
        if (!table_name_ok(s->name)) return serr(c, "missing \"name\"");
    } else if (!table_name_ok(s->name)) {
        return serr(c,
                    "name '%s' must be 1..128 letters, digits, '_', '-' or '.', not starting "
                    "with '.'",
                    s->name);
    }
    int64_t version;
    if ((rc = get_count(c, root, "version", 1, &version))) return rc;
    if (version < 1 || version > INT32_MAX) return serr(c, "'version' must be 1 or more");
    s->version = (int)version;
    if ((rc = get_string(c, root, "description", &s->description))) return rc;
    if ((rc = get_bool(c, root, "strict", false, &s->strict))) return rc;

    const tj_value *fv = member(root, "fields");
    if (!fv) return serr(c, "missing \"fields\"");
    if (fv->kind != TJ_ARRAY) return serr(c, "'fields' must be an array of objects");
    if (fv->n == 0) return serr(c, "'fields' is empty");
    s->fields = calloc((size_t)fv->n, sizeof *s->fields);
    if (!s->fields) return nomem();
    for (int i = 0; i < fv->n; i++) {
        st_schema_field_t *f = &s->fields[i];
        f->min_length = f->max_length = -1;
        s->nfields = i + 1;
        if ((rc = parse_field(c, &fv->items[i], i, f))) return rc;
        for (int j = 0; j < i; j++)
            if (!strcmp(s->fields[j].field.name, f->field.name))
                return serr(c, "field name appears twice");
    }
    c->where[0] = '\0';
    if ((rc = parse_primary_key(c, root, s))) return rc;

    s->plain_fields = calloc((size_t)s->nfields, sizeof *s->plain_fields);
    if (!s->plain_fields) return nomem();
    for (int i = 0; i < s->nfields; i++)
        s->plain_fields[i] = s->fields[i].field;
    return ST_OK;
}

int st_schema_parse(const char *json, size_t n, const char *origin, st_schema_t **out) {
    *out = NULL;
    ctx c = {origin ? origin : "schema", ""};
    tj_doc doc = {0};
    int rc = tj_parse(&doc, json, n);
    if (rc == ST_ECORRUPT) rc = st_error_prefix(ST_EINVAL, "%s: not valid JSON", c.origin);
    if (rc) {
        tj_doc_free(&doc);
        return rc;
    }
    st_schema_t *s = calloc(1, sizeof *s);
    if (!s) {
        tj_doc_free(&doc);
        return nomem();
    }
    rc = parse_root(&c, doc.root, s);
    tj_doc_free(&doc);
    if (rc) {
        st_schema_free(s);
        return rc;
    }
    *out = s;
    return ST_OK;
}

int st_schema_load(const char *path, st_schema_t **out) {
    *out = NULL;
    st_buf_t b = ST_BUF_INIT;
    int rc = st_read_file(path, &b);
    if (!rc) rc = st_schema_parse(b.data ? (const char *)b.data : "", b.len, path, out);
    st_buf_free(&b);
    return rc;
}

void st_schema_free(st_schema_t *s) {
    if (!s) return;
    for (int i = 0; i < s->nfields; i++) {
        st_schema_field_t *f = &s->fields[i];
        free(f->field.name);
        free(f->description);
        free(f->min_text);
        free(f->max_text);
        free(f->pattern);
        for (int k = 0; k < f->n_enum; k++)
            free(f->enum_values[k]);
        free(f->enum_values);
    }
    free(s->fields);
    for (int k = 0; k < s->n_primary_key; k++)
        free(s->primary_key[k]);
    free(s->primary_key);
    free(s->plain_fields);
    free(s->name);
    free(s->description);
    free(s);
}

const st_field_t *st_schema_fields(const st_schema_t *s) { return s->plain_fields; }

int st_schema_field_index(const st_schema_t *s, const char *name) {
    for (int i = 0; i < s->nfields; i++)
        if (s->fields[i].field.name && !strcmp(s->fields[i].field.name, name)) return i;
    return -1;
}

/* ---- serialisation ---- */

static int put_str(st_buf_t *out, const char *s) {
    return st_json_append_string(out, s, strlen(s));
}

/* A JSON number literal, so it can be written back unquoted. */
static bool is_json_number(const char *s) {
    tj_doc doc = {0};
    bool ok = !tj_parse(&doc, s, strlen(s)) && doc.root->kind == TJ_NUMBER;
    tj_doc_free(&doc);
    return ok;
}

static int put_bound(st_buf_t *out, const char *key, const st_schema_field_t *f, const char *text) {
    int rc = st_buf_printf(out, ", \"%s\": ", key);
    if (rc) return rc;
    if (is_numeric(f->field.type.id) && is_json_number(text)) return st_buf_append_str(out, text);
    return put_str(out, text);
}

static int put_field(st_buf_t *out, const st_schema_field_t *f) {
    char tname[48];
    st_type_format(&f->field.type, tname, sizeof tname);
    int rc = st_buf_append_str(out, "    {\"name\": ");
    if (!rc) rc = put_str(out, f->field.name);
    if (!rc) rc = st_buf_printf(out, ", \"type\": \"%s\"", tname);
    if (!rc && !f->field.nullable) rc = st_buf_append_str(out, ", \"nullable\": false");
    if (!rc && f->description) {
        rc = st_buf_append_str(out, ", \"description\": ");
        if (!rc) rc = put_str(out, f->description);
    }
    if (!rc && f->unique) rc = st_buf_append_str(out, ", \"unique\": true");
    if (!rc && f->has_min && f->min_text) rc = put_bound(out, "min", f, f->min_text);
    if (!rc && f->has_max && f->max_text) rc = put_bound(out, "max", f, f->max_text);
    if (!rc && f->min_length >= 0)
        rc = st_buf_printf(out, ", \"min_length\": %lld", (long long)f->min_length);
    if (!rc && f->max_length >= 0)
        rc = st_buf_printf(out, ", \"max_length\": %lld", (long long)f->max_length);
    if (!rc && f->pattern) {
        rc = st_buf_append_str(out, ", \"pattern\": ");
        if (!rc) rc = put_str(out, f->pattern);
    }
    if (!rc && f->enum_values) {
        rc = st_buf_append_str(out, ", \"enum\": [");
        for (int k = 0; k < f->n_enum && !rc; k++) {
            if (k) rc = st_buf_append_str(out, ", ");
            if (!rc) rc = put_str(out, f->enum_values[k]);
        }
        if (!rc) rc = st_buf_append_byte(out, ']');
    }
    if (!rc) rc = st_buf_append_byte(out, '}');
    return rc;
}

int st_schema_to_json(const st_schema_t *s, st_buf_t *out) {
    int rc = st_buf_append_str(out, "{\n  \"name\": ");
    if (!rc) rc = put_str(out, s->name ? s->name : "");
    if (!rc) rc = st_buf_printf(out, ",\n  \"version\": %d", s->version);
    if (!rc && s->description) {
        rc = st_buf_append_str(out, ",\n  \"description\": ");
        if (!rc) rc = put_str(out, s->description);
    }
    if (!rc) rc = st_buf_printf(out, ",\n  \"strict\": %s", s->strict ? "true" : "false");
    if (!rc && s->n_primary_key > 0) {
        rc = st_buf_append_str(out, ",\n  \"primary_key\": [");
        for (int k = 0; k < s->n_primary_key && !rc; k++) {
            if (k) rc = st_buf_append_str(out, ", ");
            if (!rc) rc = put_str(out, s->primary_key[k]);
        }
        if (!rc) rc = st_buf_append_byte(out, ']');
    }
    if (!rc) rc = st_buf_append_str(out, ",\n  \"fields\": [\n");
    for (int i = 0; i < s->nfields && !rc; i++) {
        rc = put_field(out, &s->fields[i]);
        if (!rc) rc = st_buf_append_str(out, i + 1 < s->nfields ? ",\n" : "\n");
    }
    if (!rc) rc = st_buf_append_str(out, "  ]\n}\n");
    return rc;
}
