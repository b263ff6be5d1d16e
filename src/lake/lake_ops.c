/* Store, retrieve, update, delete and purge entries: the store is the truth,
 * the index follows through lk_journal_commit. */
#include <stdlib.h>
#include <string.h>

#include "lake/lake_internal.h"

#define KEY_CAP (ST_KEY_MAX + 256)

static int oom(const char *what) { return st_error(ST_ENOMEM, "%s: out of memory", what); }

int lk_read_entry(st_lake_t *lake, const char *id, st_lake_entry_t *out, char *etag) {
    memset(out, 0, sizeof *out);
    int rc = lk_validate_id(id);
    if (rc) return rc;
    char key[KEY_CAP];
    lk_meta_key(id, key, sizeof key);
    st_buf_t b = ST_BUF_INIT;
    st_object_info_t info;
    rc = st_store_get(lake->store, key, &b, &info);
    if (rc == ST_ENOTFOUND) {
        st_buf_free(&b);
        return st_error(ST_ENOTFOUND, "lake entry %s: not found", id);
    }
    if (rc) {
        st_buf_free(&b);
        return rc;
    }
    if (etag) snprintf(etag, sizeof info.etag, "%s", info.etag);
    st_object_info_free(&info);
    rc = lk_entry_from_json((const char *)b.data, b.len, key, out);
    st_buf_free(&b);
    return rc;
}

static int put_entry(st_lake_t *lake, const st_lake_entry_t *e, st_put_mode_t mode,
                     const char *if_match) {
    char key[KEY_CAP];
    lk_meta_key(e->id, key, sizeof key);
    char *text = lk_entry_to_json(e);
    if (!text) return oom(key);
    st_put_opts_t po = {.mode = mode, .if_match = if_match, .content_type = "application/json"};
    int rc = st_store_put(lake->store, key, text, strlen(text), &po, NULL);
    free(text);
    if (rc == ST_ECONFLICT)
        return st_error(ST_ECONFLICT, "lake entry %s: changed by another writer meanwhile; retry",
                        e->id);
    return rc;
}

static int put_content(st_lake_t *lake, const st_lake_entry_t *e, const void *data, size_t len,
                       st_put_mode_t mode, const char *if_match) {
    st_meta_pair_t mp = {(char *)LK_ID_META, (char *)e->id};
    st_put_opts_t po = {.mode = mode,
                        .if_match = if_match,
                        .content_type = e->is_text ? "text/plain; charset=utf-8"
                                                   : "application/octet-stream",
                        .meta = &mp,
                        .nmeta = 1};
    return st_store_put(lake->store, e->path, data ? data : "", len, &po, NULL);
}

static int sha_of(const st_buf_t *b, char hex[ST_SHA256_HEX_LEN + 1]) {
    st_sha256_hex(b->data ? (const void *)b->data : "", b->len, hex);
    return ST_OK;
}

static const st_lake_version_t *find_version(const st_lake_entry_t *e, int version) {
    for (size_t i = 0; i < e->nversions; i++)
        if (e->versions[i].version == version) return &e->versions[i];
    return NULL;
}

/* Content of `version` into b, checked against its SHA-256. The current
 * version is read from the path; if that holds other bytes (an update
 * interrupted after its commit, or a late path write that lost to a newer
 * update), from the version's own copy. */
static int read_version(st_lake_t *lake, const st_lake_entry_t *e, int version, st_buf_t *b) {
    const st_lake_version_t *v = find_version(e, version);
    if (!v)
        return st_error(ST_ENOTFOUND, "lake entry %s: no version %d (versions 1 to %d)", e->id,
                        version, e->version);
    char hex[ST_SHA256_HEX_LEN + 1];
    int rc = ST_ENOTFOUND;
    if (version == e->version && !e->deleted) {
        rc = st_store_get(lake->store, e->path, b, NULL);
        if (!rc && sha_of(b, hex) == 0 && !strcmp(hex, v->sha256)) return ST_OK;
        if (rc && rc != ST_ENOTFOUND) return rc;
        st_buf_reset(b);
    }
    int rc2 = st_store_get(lake->store, v->key, b, NULL);
    if (rc2 == ST_ENOTFOUND)
        return st_error(rc == ST_OK ? ST_ECORRUPT : ST_ENOTFOUND,
                        "lake entry %s: content of version %d is %s", e->id, version,
                        rc == ST_OK ? "not what the entry records (SHA-256 differs)" : "missing");
    if (rc2) return rc2;
    sha_of(b, hex);
    if (strcmp(hex, v->sha256))
        return st_error(ST_ECORRUPT, "%s: content does not match its SHA-256 %.16s…", v->key,
                        v->sha256);
    return ST_OK;
}

