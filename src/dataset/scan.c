/* Dataset scans: files in listing order, row groups in file order. Pruning
 * comes before any data page is read: partition values decide whole files
 * (before they are opened), footer statistics decide row groups, and the
 * dictionary pages of fully dictionary-encoded chunks decide the row groups
 * that statistics could not. A surviving row group is read filter columns
 * first; the other projected columns are read only when some row matched
 * (late materialisation), and only the matching rows are copied out. */
#include "dataset/scan_internal.h"

#include "dataset/partition.h"

#include <stdlib.h>
#include <string.h>

struct st_dataset_scan {
    ds_layout_t l;
    int *proj;               /* output column -> unified field */
    int nproj;
    st_field_t *out_fields;  /* borrowed names */
    st_expr_t *expr;         /* bound to ffields */
    st_field_t *ffields;     /* the filter's columns (borrowed names) */
    int *ff_uni;             /* filter field -> unified field */
    int nff;
    int *proj_ff;            /* output column -> filter field or -1 */
    int64_t limit, emitted;
    int threads;             /* st_scan_opts_t.threads */
    st_scan_stats_t st;
    /* Partition values of the current file as 1-row columns per partition. */
    st_batch_t *pconst;
    /* Iteration. */
    int file;                /* next file to consider */
    st_pq_file_t *pf;        /* current open file */
    int *fcol;               /* unified field -> column of pf, -1 if missing */
    st_pq_chunk_pages_t *pages;
    int rg, nrg;
    bool done;
};

static bool is_partition(const st_dataset_scan_t *s, int u) { return u >= s->l.nfields - s->l.npart; }

const st_field_t *st_dataset_scan_fields(const st_dataset_scan_t *s, int *nfields) {
    *nfields = s ? s->nproj : 0;
    return s ? s->out_fields : NULL;
}

void st_dataset_scan_stats(const st_dataset_scan_t *s, st_scan_stats_t *stats) {
    *stats = s->st;
    stats->bytes_read = s->st.bytes_read + s->l.bytes_read;
}

static void close_file(st_dataset_scan_t *s) {
    st_pq_close(s->pf);
    s->pf = NULL;
    free(s->fcol);
    s->fcol = NULL;
    free(s->pages);
    s->pages = NULL;
    st_batch_free(s->pconst);
    s->pconst = NULL;
}

void st_dataset_scan_close(st_dataset_scan_t *s) {
    if (!s) return;
    close_file(s);
    st_expr_free(s->expr);
    free(s->ffields);
    free(s->ff_uni);
    free(s->proj_ff);
    free(s->proj);
    free(s->out_fields);
    ds_layout_free(&s->l);
    free(s);
}

/* ---- open ---- */

static int find_field(const ds_layout_t *l, const char *name) {
    for (int i = 0; i < l->nfields; i++)
        if (!strcmp(l->fields[i].name, name)) return i;
    return -1;
}

/* Collects the filter's columns that exist (unknown ones are left for
 * st_expr_bind to report). */
static int collect(st_dataset_scan_t *s, const st_expr_t *e) {
    if (!e) return ST_OK;
    if (e->kind == ST_EXPR_AND || e->kind == ST_EXPR_OR || e->kind == ST_EXPR_NOT) {
        int rc = collect(s, e->left);
        return rc ? rc : collect(s, e->right);
    }
    int u = e->column ? find_field(&s->l, e->column) : -1;
    if (u < 0) {
        st_buf_t names = ST_BUF_INIT;
        for (int i = 0; i < s->l.nfields; i++) {
            if (i) st_buf_append_str(&names, ", ");
            st_buf_append_str(&names, s->l.fields[i].name);
        }
        st_buf_append_byte(&names, 0);
        int rc = st_error(ST_ENOTFOUND, "filter: no column '%s' in the dataset (columns: %s)",
                          e->column ? e->column : "", names.data ? (char *)names.data : "");
        st_buf_free(&names);
        return rc;
    }
    for (int i = 0; i < s->nff; i++)
        if (s->ff_uni[i] == u) return ST_OK;
    st_field_t *nf = realloc(s->ffields, (size_t)(s->nff + 1) * sizeof *nf);
    if (!nf) return st_error(ST_ENOMEM, "out of memory");
    s->ffields = nf;
    int *nu = realloc(s->ff_uni, (size_t)(s->nff + 1) * sizeof *nu);
    if (!nu) return st_error(ST_ENOMEM, "out of memory");
    s->ff_uni = nu;
    nf[s->nff] = s->l.fields[u];
    nu[s->nff] = u;
    s->nff++;
    return ST_OK;
}

