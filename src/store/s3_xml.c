/* Parsing of S3 XML responses with libxml2, hardened for hostile input. */
#include "store/s3_xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Longest text strata accepts in any element: S3 keys are at most 1024 bytes
 * (3x when percent-encoded); tokens and upload ids are far shorter. */
#define XML_TEXT_MAX 8192
#define XML_ITEMS_MAX 100000

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;
static void xml_init(void) { xmlInitParser(); }

static bool contains(const char *s, size_t n, const char *lit) {
    size_t m = strlen(lit);
    if (m > n) return false;
    for (size_t i = 0; i + m <= n; i++)
        if (s[i] == lit[0] && memcmp(s + i, lit, m) == 0) return true;
    return false;
}

static int parse_doc(const char *xml, size_t n, xmlDocPtr *out) {
    *out = NULL;
    if (n == 0) return st_error(ST_ECORRUPT, "empty XML response");
    if (n > S3_XML_MAX) return st_error(ST_ECORRUPT, "XML response too large (%zu bytes)", n);
    /* S3 documents never carry a DTD; refusing one removes entity expansion
     * attacks (billion laughs, external entities) before the parser sees them. */
    if (contains(xml, n, "<!DOCTYPE") || contains(xml, n, "<!ENTITY"))
        return st_error(ST_ECORRUPT, "XML response with a DTD refused");
    pthread_once(&xml_once, xml_init);
    xmlDocPtr doc = xmlReadMemory(xml, (int)n, "s3-response.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                      XML_PARSE_NOCDATA);
    if (!doc) return st_error(ST_ECORRUPT, "malformed XML response");
    if (!xmlDocGetRootElement(doc)) {
        xmlFreeDoc(doc);
        return st_error(ST_ECORRUPT, "XML response without a root element");
    }
    *out = doc;
    return ST_OK;
}

static bool is_elem(const xmlNode *n, const char *name) {
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *child(const xmlNode *parent, const char *name) {
    for (const xmlNode *c = parent->children; c; c = c->next)
        if (is_elem(c, name)) return c;
    return NULL;
}

/* Text of an element (malloc'd), bounded. NULL with an error when too long or
 * out of memory; "" for an empty element. */
static char *text_of(const xmlNode *n, const char *what) {
    xmlChar *t = xmlNodeGetContent(n);
    const char *s = t ? (const char *)t : "";
    size_t len = strlen(s);
    if (len > XML_TEXT_MAX) {
        xmlFree(t);
        st_error(ST_ECORRUPT, "XML element %s too long (%zu bytes)", what, len);
        return NULL;
    }
    char *r = strdup(s);
    xmlFree(t);
    if (!r) st_error(ST_ENOMEM, "out of memory");
    return r;
}

/* Server text for messages: control characters become spaces. */
static void sanitize(char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f) *s = ' ';
}

static void strip_quotes(char *s) {
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        memmove(s, s + 1, n - 2);
        s[n - 2] = '\0';
    } else if (n >= 12 && strncmp(s, "&quot;", 6) == 0 && strcmp(s + n - 6, "&quot;") == 0) {
        memmove(s, s + 6, n - 12);
        s[n - 12] = '\0';
    }
}

/* Server text for messages, cut to `max` bytes rather than refused: an
 * overlong message is still worth showing. */
static char *text_cut(const xmlNode *n, size_t max) {
    xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
    const char *s = t ? (const char *)t : "";
    size_t len = strnlen(s, max + 1);
    char *r = malloc(len + 1);
    if (r) {
        memcpy(r, s, len);
        r[len] = '\0';
        if (len > max) strcpy(r + max - 3, "...");
        sanitize(r);
    }
    xmlFree(t);
    return r;
}

static int error_fields(const xmlNode *root, char **code, char **message) {
    /* Messages end up in a 1 KiB error slot beside the object's URL. */
    *code = text_cut(child(root, "Code"), 64);
    *message = text_cut(child(root, "Message"), 300);
    if (!*code || !*message) {
        free(*code);
        free(*message);
        *code = *message = NULL;
        return st_error(ST_ENOMEM, "out of memory");
    }
    return ST_OK;
}

