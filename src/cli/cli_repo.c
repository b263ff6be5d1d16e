/* strata repo: records by entity type and project (repo.h). Thin: parse the
 * options, call the repository, print. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "strata/repo.h"

static const char repo_usage[] =
    "usage: strata repo COMMAND ENTITY_TYPE PROJECT [RECORD_ID] [options]\n\n"
    "Records organised by entity type (borelog, lab_report, ...) and project. Each\n"
    "entity type is bound to a schema of the registry; every change is a versioned,\n"
    "hash-chained record change (see 'strata record').\n\n"
    "commands:\n"
    "  create  E P ID --from FILE [--by U] [--comment C]   version 1 (draft)\n"
    "  update  E P ID --from FILE [--by U] [--comment C]   a new version (draft)\n"
    "  approve E P ID [--by U] [--comment C]               approve the current draft\n"
    "  reject  E P ID [--by U] [--comment C]               reject the current draft\n"
    "  get     E P ID [--version N | --approved | --as-of TS] [--format F]\n"
    "  history E P ID                                      metadata.json with the history\n"
    "  verify  E P ID   walk the record's hash chain (exit 5 when a problem is found)\n"
    "  list    E P [--status draft|approved|rejected] [--format F]\n"
    "  query   E P [--where EXPR] [--columns a,b] [--limit N] [--approved]\n"
    "              [--status S] [--format F]   every record's latest (or latest approved)\n"
    "                                          version as one table (+ _record_id, _version)\n"
    "  reindex E P      rebuild the project's index from the records\n"
    "  compact E P      fold the project's index markers into its snapshot\n"
    "  types            the entity types and their tables\n\n"
    "options:\n"
    "  --store URL      store (file:///dir, s3://bucket/prefix?..., a directory);\n"
    "                   default $STRATA_STORE\n"
    "  --config FILE    entity types config ({\"entity_types\": {\"borelog\": {\"table\": ...}}});\n"
    "                   default: <store>/repo/config.json, else the built-in mapping\n"
    "  --schemas DIR    add the *.json schemas of DIR to the registry\n"
    "  --from FILE      CSV or JSON Lines rows (\"-\" = stdin, needs --input-format)\n"
    "  --input-format csv|jsonl\n"
    "  --by USER        who makes the change (default $USER)\n"
    "  --comment TEXT\n"
    "  --approver-not-author   refuse approval by the author of the version\n"
    "  --format F       table, jsonl (default) or csv\n\n"
    "Exit codes: 0 ok, 1 usage, 2 not found, 3 conflict, 4 validation, 5 I/O.\n";

typedef struct args {
    const char *cmd, *entity, *project, *id;
    const char *store, *config, *schemas, *from, *by, *comment, *status, *where, *columns;
    const char *format, *as_of;
    st_text_format_t infmt;
    long long limit, version;
    bool approved, not_author;
} args_t;

static int parse(int argc, char **argv, args_t *a) {
    static const struct option opts[] = {
        {"store", required_argument, 0, 's'},   {"config", required_argument, 0, 'C'},
        {"schemas", required_argument, 0, 'S'}, {"from", required_argument, 0, 'F'},
        {"by", required_argument, 0, 'b'},      {"comment", required_argument, 0, 'm'},
        {"status", required_argument, 0, 't'},  {"where", required_argument, 0, 'w'},
        {"columns", required_argument, 0, 'c'}, {"limit", required_argument, 0, 'n'},
        {"format", required_argument, 0, 'f'},  {"approved", no_argument, 0, 'a'},
        {"version", required_argument, 0, 'v'}, {"as-of", required_argument, 0, 'T'},
        {"input-format", required_argument, 0, 'I'},
        {"approver-not-author", no_argument, 0, 'N'},
        {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    a->cmd = argv[0];
    a->limit = -1;
    a->format = "jsonl";
    a->store = getenv("STRATA_STORE");
    a->by = getenv("USER");
    if (!a->by || !*a->by) a->by = "unknown";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:F:b:m:w:c:n:f:", opts, NULL)) != -1) {
        switch (c) {
        case 's': a->store = optarg; break;
        case 'C': a->config = optarg; break;
        case 'S': a->schemas = optarg; break;
        case 'F': a->from = optarg; break;
        case 'b': a->by = optarg; break;
        case 'm': a->comment = optarg; break;
        case 't': a->status = optarg; break;
        case 'w': a->where = optarg; break;
        case 'c': a->columns = optarg; break;
        case 'n':
            if (!cli_parse_count("repo", "--limit", optarg, &a->limit)) return CLI_EXIT_USAGE;
            break;
        case 'f': a->format = optarg; break;
        case 'a': a->approved = true; break;
        case 'v':
            if (!cli_parse_count("repo", "--version", optarg, &a->version)) return CLI_EXIT_USAGE;
            break;
        case 'T': a->as_of = optarg; break;
        case 'N': a->not_author = true; break;
        case 'I':
            if (!strcmp(optarg, "csv")) a->infmt = ST_FORMAT_CSV;
            else if (!strcmp(optarg, "jsonl")) a->infmt = ST_FORMAT_JSONL;
            else return cli_usage_error("repo", "--input-format must be csv or jsonl");
            break;
        default: return cli_usage_error("repo", "unknown option");
        }
    }
    int npos = argc - optind;
    bool noarg = !strcmp(a->cmd, "types");
    bool noid = !strcmp(a->cmd, "list") || !strcmp(a->cmd, "query") ||
                !strcmp(a->cmd, "reindex") || !strcmp(a->cmd, "compact");
    int want = noarg ? 0 : noid ? 2 : 3;
    if (npos != want)
        return cli_usage_error("repo", "%s expects %s", a->cmd,
                               noarg  ? "no arguments"
                               : noid ? "ENTITY_TYPE PROJECT"
                                      : "ENTITY_TYPE PROJECT RECORD_ID");
    if (want >= 2) {
        a->entity = argv[optind];
        a->project = argv[optind + 1];
    }
    if (want == 3) a->id = argv[optind + 2];
    if (!a->store || !*a->store)
        return cli_usage_error("repo", "no store: give --store URL or set STRATA_STORE");
    return 0;
}

/* Reads every row of FILE into one batch of the schema's fields. */
static int read_rows(const args_t *a, const st_schema_t *schema, st_batch_t **out) {
    const st_field_t *fields = st_schema_fields(schema);
    st_table_reader_t *rd = NULL;
    st_batch_t *b = NULL;
    int rc = st_table_reader_open(a->from, a->infmt, fields, schema->nfields, schema->strict, &rd);
    if (!rc) rc = st_batch_new(fields, schema->nfields, &b);
    while (!rc) {
        int64_t got = 0;
        if ((rc = st_table_reader_next(rd, b, 65536, &got)) || got == 0) break;
    }
    if (rd) st_table_reader_close(rd);
    if (rc) {
        st_batch_free(b);
        return rc;
    }
    *out = b;
    return ST_OK;
}

