/* Reads: the state, metadata.json, version numbers, and the data of one
 * version, checked against the SHA-256 its event recorded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/record_internal.h"
#include "strata/parquet.h"

int st_record_get_state(st_records_t *r, const char *record_id, st_record_state_t **out) {
    *out = NULL;
    if (!r) return st_error(ST_EINVAL, "records: no handle");
    rec_state_t *st;
    int rc = rec_state_load(r, record_id, &st, NULL);
    if (!rc) *out = &st->s;
    return rc;
}

int st_record_head(st_records_t *r, const char *record_id, st_record_head_t *head,
                   st_record_head_t *prev) {
    if (!r) return st_error(ST_EINVAL, "records: no handle");
    rec_state_t *st;
    int rc = rec_head_load(r, record_id, &st);
    if (!rc) rec_state_head(st, head, prev);
    rec_state_free(st);
    return rc;
}

int st_record_metadata_json(st_records_t *r, const char *record_id, st_buf_t *out) {
    if (!r) return st_error(ST_EINVAL, "records: no handle");
    rec_state_t *st;
    int rc = rec_state_load(r, record_id, &st, NULL);
    if (!rc) rc = rec_state_render(st, out);
    rec_state_free(st);
    return rc;
}

int st_record_versions(st_records_t *r, const char *record_id, int **versions, int *n) {
    *versions = NULL;
    *n = 0;
    if (!r) return st_error(ST_EINVAL, "records: no handle");
    rec_state_t *st;
    int rc = rec_state_load(r, record_id, &st, NULL);
    if (rc) return rc;
    int *v = malloc(((size_t)st->s.nhistory + 1) * sizeof *v), k = 0;
    if (!v) rc = st_error(ST_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < st->s.nhistory; i++) {
        const st_record_event_t *e = &st->s.history[i];
        if ((e->kind == ST_EVENT_CREATE || e->kind == ST_EVENT_UPDATE) &&
            (k == 0 || e->version > v[k - 1]))
            v[k++] = e->version;
    }
    rec_state_free(st);
    if (rc) return rc;
    *versions = v;
    *n = k;
    return ST_OK;
}

static int resolve_in(const rec_state_t *st, const char *id, const st_record_selector_t *sel,
                      int *version) {
    const st_record_state_t *s = &st->s;
    int found = 0;
    if (!sel || (sel->version <= 0 && !sel->approved && sel->as_of_us <= 0)) {
        found = s->current_version;
    } else if (sel->version > 0) {
        if (!rec_state_version_event(st, sel->version))
            return st_error(ST_ENOTFOUND, "%s has no version %d (latest is v%d)", id, sel->version,
                            s->current_version);
        found = sel->version;
    } else if (sel->approved) {
        for (int i = s->nhistory - 1; i >= 0 && !found; i--)
            if (s->history[i].kind == ST_EVENT_APPROVE) found = s->history[i].version;
        if (!found) return st_error(ST_ENOTFOUND, "%s has no approved version", id);
    } else {
        for (int i = 0; i < s->nhistory && s->history[i].at_us <= sel->as_of_us; i++)
            if (s->history[i].kind == ST_EVENT_CREATE || s->history[i].kind == ST_EVENT_UPDATE)
                found = s->history[i].version;
        if (!found) {
            char t[40];
            rec_format_time(sel->as_of_us, t);
            return st_error(ST_ENOTFOUND, "%s did not exist yet at %s", id, t);
        }
    }
    *version = found;
    return ST_OK;
}

int st_record_resolve(st_records_t *r, const char *record_id, const st_record_selector_t *sel,
                      int *version) {
    if (!r) return st_error(ST_EINVAL, "records: no handle");
    rec_state_t *st;
    int rc = rec_state_load(r, record_id, &st, NULL);
    if (!rc) rc = resolve_in(st, record_id, sel, version);
    rec_state_free(st);
    return rc;
}

int rec_get_version(st_records_t *r, const char *id, int version, const char *sha,
                    st_buf_t *out) {
    char *key = rec_version_key(r, id, version);
    if (!key) return st_error(ST_ENOMEM, "out of memory");
    int rc = st_store_get(r->store, key, out, NULL);
    if (rc == ST_ENOTFOUND)
        rc = st_error(ST_ECORRUPT, "%s: v%d.parquet is missing, though the log adds it", id,
                      version);
    if (!rc && sha && *sha) {
        char got[65];
        st_sha256_hex(out->data, out->len, got);
        if (strcmp(got, sha))
            rc = st_error(ST_ECORRUPT,
                          "%s: v%d.parquet: SHA-256 differs from the event that added it "
                          "(the file was changed)",
                          id, version);
    }
    free(key);
    return rc;
}

/* Appends row `i` of src to dst (same fields). */
static int copy_row(const st_batch_t *src, int64_t i, st_batch_t *dst) {
    for (int c = 0; c < src->ncols; c++) {
        const st_column_t *s = &src->cols[c];
        st_column_t *d = &dst->cols[c];
        int rc;
        size_t n;
        if (st_col_is_null(s, i)) {
            rc = st_col_append_null(d);
        } else {
            switch (s->field.type.id) {
            case ST_TYPE_BOOL: rc = st_col_append_bool(d, st_col_get_bool(s, i)); break;
            case ST_TYPE_UINT8:
            case ST_TYPE_UINT16:
            case ST_TYPE_UINT32:
            case ST_TYPE_UINT64: rc = st_col_append_u64(d, st_col_get_u64(s, i)); break;
            case ST_TYPE_FLOAT:
            case ST_TYPE_DOUBLE: rc = st_col_append_double(d, st_col_get_double(s, i)); break;
            case ST_TYPE_DECIMAL:
                rc = st_col_append_decimal128(d, st_col_get_bytes(s, i, &n));
                break;
            case ST_TYPE_STRING:
            case ST_TYPE_BINARY:
            case ST_TYPE_JSON:
            case ST_TYPE_FIXED:
            case ST_TYPE_UUID: {
                const uint8_t *p = st_col_get_bytes(s, i, &n);
                rc = st_col_append_bytes(d, p, n);
                break;
            }
            default: rc = st_col_append_i64(d, st_col_get_i64(s, i)); break;
            }
        }
        if (rc) return rc;
    }
    return st_batch_end_row(dst);
}

