/* Text cells to typed values: the one conversion CSV, JSON Lines and the CLI
 * share, so a value means the same thing whichever way it arrives. Nothing is
 * rounded or truncated silently: a cell either converts exactly or fails. */
#include "strata/schema.h"
#include "table_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SHOW_MAX 60

/* The cell as shown in messages: at most SHOW_MAX bytes (cut on a character
 * boundary), control characters and invalid bytes escaped, so a message stays
 * one readable line. */
static void show_value(const char *s, size_t n, char *out, size_t cap) {
    size_t o = 0, i = 0;
    while (i < n && o + 8 < cap) {
        unsigned char c = (unsigned char)s[i];
        if (i >= SHOW_MAX) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f) {
            const char *e = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
            if (e)
                o += (size_t)snprintf(out + o, cap - o, "%s", e);
            else
                o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
            i++;
            continue;
        }
        size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
        if (len == 0 || i + len > n || !st_utf8_valid((const uint8_t *)s + i, len)) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
            i++;
            continue;
        }
        memcpy(out + o, s + i, len);
        o += len;
        i += len;
    }
    out[o] = '\0';
}

static int fail(const st_column_t *col, const char *s, size_t n, const char *why) {
    char shown[SHOW_MAX * 4 + 16], type[48];
    show_value(s, n, shown, sizeof shown);
    st_type_format(&col->field.type, type, sizeof type);
    if (why) return st_error(ST_ETYPE, "'%s' is not a valid %s: %s", shown, type, why);
    return st_error(ST_ETYPE, "'%s' is not a valid %s", shown, type);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int append_hex(st_column_t *col, const char *s, size_t n) {
    if (n % 2) return fail(col, s, n, "odd number of hex digits");
    size_t bytes = n / 2;
    if (col->field.type.id == ST_TYPE_FIXED && bytes != (size_t)col->field.type.width) {
        char why[64];
        snprintf(why, sizeof why, "%zu bytes, expected %d", bytes, (int)col->field.type.width);
        return fail(col, s, n, why);
    }
    uint8_t small[64] = {0};
    uint8_t *p = bytes <= sizeof small ? small : malloc(bytes);
    if (!p) return st_error(ST_ENOMEM, "out of memory");
    for (size_t i = 0; i < bytes; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            if (p != small) free(p);
            return fail(col, s, n, "not hexadecimal");
        }
        p[i] = (uint8_t)(hi << 4 | lo);
    }
    int rc = st_col_append_bytes(col, p, bytes);
    if (p != small) free(p);
    return rc;
}

static int append_bool(st_column_t *col, const char *s, size_t n) {
    static const char *yes[] = {"true", "yes", "1", "t"}, *no[] = {"false", "no", "0", "f"};
    for (int k = 0; k < 4; k++) {
        if (strlen(yes[k]) == n && !strncasecmp(s, yes[k], n)) return st_col_append_bool(col, true);
        if (strlen(no[k]) == n && !strncasecmp(s, no[k], n)) return st_col_append_bool(col, false);
    }
    return fail(col, s, n, NULL);
}

/* Integers: optional sign, digits, and (harmlessly) a fraction of zeros such as
 * "12.0", which spreadsheets and JSON writers produce for whole numbers. */
static int append_int(st_column_t *col, const char *s, size_t n) {
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    if (i >= n || s[i] < '0' || s[i] > '9') return fail(col, s, n, NULL);
    uint64_t mag = 0;
    bool overflow = false;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (mag > (UINT64_MAX - d) / 10)
            overflow = true;
        else
            mag = mag * 10 + d;
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] == '0'; i++) {
        }
        if (i < n && s[i] >= '1' && s[i] <= '9') return fail(col, s, n, "not a whole number");
    }
    if (i != n) return fail(col, s, n, NULL);
    bool is_unsigned = col->field.type.id >= ST_TYPE_UINT8 && col->field.type.id <= ST_TYPE_UINT64;
    if (overflow || (neg && mag > (uint64_t)INT64_MAX + 1) || (neg && mag && is_unsigned))
        return fail(col, s, n, "out of range");
    int rc;
    if (neg)
        rc = st_col_append_i64(col, mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag);
    else
        rc = st_col_append_u64(col, mag);
    if (rc == ST_ETYPE) return fail(col, s, n, "out of range");
    return rc;
}

