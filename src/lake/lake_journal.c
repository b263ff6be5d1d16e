/* The change journal: lake/.journal/<n>.json, numbered from 1 without gaps,
 * each created with put-if-absent by the writer that knows n - 1 exists. An
 * index remembers the last number it applied; catching up is reading n + 1,
 * n + 2, ... until one is missing, so an idle check costs one GET. */
#include <stdlib.h>
#include <string.h>

#include "lake/lake_internal.h"

#define REPLAY_BATCH 512

static void journal_key(uint64_t seq, char *out, size_t cap) {
    snprintf(out, cap, "%s%016llu.json", LK_JOURNAL_PREFIX, (unsigned long long)seq);
}

static int journal_exists(st_lake_t *lake, uint64_t seq, bool *yes) {
    char key[128];
    journal_key(seq, key, sizeof key);
    st_object_info_t info;
    int rc = st_store_head(lake->store, key, &info);
    *yes = rc == ST_OK;
    if (rc == ST_OK) st_object_info_free(&info);
    return rc == ST_ENOTFOUND ? ST_OK : rc;
}

/* The highest existing number, knowing that every number below `from`
 * exists: gallop up, then bisect, O(log n) HEADs however far behind. */
static int journal_head(st_lake_t *lake, uint64_t from, uint64_t *head) {
    uint64_t lo = from - 1, hi = from, step = 1;
    bool yes;
    int rc;
    for (;;) {
        if ((rc = journal_exists(lake, hi, &yes))) return rc;
        if (!yes) break;
        lo = hi;
        hi += step;
        step *= 2;
    }
    while (hi - lo > 1) { /* lo exists (or is 0), hi does not */
        uint64_t mid = lo + (hi - lo) / 2;
        if ((rc = journal_exists(lake, mid, &yes))) return rc;
        if (yes) lo = mid;
        else hi = mid;
    }
    *head = lo;
    return ST_OK;
}

static int apply(st_lake_t *lake, const char *id, const st_lake_entry_t *e, const uint8_t *content,
                 size_t len) {
    if (!e) return lk_index_remove(lake, id);
    bool text = e->is_text && !e->deleted && content;
    return lk_index_put(lake, e, text ? (const char *)content : NULL,
                        text ? (len < ST_LAKE_INDEX_TEXT_MAX ? len : ST_LAKE_INDEX_TEXT_MAX) : 0);
}

int lk_journal_commit(st_lake_t *lake, const char *op, const char *id, const st_lake_entry_t *e,
                      const uint8_t *content, size_t len) {
    char key[128], when[64], text[256];
    st_format_timestamp(st_now_us(), 6, true, when, sizeof when);
    pthread_mutex_lock(&lake->jlock);
    if (!lake->jnext) lake->jnext = 1; /* known from the index since open */
    int rc = ST_OK;
    uint64_t seq = 0;
    for (int attempt = 0; attempt < 1000; attempt++) {
        seq = lake->jnext;
        journal_key(seq, key, sizeof key);
        int n = snprintf(text, sizeof text,
                         "{\"seq\":%llu,\"op\":\"%s\",\"id\":\"%s\",\"at\":\"%s\"}\n",
                         (unsigned long long)seq, op, id, when);
        st_put_opts_t po = {.mode = ST_PUT_IF_ABSENT, .content_type = "application/json"};
        rc = st_store_put(lake->store, key, text, (size_t)n, &po, NULL);
        if (rc != ST_ECONFLICT) break;
        /* Others wrote meanwhile: find the end rather than step through it. */
        uint64_t head;
        if ((rc = journal_head(lake, seq + 1, &head))) break;
        lake->jnext = head + 1;
        rc = ST_ECONFLICT;
    }
    if (rc) {
        pthread_mutex_unlock(&lake->jlock);
        return st_error_prefix(rc, "lake entry %s: written, but its journal record failed "
                                   "(other indexes see it after a reindex)",
                               id);
    }
    lake->jnext = seq + 1;
    /* Queued in journal order; whoever takes the index lock next applies
     * everything queued in one transaction (one FTS5 segment, one WAL
     * commit), so writers waiting on the lock mostly find their work done. */
    lk_pending_t item = {.seq = seq, .id = id, .e = e, .content = content, .len = len};
    *lake->pending_tail = &item;
    lake->pending_tail = &item.next;
    pthread_mutex_unlock(&lake->jlock);
    pthread_mutex_lock(&lake->lock);
    if (!item.done) lk_apply_pending_locked(lake);
    pthread_mutex_unlock(&lake->lock);
    st_error_clear();
    return ST_OK;
}

