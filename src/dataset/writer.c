/* Writing datasets: batches are validated, routed to one open Parquet file per
 * partition value combination, and written as new, uniquely named files.
 *
 * Files are never replaced (put-if-absent), so a failed or aborted write is
 * undone by deleting exactly the files this writer created: they are new and
 * nobody references them. Memory stays bounded: at most max_open_files files
 * are open at once (the least recently used one is finished when another is
 * needed) and the input buffered in open row groups is kept under
 * buffer_bytes (the file holding most is finished). A partition may therefore
 * get several files in one write. */
#include "dataset/partition.h"
#include "strata/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_FILE "_strata_schema.json"
#define DEFAULT_MAX_OPEN 256
#define DEFAULT_BUFFER_BYTES ((size_t)512 << 20)
#define NAME_MAX_BYTES 255 /* one directory or file name on common file systems */
#define NAME_TRIES 8       /* new random names tried when one is taken */

/* One file this writer created (or is creating). */
typedef struct wfile {
    char *key;
    int64_t rows;
    uint64_t bytes;
    bool committed;
} wfile_t;

/* One partition value combination: its directory and its open file. */
typedef struct part {
    char *dir; /* "c1=v1/c2=v2/" relative to the dataset path; "" without partitions */
    char *raw; /* the values' raw bytes (see raw_key) */
    size_t rawlen;
    uint64_t hash;       /* of raw */
    st_pq_writer_t *pw;  /* open file or NULL */
    int file;            /* index in files of the open file */
    uint64_t tick;       /* last use, for LRU */
    size_t buffered;     /* estimated input bytes in the open row group */
    uint64_t seen_bytes; /* st_pq_writer_bytes when last looked at */
    uint64_t epoch;      /* batch in which `slot` is valid */
    int slot;
} part_t;

struct st_dataset_writer {
    st_store_t *store;
    char *path; /* dataset prefix: "" or "a/b/" */
    char *stem;
    char *file_name;
    bool overwrite, if_absent;
    st_field_t *fields; /* the schema's fields (names copied) */
    int nfields;
    int *pcols, npart;   /* partition columns (schema indices), directory order */
    int *dcols, ndata;   /* columns stored in the files */
    st_field_t *dfields; /* their fields (names shared with `fields`) */
    st_pq_write_opts_t pq;
    st_validator_t *validator;
    bool own_validator;
    int max_open;
    size_t buffer_bytes;
    /* partitions: hash table of part pointers (open addressing) */
    part_t **slots;
    size_t nslots, nparts;
    part_t **open; /* open parts, at most max_open */
    int nopen;
    uint64_t tick, epoch;
    size_t buffered_total;
    wfile_t *files;
    int nfiles, capfiles;
    /* scratch */
    st_batch_t *scratch;
    st_buf_t keybuf, rawbuf;
    int *row_slot;
    int64_t *order;
    int64_t *counts;
    part_t **used;
    size_t scratch_rows, used_cap;
    /* the dataset schema */
    char *schema_json;
    size_t schema_json_len;
    bool schema_exists;
    int64_t rows_in; /* rows accepted so far */
    int failed;
};

/* ---- helpers ---- */

static int nomem(void) { return st_error(ST_ENOMEM, "out of memory"); }

static uint64_t hash_bytes(const void *p, size_t n) {
    const uint8_t *s = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

/* ---- files ---- */

/* Counts the bytes of a file and records its commit. */
typedef struct count_sink {
    st_pq_sink_t inner;
    st_dataset_writer_t *w;
    int file;
} count_sink_t;

static int cs_write(void *ctx, const void *buf, size_t n) {
    count_sink_t *cs = ctx;
    cs->w->files[cs->file].bytes += n;
    return cs->inner.write(cs->inner.ctx, buf, n);
}

static int cs_finish(void *ctx, bool commit) {
    count_sink_t *cs = ctx;
    int rc = cs->inner.finish(cs->inner.ctx, commit);
    if (commit && !rc) cs->w->files[cs->file].committed = true;
    free(cs);
    return rc;
}

static int add_file(st_dataset_writer_t *w, char *key) {
    if (w->nfiles == w->capfiles) {
        int cap = w->capfiles ? w->capfiles * 2 : 8;
        wfile_t *f = realloc(w->files, (size_t)cap * sizeof *f);
        if (!f) return nomem();
        w->files = f;
        w->capfiles = cap;
    }
    w->files[w->nfiles++] = (wfile_t){key, 0, 0, false};
    return ST_OK;
}

/* "<stem>_<YYYYMMDD>_<HHMMSS>_<uuid8>.parquet", UTC. */
static int generated_name(const char *stem, char *out, size_t cap) {
    uint8_t u[16];
    int rc = st_uuid_v4(u);
    if (rc) return rc;
    char hex[9];
    st_hex(u, 4, hex);
    int64_t secs = st_now_us() / 1000000;
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) rem += 86400, days--;
    int64_t y;
    unsigned m, d;
    st_civil_from_days(days, &y, &m, &d);
    int n = snprintf(out, cap, "%s_%04lld%02u%02u_%02d%02d%02d_%s.parquet", stem, (long long)y, m,
                     d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), hex);
    if (n < 0 || (size_t)n >= cap) return st_error(ST_EINVAL, "file name too long");
    return ST_OK;
}

