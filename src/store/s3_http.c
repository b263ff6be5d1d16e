/* libcurl plumbing for the S3 backend: handle pool, bodies, headers, retries. */
#include "store/s3_http.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define POOL_MAX 32
#define HDR_MAX_COUNT 256
#define HDR_MAX_BYTES (64u << 10)
#define ERR_BODY_MAX (64u << 10)
/* Bodies above this are not pre-allocated from Content-Length alone: a
 * hostile header must not make us reserve memory the object will not fill. */
#define PREALLOC_MAX ((uint64_t)4 << 30)

/* A pooled easy handle and the socket of its live connection (each handle
 * talks to one endpoint, so it keeps at most one in practice). */
typedef struct pooled {
    CURL *e;
    curl_socket_t fd;
} pooled_t;

struct s3_http {
    CURLSH *share;
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_mu;
    pooled_t *pool[POOL_MAX];
    int npool;
    s3_http_opts_t o;
};

/* ---- global state --------------------------------------------------------- */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_refs;

static int global_ref(void) {
    pthread_mutex_lock(&g_mu);
    int rc = ST_OK;
    if (g_refs == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        rc = st_error(ST_EIO, "cannot initialise libcurl");
    if (!rc) g_refs++;
    pthread_mutex_unlock(&g_mu);
    return rc;
}

static void global_unref(void) {
    pthread_mutex_lock(&g_mu);
    if (g_refs > 0 && --g_refs == 0) curl_global_cleanup();
    pthread_mutex_unlock(&g_mu);
}

/* ---- share handle --------------------------------------------------------- */

static void lock_cb(CURL *e, curl_lock_data data, curl_lock_access access, void *ud) {
    (void)e;
    (void)access;
    s3_http_t *h = ud;
    if (data >= 0 && data < CURL_LOCK_DATA_LAST) pthread_mutex_lock(&h->locks[data]);
}

static void unlock_cb(CURL *e, curl_lock_data data, void *ud) {
    (void)e;
    s3_http_t *h = ud;
    if (data >= 0 && data < CURL_LOCK_DATA_LAST) pthread_mutex_unlock(&h->locks[data]);
}

int s3_http_new(const s3_http_opts_t *opts, s3_http_t **out) {
    *out = NULL;
    int rc = global_ref();
    if (rc) return rc;
    s3_http_t *h = calloc(1, sizeof *h);
    if (!h) {
        global_unref();
        return st_error(ST_ENOMEM, "out of memory");
    }
    h->o = *opts;
    if (h->o.retries < 0) h->o.retries = 0;
    if (h->o.backoff_base_ms <= 0) h->o.backoff_base_ms = 50;
    if (h->o.backoff_cap_ms <= 0) h->o.backoff_cap_ms = 5000;
    if (h->o.connect_timeout_ms <= 0) {
        h->o.connect_timeout_ms = 10000;
        if (h->o.timeout_ms > 0 && h->o.timeout_ms < h->o.connect_timeout_ms)
            h->o.connect_timeout_ms = h->o.timeout_ms;
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&h->locks[i], NULL);
    pthread_mutex_init(&h->pool_mu, NULL);
    h->share = curl_share_init();
    if (!h->share) {
        s3_http_free(h);
        return st_error(ST_ENOMEM, "cannot create a libcurl share handle");
    }
    curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, lock_cb);
    curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, unlock_cb);
    curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    /* Connections are not put in the share: libcurl documents a shared
     * connection cache as unsafe between concurrent threads, and parts of a
     * multipart upload run in threads. Each pooled easy handle keeps its own
     * live connections instead, so reuse comes with the handle. */
    *out = h;
    return ST_OK;
}

void s3_http_free(s3_http_t *h) {
    if (!h) return;
    for (int i = 0; i < h->npool; i++) {
        curl_easy_cleanup(h->pool[i]->e);
        free(h->pool[i]);
    }
    if (h->share) curl_share_cleanup(h->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&h->locks[i]);
    pthread_mutex_destroy(&h->pool_mu);
    free(h);
    global_unref();
}

static pooled_t *acquire(s3_http_t *h) {
    pooled_t *p = NULL;
    pthread_mutex_lock(&h->pool_mu);
    if (h->npool > 0) p = h->pool[--h->npool];
    pthread_mutex_unlock(&h->pool_mu);
    if (p) return p;
    p = malloc(sizeof *p);
    if (!p) return NULL;
    p->fd = CURL_SOCKET_BAD;
    if (!(p->e = curl_easy_init())) {
        free(p);
        return NULL;
    }
    return p;
}

