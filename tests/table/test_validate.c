/* Unit tests of validation: every rule with its exact message, state across
 * batches (unique, primary keys), the violation limit, row order, invalid
 * UTF-8, and the report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/schema.h"

static st_schema_t *schema_of(const char *json) {
    st_schema_t *s = NULL;
    int rc = st_schema_parse(json, strlen(json), "t.schema.json", &s);
    if (rc) fprintf(stderr, "unexpected: %s\n", st_errmsg());
    assert_int_equal(rc, 0);
    return s;
}

static st_validator_t *validator_of(const st_schema_t *s, int max) {
    st_validator_t *v = NULL;
    int rc = st_validator_new(s, max, &v);
    if (rc) fprintf(stderr, "unexpected: %s\n", st_errmsg());
    assert_int_equal(rc, 0);
    return v;
}

/* A batch for the schema from rows of text cells (NULL = null), converted
 * as CSV cells are. */
static st_batch_t *batch_of(const st_schema_t *s, int nrows, const char *const *cells) {
    st_batch_t *b = NULL;
    assert_int_equal(st_batch_new(st_schema_fields(s), s->nfields, &b), 0);
    for (int r = 0; r < nrows; r++) {
        for (int c = 0; c < s->nfields; c++) {
            const char *t = cells[r * s->nfields + c];
            int rc =
                t ? st_coerce_append(&b->cols[c], t, strlen(t)) : st_col_append_null(&b->cols[c]);
            if (rc) fprintf(stderr, "cell %d/%d: %s\n", r, c, st_errmsg());
            assert_int_equal(rc, 0);
        }
        assert_int_equal(st_batch_end_row(b), 0);
    }
    return b;
}

/* Checks one batch and returns the status. */
static int check_rows(st_validator_t *v, const st_schema_t *s, int nrows,
                      const char *const *cells) {
    st_batch_t *b = batch_of(s, nrows, cells);
    int rc = st_validator_check(v, b);
    st_batch_free(b);
    return rc;
}

static const st_violation_t *violation(const st_validator_t *v, int i) {
    int n;
    const st_violation_t *all = st_validator_violations(v, &n);
    assert_true(i < n);
    return &all[i];
}

static void assert_violation(const st_validator_t *v, int i, int64_t row, const char *column,
                             const char *value, const char *rule, const char *message) {
    const st_violation_t *x = violation(v, i);
    assert_int_equal(x->row, row);
    if (column)
        assert_string_equal(x->column, column);
    else
        assert_null(x->column);
    if (value)
        assert_string_equal(x->value, value);
    else
        assert_null(x->value);
    assert_string_equal(x->rule, rule);
    assert_string_equal(x->message, message);
}

static int kept(const st_validator_t *v) {
    int n;
    st_validator_violations(v, &n);
    return n;
}

/* ---- nullable ---- */

static void test_nullable(void **state) {
    (void)state;
    st_schema_t *s = schema_of("{\"name\": \"t\", \"fields\": ["
                               "{\"name\": \"id\", \"type\": \"int32\", \"nullable\": false},"
                               "{\"name\": \"note\", \"type\": \"string\"}]}");
    st_validator_t *v = validator_of(s, 0);
    const char *ok[] = {"1", NULL, "2", "x"};
    assert_int_equal(check_rows(v, s, 2, ok), 0);
    assert_int_equal(st_validator_count(v), 0);
    const char *bad[] = {"3", "a", NULL, "b", "5", NULL};
    assert_int_equal(check_rows(v, s, 3, bad), ST_EVALIDATION);
    assert_string_equal(st_errmsg(), "row 4, column id: null, but the field is not nullable");
    assert_int_equal(st_validator_count(v), 1);
    assert_violation(v, 0, 4, "id", NULL, "nullable",
                     "row 4, column id: null, but the field is not nullable");
    st_validator_free(v);
    st_schema_free(s);
}

/* A batch with more than eight rows exercises the all-valid byte skip. */
static void test_nullable_many(void **state) {
    (void)state;
    st_schema_t *s = schema_of("{\"name\": \"t\", \"fields\": ["
                               "{\"name\": \"id\", \"type\": \"int64\", \"nullable\": false}]}");
    st_validator_t *v = validator_of(s, 0);
    const char *cells[40];
    for (int i = 0; i < 40; i++)
        cells[i] = (i == 17 || i == 39) ? NULL : "1";
    assert_int_equal(check_rows(v, s, 40, cells), ST_EVALIDATION);
    assert_string_equal(
        st_errmsg(),
        "row 18, column id: null, but the field is not nullable (and 1 more violation)");
    assert_int_equal(st_validator_count(v), 2);
    assert_int_equal(violation(v, 0)->row, 18);
    assert_int_equal(violation(v, 1)->row, 40);
    st_validator_free(v);
    st_schema_free(s);
}

/* ---- min / max ---- */

