/*
 * Store URLs. One parser for every backend so that "file:///d", "/d" and
 * "d" (relative to the working directory) name the same store, and so that a
 * store's URL, printed and parsed again, opens the same store.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_internal.h"

const char *st_url_param(const st_url_t *u, const char *key) {
    if (!u || !key) return NULL;
    for (int i = 0; i < u->nparams; i++)
        if (!strcmp(u->param_keys[i], key)) return u->param_values[i];
    return NULL;
}

void store_url_free(st_url_t *u) {
    if (!u) return;
    free(u->scheme);
    free(u->host);
    free(u->path);
    for (int i = 0; i < u->nparams; i++) {
        free(u->param_keys[i]);
        free(u->param_values[i]);
    }
    free(u->param_keys);
    free(u->param_values);
    memset(u, 0, sizeof *u);
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n). Decoded NULs and control characters are refused:
 * they could smuggle a path terminator or a header break past later checks. */
static int pct_decode(const char *s, size_t n, const char *what, char **out) {
    char *d = malloc(n + 1);
    if (!d) return st_error(ST_ENOMEM, "out of memory");
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (n - i < 3 || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
                free(d);
                return st_error(ST_EINVAL, "bad percent-escape in the %s of a store URL", what);
            }
            c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f) {
            free(d);
            return st_error(ST_EINVAL, "control character 0x%02x in the %s of a store URL", c,
                            what);
        }
        d[j++] = (char)c;
    }
    d[j] = '\0';
    *out = d;
    return ST_OK;
}

/* Lexical normalisation of an absolute path: no empty, "." or ".." segments,
 * no trailing '/' (except the root itself). Done without touching the disk
 * because the directory may not exist yet. */
static char *normalize_abs(const char *path) {
    size_t n = strlen(path);
    char *out = malloc(n + 2);
    if (!out) return NULL;
    size_t len = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *end = strchr(p, '/');
        size_t seg = end ? (size_t)(end - p) : strlen(p);
        if (seg == 0) break;
        if (seg == 1 && p[0] == '.') {
            /* skip */
        } else if (seg == 2 && p[0] == '.' && p[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0) len--; /* the '/' before the dropped segment */
        } else {
            out[len++] = '/';
            memcpy(out + len, p, seg);
            len += seg;
        }
        p += seg;
    }
    if (len == 0) out[len++] = '/';
    out[len] = '\0';
    return out;
}

static int check_no_controls(const char *s, const char *what) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return st_error(ST_EINVAL, "control character 0x%02x in the %s", *p, what);
    return ST_OK;
}

static int parse_plain_path(const char *text, st_url_t *u) {
    int rc = check_no_controls(text, "store path");
    if (rc) return rc;
    char *abs;
    if (text[0] == '/') {
        abs = strdup(text);
    } else {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd))
            return st_error(ST_EIO, "%s: cannot resolve a relative path: %s", text,
                            strerror(errno));
        size_t n = strlen(cwd) + strlen(text) + 2;
        abs = malloc(n);
        if (abs) snprintf(abs, n, "%s/%s", cwd, text);
    }
    if (!abs) return st_error(ST_ENOMEM, "out of memory");
    u->path = normalize_abs(abs);
    free(abs);
    u->scheme = strdup("file");
    u->host = strdup("");
    if (!u->path || !u->scheme || !u->host) return st_error(ST_ENOMEM, "out of memory");
    return ST_OK;
}

static int parse_query(const char *q, st_url_t *u) {
    if (!*q) return ST_OK;
    int cap = 1;
    for (const char *p = q; *p; p++)
        cap += *p == '&';
    u->param_keys = calloc((size_t)cap, sizeof *u->param_keys);
    u->param_values = calloc((size_t)cap, sizeof *u->param_values);
    if (!u->param_keys || !u->param_values) return st_error(ST_ENOMEM, "out of memory");
    const char *p = q;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > 0) {
            const char *eq = memchr(p, '=', len);
            size_t klen = eq ? (size_t)(eq - p) : len;
            char *k = NULL, *v = NULL;
            int rc = pct_decode(p, klen, "query", &k);
            if (!rc)
                rc = eq ? pct_decode(eq + 1, len - klen - 1, "query", &v)
                        : ((v = strdup("")) ? 0 : ST_ENOMEM);
            if (rc || !*k) {
                free(k);
                free(v);
                return rc ? (rc == ST_ENOMEM ? st_error(rc, "out of memory") : rc)
                          : st_error(ST_EINVAL, "empty parameter name in the query of a store URL");
            }
            if (st_url_param(u, k)) {
                int e = st_error(ST_EINVAL, "store URL query repeats parameter '%s'", k);
                free(k);
                free(v);
                return e;
            }
            u->param_keys[u->nparams] = k;
            u->param_values[u->nparams] = v;
            u->nparams++;
        }
        p += len;
        if (*p == '&') p++;
    }
    return ST_OK;
}

/* Turns a prefix into "a/b" form: no leading or trailing '/', each segment a
 * valid key segment (the prefix becomes part of every key). */
static int clean_prefix(char *path, const char *what) {
    char *s = path;
    while (*s == '/')
        s++;
    memmove(path, s, strlen(s) + 1);
    size_t n = strlen(path);
    while (n > 0 && path[n - 1] == '/')
        path[--n] = '\0';
    if (n == 0) return ST_OK;
    if (st_key_validate(path)) return st_error_prefix(ST_EINVAL, "%s", what);
    return ST_OK;
}

