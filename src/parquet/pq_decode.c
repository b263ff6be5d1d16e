/*
 * Value and level decoders (see pq_decode.h). Hot loops work on whole runs or
 * batches: bit-packed runs are unpacked with one unaligned 64-bit load per
 * value, RLE runs are filled, dictionary indices are decoded 1024 at a time
 * and gathered with one bounds check per batch.
 */
#include "parquet/pq_decode.h"

#include <stdlib.h>
#include <string.h>

#define BATCH 1024

static int bad(const char *what) { return st_error(ST_ECORRUPT, "%s", what); }

const char *pq_encoding_name(int enc) {
    switch (enc) {
    case PQ_ENC_PLAIN: return "PLAIN";
    case 1: return "GROUP_VAR_INT";
    case PQ_ENC_PLAIN_DICTIONARY: return "PLAIN_DICTIONARY";
    case PQ_ENC_RLE: return "RLE";
    case PQ_ENC_BIT_PACKED: return "BIT_PACKED";
    case PQ_ENC_DELTA_BINARY_PACKED: return "DELTA_BINARY_PACKED";
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY: return "DELTA_LENGTH_BYTE_ARRAY";
    case PQ_ENC_DELTA_BYTE_ARRAY: return "DELTA_BYTE_ARRAY";
    case PQ_ENC_RLE_DICTIONARY: return "RLE_DICTIONARY";
    case PQ_ENC_BYTE_STREAM_SPLIT: return "BYTE_STREAM_SPLIT";
    default: return NULL;
    }
}

/* ---- bit helpers ----------------------------------------------------------- */

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline uint32_t load32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static inline bool get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && p < end; shift += 7) {
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            *pp = p;
            return true;
        }
    }
    return false;
}

int pq_bit_width(uint64_t max) {
    int w = 0;
    while (max) {
        w++;
        max >>= 1;
    }
    return w;
}

static inline uint64_t mask_of(int bw) { return bw >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << bw) - 1; }

/* Value `i` of a bit-packed sequence when fewer than 16 bytes follow it. */
static uint64_t get_bits_slow(const uint8_t *p, size_t avail, uint64_t bit, int bw) {
    uint8_t tmp[16] = {0};
    size_t byte = (size_t)(bit >> 3);
    if (byte < avail) memcpy(tmp, p + byte, avail - byte < 16 ? avail - byte : 16);
    unsigned s = (unsigned)(bit & 7);
    uint64_t lo = load64(tmp), hi = load64(tmp + 8);
    uint64_t v = s ? (lo >> s) | (hi << (64 - s)) : lo;
    return v & mask_of(bw);
}

static void unpack32_at(const uint8_t *p, size_t avail, int bw, uint64_t start, uint32_t *out, size_t n) {
    if (bw == 0) {
        memset(out, 0, n * sizeof *out);
        return;
    }
    const uint64_t mask = mask_of(bw);
    size_t i = 0;
    /* Values whose 8-byte load stays inside the buffer take the fast path. */
    uint64_t safe_end = avail >= 8 ? ((uint64_t)(avail - 8) * 8) / (unsigned)bw + 1 : 0;
    size_t fast = safe_end > start ? (size_t)(safe_end - start < n ? safe_end - start : n) : 0;
    uint64_t bit = start * (uint64_t)bw;
    for (; i < fast; i++, bit += (unsigned)bw) out[i] = (uint32_t)((load64(p + (bit >> 3)) >> (bit & 7)) & mask);
    for (; i < n; i++, bit += (unsigned)bw) out[i] = (uint32_t)get_bits_slow(p, avail, bit, bw);
}

