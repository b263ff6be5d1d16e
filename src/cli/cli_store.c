/* strata store: ls, get, put, stat, rm on any store URL. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "strata/store.h"

/* Objects move in pieces of this size, so memory stays bounded whatever the
 * object's size. */
#define CHUNK_BYTES (8u * 1024 * 1024)
#define MAX_META 64

static const char ls_usage[] =
    "usage: strata store ls URL [--recursive] [--format table|json]\n\n"
    "Lists the objects of a store (file:///dir, a plain directory, mem://name,\n"
    "s3://bucket/prefix?...), in key order. Without --recursive, keys below a '/'\n"
    "are rolled up into one 'PRE' line per prefix, as S3 lists them.\n\n"
    "  --recursive, -r   every key, at any depth\n"
    "  --format F        table (default): modified time, size, key; json: an array of\n"
    "                    {\"key\",\"size\",\"etag\",\"last_modified\"} and "
    "{\"key\",\"prefix\":true}\n";

static const char get_usage[] =
    "usage: strata store get URL [--range a-b|a-|-N] [-o FILE]\n\n"
    "Writes an object's bytes to standard output (binary-safe) or to FILE.\n\n"
    "  --range R     bytes a through b (inclusive, from 0), a- (from a to the end)\n"
    "                or -N (the last N bytes)\n"
    "  -o, --output FILE\n"
    "                write to FILE instead; it appears only when complete\n";

static const char put_usage[] =
    "usage: strata store put FILE URL [--if-absent] [--if-match ETAG] [--content-type T]\n"
    "                                 [--meta key=value]...\n\n"
    "Stores a local file ('-' for standard input) as the object URL names, atomically:\n"
    "readers see the old object or the new one, never a part. Large inputs are streamed.\n\n"
    "  --if-absent        create only: fail with exit code 3 if the object exists\n"
    "  --if-match ETAG    replace only if the object's ETag is still ETAG (exit 3 if not)\n"
    "  --content-type T   content type (default: from the extension, else\n"
    "                     application/octet-stream)\n"
    "  --meta key=value   user metadata (lowercase letters, digits and '-' in keys;\n"
    "                     repeatable)\n";

static const char stat_usage[] =
    "usage: strata store stat URL [--format text|json]\n\n"
    "Prints an object's size, ETag, last-modified time, content type and metadata.\n";

static const char rm_usage[] = "usage: strata store rm URL\n\n"
                               "Deletes an object (exit code 2 if there is none).\n";

static int parse_format(const char *cmd, const char *text, const char *a, const char *b,
                        bool *second) {
    if (!strcmp(text, a))
        *second = false;
    else if (!strcmp(text, b))
        *second = true;
    else
        return cli_usage_error(cmd, "unknown format '%s' (expected %s or %s)", text, a, b);
    return 0;
}

static void format_time(int64_t us, bool seconds, char *out, size_t cap) {
    if (seconds) {
        char full[64];
        st_format_timestamp(us, 6, false, full, sizeof full);
        full[10] = ' ';
        snprintf(out, cap, "%.19s", full);
    } else {
        st_format_timestamp(us, 6, true, out, cap);
    }
}

/* ---- ls ---- */

