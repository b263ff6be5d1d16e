/*
 * Parquet benchmark: strata against DuckDB (threads=1) on the same 10 M rows.
 *
 *   bench_parquet [--rows N] [--dir DIR] [--no-duckdb] [--no-sweep]
 *
 * Rows: int64 id, int32, double, a 20-character string (~50k distinct), a
 * nullable string (30 % null, ~1k distinct), timestamp(us, UTC), bool. strata
 * writes them with ZSTD and with SNAPPY and reads each file back into batches
 * (st_pq_read_row_group for every row group). Every measurement runs in a
 * forked child, so its peak RSS (VmHWM) belongs to that operation alone; the
 * rows are generated in chunks inside the child and only the library calls
 * are timed (best of two runs, wall and CPU time; CPU time is the robust
 * figure when other work shares the machine). Then bench/parquet_duckdb.mjs loads the same rows into DuckDB
 * (from strata's uncompressed file), times COPY TO parquet with both codecs
 * and a full read of strata's files, and the ratios are printed.
 */
#include "strata/parquet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_ROWS 131072
#define NCOLS 7

static const char *col_names[NCOLS] = {"id", "qty", "price", "name", "category", "ts", "flag"};
static const char *col_types[NCOLS] = {"int64",  "int32", "double", "string",
                                       "string", "timestamp(us, UTC)", "bool"};

static uint64_t mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds (user + system) of this process: robust when other work
 * competes for the cores, unlike wall time. */
static double cpu_s(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec * 1e-6 + (double)u.ru_stime.tv_sec +
           (double)u.ru_stime.tv_usec * 1e-6;
}

static long status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, n)) v = strtol(line + n, NULL, 10);
    fclose(f);
    return v;
}

static void die(const char *what) {
    fprintf(stderr, "bench_parquet: %s: %s\n", what, st_errmsg());
    exit(1);
}

static void fields_init(st_field_t *f) {
    for (int i = 0; i < NCOLS; i++) {
        f[i].name = (char *)col_names[i];
        if (st_type_parse(col_types[i], &f[i].type)) die("type");
        f[i].nullable = i == 4;
    }
}

/* Rows [r0, r0+n) into b (cleared first); returns their logical bytes. */
static uint64_t gen_chunk(st_batch_t *b, int64_t r0, int64_t n) {
    st_batch_clear(b);
    uint64_t bytes = 0;
    char s[32];
    for (int64_t r = r0; r < r0 + n; r++) {
        uint64_t h = mix((uint64_t)r), h2 = mix(h), h3 = mix(h2);
        st_col_append_i64(&b->cols[0], r);
        st_col_append_i64(&b->cols[1], (int64_t)(h % 1000000));
        st_col_append_double(&b->cols[2], (double)(h2 >> 11) * 0x1p-53 * 1000.0);
        snprintf(s, sizeof s, "user_%015llu", (unsigned long long)(h3 % 50000));
        st_col_append_bytes(&b->cols[3], s, 20);
        bytes += 8 + 4 + 8 + 20 + 8 + 1;
        if ((h2 & 0xFF) % 10 < 3) {
            st_col_append_null(&b->cols[4]);
        } else {
            int l = snprintf(s, sizeof s, "category-%llu", (unsigned long long)((h3 >> 20) % 1000));
            st_col_append_bytes(&b->cols[4], s, (size_t)l);
            bytes += (uint64_t)l;
        }
        st_col_append_i64(&b->cols[5], 1700000000000000LL + r * 1000 + (int64_t)(h3 >> 54));
        st_col_append_bool(&b->cols[6], (h >> 63) != 0);
        if (st_batch_end_row(b)) die("generate");
    }
    return bytes;
}

typedef struct result {
    double seconds, cpu;
    long peak_kb, base_kb;
    uint64_t logical, file_bytes;
    int64_t rows;
} result_t;

