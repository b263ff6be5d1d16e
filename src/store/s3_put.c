/*
 * Writing S3 objects: single PUTs, multipart uploads with parts in flight in
 * threads, and the streaming writer. A conditional multipart upload is only
 * atomic if the server checks the condition on CompleteMultipartUpload (AWS
 * does since 2024, radosgw 16 does not; s3_probe.c finds out). Where it does
 * not, a conditional writer spools the object to a temporary file and commits
 * it with one conditional PUT (up to 5 GiB, S3's limit for a single PUT), so a
 * lost condition never leaves a visible object.
 */
#include "store/s3_internal.h"
#include "store/s3_xml.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static bool etag_eq(const char *a, const char *b) { return strcasecmp(a, b) == 0; }

/* User metadata values travel as HTTP header values, which are ASCII and lose
 * surrounding blanks. Anything else is sent as an RFC 2047 encoded word, the
 * form S3 itself uses for non-ASCII metadata, and decoded again by head. */
static bool meta_plain(const char *v) {
    size_t n = strlen(v);
    if (n && (v[0] == ' ' || v[n - 1] == ' ')) return false;
    if (strncmp(v, "=?", 2) == 0) return false;
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7e) return false;
    return true;
}

static char *meta_encode(const char *v) {
    if (meta_plain(v)) return s3_strdup(v);
    size_t n = strlen(v);
    char *b64 = malloc(4 * ((n + 2) / 3) + 1);
    if (!b64) {
        st_error(ST_ENOMEM, "out of memory");
        return NULL;
    }
    s3_base64((const uint8_t *)v, n, b64);
    char *r = s3_asprintf("=?UTF-8?B?%s?=", b64);
    free(b64);
    return r;
}

