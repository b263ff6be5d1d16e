/*
 * The Parquet footer: reads FileMetaData with the thrift decoder into
 * struct st_pq_file, builds the schema tree (parents, children, leaves, max
 * definition / repetition levels) and checks that what later stages rely on is
 * consistent (leaf types, column counts per row group, sizes and offsets).
 */
#include <stdlib.h>
#include <string.h>

#include "parquet/pq_decode.h"
#include "parquet/pq_internal.h"
#include "parquet/thrift.h"

/* Tree depth beyond which a schema is refused: levels are int16 and real
 * schemas stay far below this. */
#define PQ_MAX_SCHEMA_DEPTH 128

typedef struct meta_ctx {
    th_reader_t r;
    st_pq_file_t *f;
    const char *name;
} meta_ctx_t;

static int corrupt(meta_ctx_t *c, const char *what) {
    return st_error(ST_ECORRUPT, "%s: %s", c->name, what);
}

/* Adds the file name to a thrift error coming from below. */
static int thrift_fail(meta_ctx_t *c, int rc) {
    if (!strncmp(st_errmsg(), "thrift:", 7)) return st_error_prefix(rc, "%s: footer", c->name);
    return rc;
}

/* ---- small readers -------------------------------------------------------- */

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_) return rc_;                                                                       \
    } while (0)

/* Reads an empty-or-unknown struct value and returns the id of its first field
 * (the member of a thrift union), skipping everything. */
static int read_union_id(th_reader_t *r, int type, int *id_out) {
    if (type != TH_STRUCT) return st_error(ST_ECORRUPT, "thrift: expected a union");
    th_struct_t s;
    TRY(th_struct_begin(r, &s));
    *id_out = 0;
    int rc = 0;
    for (;;) {
        int16_t id;
        int t;
        if ((rc = th_field(r, &s, &id, &t)) || t == TH_STOP) break;
        if (!*id_out) *id_out = id;
        if ((rc = th_skip(r, t))) break;
    }
    th_struct_end(r);
    return rc;
}

static int read_time_unit(th_reader_t *r, int type, int *unit) {
    int id = 0;
    TRY(read_union_id(r, type, &id));
    *unit = id == 1 ? PQ_MILLIS : id == 2 ? PQ_MICROS : id == 3 ? PQ_NANOS : 0;
    return ST_OK;
}

/* The members of TIME / TIMESTAMP / DECIMAL / INTEGER carry parameters. */
static int read_logical_params(th_reader_t *r, int type, pq_logical_type_t *lt) {
    if (type != TH_STRUCT) return th_skip(r, type);
    th_struct_t s;
    TRY(th_struct_begin(r, &s));
    int rc = 0;
    for (;;) {
        int16_t id;
        int t;
        if ((rc = th_field(r, &s, &id, &t)) || t == TH_STOP) break;
        int32_t v;
        bool b;
        switch (lt->id) {
        case PQ_LT_DECIMAL:
            if (id == 1 || id == 2) {
                if ((rc = th_read_i32(r, t, &v))) break;
                if (id == 1) lt->scale = v;
                else lt->precision = v;
                continue;
            }
            break;
        case PQ_LT_TIME:
        case PQ_LT_TIMESTAMP:
            if (id == 1) {
                if ((rc = th_read_bool(r, t, &b))) break;
                lt->utc = b;
                continue;
            }
            if (id == 2) {
                if ((rc = read_time_unit(r, t, &lt->unit))) break;
                continue;
            }
            break;
        case PQ_LT_INTEGER:
            if (id == 1) {
                if ((rc = th_read_i32(r, t, &v))) break;
                lt->bit_width = v;
                continue;
            }
            if (id == 2) {
                if ((rc = th_read_bool(r, t, &b))) break;
                lt->is_signed = b;
                continue;
            }
            break;
        default:
            break;
        }
        if (rc || (rc = th_skip(r, t))) break;
    }
    th_struct_end(r);
    return rc;
}