/* One row per partition column holding this file's value, typed. */
static int partition_consts(const st_dataset_scan_t *s, const ds_file_t *f, st_batch_t **out) {
    int np = s->l.npart, base = s->l.nfields - np;
    st_batch_t *b;
    int rc = st_batch_new(s->l.fields + base, np, &b);
    for (int p = 0; p < np && !rc; p++) {
        const char *v = f->pvals[p];
        rc = st_partition_append_value(&b->cols[p], v ? v : "", v ? strlen(v) : 0, !v);
        if (rc)
            rc = st_error_prefix(rc, "%s: partition %s", f->key, s->l.fields[base + p].name);
    }
    if (rc) {
        st_batch_free(b);
        return rc;
    }
    b->nrows = 1;
    *out = b;
    return ST_OK;
}

/* Ranges in filter-field layout: partition values are exact, data columns
 * come from `data` (file types, one column per filter field that the file
 * has; NULL: unknown), missing columns are all null. */
static int build_ranges(const st_dataset_scan_t *s, const st_batch_t *pconst, const st_batch_t *data,
                        const int64_t *data_nulls, const int *data_col, int64_t rows, st_batch_t **minmax,
                        int64_t *nulls) {
    st_batch_t *b;
    int rc = st_batch_new(s->ffields, s->nff, &b);
    int base = s->l.nfields - s->l.npart;
    for (int i = 0; i < s->nff && !rc; i++) {
        int u = s->ff_uni[i];
        st_column_t *c = &b->cols[i];
        if (is_partition(s, u)) {
            const st_column_t *pc = &pconst->cols[u - base];
            rc = ds_col_repeat(c, pc, 0, 2);
            nulls[i] = st_col_is_null(pc, 0) ? (rows >= 0 ? rows : -1) : 0;
            if (rows < 0 && st_col_is_null(pc, 0)) nulls[i] = -1;
        } else if (data && data_col[i] >= 0) {
            rc = ds_col_take(c, &data->cols[data_col[i]], NULL, 2);
            nulls[i] = data_nulls[data_col[i]];
        } else if (data || rows >= 0) {
            rc = ds_col_nulls(c, 2);
            nulls[i] = data_col && data_col[i] < 0 && rows >= 0 ? rows : -1;
        } else {
            rc = ds_col_nulls(c, 2);
            nulls[i] = -1;
        }
    }
    if (rc) {
        st_batch_free(b);
        return rc;
    }
    b->nrows = 2;
    *minmax = b;
    return ST_OK;
}

static int prune_files(st_dataset_scan_t *s) {
    if (!s->expr || s->l.npart == 0) return ST_OK;
    bool uses_part = false;
    for (int i = 0; i < s->nff; i++) uses_part |= is_partition(s, s->ff_uni[i]);
    if (!uses_part) return ST_OK;
    int64_t *nulls = calloc((size_t)s->nff + 1, sizeof *nulls);
    if (!nulls) return st_error(ST_ENOMEM, "out of memory");
    int rc = ST_OK;
    for (int i = 0; i < s->l.nfiles && !rc; i++) {
        st_batch_t *pc = NULL, *mm = NULL;
        rc = partition_consts(s, &s->l.files[i], &pc);
        if (!rc) rc = build_ranges(s, pc, NULL, NULL, NULL, -1, &mm, nulls);
        if (!rc) {
            st_ranges_t r = {mm, nulls, -1};
            if (!st_expr_may_match(s->expr, &r)) {
                s->l.files[i].pruned = true;
                s->st.files_pruned++;
            }
        }
        st_batch_free(mm);
        st_batch_free(pc);
    }
    free(nulls);
    return rc;
}

