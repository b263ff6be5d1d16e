/* Exact 128-bit decimal arithmetic: DECIMAL(p,s) values are unscaled integers
 * of up to 38 digits, which never fit a double without rounding. */
#include "table_internal.h"

#include <stdio.h>
#include <string.h>

__int128 tbl_dec_load(const uint8_t le16[16]) {
    unsigned __int128 u = 0;
    for (int i = 15; i >= 0; i--)
        u = (u << 8) | le16[i];
    return (__int128)u;
}

void tbl_dec_store(__int128 v, uint8_t le16[16]) {
    unsigned __int128 u = (unsigned __int128)v;
    for (int i = 0; i < 16; i++) {
        le16[i] = (uint8_t)u;
        u >>= 8;
    }
}

unsigned __int128 tbl_pow10_128(int p) {
    unsigned __int128 v = 1;
    for (int i = 0; i < p; i++)
        v *= 10;
    return v;
}

static unsigned __int128 magnitude(__int128 v) {
    return v < 0 ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
}

bool tbl_dec_fits(__int128 v, int precision) { return magnitude(v) < tbl_pow10_128(precision); }

int tbl_dec_format(__int128 v, int scale, st_buf_t *out) {
    char digits[48];
    int n = 0;
    unsigned __int128 m = magnitude(v);
    do {
        digits[n++] = (char)('0' + (int)(m % 10));
        m /= 10;
    } while (m);
    /* At least one digit before the point. */
    while (n < scale + 1)
        digits[n++] = '0';
    char text[64];
    int o = 0;
    if (v < 0) text[o++] = '-';
    for (int i = n - 1; i >= 0; i--) {
        text[o++] = digits[i];
        if (i == scale && scale > 0) text[o++] = '.';
    }
    return st_buf_append(out, text, (size_t)o);
}

int tbl_dec_parse(const char *s, size_t n, int precision, int scale, __int128 *out,
                  const char **why) {
    size_t i = 0;
    bool neg = false;
    *why = NULL;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    /* Collect the significant digits with leading zeros dropped; `point` counts
     * the digits after the decimal point. */
    char dig[160];
    int nd = 0, frac = 0, seen = 0;
    bool in_frac = false;
    for (; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            seen++;
            if (in_frac) frac++;
            if (nd == 0 && c == '0') continue;
            if (nd >= (int)sizeof dig) goto too_long;
            dig[nd++] = c;
        } else if (c == '.' && !in_frac) {
            in_frac = true;
        } else {
            break;
        }
    }
    if (!seen) return ST_ETYPE;
    long exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        if (i >= n || s[i] < '0' || s[i] > '9') return ST_ETYPE;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (exp < 100000) exp = exp * 10 + (s[i] - '0');
        if (eneg) exp = -exp;
    }
    if (i != n) return ST_ETYPE;
    if (nd == 0) { /* zero in any spelling */
        *out = 0;
        return ST_OK;
    }
    /* value = digits x 10^(exp - frac); the unscaled value is digits x 10^shift. */
    long shift = exp - frac + scale;
    while (shift < 0 && nd > 0 && dig[nd - 1] == '0') { /* trailing zeros are not rounding */
        nd--;
        shift++;
    }
    if (shift < 0) {
        static _Thread_local char msg[48];
        if (scale == 0)
            snprintf(msg, sizeof msg, "no fraction digits allowed (scale 0)");
        else
            snprintf(msg, sizeof msg, "more than %d fraction digit%s", scale, scale > 1 ? "s" : "");
        *why = msg;
        return ST_ETYPE;
    }
    if (nd + shift > precision) goto too_long;
    unsigned __int128 m = 0;
    for (int k = 0; k < nd; k++)
        m = m * 10 + (unsigned)(dig[k] - '0');
    m *= tbl_pow10_128((int)shift);
    *out = neg ? -(__int128)m : (__int128)m;
    return ST_OK;
too_long:
    *why = "too many digits for the precision";
    return ST_ETYPE;
}
