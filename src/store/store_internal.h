/*
 * Private to the store layer: URL parsing and formatting (url.c), checks of
 * user metadata shared by every backend, and the local-file helpers the file
 * backend is split into (file.c, file_side.c, file_list.c).
 */
#ifndef STRATA_STORE_INTERNAL_H
#define STRATA_STORE_INTERNAL_H

#include "store/backend.h"

/* Parses a store URL or a plain path (made absolute) into out (zeroed first;
 * free with store_url_free, also after a failure). ST_EINVAL with a message
 * naming the rule that was broken. */
int store_url_parse(const char *text, st_url_t *out);
void store_url_free(st_url_t *u);
/* The normalised text form: reopening it gives the same store. malloc'd. */
char *store_url_format(const st_url_t *u);
/* The URL without its query ("s3://b/p"), for object URLs in messages. */
char *store_url_base(const st_url_t *u);
/* base + "/" + key, for messages (malloc'd; NULL only when out of memory). */
char *store_join_url(const char *base, const char *key);

/* Default content type of an object stored without one. */
#define STORE_DEFAULT_CONTENT_TYPE "application/octet-stream"
/* Largest user metadata, keys and values together (S3 allows 2 KiB). */
#define STORE_META_MAX 2048

/* Deep copies of metadata pairs (for backends that keep them). */
int store_meta_copy(const st_meta_pair_t *src, int n, st_meta_pair_t **out);
void store_meta_free(st_meta_pair_t *meta, int n);

/* One page of a backend's listing, filled by the backend and handed out one
 * entry at a time (file:// and mem:// listings). */
#define STORE_LIST_PAGE 1000

typedef struct store_page_entry {
    char *key;
    bool is_prefix;
    uint64_t size;
    int64_t mtime_us;
    char etag[sizeof(((st_object_info_t *)0)->etag)];
} store_page_entry_t;

typedef struct store_list_page {
    store_page_entry_t e[STORE_LIST_PAGE];
    size_t n, pos;
    st_list_entry_t cur;
} store_list_page_t;

/* Frees the keys of the page and empties it. */
void store_page_clear(store_list_page_t *p);
/* The next slot to fill (zeroed), or NULL when the page is full. */
store_page_entry_t *store_page_slot(store_list_page_t *p);
/* The next entry to hand out, or NULL when every entry was. */
const st_list_entry_t *store_page_next(store_list_page_t *p);

#endif