int s3_xml_parse_error(const char *xml, size_t n, char **code, char **message) {
    *code = *message = NULL;
    xmlDocPtr doc;
    int rc = parse_doc(xml, n, &doc);
    if (rc) return rc;
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (!is_elem(root, "Error"))
        rc = st_error(ST_ECORRUPT, "XML response is not an Error");
    else
        rc = error_fields(root, code, message);
    xmlFreeDoc(doc);
    return rc;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Undoes encoding-type=url in place. S3 writes spaces as '+' and a literal
 * '+' as %2B, so '+' decodes to a space. A %00 would cut the key short and is
 * refused. */
static int url_decode(char *s) {
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r == '%') {
            int h = hexval((unsigned char)r[1]), l = h < 0 ? -1 : hexval((unsigned char)r[2]);
            if (h < 0 || l < 0) return st_error(ST_ECORRUPT, "bad percent-encoding in listing");
            char c = (char)(h * 16 + l);
            if (c == '\0') return st_error(ST_ECORRUPT, "listing holds a key with a NUL byte");
            *w++ = c;
            r += 2;
        } else if (*r == '+') {
            *w++ = ' ';
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return ST_OK;
}

static int parse_u64(const char *s, uint64_t *out) {
    uint64_t v = 0;
    if (!*s) return ST_ECORRUPT;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return ST_ECORRUPT;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return ST_ECORRUPT;
        v = v * 10 + d;
    }
    *out = v;
    return ST_OK;
}

int s3_parse_iso_time(const char *s, int64_t *us) { return st_parse_timestamp(s, 6, us); }

void s3_list_page_free(s3_list_page_t *page) {
    if (!page) return;
    for (size_t i = 0; i < page->n; i++) {
        free(page->items[i].key);
        free(page->items[i].etag);
    }
    free(page->items);
    free(page->next_token);
    memset(page, 0, sizeof *page);
}

static int cmp_item(const void *a, const void *b) {
    return strcmp(((const s3_list_item_t *)a)->key, ((const s3_list_item_t *)b)->key);
}

static int add_item(s3_list_page_t *p, size_t *cap, s3_list_item_t *it) {
    if (p->n >= XML_ITEMS_MAX) return st_error(ST_ECORRUPT, "listing page with too many entries");
    if (p->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        s3_list_item_t *ni = realloc(p->items, nc * sizeof *ni);
        if (!ni) return st_error(ST_ENOMEM, "out of memory");
        p->items = ni;
        *cap = nc;
    }
    p->items[p->n++] = *it;
    return ST_OK;
}

static int parse_contents(const xmlNode *c, bool url, s3_list_item_t *it) {
    memset(it, 0, sizeof *it);
    const xmlNode *k = child(c, "Key");
    if (!k) return st_error(ST_ECORRUPT, "listing entry without a Key");
    if (!(it->key = text_of(k, "Key"))) return ST_ECORRUPT;
    int rc = url ? url_decode(it->key) : ST_OK;
    if (!rc && !*it->key) rc = st_error(ST_ECORRUPT, "listing entry with an empty Key");
    const xmlNode *sz = child(c, "Size");
    if (!rc && sz) {
        char *t = text_of(sz, "Size");
        if (!t)
            rc = ST_ECORRUPT;
        else if (parse_u64(t, &it->size))
            rc = st_error(ST_ECORRUPT, "bad Size '%.40s' in listing", t);
        free(t);
    }
    const xmlNode *et = child(c, "ETag");
    if (!rc) {
        it->etag = et ? text_of(et, "ETag") : strdup("");
        if (!it->etag)
            rc = ST_ECORRUPT;
        else
            strip_quotes(it->etag);
        if (!rc && strlen(it->etag) >= 130) it->etag[129] = '\0';
    }
    const xmlNode *lm = child(c, "LastModified");
    if (!rc && lm) {
        char *t = text_of(lm, "LastModified");
        if (!t)
            rc = ST_ECORRUPT;
        else if (s3_parse_iso_time(t, &it->last_modified_us))
            rc = st_error(ST_ECORRUPT, "bad LastModified '%.40s' in listing", t);
        free(t);
    }
    if (rc) {
        free(it->key);
        free(it->etag);
        memset(it, 0, sizeof *it);
    }
    return rc;
}

