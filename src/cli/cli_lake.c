/* strata lake: store, get, ls, search, update, versions, rm, purge, stats,
 * reindex, types on the artifact lake of a store. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "strata/lake.h"

#define MAX_FILTERS 32

static const char common_help[] =
    "\ncommon options:\n"
    "  --store URL       the store (default: $STRATA_STORE): file:///dir, a plain path,\n"
    "                    mem://name, s3://bucket/prefix?endpoint=...\n"
    "  --index PATH      the search index, a cache (default: $STRATA_LAKE_INDEX, else\n"
    "                    $XDG_CACHE_HOME/strata or ~/.cache/strata, one file per store URL)\n"
    "  --format F        table (default) or json\n";

#define COMMON_OPTS                                                                                \
    {"store", required_argument, 0, 'S'}, {"index", required_argument, 0, 'I'},                    \
        {"format", required_argument, 0, 'F'}

typedef struct {
    const char *cmd;
    const char *store_url;
    const char *index;
    bool json;
} common_t;

/* Handles the common options; returns 0, or 1 (usage) after a message. */
static int common_opt(common_t *c, int opt, const char *arg) {
    switch (opt) {
    case 'S': c->store_url = arg; return 0;
    case 'I': c->index = arg; return 0;
    case 'F':
        if (!strcmp(arg, "json")) c->json = true;
        else if (!strcmp(arg, "table")) c->json = false;
        else return cli_usage_error(c->cmd, "unknown format '%s' (expected table or json)", arg);
        return 0;
    default: return cli_usage_error(c->cmd, "unknown option");
    }
}

typedef struct {
    st_store_t *store;
    st_lake_t *lake;
} handle_t;

static int open_lake(const common_t *c, handle_t *h) {
    h->store = NULL;
    h->lake = NULL;
    const char *url = c->store_url ? c->store_url : getenv("STRATA_STORE");
    if (!url || !*url) return cli_usage_error(c->cmd, "no store: give --store URL or set STRATA_STORE");
    int rc = st_store_open(url, &h->store);
    if (!rc) {
        st_lake_opts_t o = {.index_path = c->index};
        rc = st_lake_open(h->store, &o, &h->lake);
    }
    if (rc) {
        st_store_close(h->store);
        return cli_fail(rc);
    }
    return 0;
}

static void close_lake(handle_t *h) {
    st_lake_close(h->lake);
    st_store_close(h->store);
}

static int flush_out(void) {
    if (fflush(stdout) != 0)
        return cli_fail(st_error(ST_EIO, "standard output: %s", strerror(errno)));
    return 0;
}

static int emit(st_buf_t *b) {
    if (b->len && fwrite(b->data, 1, b->len, stdout) != b->len)
        return cli_fail(st_error(ST_EIO, "standard output: %s", strerror(errno)));
    return 0;
}

static void when(int64_t us, char out[64]) { st_format_timestamp(us, 6, true, out, 64); }

static void entry_table(const st_lake_entry_t *e, st_buf_t *b) {
    char c[64], u[64];
    when(e->created_at_us, c);
    when(e->updated_at_us, u);
    st_buf_printf(b,
                  "id          %s\nname        %s\ndata_type   %s\nsubpath     %s\npath        %s\n"
                  "content     %s\nsize        %llu\nsha256      %s\nversion     %d\n"
                  "created_at  %s\nupdated_at  %s\n",
                  e->id, e->name, e->data_type, e->subpath, e->path, e->is_text ? "text" : "binary",
                  (unsigned long long)e->size, e->sha256, e->version, c, u);
    if (e->deleted) {
        when(e->deleted_at_us, c);
        st_buf_printf(b, "deleted_at  %s\n", c);
    }
    st_buf_printf(b, "metadata    %s\n", e->metadata_json);
}

static int print_entry(const common_t *c, const st_lake_entry_t *e, bool with_content) {
    st_buf_t b = ST_BUF_INIT;
    if (c->json) {
        st_lake_entry_json(e, with_content, &b);
        st_buf_append_byte(&b, '\n');
    } else {
        entry_table(e, &b);
    }
    int rc = emit(&b);
    st_buf_free(&b);
    return rc ? rc : flush_out();
}