static void unpack64_at(const uint8_t *p, size_t avail, int bw, uint64_t start, uint64_t *out, size_t n) {
    if (bw == 0) {
        memset(out, 0, n * sizeof *out);
        return;
    }
    const uint64_t mask = mask_of(bw);
    size_t i = 0;
    uint64_t bit = start * (uint64_t)bw;
    if (bw <= 56) {
        uint64_t safe_end = avail >= 8 ? ((uint64_t)(avail - 8) * 8) / (unsigned)bw + 1 : 0;
        size_t fast = safe_end > start ? (size_t)(safe_end - start < n ? safe_end - start : n) : 0;
        for (; i < fast; i++, bit += (unsigned)bw) out[i] = (load64(p + (bit >> 3)) >> (bit & 7)) & mask;
    } else {
        uint64_t safe_end = avail >= 16 ? ((uint64_t)(avail - 16) * 8) / (unsigned)bw + 1 : 0;
        size_t fast = safe_end > start ? (size_t)(safe_end - start < n ? safe_end - start : n) : 0;
        for (; i < fast; i++, bit += (unsigned)bw) {
            const uint8_t *q = p + (bit >> 3);
            unsigned s = (unsigned)(bit & 7);
            uint64_t lo = load64(q), hi = load64(q + 8);
            out[i] = (s ? (lo >> s) | (hi << (64 - s)) : lo) & mask;
        }
    }
    for (; i < n; i++, bit += (unsigned)bw) out[i] = get_bits_slow(p, avail, bit, bw);
}

void pq_unpack32(const uint8_t *p, size_t avail, int bw, uint32_t *out, size_t n) {
    unpack32_at(p, avail, bw, 0, out, n);
}

void pq_unpack64(const uint8_t *p, size_t avail, int bw, uint64_t *out, size_t n) {
    unpack64_at(p, avail, bw, 0, out, n);
}

/* ---- RLE / bit-packed hybrid ----------------------------------------------- */

void pq_rle_init(pq_rle_t *r, const uint8_t *p, size_t n, int bw) {
    memset(r, 0, sizeof *r);
    r->p = p;
    r->end = p + n;
    r->bw = bw;
}

static int rle_next_run(pq_rle_t *r) {
    uint64_t h;
    if (r->p >= r->end) return bad("RLE data ends before all values are decoded");
    if (!get_varint(&r->p, r->end, &h)) return bad("truncated RLE run header");
    if (h & 1) {
        uint64_t groups = h >> 1;
        size_t avail = (size_t)(r->end - r->p);
        if (r->bw == 0) {
            if (groups > ((uint64_t)1 << 56)) groups = (uint64_t)1 << 56;
            r->bp = r->p;
            r->bp_bytes = 0;
            r->bp_left = groups * 8;
        } else {
            uint64_t bytes = groups <= avail ? groups * (unsigned)r->bw : UINT64_MAX;
            uint64_t values = groups * 8;
            if (bytes > avail) {
                /* The last run may be cut short: decode what is really there. */
                bytes = avail;
                values = (uint64_t)avail * 8 / (unsigned)r->bw;
            }
            r->bp = r->p;
            r->bp_bytes = (size_t)bytes;
            r->bp_left = values;
            r->p += bytes;
        }
        r->bp_pos = 0;
    } else {
        int vb = (r->bw + 7) / 8;
        if (r->end - r->p < vb) return bad("truncated RLE run value");
        uint32_t v = 0;
        for (int i = 0; i < vb; i++) v |= (uint32_t)r->p[i] << (8 * i);
        r->p += vb;
        if ((uint64_t)v > mask_of(r->bw)) return bad("RLE run value wider than its bit width");
        r->rle_value = v;
        r->rle_left = h >> 1;
    }
    return ST_OK;
}

int pq_rle_get(pq_rle_t *r, uint32_t *out, size_t n) {
    while (n > 0) {
        if (r->rle_left) {
            size_t k = r->rle_left < n ? (size_t)r->rle_left : n;
            uint32_t v = r->rle_value;
            for (size_t i = 0; i < k; i++) out[i] = v;
            out += k;
            n -= k;
            r->rle_left -= k;
        } else if (r->bp_left) {
            size_t k = r->bp_left < n ? (size_t)r->bp_left : n;
            unpack32_at(r->bp, r->bp_bytes, r->bw, r->bp_pos, out, k);
            r->bp_pos += k;
            r->bp_left -= k;
            out += k;
            n -= k;
        } else {
            int rc = rle_next_run(r);
            if (rc) return rc;
        }
    }
    return ST_OK;
}

