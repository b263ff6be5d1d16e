/* Record assembly: decoded leaf columns (values plus definition and repetition
 * levels) back into rows of canonical JSON.
 *
 * The schema is first turned into a render tree (struct / list / map /
 * primitive) following the LIST and MAP backward-compatibility rules of the
 * Parquet spec; each node knows the definition level at which it is non-null,
 * and lists and maps the level at which they have an element and the
 * repetition level that continues them. Rendering then walks every leaf under
 * a node in step (Dremel): a definition level below a node's threshold means
 * the node is null or empty there and every leaf under it holds exactly one
 * entry for that; a repetition level equal to a list's level after an element
 * means another element follows. All leaves under a node must agree, which is
 * checked, so a malformed file fails with ST_ECORRUPT instead of printing
 * something made up. */
#include "parquet/pq_output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper schemas exist only in fuzzed files; the limit keeps recursion cheap. */
#define PQ_MAX_DEPTH 128

enum { RN_PRIM, RN_STRUCT, RN_LIST, RN_MAP };

struct pq_rnode {
    int kind;
    char *key;   /* `"name":` already escaped, or NULL for list elements */
    size_t keylen;
    bool nullable;
    int16_t min_def; /* level guaranteed by the enclosing node when this one is reached */
    int16_t def;     /* non-null iff def level >= def (when nullable) */
    int16_t rep_def; /* LIST/MAP: has an element iff def level >= rep_def */
    int16_t rep;     /* LIST/MAP: repetition level of a further element */
    int leaf_lo, leaf_hi; /* leaf columns under this node: [lo, hi) */
    int leaf;             /* PRIM */
    int node;             /* schema node, for messages */
    int nchildren;
    pq_rnode_t **children; /* STRUCT fields; LIST {element}; MAP {key, value or NULL} */
};

/* ---- schema paths ---- */

const char *pq_node_path(const st_pq_file_t *f, int node, char *buf, size_t cap) {
    int chain[PQ_MAX_DEPTH + 1];
    int n = 0;
    for (int i = node; i > 0 && i < f->num_nodes && n <= PQ_MAX_DEPTH; i = f->nodes[i].parent)
        chain[n++] = i;
    size_t len = 0;
    buf[0] = '\0';
    while (n-- > 0 && len + 1 < cap) {
        const char *name = f->nodes[chain[n]].name ? f->nodes[chain[n]].name : "?";
        int w = snprintf(buf + len, cap - len, "%s%s", len ? "." : "", name);
        if (w < 0) break;
        len += (size_t)w;
        if (len >= cap) len = cap - 1;
    }
    return buf;
}

static const char *leaf_path(const st_pq_file_t *f, int leaf, char *buf, size_t cap) {
    if (leaf < 0 || leaf >= f->num_leaves) return "?";
    return pq_node_path(f, f->leaf_nodes[leaf], buf, cap);
}

/* ---- plan building ---- */

typedef struct build_ctx {
    const st_pq_file_t *f;
    int16_t *dl, *rl;    /* per schema node */
    int *lo, *hi;        /* leaf range per schema node */
} build_ctx_t;

static void rnode_free(pq_rnode_t *r) {
    if (!r) return;
    for (int i = 0; i < r->nchildren; i++) rnode_free(r->children[i]);
    free(r->children);
    free(r->key);
    free(r);
}

static int bad_schema(const st_pq_file_t *f, int node, int code, const char *what) {
    char path[512];
    return st_error(code, "%s: column %s: %s", f->src.name ? f->src.name : "parquet",
                    pq_node_path(f, node, path, sizeof path), what);
}