static int add_meta_headers(s3_hdrs_t *h, const st_put_opts_t *o, const char *url) {
    size_t total = 0;
    for (int i = 0; i < o->nmeta; i++) {
        const char *k = o->meta[i].key, *v = o->meta[i].value ? o->meta[i].value : "";
        if (!k || !*k) return st_error(ST_EINVAL, "%s: empty metadata key", url);
        for (const char *c = k; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
                return st_error(ST_EINVAL,
                                "%s: metadata key '%s' is not lowercase letters, digits and '-'",
                                url, k);
        char *ev = meta_encode(v);
        if (!ev) return ST_ENOMEM;
        total += strlen(k) + strlen(ev);
        char name[300];
        if (strlen(k) > 256) {
            free(ev);
            return st_error(ST_EINVAL, "%s: metadata key too long", url);
        }
        snprintf(name, sizeof name, "x-amz-meta-%s", k);
        int rc = s3_hdrs_add(h, name, ev);
        free(ev);
        if (rc) return rc;
    }
    if (total > S3_META_MAX)
        return st_error(ST_EINVAL, "%s: user metadata of %zu bytes exceeds %d", url, total,
                        S3_META_MAX);
    return ST_OK;
}

/* ---- put ------------------------------------------------------------------- */

static const uint8_t empty_body[1];

int s3_add_put_headers(s3_hdrs_t *h, const st_put_opts_t *o, const char *url, bool meta) {
    int rc = ST_OK;
    if (meta) {
        rc = s3_hdrs_add(h, "content-type",
                         o->content_type && *o->content_type ? o->content_type
                                                             : "application/octet-stream");
        if (!rc) rc = add_meta_headers(h, o, url);
    }
    return rc;
}

int s3_add_cond_headers(s3_hdrs_t *h, const st_put_opts_t *o, const char *url, bool quoted) {
    if (o->mode == ST_PUT_IF_ABSENT) return s3_hdrs_add(h, "if-none-match", "*");
    if (o->mode == ST_PUT_IF_MATCH) {
        const char *e = o->if_match ? o->if_match : "";
        if (!*e || strchr(e, '"') || strchr(e, '\n') || strchr(e, '\r'))
            return st_error(ST_EINVAL, "%s: bad ETag '%s' for if-match", url, e);
        char q[160];
        if (strlen(e) > 140) return st_error(ST_EINVAL, "%s: ETag too long for if-match", url);
        snprintf(q, sizeof q, quoted ? "\"%s\"" : "%s", e);
        return s3_hdrs_add(h, "if-match", q);
    }
    return ST_OK;
}

/* True when a conditional request that reported a lost condition after a
 * retry had in fact succeeded on an earlier attempt whose response was lost:
 * the object now carries exactly the ETag our bytes produce. */
static bool our_write_landed(s3_store_t *st, const char *fk, const char *expect_etag,
                             st_object_info_t *info) {
    st_object_info_t hi;
    if (s3_head_full(st, fk, &hi)) return false;
    bool same = etag_eq(hi.etag, expect_etag);
    if (same && info) {
        memset(info, 0, sizeof *info);
        s3_copy_etag(info->etag, hi.etag);
        info->size = hi.size;
    }
    st_object_info_free(&hi);
    return same;
}

/* One PUT of a whole object. sha256/md5 are the body's digests. */
int s3_put_single(s3_store_t *st, const char *fk, const s3_body_t *body, const char sha256_hex[65],
                  const uint8_t md5[16], const st_put_opts_t *o, st_object_info_t *info) {
    char *url = s3_url_of(st, fk);
    if (!url) return ST_ENOMEM;
    s3_op_t op = {.st = st, .method = "PUT", .fkey = fk, .body = body};
    memcpy(op.payload_hash, sha256_hex, sizeof op.payload_hash);
    char md5b64[32], md5hex[33];
    s3_base64(md5, 16, md5b64);
    st_hex(md5, 16, md5hex);
    int rc = s3_add_put_headers(&op.h, o, url, true);
    if (!rc) rc = s3_hdrs_add(&op.h, "content-md5", md5b64);
    if (!rc) rc = s3_add_cond_headers(&op.h, o, url, st->if_match_quoted);
    s3_resp_t r = {0};
    if (!rc) rc = s3_op_run(&op, &r);
    if (!rc) {
        if (s3_ok(r.status)) {
            if (info) {
                memset(info, 0, sizeof *info);
                s3_copy_etag(info->etag, s3_resp_header(&r, "etag"));
                if (!info->etag[0]) memcpy(info->etag, md5hex, 33);
                info->size = body->len;
            }
        } else if ((r.status == 412 || r.status == 409) && r.sends > 1 && o->mode != ST_PUT_PLAIN &&
                   our_write_landed(st, fk, md5hex, info)) {
            /* Idempotency rule: this conditional PUT was retried, and the
             * object now holds exactly our bytes (the ETag of a single PUT is
             * the hex MD5 of its body), so the first attempt succeeded and
             * only its response was lost. Reporting a conflict would make the
             * caller believe another writer won. (Only a retried request is
             * checked: should another writer have stored the very same bytes
             * meanwhile, the object holds what we meant to write anyway.) */
            rc = ST_OK;
        } else if (r.status == 404 && o->mode == ST_PUT_IF_MATCH) {
            /* AWS answers If-Match on a missing key with 404 NoSuchKey: the
             * object we meant to replace is gone, which is a lost condition. */
            rc = s3_fail(st, fk, &r);
            if (rc == ST_ENOTFOUND && strstr(st_errmsg(), "NoSuchBucket") == NULL)
                rc = st_error_prefix(ST_ECONFLICT, "if-match failed");
        } else {
            rc = s3_fail(st, fk, &r);
        }
    }
    s3_resp_free(&r);
    s3_op_free(&op);
    free(url);
    return rc;
}

int s3_put_mem(s3_store_t *st, const char *fk, const void *data, size_t n, const st_put_opts_t *o,
               st_object_info_t *info) {
    s3_body_t body = {.mem = n ? data : empty_body, .len = n};
    char sha[65];
    uint8_t md5[16];
    st_sha256_hex(n ? data : empty_body, n, sha);
    s3_md5(n ? data : empty_body, n, md5);
    return s3_put_single(st, fk, &body, sha, md5, o, info);
}

/* ---- multipart upload ----------------------------------------------------- */

typedef struct s3_writer s3_writer_t;

typedef struct part_slot {
    s3_writer_t *w;
    pthread_t th;
    bool busy, threaded;
    int part_no;
    const uint8_t *data;
    size_t len;
    uint8_t *owned; /* buffer to recycle; NULL when borrowed from the caller */
    int rc;
    char msg[512];
    char etag[132];
} part_slot_t;

struct s3_writer {
    s3_store_t *st;
    char *fk;
    char *url;
    st_put_opts_t o;
    char *o_if_match, *o_ctype;
    st_meta_pair_t *o_meta;
    bool spool_mode;
    uint8_t *buf;
    size_t len;
    uint64_t total;
    /* multipart */
    char *upload_id;
    int nparts;
    char (*etags)[132];
    int etags_cap;
    part_slot_t slots[S3_PARTS_IN_FLIGHT];
    uint8_t *spare[S3_PARTS_IN_FLIGHT + 1];
    int nspare;
    int failed;
    char failed_msg[1024];
    /* spool (conditional writes on servers without conditional completes) */
    int spool_fd;
    EVP_MD_CTX *md5;
    st_sha256_ctx_t *sha;
};

static int w_fail(s3_writer_t *w, int rc) {
    if (!w->failed) {
        w->failed = rc;
        snprintf(w->failed_msg, sizeof w->failed_msg, "%s", st_errmsg());
    }
    return rc;
}

static int w_failed(s3_writer_t *w) { return st_error(w->failed, "%s", w->failed_msg); }

static int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* An initiate that had to be sent again may have created an upload whose
 * answer was lost: an orphan that would stay open (and be billed) forever.
 * Uploads of this very key that the server started while our initiate was
 * under way, other than ours, are those orphans and are aborted. The window
 * is measured on the server's clock (its Date against the uploads' Initiated
 * times), widened by 2 s; a second writer starting a multipart upload of the
 * same key within that window would lose its upload (its commit then fails
 * cleanly), which is the accepted cost. Best effort: failures are ignored. */
