/*
 * strata records: a record (a borelog, a lab report, ...) is a table of rows
 * that changes over time. Every version is kept forever as its own immutable
 * Parquet file; approval and rejection change only metadata; the history is an
 * append-only, hash-chained log that can prove it was not altered.
 *
 * Layout under the handle's root (default "records"), on any store:
 *   <root>/<id>/versions/v<N>.parquet   immutable, created put-if-absent
 *   <root>/<id>/log/<seq, 10 digits>.json  one event per file, put-if-absent
 *   <root>/<id>/metadata.json           snapshot of the state the log gives
 *                                       (seed layout; rebuilt from the log;
 *                                       with a long history it may lag the
 *                                       log by a few events, see below)
 *
 * Lifecycle (exactly these rules; messages in quotes are st_errmsg() texts):
 *   create  -> v1, status draft; ST_EEXIST "Record already exists" if it does.
 *   update  -> v(N+1), status draft; earlier versions untouched;
 *              ST_ENOTFOUND "Record does not exist".
 *   approve -> only from draft: ST_ECONFLICT "Already approved" /
 *              "Cannot approve rejected"; writes no Parquet.
 *   reject  -> only from draft: ST_ECONFLICT "Already rejected" /
 *              "Cannot reject approved"; writes no Parquet.
 * Data is validated against the record's schema (the registry's table, or the
 * schema given at create, which is kept in the create event) on create and
 * update: ST_EVALIDATION with the validator's report, and nothing is written.
 *
 * Concurrency: every change is an event committed by put-if-absent on the next
 * log entry, so two writers (threads, processes, or hosts sharing a bucket)
 * can never both create version N or both approve. The loser gets
 * ST_ECONFLICT naming the state it lost to, and nothing half-written is left
 * that a later operation does not complete. metadata.json is a derived
 * snapshot: readers roll it forward from the log when it is behind. A change
 * costs O(1) in the length of the history: writers read only the head of the
 * state (the handle's cache, or the small "head" part of metadata.json), and
 * a history over 64 KiB is rewritten about once per (its size / 64 KiB)
 * changes, at most 32 events behind the log.
 *
 * Integrity: each event holds the SHA-256 of the previous event file and of
 * the version file it adds; st_record_verify() walks the chain.
 *
 * Thread safety: a handle may be used from several threads at once.
 */
#ifndef STRATA_RECORD_H
#define STRATA_RECORD_H

#include "strata/schema.h"
#include "strata/store.h"
#include "strata/table.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct st_records st_records_t;

typedef enum st_record_status {
    ST_RECORD_DRAFT = 0,
    ST_RECORD_APPROVED,
    ST_RECORD_REJECTED
} st_record_status_t;

/* "draft", "approved", "rejected". */
const char *st_record_status_name(st_record_status_t s);
/* ST_EINVAL for any other text. */
int st_record_status_parse(const char *text, st_record_status_t *out);

typedef struct st_records_opts {
    const char *root;             /* key prefix, default "records" */
    const st_registry_t *registry;/* table lookup for create; NULL = built-in pack */
    /* Policy, off by default: the approver of a version must not be the
     * author of that version (ST_ECONFLICT "Approver is the author ..."). */
    bool approver_not_author;
} st_records_opts_t;

/* Opens records in `store` (borrowed; must outlive the handle). The store
 * must offer put-if-absent (st_store_require): ST_EUNSUPPORTED otherwise.
 * opts may be NULL for the defaults. */
int st_records_open(st_store_t *store, const st_records_opts_t *opts, st_records_t **out);
void st_records_close(st_records_t *r);

/* Record ids are one safe key segment: 1..200 bytes of letters, digits and
 * "-_.", not starting with '.'; ST_EINVAL otherwise. */
int st_record_id_validate(const char *record_id);

/* ---- changes ------------------------------------------------------------ */

/* schema may be NULL: table_name is then looked up in the registry. With a
 * schema, table_name names it in the metadata (NULL = the schema's name).
 * version (optional) receives the version created. */
int st_record_create(st_records_t *r, const char *record_id, const st_batch_t *batch,
                     const char *table_name, const st_schema_t *schema,
                     const char *created_by, const char *comment, int *version);
int st_record_update(st_records_t *r, const char *record_id, const st_batch_t *batch,
                     const char *updated_by, const char *comment, int *version);
int st_record_approve(st_records_t *r, const char *record_id, const char *approved_by,
                      const char *comment);
int st_record_reject(st_records_t *r, const char *record_id, const char *rejected_by,
                     const char *comment);

/* ---- reads -------------------------------------------------------------- */

typedef enum st_record_event_kind {
    ST_EVENT_CREATE = 0,
    ST_EVENT_UPDATE,
    ST_EVENT_APPROVE,
    ST_EVENT_REJECT
} st_record_event_kind_t;

