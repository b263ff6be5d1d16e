/*
 * The store front end: opens a backend from a URL and checks every argument
 * (keys, metadata, put options) before a backend sees it, so that the rules
 * are the same on a laptop disk and on S3 and a hostile key never reaches the
 * file system or the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

struct st_store {
    const st_store_backend_t *be;
    void *state;
    unsigned caps;
    char *url;  /* normalised, with the query */
    char *base; /* without the query: object URLs for messages */
};

struct st_list_iter {
    const st_list_page_ops_t *ops;
    void *it;
};

struct st_store_writer {
    const st_writer_ops_t *ops;
    void *w;
    st_store_t *s;
    st_put_mode_t mode;
    char *key;
};

static const st_store_backend_t *const backends[] = {
    &st_store_file_backend,
    &st_store_mem_backend,
    &st_store_s3_backend,
};

static const st_store_backend_t *find_backend(const char *scheme) {
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (!strcmp(backends[i]->scheme, scheme)) return backends[i];
    return NULL;
}

static int open_parsed(const st_url_t *u, st_store_t **out) {
    const st_store_backend_t *be = find_backend(u->scheme);
    if (!be) {
        if (!strcmp(u->scheme, "s3") || !strcmp(u->scheme, "az"))
            return st_error(ST_EUNSUPPORTED,
                            "%s:// stores are not available in this build of strata", u->scheme);
        return st_error(ST_EINVAL, "unknown store scheme '%s' (expected file://, mem:// or s3://)",
                        u->scheme);
    }
    st_store_t *s = calloc(1, sizeof *s);
    if (!s) return st_error(ST_ENOMEM, "out of memory");
    s->be = be;
    s->url = store_url_format(u);
    s->base = store_url_base(u);
    if (!s->url || !s->base) {
        st_store_close(s);
        return st_error(ST_ENOMEM, "out of memory");
    }
    int rc = be->open(u, &s->state, &s->caps);
    if (rc) {
        s->state = NULL;
        st_store_close(s);
        return rc;
    }
    *out = s;
    return ST_OK;
}

int st_store_open(const char *url, st_store_t **out) {
    if (!out) return st_error(ST_EINVAL, "st_store_open: NULL out");
    *out = NULL;
    st_url_t u;
    int rc = store_url_parse(url, &u);
    if (!rc) rc = open_parsed(&u, out);
    store_url_free(&u);
    return rc;
}

int st_store_open_object(const char *url, st_store_t **store, char **key) {
    if (!store || !key) return st_error(ST_EINVAL, "st_store_open_object: NULL out");
    *store = NULL;
    *key = NULL;
    st_url_t u;
    int rc = store_url_parse(url, &u);
    if (rc) goto done;
    /* Normalisation would turn "d/x/" or "d/x/.." into a key; the text as
     * written must end in a name. */
    size_t tl = strstr(url, "://") ? strcspn(url, "?") : strlen(url);
    size_t ls = tl;
    while (ls > 0 && url[ls - 1] != '/')
        ls--;
    if (tl == ls || (tl - ls == 1 && url[ls] == '.') ||
        (tl - ls == 2 && !strncmp(url + ls, "..", 2))) {
        rc = st_error(ST_EINVAL,
                      "%s: the URL names a store, not an object (no key after the last '/')", url);
        goto done;
    }
    /* The key is the last segment; the store is everything before it. */
    char *path = u.path;
    size_t n = strlen(path);
    char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    if (n == 0 || !*name || (!strcmp(u.scheme, "file") && !strcmp(path, "/"))) {
        rc = st_error(ST_EINVAL,
                      "%s: the URL names a store, not an object (no key after the last '/')", url);
        goto done;
    }
    if ((rc = st_key_validate(name))) {
        st_error_prefix(rc, "%s", url);
        goto done;
    }
    if (!(*key = strdup(name))) {
        rc = st_error(ST_ENOMEM, "out of memory");
        goto done;
    }
    if (slash) {
        /* The file root "/x" keeps its leading '/'. */
        if (slash == path)
            slash[1] = '\0';
        else
            *slash = '\0';
    } else {
        path[0] = '\0';
    }
    rc = open_parsed(&u, store);
done:
    if (rc) {
        free(*key);
        *key = NULL;
    }
    store_url_free(&u);
    return rc;
}

void st_store_close(st_store_t *s) {
    if (!s) return;
    if (s->state) s->be->close(s->state);
    free(s->url);
    free(s->base);
    free(s);
}

