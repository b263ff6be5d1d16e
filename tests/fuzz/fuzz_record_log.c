/*
 * libFuzzer target for the record log: the input is split at the first NUL
 * into an event file and a metadata.json snapshot. The event is parsed,
 * folded into a new state and rendered; the snapshot is parsed as the state
 * it claims to be and rendered back. Events and snapshots come from stores
 * that other writers (or an attacker) can change: clean ST_ECORRUPT errors
 * are expected, crashes and sanitizer reports are bugs.
 */
#include <stdint.h>
#include <string.h>

#include "record/record_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    const char *nul = memchr(text, 0, size);
    size_t ev_len = nul ? (size_t)(nul - text) : size;
    rec_event_t ev;
    memset(&ev, 0, sizeof ev);
    if (rec_event_parse(text, ev_len, "fuzz event", &ev) == 0) {
        st_buf_t out = ST_BUF_INIT;
        (void)rec_event_render(&ev, &out);
        rec_state_t *st;
        if (rec_state_new("fuzz", &st) == 0) {
            char sha[65];
            st_sha256_hex(text, ev_len, sha);
            if (rec_state_apply(st, &ev, sha) == 0) {
                st_buf_reset(&out);
                (void)rec_state_render(st, &out);
            }
            rec_state_free(st);
        }
        st_buf_free(&out);
    }
    rec_event_clear(&ev);
    if (nul) {
        rec_state_t *st;
        if (rec_state_from_snapshot("fuzz", nul + 1, size - ev_len - 1, &st) == 0) {
            st_buf_t out = ST_BUF_INIT;
            (void)rec_state_render(st, &out);
            st_buf_free(&out);
            rec_state_free(st);
        }
    }
    return 0;
}