static void test_decimal_bounds(void **state) {
    (void)state;
    st_schema_t *s = schema_of(
        "{\"name\": \"t\", \"fields\": ["
        "{\"name\": \"depth_m\", \"type\": \"decimal(8,3)\", \"min\": 0, \"max\": 2000},"
        "{\"name\": \"big\", \"type\": \"decimal(20,3)\", \"max\": \"99999999999999999.998\"},"
        "{\"name\": \"fine\", \"type\": \"decimal(8,3)\", \"min\": 0.0005, \"max\": 1e1}]}");
    st_validator_t *v = validator_of(s, 0);
    const char *ok[] = {"0", "99999999999999999.998", "0.001", "2000.000", "-5", "10"};
    assert_int_equal(check_rows(v, s, 2, ok), 0);
    const char *bad[] = {"2500", "99999999999999999.999", "0", "-0.001", NULL, "10.001"};
    assert_int_equal(check_rows(v, s, 2, bad), ST_EVALIDATION);
    assert_string_equal(st_errmsg(), "row 3, column depth_m: 2500.000 is above the maximum 2000 "
                                     "(and 4 more violations)");
    assert_int_equal(st_validator_count(v), 5);
    assert_violation(v, 0, 3, "depth_m", "2500.000", "max",
                     "row 3, column depth_m: 2500.000 is above the maximum 2000");
    /* Beyond what a double holds exactly: 17 digits before the point. */
    assert_violation(v, 1, 3, "big", "99999999999999999.999", "max",
                     "row 3, column big: 99999999999999999.999 is above the maximum "
                     "99999999999999999.998");
    /* A bound with more fraction digits than the scale rounds inward. */
    assert_violation(v, 2, 3, "fine", "0.000", "min",
                     "row 3, column fine: 0.000 is below the minimum 0.0005");
    assert_violation(v, 3, 4, "depth_m", "-0.001", "min",
                     "row 4, column depth_m: -0.001 is below the minimum 0");
    assert_violation(v, 4, 4, "fine", "10.001", "max",
                     "row 4, column fine: 10.001 is above the maximum 1e1");
    st_validator_free(v);
    st_schema_free(s);
}

static void test_integer_bounds(void **state) {
    (void)state;
    st_schema_t *s = schema_of(
        "{\"name\": \"t\", \"fields\": ["
        "{\"name\": \"n\", \"type\": \"int64\", \"min\": -3, \"max\": 9007199254740993},"
        "{\"name\": \"half\", \"type\": \"int8\", \"min\": 0.5, \"max\": 1.5e0},"
        "{\"name\": \"u\", \"type\": \"uint64\", \"min\": 10, \"max\": \"18446744073709551614\"},"
        "{\"name\": \"huge\", \"type\": \"int32\", \"max\": 1e300}]}");
    /* Fractional bounds on an integer column round inward: 1 is the only value. */
    st_validator_t *v = validator_of(s, 0);
    const char *rows[] = {
        "9007199254740993",
        NULL,
        "18446744073709551614",
        "2147483647",
        "9007199254740994",
        "0",
        "18446744073709551615",
        NULL,
        "-4",
        "2",
        "9",
        NULL,
    };
    assert_int_equal(check_rows(v, s, 3, rows), ST_EVALIDATION);
    assert_int_equal(st_validator_count(v), 6);
    assert_violation(v, 0, 2, "n", "9007199254740994", "max",
                     "row 2, column n: 9007199254740994 is above the maximum 9007199254740993");
    assert_violation(v, 1, 2, "half", "0", "min", "row 2, column half: 0 is below the minimum 0.5");
    assert_violation(v, 2, 2, "u", "18446744073709551615", "max",
                     "row 2, column u: 18446744073709551615 is above the maximum "
                     "18446744073709551614");
    assert_violation(v, 3, 3, "n", "-4", "min", "row 3, column n: -4 is below the minimum -3");
    assert_violation(v, 4, 3, "half", "2", "max",
                     "row 3, column half: 2 is above the maximum 1.5e0");
    assert_violation(v, 5, 3, "u", "9", "min", "row 3, column u: 9 is below the minimum 10");
    st_validator_free(v);
    st_schema_free(s);
}

static void test_temporal_bounds(void **state) {
    (void)state;
    st_schema_t *s = schema_of(
        "{\"name\": \"t\", \"fields\": ["
        "{\"name\": \"d\", \"type\": \"date\", \"min\": \"1950-01-01\"},"
        "{\"name\": \"ts\", \"type\": \"timestamp(ns, UTC)\", \"max\": \"2030-01-01T00:00:00Z\"},"
        "{\"name\": \"tm\", \"type\": \"time(ms)\", \"min\": \"08:00\", \"max\": \"18:00:00\"}]}");
    st_validator_t *v = validator_of(s, 0);
    const char *rows[] = {
        "1950-01-01", "2030-01-01T00:00:00Z",           "08:00:00",
        "1949-12-31", "2030-01-01T01:00:00+01:00",      "07:59:59.999",
        "2024-05-01", "2030-01-01T00:00:00.000000001Z", "18:00:00.001",
    };
    assert_int_equal(check_rows(v, s, 3, rows), ST_EVALIDATION);
    assert_int_equal(st_validator_count(v), 4);
    assert_violation(v, 0, 2, "d", "1949-12-31", "min",
                     "row 2, column d: 1949-12-31 is below the minimum 1950-01-01");
    assert_violation(v, 1, 2, "tm", "07:59:59.999", "min",
                     "row 2, column tm: 07:59:59.999 is below the minimum 08:00");
    /* One nanosecond late: a double could not tell. */
    assert_violation(v, 2, 3, "ts", "2030-01-01T00:00:00.000000001Z", "max",
                     "row 3, column ts: 2030-01-01T00:00:00.000000001Z is above the maximum "
                     "2030-01-01T00:00:00Z");
    assert_violation(v, 3, 3, "tm", "18:00:00.001", "max",
                     "row 3, column tm: 18:00:00.001 is above the maximum 18:00:00");
    st_validator_free(v);
    st_schema_free(s);
}

