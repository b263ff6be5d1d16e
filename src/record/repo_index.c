/* The per-project index of the repository: markers whose keys are the entries,
 * a snapshot that compaction folds them into, listing, compaction and the
 * rebuild from the records (protocol in repo.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/repo_internal.h"

#define SNAPSHOT_HEADER "strata-repo-index 1\n"

char *repo_index_dir(const st_repo_t *r, const char *entity, const char *project) {
    size_t n = strlen(r->index_root) + strlen(entity) + strlen(project) + 16;
    char *d = malloc(n);
    if (d) snprintf(d, n, "%s/index/%s/%s/", r->index_root, entity, project);
    return d;
}

int repo_marker_key(const char *dir, const st_repo_entry_t *e, st_buf_t *out) {
    return st_buf_printf(out, "%sm/%s~s%010" PRId64 "~%s~%d~%d~%" PRId64, dir, e->record_id, e->seq,
                         st_record_status_name(e->status), e->version, e->approved_version,
                         e->updated_at_us);
}

static int put_empty(st_repo_t *r, const char *key, st_put_mode_t mode) {
    st_put_opts_t po = {.mode = mode, .content_type = "application/octet-stream"};
    return st_store_put(r->store, key, "", 0, &po, NULL);
}

static void delete_quietly(st_repo_t *r, const char *key) {
    if (st_store_delete(r->store, key)) st_error_clear();
}

static void entry_of_head(const char *id, const st_record_head_t *h, st_repo_entry_t *e) {
    e->record_id = (char *)id;
    e->seq = h->seq;
    e->version = h->version;
    e->status = h->status;
    e->approved_version = h->approved_version;
    e->updated_at_us = h->at_us;
}

int repo_index_head(st_repo_t *r, const char *dir, const char *record_id,
                    const st_record_head_t *head, const st_record_head_t *prev) {
    if (head->seq == 0) return ST_OK;
    st_repo_entry_t e;
    st_buf_t key = ST_BUF_INIT;
    entry_of_head(record_id, head, &e);
    int rc = repo_marker_key(dir, &e, &key);
    if (!rc) rc = st_buf_append_byte(&key, 0);
    /* Not fsynced: until the pending marker is removed (a delete, which
     * syncs the same directory) the listing reads this record from its log,
     * and a lost marker costs a reindex nothing more than a listing's read. */
    st_put_opts_t po = {.mode = ST_PUT_IF_ABSENT,
                        .content_type = "application/octet-stream",
                        .no_sync = true};
    if (!rc) rc = st_store_put(r->store, (const char *)key.data, "", 0, &po, NULL);
    if (rc == ST_ECONFLICT) {
        st_error_clear();
        rc = ST_OK;
    }
    /* The marker one event back is now redundant; older leftovers (from
     * racing writers) cost only listing time until a compaction. */
    if (!rc && prev && prev->seq > 0) {
        st_buf_reset(&key);
        entry_of_head(record_id, prev, &e);
        if (!repo_marker_key(dir, &e, &key) && !st_buf_append_byte(&key, 0))
            delete_quietly(r, (const char *)key.data);
    }
    st_buf_free(&key);
    return rc;
}

int repo_pending_begin(st_repo_t *r, const char *dir, const char *record_id, st_buf_t *key) {
    uint8_t rnd[16];
    char hex[33];
    int rc = st_uuid_v4(rnd);
    if (rc) return rc;
    st_hex(rnd, 8, hex);
    rc = st_buf_printf(key, "%sm/%s~p%016" PRId64 "-%s", dir, record_id, st_now_us(), hex);
    if (!rc) rc = st_buf_append_byte(key, 0);
    if (!rc) rc = put_empty(r, (const char *)key->data, ST_PUT_IF_ABSENT);
    return rc;
}

void repo_pending_end(st_repo_t *r, const st_buf_t *key) {
    if (key->len) delete_quietly(r, (const char *)key->data);
}

/* ---- reading the index ---------------------------------------------------- */

typedef struct rec_entry {
    st_repo_entry_t e;     /* record_id owned; e.seq == 0: no committed entry known */
    bool pending;          /* some pending marker */
    int64_t oldest_pending_us;
} rec_entry_t;

typedef struct idx {
    rec_entry_t *v;
    int n, cap;
    char **real_keys;      /* real marker keys listed (for compaction) */
    int nreal, capreal;
    int nmarkers;          /* real markers listed (kept or not) */
    char **pending_keys;   /* pending marker keys listed, with their creation time */
    int64_t *pending_us;
    int npending, cappending;
    char etag[130];        /* snapshot ETag ("" when none) */
    bool has_snapshot;
} idx_t;

