/* strata read: scan a dataset (or one Parquet file) with a filter, a
 * projection and a limit, print the rows or write them as Parquet, and with
 * --explain report what the scan touched and skipped. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "strata/dataset.h"

static const char read_usage[] =
    "usage: strata read DATASET_URL [--where EXPR] [--columns a,b] [--limit N]\n"
    "                   [--format table|jsonl|csv|parquet] [-o FILE] [--explain]\n\n"
    "Reads a dataset: every .parquet file under DATASET_URL (recursively, Hive partitions\n"
    "col=value/ becoming columns), unioned under one schema, or a single .parquet file.\n"
    "DATASET_URL is a store URL (file:///data/ds, s3://bucket/ds?endpoint=..., mem://x)\n"
    "or a local directory.\n\n"
    "  --where EXPR     filter: comparisons (= != <> < <= > >=), [not] in (...), is [not] null,\n"
    "                   combined with and / or / not and parentheses; strings in single\n"
    "                   quotes: \"status = 'approved' and created_at >= '2024-01-01'\"\n"
    "  --columns LIST   comma-separated columns to output, in that order\n"
    "  --limit N        stop after N rows\n"
    "  --format F       jsonl (default), csv, table, or parquet (needs -o)\n"
    "  -o FILE          write to FILE (a local path, or a store URL for parquet)\n"
    "  --explain        after the rows, print on stderr the files, row groups and pages\n"
    "                   scanned and skipped, rows read and matched, and bytes read\n";

static int split_columns(const char *list, char ***out, int *n) {
    int cap = 1;
    for (const char *p = list; *p; p++) cap += *p == ',';
    char **cols = calloc((size_t)cap, sizeof *cols);
    if (!cols) return st_error(ST_ENOMEM, "out of memory");
    int k = 0;
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        if (!e) e = p + strlen(p);
        const char *a = p, *b = e;
        while (a < b && *a == ' ') a++;
        while (b > a && b[-1] == ' ') b--;
        if (b > a && !(cols[k++] = strndup(a, (size_t)(b - a)))) {
            for (int i = 0; i < k - 1; i++) free(cols[i]);
            free(cols);
            return st_error(ST_ENOMEM, "out of memory");
        }
        p = *e ? e + 1 : e;
    }
    if (k == 0) {
        free(cols);
        return st_error(ST_EINVAL, "--columns names no column");
    }
    *out = cols;
    *n = k;
    return ST_OK;
}

static int open_parquet_out(const char *target, const st_field_t *fields, int n, st_store_t **ostore,
                            st_pq_writer_t **w) {
    st_pq_sink_t sink;
    int rc;
    *ostore = NULL;
    if (strstr(target, "://")) {
        char *key;
        if ((rc = st_store_open_object(target, ostore, &key))) return rc;
        rc = st_pq_sink_store(*ostore, key, NULL, &sink);
        free(key);
    } else {
        rc = st_pq_sink_file(target, &sink);
    }
    if (rc) return rc;
    st_pq_write_opts_t o;
    st_pq_write_opts_default(&o);
    return st_pq_writer_open(&sink, fields, n, &o, w);
}

/* Rows of a batch as canonical JSON objects, one line each. */
static int emit_batch(cli_rows_t *rows, const st_batch_t *b, const st_field_t *fs, int nf, st_buf_t *line) {
    for (int64_t r = 0; r < b->nrows; r++) {
        st_buf_reset(line);
        int rc = st_buf_append_byte(line, '{');
        for (int c = 0; c < nf && !rc; c++) {
            if (c) rc = st_buf_append_byte(line, ',');
            if (!rc) rc = st_json_append_string(line, fs[c].name, strlen(fs[c].name));
            if (!rc) rc = st_buf_append_byte(line, ':');
            if (!rc) rc = st_col_value_json(&b->cols[c], r, line);
        }
        if (!rc) rc = st_buf_append_byte(line, '}');
        if (!rc) rc = cli_rows_emit(rows, (const char *)line->data, line->len);
        if (rc) return rc;
    }
    return ST_OK;
}

static void explain(const st_scan_stats_t *st) {
    fprintf(stderr, "files: %lld total, %lld pruned by partition values, %lld scanned\n", (long long)st->files_total,
            (long long)st->files_pruned, (long long)(st->files_total - st->files_pruned));
    fprintf(stderr, "row groups: %lld total in scanned files, %lld pruned by statistics, %lld pruned by dictionary, %lld read\n",
            (long long)st->row_groups_total, (long long)st->row_groups_pruned_stats, (long long)st->row_groups_pruned_dict,
            (long long)(st->row_groups_total - st->row_groups_pruned_stats - st->row_groups_pruned_dict));
    fprintf(stderr,
            "pages: %lld in the needed column chunks of scanned files (from the footers' encoding statistics; "
            "estimated at 1 MiB per page where a writer left none), %lld decoded, %lld skipped (pruned row "
            "groups, pages whose statistics rule out a match, pages outside the matching rows)\n",
            (long long)st->pages_total, (long long)st->pages_read,
            (long long)(st->pages_total > st->pages_read ? st->pages_total - st->pages_read : 0));
    fprintf(stderr, "rows: %lld read, %lld matched\n", (long long)st->rows_read, (long long)st->rows_matched);
    fprintf(stderr, "bytes read: %llu\n", (unsigned long long)st->bytes_read);
}