static int cmd_ls(int argc, char **argv) {
    static const struct option opts[] = {
        {"recursive", no_argument, 0, 'r'}, {"format", required_argument, 0, 'f'}, {0, 0, 0, 0}};
    bool recursive = false, json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "rf:", opts, NULL)) != -1) {
        switch (c) {
        case 'r': recursive = true; break;
        case 'f':
            if (parse_format("store ls", optarg, "table", "json", &json)) return CLI_EXIT_USAGE;
            break;
        default: return cli_usage_error("store ls", "unknown option");
        }
    }
    if (optind != argc - 1) return cli_usage_error("store ls", "expected one URL");
    st_store_t *s;
    int rc = st_store_open(argv[optind], &s);
    if (rc) return cli_fail(rc);
    st_list_iter_t *it;
    if ((rc = st_store_list(s, "", recursive ? NULL : "/", &it))) {
        st_store_close(s);
        return cli_fail(rc);
    }
    st_buf_t line = ST_BUF_INIT;
    if (json) fputs("[", stdout);
    bool first = true;
    const st_list_entry_t *e;
    while (!(rc = st_list_next(it, &e)) && e) {
        st_buf_reset(&line);
        if (json) {
            st_buf_append_str(&line, first ? "\n  {\"key\":" : ",\n  {\"key\":");
            st_json_append_string(&line, e->key, strlen(e->key));
            if (e->is_prefix) {
                st_buf_append_str(&line, ",\"prefix\":true}");
            } else {
                char when[64];
                format_time(e->last_modified_us, false, when, sizeof when);
                st_buf_printf(&line, ",\"size\":%llu,\"etag\":", (unsigned long long)e->size);
                st_json_append_string(&line, e->etag ? e->etag : "", e->etag ? strlen(e->etag) : 0);
                st_buf_printf(&line, ",\"last_modified\":\"%s\"}", when);
            }
        } else if (e->is_prefix) {
            st_buf_printf(&line, "%19s %12s  %s\n", "", "PRE", e->key);
        } else {
            char when[64];
            format_time(e->last_modified_us, true, when, sizeof when);
            st_buf_printf(&line, "%-19s %12llu  %s\n", when, (unsigned long long)e->size, e->key);
        }
        first = false;
        fwrite(line.data, 1, line.len, stdout);
    }
    if (json && !rc) fputs(first ? "]\n" : "\n]\n", stdout);
    st_buf_free(&line);
    st_list_close(it);
    st_store_close(s);
    if (rc) return cli_fail(rc);
    if (fflush(stdout) != 0)
        return cli_fail(st_error(ST_EIO, "standard output: %s", strerror(errno)));
    return 0;
}

/* ---- get ---- */

/* "a-b", "a-" or "-N" into offset/length (offset -1: suffix). */
static bool parse_range(const char *text, int64_t *offset, uint64_t *length) {
    char *end;
    errno = 0;
    if (text[0] == '-') {
        unsigned long long n = strtoull(text + 1, &end, 10);
        if (errno || end == text + 1 || *end || text[1] == '-' || n == 0) return false;
        *offset = -1;
        *length = n;
        return true;
    }
    if (text[0] < '0' || text[0] > '9') return false;
    unsigned long long a = strtoull(text, &end, 10);
    if (errno || *end != '-' || a > INT64_MAX) return false;
    const char *bs = end + 1;
    if (!*bs) {
        *offset = (int64_t)a;
        *length = UINT64_MAX;
        return true;
    }
    if (*bs < '0' || *bs > '9') return false;
    unsigned long long b = strtoull(bs, &end, 10);
    if (errno || *end || b < a) return false;
    *offset = (int64_t)a;
    *length = b - a + 1;
    return true;
}

static int write_out(FILE *fp, const char *name, const st_buf_t *b) {
    if (b->len && fwrite(b->data, 1, b->len, fp) != b->len)
        return st_error(ST_EIO, "%s: write failed: %s", name, strerror(errno));
    return ST_OK;
}

/* Copies [offset, offset + length) of the object to fp in pieces, checking
 * that every piece comes from the same version of the object. */
