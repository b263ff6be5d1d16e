/* Unit tests of the JSON Lines reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strata/schema.h"

static st_field_t field(const char *name, const char *type) {
    st_field_t f = {(char *)name, {0}, true};
    assert_int_equal(st_type_parse(type, &f.type), 0);
    return f;
}

static char *temp_file(const char *suffix, const char *content, size_t n) {
    char *path = malloc(64);
    snprintf(path, 64, "/tmp/strata-jsonl-XXXXXX%s", suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, n), (ssize_t)n);
    close(fd);
    return path;
}

/* Reads the JSONL text; returns rows as canonical JSON cells joined by ',' and
 * '\n', or NULL with the status in *rc (message in st_errmsg, path in *pathp). */
static char *read_all(const char *content, const st_field_t *fields, int nfields, bool strict,
                      int *rc, char **pathp) {
    char *path = temp_file(".jsonl", content, strlen(content));
    st_table_reader_t *r;
    assert_int_equal(st_table_reader_open(path, ST_FORMAT_AUTO, fields, nfields, strict, &r), 0);
    st_batch_t *b;
    assert_int_equal(st_batch_new(fields, nfields, &b), 0);
    st_buf_t out = ST_BUF_INIT;
    int64_t n;
    while ((*rc = st_table_reader_next(r, b, 2, &n)) == 0 && n > 0) {
        for (int64_t i = 0; i < b->nrows; i++)
            for (int c = 0; c < b->ncols; c++) {
                assert_int_equal(st_col_value_json(&b->cols[c], i, &out), 0);
                st_buf_append_byte(&out, c + 1 < b->ncols ? ',' : '\n');
            }
        st_batch_clear(b);
    }
    st_buf_append_byte(&out, 0);
    st_batch_free(b);
    st_table_reader_close(r);
    remove(path);
    if (pathp)
        *pathp = path;
    else
        free(path);
    char *text = (char *)st_buf_detach(&out, NULL);
    if (*rc) {
        free(text);
        return NULL;
    }
    return text;
}

static void test_jsonl_types(void **state) {
    (void)state;
    st_field_t f[9] = {field("i", "int64"),
                       field("d", "decimal(20,4)"),
                       field("x", "double"),
                       field("b", "bool"),
                       field("s", "string"),
                       field("j", "json"),
                       field("t", "timestamp(ms, UTC)"),
                       field("u", "uuid"),
                       field("bin", "binary")};
    const char *jsonl =
        "{\"i\": 9007199254740993, \"d\": 12345678901234.5678, \"x\": 1e-7, \"b\": true,"
        " \"s\": \"caf\\u00e9 \\ud83d\\ude00\", \"j\": {\"a\": [1, 2, {\"b\": \"x y\"}]},"
        " \"t\": \"2024-05-01T12:00:00+02:00\", \"u\": \"123e4567-e89b-12d3-a456-426614174000\","
        " \"bin\": \"00ff\"}\n"
        "\n"
        "   \r\n"
        "{\"i\": null, \"d\": \"0.5\", \"x\": \"NaN\", \"b\": \"no\", \"s\": 12.50, \"j\": "
        "\"[1,2]\","
        " \"t\": null, \"bin\": \"\"}\r\n"
        "{\"s\": true, \"j\": [ ], \"b\": false, \"x\": -0.0, \"d\": 1E2, \"i\": -5.0, "
        "\"unknown\": {\"deep\": [1]}}\n"
        "{\"s\": \"\", \"j\": 3.25, \"d\": -0}";
    int rc;
    char *out = read_all(jsonl, f, 9, false, &rc, NULL);
    if (rc) fprintf(stderr, "%s\n", st_errmsg());
    assert_int_equal(rc, 0);
    assert_string_equal(
        out, "9007199254740993,\"12345678901234.5678\",1e-7,true,\"café 😀\","
             "\"{\\\"a\\\":[1,2,{\\\"b\\\":\\\"x y\\\"}]}\",\"2024-05-01T10:00:00.000Z\","
             "\"123e4567-e89b-12d3-a456-426614174000\",\"00ff\"\n"
             "null,\"0.5000\",\"NaN\",false,\"12.50\",\"[1,2]\",null,null,\"\"\n"
             "-5,\"100.0000\",-0,false,\"true\",\"[]\",null,null,null\n"
             "null,\"0.0000\",null,null,\"\",\"3.25\",null,null,null\n");
    free(out);
}

