/* Printing rows. Every reader in strata can produce the canonical JSON form of a
 * row, so output formats are derived from it here: JSON Lines as is, CSV and
 * tables by splitting the top-level object into cells (strings unescaped,
 * everything else — numbers, nested lists and objects — kept as JSON text). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define TABLE_BLOCK_ROWS 1000 /* table output is aligned per block of rows */
#define TABLE_MAX_WIDTH 48    /* wider cells are cut with "…" */

struct cli_rows {
    FILE *fp;
    cli_out_format_t fmt;
    bool header_done;
    int ncols;
    char **names;
    /* table format: a block of rows, each ncols cells */
    char ***block;
    int nblock;
};

int cli_out_format_parse(const char *text, cli_out_format_t *out) {
    if (!strcmp(text, "jsonl") || !strcmp(text, "json")) *out = CLI_OUT_JSONL;
    else if (!strcmp(text, "csv")) *out = CLI_OUT_CSV;
    else if (!strcmp(text, "table")) *out = CLI_OUT_TABLE;
    else return st_error(ST_EINVAL, "unknown format '%s' (expected jsonl, csv or table)", text);
    return ST_OK;
}

int cli_rows_open(FILE *fp, cli_out_format_t fmt, cli_rows_t **out) {
    cli_rows_t *r = calloc(1, sizeof *r);
    if (!r) return st_error(ST_ENOMEM, "out of memory");
    r->fp = fp;
    r->fmt = fmt;
    *out = r;
    return ST_OK;
}

/* End of the JSON value starting at p (p < end), or NULL if malformed. */
static const char *value_end(const char *p, const char *end) {
    if (*p == '"') {
        for (p++; p < end; p++) {
            if (*p == '\\') p++;
            else if (*p == '"') return p + 1;
        }
        return NULL;
    }
    if (*p == '[' || *p == '{') {
        int depth = 0;
        for (; p < end; p++) {
            if (*p == '"') {
                p = value_end(p, end);
                if (!p) return NULL;
                p--;
            } else if (*p == '[' || *p == '{') depth++;
            else if (*p == ']' || *p == '}') {
                if (--depth == 0) return p + 1;
            }
        }
        return NULL;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']') p++;
    return p;
}

static int hexdigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 0;
}

/* The text of a cell: a JSON string unescaped, anything else verbatim. */
static char *cell_text(const char *p, const char *e) {
    char *s = malloc((size_t)(e - p) + 1), *o = s;
    if (!s) return NULL;
    if (*p != '"') {
        memcpy(s, p, (size_t)(e - p));
        s[e - p] = '\0';
        return s;
    }
    for (p++, e--; p < e; p++) {
        if (*p != '\\') {
            *o++ = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': /* canonical JSON only escapes control characters this way */
            if (e - p >= 5) {
                *o++ = (char)(hexdigit(p[3]) << 4 | hexdigit(p[4]));
                p += 4;
            }
            break;
        default: *o++ = *p;
        }
    }
    *o = '\0';
    return s;
}

/* Splits {"k":v,...} into names (first row only) and cell texts. */
static int split_row(cli_rows_t *r, const char *line, size_t n, char ***cells_out) {
    const char *p = line, *end = line + n;
    int cap = r->ncols > 0 ? r->ncols : 8, count = 0;
    char **cells = calloc((size_t)cap, sizeof *cells);
    bool first_row = r->names == NULL; /* names are taken from the first row only */
    if (!cells || n < 2 || *p != '{') goto bad;
    p++;
    while (p < end && *p != '}') {
        const char *ke = value_end(p, end);
        if (!ke || *p != '"' || ke >= end || *ke != ':') goto bad;
        const char *vs = ke + 1, *ve = vs < end ? value_end(vs, end) : NULL;
        if (!ve) goto bad;
        if (count == cap) {
            char **nc = realloc(cells, (size_t)cap * 2 * sizeof *nc);
            if (!nc) goto bad;
            cells = nc;
            cap *= 2;
        }
        if (first_row) {
            char **nn = realloc(r->names, (size_t)(count + 1) * sizeof *nn);
            if (!nn) goto bad;
            r->names = nn;
            r->names[count] = cell_text(p, ke);
        }
        bool is_null = ve - vs == 4 && !memcmp(vs, "null", 4);
        cells[count++] = is_null ? NULL : cell_text(vs, ve);
        p = ve < end && *ve == ',' ? ve + 1 : ve;
    }
    if (first_row) r->ncols = count;
    if (count != r->ncols) goto bad;
    *cells_out = cells;
    return ST_OK;
bad:
    if (cells)
        for (int i = 0; i < count; i++) free(cells[i]);
    free(cells);
    return st_error(ST_ECORRUPT, "internal: row is not a JSON object: %.60s", line);
}

