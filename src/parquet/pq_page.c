/*
 * Column chunk reader: walks the pages of one chunk (dictionary page, DATA_PAGE
 * v1 and v2), decompresses them and decodes levels and values into a
 * pq_column_data_t. Every size read from a page header is checked against the
 * chunk, and every allocation is bounded: a page may not claim more than
 * PQ_MAX_PAGE bytes or an implausible compression ratio, and one decoded chunk
 * may not exceed PQ_DECODE_LIMIT bytes.
 */
#include <brotli/decode.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "parquet/codec.h"
#include "parquet/pq_decode.h"
#include "parquet/pq_internal.h"
#include "parquet/thrift.h"

#ifndef PQ_DECODE_LIMIT
#define PQ_DECODE_LIMIT ((uint64_t)4 << 30)
#endif
/* Slightly over 1 GiB so that a 1 GiB value plus its length prefix fits. */
#ifndef PQ_MAX_PAGE
#define PQ_MAX_PAGE (((uint64_t)1 << 30) + ((uint64_t)1 << 20))
#endif
/* Pages up to this size may have any compression ratio (constant data
 * compresses extremely well); above it the ratio must stay plausible. */
#define PQ_TINY_PAGE ((uint64_t)32 << 20)
#define PQ_MAX_RATIO 1000
/* Old parquet-mr left the dictionary page header out of the chunk size
 * (PARQUET-816): pages may run this far past the chunk's declared end. */
#define PQ_CHUNK_SLACK 100
#define PQ_READ_AHEAD ((uint64_t)1 << 20)
#define PQ_HEADER_PEEK ((uint64_t)4096)

typedef struct page_header {
    int32_t type;
    int32_t uncompressed;
    int32_t compressed;
    bool has_data, has_dict, has_v2;
    int32_t num_values;
    int32_t encoding;
    int32_t def_encoding, rep_encoding;
    int32_t num_nulls, num_rows;
    int32_t def_len, rep_len;
    bool is_compressed;
    pq_page_info_t stats; /* of a data page; rows are filled in by the walk */
} page_header_t;

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_) return rc_;                                                                       \
    } while (0)

/* Only min_value / max_value: the deprecated min / max of old writers may
 * use another sort order, and a page bound that is wrong would drop rows. */
static int read_page_stats(th_reader_t *r, int type, pq_page_info_t *st) {
    if (type != TH_STRUCT) return th_skip(r, type);
    th_struct_t s;
    TRY(th_struct_begin(r, &s));
    int rc = 0;
    for (;;) {
        int16_t id;
        int t;
        if ((rc = th_field(r, &s, &id, &t)) || t == TH_STOP) break;
        if (id == 3 && t == TH_I64) {
            if (!(rc = th_read_i64(r, t, &st->null_count))) st->has_null_count = st->null_count >= 0;
        } else if (id == 5 && t == TH_BINARY) {
            if (!(rc = th_read_binary(r, t, &st->max, &st->max_len))) st->has_max = true;
        } else if (id == 6 && t == TH_BINARY) {
            if (!(rc = th_read_binary(r, t, &st->min, &st->min_len))) st->has_min = true;
        } else {
            rc = th_skip(r, t);
        }
        if (rc) break;
    }
    th_struct_end(r);
    return rc;
}

