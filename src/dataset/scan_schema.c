/* The shape of a dataset before it is scanned: which files it holds (every
 * .parquet key under the prefix, recursively), their Hive partition values
 * (col=value directory segments), and one schema for all of them — from
 * _strata_schema.json when the writer left one, else unified from every
 * footer (missing columns are null, int32 -> int64 and float -> double widen,
 * anything else that differs is an error naming both files). */
#include "dataset/scan_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/partition.h"
#include "strata/schema.h"

#define SCHEMA_FILE "_strata_schema.json"

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static void file_free(ds_file_t *f, int npart) {
    free(f->key);
    if (f->pvals)
        for (int i = 0; i < npart; i++) free(f->pvals[i]);
    free(f->pvals);
}

void ds_layout_free(ds_layout_t *l) {
    if (!l) return;
    for (int i = 0; i < l->nfiles; i++) file_free(&l->files[i], l->npart);
    free(l->files);
    for (int i = 0; i < l->nfields; i++) free(l->fields[i].name);
    free(l->fields);
    if (l->origin)
        for (int i = 0; i < l->nfields; i++) free(l->origin[i]);
    free(l->origin);
    free(l->prefix);
    memset(l, 0, sizeof *l);
}

/* ---- partitions ---- */

typedef struct pseg {
    char *name, *value; /* value NULL = null */
} pseg_t;

typedef struct plist {
    char **names;
    int n, cap;
} plist_t;

static int pnames_add(plist_t *p, const char *name, int *idx) {
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->names[i], name)) {
            *idx = i;
            return ST_OK;
        }
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 4;
        char **nn = realloc(p->names, (size_t)cap * sizeof *nn);
        if (!nn) return st_error(ST_ENOMEM, "out of memory");
        p->names = nn;
        p->cap = cap;
    }
    if (!(p->names[p->n] = strdup(name))) return st_error(ST_ENOMEM, "out of memory");
    *idx = p->n++;
    return ST_OK;
}

/* Splits the directory part of `rel` into col=value segments. */
static int parse_partitions(const char *rel, plist_t *names, pseg_t **segs, int *nsegs) {
    *segs = NULL;
    *nsegs = 0;
    const char *slash = strrchr(rel, '/');
    if (!slash) return ST_OK;
    int cap = 1;
    for (const char *p = rel; p < slash; p++) cap += *p == '/';
    pseg_t *s = calloc((size_t)cap, sizeof *s);
    if (!s) return st_error(ST_ENOMEM, "out of memory");
    int n = 0, rc = ST_OK;
    const char *p = rel;
    while (p < slash && !rc) {
        const char *e = memchr(p, '/', (size_t)(slash - p + 1));
        st_buf_t nb = ST_BUF_INIT, vb = ST_BUF_INIT;
        bool is_null = false;
        int prc = st_partition_parse_segment(p, (size_t)(e - p), &nb, &vb, &is_null);
        if (prc == ST_ENOTFOUND) {
            st_error_clear(); /* a plain directory, not a partition */
        } else if (prc) {
            rc = st_error_prefix(prc, "%s", rel);
        } else {
            int idx = 0;
            rc = pnames_add(names, (const char *)nb.data, &idx);
            if (!rc) {
                /* The same column twice in one path: the deeper one wins. */
                int j = 0;
                while (j < n && strcmp(s[j].name, names->names[idx])) j++;
                if (j == n) s[n++].name = names->names[idx];
                free(s[j].value);
                s[j].value = is_null ? NULL : (char *)st_buf_detach(&vb, NULL);
                if (!is_null && !s[j].value) s[j].value = strdup("");
                if (!is_null && !s[j].value) rc = st_error(ST_ENOMEM, "out of memory");
            }
        }
        st_buf_free(&nb);
        st_buf_free(&vb);
        p = e + 1;
    }
    if (rc) {
        for (int i = 0; i < n; i++) free(s[i].value);
        free(s);
        return rc;
    }
    *segs = s;
    *nsegs = n;
    return ST_OK;
}

