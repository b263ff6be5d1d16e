/* Parsing of S3 XML responses, including hostile and truncated documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/s3_xml.h"

#define NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

static void test_error(void **state) {
    (void)state;
    const char *x =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>PreconditionFailed</Code>"
        "<Message>At least one of the pre-conditions you specified did not hold</Message>"
        "<RequestId>tx1</RequestId><HostId>h</HostId></Error>";
    char *code, *msg;
    assert_int_equal(s3_xml_parse_error(x, strlen(x), &code, &msg), 0);
    assert_string_equal(code, "PreconditionFailed");
    assert_string_equal(msg, "At least one of the pre-conditions you specified did not hold");
    free(code);
    free(msg);

    /* radosgw omits Message; control characters in server text are blanked;
     * entities are decoded. */
    const char *y = "<Error><Code>NoSuchKey</Code><BucketName>b</BucketName></Error>";
    assert_int_equal(s3_xml_parse_error(y, strlen(y), &code, &msg), 0);
    assert_string_equal(code, "NoSuchKey");
    assert_string_equal(msg, "");
    free(code);
    free(msg);
    const char *z = "<Error><Code>X</Code><Message>a&#10;b\tc &lt;d&gt;</Message></Error>";
    assert_int_equal(s3_xml_parse_error(z, strlen(z), &code, &msg), 0);
    assert_string_equal(msg, "a b c <d>");
    free(code);
    free(msg);

    /* Very long messages are cut, not refused. */
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_buf_append_str(&b, "<Error><Code>C</Code><Message>"), 0);
    for (int i = 0; i < 20000; i++)
        assert_int_equal(st_buf_append_byte(&b, 'm'), 0);
    assert_int_equal(st_buf_append_str(&b, "</Message></Error>"), 0);
    assert_int_equal(s3_xml_parse_error((const char *)b.data, b.len, &code, &msg), 0);
    assert_true(strlen(msg) <= 300);
    assert_string_equal(msg + strlen(msg) - 3, "...");
    free(code);
    free(msg);
    st_buf_free(&b);

    const char *notxml = "<html><body>502 Bad Gateway</body></html>";
    assert_int_equal(s3_xml_parse_error(notxml, strlen(notxml), &code, &msg), ST_ECORRUPT);
    assert_null(code);
    assert_null(msg);
}

static const char *LIST1 =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<ListBucketResult " NS "><Name>bkt</Name><Prefix>p%2F</Prefix><KeyCount>4</KeyCount>"
    "<MaxKeys>1000</MaxKeys><Delimiter>%2F</Delimiter><IsTruncated>true</IsTruncated>"
    "<EncodingType>url</EncodingType>"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
    "<Contents><Key>p%2Fz.txt</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>"
    "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>"
    "<StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key>p%2Fa+b%2Bc%20d.txt</Key><LastModified>2024-01-01T00:00:00Z</LastModified>"
    "<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag><Size>0</Size></Contents>"
    "<CommonPrefixes><Prefix>p%2Fm%2F</Prefix></CommonPrefixes>"
    "<CommonPrefixes><Prefix>p%2F%C3%A9%2F</Prefix></CommonPrefixes>"
    "</ListBucketResult>";

static void test_list(void **state) {
    (void)state;
    s3_list_page_t p;
    assert_int_equal(s3_xml_parse_list(LIST1, strlen(LIST1), &p), 0);
    assert_true(p.truncated);
    assert_string_equal(p.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    assert_int_equal(p.n, 4);
    /* Objects and prefixes merged in byte order. */
    assert_string_equal(p.items[0].key, "p/a b+c d.txt");
    assert_false(p.items[0].is_prefix);
    assert_int_equal(p.items[0].size, 0);
    assert_string_equal(p.items[0].etag, "3858f62230ac3c915f300c664312c11f-9");
    assert_int_equal(p.items[0].last_modified_us, 1704067200000000LL);
    assert_string_equal(p.items[1].key, "p/m/");
    assert_true(p.items[1].is_prefix);
    assert_string_equal(p.items[2].key, "p/z.txt");
    assert_int_equal(p.items[2].size, 434234);
    assert_string_equal(p.items[2].etag, "fba9dede5f27731c9771645a39863328");
    assert_int_equal(p.items[2].last_modified_us, 1255369830000000LL);
    assert_string_equal(p.items[3].key, "p/\xc3\xa9/");
    assert_true(p.items[3].is_prefix);
    s3_list_page_free(&p);

    /* Without EncodingType the keys are taken literally ('+' and '%' stay). */
    const char *raw = "<ListBucketResult><IsTruncated>false</IsTruncated>"
                      "<Contents><Key>a+b%20c &amp; d</Key><Size>1</Size></Contents>"
                      "</ListBucketResult>";
    assert_int_equal(s3_xml_parse_list(raw, strlen(raw), &p), 0);
    assert_false(p.truncated);
    assert_null(p.next_token);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.items[0].key, "a+b%20c & d");
    assert_string_equal(p.items[0].etag, "");
    s3_list_page_free(&p);

    const char *empty = "<ListBucketResult " NS "><Name>b</Name><KeyCount>0</KeyCount>"
                        "<IsTruncated>false</IsTruncated></ListBucketResult>";
    assert_int_equal(s3_xml_parse_list(empty, strlen(empty), &p), 0);
    assert_int_equal(p.n, 0);
    s3_list_page_free(&p);
}

