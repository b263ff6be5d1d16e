/*
 * Thrift compact protocol encoder, just enough to write Parquet footers and page
 * headers. Calls never fail individually: an allocation failure is remembered
 * and reported once by pq_tw_error(), which keeps the serialising code linear.
 */
#ifndef STRATA_PQ_THRIFT_WRITE_H
#define STRATA_PQ_THRIFT_WRITE_H

#include "strata/core.h"

/* Compact protocol type codes. */
enum pq_tc {
    PQ_TC_STOP = 0, PQ_TC_TRUE = 1, PQ_TC_FALSE = 2, PQ_TC_BYTE = 3, PQ_TC_I16 = 4,
    PQ_TC_I32 = 5, PQ_TC_I64 = 6, PQ_TC_DOUBLE = 7, PQ_TC_BINARY = 8, PQ_TC_LIST = 9,
    PQ_TC_SET = 10, PQ_TC_MAP = 11, PQ_TC_STRUCT = 12
};

#define PQ_TW_MAX_DEPTH 16

typedef struct pq_tw {
    st_buf_t *out;
    int16_t last[PQ_TW_MAX_DEPTH]; /* last field id written at each struct depth */
    int depth;
    int err;
} pq_tw_t;

/* Starts a top-level struct that is appended to `out`. */
void pq_tw_init(pq_tw_t *w, st_buf_t *out);
/* ST_OK, or the first error met (ST_ENOMEM, or ST_EINVAL for misuse). */
int pq_tw_error(const pq_tw_t *w);

/* Fields of the current struct. Ids may come in any order, but ascending ids
 * (deltas of 1..15) get the short one-byte headers. */
void pq_tw_bool(pq_tw_t *w, int16_t id, bool v);
void pq_tw_i8(pq_tw_t *w, int16_t id, int8_t v);
void pq_tw_i16(pq_tw_t *w, int16_t id, int16_t v);
void pq_tw_i32(pq_tw_t *w, int16_t id, int32_t v);
void pq_tw_i64(pq_tw_t *w, int16_t id, int64_t v);
void pq_tw_binary(pq_tw_t *w, int16_t id, const void *data, size_t n);
void pq_tw_string(pq_tw_t *w, int16_t id, const char *s);
/* A struct-valued field; close it with pq_tw_end. */
void pq_tw_struct(pq_tw_t *w, int16_t id);
/* A list-valued field of n elements of compact type `elem`; then write exactly
 * n elements with the pq_tw_elem_* calls (no end marker for lists). */
void pq_tw_list(pq_tw_t *w, int16_t id, int elem, uint32_t n);

/* List elements. */
void pq_tw_elem_i32(pq_tw_t *w, int32_t v);
void pq_tw_elem_binary(pq_tw_t *w, const void *data, size_t n);
/* A struct element; close it with pq_tw_end. */
void pq_tw_elem_struct(pq_tw_t *w);
/* Already-serialised bytes (e.g. struct elements encoded earlier). */
void pq_tw_raw(pq_tw_t *w, const void *data, size_t n);

/* Ends the innermost struct (also the top-level one) with a stop byte. */
void pq_tw_end(pq_tw_t *w);

/* Low-level varints, shared with the RLE encoder. */
void pq_tw_uvarint(pq_tw_t *w, uint64_t v);
/* Writes the ULEB128 form of v at p (at least 10 bytes room); returns length. */
size_t pq_uleb128(uint8_t *p, uint64_t v);

#endif
