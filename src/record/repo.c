/* The repository handle: entity types from a config document, one record
 * handle per (entity type, project), and the changes, each wrapped so the
 * project's index follows it (see repo.h for the index protocol). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "record/repo_internal.h"

/* Entity types of the built-in schema pack: each names the table one version
 * of such a record holds. */
static const char builtin_config[] =
    "{\"entity_types\": {\n"
    "  \"borehole\": {\"table\": \"borehole\"},\n"
    "  \"borelog\": {\"table\": \"borelog_versions\"},\n"
    "  \"borelog_details\": {\"table\": \"borelog_details\"},\n"
    "  \"lab_report\": {\"table\": \"lab_report_versions\"},\n"
    "  \"unified_lab_report\": {\"table\": \"unified_lab_reports\"},\n"
    "  \"soil_test_sample\": {\"table\": \"soil_test_samples\"},\n"
    "  \"stratum_layer\": {\"table\": \"stratum_layers\"},\n"
    "  \"stratum_sample_point\": {\"table\": \"stratum_sample_points\"},\n"
    "  \"structure\": {\"table\": \"structure\"},\n"
    "  \"sub_structure\": {\"table\": \"sub_structures\"},\n"
    "  \"substructure_assignment\": {\"table\": \"substructure_assignments\"},\n"
    "  \"pending_csv_upload\": {\"table\": \"pending_csv_uploads\"}\n"
    "}}\n";

const char *st_repo_builtin_config(void) { return builtin_config; }

int repo_name_validate(const char *what, const char *name) {
    if (!name || !*name) return st_error(ST_EINVAL, "%s must not be empty", what);
    size_t n = strlen(name);
    if (n > 128) return st_error(ST_EINVAL, "%s '%.40s...' is longer than 128 bytes", what, name);
    if (name[0] == '.') return st_error(ST_EINVAL, "%s '%s' must not start with '.'", what, name);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok)
            return st_error(ST_EINVAL, "%s '%s': only letters, digits and -_. are allowed", what,
                            name);
    }
    return ST_OK;
}

static int cmp_entity(const void *a, const void *b) {
    return strcmp(((const repo_entity_t *)a)->name, ((const repo_entity_t *)b)->name);
}

static int load_config(st_repo_t *r, const char *text, size_t n, const char *origin) {
    json_error_t je;
    json_t *root = json_loadb(text, n, 0, &je);
    if (!root) return st_error(ST_EINVAL, "%s: line %d: %s", origin, je.line, je.text);
    json_t *types = json_object_get(root, "entity_types");
    int rc = ST_OK;
    if (!json_is_object(types)) {
        rc = st_error(ST_EINVAL, "%s: \"entity_types\" must be an object", origin);
        goto out;
    }
    size_t cnt = json_object_size(types);
    if (cnt == 0) {
        rc = st_error(ST_EINVAL, "%s: \"entity_types\" names no entity type", origin);
        goto out;
    }
    if (!(r->entities = calloc(cnt, sizeof *r->entities))) {
        rc = st_error(ST_ENOMEM, "out of memory");
        goto out;
    }
    const char *name;
    json_t *v;
    json_object_foreach(types, name, v) {
        json_t *t = json_object_get(v, "table");
        if ((rc = repo_name_validate("entity type", name))) {
            st_error_prefix(rc, "%s", origin);
            break;
        }
        if (!json_is_string(t)) {
            rc = st_error(ST_EINVAL, "%s: entity type '%s': \"table\" must be a string", origin,
                          name);
            break;
        }
        const st_schema_t *s;
        if ((rc = st_registry_get(r->registry, json_string_value(t), &s))) {
            st_error_prefix(rc, "%s: entity type '%s'", origin, name);
            rc = ST_EINVAL;
            break;
        }
        repo_entity_t *e = &r->entities[r->nentities];
        if (!(e->name = strdup(name)) || !(e->table = strdup(json_string_value(t)))) {
            free(e->name);
            rc = st_error(ST_ENOMEM, "out of memory");
            break;
        }
        r->nentities++;
    }
    if (!rc) qsort(r->entities, (size_t)r->nentities, sizeof *r->entities, cmp_entity);
out:
    json_decref(root);
    return rc;
}

