/* strata schema: list, show, validate. Validation streams the input: one batch
 * of rows at a time is converted and checked, so memory stays bounded however
 * large the file (unique and primary-key checks keep 8 bytes per key). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "strata/schema.h"

#define VALIDATE_BATCH_ROWS 4096
#define DEFAULT_MAX_ERRORS 100

static const char list_usage[] =
    "usage: strata schema list [--dir DIR] [--format table|json|csv]\n\n"
    "Lists the schemas of the registry: the built-in pack (infrastructure logging:\n"
    "customers, projects, borehole, borelog, stratum_layers, lab reports, ...) plus\n"
    "every *.json schema file of DIR, which override built-ins of the same name.\n\n"
    "  --dir DIR      schema directory (default: $STRATA_SCHEMA_DIR when set)\n"
    "  --format F     table (default), json (one JSON object per line) or csv\n";

static const char show_usage[] =
    "usage: strata schema show NAME [--dir DIR]\n\n"
    "Prints a schema of the registry as a schema file (JSON; the format of DESIGN.md),\n"
    "ready to copy and edit.\n\n"
    "  --dir DIR      schema directory (default: $STRATA_SCHEMA_DIR when set)\n";

static const char validate_usage[] =
    "usage: strata schema validate (NAME | --schema FILE) DATA.csv|DATA.jsonl [options]\n\n"
    "Checks every row of a CSV (with a header line) or JSON Lines file against a schema:\n"
    "types (each cell must convert), nullability, min/max, lengths, patterns, enums,\n"
    "unique columns, the primary key and, for strict schemas, unknown columns. Reading\n"
    "goes on after a bad row, so one run reports every problem (up to --max-errors).\n"
    "Prints one line per violation (input line, row, column, value, rule) and a total.\n"
    "Exit status: 0 when valid (\"N rows valid\"), 4 when not, 2 for an unknown schema\n"
    "or a missing file, 1 for usage errors. DATA may be '-' for stdin (with\n"
    "--input-format). Memory stays bounded for inputs of any size.\n\n"
    "  --schema FILE        schema file instead of a registry NAME\n"
    "  --dir DIR            schema directory (default: $STRATA_SCHEMA_DIR when set)\n"
    "  --max-errors N       violations to show (default 100; all are counted)\n"
    "  --input-format F     csv or jsonl, when the extension does not tell\n"
    "  --format F           text (default) or json (one JSON object per violation,\n"
    "                       then a summary object)\n";

static const char *default_dir(const char *dir) {
    if (dir) return dir;
    const char *env = getenv("STRATA_SCHEMA_DIR");
    return env && *env ? env : NULL;
}

/* ---- list ---- */

