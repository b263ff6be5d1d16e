/*
 * AWS Signature Version 4 for S3 requests (header-based authorization).
 * Kept apart from the HTTP code so the canonical forms can be unit-tested
 * against AWS's published examples.
 */
#ifndef STRATA_S3_SIGN_H
#define STRATA_S3_SIGN_H

#include "strata/core.h"

#include <time.h>

/* A name/value pair: a query parameter or a request header (unencoded). */
typedef struct s3_kv {
    const char *name;
    const char *value;
} s3_kv_t;

typedef struct s3_sign_req {
    const char *method;
    /* Absolute path, not yet encoded ("/bucket/a b.txt"); S3 encodes each
     * segment once and keeps the slashes. */
    const char *path;
    const s3_kv_t *query; /* value "" for flags such as "uploads" */
    int nquery;
    /* Every header that will be sent and signed; must include host,
     * x-amz-date and x-amz-content-sha256. Names in any case. */
    const s3_kv_t *headers;
    int nheaders;
    const char *payload_hash; /* hex SHA-256 of the body, or UNSIGNED-PAYLOAD */
    const char *amz_date;     /* YYYYMMDDTHHMMSSZ, as sent in x-amz-date */
    const char *region;
    const char *service; /* "s3" */
    const char *access_key;
    const char *secret_key;
} s3_sign_req_t;

#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S3_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* RFC 3986 encoding as SigV4 defines it: unreserved characters (A-Z a-z 0-9
 * - _ . ~) stay, every other byte becomes %XX (uppercase); '/' stays when
 * keep_slash (object paths) and is encoded otherwise (query values). */
int s3_uri_encode(st_buf_t *b, const char *s, size_t n, bool keep_slash);

/* The canonical query string: names and values encoded, pairs sorted by name
 * then value, joined with '&'. The same string is sent in the URL so the
 * request and its signature agree byte for byte. */
int s3_canonical_query(st_buf_t *b, const s3_kv_t *q, int n);

/* The canonical request (appended to out) and the SignedHeaders list
 * (appended to signed_headers). */
int s3_canonical_request(const s3_sign_req_t *r, st_buf_t *out, st_buf_t *signed_headers);

/* The string to sign for a canonical request. */
int s3_string_to_sign(const s3_sign_req_t *r, const char *canonical_request, size_t n,
                      st_buf_t *out);

/* kSigning = HMAC chain over date (YYYYMMDD), region, service, "aws4_request". */
void s3_signing_key(const char *secret, const char *date8, const char *region, const char *service,
                    uint8_t out[32]);

/* The Authorization header value ("AWS4-HMAC-SHA256 Credential=...,
 * SignedHeaders=...,Signature=..."), appended to out. */
int s3_authorization(const s3_sign_req_t *r, st_buf_t *out);

/* YYYYMMDDTHHMMSSZ for a Unix time. */
void s3_amz_date(time_t t, char out[17]);

/* Base64 (standard alphabet, padded) of n bytes into out (4*ceil(n/3)+1). */
void s3_base64(const uint8_t *data, size_t n, char *out);

#endif
