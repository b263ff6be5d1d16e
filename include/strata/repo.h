/*
 * strata repository: records organised by entity type and project, the way an
 * application thinks of them ("the borelogs of project P-17").
 *
 * An entity type (borelog, lab_report, ...) is bound to a table of the schema
 * registry; the records of one (entity type, project) live in the record layer
 * under root "<records_root>/<entity_type>/<project>" (record.h), so everything
 * record.h promises (immutable versions, hash-chained log, put-if-absent
 * commits, verify) holds for them.
 *
 * Entity types come from, in order: opts->config_path (a local JSON file), the
 * store object "<index_root>/config.json", else the built-in mapping
 * (st_repo_builtin_config). The file:
 *   {"entity_types": {"borelog": {"table": "borelog"},
 *                     "lab_report": {"table": "unified_lab_reports"}, ...}}
 *
 * Listing without reading records: a per-project index under
 * "<index_root>/index/<entity_type>/<project>/":
 *   m/<id>~s<seq>~<status>~<version>~<approved>~<at_us>   one empty object per
 *       committed state a writer saw (put-if-absent; the key is the entry); for
 *       a record the marker with the highest log seq wins, so writers racing
 *       each other never lose an update, whatever order their markers land in.
 *   m/<id>~p<created_us>-<rand>  a "pending" marker written before a change
 *       and removed after its result is indexed. A record that has one is read
 *       from its log by the listing, so a writer killed between its commit and
 *       its marker never leaves the listing wrong.
 *   snapshot   text, one line per record, folding markers that a compaction
 *       removed; replaced with put-if-match (stores without it keep markers).
 * A listing lists m/ first and reads snapshot second, so a compaction running
 * meanwhile can only make it fresher. st_repo_reindex rebuilds the index from
 * the records themselves.
 *
 * Thread safety: a handle may be used from several threads at once.
 */
#ifndef STRATA_REPO_H
#define STRATA_REPO_H

#include "strata/dataset.h"
#include "strata/record.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct st_repo st_repo_t;

typedef struct st_repo_opts {
    const char *records_root;     /* default "records" */
    const char *index_root;       /* default "repo" */
    const char *config_path;      /* local JSON config; NULL: store object, else built-in */
    const st_registry_t *registry;/* NULL = built-in pack */
    bool approver_not_author;     /* record.h policy */
    /* Listing compacts the index when it finds more markers than this
     * (0 = 1000; < 0 never). */
    int compact_threshold;
    /* A pending marker older than this is a dead writer's (0 = 300 s). */
    int64_t pending_timeout_us;
} st_repo_opts_t;

/* The built-in entity types as a config document (static text). */
const char *st_repo_builtin_config(void);

/* Opens the repository on `store` (borrowed; must outlive the handle). The
 * config must name only tables the registry knows (ST_EINVAL otherwise). */
int st_repo_open(st_store_t *store, const st_repo_opts_t *opts, st_repo_t **out);
void st_repo_close(st_repo_t *r);

/* Entity types, sorted by name, and the table each is bound to. */
int st_repo_entity_count(const st_repo_t *r);
void st_repo_entity_at(const st_repo_t *r, int i, const char **entity_type, const char **table);
/* ST_ENOTFOUND "Unknown entity type 'x' (known: ...)". */
int st_repo_entity_table(const st_repo_t *r, const char *entity_type, const char **table);
/* The record-layer handle of one (entity type, project); owned by r. */
int st_repo_records(st_repo_t *r, const char *entity_type, const char *project,
                    st_records_t **out);

/* ---- changes (record.h semantics and errors) ---------------------------- */

int st_repo_create(st_repo_t *r, const char *entity_type, const char *project,
                   const char *record_id, const st_batch_t *batch, const char *by,
                   const char *comment, int *version);
int st_repo_update(st_repo_t *r, const char *entity_type, const char *project,
                   const char *record_id, const st_batch_t *batch, const char *by,
                   const char *comment, int *version);
int st_repo_approve(st_repo_t *r, const char *entity_type, const char *project,
                    const char *record_id, const char *by, const char *comment);
int st_repo_reject(st_repo_t *r, const char *entity_type, const char *project,
                   const char *record_id, const char *by, const char *comment);

/* ---- reads --------------------------------------------------------------- */

int st_repo_get(st_repo_t *r, const char *entity_type, const char *project,
                const char *record_id, const st_record_selector_t *sel, st_batch_t **out);
/* State with the full history (st_record_state_free). */
int st_repo_history(st_repo_t *r, const char *entity_type, const char *project,
                    const char *record_id, st_record_state_t **out);

/* One record of a listing: its state as of log position seq. */
typedef struct st_repo_entry {
    char *record_id;
    int64_t seq;
    int version;            /* current version */
    st_record_status_t status;
    int approved_version;   /* latest approved version, 0 if none */
    int64_t updated_at_us;  /* time of the event at seq */
} st_repo_entry_t;

typedef struct st_repo_list {
    st_repo_entry_t *entries; /* sorted by record_id */
    int n;
    int resolved;             /* records read from their log (pending markers) */
    int markers;              /* marker objects listed */
} st_repo_list_t;

void st_repo_list_free(st_repo_list_t *l);

/* Every record of (entity type, project), optionally only those with status
 * *status (NULL = all). Lists the index; reads a record only when a pending
 * marker says its index entry may be behind. */
int st_repo_list_by_project(st_repo_t *r, const char *entity_type, const char *project,
                            const st_record_status_t *status, st_repo_list_t *out);

/* Folds the markers into the snapshot and removes the folded ones. Needs
 * put-if-match (ST_EUNSUPPORTED otherwise). */
int st_repo_compact(st_repo_t *r, const char *entity_type, const char *project);
/* Rebuilds the index of (entity type, project) from the records' logs (every
 * record is read); *nrecords (optional) receives the records found. */
int st_repo_reindex(st_repo_t *r, const char *entity_type, const char *project, int *nrecords);

/* ---- query --------------------------------------------------------------- */

typedef struct st_repo_query_opts {
    bool approved;              /* each record's latest approved version (records
                                 * without one are left out); else the latest */
    const st_record_status_t *status; /* only records with this status; NULL = all */
    const char *const *columns; /* projection; NULL = all */
    int ncolumns;
    const char *filter;         /* st_expr text or NULL */
    int64_t limit;              /* < 0: none */
} st_repo_query_opts_t;

typedef struct st_repo_query st_repo_query_t;

/* All records of (entity type, project) as one table, one file per record
 * (the version chosen by opts), read with the dataset scan (projection,
 * filter, pruning). Every output batch comes from one record. */
int st_repo_query_open(st_repo_t *r, const char *entity_type, const char *project,
                       const st_repo_query_opts_t *opts, st_repo_query_t **out);
/* Next batch (caller frees), *out = NULL at the end; record_id/version
 * (optional) name the record and version the batch came from (valid until the
 * next call). */
int st_repo_query_next(st_repo_query_t *q, st_batch_t **out, const char **record_id,
                       int *version);
/* Summed scan statistics of the files read so far. */
void st_repo_query_stats(const st_repo_query_t *q, st_scan_stats_t *stats);
void st_repo_query_close(st_repo_query_t *q);

#ifdef __cplusplus
}
#endif
#endif