static int read_logical_type(th_reader_t *r, int type, pq_logical_type_t *lt) {
    if (type != TH_STRUCT) return st_error(ST_ECORRUPT, "thrift: logicalType is not a struct");
    memset(lt, 0, sizeof *lt);
    lt->scale = lt->precision = -1;
    th_struct_t s;
    TRY(th_struct_begin(r, &s));
    int rc = 0;
    for (;;) {
        int16_t id;
        int t;
        if ((rc = th_field(r, &s, &id, &t)) || t == TH_STOP) break;
        if (lt->id == 0 && id > 0) {
            lt->id = id;
            if ((rc = read_logical_params(r, t, lt))) break;
        } else if ((rc = th_skip(r, t))) {
            break;
        }
    }
    th_struct_end(r);
    return rc;
}

/* ---- schema --------------------------------------------------------------- */

static int read_schema_element(meta_ctx_t *c, int type, pq_node_t *n, bool *has_children) {
    th_reader_t *r = &c->r;
    if (type != TH_STRUCT) return corrupt(c, "schema element is not a struct");
    th_struct_t s;
    TRY(th_struct_begin(r, &s));
    n->physical = -1;
    n->type_length = -1;
    n->repetition = -1;
    n->converted = PQ_CT_NONE;
    n->scale = n->precision = -1;
    n->field_id = -1;
    n->parent = -1;
    n->leaf = -1;
    *has_children = false;
    int rc = 0;
    for (;;) {
        int16_t id;
        int t;
        int32_t v;
        if ((rc = th_field(r, &s, &id, &t)) || t == TH_STOP) break;
        switch (id) {
        case 1:
            if (!(rc = th_read_i32(r, t, &v))) {
                if (v < 0 || v > PQ_FIXED_LEN_BYTE_ARRAY) rc = corrupt(c, "schema element has an unknown physical type");
                else n->physical = v;
            }
            break;
        case 2: if (!(rc = th_read_i32(r, t, &v))) n->type_length = v; break;
        case 3:
            if (!(rc = th_read_i32(r, t, &v))) {
                if (v < 0 || v > PQ_REPEATED) rc = corrupt(c, "schema element has an unknown repetition");
                else n->repetition = v;
            }
            break;
        case 4:
            free(n->name);
            n->name = NULL;
            rc = th_read_string(r, t, &n->name);
            break;
        case 5:
            if (!(rc = th_read_i32(r, t, &v))) {
                if (v < 0) rc = corrupt(c, "schema element has a negative number of children");
                n->num_children = v;
                *has_children = true;
            }
            break;
        case 6: if (!(rc = th_read_i32(r, t, &v))) n->converted = v; break;
        case 7: if (!(rc = th_read_i32(r, t, &v))) n->scale = v; break;
        case 8: if (!(rc = th_read_i32(r, t, &v))) n->precision = v; break;
        case 9:
            if (!(rc = th_read_i32(r, t, &v))) {
                n->field_id = v;
                n->has_field_id = true;
            }
            break;
        case 10:
            if (!(rc = read_logical_type(r, t, &n->logical))) n->has_logical = true;
            break;
        default: rc = th_skip(r, t); break;
        }
        if (rc) break;
    }
    th_struct_end(r);
    if (!rc && !n->name) rc = corrupt(c, "schema element without a name");
    return rc;
}

