/* S3 credentials from the environment or a shared credentials file profile. */
#include "store/s3_creds.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CREDS_FILE_MAX (1u << 20)

void s3_creds_free(s3_creds_t *c) {
    if (!c) return;
    if (c->secret_key) {
        /* Keep the secret out of freed heap memory. */
        volatile char *p = c->secret_key;
        while (*p)
            *p++ = 0;
    }
    free(c->access_key);
    free(c->secret_key);
    free(c->session_token);
    free(c->source);
    memset(c, 0, sizeof *c);
}

/* Credentials travel in HTTP headers: printable ASCII only, so a stray newline
 * in a file cannot inject a header. */
static bool printable(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) return false;
    return true;
}

static char *dup_range(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void trim(const char **s, const char **e) {
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
        (*e)--;
}

static bool eq_range(const char *s, const char *e, const char *lit) {
    size_t n = strlen(lit);
    return (size_t)(e - s) == n && memcmp(s, lit, n) == 0;
}

static int set_field(char **field, const char *s, const char *e) {
    char *v = dup_range(s, (size_t)(e - s));
    if (!v) return st_error(ST_ENOMEM, "out of memory");
    if (*field) {
        volatile char *p = *field;
        while (*p)
            *p++ = 0;
    }
    free(*field);
    *field = v;
    return ST_OK;
}

int s3_creds_parse(const char *text, size_t n, const char *profile, const char *origin,
                   s3_creds_t *out) {
    memset(out, 0, sizeof *out);
    bool in_profile = false, found = false;
    const char *p = text, *end = text + n;
    int rc = ST_OK;
    while (p < end && !rc) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *s = p, *e = le;
        p = nl ? nl + 1 : end;
        /* An indented line continues the previous value (nested settings of
         * the config format); nothing strata reads lives there. */
        bool indented = s < e && (*s == ' ' || *s == '\t');
        trim(&s, &e);
        if (s == e || *s == '#' || *s == ';' || indented) continue;
        if (*s == '[') {
            const char *close = memchr(s, ']', (size_t)(e - s));
            if (!close) {
                in_profile = false;
                continue;
            }
            const char *ns = s + 1, *ne = close;
            trim(&ns, &ne);
            in_profile = eq_range(ns, ne, profile);
            found |= in_profile;
            continue;
        }
        if (!in_profile) continue;
        const char *eqp = memchr(s, '=', (size_t)(e - s));
        if (!eqp) continue;
        const char *ks = s, *ke = eqp, *vs = eqp + 1, *ve = e;
        trim(&ks, &ke);
        trim(&vs, &ve);
        if (eq_range(ks, ke, "aws_access_key_id"))
            rc = set_field(&out->access_key, vs, ve);
        else if (eq_range(ks, ke, "aws_secret_access_key"))
            rc = set_field(&out->secret_key, vs, ve);
        else if (eq_range(ks, ke, "aws_session_token") || eq_range(ks, ke, "aws_security_token"))
            rc = set_field(&out->session_token, vs, ve);
    }
    if (rc) {
        s3_creds_free(out);
        return rc;
    }
    if (!found) {
        s3_creds_free(out);
        return st_error(ST_ENOTFOUND, "profile '%s' not found in %s", profile, origin);
    }
    if (!out->access_key || !out->secret_key || !*out->access_key || !*out->secret_key) {
        s3_creds_free(out);
        return st_error(ST_EAUTH,
                        "profile '%s' in %s lacks aws_access_key_id or aws_secret_access_key",
                        profile, origin);
    }
    if (!printable(out->access_key) || !printable(out->secret_key) ||
        (out->session_token && !printable(out->session_token))) {
        s3_creds_free(out);
        return st_error(ST_EAUTH, "profile '%s' in %s holds a malformed key", profile, origin);
    }
    if (out->session_token && !*out->session_token) {
        free(out->session_token);
        out->session_token = NULL;
    }
    size_t need = strlen(profile) + strlen(origin) + 16;
    out->source = malloc(need);
    if (!out->source) {
        s3_creds_free(out);
        return st_error(ST_ENOMEM, "out of memory");
    }
    snprintf(out->source, need, "profile %s of %s", profile, origin);
    return ST_OK;
}

