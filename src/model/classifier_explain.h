/* Which tokens a classifier's prediction looked at, per head:
 *   lam    its label-attention weights over the words (one row: the softmax over the real tokens)
 *          and, per label, the token whose final state is most similar to the label's vector;
 *   lmmtc  per label, the last layer's attention from the label's state position to every
 *          token, averaged over the heads (row k: label k);
 *   bert   the last layer's attention from [CLS] to every token, averaged over the heads.
 * Every row sums to 1 over the input's real tokens (LM-MTC's prompt included); part[] says
 * which tokens are the text's own word pieces. */
#ifndef MLTC_MODEL_CLASSIFIER_EXPLAIN_H
#define MLTC_MODEL_CLASSIFIER_EXPLAIN_H

#include <stdint.h>

#include "model/classifier.h"

typedef struct clf_explanation {
    int n;              /* tokens of the model's input */
    int32_t *ids;       /* [n] */
    uint8_t *is_text;   /* [n]: 1 for the text's word pieces, 0 for [CLS], [SEP] and the prompt */
    int K;
    float *probs;       /* [K] */
    int rows;           /* weight rows: 1 (lam, bert) or K (lmmtc) */
    float *weights;     /* [rows, n] */
    int heads;          /* attention heads behind each row (0 for lam) */
    float *head_weights;/* [rows, heads, n]: each head's own row, or NULL for lam */
    int *best_token;    /* lam: [K] the token most similar to each label; else NULL */
} clf_explanation;

/* Predicts one text given as token ids (classifier_tokenize) and explains it. */
mltc_status classifier_explain(classifier *c, const int32_t *ids, int n_ids, clf_explanation *out);
void clf_explanation_free(clf_explanation *x);

#endif
