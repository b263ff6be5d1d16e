/*
 * strata core: status codes, the thread-local error message, growable buffers,
 * JSON helpers, time, UUIDs, SHA-256 and validation of user-supplied keys.
 *
 * Error convention (used by every layer): a fallible function returns int, 0 on
 * success or a negative ST_E* code, and delivers results through out-parameters.
 * When it fails it also records a human message naming the object and the cause,
 * which st_errmsg() returns until the next failure on the same thread.
 */
#ifndef STRATA_CORE_H
#define STRATA_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ST_VERSION_STRING "0.1.0"

/* Status codes. Zero is success; every failure is negative. */
enum {
    ST_OK = 0,
    ST_EINVAL = -1,       /* bad argument or bad user input (usage) */
    ST_ENOMEM = -2,       /* allocation failed or a size limit was hit */
    ST_EIO = -3,          /* operating system or network I/O failed */
    ST_ENOTFOUND = -4,    /* object, file, record or column does not exist */
    ST_EEXIST = -5,       /* object already exists and overwrite was not asked */
    ST_ECONFLICT = -6,    /* a concurrent writer won; state changed underneath */
    ST_EAUTH = -7,        /* credentials refused */
    ST_ECORRUPT = -8,     /* malformed file or data (Parquet, JSON, log) */
    ST_EUNSUPPORTED = -9, /* valid input using a feature strata does not implement */
    ST_EVALIDATION = -10, /* data violates its schema or a constraint */
    ST_ETYPE = -11        /* value cannot be converted to the requested type */
};

/* Short constant name of a status code ("ST_ECORRUPT"). */
const char *st_strerror(int code);

/* The message of the last failure on this thread ("" if none). */
const char *st_errmsg(void);

/* Records a printf-style message for `code` and returns `code`, so a failing
 * path can read `return st_error(ST_EINVAL, "%s: bad width", name);`. */
int st_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int st_verror(int code, const char *fmt, va_list ap);

/* Prefixes the current message with "<prefix>: " and returns `code`; used to add
 * the object's name (file, URL) as an error travels up. */
int st_error_prefix(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears the error slot. */
void st_error_clear(void);

/* CLI exit code for a status: 0 ok, 1 usage, 2 not found, 3 conflict,
 * 4 validation, 5 I/O (and corrupt data), 6 auth. */
int st_exit_code(int status);

/* Process-wide allocator policy for applications that scan large files: keeps
 * freed memory for reuse instead of returning it to the kernel after every
 * row group (glibc mallopt). Call once at start-up, before threads exist; the
 * strata CLI does. Not called by the library itself. */
void st_keep_freed_memory(void);

/* ---- buffers ------------------------------------------------------------- */

/* A growable byte buffer. Zero-initialise (ST_BUF_INIT) before use; free with
 * st_buf_free. `data` may be NULL while len == 0. */
typedef struct st_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} st_buf_t;

#define ST_BUF_INIT {NULL, 0, 0}

