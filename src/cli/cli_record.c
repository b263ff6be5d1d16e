/* strata record: versioned records with an approval workflow and a
 * hash-chained history (record.h). Thin: parse, call the library, print. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "strata/record.h"

#define COMMON_HELP                                                                               \
    "  --store URL          the store (file:///dir, s3://bucket/prefix?..., mem://x, a path);\n"  \
    "                       default $STRATA_STORE\n"                                              \
    "  --root PREFIX        key prefix of the records (default \"records\")\n"

static const char create_usage[] =
    "usage: strata record create ID (--table NAME | --schema FILE) --from DATA.csv|DATA.jsonl\n"
    "                           --by USER [--comment TEXT] [--store URL] [--dir DIR]\n\n"
    "Creates record ID as version 1, status draft, from the rows of a CSV (with a header line)\n"
    "or JSON Lines file. Every row is checked against the table's schema first: on a\n"
    "violation the report is printed, nothing is written and the exit code is 4. A record\n"
    "that exists already is refused (\"Record already exists\", exit 3).\n\n"
    "  --table NAME         schema from the registry (built-in pack, or --dir / $STRATA_SCHEMA_DIR)\n"
    "  --schema FILE        schema file (JSON); kept with the record\n"
    "  --from FILE          the data; '-' for stdin with --input-format\n"
    "  --input-format F     csv or jsonl, when the extension does not tell\n"
    "  --by USER            who creates it\n"
    "  --comment TEXT       kept in the history\n" COMMON_HELP;

static const char update_usage[] =
    "usage: strata record update ID --from DATA.csv|DATA.jsonl --by USER [--comment TEXT]\n"
    "                           [--store URL]\n\n"
    "Adds the next version of record ID (status draft), validated against the schema the\n"
    "record was created with. Earlier versions stay as they are. Exit 2 if the record does\n"
    "not exist, 4 on a violation (nothing written), 3 if another writer took the version.\n\n"
    "  --from FILE          the data; '-' for stdin with --input-format\n"
    "  --input-format F     csv or jsonl\n"
    "  --by USER            who updates it\n"
    "  --comment TEXT       kept in the history\n" COMMON_HELP;

static const char approve_usage[] =
    "usage: strata record approve ID --by USER [--comment TEXT] [--approver-not-author]\n"
    "                            [--store URL]\n\n"
    "Approves the current version of record ID. Only a draft can be approved: an approved\n"
    "record (\"Already approved\") or a rejected one (\"Cannot approve rejected\") is refused\n"
    "with exit 3. No Parquet file is written.\n\n"
    "  --by USER               the approver\n"
    "  --comment TEXT          kept in the history\n"
    "  --approver-not-author   refuse when USER wrote the version being approved (also\n"
    "                          $STRATA_APPROVER_NOT_AUTHOR=1)\n" COMMON_HELP;

static const char reject_usage[] =
    "usage: strata record reject ID --by USER [--comment TEXT] [--store URL]\n\n"
    "Rejects the current version of record ID. Only a draft can be rejected: an approved\n"
    "record (\"Cannot reject approved\") or a rejected one (\"Already rejected\") is refused\n"
    "with exit 3. No Parquet file is written.\n\n"
    "  --by USER            who rejects it\n"
    "  --comment TEXT       kept in the history\n" COMMON_HELP;

static const char show_usage[] =
    "usage: strata record show ID [--store URL]\n\n"
    "Prints metadata.json of record ID as JSON: record_id, table_name, current_version,\n"
    "status, created_by/at, approved_by/at, rejected_by/at and the full history (as the log\n"
    "gives it, even when the stored snapshot is behind).\n\n" COMMON_HELP;

static const char versions_usage[] =
    "usage: strata record versions ID [--store URL]\n\n"
    "Prints the version numbers of record ID, one per line, ascending.\n\n" COMMON_HELP;

static const char history_usage[] =
    "usage: strata record history ID [--format table|jsonl|csv] [--store URL]\n\n"
    "Prints every event of record ID, oldest first: seq, event, version, status, by, at,\n"
    "comment (default format: table).\n\n"
    "  --format F           table (default), jsonl or csv\n" COMMON_HELP;

static const char cat_usage[] =
    "usage: strata record cat ID [--version N | --approved | --as-of TIMESTAMP]\n"
    "                        [--format table|jsonl|csv|parquet] [-o FILE] [--store URL]\n\n"
    "Prints the rows of one version of record ID: the latest by default, version N, the\n"
    "latest approved version, or the latest version created at or before TIMESTAMP\n"
    "(ISO 8601, e.g. 2026-11-22T07:31:00Z). The version file is checked against the SHA-256\n"
    "its history recorded first (exit 5 if it was changed). --format parquet writes the\n"
    "version's Parquet file as it is stored (to -o FILE, or stdout when it is not a terminal).\n\n"
    "  --version N          exactly this version\n"
    "  --approved           the latest approved version\n"
    "  --as-of TIMESTAMP    the version that was current at that time\n"
    "  --format F           jsonl (default), csv, table, or parquet\n"
    "  -o FILE              write to FILE instead of stdout\n" COMMON_HELP;

static const char verify_usage[] =
    "usage: strata record verify ID [--store URL]\n\n"
    "Walks the hash chain of record ID: every log event must parse, follow the one before\n"
    "it (its prev_sha256), and obey the lifecycle rules; every version file must have the\n"
    "SHA-256 its event recorded; no version file may exist that no event adds; metadata.json\n"
    "must equal the state the log gives. Prints one line per problem (and 'note:' lines for\n"
    "things that are not damage, such as a version left pending by a crashed writer, which\n"
    "the next write completes).\n\n"
    "Exit codes: 0 the chain holds, 5 problems were found (corrupt), 2 no such record.\n\n"
    COMMON_HELP;

typedef struct {
    const char *store, *root, *by, *comment, *table, *schema, *dir, *from, *format, *output;
    st_text_format_t infmt;
    int version;
    bool approved, policy, has_as_of;
    int64_t as_of;
    const char *id;
} args_t;

/* Parses the options of `cmd`; `allowed` lists the short letters it takes. */
static int parse(const char *cmd, const char *allowed, int argc, char **argv, args_t *a) {
    static const struct option opts[] = {{"store", required_argument, 0, 'S'},
                                         {"root", required_argument, 0, 'R'},
                                         {"by", required_argument, 0, 'b'},
                                         {"comment", required_argument, 0, 'c'},
                                         {"table", required_argument, 0, 't'},
                                         {"schema", required_argument, 0, 's'},
                                         {"dir", required_argument, 0, 'd'},
                                         {"from", required_argument, 0, 'i'},
                                         {"input-format", required_argument, 0, 'F'},
                                         {"version", required_argument, 0, 'v'},
                                         {"approved", no_argument, 0, 'a'},
                                         {"as-of", required_argument, 0, 'A'},
                                         {"format", required_argument, 0, 'f'},
                                         {"output", required_argument, 0, 'o'},
                                         {"approver-not-author", no_argument, 0, 'P'},
                                         {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    const char *env = getenv("STRATA_APPROVER_NOT_AUTHOR");
    a->policy = env && (!strcmp(env, "1") || !strcmp(env, "true") || !strcmp(env, "yes"));
    int c, idx;
    long long n;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:", opts, &idx)) != -1) {
        if (c == '?') return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        if (c == ':') return cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        if (!strchr(allowed, c) && !strchr("SR", c))
            return cli_usage_error(cmd, "option '%s' does not apply here", argv[optind - 1]);
        switch (c) {
        case 'S': a->store = optarg; break;
        case 'R': a->root = optarg; break;
        case 'b': a->by = optarg; break;
        case 'c': a->comment = optarg; break;
        case 't': a->table = optarg; break;
        case 's': a->schema = optarg; break;
        case 'd': a->dir = optarg; break;
        case 'i': a->from = optarg; break;
        case 'F':
            if (!strcmp(optarg, "csv")) a->infmt = ST_FORMAT_CSV;
            else if (!strcmp(optarg, "jsonl")) a->infmt = ST_FORMAT_JSONL;
            else return cli_usage_error(cmd, "--input-format must be csv or jsonl");
            break;
        case 'v':
            if (!cli_parse_count(cmd, "--version", optarg, &n)) return CLI_EXIT_USAGE;
            if (n < 1 || n > 1000000000)
                return cli_usage_error(cmd, "--version must be a version number (1 or more)");
            a->version = (int)n;
            break;
        case 'a': a->approved = true; break;
        case 'A':
            if (st_parse_timestamp(optarg, 6, &a->as_of))
                return cli_usage_error(cmd, "--as-of: '%s' is not an ISO 8601 timestamp", optarg);
            a->has_as_of = true;
            break;
        case 'f': a->format = optarg; break;
        case 'o': a->output = optarg; break;
        case 'P': a->policy = true; break;
        }
    }
    if (optind != argc - 1) return cli_usage_error(cmd, "expected one record ID");
    a->id = argv[optind];
    if (!a->store) a->store = getenv("STRATA_STORE");
    if (!a->store || !*a->store)
        return cli_usage_error(cmd, "no store: give --store URL or set STRATA_STORE");
    if (strchr(allowed, 'b') && !a->by) return cli_usage_error(cmd, "--by USER is required");
    if ((a->version > 0) + a->approved + a->has_as_of > 1)
        return cli_usage_error(cmd, "give at most one of --version, --approved and --as-of");
    return 0;
}

typedef struct {
    st_store_t *store;
    st_registry_t *reg;
    st_records_t *r;
} ctx_t;

static void ctx_close(ctx_t *x) {
    st_records_close(x->r);
    st_registry_free(x->reg);
    st_store_close(x->store);
}

static int ctx_open(const args_t *a, ctx_t *x) {
    memset(x, 0, sizeof *x);
    int rc = st_store_open(a->store, &x->store);
    const char *dir = a->dir ? a->dir : getenv("STRATA_SCHEMA_DIR");
    if (!rc && dir && *dir) rc = st_registry_open(dir, &x->reg);
    st_records_opts_t o = {.root = a->root, .registry = x->reg, .approver_not_author = a->policy};
    if (!rc) rc = st_records_open(x->store, &o, &x->r);
    return rc;
}

/* Reads the whole input into one batch and checks it, printing the report
 * of violations. ST_EVALIDATION when the data is not valid. */
static int load_data(const char *cmd, const args_t *a, const st_schema_t *schema,
                     st_batch_t **out) {
    *out = NULL;
    const st_field_t *fields = st_schema_fields(schema);
    st_table_reader_t *rd = NULL;
    st_batch_t *b = NULL;
    st_validator_t *v = NULL;
    int rc = st_table_reader_open(a->from, a->infmt, fields, schema->nfields, schema->strict, &rd);
    if (!rc) rc = st_batch_new(fields, schema->nfields, &b);
    if (!rc) rc = st_validator_new(schema, 100, &v);
    while (!rc) {
        int64_t got = 0;
        rc = st_table_reader_next(rd, b, 65536, &got);
        if (rc == ST_ETYPE || rc == ST_EVALIDATION || rc == ST_ECORRUPT) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", st_errmsg());
            st_validator_add(v, b->nrows + 1, NULL, NULL, rc == ST_ETYPE ? "type" : "format", msg);
            rc = ST_EVALIDATION;
            break;
        }
        if (!rc && got == 0) break;
    }
    if (!rc) rc = st_validator_check(v, b);
    if (rc == ST_EVALIDATION) {
        st_buf_t rep = ST_BUF_INIT;
        if (!st_validator_report(v, &rep)) fwrite(rep.data, 1, rep.len, stderr);
        st_buf_free(&rep);
        fprintf(stderr, "strata %s: %s: nothing written\n", cmd, a->id);
    }
    if (rd) st_table_reader_close(rd);
    st_validator_free(v);
    if (rc) {
        st_batch_free(b);
        return rc;
    }
    *out = b;
    return ST_OK;
}

