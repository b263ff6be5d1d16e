/*
 * Store benchmark: strata's store layer moving the same files the AWS CLI moves
 * (bench/store.sh runs both against the same radosgw in the same run).
 *
 *   bench_store URL --src DIR --count N [--big FILE] --out DIR [--threads T]
 *               [--phase small|big|all]
 *
 * small: puts DIR/f00000..f{N-1} as objects small/f00000.. (each file read inside
 *        the timing, as `aws s3 cp --recursive` does), gets them back into --out
 *        files, deletes them; T threads share one store handle (the AWS CLI uses 10
 *        concurrent requests by default).
 * big:   streams FILE into one object with the store writer (multipart on S3),
 *        gets it back whole (one GET) into --out/big.whole, then again as T
 *        parallel 8 MiB ranged GETs into --out/big.ranges (what `aws s3 cp` does),
 *        deletes it.
 * Everything read back is compared with the source after the clock stops; a
 * mismatch fails the run. One line per measurement:
 *   strata OP objects=N bytes=B seconds=S objects_per_s=X MB_per_s=Y
 */
#include "strata/store.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (8u << 20)

static const char *g_url, *g_src, *g_big, *g_out;
static long g_count = 1000;
static int g_threads = 10;
static st_store_t *g_store;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "bench_store: %s: %s\n", what, st_errmsg());
    exit(1);
}

