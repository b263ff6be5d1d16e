/* verify: walks the hash chain of a record's log and checks every version
 * file and the metadata.json snapshot against it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/record_internal.h"

typedef struct {
    st_buf_t *report;
    int problems;
} vr_t;

static void problem(vr_t *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(vr_t *v, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    st_buf_printf(v->report, "%s\n", line);
    v->problems++;
}

static bool log_name(const char *name, int64_t *seq) {
    if (strlen(name) != 15 || strcmp(name + 10, ".json")) return false;
    int64_t s = 0;
    for (int i = 0; i < 10; i++) {
        if (name[i] < '0' || name[i] > '9') return false;
        s = s * 10 + (name[i] - '0');
    }
    *seq = s;
    return s > 0;
}

static bool version_name(const char *name, int *version) {
    if (name[0] != 'v' || name[1] < '1' || name[1] > '9') return false;
    long long v = 0;
    const char *p = name + 1;
    while (*p >= '0' && *p <= '9' && v <= REC_MAX_VERSION)
        v = v * 10 + (*p++ - '0');
    if (strcmp(p, ".parquet") || v > REC_MAX_VERSION) return false;
    *version = (int)v;
    return true;
}

/* Checks one event against the state before it (the lifecycle rules). */
static void check_rules(vr_t *v, const rec_state_t *st, const rec_event_t *ev) {
    const st_record_event_t *e = &ev->e;
    long long q = (long long)e->seq;
    int cur = st->s.current_version;
    switch (e->kind) {
    case ST_EVENT_CREATE:
        if (st->s.nhistory > 0 || e->version != 1)
            problem(v, "log event %lld: a create event that is not the first event for v1", q);
        break;
    case ST_EVENT_UPDATE:
        if (st->s.nhistory == 0)
            problem(v, "log event %lld: an update before the record was created", q);
        else if (e->version != cur + 1)
            problem(v, "log event %lld: adds v%d, but the record was at v%d", q, e->version, cur);
        break;
    case ST_EVENT_APPROVE:
    case ST_EVENT_REJECT:
        if (st->s.nhistory == 0 || e->version != cur || st->s.status != ST_RECORD_DRAFT)
            problem(v, "log event %lld: %s of v%d is not allowed on v%d (%s)", q,
                    rec_event_kind_name(e->kind), e->version, cur,
                    st_record_status_name(st->s.status));
        break;
    }
}

typedef struct {
    int64_t log_seq; /* from metadata.json; -1 when absent or unusable */
    st_buf_t text;   /* the file */
    st_buf_t expect; /* the fold rendered at log_seq */
} meta_t;

static int walk_log(st_records_t *r, const char *id, vr_t *v, meta_t *m, rec_state_t *st) {
    char *prefix = rec_key(r, id, "log/");
    if (!prefix) return st_error(ST_ENOMEM, "out of memory");
    st_list_iter_t *it = NULL;
    st_buf_t buf = ST_BUF_INIT;
    int rc = st_store_list(r->store, prefix, NULL, &it);
    int64_t expect = 1;
    char prev_sha[65] = "";
    while (!rc) {
        const st_list_entry_t *ent;
        if ((rc = st_list_next(it, &ent)) || !ent) break;
        const char *name = ent->key + strlen(prefix);
        int64_t seq;
        if (ent->is_prefix || !log_name(name, &seq)) {
            problem(v, "log/%s: not a log event (unexpected file)", name);
            continue;
        }
        if (seq > expect) {
            if (seq == expect + 1)
                problem(v, "log event %lld: missing (removed; the log jumps from %lld to %lld)",
                        (long long)expect, (long long)expect - 1, (long long)seq);
            else
                problem(v, "log events %lld..%lld: missing (removed)", (long long)expect,
                        (long long)seq - 1);
            /* Judge the next event's chain link against what is there. */
        }
        expect = seq + 1;
        st_buf_reset(&buf);
        char *key = strdup(ent->key);
        if (!key) {
            rc = st_error(ST_ENOMEM, "out of memory");
            break;
        }
        rc = st_store_get(r->store, key, &buf, NULL);
        free(key);
        if (rc == ST_ENOTFOUND) {
            st_error_clear();
            rc = ST_OK;
            problem(v, "log event %lld: removed while verifying", (long long)seq);
            continue;
        }
        if (rc) break;
        char sha[65], what[64];
        st_sha256_hex(buf.data, buf.len, sha);
        snprintf(what, sizeof what, "log event %lld", (long long)seq);
        rec_event_t ev;
        if (rec_event_parse((const char *)buf.data, buf.len, what, &ev)) {
            problem(v, "%s (changed)", st_errmsg());
            st_error_clear();
            snprintf(prev_sha, sizeof prev_sha, "%s", sha);
            st->log_seq = seq;
            snprintf(st->log_sha256, sizeof st->log_sha256, "%s", sha);
            continue;
        }
        if (ev.e.seq != seq)
            problem(v, "log event %lld: says it is event %lld (reordered or renamed)",
                    (long long)seq, (long long)ev.e.seq);
        if (strcmp(ev.record_id, id))
            problem(v, "log event %lld: belongs to record '%s'", (long long)seq, ev.record_id);
        if (strcmp(ev.e.prev_sha256, prev_sha)) {
            if (seq == 1 || !*prev_sha)
                problem(v, "log event %lld: its prev_sha256 does not match: the event before it "
                           "was removed or the log reordered",
                        (long long)seq);
            else
                problem(v, "log event %lld: its prev_sha256 does not match log event %lld (an "
                           "event was changed, removed or reordered)",
                        (long long)seq, (long long)seq - 1);
        }
        check_rules(v, st, &ev);
        ev.e.seq = seq;
        snprintf(ev.e.prev_sha256, sizeof ev.e.prev_sha256, "%s", st->log_sha256);
        st->log_seq = seq - 1; /* apply() judges sequence; verify already did */
        rc = rec_state_apply(st, &ev, sha);
        rec_event_clear(&ev);
        snprintf(prev_sha, sizeof prev_sha, "%s", sha);
        if (!rc && m->log_seq == seq) rc = rec_state_render(st, &m->expect);
    }
    st_list_close(it);
    st_buf_free(&buf);
    free(prefix);
    return rc;
}

