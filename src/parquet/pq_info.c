/*
 * Footer-derived outputs: the schema as JSON (the corpus's schema.json form)
 * and as an indented tree, footer details as JSON, and row-group selection
 * from column statistics.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/pq_decode.h"
#include "parquet/pq_internal.h"

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_) return rc_;                                                                       \
    } while (0)

static const char *physical_name(int t) {
    static const char *names[] = {"BOOLEAN", "INT32", "INT64", "INT96",
                                  "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    return t >= 0 && t <= 7 ? names[t] : NULL;
}

static const char *repetition_name(int r) {
    static const char *names[] = {"REQUIRED", "OPTIONAL", "REPEATED"};
    return r >= 0 && r <= 2 ? names[r] : NULL;
}

static const char *converted_name(int c) {
    static const char *names[] = {"UTF8", "MAP", "MAP_KEY_VALUE", "LIST", "ENUM", "DECIMAL",
                                  "DATE", "TIME_MILLIS", "TIME_MICROS", "TIMESTAMP_MILLIS",
                                  "TIMESTAMP_MICROS", "UINT_8", "UINT_16", "UINT_32", "UINT_64",
                                  "INT_8", "INT_16", "INT_32", "INT_64", "JSON", "BSON", "INTERVAL"};
    return c >= 0 && c <= 21 ? names[c] : NULL;
}

static const char *logical_name(int id) {
    switch (id) {
    case PQ_LT_STRING: return "STRING";
    case PQ_LT_MAP: return "MAP";
    case PQ_LT_LIST: return "LIST";
    case PQ_LT_ENUM: return "ENUM";
    case PQ_LT_DECIMAL: return "DECIMAL";
    case PQ_LT_DATE: return "DATE";
    case PQ_LT_TIME: return "TIME";
    case PQ_LT_TIMESTAMP: return "TIMESTAMP";
    case PQ_LT_INTEGER: return "INTEGER";
    case PQ_LT_UNKNOWN: return "NULL";
    case PQ_LT_JSON: return "JSON";
    case PQ_LT_BSON: return "BSON";
    case PQ_LT_UUID: return "UUID";
    case PQ_LT_FLOAT16: return "FLOAT16";
    case PQ_LT_VARIANT: return "VARIANT";
    case PQ_LT_GEOMETRY: return "GEOMETRY";
    case PQ_LT_GEOGRAPHY: return "GEOGRAPHY";
    default: return NULL;
    }
}

static const char *unit_name(int u) {
    return u == PQ_MILLIS ? "MILLIS" : u == PQ_MICROS ? "MICROS" : u == PQ_NANOS ? "NANOS" : NULL;
}

static int json_str_or_null(st_buf_t *b, const char *s) {
    if (!s) return st_buf_append_str(b, "null");
    return st_json_append_string(b, s, strlen(s));
}

static int json_int_or_null(st_buf_t *b, long long v, bool present) {
    if (!present) return st_buf_append_str(b, "null");
    return st_buf_printf(b, "%lld", v);
}

static int json_logical(st_buf_t *b, const pq_node_t *n) {
    if (!n->has_logical || n->logical.id == 0) return st_buf_append_str(b, "null");
    const pq_logical_type_t *lt = &n->logical;
    const char *name = logical_name(lt->id);
    if (name) TRY(st_buf_printf(b, "{\"type\":\"%s\"", name));
    else TRY(st_buf_printf(b, "{\"type\":\"UNKNOWN_ID_%d\"", lt->id));
    switch (lt->id) {
    case PQ_LT_DECIMAL: TRY(st_buf_printf(b, ",\"scale\":%d,\"precision\":%d", lt->scale, lt->precision)); break;
    case PQ_LT_TIME:
    case PQ_LT_TIMESTAMP:
        TRY(st_buf_printf(b, ",\"isAdjustedToUTC\":%s,\"unit\":", lt->utc ? "true" : "false"));
        TRY(json_str_or_null(b, unit_name(lt->unit)));
        break;
    case PQ_LT_INTEGER:
        TRY(st_buf_printf(b, ",\"bitWidth\":%d,\"isSigned\":%s", lt->bit_width, lt->is_signed ? "true" : "false"));
        break;
    default: break;
    }
    return st_buf_append_byte(b, '}');
}

int st_pq_schema_json(st_pq_file_t *f, st_buf_t *b) {
    TRY(st_buf_printf(b, "{\"rows\":%lld,\"footer_num_rows\":%lld,\"columns\":[", (long long)st_pq_num_rows(f),
                      (long long)f->num_rows));
    for (int i = 0; i < f->num_top; i++) {
        if (i) TRY(st_buf_append_byte(b, ','));
        TRY(json_str_or_null(b, st_pq_column_name(f, i)));
    }
    TRY(st_buf_append_str(b, "],\"schema\":["));
    for (int i = 0; i < f->num_nodes; i++) {
        const pq_node_t *n = &f->nodes[i];
        bool group = n->physical < 0;
        if (i) TRY(st_buf_append_byte(b, ','));
        TRY(st_buf_append_str(b, "{\"name\":"));
        TRY(json_str_or_null(b, n->name));
        TRY(st_buf_append_str(b, ",\"physical_type\":"));
        TRY(json_str_or_null(b, physical_name(n->physical)));
        /* The corpus form spells the element's type_length as a string (as
         * DuckDB's parquet_schema does) but the leaf's as a number. */
        TRY(st_buf_append_str(b, ",\"type_length\":"));
        if (n->type_length >= 0) TRY(st_buf_printf(b, "\"%d\"", n->type_length));
        else TRY(st_buf_append_str(b, "null"));
        TRY(st_buf_append_str(b, ",\"repetition\":"));
        TRY(json_str_or_null(b, repetition_name(n->repetition)));
        TRY(st_buf_append_str(b, ",\"num_children\":"));
        TRY(json_int_or_null(b, n->num_children, group));
        TRY(st_buf_append_str(b, ",\"converted_type\":"));
        TRY(json_str_or_null(b, converted_name(n->converted)));
        TRY(st_buf_append_str(b, ",\"scale\":"));
        TRY(json_int_or_null(b, n->scale, n->scale >= 0));
        TRY(st_buf_append_str(b, ",\"precision\":"));
        TRY(json_int_or_null(b, n->precision, n->precision >= 0));
        TRY(st_buf_append_str(b, ",\"field_id\":"));
        TRY(json_int_or_null(b, n->field_id, n->has_field_id));
        TRY(st_buf_append_str(b, ",\"logical_type\":"));
        TRY(json_logical(b, n));
        /* DuckDB's rendering of the annotation is not reproduced. */
        TRY(st_buf_append_str(b, ",\"logical_type_text\":null}"));
    }
    TRY(st_buf_append_str(b, "],\"leaves\":["));
    for (int l = 0; l < f->num_leaves; l++) {
        const pq_node_t *n = &f->nodes[f->leaf_nodes[l]];
        int chain[256], depth = 0;
        for (int k = f->leaf_nodes[l]; k > 0 && depth < 256; k = f->nodes[k].parent) chain[depth++] = k;
        if (l) TRY(st_buf_append_byte(b, ','));
        TRY(st_buf_append_str(b, "{\"path\":["));
        for (int i = depth - 1; i >= 0; i--) {
            TRY(json_str_or_null(b, f->nodes[chain[i]].name));
            if (i) TRY(st_buf_append_byte(b, ','));
        }
        TRY(st_buf_append_str(b, "],\"physical_type\":"));
        TRY(json_str_or_null(b, physical_name(n->physical)));
        TRY(st_buf_append_str(b, ",\"type_length\":"));
        TRY(json_int_or_null(b, n->type_length, n->type_length >= 0));
        TRY(st_buf_append_str(b, ",\"repetition\":"));
        TRY(json_str_or_null(b, repetition_name(n->repetition)));
        TRY(st_buf_append_str(b, ",\"logical_type\":"));
        TRY(json_logical(b, n));
        TRY(st_buf_append_str(b, ",\"converted_type\":"));
        TRY(json_str_or_null(b, converted_name(n->converted)));
        TRY(st_buf_printf(b, ",\"max_definition_level\":%d,\"max_repetition_level\":%d}", n->max_def, n->max_rep));
    }
    return st_buf_append_str(b, "]}");
}

