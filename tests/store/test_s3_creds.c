/* S3 credentials: shared credentials file parsing, environment, precedence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/s3_creds.h"

static const char *FILE1 = "# comment line\n"
                           "; another comment\n"
                           "stray = before any section\n"
                           "[default]\n"
                           "aws_access_key_id = AKIDDEFAULT\n"
                           "aws_secret_access_key=secret/default+key\n"
                           "\n"
                           "[  prod  ]\r\n"
                           "aws_access_key_id\t=\tAKIDPROD  \r\n"
                           "aws_secret_access_key = prodsecret\r\n"
                           "aws_session_token = tok==\r\n"
                           "region = eu-west-1\r\n"
                           "[legacy]\n"
                           "aws_access_key_id = AKIDLEG\n"
                           "aws_secret_access_key = legsecret\n"
                           "aws_security_token = oldtok\n"
                           "[nested]\n"
                           "aws_access_key_id = AKIDNEST\n"
                           "s3 =\n"
                           "  aws_secret_access_key = not-a-secret-here\n"
                           "[split]\n"
                           "aws_access_key_id = AKIDSPLIT\n"
                           "[other]\n"
                           "aws_access_key_id = AKIDOTHER\n"
                           "aws_secret_access_key = other\n"
                           "[split]\n"
                           "aws_secret_access_key = splitsecret\n"
                           "[bad]\n"
                           "aws_access_key_id = AKID BAD\n"
                           "aws_secret_access_key = x\n"
                           "[empty]\n";

static int parse(const char *profile, s3_creds_t *c) {
    return s3_creds_parse(FILE1, strlen(FILE1), profile, "test-file", c);
}

static void test_parse_profiles(void **state) {
    (void)state;
    s3_creds_t c;
    assert_int_equal(parse("default", &c), 0);
    assert_string_equal(c.access_key, "AKIDDEFAULT");
    assert_string_equal(c.secret_key, "secret/default+key");
    assert_null(c.session_token);
    assert_non_null(strstr(c.source, "default"));
    s3_creds_free(&c);

    /* Spaces around section names and '=', tabs, CRLF. */
    assert_int_equal(parse("prod", &c), 0);
    assert_string_equal(c.access_key, "AKIDPROD");
    assert_string_equal(c.secret_key, "prodsecret");
    assert_string_equal(c.session_token, "tok==");
    s3_creds_free(&c);

    assert_int_equal(parse("legacy", &c), 0);
    assert_string_equal(c.session_token, "oldtok");
    s3_creds_free(&c);

    /* A section given twice is merged. */
    assert_int_equal(parse("split", &c), 0);
    assert_string_equal(c.access_key, "AKIDSPLIT");
    assert_string_equal(c.secret_key, "splitsecret");
    s3_creds_free(&c);
}

static void test_parse_failures(void **state) {
    (void)state;
    s3_creds_t c;
    assert_int_equal(parse("missing", &c), ST_ENOTFOUND);
    assert_non_null(strstr(st_errmsg(), "missing"));
    assert_non_null(strstr(st_errmsg(), "test-file"));
    assert_null(c.access_key);
    /* Indented lines belong to a nested block, not to the profile. */
    assert_int_equal(parse("nested", &c), ST_EAUTH);
    assert_non_null(strstr(st_errmsg(), "aws_secret_access_key"));
    assert_int_equal(parse("empty", &c), ST_EAUTH);
    /* A key with a blank could split a header: refused. */
    assert_int_equal(parse("bad", &c), ST_EAUTH);
    assert_int_equal(s3_creds_parse("", 0, "default", "f", &c), ST_ENOTFOUND);
    const char *nl = "[default]\naws_access_key_id = A\x01\naws_secret_access_key = S\n";
    assert_int_equal(s3_creds_parse(nl, strlen(nl), "default", "f", &c), ST_EAUTH);
    /* Not a section: a line without ']' ends the current section. */
    const char *broken = "[default\naws_access_key_id = A\naws_secret_access_key = S\n";
    assert_int_equal(s3_creds_parse(broken, strlen(broken), "default", "f", &c), ST_ENOTFOUND);
    /* No newline at the end, NUL-free text only up to n. */
    const char *last = "[default]\naws_access_key_id = A\naws_secret_access_key = S";
    assert_int_equal(s3_creds_parse(last, strlen(last), "default", "f", &c), 0);
    assert_string_equal(c.secret_key, "S");
    s3_creds_free(&c);
    assert_int_equal(s3_creds_parse(last, strlen(last) - 1, "default", "f", &c), ST_EAUTH);
}