static int cmd_list(int argc, char **argv) {
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'}, {"format", required_argument, 0, 'f'}, {0, 0, 0, 0}};
    const char *dir = NULL;
    cli_out_format_t fmt = CLI_OUT_TABLE;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:f:", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'f':
            if (cli_out_format_parse(optarg, &fmt))
                return cli_usage_error("schema list", "%s", st_errmsg());
            break;
        default: return cli_usage_error("schema list", "unknown option");
        }
    }
    if (optind != argc)
        return cli_usage_error("schema list", "unexpected argument '%s'", argv[optind]);
    st_registry_t *reg;
    int rc = st_registry_open(default_dir(dir), &reg);
    if (rc) return cli_fail(rc);
    cli_rows_t *rows;
    if ((rc = cli_rows_open(stdout, fmt, &rows))) {
        st_registry_free(reg);
        return cli_fail(rc);
    }
    st_buf_t line = ST_BUF_INIT;
    for (int i = 0; i < st_registry_count(reg) && !rc; i++) {
        const st_schema_t *s = st_registry_at(reg, i);
        st_buf_reset(&line);
        rc = st_buf_append_str(&line, "{\"name\":");
        if (!rc) rc = st_json_append_string(&line, s->name, strlen(s->name));
        if (!rc)
            rc = st_buf_printf(&line, ",\"version\":%d,\"fields\":%d,\"primary_key\":", s->version,
                               s->nfields);
        /* JSON keeps the key as a list; a table or CSV cell reads better as text. */
        if (!rc && fmt == CLI_OUT_JSONL) {
            rc = st_buf_append_byte(&line, '[');
            for (int k = 0; k < s->n_primary_key && !rc; k++) {
                if (k) rc = st_buf_append_byte(&line, ',');
                if (!rc)
                    rc = st_json_append_string(&line, s->primary_key[k], strlen(s->primary_key[k]));
            }
            if (!rc) rc = st_buf_append_byte(&line, ']');
        } else if (!rc) {
            st_buf_t key = ST_BUF_INIT;
            for (int k = 0; k < s->n_primary_key && !rc; k++) {
                if (k) rc = st_buf_append_str(&key, ", ");
                if (!rc) rc = st_buf_append_str(&key, s->primary_key[k]);
            }
            if (!rc)
                rc = st_json_append_string(&line, key.data ? (const char *)key.data : "", key.len);
            st_buf_free(&key);
        }
        if (!rc)
            rc = st_buf_printf(&line,
                               ",\"strict\":%s,\"description\":", s->strict ? "true" : "false");
        if (!rc && s->description)
            rc = st_json_append_string(&line, s->description, strlen(s->description));
        else if (!rc)
            rc = st_buf_append_str(&line, "null");
        if (!rc) rc = st_buf_append_byte(&line, '}');
        if (!rc) rc = cli_rows_emit(rows, (const char *)line.data, line.len);
    }
    st_buf_free(&line);
    int rc2 = cli_rows_close(rows);
    st_registry_free(reg);
    if (!rc) rc = rc2;
    return rc ? cli_fail(rc) : 0;
}

/* ---- show ---- */

static int cmd_show(int argc, char **argv) {
    static const struct option opts[] = {{"dir", required_argument, 0, 'd'}, {0, 0, 0, 0}};
    const char *dir = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        default: return cli_usage_error("schema show", "unknown option");
        }
    }
    if (optind != argc - 1) return cli_usage_error("schema show", "expected one schema NAME");
    st_registry_t *reg;
    int rc = st_registry_open(default_dir(dir), &reg);
    if (rc) return cli_fail(rc);
    const st_schema_t *s;
    st_buf_t out = ST_BUF_INIT;
    rc = st_registry_get(reg, argv[optind], &s);
    if (!rc) rc = st_schema_to_json(s, &out);
    if (!rc && (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout)))
        rc = st_error(ST_EIO, "cannot write output");
    st_buf_free(&out);
    st_registry_free(reg);
    return rc ? cli_fail(rc) : 0;
}

/* ---- validate ---- */

typedef struct vrun {
    const char *data;  /* as given, for messages */
    const char *shown; /* the reader's name for it ("<stdin>" for "-") */
    const st_schema_t *schema;
    st_validator_t *v;
    st_batch_t *batch;
    int64_t *lines;     /* input line of each row of the batch */
    int64_t rows;       /* rows counted so far: checked and skipped */
    int64_t *kept_line; /* input line of each kept violation (0: none) */
    int nkept_line;
} vrun;

/* Records the input line of violations kept since the last call. */
static int note_lines(vrun *s, int64_t batch_first_row, int64_t fixed_line) {
    int n;
    const st_violation_t *all = st_validator_violations(s->v, &n);
    if (n == s->nkept_line) return ST_OK;
    int64_t *nl = realloc(s->kept_line, (size_t)n * sizeof *nl);
    if (!nl) return st_error(ST_ENOMEM, "out of memory");
    s->kept_line = nl;
    for (int i = s->nkept_line; i < n; i++) {
        int64_t k = all[i].row - batch_first_row - 1;
        nl[i] = fixed_line ? fixed_line : (k >= 0 && k < s->batch->nrows ? s->lines[k] : 0);
    }
    s->nkept_line = n;
    return ST_OK;
}