/* ---- schema text ----------------------------------------------------------- */

static int annotation_text(st_buf_t *b, const pq_node_t *n) {
    if (n->has_logical && n->logical.id) {
        const pq_logical_type_t *lt = &n->logical;
        const char *name = logical_name(lt->id);
        if (name) TRY(st_buf_printf(b, " (%s", name));
        else TRY(st_buf_printf(b, " (UNKNOWN_ID_%d", lt->id));
        if (lt->id == PQ_LT_DECIMAL) TRY(st_buf_printf(b, "(%d,%d)", lt->precision, lt->scale));
        if (lt->id == PQ_LT_TIME || lt->id == PQ_LT_TIMESTAMP)
            TRY(st_buf_printf(b, "(%s,%s)", unit_name(lt->unit) ? unit_name(lt->unit) : "?",
                              lt->utc ? "true" : "false"));
        if (lt->id == PQ_LT_INTEGER)
            TRY(st_buf_printf(b, "(%d,%s)", lt->bit_width, lt->is_signed ? "true" : "false"));
        return st_buf_append_byte(b, ')');
    }
    const char *ct = converted_name(n->converted);
    if (!ct) return ST_OK;
    if (n->converted == PQ_CT_DECIMAL) return st_buf_printf(b, " (DECIMAL(%d,%d))", n->precision, n->scale);
    return st_buf_printf(b, " (%s)", ct);
}

