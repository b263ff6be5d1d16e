/* Leaf values in the canonical JSON form of the Parquet corpus README: which
 * rendering a leaf gets from its annotations, and the rendering itself. */
#include "parquet/pq_decode.h"
#include "parquet/pq_output.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Wider decimals cost quadratic time to print; nothing real comes near. */
#define PQ_DECIMAL_MAX_BYTES 4096
#define PQ_DECIMAL_MAX_SCALE 10000

static bool is_bytes(int physical) {
    return physical == PQ_BYTE_ARRAY || physical == PQ_FIXED_LEN_BYTE_ARRAY;
}

static void physical_default(const pq_node_t *n, pq_vfmt_t *v) {
    switch (n->physical) {
    case PQ_BOOLEAN: v->kind = PQ_V_BOOL; break;
    case PQ_INT32: v->kind = PQ_V_I32; break;
    case PQ_INT64: v->kind = PQ_V_I64; break;
    case PQ_INT96: v->kind = PQ_V_INT96; break;
    case PQ_FLOAT: v->kind = PQ_V_FLOAT; break;
    case PQ_DOUBLE: v->kind = PQ_V_DOUBLE; break;
    default: v->kind = PQ_V_HEX; break;
    }
}

static bool set_time(pq_vfmt_t *v, int physical, pq_vkind_t kind, int unit, bool utc) {
    bool ok = kind == PQ_V_TIME ? (unit == PQ_MILLIS && physical == PQ_INT32) ||
                                      ((unit == PQ_MICROS || unit == PQ_NANOS) && physical == PQ_INT64)
                                : (unit == PQ_MILLIS || unit == PQ_MICROS || unit == PQ_NANOS) &&
                                      physical == PQ_INT64;
    if (!ok) return false;
    v->kind = kind;
    v->digits = unit;
    v->utc = utc;
    return true;
}

static bool set_decimal(pq_vfmt_t *v, int physical, int scale) {
    if (physical != PQ_INT32 && physical != PQ_INT64 && !is_bytes(physical)) return false;
    v->kind = PQ_V_DECIMAL;
    v->scale = scale;
    return true;
}

static bool set_int(pq_vfmt_t *v, int physical, bool is_signed) {
    if (physical == PQ_INT32) v->kind = is_signed ? PQ_V_I32 : PQ_V_U32;
    else if (physical == PQ_INT64) v->kind = is_signed ? PQ_V_I64 : PQ_V_U64;
    else return false;
    return true;
}

static bool from_logical(const pq_node_t *n, pq_vfmt_t *v) {
    const pq_logical_type_t *lt = &n->logical;
    switch (lt->id) {
    case PQ_LT_STRING:
    case PQ_LT_ENUM:
    case PQ_LT_JSON:
        if (!is_bytes(n->physical)) return false;
        v->kind = PQ_V_STRING;
        return true;
    case PQ_LT_DECIMAL: return set_decimal(v, n->physical, lt->scale);
    case PQ_LT_DATE:
        if (n->physical != PQ_INT32) return false;
        v->kind = PQ_V_DATE;
        return true;
    case PQ_LT_TIME: return set_time(v, n->physical, PQ_V_TIME, lt->unit, lt->utc);
    case PQ_LT_TIMESTAMP: return set_time(v, n->physical, PQ_V_TIMESTAMP, lt->unit, lt->utc);
    case PQ_LT_INTEGER: return set_int(v, n->physical, lt->is_signed);
    case PQ_LT_UUID:
        if (n->physical != PQ_FIXED_LEN_BYTE_ARRAY || n->type_length != 16) return false;
        v->kind = PQ_V_UUID;
        return true;
    case PQ_LT_FLOAT16:
        if (n->physical != PQ_FIXED_LEN_BYTE_ARRAY || n->type_length != 2) return false;
        v->kind = PQ_V_FLOAT16;
        return true;
    case PQ_LT_BSON:
    case PQ_LT_GEOMETRY:
    case PQ_LT_GEOGRAPHY:
    case PQ_LT_VARIANT:
    case PQ_LT_UNKNOWN:
        /* Known annotations whose canonical form is the physical one. */
        physical_default(n, v);
        return true;
    default: return false; /* unknown id: let the converted type speak */
    }
}