static int read_sub_header(th_reader_t *r, int type, page_header_t *h, int kind) {
    if (type != TH_STRUCT) return st_error(ST_ECORRUPT, "page header member is not a struct");
    th_struct_t s;
    TRY(th_struct_begin(r, &s));
    int rc = 0;
    for (;;) {
        int16_t id;
        int t;
        int32_t v;
        bool b;
        if ((rc = th_field(r, &s, &id, &t)) || t == TH_STOP) break;
        if ((kind == PQ_PAGE_DATA && id == 5) || (kind == PQ_PAGE_DATA_V2 && id == 8)) {
            rc = read_page_stats(r, t, &h->stats);
        } else if (kind == PQ_PAGE_DATA_V2 && id == 7) {
            if (!(rc = th_read_bool(r, t, &b))) h->is_compressed = b;
        } else if (t == TH_I32 || t == TH_I16 || t == TH_BYTE) {
            if ((rc = th_read_i32(r, t, &v))) break;
            switch (kind * 100 + id) {
            case PQ_PAGE_DATA * 100 + 1:
            case PQ_PAGE_DICTIONARY * 100 + 1:
            case PQ_PAGE_DATA_V2 * 100 + 1: h->num_values = v; break;
            case PQ_PAGE_DATA * 100 + 2:
            case PQ_PAGE_DICTIONARY * 100 + 2:
            case PQ_PAGE_DATA_V2 * 100 + 4: h->encoding = v; break;
            case PQ_PAGE_DATA * 100 + 3: h->def_encoding = v; break;
            case PQ_PAGE_DATA * 100 + 4: h->rep_encoding = v; break;
            case PQ_PAGE_DATA_V2 * 100 + 2: h->num_nulls = v; break;
            case PQ_PAGE_DATA_V2 * 100 + 3: h->num_rows = v; break;
            case PQ_PAGE_DATA_V2 * 100 + 5: h->def_len = v; break;
            case PQ_PAGE_DATA_V2 * 100 + 6: h->rep_len = v; break;
            default: break;
            }
        } else {
            rc = th_skip(r, t);
        }
        if (rc) break;
    }
    th_struct_end(r);
    return rc;
}

static int read_page_header(th_reader_t *r, page_header_t *h) {
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->uncompressed = h->compressed = -1;
    h->def_encoding = h->rep_encoding = PQ_ENC_RLE;
    h->is_compressed = true;
    th_struct_t s;
    TRY(th_struct_begin(r, &s));
    for (;;) {
        int16_t id;
        int t;
        TRY(th_field(r, &s, &id, &t));
        if (t == TH_STOP) break;
        switch (id) {
        case 1: TRY(th_read_i32(r, t, &h->type)); break;
        case 2: TRY(th_read_i32(r, t, &h->uncompressed)); break;
        case 3: TRY(th_read_i32(r, t, &h->compressed)); break;
        case 5:
            TRY(read_sub_header(r, t, h, PQ_PAGE_DATA));
            h->has_data = true;
            break;
        case 7:
            TRY(read_sub_header(r, t, h, PQ_PAGE_DICTIONARY));
            h->has_dict = true;
            break;
        case 8:
            TRY(read_sub_header(r, t, h, PQ_PAGE_DATA_V2));
            h->has_v2 = true;
            break;
        default: TRY(th_skip(r, t)); break; /* crc, index page header, ... */
        }
    }
    th_struct_end(r);
    if (h->type < 0 || h->uncompressed < 0 || h->compressed < 0)
        return st_error(ST_ECORRUPT, "page header lacks type or sizes");
    return ST_OK;
}

typedef struct chunk_reader {
    st_pq_file_t *f;
    const pq_node_t *node;
    const pq_chunk_meta_t *m;
    const pq_codec_t *codec;
    st_buf_t raw;       /* a window of the chunk's bytes, reused page after page */
    uint64_t raw_off;   /* chunk offset of raw.data[0] */
    uint64_t start;     /* file offset of the chunk */
    uint64_t len;       /* chunk length (with slack) */
    st_buf_t scratch;   /* decompressed page */
    pq_out_t vals;
    pq_out_t dict;
    bool have_dict;
    bool seen_data;
    int16_t *def, *rep;
    size_t lev_cap;
    int64_t num_levels;
    /* Flat columns: data pages wholly outside [row_lo, row_hi) are skipped
     * undecoded; rows_pos counts the rows of the pages walked so far, and
     * first_row is where the first decoded page starts. */
    int64_t row_lo, row_hi, rows_pos, first_row;
    pq_page_visit_fn visit; /* set: walk the headers only */
    void *visit_ctx;
} chunk_reader_t;

/* Size the compressed bytes really expand to, found by decompressing into a
 * small throw-away buffer and stopping once past `limit`. Used only for pages
 * whose claimed ratio is implausible, so an honest file pays for it rarely and
 * a lying one cannot make us allocate what its data does not produce. */
