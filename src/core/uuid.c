/* Random UUIDs (version 4) and their text form. */
#include "strata/core.h"

#include <ctype.h>
#include <openssl/rand.h>
#include <stdio.h>

int st_uuid_v4(uint8_t out[16]) {
    if (RAND_bytes(out, 16) != 1) return st_error(ST_EIO, "no randomness for a UUID");
    out[6] = (uint8_t)((out[6] & 0x0f) | 0x40);
    out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
    return ST_OK;
}

void st_uuid_format(const uint8_t u[16], char out[ST_UUID_STR_LEN + 1]) {
    char hex[33];
    st_hex(u, 16, hex);
    snprintf(out, ST_UUID_STR_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
             hex + 16, hex + 20);
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int st_uuid_parse(const char *s, uint8_t out[16]) {
    int n = 0;
    for (int i = 0; i < ST_UUID_STR_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return st_error(ST_EINVAL, "'%s' is not a UUID", s);
            continue;
        }
        int hi = hexval((unsigned char)s[i]);
        if (hi < 0) return st_error(ST_EINVAL, "'%s' is not a UUID", s);
        if (n % 2 == 0) out[n / 2] = (uint8_t)(hi << 4);
        else out[n / 2] |= (uint8_t)hi;
        n++;
    }
    if (s[ST_UUID_STR_LEN] != '\0') return st_error(ST_EINVAL, "'%s' is not a UUID", s);
    return ST_OK;
}
