/* Search: the user's query is rewritten into FTS5 syntax (every word quoted,
 * so punctuation can never be read as FTS5 operators or columns), then
 * matched, filtered and ranked by BM25 (lk_bm25, lake_rank.c) inside SQLite.
 * Bounded (the default): within windows that keep broad queries fast (see
 * RANK_WINDOW, SCAN_WINDOW), plus every entry whose name alone matches,
 * whatever its age (the name table's doclists are short); exact: every
 * match. A row's score depends on the query and the lake only, never on the
 * pass that found it, so the passes merge into one ranking. */
#include <stdlib.h>
#include <string.h>

#include "lake/lake_internal.h"

/* BM25 column weights: name, content, metadata values. */
#define W_NAME "8.0"
#define W_CONTENT "1.0"
#define W_META "3.0"

/* How many matches a query ranks, newest first: bounded so that a query
 * matching most of a large lake answers in milliseconds (scoring costs about
 * a microsecond per match). */
#define RANK_WINDOW 1000
/* And a query looks at the SCAN_WINDOW newest entries first (a phrase of
 * common words costs a position-list merge per entry holding both words),
 * and at the rest only when those hold fewer matches than it returns. */
#define SCAN_WINDOW 20000
/* Up to this many entries matching by name are ranked one lookup each
 * (tens of microseconds apiece); more are ranked by walking the query's
 * matches once and scoring the name matches among them. */
#define NAME_LOOKUP 256

/* What one ranking statement looks at. */
enum pass {
    PASS_RANGE,        /* the RANK_WINDOW newest matches among rowids (lo, hi] */
    PASS_ALL,          /* every match (exact mode) */
    PASS_NAMES_LOOKUP, /* every match whose name matches, one lookup each */
    PASS_NAMES_SCAN,   /* the same, found by walking every match */
};

static bool searchable(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
            return true;
    }
    return false;
}

static void quoted(st_buf_t *out, const char *s, size_t n) {
    if (out->len) st_buf_append_byte(out, ' ');
    st_buf_append_byte(out, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') st_buf_append_byte(out, '"');
        st_buf_append_byte(out, (uint8_t)s[i]);
    }
    st_buf_append_byte(out, '"');
}

static void word(st_buf_t *out, const char *w) {
    if (out->len) st_buf_append_byte(out, ' ');
    st_buf_append_str(out, w);
}

static int translate(const char *q, st_buf_t *out) {
    const char *p = q;
    while (*p) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            p++;
        } else if (c == '(' || c == ')') {
            word(out, c == '(' ? "(" : ")");
            p++;
        } else if (c == '"') {
            const char *s = ++p;
            while (*p && *p != '"') p++;
            size_t n = (size_t)(p - s);
            if (*p) p++;
            bool prefix = *p == '*';
            if (prefix) p++;
            if (!searchable(s, n)) continue;
            quoted(out, s, n);
            if (prefix) st_buf_append_byte(out, '*');
        } else {
            const char *s = p;
            while (*p && !strchr(" \t\r\n\"()", *p)) p++;
            size_t n = (size_t)(p - s);
            if ((n == 3 && (!strncmp(s, "AND", 3) || !strncmp(s, "NOT", 3))) ||
                (n == 2 && !strncmp(s, "OR", 2))) {
                char op[4];
                memcpy(op, s, n);
                op[n] = 0;
                word(out, op);
                continue;
            }
            size_t stem = n;
            while (stem && s[stem - 1] == '*') stem--;
            if (!searchable(s, stem)) continue;
            quoted(out, s, stem);
            if (stem < n) st_buf_append_byte(out, '*');
        }
    }
    st_buf_append_byte(out, 0);
    out->len--;
    if (!out->len) return st_error(ST_EVALIDATION, "lake search: the query has no words to search");
    return ST_OK;
}

void st_lake_hits_free(st_lake_hit_t *hits, size_t n) {
    for (size_t i = 0; i < n; i++) {
        st_lake_entry_free(&hits[i].entry);
        free(hits[i].snippet);
    }
    free(hits);
}

