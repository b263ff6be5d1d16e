/* The state of a record: the fold of its log, its metadata.json snapshot, and
 * loading it with as few requests as the snapshot allows. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/record_internal.h"

#define SNAP_TAG "  \"snapshot_sha256\": \""

int rec_state_new(const char *record_id, rec_state_t **out) {
    rec_state_t *st = calloc(1, sizeof *st);
    if (!st || !(st->s.record_id = strdup(record_id))) {
        free(st);
        return st_error(ST_ENOMEM, "out of memory");
    }
    *out = st;
    return ST_OK;
}

static void event_pub_free(st_record_event_t *e) {
    free(e->by);
    free(e->comment);
}

void rec_state_free(rec_state_t *st) {
    if (!st) return;
    st_record_state_t *s = &st->s;
    free(s->record_id);
    free(s->table_name);
    free(s->created_by);
    free(s->approved_by);
    free(s->rejected_by);
    for (int i = 0; i < s->nhistory; i++)
        event_pub_free(&s->history[i]);
    free(s->history);
    free(st->damage);
    free(st);
}

void st_record_state_free(st_record_state_t *s) { rec_state_free((rec_state_t *)s); }

int rec_event_copy_pub(const st_record_event_t *src, st_record_event_t *dst) {
    *dst = *src;
    dst->by = strdup(src->by ? src->by : "");
    dst->comment = strdup(src->comment ? src->comment : "");
    if (!dst->by || !dst->comment) {
        event_pub_free(dst);
        memset(dst, 0, sizeof *dst);
        return st_error(ST_ENOMEM, "out of memory");
    }
    return ST_OK;
}

static void note_damage(rec_state_t *st, const char *fmt, const char *what) {
    st->damaged = true;
    if (st->damage) return;
    size_t n = strlen(fmt) + strlen(what) + 1;
    if ((st->damage = malloc(n))) snprintf(st->damage, n, fmt, what);
}

static int set_str(char **slot, const char *v) {
    free(*slot);
    *slot = NULL;
    if (v && !(*slot = strdup(v))) return st_error(ST_ENOMEM, "out of memory");
    return ST_OK;
}

int rec_state_apply(rec_state_t *st, const rec_event_t *ev, const char *file_sha) {
    st_record_state_t *s = &st->s;
    const st_record_event_t *e = &ev->e;
    char what[64];
    snprintf(what, sizeof what, "%lld", (long long)e->seq);
    if (e->seq != st->log_seq + 1) note_damage(st, "log event %s is out of sequence", what);
    if (strcmp(e->prev_sha256, st->log_sha256))
        note_damage(st, "log event %s does not chain to the event before it", what);
    if (s->nhistory == st->cap) {
        int cap = st->cap ? st->cap * 2 : 8;
        st_record_event_t *h = realloc(s->history, (size_t)cap * sizeof *h);
        if (!h) return st_error(ST_ENOMEM, "out of memory");
        s->history = h;
        st->cap = cap;
    }
    int rc = rec_event_copy_pub(e, &s->history[s->nhistory]);
    if (rc) return rc;
    s->nhistory++;
    switch (e->kind) {
    case ST_EVENT_CREATE:
        if ((rc = set_str(&s->table_name, ev->table_name)) ||
            (rc = set_str(&s->created_by, e->by)))
            return rc;
        s->created_at_us = e->at_us;
        /* fall through */
    case ST_EVENT_UPDATE:
        s->current_version = e->version;
        s->status = ST_RECORD_DRAFT;
        if ((rc = set_str(&s->approved_by, NULL)) || (rc = set_str(&s->rejected_by, NULL)))
            return rc;
        s->approved_at_us = s->rejected_at_us = 0;
        break;
    case ST_EVENT_APPROVE:
        s->status = ST_RECORD_APPROVED;
        if ((rc = set_str(&s->approved_by, e->by)) || (rc = set_str(&s->rejected_by, NULL)))
            return rc;
        s->approved_at_us = e->at_us;
        s->rejected_at_us = 0;
        break;
    case ST_EVENT_REJECT:
        s->status = ST_RECORD_REJECTED;
        if ((rc = set_str(&s->rejected_by, e->by)) || (rc = set_str(&s->approved_by, NULL)))
            return rc;
        s->rejected_at_us = e->at_us;
        s->approved_at_us = 0;
        break;
    }
    st->log_seq = e->seq;
    snprintf(st->log_sha256, sizeof st->log_sha256, "%s", file_sha);
    return ST_OK;
}