static int finish(ctx_t *x, int rc) {
    int code = 0;
    if (rc == ST_EVALIDATION && !*st_errmsg()) code = st_exit_code(rc); /* report printed */
    else if (rc) code = cli_fail(rc);
    ctx_close(x);
    return code;
}

static int cmd_create(int argc, char **argv) {
    args_t a;
    int u = parse("record create", "bctsdiF", argc, argv, &a);
    if (u) return u;
    if (!a.table == !a.schema)
        return cli_usage_error("record create", "give exactly one of --table NAME and --schema FILE");
    if (!a.from) return cli_usage_error("record create", "--from DATA is required");
    if (a.dir && !a.table) return cli_usage_error("record create", "--dir goes with --table");
    ctx_t x;
    st_schema_t *own = NULL;
    const st_schema_t *schema = NULL;
    st_batch_t *b = NULL;
    int rc = ctx_open(&a, &x), v = 0;
    if (!rc && a.schema) {
        rc = st_schema_load(a.schema, &own);
        schema = own;
    } else if (!rc) {
        st_registry_t *tmp = NULL;
        const st_registry_t *reg = x.reg;
        if (!reg && !(rc = st_registry_open(NULL, &tmp))) reg = x.reg = tmp;
        if (!rc) rc = st_registry_get(reg, a.table, &schema);
    }
    if (!rc) rc = load_data("record create", &a, schema, &b);
    if (rc == ST_EVALIDATION) st_error_clear();
    else if (!rc) rc = st_record_create(x.r, a.id, b, a.table, own, a.by, a.comment, &v);
    if (!rc) printf("created %s v%d (draft)\n", a.id, v);
    st_batch_free(b);
    st_schema_free(own);
    return finish(&x, rc);
}