const char *st_store_url(const st_store_t *s) { return s ? s->url : ""; }

char *st_store_object_url(const st_store_t *s, const char *key) {
    if (!s || !key) return NULL;
    if (s->be->object_url) return s->be->object_url(s->state, key);
    return store_join_url(s->base, key);
}

unsigned st_store_caps(const st_store_t *s) { return s ? s->caps : 0; }

static const char *cap_name(unsigned bit) {
    switch (bit) {
    case ST_CAP_PUT_IF_ABSENT: return "put-if-absent";
    case ST_CAP_PUT_IF_MATCH: return "put-if-match";
    default: return "unknown capability";
    }
}

int st_store_require(const st_store_t *s, unsigned caps, const char *purpose) {
    if (!s) return st_error(ST_EINVAL, "st_store_require: NULL store");
    unsigned missing = caps & ~s->caps;
    if (!missing) return ST_OK;
    unsigned bit = missing & -missing;
    return st_error(
        ST_EUNSUPPORTED,
        "%s: the store cannot guarantee %s (atomic conditional writes), which %s needs; "
        "refusing rather than risk two writers both winning",
        s->url, cap_name(bit), purpose && *purpose ? purpose : "this operation");
}

void store_meta_free(st_meta_pair_t *meta, int n) {
    if (!meta) return;
    for (int i = 0; i < n; i++) {
        free(meta[i].key);
        free(meta[i].value);
    }
    free(meta);
}

int store_meta_copy(const st_meta_pair_t *src, int n, st_meta_pair_t **out) {
    *out = NULL;
    if (n <= 0) return ST_OK;
    st_meta_pair_t *m = calloc((size_t)n, sizeof *m);
    if (!m) return st_error(ST_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        m[i].key = strdup(src[i].key);
        m[i].value = strdup(src[i].value);
        if (!m[i].key || !m[i].value) {
            store_meta_free(m, n);
            return st_error(ST_ENOMEM, "out of memory");
        }
    }
    *out = m;
    return ST_OK;
}

void st_object_info_free(st_object_info_t *info) {
    if (!info) return;
    store_meta_free(info->meta, info->nmeta);
    info->meta = NULL;
    info->nmeta = 0;
}

static int meta_cmp(const void *a, const void *b) {
    return strcmp(((const st_meta_pair_t *)a)->key, ((const st_meta_pair_t *)b)->key);
}

/* Every backend reports metadata in one order (by key), whatever the wire or
 * the disk gave, so results compare equal across backends. */
static void info_normalize(st_object_info_t *info) {
    if (info && info->nmeta > 1)
        qsort(info->meta, (size_t)info->nmeta, sizeof *info->meta, meta_cmp);
}

static int check_store(const st_store_t *s, const char *what) {
    if (!s) return st_error(ST_EINVAL, "%s: NULL store", what);
    return ST_OK;
}

static int check_key(const st_store_t *s, const char *key) {
    if (!key) return st_error(ST_EINVAL, "%s: NULL key", s->url);
    int rc = st_key_validate(key);
    if (rc) return st_error_prefix(rc, "%s: bad key", s->url);
    return ST_OK;
}

static bool printable_ascii(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p > 0x7e) return false;
    return true;
}

/* Metadata must survive the trip through HTTP headers unchanged on every
 * backend: lowercase names (S3 folds case), printable ASCII values without
 * surrounding blanks (which proxies trim). */
static int check_meta(const st_store_t *s, const st_meta_pair_t *meta, int n) {
    if (n < 0 || (n > 0 && !meta)) return st_error(ST_EINVAL, "%s: bad metadata array", s->url);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        const char *k = meta[i].key, *v = meta[i].value;
        if (!k || !v)
            return st_error(ST_EINVAL, "%s: metadata pair %d has a NULL key or value", s->url, i);
        if (!*k) return st_error(ST_EINVAL, "%s: empty metadata name", s->url);
        for (const char *c = k; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
                return st_error(
                    ST_EINVAL,
                    "%s: metadata name '%.64s' may hold lowercase letters, digits and '-' only",
                    s->url, printable_ascii(k) ? k : "?");
        if (!printable_ascii(v))
            return st_error(ST_EINVAL, "%s: metadata '%s' must be printable ASCII", s->url, k);
        size_t vl = strlen(v);
        if (vl && (v[0] == ' ' || v[vl - 1] == ' '))
            return st_error(ST_EINVAL, "%s: metadata '%s' has leading or trailing blanks", s->url,
                            k);
        for (int j = 0; j < i; j++)
            if (!strcmp(meta[j].key, k))
                return st_error(ST_EINVAL, "%s: metadata '%s' given twice", s->url, k);
        total += strlen(k) + vl;
    }
    if (total > STORE_META_MAX)
        return st_error(ST_EINVAL, "%s: user metadata too large (%zu bytes, at most %d)", s->url,
                        total, STORE_META_MAX);
    return ST_OK;
}