static int schema_text_node(st_pq_file_t *f, int i, int depth, st_buf_t *b) {
    const pq_node_t *n = &f->nodes[i];
    for (int k = 0; k < depth; k++) TRY(st_buf_append_str(b, "  "));
    if (i == 0) {
        TRY(st_buf_printf(b, "message %s", n->name));
    } else {
        const char *rep = n->repetition == PQ_OPTIONAL ? "optional" : n->repetition == PQ_REPEATED ? "repeated" : "required";
        static const char *types[] = {"boolean", "int32", "int64", "int96", "float", "double", "binary",
                                      "fixed_len_byte_array"};
        if (n->physical < 0) TRY(st_buf_printf(b, "%s group %s", rep, n->name));
        else if (n->physical == PQ_FIXED_LEN_BYTE_ARRAY)
            TRY(st_buf_printf(b, "%s fixed_len_byte_array(%d) %s", rep, n->type_length, n->name));
        else TRY(st_buf_printf(b, "%s %s %s", rep, types[n->physical], n->name));
    }
    TRY(annotation_text(b, n));
    if (n->has_field_id) TRY(st_buf_printf(b, " = %d", n->field_id));
    TRY(st_buf_append_byte(b, '\n'));
    if (depth > 200) return ST_OK;
    for (int c = 0; n->physical < 0 && c < n->num_children; c++) TRY(schema_text_node(f, n->children[c], depth + 1, b));
    return ST_OK;
}

int st_pq_schema_text(st_pq_file_t *f, st_buf_t *out) { return schema_text_node(f, 0, 0, out); }

/* ---- footer JSON ----------------------------------------------------------- */

static bool is_unsigned(const pq_node_t *n) {
    if (n->has_logical && n->logical.id == PQ_LT_INTEGER) return !n->logical.is_signed;
    return n->converted >= PQ_CT_UINT_8 && n->converted <= PQ_CT_UINT_64;
}

static bool is_text(const pq_node_t *n) {
    if (n->has_logical)
        return n->logical.id == PQ_LT_STRING || n->logical.id == PQ_LT_ENUM || n->logical.id == PQ_LT_JSON;
    return n->converted == PQ_CT_UTF8 || n->converted == PQ_CT_ENUM || n->converted == PQ_CT_JSON;
}