static int attach_content(st_lake_entry_t *e, st_buf_t *b) {
    int rc = st_buf_append_byte(b, 0);
    if (rc) return rc;
    size_t n;
    e->content = st_buf_detach(b, &n);
    e->content_len = n - 1;
    return ST_OK;
}

int st_lake_retrieve_version(st_lake_t *lake, const char *id, int version, st_lake_entry_t *out) {
    int rc = lk_read_entry(lake, id, out, NULL);
    if (rc) return rc;
    st_buf_t b = ST_BUF_INIT;
    rc = read_version(lake, out, version, &b);
    if (!rc) rc = attach_content(out, &b);
    st_buf_free(&b);
    if (rc) st_lake_entry_free(out);
    return rc;
}

int st_lake_info(st_lake_t *lake, const char *id, st_lake_entry_t *out) {
    return lk_read_entry(lake, id, out, NULL);
}

int st_lake_retrieve(st_lake_t *lake, const char *id, st_lake_entry_t *out) {
    int rc = lk_read_entry(lake, id, out, NULL);
    if (rc) return rc;
    if (out->deleted) {
        st_lake_entry_free(out);
        return st_error(ST_ENOTFOUND, "lake entry %s: deleted (its versions remain until purge)",
                        id);
    }
    st_buf_t b = ST_BUF_INIT;
    rc = read_version(lake, out, out->version, &b);
    if (!rc) rc = attach_content(out, &b);
    st_buf_free(&b);
    if (rc) st_lake_entry_free(out);
    return rc;
}

int st_lake_retrieve_by_path(st_lake_t *lake, const char *path, st_lake_entry_t *out) {
    memset(out, 0, sizeof *out);
    if (!path || !*path) return st_error(ST_EVALIDATION, "lake path is empty");
    const char *rel = !strncmp(path, LK_ROOT "/", strlen(LK_ROOT) + 1) ? path + strlen(LK_ROOT) + 1
                                                                      : path;
    char key[KEY_CAP];
    if (strlen(rel) > ST_KEY_MAX)
        return st_error(ST_EVALIDATION, "lake path is too long (%zu bytes)", strlen(path));
    if (st_key_validate(rel) || rel[0] == '.') {
        char msg[300];
        snprintf(msg, sizeof msg, "%s", rel[0] == '.' ? "not an entry's path" : st_errmsg());
        return st_error(ST_EVALIDATION, "lake path '%.200s': %s", path, msg);
    }
    snprintf(key, sizeof key, "%s/%s", LK_ROOT, rel);
    st_object_info_t info;
    int rc = st_store_head(lake->store, key, &info);
    if (rc == ST_ENOTFOUND) return st_error(ST_ENOTFOUND, "lake path %s: not found", key);
    if (rc) return rc;
    char id[ST_UUID_STR_LEN + 1] = "";
    for (int i = 0; i < info.nmeta; i++)
        if (!strcmp(info.meta[i].key, LK_ID_META))
            snprintf(id, sizeof id, "%s", info.meta[i].value);
    st_object_info_free(&info);
    if (!*id) return st_error(ST_ENOTFOUND, "lake path %s: not a lake entry (no id)", key);
    rc = st_lake_retrieve(lake, id, out);
    if (!rc && strcmp(out->path, key)) {
        st_lake_entry_free(out);
        return st_error(ST_ENOTFOUND, "lake path %s: not found (the entry moved)", key);
    }
    return rc;
}

/* The id a path's object belongs to ("" if none); ST_ENOTFOUND if absent. */
static int path_owner(st_lake_t *lake, const char *path, char id[ST_UUID_STR_LEN + 1],
                      int64_t *modified_us) {
    st_object_info_t info;
    *id = 0;
    int rc = st_store_head(lake->store, path, &info);
    if (rc) return rc;
    for (int i = 0; i < info.nmeta; i++)
        if (!strcmp(info.meta[i].key, LK_ID_META)) snprintf(id, ST_UUID_STR_LEN + 1, "%s", info.meta[i].value);
    if (modified_us) *modified_us = info.last_modified_us;
    st_object_info_free(&info);
    return ST_OK;
}

