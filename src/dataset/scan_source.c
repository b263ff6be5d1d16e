/* The scan's Parquet source: the listing already told each object's size, so
 * opening a file is one ranged GET of its tail (footer included for all but
 * huge footers) and no HEAD; every later read is one ranged GET of exactly
 * the bytes the reader asks for (the page reader already asks for whole
 * column chunks in windows of up to 1 MiB). All fetched bytes are counted
 * for --explain. */
#include "dataset/scan_internal.h"

#include <stdlib.h>
#include <string.h>

#define TAIL_BYTES (64u * 1024)

typedef struct ds_src {
    st_store_t *s;
    char *key;
    uint64_t size;
    uint64_t *counter;
    st_buf_t tail;
    uint64_t tail_off;
    st_buf_t tmp;
} ds_src_t;

static void src_close(void *ctx) {
    ds_src_t *c = ctx;
    if (!c) return;
    st_buf_free(&c->tail);
    st_buf_free(&c->tmp);
    free(c->key);
    free(c);
}

static int get(ds_src_t *c, uint64_t off, size_t n, st_buf_t *out) {
    st_buf_reset(out);
    int rc = st_store_get_range(c->s, c->key, (int64_t)off, n, out);
    if (rc) return rc;
    *c->counter += out->len;
    if (out->len != n) {
        char *u = st_store_object_url(c->s, c->key);
        rc = st_error(ST_EIO, "%s: object changed while being read (%zu bytes at %llu, got %zu)", u ? u : c->key, n,
                      (unsigned long long)off, out->len);
        free(u);
        return rc;
    }
    return ST_OK;
}

static int src_read_at(void *ctx, uint64_t off, void *buf, size_t n) {
    ds_src_t *c = ctx;
    if (off > c->size || n > c->size - off) return st_error(ST_EIO, "%s: read past the end", c->key);
    if (n == 0) return ST_OK;
    if (off >= c->tail_off && c->tail.len && off - c->tail_off + n <= c->tail.len) {
        memcpy(buf, c->tail.data + (off - c->tail_off), n);
        return ST_OK;
    }
    int rc = get(c, off, n, &c->tmp);
    if (rc) return rc;
    memcpy(buf, c->tmp.data, n);
    /* Do not keep a chunk-sized buffer per open file. */
    if (c->tmp.cap > (4u << 20)) st_buf_free(&c->tmp);
    return ST_OK;
}

int ds_source_open(st_store_t *s, const char *key, uint64_t size, uint64_t *counter, st_pq_source_t *out) {
    memset(out, 0, sizeof *out);
    ds_src_t *c = calloc(1, sizeof *c);
    if (!c) return st_error(ST_ENOMEM, "out of memory");
    c->s = s;
    c->size = size;
    c->counter = counter;
    c->key = strdup(key);
    out->name = st_store_object_url(s, key);
    if (!c->key || !out->name) {
        src_close(c);
        free(out->name);
        out->name = NULL;
        return st_error(ST_ENOMEM, "out of memory");
    }
    uint64_t t = size < TAIL_BYTES ? size : TAIL_BYTES;
    c->tail_off = size - t;
    int rc = t ? get(c, c->tail_off, (size_t)t, &c->tail) : ST_OK;
    if (rc) {
        src_close(c);
        free(out->name);
        out->name = NULL;
        return rc;
    }
    out->ctx = c;
    out->size = size;
    out->read_at = src_read_at;
    out->close = src_close;
    return ST_OK;
}