static int64_t le_int(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return (int64_t)v;
}

/* A statistics value as JSON: numbers for numbers, text for text, hex else. */
static int stat_value_json(st_buf_t *b, const pq_node_t *n, const uint8_t *v, uint32_t len) {
    char tmp[32];
    switch (n->physical) {
    case PQ_BOOLEAN:
        if (len == 1) return st_buf_append_str(b, v[0] ? "true" : "false");
        break;
    case PQ_INT32:
        if (len == 4) {
            int32_t x = (int32_t)le_int(v, 4);
            return is_unsigned(n) ? st_buf_printf(b, "%u", (uint32_t)x) : st_buf_printf(b, "%d", x);
        }
        break;
    case PQ_INT64:
        if (len == 8) {
            int64_t x = le_int(v, 8);
            return is_unsigned(n) ? st_buf_printf(b, "%llu", (unsigned long long)x) : st_buf_printf(b, "%lld", (long long)x);
        }
        break;
    case PQ_FLOAT:
        if (len == 4) {
            uint32_t u = (uint32_t)le_int(v, 4);
            float x;
            memcpy(&x, &u, 4);
            st_format_float(x, tmp);
            return isfinite(x) ? st_buf_append_str(b, tmp) : st_json_append_string(b, tmp, strlen(tmp));
        }
        break;
    case PQ_DOUBLE:
        if (len == 8) {
            uint64_t u = (uint64_t)le_int(v, 8);
            double x;
            memcpy(&x, &u, 8);
            st_format_double(x, tmp);
            return isfinite(x) ? st_buf_append_str(b, tmp) : st_json_append_string(b, tmp, strlen(tmp));
        }
        break;
    case PQ_BYTE_ARRAY:
        if (is_text(n) && st_utf8_valid(v, len)) return st_json_append_string(b, (const char *)v, len);
        break;
    default: break;
    }
    TRY(st_buf_append_byte(b, '"'));
    TRY(st_buf_reserve(b, (size_t)len * 2 + 1));
    st_hex(v, len, (char *)b->data + b->len);
    b->len += (size_t)len * 2;
    return st_buf_append_byte(b, '"');
}

static const char *codec_name(int c) {
    static const char *names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};
    return c >= 0 && c <= 7 ? names[c] : NULL;
}

