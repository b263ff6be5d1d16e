/* Parquet compression codecs over Debian's libraries. */
#include "parquet/codec.h"

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <lz4.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

static int corrupt(const char *codec, const char *what) {
    return st_error(ST_ECORRUPT, "%s decompression failed: %s", codec, what);
}

/* ---- uncompressed ---- */

static int plain_compress(const uint8_t *src, size_t n, int level, st_buf_t *out) {
    (void)level;
    return st_buf_append(out, src, n);
}

static int plain_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len) {
    if (n != dst_len) return corrupt("UNCOMPRESSED", "page size does not match header");
    if (n) memcpy(dst, src, n);
    return ST_OK;
}

/* ---- snappy ---- */

static int snappy_compress_(const uint8_t *src, size_t n, int level, st_buf_t *out) {
    (void)level;
    size_t cap = snappy_max_compressed_length(n);
    int rc = st_buf_reserve(out, cap);
    if (rc) return rc;
    if (snappy_compress((const char *)src, n, (char *)out->data + out->len, &cap) != SNAPPY_OK)
        return st_error(ST_EIO, "snappy compression failed");
    out->len += cap;
    return ST_OK;
}

static int snappy_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len) {
    size_t len;
    if (snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK)
        return corrupt("SNAPPY", "bad length header");
    if (len != dst_len) return corrupt("SNAPPY", "uncompressed size does not match page header");
    if (snappy_uncompress((const char *)src, n, (char *)dst, &len) != SNAPPY_OK || len != dst_len)
        return corrupt("SNAPPY", "invalid data");
    return ST_OK;
}

/* ---- gzip (RFC 1952 framing; zlib framing is accepted too when reading) ---- */

static int gzip_compress(const uint8_t *src, size_t n, int level, st_buf_t *out) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, level > 0 ? level : 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return st_error(ST_ENOMEM, "gzip: cannot start compressor");
    size_t cap = deflateBound(&z, (uLong)n) + 32;
    int rc = st_buf_reserve(out, cap);
    if (rc) {
        deflateEnd(&z);
        return rc;
    }
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)n;
    z.next_out = out->data + out->len;
    z.avail_out = (uInt)cap;
    int zr = deflate(&z, Z_FINISH);
    size_t produced = cap - z.avail_out;
    deflateEnd(&z);
    if (zr != Z_STREAM_END) return st_error(ST_EIO, "gzip compression failed");
    out->len += produced;
    return ST_OK;
}

static int gzip_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 32 + MAX_WBITS) != Z_OK) return st_error(ST_ENOMEM, "gzip: cannot start");
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)n;
    z.next_out = dst;
    z.avail_out = (uInt)dst_len;
    int zr;
    /* Some writers concatenate gzip members; keep going while input remains. */
    for (;;) {
        zr = inflate(&z, Z_FINISH);
        if (zr == Z_STREAM_END && z.avail_in > 0 && z.avail_out > 0) {
            if (inflateReset(&z) != Z_OK) break;
            continue;
        }
        break;
    }
    size_t produced = dst_len - z.avail_out;
    inflateEnd(&z);
    if (zr != Z_STREAM_END && !(zr == Z_BUF_ERROR && produced == dst_len && z.avail_in == 0))
        return corrupt("GZIP", "invalid or truncated data");
    if (produced != dst_len) return corrupt("GZIP", "uncompressed size does not match page header");
    return ST_OK;
}

/* ---- zstd ---- */

static int zstd_compress(const uint8_t *src, size_t n, int level, st_buf_t *out) {
    size_t cap = ZSTD_compressBound(n);
    int rc = st_buf_reserve(out, cap);
    if (rc) return rc;
    size_t r = ZSTD_compress(out->data + out->len, cap, src, n, level ? level : 3);
    if (ZSTD_isError(r)) return st_error(ST_EIO, "zstd compression failed: %s", ZSTD_getErrorName(r));
    out->len += r;
    return ST_OK;
}

static int zstd_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len) {
    size_t r = ZSTD_decompress(dst, dst_len, src, n);
    if (ZSTD_isError(r)) return corrupt("ZSTD", ZSTD_getErrorName(r));
    if (r != dst_len) return corrupt("ZSTD", "uncompressed size does not match page header");
    return ST_OK;
}

/* ---- lz4 raw block ---- */

static int lz4raw_compress(const uint8_t *src, size_t n, int level, st_buf_t *out) {
    (void)level;
    if (n > LZ4_MAX_INPUT_SIZE) return st_error(ST_EINVAL, "lz4: page too large");
    int cap = LZ4_compressBound((int)n);
    int rc = st_buf_reserve(out, (size_t)cap);
    if (rc) return rc;
    int r = LZ4_compress_default((const char *)src, (char *)out->data + out->len, (int)n, cap);
    if (r <= 0) return st_error(ST_EIO, "lz4 compression failed");
    out->len += (size_t)r;
    return ST_OK;
}