const st_record_event_t *rec_state_version_event(const rec_state_t *st, int version) {
    for (int i = st->s.nhistory - 1; i >= 0; i--) {
        const st_record_event_t *e = &st->s.history[i];
        if ((e->kind == ST_EVENT_CREATE || e->kind == ST_EVENT_UPDATE) && e->version == version)
            return e;
    }
    return NULL;
}

/* ---- metadata.json ---- */

static int put_str(st_buf_t *b, const char *v) {
    if (!v) return st_buf_append_str(b, "null");
    return st_json_append_string(b, v, strlen(v));
}

static int put_time(st_buf_t *b, const char *who, int64_t us) {
    if (!who) return st_buf_append_str(b, "null");
    char t[40];
    rec_format_time(us, t);
    return put_str(b, t);
}

static int render_entry(const st_record_event_t *e, bool first, st_buf_t *out) {
    int rc = st_buf_printf(out, "%s\n    {\"version\": %d, \"status\": \"%s\", \"created_by\": ",
                           first ? "" : ",", e->version, st_record_status_name(e->status));
    if (!rc) rc = put_str(out, e->by);
    if (!rc) rc = st_buf_append_str(out, ", \"created_at\": ");
    if (!rc) rc = put_time(out, "", e->at_us);
    if (!rc) rc = st_buf_append_str(out, ", \"comment\": ");
    if (!rc) rc = put_str(out, e->comment);
    if (!rc)
        rc = st_buf_printf(out, ", \"event\": \"%s\", \"seq\": %lld", rec_event_kind_name(e->kind),
                           (long long)e->seq);
    if (!rc && e->version_sha256[0])
        rc = st_buf_printf(out, ", \"version_sha256\": \"%s\"", e->version_sha256);
    if (!rc) rc = st_buf_printf(out, ", \"prev_sha256\": \"%s\"}", e->prev_sha256);
    return rc;
}

/* The document, taking the first `nready` history entries already rendered
 * from `ready` (NULL: none). */
static int render_with(const rec_state_t *st, const st_buf_t *ready, int nready, st_buf_t *out) {
    const st_record_state_t *s = &st->s;
    size_t start = out->len;
    int rc = st_buf_append_str(out, "{\n  \"record_id\": ");
    if (!rc) rc = put_str(out, s->record_id);
    if (!rc) rc = st_buf_append_str(out, ",\n  \"table_name\": ");
    if (!rc) rc = put_str(out, s->table_name);
    if (!rc) rc = st_buf_printf(out, ",\n  \"current_version\": %d,\n  \"status\": \"%s\"",
                                s->current_version, st_record_status_name(s->status));
    if (!rc) rc = st_buf_append_str(out, ",\n  \"created_by\": ");
    if (!rc) rc = put_str(out, s->created_by);
    if (!rc) rc = st_buf_append_str(out, ",\n  \"created_at\": ");
    if (!rc) rc = put_time(out, s->created_by, s->created_at_us);
    if (!rc) rc = st_buf_append_str(out, ",\n  \"approved_by\": ");
    if (!rc) rc = put_str(out, s->approved_by);
    if (!rc) rc = st_buf_append_str(out, ",\n  \"approved_at\": ");
    if (!rc) rc = put_time(out, s->approved_by, s->approved_at_us);
    if (!rc) rc = st_buf_append_str(out, ",\n  \"rejected_by\": ");
    if (!rc) rc = put_str(out, s->rejected_by);
    if (!rc) rc = st_buf_append_str(out, ",\n  \"rejected_at\": ");
    if (!rc) rc = put_time(out, s->rejected_by, s->rejected_at_us);
    if (!rc) rc = st_buf_append_str(out, ",\n  \"history\": [");
    int i = 0;
    if (!rc && ready && nready > 0 && nready <= s->nhistory) {
        rc = st_buf_append(out, ready->data, ready->len);
        i = nready;
    }
    for (; i < s->nhistory && !rc; i++)
        rc = render_entry(&s->history[i], i == 0, out);
    if (!rc) rc = st_buf_append_str(out, s->nhistory ? "\n  ]" : "]");
    if (!rc)
        rc = st_buf_printf(out, ",\n  \"log_seq\": %lld,\n  \"log_sha256\": \"%s\",\n",
                           (long long)st->log_seq, st->log_sha256);
    if (rc) return rc;
    char hex[65];
    st_sha256_hex(out->data + start, out->len - start, hex);
    return st_buf_printf(out, SNAP_TAG "%s\"\n}\n", hex);
}

