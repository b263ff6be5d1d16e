/* Unit tests of type coercion and the CSV reader. */
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

/* ---- helpers ---- */

static st_field_t field(const char *name, const char *type) {
    st_field_t f = {(char *)name, {0}, true};
    assert_int_equal(st_type_parse(type, &f.type), 0);
    return f;
}

static char *json_of(const st_column_t *c, int64_t i) {
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_col_value_json(c, i, &b), 0);
    assert_int_equal(st_buf_append_byte(&b, 0), 0);
    return (char *)st_buf_detach(&b, NULL);
}

/* Coerces `text` into a fresh column of `type`; returns the status and, on
 * success, the canonical JSON of the value in *json. */
static int coerce(const char *type, const char *text, char **json) {
    st_field_t f = field("v", type);
    st_batch_t *b;
    assert_int_equal(st_batch_new(&f, 1, &b), 0);
    int rc = st_coerce_append(&b->cols[0], text, strlen(text));
    *json = NULL;
    if (rc == 0) {
        assert_int_equal(b->cols[0].length, 1);
        *json = json_of(&b->cols[0], 0);
    } else {
        assert_int_equal(b->cols[0].length, 0); /* nothing appended on failure */
    }
    st_batch_free(b);
    return rc;
}

static void want_value(const char *type, const char *text, const char *want) {
    char *json;
    int rc = coerce(type, text, &json);
    if (rc) fprintf(stderr, "%s <- '%s': %s\n", type, text, st_errmsg());
    assert_int_equal(rc, 0);
    if (strcmp(json, want)) fprintf(stderr, "%s <- '%s': got %s\n", type, text, json);
    assert_string_equal(json, want);
    free(json);
}

static void want_error(const char *type, const char *text, const char *msg) {
    char *json;
    assert_int_equal(coerce(type, text, &json), ST_ETYPE);
    if (strcmp(st_errmsg(), msg)) fprintf(stderr, "%s <- '%s': %s\n", type, text, st_errmsg());
    assert_string_equal(st_errmsg(), msg);
}

static char *temp_file(const char *suffix, const char *content, size_t n) {
    char *path = malloc(64);
    snprintf(path, 64, "/tmp/strata-csv-XXXXXX%s", suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, n), (ssize_t)n);
    close(fd);
    return path;
}

/* Reads a whole CSV text with the given fields; returns the rows as canonical
 * JSON lines ("a,b\n" per row) or NULL with the status in *rc. */