static void test_float_bounds(void **state) {
    (void)state;
    st_schema_t *s =
        schema_of("{\"name\": \"t\", \"fields\": ["
                  "{\"name\": \"f\", \"type\": \"float\", \"min\": 0, \"max\": 0.1},"
                  "{\"name\": \"lat\", \"type\": \"double\", \"min\": -90, \"max\": 90}]}");
    st_validator_t *v = validator_of(s, 0);
    const char *rows[] = {"0.1", "90", "0.2", "-90.5", "NaN", "NaN", "-0", "-Infinity"};
    assert_int_equal(check_rows(v, s, 4, rows), ST_EVALIDATION);
    assert_int_equal(st_validator_count(v), 5);
    assert_violation(v, 0, 2, "f", "0.2", "max", "row 2, column f: 0.2 is above the maximum 0.1");
    assert_violation(v, 1, 2, "lat", "-90.5", "min",
                     "row 2, column lat: -90.5 is below the minimum -90");
    assert_violation(v, 2, 3, "f", "NaN", "min",
                     "row 3, column f: NaN cannot be compared with the minimum 0");
    assert_violation(v, 3, 3, "lat", "NaN", "min",
                     "row 3, column lat: NaN cannot be compared with the minimum -90");
    assert_violation(v, 4, 4, "lat", "-Infinity", "min",
                     "row 4, column lat: -Infinity is below the minimum -90");
    st_validator_free(v);
    st_schema_free(s);
}

/* ---- lengths ---- */

static void test_lengths(void **state) {
    (void)state;
    st_schema_t *s = schema_of(
        "{\"name\": \"t\", \"fields\": ["
        "{\"name\": \"code\", \"type\": \"string\", \"min_length\": 2, \"max_length\": 3},"
        "{\"name\": \"blob\", \"type\": \"binary\", \"max_length\": 2},"
        "{\"name\": \"doc\", \"type\": \"json\", \"max_length\": 4}]}");
    st_validator_t *v = validator_of(s, 0);
    /* Characters, not bytes, for strings: three umlauts are six bytes. */
    const char *ok[] = {"\xc3\xa4\xc3\xb6\xc3\xbc", "0102", "\"\xc3\xa4\"", "ab", "", "[1]"};
    assert_int_equal(check_rows(v, s, 2, ok), 0);
    const char *bad[] = {"abcd",
                         "010203",
                         "[1,2]",
                         "\xc3\xa4",
                         NULL,
                         NULL,
                         "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80",
                         NULL,
                         NULL};
    assert_int_equal(check_rows(v, s, 3, bad), ST_EVALIDATION);
    assert_int_equal(st_validator_count(v), 5);
    assert_violation(v, 0, 3, "code", "abcd", "max_length",
                     "row 3, column code: 'abcd' is 4 characters long, longer than the maximum "
                     "length 3");
    assert_violation(
        v, 1, 3, "blob", "010203", "max_length",
        "row 3, column blob: '010203' is 3 bytes long, longer than the maximum length 2");
    assert_violation(v, 2, 3, "doc", "[1,2]", "max_length",
                     "row 3, column doc: '[1,2]' is 5 characters long, longer than the maximum "
                     "length 4");
    assert_violation(v, 3, 4, "code", "\xc3\xa4", "min_length",
                     "row 4, column code: '\xc3\xa4' is 1 character long, shorter than the minimum "
                     "length 2");
    assert_violation(v, 4, 5, "code",
                     "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80",
                     "max_length",
                     "row 5, column code: '\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f"
                     "\x98\x80' is 4 characters long, longer than the maximum length 3");
    st_validator_free(v);
    st_schema_free(s);
}

/* Long values are cut in messages and in `value`, on a character boundary. */
static void test_long_value_cut(void **state) {
    (void)state;
    st_schema_t *s =
        schema_of("{\"name\": \"t\", \"fields\": ["
                  "{\"name\": \"remarks\", \"type\": \"string\", \"max_length\": 4000}]}");
    st_validator_t *v = validator_of(s, 0);
    char *text = malloc(5001);
    for (int i = 0; i < 5000; i++)
        text[i] = (char)('a' + i % 26);
    text[5000] = '\0';
    const char *rows[] = {text};
    assert_int_equal(check_rows(v, s, 1, rows), ST_EVALIDATION);
    char want_value[80];
    memcpy(want_value, text, 60);
    strcpy(want_value + 60, "...");
    char want_msg[200];
    snprintf(want_msg, sizeof want_msg,
             "row 1, column remarks: '%s' is 5000 characters long, longer than the maximum length "
             "4000",
             want_value);
    assert_violation(v, 0, 1, "remarks", want_value, "max_length", want_msg);
    free(text);
    st_validator_free(v);
    st_schema_free(s);
}

/* ---- patterns ---- */

static void test_pattern(void **state) {
    (void)state;
    st_schema_t *s = schema_of(
        "{\"name\": \"t\", \"fields\": ["
        "{\"name\": \"name\", \"type\": \"string\", \"pattern\": \"^BH-[0-9]{2,3}[A-Z]?$\"},"
        "{\"name\": \"loose\", \"type\": \"string\", \"pattern\": \"x\"},"
        "{\"name\": \"two\", \"type\": \"string\", \"pattern\": \"^.{2}$\"}]}");
    st_validator_t *v = validator_of(s, 0);
    /* Unanchored patterns match anywhere; '.' is one character in UTF mode. */
    const char *ok[] = {"BH-01", "axb", "\xc3\xa4\xc3\xb6", "BH-123A", NULL, "ab"};
    assert_int_equal(check_rows(v, s, 2, ok), 0);
    const char *bad[] = {"BH-1", "abc", "\xc3\xa4", "bh-01", "x", "abc", "BH-01\n", "x", "ab"};
    assert_int_equal(check_rows(v, s, 3, bad), ST_EVALIDATION);
    assert_int_equal(st_validator_count(v), 6);
    assert_violation(v, 0, 3, "name", "BH-1", "pattern",
                     "row 3, column name: 'BH-1' does not match the pattern ^BH-[0-9]{2,3}[A-Z]?$");
    assert_violation(v, 1, 3, "loose", "abc", "pattern",
                     "row 3, column loose: 'abc' does not match the pattern x");
    assert_violation(v, 2, 3, "two", "\xc3\xa4", "pattern",
                     "row 3, column two: '\xc3\xa4' does not match the pattern ^.{2}$");
    assert_violation(
        v, 3, 4, "name", "bh-01", "pattern",
        "row 4, column name: 'bh-01' does not match the pattern ^BH-[0-9]{2,3}[A-Z]?$");
    assert_violation(v, 4, 4, "two", "abc", "pattern",
                     "row 4, column two: 'abc' does not match the pattern ^.{2}$");
    /* '$' is the very end: not also before a final newline. */
    assert_violation(
        v, 5, 5, "name", "BH-01\\n", "pattern",
        "row 5, column name: 'BH-01\\n' does not match the pattern ^BH-[0-9]{2,3}[A-Z]?$");
    st_validator_free(v);
    st_schema_free(s);
}

