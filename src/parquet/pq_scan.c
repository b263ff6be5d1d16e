/* st_pq_scan_json: row groups in footer order, one at a time, decoded only for
 * the leaves of the projected columns, assembled into canonical JSON rows.
 * Memory is bounded by one row group of the projected columns. */
#include "parquet/pq_output.h"

#include <stdlib.h>
#include <string.h>

int st_pq_scan_json(st_pq_file_t *f, const st_pq_scan_t *scan, st_pq_emit_fn emit, void *ctx) {
    if (!f || !emit) return st_error(ST_EINVAL, "st_pq_scan_json: file and emit are required");
    const int *columns = scan ? scan->columns : NULL;
    int ncolumns = scan ? scan->ncolumns : 0;
    int64_t limit = scan ? scan->limit : -1;
    pq_plan_t *plan;
    int rc = pq_plan_build(f, columns, ncolumns, &plan);
    if (rc) return rc;
    size_t nl = f->num_leaves > 0 ? (size_t)f->num_leaves : 1;
    pq_column_data_t *data = calloc(nl, sizeof *data);
    const pq_column_data_t **cols = calloc(nl, sizeof *cols);
    if (!data || !cols) {
        rc = st_error(ST_ENOMEM, "out of memory");
        goto done;
    }
    int64_t emitted = 0;
    for (int rg = 0; rg < f->num_row_groups && !rc; rg++) {
        if (scan && scan->row_groups && !scan->row_groups[rg]) continue;
        if (limit >= 0 && emitted >= limit) break;
        int64_t nrows = f->row_groups[rg].num_rows;
        int got = 0;
        for (; got < plan->nleaves; got++) {
            int l = plan->leaves[got];
            memset(&data[l], 0, sizeof data[l]);
            if ((rc = pq_read_column(f, rg, l, &data[l]))) {
                got++; /* a failed read may still hold allocations */
                break;
            }
            cols[l] = &data[l];
        }
        if (!rc)
            rc = pq_plan_emit(plan, f, rg, cols, nrows, limit >= 0 ? limit - emitted : -1, emit,
                              ctx, &emitted);
        for (int i = 0; i < got; i++) {
            int l = plan->leaves[i];
            pq_column_data_free(&data[l]);
            cols[l] = NULL;
        }
    }
done:
    free(data);
    free(cols);
    pq_plan_free(plan);
    return rc;
}