static void expect_list_corrupt(const char *x) {
    s3_list_page_t p;
    assert_int_equal(s3_xml_parse_list(x, strlen(x), &p), ST_ECORRUPT);
    assert_int_equal(p.n, 0);
    assert_null(p.items);
    assert_null(p.next_token);
}

static void test_list_hostile(void **state) {
    (void)state;
    /* Truncated listing without a token would loop forever. */
    expect_list_corrupt("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>");
    expect_list_corrupt("<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>");
    expect_list_corrupt(
        "<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>");
    expect_list_corrupt("<ListBucketResult><Contents><Key>a</Key><Size>99999999999999999999999"
                        "</Size></Contents></ListBucketResult>");
    expect_list_corrupt("<ListBucketResult><Contents><Key>a</Key><LastModified>yesterday"
                        "</LastModified></Contents></ListBucketResult>");
    expect_list_corrupt("<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%00b"
                        "</Key></Contents></ListBucketResult>");
    expect_list_corrupt("<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%zz"
                        "</Key></Contents></ListBucketResult>");
    expect_list_corrupt("<ListBucketResult><Contents><Key></Key></Contents></ListBucketResult>");
    expect_list_corrupt("<Error><Code>AccessDenied</Code></Error>");
    expect_list_corrupt("<ListBucketResult><Contents><Key>a</Key>");
    expect_list_corrupt("");
    expect_list_corrupt("\x01\x02\xff\xfe garbage");
    /* Entity expansion (billion laughs) and external entities are refused
     * before parsing. */
    expect_list_corrupt("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                        "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
                        "<ListBucketResult><Contents><Key>&lol2;</Key></Contents>"
                        "</ListBucketResult>");
    expect_list_corrupt("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
                        "<ListBucketResult><Contents><Key>&e;</Key></Contents></ListBucketResult>");

    /* An over-long key. */
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_buf_append_str(&b, "<ListBucketResult><Contents><Key>"), 0);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(st_buf_append_byte(&b, 'k'), 0);
    assert_int_equal(st_buf_append_str(&b, "</Key></Contents></ListBucketResult>"), 0);
    assert_int_equal(st_buf_append_byte(&b, 0), 0);
    expect_list_corrupt((const char *)b.data);
    st_buf_free(&b);

    /* Deep nesting: refused by the parser's depth limit, no crash. */
    assert_int_equal(st_buf_append_str(&b, "<ListBucketResult>"), 0);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(st_buf_append_str(&b, "<a>"), 0);
    assert_int_equal(st_buf_append_byte(&b, 0), 0);
    expect_list_corrupt((const char *)b.data);
    st_buf_free(&b);

    /* Larger than the cap. */
    size_t big = S3_XML_MAX + 1;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, ' ', big);
    s3_list_page_t p;
    assert_int_equal(s3_xml_parse_list(huge, big, &p), ST_ECORRUPT);
    free(huge);
}

/* Every prefix of a valid listing parses or fails cleanly (checked for leaks
 * and memory errors by the sanitizer build). */
static void test_list_truncations(void **state) {
    (void)state;
    size_t n = strlen(LIST1);
    int ok = 0;
    for (size_t k = 0; k < n; k++) {
        s3_list_page_t p;
        int rc = s3_xml_parse_list(LIST1, k, &p);
        assert_true(rc == 0 || rc == ST_ECORRUPT);
        if (rc == 0) ok++;
        s3_list_page_free(&p);
    }
    /* A document cut short is never complete. */
    assert_int_equal(ok, 0);
    /* Single-byte corruptions. */
    char *copy = strdup(LIST1);
    assert_non_null(copy);
    for (size_t k = 0; k < n; k += 3) {
        char save = copy[k];
        copy[k] = (char)(k * 37 + 1);
        s3_list_page_t p;
        int rc = s3_xml_parse_list(copy, n, &p);
        assert_true(rc == 0 || rc == ST_ECORRUPT);
        s3_list_page_free(&p);
        copy[k] = save;
    }
    free(copy);
}

