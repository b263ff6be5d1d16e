/*
 * Private to the Parquet reader: the decoded footer (schema tree, row groups,
 * column chunks) and the decoded contents of one column chunk. The footer side
 * (pq_meta.c, pq_page.c, pq_decode_*.c) fills these; the output side
 * (pq_assemble.c: canonical JSON, nested assembly, batches) consumes them.
 */
#ifndef STRATA_PQ_INTERNAL_H
#define STRATA_PQ_INTERNAL_H

#include <pthread.h>

#include "strata/parquet.h"

/* parquet.thrift enums (values as in the spec). */
enum pq_physical {
    PQ_BOOLEAN = 0, PQ_INT32 = 1, PQ_INT64 = 2, PQ_INT96 = 3,
    PQ_FLOAT = 4, PQ_DOUBLE = 5, PQ_BYTE_ARRAY = 6, PQ_FIXED_LEN_BYTE_ARRAY = 7
};
enum pq_repetition { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 };
enum pq_page_type { PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICTIONARY = 2, PQ_PAGE_DATA_V2 = 3 };
enum pq_converted {
    PQ_CT_NONE = -1, PQ_CT_UTF8 = 0, PQ_CT_MAP = 1, PQ_CT_MAP_KEY_VALUE = 2, PQ_CT_LIST = 3,
    PQ_CT_ENUM = 4, PQ_CT_DECIMAL = 5, PQ_CT_DATE = 6, PQ_CT_TIME_MILLIS = 7,
    PQ_CT_TIME_MICROS = 8, PQ_CT_TIMESTAMP_MILLIS = 9, PQ_CT_TIMESTAMP_MICROS = 10,
    PQ_CT_UINT_8 = 11, PQ_CT_UINT_16 = 12, PQ_CT_UINT_32 = 13, PQ_CT_UINT_64 = 14,
    PQ_CT_INT_8 = 15, PQ_CT_INT_16 = 16, PQ_CT_INT_32 = 17, PQ_CT_INT_64 = 18,
    PQ_CT_JSON = 19, PQ_CT_BSON = 20, PQ_CT_INTERVAL = 21
};
/* LogicalType union member ids (field ids in parquet.thrift). */
enum pq_logical {
    PQ_LT_NONE = 0, PQ_LT_STRING = 1, PQ_LT_MAP = 2, PQ_LT_LIST = 3, PQ_LT_ENUM = 4,
    PQ_LT_DECIMAL = 5, PQ_LT_DATE = 6, PQ_LT_TIME = 7, PQ_LT_TIMESTAMP = 8,
    PQ_LT_INTEGER = 10, PQ_LT_UNKNOWN = 11 /* "NULL" */, PQ_LT_JSON = 12, PQ_LT_BSON = 13,
    PQ_LT_UUID = 14, PQ_LT_FLOAT16 = 15, PQ_LT_VARIANT = 16, PQ_LT_GEOMETRY = 17,
    PQ_LT_GEOGRAPHY = 18
};
enum pq_unit { PQ_MILLIS = 3, PQ_MICROS = 6, PQ_NANOS = 9 };

typedef struct pq_logical_type {
    int id;          /* enum pq_logical, or the raw union field id when unknown */
    int scale;       /* DECIMAL */
    int precision;   /* DECIMAL */
    int unit;        /* TIME / TIMESTAMP: enum pq_unit */
    bool utc;        /* TIME / TIMESTAMP isAdjustedToUTC */
    int bit_width;   /* INTEGER */
    bool is_signed;  /* INTEGER */
} pq_logical_type_t;

/* One SchemaElement, in footer order (index 0 is the root). */
typedef struct pq_node {
    char *name;
    int physical;          /* enum pq_physical, -1 for a group */
    int type_length;       /* FIXED_LEN_BYTE_ARRAY width, -1 if absent */
    int repetition;        /* enum pq_repetition, -1 if absent (root) */
    int num_children;      /* 0 for leaves */
    int converted;         /* enum pq_converted or PQ_CT_NONE */
    int scale, precision;  /* -1 if absent */
    int field_id;          /* -1 if absent */
    bool has_field_id;     /* field_id was present (it may be -1) */
    bool has_logical;
    pq_logical_type_t logical;
    /* Derived while building the tree: */
    int parent;            /* -1 for the root */
    int *children;         /* num_children node indices */
    int leaf;              /* leaf column index (column-chunk order) or -1 */
    int16_t max_def, max_rep;
} pq_node_t;

typedef struct pq_stats {
    bool has_min, has_max, has_null_count, has_distinct;
    int64_t null_count, distinct_count;
    /* Plain-encoded values (min_value/max_value, else legacy min/max when the
     * sort order allows it). Point into pq_file-owned memory. */
    uint8_t *min; uint32_t min_len;
    uint8_t *max; uint32_t max_len;
    bool legacy; /* came from the deprecated min/max fields */
} pq_stats_t;