static void abort_orphans(s3_writer_t *w, int64_t elapsed_us) {
    s3_op_t op = {.st = w->st, .method = "GET", .fkey = NULL};
    op.query[op.nquery++] = (s3_kv_t){"uploads", ""};
    op.query[op.nquery++] = (s3_kv_t){"prefix", w->fk};
    op.query[op.nquery++] = (s3_kv_t){"encoding-type", "url"};
    st_buf_t out = ST_BUF_INIT;
    op.out = &out;
    op.out_max = S3_XML_MAX;
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", st_errmsg());
    s3_resp_t r = {0};
    s3_upload_t *ups = NULL;
    size_t n = 0;
    const char *date;
    time_t now;
    if (s3_op_run(&op, &r) == 0 && s3_ok(r.status) && (date = s3_resp_header(&r, "date")) &&
        (now = curl_getdate(date, NULL)) != (time_t)-1 &&
        s3_xml_parse_uploads((const char *)out.data, out.len, &ups, &n) == 0) {
        int64_t since = (int64_t)now * 1000000 - elapsed_us - 2000000;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(ups[i].key, w->fk) != 0 || strcmp(ups[i].upload_id, w->upload_id) == 0 ||
                ups[i].initiated_us < since)
                continue;
            s3_op_t ab = {.st = w->st, .method = "DELETE", .fkey = w->fk};
            ab.query[ab.nquery++] = (s3_kv_t){"uploadId", ups[i].upload_id};
            s3_resp_t ar = {0};
            if (s3_op_run(&ab, &ar) == 0) s3_resp_free(&ar);
            s3_op_free(&ab);
        }
    }
    s3_uploads_free(ups, n);
    s3_resp_free(&r);
    s3_op_free(&op);
    st_buf_free(&out);
    st_error(ST_OK, "%s", saved);
}

static int mpu_initiate(s3_writer_t *w) {
    int64_t t0 = mono_us();
    s3_op_t op = {.st = w->st, .method = "POST", .fkey = w->fk};
    op.query[op.nquery++] = (s3_kv_t){"uploads", ""};
    st_buf_t out = ST_BUF_INIT;
    op.out = &out;
    op.out_max = 1 << 20;
    s3_body_t body = {.mem = empty_body, .len = 0};
    op.body = &body;
    int rc = s3_add_put_headers(&op.h, &w->o, w->url, true);
    s3_resp_t r = {0};
    if (!rc) rc = s3_op_run(&op, &r);
    if (!rc) {
        if (!s3_ok(r.status))
            rc = s3_fail(w->st, w->fk, &r);
        else if ((rc = s3_xml_parse_initiate((const char *)out.data, out.len, &w->upload_id)))
            rc = st_error_prefix(ST_EIO, "%s: InitiateMultipartUpload", w->url);
        else if (r.sends > 1)
            abort_orphans(w, mono_us() - t0);
    }
    s3_resp_free(&r);
    s3_op_free(&op);
    st_buf_free(&out);
    return rc;
}

