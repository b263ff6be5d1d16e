/* AWS Signature Version 4: canonical request, string to sign, signature. */
#include "store/s3_sign.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

static bool unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

int s3_uri_encode(st_buf_t *b, const char *s, size_t n, bool keep_slash) {
    static const char hex[] = "0123456789ABCDEF";
    int rc = st_buf_reserve(b, n * 3 + 1);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            b->data[b->len++] = c;
        } else {
            b->data[b->len++] = '%';
            b->data[b->len++] = (uint8_t)hex[c >> 4];
            b->data[b->len++] = (uint8_t)hex[c & 15];
        }
    }
    b->data[b->len] = '\0';
    return ST_OK;
}

typedef struct enc_pair {
    char *name;
    char *value;
} enc_pair_t;

static int cmp_pair(const void *a, const void *b) {
    const enc_pair_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *encode_dup(const char *s, bool keep_slash) {
    st_buf_t b = ST_BUF_INIT;
    if (s3_uri_encode(&b, s, strlen(s), keep_slash)) {
        st_buf_free(&b);
        return NULL;
    }
    if (!b.data) return strdup("");
    return (char *)b.data;
}

int s3_canonical_query(st_buf_t *b, const s3_kv_t *q, int n) {
    if (n <= 0) return ST_OK;
    enc_pair_t *p = calloc((size_t)n, sizeof *p);
    if (!p) return st_error(ST_ENOMEM, "out of memory");
    int rc = ST_OK;
    for (int i = 0; i < n && !rc; i++) {
        p[i].name = encode_dup(q[i].name, false);
        p[i].value = encode_dup(q[i].value ? q[i].value : "", false);
        if (!p[i].name || !p[i].value) rc = st_error(ST_ENOMEM, "out of memory");
    }
    if (!rc) {
        /* Sorting the encoded forms is what the specification asks for: the
         * server sorts the bytes it received. */
        qsort(p, (size_t)n, sizeof *p, cmp_pair);
        for (int i = 0; i < n && !rc; i++)
            rc = st_buf_printf(b, "%s%s=%s", i ? "&" : "", p[i].name, p[i].value);
    }
    for (int i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
    return rc;
}

typedef struct canon_hdr {
    char *name;
    const char *value;
} canon_hdr_t;

static int cmp_hdr(const void *a, const void *b) {
    return strcmp(((const canon_hdr_t *)a)->name, ((const canon_hdr_t *)b)->name);
}

/* Header values are trimmed and inner runs of spaces collapsed ("trimall"),
 * as the server does with what it receives. */
static int append_trimall(st_buf_t *b, const char *v) {
    while (*v == ' ' || *v == '\t')
        v++;
    bool space = false;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            space = true;
            continue;
        }
        if (space) {
            int rc = st_buf_append_byte(b, ' ');
            if (rc) return rc;
            space = false;
        }
        int rc = st_buf_append_byte(b, (uint8_t)*v);
        if (rc) return rc;
    }
    return ST_OK;
}

