/* Unit tests of the core layer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/core.h"

static void test_errors(void **state) {
    (void)state;
    assert_int_equal(st_error(ST_ECORRUPT, "%s: bad magic", "x.parquet"), ST_ECORRUPT);
    assert_string_equal(st_errmsg(), "x.parquet: bad magic");
    st_error_prefix(ST_ECORRUPT, "file://%s", "a");
    assert_string_equal(st_errmsg(), "file://a: x.parquet: bad magic");
    assert_string_equal(st_strerror(ST_ECONFLICT), "ST_ECONFLICT");
    assert_int_equal(st_exit_code(ST_OK), 0);
    assert_int_equal(st_exit_code(ST_EINVAL), 1);
    assert_int_equal(st_exit_code(ST_ENOTFOUND), 2);
    assert_int_equal(st_exit_code(ST_ECONFLICT), 3);
    assert_int_equal(st_exit_code(ST_EVALIDATION), 4);
    assert_int_equal(st_exit_code(ST_EIO), 5);
    assert_int_equal(st_exit_code(ST_EAUTH), 6);
    st_error_clear();
    assert_string_equal(st_errmsg(), "");
}

static void test_buf(void **state) {
    (void)state;
    st_buf_t b = ST_BUF_INIT;
    for (int i = 0; i < 1000; i++) assert_int_equal(st_buf_printf(&b, "%d,", i), 0);
    assert_memory_equal(b.data, "0,1,2,", 6);
    size_t before = b.len;
    assert_int_equal(st_buf_append_zeros(&b, 10), 0);
    assert_int_equal(b.len, before + 10);
    assert_int_equal(b.data[before + 9], 0);
    size_t n;
    uint8_t *p = st_buf_detach(&b, &n);
    assert_int_equal(n, before + 10);
    assert_null(b.data);
    free(p);
    st_buf_free(&b);
}

static void test_sha256(void **state) {
    (void)state;
    char hex[65];
    st_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    st_sha256_ctx_t *ctx;
    assert_int_equal(st_sha256_begin(&ctx), 0);
    st_sha256_update(ctx, "a", 1);
    st_sha256_update(ctx, "bc", 2);
    uint8_t d[32];
    st_sha256_end(ctx, d);
    st_hex(d, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_uuid(void **state) {
    (void)state;
    uint8_t u[16], v[16];
    char s[37];
    assert_int_equal(st_uuid_v4(u), 0);
    assert_int_equal(u[6] >> 4, 4);
    assert_int_equal(u[8] & 0xc0, 0x80);
    st_uuid_format(u, s);
    assert_int_equal(strlen(s), 36);
    assert_int_equal(st_uuid_parse(s, v), 0);
    assert_memory_equal(u, v, 16);
    assert_int_equal(st_uuid_parse("8E2B6C1A-1111-4222-8333-444455556666", v), 0);
    st_uuid_format(v, s);
    assert_string_equal(s, "8e2b6c1a-1111-4222-8333-444455556666");
    assert_int_equal(st_uuid_parse("8e2b6c1a-1111-4222-8333-44445555666", v), ST_EINVAL);
    assert_int_equal(st_uuid_parse("8e2b6c1a-1111-4222-8333-4444555566667", v), ST_EINVAL);
    assert_int_equal(st_uuid_parse("8e2b6c1a11111-4222-8333-444455556666", v), ST_EINVAL);
    assert_int_equal(st_uuid_parse("8e2b6c1g-1111-4222-8333-444455556666", v), ST_EINVAL);
}

static void test_time_format(void **state) {
    (void)state;
    char s[64];
    st_format_timestamp(-1, 3, false, s, sizeof s);
    assert_string_equal(s, "1969-12-31T23:59:59.999");
    st_format_timestamp(1, 9, false, s, sizeof s);
    assert_string_equal(s, "1970-01-01T00:00:00.000000001");
    st_format_timestamp(1714557600123456LL, 6, true, s, sizeof s);
    assert_string_equal(s, "2024-05-01T10:00:00.123456Z");
    st_format_date(st_days_from_civil(290000, 12, 31), s, sizeof s);
    assert_string_equal(s, "290000-12-31");
    st_format_date(st_days_from_civil(-1, 12, 31), s, sizeof s);
    assert_string_equal(s, "-0001-12-31");
    st_format_date(st_days_from_civil(0, 1, 1), s, sizeof s);
    assert_string_equal(s, "0000-01-01");
    st_format_time(3600123, 3, s, sizeof s);
    assert_string_equal(s, "01:00:00.123");
    /* Every day of four centuries round-trips. */
    for (int64_t d = -146097 * 2; d < 146097 * 2; d += 7) {
        int64_t y;
        unsigned m, dd;
        st_civil_from_days(d, &y, &m, &dd);
        assert_int_equal(st_days_from_civil(y, m, dd), d);
    }
}