/* Content from --file (or '-' for standard input) or --content. */
static int read_content(const char *cmd, const char *file, const char *text, st_buf_t *out) {
    if (file && text) return cli_usage_error(cmd, "give --file or --content, not both");
    if (text) return st_buf_append_str(out, text) ? cli_fail(ST_ENOMEM) : 0;
    if (!strcmp(file, "-")) {
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
            if (st_buf_append(out, chunk, n)) return cli_fail(ST_ENOMEM);
        if (ferror(stdin))
            return cli_fail(st_error(ST_EIO, "standard input: %s", strerror(errno)));
        return 0;
    }
    int rc = st_read_file(file, out);
    return rc ? cli_fail(rc) : 0;
}

/* ---- store ---- */

static const char store_usage[] =
    "usage: strata lake store NAME --type TYPE [--subpath P] [--meta JSON]\n"
    "                         (--file F | --content TEXT) [common options]\n\n"
    "Stores a new entry at lake/TYPE/[P/]NAME and prints it (its id first).\n"
    "Types: schema, macro, documentation, configuration, logs, other, and those\n"
    "registered with 'strata lake types --register'. Exit 3 if the path is taken,\n"
    "4 for a bad name, subpath, type or metadata.\n\n"
    "  --type TYPE      data type (required)\n"
    "  --subpath P      directories below the type, '/'-separated\n"
    "  --meta JSON      metadata, a JSON object\n"
    "  --file F         content from file F ('-': standard input)\n"
    "  --content TEXT   content given inline\n";