static uint64_t dry_run_size(int codec, const uint8_t *src, size_t n, uint64_t limit) {
    static _Thread_local uint8_t sink[1 << 16];
    uint64_t total = 0;
    if (codec == ST_CODEC_BROTLI) {
        BrotliDecoderState *st = BrotliDecoderCreateInstance(NULL, NULL, NULL);
        if (!st) return UINT64_MAX;
        size_t in_left = n;
        const uint8_t *in = src;
        BrotliDecoderResult r;
        do {
            size_t out_left = sizeof sink;
            uint8_t *out = sink;
            r = BrotliDecoderDecompressStream(st, &in_left, &in, &out_left, &out, NULL);
            total += sizeof sink - out_left;
        } while (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT && total <= limit);
        BrotliDecoderDestroyInstance(st);
        return r == BROTLI_DECODER_RESULT_SUCCESS ? total : UINT64_MAX;
    }
    if (codec == ST_CODEC_GZIP) {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, 32 + MAX_WBITS) != Z_OK) return UINT64_MAX;
        z.next_in = (Bytef *)src;
        z.avail_in = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
        int r;
        do {
            z.next_out = sink;
            z.avail_out = sizeof sink;
            r = inflate(&z, Z_NO_FLUSH);
            total += sizeof sink - z.avail_out;
        } while (r == Z_OK && total <= limit);
        inflateEnd(&z);
        return r == Z_STREAM_END ? total : UINT64_MAX;
    }
    if (codec == ST_CODEC_ZSTD) {
        ZSTD_DStream *ds = ZSTD_createDStream();
        if (!ds) return UINT64_MAX;
        ZSTD_inBuffer in = {src, n, 0};
        size_t r;
        bool ok = false;
        for (;;) {
            ZSTD_outBuffer out = {sink, sizeof sink, 0};
            r = ZSTD_decompressStream(ds, &out, &in);
            total += out.pos;
            if (ZSTD_isError(r) || total > limit) break;
            if (r == 0 && in.pos == in.size) {
                ok = true;
                break;
            }
            if (in.pos == in.size && out.pos < out.size) break; /* truncated */
        }
        ZSTD_freeDStream(ds);
        return ok ? total : UINT64_MAX;
    }
    return UINT64_MAX;
}

/* Checks a page's claimed sizes before anything is allocated for it. */
static int check_sizes(const chunk_reader_t *c, const uint8_t *src, uint64_t comp, uint64_t uncomp, bool compressed) {
    if (uncomp > PQ_MAX_PAGE)
        return st_error(ST_ENOMEM, "page of %llu bytes exceeds the reader's 1 GiB page limit",
                        (unsigned long long)uncomp);
    if (!compressed || c->codec->id == ST_CODEC_UNCOMPRESSED) {
        if (comp != uncomp) return st_error(ST_ECORRUPT, "uncompressed page sizes differ (%llu vs %llu)",
                                            (unsigned long long)comp, (unsigned long long)uncomp);
        return ST_OK;
    }
    if (c->codec->id == ST_CODEC_SNAPPY) {
        size_t len;
        if (snappy_uncompressed_length((const char *)src, (size_t)comp, &len) != SNAPPY_OK || len != uncomp)
            return st_error(ST_ECORRUPT, "SNAPPY page length differs from the page header");
        return ST_OK;
    }
    if (c->codec->id == ST_CODEC_ZSTD) {
        unsigned long long fcs = ZSTD_getFrameContentSize(src, (size_t)comp);
        if (fcs == uncomp) return ST_OK;
        if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ZSTD_CONTENTSIZE_ERROR && fcs > uncomp)
            return st_error(ST_ECORRUPT, "ZSTD frame larger than the page header says");
    }
    if (uncomp > PQ_TINY_PAGE && uncomp / PQ_MAX_RATIO > comp &&
        dry_run_size(c->codec->id, src, (size_t)comp, uncomp) != uncomp)
        return st_error(ST_ECORRUPT, "page claims an implausible compression ratio (%llu bytes from %llu)",
                        (unsigned long long)uncomp, (unsigned long long)comp);
    return ST_OK;
}

/* Returns the page's uncompressed bytes (pointing into the chunk when the page
 * is stored uncompressed). */
