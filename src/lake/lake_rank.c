/* lk_bm25(fts, rid_lo, rid_hi, w_name, w_content, w_meta): FTS5's BM25
 * (k1 = 1.2, b = 0.75, weighted term frequencies, lower is better) with one
 * difference that keeps broad queries fast: the built-in bm25() first walks
 * every match of every phrase to count the documents it is in (a phrase of
 * two common words in a 100,000-document lake is 100,000 position-list
 * merges before the first row is scored). Here the count stops at DF_EXACT
 * matches and, past that, is extrapolated from how far into the rowid range
 * [rid_lo, rid_hi] the DF_EXACT-th match lies. Such a phrase is in at least
 * DF_EXACT documents, so its IDF is small either way; rare phrases, which
 * decide rankings, are counted exactly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake_internal.h"

#define DF_EXACT 50
#define K1 1.2
#define B 0.75

typedef struct rank_data {
    int nphrase;
    double avgdl;
    double *idf;
    double *freq;
} rank_data_t;

typedef struct df_count {
    long n;
    sqlite3_int64 last;
} df_count_t;

static int count_cb(const Fts5ExtensionApi *api, Fts5Context *fts, void *p) {
    df_count_t *c = p;
    c->last = api->xRowid(fts);
    return ++c->n >= DF_EXACT ? SQLITE_DONE : SQLITE_OK;
}

static void rank_data_free(void *p) {
    rank_data_t *d = p;
    if (!d) return;
    free(d->idf);
    free(d->freq);
    free(d);
}

static int rank_data(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_int64 lo,
                     sqlite3_int64 hi, rank_data_t **out) {
    rank_data_t *d = api->xGetAuxdata(fts, 0);
    if (d) {
        *out = d;
        return SQLITE_OK;
    }
    sqlite3_int64 nrow = 0, ntok = 0;
    int rc = api->xRowCount(fts, &nrow);
    if (rc == SQLITE_OK) rc = api->xColumnTotalSize(fts, -1, &ntok);
    if (rc != SQLITE_OK) return rc;
    if (nrow < 1) nrow = 1;
    d = calloc(1, sizeof *d);
    int np = api->xPhraseCount(fts);
    if (!d || !(d->idf = calloc((size_t)np + 1, sizeof *d->idf)) ||
        !(d->freq = calloc((size_t)np + 1, sizeof *d->freq))) {
        rank_data_free(d);
        return SQLITE_NOMEM;
    }
    d->nphrase = np;
    d->avgdl = (double)ntok / (double)nrow;
    for (int i = 0; i < np && rc == SQLITE_OK; i++) {
        df_count_t c = {0, 0};
        rc = api->xQueryPhrase(fts, i, &c, count_cb);
        double n = (double)c.n;
        if (c.n >= DF_EXACT && c.last > lo && hi > lo) {
            double seen = (double)(c.last - lo + 1) / (double)(hi - lo + 1);
            n = (double)c.n / seen;
            if (n > (double)nrow) n = (double)nrow;
        }
        double idf = log(((double)nrow - n + 0.5) / (n + 0.5));
        d->idf[i] = idf > 1e-6 ? idf : 1e-6; /* as bm25(): never zero or negative */
    }
    if (rc == SQLITE_OK) rc = api->xSetAuxdata(fts, d, rank_data_free);
    else rank_data_free(d);
    if (rc == SQLITE_OK) *out = d;
    return rc;
}

static void lk_bm25(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx,
                    int nval, sqlite3_value **val) {
    sqlite3_int64 lo = nval > 0 ? sqlite3_value_int64(val[0]) : 0;
    sqlite3_int64 hi = nval > 1 ? sqlite3_value_int64(val[1]) : 0;
    rank_data_t *d;
    int rc = rank_data(api, fts, lo, hi, &d);
    int ntok = 0;
    /* Per phrase, its own position list (xInst would first merge every
     * phrase's instances into one sorted array). */
    for (int ip = 0; rc == SQLITE_OK && ip < d->nphrase; ip++) {
        Fts5PhraseIter it;
        int ic, io;
        double f = 0;
        rc = api->xPhraseFirst(fts, ip, &it, &ic, &io);
        for (; rc == SQLITE_OK && ic >= 0; api->xPhraseNext(fts, &it, &ic, &io))
            f += 2 + ic < nval ? sqlite3_value_double(val[2 + ic]) : 1.0;
        d->freq[ip] = f;
    }
    if (rc == SQLITE_OK) rc = api->xColumnSize(fts, -1, &ntok);
    if (rc != SQLITE_OK) {
        sqlite3_result_error_code(ctx, rc);
        return;
    }
    double norm = K1 * (1 - B + B * (double)ntok / (d->avgdl > 0 ? d->avgdl : 1));
    double score = 0;
    for (int i = 0; i < d->nphrase; i++)
        score += d->idf[i] * (d->freq[i] * (K1 + 1)) / (d->freq[i] + norm);
    sqlite3_result_double(ctx, -score);
}

int lk_rank_register(st_lake_t *lake) {
    fts5_api *api = NULL;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(lake->db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
        return lk_sql_error(lake, "FTS5 API");
    sqlite3_bind_pointer(st, 1, &api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    if (!api || api->iVersion < 2)
        return st_error(ST_EIO, "lake index %s: SQLite has no usable FTS5 API", lake->index_path);
    if (api->xCreateFunction(api, "lk_bm25", NULL, lk_bm25, NULL) != SQLITE_OK)
        return lk_sql_error(lake, "register lk_bm25");
    return ST_OK;
}