static int cmd_store(int argc, char **argv) {
    static const struct option opts[] = {COMMON_OPTS,
                                         {"type", required_argument, 0, 't'},
                                         {"subpath", required_argument, 0, 'p'},
                                         {"meta", required_argument, 0, 'm'},
                                         {"file", required_argument, 0, 'f'},
                                         {"content", required_argument, 0, 'c'},
                                         {0, 0, 0, 0}};
    common_t c = {.cmd = "lake store"};
    const char *type = NULL, *sub = NULL, *meta = NULL, *file = NULL, *text = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "t:p:m:f:c:", opts, NULL)) != -1) {
        switch (o) {
        case 't': type = optarg; break;
        case 'p': sub = optarg; break;
        case 'm': meta = optarg; break;
        case 'f': file = optarg; break;
        case 'c': text = optarg; break;
        default:
            if (common_opt(&c, o, optarg)) return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return cli_usage_error(c.cmd, "expected one NAME");
    if (!type) return cli_usage_error(c.cmd, "--type is required");
    if (!file && !text) return cli_usage_error(c.cmd, "give the content with --file or --content");
    st_buf_t content = ST_BUF_INIT;
    int ec = read_content(c.cmd, file, text, &content);
    handle_t h;
    if (!ec) ec = open_lake(&c, &h);
    if (ec) {
        st_buf_free(&content);
        return ec;
    }
    st_lake_entry_t e;
    int rc = st_lake_store(h.lake, argv[optind], content.data, content.len, type, meta, sub, &e);
    st_buf_free(&content);
    if (!rc) {
        ec = print_entry(&c, &e, false);
        st_lake_entry_free(&e);
    } else {
        ec = cli_fail(rc);
    }
    close_lake(&h);
    return ec;
}

/* ---- get / info ---- */

static const char get_usage[] =
    "usage: strata lake get ID [--version N] [-o FILE] [common options]\n"
    "       strata lake get --path PATH [-o FILE] [common options]\n\n"
    "Writes an entry's content to standard output (binary-safe) or FILE; with\n"
    "--format json prints the entry with its content instead (\"content\" for text,\n"
    "\"content_base64\" for binary). Exit 2 if there is no such entry (deleted\n"
    "entries are found only with --version).\n\n"
    "  --version N      an earlier version (see 'strata lake versions ID')\n"
    "  --path PATH      by path: lake/TYPE/[SUBPATH/]NAME or TYPE/[SUBPATH/]NAME\n"
    "  -o, --output F   write the content to F\n";

static const char info_usage[] =
    "usage: strata lake info ID [common options]\n\n"
    "Prints an entry's id, name, type, path, size, SHA-256, version, times and\n"
    "metadata (deleted entries too).\n";

static int write_file(const char *path, const uint8_t *data, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return st_error(ST_EIO, "%s: %s", path, strerror(errno));
    bool ok = (n == 0 || fwrite(data, 1, n, fp) == n);
    if (fclose(fp) != 0) ok = false;
    if (!ok) {
        unlink(path);
        return st_error(ST_EIO, "%s: write failed: %s", path, strerror(errno));
    }
    return ST_OK;
}

static int cmd_get_like(int argc, char **argv, bool info) {
    static const struct option opts[] = {COMMON_OPTS,
                                         {"version", required_argument, 0, 'v'},
                                         {"path", required_argument, 0, 'P'},
                                         {"output", required_argument, 0, 'o'},
                                         {0, 0, 0, 0}};
    common_t c = {.cmd = info ? "lake info" : "lake get"};
    const char *path = NULL, *out = NULL;
    long long version = 0;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "v:P:o:", opts, NULL)) != -1) {
        switch (o) {
        case 'v':
            if (!cli_parse_count(c.cmd, "--version", optarg, &version)) return CLI_EXIT_USAGE;
            if (version < 1 || version > 1000000000)
                return cli_usage_error(c.cmd, "--version must be at least 1");
            break;
        case 'P': path = optarg; break;
        case 'o': out = optarg; break;
        default:
            if (common_opt(&c, o, optarg)) return CLI_EXIT_USAGE;
        }
    }
    if (info && (path || out || version))
        return cli_usage_error(c.cmd, "info takes only an ID");
    if (path ? optind != argc : optind != argc - 1)
        return cli_usage_error(c.cmd, path ? "give an ID or --path, not both" : "expected one ID");
    if (path && version) return cli_usage_error(c.cmd, "--version needs an ID");
    handle_t h;
    int ec = open_lake(&c, &h);
    if (ec) return ec;
    st_lake_entry_t e;
    int rc;
    if (info) {
        rc = st_lake_info(h.lake, argv[optind], &e);
    } else if (path) {
        rc = st_lake_retrieve_by_path(h.lake, path, &e);
    } else if (version) {
        rc = st_lake_retrieve_version(h.lake, argv[optind], (int)version, &e);
    } else {
        rc = st_lake_retrieve(h.lake, argv[optind], &e);
    }
    if (rc) {
        ec = cli_fail(rc);
    } else {
        if (info) {
            ec = print_entry(&c, &e, false);
        } else if (out && strcmp(out, "-")) {
            rc = write_file(out, e.content, e.content_len);
            ec = rc ? cli_fail(rc) : (c.json ? print_entry(&c, &e, false) : 0);
        } else if (c.json) {
            ec = print_entry(&c, &e, true);
        } else {
            st_buf_t b = {e.content, e.content_len, e.content_len};
            ec = emit(&b);
            if (!ec) ec = flush_out();
        }
        st_lake_entry_free(&e);
    }
    close_lake(&h);
    return ec;
}

static int cmd_get(int argc, char **argv) { return cmd_get_like(argc, argv, false); }
static int cmd_info(int argc, char **argv) { return cmd_get_like(argc, argv, true); }

/* ---- ls ---- */

static const char ls_usage[] =
    "usage: strata lake ls [--type T] [--subpath P] [--recursive] [common options]\n\n"
    "Lists live entries by path: of one type or all, directly in the subpath (the\n"
    "type's top level by default) or, with --recursive, below it too.\n";

