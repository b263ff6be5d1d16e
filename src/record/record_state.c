/* The state of a record: the fold of its log, its metadata.json snapshot, and
 * loading it with as few requests as the snapshot allows. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/record_internal.h"

#define SNAP_TAG "  \"snapshot_sha256\": \""
#define HIST_OPEN ",\n  \"history\": ["
#define TAIL_OPEN ",\n  \"log_seq\": "

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
    free(st->version_by);
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
    st->prev = (st_record_head_t){.seq = st->log_seq,
                                  .version = s->current_version,
                                  .status = s->status,
                                  .approved_version = st->approved_version,
                                  .at_us = st->at_us};
    switch (e->kind) {
    case ST_EVENT_CREATE:
        if ((rc = set_str(&s->table_name, ev->table_name)) ||
            (rc = set_str(&s->created_by, e->by)))
            return rc;
        s->created_at_us = e->at_us;
        /* fall through */
    case ST_EVENT_UPDATE:
        if ((rc = set_str(&st->version_by, e->by))) return rc;
        st->version_at_us = e->at_us;
        s->current_version = e->version;
        s->status = ST_RECORD_DRAFT;
        if ((rc = set_str(&s->approved_by, NULL)) || (rc = set_str(&s->rejected_by, NULL)))
            return rc;
        s->approved_at_us = s->rejected_at_us = 0;
        break;
    case ST_EVENT_APPROVE:
        st->approved_version = e->version;
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
    st->at_us = e->at_us;
    st->log_seq = e->seq;
    snprintf(st->log_sha256, sizeof st->log_sha256, "%s", file_sha);
    return ST_OK;
}

/* The head fields of a state read with its whole history (a snapshot), as
 * rec_state_apply would have kept them. */
static int head_fold(rec_state_t *st) {
    st_record_head_t now = {0};
    const char *vby = NULL;
    int64_t vat = 0;
    st->prev = now;
    for (int i = 0; i < st->s.nhistory; i++) {
        const st_record_event_t *e = &st->s.history[i];
        st->prev = now;
        if (e->kind == ST_EVENT_CREATE || e->kind == ST_EVENT_UPDATE) {
            now.version = e->version;
            vby = e->by;
            vat = e->at_us;
        }
        if (e->kind == ST_EVENT_APPROVE) now.approved_version = e->version;
        now.status = e->status;
        now.seq = e->seq;
        now.at_us = e->at_us;
    }
    st->at_us = now.at_us;
    st->approved_version = now.approved_version;
    st->version_at_us = vat;
    return set_str(&st->version_by, vby);
}