static void idx_free(idx_t *x) {
    for (int i = 0; i < x->n; i++) free(x->v[i].e.record_id);
    free(x->v);
    for (int i = 0; i < x->nreal; i++) free(x->real_keys[i]);
    free(x->real_keys);
    for (int i = 0; i < x->npending; i++) free(x->pending_keys[i]);
    free(x->pending_keys);
    free(x->pending_us);
    memset(x, 0, sizeof *x);
}

static rec_entry_t *idx_add(idx_t *x, const char *id, size_t idlen) {
    if (x->n == x->cap) {
        int cap = x->cap ? x->cap * 2 : 256;
        rec_entry_t *nv = realloc(x->v, (size_t)cap * sizeof *nv);
        if (!nv) return NULL;
        x->v = nv;
        x->cap = cap;
    }
    rec_entry_t *e = &x->v[x->n];
    memset(e, 0, sizeof *e);
    if (!(e->e.record_id = strndup(id, idlen))) return NULL;
    x->n++;
    return e;
}

static int push_key(char ***keys, int *n, int *cap, int64_t **us, int64_t t, const char *key) {
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 64;
        char **nk = realloc(*keys, (size_t)c * sizeof *nk);
        if (!nk) return st_error(ST_ENOMEM, "out of memory");
        *keys = nk;
        if (us) {
            int64_t *nu = realloc(*us, (size_t)c * sizeof *nu);
            if (!nu) return st_error(ST_ENOMEM, "out of memory");
            *us = nu;
        }
        *cap = c;
    }
    if (!((*keys)[*n] = strdup(key))) return st_error(ST_ENOMEM, "out of memory");
    if (us) (*us)[*n] = t;
    (*n)++;
    return ST_OK;
}

static bool parse_i64(const char **p, int64_t *out) {
    char *end;
    long long v = strtoll(*p, &end, 10);
    if (end == *p || v < 0) return false;
    *out = v;
    *p = end;
    return true;
}

/* "s<seq>~<status>~<version>~<approved>~<at_us>" after the '~'. */
static bool parse_real(const char *p, st_repo_entry_t *e) {
    int64_t seq, v, a, at;
    if (*p++ != 's' || !parse_i64(&p, &seq) || *p++ != '~') return false;
    const char *t = strchr(p, '~');
    if (!t) return false;
    char st[16];
    size_t sl = (size_t)(t - p);
    if (sl >= sizeof st) return false;
    memcpy(st, p, sl);
    st[sl] = 0;
    st_record_status_t status;
    if (st_record_status_parse(st, &status)) {
        st_error_clear();
        return false;
    }
    p = t + 1;
    if (!parse_i64(&p, &v) || *p++ != '~' || !parse_i64(&p, &a) || *p++ != '~' ||
        !parse_i64(&p, &at) || *p)
        return false;
    e->seq = seq;
    e->status = status;
    e->version = (int)v;
    e->approved_version = (int)a;
    e->updated_at_us = at;
    return true;
}

static int cmp_rec(const void *a, const void *b) {
    return strcmp(((const rec_entry_t *)a)->e.record_id, ((const rec_entry_t *)b)->e.record_id);
}

/* Lists the markers: one rec_entry per record (the highest real marker and
 * whether any pending marker exists), sorted by record id. Keys that do not
 * parse are not the index's and are ignored. */
