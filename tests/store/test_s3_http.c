/*
 * The S3 backend's HTTP behaviour against a scripted in-process server:
 * retries (5xx, 429, resets, partial bodies, timeouts) and never on other
 * 4xx, connection reuse, bodies from memory and files, and — through the
 * public store API — the idempotency rule for conditional puts whose
 * response was lost, the capability probe against a server that ignores
 * conditions, error mapping, ranges and multipart aborts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "store/s3_http.h"
#include "strata/store.h"

/* ---- a tiny HTTP/1.1 server ------------------------------------------------ */

typedef struct req {
    char method[16];
    char target[2048]; /* path?query */
    char path[2048];
    char query[1024];
    char hdr_names[64][64];
    char hdr_values[64][512];
    int nhdr;
    uint8_t *body;
    size_t body_len;
} req_t;

/* What the server does with one request. */
enum fault {
    F_NONE,
    F_CLOSE,       /* close without answering, request not applied */
    F_APPLY_CLOSE, /* apply the request, then close without answering (lost response) */
    F_503,         /* answer 503 SlowDown, request not applied */
    F_TRUNCATE,    /* answer, but cut the body short and close */
    F_DELAY        /* wait 600 ms, then answer */
};

/* The listener lives outside the state that server_reset() wipes. */
static int g_lfd, g_port;
static pthread_t g_th;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static bool g_stop;

typedef struct server {
    int accepted;
    int nreq;
    /* scripted responses for raw HTTP tests (when script_n > 0) */
    struct {
        int status;
        const char *body;
        enum fault fault;
    } script[16];
    int script_n;
    /* S3 emulation */
    enum fault (*fault_of)(int n, const req_t *r);
    bool ignore_conditions; /* like s3rver */
    bool bare_if_match;     /* like radosgw 16 */
    bool ignore_range;
    bool complete_conditions; /* like AWS: CompleteMultipartUpload checks conditions */
    struct object {
        char key[512];
        uint8_t *data;
        size_t len;
        char etag[64];
        char ctype[128];
        char meta[1024]; /* x-amz-meta-* header lines as received */
    } objs[64];
    int nobjs;
    uint8_t *parts[16];
    size_t part_len[16];
    int uploads, aborts, completes;
    struct upload {
        char key[512];
        char id[16];
        char initiated[32];
        bool open;
    } ups[16];
    bool fail_part2; /* answer 400 to part 2 */
    char last_auth[512];
    char last_token[128];
    int vhost_requests; /* requests addressed as bkt.<host> */
    char last_body[256];
} server_t;

static server_t S;

static const char *hdr(const req_t *r, const char *name) {
    for (int i = 0; i < r->nhdr; i++)
        if (strcasecmp(r->hdr_names[i], name) == 0) return r->hdr_values[i];
    return NULL;
}

static bool read_request(int fd, req_t *r, char *buf, size_t cap, size_t *have) {
    memset(r, 0, offsetof(req_t, body));
    r->body = NULL;
    r->body_len = 0;
    char *end;
    for (;;) {
        buf[*have] = '\0';
        if ((end = strstr(buf, "\r\n\r\n")) != NULL) break;
        if (*have >= cap - 1) return false;
        ssize_t k = recv(fd, buf + *have, cap - 1 - *have, 0);
        if (k <= 0) return false;
        *have += (size_t)k;
    }
    size_t hlen = (size_t)(end - buf) + 4;
    char *line = buf, *save;
    *end = '\0';
    line = strtok_r(buf, "\r\n", &save);
    if (!line || sscanf(line, "%15s %2047s", r->method, r->target) != 2) return false;
    char *q = strchr(r->target, '?');
    snprintf(r->path, sizeof r->path, "%.*s", q ? (int)(q - r->target) : (int)strlen(r->target),
             r->target);
    snprintf(r->query, sizeof r->query, "%s", q ? q + 1 : "");
    while ((line = strtok_r(NULL, "\r\n", &save)) != NULL && r->nhdr < 64) {
        char *c = strchr(line, ':');
        if (!c) continue;
        *c = '\0';
        char *v = c + 1;
        while (*v == ' ')
            v++;
        snprintf(r->hdr_names[r->nhdr], 64, "%s", line);
        snprintf(r->hdr_values[r->nhdr], 512, "%s", v);
        r->nhdr++;
    }
    const char *cl = hdr(r, "content-length");
    size_t blen = cl ? (size_t)strtoull(cl, NULL, 10) : 0;
    r->body = malloc(blen + 1);
    size_t got = *have - hlen < blen ? *have - hlen : blen;
    memcpy(r->body, buf + hlen, got);
    size_t rest = *have - hlen - got;
    memmove(buf, buf + hlen + got, rest);
    *have = rest;
    while (got < blen) {
        ssize_t k = recv(fd, r->body + got, blen - got, 0);
        if (k <= 0) {
            free(r->body);
            r->body = NULL;
            return false;
        }
        got += (size_t)k;
    }
    r->body_len = blen;
    return true;
}

static void send_all(int fd, const void *p, size_t n) {
    const uint8_t *b = p;
    while (n) {
        ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
        if (k <= 0) return;
        b += k;
        n -= (size_t)k;
    }
}

static void respond(int fd, int status, const char *extra, const void *body, size_t n, bool head) {
    char h[2048];
    int k = snprintf(h, sizeof h, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n", status, n,
                     extra ? extra : "");
    send_all(fd, h, (size_t)k);
    if (!head && n) send_all(fd, body, n);
}

static void md5hex(const void *d, size_t n, char out[33]) {
    uint8_t m[16];
    unsigned l = 16;
    EVP_Digest(d, n, m, &l, EVP_md5(), NULL);
    for (int i = 0; i < 16; i++)
        sprintf(out + 2 * i, "%02x", m[i]);
}

static struct object *find_obj(const char *key) {
    for (int i = 0; i < S.nobjs; i++)
        if (strcmp(S.objs[i].key, key) == 0) return &S.objs[i];
    return NULL;
}

static void put_obj(const char *key, const uint8_t *d, size_t n, const char *etag,
                    const char *ctype) {
    struct object *o = find_obj(key);
    if (!o) {
        o = &S.objs[S.nobjs++];
        snprintf(o->key, sizeof o->key, "%s", key);
    }
    free(o->data);
    o->data = malloc(n + 1);
    if (n) memcpy(o->data, d, n);
    o->len = n;
    snprintf(o->etag, sizeof o->etag, "%s", etag);
    snprintf(o->ctype, sizeof o->ctype, "%s", ctype ? ctype : "");
}

