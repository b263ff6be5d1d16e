/* Query: the chosen version of every record of a project, read as one table.
 * The index says which version file each record has (no record is opened);
 * the files are read by one dataset scan over that list, under one schema
 * (records written with an older schema get nulls for newer columns), with the
 * caller's projection, filter and limit. */
#include <stdlib.h>
#include <string.h>

#include "record/repo_internal.h"

typedef struct qfile {
    char *record_id;
    char *key;
    int version;
} qfile_t;

struct st_repo_query {
    st_repo_t *repo;
    st_records_t *rec;
    st_scan_opts_t scan_opts;
    char **columns;
    char *filter;
    qfile_t *files;
    int nfiles;
    st_dataset_scan_t *scan;
};

void st_repo_query_close(st_repo_query_t *q) {
    if (!q) return;
    st_dataset_scan_close(q->scan);
    for (int i = 0; i < q->nfiles; i++) {
        free(q->files[i].record_id);
        free(q->files[i].key);
    }
    free(q->files);
    for (int i = 0; i < q->scan_opts.ncolumns; i++) free(q->columns[i]);
    free(q->columns);
    free(q->filter);
    free(q);
}

int st_repo_query_open(st_repo_t *r, const char *entity_type, const char *project,
                       const st_repo_query_opts_t *opts, st_repo_query_t **out) {
    *out = NULL;
    st_repo_query_opts_t o;
    memset(&o, 0, sizeof o);
    o.limit = -1;
    if (opts) o = *opts;
    st_repo_query_t *q = calloc(1, sizeof *q);
    if (!q) return st_error(ST_ENOMEM, "out of memory");
    q->repo = r;
    int rc = repo_target(r, entity_type, project, &q->rec);
    if (!rc && o.ncolumns > 0) {
        if (!(q->columns = calloc((size_t)o.ncolumns, sizeof *q->columns)))
            rc = st_error(ST_ENOMEM, "out of memory");
        for (int i = 0; !rc && i < o.ncolumns; i++) {
            if (!(q->columns[i] = strdup(o.columns[i]))) rc = st_error(ST_ENOMEM, "out of memory");
            else q->scan_opts.ncolumns++;
        }
        q->scan_opts.columns = (const char *const *)q->columns;
    }
    if (!rc && o.filter) {
        /* Parse once up front so a bad filter fails before any file is read. */
        st_expr_t *e = NULL;
        rc = st_expr_parse(o.filter, &e);
        st_expr_free(e);
        if (!rc && !(q->filter = strdup(o.filter))) rc = st_error(ST_ENOMEM, "out of memory");
        q->scan_opts.filter = q->filter;
    }
    st_repo_list_t l;
    memset(&l, 0, sizeof l);
    if (!rc) rc = st_repo_list_by_project(r, entity_type, project, o.status, &l);
    if (!rc && l.n && !(q->files = calloc((size_t)l.n, sizeof *q->files)))
        rc = st_error(ST_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < l.n; i++) {
        int v = o.approved ? l.entries[i].approved_version : l.entries[i].version;
        if (v <= 0) continue;
        qfile_t *f = &q->files[q->nfiles];
        f->version = v;
        f->key = st_record_version_key(q->rec, l.entries[i].record_id, v);
        f->record_id = l.entries[i].record_id;
        l.entries[i].record_id = NULL;
        q->nfiles++;
        if (!f->key) rc = st_error(ST_ENOMEM, "out of memory");
    }
    st_repo_list_free(&l);
    if (!rc && q->nfiles > 0) {
        const char **keys = malloc((size_t)q->nfiles * sizeof *keys);
        if (!keys) rc = st_error(ST_ENOMEM, "out of memory");
        for (int i = 0; keys && i < q->nfiles; i++) keys[i] = q->files[i].key;
        q->scan_opts.limit = o.limit;
        if (!rc) rc = st_dataset_scan_open_files(r->store, keys, NULL, q->nfiles, &q->scan_opts, &q->scan);
        free(keys);
    }
    if (rc) {
        st_repo_query_close(q);
        return rc;
    }
    *out = q;
    return ST_OK;
}

int st_repo_query_next(st_repo_query_t *q, st_batch_t **out, const char **record_id,
                       int *version) {
    *out = NULL;
    if (!q->scan) return ST_OK; /* no record has the version asked for */
    for (;;) {
        st_batch_t *b = NULL;
        int rc = st_dataset_scan_next(q->scan, &b);
        if (rc || !b) return rc;
        if (b->nrows == 0) {
            st_batch_free(b);
            continue;
        }
        const qfile_t *f = &q->files[st_dataset_scan_file_index(q->scan)];
        *out = b;
        if (record_id) *record_id = f->record_id;
        if (version) *version = f->version;
        return ST_OK;
    }
}

void st_repo_query_stats(const st_repo_query_t *q, st_scan_stats_t *stats) {
    memset(stats, 0, sizeof *stats);
    if (q->scan) st_dataset_scan_stats(q->scan, stats);
}
