/*
 * strata stores: where bytes live. A store is opened from a URL and addresses
 * objects by key; the same code runs on a laptop disk and on S3-compatible
 * object storage.
 *
 *   file:///abs/path  or a plain path     local directory (atomic, crash-safe puts)
 *   mem://name                            process-local memory (tests, scratch)
 *   s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=1
 *                                         S3-compatible (AWS, Ceph radosgw, MinIO)
 *
 * S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN, else from the AWS_PROFILE (default "default") profile of
 * ~/.aws/credentials (or AWS_SHARED_CREDENTIALS_FILE); the region from the URL,
 * AWS_REGION or AWS_DEFAULT_REGION (default us-east-1). URL query options:
 * endpoint, region, path_style=0|1, profile, timeout_ms, retries,
 * part_size (bytes, multipart parts, default 8 MiB).
 *
 * file:// stores keep each object as a plain file under the directory (created
 * by the first put) and its ETag (the SHA-256 of the content), content type and
 * metadata in the extended attribute user.strata, or in a hidden sidecar file
 * where the file system has no user attributes (or with ?xattr=0).
 * mem:// stores are shared by name within the process and live while a handle
 * (or a list iterator) on them is open.
 *
 * Keys are relative to the store's root, '/'-separated, and validated by
 * st_key_validate() before any I/O (no "..", no absolute keys, no empty
 * segments, no control characters, at most ST_KEY_MAX bytes): ST_EINVAL.
 *
 * Errors: ST_ENOTFOUND (no such object), ST_ECONFLICT (a conditional put lost:
 * the object exists / the ETag changed), ST_EAUTH (credentials refused),
 * ST_EIO (network or disk), each with a message naming the URL of the object
 * and the cause ("s3://bkt/a/v2.parquet: 412 precondition failed").
 *
 * Thread safety: a store handle may be used from several threads at once;
 * iterators and writers belong to one thread.
 */
#ifndef STRATA_STORE_H
#define STRATA_STORE_H

#include "strata/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct st_store st_store_t;

/* What a store can promise. Layers that commit by conditional writes (records,
 * the lake) call st_store_require() and refuse stores that cannot; a
 * conditional put on a store without the capability fails with
 * ST_EUNSUPPORTED rather than silently overwriting. */
enum {
    ST_CAP_PUT_IF_ABSENT = 1 << 0, /* create-only put that two writers cannot both win */
    ST_CAP_PUT_IF_MATCH = 1 << 1   /* replace only if the ETag is unchanged */
};

/* Opens a store from a URL (see above). For s3 URLs the endpoint is probed once
 * for real conditional-put semantics and st_store_caps() reports the result. */
int st_store_open(const char *url, st_store_t **out);
/* Opens the store holding the object `url` names and returns that object's key
 * (malloc'd; caller frees): "file:///d/x.parquet" -> store file:///d, key
 * "x.parquet"; "s3://b/p/k" -> store s3://b/p, key "k". */
int st_store_open_object(const char *url, st_store_t **store, char **key);
void st_store_close(st_store_t *s);

/* The URL the store was opened with (normalised), and an object's full URL
 * (malloc'd) for messages. */
const char *st_store_url(const st_store_t *s);
char *st_store_object_url(const st_store_t *s, const char *key);

unsigned st_store_caps(const st_store_t *s);
/* ST_EUNSUPPORTED, naming the store and `purpose`, unless every bit of caps is
 * present. */
int st_store_require(const st_store_t *s, unsigned caps, const char *purpose);

/* User metadata: small string pairs stored with an object (S3 x-amz-meta-*).
 * Keys are lowercase letters, digits and '-'; at most 2 KiB in all. */
typedef struct st_meta_pair {
    char *key;
    char *value;
} st_meta_pair_t;

typedef struct st_object_info {
    uint64_t size;
    char etag[130];          /* opaque, quotes stripped */
    int64_t last_modified_us; /* Unix epoch microseconds */
    char content_type[128];
    st_meta_pair_t *meta;    /* owned; st_object_info_free() */
    int nmeta;
} st_object_info_t;