static bool from_converted(const pq_node_t *n, pq_vfmt_t *v) {
    switch (n->converted) {
    case PQ_CT_UTF8:
    case PQ_CT_ENUM:
    case PQ_CT_JSON:
        if (!is_bytes(n->physical)) return false;
        v->kind = PQ_V_STRING;
        return true;
    case PQ_CT_DECIMAL: return set_decimal(v, n->physical, n->scale < 0 ? 0 : n->scale);
    case PQ_CT_DATE:
        if (n->physical != PQ_INT32) return false;
        v->kind = PQ_V_DATE;
        return true;
    case PQ_CT_TIME_MILLIS: return set_time(v, n->physical, PQ_V_TIME, PQ_MILLIS, true);
    case PQ_CT_TIME_MICROS: return set_time(v, n->physical, PQ_V_TIME, PQ_MICROS, true);
    case PQ_CT_TIMESTAMP_MILLIS:
        return set_time(v, n->physical, PQ_V_TIMESTAMP, PQ_MILLIS, true);
    case PQ_CT_TIMESTAMP_MICROS:
        return set_time(v, n->physical, PQ_V_TIMESTAMP, PQ_MICROS, true);
    case PQ_CT_UINT_8:
    case PQ_CT_UINT_16:
    case PQ_CT_UINT_32:
    case PQ_CT_UINT_64: return set_int(v, n->physical, false);
    case PQ_CT_INT_8:
    case PQ_CT_INT_16:
    case PQ_CT_INT_32:
    case PQ_CT_INT_64: return set_int(v, n->physical, true);
    default: return false;
    }
}

void pq_vfmt_for_node(const pq_node_t *n, pq_vfmt_t *out) {
    memset(out, 0, sizeof *out);
    out->physical = n->physical;
    out->width = pq_physical_width(n->physical, n->type_length);
    if (n->has_logical && from_logical(n, out)) return;
    if (from_converted(n, out)) return;
    physical_default(n, out);
}

/* ---- helpers ---- */

float pq_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ffu;
    float f;
    if (exp == 0) {
        /* Zero or subnormal: mant x 2^-24 is exact in float32. */
        f = ldexpf((float)mant, -24);
        return sign ? -f : f;
    }
    uint32_t bits = exp == 31 ? sign | 0x7f800000u | (mant << 13)
                              : sign | ((exp - 15 + 127) << 23) | (mant << 13);
    memcpy(&f, &bits, sizeof f);
    return f;
}

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static int append_u64(st_buf_t *out, uint64_t v, bool neg) {
    char tmp[24];
    int i = (int)sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (neg) tmp[--i] = '-';
    return st_buf_append(out, tmp + i, sizeof tmp - (size_t)i);
}

static int append_i64(st_buf_t *out, int64_t v) {
    /* Negate in unsigned arithmetic so INT64_MIN is exact. */
    return v < 0 ? append_u64(out, 0 - (uint64_t)v, true) : append_u64(out, (uint64_t)v, false);
}

static int append_hex(st_buf_t *out, const uint8_t *p, size_t n) {
    static const char hex[] = "0123456789abcdef";
    int rc = st_buf_reserve(out, 2 * n + 2);
    if (rc) return rc;
    uint8_t *d = out->data + out->len;
    *d++ = '"';
    for (size_t i = 0; i < n; i++) {
        *d++ = (uint8_t)hex[p[i] >> 4];
        *d++ = (uint8_t)hex[p[i] & 15];
    }
    *d++ = '"';
    out->len += 2 * n + 2;
    return 0;
}

/* Numbers whose text is a word (NaN, Infinity) become JSON strings. */
static int append_number_text(st_buf_t *out, const char *s, int n) {
    bool word = s[0] == 'N' || s[0] == 'I' || (s[0] == '-' && s[1] == 'I');
    if (!word) return st_buf_append(out, s, (size_t)n);
    int rc = st_buf_append_byte(out, '"');
    if (!rc) rc = st_buf_append(out, s, (size_t)n);
    if (!rc) rc = st_buf_append_byte(out, '"');
    return rc;
}

static int append_quoted(st_buf_t *out, const char *s, int n) {
    if (n < 0) return st_error(ST_EINVAL, "value could not be formatted");
    int rc = st_buf_reserve(out, (size_t)n + 2);
    if (rc) return rc;
    out->data[out->len++] = '"';
    memcpy(out->data + out->len, s, (size_t)n);
    out->len += (size_t)n;
    out->data[out->len++] = '"';
    return 0;
}

