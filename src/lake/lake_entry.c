/* Entries: keys, the stored JSON form, the public JSON form, metadata. */
#include <stdlib.h>
#include <string.h>

#include "lake/lake_internal.h"

void lk_meta_key(const char *id, char *out, size_t cap) {
    snprintf(out, cap, "%s%s.json", LK_META_PREFIX, id);
}

void lk_version_key(const char *id, int version, char *out, size_t cap) {
    snprintf(out, cap, "lake/.versions/%s/v%d", id, version);
}

char *lk_content_path(const char *type, const char *subpath, const char *name) {
    size_t cap = strlen(LK_ROOT) + strlen(type) + (subpath ? strlen(subpath) : 0) + strlen(name) + 8;
    char *p = malloc(cap);
    if (!p) return NULL;
    if (subpath && *subpath)
        snprintf(p, cap, "%s/%s/%s/%s", LK_ROOT, type, subpath, name);
    else
        snprintf(p, cap, "%s/%s/%s", LK_ROOT, type, name);
    return p;
}

bool lk_is_text(const uint8_t *data, size_t len) {
    if (len && memchr(data, 0, len)) return false;
    return st_utf8_valid(data, len);
}

void st_lake_entry_free(st_lake_entry_t *e) {
    if (!e) return;
    free(e->name);
    free(e->data_type);
    free(e->subpath);
    free(e->path);
    free(e->metadata_json);
    free(e->versions);
    free(e->content);
    memset(e, 0, sizeof *e);
}

void st_lake_entries_free(st_lake_entry_t *entries, size_t n) {
    for (size_t i = 0; i < n; i++) st_lake_entry_free(&entries[i]);
    free(entries);
}

int lk_versions_dup(const st_lake_version_t *v, size_t n, st_lake_version_t **out) {
    *out = NULL;
    if (!n) return ST_OK;
    *out = malloc(n * sizeof *v);
    if (!*out) return st_error(ST_ENOMEM, "lake versions: out of memory");
    memcpy(*out, v, n * sizeof *v);
    return ST_OK;
}

static json_t *ts(int64_t us) {
    char b[64];
    st_format_timestamp(us, 6, true, b, sizeof b);
    return json_string(b);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64(const uint8_t *p, size_t n) {
    char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? b64[v & 63] : '=';
    }
    *o = 0;
    return out;
}

/* One object for both forms; keys in a fixed order, id first. */
static json_t *entry_object(const st_lake_entry_t *e, bool with_content) {
    json_t *o = json_object(), *vs = json_array();
    json_t *meta = json_loads(e->metadata_json ? e->metadata_json : "{}", 0, NULL);
    json_object_set_new(o, "id", json_string(e->id));
    json_object_set_new(o, "name", json_string(e->name));
    json_object_set_new(o, "data_type", json_string(e->data_type));
    json_object_set_new(o, "subpath", json_string(e->subpath ? e->subpath : ""));
    json_object_set_new(o, "path", json_string(e->path));
    json_object_set_new(o, "content_type", json_string(e->is_text ? "text" : "binary"));
    json_object_set_new(o, "size", json_integer((json_int_t)e->size));
    json_object_set_new(o, "sha256", json_string(e->sha256));
    json_object_set_new(o, "version", json_integer(e->version));
    json_object_set_new(o, "created_at", ts(e->created_at_us));
    json_object_set_new(o, "updated_at", ts(e->updated_at_us));
    json_object_set_new(o, "deleted", json_boolean(e->deleted));
    if (e->deleted) json_object_set_new(o, "deleted_at", ts(e->deleted_at_us));
    json_object_set_new(o, "metadata", meta ? meta : json_object());
    for (size_t i = 0; i < e->nversions; i++) {
        const st_lake_version_t *v = &e->versions[i];
        json_t *jv = json_object();
        json_object_set_new(jv, "version", json_integer(v->version));
        json_object_set_new(jv, "size", json_integer((json_int_t)v->size));
        json_object_set_new(jv, "sha256", json_string(v->sha256));
        json_object_set_new(jv, "created_at", ts(v->created_at_us));
        json_object_set_new(jv, "key", json_string(v->key));
        json_array_append_new(vs, jv);
    }
    json_object_set_new(o, "versions", vs);
    if (with_content && e->content) {
        if (e->is_text) {
            json_object_set_new(o, "content",
                                json_stringn((const char *)e->content, e->content_len));
        } else {
            char *enc = base64(e->content, e->content_len);
            json_object_set_new(o, "content_base64", enc ? json_string(enc) : json_null());
            free(enc);
        }
    }
    return o;
}

char *lk_entry_to_json(const st_lake_entry_t *e) {
    json_t *o = entry_object(e, false);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

int st_lake_entry_json(const st_lake_entry_t *e, bool with_content, st_buf_t *out) {
    json_t *o = entry_object(e, with_content);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s) return st_error(ST_ENOMEM, "lake entry %s: JSON rendering failed", e->id);
    int rc = st_buf_append_str(out, s);
    free(s);
    return rc;
}

static char *dup_str(json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s ? strdup(s) : NULL;
}

static int64_t get_ts(json_t *o, const char *key, bool *ok) {
    const char *s = json_string_value(json_object_get(o, key));
    int64_t v = 0;
    if (!s || st_parse_timestamp(s, 6, &v) != ST_OK) *ok = false;
    return v;
}

