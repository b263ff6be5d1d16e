/* Unit tests of schema files: parsing, errors, serialisation round trips. */
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

/* The example of DESIGN.md, verbatim. */
static const char *design_example =
    "{\n"
    "  \"name\": \"borelog_versions\",\n"
    "  \"version\": 1,\n"
    "  \"description\": \"One row per saved version of a borelog\",\n"
    "  \"strict\": false,\n"
    "  \"primary_key\": [\"borelog_id\", \"version_no\"],\n"
    "  \"fields\": [\n"
    "    {\"name\": \"borelog_id\", \"type\": \"uuid\", \"nullable\": false},\n"
    "    {\"name\": \"version_no\", \"type\": \"int32\", \"nullable\": false, \"min\": 1},\n"
    "    {\"name\": \"status\", \"type\": \"string\", \"enum\": [\"draft\", \"submitted\", "
    "\"approved\", \"rejected\"]},\n"
    "    {\"name\": \"depth_m\", \"type\": \"decimal(8,3)\", \"min\": 0, \"max\": 2000},\n"
    "    {\"name\": \"remarks\", \"type\": \"string\", \"max_length\": 4000},\n"
    "    {\"name\": \"created_at\", \"type\": \"timestamp(us, UTC)\", \"nullable\": false}\n"
    "  ]\n"
    "}\n";

static st_schema_t *parse_ok(const char *json) {
    st_schema_t *s = NULL;
    int rc = st_schema_parse(json, strlen(json), "t.schema.json", &s);
    if (rc) fprintf(stderr, "unexpected: %s\n", st_errmsg());
    assert_int_equal(rc, 0);
    assert_non_null(s);
    return s;
}

static void test_design_example(void **state) {
    (void)state;
    st_schema_t *s = parse_ok(design_example);
    assert_string_equal(s->name, "borelog_versions");
    assert_int_equal(s->version, 1);
    assert_string_equal(s->description, "One row per saved version of a borelog");
    assert_false(s->strict);
    assert_int_equal(s->n_primary_key, 2);
    assert_string_equal(s->primary_key[0], "borelog_id");
    assert_string_equal(s->primary_key[1], "version_no");
    assert_int_equal(s->nfields, 6);

    const st_schema_field_t *f = &s->fields[0];
    assert_string_equal(f->field.name, "borelog_id");
    assert_int_equal(f->field.type.id, ST_TYPE_UUID);
    assert_false(f->field.nullable);
    assert_false(f->has_min);
    assert_int_equal(f->min_length, -1);
    assert_int_equal(f->max_length, -1);
    assert_null(f->enum_values);

    f = &s->fields[1];
    assert_int_equal(f->field.type.id, ST_TYPE_INT32);
    assert_true(f->has_min);
    assert_false(f->has_max);
    assert_true(f->min == 1.0);
    assert_string_equal(f->min_text, "1");
    assert_null(f->max_text);

    f = &s->fields[2];
    assert_true(f->field.nullable);
    assert_int_equal(f->n_enum, 4);
    assert_string_equal(f->enum_values[0], "draft");
    assert_string_equal(f->enum_values[3], "rejected");

    f = &s->fields[3];
    assert_int_equal(f->field.type.id, ST_TYPE_DECIMAL);
    assert_int_equal(f->field.type.precision, 8);
    assert_int_equal(f->field.type.scale, 3);
    assert_true(f->has_min && f->has_max);
    assert_true(f->min == 0 && f->max == 2000);
    assert_string_equal(f->max_text, "2000");

    assert_int_equal(s->fields[4].max_length, 4000);
    assert_int_equal(s->fields[4].min_length, -1);
    assert_int_equal(s->fields[5].field.type.id, ST_TYPE_TIMESTAMP);
    assert_true(s->fields[5].field.type.utc);
    assert_int_equal(s->fields[5].field.type.unit, ST_UNIT_US);

    const st_field_t *plain = st_schema_fields(s);
    assert_string_equal(plain[3].name, "depth_m");
    assert_int_equal(plain[3].type.id, ST_TYPE_DECIMAL);
    assert_false(plain[5].nullable);
    assert_int_equal(st_schema_field_index(s, "remarks"), 4);
    assert_int_equal(st_schema_field_index(s, "nope"), -1);

    /* The plain fields make a batch directly. */
    st_batch_t *b;
    assert_int_equal(st_batch_new(plain, s->nfields, &b), 0);
    assert_int_equal(b->ncols, 6);
    st_batch_free(b);
    st_schema_free(s);
}

