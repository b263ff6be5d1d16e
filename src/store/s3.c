/*
 * The s3 store backend: S3-compatible object storage (AWS, Ceph radosgw,
 * MinIO) over HTTP with SigV4. This file holds the entry points for reads,
 * listing, deletes and opening; writes live in s3_put.c, the capability
 * probe in s3_probe.c, request plumbing in s3_req.c.
 */
#include "store/s3_internal.h"
#include "store/s3_xml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LIST_PAGE "1000"

static int s3_head(void *state, const char *key, st_object_info_t *info) {
    s3_store_t *st = state;
    char *fk = s3_full_key(st, key);
    if (!fk) return ST_ENOMEM;
    st_object_info_t tmp;
    int rc = s3_head_full(st, fk, info ? info : &tmp);
    if (!rc && !info) st_object_info_free(&tmp);
    free(fk);
    return rc;
}

/* ---- get ------------------------------------------------------------------- */

/* Parses "bytes a-b/total" (total may be '*'). */
static bool parse_content_range(const char *v, uint64_t *a, uint64_t *b) {
    unsigned long long x, y;
    if (!v || sscanf(v, "bytes %llu-%llu", &x, &y) != 2 || y < x) return false;
    *a = x;
    *b = y;
    return true;
}

static int s3_get_range(void *state, const char *key, int64_t offset, uint64_t length, bool whole,
                        st_buf_t *out, st_object_info_t *info) {
    s3_store_t *st = state;
    char *fk = s3_full_key(st, key);
    if (!fk) return ST_ENOMEM;
    int rc = ST_OK;
    bool suffix = !whole && offset < 0;
    if (!whole && length == 0) {
        /* An empty range says nothing on the wire; HEAD still checks that the
         * object exists and that the offset is inside it. */
        st_object_info_t hi;
        memset(&hi, 0, sizeof hi);
        rc = s3_head_full(st, fk, &hi);
        if (!rc && !suffix && (uint64_t)offset > hi.size) {
            char *u = s3_url_of(st, fk);
            rc = st_error(ST_EINVAL, "%s: offset %lld is beyond the end (%llu bytes)", u ? u : key,
                          (long long)offset, (unsigned long long)hi.size);
            free(u);
        }
        if (!rc && info)
            *info = hi;
        else
            st_object_info_free(&hi);
        free(fk);
        return rc;
    }
    s3_op_t op = {.st = st, .method = "GET", .fkey = fk, .out = out};
    char range[64] = "";
    if (suffix) {
        snprintf(range, sizeof range, "bytes=-%llu", (unsigned long long)length);
    } else if (!whole) {
        uint64_t last;
        if (length - 1 > (uint64_t)INT64_MAX - (uint64_t)offset)
            snprintf(range, sizeof range, "bytes=%lld-", (long long)offset);
        else {
            last = (uint64_t)offset + length - 1;
            snprintf(range, sizeof range, "bytes=%lld-%llu", (long long)offset,
                     (unsigned long long)last);
        }
    }
    if (range[0] && (rc = s3_hdrs_add(&op.h, "range", range))) {
        s3_op_free(&op);
        free(fk);
        return rc;
    }
    size_t start = out->len;
    s3_resp_t r;
    rc = s3_op_run(&op, &r);
    if (!rc && r.status == 416) {
        /* Unsatisfiable: an offset at the very end (or any suffix of an empty
         * object) is an empty read, one past it an error. */
        st_object_info_t hi;
        rc = s3_head_full(st, fk, &hi);
        if (!rc) {
            if (!suffix && (uint64_t)offset > hi.size) {
                char *u = s3_url_of(st, fk);
                rc = st_error(ST_EINVAL, "%s: offset %lld is beyond the end (%llu bytes)",
                              u ? u : key, (long long)offset, (unsigned long long)hi.size);
                free(u);
            }
            st_object_info_free(&hi);
        }
    } else if (!rc && r.status == 200 && !whole) {
        /* The server ignored the Range header: cut the range out ourselves. */
        uint64_t total = out->len - start, from, n;
        if (suffix) {
            n = length < total ? length : total;
            from = total - n;
        } else if ((uint64_t)offset > total) {
            char *u = s3_url_of(st, fk);
            rc = st_error(ST_EINVAL, "%s: offset %lld is beyond the end (%llu bytes)", u ? u : key,
                          (long long)offset, (unsigned long long)total);
            free(u);
            from = n = 0;
        } else {
            from = (uint64_t)offset;
            n = total - from < length ? total - from : length;
        }
        if (!rc) {
            if (n) memmove(out->data + start, out->data + start + from, n);
            out->len = start + n;
            if (info) rc = s3_info_from_resp(&r, info, false);
        }
    } else if (!rc && r.status == 206) {
        uint64_t a, b, got = out->len - start;
        const char *cr = s3_resp_header(&r, "content-range");
        bool good = parse_content_range(cr, &a, &b) && b - a + 1 == got &&
                    (suffix ? got <= length : a == (uint64_t)offset && got <= length);
        if (!good) {
            char *u = s3_url_of(st, fk);
            rc = st_error(ST_EIO, "%s: ranged GET answered with Content-Range '%s' and %llu bytes",
                          u ? u : key, cr ? cr : "", (unsigned long long)got);
            free(u);
        } else if (info) {
            rc = s3_info_from_resp(&r, info, true);
        }
    } else if (!rc && s3_ok(r.status)) {
        if (info) rc = s3_info_from_resp(&r, info, false);
    } else if (!rc) {
        rc = s3_fail(st, fk, &r);
    }
    if (rc) out->len = start;
    s3_resp_free(&r);
    s3_op_free(&op);
    free(fk);
    return rc;
}

