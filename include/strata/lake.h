/*
 * strata lake: artifacts (schemas, macros, documentation, configuration, logs,
 * ...) with metadata, versions and full-text search, on any store.
 *
 * Layout under the store's root (every object written by this module):
 *   lake/<data_type>/[<subpath>/]<name>   current content of an entry; its
 *                                         user metadata "lake-id" names the id
 *   lake/.metadata/<id>.json              the entry (see st_lake_entry_t)
 *   lake/.versions/<id>/v<N>              content of earlier version N
 *   lake/.journal/<seq, 16 digits>.json   one change per file, put-if-absent,
 *                                         numbered from 1 without gaps
 *   lake/.types/<type>                    data types a deployment registered
 *   lake/.lake.json                       the lake's identity (a UUID)
 *
 * Writes: content first, then the entry, then the journal record, so a reader
 * that sees a journal record finds what it announces. A new entry takes its
 * path with put-if-absent (ST_ECONFLICT if another live entry holds it). An
 * update first makes sure the current version has a copy apart from the path
 * (version 1 is copied to lake/.versions/<id>/v1 then), writes the new bytes
 * to lake/.versions/<id>/v<N+1>-<token>, commits by replacing the entry only
 * if its ETag is unchanged (so of two concurrent updates one gets
 * ST_ECONFLICT and its bytes are removed), and then copies the new bytes to
 * the path. Delete leaves a tombstone: the entry is kept (deleted: true),
 * the path is freed, and it disappears from list, search and stats. Purge
 * removes the entry, its content and its versions. Retrieval checks the
 * content's SHA-256 against the entry and reads the version's own copy when
 * the path holds other bytes (an update interrupted after its commit, or a
 * late path write that lost to a newer one); ST_ECORRUPT if nothing matches.
 *
 * Search: a SQLite FTS5 index (a cache file; see st_lake_default_index_path)
 * over the name, the content of text entries (the first ST_LAKE_INDEX_TEXT_MAX
 * bytes) and the metadata's keys and values, ranked by BM25 (name weighted
 * above metadata, above content). So that a query answers in milliseconds
 * however broad it is, a bounded search (the default) ranks the content and
 * metadata matches only among the 20,000 most recently indexed entries (the
 * rest only when those hold fewer matches than it returns), at most the 1,000
 * most recent of them, and weighs a phrase found in more than 50 entries by
 * an estimate of how many it is in. Every entry whose name alone matches the
 * query is ranked too, whatever its age (a query whose words are in more than
 * a few hundred names costs about as much as an exact search). So an old
 * entry that matches only by content, among thousands of newer matches, may
 * be missing: an exact search (st_lake_search_opts_t.exact) ranks every
 * match, at a cost that grows with their number. A hit's score is the same
 * in either mode. Before list, search
 * and stats the handle replays the journal from the last position its
 * index saw: when nothing changed that costs one GET of a missing key. So changes made by other
 * handles, processes or hosts on the same store show up without reindexing,
 * and an index left behind by a crash (or deleted) catches up or is rebuilt.
 * st_lake_reindex() rebuilds the index from the store alone. A writer that
 * crashed between writing an entry and its journal record leaves an entry
 * that retrieve finds but other indexes only see after a reindex.
 *
 * Errors: ST_ENOTFOUND (no such entry, version or path; deleted entries are
 * not found except by versions/purge), ST_EVALIDATION (empty, over-long,
 * path-traversing or control-character names and subpaths, unknown data
 * types, metadata that is not a JSON object, malformed queries),
 * ST_ECONFLICT (path taken, concurrent change), and the store's errors
 * (ST_EIO, ST_EAUTH, ...), each with a message naming the entry and cause.
 *
 * The store must offer put-if-absent and put-if-match (file://, mem://, and
 * S3 servers that honour conditional writes); st_lake_open refuses others.
 *
 * Thread safety: a handle may be used from several threads at once. Store
 * reads and content writes run in parallel; journal appends take turns, and
 * the index updates they leave are applied in batches (one transaction for
 * whatever writers have queued) by whichever writer holds the index, while
 * the next journal record is written. Several processes may share one index
 * file (SQLite locking, WAL).
 */