int s3_xml_parse_list(const char *xml, size_t n, s3_list_page_t *page) {
    memset(page, 0, sizeof *page);
    xmlDocPtr doc;
    int rc = parse_doc(xml, n, &doc);
    if (rc) return rc;
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (!is_elem(root, "ListBucketResult")) {
        xmlFreeDoc(doc);
        return st_error(ST_ECORRUPT, "XML response is not a ListBucketResult");
    }
    bool url = false;
    const xmlNode *enc = child(root, "EncodingType");
    if (enc) {
        char *t = text_of(enc, "EncodingType");
        url = t && strcmp(t, "url") == 0;
        free(t);
    }
    size_t cap = 0;
    for (const xmlNode *c = root->children; c && !rc; c = c->next) {
        s3_list_item_t it;
        if (is_elem(c, "Contents")) {
            rc = parse_contents(c, url, &it);
            if (!rc && (rc = add_item(page, &cap, &it))) {
                free(it.key);
                free(it.etag);
            }
        } else if (is_elem(c, "CommonPrefixes")) {
            const xmlNode *p = child(c, "Prefix");
            if (!p) continue;
            memset(&it, 0, sizeof it);
            it.is_prefix = true;
            if (!(it.key = text_of(p, "Prefix"))) rc = ST_ECORRUPT;
            if (!rc && url) rc = url_decode(it.key);
            if (!rc && !*it.key) rc = st_error(ST_ECORRUPT, "empty CommonPrefixes entry");
            if (!rc) rc = add_item(page, &cap, &it);
            if (rc) free(it.key);
        } else if (is_elem(c, "IsTruncated")) {
            char *t = text_of(c, "IsTruncated");
            if (!t)
                rc = ST_ECORRUPT;
            else
                page->truncated = strcmp(t, "true") == 0;
            free(t);
        } else if (is_elem(c, "NextContinuationToken")) {
            free(page->next_token);
            if (!(page->next_token = text_of(c, "NextContinuationToken"))) rc = ST_ECORRUPT;
        }
    }
    xmlFreeDoc(doc);
    if (!rc && page->truncated && (!page->next_token || !*page->next_token))
        rc = st_error(ST_ECORRUPT, "truncated listing without a NextContinuationToken");
    if (rc) {
        s3_list_page_free(page);
        return rc;
    }
    if (page->n > 1) qsort(page->items, page->n, sizeof *page->items, cmp_item);
    return ST_OK;
}

int s3_xml_parse_initiate(const char *xml, size_t n, char **upload_id) {
    *upload_id = NULL;
    xmlDocPtr doc;
    int rc = parse_doc(xml, n, &doc);
    if (rc) return rc;
    const xmlNode *root = xmlDocGetRootElement(doc);
    const xmlNode *u =
        is_elem(root, "InitiateMultipartUploadResult") ? child(root, "UploadId") : NULL;
    if (!u) {
        rc = st_error(ST_ECORRUPT, "InitiateMultipartUploadResult without an UploadId");
    } else if (!(*upload_id = text_of(u, "UploadId"))) {
        rc = ST_ECORRUPT;
    } else if (!**upload_id) {
        free(*upload_id);
        *upload_id = NULL;
        rc = st_error(ST_ECORRUPT, "empty UploadId");
    }
    xmlFreeDoc(doc);
    return rc;
}

