/*
 * Search quality on a generated corpus with known answers: 3,000 documents of
 * Zipf-distributed filler words, into which the generator plants, for each of
 * 25 topics, one relevant document (both topic terms, several times) and
 * distractors (one term, or both once in a longer text); the relevant one must
 * rank first. Phrase, prefix, type, subpath and metadata queries must return
 * exactly the set the generator knows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lake_test_util.h"

#define NDOCS 3000
#define NTOPICS 25
#define VOCAB 4000

static st_store_t *g_store;
static st_lake_t *g_lake;
static uint64_t g_rng = 0x243F6A8885A308D3ull;
static char g_id[NDOCS][ST_UUID_STR_LEN + 1];
static int g_relevant[NTOPICS];      /* doc index of each topic's relevant doc */
static int g_named[NTOPICS];         /* doc index whose name carries the topic */
static bool g_phrase[NDOCS];         /* holds "amber falcon river" in that order */
static bool g_prefix[NDOCS];         /* holds a word starting with "quantrel" */
static const char *g_type[NDOCS];
static const char *g_sub[NDOCS];
static int g_team[NDOCS];            /* metadata team index */
static bool g_common[NDOCS];         /* holds the word "ledger" */

static uint64_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

/* Filler word k: letters only, distinct per k, never a planted word. */
static void filler(st_buf_t *b, unsigned k) {
    static const char cons[] = "bcdfghjklmnpstvz", vow[] = "aeiou";
    char w[16];
    int n = 0;
    w[n++] = 'x';
    do {
        w[n++] = cons[k % 16];
        k /= 16;
        w[n++] = vow[k % 5];
        k /= 5;
    } while (k);
    w[n] = 0;
    st_buf_printf(b, "%s ", w);
}

static void filler_words(st_buf_t *b, int n) {
    for (int i = 0; i < n; i++) {
        /* Zipf-like: small ranks far more often. */
        double u = (double)(rnd() % 1000000) / 1000000.0;
        unsigned k = (unsigned)((double)VOCAB * u * u * u);
        filler(b, k);
        if (i % 17 == 16) st_buf_append_str(b, ".\n");
    }
}

static void topic_terms(int t, char *a, char *c) {
    sprintf(a, "topic%da", t);
    sprintf(c, "topic%db", t);
}

static const char *types[] = {"schema", "macro", "documentation", "configuration", "logs"};
static const char *subs[] = {"", "finance", "finance/2023", "ops", "ops/eu"};
static const char *teams[] = {"core", "finance", "platform"};

static int setup_corpus(void **state) {
    (void)state;
    lt_init();
    lt_kind = 0;
    if (st_store_open(lt_new_url(), &g_store)) return -1;
    st_lake_opts_t o = {.index_path = lt_new_index()};
    if (st_lake_open(g_store, &o, &g_lake)) return -1;
    for (int t = 0; t < NTOPICS; t++) {
        g_relevant[t] = 100 + t * 97;
        g_named[t] = 50 + t * 101;
    }
    st_buf_t b = ST_BUF_INIT;
    for (int d = 0; d < NDOCS; d++) {
        st_buf_reset(&b);
        filler_words(&b, 120 + (int)(rnd() % 200));
        for (int t = 0; t < NTOPICS; t++) {
            char a[32], c[32];
            topic_terms(t, a, c);
            if (d == g_relevant[t]) { /* both terms, repeatedly, in a short text */
                for (int k = 0; k < 3; k++) st_buf_printf(&b, "%s %s ", a, c);
            } else if (d % 211 == t + 1) { /* distractor: term a only, often */
                for (int k = 0; k < 4; k++) st_buf_printf(&b, "%s ", a);
            } else if (d % 223 == t + 1) { /* distractor: term b only */
                for (int k = 0; k < 4; k++) st_buf_printf(&b, "%s ", c);
            } else if (d % 227 == t + 1) { /* distractor: both once, long */
                st_buf_printf(&b, "%s ", a);
                filler_words(&b, 600);
                st_buf_printf(&b, "%s ", c);
            }
            char n3[32];
            sprintf(n3, "subject%d", t);
            if (d == g_named[t]) st_buf_printf(&b, "%s ", n3);
            else if (d % 229 == t + 1) st_buf_printf(&b, "%s %s ", n3, n3);
        }
        g_phrase[d] = d % 37 == 5;
        if (g_phrase[d]) st_buf_append_str(&b, " amber falcon river ");
        else if (d % 37 == 6) st_buf_append_str(&b, " river falcon amber "); /* wrong order */
        else if (d % 37 == 7) st_buf_append_str(&b, " amber falcon; the river "); /* gap */
        g_prefix[d] = d % 41 == 3;
        if (g_prefix[d]) st_buf_printf(&b, " quantrel%s ", d % 2 ? "ator" : "ic");
        if (d % 41 == 4) st_buf_append_str(&b, " quantre quanta "); /* shorter: no match */
        g_common[d] = d % 3 == 0;
        if (g_common[d]) st_buf_append_str(&b, " ledger ");
        g_type[d] = types[d % 5];
        g_sub[d] = subs[(d / 5) % 5];
        g_team[d] = d % 3 == 0 ? (d / 3) % 3 : d % 3;
        char name[96], meta[128];
        int t = -1;
        for (int k = 0; k < NTOPICS; k++)
            if (d == g_named[k]) t = k;
        if (t >= 0) snprintf(name, sizeof name, "subject%d_guide.md", t);
        else snprintf(name, sizeof name, "doc%05d.txt", d);
        snprintf(meta, sizeof meta, "{\"team\":\"%s\",\"seq\":%d,\"flags\":{\"reviewed\":%s}}",
                 teams[g_team[d]], d, d % 4 == 0 ? "true" : "false");
        st_lake_entry_t e;
        if (st_lake_store(g_lake, name, b.data, b.len, g_type[d], meta, g_sub[d], &e)) {
            fprintf(stderr, "store %d: %s\n", d, st_errmsg());
            return -1;
        }
        memcpy(g_id[d], e.id, sizeof g_id[d]);
        st_lake_entry_free(&e);
    }
    st_buf_free(&b);
    return 0;
}