static bool parses_int(const char *s) {
    if (!*s) return false;
    errno = 0;
    char *end;
    (void)strtoll(s, &end, 10);
    return !*end && errno == 0;
}

/* ---- listing ---- */

/* Hidden and temporary files (".x", "_x") are not data, as in Hive and Spark. */
static bool hidden(const char *rel) {
    for (const char *p = rel; *p;) {
        if (*p == '.' || *p == '_') return true;
        const char *s = strchr(p, '/');
        if (!s) break;
        p = s + 1;
    }
    return false;
}

static int add_file(ds_layout_t *l, int *cap, const char *key, uint64_t size) {
    if (l->nfiles == *cap) {
        int nc = *cap ? *cap * 2 : 16;
        ds_file_t *nf = realloc(l->files, (size_t)nc * sizeof *nf);
        if (!nf) return st_error(ST_ENOMEM, "out of memory");
        l->files = nf;
        *cap = nc;
    }
    ds_file_t *f = &l->files[l->nfiles];
    memset(f, 0, sizeof *f);
    if (!(f->key = strdup(key))) return st_error(ST_ENOMEM, "out of memory");
    f->size = size;
    l->nfiles++;
    return ST_OK;
}

static int list_files(ds_layout_t *l, const char *single) {
    int cap = 0;
    if (single) {
        st_object_info_t info;
        int rc = st_store_head(l->store, single, &info);
        if (rc) return rc;
        rc = add_file(l, &cap, single, info.size);
        st_object_info_free(&info);
        return rc;
    }
    st_list_iter_t *it;
    int rc = st_store_list(l->store, l->prefix, NULL, &it);
    if (rc) return rc;
    size_t pl = strlen(l->prefix);
    for (;;) {
        const st_list_entry_t *e;
        if ((rc = st_list_next(it, &e)) || !e) break;
        if (e->is_prefix || !ends_with(e->key, ".parquet") || hidden(e->key + pl)) continue;
        if ((rc = add_file(l, &cap, e->key, e->size))) break;
    }
    st_list_close(it);
    return rc;
}

/* ---- unification ---- */

static int add_field(ds_layout_t *l, const st_field_t *f, const char *origin) {
    st_field_t *nf = realloc(l->fields, (size_t)(l->nfields + 1) * sizeof *nf);
    if (!nf) return st_error(ST_ENOMEM, "out of memory");
    l->fields = nf;
    char **no = realloc(l->origin, (size_t)(l->nfields + 1) * sizeof *no);
    if (!no) return st_error(ST_ENOMEM, "out of memory");
    l->origin = no;
    nf[l->nfields] = *f;
    nf[l->nfields].name = strdup(f->name);
    no[l->nfields] = strdup(origin ? origin : "");
    if (!nf[l->nfields].name || !no[l->nfields]) {
        free(nf[l->nfields].name);
        free(no[l->nfields]);
        return st_error(ST_ENOMEM, "out of memory");
    }
    l->nfields++;
    return ST_OK;
}

static int find_field(const ds_layout_t *l, const char *name) {
    for (int i = 0; i < l->nfields; i++)
        if (!strcmp(l->fields[i].name, name)) return i;
    return -1;
}

static int type_clash(const char *col, const st_type_t *a, const char *fa, const st_type_t *b, const char *fb) {
    char ta[48], tb[48];
    st_type_format(a, ta, sizeof ta);
    st_type_format(b, tb, sizeof tb);
    return st_error(ST_ETYPE, "column '%s' is %s in %s but %s in %s; the types do not widen to one", col, ta, fa, tb,
                    fb);
}