static int run(st_lake_t *lake, const char *fts_query, const char *query,
               const st_lake_search_opts_t *o, enum pass pass, sqlite3_int64 lo,
               sqlite3_int64 hi, st_lake_hit_t **out, size_t *n) {
    /* Ranking: the RANK_WINDOW newest matches among rowids (lo, hi] (FTS5
     * yields them highest rowid first and stops at the limit), scored by
     * lk_bm25, which also bounds what it reads to weigh each phrase. Snippets and entry
     * rows are made only for the few that survive the LIMIT. Tombstones have
     * no FTS row, so without filters the ranking needs nothing but the FTS
     * table: no entries row is looked up per match. */
    bool filtered = o->data_type || (o->subpath && *o->subpath) || o->nmeta;
    /* "fts.rowid IN" lets FTS5 look each name match up; "+fts.rowid IN"
     * hides the constraint from it, so it walks the matches once. */
    const char *names = pass == PASS_NAMES_LOOKUP ? " AND fts.rowid IN (SELECT rowid FROM"
                                                    " fts_name WHERE fts_name MATCH ?1)"
                        : pass == PASS_NAMES_SCAN ? " AND +fts.rowid IN (SELECT rowid FROM"
                                                    " fts_name WHERE fts_name MATCH ?1)"
                                                  : "";
    static const char score[] = "lk_bm25(fts, (SELECT min(rid) FROM entries), (SELECT max(rid)"
                                " FROM entries), " W_NAME ", " W_CONTENT ", " W_META ") AS score";
    static const char tail[] = " ORDER BY fts.rowid DESC LIMIT ?7),"
                               " top AS MATERIALIZED (SELECT rid, score FROM cand ORDER BY score"
                               " LIMIT ?6)"
                               " SELECT e.doc, snippet(fts, -1, ?2, ?3, '…', 16), top.score"
                               " FROM top JOIN fts ON fts.rowid = top.rid JOIN entries e"
                               " ON e.rid = top.rid WHERE fts MATCH ?1 ORDER BY top.score";
    st_buf_t sql = ST_BUF_INIT;
    st_buf_printf(&sql, "WITH cand AS MATERIALIZED (SELECT fts.rowid AS rid, %s FROM fts", score);
    if (filtered) {
        st_buf_append_str(&sql, " JOIN entries e ON e.rid = fts.rowid WHERE fts MATCH ?1"
                                " AND fts.rowid > ?8 AND fts.rowid <= ?9"
                                " AND e.deleted = 0");
        if (o->data_type) st_buf_append_str(&sql, " AND e.data_type = ?4");
        if (o->subpath && *o->subpath)
            st_buf_append_str(&sql, " AND (e.subpath = ?5 OR substr(e.subpath, 1, length(?5) + 1)"
                                    " = ?5 || '/')");
        for (size_t i = 0; i < o->nmeta; i++)
            st_buf_printf(&sql,
                          " AND e.rid IN (SELECT rid FROM meta_kv WHERE key = ?%zu AND value = ?%zu)",
                          10 + 2 * i, 11 + 2 * i);
    } else {
        st_buf_append_str(&sql, " WHERE fts MATCH ?1 AND fts.rowid > ?8 AND fts.rowid <= ?9");
    }
    st_buf_append_str(&sql, names);
    st_buf_append_str(&sql, tail);
    st_buf_append_byte(&sql, 0);
    sqlite3_stmt *st;
    int rc;
    /* The two frequent shapes stay prepared: ranges (bounded and exact) and
     * name lookups, without filters. */
    bool cached = !filtered && pass != PASS_NAMES_SCAN;
    if (cached) {
        rc = lk_stmt(lake, pass == PASS_NAMES_LOOKUP ? LK_ST_SEARCH_NAMES : LK_ST_SEARCH,
                     (const char *)sql.data, &st);
    } else {
        rc = sqlite3_prepare_v2(lake->db, (const char *)sql.data, -1, &st, NULL) == SQLITE_OK
                 ? ST_OK
                 : lk_sql_error(lake, "search");
    }
    st_buf_free(&sql);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, fts_query, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, o->mark_open ? o->mark_open : "[", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, o->mark_close ? o->mark_close : "]", -1, SQLITE_STATIC);
    if (o->data_type) sqlite3_bind_text(st, 4, o->data_type, -1, SQLITE_STATIC);
    if (o->subpath && *o->subpath) sqlite3_bind_text(st, 5, o->subpath, -1, SQLITE_STATIC);
    size_t limit = o->limit ? o->limit : 20;
    sqlite3_bind_int64(st, 6, (sqlite3_int64)limit);
    sqlite3_bind_int64(st, 7, pass != PASS_RANGE ? -1
                              : (sqlite3_int64)(limit > RANK_WINDOW ? limit : RANK_WINDOW));
    sqlite3_bind_int64(st, 8, lo);
    sqlite3_bind_int64(st, 9, hi);
    for (size_t i = 0; i < o->nmeta; i++) {
        sqlite3_bind_text(st, (int)(10 + 2 * i), o->meta[i].key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, (int)(11 + 2 * i), o->meta[i].value, -1, SQLITE_STATIC);
    }
    st_lake_hit_t *hits = calloc(limit < 64 ? limit : 64, sizeof *hits);
    size_t cap = limit < 64 ? limit : 64, count = 0;
    if (!hits) rc = st_error(ST_ENOMEM, "lake search: out of memory");
    int r = SQLITE_DONE;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            st_lake_hit_t *g = realloc(hits, 2 * cap * sizeof *g);
            if (!g) {
                rc = st_error(ST_ENOMEM, "lake search: out of memory");
                break;
            }
            hits = g;
            memset(hits + cap, 0, cap * sizeof *hits);
            cap *= 2;
        }
        const char *doc = (const char *)sqlite3_column_text(st, 0);
        const char *snip = (const char *)sqlite3_column_text(st, 1);
        st_lake_hit_t *h = &hits[count];
        if ((rc = lk_entry_from_json(doc, strlen(doc), "lake index", &h->entry))) break;
        h->snippet = strdup(snip ? snip : "");
        h->score = -sqlite3_column_double(st, 2);
        count++;
        if (!h->snippet) rc = st_error(ST_ENOMEM, "lake search: out of memory");
    }
    if (!rc && r != SQLITE_DONE) {
        const char *m = sqlite3_errmsg(lake->db);
        /* FTS5 rejects what the rewrite let through (a dangling AND, NOT
         * first, unbalanced parentheses): the user's query is at fault. */
        rc = r == SQLITE_ERROR ? st_error(ST_EVALIDATION,
                                          "lake search '%.200s': malformed query (%s); AND, OR "
                                          "and NOT need words on both sides, parentheses must pair",
                                          query, m)
                               : lk_sql_error(lake, "search");
    }
    if (!cached) {
        sqlite3_finalize(st);
    } else {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (rc) {
        st_lake_hits_free(hits, count);
        return rc;
    }
    *out = hits;
    *n = count;
    return ST_OK;
}

