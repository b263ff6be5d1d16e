/*
 * HTTP for the S3 backend, over libcurl: one share handle per store (DNS
 * and TLS sessions are shared by every request of the store), a pool of
 * reusable easy handles that keep their connections alive (a request costs
 * neither handle setup nor a new connection), timeouts, and retries with
 * capped exponential backoff and full jitter.
 */
#ifndef STRATA_S3_HTTP_H
#define STRATA_S3_HTTP_H

#include "strata/core.h"

#include <curl/curl.h>

typedef struct s3_http s3_http_t;

typedef struct s3_http_opts {
    long timeout_ms;         /* whole request; 0 = no limit (stalls are still detected) */
    long connect_timeout_ms; /* 0 = default (10 s, or timeout_ms if smaller) */
    int retries;             /* extra attempts after the first */
    long backoff_base_ms;    /* first backoff ceiling; 0 = default 50 ms */
    long backoff_cap_ms;     /* largest backoff ceiling; 0 = default 5 s */
} s3_http_opts_t;

/* Takes a reference on libcurl's global state (curl_global_init on the first
 * one); s3_http_free releases it (curl_global_cleanup with the last one). */
int s3_http_new(const s3_http_opts_t *opts, s3_http_t **out);
void s3_http_free(s3_http_t *h);

/* A request body: bytes in memory, or a range of an open file. */
typedef struct s3_body {
    const uint8_t *mem;
    int fd; /* used when mem is NULL */
    uint64_t offset;
    uint64_t len;
} s3_body_t;

/* One response header (name lowercased, value trimmed). */
typedef struct s3_hdr {
    char *name;
    char *value;
} s3_hdr_t;

typedef struct s3_resp {
    long status;
    s3_hdr_t *hdrs;
    int nhdrs;
    st_buf_t err_body; /* body of a non-2xx response (bounded) */
    int attempts;      /* how many attempts were made */
    /* How many times the request went out. Above attempts when libcurl
     * silently resent it on a reused connection that had died: a request
     * sent twice may have been applied by the first send. */
    int sends;
} s3_resp_t;

typedef struct s3_http_req {
    const char *method; /* GET, HEAD, PUT, POST, DELETE */
    const char *url;
    const s3_body_t *body; /* NULL: no body */
    /* Sink for a 2xx body, appended (NULL: discarded). On a retry whatever an
     * earlier attempt appended is dropped again. */
    st_buf_t *out;
    uint64_t out_max; /* larger 2xx bodies fail the request; 0 = no limit */
    /* Builds the complete header list for one attempt (signed with the
     * current time); called before every attempt. */
    int (*prepare)(void *ctx, struct curl_slist **headers);
    void *ctx;
} s3_http_req_t;

/* Runs a request. Returns 0 when a response arrived (any status; resp holds
 * it, after retries of 5xx/429 ran out), or ST_EIO (message: the transport
 * failure) when none did; ST_ENOMEM, or a prepare() error. The caller frees
 * resp with s3_resp_free. */
int s3_http_do(s3_http_t *h, const s3_http_req_t *req, s3_resp_t *resp);
void s3_resp_free(s3_resp_t *resp);

/* The value of a response header, NULL if absent. */
const char *s3_resp_header(const s3_resp_t *resp, const char *name);

/* Whether a status / transport result is worth another attempt. */
bool s3_http_retryable_status(long status);
bool s3_http_retryable_curl(CURLcode cc);
/* The backoff before attempt `attempt` (1 = first retry): uniformly random
 * in [0, min(cap, base * 2^(attempt-1))] ms. */
long s3_http_backoff_ms(const s3_http_opts_t *o, int attempt);

#endif