void rec_state_head(const rec_state_t *st, st_record_head_t *head, st_record_head_t *prev) {
    if (head)
        *head = (st_record_head_t){.seq = st->log_seq,
                                   .version = st->s.current_version,
                                   .status = st->s.status,
                                   .approved_version = st->approved_version,
                                   .at_us = st->at_us};
    if (prev) *prev = st->prev;
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

/* The head part of the document, after history[]: what a writer needs to go
 * on from the snapshot without reading the history (rec_head_load). */
static int render_tail(const rec_state_t *st, st_buf_t *out) {
    int rc = st_buf_printf(out, ",\n  \"log_seq\": %lld,\n  \"log_sha256\": \"%s\",\n",
                           (long long)st->log_seq, st->log_sha256);
    if (!rc) rc = st_buf_append_str(out, "  \"head\": {\"at\": ");
    if (!rc) rc = put_time(out, st->log_seq ? "" : NULL, st->at_us);
    if (!rc) rc = st_buf_append_str(out, ", \"version_by\": ");
    if (!rc) rc = put_str(out, st->version_by);
    if (!rc) rc = st_buf_append_str(out, ", \"version_at\": ");
    if (!rc) rc = put_time(out, st->version_by, st->version_at_us);
    if (!rc)
        rc = st_buf_printf(out,
                           ", \"approved_version\": %d, \"prev\": {\"seq\": %lld, \"version\": %d, "
                           "\"status\": \"%s\", \"approved_version\": %d, \"at\": ",
                           st->approved_version, (long long)st->prev.seq, st->prev.version,
                           st_record_status_name(st->prev.status), st->prev.approved_version);
    if (!rc) rc = put_time(out, st->prev.seq ? "" : NULL, st->prev.at_us);
    if (!rc) rc = st_buf_append_str(out, "}},\n");
    return rc;
}

/* Everything before the history entries. */
static int render_top(const rec_state_t *st, st_buf_t *out) {
    const st_record_state_t *s = &st->s;
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
    if (!rc) rc = st_buf_append_str(out, HIST_OPEN);
    return rc;
}

/* The entries of st's history past `after` (all of them for after < 0),
 * then the rest of the document; `any` says whether entries came before. */
static int render_rest(const rec_state_t *st, int64_t after, bool any, size_t start,
                       st_buf_t *out) {
    int rc = ST_OK;
    for (int i = 0; i < st->s.nhistory && !rc; i++) {
        const st_record_event_t *e = &st->s.history[i];
        if (after >= 0 && e->seq <= after) continue;
        rc = render_entry(e, !any, out);
        any = true;
    }
    if (!rc) rc = st_buf_append_str(out, any ? "\n  ]" : "]");
    if (!rc) rc = render_tail(st, out);
    if (rc) return rc;
    char hex[65];
    st_sha256_hex(out->data + start, out->len - start, hex);
    return st_buf_printf(out, SNAP_TAG "%s\"\n}\n", hex);
}

int rec_state_render(const rec_state_t *st, st_buf_t *out) {
    size_t start = out->len;
    int rc = render_top(st, out);
    return rc ? rc : render_rest(st, -1, false, start, out);
}

/* ---- the handle's cache of states ---- */

/* The state without its history (partial): O(1) in the length of the log. */
static int head_clone(const rec_state_t *src, rec_state_t **out) {
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
    st->partial = true;
    st->at_us = src->at_us;
    st->version_at_us = src->version_at_us;
    st->approved_version = src->approved_version;
    st->prev = src->prev;
    if ((rc = set_str(&d->table_name, s->table_name)) ||
        (rc = set_str(&d->created_by, s->created_by)) ||
        (rc = set_str(&d->approved_by, s->approved_by)) ||
        (rc = set_str(&d->rejected_by, s->rejected_by)) ||
        (rc = set_str(&st->version_by, src->version_by)) ||
        (rc = set_str(&st->damage, src->damage))) {
        rec_state_free(st);
        return rc;
    }
    *out = st;
    return ST_OK;
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

/* The entry of id (under r->mu). */
static rec_state_cache_t *cache_find(st_records_t *r, const char *id) {
    for (rec_state_cache_t *c = r->states; c; c = c->next)
        if (!strcmp(c->record_id, id)) return c;
    return NULL;
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

/* Links c first and drops the least recently stored beyond the bound (under
 * r->mu). */
static void cache_link(st_records_t *r, rec_state_cache_t *c) {
    c->next = r->states;
    r->states = c;
    r->nstates++;
    if (r->nstates > STATE_CACHE_MAX) {
        rec_state_cache_t **pp = &r->states;
        while ((*pp)->next)
            pp = &(*pp)->next;
        cache_entry_free(*pp);
        *pp = NULL;
        r->nstates--;
    }
}

static rec_state_cache_t *cache_entry_new(const char *id) {
    rec_state_cache_t *c = calloc(1, sizeof *c);
    if (c && !(c->record_id = strdup(id))) {
        free(c);
        c = NULL;
    }
    return c;
}

/* Whether st holds every event after `seq` up to its own position. */
static bool holds_after(const rec_state_t *st, int64_t seq) {
    if (st->log_seq == seq) return true;
    if (!st->partial) return true;
    return st->s.nhistory > 0 && st->s.history[0].seq <= seq + 1 &&
           st->s.history[st->s.nhistory - 1].seq == st->log_seq;
}

void rec_state_cache_store(st_records_t *r, const char *id, const rec_state_t *st) {
    if (st->damaged || st->log_seq == 0) return;
    rec_state_t *head;
    if (head_clone(st, &head)) {
        st_error_clear();
        return;
    }
    pthread_mutex_lock(&r->mu);
    rec_state_cache_t *c = cache_take(r, id);
    if (c && c->st->log_seq >= st->log_seq) { /* as new or newer already */
        if (c->st->log_seq == st->log_seq && !c->has_hist && !st->partial) {
            st_buf_reset(&c->hist);
            int rc = ST_OK;
            for (int i = 0; i < st->s.nhistory && !rc; i++)
                rc = render_entry(&st->s.history[i], i == 0, &c->hist);
            c->has_hist = rc == ST_OK;
            if (rc) st_error_clear();
        }
        cache_link(r, c);
        pthread_mutex_unlock(&r->mu);
        rec_state_free(head);
        return;
    }
    if (!c && !(c = cache_entry_new(id))) {
        pthread_mutex_unlock(&r->mu);
        rec_state_free(head);
        return;
    }
    /* Extend the rendered history with the entries it lacks. */
    int64_t have = c->st && c->has_hist ? c->st->log_seq : -1;
    if (have < 0 || !holds_after(st, have)) {
        st_buf_reset(&c->hist);
        have = st->partial ? -1 : 0;
    }
    int rc = ST_OK;
    if (have >= 0) {
        bool any = c->hist.len > 0;
        for (int i = 0; i < st->s.nhistory && !rc; i++) {
            if (st->s.history[i].seq <= have) continue;
            rc = render_entry(&st->s.history[i], !any, &c->hist);
            any = true;
        }
    }
    c->has_hist = have >= 0 && rc == ST_OK;
    if (rc) st_error_clear();
    rec_state_free(c->st);
    c->st = head;
    cache_link(r, c);
    pthread_mutex_unlock(&r->mu);
}

/* Caches a head read from a snapshot with its rendered history text, unless
 * the handle already knows as much. */
static void cache_put_text(st_records_t *r, const char *id, const rec_state_t *st,
                           const char *hist, size_t n) {
    rec_state_t *head;
    if (head_clone(st, &head)) {
        st_error_clear();
        return;
    }
    pthread_mutex_lock(&r->mu);
    rec_state_cache_t *c = cache_find(r, id);
    if (!c || c->st->log_seq < st->log_seq || !c->has_hist) {
        if (c) c = cache_take(r, id);
        else c = cache_entry_new(id);
        if (c) {
            st_buf_reset(&c->hist);
            c->has_hist = st_buf_append(&c->hist, hist, n) == ST_OK;
            c->saved_seq = st->log_seq;
            rec_state_free(c->st);
            c->st = head;
            head = NULL;
            cache_link(r, c);
        }
    }
    pthread_mutex_unlock(&r->mu);
    rec_state_free(head);
    st_error_clear();
}

/* A head-only copy of the cached state of id, or NULL. */
static rec_state_t *cache_head(st_records_t *r, const char *id) {
    rec_state_t *copy = NULL;
    pthread_mutex_lock(&r->mu);
    rec_state_cache_t *c = cache_find(r, id);
    if (c && head_clone(c->st, &copy)) {
        st_error_clear();
        copy = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    return copy;
}

int st_record_head_seen(st_records_t *r, const char *record_id, st_record_head_t *head,
                        st_record_head_t *prev) {
    if (!r || !record_id) return st_error(ST_EINVAL, "records: no handle or record id");
    bool found = false;
    pthread_mutex_lock(&r->mu);
    rec_state_cache_t *c = cache_find(r, record_id);
    if (c) {
        rec_state_head(c->st, head, prev);
        found = true;
    }
    pthread_mutex_unlock(&r->mu);
    return found ? ST_OK
                 : st_error(ST_ENOTFOUND, "%s: this records handle holds no state of it",
                            record_id);
}

/* The snapshot document of the cached state (when its history text is
 * known), appended to out; false when there is none. */
static bool cache_doc(st_records_t *r, const char *id, st_buf_t *out) {
    rec_state_t *head = cache_head(r, id);
    if (!head) return false;
    size_t start = out->len;
    bool ok = render_top(head, out) == ST_OK;
    pthread_mutex_lock(&r->mu);
    rec_state_cache_t *c = cache_find(r, id);
    ok = ok && c && c->has_hist && c->st->log_seq == head->log_seq &&
         st_buf_append(out, c->hist.data, c->hist.len) == ST_OK;
    bool any = ok && c->hist.len > 0;
    pthread_mutex_unlock(&r->mu);
    ok = ok && render_rest(head, head->log_seq, any, start, out) == ST_OK;
    rec_state_free(head);
    if (!ok) {
        st_error_clear();
        out->len = start;
    }
    return ok;
}

/* ---- reading snapshots ---- */

static const char *jstr(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static int parse_time_or_null(json_t *o, const char *k, int64_t *out) {
    json_t *v = json_object_get(o, k);
    *out = 0;
    if (!v || json_is_null(v)) return ST_OK;
    return json_is_string(v) ? st_parse_timestamp(json_string_value(v), 6, out) : ST_EINVAL;
}

/* The fields before history[]. */
static int snapshot_fill_top(rec_state_t *st, json_t *o) {
    st_record_state_t *s = &st->s;
    json_t *cv = json_object_get(o, "current_version");
    if (!json_is_integer(cv) || st_record_status_parse(jstr(o, "status"), &s->status)) {
        st_error_clear();
        return ST_ECORRUPT;
    }
    s->current_version = (int)json_integer_value(cv);
    if (set_str(&s->table_name, jstr(o, "table_name")) ||
        set_str(&s->created_by, jstr(o, "created_by")) ||
        set_str(&s->approved_by, jstr(o, "approved_by")) ||
        set_str(&s->rejected_by, jstr(o, "rejected_by")))
        return ST_ENOMEM;
    if (parse_time_or_null(o, "created_at", &s->created_at_us) ||
        parse_time_or_null(o, "approved_at", &s->approved_at_us) ||
        parse_time_or_null(o, "rejected_at", &s->rejected_at_us))
        return ST_ECORRUPT;
    return ST_OK;
}

static int snapshot_fill_pos(rec_state_t *st, json_t *o) {
    json_t *seq = json_object_get(o, "log_seq");
    const char *lsha = jstr(o, "log_sha256");
    if (!json_is_integer(seq) || !lsha || strlen(lsha) > 64) return ST_ECORRUPT;
    st->log_seq = json_integer_value(seq);
    snprintf(st->log_sha256, sizeof st->log_sha256, "%s", lsha);
    return ST_OK;
}

/* The "head" object after history[]. */
static int snapshot_fill_head(rec_state_t *st, json_t *o) {
    json_t *h = json_object_get(o, "head");
    json_t *p = json_object_get(h, "prev");
    json_t *av = json_object_get(h, "approved_version"), *ps = json_object_get(p, "seq");
    json_t *pv = json_object_get(p, "version"), *pa = json_object_get(p, "approved_version");
    if (!json_is_object(h) || !json_is_object(p) || !json_is_integer(av) ||
        !json_is_integer(ps) || !json_is_integer(pv) || !json_is_integer(pa) ||
        parse_time_or_null(h, "at", &st->at_us) ||
        parse_time_or_null(h, "version_at", &st->version_at_us) ||
        parse_time_or_null(p, "at", &st->prev.at_us) ||
        st_record_status_parse(jstr(p, "status"), &st->prev.status)) {
        st_error_clear();
        return ST_ECORRUPT;
    }
    st->approved_version = (int)json_integer_value(av);
    st->prev.seq = json_integer_value(ps);
    st->prev.version = (int)json_integer_value(pv);
    st->prev.approved_version = (int)json_integer_value(pa);
    return set_str(&st->version_by, jstr(h, "version_by")) ? ST_ENOMEM : ST_OK;
}

static int snapshot_fill(rec_state_t *st, json_t *o) {
    st_record_state_t *s = &st->s;
    json_t *hist = json_object_get(o, "history");
    int rc = snapshot_fill_top(st, o);
    if (!rc) rc = snapshot_fill_pos(st, o);
    if (rc) return rc;
    if (!json_is_array(hist)) return ST_ECORRUPT;
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
            parse_time_or_null(h, "created_at", &e->at_us)) {
            st_error_clear();
            return ST_ECORRUPT;
        }
        e->version = (int)json_integer_value(v);
        e->seq = json_integer_value(q);
        snprintf(e->version_sha256, sizeof e->version_sha256, "%s", vs ? vs : "");
        snprintf(e->prev_sha256, sizeof e->prev_sha256, "%s", ps);
        e->by = strdup(jstr(h, "created_by") ? jstr(h, "created_by") : "");
        e->comment = strdup(jstr(h, "comment") ? jstr(h, "comment") : "");
        s->nhistory = (int)i + 1;
        if (!e->by || !e->comment) return ST_ENOMEM;
    }
    return head_fold(st) ? ST_ENOMEM : ST_OK;
}

/* Checks the snapshot_sha256 line; *body receives the length it covers. */
static int snapshot_check(const char *record_id, const char *data, size_t n, size_t *body) {
    size_t tag = strlen(SNAP_TAG), tail = tag + 64 + 4; /* hex, quote, \n}\n */
    if (n < tail || memcmp(data + n - tail, SNAP_TAG, tag) ||
        memcmp(data + n - 4, "\"\n}\n", 4))
        return st_error(ST_ECORRUPT, "%s: metadata.json is not a strata snapshot", record_id);
    char hex[65];
    st_sha256_hex(data, n - tail, hex);
    if (memcmp(hex, data + n - tail + tag, 64))
        return st_error(ST_ECORRUPT, "%s: metadata.json was changed after it was written",
                        record_id);
    *body = n - tail;
    return ST_OK;
}

static int snapshot_parse(const char *record_id, const char *data, size_t n, rec_state_t **out) {
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

int rec_state_from_snapshot(const char *record_id, const char *data, size_t n,
                            rec_state_t **out) {
    *out = NULL;
    size_t body;
    int rc = snapshot_check(record_id, data, n, &body);
    return rc ? rc : snapshot_parse(record_id, data, n, out);
}

/* Parses data[from, to) wrapped in braces as one JSON object. */
static json_t *load_part(const char *data, size_t from, size_t to, bool brace_open) {
    st_buf_t b = ST_BUF_INIT;
    json_t *o = NULL;
    if ((brace_open || !st_buf_append_byte(&b, '{')) && !st_buf_append(&b, data + from, to - from) &&
        !st_buf_append_byte(&b, '}'))
        o = json_loadb((const char *)b.data, b.len, 0, NULL);
    st_buf_free(&b);
    return o;
}

/* The head of a snapshot (partial state, no history) and where its rendered
 * history entries lie, parsing only the fields around history[]: the
 * layout is our own, and a raw newline never occurs inside a JSON string, so
 * the "\n  " separators of top-level keys are unambiguous. */
static int head_from_snapshot(const char *record_id, const char *data, size_t n,
                              rec_state_t **out, size_t *hist_off, size_t *hist_len) {
    *out = NULL;
    size_t body;
    int rc = snapshot_check(record_id, data, n, &body);
    if (rc) return rc;
    const char *h = memmem(data, body, HIST_OPEN, strlen(HIST_OPEN));
    const char *t = NULL;
    for (size_t i = body; i-- > 0 && !t;)
        if (data[i] == ',' && body - i >= strlen(TAIL_OPEN) &&
            !memcmp(data + i, TAIL_OPEN, strlen(TAIL_OPEN)))
            t = data + i;
    size_t h0 = h ? (size_t)(h - data) + strlen(HIST_OPEN) : 0;
    size_t t0 = t ? (size_t)(t - data) : 0;
    if (!h || !t || t0 < h0 + 1 || body < t0 + 4)
        return st_error(ST_ECORRUPT, "%s: metadata.json has no head part", record_id);
    json_t *top = load_part(data, 0, (size_t)(h - data), true);
    json_t *tail = load_part(data, t0 + 2, body - 2, false);
    const char *id = jstr(top, "record_id");
    rec_state_t *st = NULL;
    rc = (!top || !tail || !id || strcmp(id, record_id)) ? ST_ECORRUPT
                                                          : rec_state_new(record_id, &st);
    if (!rc) rc = snapshot_fill_top(st, top);
    if (!rc) rc = snapshot_fill_pos(st, tail);
    if (!rc) rc = snapshot_fill_head(st, tail);
    json_decref(top);
    json_decref(tail);
    if (!rc) {
        st->partial = true;
        *hist_off = h0;
        if (t0 == h0 + 1 && data[h0] == ']') *hist_len = 0;
        else if (t0 >= h0 + 4 && !memcmp(data + t0 - 4, "\n  ]", 4)) *hist_len = t0 - 4 - h0;
        else rc = ST_ECORRUPT;
    }
    if (!rc && st->log_seq < 1) rc = ST_ECORRUPT;
    if (rc) {
        rec_state_free(st);
        if (rc == ST_ENOMEM) return st_error(rc, "out of memory");
        return st_error(ST_ECORRUPT, "%s: metadata.json has no usable head part", record_id);
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

/* The full state from the store: the snapshot text already read (meta_rc is
 * the result of reading it) rolled forward, or a fold of the log. */
static int load_from_store(st_records_t *r, const char *id, const st_buf_t *meta, int meta_rc,
                           rec_state_t **out, bool *fresh_snapshot) {
    rec_state_t *st = NULL;
    int rc = meta_rc;
    if (!rc && rec_state_from_snapshot(id, (const char *)meta->data, meta->len, &st)) {
        st_error_clear(); /* a damaged snapshot is only a cache miss */
        st = NULL;
    }
    if (rc == ST_ENOTFOUND) {
        st_error_clear();
        rc = ST_OK;
    }
    if (rc) return rc;
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

static int get_meta(st_records_t *r, const char *id, st_buf_t *buf) {
    char *mkey = rec_meta_key(r, id);
    if (!mkey) return st_error(ST_ENOMEM, "out of memory");
    int rc = st_store_get(r->store, mkey, buf, NULL);
    free(mkey);
    return rc;
}

int rec_state_load(st_records_t *r, const char *id, rec_state_t **out, bool *fresh_snapshot) {
    *out = NULL;
    if (fresh_snapshot) *fresh_snapshot = false;
    int rc = st_record_id_validate(id);
    if (rc) return rc;
    /* The cached head and history text make the document a reader would
     * otherwise fetch; the log is append-only, so rolling it forward makes
     * it current. */
    rec_state_t *st = NULL;
    st_buf_t buf = ST_BUF_INIT;
    if (cache_doc(r, id, &buf) && snapshot_parse(id, (const char *)buf.data, buf.len, &st)) {
        st_error_clear();
        st = NULL;
    }
    if (st) {
        st_buf_free(&buf);
        int64_t at = st->log_seq;
        if ((rc = rec_state_roll_forward(r, id, st))) {
            rec_state_free(st);
            return rc;
        }
        if (at != st->log_seq) rec_state_cache_store(r, id, st);
        *out = st;
        return ST_OK;
    }
    st_buf_reset(&buf);
    rc = get_meta(r, id, &buf);
    rc = load_from_store(r, id, &buf, rc, out, fresh_snapshot);
    st_buf_free(&buf);
    return rc;
}

int rec_head_load(st_records_t *r, const char *id, rec_state_t **out) {
    *out = NULL;
    int rc = st_record_id_validate(id);
    if (rc) return rc;
    rec_state_t *st = cache_head(r, id);
    if (!st) {
        st_buf_t buf = ST_BUF_INIT;
        size_t off = 0, len = 0;
        rc = get_meta(r, id, &buf);
        if (!rc && !head_from_snapshot(id, (const char *)buf.data, buf.len, &st, &off, &len))
            cache_put_text(r, id, st, (const char *)buf.data + off, len);
        if (!st) { /* no usable head part: read it all */
            st_error_clear();
            rc = load_from_store(r, id, &buf, rc, out, NULL);
            st_buf_free(&buf);
            return rc;
        }
        st_buf_free(&buf);
    }
    int64_t at = st->log_seq;
    if ((rc = rec_state_roll_forward(r, id, st))) {
        rec_state_free(st);
        return rc;
    }
    if (at != st->log_seq) rec_state_cache_store(r, id, st);
    *out = st;
    return ST_OK;
}

/* Whether a snapshot of a history of hist_len bytes, lag events past the one
 * stored, may wait: rewriting (and hashing, twice) the whole history on every
 * change would make a change cost O(history). Short histories are written
 * every time; a long one once its unwritten events outweigh its size / 64 KiB
 * (so at most ~64 KiB rewritten per change on average), or after 32 events,
 * so a reader without a cache rolls forward over a few events at most. */
#define SNAP_SPREAD_BYTES 65536
#define SNAP_MAX_LAG 32
static bool snapshot_may_wait(size_t hist_len, int64_t lag) {
    if (hist_len <= SNAP_SPREAD_BYTES || lag >= SNAP_MAX_LAG) return false;
    return (uint64_t)lag * SNAP_SPREAD_BYTES < hist_len;
}

int rec_state_save(st_records_t *r, const char *id, const rec_state_t *st) {
    char *key = rec_meta_key(r, id);
    st_buf_t buf = ST_BUF_INIT;
    int rc = key ? ST_OK : st_error(ST_ENOMEM, "out of memory");
    bool done = false, newer = false, any = false;
    if (!rc) {
        pthread_mutex_lock(&r->mu);
        rec_state_cache_t *c = cache_find(r, id);
        if (c && c->st->log_seq > st->log_seq) {
            newer = true;
        } else if (c && c->has_hist && c->st->log_seq == st->log_seq &&
                   snapshot_may_wait(c->hist.len, st->log_seq - c->saved_seq)) {
            newer = true; /* a later change writes it */
        } else if (c && c->has_hist && c->st->log_seq == st->log_seq &&
                   !(rc = render_top(st, &buf))) {
            rc = st_buf_append(&buf, c->hist.data, c->hist.len);
            any = c->hist.len > 0;
            done = true;
        }
        pthread_mutex_unlock(&r->mu);
    }
    rec_state_t *full = NULL;
    if (!rc && newer) {
        /* A later change writes a later snapshot; readers roll forward. */
    } else if (!rc && done) {
        rc = render_rest(st, st->log_seq, any, 0, &buf);
    } else if (!rc) {
        st_buf_reset(&buf);
        if (st->partial && !(rc = rec_state_load(r, id, &full, NULL))) st = full;
        if (!rc) rc = rec_state_render(st, &buf);
    }
    /* A snapshot readers rebuild from the log: a crash may lose it, so it
     * need not be durable (the log entry already is). */
    st_put_opts_t o = {.mode = ST_PUT_PLAIN, .content_type = "application/json", .no_sync = true};
    if (!rc && !newer) rc = st_store_put(r->store, key, buf.data, buf.len, &o, NULL);
    if (!rc && !newer) {
        pthread_mutex_lock(&r->mu);
        rec_state_cache_t *c = cache_find(r, id);
        if (c && c->saved_seq < st->log_seq) c->saved_seq = st->log_seq;
        pthread_mutex_unlock(&r->mu);
    }
    rec_state_free(full);
    st_buf_free(&buf);
    free(key);
    return rc;
}