static void s3_error(int fd, int status, const char *code, const char *msg, bool head) {
    char b[512];
    int n = snprintf(b, sizeof b,
                     "<?xml version=\"1.0\"?><Error><Code>%s</Code><Message>%s</Message></Error>",
                     code, msg);
    respond(fd, status, "Content-Type: application/xml\r\n", b, (size_t)n, head);
}

static bool qhas(const req_t *r, const char *name) {
    size_t n = strlen(name);
    for (const char *p = r->query; *p;) {
        if (strncmp(p, name, n) == 0 && (p[n] == '=' || p[n] == '&' || !p[n])) return true;
        p = strchr(p, '&');
        if (!p) break;
        p++;
    }
    return false;
}

static int qint(const req_t *r, const char *name) {
    char pat[64];
    snprintf(pat, sizeof pat, "%s=", name);
    const char *p = strstr(r->query, pat);
    return p ? atoi(p + strlen(pat)) : 0;
}

static bool cond_fails(const req_t *r, const struct object *o) {
    const char *inm = hdr(r, "if-none-match"), *im = hdr(r, "if-match");
    if (inm && strcmp(inm, "*") == 0 && o) return true;
    if (im) {
        char want[80];
        snprintf(want, sizeof want, S.bare_if_match ? "%s" : "\"%s\"", o ? o->etag : "");
        if (!o || strcmp(im, want) != 0) return true;
    }
    return false;
}

/* Applies one S3 request to the emulated bucket "bkt" and answers it (unless
 * answer is false: the lost-response fault). */