int rec_state_render(const rec_state_t *st, st_buf_t *out) { return render_with(st, NULL, 0, out); }

/* ---- the handle's cache of states ---- */

static int state_clone(const rec_state_t *src, rec_state_t **out) {
    rec_state_t *st;
    int rc = rec_state_new(src->s.record_id, &st);
    if (rc) return rc;
    const st_record_state_t *s = &src->s;
    st_record_state_t *d = &st->s;
    d->current_version = s->current_version;
    d->status = s->status;
    d->created_at_us = s->created_at_us;
    d->approved_at_us = s->approved_at_us;
    d->rejected_at_us = s->rejected_at_us;
    st->log_seq = src->log_seq;
    memcpy(st->log_sha256, src->log_sha256, sizeof st->log_sha256);
    st->damaged = src->damaged;
    if ((rc = set_str(&d->table_name, s->table_name)) ||
        (rc = set_str(&d->created_by, s->created_by)) ||
        (rc = set_str(&d->approved_by, s->approved_by)) ||
        (rc = set_str(&d->rejected_by, s->rejected_by)) ||
        (rc = set_str(&st->damage, src->damage)))
        goto fail;
    if (s->nhistory > 0) {
        int cap = s->nhistory + 8;
        if (!(d->history = calloc((size_t)cap, sizeof *d->history))) {
            rc = st_error(ST_ENOMEM, "out of memory");
            goto fail;
        }
        st->cap = cap;
    }
    for (int i = 0; i < s->nhistory; i++) {
        if ((rc = rec_event_copy_pub(&s->history[i], &d->history[i]))) goto fail;
        d->nhistory = i + 1;
    }
    *out = st;
    return ST_OK;
fail:
    rec_state_free(st);
    return rc;
}

#define STATE_CACHE_MAX 64

static void cache_entry_free(rec_state_cache_t *c) {
    free(c->record_id);
    rec_state_free(c->st);
    st_buf_free(&c->hist);
    free(c);
}

void rec_state_cache_free(st_records_t *r) {
    for (rec_state_cache_t *c = r->states, *next; c; c = next) {
        next = c->next;
        cache_entry_free(c);
    }
    r->states = NULL;
    r->nstates = 0;
}

/* Unlinks the entry of id (under r->mu). */
static rec_state_cache_t *cache_take(st_records_t *r, const char *id) {
    for (rec_state_cache_t **pp = &r->states; *pp; pp = &(*pp)->next)
        if (!strcmp((*pp)->record_id, id)) {
            rec_state_cache_t *c = *pp;
            *pp = c->next;
            r->nstates--;
            return c;
        }
    return NULL;
}

void rec_state_cache_store(st_records_t *r, const char *id, const rec_state_t *st) {
    if (st->damaged) return;
    rec_state_t *copy;
    if (state_clone(st, &copy)) {
        st_error_clear();
        return;
    }
    pthread_mutex_lock(&r->mu);
    rec_state_cache_t *c = cache_take(r, id);
    if (c && c->st->log_seq > st->log_seq) { /* someone stored a newer one */
        c->next = r->states;
        r->states = c;
        r->nstates++;
        pthread_mutex_unlock(&r->mu);
        rec_state_free(copy);
        return;
    }
    if (!c && (c = calloc(1, sizeof *c)) && !(c->record_id = strdup(id))) {
        free(c);
        c = NULL;
    }
    if (!c) {
        pthread_mutex_unlock(&r->mu);
        rec_state_free(copy);
        return;
    }
    /* Extend the rendered history with the entries it lacks. */
    int have = c->st ? c->st->s.nhistory : 0;
    if (have > copy->s.nhistory) {
        st_buf_reset(&c->hist);
        have = 0;
    }
    int rc = ST_OK;
    for (int i = have; i < copy->s.nhistory && !rc; i++)
        rc = render_entry(&copy->s.history[i], i == 0, &c->hist);
    rec_state_free(c->st);
    c->st = copy;
    if (rc) { /* keep the state, forget the text */
        st_buf_reset(&c->hist);
    }
    c->next = r->states;
    r->states = c;
    r->nstates++;
    if (rc) st_error_clear();
    /* Bound the cache: drop the least recently stored. */
    if (r->nstates > STATE_CACHE_MAX) {
        rec_state_cache_t **pp = &r->states;
        while ((*pp)->next)
            pp = &(*pp)->next;
        cache_entry_free(*pp);
        *pp = NULL;
        r->nstates--;
    }
    pthread_mutex_unlock(&r->mu);
}