int st_pq_meta_json(st_pq_file_t *f, st_buf_t *b) {
    TRY(st_buf_printf(b, "{\"version\":%d,\"num_rows\":%lld,\"created_by\":", f->version, (long long)f->num_rows));
    TRY(json_str_or_null(b, f->created_by));
    TRY(st_buf_append_str(b, ",\"key_value_metadata\":["));
    for (int i = 0; i < f->num_kv; i++) {
        if (i) TRY(st_buf_append_byte(b, ','));
        TRY(st_buf_append_str(b, "{\"key\":"));
        TRY(json_str_or_null(b, f->kv[i].key));
        TRY(st_buf_append_str(b, ",\"value\":"));
        TRY(json_str_or_null(b, f->kv[i].value));
        TRY(st_buf_append_byte(b, '}'));
    }
    TRY(st_buf_append_str(b, "],\"row_groups\":["));
    for (int g = 0; g < f->num_row_groups; g++) {
        const pq_row_group_t *rg = &f->row_groups[g];
        if (g) TRY(st_buf_append_byte(b, ','));
        TRY(st_buf_printf(b, "{\"num_rows\":%lld,\"total_byte_size\":%lld,\"columns\":[", (long long)rg->num_rows,
                          (long long)rg->total_byte_size));
        for (int l = 0; l < f->num_leaves; l++) {
            const pq_chunk_meta_t *m = &rg->chunks[l];
            const pq_node_t *n = &f->nodes[f->leaf_nodes[l]];
            if (l) TRY(st_buf_append_byte(b, ','));
            TRY(st_buf_append_str(b, "{\"path\":"));
            TRY(json_str_or_null(b, pq_leaf_path(f, l)));
            TRY(st_buf_append_str(b, ",\"physical_type\":"));
            TRY(json_str_or_null(b, physical_name(m->physical)));
            TRY(st_buf_append_str(b, ",\"encodings\":["));
            for (int e = 0; e < m->num_encodings; e++) {
                if (e) TRY(st_buf_append_byte(b, ','));
                const char *en = pq_encoding_name(m->encodings[e]);
                if (en) TRY(json_str_or_null(b, en));
                else TRY(st_buf_printf(b, "\"%d\"", m->encodings[e]));
            }
            TRY(st_buf_append_str(b, "],\"codec\":"));
            if (codec_name(m->codec)) TRY(json_str_or_null(b, codec_name(m->codec)));
            else TRY(st_buf_printf(b, "\"%d\"", m->codec));
            TRY(st_buf_printf(b,
                              ",\"num_values\":%lld,\"total_compressed_size\":%lld,\"total_uncompressed_size\":%lld,"
                              "\"data_page_offset\":%lld,\"dictionary_page_offset\":",
                              (long long)m->num_values, (long long)m->total_compressed_size,
                              (long long)m->total_uncompressed_size, (long long)m->data_page_offset));
            TRY(json_int_or_null(b, m->dictionary_page_offset, m->dictionary_page_offset >= 0));
            TRY(st_buf_append_str(b, ",\"statistics\":"));
            if (!m->has_stats) {
                TRY(st_buf_append_str(b, "null}"));
                continue;
            }
            const pq_stats_t *s = &m->stats;
            TRY(st_buf_append_str(b, "{\"min\":"));
            if (s->has_min) TRY(stat_value_json(b, n, s->min, s->min_len));
            else TRY(st_buf_append_str(b, "null"));
            TRY(st_buf_append_str(b, ",\"max\":"));
            if (s->has_max) TRY(stat_value_json(b, n, s->max, s->max_len));
            else TRY(st_buf_append_str(b, "null"));
            TRY(st_buf_append_str(b, ",\"null_count\":"));
            TRY(json_int_or_null(b, s->null_count, s->has_null_count));
            TRY(st_buf_append_str(b, ",\"distinct_count\":"));
            TRY(json_int_or_null(b, s->distinct_count, s->has_distinct));
            TRY(st_buf_printf(b, ",\"legacy\":%s}}", s->legacy ? "true" : "false"));
        }
        TRY(st_buf_append_str(b, "]}"));
    }
    return st_buf_append_str(b, "]}");
}

/* ---- row-group selection --------------------------------------------------- */

typedef __int128 i128;

enum key_kind { K_NONE, K_INT, K_FLOAT, K_BYTES };

typedef struct key {
    int kind;
    i128 i;
    double d;
    const uint8_t *s;
    size_t n;
} key_t_;

/* How a column's statistics compare, or K_NONE when its order is undefined. */
static int column_kind(const pq_node_t *n) {
    bool has_lt = n->has_logical && n->logical.id;
    int lt = has_lt ? n->logical.id : 0;
    switch (n->physical) {
    case PQ_BOOLEAN:
    case PQ_INT32:
    case PQ_INT64: return K_INT;
    case PQ_FLOAT:
    case PQ_DOUBLE: return K_FLOAT;
    case PQ_BYTE_ARRAY:
    case PQ_FIXED_LEN_BYTE_ARRAY:
        if (lt == PQ_LT_DECIMAL || (!has_lt && n->converted == PQ_CT_DECIMAL)) return K_INT;
        if (n->converted == PQ_CT_INTERVAL || lt == PQ_LT_FLOAT16 || lt == PQ_LT_VARIANT || lt == PQ_LT_GEOMETRY ||
            lt == PQ_LT_GEOGRAPHY)
            return K_NONE;
        if (has_lt && !logical_name(lt)) return K_NONE;
        return K_BYTES;
    default: return K_NONE; /* INT96: no defined order */
    }
}