static int cmd_ls(int argc, char **argv) {
    static const struct option opts[] = {COMMON_OPTS,
                                         {"type", required_argument, 0, 't'},
                                         {"subpath", required_argument, 0, 'p'},
                                         {"recursive", no_argument, 0, 'r'},
                                         {0, 0, 0, 0}};
    common_t c = {.cmd = "lake ls"};
    const char *type = NULL, *sub = NULL;
    bool rec = false;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "t:p:r", opts, NULL)) != -1) {
        switch (o) {
        case 't': type = optarg; break;
        case 'p': sub = optarg; break;
        case 'r': rec = true; break;
        default:
            if (common_opt(&c, o, optarg)) return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc) return cli_usage_error(c.cmd, "unexpected argument '%s'", argv[optind]);
    handle_t h;
    int ec = open_lake(&c, &h);
    if (ec) return ec;
    st_lake_entry_t *l;
    size_t n;
    int rc = st_lake_list(h.lake, type, sub, rec, &l, &n);
    if (rc) {
        close_lake(&h);
        return cli_fail(rc);
    }
    st_buf_t b = ST_BUF_INIT;
    if (c.json) st_buf_append_str(&b, "[");
    else st_buf_printf(&b, "%-36s  %-13s %4s %12s  %-27s  %s\n", "ID", "TYPE", "VER", "SIZE",
                       "UPDATED", "PATH");
    for (size_t i = 0; i < n; i++) {
        if (c.json) {
            st_buf_append_str(&b, i ? ",\n  " : "\n  ");
            st_lake_entry_json(&l[i], false, &b);
        } else {
            char u[64];
            when(l[i].updated_at_us, u);
            st_buf_printf(&b, "%-36s  %-13s %4d %12llu  %-27s  %s\n", l[i].id, l[i].data_type,
                          l[i].version, (unsigned long long)l[i].size, u, l[i].path);
        }
    }
    if (c.json) st_buf_append_str(&b, n ? "\n]\n" : "]\n");
    ec = emit(&b);
    if (!ec) ec = flush_out();
    st_buf_free(&b);
    st_lake_entries_free(l, n);
    close_lake(&h);
    return ec;
}

/* ---- search ---- */

static const char search_usage[] =
    "usage: strata lake search QUERY [--type T] [--subpath P] [--meta key=value]...\n"
    "                          [--limit N] [--exact] [common options]\n\n"
    "Full-text search over names, text content and metadata values, best first\n"
    "(BM25), with a snippet per hit, matched terms in [brackets].\n"
    "QUERY: words (all must match), \"quoted phrases\", prefix* terms, AND, OR, NOT,\n"
    "parentheses. Changes made by other processes are picked up first.\n\n"
    "  --type T          only entries of this type\n"
    "  --subpath P       only entries in P or below\n"
    "  --meta key=value  only entries whose metadata has this value (nested keys\n"
    "                    joined with '.'; repeatable: all must hold)\n"
    "  --limit N         at most N hits (default 20)\n"
    "  --exact           rank every match. By default a search is bounded so that it\n"
    "                    answers in milliseconds on a large lake: content and metadata\n"
    "                    matches are ranked among the 20,000 newest entries (older\n"
    "                    ones only when those hold fewer than N matches), at most the\n"
    "                    1,000 newest of them, while every entry whose name matches is\n"
    "                    ranked whatever its age. So an old entry matching only by\n"
    "                    content may be missing when thousands of newer ones match;\n"
    "                    --exact finds it, taking time in proportion to the matches.\n"
    "                    Scores are the same in both modes.\n";

