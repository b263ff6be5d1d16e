/* Query: the chosen version of every record of a project, read as one table.
 * The index says which version file each record has (no record is opened);
 * each file is read through the dataset scan with the caller's projection,
 * filter and the limit left over. The dataset API scans a prefix or one file,
 * so the files are scanned one after another. */
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
    int64_t left; /* < 0: no limit */
    qfile_t *files;
    int nfiles, next;
    st_dataset_scan_t *scan;
    int cur;
    st_scan_stats_t stats;
};

static void add_stats(st_scan_stats_t *a, const st_scan_stats_t *b) {
    a->files_total += b->files_total;
    a->files_pruned += b->files_pruned;
    a->row_groups_total += b->row_groups_total;
    a->row_groups_pruned_stats += b->row_groups_pruned_stats;
    a->row_groups_pruned_dict += b->row_groups_pruned_dict;
    a->pages_total += b->pages_total;
    a->pages_read += b->pages_read;
    a->rows_read += b->rows_read;
    a->rows_matched += b->rows_matched;
    a->bytes_read += b->bytes_read;
}

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
    q->cur = -1;
    q->left = o.limit;
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
    for (;;) {
        if (q->left == 0) return ST_OK;
        if (!q->scan) {
            if (q->next >= q->nfiles) return ST_OK;
            q->cur = q->next++;
            q->scan_opts.limit = q->left;
            int rc = st_dataset_scan_open(q->repo->store, q->files[q->cur].key,
                                          &q->scan_opts, &q->scan);
            if (rc) return st_error_prefix(rc, "record %s v%d", q->files[q->cur].record_id,
                                           q->files[q->cur].version);
        }
        st_batch_t *b = NULL;
        int rc = st_dataset_scan_next(q->scan, &b);
        if (rc) return st_error_prefix(rc, "record %s v%d", q->files[q->cur].record_id,
                                       q->files[q->cur].version);
        if (!b) {
            st_scan_stats_t s;
            st_dataset_scan_stats(q->scan, &s);
            add_stats(&q->stats, &s);
            st_dataset_scan_close(q->scan);
            q->scan = NULL;
            continue;
        }
        if (b->nrows == 0) {
            st_batch_free(b);
            continue;
        }
        if (q->left > 0) q->left = q->left > b->nrows ? q->left - b->nrows : 0;
        *out = b;
        if (record_id) *record_id = q->files[q->cur].record_id;
        if (version) *version = q->files[q->cur].version;
        return ST_OK;
    }
}

void st_repo_query_stats(const st_repo_query_t *q, st_scan_stats_t *stats) {
    *stats = q->stats;
    if (q->scan) {
        st_scan_stats_t s;
        st_dataset_scan_stats(q->scan, &s);
        add_stats(stats, &s);
    }
}