#ifndef STRATA_LAKE_H
#define STRATA_LAKE_H

#include "strata/store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ST_LAKE_NAME_MAX 255
#define ST_LAKE_SUBPATH_MAX 512
#define ST_LAKE_TYPE_MAX 64
#define ST_LAKE_META_MAX (64 * 1024)
/* Text beyond this many bytes of an entry is stored but not indexed. */
#define ST_LAKE_INDEX_TEXT_MAX (4u * 1024 * 1024)

typedef struct st_lake st_lake_t;

typedef struct st_lake_opts {
    /* SQLite index file; NULL: $STRATA_LAKE_INDEX, else the default cache path
     * for the store's URL. ":memory:" keeps it in memory (rebuilt per open). */
    const char *index_path;
} st_lake_opts_t;

/* Opens the lake on `store` (borrowed: it must outlive the handle). Creates
 * lake/.lake.json on first use. opts may be NULL. */
int st_lake_open(st_store_t *store, const st_lake_opts_t *opts, st_lake_t **out);
void st_lake_close(st_lake_t *lake);

/* $XDG_CACHE_HOME/strata/lake-<first 16 hex of SHA-256(url)>.sqlite, or under
 * ~/.cache/strata when XDG_CACHE_HOME is unset (malloc'd; caller frees). The
 * directory is created. */
int st_lake_default_index_path(const char *store_url, char **out);

/* The path the handle's index lives at. */
const char *st_lake_index_path(const st_lake_t *lake);

/* One version of an entry's content. */
typedef struct st_lake_version {
    int version;
    uint64_t size;
    char sha256[ST_SHA256_HEX_LEN + 1];
    int64_t created_at_us;
    char key[96]; /* where the version's bytes are kept apart from the path */
} st_lake_version_t;

typedef struct st_lake_entry {
    char id[ST_UUID_STR_LEN + 1];
    char *name;
    char *data_type;
    char *subpath;       /* "" when none */
    char *path;          /* "lake/<data_type>/[<subpath>/]<name>" */
    char *metadata_json; /* a compact JSON object, "{}" when none */
    bool is_text;        /* valid UTF-8 without NUL bytes */
    uint64_t size;
    char sha256[ST_SHA256_HEX_LEN + 1];
    int version; /* current version, from 1 */
    int64_t created_at_us, updated_at_us;
    bool deleted;
    int64_t deleted_at_us;
    st_lake_version_t *versions; /* every version, oldest first (the last is current) */
    size_t nversions;
    /* Filled by the retrieve functions only (else NULL / 0); one NUL byte
     * follows it so text can be used as a C string. */
    uint8_t *content;
    size_t content_len;
} st_lake_entry_t;

void st_lake_entry_free(st_lake_entry_t *e);
void st_lake_entries_free(st_lake_entry_t *entries, size_t n);

/* The entry as one JSON object (id first; "content" when with_content and the
 * entry is text, "content_base64" when binary), appended to out. */
int st_lake_entry_json(const st_lake_entry_t *e, bool with_content, st_buf_t *out);

/* Built-in types: schema, macro, documentation, configuration, logs, other. */
bool st_lake_type_builtin(const char *type);
/* Registers a deployment type (lowercase letters, digits, '_' and '-', from a
 * letter, at most ST_LAKE_TYPE_MAX bytes). Registering twice is fine. */
int st_lake_register_type(st_lake_t *lake, const char *type);
/* Every known type, built-in first (malloc'd array of malloc'd strings). */
int st_lake_types(st_lake_t *lake, char ***out, size_t *n);
void st_lake_types_free(char **types, size_t n);

/* Stores a new entry: content[0..len) under lake/<data_type>/<subpath>/<name>.
 * metadata_json: NULL or a JSON object; subpath: NULL or "" for none. out
 * (optional) receives the entry without content. */
int st_lake_store(st_lake_t *lake, const char *name, const void *content, size_t len,
                  const char *data_type, const char *metadata_json, const char *subpath,
                  st_lake_entry_t *out);

