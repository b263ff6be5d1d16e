/*
 * Thrift compact protocol decoding over an in-memory buffer, just enough for the
 * Parquet footer and page headers. Every read is bounds-checked against the end
 * of the buffer; list sizes are bounded by the bytes left (each element takes at
 * least one byte) and struct nesting by TH_MAX_DEPTH, so hostile input can make
 * a read fail but never run past the buffer, recurse without limit or ask for
 * an outsized allocation. Failures return ST_ECORRUPT with a message that starts
 * with "thrift:"; callers prefix the file name.
 */
#ifndef STRATA_PQ_THRIFT_H
#define STRATA_PQ_THRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Compact protocol type ids. */
enum {
    TH_STOP = 0, TH_TRUE = 1, TH_FALSE = 2, TH_BYTE = 3, TH_I16 = 4, TH_I32 = 5,
    TH_I64 = 6, TH_DOUBLE = 7, TH_BINARY = 8, TH_LIST = 9, TH_SET = 10, TH_MAP = 11,
    TH_STRUCT = 12
};

/* Nesting deeper than this is refused: Parquet's own structures need about 8. */
#define TH_MAX_DEPTH 64

typedef struct th_reader {
    const uint8_t *p;
    const uint8_t *end;
    int depth;
} th_reader_t;

/* Field headers of one struct: `last` carries the previous id for delta ids. */
typedef struct th_struct {
    int16_t last;
} th_struct_t;

void th_init(th_reader_t *r, const void *data, size_t n);
static inline size_t th_remaining(const th_reader_t *r) { return (size_t)(r->end - r->p); }

/* Enters / leaves a struct (depth accounting). */
int th_struct_begin(th_reader_t *r, th_struct_t *s);
void th_struct_end(th_reader_t *r);

/* Reads the next field header. *type = TH_STOP at the end of the struct. For
 * booleans the value is in the type (TH_TRUE / TH_FALSE). */
int th_field(th_reader_t *r, th_struct_t *s, int16_t *id, int *type);

/* Values. The field's wire type is checked against what the caller expects, so
 * a field of the wrong type is reported rather than misread. */
int th_read_bool(th_reader_t *r, int type, bool *out);
int th_read_i32(th_reader_t *r, int type, int32_t *out);
int th_read_i64(th_reader_t *r, int type, int64_t *out);
int th_read_double(th_reader_t *r, int type, double *out);
/* Borrows the bytes (no copy). */
int th_read_binary(th_reader_t *r, int type, const uint8_t **data, uint32_t *n);
/* Copies a binary into a new NUL-terminated string (caller frees). */
int th_read_string(th_reader_t *r, int type, char **out);

/* List or set header; *n is at most the bytes left. */
int th_list_begin(th_reader_t *r, int type, int *elem_type, uint32_t *n);
/* Reads one boolean list element. */
int th_read_list_bool(th_reader_t *r, bool *out);

/* Skips one value of the given type (any type, nested to TH_MAX_DEPTH). */
int th_skip(th_reader_t *r, int type);

/* Raw varints (exposed for tests and for the page decoders). */
int th_varint(th_reader_t *r, uint64_t *out);
static inline int64_t th_unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

#endif
