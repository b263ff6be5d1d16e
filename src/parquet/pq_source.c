/* Byte sources for the reader: a local file read with pread, or borrowed memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parquet/pq_internal.h"

typedef struct file_ctx {
    int fd;
    char *path;
} file_ctx_t;

static int file_read_at(void *ctx, uint64_t off, void *buf, size_t n) {
    file_ctx_t *c = ctx;
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t got = pread(c->fd, p, n, (off_t)off);
        if (got < 0) {
            if (errno == EINTR) continue;
            return st_error(ST_EIO, "%s: read failed: %s", c->path, strerror(errno));
        }
        if (got == 0) return st_error(ST_EIO, "%s: file shrank while reading", c->path);
        p += got;
        off += (uint64_t)got;
        n -= (size_t)got;
    }
    return ST_OK;
}

static void file_close(void *ctx) {
    file_ctx_t *c = ctx;
    if (!c) return;
    close(c->fd);
    free(c->path);
    free(c);
}

int st_pq_source_file(const char *path, st_pq_source_t *out) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return st_error(e == ENOENT ? ST_ENOTFOUND : ST_EIO, "%s: %s", path, strerror(e));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return st_error(ST_EIO, "%s: not a regular file", path);
    }
    file_ctx_t *c = calloc(1, sizeof *c);
    char *name = strdup(path);
    char *cpath = strdup(path);
    if (!c || !name || !cpath) {
        free(c);
        free(name);
        free(cpath);
        close(fd);
        return st_error(ST_ENOMEM, "out of memory");
    }
    c->fd = fd;
    c->path = cpath;
    out->ctx = c;
    out->name = name;
    out->size = (uint64_t)sb.st_size;
    out->read_at = file_read_at;
    out->close = file_close;
    return ST_OK;
}

typedef struct mem_ctx {
    const uint8_t *data;
    size_t n;
} mem_ctx_t;

static int mem_read_at(void *ctx, uint64_t off, void *buf, size_t n) {
    mem_ctx_t *c = ctx;
    if (off > c->n || n > c->n - off) return st_error(ST_EIO, "read past the end of the buffer");
    if (n) memcpy(buf, c->data + off, n);
    return ST_OK;
}

static void mem_close(void *ctx) { free(ctx); }

int st_pq_source_mem(const void *data, size_t n, const char *name, st_pq_source_t *out) {
    memset(out, 0, sizeof *out);
    mem_ctx_t *c = calloc(1, sizeof *c);
    char *nm = strdup(name ? name : "memory");
    if (!c || !nm) {
        free(c);
        free(nm);
        return st_error(ST_ENOMEM, "out of memory");
    }
    c->data = data;
    c->n = n;
    out->ctx = c;
    out->name = nm;
    out->size = n;
    out->read_at = mem_read_at;
    out->close = mem_close;
    return ST_OK;
}

void st_pq_source_close(st_pq_source_t *src) {
    if (!src) return;
    if (src->close && src->ctx) src->close(src->ctx);
    free(src->name);
    memset(src, 0, sizeof *src);
}
