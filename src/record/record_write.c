/* Changes to records: create and update add a version file and commit an
 * event; approve and reject commit an event only. Every commit is a
 * put-if-absent of the next log entry (see notes/record-design.md). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/record_internal.h"
#include "strata/parquet.h"

#define SCHEMA_CACHE_MAX 256
#define KV_PREFIX "strata.record."

/* ---- the schema a record was created with ---- */

static int schema_from_json(const char *json, const char *id, st_schema_t **out) {
    int rc = st_schema_parse(json, strlen(json), id, out);
    if (rc) return st_error_prefix(ST_ECORRUPT, "%s: schema kept in the create event", id);
    return ST_OK;
}

static int compact_schema(const st_schema_t *schema, char **out) {
    st_buf_t b = ST_BUF_INIT;
    int rc = st_schema_to_json(schema, &b);
    json_t *o = rc ? NULL : json_loadb((const char *)b.data, b.len, 0, NULL);
    st_buf_free(&b);
    if (rc) return rc;
    if (!o) return st_error(ST_EINVAL, "schema '%s' does not render as JSON", schema->name);
    *out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return *out ? ST_OK : st_error(ST_ENOMEM, "out of memory");
}

static int create_event_of(st_records_t *r, const char *id, rec_event_t *ev) {
    char *key = rec_log_key(r, id, 1);
    st_buf_t buf = ST_BUF_INIT;
    int rc = key ? st_store_get(r->store, key, &buf, NULL) : st_error(ST_ENOMEM, "out of memory");
    if (rc == ST_ENOTFOUND) rc = st_error(ST_ENOTFOUND, "Record does not exist: %s", id);
    if (!rc) rc = rec_event_parse((const char *)buf.data, buf.len, "log event 1", ev);
    if (!rc && ev->e.kind != ST_EVENT_CREATE) {
        rec_event_clear(ev);
        rc = st_error(ST_ECORRUPT, "%s: log event 1 is not a create event", id);
    }
    st_buf_free(&buf);
    free(key);
    return rc;
}

static void schema_entry_unref(rec_schema_cache_t *c) {
    if (--c->refs > 0) return;
    free(c->record_id);
    free(c->table_name);
    st_schema_free(c->schema);
    free(c);
}

/* Caches the schema (taking it) unless it is there; beyond the bound the
 * least recently used entry leaves, freed once no update holds it. */
static void cache_put(st_records_t *r, const char *id, const char *table, st_schema_t **schema) {
    pthread_mutex_lock(&r->mu);
    bool have = false;
    for (rec_schema_cache_t *c = r->schemas; c && !have; c = c->next)
        have = !strcmp(c->record_id, id);
    rec_schema_cache_t *c = NULL;
    if (!have && (c = calloc(1, sizeof *c))) {
        c->record_id = strdup(id);
        c->table_name = strdup(table ? table : "");
        if (c->record_id && c->table_name) {
            c->schema = *schema;
            *schema = NULL;
            c->refs = 1;
            c->next = r->schemas;
            r->schemas = c;
            if (++r->nschemas > SCHEMA_CACHE_MAX) {
                rec_schema_cache_t **pp = &r->schemas;
                while ((*pp)->next)
                    pp = &(*pp)->next;
                rec_schema_cache_t *old = *pp;
                *pp = NULL;
                r->nschemas--;
                schema_entry_unref(old);
            }
        } else {
            free(c->record_id);
            free(c->table_name);
            free(c);
        }
    }
    pthread_mutex_unlock(&r->mu);
}

/* The entry of id, held (and moved first), or NULL. */
static rec_schema_cache_t *cache_get(st_records_t *r, const char *id) {
    rec_schema_cache_t *found = NULL;
    pthread_mutex_lock(&r->mu);
    for (rec_schema_cache_t **pp = &r->schemas; *pp; pp = &(*pp)->next)
        if (!strcmp((*pp)->record_id, id)) {
            found = *pp;
            *pp = found->next;
            found->next = r->schemas;
            r->schemas = found;
            found->refs++;
            break;
        }
    pthread_mutex_unlock(&r->mu);
    return found;
}