static void test_bad_pattern(void **state) {
    (void)state;
    st_schema_t *s =
        schema_of("{\"name\": \"t\", \"fields\": ["
                  "{\"name\": \"name\", \"type\": \"string\", \"pattern\": \"^BH-(\"}]}");
    st_validator_t *v = NULL;
    assert_int_equal(st_validator_new(s, 0, &v), ST_EINVAL);
    assert_null(v);
    assert_non_null(strstr(st_errmsg(), "schema t: field 'name': bad pattern '^BH-(': "));
    assert_non_null(strstr(st_errmsg(), "at offset 5"));
    st_schema_free(s);
}

/* A pattern that backtracks catastrophically fails the value, quickly. */
static void test_pattern_match_limit(void **state) {
    (void)state;
    st_schema_t *s =
        schema_of("{\"name\": \"t\", \"fields\": ["
                  "{\"name\": \"s\", \"type\": \"string\", \"pattern\": \"^(a+)+$\"}]}");
    st_validator_t *v = validator_of(s, 0);
    char text[64];
    memset(text, 'a', 40);
    strcpy(text + 40, "!");
    const char *rows[] = {text, "aaa"};
    assert_int_equal(check_rows(v, s, 2, rows), ST_EVALIDATION);
    assert_int_equal(st_validator_count(v), 1);
    const st_violation_t *x = violation(v, 0);
    assert_int_equal(x->row, 1);
    assert_string_equal(x->rule, "pattern");
    assert_non_null(
        strstr(x->message, "row 1, column s: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!' "));
    st_validator_free(v);
    st_schema_free(s);
}

/* ---- enum ---- */

static void test_enum(void **state) {
    (void)state;
    st_schema_t *s = schema_of(
        "{\"name\": \"t\", \"fields\": ["
        "{\"name\": \"status\", \"type\": \"string\", \"enum\": [\"planned\", \"drilling\", "
        "\"completed\", \"abandoned\"]},"
        "{\"name\": \"grade\", \"type\": \"decimal(4,2)\", \"enum\": [\"1.5\", \"2\"]},"
        "{\"name\": \"flag\", \"type\": \"bool\", \"enum\": [\"true\"]},"
        "{\"name\": \"day\", \"type\": \"date\", \"enum\": [\"2024-01-01\"]}]}");
    st_validator_t *v = validator_of(s, 0);
    const char *ok[] = {"planned", "1.50", "yes", "2024-01-01", NULL, "2.000", NULL, NULL};
    assert_int_equal(check_rows(v, s, 2, ok), 0);
    const char *bad[] = {"done", "3", "false", "2024-01-02", "Planned", "1.5", "1", "2024-01-01"};
    assert_int_equal(check_rows(v, s, 2, bad), ST_EVALIDATION);
    assert_int_equal(st_validator_count(v), 5);
    assert_violation(v, 0, 3, "status", "done", "enum",
                     "row 3, column status: 'done' is not one of planned, drilling, completed, "
                     "abandoned");
    assert_violation(v, 1, 3, "grade", "3.00", "enum",
                     "row 3, column grade: 3.00 is not one of 1.5, 2");
    assert_violation(v, 2, 3, "flag", "false", "enum",
                     "row 3, column flag: false is not one of true");
    assert_violation(v, 3, 3, "day", "2024-01-02", "enum",
                     "row 3, column day: 2024-01-02 is not one of 2024-01-01");
    assert_violation(v, 4, 4, "status", "Planned", "enum",
                     "row 4, column status: 'Planned' is not one of planned, drilling, completed, "
                     "abandoned");
    st_validator_free(v);
    st_schema_free(s);
}

/* More values than a linear scan handles, and the list cut in messages. */
static void test_enum_many(void **state) {
    (void)state;
    st_buf_t json = ST_BUF_INIT;
    st_buf_append_str(&json, "{\"name\": \"t\", \"fields\": [{\"name\": \"code\", \"type\": "
                             "\"string\", \"enum\": [");
    for (int i = 0; i < 20; i++)
        st_buf_printf(&json, "%s\"c%d\"", i ? ", " : "", i);
    st_buf_append_str(&json, "]}]}");
    st_buf_append_byte(&json, 0);
    st_schema_t *s = schema_of((const char *)json.data);
    st_buf_free(&json);
    st_validator_t *v = validator_of(s, 0);
    const char *ok[] = {"c0", "c19", "c7", "c13"};
    assert_int_equal(check_rows(v, s, 4, ok), 0);
    const char *bad[] = {"c20", "c1"};
    assert_int_equal(check_rows(v, s, 2, bad), ST_EVALIDATION);
    assert_int_equal(st_validator_count(v), 1);
    assert_violation(v, 0, 5, "code", "c20", "enum",
                     "row 5, column code: 'c20' is not one of c0, c1, c2, c3, c4, c5, c6, c7, c8, "
                     "c9, c10, c11, ... (20 values)");
    st_validator_free(v);
    st_schema_free(s);
}