static void child_write(const char *path, st_codec_t codec, size_t rg_bytes, int64_t nrows, int fd) {
    result_t res = {0};
    st_field_t f[NCOLS];
    fields_init(f);
    st_batch_t *b;
    if (st_batch_new(f, NCOLS, &b)) die("batch");
    res.base_kb = status_kb("VmRSS:");
    st_pq_write_opts_t o;
    st_pq_write_opts_default(&o);
    o.codec = codec;
    o.row_group_bytes = rg_bytes;
    st_pq_sink_t sink;
    double t0 = now_s(), c0 = cpu_s();
    if (st_pq_sink_file(path, &sink)) die(path);
    st_pq_writer_t *w;
    if (st_pq_writer_open(&sink, f, NCOLS, &o, &w)) die("open");
    res.seconds += now_s() - t0;
    res.cpu += cpu_s() - c0;
    for (int64_t r = 0; r < nrows; r += CHUNK_ROWS) {
        int64_t n = nrows - r < CHUNK_ROWS ? nrows - r : CHUNK_ROWS;
        res.logical += gen_chunk(b, r, n);
        t0 = now_s(), c0 = cpu_s();
        if (st_pq_writer_write(w, b)) die("write");
        res.seconds += now_s() - t0;
        res.cpu += cpu_s() - c0;
    }
    t0 = now_s(), c0 = cpu_s();
    res.rows = st_pq_writer_rows(w);
    if (st_pq_writer_close(w)) die("close");
    res.seconds += now_s() - t0;
    res.cpu += cpu_s() - c0;
    struct stat stt;
    if (stat(path, &stt) == 0) res.file_bytes = (uint64_t)stt.st_size;
    res.peak_kb = status_kb("VmHWM:");
    st_batch_free(b);
    if (write(fd, &res, sizeof res) != (ssize_t)sizeof res) exit(1);
    exit(0);
}

static void child_read(const char *path, int fd) {
    result_t res = {0};
    res.base_kb = status_kb("VmRSS:");
    double t0 = now_s(), c0 = cpu_s();
    st_pq_file_t *f;
    if (st_pq_open_path(path, &f)) die(path);
    for (int rg = 0; rg < st_pq_num_row_groups(f); rg++) {
        st_batch_t *b;
        if (st_pq_read_row_group(f, rg, NULL, 0, &b)) die("read");
        res.rows += b->nrows;
        st_batch_free(b);
    }
    st_pq_close(f);
    res.seconds = now_s() - t0;
    res.cpu = cpu_s() - c0;
    res.peak_kb = status_kb("VmHWM:");
    if (write(fd, &res, sizeof res) != (ssize_t)sizeof res) exit(1);
    exit(0);
}

/* Runs op in a forked child and collects its result. */
static result_t run_child1(int op, const char *path, st_codec_t codec, size_t rg_bytes, int64_t nrows) {
    int p[2];
    if (pipe(p)) {
        perror("pipe");
        exit(1);
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        close(p[0]);
        if (op == 0) child_write(path, codec, rg_bytes, nrows, p[1]);
        else child_read(path, p[1]);
    }
    close(p[1]);
    result_t res;
    ssize_t got = read(p[0], &res, sizeof res);
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    if (got != (ssize_t)sizeof res || !WIFEXITED(st) || WEXITSTATUS(st)) {
        fprintf(stderr, "bench_parquet: child failed (%s)\n", path);
        exit(1);
    }
    return res;
}

/* Best of two runs (wall and CPU separately), as the DuckDB side does. */
static result_t run_child(int op, const char *path, st_codec_t codec, size_t rg_bytes, int64_t nrows) {
    result_t a = run_child1(op, path, codec, rg_bytes, nrows);
    result_t b = run_child1(op, path, codec, rg_bytes, nrows);
    if (b.seconds < a.seconds) a.seconds = b.seconds;
    if (b.cpu < a.cpu) a.cpu = b.cpu;
    if (b.peak_kb - b.base_kb > a.peak_kb - a.base_kb) a.peak_kb = b.peak_kb, a.base_kb = b.base_kb;
    return a;
}

