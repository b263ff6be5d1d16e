/* Encodings for the Parquet writer (see pq_encode.h). */
#include "parquet/pq_encode.h"
#include "parquet/thrift_write.h"

#include <stdlib.h>
#include <string.h>

/* ---- bitmaps ---- */

void pq_bits_copy(uint8_t *dst, uint64_t dst_off, const uint8_t *src, uint64_t src_off, uint64_t n) {
    if (n == 0) return;
    if ((dst_off & 7) == 0 && (src_off & 7) == 0) {
        uint64_t nb = n >> 3;
        memcpy(dst + (dst_off >> 3), src + (src_off >> 3), nb);
        unsigned r = (unsigned)(n & 7);
        if (r) dst[(dst_off >> 3) + nb] |= (uint8_t)(src[(src_off >> 3) + nb] & ((1u << r) - 1));
        return;
    }
    uint64_t i = 0;
    /* Align the destination, then move whole destination bytes. */
    for (; i < n && ((dst_off + i) & 7); i++)
        if (pq_bit_get(src, src_off + i)) dst[(dst_off + i) >> 3] |= (uint8_t)(1u << ((dst_off + i) & 7));
    uint8_t *d = dst + ((dst_off + i) >> 3);
    unsigned sh = (unsigned)((src_off + i) & 7);
    const uint8_t *s = src + ((src_off + i) >> 3);
    if (sh == 0) {
        uint64_t nb = (n - i) >> 3;
        memcpy(d, s, nb);
        d += nb;
        i += nb * 8;
    } else {
        /* Both source bytes lie inside the copied range while 8 bits remain. */
        for (; n - i >= 8; i += 8, s++) *d++ = (uint8_t)((s[0] >> sh) | (s[1] << (8 - sh)));
    }
    for (; i < n; i++)
        if (pq_bit_get(src, src_off + i)) dst[(dst_off + i) >> 3] |= (uint8_t)(1u << ((dst_off + i) & 7));
}

uint64_t pq_bits_count(const uint8_t *bits, uint64_t off, uint64_t n) {
    uint64_t cnt = 0, i = 0;
    for (; i < n && ((off + i) & 7); i++) cnt += pq_bit_get(bits, off + i);
    const uint8_t *p = bits + ((off + i) >> 3);
    for (; n - i >= 64; i += 64, p += 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        cnt += (uint64_t)__builtin_popcountll(w);
    }
    for (; n - i >= 8; i += 8, p++) cnt += (uint64_t)__builtin_popcount(*p);
    for (; i < n; i++) cnt += pq_bit_get(bits, off + i);
    return cnt;
}

uint64_t pq_bits_nth(const uint8_t *bits, uint64_t off, uint64_t n, uint64_t k) {
    uint64_t i = 0;
    for (; i < n && ((off + i) & 7); i++)
        if (pq_bit_get(bits, off + i) && k-- == 0) return i;
    for (; n - i >= 8; i += 8) {
        unsigned c = (unsigned)__builtin_popcount(bits[(off + i) >> 3]);
        if (c > k) break;
        k -= c;
    }
    for (; i < n; i++)
        if (pq_bit_get(bits, off + i) && k-- == 0) return i;
    return n;
}

/* ---- RLE / bit-packed hybrid ---- */

int pq_enc_bit_width(uint64_t max) { return max ? 64 - __builtin_clzll(max) : 0; }

#define PQ_MAX_GROUPS 63 /* groups of 8 per bit-packed run: one-byte header */


static uint8_t *put_rle_run(uint8_t *p, uint32_t value, uint64_t count, int width) {
    p += pq_uleb128(p, count << 1);
    for (int b = 0; b < (width + 7) / 8; b++) *p++ = (uint8_t)(value >> (8 * b));
    return p;
}

/* Bit-packs n values (n a multiple of 8, except for the very last call where
 * the missing values are padded with zeros). */
