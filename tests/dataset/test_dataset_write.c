/* Dataset writes on mem:// and file:// (and on $STRATA_TEST_STORE_URL, e.g.
 * radosgw, in place of mem:// when set): file naming, Hive partitions whose
 * values (hostile strings, nulls, typed values) round-trip through the
 * directory names, explicit file names (ST_EEXIST, overwrite), the dataset
 * schema file, and the promise that a failed or aborted write leaves the store
 * exactly as it was (validation failures, store errors, eviction of files
 * beyond the open-file and buffer bounds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset/partition.h"
#include "strata/dataset.h"

/* ---- helpers ---- */

static int g_store_no;

/* A fresh, empty store: mem://, or a new prefix of $STRATA_TEST_STORE_URL (an
 * s3:// URL, for example) so the same checks run on a real object store. */
static st_store_t *mem_store(void) {
    char url[2048];
    const char *base = getenv("STRATA_TEST_STORE_URL");
    ++g_store_no;
    if (base && *base) {
        const char *q = strchr(base, '?');
        size_t n = q ? (size_t)(q - base) : strlen(base);
        while (n && base[n - 1] == '/')
            n--;
        snprintf(url, sizeof url, "%.*s/dswrite-%d-%d%s", (int)n, base, (int)getpid(), g_store_no,
                 q ? q : "");
    } else {
        snprintf(url, sizeof url, "mem://dswrite%d", g_store_no);
    }
    st_store_t *s;
    if (st_store_open(url, &s)) fail_msg("%s: %s", url, st_errmsg());
    return s;
}

static st_schema_t *schema_of(const char *json) {
    st_schema_t *s = NULL;
    if (st_schema_parse(json, strlen(json), "test", &s)) fail_msg("schema: %s", st_errmsg());
    return s;
}

/* Every key with its ETag, one "key etag\n" line each: a store's full state. */
static char *store_state(st_store_t *s) {
    st_list_iter_t *it;
    assert_int_equal(st_store_list(s, "", NULL, &it), 0);
    st_buf_t b = ST_BUF_INIT;
    for (;;) {
        const st_list_entry_t *e;
        assert_int_equal(st_list_next(it, &e), 0);
        if (!e) break;
        st_buf_printf(&b, "%s %s %llu\n", e->key, e->etag ? e->etag : "",
                      (unsigned long long)e->size);
    }
    st_list_close(it);
    st_buf_append_byte(&b, 0);
    return (char *)st_buf_detach(&b, NULL);
}

static int count_keys_under(st_store_t *s, const char *prefix, const char *suffix) {
    st_list_iter_t *it;
    assert_int_equal(st_store_list(s, prefix, NULL, &it), 0);
    int n = 0;
    for (;;) {
        const st_list_entry_t *e;
        assert_int_equal(st_list_next(it, &e), 0);
        if (!e) break;
        size_t a = strlen(e->key), b = strlen(suffix);
        if (a >= b && !strcmp(e->key + a - b, suffix)) n++;
    }
    st_list_close(it);
    return n;
}

static int count_keys(st_store_t *s, const char *suffix) { return count_keys_under(s, "", suffix); }

static void append_text(st_column_t *c, const char *v) {
    int rc = v ? (*v ? st_coerce_append(c, v, strlen(v)) : st_col_append_bytes(c, "", 0))
               : st_col_append_null(c);
    if (rc) fail_msg("'%s': %s", v ? v : "null", st_errmsg());
}

/* A batch of the schema's fields from text cells, row-major (NULL = null). */
static st_batch_t *batch_of(const st_schema_t *s, const char *const *cells, int rows) {
    st_batch_t *b;
    assert_int_equal(st_batch_new(st_schema_fields(s), s->nfields, &b), 0);
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < s->nfields; c++)
            append_text(&b->cols[c], cells[r * s->nfields + c]);
        assert_int_equal(st_batch_end_row(b), 0);
    }
    return b;
}

/* Reads a whole Parquet object: every row group appended as JSON lines. */
static int64_t read_file(st_store_t *s, const char *key, st_buf_t *text) {
    st_pq_source_t src;
    assert_int_equal(st_pq_source_store(s, key, &src), 0);
    st_pq_file_t *f;
    if (st_pq_open(&src, &f)) fail_msg("%s: %s", key, st_errmsg());
    int64_t rows = 0;
    for (int rg = 0; rg < st_pq_num_row_groups(f); rg++) {
        st_batch_t *b;
        assert_int_equal(st_pq_read_row_group(f, rg, NULL, 0, &b), 0);
        for (int64_t r = 0; text && r < b->nrows; r++) {
            for (int c = 0; c < b->ncols; c++) {
                if (c) st_buf_append_byte(text, ',');
                assert_int_equal(st_col_value_json(&b->cols[c], r, text), 0);
            }
            st_buf_append_byte(text, '\n');
        }
        rows += b->nrows;
        st_batch_free(b);
    }
    st_pq_close(f);
    return rows;
}

static void expect_name(const char *key, const char *prefix, const char *stem) {
    char pat[512];
    snprintf(pat, sizeof pat, "^%s%s_[0-9]{8}_[0-9]{6}_[0-9a-f]{8}\\.parquet$", prefix, stem);
    regex_t re;
    assert_int_equal(regcomp(&re, pat, REG_EXTENDED | REG_NOSUB), 0);
    int m = regexec(&re, key, 0, NULL, 0);
    regfree(&re);
    if (m) fail_msg("key '%s' does not match %s", key, pat);
}