static int scan_init(st_store_t *store, const char *path, const st_scan_opts_t *opts, st_dataset_scan_t *s);

int st_dataset_scan_open(st_store_t *store, const char *path, const st_scan_opts_t *opts, st_dataset_scan_t **out) {
    *out = NULL;
    if (!store || !path) return st_error(ST_EINVAL, "st_dataset_scan_open: store and path are required");
    if (opts && opts->threads < 0) return st_error(ST_EINVAL, "scan: negative thread count %d", opts->threads);
    st_dataset_scan_t *s = calloc(1, sizeof *s);
    if (!s) return st_error(ST_ENOMEM, "out of memory");
    int rc = ds_layout_load(store, path, &s->l);
    if (rc) {
        free(s);
        return rc;
    }
    if ((rc = scan_init(store, path, opts, s))) return rc;
    *out = s;
    return ST_OK;
}

int st_dataset_scan_open_files(st_store_t *store, const char *const *keys, const uint64_t *sizes, int nkeys,
                               const st_scan_opts_t *opts, st_dataset_scan_t **out) {
    *out = NULL;
    if (!store) return st_error(ST_EINVAL, "st_dataset_scan_open_files: no store");
    if (opts && opts->threads < 0) return st_error(ST_EINVAL, "scan: negative thread count %d", opts->threads);
    st_dataset_scan_t *s = calloc(1, sizeof *s);
    if (!s) return st_error(ST_ENOMEM, "out of memory");
    int rc = ds_layout_load_files(store, keys, sizes, nkeys, &s->l);
    if (rc) {
        free(s);
        return rc;
    }
    if ((rc = scan_init(store, keys[0], opts, s))) return rc;
    *out = s;
    return ST_OK;
}

/* Projection, filter and file pruning over a loaded layout; frees s on
 * failure. */
static int scan_init(st_store_t *store, const char *path, const st_scan_opts_t *opts, st_dataset_scan_t *s) {
    int rc = ST_OK;
    s->limit = opts ? opts->limit : -1;
    s->threads = opts ? opts->threads : 0;
    s->st.files_total = s->l.nfiles;
    /* Projection. */
    int np = opts && opts->columns ? opts->ncolumns : s->l.nfields;
    s->proj = calloc(np > 0 ? (size_t)np : 1, sizeof *s->proj);
    s->out_fields = calloc(np > 0 ? (size_t)np : 1, sizeof *s->out_fields);
    s->proj_ff = calloc(np > 0 ? (size_t)np : 1, sizeof *s->proj_ff);
    if (!s->proj || !s->out_fields || !s->proj_ff) rc = st_error(ST_ENOMEM, "out of memory");
    for (int i = 0; i < np && !rc; i++) {
        int u = opts && opts->columns ? find_field(&s->l, opts->columns[i]) : i;
        if (u < 0) {
            char *url = st_store_object_url(store, s->l.prefix);
            rc = st_error(ST_ENOTFOUND, "%s: no column '%s' in the dataset", url ? url : path, opts->columns[i]);
            free(url);
            break;
        }
        s->proj[i] = u;
        s->out_fields[i] = s->l.fields[u];
    }
    s->nproj = np;
    /* Filter. */
    if (!rc && opts && opts->filter && *opts->filter) {
        rc = st_expr_parse(opts->filter, &s->expr);
        if (!rc) rc = collect(s, s->expr);
        if (!rc) rc = st_expr_bind(s->expr, s->ffields, s->nff);
    }
    for (int i = 0; i < np && !rc; i++) {
        s->proj_ff[i] = -1;
        for (int j = 0; j < s->nff; j++)
            if (s->ff_uni[j] == s->proj[i]) s->proj_ff[i] = j;
    }
    if (!rc) rc = prune_files(s);
    if (rc) st_dataset_scan_close(s);
    return rc;
}

/* ---- reading ---- */