void rec_record_schema_done(st_records_t *r, rec_schema_cache_t *hold) {
    if (!hold) return;
    pthread_mutex_lock(&r->mu);
    schema_entry_unref(hold);
    pthread_mutex_unlock(&r->mu);
}

int rec_record_schema(st_records_t *r, const char *id, const st_schema_t **schema,
                      rec_schema_cache_t **hold) {
    *schema = NULL;
    if ((*hold = cache_get(r, id))) {
        *schema = (*hold)->schema;
        return ST_OK;
    }
    rec_event_t ev;
    int rc = create_event_of(r, id, &ev);
    st_schema_t *s = NULL;
    if (!rc) rc = schema_from_json(ev.schema_json, id, &s);
    if (!rc) {
        cache_put(r, id, ev.table_name, &s);
        if ((*hold = cache_get(r, id))) *schema = (*hold)->schema;
        else rc = st_error(ST_ENOMEM, "out of memory");
    }
    st_schema_free(s);
    rec_event_clear(&ev);
    return rc;
}

int st_record_schema(st_records_t *r, const char *record_id, st_schema_t **out) {
    *out = NULL;
    int rc = st_record_id_validate(record_id);
    if (rc) return rc;
    rec_event_t ev;
    if ((rc = create_event_of(r, record_id, &ev))) return rc;
    rc = schema_from_json(ev.schema_json, record_id, out);
    rec_event_clear(&ev);
    return rc;
}

/* ---- checks ---- */

static int check_user(const char *who, const char *role) {
    if (!who || !*who) return st_error(ST_EINVAL, "%s is required (a user id)", role);
    if (strlen(who) > 256) return st_error(ST_EINVAL, "%s is longer than 256 bytes", role);
    if (!st_utf8_valid((const uint8_t *)who, strlen(who)))
        return st_error(ST_EINVAL, "%s is not valid UTF-8", role);
    return ST_OK;
}

static int check_comment(const char *comment) {
    if (comment && !st_utf8_valid((const uint8_t *)comment, strlen(comment)))
        return st_error(ST_EINVAL, "comment is not valid UTF-8");
    if (comment && strlen(comment) > 65536)
        return st_error(ST_EINVAL, "comment is longer than 64 KiB");
    return ST_OK;
}

static int validate_batch(const char *id, const st_schema_t *schema, const st_batch_t *batch) {
    if (!batch) return st_error(ST_EINVAL, "%s: no data", id);
    if (batch->ncols != schema->nfields)
        return st_error(ST_EVALIDATION, "%s: the data has %d columns, table %s has %d fields", id,
                        batch->ncols, schema->name, schema->nfields);
    for (int i = 0; i < batch->ncols; i++) {
        const st_field_t *a = &batch->cols[i].field, *b = &schema->fields[i].field;
        if (strcmp(a->name, b->name) || !st_type_equal(&a->type, &b->type)) {
            char ta[64], tb[64];
            st_type_format(&a->type, ta, sizeof ta);
            st_type_format(&b->type, tb, sizeof tb);
            return st_error(ST_EVALIDATION,
                            "%s: column %d of the data is '%s' (%s), table %s expects '%s' (%s)",
                            id, i + 1, a->name, ta, schema->name, b->name, tb);
        }
    }
    st_validator_t *v;
    int rc = st_validator_new(schema, 20, &v);
    if (rc) return rc;
    rc = st_validator_check(v, batch);
    if (rc == ST_EVALIDATION) {
        st_buf_t rep = ST_BUF_INIT;
        if (!st_validator_report(v, &rep) && st_buf_append_byte(&rep, 0) == ST_OK) {
            size_t n = rep.len > 1 ? rep.len - 2 : 0; /* drop the final newline */
            rc = st_error(ST_EVALIDATION, "%s: data violates table %s: %.*s", id, schema->name,
                          (int)n, (const char *)rep.data);
        }
        st_buf_free(&rep);
    }
    st_validator_free(v);
    return rc;
}

