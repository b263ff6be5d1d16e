/*
 * The s3 store backend: S3-compatible object storage (AWS, Ceph radosgw,
 * MinIO) over HTTP with SigV4.
 *
 * Conditional writes. A put-if-absent is `If-None-Match: *`, a put-if-match
 * `If-Match: "<etag>"`. Which of these the server really enforces is probed
 * once per endpoint, bucket and access key in the process (see probe()).
 * Large objects use multipart uploads; a conditional multipart upload only
 * stays atomic if the server checks the condition on CompleteMultipartUpload
 * (AWS does since 2024, radosgw 16 does not). The probe finds out; when the
 * server does not, a conditional writer spools the object to a temporary
 * file and commits it with one conditional PUT (up to 5 GiB, S3's limit for a
 * single PUT), so a lost condition never leaves a visible object.
 */
#include "store/backend.h"
#include "store/s3_creds.h"
#include "store/s3_http.h"
#include "store/s3_sign.h"
#include "store/s3_xml.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MiB ((uint64_t)1 << 20)
#define PART_SIZE_DEFAULT (8 * MiB)
#define PART_SIZE_MIN (5 * MiB) /* S3's minimum for every part but the last */
#define PART_SIZE_MAX (5 * 1024 * MiB)
#define SINGLE_PUT_MAX (5 * 1024 * MiB)
#define MAX_PARTS 10000
#define PARTS_IN_FLIGHT 4
#define LIST_PAGE "1000"
#define META_MAX 2048
#define PROBE_DIR ".strata-probe/"

typedef struct s3_store {
    char *bucket;
    char *prefix; /* "" or "a/b" */
    char *region;
    char *host;      /* Host header value */
    char *base_url;  /* scheme://host[:port] */
    char *path_base; /* "/bucket" (path-style) or "" */
    char *display;   /* s3://bucket[/prefix] */
    s3_creds_t creds;
    s3_http_t *http;
    uint64_t part_size;
    unsigned caps;
    bool mpu_if_absent; /* CompleteMultipartUpload enforces If-None-Match */
    bool mpu_if_match;  /* ... and If-Match */
    /* Whether If-Match carries the ETag quoted, as RFC 7232 and AWS have it,
     * or bare, the only form radosgw 16 matches (it compares the header
     * text with the stored ETag byte for byte). The probe finds out. */
    bool if_match_quoted;
} s3_store_t;

/* ---- small helpers -------------------------------------------------------- */

static char *xstrdup(const char *s) {
    char *p = strdup(s ? s : "");
    if (!p) st_error(ST_ENOMEM, "out of memory");
    return p;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *p = NULL;
    if (vasprintf(&p, fmt, ap) < 0) p = NULL;
    va_end(ap);
    if (!p) st_error(ST_ENOMEM, "out of memory");
    return p;
}

static void md5_of(const void *d, size_t n, uint8_t out[16]) {
    unsigned len = 16;
    EVP_Digest(d, n, out, &len, EVP_md5(), NULL);
}

/* The full key inside the bucket: store prefix + "/" + key. */
static char *full_key(const s3_store_t *st, const char *key) {
    return *st->prefix ? xasprintf("%s/%s", st->prefix, key) : xstrdup(key);
}

static char *url_of_full(const s3_store_t *st, const char *fk) {
    return xasprintf("s3://%s/%s", st->bucket, fk);
}

static bool etag_eq(const char *a, const char *b) { return strcasecmp(a, b) == 0; }

static void copy_etag(char dst[130], const char *v) {
    size_t n = v ? strlen(v) : 0;
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    if (n > 129) n = 129;
    if (n) memcpy(dst, v, n);
    dst[n] = '\0';
}

/* ---- request headers ------------------------------------------------------ */

typedef struct hdrs {
    s3_kv_t *kv;
    char **owned;
    int n, cap, nowned;
} hdrs_t;

static void hdrs_free(hdrs_t *h) {
    for (int i = 0; i < h->nowned; i++) free(h->owned[i]);
    free(h->owned);
    free(h->kv);
    memset(h, 0, sizeof *h);
}

/* Adds a header; the strings are copied. */
static int hdrs_add(hdrs_t *h, const char *name, const char *value) {
    if (h->n == h->cap) {
        int nc = h->cap ? h->cap * 2 : 16;
        s3_kv_t *kv = realloc(h->kv, (size_t)nc * sizeof *kv);
        if (!kv) return st_error(ST_ENOMEM, "out of memory");
        h->kv = kv;
        char **ow = realloc(h->owned, (size_t)nc * 2 * sizeof *ow);
        if (!ow) return st_error(ST_ENOMEM, "out of memory");
        h->owned = ow;
        h->cap = nc;
    }
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return st_error(ST_ENOMEM, "out of memory");
    }
    h->owned[h->nowned++] = n;
    h->owned[h->nowned++] = v;
    h->kv[h->n++] = (s3_kv_t){n, v};
    return ST_OK;
}

/* User metadata values travel as HTTP header values, which are ASCII and lose
 * surrounding blanks. Anything else is sent as an RFC 2047 encoded word, the
 * form S3 itself uses for non-ASCII metadata, and decoded again by head. */
static bool meta_plain(const char *v) {
    size_t n = strlen(v);
    if (n && (v[0] == ' ' || v[n - 1] == ' ')) return false;
    if (strncmp(v, "=?", 2) == 0) return false;
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7e) return false;
    return true;
}

static char *meta_encode(const char *v) {
    if (meta_plain(v)) return xstrdup(v);
    size_t n = strlen(v);
    char *b64 = malloc(4 * ((n + 2) / 3) + 1);
    if (!b64) {
        st_error(ST_ENOMEM, "out of memory");
        return NULL;
    }
    s3_base64((const uint8_t *)v, n, b64);
    char *r = xasprintf("=?UTF-8?B?%s?=", b64);
    free(b64);
    return r;
}

static char *meta_decode(const char *v) {
    size_t n = strlen(v);
    if (n >= 12 && strncasecmp(v, "=?UTF-8?B?", 10) == 0 && strcmp(v + n - 2, "?=") == 0) {
        size_t bl = n - 12;
        if (bl % 4 == 0) {
            unsigned char *out = malloc(bl / 4 * 3 + 1);
            if (!out) {
                st_error(ST_ENOMEM, "out of memory");
                return NULL;
            }
            int got = EVP_DecodeBlock(out, (const unsigned char *)v + 10, (int)bl);
            if (got >= 0) {
                /* EVP_DecodeBlock counts padding bytes as data. */
                if (bl >= 1 && v[10 + bl - 1] == '=') got--;
                if (bl >= 2 && v[10 + bl - 2] == '=') got--;
                out[got] = '\0';
                if (memchr(out, 0, (size_t)got) == NULL) return (char *)out;
            }
            free(out);
        }
    }
    return xstrdup(v);
}

