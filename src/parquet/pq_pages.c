/* Page-level statistics of a flat column chunk (st_pq_page_ranges): the
 * bounds that data page headers carry, so a scan can skip the pages of a
 * surviving row group that cannot match before decoding any of them. */
#include <stdlib.h>
#include <string.h>

#include "parquet/pq_internal.h"
#include "parquet/pq_ranges.h"

typedef struct collect {
    st_pq_page_ranges_t *r;
    const pq_node_t *node;
    int cap;
} collect_t;

static int grow(collect_t *c) {
    int cap = c->cap ? c->cap * 2 : 16;
    int64_t *a = realloc(c->r->first_row, (size_t)cap * sizeof *a);
    if (a) c->r->first_row = a;
    int64_t *b = a ? realloc(c->r->num_rows, (size_t)cap * sizeof *b) : NULL;
    if (b) c->r->num_rows = b;
    int64_t *n = b ? realloc(c->r->null_counts, (size_t)cap * sizeof *n) : NULL;
    if (n) c->r->null_counts = n;
    if (!n) return st_error(ST_ENOMEM, "out of memory (page ranges)");
    c->cap = cap;
    return ST_OK;
}

static int visit(void *ctx, const pq_page_info_t *p) {
    collect_t *c = ctx;
    st_pq_page_ranges_t *r = c->r;
    int rc;
    if (r->npages == c->cap && (rc = grow(c))) return rc;
    r->first_row[r->npages] = p->first_row;
    r->num_rows[r->npages] = p->num_rows;
    r->null_counts[r->npages] = c->node->repetition == PQ_REQUIRED ? 0 : p->has_null_count ? p->null_count : -1;
    st_column_t *col = &r->bounds->cols[0];
    bool ok = p->has_min && p->has_max;
    rc = ok ? pq_append_plain_value(col, c->node, p->min, p->min_len) : st_col_append_null(col);
    if (!rc) rc = ok ? pq_append_plain_value(col, c->node, p->max, p->max_len) : st_col_append_null(col);
    if (rc) return rc;
    r->bounds->nrows += 2;
    r->npages++;
    return ST_OK;
}

int st_pq_page_ranges(st_pq_file_t *f, int rg, int col, st_pq_page_ranges_t *out) {
    memset(out, 0, sizeof *out);
    const st_field_t *fields;
    int nfields;
    int rc = st_pq_fields(f, &fields, &nfields);
    if (rc) return rc;
    if (rg < 0 || rg >= f->num_row_groups || col < 0 || col >= nfields)
        return st_error(ST_EINVAL, "%s: no row group %d / column %d", f->src.name, rg, col);
    const pq_node_t *node = &f->nodes[f->nodes[0].children[col]];
    if ((rc = st_batch_new(&fields[col], 1, &out->bounds))) return rc;
    collect_t c = {out, node, 0};
    if (!(rc = grow(&c))) rc = pq_walk_pages(f, rg, node->leaf, visit, &c);
    if (rc) st_pq_page_ranges_free(out);
    return rc;
}

void st_pq_page_ranges_free(st_pq_page_ranges_t *r) {
    if (!r) return;
    free(r->first_row);
    free(r->num_rows);
    free(r->null_counts);
    st_batch_free(r->bounds);
    memset(r, 0, sizeof *r);
}

int64_t st_pq_pages_decoded(const st_pq_file_t *f) {
    return f ? __atomic_load_n(&f->pages_decoded, __ATOMIC_RELAXED) : 0;
}
