/* Calendar arithmetic (proleptic Gregorian, after H. Hinnant's algorithms),
 * formatting in the canonical JSON form, and ISO-8601 parsing. */
#include "strata/core.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t st_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

int64_t st_days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void st_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = floor_div(z, 146097);
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int format_year(int64_t y, char *out, size_t cap) {
    if (y < 0) return snprintf(out, cap, "-%04lld", (long long)-y);
    return snprintf(out, cap, "%04lld", (long long)y);
}

int st_format_date(int64_t days, char *out, size_t cap) {
    int64_t y;
    unsigned m, d;
    st_civil_from_days(days, &y, &m, &d);
    int n = format_year(y, out, cap);
    if (n < 0 || (size_t)n >= cap) return n;
    return n + snprintf(out + n, cap - (size_t)n, "-%02u-%02u", m, d);
}

static int64_t pow10i(int digits) {
    int64_t p = 1;
    while (digits-- > 0) p *= 10;
    return p;
}

static int format_tod(int64_t tod, int digits, char *out, size_t cap) {
    int64_t unit = pow10i(digits);
    int64_t secs = tod / unit, frac = tod % unit;
    return snprintf(out, cap, "%02lld:%02lld:%02lld.%0*lld", (long long)(secs / 3600),
                    (long long)(secs / 60 % 60), (long long)(secs % 60), digits, (long long)frac);
}

int st_format_time(int64_t value, int digits, char *out, size_t cap) {
    /* Times of day are normally in [0, 24h); anything else wraps like a timestamp. */
    int64_t day = pow10i(digits) * 86400;
    int64_t tod = value - floor_div(value, day) * day;
    return format_tod(tod, digits, out, cap);
}

int st_format_timestamp(int64_t value, int digits, bool utc, char *out, size_t cap) {
    int64_t day = pow10i(digits) * 86400;
    int64_t days = floor_div(value, day);
    int64_t tod = value - days * day;
    int n = st_format_date(days, out, cap);
    if (n < 0 || (size_t)n + 2 >= cap) return n;
    out[n++] = 'T';
    n += format_tod(tod, digits, out + n, cap - (size_t)n);
    if (utc && (size_t)n + 1 < cap) {
        out[n++] = 'Z';
        out[n] = '\0';
    }
    return n;
}

/* ---- parsing ---- */

static bool read_digits(const char **p, int count, int64_t *out) {
    int64_t v = 0;
    for (int i = 0; i < count; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += count;
    *out = v;
    return true;
}

static bool parse_date_part(const char **p, int64_t *days) {
    int64_t y, m, d;
    const char *s = *p;
    bool neg = false;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    int ny = 0;
    while (isdigit((unsigned char)s[ny])) ny++;
    if (ny < 4 || ny > 6) return false;
    if (!read_digits(&s, ny, &y) || *s++ != '-' || !read_digits(&s, 2, &m) || *s++ != '-' ||
        !read_digits(&s, 2, &d))
        return false;
    if (neg) y = -y;
    if (m < 1 || m > 12 || d < 1) return false;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (d > mdays[m - 1]) return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap) return false;
    *days = st_days_from_civil(y, (unsigned)m, (unsigned)d);
    *p = s;
    return true;
}

/* HH:MM[:SS[.frac]] into units of 10^-digits. */
static bool parse_time_part(const char **p, int digits, int64_t *out) {
    int64_t h, mi, sec = 0, frac = 0;
    const char *s = *p;
    if (!read_digits(&s, 2, &h) || *s++ != ':' || !read_digits(&s, 2, &mi)) return false;
    if (*s == ':') {
        s++;
        if (!read_digits(&s, 2, &sec)) return false;
        if (*s == '.' || *s == ',') {
            s++;
            int n = 0;
            while (isdigit((unsigned char)*s)) {
                if (n < digits) frac = frac * 10 + (*s - '0');
                n++;
                s++;
            }
            if (n == 0) return false;
            for (; n < digits; n++) frac *= 10;
        }
    }
    if (h > 24 || mi > 59 || sec > 60 || (h == 24 && (mi || sec || frac))) return false;
    *out = ((h * 60 + mi) * 60 + sec) * pow10i(digits) + frac;
    *p = s;
    return true;
}

int st_parse_date(const char *s, int32_t *out) {
    int64_t days;
    const char *p = s;
    if (!parse_date_part(&p, &days) || *p) return st_error(ST_ETYPE, "'%s' is not a date (YYYY-MM-DD)", s);
    if (days < INT32_MIN || days > INT32_MAX) return st_error(ST_ETYPE, "'%s': date out of range", s);
    *out = (int32_t)days;
    return ST_OK;
}

int st_parse_time(const char *s, int digits, int64_t *out) {
    const char *p = s;
    if (!parse_time_part(&p, digits, out) || *p)
        return st_error(ST_ETYPE, "'%s' is not a time (HH:MM[:SS[.fff]])", s);
    return ST_OK;
}

int st_parse_timestamp(const char *s, int digits, int64_t *out) {
    const char *p = s;
    int64_t days, tod = 0, offset_min = 0;
    if (!parse_date_part(&p, &days)) goto bad;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!parse_time_part(&p, digits, &tod)) goto bad;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1;
            int64_t oh, om = 0;
            if (!read_digits(&p, 2, &oh)) goto bad;
            if (*p == ':') p++;
            if (isdigit((unsigned char)*p) && !read_digits(&p, 2, &om)) goto bad;
            if (oh > 23 || om > 59) goto bad;
            offset_min = sign * (oh * 60 + om);
        }
    }
    if (*p) goto bad;
    int64_t unit = pow10i(digits);
    /* Range: about +/- 292 years around 1970 for nanoseconds, far more otherwise. */
    int64_t limit_days = INT64_MAX / (86400 * unit) - 1;
    if (days > limit_days || days < -limit_days)
        return st_error(ST_ETYPE, "'%s': timestamp out of range", s);
    *out = days * 86400 * unit + tod - offset_min * 60 * unit;
    return ST_OK;
bad:
    return st_error(ST_ETYPE, "'%s' is not an ISO-8601 timestamp", s);
}