static int read_markers(st_repo_t *r, const char *dir, idx_t *x, bool keep_keys) {
    st_buf_t prefix = ST_BUF_INIT;
    int rc = st_buf_printf(&prefix, "%sm/", dir);
    if (!rc) rc = st_buf_append_byte(&prefix, 0);
    st_list_iter_t *it = NULL;
    if (!rc) rc = st_store_list(r->store, (const char *)prefix.data, NULL, &it);
    size_t pl = prefix.len - 1;
    rec_entry_t *cur = NULL;
    while (!rc) {
        const st_list_entry_t *le;
        if ((rc = st_list_next(it, &le)) || !le) break;
        const char *name = le->key + pl;
        const char *tilde = strchr(name, '~');
        if (!tilde || tilde == name) continue;
        size_t idlen = (size_t)(tilde - name);
        /* A record's markers are contiguous in key order ("id~" prefix). */
        if (!cur || strlen(cur->e.record_id) != idlen || memcmp(cur->e.record_id, name, idlen)) {
            if (!(cur = idx_add(x, name, idlen))) {
                rc = st_error(ST_ENOMEM, "out of memory");
                break;
            }
        }
        if (tilde[1] == 'p') {
            const char *p = tilde + 2;
            int64_t t = 0;
            if (!parse_i64(&p, &t)) continue;
            if (!cur->pending || t < cur->oldest_pending_us) cur->oldest_pending_us = t;
            cur->pending = true;
            if (keep_keys)
                rc = push_key(&x->pending_keys, &x->npending, &x->cappending, &x->pending_us, t,
                              le->key);
        } else {
            st_repo_entry_t e;
            if (!parse_real(tilde + 1, &e)) continue;
            if (e.seq > cur->e.seq) {
                char *id = cur->e.record_id;
                cur->e = e;
                cur->e.record_id = id;
            }
            x->nmarkers++;
            if (keep_keys) rc = push_key(&x->real_keys, &x->nreal, &x->capreal, NULL, 0, le->key);
        }
    }
    st_list_close(it);
    st_buf_free(&prefix);
    /* Drop the groups that held no parsable marker (a stray "id~junk"). */
    int k = 0;
    for (int i = 0; i < x->n; i++) {
        if (x->v[i].e.seq == 0 && !x->v[i].pending) free(x->v[i].e.record_id);
        else x->v[k++] = x->v[i];
    }
    x->n = k;
    if (!rc && x->n > 1) qsort(x->v, (size_t)x->n, sizeof *x->v, cmp_rec);
    return rc;
}

/* Merges the snapshot into x (x sorted by record id; stays sorted). */
static int read_snapshot(st_repo_t *r, const char *dir, idx_t *x) {
    st_buf_t key = ST_BUF_INIT, data = ST_BUF_INIT;
    st_object_info_t info;
    memset(&info, 0, sizeof info);
    int rc = st_buf_printf(&key, "%ssnapshot", dir);
    if (!rc) rc = st_buf_append_byte(&key, 0);
    if (!rc) rc = st_store_get(r->store, (const char *)key.data, &data, &info);
    if (rc == ST_ENOTFOUND) {
        st_error_clear();
        rc = ST_OK;
        x->has_snapshot = false;
        x->etag[0] = 0;
        goto out;
    }
    if (rc) goto out;
    x->has_snapshot = true;
    memcpy(x->etag, info.etag, sizeof x->etag);
    size_t hl = strlen(SNAPSHOT_HEADER);
    if (data.len < hl || memcmp(data.data, SNAPSHOT_HEADER, hl)) {
        rc = st_error(ST_ECORRUPT, "%s: not a repository index snapshot (run repo reindex)",
                      (const char *)key.data);
        goto out;
    }
    if ((rc = st_buf_append_byte(&data, 0))) goto out;
    int nmark = x->n; /* entries from markers: sorted prefix of x->v */
    char *line = (char *)data.data + hl;
    int mi = 0, lineno = 1;
    while (*line) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        lineno++;
        char *sp = strchr(line, ' ');
        st_repo_entry_t e;
        memset(&e, 0, sizeof e);
        if (!sp) goto bad;
        *sp = 0;
        /* "<id> s<seq>~<status>~..." reuses the marker grammar */
        if (!parse_real(sp + 1, &e)) goto bad;
        while (mi < nmark && strcmp(x->v[mi].e.record_id, line) < 0) mi++;
        if (mi < nmark && !strcmp(x->v[mi].e.record_id, line)) {
            if (e.seq > x->v[mi].e.seq) {
                char *id = x->v[mi].e.record_id;
                x->v[mi].e = e;
                x->v[mi].e.record_id = id;
            }
        } else {
            rec_entry_t *n = idx_add(x, line, strlen(line));
            if (!n) {
                rc = st_error(ST_ENOMEM, "out of memory");
                goto out;
            }
            char *id = n->e.record_id;
            n->e = e;
            n->e.record_id = id;
        }
        line = nl ? nl + 1 : line + strlen(line);
        continue;
    bad:
        rc = st_error(ST_ECORRUPT, "%s: line %d is not an index entry (run repo reindex)",
                      (const char *)key.data, lineno);
        goto out;
    }
    if (x->n > nmark) qsort(x->v, (size_t)x->n, sizeof *x->v, cmp_rec);
