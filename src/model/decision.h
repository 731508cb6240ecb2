/* The decision rule: which labels a row of probabilities predicts. Label k is predicted when
 * p_k > t_k; a row with fewer than min_labels predicted labels then gets its most probable other
 * labels (ties: the lower index) until it has min_labels (at most K). */
#ifndef MLTC_MODEL_DECISION_H
#define MLTC_MODEL_DECISION_H

#include <stddef.h>
#include <stdint.h>

/* out[K] = the decisions for one row p[K] under thresholds t[K]. */
void decide_row(const float *p, int K, const float *t, int min_labels, uint8_t *out);

/* The same for n rows (row-major [n x K]). */
void decide_rows(const float *p, size_t n, int K, const float *t, int min_labels, uint8_t *out);

#endif