int cli_read(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(read_usage, stdout);
        return 0;
    }
    static const struct option opts[] = {{"where", required_argument, 0, 'w'},
                                         {"columns", required_argument, 0, 'c'},
                                         {"limit", required_argument, 0, 'n'},
                                         {"format", required_argument, 0, 'f'},
                                         {"output", required_argument, 0, 'o'},
                                         {"explain", no_argument, 0, 'x'},
                                         {0, 0, 0, 0}};
    const char *where = NULL, *columns = NULL, *format = "jsonl", *output = NULL;
    long long limit = -1;
    bool want_explain = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "w:c:n:f:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'w': where = optarg; break;
        case 'c': columns = optarg; break;
        case 'n':
            if (!cli_parse_count("read", "--limit", optarg, &limit)) return CLI_EXIT_USAGE;
            break;
        case 'f': format = optarg; break;
        case 'o': output = optarg; break;
        case 'x': want_explain = true; break;
        default: return cli_usage_error("read", "unknown option");
        }
    }
    if (optind != argc - 1) return cli_usage_error("read", "expected one DATASET_URL");
    bool parquet = !strcmp(format, "parquet");
    cli_out_format_t fmt = CLI_OUT_JSONL;
    if (!parquet && cli_out_format_parse(format, &fmt))
        return cli_usage_error("read", "unknown format '%s' (expected table, jsonl, csv or parquet)", format);
    if (parquet && !output) return cli_usage_error("read", "--format parquet needs -o FILE");
    const char *url = argv[optind];
    char **cols = NULL;
    int ncols = 0, rc;
    if (columns && (rc = split_columns(columns, &cols, &ncols))) return cli_usage_error("read", "%s", st_errmsg());
    st_store_t *s = NULL, *ostore = NULL;
    char *key = NULL;
    size_t ul = strlen(url);
    while (ul > 1 && url[ul - 1] == '/') ul--;
    if (ul >= 8 && !strncmp(url + ul - 8, ".parquet", 8)) rc = st_store_open_object(url, &s, &key);
    else rc = st_store_open(url, &s);
    st_dataset_scan_t *scan = NULL;
    cli_rows_t *rows = NULL;
    st_pq_writer_t *w = NULL;
    FILE *fp = stdout;
    st_buf_t line = ST_BUF_INIT;
    if (!rc) {
        st_scan_opts_t o = {.columns = (const char *const *)cols, .ncolumns = ncols, .filter = where, .limit = limit};
        rc = st_dataset_scan_open(s, key ? key : "", &o, &scan);
    }
    int nf = 0;
    const st_field_t *fs = scan ? st_dataset_scan_fields(scan, &nf) : NULL;
    if (!rc && parquet) {
        rc = open_parquet_out(output, fs, nf, &ostore, &w);
    } else if (!rc) {
        if (output && !(fp = fopen(output, "w"))) rc = st_error(ST_EIO, "%s: cannot open for writing", output);
        if (!rc) rc = cli_rows_open(fp, fmt, &rows);
    }
    while (!rc) {
        st_batch_t *b;
        if ((rc = st_dataset_scan_next(scan, &b)) || !b) break;
        rc = w ? st_pq_writer_write(w, b) : emit_batch(rows, b, fs, nf, &line);
        st_batch_free(b);
    }
    if (rows) {
        int rc2 = cli_rows_close(rows);
        if (!rc) rc = rc2;
    }
    if (w) {
        if (rc) st_pq_writer_abort(w);
        else rc = st_pq_writer_close(w);
    }
    if (fp && fp != stdout && fclose(fp) && !rc) rc = st_error(ST_EIO, "%s: write failed", output);
    if (!rc && want_explain) {
        st_scan_stats_t st;
        st_dataset_scan_stats(scan, &st);
        explain(&st);
    }
    st_buf_free(&line);
    st_dataset_scan_close(scan);
    st_store_close(s);
    st_store_close(ostore);
    free(key);
    for (int i = 0; i < ncols; i++) free(cols[i]);
    free(cols);
    return rc ? cli_fail(rc) : 0;
}