static int merge_file(ds_layout_t *l, const ds_file_t *df, const plist_t *pn) {
    st_pq_source_t src;
    int rc = ds_source_open(l->store, df->key, df->size, &l->bytes_read, &src);
    if (rc) return rc;
    st_pq_file_t *f;
    if ((rc = st_pq_open(&src, &f))) return rc;
    const st_field_t *fs;
    int n;
    if (!(rc = st_pq_fields(f, &fs, &n))) {
        char *url = st_store_object_url(l->store, df->key);
        for (int i = 0; i < n && !rc; i++) {
            bool part = false;
            for (int p = 0; p < pn->n; p++) part |= !strcmp(pn->names[p], fs[i].name);
            if (part) continue; /* the directory's value wins */
            int u = find_field(l, fs[i].name);
            if (u < 0) {
                rc = add_field(l, &fs[i], url);
                if (!rc && l->nfiles > 1) l->fields[l->nfields - 1].nullable = true;
            } else {
                st_type_t t;
                if (!ds_type_unify(&l->fields[u].type, &fs[i].type, &t))
                    rc = type_clash(fs[i].name, &l->fields[u].type, l->origin[u], &fs[i].type, url ? url : df->key);
                else {
                    l->fields[u].type = t;
                    l->fields[u].nullable |= fs[i].nullable;
                }
            }
        }
        free(url);
    }
    st_pq_close(f);
    return rc;
}

static int load_schema_file(ds_layout_t *l, st_schema_t **out) {
    *out = NULL;
    st_buf_t b = ST_BUF_INIT;
    char *key = malloc(strlen(l->prefix) + sizeof SCHEMA_FILE);
    if (!key) return st_error(ST_ENOMEM, "out of memory");
    strcpy(key, l->prefix);
    strcat(key, SCHEMA_FILE);
    int rc = st_store_get(l->store, key, &b, NULL);
    if (rc == ST_ENOTFOUND) {
        st_error_clear();
        rc = ST_OK;
    } else if (!rc) {
        l->bytes_read += b.len;
        char *url = st_store_object_url(l->store, key);
        rc = st_schema_parse((const char *)b.data, b.len, url ? url : key, out);
        free(url);
    }
    st_buf_free(&b);
    free(key);
    return rc;
}

int ds_layout_load_files(st_store_t *s, const char *const *keys, const uint64_t *sizes, int nkeys,
                         ds_layout_t *out) {
    memset(out, 0, sizeof *out);
    out->store = s;
    if (nkeys < 1 || !keys) return st_error(ST_EINVAL, "scan: no files to scan");
    if (!(out->prefix = strdup(""))) return st_error(ST_ENOMEM, "out of memory");
    int cap = 0, rc = ST_OK;
    for (int i = 0; i < nkeys && !rc; i++) {
        if (!keys[i] || (rc = st_key_validate(keys[i]))) {
            if (!rc) rc = st_error(ST_EINVAL, "scan: file %d has no key", i);
            break;
        }
        uint64_t size = sizes ? sizes[i] : 0;
        if (!sizes) {
            st_object_info_t info;
            if ((rc = st_store_head(s, keys[i], &info))) break;
            size = info.size;
            st_object_info_free(&info);
        }
        if (!(rc = add_file(out, &cap, keys[i], size)) &&
            !(out->files[out->nfiles - 1].pvals = calloc(1, sizeof(char *))))
            rc = st_error(ST_ENOMEM, "out of memory");
    }
    plist_t none = {0};
    for (int i = 0; i < out->nfiles && !rc; i++) rc = merge_file(out, &out->files[i], &none);
    if (rc) ds_layout_free(out);
    return rc;
}