static int teardown_corpus(void **state) {
    (void)state;
    st_lake_close(g_lake);
    st_store_close(g_store);
    return 0;
}

static int doc_of(const char *id) {
    for (int d = 0; d < NDOCS; d++)
        if (!strcmp(g_id[d], id)) return d;
    return -1;
}

/* Runs the query with a limit above the corpus size and compares the set of
 * hits with want[] exactly. */
static void expect_set(const char *q, const st_lake_search_opts_t *base, bool (*want)(int)) {
    st_lake_search_opts_t o = base ? *base : (st_lake_search_opts_t){0};
    o.limit = NDOCS + 10;
    st_lake_hit_t *h;
    size_t n;
    if (st_lake_search(g_lake, q, &o, &h, &n)) fail_msg("search %s: %s", q, st_errmsg());
    static bool got[NDOCS];
    memset(got, 0, sizeof got);
    for (size_t i = 0; i < n; i++) {
        int d = doc_of(h[i].entry.id);
        assert_true(d >= 0);
        if (got[d]) fail_msg("%s: doc %d twice", q, d);
        got[d] = true;
        if (i && h[i].score > h[i - 1].score) fail_msg("%s: hits not ranked", q);
    }
    size_t expected = 0;
    for (int d = 0; d < NDOCS; d++) {
        expected += want(d);
        if (got[d] != want(d)) fail_msg("%s: doc %d %s", q, d, got[d] ? "unexpected" : "missing");
    }
    assert_int_equal(n, expected);
    assert_true(expected > 0);
    st_lake_hits_free(h, n);
}

static void test_relevant_first(void **state) {
    (void)state;
    for (int t = 0; t < NTOPICS; t++) {
        char a[32], c[32], q[80];
        topic_terms(t, a, c);
        snprintf(q, sizeof q, "%s %s", a, c);
        st_lake_hit_t *h;
        size_t n;
        st_lake_search_opts_t o = {.limit = 5};
        if (st_lake_search(g_lake, q, &o, &h, &n)) fail_msg("%s: %s", q, st_errmsg());
        assert_true(n >= 1);
        if (doc_of(h[0].entry.id) != g_relevant[t])
            fail_msg("%s: first is doc %d, want %d", q, doc_of(h[0].entry.id), g_relevant[t]);
        /* OR brings in the distractors; the relevant one still leads. */
        snprintf(q, sizeof q, "%s OR %s", a, c);
        st_lake_hits_free(h, n);
        if (st_lake_search(g_lake, q, &o, &h, &n)) fail_msg("%s: %s", q, st_errmsg());
        assert_true(n >= 2);
        if (doc_of(h[0].entry.id) != g_relevant[t])
            fail_msg("%s: first is doc %d, want %d", q, doc_of(h[0].entry.id), g_relevant[t]);
        st_lake_hits_free(h, n);
        /* A term in a name outranks the same term twice in other texts. */
        snprintf(q, sizeof q, "subject%d", t);
        if (st_lake_search(g_lake, q, &o, &h, &n)) fail_msg("%s: %s", q, st_errmsg());
        assert_true(n >= 1);
        if (doc_of(h[0].entry.id) != g_named[t])
            fail_msg("%s: first is doc %d, want the named doc %d", q, doc_of(h[0].entry.id),
                     g_named[t]);
        assert_non_null(strstr(h[0].snippet, "[subject"));
        st_lake_hits_free(h, n);
    }
}