static int cmd_search(int argc, char **argv) {
    static const struct option opts[] = {COMMON_OPTS,
                                         {"type", required_argument, 0, 't'},
                                         {"subpath", required_argument, 0, 'p'},
                                         {"meta", required_argument, 0, 'm'},
                                         {"limit", required_argument, 0, 'n'},
                                         {"exact", no_argument, 0, 'x'},
                                         {0, 0, 0, 0}};
    common_t c = {.cmd = "lake search"};
    st_lake_search_opts_t so = {0};
    st_lake_filter_t filters[MAX_FILTERS];
    char *copies[MAX_FILTERS];
    size_t nf = 0;
    long long limit = 20;
    int o, ec = 0;
    optind = 1;
    while (!ec && (o = getopt_long(argc, argv, "t:p:m:n:", opts, NULL)) != -1) {
        switch (o) {
        case 'x': so.exact = true; break;
        case 't': so.data_type = optarg; break;
        case 'p': so.subpath = optarg; break;
        case 'm': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                ec = cli_usage_error(c.cmd, "--meta expects key=value, got '%s'", optarg);
                break;
            }
            if (nf == MAX_FILTERS) {
                ec = cli_usage_error(c.cmd, "at most %d --meta filters", MAX_FILTERS);
                break;
            }
            copies[nf] = strdup(optarg);
            if (!copies[nf]) {
                ec = cli_fail(ST_ENOMEM);
                break;
            }
            copies[nf][eq - optarg] = 0;
            filters[nf] = (st_lake_filter_t){copies[nf], copies[nf] + (eq - optarg) + 1};
            nf++;
            break;
        }
        case 'n':
            if (!cli_parse_count(c.cmd, "--limit", optarg, &limit)) ec = CLI_EXIT_USAGE;
            else if (limit < 1 || limit > 100000)
                ec = cli_usage_error(c.cmd, "--limit must be between 1 and 100000");
            break;
        default: ec = common_opt(&c, o, optarg);
        }
    }
    if (!ec && optind != argc - 1) ec = cli_usage_error(c.cmd, "expected one QUERY");
    handle_t h;
    if (!ec) ec = open_lake(&c, &h);
    if (ec) {
        for (size_t i = 0; i < nf; i++) free(copies[i]);
        return ec;
    }
    so.meta = filters;
    so.nmeta = nf;
    so.limit = (size_t)limit;
    st_lake_hit_t *hits;
    size_t n;
    int rc = st_lake_search(h.lake, argv[optind], &so, &hits, &n);
    for (size_t i = 0; i < nf; i++) free(copies[i]);
    if (rc) {
        close_lake(&h);
        return cli_fail(rc);
    }
    st_buf_t b = ST_BUF_INIT;
    if (c.json) st_buf_append_str(&b, "[");
    for (size_t i = 0; i < n; i++) {
        char score[32];
        st_format_double(hits[i].score, score);
        if (c.json) {
            st_buf_printf(&b, "%s{\"rank\":%zu,\"score\":%s,\"snippet\":", i ? ",\n  " : "\n  ",
                          i + 1, score);
            st_json_append_string(&b, hits[i].snippet, strlen(hits[i].snippet));
            st_buf_append_str(&b, ",\"entry\":");
            st_lake_entry_json(&hits[i].entry, false, &b);
            st_buf_append_str(&b, "}");
        } else {
            /* %.3g: BM25 of a small lake is close to zero (IDF of ln(1.x)). */
            st_buf_printf(&b, "%zu. %s  (score %.3g, %s, id %s)\n   ", i + 1, hits[i].entry.path,
                          hits[i].score, hits[i].entry.data_type, hits[i].entry.id);
            /* One line per hit: newlines in the snippet become spaces. */
            for (const char *p = hits[i].snippet; *p; p++)
                st_buf_append_byte(&b, *p == '\n' || *p == '\r' || *p == '\t' ? ' ' : (uint8_t)*p);
            st_buf_append_byte(&b, '\n');
        }
    }
    if (c.json) st_buf_append_str(&b, n ? "\n]\n" : "]\n");
    else if (!n) st_buf_append_str(&b, "no matches\n");
    ec = emit(&b);
    if (!ec) ec = flush_out();
    st_buf_free(&b);
    st_lake_hits_free(hits, n);
    close_lake(&h);
    return ec;
}

/* ---- update ---- */

static const char update_usage[] =
    "usage: strata lake update ID [--file F | --content TEXT] [--meta JSON] [common options]\n\n"
    "New content becomes a new version (the earlier ones stay readable); --meta is\n"
    "merged into the metadata (a null value removes a key). Prints the entry.\n"
    "Exit 3 if another writer changed the entry meanwhile (retry).\n";