int lk_entry_from_json(const char *text, size_t len, const char *what, st_lake_entry_t *out) {
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *o = json_loadb(text, len, 0, &jerr);
    if (!json_is_object(o)) {
        json_decref(o);
        return st_error(ST_ECORRUPT, "%s: not a lake entry (%s)", what,
                        o ? "not an object" : jerr.text);
    }
    bool ok = true;
    const char *id = json_string_value(json_object_get(o, "id"));
    if (id && strlen(id) == ST_UUID_STR_LEN) memcpy(out->id, id, ST_UUID_STR_LEN + 1);
    else ok = false;
    out->name = dup_str(o, "name");
    out->data_type = dup_str(o, "data_type");
    out->subpath = dup_str(o, "subpath");
    out->path = dup_str(o, "path");
    const char *sha = json_string_value(json_object_get(o, "sha256"));
    if (sha && strlen(sha) == ST_SHA256_HEX_LEN) memcpy(out->sha256, sha, sizeof out->sha256);
    else ok = false;
    const char *ct = json_string_value(json_object_get(o, "content_type"));
    out->is_text = ct && !strcmp(ct, "text");
    json_t *sz = json_object_get(o, "size"), *ver = json_object_get(o, "version");
    if (!json_is_integer(sz) || !json_is_integer(ver)) ok = false;
    out->size = (uint64_t)json_integer_value(sz);
    out->version = (int)json_integer_value(ver);
    out->created_at_us = get_ts(o, "created_at", &ok);
    out->updated_at_us = get_ts(o, "updated_at", &ok);
    out->deleted = json_is_true(json_object_get(o, "deleted"));
    if (out->deleted) out->deleted_at_us = get_ts(o, "deleted_at", &ok);
    json_t *meta = json_object_get(o, "metadata");
    out->metadata_json = json_is_object(meta) ? json_dumps(meta, JSON_COMPACT) : NULL;
    json_t *vs = json_object_get(o, "versions");
    size_t nv = json_array_size(vs);
    if (nv) out->versions = calloc(nv, sizeof *out->versions);
    for (size_t i = 0; out->versions && i < nv; i++) {
        json_t *jv = json_array_get(vs, i);
        st_lake_version_t *v = &out->versions[i];
        v->version = (int)json_integer_value(json_object_get(jv, "version"));
        v->size = (uint64_t)json_integer_value(json_object_get(jv, "size"));
        const char *h = json_string_value(json_object_get(jv, "sha256"));
        if (h && strlen(h) == ST_SHA256_HEX_LEN) memcpy(v->sha256, h, sizeof v->sha256);
        else ok = false;
        v->created_at_us = get_ts(jv, "created_at", &ok);
        const char *k = json_string_value(json_object_get(jv, "key"));
        if (k && strlen(k) < sizeof v->key) memcpy(v->key, k, strlen(k) + 1);
        else ok = false;
    }
    out->nversions = out->versions ? nv : 0;
    json_decref(o);
    if (!out->name || !out->data_type || !out->subpath || !out->path || !out->metadata_json ||
        !out->nversions)
        ok = false;
    if (!ok) {
        st_lake_entry_free(out);
        return st_error(ST_ECORRUPT, "%s: malformed lake entry", what);
    }
    return ST_OK;
}

int lk_parse_metadata(const char *text, json_t **out) {
    *out = NULL;
    if (!text) {
        *out = json_object();
        return ST_OK;
    }
    if (strlen(text) > ST_LAKE_META_MAX)
        return st_error(ST_EVALIDATION, "lake metadata is %zu bytes (at most %d)", strlen(text),
                        ST_LAKE_META_MAX);
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!j)
        return st_error(ST_EVALIDATION, "lake metadata is not valid JSON: %s (line %d, column %d)",
                        jerr.text, jerr.line, jerr.column);
    if (!json_is_object(j)) {
        json_decref(j);
        return st_error(ST_EVALIDATION, "lake metadata must be a JSON object");
    }
    *out = j;
    return ST_OK;
}

static int each(json_t *v, st_buf_t *key, lk_kv_fn fn, void *ctx) {
    char num[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *child;
        size_t keep = key->len;
        json_object_foreach(v, k, child) {
            key->len = keep;
            if (keep) st_buf_append_byte(key, '.');
            st_buf_append_str(key, k);
            st_buf_append_byte(key, 0);
            key->len--;
            int rc = each(child, key, fn, ctx);
            if (rc) return rc;
        }
        key->len = keep;
        if (key->data) key->data[keep] = 0;
        return ST_OK;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) {
            int rc = each(child, key, fn, ctx);
            if (rc) return rc;
        }
        return ST_OK;
    }
    case JSON_STRING: return fn(ctx, key->data ? (char *)key->data : "", json_string_value(v));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        return fn(ctx, key->data ? (char *)key->data : "", num);
    case JSON_REAL:
        st_format_double(json_real_value(v), num);
        return fn(ctx, key->data ? (char *)key->data : "", num);
    case JSON_TRUE: return fn(ctx, key->data ? (char *)key->data : "", "true");
    case JSON_FALSE: return fn(ctx, key->data ? (char *)key->data : "", "false");
    default: return ST_OK; /* null says nothing to search for */
    }
}

int lk_metadata_each(json_t *obj, lk_kv_fn fn, void *ctx) {
    st_buf_t key = ST_BUF_INIT;
    int rc = st_buf_reserve(&key, 64);
    if (!rc) {
        key.data[0] = 0;
        rc = each(obj, &key, fn, ctx);
    }
    st_buf_free(&key);
    return rc;
}

static int add_word(void *ctx, const char *key, const char *value) {
    (void)key;
    st_buf_t *b = ctx;
    if (b->len) st_buf_append_byte(b, ' ');
    return st_buf_append_str(b, value);
}

void lk_metadata_words(json_t *obj, st_buf_t *out) {
    lk_metadata_each(obj, add_word, out);
    st_buf_append_byte(out, 0);
    out->len--;
}