int s3_xml_parse_complete(const char *xml, size_t n, char **etag, char **err_code,
                          char **err_message) {
    *etag = *err_code = *err_message = NULL;
    xmlDocPtr doc;
    int rc = parse_doc(xml, n, &doc);
    if (rc) return rc;
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (is_elem(root, "Error")) {
        rc = error_fields(root, err_code, err_message);
        if (!rc) rc = st_error(ST_EIO, "%s: %s", *err_code, *err_message);
    } else if (!is_elem(root, "CompleteMultipartUploadResult")) {
        rc = st_error(ST_ECORRUPT, "XML response is not a CompleteMultipartUploadResult");
    } else {
        const xmlNode *e = child(root, "ETag");
        *etag = e ? text_of(e, "ETag") : strdup("");
        if (!*etag)
            rc = ST_ECORRUPT;
        else
            strip_quotes(*etag);
    }
    xmlFreeDoc(doc);
    return rc;
}

void s3_uploads_free(s3_upload_t *ups, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(ups[i].key);
        free(ups[i].upload_id);
    }
    free(ups);
}

int s3_xml_parse_uploads(const char *xml, size_t n, s3_upload_t **ups, size_t *nups) {
    *ups = NULL;
    *nups = 0;
    xmlDocPtr doc;
    int rc = parse_doc(xml, n, &doc);
    if (rc) return rc;
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (!is_elem(root, "ListMultipartUploadsResult")) {
        xmlFreeDoc(doc);
        return st_error(ST_ECORRUPT, "XML response is not a ListMultipartUploadsResult");
    }
    bool url = false;
    const xmlNode *enc = child(root, "EncodingType");
    if (enc) {
        char *t = text_of(enc, "EncodingType");
        url = t && strcmp(t, "url") == 0;
        free(t);
    }
    size_t cap = 0;
    for (const xmlNode *c = root->children; c && !rc; c = c->next) {
        if (!is_elem(c, "Upload")) continue;
        const xmlNode *k = child(c, "Key"), *u = child(c, "UploadId"), *t = child(c, "Initiated");
        if (!k || !u) {
            rc = st_error(ST_ECORRUPT, "Upload entry without Key or UploadId");
            break;
        }
        if (*nups >= XML_ITEMS_MAX) {
            rc = st_error(ST_ECORRUPT, "too many uploads in one page");
            break;
        }
        if (*nups == cap) {
            size_t nc = cap ? cap * 2 : 16;
            s3_upload_t *nu = realloc(*ups, nc * sizeof *nu);
            if (!nu) {
                rc = st_error(ST_ENOMEM, "out of memory");
                break;
            }
            *ups = nu;
            cap = nc;
        }
        s3_upload_t *x = &(*ups)[*nups];
        memset(x, 0, sizeof *x);
        x->key = text_of(k, "Key");
        x->upload_id = text_of(u, "UploadId");
        (*nups)++;
        if (!x->key || !x->upload_id)
            rc = ST_ECORRUPT;
        else if (url)
            rc = url_decode(x->key);
        if (!rc && t) {
            char *ts = text_of(t, "Initiated");
            if (!ts)
                rc = ST_ECORRUPT;
            else if (s3_parse_iso_time(ts, &x->initiated_us))
                rc = st_error(ST_ECORRUPT, "bad Initiated '%.40s'", ts);
            free(ts);
        }
    }
    xmlFreeDoc(doc);
    if (rc) {
        s3_uploads_free(*ups, *nups);
        *ups = NULL;
        *nups = 0;
    }
    return rc;
}

int s3_xml_escape(st_buf_t *b, const char *s) {
    int rc = ST_OK;
    for (; *s && !rc; s++) {
        switch (*s) {
        case '&': rc = st_buf_append_str(b, "&amp;"); break;
        case '<': rc = st_buf_append_str(b, "&lt;"); break;
        case '>': rc = st_buf_append_str(b, "&gt;"); break;
        case '"': rc = st_buf_append_str(b, "&quot;"); break;
        case '\'': rc = st_buf_append_str(b, "&apos;"); break;
        default: rc = st_buf_append_byte(b, (uint8_t)*s);
        }
    }
    return rc;
}