void st_object_info_free(st_object_info_t *info);

typedef enum st_put_mode {
    ST_PUT_PLAIN = 0,   /* create or replace */
    ST_PUT_IF_ABSENT,   /* create only: ST_ECONFLICT if the key exists */
    ST_PUT_IF_MATCH     /* replace only if the current ETag equals if_match */
} st_put_mode_t;

typedef struct st_put_opts {
    st_put_mode_t mode;
    const char *if_match;       /* ETag for ST_PUT_IF_MATCH */
    const char *content_type;   /* default application/octet-stream */
    const st_meta_pair_t *meta; /* user metadata to store */
    int nmeta;
    /* The object is a cache that can be rebuilt (a snapshot derived from a
     * log): file:// skips the fsyncs, so a crash may lose the new version
     * (the old one or the new one stays whole: the publish is still atomic).
     * Other stores ignore it. */
    bool no_sync;
} st_put_opts_t;

/* Whole object, appended to out. info (optional) receives size, ETag, ... */
int st_store_get(st_store_t *s, const char *key, st_buf_t *out, st_object_info_t *info);
/* Bytes [offset, offset + length) appended to out; a range running past the end
 * is cut at the end. offset < 0 asks for the last `length` bytes (suffix range;
 * the whole object when it is shorter). ST_EINVAL for an offset beyond the end. */
int st_store_get_range(st_store_t *s, const char *key, int64_t offset, uint64_t length,
                       st_buf_t *out);
/* st_store_get_range that also fills info (optional) as st_store_head would,
 * in the same request where the backend can: info->size is the size of the
 * whole object, not of the range. */
int st_store_get_range_info(st_store_t *s, const char *key, int64_t offset, uint64_t length,
                            st_buf_t *out, st_object_info_t *info);
/* Stores data[0..n) under key, atomically: readers see the old object or the
 * new one, never a part. opts may be NULL (plain put). info (optional) receives
 * the new ETag and size. */
int st_store_put(st_store_t *s, const char *key, const void *data, size_t n,
                 const st_put_opts_t *opts, st_object_info_t *info);
int st_store_head(st_store_t *s, const char *key, st_object_info_t *info);
/* Removes an object; ST_ENOTFOUND if there was none. */
int st_store_delete(st_store_t *s, const char *key);

/* Listing: keys under `prefix` (a plain string prefix, "" for all) in
 * lexicographic byte order. With a delimiter (usually "/"), keys containing it
 * after the prefix are rolled up into one common-prefix entry (is_prefix) each,
 * as S3 does. The iterator holds at most one page of entries in memory. */
typedef struct st_list_entry {
    const char *key; /* relative to the store root; valid until the next call */
    bool is_prefix;
    uint64_t size;
    const char *etag;
    int64_t last_modified_us;
} st_list_entry_t;

typedef struct st_list_iter st_list_iter_t;

int st_store_list(st_store_t *s, const char *prefix, const char *delimiter, st_list_iter_t **out);
/* *entry = NULL at the end. */
int st_list_next(st_list_iter_t *it, const st_list_entry_t **entry);
void st_list_close(st_list_iter_t *it);

/* Streaming writer for large objects (S3: multipart upload above the part size,
 * several parts in flight). Nothing is visible until commit; abort (or a failed
 * commit) leaves no object and no partial upload behind. */
typedef struct st_store_writer st_store_writer_t;

int st_store_writer_open(st_store_t *s, const char *key, const st_put_opts_t *opts,
                         st_store_writer_t **out);
int st_store_writer_write(st_store_writer_t *w, const void *data, size_t n);
/* Publishes the object and frees w (also on failure). */
int st_store_writer_commit(st_store_writer_t *w, st_object_info_t *info);
void st_store_writer_abort(st_store_writer_t *w);

#ifdef __cplusplus
}
#endif
#endif
