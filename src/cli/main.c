/* strata: the command-line entry point. Thin by design: parse, call the
 * library, print. Each command group lives in its own cli_<group>.c. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} groups[] = {
    {"parquet", "read, inspect and write Parquet files", cli_parquet},
    {"store", "list, read, write and delete objects in stores", cli_store},
    {"schema", "list and show table schemas, validate CSV / JSON Lines against them", cli_schema},
    {"read", "read a dataset with filters, projection and pruning", cli_read},
    {"write", "add CSV or JSON Lines rows to a dataset, validated and partitioned", cli_write},
    {"lake", "store, version and full-text search artifacts with metadata", cli_lake},
    {"repo", "records by entity type and project: create, approve, list, query", cli_repo},
    {"record", "versioned records: create, update, approve, reject, read, verify", cli_record},
};

static void usage(FILE *fp) {
    fprintf(fp,
            "strata %s: a storage toolkit for data that must never be lost or silently changed\n\n"
            "usage: strata <group> <command> [options]\n\n"
            "groups:\n",
            ST_VERSION_STRING);
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        fprintf(fp, "  %-10s %s\n", groups[i].name, groups[i].summary);
    fprintf(fp, "\nRun 'strata <group> --help' for the commands of a group.\n"
                "Exit codes: 0 ok, 1 usage, 2 not found, 3 conflict, 4 validation, 5 I/O or\n"
                "corrupt data, 6 authentication.\n");
}

int main(int argc, char **argv) {
    st_keep_freed_memory();
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("strata %s\n", ST_VERSION_STRING);
        return 0;
    }
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if (!strcmp(argv[1], groups[i].name)) return groups[i].run(argc - 1, argv + 1);
    fprintf(stderr, "strata: unknown command group '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
