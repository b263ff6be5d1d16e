/* Growable byte buffers and whole-file reads. */
#include "strata/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int st_buf_reserve(st_buf_t *b, size_t extra) {
    if (extra <= b->cap - b->len) return ST_OK;
    if (extra > SIZE_MAX / 2 - b->len) return st_error(ST_ENOMEM, "buffer size overflow");
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p) return st_error(ST_ENOMEM, "out of memory (%zu bytes)", cap);
    b->data = p;
    b->cap = cap;
    return ST_OK;
}

int st_buf_append(st_buf_t *b, const void *data, size_t n) {
    if (n == 0) return ST_OK;
    int rc = st_buf_reserve(b, n);
    if (rc) return rc;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return ST_OK;
}

int st_buf_append_byte(st_buf_t *b, uint8_t byte) {
    if (b->len == b->cap) {
        int rc = st_buf_reserve(b, 1);
        if (rc) return rc;
    }
    b->data[b->len++] = byte;
    return ST_OK;
}

int st_buf_append_str(st_buf_t *b, const char *s) { return st_buf_append(b, s, strlen(s)); }

int st_buf_append_zeros(st_buf_t *b, size_t n) {
    int rc = st_buf_reserve(b, n);
    if (rc) return rc;
    if (n) memset(b->data + b->len, 0, n);
    b->len += n;
    return ST_OK;
}

int st_buf_printf(st_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return st_error(ST_EINVAL, "bad format string");
    int rc = st_buf_reserve(b, (size_t)n + 1);
    if (rc) return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return ST_OK;
}

void st_buf_reset(st_buf_t *b) { b->len = 0; }

void st_buf_free(st_buf_t *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

uint8_t *st_buf_detach(st_buf_t *b, size_t *len) {
    uint8_t *p = b->data;
    if (len) *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

int st_read_file(const char *path, st_buf_t *out) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        int e = errno;
        return st_error(e == ENOENT ? ST_ENOTFOUND : ST_EIO, "%s: %s", path, strerror(e));
    }
    uint8_t chunk[65536];
    size_t n;
    int rc = ST_OK;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        rc = st_buf_append(out, chunk, n);
        if (rc) break;
    }
    if (!rc && ferror(fp)) rc = st_error(ST_EIO, "%s: read failed: %s", path, strerror(errno));
    fclose(fp);
    return rc;
}
