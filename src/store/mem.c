/*
 * mem:// stores: objects in process memory, for tests and scratch work.
 *
 * Every handle opened on the same name shares one space (a sorted array of
 * objects under a mutex), so two opens of mem://x see the same objects, as
 * two clients of one bucket would. A space lives while a handle or an
 * iterator on it is open. This registry is the one piece of process-wide
 * state the store layer keeps, and it exists because sharing by name is the
 * point of a mem store. Objects are immutable and reference-counted: a reader
 * copies bytes outside the lock while a writer replaces the object.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"


typedef struct mem_obj {
    char *key; /* full key inside the space (with the handle's prefix) */
    uint8_t *data;
    size_t size;
    char etag[ST_SHA256_HEX_LEN + 1];
    char *content_type;
    st_meta_pair_t *meta;
    int nmeta;
    int64_t mtime_us;
    int refs; /* under the space's mutex */
} mem_obj_t;

typedef struct mem_space {
    struct mem_space *next;
    char *name;
    int refs; /* under reg_mu */
    pthread_mutex_t mu;
    mem_obj_t **objs; /* sorted by key (bytewise) */
    size_t n, cap;
} mem_space_t;

typedef struct mem_store {
    mem_space_t *sp;
    char *prefix; /* "" or "pfx/" */
    char *base;   /* "mem://name[/pfx]" */
} mem_store_t;

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static mem_space_t *spaces;

static void obj_free(mem_obj_t *o) {
    if (!o) return;
    free(o->key);
    free(o->data);
    free(o->content_type);
    store_meta_free(o->meta, o->nmeta);
    free(o);
}

/* Drops a reference taken under sp->mu; frees outside the lock. */
static void obj_unref(mem_space_t *sp, mem_obj_t *o) {
    pthread_mutex_lock(&sp->mu);
    bool last = --o->refs == 0;
    pthread_mutex_unlock(&sp->mu);
    if (last) obj_free(o);
}

static mem_space_t *space_acquire(const char *name) {
    pthread_mutex_lock(&reg_mu);
    mem_space_t *sp = spaces;
    while (sp && strcmp(sp->name, name))
        sp = sp->next;
    if (!sp && (sp = calloc(1, sizeof *sp))) {
        if (!(sp->name = strdup(name))) {
            free(sp);
            sp = NULL;
        } else {
            pthread_mutex_init(&sp->mu, NULL);
            sp->next = spaces;
            spaces = sp;
        }
    }
    if (sp) sp->refs++;
    pthread_mutex_unlock(&reg_mu);
    return sp;
}

static void space_release(mem_space_t *sp) {
    pthread_mutex_lock(&reg_mu);
    bool last = --sp->refs == 0;
    if (last) {
        mem_space_t **pp = &spaces;
        while (*pp != sp)
            pp = &(*pp)->next;
        *pp = sp->next;
    }
    pthread_mutex_unlock(&reg_mu);
    if (!last) return;
    for (size_t i = 0; i < sp->n; i++)
        obj_free(sp->objs[i]);
    free(sp->objs);
    pthread_mutex_destroy(&sp->mu);
    free(sp->name);
    free(sp);
}

