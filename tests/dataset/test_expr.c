/* Filter expressions: parsing (precedence, quoting, errors with positions),
 * the canonical text form, binding, three-valued evaluation, pruning on
 * value ranges, and the ordering of values of every type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/dataset.h"

/* ---- helpers ---- */

static st_expr_t *parse_ok(const char *text) {
    st_expr_t *e = NULL;
    int rc = st_expr_parse(text, &e);
    if (rc) fail_msg("parse '%s': %s", text, st_errmsg());
    assert_non_null(e);
    return e;
}

static char *format_str(const st_expr_t *e) {
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_expr_format(e, &b), 0);
    assert_int_equal(st_buf_append_byte(&b, 0), 0);
    return (char *)st_buf_detach(&b, NULL);
}

static void expect_format(const char *text, const char *canonical) {
    st_expr_t *e = parse_ok(text);
    char *f = format_str(e);
    assert_string_equal(f, canonical);
    /* The canonical form reads back as itself. */
    st_expr_t *e2 = parse_ok(f);
    char *f2 = format_str(e2);
    assert_string_equal(f2, canonical);
    free(f);
    free(f2);
    st_expr_free(e);
    st_expr_free(e2);
}

static void expect_parse_error(const char *text, const char *message) {
    st_expr_t *e = (st_expr_t *)1;
    assert_int_equal(st_expr_parse(text, &e), ST_EINVAL);
    assert_null(e);
    if (strcmp(st_errmsg(), message))
        fail_msg("'%s': got '%s', want '%s'", text, st_errmsg(), message);
}

static st_field_t fld(const char *name, const char *type) {
    st_field_t f = {(char *)name, {0}, true};
    if (st_type_parse(type, &f.type)) fail_msg("type %s: %s", type, st_errmsg());
    return f;
}

/* A batch of one column per field from text cells (NULL = null), row-major. */
static st_batch_t *make_batch(const st_field_t *fields, int nf, const char *const *cells,
                              int rows) {
    st_batch_t *b;
    assert_int_equal(st_batch_new(fields, nf, &b), 0);
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < nf; c++) {
            const char *v = cells[r * nf + c];
            int rc;
            if (!v)
                rc = st_col_append_null(&b->cols[c]);
            else if (!*v)
                rc = st_col_append_bytes(&b->cols[c], "", 0);
            else
                rc = st_coerce_append(&b->cols[c], v, strlen(v));
            if (rc) fail_msg("cell %d,%d '%s': %s", r, c, v ? v : "null", st_errmsg());
        }
        assert_int_equal(st_batch_end_row(b), 0);
    }
    return b;
}

/* Evaluates `text` bound to the batch's fields; returns the selection as a
 * string of '0'/'1'. */
static void expect_eval(const st_batch_t *b, const char *text, const char *want) {
    st_expr_t *e = parse_ok(text);
    st_field_t fields[16];
    for (int i = 0; i < b->ncols; i++)
        fields[i] = b->cols[i].field;
    if (st_expr_bind(e, fields, b->ncols)) fail_msg("bind '%s': %s", text, st_errmsg());
    uint8_t sel[64];
    memset(sel, 7, sizeof sel);
    assert_int_equal(st_expr_eval(e, b, sel), 0);
    char got[65];
    for (int64_t i = 0; i < b->nrows; i++)
        got[i] = (char)('0' + sel[i]);
    got[b->nrows] = '\0';
    if (strcmp(got, want)) fail_msg("eval '%s': got %s, want %s", text, got, want);
    st_expr_free(e);
}

/* ---- parsing ---- */

static void test_parse_precedence(void **state) {
    (void)state;
    st_expr_t *e = parse_ok("a = 1 or b = 2 and c = 3");
    assert_int_equal(e->kind, ST_EXPR_OR);
    assert_int_equal(e->left->kind, ST_EXPR_CMP);
    assert_string_equal(e->left->column, "a");
    assert_int_equal(e->right->kind, ST_EXPR_AND);
    assert_string_equal(e->right->left->column, "b");
    assert_string_equal(e->right->right->column, "c");
    st_expr_free(e);

    e = parse_ok("(a = 1 or b = 2) and c = 3");
    assert_int_equal(e->kind, ST_EXPR_AND);
    assert_int_equal(e->left->kind, ST_EXPR_OR);
    st_expr_free(e);

    /* NOT binds tighter than AND. */
    e = parse_ok("not a = 1 and b = 2");
    assert_int_equal(e->kind, ST_EXPR_AND);
    assert_int_equal(e->left->kind, ST_EXPR_NOT);
    assert_int_equal(e->left->left->kind, ST_EXPR_CMP);
    st_expr_free(e);

    /* Chains associate to the left. */
    e = parse_ok("a = 1 and b = 2 and c = 3");
    assert_int_equal(e->kind, ST_EXPR_AND);
    assert_int_equal(e->left->kind, ST_EXPR_AND);
    assert_string_equal(e->right->column, "c");
    st_expr_free(e);

    e = parse_ok("NOT NOT x IS NULL");
    assert_int_equal(e->kind, ST_EXPR_NOT);
    assert_int_equal(e->left->kind, ST_EXPR_NOT);
    assert_int_equal(e->left->left->kind, ST_EXPR_IS_NULL);
    assert_false(e->left->left->negated);
    st_expr_free(e);
}