static int key_of(const st_dataset_writer_t *w, const char *dir, const char *name, char **out) {
    size_t n = strlen(w->path) + strlen(dir) + strlen(name) + 1;
    char *k = malloc(n);
    if (!k) return nomem();
    snprintf(k, n, "%s%s%s", w->path, dir, name);
    int rc = st_key_validate(k);
    if (rc) {
        st_error_prefix(rc, "dataset file");
        free(k);
        return rc;
    }
    *out = k;
    return ST_OK;
}

/* True if the key names an existing object. */
static int exists(st_dataset_writer_t *w, const char *key, bool *yes) {
    st_object_info_t info = {0};
    int rc = st_store_head(w->store, key, &info);
    st_object_info_free(&info);
    *yes = rc == ST_OK;
    return rc == ST_ENOTFOUND ? ST_OK : rc;
}

/* Opens a new file for part p. */
static int open_file(st_dataset_writer_t *w, part_t *p) {
    char *key = NULL;
    int rc;
    if (w->file_name) {
        if ((rc = key_of(w, p->dir, w->file_name, &key))) return rc;
        bool taken = false;
        if (!w->overwrite && (rc = exists(w, key, &taken))) {
            free(key);
            return rc;
        }
        if (taken) {
            char *url = st_store_object_url(w->store, key);
            rc = st_error(ST_EEXIST, "%s already exists (overwrite was not asked for)",
                          url ? url : key);
            free(url);
            free(key);
            return rc;
        }
    } else {
        /* A random name is taken only by bad luck; then draw another. */
        for (int t = 0;; t++) {
            char name[NAME_MAX_BYTES + 64];
            if ((rc = generated_name(w->stem, name, sizeof name))) return rc;
            if ((rc = key_of(w, p->dir, name, &key))) return rc;
            bool taken = false;
            if ((rc = exists(w, key, &taken))) {
                free(key);
                return rc;
            }
            if (!taken) break;
            free(key);
            key = NULL;
            if (t + 1 == NAME_TRIES)
                return st_error(ST_ECONFLICT, "dataset %s: no free file name after %d tries",
                                w->path, NAME_TRIES);
        }
    }
    if ((rc = add_file(w, key))) {
        free(key);
        return rc;
    }
    int fi = w->nfiles - 1;
    st_put_opts_t po = {0};
    po.mode = (w->file_name && w->overwrite) || !w->if_absent ? ST_PUT_PLAIN : ST_PUT_IF_ABSENT;
    count_sink_t *cs = calloc(1, sizeof *cs);
    if (!cs) return nomem();
    if ((rc = st_pq_sink_store(w->store, key, &po, &cs->inner))) {
        free(cs);
        return rc;
    }
    cs->w = w;
    cs->file = fi;
    st_pq_sink_t sink = {cs, cs->inner.name, cs_write, cs_finish};
    cs->inner.name = NULL;
    if ((rc = st_pq_writer_open(&sink, w->dfields, w->ndata, &w->pq, &p->pw))) return rc;
    p->file = fi;
    p->buffered = 0;
    p->seen_bytes = st_pq_writer_bytes(p->pw);
    w->open[w->nopen++] = p;
    return ST_OK;
}

/* Finishes part p's open file (it becomes visible). */
static int close_file(st_dataset_writer_t *w, part_t *p) {
    for (int i = 0; i < w->nopen; i++)
        if (w->open[i] == p) {
            w->open[i] = w->open[--w->nopen];
            break;
        }
    w->buffered_total -= p->buffered;
    p->buffered = 0;
    wfile_t *f = &w->files[p->file];
    f->rows = st_pq_writer_rows(p->pw);
    int rc = st_pq_writer_close(p->pw);
    p->pw = NULL;
    if (rc == ST_ECONFLICT) {
        char *url = st_store_object_url(w->store, f->key);
        if (w->file_name)
            rc = st_error(ST_EEXIST, "%s already exists (created during this write)",
                          url ? url : f->key);
        else
            rc = st_error(ST_ECONFLICT, "%s: another writer created a file of this name",
                          url ? url : f->key);
        free(url);
    }
    return rc;
}

/* Undoes everything: open files are discarded, finished ones deleted. */
static void undo(st_dataset_writer_t *w) {
    for (int i = 0; i < w->nopen; i++) {
        st_pq_writer_abort(w->open[i]->pw);
        w->open[i]->pw = NULL;
    }
    w->nopen = 0;
    w->buffered_total = 0;
    for (int i = 0; i < w->nfiles; i++) {
        if (!w->files[i].committed) continue;
        int rc = st_store_delete(w->store, w->files[i].key);
        if (rc && rc != ST_ENOTFOUND)
            fprintf(stderr, "strata: could not remove %s after a failed write: %s\n",
                    w->files[i].key, st_errmsg());
        w->files[i].committed = false;
    }
}

