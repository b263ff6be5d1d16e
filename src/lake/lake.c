/* The lake handle: opening (identity, index), validation of user input, data
 * types. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lake/lake_internal.h"

static const char *const builtin_types[] = {"schema", "macro",         "documentation",
                                            "configuration", "logs", "other"};
#define NBUILTIN (sizeof builtin_types / sizeof builtin_types[0])

bool st_lake_type_builtin(const char *type) {
    for (size_t i = 0; i < NBUILTIN; i++)
        if (type && !strcmp(type, builtin_types[i])) return true;
    return false;
}

/* st_key_validate's rules, reported as validation errors (they are the user's
 * input, not a programming error). */
static int key_rules(const char *what, const char *text) {
    if (st_key_validate(text) == ST_OK) return ST_OK;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", st_errmsg());
    return st_error(ST_EVALIDATION, "lake %s: %s", what, msg);
}

int lk_validate_name(const char *name) {
    if (!name || !*name) return st_error(ST_EVALIDATION, "lake entry name is empty");
    size_t n = strlen(name);
    if (n > ST_LAKE_NAME_MAX)
        return st_error(ST_EVALIDATION, "lake entry name is %zu bytes long (at most %d)", n,
                        ST_LAKE_NAME_MAX);
    if (strchr(name, '/'))
        return st_error(ST_EVALIDATION,
                        "lake entry name '%s' contains '/' (use a subpath for directories)", name);
    return key_rules("entry name", name);
}

int lk_validate_subpath(const char *subpath) {
    if (!subpath || !*subpath) return ST_OK;
    size_t n = strlen(subpath);
    if (n > ST_LAKE_SUBPATH_MAX)
        return st_error(ST_EVALIDATION, "lake subpath is %zu bytes long (at most %d)", n,
                        ST_LAKE_SUBPATH_MAX);
    return key_rules("subpath", subpath);
}

int lk_validate_id(const char *id) {
    uint8_t raw[16];
    if (!id || st_uuid_parse(id, raw) != ST_OK || strlen(id) != ST_UUID_STR_LEN)
        return st_error(ST_EVALIDATION, "lake entry id '%.80s' is not a UUID", id ? id : "");
    return ST_OK;
}

