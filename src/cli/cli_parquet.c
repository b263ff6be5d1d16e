/* strata parquet: cat, schema, meta, write. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "strata/parquet.h"
#include "strata/schema.h"

#define WRITE_BATCH_ROWS 65536

static const char cat_usage[] =
    "usage: strata parquet cat FILE [--format jsonl|csv|table] [--columns a,b] [--limit N]\n\n"
    "Prints the rows of a Parquet file. FILE is a local path or a store URL\n"
    "(file:///dir/x.parquet, s3://bucket/prefix/x.parquet?endpoint=..., mem://name/x.parquet).\n\n"
    "  --format F     jsonl (default): one JSON object per row in strata's canonical form\n"
    "                 (exact integers, shortest round-trip floats, ISO dates, decimals as\n"
    "                 strings, binary as hex); csv: RFC 4180 with a header; table: aligned\n"
    "  --columns LIST comma-separated top-level columns to print, in that order\n"
    "  --limit N      stop after N rows\n";

static const char schema_usage[] =
    "usage: strata parquet schema FILE [--format text|json]\n\n"
    "Prints the schema of a Parquet file: an indented tree (text, default), or JSON with\n"
    "every schema element and every leaf column with its definition/repetition levels.\n"
    "FILE is a local path or a store URL.\n";

static const char meta_usage[] =
    "usage: strata parquet meta FILE [--format text|json]\n\n"
    "Prints the footer of a Parquet file: row groups, column chunks with their encodings,\n"
    "codecs, sizes, offsets and statistics, key-value metadata and the writer.\n"
    "FILE is a local path or a store URL.\n";

static const char write_usage[] =
    "usage: strata parquet write --schema SCHEMA.json --from DATA.csv|DATA.jsonl [options] OUT.parquet\n\n"
    "Converts CSV (with a header line) or JSON Lines to Parquet, typed by a schema file\n"
    "(format in DESIGN.md). Cells are converted to the field types; an empty cell is null.\n"
    "The output appears atomically: on any error nothing is left at OUT.parquet.\n"
    "OUT.parquet is a local path or a store URL (file://, s3://..., mem://).\n\n"
    "  --schema FILE          schema file (JSON)\n"
    "  --from FILE            input data; .csv or .jsonl/.ndjson, '-' for stdin (then --input-format)\n"
    "  --input-format F       csv or jsonl, when the extension does not tell\n"
    "  --codec C              uncompressed, snappy (default), gzip, brotli, zstd, lz4_raw\n"
    "  --level N              compression level (zstd 1-22, gzip 1-9, brotli 0-11)\n"
    "  --page-version 1|2     data page version (default 1)\n"
    "  --row-group-size N     rows per row group (default: close row groups at 128 MiB)\n"
    "  --page-rows N          rows per data page at most (default 20000; 0 = no limit)\n"
    "  --no-dictionary        plain encoding only\n"
    "  --kv KEY=VALUE         add footer key-value metadata (repeatable)\n";

/* Splits "a,b" into top-level column indices. */
static int resolve_columns(st_pq_file_t *f, const char *list, int **cols, int *ncols) {
    int cap = 1;
    for (const char *p = list; *p; p++) cap += *p == ',';
    int *out = calloc((size_t)cap, sizeof *out);
    if (!out) return st_error(ST_ENOMEM, "out of memory");
    char *copy = strdup(list), *save = NULL;
    int n = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') tok++;
        size_t len = strlen(tok);
        while (len && tok[len - 1] == ' ') tok[--len] = '\0';
        int idx = st_pq_column_index(f, tok);
        if (idx < 0) {
            st_error(ST_ENOTFOUND, "no column '%s' in the file", tok);
            free(copy);
            free(out);
            return ST_ENOTFOUND;
        }
        out[n++] = idx;
    }
    free(copy);
    if (n == 0) {
        free(out);
        return st_error(ST_EINVAL, "--columns names no column");
    }
    *cols = out;
    *ncols = n;
    return ST_OK;
}

static int cmd_cat(int argc, char **argv) {
    static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                         {"columns", required_argument, 0, 'c'},
                                         {"limit", required_argument, 0, 'n'},
                                         {0, 0, 0, 0}};
    cli_out_format_t fmt = CLI_OUT_JSONL;
    const char *columns = NULL;
    long long limit = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:c:n:", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (cli_out_format_parse(optarg, &fmt)) return cli_usage_error("parquet cat", "%s", st_errmsg());
            break;
        case 'c': columns = optarg; break;
        case 'n':
            if (!cli_parse_count("parquet cat", "--limit", optarg, &limit)) return CLI_EXIT_USAGE;
            break;
        default: return cli_usage_error("parquet cat", "unknown option");
        }
    }
    if (optind != argc - 1) return cli_usage_error("parquet cat", "expected one FILE");
    st_pq_file_t *f;
    int rc = st_pq_open_url(argv[optind], &f);
    if (rc) return cli_fail(rc);
    int *cols = NULL, ncols = 0;
    if (columns && (rc = resolve_columns(f, columns, &cols, &ncols))) {
        st_pq_close(f);
        return cli_fail(rc);
    }
    cli_rows_t *rows;
    if ((rc = cli_rows_open(stdout, fmt, &rows))) {
        free(cols);
        st_pq_close(f);
        return cli_fail(rc);
    }
    st_pq_scan_t scan = {cols, ncols, NULL, limit};
    rc = st_pq_scan_json(f, &scan, cli_rows_emit, rows);
    int rc2 = cli_rows_close(rows);
    free(cols);
    st_pq_close(f);
    if (rc) return cli_fail(rc);
    if (rc2) return cli_fail(rc2);
    return 0;
}