/* Checks the rows read so far and empties the batch. */
static int flush(vrun *s) {
    if (s->batch->nrows == 0) return ST_OK;
    int rc = st_validator_check(s->v, s->batch);
    if (rc == ST_EVALIDATION) rc = ST_OK; /* recorded; the report comes at the end */
    if (!rc) rc = note_lines(s, s->rows, 0);
    s->rows += s->batch->nrows;
    st_batch_clear(s->batch);
    return rc;
}

/* The column a reader message names ("column depth_m: ..."), longest match. */
static const char *message_column(const st_schema_t *schema, const char *rest) {
    if (strncmp(rest, "column ", 7)) return NULL;
    const char *best = NULL;
    size_t best_len = 0;
    for (int i = 0; i < schema->nfields; i++) {
        const char *name = schema->fields[i].field.name;
        size_t n = strlen(name);
        if (n > best_len && !strncmp(rest + 7, name, n) && !strncmp(rest + 7 + n, ": ", 2)) {
            best = name;
            best_len = n;
        }
    }
    return best;
}

/* Turns a reader error ("<path>: line L[, column C]: what") into a violation
 * of the row it would have been, numbered like the validator's rows. */
static int add_reader_error(vrun *s, const char *msg, int64_t row, int64_t line, bool header) {
    size_t plen = strlen(s->shown);
    const char *rest = msg;
    if (!strncmp(rest, s->shown, plen) && !strncmp(rest + plen, ": ", 2)) rest += plen + 2;
    if (!strncmp(rest, "line ", 5)) {
        const char *p = rest + 5;
        while (*p >= '0' && *p <= '9')
            p++;
        if (*p == ',' || *p == ':') rest = p + 2;
    }
    const char *rule = strstr(rest, "is not in the schema") ? "strict" : "type";
    const char *column = header ? NULL : message_column(s->schema, rest);
    /* The cell as the reader showed it: '<value>' is not a valid <type>. */
    char *value = NULL;
    if (column) {
        const char *q = rest + 7 + strlen(column) + 2;
        const char *end = *q == '\'' ? strstr(q, "' is not a valid ") : NULL;
        if (end) value = strndup(q + 1, (size_t)(end - q - 1));
    }
    st_buf_t m = ST_BUF_INIT;
    int rc;
    if (header)
        rc = st_buf_printf(&m, "header: %s", rest);
    else
        rc = st_buf_printf(&m, "row %lld%s%s", (long long)row, column ? ", " : ": ", rest);
    if (!rc) rc = st_buf_append_byte(&m, 0);
    if (!rc) rc = st_validator_add(s->v, row, column, value, rule, (const char *)m.data);
    if (!rc) rc = note_lines(s, 0, line);
    st_buf_free(&m);
    free(value);
    return rc;
}

static bool row_error(int rc) {
    return rc == ST_ETYPE || rc == ST_EVALIDATION || rc == ST_ECORRUPT;
}

static int read_all(vrun *s, st_table_reader_t *r) {
    int64_t last_error_line = -1;
    for (;;) {
        int64_t n = 0;
        int rc = st_table_reader_next(r, s->batch, 1, &n);
        if (!rc && n == 0) return flush(s);
        if (!rc) {
            s->lines[s->batch->nrows - 1] = st_table_reader_line(r);
            if (s->batch->nrows == VALIDATE_BATCH_ROWS && (rc = flush(s))) return rc;
            continue;
        }
        if (!row_error(rc)) return rc;
        int64_t line = st_table_reader_line(r);
        if (line == last_error_line) return rc; /* no progress: give up rather than spin */
        last_error_line = line;
        char *msg = strdup(st_errmsg()); /* checking the batch sets a message of its own */
        if (!msg) return st_error(ST_ENOMEM, "out of memory");
        /* Keep the report in input order: check the rows before the bad one. */
        rc = flush(s);
        if (!rc) rc = add_reader_error(s, msg, s->rows + 1, line, false);
        free(msg);
        if (rc) return rc;
        st_validator_skip_rows(s->v, 1);
        s->rows++;
    }
}