static bool type_syntax_ok(const char *t) {
    size_t n = strlen(t);
    if (n == 0 || n > ST_LAKE_TYPE_MAX || t[0] < 'a' || t[0] > 'z') return false;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool registered(st_lake_t *lake, const char *type) {
    for (size_t i = 0; i < lake->ntypes; i++)
        if (!strcmp(lake->types[i], type)) return true;
    return false;
}

/* Reads lake/.types/ into lake->types (caller holds the lock). */
static int load_types(st_lake_t *lake) {
    st_list_iter_t *it;
    int rc = st_store_list(lake->store, LK_TYPES_PREFIX, "/", &it);
    if (rc) return rc;
    const st_list_entry_t *e;
    while (!(rc = st_list_next(it, &e)) && e) {
        const char *t = e->key + strlen(LK_TYPES_PREFIX);
        if (e->is_prefix || !type_syntax_ok(t) || st_lake_type_builtin(t) || registered(lake, t))
            continue;
        char **grown = realloc(lake->types, (lake->ntypes + 1) * sizeof *grown);
        char *copy = strdup(t);
        if (!grown || !copy) {
            free(copy);
            if (grown) lake->types = grown;
            rc = st_error(ST_ENOMEM, "lake types: out of memory");
            break;
        }
        lake->types = grown;
        lake->types[lake->ntypes++] = copy;
    }
    st_list_close(it);
    return rc;
}

int lk_check_type(st_lake_t *lake, const char *type) {
    if (!type || !*type) return st_error(ST_EVALIDATION, "lake data type is empty");
    if (st_lake_type_builtin(type)) return ST_OK;
    pthread_mutex_lock(&lake->lock);
    bool known = registered(lake, type);
    /* Another process may have registered it since this handle looked. */
    int rc = known || !type_syntax_ok(type) ? ST_OK : load_types(lake);
    if (!rc) known = registered(lake, type);
    pthread_mutex_unlock(&lake->lock);
    if (rc) return rc;
    if (known) return ST_OK;
    st_buf_t list = ST_BUF_INIT;
    for (size_t i = 0; i < NBUILTIN; i++)
        st_buf_printf(&list, "%s%s", i ? ", " : "", builtin_types[i]);
    pthread_mutex_lock(&lake->lock);
    for (size_t i = 0; i < lake->ntypes; i++) st_buf_printf(&list, ", %s", lake->types[i]);
    pthread_mutex_unlock(&lake->lock);
    st_buf_append_byte(&list, 0);
    rc = st_error(ST_EVALIDATION, "lake data type '%.80s' is unknown (known: %s)", type,
                  list.data ? (char *)list.data : "");
    st_buf_free(&list);
    return rc;
}

int st_lake_register_type(st_lake_t *lake, const char *type) {
    if (!type || !type_syntax_ok(type))
        return st_error(ST_EVALIDATION,
                        "lake data type '%.80s': use lowercase letters, digits, '_' and '-', "
                        "starting with a letter, at most %d bytes",
                        type ? type : "", ST_LAKE_TYPE_MAX);
    if (st_lake_type_builtin(type)) return ST_OK;
    char key[128];
    snprintf(key, sizeof key, "%s%s", LK_TYPES_PREFIX, type);
    st_put_opts_t po = {.mode = ST_PUT_IF_ABSENT, .content_type = "text/plain"};
    int rc = st_store_put(lake->store, key, type, strlen(type), &po, NULL);
    if (rc == ST_ECONFLICT) rc = ST_OK; /* registered before: the same outcome */
    if (rc) return rc;
    pthread_mutex_lock(&lake->lock);
    rc = load_types(lake);
    pthread_mutex_unlock(&lake->lock);
    return rc;
}

void st_lake_types_free(char **types, size_t n) {
    for (size_t i = 0; i < n; i++) free(types[i]);
    free(types);
}

int st_lake_types(st_lake_t *lake, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&lake->lock);
    int rc = load_types(lake);
    size_t total = NBUILTIN + lake->ntypes;
    char **all = rc ? NULL : calloc(total, sizeof *all);
    if (!rc && !all) rc = st_error(ST_ENOMEM, "lake types: out of memory");
    for (size_t i = 0; !rc && i < total; i++) {
        all[i] = strdup(i < NBUILTIN ? builtin_types[i] : lake->types[i - NBUILTIN]);
        if (!all[i]) rc = st_error(ST_ENOMEM, "lake types: out of memory");
    }
    pthread_mutex_unlock(&lake->lock);
    if (rc) {
        if (all) st_lake_types_free(all, total);
        return rc;
    }
    *out = all;
    *n = total;
    return ST_OK;
}

/* ---- identity and index location ---- */

/* The lake's UUID from lake/.lake.json, created by the first opener. An index
 * remembers it, so a lake removed and created again at the same URL is not
 * mistaken for the one the index describes. */