static int page_bytes(chunk_reader_t *c, const uint8_t *src, size_t comp, size_t uncomp, bool compressed,
                      const uint8_t **out) {
    TRY(check_sizes(c, src, comp, uncomp, compressed));
    if (!compressed || c->codec->id == ST_CODEC_UNCOMPRESSED) {
        *out = src;
        return ST_OK;
    }
    st_buf_reset(&c->scratch);
    /* One spare byte keeps the buffer non-NULL for empty pages. */
    TRY(st_buf_reserve(&c->scratch, uncomp + 1));
    TRY(c->codec->decompress(src, comp, c->scratch.data, uncomp));
    *out = c->scratch.data;
    return ST_OK;
}

static int grow_levels(chunk_reader_t *c, int64_t add) {
    uint64_t need = (uint64_t)c->num_levels + (uint64_t)add;
    int per = (c->node->max_def > 0 ? 2 : 0) + (c->node->max_rep > 0 ? 2 : 0);
    if (need * (uint64_t)per + c->vals.data.len > PQ_DECODE_LIMIT)
        return st_error(ST_ENOMEM, "decoded column chunk exceeds the reader's limit of %llu bytes",
                        (unsigned long long)PQ_DECODE_LIMIT);
    if (per == 0 || need <= c->lev_cap) return ST_OK;
    size_t cap = c->lev_cap ? c->lev_cap * 2 : 1024;
    if (cap < need) cap = (size_t)need;
    if (c->node->max_def > 0) {
        int16_t *d = realloc(c->def, cap * sizeof(int16_t));
        if (!d) return st_error(ST_ENOMEM, "out of memory");
        c->def = d;
    }
    if (c->node->max_rep > 0) {
        int16_t *r = realloc(c->rep, cap * sizeof(int16_t));
        if (!r) return st_error(ST_ENOMEM, "out of memory");
        c->rep = r;
    }
    c->lev_cap = cap;
    return ST_OK;
}

static int decode_values(chunk_reader_t *c, int encoding, const uint8_t *p, size_t len, size_t n) {
    size_t used;
    switch (encoding) {
    case PQ_ENC_PLAIN: return pq_decode_plain(&c->vals, p, len, n, &used);
    case PQ_ENC_PLAIN_DICTIONARY:
    case PQ_ENC_RLE_DICTIONARY: {
        pq_dict_t d = {c->dict.width, (uint32_t)c->dict.count, c->dict.data.data, c->dict.offsets,
                       c->dict.data.cap - c->dict.data.len >= 16};
        return pq_decode_dict(&c->vals, c->have_dict ? &d : NULL, p, len, n);
    }
    case PQ_ENC_RLE: return pq_decode_rle_bool(&c->vals, p, len, n);
    case PQ_ENC_DELTA_BINARY_PACKED: return pq_decode_delta_binary(&c->vals, p, len, n);
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY: return pq_decode_delta_length(&c->vals, p, len, n);
    case PQ_ENC_DELTA_BYTE_ARRAY: return pq_decode_delta_byte_array(&c->vals, p, len, n);
    case PQ_ENC_BYTE_STREAM_SPLIT: return pq_decode_byte_stream_split(&c->vals, p, len, n);
    case 1:
    case PQ_ENC_BIT_PACKED:
        return st_error(ST_EUNSUPPORTED, "value encoding %s is not supported", pq_encoding_name(encoding));
    default: return st_error(ST_ECORRUPT, "unknown value encoding %d", encoding);
    }
}

static int dictionary_page(chunk_reader_t *c, const page_header_t *h, const uint8_t *src) {
    if (c->have_dict) return st_error(ST_ECORRUPT, "second dictionary page in a column chunk");
    if (c->seen_data) return st_error(ST_ECORRUPT, "dictionary page after a data page");
    if (h->encoding != PQ_ENC_PLAIN && h->encoding != PQ_ENC_PLAIN_DICTIONARY)
        return st_error(ST_ECORRUPT, "dictionary page with encoding %d", h->encoding);
    if (h->num_values < 0) return st_error(ST_ECORRUPT, "dictionary page with a negative value count");
    const uint8_t *p;
    TRY(page_bytes(c, src, (size_t)h->compressed, (size_t)h->uncompressed, true, &p));
    size_t used;
    TRY(pq_decode_plain(&c->dict, p, (size_t)h->uncompressed, (size_t)h->num_values, &used));
    TRY(st_buf_reserve(&c->dict.data, 16)); /* padding for the short-value copy */
    if (c->dict.count > UINT32_MAX) return st_error(ST_ECORRUPT, "dictionary too large");
    c->have_dict = true;
    return ST_OK;
}

