/*
 * Sinks for the Parquet writer. The file sink never exposes a partial file:
 * bytes go to "<path>.tmp-<random>" and only a commit renames it into place,
 * after fsync of the file and followed by fsync of the directory so that the
 * rename itself survives a crash.
 */
#include "strata/parquet.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SINK_BUF_BYTES (1u << 20)

typedef struct file_sink {
    int fd;
    char *path;
    char *tmp;
    uint8_t *buf;
    size_t len;
} file_sink_t;

static int write_all(file_sink_t *fs, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fs->fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return st_error(ST_EIO, "%s: write failed: %s", fs->tmp, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return ST_OK;
}

static int file_write(void *ctx, const void *data, size_t n) {
    file_sink_t *fs = ctx;
    const uint8_t *p = data;
    if (fs->len + n <= SINK_BUF_BYTES) {
        memcpy(fs->buf + fs->len, p, n);
        fs->len += n;
        return ST_OK;
    }
    int rc = write_all(fs, fs->buf, fs->len);
    if (rc) return rc;
    fs->len = 0;
    /* Large writes (whole column chunks) skip the buffer. */
    if (n >= SINK_BUF_BYTES / 2) return write_all(fs, p, n);
    memcpy(fs->buf, p, n);
    fs->len = n;
    return ST_OK;
}

static int sync_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) return st_error(ST_ENOMEM, "out of memory");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = ST_OK;
    if (fd < 0) {
        rc = st_error(ST_EIO, "%s: cannot open directory to sync: %s", dir, strerror(errno));
    } else {
        /* Some file systems refuse fsync on directories; the rename is done anyway. */
        if (fsync(fd) != 0 && errno != EINVAL && errno != EBADF)
            rc = st_error(ST_EIO, "%s: directory fsync failed: %s", dir, strerror(errno));
        close(fd);
    }
    free(dir);
    return rc;
}

static void file_free(file_sink_t *fs) {
    free(fs->buf);
    free(fs->tmp);
    free(fs->path);
    free(fs);
}

static int file_finish(void *ctx, bool commit) {
    file_sink_t *fs = ctx;
    int rc = ST_OK;
    if (commit) {
        rc = write_all(fs, fs->buf, fs->len);
        if (!rc && fsync(fs->fd) != 0)
            rc = st_error(ST_EIO, "%s: fsync failed: %s", fs->tmp, strerror(errno));
    }
    if (close(fs->fd) != 0 && !rc && commit)
        rc = st_error(ST_EIO, "%s: close failed: %s", fs->tmp, strerror(errno));
    if (commit && !rc && rename(fs->tmp, fs->path) != 0)
        rc = st_error(ST_EIO, "%s: cannot rename %s into place: %s", fs->path, fs->tmp, strerror(errno));
    if (!commit || rc) {
        unlink(fs->tmp);
    } else {
        rc = sync_dir(fs->path);
    }
    file_free(fs);
    return rc;
}

int st_pq_sink_file(const char *path, st_pq_sink_t *out) {
    memset(out, 0, sizeof *out);
    if (!path || !*path) return st_error(ST_EINVAL, "parquet sink: empty path");
    file_sink_t *fs = calloc(1, sizeof *fs);
    if (!fs) return st_error(ST_ENOMEM, "out of memory");
    fs->fd = -1;
    fs->path = strdup(path);
    fs->buf = malloc(SINK_BUF_BYTES);
    size_t tlen = strlen(path) + 32;
    fs->tmp = malloc(tlen);
    char *name = strdup(path);
    if (!fs->path || !fs->buf || !fs->tmp || !name) {
        free(name);
        file_free(fs);
        return st_error(ST_ENOMEM, "out of memory");
    }
    for (int attempt = 0; attempt < 8 && fs->fd < 0; attempt++) {
        uint8_t rnd[16];
        char hex[33];
        int rc = st_uuid_v4(rnd);
        if (rc) {
            free(name);
            file_free(fs);
            return rc;
        }
        st_hex(rnd, 6, hex);
        snprintf(fs->tmp, tlen, "%s.tmp-%s", path, hex);
        fs->fd = open(fs->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fs->fd < 0 && errno != EEXIST) break;
    }
    if (fs->fd < 0) {
        int e = errno;
        int rc = st_error(e == ENOENT ? ST_ENOTFOUND : ST_EIO, "%s: cannot create %s: %s", path,
                          fs->tmp, strerror(e));
        free(name);
        file_free(fs);
        return rc;
    }
    out->ctx = fs;
    out->name = name;
    out->write = file_write;
    out->finish = file_finish;
    return ST_OK;
}

/* ---- memory ---- */

typedef struct buf_sink {
    st_buf_t *buf;
    size_t start; /* length before this file: abort truncates back to it */
} buf_sink_t;

static int buf_write(void *ctx, const void *data, size_t n) {
    buf_sink_t *bs = ctx;
    return st_buf_append(bs->buf, data, n);
}

static int buf_finish(void *ctx, bool commit) {
    buf_sink_t *bs = ctx;
    if (!commit) bs->buf->len = bs->start;
    free(bs);
    return ST_OK;
}

int st_pq_sink_buf(st_buf_t *buf, const char *name, st_pq_sink_t *out) {
    memset(out, 0, sizeof *out);
    buf_sink_t *bs = malloc(sizeof *bs);
    char *n = strdup(name ? name : "memory");
    if (!bs || !n) {
        free(bs);
        free(n);
        return st_error(ST_ENOMEM, "out of memory");
    }
    bs->buf = buf;
    bs->start = buf->len;
    out->ctx = bs;
    out->name = n;
    out->write = buf_write;
    out->finish = buf_finish;
    return ST_OK;
}
