/*
 * What the file backend knows about an object beyond its bytes (ETag, content
 * type, user metadata), kept in an extended attribute of the file or in a
 * sidecar (the scheme is described in file_internal.h). ETags are the SHA-256
 * of the content: strong, and checkable against the bytes at any time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <jansson.h>

#include "store/file_internal.h"

/* Longest name decorated as "." + name + "\" + tag; longer ones are hashed so
 * the hidden name stays under NAME_MAX (255). */
#define FS_PLAIN_NAME_MAX 200
#define FS_SIDE_MAX_BYTES (64 * 1024)

int fs_hidden(const char *dir, const char *name, const char *tag, char **out) {
    char hashed[ST_SHA256_HEX_LEN + 3];
    const char *shown = name;
    if (strlen(name) > FS_PLAIN_NAME_MAX) {
        hashed[0] = '\\';
        hashed[1] = 'h';
        st_sha256_hex(name, strlen(name), hashed + 2);
        shown = hashed;
    }
    size_t n = strlen(dir) + strlen(shown) + strlen(tag) + 4;
    char *p = malloc(n);
    if (!p) return st_error(ST_ENOMEM, "out of memory");
    snprintf(p, n, "%s/.%s\\%s", dir, shown, tag);
    *out = p;
    return ST_OK;
}

int64_t fs_mtime_ns(const struct stat *sb) {
    return (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
}

bool fs_rec_matches(const fs_rec_t *r, const struct stat *sb) {
    return r->ino == (uint64_t)sb->st_ino && r->size == (uint64_t)sb->st_size &&
           r->mtime_ns == fs_mtime_ns(sb);
}

void fs_recs_free(fs_rec_t *recs, int nrec) {
    for (int i = 0; i < nrec; i++) {
        free(recs[i].content_type);
        store_meta_free(recs[i].meta, recs[i].nmeta);
        memset(&recs[i], 0, sizeof recs[i]);
    }
}

static bool hex64(const char *s) {
    if (!s || strlen(s) != ST_SHA256_HEX_LEN) return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) return false;
    return true;
}

/* One record from JSON; false if it is not a well-formed record (then it is
 * ignored, as if the sidecar did not vouch for anything). */
static bool rec_from_json(json_t *o, fs_rec_t *r) {
    memset(r, 0, sizeof *r);
    json_t *ino = json_object_get(o, "ino"), *size = json_object_get(o, "size"),
           *mt = json_object_get(o, "mtime_ns"), *meta = json_object_get(o, "meta");
    const char *etag = json_string_value(json_object_get(o, "etag"));
    const char *ct = json_string_value(json_object_get(o, "content_type"));
    if (!json_is_integer(ino) || !json_is_integer(size) || !json_is_integer(mt) || !hex64(etag) ||
        !ct)
        return false;
    if (meta && !json_is_array(meta)) return false;
    r->ino = (uint64_t)json_integer_value(ino);
    r->size = (uint64_t)json_integer_value(size);
    r->mtime_ns = json_integer_value(mt);
    memcpy(r->etag, etag, sizeof r->etag);
    if (!(r->content_type = strdup(ct))) return false;
    size_t n = meta ? json_array_size(meta) : 0;
    if (n) {
        r->meta = calloc(n, sizeof *r->meta);
        if (!r->meta) goto bad;
        for (size_t i = 0; i < n; i++) {
            json_t *pair = json_array_get(meta, i);
            const char *k = json_string_value(json_array_get(pair, 0));
            const char *v = json_string_value(json_array_get(pair, 1));
            if (!k || !v) goto bad;
            r->meta[i].key = strdup(k);
            r->meta[i].value = strdup(v);
            r->nmeta = (int)i + 1;
            if (!r->meta[i].key || !r->meta[i].value) goto bad;
        }
    }
    return true;
bad:
    fs_recs_free(r, 1);
    return false;
}

