/* Record handles, keys, names of statuses and event kinds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/record_internal.h"

const char *st_record_status_name(st_record_status_t s) {
    switch (s) {
    case ST_RECORD_DRAFT: return "draft";
    case ST_RECORD_APPROVED: return "approved";
    case ST_RECORD_REJECTED: return "rejected";
    }
    return "unknown";
}

int st_record_status_parse(const char *text, st_record_status_t *out) {
    static const st_record_status_t all[] = {ST_RECORD_DRAFT, ST_RECORD_APPROVED,
                                             ST_RECORD_REJECTED};
    for (size_t i = 0; text && i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(text, st_record_status_name(all[i]))) {
            *out = all[i];
            return ST_OK;
        }
    return st_error(ST_EINVAL, "unknown record status '%s' (draft, approved or rejected)",
                    text ? text : "");
}

const char *rec_event_kind_name(st_record_event_kind_t k) {
    switch (k) {
    case ST_EVENT_CREATE: return "create";
    case ST_EVENT_UPDATE: return "update";
    case ST_EVENT_APPROVE: return "approve";
    case ST_EVENT_REJECT: return "reject";
    }
    return "unknown";
}

int rec_event_kind_parse(const char *text, st_record_event_kind_t *out) {
    static const st_record_event_kind_t all[] = {ST_EVENT_CREATE, ST_EVENT_UPDATE,
                                                 ST_EVENT_APPROVE, ST_EVENT_REJECT};
    for (size_t i = 0; text && i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(text, rec_event_kind_name(all[i]))) {
            *out = all[i];
            return ST_OK;
        }
    return ST_EINVAL;
}

void rec_format_time(int64_t us, char out[40]) { st_format_timestamp(us, 6, true, out, 40); }

int st_record_id_validate(const char *id) {
    if (!id || !*id) return st_error(ST_EINVAL, "record id is empty");
    size_t n = strlen(id);
    if (n > 200) return st_error(ST_EINVAL, "record id '%.40s...' is longer than 200 bytes", id);
    if (id[0] == '.') return st_error(ST_EINVAL, "record id '%s' starts with '.'", id);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok)
            return st_error(ST_EINVAL,
                            "record id '%.*s': byte %zu is not a letter, digit, '-', '_' or '.'",
                            (int)(n < 60 ? n : 60), c < 0x20 ? "(control)" : id, i + 1);
    }
    return ST_OK;
}

static bool root_ok(const char *root) {
    return *root && st_key_validate(root) == ST_OK && root[strlen(root) - 1] != '/';
}

int st_records_open(st_store_t *store, const st_records_opts_t *opts, st_records_t **out) {
    *out = NULL;
    if (!store) return st_error(ST_EINVAL, "records: no store");
    int rc = st_store_require(store, ST_CAP_PUT_IF_ABSENT, "versioned records");
    if (rc) return rc;
    const char *root = opts && opts->root ? opts->root : "records";
    if (!root_ok(root))
        return st_error(ST_EINVAL, "records: root '%s' is not a valid key prefix", root);
    st_records_t *r = calloc(1, sizeof *r);
    if (!r || !(r->root = strdup(root))) {
        free(r);
        return st_error(ST_ENOMEM, "out of memory");
    }
    r->store = store;
    r->approver_not_author = opts && opts->approver_not_author;
    if (opts && opts->registry) {
        r->registry = opts->registry;
    } else if ((rc = st_registry_open(NULL, &r->own_registry))) {
        free(r->root);
        free(r);
        return rc;
    } else {
        r->registry = r->own_registry;
    }
    pthread_mutex_init(&r->mu, NULL);
    *out = r;
    return ST_OK;
}

void st_records_close(st_records_t *r) {
    if (!r) return;
    for (rec_schema_cache_t *c = r->schemas, *next; c; c = next) {
        next = c->next;
        free(c->record_id);
        free(c->table_name);
        st_schema_free(c->schema);
        free(c);
    }
    rec_state_cache_free(r);
    pthread_mutex_destroy(&r->mu);
    st_registry_free(r->own_registry);
    free(r->root);
    free(r);
}

char *rec_key(const st_records_t *r, const char *id, const char *suffix) {
    size_t n = strlen(r->root) + strlen(id) + strlen(suffix) + 3;
    char *k = malloc(n);
    if (k) snprintf(k, n, "%s/%s/%s", r->root, id, suffix);
    return k;
}

char *rec_log_key(const st_records_t *r, const char *id, int64_t seq) {
    char suffix[40];
    snprintf(suffix, sizeof suffix, "log/%010lld.json", (long long)seq);
    return rec_key(r, id, suffix);
}

char *rec_version_key(const st_records_t *r, const char *id, int version) {
    char suffix[40];
    snprintf(suffix, sizeof suffix, "versions/v%d.parquet", version);
    return rec_key(r, id, suffix);
}

char *rec_meta_key(const st_records_t *r, const char *id) { return rec_key(r, id, "metadata.json"); }

char *st_record_version_key(const st_records_t *r, const char *record_id, int version) {
    if (!r || st_record_id_validate(record_id) || version < 1) return NULL;
    return rec_version_key(r, record_id, version);
}