/* Levels and leaf ranges for every node below `ni`. */
static int levels(build_ctx_t *b, int ni, int depth) {
    const st_pq_file_t *f = b->f;
    const pq_node_t *n = &f->nodes[ni];
    if (depth > PQ_MAX_DEPTH) return bad_schema(f, ni, ST_EUNSUPPORTED, "schema nested too deeply");
    if (ni > 0) {
        int p = n->parent;
        if (p < 0 || p >= f->num_nodes) return bad_schema(f, ni, ST_ECORRUPT, "bad parent");
        int dl = b->dl[p] + (n->repetition == PQ_OPTIONAL || n->repetition == PQ_REPEATED);
        int rl = b->rl[p] + (n->repetition == PQ_REPEATED);
        if (dl > INT16_MAX || rl > INT16_MAX)
            return bad_schema(f, ni, ST_EUNSUPPORTED, "schema nested too deeply");
        b->dl[ni] = (int16_t)dl;
        b->rl[ni] = (int16_t)rl;
    }
    if (n->num_children == 0) {
        if (n->physical < 0 || n->leaf < 0 || n->leaf >= f->num_leaves) {
            b->lo[ni] = b->hi[ni] = -1;
            return 0;
        }
        b->lo[ni] = n->leaf;
        b->hi[ni] = n->leaf + 1;
        return 0;
    }
    b->lo[ni] = -1;
    b->hi[ni] = -1;
    for (int i = 0; i < n->num_children; i++) {
        int c = n->children[i];
        if (c <= ni || c >= f->num_nodes) return bad_schema(f, ni, ST_ECORRUPT, "bad child");
        int rc = levels(b, c, depth + 1);
        if (rc) return rc;
        if (b->lo[c] < 0) continue;
        if (b->lo[ni] < 0) b->lo[ni] = b->lo[c];
        else if (b->lo[c] != b->hi[ni])
            return bad_schema(f, c, ST_ECORRUPT, "leaf columns out of schema order");
        b->hi[ni] = b->hi[c];
    }
    return 0;
}

static bool annotated(const pq_node_t *n, int lt, int ct1, int ct2) {
    if (n->has_logical && (n->logical.id == PQ_LT_LIST || n->logical.id == PQ_LT_MAP))
        return n->logical.id == lt;
    return n->converted == ct1 || n->converted == ct2;
}

static int set_key(pq_rnode_t *r, const char *name) {
    st_buf_t k = ST_BUF_INIT;
    int rc = st_json_append_string(&k, name, strlen(name));
    if (!rc) rc = st_buf_append_byte(&k, ':');
    if (!rc) rc = st_buf_append_byte(&k, '\0');
    if (rc) {
        st_buf_free(&k);
        return rc;
    }
    r->keylen = k.len - 1;
    r->key = (char *)st_buf_detach(&k, NULL);
    return 0;
}

static int build(build_ctx_t *b, int ni, bool as_elem, const char *name, int16_t min_def,
                 int depth, pq_rnode_t **out);

static int add_child(build_ctx_t *b, pq_rnode_t *r, int ni, bool as_elem, const char *name,
                     int depth) {
    pq_rnode_t **c = realloc(r->children, sizeof *c * (size_t)(r->nchildren + 1));
    if (!c) return st_error(ST_ENOMEM, "out of memory");
    r->children = c;
    c[r->nchildren] = NULL;
    /* Inside a struct the struct is present; inside a list or map an element is. */
    int16_t ctx = r->kind == RN_STRUCT ? r->def : r->rep_def;
    int rc = ni < 0 ? 0 : build(b, ni, as_elem, name, ctx, depth + 1, &c[r->nchildren]);
    r->nchildren++;
    return rc;
}

/* The element of a LIST-annotated group `ni` whose only child `rep` repeats. */
static int build_list(build_ctx_t *b, pq_rnode_t *r, int ni, int rep, int depth) {
    const st_pq_file_t *f = b->f;
    const pq_node_t *list = &f->nodes[ni], *rn = &f->nodes[rep];
    r->kind = RN_LIST;
    r->rep_def = b->dl[rep];
    r->rep = b->rl[rep];
    bool group_is_element = rn->num_children != 1;
    if (rn->num_children == 1) {
        const char *nm = rn->name ? rn->name : "";
        size_t ln = list->name ? strlen(list->name) : 0;
        if (!strcmp(nm, "array") ||
            (list->name && !strncmp(nm, list->name, ln) && !strcmp(nm + ln, "_tuple")))
            group_is_element = true;
    }
    if (group_is_element) return add_child(b, r, rep, true, NULL, depth);
    return add_child(b, r, rn->children[0], false, NULL, depth);
}