static int open_file(st_dataset_scan_t *s, const ds_file_t *df) {
    st_pq_source_t src;
    int rc = ds_source_open(s->l.store, df->key, df->size, &s->st.bytes_read, &src);
    if (rc) return rc;
    if ((rc = st_pq_open(&src, &s->pf))) return rc;
    if ((rc = st_pq_set_threads(s->pf, s->threads))) return rc;
    const st_field_t *fs;
    int n;
    if ((rc = st_pq_fields(s->pf, &fs, &n))) return rc;
    s->fcol = malloc((size_t)s->l.nfields * sizeof *s->fcol);
    if (!s->fcol) return st_error(ST_ENOMEM, "out of memory");
    for (int u = 0; u < s->l.nfields; u++) {
        s->fcol[u] = -1;
        if (is_partition(s, u)) continue;
        int c = st_pq_column_index(s->pf, s->l.fields[u].name);
        if (c < 0) continue;
        if (!ds_type_widens(&fs[c].type, &s->l.fields[u].type)) {
            char ta[48], tb[48];
            st_type_format(&fs[c].type, ta, sizeof ta);
            st_type_format(&s->l.fields[u].type, tb, sizeof tb);
            char *url = st_store_object_url(s->l.store, df->key);
            rc = st_error(ST_ETYPE, "column '%s' is %s in %s but %s in %s; the types do not widen to one",
                          fs[c].name, ta, url ? url : df->key, tb, s->l.origin[u]);
            free(url);
            return rc;
        }
        s->fcol[u] = c;
    }
    s->nrg = st_pq_num_row_groups(s->pf);
    s->rg = 0;
    s->st.row_groups_total += s->nrg;
    size_t ncols = (size_t)st_pq_num_columns(s->pf);
    s->pages = calloc((size_t)(s->nrg > 0 ? s->nrg : 1) * (ncols ? ncols : 1), sizeof *s->pages);
    if (!s->pages) return st_error(ST_ENOMEM, "out of memory");
    if ((rc = st_pq_chunk_pages(s->pf, s->pages))) return rc;
    /* Pages of the chunks this query needs. */
    for (int g = 0; g < s->nrg; g++)
        for (int u = 0; u < s->l.nfields; u++) {
            bool need = false;
            for (int i = 0; i < s->nproj; i++) need |= s->proj[i] == u;
            for (int i = 0; i < s->nff; i++) need |= s->ff_uni[i] == u;
            if (need && s->fcol[u] >= 0) {
                const st_pq_chunk_pages_t *p = &s->pages[(size_t)g * ncols + (size_t)s->fcol[u]];
                s->st.pages_total += p->dict_pages + p->data_pages;
            }
        }
    return partition_consts(s, df, &s->pconst);
}