/* ---- unique and primary keys ---- */

static void test_unique_across_batches(void **state) {
    (void)state;
    st_schema_t *s = schema_of("{\"name\": \"t\", \"fields\": ["
                               "{\"name\": \"id\", \"type\": \"uuid\", \"unique\": true},"
                               "{\"name\": \"code\", \"type\": \"string\", \"unique\": true},"
                               "{\"name\": \"n\", \"type\": \"int32\", \"unique\": true}]}");
    st_validator_t *v = validator_of(s, 0);
    const char *b1[] = {
        "3e4f1740-0fcb-44b3-bcba-4843d2380b6a",
        "A",
        "0",
        "c3eba5d5-babe-4ec5-b089-24e99e0691b3",
        "b",
        "1",
        NULL,
        "B",
        NULL,
    };
    assert_int_equal(check_rows(v, s, 3, b1), 0);
    /* Nulls never repeat; comparisons are exact ("a" is not "A"); 0 is a
     * value like the others; a UUID is the same in either case. */
    const char *b2[] = {
        NULL, "a", NULL, "3E4F1740-0FCB-44B3-BCBA-4843D2380B6A", "b", "0",
    };
    assert_int_equal(check_rows(v, s, 2, b2), ST_EVALIDATION);
    assert_int_equal(st_validator_count(v), 3);
    assert_violation(v, 0, 5, "id", "3e4f1740-0fcb-44b3-bcba-4843d2380b6a", "unique",
                     "row 5, column id: '3e4f1740-0fcb-44b3-bcba-4843d2380b6a' is not unique (it "
                     "appears in an earlier row)");
    assert_violation(v, 1, 5, "code", "b", "unique",
                     "row 5, column code: 'b' is not unique (it appears in an earlier row)");
    assert_violation(v, 2, 5, "n", "0", "unique",
                     "row 5, column n: 0 is not unique (it appears in an earlier row)");
    /* Repeats inside one batch count too. */
    const char *b3[] = {NULL, "Z", "7", NULL, "Z", "7"};
    assert_int_equal(check_rows(v, s, 2, b3), ST_EVALIDATION);
    assert_int_equal(st_validator_count(v), 5);
    assert_int_equal(violation(v, 3)->row, 7);
    assert_string_equal(violation(v, 4)->column, "n");
    st_validator_free(v);
    st_schema_free(s);
}

static void test_primary_key_composite(void **state) {
    (void)state;
    st_schema_t *s = schema_of(
        "{\"name\": \"borelog_versions\", \"primary_key\": [\"borelog_id\", \"version_no\"], "
        "\"fields\": ["
        "{\"name\": \"borelog_id\", \"type\": \"uuid\", \"nullable\": false},"
        "{\"name\": \"version_no\", \"type\": \"int32\"},"
        "{\"name\": \"status\", \"type\": \"string\"}]}");
    st_validator_t *v = validator_of(s, 0);
    const char *a = "3e4f1740-0fcb-44b3-bcba-4843d2380b6a",
               *b = "c3eba5d5-babe-4ec5-b089-24e99e0691b3";
    /* (a,1) (a,2) (b,1): the columns repeat, the combinations do not. */
    const char *b1[] = {a, "1", "draft", a, "2", "draft", b, "1", "draft"};
    assert_int_equal(check_rows(v, s, 3, b1), 0);
    const char *b2[] = {b, "2", "x", a, "1", "x", a, NULL, "x", NULL, "9", "x"};
    assert_int_equal(check_rows(v, s, 4, b2), ST_EVALIDATION);
    assert_string_equal(st_errmsg(), "row 5: primary key (borelog_id, version_no) = "
                                     "('3e4f1740-0fcb-44b3-bcba-4843d2380b6a', 1) appears in an "
                                     "earlier row (and 2 more violations)");
    assert_int_equal(st_validator_count(v), 3);
    assert_violation(v, 0, 5, NULL, "3e4f1740-0fcb-44b3-bcba-4843d2380b6a, 1", "primary_key",
                     "row 5: primary key (borelog_id, version_no) = "
                     "('3e4f1740-0fcb-44b3-bcba-4843d2380b6a', 1) appears in an earlier row");
    /* A null in a key column the schema calls nullable is a key violation; in
     * one it does not, a nullable one (reported once either way). */
    assert_violation(v, 1, 6, "version_no", NULL, "primary_key",
                     "row 6, column version_no: null in a primary key column");
    assert_violation(v, 2, 7, "borelog_id", NULL, "nullable",
                     "row 7, column borelog_id: null, but the field is not nullable");
    st_validator_free(v);
    st_schema_free(s);
}