static const char *simple_schema =
    "{\"name\": \"borehole\", \"primary_key\": [\"id\"], \"fields\": ["
    "{\"name\": \"id\", \"type\": \"int64\", \"nullable\": false},"
    "{\"name\": \"project\", \"type\": \"string\"},"
    "{\"name\": \"depth\", \"type\": \"decimal(8,3)\", \"min\": 0, \"max\": 2000}]}";

/* ---- naming and basic writes ---- */

static void test_unpartitioned_naming(void **state) {
    (void)state;
    st_store_t *s = mem_store();
    st_schema_t *sc = schema_of(simple_schema);
    const char *cells[] = {"1", "p1", "1.5", "2", "p2", "20", "3", NULL, NULL};
    st_batch_t *b = batch_of(sc, cells, 3);
    st_file_list_t files;
    assert_int_equal(st_dataset_write(s, "datasets/borehole", b, sc, NULL, &files), 0);
    assert_int_equal(files.n, 1);
    expect_name(files.keys[0], "datasets/borehole/", "borehole");
    assert_int_equal(files.rows[0], 3);
    st_object_info_t info = {0};
    assert_int_equal(st_store_head(s, files.keys[0], &info), 0);
    assert_int_equal(info.size, files.bytes[0]);
    st_object_info_free(&info);
    st_buf_t text = ST_BUF_INIT;
    assert_int_equal(read_file(s, files.keys[0], &text), 3);
    st_buf_append_byte(&text, 0);
    assert_string_equal((char *)text.data,
                        "1,\"p1\",\"1.500\"\n2,\"p2\",\"20.000\"\n3,null,null\n");
    st_buf_free(&text);
    st_file_list_free(&files);

    /* The dataset's schema file is the schema in file form. */
    st_buf_t js = ST_BUF_INIT, want = ST_BUF_INIT;
    assert_int_equal(st_store_get(s, "datasets/borehole/_strata_schema.json", &js, NULL), 0);
    assert_int_equal(st_schema_to_json(sc, &want), 0);
    assert_int_equal(js.len, want.len);
    assert_memory_equal(js.data, want.data, js.len);
    st_buf_free(&js);
    st_buf_free(&want);

    /* A second write adds a file and never touches the first. */
    const char *more[] = {"4", "p1", "3"};
    st_batch_t *b2 = batch_of(sc, more, 1);
    st_dataset_write_opts_t o;
    st_dataset_write_opts_default(&o);
    o.name = "bh";
    assert_int_equal(st_dataset_write(s, "datasets/borehole/", b2, sc, &o, &files), 0);
    assert_int_equal(files.n, 1);
    expect_name(files.keys[0], "datasets/borehole/", "bh");
    st_file_list_free(&files);
    assert_int_equal(count_keys(s, ".parquet"), 2);

    /* At the store root the stem is the schema's name. */
    assert_int_equal(st_dataset_write(s, "", b2, sc, NULL, &files), 0);
    expect_name(files.keys[0], "", "borehole");
    st_file_list_free(&files);

    /* Many files in a row never collide. */
    for (int i = 0; i < 50; i++) {
        assert_int_equal(st_dataset_write(s, "many", b2, sc, NULL, &files), 0);
        st_file_list_free(&files);
    }
    assert_int_equal(count_keys(s, ".parquet"), 53);

    st_batch_free(b);
    st_batch_free(b2);
    st_schema_free(sc);
    st_store_close(s);
}

static void test_bad_options(void **state) {
    (void)state;
    st_store_t *s = mem_store();
    st_schema_t *sc = schema_of(simple_schema);
    st_dataset_writer_t *w = NULL;
    st_dataset_write_opts_t o;
    const char *nope[] = {"nope"}, *twice[] = {"project", "project"},
               *all[] = {"id", "project", "depth"}, *one[] = {"project"};

    st_dataset_write_opts_default(&o);
    o.partition = nope;
    o.npartition = 1;
    assert_int_equal(st_dataset_writer_open(s, "d", sc, &o, &w), ST_ENOTFOUND);
    assert_non_null(strstr(st_errmsg(), "'nope'"));
    o.partition = twice;
    o.npartition = 2;
    assert_int_equal(st_dataset_writer_open(s, "d", sc, &o, &w), ST_EINVAL);
    o.partition = all;
    o.npartition = 3;
    assert_int_equal(st_dataset_writer_open(s, "d", sc, &o, &w), ST_EINVAL);
    assert_non_null(strstr(st_errmsg(), "at least one"));
    o.partition = one;
    o.npartition = 1;
    o.file_name = "x.parquet";
    assert_int_equal(st_dataset_writer_open(s, "d", sc, &o, &w), ST_EINVAL);
    st_dataset_write_opts_default(&o);
    o.file_name = "a/b.parquet";
    assert_int_equal(st_dataset_writer_open(s, "d", sc, &o, &w), ST_EINVAL);
    o.file_name = "_hidden.parquet";
    assert_int_equal(st_dataset_writer_open(s, "d", sc, &o, &w), ST_EINVAL);
    st_dataset_write_opts_default(&o);
    o.name = ".dot";
    assert_int_equal(st_dataset_writer_open(s, "d", sc, &o, &w), ST_EINVAL);
    assert_int_equal(st_dataset_writer_open(s, "../up", sc, NULL, &w), ST_EINVAL);
    assert_int_equal(st_dataset_writer_open(s, "/abs", sc, NULL, &w), ST_EINVAL);
    assert_null(w);
    /* A batch that is not the schema's is refused, and nothing is written. */
    assert_int_equal(st_dataset_writer_open(s, "d", sc, NULL, &w), 0);
    st_field_t f = {(char *)"id", {ST_TYPE_INT32, 0, 0, 0, 0, false}, false};
    st_batch_t *b;
    assert_int_equal(st_batch_new(&f, 1, &b), 0);
    assert_int_equal(st_dataset_writer_write(w, b), ST_EINVAL);
    assert_int_equal(st_dataset_writer_close(w, NULL), ST_EINVAL);
    st_batch_free(b);
    char *state_after = store_state(s);
    assert_string_equal(state_after, "");
    free(state_after);
    st_schema_free(sc);
    st_store_close(s);
}