static int print_report(const vrun *s, bool json) {
    int n;
    const st_violation_t *all = st_validator_violations(s->v, &n);
    int64_t count = st_validator_count(s->v);
    st_buf_t out = ST_BUF_INIT;
    int rc = ST_OK;
    for (int i = 0; i < n && !rc; i++) {
        const st_violation_t *x = &all[i];
        int64_t line = i < s->nkept_line ? s->kept_line[i] : 0;
        st_buf_reset(&out);
        if (json) {
            rc = st_buf_printf(&out, "{\"row\":%lld,\"line\":", (long long)x->row);
            if (!rc)
                rc = line ? st_buf_printf(&out, "%lld", (long long)line)
                          : st_buf_append_str(&out, "null");
            if (!rc) rc = st_buf_append_str(&out, ",\"column\":");
            if (!rc)
                rc = x->column ? st_json_append_string(&out, x->column, strlen(x->column))
                               : st_buf_append_str(&out, "null");
            if (!rc) rc = st_buf_append_str(&out, ",\"value\":");
            if (!rc)
                rc = x->value ? st_json_append_string(&out, x->value, strlen(x->value))
                              : st_buf_append_str(&out, "null");
            if (!rc) rc = st_buf_append_str(&out, ",\"rule\":");
            if (!rc) rc = st_json_append_string(&out, x->rule, strlen(x->rule));
            if (!rc) rc = st_buf_append_str(&out, ",\"message\":");
            if (!rc) rc = st_json_append_string(&out, x->message, strlen(x->message));
            if (!rc) rc = st_buf_append_str(&out, "}\n");
        } else {
            if (line) rc = st_buf_printf(&out, "line %lld: ", (long long)line);
            if (!rc) rc = st_buf_printf(&out, "%s [%s]\n", x->message, x->rule);
        }
        if (!rc && fwrite(out.data, 1, out.len, stdout) != out.len)
            rc = st_error(ST_EIO, "cannot write output");
    }
    if (!rc) {
        if (json)
            printf(
                "{\"schema\":\"%s\",\"rows\":%lld,\"violations\":%lld,\"shown\":%d,\"valid\":%s}\n",
                s->schema->name, (long long)s->rows, (long long)count, n, count ? "false" : "true");
        else if (count == 0)
            printf("%lld row%s valid\n", (long long)s->rows, s->rows == 1 ? "" : "s");
        else
            printf("%lld violation%s in %lld row%s%s\n", (long long)count, count == 1 ? "" : "s",
                   (long long)s->rows, s->rows == 1 ? "" : "s",
                   count > n ? " (raise --max-errors to see more)" : "");
        if (fflush(stdout)) rc = st_error(ST_EIO, "cannot write output");
    }
    st_buf_free(&out);
    return rc;
}

static int validate_with(const char *data, st_text_format_t fmt, const st_schema_t *schema,
                         int max_errors, bool json) {
    vrun s = {0};
    s.data = data;
    s.shown = strcmp(data, "-") ? data : "<stdin>";
    s.schema = schema;
    int rc = st_validator_new(schema, max_errors, &s.v);
    if (rc) return cli_fail(rc);
    st_table_reader_t *r = NULL;
    rc = st_table_reader_open(data, fmt, st_schema_fields(schema), schema->nfields, schema->strict,
                              &r);
    if (rc == ST_EVALIDATION) {
        /* The header breaks the schema (an unknown column of a strict schema, a
         * column named twice): report it, then check the rows as far as they
         * can be read. stdin cannot be read twice. */
        char *msg = strdup(st_errmsg());
        rc = msg ? add_reader_error(&s, msg, 0, 1, true) : st_error(ST_ENOMEM, "out of memory");
        free(msg);
        if (!rc && schema->strict && strcmp(data, "-")) {
            rc = st_table_reader_open(data, fmt, st_schema_fields(schema), schema->nfields, false,
                                      &r);
            if (rc == ST_EVALIDATION) rc = ST_OK, r = NULL; /* already reported */
        }
    }
    if (!rc) {
        s.lines = malloc(VALIDATE_BATCH_ROWS * sizeof *s.lines);
        rc = s.lines ? st_batch_new(st_schema_fields(schema), schema->nfields, &s.batch)
                     : st_error(ST_ENOMEM, "out of memory");
    }
    if (!rc && r) rc = read_all(&s, r);
    st_table_reader_close(r);
    if (!rc) rc = print_report(&s, json);
    int64_t count = st_validator_count(s.v);
    st_batch_free(s.batch);
    free(s.lines);
    free(s.kept_line);
    st_validator_free(s.v);
    if (rc) return cli_fail(rc);
    if (count) {
        fprintf(stderr, "strata: %s does not match the schema %s: %lld violation%s\n", s.shown,
                schema->name, (long long)count, count == 1 ? "" : "s");
        return st_exit_code(ST_EVALIDATION);
    }
    return 0;
}