static void release(s3_http_t *h, pooled_t *p) {
    /* reset forgets options but keeps live connections and caches. */
    curl_easy_reset(p->e);
    pthread_mutex_lock(&h->pool_mu);
    if (h->npool < POOL_MAX) {
        h->pool[h->npool++] = p;
        p = NULL;
    }
    pthread_mutex_unlock(&h->pool_mu);
    if (p) {
        /* The close callback of its connection still points at p. */
        curl_easy_cleanup(p->e);
        free(p);
    }
}

static int sockopt_cb(void *ud, curl_socket_t fd, curlsocktype purpose) {
    pooled_t *p = ud;
    if (purpose == CURLSOCKTYPE_IPCXN) p->fd = fd;
    return CURL_SOCKOPT_OK;
}

static int closesocket_cb(void *ud, curl_socket_t fd) {
    pooled_t *p = ud;
    if (p->fd == fd) p->fd = CURL_SOCKET_BAD;
    return close(fd);
}

/* ---- responses ------------------------------------------------------------ */

static void free_headers(s3_resp_t *r) {
    for (int i = 0; i < r->nhdrs; i++) {
        free(r->hdrs[i].name);
        free(r->hdrs[i].value);
    }
    free(r->hdrs);
    r->hdrs = NULL;
    r->nhdrs = 0;
}

void s3_resp_free(s3_resp_t *resp) {
    if (!resp) return;
    free_headers(resp);
    st_buf_free(&resp->err_body);
    resp->status = 0;
}

const char *s3_resp_header(const s3_resp_t *resp, const char *name) {
    for (int i = 0; i < resp->nhdrs; i++)
        if (strcmp(resp->hdrs[i].name, name) == 0) return resp->hdrs[i].value;
    return NULL;
}

typedef struct xfer {
    pooled_t *p;
    const s3_http_req_t *req;
    s3_resp_t *resp;
    size_t out_start;
    uint64_t body_pos;
    size_t hdr_bytes;
    bool nomem, too_large, read_err;
} xfer_t;

static bool is_2xx(long s) { return s >= 200 && s < 300; }

/* Servers that write a response's headers and body separately with Nagle's
 * algorithm on (radosgw's beast frontend by default) hold the body back until
 * the headers are acknowledged, while Linux delays that ACK by 40 ms on a
 * reused connection: every small GET would take 40 ms. Acknowledging at once
 * when the headers are in removes the stall. */
