/*
 * Parquet files in stores. Reading: the reader asks for the last 8 bytes, the
 * first 4, then the footer, then whole column chunks. Against an object store
 * each of those would be a round trip, so the source keeps two windows: the
 * tail of the object (fetched by the first request together with the object's
 * size, and large enough to hold a typical footer) and a read-ahead window for
 * everything else. Opening a file costs one request when it fits in the tail
 * window and two otherwise. Writing goes through the store's streaming
 * writer, which publishes the object atomically on commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/pq_internal.h"
#include "store/store_internal.h"

#define TAIL_BYTES (256u * 1024)
#define READAHEAD_BYTES (1u * 1024 * 1024)
/* Large reads go in pieces so that no more than this is buffered twice. */
#define PIECE_BYTES (16u * 1024 * 1024)

typedef struct store_src {
    st_store_t *s;
    bool own_store;
    char *key;
    char *name;
    uint64_t size;
    st_buf_t tail;
    uint64_t tail_off;
    st_buf_t win;
    uint64_t win_off;
} store_src_t;

static void src_free(store_src_t *c) {
    if (!c) return;
    st_buf_free(&c->tail);
    st_buf_free(&c->win);
    if (c->own_store) st_store_close(c->s);
    free(c->key);
    free(c->name);
    free(c);
}

static bool in_window(const st_buf_t *b, uint64_t woff, uint64_t off, size_t n) {
    return off >= woff && off - woff <= b->len && n <= b->len - (off - woff);
}

/* Fetches [off, off + n) into the read-ahead window, exactly n bytes. */
static int fetch(store_src_t *c, uint64_t off, size_t n) {
    st_buf_reset(&c->win);
    c->win_off = off;
    int rc = st_store_get_range(c->s, c->key, (int64_t)off, n, &c->win);
    if (rc) return st_error_prefix(rc, "%s", c->name);
    if (c->win.len != n) {
        st_buf_reset(&c->win);
        return st_error(ST_EIO, "%s: object changed while being read (%llu bytes at %llu, got %zu)",
                        c->name, (unsigned long long)n, (unsigned long long)off, c->win.len);
    }
    return ST_OK;
}

static int src_read_at(void *ctx, uint64_t off, void *buf, size_t n) {
    store_src_t *c = ctx;
    if (off > c->size || n > c->size - off)
        return st_error(ST_EIO, "%s: read past the end", c->name);
    if (in_window(&c->tail, c->tail_off, off, n)) {
        if (n) memcpy(buf, c->tail.data + (off - c->tail_off), n);
        return ST_OK;
    }
    if (in_window(&c->win, c->win_off, off, n)) {
        if (n) memcpy(buf, c->win.data + (off - c->win_off), n);
        return ST_OK;
    }
    uint8_t *p = buf;
    while (n > 0) {
        size_t want =
            n < READAHEAD_BYTES
                ? (size_t)(c->size - off < READAHEAD_BYTES ? c->size - off : READAHEAD_BYTES)
                : (n < PIECE_BYTES ? n : PIECE_BYTES);
        int rc = fetch(c, off, want);
        if (rc) return rc;
        size_t take = n < want ? n : want;
        memcpy(p, c->win.data, take);
        p += take;
        off += take;
        n -= take;
    }
    return ST_OK;
}

static void src_close(void *ctx) { src_free(ctx); }

