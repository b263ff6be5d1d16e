/* Event files: one JSON object per log entry, written in a fixed key order
 * so that the bytes (and so the hash chain) are a function of the event. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "record/record_internal.h"

void rec_event_clear(rec_event_t *ev) {
    free(ev->e.by);
    free(ev->e.comment);
    free(ev->record_id);
    free(ev->table_name);
    free(ev->schema_json);
    memset(ev, 0, sizeof *ev);
}

static int add_key(st_buf_t *b, const char *key) {
    int rc = st_buf_printf(b, ",\"%s\":", key);
    return rc;
}

static int add_str(st_buf_t *b, const char *key, const char *v) {
    int rc = add_key(b, key);
    if (!rc) rc = st_json_append_string(b, v ? v : "", strlen(v ? v : ""));
    return rc;
}

int rec_event_render(const rec_event_t *ev, st_buf_t *out) {
    const st_record_event_t *e = &ev->e;
    char at[40];
    rec_format_time(e->at_us, at);
    bool adds = e->kind == ST_EVENT_CREATE || e->kind == ST_EVENT_UPDATE;
    int rc = st_buf_printf(out, "{\"seq\":%lld", (long long)e->seq);
    if (!rc) rc = add_str(out, "type", rec_event_kind_name(e->kind));
    if (!rc) rc = add_str(out, "record_id", ev->record_id);
    if (!rc) rc = st_buf_printf(out, ",\"version\":%d", e->version);
    if (!rc) rc = add_str(out, "status", st_record_status_name(e->status));
    if (!rc) rc = add_str(out, "by", e->by);
    if (!rc) rc = add_str(out, "at", at);
    if (!rc) rc = add_str(out, "comment", e->comment);
    if (!rc && e->kind == ST_EVENT_CREATE) {
        rc = add_str(out, "table_name", ev->table_name);
        if (!rc) rc = add_key(out, "schema");
        if (!rc) rc = st_buf_append_str(out, ev->schema_json ? ev->schema_json : "null");
    }
    if (!rc && adds) {
        rc = add_str(out, "version_sha256", e->version_sha256);
        if (!rc) rc = st_buf_printf(out, ",\"version_size\":%lld", (long long)ev->version_size);
    }
    if (!rc) rc = add_str(out, "prev_sha256", e->prev_sha256);
    if (!rc) rc = st_buf_append_str(out, "}\n");
    return rc;
}

static bool hex64(const char *s) {
    if (!s || strlen(s) != 64) return false;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

static int bad(const char *what, const char *why) {
    return st_error(ST_ECORRUPT, "%s: not a record event: %s", what, why);
}

static char *dup_str(json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return strdup(s ? s : "");
}

int rec_event_parse(const char *data, size_t n, const char *what, rec_event_t *out) {
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *o = json_loadb(data, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) return st_error(ST_ECORRUPT, "%s: not a record event: %s", what, jerr.text);
    int rc = ST_OK;
    st_record_event_t *e = &out->e;
    json_t *seq = json_object_get(o, "seq"), *ver = json_object_get(o, "version");
    const char *type = json_string_value(json_object_get(o, "type"));
    const char *status = json_string_value(json_object_get(o, "status"));
    const char *at = json_string_value(json_object_get(o, "at"));
    const char *prev = json_string_value(json_object_get(o, "prev_sha256"));
    if (!json_is_object(o)) {
        rc = bad(what, "not a JSON object");
    } else if (!json_is_integer(seq) || json_integer_value(seq) < 1) {
        rc = bad(what, "no valid \"seq\"");
    } else if (!json_is_integer(ver) || json_integer_value(ver) < 1 ||
               json_integer_value(ver) > REC_MAX_VERSION) {
        rc = bad(what, "no valid \"version\"");
    } else if (rec_event_kind_parse(type, &e->kind)) {
        rc = bad(what, "no valid \"type\"");
    } else if (st_record_status_parse(status, &e->status)) {
        rc = bad(what, "no valid \"status\"");
    } else if (!at || st_parse_timestamp(at, 6, &e->at_us)) {
        rc = bad(what, "no valid \"at\"");
    } else if (!json_is_string(json_object_get(o, "by")) ||
               !json_is_string(json_object_get(o, "record_id"))) {
        rc = bad(what, "no \"by\" or \"record_id\"");
    } else if (!prev || (*prev && !hex64(prev))) {
        rc = bad(what, "no valid \"prev_sha256\"");
    }
    if (!rc) {
        e->seq = json_integer_value(seq);
        e->version = (int)json_integer_value(ver);
        snprintf(e->prev_sha256, sizeof e->prev_sha256, "%s", prev);
        e->by = dup_str(o, "by");
        e->comment = dup_str(o, "comment");
        out->record_id = dup_str(o, "record_id");
        if (!e->by || !e->comment || !out->record_id) rc = st_error(ST_ENOMEM, "out of memory");
    }
    if (!rc && (e->kind == ST_EVENT_CREATE || e->kind == ST_EVENT_UPDATE)) {
        const char *vs = json_string_value(json_object_get(o, "version_sha256"));
        json_t *size = json_object_get(o, "version_size");
        if (!hex64(vs) || !json_is_integer(size) || json_integer_value(size) < 0)
            rc = bad(what, "no valid \"version_sha256\" / \"version_size\"");
        else {
            snprintf(e->version_sha256, sizeof e->version_sha256, "%s", vs);
            out->version_size = json_integer_value(size);
        }
    }
    if (!rc && e->kind == ST_EVENT_CREATE) {
        json_t *schema = json_object_get(o, "schema");
        const char *tn = json_string_value(json_object_get(o, "table_name"));
        if (!tn || !json_is_object(schema)) {
            rc = bad(what, "a create event without \"table_name\" and \"schema\"");
        } else {
            out->table_name = strdup(tn);
            out->schema_json = json_dumps(schema, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (!out->table_name || !out->schema_json) rc = st_error(ST_ENOMEM, "out of memory");
        }
    }
    json_decref(o);
    if (rc) rec_event_clear(out);
    return rc;
}
