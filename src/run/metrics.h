/* Multi-label classification metrics from gold and predicted N x K label matrices.
 *
 * Conventions (those of scikit-learn with its default zero_division, which scores an undefined
 * ratio as 0):
 *   - a value is positive when its byte is non-zero;
 *   - precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = 2TP / (2TP + FP + FN), Jaccard =
 *     TP / (TP + FP + FN); each is 0 when its denominator is 0. So a label with no gold and no
 *     predicted positives has F1 = 0 and still counts in macro-F1's mean (sklearn's f1_score(...,
 *     average="macro") with the default zero_division), and with no positives anywhere every
 *     micro score is 0;
 *   - micro scores pool TP, FP, FN over all labels and examples; macro-F1 is the unweighted mean
 *     of the K per-label F1 values;
 *   - subset accuracy: the share of examples whose whole predicted row equals the gold row (an
 *     example with no gold labels and no predictions counts as exact);
 *   - Hamming loss: (FP + FN) / (N * K). */
#ifndef MLTC_RUN_METRICS_H
#define MLTC_RUN_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/error.h"

typedef struct metrics_label {
    double precision, recall, f1;
    size_t support;   /* gold positives */
    size_t predicted; /* predicted positives */
    size_t tp;
} metrics_label;

typedef struct metrics {
    size_t n_examples;
    int n_labels;
    double hamming_loss;
    double micro_precision, micro_recall, micro_f1;
    double macro_f1;
    double subset_accuracy;
    double micro_jaccard;
    size_t tp, fp, fn;
    metrics_label *per_label; /* n_labels entries, owned */
} metrics;

/* Scores pred against gold (both n x k, row-major). n == 0 or k <= 0 is MLTC_ERR_INVALID_ARGUMENT:
 * there is nothing to score. */
mltc_status metrics_compute(mltc_error *e, const uint8_t *gold, const uint8_t *pred, size_t n, int k, metrics *out);

/* The same with predictions from probabilities: label j of example i is positive iff
 * probs[i*k+j] > threshold (so a probability equal to the threshold is negative). */
mltc_status metrics_from_probs(mltc_error *e, const uint8_t *gold, const float *probs, size_t n, int k,
                               float threshold, metrics *out);

void metrics_free(metrics *m);

/* Scores of the labels whose number of training examples lies in [lo, hi] (hi < 0: no bound):
 * micro-F1 pooled over those labels, macro-F1 their mean F1. */
typedef struct metrics_band {
    long lo, hi;
    int n_labels;
    size_t support; /* gold positives of those labels */
    double micro_f1, macro_f1;
} metrics_band;

/* Rare, medium and frequent labels: <= 10, 11-100 and > 100 training examples. */
#define METRICS_BANDS 3

/* The bands of m's per-label scores given each label's training count counts[n_labels]. */
void metrics_bands(const metrics *m, const long *counts, metrics_band out[METRICS_BANDS]);

/* {"lo": .., "hi": .. or null, "n_labels", "support", "micro_f1", "macro_f1"} per band, in an
 * array; NULL when out of memory. */
cJSON *metrics_bands_to_json(const metrics_band *bands, int n);

/* One JSON object with exactly the keys hamming_loss, micro_precision, micro_recall, micro_f1,
 * macro_f1, subset_accuracy, micro_jaccard, n_examples, n_labels. NULL when out of memory;
 * the caller frees it with cJSON_Delete. */
cJSON *metrics_to_json(const metrics *m);

/* The same object printed (formatted when pretty); free() it. NULL when out of memory. */
char *metrics_json_string(const metrics *m, int pretty);

#endif