/* The entry with its current content. ST_ENOTFOUND if absent or deleted. */
int st_lake_retrieve(st_lake_t *lake, const char *id, st_lake_entry_t *out);
/* The entry without content, deleted or not. */
int st_lake_info(st_lake_t *lake, const char *id, st_lake_entry_t *out);
/* The entry with the content of `version` (works for deleted entries too). */
int st_lake_retrieve_version(st_lake_t *lake, const char *id, int version,
                             st_lake_entry_t *out);
/* By path, "lake/schema/a.sql" or "schema/a.sql". */
int st_lake_retrieve_by_path(st_lake_t *lake, const char *path, st_lake_entry_t *out);

/* New content (content NULL: keep it; else a new version) and/or metadata
 * (NULL: keep; else merged into the current object, a null value removing a
 * key). out (optional) receives the updated entry without content. */
int st_lake_update(st_lake_t *lake, const char *id, const void *content, size_t len,
                   const char *metadata_json, st_lake_entry_t *out);

/* Leaves a tombstone; ST_ENOTFOUND if absent or already deleted. */
int st_lake_delete(st_lake_t *lake, const char *id);
/* Removes the entry, deleted or not, with its content and every version. */
int st_lake_purge(st_lake_t *lake, const char *id);

/* Versions of an entry (deleted ones too), oldest first. */
int st_lake_versions(st_lake_t *lake, const char *id, st_lake_version_t **out, size_t *n);

/* Live entries of data_type (NULL: all) in subpath (NULL or "": the type's
 * top level, or everything with recursive), ordered by path. */
int st_lake_list(st_lake_t *lake, const char *data_type, const char *subpath, bool recursive,
                 st_lake_entry_t **out, size_t *n);

typedef struct st_lake_filter {
    const char *key; /* nested keys joined with '.' */
    const char *value; /* strings as is, numbers and booleans as JSON writes them */
} st_lake_filter_t;

typedef struct st_lake_search_opts {
    const char *data_type; /* NULL: any */
    const char *subpath;   /* NULL: any; else that subpath and below */
    const st_lake_filter_t *meta;
    size_t nmeta;
    size_t limit;                     /* 0: 20 */
    const char *mark_open, *mark_close; /* around matched terms; default "[" "]" */
    /* false (default): bounded ranking, see the top of this file; true: rank
     * every match (slower for queries matching thousands of entries). */
    bool exact;
} st_lake_search_opts_t;

typedef struct st_lake_hit {
    st_lake_entry_t entry; /* without content */
    double score;          /* BM25, higher is better */
    char *snippet;         /* text around the best match, terms marked */
} st_lake_hit_t;

/* Query syntax: words (all must match), "quoted phrases", prefix* terms, and
 * the operators AND, OR, NOT (upper case). Punctuation inside a word splits
 * it into a phrase ("user_schema.sql" matches the three words in a row).
 * Hits are ranked best first. */
int st_lake_search(st_lake_t *lake, const char *query, const st_lake_search_opts_t *opts,
                   st_lake_hit_t **out, size_t *n);
void st_lake_hits_free(st_lake_hit_t *hits, size_t n);

typedef struct st_lake_type_stats {
    char *data_type;
    uint64_t entries;
    uint64_t size;
} st_lake_type_stats_t;

typedef struct st_lake_stats {
    uint64_t total_entries; /* live */
    uint64_t total_size;    /* bytes of current content of live entries */
    uint64_t deleted_entries;
    st_lake_type_stats_t *by_type; /* sorted by type */
    size_t ntypes;
} st_lake_stats_t;

int st_lake_stats(st_lake_t *lake, st_lake_stats_t *out);
void st_lake_stats_free(st_lake_stats_t *s);

/* Brings the index up to date with the store's journal (done by list, search
 * and stats). */
int st_lake_sync(st_lake_t *lake);
/* Rebuilds the index from the store alone (entries listed under
 * lake/.metadata/). */
int st_lake_reindex(st_lake_t *lake);
/* Brings the index up to date and merges its full-text part into one
 * segment per term: after a bulk load a search then reads one list per term
 * instead of one per segment (a 1 GB lake: seconds; a rebuild does it too). */
int st_lake_optimize(st_lake_t *lake);

#ifdef __cplusplus
}
#endif
#endif
