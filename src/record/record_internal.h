/*
 * Private to the record layer. The state of a record is the fold of its log
 * events; metadata.json is a snapshot of that fold tagged with the log
 * position it reflects (log_seq) and the SHA-256 of that event file, so a
 * reader rolls forward from it with one probe of log/<log_seq+1>, and a
 * snapshot edited by hand (its snapshot_sha256 no longer matches) is ignored
 * in favour of the log.
 */
#ifndef STRATA_RECORD_INTERNAL_H
#define STRATA_RECORD_INTERNAL_H

#include <pthread.h>

#include "strata/record.h"

#define REC_MAX_VERSION 1000000000

/* One cached create-event schema per record: the schema never changes after
 * create, and parsing it on every update would cost more than the update. */
typedef struct rec_schema_cache {
    struct rec_schema_cache *next;
    char *record_id;
    char *table_name;
    st_schema_t *schema;
    int refs; /* the cache's own, and one per update using it */
} rec_schema_cache_t;

/* The head of the last state this handle saw of a record (no history), and
 * that history already rendered as metadata.json entries: the log only grows,
 * so a writer copies the head and rolls forward from it (one probe of the next
 * entry), and the next snapshot appends to the text, instead of parsing and
 * re-rendering a history that grows with every version. */
typedef struct rec_state_cache {
    struct rec_state_cache *next;
    char *record_id;
    struct rec_state *st; /* head only (partial, no history) */
    st_buf_t hist;        /* rendered entries of events 1..st->log_seq */
    bool has_hist;        /* hist is known */
    int64_t saved_seq;    /* log_seq of the metadata.json last written or read */
} rec_state_cache_t;

struct st_records {
    st_store_t *store;
    char *root; /* "records" */
    st_registry_t *own_registry;
    const st_registry_t *registry;
    bool approver_not_author;
    pthread_mutex_t mu;
    rec_schema_cache_t *schemas;
    int nschemas;
    rec_state_cache_t *states; /* most recently stored first */
    int nstates;
};

/* The public state plus where in the log it stands. Every st_record_state_t
 * handed out is the first member of one of these. */
typedef struct rec_state {
    st_record_state_t s;
    int64_t log_seq;      /* events folded in (== s.nhistory unless events were lost) */
    char log_sha256[65];  /* SHA-256 of event file log_seq ("" when none) */
    int cap;              /* allocated history entries */
    bool damaged;         /* the log had a gap or an unreadable event */
    char *damage;         /* first problem, for writers refusing to go on */
    /* The head, kept by rec_state_apply, so that a state holding only the
     * events applied since its head was loaded (partial) still knows it. */
    bool partial;         /* history is a suffix of the log (maybe empty) */
    int64_t at_us;        /* time of event log_seq */
    char *version_by;     /* author of current_version */
    int64_t version_at_us;
    int approved_version; /* latest approved version, 0 if none */
    st_record_head_t prev;/* head as of event log_seq - 1 */
} rec_state_t;

/* An event as read from or written to a log file, with the extra fields the
 * create event and the version events carry. */
typedef struct rec_event {
    st_record_event_t e;
    char *record_id;
    char *table_name;   /* create only */
    char *schema_json;  /* create only: compact schema document */
    int64_t version_size; /* create/update */
} rec_event_t;

/* ---- keys (record.c) ---- */
char *rec_key(const st_records_t *r, const char *id, const char *suffix);
char *rec_log_key(const st_records_t *r, const char *id, int64_t seq);
char *rec_version_key(const st_records_t *r, const char *id, int version);
char *rec_meta_key(const st_records_t *r, const char *id);

const char *rec_event_kind_name(st_record_event_kind_t k);
int rec_event_kind_parse(const char *text, st_record_event_kind_t *out);
/* "2026-11-22T07:31:00.123456Z" */
void rec_format_time(int64_t us, char out[40]);

/* ---- events (record_event.c) ---- */
/* Serialises an event file: compact JSON, keys in protocol order, newline. */
int rec_event_render(const rec_event_t *ev, st_buf_t *out);
/* Parses an event file; ST_ECORRUPT naming `what` when it is not one. */
int rec_event_parse(const char *data, size_t n, const char *what, rec_event_t *out);
void rec_event_clear(rec_event_t *ev);

/* ---- state (record_state.c) ---- */
int rec_state_new(const char *record_id, rec_state_t **out);
void rec_state_free(rec_state_t *st);
/* Applies an event file (whose bytes hash to file_sha) to the fold. */
int rec_state_apply(rec_state_t *st, const rec_event_t *ev, const char *file_sha);
/* metadata.json text of the state (seed layout + log_seq, log_sha256,
 * snapshot_sha256). */
int rec_state_render(const rec_state_t *st, st_buf_t *out);
/* The state as of the snapshot text; ST_ECORRUPT when it is not a valid,
 * self-consistent snapshot. */
int rec_state_from_snapshot(const char *record_id, const char *data, size_t n,
                            rec_state_t **out);
/* Loads the state: snapshot + roll forward, or a fold of the whole log when
 * the snapshot is missing or damaged. ST_ENOTFOUND "Record does not exist"
 * when the log is empty. fresh_snapshot (optional) is set when
 * metadata.json already equals the result. */
int rec_state_load(st_records_t *r, const char *id, rec_state_t **out, bool *fresh_snapshot);
/* The head of the state for a writer, without parsing the history: the
 * handle's cache or the head part of metadata.json, rolled forward (then
 * partial), or a full load when neither is usable. ST_ENOTFOUND as above. */
int rec_head_load(st_records_t *r, const char *id, rec_state_t **out);
/* The head of a state in the public form. */
void rec_state_head(const rec_state_t *st, st_record_head_t *head, st_record_head_t *prev);
/* Reads events log_seq+1.. into the fold until one is absent. */
int rec_state_roll_forward(st_records_t *r, const char *id, rec_state_t *st);
/* Folds every event file listed under log/ (tolerating gaps: st->damaged). */
int rec_state_fold_log(st_records_t *r, const char *id, rec_state_t **out);
/* Remembers the head of st as the latest state of the record, extending the
 * rendered history with the events st holds past the cached one. */
void rec_state_cache_store(st_records_t *r, const char *id, const rec_state_t *st);
void rec_state_cache_free(st_records_t *r);
/* Writes metadata.json for the state (a derived cache: failures are not
 * fatal to the change that was already committed), from the cached rendered
 * history when it is at st's position (call rec_state_cache_store first). */
int rec_state_save(st_records_t *r, const char *id, const rec_state_t *st);
/* The event that added `version` (NULL if none, or, for a partial state,
 * not among the events it holds). */
const st_record_event_t *rec_state_version_event(const rec_state_t *st, int version);
/* Deep copy of a history entry's strings. */
int rec_event_copy_pub(const st_record_event_t *src, st_record_event_t *dst);

/* ---- schema of a record (record_write.c) ---- */
/* The schema from the create event, cached in the handle and held for the
 * caller until rec_record_schema_done(*hold) (the cache may drop it
 * meanwhile). */
int rec_record_schema(st_records_t *r, const char *id, const st_schema_t **schema,
                      rec_schema_cache_t **hold);
void rec_record_schema_done(st_records_t *r, rec_schema_cache_t *hold);

/* ---- parquet helpers (record_read.c) ---- */
/* Gets a version file, checks its SHA-256 against `sha` (when non-empty). */
int rec_get_version(st_records_t *r, const char *id, int version, const char *sha,
                    st_buf_t *out);
#endif