static int cmd_update(int argc, char **argv) {
    args_t a;
    int u = parse("record update", "bciF", argc, argv, &a);
    if (u) return u;
    if (!a.from) return cli_usage_error("record update", "--from DATA is required");
    ctx_t x;
    st_schema_t *schema = NULL;
    st_batch_t *b = NULL;
    int rc = ctx_open(&a, &x), v = 0;
    if (!rc) rc = st_record_schema(x.r, a.id, &schema);
    if (!rc) rc = load_data("record update", &a, schema, &b);
    if (rc == ST_EVALIDATION) st_error_clear();
    else if (!rc) rc = st_record_update(x.r, a.id, b, a.by, a.comment, &v);
    if (!rc) printf("updated %s to v%d (draft)\n", a.id, v);
    st_batch_free(b);
    st_schema_free(schema);
    return finish(&x, rc);
}

static int decide(int argc, char **argv, bool approve) {
    args_t a;
    const char *cmd = approve ? "record approve" : "record reject";
    int u = parse(cmd, approve ? "bcP" : "bc", argc, argv, &a);
    if (u) return u;
    ctx_t x;
    int rc = ctx_open(&a, &x);
    if (!rc)
        rc = approve ? st_record_approve(x.r, a.id, a.by, a.comment)
                     : st_record_reject(x.r, a.id, a.by, a.comment);
    st_record_state_t *s = NULL;
    if (!rc && !st_record_get_state(x.r, a.id, &s))
        printf("%s %s v%d\n", approve ? "approved" : "rejected", a.id, s->current_version);
    st_record_state_free(s);
    return finish(&x, rc);
}

