/*
 * file:// stores: objects are plain files under a root directory (layout and
 * sidecars in file_internal.h).
 *
 * Every put streams into a hidden temporary file in the object's directory,
 * fsyncs it, and publishes it with one rename (plain, if-match) or link
 * (if-absent), followed by an fsync of the directory, so a crash at any point
 * leaves the old object or the new one. link() fails with EEXIST when the name
 * exists, so two processes racing to create a key cannot both win even if one
 * of them ignores strata's lock; the directory lock serialises the sidecar
 * update with the rename and makes if-match a real compare-and-swap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "store/file_internal.h"

#define FS_WRITE_BUF (1u << 20)

char *fs_object_url(void *state, const char *key) {
    return store_join_url(((fstore_t *)state)->base, key);
}

int fs_errno(const fstore_t *fs, const char *key, int err, const char *what) {
    char *u = fs_object_url((void *)fs, key);
    const char *name = u ? u : key;
    int rc;
    switch (err) {
    case ENOENT:
    case ENOTDIR: rc = st_error(ST_ENOTFOUND, "%s: no such object", name); break;
    case ENAMETOOLONG:
        rc = st_error(ST_EINVAL,
                      "%s: a key segment is too long for a file store (at most 255 bytes)", name);
        break;
    case EACCES:
    case EPERM: rc = st_error(ST_EAUTH, "%s: %s: permission denied", name, what); break;
    case ENOMEM: rc = st_error(ST_ENOMEM, "%s: %s: out of memory", name, what); break;
    default: rc = st_error(ST_EIO, "%s: %s: %s", name, what, strerror(err)); break;
    }
    free(u);
    return rc;
}

void fs_paths_free(fs_paths_t *p) {
    free(p->dir);
    free(p->name);
    free(p->path);
    free(p->side);
    memset(p, 0, sizeof *p);
}

int fs_paths(const fstore_t *fs, const char *key, fs_paths_t *p) {
    memset(p, 0, sizeof *p);
    const char *slash = strrchr(key, '/');
    size_t rl = strlen(fs->root);
    size_t dl = slash ? (size_t)(slash - key) : 0;
    p->dir = malloc(rl + dl + 2);
    p->name = strdup(slash ? slash + 1 : key);
    p->path = malloc(rl + strlen(key) + 2);
    if (!p->dir || !p->name || !p->path) {
        fs_paths_free(p);
        return st_error(ST_ENOMEM, "out of memory");
    }
    if (slash)
        snprintf(p->dir, rl + dl + 2, "%s/%.*s", fs->root, (int)dl, key);
    else
        snprintf(p->dir, rl + 2, "%s", rl ? fs->root : "/");
    snprintf(p->path, rl + strlen(key) + 2, "%s/%s", fs->root, key);
    int rc = fs_hidden(slash ? p->dir : fs->root, p->name, "meta", &p->side);
    if (rc) fs_paths_free(p);
    return rc;
}

int fs_sync_dir_fd(int dfd, const char *dir) {
    /* Some file systems refuse fsync on directories; the rename is done anyway. */
    if (fsync(dfd) != 0 && errno != EINVAL && errno != EBADF && errno != EROFS)
        return st_error(ST_EIO, "%s: directory fsync failed: %s", dir, strerror(errno));
    return ST_OK;
}

static int sync_dir(const char *dir) {
    int dfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return st_error(ST_EIO, "%s: cannot open directory: %s", dir, strerror(errno));
    int rc = fs_sync_dir_fd(dfd, dir);
    close(dfd);
    return rc;
}

/* mkdir -p, fsyncing the parent of each directory it creates so that the new
 * directory entry is as durable as the object put into it. */
static int mkdir_p(const fstore_t *fs, const char *key, const char *dir) {
    char *p = strdup(dir);
    if (!p) return st_error(ST_ENOMEM, "out of memory");
    int rc = ST_OK;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0') continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0777) == 0) {
            char *slash = strrchr(p, '/');
            char keep = slash[1];
            slash[1] = '\0';
            int r = sync_dir(p);
            slash[1] = keep;
            if (r) {
                rc = r;
                break;
            }
        } else if (errno != EEXIST) {
            int e = errno;
            rc = e == ENOTDIR || e == EEXIST
                     ? st_error(
                           ST_EUNSUPPORTED,
                           "%s: a file store cannot hold a key below another key (%s is a file)",
                           dir, p)
                     : fs_errno(fs, key, e, "cannot create directory");
            break;
        } else {
            struct stat sb;
            if (stat(p, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
                char *u = fs_object_url((void *)fs, key);
                rc = st_error(ST_EUNSUPPORTED,
                              "%s: a file store cannot hold a key below another key (%s is a file)",
                              u ? u : key, p);
                free(u);
                break;
            }
        }
        *s = c;
        if (!c) break;
    }
    free(p);
    return rc;
}