static int upload_part(s3_writer_t *w, int part_no, const uint8_t *data, size_t len,
                       char etag[132]) {
    char pn[16];
    snprintf(pn, sizeof pn, "%d", part_no);
    s3_op_t op = {.st = w->st, .method = "PUT", .fkey = w->fk};
    op.query[op.nquery++] = (s3_kv_t){"partNumber", pn};
    op.query[op.nquery++] = (s3_kv_t){"uploadId", w->upload_id};
    s3_body_t body = {.mem = len ? data : empty_body, .len = len};
    op.body = &body;
    st_sha256_hex(len ? data : empty_body, len, op.payload_hash);
    s3_resp_t r = {0};
    int rc = s3_op_run(&op, &r);
    if (!rc) {
        if (!s3_ok(r.status)) {
            rc = s3_fail(w->st, w->fk, &r);
            st_error_prefix(rc, "part %d", part_no);
        } else {
            const char *e = s3_resp_header(&r, "etag");
            if (!e || !*e || strlen(e) > 130) {
                rc = st_error(ST_EIO, "%s: part %d: response without a usable ETag", w->url,
                              part_no);
            } else {
                snprintf(etag, 132, "%s", e);
            }
        }
    }
    s3_resp_free(&r);
    s3_op_free(&op);
    return rc;
}

static void *part_main(void *arg) {
    part_slot_t *s = arg;
    s->rc = upload_part(s->w, s->part_no, s->data, s->len, s->etag);
    if (s->rc) snprintf(s->msg, sizeof s->msg, "%s", st_errmsg());
    return NULL;
}

/* Waits for a running part and records its outcome. */
static void slot_join(s3_writer_t *w, part_slot_t *s) {
    if (!s->busy) return;
    if (s->threaded) pthread_join(s->th, NULL);
    s->busy = false;
    if (s->rc) {
        if (!w->failed) {
            w->failed = s->rc;
            snprintf(w->failed_msg, sizeof w->failed_msg, "%s", s->msg);
        }
    } else {
        memcpy(w->etags[s->part_no - 1], s->etag, sizeof s->etag);
    }
    if (s->owned) {
        if (w->nspare < S3_PARTS_IN_FLIGHT + 1)
            w->spare[w->nspare++] = s->owned;
        else
            free(s->owned);
        s->owned = NULL;
    }
}

static void join_all(s3_writer_t *w) {
    for (int i = 0; i < S3_PARTS_IN_FLIGHT; i++)
        slot_join(w, &w->slots[i]);
}

/* Starts uploading one part (up to S3_PARTS_IN_FLIGHT run at once). `owned`
 * is recycled when the part is done. */
static int dispatch_part(s3_writer_t *w, const uint8_t *data, size_t len, uint8_t *owned) {
    if (w->failed) {
        free(owned);
        return w_failed(w);
    }
    if (!w->upload_id) {
        int rc = mpu_initiate(w);
        if (rc) {
            free(owned);
            return w_fail(w, rc);
        }
    }
    if (w->nparts >= S3_MAX_PARTS) {
        free(owned);
        return w_fail(w, st_error(ST_EUNSUPPORTED,
                                  "%s: more than %d parts; open the store with a larger part_size",
                                  w->url, S3_MAX_PARTS));
    }
    if (w->nparts == w->etags_cap) {
        int nc = w->etags_cap ? w->etags_cap * 2 : 64;
        char(*ne)[132] = realloc(w->etags, (size_t)nc * sizeof *ne);
        if (!ne) {
            free(owned);
            return w_fail(w, st_error(ST_ENOMEM, "out of memory"));
        }
        w->etags = ne;
        w->etags_cap = nc;
    }
    part_slot_t *s = NULL;
    for (int i = 0; i < S3_PARTS_IN_FLIGHT && !s; i++)
        if (!w->slots[i].busy) s = &w->slots[i];
    if (!s) {
        /* All busy: wait for the oldest, parts finish roughly in order. */
        part_slot_t *old = &w->slots[0];
        for (int i = 1; i < S3_PARTS_IN_FLIGHT; i++)
            if (w->slots[i].part_no < old->part_no) old = &w->slots[i];
        slot_join(w, old);
        s = old;
        if (w->failed) {
            free(owned);
            return w_failed(w);
        }
    }
    s->w = w;
    s->busy = true;
    s->part_no = ++w->nparts;
    s->data = data;
    s->len = len;
    s->owned = owned;
    s->rc = 0;
    s->msg[0] = '\0';
    s->etag[0] = '\0';
    s->threaded = pthread_create(&s->th, NULL, part_main, s) == 0;
    if (!s->threaded) part_main(s);
    return ST_OK;
}

