/* Logical types as spelled in schema files, and their physical widths. */
#include "strata/table.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    st_type_id id;
} simple_types[] = {
    {"bool", ST_TYPE_BOOL},     {"int8", ST_TYPE_INT8},     {"int16", ST_TYPE_INT16},
    {"int32", ST_TYPE_INT32},   {"int64", ST_TYPE_INT64},   {"uint8", ST_TYPE_UINT8},
    {"uint16", ST_TYPE_UINT16}, {"uint32", ST_TYPE_UINT32}, {"uint64", ST_TYPE_UINT64},
    {"float", ST_TYPE_FLOAT},   {"double", ST_TYPE_DOUBLE}, {"string", ST_TYPE_STRING},
    {"binary", ST_TYPE_BINARY}, {"date", ST_TYPE_DATE},     {"uuid", ST_TYPE_UUID},
    {"json", ST_TYPE_JSON},
};

/* A tiny cursor over the type text: types are short, so the parser works on a
 * NUL-terminated copy and skips blanks around every token. */
typedef struct {
    const char *p;
} cursor;

static void skip_ws(cursor *c) {
    while (*c->p == ' ' || *c->p == '\t')
        c->p++;
}

static bool eat(cursor *c, char ch) {
    skip_ws(c);
    if (*c->p != ch) return false;
    c->p++;
    return true;
}

static bool read_word(cursor *c, char *out, size_t cap) {
    skip_ws(c);
    size_t n = 0;
    while (isalnum((unsigned char)*c->p)) {
        if (n + 1 >= cap) return false;
        out[n++] = *c->p++;
    }
    out[n] = '\0';
    return n > 0;
}

static bool read_uint(cursor *c, long *out) {
    skip_ws(c);
    if (!isdigit((unsigned char)*c->p)) return false;
    long v = 0;
    while (isdigit((unsigned char)*c->p)) {
        if (v > 100000000L) return false; /* far beyond every legal parameter */
        v = v * 10 + (*c->p++ - '0');
    }
    *out = v;
    return true;
}

static bool read_unit(cursor *c, st_time_unit *out) {
    char w[8];
    if (!read_word(c, w, sizeof w)) return false;
    if (!strcasecmp(w, "ms"))
        *out = ST_UNIT_MS;
    else if (!strcasecmp(w, "us"))
        *out = ST_UNIT_US;
    else if (!strcasecmp(w, "ns"))
        *out = ST_UNIT_NS;
    else
        return false;
    return true;
}

static bool at_end(cursor *c) {
    skip_ws(c);
    return *c->p == '\0';
}

int st_type_parse(const char *text, st_type_t *out) {
    if (!text) return st_error(ST_EINVAL, "missing type");
    char buf[64];
    size_t n = strlen(text);
    if (n >= sizeof buf) return st_error(ST_EINVAL, "unknown type '%.60s...'", text);
    memcpy(buf, text, n + 1);
    cursor c = {buf};
    char word[16];
    st_type_t t = {0};
    if (!read_word(&c, word, sizeof word)) goto unknown;

    for (size_t i = 0; i < sizeof simple_types / sizeof simple_types[0]; i++) {
        if (!strcasecmp(word, simple_types[i].name)) {
            if (!at_end(&c)) goto unknown;
            t.id = simple_types[i].id;
            *out = t;
            return ST_OK;
        }
    }
    if (!strcasecmp(word, "decimal")) {
        long p, s;
        if (!eat(&c, '(') || !read_uint(&c, &p) || !eat(&c, ',') || !read_uint(&c, &s) ||
            !eat(&c, ')') || !at_end(&c))
            return st_error(ST_EINVAL, "bad type '%s': write decimal(P,S)", text);
        if (p < 1 || p > 38)
            return st_error(ST_EINVAL, "bad type '%s': decimal precision must be 1..38", text);
        if (s > p)
            return st_error(ST_EINVAL, "bad type '%s': decimal scale must be 0..precision", text);
        t.id = ST_TYPE_DECIMAL;
        t.precision = (uint8_t)p;
        t.scale = (uint8_t)s;
    } else if (!strcasecmp(word, "fixed")) {
        long w;
        if (!eat(&c, '(') || !read_uint(&c, &w) || !eat(&c, ')') || !at_end(&c))
            return st_error(ST_EINVAL, "bad type '%s': write fixed(N)", text);
        /* Values live in one batch buffer, so keep a single value well below it. */
        if (w < 1 || w > (1L << 24))
            return st_error(ST_EINVAL, "bad type '%s': fixed width must be 1..16777216", text);
        t.id = ST_TYPE_FIXED;
        t.width = (int32_t)w;
    } else if (!strcasecmp(word, "time")) {
        if (!eat(&c, '(') || !read_unit(&c, &t.unit) || !eat(&c, ')') || !at_end(&c))
            return st_error(ST_EINVAL, "bad type '%s': write time(ms|us|ns)", text);
        t.id = ST_TYPE_TIME;
    } else if (!strcasecmp(word, "timestamp")) {
        if (!eat(&c, '(') || !read_unit(&c, &t.unit)) goto bad_ts;
        if (eat(&c, ',')) {
            char tz[8];
            if (!read_word(&c, tz, sizeof tz) || strcasecmp(tz, "UTC")) goto bad_ts;
            t.utc = true;
        }
        if (!eat(&c, ')') || !at_end(&c)) goto bad_ts;
        t.id = ST_TYPE_TIMESTAMP;
    } else {
        goto unknown;
    }
    *out = t;
    return ST_OK;
bad_ts:
    return st_error(ST_EINVAL, "bad type '%s': write timestamp(ms|us|ns) or timestamp(us, UTC)",
                    text);
unknown:
    return st_error(ST_EINVAL, "unknown type '%s'", text);
}