static void test_initiate_complete(void **state) {
    (void)state;
    const char *i = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><InitiateMultipartUploadResult " NS
                    "><Bucket>b</Bucket><Key>k</Key><UploadId>2~abc-DEF_1</UploadId>"
                    "</InitiateMultipartUploadResult>";
    char *id;
    assert_int_equal(s3_xml_parse_initiate(i, strlen(i), &id), 0);
    assert_string_equal(id, "2~abc-DEF_1");
    free(id);
    const char *noid = "<InitiateMultipartUploadResult><Bucket>b</Bucket>"
                       "</InitiateMultipartUploadResult>";
    assert_int_equal(s3_xml_parse_initiate(noid, strlen(noid), &id), ST_ECORRUPT);
    assert_null(id);
    const char *emptyid =
        "<InitiateMultipartUploadResult><UploadId/></InitiateMultipartUploadResult>";
    assert_int_equal(s3_xml_parse_initiate(emptyid, strlen(emptyid), &id), ST_ECORRUPT);
    assert_null(id);

    const char *c = "<CompleteMultipartUploadResult " NS "><Location>http://x/b/k</Location>"
                    "<Bucket>b</Bucket><Key>k</Key>"
                    "<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag>"
                    "</CompleteMultipartUploadResult>";
    char *etag, *code, *msg;
    assert_int_equal(s3_xml_parse_complete(c, strlen(c), &etag, &code, &msg), 0);
    assert_string_equal(etag, "3858f62230ac3c915f300c664312c11f-9");
    assert_null(code);
    free(etag);
    /* A 200 response that carries an error. */
    const char *e = "<Error><Code>InternalError</Code><Message>We encountered an internal error."
                    "</Message></Error>";
    assert_int_equal(s3_xml_parse_complete(e, strlen(e), &etag, &code, &msg), ST_EIO);
    assert_null(etag);
    assert_string_equal(code, "InternalError");
    assert_string_equal(msg, "We encountered an internal error.");
    free(code);
    free(msg);
    assert_int_equal(s3_xml_parse_complete("<x/>", 4, &etag, &code, &msg), ST_ECORRUPT);
}

static void test_uploads(void **state) {
    (void)state;
    const char *x = "<ListMultipartUploadsResult " NS "><Bucket>b</Bucket>"
                    "<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
                    "<Upload><Key>p%2Fa+b.bin</Key><UploadId>2~x</UploadId>"
                    "<Initiated>2024-01-01T00:00:01.500Z</Initiated></Upload>"
                    "<Upload><Key>p%2Fc</Key><UploadId>2~y</UploadId></Upload>"
                    "</ListMultipartUploadsResult>";
    s3_upload_t *u;
    size_t n;
    assert_int_equal(s3_xml_parse_uploads(x, strlen(x), &u, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(u[0].key, "p/a b.bin");
    assert_string_equal(u[0].upload_id, "2~x");
    assert_int_equal(u[0].initiated_us, 1704067201500000LL);
    assert_string_equal(u[1].key, "p/c");
    assert_int_equal(u[1].initiated_us, 0);
    s3_uploads_free(u, n);
    const char *none =
        "<ListMultipartUploadsResult><Bucket>b</Bucket></ListMultipartUploadsResult>";
    assert_int_equal(s3_xml_parse_uploads(none, strlen(none), &u, &n), 0);
    assert_int_equal(n, 0);
    s3_uploads_free(u, n);
    const char *bad = "<ListMultipartUploadsResult><Upload><Key>k</Key></Upload>"
                      "</ListMultipartUploadsResult>";
    assert_int_equal(s3_xml_parse_uploads(bad, strlen(bad), &u, &n), ST_ECORRUPT);
    assert_null(u);
    const char *badtime = "<ListMultipartUploadsResult><Upload><Key>k</Key><UploadId>i</UploadId>"
                          "<Initiated>soon</Initiated></Upload></ListMultipartUploadsResult>";
    assert_int_equal(s3_xml_parse_uploads(badtime, strlen(badtime), &u, &n), ST_ECORRUPT);
    assert_int_equal(s3_xml_parse_uploads("<Error/>", 8, &u, &n), ST_ECORRUPT);
}

static void test_escape_and_time(void **state) {
    (void)state;
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(s3_xml_escape(&b, "\"e\" <&> 'x'"), 0);
    assert_int_equal(st_buf_append_byte(&b, 0), 0);
    assert_string_equal((const char *)b.data, "&quot;e&quot; &lt;&amp;&gt; &apos;x&apos;");
    st_buf_free(&b);
    int64_t us;
    assert_int_equal(s3_parse_iso_time("2009-10-12T17:50:30.123Z", &us), 0);
    assert_int_equal(us, 1255369830123000LL);
    assert_int_not_equal(s3_parse_iso_time("not a time", &us), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_list_hostile),
        cmocka_unit_test(test_list_truncations),
        cmocka_unit_test(test_initiate_complete),
        cmocka_unit_test(test_uploads),
        cmocka_unit_test(test_escape_and_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