/* A copy of the cached state of id, or NULL. */
static rec_state_t *cache_lookup(st_records_t *r, const char *id) {
    rec_state_t *copy = NULL;
    pthread_mutex_lock(&r->mu);
    for (rec_state_cache_t *c = r->states; c; c = c->next)
        if (!strcmp(c->record_id, id)) {
            if (state_clone(c->st, &copy)) {
                st_error_clear();
                copy = NULL;
            }
            break;
        }
    pthread_mutex_unlock(&r->mu);
    return copy;
}

static const char *jstr(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static int parse_time_or_null(json_t *o, const char *k, int64_t *out) {
    json_t *v = json_object_get(o, k);
    *out = 0;
    if (!v || json_is_null(v)) return ST_OK;
    return json_is_string(v) ? st_parse_timestamp(json_string_value(v), 6, out) : ST_EINVAL;
}

static int snapshot_fill(rec_state_t *st, json_t *o) {
    st_record_state_t *s = &st->s;
    json_t *cv = json_object_get(o, "current_version"), *seq = json_object_get(o, "log_seq");
    json_t *hist = json_object_get(o, "history");
    const char *lsha = jstr(o, "log_sha256");
    if (!json_is_integer(cv) || !json_is_integer(seq) || !json_is_array(hist) || !lsha ||
        strlen(lsha) > 64 || st_record_status_parse(jstr(o, "status"), &s->status))
        return ST_ECORRUPT;
    s->current_version = (int)json_integer_value(cv);
    st->log_seq = json_integer_value(seq);
    snprintf(st->log_sha256, sizeof st->log_sha256, "%s", lsha);
    if (set_str(&s->table_name, jstr(o, "table_name")) ||
        set_str(&s->created_by, jstr(o, "created_by")) ||
        set_str(&s->approved_by, jstr(o, "approved_by")) ||
        set_str(&s->rejected_by, jstr(o, "rejected_by")))
        return ST_ENOMEM;
    if (parse_time_or_null(o, "created_at", &s->created_at_us) ||
        parse_time_or_null(o, "approved_at", &s->approved_at_us) ||
        parse_time_or_null(o, "rejected_at", &s->rejected_at_us))
        return ST_ECORRUPT;
    size_t n = json_array_size(hist);
    if (n > 0) {
        if (!(s->history = calloc(n, sizeof *s->history))) return ST_ENOMEM;
        st->cap = (int)n;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *h = json_array_get(hist, i);
        st_record_event_t *e = &s->history[i];
        json_t *v = json_object_get(h, "version"), *q = json_object_get(h, "seq");
        const char *vs = jstr(h, "version_sha256"), *ps = jstr(h, "prev_sha256");
        if (!json_is_integer(v) || !json_is_integer(q) || !ps || strlen(ps) > 64 ||
            (vs && strlen(vs) > 64) || rec_event_kind_parse(jstr(h, "event"), &e->kind) ||
            st_record_status_parse(jstr(h, "status"), &e->status) ||
            parse_time_or_null(h, "created_at", &e->at_us))
            return ST_ECORRUPT;
        e->version = (int)json_integer_value(v);
        e->seq = json_integer_value(q);
        snprintf(e->version_sha256, sizeof e->version_sha256, "%s", vs ? vs : "");
        snprintf(e->prev_sha256, sizeof e->prev_sha256, "%s", ps);
        e->by = strdup(jstr(h, "created_by") ? jstr(h, "created_by") : "");
        e->comment = strdup(jstr(h, "comment") ? jstr(h, "comment") : "");
        s->nhistory = (int)i + 1;
        if (!e->by || !e->comment) return ST_ENOMEM;
    }
    return ST_OK;
}

int rec_state_from_snapshot(const char *record_id, const char *data, size_t n,
                            rec_state_t **out) {
    *out = NULL;
    size_t tag = strlen(SNAP_TAG), tail = tag + 64 + 4; /* hex, quote, \n}\n */
    if (n < tail || memcmp(data + n - tail, SNAP_TAG, tag) ||
        memcmp(data + n - 4, "\"\n}\n", 4))
        return st_error(ST_ECORRUPT, "%s: metadata.json is not a strata snapshot", record_id);
    char hex[65];
    st_sha256_hex(data, n - tail, hex);
    if (memcmp(hex, data + n - tail + tag, 64))
        return st_error(ST_ECORRUPT, "%s: metadata.json was changed after it was written",
                        record_id);
    json_t *o = json_loadb(data, n, 0, NULL);
    const char *id = jstr(o, "record_id");
    rec_state_t *st = NULL;
    int rc = (!o || !id || strcmp(id, record_id)) ? ST_ECORRUPT : rec_state_new(record_id, &st);
    if (!rc) rc = snapshot_fill(st, o);
    json_decref(o);
    if (rc) {
        rec_state_free(st);
        if (rc == ST_ENOMEM) return st_error(rc, "out of memory");
        return st_error(ST_ECORRUPT, "%s: metadata.json does not hold a valid state", record_id);
    }
    *out = st;
    return ST_OK;
}

/* ---- loading ---- */

/* Reads, hashes and parses one event file and applies it. ST_ENOTFOUND when
 * absent; a file that is not an event marks the state damaged (and is
 * skipped) rather than failing, so reads survive a tampered log. */
static int apply_key(st_records_t *r, const char *id, const char *key, int64_t seq,
                     rec_state_t *st, st_buf_t *buf) {
    st_buf_reset(buf);
    int rc = st_store_get(r->store, key, buf, NULL);
    if (rc) return rc;
    char sha[65], what[64];
    st_sha256_hex(buf->data, buf->len, sha);
    snprintf(what, sizeof what, "log event %lld", (long long)seq);
    rec_event_t ev;
    if (rec_event_parse((const char *)buf->data, buf->len, what, &ev)) {
        note_damage(st, "%s is not a valid event", what);
        st->log_seq = seq;
        snprintf(st->log_sha256, sizeof st->log_sha256, "%s", sha);
        st_error_clear();
        return ST_OK;
    }
    if (ev.e.seq != seq || strcmp(ev.record_id, id))
        note_damage(st, "%s names another position or record", what);
    ev.e.seq = seq;
    rc = rec_state_apply(st, &ev, sha);
    rec_event_clear(&ev);
    return rc;
}

int rec_state_roll_forward(st_records_t *r, const char *id, rec_state_t *st) {
    st_buf_t buf = ST_BUF_INIT;
    int rc = ST_OK;
    for (;;) {
        char *key = rec_log_key(r, id, st->log_seq + 1);
        if (!key) {
            rc = st_error(ST_ENOMEM, "out of memory");
            break;
        }
        rc = apply_key(r, id, key, st->log_seq + 1, st, &buf);
        free(key);
        if (rc) break;
    }
    st_buf_free(&buf);
    if (rc == ST_ENOTFOUND) {
        st_error_clear();
        rc = ST_OK;
    }
    return rc;
}

static bool parse_log_name(const char *name, int64_t *seq) {
    if (strlen(name) != 15 || strcmp(name + 10, ".json")) return false;
    int64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (name[i] < '0' || name[i] > '9') return false;
        v = v * 10 + (name[i] - '0');
    }
    *seq = v;
    return v > 0;
}