void lk_apply_pending_locked(st_lake_t *lake) {
    pthread_mutex_lock(&lake->jlock);
    lk_pending_t *list = lake->pending;
    lake->pending = NULL;
    lake->pending_tail = &lake->pending;
    pthread_mutex_unlock(&lake->jlock);
    if (!list) return;
    /* The index is a cache: if it cannot follow now, the next sync replays
     * from the position, which only moves over applied records. */
    if (lk_index_begin(lake) == ST_OK) {
        uint64_t start = lk_index_position(lake), pos = start;
        int irc = ST_OK;
        for (lk_pending_t *p = list; p && !irc; p = p->next) {
            irc = apply(lake, p->id, p->e, p->content, p->len);
            if (!irc && pos + 1 == p->seq) pos = p->seq;
        }
        if (!irc && pos != start) irc = lk_index_set_position(lake, pos);
        if (!irc) irc = lk_index_commit(lake);
        if (irc) lk_index_rollback(lake);
    }
    /* Each item lives on a writer's stack until it sees done (under lock). */
    for (lk_pending_t *p = list, *next; p; p = next) {
        next = p->next;
        p->done = true;
    }
    st_error_clear();
}

int lk_refresh(st_lake_t *lake, const char *id) {
    st_lake_entry_t e;
    int rc = lk_read_entry(lake, id, &e, NULL);
    if (rc == ST_ENOTFOUND) return lk_index_remove(lake, id);
    if (rc) return rc;
    st_buf_t b = ST_BUF_INIT;
    if (e.is_text && !e.deleted && e.size) {
        uint64_t want = e.size < ST_LAKE_INDEX_TEXT_MAX ? e.size : ST_LAKE_INDEX_TEXT_MAX;
        rc = st_store_get_range(lake->store, e.path, 0, want, &b);
        if (rc == ST_ENOTFOUND) rc = ST_OK; /* deleted meanwhile: its record follows */
    }
    if (!rc) rc = apply(lake, id, &e, b.data ? b.data : (const uint8_t *)"", b.len);
    st_buf_free(&b);
    st_lake_entry_free(&e);
    return rc;
}

static int read_record_id(st_lake_t *lake, uint64_t seq, char *id, bool *found) {
    char key[128];
    journal_key(seq, key, sizeof key);
    st_buf_t b = ST_BUF_INIT;
    int rc = st_store_get(lake->store, key, &b, NULL);
    *found = rc == ST_OK;
    if (rc == ST_ENOTFOUND) rc = ST_OK;
    if (!rc && *found) {
        json_t *j = json_loadb((const char *)b.data, b.len, 0, NULL);
        const char *s = json_string_value(json_object_get(j, "id"));
        if (s && lk_validate_id(s) == ST_OK) snprintf(id, ST_UUID_STR_LEN + 1, "%s", s);
        else rc = st_error(ST_ECORRUPT, "%s: not a lake journal record", key);
        json_decref(j);
    }
    st_buf_free(&b);
    return rc;
}

static void advance_jnext(st_lake_t *lake, uint64_t next) {
    pthread_mutex_lock(&lake->jlock);
    if (lake->jnext < next) lake->jnext = next;
    pthread_mutex_unlock(&lake->jlock);
}