static int cmd_approve(int argc, char **argv) { return decide(argc, argv, true); }
static int cmd_reject(int argc, char **argv) { return decide(argc, argv, false); }

static int cmd_show(int argc, char **argv) {
    args_t a;
    int u = parse("record show", "", argc, argv, &a);
    if (u) return u;
    ctx_t x;
    st_buf_t b = ST_BUF_INIT;
    int rc = ctx_open(&a, &x);
    if (!rc) rc = st_record_metadata_json(x.r, a.id, &b);
    if (!rc) fwrite(b.data, 1, b.len, stdout);
    st_buf_free(&b);
    return finish(&x, rc);
}

static int cmd_versions(int argc, char **argv) {
    args_t a;
    int u = parse("record versions", "", argc, argv, &a);
    if (u) return u;
    ctx_t x;
    int *vs = NULL, n = 0;
    int rc = ctx_open(&a, &x);
    if (!rc) rc = st_record_versions(x.r, a.id, &vs, &n);
    for (int i = 0; i < n; i++)
        printf("%d\n", vs[i]);
    free(vs);
    return finish(&x, rc);
}

static const char *kind_name(st_record_event_kind_t k) {
    static const char *names[] = {"create", "update", "approve", "reject"};
    return (unsigned)k < 4 ? names[k] : "?";
}