static void free_cells(char **cells, int n) {
    for (int i = 0; i < n; i++) free(cells[i]);
    free(cells);
}

static void csv_field(FILE *fp, const char *s) {
    if (!s) return;
    if (!strpbrk(s, ",\"\r\n") && s[0] != ' ' && *s) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"') fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

/* Display width in characters (UTF-8 continuation bytes do not count). */
static int display_width(const char *s) {
    int w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80) w++;
    return w;
}

static void table_cell(FILE *fp, const char *s, int width) {
    if (!s) s = "null";
    int w = 0;
    const char *p = s;
    for (; *p; p++) {
        if (((unsigned char)*p & 0xc0) != 0x80) {
            if (w == TABLE_MAX_WIDTH - 1 && display_width(p) > 1) {
                fputs("…", fp);
                w++;
                break;
            }
            w++;
        }
        fputc(*p == '\n' || *p == '\t' || *p == '\r' ? ' ' : *p, fp);
    }
    for (; w < width; w++) fputc(' ', fp);
}

static void table_flush(cli_rows_t *r) {
    if (r->nblock == 0 && r->header_done) return;
    int *width = calloc((size_t)r->ncols + 1, sizeof *width);
    if (!width) return;
    for (int c = 0; c < r->ncols; c++) {
        width[c] = display_width(r->names[c]);
        for (int i = 0; i < r->nblock; i++) {
            const char *s = r->block[i][c];
            int w = s ? display_width(s) : 4;
            if (w > width[c]) width[c] = w;
        }
        if (width[c] > TABLE_MAX_WIDTH) width[c] = TABLE_MAX_WIDTH;
    }
    if (!r->header_done) {
        for (int c = 0; c < r->ncols; c++) {
            if (c) fputs(" | ", r->fp);
            table_cell(r->fp, r->names[c], width[c]);
        }
        fputc('\n', r->fp);
        for (int c = 0; c < r->ncols; c++) {
            if (c) fputs("-+-", r->fp);
            for (int k = 0; k < width[c]; k++) fputc('-', r->fp);
        }
        fputc('\n', r->fp);
        r->header_done = true;
    }
    for (int i = 0; i < r->nblock; i++) {
        for (int c = 0; c < r->ncols; c++) {
            if (c) fputs(" | ", r->fp);
            table_cell(r->fp, r->block[i][c], c == r->ncols - 1 ? 0 : width[c]);
        }
        fputc('\n', r->fp);
        free_cells(r->block[i], r->ncols);
    }
    r->nblock = 0;
    free(width);
}

int cli_rows_emit(void *ctx, const char *line, size_t n) {
    cli_rows_t *r = ctx;
    if (r->fmt == CLI_OUT_JSONL) {
        fwrite(line, 1, n, r->fp);
        fputc('\n', r->fp);
        return ferror(r->fp) ? st_error(ST_EIO, "cannot write output") : ST_OK;
    }
    char **cells = NULL;
    bool had_header = r->header_done || r->ncols > 0;
    int rc = split_row(r, line, n, &cells);
    if (rc) return rc;
    if (r->fmt == CLI_OUT_CSV) {
        if (!had_header) {
            for (int c = 0; c < r->ncols; c++) {
                if (c) fputc(',', r->fp);
                csv_field(r->fp, r->names[c]);
            }
            fputc('\n', r->fp);
            r->header_done = true;
        }
        for (int c = 0; c < r->ncols; c++) {
            if (c) fputc(',', r->fp);
            csv_field(r->fp, cells[c]);
        }
        fputc('\n', r->fp);
        free_cells(cells, r->ncols);
        return ferror(r->fp) ? st_error(ST_EIO, "cannot write output") : ST_OK;
    }
    if (!r->block && !(r->block = calloc(TABLE_BLOCK_ROWS, sizeof *r->block))) {
        free_cells(cells, r->ncols);
        return st_error(ST_ENOMEM, "out of memory");
    }
    r->block[r->nblock++] = cells;
    if (r->nblock == TABLE_BLOCK_ROWS) table_flush(r);
    return ST_OK;
}

int cli_rows_close(cli_rows_t *r) {
    if (!r) return ST_OK;
    if (r->fmt == CLI_OUT_TABLE && r->ncols > 0) table_flush(r);
    for (int c = 0; c < r->ncols; c++) free(r->names[c]);
    free(r->names);
    free(r->block);
    int rc = fflush(r->fp) ? st_error(ST_EIO, "cannot write output") : ST_OK;
    free(r);
    return rc;
}