static int decimal_scale(const pq_node_t *n) {
    if (n->has_logical && n->logical.id == PQ_LT_DECIMAL) return n->logical.scale;
    if (n->converted == PQ_CT_DECIMAL) return n->scale;
    return 0;
}

/* Statistics bytes to a key; false when they cannot be used. */
static bool stat_key(const pq_node_t *n, int kind, const uint8_t *v, uint32_t len, key_t_ *k) {
    k->kind = kind;
    if (kind == K_INT) {
        if (n->physical == PQ_BOOLEAN) {
            if (len != 1) return false;
            k->i = v[0] != 0;
        } else if (n->physical == PQ_INT32 || n->physical == PQ_INT64) {
            int w = n->physical == PQ_INT32 ? 4 : 8;
            if ((int)len != w) return false;
            int64_t x = le_int(v, w);
            if (w == 4) k->i = is_unsigned(n) ? (i128)(uint32_t)x : (i128)(int32_t)x;
            else k->i = is_unsigned(n) ? (i128)(uint64_t)x : (i128)x;
        } else {
            if (len == 0 || len > 16) return false;
            i128 x = (v[0] & 0x80) ? -1 : 0;
            for (uint32_t i = 0; i < len; i++) x = (i128)(((unsigned __int128)x << 8) | v[i]);
            k->i = x;
        }
        return true;
    }
    if (kind == K_FLOAT) {
        if (n->physical == PQ_FLOAT && len == 4) {
            uint32_t u = (uint32_t)le_int(v, 4);
            float x;
            memcpy(&x, &u, 4);
            k->d = x;
        } else if (n->physical == PQ_DOUBLE && len == 8) {
            uint64_t u = (uint64_t)le_int(v, 8);
            memcpy(&k->d, &u, 8);
        } else {
            return false;
        }
        return !isnan(k->d);
    }
    if (kind == K_BYTES) {
        k->s = v;
        k->n = len;
        return true;
    }
    return false;
}

static int key_cmp(const key_t_ *a, const key_t_ *b) {
    switch (a->kind) {
    case K_INT: return a->i < b->i ? -1 : a->i > b->i;
    case K_FLOAT: return a->d < b->d ? -1 : a->d > b->d;
    default: {
        size_t m = a->n < b->n ? a->n : b->n;
        int c = m ? memcmp(a->s, b->s, m) : 0;
        if (c) return c < 0 ? -1 : 1;
        return a->n < b->n ? -1 : a->n > b->n;
    }
    }
}

/* Parses a decimal literal into floor(value * 10^scale); *exact tells whether
 * digits were dropped. */
static bool parse_scaled(const char *s, int scale, i128 *out, bool *exact) {
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+') neg = *p++ == '-';
    char digits[80];
    int nd = 0, point = -1;
    bool any = false;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            any = true;
            if (nd == 0 && *p == '0' && point < 0) continue; /* leading zeros */
            if (nd >= 76) return false;
            digits[nd++] = *p;
        } else if (*p == '.' && point < 0) {
            point = nd;
        } else {
            break;
        }
    }
    if (!any) return false;
    if (point < 0) point = nd;
    long exp10 = 0;
    if (*p == 'e' || *p == 'E') {
        char *end;
        exp10 = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end || exp10 > 100 || exp10 < -100) return false;
        p = end;
    }
    if (*p) return false;
    /* value = 0.digits * 10^(point + exp10); keep point + exp10 + scale digits. */
    long keep = point + exp10 + scale;
    i128 v = 0;
    *exact = true;
    for (long i = 0; i < nd; i++) {
        if (i < keep) {
            if (v > ((i128)1 << 120) / 10) return false;
            v = v * 10 + (digits[i] - '0');
        } else if (digits[i] != '0') {
            *exact = false;
        }
    }
    for (long i = nd; i < keep; i++) {
        if (v > ((i128)1 << 120) / 10) return false;
        v *= 10;
    }
    if (neg) {
        v = -v;
        if (!*exact) v -= 1; /* floor */
    }
    *out = v;
    return true;
}