static void test_parse_predicates(void **state) {
    (void)state;
    static const struct {
        const char *text;
        st_cmp_op_t op;
    } ops[] = {{"x = 1", ST_CMP_EQ},  {"x != 1", ST_CMP_NE}, {"x <> 1", ST_CMP_NE},
               {"x < 1", ST_CMP_LT},  {"x <= 1", ST_CMP_LE}, {"x > 1", ST_CMP_GT},
               {"x >= 1", ST_CMP_GE}, {"x>=1", ST_CMP_GE},   {"x<>1", ST_CMP_NE}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        st_expr_t *e = parse_ok(ops[i].text);
        assert_int_equal(e->kind, ST_EXPR_CMP);
        assert_int_equal(e->op, ops[i].op);
        assert_int_equal(e->nliterals, 1);
        assert_string_equal(e->literals[0], "1");
        assert_false(e->quoted[0]);
        st_expr_free(e);
    }
    st_expr_t *e = parse_ok("status NOT IN ('a', 'it''s', NULL, -1.5e3, TRUE)");
    assert_int_equal(e->kind, ST_EXPR_IN);
    assert_true(e->negated);
    assert_int_equal(e->nliterals, 5);
    assert_string_equal(e->literals[0], "a");
    assert_true(e->quoted[0]);
    assert_string_equal(e->literals[1], "it's");
    assert_null(e->literals[2]);
    assert_string_equal(e->literals[3], "-1.5e3");
    assert_false(e->quoted[3]);
    assert_string_equal(e->literals[4], "true");
    assert_false(e->quoted[4]);
    st_expr_free(e);

    e = parse_ok("\"my \"\"odd\"\" col\" is not null");
    assert_int_equal(e->kind, ST_EXPR_IS_NULL);
    assert_true(e->negated);
    assert_string_equal(e->column, "my \"odd\" col");
    st_expr_free(e);

    /* A keyword as a column name needs quotes; quoted, it is a name. */
    e = parse_ok("\"and\" = 'or'");
    assert_string_equal(e->column, "and");
    assert_string_equal(e->literals[0], "or");
    st_expr_free(e);

    /* Literals keep their bytes: empty strings, blanks, UTF-8. */
    e = parse_ok("name in ('', '  x ', 'Zürich')");
    assert_string_equal(e->literals[0], "");
    assert_true(e->quoted[0]);
    assert_string_equal(e->literals[1], "  x ");
    assert_string_equal(e->literals[2], "Zürich");
    st_expr_free(e);

    e = parse_ok("d = .5");
    assert_string_equal(e->literals[0], ".5");
    st_expr_free(e);
}

static void test_parse_errors(void **state) {
    (void)state;
    expect_parse_error("", "filter: at column 1: expected a column name");
    expect_parse_error("   ", "filter: at column 4: expected a column name");
    expect_parse_error("created_at >= ", "filter: at column 15: expected a value after '>='");
    expect_parse_error("status = 'a' and x >=",
                       "filter: at column 22: expected a value after '>='");
    expect_parse_error("x >= y", "filter: at column 6: expected a value after '>=', found 'y'");
    expect_parse_error("a = 'abc", "filter: at column 5: unterminated string");
    expect_parse_error("\"a = 1", "filter: at column 1: unterminated quoted name");
    expect_parse_error("a in 1", "filter: at column 6: expected '(' after 'in'");
    expect_parse_error("a in ()", "filter: at column 7: expected a value after '(', found ')'");
    expect_parse_error("a in (1,)", "filter: at column 9: expected a value after ',', found ')'");
    expect_parse_error("a in (1 2)",
                       "filter: at column 9: expected ',' or ')' in the list, found '2'");
    expect_parse_error("a not = 1", "filter: at column 7: expected 'in' after 'not'");
    expect_parse_error("(a = 1", "filter: at column 7: expected ')' to close the '(' at column 1");
    expect_parse_error("a = 1)", "filter: at column 6: unmatched ')'");
    expect_parse_error("a = 1 b = 2",
                       "filter: at column 7: expected 'and', 'or' or the end, found 'b'");
    expect_parse_error("a is 5", "filter: at column 6: expected 'null' or 'not null' after 'is'");
    expect_parse_error("a", "filter: at column 2: expected an operator after 'a'");
    expect_parse_error("a like 'x'",
                       "filter: at column 3: expected an operator after 'a', found 'like'");
    expect_parse_error("a = 12abc", "filter: at column 7: unexpected character after a number");
    expect_parse_error("a = 1 and", "filter: at column 10: expected a column name");
    expect_parse_error("a = 1 and or", "filter: at column 11: expected a column name, found 'or'");
    expect_parse_error("a ! 1", "filter: at column 3: expected '!='");
    expect_parse_error("a = 1 ; drop", "filter: at column 7: unexpected character ';'");
    expect_parse_error("a = \x01", "filter: at column 5: unexpected character '\\x01'");
    expect_parse_error("\"\" = 1", "filter: at column 1: empty quoted name");
    /* Columns count characters, not bytes. */
    expect_parse_error("größe >", "filter: at column 8: expected a value after '>'");

    /* Hostile nesting is refused, not a stack overflow. */
    char deep[1200];
    memset(deep, '(', 1000);
    strcpy(deep + 1000, "a = 1");
    st_expr_t *e = NULL;
    assert_int_equal(st_expr_parse(deep, &e), ST_EINVAL);
    assert_non_null(strstr(st_errmsg(), "nested too deeply"));
    char nots[5000] = "";
    for (int i = 0; i < 900; i++)
        strcat(nots, "not ");
    strcat(nots, "a = 1");
    assert_int_equal(st_expr_parse(nots, &e), ST_EINVAL);
    /* A very long chain is refused by its size. */
    st_buf_t big = ST_BUF_INIT;
    for (int i = 0; i < 20000; i++)
        st_buf_printf(&big, "%sa = %d", i ? " or " : "", i);
    st_buf_append_byte(&big, 0);
    assert_int_equal(st_expr_parse((const char *)big.data, &e), ST_EINVAL);
    assert_non_null(strstr(st_errmsg(), "more than"));
    st_buf_free(&big);
    assert_int_equal(st_expr_parse(NULL, &e), ST_EINVAL);
}