static int lz4raw_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len) {
    if (n > INT32_MAX || dst_len > INT32_MAX) return corrupt("LZ4_RAW", "page too large");
    int r = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)dst_len);
    if (r < 0) return corrupt("LZ4_RAW", "invalid data");
    if ((size_t)r != dst_len) return corrupt("LZ4_RAW", "uncompressed size does not match page header");
    return ST_OK;
}

/* ---- legacy LZ4: Hadoop block framing, or (older writers) an LZ4 frame, or a
 * bare block. Tried in that order, as other readers do. ---- */

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool lz4_hadoop(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len) {
    size_t in = 0, outp = 0;
    while (in < n) {
        if (n - in < 8) return false;
        uint32_t ulen = be32(src + in), clen = be32(src + in + 4);
        in += 8;
        if (clen > n - in || ulen > dst_len - outp || clen > INT32_MAX) return false;
        int r = LZ4_decompress_safe((const char *)src + in, (char *)dst + outp, (int)clen, (int)ulen);
        if (r < 0 || (uint32_t)r != ulen) return false;
        in += clen;
        outp += ulen;
    }
    return outp == dst_len;
}

static bool lz4_frame(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len) {
    LZ4F_dctx *ctx;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) return false;
    size_t in = 0, outp = 0;
    bool ok = false;
    for (;;) {
        size_t src_size = n - in, dst_size = dst_len - outp;
        size_t r = LZ4F_decompress(ctx, dst + outp, &dst_size, src + in, &src_size, NULL);
        if (LZ4F_isError(r)) break;
        in += src_size;
        outp += dst_size;
        if (r == 0) {
            ok = outp == dst_len;
            break;
        }
        if (src_size == 0 && dst_size == 0) break;
    }
    LZ4F_freeDecompressionContext(ctx);
    return ok;
}

static int lz4_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len) {
    if (lz4_hadoop(src, n, dst, dst_len)) return ST_OK;
    if (lz4_frame(src, n, dst, dst_len)) return ST_OK;
    if (lz4raw_decompress(src, n, dst, dst_len) == ST_OK) return ST_OK;
    return corrupt("LZ4", "data is neither Hadoop-framed, an LZ4 frame nor an LZ4 block");
}

/* ---- brotli ---- */

static int brotli_compress(const uint8_t *src, size_t n, int level, st_buf_t *out) {
    size_t cap = BrotliEncoderMaxCompressedSize(n);
    if (cap == 0) cap = n + 1024;
    int rc = st_buf_reserve(out, cap);
    if (rc) return rc;
    if (!BrotliEncoderCompress(level ? level : 5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, n, src,
                               &cap, out->data + out->len))
        return st_error(ST_EIO, "brotli compression failed");
    out->len += cap;
    return ST_OK;
}

static int brotli_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len) {
    size_t len = dst_len;
    if (BrotliDecoderDecompress(n, src, &len, dst) != BROTLI_DECODER_RESULT_SUCCESS)
        return corrupt("BROTLI", "invalid data or size larger than page header");
    if (len != dst_len) return corrupt("BROTLI", "uncompressed size does not match page header");
    return ST_OK;
}

static const pq_codec_t codecs[] = {
    {ST_CODEC_UNCOMPRESSED, "UNCOMPRESSED", plain_compress, plain_decompress},
    {ST_CODEC_SNAPPY, "SNAPPY", snappy_compress_, snappy_decompress},
    {ST_CODEC_GZIP, "GZIP", gzip_compress, gzip_decompress},
    {ST_CODEC_BROTLI, "BROTLI", brotli_compress, brotli_decompress},
    {ST_CODEC_LZ4, "LZ4", NULL, lz4_decompress},
    {ST_CODEC_ZSTD, "ZSTD", zstd_compress, zstd_decompress},
    {ST_CODEC_LZ4_RAW, "LZ4_RAW", lz4raw_compress, lz4raw_decompress},
};

const pq_codec_t *pq_codec_find(int id) {
    for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++)
        if ((int)codecs[i].id == id) return &codecs[i];
    return NULL;
}

const char *st_codec_name(st_codec_t codec) {
    if (codec == ST_CODEC_LZO) return "LZO";
    const pq_codec_t *c = pq_codec_find(codec);
    return c ? c->name : "UNKNOWN";
}

int st_codec_parse(const char *name, st_codec_t *out) {
    if (!strcasecmp(name, "none")) name = "uncompressed";
    for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++) {
        if (!strcasecmp(name, codecs[i].name) && codecs[i].compress) {
            *out = codecs[i].id;
            return ST_OK;
        }
    }
    return st_error(ST_EINVAL,
                    "unknown codec '%s' (expected uncompressed, snappy, gzip, brotli, zstd or lz4_raw)",
                    name);
}