/* Records the first failure, undoes the write, keeps the message. */
static int fail(st_dataset_writer_t *w, int rc) {
    if (w->failed) return rc;
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", st_errmsg());
    w->failed = rc;
    undo(w);
    return st_error(rc, "%s", msg);
}

/* ---- partitions ---- */

static int table_grow(st_dataset_writer_t *w) {
    size_t ncap = w->nslots ? w->nslots * 2 : 64;
    part_t **ns = calloc(ncap, sizeof *ns);
    if (!ns) return nomem();
    for (size_t i = 0; i < w->nslots; i++) {
        part_t *p = w->slots[i];
        if (!p) continue;
        size_t k = p->hash & (ncap - 1);
        while (ns[k])
            k = (k + 1) & (ncap - 1);
        ns[k] = p;
    }
    free(w->slots);
    w->slots = ns;
    w->nslots = ncap;
    return ST_OK;
}

static int row_dir(st_dataset_writer_t *w, const st_batch_t *b, int64_t i);

/* The partition of row i of b (b NULL: the one partition of an unpartitioned
 * write), looked up by the raw bytes of its values (rendering the directory
 * text is done once per partition, not per row). */
static int find_part(st_dataset_writer_t *w, const st_batch_t *b, int64_t i, part_t **out) {
    if ((w->nparts + 1) * 10 > w->nslots * 7) {
        int rc = table_grow(w);
        if (rc) return rc;
    }
    if (!b) st_buf_reset(&w->rawbuf);
    const char *raw = (const char *)w->rawbuf.data;
    size_t n = w->rawbuf.len;
    uint64_t h = hash_bytes(raw, n);
    size_t k = h & (w->nslots - 1);
    for (; w->slots[k]; k = (k + 1) & (w->nslots - 1)) {
        part_t *p = w->slots[k];
        if (p->hash == h && p->rawlen == n && (n == 0 || !memcmp(p->raw, raw, n))) {
            *out = p;
            return ST_OK;
        }
    }
    int rc = b ? row_dir(w, b, i) : ST_OK;
    if (rc) return rc;
    part_t *p = calloc(1, sizeof *p);
    if (!p) return nomem();
    p->raw = malloc(n ? n : 1);
    p->dir = b ? strndup((const char *)w->keybuf.data, w->keybuf.len) : strdup("");
    if (!p->raw || !p->dir) {
        free(p->raw);
        free(p->dir);
        free(p);
        return nomem();
    }
    if (n) memcpy(p->raw, raw, n);
    p->rawlen = n;
    p->hash = h;
    p->file = -1;
    w->slots[k] = p;
    w->nparts++;
    *out = p;
    return ST_OK;
}

/* The raw bytes of row i's partition values: per column a null flag, then
 * the value's bytes (var-len ones with their length). */
static int raw_key(st_dataset_writer_t *w, const st_batch_t *b, int64_t i) {
    st_buf_reset(&w->rawbuf);
    int rc = ST_OK;
    for (int k = 0; k < w->npart && !rc; k++) {
        const st_column_t *c = &b->cols[w->pcols[k]];
        if (st_col_is_null(c, i)) {
            rc = st_buf_append_byte(&w->rawbuf, 0);
            continue;
        }
        if ((rc = st_buf_append_byte(&w->rawbuf, 1))) break;
        if (c->field.type.id == ST_TYPE_BOOL) {
            rc = st_buf_append_byte(&w->rawbuf, st_col_get_bool(c, i));
        } else if (st_type_is_varlen(&c->field.type)) {
            size_t len;
            const uint8_t *p = st_col_get_bytes(c, i, &len);
            uint32_t l32 = (uint32_t)len;
            rc = st_buf_append(&w->rawbuf, &l32, 4);
            if (!rc && len) rc = st_buf_append(&w->rawbuf, p, len);
        } else {
            size_t wdt = (size_t)st_type_value_width(&c->field.type);
            rc = st_buf_append(&w->rawbuf, c->values.data + wdt * (size_t)i, wdt);
        }
    }
    return rc;
}

/* The directory of row i: "c1=v1/c2=v2/". */
static int row_dir(st_dataset_writer_t *w, const st_batch_t *b, int64_t i) {
    st_buf_reset(&w->keybuf);
    for (int k = 0; k < w->npart; k++) {
        const st_column_t *c = &b->cols[w->pcols[k]];
        size_t start = w->keybuf.len;
        int rc = st_partition_segment(c->field.name, c, i, &w->keybuf);
        if (rc) return rc;
        size_t seg = w->keybuf.len - start;
        if (seg > NAME_MAX_BYTES)
            return st_error(ST_EINVAL,
                            "row %lld: the value of partition column '%s' is too long for a "
                            "directory name (%zu bytes escaped, at most %d)",
                            (long long)(w->rows_in + i + 1), c->field.name, seg, NAME_MAX_BYTES);
        if ((rc = st_buf_append_byte(&w->keybuf, '/'))) return rc;
    }
    return ST_OK;
}