/* ---- version files ---- */

static int64_t event_time(const rec_state_t *st) {
    int64_t now = st_now_us();
    /* Keep times non-decreasing along the log, so "as of" reads agree with
     * the order of events even when clocks of writers differ a little. */
    if (st && st->log_seq > 0 && now < st->at_us) now = st->at_us;
    return now;
}

static int kv(st_pq_writer_t *w, const char *k, const char *v) {
    char key[64];
    snprintf(key, sizeof key, KV_PREFIX "%s", k);
    return st_pq_writer_add_kv(w, key, v ? v : "");
}

/* The Parquet bytes of a version, carrying in its footer everything its event
 * needs, so that any process can commit the event for it later. */
static int serialize_version(const rec_event_t *ev, const st_schema_t *schema,
                             const st_batch_t *batch, st_buf_t *out) {
    st_pq_sink_t sink;
    int rc = st_pq_sink_buf(out, "version", &sink);
    if (rc) return rc;
    st_pq_write_opts_t o;
    st_pq_write_opts_default(&o);
    st_pq_writer_t *w;
    if ((rc = st_pq_writer_open(&sink, st_schema_fields(schema), schema->nfields, &o, &w)))
        return rc;
    char at[40], ver[16];
    rec_format_time(ev->e.at_us, at);
    snprintf(ver, sizeof ver, "%d", ev->e.version);
    if (!rc) rc = kv(w, "record_id", ev->record_id);
    if (!rc) rc = kv(w, "version", ver);
    if (!rc) rc = kv(w, "kind", rec_event_kind_name(ev->e.kind));
    if (!rc) rc = kv(w, "by", ev->e.by);
    if (!rc) rc = kv(w, "at", at);
    if (!rc) rc = kv(w, "comment", ev->e.comment);
    if (!rc) rc = kv(w, "table_name", ev->table_name);
    if (!rc && ev->schema_json) rc = kv(w, "schema", ev->schema_json);
    if (!rc) rc = st_pq_writer_write(w, batch);
    if (rc) {
        st_pq_writer_abort(w);
        return rc;
    }
    return st_pq_writer_close(w);
}

/* The event for a version file nobody committed, rebuilt from its footer. */
static int event_from_orphan(st_records_t *r, const char *id, int version, rec_event_t *ev) {
    memset(ev, 0, sizeof *ev);
    char *key = rec_version_key(r, id, version);
    st_buf_t buf = ST_BUF_INIT;
    int rc = key ? st_store_get(r->store, key, &buf, NULL) : st_error(ST_ENOMEM, "out of memory");
    st_pq_source_t src;
    st_pq_file_t *f = NULL;
    if (!rc) rc = st_pq_source_mem(buf.data, buf.len, key, &src);
    if (!rc) rc = st_pq_open(&src, &f);
    const char *kind = f ? st_pq_kv(f, KV_PREFIX "kind") : NULL;
    const char *at = f ? st_pq_kv(f, KV_PREFIX "at") : NULL;
    const char *by = f ? st_pq_kv(f, KV_PREFIX "by") : NULL;
    const char *rid = f ? st_pq_kv(f, KV_PREFIX "record_id") : NULL;
    if (!rc && (!kind || !at || !by || !rid || strcmp(rid, id) ||
                rec_event_kind_parse(kind, &ev->e.kind) ||
                st_parse_timestamp(at, 6, &ev->e.at_us) ||
                (ev->e.kind != ST_EVENT_CREATE && ev->e.kind != ST_EVENT_UPDATE) ||
                (ev->e.kind == ST_EVENT_CREATE) != (version == 1)))
        rc = st_error(ST_ECORRUPT, "%s: no event adds this version and its footer does not say "
                                   "who wrote it",
                      key);
    if (!rc) {
        const char *c = st_pq_kv(f, KV_PREFIX "comment"), *t = st_pq_kv(f, KV_PREFIX "table_name");
        const char *s = st_pq_kv(f, KV_PREFIX "schema");
        ev->e.version = version;
        ev->e.status = ST_RECORD_DRAFT;
        ev->e.by = strdup(by);
        ev->e.comment = strdup(c ? c : "");
        ev->record_id = strdup(id);
        ev->table_name = t ? strdup(t) : NULL;
        ev->schema_json = s ? strdup(s) : NULL;
        ev->version_size = (int64_t)buf.len;
        st_sha256_hex(buf.data, buf.len, ev->e.version_sha256);
        if (!ev->e.by || !ev->e.comment || !ev->record_id)
            rc = st_error(ST_ENOMEM, "out of memory");
        if (!rc && ev->e.kind == ST_EVENT_CREATE && (!ev->table_name || !ev->schema_json))
            rc = st_error(ST_ECORRUPT, "%s: a first version without its table and schema", key);
    }
    st_pq_close(f);
    st_buf_free(&buf);
    free(key);
    if (rc) rec_event_clear(ev);
    return rc;
}

