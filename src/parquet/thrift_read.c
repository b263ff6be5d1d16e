/* Thrift compact protocol decoder (see thrift.h for the safety contract). */
#include "parquet/thrift.h"

#include <stdlib.h>
#include <string.h>

#include "strata/core.h"

static int bad(const char *what) { return st_error(ST_ECORRUPT, "thrift: %s", what); }

void th_init(th_reader_t *r, const void *data, size_t n) {
    r->p = data;
    r->end = r->p + n;
    r->depth = 0;
}

int th_varint(th_reader_t *r, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end) return bad("truncated varint");
        uint8_t b = *r->p++;
        if (shift == 63 && (b & 0x7e)) return bad("varint overflows 64 bits");
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return ST_OK;
        }
    }
    return bad("varint longer than 10 bytes");
}

int th_struct_begin(th_reader_t *r, th_struct_t *s) {
    if (r->depth >= TH_MAX_DEPTH) return bad("structures nested too deeply");
    r->depth++;
    s->last = 0;
    return ST_OK;
}

void th_struct_end(th_reader_t *r) {
    if (r->depth > 0) r->depth--;
}

int th_field(th_reader_t *r, th_struct_t *s, int16_t *id, int *type) {
    if (r->p >= r->end) return bad("truncated struct (no stop field)");
    uint8_t b = *r->p++;
    if (b == 0) {
        *type = TH_STOP;
        *id = 0;
        return ST_OK;
    }
    int t = b & 0x0f;
    int delta = b >> 4;
    if (t > TH_STRUCT) return bad("unknown field type");
    if (delta) {
        int v = s->last + delta;
        if (v > INT16_MAX) return bad("field id out of range");
        *id = (int16_t)v;
    } else {
        uint64_t u = 0;
        int rc = th_varint(r, &u);
        if (rc) return rc;
        int64_t v = th_unzigzag(u);
        if (v < INT16_MIN || v > INT16_MAX) return bad("field id out of range");
        *id = (int16_t)v;
    }
    s->last = *id;
    *type = t;
    return ST_OK;
}

int th_read_bool(th_reader_t *r, int type, bool *out) {
    (void)r;
    if (type != TH_TRUE && type != TH_FALSE) return bad("expected a bool field");
    *out = type == TH_TRUE;
    return ST_OK;
}

int th_read_list_bool(th_reader_t *r, bool *out) {
    if (r->p >= r->end) return bad("truncated bool");
    *out = *r->p++ == 1;
    return ST_OK;
}

static int read_int(th_reader_t *r, int type, int64_t *out) {
    if (type == TH_BYTE) {
        if (r->p >= r->end) return bad("truncated byte");
        *out = (int8_t)*r->p++;
        return ST_OK;
    }
    if (type != TH_I16 && type != TH_I32 && type != TH_I64) return bad("expected an integer field");
    uint64_t u = 0;
    int rc = th_varint(r, &u);
    if (rc) return rc;
    *out = th_unzigzag(u);
    return ST_OK;
}

int th_read_i32(th_reader_t *r, int type, int32_t *out) {
    int64_t v = 0;
    int rc = read_int(r, type, &v);
    if (rc) return rc;
    if (v < INT32_MIN || v > INT32_MAX) return bad("i32 value out of range");
    *out = (int32_t)v;
    return ST_OK;
}

int th_read_i64(th_reader_t *r, int type, int64_t *out) { return read_int(r, type, out); }

int th_read_double(th_reader_t *r, int type, double *out) {
    if (type != TH_DOUBLE) return bad("expected a double field");
    if (th_remaining(r) < 8) return bad("truncated double");
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--) u = (u << 8) | r->p[i];
    memcpy(out, &u, 8);
    r->p += 8;
    return ST_OK;
}

int th_read_binary(th_reader_t *r, int type, const uint8_t **data, uint32_t *n) {
    if (type != TH_BINARY) return bad("expected a binary field");
    uint64_t len = 0;
    int rc = th_varint(r, &len);
    if (rc) return rc;
    if (len > th_remaining(r)) return bad("binary length past the end of the buffer");
    *data = r->p;
    *n = (uint32_t)len;
    r->p += len;
    return ST_OK;
}