static void test_round_trip(void **state) {
    (void)state;
    const char *rich =
        "{\"name\":\"boreholes\",\"version\":3,\"strict\":true,\"description\":\"Bore "
        "\\\"holes\\\"\","
        " \"primary_key\":[\"id\"], \"x-owner\": {\"team\": \"geo\"},"
        " \"fields\":[{\"name\":\"id\",\"type\":\"uuid\",\"nullable\":false,\"unique\":true},"
        " {\"name\":\"code\",\"type\":\"string\",\"pattern\":\"^BH-[0-9]+$\",\"min_length\":4,"
        "\"max_length\":12,\"description\":\"site code\",\"x-ui\":\"wide\"},"
        " {\"name\":\"depth\",\"type\":\"decimal(38,10)\",\"min\":\"-0.0000000001\","
        "\"max\":12345678901234567890.5},"
        " {\"name\":\"level\",\"type\":\"double\",\"min\":-1.5e3,\"max\":1e300},"
        " {\"name\":\"on\",\"type\":\"date\",\"min\":\"1900-01-01\",\"max\":\"2100-12-31\"},"
        " {\"name\":\"at\",\"type\":\"timestamp(ms)\",\"min\":\"2000-01-01T00:00:00+01:00\"},"
        " {\"name\":\"t\",\"type\":\"time(us)\",\"max\":\"18:00\"},"
        " {\"name\":\"kind\",\"type\":\"int8\",\"enum\":[\"1\",\"2\",\"-3\"]},"
        " {\"name\":\"note\",\"type\":\"json\",\"nullable\":true,\"description\":null}]}";
    st_schema_t *s = parse_ok(rich);
    assert_int_equal(s->version, 3);
    assert_true(s->strict);
    assert_true(s->fields[0].unique);
    assert_string_equal(s->fields[1].pattern, "^BH-[0-9]+$");
    assert_int_equal(s->fields[1].min_length, 4);
    assert_string_equal(s->fields[2].min_text, "-0.0000000001");
    assert_string_equal(s->fields[2].max_text, "12345678901234567890.5");
    assert_true(s->fields[3].min == -1500);
    assert_string_equal(s->fields[3].min_text, "-1.5e3");
    assert_true(s->fields[4].min == -25567); /* days before 1970 */
    assert_true(s->fields[5].min == 946681200000.0);
    assert_true(s->fields[6].max == 64800000000.0);
    assert_int_equal(s->fields[7].n_enum, 3);
    assert_null(s->fields[8].description);

    st_buf_t j1 = ST_BUF_INIT, j2 = ST_BUF_INIT;
    assert_int_equal(st_schema_to_json(s, &j1), 0);
    st_schema_t *s2;
    assert_int_equal(st_schema_parse((const char *)j1.data, j1.len, "again", &s2), 0);
    assert_int_equal(st_schema_to_json(s2, &j2), 0);
    assert_int_equal(j1.len, j2.len);
    assert_memory_equal(j1.data, j2.data, j1.len);
    /* The canonical form, as a reader sees it. */
    assert_int_equal(st_buf_append_byte(&j1, 0), 0);
    const char *want =
        "{\n"
        "  \"name\": \"boreholes\",\n"
        "  \"version\": 3,\n"
        "  \"description\": \"Bore \\\"holes\\\"\",\n"
        "  \"strict\": true,\n"
        "  \"primary_key\": [\"id\"],\n"
        "  \"fields\": [\n"
        "    {\"name\": \"id\", \"type\": \"uuid\", \"nullable\": false, \"unique\": true},\n"
        "    {\"name\": \"code\", \"type\": \"string\", \"description\": \"site code\", "
        "\"min_length\": 4, \"max_length\": 12, \"pattern\": \"^BH-[0-9]+$\"},\n"
        "    {\"name\": \"depth\", \"type\": \"decimal(38,10)\", \"min\": -0.0000000001, "
        "\"max\": 12345678901234567890.5},\n"
        "    {\"name\": \"level\", \"type\": \"double\", \"min\": -1.5e3, \"max\": 1e300},\n"
        "    {\"name\": \"on\", \"type\": \"date\", \"min\": \"1900-01-01\", \"max\": "
        "\"2100-12-31\"},\n"
        "    {\"name\": \"at\", \"type\": \"timestamp(ms)\", \"min\": "
        "\"2000-01-01T00:00:00+01:00\"},\n"
        "    {\"name\": \"t\", \"type\": \"time(us)\", \"max\": \"18:00\"},\n"
        "    {\"name\": \"kind\", \"type\": \"int8\", \"enum\": [\"1\", \"2\", \"-3\"]},\n"
        "    {\"name\": \"note\", \"type\": \"json\"}\n"
        "  ]\n"
        "}\n";
    assert_string_equal((const char *)j1.data, want);
    st_buf_free(&j1);
    st_buf_free(&j2);
    st_schema_free(s);
    st_schema_free(s2);

    /* The DESIGN example survives a round trip too. */
    s = parse_ok(design_example);
    assert_int_equal(st_schema_to_json(s, &j1), 0);
    assert_int_equal(st_schema_parse((const char *)j1.data, j1.len, NULL, &s2), 0);
    assert_int_equal(s2->nfields, 6);
    assert_string_equal(s2->fields[2].enum_values[1], "submitted");
    assert_string_equal(s2->fields[3].max_text, "2000");
    assert_int_equal(s2->n_primary_key, 2);
    st_buf_free(&j1);
    st_schema_free(s);
    st_schema_free(s2);
}

