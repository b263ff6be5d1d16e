/*
 * Listing a file store: a depth-first walk of the directory tree that yields
 * keys in lexicographic byte order, as S3 does. Each directory's entries are
 * sorted with directories compared as "name/", because every key below
 * directory "a" starts with "a/" ("a-b" < "a/c" < "a0"). Names that are not
 * valid key segments (the hidden sidecar and temporary files among them) are
 * skipped. Entries are produced a page at a time; with a delimiter a
 * directory is rolled up into one common prefix without being walked, once a
 * single object proves it is not empty.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/file_internal.h"

typedef struct level {
    char *rel;    /* key prefix of this directory: "" or "a/b/" */
    char **names; /* sorted; directories end with '/' */
    size_t n, i;
} level_t;

typedef struct flist {
    fstore_t *fs;
    char *prefix;
    size_t plen;
    char *delim;
    level_t *stack;
    int depth, cap;
    char *last_cp; /* last common prefix handed out */
    store_list_page_t page;
} flist_t;

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool valid_segment(const char *name) {
    if (strchr(name, '/')) return false;
    int rc = st_key_validate(name);
    if (rc) st_error_clear();
    return rc == 0;
}

/* The entry's kind: 1 file, 2 directory, 0 skip. Symbolic links to files
 * count as files; links to directories are not followed (no cycles). */
static int kind_of(int dfd, const struct dirent *de) {
    struct stat sb;
    unsigned char t = de->d_type;
    if (t == DT_REG) return 1;
    if (t == DT_DIR) return 2;
    if (t == DT_UNKNOWN) {
        if (fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) return 0;
        if (S_ISREG(sb.st_mode)) return 1;
        if (S_ISDIR(sb.st_mode)) return 2;
        if (!S_ISLNK(sb.st_mode)) return 0;
    } else if (t != DT_LNK) {
        return 0;
    }
    return fstatat(dfd, de->d_name, &sb, 0) == 0 && S_ISREG(sb.st_mode) ? 1 : 0;
}

static char *dir_path(const fstore_t *fs, const char *rel) {
    size_t n = strlen(fs->root) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", fs->root, rel);
    return p;
}

/* Reads one directory: valid names whose key fits, filtered by `partial`
 * (start of a name) and sorted. A missing directory lists as empty. */
static int read_level(flist_t *l, const char *rel, const char *partial, level_t *lv) {
    memset(lv, 0, sizeof *lv);
    if (!(lv->rel = strdup(rel))) return st_error(ST_ENOMEM, "out of memory");
    char *path = dir_path(l->fs, rel);
    if (!path) return st_error(ST_ENOMEM, "out of memory");
    DIR *d = opendir(path);
    if (!d) {
        int e = errno;
        free(path);
        if (e == ENOENT || e == ENOTDIR) return ST_OK;
        return st_error(ST_EIO, "%s%s: cannot list: %s", l->fs->base, rel, strerror(e));
    }
    size_t cap = 0, rl = strlen(rel), pl = strlen(partial);
    int rc = ST_OK;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, partial, pl) || !valid_segment(de->d_name)) continue;
        int kind = kind_of(dirfd(d), de);
        size_t nl = strlen(de->d_name);
        if (!kind || rl + nl + (kind == 2) > ST_KEY_MAX - (kind == 2 ? 1 : 0)) continue;
        if (lv->n == cap) {
            char **nn = realloc(lv->names, (cap = cap ? cap * 2 : 64) * sizeof *nn);
            if (!nn) {
                rc = st_error(ST_ENOMEM, "out of memory");
                break;
            }
            lv->names = nn;
        }
        char *name = malloc(nl + 2);
        if (!name) {
            rc = st_error(ST_ENOMEM, "out of memory");
            break;
        }
        memcpy(name, de->d_name, nl);
        name[nl] = kind == 2 ? '/' : '\0';
        name[nl + 1] = '\0';
        lv->names[lv->n++] = name;
    }
    if (!rc && errno)
        rc = st_error(ST_EIO, "%s%s: cannot list: %s", l->fs->base, rel, strerror(errno));
    closedir(d);
    free(path);
    if (!rc && lv->n > 1) qsort(lv->names, lv->n, sizeof *lv->names, cmp_names);
    return rc;
}

static void level_free(level_t *lv) {
    for (size_t i = 0; i < lv->n; i++)
        free(lv->names[i]);
    free(lv->names);
    free(lv->rel);
    memset(lv, 0, sizeof *lv);
}

/* True if the directory holds an object somewhere below: what decides
 * whether it rolls up into a common prefix (S3 has no empty "directories"). */
static bool has_object(const fstore_t *fs, const char *path, size_t keylen, int depth) {
    if (depth > ST_KEY_MAX / 2) return false;
    DIR *d = opendir(path);
    if (!d) return false;
    bool found = false;
    struct dirent *de;
    while (!found && (de = readdir(d))) {
        if (!valid_segment(de->d_name)) continue;
        int kind = kind_of(dirfd(d), de);
        size_t nl = strlen(de->d_name);
        if (kind == 1 && keylen + nl <= ST_KEY_MAX) {
            found = true;
        } else if (kind == 2 && keylen + nl + 1 < ST_KEY_MAX) {
            size_t n = strlen(path) + nl + 2;
            char *sub = malloc(n);
            if (!sub) break;
            snprintf(sub, n, "%s/%s", path, de->d_name);
            found = has_object(fs, sub, keylen + nl + 1, depth + 1);
            free(sub);
        }
    }
    closedir(d);
    return found;
}

