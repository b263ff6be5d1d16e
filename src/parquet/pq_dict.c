/* What a scan can learn about a column chunk without decoding data pages: its
 * page counts (the footer's encoding_stats, or an estimate where a writer left
 * none) and the values of its dictionary page, the exact set of values a fully
 * dictionary-encoded chunk holds. */
#include <stdlib.h>
#include <string.h>

#include "parquet/codec.h"
#include "parquet/pq_decode.h"
#include "parquet/pq_ranges.h"
#include "parquet/thrift.h"

/* Dictionaries larger than this are not worth reading just to prune. */
#define DICT_MAX_BYTES ((uint64_t)16 << 20)
#define HEADER_PEEK 4096u

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_) return rc_;                                                                       \
    } while (0)

/* ---- page counts ---- */

static bool has_enc(const pq_chunk_meta_t *m, int enc) {
    for (int i = 0; i < m->num_encodings; i++)
        if (m->encodings[i] == enc) return true;
    return false;
}

/* Without encoding_stats: one page per MiB of values (the common writer
 * default), and "all dictionary" only when no plain value encoding is listed. */
static void estimate(const pq_chunk_meta_t *m, st_pq_chunk_pages_t *p) {
    bool dict = has_enc(m, PQ_ENC_RLE_DICTIONARY) || has_enc(m, PQ_ENC_PLAIN_DICTIONARY);
    p->exact = false;
    p->dict_pages = dict || m->dictionary_page_offset >= 4 ? 1 : 0;
    int64_t u = m->total_uncompressed_size > 0 ? m->total_uncompressed_size : 0;
    p->data_pages = m->num_values > 0 ? (u + (1 << 20) - 1) / (1 << 20) : 0;
    if (m->num_values > 0 && p->data_pages == 0) p->data_pages = 1;
    bool other = false;
    for (int i = 0; i < m->num_encodings; i++) {
        int e = m->encodings[i];
        if (e != PQ_ENC_RLE_DICTIONARY && e != PQ_ENC_PLAIN_DICTIONARY && e != PQ_ENC_RLE &&
            e != PQ_ENC_BIT_PACKED)
            other = true;
    }
    p->all_dictionary = dict && !other;
}

int st_pq_chunk_pages(st_pq_file_t *f, st_pq_chunk_pages_t *out) {
    if (!f || !out) return st_error(ST_EINVAL, "st_pq_chunk_pages: bad arguments");
    int ncols = f->nodes[0].num_children;
    if (ncols != f->num_leaves)
        return st_error(ST_EUNSUPPORTED, "%s: page counts need a flat schema", f->src.name);
    for (int g = 0; g < f->num_row_groups; g++)
        for (int c = 0; c < ncols; c++) {
            const pq_chunk_meta_t *m = &f->row_groups[g].chunks[c];
            st_pq_chunk_pages_t *p = &out[(size_t)g * (size_t)ncols + (size_t)c];
            memset(p, 0, sizeof *p);
            if (m->has_page_counts) {
                p->exact = true;
                p->dict_pages = m->dict_pages;
                p->data_pages = m->data_pages;
                p->all_dictionary = m->all_dictionary;
            } else {
                estimate(m, p);
            }
        }
    return ST_OK;
}

/* ---- dictionary page ---- */

typedef struct dict_header {
    int32_t type, uncompressed, compressed, num_values, encoding;
} dict_header_t;

static int read_header(th_reader_t *r, dict_header_t *h) {
    memset(h, 0, sizeof *h);
    h->type = h->uncompressed = h->compressed = -1;
    th_struct_t s;
    TRY(th_struct_begin(r, &s));
    for (;;) {
        int16_t id;
        int t;
        TRY(th_field(r, &s, &id, &t));
        if (t == TH_STOP) break;
        if (id == 1) TRY(th_read_i32(r, t, &h->type));
        else if (id == 2) TRY(th_read_i32(r, t, &h->uncompressed));
        else if (id == 3) TRY(th_read_i32(r, t, &h->compressed));
        else if (id == 7 && t == TH_STRUCT) {
            th_struct_t d;
            TRY(th_struct_begin(r, &d));
            for (;;) {
                int16_t did;
                int dt;
                TRY(th_field(r, &d, &did, &dt));
                if (dt == TH_STOP) break;
                if (did == 1) TRY(th_read_i32(r, dt, &h->num_values));
                else if (did == 2) TRY(th_read_i32(r, dt, &h->encoding));
                else TRY(th_skip(r, dt));
            }
            th_struct_end(r);
        } else {
            TRY(th_skip(r, t));
        }
    }
    th_struct_end(r);
    return ST_OK;
}