int fs_side_read(const char *side, fs_rec_t *recs, int *nrec) {
    *nrec = 0;
    int fd = open(side, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ST_OK;
    char buf[FS_SIDE_MAX_BYTES];
    size_t len = 0;
    for (;;) {
        ssize_t got = read(fd, buf + len, sizeof buf - len);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        len += (size_t)got;
        if (len == sizeof buf) break;
    }
    close(fd);
    json_t *root = json_loadb(buf, len, 0, NULL);
    json_t *arr = json_object_get(root, "records");
    size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
    for (size_t i = 0; i < n && *nrec < FS_MAX_RECS; i++)
        if (rec_from_json(json_array_get(arr, i), &recs[*nrec])) (*nrec)++;
    json_decref(root);
    return ST_OK;
}

static json_t *rec_to_json(const fs_rec_t *r) {
    json_t *meta = json_array();
    for (int i = 0; meta && i < r->nmeta; i++)
        json_array_append_new(meta, json_pack("[ss]", r->meta[i].key, r->meta[i].value));
    return json_pack("{sI sI sI ss ss so}", "ino", (json_int_t)r->ino, "size", (json_int_t)r->size,
                     "mtime_ns", (json_int_t)r->mtime_ns, "etag", r->etag, "content_type",
                     r->content_type ? r->content_type : STORE_DEFAULT_CONTENT_TYPE, "meta", meta);
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int fs_side_write(const char *dir, const char *name, const fs_rec_t *recs, int nrec) {
    json_t *arr = json_array();
    for (int i = 0; arr && i < nrec; i++)
        json_array_append_new(arr, rec_to_json(&recs[i]));
    json_t *root = arr ? json_pack("{si so}", "v", 1, "records", arr) : NULL;
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!text) return st_error(ST_ENOMEM, "out of memory");
    char *side = NULL, *tmp = NULL;
    int rc = fs_hidden(dir, name, "meta", &side);
    int fd = -1;
    for (int attempt = 0; !rc && attempt < 8 && fd < 0; attempt++) {
        uint8_t rnd[16];
        char hex[33], tag[40];
        if ((rc = st_uuid_v4(rnd))) break;
        st_hex(rnd, 8, hex);
        snprintf(tag, sizeof tag, "side-%s", hex);
        free(tmp);
        tmp = NULL;
        if ((rc = fs_hidden(dir, name, tag, &tmp))) break;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (!rc && fd < 0)
        rc = st_error(ST_EIO, "%s: cannot create %s: %s", dir, tmp ? tmp : "sidecar",
                      strerror(errno));
    if (!rc) {
        if (write_all(fd, text, strlen(text)) || fsync(fd))
            rc = st_error(ST_EIO, "%s: cannot write %s: %s", dir, tmp, strerror(errno));
        if (close(fd) && !rc)
            rc = st_error(ST_EIO, "%s: cannot write %s: %s", dir, tmp, strerror(errno));
        if (!rc && rename(tmp, side))
            rc = st_error(ST_EIO, "%s: cannot rename %s into place: %s", dir, tmp, strerror(errno));
        if (rc) unlink(tmp);
    }
    free(text);
    free(side);
    free(tmp);
    return rc;
}

bool fs_xattr_read(int fd, const struct stat *sb, fs_rec_t *r) {
    char buf[FS_SIDE_MAX_BYTES];
    ssize_t n = fgetxattr(fd, FS_XATTR_NAME, buf, sizeof buf);
    if (n <= 0) return false;
    json_t *root = json_loadb(buf, (size_t)n, 0, NULL);
    bool ok = root && rec_from_json(root, r);
    json_decref(root);
    if (ok && !fs_rec_matches(r, sb)) {
        /* Rewritten in place by another program since strata wrote it. */
        fs_recs_free(r, 1);
        ok = false;
    }
    return ok;
}

int fs_xattr_write(int fd, const fs_rec_t *r) {
    json_t *j = rec_to_json(r);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) return st_error(ST_ENOMEM, "out of memory");
    int rc = fsetxattr(fd, FS_XATTR_NAME, text, strlen(text), 0) == 0 ? 0
             : errno == ENOTSUP                                       ? 2
                                                                      : 1;
    free(text);
    return rc;
}

bool fs_lookup_rec(int fd, const struct stat *sb, const char *side, fs_rec_t *out) {
    if (fs_xattr_read(fd, sb, out)) return true;
    fs_rec_t recs[FS_MAX_RECS];
    int n;
    fs_side_read(side, recs, &n);
    bool found = false;
    for (int i = 0; i < n && !found; i++) {
        if (fs_rec_matches(&recs[i], sb)) {
            *out = recs[i];
            memset(&recs[i], 0, sizeof recs[i]);
            found = true;
        }
    }
    fs_recs_free(recs, n);
    return found;
}

/* SHA-256 of the whole open file. The file may be replaced by a rename but
 * never rewritten in place by strata; a change seen here was made by another
 * tool, and the hash is retried so it describes one state of the file. */
static int hash_fd(const fstore_t *fs, const char *key, int fd, const struct stat *sb,
                   char out[65]) {
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf) return st_error(ST_ENOMEM, "out of memory");
    int rc = ST_OK;
    for (int attempt = 0; attempt < 3; attempt++) {
        st_sha256_ctx_t *ctx;
        if ((rc = st_sha256_begin(&ctx))) break;
        uint64_t off = 0;
        while (!rc) {
            ssize_t got = pread(fd, buf, CHUNK, (off_t)off);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) rc = fs_errno(fs, key, errno, "read");
            if (got <= 0) break;
            st_sha256_update(ctx, buf, (size_t)got);
            off += (uint64_t)got;
        }
        uint8_t d[ST_SHA256_LEN];
        st_sha256_end(ctx, d);
        if (rc) break;
        struct stat now;
        if (fstat(fd, &now) == 0 && now.st_size == sb->st_size &&
            fs_mtime_ns(&now) == fs_mtime_ns(sb) && off == (uint64_t)sb->st_size) {
            st_hex(d, ST_SHA256_LEN, out);
            free(buf);
            return ST_OK;
        }
        rc = ST_OK;
    }
    free(buf);
    if (rc) return rc;
    char *u = fs_object_url((void *)fs, key);
    rc = st_error(
        ST_ECONFLICT,
        "%s: the file keeps changing while it is read (modified in place by another program?)",
        u ? u : key);
    free(u);
    return rc;
}

