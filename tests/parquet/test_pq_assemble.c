/* Record assembly and canonical JSON values, on hand-built schemas and decoded
 * columns (no file involved): flat, optional, LIST with nulls and empties,
 * MAP, STRUCT, LIST of STRUCT with nested lists, legacy two-level lists, bare
 * repeated fields, and every value rendering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/pq_output.h"
#include "test_util.h"

#include <jansson.h>

/* ---- hand-built files ---- */

#define GROUP (-1)
#define R PQ_REQUIRED
#define O PQ_OPTIONAL
#define P PQ_REPEATED
/* Converted types shifted by one so that 0 can mean none (PQ_CT_UTF8 is 0). */
#define CT(x) ((x) + 1)

/* One SchemaElement, depth-first like a footer. */
typedef struct nd {
    const char *name;
    int phys;
    int rep;
    int nch;
    int conv;
    int lt; /* logical id, 0 = none */
    int tl; /* type_length */
} nd_t;

static st_pq_file_t *make_file(const nd_t *nd, int n) {
    st_pq_file_t *f = calloc(1, sizeof *f);
    f->src.name = strdup("test.parquet");
    f->num_nodes = n;
    f->nodes = calloc((size_t)n, sizeof *f->nodes);
    f->leaf_nodes = calloc((size_t)n, sizeof *f->leaf_nodes);
    int stack[64], left[64], sp = 0;
    for (int i = 0; i < n; i++) {
        pq_node_t *x = &f->nodes[i];
        x->name = strdup(nd[i].name);
        x->physical = nd[i].phys;
        x->repetition = i == 0 ? -1 : nd[i].rep;
        x->num_children = nd[i].nch;
        x->converted = nd[i].conv ? nd[i].conv - 1 : PQ_CT_NONE;
        x->has_logical = nd[i].lt != 0;
        x->logical.id = nd[i].lt;
        x->type_length = nd[i].tl ? nd[i].tl : -1;
        x->scale = x->precision = x->field_id = -1;
        x->children = nd[i].nch ? calloc((size_t)nd[i].nch, sizeof(int)) : NULL;
        x->leaf = -1;
        x->parent = -1;
        if (sp > 0) {
            pq_node_t *p = &f->nodes[stack[sp - 1]];
            x->parent = stack[sp - 1];
            p->children[p->num_children - left[sp - 1]] = i;
            x->max_def = (int16_t)(p->max_def + (x->repetition != R));
            x->max_rep = (int16_t)(p->max_rep + (x->repetition == P));
            if (--left[sp - 1] == 0) sp--;
        }
        if (nd[i].nch) {
            stack[sp] = i;
            left[sp++] = nd[i].nch;
        } else {
            x->leaf = f->num_leaves;
            f->leaf_nodes[f->num_leaves++] = i;
        }
    }
    f->num_top = f->nodes[0].num_children;
    return f;
}

static void free_file(st_pq_file_t *f) {
    for (int i = 0; i < f->num_nodes; i++) {
        free(f->nodes[i].name);
        free(f->nodes[i].children);
    }
    free(f->nodes);
    free(f->leaf_nodes);
    free(f->src.name);
    free(f);
}

/* A decoded column from levels (n entries; NULL = all max / all 0) and values. */
static void make_col(pq_column_data_t *c, const st_pq_file_t *f, int leaf, int n,
                     const int16_t *def, const int16_t *rep) {
    const pq_node_t *x = &f->nodes[f->leaf_nodes[leaf]];
    memset(c, 0, sizeof *c);
    c->leaf = leaf;
    c->physical = x->physical;
    c->type_length = x->type_length;
    c->max_def = x->max_def;
    c->max_rep = x->max_rep;
    c->num_levels = n;
    if (x->max_def > 0) {
        c->def = malloc(sizeof(int16_t) * (size_t)(n ? n : 1));
        for (int i = 0; i < n; i++) c->def[i] = def ? def[i] : x->max_def;
    }
    if (x->max_rep > 0) {
        c->rep = malloc(sizeof(int16_t) * (size_t)(n ? n : 1));
        for (int i = 0; i < n; i++) c->rep[i] = rep ? rep[i] : 0;
    }
    for (int i = 0; i < n; i++) c->num_values += (!def || def[i] == x->max_def);
}

static void put_i32(pq_column_data_t *c, const int32_t *v, int n) {
    st_buf_append(&c->values, v, sizeof(int32_t) * (size_t)n);
}

static void put_i64(pq_column_data_t *c, const int64_t *v, int n) {
    st_buf_append(&c->values, v, sizeof(int64_t) * (size_t)n);
}

static void put_strs(pq_column_data_t *c, const char *const *s, int n) {
    c->offsets = calloc((size_t)n + 1, sizeof *c->offsets);
    for (int i = 0; i < n; i++) {
        st_buf_append(&c->values, s[i], strlen(s[i]));
        c->offsets[i + 1] = (uint32_t)c->values.len;
    }
}

static void free_col(pq_column_data_t *c) {
    free(c->def);
    free(c->rep);
    free(c->offsets);
    st_buf_free(&c->values);
}

static int collect(void *ctx, const char *line, size_t n) {
    st_buf_t *b = ctx;
    st_buf_append(b, line, n);
    return st_buf_append_byte(b, '\n');
}

/* Runs the assembly over all leaves; returns the status, output in *out. */
static int run(st_pq_file_t *f, pq_column_data_t *cols, int64_t nrows, int64_t limit,
               const int *columns, int ncolumns, st_buf_t *out) {
    pq_plan_t *p;
    int rc = pq_plan_build(f, columns, ncolumns, &p);
    if (rc) return rc;
    const pq_column_data_t *ptrs[32] = {0};
    for (int i = 0; i < f->num_leaves; i++) ptrs[i] = &cols[i];
    int64_t emitted = 0;
    st_buf_reset(out);
    rc = pq_plan_emit(p, f, 0, ptrs, nrows, limit, collect, out, &emitted);
    pq_plan_free(p);
    st_buf_append_byte(out, '\0');
    out->len--;
    return rc;
}

static void expect_rows(st_pq_file_t *f, pq_column_data_t *cols, int64_t nrows,
                        const char *expected) {
    st_buf_t out = ST_BUF_INIT;
    int rc = run(f, cols, nrows, -1, NULL, 0, &out);
    if (rc) fprintf(stderr, "error: %s\n", st_errmsg());
    assert_int_equal(rc, 0);
    assert_string_equal((const char *)out.data, expected);
    st_buf_free(&out);
}

static void expect_corrupt(st_pq_file_t *f, pq_column_data_t *cols, int64_t nrows,
                           const char *fragment) {
    st_buf_t out = ST_BUF_INIT;
    assert_int_equal(run(f, cols, nrows, -1, NULL, 0, &out), ST_ECORRUPT);
    if (!strstr(st_errmsg(), fragment)) fprintf(stderr, "message: %s\n", st_errmsg());
    assert_non_null(strstr(st_errmsg(), fragment));
    st_buf_free(&out);
}