static int read_levels(int encoding, int16_t max, const uint8_t *p, size_t len, size_t n,
                       int16_t *out, size_t *count_max, size_t *used, bool prefixed) {
    if (encoding == PQ_ENC_BIT_PACKED && !prefixed)
        return st_error(ST_ECORRUPT, "BIT_PACKED levels in a v2 data page");
    if (encoding == PQ_ENC_RLE) {
        size_t l = len, off = 0;
        if (prefixed) {
            if (len < 4) return st_error(ST_ECORRUPT, "levels without a length prefix");
            l = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
            if (l > len - 4) return st_error(ST_ECORRUPT, "levels run past the end of the page");
            off = 4;
        }
        TRY(pq_decode_levels(PQ_ENC_RLE, p + off, l, max, n, out, count_max));
        *used = off + l;
        return ST_OK;
    }
    if (encoding == PQ_ENC_BIT_PACKED) {
        uint64_t bytes = ((uint64_t)n * (unsigned)pq_bit_width((uint64_t)max) + 7) / 8;
        if (bytes > len) return st_error(ST_ECORRUPT, "BIT_PACKED levels run past the end of the page");
        TRY(pq_decode_levels(PQ_ENC_BIT_PACKED, p, (size_t)bytes, max, n, out, count_max));
        *used = (size_t)bytes;
        return ST_OK;
    }
    return st_error(ST_ECORRUPT, "unknown level encoding %d", encoding);
}

/* PLAIN fixed-width values that fill a compressed section exactly are
 * decompressed straight into the output, saving a copy. Returns 1 when done,
 * 0 when the page does not qualify, or an error. */
static int direct_plain(chunk_reader_t *c, int encoding, const uint8_t *src, size_t comp, size_t len,
                        size_t present, bool compressed) {
    pq_out_t *o = &c->vals;
    if (encoding != PQ_ENC_PLAIN || !compressed || c->codec->id == ST_CODEC_UNCOMPRESSED || o->width == 0 ||
        o->physical == PQ_BOOLEAN || (uint64_t)present * (unsigned)o->width != len || len == 0)
        return 0;
    TRY(check_sizes(c, src, comp, len, true));
    TRY(pq_out_reserve(o, present));
    TRY(c->codec->decompress(src, comp, o->data.data + o->data.len, len));
    o->data.len += len;
    o->count += (int64_t)present;
    return 1;
}