/* Statistics, then dictionaries. *skip = true when the row group cannot match. */
static int prune_row_group(st_dataset_scan_t *s, int rg, bool *skip) {
    *skip = false;
    int64_t rows = st_pq_row_group_num_rows(s->pf, rg);
    int *cols = malloc(((size_t)s->nff + 1) * sizeof *cols);
    int *data_col = malloc(((size_t)s->nff + 1) * sizeof *data_col);
    int64_t *fnulls = malloc(((size_t)s->nff + 1) * sizeof *fnulls);
    int64_t *nulls = malloc(((size_t)s->nff + 1) * sizeof *nulls);
    st_column_t **dicts = calloc((size_t)s->nff + 1, sizeof *dicts);
    st_batch_t **dbatches = calloc((size_t)s->nff + 1, sizeof *dbatches);
    st_batch_t *fmm = NULL, *mm = NULL;
    int rc = cols && data_col && fnulls && nulls && dicts && dbatches ? ST_OK : st_error(ST_ENOMEM, "out of memory");
    int nc = 0;
    for (int i = 0; i < s->nff && !rc; i++) {
        int c = s->fcol[s->ff_uni[i]];
        data_col[i] = c >= 0 ? nc : -1;
        if (c >= 0) cols[nc++] = c;
    }
    if (!rc) rc = st_pq_row_group_ranges(s->pf, rg, cols, nc, &fmm, fnulls);
    if (!rc) rc = build_ranges(s, s->pconst, fmm, fnulls, data_col, rows, &mm, nulls);
    if (!rc) {
        st_ranges_t r = {mm, nulls, rows};
        if (!st_expr_may_match(s->expr, &r)) {
            *skip = true;
            s->st.row_groups_pruned_stats++;
            goto done;
        }
    }
    /* Dictionaries of the filter's fully dictionary-encoded chunks. */
    size_t ncols = (size_t)st_pq_num_columns(s->pf);
    bool any = false;
    int64_t dict_pages = 0;
    for (int i = 0; i < s->nff && !rc; i++) {
        if (data_col[i] < 0) continue;
        int c = cols[data_col[i]];
        const st_pq_chunk_pages_t *p = &s->pages[(size_t)rg * ncols + (size_t)c];
        if (!p->all_dictionary) continue;
        st_batch_t *db = NULL;
        if ((rc = st_pq_read_dictionary(s->pf, rg, c, &db)) || !db) continue;
        dict_pages++;
        st_batch_t *wb;
        if ((rc = st_batch_new(&s->ffields[i], 1, &wb))) {
            st_batch_free(db);
            break;
        }
        rc = ds_col_take(&wb->cols[0], &db->cols[0], NULL, db->nrows);
        wb->nrows = db->nrows;
        st_batch_free(db);
        dbatches[i] = wb;
        dicts[i] = &wb->cols[0];
        any = true;
    }
    if (!rc && any && !ds_dict_may_match(s->expr, dicts)) {
        *skip = true;
        s->st.row_groups_pruned_dict++;
        /* Counted only here: a row group that is read counts its dictionary
         * pages with the rest of its chunks. */
        s->st.pages_read += dict_pages;
    }
done:
    for (int i = 0; dbatches && i < s->nff; i++) st_batch_free(dbatches[i]);
    free(dbatches);
    free(dicts);
    st_batch_free(fmm);
    st_batch_free(mm);
    free(cols);
    free(data_col);
    free(fnulls);
    free(nulls);
    return rc;
}

/* Whether page p of filter field i (bounds in pr) may hold a matching row,
 * the other filter columns being unknown. */
static int page_may_match(st_dataset_scan_t *s, int i, const st_pq_page_ranges_t *pr, int p, bool *may) {
    st_batch_t *mm;
    int64_t *nulls = malloc((size_t)s->nff * sizeof *nulls);
    int rc = nulls ? st_batch_new(s->ffields, s->nff, &mm) : st_error(ST_ENOMEM, "out of memory");
    if (rc) {
        free(nulls);
        return rc;
    }
    int32_t idx[2] = {2 * p, 2 * p + 1};
    for (int j = 0; j < s->nff && !rc; j++) {
        nulls[j] = j == i ? pr->null_counts[p] : -1;
        rc = j == i ? ds_col_take(&mm->cols[j], &pr->bounds->cols[0], idx, 2) : ds_col_nulls(&mm->cols[j], 2);
    }
    if (!rc) {
        mm->nrows = 2;
        st_ranges_t r = {mm, nulls, pr->num_rows[p]};
        *may = st_expr_may_match(s->expr, &r);
    }
    st_batch_free(mm);
    free(nulls);
    return rc;
}

/* Page-level pruning: the rows [*lo, *hi) of row group rg outside of which the
 * page statistics of every filter column rule out a match (the hull of each
 * column's surviving pages, intersected). Chunks of one page are not walked:
 * they have nothing to skip. */
static int page_window(st_dataset_scan_t *s, int rg, int64_t *lo, int64_t *hi) {
    size_t ncols = (size_t)st_pq_num_columns(s->pf);
    int rc = ST_OK;
    for (int i = 0; i < s->nff && !rc && *lo < *hi; i++) {
        int c = s->fcol[s->ff_uni[i]];
        if (c < 0 || s->pages[(size_t)rg * ncols + (size_t)c].data_pages < 2) continue;
        st_pq_page_ranges_t pr;
        if ((rc = st_pq_page_ranges(s->pf, rg, c, &pr))) break;
        int64_t a = INT64_MAX, b = 0;
        for (int p = 0; p < pr.npages && !rc; p++) {
            bool may = true;
            if ((rc = page_may_match(s, i, &pr, p, &may)) || !may) continue;
            if (pr.first_row[p] < a) a = pr.first_row[p];
            if (pr.first_row[p] + pr.num_rows[p] > b) b = pr.first_row[p] + pr.num_rows[p];
        }
        st_pq_page_ranges_free(&pr);
        if (a > *lo) *lo = a;
        if (b < *hi) *hi = b;
    }
    if (*lo > *hi) *lo = *hi;
    return rc;
}

