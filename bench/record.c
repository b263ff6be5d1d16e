/*
 * Record benchmark: versioned changes through the record layer and the
 * repository, and listing a large project.
 *
 *   bench_record URL [--ops N] [--list-records N] [--threads T] [--rows R]
 *
 * changes: N creates (one record each), N updates of one record, N/2 update +
 *          approve pairs, first with st_record_* (the record layer alone), then
 *          with st_repo_* (plus the project index), and N updates spread over T
 *          writer threads each on its own record; each timed, and the store
 *          requests each operation made counted by a wrapper around the store's
 *          backend (GET, PUT, HEAD, DELETE, LIST calls).
 * list:    N records created through st_repo_create by T threads in project
 *          "big" (one version of R rows each), then st_repo_list_by_project timed:
 *          the first listing (markers only; it compacts them into the snapshot)
 *          and the median of 5 after it.
 * One line per measurement:
 *   strata LAYER OP ops=N seconds=S ops_per_s=X requests_per_op=Q [get=.. put=.. ...]
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/backend.h"
#include "strata/repo.h"

/* ---- request counting ------------------------------------------------------
 * The store keeps its backend in a private struct (src/store/store.c); the
 * bench mirrors its first fields to interpose a counting copy of the backend,
 * and checks the mirror against the public accessors before relying on it. */
typedef struct mirror_store {
    const st_store_backend_t *be;
    void *state;
    unsigned caps;
    char *url;
} mirror_store_t;

static const st_store_backend_t *g_real;
static st_store_backend_t g_counting;
static atomic_long g_get, g_put, g_head, g_del, g_list;

static int c_get(void *s, const char *k, int64_t o, uint64_t l, bool w, st_buf_t *out,
                 st_object_info_t *i) {
    atomic_fetch_add(&g_get, 1);
    return g_real->get_range(s, k, o, l, w, out, i);
}
static int c_put(void *s, const char *k, const void *d, size_t n, const st_put_opts_t *o,
                 st_object_info_t *i) {
    atomic_fetch_add(&g_put, 1);
    return g_real->put(s, k, d, n, o, i);
}
static int c_head(void *s, const char *k, st_object_info_t *i) {
    atomic_fetch_add(&g_head, 1);
    return g_real->head(s, k, i);
}
static int c_del(void *s, const char *k) {
    atomic_fetch_add(&g_del, 1);
    return g_real->del(s, k);
}
static int c_list(void *s, const char *p, const char *d, void **it, const st_list_page_ops_t **ops) {
    atomic_fetch_add(&g_list, 1);
    return g_real->list(s, p, d, it, ops);
}

static void interpose(st_store_t *s) {
    mirror_store_t *m = (mirror_store_t *)s;
    if (!m->be || !m->be->scheme || strncmp(st_store_url(s), m->be->scheme, strlen(m->be->scheme)) ||
        m->url != st_store_url(s)) {
        fprintf(stderr, "bench_record: store layout changed; request counts unavailable\n");
        exit(1);
    }
    g_real = m->be;
    g_counting = *m->be;
    g_counting.get_range = c_get;
    g_counting.put = c_put;
    g_counting.head = c_head;
    g_counting.del = c_del;
    g_counting.list = c_list;
    m->be = &g_counting;
}

static long total_requests(void) {
    return atomic_load(&g_get) + atomic_load(&g_put) + atomic_load(&g_head) + atomic_load(&g_del) +
           atomic_load(&g_list);
}

static void reset_counts(void) {
    atomic_store(&g_get, 0);
    atomic_store(&g_put, 0);
    atomic_store(&g_head, 0);
    atomic_store(&g_del, 0);
    atomic_store(&g_list, 0);
}