static int read_all(st_pq_file_t *f, st_batch_t **out) {
    int nrg = st_pq_num_row_groups(f), rc;
    if (nrg == 1) return st_pq_read_row_group(f, 0, NULL, 0, out);
    const st_field_t *fields;
    int nf;
    if ((rc = st_pq_fields(f, &fields, &nf))) return rc;
    st_batch_t *all;
    if ((rc = st_batch_new(fields, nf, &all))) return rc;
    for (int g = 0; g < nrg && !rc; g++) {
        st_batch_t *b;
        if ((rc = st_pq_read_row_group(f, g, NULL, 0, &b))) break;
        for (int64_t i = 0; i < b->nrows && !rc; i++)
            rc = copy_row(b, i, all);
        st_batch_free(b);
    }
    if (rc) {
        st_batch_free(all);
        return rc;
    }
    *out = all;
    return ST_OK;
}

int st_record_read(st_records_t *r, const char *record_id, const st_record_selector_t *sel,
                   st_batch_t **out) {
    *out = NULL;
    if (!r) return st_error(ST_EINVAL, "records: no handle");
    rec_state_t *st;
    int rc = rec_state_load(r, record_id, &st, NULL);
    int version = 0;
    if (!rc) rc = resolve_in(st, record_id, sel, &version);
    st_buf_t buf = ST_BUF_INIT;
    if (!rc) {
        const st_record_event_t *e = rec_state_version_event(st, version);
        rc = rec_get_version(r, record_id, version, e ? e->version_sha256 : NULL, &buf);
    }
    st_pq_source_t src;
    st_pq_file_t *f = NULL;
    char name[64];
    snprintf(name, sizeof name, "v%d.parquet", version);
    if (!rc) rc = st_pq_source_mem(buf.data, buf.len, name, &src);
    if (!rc) rc = st_pq_open(&src, &f);
    if (!rc) rc = read_all(f, out);
    if (rc && f) st_error_prefix(rc, "%s", record_id);
    st_pq_close(f);
    st_buf_free(&buf);
    rec_state_free(st);
    return rc;
}

int st_record_read_file(st_records_t *r, const char *record_id, const st_record_selector_t *sel,
                        st_buf_t *out, int *version) {
    if (!r) return st_error(ST_EINVAL, "records: no handle");
    rec_state_t *st;
    int rc = rec_state_load(r, record_id, &st, NULL);
    int v = 0;
    if (!rc) rc = resolve_in(st, record_id, sel, &v);
    if (!rc) {
        const st_record_event_t *e = rec_state_version_event(st, v);
        rc = rec_get_version(r, record_id, v, e ? e->version_sha256 : NULL, out);
    }
    if (!rc && version) *version = v;
    rec_state_free(st);
    return rc;
}
