/* Decision thresholds tuned on dev data: the probabilities a model gave the dev examples and their
 * gold labels choose the thresholds that maximise micro-F1 under the decision rule
 * (model/decision.h). Candidates are the grid t_i = i / 100 (as float), i = 1..99; a choice is
 * compared by its exact micro-F1 (2TP / (2TP + FP + FN), as integers), so results do not depend on
 * rounding. */
#ifndef MLTC_RUN_THRESHOLDS_H
#define MLTC_RUN_THRESHOLDS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define THRESHOLD_GRID 99
/* Labels with fewer dev positives than this keep the global threshold under per-label tuning. */
#define THRESHOLD_MIN_POSITIVES 3

/* Grid value i (1..THRESHOLD_GRID). */
float threshold_grid(int i);

/* Micro counts over every label when one threshold serves them all. */
typedef struct threshold_counts {
    long long tp, fp, fn;
} threshold_counts;

/* For each grid value i, every label at that threshold and min_labels applied: the counts over
 * the n x K decisions, in out[i - 1]. */
mltc_status threshold_sweep(mltc_error *e, const uint8_t *gold, const float *probs, size_t n, int K,
                            int min_labels, threshold_counts out[THRESHOLD_GRID]);

/* The one threshold for every label with the highest dev micro-F1, min_labels applied; ties go
 * to the value closest to 0.5, then the lower. */
mltc_status tune_global_threshold(mltc_error *e, const uint8_t *gold, const float *probs, size_t n, int K,
                                  int min_labels, float *out);

/* Per label, starting from t[K] (the global threshold): for each label in index order with at
 * least THRESHOLD_MIN_POSITIVES dev positives, the grid value with the highest dev micro-F1 with
 * the other labels' thresholds fixed (min_labels is not applied in this pass); ties go to the
 * value closest to the label's starting threshold, then the lower. t is updated in place. */
void tune_label_thresholds(const uint8_t *gold, const float *probs, size_t n, int K, float *t);

#endif