static int data_page(chunk_reader_t *c, const page_header_t *h, const uint8_t *src) {
    const pq_node_t *nd = c->node;
    bool v2 = h->type == PQ_PAGE_DATA_V2;
    if (v2 ? !h->has_v2 : !h->has_data) return st_error(ST_ECORRUPT, "data page without its header");
    if (h->num_values < 0) return st_error(ST_ECORRUPT, "data page with a negative value count");
    size_t n = (size_t)h->num_values;
    if (c->m->num_values - c->rows_pos < (int64_t)n)
        return st_error(ST_ECORRUPT, "pages hold more values than the column chunk's %lld",
                        (long long)c->m->num_values);
    TRY(grow_levels(c, (int64_t)n));
    c->seen_data = true;
    int16_t *def = c->def ? c->def + c->num_levels : NULL;
    int16_t *rep = c->rep ? c->rep + c->num_levels : NULL;
    size_t present = n, used;
    const uint8_t *p;
    size_t len;
    if (!v2) {
        if (nd->max_rep == 0 && nd->max_def == 0) {
            int done = direct_plain(c, h->encoding, src, (size_t)h->compressed, (size_t)h->uncompressed, n, true);
            if (done < 0) return done;
            if (done) {
                c->num_levels += (int64_t)n;
                return ST_OK;
            }
        }
        TRY(page_bytes(c, src, (size_t)h->compressed, (size_t)h->uncompressed, true, &p));
        len = (size_t)h->uncompressed;
        if (nd->max_rep > 0) {
            size_t cnt;
            TRY(read_levels(h->rep_encoding, nd->max_rep, p, len, n, rep, &cnt, &used, true));
            p += used;
            len -= used;
        }
        if (nd->max_def > 0) {
            TRY(read_levels(h->def_encoding, nd->max_def, p, len, n, def, &present, &used, true));
            p += used;
            len -= used;
        }
    } else {
        if (h->rep_len < 0 || h->def_len < 0 || (int64_t)h->rep_len + h->def_len > h->compressed ||
            (int64_t)h->rep_len + h->def_len > h->uncompressed)
            return st_error(ST_ECORRUPT, "v2 level lengths do not fit in the page");
        size_t lev = (size_t)h->rep_len + (size_t)h->def_len;
        if (nd->max_rep > 0) {
            size_t cnt;
            TRY(read_levels(PQ_ENC_RLE, nd->max_rep, src, (size_t)h->rep_len, n, rep, &cnt, &used, false));
        }
        if (nd->max_def > 0)
            TRY(read_levels(PQ_ENC_RLE, nd->max_def, src + h->rep_len, (size_t)h->def_len, n, def, &present,
                            &used, false));
        size_t comp = (size_t)h->compressed - lev;
        len = (size_t)h->uncompressed - lev;
        /* PyArrow 2.0 wrote compressed values with is_compressed = false;
         * differing sizes give it away. */
        bool compressed = h->is_compressed || (c->codec->id != ST_CODEC_UNCOMPRESSED && comp != len);
        int done = direct_plain(c, h->encoding, src + lev, comp, len, present, compressed);
        if (done < 0) return done;
        if (done) {
            c->num_levels += (int64_t)n;
            return ST_OK;
        }
        TRY(page_bytes(c, src + lev, comp, len, compressed, &p));
    }
    TRY(decode_values(c, h->encoding, p, len, present));
    c->num_levels += (int64_t)n;
    return ST_OK;
}

/* Bytes [pos, pos + n) of the chunk, reading ahead so that a run of small
 * pages costs one read, into one buffer reused for the whole chunk. */
static int window(chunk_reader_t *c, uint64_t pos, uint64_t n, const uint8_t **out) {
    if (pos >= c->raw_off && pos + n <= c->raw_off + c->raw.len) {
        *out = c->raw.data + (pos - c->raw_off);
        return ST_OK;
    }
    uint64_t want = c->len - pos < PQ_READ_AHEAD ? c->len - pos : PQ_READ_AHEAD;
    if (want < n) want = n;
    st_buf_reset(&c->raw);
    TRY(st_buf_reserve(&c->raw, (size_t)want + 1));
    c->raw_off = pos;
    TRY(pq_source_read(c->f, c->start + pos, c->raw.data, (size_t)want));
    c->raw.len = (size_t)want;
    *out = c->raw.data;
    return ST_OK;
}

