/* The one place where user-supplied keys and names are checked. */
#include "strata/core.h"

#include <string.h>

bool st_utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if ((c & 0xe0) == 0xc0) len = 2, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0) len = 3, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0) len = 4, cp = c & 0x07;
        else return false;
        if (n - i < len) return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

int st_key_validate(const char *key) {
    if (!key || !*key) return st_error(ST_EINVAL, "empty key");
    size_t n = strlen(key);
    if (n > ST_KEY_MAX)
        return st_error(ST_EINVAL, "key too long (%zu bytes, at most %d)", n, ST_KEY_MAX);
    if (key[0] == '/') return st_error(ST_EINVAL, "'%s': absolute keys are not allowed", key);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x20 || c == 0x7f)
            return st_error(ST_EINVAL, "key contains control character 0x%02x at byte %zu", c, i);
        if (c == '\\')
            return st_error(ST_EINVAL, "'%s': backslashes are not allowed in keys", key);
    }
    if (!st_utf8_valid((const uint8_t *)key, n))
        return st_error(ST_EINVAL, "key is not valid UTF-8");
    const char *seg = key;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        if (len == 0) return st_error(ST_EINVAL, "'%s': empty path segment", key);
        if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return st_error(ST_EINVAL, "'%s': '.' and '..' segments are not allowed", key);
        if (!slash) break;
        seg = slash + 1;
    }
    return ST_OK;
}
