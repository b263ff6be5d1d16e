/* Private pieces of the repository (repo.h): the handle, and the index of
 * markers and snapshot shared by repo.c, repo_index.c and repo_query.c. */
#ifndef STRATA_REPO_INTERNAL_H
#define STRATA_REPO_INTERNAL_H

#include <pthread.h>

#include "strata/repo.h"

typedef struct repo_entity {
    char *name;
    char *table;
} repo_entity_t;

/* One opened record-layer handle per (entity type, project), kept for the
 * life of the repository so repeated calls do not reopen. */
typedef struct repo_slot {
    char *entity, *project;
    st_records_t *records;
} repo_slot_t;

struct st_repo {
    st_store_t *store;
    char *records_root, *index_root;
    st_registry_t *own_registry;
    const st_registry_t *registry;
    bool approver_not_author;
    int compact_threshold;
    int64_t pending_timeout_us;
    repo_entity_t *entities;
    int nentities;
    pthread_mutex_t lock;
    repo_slot_t *slots;
    int nslots, capslots;
};

/* 1..128 bytes of letters, digits and "-_.", not starting with '.'. */
int repo_name_validate(const char *what, const char *name);
/* Validates entity type (known) and project; returns the records handle. */
int repo_target(st_repo_t *r, const char *entity_type, const char *project, st_records_t **out);

/* "<index_root>/index/<entity>/<project>/" (malloc'd). */
char *repo_index_dir(const st_repo_t *r, const char *entity, const char *project);

/* Key of the marker for an entry (appended to out, after the index dir). */
int repo_marker_key(const char *dir, const st_repo_entry_t *e, st_buf_t *out);
/* Writes the marker of the record's head (conflict = already there) and
 * removes the one of prev (optional), now redundant. */
int repo_index_head(st_repo_t *r, const char *dir, const char *record_id,
                    const st_record_head_t *head, const st_record_head_t *prev);
/* Pending marker around a change: begin writes it, end removes it (both
 * best effort on the removal side). */
int repo_pending_begin(st_repo_t *r, const char *dir, const char *record_id, st_buf_t *key);
void repo_pending_end(st_repo_t *r, const st_buf_t *key);

#endif