static void test_time_parse(void **state) {
    (void)state;
    int64_t v;
    int32_t days;
    assert_int_equal(st_parse_timestamp("2024-05-01T10:00:00.123456Z", 6, &v), 0);
    assert_int_equal(v, 1714557600123456LL);
    assert_int_equal(st_parse_timestamp("2024-05-01 12:00:00.123456+02:00", 6, &v), 0);
    assert_int_equal(v, 1714557600123456LL);
    assert_int_equal(st_parse_timestamp("2024-05-01T05:30:00-0430", 3, &v), 0);
    assert_int_equal(v, 1714557600000LL);
    assert_int_equal(st_parse_timestamp("2024-05-01", 6, &v), 0);
    assert_int_equal(v, 1714521600000000LL);
    assert_int_equal(st_parse_timestamp("2024-02-30T00:00:00", 6, &v), ST_ETYPE);
    assert_int_equal(st_parse_timestamp("2023-02-29", 6, &v), ST_ETYPE);
    assert_int_equal(st_parse_timestamp("2024-05-01T25:00:00", 6, &v), ST_ETYPE);
    assert_int_equal(st_parse_timestamp("yesterday", 6, &v), ST_ETYPE);
    assert_int_equal(st_parse_timestamp("3000-01-01", 9, &v), ST_ETYPE); /* beyond int64 ns */
    assert_non_null(strstr(st_errmsg(), "out of range"));
    assert_int_equal(st_parse_date("1969-12-31", &days), 0);
    assert_int_equal(days, -1);
    assert_int_equal(st_parse_date("1969-12-31x", &days), ST_ETYPE);
    assert_int_equal(st_parse_time("23:59:59.5", 3, &v), 0);
    assert_int_equal(v, 86399500);
}

static void check_double(double v, const char *want) {
    char s[32];
    st_format_double(v, s);
    assert_string_equal(s, want);
}

static void test_numbers(void **state) {
    (void)state;
    check_double(1.1, "1.1");
    check_double(100, "100");
    check_double(1e21, "1e+21");
    check_double(1e20, "100000000000000000000");
    check_double(1.5e-7, "1.5e-7");
    check_double(0.000001, "0.000001");
    check_double(-0.0, "-0");
    check_double(0.1 + 0.2, "0.30000000000000004");
    check_double(NAN, "NaN");
    check_double(-INFINITY, "-Infinity");
    check_double(5e-324, "5e-324");
    check_double(1.7976931348623157e308, "1.7976931348623157e+308");
    char s[32];
    st_format_float(1.1f, s);
    assert_string_equal(s, "1.1");
    st_format_float(3.4028235e38f, s);
    assert_string_equal(s, "3.4028235e+38");
    /* Shortest form always reads back. */
    srand(7);
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
        double d;
        memcpy(&d, &bits, sizeof d);
        if (isnan(d) || isinf(d)) continue;
        st_format_double(d, s);
        assert_true(strtod(s, NULL) == d);
    }
}

static void test_json_string(void **state) {
    (void)state;
    st_buf_t b = ST_BUF_INIT;
    const char in[] = "a\"b\\c\n\t\x01/\x7f\xc3\xa9";
    assert_int_equal(st_json_append_string(&b, in, sizeof in - 1), 0);
    assert_int_equal(st_buf_append_byte(&b, 0), 0);
    assert_string_equal((char *)b.data, "\"a\\\"b\\\\c\\n\\t\\u0001/\x7f\xc3\xa9\"");
    st_buf_free(&b);
}

static void test_keys(void **state) {
    (void)state;
    assert_int_equal(st_key_validate("datasets/bh/a.parquet"), 0);
    assert_int_equal(st_key_validate("records/x/log/00000001.json"), 0);
    const char *bad[] = {"", "/abs", "a//b", "a/../b", "..", "./a", "a/", "a\nb", "a\\b", "a\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(st_key_validate(bad[i]), ST_EINVAL);
    assert_int_equal(st_key_validate("bad\xc3("), ST_EINVAL);
    char *longk = malloc(ST_KEY_MAX + 2);
    memset(longk, 'a', ST_KEY_MAX + 1);
    longk[ST_KEY_MAX + 1] = 0;
    assert_int_equal(st_key_validate(longk), ST_EINVAL);
    longk[ST_KEY_MAX] = 0;
    assert_int_equal(st_key_validate(longk), 0);
    free(longk);
    assert_true(st_utf8_valid((const uint8_t *)"\xe2\x82\xac", 3));
    assert_false(st_utf8_valid((const uint8_t *)"\xc0\xaf", 2));       /* overlong */
    assert_false(st_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));   /* surrogate */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),      cmocka_unit_test(test_buf),
        cmocka_unit_test(test_sha256),      cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_time_format), cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_numbers),     cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
