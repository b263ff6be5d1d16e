/*
 * Searches bounded for speed must stay complete: a lake of more entries than
 * the search looks at first (20,000) and than it ranks (1,000). An old entry
 * that only it matches is still found, a broad query still fills its limit
 * (also a limit above the ranking bound), and the hits are distinct. An old
 * entry whose name holds a word that every newer entry holds in its content
 * ranks first for it; an old entry matching only by content among thousands
 * of newer matches is found by an exact search (which the bounded one may
 * miss), with the same scores as the bounded search gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lake_test_util.h"

#define NDOCS 20300

static st_store_t *g_store;
static st_lake_t *g_lake;
static char g_old_id[ST_UUID_STR_LEN + 1];
static char g_named_id[ST_UUID_STR_LEN + 1]; /* "haystack.txt", old */
static char g_strong_id[ST_UUID_STR_LEN + 1]; /* "haystack" many times in content, old */

static int setup(void **state) {
    (void)state;
    lt_init();
    (void)lt_new_url; /* always mem://: 20,000 stores are about search, not the store */
    if (st_store_open("mem://lake-window-test", &g_store)) return -1;
    st_lake_opts_t o = {.index_path = lt_new_index()};
    if (st_lake_open(g_store, &o, &g_lake)) return -1;
    st_lake_entry_t e;
    if (st_lake_store(g_lake, "old.txt", "needle haystack", 15, "documentation", NULL, NULL, &e))
        return -1;
    memcpy(g_old_id, e.id, sizeof g_old_id);
    st_lake_entry_free(&e);
    if (st_lake_store(g_lake, "haystack.txt", "bale of dry grass", 17, "documentation", NULL, NULL,
                      &e))
        return -1;
    memcpy(g_named_id, e.id, sizeof g_named_id);
    st_lake_entry_free(&e);
    static const char strong[] = "haystack haystack haystack haystack bundle";
    if (st_lake_store(g_lake, "strong.txt", strong, sizeof strong - 1, "documentation", NULL, NULL,
                      &e))
        return -1;
    memcpy(g_strong_id, e.id, sizeof g_strong_id);
    st_lake_entry_free(&e);
    char name[32], text[64];
    for (int i = 0; i < NDOCS; i++) {
        snprintf(name, sizeof name, "f%05d.txt", i);
        int n = snprintf(text, sizeof text, "haystack straw%d", i % 97);
        if (st_lake_store(g_lake, name, text, (size_t)n, "documentation", NULL, NULL, NULL))
            return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    st_lake_close(g_lake);
    st_store_close(g_store);
    return 0;
}

static size_t search_mode(const char *q, size_t limit, bool exact, st_lake_hit_t **h) {
    st_lake_search_opts_t o = {.limit = limit, .exact = exact};
    size_t n = 0;
    int rc = st_lake_search(g_lake, q, &o, h, &n);
    if (rc) fail_msg("search %s: %s", q, st_errmsg());
    return n;
}

static size_t search(const char *q, size_t limit, st_lake_hit_t **h) {
    return search_mode(q, limit, false, h);
}

static void test_old_entry_found(void **state) {
    (void)state;
    st_lake_hit_t *h;
    size_t n = search("needle", 10, &h);
    assert_int_equal(n, 1);
    assert_string_equal(h[0].entry.id, g_old_id);
    st_lake_hits_free(h, n);
    n = search("\"needle haystack\"", 10, &h);
    assert_int_equal(n, 1);
    assert_string_equal(h[0].entry.id, g_old_id);
    st_lake_hits_free(h, n);
}

static void test_broad_query_fills_limit(void **state) {
    (void)state;
    st_lake_hit_t *h;
    size_t n = search("haystack", 10, &h);
    assert_int_equal(n, 10);
    for (size_t i = 1; i < n; i++) assert_true(h[i - 1].score >= h[i].score);
    st_lake_hits_free(h, n);
    /* Above the ranking bound: as many as asked, each once. */
    n = search("haystack", 3000, &h);
    assert_int_equal(n, 3000);
    char(*ids)[ST_UUID_STR_LEN + 1] = malloc(n * sizeof *ids);
    assert_non_null(ids);
    for (size_t i = 0; i < n; i++) memcpy(ids[i], h[i].entry.id, sizeof ids[i]);
    qsort(ids, n, sizeof *ids, (int (*)(const void *, const void *))strcmp);
    for (size_t i = 1; i < n; i++) assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
    st_lake_hits_free(h, n);
    /* A word in 1 of 97 entries, spread over the whole lake. */
    n = search("straw5", 500, &h);
    assert_int_equal(n, (NDOCS + 96 - 5) / 97);
    st_lake_hits_free(h, n);
}

static void test_old_name_match_ranks_first(void **state) {
    (void)state;
    /* "haystack" is in the content of 20,301 entries, all newer than the one
     * named haystack.txt; its name (weighted above content) puts it first. */
    st_lake_hit_t *h;
    size_t n = search("haystack", 10, &h);
    assert_int_equal(n, 10);
    assert_string_equal(h[0].entry.id, g_named_id);
    assert_string_equal(h[0].entry.name, "haystack.txt");
    for (size_t i = 1; i < n; i++) {
        assert_true(h[i - 1].score >= h[i].score);
        assert_string_not_equal(h[i].entry.id, g_named_id); /* once, not twice */
    }
    double bounded = h[0].score;
    st_lake_hits_free(h, n);
    /* Exact mode agrees, with the same score. */
    n = search_mode("haystack", 10, true, &h);
    assert_int_equal(n, 10);
    assert_string_equal(h[0].entry.id, g_named_id);
    assert_true(h[0].score == bounded);
    st_lake_hits_free(h, n);
    /* A name match must still satisfy the whole query: NOT applies to its
     * content ("bale of dry grass") too, and so does a second word. */
    n = search("haystack NOT grass", 5, &h);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) assert_string_not_equal(h[i].entry.id, g_named_id);
    st_lake_hits_free(h, n);
    n = search("haystack straw1", 3, &h);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) assert_string_not_equal(h[i].entry.id, g_named_id);
    st_lake_hits_free(h, n);
}