static int levels_rle(const uint8_t *p, size_t len, int bw, int16_t max, size_t n, int16_t *out,
                      size_t *count_max) {
    pq_rle_t r;
    pq_rle_init(&r, p, len, bw);
    size_t cnt = 0;
    uint32_t tmp[BATCH];
    while (n > 0) {
        if (r.rle_left) {
            size_t k = r.rle_left < n ? (size_t)r.rle_left : n;
            if (r.rle_value > (uint32_t)max) return bad("level above the column's maximum");
            int16_t v = (int16_t)r.rle_value;
            for (size_t i = 0; i < k; i++) out[i] = v;
            if (v == max) cnt += k;
            out += k;
            n -= k;
            r.rle_left -= k;
        } else if (r.bp_left) {
            size_t k = r.bp_left < n ? (size_t)r.bp_left : n;
            if (k > BATCH) k = BATCH;
            unpack32_at(r.bp, r.bp_bytes, bw, r.bp_pos, tmp, k);
            uint32_t hi = 0;
            size_t c = 0;
            for (size_t i = 0; i < k; i++) {
                uint32_t v = tmp[i];
                hi |= (v > (uint32_t)max);
                c += (v == (uint32_t)max);
                out[i] = (int16_t)v;
            }
            if (hi) return bad("level above the column's maximum");
            cnt += c;
            r.bp_pos += k;
            r.bp_left -= k;
            out += k;
            n -= k;
        } else {
            int rc = rle_next_run(&r);
            if (rc) return rc;
        }
    }
    *count_max = cnt;
    return ST_OK;
}

/* The deprecated BIT_PACKED encoding packs from the most significant bit. */
static int levels_bit_packed(const uint8_t *p, size_t len, int bw, int16_t max, size_t n, int16_t *out,
                             size_t *count_max) {
    if ((uint64_t)n * (unsigned)bw > (uint64_t)len * 8) return bad("BIT_PACKED levels end before all values");
    size_t cnt = 0;
    uint64_t bit = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = 0;
        for (int b = 0; b < bw; b++, bit++) v = (v << 1) | ((p[bit >> 3] >> (7 - (bit & 7))) & 1);
        if (v > (uint32_t)max) return bad("level above the column's maximum");
        out[i] = (int16_t)v;
        cnt += v == (uint32_t)max;
    }
    *count_max = cnt;
    return ST_OK;
}

int pq_decode_levels(int encoding, const uint8_t *p, size_t len, int16_t max, size_t n, int16_t *out,
                     size_t *count_max) {
    int bw = pq_bit_width((uint64_t)(max < 0 ? 0 : max));
    if (encoding == PQ_ENC_RLE) return levels_rle(p, len, bw, max, n, out, count_max);
    if (encoding == PQ_ENC_BIT_PACKED) return levels_bit_packed(p, len, bw, max, n, out, count_max);
    return st_error(ST_EUNSUPPORTED, "level encoding %d is not supported", encoding);
}

/* ---- output ----------------------------------------------------------------- */

int pq_physical_width(int physical, int type_length) {
    switch (physical) {
    case PQ_BOOLEAN: return 1;
    case PQ_INT32:
    case PQ_FLOAT: return 4;
    case PQ_INT64:
    case PQ_DOUBLE: return 8;
    case PQ_INT96: return 12;
    case PQ_FIXED_LEN_BYTE_ARRAY: return type_length;
    default: return 0;
    }
}

int pq_out_init(pq_out_t *o, int physical, int type_length, uint64_t limit) {
    memset(o, 0, sizeof *o);
    o->physical = physical;
    o->width = pq_physical_width(physical, type_length);
    o->limit = limit;
    if (physical == PQ_FIXED_LEN_BYTE_ARRAY && type_length <= 0) return bad("bad FIXED_LEN_BYTE_ARRAY length");
    if (physical == PQ_BYTE_ARRAY) {
        if (limit > UINT32_MAX) o->limit = UINT32_MAX;
        o->offsets = malloc(16 * sizeof(uint32_t));
        if (!o->offsets) return st_error(ST_ENOMEM, "out of memory");
        o->off_cap = 16;
        o->offsets[0] = 0;
    }
    return ST_OK;
}

void pq_out_free(pq_out_t *o) {
    st_buf_free(&o->data);
    free(o->offsets);
    o->offsets = NULL;
    o->off_cap = 0;
    o->count = 0;
}