static int read_chunk(chunk_reader_t *c) {
    st_pq_file_t *f = c->f;
    const pq_chunk_meta_t *m = c->m;
    uint64_t data_end = f->src.size - 8 - f->footer.len;
    int64_t start = m->data_page_offset;
    if (m->num_values == 0) return ST_OK;
    /* A dictionary page comes first when there is one; writers that leave
     * dictionary_page_offset 0 or unset put it at data_page_offset. */
    if (m->dictionary_page_offset >= 4 && m->dictionary_page_offset < start) start = m->dictionary_page_offset;
    if (start < 4 || (uint64_t)start >= data_end) return st_error(ST_ECORRUPT, "chunk offset out of range");
    uint64_t len = (uint64_t)m->total_compressed_size;
    /* total_compressed_size counts from the dictionary page; files whose
     * dictionary_page_offset is 0 or missing still include it. */
    if (len > data_end - (uint64_t)start) return st_error(ST_ECORRUPT, "chunk extends past the data area");
    uint64_t slack = data_end - (uint64_t)start - len;
    len += slack < PQ_CHUNK_SLACK ? slack : PQ_CHUNK_SLACK;
    c->start = (uint64_t)start;
    c->len = len;

    uint64_t pos = 0;
    int page = 0;
    while (c->rows_pos < m->num_values) {
        if (pos >= len)
            return st_error(ST_ECORRUPT, "column chunk ends after %lld of %lld values", (long long)c->rows_pos,
                            (long long)m->num_values);
        /* Most headers are small; a header with large statistics gets the
         * rest of the chunk on a second try. */
        const uint8_t *hp;
        uint64_t avail = len - pos < PQ_HEADER_PEEK ? len - pos : PQ_HEADER_PEEK;
        TRY(window(c, pos, avail, &hp));
        th_reader_t r;
        th_init(&r, hp, (size_t)avail);
        page_header_t h;
        int rc = read_page_header(&r, &h);
        if (rc && avail < len - pos) {
            avail = len - pos;
            TRY(window(c, pos, avail, &hp));
            th_init(&r, hp, (size_t)avail);
            rc = read_page_header(&r, &h);
        }
        if (rc) return st_error_prefix(rc, "page %d header", page);
        pos += (uint64_t)(r.p - hp);
        if ((uint64_t)h.compressed > len - pos)
            return st_error(ST_ECORRUPT, "page %d runs past the end of the column chunk", page);
        bool is_data = h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2;
        int64_t rows = h.num_values;
        if (is_data && rows < 0) return st_error(ST_ECORRUPT, "page %d: data page with a negative value count", page);
        if (is_data && rows > m->num_values - c->rows_pos)
            return st_error(ST_ECORRUPT, "page %d: pages hold more values than the column chunk's %lld", page,
                            (long long)m->num_values);
        if (is_data && c->visit) {
            h.stats.first_row = c->rows_pos;
            h.stats.num_rows = rows;
            if ((rc = c->visit(c->visit_ctx, &h.stats))) return rc;
        } else if (is_data && c->rows_pos >= c->row_hi) {
            break; /* past the window: the rest of the chunk is not needed */
        } else if (!(is_data && c->rows_pos + rows <= c->row_lo) && (is_data || !c->visit)) {
            const uint8_t *src;
            TRY(window(c, pos, (uint64_t)h.compressed, &src));
            switch (h.type) {
            case PQ_PAGE_DICTIONARY:
                if (!h.has_dict) return st_error(ST_ECORRUPT, "page %d: dictionary page without its header", page);
                rc = dictionary_page(c, &h, src);
                __atomic_fetch_add(&f->pages_decoded, 1, __ATOMIC_RELAXED);
                break;
            case PQ_PAGE_DATA:
            case PQ_PAGE_DATA_V2:
                if (c->first_row < 0) c->first_row = c->rows_pos;
                rc = data_page(c, &h, src);
                __atomic_fetch_add(&f->pages_decoded, 1, __ATOMIC_RELAXED);
                break;
            default: break; /* index pages and unknown kinds carry nothing we need */
            }
            if (rc) return st_error_prefix(rc, "page %d", page);
        }
        if (is_data) c->rows_pos += rows;
        pos += (uint64_t)h.compressed;
        page++;
    }
    return ST_OK;
}

