/* SigV4 against AWS's published S3 examples, and the canonical-form rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/s3_sign.h"

/* The credentials and time of the examples in AWS's "Signature Calculations
 * for the Authorization Header" page of the S3 API reference. */
#define EX_AK "AKIAIOSFODNN7EXAMPLE"
#define EX_SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EX_DATE "20130524T000000Z"
#define EX_HOST "examplebucket.s3.amazonaws.com"

static s3_sign_req_t example(const char *method, const char *path, const s3_kv_t *q, int nq,
                             const s3_kv_t *h, int nh, const char *payload) {
    s3_sign_req_t r = {.method = method,
                       .path = path,
                       .query = q,
                       .nquery = nq,
                       .headers = h,
                       .nheaders = nh,
                       .payload_hash = payload,
                       .amz_date = EX_DATE,
                       .region = "us-east-1",
                       .service = "s3",
                       .access_key = EX_AK,
                       .secret_key = EX_SK};
    return r;
}

static void assert_auth(const s3_sign_req_t *r, const char *signed_headers, const char *sig) {
    st_buf_t a = ST_BUF_INIT;
    assert_int_equal(s3_authorization(r, &a), 0);
    char want[512];
    snprintf(want, sizeof want,
             "AWS4-HMAC-SHA256 Credential=" EX_AK "/20130524/us-east-1/s3/aws4_request,"
             "SignedHeaders=%s,Signature=%s",
             signed_headers, sig);
    assert_string_equal((const char *)a.data, want);
    st_buf_free(&a);
}