/* Reads the file columns for unified fields us[0..n) of rows [lo, hi) of row
 * group rg and lays them out as a batch of `fields` (partition values
 * repeated, missing columns null, narrower types widened). */
static int read_fields(st_dataset_scan_t *s, int rg, int64_t lo, int64_t hi, const int *us,
                       const st_field_t *fields, int n, st_batch_t **out) {
    int64_t rows = hi - lo;
    int *cols = malloc(((size_t)n + 1) * sizeof *cols);
    int *pos = malloc(((size_t)n + 1) * sizeof *pos);
    st_batch_t *raw = NULL, *b = NULL;
    int rc = cols && pos ? ST_OK : st_error(ST_ENOMEM, "out of memory");
    int nc = 0;
    for (int i = 0; i < n && !rc; i++) {
        int c = s->fcol[us[i]];
        pos[i] = c >= 0 ? nc : -1;
        if (c >= 0) cols[nc++] = c;
    }
    if (!rc && nc > 0) {
        int64_t before = st_pq_pages_decoded(s->pf);
        rc = st_pq_read_rows(s->pf, rg, cols, nc, lo, hi, &raw);
        s->st.pages_read += st_pq_pages_decoded(s->pf) - before;
    }
    if (!rc) rc = st_batch_new(fields, n, &b);
    int base = s->l.nfields - s->l.npart;
    for (int i = 0; i < n && !rc; i++) {
        st_column_t *c = &b->cols[i];
        if (is_partition(s, us[i])) rc = ds_col_repeat(c, &s->pconst->cols[us[i] - base], 0, rows);
        else if (pos[i] < 0) rc = ds_col_nulls(c, rows);
        else if (raw->cols[pos[i]].field.type.id == c->field.type.id) ds_col_move(c, &raw->cols[pos[i]]);
        else rc = ds_col_take(c, &raw->cols[pos[i]], NULL, rows);
    }
    st_batch_free(raw);
    free(cols);
    free(pos);
    if (rc) {
        st_batch_free(b);
        return rc;
    }
    b->nrows = rows;
    *out = b;
    return ST_OK;
}