/* ---- partitions ---- */

static const char *hostile[] = {
    "plain",
    "a/b",
    "x=y",
    "%41",
    "100%",
    ".",
    "..",
    "",
    "__HIVE_DEFAULT_PARTITION__",
    "tab\there\nnew line\r",
    "ü€😀 ümlaut",
    "back\\slash",
    "quote'\"double",
    "#?*:[]^{}",
    " lead and trail ",
    "del\x7f",
    "a/../../etc",
    "=",
    "/",
    "%2F",
};
#define NHOSTILE ((int)(sizeof hostile / sizeof hostile[0]))

static void test_escape_round_trip(void **state) {
    (void)state;
    /* Every byte string comes back, and its escaped form is a valid key
     * segment (no '/', no control bytes, valid UTF-8). */
    unsigned seed = 12345;
    for (int iter = 0; iter < 3000; iter++) {
        uint8_t raw[40];
        size_t n = (size_t)(iter % 40);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            raw[i] = (uint8_t)(seed >> 16);
            if (iter % 3 == 0) raw[i] = (uint8_t)(' ' + raw[i] % 96); /* mostly printable */
        }
        st_buf_t esc = ST_BUF_INIT, back = ST_BUF_INIT;
        assert_int_equal(st_buf_append_str(&esc, "c="), 0);
        assert_int_equal(st_partition_escape((const char *)raw, n, &esc), 0);
        assert_null(memchr(esc.data + 2, '/', esc.len - 2));
        assert_null(memchr(esc.data + 2, '=', esc.len - 2));
        assert_true(st_utf8_valid(esc.data, esc.len));
        for (size_t i = 0; i < esc.len; i++)
            assert_true(esc.data[i] >= 0x20 && esc.data[i] != 0x7f);
        st_buf_t name = ST_BUF_INIT;
        bool is_null;
        assert_int_equal(
            st_partition_parse_segment((const char *)esc.data, esc.len, &name, &back, &is_null), 0);
        assert_false(is_null);
        assert_string_equal((char *)name.data, "c");
        assert_int_equal(back.len, n + 1);
        if (n) assert_memory_equal(back.data, raw, n);
        if (n) {
            assert_int_equal(st_buf_append_str(&esc, "/f.parquet"), 0);
            assert_int_equal(st_buf_append_byte(&esc, 0), 0);
            assert_int_equal(st_key_validate((const char *)esc.data), 0);
        }
        st_buf_free(&esc);
        st_buf_free(&back);
        st_buf_free(&name);
    }
    /* Readable where possible, escaped where needed. */
    st_buf_t b = ST_BUF_INIT;
    const char *in = "a/b=c%d\\ü\x01\xff:";
    assert_int_equal(st_partition_escape(in, strlen(in), &b), 0);
    assert_int_equal(st_buf_append_byte(&b, 0), 0);
    assert_string_equal((char *)b.data, "a%2Fb%3Dc%25d%5Cü%01%FF%3A");
    st_buf_reset(&b);
    assert_int_equal(st_partition_escape(ST_PARTITION_NULL, strlen(ST_PARTITION_NULL), &b), 0);
    assert_int_equal(st_buf_append_byte(&b, 0), 0);
    assert_string_equal((char *)b.data, "%5F_HIVE_DEFAULT_PARTITION__");
    st_buf_reset(&b);
    /* Broken escapes are errors, not guesses. */
    assert_int_equal(st_partition_unescape("%4", 2, &b), ST_ECORRUPT);
    assert_int_equal(st_partition_unescape("%zz", 3, &b), ST_ECORRUPT);
    assert_int_equal(st_partition_unescape("a%", 2, &b), ST_ECORRUPT);
    st_buf_reset(&b);
    assert_int_equal(st_partition_unescape("%4a%4A", 6, &b), 0);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.data, "JJ", 2);
    st_buf_free(&b);
    st_buf_t n = ST_BUF_INIT, v = ST_BUF_INIT;
    bool is_null;
    assert_int_equal(st_partition_parse_segment("noequals", 8, &n, &v, &is_null), ST_ENOTFOUND);
    assert_int_equal(st_partition_parse_segment("=x", 2, &n, &v, &is_null), ST_ENOTFOUND);
    st_buf_reset(&n);
    st_buf_reset(&v);
    const char *seg = "p=__HIVE_DEFAULT_PARTITION__";
    assert_int_equal(st_partition_parse_segment(seg, strlen(seg), &n, &v, &is_null), 0);
    assert_true(is_null);
    st_buf_free(&n);
    st_buf_free(&v);
}