/* ---- committing events ---- */

static int refuse_damaged(const char *id, const rec_state_t *st) {
    return st_error(ST_ECORRUPT, "%s: %s; nothing written (run 'strata record verify')", id,
                    st->damage ? st->damage : "the log is damaged");
}

/* Appends ev at the end of the log, moving past events others commit first.
 * For version events it succeeds once any event adds the version with the
 * same file (someone may complete our commit for us). For approve / reject
 * it returns ST_ECONFLICT (no message) when it loses: the caller judges the
 * new state. st is rolled forward to include what was committed. */
static int commit_event(st_records_t *r, const char *id, rec_state_t *st, rec_event_t *ev) {
    bool adds = ev->e.kind == ST_EVENT_CREATE || ev->e.kind == ST_EVENT_UPDATE;
    st_buf_t buf = ST_BUF_INIT;
    int rc;
    for (;;) {
        ev->e.seq = st->log_seq + 1;
        snprintf(ev->e.prev_sha256, sizeof ev->e.prev_sha256, "%s", st->log_sha256);
        st_buf_reset(&buf);
        if ((rc = rec_event_render(ev, &buf))) break;
        char *key = rec_log_key(r, id, ev->e.seq);
        if (!key) {
            rc = st_error(ST_ENOMEM, "out of memory");
            break;
        }
        st_put_opts_t o = {.mode = ST_PUT_IF_ABSENT, .content_type = "application/json"};
        rc = st_store_put(r->store, key, buf.data, buf.len, &o, NULL);
        free(key);
        if (!rc) {
            char sha[65];
            st_sha256_hex(buf.data, buf.len, sha);
            rc = rec_state_apply(st, ev, sha);
            break;
        }
        if (rc != ST_ECONFLICT) break;
        st_error_clear();
        if ((rc = rec_state_roll_forward(r, id, st))) break;
        if (st->damaged) {
            rc = refuse_damaged(id, st);
            break;
        }
        if (!adds) {
            rc = ST_ECONFLICT;
            break;
        }
        const st_record_event_t *e = rec_state_version_event(st, ev->e.version);
        if (e) {
            rc = strcmp(e->version_sha256, ev->e.version_sha256)
                     ? st_error(ST_ECONFLICT, "%s: version %d was committed with other data", id,
                                ev->e.version)
                     : ST_OK;
            break;
        }
    }
    st_buf_free(&buf);
    return rc;
}