/* A one-column key that is also unique: each repeat is reported once. */
static void test_primary_key_single(void **state) {
    (void)state;
    st_schema_t *s = schema_of("{\"name\": \"t\", \"primary_key\": [\"id\"], \"fields\": ["
                               "{\"name\": \"id\", \"type\": \"int64\", \"unique\": true}]}");
    st_validator_t *v = validator_of(s, 0);
    const char *rows[] = {"1", "2", "1", "2"};
    assert_int_equal(check_rows(v, s, 4, rows), ST_EVALIDATION);
    assert_int_equal(st_validator_count(v), 2);
    assert_violation(v, 0, 3, "id", "1", "unique",
                     "row 3, column id: 1 is not unique (it appears in an earlier row)");
    st_validator_free(v);
    st_schema_free(s);

    s = schema_of("{\"name\": \"t\", \"primary_key\": [\"code\"], \"fields\": ["
                  "{\"name\": \"code\", \"type\": \"string\"}]}");
    v = validator_of(s, 0);
    const char *rows2[] = {"a", "b", "b"};
    assert_int_equal(check_rows(v, s, 3, rows2), ST_EVALIDATION);
    assert_int_equal(st_validator_count(v), 1);
    assert_violation(v, 0, 3, NULL, "b", "primary_key",
                     "row 3: primary key (code) = ('b') appears in an earlier row");
    st_validator_free(v);
    st_schema_free(s);
}

/* Many distinct keys: no false repeats while the sets grow, real ones found. */
static void test_unique_many(void **state) {
    (void)state;
    st_schema_t *s = schema_of(
        "{\"name\": \"t\", \"primary_key\": [\"a\", \"b\"], \"fields\": ["
        "{\"name\": \"id\", \"type\": \"int64\", \"unique\": true},"
        "{\"name\": \"u\", \"type\": \"uuid\", \"unique\": true},"
        "{\"name\": \"a\", \"type\": \"int32\"}, {\"name\": \"b\", \"type\": \"string\"}]}");
    st_validator_t *v = validator_of(s, 0);
    st_batch_t *batch;
    assert_int_equal(st_batch_new(st_schema_fields(s), s->nfields, &batch), 0);
    const int per_batch = 50000, batches = 6;
    for (int k = 0; k < batches; k++) {
        st_batch_clear(batch);
        for (int i = 0; i < per_batch; i++) {
            int64_t x = (int64_t)k * per_batch + i;
            uint8_t u[16] = {0};
            memcpy(u, &x, 8);
            u[15] = 0x5a;
            char text[32];
            snprintf(text, sizeof text, "k%lld", (long long)(x / 3));
            assert_int_equal(st_col_append_i64(&batch->cols[0], x * 7919), 0);
            assert_int_equal(st_col_append_bytes(&batch->cols[1], u, 16), 0);
            assert_int_equal(st_col_append_i64(&batch->cols[2], (int32_t)(x % 3)), 0);
            assert_int_equal(st_col_append_bytes(&batch->cols[3], text, strlen(text)), 0);
            assert_int_equal(st_batch_end_row(batch), 0);
        }
        assert_int_equal(st_validator_check(v, batch), 0);
    }
    assert_int_equal(st_validator_count(v), 0);
    /* One row repeating a key of the first batch in every checked rule. */
    st_batch_clear(batch);
    uint8_t u[16] = {0};
    int64_t x = 12345;
    memcpy(u, &x, 8);
    u[15] = 0x5a;
    assert_int_equal(st_col_append_i64(&batch->cols[0], x * 7919), 0);
    assert_int_equal(st_col_append_bytes(&batch->cols[1], u, 16), 0);
    assert_int_equal(st_col_append_i64(&batch->cols[2], 0), 0);
    assert_int_equal(st_col_append_bytes(&batch->cols[3], "k4115", 5), 0);
    assert_int_equal(st_batch_end_row(batch), 0);
    assert_int_equal(st_validator_check(v, batch), ST_EVALIDATION);
    assert_int_equal(st_validator_count(v), 3);
    assert_int_equal(violation(v, 0)->row, per_batch * batches + 1);
    assert_string_equal(violation(v, 0)->rule, "unique");
    assert_string_equal(violation(v, 1)->rule, "unique");
    assert_string_equal(violation(v, 2)->rule, "primary_key");
    st_batch_free(batch);
    st_validator_free(v);
    st_schema_free(s);
}

/* ---- limits, order, report ---- */

static void test_limit_and_order(void **state) {
    (void)state;
    st_schema_t *s = schema_of("{\"name\": \"t\", \"fields\": ["
                               "{\"name\": \"a\", \"type\": \"int32\", \"max\": 0},"
                               "{\"name\": \"b\", \"type\": \"int32\", \"max\": 0}]}");
    st_validator_t *v = validator_of(s, 3);
    /* Column b breaks on row 1, column a on rows 2.. : kept in row order. */
    const char *rows[] = {"0", "1", "1", "0", "1", "0", "1", "1", "1", "0"};
    assert_int_equal(check_rows(v, s, 5, rows), ST_EVALIDATION);
    assert_string_equal(st_errmsg(),
                        "row 1, column b: 1 is above the maximum 0 (and 5 more violations)");
    assert_int_equal(st_validator_count(v), 6);
    assert_int_equal(kept(v), 3);
    assert_violation(v, 0, 1, "b", "1", "max", "row 1, column b: 1 is above the maximum 0");
    assert_violation(v, 1, 2, "a", "1", "max", "row 2, column a: 1 is above the maximum 0");
    assert_violation(v, 2, 3, "a", "1", "max", "row 3, column a: 1 is above the maximum 0");
    /* Past the limit: counted, not kept, and the batch's first still named. */
    const char *more[] = {"0", "0", "0", "5"};
    assert_int_equal(check_rows(v, s, 2, more), ST_EVALIDATION);
    assert_string_equal(st_errmsg(), "row 7, column b: 5 is above the maximum 0");
    assert_int_equal(st_validator_count(v), 7);
    assert_int_equal(kept(v), 3);
    st_buf_t out = ST_BUF_INIT;
    assert_int_equal(st_validator_report(v, &out), 0);
    assert_int_equal(st_buf_append_byte(&out, 0), 0);
    assert_string_equal((const char *)out.data, "row 1, column b: 1 is above the maximum 0 [max]\n"
                                                "row 2, column a: 1 is above the maximum 0 [max]\n"
                                                "row 3, column a: 1 is above the maximum 0 [max]\n"
                                                "7 violations (the first 3 shown)\n");
    st_buf_free(&out);
    st_validator_free(v);
    st_schema_free(s);
}