static int cmd_update(int argc, char **argv) {
    static const struct option opts[] = {COMMON_OPTS,
                                         {"meta", required_argument, 0, 'm'},
                                         {"file", required_argument, 0, 'f'},
                                         {"content", required_argument, 0, 'c'},
                                         {0, 0, 0, 0}};
    common_t c = {.cmd = "lake update"};
    const char *meta = NULL, *file = NULL, *text = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "m:f:c:", opts, NULL)) != -1) {
        switch (o) {
        case 'm': meta = optarg; break;
        case 'f': file = optarg; break;
        case 'c': text = optarg; break;
        default:
            if (common_opt(&c, o, optarg)) return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return cli_usage_error(c.cmd, "expected one ID");
    if (!file && !text && !meta)
        return cli_usage_error(c.cmd, "nothing to change: give --file, --content or --meta");
    st_buf_t content = ST_BUF_INIT;
    int ec = (file || text) ? read_content(c.cmd, file, text, &content) : 0;
    handle_t h;
    if (!ec) ec = open_lake(&c, &h);
    if (ec) {
        st_buf_free(&content);
        return ec;
    }
    st_lake_entry_t e;
    int rc = st_lake_update(h.lake, argv[optind],
                            (file || text) ? (content.data ? (void *)content.data : "") : NULL,
                            content.len, meta, &e);
    st_buf_free(&content);
    if (!rc) {
        ec = print_entry(&c, &e, false);
        st_lake_entry_free(&e);
    } else {
        ec = cli_fail(rc);
    }
    close_lake(&h);
    return ec;
}

/* ---- versions ---- */

static const char versions_usage[] =
    "usage: strata lake versions ID [common options]\n\n"
    "Lists an entry's versions, oldest first (deleted entries too); read one with\n"
    "'strata lake get ID --version N'.\n";

static int cmd_versions(int argc, char **argv) {
    static const struct option opts[] = {COMMON_OPTS, {0, 0, 0, 0}};
    common_t c = {.cmd = "lake versions"};
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if (common_opt(&c, o, optarg)) return CLI_EXIT_USAGE;
    if (optind != argc - 1) return cli_usage_error(c.cmd, "expected one ID");
    handle_t h;
    int ec = open_lake(&c, &h);
    if (ec) return ec;
    st_lake_version_t *v;
    size_t n;
    int rc = st_lake_versions(h.lake, argv[optind], &v, &n);
    if (rc) {
        close_lake(&h);
        return cli_fail(rc);
    }
    st_buf_t b = ST_BUF_INIT;
    if (c.json) st_buf_append_str(&b, "[");
    else st_buf_printf(&b, "%7s %12s  %-27s  %s\n", "VERSION", "SIZE", "CREATED", "SHA256");
    for (size_t i = 0; i < n; i++) {
        char t[64];
        when(v[i].created_at_us, t);
        if (c.json)
            st_buf_printf(&b,
                          "%s{\"version\":%d,\"size\":%llu,\"sha256\":\"%s\",\"created_at\":\"%s\"}",
                          i ? ",\n  " : "\n  ", v[i].version, (unsigned long long)v[i].size,
                          v[i].sha256, t);
        else
            st_buf_printf(&b, "%7d %12llu  %-27s  %s\n", v[i].version,
                          (unsigned long long)v[i].size, t, v[i].sha256);
    }
    if (c.json) st_buf_append_str(&b, n ? "\n]\n" : "]\n");
    ec = emit(&b);
    if (!ec) ec = flush_out();
    st_buf_free(&b);
    free(v);
    close_lake(&h);
    return ec;
}

/* ---- rm, purge, reindex ---- */

static const char rm_usage[] =
    "usage: strata lake rm ID [common options]\n\n"
    "Deletes an entry, leaving a tombstone: it disappears from ls, search and stats,\n"
    "its versions stay readable until 'strata lake purge'. Exit 2 if there is none.\n";

static const char purge_usage[] =
    "usage: strata lake purge ID [common options]\n\n"
    "Removes an entry (deleted or not), its content and every version, for good.\n";

static const char reindex_usage[] =
    "usage: strata lake reindex [common options]\n\n"
    "Rebuilds the search index from the store alone. Never needed for correctness\n"
    "(each command catches up with the store's change journal) but repairs an index\n"
    "after a writer crashed before journaling its change.\n";

static const char stats_usage[] =
    "usage: strata lake stats [common options]\n\n"
    "Prints the number of live entries, their total size, and both per data type,\n"
    "and the number of deleted entries (tombstones).\n";

static int simple(int argc, char **argv, const char *cmd, int which) {
    static const struct option opts[] = {COMMON_OPTS, {0, 0, 0, 0}};
    common_t c = {.cmd = cmd};
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if (common_opt(&c, o, optarg)) return CLI_EXIT_USAGE;
    int want = which <= 1 ? 1 : 0;
    if (argc - optind != want)
        return cli_usage_error(cmd, want ? "expected one ID" : "unexpected argument '%s'",
                               argv[optind]);
    handle_t h;
    int ec = open_lake(&c, &h);
    if (ec) return ec;
    int rc;
    st_buf_t b = ST_BUF_INIT;
    if (which == 0) {
        rc = st_lake_delete(h.lake, argv[optind]);
        if (!rc) st_buf_printf(&b, c.json ? "{\"id\":\"%s\",\"deleted\":true}\n" : "deleted %s\n",
                               argv[optind]);
    } else if (which == 1) {
        rc = st_lake_purge(h.lake, argv[optind]);
        if (!rc) st_buf_printf(&b, c.json ? "{\"id\":\"%s\",\"purged\":true}\n" : "purged %s\n",
                               argv[optind]);
    } else if (which == 2) {
        rc = st_lake_reindex(h.lake);
        st_lake_stats_t s;
        if (!rc) rc = st_lake_stats(h.lake, &s);
        if (!rc) {
            st_buf_printf(&b,
                          c.json ? "{\"reindexed\":true,\"entries\":%llu,\"deleted\":%llu}\n"
                                 : "reindexed: %llu entries, %llu deleted\n",
                          (unsigned long long)s.total_entries, (unsigned long long)s.deleted_entries);
            st_lake_stats_free(&s);
        }
    } else {
        st_lake_stats_t s;
        rc = st_lake_stats(h.lake, &s);
        if (!rc) {
            if (c.json) {
                st_buf_printf(&b,
                              "{\"total_entries\":%llu,\"total_size\":%llu,\"deleted_entries\":"
                              "%llu,\"entries_by_type\":{",
                              (unsigned long long)s.total_entries,
                              (unsigned long long)s.total_size,
                              (unsigned long long)s.deleted_entries);
                for (size_t i = 0; i < s.ntypes; i++)
                    st_buf_printf(&b, "%s\"%s\":%llu", i ? "," : "", s.by_type[i].data_type,
                                  (unsigned long long)s.by_type[i].entries);
                st_buf_append_str(&b, "},\"size_by_type\":{");
                for (size_t i = 0; i < s.ntypes; i++)
                    st_buf_printf(&b, "%s\"%s\":%llu", i ? "," : "", s.by_type[i].data_type,
                                  (unsigned long long)s.by_type[i].size);
                st_buf_append_str(&b, "}}\n");
            } else {
                st_buf_printf(&b, "total_entries    %llu\ntotal_size       %llu\ndeleted_entries  %llu\n",
                              (unsigned long long)s.total_entries,
                              (unsigned long long)s.total_size,
                              (unsigned long long)s.deleted_entries);
                if (s.ntypes) st_buf_printf(&b, "\n%-16s %8s %14s\n", "TYPE", "ENTRIES", "SIZE");
                for (size_t i = 0; i < s.ntypes; i++)
                    st_buf_printf(&b, "%-16s %8llu %14llu\n", s.by_type[i].data_type,
                                  (unsigned long long)s.by_type[i].entries,
                                  (unsigned long long)s.by_type[i].size);
            }
            st_lake_stats_free(&s);
        }
    }
    ec = rc ? cli_fail(rc) : emit(&b);
    if (!ec) ec = flush_out();
    st_buf_free(&b);
    close_lake(&h);
    return ec;
}

static int cmd_rm(int argc, char **argv) { return simple(argc, argv, "lake rm", 0); }
static int cmd_purge(int argc, char **argv) { return simple(argc, argv, "lake purge", 1); }
static int cmd_reindex(int argc, char **argv) { return simple(argc, argv, "lake reindex", 2); }
static int cmd_stats(int argc, char **argv) { return simple(argc, argv, "lake stats", 3); }

/* ---- types ---- */

static const char types_usage[] =
    "usage: strata lake types [--register TYPE] [common options]\n\n"
    "Lists the data types entries may have; --register adds one for this store\n"
    "(lowercase letters, digits, '_' and '-', starting with a letter).\n";

static int cmd_types(int argc, char **argv) {
    static const struct option opts[] = {
        COMMON_OPTS, {"register", required_argument, 0, 'R'}, {0, 0, 0, 0}};
    common_t c = {.cmd = "lake types"};
    const char *reg = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'R') reg = optarg;
        else if (common_opt(&c, o, optarg)) return CLI_EXIT_USAGE;
    }
    if (optind != argc) return cli_usage_error(c.cmd, "unexpected argument '%s'", argv[optind]);
    handle_t h;
    int ec = open_lake(&c, &h);
    if (ec) return ec;
    char **t = NULL;
    size_t n = 0;
    int rc = reg ? st_lake_register_type(h.lake, reg) : ST_OK;
    if (!rc) rc = st_lake_types(h.lake, &t, &n);
    st_buf_t b = ST_BUF_INIT;
    if (c.json) st_buf_append_str(&b, "[");
    for (size_t i = 0; i < n; i++) {
        if (c.json) {
            if (i) st_buf_append_byte(&b, ',');
            st_json_append_string(&b, t[i], strlen(t[i]));
        } else {
            st_buf_printf(&b, "%s%s\n", t[i], st_lake_type_builtin(t[i]) ? "" : "  (registered)");
        }
    }
    if (c.json) st_buf_append_str(&b, "]\n");
    ec = rc ? cli_fail(rc) : emit(&b);
    if (!ec) ec = flush_out();
    st_buf_free(&b);
    st_lake_types_free(t, n);
    close_lake(&h);
    return ec;
}

