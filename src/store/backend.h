/*
 * The store backend interface: each backend (file, mem, s3) is a struct of
 * function pointers, like sqlite3_vfs. store.c validates keys and arguments,
 * then calls the backend; backends may assume keys are valid and opts non-NULL.
 * Backends report errors with st_error() naming the object's URL.
 */
#ifndef STRATA_STORE_BACKEND_H
#define STRATA_STORE_BACKEND_H

#include "strata/store.h"

typedef struct st_store_backend st_store_backend_t;

/* A parsed store URL. */
typedef struct st_url {
    char *scheme;  /* "file", "mem", "s3" */
    char *host;    /* bucket (s3), name (mem), "" (file) */
    char *path;    /* file: absolute directory; s3: prefix without leading/trailing '/' */
    int nparams;
    char **param_keys; /* query parameters, percent-decoded */
    char **param_values;
} st_url_t;

const char *st_url_param(const st_url_t *u, const char *key); /* NULL if absent */

/* Backend-side list iterator: fills up to one page at a time. */
typedef struct st_list_page_ops {
    /* Produces the next entry or sets *entry NULL at the end. */
    int (*next)(void *it, const st_list_entry_t **entry);
    void (*close)(void *it);
    /* Optional: entries the iterator holds in memory right now (tests check
     * the one-page bound with it). NULL when not observable. */
    size_t (*buffered)(void *it);
} st_list_page_ops_t;

/* st_list_page_ops_t.buffered of a public iterator, SIZE_MAX if unknown. */
size_t st_list_iter_buffered(const st_list_iter_t *it);

typedef struct st_writer_ops {
    int (*write)(void *w, const void *data, size_t n);
    int (*commit)(void *w, st_object_info_t *info); /* frees w */
    void (*abort)(void *w);                         /* frees w */
} st_writer_ops_t;

/* get_range: whole = true reads the entire object (offset, length ignored);
 * else offset >= 0 reads [offset, offset + length) cut at the end (ST_EINVAL
 * when offset > size), offset < 0 the last `length` bytes; length > 0 (the
 * front end answers length 0 itself). info (may be NULL) receives the
 * object's metadata as head gives it, with size = the whole object's size even
 * for a range. On failure nothing is appended to out.
 * put / writer_open: opts are checked (mode, ETag without quotes, content
 * type, metadata); the backend copies whatever of them it keeps. An if-match
 * put on a missing object may report ST_ENOTFOUND: the front end turns that
 * into ST_ECONFLICT. */
struct st_store_backend {
    const char *scheme;
    int (*open)(const st_url_t *url, void **state, unsigned *caps);
    void (*close)(void *state);
    int (*get_range)(void *state, const char *key, int64_t offset, uint64_t length, bool whole,
                     st_buf_t *out, st_object_info_t *info);
    int (*put)(void *state, const char *key, const void *data, size_t n, const st_put_opts_t *opts,
               st_object_info_t *info);
    int (*head)(void *state, const char *key, st_object_info_t *info);
    int (*del)(void *state, const char *key);
    int (*list)(void *state, const char *prefix, const char *delimiter, void **it,
                const st_list_page_ops_t **ops);
    int (*writer_open)(void *state, const char *key, const st_put_opts_t *opts, void **w,
                       const st_writer_ops_t **ops);
    /* Full URL of an object, for messages (malloc'd). */
    char *(*object_url)(void *state, const char *key);
};

extern const st_store_backend_t st_store_file_backend;
extern const st_store_backend_t st_store_mem_backend;
extern const st_store_backend_t st_store_s3_backend;

#endif