/* ---- tests ---- */

static void test_flat(void **state) {
    (void)state;
    static const nd_t nd[] = {
        {"schema", GROUP, R, 4, 0, 0, 0},
        {"id", PQ_INT32, R, 0, 0, 0, 0},
        {"name", PQ_BYTE_ARRAY, O, 0, CT(PQ_CT_UTF8), 0, 0},
        {"x", PQ_DOUBLE, O, 0, 0, 0, 0},
        {"ok", PQ_BOOLEAN, O, 0, 0, 0, 0},
    };
    st_pq_file_t *f = make_file(nd, 5);
    pq_column_data_t c[4];
    make_col(&c[0], f, 0, 4, NULL, NULL);
    put_i32(&c[0], (int32_t[]){1, -2, 3, 2147483647}, 4);
    make_col(&c[1], f, 1, 4, (int16_t[]){1, 0, 1, 1}, NULL);
    put_strs(&c[1], (const char *[]){"a\"b", "\n", "é"}, 3);
    make_col(&c[2], f, 2, 4, (int16_t[]){1, 1, 1, 0}, NULL);
    put_i64(&c[2], (int64_t[]){0}, 0);
    double d[3] = {1.5, NAN, -INFINITY};
    st_buf_append(&c[2].values, d, sizeof d);
    make_col(&c[3], f, 3, 4, (int16_t[]){0, 1, 1, 1}, NULL);
    st_buf_append(&c[3].values, (uint8_t[]){1, 0, 1}, 3);
    expect_rows(f, c, 4,
                "{\"id\":1,\"name\":\"a\\\"b\",\"x\":1.5,\"ok\":null}\n"
                "{\"id\":-2,\"name\":null,\"x\":\"NaN\",\"ok\":true}\n"
                "{\"id\":3,\"name\":\"\\n\",\"x\":\"-Infinity\",\"ok\":false}\n"
                "{\"id\":2147483647,\"name\":\"é\",\"x\":null,\"ok\":true}\n");

    /* Projection (second and first column) and a row limit. */
    st_buf_t out = ST_BUF_INIT;
    assert_int_equal(run(f, c, 4, 2, (int[]){3, 0}, 2, &out), 0);
    assert_string_equal((char *)out.data, "{\"ok\":null,\"id\":1}\n{\"ok\":true,\"id\":-2}\n");
    assert_int_equal(run(f, c, 4, -1, (int[]){4}, 1, &out), ST_EINVAL);
    st_buf_free(&out);

    /* Row count mismatch names file, row group and column. */
    expect_corrupt(f, c, 5, "test.parquet: row group 0 column id: 4 rows");
    /* A field name that is not UTF-8 cannot become a JSON key. */
    f->nodes[2].name[0] = (char)0xff;
    pq_plan_t *p;
    assert_int_equal(pq_plan_build(f, NULL, 0, &p), ST_ECORRUPT);
    assert_non_null(strstr(st_errmsg(), "not valid UTF-8"));
    assert_int_equal(pq_plan_build(f, (int[]){0}, 1, &p), 0);
    pq_plan_free(p);
    for (int i = 0; i < 4; i++) free_col(&c[i]);
    free_file(f);
}

static void test_optional_list(void **state) {
    (void)state;
    static const nd_t nd[] = {
        {"schema", GROUP, R, 1, 0, 0, 0},
        {"a", GROUP, O, 1, CT(PQ_CT_LIST), PQ_LT_LIST, 0},
        {"list", GROUP, P, 1, 0, 0, 0},
        {"element", PQ_INT32, O, 0, 0, 0, 0},
    };
    st_pq_file_t *f = make_file(nd, 4);
    pq_column_data_t c;
    make_col(&c, f, 0, 7, (int16_t[]){3, 3, 0, 1, 2, 3, 2}, (int16_t[]){0, 1, 0, 0, 0, 0, 1});
    put_i32(&c, (int32_t[]){1, 2, 3}, 3);
    expect_rows(f, &c, 5,
                "{\"a\":[1,2]}\n{\"a\":null}\n{\"a\":[]}\n{\"a\":[null]}\n{\"a\":[3,null]}\n");
    /* Fewer rows than the row group claims. */
    expect_corrupt(f, &c, 6, "column a.list.element: 5 rows, but the row group has 6");
    free_col(&c);
    free_file(f);
}

static void test_map(void **state) {
    (void)state;
    static const nd_t nd[] = {
        {"schema", GROUP, R, 1, 0, 0, 0},
        {"m", GROUP, O, 1, CT(PQ_CT_MAP), PQ_LT_MAP, 0},
        {"key_value", GROUP, P, 2, 0, 0, 0},
        {"key", PQ_BYTE_ARRAY, R, 0, CT(PQ_CT_UTF8), PQ_LT_STRING, 0},
        {"value", PQ_INT32, O, 0, 0, 0, 0},
    };
    st_pq_file_t *f = make_file(nd, 5);
    pq_column_data_t c[2];
    make_col(&c[0], f, 0, 4, (int16_t[]){2, 2, 0, 1}, (int16_t[]){0, 1, 0, 0});
    put_strs(&c[0], (const char *[]){"a", "b"}, 2);
    make_col(&c[1], f, 1, 4, (int16_t[]){3, 2, 0, 1}, (int16_t[]){0, 1, 0, 0});
    put_i32(&c[1], (int32_t[]){1}, 1);
    expect_rows(f, c, 3,
                "{\"m\":[{\"key\":\"a\",\"value\":1},{\"key\":\"b\",\"value\":null}]}\n"
                "{\"m\":null}\n{\"m\":[]}\n");
    /* The value column says the map is null where the key column has an entry. */
    c[1].def[3] = 0;
    expect_corrupt(f, c, 3, "definition levels disagree");
    c[1].def[3] = 1;
    /* Repetition levels that disagree between key and value. */
    c[1].rep[1] = 0;
    expect_corrupt(f, c, 3, "");
    for (int i = 0; i < 2; i++) free_col(&c[i]);
    free_file(f);
}