void st_repo_close(st_repo_t *r) {
    if (!r) return;
    for (int i = 0; i < r->nslots; i++) {
        st_records_close(r->slots[i].records);
        free(r->slots[i].entity);
        free(r->slots[i].project);
    }
    free(r->slots);
    for (int i = 0; i < r->nentities; i++) {
        free(r->entities[i].name);
        free(r->entities[i].table);
    }
    free(r->entities);
    st_registry_free(r->own_registry);
    free(r->records_root);
    free(r->index_root);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

int st_repo_open(st_store_t *store, const st_repo_opts_t *opts, st_repo_t **out) {
    *out = NULL;
    st_repo_opts_t o;
    memset(&o, 0, sizeof o);
    if (opts) o = *opts;
    int rc = st_store_require(store, ST_CAP_PUT_IF_ABSENT, "repository");
    if (rc) return rc;
    const char *rroot = o.records_root ? o.records_root : "records";
    const char *iroot = o.index_root ? o.index_root : "repo";
    if ((rc = st_key_validate(rroot)) || (rc = st_key_validate(iroot))) return rc;
    st_repo_t *r = calloc(1, sizeof *r);
    if (!r) return st_error(ST_ENOMEM, "out of memory");
    pthread_mutex_init(&r->lock, NULL);
    r->store = store;
    r->approver_not_author = o.approver_not_author;
    r->compact_threshold = o.compact_threshold ? o.compact_threshold : 1000;
    r->pending_timeout_us = o.pending_timeout_us > 0 ? o.pending_timeout_us : 300000000;
    if (!(r->records_root = strdup(rroot)) || !(r->index_root = strdup(iroot))) {
        st_repo_close(r);
        return st_error(ST_ENOMEM, "out of memory");
    }
    r->registry = o.registry;
    if (!r->registry && !(rc = st_registry_open(NULL, &r->own_registry)))
        r->registry = r->own_registry;
    st_buf_t cfg = ST_BUF_INIT;
    char *origin = NULL;
    if (!rc && o.config_path) {
        rc = st_read_file(o.config_path, &cfg);
        origin = strdup(o.config_path);
    } else if (!rc) {
        size_t kl = strlen(iroot) + 16;
        char *key = malloc(kl);
        if (!key) rc = st_error(ST_ENOMEM, "out of memory");
        else {
            snprintf(key, kl, "%s/config.json", iroot);
            rc = st_store_get(store, key, &cfg, NULL);
            origin = st_store_object_url(store, key);
            free(key);
        }
        if (rc == ST_ENOTFOUND) {
            st_error_clear();
            st_buf_reset(&cfg);
            rc = st_buf_append_str(&cfg, builtin_config);
            free(origin);
            origin = strdup("built-in repository config");
        }
    }
    if (!rc) rc = load_config(r, (const char *)cfg.data, cfg.len, origin ? origin : "config");
    st_buf_free(&cfg);
    free(origin);
    if (rc) {
        st_repo_close(r);
        return rc;
    }
    *out = r;
    return ST_OK;
}

int st_repo_entity_count(const st_repo_t *r) { return r->nentities; }

void st_repo_entity_at(const st_repo_t *r, int i, const char **entity_type, const char **table) {
    *entity_type = r->entities[i].name;
    *table = r->entities[i].table;
}

int st_repo_entity_table(const st_repo_t *r, const char *entity_type, const char **table) {
    for (int i = 0; i < r->nentities; i++)
        if (!strcmp(r->entities[i].name, entity_type)) {
            *table = r->entities[i].table;
            return ST_OK;
        }
    st_buf_t known = ST_BUF_INIT;
    for (int i = 0; i < r->nentities; i++)
        st_buf_printf(&known, "%s%s", i ? ", " : "", r->entities[i].name);
    st_buf_append_byte(&known, 0);
    int rc = st_error(ST_ENOTFOUND, "Unknown entity type '%s' (known: %s)", entity_type,
                      known.data ? (const char *)known.data : "");
    st_buf_free(&known);
    return rc;
}

int st_repo_records(st_repo_t *r, const char *entity_type, const char *project,
                    st_records_t **out) {
    const char *table;
    int rc = st_repo_entity_table(r, entity_type, &table);
    if (!rc) rc = repo_name_validate("project", project);
    if (rc) return rc;
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < r->nslots; i++)
        if (!strcmp(r->slots[i].entity, entity_type) && !strcmp(r->slots[i].project, project)) {
            *out = r->slots[i].records;
            pthread_mutex_unlock(&r->lock);
            return ST_OK;
        }
    if (r->nslots == r->capslots) {
        int cap = r->capslots ? r->capslots * 2 : 8;
        repo_slot_t *ns = realloc(r->slots, (size_t)cap * sizeof *ns);
        if (!ns) {
            pthread_mutex_unlock(&r->lock);
            return st_error(ST_ENOMEM, "out of memory");
        }
        r->slots = ns;
        r->capslots = cap;
    }
    st_buf_t root = ST_BUF_INIT;
    rc = st_buf_printf(&root, "%s/%s/%s", r->records_root, entity_type, project);
    if (!rc) rc = st_buf_append_byte(&root, 0);
    st_records_opts_t ro = {(const char *)root.data, r->registry, r->approver_not_author};
    st_records_t *rec = NULL;
    if (!rc) rc = st_records_open(r->store, &ro, &rec);
    st_buf_free(&root);
    if (!rc) {
        repo_slot_t *s = &r->slots[r->nslots];
        s->entity = strdup(entity_type);
        s->project = strdup(project);
        s->records = rec;
        if (!s->entity || !s->project) {
            free(s->entity);
            free(s->project);
            st_records_close(rec);
            rc = st_error(ST_ENOMEM, "out of memory");
        } else {
            r->nslots++;
            *out = rec;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int repo_target(st_repo_t *r, const char *entity_type, const char *project, st_records_t **out) {
    return st_repo_records(r, entity_type, project, out);
}

/* ---- changes ------------------------------------------------------------- */

enum { OP_CREATE, OP_UPDATE, OP_APPROVE, OP_REJECT };

/* Runs one change between a pending marker and the marker of the state it
 * led to. The index is refreshed also when the change lost a race (the state
 * moved on: worth indexing). If indexing fails the pending marker stays, so
 * listings read this record from its log until a later change or reindex. */
static int change(st_repo_t *r, int op, const char *entity_type, const char *project,
                  const char *record_id, const st_batch_t *batch, const char *by,
                  const char *comment, int *version) {
    st_records_t *rec;
    int rc = repo_target(r, entity_type, project, &rec);
    if (!rc) rc = st_record_id_validate(record_id);
    if (rc) return rc;
    const char *table = NULL;
    if (op == OP_CREATE) st_repo_entity_table(r, entity_type, &table);
    char *dir = repo_index_dir(r, entity_type, project);
    if (!dir) return st_error(ST_ENOMEM, "out of memory");
    st_buf_t pending = ST_BUF_INIT;
    if ((rc = repo_pending_begin(r, dir, record_id, &pending))) {
        free(dir);
        st_buf_free(&pending);
        return rc;
    }
    switch (op) {
    case OP_CREATE:
        rc = st_record_create(rec, record_id, batch, table, NULL, by, comment, version);
        break;
    case OP_UPDATE: rc = st_record_update(rec, record_id, batch, by, comment, version); break;
    case OP_APPROVE: rc = st_record_approve(rec, record_id, by, comment); break;
    default: rc = st_record_reject(rec, record_id, by, comment); break;
    }
    bool indexed = true;
    if (rc == ST_OK || rc == ST_ECONFLICT || rc == ST_EEXIST) {
        char *msg = rc ? strdup(st_errmsg()) : NULL;
        /* The state the change committed (or lost to) is in the handle's
         * cache: no second read of the record. */
        st_record_head_t head, prev;
        int irc = st_record_head_seen(rec, record_id, &head, &prev);
        if (irc == ST_ENOTFOUND) {
            st_error_clear();
            irc = st_record_head(rec, record_id, &head, &prev);
        }
        if (!irc) irc = repo_index_head(r, dir, record_id, &head, &prev);
        indexed = irc == ST_OK;
        if (rc) st_error(rc, "%s", msg ? msg : "conflict");
        else st_error_clear();
        free(msg);
    } else if (rc == ST_EIO || rc == ST_EAUTH) {
        /* The change may have been committed before the failure. */
        indexed = false;
    }
    if (indexed) repo_pending_end(r, &pending);
    st_buf_free(&pending);
    free(dir);
    return rc;
}

int st_repo_create(st_repo_t *r, const char *entity_type, const char *project,
                   const char *record_id, const st_batch_t *batch, const char *by,
                   const char *comment, int *version) {
    return change(r, OP_CREATE, entity_type, project, record_id, batch, by, comment, version);
}

int st_repo_update(st_repo_t *r, const char *entity_type, const char *project,
                   const char *record_id, const st_batch_t *batch, const char *by,
                   const char *comment, int *version) {
    return change(r, OP_UPDATE, entity_type, project, record_id, batch, by, comment, version);
}

int st_repo_approve(st_repo_t *r, const char *entity_type, const char *project,
                    const char *record_id, const char *by, const char *comment) {
    return change(r, OP_APPROVE, entity_type, project, record_id, NULL, by, comment, NULL);
}

int st_repo_reject(st_repo_t *r, const char *entity_type, const char *project,
                   const char *record_id, const char *by, const char *comment) {
    return change(r, OP_REJECT, entity_type, project, record_id, NULL, by, comment, NULL);
}

/* ---- reads --------------------------------------------------------------- */

int st_repo_get(st_repo_t *r, const char *entity_type, const char *project,
                const char *record_id, const st_record_selector_t *sel, st_batch_t **out) {
    st_records_t *rec;
    int rc = repo_target(r, entity_type, project, &rec);
    if (rc) return rc;
    return st_record_read(rec, record_id, sel, out);
}

int st_repo_history(st_repo_t *r, const char *entity_type, const char *project,
                    const char *record_id, st_record_state_t **out) {
    st_records_t *rec;
    int rc = repo_target(r, entity_type, project, &rec);
    if (rc) return rc;
    return st_record_get_state(rec, record_id, out);
}
