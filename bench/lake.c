/*
 * Lake benchmark: ingest generated text artifacts into a lake, then time
 * searches (bench/lake.sh runs grep over the same files in the same run).
 *
 *   bench_lake URL --count N --size BYTES --queries Q [--threads T]
 *              [--index PATH] [--terms FILE] [--reuse] [--exact]
 *
 * --reuse: the store already holds the N documents (an earlier run's lake
 * directory): skip the ingest, time the index catching up (a rebuild when the
 * index file is missing or of another layout), then search.
 * --exact: the queries run in exact mode (every match ranked) instead of the
 * default bounded mode; the search lines then say mode=exact.
 *
 * Documents: N texts of about BYTES bytes each (doc d is a pure function of
 * d): words from a 50,000-word vocabulary drawn with Zipf-like frequencies
 * (log-uniform ranks), in sentences; stored as type documentation or logs in
 * subpaths team<k>/<year> with metadata {"team","year","seq"}, by T threads
 * sharing one handle (store writes run in parallel, journal appends take
 * turns, index updates are batched), then st_lake_optimize.
 * Queries (Q, cycling through four kinds): one mid-frequency word; two
 * words (AND); a two-word phrase taken from a document; a prefix of a
 * word. The single words are written to --terms for grep.
 * Every search includes the journal check that picks up other writers.
 * Output, one line each:
 *   lake ingest docs=N bytes=B seconds=S docs_per_s=X MB_per_s=Y
 *     (with --reuse: lake reuse docs=N sync_seconds=S)
 *   lake optimize seconds=S   (st_lake_optimize after the load, before searching)
 *   lake search kind=K mode=bounded|exact queries=Q p50_ms=A p90_ms=B p99_ms=C max_ms=D mean_ms=E hits_mean=H
 *     (one line per query kind: word, and, phrase, prefix; then kind=all)
 *   lake slow ms=M query=Q   (the ten slowest queries)
 */
#include "strata/lake.h"

#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VOCAB 50000

static const char *g_url, *g_index, *g_terms;
static long g_count = 100000, g_size = 10000, g_queries = 1000;
static int g_threads = 4;
static bool g_reuse, g_exact;
static st_lake_t *g_lake;
static atomic_long g_next;
static atomic_ullong g_bytes;
static atomic_int g_failed;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "bench_lake: %s: %s\n", what, st_errmsg());
    exit(1);
}

static uint64_t mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Word of rank r: letters only, distinct per rank. */
static int word(unsigned r, char *out) {
    static const char cons[] = "bcdfghjklmnprstvwz", vow[] = "aeiouy";
    int n = 0;
    unsigned k = r + 1;
    do {
        out[n++] = cons[k % 18];
        k /= 18;
        out[n++] = vow[k % 6];
        k /= 6;
    } while (k);
    if (n < 4) out[n++] = 'n';
    out[n] = 0;
    return n;
}

static unsigned zipf_rank(uint64_t *s) {
    *s = mix(*s);
    double u = (double)(*s >> 11) * (1.0 / 9007199254740992.0);
    unsigned r = (unsigned)(pow((double)VOCAB, u)) - 1;
    return r < VOCAB ? r : VOCAB - 1;
}

static void gen_doc(long d, st_buf_t *b) {
    uint64_t s = (uint64_t)d * 7919 + 17;
    char w[32];
    st_buf_reset(b);
    int inword = 0;
    while ((long)b->len < g_size) {
        int n = word(zipf_rank(&s), w);
        if (inword == 0) w[0] = (char)(w[0] - 32); /* capital at a sentence start */
        st_buf_append(b, w, (size_t)n);
        if (++inword >= 12 + (int)(s % 9)) {
            st_buf_append_str(b, (s >> 8) % 4 == 0 ? ".\n" : ". ");
            inword = 0;
        } else {
            st_buf_append_byte(b, ' ');
        }
    }
}