/* Whether rows i and j have the same stored value (bytes, so that -0 and 0
 * stay apart: they print differently). */
static bool same_value(const st_column_t *c, int64_t i, int64_t j) {
    bool ni = st_col_is_null(c, i), nj = st_col_is_null(c, j);
    if (ni || nj) return ni && nj;
    if (c->field.type.id == ST_TYPE_BOOL) return st_col_get_bool(c, i) == st_col_get_bool(c, j);
    size_t a, b;
    if (st_type_is_varlen(&c->field.type) || c->field.type.id == ST_TYPE_FIXED ||
        c->field.type.id == ST_TYPE_UUID || c->field.type.id == ST_TYPE_DECIMAL) {
        const uint8_t *pa = st_col_get_bytes(c, i, &a), *pb = st_col_get_bytes(c, j, &b);
        return a == b && (a == 0 || !memcmp(pa, pb, a));
    }
    size_t wdt = (size_t)st_type_value_width(&c->field.type);
    return !memcmp(c->values.data + wdt * (size_t)i, c->values.data + wdt * (size_t)j, wdt);
}

/* ---- gathering rows of one partition ---- */

static int gather_column(st_column_t *dst, const st_column_t *src, const int64_t *rows, int64_t n) {
    /* dst is empty (the scratch batch was cleared). */
    int rc = ST_OK;
    int64_t nulls = 0;
    size_t vbytes = (size_t)(n + 7) / 8;
    if (src->validity.len) {
        if ((rc = st_buf_append_zeros(&dst->validity, vbytes))) return rc;
        for (int64_t k = 0; k < n; k++) {
            if (st_col_is_null(src, rows[k]))
                nulls++;
            else
                dst->validity.data[k >> 3] |= (uint8_t)(1u << (k & 7));
        }
        if (!nulls) dst->validity.len = 0;
    }
    const st_type_t *t = &src->field.type;
    if (t->id == ST_TYPE_BOOL) {
        if ((rc = st_buf_append_zeros(&dst->values, vbytes))) return rc;
        for (int64_t k = 0; k < n; k++)
            if (st_col_get_bool(src, rows[k])) dst->values.data[k >> 3] |= (uint8_t)(1u << (k & 7));
    } else if (st_type_is_varlen(t)) {
        if ((rc = st_buf_reserve(&dst->offsets, (size_t)n * 4))) return rc;
        for (int64_t k = 0; k < n; k++) {
            size_t len;
            const uint8_t *p = st_col_get_bytes(src, rows[k], &len);
            if (len && (rc = st_buf_append(&dst->values, p, len))) return rc;
            int32_t off = (int32_t)dst->values.len;
            memcpy(dst->offsets.data + dst->offsets.len, &off, 4);
            dst->offsets.len += 4;
        }
    } else {
        size_t wdt = (size_t)st_type_value_width(t);
        if ((rc = st_buf_reserve(&dst->values, (size_t)n * wdt))) return rc;
        for (int64_t k = 0; k < n; k++)
            memcpy(dst->values.data + (size_t)k * wdt, src->values.data + (size_t)rows[k] * wdt,
                   wdt);
        dst->values.len = (size_t)n * wdt;
    }
    dst->length = n;
    dst->null_count = nulls;
    return ST_OK;
}

static int gather(st_dataset_writer_t *w, const st_batch_t *b, const int64_t *rows, int64_t n) {
    st_batch_clear(w->scratch);
    for (int k = 0; k < w->ndata; k++) {
        int rc = gather_column(&w->scratch->cols[k], &b->cols[w->dcols[k]], rows, n);
        if (rc) return rc;
    }
    w->scratch->nrows = n;
    return ST_OK;
}

/* ---- writing ---- */

static int evict_lru(st_dataset_writer_t *w) {
    part_t *lru = w->open[0];
    for (int i = 1; i < w->nopen; i++)
        if (w->open[i]->tick < lru->tick) lru = w->open[i];
    return close_file(w, lru);
}

static int evict_largest(st_dataset_writer_t *w) {
    part_t *big = w->open[0];
    for (int i = 1; i < w->nopen; i++)
        if (w->open[i]->buffered > big->buffered) big = w->open[i];
    return close_file(w, big);
}

