/* Store URLs: parsing, normalisation, object URLs split into store + key, and
 * bad URLs refused with a message that says what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_internal.h"
#include "strata/store.h"

static void expect_parse(const char *text, const char *scheme, const char *host, const char *path,
                         const char *normal) {
    st_url_t u;
    int rc = store_url_parse(text, &u);
    if (rc) fail_msg("%s: %s", text, st_errmsg());
    assert_string_equal(u.scheme, scheme);
    assert_string_equal(u.host, host);
    assert_string_equal(u.path, path);
    char *n = store_url_format(&u);
    assert_string_equal(n, normal);
    /* The normal form parses to the same thing. */
    st_url_t again;
    assert_int_equal(store_url_parse(n, &again), ST_OK);
    assert_string_equal(again.path, u.path);
    assert_string_equal(again.host, u.host);
    assert_int_equal(again.nparams, u.nparams);
    store_url_free(&again);
    free(n);
    store_url_free(&u);
}

static void expect_bad(const char *text, const char *fragment) {
    st_url_t u;
    int rc = store_url_parse(text, &u);
    store_url_free(&u);
    if (rc != ST_EINVAL)
        fail_msg("'%s' parsed (rc %d), want ST_EINVAL", text ? text : "(null)", rc);
    if (fragment && !strstr(st_errmsg(), fragment))
        fail_msg("'%s': message '%s' does not mention '%s'", text, st_errmsg(), fragment);
}

static void test_file_urls(void **state) {
    (void)state;
    expect_parse("file:///tmp/data", "file", "", "/tmp/data", "file:///tmp/data");
    expect_parse("file:///tmp/data/", "file", "", "/tmp/data", "file:///tmp/data");
    expect_parse("file://localhost/tmp/data", "file", "", "/tmp/data", "file:///tmp/data");
    expect_parse("FILE:///a//b/./c/../d", "file", "", "/a/b/d", "file:///a/b/d");
    expect_parse("file:///", "file", "", "/", "file:///");
    expect_parse("file:///../..", "file", "", "/", "file:///");
    expect_parse("file:///my%20dir/x%3Fy", "file", "", "/my dir/x?y", "file:///my%20dir/x%3Fy");
    expect_parse("file:///pct%2525", "file", "", "/pct%25", "file:///pct%2525");
}

static void test_plain_paths(void **state) {
    (void)state;
    expect_parse("/var/lib/strata/", "file", "", "/var/lib/strata", "file:///var/lib/strata");
    expect_parse("/a/b/../c", "file", "", "/a/c", "file:///a/c");
    /* Plain paths are taken literally: no percent-decoding, '?' is a character. */
    expect_parse("/odd%20name?x", "file", "", "/odd%20name?x", "file:///odd%2520name%3Fx");
    char cwd[4096], want[4200], normal[4300];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(want, sizeof want, "%s/rel/dir", strcmp(cwd, "/") ? cwd : "");
    snprintf(normal, sizeof normal, "file://%s", want);
    st_url_t u;
    assert_int_equal(store_url_parse("rel/dir", &u), ST_OK);
    assert_string_equal(u.path, want);
    store_url_free(&u);
    assert_int_equal(store_url_parse("./rel/./dir/", &u), ST_OK);
    assert_string_equal(u.path, want);
    store_url_free(&u);
    /* "c:" and friends are not schemes without "://". */
    assert_int_equal(store_url_parse("data:set", &u), ST_OK);
    assert_string_equal(u.scheme, "file");
    store_url_free(&u);
}