static void *ingest_worker(void *arg) {
    (void)arg;
    st_buf_t b = ST_BUF_INIT;
    char name[64], sub[64], meta[128];
    for (;;) {
        long d = atomic_fetch_add(&g_next, 1);
        if (d >= g_count || atomic_load(&g_failed)) break;
        gen_doc(d, &b);
        snprintf(name, sizeof name, "doc%07ld.txt", d);
        snprintf(sub, sizeof sub, "team%ld/%ld", d % 8, 2015 + d % 10);
        snprintf(meta, sizeof meta, "{\"team\":\"team%ld\",\"year\":%ld,\"seq\":%ld}", d % 8,
                 2015 + d % 10, d);
        if (st_lake_store(g_lake, name, b.data, b.len, d % 5 ? "documentation" : "logs", meta, sub,
                          NULL)) {
            fprintf(stderr, "bench_lake: store %s: %s\n", name, st_errmsg());
            atomic_store(&g_failed, 1);
            break;
        }
        atomic_fetch_add(&g_bytes, b.len);
    }
    st_buf_free(&b);
    return NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct timed {
    double ms;
    long i;
} timed_t;

static int cmp_timed_desc(const void *a, const void *b) {
    double x = ((const timed_t *)a)->ms, y = ((const timed_t *)b)->ms;
    return x > y ? -1 : x < y;
}

/* Percentiles of lat[0..n) (sorted here). */
static void report(const char *kind, double *lat, long n, unsigned long long hits) {
    if (n < 1) return;
    double sum = 0;
    for (long i = 0; i < n; i++) sum += lat[i];
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
#define PCT(p) lat[(size_t)((double)(n - 1) * (p))]
    printf("lake search kind=%s mode=%s queries=%ld p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f "
           "mean_ms=%.3f hits_mean=%.1f\n",
           kind, g_exact ? "exact" : "bounded", n, PCT(0.50), PCT(0.90), PCT(0.99), lat[n - 1], sum / (double)n,
           (double)hits / (double)n);
#undef PCT
}

/* A mid-frequency rank: in roughly 0.3% to 7% of the documents. */
static unsigned mid_rank(uint64_t *s) {
    *s = mix(*s);
    return 2000 + (unsigned)(*s % 38000);
}

static void make_query(long i, char *q, size_t cap, FILE *terms) {
    uint64_t s = (uint64_t)i * 104729 + 3;
    char a[32], b[32];
    switch (i % 4) {
    case 0:
        word(mid_rank(&s), a);
        snprintf(q, cap, "%s", a);
        if (terms) fprintf(terms, "%s\n", a);
        break;
    case 1:
        word(mid_rank(&s), a);
        s = mix(s);
        word(200 + (unsigned)(s % 1800), b); /* with a more common word */
        snprintf(q, cap, "%s %s", a, b);
        break;
    case 2: { /* two adjacent words of some document */
        st_buf_t doc = ST_BUF_INIT;
        s = mix(s);
        gen_doc((long)(s % (uint64_t)g_count), &doc);
        st_buf_append_byte(&doc, 0);
        const char *p = (const char *)doc.data + (s >> 20) % (doc.len / 2);
        while (*p && *p != ' ') p++;
        while (*p == ' ') p++;
        char w1[32] = "", w2[32] = "";
        if (sscanf(p, "%31[a-zA-Z] %31[a-zA-Z]", w1, w2) == 2)
            snprintf(q, cap, "\"%s %s\"", w1, w2);
        else
            snprintf(q, cap, "\"%s\"", w1[0] ? w1 : "ba");
        st_buf_free(&doc);
        break;
    }
    default:
        word(mid_rank(&s), a);
        a[strlen(a) > 5 ? 5 : strlen(a)] = 0;
        snprintf(q, cap, "%s*", a);
    }
}

int main(int argc, char **argv) {
    static const struct option opts[] = {{"count", required_argument, 0, 'n'},
                                         {"size", required_argument, 0, 's'},
                                         {"queries", required_argument, 0, 'q'},
                                         {"threads", required_argument, 0, 't'},
                                         {"index", required_argument, 0, 'i'},
                                         {"terms", required_argument, 0, 'T'},
                                         {"reuse", no_argument, 0, 'r'},
                                         {"exact", no_argument, 0, 'x'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n': g_count = atol(optarg); break;
        case 's': g_size = atol(optarg); break;
        case 'q': g_queries = atol(optarg); break;
        case 't': g_threads = atoi(optarg); break;
        case 'i': g_index = optarg; break;
        case 'T': g_terms = optarg; break;
        case 'r': g_reuse = true; break;
        case 'x': g_exact = true; break;
        default: return 2;
        }
    }
    if (optind != argc - 1 || g_count < 1 || g_threads < 1 || g_queries < 1) {
        fprintf(stderr, "usage: bench_lake URL --count N --size BYTES --queries Q [--threads T] "
                        "[--index PATH] [--terms FILE] [--reuse] [--exact]\n");
        return 2;
    }
    g_url = argv[optind];
    st_store_t *store;
    if (st_store_open(g_url, &store)) die(g_url);
    st_lake_opts_t lo = {.index_path = g_index};
    if (st_lake_open(store, &lo, &g_lake)) die("lake open");

    double t0 = now_s();
    if (g_reuse) {
        if (st_lake_sync(g_lake)) die("lake sync");
        printf("lake reuse docs=%ld sync_seconds=%.3f\n", g_count, now_s() - t0);
    } else {
        pthread_t th[64];
        int nt = g_threads > 64 ? 64 : g_threads;
        for (int i = 0; i < nt; i++) pthread_create(&th[i], NULL, ingest_worker, NULL);
        for (int i = 0; i < nt; i++) pthread_join(th[i], NULL);
        double secs = now_s() - t0;
        if (atomic_load(&g_failed)) return 1;
        unsigned long long bytes = atomic_load(&g_bytes);
        printf("lake ingest docs=%ld bytes=%llu seconds=%.3f docs_per_s=%.1f MB_per_s=%.2f\n",
               g_count, bytes, secs, (double)g_count / secs, (double)bytes / 1e6 / secs);
    }
    fflush(stdout);
    t0 = now_s();
    if (st_lake_optimize(g_lake)) die("lake optimize");
    printf("lake optimize seconds=%.3f\n", now_s() - t0);
    fflush(stdout);

    static const char *kinds[4] = {"word", "and", "phrase", "prefix"};
    FILE *terms = g_terms ? fopen(g_terms, "w") : NULL;
    double *all = malloc((size_t)g_queries * sizeof *all);
    double *bykind[4];
    long nkind[4] = {0};
    unsigned long long hits_kind[4] = {0}, hits_total = 0;
    timed_t *order = malloc((size_t)g_queries * sizeof *order);
    for (int k = 0; k < 4; k++) bykind[k] = malloc((size_t)g_queries * sizeof *bykind[k]);
    char q[128];
    st_lake_search_opts_t so = {.limit = 10, .exact = g_exact};
    for (long i = 0; i < g_queries; i++) {
        make_query(i, q, sizeof q, terms);
        st_lake_hit_t *h;
        size_t n;
        double a = now_s();
        if (st_lake_search(g_lake, q, &so, &h, &n)) die(q);
        double ms = (now_s() - a) * 1e3;
        all[i] = ms;
        order[i] = (timed_t){ms, i};
        bykind[i % 4][nkind[i % 4]++] = ms;
        hits_kind[i % 4] += n;
        hits_total += n;
        st_lake_hits_free(h, n);
    }
    if (terms) fclose(terms);
    for (int k = 0; k < 4; k++) report(kinds[k], bykind[k], nkind[k], hits_kind[k]);
    report("all", all, g_queries, hits_total);
    qsort(order, (size_t)g_queries, sizeof *order, cmp_timed_desc);
    for (long i = 0; i < g_queries && i < 10; i++) {
        make_query(order[i].i, q, sizeof q, NULL);
        printf("lake slow ms=%.3f kind=%s query=%s\n", order[i].ms, kinds[order[i].i % 4], q);
    }
    for (int k = 0; k < 4; k++) free(bykind[k]);
    free(order);
    free(all);
    st_lake_close(g_lake);
    st_store_close(store);
    return 0;
}