static bool time_digits(const pq_node_t *n, int *digits, bool *is_ts) {
    if (n->has_logical && (n->logical.id == PQ_LT_TIMESTAMP || n->logical.id == PQ_LT_TIME)) {
        *digits = n->logical.unit;
        *is_ts = n->logical.id == PQ_LT_TIMESTAMP;
        return *digits == 3 || *digits == 6 || *digits == 9;
    }
    switch (n->converted) {
    case PQ_CT_TIMESTAMP_MILLIS: *digits = 3; *is_ts = true; return true;
    case PQ_CT_TIMESTAMP_MICROS: *digits = 6; *is_ts = true; return true;
    case PQ_CT_TIME_MILLIS: *digits = 3; *is_ts = false; return true;
    case PQ_CT_TIME_MICROS: *digits = 6; *is_ts = false; return true;
    default: return false;
    }
}

static bool is_date(const pq_node_t *n) {
    return (n->has_logical && n->logical.id == PQ_LT_DATE) || n->converted == PQ_CT_DATE;
}

/* Converts the literal to the column's key space. *exact = false means the
 * literal lies strictly between key and key + 1 (integers only). */
static int literal_key(const pq_node_t *n, int kind, const char *lit, key_t_ *k, bool *exact) {
    k->kind = kind;
    *exact = true;
    int digits;
    bool is_ts;
    if (kind == K_INT && n->physical == PQ_BOOLEAN) {
        if (!strcmp(lit, "true") || !strcmp(lit, "1")) k->i = 1;
        else if (!strcmp(lit, "false") || !strcmp(lit, "0")) k->i = 0;
        else return st_error(ST_ETYPE, "'%s' is not a boolean", lit);
        return ST_OK;
    }
    if (kind == K_INT && is_date(n)) {
        int32_t d;
        TRY(st_parse_date(lit, &d));
        k->i = d;
        return ST_OK;
    }
    if (kind == K_INT && time_digits(n, &digits, &is_ts)) {
        int64_t v;
        int pd = digits == 9 ? 9 : 6;
        TRY(is_ts ? st_parse_timestamp(lit, pd, &v) : st_parse_time(lit, pd, &v));
        if (digits == 3) {
            int64_t q = v / 1000, r = v % 1000;
            if (r < 0) {
                q--;
                r += 1000;
            }
            *exact = r == 0;
            v = q;
        }
        k->i = v;
        return ST_OK;
    }
    if (kind == K_INT) {
        if (!parse_scaled(lit, decimal_scale(n), &k->i, exact))
            return st_error(ST_ETYPE, "'%s' is not a number", lit);
        return ST_OK;
    }
    if (kind == K_FLOAT) {
        char *end;
        if (!strcmp(lit, "NaN")) k->d = NAN;
        else if (!strcmp(lit, "Infinity")) k->d = INFINITY;
        else if (!strcmp(lit, "-Infinity")) k->d = -INFINITY;
        else {
            k->d = strtod(lit, &end);
            if (end == lit || *end) return st_error(ST_ETYPE, "'%s' is not a number", lit);
        }
        /* FLOAT statistics widen exactly to double, so comparing there is exact. */
        return ST_OK;
    }
    if (n->has_logical && n->logical.id == PQ_LT_UUID && n->physical == PQ_FIXED_LEN_BYTE_ARRAY) {
        static _Thread_local uint8_t uuid[16];
        TRY(st_uuid_parse(lit, uuid));
        k->s = uuid;
        k->n = 16;
        return ST_OK;
    }
    k->s = (const uint8_t *)lit;
    k->n = strlen(lit);
    return ST_OK;
}