static void save_snapshot(st_records_t *r, const char *id, const rec_state_t *st) {
    /* metadata.json is a cache of the log: the change is already committed,
     * and the next writer or reader rolls forward past a stale snapshot. */
    rec_state_cache_store(r, id, st);
    if (rec_state_save(r, id, st)) st_error_clear();
}

static int lost_version(const char *id, const rec_state_t *st, int version, int code) {
    const st_record_event_t *e = rec_state_version_event(st, version);
    char at[40] = "";
    if (e) rec_format_time(e->at_us, at);
    if (code == ST_EEXIST)
        return st_error(ST_EEXIST, "Record already exists: %s (created by %s at %s)", id,
                        e ? e->by : "?", at);
    return st_error(ST_ECONFLICT, "Version %d was created by %s at %s (record %s is now v%d, %s)",
                    version, e ? e->by : "?", at, id, st->s.current_version,
                    st_record_status_name(st->s.status));
}

/* The version file of ev is already there: either committed (we lost the
 * race) or an orphan of a writer that stopped before its commit, which we
 * complete on its behalf. Either way the caller lost the version. */
static int version_taken(st_records_t *r, const char *id, rec_state_t **stp, int version,
                         int code) {
    int rc;
    if (!*stp && (rc = rec_state_new(id, stp))) return rc;
    rec_state_t *st = *stp;
    if ((rc = rec_state_roll_forward(r, id, st))) return rc;
    if (st->damaged) return refuse_damaged(id, st);
    /* The events after the head this writer loaded are all held (partial
     * states keep what they roll forward over), and version was the next
     * one then: whoever added it did so in one of them. */
    rec_state_cache_store(r, id, st);
    if (!rec_state_version_event(st, version)) {
        rec_event_t ev;
        if ((rc = event_from_orphan(r, id, version, &ev))) return rc;
        rc = commit_event(r, id, st, &ev);
        rec_event_clear(&ev);
        if (rc) return rc;
        save_snapshot(r, id, st);
    }
    return lost_version(id, st, version, code);
}

static int add_version(st_records_t *r, const char *id, rec_state_t **stp, rec_event_t *ev,
                       const st_schema_t *schema, const st_batch_t *batch, int *version) {
    int code = ev->e.kind == ST_EVENT_CREATE ? ST_EEXIST : ST_ECONFLICT;
    st_buf_t pq = ST_BUF_INIT;
    int rc = serialize_version(ev, schema, batch, &pq);
    char *key = rc ? NULL : rec_version_key(r, id, ev->e.version);
    if (!rc && !key) rc = st_error(ST_ENOMEM, "out of memory");
    if (!rc) {
        st_sha256_hex(pq.data, pq.len, ev->e.version_sha256);
        ev->version_size = (int64_t)pq.len;
        st_put_opts_t o = {.mode = ST_PUT_IF_ABSENT,
                           .content_type = "application/vnd.apache.parquet"};
        rc = st_store_put(r->store, key, pq.data, pq.len, &o, NULL);
        if (rc == ST_ECONFLICT) {
            st_error_clear();
            rc = version_taken(r, id, stp, ev->e.version, code);
        } else if (!rc) {
            if (!*stp) rc = rec_state_new(id, stp);
            if (!rc) rc = commit_event(r, id, *stp, ev);
            if (!rc) save_snapshot(r, id, *stp);
            if (!rc && version) *version = ev->e.version;
        }
    }
    free(key);
    st_buf_free(&pq);
    return rc;
}

