/*
 * Private to the file backend (file.c: objects and commits, file_side.c:
 * sidecars and ETags, file_list.c: listing).
 *
 * On disk, key "a/b/c" of a store rooted at /r is the plain file /r/a/b/c, so
 * any tool can read what strata writes. What strata knows about it (ETag,
 * content type, user metadata: a "record", JSON) lives in the extended
 * attribute user.strata of the file itself where the file system has them:
 * set before the rename that publishes the file, it appears and disappears
 * atomically with the content. Elsewhere (or with ?xattr=0 in the URL) records
 * live in a sidecar beside the file. Hidden files have names containing a
 * backslash, a character keys may never hold, so no key can collide with them
 * and listings skip them by the same rule that skips any name that is not a
 * valid key:
 *
 *   .c\meta        sidecar (JSON records)
 *   .c\tmp-<hex>   content being written (renamed over c on commit)
 *   .c\side-<hex>  sidecar being written
 *
 * Names too long to decorate are replaced by their SHA-256 ("\h<hex>").
 *
 * A record names the file version it describes (inode, size, mtime), so one
 * left stale by another program rewriting the file in place is ignored. The
 * sidecar holds the record of the current file and, while a put is committing,
 * the record of the file about to replace it, so a crash between the sidecar's
 * rename and the content's rename leaves a sidecar that still describes
 * whichever file is in place. A file no record describes (written by another
 * tool) gets its ETag from its content and the default content type: never a
 * wrong ETag.
 *
 * Writers to one directory serialise their commits with flock() on the
 * directory itself; readers take no lock (every change is a rename).
 */
#ifndef STRATA_FILE_INTERNAL_H
#define STRATA_FILE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "store/store_internal.h"

#define FS_ETAG_CACHE 64

typedef struct fs_etag_slot {
    uint64_t dev, ino, size;
    int64_t mtime_ns;
    char etag[ST_SHA256_HEX_LEN + 1];
} fs_etag_slot_t;

typedef struct fstore {
    char *root; /* absolute, no trailing '/'; "" for the file system root */
    /* Records go to extended attributes until the file system refuses one
     * (then to sidecars); false from the start with ?xattr=0. Written
     * without a lock: the worst a race does is one more refused attempt. */
    atomic_bool use_xattr;
    char *base; /* "file:///root" */
    /* ETags computed from content, so that listing or reading a file that has
     * no sidecar hashes it once per process rather than on every call. */
    pthread_mutex_t mu;
    fs_etag_slot_t cache[FS_ETAG_CACHE];
} fstore_t;

/* One sidecar record: what strata knows about one version of the file. */
typedef struct fs_rec {
    uint64_t ino, size;
    int64_t mtime_ns;
    char etag[ST_SHA256_HEX_LEN + 1];
    char *content_type;
    st_meta_pair_t *meta;
    int nmeta;
} fs_rec_t;

#define FS_MAX_RECS 2
#define FS_XATTR_NAME "user.strata"

/* Paths of an object: the directory, the file name and the full path. */
typedef struct fs_paths {
    char *dir;  /* root + "/" + dirname(key), or root */
    char *name; /* last segment */
    char *path; /* dir + "/" + name */
    char *side; /* dir + "/" + hidden(name, "meta") */
} fs_paths_t;

int fs_paths(const fstore_t *fs, const char *key, fs_paths_t *p);
void fs_paths_free(fs_paths_t *p);
/* A hidden file name for `name`: "." + name (or "\h" + its hash) + "\" + tag. */
int fs_hidden(const char *dir, const char *name, const char *tag, char **out);

char *fs_object_url(void *state, const char *key);
/* Maps errno to a status with a message naming the object. */
int fs_errno(const fstore_t *fs, const char *key, int err, const char *what);

/* Sidecar records (file_side.c). A missing or unreadable sidecar gives 0. */
int fs_side_read(const char *side, fs_rec_t *recs, int *nrec);
/* Atomically replaces the sidecar (temporary file, fsync, rename). */
int fs_side_write(const char *dir, const char *name, const fs_rec_t *recs, int nrec);
void fs_recs_free(fs_rec_t *recs, int nrec);
/* The record in the open file's extended attribute, if there is one that
 * describes the file as it is (sb). */
bool fs_xattr_read(int fd, const struct stat *sb, fs_rec_t *r);
/* Sets the record on an open file: 0 done, 1 refused (too large, ...),
 * 2 the file system has no user attributes, negative when out of memory. */
int fs_xattr_write(int fd, const fs_rec_t *r);
/* The record describing the open file: its attribute, else its sidecar. */
bool fs_lookup_rec(int fd, const struct stat *sb, const char *side, fs_rec_t *out);
int64_t fs_mtime_ns(const struct stat *sb);
bool fs_rec_matches(const fs_rec_t *r, const struct stat *sb);

/* Fills info for the open file fd (fstat'ed as sb) from its record; the ETag
 * of a file no record describes is hashed from fd (or from `whole`, the
 * entire content, when the caller has it). A reader can lose a race with a
 * writer that replaced the object (and its sidecar) meanwhile; then `path`
 * names another file and the answer is FS_RETRY: read again. */
int fs_fill_info(fstore_t *fs, const char *key, int fd, const struct stat *sb, const char *path,
                 const char *side, const uint8_t *whole, st_object_info_t *info);
#define FS_RETRY 1
#define FS_READ_ATTEMPTS 16
/* ST_ECONFLICT for a reader that kept losing that race. */
int fs_busy(const fstore_t *fs, const char *key);
/* Opens the object's file for reading: ST_ENOTFOUND for a directory too. */
int fs_open_object(fstore_t *fs, const char *key, const fs_paths_t *p, int *fd, struct stat *sb);
/* The current ETag of the open file fd only. */
int fs_current_etag(fstore_t *fs, const char *key, int fd, const struct stat *sb, const char *side,
                    char etag[ST_SHA256_HEX_LEN + 1]);

/* Listing (file_list.c). */
int fs_list(void *state, const char *prefix, const char *delimiter, void **it,
            const st_list_page_ops_t **ops);

/* fsync of a directory, tolerating file systems that refuse it. */
int fs_sync_dir_fd(int dfd, const char *dir);

#endif