static char tmpdir[64];
static char credfile[128];

static void clear_env(void) {
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    setenv("AWS_SHARED_CREDENTIALS_FILE", credfile, 1);
}

static int setup(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/strata-creds-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    snprintf(credfile, sizeof credfile, "%s/credentials", tmpdir);
    FILE *f = fopen(credfile, "w");
    if (!f) return -1;
    fputs(FILE1, f);
    fclose(f);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(credfile);
    rmdir(tmpdir);
    return 0;
}

static void test_load_precedence(void **state) {
    (void)state;
    clear_env();
    s3_creds_t c;
    /* No environment: the default profile of the file. */
    assert_int_equal(s3_creds_load(NULL, &c), 0);
    assert_string_equal(c.access_key, "AKIDDEFAULT");
    s3_creds_free(&c);
    /* AWS_PROFILE picks another profile. */
    setenv("AWS_PROFILE", "prod", 1);
    assert_int_equal(s3_creds_load(NULL, &c), 0);
    assert_string_equal(c.access_key, "AKIDPROD");
    assert_string_equal(c.session_token, "tok==");
    s3_creds_free(&c);
    /* The environment key pair wins over AWS_PROFILE ... */
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    setenv("AWS_SESSION_TOKEN", "envtok", 1);
    assert_int_equal(s3_creds_load(NULL, &c), 0);
    assert_string_equal(c.access_key, "AKIDENV");
    assert_string_equal(c.secret_key, "envsecret");
    assert_string_equal(c.session_token, "envtok");
    assert_string_equal(c.source, "environment");
    s3_creds_free(&c);
    /* ... but an explicit profile= in the URL wins over the environment. */
    assert_int_equal(s3_creds_load("legacy", &c), 0);
    assert_string_equal(c.access_key, "AKIDLEG");
    s3_creds_free(&c);
    /* Half an environment pair is not a pair. */
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_PROFILE");
    assert_int_equal(s3_creds_load(NULL, &c), 0);
    assert_string_equal(c.access_key, "AKIDDEFAULT");
    s3_creds_free(&c);
    /* Malformed environment values are refused. */
    setenv("AWS_SECRET_ACCESS_KEY", "bad\nsecret", 1);
    assert_int_equal(s3_creds_load(NULL, &c), ST_EAUTH);
    clear_env();
}

static void test_load_missing(void **state) {
    (void)state;
    clear_env();
    s3_creds_t c;
    assert_int_equal(s3_creds_load("nosuch", &c), ST_EAUTH);
    assert_non_null(strstr(st_errmsg(), "nosuch"));
    setenv("AWS_PROFILE", "nosuch", 1);
    assert_int_equal(s3_creds_load(NULL, &c), ST_EAUTH);
    assert_non_null(strstr(st_errmsg(), "AWS_ACCESS_KEY_ID"));
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none", tmpdir);
    setenv("AWS_SHARED_CREDENTIALS_FILE", missing, 1);
    unsetenv("AWS_PROFILE");
    assert_int_equal(s3_creds_load(NULL, &c), ST_EAUTH);
    assert_non_null(strstr(st_errmsg(), missing));
    assert_non_null(strstr(st_errmsg(), "AWS_SECRET_ACCESS_KEY"));
    clear_env();
}

static void test_region(void **state) {
    (void)state;
    clear_env();
    char *r = s3_region_resolve(NULL);
    assert_string_equal(r, "us-east-1");
    free(r);
    setenv("AWS_DEFAULT_REGION", "eu-central-1", 1);
    r = s3_region_resolve("");
    assert_string_equal(r, "eu-central-1");
    free(r);
    setenv("AWS_REGION", "ap-south-1", 1);
    r = s3_region_resolve(NULL);
    assert_string_equal(r, "ap-south-1");
    free(r);
    r = s3_region_resolve("us-west-2");
    assert_string_equal(r, "us-west-2");
    free(r);
    clear_env();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_profiles),  cmocka_unit_test(test_parse_failures),
        cmocka_unit_test(test_load_precedence), cmocka_unit_test(test_load_missing),
        cmocka_unit_test(test_region),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
