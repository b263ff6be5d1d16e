/* strata store caps: what a store promises (conditional create, conditional
 * replace), as probed on open. Layers that commit by conditional writes refuse
 * stores without them; --require shows that refusal without such a layer. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "strata/store.h"

static const char caps_usage[] =
    "usage: strata store caps URL [--require]\n\n"
    "Prints what the store at URL can promise:\n"
    "  put_if_absent: yes|no   create-only puts two writers cannot both win\n"
    "  put_if_match: yes|no    replace only if the ETag is unchanged\n"
    "For s3:// URLs the endpoint is probed once on open (some S3 look-alikes ignore\n"
    "conditional headers and silently overwrite).\n\n"
    "  --require   fail (exit 5) unless both are present, as a layer needing atomic\n"
    "              commits would\n";

int cli_store_caps(int argc, char **argv) {
    static const struct option longopts[] = {
        {"require", no_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool require = false;
    int c;
    if (cli_wants_help(argc, argv)) {
        fputs(caps_usage, stdout);
        return 0;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'r') require = true;
        else return cli_usage_error("store caps", "unknown option");
    }
    if (optind != argc - 1) return cli_usage_error("store caps", "expected one URL");

    st_store_t *s;
    int rc = st_store_open(argv[optind], &s);
    if (rc) return cli_fail(rc);
    unsigned caps = st_store_caps(s);
    printf("store: %s\n", st_store_url(s));
    printf("put_if_absent: %s\n", (caps & ST_CAP_PUT_IF_ABSENT) ? "yes" : "no");
    printf("put_if_match: %s\n", (caps & ST_CAP_PUT_IF_MATCH) ? "yes" : "no");
    fflush(stdout);
    if (require) rc = st_store_require(s, ST_CAP_PUT_IF_ABSENT | ST_CAP_PUT_IF_MATCH, "atomic commits");
    st_store_close(s);
    return rc ? cli_fail(rc) : 0;
}