/* Checks opts and fills *norm with a copy whose ETag has its quotes removed
 * (ETags are opaque and compared without quotes everywhere). */
static int check_opts(const st_store_t *s, const st_put_opts_t *opts, st_put_opts_t *norm,
                      char *etag_buf, size_t etag_cap) {
    memset(norm, 0, sizeof *norm);
    if (!opts) return ST_OK;
    *norm = *opts;
    if (opts->mode != ST_PUT_PLAIN && opts->mode != ST_PUT_IF_ABSENT &&
        opts->mode != ST_PUT_IF_MATCH)
        return st_error(ST_EINVAL, "%s: unknown put mode %d", s->url, (int)opts->mode);
    /* A condition the store cannot enforce would silently become a plain
     * put that overwrites: refuse it instead. */
    unsigned need = opts->mode == ST_PUT_IF_ABSENT  ? ST_CAP_PUT_IF_ABSENT
                    : opts->mode == ST_PUT_IF_MATCH ? ST_CAP_PUT_IF_MATCH
                                                    : 0;
    if (need && !(s->caps & need))
        return st_store_require(
            s, need, opts->mode == ST_PUT_IF_ABSENT ? "an if-absent put" : "an if-match put");
    if (opts->mode == ST_PUT_IF_MATCH) {
        const char *e = opts->if_match;
        if (!e || !*e) return st_error(ST_EINVAL, "%s: if-match put without an ETag", s->url);
        size_t n = strlen(e);
        if (n >= 2 && e[0] == '"' && e[n - 1] == '"') e++, n -= 2;
        if (n == 0 || n >= etag_cap)
            return st_error(ST_EINVAL, "%s: bad ETag for if-match", s->url);
        memcpy(etag_buf, e, n);
        etag_buf[n] = '\0';
        if (!printable_ascii(etag_buf) || strchr(etag_buf, '"'))
            return st_error(ST_EINVAL, "%s: bad ETag for if-match", s->url);
        norm->if_match = etag_buf;
    } else {
        norm->if_match = NULL;
    }
    if (opts->content_type) {
        size_t n = strlen(opts->content_type);
        if (n == 0 || n >= sizeof(((st_object_info_t *)0)->content_type) ||
            !printable_ascii(opts->content_type))
            return st_error(ST_EINVAL, "%s: bad content type (printable ASCII, 1 to 127 bytes)",
                            s->url);
    }
    return check_meta(s, opts->meta, opts->nmeta);
}

/* A conditional put that finds no object lost its condition just as much as
 * one that finds another ETag: report both the same way on every backend. */
static int cond_result(const st_store_t *s, const char *key, const st_put_opts_t *o, int rc) {
    if (rc == ST_ENOTFOUND && o->mode == ST_PUT_IF_MATCH) {
        char *u = st_store_object_url(s, key);
        rc = st_error(ST_ECONFLICT, "%s: if-match put failed: the object does not exist",
                      u ? u : key);
        free(u);
    }
    return rc;
}

int st_store_get(st_store_t *s, const char *key, st_buf_t *out, st_object_info_t *info) {
    int rc = check_store(s, "st_store_get");
    if (rc || (rc = check_key(s, key))) return rc;
    if (!out) return st_error(ST_EINVAL, "%s: NULL output buffer", s->url);
    if (info) memset(info, 0, sizeof *info);
    size_t len0 = out->len;
    rc = s->be->get_range(s->state, key, 0, 0, true, out, info);
    if (rc) {
        out->len = len0;
        if (info) st_object_info_free(info);
        return rc;
    }
    info_normalize(info);
    return ST_OK;
}