static void test_format_round_trip(void **state) {
    (void)state;
    expect_format("a=1", "a = 1");
    expect_format("A <> 'x'", "A != 'x'");
    expect_format("a = 1 OR b = 2 AND c = 3", "a = 1 or b = 2 and c = 3");
    expect_format("(a = 1 or b = 2) and c = 3", "(a = 1 or b = 2) and c = 3");
    expect_format("a = 1 and (b = 2 or c = 3)", "a = 1 and (b = 2 or c = 3)");
    expect_format("a = 1 and (b = 2 and c = 3)", "a = 1 and (b = 2 and c = 3)");
    expect_format("(a = 1 and b = 2) and c = 3", "a = 1 and b = 2 and c = 3");
    expect_format("a = 1 or (b = 2 or c = 3)", "a = 1 or (b = 2 or c = 3)");
    expect_format("not (a = 1 or b = 2)", "not (a = 1 or b = 2)");
    expect_format("not a = 1", "not a = 1");
    expect_format("NOT (a = 1)", "not a = 1");
    expect_format("not not a is null", "not not a is null");
    expect_format("x NOT IN (1,2 , NULL)", "x not in (1, 2, null)");
    expect_format("s in ('it''s', '')", "s in ('it''s', '')");
    expect_format("\"odd col\" IS NOT NULL", "\"odd col\" is not null");
    expect_format("\"Null\" = null", "\"Null\" = null");
    expect_format("\"a\"\"b\" = TRUE", "\"a\"\"b\" = true");
    expect_format("\"1st\" >= -0.5e-3", "\"1st\" >= -0.5e-3");
    expect_format("_x9 < '2024-01-01'", "_x9 < '2024-01-01'");
    expect_format("größe > 1", "größe > 1");
    expect_format("((a = 1))", "a = 1");
}

/* ---- binding ---- */