/* ---- delete ---------------------------------------------------------------- */

static int s3_del(void *state, const char *key) {
    s3_store_t *st = state;
    char *fk = s3_full_key(st, key);
    if (!fk) return ST_ENOMEM;
    /* S3 deletes of missing keys succeed; strata reports ST_ENOTFOUND. */
    int rc = s3_head_full(st, fk, NULL);
    if (!rc) {
        s3_op_t op = {.st = st, .method = "DELETE", .fkey = fk};
        s3_resp_t r = {0};
        rc = s3_op_run(&op, &r);
        if (!rc && !s3_ok(r.status)) rc = s3_fail(st, fk, &r);
        s3_resp_free(&r);
        s3_op_free(&op);
    }
    free(fk);
    return rc;
}

/* ---- list ------------------------------------------------------------------ */

typedef struct s3_list_it {
    s3_store_t *st;
    char *full_prefix;
    char *delim;
    size_t strip; /* bytes of "<store prefix>/" to cut from every key */
    s3_list_page_t page;
    size_t pos;
    bool fetched;
    st_list_entry_t cur;
} s3_list_it_t;

static int list_fetch(s3_list_it_t *it) {
    s3_store_t *st = it->st;
    char *token = it->page.next_token;
    it->page.next_token = NULL;
    s3_list_page_free(&it->page);
    it->pos = 0;
    s3_op_t op = {.st = st, .method = "GET", .fkey = NULL};
    op.query[op.nquery++] = (s3_kv_t){"list-type", "2"};
    op.query[op.nquery++] = (s3_kv_t){"max-keys", LIST_PAGE};
    op.query[op.nquery++] = (s3_kv_t){"encoding-type", "url"};
    if (*it->full_prefix) op.query[op.nquery++] = (s3_kv_t){"prefix", it->full_prefix};
    if (it->delim) op.query[op.nquery++] = (s3_kv_t){"delimiter", it->delim};
    if (token) op.query[op.nquery++] = (s3_kv_t){"continuation-token", token};
    st_buf_t out = ST_BUF_INIT;
    op.out = &out;
    op.out_max = S3_XML_MAX;
    s3_resp_t r = {0};
    int rc = s3_op_run(&op, &r);
    if (!rc) {
        if (!s3_ok(r.status))
            rc = s3_fail(st, NULL, &r);
        else if ((rc = s3_xml_parse_list((const char *)out.data, out.len, &it->page)))
            rc = st_error_prefix(ST_EIO, "%s: ListObjectsV2", st->display);
    }
    s3_resp_free(&r);
    s3_op_free(&op);
    st_buf_free(&out);
    free(token);
    it->fetched = true;
    return rc;
}