static void mpu_abort(s3_writer_t *w) {
    if (!w->upload_id) return;
    s3_op_t op = {.st = w->st, .method = "DELETE", .fkey = w->fk};
    op.query[op.nquery++] = (s3_kv_t){"uploadId", w->upload_id};
    s3_resp_t r = {0};
    /* Best effort, and it must not clobber the message of the failure that
     * led here. */
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", st_errmsg());
    if (s3_op_run(&op, &r) == 0) s3_resp_free(&r);
    s3_op_free(&op);
    st_error(ST_OK, "%s", saved);
    free(w->upload_id);
    w->upload_id = NULL;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The ETag S3 gives a completed multipart object: hex MD5 of the parts'
 * binary MD5s, "-", the part count. False if a part ETag is not an MD5. */
static bool multipart_etag(const s3_writer_t *w, char out[64]) {
    uint8_t *cat = malloc((size_t)w->nparts * 16);
    if (!cat) return false;
    for (int i = 0; i < w->nparts; i++) {
        char e[132];
        s3_copy_etag(e, w->etags[i]);
        if (strlen(e) != 32) {
            free(cat);
            return false;
        }
        for (int k = 0; k < 16; k++) {
            int h = hexval((unsigned char)e[2 * k]), l = hexval((unsigned char)e[2 * k + 1]);
            if (h < 0 || l < 0) {
                free(cat);
                return false;
            }
            cat[16 * i + k] = (uint8_t)(h * 16 + l);
        }
    }
    uint8_t d[16];
    s3_md5(cat, (size_t)w->nparts * 16, d);
    free(cat);
    st_hex(d, 16, out);
    snprintf(out + 32, 32, "-%d", w->nparts);
    return true;
}

static int mpu_complete(s3_writer_t *w, st_object_info_t *info) {
    st_buf_t xml = ST_BUF_INIT, out = ST_BUF_INIT;
    int rc = st_buf_append_str(&xml, "<CompleteMultipartUpload>");
    for (int i = 0; i < w->nparts && !rc; i++) {
        rc = st_buf_printf(&xml, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1);
        if (!rc) rc = s3_xml_escape(&xml, w->etags[i]);
        if (!rc) rc = st_buf_append_str(&xml, "</ETag></Part>");
    }
    if (!rc) rc = st_buf_append_str(&xml, "</CompleteMultipartUpload>");
    if (rc) {
        st_buf_free(&xml);
        return rc;
    }
    s3_op_t op = {.st = w->st, .method = "POST", .fkey = w->fk};
    op.query[op.nquery++] = (s3_kv_t){"uploadId", w->upload_id};
    s3_body_t body = {.mem = xml.data, .len = xml.len};
    op.body = &body;
    op.out = &out;
    op.out_max = 1 << 20;
    st_sha256_hex(xml.data, xml.len, op.payload_hash);
    rc = s3_hdrs_add(&op.h, "content-type", "application/xml");
    if (!rc) rc = s3_add_cond_headers(&op.h, &w->o, w->url, w->st->if_match_quoted);
    s3_resp_t r = {0};
    if (!rc) rc = s3_op_run(&op, &r);
    char expect[64];
    if (!rc) {
        if (s3_ok(r.status)) {
            char *etag = NULL, *code = NULL, *msg = NULL;
            rc = s3_xml_parse_complete((const char *)out.data, out.len, &etag, &code, &msg);
            if (rc && code) {
                /* A 200 carrying an <Error>: the upload did not complete. */
                int mapped = s3_code_of(strcmp(code, "PreconditionFailed") == 0 ? 412 : 500, code);
                rc = st_error(mapped, "%s: CompleteMultipartUpload: %s: %s", w->url, code, msg);
            } else if (rc) {
                rc = st_error_prefix(ST_EIO, "%s: CompleteMultipartUpload", w->url);
            } else if (info) {
                memset(info, 0, sizeof *info);
                s3_copy_etag(info->etag, etag);
                info->size = w->total;
                /* radosgw 16 answers with an empty <ETag/>. The ETag it
                 * gives the object follows S3's rule for multipart objects,
                 * computed from our own parts, not from a HEAD that could
                 * already see another writer's object. */
                if (!info->etag[0] && multipart_etag(w, expect))
                    s3_copy_etag(info->etag, expect);
                else if (!info->etag[0]) {
                    st_object_info_t hi;
                    if (s3_head_full(w->st, w->fk, &hi) == 0) {
                        s3_copy_etag(info->etag, hi.etag);
                        st_object_info_free(&hi);
                    }
                }
            }
            free(etag);
            free(code);
            free(msg);
        } else if (r.sends > 1 && (r.status == 412 || r.status == 409 || r.status == 404) &&
                   multipart_etag(w, expect) && our_write_landed(w->st, w->fk, expect, info)) {
            /* Idempotency rule for completes: a retried complete whose first
             * attempt went through finds its upload gone (404 NoSuchUpload)
             * or its condition failing on its own object. If the object has
             * the ETag our parts produce, the commit was ours. */
            if (info) info->size = w->total;
            rc = ST_OK;
        } else {
            rc = s3_fail(w->st, w->fk, &r);
        }
    }
    s3_resp_free(&r);
    s3_op_free(&op);
    st_buf_free(&xml);
    st_buf_free(&out);
    if (!rc) {
        /* Completed: nothing left to abort. */
        free(w->upload_id);
        w->upload_id = NULL;
    }
    return rc;
}

/* ---- writer ----------------------------------------------------------------- */

static void writer_free(s3_writer_t *w) {
    join_all(w);
    mpu_abort(w);
    for (int i = 0; i < w->nspare; i++)
        free(w->spare[i]);
    free(w->buf);
    free(w->etags);
    if (w->spool_fd >= 0) close(w->spool_fd);
    if (w->md5) EVP_MD_CTX_free(w->md5);
    if (w->sha) {
        uint8_t d[32];
        st_sha256_end(w->sha, d);
    }
    if (w->o_meta) {
        for (int i = 0; i < w->o.nmeta; i++) {
            free(w->o_meta[i].key);
            free(w->o_meta[i].value);
        }
        free(w->o_meta);
    }
    free(w->o_if_match);
    free(w->o_ctype);
    free(w->fk);
    free(w->url);
    free(w);
}

static uint8_t *take_buffer(s3_writer_t *w) {
    if (w->nspare) return w->spare[--w->nspare];
    uint8_t *b = malloc(w->st->part_size);
    if (!b)
        st_error(ST_ENOMEM, "out of memory (part buffer of %llu bytes)",
                 (unsigned long long)w->st->part_size);
    return b;
}

static int spool_flush(s3_writer_t *w) {
    if (w->spool_fd < 0) {
        const char *dir = getenv("TMPDIR");
        char path[4096];
        snprintf(path, sizeof path, "%s/strata-s3-spool-XXXXXX", dir && *dir ? dir : "/tmp");
        w->spool_fd = mkstemp(path);
        if (w->spool_fd < 0)
            return w_fail(w, st_error(ST_EIO, "%s: cannot create spool file %s: %s", w->url, path,
                                      strerror(errno)));
        unlink(path);
        w->md5 = EVP_MD_CTX_new();
        if (!w->md5 || EVP_DigestInit_ex(w->md5, EVP_md5(), NULL) != 1)
            return w_fail(w, st_error(ST_ENOMEM, "cannot start MD5"));
        int rc = st_sha256_begin(&w->sha);
        if (rc) return w_fail(w, rc);
    }
    EVP_DigestUpdate(w->md5, w->buf, w->len);
    st_sha256_update(w->sha, w->buf, w->len);
    size_t done = 0;
    while (done < w->len) {
        ssize_t k = write(w->spool_fd, w->buf + done, w->len - done);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0)
            return w_fail(
                w, st_error(ST_EIO, "%s: cannot write spool file: %s", w->url, strerror(errno)));
        done += (size_t)k;
    }
    w->len = 0;
    return ST_OK;
}