static int limit_hit(const pq_out_t *o) {
    return st_error(ST_ENOMEM, "decoded column chunk exceeds the reader's limit of %llu bytes",
                    (unsigned long long)o->limit);
}

/* Room for `bytes` more data bytes, within the limit. */
static int out_data(pq_out_t *o, uint64_t bytes) {
    if (bytes > o->limit || o->data.len > o->limit - bytes) return limit_hit(o);
    /* At least one byte, so data is never NULL once a decoder has run. */
    return st_buf_reserve(&o->data, bytes ? (size_t)bytes : 1);
}

int pq_out_reserve(pq_out_t *o, size_t n) {
    if (o->width) return out_data(o, (uint64_t)n * (unsigned)o->width);
    uint64_t need = (uint64_t)o->count + n + 1;
    if (need > o->off_cap) {
        if (need > (uint64_t)SIZE_MAX / sizeof(uint32_t) || need > ((uint64_t)1 << 40)) return limit_hit(o);
        size_t cap = o->off_cap * 2;
        if (cap < need) cap = (size_t)need;
        uint32_t *q = realloc(o->offsets, cap * sizeof(uint32_t));
        if (!q) return st_error(ST_ENOMEM, "out of memory (%zu offsets)", cap);
        o->offsets = q;
        o->off_cap = cap;
    }
    return ST_OK;
}

/* ---- PLAIN ------------------------------------------------------------------- */

static int plain_bool(pq_out_t *o, const uint8_t *p, size_t len, size_t n, size_t *used) {
    if (n > (uint64_t)len * 8) return bad("PLAIN booleans end before all values");
    int rc = pq_out_reserve(o, n);
    if (rc) return rc;
    uint8_t *dst = o->data.data + o->data.len;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint8_t b = p[i >> 3];
        for (int k = 0; k < 8; k++) dst[i + k] = (b >> k) & 1;
    }
    for (; i < n; i++) dst[i] = (p[i >> 3] >> (i & 7)) & 1;
    o->data.len += n;
    o->count += (int64_t)n;
    *used = (n + 7) / 8;
    return ST_OK;
}

static int plain_byte_array(pq_out_t *o, const uint8_t *p, size_t len, size_t n, size_t *used) {
    if (n > len / 4) return bad("PLAIN byte arrays end before all values");
    int rc = pq_out_reserve(o, n);
    /* 16 spare bytes let short values be copied as one 16-byte block. */
    if (!rc) rc = out_data(o, len - 4 * n + 16);
    if (rc) return rc;
    const uint8_t *q = p, *end = p + len;
    uint8_t *dst = o->data.data;
    size_t dlen = o->data.len;
    uint32_t *off = o->offsets + o->count + 1;
    for (size_t i = 0; i < n; i++) {
        if (end - q < 4) return bad("PLAIN byte array length past the end of the page");
        uint32_t l = load32(q);
        q += 4;
        /* The output was sized assuming every later value still has its
         * 4-byte length: hold each value to that budget. */
        size_t rest = (size_t)(end - q), later = 4 * (n - 1 - i);
        if (rest < later || l > rest - later) return bad("PLAIN byte array past the end of the page");
        if (l <= 16 && rest >= 16) memcpy(dst + dlen, q, 16);
        else memcpy(dst + dlen, q, l);
        q += l;
        dlen += l;
        off[i] = (uint32_t)dlen;
    }
    o->data.len = dlen;
    o->count += (int64_t)n;
    *used = (size_t)(q - p);
    return ST_OK;
}

int pq_decode_plain(pq_out_t *o, const uint8_t *p, size_t len, size_t n, size_t *used) {
    if (o->physical == PQ_BOOLEAN) return plain_bool(o, p, len, n, used);
    if (o->physical == PQ_BYTE_ARRAY) return plain_byte_array(o, p, len, n, used);
    uint64_t bytes = (uint64_t)n * (unsigned)o->width;
    if (bytes > len) return bad("PLAIN values end before all values");
    int rc = out_data(o, bytes);
    if (rc) return rc;
    if (bytes) memcpy(o->data.data + o->data.len, p, (size_t)bytes);
    o->data.len += (size_t)bytes;
    o->count += (int64_t)n;
    *used = (size_t)bytes;
    return ST_OK;
}