/* Links the flat, depth-first element list into a tree and derives levels. */
static int build_tree(meta_ctx_t *c) {
    st_pq_file_t *f = c->f;
    pq_node_t *nodes = f->nodes;
    int n = f->num_nodes;
    if (n < 1) return corrupt(c, "schema is empty");
    if (nodes[0].physical >= 0 && nodes[0].num_children == 0)
        return corrupt(c, "schema root is not a group");
    int *block = calloc((size_t)n, sizeof(int));
    int *leaves = calloc((size_t)n, sizeof(int));
    if (!block || !leaves) {
        free(block);
        free(leaves);
        return st_error(ST_ENOMEM, "%s: out of memory", c->name);
    }
    f->leaf_nodes = leaves;
    /* Each group gets its slice of one block; the root's starts at 0 so the
     * block can be freed through it. */
    struct frame { int node, filled; } stack[PQ_MAX_SCHEMA_DEPTH + 1];
    int sp = 0, used = 0, next = 1;
    nodes[0].children = block;
    used = nodes[0].num_children;
    if (used > n - 1) return corrupt(c, "schema root claims more children than there are elements");
    nodes[0].max_def = nodes[0].max_rep = 0;
    stack[0].node = 0;
    stack[0].filled = 0;
    while (sp >= 0) {
        pq_node_t *g = &nodes[stack[sp].node];
        if (stack[sp].filled == g->num_children) {
            sp--;
            continue;
        }
        if (next >= n) return corrupt(c, "schema ends before all children are listed");
        int i = next++;
        pq_node_t *ch = &nodes[i];
        g->children[stack[sp].filled++] = i;
        ch->parent = stack[sp].node;
        ch->max_def = (int16_t)(g->max_def + (ch->repetition == PQ_OPTIONAL || ch->repetition == PQ_REPEATED));
        ch->max_rep = (int16_t)(g->max_rep + (ch->repetition == PQ_REPEATED));
        if (ch->num_children > 0) {
            if (ch->num_children > n - 1 - used)
                return corrupt(c, "schema group claims more children than there are elements");
            ch->children = block + used;
            used += ch->num_children;
            if (sp + 1 > PQ_MAX_SCHEMA_DEPTH) return corrupt(c, "schema nested too deeply");
            sp++;
            stack[sp].node = i;
            stack[sp].filled = 0;
        } else if (ch->physical >= 0) {
            if (ch->physical == PQ_FIXED_LEN_BYTE_ARRAY && (ch->type_length <= 0 || ch->type_length > (1 << 24)))
                return st_error(ST_ECORRUPT, "%s: column %s: bad FIXED_LEN_BYTE_ARRAY length %d", c->name,
                                ch->name, ch->type_length);
            ch->leaf = f->num_leaves;
            leaves[f->num_leaves++] = i;
        }
        /* A group with no children and no type holds no column: tolerated. */
    }
    if (next != n) return corrupt(c, "schema has elements outside the tree");
    f->num_top = nodes[0].num_children;
    return ST_OK;
}

static int read_schema(meta_ctx_t *c, int type) {
    uint32_t count;
    int et;
    TRY(th_list_begin(&c->r, type, &et, &count));
    if (et != TH_STRUCT) return corrupt(c, "schema is not a list of structs");
    if (c->f->nodes) return corrupt(c, "schema given twice");
    if (count == 0) return corrupt(c, "schema is empty");
    c->f->nodes = calloc(count, sizeof(pq_node_t));
    if (!c->f->nodes) return st_error(ST_ENOMEM, "%s: out of memory", c->name);
    for (uint32_t i = 0; i < count; i++) {
        bool has_children = false;
        c->f->num_nodes = (int)i + 1;
        TRY(read_schema_element(c, et, &c->f->nodes[i], &has_children));
        pq_node_t *nd = &c->f->nodes[i];
        if (nd->physical >= 0 && has_children && nd->num_children > 0) nd->physical = -1;
    }
    return ST_OK;
}

/* ---- row groups ----------------------------------------------------------- */

static int read_stats(meta_ctx_t *c, int type, pq_stats_t *st, int physical, const pq_node_t *leaf) {
    th_reader_t *r = &c->r;
    if (type != TH_STRUCT) return corrupt(c, "statistics is not a struct");
    th_struct_t s;
    TRY(th_struct_begin(r, &s));
    const uint8_t *lmin = NULL, *lmax = NULL, *vmin = NULL, *vmax = NULL;
    uint32_t lmin_n = 0, lmax_n = 0, vmin_n = 0, vmax_n = 0;
    int rc = 0;
    for (;;) {
        int16_t id;
        int t;
        if ((rc = th_field(r, &s, &id, &t)) || t == TH_STOP) break;
        switch (id) {
        case 1: rc = th_read_binary(r, t, &lmax, &lmax_n); break;
        case 2: rc = th_read_binary(r, t, &lmin, &lmin_n); break;
        case 3:
            if (!(rc = th_read_i64(r, t, &st->null_count))) st->has_null_count = st->null_count >= 0;
            break;
        case 4:
            if (!(rc = th_read_i64(r, t, &st->distinct_count))) st->has_distinct = st->distinct_count >= 0;
            break;
        case 5: rc = th_read_binary(r, t, &vmax, &vmax_n); break;
        case 6: rc = th_read_binary(r, t, &vmin, &vmin_n); break;
        default: rc = th_skip(r, t); break;
        }
        if (rc) break;
    }
    th_struct_end(r);
    if (rc) return rc;
    if (vmin || vmax) {
        st->min = (uint8_t *)vmin;
        st->min_len = vmin_n;
        st->has_min = vmin != NULL;
        st->max = (uint8_t *)vmax;
        st->max_len = vmax_n;
        st->has_max = vmax != NULL;
        return ST_OK;
    }
    /* The deprecated fields were written with a signed comparison whatever the
     * type: trustworthy only where that is the type's real order. */
    bool usable = physical == PQ_BOOLEAN || physical == PQ_INT32 || physical == PQ_INT64 ||
                  physical == PQ_FLOAT || physical == PQ_DOUBLE;
    if (leaf && ((leaf->converted >= PQ_CT_UINT_8 && leaf->converted <= PQ_CT_UINT_64) ||
                 (leaf->has_logical && leaf->logical.id == PQ_LT_INTEGER && !leaf->logical.is_signed)))
        usable = false;
    if (usable && (lmin || lmax)) {
        st->legacy = true;
        st->min = (uint8_t *)lmin;
        st->min_len = lmin_n;
        st->has_min = lmin != NULL;
        st->max = (uint8_t *)lmax;
        st->max_len = lmax_n;
        st->has_max = lmax != NULL;
    }
    return ST_OK;
}

