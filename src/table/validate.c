/* Validation: every constraint of a schema checked over batches, column by
 * column in tight loops (the type is dispatched once per column, never per
 * cell), with violations kept in row order up to a limit while counting goes
 * on. Unique and primary-key checks remember 64-bit fingerprints of the values
 * seen, never the values, so memory grows by 8 bytes per distinct key and not
 * with the width of the data. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "strata/schema.h"
#include "table_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_MAX 60          /* characters of a value shown in messages */
#define PATTERN_SHOW_MAX 120 /* bytes of a pattern shown in messages */
#define ENUM_SHOW_MAX 12     /* enum values listed in messages */
#define PATTERN_MATCH_LIMIT 1000000
#define ENUM_LINEAR_MAX 8 /* up to this many enum values a scan beats hashing */

/* Rules in the order a row's violations are listed for one column. */
enum rule {
    R_TYPE,
    R_NULLABLE,
    R_PK_NULL,
    R_MIN,
    R_MAX,
    R_MIN_LENGTH,
    R_MAX_LENGTH,
    R_PATTERN,
    R_ENUM,
    R_UNIQUE,
    R_PK_DUP
};
static const char *const rule_names[] = {"type", "nullable",   "primary_key", "min",
                                         "max",  "min_length", "max_length",  "pattern",
                                         "enum", "unique",     "primary_key"};

/* ---- fingerprint sets ---- */

/* Open addressing with linear probing; 0 marks an empty slot, so the
 * fingerprint 0 is remembered by a flag instead. */
typedef struct fpset {
    uint64_t *slots;
    size_t cap, n;
    int shift; /* 64 - log2(cap) */
    bool has_zero;
} fpset;

static inline size_t fp_slot(const fpset *s, uint64_t fp) {
    /* Fibonacci hashing spreads exact fingerprints such as consecutive ids. */
    return (size_t)((fp * 0x9E3779B97F4A7C15ULL) >> s->shift);
}

static int fpset_grow(fpset *s) {
    size_t ncap = s->cap ? s->cap * 2 : 1024;
    uint64_t *ns = calloc(ncap, sizeof *ns);
    if (!ns) return st_error(ST_ENOMEM, "out of memory (unique-value set of %zu entries)", s->n);
    int shift = 64;
    for (size_t c = ncap; c > 1; c >>= 1)
        shift--;
    fpset t = {ns, ncap, 0, shift, s->has_zero};
    for (size_t i = 0; i < s->cap; i++) {
        uint64_t fp = s->slots[i];
        if (!fp) continue;
        size_t k = fp_slot(&t, fp);
        while (ns[k])
            k = (k + 1) & (ncap - 1);
        ns[k] = fp;
    }
    t.n = s->n;
    free(s->slots);
    *s = t;
    return ST_OK;
}

/* Sets are larger than the caches: fetching the slot of a fingerprint a few
 * rows ahead hides most of the miss that every insert would otherwise pay. */
#define PREFETCH_AHEAD 16
static inline void fpset_prefetch(const fpset *s, uint64_t fp) {
    if (s->slots) __builtin_prefetch(&s->slots[fp_slot(s, fp)]);
}

/* Adds fp; *seen tells whether it was there already. */
static inline int fpset_insert(fpset *s, uint64_t fp, bool *seen) {
    if (fp == 0) {
        *seen = s->has_zero;
        s->has_zero = true;
        return ST_OK;
    }
    if ((s->n + 1) * 10 > s->cap * 7) {
        int rc = fpset_grow(s);
        if (rc) return rc;
    }
    size_t mask = s->cap - 1;
    for (size_t k = fp_slot(s, fp);; k = (k + 1) & mask) {
        if (s->slots[k] == fp) {
            *seen = true;
            return ST_OK;
        }
        if (!s->slots[k]) {
            s->slots[k] = fp;
            s->n++;
            *seen = false;
            return ST_OK;
        }
    }
}

/* ---- hashing ---- */

static inline uint64_t fmix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* A 64-bit hash of a byte string: eight bytes per multiply-rotate step, the
 * length folded in so that prefixes differ, and a full avalanche at the end. */
static uint64_t hash_bytes(const uint8_t *p, size_t n) {
    const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
    uint64_t h = 0x243f6a8885a308d3ULL ^ ((uint64_t)n * c2);
    while (n >= 8) {
        uint64_t k;
        memcpy(&k, p, 8);
        k *= c1;
        k = rotl64(k, 31);
        k *= c2;
        h ^= k;
        h = rotl64(h, 27) * 5 + 0x52dce729;
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t k = 0;
        memcpy(&k, p, n);
        k *= c2;
        k = rotl64(k, 33);
        k *= c1;
        h ^= k;
    }
    return fmix64(h);
}

/* ---- validator state ---- */

typedef struct span {
    const uint8_t *p;
    size_t n;
} span;

typedef struct vfield {
    char *name;
    st_type_t type;
    bool nullable, in_pk;
    bool has_min, has_max;
    char *min_text, *max_text;
    __int128 imin, imax; /* integers, decimals (unscaled), dates, times, timestamps */
    double dmin, dmax;   /* double */
    float fmin, fmax;    /* float */
    int64_t min_len, max_len;
    char *pattern;
    pcre2_code *re;
    span *enums; /* physical bytes of each enum value (BOOL: one byte 0/1) */
    int n_enum;
    int *enum_slots; /* index + 1, or 0; when n_enum > ENUM_LINEAR_MAX */
    size_t enum_mask;
    st_column_t enum_col; /* owns the converted enum values of non-string fields */
    bool has_enum_col;
    char *enum_list; /* "a, b, c" for messages */
    bool unique;
    fpset seen;
    bool active; /* any check at all (UTF-8 counts) */
} vfield;

typedef struct entry {
    int64_t row; /* within the batch */
    int32_t field;
    int32_t rule;
    int32_t aux; /* pattern: the PCRE2 error code, 0 for "no match" */
} entry;

struct st_validator {
    char *schema_name;
    vfield *f;
    int nfields;
    int *pk;
    int npk;
    bool pk_dups; /* check primary-key repeats (not already a unique column) */
    fpset pk_seen;
    char *pk_names; /* "a, b" */
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    int max_keep;
    st_violation_t *kept;
    int nkept, kept_cap;
    int64_t count;
    int64_t rows;
    /* per batch */
    const st_batch_t *batch;
    entry *heap; /* max-heap of the earliest violations still to keep */
    int nheap, heap_cap;
    entry first;
    int64_t batch_count;
    uint64_t *fp;
    uint8_t *skip;
    uint8_t *bad_utf8;
    size_t tmp_cap;
};