/* Splits "prefix/a=x/b=y/file" into the value of each partition segment. */
static void segments_of(const char *key, const char *prefix, int nseg, char **names, char **values,
                        bool *nulls) {
    assert_int_equal(strncmp(key, prefix, strlen(prefix)), 0);
    const char *p = key + strlen(prefix);
    for (int k = 0; k < nseg; k++) {
        const char *slash = strchr(p, '/');
        assert_non_null(slash);
        st_buf_t n = ST_BUF_INIT, v = ST_BUF_INIT;
        if (st_partition_parse_segment(p, (size_t)(slash - p), &n, &v, &nulls[k]))
            fail_msg("%s: %s", key, st_errmsg());
        names[k] = (char *)st_buf_detach(&n, NULL);
        values[k] = (char *)st_buf_detach(&v, NULL);
        p = slash + 1;
    }
    assert_null(strchr(p, '/'));
}

static void check_hostile(st_store_t *s, const char *prefix) {
    st_schema_t *sc = schema_of("{\"name\": \"h\", \"fields\": ["
                                "{\"name\": \"tag\", \"type\": \"string\"},"
                                "{\"name\": \"i\", \"type\": \"int32\"}]}");
    /* Each hostile value on two rows, and two null rows. */
    const char *cells[2 * (2 * NHOSTILE + 2)];
    char nums[2 * NHOSTILE + 2][16];
    int rows = 0;
    for (int k = 0; k < 2 * NHOSTILE + 2; k++) {
        snprintf(nums[k], sizeof nums[k], "%d", k);
        cells[2 * rows] = k < 2 * NHOSTILE ? hostile[k % NHOSTILE] : NULL;
        cells[2 * rows + 1] = nums[k];
        rows++;
    }
    st_batch_t *b = batch_of(sc, cells, rows);
    const char *part[] = {"tag"};
    st_dataset_write_opts_t o;
    st_dataset_write_opts_default(&o);
    o.partition = part;
    o.npartition = 1;
    st_file_list_t files;
    if (st_dataset_write(s, prefix, b, sc, &o, &files)) fail_msg("write: %s", st_errmsg());
    assert_int_equal(files.n, NHOSTILE + 1);
    bool seen[NHOSTILE + 1] = {false};
    char pfx[256];
    snprintf(pfx, sizeof pfx, "%s%s", prefix, *prefix ? "/" : "");
    for (int f = 0; f < files.n; f++) {
        char *name, *value;
        bool is_null;
        segments_of(files.keys[f], pfx, 1, &name, &value, &is_null);
        assert_string_equal(name, "tag");
        int which = -1;
        if (is_null)
            which = NHOSTILE;
        else
            for (int k = 0; k < NHOSTILE; k++)
                if (!strcmp(value, hostile[k])) which = k;
        if (which < 0) fail_msg("%s: value '%s' was not written", files.keys[f], value);
        assert_false(seen[which]);
        seen[which] = true;
        /* The file holds only the data column: the two rows of that value. */
        st_buf_t text = ST_BUF_INIT;
        assert_int_equal(read_file(s, files.keys[f], &text), 2);
        assert_int_equal(files.rows[f], 2);
        char want[64];
        if (which == NHOSTILE)
            snprintf(want, sizeof want, "%d\n%d\n", 2 * NHOSTILE, 2 * NHOSTILE + 1);
        else
            snprintf(want, sizeof want, "%d\n%d\n", which, which + NHOSTILE);
        st_buf_append_byte(&text, 0);
        assert_string_equal((char *)text.data, want);
        st_buf_free(&text);
        free(name);
        free(value);
    }
    st_file_list_free(&files);
    st_batch_free(b);
    st_schema_free(sc);
}

static void test_hostile_partitions_mem(void **state) {
    (void)state;
    st_store_t *s = mem_store();
    check_hostile(s, "datasets/h");
    check_hostile(s, "");
    st_store_close(s);
}

static char g_tmp[256];

static int make_tmp(void **state) {
    (void)state;
    snprintf(g_tmp, sizeof g_tmp, "/tmp/strata-dswrite-XXXXXX");
    return mkdtemp(g_tmp) ? 0 : -1;
}

static int remove_tmp(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static st_store_t *file_store(void) {
    char url[300];
    snprintf(url, sizeof url, "file://%s", g_tmp);
    st_store_t *s;
    assert_int_equal(st_store_open(url, &s), 0);
    return s;
}

static void test_hostile_partitions_file(void **state) {
    (void)state;
    st_store_t *s = file_store();
    check_hostile(s, "ds");
    /* The directories exist under their escaped names. */
    char path[512];
    snprintf(path, sizeof path, "%s/ds/tag=a%%2Fb", g_tmp);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/ds/tag=__HIVE_DEFAULT_PARTITION__", g_tmp);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/ds/tag=%%5F_HIVE_DEFAULT_PARTITION__", g_tmp);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/ds/tag=", g_tmp);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/ds/_strata_schema.json", g_tmp);
    assert_int_equal(access(path, F_OK), 0);
    st_store_close(s);
}

