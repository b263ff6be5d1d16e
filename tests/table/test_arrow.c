/* Unit tests of the Arrow C Data Interface export and import. */
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

static const char *type_names[] = {
    "bool",          "int8",         "int16",    "int32",         "int64",
    "uint8",         "uint16",       "uint32",   "uint64",        "float",
    "double",        "string",       "binary",   "fixed(3)",      "date",
    "time(ms)",      "time(us)",     "time(ns)", "timestamp(ms)", "timestamp(us, UTC)",
    "timestamp(ns)", "decimal(8,3)", "uuid",     "json"};
static const char *arrow_formats[] = {
    "b", "c",   "s",   "i",   "l",   "C",   "S",    "I",       "L",    "f",     "g",    "u",
    "z", "w:3", "tdD", "ttm", "ttu", "ttn", "tsm:", "tsu:UTC", "tsn:", "d:8,3", "w:16", "u"};
#define NTYPES ((int)(sizeof type_names / sizeof type_names[0]))

/* Values per type as canonical-JSON text that st_col_value_json must give back,
 * appended through the typed API. Row 1 is null everywhere. */
static void append_row(st_column_t *c, int row) {
    const st_type_t *t = &c->field.type;
    if (row == 1) {
        assert_int_equal(st_col_append_null(c), 0);
        return;
    }
    int64_t k = row + 1;
    switch (t->id) {
    case ST_TYPE_BOOL: assert_int_equal(st_col_append_bool(c, row % 2 == 0), 0); break;
    case ST_TYPE_UINT8:
    case ST_TYPE_UINT16:
    case ST_TYPE_UINT32:
    case ST_TYPE_UINT64: assert_int_equal(st_col_append_u64(c, (uint64_t)k * 7), 0); break;
    case ST_TYPE_FLOAT:
    case ST_TYPE_DOUBLE: assert_int_equal(st_col_append_double(c, (double)k / 4), 0); break;
    case ST_TYPE_STRING: {
        char s[32];
        snprintf(s, sizeof s, "row \"%d\"", row);
        assert_int_equal(st_col_append_bytes(c, s, strlen(s)), 0);
        break;
    }
    case ST_TYPE_JSON: {
        char s[32];
        snprintf(s, sizeof s, "{\"n\":%d}", row);
        assert_int_equal(st_col_append_bytes(c, s, strlen(s)), 0);
        break;
    }
    case ST_TYPE_BINARY: {
        uint8_t v[4] = {0xde, 0xad, (uint8_t)row, 0};
        assert_int_equal(st_col_append_bytes(c, v, (size_t)(row % 4)), 0);
        break;
    }
    case ST_TYPE_FIXED: {
        uint8_t v[3] = {1, 2, (uint8_t)row};
        assert_int_equal(st_col_append_bytes(c, v, 3), 0);
        break;
    }
    case ST_TYPE_UUID: {
        uint8_t u[16];
        for (int i = 0; i < 16; i++)
            u[i] = (uint8_t)(row * 16 + i);
        assert_int_equal(st_col_append_bytes(c, u, 16), 0);
        break;
    }
    default: assert_int_equal(st_col_append_i64(c, -k * 10 + (row == 0 ? 0 : 3)), 0); break;
    }
}

static st_batch_t *all_types_batch(int nrows) {
    st_field_t fields[NTYPES];
    char names[NTYPES][16];
    for (int i = 0; i < NTYPES; i++) {
        snprintf(names[i], sizeof names[i], "c%d", i);
        fields[i].name = names[i];
        assert_int_equal(st_type_parse(type_names[i], &fields[i].type), 0);
        fields[i].nullable = i % 2 == 0;
    }
    st_batch_t *b;
    assert_int_equal(st_batch_new(fields, NTYPES, &b), 0);
    for (int r = 0; r < nrows; r++) {
        for (int i = 0; i < NTYPES; i++) {
            if (b->cols[i].field.type.id == ST_TYPE_TIME && r != 1) {
                assert_int_equal(st_col_append_i64(&b->cols[i], r * 1000 + 7), 0);
                continue;
            }
            append_row(&b->cols[i], r);
        }
        assert_int_equal(st_batch_end_row(b), 0);
    }
    return b;
}