/* The next row group's matching rows, or *out = NULL when it has none. */
static int scan_row_group(st_dataset_scan_t *s, int rg, st_batch_t **out) {
    *out = NULL;
    int64_t rows = st_pq_row_group_num_rows(s->pf, rg);
    if (s->expr) {
        bool skip;
        int rc = prune_row_group(s, rg, &skip);
        if (rc || skip) return rc;
    }
    int64_t want = s->limit >= 0 ? s->limit - s->emitted : rows;
    if (want > rows) want = rows;
    st_batch_t *fb = NULL, *rest = NULL, *b = NULL;
    uint8_t *sel = NULL;
    int32_t *idx = NULL;
    int64_t n = rows;
    /* Rows [lo, hi) hold every candidate; the other columns are read for
     * [rlo, rhi), the hull of the matches. */
    int64_t lo = 0, hi = rows, rlo = 0, rhi = want;
    int rc = ST_OK;
    if (s->expr) {
        if ((rc = page_window(s, rg, &lo, &hi))) goto done;
        if (lo == hi) {
            s->st.row_groups_pruned_stats++;
            goto done;
        }
        /* Filter columns first. */
        if ((rc = read_fields(s, rg, lo, hi, s->ff_uni, s->ffields, s->nff, &fb))) goto done;
        s->st.rows_read += hi - lo;
        sel = calloc((size_t)(hi - lo) + 1, 1);
        idx = malloc(((size_t)(hi - lo) + 1) * sizeof *idx);
        if (!sel || !idx) {
            rc = st_error(ST_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = st_expr_eval(s->expr, fb, sel))) goto done;
        n = 0;
        for (int64_t i = 0; i < hi - lo && n < want; i++)
            if (sel[i]) idx[n++] = (int32_t)i;
        if (n == 0) goto done;
        rlo = lo + idx[0];
        rhi = lo + idx[n - 1] + 1;
    } else {
        s->st.rows_read += want;
        n = want;
    }
    /* The projected columns the filter did not already bring. */
    int *ru = malloc(((size_t)s->nproj + 1) * sizeof *ru);
    st_field_t *rf = malloc(((size_t)s->nproj + 1) * sizeof *rf);
    int *rpos = malloc(((size_t)s->nproj + 1) * sizeof *rpos);
    int nr = 0;
    if (!ru || !rf || !rpos) rc = st_error(ST_ENOMEM, "out of memory");
    for (int i = 0; i < s->nproj && !rc; i++) {
        rpos[i] = -1;
        if (s->proj_ff[i] >= 0) continue;
        int dup = -1;
        for (int j = 0; j < i; j++)
            if (s->proj[j] == s->proj[i] && rpos[j] >= 0) dup = rpos[j];
        if (dup >= 0) {
            rpos[i] = dup;
            continue;
        }
        rpos[i] = nr;
        ru[nr] = s->proj[i];
        rf[nr++] = s->out_fields[i];
    }
    if (!rc && nr > 0) rc = read_fields(s, rg, rlo, rhi, ru, rf, nr, &rest);
    if (!rc) rc = st_batch_new(s->out_fields, s->nproj, &b);
    /* Matches relative to rlo, for the columns read from there. */
    int32_t *ridx = NULL;
    if (!rc && idx && rlo > lo) {
        if (!(ridx = malloc((size_t)n * sizeof *ridx))) rc = st_error(ST_ENOMEM, "out of memory");
        for (int64_t k = 0; !rc && k < n; k++) ridx[k] = idx[k] - (int32_t)(rlo - lo);
    }
    for (int i = 0; i < s->nproj && !rc; i++) {
        bool from_filter = s->proj_ff[i] >= 0;
        st_column_t *src = from_filter ? &fb->cols[s->proj_ff[i]] : &rest->cols[rpos[i]];
        /* Every row of the source is wanted, in order: move it whole. */
        bool all = from_filter ? n == hi - lo : n == rhi - rlo;
        bool dup_use = false;
        for (int j = 0; j < i; j++) dup_use |= s->proj[j] == s->proj[i];
        if (all && !dup_use && src->field.type.id == b->cols[i].field.type.id)
            ds_col_move(&b->cols[i], src);
        else
            rc = ds_col_take(&b->cols[i], src, all ? NULL : from_filter || !ridx ? idx : ridx, n);
    }
    free(ridx);
    free(ru);
    free(rf);
    free(rpos);
    if (!rc) {
        b->nrows = n;
        s->emitted += n;
        s->st.rows_matched += n;
        *out = b;
        b = NULL;
    }
done:
    st_batch_free(b);
    st_batch_free(fb);
    st_batch_free(rest);
    free(sel);
    free(idx);
    return rc;
}

int st_dataset_scan_next(st_dataset_scan_t *s, st_batch_t **out) {
    *out = NULL;
    if (!s) return st_error(ST_EINVAL, "st_dataset_scan_next: no scan");
    while (!s->done) {
        if (s->limit >= 0 && s->emitted >= s->limit) break;
        if (!s->pf) {
            while (s->file < s->l.nfiles && s->l.files[s->file].pruned) s->file++;
            if (s->file >= s->l.nfiles) break;
            const ds_file_t *df = &s->l.files[s->file++];
            int rc = open_file(s, df);
            if (rc) {
                close_file(s);
                s->done = true;
                return rc;
            }
        }
        if (s->rg >= s->nrg) {
            close_file(s);
            continue;
        }
        st_batch_t *b;
        int rc = scan_row_group(s, s->rg++, &b);
        if (rc) {
            close_file(s);
            s->done = true;
            return rc;
        }
        if (b) {
            *out = b;
            return ST_OK;
        }
    }
    s->done = true;
    close_file(s);
    return ST_OK;
}

int st_dataset_scan_file_index(const st_dataset_scan_t *s) { return s ? s->file - 1 : -1; }
