/*
 * Parquet value and level decoders over one page's bytes. They are pure
 * functions of their input: every read is checked against the given length and
 * every count against what the bytes can hold, and a failure returns
 * ST_ECORRUPT (or ST_ENOMEM when an output would pass its size limit) with a
 * message that says what is wrong but not where; the page reader prefixes the
 * file, row group and column.
 *
 * Values are appended to a pq_out_t in the layout of pq_column_data_t: fixed
 * width types packed (BOOLEAN one byte each), BYTE_ARRAY as data bytes plus
 * uint32 end offsets.
 */
#ifndef STRATA_PQ_DECODE_H
#define STRATA_PQ_DECODE_H

#include "parquet/pq_internal.h"

/* Parquet Encoding enum. */
enum pq_encoding {
    PQ_ENC_PLAIN = 0, PQ_ENC_PLAIN_DICTIONARY = 2, PQ_ENC_RLE = 3, PQ_ENC_BIT_PACKED = 4,
    PQ_ENC_DELTA_BINARY_PACKED = 5, PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    PQ_ENC_DELTA_BYTE_ARRAY = 7, PQ_ENC_RLE_DICTIONARY = 8, PQ_ENC_BYTE_STREAM_SPLIT = 9
};

/* Name of an Encoding value ("RLE_DICTIONARY"), or NULL if unknown. */
const char *pq_encoding_name(int enc);

/* ---- RLE / bit-packed hybrid ---------------------------------------------- */

typedef struct pq_rle {
    const uint8_t *p, *end;
    int bw;
    uint64_t rle_left;      /* values left in the current RLE run */
    uint32_t rle_value;
    uint64_t bp_left;       /* values left in the current bit-packed run */
    const uint8_t *bp;      /* start of the current bit-packed run */
    size_t bp_bytes;        /* readable bytes of that run */
    uint64_t bp_pos;        /* next value index inside it */
} pq_rle_t;

/* bw must be 0..32 (checked by the caller). */
void pq_rle_init(pq_rle_t *r, const uint8_t *p, size_t n, int bw);
/* Next n values; ST_ECORRUPT if the runs end first or a value is wider than bw. */
int pq_rle_get(pq_rle_t *r, uint32_t *out, size_t n);

/* Bits needed for values 0..max. */
int pq_bit_width(uint64_t max);

/* Decodes n levels (RLE hybrid without length prefix, or legacy BIT_PACKED)
 * with values 0..max into out, and counts the levels equal to max. */
int pq_decode_levels(int encoding, const uint8_t *p, size_t len, int16_t max, size_t n,
                     int16_t *out, size_t *count_max);

/* Unpacks n LSB-first values of bw bits (bw <= 64) from p[0..avail); avail must
 * cover ceil(n * bw / 8) bytes. */
void pq_unpack64(const uint8_t *p, size_t avail, int bw, uint64_t *out, size_t n);
void pq_unpack32(const uint8_t *p, size_t avail, int bw, uint32_t *out, size_t n);

/* ---- value output --------------------------------------------------------- */

typedef struct pq_out {
    int physical;
    int width;           /* bytes per value; 0 for BYTE_ARRAY */
    st_buf_t data;
    uint32_t *offsets;   /* BYTE_ARRAY: count + 1 end offsets, offsets[0] = 0 */
    size_t off_cap;      /* entries allocated */
    int64_t count;
    uint64_t limit;      /* data may not grow beyond this many bytes */
} pq_out_t;

/* Bytes of one PLAIN value of a fixed-width physical type (BOOLEAN decoded
 * to one byte each); 0 for BYTE_ARRAY. */
int pq_physical_width(int physical, int type_length);

/* Prepares an empty output for a physical type (type_length for FLBA). */
int pq_out_init(pq_out_t *o, int physical, int type_length, uint64_t limit);
/* Room for n more values (offsets for BYTE_ARRAY, data for fixed width). */
int pq_out_reserve(pq_out_t *o, size_t n);
void pq_out_free(pq_out_t *o);

/* A decoded dictionary: values in the same layout as pq_out_t. */
typedef struct pq_dict {
    int width;               /* 0 for BYTE_ARRAY */
    uint32_t n;
    const uint8_t *values;
    const uint32_t *offsets; /* BYTE_ARRAY: n + 1 offsets */
    bool padded;             /* 16 readable bytes follow the last value */
} pq_dict_t;

/* PLAIN: n values from p[0..len); *used gets the bytes consumed. */
int pq_decode_plain(pq_out_t *o, const uint8_t *p, size_t len, size_t n, size_t *used);
/* PLAIN_DICTIONARY / RLE_DICTIONARY data: bit-width byte then indices. */
int pq_decode_dict(pq_out_t *o, const pq_dict_t *d, const uint8_t *p, size_t len, size_t n);
/* RLE-encoded BOOLEAN values (4-byte length prefix then bw = 1 hybrid). */
int pq_decode_rle_bool(pq_out_t *o, const uint8_t *p, size_t len, size_t n);
/* DELTA_BINARY_PACKED for INT32 / INT64 outputs. */
int pq_decode_delta_binary(pq_out_t *o, const uint8_t *p, size_t len, size_t n);
/* DELTA_LENGTH_BYTE_ARRAY (BYTE_ARRAY outputs). */
int pq_decode_delta_length(pq_out_t *o, const uint8_t *p, size_t len, size_t n);
/* DELTA_BYTE_ARRAY (BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY outputs). */
int pq_decode_delta_byte_array(pq_out_t *o, const uint8_t *p, size_t len, size_t n);
/* BYTE_STREAM_SPLIT for any fixed-width output except BOOLEAN. */
int pq_decode_byte_stream_split(pq_out_t *o, const uint8_t *p, size_t len, size_t n);

/* Raw DELTA_BINARY_PACKED stream: exactly n values into out (wrapping 32-bit
 * arithmetic when is32, values sign-extended). *used = bytes of the stream up
 * to the end of the last miniblock needed. ST_ECORRUPT if the stream holds
 * fewer than n values. *total gets the count from its header. */
int pq_delta_decode(const uint8_t *p, size_t len, bool is32, int64_t *out, size_t n, size_t *used,
                    uint64_t *total);
/* The value count from a DELTA_BINARY_PACKED header. */
int pq_delta_count(const uint8_t *p, size_t len, uint64_t *total);

#endif