static void test_legacy_map(void **state) {
    (void)state;
    /* MAP_KEY_VALUE on the repeated group, required map, struct value. */
    static const nd_t nd[] = {
        {"schema", GROUP, R, 1, 0, 0, 0},
        {"m", GROUP, R, 1, CT(PQ_CT_MAP), 0, 0},
        {"map", GROUP, P, 2, CT(PQ_CT_MAP_KEY_VALUE), 0, 0},
        {"key", PQ_INT32, R, 0, 0, 0, 0},
        {"value", GROUP, O, 1, 0, 0, 0},
        {"H", PQ_INT64, O, 0, 0, 0, 0},
    };
    st_pq_file_t *f = make_file(nd, 6);
    pq_column_data_t c[2];
    /* key max_def 1, H max_def 3 */
    make_col(&c[0], f, 0, 4, (int16_t[]){1, 1, 1, 0}, (int16_t[]){0, 1, 1, 0});
    put_i32(&c[0], (int32_t[]){7, 8, 9}, 3);
    make_col(&c[1], f, 1, 4, (int16_t[]){3, 2, 1, 0}, (int16_t[]){0, 1, 1, 0});
    put_i64(&c[1], (int64_t[]){-1}, 1);
    expect_rows(f, c, 2,
                "{\"m\":[{\"key\":7,\"value\":{\"H\":-1}},{\"key\":8,\"value\":{\"H\":null}},"
                "{\"key\":9,\"value\":null}]}\n{\"m\":[]}\n");
    for (int i = 0; i < 2; i++) free_col(&c[i]);
    free_file(f);
}

static void test_struct(void **state) {
    (void)state;
    static const nd_t nd[] = {
        {"schema", GROUP, R, 2, 0, 0, 0},
        {"s", GROUP, O, 2, 0, 0, 0},
        {"x", PQ_INT32, R, 0, 0, 0, 0},
        {"t", GROUP, O, 1, 0, 0, 0},
        {"y", PQ_BYTE_ARRAY, O, 0, CT(PQ_CT_UTF8), 0, 0},
        {"z", PQ_INT64, R, 0, 0, 0, 0},
    };
    st_pq_file_t *f = make_file(nd, 6);
    pq_column_data_t c[3];
    make_col(&c[0], f, 0, 4, (int16_t[]){1, 0, 1, 1}, NULL);
    put_i32(&c[0], (int32_t[]){1, 2, 3}, 3);
    make_col(&c[1], f, 1, 4, (int16_t[]){3, 0, 1, 2}, NULL);
    put_strs(&c[1], (const char *[]){"a"}, 1);
    make_col(&c[2], f, 2, 4, NULL, NULL);
    put_i64(&c[2], (int64_t[]){INT64_MIN, 0, 1, INT64_MAX}, 4);
    expect_rows(f, c, 4,
                "{\"s\":{\"x\":1,\"t\":{\"y\":\"a\"}},\"z\":-9223372036854775808}\n"
                "{\"s\":null,\"z\":0}\n"
                "{\"s\":{\"x\":2,\"t\":null},\"z\":1}\n"
                "{\"s\":{\"x\":3,\"t\":{\"y\":null}},\"z\":9223372036854775807}\n");
    /* x says the struct is present, y says it is null. */
    c[1].def[0] = 0;
    c[1].num_values = 0;
    c[1].offsets[1] = 0;
    c[1].values.len = 0;
    expect_corrupt(f, c, 4, "definition levels disagree");
    for (int i = 0; i < 3; i++) free_col(&c[i]);
    free_file(f);
}

static void test_list_of_struct(void **state) {
    (void)state;
    static const nd_t nd[] = {
        {"schema", GROUP, R, 1, 0, 0, 0},
        {"l", GROUP, O, 1, CT(PQ_CT_LIST), 0, 0},
        {"list", GROUP, P, 1, 0, 0, 0},
        {"element", GROUP, O, 2, 0, 0, 0},
        {"a", PQ_INT32, O, 0, 0, 0, 0},
        {"b", GROUP, O, 1, CT(PQ_CT_LIST), 0, 0},
        {"list", GROUP, P, 1, 0, 0, 0},
        {"element", PQ_INT32, R, 0, 0, 0, 0},
    };
    st_pq_file_t *f = make_file(nd, 8);
    pq_column_data_t c[2];
    make_col(&c[0], f, 0, 6, (int16_t[]){4, 3, 2, 4, 1, 0}, (int16_t[]){0, 1, 1, 1, 0, 0});
    put_i32(&c[0], (int32_t[]){1, 2}, 2);
    make_col(&c[1], f, 1, 7, (int16_t[]){5, 5, 4, 2, 3, 1, 0},
             (int16_t[]){0, 2, 1, 1, 1, 0, 0});
    put_i32(&c[1], (int32_t[]){10, 20}, 2);
    expect_rows(f, c, 3,
                "{\"l\":[{\"a\":1,\"b\":[10,20]},{\"a\":null,\"b\":[]},null,"
                "{\"a\":2,\"b\":null}]}\n{\"l\":[]}\n{\"l\":null}\n");
    /* A repetition level the schema cannot have at that point. */
    c[0].rep[1] = 0;
    expect_corrupt(f, c, 3, "");
    for (int i = 0; i < 2; i++) free_col(&c[i]);
    free_file(f);
}

static void test_list_of_lists(void **state) {
    (void)state;
    static const nd_t nd[] = {
        {"schema", GROUP, R, 2, 0, 0, 0},
        {"a", GROUP, O, 1, CT(PQ_CT_LIST), 0, 0},
        {"list", GROUP, P, 1, 0, 0, 0},
        {"element", GROUP, O, 1, CT(PQ_CT_LIST), 0, 0},
        {"list", GROUP, P, 1, 0, 0, 0},
        {"element", PQ_BYTE_ARRAY, O, 0, CT(PQ_CT_UTF8), 0, 0},
        {"b", PQ_INT32, R, 0, 0, 0, 0},
    };
    st_pq_file_t *f = make_file(nd, 7);
    pq_column_data_t c[2];
    /* [["a","b"],["c"],null,[],["d",null]] ; [] ; [[],[]] */
    make_col(&c[0], f, 0, 10, (int16_t[]){5, 5, 5, 2, 3, 5, 4, 1, 3, 3},
             (int16_t[]){0, 2, 1, 1, 1, 1, 2, 0, 0, 1});
    put_strs(&c[0], (const char *[]){"a", "b", "c", "d"}, 4);
    make_col(&c[1], f, 1, 3, NULL, NULL);
    put_i32(&c[1], (int32_t[]){1, 2, 3}, 3);
    expect_rows(f, c, 3,
                "{\"a\":[[\"a\",\"b\"],[\"c\"],null,[],[\"d\",null]],\"b\":1}\n"
                "{\"a\":[],\"b\":2}\n{\"a\":[[],[]],\"b\":3}\n");
    for (int i = 0; i < 2; i++) free_col(&c[i]);
    free_file(f);
}

