/*
 * S3 credentials and region, resolved the way the AWS CLI does for the
 * common cases: environment variables, then a profile of the shared
 * credentials file.
 */
#ifndef STRATA_S3_CREDS_H
#define STRATA_S3_CREDS_H

#include "strata/core.h"

typedef struct s3_creds {
    char *access_key;
    char *secret_key;
    char *session_token; /* NULL unless temporary credentials */
    char *source;        /* where they came from, for messages ("environment", "profile x of F") */
} s3_creds_t;

/* Resolution order: an explicit profile (URL profile=) reads that profile;
 * otherwise AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
 * from the environment; otherwise the AWS_PROFILE (default "default") profile
 * of AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials. ST_EAUTH with a
 * message saying what was tried when nothing yields a key pair. */
int s3_creds_load(const char *url_profile, s3_creds_t *out);

/* Reads `profile` from the text of a credentials file (INI: [profile] sections,
 * key = value, '#' and ';' comments). ST_ENOTFOUND if the profile is absent,
 * ST_EAUTH if it lacks a key pair. `origin` names the file in messages. */
int s3_creds_parse(const char *text, size_t n, const char *profile, const char *origin,
                   s3_creds_t *out);

void s3_creds_free(s3_creds_t *c);

/* Region: URL region=, else AWS_REGION, else AWS_DEFAULT_REGION, else
 * us-east-1 (malloc'd; NULL only when out of memory). */
char *s3_region_resolve(const char *url_region);

#endif