static int s3w_write(void *wp, const void *data, size_t n) {
    s3_writer_t *w = wp;
    const uint8_t *p = data;
    if (w->failed) return w_failed(w);
    size_t ps = (size_t)w->st->part_size;
    while (n > 0) {
        if (w->len == ps) {
            /* The buffer is full and more is coming: the object will not fit
             * one part, so it leaves memory now. */
            int rc;
            if (w->spool_mode) {
                rc = spool_flush(w);
            } else {
                uint8_t *next = take_buffer(w);
                if (!next) return w_fail(w, ST_ENOMEM);
                rc = dispatch_part(w, w->buf, w->len, w->buf);
                w->buf = next;
                w->len = 0;
            }
            if (rc) return rc;
        }
        size_t k = ps - w->len < n ? ps - w->len : n;
        memcpy(w->buf + w->len, p, k);
        w->len += k;
        w->total += k;
        p += k;
        n -= k;
        if (w->spool_mode && w->total > S3_SINGLE_PUT_MAX)
            return w_fail(w, st_error(ST_EUNSUPPORTED,
                                      "%s: a conditional object above 5 GiB needs a server that "
                                      "checks conditions on CompleteMultipartUpload",
                                      w->url));
    }
    return ST_OK;
}

static int finish_multipart(s3_writer_t *w, st_object_info_t *info) {
    join_all(w);
    if (w->failed) return w_failed(w);
    int rc = mpu_complete(w, info);
    return rc ? w_fail(w, rc) : ST_OK;
}

