/* The thread-local error slot and status-code names. */
#include "strata/core.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char err_msg[1024];

const char *st_strerror(int code) {
    switch (code) {
    case ST_OK: return "ST_OK";
    case ST_EINVAL: return "ST_EINVAL";
    case ST_ENOMEM: return "ST_ENOMEM";
    case ST_EIO: return "ST_EIO";
    case ST_ENOTFOUND: return "ST_ENOTFOUND";
    case ST_EEXIST: return "ST_EEXIST";
    case ST_ECONFLICT: return "ST_ECONFLICT";
    case ST_EAUTH: return "ST_EAUTH";
    case ST_ECORRUPT: return "ST_ECORRUPT";
    case ST_EUNSUPPORTED: return "ST_EUNSUPPORTED";
    case ST_EVALIDATION: return "ST_EVALIDATION";
    case ST_ETYPE: return "ST_ETYPE";
    default: return "ST_E?";
    }
}

const char *st_errmsg(void) { return err_msg; }

void st_error_clear(void) { err_msg[0] = '\0'; }

int st_verror(int code, const char *fmt, va_list ap) {
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    return code;
}

int st_error(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    st_verror(code, fmt, ap);
    va_end(ap);
    return code;
}

int st_error_prefix(int code, const char *fmt, ...) {
    char prefix[512];
    char old[sizeof err_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err_msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof err_msg - 3) n = sizeof err_msg - 3;
    memcpy(err_msg, prefix, n);
    memcpy(err_msg + n, ": ", 2);
    size_t rest = sizeof err_msg - n - 3;
    size_t m = strnlen(old, rest);
    memcpy(err_msg + n + 2, old, m);
    err_msg[n + 2 + m] = '\0';
    return code;
}

int st_exit_code(int status) {
    switch (status) {
    case ST_OK: return 0;
    case ST_EINVAL: return 1;
    case ST_ENOTFOUND: return 2;
    case ST_EEXIST:
    case ST_ECONFLICT: return 3;
    case ST_EVALIDATION:
    case ST_ETYPE: return 4;
    case ST_EAUTH: return 6;
    default: return 5;
    }
}