static int read_dictionary(st_pq_file_t *f, int rg, int col, st_batch_t **out) {
    const pq_node_t *n = &f->nodes[f->nodes[0].children[col]];
    if (n->leaf < 0 || n->physical < 0) return st_error(ST_EUNSUPPORTED, "column %d is nested", col);
    const pq_chunk_meta_t *m = &f->row_groups[rg].chunks[n->leaf];
    if (m->num_values == 0) return ST_OK;
    int64_t start = m->data_page_offset;
    if (m->dictionary_page_offset >= 4 && m->dictionary_page_offset < start) start = m->dictionary_page_offset;
    uint64_t data_end = f->src.size - 8 - f->footer.len;
    if (start < 4 || (uint64_t)start >= data_end) return st_error(ST_ECORRUPT, "chunk offset out of range");
    uint64_t room = data_end - (uint64_t)start;
    uint64_t clen = m->total_compressed_size > 0 ? (uint64_t)m->total_compressed_size : 0;
    if (clen > room) return st_error(ST_ECORRUPT, "chunk extends past the data area");
    uint64_t peek = clen < HEADER_PEEK ? clen : HEADER_PEEK;
    st_buf_t raw = ST_BUF_INIT, plain = ST_BUF_INIT;
    pq_out_t vals;
    memset(&vals, 0, sizeof vals);
    int rc = st_buf_reserve(&raw, (size_t)peek + 1);
    if (!rc) rc = f->src.read_at(f->src.ctx, (uint64_t)start, raw.data, (size_t)peek);
    if (rc) goto done;
    raw.len = (size_t)peek;
    th_reader_t r;
    th_init(&r, raw.data, raw.len);
    dict_header_t h;
    if ((rc = read_header(&r, &h))) {
        /* A header too large for the peek (huge statistics) is not worth
         * chasing for pruning. */
        st_error_clear();
        rc = ST_OK;
        goto done;
    }
    if (h.type != PQ_PAGE_DICTIONARY) goto done; /* no dictionary in this chunk */
    if (h.compressed < 0 || h.uncompressed < 0 || h.num_values < 0 ||
        (h.encoding != PQ_ENC_PLAIN && h.encoding != PQ_ENC_PLAIN_DICTIONARY)) {
        rc = st_error(ST_ECORRUPT, "bad dictionary page header");
        goto done;
    }
    if ((uint64_t)h.uncompressed > DICT_MAX_BYTES) goto done;
    size_t hlen = (size_t)(r.p - raw.data);
    if ((uint64_t)hlen + (uint64_t)h.compressed > clen) {
        rc = st_error(ST_ECORRUPT, "dictionary page runs past the column chunk");
        goto done;
    }
    if (hlen + (size_t)h.compressed > raw.len) {
        size_t have = raw.len, need = hlen + (size_t)h.compressed;
        if ((rc = st_buf_reserve(&raw, need - have + 1))) goto done;
        if ((rc = f->src.read_at(f->src.ctx, (uint64_t)start + have, raw.data + have, need - have))) goto done;
        raw.len = need;
    }
    const uint8_t *src = raw.data + hlen, *p = src;
    const pq_codec_t *codec = pq_codec_find(m->codec);
    if (!codec) {
        rc = st_error(ST_EUNSUPPORTED, "codec %d", m->codec);
        goto done;
    }
    if (codec->id != ST_CODEC_UNCOMPRESSED) {
        if ((rc = st_buf_reserve(&plain, (size_t)h.uncompressed + 1))) goto done;
        if ((rc = codec->decompress(src, (size_t)h.compressed, plain.data, (size_t)h.uncompressed))) goto done;
        p = plain.data;
    } else if (h.compressed != h.uncompressed) {
        rc = st_error(ST_ECORRUPT, "uncompressed dictionary page sizes differ");
        goto done;
    }
    if ((rc = pq_out_init(&vals, n->physical, n->type_length, DICT_MAX_BYTES * 2))) goto done;
    size_t used;
    if ((rc = pq_decode_plain(&vals, p, (size_t)h.uncompressed, (size_t)h.num_values, &used))) goto done;
    const st_field_t *fields;
    int nf;
    if ((rc = st_pq_fields(f, &fields, &nf))) goto done;
    st_batch_t *b;
    if ((rc = st_batch_new(&fields[col], 1, &b))) goto done;
    for (int64_t i = 0; i < vals.count && !rc; i++) {
        const uint8_t *v;
        size_t len;
        if (n->physical == PQ_BYTE_ARRAY) {
            v = vals.data.data + vals.offsets[i];
            len = vals.offsets[i + 1] - vals.offsets[i];
        } else {
            v = vals.data.data + (size_t)i * (size_t)vals.width;
            len = (size_t)vals.width;
        }
        rc = pq_append_plain_value(&b->cols[0], n, v, len);
    }
    if (rc) {
        st_batch_free(b);
        goto done;
    }
    b->nrows = vals.count;
    *out = b;
done:
    pq_out_free(&vals);
    st_buf_free(&raw);
    st_buf_free(&plain);
    return rc;
}

int st_pq_read_dictionary(st_pq_file_t *f, int rg, int col, st_batch_t **out) {
    *out = NULL;
    if (!f || rg < 0 || rg >= f->num_row_groups || col < 0 || col >= f->nodes[0].num_children)
        return st_error(ST_EINVAL, "st_pq_read_dictionary: bad arguments");
    int rc = read_dictionary(f, rg, col, out);
    if (rc)
        return st_error_prefix(rc, "%s: row group %d column %s: dictionary", f->src.name, rg,
                               f->nodes[f->nodes[0].children[col]].name);
    return ST_OK;
}
