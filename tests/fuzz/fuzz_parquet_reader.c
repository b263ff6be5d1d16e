/*
 * libFuzzer target for the Parquet reader: opens the input as a file in
 * memory, decodes every column chunk of every row group, renders the footer
 * outputs, walks page statistics, reads a window of rows of every row group
 * and scans all rows as canonical JSON. Any crash, sanitizer report,
 * hang or outsized allocation is a bug; clean errors are expected.
 */
#include <stdint.h>
#include <stdlib.h>

#include "parquet/pq_internal.h"

static int ignore_row(void *ctx, const char *line, size_t n) {
    (void)line;
    size_t *total = ctx;
    *total += n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_pq_source_t src;
    if (st_pq_source_mem(data, size, "fuzz.parquet", &src)) return 0;
    st_pq_file_t *f;
    if (st_pq_open(&src, &f)) return 0;
    for (int g = 0; g < st_pq_num_row_groups(f); g++)
        for (int l = 0; l < f->num_leaves; l++) {
            pq_column_data_t c;
            if (pq_read_column(f, g, l, &c) == 0) pq_column_data_free(&c);
        }
    st_buf_t b = ST_BUF_INIT;
    (void)st_pq_schema_json(f, &b);
    st_buf_reset(&b);
    (void)st_pq_schema_text(f, &b);
    st_buf_reset(&b);
    (void)st_pq_meta_json(f, &b);
    st_buf_free(&b);
    if (st_pq_num_columns(f) > 0) {
        bool keep[64];
        st_pq_pred_t p = {st_pq_column_name(f, 0), ST_PQ_GE, "1"};
        if (st_pq_num_row_groups(f) <= 64) (void)st_pq_select_row_groups(f, &p, 1, keep);
    }
    /* Page statistics and row windows of flat files (st_pq_fields fails for
     * nested ones). */
    const st_field_t *fields;
    int nfields;
    if (st_pq_fields(f, &fields, &nfields) == 0) {
        for (int g = 0; g < st_pq_num_row_groups(f) && g < 4; g++) {
            for (int c = 0; c < nfields && c < 8; c++) {
                st_pq_page_ranges_t pr;
                if (st_pq_page_ranges(f, g, c, &pr) == 0) st_pq_page_ranges_free(&pr);
            }
            int64_t n = st_pq_row_group_num_rows(f, g);
            st_batch_t *w;
            if (n > 0 && n < (INT64_C(1) << 40) && st_pq_read_rows(f, g, NULL, 0, n / 3, n - n / 3, &w) == 0)
                st_batch_free(w);
        }
    }
    size_t total = 0;
    (void)st_pq_scan_json(f, NULL, ignore_row, &total);
    st_pq_close(f);
    return 0;
}