static int copy_object(st_store_t *s, const char *key, const char *url, int64_t offset,
                       uint64_t length, FILE *fp, const char *outname) {
    st_buf_t b = ST_BUF_INIT;
    st_object_info_t info;
    int rc;
    if (offset < 0) {
        /* A suffix: learn the size first, then read it like any range. */
        if ((rc = st_store_head(s, key, &info))) return rc;
        uint64_t n = length < info.size ? length : info.size;
        offset = (int64_t)(info.size - n);
        length = n;
        st_object_info_free(&info);
    }
    char etag[sizeof info.etag] = "";
    uint64_t off = (uint64_t)offset, left = length;
    bool first = true;
    do {
        uint64_t want = left < CHUNK_BYTES ? left : CHUNK_BYTES;
        st_buf_reset(&b);
        rc = st_store_get_range_info(s, key, (int64_t)off, want, &b, &info);
        if (rc) break;
        if (first) {
            snprintf(etag, sizeof etag, "%s", info.etag);
            if (info.size > off && length > info.size - off) left = info.size - off;
            first = false;
        } else if (strcmp(etag, info.etag)) {
            rc = st_error(ST_ECONFLICT,
                          "%s: the object changed while it was read (output incomplete)", url);
        }
        st_object_info_free(&info);
        if (!rc) rc = write_out(fp, outname, &b);
        off += b.len;
        left -= b.len < left ? b.len : left;
        if (!rc && b.len == 0) break; /* at the end */
    } while (!rc && left > 0);
    st_buf_free(&b);
    return rc;
}

static int cmd_get(int argc, char **argv) {
    static const struct option opts[] = {
        {"range", required_argument, 0, 'R'}, {"output", required_argument, 0, 'o'}, {0, 0, 0, 0}};
    int64_t offset = 0;
    uint64_t length = UINT64_MAX;
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "R:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'R':
            if (!parse_range(optarg, &offset, &length))
                return cli_usage_error("store get", "bad --range '%s' (expected a-b, a- or -N)",
                                       optarg);
            break;
        case 'o': out = optarg; break;
        default: return cli_usage_error("store get", "unknown option");
        }
    }
    if (optind != argc - 1) return cli_usage_error("store get", "expected one URL");
    const char *url = argv[optind];
    st_store_t *s;
    char *key;
    int rc = st_store_open_object(url, &s, &key);
    if (rc) return cli_fail(rc);
    FILE *fp = stdout;
    char *tmp = NULL;
    struct stat st;
    if (out && strcmp(out, "-") && stat(out, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* A device or pipe (-o /dev/null): write in place; a rename would
         * replace the node itself. */
        fp = fopen(out, "wb");
        if (!fp) {
            rc = st_error(ST_EIO, "%s: cannot open: %s", out, strerror(errno));
            free(key);
            st_store_close(s);
            return cli_fail(rc);
        }
    } else if (out && strcmp(out, "-")) {
        size_t n = strlen(out) + 32;
        tmp = malloc(n);
        if (tmp) snprintf(tmp, n, "%s.tmp-%d", out, (int)getpid());
        fp = tmp ? fopen(tmp, "wb") : NULL;
        if (!fp) {
            rc = st_error(ST_EIO, "%s: cannot create: %s", tmp ? tmp : out, strerror(errno));
            free(tmp);
            free(key);
            st_store_close(s);
            return cli_fail(rc);
        }
    }
    /* A missing object fails before anything is written. */
    rc = copy_object(s, key, url, offset, length, fp, out ? out : "standard output");
    if (fp != stdout) {
        if (fclose(fp) != 0 && !rc)
            rc = st_error(ST_EIO, "%s: write failed: %s", out, strerror(errno));
        if (tmp) {
            if (!rc && rename(tmp, out) != 0)
                rc = st_error(ST_EIO, "%s: cannot rename into place: %s", out, strerror(errno));
            if (rc) unlink(tmp);
            free(tmp);
        }
    } else if (fflush(stdout) != 0 && !rc) {
        rc = st_error(ST_EIO, "standard output: %s", strerror(errno));
    }
    free(key);
    st_store_close(s);
    return rc ? cli_fail(rc) : 0;
}

/* ---- put ---- */

