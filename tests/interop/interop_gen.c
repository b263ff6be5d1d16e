/*
 * Generator for the DuckDB interop test (tests/interop/duckdb.test.sh).
 *
 *   interop_gen matrix DIR   writes the file matrix, the expected rows and
 *                            statistics (from the generator's own data), and
 *                            DIR/manifest.json
 *   interop_gen cat FILE     prints FILE in canonical JSON Lines through
 *                            st_pq_scan_json (used when the CLI is missing)
 *
 * Matrix: every strata type (one column each, plus a low-cardinality string and,
 * in the nullable variant, an all-null column) x codec x dictionary on/off x
 * nullable or not x data page v1/v2. 2600 rows in row groups of 1000 rows and
 * pages of about 1 KiB, so every chunk has several pages; the dictionary limit is
 * 2 KiB so some chunks fall back to PLAIN part-way.
 */
#include "interop/gen_data.h"
#include "strata/parquet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROWS 2600
#define RG_ROWS 1000
#define BATCH_ROWS 700 /* deliberately not aligned with row groups or pages */
#define NRG ((ROWS + RG_ROWS - 1) / RG_ROWS)

static int die(const char *what) {
    fprintf(stderr, "interop_gen: %s: %s\n", what, st_errmsg());
    return 1;
}

static int write_text(const char *path, const st_buf_t *b) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0) {
        fprintf(stderr, "interop_gen: cannot write %s\n", path);
        return 1;
    }
    return 0;
}

typedef struct variant {
    bool nullable;
    int ncols; /* generated columns + the all-null one */
    st_field_t fields[GEN_NCOLS + 1];
} variant_t;

static void variant_init(variant_t *v, bool nullable) {
    v->nullable = nullable;
    v->ncols = GEN_NCOLS + (nullable ? 1 : 0);
    for (int c = 0; c < GEN_NCOLS; c++) {
        v->fields[c].name = (char *)gen_cols[c].name;
        st_type_parse(gen_cols[c].type, &v->fields[c].type);
        v->fields[c].nullable = nullable;
    }
    if (nullable) {
        v->fields[GEN_NCOLS].name = (char *)"c_allnull";
        st_type_parse("int32", &v->fields[GEN_NCOLS].type);
        v->fields[GEN_NCOLS].nullable = true;
    }
}

static void value_at(const variant_t *v, int c, int64_t r, gen_val_t *out) {
    if (c == GEN_NCOLS) {
        memset(out, 0, offsetof(gen_val_t, bytes));
        out->null = true;
        return;
    }
    gen_make(c, &v->fields[c].type, r, out);
    out->null = v->nullable && gen_is_null(c, r);
}

/* Expected rows (canonical JSON Lines) and per-row-group statistics. */
static int write_expected(const variant_t *v, const char *dir, const char *tag) {
    static gen_val_t val;
    static gen_stats_t st[NRG][GEN_NCOLS + 1];
    memset(st, 0, sizeof st);
    st_buf_t rows = ST_BUF_INIT, stats = ST_BUF_INIT;
    for (int64_t r = 0; r < ROWS; r++) {
        st_buf_append_byte(&rows, '{');
        for (int c = 0; c < v->ncols; c++) {
            value_at(v, c, r, &val);
            if (c) st_buf_append_byte(&rows, ',');
            st_json_append_string(&rows, v->fields[c].name, strlen(v->fields[c].name));
            st_buf_append_byte(&rows, ':');
            if (gen_json(&rows, &v->fields[c].type, &val)) return die("expected value");
            gen_stats_add(&st[r / RG_ROWS][c], &val);
        }
        st_buf_append_str(&rows, "}\n");
    }
    /* One line per row group and column: rg, column, min, max, null count
     * (canonical JSON texts hold no raw tab or newline). */
    for (int g = 0; g < NRG; g++)
        for (int c = 0; c < v->ncols; c++) {
            st_buf_printf(&stats, "%d\t%s\t", g, v->fields[c].name);
            gen_stats_json(&stats, &v->fields[c].type, &st[g][c], 0);
            st_buf_append_byte(&stats, '\t');
            gen_stats_json(&stats, &v->fields[c].type, &st[g][c], 1);
            st_buf_printf(&stats, "\t%lld\n", (long long)st[g][c].nulls);
        }
    char path[4096];
    snprintf(path, sizeof path, "%s/expected_%s.jsonl", dir, tag);
    int bad = write_text(path, &rows);
    snprintf(path, sizeof path, "%s/expected_%s.stats.tsv", dir, tag);
    bad |= write_text(path, &stats);
    st_buf_free(&rows);
    st_buf_free(&stats);
    return bad;
}