static void quick_ack(const pooled_t *p) {
#ifdef TCP_QUICKACK
    if (p->fd != CURL_SOCKET_BAD) {
        int one = 1;
        (void)setsockopt(p->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    }
#else
    (void)p;
#endif
}

static int debug_cb(CURL *e, curl_infotype type, char *data, size_t size, void *ud) {
    (void)e;
    (void)data;
    (void)size;
    xfer_t *x = ud;
    if (type == CURLINFO_HEADER_OUT) x->resp->sends++;
    return 0;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *ud) {
    xfer_t *x = ud;
    size_t n = size * nitems;
    s3_resp_t *r = x->resp;
    size_t len = n;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        /* A new response (after 100 Continue, too): start over. */
        free_headers(r);
        x->hdr_bytes = 0;
        const char *sp = memchr(buf, ' ', len);
        long st = 0;
        if (sp) {
            for (const char *p = sp + 1; p < buf + len && *p >= '0' && *p <= '9' && st < 1000; p++)
                st = st * 10 + (*p - '0');
        }
        r->status = st;
        return n;
    }
    if (len == 0) {
        quick_ack(x->p);
        if (is_2xx(r->status) && x->req->out) {
            const char *cl = s3_resp_header(r, "content-length");
            if (cl) {
                char *end;
                errno = 0;
                unsigned long long v = strtoull(cl, &end, 10);
                if (!errno && *end == '\0' && v > 0 && v <= PREALLOC_MAX &&
                    (!x->req->out_max || v <= x->req->out_max))
                    (void)st_buf_reserve(x->req->out, (size_t)v);
            }
        }
        return n;
    }
    x->hdr_bytes += n;
    if (x->hdr_bytes > HDR_MAX_BYTES || r->nhdrs >= HDR_MAX_COUNT) return n; /* ignore the rest */
    const char *colon = memchr(buf, ':', len);
    if (!colon || colon == buf) return n;
    const char *vs = colon + 1, *ve = buf + len;
    while (vs < ve && (*vs == ' ' || *vs == '\t'))
        vs++;
    while (ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
    s3_hdr_t *nh = realloc(r->hdrs, (size_t)(r->nhdrs + 1) * sizeof *nh);
    if (!nh) {
        x->nomem = true;
        return 0;
    }
    r->hdrs = nh;
    size_t nl = (size_t)(colon - buf), vl = (size_t)(ve - vs);
    char *name = malloc(nl + 1), *value = malloc(vl + 1);
    if (!name || !value) {
        free(name);
        free(value);
        x->nomem = true;
        return 0;
    }
    for (size_t i = 0; i < nl; i++) {
        char c = buf[i];
        name[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    name[nl] = '\0';
    memcpy(value, vs, vl);
    value[vl] = '\0';
    r->hdrs[r->nhdrs].name = name;
    r->hdrs[r->nhdrs].value = value;
    r->nhdrs++;
    return n;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud) {
    xfer_t *x = ud;
    size_t n = size * nmemb;
    if (is_2xx(x->resp->status)) {
        st_buf_t *out = x->req->out;
        if (!out) return n;
        if (x->req->out_max && (uint64_t)(out->len - x->out_start) + n > x->req->out_max) {
            x->too_large = true;
            return 0;
        }
        if (st_buf_append(out, data, n)) {
            x->nomem = true;
            return 0;
        }
        return n;
    }
    st_buf_t *eb = &x->resp->err_body;
    if (eb->len < ERR_BODY_MAX) {
        size_t take = n < ERR_BODY_MAX - eb->len ? n : ERR_BODY_MAX - eb->len;
        if (st_buf_append(eb, data, take)) {
            x->nomem = true;
            return 0;
        }
    }
    return n;
}

static size_t read_cb(char *dst, size_t size, size_t nitems, void *ud) {
    xfer_t *x = ud;
    const s3_body_t *b = x->req->body;
    size_t cap = size * nitems;
    if (!b || x->body_pos >= b->len) return 0;
    uint64_t left = b->len - x->body_pos;
    size_t n = left < cap ? (size_t)left : cap;
    if (b->mem) {
        memcpy(dst, b->mem + x->body_pos, n);
    } else {
        ssize_t got;
        do
            got = pread(b->fd, dst, n, (off_t)(b->offset + x->body_pos));
        while (got < 0 && errno == EINTR);
        if (got <= 0) {
            x->read_err = true;
            return CURL_READFUNC_ABORT;
        }
        n = (size_t)got;
    }
    x->body_pos += n;
    return n;
}

static int seek_cb(void *ud, curl_off_t offset, int origin) {
    xfer_t *x = ud;
    const s3_body_t *b = x->req->body;
    if (origin != SEEK_SET || offset < 0 || !b || (uint64_t)offset > b->len)
        return CURL_SEEKFUNC_CANTSEEK;
    x->body_pos = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* ---- retries -------------------------------------------------------------- */

bool s3_http_retryable_status(long status) { return status >= 500 || status == 429; }

bool s3_http_retryable_curl(CURLcode cc) {
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return true;
    default: return false;
    }
}

static uint64_t next_random(void) {
    static _Thread_local uint64_t state;
    if (!state)
        state = (uint64_t)st_now_us() ^ ((uint64_t)(uintptr_t)&state << 16) ^ 0x9e3779b97f4a7c15ull;
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1dull;
}

long s3_http_backoff_ms(const s3_http_opts_t *o, int attempt) {
    long base = o->backoff_base_ms > 0 ? o->backoff_base_ms : 50;
    long cap = o->backoff_cap_ms > 0 ? o->backoff_cap_ms : 5000;
    long ceil = base;
    for (int i = 1; i < attempt && ceil < cap; i++)
        ceil *= 2;
    if (ceil > cap) ceil = cap;
    /* Full jitter: spreads the retries of many clients hit by the same
     * failure instead of having them return in lockstep. */
    return (long)(next_random() % (uint64_t)(ceil + 1));
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void setup(s3_http_t *h, pooled_t *p, const s3_http_req_t *req, xfer_t *x, char *errbuf) {
    CURL *e = p->e;
    curl_easy_setopt(e, CURLOPT_SHARE, h->share);
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    /* Keys are sent exactly as signed. */
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->o.connect_timeout_ms);
    if (h->o.timeout_ms > 0) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->o.timeout_ms);
    /* A stalled transfer counts as a timeout (and is retried). */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    /* Tracks the connection's socket for quick_ack(); a connection keeps the
     * close callback it was created with, so p must outlive the handle. */
    curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
    curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, p);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, closesocket_cb);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, p);
    /* The debug hook is the only place libcurl reveals a request it sent
     * again on its own; it replaces the verbose output, nothing is printed. */
    curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, debug_cb);
    curl_easy_setopt(e, CURLOPT_DEBUGDATA, x);
    curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    const char *m = req->method;
    if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(m, "PUT") == 0 || strcmp(m, "POST") == 0) {
        /* Both go through the upload path (a POST without a body still gets
         * Content-Length: 0 and no form Content-Type). */
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(e, CURLOPT_READDATA, x);
        curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, seek_cb);
        curl_easy_setopt(e, CURLOPT_SEEKDATA, x);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(req->body ? req->body->len : 0));
        if (strcmp(m, "POST") == 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "POST");
    } else if (strcmp(m, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    }
}