static bool want_phrase(int d) { return g_phrase[d]; }
static bool want_words(int d) { return d % 37 >= 5 && d % 37 <= 7; }
static bool want_prefix(int d) { return g_prefix[d]; }
static bool want_schema(int d) { return !strcmp(g_type[d], "schema") && g_common[d]; }
static bool want_finance(int d) {
    return g_common[d] && !strncmp(g_sub[d], "finance", 7);
}
static bool want_finance2023(int d) { return g_common[d] && !strcmp(g_sub[d], "finance/2023"); }
static bool want_team(int d) { return g_common[d] && g_team[d] == 2; }
static bool want_team_reviewed(int d) { return g_common[d] && g_team[d] == 2 && d % 4 == 0; }
static bool want_all(int d) {
    return g_common[d] && !strcmp(g_type[d], "logs") && !strcmp(g_sub[d], "ops/eu") &&
           g_team[d] == 1;
}
static bool want_seq(int d) { return d == 1234; }

static void test_phrase(void **state) {
    (void)state;
    expect_set("\"amber falcon river\"", NULL, want_phrase);
    expect_set("amber falcon river", NULL, want_words); /* words in any order */
}

static void test_prefix(void **state) {
    (void)state;
    expect_set("quantrel*", NULL, want_prefix);
}

static void test_filters(void **state) {
    (void)state;
    st_lake_search_opts_t o = {.data_type = "schema"};
    expect_set("ledger", &o, want_schema);
    o = (st_lake_search_opts_t){.subpath = "finance"};
    expect_set("ledger", &o, want_finance);
    o = (st_lake_search_opts_t){.subpath = "finance/2023"};
    expect_set("ledger", &o, want_finance2023);
    st_lake_filter_t team[] = {{"team", "platform"}};
    o = (st_lake_search_opts_t){.meta = team, .nmeta = 1};
    expect_set("ledger", &o, want_team);
    st_lake_filter_t two[] = {{"team", "platform"}, {"flags.reviewed", "true"}};
    o = (st_lake_search_opts_t){.meta = two, .nmeta = 2};
    expect_set("ledger", &o, want_team_reviewed);
    st_lake_filter_t fin[] = {{"team", "finance"}};
    o = (st_lake_search_opts_t){.data_type = "logs", .subpath = "ops/eu", .meta = fin, .nmeta = 1};
    expect_set("ledger", &o, want_all);
    /* Numbers in metadata are matched by their JSON text, and searchable. */
    st_lake_filter_t seq[] = {{"seq", "1234"}};
    o = (st_lake_search_opts_t){.meta = seq, .nmeta = 1};
    expect_set("x* OR ledger OR topic0a", &o, want_seq);
    expect_set("1234", NULL, want_seq);
}

/* Deleted and updated documents leave and enter result sets exactly. */
static void test_changes(void **state) {
    (void)state;
    int d = g_relevant[3];
    char a[32], c[32], q[80];
    topic_terms(3, a, c);
    snprintf(q, sizeof q, "\"%s %s\"", a, c);
    if (st_lake_update(g_lake, g_id[d], "nothing relevant here", 21, NULL, NULL))
        fail_msg("update: %s", st_errmsg());
    st_lake_hit_t *h;
    size_t n;
    if (st_lake_search(g_lake, q, NULL, &h, &n)) fail_msg("%s", st_errmsg());
    assert_int_equal(n, 0);
    st_lake_hits_free(h, n);
    if (st_lake_delete(g_lake, g_id[g_named[4]])) fail_msg("delete: %s", st_errmsg());
    if (st_lake_search(g_lake, "subject4", NULL, &h, &n)) fail_msg("%s", st_errmsg());
    for (size_t i = 0; i < n; i++) assert_int_not_equal(doc_of(h[i].entry.id), g_named[4]);
    st_lake_hits_free(h, n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relevant_first), cmocka_unit_test(test_phrase),
        cmocka_unit_test(test_prefix),         cmocka_unit_test(test_filters),
        cmocka_unit_test(test_changes),
    };
    return cmocka_run_group_tests_name("lake search quality", tests, setup_corpus,
                                       teardown_corpus);
}
