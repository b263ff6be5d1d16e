/* Filter expressions: the text form (st_expr_parse) into a tree, and freeing
 * it. Errors give the character column where the text stopped making sense, so
 * a user can find the mistake in a long --where. */
#include "strata/dataset.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Nesting beyond this is refused: hostile text must not exhaust the stack. */
#define MAX_DEPTH 200
/* Literals in one IN list, and nodes in one expression (an and/or chain makes
 * a tree as deep as it is long, and the tree is walked recursively). */
#define MAX_IN 100000
#define MAX_NODES 10000

typedef enum {
    T_END,
    T_IDENT,  /* bare word that is not a keyword */
    T_QNAME,  /* "double-quoted name" */
    T_STRING, /* 'single-quoted literal' */
    T_NUMBER,
    T_LPAREN,
    T_RPAREN,
    T_COMMA,
    T_OP,
    /* keywords */
    T_AND,
    T_OR,
    T_NOT,
    T_IN,
    T_IS,
    T_NULL,
    T_TRUE,
    T_FALSE
} tok_kind;

typedef struct {
    tok_kind kind;
    size_t pos, len; /* source span */
    st_cmp_op_t op;  /* T_OP */
    char *text;      /* unquoted text of names and literals (owned) */
} token;

typedef struct {
    const char *src;
    size_t n, pos;
    token tok; /* current token */
    int depth;
    int nodes;
    int rc; /* first error */
} parser;

static const struct {
    const char *word;
    tok_kind kind;
} keywords[] = {{"and", T_AND}, {"or", T_OR},     {"not", T_NOT},   {"in", T_IN},
                {"is", T_IS},   {"null", T_NULL}, {"true", T_TRUE}, {"false", T_FALSE}};

/* 1-based column in characters (UTF-8 continuation bytes do not count). */
static long char_column(const char *s, size_t pos) {
    long col = 1;
    for (size_t i = 0; i < pos; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80) col++;
    return col;
}