static void test_bind(void **state) {
    (void)state;
    st_field_t f[] = {
        fld("depth", "int32"), fld("name", "string"),         fld("ts", "timestamp(us, UTC)"),
        fld("d", "date"),      fld("amount", "decimal(8,3)"), fld("ok", "bool"),
        fld("id", "uuid"),     fld("Mixed", "double")};
    int nf = (int)(sizeof f / sizeof f[0]);
    st_expr_t *e = parse_ok("ts >= '2024-01-01' and amount in (12.5, -0.001, null) and ok = true");
    assert_int_equal(st_expr_bind(e, f, nf), 0);
    const st_expr_t *ts = e->left->left, *amt = e->left->right, *ok = e->right;
    assert_int_equal(ts->column_index, 2);
    assert_int_equal(ts->values->length, 1);
    assert_int_equal(st_col_get_i64(ts->values, 0), 1704067200000000LL);
    assert_int_equal(amt->column_index, 4);
    assert_int_equal(amt->values->length, 3);
    st_buf_t b = ST_BUF_INIT;
    for (int k = 0; k < 3; k++) {
        if (k) st_buf_append_byte(&b, ',');
        st_col_value_json(amt->values, k, &b);
    }
    st_buf_append_byte(&b, 0);
    assert_string_equal((char *)b.data, "\"12.500\",\"-0.001\",null");
    st_buf_free(&b);
    assert_true(st_col_get_bool(ok->values, 0));
    /* Binding again (another schema order) replaces the bound form. */
    st_field_t g[] = {f[5], f[4], f[2]};
    assert_int_equal(st_expr_bind(e, g, 3), 0);
    assert_int_equal(ts->column_index, 2);
    assert_int_equal(amt->column_index, 1);
    assert_int_equal(ok->column_index, 0);
    st_expr_free(e);

    /* Names match exactly, or regardless of case when that is unambiguous. */
    e = parse_ok("mixed > 1 and DEPTH = 3");
    assert_int_equal(st_expr_bind(e, f, nf), 0);
    assert_int_equal(e->left->column_index, 7);
    assert_int_equal(e->right->column_index, 0);
    st_expr_free(e);

    static const struct {
        const char *text;
        int rc;
        const char *msg;
    } bad[] = {
        {"nope = 1", ST_ENOTFOUND, "filter: no column 'nope' (columns: depth, name, ts, d"},
        {"depth = 'abc'", ST_ETYPE,
         "filter: column depth is int32 and compares with a number, not the string 'abc'"},
        {"depth = '12'", ST_ETYPE,
         "filter: column depth is int32 and compares with a number, not the string '12'"},
        {"name = 12", ST_ETYPE,
         "filter: column name is string and compares with a 'quoted' value, not the number 12"},
        {"ok = 1", ST_ETYPE,
         "filter: column ok is bool and compares with a boolean, not the number 1"},
        {"depth = true", ST_ETYPE,
         "filter: column depth is int32 and compares with a number, not the boolean true"},
        {"depth = 12.5", ST_ETYPE, "filter: column depth: '12.5' is not a valid int32"},
        {"depth = 99999999999999999999", ST_ETYPE,
         "filter: column depth: '99999999999999999999' is not a valid int32: out of range"},
        {"amount = 1e400", ST_ETYPE,
         "filter: column amount: '1e400' is not a valid decimal(8,3): too many digits"},
        {"Mixed > 1e999", ST_ETYPE, "filter: column Mixed: '1e999' is not a valid double"},
        {"d = '2024-13-01'", ST_ETYPE, "filter: column d: '2024-13-01' is not a valid date"},
        {"ts < 'yesterday'", ST_ETYPE, "filter: column ts: 'yesterday' is not a valid timestamp"},
        {"id in ('not-a-uuid')", ST_ETYPE, "filter: column id: 'not-a-uuid' is not a valid uuid"},
        {"name = '\xff'", ST_ETYPE, "filter: column name: '\\xff' is not a valid string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e = parse_ok(bad[i].text);
        int rc = st_expr_bind(e, f, nf);
        if (rc != bad[i].rc) fail_msg("'%s': rc %d (%s)", bad[i].text, rc, st_errmsg());
        if (strncmp(st_errmsg(), bad[i].msg, strlen(bad[i].msg)))
            fail_msg("'%s': got '%s', want '%s'", bad[i].text, st_errmsg(), bad[i].msg);
        assert_null(e->values);
        st_expr_free(e);
    }
    /* Ambiguous by case only. */
    st_field_t two[] = {fld("a", "int32"), fld("A", "int32")};
    e = parse_ok("A = 1 and a = 2");
    assert_int_equal(st_expr_bind(e, two, 2), 0);
    assert_int_equal(e->left->column_index, 1);
    assert_int_equal(e->right->column_index, 0);
    st_expr_free(e);
    st_field_t twob[] = {fld("ab", "int32"), fld("AB", "int32")};
    e = parse_ok("Ab = 1");
    assert_int_equal(st_expr_bind(e, twob, 2), ST_ENOTFOUND);
    assert_non_null(strstr(st_errmsg(), "ambiguous"));
    st_expr_free(e);
    /* Unbound evaluation is an error, not a crash. */
    e = parse_ok("depth = 1");
    st_batch_t *batch;
    assert_int_equal(st_batch_new(f, 1, &batch), 0);
    assert_int_equal(st_col_append_i64(&batch->cols[0], 1), 0);
    assert_int_equal(st_batch_end_row(batch), 0);
    uint8_t sel[1];
    assert_int_equal(st_expr_eval(e, batch, sel), ST_EINVAL);
    /* A batch whose column differs from the bound one is refused. */
    assert_int_equal(st_expr_bind(e, f, nf), 0);
    st_field_t other = fld("depth", "string");
    st_batch_t *b2;
    assert_int_equal(st_batch_new(&other, 1, &b2), 0);
    assert_int_equal(st_col_append_bytes(&b2->cols[0], "x", 1), 0);
    assert_int_equal(st_batch_end_row(b2), 0);
    assert_int_equal(st_expr_eval(e, b2, sel), ST_ETYPE);
    assert_int_equal(st_expr_eval(e, batch, sel), 0);
    assert_int_equal(sel[0], 1);
    st_batch_free(b2);
    st_batch_free(batch);
    st_expr_free(e);
}

/* ---- evaluation ---- */

static void test_eval_three_valued(void **state) {
    (void)state;
    st_field_t f[] = {fld("a", "int32"), fld("s", "string")};
    const char *cells[] = {"1", "x", NULL, "y", "3", NULL, "4", ""};
    st_batch_t *b = make_batch(f, 2, cells, 4);
    expect_eval(b, "a > 1", "0011");
    expect_eval(b, "not a > 1", "1000");
    expect_eval(b, "a <= 1", "1000");
    expect_eval(b, "a != 3", "1001");
    expect_eval(b, "a > 1 or s = 'x'", "1011");
    expect_eval(b, "a > 1 and s = 'x'", "0000");
    expect_eval(b, "not (a > 1 and s = 'x')", "1101");
    expect_eval(b, "not (a > 1 or s = 'x')", "0000");
    expect_eval(b, "not (a < 2 or s = 'q')", "0001");
    expect_eval(b, "a in (1, null)", "1000");
    expect_eval(b, "a not in (1, null)", "0000");
    expect_eval(b, "a not in (1, 3)", "0001");
    expect_eval(b, "not a not in (1, 3)", "1010");
    expect_eval(b, "a is null", "0100");
    expect_eval(b, "a is not null", "1011");
    expect_eval(b, "not a is null", "1011");
    expect_eval(b, "a = null", "0000");
    expect_eval(b, "not a = null", "0000");
    expect_eval(b, "a = null or a = 4", "0001");
    expect_eval(b, "not (a = null and a = 4)", "1010");
    expect_eval(b, "s = ''", "0001");
    expect_eval(b, "s > ''", "1100");
    expect_eval(b, "s in ('y', '')", "0101");
    expect_eval(b, "s is null or a is null", "0110");
    expect_eval(b, "(s is null or a is null) and not (a is null)", "0010");
    st_batch_free(b);
}

static void test_eval_types(void **state) {
    (void)state;
    st_field_t f[] = {
        fld("i8", "int8"),          fld("u64", "uint64"),        fld("f", "float"),
        fld("g", "double"),         fld("dec", "decimal(20,4)"), fld("d", "date"),
        fld("ts", "timestamp(ms)"), fld("t", "time(us)"),        fld("b", "bool"),
        fld("id", "uuid"),          fld("bin", "binary"),        fld("fx", "fixed(2)"),
        fld("j", "json"),           fld("u8", "uint8")};
    int nf = (int)(sizeof f / sizeof f[0]);
    const char *cells[] = {"-128",
                           "18446744073709551615",
                           "NaN",
                           "-0",
                           "-12345678901234.5678",
                           "1969-12-31",
                           "1960-01-01T00:00:00.001",
                           "00:00:00",
                           "false",
                           "00000000-0000-0000-0000-000000000001",
                           "00ff",
                           "0102",
                           "{\"a\":1}",
                           "0",
                           "127",
                           "1",
                           "1.5",
                           "Infinity",
                           "0.0001",
                           "2024-02-29",
                           "2024-02-29T23:59:59.999Z",
                           "23:59:59.999999",
                           "true",
                           "ffffffff-ffff-ffff-ffff-ffffffffffff",
                           "",
                           "ffff",
                           "[]",
                           "255",
                           NULL,
                           NULL,
                           NULL,
                           NULL,
                           NULL,
                           NULL,
                           NULL,
                           NULL,
                           NULL,
                           NULL,
                           NULL,
                           NULL,
                           NULL,
                           NULL,
                           "0",
                           "9223372036854775808",
                           "-Infinity",
                           "NaN",
                           "12345678901234.5678",
                           "1970-01-01",
                           "1970-01-01",
                           "12:00",
                           "true",
                           "12345678-1234-1234-1234-123456789abc",
                           "00",
                           "0000",
                           "1",
                           "128"};
    st_batch_t *b = make_batch(f, nf, cells, 4);
    expect_eval(b, "i8 < 0", "1000");
    expect_eval(b, "i8 >= 0", "0101");
    expect_eval(b, "i8 > -1000", "1101");
    expect_eval(b, "i8 < 1000 and i8 > -129", "1101");
    expect_eval(b, "i8 in (-128, 300, -9223372036854775808)", "1000");
    expect_eval(b, "i8 < 18446744073709551615", "1101");
    expect_eval(b, "u8 != -1 and u8 < 256", "1101");
    expect_eval(b, "f < 1e300", "0101");
    expect_eval(b, "dec > 0.00005", "0101");
    expect_eval(b, "dec = 0.00010", "0100");
    expect_eval(b, "dec < 99999999999999999999.5", "1101");
    expect_eval(b, "u64 > 9223372036854775807", "1001");
    expect_eval(b, "u64 = 18446744073709551615", "1000");
    expect_eval(b, "u64 > -1", "1101");
    expect_eval(b, "u8 >= 128", "0101");
    /* NaN sorts after every number and equals itself, as in DuckDB. */
    expect_eval(b, "f > 1000000", "1000");
    expect_eval(b, "f < 2", "0101");
    expect_eval(b, "g > 1e308", "0101");
    expect_eval(b, "g = 0", "1000");
    expect_eval(b, "g >= 0", "1101");
    expect_eval(b, "dec < 0", "1000");
    expect_eval(b, "dec = 0.0001", "0100");
    expect_eval(b, "dec >= 12345678901234.5678", "0001");
    expect_eval(b, "dec > -12345678901234.5677", "0101");
    expect_eval(b, "d < '1970-01-01'", "1000");
    expect_eval(b, "d = '1970-01-01'", "0001");
    expect_eval(b, "ts >= '2024-02-29'", "0100");
    expect_eval(b, "ts < '1970-01-01T00:00:00.001Z'", "1001");
    expect_eval(b, "t > '12:00'", "0100");
    expect_eval(b, "t in ('00:00', '12:00:00.000000')", "1001");
    expect_eval(b, "b = true", "0101");
    expect_eval(b, "b != true", "1000");
    expect_eval(b, "id > '12345678-1234-1234-1234-123456789abc'", "0100");
    expect_eval(b, "id = '00000000-0000-0000-0000-000000000001'", "1000");
    expect_eval(b, "bin = ''", "0100");
    expect_eval(b, "bin < '01'", "1101");
    expect_eval(b, "bin > '00'", "1000");
    expect_eval(b, "fx >= '0102'", "1100");
    expect_eval(b, "j = '[]'", "0100");
    st_batch_free(b);
}

static void test_eval_wide_batch(void **state) {
    (void)state;
    /* Many rows, every null pattern, against a naive reference. */
    st_field_t f[] = {fld("x", "int64"), fld("s", "string")};
    st_batch_t *b;
    assert_int_equal(st_batch_new(f, 2, &b), 0);
    int n = 1000;
    for (int i = 0; i < n; i++) {
        if (i % 7 == 3)
            assert_int_equal(st_col_append_null(&b->cols[0]), 0);
        else
            assert_int_equal(st_col_append_i64(&b->cols[0], (i * 37) % 101 - 50), 0);
        char s[16];
        snprintf(s, sizeof s, "k%03d", i % 13);
        if (i % 11 == 5)
            assert_int_equal(st_col_append_null(&b->cols[1]), 0);
        else
            assert_int_equal(st_col_append_bytes(&b->cols[1], s, strlen(s)), 0);
        assert_int_equal(st_batch_end_row(b), 0);
    }
    st_expr_t *e = parse_ok("not (x > 10 and s < 'k005') or x in (-50, 0, null)");
    assert_int_equal(st_expr_bind(e, f, 2), 0);
    uint8_t *sel = malloc((size_t)n);
    assert_int_equal(st_expr_eval(e, b, sel), 0);
    for (int i = 0; i < n; i++) {
        /* Reference in three-valued logic: -1 unknown. */
        bool xn = i % 7 == 3, sn = i % 11 == 5;
        int64_t x = (i * 37) % 101 - 50;
        char s[16];
        snprintf(s, sizeof s, "k%03d", i % 13);
        int gt = xn ? -1 : x > 10, lt = sn ? -1 : strcmp(s, "k005") < 0;
        int and_ = (gt == 0 || lt == 0) ? 0 : (gt == 1 && lt == 1) ? 1 : -1;
        int not_ = and_ < 0 ? -1 : !and_;
        int in = xn ? -1 : (x == -50 || x == 0) ? 1 : -1; /* null in the list */
        int or_ = (not_ == 1 || in == 1) ? 1 : (not_ == 0 && in == 0) ? 0 : -1;
        if (sel[i] != (or_ == 1)) fail_msg("row %d: got %d want %d", i, sel[i], or_ == 1);
    }
    free(sel);
    st_expr_free(e);
    st_batch_free(b);
}

/* ---- pruning ---- */

typedef struct {
    st_field_t fields[4];
    st_batch_t *minmax;
    int64_t nulls[4];
    st_ranges_t r;
} ranges_fixture;

/* Ranges for columns a int32, s string, f double, u uint64. */
static void ranges_init(ranges_fixture *x, const char *amin, const char *amax, const char *smin,
                        const char *smax, int64_t a_nulls, int64_t rows) {
    x->fields[0] = fld("a", "int32");
    x->fields[1] = fld("s", "string");
    x->fields[2] = fld("f", "double");
    x->fields[3] = fld("u", "uint64");
    const char *cells[] = {amin, smin, "-1.5", "0", amax, smax, "NaN", "18446744073709551615"};
    x->minmax = make_batch(x->fields, 4, cells, 2);
    x->nulls[0] = a_nulls;
    x->nulls[1] = 0;
    x->nulls[2] = -1;
    x->nulls[3] = 0;
    x->r.minmax = x->minmax;
    x->r.null_counts = x->nulls;
    x->r.rows = rows;
}

static bool may(ranges_fixture *x, const char *text) {
    st_expr_t *e = parse_ok(text);
    if (st_expr_bind(e, x->fields, 4)) fail_msg("bind '%s': %s", text, st_errmsg());
    bool m = st_expr_may_match(e, &x->r);
    st_expr_free(e);
    return m;
}

#define MAY(x, text) assert_true(may(x, text))
#define NOT_MAY(x, text) assert_false(may(x, text))

static void test_may_match_ops(void **state) {
    (void)state;
    ranges_fixture x;
    ranges_init(&x, "10", "20", "b", "m", 0, 100);
    NOT_MAY(&x, "a = 5");
    MAY(&x, "a = 10");
    MAY(&x, "a = 15");
    MAY(&x, "a = 20");
    NOT_MAY(&x, "a = 25");
    MAY(&x, "a != 15");
    NOT_MAY(&x, "a < 10");
    MAY(&x, "a < 11");
    MAY(&x, "a <= 10");
    NOT_MAY(&x, "a <= 9");
    NOT_MAY(&x, "a > 20");
    MAY(&x, "a > 19");
    MAY(&x, "a >= 20");
    NOT_MAY(&x, "a >= 21");
    /* Negations push down as inverted operators. */
    NOT_MAY(&x, "not a >= 10"); /* a < 10 */
    MAY(&x, "not a < 10");      /* a >= 10 */
    NOT_MAY(&x, "not a < 30");  /* a >= 30 */
    NOT_MAY(&x, "not a <= 20"); /* a > 20 */
    NOT_MAY(&x, "not a > 9");   /* a <= 9 */
    MAY(&x, "not a = 15");      /* a != 15 over a range */
    NOT_MAY(&x, "not a != 5");  /* a = 5 */
    MAY(&x, "not not a = 15");
    NOT_MAY(&x, "not not a = 25");
    /* IN checks every literal against the range. */
    NOT_MAY(&x, "a in (1, 2, 30)");
    MAY(&x, "a in (1, 15)");
    NOT_MAY(&x, "a in (null)");
    NOT_MAY(&x, "a in (null, 99)");
    MAY(&x, "a not in (15)");
    NOT_MAY(&x, "a not in (15, null)");
    MAY(&x, "not a in (15)");
    NOT_MAY(&x, "not a not in (1, 30)"); /* a in (1, 30) */
    MAY(&x, "not a not in (1, 12)");
    /* Comparisons with null never match, negated or not. */
    NOT_MAY(&x, "a = null");
    NOT_MAY(&x, "not a = null");
    NOT_MAY(&x, "a != null");
    /* IS NULL uses the null count. */
    NOT_MAY(&x, "a is null");
    MAY(&x, "a is not null");
    MAY(&x, "not a is null");
    NOT_MAY(&x, "not a is not null");
    MAY(&x, "f is null"); /* null count unknown */
    /* AND / OR and De Morgan. */
    MAY(&x, "a = 5 or a = 15");
    NOT_MAY(&x, "a = 5 and a = 15");
    NOT_MAY(&x, "a = 5 or a = 25");
    MAY(&x, "not (a = 5 and a = 15)");       /* a != 5 or a != 15 */
    NOT_MAY(&x, "not (a != 5 or a < 100)");  /* a = 5 and a >= 100 */
    MAY(&x, "not (a < 12 or a > 18)");       /* a >= 12 and a <= 18 */
    NOT_MAY(&x, "not (a <= 20 or s = 'c')"); /* a > 20 and ... */
    /* Strings byte-wise. */
    NOT_MAY(&x, "s = 'a'");
    MAY(&x, "s = 'b'");
    MAY(&x, "s = 'lzzz'");
    NOT_MAY(&x, "s > 'm'");
    MAY(&x, "s >= 'm'");
    NOT_MAY(&x, "s < 'b'");
    NOT_MAY(&x, "s = 'mm'");
    /* NaN is the largest double: a NaN maximum keeps "greater" filters. */
    MAY(&x, "f > 1e300");
    NOT_MAY(&x, "f < -2");
    /* Unsigned beyond int64. */
    MAY(&x, "u > 9223372036854775807");
    MAY(&x, "u = 18446744073709551615");
    NOT_MAY(&x, "u < 0");
    st_batch_free(x.minmax);

    /* No ranges at all, or no rows. */
    st_expr_t *e = parse_ok("a = 5");
    assert_int_equal(st_expr_bind(e, x.fields, 4), 0);
    assert_true(st_expr_may_match(e, NULL));
    st_ranges_t none = {NULL, NULL, -1};
    assert_true(st_expr_may_match(e, &none));
    st_ranges_t empty = {NULL, NULL, 0};
    assert_false(st_expr_may_match(e, &empty));
    st_expr_free(e);
    /* Unbound: nothing known, may match. */
    e = parse_ok("zzz = 5");
    assert_true(st_expr_may_match(e, &none));
    st_expr_free(e);
}

static void test_may_match_single_value(void **state) {
    (void)state;
    /* A partition value: min = max. */
    ranges_fixture x;
    ranges_init(&x, "15", "15", "k", "k", 0, 1);
    NOT_MAY(&x, "a != 15");
    MAY(&x, "a = 15");
    NOT_MAY(&x, "not a = 15");
    MAY(&x, "not a != 15");
    NOT_MAY(&x, "a not in (15, 16)");
    MAY(&x, "a not in (16)");
    NOT_MAY(&x, "not a in (14, 15)");
    MAY(&x, "a in (14, 15)");
    NOT_MAY(&x, "s != 'k'");
    NOT_MAY(&x, "s = 'K'");
    MAY(&x, "not (a = 15 and s != 'k')");
    NOT_MAY(&x, "not (a = 15 or s != 'k')");
    st_batch_free(x.minmax);

    /* All values null (a null partition): only IS NULL can match. */
    ranges_init(&x, NULL, NULL, "a", "z", 7, 7);
    NOT_MAY(&x, "a = 5");
    NOT_MAY(&x, "a != 5");
    NOT_MAY(&x, "not a = 5");
    NOT_MAY(&x, "a in (5)");
    NOT_MAY(&x, "a not in (5)");
    NOT_MAY(&x, "a is not null");
    MAY(&x, "a is null");
    MAY(&x, "not a is not null");
    MAY(&x, "a is null or a = 5");
    st_batch_free(x.minmax);

    /* Unknown bounds (null min/max with an unknown null count). */
    ranges_init(&x, NULL, "20", NULL, NULL, -1, -1);
    MAY(&x, "a = 5");
    NOT_MAY(&x, "a = 25");
    NOT_MAY(&x, "a > 20");
    MAY(&x, "a < -100");
    MAY(&x, "a is null");
    MAY(&x, "a is not null");
    MAY(&x, "s = 'anything'");
    st_batch_free(x.minmax);
}

/* ---- ordering ---- */

static int cmp_cells(const char *type, const char *x, const char *y) {
    st_field_t f = fld("v", type);
    const char *cells[] = {x, y};
    st_batch_t *b = make_batch(&f, 1, cells, 2);
    int c = st_col_compare(&b->cols[0], 0, &b->cols[0], 1);
    int back = st_col_compare(&b->cols[0], 1, &b->cols[0], 0);
    st_batch_free(b);
    assert_int_equal(c < 0 ? -1 : c > 0, -(back < 0 ? -1 : back > 0));
    return c < 0 ? -1 : c > 0;
}

static void test_col_compare(void **state) {
    (void)state;
    assert_int_equal(cmp_cells("int8", "-128", "127"), -1);
    assert_int_equal(cmp_cells("int64", "-9223372036854775808", "9223372036854775807"), -1);
    assert_int_equal(cmp_cells("int32", "5", "5"), 0);
    assert_int_equal(cmp_cells("uint64", "18446744073709551615", "1"), 1);
    assert_int_equal(cmp_cells("uint32", "4294967295", "0"), 1);
    assert_int_equal(cmp_cells("uint8", "255", "127"), 1);
    assert_int_equal(cmp_cells("double", "NaN", "Infinity"), 1);
    assert_int_equal(cmp_cells("double", "NaN", "NaN"), 0);
    assert_int_equal(cmp_cells("double", "-0", "0"), 0);
    assert_int_equal(cmp_cells("float", "-Infinity", "-3.4e38"), -1);
    assert_int_equal(cmp_cells("string", "a", "ab"), -1);
    assert_int_equal(cmp_cells("string", "ab", "b"), -1);
    assert_int_equal(cmp_cells("string", "Z", "a"), -1);
    assert_int_equal(cmp_cells("string", "é", "z"), 1); /* bytes, not locale */
    assert_int_equal(cmp_cells("string", "", "a"), -1);
    assert_int_equal(cmp_cells("binary", "ff", "00ff"), 1);
    assert_int_equal(cmp_cells("decimal(38,10)", "-1.5", "-1.4"), -1);
    assert_int_equal(cmp_cells("decimal(38,0)", "-99999999999999999999999999999999999999",
                               "99999999999999999999999999999999999999"),
                     -1);
    assert_int_equal(cmp_cells("date", "1969-12-31", "1970-01-01"), -1);
    assert_int_equal(cmp_cells("timestamp(ns)", "1678-01-01T00:00:00Z", "2262-01-01T00:00:00Z"),
                     -1);
    assert_int_equal(cmp_cells("time(ms)", "23:59:59.999", "00:00"), 1);
    assert_int_equal(cmp_cells("uuid", "ffffffff-0000-0000-0000-000000000000",
                               "0fffffff-ffff-ffff-ffff-ffffffffffff"),
                     1);
    assert_int_equal(cmp_cells("fixed(2)", "0100", "00ff"), 1);
    assert_int_equal(cmp_cells("bool", "false", "true"), -1);
    /* Nulls first. */
    assert_int_equal(cmp_cells("int32", NULL, "-5"), -1);
    assert_int_equal(cmp_cells("string", NULL, NULL), 0);
    assert_int_equal(cmp_cells("string", NULL, ""), -1);

    /* Across widths and scales: int8 vs uint64, decimal(10,2) vs decimal(12,4). */
    st_field_t a = fld("a", "int8"), u = fld("u", "uint64");
    st_batch_t *ba, *bu;
    const char *ca[] = {"-1"}, *cu[] = {"18446744073709551615"};
    ba = make_batch(&a, 1, ca, 1);
    bu = make_batch(&u, 1, cu, 1);
    assert_true(st_col_compare(&ba->cols[0], 0, &bu->cols[0], 0) < 0);
    assert_true(st_col_compare(&bu->cols[0], 0, &ba->cols[0], 0) > 0);
    st_batch_free(ba);
    st_batch_free(bu);
    st_field_t d1 = fld("x", "decimal(10,2)"), d2 = fld("y", "decimal(38,4)");
    const char *c1[] = {"1.50"}, *c2[] = {"1.5000"}, *c3[] = {"1.5001"},
               *c4[] = {"-9999999999999999999999999999999999.9999"};
    st_batch_t *x1 = make_batch(&d1, 1, c1, 1), *x2 = make_batch(&d2, 1, c2, 1),
               *x3 = make_batch(&d2, 1, c3, 1), *x4 = make_batch(&d2, 1, c4, 1);
    assert_int_equal(st_col_compare(&x1->cols[0], 0, &x2->cols[0], 0), 0);
    assert_true(st_col_compare(&x1->cols[0], 0, &x3->cols[0], 0) < 0);
    assert_true(st_col_compare(&x3->cols[0], 0, &x1->cols[0], 0) > 0);
    assert_true(st_col_compare(&x1->cols[0], 0, &x4->cols[0], 0) > 0);
    st_batch_free(x1);
    st_batch_free(x2);
    st_batch_free(x3);
    st_batch_free(x4);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_precedence),
        cmocka_unit_test(test_parse_predicates),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_bind),
        cmocka_unit_test(test_eval_three_valued),
        cmocka_unit_test(test_eval_types),
        cmocka_unit_test(test_eval_wide_batch),
        cmocka_unit_test(test_may_match_ops),
        cmocka_unit_test(test_may_match_single_value),
        cmocka_unit_test(test_col_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
