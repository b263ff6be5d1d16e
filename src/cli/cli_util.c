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
