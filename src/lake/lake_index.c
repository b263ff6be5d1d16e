/* The SQLite index: a cache of the entries (their stored JSON), an FTS5 table
 * over name, text and metadata values, a second FTS5 table over names alone
 * (so that a search finds every entry whose name matches without walking the
 * content's long doclists), metadata key/value pairs for filters, and the
 * journal position it reflects. Callers hold lake->lock. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lake/lake_internal.h"

#define SCHEMA_VERSION "1"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS lake_state(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS entries(rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " data_type TEXT NOT NULL, subpath TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL,"
    " deleted INTEGER NOT NULL, doc TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS entries_loc ON entries(data_type, subpath, path);"
    "CREATE INDEX IF NOT EXISTS entries_path ON entries(path);"
    "CREATE TABLE IF NOT EXISTS meta_kv(rid INTEGER NOT NULL, key TEXT NOT NULL,"
    " value TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS meta_kv_kv ON meta_kv(key, value);"
    "CREATE INDEX IF NOT EXISTS meta_kv_rid ON meta_kv(rid);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(name, content, meta,"
    " tokenize = 'unicode61 remove_diacritics 2');"
    "CREATE VIRTUAL TABLE IF NOT EXISTS fts_name USING fts5(name,"
    " tokenize = 'unicode61 remove_diacritics 2');";

static const char drop_sql[] = "DROP TABLE IF EXISTS fts; DROP TABLE IF EXISTS fts_name;"
                               "DROP TABLE IF EXISTS meta_kv;"
                               "DROP TABLE IF EXISTS entries; DROP TABLE IF EXISTS lake_state;";

/* The index of a large lake is a GB or more: searches that touch many rows
 * read it through a memory map rather than a read() per page, with a page
 * cache that holds the hot b-tree levels and doclists between queries. */
static const char tuning_sql[] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                 "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;"
                                 "PRAGMA mmap_size=2147418112;";

int lk_sql_error(st_lake_t *lake, const char *what) {
    int code = lake->db ? sqlite3_errcode(lake->db) : SQLITE_ERROR;
    return st_error(code == SQLITE_NOMEM ? ST_ENOMEM : ST_EIO, "lake index %s: %s: %s",
                    lake->index_path, what, lake->db ? sqlite3_errmsg(lake->db) : "not open");
}

static int exec(st_lake_t *lake, const char *sql) {
    if (sqlite3_exec(lake->db, sql, NULL, NULL, NULL) != SQLITE_OK) return lk_sql_error(lake, sql);
    return ST_OK;
}