static void test_typed_partitions(void **state) {
    (void)state;
    st_store_t *s = mem_store();
    st_schema_t *sc = schema_of("{\"name\": \"t\", \"fields\": ["
                                "{\"name\": \"d\", \"type\": \"date\"},"
                                "{\"name\": \"n\", \"type\": \"int16\"},"
                                "{\"name\": \"amount\", \"type\": \"decimal(6,2)\"},"
                                "{\"name\": \"ok\", \"type\": \"bool\"},"
                                "{\"name\": \"ts\", \"type\": \"timestamp(ms, UTC)\"},"
                                "{\"name\": \"f\", \"type\": \"double\"},"
                                "{\"name\": \"v\", \"type\": \"string\"}]}");
    const char *cells[] = {
        "2024-01-05",
        "-3",
        "12.5",
        "true",
        "2024-01-05T10:00:00+02:00",
        "-0",
        "a",
        "2024-01-05",
        "-3",
        "12.50",
        "true",
        "2024-01-05T08:00:00Z",
        "-0",
        "b",
        "1969-12-31",
        "7",
        NULL,
        "false",
        "1970-01-01",
        "NaN",
        "c",
        "1969-12-31",
        "7",
        NULL,
        "false",
        "1970-01-01",
        "0",
        "d",
    };
    st_batch_t *b = batch_of(sc, cells, 4);
    const char *part[] = {"d", "n", "amount", "ok", "ts", "f"};
    st_dataset_write_opts_t o;
    st_dataset_write_opts_default(&o);
    o.partition = part;
    o.npartition = 6;
    st_file_list_t files;
    if (st_dataset_write(s, "t", b, sc, &o, &files)) fail_msg("%s", st_errmsg());
    assert_int_equal(files.n, 3);
    const char *dirs[] = {
        "t/d=2024-01-05/n=-3/amount=12.50/ok=true/ts=2024-01-05T08%3A00%3A00.000Z/f=-0/",
        "t/d=1969-12-31/n=7/amount=__HIVE_DEFAULT_PARTITION__/ok=false/"
        "ts=1970-01-01T00%3A00%3A00.000Z/f=NaN/",
        "t/d=1969-12-31/n=7/amount=__HIVE_DEFAULT_PARTITION__/ok=false/"
        "ts=1970-01-01T00%3A00%3A00.000Z/f=0/"};
    int rows[] = {2, 1, 1};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(strncmp(files.keys[i], dirs[i], strlen(dirs[i])), 0);
        expect_name(files.keys[i] + strlen(dirs[i]), "", "t");
        assert_int_equal(files.rows[i], rows[i]);
    }
    /* Values read back from the path have the schema's types again. */
    char *names[6], *values[6];
    bool nulls[6];
    segments_of(files.keys[1], "t/", 6, names, values, nulls);
    st_batch_t *back;
    assert_int_equal(st_batch_new(st_schema_fields(sc), sc->nfields, &back), 0);
    for (int k = 0; k < 6; k++) {
        assert_string_equal(names[k], part[k]);
        int idx = st_schema_field_index(sc, names[k]);
        assert_int_equal(
            st_partition_append_value(&back->cols[idx], values[k], strlen(values[k]), nulls[k]), 0);
        assert_int_equal(st_col_compare(&back->cols[idx], 0, &b->cols[idx], 2), 0);
        free(names[k]);
        free(values[k]);
    }
    st_batch_free(back);
    st_file_list_free(&files);
    st_batch_free(b);
    st_schema_free(sc);
    st_store_close(s);
}

/* ---- explicit names ---- */

static void test_explicit_file_name(void **state) {
    (void)state;
    st_store_t *s = mem_store();
    st_schema_t *sc = schema_of(simple_schema);
    const char *c1[] = {"1", "a", "1"}, *c2[] = {"2", "b", "2", "3", "c", "3"};
    st_batch_t *b1 = batch_of(sc, c1, 1), *b2 = batch_of(sc, c2, 2);
    st_dataset_write_opts_t o;
    st_dataset_write_opts_default(&o);
    o.file_name = "x.parquet";
    st_file_list_t files;
    assert_int_equal(st_dataset_write(s, "ds", b1, sc, &o, &files), 0);
    assert_int_equal(files.n, 1);
    assert_string_equal(files.keys[0], "ds/x.parquet");
    st_file_list_free(&files);
    char *before = store_state(s);
    assert_int_equal(st_dataset_write(s, "ds", b2, sc, &o, &files), ST_EEXIST);
    assert_non_null(strstr(st_errmsg(), "/ds/x.parquet already exists"));
    assert_int_equal(files.n, 0);
    char *after = store_state(s);
    assert_string_equal(before, after);
    free(after);
    o.overwrite = true;
    assert_int_equal(st_dataset_write(s, "ds", b2, sc, &o, &files), 0);
    assert_string_equal(files.keys[0], "ds/x.parquet");
    assert_int_equal(files.rows[0], 2);
    st_file_list_free(&files);
    assert_int_equal(read_file(s, "ds/x.parquet", NULL), 2);
    /* An explicit name is written even with no rows. */
    o.overwrite = false;
    o.file_name = "empty.parquet";
    assert_int_equal(st_dataset_write(s, "ds", NULL, sc, &o, &files), 0);
    assert_int_equal(files.n, 1);
    assert_int_equal(files.rows[0], 0);
    assert_int_equal(read_file(s, "ds/empty.parquet", NULL), 0);
    st_file_list_free(&files);
    /* Generated names with no rows write no file at all. */
    assert_int_equal(st_dataset_write(s, "ds2", NULL, sc, NULL, &files), 0);
    assert_int_equal(files.n, 0);
    free(before);
    st_batch_free(b1);
    st_batch_free(b2);
    st_schema_free(sc);
    st_store_close(s);
}

