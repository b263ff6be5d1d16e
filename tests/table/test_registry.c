/* Unit tests of the schema registry: the built-in pack, directory overrides,
 * bad directories, and unknown names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata/schema.h"

static const char *const builtin_names[] = {
    "borehole",
    "borelog",
    "borelog_details",
    "borelog_versions",
    "contacts",
    "customers",
    "lab_report_versions",
    "organisations",
    "pending_csv_uploads",
    "projects",
    "soil_test_samples",
    "stratum_layers",
    "stratum_sample_points",
    "structure",
    "sub_structures",
    "substructure_assignments",
    "unified_lab_reports",
    "users",
};
#define NBUILTIN ((int)(sizeof builtin_names / sizeof builtin_names[0]))

static st_registry_t *open_ok(const char *dir) {
    st_registry_t *r = NULL;
    int rc = st_registry_open(dir, &r);
    if (rc) fprintf(stderr, "unexpected: %s\n", st_errmsg());
    assert_int_equal(rc, 0);
    return r;
}

static char *to_json(const st_schema_t *s) {
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_schema_to_json(s, &b), 0);
    assert_int_equal(st_buf_append_byte(&b, 0), 0);
    return (char *)st_buf_detach(&b, NULL);
}

static void test_builtin_pack(void **state) {
    (void)state;
    st_registry_t *r = open_ok(NULL);
    assert_int_equal(st_registry_count(r), NBUILTIN);
    for (int i = 0; i < NBUILTIN; i++) {
        const st_schema_t *s = st_registry_at(r, i);
        assert_non_null(s);
        assert_string_equal(s->name, builtin_names[i]);
        const st_schema_t *g = NULL;
        assert_int_equal(st_registry_get(r, builtin_names[i], &g), 0);
        assert_ptr_equal(g, s);
        /* Every table is documented, keyed, and has real columns. */
        assert_non_null(s->description);
        assert_true(s->n_primary_key >= 1);
        assert_true(s->nfields >= 5);
        for (int k = 0; k < s->n_primary_key; k++) {
            int f = st_schema_field_index(s, s->primary_key[k]);
            assert_true(f >= 0);
            assert_false(s->fields[f].field.nullable);
        }
        /* Each has an id column of type uuid and a creation time in UTC. */
        assert_int_equal(s->fields[0].field.type.id, ST_TYPE_UUID);
        bool has_time = false;
        for (int k = 0; k < s->nfields; k++) {
            const st_type_t *t = &s->fields[k].field.type;
            if (t->id == ST_TYPE_TIMESTAMP && t->utc) has_time = true;
        }
        assert_true(has_time);
        /* Patterns compile, enums convert: a validator can be made. */
        st_validator_t *v = NULL;
        int rc = st_validator_new(s, 0, &v);
        if (rc) fprintf(stderr, "%s: %s\n", s->name, st_errmsg());
        assert_int_equal(rc, 0);
        st_validator_free(v);
        /* The canonical form parses back to the same schema. */
        char *j1 = to_json(s);
        st_schema_t *back = NULL;
        assert_int_equal(st_schema_parse(j1, strlen(j1), NULL, &back), 0);
        char *j2 = to_json(back);
        assert_string_equal(j1, j2);
        free(j1);
        free(j2);
        st_schema_free(back);
    }
    assert_null(st_registry_at(r, NBUILTIN));
    assert_null(st_registry_at(r, -1));
    st_registry_free(r);
}

/* The DESIGN.md example and a few domain rules the pack promises. */
static void test_builtin_contents(void **state) {
    (void)state;
    st_registry_t *r = open_ok(NULL);
    const st_schema_t *s;
    assert_int_equal(st_registry_get(r, "borelog_versions", &s), 0);
    assert_int_equal(s->n_primary_key, 2);
    assert_string_equal(s->primary_key[0], "borelog_id");
    assert_string_equal(s->primary_key[1], "version_no");
    int f = st_schema_field_index(s, "depth_m");
    assert_true(f >= 0);
    assert_int_equal(s->fields[f].field.type.id, ST_TYPE_DECIMAL);
    assert_string_equal(s->fields[f].max_text, "2000");
    f = st_schema_field_index(s, "status");
    assert_int_equal(s->fields[f].n_enum, 4);

    assert_int_equal(st_registry_get(r, "stratum_sample_points", &s), 0);
    f = st_schema_field_index(s, "sample_code");
    assert_non_null(s->fields[f].pattern);
    assert_int_equal(st_registry_get(r, "projects", &s), 0);
    f = st_schema_field_index(s, "latitude");
    assert_string_equal(s->fields[f].min_text, "-90");
    st_registry_free(r);
}

/* examples/borehole.schema.json is the built-in borehole, exactly. */
static void test_example_matches_builtin(void **state) {
    (void)state;
    const char *src = getenv("STRATA_SOURCE_DIR");
    assert_non_null(src);
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/borehole.schema.json", src);
    st_schema_t *ex = NULL;
    assert_int_equal(st_schema_load(path, &ex), 0);
    st_registry_t *r = open_ok(NULL);
    const st_schema_t *b;
    assert_int_equal(st_registry_get(r, "borehole", &b), 0);
    char *j1 = to_json(ex), *j2 = to_json(b);
    assert_string_equal(j1, j2);
    free(j1);
    free(j2);
    st_schema_free(ex);
    st_registry_free(r);
}

/* ---- directories ---- */

static char tmpdir[256];