typedef struct pq_chunk_meta {
    int physical;
    int codec;                 /* enum st_codec */
    int num_encodings;
    int *encodings;            /* parquet Encoding enum values */
    char **path;               /* path_in_schema */
    int path_len;
    int64_t num_values;
    int64_t total_uncompressed_size;
    int64_t total_compressed_size;
    int64_t data_page_offset;
    int64_t dictionary_page_offset; /* -1 if absent */
    int64_t index_page_offset;      /* -1 if absent */
    int64_t file_offset;
    bool has_stats;
    pq_stats_t stats;
    /* From encoding_stats, when the writer recorded them: pages by kind, and
     * whether every data page is dictionary-encoded. */
    bool has_page_counts;
    int64_t dict_pages, data_pages;
    bool all_dictionary;
} pq_chunk_meta_t;

typedef struct pq_row_group {
    int64_t num_rows;
    int64_t total_byte_size;
    pq_chunk_meta_t *chunks; /* one per leaf column */
} pq_row_group_t;

typedef struct pq_kv { char *key; char *value; } pq_kv_t;

struct st_pq_file {
    st_pq_source_t src;
    int version;
    int64_t num_rows;
    char *created_by;
    int num_nodes;
    pq_node_t *nodes;
    int num_leaves;
    int *leaf_nodes;          /* leaf index -> node index */
    int num_top;              /* top-level fields = root's children */
    int num_row_groups;
    pq_row_group_t *row_groups;
    int num_kv;
    pq_kv_t *kv;
    st_buf_t footer;          /* raw footer bytes (stats point into it or into arena) */
    /* Flat-schema mapping for st_pq_fields (built lazily by pq_assemble.c). */
    st_field_t *fields;
    int nfields;
    /* Pages decompressed and decoded through this handle (data and
     * dictionary), so scans can report what page pruning saved. Updated
     * atomically: columns may decode on several threads. */
    int64_t pages_decoded;
    int threads;           /* st_pq_set_threads: columns decoded at once */
    bool parallel;         /* set while they are: reads go through io_mu */
    pthread_mutex_t io_mu; /* sources are not thread-safe (read-ahead windows) */
};

/* src.read_at, serialised while columns decode in parallel. */
int pq_source_read(st_pq_file_t *f, uint64_t off, void *buf, size_t n);

/*
 * One leaf column of one row group, fully decoded (dictionary already applied).
 *
 * Levels: num_levels entries; def is NULL when max_def == 0 (all defined), rep is
 * NULL when max_rep == 0. A value is present at level i iff def[i] == max_def.
 * Values: num_values present values, densely packed in file order:
 *   BOOLEAN                 1 byte each (0/1)
 *   INT32 / FLOAT           4 bytes each (LE)
 *   INT64 / DOUBLE          8 bytes each (LE)
 *   INT96                   12 bytes each
 *   FIXED_LEN_BYTE_ARRAY    type_length bytes each
 *   BYTE_ARRAY              offsets[num_values + 1] into `values`
 */
typedef struct pq_column_data {
    int leaf;
    int physical;
    int type_length;
    int16_t max_def, max_rep;
    int64_t num_levels;
    int16_t *def;
    int16_t *rep;
    int64_t num_values;
    st_buf_t values;
    uint32_t *offsets;
    int64_t first_row;   /* row of the row group that level 0 belongs to */
} pq_column_data_t;

/* Reads and decodes leaf column `leaf` of row group `rg` (pq_page.c).
 * ST_ECORRUPT with "<file>: row group R column <path>: <problem>" on bad data. */
int pq_read_column(st_pq_file_t *f, int rg, int leaf, pq_column_data_t *out);
/* The same for a flat leaf, decoding only the data pages that hold rows of
 * [row_lo, row_hi): the result covers whole pages, from out->first_row. */
int pq_read_column_rows(st_pq_file_t *f, int rg, int leaf, int64_t row_lo, int64_t row_hi,
                        pq_column_data_t *out);

/* One data page as a header walk sees it, without decompressing it. The
 * statistics point into the header bytes and are valid during the call. */
typedef struct pq_page_info {
    int64_t first_row, num_rows;
    bool has_min, has_max, has_null_count;
    const uint8_t *min, *max; /* min_value / max_value (PLAIN-encoded) */
    uint32_t min_len, max_len;
    int64_t null_count;
} pq_page_info_t;
typedef int (*pq_page_visit_fn)(void *ctx, const pq_page_info_t *page);
/* Walks the page headers of a flat chunk, calling visit once per data page. */
int pq_walk_pages(st_pq_file_t *f, int rg, int leaf, pq_page_visit_fn visit, void *ctx);
void pq_column_data_free(pq_column_data_t *c);

/* Dotted path of a leaf ("a.list.element"), for messages; static per-thread buffer. */
const char *pq_leaf_path(const st_pq_file_t *f, int leaf);

#endif
