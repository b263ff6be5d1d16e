/*
 * libFuzzer target for the lake's stored entries and user input: the input
 * is parsed as a metadata file (lake/.metadata/<id>.json, which any writer of
 * the store can change), as user metadata, and checked as a name, a subpath
 * and an id. Clean errors are expected; crashes and sanitizer reports are bugs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_lake_entry_t e;
    memset(&e, 0, sizeof e);
    if (lk_entry_from_json((const char *)data, size, "fuzz entry", &e) == 0) {
        char *back = lk_entry_to_json(&e);
        free(back);
    }
    st_lake_entry_free(&e);
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    json_t *obj = NULL;
    if (lk_parse_metadata(s, &obj) == 0 && obj) {
        st_buf_t words = ST_BUF_INIT;
        lk_metadata_words(obj, &words);
        st_buf_free(&words);
        json_decref(obj);
    }
    (void)lk_validate_name(s);
    (void)lk_validate_subpath(s);
    (void)lk_validate_id(s);
    free(s);
    return 0;
}