static int s3_list_next(void *itp, const st_list_entry_t **entry) {
    s3_list_it_t *it = itp;
    *entry = NULL;
    int empty_pages = 0;
    for (;;) {
        while (it->pos < it->page.n) {
            const s3_list_item_t *x = &it->page.items[it->pos++];
            size_t fl = strlen(it->full_prefix);
            if (strncmp(x->key, it->full_prefix, fl) != 0)
                return st_error(ST_EIO, "%s: listing returned '%s' outside prefix '%s'",
                                it->st->display, x->key, it->full_prefix);
            const char *rel = x->key + it->strip;
            /* "dir/" folder markers made by consoles are not valid keys. */
            if (!*rel) continue;
            it->cur = (st_list_entry_t){.key = rel,
                                        .is_prefix = x->is_prefix,
                                        .size = x->size,
                                        .etag = x->etag ? x->etag : "",
                                        .last_modified_us = x->last_modified_us};
            *entry = &it->cur;
            return ST_OK;
        }
        if (it->fetched && !it->page.truncated) return ST_OK;
        if (it->fetched && ++empty_pages > 1000)
            return st_error(ST_EIO, "%s: listing keeps returning empty pages", it->st->display);
        int rc = list_fetch(it);
        if (rc) return rc;
    }
}

static void s3_list_close(void *itp) {
    s3_list_it_t *it = itp;
    if (!it) return;
    s3_list_page_free(&it->page);
    free(it->full_prefix);
    free(it->delim);
    free(it);
}

static size_t s3_list_buffered(void *itp) { return ((s3_list_it_t *)itp)->page.n; }

static const st_list_page_ops_t s3_list_ops = {s3_list_next, s3_list_close, s3_list_buffered};

static int s3_list(void *state, const char *prefix, const char *delimiter, void **itp,
                   const st_list_page_ops_t **ops) {
    s3_store_t *st = state;
    s3_list_it_t *it = calloc(1, sizeof *it);
    if (!it) return st_error(ST_ENOMEM, "out of memory");
    it->st = st;
    const char *p = prefix ? prefix : "";
    it->full_prefix = *st->prefix ? s3_asprintf("%s/%s", st->prefix, p) : s3_strdup(p);
    it->strip = *st->prefix ? strlen(st->prefix) + 1 : 0;
    if (delimiter && *delimiter) it->delim = s3_strdup(delimiter);
    if (!it->full_prefix || (delimiter && *delimiter && !it->delim)) {
        s3_list_close(it);
        return ST_ENOMEM;
    }
    *itp = it;
    *ops = &s3_list_ops;
    return ST_OK;
}

/* ---- open / close ---------------------------------------------------------- */

static void store_free(s3_store_t *st) {
    if (!st) return;
    s3_http_free(st->http);
    s3_creds_free(&st->creds);
    free(st->bucket);
    free(st->prefix);
    free(st->region);
    free(st->host);
    free(st->base_url);
    free(st->path_base);
    free(st->display);
    free(st);
}

static void s3_close(void *state) { store_free(state); }

static int parse_bool(const char *v, bool *out) {
    if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes"))
        *out = true;
    else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no"))
        *out = false;
    else
        return ST_EINVAL;
    return ST_OK;
}

/* A decimal number with an optional K/M/G (binary) suffix. */
static int parse_size(const char *v, uint64_t *out) {
    char *end;
    errno = 0;
    if (!*v || *v == '-') return ST_EINVAL;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v) return ST_EINVAL;
    uint64_t mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1ull << 10, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1ull << 20, end++;
    else if (*end == 'g' || *end == 'G')
        mul = 1ull << 30, end++;
    if (mul > 1 && (*end == 'i' || *end == 'I')) end++;
    if (mul > 1 && (*end == 'b' || *end == 'B')) end++;
    if (*end || x > UINT64_MAX / mul) return ST_EINVAL;
    *out = x * mul;
    return ST_OK;
}

static bool dns_bucket(const char *b) {
    size_t n = strlen(b);
    if (n < 3 || n > 63) return false;
    for (const char *c = b; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-')) return false;
    return b[0] != '-' && b[n - 1] != '-';
}

static bool valid_bucket(const char *b) {
    size_t n = strlen(b);
    if (n < 1 || n > 255) return false;
    for (const char *c = b; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '.' || *c == '_'))
            return false;
    return true;
}

static bool valid_region(const char *r) {
    if (!*r || strlen(r) > 64) return false;
    for (; *r; r++)
        if (!((*r >= 'a' && *r <= 'z') || (*r >= 'A' && *r <= 'Z') || (*r >= '0' && *r <= '9') ||
              *r == '-' || *r == '_'))
            return false;
    return true;
}