/* Writes rows (a batch of the data columns) to part p's file. */
static int write_part(st_dataset_writer_t *w, part_t *p, const st_batch_t *rows) {
    int rc;
    if (!p->pw) {
        if (w->nopen >= w->max_open && (rc = evict_lru(w))) return rc;
        if ((rc = open_file(w, p))) return rc;
    }
    p->tick = ++w->tick;
    if ((rc = st_pq_writer_write(p->pw, rows))) return rc;
    /* The writer emits bytes when it finishes a row group: then only the
     * newest input can still be buffered. The estimate never exceeds what a
     * row group may hold. */
    size_t in = st_batch_bytes(rows);
    uint64_t now = st_pq_writer_bytes(p->pw);
    size_t before = p->buffered;
    p->buffered = now != p->seen_bytes ? in : p->buffered + in;
    if (p->buffered > w->pq.row_group_bytes) p->buffered = w->pq.row_group_bytes;
    p->seen_bytes = now;
    w->buffered_total = w->buffered_total - before + p->buffered;
    while (w->nopen > 1 && w->buffered_total > w->buffer_bytes)
        if ((rc = evict_largest(w))) return rc;
    return ST_OK;
}

static int reserve_scratch(st_dataset_writer_t *w, int64_t n) {
    if ((size_t)n <= w->scratch_rows) return ST_OK;
    size_t cap = (size_t)n;
    int *rs = realloc(w->row_slot, cap * sizeof *rs);
    if (rs) w->row_slot = rs;
    int64_t *ord = realloc(w->order, cap * sizeof *ord);
    if (ord) w->order = ord;
    if (!rs || !ord) return nomem();
    w->scratch_rows = cap;
    return ST_OK;
}

static int use_slot(st_dataset_writer_t *w, part_t *p, int *nused) {
    if (p->epoch == w->epoch) return p->slot;
    if ((size_t)*nused == w->used_cap) {
        size_t cap = w->used_cap ? w->used_cap * 2 : 16;
        part_t **u = realloc(w->used, cap * sizeof *u);
        int64_t *c = realloc(w->counts, (cap + 1) * sizeof *c);
        if (u) w->used = u;
        if (c) w->counts = c;
        if (!u || !c) return nomem();
        w->used_cap = cap;
    }
    p->epoch = w->epoch;
    p->slot = (*nused)++;
    w->used[p->slot] = p;
    w->counts[p->slot] = 0;
    return p->slot;
}

static int route(st_dataset_writer_t *w, const st_batch_t *b) {
    int64_t n = b->nrows;
    int rc = reserve_scratch(w, n);
    if (rc) return rc;
    w->epoch++;
    int nused = 0;
    for (int64_t i = 0; i < n; i++) {
        bool same = i > 0;
        for (int k = 0; same && k < w->npart; k++)
            same = same_value(&b->cols[w->pcols[k]], i, i - 1);
        if (same) {
            w->row_slot[i] = w->row_slot[i - 1];
        } else {
            part_t *p;
            if ((rc = raw_key(w, b, i)) || (rc = find_part(w, b, i, &p))) return rc;
            int s = use_slot(w, p, &nused);
            if (s < 0) return s;
            w->row_slot[i] = s;
        }
        w->counts[w->row_slot[i]]++;
    }
    /* Rows grouped by partition, in input order within each. */
    int64_t at = 0;
    for (int s = 0; s < nused; s++) {
        int64_t c = w->counts[s];
        w->counts[s] = at;
        at += c;
    }
    w->counts[nused] = at;
    for (int64_t i = 0; i < n; i++)
        w->order[w->counts[w->row_slot[i]]++] = i;
    int64_t start = 0;
    for (int s = 0; s < nused; s++) {
        int64_t end = w->counts[s];
        if ((rc = gather(w, b, w->order + start, end - start))) return rc;
        if ((rc = write_part(w, w->used[s], w->scratch))) return rc;
        start = end;
    }
    return ST_OK;
}

int st_dataset_writer_write(st_dataset_writer_t *w, const st_batch_t *batch) {
    if (!w || !batch) return st_error(ST_EINVAL, "st_dataset_writer_write: NULL argument");
    if (w->failed)
        return st_error(w->failed, "dataset %s: an earlier write failed; nothing was written",
                        *w->path ? w->path : st_store_url(w->store));
    if (batch->ncols != w->nfields)
        return fail(w, st_error(ST_EINVAL, "dataset write: the batch has %d columns, the schema %d",
                                batch->ncols, w->nfields));
    for (int i = 0; i < w->nfields; i++)
        if (strcmp(batch->cols[i].field.name, w->fields[i].name) ||
            !st_type_equal(&batch->cols[i].field.type, &w->fields[i].type))
            return fail(w, st_error(ST_EINVAL,
                                    "dataset write: batch column %d is '%s', the schema's '%s'",
                                    i + 1, batch->cols[i].field.name, w->fields[i].name));
    /* Nothing of a batch is written before all of it passed validation. */
    int rc = st_validator_check(w->validator, batch);
    if (rc) return fail(w, rc);
    if (batch->nrows == 0) return ST_OK;
    if (w->npart == 0) {
        part_t *p;
        if ((rc = find_part(w, NULL, 0, &p)) || (rc = write_part(w, p, batch))) return fail(w, rc);
    } else if ((rc = route(w, batch))) {
        return fail(w, rc);
    }
    w->rows_in += batch->nrows;
    return ST_OK;
}

