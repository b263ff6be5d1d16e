/*
 * The few S3 XML documents strata reads: Error, ListBucketResult (V2),
 * InitiateMultipartUploadResult and CompleteMultipartUploadResult. The input
 * comes from the network and is treated as hostile: size-capped, no DTDs or
 * entities, no network access, and every field bounded.
 */
#ifndef STRATA_S3_XML_H
#define STRATA_S3_XML_H

#include "strata/core.h"

/* Documents larger than this are refused (a ListObjectsV2 page of 1000 keys of
 * the longest size stays far below it). */
#define S3_XML_MAX (16u << 20)

/* <Error><Code/><Message/></Error>. Both out strings are malloc'd, printable
 * (control characters replaced) and bounded; missing elements give "". */
int s3_xml_parse_error(const char *xml, size_t n, char **code, char **message);

typedef struct s3_list_item {
    char *key; /* full key (or common prefix) as the server names it */
    bool is_prefix;
    uint64_t size;
    char *etag; /* quotes stripped */
    int64_t last_modified_us;
} s3_list_item_t;

typedef struct s3_list_page {
    s3_list_item_t *items; /* objects and common prefixes merged in byte order */
    size_t n;
    bool truncated;
    char *next_token; /* NextContinuationToken, NULL if none */
} s3_list_page_t;

/* ListBucketResult of ListObjectsV2. Keys are percent-decoded when the server
 * reports EncodingType url. ST_ECORRUPT for a document that is not one. */
int s3_xml_parse_list(const char *xml, size_t n, s3_list_page_t *page);
void s3_list_page_free(s3_list_page_t *page);

/* InitiateMultipartUploadResult -> UploadId (malloc'd). */
int s3_xml_parse_initiate(const char *xml, size_t n, char **upload_id);

/* CompleteMultipartUploadResult -> ETag (malloc'd, quotes stripped). A 200
 * response may still carry an <Error> document: that gives ST_EIO with
 * *err_code / *err_message set (malloc'd) so the caller can map it. */
int s3_xml_parse_complete(const char *xml, size_t n, char **etag, char **err_code,
                          char **err_message);

typedef struct s3_upload {
    char *key;
    char *upload_id;
    int64_t initiated_us;
} s3_upload_t;

/* ListMultipartUploadsResult (first page): the uploads in progress. Keys are
 * percent-decoded when the server reports EncodingType url. */
int s3_xml_parse_uploads(const char *xml, size_t n, s3_upload_t **ups, size_t *nups);
void s3_uploads_free(s3_upload_t *ups, size_t n);

/* Parses an ISO-8601 UTC time as S3 writes it (2009-10-12T17:50:30.000Z). */
int s3_parse_iso_time(const char *s, int64_t *us);

/* Appends s with & < > " ' escaped for XML text. */
int s3_xml_escape(st_buf_t *b, const char *s);

#endif