static int read_string_list(meta_ctx_t *c, int type, char ***out, int *count) {
    uint32_t n;
    int et;
    TRY(th_list_begin(&c->r, type, &et, &n));
    if (et != TH_BINARY) return corrupt(c, "path_in_schema is not a list of strings");
    if (*out) return corrupt(c, "path_in_schema given twice");
    *out = calloc(n ? n : 1, sizeof(char *));
    if (!*out) return st_error(ST_ENOMEM, "%s: out of memory", c->name);
    for (uint32_t i = 0; i < n; i++) {
        TRY(th_read_string(&c->r, et, &(*out)[i]));
        *count = (int)i + 1;
    }
    return ST_OK;
}

/* ColumnMetaData.encoding_stats: a list of PageEncodingStats {page_type,
 * encoding, count}. Elements of another shape are skipped, not refused: the
 * counts only guide pruning reports. */
static int read_page_counts(meta_ctx_t *c, int type, pq_chunk_meta_t *m) {
    th_reader_t *r = &c->r;
    int et;
    uint32_t n;
    TRY(th_list_begin(r, type, &et, &n));
    m->has_page_counts = true;
    m->all_dictionary = true;
    m->dict_pages = m->data_pages = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (et != TH_STRUCT) {
            TRY(th_skip(r, et));
            continue;
        }
        th_struct_t s;
        TRY(th_struct_begin(r, &s));
        int32_t ptype = -1, enc = -1, count = 0;
        for (;;) {
            int16_t id;
            int t;
            TRY(th_field(r, &s, &id, &t));
            if (t == TH_STOP) break;
            if (id == 1) TRY(th_read_i32(r, t, &ptype));
            else if (id == 2) TRY(th_read_i32(r, t, &enc));
            else if (id == 3) TRY(th_read_i32(r, t, &count));
            else TRY(th_skip(r, t));
        }
        th_struct_end(r);
        if (count < 0) count = 0;
        if (ptype == PQ_PAGE_DICTIONARY) {
            m->dict_pages += count;
        } else if (ptype == PQ_PAGE_DATA || ptype == PQ_PAGE_DATA_V2) {
            m->data_pages += count;
            if (count > 0 && enc != PQ_ENC_RLE_DICTIONARY && enc != PQ_ENC_PLAIN_DICTIONARY)
                m->all_dictionary = false;
        }
    }
    if (m->dict_pages == 0) m->all_dictionary = false;
    return ST_OK;
}