int rec_state_fold_log(st_records_t *r, const char *id, rec_state_t **out) {
    *out = NULL;
    char *prefix = rec_key(r, id, "log/");
    rec_state_t *st = NULL;
    st_list_iter_t *it = NULL;
    st_buf_t buf = ST_BUF_INIT;
    int rc = prefix ? rec_state_new(id, &st) : st_error(ST_ENOMEM, "out of memory");
    if (!rc) rc = st_store_list(r->store, prefix, NULL, &it);
    while (!rc) {
        const st_list_entry_t *ent;
        if ((rc = st_list_next(it, &ent)) || !ent) break;
        int64_t seq;
        if (ent->is_prefix || !parse_log_name(ent->key + strlen(prefix), &seq)) {
            note_damage(st, "%s is not a log event name", ent->key + strlen(prefix));
            continue;
        }
        if (seq != st->log_seq + 1) note_damage(st, "log event %s is missing", "before a later one");
        char *key = strdup(ent->key);
        if (!key) {
            rc = st_error(ST_ENOMEM, "out of memory");
            break;
        }
        rc = apply_key(r, id, key, seq, st, &buf);
        free(key);
        if (rc == ST_ENOTFOUND) { /* listed, then gone: a changed log */
            note_damage(st, "log event %s vanished while being read", "");
            st_error_clear();
            rc = ST_OK;
        }
    }
    st_list_close(it);
    st_buf_free(&buf);
    free(prefix);
    if (rc) {
        rec_state_free(st);
        return rc;
    }
    *out = st;
    return ST_OK;
}

