/* Dataset benchmark, strata side (bench/dataset.sh runs it and DuckDB).
 *
 *   bench_dataset gen DIR ROWS       writes DIR/ds: ROWS rows over 20 projects,
 *                                    partitioned by project (project=pNN/), each
 *                                    project's rows sorted by time, row groups of
 *                                    100,000 rows, plus _strata_schema.json
 *   bench_dataset query DIR ROWS     times the selective query (one project, a
 *                                    time window holding 0.1% of all rows; every
 *                                    column of the matching rows is aggregated)
 *                                    and the full scan (every row of time, depth
 *                                    and value aggregated); best of 10 runs (selective) and 3 (full),
 *                                    prints one JSON line
 *
 * Columns: time timestamp(us, UTC), borehole string, depth double,
 * value double, status string, remark string (90% null); project (partition). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "strata/dataset.h"

#define PROJECTS 20
#define RG_ROWS 100000
#define T0 INT64_C(1704067200000000) /* 2024-01-01T00:00:00Z */
#define STEP_US INT64_C(1000000)     /* one reading per second per project */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc) {
    fprintf(stderr, "bench_dataset: %s: %s (%s)\n", what, st_errmsg(), st_strerror(rc));
    exit(1);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static double rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static st_field_t fields[6];

static void init_fields(void) {
    const char *names[] = {"time", "borehole", "depth", "value", "status", "remark"};
    for (int i = 0; i < 6; i++) {
        memset(&fields[i], 0, sizeof fields[i]);
        fields[i].name = (char *)names[i];
        fields[i].nullable = true;
    }
    fields[0].type.id = ST_TYPE_TIMESTAMP;
    fields[0].type.unit = ST_UNIT_US;
    fields[0].type.utc = true;
    fields[0].nullable = false;
    fields[1].type.id = ST_TYPE_STRING;
    fields[2].type.id = ST_TYPE_DOUBLE;
    fields[3].type.id = ST_TYPE_DOUBLE;
    fields[4].type.id = ST_TYPE_STRING;
    fields[5].type.id = ST_TYPE_STRING;
}

static int gen(const char *dir, int64_t rows) {
    static const char *statuses[] = {"draft", "submitted", "approved", "rejected"};
    char url[4200];
    snprintf(url, sizeof url, "file://%s", dir);
    st_store_t *s;
    int rc = st_store_open(url, &s);
    if (rc) die(url, rc);
    const char *schema =
        "{\"name\":\"readings\",\"fields\":[{\"name\":\"time\",\"type\":\"timestamp(us, UTC)\",\"nullable\":false},"
        "{\"name\":\"borehole\",\"type\":\"string\"},{\"name\":\"depth\",\"type\":\"double\"},"
        "{\"name\":\"value\",\"type\":\"double\"},{\"name\":\"status\",\"type\":\"string\"},"
        "{\"name\":\"remark\",\"type\":\"string\"},{\"name\":\"project\",\"type\":\"string\"}]}";
    if ((rc = st_store_put(s, "ds/_strata_schema.json", schema, strlen(schema), NULL, NULL))) die("schema", rc);
    int64_t per = rows / PROJECTS;
    double t0 = now();
    for (int p = 0; p < PROJECTS; p++) {
        char key[128];
        snprintf(key, sizeof key, "ds/project=p%02d/readings-0.parquet", p);
        st_pq_sink_t sink;
        if ((rc = st_pq_sink_store(s, key, NULL, &sink))) die(key, rc);
        st_pq_write_opts_t o;
        st_pq_write_opts_default(&o);
        o.row_group_rows = RG_ROWS;
        st_pq_writer_t *w;
        if ((rc = st_pq_writer_open(&sink, fields, 6, &o, &w))) die(key, rc);
        st_batch_t *b;
        if ((rc = st_batch_new(fields, 6, &b))) die("batch", rc);
        for (int64_t i = 0; i < per; i++) {
            char bh[16], rem[32];
            int bn = snprintf(bh, sizeof bh, "BH-%02d-%03d", p, (int)((i / 1000) % 400));
            st_col_append_i64(&b->cols[0], T0 + i * STEP_US);
            st_col_append_bytes(&b->cols[1], bh, (size_t)bn);
            st_col_append_double(&b->cols[2], (double)(i % 3000) / 10.0);
            st_col_append_double(&b->cols[3], floor(rnd() * 1e6) / 1e3);
            const char *st = statuses[(i / 5000) % 4];
            st_col_append_bytes(&b->cols[4], st, strlen(st));
            if (rnd() < 0.9) st_col_append_null(&b->cols[5]);
            else {
                int rn = snprintf(rem, sizeof rem, "check %d", (int)(rnd() * 100));
                st_col_append_bytes(&b->cols[5], rem, (size_t)rn);
            }
            st_batch_end_row(b);
            if (b->nrows == 65536 || i == per - 1) {
                if ((rc = st_pq_writer_write(w, b))) die("write", rc);
                st_batch_clear(b);
            }
        }
        st_batch_free(b);
        if ((rc = st_pq_writer_close(w))) die("close", rc);
    }
    st_store_close(s);
    fprintf(stderr, "generated %lld rows in %.1f s\n", (long long)(per * PROJECTS), now() - t0);
    return 0;
}

typedef struct agg {
    int64_t rows;
    double sum_depth, sum_value;
    int64_t xor_time, nonnull_remark, sum_len;
} agg_t;