int s3_http_do(s3_http_t *h, const s3_http_req_t *req, s3_resp_t *resp) {
    memset(resp, 0, sizeof *resp);
    pooled_t *p = acquire(h);
    if (!p) return st_error(ST_ENOMEM, "cannot create a libcurl handle");
    CURL *e = p->e;
    xfer_t x = {.p = p, .req = req, .resp = resp, .out_start = req->out ? req->out->len : 0};
    char errbuf[CURL_ERROR_SIZE];
    int rc = ST_OK;
    for (int attempt = 0;; attempt++) {
        free_headers(resp);
        st_buf_reset(&resp->err_body);
        resp->status = 0;
        if (req->out) req->out->len = x.out_start;
        x.body_pos = 0;
        x.hdr_bytes = 0;
        x.nomem = x.too_large = x.read_err = false;
        errbuf[0] = '\0';

        struct curl_slist *hdrs = NULL;
        rc = req->prepare(req->ctx, &hdrs);
        if (rc) {
            curl_slist_free_all(hdrs);
            break;
        }
        /* 100-continue costs a round trip per upload and stalls a second on
         * servers that ignore it; Accept is noise. */
        struct curl_slist *t = curl_slist_append(hdrs, "Expect:");
        if (t) t = curl_slist_append(t, "Accept:");
        if (!t) {
            curl_slist_free_all(hdrs);
            rc = st_error(ST_ENOMEM, "out of memory");
            break;
        }
        hdrs = t;
        curl_easy_reset(e);
        setup(h, p, req, &x, errbuf);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
        CURLcode cc = curl_easy_perform(e);
        curl_slist_free_all(hdrs);
        resp->attempts = attempt + 1;
        if (cc == CURLE_OK) {
            long st = 0;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &st);
            resp->status = st;
        }
        if (x.nomem) {
            rc = st_error(ST_ENOMEM, "out of memory receiving the response");
            break;
        }
        if (x.too_large) {
            rc = st_error(ST_EIO, "response body larger than %llu bytes",
                          (unsigned long long)req->out_max);
            break;
        }
        if (x.read_err) {
            rc = st_error(ST_EIO, "cannot read the request body: %s", strerror(errno));
            break;
        }
        bool more = attempt < h->o.retries;
        if (cc == CURLE_OK) {
            if (more && s3_http_retryable_status(resp->status)) {
                sleep_ms(s3_http_backoff_ms(&h->o, attempt + 1));
                continue;
            }
            break;
        }
        if (more && s3_http_retryable_curl(cc)) {
            sleep_ms(s3_http_backoff_ms(&h->o, attempt + 1));
            continue;
        }
        rc = st_error(ST_EIO, "%s failed after %d attempt%s: %s (curl error %d)", req->method,
                      attempt + 1, attempt ? "s" : "", errbuf[0] ? errbuf : curl_easy_strerror(cc),
                      (int)cc);
        break;
    }
    if (rc) {
        free_headers(resp);
        if (req->out) req->out->len = x.out_start;
    }
    release(h, p);
    return rc;
}
