/* Scoring a classifier on a dataset, and predicting probabilities for many texts. */
#ifndef MLTC_RUN_EVALUATE_H
#define MLTC_RUN_EVALUATE_H

#include "model/classifier.h"
#include "run/dataset.h"
#include "run/metrics.h"

/* Probabilities [n x K] for texts[n] (NUL-terminated UTF-8), in batches of up to `batch`.
 * Texts are run in order of length so padding is small; results come back in input order. */
mltc_status predict_texts(classifier *c, const char *const *texts, size_t n, int batch, float *probs);

/* Probabilities [n x K] for every example of d (in its order). */
mltc_status predict_dataset(classifier *c, const dataset *d, int batch, float *probs);

/* Scores probabilities [n x K] of d's examples: decided by the classifier's rule
 * (classifier_decide) and compared with d's labels. */
mltc_status score_probs(classifier *c, const dataset *d, const float *probs, metrics *out);

/* Predicts every example of d, decides with the classifier's rule (its thresholds and minimum
 * of labels: classifier_decide) and scores against d's labels. probs (may be NULL) receives the [n x K] probabilities. */
mltc_status evaluate_dataset(classifier *c, const dataset *d, int batch, metrics *out, float *probs);

#endif