/* The credentials file path: AWS_SHARED_CREDENTIALS_FILE, else
 * ~/.aws/credentials (malloc'd). */
static char *creds_path(void) {
    const char *env = getenv("AWS_SHARED_CREDENTIALS_FILE");
    if (env && *env) {
        if (env[0] == '~' && env[1] == '/') {
            const char *home = getenv("HOME");
            if (home && *home) {
                size_t n = strlen(home) + strlen(env);
                char *p = malloc(n + 1);
                if (p) snprintf(p, n + 1, "%s%s", home, env + 1);
                return p;
            }
        }
        return strdup(env);
    }
    const char *home = getenv("HOME");
    char pwbuf[4096];
    struct passwd pw, *res = NULL;
    if ((!home || !*home) && getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &res) == 0 && res)
        home = res->pw_dir;
    if (!home || !*home) return NULL;
    size_t n = strlen(home) + sizeof "/.aws/credentials";
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/.aws/credentials", home);
    return p;
}

static int load_profile(const char *profile, s3_creds_t *out, bool explicit_profile) {
    char *path = creds_path();
    if (!path)
        return st_error(ST_EAUTH,
                        "no S3 credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set "
                        "and there is no home directory for ~/.aws/credentials");
    st_buf_t text = ST_BUF_INIT;
    int rc = st_read_file(path, &text);
    if (rc == ST_ENOTFOUND) {
        if (explicit_profile)
            rc = st_error(ST_EAUTH,
                          "no S3 credentials: profile '%s' was asked for but %s does not exist",
                          profile, path);
        else
            rc = st_error(ST_EAUTH,
                          "no S3 credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not "
                          "set and %s does not exist",
                          path);
    } else if (rc) {
        rc = st_error_prefix(ST_EAUTH, "cannot read S3 credentials %s", path);
    } else if (text.len > CREDS_FILE_MAX) {
        rc = st_error(ST_EAUTH, "S3 credentials file %s is too large", path);
    } else {
        rc = s3_creds_parse(text.data ? (const char *)text.data : "", text.len, profile, path, out);
        if (rc == ST_ENOTFOUND)
            rc = st_error_prefix(ST_EAUTH, "no S3 credentials%s",
                                 explicit_profile ? ""
                                                  : " (AWS_ACCESS_KEY_ID and "
                                                    "AWS_SECRET_ACCESS_KEY are not set)");
    }
    if (text.data) memset(text.data, 0, text.len);
    st_buf_free(&text);
    free(path);
    return rc;
}

int s3_creds_load(const char *url_profile, s3_creds_t *out) {
    memset(out, 0, sizeof *out);
    if (url_profile && *url_profile) return load_profile(url_profile, out, true);
    const char *ak = getenv("AWS_ACCESS_KEY_ID");
    const char *sk = getenv("AWS_SECRET_ACCESS_KEY");
    if (ak && *ak && sk && *sk) {
        const char *tok = getenv("AWS_SESSION_TOKEN");
        if (!printable(ak) || !printable(sk) || (tok && *tok && !printable(tok)))
            return st_error(ST_EAUTH, "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / "
                                      "AWS_SESSION_TOKEN hold characters a key cannot have");
        out->access_key = strdup(ak);
        out->secret_key = strdup(sk);
        out->session_token = tok && *tok ? strdup(tok) : NULL;
        out->source = strdup("environment");
        if (!out->access_key || !out->secret_key || !out->source ||
            (tok && *tok && !out->session_token)) {
            s3_creds_free(out);
            return st_error(ST_ENOMEM, "out of memory");
        }
        return ST_OK;
    }
    const char *profile = getenv("AWS_PROFILE");
    if (!profile || !*profile) profile = "default";
    return load_profile(profile, out, false);
}

char *s3_region_resolve(const char *url_region) {
    const char *r = url_region;
    if (!r || !*r) r = getenv("AWS_REGION");
    if (!r || !*r) r = getenv("AWS_DEFAULT_REGION");
    if (!r || !*r) r = "us-east-1";
    return strdup(r);
}