static int read_column(st_pq_file_t *f, int rg, int leaf, int64_t row_lo, int64_t row_hi,
                       pq_page_visit_fn visit, void *visit_ctx, pq_column_data_t *out) {
    memset(out, 0, sizeof *out);
    if (rg < 0 || rg >= f->num_row_groups || leaf < 0 || leaf >= f->num_leaves)
        return st_error(ST_EINVAL, "%s: no row group %d / column %d", f->src.name, rg, leaf);
    chunk_reader_t c;
    memset(&c, 0, sizeof c);
    c.f = f;
    c.node = &f->nodes[f->leaf_nodes[leaf]];
    c.m = &f->row_groups[rg].chunks[leaf];
    c.row_lo = row_lo;
    c.row_hi = row_hi;
    c.first_row = -1;
    c.visit = visit;
    c.visit_ctx = visit_ctx;
    if ((row_lo > 0 || row_hi < INT64_MAX || visit) && c.node->max_rep > 0)
        return st_error(ST_EINVAL, "%s: column %s: row windows need a flat column", f->src.name,
                        pq_leaf_path(f, leaf));
    int rc;
    c.codec = pq_codec_find(c.m->codec);
    if (!c.codec) {
        rc = c.m->codec == ST_CODEC_LZO ? st_error(ST_EUNSUPPORTED, "codec LZO is not supported")
                                        : st_error(ST_ECORRUPT, "unknown codec %d", c.m->codec);
        goto done;
    }
    if (c.node->max_rep == 0 && c.m->num_values != f->row_groups[rg].num_rows) {
        rc = st_error(ST_ECORRUPT, "column chunk has %lld values for %lld rows", (long long)c.m->num_values,
                      (long long)f->row_groups[rg].num_rows);
        goto done;
    }
    if ((rc = pq_out_init(&c.vals, c.node->physical, c.node->type_length, PQ_DECODE_LIMIT))) goto done;
    if ((rc = pq_out_init(&c.dict, c.node->physical, c.node->type_length, PQ_DECODE_LIMIT))) goto done;
    /* Size the outputs once from the footer when its claim is plausible for
     * the chunk's size, instead of growing them page by page. */
    if (!visit && row_lo <= 0 && row_hi >= c.m->num_values) {
        uint64_t nv = (uint64_t)c.m->num_values;
        uint64_t plausible = 16 * (uint64_t)(c.m->total_uncompressed_size > 0 ? c.m->total_uncompressed_size : 0) +
                             ((uint64_t)1 << 20);
        uint64_t per = (uint64_t)(c.vals.width ? c.vals.width : 4) + (c.node->max_def ? 2 : 0) + (c.node->max_rep ? 2 : 0);
        if (nv > 0 && nv * per <= plausible && nv * per <= PQ_DECODE_LIMIT) {
            if ((rc = pq_out_reserve(&c.vals, (size_t)nv))) goto done;
            if ((rc = grow_levels(&c, (int64_t)nv))) goto done;
        }
    }
    rc = read_chunk(&c);
    if (!rc && c.node->max_rep > 0 && c.num_levels > 0) {
        /* Each record starts with repetition level 0; the assembler relies on
         * the count matching the row group's rows. */
        int64_t records = 0;
        for (int64_t i = 0; i < c.num_levels; i++) records += c.rep[i] == 0;
        if (c.rep[0] != 0) rc = st_error(ST_ECORRUPT, "first repetition level is not 0");
        else if (records != f->row_groups[rg].num_rows)
            rc = st_error(ST_ECORRUPT, "column chunk holds %lld records for %lld rows", (long long)records,
                          (long long)f->row_groups[rg].num_rows);
    }
done:
    st_buf_free(&c.raw);
    st_buf_free(&c.scratch);
    pq_out_free(&c.dict);
    if (rc) {
        pq_out_free(&c.vals);
        free(c.def);
        free(c.rep);
        return st_error_prefix(rc, "%s: row group %d column %s", f->src.name, rg, pq_leaf_path(f, leaf));
    }
    out->leaf = leaf;
    out->physical = c.node->physical;
    out->type_length = c.node->type_length;
    out->max_def = c.node->max_def;
    out->max_rep = c.node->max_rep;
    out->num_levels = c.num_levels;
    out->def = c.def;
    out->rep = c.rep;
    out->num_values = c.vals.count;
    out->values = c.vals.data;
    out->offsets = c.vals.offsets;
    out->first_row = c.first_row < 0 ? 0 : c.first_row;
    return ST_OK;
}

int pq_read_column(st_pq_file_t *f, int rg, int leaf, pq_column_data_t *out) {
    return read_column(f, rg, leaf, 0, INT64_MAX, NULL, NULL, out);
}

int pq_read_column_rows(st_pq_file_t *f, int rg, int leaf, int64_t row_lo, int64_t row_hi,
                        pq_column_data_t *out) {
    return read_column(f, rg, leaf, row_lo, row_hi, NULL, NULL, out);
}

int pq_walk_pages(st_pq_file_t *f, int rg, int leaf, pq_page_visit_fn visit, void *ctx) {
    pq_column_data_t cd;
    int rc = read_column(f, rg, leaf, 0, INT64_MAX, visit, ctx, &cd);
    pq_column_data_free(&cd);
    return rc;
}

void pq_column_data_free(pq_column_data_t *c) {
    if (!c) return;
    free(c->def);
    free(c->rep);
    st_buf_free(&c->values);
    free(c->offsets);
    memset(c, 0, sizeof *c);
}