/* True if statistics prove that no row of the chunk satisfies the predicate. */
static int chunk_excludes(st_pq_file_t *f, int rg, int leaf, const st_pq_pred_t *p, bool *excl) {
    const pq_node_t *n = &f->nodes[f->leaf_nodes[leaf]];
    const pq_chunk_meta_t *m = &f->row_groups[rg].chunks[leaf];
    const pq_stats_t *s = &m->stats;
    *excl = false;
    bool nc = m->has_stats && s->has_null_count;
    if (p->cmp == ST_PQ_IS_NULL) {
        *excl = n->repetition == PQ_REQUIRED || (nc && s->null_count == 0);
        return ST_OK;
    }
    bool all_null = nc && s->null_count == m->num_values && m->num_values > 0;
    if (p->cmp == ST_PQ_NOT_NULL) {
        *excl = all_null;
        return ST_OK;
    }
    if (!p->literal) return st_error(ST_EINVAL, "predicate on %s needs a literal", p->column);
    int kind = column_kind(n);
    key_t_ lit;
    bool exact;
    if (kind == K_NONE) return ST_OK;
    TRY(literal_key(n, kind, p->literal, &lit, &exact));
    if (all_null) {
        *excl = true;
        return ST_OK;
    }
    if (!m->has_stats || m->num_values == 0) return ST_OK;
    if (kind == K_FLOAT && isnan(lit.d)) return ST_OK;
    key_t_ mn, mx;
    bool has_mn = s->has_min && stat_key(n, kind, s->min, s->min_len, &mn);
    bool has_mx = s->has_max && stat_key(n, kind, s->max, s->max_len, &mx);
    /* An inexact literal x lies in (lit, lit + 1): rewrite onto integers. */
    st_pq_cmp_t cmp = p->cmp;
    if (!exact) {
        switch (cmp) {
        case ST_PQ_EQ: *excl = true; return ST_OK;
        case ST_PQ_NE: return ST_OK;
        case ST_PQ_LT:
        case ST_PQ_LE: cmp = ST_PQ_LE; break;
        case ST_PQ_GT:
        case ST_PQ_GE:
            cmp = ST_PQ_GE;
            lit.i += 1;
            break;
        default: break;
        }
    }
    int cmin = has_mn ? key_cmp(&mn, &lit) : 0, cmax = has_mx ? key_cmp(&mx, &lit) : 0;
    switch (cmp) {
    case ST_PQ_EQ: *excl = (has_mn && cmin > 0) || (has_mx && cmax < 0); break;
    case ST_PQ_NE: *excl = has_mn && has_mx && cmin == 0 && cmax == 0; break; /* nulls fail NE too */
    case ST_PQ_LT: *excl = has_mn && cmin >= 0; break;
    case ST_PQ_LE: *excl = has_mn && cmin > 0; break;
    case ST_PQ_GT: *excl = has_mx && cmax <= 0; break;
    case ST_PQ_GE: *excl = has_mx && cmax < 0; break;
    default: break;
    }
    /* Float stats: -0 and +0 compare equal already; a NaN bound was refused. */
    return ST_OK;
}

int st_pq_select_row_groups(st_pq_file_t *f, const st_pq_pred_t *preds, int npreds, bool *keep) {
    for (int g = 0; g < f->num_row_groups; g++) keep[g] = true;
    for (int i = 0; i < npreds; i++) {
        const st_pq_pred_t *p = &preds[i];
        int col = st_pq_column_index(f, p->column);
        if (col < 0) return st_error(ST_ENOTFOUND, "%s: no column named '%s'", f->src.name, p->column);
        const pq_node_t *n = &f->nodes[f->nodes[0].children[col]];
        if (n->physical < 0 || n->leaf < 0)
            return st_error(ST_EINVAL, "%s: column '%s' is not a primitive column", f->src.name, p->column);
        for (int g = 0; g < f->num_row_groups; g++) {
            if (!keep[g]) continue;
            bool excl;
            int rc = chunk_excludes(f, g, n->leaf, p, &excl);
            if (rc) return st_error_prefix(rc, "%s: column %s", f->src.name, p->column);
            if (excl) keep[g] = false;
        }
    }
    return ST_OK;
}