static int max_rid(st_lake_t *lake, sqlite3_int64 *top) {
    sqlite3_stmt *st;
    int rc = lk_stmt(lake, LK_ST_MAX_RID, "SELECT coalesce(max(rid), 0) FROM entries", &st);
    if (rc) return rc;
    if (sqlite3_step(st) == SQLITE_ROW) *top = sqlite3_column_int64(st, 0);
    else rc = lk_sql_error(lake, "search");
    sqlite3_reset(st);
    return rc;
}

/* How many entries match by name, counting to at most cap. */
static int count_names(st_lake_t *lake, const char *fts_query, sqlite3_int64 cap,
                       sqlite3_int64 *count) {
    sqlite3_stmt *st;
    int rc = lk_stmt(lake, LK_ST_COUNT_NAMES,
                     "SELECT count(*) FROM (SELECT 1 FROM fts_name WHERE fts_name MATCH ?1"
                     " LIMIT ?2)",
                     &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, fts_query, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, cap);
    /* A failure here shows again in the ranking pass, which reports it. */
    if (sqlite3_step(st) == SQLITE_ROW) *count = sqlite3_column_int64(st, 0);
    else *count = cap;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ST_OK;
}

static int by_score(const void *a, const void *b) {
    double x = ((const st_lake_hit_t *)a)->score, y = ((const st_lake_hit_t *)b)->score;
    if (x != y) return x > y ? -1 : 1;
    /* Equal scores: a stable order whatever pass found them. */
    return strcmp(((const st_lake_hit_t *)a)->entry.id, ((const st_lake_hit_t *)b)->entry.id);
}

static int by_id(const void *a, const void *b) {
    return strcmp(((const st_lake_hit_t *)a)->entry.id, ((const st_lake_hit_t *)b)->entry.id);
}

static void hit_free(st_lake_hit_t *h) {
    st_lake_entry_free(&h->entry);
    free(h->snippet);
}