out:
    st_object_info_free(&info);
    st_buf_free(&key);
    st_buf_free(&data);
    return rc;
}

/* Replaces the entry of a record with what its log says (ENOTFOUND: drop). */
static int resolve(st_repo_t *r, st_records_t *rec, rec_entry_t *re, bool *gone) {
    st_record_head_t h;
    int rc = st_record_head(rec, re->e.record_id, &h, NULL);
    *gone = false;
    if (rc == ST_ENOTFOUND) {
        st_error_clear();
        *gone = true;
        return ST_OK;
    }
    if (rc) return rc;
    entry_of_head(re->e.record_id, &h, &re->e);
    (void)r;
    return ST_OK;
}

void st_repo_list_free(st_repo_list_t *l) {
    if (!l) return;
    for (int i = 0; i < l->n; i++) free(l->entries[i].record_id);
    free(l->entries);
    memset(l, 0, sizeof *l);
}

static int load_index(st_repo_t *r, const char *entity, const char *project, bool keep_keys,
                      st_records_t **rec, char **dir, idx_t *x) {
    memset(x, 0, sizeof *x);
    int rc = repo_target(r, entity, project, rec);
    if (rc) return rc;
    if (!(*dir = repo_index_dir(r, entity, project))) return st_error(ST_ENOMEM, "out of memory");
    /* Markers first, snapshot second: a compaction in between can only make
     * the snapshot fresher than the markers it removed. */
    rc = read_markers(r, *dir, x, keep_keys);
    if (!rc) rc = read_snapshot(r, *dir, x);
    return rc;
}

int st_repo_list_by_project(st_repo_t *r, const char *entity_type, const char *project,
                            const st_record_status_t *status, st_repo_list_t *out) {
    memset(out, 0, sizeof *out);
    st_records_t *rec;
    char *dir = NULL;
    idx_t x;
    int rc = load_index(r, entity_type, project, false, &rec, &dir, &x);
    out->markers = x.nmarkers;
    if (!rc && x.n && !(out->entries = calloc((size_t)x.n, sizeof *out->entries)))
        rc = st_error(ST_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < x.n; i++) {
        rec_entry_t *re = &x.v[i];
        out->markers += re->pending;
        if (re->pending) {
            bool gone;
            if ((rc = resolve(r, rec, re, &gone))) break;
            out->resolved++;
            if (gone) continue;
        }
        if (re->e.seq == 0 || (status && re->e.status != *status)) continue;
        out->entries[out->n++] = re->e;
        re->e.record_id = NULL; /* moved to out */
    }
    int nreal = x.nmarkers;
    idx_free(&x);
    free(dir);
    if (rc) {
        st_repo_list_free(out);
        return rc;
    }
    if (r->compact_threshold > 0 && nreal > r->compact_threshold &&
        (st_store_caps(r->store) & ST_CAP_PUT_IF_MATCH)) {
        /* Best effort: the listing is already complete; a failed or lost
         * compaction leaves the markers for the next one. */
        if (st_repo_compact(r, entity_type, project)) st_error_clear();
    }
    return ST_OK;
}

/* ---- compaction and rebuild ----------------------------------------------- */

static int write_snapshot(st_repo_t *r, const char *dir, const idx_t *x, bool use_match) {
    st_buf_t body = ST_BUF_INIT, key = ST_BUF_INIT;
    int rc = st_buf_append_str(&body, SNAPSHOT_HEADER);
    for (int i = 0; !rc && i < x->n; i++) {
        const st_repo_entry_t *e = &x->v[i].e;
        if (e->seq == 0) continue;
        rc = st_buf_printf(&body, "%s s%010" PRId64 "~%s~%d~%d~%" PRId64 "\n", e->record_id,
                           e->seq, st_record_status_name(e->status), e->version,
                           e->approved_version, e->updated_at_us);
    }
    if (!rc) rc = st_buf_printf(&key, "%ssnapshot", dir);
    if (!rc) rc = st_buf_append_byte(&key, 0);
    if (!rc) {
        st_put_opts_t po = {.mode = ST_PUT_PLAIN, .content_type = "text/plain"};
        if (use_match) {
            po.mode = x->has_snapshot ? ST_PUT_IF_MATCH : ST_PUT_IF_ABSENT;
            po.if_match = x->has_snapshot ? x->etag : NULL;
        }
        rc = st_store_put(r->store, (const char *)key.data, body.data ? body.data : (uint8_t *)"",
                          body.len, &po, NULL);
    }
    st_buf_free(&body);
    st_buf_free(&key);
    return rc;
}

