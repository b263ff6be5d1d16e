/*
 * Private to the table layer: the built-in schema pack, the texts of
 * the files schemas/NAME.schema.json, compiled into the library by the build
 * (cmake/embed_schemas.cmake writes the definitions into the build tree).
 */
#ifndef STRATA_TABLE_REGISTRY_PACK_H
#define STRATA_TABLE_REGISTRY_PACK_H

#include <stddef.h>

typedef struct tbl_pack_file {
    const char *name; /* file name, such as "borehole.schema.json" */
    const char *text; /* the file's bytes, NUL-terminated */
    size_t len;       /* bytes, without the NUL */
} tbl_pack_file;

/* tbl_schema_pack_count entries, sorted by file name, then a zeroed one. */
extern const tbl_pack_file tbl_schema_pack[];
extern const int tbl_schema_pack_count;

#endif