/* ---- dictionary ------------------------------------------------------------- */

static int gather_byte_array(pq_out_t *o, const pq_dict_t *d, const uint32_t *idx, size_t k) {
    const uint32_t *doff = d->offsets;
    uint64_t total = 0;
    for (size_t i = 0; i < k; i++) total += doff[idx[i] + 1] - doff[idx[i]];
    int rc = out_data(o, total + 16);
    if (rc) return rc;
    uint8_t *dst = o->data.data;
    size_t dlen = o->data.len;
    uint32_t *off = o->offsets + o->count + 1;
    if (d->padded) {
        /* Short values (the common case) move as one 16-byte block; both
         * buffers have 16 spare bytes. */
        for (size_t i = 0; i < k; i++) {
            uint32_t a = doff[idx[i]], l = doff[idx[i] + 1] - a;
            if (l <= 16) memcpy(dst + dlen, d->values + a, 16);
            else memcpy(dst + dlen, d->values + a, l);
            dlen += l;
            off[i] = (uint32_t)dlen;
        }
    } else {
        for (size_t i = 0; i < k; i++) {
            uint32_t a = doff[idx[i]], l = doff[idx[i] + 1] - a;
            memcpy(dst + dlen, d->values + a, l);
            dlen += l;
            off[i] = (uint32_t)dlen;
        }
    }
    o->data.len = dlen;
    return ST_OK;
}

static void gather_fixed(pq_out_t *o, const pq_dict_t *d, const uint32_t *idx, size_t k) {
    uint8_t *dst = o->data.data + o->data.len;
    const uint8_t *v = d->values;
    switch (d->width) {
    case 1:
        for (size_t i = 0; i < k; i++) dst[i] = v[idx[i]];
        break;
    case 4:
        for (size_t i = 0; i < k; i++) memcpy(dst + 4 * i, v + 4 * (size_t)idx[i], 4);
        break;
    case 8:
        for (size_t i = 0; i < k; i++) memcpy(dst + 8 * i, v + 8 * (size_t)idx[i], 8);
        break;
    case 12:
        for (size_t i = 0; i < k; i++) memcpy(dst + 12 * i, v + 12 * (size_t)idx[i], 12);
        break;
    default: {
        size_t w = (size_t)d->width;
        for (size_t i = 0; i < k; i++) memcpy(dst + w * i, v + w * idx[i], w);
    }
    }
    o->data.len += k * (size_t)d->width;
}

int pq_decode_dict(pq_out_t *o, const pq_dict_t *d, const uint8_t *p, size_t len, size_t n) {
    if (n == 0) return ST_OK;
    if (!d) return bad("dictionary-encoded page without a dictionary page");
    if (len < 1) return bad("dictionary-encoded page without a bit width");
    int bw = p[0];
    if (bw > 32) return bad("dictionary index bit width above 32");
    if (d->n == 0) return bad("dictionary-encoded values with an empty dictionary");
    if (d->width != o->width) return bad("dictionary and column widths differ");
    int rc = pq_out_reserve(o, n);
    if (rc) return rc;
    pq_rle_t r;
    pq_rle_init(&r, p + 1, len - 1, bw);
    uint32_t idx[BATCH];
    const uint32_t dn = d->n;
    while (n > 0) {
        size_t k = n < BATCH ? n : BATCH;
        if ((rc = pq_rle_get(&r, idx, k))) return rc;
        uint32_t bad_idx = 0;
        for (size_t i = 0; i < k; i++) bad_idx |= (idx[i] >= dn);
        if (bad_idx) return bad("dictionary index out of range");
        if (o->width) gather_fixed(o, d, idx, k);
        else if ((rc = gather_byte_array(o, d, idx, k))) return rc;
        o->count += (int64_t)k;
        n -= k;
    }
    return ST_OK;
}

/* ---- RLE booleans ----------------------------------------------------------- */