int lk_sync_locked(st_lake_t *lake) {
    lk_apply_pending_locked(lake); /* this handle's own changes, without reading them back */
    uint64_t pos = lk_index_position(lake);
    if (pos == 0) {
        bool any;
        int rc = journal_exists(lake, 1, &any);
        if (rc || !any) return rc;
        return lk_reindex_locked(lake); /* a fresh index: listing beats replaying */
    }
    static const size_t idlen = ST_UUID_STR_LEN + 1;
    char *ids = malloc(REPLAY_BATCH * idlen);
    if (!ids) return st_error(ST_ENOMEM, "lake sync: out of memory");
    int rc = ST_OK;
    for (;;) {
        size_t n = 0, distinct = 0;
        bool found = true;
        while (n < REPLAY_BATCH && found) {
            char *slot = ids + distinct * idlen;
            if ((rc = read_record_id(lake, pos + n + 1, slot, &found)) || !found) break;
            n++;
            bool seen = false;
            for (size_t i = 0; i < distinct && !seen; i++) seen = !strcmp(ids + i * idlen, slot);
            if (!seen) distinct++;
        }
        if (rc || n == 0) break;
        if ((rc = lk_index_begin(lake))) break;
        /* Another process sharing the index file may have replayed these. */
        if (lk_index_position(lake) < pos + n) {
            for (size_t i = 0; i < distinct && !rc; i++) rc = lk_refresh(lake, ids + i * idlen);
            if (!rc) rc = lk_index_set_position(lake, pos + n);
        }
        if (!rc) rc = lk_index_commit(lake);
        if (rc) {
            lk_index_rollback(lake);
            break;
        }
        pos += n;
        advance_jnext(lake, pos + 1);
        if (!found) break;
    }
    free(ids);
    return rc;
}

int lk_reindex_locked(st_lake_t *lake) {
    uint64_t head;
    int rc = journal_head(lake, 1, &head);
    if (rc) return rc;
    if ((rc = lk_index_begin(lake))) return rc;
    rc = lk_index_clear(lake);
    st_list_iter_t *it = NULL;
    if (!rc) rc = st_store_list(lake->store, LK_META_PREFIX, "/", &it);
    const st_list_entry_t *le;
    while (!rc && !(rc = st_list_next(it, &le)) && le) {
        const char *base = le->key + strlen(LK_META_PREFIX);
        size_t bl = strlen(base);
        if (le->is_prefix || bl != ST_UUID_STR_LEN + 5 || strcmp(base + ST_UUID_STR_LEN, ".json"))
            continue;
        char id[ST_UUID_STR_LEN + 1];
        memcpy(id, base, ST_UUID_STR_LEN);
        id[ST_UUID_STR_LEN] = 0;
        rc = lk_refresh(lake, id);
    }
    st_list_close(it);
    if (!rc) rc = lk_index_set_position(lake, head);
    /* A rebuild is the bulk load after which merging pays most. */
    if (!rc) rc = lk_index_optimize(lake);
    if (!rc) rc = lk_index_commit(lake);
    if (rc) {
        lk_index_rollback(lake);
        return rc;
    }
    lk_index_checkpoint(lake);
    advance_jnext(lake, head + 1);
    return ST_OK;
}

int st_lake_sync(st_lake_t *lake) {
    pthread_mutex_lock(&lake->lock);
    int rc = lk_sync_locked(lake);
    pthread_mutex_unlock(&lake->lock);
    return rc;
}

int st_lake_optimize(st_lake_t *lake) {
    pthread_mutex_lock(&lake->lock);
    int rc = lk_sync_locked(lake);
    if (!rc) rc = lk_index_optimize(lake);
    if (!rc) lk_index_checkpoint(lake);
    pthread_mutex_unlock(&lake->lock);
    return rc;
}

int st_lake_reindex(st_lake_t *lake) {
    pthread_mutex_lock(&lake->lock);
    int rc = lk_reindex_locked(lake);
    pthread_mutex_unlock(&lake->lock);
    return rc;
}