/* Digits of an unsigned magnitude held as big-endian base-2^32 limbs (destroyed). */
static int limbs_to_digits(uint32_t *limb, size_t nl, st_buf_t *digits) {
    size_t start = 0;
    char chunk[9];
    st_buf_reset(digits);
    for (;;) {
        while (start < nl && limb[start] == 0) start++;
        if (start == nl) break;
        uint64_t rem = 0;
        for (size_t i = start; i < nl; i++) {
            uint64_t cur = rem << 32 | limb[i];
            limb[i] = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        /* Chunks come least significant first; reversed once at the end. */
        for (int k = 0; k < 9; k++) {
            chunk[k] = (char)('0' + rem % 10);
            rem /= 10;
        }
        int rc = st_buf_append(digits, chunk, 9);
        if (rc) return rc;
    }
    while (digits->len > 1 && digits->data[digits->len - 1] == '0') digits->len--;
    if (digits->len == 0) return st_buf_append_byte(digits, '0');
    for (size_t i = 0, j = digits->len - 1; i < j; i++, j--) {
        uint8_t t = digits->data[i];
        digits->data[i] = digits->data[j];
        digits->data[j] = t;
    }
    return 0;
}

static int place_point(st_buf_t *out, bool neg, const char *d, size_t nd, int scale) {
    size_t s = (size_t)scale;
    size_t need = nd + s + 3;
    int rc = st_buf_reserve(out, need);
    if (rc) return rc;
    if (neg) out->data[out->len++] = '-';
    if (s == 0) return st_buf_append(out, d, nd);
    if (nd <= s) {
        st_buf_append(out, "0.", 2);
        for (size_t i = nd; i < s; i++) out->data[out->len++] = '0';
        return st_buf_append(out, d, nd);
    }
    st_buf_append(out, d, nd - s);
    st_buf_append_byte(out, '.');
    return st_buf_append(out, d + nd - s, s);
}

int pq_decimal_append(st_buf_t *out, const uint8_t *be, size_t n, int scale) {
    if (scale < 0 || scale > PQ_DECIMAL_MAX_SCALE)
        return st_error(ST_ECORRUPT, "decimal scale %d out of range", scale);
    bool neg = n > 0 && (be[0] & 0x80);
    /* Sign-extension bytes carry no digits. */
    uint8_t pad = neg ? 0xff : 0x00;
    while (n > 1 && be[0] == pad && ((be[1] & 0x80) != 0) == neg) {
        be++;
        n--;
    }
    if (n <= 8) {
        uint64_t u = neg ? ~(uint64_t)0 : 0;
        for (size_t i = 0; i < n; i++) u = u << 8 | be[i];
        uint64_t mag = neg ? 0 - u : u;
        char tmp[24];
        int i = (int)sizeof tmp;
        do {
            tmp[--i] = (char)('0' + mag % 10);
            mag /= 10;
        } while (mag);
        return place_point(out, neg, tmp + i, sizeof tmp - (size_t)i, scale);
    }
    if (n > PQ_DECIMAL_MAX_BYTES)
        return st_error(ST_EUNSUPPORTED, "decimal value of %zu bytes is too wide", n);
    size_t nl = (n + 3) / 4;
    uint32_t *limb = calloc(nl, sizeof *limb);
    if (!limb) return st_error(ST_ENOMEM, "out of memory");
    /* Right-align the bytes into limbs, then negate for the magnitude. */
    size_t lead = nl * 4 - n;
    for (size_t i = 0; i < nl * 4; i++) {
        uint8_t byte = i < lead ? pad : be[i - lead];
        limb[i / 4] |= (uint32_t)byte << (8 * (3 - i % 4));
    }
    if (neg) {
        uint64_t carry = 1;
        for (size_t i = nl; i-- > 0;) {
            uint64_t v = (uint64_t)(uint32_t)~limb[i] + carry;
            limb[i] = (uint32_t)v;
            carry = v >> 32;
        }
    }
    st_buf_t digits = ST_BUF_INIT;
    int rc = limbs_to_digits(limb, nl, &digits);
    if (!rc) rc = place_point(out, neg, (const char *)digits.data, digits.len, scale);
    st_buf_free(&digits);
    free(limb);
    return rc;
}

static int decimal_quoted(st_buf_t *out, const uint8_t *be, size_t n, int scale) {
    int rc = st_buf_append_byte(out, '"');
    if (!rc) rc = pq_decimal_append(out, be, n, scale);
    if (!rc) rc = st_buf_append_byte(out, '"');
    return rc;
}

static int decimal_i64(st_buf_t *out, int64_t v, int scale) {
    uint8_t be[8];
    for (int i = 0; i < 8; i++) be[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
    return decimal_quoted(out, be, 8, scale);
}

static int append_int96(st_buf_t *out, const uint8_t *p) {
    const int64_t day_ns = INT64_C(86400000000000);
    int64_t nanos = (int64_t)rd64(p);
    int64_t days = (int64_t)(int32_t)rd32(p + 8) - 2440588;
    /* Fold whole days out of the nanoseconds so nothing overflows. */
    int64_t extra = nanos / day_ns, tod = nanos % day_ns;
    if (tod < 0) {
        tod += day_ns;
        extra--;
    }
    days += extra;
    char tmp[64];
    int n = st_format_date(days, tmp, sizeof tmp - 32);
    if (n < 0) return st_error(ST_EINVAL, "INT96 value could not be formatted");
    tmp[n++] = 'T';
    int m = st_format_time(tod, 9, tmp + n, sizeof tmp - (size_t)n);
    return append_quoted(out, tmp, m < 0 ? m : n + m);
}

int pq_json_value(st_buf_t *out, const pq_vfmt_t *fmt, const pq_column_data_t *c, int64_t vi) {
    const uint8_t *p = NULL;
    size_t n = 0;
    if (fmt->physical == PQ_BYTE_ARRAY) {
        p = c->values.data + c->offsets[vi];
        n = c->offsets[vi + 1] - c->offsets[vi];
    } else {
        n = (size_t)fmt->width;
        p = c->values.data + (size_t)vi * n;
    }
    char tmp[64];
    int len;
    switch (fmt->kind) {
    case PQ_V_BOOL: return p[0] ? st_buf_append(out, "true", 4) : st_buf_append(out, "false", 5);
    case PQ_V_I32: return append_i64(out, (int32_t)rd32(p));
    case PQ_V_U32: return append_u64(out, rd32(p), false);
    case PQ_V_I64: return append_i64(out, (int64_t)rd64(p));
    case PQ_V_U64: return append_u64(out, rd64(p), false);
    case PQ_V_FLOAT: {
        uint32_t bits = rd32(p);
        float f;
        memcpy(&f, &bits, sizeof f);
        len = st_format_float(f, tmp);
        return append_number_text(out, tmp, len);
    }
    case PQ_V_DOUBLE: {
        uint64_t bits = rd64(p);
        double d;
        memcpy(&d, &bits, sizeof d);
        len = st_format_double(d, tmp);
        return append_number_text(out, tmp, len);
    }
    case PQ_V_FLOAT16:
        len = st_format_float(pq_half_to_float((uint16_t)(p[0] | p[1] << 8)), tmp);
        return append_number_text(out, tmp, len);
    case PQ_V_STRING:
        if (!st_utf8_valid(p, n)) return st_error(ST_ECORRUPT, "string value is not valid UTF-8");
        return st_json_append_string(out, (const char *)p, n);
    case PQ_V_HEX: return append_hex(out, p, n);
    case PQ_V_UUID: {
        char u[ST_UUID_STR_LEN + 1];
        st_uuid_format(p, u);
        return append_quoted(out, u, ST_UUID_STR_LEN);
    }
    case PQ_V_DECIMAL:
        if (fmt->physical == PQ_INT32) return decimal_i64(out, (int32_t)rd32(p), fmt->scale);
        if (fmt->physical == PQ_INT64) return decimal_i64(out, (int64_t)rd64(p), fmt->scale);
        return decimal_quoted(out, p, n, fmt->scale);
    case PQ_V_DATE:
        len = st_format_date((int32_t)rd32(p), tmp, sizeof tmp);
        return append_quoted(out, tmp, len);
    case PQ_V_TIME: {
        int64_t v = fmt->physical == PQ_INT32 ? (int32_t)rd32(p) : (int64_t)rd64(p);
        len = st_format_time(v, fmt->digits, tmp, sizeof tmp - 1);
        if (len >= 0 && fmt->utc) tmp[len++] = 'Z';
        return append_quoted(out, tmp, len);
    }
    case PQ_V_TIMESTAMP:
        len = st_format_timestamp((int64_t)rd64(p), fmt->digits, fmt->utc, tmp, sizeof tmp);
        return append_quoted(out, tmp, len);
    case PQ_V_INT96: return append_int96(out, p);
    }
    return st_error(ST_EINVAL, "unknown value kind %d", (int)fmt->kind);
}