static uint8_t *put_packed(uint8_t *p, const uint32_t *v, size_t n, int width) {
    while (n > 0) {
        size_t take = n < PQ_MAX_GROUPS * 8 ? n : PQ_MAX_GROUPS * 8;
        size_t groups = (take + 7) / 8;
        *p++ = (uint8_t)(groups << 1 | 1);
        uint64_t acc = 0;
        int bits = 0;
        for (size_t k = 0; k < groups * 8; k++) {
            uint64_t x = k < take ? v[k] : 0;
            acc |= x << bits;
            bits += width;
            if (bits >= 32) {
                p[0] = (uint8_t)acc;
                p[1] = (uint8_t)(acc >> 8);
                p[2] = (uint8_t)(acc >> 16);
                p[3] = (uint8_t)(acc >> 24);
                p += 4;
                acc >>= 32;
                bits -= 32;
            }
        }
        /* groups * 8 * width bits is a whole number of bytes. */
        for (; bits > 0; bits -= 8, acc >>= 8) *p++ = (uint8_t)acc;
        v += take;
        n -= take;
    }
    return p;
}

int pq_rle_encode(const uint32_t *v, size_t n, int width, st_buf_t *out) {
    if (width < 1 || width > 32) return st_error(ST_EINVAL, "RLE encoder: bit width %d out of range", width);
    int rc = st_buf_reserve(out, (n / 8 + 2) * ((size_t)width + 12));
    if (rc) return rc;
    uint8_t *p = out->data + out->len;
    size_t i = 0, lit = 0;
    while (i < n) {
        uint32_t x = v[i];
        size_t j = i + 1;
        while (j < n && v[j] == x) j++;
        size_t run = j - i;
        /* Values of this run needed to complete the pending literal's last group. */
        size_t fill = (8 - (i - lit) % 8) % 8;
        if (run >= fill + 8) {
            p = put_packed(p, v + lit, i - lit + fill, width);
            p = put_rle_run(p, x, run - fill, width);
            lit = j;
        }
        i = j;
    }
    p = put_packed(p, v + lit, n - lit, width);
    out->len = (size_t)(p - out->data);
    return ST_OK;
}

static uint8_t *put_packed_bytes(uint8_t *p, const uint8_t *bytes, size_t nbytes) {
    while (nbytes > 0) {
        size_t take = nbytes < PQ_MAX_GROUPS ? nbytes : PQ_MAX_GROUPS;
        *p++ = (uint8_t)(take << 1 | 1);
        memcpy(p, bytes, take);
        p += take;
        bytes += take;
        nbytes -= take;
    }
    return p;
}

int pq_rle_encode_bits(const uint8_t *bits, size_t n, st_buf_t *out) {
    int rc = st_buf_reserve(out, n / 8 + n / 8 / PQ_MAX_GROUPS + 32);
    if (rc) return rc;
    uint8_t *p = out->data + out->len;
    uint64_t ones = pq_bits_count(bits, 0, n);
    if (n == 0) {
        /* nothing */
    } else if (ones == 0 || ones == n) {
        /* The common page without nulls (or only nulls): one run. */
        p = put_rle_run(p, ones ? 1 : 0, n, 1);
    } else {
        size_t nfull = n / 8, rem = n % 8;
        uint8_t tail = rem ? (uint8_t)(bits[nfull] & ((1u << rem) - 1)) : 0;
        bool tail_done = rem == 0;
        size_t i = 0, lit = 0;
        while (i < nfull) {
            uint8_t b = bits[i];
            if (b != 0 && b != 0xFF) {
                i++;
                continue;
            }
            size_t j = i + 1;
            while (j < nfull && bits[j] == b) j++;
            uint64_t count = (uint64_t)(j - i) * 8;
            bool take_tail = j == nfull && !tail_done && tail == (b ? (1u << rem) - 1 : 0);
            if (count >= 16 || take_tail) {
                p = put_packed_bytes(p, bits + lit, i - lit);
                if (take_tail) {
                    count += rem;
                    tail_done = true;
                }
                p = put_rle_run(p, b & 1, count, 1);
                lit = j;
            }
            i = j;
        }
        /* The tail byte's bits past n are zero: it joins the last literal. */
        p = put_packed_bytes(p, bits + lit, nfull - lit + (tail_done ? 0 : 1));
    }
    out->len = (size_t)(p - out->data);
    return ST_OK;
}

/* ---- PLAIN ---- */

static inline void store_le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