static void s3_handle(int fd, const req_t *r, bool answer) {
    bool head = strcmp(r->method, "HEAD") == 0;
    const char *auth = hdr(r, "authorization");
    snprintf(S.last_auth, sizeof S.last_auth, "%s", auth ? auth : "");
    const char *tok = hdr(r, "x-amz-security-token");
    snprintf(S.last_token, sizeof S.last_token, "%s", tok ? tok : "");
    /* Every request is signed and carries the payload's hash. */
    const char *ph = hdr(r, "x-amz-content-sha256");
    if (!auth || !hdr(r, "x-amz-date") || !ph) {
        if (answer) s3_error(fd, 403, "AccessDenied", "unsigned request", head);
        return;
    }
    if (strstr(auth, "Credential=BADKEY/")) {
        if (answer)
            s3_error(
                fd, 403, "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
                head);
        return;
    }
    if (strcmp(ph, "UNSIGNED-PAYLOAD") != 0) {
        uint8_t d[32];
        unsigned l = 32;
        char hex[65];
        EVP_Digest(r->body, r->body_len, d, &l, EVP_sha256(), NULL);
        for (int i = 0; i < 32; i++)
            sprintf(hex + 2 * i, "%02x", d[i]);
        if (strcmp(hex, ph) != 0) {
            if (answer) s3_error(fd, 400, "XAmzContentSHA256Mismatch", "hash mismatch", head);
            return;
        }
    }
    if (strncmp(r->path, "/bkt/", 5) != 0 && strcmp(r->path, "/bkt") != 0) {
        if (answer) s3_error(fd, 404, "NoSuchBucket", "The specified bucket does not exist", head);
        return;
    }
    const char *key = r->path[4] == '/' ? r->path + 5 : "";
    struct object *o = find_obj(key);
    if (strcmp(r->method, "PUT") == 0 && qhas(r, "partNumber")) {
        int pn = qint(r, "partNumber");
        if (S.fail_part2 && pn == 2) {
            if (answer) s3_error(fd, 400, "InvalidPart", "part 2 refused by the test", false);
            return;
        }
        if (pn < 1 || pn > 16) {
            if (answer) s3_error(fd, 400, "InvalidArgument", "part number", false);
            return;
        }
        free(S.parts[pn - 1]);
        S.parts[pn - 1] = malloc(r->body_len + 1);
        memcpy(S.parts[pn - 1], r->body, r->body_len);
        S.part_len[pn - 1] = r->body_len;
        char e[33], h[128];
        md5hex(r->body, r->body_len, e);
        snprintf(h, sizeof h, "ETag: \"%s\"\r\n", e);
        if (answer) respond(fd, 200, h, NULL, 0, false);
        return;
    }
    if (strcmp(r->method, "GET") == 0 && qhas(r, "uploads")) {
        /* ListMultipartUploads; prefixes here need no decoding but '/'. */
        char prefix[512] = "";
        const char *p = strstr(r->query, "prefix=");
        if (p) {
            size_t k = 0;
            for (p += 7; *p && *p != '&' && k < sizeof prefix - 1; p++) {
                if (p[0] == '%' && p[1] == '2' && p[2] == 'F') {
                    prefix[k++] = '/';
                    p += 2;
                } else {
                    prefix[k++] = *p;
                }
            }
            prefix[k] = '\0';
        }
        char b[4096];
        int n = snprintf(b, sizeof b, "<ListMultipartUploadsResult><Bucket>bkt</Bucket>");
        for (int i = 0; i < 16; i++)
            if (S.ups[i].open && strncmp(S.ups[i].key, prefix, strlen(prefix)) == 0)
                n += snprintf(b + n, sizeof b - (size_t)n,
                              "<Upload><Key>%s</Key><UploadId>%s</UploadId><Initiated>%s"
                              "</Initiated></Upload>",
                              S.ups[i].key, S.ups[i].id, S.ups[i].initiated);
        n += snprintf(b + n, sizeof b - (size_t)n, "</ListMultipartUploadsResult>");
        char date[64], h[128];
        time_t now = time(NULL);
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&now));
        snprintf(h, sizeof h, "Date: %s\r\n", date);
        if (answer) respond(fd, 200, h, b, (size_t)n, false);
        return;
    }
    if (strcmp(r->method, "POST") == 0 && qhas(r, "uploads")) {
        for (int i = 0; i < 16; i++) {
            free(S.parts[i]);
            S.parts[i] = NULL;
        }
        struct upload *u = &S.ups[S.uploads++ % 16];
        snprintf(u->key, sizeof u->key, "%s", key);
        snprintf(u->id, sizeof u->id, "up-%d", S.uploads);
        time_t now = time(NULL);
        strftime(u->initiated, sizeof u->initiated, "%Y-%m-%dT%H:%M:%S.000Z", gmtime(&now));
        u->open = true;
        char b[256];
        snprintf(b, sizeof b,
                 "<InitiateMultipartUploadResult><UploadId>%s</UploadId>"
                 "</InitiateMultipartUploadResult>",
                 u->id);
        if (answer) respond(fd, 200, NULL, b, strlen(b), false);
        return;
    }
    if (strcmp(r->method, "DELETE") == 0 && qhas(r, "uploadId")) {
        S.aborts++;
        for (int i = 0; i < 16; i++)
            if (strstr(r->query, S.ups[i].id) && S.ups[i].id[0]) S.ups[i].open = false;
        if (answer) respond(fd, 204, NULL, NULL, 0, false);
        return;
    }
    if (strcmp(r->method, "POST") == 0 && qhas(r, "uploadId")) {
        struct upload *u = NULL;
        for (int i = 0; i < 16; i++)
            if (S.ups[i].open && S.ups[i].id[0] && strstr(r->query, S.ups[i].id)) u = &S.ups[i];
        if (!u) {
            if (answer)
                s3_error(fd, 404, "NoSuchUpload", "The specified upload does not exist.", false);
            return;
        }
        /* radosgw 16 ignores conditions here; AWS checks them. */
        if (S.complete_conditions && cond_fails(r, o)) {
            if (answer)
                s3_error(fd, 412, "PreconditionFailed",
                         "At least one of the pre-conditions you specified did not hold", false);
            return;
        }
        size_t total = 0;
        int np = 0;
        while (np < 16 && S.parts[np])
            total += S.part_len[np++];
        uint8_t *all = malloc(total + 1), md5s[16 * 16];
        size_t off = 0;
        for (int i = 0; i < np; i++) {
            memcpy(all + off, S.parts[i], S.part_len[i]);
            off += S.part_len[i];
            unsigned l = 16;
            EVP_Digest(S.parts[i], S.part_len[i], md5s + 16 * i, &l, EVP_md5(), NULL);
        }
        char e[48];
        md5hex(md5s, (size_t)np * 16, e);
        snprintf(e + 32, sizeof e - 32, "-%d", np);
        put_obj(key, all, total, e, "");
        free(all);
        S.completes++;
        u->open = false;
        char b[256];
        snprintf(b, sizeof b,
                 "<CompleteMultipartUploadResult><ETag>%s%s%s</ETag>"
                 "</CompleteMultipartUploadResult>",
                 S.complete_conditions ? "\"" : "", S.complete_conditions ? e : "",
                 S.complete_conditions ? "\"" : "");
        if (answer) respond(fd, 200, NULL, b, strlen(b), false);
        return;
    }
    if (strcmp(r->method, "PUT") == 0) {
        if (!S.ignore_conditions && cond_fails(r, o)) {
            if (answer)
                s3_error(fd, 412, "PreconditionFailed",
                         "At least one of the pre-conditions you specified did not hold", false);
            return;
        }
        char e[33], h[128];
        md5hex(r->body, r->body_len, e);
        put_obj(key, r->body, r->body_len, e, hdr(r, "content-type"));
        struct object *no = find_obj(key);
        no->meta[0] = '\0';
        for (int i = 0; i < r->nhdr; i++)
            if (strncasecmp(r->hdr_names[i], "x-amz-meta-", 11) == 0)
                snprintf(no->meta + strlen(no->meta), sizeof no->meta - strlen(no->meta),
                         "%s: %s\r\n", r->hdr_names[i], r->hdr_values[i]);
        snprintf(S.last_body, sizeof S.last_body, "%.*s",
                 (int)(r->body_len < 200 ? r->body_len : 200), (const char *)r->body);
        snprintf(h, sizeof h, "ETag: \"%s\"\r\n", e);
        if (answer) respond(fd, 200, h, NULL, 0, false);
        return;
    }
    if (!o) {
        if (answer) {
            if (head)
                respond(fd, 404, NULL, NULL, 0, true);
            else
                s3_error(fd, 404, "NoSuchKey", "The specified key does not exist.", false);
        }
        return;
    }
    if (strcmp(r->method, "DELETE") == 0) {
        free(o->data);
        *o = S.objs[--S.nobjs];
        memset(&S.objs[S.nobjs], 0, sizeof S.objs[0]);
        if (answer) respond(fd, 204, NULL, NULL, 0, false);
        return;
    }
    char h[1600];
    snprintf(
        h, sizeof h,
        "ETag: \"%s\"\r\nLast-Modified: Wed, 12 Oct 2009 17:50:00 GMT\r\nContent-Type: %s\r\n%s",
        o->etag, o->ctype[0] ? o->ctype : "application/octet-stream", o->meta);
    const char *range = hdr(r, "range");
    if (range && !head && !S.ignore_range) {
        unsigned long long a = 0, b = 0;
        size_t from, to;
        if (sscanf(range, "bytes=-%llu", &a) == 1) {
            if (o->len == 0) {
                if (answer) s3_error(fd, 416, "InvalidRange", "empty", false);
                return;
            }
            from = a >= o->len ? 0 : o->len - a;
            to = o->len - 1;
        } else {
            int k = sscanf(range, "bytes=%llu-%llu", &a, &b);
            if (k < 1 || a >= o->len) {
                if (answer)
                    s3_error(fd, 416, "InvalidRange", "The requested range is not satisfiable",
                             false);
                return;
            }
            from = a;
            to = k == 2 && b < o->len ? b : o->len - 1;
        }
        char h2[1700];
        snprintf(h2, sizeof h2, "%sContent-Range: bytes %zu-%zu/%zu\r\n", h, from, to, o->len);
        if (answer) respond(fd, 206, h2, o->data + from, to - from + 1, false);
        return;
    }
    if (answer) respond(fd, 200, h, o->data, o->len, head);
}

#define CONN_BUF (1 << 16)