/* Appends `more` (taken over) to *hits, each entry once, best first, cut to
 * limit. */
static int merge_hits(st_lake_hit_t **hits, size_t *n, st_lake_hit_t *more, size_t m,
                      size_t limit) {
    if (!m) {
        free(more);
        return ST_OK;
    }
    st_lake_hit_t *all = realloc(*hits, (*n + m) * sizeof *all);
    if (!all) {
        st_lake_hits_free(more, m);
        return st_error(ST_ENOMEM, "lake search: out of memory");
    }
    memcpy(all + *n, more, m * sizeof *more);
    free(more);
    size_t total = *n + m, kept = 0;
    /* Passes overlap (a name match is often among the newest too); both
     * copies of an entry carry the same score, so either may go. */
    qsort(all, total, sizeof *all, by_id);
    for (size_t i = 0; i < total; i++) {
        if (kept && !strcmp(all[kept - 1].entry.id, all[i].entry.id)) hit_free(&all[i]);
        else all[kept++] = all[i];
    }
    total = kept;
    qsort(all, total, sizeof *all, by_score);
    if (total > limit) {
        for (size_t i = limit; i < total; i++) hit_free(&all[i]);
        total = limit;
    }
    *hits = all;
    *n = total;
    return ST_OK;
}

/* Bounded: the newest window, the older entries when it holds too few
 * matches, and the entries whose name matches. */
static int search_bounded(st_lake_t *lake, const char *fq, const char *query,
                          const st_lake_search_opts_t *o, st_lake_hit_t **out, size_t *n) {
    sqlite3_int64 top = 0;
    int rc = max_rid(lake, &top);
    sqlite3_int64 split = top - SCAN_WINDOW, all = (sqlite3_int64)1 << 62;
    if (!rc) rc = run(lake, fq, query, o, PASS_RANGE, split, all, out, n);
    if (rc) return rc;
    size_t limit = o->limit ? o->limit : 20;
    st_lake_hit_t *more;
    size_t m;
    /* Too few among the newest entries: the older ones are searched too and
     * the two rankings merged (the scores are on one scale: same query, same
     * statistics). */
    if (*n < limit && split > 0) {
        rc = run(lake, fq, query, o, PASS_RANGE, -all, split, &more, &m);
        if (!rc) rc = merge_hits(out, n, more, m, limit);
    }
    sqlite3_int64 named = 0;
    if (!rc) rc = count_names(lake, fq, NAME_LOOKUP + 1, &named);
    if (!rc && named) {
        rc = run(lake, fq, query, o, named <= NAME_LOOKUP ? PASS_NAMES_LOOKUP : PASS_NAMES_SCAN,
                 -all, all, &more, &m);
        if (!rc) rc = merge_hits(out, n, more, m, limit);
    }
    return rc;
}

int st_lake_search(st_lake_t *lake, const char *query, const st_lake_search_opts_t *opts,
                   st_lake_hit_t **out, size_t *n) {
    *out = NULL;
    *n = 0;
    st_lake_search_opts_t o = opts ? *opts : (st_lake_search_opts_t){0};
    if (!query) return st_error(ST_EVALIDATION, "lake search: no query");
    int rc;
    if (o.data_type && (rc = lk_check_type(lake, o.data_type))) return rc;
    if ((rc = lk_validate_subpath(o.subpath))) return rc;
    for (size_t i = 0; i < o.nmeta; i++)
        if (!o.meta[i].key || !*o.meta[i].key || !o.meta[i].value)
            return st_error(ST_EVALIDATION, "lake search: metadata filter %zu has no key", i + 1);
    st_buf_t fq = ST_BUF_INIT;
    if ((rc = translate(query, &fq))) {
        st_buf_free(&fq);
        return rc;
    }
    pthread_mutex_lock(&lake->lock);
    rc = lk_sync_locked(lake);
    sqlite3_int64 all = (sqlite3_int64)1 << 62;
    if (!rc && o.exact)
        rc = run(lake, (const char *)fq.data, query, &o, PASS_ALL, -all, all, out, n);
    else if (!rc)
        rc = search_bounded(lake, (const char *)fq.data, query, &o, out, n);
    if (rc) {
        st_lake_hits_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    pthread_mutex_unlock(&lake->lock);
    st_buf_free(&fq);
    return rc;
}