int store_url_parse(const char *text, st_url_t *u) {
    memset(u, 0, sizeof *u);
    if (!text || !*text) return st_error(ST_EINVAL, "empty store URL");
    const char *sep = strstr(text, "://");
    const char *p = text;
    bool has_scheme = sep && sep > text && isalpha((unsigned char)text[0]);
    for (const char *c = text; has_scheme && c < sep; c++)
        if (!isalnum((unsigned char)*c) && *c != '+' && *c != '-' && *c != '.') has_scheme = false;
    if (!has_scheme) return parse_plain_path(text, u);

    size_t slen = (size_t)(sep - text);
    u->scheme = strndup(text, slen);
    if (!u->scheme) return st_error(ST_ENOMEM, "out of memory");
    for (char *c = u->scheme; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    p = sep + 3;
    if (strchr(p, '#'))
        return st_error(ST_EINVAL, "%s://...: fragments ('#') are not allowed in store URLs",
                        u->scheme);

    const char *q = strchr(p, '?');
    const char *end = q ? q : p + strlen(p);
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *host_end = slash ? slash : end;
    /* Never echo what precedes '@': it would be a secret. */
    if (memchr(p, '@', (size_t)(host_end - p)))
        return st_error(
            ST_EINVAL,
            "%s://...: credentials in store URLs are not supported (use the environment)",
            u->scheme);
    int rc = pct_decode(p, (size_t)(host_end - p), "host", &u->host);
    if (rc) return rc;
    char *rawpath = NULL;
    rc = pct_decode(host_end, (size_t)(end - host_end), "path", &rawpath);
    if (rc) return rc;
    if (q && (rc = parse_query(q + 1, u))) {
        free(rawpath);
        return rc;
    }

    if (!strcmp(u->scheme, "file")) {
        if (*u->host && strcmp(u->host, "localhost")) {
            free(rawpath);
            return st_error(
                ST_EINVAL,
                "file://%s...: file URLs name a local absolute path (file:///dir), not host '%s'",
                u->host, u->host);
        }
        u->host[0] = '\0';
        if (rawpath[0] != '/') {
            free(rawpath);
            return st_error(ST_EINVAL,
                            "file:// URL without a path (expected file:///absolute/dir)");
        }
        u->path = normalize_abs(rawpath);
        free(rawpath);
        if (!u->path) return st_error(ST_ENOMEM, "out of memory");
        return ST_OK;
    }
    u->path = rawpath;
    if (!*u->host)
        return st_error(ST_EINVAL, "%s:// URL without a %s name", u->scheme,
                        !strcmp(u->scheme, "s3") ? "bucket" : "store");
    for (const char *c = u->host; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
            return st_error(
                ST_EINVAL, "%s://%s: the %s may hold letters, digits, '-', '_' and '.' only",
                u->scheme, u->host, !strcmp(u->scheme, "s3") ? "bucket name" : "store name");
    if (strlen(u->host) > 255) return st_error(ST_EINVAL, "%s://: name too long", u->scheme);
    if ((rc = clean_prefix(u->path, u->scheme))) return rc;
    return ST_OK;
}

/* Escapes only what would change the parse: '%' itself, '?' and '#' in a
 * path, and also '&' and '=' in query parts. Everything else stays readable. */
static int append_escaped(st_buf_t *b, const char *s, bool query) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool esc = *p == '%' || *p == '?' || *p == '#' || *p == ' ' ||
                   (query && (*p == '&' || *p == '=' || *p == '+'));
        int rc = esc ? st_buf_printf(b, "%%%02X", *p) : st_buf_append_byte(b, *p);
        if (rc) return rc;
    }
    return ST_OK;
}

static char *format_url(const st_url_t *u, bool with_query) {
    st_buf_t b = ST_BUF_INIT;
    int rc = st_buf_printf(&b, "%s://", u->scheme);
    if (!rc) rc = append_escaped(&b, u->host, false);
    if (!rc && u->path && *u->path) {
        if (u->path[0] != '/') rc = st_buf_append_byte(&b, '/');
        if (!rc) rc = append_escaped(&b, u->path, false);
    }
    for (int i = 0; with_query && !rc && i < u->nparams; i++) {
        rc = st_buf_append_byte(&b, i == 0 ? '?' : '&');
        if (!rc) rc = append_escaped(&b, u->param_keys[i], true);
        if (!rc) rc = st_buf_append_byte(&b, '=');
        if (!rc) rc = append_escaped(&b, u->param_values[i], true);
    }
    if (!rc) rc = st_buf_append_byte(&b, '\0');
    if (rc) {
        st_buf_free(&b);
        return NULL;
    }
    return (char *)st_buf_detach(&b, NULL);
}

char *store_url_format(const st_url_t *u) { return format_url(u, true); }
char *store_url_base(const st_url_t *u) { return format_url(u, false); }

char *store_join_url(const char *base, const char *key) {
    size_t bl = strlen(base);
    /* "file:///" (the root directory) already ends with the separator. */
    bool slash = bl == 0 || base[bl - 1] != '/';
    size_t n = bl + strlen(key) + 2;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%s%s%s", base, slash ? "/" : "", key);
    return out;
}
