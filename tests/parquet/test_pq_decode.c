/*
 * Unit tests of the thrift compact decoder and every value / level decoder on
 * hand-built byte sequences, well-formed and malformed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "parquet/pq_decode.h"
#include "parquet/thrift.h"

/* ---- helpers ------------------------------------------------------------------ */

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t put_varint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static uint64_t zz(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

/* LSB-first packing of n values of bw bits. */
static void pack(const uint64_t *v, size_t n, int bw, uint8_t *out) {
    memset(out, 0, (n * (size_t)bw + 7) / 8);
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < bw; b++) {
            size_t bit = i * (size_t)bw + (size_t)b;
            if ((v[i] >> b) & 1) out[bit / 8] |= (uint8_t)(1u << (bit % 8));
        }
}

static int bits_of(uint64_t v) {
    int w = 0;
    while (v) {
        w++;
        v >>= 1;
    }
    return w;
}

/* DELTA_BINARY_PACKED encoder: block 128, 4 miniblocks of 32. */
static size_t dbp_encode(const int64_t *v, size_t n, bool is32, uint8_t *out) {
    size_t k = 0;
    k += put_varint(out + k, 128);
    k += put_varint(out + k, 4);
    k += put_varint(out + k, n);
    k += put_varint(out + k, zz(n ? v[0] : 0));
    for (size_t start = 1; start < n; start += 128) {
        size_t cnt = n - start < 128 ? n - start : 128;
        int64_t d[128], mn = INT64_MAX;
        for (size_t i = 0; i < cnt; i++) {
            if (is32) d[i] = (int32_t)((uint32_t)v[start + i] - (uint32_t)v[start + i - 1]);
            else d[i] = (int64_t)((uint64_t)v[start + i] - (uint64_t)v[start + i - 1]);
            if (d[i] < mn) mn = d[i];
        }
        k += put_varint(out + k, zz(mn));
        uint64_t adj[128] = {0};
        for (size_t i = 0; i < cnt; i++)
            adj[i] = is32 ? (uint32_t)((uint32_t)d[i] - (uint32_t)mn) : (uint64_t)d[i] - (uint64_t)mn;
        uint8_t *widths = out + k;
        k += 4;
        for (int m = 0; m < 4; m++) {
            widths[m] = 0;
            if ((size_t)m * 32 >= cnt) continue;
            uint64_t mx = 0;
            for (int i = 0; i < 32; i++) mx |= adj[m * 32 + i];
            int bw = bits_of(mx);
            widths[m] = (uint8_t)bw;
            pack(adj + m * 32, 32, bw, out + k);
            k += (size_t)(32 * bw / 8);
        }
    }
    return k;
}

static void out_init(pq_out_t *o, int physical, int len) {
    assert_int_equal(pq_out_init(o, physical, len, (uint64_t)1 << 30), 0);
}

/* ---- thrift ------------------------------------------------------------------- */