/* ---- helpers --------------------------------------------------------------- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "bench_record: %s: %s\n", what, st_errmsg());
    exit(1);
}

static void report(const char *layer, const char *op, long n, double secs) {
    double q = n ? (double)total_requests() / (double)n : 0;
    printf("strata %s %s ops=%ld seconds=%.3f ops_per_s=%.1f requests_per_op=%.2f get=%.2f put=%.2f "
           "head=%.2f delete=%.2f list=%.2f\n",
           layer, op, n, secs, (double)n / secs, q, (double)atomic_load(&g_get) / (double)n,
           (double)atomic_load(&g_put) / (double)n, (double)atomic_load(&g_head) / (double)n,
           (double)atomic_load(&g_del) / (double)n, (double)atomic_load(&g_list) / (double)n);
    fflush(stdout);
}

/* R rows of borelog_versions (the borelog entity's table). */
static st_batch_t *make_batch(const st_schema_t *s, int rows) {
    st_batch_t *b;
    if (st_batch_new(st_schema_fields(s), s->nfields, &b)) die("batch");
    for (int r = 0; r < rows; r++) {
        char depth[32], ver[16];
        snprintf(depth, sizeof depth, "%d.%03d", r, r % 1000);
        snprintf(ver, sizeof ver, "%d", r + 1);
        const char *vals[] = {"6f1c1e4e-8d5c-4c1b-9d59-1b2a3c4d5e6f", ver, "draft", depth,
                              "bench row", NULL, NULL, "2024-05-01T10:00:00Z"};
        for (int c = 0; c < b->ncols; c++) {
            const char *v = c < 8 ? vals[c] : NULL;
            if (st_coerce_append(&b->cols[c], v ? v : "", v ? strlen(v) : 0)) die("row");
        }
        if (st_batch_end_row(b)) die("row");
    }
    return b;
}

static const char *g_run;
static char g_id[160];

static const char *rid(const char *what, long i) {
    snprintf(g_id, sizeof g_id, "%s-%s-%ld", g_run, what, i);
    return g_id;
}

typedef struct pctx {
    st_records_t *rec;
    st_repo_t *repo;
    const st_batch_t *b;
    char id[160];
    long n;
} pctx_t;

static void *par_update(void *arg) {
    pctx_t *c = arg;
    for (long i = 0; i < c->n; i++) {
        int rc = c->repo ? st_repo_update(c->repo, "borelog", "p1", c->id, c->b, "bench", NULL, NULL)
                         : st_record_update(c->rec, c->id, c->b, "bench", NULL, NULL);
        if (rc) die("parallel update");
    }
    return NULL;
}

/* T writers, each updating its own record: what a server handling many
 * users sees; fsync latencies overlap. */
static void parallel_updates(st_records_t *rec, st_repo_t *repo, const st_batch_t *b, long n, int threads) {
    pthread_t th[64];
    pctx_t c[64];
    if (threads > 64) threads = 64;
    for (int i = 0; i < threads; i++) {
        c[i] = (pctx_t){repo ? NULL : rec, repo, b, "", n / threads};
        snprintf(c[i].id, sizeof c[i].id, "%s-par-%s-%d", g_run, repo ? "repo" : "rec", i);
        int rc = repo ? st_repo_create(repo, "borelog", "p1", c[i].id, b, "bench", NULL, NULL)
                      : st_record_create(rec, c[i].id, b, "borelog_versions", NULL, "bench", NULL, NULL);
        if (rc) die("create");
    }
    reset_counts();
    double t0 = now_s();
    for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, par_update, &c[i]);
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    char op[64];
    snprintf(op, sizeof op, "update(%d_writers)", threads);
    report(repo ? "repo" : "record", op, n / threads * threads, now_s() - t0);
}

static int g_threads = 8;