int st_record_create(st_records_t *r, const char *record_id, const st_batch_t *batch,
                     const char *table_name, const st_schema_t *schema, const char *created_by,
                     const char *comment, int *version) {
    int rc;
    if (!r) return st_error(ST_EINVAL, "records: no handle");
    if ((rc = st_record_id_validate(record_id)) || (rc = check_user(created_by, "created_by")) ||
        (rc = check_comment(comment)))
        return rc;
    const st_schema_t *use = schema;
    if (!use) {
        if (!table_name || !*table_name)
            return st_error(ST_EINVAL, "%s: give a table name or a schema", record_id);
        if ((rc = st_registry_get(r->registry, table_name, &use))) return rc;
    }
    /* Work from the schema as the event will keep it, so that later updates
     * validate exactly as this create does. */
    rec_event_t ev;
    memset(&ev, 0, sizeof ev);
    st_schema_t *kept = NULL;
    rec_state_t *st = NULL;
    rc = compact_schema(use, &ev.schema_json);
    if (!rc) rc = schema_from_json(ev.schema_json, record_id, &kept);
    char *lkey = rc ? NULL : rec_log_key(r, record_id, 1);
    if (!rc && !lkey) rc = st_error(ST_ENOMEM, "out of memory");
    if (!rc) {
        rc = st_store_head(r->store, lkey, NULL);
        if (!rc) {
            rc = rec_state_new(record_id, &st);
            if (!rc) rc = rec_state_roll_forward(r, record_id, st);
            if (!rc) rc = lost_version(record_id, st, 1, ST_EEXIST);
        } else if (rc == ST_ENOTFOUND) {
            st_error_clear();
            rc = ST_OK;
        }
    }
    free(lkey);
    if (!rc) rc = validate_batch(record_id, kept, batch);
    if (!rc) {
        ev.e.kind = ST_EVENT_CREATE;
        ev.e.version = 1;
        ev.e.status = ST_RECORD_DRAFT;
        ev.e.at_us = event_time(NULL);
        ev.e.by = strdup(created_by);
        ev.e.comment = strdup(comment ? comment : "");
        ev.record_id = strdup(record_id);
        ev.table_name = strdup(table_name && *table_name ? table_name : use->name);
        if (!ev.e.by || !ev.e.comment || !ev.record_id || !ev.table_name)
            rc = st_error(ST_ENOMEM, "out of memory");
    }
    if (!rc) rc = add_version(r, record_id, &st, &ev, kept, batch, version);
    if (!rc) cache_put(r, record_id, ev.table_name, &kept);
    st_schema_free(kept);
    rec_event_clear(&ev);
    rec_state_free(st);
    return rc;
}

int st_record_update(st_records_t *r, const char *record_id, const st_batch_t *batch,
                     const char *updated_by, const char *comment, int *version) {
    int rc;
    if (!r) return st_error(ST_EINVAL, "records: no handle");
    if ((rc = st_record_id_validate(record_id)) || (rc = check_user(updated_by, "updated_by")) ||
        (rc = check_comment(comment)))
        return rc;
    rec_state_t *st = NULL;
    if ((rc = rec_head_load(r, record_id, &st))) return rc;
    const st_schema_t *schema = NULL;
    rec_schema_cache_t *hold = NULL;
    rec_event_t ev;
    memset(&ev, 0, sizeof ev);
    if (st->damaged) rc = refuse_damaged(record_id, st);
    else if (st->s.current_version >= REC_MAX_VERSION)
        rc = st_error(ST_EINVAL, "%s: no more versions", record_id);
    if (!rc) rc = rec_record_schema(r, record_id, &schema, &hold);
    if (!rc) rc = validate_batch(record_id, schema, batch);
    if (!rc) {
        ev.e.kind = ST_EVENT_UPDATE;
        ev.e.version = st->s.current_version + 1;
        ev.e.status = ST_RECORD_DRAFT;
        ev.e.at_us = event_time(st);
        ev.e.by = strdup(updated_by);
        ev.e.comment = strdup(comment ? comment : "");
        ev.record_id = strdup(record_id);
        ev.table_name = strdup(st->s.table_name ? st->s.table_name : "");
        if (!ev.e.by || !ev.e.comment || !ev.record_id || !ev.table_name)
            rc = st_error(ST_ENOMEM, "out of memory");
    }
    if (!rc) rc = add_version(r, record_id, &st, &ev, schema, batch, version);
    rec_event_clear(&ev);
    rec_record_schema_done(r, hold);
    rec_state_free(st);
    return rc;
}