/* JSON of every cell, one line per row. */
static char *batch_text(const st_batch_t *b, int64_t from, int64_t count) {
    st_buf_t out = ST_BUF_INIT;
    for (int64_t r = from; r < from + count; r++) {
        for (int i = 0; i < b->ncols; i++) {
            assert_int_equal(st_col_value_json(&b->cols[i], r, &out), 0);
            assert_int_equal(st_buf_append_byte(&out, i + 1 < b->ncols ? ',' : '\n'), 0);
        }
    }
    assert_int_equal(st_buf_append_byte(&out, 0), 0);
    return (char *)st_buf_detach(&out, NULL);
}

/* Lines [from, from + count) of a text made by batch_text. */
static char *batch_text_lines(const char *text, int from, int count) {
    const char *p = text;
    for (int i = 0; i < from; i++)
        p = strchr(p, '\n') + 1;
    const char *e = p;
    for (int i = 0; i < count; i++)
        e = strchr(e, '\n') + 1;
    return strndup(p, (size_t)(e - p));
}

static bool metadata_value(const char *md, const char *key, const char **value, int32_t *vlen) {
    if (!md) return false;
    int32_t n;
    memcpy(&n, md, 4);
    const char *p = md + 4;
    for (int i = 0; i < n; i++) {
        int32_t kl, vl;
        memcpy(&kl, p, 4);
        memcpy(&vl, p + 4 + kl, 4);
        if ((size_t)kl == strlen(key) && !memcmp(p + 4, key, (size_t)kl)) {
            *value = p + 8 + kl;
            *vlen = vl;
            return true;
        }
        p += 8 + kl + vl;
    }
    return false;
}

static void test_export_layout(void **state) {
    (void)state;
    st_batch_t *b = all_types_batch(10);
    char *before = batch_text(b, 0, 10);
    struct ArrowSchema schema;
    struct ArrowArray array;
    assert_int_equal(st_batch_export(&b, &schema, &array), 0);
    assert_null(b);
    assert_string_equal(schema.format, "+s");
    assert_int_equal(schema.n_children, NTYPES);
    assert_int_equal(array.length, 10);
    assert_int_equal(array.n_children, NTYPES);
    assert_int_equal(array.n_buffers, 1);
    assert_null(array.buffers[0]);
    for (int i = 0; i < NTYPES; i++) {
        const struct ArrowSchema *cs = schema.children[i];
        const struct ArrowArray *ca = array.children[i];
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        assert_string_equal(cs->name, name);
        assert_string_equal(cs->format, arrow_formats[i]);
        assert_int_equal(cs->flags, i % 2 == 0 ? ARROW_FLAG_NULLABLE : 0);
        assert_int_equal(ca->length, 10);
        assert_int_equal(ca->offset, 0);
        assert_int_equal(ca->null_count, 1);
        /* Row 1 is the only null. */
        const uint8_t *valid = ca->buffers[0];
        assert_non_null(valid);
        assert_int_equal(valid[0], 0xfd);
        assert_int_equal(valid[1] & 0x03, 0x03);
        bool varlen = !strcmp(cs->format, "u") || !strcmp(cs->format, "z");
        assert_int_equal(ca->n_buffers, varlen ? 3 : 2);
        const char *ext = NULL;
        int32_t elen = 0;
        bool has_ext = metadata_value(cs->metadata, "ARROW:extension:name", &ext, &elen);
        if (!strcmp(type_names[i], "uuid")) {
            assert_true(has_ext);
            assert_int_equal(elen, 10);
            assert_memory_equal(ext, "arrow.uuid", 10);
        } else if (!strcmp(type_names[i], "json")) {
            assert_true(has_ext);
            assert_int_equal(elen, 10);
            assert_memory_equal(ext, "arrow.json", 10);
        } else {
            assert_false(has_ext);
        }
        if (varlen) {
            const int32_t *off = ca->buffers[1];
            assert_int_equal(off[0], 0);
            assert_int_equal(off[1], off[2]); /* the null row is empty */
            for (int r = 0; r < 10; r++)
                assert_true(off[r] <= off[r + 1]);
        }
    }
    /* Spot checks of the raw buffers. */
    const int32_t *i32 = array.children[3]->buffers[1];
    assert_int_equal(i32[0], -10);
    assert_int_equal(i32[2], -27);
    const uint8_t *bools = array.children[0]->buffers[1];
    assert_int_equal(bools[0] & 0x05, 0x05); /* rows 0 and 2 true */
    const uint8_t *dec = array.children[21]->buffers[1];
    int64_t lo;
    memcpy(&lo, dec, 8);
    assert_int_equal(lo, -10);
    const int32_t *off = array.children[11]->buffers[1];
    const char *data = array.children[11]->buffers[2];
    assert_memory_equal(data + off[0], "row \"0\"", 7);

    /* Import gives back the same values. */
    st_batch_t *back;
    assert_int_equal(st_batch_import(&schema, &array, &back), 0);
    assert_int_equal(back->nrows, 10);
    char *after = batch_text(back, 0, 10);
    assert_string_equal(before, after);
    for (int i = 0; i < NTYPES; i++) {
        char t[48];
        st_type_format(&back->cols[i].field.type, t, sizeof t);
        assert_string_equal(t, type_names[i]);
        assert_int_equal(back->cols[i].field.nullable, i % 2 == 0);
    }
    st_batch_free(back);

    /* Slices: a parent offset, then child offsets, select the same rows. */
    char *want = batch_text_lines(before, 3, 5);
    array.offset = 3;
    array.length = 5;
    assert_int_equal(st_batch_import(&schema, &array, &back), 0);
    char *got = batch_text(back, 0, 5);
    assert_string_equal(got, want);
    free(got);
    st_batch_free(back);
    array.offset = 0;
    for (int i = 0; i < NTYPES; i++) {
        array.children[i]->offset = 3;
        array.children[i]->length = 7;
    }
    assert_int_equal(st_batch_import(&schema, &array, &back), 0);
    got = batch_text(back, 0, 5);
    assert_string_equal(got, want);
    free(got);
    free(want);
    st_batch_free(back);
    /* Children shorter than the struct needs are refused. */
    array.length = 10;
    assert_int_equal(st_batch_import(&schema, &array, &back), ST_EINVAL);
    assert_string_equal(st_errmsg(), "Arrow column 'c0': 7 values for 10 rows");
    for (int i = 0; i < NTYPES; i++) {
        array.children[i]->offset = 0;
        array.children[i]->length = 10;
    }

    free(before);
    free(after);
    schema.release(&schema);
    array.release(&array);
    assert_null(schema.release);
    assert_null(array.release);
}