static int nomem(void) { return st_error(ST_ENOMEM, "out of memory"); }

/* ---- exact bounds ---- */

/* The bound text (a JSON number or numeric string) times 10^scale, rounded up
 * (ceil) for a minimum and down (floor) for a maximum, so that comparing
 * against the integer stored for a value is exact. Magnitudes past any value a
 * column can hold are clamped to +-10^38, which still orders correctly. */
static void scaled_bound(const char *s, int scale, bool ceil_it, __int128 *out) {
    const unsigned __int128 limit = tbl_pow10_128(38);
    bool neg = false;
    if (*s == '+' || *s == '-') neg = *s++ == '-';
    /* Significant digits (leading zeros dropped); past sizeof dig they only
     * count, since such a bound is beyond every column's range anyway. */
    char dig[80];
    int nd = 0, frac = 0, dropped = 0;
    bool in_frac = false, dropped_nonzero = false;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9') {
            if (in_frac) frac++;
            if (nd == 0 && *s == '0') continue;
            if (nd < (int)sizeof dig) {
                dig[nd++] = *s;
            } else {
                dropped++;
                dropped_nonzero |= *s != '0';
            }
        } else if (*s == '.') {
            in_frac = true;
        } else {
            break;
        }
    }
    if (nd == 0) { /* zero, however written */
        *out = 0;
        return;
    }
    long exp = 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        bool eneg = false;
        if (*s == '+' || *s == '-') eneg = *s++ == '-';
        for (; *s >= '0' && *s <= '9'; s++)
            if (exp < 100000) exp = exp * 10 + (*s - '0');
        if (eneg) exp = -exp;
    }
    /* The scaled value is dig[0..nd) x 10^shift (plus the dropped digits). */
    long shift = exp - frac + scale + dropped;
    long int_digits = nd + shift; /* digits of the scaled value's integer part */
    unsigned __int128 m = 0;
    bool inexact = dropped_nonzero;
    if (int_digits > 38) {
        m = limit;
        inexact = false;
    } else {
        for (long k = 0; k < nd; k++) {
            if (k < int_digits)
                m = m * 10 + (unsigned)(dig[k] - '0');
            else if (dig[k] != '0')
                inexact = true;
        }
        for (long k = nd; k < int_digits; k++)
            m *= 10;
        if (m > limit) m = limit, inexact = false;
    }
    /* Round toward the inside of the allowed range. */
    if (inexact && ceil_it != neg) m++;
    *out = neg ? -(__int128)m : (__int128)m;
}

static int temporal_bound(const st_type_t *t, const char *text, __int128 *out) {
    int64_t x = 0;
    int rc;
    if (t->id == ST_TYPE_DATE) {
        int32_t d;
        rc = st_parse_date(text, &d);
        x = d;
    } else if (t->id == ST_TYPE_TIME) {
        rc = st_parse_time(text, (int)t->unit, &x);
    } else {
        rc = st_parse_timestamp(text, (int)t->unit, &x);
    }
    *out = x;
    return rc;
}

static bool is_int_like(st_type_id id) {
    return (id >= ST_TYPE_INT8 && id <= ST_TYPE_UINT64) || id == ST_TYPE_DATE ||
           id == ST_TYPE_TIME || id == ST_TYPE_TIMESTAMP || id == ST_TYPE_DECIMAL;
}

static int compile_bounds(const char *schema, vfield *vf, const st_schema_field_t *sf) {
    vf->has_min = sf->has_min && sf->min_text;
    vf->has_max = sf->has_max && sf->max_text;
    if (!vf->has_min && !vf->has_max) return ST_OK;
    if (vf->has_min && !(vf->min_text = strdup(sf->min_text))) return nomem();
    if (vf->has_max && !(vf->max_text = strdup(sf->max_text))) return nomem();
    const st_type_t *t = &vf->type;
    switch (t->id) {
    case ST_TYPE_FLOAT:
        /* A float column compares in float, against the bound converted the
         * way a cell written like it is (strtod, then to float): in double,
         * "max": 0.1 would refuse the value 0.1. */
        vf->fmin = vf->has_min ? (float)strtod(vf->min_text, NULL) : 0;
        vf->fmax = vf->has_max ? (float)strtod(vf->max_text, NULL) : 0;
        return ST_OK;
    case ST_TYPE_DOUBLE:
        vf->dmin = vf->has_min ? strtod(vf->min_text, NULL) : 0;
        vf->dmax = vf->has_max ? strtod(vf->max_text, NULL) : 0;
        return ST_OK;
    case ST_TYPE_DATE:
    case ST_TYPE_TIME:
    case ST_TYPE_TIMESTAMP:
        if ((vf->has_min && temporal_bound(t, vf->min_text, &vf->imin)) ||
            (vf->has_max && temporal_bound(t, vf->max_text, &vf->imax)))
            return st_error(ST_EINVAL, "schema %s: field '%s': bad bound", schema, vf->name);
        return ST_OK;
    default:
        if (!is_int_like(t->id))
            return st_error(ST_EINVAL, "schema %s: field '%s': min/max do not apply to its type",
                            schema, vf->name);
        {
            int scale = t->id == ST_TYPE_DECIMAL ? t->scale : 0;
            if (vf->has_min) scaled_bound(vf->min_text, scale, true, &vf->imin);
            if (vf->has_max) scaled_bound(vf->max_text, scale, false, &vf->imax);
        }
        return ST_OK;
    }
}

/* ---- enums ---- */