static int read_column_meta(meta_ctx_t *c, int type, pq_chunk_meta_t *m, const pq_node_t *leaf) {
    th_reader_t *r = &c->r;
    if (type != TH_STRUCT) return corrupt(c, "column metadata is not a struct");
    th_struct_t s;
    TRY(th_struct_begin(r, &s));
    int rc = 0;
    bool seen_type = false, seen_dpo = false;
    for (;;) {
        int16_t id;
        int t;
        int32_t v;
        if ((rc = th_field(r, &s, &id, &t)) || t == TH_STOP) break;
        switch (id) {
        case 1:
            if (!(rc = th_read_i32(r, t, &v))) {
                m->physical = v;
                seen_type = true;
            }
            break;
        case 2: {
            uint32_t n;
            int et;
            if ((rc = th_list_begin(r, t, &et, &n))) break;
            if (m->encodings) {
                rc = corrupt(c, "encodings given twice");
                break;
            }
            m->encodings = calloc(n ? n : 1, sizeof(int));
            if (!m->encodings) {
                rc = st_error(ST_ENOMEM, "%s: out of memory", c->name);
                break;
            }
            for (uint32_t i = 0; i < n && !rc; i++) {
                if (!(rc = th_read_i32(r, et, &v))) m->encodings[m->num_encodings++] = v;
            }
            break;
        }
        case 3: rc = read_string_list(c, t, &m->path, &m->path_len); break;
        case 4: if (!(rc = th_read_i32(r, t, &v))) m->codec = v; break;
        case 5: rc = th_read_i64(r, t, &m->num_values); break;
        case 6: rc = th_read_i64(r, t, &m->total_uncompressed_size); break;
        case 7: rc = th_read_i64(r, t, &m->total_compressed_size); break;
        case 9:
            rc = th_read_i64(r, t, &m->data_page_offset);
            seen_dpo = true;
            break;
        case 10: rc = th_read_i64(r, t, &m->index_page_offset); break;
        case 11: rc = th_read_i64(r, t, &m->dictionary_page_offset); break;
        case 12:
            if (!(rc = read_stats(c, t, &m->stats, leaf->physical, leaf))) m->has_stats = true;
            break;
        case 13: rc = t == TH_LIST ? read_page_counts(c, t, m) : th_skip(r, t); break;
        default: rc = th_skip(r, t); break;
        }
        if (rc) break;
    }
    th_struct_end(r);
    if (rc) return rc;
    if (!seen_type || !seen_dpo) return corrupt(c, "column metadata lacks type or data_page_offset");
    return ST_OK;
}

static int read_column_chunk(meta_ctx_t *c, int type, pq_chunk_meta_t *m, const pq_node_t *leaf) {
    th_reader_t *r = &c->r;
    if (type != TH_STRUCT) return corrupt(c, "column chunk is not a struct");
    th_struct_t s;
    TRY(th_struct_begin(r, &s));
    m->dictionary_page_offset = -1;
    m->index_page_offset = -1;
    m->physical = -1;
    bool seen_meta = false;
    int rc = 0;
    for (;;) {
        int16_t id;
        int t;
        if ((rc = th_field(r, &s, &id, &t)) || t == TH_STOP) break;
        switch (id) {
        case 1: {
            const uint8_t *d;
            uint32_t n;
            if (!(rc = th_read_binary(r, t, &d, &n)) && n > 0)
                rc = st_error(ST_EUNSUPPORTED, "%s: column %s is stored in another file", c->name, leaf->name);
            break;
        }
        case 2: rc = th_read_i64(r, t, &m->file_offset); break;
        case 3:
            if (seen_meta) {
                rc = corrupt(c, "column metadata given twice");
                break;
            }
            rc = read_column_meta(c, t, m, leaf);
            seen_meta = true;
            break;
        case 8:
        case 9:
            rc = st_error(ST_EUNSUPPORTED, "%s: column %s is encrypted (Parquet modular encryption is not supported)",
                          c->name, leaf->name);
            break;
        default: rc = th_skip(r, t); break;
        }
        if (rc) break;
    }
    th_struct_end(r);
    if (rc) return rc;
    if (!seen_meta) return corrupt(c, "column chunk without metadata");
    return ST_OK;
}