/* First index whose key is >= key. */
static size_t lower_bound(const mem_space_t *sp, const char *key) {
    size_t lo = 0, hi = sp->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(sp->objs[mid]->key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First index whose key does not start with p (keys starting with p follow p). */
static size_t past_prefix(const mem_space_t *sp, const char *p) {
    size_t pl = strlen(p), lo = 0, hi = sp->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strncmp(sp->objs[mid]->key, p, pl) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static mem_obj_t *find(const mem_space_t *sp, const char *key) {
    size_t i = lower_bound(sp, key);
    return i < sp->n && !strcmp(sp->objs[i]->key, key) ? sp->objs[i] : NULL;
}

static char *full_key(const mem_store_t *st, const char *key) {
    size_t n = strlen(st->prefix) + strlen(key) + 1;
    char *k = malloc(n);
    if (k) snprintf(k, n, "%s%s", st->prefix, key);
    return k;
}

static char *mem_object_url(void *state, const char *key) {
    return store_join_url(((mem_store_t *)state)->base, key);
}

static int not_found(mem_store_t *st, const char *key) {
    char *u = mem_object_url(st, key);
    int rc = st_error(ST_ENOTFOUND, "%s: no such object", u ? u : key);
    free(u);
    return rc;
}

static int mem_open(const st_url_t *url, void **state, unsigned *caps) {
    if (url->nparams)
        return st_error(ST_EINVAL, "mem://%s: unknown parameter '%s'", url->host,
                        url->param_keys[0]);
    mem_store_t *st = calloc(1, sizeof *st);
    if (!st) return st_error(ST_ENOMEM, "out of memory");
    size_t pl = strlen(url->path);
    st->prefix = malloc(pl + 2);
    st->base = store_url_base(url);
    if (st->prefix) snprintf(st->prefix, pl + 2, "%s%s", url->path, pl ? "/" : "");
    if (!st->prefix || !st->base || !(st->sp = space_acquire(url->host))) {
        free(st->prefix);
        free(st->base);
        free(st);
        return st_error(ST_ENOMEM, "out of memory");
    }
    *state = st;
    *caps = ST_CAP_PUT_IF_ABSENT | ST_CAP_PUT_IF_MATCH;
    return ST_OK;
}

static void mem_close(void *state) {
    mem_store_t *st = state;
    space_release(st->sp);
    free(st->prefix);
    free(st->base);
    free(st);
}

static int fill_info(const mem_obj_t *o, st_object_info_t *info) {
    info->size = o->size;
    memcpy(info->etag, o->etag, sizeof o->etag);
    info->last_modified_us = o->mtime_us;
    snprintf(info->content_type, sizeof info->content_type, "%s", o->content_type);
    info->nmeta = 0;
    int rc = store_meta_copy(o->meta, o->nmeta, &info->meta);
    if (!rc) info->nmeta = o->nmeta;
    return rc;
}

/* The object with a reference taken, or NULL. */
static mem_obj_t *get_ref(mem_store_t *st, const char *key) {
    char *k = full_key(st, key);
    if (!k) return NULL;
    pthread_mutex_lock(&st->sp->mu);
    mem_obj_t *o = find(st->sp, k);
    if (o) o->refs++;
    pthread_mutex_unlock(&st->sp->mu);
    free(k);
    return o;
}

static int mem_get_range(void *state, const char *key, int64_t offset, uint64_t length, bool whole,
                         st_buf_t *out, st_object_info_t *info) {
    mem_store_t *st = state;
    mem_obj_t *o = get_ref(st, key);
    if (!o) return not_found(st, key);
    uint64_t start = 0, n = o->size;
    int rc = ST_OK;
    if (!whole) {
        if (offset < 0) {
            n = length < o->size ? length : o->size;
            start = o->size - n;
        } else if ((uint64_t)offset > o->size) {
            char *u = mem_object_url(st, key);
            rc = st_error(ST_EINVAL, "%s: range offset %lld is beyond the end (%zu bytes)",
                          u ? u : key, (long long)offset, o->size);
            free(u);
        } else {
            start = (uint64_t)offset;
            n = o->size - start < length ? o->size - start : length;
        }
    }
    if (!rc && n) rc = st_buf_append(out, o->data + start, (size_t)n);
    if (!rc && info) rc = fill_info(o, info);
    obj_unref(st->sp, o);
    return rc;
}

static int mem_head(void *state, const char *key, st_object_info_t *info) {
    mem_store_t *st = state;
    mem_obj_t *o = get_ref(st, key);
    if (!o) return not_found(st, key);
    int rc = fill_info(o, info);
    obj_unref(st->sp, o);
    return rc;
}

/* Publishes a new object, taking ownership of data (also on failure). */
static int commit_obj(mem_store_t *st, const char *key, uint8_t *data, size_t n,
                      const st_put_opts_t *opts, st_object_info_t *info) {
    mem_obj_t *o = calloc(1, sizeof *o);
    if (!o) {
        free(data);
        return st_error(ST_ENOMEM, "out of memory");
    }
    o->data = data;
    o->size = n;
    o->refs = 1;
    o->key = full_key(st, key);
    o->content_type = strdup(opts->content_type ? opts->content_type : STORE_DEFAULT_CONTENT_TYPE);
    int rc = store_meta_copy(opts->meta, opts->nmeta, &o->meta);
    if (!rc) o->nmeta = opts->nmeta > 0 ? opts->nmeta : 0;
    if (!rc && (!o->key || !o->content_type)) rc = st_error(ST_ENOMEM, "out of memory");
    if (rc) {
        obj_free(o);
        return rc;
    }
    st_sha256_hex(data ? (const void *)data : "", n, o->etag);
    o->mtime_us = st_now_us();
    if (info && (rc = fill_info(o, info))) {
        obj_free(o);
        return rc;
    }

    mem_space_t *sp = st->sp;
    mem_obj_t *old = NULL;
    pthread_mutex_lock(&sp->mu);
    size_t i = lower_bound(sp, o->key);
    bool exists = i < sp->n && !strcmp(sp->objs[i]->key, o->key);
    if (opts->mode == ST_PUT_IF_ABSENT && exists) {
        rc = ST_ECONFLICT;
    } else if (opts->mode == ST_PUT_IF_MATCH &&
               (!exists || strcmp(sp->objs[i]->etag, opts->if_match))) {
        rc = exists ? ST_ECONFLICT : ST_ENOTFOUND;
    } else if (exists) {
        old = sp->objs[i];
        sp->objs[i] = o;
    } else if (sp->n == sp->cap && !(sp->cap = sp->cap ? sp->cap * 2 : 64,
                                     sp->objs = realloc(sp->objs, sp->cap * sizeof *sp->objs))) {
        rc = ST_ENOMEM;
    } else {
        memmove(sp->objs + i + 1, sp->objs + i, (sp->n - i) * sizeof *sp->objs);
        sp->objs[i] = o;
        sp->n++;
    }
    if (old && --old->refs > 0) old = NULL;
    pthread_mutex_unlock(&sp->mu);
    obj_free(old);
    if (rc) {
        obj_free(o);
        if (info) st_object_info_free(info);
        char *u = mem_object_url(st, key);
        if (rc == ST_ECONFLICT)
            st_error(rc, "%s: %s", u ? u : key,
                     opts->mode == ST_PUT_IF_ABSENT ? "object already exists (if-absent put lost)"
                                                    : "ETag changed (if-match put lost)");
        else if (rc == ST_ENOTFOUND)
            st_error(rc, "%s: if-match put failed: the object does not exist", u ? u : key);
        else
            st_error(rc, "out of memory");
        free(u);
    }
    return rc;
}

static int mem_put(void *state, const char *key, const void *data, size_t n,
                   const st_put_opts_t *opts, st_object_info_t *info) {
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) return st_error(ST_ENOMEM, "out of memory");
    if (n) memcpy(copy, data, n);
    return commit_obj(state, key, copy, n, opts, info);
}

static int mem_del(void *state, const char *key) {
    mem_store_t *st = state;
    char *k = full_key(st, key);
    if (!k) return st_error(ST_ENOMEM, "out of memory");
    mem_space_t *sp = st->sp;
    pthread_mutex_lock(&sp->mu);
    size_t i = lower_bound(sp, k);
    mem_obj_t *o = NULL;
    if (i < sp->n && !strcmp(sp->objs[i]->key, k)) {
        o = sp->objs[i];
        memmove(sp->objs + i, sp->objs + i + 1, (sp->n - i - 1) * sizeof *sp->objs);
        sp->n--;
    }
    pthread_mutex_unlock(&sp->mu);
    free(k);
    if (!o) return not_found(st, key);
    obj_unref(sp, o);
    return ST_OK;
}

/* ---- listing ---- */

typedef struct mem_list {
    mem_space_t *sp; /* a reference of its own: the handle may close first */
    size_t strip;    /* length of the handle's prefix */
    char *prefix;    /* full */
    char *delim;
    char *resume; /* last key or common prefix handed out (full) */
    bool resume_is_prefix;
    bool done;
    store_list_page_t page; /* keys relative to the handle's prefix */
} mem_list_t;

static int fill_page(mem_list_t *l) {
    store_page_clear(&l->page);
    mem_space_t *sp = l->sp;
    size_t plen = strlen(l->prefix);
    int rc = ST_OK;
    pthread_mutex_lock(&sp->mu);
    size_t i;
    if (!l->resume)
        i = lower_bound(sp, l->prefix);
    else if (l->resume_is_prefix)
        i = past_prefix(sp, l->resume);
    else
        i = lower_bound(sp, l->resume) + (find(sp, l->resume) ? 1 : 0); /* first key > resume */
    bool end = false;
    while (l->page.n < STORE_LIST_PAGE && i < sp->n) {
        const mem_obj_t *o = sp->objs[i];
        if (strncmp(o->key, l->prefix, plen)) {
            end = true;
            break;
        }
        store_page_entry_t *e = store_page_slot(&l->page);
        const char *d = l->delim ? strstr(o->key + plen, l->delim) : NULL;
        size_t klen = d ? (size_t)(d - o->key) + strlen(l->delim) : strlen(o->key);
        char *full = strndup(o->key, klen);
        if (!full || !(e->key = strdup(full + l->strip))) {
            free(full);
            rc = st_error(ST_ENOMEM, "out of memory");
            break;
        }
        e->is_prefix = d != NULL;
        e->size = d ? 0 : o->size;
        e->mtime_us = d ? 0 : o->mtime_us;
        memcpy(e->etag, d ? "" : o->etag, d ? 1 : sizeof o->etag);
        l->page.n++;
        free(l->resume);
        l->resume = full;
        l->resume_is_prefix = d != NULL;
        i = d ? past_prefix(sp, full) : i + 1;
    }
    l->done = !rc && (end || i >= sp->n);
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

static int list_next(void *it, const st_list_entry_t **entry) {
    mem_list_t *l = it;
    if ((*entry = store_page_next(&l->page)) || l->done) return ST_OK;
    int rc = fill_page(l);
    if (!rc) *entry = store_page_next(&l->page);
    return rc;
}

static void list_close(void *it) {
    mem_list_t *l = it;
    store_page_clear(&l->page);
    space_release(l->sp);
    free(l->prefix);
    free(l->delim);
    free(l->resume);
    free(l);
}

static size_t list_buffered(void *it) {
    mem_list_t *l = it;
    return l->page.n;
}

static const st_list_page_ops_t mem_list_ops = {list_next, list_close, list_buffered};

static int mem_list(void *state, const char *prefix, const char *delimiter, void **it,
                    const st_list_page_ops_t **ops) {
    mem_store_t *st = state;
    mem_list_t *l = calloc(1, sizeof *l);
    if (!l) return st_error(ST_ENOMEM, "out of memory");
    l->prefix = full_key(st, prefix);
    l->delim = delimiter ? strdup(delimiter) : NULL;
    l->strip = strlen(st->prefix);
    if (!l->prefix || (delimiter && !l->delim)) {
        free(l->prefix);
        free(l->delim);
        free(l);
        return st_error(ST_ENOMEM, "out of memory");
    }
    l->sp = space_acquire(st->sp->name);
    if (!l->sp) {
        free(l->prefix);
        free(l->delim);
        free(l);
        return st_error(ST_ENOMEM, "out of memory");
    }
    *it = l;
    *ops = &mem_list_ops;
    return ST_OK;
}

/* ---- streaming writer: bytes gather in memory, commit publishes them ---- */

typedef struct mem_writer {
    mem_store_t *st;
    char *key;
    st_put_opts_t opts;
    char *if_match, *content_type;
    st_meta_pair_t *meta;
    st_buf_t buf;
} mem_writer_t;

static void writer_free(mem_writer_t *w) {
    free(w->key);
    free(w->if_match);
    free(w->content_type);
    store_meta_free(w->meta, w->opts.nmeta);
    st_buf_free(&w->buf);
    free(w);
}

static int writer_write(void *wp, const void *data, size_t n) {
    return st_buf_append(&((mem_writer_t *)wp)->buf, data, n);
}

static int writer_commit(void *wp, st_object_info_t *info) {
    mem_writer_t *w = wp;
    size_t n;
    uint8_t *data = st_buf_detach(&w->buf, &n);
    int rc = commit_obj(w->st, w->key, data, n, &w->opts, info);
    writer_free(w);
    return rc;
}

static void writer_abort(void *wp) { writer_free(wp); }

static const st_writer_ops_t mem_writer_ops = {writer_write, writer_commit, writer_abort};

static int mem_writer_open(void *state, const char *key, const st_put_opts_t *opts, void **wp,
                           const st_writer_ops_t **ops) {
    mem_writer_t *w = calloc(1, sizeof *w);
    if (!w) return st_error(ST_ENOMEM, "out of memory");
    w->st = state;
    w->opts = *opts;
    w->key = strdup(key);
    int rc = store_meta_copy(opts->meta, opts->nmeta, &w->meta);
    if (rc) w->opts.nmeta = 0;
    w->opts.meta = w->meta;
    if (opts->if_match) w->opts.if_match = w->if_match = strdup(opts->if_match);
    if (opts->content_type) w->opts.content_type = w->content_type = strdup(opts->content_type);
    if (rc || !w->key || (opts->if_match && !w->if_match) ||
        (opts->content_type && !w->content_type)) {
        writer_free(w);
        return st_error(ST_ENOMEM, "out of memory");
    }
    *wp = w;
    *ops = &mem_writer_ops;
    return ST_OK;
}

const st_store_backend_t st_store_mem_backend = {
    .scheme = "mem",
    .open = mem_open,
    .close = mem_close,
    .get_range = mem_get_range,
    .put = mem_put,
    .head = mem_head,
    .del = mem_del,
    .list = mem_list,
    .writer_open = mem_writer_open,
    .object_url = mem_object_url,
};