static int build(build_ctx_t *b, int ni, bool as_elem, const char *name, int16_t min_def,
                 int depth, pq_rnode_t **out) {
    const st_pq_file_t *f = b->f;
    const pq_node_t *n = &f->nodes[ni];
    *out = NULL;
    if (depth > PQ_MAX_DEPTH) return bad_schema(f, ni, ST_EUNSUPPORTED, "schema nested too deeply");
    if (b->lo[ni] < 0) return bad_schema(f, ni, ST_EUNSUPPORTED, "group without leaf columns");
    pq_rnode_t *r = calloc(1, sizeof *r);
    if (!r) return st_error(ST_ENOMEM, "out of memory");
    *out = r;
    r->node = ni;
    r->min_def = min_def;
    r->leaf_lo = b->lo[ni];
    r->leaf_hi = b->hi[ni];
    r->leaf = -1;
    if (name) {
        /* Output is UTF-8 JSON; a name that is not UTF-8 cannot be a key. */
        if (!st_utf8_valid((const uint8_t *)name, strlen(name)))
            return bad_schema(f, ni, ST_ECORRUPT, "field name is not valid UTF-8");
        int rc = set_key(r, name);
        if (rc) return rc;
    }
    if (!as_elem && n->repetition == PQ_REPEATED) {
        /* A bare repeated field is a required list of itself. */
        r->kind = RN_LIST;
        r->def = b->dl[ni];
        r->rep_def = b->dl[ni];
        r->rep = b->rl[ni];
        return add_child(b, r, ni, true, NULL, depth);
    }
    r->nullable = !as_elem && n->repetition == PQ_OPTIONAL;
    r->def = b->dl[ni];
    if (n->num_children == 0) {
        r->kind = RN_PRIM;
        r->leaf = n->leaf;
        return 0;
    }
    int c0 = n->children[0];
    const pq_node_t *cn = &f->nodes[c0];
    if (n->num_children == 1 && cn->repetition == PQ_REPEATED) {
        if (annotated(n, PQ_LT_LIST, PQ_CT_LIST, PQ_CT_LIST)) return build_list(b, r, ni, c0, depth);
        if (annotated(n, PQ_LT_MAP, PQ_CT_MAP, PQ_CT_MAP_KEY_VALUE) &&
            (cn->num_children == 1 || cn->num_children == 2)) {
            r->kind = RN_MAP;
            r->rep_def = b->dl[c0];
            r->rep = b->rl[c0];
            int rc = add_child(b, r, cn->children[0], false, "key", depth);
            if (!rc)
                rc = add_child(b, r, cn->num_children == 2 ? cn->children[1] : -1, false, "value",
                               depth);
            return rc;
        }
    }
    r->kind = RN_STRUCT;
    for (int i = 0; i < n->num_children; i++) {
        int c = n->children[i];
        int rc = add_child(b, r, c, false, f->nodes[c].name ? f->nodes[c].name : "", depth);
        if (rc) return rc;
    }
    return 0;
}

static bool rnode_flat(const pq_rnode_t *r) { return r->kind == RN_PRIM; }

void pq_plan_free(pq_plan_t *p) {
    if (!p) return;
    for (int i = 0; i < p->nfields; i++) rnode_free(p->fields[i]);
    free(p->fields);
    free(p->leaves);
    free(p->vfmt);
    free(p->max_def);
    free(p->max_rep);
    free(p);
}