static double mbps(uint64_t bytes, double s) { return s > 0 ? (double)bytes / 1e6 / s : 0; }

/* Pulls "key": number out of the DuckDB script's one-line JSON. */
static double json_num(const char *json, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? strtod(p + strlen(pat), NULL) : -1;
}

int main(int argc, char **argv) {
    int64_t nrows = 10000000;
    const char *dir = "/tmp/strata-bench";
    bool duck = true, sweep = true, keep_memory = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--default-allocator")) {
            keep_memory = false;
            continue;
        }
        if (!strcmp(argv[i], "--rows") && i + 1 < argc) nrows = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--no-duckdb")) duck = false;
        else if (!strcmp(argv[i], "--no-sweep")) sweep = false;
        else {
            fprintf(stderr, "usage: bench_parquet [--rows N] [--dir DIR] [--no-duckdb] [--no-sweep] [--default-allocator]\n");
            return 1;
        }
    }
    /* As the strata CLI does: keep freed row-group buffers for reuse. */
    if (keep_memory) st_keep_freed_memory();
    printf("allocator: %s\n", keep_memory ? "freed memory kept for reuse (st_keep_freed_memory, as the CLI)"
                                            : "glibc defaults (--default-allocator)");
    if (mkdir(dir, 0777) && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    char pz[1024], ps[1024], pu[1024];
    snprintf(pz, sizeof pz, "%s/strata_zstd.parquet", dir);
    snprintf(ps, sizeof ps, "%s/strata_snappy.parquet", dir);
    snprintf(pu, sizeof pu, "%s/strata_plain.parquet", dir);
    const size_t rg = 128u << 20;

    printf("rows: %lld, columns: id int64, qty int32, price double, name string(20), "
           "category string? (30%% null), ts timestamp(us, UTC), flag bool\n", (long long)nrows);
    result_t wz = run_child(0, pz, ST_CODEC_ZSTD, rg, nrows);
    result_t ws = run_child(0, ps, ST_CODEC_SNAPPY, rg, nrows);
    result_t rz = run_child(1, pz, 0, 0, 0);
    result_t rs = run_child(1, ps, 0, 0, 0);
    uint64_t logical = wz.logical;
    printf("logical bytes: %.1f MB (fixed-width values + string bytes; bool counted as 1 byte)\n\n",
           (double)logical / 1e6);
    printf("strata (single thread)       wall s   CPU s   MB/s(wall)  file MB  peak RSS MB above start\n");
    printf("  write ZSTD             %8.3f %7.3f %10.1f %9.1f %9.1f\n", wz.seconds, wz.cpu,
           mbps(logical, wz.seconds), (double)wz.file_bytes / 1e6, (double)(wz.peak_kb - wz.base_kb) / 1024);
    printf("  write SNAPPY           %8.3f %7.3f %10.1f %9.1f %9.1f\n", ws.seconds, ws.cpu,
           mbps(logical, ws.seconds), (double)ws.file_bytes / 1e6, (double)(ws.peak_kb - ws.base_kb) / 1024);
    printf("  read ZSTD file         %8.3f %7.3f %10.1f %9s %9.1f\n", rz.seconds, rz.cpu,
           mbps(logical, rz.seconds), "", (double)(rz.peak_kb - rz.base_kb) / 1024);
    printf("  read SNAPPY file       %8.3f %7.3f %10.1f %9s %9.1f\n", rs.seconds, rs.cpu,
           mbps(logical, rs.seconds), "", (double)(rs.peak_kb - rs.base_kb) / 1024);
    if (rz.rows != nrows || rs.rows != nrows) {
        fprintf(stderr, "bench_parquet: read %lld / %lld rows, expected %lld\n", (long long)rz.rows,
                (long long)rs.rows, (long long)nrows);
        return 1;
    }

    if (sweep) {
        printf("\npeak RSS while writing ZSTD vs row_group_bytes:\n");
        size_t sizes[] = {16u << 20, 64u << 20, 128u << 20, 256u << 20};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            char p[1024];
            snprintf(p, sizeof p, "%s/strata_rg.parquet", dir);
            result_t r = run_child1(0, p, ST_CODEC_ZSTD, sizes[i], nrows);
            printf("  row_group_bytes %4zu MiB: peak RSS %7.1f MB above start (%.1f MB total), %.3f s\n",
                   sizes[i] >> 20, (double)(r.peak_kb - r.base_kb) / 1024, (double)r.peak_kb / 1024,
                   r.seconds);
            unlink(p);
        }
    }
    if (!duck) return 0;

    /* DuckDB loads the rows from an uncompressed strata file (not timed). */
    run_child1(0, pu, ST_CODEC_UNCOMPRESSED, rg, nrows);
    /* The source tree: $STRATA_SOURCE_DIR, else where this file was compiled from. */
    char src[1024];
    const char *env = getenv("STRATA_SOURCE_DIR");
    snprintf(src, sizeof src, "%s", env ? env : __FILE__);
    if (!env) {
        char *cut = strstr(src, "/bench/parquet.c");
        if (cut) *cut = '\0';
        else snprintf(src, sizeof src, ".");
    }
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "node '%s/bench/parquet_duckdb.mjs' '%s/tests/peers' '%s' '%s' '%s'", src,
             src, pu, pz, ps);
    fflush(NULL);
    FILE *pp = popen(cmd, "r");
    char json[4096] = "";
    size_t got = pp ? fread(json, 1, sizeof json - 1, pp) : 0;
    json[got] = '\0';
    int st = pp ? pclose(pp) : -1;
    if (st != 0 || !strstr(json, "\"write_zstd\"")) {
        fprintf(stderr, "bench_parquet: DuckDB run failed (%s)\n%s\n", cmd, json);
        return 1;
    }
    const char *ops[4] = {"write_zstd", "write_snappy", "read_strata_zstd", "read_strata_snappy"};
    const char *labels[4] = {"COPY TO ZSTD", "COPY TO SNAPPY", "read strata ZSTD file", "read strata SNAPPY file"};
    const result_t *mine[4] = {&wz, &ws, &rz, &rs};
    double dw[4], dc[4];
    printf("\nDuckDB 1.5.6, threads=1      wall s   CPU s   MB/s(wall)  file MB\n");
    for (int i = 0; i < 4; i++) {
        char key[64];
        dw[i] = json_num(json, ops[i]);
        snprintf(key, sizeof key, "%s_cpu", ops[i]);
        dc[i] = json_num(json, key);
        printf("  %-22s %8.3f %7.3f %10.1f", labels[i], dw[i], dc[i], mbps(logical, dw[i]));
        if (i < 2) printf(" %9.1f", json_num(json, i ? "snappy_bytes" : "zstd_bytes") / 1e6);
        printf("\n");
    }
    printf("  (read its own ZSTD file  %6.3f %7.3f %10.1f)\n", json_num(json, "read_own_zstd"),
           json_num(json, "read_own_zstd_cpu"), mbps(logical, json_num(json, "read_own_zstd")));
    printf("  (DuckDB: best of 2 runs; full read = the faster of CREATE TABLE AS SELECT * and\n"
           "   aggregates over every value of every column that statistics cannot answer)\n");
    printf("\nratio strata/DuckDB (throughput; >= 1.0 means strata is at least as fast)\n");
    printf("                          by wall time   by CPU time\n");
    const char *names[4] = {"write ZSTD", "write SNAPPY", "full read ZSTD", "full read SNAPPY"};
    for (int i = 0; i < 4; i++)
        printf("  %-22s %10.2f %13.2f\n", names[i], dw[i] / mine[i]->seconds, dc[i] / mine[i]->cpu);
    unlink(pu);
    return 0;
}
