/* The schema registry: the built-in pack (the files schemas/NAME.schema.json,
 * compiled in) plus the schema files of a directory, which override built-ins
 * by name. A file that does not parse fails the whole open: a registry that
 * silently lost a table would validate data against nothing. */
#include "registry_pack.h"
#include "strata/schema.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SUGGEST_MAX 5

struct st_registry {
    st_schema_t **schemas;
    char **origins; /* where each came from, for messages about repeats */
    int n, cap;
};

static int nomem(void) { return st_error(ST_ENOMEM, "out of memory"); }

void st_registry_free(st_registry_t *r) {
    if (!r) return;
    for (int i = 0; i < r->n; i++) {
        st_schema_free(r->schemas[i]);
        free(r->origins[i]);
    }
    free(r->schemas);
    free(r->origins);
    free(r);
}

static int find(const st_registry_t *r, const char *name) {
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->schemas[i]->name, name)) return i;
    return -1;
}

/* Takes ownership of s. */
static int put(st_registry_t *r, st_schema_t *s, const char *origin) {
    char *o = strdup(origin);
    if (!o) {
        st_schema_free(s);
        return nomem();
    }
    int i = find(r, s->name);
    if (i >= 0) {
        st_schema_free(r->schemas[i]);
        free(r->origins[i]);
        r->schemas[i] = s;
        r->origins[i] = o;
        return ST_OK;
    }
    if (r->n == r->cap) {
        int ncap = r->cap ? r->cap * 2 : 32;
        st_schema_t **ns = realloc(r->schemas, (size_t)ncap * sizeof *ns);
        if (ns) r->schemas = ns;
        char **no = realloc(r->origins, (size_t)ncap * sizeof *no);
        if (no) r->origins = no;
        if (!ns || !no) {
            st_schema_free(s);
            free(o);
            return nomem();
        }
        r->cap = ncap;
    }
    r->schemas[r->n] = s;
    r->origins[r->n] = o;
    r->n++;
    return ST_OK;
}

static int load_builtins(st_registry_t *r) {
    for (int i = 0; i < tbl_schema_pack_count; i++) {
        const tbl_pack_file *p = &tbl_schema_pack[i];
        st_schema_t *s;
        int rc = st_schema_parse(p->text, p->len, p->name, &s);
        if (rc) return st_error_prefix(rc, "built-in schema pack");
        if ((rc = put(r, s, "built-in"))) return rc;
    }
    return ST_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_schema_file(const char *name) {
    size_t n = strlen(name);
    /* Hidden files are editor backups and the like, not tables. */
    return name[0] != '.' && n > 5 && !strcmp(name + n - 5, ".json");
}

/* The directory's *.json files, in name order so that errors are repeatable. */
static int list_dir(const char *dir, char ***out, int *nout) {
    *out = NULL;
    *nout = 0;
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        return st_error(e == ENOENT    ? ST_ENOTFOUND
                        : e == ENOTDIR ? ST_EINVAL
                                       : ST_EIO,
                        "schema directory %s: %s", dir, strerror(e));
    }
    char **names = NULL;
    int n = 0, cap = 0, rc = ST_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!is_schema_file(de->d_name)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, (size_t)cap * sizeof *nn);
            if (!nn) {
                rc = nomem();
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = nomem();
            break;
        }
        n++;
    }
    closedir(d);
    if (rc) {
        for (int i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return rc;
    }
    if (n) qsort(names, (size_t)n, sizeof *names, cmp_str);
    *out = names;
    *nout = n;
    return ST_OK;
}