static void test_name_from_origin(void **state) {
    (void)state;
    const char *json = "{\"fields\":[{\"name\":\"a\",\"type\":\"int32\"}]}";
    st_schema_t *s;
    assert_int_equal(st_schema_parse(json, strlen(json), "dir/borehole.schema.json", &s), 0);
    assert_string_equal(s->name, "borehole");
    assert_int_equal(s->version, 1);
    assert_false(s->strict);
    assert_null(s->primary_key);
    st_schema_free(s);
    assert_int_equal(st_schema_parse(json, strlen(json), NULL, &s), 0);
    assert_string_equal(s->name, "schema");
    st_schema_free(s);
    assert_int_equal(st_schema_parse(json, strlen(json), "x/.hidden.json", &s), ST_EINVAL);
    assert_string_equal(st_errmsg(), "x/.hidden.json: missing \"name\"");
}

static void test_bad_schemas(void **state) {
    (void)state;
    struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"depth_m\",\"type\":\"decmal(8,3)\"}]}",
         "borehole.schema.json: field 'depth_m': unknown type 'decmal(8,3)'"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"a\",\"type\":\"int32\"},{\"name\":\"a\","
         "\"type\":\"string\"}]}",
         "borehole.schema.json: field 'a': field name appears twice"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"\",\"type\":\"int32\"}]}",
         "borehole.schema.json: field #1: \"name\" is empty"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"a\",\"type\":\"int32\"},{\"type\":\"int32\"}]}",
         "borehole.schema.json: field #2: missing \"name\""},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"a\"}]}",
         "borehole.schema.json: field 'a': missing \"type\""},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"d\",\"type\":\"decimal(39,2)\"}]}",
         "borehole.schema.json: field 'd': bad type 'decimal(39,2)': decimal precision must be "
         "1..38"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"d\",\"type\":\"decimal(4,5)\"}]}",
         "borehole.schema.json: field 'd': bad type 'decimal(4,5)': decimal scale must be "
         "0..precision"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"d\",\"type\":\"double\",\"min\":5,\"max\":1}]}",
         "borehole.schema.json: field 'd': min 5 is greater than max 1"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"d\",\"type\":\"date\",\"min\":\"2020-01-02\","
         "\"max\":\"2020-01-01\"}]}",
         "borehole.schema.json: field 'd': min 2020-01-02 is greater than max 2020-01-01"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"s\",\"type\":\"string\",\"min_length\":-1}]}",
         "borehole.schema.json: field 's': 'min_length' must not be negative (got -1)"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"s\",\"type\":\"string\",\"max_length\":2.5}]}",
         "borehole.schema.json: field 's': 'max_length' must be an integer, not 2.5"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"s\",\"type\":\"string\",\"min_length\":5,"
         "\"max_length\":4}]}",
         "borehole.schema.json: field 's': min_length 5 is greater than max_length 4"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"n\",\"type\":\"int32\",\"max_length\":4}]}",
         "borehole.schema.json: field 'n': min_length/max_length apply to string, binary and "
         "json fields, not int32"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"s\",\"type\":\"string\",\"enum\":\"a\"}]}",
         "borehole.schema.json: field 's': 'enum' must be an array of strings"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"s\",\"type\":\"string\",\"enum\":[\"a\",1]}]}",
         "borehole.schema.json: field 's': 'enum' must be an array of strings (item 2 is not)"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"s\",\"type\":\"string\",\"enum\":[]}]}",
         "borehole.schema.json: field 's': 'enum' must list at least one value"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"s\",\"type\":\"string\",\"enum\":[\"a\","
         "\"a\"]}]}",
         "borehole.schema.json: field 's': 'enum' lists 'a' twice"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"n\",\"type\":\"int8\",\"enum\":[\"1\","
         "\"300\"]}]}",
         "borehole.schema.json: field 'n': 'enum' value '300' is not a valid int8"},
        {"{\"name\":\"b\",\"primary_key\":[\"a\",\"zz\"],\"fields\":[{\"name\":\"a\",\"type\":"
         "\"int32\"}]}",
         "borehole.schema.json: primary_key names 'zz', which is not a field"},
        {"{\"name\":\"b\",\"primary_key\":[\"a\",\"a\"],\"fields\":[{\"name\":\"a\",\"type\":"
         "\"int32\"}]}",
         "borehole.schema.json: primary_key lists 'a' twice"},
        {"{\"name\":\"b\",\"primary_key\":\"a\",\"fields\":[{\"name\":\"a\",\"type\":\"int32\"}]}",
         "borehole.schema.json: 'primary_key' must be an array of field names"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"a\",\"type\":\"int32\",\"nullable\":\"no\"}]}",
         "borehole.schema.json: field 'a': 'nullable' must be true or false"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"a\",\"type\":\"int32\",\"unique\":1}]}",
         "borehole.schema.json: field 'a': 'unique' must be true or false"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"a\",\"type\":32}]}",
         "borehole.schema.json: field 'a': 'type' must be a string"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"a\",\"type\":\"int32\",\"description\":5}]}",
         "borehole.schema.json: field 'a': 'description' must be a string"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"a\",\"type\":\"int32\",\"min\":\"abc\"}]}",
         "borehole.schema.json: field 'a': 'min' must be a finite number, not 'abc'"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"a\",\"type\":\"int32\",\"max\":true}]}",
         "borehole.schema.json: field 'a': 'max' must be a number"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"a\",\"type\":\"date\",\"min\":20200101}]}",
         "borehole.schema.json: field 'a': 'min' must be a string in the date format (such as "
         "\"2020-01-01\")"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"a\",\"type\":\"date\",\"min\":\"2020-13-01\"}]}",
         "borehole.schema.json: field 'a': 'min': '2020-13-01' is not a valid date"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"a\",\"type\":\"string\",\"min\":1}]}",
         "borehole.schema.json: field 'a': 'min' applies to numeric, decimal, date, time and "
         "timestamp fields, not string"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"a\",\"type\":\"int32\",\"pattern\":\"x\"}]}",
         "borehole.schema.json: field 'a': 'pattern' applies to string fields, not int32"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"a\",\"type\":\"string\",\"pattern\":[1]}]}",
         "borehole.schema.json: field 'a': 'pattern' must be a string"},
        {"{\"name\":\"b\",\"fields\":[{\"name\":\"a\",\"type\":\"int32\",\"type\":\"int64\"}]}",
         "borehole.schema.json: field #1: key 'type' appears twice"},
        {"{\"name\":\"b\",\"fields\":[5]}", "borehole.schema.json: field #1: must be an object"},
        {"{\"name\":\"b\",\"fields\":[]}", "borehole.schema.json: 'fields' is empty"},
        {"{\"name\":\"b\",\"fields\":{}}",
         "borehole.schema.json: 'fields' must be an array of objects"},
        {"{\"name\":\"b\"}", "borehole.schema.json: missing \"fields\""},
        {"{\"name\":\"b/c\",\"fields\":[{\"name\":\"a\",\"type\":\"int32\"}]}",
         "borehole.schema.json: name 'b/c' must be 1..128 letters, digits, '_', '-' or '.', not "
         "starting with '.'"},
        {"{\"name\":\"b\",\"version\":0,\"fields\":[{\"name\":\"a\",\"type\":\"int32\"}]}",
         "borehole.schema.json: 'version' must be 1 or more"},
        {"{\"name\":\"b\",\"version\":\"2\",\"fields\":[{\"name\":\"a\",\"type\":\"int32\"}]}",
         "borehole.schema.json: 'version' must be an integer"},
        {"{\"name\":\"b\",\"strict\":\"yes\",\"fields\":[{\"name\":\"a\",\"type\":\"int32\"}]}",
         "borehole.schema.json: 'strict' must be true or false"},
        {"[1,2]", "borehole.schema.json: a schema must be a JSON object"},
        {"{\"name\":\"b\",\n \"fields\": [}",
         "borehole.schema.json: not valid JSON: line 2, column 13: unexpected character"},
        {"{\"name\":\"b\"} x",
         "borehole.schema.json: not valid JSON: line 1, column 14: unexpected text after the "
         "JSON value"},
        {"", "borehole.schema.json: not valid JSON: line 1, column 1: unexpected end of JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        st_schema_t *s = (st_schema_t *)1;
        int rc = st_schema_parse(cases[i].json, strlen(cases[i].json), "borehole.schema.json", &s);
        if (rc != ST_EINVAL || strcmp(st_errmsg(), cases[i].msg))
            fprintf(stderr, "case %zu: rc %d, message: %s\n", i, rc, st_errmsg());
        assert_int_equal(rc, ST_EINVAL);
        assert_null(s);
        assert_string_equal(st_errmsg(), cases[i].msg);
    }
}