int pq_decode_rle_bool(pq_out_t *o, const uint8_t *p, size_t len, size_t n) {
    if (o->physical != PQ_BOOLEAN) return bad("RLE value encoding on a non-boolean column");
    if (n == 0) return ST_OK;
    if (len < 4) return bad("RLE booleans without a length prefix");
    uint32_t l = load32(p);
    if (l > len - 4) return bad("RLE boolean length past the end of the page");
    int rc = pq_out_reserve(o, n);
    if (rc) return rc;
    pq_rle_t r;
    pq_rle_init(&r, p + 4, l, 1);
    uint32_t tmp[BATCH];
    while (n > 0) {
        size_t k = n < BATCH ? n : BATCH;
        if ((rc = pq_rle_get(&r, tmp, k))) return rc;
        uint8_t *dst = o->data.data + o->data.len;
        for (size_t i = 0; i < k; i++) dst[i] = (uint8_t)tmp[i];
        o->data.len += k;
        o->count += (int64_t)k;
        n -= k;
    }
    return ST_OK;
}

/* ---- DELTA_BINARY_PACKED ---------------------------------------------------- */

typedef struct delta_hdr {
    uint64_t block, mbs, total;
    int64_t first;
    const uint8_t *p; /* first block */
} delta_hdr_t;

static int delta_header(const uint8_t *p, size_t len, delta_hdr_t *h) {
    const uint8_t *end = p + len;
    uint64_t first;
    if (!get_varint(&p, end, &h->block) || !get_varint(&p, end, &h->mbs) || !get_varint(&p, end, &h->total) ||
        !get_varint(&p, end, &first))
        return bad("truncated DELTA_BINARY_PACKED header");
    h->first = (int64_t)(first >> 1) ^ -(int64_t)(first & 1);
    if (h->block == 0 || h->block % 128 != 0 || h->block > ((uint64_t)1 << 20))
        return bad("DELTA_BINARY_PACKED block size is not a positive multiple of 128");
    if (h->mbs == 0 || h->mbs > h->block / 32 || h->block % h->mbs != 0 || (h->block / h->mbs) % 32 != 0)
        return bad("DELTA_BINARY_PACKED miniblock count does not divide the block into multiples of 32");
    h->p = p;
    return ST_OK;
}

int pq_delta_count(const uint8_t *p, size_t len, uint64_t *total) {
    delta_hdr_t h;
    int rc = delta_header(p, len, &h);
    if (!rc) *total = h.total;
    return rc;
}

/* Decodes n values into out32 or out64 (one of them non-NULL). */
static int delta_run(const uint8_t *p, size_t len, size_t n, int32_t *out32, int64_t *out64, size_t *used,
                     uint64_t *total) {
    delta_hdr_t h;
    int rc = delta_header(p, len, &h);
    if (rc) return rc;
    if (total) *total = h.total;
    if (h.total < n) return bad("DELTA_BINARY_PACKED stream holds fewer values than the page");
    const uint8_t *q = h.p, *end = p + len;
    if (n == 0) {
        *used = (size_t)(q - p);
        return ST_OK;
    }
    /* Up to 64 bits even for INT32: some writers (DuckDB) take deltas in 64
     * bits, and the sums are right modulo 2^32 either way. */
    const int maxbw = 64;
    const uint64_t per_mb = h.block / h.mbs;
    uint64_t v = (uint64_t)h.first;
    if (out32) out32[0] = (int32_t)(uint32_t)v;
    else out64[0] = (int64_t)v;
    size_t done = 1;
    uint64_t tmp[256];
    while (done < n) {
        uint64_t md;
        if (!get_varint(&q, end, &md)) return bad("truncated DELTA_BINARY_PACKED block header");
        uint64_t min_delta = (uint64_t)((int64_t)(md >> 1) ^ -(int64_t)(md & 1));
        if ((uint64_t)(end - q) < h.mbs) return bad("truncated DELTA_BINARY_PACKED bit widths");
        const uint8_t *widths = q;
        q += h.mbs;
        for (uint64_t m = 0; m < h.mbs && done < n; m++) {
            int bw = widths[m];
            if (bw > maxbw) return bad("DELTA_BINARY_PACKED bit width too large for the type");
            uint64_t mb_bytes = per_mb * (unsigned)bw / 8;
            size_t want = n - done < per_mb ? n - done : (size_t)per_mb;
            size_t avail = (size_t)(end - q);
            if (mb_bytes > avail) {
                /* Tolerate a last miniblock cut short after its real values. */
                if (((uint64_t)want * (unsigned)bw + 7) / 8 > avail)
                    return bad("DELTA_BINARY_PACKED miniblock past the end of the data");
                mb_bytes = avail;
            }
            for (size_t off = 0; off < want;) {
                size_t k = want - off < 256 ? want - off : 256;
                unpack64_at(q, (size_t)mb_bytes, bw, off, tmp, k);
                if (out32) {
                    int32_t *o = out32 + done;
                    for (size_t i = 0; i < k; i++) {
                        v += min_delta + tmp[i];
                        o[i] = (int32_t)(uint32_t)v;
                    }
                } else {
                    int64_t *o = out64 + done;
                    for (size_t i = 0; i < k; i++) {
                        v += min_delta + tmp[i];
                        o[i] = (int64_t)v;
                    }
                }
                off += k;
                done += k;
            }
            q += mb_bytes;
        }
    }
    *used = (size_t)(q - p);
    return ST_OK;
}