static int cmd_validate(int argc, char **argv) {
    static const struct option opts[] = {
        {"schema", required_argument, 0, 's'},     {"dir", required_argument, 0, 'd'},
        {"max-errors", required_argument, 0, 'm'}, {"input-format", required_argument, 0, 'i'},
        {"format", required_argument, 0, 'f'},     {0, 0, 0, 0}};
    const char *schema_file = NULL, *dir = NULL;
    long long max_errors = DEFAULT_MAX_ERRORS;
    st_text_format_t fmt = ST_FORMAT_AUTO;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:d:m:i:f:", opts, NULL)) != -1) {
        switch (c) {
        case 's': schema_file = optarg; break;
        case 'd': dir = optarg; break;
        case 'm':
            if (!cli_parse_count("schema validate", "--max-errors", optarg, &max_errors))
                return CLI_EXIT_USAGE;
            if (max_errors < 1 || max_errors > 1000000)
                return cli_usage_error("schema validate", "--max-errors must be 1 to 1000000");
            break;
        case 'i':
            if (!strcmp(optarg, "csv"))
                fmt = ST_FORMAT_CSV;
            else if (!strcmp(optarg, "jsonl") || !strcmp(optarg, "ndjson"))
                fmt = ST_FORMAT_JSONL;
            else
                return cli_usage_error("schema validate", "--input-format must be csv or jsonl");
            break;
        case 'f':
            if (!strcmp(optarg, "json") || !strcmp(optarg, "jsonl"))
                json = true;
            else if (!strcmp(optarg, "text"))
                json = false;
            else
                return cli_usage_error("schema validate", "--format must be text or json");
            break;
        default: return cli_usage_error("schema validate", "unknown option");
        }
    }
    int want = schema_file ? 1 : 2;
    if (argc - optind != want)
        return cli_usage_error("schema validate", schema_file ? "expected DATA (with --schema FILE)"
                                                              : "expected a schema NAME and DATA");
    const char *data = argv[argc - 1];
    if (schema_file) {
        st_schema_t *s;
        int rc = st_schema_load(schema_file, &s);
        if (rc) return cli_fail(rc);
        rc = validate_with(data, fmt, s, (int)max_errors, json);
        st_schema_free(s);
        return rc;
    }
    st_registry_t *reg;
    int rc = st_registry_open(default_dir(dir), &reg);
    if (rc) return cli_fail(rc);
    const st_schema_t *s;
    rc = st_registry_get(reg, argv[optind], &s);
    rc = rc ? cli_fail(rc) : validate_with(data, fmt, s, (int)max_errors, json);
    st_registry_free(reg);
    return rc;
}

static const cli_command_t commands[] = {
    {"list", "list the schemas of the registry (built-in pack and --dir)", cmd_list, list_usage},
    {"show", "print a schema as a schema file", cmd_show, show_usage},
    {"validate", "check a CSV or JSON Lines file against a schema", cmd_validate, validate_usage},
};

int cli_schema(int argc, char **argv) {
    static const char intro[] = "Schemas are the contract for tables: types, nullability and constraints\n"
                                "(DESIGN.md). The registry holds a built-in pack plus the schema files of\n"
                                "--dir DIR or $STRATA_SCHEMA_DIR.\n";
    return cli_dispatch("schema", commands, sizeof commands / sizeof commands[0], intro, NULL, argc, argv);
}