static const char *unit_name(st_time_unit u) {
    switch (u) {
    case ST_UNIT_MS: return "ms";
    case ST_UNIT_US: return "us";
    case ST_UNIT_NS: return "ns";
    }
    return "?";
}

int st_type_format(const st_type_t *t, char *out, size_t cap) {
    switch (t->id) {
    case ST_TYPE_DECIMAL: return snprintf(out, cap, "decimal(%u,%u)", t->precision, t->scale);
    case ST_TYPE_FIXED: return snprintf(out, cap, "fixed(%d)", (int)t->width);
    case ST_TYPE_TIME: return snprintf(out, cap, "time(%s)", unit_name(t->unit));
    case ST_TYPE_TIMESTAMP:
        return snprintf(out, cap, "timestamp(%s%s)", unit_name(t->unit), t->utc ? ", UTC" : "");
    default: break;
    }
    for (size_t i = 0; i < sizeof simple_types / sizeof simple_types[0]; i++)
        if (simple_types[i].id == t->id) return snprintf(out, cap, "%s", simple_types[i].name);
    return snprintf(out, cap, "unknown(%d)", (int)t->id);
}

int st_type_value_width(const st_type_t *t) {
    switch (t->id) {
    case ST_TYPE_INT8:
    case ST_TYPE_UINT8: return 1;
    case ST_TYPE_INT16:
    case ST_TYPE_UINT16: return 2;
    case ST_TYPE_INT32:
    case ST_TYPE_UINT32:
    case ST_TYPE_FLOAT:
    case ST_TYPE_DATE: return 4;
    case ST_TYPE_INT64:
    case ST_TYPE_UINT64:
    case ST_TYPE_DOUBLE:
    case ST_TYPE_TIMESTAMP: return 8;
    case ST_TYPE_TIME: return t->unit == ST_UNIT_MS ? 4 : 8;
    case ST_TYPE_FIXED: return t->width;
    case ST_TYPE_DECIMAL:
    case ST_TYPE_UUID: return 16;
    case ST_TYPE_BOOL:
    case ST_TYPE_STRING:
    case ST_TYPE_BINARY:
    case ST_TYPE_JSON: return 0;
    }
    return 0;
}

bool st_type_is_varlen(const st_type_t *t) {
    return t->id == ST_TYPE_STRING || t->id == ST_TYPE_BINARY || t->id == ST_TYPE_JSON;
}

bool st_type_equal(const st_type_t *a, const st_type_t *b) {
    if (a->id != b->id) return false;
    switch (a->id) {
    case ST_TYPE_FIXED: return a->width == b->width;
    case ST_TYPE_DECIMAL: return a->precision == b->precision && a->scale == b->scale;
    case ST_TYPE_TIME: return a->unit == b->unit;
    case ST_TYPE_TIMESTAMP: return a->unit == b->unit && a->utc == b->utc;
    default: return true;
    }
}