static int read_row_group(meta_ctx_t *c, int type, pq_row_group_t *g) {
    th_reader_t *r = &c->r;
    st_pq_file_t *f = c->f;
    if (type != TH_STRUCT) return corrupt(c, "row group is not a struct");
    th_struct_t s;
    TRY(th_struct_begin(r, &s));
    bool seen_cols = false, seen_rows = false;
    int rc = 0;
    for (;;) {
        int16_t id;
        int t;
        if ((rc = th_field(r, &s, &id, &t)) || t == TH_STOP) break;
        switch (id) {
        case 1: {
            uint32_t n;
            int et;
            if ((rc = th_list_begin(r, t, &et, &n))) break;
            if (seen_cols) {
                rc = corrupt(c, "row group lists its columns twice");
                break;
            }
            seen_cols = true;
            if (n != (uint32_t)f->num_leaves) {
                rc = st_error(ST_ECORRUPT, "%s: row group has %u column chunks, schema has %d columns", c->name,
                              n, f->num_leaves);
                break;
            }
            g->chunks = calloc(n ? n : 1, sizeof(pq_chunk_meta_t));
            if (!g->chunks) {
                rc = st_error(ST_ENOMEM, "%s: out of memory", c->name);
                break;
            }
            for (uint32_t i = 0; i < n && !rc; i++)
                rc = read_column_chunk(c, et, &g->chunks[i], &f->nodes[f->leaf_nodes[i]]);
            break;
        }
        case 2: rc = th_read_i64(r, t, &g->total_byte_size); break;
        case 3:
            rc = th_read_i64(r, t, &g->num_rows);
            seen_rows = true;
            break;
        default: rc = th_skip(r, t); break;
        }
        if (rc) break;
    }
    th_struct_end(r);
    if (rc) return rc;
    if (!seen_cols && f->num_leaves > 0) return corrupt(c, "row group without columns");
    if (!seen_rows || g->num_rows < 0) return corrupt(c, "row group without a valid num_rows");
    return ST_OK;
}

static int read_row_groups(meta_ctx_t *c, int type) {
    uint32_t n;
    int et;
    TRY(th_list_begin(&c->r, type, &et, &n));
    if (et != TH_STRUCT) return corrupt(c, "row_groups is not a list of structs");
    if (c->f->row_groups) return corrupt(c, "row_groups given twice");
    if (!c->f->nodes) return corrupt(c, "row groups come before the schema");
    c->f->row_groups = calloc(n ? n : 1, sizeof(pq_row_group_t));
    if (!c->f->row_groups) return st_error(ST_ENOMEM, "%s: out of memory", c->name);
    for (uint32_t i = 0; i < n; i++) {
        c->f->num_row_groups = (int)i + 1;
        TRY(read_row_group(c, et, &c->f->row_groups[i]));
    }
    return ST_OK;
}

static int read_kv(meta_ctx_t *c, int type) {
    uint32_t n;
    int et;
    TRY(th_list_begin(&c->r, type, &et, &n));
    if (et != TH_STRUCT) return corrupt(c, "key_value_metadata is not a list of structs");
    if (c->f->kv) return corrupt(c, "key_value_metadata given twice");
    c->f->kv = calloc(n ? n : 1, sizeof(pq_kv_t));
    if (!c->f->kv) return st_error(ST_ENOMEM, "%s: out of memory", c->name);
    for (uint32_t i = 0; i < n; i++) {
        pq_kv_t *kv = &c->f->kv[i];
        c->f->num_kv = (int)i + 1;
        th_struct_t s;
        TRY(th_struct_begin(&c->r, &s));
        for (;;) {
            int16_t id;
            int t;
            TRY(th_field(&c->r, &s, &id, &t));
            if (t == TH_STOP) break;
            if (id == 1 && !kv->key) TRY(th_read_string(&c->r, t, &kv->key));
            else if (id == 2 && !kv->value) TRY(th_read_string(&c->r, t, &kv->value));
            else TRY(th_skip(&c->r, t));
        }
        th_struct_end(&c->r);
        if (!kv->key) return corrupt(c, "key-value pair without a key");
    }
    return ST_OK;
}

static int read_file_meta(meta_ctx_t *c) {
    th_reader_t *r = &c->r;
    st_pq_file_t *f = c->f;
    th_struct_t s;
    TRY(th_struct_begin(r, &s));
    bool seen_rows = false;
    for (;;) {
        int16_t id;
        int t;
        int32_t v;
        TRY(th_field(r, &s, &id, &t));
        if (t == TH_STOP) break;
        switch (id) {
        case 1:
            TRY(th_read_i32(r, t, &v));
            f->version = v;
            break;
        case 2:
            TRY(read_schema(c, t));
            TRY(build_tree(c));
            break;
        case 3:
            TRY(th_read_i64(r, t, &f->num_rows));
            seen_rows = true;
            break;
        case 4: TRY(read_row_groups(c, t)); break;
        case 5: TRY(read_kv(c, t)); break;
        case 6:
            free(f->created_by);
            f->created_by = NULL;
            TRY(th_read_string(r, t, &f->created_by));
            break;
        case 8:
            return st_error(ST_EUNSUPPORTED, "%s: file uses Parquet modular encryption (not supported)", c->name);
        default: TRY(th_skip(r, t)); break;
        }
    }
    th_struct_end(r);
    if (!f->nodes) return corrupt(c, "footer has no schema");
    if (!seen_rows) return corrupt(c, "footer has no num_rows");
    return ST_OK;
}