static void test_unknown_keys_allowed(void **state) {
    (void)state;
    const char *json = "{\"name\":\"b\",\"owner\":\"geo\",\"fields\":[{\"name\":\"a\",\"type\":"
                       "\"int32\",\"units\":\"m\",\"ui\":{\"width\":3}}],\"tags\":[1,2]}";
    st_schema_t *s = parse_ok(json);
    assert_int_equal(s->nfields, 1);
    st_schema_free(s);
}

static void test_load(void **state) {
    (void)state;
    char path[] = "/tmp/strata-schema-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    fputs(design_example, fp);
    fclose(fp);
    st_schema_t *s;
    assert_int_equal(st_schema_load(path, &s), 0);
    assert_string_equal(s->name, "borelog_versions");
    st_schema_free(s);
    remove(path);
    assert_int_equal(st_schema_load(path, &s), ST_ENOTFOUND);
    assert_null(s);

    /* The example schema shipped with the README demo parses. */
    const char *src = getenv("STRATA_SOURCE_DIR");
    if (src) {
        char ex[4096];
        snprintf(ex, sizeof ex, "%s/examples/borehole.schema.json", src);
        assert_int_equal(st_schema_load(ex, &s), 0);
        assert_string_equal(s->name, "borehole");
        assert_int_equal(st_schema_field_index(s, "depth_m"), 6);
        st_schema_free(s);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_design_example),       cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_name_from_origin),     cmocka_unit_test(test_bad_schemas),
        cmocka_unit_test(test_unknown_keys_allowed), cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
