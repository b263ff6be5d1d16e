/* Text forms shared by every output: JSON strings escaped as JSON.stringify
 * does, and shortest round-trip numbers laid out as JavaScript prints them. */
#include "strata/core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int st_json_append_string(st_buf_t *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    int rc = st_buf_reserve(b, n + 2);
    if (rc) return rc;
    b->data[b->len++] = '"';
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        if ((rc = st_buf_append(b, s + start, i - start))) return rc;
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            len = 6;
        }
        if ((rc = st_buf_append(b, esc, len))) return rc;
        start = i + 1;
    }
    if ((rc = st_buf_append(b, s + start, n - start))) return rc;
    return st_buf_append_byte(b, '"');
}

/* Lays out digits d[0..k) with decimal exponent n (value = 0.d1..dk x 10^n). */
static int layout(bool neg, const char *d, int k, int n, char out[32]) {
    int o = 0;
    if (neg) out[o++] = '-';
    if (k <= n && n <= 21) {
        memcpy(out + o, d, (size_t)k);
        o += k;
        for (int i = 0; i < n - k; i++) out[o++] = '0';
    } else if (0 < n && n <= 21) {
        memcpy(out + o, d, (size_t)n);
        o += n;
        out[o++] = '.';
        memcpy(out + o, d + n, (size_t)(k - n));
        o += k - n;
    } else if (-6 < n && n <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -n; i++) out[o++] = '0';
        memcpy(out + o, d, (size_t)k);
        o += k;
    } else {
        out[o++] = d[0];
        if (k > 1) {
            out[o++] = '.';
            memcpy(out + o, d + 1, (size_t)(k - 1));
            o += k - 1;
        }
        o += snprintf(out + o, 32 - (size_t)o, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
    }
    out[o] = '\0';
    return o;
}

static int special(double v, char out[32]) {
    const char *s = isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
    strcpy(out, s);
    return (int)strlen(s);
}

/* Shortest p whose %.{p-1}e reading gives back the value; is_float selects float32. */
static int shortest(double v, bool is_float, char out[32]) {
    if (isnan(v) || isinf(v)) return special(v, out);
    if (v == 0) {
        if (signbit(v)) return (strcpy(out, "-0"), 2);
        return (strcpy(out, "0"), 1);
    }
    bool neg = v < 0;
    double a = fabs(v);
    char buf[40];
    int maxp = is_float ? 9 : 17;
    for (int p = 1; p <= maxp; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, a);
        bool same = is_float ? strtof(buf, NULL) == (float)a : strtod(buf, NULL) == a;
        if (same || p == maxp) break;
    }
    /* buf = "d.ddddde[+-]XX" */
    char digits[24];
    int k = 0;
    char *e = strchr(buf, 'e');
    for (char *c = buf; c < e; c++)
        if (*c != '.') digits[k++] = *c;
    while (k > 1 && digits[k - 1] == '0') k--;
    int exp10 = atoi(e + 1);
    return layout(neg, digits, k, exp10 + 1, out);
}

int st_format_double(double v, char out[32]) { return shortest(v, false, out); }
int st_format_float(float v, char out[32]) { return shortest((double)v, true, out); }