static const cli_command_t commands[] = {
    {"store", "store a new entry (prints it, id first)", cmd_store, store_usage},
    {"get", "write an entry's content (or a version, or by path)", cmd_get, get_usage},
    {"info", "show an entry's metadata", cmd_info, info_usage},
    {"ls", "list entries by type and subpath", cmd_ls, ls_usage},
    {"search", "full-text search, ranked, with snippets", cmd_search, search_usage},
    {"update", "new content (a new version) and/or metadata", cmd_update, update_usage},
    {"versions", "list an entry's versions", cmd_versions, versions_usage},
    {"rm", "delete an entry (tombstone)", cmd_rm, rm_usage},
    {"purge", "remove an entry and its versions for good", cmd_purge, purge_usage},
    {"stats", "entries and size, in all and per type", cmd_stats, stats_usage},
    {"reindex", "rebuild the search index from the store", cmd_reindex, reindex_usage},
    {"types", "list or register data types", cmd_types, types_usage},
};

int cli_lake(int argc, char **argv) {
    size_t n = sizeof commands / sizeof commands[0];
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        FILE *fp = argc < 2 ? stderr : stdout;
        fprintf(fp, "usage: strata lake <command> [options]\n\n"
                    "Artifacts (schemas, macros, documentation, configuration, logs, ...) with\n"
                    "metadata, versions and full-text search, kept under lake/ in a store.\n\n"
                    "commands:\n");
        for (size_t i = 0; i < n; i++)
            fprintf(fp, "  %-9s %s\n", commands[i].name, commands[i].summary);
        fputs(common_help, fp);
        fprintf(fp, "\nRun 'strata lake <command> --help' for details.\n");
        return argc < 2 ? CLI_EXIT_USAGE : 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], commands[i].name)) continue;
        if (cli_wants_help(argc - 1, argv + 1)) {
            fputs(commands[i].usage, stdout);
            fputs(common_help, stdout);
            return 0;
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    return cli_usage_error("lake", "unknown command '%s'", argv[1]);
}