void st_dataset_writer_progress(const st_dataset_writer_t *w, int64_t *rows, uint64_t *bytes) {
    uint64_t b = 0;
    for (int i = 0; w && i < w->nfiles; i++)
        b += w->files[i].bytes;
    if (rows) *rows = w ? w->rows_in : 0;
    if (bytes) *bytes = b;
}

/* ---- the dataset schema file ---- */

/* A schema already stored for the dataset must agree with this write: the same
 * type for every field both name, and every partition column known. */
static int check_schema(st_dataset_writer_t *w, const char *json, size_t n, const char *key) {
    char *url = st_store_object_url(w->store, key);
    st_schema_t *old = NULL;
    int rc = st_schema_parse(json, n, url ? url : key, &old);
    if (rc) {
        rc = st_error_prefix(ST_ECORRUPT, "dataset schema");
        free(url);
        return rc;
    }
    for (int i = 0; i < w->nfields && !rc; i++) {
        int j = st_schema_field_index(old, w->fields[i].name);
        if (j < 0) {
            for (int k = 0; k < w->npart; k++)
                if (w->pcols[k] == i)
                    rc = st_error(ST_EVALIDATION,
                                  "%s: the dataset's schema has no field '%s', which this write "
                                  "partitions by",
                                  url ? url : key, w->fields[i].name);
            continue;
        }
        const st_type_t *ot = &old->fields[j].field.type;
        if (!st_type_equal(ot, &w->fields[i].type)) {
            char a[48], b[48];
            st_type_format(ot, a, sizeof a);
            st_type_format(&w->fields[i].type, b, sizeof b);
            rc = st_error(ST_EVALIDATION,
                          "%s: field '%s' is %s in the dataset's schema but %s in this write",
                          url ? url : key, w->fields[i].name, a, b);
        }
    }
    st_schema_free(old);
    free(url);
    return rc;
}

static int schema_key(const st_dataset_writer_t *w, char **out) {
    size_t n = strlen(w->path) + sizeof SCHEMA_FILE;
    if (!(*out = malloc(n))) return nomem();
    snprintf(*out, n, "%s%s", w->path, SCHEMA_FILE);
    return ST_OK;
}

static int load_schema(st_dataset_writer_t *w) {
    char *key;
    int rc = schema_key(w, &key);
    if (rc) return rc;
    st_buf_t b = ST_BUF_INIT;
    rc = st_store_get(w->store, key, &b, NULL);
    if (rc == ST_ENOTFOUND) {
        rc = ST_OK;
    } else if (!rc) {
        w->schema_exists = true;
        rc = check_schema(w, (const char *)b.data, b.len, key);
    }
    st_buf_free(&b);
    free(key);
    return rc;
}

/* Created by the first write that succeeds; a concurrent first write may win
 * the race, and then its schema must agree with ours. */
static int store_schema(st_dataset_writer_t *w) {
    if (w->schema_exists) return ST_OK;
    char *key;
    int rc = schema_key(w, &key);
    if (rc) return rc;
    st_put_opts_t po = {0};
    po.mode = w->if_absent ? ST_PUT_IF_ABSENT : ST_PUT_PLAIN;
    po.content_type = "application/json";
    rc = st_store_put(w->store, key, w->schema_json, w->schema_json_len, &po, NULL);
    if (rc == ST_ECONFLICT) {
        st_buf_t b = ST_BUF_INIT;
        rc = st_store_get(w->store, key, &b, NULL);
        if (!rc) rc = check_schema(w, (const char *)b.data, b.len, key);
        st_buf_free(&b);
    }
    free(key);
    return rc;
}

/* ---- open / close ---- */

void st_dataset_write_opts_default(st_dataset_write_opts_t *o) {
    memset(o, 0, sizeof *o);
    st_pq_write_opts_default(&o->parquet);
}

void st_file_list_free(st_file_list_t *l) {
    if (!l) return;
    for (int i = 0; i < l->n; i++)
        free(l->keys[i]);
    free(l->keys);
    free(l->rows);
    free(l->bytes);
    memset(l, 0, sizeof *l);
}