static int load_dir(st_registry_t *r, const char *dir) {
    char **names;
    int n;
    int rc = list_dir(dir, &names, &n);
    if (rc) return rc;
    /* Which entries a file of dir set: two files naming one table is an error. */
    bool *from_dir = calloc((size_t)(r->n + n + 1), sizeof *from_dir);
    if (!from_dir) rc = nomem();
    for (int i = 0; i < n && !rc; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(len);
        if (!path) {
            rc = nomem();
            break;
        }
        snprintf(path, len, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) || !S_ISREG(st.st_mode)) { /* a directory named x.json */
            free(path);
            continue;
        }
        st_schema_t *s;
        rc = st_schema_load(path, &s);
        if (!rc) {
            int at = find(r, s->name);
            if (at >= 0 && from_dir[at]) {
                rc = st_error(ST_EINVAL, "%s and %s both define the schema '%s'", r->origins[at],
                              path, s->name);
                st_schema_free(s);
            } else {
                rc = put(r, s, path);
                if (!rc) from_dir[at >= 0 ? at : r->n - 1] = true;
            }
        }
        free(path);
    }
    free(from_dir);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static int cmp_schema(const void *a, const void *b) {
    return strcmp((*(st_schema_t *const *)a)->name, (*(st_schema_t *const *)b)->name);
}

int st_registry_open(const char *dir, st_registry_t **out) {
    *out = NULL;
    st_registry_t *r = calloc(1, sizeof *r);
    if (!r) return nomem();
    int rc = load_builtins(r);
    if (!rc && dir) rc = load_dir(r, dir);
    if (rc) {
        st_registry_free(r);
        return rc;
    }
    /* Origins only serve messages while loading; dropping them lets the
     * schemas be sorted alone. */
    for (int i = 0; i < r->n; i++) {
        free(r->origins[i]);
        r->origins[i] = NULL;
    }
    qsort(r->schemas, (size_t)r->n, sizeof *r->schemas, cmp_schema);
    *out = r;
    return ST_OK;
}

int st_registry_count(const st_registry_t *r) { return r->n; }

const st_schema_t *st_registry_at(const st_registry_t *r, int i) {
    return i >= 0 && i < r->n ? r->schemas[i] : NULL;
}

/* Edit distance (insertions, deletions, substitutions), capped: names are short. */
static int distance(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    if (n > 128 || m > 128) return 1000;
    int row[130];
    for (size_t j = 0; j <= m; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[m];
}

int st_registry_get(const st_registry_t *r, const char *name, const st_schema_t **out) {
    *out = NULL;
    if (!name) return st_error(ST_EINVAL, "st_registry_get: no name");
    int i = find(r, name);
    if (i >= 0) {
        *out = r->schemas[i];
        return ST_OK;
    }
    /* Close names: a few typos away, or containing what was typed. */
    int best[SUGGEST_MAX], dist[SUGGEST_MAX], nbest = 0;
    size_t len = strlen(name);
    int limit = len < 8 ? 2 : (int)len / 4 + 1;
    for (int k = 0; k < r->n; k++) {
        const char *cand = r->schemas[k]->name;
        int d = distance(name, cand);
        if (d > limit && !(len >= 3 && strstr(cand, name))) continue;
        if (d > limit) d = limit + 1;
        int at = nbest;
        while (at > 0 && dist[at - 1] > d)
            at--;
        if (at >= SUGGEST_MAX) continue;
        int last = nbest < SUGGEST_MAX ? nbest : SUGGEST_MAX - 1;
        for (int j = last; j > at; j--) {
            best[j] = best[j - 1];
            dist[j] = dist[j - 1];
        }
        best[at] = k;
        dist[at] = d;
        if (nbest < SUGGEST_MAX) nbest++;
    }
    char shown[140];
    snprintf(shown, sizeof shown, "%.128s%s", name, len > 128 ? "..." : "");
    if (nbest == 0)
        return st_error(ST_ENOTFOUND, "no schema named '%s' (%d schemas known)", shown, r->n);
    char list[SUGGEST_MAX * 132] = "";
    for (int k = 0; k < nbest; k++) {
        if (k) strcat(list, ", ");
        strncat(list, r->schemas[best[k]]->name, 128);
    }
    return st_error(ST_ENOTFOUND, "no schema named '%s' (did you mean %s?)", shown, list);
}