int st_store_get_range_info(st_store_t *s, const char *key, int64_t offset, uint64_t length,
                            st_buf_t *out, st_object_info_t *info) {
    int rc = check_store(s, "st_store_get_range");
    if (rc || (rc = check_key(s, key))) return rc;
    if (!out) return st_error(ST_EINVAL, "%s: NULL output buffer", s->url);
    if (info) memset(info, 0, sizeof *info);
    if (length == 0) {
        /* No byte range can say "nothing" on the wire; the answer only needs
         * the object to exist and the offset to be inside it. */
        st_object_info_t tmp;
        st_object_info_t *hi = info ? info : &tmp;
        if ((rc = st_store_head(s, key, hi))) return rc;
        if (offset >= 0 && (uint64_t)offset > hi->size) {
            char *u = st_store_object_url(s, key);
            rc = st_error(ST_EINVAL, "%s: range offset %lld is beyond the end (%llu bytes)",
                          u ? u : key, (long long)offset, (unsigned long long)hi->size);
            free(u);
        }
        if (rc || !info) st_object_info_free(hi);
        return rc;
    }
    if (offset >= 0 && length > (uint64_t)INT64_MAX - (uint64_t)offset)
        length = (uint64_t)INT64_MAX - (uint64_t)offset;
    if (offset < 0) offset = -1;
    size_t len0 = out->len;
    rc = s->be->get_range(s->state, key, offset, length, false, out, info);
    if (rc == ST_EINVAL && offset >= 0) {
        /* S3 answers 416 for a range starting exactly at the end, which is an
         * empty range here; only an offset past the end is an error. */
        int e = rc;
        char msg[512];
        snprintf(msg, sizeof msg, "%s", st_errmsg());
        st_object_info_t hi;
        if (st_store_head(s, key, &hi) == ST_OK) {
            if (hi.size == (uint64_t)offset) {
                out->len = len0;
                if (info) {
                    st_object_info_free(info);
                    *info = hi;
                } else {
                    st_object_info_free(&hi);
                }
                return ST_OK;
            }
            st_object_info_free(&hi);
        }
        st_error(e, "%s", msg);
        rc = e;
    }
    if (rc) {
        out->len = len0;
        if (info) st_object_info_free(info);
        return rc;
    }
    info_normalize(info);
    return ST_OK;
}

int st_store_get_range(st_store_t *s, const char *key, int64_t offset, uint64_t length,
                       st_buf_t *out) {
    return st_store_get_range_info(s, key, offset, length, out, NULL);
}

int st_store_put(st_store_t *s, const char *key, const void *data, size_t n,
                 const st_put_opts_t *opts, st_object_info_t *info) {
    int rc = check_store(s, "st_store_put");
    if (rc || (rc = check_key(s, key))) return rc;
    if (!data && n) return st_error(ST_EINVAL, "%s: NULL data", s->url);
    st_put_opts_t o;
    char etag[sizeof(((st_object_info_t *)0)->etag)];
    if ((rc = check_opts(s, opts, &o, etag, sizeof etag))) return rc;
    if (info) memset(info, 0, sizeof *info);
    rc = s->be->put(s->state, key, data ? data : "", n, &o, info);
    if (rc) {
        if (info) st_object_info_free(info);
        return cond_result(s, key, &o, rc);
    }
    info_normalize(info);
    return ST_OK;
}

int st_store_head(st_store_t *s, const char *key, st_object_info_t *info) {
    int rc = check_store(s, "st_store_head");
    if (rc || (rc = check_key(s, key))) return rc;
    st_object_info_t tmp;
    st_object_info_t *hi = info ? info : &tmp;
    memset(hi, 0, sizeof *hi);
    rc = s->be->head(s->state, key, hi);
    if (rc || !info) st_object_info_free(hi);
    if (!rc) info_normalize(info);
    return rc;
}

int st_store_delete(st_store_t *s, const char *key) {
    int rc = check_store(s, "st_store_delete");
    if (rc || (rc = check_key(s, key))) return rc;
    return s->be->del(s->state, key);
}

/* A prefix is a key, or the start of one: valid when some key extending it
 * is. Appending one ordinary character turns that into a key check. */
static int check_prefix(const st_store_t *s, const char *prefix) {
    size_t n = strlen(prefix);
    if (n == 0) return ST_OK;
    if (n >= ST_KEY_MAX)
        return st_error(ST_EINVAL, "%s: list prefix too long (%zu bytes)", s->url, n);
    char probe[ST_KEY_MAX + 1];
    memcpy(probe, prefix, n);
    probe[n] = 'x';
    probe[n + 1] = '\0';
    int rc = st_key_validate(probe);
    if (rc) return st_error_prefix(rc, "%s: bad list prefix", s->url);
    return ST_OK;
}