int pq_plain_bytes(st_buf_t *out, const int32_t *offsets, const uint8_t *data,
                   const uint8_t *validity, int64_t row0, int64_t n) {
    size_t total = (size_t)(offsets[row0 + n] - offsets[row0]) + 4 * (size_t)n;
    int rc = st_buf_reserve(out, total);
    if (rc) return rc;
    uint8_t *p = out->data + out->len;
    for (int64_t r = row0; r < row0 + n; r++) {
        if (validity && !pq_bit_get(validity, (uint64_t)r)) continue;
        uint32_t len = (uint32_t)(offsets[r + 1] - offsets[r]);
        store_le32(p, len);
        memcpy(p + 4, data + offsets[r], len);
        p += 4 + len;
    }
    out->len = (size_t)(p - out->data);
    return ST_OK;
}

/* ---- dictionaries ---- */

uint64_t pq_hash_bytes(const uint8_t *p, size_t n) {
    uint64_t h = 0x243F6A8885A308D3ull ^ (n * 0x9E3779B97F4A7C15ull);
    while (n >= 8) {
        uint64_t k;
        memcpy(&k, p, 8);
        h = (h ^ k) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t k = 0;
        memcpy(&k, p, n);
        h = (h ^ k) * 0xFF51AFD7ED558CCDull;
    }
    h ^= h >> 29;
    h *= 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 32;
    return h;
}

static inline uint64_t mix_key(uint64_t x) {
    uint64_t h = (x ^ (x >> 32)) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 32);
}

void pq_dictb_init(pq_dictb_t *d, int kind, int width) {
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->width = kind == PQ_DICTB_K4 ? 4 : kind == PQ_DICTB_K8 ? 8 : kind == PQ_DICTB_FIXED ? width : 0;
}

void pq_dictb_reset(pq_dictb_t *d) {
    if (d->slots && d->count) memset(d->slots, 0, ((size_t)d->mask + 1) * sizeof *d->slots);
    d->count = 0;
    st_buf_reset(&d->values);
}

void pq_dictb_free(pq_dictb_t *d) {
    free(d->slots);
    free(d->offs);
    st_buf_free(&d->values);
    memset(d, 0, sizeof *d);
}

static uint64_t slot_hash(const pq_dictb_t *d, uint64_t key) {
    return d->kind == PQ_DICTB_K4 || d->kind == PQ_DICTB_K8 ? mix_key(key) : key;
}

/* Makes room for one more entry: keeps the load factor at or below 1/2. */
static int dict_grow(pq_dictb_t *d) {
    size_t nslots = d->slots ? (size_t)d->mask + 1 : 0;
    if (d->slots && ((size_t)d->count + 1) * 2 <= nslots) return ST_OK;
    if (d->count >= (1u << 30)) return st_error(ST_ENOMEM, "dictionary: too many entries");
    size_t nn = nslots ? nslots * 2 : 1024;
    pq_dictb_slot_t *ns = calloc(nn, sizeof *ns);
    if (!ns) return st_error(ST_ENOMEM, "dictionary: out of memory (%zu slots)", nn);
    uint32_t nmask = (uint32_t)(nn - 1);
    for (size_t i = 0; i < nslots; i++) {
        if (!d->slots[i].idx1) continue;
        uint32_t s = (uint32_t)slot_hash(d, d->slots[i].key) & nmask;
        while (ns[s].idx1) s = (s + 1) & nmask;
        ns[s] = d->slots[i];
    }
    free(d->slots);
    d->slots = ns;
    d->mask = nmask;
    return ST_OK;
}

