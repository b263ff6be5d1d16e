/*
 * Private to the s3 backend: the store state, one request (s3_op_t) and the
 * helpers its files share. s3.c holds the backend entry points, reads,
 * listing and open; s3_req.c runs and maps requests; s3_put.c writes objects
 * (single PUTs, multipart uploads, the streaming writer); s3_probe.c finds
 * out what the server enforces.
 */
#ifndef STRATA_S3_INTERNAL_H
#define STRATA_S3_INTERNAL_H

#include "store/backend.h"
#include "store/s3_creds.h"
#include "store/s3_http.h"
#include "store/s3_sign.h"

#define S3_MiB ((uint64_t)1 << 20)
#define S3_PART_SIZE_DEFAULT (8 * S3_MiB)
#define S3_PART_SIZE_MIN (5 * S3_MiB) /* S3's minimum for every part but the last */
#define S3_PART_SIZE_MAX (5 * 1024 * S3_MiB)
#define S3_SINGLE_PUT_MAX (5 * 1024 * S3_MiB)
#define S3_MAX_PARTS 10000
#define S3_PARTS_IN_FLIGHT 4
#define S3_META_MAX 2048
#define S3_PROBE_DIR ".strata-probe/"

typedef struct s3_store {
    char *bucket;
    char *prefix; /* "" or "a/b" */
    char *region;
    char *host;      /* Host header value */
    char *base_url;  /* scheme://host[:port] */
    char *path_base; /* "/bucket" (path-style) or "" */
    char *display;   /* s3://bucket[/prefix] */
    s3_creds_t creds;
    s3_http_t *http;
    uint64_t part_size;
    unsigned caps;
    bool mpu_if_absent; /* CompleteMultipartUpload enforces If-None-Match */
    bool mpu_if_match;  /* ... and If-Match */
    /* Whether If-Match carries the ETag quoted, as RFC 7232 and AWS have it,
     * or bare, the only form radosgw 16 matches (it compares the header
     * text with the stored ETag byte for byte). The probe finds out. */
    bool if_match_quoted;
} s3_store_t;

/* ---- helpers (s3_req.c); string helpers set ST_ENOMEM and return NULL ---- */

char *s3_strdup(const char *s);
char *s3_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void s3_md5(const void *d, size_t n, uint8_t out[16]);
/* The full key inside the bucket: store prefix + "/" + key. */
char *s3_full_key(const s3_store_t *st, const char *key);
/* "s3://bucket/<full key>" for messages. */
char *s3_url_of(const s3_store_t *st, const char *fk);
/* Copies an ETag without its quotes, cut to fit st_object_info_t.etag. */
void s3_copy_etag(char dst[130], const char *v);
/* Decodes an RFC 2047 "=?UTF-8?B?...?=" metadata value (else copies it). */
char *s3_meta_decode(const char *v);

/* Request headers beyond the ones every request carries (the strings are
 * copied). */
typedef struct s3_hdrs {
    s3_kv_t *kv;
    char **owned;
    int n, cap, nowned;
} s3_hdrs_t;

int s3_hdrs_add(s3_hdrs_t *h, const char *name, const char *value);
void s3_hdrs_free(s3_hdrs_t *h);

/* One signed request; fill in, s3_op_run, then s3_op_free. */
typedef struct s3_op {
    s3_store_t *st;
    const char *method;
    const char *fkey; /* full key, or NULL for the bucket itself */
    s3_kv_t query[6];
    int nquery;
    s3_hdrs_t h;
    char payload_hash[ST_SHA256_HEX_LEN + 1];
    const s3_body_t *body;
    st_buf_t *out;
    uint64_t out_max;
    char *path;
} s3_op_t;

/* Signs (for every attempt) and sends the request; 0 when a response arrived
 * (any status), else the transport error prefixed with the object's URL. */
int s3_op_run(s3_op_t *op, s3_resp_t *resp);
void s3_op_free(s3_op_t *op);

bool s3_ok(long status);
/* The strata code for an HTTP status and S3 error code. */
int s3_code_of(long status, const char *code);
/* Maps a failed response to a strata code and a message with the server's
 * own words: "s3://bkt/a/v2.parquet: 412 PreconditionFailed: ...". */
int s3_fail(const s3_store_t *st, const char *fkey, const s3_resp_t *r);
/* Size, ETag, Last-Modified, content type and user metadata of a response
 * (size from Content-Range when ranged). */
int s3_info_from_resp(const s3_resp_t *r, st_object_info_t *info, bool ranged);
/* HEAD of a full key; info may be NULL. */
int s3_head_full(s3_store_t *st, const char *fk, st_object_info_t *info);

/* ---- writes (s3_put.c) ---- */

/* Content-Type and x-amz-meta-* headers of opts (when meta). */
int s3_add_put_headers(s3_hdrs_t *h, const st_put_opts_t *o, const char *url, bool meta);
/* If-None-Match / If-Match for opts' mode. */
int s3_add_cond_headers(s3_hdrs_t *h, const st_put_opts_t *o, const char *url, bool quoted);
/* One PUT of a whole object given its digests (conditional per o, with the
 * idempotency rule for retried conditional puts). */
int s3_put_single(s3_store_t *st, const char *fk, const s3_body_t *body, const char sha256_hex[65],
                  const uint8_t md5[16], const st_put_opts_t *o, st_object_info_t *info);
int s3_put_mem(s3_store_t *st, const char *fk, const void *data, size_t n, const st_put_opts_t *o,
               st_object_info_t *info);
/* Whether CompleteMultipartUpload enforces `mode` (probe helper; fk must
 * exist). */
bool s3_mpu_condition_enforced(s3_store_t *st, const char *fk, st_put_mode_t mode);
/* Backend entry points. */
int s3_be_put(void *state, const char *key, const void *data, size_t n, const st_put_opts_t *opts,
              st_object_info_t *info);
int s3_be_writer_open(void *state, const char *key, const st_put_opts_t *opts, void **w,
                      const st_writer_ops_t **ops);

/* ---- capabilities (s3_probe.c) ---- */

/* Sets st->caps and the conditional-write flags: from the per-process cache,
 * else by probing the endpoint. ST_ENOTFOUND for a missing bucket, ST_EAUTH
 * for refused credentials. */
int s3_probe_caps(s3_store_t *st);

#endif