static void test_export_without_nulls_and_empty(void **state) {
    (void)state;
    st_field_t f[2];
    f[0] = (st_field_t){"s", {0}, true};
    f[1] = (st_field_t){"i", {0}, true};
    assert_int_equal(st_type_parse("string", &f[0].type), 0);
    assert_int_equal(st_type_parse("int64", &f[1].type), 0);
    st_batch_t *b;
    assert_int_equal(st_batch_new(f, 2, &b), 0);
    struct ArrowSchema schema;
    struct ArrowArray array;
    assert_int_equal(st_batch_export(&b, &schema, &array), 0);
    assert_int_equal(array.length, 0);
    const struct ArrowArray *s = array.children[0];
    assert_null(s->buffers[0]);
    assert_non_null(s->buffers[1]);
    assert_non_null(s->buffers[2]);
    assert_int_equal(((const int32_t *)s->buffers[1])[0], 0);
    assert_non_null(array.children[1]->buffers[1]);
    st_batch_t *back;
    assert_int_equal(st_batch_import(&schema, &array, &back), 0);
    assert_int_equal(back->nrows, 0);
    assert_int_equal(back->ncols, 2);
    st_batch_free(back);
    array.release(&array);
    schema.release(&schema);

    /* No nulls: no validity buffer. */
    assert_int_equal(st_batch_new(f, 2, &b), 0);
    for (int r = 0; r < 3; r++) {
        assert_int_equal(st_col_append_bytes(&b->cols[0], "ab", 2), 0);
        assert_int_equal(st_col_append_i64(&b->cols[1], r), 0);
        assert_int_equal(st_batch_end_row(b), 0);
    }
    assert_int_equal(st_batch_export(&b, &schema, &array), 0);
    assert_null(array.children[0]->buffers[0]);
    assert_null(array.children[1]->buffers[0]);
    assert_int_equal(array.children[1]->null_count, 0);
    array.release(&array);
    schema.release(&schema);
}