static void test_thrift_scalars(void **state) {
    (void)state;
    th_reader_t r;
    uint64_t v;
    static const uint8_t v150[] = {0x96, 0x01};
    th_init(&r, v150, 2);
    assert_int_equal(th_varint(&r, &v), 0);
    assert_int_equal(v, 150);
    assert_int_equal(th_remaining(&r), 0);
    static const uint8_t trunc[] = {0x80};
    th_init(&r, trunc, 1);
    assert_int_equal(th_varint(&r, &v), ST_ECORRUPT);
    static const uint8_t longv[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    th_init(&r, longv, sizeof longv);
    assert_int_equal(th_varint(&r, &v), ST_ECORRUPT);
    assert_int_equal(th_unzigzag(1), -1);
    assert_int_equal(th_unzigzag(2), 1);
    assert_int_equal(th_unzigzag(3), -2);
    assert_int_equal(th_unzigzag(UINT64_MAX), INT64_MIN);

    /* struct { 1: i32 = -2, 2: binary "hi", 100: i64 = 7, 101: true, 102: double 1.5 } */
    static const uint8_t s[] = {0x15, 0x03, 0x18, 0x02, 'h', 'i', 0x06, 0xc8, 0x01, 0x0e, 0x11,
                                0x17, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x00};
    th_init(&r, s, sizeof s);
    th_struct_t st;
    assert_int_equal(th_struct_begin(&r, &st), 0);
    int16_t id;
    int t;
    int32_t i32;
    int64_t i64;
    const uint8_t *d;
    uint32_t n;
    bool b;
    double dbl;
    assert_int_equal(th_field(&r, &st, &id, &t), 0);
    assert_int_equal(id, 1);
    assert_int_equal(th_read_i32(&r, t, &i32), 0);
    assert_int_equal(i32, -2);
    assert_int_equal(th_field(&r, &st, &id, &t), 0);
    assert_int_equal(id, 2);
    /* Wrong expected type is an error, not a misread. */
    th_reader_t copy = r;
    assert_int_equal(th_read_i32(&copy, t, &i32), ST_ECORRUPT);
    assert_int_equal(th_read_binary(&r, t, &d, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(d, "hi", 2);
    assert_int_equal(th_field(&r, &st, &id, &t), 0);
    assert_int_equal(id, 100);
    assert_int_equal(th_read_i64(&r, t, &i64), 0);
    assert_int_equal(i64, 7);
    assert_int_equal(th_field(&r, &st, &id, &t), 0);
    assert_int_equal(id, 101);
    assert_int_equal(th_read_bool(&r, t, &b), 0);
    assert_true(b);
    assert_int_equal(th_field(&r, &st, &id, &t), 0);
    assert_int_equal(id, 102);
    assert_int_equal(th_read_double(&r, t, &dbl), 0);
    assert_true(dbl == 1.5);
    assert_int_equal(th_field(&r, &st, &id, &t), 0);
    assert_int_equal(t, TH_STOP);
    th_struct_end(&r);
    assert_int_equal(th_remaining(&r), 0);

    /* i32 out of range. */
    static const uint8_t big[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    th_init(&r, big, sizeof big);
    assert_int_equal(th_read_i32(&r, TH_I32, &i32), ST_ECORRUPT);
    /* Binary longer than the buffer. */
    static const uint8_t longbin[] = {0x05, 'a', 'b'};
    th_init(&r, longbin, sizeof longbin);
    assert_int_equal(th_read_binary(&r, TH_BINARY, &d, &n), ST_ECORRUPT);
    /* Unknown field type nibble. */
    static const uint8_t badtype[] = {0x1d};
    th_init(&r, badtype, 1);
    th_struct_begin(&r, &st);
    assert_int_equal(th_field(&r, &st, &id, &t), ST_ECORRUPT);
}

static void test_thrift_containers(void **state) {
    (void)state;
    th_reader_t r;
    int et;
    uint32_t n;
    static const uint8_t l3[] = {0x35, 0x02, 0x04, 0x06};
    th_init(&r, l3, sizeof l3);
    assert_int_equal(th_list_begin(&r, TH_LIST, &et, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(et, TH_I32);
    for (int i = 1; i <= 3; i++) {
        int32_t v;
        assert_int_equal(th_read_i32(&r, et, &v), 0);
        assert_int_equal(v, i);
    }
    uint8_t l20[32] = {0xf5, 20};
    for (int i = 0; i < 20; i++) l20[2 + i] = 0x02;
    th_init(&r, l20, 22);
    assert_int_equal(th_list_begin(&r, TH_LIST, &et, &n), 0);
    assert_int_equal(n, 20);
    /* A list claiming more elements than bytes left. */
    th_init(&r, l20, 10);
    assert_int_equal(th_list_begin(&r, TH_LIST, &et, &n), ST_ECORRUPT);

    /* Skipping: struct { 1: map<i32,binary>{1:"a"}, 2: set<bool>{t,f},
     * 3: list<list<i32>> [[1,-3]], 4: double, 5: struct { 1: i64 2 } } then a
     * trailing byte that must be left alone. */
    static const uint8_t sk[] = {0x1b, 0x01, 0x58, 0x02, 0x01, 'a',
                                  0x1a, 0x21, 0x01, 0x02,
                                  0x19, 0x19, 0x25, 0x02, 0x05,
                                  0x17, 0, 0, 0, 0, 0, 0, 0, 0,
                                  0x1c, 0x16, 0x04, 0x00,
                                  0x00, 0xee};
    th_init(&r, sk, sizeof sk);
    assert_int_equal(th_skip(&r, TH_STRUCT), 0);
    assert_int_equal(th_remaining(&r), 1);
    /* Every truncation of it fails cleanly. */
    for (size_t cut = 0; cut < sizeof sk - 1; cut++) {
        th_init(&r, sk, cut);
        assert_int_equal(th_skip(&r, TH_STRUCT), ST_ECORRUPT);
    }
    /* Nesting beyond the limit is refused, not recursed into. */
    uint8_t deep[400];
    for (int i = 0; i < 200; i++) deep[i] = 0x1c;
    for (int i = 200; i < 400; i++) deep[i] = 0x00;
    th_init(&r, deep, sizeof deep);
    assert_int_equal(th_skip(&r, TH_STRUCT), ST_ECORRUPT);
    uint8_t deeplist[300];
    for (int i = 0; i < 300; i++) deeplist[i] = 0x19; /* list of one list of one list ... */
    th_init(&r, deeplist, sizeof deeplist);
    assert_int_equal(th_skip(&r, TH_LIST), ST_ECORRUPT);
    /* A map claiming more entries than bytes. */
    static const uint8_t bigmap[] = {0xff, 0x01, 0x55, 0x02};
    th_init(&r, bigmap, sizeof bigmap);
    assert_int_equal(th_skip(&r, TH_MAP), ST_ECORRUPT);
}

/* ---- bit unpacking --------------------------------------------------------------- */

static void test_unpack(void **state) {
    (void)state;
    uint64_t v[80], got[80];
    uint32_t got32[80];
    uint8_t packed[80 * 8 + 16];
    for (int bw = 0; bw <= 64; bw++)
        for (size_t n = 1; n <= 70; n += 3) {
            for (size_t i = 0; i < n; i++) v[i] = bw == 64 ? rnd() : rnd() & (((uint64_t)1 << bw) - 1);
            pack(v, n, bw, packed);
            size_t avail = (n * (size_t)bw + 7) / 8;
            /* Exactly sized buffer: exercises the tail path. */
            uint8_t *exact = malloc(avail ? avail : 1);
            memcpy(exact, packed, avail);
            pq_unpack64(exact, avail, bw, got, n);
            assert_memory_equal(got, v, n * 8);
            if (bw <= 32) {
                pq_unpack32(exact, avail, bw, got32, n);
                for (size_t i = 0; i < n; i++) assert_int_equal(got32[i], v[i]);
            }
            free(exact);
        }
    assert_int_equal(pq_bit_width(0), 0);
    assert_int_equal(pq_bit_width(1), 1);
    assert_int_equal(pq_bit_width(7), 3);
    assert_int_equal(pq_bit_width(8), 4);
    assert_int_equal(pq_bit_width(UINT64_MAX), 64);
}

/* ---- RLE / bit-packed hybrid ------------------------------------------------------ */

static void test_rle_hybrid(void **state) {
    (void)state;
    pq_rle_t r;
    uint32_t out[64];
    /* RLE run of 5 x 3 (bw 2), then a bit-packed run of 8 values 0..7 (bw 3). */
    uint8_t buf[64];
    buf[0] = 5 << 1;
    buf[1] = 3;
    pq_rle_init(&r, buf, 2, 2);
    assert_int_equal(pq_rle_get(&r, out, 5), 0);
    for (int i = 0; i < 5; i++) assert_int_equal(out[i], 3);
    assert_int_equal(pq_rle_get(&r, out, 1), ST_ECORRUPT);

    uint64_t vals[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    buf[0] = (1 << 1) | 1;
    pack(vals, 8, 3, buf + 1);
    buf[4] = 4 << 1; /* then RLE 4 x 6 */
    buf[5] = 6;
    pq_rle_init(&r, buf, 6, 3);
    assert_int_equal(pq_rle_get(&r, out, 3), 0);
    assert_int_equal(pq_rle_get(&r, out + 3, 9), 0);
    for (int i = 0; i < 8; i++) assert_int_equal(out[i], i);
    for (int i = 8; i < 12; i++) assert_int_equal(out[i], 6);

    /* A run value wider than the bit width. */
    buf[0] = 2 << 1;
    buf[1] = 2;
    pq_rle_init(&r, buf, 2, 1);
    assert_int_equal(pq_rle_get(&r, out, 1), ST_ECORRUPT);
    /* Truncated run value (bw 9 needs two bytes). */
    pq_rle_init(&r, buf, 2, 9);
    assert_int_equal(pq_rle_get(&r, out, 1), ST_ECORRUPT);
    /* bw 0: bit-packed groups hold zeros without bytes. */
    buf[0] = (2 << 1) | 1;
    pq_rle_init(&r, buf, 1, 0);
    assert_int_equal(pq_rle_get(&r, out, 16), 0);
    for (int i = 0; i < 16; i++) assert_int_equal(out[i], 0);
    /* A last bit-packed run cut short: its real values decode, no more. */
    buf[0] = (2 << 1) | 1; /* 16 values of 8 bits, only 10 bytes present */
    for (int i = 0; i < 10; i++) buf[1 + i] = (uint8_t)(100 + i);
    pq_rle_init(&r, buf, 11, 8);
    assert_int_equal(pq_rle_get(&r, out, 10), 0);
    for (int i = 0; i < 10; i++) assert_int_equal(out[i], 100 + i);
    assert_int_equal(pq_rle_get(&r, out, 1), ST_ECORRUPT);
    /* Empty input. */
    pq_rle_init(&r, buf, 0, 4);
    assert_int_equal(pq_rle_get(&r, out, 1), ST_ECORRUPT);
    /* A long run is filled without reading more input. */
    size_t k = put_varint(buf, (uint64_t)1000000 << 1);
    buf[k++] = 1;
    pq_rle_init(&r, buf, k, 1);
    uint32_t *many = malloc(1000000 * sizeof(uint32_t));
    assert_int_equal(pq_rle_get(&r, many, 1000000), 0);
    assert_int_equal(many[999999], 1);
    free(many);
}

static void test_levels(void **state) {
    (void)state;
    int16_t lev[64];
    size_t cnt;
    uint8_t buf[16];
    /* max 2 -> bw 2: RLE 3 x 2, bit-packed 8 values {0,1,2,2,1,0,2,2}. */
    uint64_t v[8] = {0, 1, 2, 2, 1, 0, 2, 2};
    buf[0] = 3 << 1;
    buf[1] = 2;
    buf[2] = (1 << 1) | 1;
    pack(v, 8, 2, buf + 3);
    assert_int_equal(pq_decode_levels(PQ_ENC_RLE, buf, 5, 2, 11, lev, &cnt), 0);
    assert_int_equal(cnt, 3 + 4);
    assert_int_equal(lev[0], 2);
    assert_int_equal(lev[3], 0);
    assert_int_equal(lev[5], 2);
    assert_int_equal(lev[10], 2);
    /* A level above the maximum, in an RLE run and in a bit-packed run. */
    buf[1] = 3;
    assert_int_equal(pq_decode_levels(PQ_ENC_RLE, buf, 5, 2, 3, lev, &cnt), ST_ECORRUPT);
    buf[1] = 2;
    v[4] = 3;
    pack(v, 8, 2, buf + 3);
    assert_int_equal(pq_decode_levels(PQ_ENC_RLE, buf, 5, 2, 11, lev, &cnt), ST_ECORRUPT);
    /* Fewer levels than asked for. */
    assert_int_equal(pq_decode_levels(PQ_ENC_RLE, buf, 2, 2, 4, lev, &cnt), ST_ECORRUPT);
    /* Legacy BIT_PACKED packs from the most significant bit. */
    buf[0] = 0xb1; /* 1 0 1 1 0 0 0 1 */
    assert_int_equal(pq_decode_levels(PQ_ENC_BIT_PACKED, buf, 1, 1, 8, lev, &cnt), 0);
    static const int16_t want[] = {1, 0, 1, 1, 0, 0, 0, 1};
    assert_memory_equal(lev, want, sizeof want);
    assert_int_equal(cnt, 4);
    assert_int_equal(pq_decode_levels(PQ_ENC_BIT_PACKED, buf, 1, 1, 9, lev, &cnt), ST_ECORRUPT);
    /* bw 2 MSB-first: 0b01 10 11 00 = 1,2,3,0 with max 3. */
    buf[0] = 0x6c;
    assert_int_equal(pq_decode_levels(PQ_ENC_BIT_PACKED, buf, 1, 3, 4, lev, &cnt), 0);
    assert_int_equal(lev[0], 1);
    assert_int_equal(lev[1], 2);
    assert_int_equal(lev[2], 3);
    assert_int_equal(lev[3], 0);
    assert_int_equal(pq_decode_levels(PQ_ENC_BIT_PACKED, buf, 1, 2, 4, lev, &cnt), ST_ECORRUPT);
    assert_int_equal(pq_decode_levels(77, buf, 1, 2, 4, lev, &cnt), ST_EUNSUPPORTED);
}

/* ---- PLAIN --------------------------------------------------------------------------- */

static void test_plain(void **state) {
    (void)state;
    pq_out_t o;
    size_t used;
    static const uint8_t i32[] = {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 9};
    out_init(&o, PQ_INT32, 0);
    assert_int_equal(pq_decode_plain(&o, i32, sizeof i32, 2, &used), 0);
    assert_int_equal(used, 8);
    assert_int_equal(o.count, 2);
    int32_t x;
    memcpy(&x, o.data.data + 4, 4);
    assert_int_equal(x, -1);
    assert_int_equal(pq_decode_plain(&o, i32, sizeof i32, 3, &used), ST_ECORRUPT);
    pq_out_free(&o);

    out_init(&o, PQ_INT96, 0);
    uint8_t i96[24];
    for (int i = 0; i < 24; i++) i96[i] = (uint8_t)i;
    assert_int_equal(pq_decode_plain(&o, i96, 24, 2, &used), 0);
    assert_memory_equal(o.data.data, i96, 24);
    pq_out_free(&o);

    out_init(&o, PQ_FIXED_LEN_BYTE_ARRAY, 3);
    assert_int_equal(pq_decode_plain(&o, (const uint8_t *)"abcdefg", 7, 2, &used), 0);
    assert_int_equal(used, 6);
    assert_memory_equal(o.data.data, "abcdef", 6);
    assert_int_equal(pq_decode_plain(&o, (const uint8_t *)"abcdefg", 7, 3, &used), ST_ECORRUPT);
    pq_out_free(&o);

    /* Booleans: bit-packed LSB first, one byte each out. */
    out_init(&o, PQ_BOOLEAN, 0);
    static const uint8_t bits[] = {0x35, 0x01}; /* 1 0 1 0 1 1 0 0 | 1 */
    assert_int_equal(pq_decode_plain(&o, bits, 2, 9, &used), 0);
    static const uint8_t wantb[] = {1, 0, 1, 0, 1, 1, 0, 0, 1};
    assert_memory_equal(o.data.data, wantb, 9);
    assert_int_equal(used, 2);
    assert_int_equal(pq_decode_plain(&o, bits, 2, 17, &used), ST_ECORRUPT);
    pq_out_free(&o);

    /* Byte arrays: offsets + data. */
    out_init(&o, PQ_BYTE_ARRAY, 0);
    static const uint8_t ba[] = {2, 0, 0, 0, 'h', 'i', 0, 0, 0, 0, 3, 0, 0, 0, 'x', 'y', 'z'};
    assert_int_equal(pq_decode_plain(&o, ba, sizeof ba, 3, &used), 0);
    assert_int_equal(used, sizeof ba);
    assert_int_equal(o.offsets[0], 0);
    assert_int_equal(o.offsets[1], 2);
    assert_int_equal(o.offsets[2], 2);
    assert_int_equal(o.offsets[3], 5);
    assert_memory_equal(o.data.data, "hixyz", 5);
    /* Appending continues the offsets. */
    assert_int_equal(pq_decode_plain(&o, ba, 6, 1, &used), 0);
    assert_int_equal(o.offsets[4], 7);
    /* A length past the end, and more values than could fit. */
    static const uint8_t badba[] = {9, 0, 0, 0, 'a'};
    assert_int_equal(pq_decode_plain(&o, badba, sizeof badba, 1, &used), ST_ECORRUPT);
    assert_int_equal(pq_decode_plain(&o, ba, sizeof ba, 5, &used), ST_ECORRUPT);
    pq_out_free(&o);

    /* The output limit is enforced. */
    assert_int_equal(pq_out_init(&o, PQ_INT64, 0, 16), 0);
    uint8_t z[24] = {0};
    assert_int_equal(pq_decode_plain(&o, z, 24, 3, &used), ST_ENOMEM);
    pq_out_free(&o);
}

/* ---- dictionary ------------------------------------------------------------------------ */

static void test_dictionary(void **state) {
    (void)state;
    int64_t dv[3] = {10, 20, 30};
    pq_dict_t d = {8, 3, (const uint8_t *)dv, NULL, false};
    pq_out_t o;
    out_init(&o, PQ_INT64, 0);
    /* bw 2; RLE 3 x 2; bit-packed {0,1,2,1,0,0,0,0}. */
    uint8_t buf[16];
    uint64_t idx[8] = {0, 1, 2, 1, 0, 0, 0, 0};
    buf[0] = 2;
    buf[1] = 3 << 1;
    buf[2] = 2;
    buf[3] = (1 << 1) | 1;
    pack(idx, 8, 2, buf + 4);
    assert_int_equal(pq_decode_dict(&o, &d, buf, 6, 7), 0);
    int64_t *got = (int64_t *)(void *)o.data.data;
    static const int64_t want[] = {30, 30, 30, 10, 20, 30, 20};
    assert_memory_equal(got, want, sizeof want);
    /* Index out of range. */
    idx[5] = 3;
    pack(idx, 8, 2, buf + 4);
    assert_int_equal(pq_decode_dict(&o, &d, buf, 6, 9), ST_ECORRUPT);
    /* Bit width above 32, no dictionary, empty dictionary, no bit width. */
    buf[0] = 33;
    assert_int_equal(pq_decode_dict(&o, &d, buf, 6, 1), ST_ECORRUPT);
    buf[0] = 2;
    assert_int_equal(pq_decode_dict(&o, NULL, buf, 6, 1), ST_ECORRUPT);
    pq_dict_t empty = {8, 0, NULL, NULL, false};
    assert_int_equal(pq_decode_dict(&o, &empty, buf, 6, 1), ST_ECORRUPT);
    assert_int_equal(pq_decode_dict(&o, &d, buf, 0, 1), ST_ECORRUPT);
    /* Indices run out. */
    assert_int_equal(pq_decode_dict(&o, &d, buf, 3, 5), ST_ECORRUPT);
    pq_out_free(&o);

    /* Byte-array dictionary {"a", "bcd", ""}. */
    uint32_t doff[4] = {0, 1, 4, 4};
    pq_dict_t sd = {0, 3, (const uint8_t *)"abcd", doff, false};
    out_init(&o, PQ_BYTE_ARRAY, 0);
    uint64_t sidx[8] = {1, 0, 2, 1, 1, 0, 0, 0};
    buf[0] = 2;
    buf[1] = (1 << 1) | 1;
    pack(sidx, 8, 2, buf + 2);
    assert_int_equal(pq_decode_dict(&o, &sd, buf, 4, 5), 0);
    assert_int_equal(o.count, 5);
    assert_int_equal(o.offsets[5], 10);
    assert_memory_equal(o.data.data, "bcdabcdbcd", 10);
    assert_int_equal(o.offsets[3], 4);
    pq_out_free(&o);
    /* The same through the padded (16-byte block copy) path, with a long value. */
    static const char padded_vals[] = "abcd0123456789abcdefghijXXXXXXXXXXXXXXXX";
    uint32_t poff[4] = {0, 1, 24, 24};
    pq_dict_t pd = {0, 3, (const uint8_t *)padded_vals, poff, true};
    out_init(&o, PQ_BYTE_ARRAY, 0);
    assert_int_equal(pq_decode_dict(&o, &pd, buf, 4, 5), 0);
    assert_int_equal(o.offsets[5], 1 + 23 + 0 + 23 + 23 + 0);
    assert_memory_equal(o.data.data, "bcd0123456789abcdefghija", 24);
    assert_int_equal(o.offsets[1], 23);
    assert_int_equal(o.offsets[2], 24);
    assert_int_equal(o.offsets[3], 24);
    pq_out_free(&o);

    /* bw 0: every index is 0. */
    out_init(&o, PQ_INT64, 0);
    buf[0] = 0;
    buf[1] = 4 << 1;
    assert_int_equal(pq_decode_dict(&o, &d, buf, 2, 4), 0);
    assert_int_equal(((int64_t *)(void *)o.data.data)[3], 10);
    pq_out_free(&o);
}

/* ---- DELTA_BINARY_PACKED ------------------------------------------------------------------- */

static void check_dbp_roundtrip(const int64_t *v, size_t n, bool is32) {
    uint8_t *buf = malloc((n / 128 + 1) * 1100 + 64); /* miniblocks are padded to 32 values */
    size_t len = dbp_encode(v, n, is32, buf);
    pq_out_t o;
    out_init(&o, is32 ? PQ_INT32 : PQ_INT64, 0);
    assert_int_equal(pq_decode_delta_binary(&o, buf, len, n), 0);
    assert_int_equal(o.count, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        if (is32) {
            int32_t x;
            memcpy(&x, o.data.data + 4 * i, 4);
            assert_int_equal(x, (int32_t)v[i]);
        } else {
            int64_t x;
            memcpy(&x, o.data.data + 8 * i, 8);
            assert_int_equal(x, v[i]);
        }
    }
    /* The raw stream decoder reports where it ended. */
    int64_t *raw = malloc((n ? n : 1) * sizeof(int64_t));
    size_t used;
    uint64_t total;
    assert_int_equal(pq_delta_decode(buf, len, is32, raw, n, &used, &total), 0);
    assert_int_equal(used, len);
    assert_int_equal(total, n);
    /* Every truncation fails cleanly (or, cut inside the last miniblock's
     * padding, still yields the right values). */
    for (size_t cut = 0; cut < len; cut += 1 + len / 64) {
        pq_out_t t;
        out_init(&t, is32 ? PQ_INT32 : PQ_INT64, 0);
        int rc = pq_decode_delta_binary(&t, buf, cut, n);
        assert_true(rc == 0 || rc == ST_ECORRUPT);
        pq_out_free(&t);
    }
    free(raw);
    pq_out_free(&o);
    free(buf);
}

static void test_delta_binary_packed(void **state) {
    (void)state;
    /* The spec's example: 1 2 3 4 5 encodes as header + min delta 1 + widths 0. */
    static const uint8_t ex[] = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00};
    pq_out_t o;
    out_init(&o, PQ_INT32, 0);
    assert_int_equal(pq_decode_delta_binary(&o, ex, sizeof ex, 5), 0);
    for (int i = 0; i < 5; i++) {
        int32_t x;
        memcpy(&x, o.data.data + 4 * i, 4);
        assert_int_equal(x, i + 1);
    }
    pq_out_free(&o);

    int64_t v[700];
    for (int i = 0; i < 700; i++) v[i] = (int64_t)(rnd() % 2000) - 1000;
    check_dbp_roundtrip(v, 1, false);
    check_dbp_roundtrip(v, 2, true);
    check_dbp_roundtrip(v, 129, false);
    check_dbp_roundtrip(v, 700, true);
    /* Extremes: 64-bit wrap-around needs bit width 64. */
    int64_t ext[] = {0, INT64_MAX, INT64_MIN, -1, 1, INT64_MIN, INT64_MAX, 0};
    check_dbp_roundtrip(ext, 8, false);
    int64_t ext32[] = {0, INT32_MAX, INT32_MIN, -1, 1, INT32_MIN, INT32_MAX, 0, 5};
    check_dbp_roundtrip(ext32, 9, true);
    for (int i = 0; i < 700; i++) v[i] = (int64_t)rnd();
    check_dbp_roundtrip(v, 700, false);
    for (int i = 0; i < 300; i++) v[i] = 42;
    check_dbp_roundtrip(v, 300, true);

    uint8_t buf[64];
    size_t k;
    /* Block size not a multiple of 128. */
    k = put_varint(buf, 100);
    k += put_varint(buf + k, 4);
    k += put_varint(buf + k, 1);
    k += put_varint(buf + k, 0);
    out_init(&o, PQ_INT64, 0);
    assert_int_equal(pq_decode_delta_binary(&o, buf, k, 1), ST_ECORRUPT);
    /* Miniblock counts that do not split the block into multiples of 32. */
    static const uint64_t bad_mbs[] = {0, 3, 5, 128};
    for (size_t i = 0; i < 4; i++) {
        k = put_varint(buf, 128);
        k += put_varint(buf + k, bad_mbs[i]);
        k += put_varint(buf + k, 1);
        k += put_varint(buf + k, 0);
        assert_int_equal(pq_decode_delta_binary(&o, buf, k, 1), ST_ECORRUPT);
    }
    /* Fewer values than the page needs. */
    assert_int_equal(pq_decode_delta_binary(&o, ex, sizeof ex, 6), ST_ECORRUPT);
    /* INT32 deltas taken in 64 bits (as DuckDB writes them) need 33 bits. */
    pq_out_free(&o);
    int64_t span[] = {INT32_MIN, INT32_MAX, INT32_MIN, 0, -1};
    uint8_t wbuf[2048];
    size_t wl = dbp_encode(span, 5, false, wbuf);
    size_t at = 0;
    for (int f = 0; f < 5; f++) /* header (4 varints) and the block's min delta */
        while (wbuf[at++] & 0x80) {
        }
    assert_int_equal(wbuf[at], 33); /* first miniblock's bit width */
    out_init(&o, PQ_INT32, 0);
    assert_int_equal(pq_decode_delta_binary(&o, wbuf, wl, 5), 0);
    for (int i = 0; i < 5; i++) {
        int32_t x;
        memcpy(&x, o.data.data + 4 * i, 4);
        assert_int_equal(x, span[i]);
    }
    pq_out_free(&o);
    /* Bit width above 64. */
    uint8_t wide[] = {0x80, 0x01, 0x04, 0x03, 0x00, 0x00, 65, 0, 0, 0};
    out_init(&o, PQ_INT64, 0);
    assert_int_equal(pq_decode_delta_binary(&o, wide, sizeof wide, 3), ST_ECORRUPT);
    /* Miniblock data missing. */
    wide[6] = 8;
    assert_int_equal(pq_decode_delta_binary(&o, wide, sizeof wide, 3), ST_ECORRUPT);
    pq_out_free(&o);
    /* Not for other types. */
    out_init(&o, PQ_DOUBLE, 0);
    assert_int_equal(pq_decode_delta_binary(&o, ex, sizeof ex, 5), ST_ECORRUPT);
    pq_out_free(&o);
}

/* ---- DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY ------------------------------------------- */

static void test_delta_byte_arrays(void **state) {
    (void)state;
    uint8_t buf[256];
    int64_t lens[] = {3, 0, 5};
    size_t k = dbp_encode(lens, 3, true, buf);
    memcpy(buf + k, "abcdefgh", 8);
    pq_out_t o;
    out_init(&o, PQ_BYTE_ARRAY, 0);
    assert_int_equal(pq_decode_delta_length(&o, buf, k + 8, 3), 0);
    assert_int_equal(o.offsets[1], 3);
    assert_int_equal(o.offsets[2], 3);
    assert_int_equal(o.offsets[3], 8);
    assert_memory_equal(o.data.data, "abcdefgh", 8);
    /* Data shorter than the lengths; count mismatch; negative length. */
    assert_int_equal(pq_decode_delta_length(&o, buf, k + 7, 3), ST_ECORRUPT);
    assert_int_equal(pq_decode_delta_length(&o, buf, k + 8, 2), ST_ECORRUPT);
    int64_t neg[] = {3, -1};
    size_t kn = dbp_encode(neg, 2, true, buf);
    assert_int_equal(pq_decode_delta_length(&o, buf, kn + 8, 2), ST_ECORRUPT);
    pq_out_free(&o);

    /* DELTA_BYTE_ARRAY: "abc", "abx", "abxyz". */
    int64_t pre[] = {0, 2, 3}, suf[] = {3, 1, 2};
    k = dbp_encode(pre, 3, true, buf);
    k += dbp_encode(suf, 3, true, buf + k);
    memcpy(buf + k, "abcxyz", 6);
    out_init(&o, PQ_BYTE_ARRAY, 0);
    assert_int_equal(pq_decode_delta_byte_array(&o, buf, k + 6, 3), 0);
    assert_int_equal(o.offsets[3], 11);
    assert_memory_equal(o.data.data, "abcabxabxyz", 11);
    assert_int_equal(pq_decode_delta_byte_array(&o, buf, k + 5, 3), ST_ECORRUPT);
    pq_out_free(&o);
    /* The same values as FIXED_LEN_BYTE_ARRAY(3) fail on "abxyz"; the first two fit. */
    out_init(&o, PQ_FIXED_LEN_BYTE_ARRAY, 3);
    assert_int_equal(pq_decode_delta_byte_array(&o, buf, k + 6, 3), ST_ECORRUPT);
    int64_t pre2[] = {0, 2}, suf2[] = {3, 1};
    k = dbp_encode(pre2, 2, true, buf);
    k += dbp_encode(suf2, 2, true, buf + k);
    memcpy(buf + k, "abcx", 4);
    assert_int_equal(pq_decode_delta_byte_array(&o, buf, k + 4, 2), 0);
    assert_memory_equal(o.data.data, "abcabx", 6);
    pq_out_free(&o);
    /* A prefix longer than the previous value. */
    int64_t pre3[] = {0, 4}, suf3[] = {3, 1};
    k = dbp_encode(pre3, 2, true, buf);
    k += dbp_encode(suf3, 2, true, buf + k);
    memcpy(buf + k, "abcx", 4);
    out_init(&o, PQ_BYTE_ARRAY, 0);
    assert_int_equal(pq_decode_delta_byte_array(&o, buf, k + 4, 2), ST_ECORRUPT);
    /* Prefixes that make the output explode hit the limit, not the allocator. */
    pq_out_free(&o);
    assert_int_equal(pq_out_init(&o, PQ_BYTE_ARRAY, 0, 1000), 0);
    int64_t bpre[300], bsuf[300];
    for (int i = 0; i < 300; i++) {
        bpre[i] = i ? 20 * i : 0;
        bsuf[i] = 20;
    }
    uint8_t *big = malloc(20000);
    k = dbp_encode(bpre, 300, true, big);
    k += dbp_encode(bsuf, 300, true, big + k);
    memset(big + k, 'q', 6000);
    assert_int_equal(pq_decode_delta_byte_array(&o, big, k + 6000, 300), ST_ENOMEM);
    free(big);
    pq_out_free(&o);
}

/* ---- BYTE_STREAM_SPLIT and RLE booleans -------------------------------------------------- */

static void test_byte_stream_split(void **state) {
    (void)state;
    float f[3] = {1.5f, -2.25f, 3e10f};
    uint8_t raw[12], split[12];
    memcpy(raw, f, 12);
    for (int i = 0; i < 3; i++)
        for (int b = 0; b < 4; b++) split[b * 3 + i] = raw[i * 4 + b];
    pq_out_t o;
    out_init(&o, PQ_FLOAT, 0);
    assert_int_equal(pq_decode_byte_stream_split(&o, split, 12, 3), 0);
    assert_memory_equal(o.data.data, raw, 12);
    assert_int_equal(pq_decode_byte_stream_split(&o, split, 11, 3), ST_ECORRUPT);
    pq_out_free(&o);

    int64_t l[2] = {0x0102030405060708, -5};
    uint8_t r8[16], s8[16];
    memcpy(r8, l, 16);
    for (int i = 0; i < 2; i++)
        for (int b = 0; b < 8; b++) s8[b * 2 + i] = r8[i * 8 + b];
    out_init(&o, PQ_INT64, 0);
    assert_int_equal(pq_decode_byte_stream_split(&o, s8, 16, 2), 0);
    assert_memory_equal(o.data.data, r8, 16);
    pq_out_free(&o);
    /* FIXED_LEN_BYTE_ARRAY(2) (FLOAT16). */
    static const uint8_t s2[] = {1, 2, 3, 4, 5, 6};
    out_init(&o, PQ_FIXED_LEN_BYTE_ARRAY, 2);
    assert_int_equal(pq_decode_byte_stream_split(&o, s2, 6, 3), 0);
    static const uint8_t w2[] = {1, 4, 2, 5, 3, 6};
    assert_memory_equal(o.data.data, w2, 6);
    pq_out_free(&o);
    out_init(&o, PQ_BYTE_ARRAY, 0);
    assert_int_equal(pq_decode_byte_stream_split(&o, s2, 6, 3), ST_ECORRUPT);
    pq_out_free(&o);
}

static void test_rle_booleans(void **state) {
    (void)state;
    uint8_t buf[16] = {0};
    uint64_t v[8] = {1, 0, 1, 1, 0, 0, 1, 0};
    buf[4] = (1 << 1) | 1;
    pack(v, 8, 1, buf + 5);
    buf[6] = 3 << 1; /* then 3 x true */
    buf[7] = 1;
    buf[0] = 4;
    pq_out_t o;
    out_init(&o, PQ_BOOLEAN, 0);
    assert_int_equal(pq_decode_rle_bool(&o, buf, 8, 11), 0);
    static const uint8_t want[] = {1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1};
    assert_memory_equal(o.data.data, want, 11);
    assert_int_equal(pq_decode_rle_bool(&o, buf, 8, 12), ST_ECORRUPT);
    buf[0] = 40; /* length prefix past the end */
    assert_int_equal(pq_decode_rle_bool(&o, buf, 8, 1), ST_ECORRUPT);
    assert_int_equal(pq_decode_rle_bool(&o, buf, 3, 1), ST_ECORRUPT);
    pq_out_free(&o);
    out_init(&o, PQ_INT32, 0);
    assert_int_equal(pq_decode_rle_bool(&o, buf, 8, 1), ST_ECORRUPT);
    pq_out_free(&o);
    assert_string_equal(pq_encoding_name(PQ_ENC_RLE_DICTIONARY), "RLE_DICTIONARY");
    assert_null(pq_encoding_name(99));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thrift_scalars),     cmocka_unit_test(test_thrift_containers),
        cmocka_unit_test(test_unpack),             cmocka_unit_test(test_rle_hybrid),
        cmocka_unit_test(test_levels),             cmocka_unit_test(test_plain),
        cmocka_unit_test(test_dictionary),         cmocka_unit_test(test_delta_binary_packed),
        cmocka_unit_test(test_delta_byte_arrays),  cmocka_unit_test(test_byte_stream_split),
        cmocka_unit_test(test_rle_booleans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