static int push(flist_t *l, const char *rel, const char *partial) {
    if (l->depth == l->cap) {
        level_t *ns = realloc(l->stack, (size_t)(l->cap = l->cap ? l->cap * 2 : 8) * sizeof *ns);
        if (!ns) return st_error(ST_ENOMEM, "out of memory");
        l->stack = ns;
    }
    int rc = read_level(l, rel, partial, &l->stack[l->depth]);
    l->depth++; /* pushed even on failure so that close frees it */
    return rc;
}

static int add_prefix(flist_t *l, char *cp) {
    store_page_entry_t *e = store_page_slot(&l->page);
    if (!(e->key = strdup(cp))) {
        free(cp);
        return st_error(ST_ENOMEM, "out of memory");
    }
    e->is_prefix = true;
    l->page.n++;
    free(l->last_cp);
    l->last_cp = cp;
    return ST_OK;
}

/* Adds the object `key` to the page; a file that vanished meanwhile is
 * skipped, as S3 would no longer list it. */
static int add_object(flist_t *l, const char *key) {
    fs_paths_t p;
    int rc = fs_paths(l->fs, key, &p);
    if (rc) return rc;
    st_object_info_t info;
    memset(&info, 0, sizeof info);
    for (int attempt = 0; attempt < FS_READ_ATTEMPTS; attempt++) {
        int fd;
        struct stat sb;
        if ((rc = fs_open_object(l->fs, key, &p, &fd, &sb))) {
            fs_paths_free(&p);
            if (rc != ST_ENOTFOUND) return rc;
            st_error_clear();
            return ST_OK;
        }
        rc = fs_fill_info(l->fs, key, fd, &sb, p.path, p.side, NULL, &info);
        close(fd);
        if (rc != FS_RETRY) break;
    }
    if (rc == FS_RETRY) rc = fs_busy(l->fs, key);
    fs_paths_free(&p);
    if (rc) return rc;
    store_page_entry_t *e = store_page_slot(&l->page);
    e->size = info.size;
    e->mtime_us = info.last_modified_us;
    memcpy(e->etag, info.etag, sizeof e->etag);
    st_object_info_free(&info);
    if (!(e->key = strdup(key))) return st_error(ST_ENOMEM, "out of memory");
    l->page.n++;
    return ST_OK;
}

static int fill_page(flist_t *l) {
    store_page_clear(&l->page);
    int rc = ST_OK;
    size_t dl = l->delim ? strlen(l->delim) : 0;
    while (!rc && l->depth > 0 && l->page.n < STORE_LIST_PAGE) {
        level_t *lv = &l->stack[l->depth - 1];
        if (lv->i == lv->n) {
            level_free(lv);
            l->depth--;
            continue;
        }
        const char *name = lv->names[lv->i++];
        size_t nl = strlen(name);
        bool dir = name[nl - 1] == '/';
        size_t kl = strlen(lv->rel) + nl;
        char *key = malloc(kl + 1);
        if (!key) return st_error(ST_ENOMEM, "out of memory");
        snprintf(key, kl + 1, "%s%s", lv->rel, name);
        if (l->last_cp && !strncmp(key, l->last_cp, strlen(l->last_cp))) {
            free(key); /* rolled up already */
            continue;
        }
        const char *d = l->delim && kl > l->plen ? strstr(key + l->plen, l->delim) : NULL;
        if (d) {
            char *cp = strndup(key, (size_t)(d - key) + dl);
            if (!cp)
                rc = st_error(ST_ENOMEM, "out of memory");
            else if (dir) {
                char *path = dir_path(l->fs, key);
                bool any = path && has_object(l->fs, path, kl, 0);
                free(path);
                if (any)
                    rc = add_prefix(l, cp);
                else
                    free(cp);
            } else {
                rc = add_prefix(l, cp);
            }
        } else if (dir) {
            rc = push(l, key, "");
        } else {
            rc = add_object(l, key);
        }
        free(key);
    }
    return rc;
}

static int list_next(void *it, const st_list_entry_t **entry) {
    flist_t *l = it;
    if (!(*entry = store_page_next(&l->page))) {
        int rc = fill_page(l);
        if (rc) return rc;
        *entry = store_page_next(&l->page);
    }
    return ST_OK;
}

static void list_close(void *it) {
    flist_t *l = it;
    store_page_clear(&l->page);
    for (int i = 0; i < l->depth; i++)
        level_free(&l->stack[i]);
    free(l->stack);
    free(l->prefix);
    free(l->delim);
    free(l->last_cp);
    free(l);
}

static size_t list_buffered(void *it) { return ((flist_t *)it)->page.n; }

static const st_list_page_ops_t fs_list_ops = {list_next, list_close, list_buffered};

int fs_list(void *state, const char *prefix, const char *delimiter, void **it,
            const st_list_page_ops_t **ops) {
    flist_t *l = calloc(1, sizeof *l);
    if (!l) return st_error(ST_ENOMEM, "out of memory");
    l->fs = state;
    l->prefix = strdup(prefix);
    l->plen = strlen(prefix);
    l->delim = delimiter ? strdup(delimiter) : NULL;
    int rc = !l->prefix || (delimiter && !l->delim) ? st_error(ST_ENOMEM, "out of memory") : ST_OK;
    if (!rc) {
        /* Start in the directory the prefix names, filtering its entries by
         * the prefix's last, possibly partial, segment. */
        const char *slash = strrchr(prefix, '/');
        size_t rl = slash ? (size_t)(slash - prefix) + 1 : 0;
        char *rel = strndup(prefix, rl);
        rc = rel ? push(l, rel, prefix + rl) : st_error(ST_ENOMEM, "out of memory");
        free(rel);
    }
    if (rc) {
        list_close(l);
        return rc;
    }
    *it = l;
    *ops = &fs_list_ops;
    return ST_OK;
}