static void test_get_object_example(void **state) {
    (void)state;
    s3_kv_t h[] = {{"Host", EX_HOST},
                   {"Range", "bytes=0-9"},
                   {"x-amz-content-sha256", S3_EMPTY_SHA256},
                   {"x-amz-date", EX_DATE}};
    s3_sign_req_t r = example("GET", "/test.txt", NULL, 0, h, 4, S3_EMPTY_SHA256);
    st_buf_t c = ST_BUF_INIT, sh = ST_BUF_INIT, sts = ST_BUF_INIT;
    assert_int_equal(s3_canonical_request(&r, &c, &sh), 0);
    const char *want = "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
                       "x-amz-content-sha256:" S3_EMPTY_SHA256 "\nx-amz-date:20130524T000000Z\n\n"
                       "host;range;x-amz-content-sha256;x-amz-date\n" S3_EMPTY_SHA256;
    assert_int_equal(c.len, strlen(want));
    assert_memory_equal(c.data, want, c.len);
    assert_string_equal((const char *)sh.data, "host;range;x-amz-content-sha256;x-amz-date");
    assert_int_equal(s3_string_to_sign(&r, (const char *)c.data, c.len, &sts), 0);
    assert_string_equal((const char *)sts.data,
                        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    assert_auth(&r, "host;range;x-amz-content-sha256;x-amz-date",
                "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    st_buf_free(&c);
    st_buf_free(&sh);
    st_buf_free(&sts);
}

static void test_put_object_example(void **state) {
    (void)state;
    char payload[65];
    st_sha256_hex("Welcome to Amazon S3.", 21, payload);
    assert_string_equal(payload,
                        "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    /* Header order and case differ from the canonical form on purpose. */
    s3_kv_t h[] = {{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                   {"Host", EX_HOST},
                   {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                   {"X-Amz-Date", EX_DATE},
                   {"x-amz-content-sha256", payload}};
    s3_sign_req_t r = example("PUT", "/test$file.text", NULL, 0, h, 5, payload);
    st_buf_t c = ST_BUF_INIT, sh = ST_BUF_INIT;
    assert_int_equal(s3_canonical_request(&r, &c, &sh), 0);
    assert_non_null(strstr((const char *)c.data, "PUT\n/test%24file.text\n\n"));
    st_buf_free(&c);
    st_buf_free(&sh);
    assert_auth(&r, "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

static void test_get_lifecycle_example(void **state) {
    (void)state;
    s3_kv_t q[] = {{"lifecycle", ""}};
    s3_kv_t h[] = {
        {"Host", EX_HOST}, {"x-amz-date", EX_DATE}, {"x-amz-content-sha256", S3_EMPTY_SHA256}};
    s3_sign_req_t r = example("GET", "/", q, 1, h, 3, S3_EMPTY_SHA256);
    assert_auth(&r, "host;x-amz-content-sha256;x-amz-date",
                "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

static void test_list_objects_example(void **state) {
    (void)state;
    /* Given out of order: the canonical query sorts them. */
    s3_kv_t q[] = {{"prefix", "J"}, {"max-keys", "2"}};
    s3_kv_t h[] = {
        {"Host", EX_HOST}, {"x-amz-date", EX_DATE}, {"x-amz-content-sha256", S3_EMPTY_SHA256}};
    s3_sign_req_t r = example("GET", "/", q, 2, h, 3, S3_EMPTY_SHA256);
    assert_auth(&r, "host;x-amz-content-sha256;x-amz-date",
                "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

static void test_signing_key_example(void **state) {
    (void)state;
    /* AWS's key-derivation example (IAM, 2012-02-15). */
    uint8_t k[32];
    char hex[65];
    s3_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam", k);
    st_hex(k, 32, hex);
    assert_string_equal(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

static char *enc(const char *s, bool keep_slash) {
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(s3_uri_encode(&b, s, strlen(s), keep_slash), 0);
    assert_int_equal(st_buf_append_byte(&b, 0), 0);
    return (char *)b.data;
}

static void check_enc(const char *in, bool keep, const char *want) {
    char *got = enc(in, keep);
    assert_string_equal(got, want);
    free(got);
}

static void test_uri_encode(void **state) {
    (void)state;
    check_enc("AZaz09-_.~", false, "AZaz09-_.~");
    check_enc("a b", false, "a%20b");
    check_enc("a+b=c&d", false, "a%2Bb%3Dc%26d");
    check_enc("a/b", false, "a%2Fb");
    check_enc("/bucket/a b/c", true, "/bucket/a%20b/c");
    check_enc("*!'()$,;:@", true, "%2A%21%27%28%29%24%2C%3B%3A%40");
    check_enc("caf\xc3\xa9", true, "caf%C3%A9"); /* UTF-8 bytes, uppercase hex */
    check_enc("%41", false, "%2541");            /* no double decoding */
    check_enc("", false, "");
}

static void test_canonical_query(void **state) {
    (void)state;
    st_buf_t b = ST_BUF_INIT;
    s3_kv_t q[] = {{"uploadId", "a/b+c"},
                   {"partNumber", "10"},
                   {"uploads", ""},
                   {"a", "2"},
                   {"a", "1"},
                   {"continuation-token", "x y=="}};
    assert_int_equal(s3_canonical_query(&b, q, 6), 0);
    assert_int_equal(st_buf_append_byte(&b, 0), 0);
    /* Sorted by encoded name then value; flags get "="; '/' and '+' are
     * encoded in query values. */
    assert_string_equal((const char *)b.data, "a=1&a=2&continuation-token=x%20y%3D%3D&partNumber=10"
                                              "&uploadId=a%2Fb%2Bc&uploads=");
    st_buf_free(&b);
    /* Byte order, not case-insensitive: uppercase sorts first. */
    s3_kv_t q2[] = {{"b", "1"}, {"B", "1"}, {"a b", "1"}};
    assert_int_equal(s3_canonical_query(&b, q2, 3), 0);
    assert_int_equal(st_buf_append_byte(&b, 0), 0);
    assert_string_equal((const char *)b.data, "B=1&a%20b=1&b=1");
    st_buf_free(&b);
}

static void test_canonical_headers(void **state) {
    (void)state;
    s3_kv_t h[] = {{"X-Amz-Meta-Note", "  two   spaces\tand tab  "},
                   {"host", "127.0.0.1:8000"},
                   {"x-amz-meta-empty", ""},
                   {"Content-Type", "text/plain"}};
    s3_kv_t q[] = {{"uploads", ""}};
    s3_sign_req_t r = {.method = "POST",
                       .path = "/bkt/dir/a b.parquet",
                       .query = q,
                       .nquery = 1,
                       .headers = h,
                       .nheaders = 4,
                       .payload_hash = S3_UNSIGNED_PAYLOAD,
                       .amz_date = "20240101T120000Z",
                       .region = "us-east-1",
                       .service = "s3",
                       .access_key = "K",
                       .secret_key = "S"};
    st_buf_t c = ST_BUF_INIT, sh = ST_BUF_INIT;
    assert_int_equal(s3_canonical_request(&r, &c, &sh), 0);
    assert_int_equal(st_buf_append_byte(&c, 0), 0);
    assert_string_equal((const char *)c.data,
                        "POST\n/bkt/dir/a%20b.parquet\nuploads=\n"
                        "content-type:text/plain\nhost:127.0.0.1:8000\nx-amz-meta-empty:\n"
                        "x-amz-meta-note:two spaces and tab\n\n"
                        "content-type;host;x-amz-meta-empty;x-amz-meta-note\nUNSIGNED-PAYLOAD");
    st_buf_free(&c);
    st_buf_free(&sh);
}

static void test_signature_depends_on_everything(void **state) {
    (void)state;
    s3_kv_t h[] = {{"host", "h"}, {"x-amz-date", "20240101T120000Z"}};
    s3_sign_req_t r = {.method = "GET",
                       .path = "/b/k",
                       .headers = h,
                       .nheaders = 2,
                       .payload_hash = S3_EMPTY_SHA256,
                       .amz_date = "20240101T120000Z",
                       .region = "us-east-1",
                       .service = "s3",
                       .access_key = "K",
                       .secret_key = "S"};
    st_buf_t base = ST_BUF_INIT;
    assert_int_equal(s3_authorization(&r, &base), 0);
    s3_sign_req_t v[5] = {r, r, r, r, r};
    v[0].path = "/b/k2";
    v[1].secret_key = "S2";
    v[2].region = "eu-west-1";
    v[3].payload_hash = S3_UNSIGNED_PAYLOAD;
    v[4].method = "HEAD";
    for (int i = 0; i < 5; i++) {
        st_buf_t a = ST_BUF_INIT;
        assert_int_equal(s3_authorization(&v[i], &a), 0);
        const char *sa = strstr((const char *)a.data, "Signature=");
        const char *sb = strstr((const char *)base.data, "Signature=");
        assert_non_null(sa);
        assert_string_not_equal(sa, sb);
        st_buf_free(&a);
    }
    st_buf_free(&base);
    /* A malformed date is refused rather than signed. */
    s3_sign_req_t bad = r;
    bad.amz_date = "2024";
    st_buf_t a = ST_BUF_INIT;
    assert_int_equal(s3_authorization(&bad, &a), ST_EINVAL);
    st_buf_free(&a);
}

static void test_amz_date_and_base64(void **state) {
    (void)state;
    char d[17];
    s3_amz_date(1369353600, d); /* 2013-05-24T00:00:00Z */
    assert_string_equal(d, EX_DATE);
    s3_amz_date(951782400 + 86399, d); /* 2000-02-29T23:59:59Z */
    assert_string_equal(d, "20000229T235959Z");
    char b64[64];
    /* Content-MD5 of an empty body. */
    static const uint8_t md5_empty[16] = {0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04,
                                          0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e};
    s3_base64(md5_empty, 16, b64);
    assert_string_equal(b64, "1B2M2Y8AsgTpgAmY7PhCfg==");
    s3_base64((const uint8_t *)"ab", 2, b64);
    assert_string_equal(b64, "YWI=");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_object_example),
        cmocka_unit_test(test_put_object_example),
        cmocka_unit_test(test_get_lifecycle_example),
        cmocka_unit_test(test_list_objects_example),
        cmocka_unit_test(test_signing_key_example),
        cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_canonical_query),
        cmocka_unit_test(test_canonical_headers),
        cmocka_unit_test(test_signature_depends_on_everything),
        cmocka_unit_test(test_amz_date_and_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