static int fs_open(const st_url_t *url, void **state, unsigned *caps) {
    bool use_xattr = true;
    for (int i = 0; i < url->nparams; i++) {
        const char *k = url->param_keys[i], *v = url->param_values[i];
        if (strcmp(k, "xattr"))
            return st_error(ST_EINVAL, "file://%s: unknown parameter '%s' (known: xattr=0|1)",
                            url->path, k);
        if (strcmp(v, "0") && strcmp(v, "1"))
            return st_error(ST_EINVAL, "file://%s: xattr must be 0 or 1, not '%s'", url->path, v);
        use_xattr = v[0] == '1';
    }
    struct stat sb;
    /* A missing directory is fine: the first put creates it. */
    if (stat(url->path, &sb) == 0 && !S_ISDIR(sb.st_mode))
        return st_error(ST_EINVAL, "file://%s: not a directory", url->path);
    if (stat(url->path, &sb) != 0 && errno != ENOENT)
        return st_error(errno == EACCES ? ST_EAUTH : ST_EIO, "file://%s: %s", url->path,
                        strerror(errno));
    fstore_t *fs = calloc(1, sizeof *fs);
    if (!fs) return st_error(ST_ENOMEM, "out of memory");
    fs->root = strdup(strcmp(url->path, "/") ? url->path : "");
    fs->base = store_url_base(url);
    if (!fs->root || !fs->base) {
        free(fs->root);
        free(fs->base);
        free(fs);
        return st_error(ST_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&fs->mu, NULL);
    fs->use_xattr = use_xattr;
    *state = fs;
    *caps = ST_CAP_PUT_IF_ABSENT | ST_CAP_PUT_IF_MATCH;
    return ST_OK;
}

static void fs_close(void *state) {
    fstore_t *fs = state;
    pthread_mutex_destroy(&fs->mu);
    free(fs->root);
    free(fs->base);
    free(fs);
}

/* Opens the object's file for reading: ST_ENOTFOUND for a directory too. */
int fs_open_object(fstore_t *fs, const char *key, const fs_paths_t *p, int *fd, struct stat *sb) {
    *fd = open(p->path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) return fs_errno(fs, key, errno, "open");
    if (fstat(*fd, sb) != 0) {
        int e = errno;
        close(*fd);
        return fs_errno(fs, key, e, "stat");
    }
    if (!S_ISREG(sb->st_mode)) {
        close(*fd);
        return fs_errno(fs, key, ENOENT, "open");
    }
    return ST_OK;
}

static int pread_all(fstore_t *fs, const char *key, int fd, uint8_t *buf, size_t n, uint64_t off) {
    while (n > 0) {
        ssize_t got = pread(fd, buf, n, (off_t)off);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fs_errno(fs, key, errno, "read");
        if (got == 0) {
            char *u = fs_object_url(fs, key);
            int rc = st_error(ST_EIO, "%s: the file shrank while it was read", u ? u : key);
            free(u);
            return rc;
        }
        buf += got;
        n -= (size_t)got;
        off += (uint64_t)got;
    }
    return ST_OK;
}

/* One attempt at a read; FS_RETRY when the object was replaced under it
 * (see fs_fill_info). */
static int get_once(fstore_t *fs, const char *key, const fs_paths_t *p, int64_t offset,
                    uint64_t length, bool whole, st_buf_t *out, st_object_info_t *info) {
    int fd;
    struct stat sb;
    int rc = fs_open_object(fs, key, p, &fd, &sb);
    if (rc) return rc;
    uint64_t size = (uint64_t)sb.st_size, start = 0, n = size;
    if (!whole) {
        if (offset < 0) {
            n = length < size ? length : size;
            start = size - n;
        } else if ((uint64_t)offset > size) {
            char *u = fs_object_url(fs, key);
            rc = st_error(ST_EINVAL, "%s: range offset %lld is beyond the end (%llu bytes)",
                          u ? u : key, (long long)offset, (unsigned long long)size);
            free(u);
        } else {
            start = (uint64_t)offset;
            n = size - start < length ? size - start : length;
        }
    }
    size_t len0 = out->len;
    if (!rc && n > SIZE_MAX - 1) rc = st_error(ST_ENOMEM, "range too large for memory");
    if (!rc && n && !(rc = st_buf_reserve(out, (size_t)n))) {
        rc = pread_all(fs, key, fd, out->data + out->len, (size_t)n, start);
        if (!rc) out->len += (size_t)n;
    }
    if (!rc && info)
        rc = fs_fill_info(fs, key, fd, &sb, p->path, p->side,
                          whole && n == size ? out->data + len0 : NULL, info);
    if (rc) out->len = len0;
    close(fd);
    return rc;
}

static int fs_get_range(void *state, const char *key, int64_t offset, uint64_t length, bool whole,
                        st_buf_t *out, st_object_info_t *info) {
    fstore_t *fs = state;
    fs_paths_t p;
    int rc = fs_paths(fs, key, &p);
    for (int attempt = 0; !rc && attempt < FS_READ_ATTEMPTS; attempt++)
        if ((rc = get_once(fs, key, &p, offset, length, whole, out, info)) != FS_RETRY) break;
    fs_paths_free(&p);
    return rc == FS_RETRY ? fs_busy(fs, key) : rc;
}

static int fs_head(void *state, const char *key, st_object_info_t *info) {
    fstore_t *fs = state;
    fs_paths_t p;
    int rc = fs_paths(fs, key, &p);
    for (int attempt = 0; !rc && attempt < FS_READ_ATTEMPTS; attempt++) {
        int fd;
        struct stat sb;
        if ((rc = fs_open_object(fs, key, &p, &fd, &sb))) break;
        rc = fs_fill_info(fs, key, fd, &sb, p.path, p.side, NULL, info);
        close(fd);
        if (rc != FS_RETRY) break;
    }
    fs_paths_free(&p);
    return rc == FS_RETRY ? fs_busy(fs, key) : rc;
}

int fs_busy(const fstore_t *fs, const char *key) {
    char *u = fs_object_url((void *)fs, key);
    int rc =
        st_error(ST_ECONFLICT, "%s: replaced too often while being read; try again", u ? u : key);
    free(u);
    return rc;
}

/* Removes directories emptied by a delete, up to (not including) the root.
 * A concurrent put first creates its temporary file in the directory, so
 * rmdir fails rather than pulling the directory from under it. */
static void prune_dirs(const fstore_t *fs, char *dir) {
    size_t rl = strlen(fs->root);
    while (strlen(dir) > rl + 1) {
        if (rmdir(dir) != 0) return;
        char *slash = strrchr(dir, '/');
        if (!slash) return;
        *slash = '\0';
    }
}

static int lock_dir(const fstore_t *fs, const char *key, const char *dir, int *dfd) {
    *dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*dfd < 0) return fs_errno(fs, key, errno, "open directory");
    while (flock(*dfd, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        int e = errno;
        close(*dfd);
        *dfd = -1;
        return fs_errno(fs, key, e, "lock directory");
    }
    return ST_OK;
}

static void unlock_dir(int dfd) {
    if (dfd < 0) return;
    flock(dfd, LOCK_UN);
    close(dfd);
}

static int fs_del(void *state, const char *key) {
    fstore_t *fs = state;
    fs_paths_t p;
    int rc = fs_paths(fs, key, &p);
    if (rc) return rc;
    int dfd;
    if (!(rc = lock_dir(fs, key, p.dir, &dfd))) {
        struct stat sb;
        if (lstat(p.path, &sb) != 0)
            rc = fs_errno(fs, key, errno, "delete");
        else if (S_ISDIR(sb.st_mode))
            rc = fs_errno(fs, key, ENOENT, "delete");
        else if (unlink(p.path) != 0)
            rc = fs_errno(fs, key, errno, "delete");
        if (!rc) {
            unlink(p.side);
            rc = fs_sync_dir_fd(dfd, p.dir);
        }
        unlock_dir(dfd);
    }
    if (!rc) prune_dirs(fs, p.dir);
    fs_paths_free(&p);
    return rc;
}

/* ---- writer: every put goes through it ---- */

typedef struct fwriter {
    fstore_t *fs;
    char *key;
    fs_paths_t p;
    char *tmp;
    int fd;
    st_sha256_ctx_t *sha;
    uint64_t size;
    uint8_t *buf;
    size_t len;
    int failed; /* status of a failed write: commit refuses */
    st_put_mode_t mode;
    char *if_match;
    fs_rec_t rec;    /* content type and metadata of the new object */
    bool xattr_done; /* rec is set on the temporary file */
    bool no_sync;    /* st_put_opts_t.no_sync */
} fwriter_t;

static void writer_free(fwriter_t *w) {
    if (w->fd >= 0) close(w->fd);
    if (w->tmp) {
        /* Nothing was published: the directories made for the temporary file
         * go too, so a failed write leaves the tree as it was. */
        unlink(w->tmp);
        if (w->p.dir) prune_dirs(w->fs, w->p.dir);
    }
    if (w->sha) {
        uint8_t d[ST_SHA256_LEN];
        st_sha256_end(w->sha, d);
    }
    free(w->tmp);
    free(w->key);
    free(w->buf);
    free(w->if_match);
    fs_recs_free(&w->rec, 1);
    fs_paths_free(&w->p);
    free(w);
}

static int flush_fd(fwriter_t *w, const uint8_t *data, size_t n) {
    while (n > 0) {
        ssize_t got = write(w->fd, data, n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return w->failed = fs_errno(w->fs, w->key, errno, "write");
        data += got;
        n -= (size_t)got;
    }
    return ST_OK;
}

static int writer_write(void *wp, const void *data, size_t n) {
    fwriter_t *w = wp;
    if (w->failed) return st_error(w->failed, "%s: write after a failed write", w->key);
    st_sha256_update(w->sha, data, n);
    w->size += n;
    if (w->len + n <= FS_WRITE_BUF) {
        memcpy(w->buf + w->len, data, n);
        w->len += n;
        return ST_OK;
    }
    int rc = flush_fd(w, w->buf, w->len);
    w->len = 0;
    if (rc) return rc;
    if (n >= FS_WRITE_BUF / 2) return flush_fd(w, data, n);
    memcpy(w->buf, data, n);
    w->len = n;
    return ST_OK;
}

static int conflict(fwriter_t *w, const char *why) {
    char *u = fs_object_url(w->fs, w->key);
    int rc = st_error(ST_ECONFLICT, "%s: %s", u ? u : w->key, why);
    free(u);
    return rc;
}

/* The commit, under the directory lock: check the condition against the
 * current file, record the new version in the sidecar (keeping the current
 * one's record), then publish. */
static int publish(fwriter_t *w, const struct stat *nsb) {
    fstore_t *fs = w->fs;
    struct stat csb;
    int cfd = open(w->p.path, O_RDONLY | O_CLOEXEC);
    bool exists = cfd >= 0 && fstat(cfd, &csb) == 0;
    int rc = ST_OK;
    if (cfd < 0 && errno != ENOENT)
        rc = fs_errno(fs, w->key, errno, "open");
    else if (exists && S_ISDIR(csb.st_mode))
        rc = st_error(ST_EUNSUPPORTED,
                      "%s: a file store cannot hold a key above another key (%s is a directory)",
                      w->key, w->p.path);
    else if (w->mode == ST_PUT_IF_ABSENT && exists)
        rc = conflict(w, "object already exists (if-absent put lost)");
    else if (w->mode == ST_PUT_IF_MATCH && !exists)
        rc = conflict(w, "if-match put failed: the object does not exist");
    else if (w->mode == ST_PUT_IF_MATCH) {
        char cur[ST_SHA256_HEX_LEN + 1];
        rc = fs_current_etag(fs, w->key, cfd, &csb, w->p.side, cur);
        if (!rc && strcmp(cur, w->if_match)) rc = conflict(w, "ETag changed (if-match put lost)");
    }
    fs_rec_t recs[FS_MAX_RECS];
    int nrec = 0;
    if (!rc && !w->xattr_done) {
        fs_rec_t old[FS_MAX_RECS];
        int nold;
        fs_side_read(w->p.side, old, &nold);
        recs[nrec] = w->rec;
        recs[nrec].ino = (uint64_t)nsb->st_ino;
        recs[nrec].size = (uint64_t)nsb->st_size;
        recs[nrec].mtime_ns = fs_mtime_ns(nsb);
        nrec++;
        for (int i = 0; i < nold; i++) {
            if (exists && fs_rec_matches(&old[i], &csb) && nrec < FS_MAX_RECS) {
                recs[nrec++] = old[i];
                memset(&old[i], 0, sizeof old[i]);
            }
        }
        fs_recs_free(old, nold);
        rc = fs_side_write(w->p.dir, w->p.name, recs, nrec);
        if (!rc && !w->no_sync) rc = sync_dir(w->p.dir);
        w->rec = recs[0];
        memset(&recs[0], 0, sizeof recs[0]);
        fs_recs_free(recs + 1, nrec - 1);
    }
    if (cfd >= 0) close(cfd);
    if (rc) return rc;
    if (w->mode == ST_PUT_IF_ABSENT) {
        if (link(w->tmp, w->p.path) != 0) {
            int e = errno;
            if (e == EEXIST) return conflict(w, "object already exists (if-absent put lost)");
            /* File systems without hard links: rename that refuses to replace. */
            if ((e == EPERM || e == EOPNOTSUPP || e == EMLINK) &&
                renameat2(AT_FDCWD, w->tmp, AT_FDCWD, w->p.path, RENAME_NOREPLACE) == 0) {
                free(w->tmp);
                w->tmp = NULL;
                if (w->xattr_done) unlink(w->p.side);
                return ST_OK;
            }
            if (errno == EEXIST) return conflict(w, "object already exists (if-absent put lost)");
            return fs_errno(fs, w->key, e, "publish");
        }
        unlink(w->tmp);
    } else if (rename(w->tmp, w->p.path) != 0) {
        return fs_errno(fs, w->key, errno, "publish");
    }
    free(w->tmp);
    w->tmp = NULL;
    /* A sidecar left from a version without the attribute describes nothing
     * now; only after the rename, so a crash before it keeps the old
     * version's metadata. */
    if (w->xattr_done) unlink(w->p.side);
    return ST_OK;
}

static int writer_commit(void *wp, st_object_info_t *info) {
    fwriter_t *w = wp;
    int rc = w->failed ? st_error(w->failed, "%s: commit after a failed write", w->key) : ST_OK;
    if (!rc) rc = flush_fd(w, w->buf, w->len);
    uint8_t d[ST_SHA256_LEN];
    st_sha256_end(w->sha, d);
    w->sha = NULL;
    st_hex(d, ST_SHA256_LEN, w->rec.etag);
    struct stat nsb;
    if (!rc && w->fs->use_xattr && fstat(w->fd, &nsb) == 0) {
        /* The record rides on the file: one fsync covers bytes and record. */
        w->rec.ino = (uint64_t)nsb.st_ino;
        w->rec.size = (uint64_t)nsb.st_size;
        w->rec.mtime_ns = fs_mtime_ns(&nsb);
        int x = fs_xattr_write(w->fd, &w->rec);
        if (x < 0)
            rc = x;
        else if (x == 2)
            w->fs->use_xattr = false;
        w->xattr_done = x == 0;
    }
    if (!rc && !w->no_sync && fsync(w->fd) != 0) rc = fs_errno(w->fs, w->key, errno, "fsync");
    if (!rc && fstat(w->fd, &nsb) != 0) rc = fs_errno(w->fs, w->key, errno, "stat");
    if (!rc && w->xattr_done && !fs_rec_matches(&w->rec, &nsb))
        rc = st_error(ST_EIO, "%s: file changed while being committed", w->key);
    if (close(w->fd) != 0 && !rc) rc = fs_errno(w->fs, w->key, errno, "close");
    w->fd = -1;
    int dfd = -1;
    if (!rc) rc = lock_dir(w->fs, w->key, w->p.dir, &dfd);
    if (!rc) rc = publish(w, &nsb);
    if (!rc && !w->no_sync) rc = fs_sync_dir_fd(dfd, w->p.dir);
    unlock_dir(dfd);
    if (!rc && info) {
        info->size = (uint64_t)nsb.st_size;
        memcpy(info->etag, w->rec.etag, sizeof w->rec.etag);
        info->last_modified_us = fs_mtime_ns(&nsb) / 1000;
        snprintf(info->content_type, sizeof info->content_type, "%s", w->rec.content_type);
        rc = store_meta_copy(w->rec.meta, w->rec.nmeta, &info->meta);
        if (!rc) info->nmeta = w->rec.nmeta;
    }
    writer_free(w);
    return rc;
}

static void writer_abort(void *wp) { writer_free(wp); }

static const st_writer_ops_t fs_writer_ops = {writer_write, writer_commit, writer_abort};

static int create_tmp(fwriter_t *w) {
    bool made = false;
    for (int attempt = 0; attempt < 16; attempt++) {
        uint8_t rnd[16];
        char hex[33], tag[40];
        int rc = st_uuid_v4(rnd);
        if (rc) return rc;
        st_hex(rnd, 8, hex);
        snprintf(tag, sizeof tag, "tmp-%s", hex);
        free(w->tmp);
        w->tmp = NULL;
        if ((rc = fs_hidden(w->p.dir, w->p.name, tag, &w->tmp))) return rc;
        w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (w->fd >= 0) return ST_OK;
        int e = errno;
        free(w->tmp);
        w->tmp = NULL;
        if (e == ENOENT || e == ENOTDIR) {
            /* The directory is missing: create it (again, if a delete pruned
             * it between our mkdir and open). */
            if (made && e == ENOTDIR) return fs_errno(w->fs, w->key, e, "create temporary file");
            if ((rc = mkdir_p(w->fs, w->key, w->p.dir))) return rc;
            made = true;
        } else if (e != EEXIST) {
            return fs_errno(w->fs, w->key, e, "create temporary file");
        }
    }
    return st_error(ST_EIO, "%s: cannot create a temporary file (directory keeps vanishing)",
                    w->key);
}

static int fs_writer_open(void *state, const char *key, const st_put_opts_t *opts, void **wp,
                          const st_writer_ops_t **ops) {
    fstore_t *fs = state;
    fwriter_t *w = calloc(1, sizeof *w);
    if (!w) return st_error(ST_ENOMEM, "out of memory");
    w->fd = -1;
    w->fs = fs;
    w->mode = opts->mode;
    w->no_sync = opts->no_sync;
    int rc = fs_paths(fs, key, &w->p);
    if (rc) {
        free(w);
        return rc;
    }
    w->key = strdup(key);
    w->buf = malloc(FS_WRITE_BUF);
    w->rec.content_type =
        strdup(opts->content_type ? opts->content_type : STORE_DEFAULT_CONTENT_TYPE);
    if (opts->if_match) w->if_match = strdup(opts->if_match);
    rc = store_meta_copy(opts->meta, opts->nmeta, &w->rec.meta);
    if (!rc) w->rec.nmeta = opts->nmeta > 0 ? opts->nmeta : 0;
    if (!rc && (!w->key || !w->buf || !w->rec.content_type || (opts->if_match && !w->if_match)))
        rc = st_error(ST_ENOMEM, "out of memory");
    if (!rc) rc = st_sha256_begin(&w->sha);
    if (!rc) rc = create_tmp(w);
    if (rc) {
        writer_free(w);
        return rc;
    }
    *wp = w;
    *ops = &fs_writer_ops;
    return ST_OK;
}

static int fs_put(void *state, const char *key, const void *data, size_t n,
                  const st_put_opts_t *opts, st_object_info_t *info) {
    void *w;
    const st_writer_ops_t *ops;
    int rc = fs_writer_open(state, key, opts, &w, &ops);
    if (rc) return rc;
    if (n && (rc = writer_write(w, data, n))) {
        writer_abort(w);
        return rc;
    }
    return writer_commit(w, info);
}

const st_store_backend_t st_store_file_backend = {
    .scheme = "file",
    .open = fs_open,
    .close = fs_close,
    .get_range = fs_get_range,
    .put = fs_put,
    .head = fs_head,
    .del = fs_del,
    .list = fs_list,
    .writer_open = fs_writer_open,
    .object_url = fs_object_url,
};