static int add_meta_headers(hdrs_t *h, const st_put_opts_t *o, const char *url) {
    size_t total = 0;
    for (int i = 0; i < o->nmeta; i++) {
        const char *k = o->meta[i].key, *v = o->meta[i].value ? o->meta[i].value : "";
        if (!k || !*k) return st_error(ST_EINVAL, "%s: empty metadata key", url);
        for (const char *c = k; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
                return st_error(ST_EINVAL, "%s: metadata key '%s' is not lowercase letters, digits and '-'",
                                url, k);
        char *ev = meta_encode(v);
        if (!ev) return ST_ENOMEM;
        total += strlen(k) + strlen(ev);
        char name[300];
        if (strlen(k) > 256) {
            free(ev);
            return st_error(ST_EINVAL, "%s: metadata key too long", url);
        }
        snprintf(name, sizeof name, "x-amz-meta-%s", k);
        int rc = hdrs_add(h, name, ev);
        free(ev);
        if (rc) return rc;
    }
    if (total > META_MAX)
        return st_error(ST_EINVAL, "%s: user metadata of %zu bytes exceeds %d", url, total, META_MAX);
    return ST_OK;
}

/* ---- running one request -------------------------------------------------- */

typedef struct s3_op {
    s3_store_t *st;
    const char *method;
    const char *fkey; /* full key, or NULL for the bucket itself */
    s3_kv_t query[6];
    int nquery;
    hdrs_t h;
    char payload_hash[ST_SHA256_HEX_LEN + 1];
    const s3_body_t *body;
    st_buf_t *out;
    uint64_t out_max;
    char *path;
} s3_op_t;

static int op_prepare(void *ctx, struct curl_slist **out) {
    s3_op_t *op = ctx;
    s3_store_t *st = op->st;
    char date[17];
    s3_amz_date(time(NULL), date);
    int n = 0, cap = op->h.n + 4;
    s3_kv_t *all = malloc((size_t)cap * sizeof *all);
    if (!all) return st_error(ST_ENOMEM, "out of memory");
    all[n++] = (s3_kv_t){"host", st->host};
    all[n++] = (s3_kv_t){"x-amz-content-sha256", op->payload_hash};
    all[n++] = (s3_kv_t){"x-amz-date", date};
    if (st->creds.session_token)
        all[n++] = (s3_kv_t){"x-amz-security-token", st->creds.session_token};
    for (int i = 0; i < op->h.n; i++) all[n++] = op->h.kv[i];
    s3_sign_req_t sr = {.method = op->method,
                        .path = op->path,
                        .query = op->query,
                        .nquery = op->nquery,
                        .headers = all,
                        .nheaders = n,
                        .payload_hash = op->payload_hash,
                        .amz_date = date,
                        .region = st->region,
                        .service = "s3",
                        .access_key = st->creds.access_key,
                        .secret_key = st->creds.secret_key};
    st_buf_t line = ST_BUF_INIT;
    int rc = st_buf_append_str(&line, "Authorization: ");
    if (!rc) rc = s3_authorization(&sr, &line);
    struct curl_slist *list = NULL;
    if (!rc) {
        list = curl_slist_append(NULL, (const char *)line.data);
        if (!list) rc = st_error(ST_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n && !rc; i++) {
        st_buf_reset(&line);
        /* "Name;" is how libcurl sends a header with an empty value. */
        rc = *all[i].value ? st_buf_printf(&line, "%s: %s", all[i].name, all[i].value)
                           : st_buf_printf(&line, "%s;", all[i].name);
        if (!rc) {
            struct curl_slist *t = curl_slist_append(list, (const char *)line.data);
            if (!t) rc = st_error(ST_ENOMEM, "out of memory");
            else list = t;
        }
    }
    st_buf_free(&line);
    free(all);
    *out = list;
    return rc;
}

static int op_run(s3_op_t *op, s3_resp_t *resp) {
    s3_store_t *st = op->st;
    int rc;
    if (!op->payload_hash[0]) memcpy(op->payload_hash, S3_EMPTY_SHA256, sizeof op->payload_hash);
    free(op->path);
    op->path = op->fkey ? xasprintf("%s/%s", st->path_base, op->fkey)
                        : xasprintf("%s/", st->path_base);
    if (!op->path) return ST_ENOMEM;
    st_buf_t url = ST_BUF_INIT;
    rc = st_buf_append_str(&url, st->base_url);
    if (!rc) rc = s3_uri_encode(&url, op->path, strlen(op->path), true);
    if (!rc && op->nquery) {
        rc = st_buf_append_byte(&url, '?');
        if (!rc) rc = s3_canonical_query(&url, op->query, op->nquery);
    }
    if (!rc) rc = st_buf_append_byte(&url, '\0');
    if (!rc) {
        s3_http_req_t req = {.method = op->method,
                             .url = (const char *)url.data,
                             .body = op->body,
                             .out = op->out,
                             .out_max = op->out_max,
                             .prepare = op_prepare,
                             .ctx = op};
        rc = s3_http_do(st->http, &req, resp);
    }
    st_buf_free(&url);
    if (rc) {
        char *u = op->fkey ? url_of_full(st, op->fkey) : NULL;
        st_error_prefix(rc, "%s", u ? u : st->display);
        free(u);
    }
    return rc;
}

static void op_free(s3_op_t *op) {
    hdrs_free(&op->h);
    free(op->path);
    op->path = NULL;
}

static const char *reason(long status) {
    switch (status) {
    case 400: return "BadRequest";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 412: return "PreconditionFailed";
    case 416: return "InvalidRange";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 501: return "NotImplemented";
    case 503: return "ServiceUnavailable";
    default: return "HTTPError";
    }
}

static int code_of(long status, const char *code) {
    static const char *const auth_codes[] = {
        "SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied",  "ExpiredToken",
        "InvalidToken",          "TokenRefreshRequired", "AuthorizationHeaderMalformed",
        "RequestTimeTooSkewed"};
    for (size_t i = 0; i < sizeof auth_codes / sizeof *auth_codes; i++)
        if (code && strcmp(code, auth_codes[i]) == 0) return ST_EAUTH;
    switch (status) {
    case 403: return ST_EAUTH;
    case 404: return ST_ENOTFOUND;
    case 409:
    case 412: return ST_ECONFLICT;
    case 416: return ST_EINVAL;
    default: return ST_EIO;
    }
}

/* Maps a failed response to a strata code with the server's own words:
 * "s3://bkt/a/v2.parquet: 412 PreconditionFailed: At least one of ...". */
static int fail_resp(const s3_store_t *st, const char *fkey, const s3_resp_t *r) {
    char *code = NULL, *msg = NULL;
    if (r->err_body.len)
        (void)s3_xml_parse_error((const char *)r->err_body.data, r->err_body.len, &code, &msg);
    const char *c = code && *code ? code : reason(r->status);
    int rc = code_of(r->status, c);
    char *u = fkey ? url_of_full(st, fkey) : NULL;
    const char *what = u ? u : st->display;
    if (msg && *msg) st_error(rc, "%s: %ld %s: %s", what, r->status, c, msg);
    else if (r->status == 404 && !fkey) st_error(rc, "%s: %ld %s (bucket %s)", what, r->status, c, st->bucket);
    else st_error(rc, "%s: %ld %s", what, r->status, c);
    free(u);
    free(code);
    free(msg);
    return rc;
}

static bool ok_status(long s) { return s >= 200 && s < 300; }

/* ---- object info from response headers ------------------------------------ */

static int cmp_meta(const void *a, const void *b) {
    return strcmp(((const st_meta_pair_t *)a)->key, ((const st_meta_pair_t *)b)->key);
}

static int info_from_resp(const s3_resp_t *r, st_object_info_t *info, bool ranged) {
    memset(info, 0, sizeof *info);
    const char *v;
    if (ranged && (v = s3_resp_header(r, "content-range")) != NULL) {
        const char *slash = strrchr(v, '/');
        if (slash && slash[1] != '*') info->size = strtoull(slash + 1, NULL, 10);
    } else if ((v = s3_resp_header(r, "content-length")) != NULL) {
        info->size = strtoull(v, NULL, 10);
    }
    copy_etag(info->etag, s3_resp_header(r, "etag"));
    if ((v = s3_resp_header(r, "last-modified")) != NULL) {
        time_t t = curl_getdate(v, NULL);
        if (t != (time_t)-1) info->last_modified_us = (int64_t)t * 1000000;
    }
    if ((v = s3_resp_header(r, "content-type")) != NULL)
        snprintf(info->content_type, sizeof info->content_type, "%s", v);
    int nm = 0;
    for (int i = 0; i < r->nhdrs; i++)
        if (strncmp(r->hdrs[i].name, "x-amz-meta-", 11) == 0 && r->hdrs[i].name[11]) nm++;
    if (!nm) return ST_OK;
    info->meta = calloc((size_t)nm, sizeof *info->meta);
    if (!info->meta) return st_error(ST_ENOMEM, "out of memory");
    for (int i = 0; i < r->nhdrs; i++) {
        if (strncmp(r->hdrs[i].name, "x-amz-meta-", 11) != 0 || !r->hdrs[i].name[11]) continue;
        st_meta_pair_t *m = &info->meta[info->nmeta];
        m->key = xstrdup(r->hdrs[i].name + 11);
        m->value = meta_decode(r->hdrs[i].value);
        if (!m->key || !m->value) {
            free(m->key);
            free(m->value);
            st_object_info_free(info);
            return st_error(ST_ENOMEM, "out of memory");
        }
        info->nmeta++;
    }
    qsort(info->meta, (size_t)info->nmeta, sizeof *info->meta, cmp_meta);
    return ST_OK;
}

/* ---- head ------------------------------------------------------------------ */

static int head_full(s3_store_t *st, const char *fk, st_object_info_t *info) {
    s3_op_t op = {.st = st, .method = "HEAD", .fkey = fk};
    s3_resp_t r;
    int rc = op_run(&op, &r);
    if (!rc) {
        if (ok_status(r.status)) rc = info ? info_from_resp(&r, info, false) : ST_OK;
        else rc = fail_resp(st, fk, &r);
    }
    s3_resp_free(&r);
    op_free(&op);
    return rc;
}

static int s3_head(void *state, const char *key, st_object_info_t *info) {
    s3_store_t *st = state;
    char *fk = full_key(st, key);
    if (!fk) return ST_ENOMEM;
    st_object_info_t tmp;
    int rc = head_full(st, fk, info ? info : &tmp);
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

static int s3_get_range(void *state, const char *key, int64_t offset, uint64_t length,
                        bool whole, st_buf_t *out, st_object_info_t *info) {
    s3_store_t *st = state;
    char *fk = full_key(st, key);
    if (!fk) return ST_ENOMEM;
    int rc = ST_OK;
    bool suffix = !whole && offset < 0;
    if (!whole && length == 0) {
        /* An empty range says nothing on the wire; HEAD still checks that the
         * object exists and that the offset is inside it. */
        st_object_info_t hi;
        memset(&hi, 0, sizeof hi);
        rc = head_full(st, fk, &hi);
        if (!rc && !suffix && (uint64_t)offset > hi.size) {
            char *u = url_of_full(st, fk);
            rc = st_error(ST_EINVAL, "%s: offset %lld is beyond the end (%llu bytes)", u ? u : key,
                          (long long)offset, (unsigned long long)hi.size);
            free(u);
        }
        if (!rc && info) *info = hi;
        else st_object_info_free(&hi);
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
    if (range[0] && (rc = hdrs_add(&op.h, "range", range))) {
        op_free(&op);
        free(fk);
        return rc;
    }
    size_t start = out->len;
    s3_resp_t r;
    rc = op_run(&op, &r);
    if (!rc && r.status == 416) {
        /* Unsatisfiable: an offset at the very end (or any suffix of an empty
         * object) is an empty read, one past it an error. */
        st_object_info_t hi;
        rc = head_full(st, fk, &hi);
        if (!rc) {
            if (!suffix && (uint64_t)offset > hi.size) {
                char *u = url_of_full(st, fk);
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
            char *u = url_of_full(st, fk);
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
            if (info) rc = info_from_resp(&r, info, false);
        }
    } else if (!rc && r.status == 206) {
        uint64_t a, b, got = out->len - start;
        const char *cr = s3_resp_header(&r, "content-range");
        bool good = parse_content_range(cr, &a, &b) && b - a + 1 == got &&
                    (suffix ? got <= length : a == (uint64_t)offset && got <= length);
        if (!good) {
            char *u = url_of_full(st, fk);
            rc = st_error(ST_EIO, "%s: ranged GET answered with Content-Range '%s' and %llu bytes",
                          u ? u : key, cr ? cr : "", (unsigned long long)got);
            free(u);
        } else if (info) {
            rc = info_from_resp(&r, info, true);
        }
    } else if (!rc && ok_status(r.status)) {
        if (info) rc = info_from_resp(&r, info, false);
    } else if (!rc) {
        rc = fail_resp(st, fk, &r);
    }
    if (rc) out->len = start;
    s3_resp_free(&r);
    op_free(&op);
    free(fk);
    return rc;
}

/* ---- put ------------------------------------------------------------------- */

static const uint8_t empty_body[1];

static int add_put_headers(hdrs_t *h, const st_put_opts_t *o, const char *url, bool meta) {
    int rc = ST_OK;
    if (meta) {
        rc = hdrs_add(h, "content-type",
                      o->content_type && *o->content_type ? o->content_type
                                                          : "application/octet-stream");
        if (!rc) rc = add_meta_headers(h, o, url);
    }
    return rc;
}

static int add_cond_headers(hdrs_t *h, const st_put_opts_t *o, const char *url, bool quoted) {
    if (o->mode == ST_PUT_IF_ABSENT) return hdrs_add(h, "if-none-match", "*");
    if (o->mode == ST_PUT_IF_MATCH) {
        const char *e = o->if_match ? o->if_match : "";
        if (!*e || strchr(e, '"') || strchr(e, '\n') || strchr(e, '\r'))
            return st_error(ST_EINVAL, "%s: bad ETag '%s' for if-match", url, e);
        char q[160];
        if (strlen(e) > 140) return st_error(ST_EINVAL, "%s: ETag too long for if-match", url);
        snprintf(q, sizeof q, quoted ? "\"%s\"" : "%s", e);
        return hdrs_add(h, "if-match", q);
    }
    return ST_OK;
}

/* True when a conditional request that reported a lost condition after a
 * retry had in fact succeeded on an earlier attempt whose response was lost:
 * the object now carries exactly the ETag our bytes produce. */
static bool our_write_landed(s3_store_t *st, const char *fk, const char *expect_etag,
                             st_object_info_t *info) {
    st_object_info_t hi;
    if (head_full(st, fk, &hi)) return false;
    bool same = etag_eq(hi.etag, expect_etag);
    if (same && info) {
        memset(info, 0, sizeof *info);
        copy_etag(info->etag, hi.etag);
        info->size = hi.size;
    }
    st_object_info_free(&hi);
    return same;
}

/* One PUT of a whole object. sha256/md5 are the body's digests. */
static int put_single(s3_store_t *st, const char *fk, const s3_body_t *body,
                      const char sha256_hex[65], const uint8_t md5[16], const st_put_opts_t *o,
                      st_object_info_t *info) {
    char *url = url_of_full(st, fk);
    if (!url) return ST_ENOMEM;
    s3_op_t op = {.st = st, .method = "PUT", .fkey = fk, .body = body};
    memcpy(op.payload_hash, sha256_hex, sizeof op.payload_hash);
    char md5b64[32], md5hex[33];
    s3_base64(md5, 16, md5b64);
    st_hex(md5, 16, md5hex);
    int rc = add_put_headers(&op.h, o, url, true);
    if (!rc) rc = hdrs_add(&op.h, "content-md5", md5b64);
    if (!rc) rc = add_cond_headers(&op.h, o, url, st->if_match_quoted);
    s3_resp_t r = {0};
    if (!rc) rc = op_run(&op, &r);
    if (!rc) {
        if (ok_status(r.status)) {
            if (info) {
                memset(info, 0, sizeof *info);
                copy_etag(info->etag, s3_resp_header(&r, "etag"));
                if (!info->etag[0]) memcpy(info->etag, md5hex, 33);
                info->size = body->len;
            }
        } else if ((r.status == 412 || r.status == 409) && r.sends > 1 &&
                   o->mode != ST_PUT_PLAIN && our_write_landed(st, fk, md5hex, info)) {
            /* Idempotency rule: this conditional PUT was retried, and the
             * object now holds exactly our bytes (the ETag of a single PUT is
             * the hex MD5 of its body), so the first attempt succeeded and
             * only its response was lost. Reporting a conflict would make the
             * caller believe another writer won. */
            rc = ST_OK;
        } else if (r.status == 404 && o->mode == ST_PUT_IF_MATCH) {
            /* AWS answers If-Match on a missing key with 404 NoSuchKey: the
             * object we meant to replace is gone, which is a lost condition. */
            rc = fail_resp(st, fk, &r);
            if (rc == ST_ENOTFOUND && strstr(st_errmsg(), "NoSuchBucket") == NULL)
                rc = st_error_prefix(ST_ECONFLICT, "if-match failed");
        } else {
            rc = fail_resp(st, fk, &r);
        }
    }
    s3_resp_free(&r);
    op_free(&op);
    free(url);
    return rc;
}

static int put_mem_single(s3_store_t *st, const char *fk, const void *data, size_t n,
                          const st_put_opts_t *o, st_object_info_t *info) {
    s3_body_t body = {.mem = n ? data : empty_body, .len = n};
    char sha[65];
    uint8_t md5[16];
    st_sha256_hex(n ? data : empty_body, n, sha);
    md5_of(n ? data : empty_body, n, md5);
    return put_single(st, fk, &body, sha, md5, o, info);
}

/* ---- multipart upload ----------------------------------------------------- */

typedef struct s3_writer s3_writer_t;

typedef struct part_slot {
    s3_writer_t *w;
    pthread_t th;
    bool busy, threaded;
    int part_no;
    const uint8_t *data;
    size_t len;
    uint8_t *owned; /* buffer to recycle; NULL when borrowed from the caller */
    int rc;
    char msg[512];
    char etag[132];
} part_slot_t;

struct s3_writer {
    s3_store_t *st;
    char *fk;
    char *url;
    st_put_opts_t o;
    char *o_if_match, *o_ctype;
    st_meta_pair_t *o_meta;
    bool spool_mode;
    uint8_t *buf;
    size_t len;
    uint64_t total;
    /* multipart */
    char *upload_id;
    int nparts;
    char (*etags)[132];
    int etags_cap;
    part_slot_t slots[PARTS_IN_FLIGHT];
    uint8_t *spare[PARTS_IN_FLIGHT + 1];
    int nspare;
    int failed;
    char failed_msg[1024];
    /* spool (conditional writes on servers without conditional completes) */
    int spool_fd;
    EVP_MD_CTX *md5;
    st_sha256_ctx_t *sha;
};

static int w_fail(s3_writer_t *w, int rc) {
    if (!w->failed) {
        w->failed = rc;
        snprintf(w->failed_msg, sizeof w->failed_msg, "%s", st_errmsg());
    }
    return rc;
}

static int w_failed(s3_writer_t *w) { return st_error(w->failed, "%s", w->failed_msg); }

static int mpu_initiate(s3_writer_t *w) {
    s3_op_t op = {.st = w->st, .method = "POST", .fkey = w->fk};
    op.query[op.nquery++] = (s3_kv_t){"uploads", ""};
    st_buf_t out = ST_BUF_INIT;
    op.out = &out;
    op.out_max = 1 << 20;
    s3_body_t body = {.mem = empty_body, .len = 0};
    op.body = &body;
    int rc = add_put_headers(&op.h, &w->o, w->url, true);
    s3_resp_t r = {0};
    if (!rc) rc = op_run(&op, &r);
    if (!rc) {
        if (!ok_status(r.status)) rc = fail_resp(w->st, w->fk, &r);
        else if ((rc = s3_xml_parse_initiate((const char *)out.data, out.len, &w->upload_id)))
            rc = st_error_prefix(ST_EIO, "%s: InitiateMultipartUpload", w->url);
    }
    s3_resp_free(&r);
    op_free(&op);
    st_buf_free(&out);
    return rc;
}

static int upload_part(s3_writer_t *w, int part_no, const uint8_t *data, size_t len,
                       char etag[132]) {
    char pn[16];
    snprintf(pn, sizeof pn, "%d", part_no);
    s3_op_t op = {.st = w->st, .method = "PUT", .fkey = w->fk};
    op.query[op.nquery++] = (s3_kv_t){"partNumber", pn};
    op.query[op.nquery++] = (s3_kv_t){"uploadId", w->upload_id};
    s3_body_t body = {.mem = len ? data : empty_body, .len = len};
    op.body = &body;
    st_sha256_hex(len ? data : empty_body, len, op.payload_hash);
    s3_resp_t r = {0};
    int rc = op_run(&op, &r);
    if (!rc) {
        if (!ok_status(r.status)) {
            rc = fail_resp(w->st, w->fk, &r);
            st_error_prefix(rc, "part %d", part_no);
        } else {
            const char *e = s3_resp_header(&r, "etag");
            if (!e || !*e || strlen(e) > 130) {
                rc = st_error(ST_EIO, "%s: part %d: response without a usable ETag", w->url,
                              part_no);
            } else {
                snprintf(etag, 132, "%s", e);
            }
        }
    }
    s3_resp_free(&r);
    op_free(&op);
    return rc;
}

static void *part_main(void *arg) {
    part_slot_t *s = arg;
    s->rc = upload_part(s->w, s->part_no, s->data, s->len, s->etag);
    if (s->rc) snprintf(s->msg, sizeof s->msg, "%s", st_errmsg());
    return NULL;
}

/* Waits for a running part and records its outcome. */
static void slot_join(s3_writer_t *w, part_slot_t *s) {
    if (!s->busy) return;
    if (s->threaded) pthread_join(s->th, NULL);
    s->busy = false;
    if (s->rc) {
        if (!w->failed) {
            w->failed = s->rc;
            snprintf(w->failed_msg, sizeof w->failed_msg, "%s", s->msg);
        }
    } else {
        memcpy(w->etags[s->part_no - 1], s->etag, sizeof s->etag);
    }
    if (s->owned) {
        if (w->nspare < PARTS_IN_FLIGHT + 1) w->spare[w->nspare++] = s->owned;
        else free(s->owned);
        s->owned = NULL;
    }
}

static void join_all(s3_writer_t *w) {
    for (int i = 0; i < PARTS_IN_FLIGHT; i++) slot_join(w, &w->slots[i]);
}

/* Starts uploading one part (up to PARTS_IN_FLIGHT run at once). `owned`
 * is recycled when the part is done. */
static int dispatch_part(s3_writer_t *w, const uint8_t *data, size_t len, uint8_t *owned) {
    if (w->failed) {
        free(owned);
        return w_failed(w);
    }
    if (!w->upload_id) {
        int rc = mpu_initiate(w);
        if (rc) {
            free(owned);
            return w_fail(w, rc);
        }
    }
    if (w->nparts >= MAX_PARTS) {
        free(owned);
        return w_fail(w, st_error(ST_EUNSUPPORTED,
                                  "%s: more than %d parts; open the store with a larger part_size",
                                  w->url, MAX_PARTS));
    }
    if (w->nparts == w->etags_cap) {
        int nc = w->etags_cap ? w->etags_cap * 2 : 64;
        char(*ne)[132] = realloc(w->etags, (size_t)nc * sizeof *ne);
        if (!ne) {
            free(owned);
            return w_fail(w, st_error(ST_ENOMEM, "out of memory"));
        }
        w->etags = ne;
        w->etags_cap = nc;
    }
    part_slot_t *s = NULL;
    for (int i = 0; i < PARTS_IN_FLIGHT && !s; i++)
        if (!w->slots[i].busy) s = &w->slots[i];
    if (!s) {
        /* All busy: wait for the oldest, parts finish roughly in order. */
        part_slot_t *old = &w->slots[0];
        for (int i = 1; i < PARTS_IN_FLIGHT; i++)
            if (w->slots[i].part_no < old->part_no) old = &w->slots[i];
        slot_join(w, old);
        s = old;
        if (w->failed) {
            free(owned);
            return w_failed(w);
        }
    }
    s->w = w;
    s->busy = true;
    s->part_no = ++w->nparts;
    s->data = data;
    s->len = len;
    s->owned = owned;
    s->rc = 0;
    s->msg[0] = '\0';
    s->etag[0] = '\0';
    s->threaded = pthread_create(&s->th, NULL, part_main, s) == 0;
    if (!s->threaded) part_main(s);
    return ST_OK;
}

static void mpu_abort(s3_writer_t *w) {
    if (!w->upload_id) return;
    s3_op_t op = {.st = w->st, .method = "DELETE", .fkey = w->fk};
    op.query[op.nquery++] = (s3_kv_t){"uploadId", w->upload_id};
    s3_resp_t r = {0};
    /* Best effort, and it must not clobber the message of the failure that
     * led here. */
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", st_errmsg());
    if (op_run(&op, &r) == 0) s3_resp_free(&r);
    op_free(&op);
    st_error(ST_OK, "%s", saved);
    free(w->upload_id);
    w->upload_id = NULL;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The ETag S3 gives a completed multipart object: hex MD5 of the parts'
 * binary MD5s, "-", the part count. False if a part ETag is not an MD5. */
static bool multipart_etag(const s3_writer_t *w, char out[64]) {
    uint8_t *cat = malloc((size_t)w->nparts * 16);
    if (!cat) return false;
    for (int i = 0; i < w->nparts; i++) {
        char e[132];
        copy_etag(e, w->etags[i]);
        if (strlen(e) != 32) {
            free(cat);
            return false;
        }
        for (int k = 0; k < 16; k++) {
            int h = hexval((unsigned char)e[2 * k]), l = hexval((unsigned char)e[2 * k + 1]);
            if (h < 0 || l < 0) {
                free(cat);
                return false;
            }
            cat[16 * i + k] = (uint8_t)(h * 16 + l);
        }
    }
    uint8_t d[16];
    md5_of(cat, (size_t)w->nparts * 16, d);
    free(cat);
    st_hex(d, 16, out);
    snprintf(out + 32, 32, "-%d", w->nparts);
    return true;
}

static int mpu_complete(s3_writer_t *w, st_object_info_t *info) {
    st_buf_t xml = ST_BUF_INIT, out = ST_BUF_INIT;
    int rc = st_buf_append_str(&xml, "<CompleteMultipartUpload>");
    for (int i = 0; i < w->nparts && !rc; i++) {
        rc = st_buf_printf(&xml, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1);
        if (!rc) rc = s3_xml_escape(&xml, w->etags[i]);
        if (!rc) rc = st_buf_append_str(&xml, "</ETag></Part>");
    }
    if (!rc) rc = st_buf_append_str(&xml, "</CompleteMultipartUpload>");
    if (rc) {
        st_buf_free(&xml);
        return rc;
    }
    s3_op_t op = {.st = w->st, .method = "POST", .fkey = w->fk};
    op.query[op.nquery++] = (s3_kv_t){"uploadId", w->upload_id};
    s3_body_t body = {.mem = xml.data, .len = xml.len};
    op.body = &body;
    op.out = &out;
    op.out_max = 1 << 20;
    st_sha256_hex(xml.data, xml.len, op.payload_hash);
    rc = hdrs_add(&op.h, "content-type", "application/xml");
    if (!rc) rc = add_cond_headers(&op.h, &w->o, w->url, w->st->if_match_quoted);
    s3_resp_t r = {0};
    if (!rc) rc = op_run(&op, &r);
    char expect[64];
    if (!rc) {
        if (ok_status(r.status)) {
            char *etag = NULL, *code = NULL, *msg = NULL;
            rc = s3_xml_parse_complete((const char *)out.data, out.len, &etag, &code, &msg);
            if (rc && code) {
                /* A 200 carrying an <Error>: the upload did not complete. */
                int mapped = code_of(strcmp(code, "PreconditionFailed") == 0 ? 412 : 500, code);
                rc = st_error(mapped, "%s: CompleteMultipartUpload: %s: %s", w->url, code, msg);
            } else if (rc) {
                rc = st_error_prefix(ST_EIO, "%s: CompleteMultipartUpload", w->url);
            } else if (info) {
                memset(info, 0, sizeof *info);
                copy_etag(info->etag, etag);
                info->size = w->total;
                /* radosgw 16 answers with an empty <ETag/>. The ETag it
                 * gives the object follows S3's rule for multipart objects,
                 * computed from our own parts, not from a HEAD that could
                 * already see another writer's object. */
                if (!info->etag[0] && multipart_etag(w, expect)) copy_etag(info->etag, expect);
                else if (!info->etag[0]) {
                    st_object_info_t hi;
                    if (head_full(w->st, w->fk, &hi) == 0) {
                        copy_etag(info->etag, hi.etag);
                        st_object_info_free(&hi);
                    }
                }
            }
            free(etag);
            free(code);
            free(msg);
        } else if (r.sends > 1 && (r.status == 412 || r.status == 409 || r.status == 404) &&
                   multipart_etag(w, expect) && our_write_landed(w->st, w->fk, expect, info)) {
            /* Idempotency rule for completes: a retried complete whose first
             * attempt went through finds its upload gone (404 NoSuchUpload)
             * or its condition failing on its own object. If the object has
             * the ETag our parts produce, the commit was ours. */
            if (info) info->size = w->total;
            rc = ST_OK;
        } else {
            rc = fail_resp(w->st, w->fk, &r);
        }
    }
    s3_resp_free(&r);
    op_free(&op);
    st_buf_free(&xml);
    st_buf_free(&out);
    if (!rc) {
        /* Completed: nothing left to abort. */
        free(w->upload_id);
        w->upload_id = NULL;
    }
    return rc;
}

/* ---- writer ----------------------------------------------------------------- */

static void writer_free(s3_writer_t *w) {
    join_all(w);
    mpu_abort(w);
    for (int i = 0; i < w->nspare; i++) free(w->spare[i]);
    free(w->buf);
    free(w->etags);
    if (w->spool_fd >= 0) close(w->spool_fd);
    if (w->md5) EVP_MD_CTX_free(w->md5);
    if (w->sha) {
        uint8_t d[32];
        st_sha256_end(w->sha, d);
    }
    if (w->o_meta) {
        for (int i = 0; i < w->o.nmeta; i++) {
            free(w->o_meta[i].key);
            free(w->o_meta[i].value);
        }
        free(w->o_meta);
    }
    free(w->o_if_match);
    free(w->o_ctype);
    free(w->fk);
    free(w->url);
    free(w);
}

static uint8_t *take_buffer(s3_writer_t *w) {
    if (w->nspare) return w->spare[--w->nspare];
    uint8_t *b = malloc(w->st->part_size);
    if (!b) st_error(ST_ENOMEM, "out of memory (part buffer of %llu bytes)",
                     (unsigned long long)w->st->part_size);
    return b;
}

static int spool_flush(s3_writer_t *w) {
    if (w->spool_fd < 0) {
        const char *dir = getenv("TMPDIR");
        char path[4096];
        snprintf(path, sizeof path, "%s/strata-s3-spool-XXXXXX", dir && *dir ? dir : "/tmp");
        w->spool_fd = mkstemp(path);
        if (w->spool_fd < 0)
            return w_fail(w, st_error(ST_EIO, "%s: cannot create spool file %s: %s", w->url, path,
                                      strerror(errno)));
        unlink(path);
        w->md5 = EVP_MD_CTX_new();
        if (!w->md5 || EVP_DigestInit_ex(w->md5, EVP_md5(), NULL) != 1)
            return w_fail(w, st_error(ST_ENOMEM, "cannot start MD5"));
        int rc = st_sha256_begin(&w->sha);
        if (rc) return w_fail(w, rc);
    }
    EVP_DigestUpdate(w->md5, w->buf, w->len);
    st_sha256_update(w->sha, w->buf, w->len);
    size_t done = 0;
    while (done < w->len) {
        ssize_t k = write(w->spool_fd, w->buf + done, w->len - done);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0)
            return w_fail(w, st_error(ST_EIO, "%s: cannot write spool file: %s", w->url,
                                      strerror(errno)));
        done += (size_t)k;
    }
    w->len = 0;
    return ST_OK;
}

static int s3w_write(void *wp, const void *data, size_t n) {
    s3_writer_t *w = wp;
    const uint8_t *p = data;
    if (w->failed) return w_failed(w);
    size_t ps = (size_t)w->st->part_size;
    while (n > 0) {
        if (w->len == ps) {
            /* The buffer is full and more is coming: the object will not fit
             * one part, so it leaves memory now. */
            int rc;
            if (w->spool_mode) {
                rc = spool_flush(w);
            } else {
                uint8_t *next = take_buffer(w);
                if (!next) return w_fail(w, ST_ENOMEM);
                rc = dispatch_part(w, w->buf, w->len, w->buf);
                w->buf = next;
                w->len = 0;
            }
            if (rc) return rc;
        }
        size_t k = ps - w->len < n ? ps - w->len : n;
        memcpy(w->buf + w->len, p, k);
        w->len += k;
        w->total += k;
        p += k;
        n -= k;
        if (w->spool_mode && w->total > SINGLE_PUT_MAX)
            return w_fail(w, st_error(ST_EUNSUPPORTED,
                                      "%s: a conditional object above 5 GiB needs a server that "
                                      "checks conditions on CompleteMultipartUpload",
                                      w->url));
    }
    return ST_OK;
}

static int finish_multipart(s3_writer_t *w, st_object_info_t *info) {
    join_all(w);
    if (w->failed) return w_failed(w);
    int rc = mpu_complete(w, info);
    return rc ? w_fail(w, rc) : ST_OK;
}

static int s3w_commit(void *wp, st_object_info_t *info) {
    s3_writer_t *w = wp;
    int rc = ST_OK;
    if (w->failed) {
        rc = w_failed(w);
    } else if (w->spool_fd >= 0) {
        rc = spool_flush(w);
        if (!rc) {
            uint8_t md5[16], sha[32];
            unsigned ml = 16;
            char shahex[65];
            EVP_DigestFinal_ex(w->md5, md5, &ml);
            st_sha256_end(w->sha, sha);
            w->sha = NULL;
            st_hex(sha, 32, shahex);
            s3_body_t body = {.fd = w->spool_fd, .offset = 0, .len = w->total};
            rc = put_single(w->st, w->fk, &body, shahex, md5, &w->o, info);
        }
    } else if (!w->upload_id) {
        rc = put_mem_single(w->st, w->fk, w->buf, w->len, &w->o, info);
    } else {
        if (w->len) {
            rc = dispatch_part(w, w->buf, w->len, w->buf);
            w->buf = NULL;
            w->len = 0;
        }
        if (!rc) rc = finish_multipart(w, info);
    }
    /* Cleanup may issue requests (abort): keep the message of the failure. */
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", st_errmsg());
    writer_free(w);
    if (rc) st_error(rc, "%s", saved);
    return rc;
}

static void s3w_abort(void *wp) { writer_free(wp); }

static const st_writer_ops_t s3_writer_ops = {s3w_write, s3w_commit, s3w_abort};

static int writer_new(s3_store_t *st, const char *key, const st_put_opts_t *o, bool need_buf,
                      s3_writer_t **out) {
    s3_writer_t *w = calloc(1, sizeof *w);
    if (!w) return st_error(ST_ENOMEM, "out of memory");
    w->st = st;
    w->spool_fd = -1;
    w->o = *o;
    w->fk = full_key(st, key);
    w->url = w->fk ? url_of_full(st, w->fk) : NULL;
    if (!w->fk || !w->url) {
        writer_free(w);
        return ST_ENOMEM;
    }
    /* The writer outlives the caller's opts: keep copies. */
    if (o->if_match && !(w->o.if_match = w->o_if_match = xstrdup(o->if_match))) goto nomem;
    if (o->content_type && !(w->o.content_type = w->o_ctype = xstrdup(o->content_type)))
        goto nomem;
    if (o->nmeta > 0) {
        w->o_meta = calloc((size_t)o->nmeta, sizeof *w->o_meta);
        if (!w->o_meta) goto nomem;
        w->o.meta = w->o_meta;
        for (int i = 0; i < o->nmeta; i++) {
            w->o_meta[i].key = xstrdup(o->meta[i].key);
            w->o_meta[i].value = xstrdup(o->meta[i].value);
            if (!w->o_meta[i].key || !w->o_meta[i].value) goto nomem;
        }
    } else {
        w->o.meta = NULL;
        w->o.nmeta = 0;
    }
    bool mpu_ok = o->mode == ST_PUT_PLAIN || (o->mode == ST_PUT_IF_ABSENT && st->mpu_if_absent) ||
                  (o->mode == ST_PUT_IF_MATCH && st->mpu_if_match);
    w->spool_mode = !mpu_ok;
    if (need_buf && !(w->buf = malloc(st->part_size))) goto nomem;
    *out = w;
    return ST_OK;
nomem:
    writer_free(w);
    return st_error(ST_ENOMEM, "out of memory");
}

static int s3_writer_open(void *state, const char *key, const st_put_opts_t *opts, void **wp,
                          const st_writer_ops_t **ops) {
    s3_store_t *st = state;
    s3_writer_t *w;
    int rc = writer_new(st, key, opts, true, &w);
    if (rc) return rc;
    /* Validate headers now rather than at commit, after the data was sent. */
    hdrs_t h = {0};
    rc = add_put_headers(&h, &w->o, w->url, true);
    if (!rc) rc = add_cond_headers(&h, &w->o, w->url, st->if_match_quoted);
    hdrs_free(&h);
    if (rc) {
        writer_free(w);
        return rc;
    }
    *wp = w;
    *ops = &s3_writer_ops;
    return ST_OK;
}

static int s3_put(void *state, const char *key, const void *data, size_t n,
                  const st_put_opts_t *opts, st_object_info_t *info) {
    s3_store_t *st = state;
    if (n <= st->part_size) {
        char *fk = full_key(st, key);
        if (!fk) return ST_ENOMEM;
        int rc = put_mem_single(st, fk, data, n, opts, info);
        free(fk);
        return rc;
    }
    s3_writer_t *w;
    int rc = writer_new(st, key, opts, false, &w);
    if (rc) return rc;
    if (w->spool_mode) {
        /* Conditional and too big for one part, on a server that cannot check
         * conditions on multipart completes: one conditional PUT from memory. */
        if (n > SINGLE_PUT_MAX)
            rc = st_error(ST_EUNSUPPORTED,
                          "%s: a conditional object above 5 GiB needs a server that checks "
                          "conditions on CompleteMultipartUpload",
                          w->url);
        else rc = put_mem_single(st, w->fk, data, n, opts, info);
    } else {
        /* Parts point into the caller's data, which outlives this call. */
        const uint8_t *p = data;
        size_t ps = (size_t)st->part_size;
        for (size_t off = 0; off < n && !rc; off += ps)
            rc = dispatch_part(w, p + off, n - off < ps ? n - off : ps, NULL);
        w->total = n;
        if (!rc) rc = finish_multipart(w, info);
    }
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", st_errmsg());
    writer_free(w);
    if (rc) st_error(rc, "%s", saved);
    return rc;
}

/* ---- delete ---------------------------------------------------------------- */

static int s3_del(void *state, const char *key) {
    s3_store_t *st = state;
    char *fk = full_key(st, key);
    if (!fk) return ST_ENOMEM;
    /* S3 deletes of missing keys succeed; strata reports ST_ENOTFOUND. */
    int rc = head_full(st, fk, NULL);
    if (!rc) {
        s3_op_t op = {.st = st, .method = "DELETE", .fkey = fk};
        s3_resp_t r = {0};
        rc = op_run(&op, &r);
        if (!rc && !ok_status(r.status)) rc = fail_resp(st, fk, &r);
        s3_resp_free(&r);
        op_free(&op);
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
    int rc = op_run(&op, &r);
    if (!rc) {
        if (!ok_status(r.status)) rc = fail_resp(st, NULL, &r);
        else if ((rc = s3_xml_parse_list((const char *)out.data, out.len, &it->page)))
            rc = st_error_prefix(ST_EIO, "%s: ListObjectsV2", st->display);
    }
    s3_resp_free(&r);
    op_free(&op);
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
    it->full_prefix = *st->prefix ? xasprintf("%s/%s", st->prefix, p) : xstrdup(p);
    it->strip = *st->prefix ? strlen(st->prefix) + 1 : 0;
    if (delimiter && *delimiter) it->delim = xstrdup(delimiter);
    if (!it->full_prefix || (delimiter && *delimiter && !it->delim)) {
        s3_list_close(it);
        return ST_ENOMEM;
    }
    *itp = it;
    *ops = &s3_list_ops;
    return ST_OK;
}

/* ---- probe ----------------------------------------------------------------- */

typedef struct probe_entry {
    char key[512];
    unsigned caps;
    bool mpu_if_absent, mpu_if_match, if_match_quoted;
} probe_entry_t;

/* The per-process probe cache the store contract asks for: one probe per
 * endpoint, bucket and access key. Fixed-size, no allocation. */
static pthread_mutex_t probe_mu = PTHREAD_MUTEX_INITIALIZER;
static probe_entry_t probe_cache[32];
static int probe_count;

static bool probe_key(const s3_store_t *st, char out[512]) {
    int n = snprintf(out, 512, "%s|%s|%s", st->base_url, st->bucket, st->creds.access_key);
    return n > 0 && n < 512;
}

static bool probe_lookup(s3_store_t *st) {
    char k[512];
    if (!probe_key(st, k)) return false;
    bool hit = false;
    pthread_mutex_lock(&probe_mu);
    for (int i = 0; i < probe_count && !hit; i++) {
        if (strcmp(probe_cache[i].key, k) == 0) {
            st->caps = probe_cache[i].caps;
            st->mpu_if_absent = probe_cache[i].mpu_if_absent;
            st->mpu_if_match = probe_cache[i].mpu_if_match;
            st->if_match_quoted = probe_cache[i].if_match_quoted;
            hit = true;
        }
    }
    pthread_mutex_unlock(&probe_mu);
    return hit;
}

static void probe_store(const s3_store_t *st) {
    char k[512];
    if (!probe_key(st, k)) return;
    pthread_mutex_lock(&probe_mu);
    int slot = probe_count < (int)(sizeof probe_cache / sizeof *probe_cache) ? probe_count++ : 0;
    snprintf(probe_cache[slot].key, sizeof probe_cache[slot].key, "%s", k);
    probe_cache[slot].caps = st->caps;
    probe_cache[slot].mpu_if_absent = st->mpu_if_absent;
    probe_cache[slot].mpu_if_match = st->mpu_if_match;
    probe_cache[slot].if_match_quoted = st->if_match_quoted;
    pthread_mutex_unlock(&probe_mu);
}

static int probe_put(s3_store_t *st, const char *fk, const char *body, st_put_mode_t mode,
                     const char *if_match, st_object_info_t *info) {
    st_put_opts_t o = {.mode = mode, .if_match = if_match, .content_type = "text/plain"};
    return put_mem_single(st, fk, body, strlen(body), &o, info);
}

/* Whether CompleteMultipartUpload enforces a condition: a one-part upload
 * onto the existing probe object with a condition that must fail. */
static bool probe_mpu(s3_store_t *st, const char *fk, st_put_mode_t mode) {
    st_put_opts_t o = {.mode = mode, .if_match = "00000000000000000000000000000000",
                       .content_type = "text/plain"};
    s3_writer_t *w;
    if (writer_new(st, PROBE_DIR "x", &o, false, &w)) return false;
    /* The probe key lives at the bucket root, outside the store prefix. */
    free(w->fk);
    free(w->url);
    w->fk = xstrdup(fk);
    w->url = w->fk ? url_of_full(st, fk) : NULL;
    bool enforced = false;
    if (w->fk && w->url) {
        static const uint8_t part[] = "strata multipart probe";
        w->total = sizeof part - 1;
        int rc = dispatch_part(w, part, sizeof part - 1, NULL);
        if (!rc) {
            join_all(w);
            rc = w->failed ? w->failed : mpu_complete(w, NULL);
            enforced = rc == ST_ECONFLICT;
        }
    }
    writer_free(w); /* aborts the upload if it did not complete */
    return enforced;
}

/* Finds out what the server really enforces: a put-if-absent onto a fresh key
 * must succeed and a second one must be refused; an if-match with a wrong
 * ETag must be refused. Servers that ignore conditional headers (s3rver)
 * answer 200 to both and get no conditional capabilities. The probe key is
 * removed again. */
static int probe(s3_store_t *st) {
    uint8_t u[16];
    char uuid[ST_UUID_STR_LEN + 1];
    int rc = st_uuid_v4(u);
    if (rc) return rc;
    st_uuid_format(u, uuid);
    char *fk = xasprintf(PROBE_DIR "%s", uuid);
    if (!fk) return ST_ENOMEM;
    st->caps = 0;
    st->mpu_if_absent = st->mpu_if_match = false;
    st->if_match_quoted = true;
    st_object_info_t pi;
    rc = probe_put(st, fk, "strata probe 1", ST_PUT_IF_ABSENT, NULL, &pi);
    if (rc) {
        if (rc == ST_ENOTFOUND && strstr(st_errmsg(), "NoSuchBucket")) {
            char why[1024];
            const char *p = strstr(st_errmsg(), "404");
            snprintf(why, sizeof why, "%s", p ? p : "404 NoSuchBucket");
            rc = st_error(ST_ENOTFOUND, "%s: bucket '%s' does not exist (%s)", st->display,
                          st->bucket, why);
        } else if (rc == ST_EAUTH && strstr(st_errmsg(), "AccessDenied")) {
            /* Valid credentials without write access: a read-only store. */
            rc = ST_OK;
            st_error_clear();
        } else {
            rc = st_error_prefix(rc, "%s: probing the endpoint", st->display);
        }
        free(fk);
        return rc;
    }
    char current[130];
    copy_etag(current, pi.etag);
    st_object_info_t pi2;
    rc = probe_put(st, fk, "strata probe 2", ST_PUT_IF_ABSENT, NULL, &pi2);
    if (rc == ST_ECONFLICT) st->caps |= ST_CAP_PUT_IF_ABSENT;
    else if (rc) goto out;
    else copy_etag(current, pi2.etag);
    rc = probe_put(st, fk, "strata probe 3", ST_PUT_IF_MATCH, "00000000000000000000000000000000",
                   &pi2);
    if (rc == ST_ECONFLICT) {
        /* Enforced. Now find the form of the right ETag it accepts. */
        st->if_match_quoted = true;
        rc = probe_put(st, fk, "strata probe 4", ST_PUT_IF_MATCH, current, &pi2);
        if (rc == ST_ECONFLICT) {
            st->if_match_quoted = false;
            rc = probe_put(st, fk, "strata probe 4", ST_PUT_IF_MATCH, current, &pi2);
        }
        if (!rc) st->caps |= ST_CAP_PUT_IF_MATCH;
        else if (rc == ST_ECONFLICT) st->if_match_quoted = true; /* neither: no if-match */
        else goto out;
    } else if (rc) {
        goto out;
    }
    rc = ST_OK;
    if (st->caps & ST_CAP_PUT_IF_ABSENT) st->mpu_if_absent = probe_mpu(st, fk, ST_PUT_IF_ABSENT);
    if (st->mpu_if_absent && (st->caps & ST_CAP_PUT_IF_MATCH))
        st->mpu_if_match = probe_mpu(st, fk, ST_PUT_IF_MATCH);
    st_error_clear();
out:
    if (rc) rc = st_error_prefix(rc, "%s: probing the endpoint", st->display);
    {
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", st_errmsg());
        s3_op_t op = {.st = st, .method = "DELETE", .fkey = fk};
        s3_resp_t r = {0};
        if (op_run(&op, &r) == 0) s3_resp_free(&r);
        op_free(&op);
        if (rc) st_error(rc, "%s", saved);
        else st_error_clear();
    }
    free(fk);
    return rc;
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
    if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes")) *out = true;
    else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no")) *out = false;
    else return ST_EINVAL;
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
    if (*end == 'k' || *end == 'K') mul = 1ull << 10, end++;
    else if (*end == 'm' || *end == 'M') mul = 1ull << 20, end++;
    else if (*end == 'g' || *end == 'G') mul = 1ull << 30, end++;
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
        *scheme = xstrdup("https");
        auth = ep;
    } else {
        size_t sl = (size_t)(s - ep);
        if (!((sl == 4 && strncasecmp(ep, "http", 4) == 0) ||
              (sl == 5 && strncasecmp(ep, "https", 5) == 0)))
            return st_error(ST_EINVAL, "%s: endpoint '%s' must be http:// or https://", display, ep);
        *scheme = xasprintf("%.*s", (int)sl, ep);
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
    *authority = xasprintf("%.*s", (int)al, auth);
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
    while (*prefix == '/') prefix++;
    st->bucket = xstrdup(bucket);
    st->prefix = xstrdup(prefix);
    if (!st->bucket || !st->prefix) {
        store_free(st);
        return ST_ENOMEM;
    }
    for (size_t n = strlen(st->prefix); n && st->prefix[n - 1] == '/'; n--) st->prefix[n - 1] = '\0';
    st->display = *st->prefix ? xasprintf("s3://%s/%s", st->bucket, st->prefix)
                              : xasprintf("s3://%s", st->bucket);
    if (!st->display) {
        store_free(st);
        return ST_ENOMEM;
    }
    if (!valid_bucket(st->bucket)) {
        rc = st_error(ST_EINVAL, "%s: '%s' is not a valid bucket name", st->display, st->bucket);
        store_free(st);
        return rc;
    }

    static const char *const known[] = {"endpoint", "region",  "path_style", "profile",
                                        "timeout_ms", "retries", "part_size",  "probe"};
    for (int i = 0; i < url->nparams; i++) {
        bool ok = false;
        for (size_t k = 0; k < sizeof known / sizeof *known && !ok; k++)
            ok = strcmp(url->param_keys[i], known[k]) == 0;
        if (!ok) {
            rc = st_error(ST_EINVAL, "%s: unknown option '%s' (known: endpoint, region, path_style, "
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
        else ho.timeout_ms = (long)x;
    }
    if (!rc && (v = st_url_param(url, "retries"))) {
        if (parse_size(v, &x) || x > 100)
            rc = st_error(ST_EINVAL, "%s: retries must be 0..100, not '%s'", st->display, v);
        else ho.retries = (int)x;
    }
    st->part_size = PART_SIZE_DEFAULT;
    if (!rc && (v = st_url_param(url, "part_size"))) {
        if (parse_size(v, &x) || x < PART_SIZE_MIN || x > PART_SIZE_MAX)
            rc = st_error(ST_EINVAL, "%s: part_size must be 5 MiB..5 GiB (bytes), not '%s'",
                          st->display, v);
        else st->part_size = x;
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
        scheme = xstrdup("https");
        authority = xasprintf("s3.%s.amazonaws.com", st->region);
        if (!scheme || !authority) rc = ST_ENOMEM;
    }
    if (!rc) {
        drop_default_port(scheme, authority);
        /* Bucket names that are not DNS labels cannot be virtual hosts. */
        if (!path_style && !dns_bucket(st->bucket)) path_style = true;
        if (path_style) {
            st->host = xstrdup(authority);
            st->path_base = xasprintf("/%s", st->bucket);
        } else {
            st->host = xasprintf("%s.%s", st->bucket, authority);
            st->path_base = xstrdup("");
        }
        st->base_url = st->host ? xasprintf("%s://%s", scheme, st->host) : NULL;
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
        } else if (!probe_lookup(st)) {
            rc = probe(st);
            if (!rc) probe_store(st);
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
    return xasprintf("%s/%s", st->display, key);
}

const st_store_backend_t st_store_s3_backend = {
    .scheme = "s3",
    .open = s3_open,
    .close = s3_close,
    .get_range = s3_get_range,
    .put = s3_put,
    .head = s3_head,
    .del = s3_del,
    .list = s3_list,
    .writer_open = s3_writer_open,
    .object_url = s3_object_url,
};