/* Offsets and sizes of every chunk must lie inside the file's data area; the
 * page reader relies on it. */
static int check_chunks(meta_ctx_t *c, uint64_t data_end) {
    st_pq_file_t *f = c->f;
    for (int g = 0; g < f->num_row_groups; g++) {
        pq_row_group_t *rg = &f->row_groups[g];
        for (int i = 0; i < f->num_leaves; i++) {
            pq_chunk_meta_t *m = &rg->chunks[i];
            const pq_node_t *leaf = &f->nodes[f->leaf_nodes[i]];
            const char *path = pq_leaf_path(f, i);
            if (m->physical != leaf->physical)
                return st_error(ST_ECORRUPT, "%s: row group %d column %s: chunk type %d differs from schema type %d",
                                c->name, g, path, m->physical, leaf->physical);
            if (m->num_values < 0 || m->total_compressed_size < 0 || m->total_uncompressed_size < 0 ||
                (m->num_values > 0 && (m->data_page_offset < 4 || (uint64_t)m->data_page_offset >= data_end)))
                return st_error(ST_ECORRUPT, "%s: row group %d column %s: offsets or sizes out of range",
                                c->name, g, path);
            if (m->has_stats && m->stats.has_null_count && m->stats.null_count > m->num_values)
                m->stats.has_null_count = false;
        }
    }
    return ST_OK;
}

/* ---- open / close --------------------------------------------------------- */

static void free_chunk(pq_chunk_meta_t *m) {
    free(m->encodings);
    if (m->path)
        for (int i = 0; i < m->path_len; i++) free(m->path[i]);
    free(m->path);
}

void st_pq_close(st_pq_file_t *f) {
    if (!f) return;
    for (int g = 0; g < f->num_row_groups; g++) {
        pq_row_group_t *rg = &f->row_groups[g];
        if (rg->chunks)
            for (int i = 0; i < f->num_leaves; i++) free_chunk(&rg->chunks[i]);
        free(rg->chunks);
    }
    free(f->row_groups);
    if (f->nodes) {
        for (int i = 0; i < f->num_nodes; i++) free(f->nodes[i].name);
        free(f->nodes[0].children);
    }
    free(f->nodes);
    free(f->leaf_nodes);
    for (int i = 0; i < f->num_kv; i++) {
        free(f->kv[i].key);
        free(f->kv[i].value);
    }
    free(f->kv);
    free(f->created_by);
    if (f->fields) {
        for (int i = 0; i < f->nfields; i++) free(f->fields[i].name);
        free(f->fields);
    }
    st_buf_free(&f->footer);
    st_pq_source_close(&f->src);
    pthread_mutex_destroy(&f->io_mu);
    free(f);
}

int pq_source_read(st_pq_file_t *f, uint64_t off, void *buf, size_t n) {
    if (!__atomic_load_n(&f->parallel, __ATOMIC_ACQUIRE)) return f->src.read_at(f->src.ctx, off, buf, n);
    pthread_mutex_lock(&f->io_mu);
    int rc = f->src.read_at(f->src.ctx, off, buf, n);
    pthread_mutex_unlock(&f->io_mu);
    return rc;
}

