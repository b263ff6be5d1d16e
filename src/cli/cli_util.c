/* Error reporting and option helpers shared by every command. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cli_fail(int status) {
    const char *msg = st_errmsg();
    fprintf(stderr, "strata: %s\n", *msg ? msg : st_strerror(status));
    return st_exit_code(status);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "strata %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nRun 'strata %s --help' for usage.\n", cmd);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

bool cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return true;
    }
    return false;
}

bool cli_parse_count(const char *cmd, const char *opt, const char *text, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < 0) {
        cli_usage_error(cmd, "%s expects a non-negative integer, got '%s'", opt, text);
        return false;
    }
    *out = v;
    return true;
}

int cli_dispatch(const char *group, const cli_command_t *cmds, size_t n, const char *intro,
                 const char *outro, int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        FILE *fp = argc < 2 ? stderr : stdout;
        fprintf(fp, "usage: strata %s <command> [options]\n\n%s%scommands:\n", group, intro ? intro : "",
                intro ? "\n" : "");
        for (size_t i = 0; i < n; i++) fprintf(fp, "  %-9s %s\n", cmds[i].name, cmds[i].summary);
        if (outro) fprintf(fp, "\n%s", outro);
        else fprintf(fp, "\nRun 'strata %s <command> --help' for details.\n", group);
        return argc < 2 ? CLI_EXIT_USAGE : 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], cmds[i].name)) continue;
        if (cmds[i].usage && cli_wants_help(argc - 1, argv + 1)) {
            fputs(cmds[i].usage, stdout);
            return 0;
        }
        return cmds[i].run(argc - 1, argv + 1);
    }
    return cli_usage_error(group, "unknown command '%s'", argv[1]);
}
