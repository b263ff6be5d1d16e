/*
 * Value encodings used by the Parquet writer: bit helpers for Arrow validity
 * bitmaps, the RLE/bit-packed hybrid (definition levels, dictionary indices),
 * PLAIN byte arrays, and dictionary builders with a hash table per value kind.
 *
 * Everything appends to caller-owned buffers that are reused across pages and
 * row groups, so steady-state encoding allocates nothing.
 */
#ifndef STRATA_PQ_ENCODE_H
#define STRATA_PQ_ENCODE_H

#include "strata/core.h"

/* ---- bitmaps (LSB first, as Arrow and Parquet both use) ---- */

static inline bool pq_bit_get(const uint8_t *bits, uint64_t i) {
    return (bits[i >> 3] >> (i & 7)) & 1;
}

/* Copies n bits from src at bit src_off to dst at bit dst_off. The destination
 * bits from dst_off up to the end of their last byte must be zero beforehand
 * (bits are OR-ed in); bits past dst_off + n stay zero. */
void pq_bits_copy(uint8_t *dst, uint64_t dst_off, const uint8_t *src, uint64_t src_off, uint64_t n);
/* Number of set bits among bits[off .. off+n). */
uint64_t pq_bits_count(const uint8_t *bits, uint64_t off, uint64_t n);
/* Position (relative to off) of the k-th (0-based) set bit in bits[off .. off+n),
 * or n when there are not that many. */
uint64_t pq_bits_nth(const uint8_t *bits, uint64_t off, uint64_t n, uint64_t k);

/* ---- RLE / bit-packed hybrid ---- */

/* Bits needed to store every value in 0..max (0 for max == 0). */
int pq_enc_bit_width(uint64_t max);
/* Appends the hybrid encoding of n values of `width` bits (1..32), without a
 * length prefix. Runs of 8 or more equal values become RLE runs; the rest is
 * bit-packed in runs of at most 63 groups of 8 (a one-byte header, which every
 * reader accepts), the last group zero-padded. */
int pq_rle_encode(const uint32_t *v, size_t n, int width, st_buf_t *out);
/* The same for width 1, reading the values from an LSB-first bitmap whose bits
 * past n are zero (definition levels of a flat nullable column). */
int pq_rle_encode_bits(const uint8_t *bits, size_t n, st_buf_t *out);

/* ---- PLAIN ---- */

/* Appends the PLAIN form (4-byte LE length + bytes) of the valid values among
 * rows [row0, row0+n) of an Arrow string/binary column. validity NULL = all
 * valid. */
int pq_plain_bytes(st_buf_t *out, const int32_t *offsets, const uint8_t *data,
                   const uint8_t *validity, int64_t row0, int64_t n);

/* ---- dictionaries ---- */

enum pq_dictb_kind {
    PQ_DICTB_K4,    /* 4-byte values compared by bit pattern (INT32, FLOAT) */
    PQ_DICTB_K8,    /* 8-byte values (INT64, DOUBLE) */
    PQ_DICTB_FIXED, /* FIXED_LEN_BYTE_ARRAY of `width` bytes */
    PQ_DICTB_BYTES  /* BYTE_ARRAY */
};

/* Open-addressing slot: K4/K8 keep the key inline so a probe touches one cache
 * line; FIXED/BYTES keep the entry's hash and compare bytes only on a match. */
typedef struct pq_dictb_slot {
    uint64_t key;  /* K4/K8: the value; FIXED/BYTES: the hash */
    uint32_t idx1; /* entry index + 1; 0 = empty */
    uint32_t pad;
} pq_dictb_slot_t;

typedef struct pq_dictb {
    int kind;
    int width;           /* bytes per entry for K4/K8/FIXED */
    uint32_t count;      /* entries */
    st_buf_t values;     /* the entries PLAIN-encoded: the dictionary page body */
    pq_dictb_slot_t *slots;
    uint32_t mask;       /* slots - 1 (power of two) */
    uint32_t *offs;      /* BYTES: offset of each entry's length prefix in values */
    uint32_t offs_cap;
} pq_dictb_t;

void pq_dictb_init(pq_dictb_t *d, int kind, int width);
/* Forgets the entries, keeps the allocations. */
void pq_dictb_reset(pq_dictb_t *d);
void pq_dictb_free(pq_dictb_t *d);

/* Maps n fixed-width values (K4/K8/FIXED, `width` bytes each, densely packed)
 * to entry indices in idx[], adding new entries. Stops before the first value
 * whose new entry would make the dictionary page exceed `limit` bytes; *done
 * tells how many values were mapped. */
int pq_dictb_put_fixed(pq_dictb_t *d, const uint8_t *vals, size_t n, size_t limit, uint32_t *idx,
                      size_t *done);
/* The same for the valid values among rows [row0, row0+nrows) of an Arrow
 * string/binary column: *nidx indices written, *rows_done rows consumed
 * (nulls included; < nrows only when the limit stopped it). */
int pq_dictb_put_bytes(pq_dictb_t *d, const int32_t *offsets, const uint8_t *data,
                      const uint8_t *validity, int64_t row0, int64_t nrows, size_t limit,
                      uint32_t *idx, size_t *nidx, int64_t *rows_done);
/* The bytes of entry i (for BYTES without the length prefix). */
const uint8_t *pq_dictb_entry(const pq_dictb_t *d, uint32_t i, size_t *len);

/* 64-bit hash of a byte string (exposed for tests of the dictionary). */
uint64_t pq_hash_bytes(const uint8_t *p, size_t n);

#endif