/* Splits "scheme://host[:port][/]" into scheme and authority. */
static int parse_endpoint(const char *ep, const char *display, char **scheme, char **authority) {
    const char *s = strstr(ep, "://");
    const char *auth;
    if (!s) {
        *scheme = s3_strdup("https");
        auth = ep;
    } else {
        size_t sl = (size_t)(s - ep);
        if (!((sl == 4 && strncasecmp(ep, "http", 4) == 0) ||
              (sl == 5 && strncasecmp(ep, "https", 5) == 0)))
            return st_error(ST_EINVAL, "%s: endpoint '%s' must be http:// or https://", display,
                            ep);
        *scheme = s3_asprintf("%.*s", (int)sl, ep);
        if (*scheme)
            for (char *c = *scheme; *c; c++)
                if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
        auth = s + 3;
    }
    if (!*scheme) return ST_ENOMEM;
    size_t al = strcspn(auth, "/?#");
    const char *rest = auth + al;
    if (al == 0 || (*rest && strcmp(rest, "/") != 0) || memchr(auth, '@', al)) {
        free(*scheme);
        *scheme = NULL;
        return st_error(ST_EINVAL, "%s: endpoint '%s' must be scheme://host[:port]", display, ep);
    }
    for (size_t i = 0; i < al; i++) {
        unsigned char c = (unsigned char)auth[i];
        if (c <= 0x20 || c >= 0x7f) {
            free(*scheme);
            *scheme = NULL;
            return st_error(ST_EINVAL, "%s: endpoint '%s' holds a bad character", display, ep);
        }
    }
    *authority = s3_asprintf("%.*s", (int)al, auth);
    if (!*authority) {
        free(*scheme);
        *scheme = NULL;
        return ST_ENOMEM;
    }
    return ST_OK;
}

/* Drops a default port (":80" on http, ":443" on https): the Host header
 * curl would send, and the one the server signs against, omits it. */
static void drop_default_port(const char *scheme, char *authority) {
    size_t n = strlen(authority);
    if (strcmp(scheme, "http") == 0 && n > 3 && strcmp(authority + n - 3, ":80") == 0 &&
        authority[n - 4] != ':')
        authority[n - 3] = '\0';
    else if (strcmp(scheme, "https") == 0 && n > 4 && strcmp(authority + n - 4, ":443") == 0)
        authority[n - 4] = '\0';
}