static void bench_changes(st_store_t *store, long n, int rows) {
    const st_schema_t *schema;
    st_registry_t *reg;
    if (st_registry_open(NULL, &reg) || st_registry_get(reg, "borelog_versions", &schema))
        die("registry");
    st_batch_t *b = make_batch(schema, rows);
    st_records_t *rec;
    st_records_opts_t ro = {"bench/records", reg, false};
    if (st_records_open(store, &ro, &rec)) die("records open");
    st_repo_t *repo;
    st_repo_opts_t po;
    memset(&po, 0, sizeof po);
    po.records_root = "bench/repo-records";
    po.index_root = "bench/repo";
    po.registry = reg;
    if (st_repo_open(store, &po, &repo)) die("repo open");

    for (int layer = 0; layer < 2; layer++) {
        const char *ln = layer ? "repo" : "record";
        reset_counts();
        double t0 = now_s();
        for (long i = 0; i < n; i++) {
            int rc = layer ? st_repo_create(repo, "borelog", "p1", rid("c", i), b, "bench", NULL, NULL)
                           : st_record_create(rec, rid("c", i), b, "borelog_versions", NULL, "bench",
                                              NULL, NULL);
            if (rc) die("create");
        }
        report(ln, "create", n, now_s() - t0);
        const char *one = "u-1";
        char id1[160];
        snprintf(id1, sizeof id1, "%s-%s", g_run, one);
        if (layer ? st_repo_create(repo, "borelog", "p1", id1, b, "bench", NULL, NULL)
                  : st_record_create(rec, id1, b, "borelog_versions", NULL, "bench", NULL, NULL))
            die("create");
        reset_counts();
        t0 = now_s();
        for (long i = 0; i < n; i++) {
            int rc = layer ? st_repo_update(repo, "borelog", "p1", id1, b, "bench", NULL, NULL)
                           : st_record_update(rec, id1, b, "bench", NULL, NULL);
            if (rc) die("update");
        }
        report(ln, "update", n, now_s() - t0);
        long pairs = n / 2 > 0 ? n / 2 : 1;
        double tu = 0, ta = 0;
        long qu = 0, qa = 0;
        for (long i = 0; i < pairs; i++) {
            reset_counts();
            double a = now_s();
            int rc = layer ? st_repo_update(repo, "borelog", "p1", id1, b, "bench", NULL, NULL)
                           : st_record_update(rec, id1, b, "bench", NULL, NULL);
            double m = now_s();
            qu += total_requests();
            reset_counts();
            if (!rc) rc = layer ? st_repo_approve(repo, "borelog", "p1", id1, "boss", NULL)
                                : st_record_approve(rec, id1, "boss", NULL);
            if (rc) die("update+approve");
            qa += total_requests();
            tu += m - a;
            ta += now_s() - m;
        }
        if (g_threads > 1) parallel_updates(rec, layer ? repo : NULL, b, n, g_threads);
        reset_counts();
        printf("strata %s approve ops=%ld seconds=%.3f ops_per_s=%.1f requests_per_op=%.2f "
               "(alternating with updates: update ops_per_s=%.1f requests_per_op=%.2f)\n",
               ln, pairs, ta, (double)pairs / ta, (double)qa / (double)pairs, (double)pairs / tu,
               (double)qu / (double)pairs);
        fflush(stdout);
    }
    st_repo_close(repo);
    st_records_close(rec);
    st_batch_free(b);
    st_registry_free(reg);
}

typedef struct lctx {
    st_repo_t *repo;
    const st_batch_t *b;
    long from, to;
} lctx_t;