int pq_delta_decode(const uint8_t *p, size_t len, bool is32, int64_t *out, size_t n, size_t *used,
                    uint64_t *total) {
    size_t u = 0;
    int rc = delta_run(p, len, n, NULL, out, &u, total);
    if (rc) return rc;
    if (is32)
        for (size_t i = 0; i < n; i++) out[i] = (int32_t)(uint32_t)out[i];
    if (used) *used = u;
    return ST_OK;
}

int pq_decode_delta_binary(pq_out_t *o, const uint8_t *p, size_t len, size_t n) {
    if (o->physical != PQ_INT32 && o->physical != PQ_INT64)
        return bad("DELTA_BINARY_PACKED on a column that is not INT32 or INT64");
    int rc = pq_out_reserve(o, n);
    if (rc) return rc;
    size_t used;
    uint8_t *dst = o->data.data + o->data.len;
    /* The output buffer is malloc-aligned and grows in whole values. */
    if (o->physical == PQ_INT32) rc = delta_run(p, len, n, (int32_t *)(void *)dst, NULL, &used, NULL);
    else rc = delta_run(p, len, n, NULL, (int64_t *)(void *)dst, &used, NULL);
    if (rc) return rc;
    o->data.len += n * (size_t)o->width;
    o->count += (int64_t)n;
    return ST_OK;
}

/* Lengths of a DELTA_LENGTH / DELTA_BYTE_ARRAY stream: exactly n, each >= 0. */
static int delta_lengths(const uint8_t *p, size_t len, size_t n, int64_t **out, size_t *used) {
    uint64_t total;
    int rc = pq_delta_count(p, len, &total);
    if (rc) return rc;
    if (total != n) return bad("delta length stream count differs from the page's value count");
    int64_t *v = malloc((n ? n : 1) * sizeof(int64_t));
    if (!v) return st_error(ST_ENOMEM, "out of memory");
    rc = delta_run(p, len, n, NULL, v, used, NULL);
    if (!rc)
        for (size_t i = 0; i < n; i++)
            if (v[i] < 0 || v[i] > (int64_t)UINT32_MAX) {
                rc = bad("negative or oversized length in a delta length stream");
                break;
            }
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    return ST_OK;
}

int pq_decode_delta_length(pq_out_t *o, const uint8_t *p, size_t len, size_t n) {
    if (o->physical != PQ_BYTE_ARRAY) return bad("DELTA_LENGTH_BYTE_ARRAY on a column that is not BYTE_ARRAY");
    int64_t *lens;
    size_t used;
    int rc = delta_lengths(p, len, n, &lens, &used);
    if (rc) return rc;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += (uint64_t)lens[i];
    if (sum > len - used) rc = bad("DELTA_LENGTH_BYTE_ARRAY data past the end of the page");
    if (!rc) rc = pq_out_reserve(o, n);
    if (!rc) rc = out_data(o, sum);
    if (!rc) {
        if (sum) memcpy(o->data.data + o->data.len, p + used, (size_t)sum);
        uint32_t *off = o->offsets + o->count + 1;
        uint32_t at = (uint32_t)o->data.len;
        for (size_t i = 0; i < n; i++) {
            at += (uint32_t)lens[i];
            off[i] = at;
        }
        o->data.len += (size_t)sum;
        o->count += (int64_t)n;
    }
    free(lens);
    return rc;
}