/* A path still held by a tombstone (a delete interrupted before it freed the
 * path) or by content whose entry was never written (a store interrupted a
 * while ago) is freed; true if it was. */
static bool free_stale_path(st_lake_t *lake, const char *path) {
    char id[ST_UUID_STR_LEN + 1];
    int64_t modified = 0;
    if (path_owner(lake, path, id, &modified) || !*id) return false;
    st_lake_entry_t e;
    int rc = lk_read_entry(lake, id, &e, NULL);
    bool stale = (rc == ST_OK && (e.deleted || strcmp(e.path, path))) ||
                 (rc == ST_ENOTFOUND && st_now_us() - modified > 600 * 1000000LL);
    if (rc == ST_OK) st_lake_entry_free(&e);
    st_error_clear();
    return stale && st_store_delete(lake->store, path) == ST_OK;
}

int st_lake_store(st_lake_t *lake, const char *name, const void *content, size_t len,
                  const char *data_type, const char *metadata_json, const char *subpath,
                  st_lake_entry_t *out) {
    if (out) memset(out, 0, sizeof *out);
    int rc;
    if ((rc = lk_validate_name(name)) || (rc = lk_validate_subpath(subpath)) ||
        (rc = lk_check_type(lake, data_type)))
        return rc;
    if (!content && len) return st_error(ST_EINVAL, "lake store %s: no content", name);
    json_t *meta;
    if ((rc = lk_parse_metadata(metadata_json, &meta))) return rc;
    st_lake_entry_t e = {0};
    uint8_t raw[16];
    if ((rc = st_uuid_v4(raw))) {
        json_decref(meta);
        return rc;
    }
    st_uuid_format(raw, e.id);
    e.name = strdup(name);
    e.data_type = strdup(data_type);
    e.subpath = strdup(subpath ? subpath : "");
    e.path = lk_content_path(data_type, subpath, name);
    e.metadata_json = json_dumps(meta, JSON_COMPACT);
    json_decref(meta);
    e.versions = calloc(1, sizeof *e.versions);
    if (!e.name || !e.data_type || !e.subpath || !e.path || !e.metadata_json || !e.versions) {
        st_lake_entry_free(&e);
        return oom("lake store");
    }
    e.is_text = lk_is_text(content, len);
    e.size = len;
    st_sha256_hex(content ? content : "", len, e.sha256);
    e.version = 1;
    e.created_at_us = e.updated_at_us = st_now_us();
    e.nversions = 1;
    e.versions[0] = (st_lake_version_t){.version = 1, .size = len, .created_at_us = e.created_at_us};
    memcpy(e.versions[0].sha256, e.sha256, sizeof e.sha256);
    lk_version_key(e.id, 1, e.versions[0].key, sizeof e.versions[0].key);

    rc = put_content(lake, &e, content, len, ST_PUT_IF_ABSENT, NULL);
    if (rc == ST_ECONFLICT && free_stale_path(lake, e.path))
        rc = put_content(lake, &e, content, len, ST_PUT_IF_ABSENT, NULL);
    if (rc == ST_ECONFLICT)
        rc = st_error(ST_ECONFLICT, "%s: another lake entry has this path", e.path);
    if (!rc) {
        rc = put_entry(lake, &e, ST_PUT_IF_ABSENT, NULL);
        if (rc) st_store_delete(lake->store, e.path); /* give the path back */
    }
    if (!rc) rc = lk_journal_commit(lake, "store", e.id, &e, content, len);
    if (!rc && out)
        *out = e;
    else
        st_lake_entry_free(&e);
    return rc;
}

/* Makes sure the current version has its own copy apart from the path
 * before the path may change: only version 1 lives at the path alone, and it
 * is copied on the first update or delete (racers copy identical bytes). */