static int parse_text_json(const char *cmd, int argc, char **argv, bool *json) {
    static const struct option opts[] = {{"format", required_argument, 0, 'f'}, {0, 0, 0, 0}};
    int c;
    *json = false;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
        if (c != 'f') return cli_usage_error(cmd, "unknown option");
        if (!strcmp(optarg, "json")) *json = true;
        else if (strcmp(optarg, "text") && strcmp(optarg, "table"))
            return cli_usage_error(cmd, "unknown format '%s' (expected text or json)", optarg);
    }
    if (optind != argc - 1) return cli_usage_error(cmd, "expected one FILE");
    return 0;
}

static int print_buf(st_buf_t *b) {
    fwrite(b->data, 1, b->len, stdout);
    if (b->len && b->data[b->len - 1] != '\n') fputc('\n', stdout);
    st_buf_free(b);
    return 0;
}

static int cmd_schema(int argc, char **argv) {
    bool json;
    int u = parse_text_json("parquet schema", argc, argv, &json);
    if (u) return u;
    st_pq_file_t *f;
    int rc = st_pq_open_url(argv[optind], &f);
    if (rc) return cli_fail(rc);
    st_buf_t b = ST_BUF_INIT;
    rc = json ? st_pq_schema_json(f, &b) : st_pq_schema_text(f, &b);
    st_pq_close(f);
    if (rc) {
        st_buf_free(&b);
        return cli_fail(rc);
    }
    return print_buf(&b);
}

/* Text rendering of the footer JSON: nested keys indented, arrays numbered. */
static void print_tree(json_t *v, int depth, const char *label) {
    if (json_is_object(v)) {
        if (label) printf("%*s%s:\n", depth * 2, "", label);
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) print_tree(x, label ? depth + 1 : depth, k);
    } else if (json_is_array(v) && json_array_size(v) > 0 && !json_is_string(json_array_get(v, 0)) &&
               !json_is_number(json_array_get(v, 0))) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            char name[128];
            snprintf(name, sizeof name, "%s[%zu]", label ? label : "", i);
            print_tree(x, depth, name);
        }
    } else {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        printf("%*s%s: %s\n", depth * 2, "", label ? label : "", s ? s : "?");
        free(s);
    }
}

static int cmd_meta(int argc, char **argv) {
    bool json;
    int u = parse_text_json("parquet meta", argc, argv, &json);
    if (u) return u;
    st_pq_file_t *f;
    int rc = st_pq_open_url(argv[optind], &f);
    if (rc) return cli_fail(rc);
    st_buf_t b = ST_BUF_INIT;
    rc = st_pq_meta_json(f, &b);
    st_pq_close(f);
    if (rc) {
        st_buf_free(&b);
        return cli_fail(rc);
    }
    if (json) return print_buf(&b);
    json_error_t err;
    json_t *root = json_loadb((const char *)b.data, b.len, 0, &err);
    st_buf_free(&b);
    if (!root) return cli_fail(st_error(ST_ECORRUPT, "internal: footer JSON: %s", err.text));
    print_tree(root, 0, NULL);
    json_decref(root);
    return 0;
}

