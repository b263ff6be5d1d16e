/*
 * Capabilities of an S3 endpoint, found out once per endpoint, bucket and
 * access key in the process: whether conditional puts are really enforced
 * (servers such as s3rver accept and ignore them), in which form If-Match is
 * understood, and whether multipart completes honour conditions.
 */
#include "store/s3_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct probe_entry {
    char key[512];
    unsigned caps;
    bool mpu_if_absent, mpu_if_match, if_match_quoted;
} probe_entry_t;

/* The per-process probe cache the store contract asks for: one probe per
 * endpoint, bucket and access key. Fixed-size, no allocation. */
static pthread_mutex_t probe_mu = PTHREAD_MUTEX_INITIALIZER;
static probe_entry_t probe_cache[32];
static int probe_count;

static bool probe_key(const s3_store_t *st, char out[512]) {
    int n = snprintf(out, 512, "%s|%s|%s", st->base_url, st->bucket, st->creds.access_key);
    return n > 0 && n < 512;
}

static bool probe_lookup(s3_store_t *st) {
    char k[512];
    if (!probe_key(st, k)) return false;
    bool hit = false;
    pthread_mutex_lock(&probe_mu);
    for (int i = 0; i < probe_count && !hit; i++) {
        if (strcmp(probe_cache[i].key, k) == 0) {
            st->caps = probe_cache[i].caps;
            st->mpu_if_absent = probe_cache[i].mpu_if_absent;
            st->mpu_if_match = probe_cache[i].mpu_if_match;
            st->if_match_quoted = probe_cache[i].if_match_quoted;
            hit = true;
        }
    }
    pthread_mutex_unlock(&probe_mu);
    return hit;
}

static void probe_store(const s3_store_t *st) {
    char k[512];
    if (!probe_key(st, k)) return;
    pthread_mutex_lock(&probe_mu);
    int slot = probe_count < (int)(sizeof probe_cache / sizeof *probe_cache) ? probe_count++ : 0;
    snprintf(probe_cache[slot].key, sizeof probe_cache[slot].key, "%s", k);
    probe_cache[slot].caps = st->caps;
    probe_cache[slot].mpu_if_absent = st->mpu_if_absent;
    probe_cache[slot].mpu_if_match = st->mpu_if_match;
    probe_cache[slot].if_match_quoted = st->if_match_quoted;
    pthread_mutex_unlock(&probe_mu);
}

static int probe_put(s3_store_t *st, const char *fk, const char *body, st_put_mode_t mode,
                     const char *if_match, st_object_info_t *info) {
    st_put_opts_t o = {.mode = mode, .if_match = if_match, .content_type = "text/plain"};
    return s3_put_mem(st, fk, body, strlen(body), &o, info);
}

/* Finds out what the server really enforces: a put-if-absent onto a fresh key
 * must succeed and a second one must be refused; an if-match with a wrong
 * ETag must be refused. Servers that ignore conditional headers (s3rver)
 * answer 200 to both and get no conditional capabilities. The probe key is
 * removed again. */
static int probe(s3_store_t *st) {
    uint8_t u[16];
    char uuid[ST_UUID_STR_LEN + 1];
    int rc = st_uuid_v4(u);
    if (rc) return rc;
    st_uuid_format(u, uuid);
    char *fk = s3_asprintf(S3_PROBE_DIR "%s", uuid);
    if (!fk) return ST_ENOMEM;
    st->caps = 0;
    st->mpu_if_absent = st->mpu_if_match = false;
    st->if_match_quoted = true;
    st_object_info_t pi;
    rc = probe_put(st, fk, "strata probe 1", ST_PUT_IF_ABSENT, NULL, &pi);
    if (rc) {
        if (rc == ST_ENOTFOUND && strstr(st_errmsg(), "NoSuchBucket")) {
            char why[1024];
            const char *p = strstr(st_errmsg(), "404");
            snprintf(why, sizeof why, "%s", p ? p : "404 NoSuchBucket");
            rc = st_error(ST_ENOTFOUND, "%s: bucket '%s' does not exist (%s)", st->display,
                          st->bucket, why);
        } else if (rc == ST_EAUTH && strstr(st_errmsg(), "AccessDenied")) {
            /* Valid credentials without write access: a read-only store. */
            rc = ST_OK;
            st_error_clear();
        } else {
            rc = st_error_prefix(rc, "%s: probing the endpoint", st->display);
        }
        free(fk);
        return rc;
    }
    char current[130];
    s3_copy_etag(current, pi.etag);
    st_object_info_t pi2;
    rc = probe_put(st, fk, "strata probe 2", ST_PUT_IF_ABSENT, NULL, &pi2);
    if (rc == ST_ECONFLICT)
        st->caps |= ST_CAP_PUT_IF_ABSENT;
    else if (rc)
        goto out;
    else
        s3_copy_etag(current, pi2.etag);
    rc = probe_put(st, fk, "strata probe 3", ST_PUT_IF_MATCH, "00000000000000000000000000000000",
                   &pi2);
    if (rc == ST_ECONFLICT) {
        /* Enforced. Now find the form of the right ETag it accepts. */
        st->if_match_quoted = true;
        rc = probe_put(st, fk, "strata probe 4", ST_PUT_IF_MATCH, current, &pi2);
        if (rc == ST_ECONFLICT) {
            st->if_match_quoted = false;
            rc = probe_put(st, fk, "strata probe 4", ST_PUT_IF_MATCH, current, &pi2);
        }
        if (!rc)
            st->caps |= ST_CAP_PUT_IF_MATCH;
        else if (rc == ST_ECONFLICT)
            st->if_match_quoted = true; /* neither: no if-match */
        else
            goto out;
    } else if (rc) {
        goto out;
    }
    rc = ST_OK;
    if (st->caps & ST_CAP_PUT_IF_ABSENT)
        st->mpu_if_absent = s3_mpu_condition_enforced(st, fk, ST_PUT_IF_ABSENT);
    if (st->mpu_if_absent && (st->caps & ST_CAP_PUT_IF_MATCH))
        st->mpu_if_match = s3_mpu_condition_enforced(st, fk, ST_PUT_IF_MATCH);
    st_error_clear();
out:
    if (rc) rc = st_error_prefix(rc, "%s: probing the endpoint", st->display);
    {
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", st_errmsg());
        s3_op_t op = {.st = st, .method = "DELETE", .fkey = fk};
        s3_resp_t r = {0};
        if (s3_op_run(&op, &r) == 0) s3_resp_free(&r);
        s3_op_free(&op);
        if (rc)
            st_error(rc, "%s", saved);
        else
            st_error_clear();
    }
    free(fk);
    return rc;
}

int s3_probe_caps(s3_store_t *st) {
    if (probe_lookup(st)) return ST_OK;
    int rc = probe(st);
    if (!rc) probe_store(st);
    return rc;
}