static int ensure_saved(st_lake_t *lake, const st_lake_entry_t *e) {
    const st_lake_version_t *v = find_version(e, e->version);
    if (!v) return st_error(ST_ECORRUPT, "lake entry %s: no record of version %d", e->id, e->version);
    if (v->version != 1) return ST_OK; /* written before its commit */
    st_object_info_t info;
    int rc = st_store_head(lake->store, v->key, &info);
    if (rc == ST_OK) st_object_info_free(&info);
    if (rc != ST_ENOTFOUND) return rc;
    st_buf_t b = ST_BUF_INIT;
    char hex[ST_SHA256_HEX_LEN + 1];
    rc = st_store_get(lake->store, e->path, &b, NULL);
    if (!rc && (sha_of(&b, hex), strcmp(hex, v->sha256)))
        rc = st_error(ST_ECORRUPT, "%s: holds other bytes than version 1 of lake entry %s",
                      e->path, e->id);
    if (!rc) {
        st_put_opts_t po = {.mode = ST_PUT_IF_ABSENT};
        rc = st_store_put(lake->store, v->key, b.data ? (void *)b.data : "", b.len, &po, NULL);
        if (rc == ST_ECONFLICT) rc = ST_OK;
    }
    st_buf_free(&b);
    return rc;
}

static int merge_metadata(st_lake_entry_t *e, const char *patch_json) {
    json_t *patch, *cur;
    int rc = lk_parse_metadata(patch_json, &patch);
    if (rc) return rc;
    if ((rc = lk_parse_metadata(e->metadata_json, &cur))) {
        json_decref(patch);
        return rc;
    }
    const char *k;
    json_t *v;
    json_object_foreach(patch, k, v) {
        if (json_is_null(v)) json_object_del(cur, k);
        else json_object_set(cur, k, v);
    }
    char *s = json_dumps(cur, JSON_COMPACT);
    json_decref(patch);
    json_decref(cur);
    if (!s) return oom("lake metadata");
    if (strlen(s) > ST_LAKE_META_MAX) {
        free(s);
        return st_error(ST_EVALIDATION, "lake entry %s: metadata would exceed %d bytes", e->id,
                        ST_LAKE_META_MAX);
    }
    free(e->metadata_json);
    e->metadata_json = s;
    return ST_OK;
}

int st_lake_update(st_lake_t *lake, const char *id, const void *content, size_t len,
                   const char *metadata_json, st_lake_entry_t *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!content && !metadata_json)
        return st_error(ST_EVALIDATION, "lake update %s: nothing to change (give content or "
                                        "metadata)", id ? id : "");
    json_t *probe;
    int rc = metadata_json ? lk_parse_metadata(metadata_json, &probe) : ST_OK;
    if (rc) return rc;
    if (metadata_json) json_decref(probe);
    st_lake_entry_t e;
    char etag[130], newkey[96] = "";
    if ((rc = lk_read_entry(lake, id, &e, etag))) return rc;
    if (e.deleted) {
        st_lake_entry_free(&e);
        return st_error(ST_ENOTFOUND, "lake entry %s: deleted", id);
    }
    if (metadata_json && (rc = merge_metadata(&e, metadata_json))) goto out;
    e.updated_at_us = st_now_us();
    if (content) {
        if ((rc = ensure_saved(lake, &e))) goto out;
        st_lake_version_t *grown = realloc(e.versions, (e.nversions + 1) * sizeof *grown);
        if (!grown) {
            rc = oom("lake update");
            goto out;
        }
        e.versions = grown;
        uint8_t raw[16];
        char tok[ST_UUID_STR_LEN + 1];
        if ((rc = st_uuid_v4(raw))) goto out;
        st_uuid_format(raw, tok);
        e.version++;
        e.size = len;
        e.is_text = lk_is_text(content, len);
        st_sha256_hex(content, len, e.sha256);
        st_lake_version_t *v = &e.versions[e.nversions++];
        *v = (st_lake_version_t){.version = e.version, .size = len, .created_at_us = e.updated_at_us};
        memcpy(v->sha256, e.sha256, sizeof e.sha256);
        snprintf(v->key, sizeof v->key, "lake/.versions/%s/v%d-%.8s", e.id, e.version, tok);
        snprintf(newkey, sizeof newkey, "%s", v->key);
        st_put_opts_t po = {.mode = ST_PUT_IF_ABSENT};
        if ((rc = st_store_put(lake->store, newkey, content, len, &po, NULL))) {
            *newkey = 0;
            goto out;
        }
    }
    if ((rc = put_entry(lake, &e, ST_PUT_IF_MATCH, etag))) {
        if (*newkey) st_store_delete(lake->store, newkey); /* the loser leaves nothing */
        goto out;
    }
    if (content) {
        /* Committed: the path copy is a convenience that readers verify, so a
         * failure here does not undo the update. */
        if (put_content(lake, &e, content, len, ST_PUT_PLAIN, NULL)) st_error_clear();
        rc = lk_journal_commit(lake, "update", e.id, &e, content, len);
    } else {
        /* Metadata only: the index still needs the text, which is unchanged. */
        st_buf_t b = ST_BUF_INIT;
        if (e.is_text && read_version(lake, &e, e.version, &b) == ST_OK)
            rc = lk_journal_commit(lake, "update", e.id, &e, b.data, b.len);
        else
            rc = lk_journal_commit(lake, "update", e.id, &e, NULL, 0);
        st_buf_free(&b);
    }
