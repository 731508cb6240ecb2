/* The label set of a task: an ordered list of names (index = column of the label matrix) with a
 * name -> index hash map, read from a labels file (one name a line). */
#ifndef MLTC_MODEL_LABELS_H
#define MLTC_MODEL_LABELS_H

#include "core/error.h"

typedef struct labels_entry {
    char *key; /* points at names[value]; the map does not own it */
    int value;
} labels_entry;

typedef struct labels {
    char **names;      /* count names, each owned */
    int count;
    labels_entry *map; /* stb_ds string hash map */
} labels;

/* Zero-initialize a labels struct before use: `labels l = {0};` is enough. */

/* Reads path: one name a line, surrounding whitespace and CR trimmed, empty lines skipped, a
 * UTF-8 BOM at the start tolerated. A duplicate name is an error naming file:line and the line
 * of its first occurrence; a file without any name is an error. On failure *out is left empty. */
mltc_status labels_load(mltc_error *e, const char *path, labels *out);

/* Appends one name (copied). A duplicate or empty name is MLTC_ERR_INVALID_ARGUMENT. */
mltc_status labels_add(mltc_error *e, labels *l, const char *name);

/* Index of name, or -1 when it is not a label. */
int labels_find(const labels *l, const char *name);

/* Same for a name that is not NUL-terminated (len bytes). */
int labels_find_n(const labels *l, const char *name, size_t len);

void labels_free(labels *l);

#endif