static void test_legacy_lists(void **state) {
    (void)state;
    static const nd_t nd[] = {
        {"schema", GROUP, R, 4, 0, 0, 0},
        /* repeated primitive: elements are required ints */
        {"l1", GROUP, O, 1, CT(PQ_CT_LIST), 0, 0},
        {"element", PQ_INT32, P, 0, 0, 0, 0},
        /* repeated group named "array": the group is the element */
        {"l2", GROUP, O, 1, CT(PQ_CT_LIST), 0, 0},
        {"array", GROUP, P, 1, 0, 0, 0},
        {"x", PQ_INT32, O, 0, 0, 0, 0},
        /* "<name>_tuple": the group is the element */
        {"l3", GROUP, R, 1, CT(PQ_CT_LIST), 0, 0},
        {"l3_tuple", GROUP, P, 1, 0, 0, 0},
        {"v", PQ_INT32, R, 0, 0, 0, 0},
        /* repeated group with two fields: list of structs */
        {"l4", GROUP, O, 1, CT(PQ_CT_LIST), 0, 0},
        {"item", GROUP, P, 2, 0, 0, 0},
        {"p", PQ_INT32, R, 0, 0, 0, 0},
        {"q", PQ_INT32, O, 0, 0, 0, 0},
    };
    st_pq_file_t *f = make_file(nd, 13);
    pq_column_data_t c[5];
    make_col(&c[0], f, 0, 4, (int16_t[]){2, 2, 1, 0}, (int16_t[]){0, 1, 0, 0});
    put_i32(&c[0], (int32_t[]){1, 2}, 2);
    make_col(&c[1], f, 1, 4, (int16_t[]){3, 2, 1, 0}, (int16_t[]){0, 1, 0, 0});
    put_i32(&c[1], (int32_t[]){5}, 1);
    make_col(&c[2], f, 2, 3, (int16_t[]){1, 1, 0}, (int16_t[]){0, 0, 0});
    put_i32(&c[2], (int32_t[]){6, 7}, 2);
    make_col(&c[3], f, 3, 3, (int16_t[]){2, 0, 2}, (int16_t[]){0, 0, 0});
    put_i32(&c[3], (int32_t[]){8, 9}, 2);
    make_col(&c[4], f, 4, 3, (int16_t[]){3, 0, 2}, (int16_t[]){0, 0, 0});
    put_i32(&c[4], (int32_t[]){10}, 1);
    expect_rows(f, c, 3,
                "{\"l1\":[1,2],\"l2\":[{\"x\":5},{\"x\":null}],\"l3\":[{\"v\":6}],"
                "\"l4\":[{\"p\":8,\"q\":10}]}\n"
                "{\"l1\":[],\"l2\":[],\"l3\":[{\"v\":7}],\"l4\":null}\n"
                "{\"l1\":null,\"l2\":null,\"l3\":[],\"l4\":[{\"p\":9,\"q\":null}]}\n");
    for (int i = 0; i < 5; i++) free_col(&c[i]);
    free_file(f);
}

static void test_bare_repeated(void **state) {
    (void)state;
    static const nd_t nd[] = {
        {"schema", GROUP, R, 2, 0, 0, 0},
        {"r", PQ_INT32, P, 0, 0, 0, 0},
        {"g", GROUP, O, 1, 0, 0, 0},
        {"phone", GROUP, P, 2, 0, 0, 0},
        {"number", PQ_INT64, R, 0, 0, 0, 0},
        {"kind", PQ_BYTE_ARRAY, O, 0, CT(PQ_CT_UTF8), 0, 0},
    };
    st_pq_file_t *f = make_file(nd, 6);
    pq_column_data_t c[3];
    make_col(&c[0], f, 0, 4, (int16_t[]){1, 1, 0, 1}, (int16_t[]){0, 1, 0, 0});
    put_i32(&c[0], (int32_t[]){1, 2, 3}, 3);
    make_col(&c[1], f, 1, 5, (int16_t[]){2, 2, 1, 0, 0}, (int16_t[]){0, 1, 0, 0, 0});
    put_i64(&c[1], (int64_t[]){5555555555, 6}, 2);
    make_col(&c[2], f, 2, 5, (int16_t[]){3, 2, 1, 0, 0}, (int16_t[]){0, 1, 0, 0, 0});
    put_strs(&c[2], (const char *[]){"home"}, 1);
    /* Four rows in the third column's levels but three in the others. */
    expect_corrupt(f, c, 3, "column g.phone.number: 4 rows");
    c[1].num_levels = c[2].num_levels = 4;
    expect_rows(f, c, 3,
                "{\"r\":[1,2],\"g\":{\"phone\":[{\"number\":5555555555,\"kind\":\"home\"},"
                "{\"number\":6,\"kind\":null}]}}\n"
                "{\"r\":[],\"g\":{\"phone\":[]}}\n"
                "{\"r\":[3],\"g\":null}\n");
    for (int i = 0; i < 3; i++) free_col(&c[i]);
    free_file(f);
}

/* One value through pq_json_value. */
static const char *render1(pq_node_t *n, const void *bytes, size_t len, st_buf_t *out) {
    pq_vfmt_t v;
    pq_vfmt_for_node(n, &v);
    pq_column_data_t c;
    memset(&c, 0, sizeof c);
    c.physical = n->physical;
    uint32_t offs[2] = {0, (uint32_t)len};
    st_buf_append(&c.values, bytes, len);
    if (n->physical == PQ_BYTE_ARRAY) c.offsets = offs;
    c.num_values = 1;
    st_buf_reset(out);
    int rc = pq_json_value(out, &v, &c, 0);
    st_buf_free(&c.values);
    if (rc) return NULL;
    st_buf_append_byte(out, '\0');
    return (const char *)out->data;
}

static pq_node_t leaf(int phys, int conv, int lt, int tl) {
    pq_node_t n;
    memset(&n, 0, sizeof n);
    n.physical = phys;
    n.converted = conv ? conv - 1 : PQ_CT_NONE;
    n.has_logical = lt != 0;
    n.logical.id = lt;
    n.type_length = tl;
    n.scale = n.precision = -1;
    return n;
}