static int cmd_write(int argc, char **argv) {
    static const struct option opts[] = {{"schema", required_argument, 0, 's'},
                                         {"from", required_argument, 0, 'i'},
                                         {"input-format", required_argument, 0, 'F'},
                                         {"codec", required_argument, 0, 'c'},
                                         {"level", required_argument, 0, 'l'},
                                         {"page-version", required_argument, 0, 'p'},
                                         {"row-group-size", required_argument, 0, 'r'},
                                         {"page-rows", required_argument, 0, 'P'},
                                         {"no-dictionary", no_argument, 0, 'D'},
                                         {"kv", required_argument, 0, 'k'},
                                         {0, 0, 0, 0}};
    const char *schema_path = NULL, *from = NULL;
    st_text_format_t infmt = ST_FORMAT_AUTO;
    st_pq_write_opts_t wo;
    st_pq_write_opts_default(&wo);
    const char *kv[64];
    int nkv = 0;
    long long n;
    int c;
    const char *cmd = "parquet write";
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:i:F:c:l:p:r:P:Dk:", opts, NULL)) != -1) {
        switch (c) {
        case 's': schema_path = optarg; break;
        case 'i': from = optarg; break;
        case 'F':
            if (!strcmp(optarg, "csv")) infmt = ST_FORMAT_CSV;
            else if (!strcmp(optarg, "jsonl")) infmt = ST_FORMAT_JSONL;
            else return cli_usage_error(cmd, "unknown input format '%s' (csv or jsonl)", optarg);
            break;
        case 'c':
            if (st_codec_parse(optarg, &wo.codec)) return cli_usage_error(cmd, "%s", st_errmsg());
            break;
        case 'l':
            if (!cli_parse_count(cmd, "--level", optarg, &n)) return CLI_EXIT_USAGE;
            wo.codec_level = (int)n;
            break;
        case 'p':
            if (strcmp(optarg, "1") && strcmp(optarg, "2"))
                return cli_usage_error(cmd, "--page-version must be 1 or 2");
            wo.page_version = atoi(optarg);
            break;
        case 'r':
            if (!cli_parse_count(cmd, "--row-group-size", optarg, &n) || n == 0)
                return cli_usage_error(cmd, "--row-group-size must be a positive row count");
            wo.row_group_rows = n;
            break;
        case 'P':
            if (!cli_parse_count(cmd, "--page-rows", optarg, &n)) return CLI_EXIT_USAGE;
            wo.page_rows = n;
            break;
        case 'D': wo.dictionary = false; break;
        case 'k':
            if (!strchr(optarg, '=')) return cli_usage_error(cmd, "--kv expects KEY=VALUE");
            if (nkv == 64) return cli_usage_error(cmd, "too many --kv options");
            kv[nkv++] = optarg;
            break;
        default: return cli_usage_error(cmd, "unknown option");
        }
    }
    if (!schema_path) return cli_usage_error(cmd, "--schema is required");
    if (!from) return cli_usage_error(cmd, "--from is required");
    if (optind != argc - 1) return cli_usage_error(cmd, "expected one OUT.parquet");
    const char *out_path = argv[optind];

    st_schema_t *schema = NULL;
    st_table_reader_t *reader = NULL;
    st_batch_t *batch = NULL;
    st_pq_writer_t *w = NULL;
    st_pq_sink_t sink = {0};
    st_store_t *store = NULL;
    int rc = st_schema_load(schema_path, &schema);
    if (rc) goto done;
    const st_field_t *fields = st_schema_fields(schema);
    if ((rc = st_table_reader_open(from, infmt, fields, schema->nfields, schema->strict, &reader)))
        goto done;
    if ((rc = st_batch_new(fields, schema->nfields, &batch))) goto done;
    /* A store URL goes through the store's atomic writer; a plain path keeps
     * the local file sink (same atomicity, no store sidecar). */
    if (strstr(out_path, "://")) {
        char *key = NULL;
        if (!(rc = st_store_open_object(out_path, &store, &key))) rc = st_pq_sink_store(store, key, NULL, &sink);
        free(key);
        if (rc) goto done;
    } else if ((rc = st_pq_sink_file(out_path, &sink))) {
        goto done;
    }
    if ((rc = st_pq_writer_open(&sink, fields, schema->nfields, &wo, &w))) goto done;
    for (int i = 0; i < nkv && !rc; i++) {
        char *eq = strchr(kv[i], '=');
        *eq = '\0';
        rc = st_pq_writer_add_kv(w, kv[i], eq + 1);
        *eq = '=';
    }
    while (!rc) {
        int64_t got = 0;
        st_batch_clear(batch);
        if ((rc = st_table_reader_next(reader, batch, WRITE_BATCH_ROWS, &got)) || got == 0) break;
        rc = st_pq_writer_write(w, batch);
    }
    if (!rc) {
        int64_t rows = st_pq_writer_rows(w);
        rc = st_pq_writer_close(w);
        w = NULL;
        if (!rc) fprintf(stderr, "wrote %lld rows to %s\n", (long long)rows, out_path);
    }
done:
    if (w) st_pq_writer_abort(w);
    else if (sink.finish) sink.finish(sink.ctx, false);
    st_batch_free(batch);
    if (reader) st_table_reader_close(reader);
    st_schema_free(schema);
    st_store_close(store);
    return rc ? cli_fail(rc) : 0;
}

static const cli_command_t commands[] = {
    {"cat", "print the rows of a file", cmd_cat, cat_usage},
    {"schema", "print the schema of a file", cmd_schema, schema_usage},
    {"meta", "print the footer: row groups, chunks, statistics", cmd_meta, meta_usage},
    {"write", "convert CSV or JSON Lines to Parquet", cmd_write, write_usage},
};

int cli_parquet(int argc, char **argv) {
    return cli_dispatch("parquet", commands, sizeof commands / sizeof commands[0], NULL, NULL, argc, argv);
}