static int s3w_commit(void *wp, st_object_info_t *info) {
    s3_writer_t *w = wp;
    int rc = ST_OK;
    if (w->failed) {
        rc = w_failed(w);
    } else if (w->spool_fd >= 0) {
        rc = spool_flush(w);
        if (!rc) {
            uint8_t md5[16], sha[32];
            unsigned ml = 16;
            char shahex[65];
            EVP_DigestFinal_ex(w->md5, md5, &ml);
            st_sha256_end(w->sha, sha);
            w->sha = NULL;
            st_hex(sha, 32, shahex);
            s3_body_t body = {.fd = w->spool_fd, .offset = 0, .len = w->total};
            rc = s3_put_single(w->st, w->fk, &body, shahex, md5, &w->o, info);
        }
    } else if (!w->upload_id) {
        rc = s3_put_mem(w->st, w->fk, w->buf, w->len, &w->o, info);
    } else {
        if (w->len) {
            rc = dispatch_part(w, w->buf, w->len, w->buf);
            w->buf = NULL;
            w->len = 0;
        }
        if (!rc) rc = finish_multipart(w, info);
    }
    /* Cleanup may issue requests (abort): keep the message of the failure. */
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", st_errmsg());
    writer_free(w);
    if (rc) st_error(rc, "%s", saved);
    return rc;
}

static void s3w_abort(void *wp) { writer_free(wp); }

static const st_writer_ops_t s3_writer_ops = {s3w_write, s3w_commit, s3w_abort};

static int writer_new(s3_store_t *st, const char *key, const st_put_opts_t *o, bool need_buf,
                      s3_writer_t **out) {
    s3_writer_t *w = calloc(1, sizeof *w);
    if (!w) return st_error(ST_ENOMEM, "out of memory");
    w->st = st;
    w->spool_fd = -1;
    w->o = *o;
    w->fk = s3_full_key(st, key);
    w->url = w->fk ? s3_url_of(st, w->fk) : NULL;
    if (!w->fk || !w->url) {
        writer_free(w);
        return ST_ENOMEM;
    }
    /* The writer outlives the caller's opts: keep copies. */
    if (o->if_match && !(w->o.if_match = w->o_if_match = s3_strdup(o->if_match))) goto nomem;
    if (o->content_type && !(w->o.content_type = w->o_ctype = s3_strdup(o->content_type)))
        goto nomem;
    if (o->nmeta > 0) {
        w->o_meta = calloc((size_t)o->nmeta, sizeof *w->o_meta);
        if (!w->o_meta) goto nomem;
        w->o.meta = w->o_meta;
        for (int i = 0; i < o->nmeta; i++) {
            w->o_meta[i].key = s3_strdup(o->meta[i].key);
            w->o_meta[i].value = s3_strdup(o->meta[i].value);
            if (!w->o_meta[i].key || !w->o_meta[i].value) goto nomem;
        }
    } else {
        w->o.meta = NULL;
        w->o.nmeta = 0;
    }
    bool mpu_ok = o->mode == ST_PUT_PLAIN || (o->mode == ST_PUT_IF_ABSENT && st->mpu_if_absent) ||
                  (o->mode == ST_PUT_IF_MATCH && st->mpu_if_match);
    w->spool_mode = !mpu_ok;
    if (need_buf && !(w->buf = malloc(st->part_size))) goto nomem;
    *out = w;
    return ST_OK;
nomem:
    writer_free(w);
    return st_error(ST_ENOMEM, "out of memory");
}