static int compile_enum(vfield *vf, const st_schema_field_t *sf) {
    if (!sf->enum_values || sf->n_enum <= 0) return ST_OK;
    int n = sf->n_enum;
    vf->enums = calloc((size_t)n, sizeof *vf->enums);
    if (!vf->enums) return nomem();
    st_buf_t list = ST_BUF_INIT;
    int rc = ST_OK;
    for (int k = 0; k < n && !rc; k++) {
        if (k == ENUM_SHOW_MAX) {
            rc = st_buf_printf(&list, ", ... (%d values)", n);
            break;
        }
        if (k) rc = st_buf_append_str(&list, ", ");
        if (!rc) rc = st_buf_append_str(&list, sf->enum_values[k]);
    }
    if (!rc) rc = st_buf_append_byte(&list, 0);
    if (rc) {
        st_buf_free(&list);
        return rc;
    }
    vf->enum_list = (char *)st_buf_detach(&list, NULL);

    if (vf->type.id == ST_TYPE_STRING) {
        /* Our own copies, so the schema may go away before the validator. */
        for (int k = 0; k < n; k++) {
            size_t len = strlen(sf->enum_values[k]);
            uint8_t *copy = malloc(len + 1);
            if (!copy) return nomem();
            memcpy(copy, sf->enum_values[k], len + 1);
            vf->enums[k] = (span){copy, len};
            vf->n_enum = k + 1;
        }
    } else {
        /* Other types compare physical values, so "1.50" and "1.5" are the same
         * decimal and a date matches however it was written. */
        rc = tbl_col_init(&vf->enum_col, &(st_field_t){vf->name, vf->type, true});
        if (rc) return rc;
        vf->has_enum_col = true;
        for (int k = 0; k < n; k++) {
            rc = st_coerce_append(&vf->enum_col, sf->enum_values[k], strlen(sf->enum_values[k]));
            if (rc)
                return st_error_prefix(ST_EINVAL, "field '%s': enum value '%s'", vf->name,
                                       sf->enum_values[k]);
        }
        static const uint8_t bools[2] = {0, 1};
        for (int k = 0; k < n; k++) {
            if (vf->type.id == ST_TYPE_BOOL) {
                vf->enums[k] = (span){&bools[st_col_get_bool(&vf->enum_col, k)], 1};
            } else {
                size_t len;
                const uint8_t *p = st_col_get_bytes(&vf->enum_col, k, &len);
                vf->enums[k] = (span){p, len};
            }
        }
    }
    vf->n_enum = n;
    if (n > ENUM_LINEAR_MAX) {
        size_t cap = 16;
        while (cap < (size_t)n * 2)
            cap *= 2;
        vf->enum_slots = calloc(cap, sizeof *vf->enum_slots);
        if (!vf->enum_slots) return nomem();
        vf->enum_mask = cap - 1;
        for (int k = 0; k < n; k++) {
            size_t s = (size_t)hash_bytes(vf->enums[k].p, vf->enums[k].n) & vf->enum_mask;
            while (vf->enum_slots[s])
                s = (s + 1) & vf->enum_mask;
            vf->enum_slots[s] = k + 1;
        }
    }
    return ST_OK;
}

static inline bool enum_has(const vfield *vf, const uint8_t *p, size_t n) {
    if (!vf->enum_slots) {
        for (int k = 0; k < vf->n_enum; k++)
            if (vf->enums[k].n == n && (n == 0 || !memcmp(vf->enums[k].p, p, n))) return true;
        return false;
    }
    for (size_t s = (size_t)hash_bytes(p, n) & vf->enum_mask; vf->enum_slots[s];
         s = (s + 1) & vf->enum_mask) {
        const span *e = &vf->enums[vf->enum_slots[s] - 1];
        if (e->n == n && (n == 0 || !memcmp(e->p, p, n))) return true;
    }
    return false;
}

/* ---- patterns ---- */

static int compile_pattern(st_validator_t *v, vfield *vf, const char *pattern) {
    if (!pattern) return ST_OK;
    vf->pattern = strdup(pattern);
    if (!vf->pattern) return nomem();
    int err;
    PCRE2_SIZE off;
    /* Anchored only as written: "^...$" must match the whole value, while a
     * bare "BH" is found anywhere in it. '$' means the very end (as in JSON
     * Schema), not also "before a final newline", so "BH-01\n" is no name. */
    vf->re =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                      PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C, &err, &off, NULL);
    if (!vf->re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof msg);
        return st_error(ST_EINVAL, "schema %s: field '%s': bad pattern '%.*s': %s at offset %zu",
                        v->schema_name, vf->name, PATTERN_SHOW_MAX, pattern, (const char *)msg,
                        (size_t)off);
    }
    pcre2_jit_compile(vf->re, PCRE2_JIT_COMPLETE); /* an optimisation; without JIT it still works */
    if (!v->mctx) {
        v->mctx = pcre2_match_context_create(NULL);
        if (!v->mctx) return nomem();
        /* A pathological pattern must fail the value, not stall the run. */
        pcre2_set_match_limit(v->mctx, PATTERN_MATCH_LIMIT);
    }
    return ST_OK;
}

/* ---- construction ---- */

void st_validator_free(st_validator_t *v) {
    if (!v) return;
    for (int i = 0; i < v->nfields; i++) {
        vfield *vf = &v->f[i];
        free(vf->name);
        free(vf->min_text);
        free(vf->max_text);
        free(vf->pattern);
        pcre2_code_free(vf->re);
        if (vf->enums && vf->type.id == ST_TYPE_STRING)
            for (int k = 0; k < vf->n_enum; k++)
                free((void *)vf->enums[k].p);
        free(vf->enums);
        free(vf->enum_slots);
        if (vf->has_enum_col) tbl_col_free(&vf->enum_col);
        free(vf->enum_list);
        free(vf->seen.slots);
    }
    free(v->f);
    free(v->pk);
    free(v->pk_seen.slots);
    free(v->pk_names);
    pcre2_match_data_free(v->md);
    pcre2_match_context_free(v->mctx);
    for (int i = 0; i < v->nkept; i++) {
        free(v->kept[i].column);
        free(v->kept[i].value);
        free(v->kept[i].rule);
        free(v->kept[i].message);
    }
    free(v->kept);
    free(v->heap);
    free(v->fp);
    free(v->skip);
    free(v->bad_utf8);
    free(v->schema_name);
    free(v);
}

static int compile_field(st_validator_t *v, vfield *vf, const st_schema_field_t *sf) {
    vf->name = strdup(sf->field.name);
    if (!vf->name) return nomem();
    vf->type = sf->field.type;
    vf->nullable = sf->field.nullable;
    vf->min_len = sf->min_length;
    vf->max_len = sf->max_length;
    vf->unique = sf->unique;
    int rc = compile_bounds(v->schema_name, vf, sf);
    if (!rc) rc = compile_enum(vf, sf);
    if (!rc && sf->pattern) {
        if (vf->type.id != ST_TYPE_STRING)
            return st_error(ST_EINVAL, "schema %s: field '%s': 'pattern' applies to strings",
                            v->schema_name, vf->name);
        rc = compile_pattern(v, vf, sf->pattern);
    }
    if (rc) return rc;
    vf->active = !vf->nullable || vf->has_min || vf->has_max || vf->min_len >= 0 ||
                 vf->max_len >= 0 || vf->re || vf->n_enum || vf->unique ||
                 vf->type.id == ST_TYPE_STRING || vf->type.id == ST_TYPE_JSON;
    return ST_OK;
}