static int append_float(st_column_t *col, const char *s, size_t n, const char *z) {
    (void)n;
    errno = 0;
    char *end;
    double v;
    /* strtod spells infinity "inf"/"infinity"; JSON writers spell it "Infinity",
     * which strtod also takes. Hex floats are exact, so they may stay. */
    v = strtod(z, &end);
    if (end == z || *end) return fail(col, s, n, NULL);
    if (errno == ERANGE && isinf(v)) return fail(col, s, n, "out of range");
    int rc = st_col_append_double(col, v);
    if (rc == ST_ETYPE) return fail(col, s, n, "out of range");
    return rc;
}

/* Time and timestamp parsers keep only as many fraction digits as the unit
 * holds; refuse text whose dropped digits are not zeros. */
static bool fraction_fits(const char *z, int digits) {
    const char *colon = strchr(z, ':');
    if (!colon) return true;
    const char *dot = strpbrk(colon, ".,");
    if (!dot) return true;
    int k = 0;
    for (const char *q = dot + 1; *q >= '0' && *q <= '9'; q++, k++)
        if (k >= digits && *q != '0') return false;
    return true;
}

static int fraction_fail(st_column_t *col, const char *s, size_t n) {
    char why[40];
    snprintf(why, sizeof why, "more than %d fraction digits", (int)col->field.type.unit);
    return fail(col, s, n, why);
}

int st_coerce_append(st_column_t *col, const char *text, size_t n) {
    const st_type_t *t = &col->field.type;
    if (n == 0) return st_col_append_null(col);
    if (t->id == ST_TYPE_STRING) {
        if (!st_utf8_valid((const uint8_t *)text, n)) return fail(col, text, n, "invalid UTF-8");
        return st_col_append_bytes(col, text, n);
    }
    if (t->id == ST_TYPE_JSON) {
        if (!st_utf8_valid((const uint8_t *)text, n)) return fail(col, text, n, "invalid UTF-8");
        tj_doc doc = {0};
        int rc = tj_parse(&doc, text, n);
        tj_doc_free(&doc);
        if (rc == ST_ECORRUPT) {
            char why[200];
            snprintf(why, sizeof why, "%s", st_errmsg());
            return fail(col, text, n, why);
        }
        if (rc) return rc;
        return st_col_append_bytes(col, text, n);
    }

    /* Everything else ignores blanks around the value (" 12", "2024-01-01 "). */
    const char *s = text;
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    if (n == 0) return st_col_append_null(col);
    if (t->id == ST_TYPE_BINARY || t->id == ST_TYPE_FIXED) return append_hex(col, s, n);
    if (t->id == ST_TYPE_BOOL) return append_bool(col, s, n);
    if (t->id == ST_TYPE_DECIMAL) {
        __int128 v;
        const char *why;
        if (tbl_dec_parse(s, n, t->precision, t->scale, &v, &why)) return fail(col, s, n, why);
        uint8_t le[16];
        tbl_dec_store(v, le);
        return st_col_append_decimal128(col, le);
    }
    if (t->id >= ST_TYPE_INT8 && t->id <= ST_TYPE_UINT64) return append_int(col, s, n);

    /* The remaining parsers want a NUL-terminated string; legal values are short. */
    char z[128];
    if (n >= sizeof z || memchr(s, '\0', n)) return fail(col, s, n, NULL);
    memcpy(z, s, n);
    z[n] = '\0';
    switch (t->id) {
    case ST_TYPE_FLOAT:
    case ST_TYPE_DOUBLE: return append_float(col, s, n, z);
    case ST_TYPE_UUID: {
        uint8_t u[16];
        if (st_uuid_parse(z, u)) return fail(col, s, n, NULL);
        return st_col_append_bytes(col, u, 16);
    }
    case ST_TYPE_DATE: {
        int32_t d;
        if (st_parse_date(z, &d)) return fail(col, s, n, NULL);
        return st_col_append_i64(col, d);
    }
    case ST_TYPE_TIME: {
        int64_t v;
        if (!fraction_fits(z, (int)t->unit)) return fraction_fail(col, s, n);
        if (st_parse_time(z, (int)t->unit, &v)) return fail(col, s, n, NULL);
        /* "24:00" parses, but a time of day column holds [00:00, 24:00). */
        int64_t day = 86400;
        for (int k = 0; k < (int)t->unit; k++)
            day *= 10;
        if (v >= day) return fail(col, s, n, "out of range");
        return st_col_append_i64(col, v);
    }
    case ST_TYPE_TIMESTAMP: {
        int64_t v;
        if (!fraction_fits(z, (int)t->unit)) return fraction_fail(col, s, n);
        int rc = st_parse_timestamp(z, (int)t->unit, &v);
        if (rc) return fail(col, s, n, strstr(st_errmsg(), "out of range") ? "out of range" : NULL);
        return st_col_append_i64(col, v);
    }
    default: return fail(col, s, n, "unsupported type");
    }
}