int rec_state_load(st_records_t *r, const char *id, rec_state_t **out, bool *fresh_snapshot) {
    *out = NULL;
    if (fresh_snapshot) *fresh_snapshot = false;
    int rc = st_record_id_validate(id);
    if (rc) return rc;
    rec_state_t *st = cache_lookup(r, id);
    if (st) {
        int64_t at = st->log_seq;
        if ((rc = rec_state_roll_forward(r, id, st))) {
            rec_state_free(st);
            return rc;
        }
        if (at != st->log_seq) rec_state_cache_store(r, id, st);
        *out = st;
        return ST_OK;
    }
    char *mkey = rec_meta_key(r, id);
    if (!mkey) return st_error(ST_ENOMEM, "out of memory");
    st_buf_t buf = ST_BUF_INIT;
    rc = st_store_get(r->store, mkey, &buf, NULL);
    free(mkey);
    if (!rc && rec_state_from_snapshot(id, (const char *)buf.data, buf.len, &st)) {
        st_error_clear(); /* a damaged snapshot is only a cache miss */
        st = NULL;
    }
    st_buf_free(&buf);
    if (rc && rc != ST_ENOTFOUND) return rc;
    bool from_snapshot = st != NULL;
    if (!st && (rc = rec_state_fold_log(r, id, &st))) return rc;
    int64_t before = st->log_seq;
    if ((rc = rec_state_roll_forward(r, id, st))) {
        rec_state_free(st);
        return rc;
    }
    if (st->s.nhistory == 0) {
        rec_state_free(st);
        return st_error(ST_ENOTFOUND, "Record does not exist: %s", id);
    }
    if (fresh_snapshot) *fresh_snapshot = from_snapshot && st->log_seq == before;
    rec_state_cache_store(r, id, st);
    *out = st;
    return ST_OK;
}

int rec_state_save(st_records_t *r, const char *id, const rec_state_t *st) {
    char *key = rec_meta_key(r, id);
    st_buf_t buf = ST_BUF_INIT;
    int rc = key ? ST_OK : st_error(ST_ENOMEM, "out of memory");
    bool done = false;
    if (!rc) {
        pthread_mutex_lock(&r->mu);
        for (rec_state_cache_t *c = r->states; c && !done; c = c->next) {
            if (strcmp(c->record_id, id)) continue;
            int n = c->st->s.nhistory;
            /* The cached text is of the same log, so a prefix of ours. */
            if (n <= st->s.nhistory && c->st->log_seq <= st->log_seq && c->hist.len > 0) {
                rc = render_with(st, &c->hist, n, &buf);
                done = true;
            }
        }
        pthread_mutex_unlock(&r->mu);
    }
    if (!rc && !done) rc = rec_state_render(st, &buf);
    /* A snapshot readers rebuild from the log: a crash may lose it, so it
     * need not be durable (the log entry already is). */
    st_put_opts_t o = {.mode = ST_PUT_PLAIN, .content_type = "application/json", .no_sync = true};
    if (!rc) rc = st_store_put(r->store, key, buf.data, buf.len, &o, NULL);
    st_buf_free(&buf);
    free(key);
    return rc;
}