static void *conn_main(void *arg) {
    int fd = (int)(intptr_t)arg;
    char *buf = malloc(CONN_BUF);
    size_t have = 0;
    req_t *r = malloc(sizeof *r);
    while (read_request(fd, r, buf, CONN_BUF, &have)) {
        pthread_mutex_lock(&g_mu);
        int n = S.nreq++;
        enum fault f = F_NONE;
        if (S.script_n) {
            int i = n < S.script_n ? n : S.script_n - 1;
            f = S.script[i].fault;
            if (f == F_NONE || f == F_DELAY || f == F_TRUNCATE) {
                const char *b = S.script[i].body ? S.script[i].body : "";
                pthread_mutex_unlock(&g_mu);
                if (f == F_DELAY) usleep(600 * 1000);
                if (f == F_TRUNCATE) {
                    char h[128];
                    int k = snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
                                     strlen(b) * 2);
                    send_all(fd, h, (size_t)k);
                    send_all(fd, b, strlen(b));
                    free(r->body);
                    break;
                }
                snprintf(S.last_body, sizeof S.last_body, "%.*s", (int)r->body_len,
                         (char *)r->body);
                respond(fd, S.script[i].status, "Content-Type: application/xml\r\n", b, strlen(b),
                        strcmp(r->method, "HEAD") == 0);
                free(r->body);
                continue;
            }
        } else if (S.fault_of) {
            f = S.fault_of(n, r);
        }
        if (f == F_503) {
            s3_error(fd, 503, "SlowDown", "Please reduce your request rate.",
                     !strcmp(r->method, "HEAD"));
            pthread_mutex_unlock(&g_mu);
            free(r->body);
            continue;
        }
        if (f == F_CLOSE) {
            pthread_mutex_unlock(&g_mu);
            free(r->body);
            break;
        }
        const char *host = hdr(r, "host");
        if (host && strncmp(host, "bkt.", 4) == 0) {
            /* Virtual-hosted addressing: the bucket is in the Host. */
            char tmp[sizeof r->path];
            snprintf(tmp, sizeof tmp, "/bkt%.*s", (int)sizeof tmp - 5, r->path);
            memcpy(r->path, tmp, sizeof tmp);
            S.vhost_requests++;
        }
        if (!S.script_n) s3_handle(fd, r, f != F_APPLY_CLOSE);
        pthread_mutex_unlock(&g_mu);
        free(r->body);
        if (f == F_APPLY_CLOSE) break;
    }
    free(r);
    free(buf);
    close(fd);
    return NULL;
}