int pq_decode_delta_byte_array(pq_out_t *o, const uint8_t *p, size_t len, size_t n) {
    if (o->physical != PQ_BYTE_ARRAY && o->physical != PQ_FIXED_LEN_BYTE_ARRAY)
        return bad("DELTA_BYTE_ARRAY on a column that is not a byte array");
    int64_t *pre = NULL, *suf = NULL;
    size_t u1, u2;
    int rc = delta_lengths(p, len, n, &pre, &u1);
    if (!rc) rc = delta_lengths(p + u1, len - u1, n, &suf, &u2);
    if (rc) goto out;
    const uint8_t *data = p + u1 + u2;
    size_t dlen = len - u1 - u2;
    /* Sizes first: the output can be much larger than the page, so it is
     * checked against the limit before anything is allocated. */
    uint64_t prev = 0, total = 0, sufsum = 0;
    for (size_t i = 0; i < n; i++) {
        if ((uint64_t)pre[i] > prev) {
            rc = bad("DELTA_BYTE_ARRAY prefix longer than the previous value");
            goto out;
        }
        sufsum += (uint64_t)suf[i];
        if (sufsum > dlen) {
            rc = bad("DELTA_BYTE_ARRAY suffixes past the end of the page");
            goto out;
        }
        prev = (uint64_t)pre[i] + (uint64_t)suf[i];
        if (o->width && prev != (uint64_t)o->width) {
            rc = bad("DELTA_BYTE_ARRAY value length differs from the fixed length");
            goto out;
        }
        total += prev;
        if (total > o->limit) {
            rc = limit_hit(o);
            goto out;
        }
    }
    if ((rc = pq_out_reserve(o, n)) || (o->width == 0 && (rc = out_data(o, total)))) goto out;
    uint8_t *dst = o->data.data;
    size_t at = o->data.len, prev_at = at;
    const uint8_t *s = data;
    for (size_t i = 0; i < n; i++) {
        size_t pl = (size_t)pre[i], sl = (size_t)suf[i];
        if (pl) memmove(dst + at, dst + prev_at, pl);
        memcpy(dst + at + pl, s, sl);
        s += sl;
        prev_at = at;
        at += pl + sl;
        if (!o->width) o->offsets[o->count + 1 + (int64_t)i] = (uint32_t)at;
    }
    o->data.len = at;
    o->count += (int64_t)n;
out:
    free(pre);
    free(suf);
    return rc;
}

/* ---- BYTE_STREAM_SPLIT ------------------------------------------------------ */

int pq_decode_byte_stream_split(pq_out_t *o, const uint8_t *p, size_t len, size_t n) {
    if (o->width == 0 || o->physical == PQ_BOOLEAN) return bad("BYTE_STREAM_SPLIT on a variable-width column");
    size_t w = (size_t)o->width;
    size_t stride = len / w;
    if (stride < n) return bad("BYTE_STREAM_SPLIT data shorter than its values");
    int rc = pq_out_reserve(o, n);
    if (rc) return rc;
    uint8_t *dst = o->data.data + o->data.len;
    if (w == 4) {
        const uint8_t *s0 = p, *s1 = p + stride, *s2 = p + 2 * stride, *s3 = p + 3 * stride;
        for (size_t i = 0; i < n; i++) {
            dst[4 * i] = s0[i];
            dst[4 * i + 1] = s1[i];
            dst[4 * i + 2] = s2[i];
            dst[4 * i + 3] = s3[i];
        }
    } else if (w == 8) {
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < 8; k++) dst[8 * i + k] = p[k * stride + i];
    } else {
        for (size_t k = 0; k < w; k++) {
            const uint8_t *s = p + k * stride;
            for (size_t i = 0; i < n; i++) dst[w * i + k] = s[i];
        }
    }
    o->data.len += n * w;
    o->count += (int64_t)n;
    return ST_OK;
}