static void writer_free(st_dataset_writer_t *w) {
    if (!w) return;
    for (int i = 0; i < w->nopen; i++)
        st_pq_writer_abort(w->open[i]->pw);
    for (size_t i = 0; i < w->nslots; i++)
        if (w->slots[i]) {
            free(w->slots[i]->raw);
            free(w->slots[i]->dir);
            free(w->slots[i]);
        }
    free(w->slots);
    free(w->open);
    for (int i = 0; i < w->nfiles; i++)
        free(w->files[i].key);
    free(w->files);
    if (w->own_validator) st_validator_free(w->validator);
    for (int i = 0; i < w->nfields; i++)
        free(w->fields[i].name);
    free(w->fields);
    free(w->dfields);
    free(w->pcols);
    free(w->dcols);
    st_batch_free(w->scratch);
    st_buf_free(&w->keybuf);
    st_buf_free(&w->rawbuf);
    free(w->row_slot);
    free(w->order);
    free(w->counts);
    free(w->used);
    free(w->schema_json);
    free(w->path);
    free(w->stem);
    free(w->file_name);
    free(w);
}

/* A file name or stem must be one visible name: readers skip names starting
 * with '_' or '.'. */
static int check_name(const char *what, const char *name) {
    if (!*name) return st_error(ST_EINVAL, "dataset: empty %s", what);
    if (strchr(name, '/')) return st_error(ST_EINVAL, "dataset: %s '%s' contains '/'", what, name);
    if (name[0] == '_' || name[0] == '.')
        return st_error(ST_EINVAL, "dataset: %s '%s' starts with '%c' (readers skip such files)",
                        what, name, name[0]);
    if (strlen(name) > 200) return st_error(ST_EINVAL, "dataset: %s is too long", what);
    return st_key_validate(name) ? st_error_prefix(ST_EINVAL, "dataset: %s", what) : ST_OK;
}

static int setup(st_dataset_writer_t *w, const char *path, const st_schema_t *schema,
                 const st_dataset_write_opts_t *o) {
    int rc;
    /* The dataset prefix. */
    size_t pn = strlen(path);
    while (pn && path[pn - 1] == '/')
        pn--;
    if (pn) {
        char *p = strndup(path, pn);
        if (!p) return nomem();
        rc = st_key_validate(p);
        free(p);
        if (rc) return st_error_prefix(rc, "dataset path");
    }
    if (!(w->path = malloc(pn + 2))) return nomem();
    memcpy(w->path, path, pn);
    if (pn) w->path[pn++] = '/';
    w->path[pn] = '\0';

    /* The file-name stem: the option, the last path segment or the schema's name. */
    const char *stem = o->name;
    if (!stem && pn) {
        const char *end = w->path + pn - 1, *s = end;
        while (s > w->path && s[-1] != '/')
            s--;
        if (!(w->stem = strndup(s, (size_t)(end - s)))) return nomem();
    } else if (!(w->stem = strdup(stem ? stem : schema->name ? schema->name : "data"))) {
        return nomem();
    }
    if ((rc = check_name("file-name stem", w->stem))) return rc;
    if (o->file_name) {
        if ((rc = check_name("file name", o->file_name))) return rc;
        if (o->npartition > 0)
            return st_error(ST_EINVAL, "dataset: an explicit file name cannot be partitioned");
        if (!(w->file_name = strdup(o->file_name))) return nomem();
        w->overwrite = o->overwrite;
    }

    /* Fields, partition and data columns. */
    const st_field_t *sf = st_schema_fields(schema);
    if (!sf || schema->nfields < 1) return st_error(ST_EINVAL, "dataset: the schema has no fields");
    w->nfields = schema->nfields;
    w->fields = calloc((size_t)w->nfields, sizeof *w->fields);
    w->pcols = calloc((size_t)(o->npartition > 0 ? o->npartition : 1), sizeof *w->pcols);
    w->dcols = calloc((size_t)w->nfields, sizeof *w->dcols);
    w->dfields = calloc((size_t)w->nfields, sizeof *w->dfields);
    if (!w->fields || !w->pcols || !w->dcols || !w->dfields) return nomem();
    for (int i = 0; i < w->nfields; i++) {
        w->fields[i] = sf[i];
        if (!(w->fields[i].name = strdup(sf[i].name))) return nomem();
    }
    for (int k = 0; k < o->npartition; k++) {
        const char *name = o->partition ? o->partition[k] : NULL;
        int idx = name ? st_schema_field_index(schema, name) : -1;
        if (idx < 0)
            return st_error(ST_ENOTFOUND, "dataset: partition column '%s' is not in schema %s",
                            name ? name : "(null)", schema->name ? schema->name : "");
        for (int j = 0; j < w->npart; j++)
            if (w->pcols[j] == idx)
                return st_error(ST_EINVAL, "dataset: partition column '%s' is named twice", name);
        w->pcols[w->npart++] = idx;
    }
    for (int i = 0; i < w->nfields; i++) {
        bool is_part = false;
        for (int k = 0; k < w->npart; k++)
            is_part |= w->pcols[k] == i;
        if (is_part) continue;
        w->dcols[w->ndata] = i;
        w->dfields[w->ndata++] = w->fields[i];
    }
    if (w->ndata == 0)
        return st_error(ST_EINVAL, "dataset: every column is a partition column; at least one "
                                   "must stay in the files");
    if ((rc = st_batch_new(w->dfields, w->ndata, &w->scratch))) return rc;

    /* Options. */
    w->pq = o->parquet;
    w->max_open = o->max_open_files > 0 ? o->max_open_files : DEFAULT_MAX_OPEN;
    w->buffer_bytes = o->buffer_bytes ? o->buffer_bytes : DEFAULT_BUFFER_BYTES;
    if (!(w->open = calloc((size_t)w->max_open, sizeof *w->open))) return nomem();
    w->if_absent = (st_store_caps(w->store) & ST_CAP_PUT_IF_ABSENT) != 0;
    if (o->validator) {
        w->validator = o->validator;
    } else {
        if ((rc = st_validator_new(schema, o->max_violations, &w->validator))) return rc;
        w->own_validator = true;
    }

    /* The dataset's schema file: checked now, created when the write succeeds. */
    st_buf_t js = ST_BUF_INIT;
    if ((rc = st_schema_to_json(schema, &js))) {
        st_buf_free(&js);
        return rc;
    }
    w->schema_json_len = js.len;
    w->schema_json = (char *)st_buf_detach(&js, NULL);
    return load_schema(w);
}