static int emit_json_rows(cli_rows_t *rows, const st_batch_t *b, const char *rid, int version) {
    st_buf_t line = ST_BUF_INIT;
    int rc = ST_OK;
    for (int64_t r = 0; r < b->nrows && !rc; r++) {
        st_buf_reset(&line);
        rc = st_buf_append_byte(&line, '{');
        if (rid) {
            if (!rc) rc = st_buf_append_str(&line, "\"_record_id\":");
            if (!rc) rc = st_json_append_string(&line, rid, strlen(rid));
            if (!rc) rc = st_buf_printf(&line, ",\"_version\":%d", version);
        }
        for (int c = 0; c < b->ncols && !rc; c++) {
            const char *n = b->cols[c].field.name;
            if (c || rid) rc = st_buf_append_byte(&line, ',');
            if (!rc) rc = st_json_append_string(&line, n, strlen(n));
            if (!rc) rc = st_buf_append_byte(&line, ':');
            if (!rc) rc = st_col_value_json(&b->cols[c], r, &line);
        }
        if (!rc) rc = st_buf_append_byte(&line, '}');
        if (!rc) rc = cli_rows_emit(rows, (const char *)line.data, line.len);
    }
    st_buf_free(&line);
    return rc;
}

static int split_columns(const char *list, char **copy, const char ***cols, int *n) {
    *copy = strdup(list);
    int cap = 1;
    for (const char *p = list; *p; p++) cap += *p == ',';
    *cols = calloc((size_t)cap, sizeof **cols);
    if (!*copy || !*cols) return st_error(ST_ENOMEM, "out of memory");
    *n = 0;
    for (char *save = NULL, *t = strtok_r(*copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ') t++;
        char *e = t + strlen(t);
        while (e > t && e[-1] == ' ') *--e = 0;
        if (*t) (*cols)[(*n)++] = t;
    }
    if (*n == 0) return st_error(ST_EINVAL, "--columns names no column");
    return ST_OK;
}

static int do_change(st_repo_t *repo, const st_registry_t *reg, const args_t *a) {
    int rc, version = 0;
    const char *cmd = a->cmd;
    if (!strcmp(cmd, "create") || !strcmp(cmd, "update")) {
        if (!a->from) return cli_usage_error("repo", "%s needs --from FILE", cmd);
        const char *table;
        const st_schema_t *schema;
        st_batch_t *b = NULL;
        if ((rc = st_repo_entity_table(repo, a->entity, &table)) ||
            (rc = st_registry_get(reg, table, &schema)) || (rc = read_rows(a, schema, &b)))
            return cli_fail(rc);
        rc = !strcmp(cmd, "create")
                 ? st_repo_create(repo, a->entity, a->project, a->id, b, a->by, a->comment, &version)
                 : st_repo_update(repo, a->entity, a->project, a->id, b, a->by, a->comment, &version);
        st_batch_free(b);
    } else if (!strcmp(cmd, "approve")) {
        rc = st_repo_approve(repo, a->entity, a->project, a->id, a->by, a->comment);
    } else {
        rc = st_repo_reject(repo, a->entity, a->project, a->id, a->by, a->comment);
    }
    if (rc) return cli_fail(rc);
    st_buf_t out = ST_BUF_INIT;
    st_buf_append_str(&out, "{\"entity_type\":");
    st_json_append_string(&out, a->entity, strlen(a->entity));
    st_buf_append_str(&out, ",\"project\":");
    st_json_append_string(&out, a->project, strlen(a->project));
    st_buf_append_str(&out, ",\"record_id\":");
    st_json_append_string(&out, a->id, strlen(a->id));
    if (version) st_buf_printf(&out, ",\"version\":%d", version);
    st_buf_printf(&out, ",\"result\":\"%s\"}\n", cmd);
    fwrite(out.data, 1, out.len, stdout);
    st_buf_free(&out);
    return 0;
}

static int do_list(st_repo_t *repo, const args_t *a, cli_out_format_t fmt) {
    st_record_status_t st;
    if (a->status && st_record_status_parse(a->status, &st))
        return cli_usage_error("repo", "--status must be draft, approved or rejected");
    st_repo_list_t l;
    int rc = st_repo_list_by_project(repo, a->entity, a->project, a->status ? &st : NULL, &l);
    if (rc) return cli_fail(rc);
    cli_rows_t *rows = NULL;
    st_buf_t line = ST_BUF_INIT;
    rc = cli_rows_open(stdout, fmt, &rows);
    for (int i = 0; !rc && i < l.n; i++) {
        const st_repo_entry_t *e = &l.entries[i];
        char ts[40];
        st_format_timestamp(e->updated_at_us, 6, true, ts, sizeof ts);
        st_buf_reset(&line);
        st_buf_append_str(&line, "{\"record_id\":");
        st_json_append_string(&line, e->record_id, strlen(e->record_id));
        st_buf_printf(&line, ",\"version\":%d,\"status\":\"%s\",\"approved_version\":", e->version,
                      st_record_status_name(e->status));
        if (e->approved_version) st_buf_printf(&line, "%d", e->approved_version);
        else st_buf_append_str(&line, "null");
        rc = st_buf_printf(&line, ",\"updated_at\":\"%s\",\"log_seq\":%lld}", ts, (long long)e->seq);
        if (!rc) rc = cli_rows_emit(rows, (const char *)line.data, line.len);
    }
    if (rows) {
        int rc2 = cli_rows_close(rows);
        if (!rc) rc = rc2;
    }
    st_buf_free(&line);
    st_repo_list_free(&l);
    return rc ? cli_fail(rc) : 0;
}

static int do_query(st_repo_t *repo, const args_t *a, cli_out_format_t fmt) {
    st_repo_query_opts_t o;
    memset(&o, 0, sizeof o);
    st_record_status_t st;
    if (a->status && st_record_status_parse(a->status, &st))
        return cli_usage_error("repo", "--status must be draft, approved or rejected");
    char *copy = NULL;
    const char **cols = NULL;
    int ncols = 0, rc = ST_OK;
    if (a->columns && (rc = split_columns(a->columns, &copy, &cols, &ncols))) {
        free(copy);
        free(cols);
        return cli_usage_error("repo", "%s", st_errmsg());
    }
    o.approved = a->approved;
    o.status = a->status ? &st : NULL;
    o.columns = cols;
    o.ncolumns = ncols;
    o.filter = a->where;
    o.limit = a->limit;
    st_repo_query_t *q = NULL;
    cli_rows_t *rows = NULL;
    rc = st_repo_query_open(repo, a->entity, a->project, &o, &q);
    if (!rc) rc = cli_rows_open(stdout, fmt, &rows);
    while (!rc) {
        st_batch_t *b;
        const char *rid;
        int v;
        if ((rc = st_repo_query_next(q, &b, &rid, &v)) || !b) break;
        rc = emit_json_rows(rows, b, rid, v);
        st_batch_free(b);
    }
    if (rows) {
        int rc2 = cli_rows_close(rows);
        if (!rc) rc = rc2;
    }
    st_repo_query_close(q);
    free(copy);
    free(cols);
    return rc ? cli_fail(rc) : 0;
}

static int do_get(st_repo_t *repo, const args_t *a, cli_out_format_t fmt) {
    st_record_selector_t sel;
    memset(&sel, 0, sizeof sel);
    sel.version = (int)a->version;
    sel.approved = a->approved;
    if (a->as_of && st_parse_timestamp(a->as_of, 6, &sel.as_of_us))
        return cli_usage_error("repo", "--as-of: '%s' is not a timestamp", a->as_of);
    st_batch_t *b = NULL;
    int rc = st_repo_get(repo, a->entity, a->project, a->id, &sel, &b);
    if (rc) return cli_fail(rc);
    cli_rows_t *rows = NULL;
    rc = cli_rows_open(stdout, fmt, &rows);
    if (!rc) rc = emit_json_rows(rows, b, NULL, 0);
    if (rows) {
        int rc2 = cli_rows_close(rows);
        if (!rc) rc = rc2;
    }
    st_batch_free(b);
    return rc ? cli_fail(rc) : 0;
}

static int do_history(st_repo_t *repo, const args_t *a) {
    st_records_t *rec;
    st_buf_t out = ST_BUF_INIT;
    int rc = st_repo_records(repo, a->entity, a->project, &rec);
    if (!rc) rc = st_record_metadata_json(rec, a->id, &out);
    if (!rc) {
        fwrite(out.data, 1, out.len, stdout);
        if (!out.len || out.data[out.len - 1] != '\n') fputc('\n', stdout);
    }
    st_buf_free(&out);
    return rc ? cli_fail(rc) : 0;
}

int cli_repo(int argc, char **argv) {
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs(repo_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : 0;
    }
    static const char *const cmds[] = {"create", "update", "approve", "reject", "get",
                                       "history", "list", "query", "reindex", "compact",
                                       "types", "verify"};
    bool known = false;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) known |= !strcmp(argv[1], cmds[i]);
    if (!known) return cli_usage_error("repo", "unknown command '%s'", argv[1]);
    args_t a;
    int rc = parse(argc - 1, argv + 1, &a);
    if (rc) return rc;
    cli_out_format_t fmt = CLI_OUT_JSONL;
    if (cli_out_format_parse(a.format, &fmt))
        return cli_usage_error("repo", "unknown format '%s' (expected table, jsonl or csv)", a.format);
    st_registry_t *reg = NULL;
    st_store_t *store = NULL;
    st_repo_t *repo = NULL;
    if ((rc = st_registry_open(a.schemas, &reg)) || (rc = st_store_open(a.store, &store))) {
        rc = cli_fail(rc);
        goto out;
    }
    st_repo_opts_t ro;
    memset(&ro, 0, sizeof ro);
    ro.config_path = a.config;
    ro.registry = reg;
    ro.approver_not_author = a.not_author;
    if ((rc = st_repo_open(store, &ro, &repo))) {
        rc = cli_fail(rc);
        goto out;
    }
    const char *cmd = a.cmd;
    if (!strcmp(cmd, "types")) {
        for (int i = 0; i < st_repo_entity_count(repo); i++) {
            const char *e, *t;
            st_repo_entity_at(repo, i, &e, &t);
            printf("%-26s %s\n", e, t);
        }
        rc = 0;
    } else if (!strcmp(cmd, "list")) {
        rc = do_list(repo, &a, fmt);
    } else if (!strcmp(cmd, "query")) {
        rc = do_query(repo, &a, fmt);
    } else if (!strcmp(cmd, "get")) {
        rc = do_get(repo, &a, fmt);
    } else if (!strcmp(cmd, "history")) {
        rc = do_history(repo, &a);
    } else if (!strcmp(cmd, "verify")) {
        st_records_t *rec;
        st_buf_t report = ST_BUF_INIT;
        int problems = 0;
        rc = st_repo_records(repo, a.entity, a.project, &rec);
        if (!rc) rc = st_record_verify(rec, a.id, &report, &problems);
        if (rc) rc = cli_fail(rc);
        else {
            if (report.len) fwrite(report.data, 1, report.len, stdout);
            printf("%s/%s/%s: %d problem%s\n", a.entity, a.project, a.id, problems,
                   problems == 1 ? "" : "s");
            rc = problems ? st_exit_code(ST_ECORRUPT) : 0;
        }
        st_buf_free(&report);
    } else if (!strcmp(cmd, "reindex")) {
        int n = 0;
        rc = st_repo_reindex(repo, a.entity, a.project, &n);
        if (rc) rc = cli_fail(rc);
        else printf("reindexed %s/%s: %d records\n", a.entity, a.project, n);
    } else if (!strcmp(cmd, "compact")) {
        rc = st_repo_compact(repo, a.entity, a.project);
        rc = rc ? cli_fail(rc) : 0;
    } else {
        rc = do_change(repo, reg, &a);
    }
out:
    st_repo_close(repo);
    st_store_close(store);
    st_registry_free(reg);
    return rc;
}
