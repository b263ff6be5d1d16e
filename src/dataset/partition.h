/* Private to the dataset layer: Hive partition directory segments
 * ("col=value"), written by the dataset writer and read back by scans.
 *
 * A value is written as its canonical text (st_partition_value_text) and
 * escaped so that any string round-trips and every segment is a valid store
 * key segment: '%' followed by two uppercase hex digits stands for a byte.
 * Escaped are '%', '/', '=', '\\', control bytes (< 0x20, 0x7f), the
 * characters Hive escapes ("#'*:?[]^{}) and bytes that are not part of valid
 * UTF-8; valid UTF-8 stays readable. A null value is the segment value
 * __HIVE_DEFAULT_PARTITION__; a string equal to that text is escaped
 * ("%5F_HIVE_DEFAULT_PARTITION__"), so the two never meet. An empty string
 * is an empty segment value ("col="). Column names are escaped the same way.
 */
#ifndef STRATA_DS_PARTITION_H
#define STRATA_DS_PARTITION_H

#include "strata/table.h"

#define ST_PARTITION_NULL "__HIVE_DEFAULT_PARTITION__"

/* Appends the escaped form of s[0..n). */
int st_partition_escape(const char *s, size_t n, st_buf_t *out);
/* Appends the bytes that escaped text s[0..n) stands for. ST_ECORRUPT for a
 * '%' not followed by two hex digits. */
int st_partition_unescape(const char *s, size_t n, st_buf_t *out);

/* Appends the canonical text of row i of c (strings and JSON as they are;
 * other types as st_col_value_json prints them, without quotes). *is_null is
 * set for a null (nothing appended). */
int st_partition_value_text(const st_column_t *c, int64_t i, st_buf_t *out, bool *is_null);

/* Appends "<escaped name>=<escaped value or __HIVE_DEFAULT_PARTITION__>" for
 * row i of c, named `name`. */
int st_partition_segment(const char *name, const st_column_t *c, int64_t i, st_buf_t *out);

/* Splits one segment seg[0..n) at its first '=' into the unescaped name and
 * value (both appended, NUL-terminated); *is_null for the null marker.
 * ST_ENOTFOUND when the segment is not "name=value" (not a partition
 * directory), ST_ECORRUPT for bad escapes. */
int st_partition_parse_segment(const char *seg, size_t n, st_buf_t *name, st_buf_t *value,
                               bool *is_null);

/* Appends a partition value read from a path (unescaped text, or null) to a
 * column of its type: the inverse of st_partition_value_text. An empty text
 * is the empty string for STRING / BINARY / JSON columns (st_coerce_append
 * alone would read it as null). */
int st_partition_append_value(st_column_t *c, const char *text, size_t n, bool is_null);

#endif