static void test_values(void **state) {
    (void)state;
    st_buf_t o = ST_BUF_INIT;
    pq_node_t n;

    n = leaf(PQ_INT32, CT(PQ_CT_UINT_32), 0, 0);
    assert_string_equal(render1(&n, (int32_t[]){-1}, 4, &o), "4294967295");
    n = leaf(PQ_INT64, 0, PQ_LT_INTEGER, 0);
    n.logical.bit_width = 64;
    n.logical.is_signed = false;
    n.converted = CT(PQ_CT_INT_64); /* logical wins */
    assert_string_equal(render1(&n, (int64_t[]){-1}, 8, &o), "18446744073709551615");

    n = leaf(PQ_FLOAT, 0, 0, 0);
    assert_string_equal(render1(&n, (float[]){1.1f}, 4, &o), "1.1");
    assert_string_equal(render1(&n, (float[]){INFINITY}, 4, &o), "\"Infinity\"");
    n = leaf(PQ_DOUBLE, 0, 0, 0);
    assert_string_equal(render1(&n, (double[]){1e21}, 8, &o), "1e+21");
    assert_string_equal(render1(&n, (double[]){-0.0}, 8, &o), "-0");

    n = leaf(PQ_FIXED_LEN_BYTE_ARRAY, 0, PQ_LT_FLOAT16, 2);
    assert_string_equal(render1(&n, "\x00\x3c", 2, &o), "1");         /* 1.0 */
    assert_string_equal(render1(&n, "\x01\x00", 2, &o), "5.9604645e-8");
    assert_string_equal(render1(&n, "\x00\xfc", 2, &o), "\"-Infinity\"");
    assert_string_equal(render1(&n, "\x01\x7e", 2, &o), "\"NaN\"");
    assert_string_equal(render1(&n, "\xff\x7b", 2, &o), "65504");

    n = leaf(PQ_BYTE_ARRAY, 0, 0, 0);
    assert_string_equal(render1(&n, "\x01\xab", 2, &o), "\"01ab\"");
    assert_string_equal(render1(&n, "", 0, &o), "\"\"");
    n = leaf(PQ_BYTE_ARRAY, 0, 999, 0); /* unknown logical type: raw bytes */
    assert_string_equal(render1(&n, "hi", 2, &o), "\"6869\"");
    n = leaf(PQ_BYTE_ARRAY, CT(PQ_CT_UTF8), 999, 0); /* unknown logical, known converted */
    assert_string_equal(render1(&n, "hi", 2, &o), "\"hi\"");
    n = leaf(PQ_BYTE_ARRAY, CT(PQ_CT_JSON), 0, 0);
    assert_string_equal(render1(&n, "{\"a\":\t1}", 8, &o), "\"{\\\"a\\\":\\t1}\"");
    n = leaf(PQ_BYTE_ARRAY, 0, PQ_LT_STRING, 0);
    assert_null(render1(&n, "\xff\xfe", 2, &o));
    assert_non_null(strstr(st_errmsg(), "UTF-8"));
    assert_string_equal(render1(&n, "\x01\x7f", 2, &o), "\"\\u0001\x7f\"");

    n = leaf(PQ_FIXED_LEN_BYTE_ARRAY, 0, PQ_LT_UUID, 16);
    assert_string_equal(render1(&n, "\x12\x34\x56\x78\x9a\xbc\xde\xf0\x01\x23\x45\x67\x89\xab\xcd\xef",
                                16, &o),
                        "\"12345678-9abc-def0-0123-456789abcdef\"");

    /* DECIMAL on every physical type. */
    n = leaf(PQ_INT32, CT(PQ_CT_DECIMAL), 0, 0);
    n.scale = 2;
    n.precision = 4;
    assert_string_equal(render1(&n, (int32_t[]){-5}, 4, &o), "\"-0.05\"");
    assert_string_equal(render1(&n, (int32_t[]){12345}, 4, &o), "\"123.45\"");
    assert_string_equal(render1(&n, (int32_t[]){0}, 4, &o), "\"0.00\"");
    n = leaf(PQ_INT64, 0, PQ_LT_DECIMAL, 0);
    n.logical.scale = 0;
    n.logical.precision = 18;
    assert_string_equal(render1(&n, (int64_t[]){INT64_MIN}, 8, &o), "\"-9223372036854775808\"");
    n = leaf(PQ_FIXED_LEN_BYTE_ARRAY, 0, PQ_LT_DECIMAL, 5);
    n.logical.scale = 2;
    assert_string_equal(render1(&n, "\xff\xff\xff\xff\x9c", 5, &o), "\"-1.00\"");
    n = leaf(PQ_BYTE_ARRAY, 0, PQ_LT_DECIMAL, 0);
    n.logical.scale = 3;
    assert_string_equal(render1(&n, "", 0, &o), "\"0.000\"");
    assert_string_equal(render1(&n, "\x80", 1, &o), "\"-0.128\"");
    /* 2^127 - 1 and -2^127 (16 bytes), and 2^160 (21 bytes). */
    assert_string_equal(render1(&n, "\x7f\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
                                16, &o),
                        "\"170141183460469231731687303715884105.727\"");
    assert_string_equal(render1(&n, "\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                                16, &o),
                        "\"-170141183460469231731687303715884105.728\"");
    assert_string_equal(
        render1(&n, "\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                21, &o),
        "\"1461501637330902918203684832716283019655932542.976\"");
    /* Sign-extension bytes in front do not change the value. */
    assert_string_equal(render1(&n, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe",
                                18, &o),
                        "\"-0.002\"");

    /* Dates, times, timestamps. */
    n = leaf(PQ_INT32, CT(PQ_CT_DATE), 0, 0);
    assert_string_equal(render1(&n, (int32_t[]){-1}, 4, &o), "\"1969-12-31\"");
    n = leaf(PQ_INT32, CT(PQ_CT_TIME_MILLIS), 0, 0);
    assert_string_equal(render1(&n, (int32_t[]){3723004}, 4, &o), "\"01:02:03.004Z\"");
    n = leaf(PQ_INT64, 0, PQ_LT_TIME, 0);
    n.logical.unit = PQ_NANOS;
    n.logical.utc = false;
    assert_string_equal(render1(&n, (int64_t[]){1}, 8, &o), "\"00:00:00.000000001\"");
    n = leaf(PQ_INT64, CT(PQ_CT_TIMESTAMP_MILLIS), 0, 0);
    assert_string_equal(render1(&n, (int64_t[]){-1}, 8, &o), "\"1969-12-31T23:59:59.999Z\"");
    n = leaf(PQ_INT64, CT(PQ_CT_TIMESTAMP_MILLIS), PQ_LT_TIMESTAMP, 0);
    n.logical.unit = PQ_MICROS;
    n.logical.utc = false;
    assert_string_equal(render1(&n, (int64_t[]){1}, 8, &o), "\"1970-01-01T00:00:00.000001\"");
    /* An annotation that does not fit the physical type is ignored. */
    n = leaf(PQ_INT32, 0, PQ_LT_TIMESTAMP, 0);
    n.logical.unit = PQ_MILLIS;
    assert_string_equal(render1(&n, (int32_t[]){7}, 4, &o), "7");

    /* INT96: nanoseconds of day + Julian day, including out-of-range parts. */
    n = leaf(PQ_INT96, 0, 0, 0);
    uint8_t i96[12] = {1, 0, 0, 0, 0, 0, 0, 0, 0x8c, 0x3d, 0x25, 0};
    assert_string_equal(render1(&n, i96, 12, &o), "\"1970-01-01T00:00:00.000000001\"");
    int64_t neg = -1;
    memcpy(i96, &neg, 8);
    assert_string_equal(render1(&n, i96, 12, &o), "\"1969-12-31T23:59:59.999999999\"");
    int64_t big = INT64_MAX;
    int32_t jd = INT32_MAX;
    memcpy(i96, &big, 8);
    memcpy(i96 + 8, &jd, 4);
    assert_non_null(render1(&n, i96, 12, &o));
    assert_non_null(strstr((const char *)o.data, "T23:47:16.854775807"));

    n = leaf(PQ_BOOLEAN, 0, 0, 0);
    assert_string_equal(render1(&n, "\x01", 1, &o), "true");
    st_buf_free(&o);
}

static void test_decimal_direct(void **state) {
    (void)state;
    st_buf_t o = ST_BUF_INIT;
    assert_int_equal(pq_decimal_append(&o, (const uint8_t *)"\x04\xd2", 2, 6), 0);
    assert_memory_equal(o.data, "0.001234", 8);
    st_buf_reset(&o);
    assert_int_equal(pq_decimal_append(&o, (const uint8_t *)"\x04\xd2", 2, -1), ST_ECORRUPT);
    /* A 64-byte value: -1 sign-extended. */
    uint8_t wide[64];
    memset(wide, 0xff, sizeof wide);
    assert_int_equal(pq_decimal_append(&o, wide, sizeof wide, 1), 0);
    assert_memory_equal(o.data, "-0.1", 4);
    assert_int_equal(o.len, 4);
    st_buf_free(&o);
    assert_true(pq_half_to_float(0x3555) > 0.333f && pq_half_to_float(0x3555) < 0.334f);
}

static int stop_after_one(void *ctx, const char *line, size_t n) {
    (void)line, (void)n;
    int *count = ctx;
    return ++*count == 1 ? 0 : 42;
}

static void test_emit_stops(void **state) {
    (void)state;
    static const nd_t nd[] = {{"schema", GROUP, R, 1, 0, 0, 0}, {"a", PQ_INT32, R, 0, 0, 0, 0}};
    st_pq_file_t *f = make_file(nd, 2);
    pq_column_data_t c;
    make_col(&c, f, 0, 3, NULL, NULL);
    put_i32(&c, (int32_t[]){1, 2, 3}, 3);
    pq_plan_t *p;
    assert_int_equal(pq_plan_build(f, NULL, 0, &p), 0);
    assert_true(p->flat);
    const pq_column_data_t *ptrs[1] = {&c};
    int count = 0;
    int64_t emitted = 0;
    assert_int_equal(pq_plan_emit(p, f, 0, ptrs, 3, -1, stop_after_one, &count, &emitted), 42);
    assert_int_equal(emitted, 1);
    /* Declared levels that disagree with the schema's. */
    c.max_def = 1;
    assert_int_equal(pq_plan_emit(p, f, 0, ptrs, 3, -1, stop_after_one, &count, &emitted),
                     ST_ECORRUPT);
    c.max_def = 0;
    /* Fewer value bytes than values. */
    c.values.len = 8;
    assert_int_equal(pq_plan_emit(p, f, 0, ptrs, 3, -1, stop_after_one, &count, &emitted),
                     ST_ECORRUPT);
    pq_plan_free(p);
    free_col(&c);
    free_file(f);
}


/* A tiny Dremel shredder for one schema, the oracle for random records:
 *   l: optional LIST<optional struct{a: optional int32,
 *                                    m: optional MAP<string, repeated int64>}>
 *   r: repeated int32
 * Leaves: 0 = a (def 4, rep 1), 1 = key (def 5, rep 2), 2 = value (def 6,
 * rep 3), 3 = r (def 1, rep 1). */
typedef struct shred {
    int16_t def[4][512], rep[4][512];
    int n[4];
    int64_t ival[4][512];
    int nv[4];
    st_buf_t json;
    uint64_t seed;
} shred_t;

static unsigned rnd(shred_t *s, unsigned n) {
    s->seed = s->seed * 6364136223846793005u + 1442695040888963407u;
    return (unsigned)((s->seed >> 33) % n);
}

static void lvl(shred_t *s, int leaf, int rep, int def, bool present, int64_t v) {
    s->def[leaf][s->n[leaf]] = (int16_t)def;
    s->rep[leaf][s->n[leaf]++] = (int16_t)rep;
    if (present) s->ival[leaf][s->nv[leaf]++] = v;
}

static void jsonf(shred_t *s, const char *fmt, long long v) { st_buf_printf(&s->json, fmt, v); }

static void gen_element(shred_t *s, int rep) {
    if (rnd(s, 5) == 0) { /* null element */
        for (int l = 0; l < 3; l++) lvl(s, l, rep, 2, false, 0);
        jsonf(s, "null", 0);
        return;
    }
    st_buf_append_str(&s->json, "{\"a\":");
    if (rnd(s, 3) == 0) {
        lvl(s, 0, rep, 3, false, 0);
        jsonf(s, "null", 0);
    } else {
        int64_t v = (int64_t)rnd(s, 1000) - 500;
        lvl(s, 0, rep, 4, true, v);
        jsonf(s, "%lld", v);
    }
    st_buf_append_str(&s->json, ",\"m\":");
    unsigned mk = rnd(s, 5);
    if (mk == 0 || mk == 1) { /* null or empty map */
        lvl(s, 1, rep, 3 + (int)mk, false, 0);
        lvl(s, 2, rep, 3 + (int)mk, false, 0);
        st_buf_append_str(&s->json, mk ? "[]" : "null");
    } else {
        st_buf_append_byte(&s->json, '[');
        for (unsigned e = 0; e < mk - 1; e++) {
            int erep = e ? 2 : rep;
            int64_t key = (int64_t)rnd(s, 100);
            lvl(s, 1, erep, 5, true, key);
            jsonf(s, e ? ",{\"key\":\"k%lld\",\"value\":[" : "{\"key\":\"k%lld\",\"value\":[", key);
            unsigned nvals = rnd(s, 4);
            if (nvals == 0) lvl(s, 2, erep, 5, false, 0);
            for (unsigned k = 0; k < nvals; k++) {
                int64_t v = (int64_t)rnd(s, 1 << 20) * 4096;
                lvl(s, 2, k ? 3 : erep, 6, true, v);
                jsonf(s, k ? ",%lld" : "%lld", v);
            }
            st_buf_append_str(&s->json, "]}");
        }
        st_buf_append_byte(&s->json, ']');
    }
    st_buf_append_byte(&s->json, '}');
}

static void gen_row(shred_t *s) {
    st_buf_append_str(&s->json, "{\"l\":");
    unsigned k = rnd(s, 6);
    if (k == 0 || k == 1) { /* null or empty list */
        for (int l = 0; l < 3; l++) lvl(s, l, 0, (int)k, false, 0);
        st_buf_append_str(&s->json, k ? "[]" : "null");
    } else {
        st_buf_append_byte(&s->json, '[');
        for (unsigned e = 0; e < k - 1; e++) {
            if (e) st_buf_append_byte(&s->json, ',');
            gen_element(s, e ? 1 : 0);
        }
        st_buf_append_byte(&s->json, ']');
    }
    st_buf_append_str(&s->json, ",\"r\":[");
    unsigned nr = rnd(s, 4);
    if (nr == 0) lvl(s, 3, 0, 0, false, 0);
    for (unsigned i = 0; i < nr; i++) {
        int64_t v = (int64_t)rnd(s, 100);
        lvl(s, 3, i ? 1 : 0, 1, true, v);
        jsonf(s, i ? ",%lld" : "%lld", v);
    }
    st_buf_append_str(&s->json, "]}\n");
}

/* Random records through the shredder and back must come out identical; with
 * one level or value count corrupted the result is those rows or
 * ST_ECORRUPT, never a crash or an out-of-bounds read (run under ASan too). */
static void test_random_records(void **state) {
    (void)state;
    static const nd_t nd[] = {
        {"schema", GROUP, R, 2, 0, 0, 0},
        {"l", GROUP, O, 1, CT(PQ_CT_LIST), 0, 0},
        {"list", GROUP, P, 1, 0, 0, 0},
        {"element", GROUP, O, 2, 0, 0, 0},
        {"a", PQ_INT32, O, 0, 0, 0, 0},
        {"m", GROUP, O, 1, CT(PQ_CT_MAP), 0, 0},
        {"key_value", GROUP, P, 2, 0, 0, 0},
        {"key", PQ_BYTE_ARRAY, R, 0, CT(PQ_CT_UTF8), 0, 0},
        {"value", PQ_INT64, P, 0, 0, 0, 0},
        {"r", PQ_INT32, P, 0, 0, 0, 0},
    };
    st_pq_file_t *f = make_file(nd, 10);
    pq_plan_t *p;
    assert_int_equal(pq_plan_build(f, NULL, 0, &p), 0);
    assert_false(p->flat);
    shred_t *s = calloc(1, sizeof *s);
    s->seed = 42;
    st_buf_t out = ST_BUF_INIT;
    int corrupt_seen = 0;
    for (int iter = 0; iter < 2000; iter++) {
        memset(s->n, 0, sizeof s->n);
        memset(s->nv, 0, sizeof s->nv);
        st_buf_reset(&s->json);
        int64_t nrows = 1 + rnd(s, 4);
        for (int64_t r = 0; r < nrows; r++) gen_row(s);
        bool mutate = iter % 2 == 1;
        int ml = (int)rnd(s, 4), mi = (int)rnd(s, (unsigned)s->n[ml]);
        pq_column_data_t c[4];
        const pq_column_data_t *ptrs[4];
        for (int l = 0; l < 4; l++) {
            make_col(&c[l], f, l, s->n[l], s->def[l], s->rep[l]);
            if (mutate && l == ml) {
                const pq_node_t *x = &f->nodes[f->leaf_nodes[l]];
                if (rnd(s, 2)) c[l].def[mi] = (int16_t)rnd(s, (unsigned)x->max_def + 1);
                else c[l].rep[mi] = (int16_t)rnd(s, (unsigned)x->max_rep + 1);
                c[l].num_values = 0;
                for (int i = 0; i < s->n[l]; i++) c[l].num_values += c[l].def[i] == x->max_def;
            }
            assert_true(c[l].num_values <= s->nv[l] + 1);
            if (l == 1) {
                char keys[512][8];
                const char *kp[512];
                for (int64_t i = 0; i < c[l].num_values; i++) {
                    snprintf(keys[i], sizeof keys[i], "k%lld",
                             (long long)(i < s->nv[l] ? s->ival[l][i] : 0));
                    kp[i] = keys[i];
                }
                put_strs(&c[l], kp, (int)c[l].num_values);
            } else {
                for (int64_t i = 0; i < c[l].num_values; i++) {
                    int64_t v = i < s->nv[l] ? s->ival[l][i] : 0;
                    if (l == 2) put_i64(&c[l], &v, 1);
                    else put_i32(&c[l], (int32_t[]){(int32_t)v}, 1);
                }
            }
            ptrs[l] = &c[l];
        }
        int64_t emitted = 0;
        st_buf_reset(&out);
        int rc = pq_plan_emit(p, f, 0, ptrs, nrows, -1, collect, &out, &emitted);
        if (!mutate) {
            if (rc) fprintf(stderr, "iteration %d: %s\n", iter, st_errmsg());
            assert_int_equal(rc, 0);
            assert_int_equal(emitted, nrows);
            assert_int_equal(out.len, s->json.len);
            assert_memory_equal(out.data, s->json.data, out.len);
        } else {
            assert_true(rc == 0 || rc == ST_ECORRUPT);
            corrupt_seen += rc == ST_ECORRUPT;
        }
        for (int l = 0; l < 4; l++) free_col(&c[l]);
    }
    assert_true(corrupt_seen > 100);
    st_buf_free(&out);
    st_buf_free(&s->json);
    free(s);
    pq_plan_free(p);
    free_file(f);
}

/* ---- through real files (the conformance corpus) ---- */

static st_pq_file_t *open_corpus(const char *name) {
    const char *dir = st_test_corpus_or_skip();
    if (!dir) return NULL;
    char path[4300];
    snprintf(path, sizeof path, "%s/files/%s", dir, name);
    st_pq_file_t *f = NULL;
    if (st_pq_open_path(path, &f)) fail_msg("%s: %s", path, st_errmsg());
    return f;
}

static int scan_all(st_pq_file_t *f, const st_pq_scan_t *scan, st_buf_t *out) {
    st_buf_reset(out);
    int rc = st_pq_scan_json(f, scan, collect, out);
    st_buf_append_byte(out, '\0');
    out->len--;
    return rc;
}

/* Splits "a\nb\n" in place into lines; returns the count. */
static int split_lines(char *s, char **lines, int max) {
    int n = 0;
    for (char *p = s; *p && n < max; n++) {
        lines[n] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = '\0';
        p = nl + 1;
    }
    return n;
}

static void test_scan_options(void **state) {
    (void)state;
    st_pq_file_t *f = open_corpus("floating_orders_nan_count.parquet");
    if (!f) return;
    assert_int_equal(st_pq_num_row_groups(f), 5);
    int ncols = st_pq_num_columns(f);
    assert_true(ncols >= 3);
    st_buf_t all = ST_BUF_INIT, part = ST_BUF_INIT;
    assert_int_equal(scan_all(f, NULL, &all), 0);
    char *full[64], *got[64];
    int nfull = split_lines((char *)all.data, full, 64);
    assert_int_equal(nfull, (int)st_pq_num_rows(f));

    /* Row groups 1 and 3, columns 2 then 0, at most 15 rows. */
    bool rgs[5] = {false, true, false, true, false};
    int cols[2] = {2, 0};
    st_pq_scan_t scan = {cols, 2, rgs, 15};
    assert_int_equal(scan_all(f, &scan, &part), 0);
    int ngot = split_lines((char *)part.data, got, 64);
    int64_t r1 = st_pq_row_group_num_rows(f, 0), r2 = st_pq_row_group_num_rows(f, 1);
    int64_t want = r2 + st_pq_row_group_num_rows(f, 3);
    assert_int_equal(ngot, want < 15 ? want : 15);
    for (int i = 0; i < ngot; i++) {
        /* Row i of the selection is row r1 + i of the file, or beyond rg 2. */
        int64_t src = i < r2 ? r1 + i : r1 + r2 + st_pq_row_group_num_rows(f, 2) + (i - r2);
        json_t *a = json_loads(got[i], 0, NULL), *b = json_loads(full[src], 0, NULL);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(json_object_size(a), 2);
        const char *k2 = st_pq_column_name(f, 2), *k0 = st_pq_column_name(f, 0);
        assert_true(json_equal(json_object_get(a, k2), json_object_get(b, k2)));
        assert_true(json_equal(json_object_get(a, k0), json_object_get(b, k0)));
        /* Projection order, not file order. */
        char key[256];
        snprintf(key, sizeof key, "{\"%s\":", k2);
        assert_memory_equal(got[i], key, strlen(key));
        json_decref(a);
        json_decref(b);
    }
    /* limit 0 emits nothing; a bad column index is refused. */
    st_pq_scan_t none = {NULL, 0, NULL, 0};
    assert_int_equal(scan_all(f, &none, &part), 0);
    assert_int_equal(part.len, 0);
    int bad = ncols;
    st_pq_scan_t badscan = {&bad, 1, NULL, -1};
    assert_int_equal(scan_all(f, &badscan, &part), ST_EINVAL);
    st_buf_free(&all);
    st_buf_free(&part);
    st_pq_close(f);
}

static void test_batches(void **state) {
    (void)state;
    st_pq_file_t *f = open_corpus("alltypes_plain.parquet");
    if (!f) return;
    const st_field_t *fs;
    int nf;
    assert_int_equal(st_pq_fields(f, &fs, &nf), 0);
    assert_int_equal(nf, 11);
    assert_string_equal(fs[0].name, "id");
    assert_int_equal(fs[0].type.id, ST_TYPE_INT32);
    assert_true(fs[0].nullable);
    assert_int_equal(fs[1].type.id, ST_TYPE_BOOL);
    assert_int_equal(fs[3].type.id, ST_TYPE_INT32); /* no INT_16 annotation in this file */
    assert_int_equal(fs[5].type.id, ST_TYPE_INT64);
    assert_int_equal(fs[6].type.id, ST_TYPE_FLOAT);
    assert_int_equal(fs[7].type.id, ST_TYPE_DOUBLE);
    assert_int_equal(fs[9].type.id, ST_TYPE_BINARY);
    assert_int_equal(fs[10].type.id, ST_TYPE_TIMESTAMP);
    assert_int_equal(fs[10].type.unit, ST_UNIT_NS);
    assert_false(fs[10].type.utc);
    /* Cached: the same array again. */
    const st_field_t *fs2;
    assert_int_equal(st_pq_fields(f, &fs2, &nf), 0);
    assert_ptr_equal(fs, fs2);

    st_batch_t *b;
    int cols[2] = {10, 0};
    assert_int_equal(st_pq_read_row_group(f, 0, cols, 2, &b), 0);
    assert_int_equal(b->ncols, 2);
    assert_int_equal(b->nrows, 8);
    assert_string_equal(b->cols[0].field.name, "timestamp_col");
    assert_int_equal(b->cols[1].length, 8);
    st_buf_t v = ST_BUF_INIT;
    assert_int_equal(st_col_value_json(&b->cols[0], 0, &v), 0);
    assert_memory_equal(v.data, "\"2009-03-01T00:00:00.000000000\"", v.len);
    assert_int_equal(st_col_get_i64(&b->cols[1], 0), 4);
    st_buf_free(&v);
    st_batch_free(b);
    assert_int_equal(st_pq_read_row_group(f, 1, NULL, 0, &b), ST_EINVAL);
    int badcol = 11;
    assert_int_equal(st_pq_read_row_group(f, 0, &badcol, 1, &b), ST_EINVAL);
    st_pq_close(f);

    /* A nested file: no flat mapping, but its flat columns still read. */
    f = open_corpus("nested_lists.snappy.parquet");
    assert_non_null(f);
    assert_int_equal(st_pq_fields(f, &fs, &nf), ST_EUNSUPPORTED);
    assert_non_null(strstr(st_errmsg(), "column a is nested"));
    int a = 0, bcol = 1;
    assert_int_equal(st_pq_read_row_group(f, 0, &a, 1, &b), ST_EUNSUPPORTED);
    assert_int_equal(st_pq_read_row_group(f, 0, &bcol, 1, &b), 0);
    assert_int_equal(b->nrows, 3);
    assert_int_equal(b->cols[0].null_count, 0);
    for (int i = 0; i < 3; i++) assert_int_equal(st_col_get_i64(&b->cols[0], i), 1);
    st_batch_free(b);
    st_pq_close(f);

    /* Nulls in a string and an integer column, decimals. */
    f = open_corpus("int32_decimal.parquet");
    assert_non_null(f);
    assert_int_equal(st_pq_fields(f, &fs, &nf), 0);
    assert_int_equal(fs[0].type.id, ST_TYPE_DECIMAL);
    assert_int_equal(fs[0].type.precision, 4);
    assert_int_equal(fs[0].type.scale, 2);
    st_pq_close(f);
    f = open_corpus("delta_encoding_optional_column.parquet");
    assert_non_null(f);
    assert_int_equal(st_pq_read_row_group(f, 0, NULL, 0, &b), 0);
    int64_t nulls = 0;
    for (int c = 0; c < b->ncols; c++) {
        nulls += b->cols[c].null_count;
        int64_t counted = 0;
        for (int64_t r = 0; r < b->nrows; r++) counted += st_col_is_null(&b->cols[c], r);
        assert_int_equal(counted, b->cols[c].null_count);
    }
    assert_true(nulls > 0);
    st_batch_free(b);
    st_pq_close(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat),           cmocka_unit_test(test_optional_list),
        cmocka_unit_test(test_map),            cmocka_unit_test(test_legacy_map),
        cmocka_unit_test(test_struct),         cmocka_unit_test(test_list_of_struct),
        cmocka_unit_test(test_list_of_lists),  cmocka_unit_test(test_legacy_lists),
        cmocka_unit_test(test_bare_repeated),  cmocka_unit_test(test_values),
        cmocka_unit_test(test_decimal_direct), cmocka_unit_test(test_emit_stops),
        cmocka_unit_test(test_random_records),  cmocka_unit_test(test_scan_options),
        cmocka_unit_test(test_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
