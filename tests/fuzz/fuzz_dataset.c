/* A data file read in every format, strict and with --skip-bad, against a fixed label set;
 * the same bytes as a labels file and as a tsv-columns header. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "run/dataset.h"

static const char *const NAMES[] = {"earn", "acq", "money-fx", "joy", "anger"};

static void check_dataset(const dataset *d, int n_labels) {
    if (d->n_labels != n_labels || d->format == DATASET_AUTO) abort();
    for (size_t i = 0; i < d->n; i++) {
        if (!d->ex[i].text || d->ex[i].labels != d->y + i * (size_t)n_labels || d->ex[i].line < 1) abort();
        for (int k = 0; k < n_labels; k++)
            if (d->y[i * (size_t)n_labels + k] > 1) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(data, size);
    if (!path) return 0;
    mltc_error err = {0};
    labels lbl = {0};
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
        if (labels_add(&err, &lbl, NAMES[i])) abort();
    for (int format = DATASET_AUTO; format <= DATASET_TSV_COLUMNS; format++) {
        for (int skip = 0; skip <= 1; skip++) {
            dataset_options opt = {.format = (dataset_format)format, .skip_bad = skip};
            dataset d = {0};
            err.msg[0] = 0;
            mltc_status st = dataset_load(&err, path, &lbl, &opt, &d);
            fuzz_expect_message(st, &err, "dataset_load");
            if (!st) check_dataset(&d, lbl.count);
            dataset_free(&d);
        }
    }
    labels_free(&lbl);

    labels header = {0}, list = {0};
    err.msg[0] = 0;
    mltc_status st = dataset_header_labels(&err, path, &header);
    fuzz_expect_message(st, &err, "dataset_header_labels");
    if (!st) fuzz_check_labels(&header);
    labels_free(&header);
    err.msg[0] = 0;
    st = labels_load(&err, path, &list);
    fuzz_expect_message(st, &err, "labels_load");
    if (!st) fuzz_check_labels(&list);
    labels_free(&list);
    return 0;
}
