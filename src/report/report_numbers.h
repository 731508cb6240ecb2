/* The numbers behind the report's figures, computed without drawing anything: the training log
 * read back, scores against the decision threshold, label co-occurrence correlations and a label
 * order that puts correlated labels next to each other. */
#ifndef MLTC_REPORT_NUMBERS_H
#define MLTC_REPORT_NUMBERS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "run/thresholds.h"

/* One logged optimizer step of OUT/train_log.jsonl. mlm is NaN when the head has none. */
typedef struct report_step {
    double step, epoch, loss, bce, mlm, lr, grad_norm;
} report_step;

/* One dev evaluation (the end of an epoch). */
typedef struct report_eval {
    double epoch, step, micro_f1, macro_f1, threshold;
    int best;
} report_eval;

typedef struct report_log {
    report_step *steps;
    int n_steps;
    report_eval *evals;
    int n_evals;
} report_log;

/* Reads OUT/train_log.jsonl: step and eval lines; a later line for a step replaces nothing (a
 * resumed run trims its log, so steps are unique). A line that is not JSON is MLTC_ERR_PARSE
 * naming path:line. */
mltc_status report_log_read(mltc_error *e, const char *path, report_log *out);
void report_log_free(report_log *l);

/* Micro precision, recall and F1 when every label's threshold is t (the minimum of labels of
 * the decision rule applied), for t = 0.01 .. 0.99. */
#define REPORT_SWEEP THRESHOLD_GRID
typedef struct report_sweep_point {
    float threshold;
    double precision, recall, f1;
} report_sweep_point;

mltc_status report_threshold_sweep(mltc_error *e, const uint8_t *gold, const float *probs, size_t n, int K,
                                   int min_labels, report_sweep_point out[REPORT_SWEEP]);

/* corr[K x K]: the Pearson correlation of label columns i and j of y [n x K] (0/1 bytes) over
 * the n examples; NaN where a label never or always occurs (no variance). */
void report_pearson(const uint8_t *y, size_t n, int K, double *corr);

/* order[K]: the labels in the leaf order of average-linkage agglomerative clustering on the
 * distance 1 - corr (NaN counts as correlation 0), so labels that occur together sit together.
 * Returns MLTC_ERR_OUT_OF_MEMORY on failure. */
mltc_status report_cluster_order(mltc_error *e, const double *corr, int K, int *order);

#endif