static const char *guess_type(const char *name) {
    static const struct {
        const char *ext, *type;
    } types[] = {{".parquet", "application/vnd.apache.parquet"},
                 {".json", "application/json"},
                 {".jsonl", "application/x-ndjson"},
                 {".ndjson", "application/x-ndjson"},
                 {".csv", "text/csv"},
                 {".txt", "text/plain"},
                 {".md", "text/markdown"},
                 {".xml", "application/xml"},
                 {".yaml", "application/yaml"},
                 {".yml", "application/yaml"}};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t e = strlen(types[i].ext);
        if (n > e && !strcasecmp(name + n - e, types[i].ext)) return types[i].type;
    }
    return NULL;
}

static int cmd_put(int argc, char **argv) {
    static const struct option opts[] = {{"if-absent", no_argument, 0, 'a'},
                                         {"if-match", required_argument, 0, 'm'},
                                         {"content-type", required_argument, 0, 't'},
                                         {"meta", required_argument, 0, 'M'},
                                         {0, 0, 0, 0}};
    const char *cmd = "store put";
    st_put_opts_t po = {0};
    st_meta_pair_t meta[MAX_META];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "am:t:M:", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (po.mode == ST_PUT_IF_MATCH)
                return cli_usage_error(cmd, "--if-absent and --if-match exclude each other");
            po.mode = ST_PUT_IF_ABSENT;
            break;
        case 'm':
            if (po.mode == ST_PUT_IF_ABSENT)
                return cli_usage_error(cmd, "--if-absent and --if-match exclude each other");
            po.mode = ST_PUT_IF_MATCH;
            po.if_match = optarg;
            break;
        case 't': po.content_type = optarg; break;
        case 'M': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg)
                return cli_usage_error(cmd, "--meta expects key=value, got '%s'", optarg);
            if (po.nmeta == MAX_META) return cli_usage_error(cmd, "too many --meta options");
            *eq = '\0';
            meta[po.nmeta].key = optarg;
            meta[po.nmeta].value = eq + 1;
            po.nmeta++;
            break;
        }
        default: return cli_usage_error(cmd, "unknown option");
        }
    }
    if (optind != argc - 2) return cli_usage_error(cmd, "expected FILE and URL");
    const char *in = argv[optind], *url = argv[optind + 1];
    po.meta = meta;
    if (!po.content_type) po.content_type = guess_type(url);
    bool use_stdin = !strcmp(in, "-");
    FILE *fp = use_stdin ? stdin : fopen(in, "rb");
    if (!fp) {
        int e = errno;
        return cli_fail(st_error(e == ENOENT ? ST_ENOTFOUND : ST_EIO, "%s: %s", in, strerror(e)));
    }
    st_store_t *s = NULL;
    char *key = NULL;
    st_store_writer_t *w = NULL;
    uint8_t *buf = malloc(CHUNK_BYTES);
    uint64_t total = 0;
    st_object_info_t info = {0};
    int rc = buf ? ST_OK : st_error(ST_ENOMEM, "out of memory");
    if (!rc) rc = st_store_open_object(url, &s, &key);
    if (!rc) rc = st_store_writer_open(s, key, &po, &w);
    while (!rc) {
        size_t got = fread(buf, 1, CHUNK_BYTES, fp);
        if (got) {
            rc = st_store_writer_write(w, buf, got);
            total += got;
        }
        if (got < CHUNK_BYTES) {
            if (ferror(fp))
                rc = st_error(ST_EIO, "%s: read failed: %s", use_stdin ? "standard input" : in,
                              strerror(errno));
            break;
        }
    }
    if (w) {
        if (!rc)
            rc = st_store_writer_commit(w, &info);
        else
            st_store_writer_abort(w);
    }
    if (!rc) {
        char *ou = st_store_object_url(s, key);
        fprintf(stderr, "wrote %llu bytes to %s (etag %s)\n", (unsigned long long)total,
                ou ? ou : url, info.etag);
        free(ou);
    }
    st_object_info_free(&info);
    if (!use_stdin) fclose(fp);
    free(buf);
    free(key);
    st_store_close(s);
    return rc ? cli_fail(rc) : 0;
}

/* ---- stat, rm ---- */