int st_validator_new(const st_schema_t *schema, int max_violations, st_validator_t **out) {
    *out = NULL;
    if (!schema || max_violations < 0)
        return st_error(ST_EINVAL, "st_validator_new: bad arguments");
    st_validator_t *v = calloc(1, sizeof *v);
    if (!v) return nomem();
    v->max_keep = max_violations ? max_violations : 100;
    v->schema_name = strdup(schema->name ? schema->name : "schema");
    v->f = calloc((size_t)(schema->nfields > 0 ? schema->nfields : 1), sizeof *v->f);
    int rc = (!v->schema_name || !v->f) ? nomem() : ST_OK;
    for (int i = 0; i < schema->nfields && !rc; i++) {
        v->f[i].min_len = v->f[i].max_len = -1;
        v->nfields = i + 1;
        rc = compile_field(v, &v->f[i], &schema->fields[i]);
    }
    if (!rc && schema->n_primary_key > 0) {
        v->pk = calloc((size_t)schema->n_primary_key, sizeof *v->pk);
        st_buf_t names = ST_BUF_INIT;
        if (!v->pk) rc = nomem();
        for (int k = 0; k < schema->n_primary_key && !rc; k++) {
            int idx = st_schema_field_index(schema, schema->primary_key[k]);
            if (idx < 0) {
                rc = st_error(ST_EINVAL, "schema %s: primary_key names '%s', which is not a field",
                              v->schema_name, schema->primary_key[k]);
                break;
            }
            v->pk[v->npk++] = idx;
            v->f[idx].in_pk = true;
            v->f[idx].active = true;
            if (k) rc = st_buf_append_str(&names, ", ");
            if (!rc) rc = st_buf_append_str(&names, schema->primary_key[k]);
        }
        if (!rc) rc = st_buf_append_byte(&names, 0);
        if (!rc) v->pk_names = (char *)st_buf_detach(&names, NULL);
        st_buf_free(&names);
        /* A one-column key that is also `unique` is checked (and reported) once. */
        v->pk_dups = !(v->npk == 1 && v->f[v->pk[0]].unique);
    }
    if (!rc && v->mctx) {
        v->md = pcre2_match_data_create(1, NULL);
        if (!v->md) rc = nomem();
    }
    if (rc) {
        st_validator_free(v);
        return rc;
    }
    *out = v;
    return ST_OK;
}

/* ---- values as text ---- */

static bool quoted_type(st_type_id id) {
    return id == ST_TYPE_STRING || id == ST_TYPE_JSON || id == ST_TYPE_BINARY ||
           id == ST_TYPE_FIXED || id == ST_TYPE_UUID;
}

/* Appends s[0..n) cut to SHOW_MAX characters, control characters and bytes
 * that are not UTF-8 escaped, so a message stays one readable line. */
static int show_text(st_buf_t *out, const uint8_t *s, size_t n) {
    size_t i = 0;
    int chars = 0, rc = ST_OK;
    while (i < n && !rc) {
        if (chars == SHOW_MAX) return st_buf_append_str(out, "...");
        uint8_t c = s[i];
        if (c < 0x20 || c == 0x7f) {
            const char *e = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
            rc = e ? st_buf_append_str(out, e) : st_buf_printf(out, "\\x%02x", c);
            i++;
        } else if (c < 0x80) {
            rc = st_buf_append_byte(out, c);
            i++;
        } else {
            size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
            if (len == 0 || i + len > n || !st_utf8_valid(s + i, len)) {
                rc = st_buf_printf(out, "\\x%02x", c);
                i++;
            } else {
                rc = st_buf_append(out, s + i, len);
                i += len;
            }
        }
        chars++;
    }
    return rc;
}

/* The value at row i, unquoted, as the violation's `value`. */
static int value_text(const st_column_t *c, int64_t i, st_buf_t *out) {
    size_t len;
    const uint8_t *p;
    switch (c->field.type.id) {
    case ST_TYPE_BINARY:
    case ST_TYPE_FIXED: {
        p = st_col_get_bytes(c, i, &len);
        int rc = ST_OK;
        for (size_t k = 0; k < len && !rc; k++) {
            if (k * 2 >= SHOW_MAX) return st_buf_append_str(out, "...");
            rc = st_buf_printf(out, "%02x", p[k]);
        }
        return rc;
    }
    case ST_TYPE_STRING:
    case ST_TYPE_JSON: p = st_col_get_bytes(c, i, &len); return show_text(out, p, len);
    default: return st_col_value_text(c, i, out);
    }
}

static int quoted_value(const st_column_t *c, int64_t i, st_buf_t *out) {
    bool q = quoted_type(c->field.type.id);
    int rc = q ? st_buf_append_byte(out, '\'') : ST_OK;
    if (!rc) rc = value_text(c, i, out);
    if (!rc && q) rc = st_buf_append_byte(out, '\'');
    return rc;
}

static size_t utf8_chars(const uint8_t *p, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += (p[i] & 0xc0) != 0x80;
    return k;
}

static char *dup_z(const char *s) { return s ? strdup(s) : NULL; }

/* Appends a violation to the kept list. */
static int keep(st_validator_t *v, int64_t row, const char *column, const char *value,
                const char *rule, const char *message) {
    if (v->nkept == v->kept_cap) {
        int ncap = v->kept_cap ? v->kept_cap * 2 : 16;
        st_violation_t *nk = realloc(v->kept, (size_t)ncap * sizeof *nk);
        if (!nk) return nomem();
        v->kept = nk;
        v->kept_cap = ncap;
    }
    st_violation_t *x = &v->kept[v->nkept];
    x->row = row;
    x->column = dup_z(column);
    x->value = dup_z(value);
    x->rule = dup_z(rule);
    x->message = dup_z(message);
    if ((column && !x->column) || (value && !x->value) || !x->rule || !x->message) {
        free(x->column);
        free(x->value);
        free(x->rule);
        free(x->message);
        return nomem();
    }
    v->nkept++;
    return ST_OK;
}