static int cmd_history(int argc, char **argv) {
    args_t a;
    int u = parse("record history", "f", argc, argv, &a);
    if (u) return u;
    cli_out_format_t fmt = CLI_OUT_TABLE;
    if (a.format && cli_out_format_parse(a.format, &fmt))
        return cli_usage_error("record history", "%s", st_errmsg());
    ctx_t x;
    st_record_state_t *s = NULL;
    cli_rows_t *rows = NULL;
    st_buf_t line = ST_BUF_INIT;
    int rc = ctx_open(&a, &x);
    if (!rc) rc = st_record_get_state(x.r, a.id, &s);
    if (!rc) rc = cli_rows_open(stdout, fmt, &rows);
    for (int i = 0; !rc && i < s->nhistory; i++) {
        const st_record_event_t *e = &s->history[i];
        char at[40];
        st_format_timestamp(e->at_us, 6, true, at, sizeof at);
        st_buf_reset(&line);
        rc = st_buf_printf(&line, "{\"seq\":%lld,\"event\":\"%s\",\"version\":%d,\"status\":\"%s\","
                                  "\"by\":",
                           (long long)e->seq, kind_name(e->kind), e->version,
                           st_record_status_name(e->status));
        if (!rc) rc = st_json_append_string(&line, e->by, strlen(e->by));
        if (!rc) rc = st_buf_printf(&line, ",\"at\":\"%s\",\"comment\":", at);
        if (!rc) rc = st_json_append_string(&line, e->comment, strlen(e->comment));
        if (!rc) rc = st_buf_append_byte(&line, '}');
        if (!rc) rc = cli_rows_emit(rows, (const char *)line.data, line.len);
    }
    if (rows) {
        int rc2 = cli_rows_close(rows);
        if (!rc) rc = rc2;
    }
    st_buf_free(&line);
    st_record_state_free(s);
    return finish(&x, rc);
}

static int emit_rows(const st_batch_t *b, cli_out_format_t fmt, FILE *fp) {
    cli_rows_t *rows;
    st_buf_t line = ST_BUF_INIT;
    int rc = cli_rows_open(fp, fmt, &rows);
    for (int64_t r = 0; !rc && r < b->nrows; r++) {
        st_buf_reset(&line);
        rc = st_buf_append_byte(&line, '{');
        for (int c = 0; c < b->ncols && !rc; c++) {
            const char *name = b->cols[c].field.name;
            if (c) rc = st_buf_append_byte(&line, ',');
            if (!rc) rc = st_json_append_string(&line, name, strlen(name));
            if (!rc) rc = st_buf_append_byte(&line, ':');
            if (!rc) rc = st_col_value_json(&b->cols[c], r, &line);
        }
        if (!rc) rc = st_buf_append_byte(&line, '}');
        if (!rc) rc = cli_rows_emit(rows, (const char *)line.data, line.len);
    }
    if (!rc || rows) {
        int rc2 = rows ? cli_rows_close(rows) : 0;
        if (!rc) rc = rc2;
    }
    st_buf_free(&line);
    return rc;
}