static int check_versions(st_records_t *r, const char *id, vr_t *v, const rec_state_t *st) {
    st_buf_t buf = ST_BUF_INIT;
    int rc = ST_OK;
    /* Every version the log adds is there, unchanged. */
    for (int i = 0; i < st->s.nhistory && !rc; i++) {
        const st_record_event_t *e = &st->s.history[i];
        if (e->kind != ST_EVENT_CREATE && e->kind != ST_EVENT_UPDATE) continue;
        st_buf_reset(&buf);
        rc = rec_get_version(r, id, e->version, e->version_sha256, &buf);
        if (rc == ST_ECORRUPT) {
            if (buf.len == 0 && strstr(st_errmsg(), "missing"))
                problem(v, "v%d.parquet: missing (removed), though log event %lld adds it",
                        e->version, (long long)e->seq);
            else
                problem(v, "v%d.parquet: SHA-256 differs from the event %lld that added it "
                           "(the file was changed)",
                        e->version, (long long)e->seq);
            st_error_clear();
            rc = ST_OK;
        }
    }
    st_buf_free(&buf);
    if (rc) return rc;
    /* No version file exists that no event adds. */
    char *prefix = rec_key(r, id, "versions/");
    if (!prefix) return st_error(ST_ENOMEM, "out of memory");
    st_list_iter_t *it = NULL;
    rc = st_store_list(r->store, prefix, NULL, &it);
    while (!rc) {
        const st_list_entry_t *ent;
        if ((rc = st_list_next(it, &ent)) || !ent) break;
        const char *name = ent->key + strlen(prefix);
        int ver;
        if (ent->is_prefix || !version_name(name, &ver)) {
            problem(v, "versions/%s: not a version file (unexpected file)", name);
            continue;
        }
        if (rec_state_version_event(st, ver)) continue;
        if (ver == st->s.current_version + 1)
            st_buf_printf(v->report,
                          "note: v%d.parquet: pending (uncommitted) version; the next write "
                          "completes it\n",
                          ver);
        else
            problem(v, "v%d.parquet: no event adds this version", ver);
    }
    st_list_close(it);
    free(prefix);
    return rc;
}

int st_record_verify(st_records_t *r, const char *record_id, st_buf_t *report, int *problems) {
    *problems = 0;
    if (!r) return st_error(ST_EINVAL, "records: no handle");
    int rc = st_record_id_validate(record_id);
    if (rc) return rc;
    vr_t v = {report, 0};
    meta_t m = {-1, ST_BUF_INIT, ST_BUF_INIT};
    char *mkey = rec_meta_key(r, record_id);
    if (!mkey) return st_error(ST_ENOMEM, "out of memory");
    rc = st_store_get(r->store, mkey, &m.text, NULL);
    free(mkey);
    bool have_meta = rc == ST_OK;
    rec_state_t *snap = NULL;
    if (rc == ST_ENOTFOUND) {
        st_error_clear();
        rc = ST_OK;
    } else if (!rc) {
        if (rec_state_from_snapshot(record_id, (const char *)m.text.data, m.text.len, &snap)) {
            problem(&v, "metadata.json: %s", strstr(st_errmsg(), "changed") ?
                    "changed by hand (its snapshot_sha256 no longer matches its content)" :
                    "not a valid snapshot (changed by hand)");
            st_error_clear();
        } else {
            m.log_seq = snap->log_seq;
        }
    }
    rec_state_t *st = NULL;
    if (!rc) rc = rec_state_new(record_id, &st);
    if (!rc) rc = walk_log(r, record_id, &v, &m, st);
    if (!rc && st->s.nhistory == 0 && !have_meta)
        rc = st_error(ST_ENOTFOUND, "Record does not exist: %s", record_id);
    if (!rc && st->s.nhistory == 0)
        problem(&v, "log: no events (the log was removed)");
    if (!rc) rc = check_versions(r, record_id, &v, st);
    if (!rc && snap) {
        if (m.log_seq > st->log_seq)
            problem(&v, "metadata.json: refers to log event %lld, beyond the end of the log",
                    (long long)m.log_seq);
        else if (m.expect.len != m.text.len || memcmp(m.expect.data, m.text.data, m.text.len))
            problem(&v, "metadata.json: differs from the state the log gives at event %lld",
                    (long long)m.log_seq);
    }
    if (!rc && !have_meta && st->s.nhistory > 0)
        st_buf_printf(report, "note: metadata.json: missing (rebuilt on the next write)\n");
    rec_state_free(snap);
    rec_state_free(st);
    st_buf_free(&m.text);
    st_buf_free(&m.expect);
    *problems = v.problems;
    return rc;
}