int pq_plan_build(const st_pq_file_t *f, const int *columns, int ncolumns, pq_plan_t **out) {
    *out = NULL;
    const char *fname = f->src.name ? f->src.name : "parquet";
    if (f->num_nodes < 1 || !f->nodes)
        return st_error(ST_ECORRUPT, "%s: schema has no root", fname);
    const pq_node_t *root = &f->nodes[0];
    int ntop = root->num_children;
    if (!columns) ncolumns = ntop;
    if (ncolumns < 0) return st_error(ST_EINVAL, "%s: negative column count", fname);
    for (int i = 0; columns && i < ncolumns; i++)
        if (columns[i] < 0 || columns[i] >= ntop)
            return st_error(ST_EINVAL, "%s: no column %d (file has %d)", fname, columns[i], ntop);

    pq_plan_t *p = calloc(1, sizeof *p);
    build_ctx_t b = {f, NULL, NULL, NULL, NULL};
    size_t nn = (size_t)f->num_nodes, nl = f->num_leaves > 0 ? (size_t)f->num_leaves : 1;
    int rc = 0;
    if (!p || !(b.dl = calloc(nn, sizeof *b.dl)) || !(b.rl = calloc(nn, sizeof *b.rl)) ||
        !(b.lo = calloc(nn, sizeof *b.lo)) || !(b.hi = calloc(nn, sizeof *b.hi)) ||
        !(p->fields = calloc((size_t)ncolumns + 1, sizeof *p->fields)) ||
        !(p->leaves = calloc(nl, sizeof *p->leaves)) || !(p->vfmt = calloc(nl, sizeof *p->vfmt)) ||
        !(p->max_def = calloc(nl, sizeof *p->max_def)) ||
        !(p->max_rep = calloc(nl, sizeof *p->max_rep))) {
        rc = st_error(ST_ENOMEM, "out of memory");
        goto done;
    }
    p->num_leaves_file = f->num_leaves;
    if ((rc = levels(&b, 0, 0))) goto done;
    bool *used = calloc(nl, sizeof *used);
    if (!used) {
        rc = st_error(ST_ENOMEM, "out of memory");
        goto done;
    }
    p->flat = true;
    for (int i = 0; i < ncolumns; i++) {
        int top = root->children[columns ? columns[i] : i];
        const char *nm = f->nodes[top].name ? f->nodes[top].name : "";
        rc = build(&b, top, false, nm, 0, 0, &p->fields[i]);
        p->nfields = i + 1;
        if (rc) break;
        if (!rnode_flat(p->fields[i])) p->flat = false;
        for (int l = p->fields[i]->leaf_lo; l < p->fields[i]->leaf_hi; l++) used[l] = true;
    }
    if (!rc) {
        for (int l = 0; l < f->num_leaves; l++) {
            if (!used[l]) continue;
            int ni = f->leaf_nodes[l];
            p->leaves[p->nleaves++] = l;
            p->max_def[l] = b.dl[ni];
            p->max_rep[l] = b.rl[ni];
            pq_vfmt_for_node(&f->nodes[ni], &p->vfmt[l]);
        }
    }
    free(used);
done:
    free(b.dl);
    free(b.rl);
    free(b.lo);
    free(b.hi);
    if (rc) {
        pq_plan_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* ---- assembly ---- */

typedef struct cursor {
    const pq_column_data_t *c;
    const int16_t *def, *rep; /* NULL when the level is always max / 0 */
    int64_t pos, vpos;
    int16_t max_def;
} cursor_t;

typedef struct asm_state {
    const pq_plan_t *p;
    const st_pq_file_t *f;
    int rg;
    cursor_t *cur; /* indexed by leaf */
    st_buf_t *line;
} asm_t;

static int corrupt(const asm_t *a, int leaf, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int corrupt(const asm_t *a, int leaf, const char *fmt, ...) {
    char what[256], path[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return st_error(ST_ECORRUPT, "%s: row group %d column %s: %s",
                    a->f->src.name ? a->f->src.name : "parquet", a->rg,
                    leaf_path(a->f, leaf, path, sizeof path), what);
}

static inline int16_t def_at(const cursor_t *c) { return c->def ? c->def[c->pos] : c->max_def; }

static inline int16_t rep_at(const cursor_t *c) { return c->rep ? c->rep[c->pos] : 0; }

/* Checks a decoded column against the schema before any row is printed:
 * levels in range, as many values as levels say, and the row count. */
static int check_column(const asm_t *a, int leaf, int64_t nrows) {
    const pq_column_data_t *c = a->cur[leaf].c;
    const pq_vfmt_t *fmt = &a->p->vfmt[leaf];
    int16_t md = a->p->max_def[leaf], mr = a->p->max_rep[leaf];
    if (!c) return corrupt(a, leaf, "column was not decoded");
    if (c->max_def != md || c->max_rep != mr)
        return corrupt(a, leaf, "levels %d/%d do not match the schema's %d/%d", c->max_def,
                       c->max_rep, md, mr);
    if (c->num_levels < 0 || c->num_values < 0 || c->num_values > c->num_levels)
        return corrupt(a, leaf, "bad level or value count");
    if ((md > 0 && !c->def && c->num_levels > 0) || (mr > 0 && !c->rep && c->num_levels > 0))
        return corrupt(a, leaf, "missing levels");
    int64_t present = 0, rows = 0;
    for (int64_t i = 0; i < c->num_levels; i++) {
        int16_t d = c->def && md > 0 ? c->def[i] : md;
        int16_t r = c->rep && mr > 0 ? c->rep[i] : 0;
        if (d < 0 || d > md || r < 0 || r > mr)
            return corrupt(a, leaf, "level out of range at entry %lld", (long long)i);
        if (i == 0 && r != 0) return corrupt(a, leaf, "first repetition level is not 0");
        present += d == md;
        rows += r == 0;
    }
    if (present != c->num_values)
        return corrupt(a, leaf, "%lld values but levels call for %lld", (long long)c->num_values,
                       (long long)present);
    if (rows != nrows)
        return corrupt(a, leaf, "%lld rows, but the row group has %lld", (long long)rows,
                       (long long)nrows);
    if (fmt->physical == PQ_BYTE_ARRAY) {
        if (c->num_values > 0 && !c->offsets) return corrupt(a, leaf, "missing value offsets");
        for (int64_t i = 0; c->offsets && i < c->num_values; i++)
            if (c->offsets[i] > c->offsets[i + 1])
                return corrupt(a, leaf, "value offsets go backwards");
        if (c->offsets && c->offsets[c->num_values] > c->values.len)
            return corrupt(a, leaf, "value offsets past the data");
    } else {
        if (fmt->width <= 0 && c->num_values > 0) return corrupt(a, leaf, "bad value width");
        if ((uint64_t)c->num_values * (uint64_t)(fmt->width > 0 ? fmt->width : 0) > c->values.len)
            return corrupt(a, leaf, "fewer value bytes than values");
    }
    return 0;
}

static int peek_def(const asm_t *a, int leaf, int16_t *d) {
    const cursor_t *c = &a->cur[leaf];
    if (c->pos >= c->c->num_levels) return corrupt(a, leaf, "levels end inside a row");
    *d = def_at(c);
    return 0;
}

/* Consumes the single entry every leaf under r holds for a null or empty r;
 * they all carry the same definition level, between the enclosing node's and
 * r's threshold. */
static int skip(asm_t *a, const pq_rnode_t *r, int16_t threshold) {
    int16_t first = -1;
    for (int l = r->leaf_lo; l < r->leaf_hi; l++) {
        cursor_t *c = &a->cur[l];
        if (c->pos >= c->c->num_levels) return corrupt(a, l, "levels end inside a row");
        int16_t d = def_at(c);
        if (first < 0) first = d;
        if (d != first || d < r->min_def || d >= threshold)
            return corrupt(a, l, "definition levels disagree across columns");
        c->pos++;
    }
    return 0;
}

static int render(asm_t *a, const pq_rnode_t *r);

static int render_prim(asm_t *a, const pq_rnode_t *r) {
    cursor_t *c = &a->cur[r->leaf];
    int16_t d;
    int rc = peek_def(a, r->leaf, &d);
    if (rc) return rc;
    if (d < c->max_def) return corrupt(a, r->leaf, "missing value for a required field");
    if (c->vpos >= c->c->num_values) return corrupt(a, r->leaf, "fewer values than levels");
    rc = pq_json_value(a->line, &a->p->vfmt[r->leaf], c->c, c->vpos);
    if (rc) {
        char path[512];
        return st_error_prefix(rc, "%s: row group %d column %s",
                               a->f->src.name ? a->f->src.name : "parquet", a->rg,
                               leaf_path(a->f, r->leaf, path, sizeof path));
    }
    c->pos++;
    c->vpos++;
    return 0;
}

/* After an element: -1 when the levels end, else the repetition level that
 * follows, which every leaf under r must agree on. */
static int next_rep(asm_t *a, const pq_rnode_t *r, int *out) {
    int first = -2;
    for (int l = r->leaf_lo; l < r->leaf_hi; l++) {
        const cursor_t *c = &a->cur[l];
        int v = c->pos >= c->c->num_levels ? -1 : rep_at(c);
        if (first == -2) first = v;
        else if (v != first) return corrupt(a, l, "repetition levels disagree across columns");
    }
    *out = first;
    return 0;
}

static int render_list(asm_t *a, const pq_rnode_t *r) {
    int16_t d;
    int rc = peek_def(a, r->leaf_lo, &d);
    if (rc) return rc;
    if (d < r->rep_def) {
        if ((rc = skip(a, r, r->rep_def))) return rc;
        return st_buf_append(a->line, "[]", 2);
    }
    if ((rc = st_buf_append_byte(a->line, '['))) return rc;
    for (bool first = true;; first = false) {
        if (!first && (rc = st_buf_append_byte(a->line, ','))) return rc;
        if (r->kind == RN_LIST) {
            rc = render(a, r->children[0]);
        } else {
            rc = st_buf_append_byte(a->line, '{');
            if (!rc) rc = render(a, r->children[0]);
            if (!rc) rc = st_buf_append_byte(a->line, ',');
            if (!rc && r->children[1]) rc = render(a, r->children[1]);
            else if (!rc) rc = st_buf_append(a->line, "\"value\":null", 12);
            if (!rc) rc = st_buf_append_byte(a->line, '}');
        }
        if (rc) return rc;
        int nr = -1;
        if ((rc = next_rep(a, r, &nr))) return rc;
        if (nr > r->rep) return corrupt(a, r->leaf_lo, "repetition level deeper than the schema");
        if (nr != r->rep) break;
    }
    return st_buf_append_byte(a->line, ']');
}

static int render(asm_t *a, const pq_rnode_t *r) {
    int rc;
    if (r->key && (rc = st_buf_append(a->line, r->key, r->keylen))) return rc;
    if (r->nullable) {
        int16_t d;
        if ((rc = peek_def(a, r->leaf_lo, &d))) return rc;
        if (d < r->def) {
            if ((rc = skip(a, r, r->def))) return rc;
            return st_buf_append(a->line, "null", 4);
        }
    }
    switch (r->kind) {
    case RN_PRIM: return render_prim(a, r);
    case RN_STRUCT:
        if ((rc = st_buf_append_byte(a->line, '{'))) return rc;
        for (int i = 0; i < r->nchildren; i++) {
            if (i && (rc = st_buf_append_byte(a->line, ','))) return rc;
            if ((rc = render(a, r->children[i]))) return rc;
        }
        return st_buf_append_byte(a->line, '}');
    default: return render_list(a, r);
    }
}

/* The fast path for flat projections: one level entry per row and leaf. */
static int emit_flat_row(asm_t *a, int64_t row) {
    const pq_plan_t *p = a->p;
    int rc = st_buf_append_byte(a->line, '{');
    for (int i = 0; !rc && i < p->nfields; i++) {
        const pq_rnode_t *r = p->fields[i];
        cursor_t *c = &a->cur[r->leaf];
        if (i) st_buf_append_byte(a->line, ',');
        rc = st_buf_append(a->line, r->key, r->keylen);
        if (rc) break;
        if (c->def && c->def[row] < c->max_def) {
            rc = st_buf_append(a->line, "null", 4);
            continue;
        }
        rc = pq_json_value(a->line, &p->vfmt[r->leaf], c->c, c->vpos++);
        if (rc) {
            char path[512];
            return st_error_prefix(rc, "%s: row group %d column %s",
                                   a->f->src.name ? a->f->src.name : "parquet", a->rg,
                                   leaf_path(a->f, r->leaf, path, sizeof path));
        }
    }
    if (!rc) rc = st_buf_append_byte(a->line, '}');
    return rc;
}

static int emit_nested_row(asm_t *a) {
    const pq_plan_t *p = a->p;
    for (int i = 0; i < p->nleaves; i++) {
        const cursor_t *c = &a->cur[p->leaves[i]];
        if (c->pos >= c->c->num_levels) return corrupt(a, p->leaves[i], "fewer rows than expected");
        if (rep_at(c) != 0) return corrupt(a, p->leaves[i], "row does not start at level 0");
    }
    int rc = st_buf_append_byte(a->line, '{');
    for (int i = 0; !rc && i < p->nfields; i++) {
        if (i && (rc = st_buf_append_byte(a->line, ','))) break;
        rc = render(a, p->fields[i]);
    }
    if (!rc) rc = st_buf_append_byte(a->line, '}');
    return rc;
}

int pq_plan_emit(const pq_plan_t *p, const st_pq_file_t *f, int rg,
                 const pq_column_data_t *const *cols, int64_t nrows, int64_t max_rows,
                 st_pq_emit_fn emit, void *ctx, int64_t *emitted) {
    if (nrows < 0) return st_error(ST_ECORRUPT, "%s: row group %d has a negative row count",
                                   f->src.name ? f->src.name : "parquet", rg);
    size_t nl = p->num_leaves_file > 0 ? (size_t)p->num_leaves_file : 1;
    cursor_t *cur = calloc(nl, sizeof *cur);
    if (!cur) return st_error(ST_ENOMEM, "out of memory");
    st_buf_t line = ST_BUF_INIT;
    asm_t a = {p, f, rg, cur, &line};
    int rc = 0;
    for (int i = 0; i < p->nleaves; i++) {
        int l = p->leaves[i];
        cur[l].c = cols[l];
        cur[l].max_def = p->max_def[l];
        if (cols[l]) {
            cur[l].def = p->max_def[l] > 0 ? cols[l]->def : NULL;
            cur[l].rep = p->max_rep[l] > 0 ? cols[l]->rep : NULL;
        }
        if ((rc = check_column(&a, l, nrows))) goto done;
    }
    int64_t n = max_rows >= 0 && max_rows < nrows ? max_rows : nrows;
    for (int64_t row = 0; row < n; row++) {
        st_buf_reset(&line);
        rc = p->flat ? emit_flat_row(&a, row) : emit_nested_row(&a);
        if (rc) goto done;
        if ((rc = emit(ctx, (const char *)line.data, line.len))) goto done;
        (*emitted)++;
    }
    if (n == nrows && !p->flat) {
        for (int i = 0; i < p->nleaves; i++) {
            const cursor_t *c = &cur[p->leaves[i]];
            if (c->pos != c->c->num_levels || c->vpos != c->c->num_values) {
                rc = corrupt(&a, p->leaves[i], "levels left over after the last row");
                goto done;
            }
        }
    }
done:
    st_buf_free(&line);
    free(cur);
    return rc;
}