static double run(st_store_t *s, const char *filter, const char *const *cols, int ncols, int threads, agg_t *a,
                  st_scan_stats_t *st) {
    double t0 = now();
    st_scan_opts_t o = {.columns = cols, .ncolumns = ncols, .filter = filter, .limit = -1, .threads = threads};
    st_dataset_scan_t *sc;
    int rc = st_dataset_scan_open(s, "ds", &o, &sc);
    if (rc) die("scan_open", rc);
    memset(a, 0, sizeof *a);
    int nf;
    const st_field_t *fs = st_dataset_scan_fields(sc, &nf);
    for (;;) {
        st_batch_t *b;
        if ((rc = st_dataset_scan_next(sc, &b))) die("scan", rc);
        if (!b) break;
        for (int c = 0; c < nf; c++) {
            const st_column_t *col = &b->cols[c];
            const char *n = fs[c].name;
            if (!strcmp(n, "time")) {
                const int64_t *v = (const int64_t *)(const void *)col->values.data;
                for (int64_t i = 0; i < b->nrows; i++) a->xor_time ^= v[i];
            } else if (!strcmp(n, "depth") || !strcmp(n, "value")) {
                const double *v = (const double *)(const void *)col->values.data;
                double sum = 0;
                for (int64_t i = 0; i < b->nrows; i++) sum += v[i];
                if (n[0] == 'd') a->sum_depth += sum;
                else a->sum_value += sum;
            } else if (!strcmp(n, "remark")) {
                a->nonnull_remark += b->nrows - col->null_count;
            } else {
                const int32_t *o32 = (const int32_t *)(const void *)col->offsets.data;
                a->sum_len += o32[b->nrows] - o32[0];
            }
        }
        a->rows += b->nrows;
        st_batch_free(b);
    }
    st_dataset_scan_stats(sc, st);
    st_dataset_scan_close(sc);
    return now() - t0;
}

static int query(const char *dir, int64_t rows) {
    char url[4200];
    snprintf(url, sizeof url, "file://%s", dir);
    st_store_t *s;
    int rc = st_store_open(url, &s);
    if (rc) die(url, rc);
    /* 0.1% of all rows = 2% of one project's, in the middle of its time span. */
    int64_t per = rows / PROJECTS, win = rows / 1000;
    int64_t from = T0 + (per / 2) * STEP_US, to = from + win * STEP_US;
    char a[40], b[40], filter[256];
    st_format_timestamp(from, 6, true, a, sizeof a);
    st_format_timestamp(to, 6, true, b, sizeof b);
    snprintf(filter, sizeof filter, "project = 'p07' and time >= '%s' and time < '%s'", a, b);
    agg_t sel, full;
    st_scan_stats_t sst, fst, all;
    const char *cols[] = {"time", "depth", "value"};
    /* Best of 10 (selective: a few milliseconds, so noise dominates one run)
     * and of 3 (full scan), with one thread and with one per CPU. */
    double best_sel[2] = {1e9, 1e9}, best_full[2] = {1e9, 1e9};
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < 10; i++) {
            double x = run(s, filter, NULL, 0, t ? 0 : 1, &sel, &sst);
            if (x < best_sel[t]) best_sel[t] = x;
        }
        for (int i = 0; i < 3; i++) {
            double x = run(s, NULL, cols, 3, t ? 0 : 1, &full, &fst);
            if (x < best_full[t]) best_full[t] = x;
        }
    }
    /* Row groups of the whole dataset (the selective scan never opens the
     * files of other projects). */
    all = fst;
    double skipped = all.row_groups_total
                         ? 1.0 - (double)(sst.row_groups_total - sst.row_groups_pruned_stats - sst.row_groups_pruned_dict) /
                                     (double)all.row_groups_total
                         : 0;
    printf("{\"filter\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"sel_s\":%.6f,\"sel_auto_s\":%.6f,\"full_auto_s\":%.6f,"
           "\"cpus\":%ld,\"sel_rows\":%lld,\"sel_bytes\":%llu,"
           "\"sel_files_pruned\":%lld,\"sel_rg_read\":%lld,\"rg_total\":%lld,\"rg_skipped_frac\":%.5f,"
           "\"sel_sum_value\":%.3f,\"full_s\":%.6f,\"full_rows\":%lld,\"full_bytes\":%llu,\"full_sum_value\":%.3f,"
           "\"full_sum_depth\":%.3f,\"full_xor_time\":%lld}\n",
           filter, a, b, best_sel[0], best_sel[1], best_full[1], sysconf(_SC_NPROCESSORS_ONLN), (long long)sel.rows, (unsigned long long)sst.bytes_read,
           (long long)sst.files_pruned,
           (long long)(sst.row_groups_total - sst.row_groups_pruned_stats - sst.row_groups_pruned_dict),
           (long long)all.row_groups_total, skipped, sel.sum_value, best_full[0], (long long)full.rows,
           (unsigned long long)fst.bytes_read, full.sum_value, full.sum_depth, (long long)full.xor_time);
    st_store_close(s);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: bench_dataset gen|query DIR ROWS\n");
        return 2;
    }
    init_fields();
    st_keep_freed_memory(); /* as the strata CLI does */
    int64_t rows = strtoll(argv[3], NULL, 10);
    if (!strcmp(argv[1], "gen")) return gen(argv[2], rows);
    return query(argv[2], rows);
}