/* ---- approve / reject ---- */

static int refuse_decision(const char *id, const rec_state_t *st, st_record_event_kind_t kind) {
    const st_record_state_t *s = &st->s;
    char at[40];
    bool approve = kind == ST_EVENT_APPROVE;
    if (s->status == ST_RECORD_APPROVED) {
        rec_format_time(s->approved_at_us, at);
        return st_error(ST_ECONFLICT, "%s: %s v%d was approved by %s at %s",
                        approve ? "Already approved" : "Cannot reject approved", id,
                        s->current_version, s->approved_by, at);
    }
    if (s->status == ST_RECORD_REJECTED) {
        rec_format_time(s->rejected_at_us, at);
        return st_error(ST_ECONFLICT, "%s: %s v%d was rejected by %s at %s",
                        approve ? "Cannot approve rejected" : "Already rejected", id,
                        s->current_version, s->rejected_by, at);
    }
    return ST_OK;
}

static int decide(st_records_t *r, const char *id, const char *by, const char *comment,
                  st_record_event_kind_t kind) {
    int rc;
    if (!r) return st_error(ST_EINVAL, "records: no handle");
    const char *role = kind == ST_EVENT_APPROVE ? "approved_by" : "rejected_by";
    if ((rc = st_record_id_validate(id)) || (rc = check_user(by, role)) ||
        (rc = check_comment(comment)))
        return rc;
    rec_state_t *st = NULL;
    if ((rc = rec_head_load(r, id, &st))) return rc;
    int seen_version = st->s.current_version;
    rec_event_t ev;
    memset(&ev, 0, sizeof ev);
    if (st->damaged) rc = refuse_damaged(id, st);
    if (!rc) rc = refuse_decision(id, st, kind);
    if (!rc && kind == ST_EVENT_APPROVE && r->approver_not_author) {
        if (st->version_by && !strcmp(st->version_by, by))
            rc = st_error(ST_ECONFLICT,
                          "Approver is the author of %s v%d: %s may not approve their own version",
                          id, seen_version, by);
    }
    if (!rc) {
        ev.e.kind = kind;
        ev.e.version = seen_version;
        ev.e.status = kind == ST_EVENT_APPROVE ? ST_RECORD_APPROVED : ST_RECORD_REJECTED;
        ev.e.at_us = event_time(st);
        ev.e.by = strdup(by);
        ev.e.comment = strdup(comment ? comment : "");
        ev.record_id = strdup(id);
        if (!ev.e.by || !ev.e.comment || !ev.record_id) rc = st_error(ST_ENOMEM, "out of memory");
    }
    if (!rc) {
        rc = commit_event(r, id, st, &ev);
        if (rc == ST_ECONFLICT) rec_state_cache_store(r, id, st);
        if (rc == ST_ECONFLICT && !(rc = refuse_decision(id, st, kind))) {
            /* Still a draft, but not the one we saw: a newer version came in. */
            char at[40] = "";
            if (st->version_by) rec_format_time(st->version_at_us, at);
            rc = st_error(ST_ECONFLICT, "Record changed: %s is now v%d (draft) by %s at %s", id,
                          st->s.current_version, st->version_by ? st->version_by : "?", at);
        }
        if (!rc) save_snapshot(r, id, st);
    }
    rec_event_clear(&ev);
    rec_state_free(st);
    return rc;
}

int st_record_approve(st_records_t *r, const char *record_id, const char *approved_by,
                      const char *comment) {
    return decide(r, record_id, approved_by, comment, ST_EVENT_APPROVE);
}

int st_record_reject(st_records_t *r, const char *record_id, const char *rejected_by,
                     const char *comment) {
    return decide(r, record_id, rejected_by, comment, ST_EVENT_REJECT);
}