static void test_move_child_out(void **state) {
    (void)state;
    st_batch_t *b = all_types_batch(4);
    struct ArrowSchema schema;
    struct ArrowArray array;
    assert_int_equal(st_batch_export(&b, &schema, &array), 0);
    /* A consumer may move a child out and release the parent first. */
    struct ArrowArray child = *array.children[11];
    array.children[11]->release = NULL;
    struct ArrowSchema child_schema = *schema.children[11];
    schema.children[11]->release = NULL;
    array.release(&array);
    schema.release(&schema);
    assert_string_equal(child_schema.format, "u");
    assert_string_equal(child_schema.name, "c11");
    const int32_t *off = child.buffers[1];
    const char *data = child.buffers[2];
    assert_memory_equal(data + off[3], "row \"3\"", 7);
    child.release(&child);
    child_schema.release(&child_schema);
    assert_null(child.release);
}

/* ---- hand-made Arrow input with offsets ---- */

static void noop_release_array(struct ArrowArray *a) { a->release = NULL; }
static void noop_release_schema(struct ArrowSchema *s) { s->release = NULL; }

static void test_import_offsets(void **state) {
    (void)state;
    /* Child 0: int32 with 8 values, child offset 2; child 1: utf8 with offset 1 and a
     * null; child 2: bool with offset 3; the parent struct has offset 1, length 4 and
     * marks its row 2 (absolute index 3) null. */
    int32_t ints[8] = {10, 11, 12, 13, 14, 15, 16, 17};
    uint8_t int_valid[1] = {0xff & ~(1u << 5)}; /* index 5 null */
    int32_t offs[8] = {0, 1, 3, 6, 10, 10, 15, 21};
    const char *chars = "abbcccddddeeeeeffffff";
    uint8_t str_valid[1] = {0xff & ~(1u << 4)}; /* index 4 (empty span) null */
    uint8_t bools[2] = {0xaa, 0x00};            /* 1010 1010 */
    const void *b0[2] = {int_valid, ints};
    const void *b1[3] = {str_valid, offs, chars};
    const void *b2[2] = {NULL, bools};
    uint8_t parent_valid[1] = {0xff & ~(1u << 3)};
    const void *bp[1] = {parent_valid};
    struct ArrowArray c0 = {8, 1, 2, 2, 0, b0, NULL, NULL, noop_release_array, NULL};
    struct ArrowArray c1 = {7, 1, 1, 3, 0, b1, NULL, NULL, noop_release_array, NULL};
    struct ArrowArray c2 = {9, 0, 3, 2, 0, b2, NULL, NULL, noop_release_array, NULL};
    struct ArrowArray *ac[3] = {&c0, &c1, &c2};
    struct ArrowArray parent = {4, 1, 1, 1, 3, bp, ac, NULL, noop_release_array, NULL};
    struct ArrowSchema s0 = {
        "i", "n", NULL, ARROW_FLAG_NULLABLE, 0, NULL, NULL, noop_release_schema, NULL};
    struct ArrowSchema s1 = {"u", "s", NULL, 0, 0, NULL, NULL, noop_release_schema, NULL};
    struct ArrowSchema s2 = {"b", "f", NULL, 0, 0, NULL, NULL, noop_release_schema, NULL};
    struct ArrowSchema *sc[3] = {&s0, &s1, &s2};
    struct ArrowSchema ps = {"+s", "", NULL, 0, 3, sc, NULL, noop_release_schema, NULL};

    st_batch_t *b;
    assert_int_equal(st_batch_import(&ps, &parent, &b), 0);
    assert_int_equal(b->nrows, 4);
    /* Row r reads child index child_offset + parent_offset + r. */
    char *text = batch_text(b, 0, 4);
    assert_string_equal(text, "13,\"ccc\",false\n"
                              "14,\"dddd\",true\n"
                              "null,null,null\n"
                              "16,\"eeeee\",true\n");
    free(text);
    assert_true(b->cols[0].field.nullable);
    assert_false(b->cols[1].field.nullable);
    /* Copied, not borrowed: offsets rebased to 0. */
    int32_t o0;
    memcpy(&o0, b->cols[1].offsets.data, 4);
    assert_int_equal(o0, 0);
    assert_int_equal(b->cols[0].null_count, 1);
    st_batch_free(b);

    /* Without parent nulls the children's own bitmaps decide. */
    parent.offset = 2;
    parent.length = 3;
    parent.null_count = 0;
    assert_int_equal(st_batch_import(&ps, &parent, &b), 0);
    text = batch_text(b, 0, 3);
    assert_string_equal(text, "14,\"dddd\",true\n"
                              "null,null,false\n"
                              "16,\"eeeee\",true\n");
    free(text);
    st_batch_free(b);

    /* Large strings ("U", 64-bit offsets) come in as 32-bit ones. */
    int64_t loffs[3] = {0, 2, 5};
    const void *bl[3] = {NULL, loffs, "xyzzy"};
    struct ArrowArray cl = {2, 0, 0, 3, 0, bl, NULL, NULL, noop_release_array, NULL};
    struct ArrowArray *acl[1] = {&cl};
    struct ArrowArray pl = {2,   0, 0, 1, 1, (const void *[]){NULL}, acl, NULL, noop_release_array,
                            NULL};
    struct ArrowSchema sl = {"U", "big", NULL, 0, 0, NULL, NULL, noop_release_schema, NULL};
    struct ArrowSchema *scl[1] = {&sl};
    struct ArrowSchema psl = {"+s", "", NULL, 0, 1, scl, NULL, noop_release_schema, NULL};
    assert_int_equal(st_batch_import(&psl, &pl, &b), 0);
    text = batch_text(b, 0, 2);
    assert_string_equal(text, "\"xy\"\n\"zzy\"\n");
    free(text);
    st_batch_free(b);

    /* Unsupported formats and shapes are refused by name. */
    sl.format = "e";
    assert_int_equal(st_batch_import(&psl, &pl, &b), ST_EUNSUPPORTED);
    assert_string_equal(st_errmsg(), "Arrow column 'big': format 'e' is not supported");
    sl.format = "d:40,2";
    assert_int_equal(st_batch_import(&psl, &pl, &b), ST_EUNSUPPORTED);
    sl.format = "d:10,2,256";
    assert_int_equal(st_batch_import(&psl, &pl, &b), ST_EUNSUPPORTED);
    sl.format = "U";
    cl.n_buffers = 2;
    assert_int_equal(st_batch_import(&psl, &pl, &b), ST_EINVAL);
    psl.format = "i";
    assert_int_equal(st_batch_import(&psl, &pl, &b), ST_EUNSUPPORTED);
    psl.format = "+s";
    pl.release = NULL;
    assert_int_equal(st_batch_import(&psl, &pl, &b), ST_EINVAL);
    assert_null(b);
}