out:
    if (!rc && out)
        *out = e;
    else
        st_lake_entry_free(&e);
    return rc;
}

int st_lake_delete(st_lake_t *lake, const char *id) {
    st_lake_entry_t e;
    char etag[130], owner[ST_UUID_STR_LEN + 1];
    int rc = lk_read_entry(lake, id, &e, etag);
    if (rc) return rc;
    if (e.deleted) {
        st_lake_entry_free(&e);
        return st_error(ST_ENOTFOUND, "lake entry %s: already deleted", id);
    }
    if ((rc = ensure_saved(lake, &e))) goto out;
    e.deleted = true;
    e.deleted_at_us = e.updated_at_us = st_now_us();
    if ((rc = put_entry(lake, &e, ST_PUT_IF_MATCH, etag))) goto out;
    /* Free the path (if still ours); a crash before this is repaired by the
     * next store to that path. */
    rc = path_owner(lake, e.path, owner, NULL);
    if (!rc && !strcmp(owner, id)) rc = st_store_delete(lake->store, e.path);
    if (rc && rc != ST_ENOTFOUND) goto out;
    rc = lk_journal_commit(lake, "delete", e.id, &e, NULL, 0);
out:
    st_lake_entry_free(&e);
    return rc;
}

int st_lake_purge(st_lake_t *lake, const char *id) {
    st_lake_entry_t e;
    int rc = lk_read_entry(lake, id, &e, NULL);
    if (rc) return rc;
    char prefix[KEY_CAP], key[KEY_CAP];
    snprintf(prefix, sizeof prefix, "lake/.versions/%s/", id);
    st_list_iter_t *it;
    if ((rc = st_store_list(lake->store, prefix, NULL, &it))) goto out;
    const st_list_entry_t *le;
    while (!(rc = st_list_next(it, &le)) && le) {
        if (le->is_prefix) continue;
        snprintf(key, sizeof key, "%s", le->key);
        rc = st_store_delete(lake->store, key);
        if (rc && rc != ST_ENOTFOUND) break;
        rc = ST_OK;
    }
    st_list_close(it);
    if (rc) goto out;
    {
        /* The path is ours unless a newer entry took it after a delete. */
        char owner[ST_UUID_STR_LEN + 1];
        rc = path_owner(lake, e.path, owner, NULL);
        if (!rc && !strcmp(owner, id)) rc = st_store_delete(lake->store, e.path);
        if (rc && rc != ST_ENOTFOUND) goto out;
    }
    lk_meta_key(id, key, sizeof key);
    rc = st_store_delete(lake->store, key);
    if (rc == ST_ENOTFOUND) rc = st_error(ST_ENOTFOUND, "lake entry %s: not found", id);
    if (!rc) rc = lk_journal_commit(lake, "purge", id, NULL, NULL, 0);
out:
    st_lake_entry_free(&e);
    return rc;
}

int st_lake_versions(st_lake_t *lake, const char *id, st_lake_version_t **out, size_t *n) {
    *out = NULL;
    *n = 0;
    st_lake_entry_t e;
    int rc = lk_read_entry(lake, id, &e, NULL);
    if (rc) return rc;
    rc = lk_versions_dup(e.versions, e.nversions, out);
    if (!rc) *n = e.nversions;
    st_lake_entry_free(&e);
    return rc;
}