/* Ensures room for `extra` more bytes. ST_ENOMEM on failure. */
int st_buf_reserve(st_buf_t *b, size_t extra);
int st_buf_append(st_buf_t *b, const void *data, size_t n);
int st_buf_append_byte(st_buf_t *b, uint8_t byte);
int st_buf_append_str(st_buf_t *b, const char *s);
int st_buf_printf(st_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends `n` zero bytes. */
int st_buf_append_zeros(st_buf_t *b, size_t n);
/* Keeps the allocation, forgets the contents. */
void st_buf_reset(st_buf_t *b);
void st_buf_free(st_buf_t *b);
/* Hands the bytes to the caller (who frees them with free()) and resets b. */
uint8_t *st_buf_detach(st_buf_t *b, size_t *len);

/* Reads a whole local file into `out` (appended). ST_ENOTFOUND / ST_EIO. */
int st_read_file(const char *path, st_buf_t *out);

/* ---- hashing ------------------------------------------------------------- */

#define ST_SHA256_LEN 32
#define ST_SHA256_HEX_LEN 64

void st_sha256(const void *data, size_t n, uint8_t out[ST_SHA256_LEN]);
/* Writes 64 lowercase hex digits and a NUL. */
void st_sha256_hex(const void *data, size_t n, char out[ST_SHA256_HEX_LEN + 1]);
/* Lowercase hex of `n` bytes into `out` (2n + 1 bytes). */
void st_hex(const uint8_t *bytes, size_t n, char *out);

/* Incremental SHA-256 for streams. */
typedef struct st_sha256_ctx st_sha256_ctx_t;
int st_sha256_begin(st_sha256_ctx_t **ctx);
void st_sha256_update(st_sha256_ctx_t *ctx, const void *data, size_t n);
/* Finishes and frees ctx. */
void st_sha256_end(st_sha256_ctx_t *ctx, uint8_t out[ST_SHA256_LEN]);

/* ---- UUID ---------------------------------------------------------------- */

#define ST_UUID_STR_LEN 36

/* A random (version 4) UUID from the OS CSPRNG. */
int st_uuid_v4(uint8_t out[16]);
/* "8-4-4-4-12" lowercase, NUL-terminated (37 bytes). */
void st_uuid_format(const uint8_t uuid[16], char out[ST_UUID_STR_LEN + 1]);
/* Parses the canonical form (either case); ST_EINVAL if malformed. */
int st_uuid_parse(const char *s, uint8_t out[16]);

/* ---- time ---------------------------------------------------------------- */

/* Microseconds since the Unix epoch (UTC, wall clock). */
int64_t st_now_us(void);

/* Days since 1970-01-01 for a proleptic Gregorian date, and back. */
int64_t st_days_from_civil(int64_t y, unsigned m, unsigned d);
void st_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Formats a Unix-epoch instant given in units of 10^-digits s (digits 3, 6 or 9)
 * as "YYYY-MM-DDTHH:MM:SS.fff[fff[fff]]", adding "Z" when utc. Years outside
 * 0..9999 follow the canonical JSON rules of the Parquet corpus. Returns length. */
int st_format_timestamp(int64_t value, int digits, bool utc, char *out, size_t cap);
/* "YYYY-MM-DD" from days since epoch. */
int st_format_date(int64_t days, char *out, size_t cap);
/* "HH:MM:SS.fff..." from a time of day in units of 10^-digits s. */
int st_format_time(int64_t value, int digits, char *out, size_t cap);

/* Parses an ISO-8601 date-time ("2024-05-01", "2024-05-01T10:00:00",
 * "2024-05-01 10:00:00.123456+02:00", "...Z") into microseconds or nanoseconds
 * since the epoch, normalised to UTC (no offset means UTC). */
int st_parse_timestamp(const char *s, int digits, int64_t *out);
/* Parses "YYYY-MM-DD" into days since the epoch. */
int st_parse_date(const char *s, int32_t *out);
/* Parses "HH:MM[:SS[.frac]]" into units of 10^-digits s since midnight. */
int st_parse_time(const char *s, int digits, int64_t *out);

/* ---- text formatting ---------------------------------------------------- */

/* Appends s[0..n) as a JSON string literal, quoted and escaped exactly as
 * JavaScript's JSON.stringify does (\" \\ \b \f \n \r \t, other controls as
 * \u00xx, everything else raw). */
int st_json_append_string(st_buf_t *b, const char *s, size_t n);

/* Shortest decimal that reads back as the same double / float, laid out like
 * JavaScript's Number.prototype.toString ("1.1", "1e+21", "-0"). NaN and the
 * infinities give "NaN", "Infinity", "-Infinity". Returns the length. */
int st_format_double(double v, char out[32]);
int st_format_float(float v, char out[32]);

/* ---- keys ---------------------------------------------------------------- */

#define ST_KEY_MAX 1024

/* Validates a relative, '/'-separated key supplied by a user: non-empty, at most
 * ST_KEY_MAX bytes, no leading '/', no empty, "." or ".." segments, no NUL or
 * control characters, valid UTF-8. ST_EINVAL with a message naming the rule. */
int st_key_validate(const char *key);

/* True if s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
bool st_utf8_valid(const uint8_t *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif
