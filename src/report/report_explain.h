/* An explained prediction (model/classifier_explain.h) as JSON and as a picture of the text. */
#ifndef MLTC_REPORT_EXPLAIN_H
#define MLTC_REPORT_EXPLAIN_H

#include <cjson/cJSON.h>

#include "model/classifier_explain.h"

/* {"head", "labels": [predicted], "probs": {label: p}, "tokens": [...], "is_text": [0/1 ...],
 *  lam: "weights": [alpha per token], "best_token": {label: token index};
 *  bert: "weights": [[CLS]'s attention per token, averaged over heads];
 *  lmmtc: "label_weights": {predicted label: [its state's attention per token]}}.
 * decided[K] are the model's decisions. NULL when out of memory. */
cJSON *report_explain_json(const classifier *c, const clf_explanation *x, const uint8_t *decided);

/* The weights that shade the text's pieces: lam's alpha, bert's [CLS] row, lmmtc's rows of the
 * predicted labels averaged (every label's when none is predicted). w[x->n]. */
void report_explain_shading(const clf_explanation *x, const uint8_t *decided, float *w);

/* Draws the text's pieces shaded (report_draw_shaded_text) under heading lines that name the
 * head, the predicted labels and first_line (may be NULL). */
mltc_status report_explain_picture(mltc_error *e, const classifier *c, const clf_explanation *x,
                                   const uint8_t *decided, const char *first_line, const char *base, int *w, int *h);

#endif