static int make_dir(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/strata-registry-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_dir(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_dir_override(void **state) {
    (void)state;
    write_file("borehole.schema.json",
               "{\"name\": \"borehole\", \"version\": 2, \"fields\": [{\"name\": \"id\", \"type\": "
               "\"int64\"}]}");
    /* No "name": the file name gives it. */
    write_file("site_visits.json", "{\"fields\": [{\"name\": \"visit_id\", \"type\": \"uuid\"}]}");
    /* Neither a hidden file nor one that is not .json is a schema. */
    write_file(".draft.json", "not json at all");
    write_file("README.txt", "not a schema");
    char sub[300];
    snprintf(sub, sizeof sub, "%s/nested.json", tmpdir);
    assert_int_equal(mkdir(sub, 0700), 0);
    st_registry_t *r = open_ok(tmpdir);
    assert_int_equal(st_registry_count(r), NBUILTIN + 1);
    const st_schema_t *s;
    assert_int_equal(st_registry_get(r, "borehole", &s), 0);
    assert_int_equal(s->version, 2);
    assert_int_equal(s->nfields, 1);
    assert_int_equal(st_registry_get(r, "site_visits", &s), 0);
    assert_string_equal(s->fields[0].field.name, "visit_id");
    /* Still sorted by name. */
    for (int i = 1; i < st_registry_count(r); i++)
        assert_true(strcmp(st_registry_at(r, i - 1)->name, st_registry_at(r, i)->name) < 0);
    st_registry_free(r);
    /* The built-in pack itself is untouched by a directory. */
    r = open_ok(NULL);
    assert_int_equal(st_registry_get(r, "borehole", &s), 0);
    assert_int_equal(s->version, 1);
    st_registry_free(r);
}

static void test_dir_bad_file(void **state) {
    (void)state;
    write_file("good.json", "{\"fields\": [{\"name\": \"a\", \"type\": \"int32\"}]}");
    write_file("broken.schema.json",
               "{\"name\": \"broken\", \"fields\": [{\"name\": \"depth_m\", \"type\": "
               "\"decmal(8,3)\"}]}");
    st_registry_t *r = NULL;
    assert_int_equal(st_registry_open(tmpdir, &r), ST_EINVAL);
    assert_null(r);
    char want[400];
    snprintf(want, sizeof want, "%s/broken.schema.json: field 'depth_m': unknown type", tmpdir);
    assert_non_null(strstr(st_errmsg(), want));
}

static void test_dir_duplicate(void **state) {
    (void)state;
    write_file("a.json",
               "{\"name\": \"dup\", \"fields\": [{\"name\": \"a\", \"type\": \"int32\"}]}");
    write_file("b.json",
               "{\"name\": \"dup\", \"fields\": [{\"name\": \"b\", \"type\": \"int32\"}]}");
    st_registry_t *r = NULL;
    assert_int_equal(st_registry_open(tmpdir, &r), ST_EINVAL);
    char want[700];
    snprintf(want, sizeof want, "%s/a.json and %s/b.json both define the schema 'dup'", tmpdir,
             tmpdir);
    assert_string_equal(st_errmsg(), want);
}

static void test_dir_missing(void **state) {
    (void)state;
    st_registry_t *r = NULL;
    assert_int_equal(st_registry_open("/nonexistent/strata-schemas", &r), ST_ENOTFOUND);
    assert_null(r);
    assert_string_equal(st_errmsg(),
                        "schema directory /nonexistent/strata-schemas: No such file or directory");
    write_file("plain", "x");
    char path[300];
    snprintf(path, sizeof path, "%s/plain", tmpdir);
    assert_int_equal(st_registry_open(path, &r), ST_EINVAL);
}

static void test_empty_dir(void **state) {
    (void)state;
    st_registry_t *r = open_ok(tmpdir);
    assert_int_equal(st_registry_count(r), NBUILTIN);
    st_registry_free(r);
}

/* ---- unknown names ---- */

static void test_unknown_name(void **state) {
    (void)state;
    st_registry_t *r = open_ok(NULL);
    const st_schema_t *s = (const st_schema_t *)r; /* must be reset */
    assert_int_equal(st_registry_get(r, "borehol", &s), ST_ENOTFOUND);
    assert_null(s);
    assert_string_equal(st_errmsg(), "no schema named 'borehol' (did you mean borehole, borelog?)");
    assert_int_equal(st_registry_get(r, "lab", &s), ST_ENOTFOUND);
    assert_string_equal(st_errmsg(), "no schema named 'lab' (did you mean lab_report_versions, "
                                     "unified_lab_reports?)");
    assert_int_equal(st_registry_get(r, "boreholes", &s), ST_ENOTFOUND);
    assert_string_equal(st_errmsg(), "no schema named 'boreholes' (did you mean borehole?)");
    assert_int_equal(st_registry_get(r, "xyzzy", &s), ST_ENOTFOUND);
    assert_string_equal(st_errmsg(), "no schema named 'xyzzy' (18 schemas known)");
    /* Lookups are exact: no case folding. */
    assert_int_equal(st_registry_get(r, "Borehole", &s), ST_ENOTFOUND);
    assert_int_equal(st_registry_get(r, "", &s), ST_ENOTFOUND);
    assert_int_equal(st_registry_get(r, NULL, &s), ST_EINVAL);
    char long_name[400];
    memset(long_name, 'b', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(st_registry_get(r, long_name, &s), ST_ENOTFOUND);
    assert_true(strlen(st_errmsg()) < 250);
    st_registry_free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_pack),
        cmocka_unit_test(test_builtin_contents),
        cmocka_unit_test(test_example_matches_builtin),
        cmocka_unit_test_setup_teardown(test_dir_override, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_dir_bad_file, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_dir_duplicate, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_dir_missing, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_empty_dir, make_dir, remove_dir),
        cmocka_unit_test(test_unknown_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