static void test_jsonl_errors(void **state) {
    (void)state;
    st_field_t f[2] = {field("id", "int32"), field("when", "date")};
    int rc;
    char *path, want[512];

    assert_null(read_all("{\"id\": 1}\n{\"id\": \"x1\"}\n", f, 2, false, &rc, &path));
    assert_int_equal(rc, ST_ETYPE);
    snprintf(want, sizeof want, "%s: line 2, column id: 'x1' is not a valid int32", path);
    assert_string_equal(st_errmsg(), want);
    free(path);

    assert_null(read_all("\n\n{\"when\": {\"y\": 2024}}\n", f, 2, false, &rc, &path));
    assert_int_equal(rc, ST_ETYPE);
    snprintf(want, sizeof want, "%s: line 3, column when: a JSON object is not a valid date", path);
    assert_string_equal(st_errmsg(), want);
    free(path);

    assert_null(read_all("{\"id\": [1]}\n", f, 2, false, &rc, &path));
    assert_int_equal(rc, ST_ETYPE);
    snprintf(want, sizeof want, "%s: line 1, column id: a JSON array is not a valid int32", path);
    assert_string_equal(st_errmsg(), want);
    free(path);

    assert_null(read_all("{\"id\": 3000000000}\n", f, 2, false, &rc, &path));
    assert_int_equal(rc, ST_ETYPE);
    snprintf(want, sizeof want,
             "%s: line 1, column id: '3000000000' is not a valid int32: out of range", path);
    assert_string_equal(st_errmsg(), want);
    free(path);

    assert_null(read_all("{\"id\": true}\n", f, 2, false, &rc, &path));
    assert_int_equal(rc, ST_ETYPE);
    snprintf(want, sizeof want, "%s: line 1, column id: 'true' is not a valid int32", path);
    assert_string_equal(st_errmsg(), want);
    free(path);

    /* Invalid UTF-8, raw or through a lone surrogate escape. */
    st_field_t s[1] = {field("name", "string")};
    assert_null(
        read_all("{\"name\": \"ok\"}\n{\"name\": \"bad \xc3\x28\"}\n", s, 1, false, &rc, &path));
    assert_int_equal(rc, ST_ETYPE);
    snprintf(want, sizeof want, "%s: line 2, column name: invalid UTF-8 in a string", path);
    assert_string_equal(st_errmsg(), want);
    free(path);
    assert_null(read_all("{\"name\": \"\\ud800\"}\n", s, 1, false, &rc, &path));
    assert_int_equal(rc, ST_ETYPE);
    snprintf(want, sizeof want, "%s: line 1, column name: invalid UTF-8 in a string", path);
    assert_string_equal(st_errmsg(), want);
    free(path);

    /* Malformed lines. */
    assert_null(read_all("{\"id\": 1}\n{\"id\": 2,}\n", f, 2, false, &rc, &path));
    assert_int_equal(rc, ST_ECORRUPT);
    snprintf(want, sizeof want, "%s: line 2: invalid JSON at character 10: expected a member name",
             path);
    assert_string_equal(st_errmsg(), want);
    free(path);
    assert_null(read_all("[1, 2]\n", f, 2, false, &rc, &path));
    assert_int_equal(rc, ST_ECORRUPT);
    snprintf(want, sizeof want, "%s: line 1: expected a JSON object", path);
    assert_string_equal(st_errmsg(), want);
    free(path);
    assert_null(read_all("{\"id\": 1, \"id\": 2}\n", f, 2, false, &rc, &path));
    assert_int_equal(rc, ST_EVALIDATION);
    snprintf(want, sizeof want, "%s: line 1: member 'id' appears twice", path);
    assert_string_equal(st_errmsg(), want);
    free(path);

    /* Unknown members: ignored, or refused when strict. */
    char *out = read_all("{\"id\": 1, \"extra\": 2}\n", f, 2, false, &rc, NULL);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "1,null\n");
    free(out);
    assert_null(read_all("{\"id\": 1, \"extra\": 2}\n", f, 2, true, &rc, &path));
    assert_int_equal(rc, ST_EVALIDATION);
    snprintf(want, sizeof want, "%s: line 1: member 'extra' is not in the schema", path);
    assert_string_equal(st_errmsg(), want);
    free(path);
}

static void test_jsonl_continue_after_error(void **state) {
    (void)state;
    st_field_t f[2] = {field("a", "int8"), field("b", "string")};
    const char *text = "{\"a\":1,\"b\":\"x\"}\n{\"a\":1000,\"b\":\"y\"}\n{\"a\":3,\"b\":\"z\"}\n";
    char *path = temp_file(".ndjson", text, strlen(text));
    st_table_reader_t *r;
    assert_int_equal(st_table_reader_open(path, ST_FORMAT_AUTO, f, 2, false, &r), 0);
    st_batch_t *b;
    assert_int_equal(st_batch_new(f, 2, &b), 0);
    int64_t n;
    assert_int_equal(st_table_reader_next(r, b, 10, &n), ST_ETYPE);
    assert_int_equal(n, 1);
    assert_int_equal(st_table_reader_line(r), 2);
    assert_int_equal(b->cols[1].length, 1);
    assert_int_equal(st_table_reader_next(r, b, 10, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(b->nrows, 2);
    assert_int_equal(st_col_get_i64(&b->cols[0], 1), 3);
    assert_int_equal(st_table_reader_next(r, b, 10, &n), 0);
    assert_int_equal(n, 0);
    st_batch_free(b);
    st_table_reader_close(r);
    remove(path);
    free(path);
}

static void test_jsonl_long_line(void **state) {
    (void)state;
    st_field_t f[2] = {field("s", "string"), field("j", "json")};
    size_t big = 200000;
    st_buf_t text = ST_BUF_INIT;
    st_buf_append_str(&text, "{\"s\":\"");
    for (size_t i = 0; i < big; i++)
        st_buf_append_byte(&text, (uint8_t)('a' + i % 26));
    st_buf_append_str(&text, "\",\"j\":[");
    for (size_t i = 0; i < big / 10; i++)
        st_buf_append_str(&text, i ? ", 1" : "1");
    st_buf_append_str(&text, "]}\n{\"s\":\"short\"}\n");
    st_buf_append_byte(&text, 0);
    int rc;
    char *out = read_all((const char *)text.data, f, 2, true, &rc, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(strlen(out), 1 + big + 1 + 1 + 2 + 2 * (big / 10) - 1 + 1 + 1 + 1 +
                                      strlen("\"short\",null\n"));
    assert_non_null(strstr(out, "\n\"short\",null\n"));
    free(out);
    st_buf_free(&text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_types),
        cmocka_unit_test(test_jsonl_errors),
        cmocka_unit_test(test_jsonl_continue_after_error),
        cmocka_unit_test(test_jsonl_long_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