static void test_report_counts(void **state) {
    (void)state;
    st_schema_t *s = schema_of("{\"name\": \"t\", \"fields\": ["
                               "{\"name\": \"a\", \"type\": \"int32\", \"max\": 0}]}");
    st_validator_t *v = validator_of(s, 0);
    st_buf_t out = ST_BUF_INIT;
    assert_int_equal(st_validator_report(v, &out), 0);
    assert_int_equal(st_buf_append_byte(&out, 0), 0);
    assert_string_equal((const char *)out.data, "no violations\n");
    st_buf_reset(&out);
    const char *rows[] = {"1"};
    assert_int_equal(check_rows(v, s, 1, rows), ST_EVALIDATION);
    assert_int_equal(st_validator_report(v, &out), 0);
    assert_int_equal(st_buf_append_byte(&out, 0), 0);
    assert_string_equal((const char *)out.data,
                        "row 1, column a: 1 is above the maximum 0 [max]\n1 violation\n");
    st_buf_free(&out);
    st_validator_free(v);
    st_schema_free(s);
}

/* Violations found elsewhere (cells that did not convert) and skipped rows
 * keep the numbering aligned with the input. */
static void test_add_and_skip(void **state) {
    (void)state;
    st_schema_t *s = schema_of("{\"name\": \"t\", \"fields\": ["
                               "{\"name\": \"a\", \"type\": \"int32\", \"max\": 0}]}");
    st_validator_t *v = validator_of(s, 2);
    const char *rows[] = {"0", "0"};
    assert_int_equal(check_rows(v, s, 2, rows), 0);
    assert_int_equal(
        st_validator_add(v, 3, "a", "x", "type", "row 3, column a: 'x' is not a valid int32"), 0);
    st_validator_skip_rows(v, 1);
    const char *rows2[] = {"4", "5"};
    assert_int_equal(check_rows(v, s, 2, rows2), ST_EVALIDATION);
    assert_int_equal(st_validator_count(v), 3);
    assert_int_equal(kept(v), 2);
    assert_violation(v, 0, 3, "a", "x", "type", "row 3, column a: 'x' is not a valid int32");
    assert_violation(v, 1, 4, "a", "4", "max", "row 4, column a: 4 is above the maximum 0");
    /* Past the limit add only counts. */
    assert_int_equal(
        st_validator_add(v, 9, NULL, NULL, "strict", "line 1: column 'x' is not in the schema"), 0);
    assert_int_equal(st_validator_count(v), 4);
    assert_int_equal(kept(v), 2);
    assert_int_equal(st_validator_add(v, 9, NULL, NULL, NULL, "m"), ST_EINVAL);
    st_validator_free(v);
    st_schema_free(s);
}

/* ---- invalid UTF-8 ---- */

static void test_invalid_utf8(void **state) {
    (void)state;
    st_schema_t *s = schema_of(
        "{\"name\": \"t\", \"fields\": ["
        "{\"name\": \"name\", \"type\": \"string\", \"max_length\": 2, \"pattern\": \"^a\", "
        "\"enum\": [\"ab\"]},"
        "{\"name\": \"doc\", \"type\": \"json\"}]}");
    st_validator_t *v = validator_of(s, 0);
    st_batch_t *b;
    assert_int_equal(st_batch_new(st_schema_fields(s), s->nfields, &b), 0);
    /* Batches can come from anywhere (Arrow, Parquet), not only from text. */
    const char *names[] = {"ab", "ab\xff\xfe", "\xed\xa0\x80", "ab"};
    const char *docs[] = {"1", "2", "3", "\"\xc0\xaf\""};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(st_col_append_bytes(&b->cols[0], names[i], strlen(names[i])), 0);
        assert_int_equal(st_col_append_bytes(&b->cols[1], docs[i], strlen(docs[i])), 0);
        assert_int_equal(st_batch_end_row(b), 0);
    }
    assert_int_equal(st_validator_check(v, b), ST_EVALIDATION);
    /* Only "type": no length, pattern or enum verdict on bytes that are not text. */
    assert_int_equal(st_validator_count(v), 3);
    assert_violation(v, 0, 2, "name", "ab\\xff\\xfe", "type",
                     "row 2, column name: 'ab\\xff\\xfe' is not valid UTF-8");
    assert_violation(v, 1, 3, "name", "\\xed\\xa0\\x80", "type",
                     "row 3, column name: '\\xed\\xa0\\x80' is not valid UTF-8");
    assert_violation(v, 2, 4, "doc", "\"\\xc0\\xaf\"", "type",
                     "row 4, column doc: '\"\\xc0\\xaf\"' is not valid UTF-8");
    st_batch_free(b);
    st_validator_free(v);
    st_schema_free(s);
}