static void *populate(void *arg) {
    lctx_t *c = arg;
    for (long i = c->from; i < c->to; i++) {
        char id[64];
        snprintf(id, sizeof id, "r%07ld", i);
        int rc = st_repo_create(c->repo, "borelog", "big", id, c->b, "bench", NULL, NULL);
        if (rc && rc != ST_EEXIST) die("populate");
        if (rc) st_error_clear();
    }
    return NULL;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void bench_list(st_store_t *store, long n, int threads, int rows) {
    const st_schema_t *schema;
    st_registry_t *reg;
    if (st_registry_open(NULL, &reg) || st_registry_get(reg, "borelog_versions", &schema))
        die("registry");
    st_batch_t *b = make_batch(schema, rows);
    st_repo_t *repo;
    st_repo_opts_t po;
    memset(&po, 0, sizeof po);
    po.records_root = "bench/list-records";
    po.index_root = "bench/list-repo";
    po.registry = reg;
    po.compact_threshold = -1; /* compaction below is explicit and timed */
    if (st_repo_open(store, &po, &repo)) die("repo open");
    st_repo_list_t l;
    /* Resume a population left by an earlier run with the same URL. */
    long have = 0;
    if (!st_repo_list_by_project(repo, "borelog", "big", NULL, &l)) have = l.n;
    st_repo_list_free(&l);
    double t0 = now_s();
    if (have < n) {
        pthread_t th[64];
        lctx_t c[64];
        if (threads < 1) threads = 1;
        if (threads > 64) threads = 64;
        for (int i = 0; i < threads; i++) {
            c[i] = (lctx_t){repo, b, have + (n - have) * i / threads, have + (n - have) * (i + 1) / threads};
            pthread_create(&th[i], NULL, populate, &c[i]);
        }
        for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
        printf("strata repo populate records=%ld seconds=%.1f records_per_s=%.1f threads=%d\n",
               n - have, now_s() - t0, (double)(n - have) / (now_s() - t0), threads);
    }
    reset_counts();
    t0 = now_s();
    if (st_repo_list_by_project(repo, "borelog", "big", NULL, &l)) die("list");
    printf("strata repo list_by_project(markers) records=%d markers=%d seconds=%.4f requests=%ld\n", l.n,
           l.markers, now_s() - t0, total_requests());
    st_repo_list_free(&l);
    t0 = now_s();
    int rc = st_repo_compact(repo, "borelog", "big");
    if (rc && rc != ST_EUNSUPPORTED) die("compact");
    printf("strata repo compact seconds=%.3f%s\n", now_s() - t0,
           rc ? " (store has no put-if-match: markers stay)" : "");
    double ts[5];
    st_record_status_t draft = ST_RECORD_DRAFT;
    for (int k = 0; k < 5; k++) {
        reset_counts();
        t0 = now_s();
        if (st_repo_list_by_project(repo, "borelog", "big", k == 4 ? &draft : NULL, &l)) die("list");
        ts[k] = now_s() - t0;
        if (k == 0)
            printf("strata repo list_by_project records=%d markers=%d resolved=%d requests=%ld\n", l.n,
                   l.markers, l.resolved, total_requests());
        st_repo_list_free(&l);
    }
    qsort(ts, 5, sizeof ts[0], cmp_d);
    printf("strata repo list_by_project records=%ld median_ms=%.2f min_ms=%.2f max_ms=%.2f target_ms=100\n", n,
           ts[2] * 1e3, ts[0] * 1e3, ts[4] * 1e3);
    st_repo_close(repo);
    st_batch_free(b);
    st_registry_free(reg);
}

int main(int argc, char **argv) {
    static const struct option opts[] = {{"ops", required_argument, 0, 'o'},
                                         {"list-records", required_argument, 0, 'l'},
                                         {"threads", required_argument, 0, 't'},
                                         {"rows", required_argument, 0, 'r'},
                                         {0, 0, 0, 0}};
    long ops = 1000, list = 0;
    int threads = 2, rows = 10, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'o': ops = atol(optarg); break;
        case 'l': list = atol(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'r': rows = atoi(optarg); break;
        default: return 1;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: bench_record URL [--ops N] [--list-records N] [--threads T] [--rows R]\n");
        return 1;
    }
    st_store_t *store;
    if (st_store_open(argv[optind], &store)) die(argv[optind]);
    interpose(store);
    char run[64];
    snprintf(run, sizeof run, "run%lld", (long long)(st_now_us() / 1000));
    g_run = run;
    g_threads = threads;
    if (ops > 0) bench_changes(store, ops, rows);
    if (list > 0) bench_list(store, list, threads, rows);
    st_store_close(store);
    return 0;
}