static bool has(const st_lake_hit_t *h, size_t n, const char *id) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(h[i].entry.id, id)) return true;
    return false;
}

static void test_exact_finds_old_content_match(void **state) {
    (void)state;
    /* strong.txt matches "haystack" by content only, four times in five
     * words: the best content match, but older than the 20,000 newest. The
     * bounded search ranks the newest matches only (this is the documented
     * gap); the exact one finds it, second after the name match. */
    st_lake_hit_t *h;
    size_t n = search("haystack", 10, &h);
    assert_int_equal(n, 10);
    assert_false(has(h, n, g_strong_id));
    st_lake_hits_free(h, n);
    n = search_mode("haystack", 10, true, &h);
    assert_int_equal(n, 10);
    assert_string_equal(h[0].entry.id, g_named_id);
    assert_string_equal(h[1].entry.id, g_strong_id);
    for (size_t i = 1; i < n; i++) assert_true(h[i - 1].score >= h[i].score);
    double strong = h[1].score, tenth = h[9].score;
    st_lake_hits_free(h, n);
    /* Same scores as the bounded search gives the entries it ranks: the
     * tenth exact hit scores like the bounded ninth hit or better (the
     * bounded list lacks strong.txt, so it is shifted by one). */
    n = search("haystack", 10, &h);
    assert_true(strong > h[1].score);
    assert_true(tenth == h[8].score);
    st_lake_hits_free(h, n);
    /* Exact mode returns every match when the limit allows: the fillers,
     * old.txt, haystack.txt and strong.txt, each once. */
    n = search_mode("haystack", 25000, true, &h);
    assert_int_equal(n, NDOCS + 3);
    assert_true(has(h, n, g_old_id));
    assert_string_equal(h[1].entry.id, g_strong_id);
    st_lake_hits_free(h, n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_entry_found),
        cmocka_unit_test(test_broad_query_fills_limit),
        cmocka_unit_test(test_old_name_match_ranks_first),
        cmocka_unit_test(test_exact_finds_old_content_match),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