static int s3_open(const st_url_t *url, void **state, unsigned *caps) {
    *state = NULL;
    s3_store_t *st = calloc(1, sizeof *st);
    if (!st) return st_error(ST_ENOMEM, "out of memory");
    int rc = ST_OK;
    const char *bucket = url->host ? url->host : "";
    const char *prefix = url->path ? url->path : "";
    while (*prefix == '/')
        prefix++;
    st->bucket = s3_strdup(bucket);
    st->prefix = s3_strdup(prefix);
    if (!st->bucket || !st->prefix) {
        store_free(st);
        return ST_ENOMEM;
    }
    for (size_t n = strlen(st->prefix); n && st->prefix[n - 1] == '/'; n--)
        st->prefix[n - 1] = '\0';
    st->display = *st->prefix ? s3_asprintf("s3://%s/%s", st->bucket, st->prefix)
                              : s3_asprintf("s3://%s", st->bucket);
    if (!st->display) {
        store_free(st);
        return ST_ENOMEM;
    }
    if (!valid_bucket(st->bucket)) {
        rc = st_error(ST_EINVAL, "%s: '%s' is not a valid bucket name", st->display, st->bucket);
        store_free(st);
        return rc;
    }

    static const char *const known[] = {"endpoint",   "region",  "path_style", "profile",
                                        "timeout_ms", "retries", "part_size",  "probe"};
    for (int i = 0; i < url->nparams; i++) {
        bool ok = false;
        for (size_t k = 0; k < sizeof known / sizeof *known && !ok; k++)
            ok = strcmp(url->param_keys[i], known[k]) == 0;
        if (!ok) {
            rc = st_error(ST_EINVAL,
                          "%s: unknown option '%s' (known: endpoint, region, path_style, "
                          "profile, timeout_ms, retries, part_size, probe)",
                          st->display, url->param_keys[i]);
            store_free(st);
            return rc;
        }
    }
    const char *endpoint = st_url_param(url, "endpoint");
    const char *v;
    bool path_style = endpoint && *endpoint, do_probe = true;
    if ((v = st_url_param(url, "path_style")) && parse_bool(v, &path_style))
        rc = st_error(ST_EINVAL, "%s: path_style must be 0 or 1, not '%s'", st->display, v);
    if (!rc && (v = st_url_param(url, "probe")) && parse_bool(v, &do_probe))
        rc = st_error(ST_EINVAL, "%s: probe must be 0 or 1, not '%s'", st->display, v);
    s3_http_opts_t ho = {.retries = 5};
    uint64_t x;
    if (!rc && (v = st_url_param(url, "timeout_ms"))) {
        if (parse_size(v, &x) || x > 86400000ull)
            rc = st_error(ST_EINVAL, "%s: bad timeout_ms '%s'", st->display, v);
        else
            ho.timeout_ms = (long)x;
    }
    if (!rc && (v = st_url_param(url, "retries"))) {
        if (parse_size(v, &x) || x > 100)
            rc = st_error(ST_EINVAL, "%s: retries must be 0..100, not '%s'", st->display, v);
        else
            ho.retries = (int)x;
    }
    st->part_size = S3_PART_SIZE_DEFAULT;
    if (!rc && (v = st_url_param(url, "part_size"))) {
        if (parse_size(v, &x) || x < S3_PART_SIZE_MIN || x > S3_PART_SIZE_MAX)
            rc = st_error(ST_EINVAL, "%s: part_size must be 5 MiB..5 GiB (bytes), not '%s'",
                          st->display, v);
        else
            st->part_size = x;
    }
    if (!rc && !(st->region = s3_region_resolve(st_url_param(url, "region"))))
        rc = st_error(ST_ENOMEM, "out of memory");
    if (!rc && !valid_region(st->region))
        rc = st_error(ST_EINVAL, "%s: bad region '%s'", st->display, st->region);
    if (rc) {
        store_free(st);
        return rc;
    }

    char *scheme = NULL, *authority = NULL;
    if (endpoint && *endpoint) {
        rc = parse_endpoint(endpoint, st->display, &scheme, &authority);
    } else {
        scheme = s3_strdup("https");
        authority = s3_asprintf("s3.%s.amazonaws.com", st->region);
        if (!scheme || !authority) rc = ST_ENOMEM;
    }
    if (!rc) {
        drop_default_port(scheme, authority);
        /* Bucket names that are not DNS labels cannot be virtual hosts. */
        if (!path_style && !dns_bucket(st->bucket)) path_style = true;
        if (path_style) {
            st->host = s3_strdup(authority);
            st->path_base = s3_asprintf("/%s", st->bucket);
        } else {
            st->host = s3_asprintf("%s.%s", st->bucket, authority);
            st->path_base = s3_strdup("");
        }
        st->base_url = st->host ? s3_asprintf("%s://%s", scheme, st->host) : NULL;
        if (!st->host || !st->path_base || !st->base_url) rc = ST_ENOMEM;
    }
    free(scheme);
    free(authority);
    if (!rc) rc = s3_creds_load(st_url_param(url, "profile"), &st->creds);
    if (rc == ST_EAUTH) rc = st_error_prefix(rc, "%s", st->display);
    if (!rc) rc = s3_http_new(&ho, &st->http);
    if (!rc) {
        if (!do_probe) {
            /* Read-only tools skip the probe and trust the server; nothing
             * they do depends on conditional writes. */
            st->caps = ST_CAP_PUT_IF_ABSENT | ST_CAP_PUT_IF_MATCH;
            st->if_match_quoted = true;
        } else {
            rc = s3_probe_caps(st);
        }
    }
    if (rc) {
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", st_errmsg());
        store_free(st);
        return st_error(rc, "%s", saved);
    }
    *state = st;
    *caps = st->caps;
    return ST_OK;
}

static char *s3_object_url(void *state, const char *key) {
    s3_store_t *st = state;
    return s3_asprintf("%s/%s", st->display, key);
}

const st_store_backend_t st_store_s3_backend = {
    .scheme = "s3",
    .open = s3_open,
    .close = s3_close,
    .get_range = s3_get_range,
    .put = s3_be_put,
    .head = s3_head,
    .del = s3_del,
    .list = s3_list,
    .writer_open = s3_be_writer_open,
    .object_url = s3_object_url,
};