int s3_canonical_request(const s3_sign_req_t *r, st_buf_t *out, st_buf_t *signed_headers) {
    int rc = st_buf_printf(out, "%s\n", r->method);
    if (rc) return rc;
    const char *path = r->path && *r->path ? r->path : "/";
    if ((rc = s3_uri_encode(out, path, strlen(path), true))) return rc;
    if ((rc = st_buf_append_byte(out, '\n'))) return rc;
    if ((rc = s3_canonical_query(out, r->query, r->nquery))) return rc;
    if ((rc = st_buf_append_byte(out, '\n'))) return rc;

    canon_hdr_t *h = calloc(r->nheaders > 0 ? (size_t)r->nheaders : 1, sizeof *h);
    if (!h) return st_error(ST_ENOMEM, "out of memory");
    for (int i = 0; i < r->nheaders && !rc; i++) {
        h[i].name = strdup(r->headers[i].name);
        h[i].value = r->headers[i].value ? r->headers[i].value : "";
        if (!h[i].name) {
            rc = st_error(ST_ENOMEM, "out of memory");
            break;
        }
        for (char *c = h[i].name; *c; c++)
            if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
    }
    if (!rc) qsort(h, (size_t)r->nheaders, sizeof *h, cmp_hdr);
    for (int i = 0; i < r->nheaders && !rc; i++) {
        rc = st_buf_printf(out, "%s:", h[i].name);
        if (!rc) rc = append_trimall(out, h[i].value);
        if (!rc) rc = st_buf_append_byte(out, '\n');
        if (!rc) rc = st_buf_printf(signed_headers, "%s%s", i ? ";" : "", h[i].name);
    }
    for (int i = 0; i < r->nheaders; i++)
        free(h[i].name);
    free(h);
    if (rc) return rc;
    if (!signed_headers->data && (rc = st_buf_printf(signed_headers, "%s", ""))) return rc;
    return st_buf_printf(out, "\n%s\n%s", (const char *)signed_headers->data, r->payload_hash);
}

int s3_string_to_sign(const s3_sign_req_t *r, const char *canonical_request, size_t n,
                      st_buf_t *out) {
    char hash[ST_SHA256_HEX_LEN + 1];
    st_sha256_hex(canonical_request, n, hash);
    return st_buf_printf(out, "AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s", r->amz_date,
                         r->amz_date, r->region, r->service, hash);
}

static void hmac(const void *key, size_t klen, const char *msg, size_t mlen, uint8_t out[32]) {
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, mlen, out, &len);
}

void s3_signing_key(const char *secret, const char *date8, const char *region, const char *service,
                    uint8_t out[32]) {
    size_t slen = strlen(secret);
    char *k = malloc(slen + 5);
    uint8_t a[32], b[32];
    if (k) {
        memcpy(k, "AWS4", 4);
        memcpy(k + 4, secret, slen + 1);
        hmac(k, slen + 4, date8, strlen(date8), a);
        /* The derived key is as secret as the key itself. */
        OPENSSL_cleanse(k, slen + 4);
        free(k);
    } else {
        memset(a, 0, sizeof a);
    }
    hmac(a, 32, region, strlen(region), b);
    hmac(b, 32, service, strlen(service), a);
    hmac(a, 32, "aws4_request", 12, out);
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(b, sizeof b);
}

int s3_authorization(const s3_sign_req_t *r, st_buf_t *out) {
    if (!r->amz_date || strlen(r->amz_date) != 16)
        return st_error(ST_EINVAL, "bad x-amz-date '%s'", r->amz_date ? r->amz_date : "");
    st_buf_t creq = ST_BUF_INIT, sh = ST_BUF_INIT, sts = ST_BUF_INIT;
    int rc = s3_canonical_request(r, &creq, &sh);
    if (!rc) rc = s3_string_to_sign(r, (const char *)creq.data, creq.len, &sts);
    if (!rc) {
        char date8[9];
        memcpy(date8, r->amz_date, 8);
        date8[8] = '\0';
        uint8_t key[32], sig[32];
        s3_signing_key(r->secret_key, date8, r->region, r->service, key);
        hmac(key, 32, (const char *)sts.data, sts.len, sig);
        OPENSSL_cleanse(key, sizeof key);
        char hex[65];
        st_hex(sig, 32, hex);
        rc = st_buf_printf(out,
                           "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request,"
                           "SignedHeaders=%s,Signature=%s",
                           r->access_key, date8, r->region, r->service, (const char *)sh.data, hex);
    }
    st_buf_free(&creq);
    st_buf_free(&sh);
    st_buf_free(&sts);
    return rc;
}

void s3_amz_date(time_t t, char out[17]) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

void s3_base64(const uint8_t *data, size_t n, char *out) {
    EVP_EncodeBlock((unsigned char *)out, data, (int)n);
}