int pq_dictb_put_fixed(pq_dictb_t *d, const uint8_t *vals, size_t n, size_t limit, uint32_t *idx,
                      size_t *done) {
    int rc;
    const size_t w = (size_t)d->width;
    *done = 0;
    if ((rc = dict_grow(d))) return rc;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *v = vals + i * w;
        uint64_t key;
        if (d->kind == PQ_DICTB_K8) {
            memcpy(&key, v, 8);
        } else if (d->kind == PQ_DICTB_K4) {
            uint32_t k4;
            memcpy(&k4, v, 4);
            key = k4;
        } else {
            key = pq_hash_bytes(v, w);
        }
        uint32_t s = (uint32_t)slot_hash(d, key) & d->mask;
        for (;;) {
            pq_dictb_slot_t *sl = &d->slots[s];
            if (!sl->idx1) break;
            if (sl->key == key &&
                (d->kind != PQ_DICTB_FIXED || !memcmp(d->values.data + (size_t)(sl->idx1 - 1) * w, v, w)))
                break;
            s = (s + 1) & d->mask;
        }
        if (d->slots[s].idx1) {
            idx[i] = d->slots[s].idx1 - 1;
            continue;
        }
        if (d->values.len + w > limit) {
            *done = i;
            return ST_OK;
        }
        if (((size_t)d->count + 1) * 2 > (size_t)d->mask + 1) {
            if ((rc = dict_grow(d))) return rc;
            s = (uint32_t)slot_hash(d, key) & d->mask;
            while (d->slots[s].idx1) s = (s + 1) & d->mask;
        }
        if ((rc = st_buf_append(&d->values, v, w))) return rc;
        d->slots[s].key = key;
        d->slots[s].idx1 = ++d->count;
        idx[i] = d->count - 1;
    }
    *done = n;
    return ST_OK;
}

int pq_dictb_put_bytes(pq_dictb_t *d, const int32_t *offsets, const uint8_t *data,
                      const uint8_t *validity, int64_t row0, int64_t nrows, size_t limit,
                      uint32_t *idx, size_t *nidx, int64_t *rows_done) {
    int rc;
    size_t k = 0;
    *nidx = 0;
    *rows_done = 0;
    if (limit > UINT32_MAX / 2) limit = UINT32_MAX / 2; /* entry offsets are 32-bit */
    if ((rc = dict_grow(d))) return rc;
    for (int64_t r = row0; r < row0 + nrows; r++) {
        if (validity && !pq_bit_get(validity, (uint64_t)r)) continue;
        const uint8_t *v = data + offsets[r];
        size_t len = (size_t)(offsets[r + 1] - offsets[r]);
        uint64_t h = pq_hash_bytes(v, len);
        uint32_t s = (uint32_t)h & d->mask;
        for (;;) {
            pq_dictb_slot_t *sl = &d->slots[s];
            if (!sl->idx1) break;
            if (sl->key == h) {
                const uint8_t *e = d->values.data + d->offs[sl->idx1 - 1];
                uint32_t elen = (uint32_t)e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16 |
                                (uint32_t)e[3] << 24;
                if (elen == len && !memcmp(e + 4, v, len)) break;
            }
            s = (s + 1) & d->mask;
        }
        if (d->slots[s].idx1) {
            idx[k++] = d->slots[s].idx1 - 1;
            continue;
        }
        if (d->values.len + 4 + len > limit) {
            *nidx = k;
            *rows_done = r - row0;
            return ST_OK;
        }
        if (((size_t)d->count + 1) * 2 > (size_t)d->mask + 1) {
            if ((rc = dict_grow(d))) return rc;
            s = (uint32_t)h & d->mask;
            while (d->slots[s].idx1) s = (s + 1) & d->mask;
        }
        if (d->count == d->offs_cap) {
            uint32_t ncap = d->offs_cap ? d->offs_cap * 2 : 1024;
            uint32_t *no = realloc(d->offs, (size_t)ncap * sizeof *no);
            if (!no) return st_error(ST_ENOMEM, "dictionary: out of memory");
            d->offs = no;
            d->offs_cap = ncap;
        }
        if ((rc = st_buf_reserve(&d->values, 4 + len))) return rc;
        d->offs[d->count] = (uint32_t)d->values.len;
        store_le32(d->values.data + d->values.len, (uint32_t)len);
        if (len) memcpy(d->values.data + d->values.len + 4, v, len);
        d->values.len += 4 + len;
        d->slots[s].key = h;
        d->slots[s].idx1 = ++d->count;
        idx[k++] = d->count - 1;
    }
    *nidx = k;
    *rows_done = nrows;
    return ST_OK;
}

const uint8_t *pq_dictb_entry(const pq_dictb_t *d, uint32_t i, size_t *len) {
    if (d->kind == PQ_DICTB_BYTES) {
        const uint8_t *e = d->values.data + d->offs[i];
        *len = (size_t)e[0] | (size_t)e[1] << 8 | (size_t)e[2] << 16 | (size_t)e[3] << 24;
        return e + 4;
    }
    *len = (size_t)d->width;
    return d->values.data + (size_t)i * (size_t)d->width;
}