static void test_mem_and_s3_urls(void **state) {
    (void)state;
    expect_parse("mem://scratch", "mem", "scratch", "", "mem://scratch");
    expect_parse("mem://scratch/", "mem", "scratch", "", "mem://scratch");
    expect_parse("mem://scratch/a/b/", "mem", "scratch", "a/b", "mem://scratch/a/b");
    expect_parse("s3://bucket", "s3", "bucket", "", "s3://bucket");
    expect_parse("s3://bucket//team/data/", "s3", "bucket", "team/data", "s3://bucket/team/data");
    expect_parse("s3://bkt/p%20q", "s3", "bkt", "p q", "s3://bkt/p%20q");

    st_url_t u;
    assert_int_equal(
        store_url_parse("s3://bkt/pre/fix?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=eu-west-1"
                        "&path_style=1&flag&empty=",
                        &u),
        ST_OK);
    assert_string_equal(u.path, "pre/fix");
    assert_int_equal(u.nparams, 5);
    assert_string_equal(st_url_param(&u, "endpoint"), "http://127.0.0.1:9000");
    assert_string_equal(st_url_param(&u, "region"), "eu-west-1");
    assert_string_equal(st_url_param(&u, "path_style"), "1");
    assert_string_equal(st_url_param(&u, "flag"), "");
    assert_string_equal(st_url_param(&u, "empty"), "");
    assert_null(st_url_param(&u, "missing"));
    char *n = store_url_format(&u);
    char *b = store_url_base(&u);
    assert_string_equal(b, "s3://bkt/pre/fix");
    st_url_t again;
    assert_int_equal(store_url_parse(n, &again), ST_OK);
    assert_string_equal(st_url_param(&again, "endpoint"), "http://127.0.0.1:9000");
    assert_string_equal(st_url_param(&again, "flag"), "");
    store_url_free(&again);
    free(n);
    free(b);
    store_url_free(&u);
    /* A value holding '&' and '=' survives the round trip. */
    assert_int_equal(store_url_parse("s3://b?profile=a%26b%3Dc%2Bd", &u), ST_OK);
    n = store_url_format(&u);
    assert_int_equal(store_url_parse(n, &again), ST_OK);
    assert_string_equal(st_url_param(&again, "profile"), "a&b=c+d");
    store_url_free(&again);
    free(n);
    store_url_free(&u);
}

static void test_bad_urls(void **state) {
    (void)state;
    expect_bad(NULL, "empty");
    expect_bad("", "empty");
    expect_bad("file://", "without a path");
    expect_bad("file://server/share", "not host 'server'");
    expect_bad("file:///tmp/%zz", "percent-escape");
    expect_bad("file:///tmp/%4", "percent-escape");
    expect_bad("file:///tmp/a%00b", "control character");
    expect_bad("file:///tmp/a%0Ab", "control character");
    expect_bad("/tmp/a\nb", "control character");
    expect_bad("mem://", "without a store name");
    expect_bad("mem:///x", "without a store name");
    expect_bad("mem://a b", "letters, digits");
    expect_bad("mem://x/../y", "'..'");
    expect_bad("s3://", "without a bucket");
    expect_bad("s3:///prefix", "without a bucket");
    expect_bad("s3://bkt/a/./b", "'.'");
    expect_bad("s3://bkt/a%5Cb", "backslash");
    expect_bad("s3://bkt?a=1&a=2", "repeats parameter 'a'");
    expect_bad("s3://bkt?=1", "empty parameter name");
    expect_bad("s3://bkt/p#frag", "fragments");
    expect_bad("s3://AKIDEXAMPLE:s3cr3t@bkt/p", "credentials");
    /* The secret is never echoed. */
    assert_null(strstr(st_errmsg(), "s3cr3t"));

    st_store_t *s = (st_store_t *)1;
    assert_int_equal(st_store_open("ftp://host/dir", &s), ST_EINVAL);
    assert_null(s);
    assert_non_null(strstr(st_errmsg(), "unknown store scheme 'ftp'"));
    assert_int_equal(st_store_open("az://container/x", &s), ST_EUNSUPPORTED);
    assert_int_equal(st_store_open("mem://x?bogus=1", &s), ST_EINVAL);
    assert_non_null(strstr(st_errmsg(), "bogus"));
    assert_int_equal(st_store_open("file:///tmp?bogus=1", &s), ST_EINVAL);
    assert_int_equal(st_store_open("/etc/passwd", &s), ST_EINVAL);
    assert_non_null(strstr(st_errmsg(), "not a directory"));
    assert_int_equal(st_store_open(NULL, &s), ST_EINVAL);
    assert_int_equal(st_store_open("mem://x", NULL), ST_EINVAL);
}

