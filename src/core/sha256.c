/* SHA-256 through OpenSSL's EVP interface. */
#include "strata/core.h"

#include <openssl/evp.h>
#include <stdlib.h>

struct st_sha256_ctx {
    EVP_MD_CTX *md;
};

void st_hex(const uint8_t *bytes, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

void st_sha256(const void *data, size_t n, uint8_t out[ST_SHA256_LEN]) {
    unsigned int len = 0;
    EVP_Digest(data, n, out, &len, EVP_sha256(), NULL);
}

void st_sha256_hex(const void *data, size_t n, char out[ST_SHA256_HEX_LEN + 1]) {
    uint8_t d[ST_SHA256_LEN];
    st_sha256(data, n, d);
    st_hex(d, sizeof d, out);
}

int st_sha256_begin(st_sha256_ctx_t **ctx) {
    st_sha256_ctx_t *c = malloc(sizeof *c);
    if (!c) return st_error(ST_ENOMEM, "out of memory");
    c->md = EVP_MD_CTX_new();
    if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c->md);
        free(c);
        return st_error(ST_ENOMEM, "cannot start SHA-256");
    }
    *ctx = c;
    return ST_OK;
}

void st_sha256_update(st_sha256_ctx_t *ctx, const void *data, size_t n) {
    EVP_DigestUpdate(ctx->md, data, n);
}

void st_sha256_end(st_sha256_ctx_t *ctx, uint8_t out[ST_SHA256_LEN]) {
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx->md, out, &len);
    EVP_MD_CTX_free(ctx->md);
    free(ctx);
}
