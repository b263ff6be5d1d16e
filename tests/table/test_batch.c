/* Unit tests of types and in-memory batches: layout, appends, reads, canonical JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/table.h"

static st_type_t type_of(const char *text) {
    st_type_t t;
    assert_int_equal(st_type_parse(text, &t), 0);
    return t;
}

/* A one-column batch of the given type. */
static st_batch_t *one_col(const char *type) {
    st_field_t f = {"v", type_of(type), true};
    st_batch_t *b;
    assert_int_equal(st_batch_new(&f, 1, &b), 0);
    return b;
}

/* Canonical JSON of row i as a NUL-terminated string (static buffer). */
static const char *json_at(const st_column_t *c, int64_t i) {
    static char text[256];
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_col_value_json(c, i, &b), 0);
    assert_true(b.len < sizeof text);
    memcpy(text, b.data, b.len);
    text[b.len] = '\0';
    st_buf_free(&b);
    return text;
}

static void test_type_parse_format(void **state) {
    (void)state;
    const char *canon[] = {"bool",          "int8",         "int16",         "int32",
                           "int64",         "uint8",        "uint16",        "uint32",
                           "uint64",        "float",        "double",        "string",
                           "binary",        "fixed(16)",    "date",          "time(ms)",
                           "time(us)",      "time(ns)",     "timestamp(ms)", "timestamp(us, UTC)",
                           "timestamp(ns)", "decimal(8,3)", "decimal(38,0)", "decimal(1,1)",
                           "uuid",          "json"};
    for (size_t i = 0; i < sizeof canon / sizeof canon[0]; i++) {
        st_type_t t = type_of(canon[i]);
        char out[48];
        int n = st_type_format(&t, out, sizeof out);
        assert_int_equal(n, (int)strlen(canon[i]));
        assert_string_equal(out, canon[i]);
    }
    st_type_t t = type_of(" Timestamp( NS , utc ) ");
    assert_int_equal(t.id, ST_TYPE_TIMESTAMP);
    assert_int_equal(t.unit, ST_UNIT_NS);
    assert_true(t.utc);
    t = type_of("decimal( 10 , 2 )");
    assert_int_equal(t.precision, 10);
    assert_int_equal(t.scale, 2);
    t = type_of("fixed(3)");
    assert_int_equal(t.width, 3);

    struct {
        const char *text, *msg;
    } bad[] = {
        {"decmal(8,3)", "unknown type 'decmal(8,3)'"},
        {"int33", "unknown type 'int33'"},
        {"", "unknown type ''"},
        {"int32 x", "unknown type 'int32 x'"},
        {"decimal(39,2)", "bad type 'decimal(39,2)': decimal precision must be 1..38"},
        {"decimal(0,0)", "bad type 'decimal(0,0)': decimal precision must be 1..38"},
        {"decimal(5,6)", "bad type 'decimal(5,6)': decimal scale must be 0..precision"},
        {"decimal(5)", "bad type 'decimal(5)': write decimal(P,S)"},
        {"decimal(-1,0)", "bad type 'decimal(-1,0)': write decimal(P,S)"},
        {"fixed(0)", "bad type 'fixed(0)': fixed width must be 1..16777216"},
        {"fixed", "bad type 'fixed': write fixed(N)"},
        {"time", "bad type 'time': write time(ms|us|ns)"},
        {"time(s)", "bad type 'time(s)': write time(ms|us|ns)"},
        {"timestamp", "bad type 'timestamp': write timestamp(ms|us|ns) or timestamp(us, UTC)"},
        {"timestamp(us, CET)",
         "bad type 'timestamp(us, CET)': write timestamp(ms|us|ns) or timestamp(us, UTC)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        st_type_t x;
        assert_int_equal(st_type_parse(bad[i].text, &x), ST_EINVAL);
        assert_string_equal(st_errmsg(), bad[i].msg);
    }
}

static void test_type_widths(void **state) {
    (void)state;
    struct {
        const char *type;
        int width;
        bool varlen;
    } cases[] = {{"bool", 0, false},     {"int8", 1, false},     {"uint16", 2, false},
                 {"int32", 4, false},    {"float", 4, false},    {"date", 4, false},
                 {"time(ms)", 4, false}, {"time(us)", 8, false}, {"timestamp(ms)", 8, false},
                 {"double", 8, false},   {"uint64", 8, false},   {"decimal(5,2)", 16, false},
                 {"uuid", 16, false},    {"fixed(7)", 7, false}, {"string", 0, true},
                 {"binary", 0, true},    {"json", 0, true}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        st_type_t t = type_of(cases[i].type);
        assert_int_equal(st_type_value_width(&t), cases[i].width);
        assert_int_equal(st_type_is_varlen(&t), cases[i].varlen);
    }
}

static void test_validity_materialises(void **state) {
    (void)state;
    st_batch_t *b = one_col("int32");
    st_column_t *c = &b->cols[0];
    for (int i = 0; i < 10; i++) {
        assert_int_equal(st_col_append_i64(c, i), 0);
        assert_int_equal(st_batch_end_row(b), 0);
    }
    assert_int_equal(c->validity.len, 0);
    assert_false(st_col_is_null(c, 9));
    assert_int_equal(st_col_append_null(c), 0);
    assert_int_equal(st_batch_end_row(b), 0);
    /* 10 valid rows then a null: bits 0..9 set, bit 10 clear. */
    assert_int_equal(c->validity.len, 2);
    assert_int_equal(c->validity.data[0], 0xff);
    assert_int_equal(c->validity.data[1], 0x03);
    assert_int_equal(c->null_count, 1);
    assert_int_equal(st_col_append_i64(c, 77), 0);
    assert_int_equal(st_batch_end_row(b), 0);
    assert_int_equal(c->validity.data[1], 0x0b);
    assert_true(st_col_is_null(c, 10));
    assert_false(st_col_is_null(c, 11));
    /* Null slots still occupy their width (zeros). */
    assert_int_equal(c->values.len, 12 * 4);
    assert_int_equal(st_col_get_i64(c, 10), 0);
    assert_int_equal(st_col_get_i64(c, 11), 77);
    assert_string_equal(json_at(c, 10), "null");
    assert_string_equal(json_at(c, 11), "77");
    assert_int_equal(b->nrows, 12);

    /* A null as the very first value. */
    st_batch_clear(b);
    assert_int_equal(b->nrows, 0);
    assert_int_equal(c->length, 0);
    assert_int_equal(c->validity.len, 0);
    assert_int_equal(c->null_count, 0);
    assert_int_equal(st_col_append_null(c), 0);
    assert_int_equal(c->validity.len, 1);
    assert_int_equal(c->validity.data[0], 0x00);
    assert_int_equal(st_col_append_i64(c, 5), 0);
    assert_int_equal(c->validity.data[0], 0x02);
    st_batch_free(b);
}

static void test_bool_bits(void **state) {
    (void)state;
    st_batch_t *b = one_col("bool");
    st_column_t *c = &b->cols[0];
    bool pattern[] = {true, false, true, true, false, false, false, true, true};
    for (size_t i = 0; i < 9; i++) {
        assert_int_equal(st_col_append_bool(c, pattern[i]), 0);
        assert_int_equal(st_batch_end_row(b), 0);
    }
    assert_int_equal(c->values.len, 2);
    assert_int_equal(c->values.data[0], 0x8d);
    assert_int_equal(c->values.data[1], 0x01);
    for (size_t i = 0; i < 9; i++)
        assert_int_equal(st_col_get_bool(c, (int64_t)i), pattern[i]);
    assert_int_equal(st_col_append_null(c), 0);
    assert_int_equal(st_batch_end_row(b), 0);
    assert_string_equal(json_at(c, 0), "true");
    assert_string_equal(json_at(c, 1), "false");
    assert_string_equal(json_at(c, 9), "null");
    assert_int_equal(st_col_append_i64(c, 1), ST_ETYPE);
    assert_string_equal(st_errmsg(), "column 'v' (bool) does not take an integer");
    st_batch_free(b);
}

static void test_integers(void **state) {
    (void)state;
    struct {
        const char *type;
        int64_t lo;
        uint64_t hi;
        const char *lo_text, *hi_text;
    } cases[] = {
        {"int8", -128, 127, "-128", "127"},
        {"int16", -32768, 32767, "-32768", "32767"},
        {"int32", INT32_MIN, INT32_MAX, "-2147483648", "2147483647"},
        {"int64", INT64_MIN, INT64_MAX, "-9223372036854775808", "9223372036854775807"},
        {"uint8", 0, 255, "0", "255"},
        {"uint16", 0, 65535, "0", "65535"},
        {"uint32", 0, UINT32_MAX, "0", "4294967295"},
        {"uint64", 0, UINT64_MAX, "0", "18446744073709551615"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        st_batch_t *b = one_col(cases[k].type);
        st_column_t *c = &b->cols[0];
        assert_int_equal(st_col_append_i64(c, cases[k].lo), 0);
        assert_int_equal(st_col_append_u64(c, cases[k].hi), 0);
        assert_string_equal(json_at(c, 0), cases[k].lo_text);
        assert_string_equal(json_at(c, 1), cases[k].hi_text);
        if (c->field.type.id >= ST_TYPE_UINT8) {
            assert_int_equal(st_col_get_u64(c, 1), cases[k].hi);
            assert_int_equal(st_col_append_i64(c, -1), ST_ETYPE);
        } else {
            assert_int_equal(st_col_get_i64(c, 0), cases[k].lo);
            assert_int_equal(st_col_get_i64(c, 1), (int64_t)cases[k].hi);
        }
        if (cases[k].hi < UINT64_MAX) {
            assert_int_equal(st_col_append_u64(c, cases[k].hi + 1), ST_ETYPE);
            assert_non_null(strstr(st_errmsg(), "is out of range for"));
        }
        if (cases[k].lo > INT64_MIN && cases[k].lo < 0)
            assert_int_equal(st_col_append_i64(c, cases[k].lo - 1), ST_ETYPE);
        /* Failed appends leave nothing behind. */
        assert_int_equal(c->length, 2);
        assert_int_equal(c->values.len, 2 * (size_t)st_type_value_width(&c->field.type));
        st_batch_free(b);
    }
    st_batch_t *b = one_col("int8");
    assert_int_equal(st_col_append_i64(&b->cols[0], 200), ST_ETYPE);
    assert_string_equal(st_errmsg(), "column 'v': 200 is out of range for int8");
    assert_int_equal(st_col_append_double(&b->cols[0], 1.0), ST_ETYPE);
    assert_int_equal(st_col_append_bytes(&b->cols[0], "x", 1), ST_ETYPE);
    st_batch_free(b);
}

static void test_floats(void **state) {
    (void)state;
    st_batch_t *b = one_col("double");
    st_column_t *c = &b->cols[0];
    double vals[] = {1.1, 100, 1e21, 1.5e-7, -0.0, NAN, INFINITY, -INFINITY, 0.000001};
    const char *want[] = {"1.1",     "100",          "1e+21",         "1.5e-7",  "-0",
                          "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "0.000001"};
    for (size_t i = 0; i < 9; i++)
        assert_int_equal(st_col_append_double(c, vals[i]), 0);
    for (size_t i = 0; i < 9; i++)
        assert_string_equal(json_at(c, (int64_t)i), want[i]);
    assert_true(st_col_get_double(c, 0) == 1.1);
    st_batch_free(b);

    b = one_col("float");
    c = &b->cols[0];
    assert_int_equal(st_col_append_double(c, 1.1), 0);
    assert_int_equal(st_col_append_double(c, 3.4028234663852886e38), 0);
    assert_int_equal(st_col_append_double(c, 3.4028235e38), 0); /* rounds to FLT_MAX */
    assert_int_equal(st_col_append_double(c, 1e39), ST_ETYPE);
    assert_int_equal(st_col_append_double(c, INFINITY), 0);
    assert_string_equal(json_at(c, 0), "1.1");
    assert_string_equal(json_at(c, 1), "3.4028235e+38");
    assert_string_equal(json_at(c, 2), "3.4028235e+38");
    assert_string_equal(json_at(c, 3), "\"Infinity\"");
    assert_true(st_col_get_double(c, 0) == (double)1.1f);
    assert_int_equal(c->values.len, 16);
    st_batch_free(b);
}

static void test_strings_and_binary(void **state) {
    (void)state;
    st_field_t fields[3] = {{"s", type_of("string"), true},
                            {"b", type_of("binary"), true},
                            {"j", type_of("json"), true}};
    st_batch_t *b;
    assert_int_equal(st_batch_new(fields, 3, &b), 0);
    /* Offsets start with a single 0 before any row. */
    assert_int_equal(b->cols[0].offsets.len, 4);
    const char *s[] = {"héllo", "", "q\"\\\n\x01/", NULL, "end"};
    for (int i = 0; i < 5; i++) {
        if (s[i]) {
            assert_int_equal(st_col_append_bytes(&b->cols[0], s[i], strlen(s[i])), 0);
            assert_int_equal(st_col_append_bytes(&b->cols[1], s[i], strlen(s[i])), 0);
            assert_int_equal(st_col_append_bytes(&b->cols[2], "{\"a\":1}", 7), 0);
        } else {
            for (int k = 0; k < 3; k++)
                assert_int_equal(st_col_append_null(&b->cols[k]), 0);
        }
        assert_int_equal(st_batch_end_row(b), 0);
    }
    const st_column_t *c = &b->cols[0];
    int32_t off[6];
    assert_int_equal(c->offsets.len, sizeof off);
    memcpy(off, c->offsets.data, sizeof off);
    int32_t want_off[6] = {0, 6, 6, 12, 12, 15};
    assert_memory_equal(off, want_off, sizeof off);
    size_t n;
    const uint8_t *p = st_col_get_bytes(c, 2, &n);
    assert_int_equal(n, 6);
    assert_memory_equal(p, "q\"\\\n\x01/", 6);
    assert_string_equal(json_at(c, 0), "\"héllo\"");
    assert_string_equal(json_at(c, 1), "\"\"");
    assert_string_equal(json_at(c, 2), "\"q\\\"\\\\\\n\\u0001/\"");
    assert_string_equal(json_at(c, 3), "null");
    assert_string_equal(json_at(&b->cols[1], 0), "\"68c3a96c6c6f\"");
    assert_string_equal(json_at(&b->cols[1], 1), "\"\"");
    assert_string_equal(json_at(&b->cols[2], 0), "\"{\\\"a\\\":1}\"");
    assert_true(st_batch_bytes(b) > 0);
    assert_int_equal(st_batch_column_index(b, "j"), 2);
    assert_int_equal(st_batch_column_index(b, "nope"), -1);

    /* Clearing keeps one 0 offset. */
    st_batch_clear(b);
    assert_int_equal(b->cols[0].offsets.len, 4);
    assert_int_equal(b->cols[0].values.len, 0);
    assert_int_equal(st_col_append_bytes(&b->cols[0], "x", 1), 0);
    memcpy(off, b->cols[0].offsets.data, 8);
    assert_int_equal(off[0], 0);
    assert_int_equal(off[1], 1);
    st_batch_free(b);
}

static void test_fixed_uuid(void **state) {
    (void)state;
    st_field_t fields[2] = {{"f", type_of("fixed(3)"), true}, {"u", type_of("uuid"), false}};
    st_batch_t *b;
    assert_int_equal(st_batch_new(fields, 2, &b), 0);
    uint8_t u[16];
    assert_int_equal(st_uuid_parse("123e4567-e89b-12d3-a456-426614174000", u), 0);
    assert_int_equal(st_col_append_bytes(&b->cols[0], "\x00\xab\xff", 3), 0);
    assert_int_equal(st_col_append_bytes(&b->cols[1], u, 16), 0);
    assert_int_equal(st_batch_end_row(b), 0);
    assert_int_equal(st_col_append_null(&b->cols[0]), 0);
    assert_int_equal(st_col_append_null(&b->cols[1]), 0);
    assert_int_equal(st_batch_end_row(b), 0);
    assert_string_equal(json_at(&b->cols[0], 0), "\"00abff\"");
    assert_string_equal(json_at(&b->cols[1], 0), "\"123e4567-e89b-12d3-a456-426614174000\"");
    assert_string_equal(json_at(&b->cols[1], 1), "null");
    assert_int_equal(b->cols[0].values.len, 6);
    assert_int_equal(b->cols[1].values.len, 32);
    assert_int_equal(st_col_append_bytes(&b->cols[0], "ab", 2), ST_ETYPE);
    assert_string_equal(st_errmsg(), "column 'f' (fixed(3)): value has 2 bytes, expected 3");
    assert_int_equal(st_col_append_bytes(&b->cols[1], u, 15), ST_ETYPE);
    assert_false(b->cols[1].field.nullable);
    st_batch_free(b);
}

static void dec_le(int64_t hi, uint64_t lo, uint8_t le[16]) {
    memcpy(le, &lo, 8);
    memcpy(le + 8, &hi, 8);
}

static void test_decimals(void **state) {
    (void)state;
    st_batch_t *b = one_col("decimal(5,2)");
    st_column_t *c = &b->cols[0];
    assert_int_equal(st_col_append_i64(c, -5), 0);
    assert_int_equal(st_col_append_i64(c, 12345), 0);
    assert_int_equal(st_col_append_i64(c, -99999), 0);
    assert_int_equal(st_col_append_i64(c, 0), 0);
    assert_int_equal(st_col_append_u64(c, 100), 0);
    assert_int_equal(st_col_append_i64(c, 100000), ST_ETYPE);
    assert_string_equal(st_errmsg(), "column 'v': 100000 is out of range for decimal(5,2)");
    assert_string_equal(json_at(c, 0), "\"-0.05\"");
    assert_string_equal(json_at(c, 1), "\"123.45\"");
    assert_string_equal(json_at(c, 2), "\"-999.99\"");
    assert_string_equal(json_at(c, 3), "\"0.00\"");
    assert_string_equal(json_at(c, 4), "\"1.00\"");
    size_t n;
    const uint8_t *p = st_col_get_bytes(c, 0, &n);
    assert_int_equal(n, 16);
    uint8_t want[16];
    dec_le(-1, (uint64_t)-5, want);
    assert_memory_equal(p, want, 16);
    st_batch_free(b);

    b = one_col("decimal(38,0)");
    c = &b->cols[0];
    /* 10^38 - 1 = 0x4B3B4CA85A86C47A098A223FFFFFFFFF */
    uint8_t le[16];
    dec_le(0x4B3B4CA85A86C47ALL, 0x098A223FFFFFFFFFULL, le);
    assert_int_equal(st_col_append_decimal128(c, le), 0);
    dec_le(0x4B3B4CA85A86C47ALL, 0x098A224000000000ULL, le); /* 10^38 */
    assert_int_equal(st_col_append_decimal128(c, le), ST_ETYPE);
    assert_string_equal(json_at(c, 0), "\"99999999999999999999999999999999999999\"");
    st_batch_free(b);

    b = one_col("decimal(38,38)");
    c = &b->cols[0];
    dec_le(-1, (uint64_t)-1, le);
    assert_int_equal(st_col_append_decimal128(c, le), 0);
    assert_string_equal(json_at(c, 0), "\"-0.00000000000000000000000000000000000001\"");
    st_batch_free(b);
}

static void test_temporal(void **state) {
    (void)state;
    st_field_t fields[5] = {{"d", type_of("date"), true},
                            {"t", type_of("time(ms)"), true},
                            {"tn", type_of("time(ns)"), true},
                            {"ts", type_of("timestamp(ms)"), true},
                            {"tz", type_of("timestamp(us, UTC)"), true}};
    st_batch_t *b;
    assert_int_equal(st_batch_new(fields, 5, &b), 0);
    assert_int_equal(st_col_append_i64(&b->cols[0], 19844), 0);
    assert_int_equal(st_col_append_i64(&b->cols[1], 45296789), 0);
    assert_int_equal(st_col_append_i64(&b->cols[2], 1), 0);
    assert_int_equal(st_col_append_i64(&b->cols[3], -1), 0);
    assert_int_equal(st_col_append_i64(&b->cols[4], 1714557600123456), 0);
    assert_int_equal(st_batch_end_row(b), 0);
    assert_string_equal(json_at(&b->cols[0], 0), "\"2024-05-01\"");
    assert_string_equal(json_at(&b->cols[1], 0), "\"12:34:56.789\"");
    assert_string_equal(json_at(&b->cols[2], 0), "\"00:00:00.000000001\"");
    assert_string_equal(json_at(&b->cols[3], 0), "\"1969-12-31T23:59:59.999\"");
    assert_string_equal(json_at(&b->cols[4], 0), "\"2024-05-01T10:00:00.123456Z\"");
    assert_int_equal(b->cols[1].values.len, 4);
    assert_int_equal(b->cols[2].values.len, 8);
    assert_int_equal(st_col_get_i64(&b->cols[3], 0), -1);
    assert_int_equal(st_col_append_i64(&b->cols[0], (int64_t)INT32_MAX + 1), ST_ETYPE);
    st_batch_free(b);
}

static void test_end_row_checks(void **state) {
    (void)state;
    st_field_t fields[2] = {{"a", type_of("int32"), true}, {"b", type_of("string"), true}};
    st_batch_t *b;
    assert_int_equal(st_batch_new(fields, 2, &b), 0);
    assert_int_equal(st_col_append_i64(&b->cols[0], 1), 0);
    assert_int_equal(st_batch_end_row(b), ST_EINVAL);
    assert_string_equal(st_errmsg(), "column 'b' has 0 values, row 0 needs 1");
    assert_int_equal(st_col_append_null(&b->cols[1]), 0);
    assert_int_equal(st_batch_end_row(b), 0);
    assert_int_equal(b->nrows, 1);
    st_batch_free(b);
    st_batch_free(NULL);
    assert_int_equal(st_batch_new(NULL, 0, &b), 0);
    assert_int_equal(b->ncols, 0);
    st_batch_free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_parse_format),
        cmocka_unit_test(test_type_widths),
        cmocka_unit_test(test_validity_materialises),
        cmocka_unit_test(test_bool_bits),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_strings_and_binary),
        cmocka_unit_test(test_fixed_uuid),
        cmocka_unit_test(test_decimals),
        cmocka_unit_test(test_temporal),
        cmocka_unit_test(test_end_row_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
