#include "run/dataset.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/fileio.h"

/* ---- reading lines -------------------------------------------------------------------------- */

typedef struct line_reader {
    text_file *f; /* plain or gzip-compressed */
    const char *path;
    char *buf;
    size_t cap;
    long lineno;
} line_reader;

static mltc_status reader_open(mltc_error *e, line_reader *r, const char *path) {
    memset(r, 0, sizeof *r);
    r->path = path;
    r->f = text_open(path);
    if (!r->f) return err_set(e, MLTC_ERR_IO, "cannot open dataset %s: %s", path, strerror(errno));
    return MLTC_OK;
}

static void reader_close(line_reader *r) {
    if (r->f) text_close(r->f);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

static int blank(const char *s) {
    for (; *s; s++)
        if (*s != ' ' && *s != '\t') return 0;
    return 1;
}

/* Next non-blank line with its end (LF or CRLF) and a leading BOM removed. *line is NULL at the
 * end of the file. A NUL byte inside a line is a parse error: it would silently cut the text. */
static mltc_status reader_next(mltc_error *e, line_reader *r, char **line, size_t *len) {
    for (;;) {
        ssize_t got = text_getline(r->f, &r->buf, &r->cap);
        r->lineno++;
        if (got < 0) {
            *line = NULL;
            *len = 0;
            if (text_error(r->f))
                return err_set(e, MLTC_ERR_IO, "%s:%ld: read error: %s", r->path, r->lineno, text_error(r->f));
            return MLTC_OK;
        }
        char *s = r->buf;
        size_t n = (size_t)got;
        if (memchr(s, '\0', n))
            return err_set(e, MLTC_ERR_PARSE, "%s:%ld: NUL byte in the line (binary file?)", r->path, r->lineno);
        if (r->lineno == 1 && n >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
            (unsigned char)s[2] == 0xBF) {
            s += 3;
            n -= 3;
        }
        if (n && s[n - 1] == '\n') s[--n] = '\0';
        if (n && s[n - 1] == '\r') s[--n] = '\0';
        if (blank(s)) continue;
        *line = s;
        *len = n;
        return MLTC_OK;
    }
}

/* ---- small string helpers -------------------------------------------------------------------- */

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\r') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

static int count_fields(const char *s) {
    int n = 1;
    for (; *s; s++) n += *s == '\t';
    return n;
}

/* Splits s in place at tabs into fields[0..n). fields must hold count_fields(s) entries. */
static int split_tabs(char *s, char **fields) {
    int n = 0;
    fields[n++] = s;
    for (; *s; s++)
        if (*s == '\t') {
            *s = '\0';
            fields[n++] = s + 1;
        }
    return n;
}

static int is_text_column(const char *name) {
    static const char *const known[] = {"text", "tweet", "sentence", "content", "document", "comment_text", "body"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        const char *a = name, *b = known[i];
        while (*a && *b && tolower((unsigned char)*a) == *b) a++, b++;
        if (!*a && !*b) return 1;
    }
    return 0;
}

/* ---- the loader's state ---------------------------------------------------------------------- */

typedef struct loader {
    mltc_error *e;
    const char *path;
    const labels *lbl;
    int k;
    size_t cap;   /* examples allocated in d->ex and rows in d->y */
    char **fields; /* scratch for tab splitting */
    int fields_cap;
    /* tsv-columns: from the header */
    int ncols, text_col;
    int *col_label; /* label index of each column, -1 for ignored ones */
} loader;

static mltc_status scratch_fields(loader *L, int n) {
    if (n <= L->fields_cap) return MLTC_OK;
    char **f = realloc(L->fields, sizeof *f * (size_t)n);
    if (!f) return err_set(L->e, MLTC_ERR_OUT_OF_MEMORY, "%s: out of memory splitting a line into %d fields", L->path, n);
    L->fields = f;
    L->fields_cap = n;
    return MLTC_OK;
}

/* Sets row[label] for the label named by name[0..len), or reports it as unknown. */
static mltc_status mark_label(loader *L, long lineno, const char *name, size_t len, uint8_t *row) {
    int idx = labels_find_n(L->lbl, name, len);
    if (idx < 0)
        return err_set(L->e, MLTC_ERR_PARSE, "%s:%ld: unknown label '%.*s' (not in the labels file)", L->path, lineno,
                       (int)(len > 200 ? 200 : len), name);
    row[idx] = 1;
    return MLTC_OK;
}

/* ---- jsonl ---------------------------------------------------------------------------------- */

static mltc_status parse_jsonl(loader *L, char *line, long lineno, char **text, uint8_t *row) {
    const char *end = NULL;
    cJSON *obj = cJSON_ParseWithOpts(line, &end, 1);
    if (!obj) {
        long col = end ? (long)(end - line) + 1 : 0;
        return err_set(L->e, MLTC_ERR_PARSE, "%s:%ld: bad JSON at column %ld: '%.40s'", L->path, lineno, col,
                       end ? end : "");
    }
    mltc_status st = MLTC_OK;
    const cJSON *jt = cJSON_GetObjectItemCaseSensitive(obj, "text");
    const cJSON *jtitle = cJSON_GetObjectItemCaseSensitive(obj, "title");
    const cJSON *jl = cJSON_GetObjectItemCaseSensitive(obj, "labels");
    if (!cJSON_IsObject(obj)) {
        st = err_set(L->e, MLTC_ERR_PARSE, "%s:%ld: expected a JSON object {\"text\": ..., \"labels\": [...]}", L->path,
                     lineno);
    } else if (!jt) {
        st = err_set(L->e, MLTC_ERR_PARSE, "%s:%ld: missing \"text\"", L->path, lineno);
    } else if (!cJSON_IsString(jt)) {
        st = err_set(L->e, MLTC_ERR_PARSE, "%s:%ld: \"text\" is not a string", L->path, lineno);
    } else if (jtitle && !cJSON_IsNull(jtitle) && !cJSON_IsString(jtitle)) {
        st = err_set(L->e, MLTC_ERR_PARSE, "%s:%ld: \"title\" is not a string", L->path, lineno);
    } else if (jl && !cJSON_IsNull(jl) && !cJSON_IsArray(jl)) {
        st = err_set(L->e, MLTC_ERR_PARSE, "%s:%ld: \"labels\" is not an array of label names", L->path, lineno);
    }
    int n_labels = st == MLTC_OK && cJSON_IsArray(jl) ? cJSON_GetArraySize(jl) : 0;
    for (int i = 0; i < n_labels && st == MLTC_OK; i++) {
        const cJSON *item = cJSON_GetArrayItem(jl, i);
        if (!cJSON_IsString(item))
            st = err_set(L->e, MLTC_ERR_PARSE, "%s:%ld: \"labels\"[%d] is not a string", L->path, lineno, i);
        else
            st = mark_label(L, lineno, item->valuestring, strlen(item->valuestring), row);
    }
    if (st == MLTC_OK) {
        const char *body = jt->valuestring;
        const char *title = cJSON_IsString(jtitle) ? jtitle->valuestring : "";
        /* title + "\n" + text: the join the tokenizer parity fixtures were made with. */
        size_t tl = strlen(title), bl = strlen(body);
        *text = malloc(tl + bl + 2);
        if (!*text) {
            st = err_set(L->e, MLTC_ERR_OUT_OF_MEMORY, "%s:%ld: out of memory for a text of %zu bytes", L->path,
                         lineno, tl + bl + 2);
        } else if (tl) {
            memcpy(*text, title, tl);
            (*text)[tl] = '\n';
            memcpy(*text + tl + 1, body, bl + 1);
        } else {
            memcpy(*text, body, bl + 1);
        }
    }
    cJSON_Delete(obj);
    return st;
}

/* ---- tsv: text<TAB>label,label ---------------------------------------------------------------- */

static mltc_status parse_tsv(loader *L, char *line, long lineno, char **text, uint8_t *row) {
    int nf = count_fields(line);
    if (nf != 2)
        return err_set(L->e, MLTC_ERR_PARSE,
                       "%s:%ld: wrong column count: expected 2 tab-separated fields (text, labels), got %d", L->path,
                       lineno, nf);
    char *tab = strchr(line, '\t');
    *tab = '\0';
    char *list = trim(tab + 1);
    if (*list) {
        for (char *p = list;;) {
            char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            while (n && (*p == ' ' || *p == '\t')) p++, n--;
            while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
            if (!n)
                return err_set(L->e, MLTC_ERR_PARSE, "%s:%ld: empty label name in the label list '%.100s'", L->path,
                               lineno, list);
            mltc_status st = mark_label(L, lineno, p, n, row);
            if (st != MLTC_OK) return st;
            if (!comma) break;
            p = comma + 1;
        }
    }
    *text = strdup(line);
    if (!*text) return err_set(L->e, MLTC_ERR_OUT_OF_MEMORY, "%s:%ld: out of memory", L->path, lineno);
    return MLTC_OK;
}

/* ---- tsv-columns: a header, then 0/1 columns --------------------------------------------------- */

/* Reads the header's fields. With a label set (L->lbl), maps each column after the text column to
 * its label and checks that every label has a column; without one (lbl_out), makes the labels. */
static mltc_status parse_header(loader *L, char *line, long lineno, labels *lbl_out) {
    int nf = count_fields(line);
    mltc_status st = scratch_fields(L, nf);
    if (st != MLTC_OK) return st;
    split_tabs(line, L->fields);
    L->ncols = nf;
    L->text_col = -1;
    for (int c = 0; c < nf && L->text_col < 0; c++)
        if (is_text_column(trim(L->fields[c]))) L->text_col = c;
    if (L->text_col < 0)
        return err_set(L->e, MLTC_ERR_PARSE,
                       "%s:%ld: the header has no text column (one named text, tweet, sentence, content, document, "
                       "comment_text or body)",
                       L->path, lineno);
    if (L->text_col == nf - 1)
        return err_set(L->e, MLTC_ERR_PARSE, "%s:%ld: the header has no label columns after the text column '%s'",
                       L->path, lineno, L->fields[L->text_col]);
    L->col_label = malloc(sizeof *L->col_label * (size_t)nf);
    if (!L->col_label) return err_set(L->e, MLTC_ERR_OUT_OF_MEMORY, "%s: out of memory", L->path);
    for (int c = 0; c < nf; c++) {
        L->col_label[c] = -1;
        if (c <= L->text_col) continue;
        char *name = trim(L->fields[c]);
        if (!*name) return err_set(L->e, MLTC_ERR_PARSE, "%s:%ld: header column %d has no name", L->path, lineno, c + 1);
        int idx = labels_find(lbl_out ? lbl_out : L->lbl, name);
        if (lbl_out && idx < 0) { /* a new label; a known one is a duplicate column, caught below */
            if ((st = labels_add(L->e, lbl_out, name)) != MLTC_OK)
                return err_prefix(L->e, "%s:%ld: column %d: ", L->path, lineno, c + 1);
            L->col_label[c] = lbl_out->count - 1;
            continue;
        }
        if (idx < 0)
            return err_set(L->e, MLTC_ERR_PARSE, "%s:%ld: header column %d '%.100s' is not in the labels file",
                           L->path, lineno, c + 1, name);
        for (int p = L->text_col + 1; p < c; p++)
            if (L->col_label[p] == idx)
                return err_set(L->e, MLTC_ERR_PARSE, "%s:%ld: header columns %d and %d both name label '%s'", L->path,
                               lineno, p + 1, c + 1, name);
        L->col_label[c] = idx;
    }
    if (lbl_out) return MLTC_OK;
    for (int j = 0; j < L->k; j++) {
        int found = 0;
        for (int c = L->text_col + 1; c < nf && !found; c++) found = L->col_label[c] == j;
        if (!found)
            return err_set(L->e, MLTC_ERR_PARSE,
                           "%s:%ld: label '%s' of the labels file has no column in the header (%d label columns)",
                           L->path, lineno, L->lbl->names[j], nf - 1 - L->text_col);
    }
    return MLTC_OK;
}

static mltc_status parse_columns_row(loader *L, char *line, long lineno, char **text, uint8_t *row) {
    int nf = count_fields(line);
    if (nf != L->ncols)
        return err_set(L->e, MLTC_ERR_PARSE,
                       "%s:%ld: wrong column count: expected %d tab-separated fields as in the header, got %d", L->path,
                       lineno, L->ncols, nf);
    split_tabs(line, L->fields);
    for (int c = L->text_col + 1; c < nf; c++) {
        const char *cell = trim(L->fields[c]);
        if (!strcmp(cell, "1")) {
            row[L->col_label[c]] = 1;
        } else if (strcmp(cell, "0")) {
            return err_set(L->e, MLTC_ERR_PARSE, "%s:%ld: column %d (label '%s') holds '%.40s', expected 0 or 1",
                           L->path, lineno, c + 1, L->lbl->names[L->col_label[c]], cell);
        }
    }
    *text = strdup(L->fields[L->text_col]);
    if (!*text) return err_set(L->e, MLTC_ERR_OUT_OF_MEMORY, "%s:%ld: out of memory", L->path, lineno);
    return MLTC_OK;
}

/* ---- detection and the loading loop ------------------------------------------------------------ */

/* Decides the format from the first non-empty line (not modified). */
static mltc_status detect(loader *L, const char *first, dataset_format *out) {
    const char *s = first;
    while (*s == ' ' || *s == '\t') s++;
    if (*s == '{') {
        *out = DATASET_JSONL;
        return MLTC_OK;
    }
    char *copy = strdup(first);
    if (!copy) return err_set(L->e, MLTC_ERR_OUT_OF_MEMORY, "%s: out of memory", L->path);
    int nf = count_fields(copy);
    mltc_status st = scratch_fields(L, nf);
    if (st != MLTC_OK) {
        free(copy);
        return st;
    }
    split_tabs(copy, L->fields);
    int has_text = 0, named = 0;
    for (int c = 0; c < nf; c++) {
        char *name = trim(L->fields[c]);
        has_text |= is_text_column(name);
        named += labels_find(L->lbl, name) >= 0;
    }
    free(copy);
    /* A header names most labels and a text column; a data line names at most a few labels, in one
     * comma-separated field. Half the labels is the line between the two. */
    *out = has_text && named > 0 && 2 * named >= L->k ? DATASET_TSV_COLUMNS : DATASET_TSV;
    return MLTC_OK;
}

static mltc_status append(loader *L, dataset *d, char *text, const uint8_t *row, long lineno) {
    if (d->n == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 1024;
        dataset_example *ex = realloc(d->ex, sizeof *ex * cap);
        if (ex) d->ex = ex;
        uint8_t *y = ex ? realloc(d->y, cap * (size_t)L->k) : NULL;
        if (!y)
            return err_set(L->e, MLTC_ERR_OUT_OF_MEMORY, "%s:%ld: out of memory growing the dataset to %zu examples",
                           L->path, lineno, cap);
        d->y = y;
        L->cap = cap;
    }
    d->ex[d->n].text = text;
    d->ex[d->n].line = lineno;
    d->ex[d->n].labels = NULL; /* set once y stops moving */
    memcpy(d->y + d->n * (size_t)L->k, row, (size_t)L->k);
    d->n++;
    return MLTC_OK;
}

static void note_skip(dataset *d, const char *reason) {
    if (d->n_reasons < DATASET_MAX_REASONS) {
        /* Truncating a long reason is fine: it starts with file:line, which matters most. */
        size_t n = strlen(reason);
        if (n >= sizeof d->reasons[0]) n = sizeof d->reasons[0] - 1;
        memcpy(d->reasons[d->n_reasons], reason, n);
        d->reasons[d->n_reasons][n] = '\0';
        d->n_reasons++;
    }
    d->skipped++;
}

mltc_status dataset_load(mltc_error *e, const char *path, const labels *lbl, const dataset_options *opt,
                         dataset *out) {
    if (!path || !lbl || !out || lbl->count <= 0)
        return err_set(e, MLTC_ERR_INVALID_ARGUMENT, "dataset_load: a path, a non-empty label set and an output are needed");
    memset(out, 0, sizeof *out);
    dataset_options o = opt ? *opt : (dataset_options){0};
    if (o.format < DATASET_AUTO || o.format > DATASET_TSV_COLUMNS)
        return err_set(e, MLTC_ERR_INVALID_ARGUMENT, "dataset_load: unknown format %d", (int)o.format);

    line_reader r;
    mltc_status st = reader_open(e, &r, path);
    if (st != MLTC_OK) return st;
    loader L = {.e = e, .path = path, .lbl = lbl, .k = lbl->count};
    dataset d = {.n_labels = lbl->count, .format = o.format};
    uint8_t *row = malloc((size_t)L.k);
    if (!row) st = err_set(e, MLTC_ERR_OUT_OF_MEMORY, "%s: out of memory", path);

    for (int started = 0; st == MLTC_OK;) {
        char *line;
        size_t len;
        if ((st = reader_next(e, &r, &line, &len)) != MLTC_OK) {
            /* A NUL byte spoils only its own line, but the first line decides the format. */
            if (st == MLTC_ERR_PARSE && o.skip_bad && started) {
                note_skip(&d, e ? e->msg : "NUL byte");
                st = MLTC_OK;
                continue;
            }
            break;
        }
        if (!line) break;
        if (!started) {
            started = 1;
            if (d.format == DATASET_AUTO && (st = detect(&L, line, &d.format)) != MLTC_OK) break;
            if (d.format == DATASET_TSV_COLUMNS) {
                st = parse_header(&L, line, r.lineno, NULL);
                continue;
            }
        }
        memset(row, 0, (size_t)L.k);
        char *text = NULL;
        if (d.format == DATASET_JSONL) st = parse_jsonl(&L, line, r.lineno, &text, row);
        else if (d.format == DATASET_TSV) st = parse_tsv(&L, line, r.lineno, &text, row);
        else st = parse_columns_row(&L, line, r.lineno, &text, row);
        if (st == MLTC_OK && (st = append(&L, &d, text, row, r.lineno)) != MLTC_OK) free(text);
        if (st == MLTC_ERR_PARSE && o.skip_bad) {
            note_skip(&d, e ? e->msg : "bad line");
            st = MLTC_OK;
        }
    }
    if (st == MLTC_OK && d.format == DATASET_AUTO) d.format = DATASET_TSV; /* an empty file */
    free(row);
    free(L.fields);
    free(L.col_label);
    reader_close(&r);
    if (st != MLTC_OK) {
        dataset_free(&d);
        return st;
    }
    for (size_t i = 0; i < d.n; i++) d.ex[i].labels = d.y + i * (size_t)d.n_labels;
    if (e && d.skipped) err_clear(e); /* the skipped lines' messages live on in d.reasons */
    *out = d;
    return MLTC_OK;
}

void dataset_free(dataset *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) free(d->ex[i].text);
    free(d->ex);
    free(d->y);
    memset(d, 0, sizeof *d);
}