int st_store_list(st_store_t *s, const char *prefix, const char *delimiter, st_list_iter_t **out) {
    int rc = check_store(s, "st_store_list");
    if (rc) return rc;
    if (!out) return st_error(ST_EINVAL, "%s: NULL iterator", s->url);
    *out = NULL;
    if (!prefix) prefix = "";
    if ((rc = check_prefix(s, prefix))) return rc;
    if (delimiter && !*delimiter) delimiter = NULL;
    if (delimiter && (strlen(delimiter) > 16 || !printable_ascii(delimiter)))
        return st_error(ST_EINVAL, "%s: bad list delimiter (1 to 16 printable ASCII characters)",
                        s->url);
    st_list_iter_t *it = calloc(1, sizeof *it);
    if (!it) return st_error(ST_ENOMEM, "out of memory");
    if ((rc = s->be->list(s->state, prefix, delimiter, &it->it, &it->ops))) {
        free(it);
        return rc;
    }
    *out = it;
    return ST_OK;
}

int st_list_next(st_list_iter_t *it, const st_list_entry_t **entry) {
    if (!entry) return st_error(ST_EINVAL, "st_list_next: NULL entry");
    *entry = NULL;
    if (!it) return st_error(ST_EINVAL, "st_list_next: NULL iterator");
    return it->ops->next(it->it, entry);
}

void st_list_close(st_list_iter_t *it) {
    if (!it) return;
    it->ops->close(it->it);
    free(it);
}

size_t st_list_iter_buffered(const st_list_iter_t *it) {
    if (!it || !it->ops->buffered) return SIZE_MAX;
    return it->ops->buffered(it->it);
}

int st_store_writer_open(st_store_t *s, const char *key, const st_put_opts_t *opts,
                         st_store_writer_t **out) {
    int rc = check_store(s, "st_store_writer_open");
    if (rc || (rc = check_key(s, key))) return rc;
    if (!out) return st_error(ST_EINVAL, "%s: NULL writer", s->url);
    *out = NULL;
    st_put_opts_t o;
    char etag[sizeof(((st_object_info_t *)0)->etag)];
    if ((rc = check_opts(s, opts, &o, etag, sizeof etag))) return rc;
    st_store_writer_t *w = calloc(1, sizeof *w);
    if (!w || !(w->key = strdup(key))) {
        free(w);
        return st_error(ST_ENOMEM, "out of memory");
    }
    w->s = s;
    w->mode = o.mode;
    /* Backends copy what they keep of opts: the ETag buffer dies here. */
    if ((rc = s->be->writer_open(s->state, key, &o, &w->w, &w->ops))) {
        free(w->key);
        free(w);
        return cond_result(s, key, &o, rc);
    }
    *out = w;
    return ST_OK;
}

int st_store_writer_write(st_store_writer_t *w, const void *data, size_t n) {
    if (!w) return st_error(ST_EINVAL, "st_store_writer_write: NULL writer");
    if (n == 0) return ST_OK;
    if (!data) return st_error(ST_EINVAL, "st_store_writer_write: NULL data");
    return w->ops->write(w->w, data, n);
}

int st_store_writer_commit(st_store_writer_t *w, st_object_info_t *info) {
    if (!w) return st_error(ST_EINVAL, "st_store_writer_commit: NULL writer");
    if (info) memset(info, 0, sizeof *info);
    int rc = w->ops->commit(w->w, info);
    if (rc) {
        if (info) st_object_info_free(info);
        st_put_opts_t o = {.mode = w->mode};
        rc = cond_result(w->s, w->key, &o, rc);
    } else {
        info_normalize(info);
    }
    free(w->key);
    free(w);
    return rc;
}

void st_store_writer_abort(st_store_writer_t *w) {
    if (!w) return;
    w->ops->abort(w->w);
    free(w->key);
    free(w);
}

/* ---- listing pages (store_internal.h) ---- */

void store_page_clear(store_list_page_t *p) {
    for (size_t i = 0; i < p->n; i++) free(p->e[i].key);
    p->n = p->pos = 0;
}

store_page_entry_t *store_page_slot(store_list_page_t *p) {
    if (p->n == STORE_LIST_PAGE) return NULL;
    store_page_entry_t *e = &p->e[p->n];
    memset(e, 0, sizeof *e);
    return e;
}

const st_list_entry_t *store_page_next(store_list_page_t *p) {
    if (p->pos == p->n) return NULL;
    const store_page_entry_t *e = &p->e[p->pos++];
    p->cur.key = e->key;
    p->cur.is_prefix = e->is_prefix;
    p->cur.size = e->size;
    p->cur.etag = e->etag;
    p->cur.last_modified_us = e->mtime_us;
    return &p->cur;
}