static bool cache_get(fstore_t *fs, const struct stat *sb, char etag[65]) {
    fs_etag_slot_t *s = &fs->cache[(uint64_t)sb->st_ino % FS_ETAG_CACHE];
    pthread_mutex_lock(&fs->mu);
    bool hit = s->etag[0] && s->dev == (uint64_t)sb->st_dev && s->ino == (uint64_t)sb->st_ino &&
               s->size == (uint64_t)sb->st_size && s->mtime_ns == fs_mtime_ns(sb);
    if (hit) memcpy(etag, s->etag, 65);
    pthread_mutex_unlock(&fs->mu);
    return hit;
}

static void cache_put(fstore_t *fs, const struct stat *sb, const char etag[65]) {
    fs_etag_slot_t *s = &fs->cache[(uint64_t)sb->st_ino % FS_ETAG_CACHE];
    pthread_mutex_lock(&fs->mu);
    s->dev = (uint64_t)sb->st_dev;
    s->ino = (uint64_t)sb->st_ino;
    s->size = (uint64_t)sb->st_size;
    s->mtime_ns = fs_mtime_ns(sb);
    memcpy(s->etag, etag, 65);
    pthread_mutex_unlock(&fs->mu);
}

static int etag_of(fstore_t *fs, const char *key, int fd, const struct stat *sb,
                   const uint8_t *whole, char etag[65]) {
    if (cache_get(fs, sb, etag)) return ST_OK;
    if (whole)
        st_sha256_hex(whole, (size_t)sb->st_size, etag);
    else {
        int rc = hash_fd(fs, key, fd, sb, etag);
        if (rc) return rc;
    }
    cache_put(fs, sb, etag);
    return ST_OK;
}

int fs_current_etag(fstore_t *fs, const char *key, int fd, const struct stat *sb, const char *side,
                    char etag[ST_SHA256_HEX_LEN + 1]) {
    fs_rec_t r;
    if (fs_lookup_rec(fd, sb, side, &r)) {
        memcpy(etag, r.etag, ST_SHA256_HEX_LEN + 1);
        fs_recs_free(&r, 1);
        return ST_OK;
    }
    return etag_of(fs, key, fd, sb, NULL, etag);
}

int fs_fill_info(fstore_t *fs, const char *key, int fd, const struct stat *sb, const char *path,
                 const char *side, const uint8_t *whole, st_object_info_t *info) {
    info->size = (uint64_t)sb->st_size;
    info->last_modified_us = fs_mtime_ns(sb) / 1000;
    info->meta = NULL;
    info->nmeta = 0;
    fs_rec_t r;
    if (fs_lookup_rec(fd, sb, side, &r)) {
        memcpy(info->etag, r.etag, ST_SHA256_HEX_LEN + 1);
        snprintf(info->content_type, sizeof info->content_type, "%s", r.content_type);
        info->meta = r.meta;
        info->nmeta = r.nmeta;
        r.meta = NULL;
        r.nmeta = 0;
        fs_recs_free(&r, 1);
        return ST_OK;
    }
    struct stat now;
    if (stat(path, &now) != 0 || now.st_ino != sb->st_ino || now.st_dev != sb->st_dev)
        return FS_RETRY;
    snprintf(info->content_type, sizeof info->content_type, "%s", STORE_DEFAULT_CONTENT_TYPE);
    return etag_of(fs, key, fd, sb, whole, info->etag);
}