/* One committed event (one history[] entry of metadata.json). */
typedef struct st_record_event {
    int64_t seq;                 /* 1-based log position */
    st_record_event_kind_t kind;
    int version;                 /* version added (create/update) or acted on */
    st_record_status_t status;   /* status after the event */
    char *by;
    int64_t at_us;               /* Unix epoch microseconds, UTC */
    char *comment;               /* "" when none */
    char version_sha256[65];     /* create/update: SHA-256 of v<N>.parquet, hex */
    char prev_sha256[65];        /* SHA-256 of the previous event file; "" for seq 1 */
} st_record_event_t;

/* The state the log gives: what metadata.json holds. */
typedef struct st_record_state {
    char *record_id;
    char *table_name;
    int current_version;
    st_record_status_t status;
    char *created_by;
    int64_t created_at_us;
    char *approved_by;           /* NULL unless status is approved */
    int64_t approved_at_us;
    char *rejected_by;           /* NULL unless status is rejected */
    int64_t rejected_at_us;
    st_record_event_t *history;  /* every event, oldest first */
    int nhistory;
} st_record_state_t;

void st_record_state_free(st_record_state_t *s);

/* Current state (rolled forward from the log). ST_ENOTFOUND "Record does not
 * exist". */
int st_record_get_state(st_records_t *r, const char *record_id, st_record_state_t **out);
/* Where a record stands after one of its events: what an index of records
 * keeps about it. */
typedef struct st_record_head {
    int64_t seq;                 /* log position of the event (0: none) */
    int version;                 /* current version */
    st_record_status_t status;
    int approved_version;        /* latest approved version, 0 if none */
    int64_t at_us;               /* time of the event at seq */
} st_record_head_t;

/* The head of a record now (head) and as of the event before (prev,
 * optional; all zero at seq 1), without reading its history: served from the
 * handle's cache or the small head part of metadata.json, rolled forward with
 * one probe of the next log entry. ST_ENOTFOUND "Record does not exist". */
int st_record_head(st_records_t *r, const char *record_id, st_record_head_t *head,
                   st_record_head_t *prev);
/* The same as of the last change this handle made to the record (or the
 * state it last read), with no store request: what an index wants right
 * after a change. ST_ENOTFOUND when the handle holds none. */
int st_record_head_seen(st_records_t *r, const char *record_id, st_record_head_t *head,
                        st_record_head_t *prev);
/* metadata.json as JSON text (seed layout: record_id, table_name,
 * current_version, status, created_by, created_at, approved_by, approved_at,
 * rejected_by, rejected_at, history[] of {version, status, created_by,
 * created_at, comment}), appended to out. */
int st_record_metadata_json(st_records_t *r, const char *record_id, st_buf_t *out);
/* A copy of the schema the record was created with (kept in its create
 * event); the schema updates are validated against. Free with
 * st_schema_free. */
int st_record_schema(st_records_t *r, const char *record_id, st_schema_t **out);
/* Version numbers, ascending (malloc'd array; caller frees). */
int st_record_versions(st_records_t *r, const char *record_id, int **versions, int *n);

/* Which version a read wants. */
typedef struct st_record_selector {
    int version;        /* > 0: exactly this version */
    bool approved;      /* the latest approved version (ST_ENOTFOUND if none) */
    int64_t as_of_us;   /* > 0: the latest version created at or before this time */
} st_record_selector_t; /* all zero: the latest version */

/* Resolves a selector to a version number. */
int st_record_resolve(st_records_t *r, const char *record_id, const st_record_selector_t *sel,
                      int *version);
/* Key of a version's Parquet file (malloc'd), for the parquet and dataset
 * layers: "<root>/<id>/versions/v<N>.parquet". */
char *st_record_version_key(const st_records_t *r, const char *record_id, int version);
/* Reads a version into one batch (caller frees with st_batch_free). */
int st_record_read(st_records_t *r, const char *record_id, const st_record_selector_t *sel,
                   st_batch_t **out);

/* The exact bytes of a version's Parquet file (appended to out), checked
 * against the SHA-256 its event recorded: ST_ECORRUPT when the file was
 * changed or removed. version (optional) receives the version resolved. */
int st_record_read_file(st_records_t *r, const char *record_id, const st_record_selector_t *sel,
                        st_buf_t *out, int *version);

/* ---- integrity ---------------------------------------------------------- */

/* Walks the log: every event parses, its prev_sha256 matches the previous
 * event file, seqs are contiguous from 1, every version file's SHA-256 matches
 * its event and no version file exists that no event adds, and metadata.json
 * equals the state the log gives. Appends one line per problem to report
 * ("v2.parquet: SHA-256 differs from the event 3 that added it") and sets
 * *problems. Returns 0 when the walk could run (whatever it found); a store
 * error otherwise. */
int st_record_verify(st_records_t *r, const char *record_id, st_buf_t *report, int *problems);

#ifdef __cplusplus
}
#endif
#endif