static void die_errno(const char *what, const char *path) {
    fprintf(stderr, "bench_store: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static void report(const char *op, long objects, uint64_t bytes, double seconds) {
    printf("strata %s objects=%ld bytes=%llu seconds=%.3f objects_per_s=%.1f MB_per_s=%.2f\n", op, objects,
           (unsigned long long)bytes, seconds, objects / seconds, (double)bytes / 1e6 / seconds);
    fflush(stdout);
}

static int write_file(const char *path, const void *data, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            close(fd);
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return close(fd);
}

static bool same_files(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    static char ba[1 << 16], bb[1 << 16];
    while (same) {
        size_t na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
        if (na != nb || memcmp(ba, bb, na)) same = false;
        if (na == 0) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

/* ---- small objects: T workers take indices from one counter -------------- */

typedef enum { OP_PUT, OP_GET, OP_DELETE } small_op_t;

typedef struct {
    small_op_t op;
    atomic_long next;
    atomic_ullong bytes;
    atomic_int failed;
    char errmsg[512];
    pthread_mutex_t lock;
} small_job_t;

static void *small_worker(void *arg) {
    small_job_t *job = arg;
    st_buf_t buf = ST_BUF_INIT;
    char key[64], path[4096];
    for (;;) {
        long i = atomic_fetch_add(&job->next, 1);
        if (i >= g_count || atomic_load(&job->failed)) break;
        snprintf(key, sizeof key, "small/f%05ld", i);
        int rc = 0;
        st_buf_reset(&buf);
        if (job->op == OP_PUT) {
            snprintf(path, sizeof path, "%s/f%05ld", g_src, i);
            rc = st_read_file(path, &buf);
            if (!rc) rc = st_store_put(g_store, key, buf.data, buf.len, NULL, NULL);
        } else if (job->op == OP_GET) {
            rc = st_store_get(g_store, key, &buf, NULL);
            snprintf(path, sizeof path, "%s/f%05ld", g_out, i);
            if (!rc && write_file(path, buf.data, buf.len)) rc = st_error(ST_EIO, "%s: %s", path, strerror(errno));
        } else {
            rc = st_store_delete(g_store, key);
        }
        atomic_fetch_add(&job->bytes, buf.len);
        if (rc) {
            pthread_mutex_lock(&job->lock);
            if (!atomic_load(&job->failed))
                snprintf(job->errmsg, sizeof job->errmsg, "%s: %s", key, st_errmsg());
            atomic_store(&job->failed, 1);
            pthread_mutex_unlock(&job->lock);
        }
    }
    st_buf_free(&buf);
    return NULL;
}

static void run_small(small_op_t op, const char *name) {
    small_job_t job = {.op = op};
    pthread_mutex_init(&job.lock, NULL);
    pthread_t tid[64];
    double t0 = now_s();
    for (int i = 0; i < g_threads; i++)
        if (pthread_create(&tid[i], NULL, small_worker, &job)) die("pthread_create");
    for (int i = 0; i < g_threads; i++) pthread_join(tid[i], NULL);
    double dt = now_s() - t0;
    pthread_mutex_destroy(&job.lock);
    if (job.failed) {
        fprintf(stderr, "bench_store: %s failed: %s\n", name, job.errmsg);
        exit(1);
    }
    report(name, g_count, op == OP_DELETE ? 0 : job.bytes, dt);
}

static void phase_small(void) {
    run_small(OP_PUT, "put_small");
    run_small(OP_GET, "get_small");
    char a[4096], b[4096];
    for (long i = 0; i < g_count; i++) {
        snprintf(a, sizeof a, "%s/f%05ld", g_src, i);
        snprintf(b, sizeof b, "%s/f%05ld", g_out, i);
        if (!same_files(a, b)) {
            fprintf(stderr, "bench_store: small/f%05ld came back different\n", i);
            exit(1);
        }
    }
    run_small(OP_DELETE, "delete_small");
}

/* ---- one big object ------------------------------------------------------ */

typedef struct {
    atomic_ullong next;
    uint64_t size;
    int fd;
    atomic_int failed;
    char errmsg[512];
} range_job_t;

static void *range_worker(void *arg) {
    range_job_t *job = arg;
    st_buf_t buf = ST_BUF_INIT;
    for (;;) {
        uint64_t off = atomic_fetch_add(&job->next, CHUNK);
        if (off >= job->size || atomic_load(&job->failed)) break;
        uint64_t n = job->size - off < CHUNK ? job->size - off : CHUNK;
        st_buf_reset(&buf);
        int rc = st_store_get_range(g_store, "big", (int64_t)off, n, &buf);
        if (!rc && buf.len != n) rc = st_error(ST_EIO, "range at %llu: %zu bytes, want %llu", (unsigned long long)off,
                                               buf.len, (unsigned long long)n);
        if (!rc && pwrite(job->fd, buf.data, buf.len, (off_t)off) != (ssize_t)buf.len)
            rc = st_error(ST_EIO, "pwrite: %s", strerror(errno));
        if (rc && !atomic_exchange(&job->failed, 1)) snprintf(job->errmsg, sizeof job->errmsg, "%s", st_errmsg());
    }
    st_buf_free(&buf);
    return NULL;
}

static void phase_big(void) {
    struct stat st;
    if (stat(g_big, &st)) die_errno("stat", g_big);
    uint64_t size = (uint64_t)st.st_size;
    char path[4096];

    /* put: the file streamed through the writer in 8 MiB reads */
    uint8_t *chunk = malloc(CHUNK);
    if (!chunk) die("malloc");
    double t0 = now_s();
    int fd = open(g_big, O_RDONLY);
    if (fd < 0) die_errno("open", g_big);
    st_store_writer_t *w;
    if (st_store_writer_open(g_store, "big", NULL, &w)) die("writer_open");
    for (;;) {
        ssize_t r = read(fd, chunk, CHUNK);
        if (r < 0) die_errno("read", g_big);
        if (r == 0) break;
        if (st_store_writer_write(w, chunk, (size_t)r)) die("writer_write");
    }
    close(fd);
    if (st_store_writer_commit(w, NULL)) die("writer_commit");
    report("put_big", 1, size, now_s() - t0);
    free(chunk);

    /* get: one whole-object GET into memory, then the file */
    st_buf_t buf = ST_BUF_INIT;
    snprintf(path, sizeof path, "%s/big.whole", g_out);
    t0 = now_s();
    if (st_store_get(g_store, "big", &buf, NULL)) die("get big");
    if (write_file(path, buf.data, buf.len)) die_errno("write", path);
    report("get_big_whole", 1, buf.len, now_s() - t0);
    st_buf_free(&buf);
    if (!same_files(g_big, path)) {
        fprintf(stderr, "bench_store: big (whole get) came back different\n");
        exit(1);
    }
    unlink(path);

    /* get: parallel 8 MiB ranged GETs written in place */
    snprintf(path, sizeof path, "%s/big.ranges", g_out);
    range_job_t job = {.size = size};
    t0 = now_s();
    job.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (job.fd < 0) die_errno("open", path);
    pthread_t tid[64];
    for (int i = 0; i < g_threads; i++)
        if (pthread_create(&tid[i], NULL, range_worker, &job)) die("pthread_create");
    for (int i = 0; i < g_threads; i++) pthread_join(tid[i], NULL);
    if (close(job.fd)) die_errno("close", path);
    double dt = now_s() - t0;
    if (job.failed) {
        fprintf(stderr, "bench_store: ranged get failed: %s\n", job.errmsg);
        exit(1);
    }
    report("get_big_ranges", 1, size, dt);
    if (!same_files(g_big, path)) {
        fprintf(stderr, "bench_store: big (ranged gets) came back different\n");
        exit(1);
    }
    unlink(path);

    t0 = now_s();
    if (st_store_delete(g_store, "big")) die("delete big");
    report("delete_big", 1, 0, now_s() - t0);
}

int main(int argc, char **argv) {
    static const struct option opts[] = {{"src", required_argument, NULL, 's'},
                                         {"count", required_argument, NULL, 'n'},
                                         {"big", required_argument, NULL, 'b'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"phase", required_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    const char *phase = "all";
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': g_src = optarg; break;
        case 'n': g_count = atol(optarg); break;
        case 'b': g_big = optarg; break;
        case 'o': g_out = optarg; break;
        case 't': g_threads = atoi(optarg); break;
        case 'p': phase = optarg; break;
        default: return 2;
        }
    }
    if (optind != argc - 1 || !g_out || g_threads < 1 || g_threads > 64 || g_count < 1) {
        fprintf(stderr, "usage: bench_store URL --src DIR --count N [--big FILE] --out DIR [--threads 1..64] "
                        "[--phase small|big|all]\n");
        return 2;
    }
    g_url = argv[optind];
    bool small = !strcmp(phase, "small") || !strcmp(phase, "all");
    bool big = !strcmp(phase, "big") || !strcmp(phase, "all");
    if ((small && !g_src) || (big && !g_big) || (!small && !big)) {
        fprintf(stderr, "bench_store: --phase small needs --src, big needs --big\n");
        return 2;
    }
    if (mkdir(g_out, 0755) && errno != EEXIST) die_errno("mkdir", g_out);
    if (st_store_open(g_url, &g_store)) die("open");
    fprintf(stderr, "bench_store: %s (%d threads)\n", st_store_url(g_store), g_threads);
    if (small) phase_small();
    if (big) phase_big();
    st_store_close(g_store);
    return 0;
}
