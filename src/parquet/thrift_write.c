/* Thrift compact protocol encoder (see thrift_write.h). */
#include "parquet/thrift_write.h"

#include <string.h>

void pq_tw_init(pq_tw_t *w, st_buf_t *out) {
    w->out = out;
    w->depth = 0;
    w->last[0] = 0;
    w->err = ST_OK;
}

int pq_tw_error(const pq_tw_t *w) { return w->err; }

size_t pq_uleb128(uint8_t *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static void put(pq_tw_t *w, const void *data, size_t n) {
    if (w->err) return;
    int rc = st_buf_append(w->out, data, n);
    if (rc) w->err = rc;
}

static void put_byte(pq_tw_t *w, uint8_t b) { put(w, &b, 1); }

void pq_tw_uvarint(pq_tw_t *w, uint64_t v) {
    uint8_t tmp[10];
    put(w, tmp, pq_uleb128(tmp, v));
}

static uint64_t zigzag64(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

/* Field header: a 4-bit id delta when it fits (1..15), else the type byte
 * followed by the zigzag i16 id. */
static void field(pq_tw_t *w, int16_t id, int type) {
    int delta = id - w->last[w->depth];
    if (delta > 0 && delta <= 15) {
        put_byte(w, (uint8_t)(delta << 4 | type));
    } else {
        put_byte(w, (uint8_t)type);
        pq_tw_uvarint(w, zigzag64(id));
    }
    w->last[w->depth] = id;
}

static void push(pq_tw_t *w) {
    if (w->depth + 1 >= PQ_TW_MAX_DEPTH) {
        if (!w->err) w->err = st_error(ST_EINVAL, "thrift: structs nested too deeply");
        return;
    }
    w->last[++w->depth] = 0;
}

void pq_tw_bool(pq_tw_t *w, int16_t id, bool v) { field(w, id, v ? PQ_TC_TRUE : PQ_TC_FALSE); }

void pq_tw_i8(pq_tw_t *w, int16_t id, int8_t v) {
    field(w, id, PQ_TC_BYTE);
    put_byte(w, (uint8_t)v);
}

void pq_tw_i16(pq_tw_t *w, int16_t id, int16_t v) {
    field(w, id, PQ_TC_I16);
    pq_tw_uvarint(w, zigzag64(v));
}

void pq_tw_i32(pq_tw_t *w, int16_t id, int32_t v) {
    field(w, id, PQ_TC_I32);
    pq_tw_uvarint(w, zigzag64(v));
}

void pq_tw_i64(pq_tw_t *w, int16_t id, int64_t v) {
    field(w, id, PQ_TC_I64);
    pq_tw_uvarint(w, zigzag64(v));
}

void pq_tw_binary(pq_tw_t *w, int16_t id, const void *data, size_t n) {
    field(w, id, PQ_TC_BINARY);
    pq_tw_elem_binary(w, data, n);
}

void pq_tw_string(pq_tw_t *w, int16_t id, const char *s) { pq_tw_binary(w, id, s, strlen(s)); }

void pq_tw_struct(pq_tw_t *w, int16_t id) {
    field(w, id, PQ_TC_STRUCT);
    push(w);
}

void pq_tw_list(pq_tw_t *w, int16_t id, int elem, uint32_t n) {
    field(w, id, PQ_TC_LIST);
    if (n < 15) {
        put_byte(w, (uint8_t)(n << 4 | (uint32_t)elem));
    } else {
        put_byte(w, (uint8_t)(0xF0 | elem));
        pq_tw_uvarint(w, n);
    }
}

void pq_tw_elem_i32(pq_tw_t *w, int32_t v) { pq_tw_uvarint(w, zigzag64(v)); }

void pq_tw_elem_binary(pq_tw_t *w, const void *data, size_t n) {
    pq_tw_uvarint(w, n);
    put(w, data, n);
}

void pq_tw_elem_struct(pq_tw_t *w) { push(w); }

void pq_tw_raw(pq_tw_t *w, const void *data, size_t n) { put(w, data, n); }

void pq_tw_end(pq_tw_t *w) {
    put_byte(w, PQ_TC_STOP);
    if (w->depth > 0) w->depth--;
}