static int pk_message(st_validator_t *v, const entry *e, st_buf_t *value, st_buf_t *msg) {
    const st_batch_t *b = v->batch;
    int rc = st_buf_printf(msg, "row %lld: primary key (%s) = (", (long long)(v->rows + e->row + 1),
                           v->pk_names);
    for (int k = 0; k < v->npk && !rc; k++) {
        const st_column_t *c = &b->cols[v->pk[k]];
        if (k) rc = st_buf_append_str(msg, ", ");
        if (k && !rc) rc = st_buf_append_str(value, ", ");
        if (!rc) rc = quoted_value(c, e->row, msg);
        if (!rc) rc = value_text(c, e->row, value);
    }
    if (!rc) rc = st_buf_append_str(msg, ") appears in an earlier row");
    return rc;
}

/* Builds the full violation for a recorded entry: value, message. */
static int describe(st_validator_t *v, const entry *e, st_buf_t *value, st_buf_t *msg) {
    if (e->rule == R_PK_DUP) return pk_message(v, e, value, msg);
    const vfield *vf = &v->f[e->field];
    const st_column_t *c = &v->batch->cols[e->field];
    int64_t i = e->row;
    int rc = st_buf_printf(msg, "row %lld, column %s: ", (long long)(v->rows + i + 1), vf->name);
    if (rc) return rc;
    if (e->rule == R_NULLABLE) return st_buf_append_str(msg, "null, but the field is not nullable");
    if (e->rule == R_PK_NULL) return st_buf_append_str(msg, "null in a primary key column");
    if ((rc = value_text(c, i, value))) return rc;
    bool q = quoted_type(vf->type.id);
    st_buf_t shown = ST_BUF_INIT;
    rc = st_buf_printf(&shown, "%s%.*s%s", q ? "'" : "", (int)value->len,
                       value->data ? (const char *)value->data : "", q ? "'" : "");
    if (!rc) rc = st_buf_append_byte(&shown, 0);
    if (rc) {
        st_buf_free(&shown);
        return rc;
    }
    const char *sv = (const char *)shown.data;
    size_t len;
    const uint8_t *p;
    bool bytes = vf->type.id == ST_TYPE_BINARY;
    switch (e->rule) {
    case R_TYPE: rc = st_buf_printf(msg, "%s is not valid UTF-8", sv); break;
    case R_MIN:
    case R_MAX: {
        const char *which = e->rule == R_MIN ? "minimum" : "maximum";
        const char *bound = e->rule == R_MIN ? vf->min_text : vf->max_text;
        if (e->aux)
            rc = st_buf_printf(msg, "NaN cannot be compared with the %s %s", which, bound);
        else
            rc = st_buf_printf(msg, "%s is %s the %s %s", sv, e->rule == R_MIN ? "below" : "above",
                               which, bound);
        break;
    }
    case R_MIN_LENGTH:
    case R_MAX_LENGTH:
        p = st_col_get_bytes(c, i, &len);
        len = bytes ? len : utf8_chars(p, len);
        rc = st_buf_printf(msg, "%s is %zu %s%s long, %s than the %s length %lld", sv, len,
                           bytes ? "byte" : "character", len == 1 ? "" : "s",
                           e->rule == R_MIN_LENGTH ? "shorter" : "longer",
                           e->rule == R_MIN_LENGTH ? "minimum" : "maximum",
                           (long long)(e->rule == R_MIN_LENGTH ? vf->min_len : vf->max_len));
        break;
    case R_PATTERN:
        if (e->aux == 0) {
            rc = st_buf_printf(msg, "%s does not match the pattern %.*s%s", sv, PATTERN_SHOW_MAX,
                               vf->pattern, strlen(vf->pattern) > PATTERN_SHOW_MAX ? "..." : "");
        } else {
            PCRE2_UCHAR why[160];
            pcre2_get_error_message(e->aux, why, sizeof why);
            rc = st_buf_printf(msg, "%s could not be matched against the pattern: %s", sv,
                               (const char *)why);
        }
        break;
    case R_ENUM: rc = st_buf_printf(msg, "%s is not one of %s", sv, vf->enum_list); break;
    case R_UNIQUE:
        rc = st_buf_printf(msg, "%s is not unique (it appears in an earlier row)", sv);
        break;
    default: rc = st_buf_printf(msg, "%s breaks rule %s", sv, rule_names[e->rule]); break;
    }
    st_buf_free(&shown);
    return rc;
}

static int keep_entry(st_validator_t *v, const entry *e) {
    st_buf_t value = ST_BUF_INIT, msg = ST_BUF_INIT;
    int rc = describe(v, e, &value, &msg);
    if (!rc) rc = st_buf_append_byte(&msg, 0);
    bool has_value = e->rule != R_NULLABLE && e->rule != R_PK_NULL;
    if (!rc && has_value) rc = st_buf_append_byte(&value, 0);
    if (!rc)
        rc = keep(v, v->rows + e->row + 1, e->rule == R_PK_DUP ? NULL : v->f[e->field].name,
                  has_value ? (const char *)value.data : NULL, rule_names[e->rule],
                  (const char *)msg.data);
    st_buf_free(&value);
    st_buf_free(&msg);
    return rc;
}

/* ---- recording during a check ---- */

static inline bool entry_less(const entry *a, const entry *b) {
    if (a->row != b->row) return a->row < b->row;
    if (a->field != b->field) return a->field < b->field;
    return a->rule < b->rule;
}

static void heap_down(entry *h, int n, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && entry_less(&h[m], &h[l])) m = l;
        if (r < n && entry_less(&h[m], &h[r])) m = r;
        if (m == i) return;
        entry t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Counts a violation and, while room is left under the limit, remembers it
 * among the batch's earliest (violations arrive column by column, but are
 * kept and reported in row order). */