int st_dataset_writer_open(st_store_t *s, const char *path, const st_schema_t *schema,
                           const st_dataset_write_opts_t *opts, st_dataset_writer_t **out) {
    *out = NULL;
    if (!s || !schema) return st_error(ST_EINVAL, "st_dataset_writer_open: NULL store or schema");
    st_dataset_write_opts_t defaults;
    if (!opts) {
        st_dataset_write_opts_default(&defaults);
        opts = &defaults;
    }
    st_dataset_writer_t *w = calloc(1, sizeof *w);
    if (!w) return nomem();
    w->store = s;
    int rc = setup(w, path ? path : "", schema, opts);
    if (rc) {
        writer_free(w);
        return rc;
    }
    *out = w;
    return ST_OK;
}

static int fill_list(const st_dataset_writer_t *w, st_file_list_t *l) {
    memset(l, 0, sizeof *l);
    int n = w->nfiles;
    if (n == 0) return ST_OK;
    l->keys = calloc((size_t)n, sizeof *l->keys);
    l->rows = calloc((size_t)n, sizeof *l->rows);
    l->bytes = calloc((size_t)n, sizeof *l->bytes);
    if (!l->keys || !l->rows || !l->bytes) {
        st_file_list_free(l);
        return nomem();
    }
    for (int i = 0; i < n; i++) {
        if (!(l->keys[i] = strdup(w->files[i].key))) {
            st_file_list_free(l);
            return nomem();
        }
        l->rows[i] = w->files[i].rows;
        l->bytes[i] = w->files[i].bytes;
        l->n = i + 1;
    }
    return ST_OK;
}

int st_dataset_writer_close(st_dataset_writer_t *w, st_file_list_t *files) {
    if (files) memset(files, 0, sizeof *files);
    if (!w) return st_error(ST_EINVAL, "st_dataset_writer_close: NULL writer");
    int rc = w->failed;
    if (rc) {
        st_error(rc, "dataset %s: not written: an earlier write failed",
                 *w->path ? w->path : st_store_url(w->store));
        writer_free(w);
        return rc;
    }
    /* Violations recorded by the caller (cells that did not convert) stop the
     * write as surely as those found here. */
    int64_t nviol = st_validator_count(w->validator);
    if (nviol > 0)
        rc = st_error(ST_EVALIDATION, "dataset %s: not written: %lld violation%s",
                      *w->path ? w->path : st_store_url(w->store), (long long)nviol,
                      nviol == 1 ? "" : "s");
    while (!rc && w->nopen > 0)
        rc = close_file(w, w->open[w->nopen - 1]);
    /* An explicit file name is written even without rows. */
    if (!rc && w->file_name && w->nfiles == 0) {
        part_t *p;
        if (!(rc = find_part(w, NULL, 0, &p)) && !(rc = open_file(w, p))) rc = close_file(w, p);
    }
    if (!rc) rc = store_schema(w);
    if (!rc && files) rc = fill_list(w, files);
    if (rc) fail(w, rc);
    writer_free(w);
    return rc;
}

void st_dataset_writer_abort(st_dataset_writer_t *w) {
    if (!w) return;
    undo(w);
    writer_free(w);
}

int st_dataset_write(st_store_t *s, const char *path, const st_batch_t *batch,
                     const st_schema_t *schema, const st_dataset_write_opts_t *opts,
                     st_file_list_t *files) {
    if (files) memset(files, 0, sizeof *files);
    st_dataset_writer_t *w;
    int rc = st_dataset_writer_open(s, path, schema, opts, &w);
    if (rc) return rc;
    if (batch && (rc = st_dataset_writer_write(w, batch))) {
        st_dataset_writer_abort(w);
        return rc;
    }
    return st_dataset_writer_close(w, files);
}