/* ---- failures leave nothing behind ---- */

static void test_validation_failure_untouched(void **state) {
    (void)state;
    st_store_t *s = mem_store();
    st_schema_t *sc = schema_of(simple_schema);
    const char *first[] = {"1", "a", "1"};
    st_batch_t *b0 = batch_of(sc, first, 1);
    st_file_list_t files;
    assert_int_equal(st_dataset_write(s, "ds", b0, sc, NULL, &files), 0);
    st_file_list_free(&files);
    char *before = store_state(s);

    /* Many partitions, few open files: early files are finished (visible)
     * before the bad batch arrives, and must go again. */
    const char *part[] = {"project"};
    st_dataset_write_opts_t o;
    st_dataset_write_opts_default(&o);
    o.partition = part;
    o.npartition = 1;
    o.max_open_files = 2;
    st_dataset_writer_t *w;
    assert_int_equal(st_dataset_writer_open(s, "ds", sc, &o, &w), 0);
    char ids[40][8], projects[40][8];
    const char *cells[3 * 40];
    for (int r = 0; r < 40; r++) {
        snprintf(ids[r], sizeof ids[r], "%d", 100 + r);
        snprintf(projects[r], sizeof projects[r], "p%d", r % 10);
        cells[3 * r] = ids[r];
        cells[3 * r + 1] = projects[r];
        cells[3 * r + 2] = "5";
    }
    st_batch_t *good = batch_of(sc, cells, 40);
    assert_int_equal(st_dataset_writer_write(w, good), 0);
    assert_true(count_keys(s, ".parquet") > 1); /* evicted files are already there */
    /* A depth beyond max, and a duplicate primary key from the first batch. */
    cells[2] = "2500";
    cells[3 * 5] = "100";
    st_batch_t *bad = batch_of(sc, cells, 40);
    assert_int_equal(st_dataset_writer_write(w, bad), ST_EVALIDATION);
    assert_non_null(strstr(st_errmsg(), "depth"));
    assert_int_equal(st_dataset_writer_write(w, good), ST_EVALIDATION);
    assert_int_equal(st_dataset_writer_close(w, &files), ST_EVALIDATION);
    assert_int_equal(files.n, 0);
    char *after = store_state(s);
    assert_string_equal(before, after);
    free(after);

    /* Unique across batches: a key of batch 1 again in batch 2. */
    assert_int_equal(st_dataset_writer_open(s, "ds", sc, NULL, &w), 0);
    const char *dup1[] = {"7", "a", "1"}, *dup2[] = {"8", "a", "1", "7", "b", "1"};
    st_batch_t *d1 = batch_of(sc, dup1, 1), *d2 = batch_of(sc, dup2, 2);
    assert_int_equal(st_dataset_writer_write(w, d1), 0);
    assert_int_equal(st_dataset_writer_write(w, d2), ST_EVALIDATION);
    st_dataset_writer_abort(w);
    after = store_state(s);
    assert_string_equal(before, after);
    free(after);

    /* A caller's validator with violations of its own (cells that did not
     * convert) stops the write at close. */
    st_validator_t *v;
    assert_int_equal(st_validator_new(sc, 10, &v), 0);
    st_dataset_write_opts_default(&o);
    o.validator = v;
    assert_int_equal(st_dataset_writer_open(s, "ds", sc, &o, &w), 0);
    assert_int_equal(st_dataset_writer_write(w, d1), 0);
    assert_int_equal(st_validator_add(v, 2, "depth", "x", "type", "'x' is not a valid decimal"), 0);
    assert_int_equal(st_dataset_writer_close(w, NULL), ST_EVALIDATION);
    st_validator_free(v);
    after = store_state(s);
    assert_string_equal(before, after);
    free(after);

    /* A partition value too long for a directory name. */
    char longv[400];
    memset(longv, 'x', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    const char *lc[] = {"9", longv, "1"};
    st_batch_t *lb = batch_of(sc, lc, 1);
    st_dataset_write_opts_default(&o);
    o.partition = part;
    o.npartition = 1;
    assert_int_equal(st_dataset_write(s, "ds", lb, sc, &o, &files), ST_EINVAL);
    assert_non_null(strstr(st_errmsg(), "too long for a directory name"));
    after = store_state(s);
    assert_string_equal(before, after);
    free(after);

    free(before);
    st_batch_free(lb);
    st_batch_free(d1);
    st_batch_free(d2);
    st_batch_free(good);
    st_batch_free(bad);
    st_batch_free(b0);
    st_schema_free(sc);
    st_store_close(s);
}

static void test_abort_removes_files(void **state) {
    (void)state;
    st_store_t *s = file_store();
    char *before = store_state(s);
    st_schema_t *sc = schema_of(simple_schema);
    const char *part[] = {"project"};
    st_dataset_write_opts_t o;
    st_dataset_write_opts_default(&o);
    o.partition = part;
    o.npartition = 1;
    o.max_open_files = 1;
    st_dataset_writer_t *w;
    assert_int_equal(st_dataset_writer_open(s, "abort", sc, &o, &w), 0);
    const char *cells[] = {"1", "a", "1", "2", "b", "1", "3", "c", "1"};
    st_batch_t *b = batch_of(sc, cells, 3);
    assert_int_equal(st_dataset_writer_write(w, b), 0);
    assert_int_equal(count_keys_under(s, "abort/", ".parquet"), 2); /* a, b finished; c open */
    int64_t rows;
    uint64_t bytes;
    st_dataset_writer_progress(w, &rows, &bytes);
    assert_int_equal(rows, 3);
    assert_true(bytes > 0);
    st_dataset_writer_abort(w);
    char *after = store_state(s);
    assert_string_equal(before, after);
    free(after);
    free(before);
    st_batch_free(b);
    st_schema_free(sc);
    st_store_close(s);
}

/* ---- bounds ---- */

static void test_many_partitions(void **state) {
    (void)state;
    st_store_t *s = mem_store();
    st_schema_t *sc = schema_of("{\"name\": \"m\", \"fields\": ["
                                "{\"name\": \"k\", \"type\": \"int32\"},"
                                "{\"name\": \"seq\", \"type\": \"int64\"},"
                                "{\"name\": \"pad\", \"type\": \"string\"}]}");
    const char *part[] = {"k"};
    st_dataset_write_opts_t o;
    st_dataset_write_opts_default(&o);
    o.partition = part;
    o.npartition = 1;
    st_dataset_writer_t *w;

    /* 300 partitions, default bound of 256 open files: every row lands once. */
    int nk = 300, batches = 4;
    assert_int_equal(st_dataset_writer_open(s, "many", sc, &o, &w), 0);
    int64_t seq = 0;
    for (int bt = 0; bt < batches; bt++) {
        st_batch_t *b;
        assert_int_equal(st_batch_new(st_schema_fields(sc), 3, &b), 0);
        for (int r = 0; r < nk * 3; r++) {
            assert_int_equal(st_col_append_i64(&b->cols[0], (r * 7) % nk), 0);
            assert_int_equal(st_col_append_i64(&b->cols[1], seq++), 0);
            assert_int_equal(st_col_append_bytes(&b->cols[2], "pad", 3), 0);
            assert_int_equal(st_batch_end_row(b), 0);
        }
        assert_int_equal(st_dataset_writer_write(w, b), 0);
        st_batch_free(b);
    }
    st_file_list_t files;
    assert_int_equal(st_dataset_writer_close(w, &files), 0);
    assert_true(files.n > nk); /* evicted partitions got more than one file */
    int64_t total = 0;
    bool *seen = calloc((size_t)seq, 1);
    for (int f = 0; f < files.n; f++) {
        char *name, *value;
        bool is_null;
        segments_of(files.keys[f], "many/", 1, &name, &value, &is_null);
        int key = atoi(value);
        st_buf_t text = ST_BUF_INIT;
        int64_t n = read_file(s, files.keys[f], &text);
        assert_int_equal(n, files.rows[f]);
        total += n;
        st_buf_append_byte(&text, 0);
        /* Every row of the file belongs to its partition. */
        for (char *line = (char *)text.data; *line;) {
            long long sq = strtoll(line, &line, 10);
            assert_true(sq >= 0 && sq < seq);
            assert_false(seen[sq]);
            seen[sq] = true;
            int r = (int)(sq % (nk * 3));
            assert_int_equal((r * 7) % nk, key);
            line = strchr(line, '\n') + 1;
        }
        st_buf_free(&text);
        free(name);
        free(value);
    }
    assert_int_equal(total, seq);
    free(seen);
    st_file_list_free(&files);

    /* A small buffer budget finishes the biggest file first. */
    st_dataset_write_opts_default(&o);
    o.partition = part;
    o.npartition = 1;
    o.buffer_bytes = 64 << 10;
    assert_int_equal(st_dataset_writer_open(s, "budget", sc, &o, &w), 0);
    char pad[200];
    memset(pad, 'p', sizeof pad);
    for (int bt = 0; bt < 10; bt++) {
        st_batch_t *b;
        assert_int_equal(st_batch_new(st_schema_fields(sc), 3, &b), 0);
        for (int r = 0; r < 500; r++) {
            assert_int_equal(st_col_append_i64(&b->cols[0], r % 3), 0);
            assert_int_equal(st_col_append_i64(&b->cols[1], r), 0);
            assert_int_equal(st_col_append_bytes(&b->cols[2], pad, sizeof pad), 0);
            assert_int_equal(st_batch_end_row(b), 0);
        }
        assert_int_equal(st_dataset_writer_write(w, b), 0);
        st_batch_free(b);
    }
    assert_int_equal(st_dataset_writer_close(w, &files), 0);
    assert_true(files.n > 3);
    total = 0;
    for (int f = 0; f < files.n; f++)
        total += files.rows[f];
    assert_int_equal(total, 5000);
    st_file_list_free(&files);
    st_schema_free(sc);
    st_store_close(s);
}

/* ---- the dataset schema file ---- */

static void test_schema_file_conflicts(void **state) {
    (void)state;
    st_store_t *s = mem_store();
    st_schema_t *sc = schema_of(simple_schema);
    const char *c1[] = {"1", "a", "1"};
    st_batch_t *b = batch_of(sc, c1, 1);
    st_file_list_t files;
    assert_int_equal(st_dataset_write(s, "ds", b, sc, NULL, &files), 0);
    st_file_list_free(&files);
    char *before = store_state(s);

    /* Same field, other type. */
    st_schema_t *other = schema_of("{\"name\": \"borehole\", \"fields\": ["
                                   "{\"name\": \"id\", \"type\": \"string\"},"
                                   "{\"name\": \"extra\", \"type\": \"int32\"}]}");
    st_dataset_writer_t *w = NULL;
    assert_int_equal(st_dataset_writer_open(s, "ds", other, NULL, &w), ST_EVALIDATION);
    assert_non_null(strstr(st_errmsg(), "field 'id' is int64 in the dataset's schema but string"));
    assert_null(w);
    /* Partitioned by a column the dataset's schema does not know. */
    st_schema_t *wider = schema_of("{\"name\": \"borehole\", \"fields\": ["
                                   "{\"name\": \"id\", \"type\": \"int64\"},"
                                   "{\"name\": \"site\", \"type\": \"string\"}]}");
    const char *part[] = {"site"};
    st_dataset_write_opts_t o;
    st_dataset_write_opts_default(&o);
    o.partition = part;
    o.npartition = 1;
    assert_int_equal(st_dataset_writer_open(s, "ds", wider, &o, &w), ST_EVALIDATION);
    assert_non_null(strstr(st_errmsg(), "no field 'site'"));
    /* Compatible: fewer fields, one new data field. */
    const char *c2[] = {"5", "x"};
    st_batch_t *b2 = batch_of(wider, c2, 1);
    assert_int_equal(st_dataset_write(s, "ds", b2, wider, NULL, &files), 0);
    assert_int_equal(files.n, 1);
    st_file_list_free(&files);
    /* The schema file stays the first one. */
    st_buf_t js = ST_BUF_INIT, want = ST_BUF_INIT;
    assert_int_equal(st_store_get(s, "ds/_strata_schema.json", &js, NULL), 0);
    assert_int_equal(st_schema_to_json(sc, &want), 0);
    assert_int_equal(js.len, want.len);
    st_buf_free(&js);
    st_buf_free(&want);
    /* A corrupt schema file is reported, not overwritten. */
    assert_int_equal(st_store_put(s, "bad/_strata_schema.json", "{", 1, NULL, NULL), 0);
    assert_int_equal(st_dataset_writer_open(s, "bad", sc, NULL, &w), ST_ECORRUPT);
    free(before);
    st_batch_free(b);
    st_batch_free(b2);
    st_schema_free(sc);
    st_schema_free(other);
    st_schema_free(wider);
    st_store_close(s);
}

/* The scan reads back what the writer wrote, partition columns included. */
static void test_scan_round_trip(void **state) {
    (void)state;
    st_store_t *s = mem_store();
    st_schema_t *sc = schema_of(simple_schema);
    const char *cells[] = {"1", "p1", "1.5", "2", "p2", "20", "3", "p1", NULL, "4", NULL, "7"};
    st_batch_t *b = batch_of(sc, cells, 4);
    const char *part[] = {"project"};
    st_dataset_write_opts_t o;
    st_dataset_write_opts_default(&o);
    o.partition = part;
    o.npartition = 1;
    st_file_list_t files;
    assert_int_equal(st_dataset_write(s, "ds", b, sc, &o, &files), 0);
    assert_int_equal(files.n, 3);
    st_file_list_free(&files);
    st_scan_opts_t so = {.filter = "project = 'p1' and depth > 1", .limit = -1};
    st_dataset_scan_t *scan;
    if (st_dataset_scan_open(s, "ds", &so, &scan)) fail_msg("scan: %s", st_errmsg());
    int64_t rows = 0;
    for (;;) {
        st_batch_t *out;
        assert_int_equal(st_dataset_scan_next(scan, &out), 0);
        if (!out) break;
        rows += out->nrows;
        int pc = st_batch_column_index(out, "project"), ic = st_batch_column_index(out, "id");
        assert_true(pc >= 0 && ic >= 0);
        for (int64_t r = 0; r < out->nrows; r++) {
            size_t n;
            const uint8_t *p = st_col_get_bytes(&out->cols[pc], r, &n);
            assert_int_equal(n, 2);
            assert_memory_equal(p, "p1", 2);
            assert_int_equal(st_col_get_i64(&out->cols[ic], r), 1);
        }
        st_batch_free(out);
    }
    assert_int_equal(rows, 1);
    st_dataset_scan_close(scan);
    st_batch_free(b);
    st_schema_free(sc);
    st_store_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unpartitioned_naming),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_escape_round_trip),
        cmocka_unit_test(test_hostile_partitions_mem),
        cmocka_unit_test(test_hostile_partitions_file),
        cmocka_unit_test(test_typed_partitions),
        cmocka_unit_test(test_explicit_file_name),
        cmocka_unit_test(test_validation_failure_untouched),
        cmocka_unit_test(test_abort_removes_files),
        cmocka_unit_test(test_many_partitions),
        cmocka_unit_test(test_schema_file_conflicts),
        cmocka_unit_test(test_scan_round_trip),
    };
    return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