static int emit(st_validator_t *v, int64_t row, int field, int rule, int aux) {
    entry e = {row, field, rule, aux};
    v->count++;
    if (v->batch_count++ == 0 || entry_less(&e, &v->first)) v->first = e;
    int room = v->max_keep - v->nkept;
    if (room <= 0) return ST_OK;
    if (v->nheap < room) {
        if (v->nheap == v->heap_cap) {
            int ncap = v->heap_cap ? v->heap_cap * 2 : 64;
            if (ncap > room) ncap = room;
            entry *nh = realloc(v->heap, (size_t)ncap * sizeof *nh);
            if (!nh) return nomem();
            v->heap = nh;
            v->heap_cap = ncap;
        }
        int i = v->nheap++;
        v->heap[i] = e;
        while (i > 0 && entry_less(&v->heap[(i - 1) / 2], &v->heap[i])) {
            entry t = v->heap[i];
            v->heap[i] = v->heap[(i - 1) / 2];
            v->heap[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (entry_less(&e, &v->heap[0])) {
        v->heap[0] = e;
        heap_down(v->heap, v->nheap, 0);
    }
    return ST_OK;
}

static int cmp_entry(const void *a, const void *b) {
    const entry *x = a, *y = b;
    return entry_less(x, y) ? -1 : entry_less(y, x) ? 1 : 0;
}

/* ---- per-column checks ---- */

static inline bool valid_at(const st_column_t *c, int64_t i) {
    return !c->validity.len || ((c->validity.data[i >> 3] >> (i & 7)) & 1);
}

static inline const int32_t *offsets_of(const st_column_t *c) {
    return (const int32_t *)(const void *)c->offsets.data;
}

static inline span var_at(const st_column_t *c, const int32_t *off, int64_t i) {
    static const uint8_t empty[1];
    int32_t a, b;
    memcpy(&a, off + i, 4);
    memcpy(&b, off + i + 1, 4);
    return (span){c->values.data ? c->values.data + a : empty, (size_t)(b - a)};
}

static bool all_ascii(const uint8_t *p, size_t n) {
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        acc |= w;
    }
    for (; i < n; i++)
        acc |= p[i];
    return !(acc & 0x8080808080808080ULL);
}

/* Reports strings that are not UTF-8 (rule "type") and marks them in *bad so
 * that no other rule looks at them; *bad stays NULL when all are fine. */
static int check_utf8(st_validator_t *v, int f, const st_column_t *c, int64_t n,
                      const uint8_t **bad) {
    *bad = NULL;
    if (!c->values.len || all_ascii(c->values.data, c->values.len)) return ST_OK;
    const int32_t *off = offsets_of(c);
    bool any = false;
    for (int64_t i = 0; i < n; i++) {
        span s = var_at(c, off, i);
        bool ok = !valid_at(c, i) || st_utf8_valid(s.p, s.n);
        v->bad_utf8[i] = !ok;
        if (!ok) {
            any = true;
            int rc = emit(v, i, f, R_TYPE, 0);
            if (rc) return rc;
        }
    }
    if (any) *bad = v->bad_utf8;
    return ST_OK;
}

static int check_nulls(st_validator_t *v, int f, const st_column_t *c, int64_t n) {
    const vfield *vf = &v->f[f];
    if (!c->validity.len || (vf->nullable && !vf->in_pk)) return ST_OK;
    int rule = !vf->nullable ? R_NULLABLE : R_PK_NULL;
    const uint8_t *bits = c->validity.data;
    for (int64_t i = 0; i < n; i++) {
        if ((i & 7) == 0 && i + 8 <= n && bits[i >> 3] == 0xff) {
            i += 7;
            continue;
        }
        if (!((bits[i >> 3] >> (i & 7)) & 1)) {
            int rc = emit(v, i, f, rule, 0);
            if (rc) return rc;
        }
    }
    return ST_OK;
}

#define RANGE_LOOP(T)                                                                              \
    do {                                                                                           \
        const uint8_t *base = c->values.data;                                                      \
        for (int64_t i = 0; i < n; i++) {                                                          \
            T x;                                                                                   \
            memcpy(&x, base + (size_t)i * sizeof(T), sizeof(T));                                   \
            __int128 y = (__int128)x;                                                              \
            if ((vf->has_min && y < vf->imin) || (vf->has_max && y > vf->imax)) {                  \
                if (!valid_at(c, i)) continue;                                                     \
                int rc = emit(v, i, f, vf->has_min && y < vf->imin ? R_MIN : R_MAX, 0);            \
                if (rc) return rc;                                                                 \
            }                                                                                      \
        }                                                                                          \
    } while (0)

static inline __int128 load_dec(const uint8_t *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    __int128 x;
    memcpy(&x, p, 16);
    return x;
#else
    return tbl_dec_load(p);
#endif
}

static int check_range(st_validator_t *v, int f, const st_column_t *c, int64_t n) {
    const vfield *vf = &v->f[f];
    if (!vf->has_min && !vf->has_max) return ST_OK;
    switch (vf->type.id) {
    case ST_TYPE_INT8: RANGE_LOOP(int8_t); break;
    case ST_TYPE_INT16: RANGE_LOOP(int16_t); break;
    case ST_TYPE_INT32:
    case ST_TYPE_DATE: RANGE_LOOP(int32_t); break;
    case ST_TYPE_INT64:
    case ST_TYPE_TIMESTAMP: RANGE_LOOP(int64_t); break;
    case ST_TYPE_UINT8: RANGE_LOOP(uint8_t); break;
    case ST_TYPE_UINT16: RANGE_LOOP(uint16_t); break;
    case ST_TYPE_UINT32: RANGE_LOOP(uint32_t); break;
    case ST_TYPE_UINT64: RANGE_LOOP(uint64_t); break;
    case ST_TYPE_TIME:
        if (vf->type.unit == ST_UNIT_MS)
            RANGE_LOOP(int32_t);
        else
            RANGE_LOOP(int64_t);
        break;
    case ST_TYPE_DECIMAL:
        for (int64_t i = 0; i < n; i++) {
            __int128 y = load_dec(c->values.data + (size_t)i * 16);
            if ((vf->has_min && y < vf->imin) || (vf->has_max && y > vf->imax)) {
                if (!valid_at(c, i)) continue;
                int rc = emit(v, i, f, vf->has_min && y < vf->imin ? R_MIN : R_MAX, 0);
                if (rc) return rc;
            }
        }
        break;
    case ST_TYPE_FLOAT:
        for (int64_t i = 0; i < n; i++) {
            float y;
            memcpy(&y, c->values.data + (size_t)i * 4, 4);
            /* Written so that NaN, which compares false with everything, fails. */
            bool lo_ok = !vf->has_min || y >= vf->fmin, hi_ok = !vf->has_max || y <= vf->fmax;
            if (lo_ok && hi_ok) continue;
            if (!valid_at(c, i)) continue;
            int rc = emit(v, i, f, !lo_ok ? R_MIN : R_MAX, isnan(y));
            if (rc) return rc;
        }
        break;
    case ST_TYPE_DOUBLE:
        for (int64_t i = 0; i < n; i++) {
            double y;
            memcpy(&y, c->values.data + (size_t)i * 8, 8);
            bool lo_ok = !vf->has_min || y >= vf->dmin, hi_ok = !vf->has_max || y <= vf->dmax;
            if (lo_ok && hi_ok) continue;
            if (!valid_at(c, i)) continue;
            int rc = emit(v, i, f, !lo_ok ? R_MIN : R_MAX, isnan(y));
            if (rc) return rc;
        }
        break;
    default: break;
    }
    return ST_OK;
}

static int check_varlen(st_validator_t *v, int f, const st_column_t *c, int64_t n,
                        const uint8_t *bad) {
    vfield *vf = &v->f[f];
    bool lengths = vf->min_len >= 0 || vf->max_len >= 0;
    if (!lengths && !vf->re) return ST_OK;
    bool chars = vf->type.id != ST_TYPE_BINARY;
    const int32_t *off = offsets_of(c);
    uint64_t lo = vf->min_len >= 0 ? (uint64_t)vf->min_len : 0;
    uint64_t hi = vf->max_len >= 0 ? (uint64_t)vf->max_len : UINT64_MAX;
    for (int64_t i = 0; i < n; i++) {
        if (!valid_at(c, i) || (bad && bad[i])) continue;
        span s = var_at(c, off, i);
        int rc = ST_OK;
        if (lengths) {
            /* A character takes one to four bytes: count characters only when
             * the byte length alone does not settle the question. */
            uint64_t len = s.n;
            if (chars && (s.n > hi || s.n / 4 < lo)) len = utf8_chars(s.p, s.n);
            if (len < lo)
                rc = emit(v, i, f, R_MIN_LENGTH, 0);
            else if (len > hi)
                rc = emit(v, i, f, R_MAX_LENGTH, 0);
        }
        if (!rc && vf->re) {
            int m = pcre2_match(vf->re, s.p, s.n, 0, PCRE2_NO_UTF_CHECK, v->md, v->mctx);
            if (m == PCRE2_ERROR_NOMATCH)
                rc = emit(v, i, f, R_PATTERN, 0);
            else if (m < 0)
                rc = emit(v, i, f, R_PATTERN, m);
        }
        if (rc) return rc;
    }
    return ST_OK;
}

static int check_enum(st_validator_t *v, int f, const st_column_t *c, int64_t n,
                      const uint8_t *bad) {
    const vfield *vf = &v->f[f];
    if (!vf->n_enum) return ST_OK;
    if (st_type_is_varlen(&vf->type)) {
        const int32_t *off = offsets_of(c);
        for (int64_t i = 0; i < n; i++) {
            if (!valid_at(c, i) || (bad && bad[i])) continue;
            span s = var_at(c, off, i);
            if (enum_has(vf, s.p, s.n)) continue;
            int rc = emit(v, i, f, R_ENUM, 0);
            if (rc) return rc;
        }
    } else if (vf->type.id == ST_TYPE_BOOL) {
        for (int64_t i = 0; i < n; i++) {
            if (!valid_at(c, i)) continue;
            uint8_t b = st_col_get_bool(c, i);
            if (enum_has(vf, &b, 1)) continue;
            int rc = emit(v, i, f, R_ENUM, 0);
            if (rc) return rc;
        }
    } else {
        size_t w = (size_t)st_type_value_width(&vf->type);
        for (int64_t i = 0; i < n; i++) {
            if (!valid_at(c, i)) continue;
            if (enum_has(vf, c->values.data + (size_t)i * w, w)) continue;
            int rc = emit(v, i, f, R_ENUM, 0);
            if (rc) return rc;
        }
    }
    return ST_OK;
}

/* Fingerprints of every row's value into out[] (combined into what is there
 * when `combine`). Values of at most eight bytes are their own fingerprint,
 * so a single such column has no false repeats at all; longer values are
 * hashed (a false repeat needs a 64-bit collision: about n^2 / 2^65 for n
 * distinct values). Returns whether the fingerprints are exact. */
static bool fingerprints(const st_column_t *c, int64_t n, uint64_t *out, bool combine) {
    const st_type_t *t = &c->field.type;
    bool exact = true;
    for (int64_t i = 0; i < n; i++) {
        uint64_t fp = 0;
        switch (t->id) {
        case ST_TYPE_BOOL: fp = st_col_get_bool(c, i); break;
        case ST_TYPE_FLOAT: {
            float x;
            memcpy(&x, c->values.data + (size_t)i * 4, 4);
            if (x == 0) x = 0; /* -0 equals 0 */
            uint32_t u;
            memcpy(&u, &x, 4);
            fp = u;
            break;
        }
        case ST_TYPE_DOUBLE: {
            double x;
            memcpy(&x, c->values.data + (size_t)i * 8, 8);
            if (x == 0) x = 0;
            memcpy(&fp, &x, 8);
            break;
        }
        default:
            if (st_type_is_varlen(t)) {
                span s = var_at(c, offsets_of(c), i);
                fp = hash_bytes(s.p, s.n);
                exact = false;
            } else {
                size_t w = (size_t)st_type_value_width(t);
                if (w <= 8) {
                    memcpy(&fp, c->values.data + (size_t)i * w, w);
                } else {
                    fp = hash_bytes(c->values.data + (size_t)i * w, w);
                    exact = false;
                }
            }
        }
        out[i] = combine ? fmix64(out[i] ^ fmix64(fp + 0x9E3779B97F4A7C15ULL)) : fp;
    }
    return exact && !combine;
}

static int check_unique(st_validator_t *v, int f, const st_column_t *c, int64_t n) {
    vfield *vf = &v->f[f];
    if (!vf->unique) return ST_OK;
    fingerprints(c, n, v->fp, false);
    for (int64_t i = 0; i < n; i++) {
        if (i + PREFETCH_AHEAD < n) fpset_prefetch(&vf->seen, v->fp[i + PREFETCH_AHEAD]);
        if (!valid_at(c, i)) continue; /* nulls are never equal to each other */
        bool seen;
        int rc = fpset_insert(&vf->seen, v->fp[i], &seen);
        if (!rc && seen) rc = emit(v, i, f, R_UNIQUE, 0);
        if (rc) return rc;
    }
    return ST_OK;
}

static int check_pk(st_validator_t *v, const st_batch_t *b, int64_t n) {
    if (!v->npk || !v->pk_dups) return ST_OK;
    memset(v->skip, 0, (size_t)n);
    for (int k = 0; k < v->npk; k++) {
        const st_column_t *c = &b->cols[v->pk[k]];
        if (v->npk > 1 && k == 0) memset(v->fp, 0, (size_t)n * sizeof *v->fp);
        fingerprints(c, n, v->fp, v->npk > 1);
        if (c->validity.len)
            for (int64_t i = 0; i < n; i++)
                v->skip[i] |= !valid_at(c, i);
    }
    for (int64_t i = 0; i < n; i++) {
        if (i + PREFETCH_AHEAD < n) fpset_prefetch(&v->pk_seen, v->fp[i + PREFETCH_AHEAD]);
        if (v->skip[i]) continue; /* a key with a null is reported as such */
        bool seen;
        int rc = fpset_insert(&v->pk_seen, v->fp[i], &seen);
        if (!rc && seen) rc = emit(v, i, v->nfields, R_PK_DUP, 0);
        if (rc) return rc;
    }
    return ST_OK;
}

/* ---- public entry points ---- */

static int batch_matches(const st_validator_t *v, const st_batch_t *b) {
    if (b->ncols != v->nfields)
        return st_error(ST_EINVAL, "schema %s: the batch has %d columns, the schema %d fields",
                        v->schema_name, b->ncols, v->nfields);
    for (int i = 0; i < b->ncols; i++) {
        const st_column_t *c = &b->cols[i];
        if (strcmp(c->field.name, v->f[i].name) || !st_type_equal(&c->field.type, &v->f[i].type) ||
            c->length != b->nrows)
            return st_error(ST_EINVAL,
                            "schema %s: batch column %d ('%s') does not match field '%s'",
                            v->schema_name, i + 1, c->field.name, v->f[i].name);
    }
    return ST_OK;
}

static int reserve_tmp(st_validator_t *v, int64_t n) {
    if ((size_t)n <= v->tmp_cap) return ST_OK;
    size_t cap = v->tmp_cap ? v->tmp_cap : 1024;
    while (cap < (size_t)n)
        cap *= 2;
    uint64_t *fp = realloc(v->fp, cap * sizeof *fp);
    if (fp) v->fp = fp;
    uint8_t *skip = realloc(v->skip, cap);
    if (skip) v->skip = skip;
    uint8_t *bad = realloc(v->bad_utf8, cap);
    if (bad) v->bad_utf8 = bad;
    if (!fp || !skip || !bad) return nomem();
    v->tmp_cap = cap;
    return ST_OK;
}

static int run_checks(st_validator_t *v, const st_batch_t *b) {
    int64_t n = b->nrows;
    int rc = reserve_tmp(v, n);
    for (int f = 0; f < v->nfields && !rc; f++) {
        if (!v->f[f].active) continue;
        const st_column_t *c = &b->cols[f];
        const uint8_t *bad = NULL;
        st_type_id id = v->f[f].type.id;
        if (id == ST_TYPE_STRING || id == ST_TYPE_JSON) rc = check_utf8(v, f, c, n, &bad);
        if (!rc) rc = check_nulls(v, f, c, n);
        if (!rc) rc = check_range(v, f, c, n);
        if (!rc && st_type_is_varlen(&v->f[f].type)) rc = check_varlen(v, f, c, n, bad);
        if (!rc) rc = check_enum(v, f, c, n, bad);
        if (!rc) rc = check_unique(v, f, c, n);
    }
    if (!rc) rc = check_pk(v, b, n);
    return rc;
}

int st_validator_check(st_validator_t *v, const st_batch_t *batch) {
    int rc = batch_matches(v, batch);
    if (rc) return rc;
    if (batch->nrows == 0) return ST_OK;
    v->batch = batch;
    v->batch_count = 0;
    v->nheap = 0;
    rc = run_checks(v, batch);
    if (!rc && v->nheap) {
        qsort(v->heap, (size_t)v->nheap, sizeof *v->heap, cmp_entry);
        for (int k = 0; k < v->nheap && !rc; k++)
            rc = keep_entry(v, &v->heap[k]);
    }
    char *first = NULL;
    if (!rc && v->batch_count) {
        st_buf_t value = ST_BUF_INIT, msg = ST_BUF_INIT;
        rc = describe(v, &v->first, &value, &msg);
        if (!rc) rc = st_buf_append_byte(&msg, 0);
        if (!rc) first = (char *)st_buf_detach(&msg, NULL);
        st_buf_free(&value);
        st_buf_free(&msg);
    }
    v->rows += batch->nrows;
    v->batch = NULL;
    if (rc) {
        free(first);
        return rc;
    }
    if (!v->batch_count) return ST_OK;
    if (v->batch_count == 1)
        rc = st_error(ST_EVALIDATION, "%s", first);
    else
        rc = st_error(ST_EVALIDATION, "%s (and %lld more violation%s)", first,
                      (long long)(v->batch_count - 1), v->batch_count == 2 ? "" : "s");
    free(first);
    return rc;
}

int st_validator_add(st_validator_t *v, int64_t row, const char *column, const char *value,
                     const char *rule, const char *message) {
    if (!rule || !message) return st_error(ST_EINVAL, "st_validator_add: rule and message needed");
    v->count++;
    if (v->nkept >= v->max_keep) return ST_OK;
    return keep(v, row, column, value, rule, message);
}

void st_validator_skip_rows(st_validator_t *v, int64_t n) {
    if (n > 0) v->rows += n;
}

int64_t st_validator_count(const st_validator_t *v) { return v->count; }

const st_violation_t *st_validator_violations(const st_validator_t *v, int *n) {
    *n = v->nkept;
    return v->kept;
}

int st_validator_report(const st_validator_t *v, st_buf_t *out) {
    int rc = ST_OK;
    for (int i = 0; i < v->nkept && !rc; i++)
        rc = st_buf_printf(out, "%s [%s]\n", v->kept[i].message, v->kept[i].rule);
    if (rc) return rc;
    if (v->count == 0) return st_buf_append_str(out, "no violations\n");
    if (v->count > v->nkept)
        return st_buf_printf(out, "%lld violation%s (the first %d shown)\n", (long long)v->count,
                             v->count == 1 ? "" : "s", v->nkept);
    return st_buf_printf(out, "%lld violation%s\n", (long long)v->count, v->count == 1 ? "" : "s");
}
