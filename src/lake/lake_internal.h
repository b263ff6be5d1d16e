/* Private pieces of the lake layer shared by its files. */
#ifndef STRATA_LAKE_INTERNAL_H
#define STRATA_LAKE_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>

#include "strata/lake.h"

#define LK_ROOT "lake"
#define LK_META_PREFIX "lake/.metadata/"
#define LK_JOURNAL_PREFIX "lake/.journal/"
#define LK_TYPES_PREFIX "lake/.types/"
#define LK_IDENTITY_KEY "lake/.lake.json"
#define LK_ID_META "lake-id"

/* Statements a handle prepares once and reuses (the hot ones of ingest and
 * search). */
enum {
    LK_ST_FIND_RID,
    LK_ST_INSERT_ENTRY,
    LK_ST_UPDATE_ENTRY,
    LK_ST_DELETE_ENTRY,
    LK_ST_INSERT_FTS,
    LK_ST_DELETE_FTS,
    LK_ST_INSERT_KV,
    LK_ST_DELETE_KV,
    LK_ST_GET_STATE,
    LK_ST_SET_STATE,
    LK_ST_SEARCH,
    LK_ST_MAX_RID,
    LK_ST_INSERT_NAME,
    LK_ST_DELETE_NAME,
    LK_ST_SEARCH_NAMES,
    LK_ST_COUNT_NAMES,
    LK_ST_COUNT
};

/* A change whose journal record is written and whose index update waits
 * for the next batch (lake_journal.c); it lives on its writer's stack. */
typedef struct lk_pending {
    uint64_t seq;
    const char *id;
    const st_lake_entry_t *e; /* NULL: removed */
    const uint8_t *content;
    size_t len;
    bool done; /* applied (or given up to the next sync); read under lock */
    struct lk_pending *next;
} lk_pending_t;

struct st_lake {
    st_store_t *store;
    sqlite3 *db;
    char *index_path;
    pthread_mutex_t lock; /* db (and its statements), types */
    /* Journal appends and the queue of index updates they leave. Taken
     * alone or inside `lock`, never the other way round, so one writer's
     * journal fsync runs while another applies a batch to the index. */
    pthread_mutex_t jlock;
    uint64_t jnext; /* next journal number to try */
    lk_pending_t *pending, **pending_tail; /* in journal order */
    sqlite3_stmt *stmts[LK_ST_COUNT]; /* prepared once, see lk_stmt */
    char uuid[ST_UUID_STR_LEN + 1];
    char **types; /* registered (non built-in) types */
    size_t ntypes;
};

/* ---- validation (lake.c) ---- */
int lk_validate_name(const char *name);
int lk_validate_subpath(const char *subpath);
int lk_validate_id(const char *id);
/* Known type (built-in or registered); ST_EVALIDATION otherwise. */
int lk_check_type(st_lake_t *lake, const char *type);

/* ---- entries (lake_entry.c) ---- */
/* "lake/.metadata/<id>.json" etc. into out (cap >= 128 + ST_KEY_MAX). */
void lk_meta_key(const char *id, char *out, size_t cap);
void lk_version_key(const char *id, int version, char *out, size_t cap);
/* "lake/<type>/[<subpath>/]<name>" (malloc'd). */
char *lk_content_path(const char *type, const char *subpath, const char *name);
/* The stored form of an entry (without content), compact JSON (malloc'd). */
char *lk_entry_to_json(const st_lake_entry_t *e);
/* Parses the stored form; ST_ECORRUPT naming `what` if malformed. */
int lk_entry_from_json(const char *text, size_t len, const char *what, st_lake_entry_t *out);
/* Parses user metadata: NULL -> {}, else it must be a JSON object. */
int lk_parse_metadata(const char *text, json_t **out);
/* Space-separated "key value" words of the metadata, for the index. */
void lk_metadata_words(json_t *obj, st_buf_t *out);
/* Calls fn for every (dotted key, text value) leaf. */
typedef int (*lk_kv_fn)(void *ctx, const char *key, const char *value);
int lk_metadata_each(json_t *obj, lk_kv_fn fn, void *ctx);
bool lk_is_text(const uint8_t *data, size_t len);
/* Deep copy of a version list. */
int lk_versions_dup(const st_lake_version_t *v, size_t n, st_lake_version_t **out);

/* ---- index (lake_index.c); callers hold lake->lock ---- */
int lk_index_open(st_lake_t *lake);
void lk_index_close(st_lake_t *lake);
int lk_index_begin(st_lake_t *lake);
int lk_index_commit(st_lake_t *lake);
void lk_index_rollback(st_lake_t *lake);
/* Makes the index hold `e` (tombstones leave the search), with text content
 * (NULL for binary or unknown). */
int lk_index_put(st_lake_t *lake, const st_lake_entry_t *e, const char *text, size_t text_len);
int lk_index_remove(st_lake_t *lake, const char *id);
int lk_index_clear(st_lake_t *lake);
/* Merges the FTS5 index into one segment per term (a query then reads one
 * doclist per term instead of one per segment). */
int lk_index_optimize(st_lake_t *lake);
/* Moves the WAL into the database and truncates it (after a bulk rewrite,
 * which leaves a WAL as large as the index). */
void lk_index_checkpoint(st_lake_t *lake);
int lk_index_get_state(st_lake_t *lake, const char *key, char *out, size_t cap);
int lk_index_set_state(st_lake_t *lake, const char *key, const char *value);
uint64_t lk_index_position(st_lake_t *lake);
int lk_index_set_position(st_lake_t *lake, uint64_t pos);
int lk_index_list(st_lake_t *lake, const char *type, const char *subpath, bool recursive,
                  st_lake_entry_t **out, size_t *n);
int lk_index_stats(st_lake_t *lake, st_lake_stats_t *out);
int lk_sql_error(st_lake_t *lake, const char *what);
/* The handle's statement in `slot`, prepared from sql on first use; the
 * caller resets it (sqlite3_reset + sqlite3_clear_bindings) when done. */
int lk_stmt(st_lake_t *lake, int slot, const char *sql, sqlite3_stmt **st);

/* ---- ranking (lake_rank.c) ---- */
/* Registers the lk_bm25() FTS5 ranking function on the handle's database. */
int lk_rank_register(st_lake_t *lake);

/* ---- journal (lake_journal.c) ---- */
/* Appends a record of `op` on `id` and applies `e` (NULL: removed) to the
 * index in the same step. */
int lk_journal_commit(st_lake_t *lake, const char *op, const char *id, const st_lake_entry_t *e,
                      const uint8_t *content, size_t len);
/* Applies the queued index updates in one transaction; caller holds the
 * lock. */
void lk_apply_pending_locked(st_lake_t *lake);
/* Replays new journal records into the index; caller holds the lock. */
int lk_sync_locked(st_lake_t *lake);
int lk_reindex_locked(st_lake_t *lake);
/* Reads the entry and its current content from the store and puts it in the
 * index (removing it if purged). Caller holds the lock. */
int lk_refresh(st_lake_t *lake, const char *id);

/* ---- store access (lake_ops.c) ---- */
/* Reads lake/.metadata/<id>.json; etag (optional, 130 bytes) gets its ETag. */
int lk_read_entry(st_lake_t *lake, const char *id, st_lake_entry_t *out, char *etag);

#endif