static int source_store(st_store_t *s, bool own, const char *key, st_pq_source_t *out) {
    memset(out, 0, sizeof *out);
    if (!s || !key) {
        if (own) st_store_close(s);
        return st_error(ST_EINVAL, "parquet source: NULL store or key");
    }
    store_src_t *c = calloc(1, sizeof *c);
    if (!c) {
        if (own) st_store_close(s);
        return st_error(ST_ENOMEM, "out of memory");
    }
    c->s = s;
    c->own_store = own;
    c->key = strdup(key);
    c->name = st_store_object_url(s, key);
    char *name = c->name ? strdup(c->name) : NULL;
    if (!c->key || !c->name || !name) {
        free(name);
        src_free(c);
        return st_error(ST_ENOMEM, "out of memory");
    }
    st_object_info_t info;
    int rc = st_store_get_range_info(s, key, -1, TAIL_BYTES, &c->tail, &info);
    if (rc) {
        free(name);
        src_free(c);
        return rc;
    }
    uint64_t got = c->tail.len;
    if (got < TAIL_BYTES) {
        c->size = got; /* the whole object */
    } else if (info.size >= got) {
        c->size = info.size;
    } else {
        /* The backend did not say how large the object is. */
        st_object_info_t h;
        if ((rc = st_store_head(s, key, &h))) {
            st_object_info_free(&info);
            free(name);
            src_free(c);
            return rc;
        }
        c->size = h.size;
        st_object_info_free(&h);
    }
    st_object_info_free(&info);
    if (c->size < got) {
        rc = st_error(ST_EIO, "%s: object changed while being opened", c->name);
        free(name);
        src_free(c);
        return rc;
    }
    c->tail_off = c->size - got;
    out->ctx = c;
    out->name = name;
    out->size = c->size;
    out->read_at = src_read_at;
    out->close = src_close;
    return ST_OK;
}

int st_pq_source_store(st_store_t *s, const char *key, st_pq_source_t *out) {
    return source_store(s, false, key, out);
}

/* ---- sink ---- */

typedef struct store_sink {
    st_store_writer_t *w;
} store_sink_t;

static int sink_write(void *ctx, const void *buf, size_t n) {
    return st_store_writer_write(((store_sink_t *)ctx)->w, buf, n);
}

static int sink_finish(void *ctx, bool commit) {
    store_sink_t *k = ctx;
    int rc = ST_OK;
    if (commit)
        rc = st_store_writer_commit(k->w, NULL);
    else
        st_store_writer_abort(k->w);
    free(k);
    return rc;
}

int st_pq_sink_store(st_store_t *s, const char *key, const st_put_opts_t *opts, st_pq_sink_t *out) {
    memset(out, 0, sizeof *out);
    if (!s || !key) return st_error(ST_EINVAL, "parquet sink: NULL store or key");
    store_sink_t *k = calloc(1, sizeof *k);
    char *name = st_store_object_url(s, key);
    if (!k || !name) {
        free(k);
        free(name);
        return st_error(ST_ENOMEM, "out of memory");
    }
    st_put_opts_t o = opts ? *opts : (st_put_opts_t){0};
    if (!o.content_type) o.content_type = "application/vnd.apache.parquet";
    int rc = st_store_writer_open(s, key, &o, &k->w);
    if (rc) {
        free(k);
        free(name);
        return rc;
    }
    out->ctx = k;
    out->name = name;
    out->write = sink_write;
    out->finish = sink_finish;
    return ST_OK;
}

/* ---- URLs ---- */

int st_pq_open_url(const char *url_or_path, st_pq_file_t **out) {
    if (!out) return st_error(ST_EINVAL, "st_pq_open_url: NULL out");
    *out = NULL;
    if (!url_or_path || !*url_or_path) return st_error(ST_EINVAL, "empty Parquet file name");
    if (!strstr(url_or_path, "://")) return st_pq_open_path(url_or_path, out);
    if (!strncmp(url_or_path, "file://", 7)) {
        /* Local files are read directly (pread), like plain paths. */
        st_url_t u;
        int rc = store_url_parse(url_or_path, &u);
        if (!rc) rc = st_pq_open_path(u.path, out);
        store_url_free(&u);
        return rc;
    }
    st_store_t *s;
    char *key;
    int rc = st_store_open_object(url_or_path, &s, &key);
    if (rc) return rc;
    st_pq_source_t src;
    rc = source_store(s, true, key, &src);
    free(key);
    if (rc) return rc;
    return st_pq_open(&src, out);
}