static int perr(parser *p, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int perr(parser *p, size_t pos, const char *fmt, ...) {
    if (p->rc) return p->rc;
    char what[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    p->rc = st_error(ST_EINVAL, "filter: at column %ld: %s", char_column(p->src, pos), what);
    return p->rc;
}

/* The token as shown in messages: its source text, cut short. */
static const char *shown(const parser *p, const token *t, char *buf, size_t cap) {
    if (t->kind == T_END) return "the end";
    size_t n = t->len < 40 ? t->len : 40;
    snprintf(buf, cap, "'%.*s%s'", (int)n, p->src + t->pos, t->len > n ? "..." : "");
    return buf;
}

static bool is_ident_start(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_ident_char(unsigned char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* A quoted name or string: `q` doubled inside stands for itself. */
static int lex_quoted(parser *p, char q, token *t) {
    size_t i = p->pos + 1;
    st_buf_t b = ST_BUF_INIT;
    for (;;) {
        if (i >= p->n) {
            st_buf_free(&b);
            return perr(p, p->pos, "%s",
                        q == '\'' ? "unterminated string" : "unterminated quoted name");
        }
        if (p->src[i] == q) {
            if (i + 1 < p->n && p->src[i + 1] == q) {
                if (st_buf_append_byte(&b, (uint8_t)q)) goto nomem;
                i += 2;
                continue;
            }
            break;
        }
        if (st_buf_append_byte(&b, (uint8_t)p->src[i])) goto nomem;
        i++;
    }
    if (st_buf_append_byte(&b, 0)) goto nomem;
    t->text = (char *)st_buf_detach(&b, NULL);
    t->kind = q == '\'' ? T_STRING : T_QNAME;
    t->len = i + 1 - p->pos;
    if (t->kind == T_QNAME && t->len == 2) return perr(p, p->pos, "empty quoted name");
    return ST_OK;
nomem:
    st_buf_free(&b);
    return p->rc = st_error(ST_ENOMEM, "filter: out of memory");
}

/* Numbers: [sign] digits [. digits] [e [sign] digits], or [sign] . digits. */
static size_t number_len(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    size_t d0 = i;
    while (i < n && is_digit(s[i]))
        i++;
    bool digits = i > d0;
    if (i < n && s[i] == '.') {
        size_t f0 = ++i;
        while (i < n && is_digit(s[i]))
            i++;
        digits = digits || i > f0;
    }
    if (!digits) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = i + 1;
        if (e < n && (s[e] == '+' || s[e] == '-')) e++;
        if (e < n && is_digit(s[e])) {
            while (e < n && is_digit(s[e]))
                e++;
            i = e;
        }
    }
    return i;
}

static int next(parser *p) {
    token *t = &p->tok;
    free(t->text);
    memset(t, 0, sizeof *t);
    if (p->rc) return p->rc;
    while (p->pos < p->n && (p->src[p->pos] == ' ' || p->src[p->pos] == '\t' ||
                             p->src[p->pos] == '\n' || p->src[p->pos] == '\r'))
        p->pos++;
    t->pos = p->pos;
    if (p->pos >= p->n) {
        t->kind = T_END;
        return ST_OK;
    }
    const char *s = p->src + p->pos;
    size_t left = p->n - p->pos;
    unsigned char c = (unsigned char)*s;
    int rc = ST_OK;
    t->len = 1;
    switch (c) {
    case '(': t->kind = T_LPAREN; break;
    case ')': t->kind = T_RPAREN; break;
    case ',': t->kind = T_COMMA; break;
    case '=': t->kind = T_OP, t->op = ST_CMP_EQ; break;
    case '!':
        if (left < 2 || s[1] != '=') return perr(p, p->pos, "expected '!='");
        t->kind = T_OP, t->op = ST_CMP_NE, t->len = 2;
        break;
    case '<':
        t->kind = T_OP, t->op = ST_CMP_LT;
        if (left > 1 && s[1] == '=')
            t->op = ST_CMP_LE, t->len = 2;
        else if (left > 1 && s[1] == '>')
            t->op = ST_CMP_NE, t->len = 2;
        break;
    case '>':
        t->kind = T_OP, t->op = ST_CMP_GT;
        if (left > 1 && s[1] == '=') t->op = ST_CMP_GE, t->len = 2;
        break;
    case '\'':
    case '"': rc = lex_quoted(p, (char)c, t); break;
    default: {
        size_t nl = number_len(s, left);
        if (nl) {
            if (nl < left && is_ident_char((unsigned char)s[nl]))
                return perr(p, p->pos + nl, "unexpected character after a number");
            t->kind = T_NUMBER;
            t->len = nl;
        } else if (is_ident_start(c)) {
            size_t k = 1;
            while (k < left && is_ident_char((unsigned char)s[k]))
                k++;
            t->len = k;
            t->kind = T_IDENT;
            for (size_t w = 0; w < sizeof keywords / sizeof keywords[0]; w++)
                if (strlen(keywords[w].word) == k && !strncasecmp(s, keywords[w].word, k))
                    t->kind = keywords[w].kind;
        } else {
            char ch[8];
            if (c < 0x20 || c == 0x7f)
                snprintf(ch, sizeof ch, "\\x%02x", c);
            else
                snprintf(ch, sizeof ch, "%c", c);
            return perr(p, p->pos, "unexpected character '%s'", ch);
        }
        if (t->kind == T_NUMBER || t->kind == T_IDENT) {
            t->text = strndup(s, t->len);
            if (!t->text) return p->rc = st_error(ST_ENOMEM, "filter: out of memory");
        }
    }
    }
    if (rc) return rc;
    p->pos += t->len;
    return ST_OK;
}

static st_expr_t *node(parser *p, st_expr_kind_t kind) {
    if (++p->nodes > MAX_NODES) {
        perr(p, p->tok.pos, "the filter has more than %d terms", MAX_NODES);
        return NULL;
    }
    st_expr_t *e = calloc(1, sizeof *e);
    if (!e) {
        p->rc = st_error(ST_ENOMEM, "filter: out of memory");
        return NULL;
    }
    e->kind = kind;
    e->column_index = -1;
    return e;
}

void st_expr_free(st_expr_t *e) {
    if (!e) return;
    st_expr_free(e->left);
    st_expr_free(e->right);
    free(e->column);
    for (int i = 0; i < e->nliterals; i++)
        free(e->literals[i]);
    free(e->literals);
    free(e->quoted);
    if (e->values) {
        /* The bound column was made as the only column of a batch. */
        st_batch_t *b = calloc(1, sizeof *b);
        if (b) {
            b->ncols = 1;
            b->cols = e->values;
            st_batch_free(b);
        } else {
            free(e->values->field.name);
            st_buf_free(&e->values->validity);
            st_buf_free(&e->values->values);
            st_buf_free(&e->values->offsets);
            free(e->values);
        }
    }
    free(e);
}

static st_expr_t *parse_or(parser *p);

/* Takes the current token as a literal (string, number, true, false, null). */
static int take_literal(parser *p, st_expr_t *e, const char *after) {
    token *t = &p->tok;
    bool ok = t->kind == T_STRING || t->kind == T_NUMBER || t->kind == T_TRUE ||
              t->kind == T_FALSE || t->kind == T_NULL;
    if (!ok) {
        char buf[64];
        if (t->kind == T_END) return perr(p, t->pos, "expected a value after %s", after);
        return perr(p, t->pos, "expected a value after %s, found %s", after,
                    shown(p, t, buf, sizeof buf));
    }
    if (e->nliterals >= MAX_IN) return perr(p, t->pos, "too many values in the list");
    char **lits = realloc(e->literals, (size_t)(e->nliterals + 1) * sizeof *lits);
    if (!lits) return p->rc = st_error(ST_ENOMEM, "filter: out of memory");
    e->literals = lits;
    bool *q = realloc(e->quoted, (size_t)(e->nliterals + 1) * sizeof *q);
    if (!q) return p->rc = st_error(ST_ENOMEM, "filter: out of memory");
    e->quoted = q;
    char *text = NULL;
    if (t->kind == T_STRING || t->kind == T_NUMBER) {
        text = t->text;
        t->text = NULL;
    } else if (t->kind != T_NULL) {
        text = strdup(t->kind == T_TRUE ? "true" : "false");
        if (!text) return p->rc = st_error(ST_ENOMEM, "filter: out of memory");
    }
    e->literals[e->nliterals] = text;
    e->quoted[e->nliterals] = t->kind == T_STRING;
    e->nliterals++;
    return next(p);
}

static const char *op_text(st_cmp_op_t op) {
    static const char *ops[] = {"=", "!=", "<", "<=", ">", ">="};
    return ops[op];
}

/* pred := col op literal | col [not] in (literals) | col is [not] null */
static st_expr_t *parse_pred(parser *p) {
    token *t = &p->tok;
    char buf[64];
    if (t->kind != T_IDENT && t->kind != T_QNAME) {
        if (t->kind == T_END)
            perr(p, t->pos, "expected a column name");
        else
            perr(p, t->pos, "expected a column name, found %s", shown(p, t, buf, sizeof buf));
        return NULL;
    }
    char *column = t->text;
    t->text = NULL;
    char colshown[80];
    snprintf(colshown, sizeof colshown, "'%.60s'", column);
    if (next(p)) {
        free(column);
        return NULL;
    }
    st_expr_t *e = NULL;
    if (t->kind == T_OP) {
        if (!(e = node(p, ST_EXPR_CMP))) goto fail;
        e->op = t->op;
        char after[16];
        snprintf(after, sizeof after, "'%s'", op_text(t->op));
        if (next(p) || take_literal(p, e, after)) goto fail;
    } else if (t->kind == T_IS) {
        if (!(e = node(p, ST_EXPR_IS_NULL)) || next(p)) goto fail;
        if (t->kind == T_NOT) {
            e->negated = true;
            if (next(p)) goto fail;
        }
        if (t->kind != T_NULL) {
            perr(p, t->pos, "expected 'null' or 'not null' after 'is'");
            goto fail;
        }
        if (next(p)) goto fail;
    } else if (t->kind == T_IN || t->kind == T_NOT) {
        if (!(e = node(p, ST_EXPR_IN))) goto fail;
        if (t->kind == T_NOT) {
            e->negated = true;
            if (next(p)) goto fail;
            if (t->kind != T_IN) {
                perr(p, t->pos, "expected 'in' after 'not'");
                goto fail;
            }
        }
        if (next(p)) goto fail;
        if (t->kind != T_LPAREN) {
            perr(p, t->pos, "expected '(' after 'in'");
            goto fail;
        }
        if (next(p)) goto fail;
        for (;;) {
            if (take_literal(p, e, e->nliterals ? "','" : "'('")) goto fail;
            if (t->kind == T_COMMA) {
                if (next(p)) goto fail;
                continue;
            }
            if (t->kind != T_RPAREN) {
                perr(p, t->pos, "expected ',' or ')' in the list, found %s",
                     shown(p, t, buf, sizeof buf));
                goto fail;
            }
            if (next(p)) goto fail;
            break;
        }
    } else {
        if (t->kind == T_END)
            perr(p, t->pos, "expected an operator after %s", colshown);
        else
            perr(p, t->pos, "expected an operator after %s, found %s", colshown,
                 shown(p, t, buf, sizeof buf));
        goto fail;
    }
    e->column = column;
    return e;
fail:
    free(column);
    st_expr_free(e);
    return NULL;
}

static st_expr_t *parse_unary(parser *p) {
    token *t = &p->tok;
    if (++p->depth > MAX_DEPTH) {
        perr(p, t->pos, "expression nested too deeply");
        return NULL;
    }
    st_expr_t *e = NULL;
    if (t->kind == T_NOT) {
        if (next(p)) return NULL;
        st_expr_t *inner = parse_unary(p);
        if (!inner) return NULL;
        if (!(e = node(p, ST_EXPR_NOT))) {
            st_expr_free(inner);
            return NULL;
        }
        e->left = inner;
    } else if (t->kind == T_LPAREN) {
        size_t open = t->pos;
        if (next(p)) return NULL;
        if (!(e = parse_or(p))) return NULL;
        if (t->kind != T_RPAREN) {
            char buf[64];
            if (t->kind == T_END) {
                perr(p, t->pos, "expected ')' to close the '(' at column %ld",
                     char_column(p->src, open));
            } else {
                perr(p, t->pos, "expected ')' or an operator, found %s",
                     shown(p, t, buf, sizeof buf));
            }
            st_expr_free(e);
            return NULL;
        }
        if (next(p)) {
            st_expr_free(e);
            return NULL;
        }
    } else {
        e = parse_pred(p);
    }
    p->depth--;
    return e;
}

static st_expr_t *parse_chain(parser *p, tok_kind op, st_expr_kind_t kind,
                              st_expr_t *(*sub)(parser *)) {
    st_expr_t *left = sub(p);
    while (left && p->tok.kind == op) {
        if (next(p)) break;
        st_expr_t *right = sub(p);
        if (!right) break;
        st_expr_t *e = node(p, kind);
        if (!e) {
            st_expr_free(right);
            break;
        }
        e->left = left;
        e->right = right;
        left = e;
    }
    if (p->rc) {
        st_expr_free(left);
        return NULL;
    }
    return left;
}

static st_expr_t *parse_and(parser *p) { return parse_chain(p, T_AND, ST_EXPR_AND, parse_unary); }

static st_expr_t *parse_or(parser *p) { return parse_chain(p, T_OR, ST_EXPR_OR, parse_and); }

int st_expr_parse(const char *text, st_expr_t **out) {
    *out = NULL;
    if (!text) return st_error(ST_EINVAL, "filter: no text");
    parser p = {.src = text, .n = strlen(text)};
    st_expr_t *e = NULL;
    if (!next(&p)) e = parse_or(&p);
    if (e && p.tok.kind != T_END) {
        char buf[64];
        const char *what = p.tok.kind == T_RPAREN ? "unmatched ')'" : NULL;
        if (what)
            perr(&p, p.tok.pos, "%s", what);
        else
            perr(&p, p.tok.pos, "expected 'and', 'or' or the end, found %s",
                 shown(&p, &p.tok, buf, sizeof buf));
    }
    free(p.tok.text);
    if (p.rc) {
        st_expr_free(e);
        return p.rc;
    }
    *out = e;
    return ST_OK;
}