static void *accept_main(void *arg) {
    (void)arg;
    for (;;) {
        int fd = accept(g_lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) continue;
            return NULL;
        }
        pthread_mutex_lock(&g_mu);
        bool stop = g_stop;
        S.accepted++;
        pthread_mutex_unlock(&g_mu);
        if (stop) {
            close(fd);
            return NULL;
        }
        pthread_t t;
        pthread_create(&t, NULL, conn_main, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
}

static void server_reset(void) {
    pthread_mutex_lock(&g_mu);
    for (int i = 0; i < S.nobjs; i++)
        free(S.objs[i].data);
    for (int i = 0; i < 16; i++)
        free(S.parts[i]);
    memset(&S, 0, sizeof S);
    pthread_mutex_unlock(&g_mu);
}

static int setup(void **state) {
    (void)state;
    g_lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    setsockopt(g_lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(g_lfd, (struct sockaddr *)&a, sizeof a) || listen(g_lfd, 64)) return -1;
    socklen_t len = sizeof a;
    getsockname(g_lfd, (struct sockaddr *)&a, &len);
    g_port = ntohs(a.sin_port);
    pthread_create(&g_th, NULL, accept_main, NULL);
    setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SECRET", 1);
    unsetenv("AWS_SESSION_TOKEN");
    return 0;
}

static int teardown(void **state) {
    (void)state;
    pthread_mutex_lock(&g_mu);
    g_stop = true;
    pthread_mutex_unlock(&g_mu);
    shutdown(g_lfd, SHUT_RDWR);
    close(g_lfd);
    pthread_join(g_th, NULL);
    server_reset();
    /* Connection threads still draining keep-alive sockets end when their
     * peer's handles are gone; give them a moment. */
    usleep(100 * 1000);
    return 0;
}

/* ---- raw HTTP layer ----------------------------------------------------- */

static int prepare_count;

static int prepare(void *ctx, struct curl_slist **h) {
    (void)ctx;
    prepare_count++;
    *h = curl_slist_append(NULL, "X-Test: 1");
    return *h ? 0 : ST_ENOMEM;
}

static char url[128];

static int run(s3_http_t *h, const char *method, const s3_body_t *body, st_buf_t *out,
               s3_resp_t *resp) {
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", g_port);
    s3_http_req_t req = {
        .method = method, .url = url, .body = body, .out = out, .prepare = prepare};
    return s3_http_do(h, &req, resp);
}

static s3_http_t *client(int retries, long timeout_ms) {
    s3_http_opts_t o = {
        .retries = retries, .timeout_ms = timeout_ms, .backoff_base_ms = 5, .backoff_cap_ms = 20};
    s3_http_t *h;
    assert_int_equal(s3_http_new(&o, &h), 0);
    return h;
}

static void script(int i, int status, const char *body, enum fault f) {
    S.script[i].status = status;
    S.script[i].body = body;
    S.script[i].fault = f;
    if (i + 1 > S.script_n) S.script_n = i + 1;
}

static void test_retry_5xx_then_ok(void **state) {
    (void)state;
    server_reset();
    script(0, 503, "<Error><Code>SlowDown</Code></Error>", F_NONE);
    script(1, 500, "<Error><Code>InternalError</Code></Error>", F_NONE);
    script(2, 429, "", F_NONE);
    script(3, 200, "payload", F_NONE);
    s3_http_t *h = client(5, 0);
    st_buf_t out = ST_BUF_INIT;
    st_buf_append_str(&out, "keep:");
    s3_resp_t r;
    prepare_count = 0;
    assert_int_equal(run(h, "GET", NULL, &out, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.attempts, 4);
    assert_int_equal(r.sends, 4);
    /* Signed again for every attempt. */
    assert_int_equal(prepare_count, 4);
    /* Error bodies never reach the caller's buffer. */
    assert_int_equal(out.len, 12);
    assert_memory_equal(out.data, "keep:payload", 12);
    s3_resp_free(&r);
    st_buf_free(&out);
    s3_http_free(h);
}

static void test_no_retry_on_4xx(void **state) {
    (void)state;
    server_reset();
    script(0, 404, "<Error><Code>NoSuchKey</Code></Error>", F_NONE);
    script(1, 200, "late", F_NONE);
    s3_http_t *h = client(5, 0);
    st_buf_t out = ST_BUF_INIT;
    s3_resp_t r;
    assert_int_equal(run(h, "GET", NULL, &out, &r), 0);
    assert_int_equal(r.status, 404);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(out.len, 0);
    assert_non_null(strstr((const char *)r.err_body.data, "NoSuchKey"));
    s3_resp_free(&r);
    for (int st = 400; st <= 416; st += (st == 400 ? 3 : st == 403 ? 6 : st == 409 ? 3 : 4)) {
        server_reset();
        script(0, st, "", F_NONE);
        script(1, 200, "", F_NONE);
        assert_int_equal(run(h, "PUT", NULL, NULL, &r), 0);
        assert_int_equal(r.status, st);
        assert_int_equal(r.attempts, 1);
        s3_resp_free(&r);
    }
    st_buf_free(&out);
    s3_http_free(h);
}

static void test_retries_run_out(void **state) {
    (void)state;
    server_reset();
    script(0, 503, "<Error><Code>SlowDown</Code></Error>", F_NONE);
    s3_http_t *h = client(2, 0);
    s3_resp_t r;
    assert_int_equal(run(h, "GET", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 503);
    assert_int_equal(r.attempts, 3);
    assert_non_null(strstr((const char *)r.err_body.data, "SlowDown"));
    s3_resp_free(&r);
    s3_http_free(h);
}

static void test_reset_and_partial_body(void **state) {
    (void)state;
    server_reset();
    script(0, 0, NULL, F_CLOSE);
    script(1, 200, "partial-body", F_TRUNCATE);
    script(2, 200, "whole", F_NONE);
    s3_http_t *h = client(5, 0);
    st_buf_t out = ST_BUF_INIT;
    s3_resp_t r;
    assert_int_equal(run(h, "GET", NULL, &out, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.attempts, 3);
    /* The cut-short attempt left nothing behind. */
    assert_int_equal(out.len, 5);
    assert_memory_equal(out.data, "whole", 5);
    s3_resp_free(&r);
    st_buf_free(&out);
    s3_http_free(h);
}

static void test_timeout_retried(void **state) {
    (void)state;
    server_reset();
    script(0, 200, "slow", F_DELAY);
    script(1, 200, "fast", F_NONE);
    s3_http_t *h = client(3, 300);
    st_buf_t out = ST_BUF_INIT;
    s3_resp_t r;
    assert_int_equal(run(h, "GET", NULL, &out, &r), 0);
    assert_int_equal(r.attempts, 2);
    assert_memory_equal(out.data, "fast", 4);
    s3_resp_free(&r);
    st_buf_free(&out);
    s3_http_free(h);
}

static void test_connection_refused(void **state) {
    (void)state;
    /* A port nobody listens on: bind one, note it, close it. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/x", ntohs(a.sin_port));
    s3_http_t *h = client(2, 0);
    s3_http_req_t req = {.method = "GET", .url = u, .prepare = prepare};
    s3_resp_t r;
    assert_int_equal(s3_http_do(h, &req, &r), ST_EIO);
    assert_non_null(strstr(st_errmsg(), "after 3 attempts"));
    assert_non_null(strstr(st_errmsg(), "curl error 7"));
    s3_resp_free(&r);
    s3_http_free(h);
}

static void test_bodies_and_reuse(void **state) {
    (void)state;
    server_reset();
    script(0, 200, "ok", F_NONE);
    s3_http_t *h = client(1, 0);
    s3_body_t mem = {.mem = (const uint8_t *)"hello body", .len = 10};
    s3_resp_t r;
    assert_int_equal(run(h, "PUT", &mem, NULL, &r), 0);
    assert_string_equal(S.last_body, "hello body");
    s3_resp_free(&r);
    char path[] = "/tmp/strata-s3http-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    s3_body_t file = {.fd = fd, .offset = 3, .len = 5};
    assert_int_equal(run(h, "POST", &file, NULL, &r), 0);
    assert_string_equal(S.last_body, "34567");
    s3_resp_free(&r);
    close(fd);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(run(h, "GET", NULL, NULL, &r), 0);
        assert_int_equal(r.status, 200);
        s3_resp_free(&r);
    }
    /* Seven requests, one connection. */
    assert_int_equal(S.accepted, 1);
    s3_http_free(h);
}

static void test_backoff(void **state) {
    (void)state;
    s3_http_opts_t o = {.backoff_base_ms = 100, .backoff_cap_ms = 1000};
    for (int a = 1; a <= 12; a++) {
        long ceil = 100L << (a - 1);
        if (ceil > 1000) ceil = 1000;
        long lo = 1 << 30, hi = -1;
        for (int i = 0; i < 400; i++) {
            long b = s3_http_backoff_ms(&o, a);
            assert_true(b >= 0 && b <= ceil);
            lo = b < lo ? b : lo;
            hi = b > hi ? b : hi;
        }
        /* Full jitter spreads over the whole window. */
        assert_true(lo < ceil / 4);
        assert_true(hi > ceil * 3 / 4);
    }
    assert_true(s3_http_retryable_status(500));
    assert_true(s3_http_retryable_status(503));
    assert_true(s3_http_retryable_status(429));
    assert_false(s3_http_retryable_status(404));
    assert_false(s3_http_retryable_status(412));
    assert_false(s3_http_retryable_status(403));
    assert_true(s3_http_retryable_curl(CURLE_COULDNT_CONNECT));
    assert_true(s3_http_retryable_curl(CURLE_PARTIAL_FILE));
    assert_true(s3_http_retryable_curl(CURLE_RECV_ERROR));
    assert_false(s3_http_retryable_curl(CURLE_URL_MALFORMAT));
}

/* ---- the backend against the emulated S3 ---------------------------------- */

static st_store_t *open_store(const char *extra) {
    char u[256];
    snprintf(u, sizeof u, "s3://bkt/pre?endpoint=http://127.0.0.1:%d&region=us-east-1%s", g_port,
             extra ? extra : "");
    st_store_t *s = NULL;
    int rc = st_store_open(u, &s);
    if (rc) fail_msg("open %s: %s", u, st_errmsg());
    return s;
}

static enum fault lose_first_put(int n, const req_t *r) {
    (void)n;
    static int puts;
    if (strcmp(r->method, "PUT") == 0 && strstr(r->path, "/pre/log/") && puts++ == 0)
        return F_APPLY_CLOSE;
    return F_NONE;
}

static void test_idempotent_conditional_put(void **state) {
    (void)state;
    server_reset();
    st_store_t *s = open_store("&retries=3");
    assert_int_equal(st_store_caps(s), ST_CAP_PUT_IF_ABSENT | ST_CAP_PUT_IF_MATCH);
    /* The server stores the object but the response is lost; the retry gets
     * 412. The backend sees its own bytes there and reports success. */
    S.fault_of = lose_first_put;
    st_put_opts_t o = {.mode = ST_PUT_IF_ABSENT};
    st_object_info_t info;
    assert_int_equal(st_store_put(s, "log/0001.json", "event one", 9, &o, &info), 0);
    char want[33];
    md5hex("event one", 9, want);
    assert_string_equal(info.etag, want);
    st_object_info_free(&info);
    /* Someone else's object under the same key is still a conflict. */
    S.fault_of = NULL;
    assert_int_equal(st_store_put(s, "log/0001.json", "event two", 9, &o, NULL), ST_ECONFLICT);
    assert_non_null(strstr(st_errmsg(), "s3://bkt/pre/log/0001.json: 412 PreconditionFailed: "
                                        "At least one of the pre-conditions"));
    st_store_close(s);
}

static enum fault lose_put_and_race(int n, const req_t *r) {
    (void)n;
    /* The first attempt is lost before it is applied, and another writer
     * creates the key meanwhile: the retry's 412 is a real conflict. */
    if (strcmp(r->method, "PUT") == 0 && strstr(r->path, "/pre/race") && !find_obj("pre/race")) {
        put_obj("pre/race", (const uint8_t *)"theirs", 6, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "");
        return F_CLOSE;
    }
    return F_NONE;
}

static void test_retried_put_real_conflict(void **state) {
    (void)state;
    server_reset();
    st_store_t *s = open_store(NULL);
    S.fault_of = lose_put_and_race;
    st_put_opts_t o = {.mode = ST_PUT_IF_ABSENT};
    assert_int_equal(st_store_put(s, "race", "mine", 4, &o, NULL), ST_ECONFLICT);
    S.fault_of = NULL;
    st_store_close(s);
}

static void test_probe_ignoring_server(void **state) {
    (void)state;
    server_reset();
    S.ignore_conditions = true;
    char u[256];
    /* A distinct access key: probe results are cached per endpoint, bucket
     * and key. */
    setenv("AWS_ACCESS_KEY_ID", "AKID-S3RVER", 1);
    snprintf(u, sizeof u, "s3://bkt?endpoint=http://127.0.0.1:%d", g_port);
    st_store_t *s;
    assert_int_equal(st_store_open(u, &s), 0);
    assert_int_equal(st_store_caps(s), 0);
    assert_int_equal(st_store_require(s, ST_CAP_PUT_IF_ABSENT, "record commits"), ST_EUNSUPPORTED);
    /* The probe cleaned up after itself. */
    assert_int_equal(S.nobjs, 0);
    st_store_close(s);
    /* probe=0 trusts the server. */
    snprintf(u, sizeof u, "s3://bkt?endpoint=http://127.0.0.1:%d&probe=0", g_port);
    assert_int_equal(st_store_open(u, &s), 0);
    assert_int_equal(st_store_caps(s), ST_CAP_PUT_IF_ABSENT | ST_CAP_PUT_IF_MATCH);
    st_store_close(s);
    setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
}

static void test_bare_if_match_server(void **state) {
    (void)state;
    server_reset();
    S.bare_if_match = true;
    setenv("AWS_ACCESS_KEY_ID", "AKID-BARE", 1);
    st_store_t *s = open_store(NULL);
    assert_int_equal(st_store_caps(s), ST_CAP_PUT_IF_ABSENT | ST_CAP_PUT_IF_MATCH);
    st_object_info_t v1;
    assert_int_equal(st_store_put(s, "m", "one", 3, NULL, &v1), 0);
    st_put_opts_t o = {.mode = ST_PUT_IF_MATCH, .if_match = v1.etag};
    assert_int_equal(st_store_put(s, "m", "two", 3, &o, NULL), 0);
    assert_int_equal(st_store_put(s, "m", "three", 5, &o, NULL), ST_ECONFLICT);
    st_object_info_free(&v1);
    st_store_close(s);
    setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
}

static void test_session_token(void **state) {
    (void)state;
    server_reset();
    setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEJr//token+with/odd=chars", 1);
    st_store_t *s = open_store(NULL);
    assert_int_equal(st_store_put(s, "t", "x", 1, NULL, NULL), 0);
    /* Sent and covered by the signature. */
    assert_string_equal(S.last_token, "FwoGZXIvYXdzEJr//token+with/odd=chars");
    assert_non_null(strstr(S.last_auth, "x-amz-security-token"));
    assert_non_null(strstr(S.last_auth, "Credential=AKID/"));
    unsetenv("AWS_SESSION_TOKEN");
    assert_int_equal(st_store_put(s, "t", "y", 1, NULL, NULL), 0);
    /* The store keeps the credentials it was opened with. */
    assert_string_equal(S.last_token, "FwoGZXIvYXdzEJr//token+with/odd=chars");
    st_store_close(s);
    s = open_store(NULL);
    assert_int_equal(st_store_put(s, "t", "z", 1, NULL, NULL), 0);
    assert_string_equal(S.last_token, "");
    assert_null(strstr(S.last_auth, "x-amz-security-token"));
    st_store_close(s);
}

static void test_virtual_hosted(void **state) {
    (void)state;
    server_reset();
    /* libcurl resolves every *.localhost name to the loopback address. */
    char u[256];
    snprintf(u, sizeof u, "s3://bkt/pre?endpoint=http://localhost:%d&path_style=0", g_port);
    st_store_t *s;
    int rc = st_store_open(u, &s);
    if (rc) fail_msg("open %s: %s", u, st_errmsg());
    assert_int_equal(st_store_put(s, "v/k", "virtual", 7, NULL, NULL), 0);
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_store_get(s, "v/k", &b, NULL), 0);
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.data, "virtual", 7);
    st_buf_free(&b);
    assert_non_null(find_obj("pre/v/k"));
    assert_true(S.vhost_requests >= 2);
    st_store_close(s);
}

static void test_open_errors(void **state) {
    (void)state;
    server_reset();
    char u[256];
    st_store_t *s;
    snprintf(u, sizeof u, "s3://nobucket/p?endpoint=http://127.0.0.1:%d", g_port);
    assert_int_equal(st_store_open(u, &s), ST_ENOTFOUND);
    assert_non_null(strstr(st_errmsg(), "nobucket"));
    assert_non_null(strstr(st_errmsg(), "NoSuchBucket"));
    setenv("AWS_ACCESS_KEY_ID", "BADKEY", 1);
    snprintf(u, sizeof u, "s3://bkt?endpoint=http://127.0.0.1:%d", g_port);
    assert_int_equal(st_store_open(u, &s), ST_EAUTH);
    assert_non_null(strstr(st_errmsg(), "403 SignatureDoesNotMatch"));
    setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
    snprintf(u, sizeof u, "s3://bkt?endpoint=http://127.0.0.1:%d&bogus=1", g_port);
    assert_int_equal(st_store_open(u, &s), ST_EINVAL);
    assert_non_null(strstr(st_errmsg(), "bogus"));
    snprintf(u, sizeof u, "s3://bkt?endpoint=http://127.0.0.1:%d&part_size=1000", g_port);
    assert_int_equal(st_store_open(u, &s), ST_EINVAL);
    snprintf(u, sizeof u, "s3://bkt?endpoint=ftp://127.0.0.1:%d", g_port);
    assert_int_equal(st_store_open(u, &s), ST_EINVAL);
    snprintf(u, sizeof u, "s3://bkt?endpoint=http://127.0.0.1:%d/path", g_port);
    assert_int_equal(st_store_open(u, &s), ST_EINVAL);
    /* No credentials anywhere. */
    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    snprintf(u, sizeof u, "s3://bkt?endpoint=http://127.0.0.1:%d", g_port);
    assert_int_equal(st_store_open(u, &s), ST_EAUTH);
    assert_non_null(strstr(st_errmsg(), "no S3 credentials"));
    setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
}

static void test_get_ranges_and_errors(void **state) {
    (void)state;
    server_reset();
    st_store_t *s = open_store(NULL);
    st_meta_pair_t meta[] = {{"note", "n1"}, {"plain", "x  y"}};
    st_put_opts_t o = {.content_type = "text/csv", .meta = meta, .nmeta = 2};
    assert_int_equal(st_store_put(s, "d/obj", "0123456789", 10, &o, NULL), 0);
    st_buf_t b = ST_BUF_INIT;
    assert_int_equal(st_store_get_range(s, "d/obj", 2, 3, &b), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "234", 3);
    st_buf_reset(&b);
    assert_int_equal(st_store_get_range(s, "d/obj", -4, 4, &b), 0);
    assert_memory_equal(b.data, "6789", 4);
    st_buf_reset(&b);
    assert_int_equal(st_store_get_range(s, "d/obj", 10, 5, &b), 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(st_store_get_range(s, "d/obj", 11, 5, &b), ST_EINVAL);
    /* A server that ignores Range still gives the right bytes. */
    S.ignore_range = true;
    assert_int_equal(st_store_get_range(s, "d/obj", 8, 100, &b), 0);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.data, "89", 2);
    st_buf_reset(&b);
    assert_int_equal(st_store_get_range(s, "d/obj", -3, 3, &b), 0);
    assert_memory_equal(b.data, "789", 3);
    S.ignore_range = false;
    st_buf_free(&b);
    st_object_info_t h;
    assert_int_equal(st_store_head(s, "d/obj", &h), 0);
    assert_int_equal(h.size, 10);
    assert_int_equal(h.last_modified_us, 1255369800000000LL);
    assert_string_equal(h.content_type, "text/csv");
    assert_non_null(strstr(find_obj("pre/d/obj")->meta, "x-amz-meta-plain: x  y"));
    assert_int_equal(h.nmeta, 2);
    assert_string_equal(h.meta[0].key, "note");
    assert_string_equal(h.meta[0].value, "n1");
    assert_string_equal(h.meta[1].value, "x  y");
    st_object_info_free(&h);
    /* Non-ASCII metadata written by other clients comes back from S3 as an
     * RFC 2047 encoded word; it is decoded. */
    snprintf(find_obj("pre/d/obj")->meta, 1024, "x-amz-meta-note: =?UTF-8?B?Y2Fmw6k=?=\r\n");
    assert_int_equal(st_store_head(s, "d/obj", &h), 0);
    assert_int_equal(h.nmeta, 1);
    assert_string_equal(h.meta[0].value, "caf\xc3\xa9");
    st_object_info_free(&h);
    assert_int_equal(st_store_get(s, "d/missing", &b, NULL), ST_ENOTFOUND);
    assert_non_null(strstr(st_errmsg(), "s3://bkt/pre/d/missing: 404 NoSuchKey"));
    assert_int_equal(st_store_delete(s, "d/missing"), ST_ENOTFOUND);
    assert_int_equal(st_store_delete(s, "d/obj"), 0);
    assert_int_equal(st_store_head(s, "d/obj", NULL), ST_ENOTFOUND);
    st_buf_free(&b);
    st_store_close(s);
}

static enum fault flaky(int n, const req_t *r) {
    (void)r;
    return n % 3 == 1 ? F_503 : n % 5 == 2 ? F_CLOSE : F_NONE;
}

static void test_flaky_server(void **state) {
    (void)state;
    server_reset();
    st_store_t *s = open_store("&retries=8");
    S.fault_of = flaky;
    for (int i = 0; i < 20; i++) {
        char k[32], v[32];
        snprintf(k, sizeof k, "f/%d", i);
        snprintf(v, sizeof v, "value %d", i);
        st_put_opts_t o = {.mode = ST_PUT_IF_ABSENT};
        assert_int_equal(st_store_put(s, k, v, strlen(v), &o, NULL), 0);
        st_buf_t b = ST_BUF_INIT;
        assert_int_equal(st_store_get(s, k, &b, NULL), 0);
        assert_int_equal(b.len, strlen(v));
        assert_memory_equal(b.data, v, b.len);
        st_buf_free(&b);
    }
    S.fault_of = NULL;
    st_store_close(s);
}

static void test_multipart_abort(void **state) {
    (void)state;
    server_reset();
    st_store_t *s = open_store("&part_size=5MiB");
    size_t n = 12u << 20;
    uint8_t *d = malloc(n);
    for (size_t i = 0; i < n; i++)
        d[i] = (uint8_t)(i * 31);
    /* A part fails for good: the upload is aborted, nothing is completed. */
    S.fail_part2 = true;
    st_store_writer_t *w;
    assert_int_equal(st_store_writer_open(s, "big", NULL, &w), 0);
    int rc = st_store_writer_write(w, d, n);
    if (!rc)
        rc = st_store_writer_commit(w, NULL);
    else
        st_store_writer_abort(w);
    assert_int_equal(rc, ST_EIO);
    assert_non_null(strstr(st_errmsg(), "part 2"));
    assert_int_equal(S.uploads, 1);
    assert_int_equal(S.aborts, 1);
    assert_int_equal(S.completes, 0);
    assert_null(find_obj("pre/big"));
    /* And a healthy one goes through, parts in order. */
    S.fail_part2 = false;
    st_object_info_t info;
    assert_int_equal(st_store_put(s, "big", d, n, NULL, &info), 0);
    assert_int_equal(info.size, n);
    assert_int_equal(strlen(info.etag), 34); /* computed: 32 hex digits, "-3" */
    assert_string_equal(info.etag + 32, "-3");
    struct object *o = find_obj("pre/big");
    assert_non_null(o);
    assert_int_equal(o->len, n);
    assert_memory_equal(o->data, d, n);
    assert_int_equal(S.completes, 1);
    /* A conditional writer on a server without conditional completes does
     * not use multipart at all: one conditional PUT. */
    st_put_opts_t c = {.mode = ST_PUT_IF_ABSENT};
    assert_int_equal(st_store_writer_open(s, "cond", &c, &w), 0);
    for (size_t off = 0; off < n; off += 1 << 20)
        assert_int_equal(st_store_writer_write(w, d + off, 1 << 20), 0);
    assert_int_equal(st_store_writer_commit(w, NULL), 0);
    assert_int_equal(S.uploads, 2);
    o = find_obj("pre/cond");
    assert_non_null(o);
    assert_int_equal(o->len, n);
    assert_memory_equal(o->data, d, n);
    assert_int_equal(st_store_writer_open(s, "cond", &c, &w), 0);
    for (size_t off = 0; off < n; off += 1 << 20)
        assert_int_equal(st_store_writer_write(w, d + off, 1 << 20), 0);
    assert_int_equal(st_store_writer_commit(w, NULL), ST_ECONFLICT);
    free(d);
    st_store_close(s);
}

static int open_uploads(void) {
    int n = 0;
    for (int i = 0; i < 16; i++)
        n += S.ups[i].open;
    return n;
}

static enum fault lose_first_initiate(int n, const req_t *r) {
    (void)n;
    if (strcmp(r->method, "POST") == 0 && qhas(r, "uploads") && S.uploads == 1)
        return F_APPLY_CLOSE;
    return F_NONE;
}

static void test_initiate_resent_aborts_orphan(void **state) {
    (void)state;
    server_reset();
    st_store_t *s = open_store("&part_size=5MiB");
    /* An old upload of the same key by someone else stays alone. */
    struct upload *old = &S.ups[S.uploads++];
    snprintf(old->key, sizeof old->key, "pre/orph");
    snprintf(old->id, sizeof old->id, "old-1");
    snprintf(old->initiated, sizeof old->initiated, "2009-10-12T17:50:30.000Z");
    old->open = true;
    /* Our first initiate is applied but its answer lost: up-2 is an orphan,
     * up-3 the upload that goes on. */
    S.fault_of = lose_first_initiate;
    size_t n = 11u << 20;
    uint8_t *d = calloc(1, n);
    assert_int_equal(st_store_put(s, "orph", d, n, NULL, NULL), 0);
    S.fault_of = NULL;
    assert_int_equal(S.uploads, 3);
    assert_int_equal(S.completes, 1);
    assert_true(old->open);
    assert_false(S.ups[1].open);
    assert_false(S.ups[2].open);
    assert_int_equal(open_uploads(), 1);
    free(d);
    st_store_close(s);
}

static enum fault lose_complete(int n, const req_t *r) {
    (void)n;
    static int lost;
    if (strcmp(r->method, "POST") == 0 && qhas(r, "uploadId") && !lost++) return F_APPLY_CLOSE;
    return F_NONE;
}

static void test_conditional_multipart_completes(void **state) {
    (void)state;
    server_reset();
    S.complete_conditions = true;
    setenv("AWS_ACCESS_KEY_ID", "AKID-AWS", 1);
    st_store_t *s = open_store("&part_size=5MiB");
    assert_int_equal(st_store_caps(s), ST_CAP_PUT_IF_ABSENT | ST_CAP_PUT_IF_MATCH);
    int base = S.uploads; /* the probe's */
    assert_int_equal(open_uploads(), 0);
    size_t n = 11u << 20;
    uint8_t *d = malloc(n);
    for (size_t i = 0; i < n; i++)
        d[i] = (uint8_t)(i >> 7);
    /* The server checks conditions on completes: conditional objects go up
     * as multipart uploads, committed by the conditional complete. */
    st_put_opts_t c = {.mode = ST_PUT_IF_ABSENT};
    st_object_info_t info;
    assert_int_equal(st_store_put(s, "mp", d, n, &c, &info), 0);
    assert_int_equal(S.uploads, base + 1);
    assert_string_equal(info.etag, find_obj("pre/mp")->etag);
    st_object_info_t v1 = info;
    assert_int_equal(st_store_put(s, "mp", d, n, &c, NULL), ST_ECONFLICT);
    assert_int_equal(S.uploads, base + 2);
    assert_int_equal(open_uploads(), 0); /* the refused one was aborted */
    /* if-match through the writer; a stale ETag loses. */
    st_put_opts_t m = {.mode = ST_PUT_IF_MATCH, .if_match = v1.etag};
    d[0] ^= 1;
    st_store_writer_t *w;
    assert_int_equal(st_store_writer_open(s, "mp", &m, &w), 0);
    assert_int_equal(st_store_writer_write(w, d, n), 0);
    assert_int_equal(st_store_writer_commit(w, &info), 0);
    assert_int_equal(S.uploads, base + 3);
    assert_string_not_equal(info.etag, v1.etag);
    assert_memory_equal(find_obj("pre/mp")->data, d, n);
    assert_int_equal(st_store_writer_open(s, "mp", &m, &w), 0);
    assert_int_equal(st_store_writer_write(w, d, n), 0);
    assert_int_equal(st_store_writer_commit(w, NULL), ST_ECONFLICT);
    assert_int_equal(open_uploads(), 0);
    /* A complete that went through but whose answer was lost: the retry
     * finds the upload gone, sees its own ETag on the object, succeeds. */
    S.fault_of = lose_complete;
    assert_int_equal(st_store_put(s, "mp2", d, n, &c, &info), 0);
    S.fault_of = NULL;
    assert_string_equal(info.etag, find_obj("pre/mp2")->etag);
    assert_int_equal(open_uploads(), 0);
    free(d);
    st_store_close(s);
    setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_5xx_then_ok),
        cmocka_unit_test(test_no_retry_on_4xx),
        cmocka_unit_test(test_retries_run_out),
        cmocka_unit_test(test_reset_and_partial_body),
        cmocka_unit_test(test_timeout_retried),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_bodies_and_reuse),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_idempotent_conditional_put),
        cmocka_unit_test(test_retried_put_real_conflict),
        cmocka_unit_test(test_probe_ignoring_server),
        cmocka_unit_test(test_bare_if_match_server),
        cmocka_unit_test(test_session_token),
        cmocka_unit_test(test_virtual_hosted),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_get_ranges_and_errors),
        cmocka_unit_test(test_flaky_server),
        cmocka_unit_test(test_multipart_abort),
        cmocka_unit_test(test_initiate_resent_aborts_orphan),
        cmocka_unit_test(test_conditional_multipart_completes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