static int prep(st_lake_t *lake, const char *sql, sqlite3_stmt **st) {
    if (sqlite3_prepare_v2(lake->db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return lk_sql_error(lake, "prepare");
    }
    return ST_OK;
}

int lk_stmt(st_lake_t *lake, int slot, const char *sql, sqlite3_stmt **st) {
    if (!lake->stmts[slot] && sqlite3_prepare_v3(lake->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                                 &lake->stmts[slot], NULL) != SQLITE_OK) {
        lake->stmts[slot] = NULL;
        *st = NULL;
        return lk_sql_error(lake, "prepare");
    }
    *st = lake->stmts[slot];
    return ST_OK;
}

static void release(sqlite3_stmt *st) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Runs a statement of lk_stmt to completion (it stays prepared). */
static int done_cached(st_lake_t *lake, sqlite3_stmt *st) {
    int r = sqlite3_step(st);
    int rc = r == SQLITE_DONE || r == SQLITE_ROW ? ST_OK : lk_sql_error(lake, "write");
    release(st);
    return rc;
}

int lk_index_get_state(st_lake_t *lake, const char *key, char *out, size_t cap) {
    sqlite3_stmt *st;
    *out = 0;
    int rc = lk_stmt(lake, LK_ST_GET_STATE, "SELECT value FROM lake_state WHERE key = ?", &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    else if (r != SQLITE_DONE) rc = lk_sql_error(lake, "read state");
    release(st);
    return rc;
}

int lk_index_set_state(st_lake_t *lake, const char *key, const char *value) {
    sqlite3_stmt *st;
    int rc = lk_stmt(lake, LK_ST_SET_STATE,
                     "INSERT OR REPLACE INTO lake_state(key, value) VALUES (?, ?)", &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    return done_cached(lake, st);
}

uint64_t lk_index_position(st_lake_t *lake) {
    char v[32];
    if (lk_index_get_state(lake, "journal_position", v, sizeof v)) return 0;
    return strtoull(v, NULL, 10);
}

int lk_index_set_position(st_lake_t *lake, uint64_t pos) {
    char v[32];
    snprintf(v, sizeof v, "%llu", (unsigned long long)pos);
    return lk_index_set_state(lake, "journal_position", v);
}

int lk_index_begin(st_lake_t *lake) { return exec(lake, "BEGIN IMMEDIATE"); }
int lk_index_commit(st_lake_t *lake) { return exec(lake, "COMMIT"); }
void lk_index_rollback(st_lake_t *lake) {
    if (!sqlite3_get_autocommit(lake->db)) sqlite3_exec(lake->db, "ROLLBACK", NULL, NULL, NULL);
}

static int try_open(st_lake_t *lake) {
    if (sqlite3_open_v2(lake->index_path, &lake->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        return lk_sql_error(lake, "open");
    sqlite3_busy_timeout(lake->db, 30000);
    int rc;
    if ((rc = exec(lake, tuning_sql))) return rc;
    if ((rc = lk_rank_register(lake))) return rc;
    if ((rc = exec(lake, "BEGIN IMMEDIATE"))) return rc;
    char ver[16] = "", uuid[64] = "";
    rc = exec(lake, schema_sql);
    if (!rc) rc = lk_index_get_state(lake, "schema", ver, sizeof ver);
    if (!rc) rc = lk_index_get_state(lake, "lake_id", uuid, sizeof uuid);
    /* Another layout, or another lake at this URL: start over (a cache). */
    if (!rc && (strcmp(ver, SCHEMA_VERSION) || strcmp(uuid, lake->uuid))) {
        rc = exec(lake, drop_sql);
        if (!rc) rc = exec(lake, schema_sql);
        if (!rc) rc = lk_index_set_state(lake, "schema", SCHEMA_VERSION);
        if (!rc) rc = lk_index_set_state(lake, "lake_id", lake->uuid);
        if (!rc) rc = lk_index_set_position(lake, 0);
    }
    /* An index of this layout written before the name table existed gets
     * it filled from the names fts holds (a second per 100,000 entries),
     * rather than a rebuild from the store. */
    char names[8] = "";
    if (!rc) rc = lk_index_get_state(lake, "name_index", names, sizeof names);
    if (!rc && strcmp(names, "1")) {
        rc = exec(lake, "DELETE FROM fts_name;"
                        " INSERT INTO fts_name(rowid, name) SELECT rowid, name FROM fts;");
        if (!rc) rc = lk_index_set_state(lake, "name_index", "1");
    }
    if (!rc) rc = exec(lake, "COMMIT");
    /* Journal numbers below this one are taken (a store gallops past any
     * written since). */
    if (!rc) lake->jnext = lk_index_position(lake) + 1;
    return rc;
}

int lk_index_open(st_lake_t *lake) {
    int rc = try_open(lake);
    if (rc && lake->db) {
        int code = sqlite3_errcode(lake->db);
        if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) {
            /* A damaged cache is rebuilt, never trusted. */
            lk_index_close(lake);
            size_t n = strlen(lake->index_path) + 8;
            char *side = malloc(n);
            if (!side) return st_error(ST_ENOMEM, "lake index: out of memory");
            unlink(lake->index_path);
            snprintf(side, n, "%s-wal", lake->index_path);
            unlink(side);
            snprintf(side, n, "%s-shm", lake->index_path);
            unlink(side);
            free(side);
            rc = try_open(lake);
        }
    }
    if (rc) lk_index_close(lake);
    return rc;
}

void lk_index_close(st_lake_t *lake) {
    for (int i = 0; i < LK_ST_COUNT; i++) {
        sqlite3_finalize(lake->stmts[i]);
        lake->stmts[i] = NULL;
    }
    if (lake->db) sqlite3_close(lake->db);
    lake->db = NULL;
}

int lk_index_optimize(st_lake_t *lake) {
    return exec(lake, "INSERT INTO fts(fts) VALUES('optimize');"
                      " INSERT INTO fts_name(fts_name) VALUES('optimize')");
}

void lk_index_checkpoint(st_lake_t *lake) {
    /* Best effort: readers in other processes may hold the WAL meanwhile. */
    sqlite3_wal_checkpoint_v2(lake->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}

int lk_index_clear(st_lake_t *lake) {
    return exec(lake,
                "DELETE FROM fts; DELETE FROM fts_name; DELETE FROM meta_kv; DELETE FROM entries;");
}

static int find_rid(st_lake_t *lake, const char *id, sqlite3_int64 *rid) {
    sqlite3_stmt *st;
    *rid = 0;
    int rc = lk_stmt(lake, LK_ST_FIND_RID, "SELECT rid FROM entries WHERE id = ?", &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) *rid = sqlite3_column_int64(st, 0);
    else if (r != SQLITE_DONE) rc = lk_sql_error(lake, "find entry");
    release(st);
    return rc;
}

static int drop_search_rows(st_lake_t *lake, sqlite3_int64 rid) {
    sqlite3_stmt *st;
    int rc = lk_stmt(lake, LK_ST_DELETE_FTS, "DELETE FROM fts WHERE rowid = ?", &st);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, rid);
    if ((rc = done_cached(lake, st))) return rc;
    if ((rc = lk_stmt(lake, LK_ST_DELETE_NAME, "DELETE FROM fts_name WHERE rowid = ?", &st)))
        return rc;
    sqlite3_bind_int64(st, 1, rid);
    if ((rc = done_cached(lake, st))) return rc;
    if ((rc = lk_stmt(lake, LK_ST_DELETE_KV, "DELETE FROM meta_kv WHERE rid = ?", &st))) return rc;
    sqlite3_bind_int64(st, 1, rid);
    return done_cached(lake, st);
}

struct kv_ctx {
    st_lake_t *lake;
    sqlite3_stmt *st;
    sqlite3_int64 rid;
};

static int put_kv(void *p, const char *key, const char *value) {
    struct kv_ctx *c = p;
    sqlite3_reset(c->st);
    sqlite3_bind_int64(c->st, 1, c->rid);
    sqlite3_bind_text(c->st, 2, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(c->st, 3, value, -1, SQLITE_TRANSIENT);
    return sqlite3_step(c->st) == SQLITE_DONE ? ST_OK : lk_sql_error(c->lake, "metadata pair");
}

int lk_index_put(st_lake_t *lake, const st_lake_entry_t *e, const char *text, size_t text_len) {
    sqlite3_int64 rid;
    int rc = find_rid(lake, e->id, &rid);
    if (rc) return rc;
    char *doc = lk_entry_to_json(e);
    if (!doc) return st_error(ST_ENOMEM, "lake index: out of memory");
    sqlite3_stmt *st;
    if (rid) {
        if (!(rc = drop_search_rows(lake, rid)))
            rc = lk_stmt(lake, LK_ST_UPDATE_ENTRY,
                         "UPDATE entries SET data_type = ?2, subpath = ?3, path = ?4, size = ?5,"
                         " deleted = ?6, doc = ?7 WHERE id = ?1",
                         &st);
    } else {
        rc = lk_stmt(lake, LK_ST_INSERT_ENTRY,
                     "INSERT INTO entries(id, data_type, subpath, path, size, deleted, doc)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                     &st);
    }
    if (!rc) {
        sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, e->data_type, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, e->subpath, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, e->path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)e->size);
        sqlite3_bind_int(st, 6, e->deleted);
        sqlite3_bind_text(st, 7, doc, -1, SQLITE_STATIC);
        rc = done_cached(lake, st);
        if (!rc && !rid) rid = sqlite3_last_insert_rowid(lake->db);
    }
    free(doc);
    if (rc || e->deleted) return rc; /* a tombstone is listed nowhere */
    json_t *meta;
    if ((rc = lk_parse_metadata(e->metadata_json, &meta))) return rc;
    st_buf_t words = ST_BUF_INIT;
    lk_metadata_words(meta, &words);
    rc = lk_stmt(lake, LK_ST_INSERT_FTS,
                 "INSERT INTO fts(rowid, name, content, meta) VALUES (?, ?, ?, ?)", &st);
    if (!rc) {
        sqlite3_bind_int64(st, 1, rid);
        sqlite3_bind_text(st, 2, e->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, text ? text : "", text ? (int)text_len : 0, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, words.data ? (char *)words.data : "", (int)words.len,
                          SQLITE_STATIC);
        rc = done_cached(lake, st);
    }
    st_buf_free(&words);
    if (!rc)
        rc = lk_stmt(lake, LK_ST_INSERT_NAME, "INSERT INTO fts_name(rowid, name) VALUES (?, ?)",
                     &st);
    if (!rc) {
        sqlite3_bind_int64(st, 1, rid);
        sqlite3_bind_text(st, 2, e->name, -1, SQLITE_STATIC);
        rc = done_cached(lake, st);
    }
    if (!rc)
        rc = lk_stmt(lake, LK_ST_INSERT_KV, "INSERT INTO meta_kv(rid, key, value) VALUES (?, ?, ?)",
                     &st);
    if (!rc) {
        struct kv_ctx c = {lake, st, rid};
        rc = lk_metadata_each(meta, put_kv, &c);
        release(st);
    }
    json_decref(meta);
    return rc;
}

int lk_index_remove(st_lake_t *lake, const char *id) {
    sqlite3_int64 rid;
    int rc = find_rid(lake, id, &rid);
    if (rc || !rid) return rc;
    if ((rc = drop_search_rows(lake, rid))) return rc;
    sqlite3_stmt *st;
    if ((rc = lk_stmt(lake, LK_ST_DELETE_ENTRY, "DELETE FROM entries WHERE rid = ?", &st)))
        return rc;
    sqlite3_bind_int64(st, 1, rid);
    return done_cached(lake, st);
}

int lk_index_list(st_lake_t *lake, const char *type, const char *subpath, bool recursive,
                  st_lake_entry_t **out, size_t *n) {
    *out = NULL;
    *n = 0;
    const char *sp = subpath ? subpath : "";
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT doc, path FROM entries WHERE deleted = 0%s%s ORDER BY path",
             type ? " AND data_type = ?1" : "",
             !recursive ? " AND subpath = ?2"
             : *sp      ? " AND (subpath = ?2 OR substr(subpath, 1, length(?2) + 1) = ?2 || '/')"
                        : "");
    sqlite3_stmt *st;
    int rc = prep(lake, sql, &st);
    if (rc) return rc;
    if (type) sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    if (!recursive || *sp) sqlite3_bind_text(st, 2, sp, -1, SQLITE_STATIC);
    size_t cap = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            st_lake_entry_t *grown = realloc(*out, cap * sizeof *grown);
            if (!grown) {
                rc = st_error(ST_ENOMEM, "lake list: out of memory");
                break;
            }
            *out = grown;
        }
        const char *doc = (const char *)sqlite3_column_text(st, 0);
        if ((rc = lk_entry_from_json(doc, strlen(doc), "lake index", &(*out)[*n]))) break;
        (*n)++;
    }
    if (!rc && r != SQLITE_DONE) rc = lk_sql_error(lake, "list");
    sqlite3_finalize(st);
    if (rc) {
        st_lake_entries_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int lk_index_stats(st_lake_t *lake, st_lake_stats_t *out) {
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    int rc = prep(lake,
                  "SELECT data_type, count(*), coalesce(sum(size), 0) FROM entries"
                  " WHERE deleted = 0 GROUP BY data_type ORDER BY data_type",
                  &st);
    if (rc) return rc;
    int r;
    size_t cap = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->ntypes == cap) {
            cap = cap ? 2 * cap : 8;
            st_lake_type_stats_t *g = realloc(out->by_type, cap * sizeof *g);
            if (!g) {
                rc = st_error(ST_ENOMEM, "lake stats: out of memory");
                break;
            }
            out->by_type = g;
        }
        st_lake_type_stats_t *t = &out->by_type[out->ntypes];
        t->data_type = strdup((const char *)sqlite3_column_text(st, 0));
        if (!t->data_type) {
            rc = st_error(ST_ENOMEM, "lake stats: out of memory");
            break;
        }
        t->entries = (uint64_t)sqlite3_column_int64(st, 1);
        t->size = (uint64_t)sqlite3_column_int64(st, 2);
        out->total_entries += t->entries;
        out->total_size += t->size;
        out->ntypes++;
    }
    if (!rc && r != SQLITE_DONE) rc = lk_sql_error(lake, "stats");
    sqlite3_finalize(st);
    if (!rc && !(rc = prep(lake, "SELECT count(*) FROM entries WHERE deleted = 1", &st))) {
        if (sqlite3_step(st) == SQLITE_ROW)
            out->deleted_entries = (uint64_t)sqlite3_column_int64(st, 0);
        else
            rc = lk_sql_error(lake, "stats");
        sqlite3_finalize(st);
    }
    if (rc) st_lake_stats_free(out);
    return rc;
}

void st_lake_stats_free(st_lake_stats_t *s) {
    if (!s) return;
    for (size_t i = 0; i < s->ntypes; i++) free(s->by_type[i].data_type);
    free(s->by_type);
    memset(s, 0, sizeof *s);
}

int st_lake_list(st_lake_t *lake, const char *data_type, const char *subpath, bool recursive,
                 st_lake_entry_t **out, size_t *n) {
    *out = NULL;
    *n = 0;
    int rc;
    if (data_type && (rc = lk_check_type(lake, data_type))) return rc;
    if ((rc = lk_validate_subpath(subpath))) return rc;
    pthread_mutex_lock(&lake->lock);
    rc = lk_sync_locked(lake);
    if (!rc) rc = lk_index_list(lake, data_type, subpath, recursive, out, n);
    pthread_mutex_unlock(&lake->lock);
    return rc;
}

int st_lake_stats(st_lake_t *lake, st_lake_stats_t *out) {
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&lake->lock);
    int rc = lk_sync_locked(lake);
    if (!rc) rc = lk_index_stats(lake, out);
    pthread_mutex_unlock(&lake->lock);
    return rc;
}