static char *read_all(const char *content, const st_field_t *fields, int nfields, bool strict,
                      int64_t chunk, int *rc) {
    char *path = temp_file(".csv", content, strlen(content));
    st_table_reader_t *r;
    *rc = st_table_reader_open(path, ST_FORMAT_AUTO, fields, nfields, strict, &r);
    if (*rc) {
        remove(path);
        free(path);
        return NULL;
    }
    st_batch_t *b;
    assert_int_equal(st_batch_new(fields, nfields, &b), 0);
    st_buf_t out = ST_BUF_INIT;
    for (;;) {
        int64_t n;
        *rc = st_table_reader_next(r, b, chunk, &n);
        assert_int_equal(b->nrows, n);
        for (int64_t i = 0; i < b->nrows; i++) {
            for (int c = 0; c < b->ncols; c++) {
                assert_int_equal(st_col_value_json(&b->cols[c], i, &out), 0);
                st_buf_append_byte(&out, c + 1 < b->ncols ? ',' : '\n');
            }
        }
        st_batch_clear(b);
        if (*rc || n == 0) break;
        assert_true(n <= chunk);
    }
    st_buf_append_byte(&out, 0);
    st_batch_free(b);
    st_table_reader_close(r);
    remove(path);
    free(path);
    char *text = (char *)st_buf_detach(&out, NULL);
    if (*rc) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- coercion ---- */

static void test_coerce_values(void **state) {
    (void)state;
    want_value("int32", "", "null");
    want_value("string", "", "null");
    want_value("int8", "-128", "-128");
    want_value("int8", " +12 ", "12");
    want_value("int64", "-9223372036854775808", "-9223372036854775808");
    want_value("int64", "9223372036854775807", "9223372036854775807");
    want_value("uint64", "18446744073709551615", "18446744073709551615");
    want_value("int32", "12.000", "12");
    want_value("uint8", "-0", "0");
    want_value("double", "1.5e-7", "1.5e-7");
    want_value("double", "NaN", "\"NaN\"");
    want_value("double", "Infinity", "\"Infinity\"");
    want_value("double", "-Infinity", "\"-Infinity\"");
    want_value("double", "-0", "-0");
    want_value("float", "0.1", "0.1");
    want_value("float", "3.4028235e38", "3.4028235e+38");
    want_value("bool", "TRUE", "true");
    want_value("bool", "yes", "true");
    want_value("bool", "T", "true");
    want_value("bool", "1", "true");
    want_value("bool", "No", "false");
    want_value("bool", "f", "false");
    want_value("bool", "0", "false");
    want_value("decimal(8,3)", "12.5", "\"12.500\"");
    want_value("decimal(8,3)", "-0.005", "\"-0.005\"");
    want_value("decimal(8,3)", "99999.999", "\"99999.999\"");
    want_value("decimal(8,3)", "1.2500", "\"1.250\""); /* trailing zeros are not rounding */
    want_value("decimal(8,3)", "1.5e2", "\"150.000\"");
    want_value("decimal(8,3)", "125E-3", "\"0.125\"");
    want_value("decimal(8,3)", "+.5", "\"0.500\"");
    want_value("decimal(8,3)", "7.", "\"7.000\"");
    want_value("decimal(8,3)", "-000", "\"0.000\"");
    want_value("decimal(38,0)", "99999999999999999999999999999999999999",
               "\"99999999999999999999999999999999999999\"");
    want_value("decimal(38,2)", "-123456789012345678901234567890123456.78",
               "\"-123456789012345678901234567890123456.78\"");
    want_value("decimal(4,0)", "1200", "\"1200\"");
    want_value("date", "2024-02-29", "\"2024-02-29\"");
    want_value("date", "1969-12-31", "\"1969-12-31\"");
    want_value("time(ms)", "08:30", "\"08:30:00.000\"");
    want_value("time(us)", "23:59:59.123456", "\"23:59:59.123456\"");
    want_value("time(ms)", "10:00:00.1230", "\"10:00:00.123\"");
    want_value("timestamp(us, UTC)", "2024-05-01T10:00:00+02:00",
               "\"2024-05-01T08:00:00.000000Z\"");
    want_value("timestamp(us, UTC)", "2024-05-01 10:00:00.5Z", "\"2024-05-01T10:00:00.500000Z\"");
    want_value("timestamp(ms)", "2024-05-01", "\"2024-05-01T00:00:00.000\"");
    want_value("timestamp(ns)", "1970-01-01T00:00:00.000000001",
               "\"1970-01-01T00:00:00.000000001\"");
    want_value("uuid", "123E4567-E89B-12D3-A456-426614174000",
               "\"123e4567-e89b-12d3-a456-426614174000\"");
    want_value("binary", "00ffAb", "\"00ffab\"");
    want_value("fixed(2)", "beef", "\"beef\"");
    want_value("string", " keep  spaces ", "\" keep  spaces \"");
    want_value("json", "{\"a\": [1, 2]}", "\"{\\\"a\\\": [1, 2]}\"");
    want_value("json", "42", "\"42\"");
}

static void test_coerce_errors(void **state) {
    (void)state;
    want_error("int8", "128", "'128' is not a valid int8: out of range");
    want_error("int8", "-129", "'-129' is not a valid int8: out of range");
    want_error("uint8", "-1", "'-1' is not a valid uint8: out of range");
    want_error("int64", "9223372036854775808",
               "'9223372036854775808' is not a valid int64: out of range");
    want_error("uint64", "18446744073709551616",
               "'18446744073709551616' is not a valid uint64: out of range");
    want_error("int32", "12abc", "'12abc' is not a valid int32");
    want_error("int32", "1.5", "'1.5' is not a valid int32: not a whole number");
    want_error("int32", "1e3", "'1e3' is not a valid int32");
    want_error("int32", "-", "'-' is not a valid int32");
    want_error("double", "1.2.3", "'1.2.3' is not a valid double");
    want_error("double", "1e999", "'1e999' is not a valid double: out of range");
    want_error("float", "1e39", "'1e39' is not a valid float: out of range");
    want_error("bool", "maybe", "'maybe' is not a valid bool");
    want_error("decimal(8,3)", "1.2345",
               "'1.2345' is not a valid decimal(8,3): more than 3 fraction digits");
    want_error("decimal(8,0)", "1.5",
               "'1.5' is not a valid decimal(8,0): no fraction digits allowed (scale 0)");
    want_error("decimal(4,1)", "0.25",
               "'0.25' is not a valid decimal(4,1): more than 1 fraction digit");
    want_error("decimal(8,3)", "100000",
               "'100000' is not a valid decimal(8,3): too many digits for the precision");
    want_error("decimal(8,3)", "1e10",
               "'1e10' is not a valid decimal(8,3): too many digits for the precision");
    want_error("decimal(8,3)", "abc", "'abc' is not a valid decimal(8,3)");
    want_error("decimal(8,3)", "1.2.3", "'1.2.3' is not a valid decimal(8,3)");
    want_error("decimal(8,3)", ".", "'.' is not a valid decimal(8,3)");
    want_error("date", "2023-02-29", "'2023-02-29' is not a valid date");
    want_error("date", "01/02/2024", "'01/02/2024' is not a valid date");
    want_error("time(ms)", "25:00", "'25:00' is not a valid time(ms)");
    want_error("time(ns)", "24:00", "'24:00' is not a valid time(ns): out of range");
    want_value("time(ns)", "23:59:59.999999999", "\"23:59:59.999999999\"");
    want_error("time(ms)", "10:00:00.1234",
               "'10:00:00.1234' is not a valid time(ms): more than 3 fraction digits");
    want_error("timestamp(us, UTC)", "2024-05-01T10:00:00.1234567Z",
               "'2024-05-01T10:00:00.1234567Z' is not a valid timestamp(us, UTC): more than 6 "
               "fraction digits");
    want_error("timestamp(us, UTC)", "yesterday", "'yesterday' is not a valid timestamp(us, UTC)");
    want_error("timestamp(ns)", "2300-01-01",
               "'2300-01-01' is not a valid timestamp(ns): out of range");
    want_error("uuid", "123e4567-e89b-12d3-a456-42661417400",
               "'123e4567-e89b-12d3-a456-42661417400' is not a valid uuid");
    want_error("binary", "abc", "'abc' is not a valid binary: odd number of hex digits");
    want_error("binary", "zz", "'zz' is not a valid binary: not hexadecimal");
    want_error("fixed(2)", "beefee", "'beefee' is not a valid fixed(2): 3 bytes, expected 2");
    want_error("string", "bad \xff byte", "'bad \\xff byte' is not a valid string: invalid UTF-8");
    want_error("json", "{a:1}",
               "'{a:1}' is not a valid json: line 1, column 2: expected a member name");
    /* Long values are cut to 60 characters; control characters are escaped. */
    want_error("int32", "123456789012345678901234567890123456789012345678901234567890123456789x",
               "'123456789012345678901234567890123456789012345678901234567890...' is not a "
               "valid int32");
    want_error("date", "a\nb", "'a\\nb' is not a valid date");
}

/* ---- CSV ---- */

static void test_csv_quoting(void **state) {
    (void)state;
    st_field_t f[3] = {field("id", "int32"), field("text", "string"), field("n", "double")};
    int rc;
    /* Quoted commas, "" escapes, embedded LF and CRLF, CRLF line ends, a quoted empty
     * string vs an unquoted empty (null), no newline at the end. */
    const char *csv = "id,text,n\r\n"
                      "1,\"a, b\",1.5\r\n"
                      "2,\"say \"\"hi\"\"\",\r\n"
                      "3,\"line1\nline2\r\nline3\",2\n"
                      "4,\"\",3\n"
                      "5,,4\n"
                      "6,plain \"inner\" quotes,5\n"
                      "7,\"\"\"\",6";
    char *out = read_all(csv, f, 3, false, 100, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "1,\"a, b\",1.5\n"
                             "2,\"say \\\"hi\\\"\",null\n"
                             "3,\"line1\\nline2\\r\\nline3\",2\n"
                             "4,\"\",3\n"
                             "5,null,4\n"
                             "6,\"plain \\\"inner\\\" quotes\",5\n"
                             "7,\"\\\"\",6\n");
    free(out);

    /* Byte order mark, blank lines, columns in another order, a missing column. */
    csv = "\xef\xbb\xbfn,id\n\n1.25,10\n\n\n2.5,20\n";
    out = read_all(csv, f, 3, false, 1, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "10,null,1.25\n20,null,2.5\n");
    free(out);

    /* Header only, and an empty file: no rows. */
    out = read_all("id,text,n\n", f, 3, false, 10, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "");
    free(out);
    out = read_all("", f, 3, false, 10, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "");
    free(out);

    /* Unknown header columns: ignored, or refused when strict. */
    csv = "id,extra,text\n1,x,y\n";
    out = read_all(csv, f, 3, false, 10, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "1,\"y\",null\n");
    free(out);
    assert_null(read_all(csv, f, 3, true, 10, &rc));
    assert_int_equal(rc, ST_EVALIDATION);
    assert_non_null(strstr(st_errmsg(), ".csv: line 1: column 'extra' is not in the schema"));
    assert_null(read_all("id,text,id\n1,2,3\n", f, 3, false, 10, &rc));
    assert_int_equal(rc, ST_EVALIDATION);
    assert_non_null(strstr(st_errmsg(), ".csv: line 1: column 'id' appears twice in the header"));
}

static void test_csv_errors(void **state) {
    (void)state;
    st_field_t f[2] = {field("id", "int32"), field("depth_m", "decimal(8,3)")};
    int rc;
    /* Ragged rows. */
    assert_null(read_all("id,depth_m\n1,2\n3,4,5\n", f, 2, false, 10, &rc));
    assert_int_equal(rc, ST_EVALIDATION);
    assert_non_null(strstr(st_errmsg(), ".csv: line 3: expected 2 cells, found 3"));
    assert_null(read_all("id,depth_m\n1,2\n\"multi\nline\"\n", f, 2, false, 10, &rc));
    assert_int_equal(rc, ST_EVALIDATION);
    assert_non_null(strstr(st_errmsg(), ".csv: line 3: expected 2 cells, found 1"));
    /* Bad quoting. */
    assert_null(read_all("id,depth_m\n1,\"2\n3,4\n", f, 2, false, 10, &rc));
    assert_int_equal(rc, ST_ECORRUPT);
    assert_non_null(strstr(st_errmsg(), ".csv: line 2: quoted field never closed"));
    assert_null(read_all("id,depth_m\n1,\"2\"x\n", f, 2, false, 10, &rc));
    assert_int_equal(rc, ST_ECORRUPT);
    assert_non_null(
        strstr(st_errmsg(), ".csv: line 2: unexpected character after a closing quote"));

    /* A bad cell: exact message; earlier rows stay, the bad row is not added, and
     * reading continues after it. */
    const char *csv = "id,depth_m\n1,1.5\n2,\"x\ny\"\n3,12.3456\n4,2\n";
    char *path = temp_file(".csv", csv, strlen(csv));
    st_table_reader_t *r;
    assert_int_equal(st_table_reader_open(path, ST_FORMAT_CSV, f, 2, false, &r), 0);
    st_batch_t *b;
    assert_int_equal(st_batch_new(f, 2, &b), 0);
    int64_t n;
    assert_int_equal(st_table_reader_next(r, b, 10, &n), ST_ETYPE);
    char want[256];
    snprintf(want, sizeof want, "%s: line 3, column depth_m: 'x\\ny' is not a valid decimal(8,3)",
             path);
    assert_string_equal(st_errmsg(), want);
    assert_int_equal(n, 1);
    assert_int_equal(b->nrows, 1);
    assert_int_equal(b->cols[0].length, 1); /* the half row was rolled back */
    assert_int_equal(b->cols[1].length, 1);
    assert_int_equal(st_table_reader_line(r), 3);
    assert_int_equal(st_table_reader_next(r, b, 10, &n), ST_ETYPE);
    snprintf(want, sizeof want,
             "%s: line 5, column depth_m: '12.3456' is not a valid decimal(8,3): more than 3 "
             "fraction digits",
             path);
    assert_string_equal(st_errmsg(), want);
    assert_int_equal(n, 0);
    assert_int_equal(st_table_reader_next(r, b, 10, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(b->nrows, 2);
    char *j = json_of(&b->cols[0], 1);
    assert_string_equal(j, "4");
    free(j);
    assert_int_equal(st_table_reader_next(r, b, 10, &n), 0);
    assert_int_equal(n, 0);
    /* A batch of other columns is refused. */
    st_batch_t *other;
    assert_int_equal(st_batch_new(f, 1, &other), 0);
    assert_int_equal(st_table_reader_next(r, other, 10, &n), ST_EINVAL);
    st_batch_free(other);
    st_batch_free(b);
    st_table_reader_close(r);
    remove(path);
    free(path);

    /* Opening. */
    assert_int_equal(st_table_reader_open("/nonexistent/x.csv", ST_FORMAT_AUTO, f, 2, false, &r),
                     ST_ENOTFOUND);
    assert_null(r);
    assert_int_equal(st_table_reader_open("data.txt", ST_FORMAT_AUTO, f, 2, false, &r), ST_EINVAL);
    assert_string_equal(st_errmsg(), "data.txt: cannot tell the format from the name; use .csv "
                                     "or .jsonl, or give the format");
    assert_int_equal(st_table_reader_open("-", ST_FORMAT_AUTO, f, 2, false, &r), ST_EINVAL);
}

static void test_csv_long_lines(void **state) {
    (void)state;
    /* Cells far longer than the read buffer, split across refills. */
    size_t big = 300000;
    st_buf_t csv = ST_BUF_INIT;
    st_buf_append_str(&csv, "a,b\n");
    for (int row = 0; row < 3; row++) {
        st_buf_append_byte(&csv, '"');
        for (size_t i = 0; i < big; i++)
            st_buf_append_byte(&csv, i % 1000 == 999 ? '\n' : 'x');
        st_buf_append_str(&csv, "\",");
        for (size_t i = 0; i < big; i++)
            st_buf_append_byte(&csv, (uint8_t)('a' + i % 26));
        st_buf_append_str(&csv, "\r\n");
    }
    st_buf_append_str(&csv, "end,\"\"\"\"\n");
    char *path = temp_file(".CSV", (const char *)csv.data, csv.len);
    st_field_t f[2] = {field("a", "string"), field("b", "string")};
    st_table_reader_t *r;
    assert_int_equal(st_table_reader_open(path, ST_FORMAT_AUTO, f, 2, true, &r), 0);
    st_batch_t *b;
    assert_int_equal(st_batch_new(f, 2, &b), 0);
    int64_t n;
    assert_int_equal(st_table_reader_next(r, b, 1000, &n), 0);
    assert_int_equal(n, 4);
    size_t len;
    const uint8_t *p = st_col_get_bytes(&b->cols[0], 2, &len);
    assert_int_equal(len, big);
    assert_int_equal(p[999], '\n');
    p = st_col_get_bytes(&b->cols[1], 1, &len);
    assert_int_equal(len, big);
    assert_int_equal(p[big - 1], 'a' + (big - 1) % 26);
    p = st_col_get_bytes(&b->cols[1], 3, &len);
    assert_int_equal(len, 1);
    assert_int_equal(p[0], '"');
    /* Line numbers count the newlines inside quoted cells. */
    assert_int_equal(st_table_reader_line(r), 2 + 3 * (big / 1000 + 1));
    st_batch_free(b);
    st_table_reader_close(r);
    remove(path);
    free(path);
    st_buf_free(&csv);
}

static const char *source_dir(void) {
    const char *env = getenv("STRATA_SOURCE_DIR");
    if (env) return env;
    static char dir[1024];
    snprintf(dir, sizeof dir, "%s", __FILE__);
    char *cut = strstr(dir, "/tests/table/");
    if (cut) *cut = '\0';
    return dir;
}

static void test_borehole_example(void **state) {
    (void)state;
    char sp[2048], dp[2048];
    snprintf(sp, sizeof sp, "%s/examples/borehole.schema.json", source_dir());
    snprintf(dp, sizeof dp, "%s/examples/boreholes.csv", source_dir());
    st_schema_t *s;
    assert_int_equal(st_schema_load(sp, &s), 0);
    assert_true(s->strict);
    st_table_reader_t *r;
    assert_int_equal(
        st_table_reader_open(dp, ST_FORMAT_AUTO, st_schema_fields(s), s->nfields, s->strict, &r),
        0);
    st_batch_t *b;
    assert_int_equal(st_batch_new(st_schema_fields(s), s->nfields, &b), 0);
    int64_t n, total = 0;
    int rc;
    while ((rc = st_table_reader_next(r, b, 16, &n)) == 0 && n > 0)
        total += n;
    if (rc) fprintf(stderr, "%s\n", st_errmsg());
    assert_int_equal(rc, 0);
    assert_int_equal(total, 50);
    assert_int_equal(b->nrows, 50);
    int status = st_schema_field_index(s, "status");
    int remarks = st_schema_field_index(s, "remarks");
    int logged = st_schema_field_index(s, "logged_by");
    int depth = st_schema_field_index(s, "depth_m");
    bool saw_newline = false, saw_quote = false, saw_null_logger = false;
    for (int64_t i = 0; i < b->nrows; i++) {
        char *st = json_of(&b->cols[status], i);
        bool known = !strcmp(st, "\"planned\"") || !strcmp(st, "\"drilling\"") ||
                     !strcmp(st, "\"completed\"") || !strcmp(st, "\"abandoned\"");
        assert_true(known);
        if (!strcmp(st, "\"planned\"")) assert_true(st_col_is_null(&b->cols[depth], i));
        free(st);
        if (st_col_is_null(&b->cols[logged], i)) saw_null_logger = true;
        if (!st_col_is_null(&b->cols[remarks], i)) {
            size_t len;
            const uint8_t *p = st_col_get_bytes(&b->cols[remarks], i, &len);
            if (memchr(p, '\n', len)) saw_newline = true;
            if (memchr(p, '"', len)) saw_quote = true;
        }
    }
    assert_true(saw_newline && saw_quote && saw_null_logger);
    char *j = json_of(&b->cols[st_schema_field_index(s, "created_at")], 0);
    assert_int_equal(strlen(j), strlen("\"2023-03-04T14:17:33.275112Z\""));
    assert_int_equal(j[strlen(j) - 2], 'Z');
    free(j);
    st_batch_free(b);
    st_table_reader_close(r);
    st_schema_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coerce_values),  cmocka_unit_test(test_coerce_errors),
        cmocka_unit_test(test_csv_quoting),    cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_csv_long_lines), cmocka_unit_test(test_borehole_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
