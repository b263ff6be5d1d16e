/* A small JSON parser for the table layer. Unlike a general library it keeps
 * every number as its literal and every value's source span, which exact
 * decimals, schema bounds "as written" and compact re-serialisation need. */
#include "table_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TJ_MAX_DEPTH 256

typedef struct block {
    struct block *next;
    size_t cap, used;
    _Alignas(16) unsigned char data[];
} block;

static void *arena_alloc(tj_doc *d, size_t n) {
    n = (n + 15) & ~(size_t)15;
    block *b = d->blocks;
    if (!b || b->cap - b->used < n) {
        /* Small first (a single cell is often a few bytes), then doubling. */
        size_t want = d->total ? d->total : 4096;
        size_t cap = n > want ? n : want;
        block *nb = malloc(sizeof *nb + cap);
        if (!nb) return NULL;
        nb->next = b;
        nb->cap = cap;
        nb->used = 0;
        d->blocks = nb;
        d->total += cap;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

/* Recycles the arena: one block big enough for everything the last document
 * needed, so a stream of similar lines settles into zero allocations. */
static int arena_reset(tj_doc *d) {
    block *b = d->blocks;
    if (b && !b->next) {
        b->used = 0;
        return ST_OK;
    }
    size_t total = d->total;
    while (b) {
        block *next = b->next;
        free(b);
        b = next;
    }
    d->blocks = NULL;
    d->total = 0;
    if (total) {
        block *nb = malloc(sizeof *nb + total);
        if (!nb) return st_error(ST_ENOMEM, "out of memory");
        nb->next = NULL;
        nb->cap = total;
        nb->used = 0;
        d->blocks = nb;
        d->total = total;
    }
    return ST_OK;
}

void tj_doc_free(tj_doc *d) {
    block *b = d->blocks;
    while (b) {
        block *next = b->next;
        free(b);
        b = next;
    }
    st_buf_free(&d->stack);
    memset(d, 0, sizeof *d);
}

typedef struct parser {
    tj_doc *doc;
    const char *s;
    size_t n, i;
    int line;
    size_t line_start;
} parser;

typedef struct slot { /* one pending array item or object member */
    tj_value v;
    const char *key;
} slot;

static int fail_at(parser *p, size_t at, const char *what) {
    p->doc->err_line = p->line;
    p->doc->err_col = (int)(at - p->line_start + 1);
    p->doc->err_what = what;
    return st_error(ST_ECORRUPT, "line %d, column %d: %s", p->doc->err_line, p->doc->err_col, what);
}

static void skip_ws(parser *p) {
    while (p->i < p->n) {
        char c = p->s[p->i];
        if (c == '\n') {
            p->line++;
            p->line_start = p->i + 1;
        } else if (c != ' ' && c != '\t' && c != '\r') {
            break;
        }
        p->i++;
    }
}

static int hex4(const char *s, unsigned *out) {
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* At the opening quote. Unescapes into the arena; the result is never longer
 * than the escaped source. */
static int parse_string(parser *p, tj_value *v) {
    size_t start = p->i++;
    size_t end = p->i;
    bool escapes = false;
    while (end < p->n && p->s[end] != '"') {
        unsigned char c = (unsigned char)p->s[end];
        if (c < 0x20) return fail_at(p, end, "control character in string");
        if (c == '\\') {
            escapes = true;
            end++;
            if (end >= p->n) break;
        }
        end++;
    }
    if (end >= p->n) return fail_at(p, start, "unterminated string");
    size_t raw = end - p->i;
    char *o = arena_alloc(p->doc, raw + 1);
    if (!o) return st_error(ST_ENOMEM, "out of memory");
    size_t k = 0;
    if (!escapes) {
        memcpy(o, p->s + p->i, raw);
        k = raw;
    } else {
        for (size_t j = p->i; j < end; j++) {
            char c = p->s[j];
            if (c != '\\') {
                o[k++] = c;
                continue;
            }
            char e = p->s[++j];
            switch (e) {
            case '"': o[k++] = '"'; break;
            case '\\': o[k++] = '\\'; break;
            case '/': o[k++] = '/'; break;
            case 'b': o[k++] = '\b'; break;
            case 'f': o[k++] = '\f'; break;
            case 'n': o[k++] = '\n'; break;
            case 'r': o[k++] = '\r'; break;
            case 't': o[k++] = '\t'; break;
            case 'u': {
                unsigned cp, lo;
                if (j + 4 >= end || hex4(p->s + j + 1, &cp))
                    return fail_at(p, j - 1, "bad \\u escape");
                j += 4;
                if (cp >= 0xd800 && cp < 0xdc00 && j + 6 < end && p->s[j + 1] == '\\' &&
                    p->s[j + 2] == 'u' && !hex4(p->s + j + 3, &lo) && lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    j += 6;
                }
                /* A lone surrogate is encoded as is; st_utf8_valid rejects it. */
                k += put_utf8(o + k, cp);
                break;
            }
            default: return fail_at(p, j - 1, "bad escape in string");
            }
        }
    }
    o[k] = '\0';
    v->kind = TJ_STRING;
    v->str = o;
    v->len = k;
    v->utf8_ok = st_utf8_valid((const uint8_t *)o, k);
    p->i = end + 1;
    return ST_OK;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static int parse_number(parser *p, tj_value *v) {
    size_t j = p->i;
    const char *s = p->s;
    if (j < p->n && s[j] == '-') j++;
    if (j >= p->n || !is_digit(s[j])) return fail_at(p, p->i, "bad number");
    if (s[j] == '0')
        j++;
    else
        while (j < p->n && is_digit(s[j]))
            j++;
    if (j < p->n && s[j] == '.') {
        j++;
        if (j >= p->n || !is_digit(s[j])) return fail_at(p, p->i, "bad number");
        while (j < p->n && is_digit(s[j]))
            j++;
    }
    if (j < p->n && (s[j] == 'e' || s[j] == 'E')) {
        j++;
        if (j < p->n && (s[j] == '+' || s[j] == '-')) j++;
        if (j >= p->n || !is_digit(s[j])) return fail_at(p, p->i, "bad number");
        while (j < p->n && is_digit(s[j]))
            j++;
    }
    size_t len = j - p->i;
    char *o = arena_alloc(p->doc, len + 1);
    if (!o) return st_error(ST_ENOMEM, "out of memory");
    memcpy(o, s + p->i, len);
    o[len] = '\0';
    v->kind = TJ_NUMBER;
    v->str = o;
    v->len = len;
    p->i = j;
    return ST_OK;
}

static int parse_value(parser *p, tj_value *v, int depth);

static int push_slot(parser *p, const tj_value *v, const char *key) {
    slot s = {*v, key};
    return st_buf_append(&p->doc->stack, &s, sizeof s);
}

/* Moves the slots pushed since `base` into the arena as v's items. */
static int pop_slots(parser *p, size_t base, tj_value *v, bool keys) {
    size_t count = (p->doc->stack.len - base) / sizeof(slot);
    const slot *sl = (const slot *)(p->doc->stack.data + base);
    v->n = (int)count;
    if (count) {
        v->items = arena_alloc(p->doc, count * sizeof *v->items);
        if (!v->items) return st_error(ST_ENOMEM, "out of memory");
        if (keys) {
            v->keys = arena_alloc(p->doc, count * sizeof *v->keys);
            if (!v->keys) return st_error(ST_ENOMEM, "out of memory");
        }
        for (size_t k = 0; k < count; k++) {
            v->items[k] = sl[k].v;
            if (keys) v->keys[k] = sl[k].key;
        }
    }
    p->doc->stack.len = base;
    return ST_OK;
}

static int parse_container(parser *p, tj_value *v, int depth, bool object) {
    if (depth >= TJ_MAX_DEPTH) return fail_at(p, p->i, "nesting too deep");
    char close = object ? '}' : ']';
    size_t base = p->doc->stack.len;
    v->kind = object ? TJ_OBJECT : TJ_ARRAY;
    p->i++;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        return pop_slots(p, base, v, object);
    }
    for (;;) {
        const char *key = NULL;
        int rc;
        if (object) {
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != '"')
                return fail_at(p, p->i, "expected a member name");
            tj_value kv = {0};
            if ((rc = parse_string(p, &kv))) return rc;
            if (!kv.utf8_ok) return fail_at(p, p->i - 1, "invalid UTF-8 in member name");
            key = kv.str;
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':') return fail_at(p, p->i, "expected ':'");
            p->i++;
        }
        tj_value item;
        if ((rc = parse_value(p, &item, depth + 1))) return rc;
        if ((rc = push_slot(p, &item, key))) return rc;
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == close) {
            p->i++;
            return pop_slots(p, base, v, object);
        }
        return fail_at(p, p->i, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static bool literal(parser *p, const char *word) {
    size_t n = strlen(word);
    if (p->n - p->i < n || memcmp(p->s + p->i, word, n)) return false;
    p->i += n;
    return true;
}

static int parse_value(parser *p, tj_value *v, int depth) {
    memset(v, 0, sizeof *v);
    skip_ws(p);
    if (p->i >= p->n) return fail_at(p, p->i, "unexpected end of JSON");
    v->line = p->line;
    v->col = (int)(p->i - p->line_start + 1);
    v->raw_off = p->i;
    int rc = ST_OK;
    char c = p->s[p->i];
    if (c == '{' || c == '[')
        rc = parse_container(p, v, depth, c == '{');
    else if (c == '"')
        rc = parse_string(p, v);
    else if (c == '-' || is_digit(c))
        rc = parse_number(p, v);
    else if (literal(p, "true"))
        v->kind = TJ_TRUE;
    else if (literal(p, "false"))
        v->kind = TJ_FALSE;
    else if (literal(p, "null"))
        v->kind = TJ_NULL;
    else
        rc = fail_at(p, p->i, "unexpected character");
    v->raw_len = p->i - v->raw_off;
    return rc;
}

int tj_parse(tj_doc *doc, const char *src, size_t n) {
    int rc = arena_reset(doc);
    if (rc) return rc;
    doc->root = NULL;
    doc->stack.len = 0;
    parser p = {doc, src, n, 0, 1, 0};
    tj_value *root = arena_alloc(doc, sizeof *root);
    if (!root) return st_error(ST_ENOMEM, "out of memory");
    if ((rc = parse_value(&p, root, 0))) return rc;
    skip_ws(&p);
    if (p.i != n) return fail_at(&p, p.i, "unexpected text after the JSON value");
    doc->root = root;
    return ST_OK;
}

int tj_append_compact(const char *src, const tj_value *v, st_buf_t *out) {
    const char *s = src + v->raw_off;
    size_t n = v->raw_len;
    int rc = st_buf_reserve(out, n);
    if (rc) return rc;
    bool in_str = false;
    for (size_t k = 0; k < n; k++) {
        char c = s[k];
        if (in_str) {
            if (c == '\\') {
                out->data[out->len++] = (uint8_t)c;
                c = s[++k];
            } else if (c == '"') {
                in_str = false;
            }
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            continue;
        } else if (c == '"') {
            in_str = true;
        }
        out->data[out->len++] = (uint8_t)c;
    }
    return ST_OK;
}

const tj_value *tj_get(const tj_value *obj, const char *key) {
    if (!obj || obj->kind != TJ_OBJECT) return NULL;
    for (int k = 0; k < obj->n; k++)
        if (!strcmp(obj->keys[k], key)) return &obj->items[k];
    return NULL;
}