int ds_layout_load(st_store_t *s, const char *path, ds_layout_t *out) {
    memset(out, 0, sizeof *out);
    out->store = s;
    while (*path == '/') path++;
    size_t pl = strlen(path);
    while (pl && path[pl - 1] == '/') pl--;
    bool single = pl >= 8 && !strncmp(path + pl - 8, ".parquet", 8);
    char *trimmed = strndup(path, pl);
    if (!trimmed) return st_error(ST_ENOMEM, "out of memory");
    if (single) {
        char *slash = strrchr(trimmed, '/');
        out->prefix = slash ? strndup(trimmed, (size_t)(slash - trimmed + 1)) : strdup("");
    } else {
        out->prefix = malloc(pl + 2);
        if (out->prefix) {
            memcpy(out->prefix, trimmed, pl);
            strcpy(out->prefix + pl, pl ? "/" : "");
        }
    }
    if (!out->prefix) {
        free(trimmed);
        return st_error(ST_ENOMEM, "out of memory");
    }
    plist_t pn = {0};
    st_schema_t *schema = NULL;
    int rc = list_files(out, single ? trimmed : NULL);
    if (!rc) rc = load_schema_file(out, &schema);
    if (!rc && out->nfiles == 0 && !schema) {
        char *u = st_store_object_url(s, out->prefix);
        rc = st_error(ST_ENOTFOUND, "%s: no Parquet files in the dataset", u ? u : out->prefix);
        free(u);
    }
    /* Partition values per file: parsed first, placed by column once every
     * partition name is known. */
    pseg_t **segs = calloc(out->nfiles > 0 ? (size_t)out->nfiles : 1, sizeof *segs);
    int *nsegs = calloc(out->nfiles > 0 ? (size_t)out->nfiles : 1, sizeof *nsegs);
    if (!segs || !nsegs) rc = st_error(ST_ENOMEM, "out of memory");
    for (int i = 0; i < out->nfiles && !rc; i++)
        rc = parse_partitions(out->files[i].key + strlen(out->prefix), &pn, &segs[i], &nsegs[i]);
    for (int i = 0; i < out->nfiles; i++) {
        char **vals = rc ? NULL : calloc(pn.n > 0 ? (size_t)pn.n : 1, sizeof *vals);
        if (!rc && !vals) rc = st_error(ST_ENOMEM, "out of memory");
        for (int j = 0; segs && j < nsegs[i]; j++) {
            int idx = 0;
            while (vals && strcmp(pn.names[idx], segs[i][j].name)) idx++;
            if (vals) vals[idx] = segs[i][j].value;
            else free(segs[i][j].value);
        }
        if (segs) free(segs[i]);
        out->files[i].pvals = vals;
    }
    free(segs);
    free(nsegs);
    free(trimmed);
    out->npart = pn.n;
    if (!rc && schema) {
        out->from_schema_file = true;
        for (int i = 0; i < schema->nfields && !rc; i++) {
            bool part = false;
            for (int p = 0; p < pn.n; p++) part |= !strcmp(pn.names[p], schema->fields[i].field.name);
            if (!part) rc = add_field(out, &schema->fields[i].field, SCHEMA_FILE);
        }
    } else {
        for (int i = 0; i < out->nfiles && !rc; i++) rc = merge_file(out, &out->files[i], &pn);
    }
    /* Partition columns last, typed by the schema file or by their values. */
    out->npart = pn.n;
    for (int p = 0; p < pn.n && !rc; p++) {
        st_field_t f = {pn.names[p], {ST_TYPE_STRING, 0, 0, 0, 0, false}, true};
        int si = schema ? st_schema_field_index(schema, pn.names[p]) : -1;
        if (si >= 0) {
            f.type = schema->fields[si].field.type;
        } else {
            bool all_int = true;
            for (int i = 0; i < out->nfiles; i++)
                if (out->files[i].pvals[p] && !parses_int(out->files[i].pvals[p])) all_int = false;
            if (all_int) f.type.id = ST_TYPE_INT64;
        }
        int dup = find_field(out, pn.names[p]);
        if (dup >= 0) {
            rc = st_error(ST_EINVAL, "column '%s' is both a partition and a data column", pn.names[p]);
            break;
        }
        rc = add_field(out, &f, "partition path");
    }
    for (int p = 0; p < pn.n; p++) free(pn.names[p]);
    free(pn.names);
    st_schema_free(schema);
    if (rc) ds_layout_free(out);
    return rc;
}
