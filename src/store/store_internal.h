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

#endif
