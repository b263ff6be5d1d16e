/* Running one S3 request: signing, sending, mapping errors and headers. */
#include "store/s3_internal.h"
#include "store/s3_xml.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

char *s3_strdup(const char *s) {
    char *p = strdup(s ? s : "");
    if (!p) st_error(ST_ENOMEM, "out of memory");
    return p;
}

char *s3_asprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *p = NULL;
    if (vasprintf(&p, fmt, ap) < 0) p = NULL;
    va_end(ap);
    if (!p) st_error(ST_ENOMEM, "out of memory");
    return p;
}

void s3_md5(const void *d, size_t n, uint8_t out[16]) {
    unsigned len = 16;
    EVP_Digest(d, n, out, &len, EVP_md5(), NULL);
}

/* The full key inside the bucket: store prefix + "/" + key. */
char *s3_full_key(const s3_store_t *st, const char *key) {
    return *st->prefix ? s3_asprintf("%s/%s", st->prefix, key) : s3_strdup(key);
}

char *s3_url_of(const s3_store_t *st, const char *fk) {
    return s3_asprintf("s3://%s/%s", st->bucket, fk);
}

void s3_copy_etag(char dst[130], const char *v) {
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

void s3_hdrs_free(s3_hdrs_t *h) {
    for (int i = 0; i < h->nowned; i++)
        free(h->owned[i]);
    free(h->owned);
    free(h->kv);
    memset(h, 0, sizeof *h);
}

/* Adds a header; the strings are copied. */
int s3_hdrs_add(s3_hdrs_t *h, const char *name, const char *value) {
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

char *s3_meta_decode(const char *v) {
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
    return s3_strdup(v);
}

/* ---- running one request -------------------------------------------------- */

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
    for (int i = 0; i < op->h.n; i++)
        all[n++] = op->h.kv[i];
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
            if (!t)
                rc = st_error(ST_ENOMEM, "out of memory");
            else
                list = t;
        }
    }
    st_buf_free(&line);
    free(all);
    *out = list;
    return rc;
}

int s3_op_run(s3_op_t *op, s3_resp_t *resp) {
    s3_store_t *st = op->st;
    int rc;
    if (!op->payload_hash[0]) memcpy(op->payload_hash, S3_EMPTY_SHA256, sizeof op->payload_hash);
    free(op->path);
    op->path = op->fkey ? s3_asprintf("%s/%s", st->path_base, op->fkey)
                        : s3_asprintf("%s/", st->path_base);
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
        char *u = op->fkey ? s3_url_of(st, op->fkey) : NULL;
        st_error_prefix(rc, "%s", u ? u : st->display);
        free(u);
    }
    return rc;
}

void s3_op_free(s3_op_t *op) {
    s3_hdrs_free(&op->h);
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

int s3_code_of(long status, const char *code) {
    static const char *const auth_codes[] = {"SignatureDoesNotMatch",
                                             "InvalidAccessKeyId",
                                             "AccessDenied",
                                             "ExpiredToken",
                                             "InvalidToken",
                                             "TokenRefreshRequired",
                                             "AuthorizationHeaderMalformed",
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
int s3_fail(const s3_store_t *st, const char *fkey, const s3_resp_t *r) {
    char *code = NULL, *msg = NULL;
    if (r->err_body.len)
        (void)s3_xml_parse_error((const char *)r->err_body.data, r->err_body.len, &code, &msg);
    const char *c = code && *code ? code : reason(r->status);
    int rc = s3_code_of(r->status, c);
    char *u = fkey ? s3_url_of(st, fkey) : NULL;
    const char *what = u ? u : st->display;
    if (msg && *msg)
        st_error(rc, "%s: %ld %s: %s", what, r->status, c, msg);
    else if (r->status == 404 && !fkey)
        st_error(rc, "%s: %ld %s (bucket %s)", what, r->status, c, st->bucket);
    else
        st_error(rc, "%s: %ld %s", what, r->status, c);
    free(u);
    free(code);
    free(msg);
    return rc;
}

bool s3_ok(long s) { return s >= 200 && s < 300; }

/* ---- object info from response headers ------------------------------------ */

static int cmp_meta(const void *a, const void *b) {
    return strcmp(((const st_meta_pair_t *)a)->key, ((const st_meta_pair_t *)b)->key);
}

int s3_info_from_resp(const s3_resp_t *r, st_object_info_t *info, bool ranged) {
    memset(info, 0, sizeof *info);
    const char *v;
    if (ranged && (v = s3_resp_header(r, "content-range")) != NULL) {
        const char *slash = strrchr(v, '/');
        if (slash && slash[1] != '*') info->size = strtoull(slash + 1, NULL, 10);
    } else if ((v = s3_resp_header(r, "content-length")) != NULL) {
        info->size = strtoull(v, NULL, 10);
    }
    s3_copy_etag(info->etag, s3_resp_header(r, "etag"));
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
        m->key = s3_strdup(r->hdrs[i].name + 11);
        m->value = s3_meta_decode(r->hdrs[i].value);
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

int s3_head_full(s3_store_t *st, const char *fk, st_object_info_t *info) {
    s3_op_t op = {.st = st, .method = "HEAD", .fkey = fk};
    s3_resp_t r;
    int rc = s3_op_run(&op, &r);
    if (!rc) {
        if (s3_ok(r.status))
            rc = info ? s3_info_from_resp(&r, info, false) : ST_OK;
        else
            rc = s3_fail(st, fk, &r);
    }
    s3_resp_free(&r);
    s3_op_free(&op);
    return rc;
}