static int write_file(const variant_t *v, const char *path, st_codec_t codec, bool dict, int page_version) {
    static gen_val_t val;
    st_pq_write_opts_t o;
    st_pq_write_opts_default(&o);
    o.codec = codec;
    o.dictionary = dict;
    o.dictionary_limit = 2048;
    o.page_bytes = 1024;
    o.page_version = page_version;
    o.row_group_rows = RG_ROWS;
    st_pq_sink_t sink;
    st_pq_writer_t *w;
    st_batch_t *b;
    if (st_pq_sink_file(path, &sink)) return die(path);
    if (st_pq_writer_open(&sink, v->fields, v->ncols, &o, &w)) return die(path);
    if (st_pq_writer_add_kv(w, "strata.interop", "duckdb")) return die(path);
    if (st_batch_new(v->fields, v->ncols, &b)) return die("batch");
    for (int64_t r0 = 0; r0 < ROWS; r0 += BATCH_ROWS) {
        st_batch_clear(b);
        for (int64_t r = r0; r < r0 + BATCH_ROWS && r < ROWS; r++) {
            for (int c = 0; c < v->ncols; c++) {
                value_at(v, c, r, &val);
                if (gen_append(&b->cols[c], &val)) return die("append");
            }
            if (st_batch_end_row(b)) return die("row");
        }
        if (st_pq_writer_write(w, b)) return die(path);
    }
    st_batch_free(b);
    if (st_pq_writer_close(w)) return die(path);
    return 0;
}

static int matrix(const char *dir) {
    static const st_codec_t codecs[] = {ST_CODEC_UNCOMPRESSED, ST_CODEC_SNAPPY, ST_CODEC_GZIP,
                                        ST_CODEC_ZSTD, ST_CODEC_LZ4_RAW, ST_CODEC_BROTLI};
    static const char *codec_tags[] = {"uncompressed", "snappy", "gzip", "zstd", "lz4_raw", "brotli"};
    st_buf_t man = ST_BUF_INIT;
    st_buf_printf(&man, "{\"rows\":%d,\"row_group_rows\":%d,\"files\":[", ROWS, RG_ROWS);
    int nfiles = 0;
    for (int nl = 0; nl < 2; nl++) {
        variant_t v;
        variant_init(&v, nl == 1);
        const char *tag = nl ? "null" : "req";
        if (write_expected(&v, dir, tag)) return 1;
        for (size_t k = 0; k < sizeof codecs / sizeof codecs[0]; k++)
            for (int dict = 0; dict < 2; dict++)
                for (int pv = 1; pv <= 2; pv++) {
                    char name[128], path[4096];
                    snprintf(name, sizeof name, "%s_%s_%s_v%d.parquet", codec_tags[k],
                             dict ? "dict" : "plain", tag, pv);
                    snprintf(path, sizeof path, "%s/%s", dir, name);
                    if (write_file(&v, path, codecs[k], dict, pv)) return 1;
                    st_buf_printf(&man, "%s\n{\"file\":\"%s\",\"codec\":\"%s\",\"dictionary\":%s,"
                                  "\"nullable\":%s,\"page_version\":%d,\"expected\":\"expected_%s\"}",
                                  nfiles++ ? "," : "", name, codec_tags[k], dict ? "true" : "false",
                                  nl ? "true" : "false", pv, tag);
                }
    }
    st_buf_append_str(&man, "],\n\"columns\":[");
    variant_t v;
    variant_init(&v, true);
    for (int c = 0; c < v.ncols; c++) {
        char t[64];
        st_type_format(&v.fields[c].type, t, sizeof t);
        st_buf_printf(&man, "%s{\"name\":\"%s\",\"type\":\"%s\"}", c ? "," : "", v.fields[c].name, t);
    }
    st_buf_append_str(&man, "]}\n");
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    int bad = write_text(path, &man);
    st_buf_free(&man);
    if (!bad) printf("interop_gen: wrote %d files of %d rows to %s\n", nfiles, ROWS, dir);
    return bad;
}

static int emit_line(void *ctx, const char *line, size_t n) {
    (void)ctx;
    if (fwrite(line, 1, n, stdout) != n || fputc('\n', stdout) == EOF)
        return st_error(ST_EIO, "stdout: write failed");
    return 0;
}

static int cat(const char *path) {
    st_pq_file_t *f;
    if (st_pq_open_path(path, &f)) return die(path);
    st_pq_scan_t scan = {NULL, 0, NULL, -1};
    int rc = st_pq_scan_json(f, &scan, emit_line, NULL);
    st_pq_close(f);
    if (rc) return die(path);
    return fflush(stdout) != 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "matrix")) return matrix(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "cat")) return cat(argv[2]);
    fprintf(stderr, "usage: interop_gen matrix DIR | interop_gen cat FILE\n");
    return 2;
}