int th_read_string(th_reader_t *r, int type, char **out) {
    const uint8_t *d = NULL;
    uint32_t n = 0;
    int rc = th_read_binary(r, type, &d, &n);
    if (rc) return rc;
    char *s = malloc((size_t)n + 1);
    if (!s) return st_error(ST_ENOMEM, "out of memory");
    memcpy(s, d, n);
    s[n] = '\0';
    *out = s;
    return ST_OK;
}

int th_list_begin(th_reader_t *r, int type, int *elem_type, uint32_t *n) {
    if (type != TH_LIST && type != TH_SET) return bad("expected a list field");
    if (r->p >= r->end) return bad("truncated list header");
    uint8_t b = *r->p++;
    uint64_t size = b >> 4;
    if (size == 15) {
        int rc = th_varint(r, &size);
        if (rc) return rc;
    }
    int t = b & 0x0f;
    if (t == TH_STOP || t > TH_STRUCT) return bad("unknown list element type");
    /* Every element occupies at least one byte, so a larger count is a lie. */
    if (size > th_remaining(r)) return bad("list longer than the bytes left");
    *elem_type = t;
    *n = (uint32_t)size;
    return ST_OK;
}

int th_skip(th_reader_t *r, int type) {
    uint64_t u = 0;
    int rc;
    switch (type) {
    case TH_TRUE:
    case TH_FALSE:
        return ST_OK;
    case TH_BYTE:
        if (r->p >= r->end) return bad("truncated byte");
        r->p++;
        return ST_OK;
    case TH_I16:
    case TH_I32:
    case TH_I64:
        return th_varint(r, &u);
    case TH_DOUBLE:
        if (th_remaining(r) < 8) return bad("truncated double");
        r->p += 8;
        return ST_OK;
    case TH_BINARY: {
        const uint8_t *d = NULL;
        uint32_t n = 0;
        return th_read_binary(r, TH_BINARY, &d, &n);
    }
    case TH_LIST:
    case TH_SET: {
        int et;
        uint32_t n = 0;
        if ((rc = th_list_begin(r, type, &et, &n))) return rc;
        if (r->depth >= TH_MAX_DEPTH) return bad("structures nested too deeply");
        r->depth++;
        for (uint32_t i = 0; i < n && !rc; i++) {
            /* Booleans inside containers are one byte each, not folded into a type. */
            rc = (et == TH_TRUE || et == TH_FALSE) ? th_skip(r, TH_BYTE) : th_skip(r, et);
        }
        r->depth--;
        return rc;
    }
    case TH_MAP: {
        if ((rc = th_varint(r, &u))) return rc;
        if (u == 0) return ST_OK;
        if (u > th_remaining(r)) return bad("map larger than the bytes left");
        if (r->p >= r->end) return bad("truncated map header");
        uint8_t kv = *r->p++;
        int kt = kv >> 4, vt = kv & 0x0f;
        if (kt == TH_STOP || kt > TH_STRUCT || vt == TH_STOP || vt > TH_STRUCT)
            return bad("unknown map element type");
        if (kt == TH_TRUE || kt == TH_FALSE) kt = TH_BYTE;
        if (vt == TH_TRUE || vt == TH_FALSE) vt = TH_BYTE;
        if (r->depth >= TH_MAX_DEPTH) return bad("structures nested too deeply");
        r->depth++;
        for (uint64_t i = 0; i < u && !rc; i++) {
            rc = th_skip(r, kt);
            if (!rc) rc = th_skip(r, vt);
        }
        r->depth--;
        return rc;
    }
    case TH_STRUCT: {
        th_struct_t s;
        if ((rc = th_struct_begin(r, &s))) return rc;
        for (;;) {
            int16_t id;
            int t;
            if ((rc = th_field(r, &s, &id, &t))) break;
            if (t == TH_STOP) break;
            if ((rc = th_skip(r, t))) break;
        }
        th_struct_end(r);
        return rc;
    }
    default:
        return bad("unknown type");
    }
}
