/* strata write: CSV or JSON Lines into a dataset, validated against a schema
 * (from the registry or a file), partitioned, streamed in batches. Either every
 * row is valid and the files appear, or a report of the violations is printed
 * and nothing is written. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "strata/dataset.h"

#define BATCH_ROWS 65536
#define PROGRESS_US 250000

static const char write_usage[] =
    "usage: strata write DATASET_URL (--table NAME | --schema FILE) --from DATA.csv|DATA.jsonl\n"
    "                    [--partition col,...] [--codec C] [--level N] [--row-group-size N]\n"
    "                    [--name STEM] [--file NAME [--overwrite]] [--dir SCHEMA_DIR]\n"
    "                    [--max-errors N] [--verbose]\n\n"
    "Adds the rows of a CSV (with a header line) or JSON Lines file to a dataset as new,\n"
    "immutable Parquet files named <stem>_<YYYYMMDD>_<HHMMSS>_<uuid8>.parquet. Every cell is\n"
    "converted to its field's type and every row checked against the schema's constraints\n"
    "(nullable, min/max, lengths, pattern, enum, unique, primary key, strict) before anything\n"
    "is written: when a row fails, a report of the violations is printed, the exit code is 4\n"
    "and the dataset is left exactly as it was.\n\n"
    "DATASET_URL is a store URL or a local directory; the dataset is its root\n"
    "(file:///data/datasets/borehole, s3://bucket/datasets/borehole?endpoint=..., mem://x).\n\n"
    "  --table NAME         schema from the registry (built-in pack, or --dir)\n"
    "  --schema FILE        schema file (JSON)\n"
    "  --dir DIR            directory of schema files overriding the built-in pack\n"
    "  --from FILE          input data: .csv, .jsonl or .ndjson; '-' for stdin (with\n"
    "                       --input-format)\n"
    "  --input-format F     csv or jsonl, when the extension does not tell\n"
    "  --partition LIST     Hive partition columns, in directory order (col=value/...);\n"
    "                       they are not stored inside the files\n"
    "  --codec C            uncompressed, snappy (default), gzip, brotli, zstd, lz4_raw\n"
    "  --level N            compression level (zstd 1-22, gzip 1-9, brotli 0-11)\n"
    "  --row-group-size N   rows per row group (default: row groups of about 128 MiB)\n"
    "  --name STEM          file-name stem (default: the last segment of DATASET_URL)\n"
    "  --file NAME          write exactly one file of this name (no partitions); an\n"
    "                       existing file is an error (exit 3) unless --overwrite\n"
    "  --overwrite          with --file: replace the file\n"
    "  --max-errors N       violations to report before stopping (default 100)\n"
    "  --verbose            list the files written, with rows and bytes\n\n"
    "A progress line is shown on stderr when it is a terminal.\n";

typedef struct {
    const char *url, *table, *schema_path, *dir, *from, *partition, *name, *file;
    st_text_format_t infmt;
    bool overwrite, verbose;
    long long max_errors;
    st_pq_write_opts_t pq;
} args_t;

static int parse_args(int argc, char **argv, args_t *a) {
    static const struct option opts[] = {{"table", required_argument, 0, 't'},
                                         {"schema", required_argument, 0, 's'},
                                         {"dir", required_argument, 0, 'd'},
                                         {"from", required_argument, 0, 'i'},
                                         {"input-format", required_argument, 0, 'F'},
                                         {"partition", required_argument, 0, 'p'},
                                         {"codec", required_argument, 0, 'c'},
                                         {"level", required_argument, 0, 'l'},
                                         {"row-group-size", required_argument, 0, 'r'},
                                         {"name", required_argument, 0, 'n'},
                                         {"file", required_argument, 0, 'f'},
                                         {"overwrite", no_argument, 0, 'o'},
                                         {"max-errors", required_argument, 0, 'm'},
                                         {"verbose", no_argument, 0, 'v'},
                                         {0, 0, 0, 0}};
    const char *cmd = "write";
    long long n;
    int c;
    memset(a, 0, sizeof *a);
    a->max_errors = 100;
    st_pq_write_opts_default(&a->pq);
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:s:d:i:F:p:c:l:r:n:f:om:v", opts, NULL)) != -1) {
        switch (c) {
        case 't': a->table = optarg; break;
        case 's': a->schema_path = optarg; break;
        case 'd': a->dir = optarg; break;
        case 'i': a->from = optarg; break;
        case 'F':
            if (!strcmp(optarg, "csv"))
                a->infmt = ST_FORMAT_CSV;
            else if (!strcmp(optarg, "jsonl"))
                a->infmt = ST_FORMAT_JSONL;
            else
                return cli_usage_error(cmd, "unknown input format '%s' (csv or jsonl)", optarg);
            break;
        case 'p': a->partition = optarg; break;
        case 'c':
            if (st_codec_parse(optarg, &a->pq.codec))
                return cli_usage_error(cmd, "%s", st_errmsg());
            break;
        case 'l':
            if (!cli_parse_count(cmd, "--level", optarg, &n)) return CLI_EXIT_USAGE;
            a->pq.codec_level = (int)n;
            break;
        case 'r':
            if (!cli_parse_count(cmd, "--row-group-size", optarg, &n) || n == 0)
                return cli_usage_error(cmd, "--row-group-size must be a positive row count");
            a->pq.row_group_rows = n;
            break;
        case 'n': a->name = optarg; break;
        case 'f': a->file = optarg; break;
        case 'o': a->overwrite = true; break;
        case 'm':
            if (!cli_parse_count(cmd, "--max-errors", optarg, &a->max_errors))
                return CLI_EXIT_USAGE;
            if (a->max_errors == 0 || a->max_errors > 1000000)
                return cli_usage_error(cmd, "--max-errors must be between 1 and 1000000");
            break;
        case 'v': a->verbose = true; break;
        default: return cli_usage_error(cmd, "unknown option");
        }
    }
    if (optind != argc - 1) return cli_usage_error(cmd, "expected one DATASET_URL");
    a->url = argv[optind];
    if (!a->table == !a->schema_path)
        return cli_usage_error(cmd, "give exactly one of --table NAME and --schema FILE");
    if (a->dir && !a->table) return cli_usage_error(cmd, "--dir goes with --table");
    if (!a->from) return cli_usage_error(cmd, "--from is required");
    if (a->overwrite && !a->file) return cli_usage_error(cmd, "--overwrite goes with --file");
    if (a->file && a->partition)
        return cli_usage_error(cmd, "--file writes one file and cannot be partitioned");
    return 0;
}

/* "a, b" -> {"a", "b"}; the strings point into `copy`. */
static int split_list(const char *list, char **copy, const char ***items, int *n) {
    *copy = strdup(list);
    int cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    *items = calloc((size_t)cap, sizeof **items);
    if (!*copy || !*items) return st_error(ST_ENOMEM, "out of memory");
    int k = 0;
    char *save = NULL;
    for (char *t = strtok_r(*copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        size_t len = strlen(t);
        while (len && t[len - 1] == ' ')
            t[--len] = '\0';
        if (len) (*items)[k++] = t;
    }
    if (k == 0) return st_error(ST_EINVAL, "--partition names no column");
    *n = k;
    return ST_OK;
}

/* ---- progress ---- */

typedef struct {
    bool on;
    int64_t start, last;
} progress_t;

static void progress_show(progress_t *p, st_dataset_writer_t *w, int64_t rows, bool force) {
    if (!p->on) return;
    int64_t now = st_now_us();
    if (!force && now - p->last < PROGRESS_US) return;
    p->last = now;
    uint64_t bytes = 0;
    if (w) st_dataset_writer_progress(w, NULL, &bytes);
    double secs = (double)(now - p->start) / 1e6;
    fprintf(stderr, "\r%lld rows, %.1f MB written, %.0f rows/s\033[K", (long long)rows,
            (double)bytes / 1e6, secs > 0 ? (double)rows / secs : 0.0);
    fflush(stderr);
}

static void progress_end(progress_t *p) {
    if (p->on) fputs("\r\033[K", stderr);
}

/* ---- the command ---- */

typedef struct {
    args_t a;
    st_registry_t *reg;
    st_schema_t *own_schema;
    const st_schema_t *schema;
    st_store_t *store;
    st_table_reader_t *reader;
    st_validator_t *v;
    st_dataset_writer_t *w;
    st_batch_t *batch;
    char *plist_copy;
    const char **plist;
    int npart;
} run_t;

static void run_free(run_t *r) {
    if (r->w) st_dataset_writer_abort(r->w);
    st_batch_free(r->batch);
    st_validator_free(r->v);
    if (r->reader) st_table_reader_close(r->reader);
    st_store_close(r->store);
    st_schema_free(r->own_schema);
    st_registry_free(r->reg);
    free(r->plist_copy);
    free(r->plist);
}

static int open_all(run_t *r) {
    args_t *a = &r->a;
    int rc;
    if (a->schema_path) {
        if ((rc = st_schema_load(a->schema_path, &r->own_schema))) return rc;
        r->schema = r->own_schema;
    } else {
        if ((rc = st_registry_open(a->dir, &r->reg))) return rc;
        if ((rc = st_registry_get(r->reg, a->table, &r->schema))) return rc;
    }
    if (a->partition && (rc = split_list(a->partition, &r->plist_copy, &r->plist, &r->npart)))
        return rc;
    const st_field_t *fields = st_schema_fields(r->schema);
    if ((rc = st_table_reader_open(a->from, a->infmt, fields, r->schema->nfields, r->schema->strict,
                                   &r->reader)))
        return rc;
    if ((rc = st_batch_new(fields, r->schema->nfields, &r->batch))) return rc;
    if ((rc = st_validator_new(r->schema, (int)a->max_errors, &r->v))) return rc;
    if ((rc = st_store_open(a->url, &r->store))) return rc;
    st_dataset_write_opts_t o;
    st_dataset_write_opts_default(&o);
    o.name = a->name;
    o.partition = r->plist;
    o.npartition = r->npart;
    o.file_name = a->file;
    o.overwrite = a->overwrite;
    o.parquet = a->pq;
    o.validator = r->v;
    return st_dataset_writer_open(r->store, "", r->schema, &o, &r->w);
}

/* Reads, validates and writes every batch. Returns 0 when all went in, or the
 * first failure; after a violation reading goes on without writing, to report
 * what else is wrong (up to --max-errors). */
static int pump(run_t *r, int64_t *rows_out) {
    progress_t prog = {isatty(2) != 0, st_now_us(), 0};
    int64_t rows = 0; /* rows read, good and bad */
    int rc = ST_OK, first = ST_OK;
    for (;;) {
        if (st_validator_count(r->v) >= r->a.max_errors) break;
        st_batch_clear(r->batch);
        int64_t got = 0;
        int rrc = st_table_reader_next(r->reader, r->batch, BATCH_ROWS, &got);
        if (rrc && rrc != ST_ETYPE && rrc != ST_EVALIDATION && rrc != ST_ECORRUPT) {
            rc = rrc;
            break;
        }
        char msg[1024] = "";
        if (rrc) snprintf(msg, sizeof msg, "%s", st_errmsg());
        if (got > 0) {
            if (r->w) {
                rc = st_dataset_writer_write(r->w, r->batch);
                if (rc == ST_EVALIDATION) {
                    /* The writer has undone everything; keep validating. */
                    st_dataset_writer_abort(r->w);
                    r->w = NULL;
                    if (!first) first = rc;
                    rc = ST_OK;
                } else if (rc) {
                    break;
                }
            } else {
                rc = st_validator_check(r->v, r->batch);
                if (rc == ST_EVALIDATION) rc = ST_OK;
                if (rc) break;
            }
            rows += got;
        }
        if (rrc) {
            /* A cell that did not convert, a ragged row, broken quoting: a
             * violation of its own, and the row is skipped. */
            if (r->w) {
                st_dataset_writer_abort(r->w);
                r->w = NULL;
            }
            if (!first) first = ST_EVALIDATION;
            int64_t row = rows + 1;
            if ((rc = st_validator_add(r->v, row, NULL, NULL, rrc == ST_ETYPE ? "type" : "format",
                                       msg)))
                break;
            st_validator_skip_rows(r->v, 1);
            rows++;
            continue;
        }
        if (got == 0) break;
        progress_show(&prog, r->w, rows, false);
    }
    progress_show(&prog, r->w, rows, true);
    progress_end(&prog);
    *rows_out = rows;
    if (rc) return rc;
    return first;
}

static int report_violations(run_t *r) {
    st_buf_t rep = ST_BUF_INIT;
    int rc = st_validator_report(r->v, &rep);
    if (!rc) {
        fwrite(rep.data, 1, rep.len, stderr);
        if (st_validator_count(r->v) >= r->a.max_errors)
            fprintf(stderr, "reading stopped early: --max-errors %lld reached\n", r->a.max_errors);
    }
    st_buf_free(&rep);
    fprintf(stderr, "strata write: %s: nothing written\n", r->a.url);
    return st_exit_code(ST_EVALIDATION);
}

int cli_write(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(write_usage, stdout);
        return 0;
    }
    run_t r;
    memset(&r, 0, sizeof r);
    int u = parse_args(argc, argv, &r.a);
    if (u) return u;
    int rc = open_all(&r);
    if (rc) {
        int code = cli_fail(rc);
        run_free(&r);
        return code;
    }
    int64_t rows = 0;
    rc = pump(&r, &rows);
    if (rc == ST_EVALIDATION || (!rc && st_validator_count(r.v) > 0)) {
        int code = report_violations(&r);
        run_free(&r);
        return code;
    }
    if (rc) {
        int code = cli_fail(rc);
        run_free(&r);
        return code;
    }
    st_file_list_t files;
    rc = st_dataset_writer_close(r.w, &files);
    r.w = NULL;
    if (rc) {
        int code = cli_fail(rc);
        run_free(&r);
        return code;
    }
    uint64_t bytes = 0;
    for (int i = 0; i < files.n; i++)
        bytes += files.bytes[i];
    printf("wrote %lld rows in %d file%s (%llu bytes)\n", (long long)rows, files.n,
           files.n == 1 ? "" : "s", (unsigned long long)bytes);
    if (r.a.verbose) {
        for (int i = 0; i < files.n; i++) {
            char *url = st_store_object_url(r.store, files.keys[i]);
            printf("  %s  %lld rows  %llu bytes\n", url ? url : files.keys[i],
                   (long long)files.rows[i], (unsigned long long)files.bytes[i]);
            free(url);
        }
    }
    st_file_list_free(&files);
    run_free(&r);
    return 0;
}