static int cmd_stat(int argc, char **argv) {
    static const struct option opts[] = {{"format", required_argument, 0, 'f'}, {0, 0, 0, 0}};
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
        if (c != 'f') return cli_usage_error("store stat", "unknown option");
        if (parse_format("store stat", optarg, "text", "json", &json)) return CLI_EXIT_USAGE;
    }
    if (optind != argc - 1) return cli_usage_error("store stat", "expected one URL");
    st_store_t *s;
    char *key;
    int rc = st_store_open_object(argv[optind], &s, &key);
    if (rc) return cli_fail(rc);
    st_object_info_t info;
    rc = st_store_head(s, key, &info);
    char *url = st_store_object_url(s, key);
    free(key);
    st_store_close(s);
    if (rc) {
        free(url);
        return cli_fail(rc);
    }
    char when[64];
    format_time(info.last_modified_us, false, when, sizeof when);
    st_buf_t b = ST_BUF_INIT;
    if (json) {
        st_buf_append_str(&b, "{\"url\":");
        st_json_append_string(&b, url ? url : "", url ? strlen(url) : 0);
        st_buf_printf(&b,
                      ",\"size\":%llu,\"etag\":\"%s\",\"last_modified\":\"%s\",\"content_type\":",
                      (unsigned long long)info.size, info.etag, when);
        st_json_append_string(&b, info.content_type, strlen(info.content_type));
        st_buf_append_str(&b, ",\"meta\":{");
        for (int i = 0; i < info.nmeta; i++) {
            if (i) st_buf_append_byte(&b, ',');
            st_json_append_string(&b, info.meta[i].key, strlen(info.meta[i].key));
            st_buf_append_byte(&b, ':');
            st_json_append_string(&b, info.meta[i].value, strlen(info.meta[i].value));
        }
        st_buf_append_str(&b, "}}\n");
    } else {
        st_buf_printf(
            &b,
            "url:           %s\nsize:          %llu\netag:          %s\nlast_modified: %s\n"
            "content_type:  %s\n",
            url ? url : "", (unsigned long long)info.size, info.etag, when, info.content_type);
        for (int i = 0; i < info.nmeta; i++)
            st_buf_printf(&b, "meta.%s:%*s%s\n", info.meta[i].key,
                          (int)(strlen(info.meta[i].key) < 9 ? 9 - strlen(info.meta[i].key) : 1),
                          "", info.meta[i].value);
    }
    fwrite(b.data, 1, b.len, stdout);
    st_buf_free(&b);
    st_object_info_free(&info);
    free(url);
    return 0;
}

static int cmd_rm(int argc, char **argv) {
    if (argc != 2 || argv[1][0] == '-') return cli_usage_error("store rm", "expected one URL");
    st_store_t *s;
    char *key;
    int rc = st_store_open_object(argv[1], &s, &key);
    if (rc) return cli_fail(rc);
    rc = st_store_delete(s, key);
    free(key);
    st_store_close(s);
    return rc ? cli_fail(rc) : 0;
}

static const cli_command_t commands[] = {
    {"ls", "list the objects of a store", cmd_ls, ls_usage},
    {"get", "write an object (or a byte range) to stdout or a file", cmd_get, get_usage},
    {"put", "store a file as an object, atomically, optionally conditional", cmd_put, put_usage},
    {"stat", "print an object's size, ETag, time, type and metadata", cmd_stat, stat_usage},
    {"rm", "delete an object", cmd_rm, rm_usage},
    /* cli_store_caps.c prints its own --help. */
    {"caps", "print what the store can promise (conditional writes)", cli_store_caps, NULL},
};

int cli_store(int argc, char **argv) {
    static const char intro[] = "Stores are addressed by URL: file:///dir (or a plain path), mem://name,\n"
                                "s3://bucket/prefix?endpoint=...&region=...&path_style=1.\n";
    return cli_dispatch("store", commands, sizeof commands / sizeof commands[0], intro, NULL, argc, argv);
}