static int load_identity(st_lake_t *lake) {
    for (int attempt = 0; attempt < 3; attempt++) {
        st_buf_t b = ST_BUF_INIT;
        int rc = st_store_get(lake->store, LK_IDENTITY_KEY, &b, NULL);
        if (rc == ST_OK) {
            json_t *j = json_loadb((const char *)b.data, b.len, 0, NULL);
            const char *u = json_string_value(json_object_get(j, "lake_id"));
            if (u && lk_validate_id(u) == ST_OK) snprintf(lake->uuid, sizeof lake->uuid, "%s", u);
            else rc = st_error(ST_ECORRUPT, "%s: no lake_id", LK_IDENTITY_KEY);
            json_decref(j);
            st_buf_free(&b);
            return rc;
        }
        st_buf_free(&b);
        if (rc != ST_ENOTFOUND) return rc;
        uint8_t raw[16];
        char id[ST_UUID_STR_LEN + 1], when[64];
        if ((rc = st_uuid_v4(raw))) return rc;
        st_uuid_format(raw, id);
        st_format_timestamp(st_now_us(), 6, true, when, sizeof when);
        char text[256];
        int n = snprintf(text, sizeof text, "{\"lake_id\":\"%s\",\"created_at\":\"%s\"}\n", id, when);
        st_put_opts_t po = {.mode = ST_PUT_IF_ABSENT, .content_type = "application/json"};
        rc = st_store_put(lake->store, LK_IDENTITY_KEY, text, (size_t)n, &po, NULL);
        if (rc == ST_OK) {
            memcpy(lake->uuid, id, sizeof lake->uuid);
            return ST_OK;
        }
        if (rc != ST_ECONFLICT) return rc; /* else another opener won: read theirs */
    }
    return st_error(ST_ECONFLICT, "%s: could not be read or created", LK_IDENTITY_KEY);
}

static int mkdir_p(char *path) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        int r = mkdir(path, 0700);
        *p = '/';
        if (r && errno != EEXIST) return -1;
    }
    return mkdir(path, 0700) && errno != EEXIST ? -1 : 0;
}

int st_lake_default_index_path(const char *store_url, char **out) {
    *out = NULL;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char dir[4096];
    if (xdg && *xdg == '/')
        snprintf(dir, sizeof dir, "%s/strata", xdg);
    else if (home && *home)
        snprintf(dir, sizeof dir, "%s/.cache/strata", home);
    else
        return st_error(ST_EINVAL, "lake index: neither XDG_CACHE_HOME nor HOME is set "
                                   "(give an index path)");
    if (mkdir_p(dir))
        return st_error(ST_EIO, "lake index directory %s: %s", dir, strerror(errno));
    char hex[ST_SHA256_HEX_LEN + 1];
    st_sha256_hex(store_url, strlen(store_url), hex);
    size_t cap = strlen(dir) + 64;
    char *p = malloc(cap);
    if (!p) return st_error(ST_ENOMEM, "lake index path: out of memory");
    snprintf(p, cap, "%s/lake-%.16s.sqlite", dir, hex);
    *out = p;
    return ST_OK;
}

const char *st_lake_index_path(const st_lake_t *lake) { return lake->index_path; }

int st_lake_open(st_store_t *store, const st_lake_opts_t *opts, st_lake_t **out) {
    *out = NULL;
    int rc = st_store_require(store, ST_CAP_PUT_IF_ABSENT | ST_CAP_PUT_IF_MATCH, "the lake");
    if (rc) return rc;
    st_lake_t *lake = calloc(1, sizeof *lake);
    if (!lake) return st_error(ST_ENOMEM, "lake: out of memory");
    lake->store = store;
    pthread_mutex_init(&lake->lock, NULL);
    pthread_mutex_init(&lake->jlock, NULL);
    lake->pending_tail = &lake->pending;
    const char *ip = opts && opts->index_path ? opts->index_path : getenv("STRATA_LAKE_INDEX");
    if (ip && *ip) {
        lake->index_path = strdup(ip);
        if (!lake->index_path) rc = st_error(ST_ENOMEM, "lake: out of memory");
    } else {
        rc = st_lake_default_index_path(st_store_url(store), &lake->index_path);
    }
    if (!rc) rc = load_identity(lake);
    if (!rc) rc = load_types(lake);
    if (!rc) rc = lk_index_open(lake);
    if (rc) {
        st_lake_close(lake);
        return rc;
    }
    *out = lake;
    return ST_OK;
}

void st_lake_close(st_lake_t *lake) {
    if (!lake) return;
    lk_index_close(lake);
    st_lake_types_free(lake->types, lake->ntypes);
    free(lake->index_path);
    pthread_mutex_destroy(&lake->lock);
    pthread_mutex_destroy(&lake->jlock);
    free(lake);
}