mltc_status dataset_header_labels(mltc_error *e, const char *path, labels *out) {
    if (!path || !out) return err_set(e, MLTC_ERR_INVALID_ARGUMENT, "dataset_header_labels: null argument");
    memset(out, 0, sizeof *out);
    line_reader r;
    mltc_status st = reader_open(e, &r, path);
    if (st != MLTC_OK) return st;
    loader L = {.e = e, .path = path};
    char *line = NULL;
    size_t len;
    labels l = {0};
    if ((st = reader_next(e, &r, &line, &len)) == MLTC_OK) {
        if (!line) st = err_set(e, MLTC_ERR_PARSE, "%s: empty file, expected a header line", path);
        else st = parse_header(&L, line, r.lineno, &l);
    }
    free(L.fields);
    free(L.col_label);
    reader_close(&r);
    if (st != MLTC_OK) {
        labels_free(&l);
        return st;
    }
    *out = l;
    return MLTC_OK;
}

static const char *const format_names[] = {"auto", "jsonl", "tsv", "tsv-columns"};

const char *dataset_format_name(dataset_format f) {
    return f >= DATASET_AUTO && f <= DATASET_TSV_COLUMNS ? format_names[f] : "unknown";
}

mltc_status dataset_format_parse(mltc_error *e, const char *name, dataset_format *out) {
    for (int i = 0; name && i <= DATASET_TSV_COLUMNS; i++)
        if (!strcmp(name, format_names[i])) {
            *out = (dataset_format)i;
            return MLTC_OK;
        }
    return err_set(e, MLTC_ERR_INVALID_ARGUMENT, "unknown dataset format '%s' (auto, jsonl, tsv or tsv-columns)",
                   name ? name : "(null)");
}

double dataset_label_cardinality(const dataset *d) {
    if (!d || !d->n) return 0.0;
    size_t pos = 0;
    for (size_t i = 0; i < d->n * (size_t)d->n_labels; i++) pos += d->y[i] != 0;
    return (double)pos / (double)d->n;
}
