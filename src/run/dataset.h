/* Multi-label datasets in memory, read from the three formats a user brings:
 *
 *   jsonl        one object a line: {"text": "...", "title": "...", "labels": ["a", "b"]}
 *                "title" is optional; a non-empty title is joined before the text as
 *                title + "\n" + text (the tokenizer fixtures use exactly this join).
 *                "labels" may be missing or null (no labels).
 *   tsv          text<TAB>label,label  with no header; an empty label field means no labels.
 *   tsv-columns  a header naming the columns, then one 0/1 column per label (SemEval E-c:
 *                ID<TAB>Tweet<TAB>anger<TAB>...). The text column is the one named text, tweet,
 *                sentence, content, document, comment_text or body (any case); columns before it
 *                (ids) are ignored, every column after it must be a label of the labels file, and
 *                every label of the labels file must have a column.
 *
 * Empty lines are skipped everywhere; a UTF-8 BOM at the start and CRLF line ends are tolerated.
 * Line numbers are physical lines of the file, 1-based. */
#ifndef MLTC_RUN_DATASET_H
#define MLTC_RUN_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "model/labels.h"

typedef enum dataset_format {
    DATASET_AUTO = 0, /* from the first non-empty line: '{' -> jsonl; a header with a text column
                         and at least half the label names as fields -> tsv-columns; else tsv */
    DATASET_JSONL,
    DATASET_TSV,
    DATASET_TSV_COLUMNS
} dataset_format;

typedef struct dataset_example {
    char *text;       /* owned, UTF-8 as in the file */
    uint8_t *labels;  /* n_labels 0/1 values: a row of dataset.y */
    long line;        /* source line in the file */
} dataset_example;

#define DATASET_MAX_REASONS 5

typedef struct dataset {
    dataset_example *ex;
    size_t n;
    int n_labels;
    uint8_t *y;              /* n x n_labels, row-major; ex[i].labels == y + i * n_labels */
    dataset_format format;   /* the format actually read (never DATASET_AUTO) */
    size_t skipped;          /* bad lines skipped (only with skip_bad) */
    int n_reasons;           /* the first DATASET_MAX_REASONS skip reasons, "file:line: what" */
    char reasons[DATASET_MAX_REASONS][320];
} dataset;

typedef struct dataset_options {
    dataset_format format;
    int skip_bad; /* skip malformed lines (bad JSON, wrong column count, unknown label, ...) and
                     count them instead of failing; header errors always fail */
} dataset_options;

/* Reads path against the label set lbl. opt may be NULL (auto format, no skipping).
 * Every malformed line is an error "path:line: what is wrong"; on failure *out is empty. */
mltc_status dataset_load(mltc_error *e, const char *path, const labels *lbl, const dataset_options *opt,
                         dataset *out);

void dataset_free(dataset *d);

/* Builds a label set from the header of a tsv-columns file (the columns after the text column),
 * for data such as SemEval that ships without a labels file. */
mltc_status dataset_header_labels(mltc_error *e, const char *path, labels *out);

/* "auto", "jsonl", "tsv", "tsv-columns". */
const char *dataset_format_name(dataset_format f);
/* Parses a name above; an unknown name is MLTC_ERR_INVALID_ARGUMENT listing the choices. */
mltc_status dataset_format_parse(mltc_error *e, const char *name, dataset_format *out);

/* Mean number of labels per example (0 for an empty dataset), for summaries. */
double dataset_label_cardinality(const dataset *d);

#endif