static int cmd_cat(int argc, char **argv) {
    args_t a;
    int u = parse("record cat", "vaAfo", argc, argv, &a);
    if (u) return u;
    bool parquet = a.format && !strcmp(a.format, "parquet");
    cli_out_format_t fmt = CLI_OUT_JSONL;
    if (a.format && !parquet && cli_out_format_parse(a.format, &fmt))
        return cli_usage_error("record cat", "unknown format '%s' (table, jsonl, csv or parquet)",
                               a.format);
    if (parquet && !a.output && isatty(1))
        return cli_usage_error("record cat", "--format parquet writes binary: give -o FILE");
    st_record_selector_t sel = {.version = a.version, .approved = a.approved,
                                .as_of_us = a.has_as_of ? a.as_of : 0};
    if (a.has_as_of && a.as_of <= 0) sel.as_of_us = 1; /* before any record existed */
    ctx_t x;
    int rc = ctx_open(&a, &x);
    FILE *fp = stdout;
    if (!rc && a.output && !(fp = fopen(a.output, parquet ? "wb" : "w"))) {
        fp = NULL;
        rc = st_error(ST_EIO, "%s: cannot open for writing", a.output);
    }
    if (!rc && parquet) {
        st_buf_t b = ST_BUF_INIT;
        rc = st_record_read_file(x.r, a.id, &sel, &b, NULL);
        if (!rc && fwrite(b.data, 1, b.len, fp) != b.len)
            rc = st_error(ST_EIO, "%s: write failed", a.output ? a.output : "stdout");
        st_buf_free(&b);
    } else if (!rc) {
        st_batch_t *b = NULL;
        rc = st_record_read(x.r, a.id, &sel, &b);
        if (!rc) rc = emit_rows(b, fmt, fp);
        st_batch_free(b);
    }
    if (fp && fp != stdout && fclose(fp) && !rc)
        rc = st_error(ST_EIO, "%s: write failed", a.output);
    return finish(&x, rc);
}

static int cmd_verify(int argc, char **argv) {
    args_t a;
    int u = parse("record verify", "", argc, argv, &a);
    if (u) return u;
    ctx_t x;
    st_buf_t rep = ST_BUF_INIT;
    int problems = 0;
    int rc = ctx_open(&a, &x);
    if (!rc) rc = st_record_verify(x.r, a.id, &rep, &problems);
    if (!rc) {
        if (rep.len) fwrite(rep.data, 1, rep.len, stdout);
        if (problems) {
            fprintf(stderr, "strata record verify: %s: %d problem%s found\n", a.id, problems,
                    problems == 1 ? "" : "s");
        } else {
            printf("%s: the chain holds\n", a.id);
        }
    }
    st_buf_free(&rep);
    int code = finish(&x, rc);
    return rc ? code : problems ? st_exit_code(ST_ECORRUPT) : 0;
}

static const cli_command_t commands[] = {
    {"create", "create a record (v1, draft) from CSV / JSON Lines", cmd_create, create_usage},
    {"update", "add the next version (draft)", cmd_update, update_usage},
    {"approve", "approve the current draft version", cmd_approve, approve_usage},
    {"reject", "reject the current draft version", cmd_reject, reject_usage},
    {"show", "print metadata.json (state and full history)", cmd_show, show_usage},
    {"versions", "list the version numbers", cmd_versions, versions_usage},
    {"history", "print every event of the record", cmd_history, history_usage},
    {"cat", "print the rows of a version", cmd_cat, cat_usage},
    {"verify", "check the hash chain, version files and metadata.json", cmd_verify,
     verify_usage},
};

int cli_record(int argc, char **argv) {
    static const char intro[] =
        "Versioned records: every version is an immutable Parquet file\n"
        "(<root>/ID/versions/vN.parquet), every change an event in a hash-chained,\n"
        "append-only log, and approval a workflow on top (draft -> approved or\n"
        "rejected; an update makes a new draft). Every command takes ID, and --store URL\n"
        "(or $STRATA_STORE).\n";
    static const char outro[] = "Exit codes: 0 ok, 1 usage, 2 no such record or version, 3 conflict\n"
                                "(exists, wrong status, lost race), 4 validation, 5 I/O or corrupt.\n"
                                "Run 'strata record <command> --help' for details.\n";
    return cli_dispatch("record", commands, sizeof commands / sizeof commands[0], intro, outro, argc, argv);
}