int st_pq_open(st_pq_source_t *src, st_pq_file_t **out) {
    *out = NULL;
    st_pq_file_t *f = calloc(1, sizeof *f);
    if (!f) {
        st_pq_source_close(src);
        memset(src, 0, sizeof *src);
        return st_error(ST_ENOMEM, "out of memory");
    }
    f->src = *src;
    memset(src, 0, sizeof *src);
    pthread_mutex_init(&f->io_mu, NULL);
    f->threads = 1;
    const char *name = f->src.name ? f->src.name : "parquet";
    meta_ctx_t c = {.f = f, .name = name};
    uint64_t size = f->src.size;
    uint8_t tail[8];
    int rc;
    if (size < 12) {
        rc = st_error(ST_ECORRUPT, "%s: too small to be a Parquet file (%llu bytes)", name, (unsigned long long)size);
        goto fail;
    }
    if ((rc = f->src.read_at(f->src.ctx, size - 8, tail, 8))) goto fail;
    if (!memcmp(tail + 4, "PARE", 4)) {
        rc = st_error(ST_EUNSUPPORTED, "%s: encrypted footer (Parquet modular encryption is not supported)", name);
        goto fail;
    }
    if (memcmp(tail + 4, "PAR1", 4)) {
        rc = st_error(ST_ECORRUPT, "%s: not a Parquet file (no PAR1 magic at the end)", name);
        goto fail;
    }
    uint8_t head[4];
    if ((rc = f->src.read_at(f->src.ctx, 0, head, 4))) goto fail;
    if (memcmp(head, "PAR1", 4)) {
        rc = st_error(ST_ECORRUPT, "%s: not a Parquet file (no PAR1 magic at the start)", name);
        goto fail;
    }
    uint32_t flen = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 | (uint32_t)tail[3] << 24;
    if (flen == 0 || (uint64_t)flen > size - 12) {
        rc = st_error(ST_ECORRUPT, "%s: footer length %u does not fit in a file of %llu bytes", name, flen,
                      (unsigned long long)size);
        goto fail;
    }
    if ((rc = st_buf_reserve(&f->footer, flen))) goto fail;
    if ((rc = f->src.read_at(f->src.ctx, size - 8 - flen, f->footer.data, flen))) goto fail;
    f->footer.len = flen;
    th_init(&c.r, f->footer.data, flen);
    if ((rc = read_file_meta(&c))) {
        rc = thrift_fail(&c, rc);
        goto fail;
    }
    if ((rc = check_chunks(&c, size - 8 - flen))) goto fail;
    *out = f;
    return ST_OK;
fail:
    st_pq_close(f);
    return rc;
}

int st_pq_open_path(const char *path, st_pq_file_t **out) {
    st_pq_source_t src;
    *out = NULL;
    int rc = st_pq_source_file(path, &src);
    if (rc) return rc;
    return st_pq_open(&src, out);
}

/* ---- accessors ------------------------------------------------------------ */

int64_t st_pq_num_rows(const st_pq_file_t *f) {
    /* The row groups are what a reader returns; FileMetaData.num_rows is wrong
     * in some writers' files. */
    int64_t n = 0;
    for (int g = 0; g < f->num_row_groups; g++) n += f->row_groups[g].num_rows;
    return n;
}

int st_pq_num_row_groups(const st_pq_file_t *f) { return f->num_row_groups; }

int64_t st_pq_row_group_num_rows(const st_pq_file_t *f, int rg) {
    if (rg < 0 || rg >= f->num_row_groups) return -1;
    return f->row_groups[rg].num_rows;
}

int st_pq_num_columns(const st_pq_file_t *f) { return f->num_top; }

const char *st_pq_column_name(const st_pq_file_t *f, int col) {
    if (col < 0 || col >= f->num_top) return NULL;
    return f->nodes[f->nodes[0].children[col]].name;
}

int st_pq_column_index(const st_pq_file_t *f, const char *name) {
    for (int i = 0; i < f->num_top; i++)
        if (!strcmp(f->nodes[f->nodes[0].children[i]].name, name)) return i;
    return -1;
}

const char *st_pq_kv(const st_pq_file_t *f, const char *key) {
    for (int i = 0; i < f->num_kv; i++)
        if (!strcmp(f->kv[i].key, key)) return f->kv[i].value;
    return NULL;
}

const char *st_pq_created_by(const st_pq_file_t *f) { return f->created_by; }

const char *pq_leaf_path(const st_pq_file_t *f, int leaf) {
    static _Thread_local char buf[1024];
    if (leaf < 0 || leaf >= f->num_leaves) return "?";
    int chain[PQ_MAX_SCHEMA_DEPTH + 2];
    int depth = 0;
    for (int n = f->leaf_nodes[leaf]; n > 0 && depth < PQ_MAX_SCHEMA_DEPTH + 2; n = f->nodes[n].parent)
        chain[depth++] = n;
    size_t len = 0;
    buf[0] = '\0';
    for (int i = depth - 1; i >= 0; i--) {
        const char *nm = f->nodes[chain[i]].name;
        size_t k = strlen(nm);
        if (len + k + 2 >= sizeof buf) break;
        if (len) buf[len++] = '.';
        memcpy(buf + len, nm, k);
        len += k;
        buf[len] = '\0';
    }
    return buf;
}
