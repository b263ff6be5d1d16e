/* Hive partition segments: rendering a value as directory text and back,
 * reversibly for every value (see partition.h for the escaping rules). */
#include "dataset/partition.h"

#include "strata/schema.h"

#include <string.h>

static bool must_escape(unsigned char c) {
    if (c < 0x20 || c == 0x7f) return true;
    return c != '\0' && strchr("%/=\\\"#'*:?[]^{}", c) != NULL;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
    if (len == 0 || len > n || !st_utf8_valid(s, len)) return 0;
    return len;
}

int st_partition_escape(const char *s, size_t n, st_buf_t *out) {
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    int rc = st_buf_reserve(out, n + 8);
    size_t i = 0;
    /* The null marker's text as a real value gets its first byte escaped. */
    bool marker = n == strlen(ST_PARTITION_NULL) && !memcmp(s, ST_PARTITION_NULL, n);
    while (!rc && i < n) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t len = utf8_seq(p + i, n - i);
            if (len) {
                rc = st_buf_append(out, p + i, len);
                i += len;
                continue;
            }
        }
        if (must_escape(c) || c >= 0x80 || (marker && i == 0)) {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = st_buf_append(out, e, 3);
        } else {
            rc = st_buf_append_byte(out, c);
        }
        i++;
    }
    return rc;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int st_partition_unescape(const char *s, size_t n, st_buf_t *out) {
    int rc = st_buf_reserve(out, n + 1);
    for (size_t i = 0; !rc && i < n; i++) {
        if (s[i] != '%') {
            rc = st_buf_append_byte(out, (uint8_t)s[i]);
            continue;
        }
        int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
        int lo = hi >= 0 ? hexval(s[i + 2]) : -1;
        if (hi < 0 || lo < 0)
            return st_error(ST_ECORRUPT,
                            "partition path: '%%' not followed by two hex digits in '%.*s'",
                            (int)(n > 200 ? 200 : n), s);
        rc = st_buf_append_byte(out, (uint8_t)(hi << 4 | lo));
        i += 2;
    }
    return rc;
}

int st_partition_value_text(const st_column_t *c, int64_t i, st_buf_t *out, bool *is_null) {
    *is_null = st_col_is_null(c, i);
    if (*is_null) return ST_OK;
    st_type_id id = c->field.type.id;
    if (id == ST_TYPE_STRING || id == ST_TYPE_JSON) {
        size_t n;
        const uint8_t *p = st_col_get_bytes(c, i, &n);
        return st_buf_append(out, p, n);
    }
    size_t start = out->len;
    int rc = st_col_value_json(c, i, out);
    if (rc) return rc;
    /* Non-string JSON forms are quoted only around plain text (dates, hex,
     * decimals, "NaN"): drop the quotes. */
    if (out->len - start >= 2 && out->data[start] == '"') {
        memmove(out->data + start, out->data + start + 1, out->len - start - 2);
        out->len -= 2;
    }
    return ST_OK;
}

int st_partition_segment(const char *name, const st_column_t *c, int64_t i, st_buf_t *out) {
    int rc = st_partition_escape(name, strlen(name), out);
    if (!rc) rc = st_buf_append_byte(out, '=');
    if (rc) return rc;
    if (st_col_is_null(c, i)) return st_buf_append_str(out, ST_PARTITION_NULL);
    st_buf_t text = ST_BUF_INIT;
    bool is_null;
    rc = st_partition_value_text(c, i, &text, &is_null);
    if (!rc) rc = st_partition_escape((const char *)text.data, text.len, out);
    st_buf_free(&text);
    return rc;
}

int st_partition_parse_segment(const char *seg, size_t n, st_buf_t *name, st_buf_t *value,
                               bool *is_null) {
    const char *eq = memchr(seg, '=', n);
    *is_null = false;
    if (!eq || eq == seg)
        return st_error(ST_ENOTFOUND, "'%.*s' is not a partition directory (name=value)",
                        (int)(n > 200 ? 200 : n), seg);
    int rc = st_partition_unescape(seg, (size_t)(eq - seg), name);
    if (!rc) rc = st_buf_append_byte(name, 0);
    if (rc) return rc;
    const char *v = eq + 1;
    size_t vn = n - (size_t)(v - seg);
    if (vn == strlen(ST_PARTITION_NULL) && !memcmp(v, ST_PARTITION_NULL, vn)) {
        *is_null = true;
        return st_buf_append_byte(value, 0);
    }
    rc = st_partition_unescape(v, vn, value);
    if (!rc) rc = st_buf_append_byte(value, 0);
    return rc;
}

int st_partition_append_value(st_column_t *c, const char *text, size_t n, bool is_null) {
    if (is_null) return st_col_append_null(c);
    st_type_id id = c->field.type.id;
    if (n == 0 && (id == ST_TYPE_STRING || id == ST_TYPE_BINARY || id == ST_TYPE_JSON))
        return st_col_append_bytes(c, "", 0);
    return st_coerce_append(c, text, n);
}