/* Pending markers a dead writer left (older than the timeout). */
static bool stale(const st_repo_t *r, int64_t created_us, int64_t now) {
    return created_us + r->pending_timeout_us < now;
}

int st_repo_compact(st_repo_t *r, const char *entity_type, const char *project) {
    int rc = st_store_require(r->store, ST_CAP_PUT_IF_MATCH, "repository index compaction");
    if (rc) return rc;
    st_records_t *rec;
    char *dir = NULL;
    idx_t x;
    rc = load_index(r, entity_type, project, true, &rec, &dir, &x);
    int64_t now = st_now_us();
    /* Records whose only pending markers are stale are read from the log so
     * the snapshot holds their true state and the markers can go. */
    for (int i = 0; !rc && i < x.n; i++) {
        rec_entry_t *re = &x.v[i];
        if (!re->pending || !stale(r, re->oldest_pending_us, now)) continue;
        bool gone;
        if ((rc = resolve(r, rec, re, &gone))) break;
        if (gone) re->e.seq = 0;
    }
    if (!rc) rc = write_snapshot(r, dir, &x, true);
    if (!rc) {
        for (int i = 0; i < x.nreal; i++) delete_quietly(r, x.real_keys[i]);
        for (int i = 0; i < x.npending; i++)
            if (stale(r, x.pending_us[i], now)) delete_quietly(r, x.pending_keys[i]);
    }
    idx_free(&x);
    free(dir);
    return rc;
}

static int add_record_ids(st_repo_t *r, const char *entity, const char *project, idx_t *x) {
    st_buf_t prefix = ST_BUF_INIT;
    int rc = st_buf_printf(&prefix, "%s/%s/%s/", r->records_root, entity, project);
    if (!rc) rc = st_buf_append_byte(&prefix, 0);
    st_list_iter_t *it = NULL;
    if (!rc) rc = st_store_list(r->store, (const char *)prefix.data, "/", &it);
    size_t pl = prefix.len - 1;
    while (!rc) {
        const st_list_entry_t *le;
        if ((rc = st_list_next(it, &le)) || !le) break;
        if (!le->is_prefix) continue;
        size_t n = strlen(le->key + pl);
        if (n < 2) continue;
        if (!idx_add(x, le->key + pl, n - 1)) rc = st_error(ST_ENOMEM, "out of memory");
    }
    st_list_close(it);
    st_buf_free(&prefix);
    return rc;
}

int st_repo_reindex(st_repo_t *r, const char *entity_type, const char *project, int *nrecords) {
    bool match = (st_store_caps(r->store) & ST_CAP_PUT_IF_MATCH) != 0;
    int rc = ST_OK;
    for (int attempt = 0; attempt < 5; attempt++) {
        st_records_t *rec;
        char *dir = NULL;
        idx_t x;
        /* The markers (to remove afterwards) and the snapshot's ETag are taken
         * before any record is read, so every state read is at least as new as
         * what they say, and a compaction meanwhile makes the write lose. */
        rc = load_index(r, entity_type, project, true, &rec, &dir, &x);
        if (rc == ST_ECORRUPT && x.has_snapshot) {
            /* A damaged snapshot is what reindex is for: only its ETag matters. */
            st_error_clear();
            rc = ST_OK;
        }
        for (int i = 0; i < x.n; i++) free(x.v[i].e.record_id);
        x.n = 0;
        int64_t now = st_now_us();
        if (!rc) rc = add_record_ids(r, entity_type, project, &x);
        int found = 0;
        for (int i = 0; !rc && i < x.n; i++) {
            bool gone;
            if ((rc = resolve(r, rec, &x.v[i], &gone))) break;
            if (gone) x.v[i].e.seq = 0;
            else found++;
        }
        if (!rc && x.n > 1) qsort(x.v, (size_t)x.n, sizeof *x.v, cmp_rec);
        if (!rc) rc = write_snapshot(r, dir, &x, match);
        if (!rc) {
            for (int i = 0; i < x.nreal; i++) delete_quietly(r, x.real_keys[i]);
            for (int i = 0; i < x.npending; i++)
                if (stale(r, x.pending_us[i], now)) delete_quietly(r, x.pending_keys[i]);
            if (nrecords) *nrecords = found;
        }
        idx_free(&x);
        free(dir);
        if (rc != ST_ECONFLICT) break;
        st_error_clear();
    }
    return rc;
}