/* The empty string (a quoted "" in CSV) is a value: rules apply to it. */
static void test_empty_string(void **state) {
    (void)state;
    st_schema_t *s = schema_of("{\"name\": \"t\", \"fields\": ["
                               "{\"name\": \"s\", \"type\": \"string\", \"min_length\": 1, "
                               "\"pattern\": \"^.{2}$\", \"enum\": [\"ab\"]}]}");
    st_validator_t *v = validator_of(s, 0);
    st_batch_t *b;
    assert_int_equal(st_batch_new(st_schema_fields(s), s->nfields, &b), 0);
    assert_int_equal(st_col_append_bytes(&b->cols[0], "ab", 2), 0);
    assert_int_equal(st_batch_end_row(b), 0);
    assert_int_equal(st_col_append_bytes(&b->cols[0], "", 0), 0);
    assert_int_equal(st_batch_end_row(b), 0);
    assert_int_equal(st_validator_check(v, b), ST_EVALIDATION);
    assert_int_equal(st_validator_count(v), 3);
    assert_violation(v, 0, 2, "s", "", "min_length",
                     "row 2, column s: '' is 0 characters long, shorter than the minimum length 1");
    assert_violation(v, 1, 2, "s", "", "pattern",
                     "row 2, column s: '' does not match the pattern ^.{2}$");
    assert_violation(v, 2, 2, "s", "", "enum", "row 2, column s: '' is not one of ab");
    st_batch_free(b);
    st_validator_free(v);
    st_schema_free(s);
}

/* Control characters in values stay escaped in one-line messages. */
static void test_control_characters(void **state) {
    (void)state;
    st_schema_t *s = schema_of("{\"name\": \"t\", \"fields\": ["
                               "{\"name\": \"s\", \"type\": \"string\", \"enum\": [\"a\"]}]}");
    st_validator_t *v = validator_of(s, 0);
    const char *rows[] = {"a\nb\tc\x01"};
    assert_int_equal(check_rows(v, s, 1, rows), ST_EVALIDATION);
    assert_violation(v, 0, 1, "s", "a\\nb\\tc\\x01", "enum",
                     "row 1, column s: 'a\\nb\\tc\\x01' is not one of a");
    st_validator_free(v);
    st_schema_free(s);
}

/* ---- misuse ---- */

static void test_batch_mismatch(void **state) {
    (void)state;
    st_schema_t *s = schema_of(
        "{\"name\": \"t\", \"fields\": ["
        "{\"name\": \"a\", \"type\": \"int32\"}, {\"name\": \"b\", \"type\": \"int32\"}]}");
    st_schema_t *other = schema_of(
        "{\"name\": \"t\", \"fields\": ["
        "{\"name\": \"a\", \"type\": \"int32\"}, {\"name\": \"b\", \"type\": \"int64\"}]}");
    st_validator_t *v = validator_of(s, 0);
    const char *rows[] = {"1", "2"};
    st_batch_t *b = batch_of(other, 1, rows);
    assert_int_equal(st_validator_check(v, b), ST_EINVAL);
    assert_string_equal(st_errmsg(), "schema t: batch column 2 ('b') does not match field 'b'");
    st_batch_free(b);
    st_field_t one = {"a", {.id = ST_TYPE_INT32}, true};
    assert_int_equal(st_batch_new(&one, 1, &b), 0);
    assert_int_equal(st_validator_check(v, b), ST_EINVAL);
    assert_string_equal(st_errmsg(), "schema t: the batch has 1 columns, the schema 2 fields");
    st_batch_free(b);
    st_validator_t *w = NULL;
    assert_int_equal(st_validator_new(s, -1, &w), ST_EINVAL);
    assert_null(w);
    st_validator_free(v);
    st_schema_free(s);
    st_schema_free(other);
}

/* The validator keeps what it needs: the schema may be freed first. */
static void test_schema_freed_first(void **state) {
    (void)state;
    st_schema_t *s =
        schema_of("{\"name\": \"t\", \"primary_key\": [\"k\"], \"fields\": ["
                  "{\"name\": \"k\", \"type\": \"string\", \"enum\": [\"x\", \"y\"], \"pattern\": "
                  "\"^[xy]$\"},"
                  "{\"name\": \"d\", \"type\": \"decimal(6,2)\", \"min\": \"-1.5\"}]}");
    st_validator_t *v = validator_of(s, 0);
    st_batch_t *b = batch_of(s, 2, (const char *[]){"x", "1", "z", "-2"});
    st_schema_free(s);
    assert_int_equal(st_validator_check(v, b), ST_EVALIDATION);
    assert_int_equal(st_validator_count(v), 3);
    assert_violation(v, 0, 2, "k", "z", "pattern",
                     "row 2, column k: 'z' does not match the pattern ^[xy]$");
    assert_violation(v, 1, 2, "k", "z", "enum", "row 2, column k: 'z' is not one of x, y");
    assert_violation(v, 2, 2, "d", "-2.00", "min",
                     "row 2, column d: -2.00 is below the minimum -1.5");
    st_batch_free(b);
    st_validator_free(v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nullable),
        cmocka_unit_test(test_nullable_many),
        cmocka_unit_test(test_decimal_bounds),
        cmocka_unit_test(test_integer_bounds),
        cmocka_unit_test(test_temporal_bounds),
        cmocka_unit_test(test_float_bounds),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_long_value_cut),
        cmocka_unit_test(test_pattern),
        cmocka_unit_test(test_bad_pattern),
        cmocka_unit_test(test_pattern_match_limit),
        cmocka_unit_test(test_enum),
        cmocka_unit_test(test_enum_many),
        cmocka_unit_test(test_unique_across_batches),
        cmocka_unit_test(test_primary_key_composite),
        cmocka_unit_test(test_primary_key_single),
        cmocka_unit_test(test_unique_many),
        cmocka_unit_test(test_limit_and_order),
        cmocka_unit_test(test_report_counts),
        cmocka_unit_test(test_add_and_skip),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_empty_string),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_batch_mismatch),
        cmocka_unit_test(test_schema_freed_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
