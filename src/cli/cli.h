/* Shared pieces of the strata command line: the command table, option parsing
 * conventions, error reporting and row output in the user's chosen format. */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "strata/core.h"

/* Exit codes (DESIGN.md): 0 ok, 1 usage, 2 not found, 3 conflict, 4 validation,
 * 5 I/O, 6 auth. */
#define CLI_EXIT_USAGE 1

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the verb */
    const char *usage;                 /* full --help text */
} cli_command_t;

/* Runs the command argv[1] of a group (argv[0] is the group's name): its
 * --help text, or cmds[i].run. Without a command, or with -h/--help, prints
 * the group's usage: intro (may be NULL), the commands with their summaries,
 * then outro (NULL: a pointer to 'strata GROUP COMMAND --help'). */
int cli_dispatch(const char *group, const cli_command_t *cmds, size_t n, const char *intro,
                 const char *outro, int argc, char **argv);

/* Prints "strata: <message>" for a failed status and returns its exit code. */
int cli_fail(int status);
/* Prints a usage error with a hint to --help and returns 1. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True if argv contains -h or --help (before a "--"). */
bool cli_wants_help(int argc, char **argv);
/* Parses a non-negative integer option value; prints a usage error if bad. */
bool cli_parse_count(const char *cmd, const char *opt, const char *text, long long *out);

/* Row output: rows arrive as canonical JSON objects (one per call) and are
 * printed as JSON Lines, CSV or an aligned table. */
typedef enum { CLI_OUT_JSONL, CLI_OUT_CSV, CLI_OUT_TABLE } cli_out_format_t;
typedef struct cli_rows cli_rows_t;

int cli_out_format_parse(const char *text, cli_out_format_t *out);
int cli_rows_open(FILE *fp, cli_out_format_t fmt, cli_rows_t **out);
/* Matches st_pq_emit_fn: ctx is the cli_rows_t. */
int cli_rows_emit(void *ctx, const char *line, size_t n);
/* Flushes what is buffered (table format) and frees. */
int cli_rows_close(cli_rows_t *r);

int cli_parquet(int argc, char **argv);
int cli_store(int argc, char **argv);
/* strata schema list/show/validate (cli_schema.c). */
int cli_schema(int argc, char **argv);
/* strata store caps URL (cli_store_caps.c); registered in the store group. */
int cli_store_caps(int argc, char **argv);
/* strata read DATASET_URL (cli_read.c): a top-level command. */
int cli_read(int argc, char **argv);
/* strata write DATASET_URL (cli_dataset_write.c): a top-level command. */
int cli_write(int argc, char **argv);
/* strata lake store/get/ls/search/... (cli_lake.c). */
int cli_lake(int argc, char **argv);

/* strata repo ... (cli_repo.c): records by entity type and project. */
int cli_repo(int argc, char **argv);
/* strata record ... (cli_record.c): versioned records and their approval. */
int cli_record(int argc, char **argv);

#endif
