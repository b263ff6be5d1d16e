/*
 * Compression codecs for Parquet pages, each a struct of function pointers so a
 * codec plugs in without touching the page code. Decompression targets a buffer
 * of the exact size the page header promises and fails (ST_ECORRUPT) if the
 * compressed bytes do not produce exactly that many.
 */
#ifndef STRATA_PQ_CODEC_H
#define STRATA_PQ_CODEC_H

#include "strata/parquet.h"

typedef struct pq_codec {
    st_codec_t id;
    const char *name;
    /* Appends the compressed form of src[0..n) to out. NULL: cannot write. */
    int (*compress)(const uint8_t *src, size_t n, int level, st_buf_t *out);
    /* Decompresses src[0..n) into exactly dst_len bytes at dst. */
    int (*decompress)(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len);
} pq_codec_t;

/* The codec for a parquet CompressionCodec value, or NULL (unknown / LZO). */
const pq_codec_t *pq_codec_find(int id);

#endif