int s3_be_writer_open(void *state, const char *key, const st_put_opts_t *opts, void **wp,
                      const st_writer_ops_t **ops) {
    s3_store_t *st = state;
    s3_writer_t *w;
    int rc = writer_new(st, key, opts, true, &w);
    if (rc) return rc;
    /* Validate headers now rather than at commit, after the data was sent. */
    s3_hdrs_t h = {0};
    rc = s3_add_put_headers(&h, &w->o, w->url, true);
    if (!rc) rc = s3_add_cond_headers(&h, &w->o, w->url, st->if_match_quoted);
    s3_hdrs_free(&h);
    if (rc) {
        writer_free(w);
        return rc;
    }
    *wp = w;
    *ops = &s3_writer_ops;
    return ST_OK;
}

int s3_be_put(void *state, const char *key, const void *data, size_t n, const st_put_opts_t *opts,
              st_object_info_t *info) {
    s3_store_t *st = state;
    if (n <= st->part_size) {
        char *fk = s3_full_key(st, key);
        if (!fk) return ST_ENOMEM;
        int rc = s3_put_mem(st, fk, data, n, opts, info);
        free(fk);
        return rc;
    }
    s3_writer_t *w;
    int rc = writer_new(st, key, opts, false, &w);
    if (rc) return rc;
    if (w->spool_mode) {
        /* Conditional and too big for one part, on a server that cannot check
         * conditions on multipart completes: one conditional PUT from memory. */
        if (n > S3_SINGLE_PUT_MAX)
            rc = st_error(ST_EUNSUPPORTED,
                          "%s: a conditional object above 5 GiB needs a server that checks "
                          "conditions on CompleteMultipartUpload",
                          w->url);
        else
            rc = s3_put_mem(st, w->fk, data, n, opts, info);
    } else {
        /* Parts point into the caller's data, which outlives this call. */
        const uint8_t *p = data;
        size_t ps = (size_t)st->part_size;
        for (size_t off = 0; off < n && !rc; off += ps)
            rc = dispatch_part(w, p + off, n - off < ps ? n - off : ps, NULL);
        w->total = n;
        if (!rc) rc = finish_multipart(w, info);
    }
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", st_errmsg());
    writer_free(w);
    if (rc) st_error(rc, "%s", saved);
    return rc;
}

/* Whether CompleteMultipartUpload enforces a condition: a one-part upload
 * onto the existing probe object with a condition that must fail. */
bool s3_mpu_condition_enforced(s3_store_t *st, const char *fk, st_put_mode_t mode) {
    st_put_opts_t o = {
        .mode = mode, .if_match = "00000000000000000000000000000000", .content_type = "text/plain"};
    s3_writer_t *w;
    if (writer_new(st, S3_PROBE_DIR "x", &o, false, &w)) return false;
    /* The probe key lives at the bucket root, outside the store prefix. */
    free(w->fk);
    free(w->url);
    w->fk = s3_strdup(fk);
    w->url = w->fk ? s3_url_of(st, fk) : NULL;
    bool enforced = false;
    if (w->fk && w->url) {
        static const uint8_t part[] = "strata multipart probe";
        w->total = sizeof part - 1;
        int rc = dispatch_part(w, part, sizeof part - 1, NULL);
        if (!rc) {
            join_all(w);
            rc = w->failed ? w->failed : mpu_complete(w, NULL);
            enforced = rc == ST_ECONFLICT;
        }
    }
    writer_free(w); /* aborts the upload if it did not complete */
    return enforced;
}