static void test_open_and_object_urls(void **state) {
    (void)state;
    st_store_t *s;
    assert_int_equal(st_store_open("mem://urls/team//", &s), ST_OK);
    assert_string_equal(st_store_url(s), "mem://urls/team");
    char *u = st_store_object_url(s, "a/b.parquet");
    assert_string_equal(u, "mem://urls/team/a/b.parquet");
    free(u);
    st_store_close(s);

    /* A store that does not exist yet opens (the first put creates it). */
    char dir[] = "/tmp/strata-url-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char url[256];
    snprintf(url, sizeof url, "file://%s/not/yet/", dir);
    assert_int_equal(st_store_open(url, &s), ST_OK);
    char want[256];
    snprintf(want, sizeof want, "file://%s/not/yet", dir);
    assert_string_equal(st_store_url(s), want);
    u = st_store_object_url(s, "k");
    snprintf(want, sizeof want, "file://%s/not/yet/k", dir);
    assert_string_equal(u, want);
    free(u);
    assert_int_equal(st_store_put(s, "k", "v", 1, NULL, NULL), ST_OK);
    assert_int_equal(st_store_delete(s, "k"), ST_OK);
    st_store_close(s);
    snprintf(want, sizeof want, "rm -rf '%s'", dir);
    assert_int_equal(system(want), 0);

    assert_int_equal(st_store_open("file:///", &s), ST_OK);
    u = st_store_object_url(s, "etc/hosts");
    assert_string_equal(u, "file:///etc/hosts");
    free(u);
    st_store_close(s);
}

static void expect_split(const char *url, const char *store_url, const char *key) {
    st_store_t *s;
    char *k;
    int rc = st_store_open_object(url, &s, &k);
    if (rc) fail_msg("%s: %s", url, st_errmsg());
    assert_string_equal(st_store_url(s), store_url);
    assert_string_equal(k, key);
    free(k);
    st_store_close(s);
}

static void test_open_object(void **state) {
    (void)state;
    expect_split("mem://objs/a/b.parquet", "mem://objs/a", "b.parquet");
    expect_split("mem://objs/b.parquet", "mem://objs", "b.parquet");
    expect_split("mem://objs/a%2Fb", "mem://objs/a", "b");
    expect_split("file:///d/x.parquet", "file:///d", "x.parquet");
    expect_split("file:///x.parquet", "file:///", "x.parquet");
    expect_split("/d/e/../x.parquet", "file:///d", "x.parquet");
    char cwd[4096], want[4200];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(want, sizeof want, "file://%s/sub", strcmp(cwd, "/") ? cwd : "");
    expect_split("sub/x.parquet", want, "x.parquet");
    snprintf(want, sizeof want, "file://%s", cwd);
    expect_split("x.parquet", want, "x.parquet");

    /* The object a store URL names, through the store. */
    st_store_t *s;
    char *k;
    assert_int_equal(st_store_open("mem://objs", &s), ST_OK);
    assert_int_equal(st_store_put(s, "dir/obj", "payload", 7, NULL, NULL), ST_OK);
    st_store_t *s2;
    assert_int_equal(st_store_open_object("mem://objs/dir/obj", &s2, &k), ST_OK);
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_store_get(s2, k, &b, NULL), ST_OK);
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.data, "payload", 7);
    st_buf_free(&b);
    free(k);
    st_store_close(s2);
    st_store_close(s);

    const char *bad[] = {"mem://objs", "mem://objs/",     "file:///",
                         "file:///d/", "mem://objs/a/..", "s3://bkt"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = (st_store_t *)1;
        k = (char *)1;
        int rc = st_store_open_object(bad[i], &s, &k);
        if (rc != ST_EINVAL) fail_msg("%s: rc %d, want ST_EINVAL", bad[i], rc);
        assert_null(s);
        assert_null(k);
    }
    assert_int_equal(st_store_open_object("mem://objs", &s, &k), ST_EINVAL);
    assert_non_null(strstr(st_errmsg(), "names a store, not an object"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_urls),
        cmocka_unit_test(test_plain_paths),
        cmocka_unit_test(test_mem_and_s3_urls),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_open_and_object_urls),
        cmocka_unit_test(test_open_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