static void test_import_timezones(void **state) {
    (void)state;
    int64_t v[1] = {0};
    const void *bufs[2] = {NULL, v};
    struct ArrowArray c = {1, 0, 0, 2, 0, bufs, NULL, NULL, noop_release_array, NULL};
    struct ArrowArray *ac[1] = {&c};
    struct ArrowArray p = {1,   0, 0, 1, 1, (const void *[]){NULL}, ac, NULL, noop_release_array,
                           NULL};
    struct ArrowSchema s = {"tsn:Europe/Paris",  "t", NULL, 0, 0, NULL, NULL,
                            noop_release_schema, NULL};
    struct ArrowSchema *sc[1] = {&s};
    struct ArrowSchema ps = {"+s", "", NULL, 0, 1, sc, NULL, noop_release_schema, NULL};
    st_batch_t *b;
    assert_int_equal(st_batch_import(&ps, &p, &b), 0);
    assert_true(b->cols[0].field.type.utc);
    assert_int_equal(b->cols[0].field.type.unit, ST_UNIT_NS);
    char *text = batch_text(b, 0, 1);
    assert_string_equal(text, "\"1970-01-01T00:00:00.000000000Z\"\n");
    free(text);
    st_batch_free(b);
    s.format = "ttu";
    assert_int_equal(st_batch_import(&ps, &p, &b), 0);
    assert_int_equal(b->cols[0].field.type.id, ST_TYPE_TIME);
    st_batch_free(b);
    /* w:16 without the extension is plain fixed(16). */
    uint8_t wide[16] = {0xab, [15] = 0xcd};
    bufs[1] = wide;
    s.format = "w:16";
    assert_int_equal(st_batch_import(&ps, &p, &b), 0);
    assert_int_equal(b->cols[0].field.type.id, ST_TYPE_FIXED);
    text = batch_text(b, 0, 1);
    assert_string_equal(text, "\"ab0000000000000000000000000000cd\"\n");
    free(text);
    st_batch_free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_layout),
        cmocka_unit_test(test_export_without_nulls_and_empty),
        cmocka_unit_test(test_move_child_out),
        cmocka_unit_test(test_import_offsets),
        cmocka_unit_test(test_import_timezones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
