/* classifier_explain (classifier_explain.h): one prediction with the encoder's unfused attention
 * kept, then the head's view of which tokens mattered. */
#include "model/classifier_explain.h"

#include <stdlib.h>
#include <string.h>

#include "model/classifier_internal.h"

void clf_explanation_free(clf_explanation *x) {
    if (!x) return;
    free(x->ids);
    free(x->is_text);
    free(x->probs);
    free(x->weights);
    free(x->head_weights);
    free(x->best_token);
    memset(x, 0, sizeof *x);
}

/* Rows of the last layer's attention: [CLS] for bert, label k's state for lmmtc, averaged over
 * the heads into x->weights and kept per head in x->head_weights. */
static mltc_status attention_rows(classifier *c, clf_explanation *x) {
    const bert_config *cfg = bert_config_of(c->bert);
    int H = cfg->num_heads, T = x->n, R = bert_selected_outputs(c->bert) ? bert_selected_outputs(c->bert) : T;
    float *att = malloc(sizeof *att * (size_t)H * R * T);
    x->rows = c->s.head == HEAD_LMMTC ? c->K : 1;
    x->heads = H;
    x->weights = calloc((size_t)x->rows * T, sizeof *x->weights);
    x->head_weights = malloc(sizeof *x->head_weights * (size_t)x->rows * H * T);
    mltc_status st = att && x->weights && x->head_weights
                         ? bert_last_attention(c->bert, att)
                         : err_set(c->dev->err, MLTC_ERR_OUT_OF_MEMORY, "explain: no memory");
    for (int r = 0; !st && r < x->rows; r++) {
        /* The query row: with selected outputs row r is the r-th selected position (lmmtc: label
         * r's state; bert: [CLS]); otherwise the position itself. */
        int q = R == T ? (c->s.head == HEAD_LMMTC ? lmmtc_state_pos(r) : 0) : r;
        for (int h = 0; h < H; h++) {
            const float *row = att + ((size_t)h * R + q) * T;
            memcpy(x->head_weights + ((size_t)r * H + h) * T, row, sizeof *row * (size_t)T);
            for (int t = 0; t < T; t++) x->weights[(size_t)r * T + t] += row[t] / (float)H;
        }
    }
    free(att);
    return st;
}

mltc_status classifier_explain(classifier *c, const int32_t *ids, int n_ids, clf_explanation *out) {
    memset(out, 0, sizeof *out);
    int K = c->K;
    out->K = K;
    out->probs = malloc(sizeof *out->probs * (size_t)K);
    if (!out->probs) return err_set(c->dev->err, MLTC_ERR_OUT_OF_MEMORY, "explain: no memory");
    clf_example ex = {ids, n_ids, NULL};
    c->keep_attention = 1;
    mltc_status st = classifier_predict(c, &ex, 1, out->probs);
    c->keep_attention = 0;
    /* One example: the batch is as long as it, every position a real token (build_batch left
     * its ids at the start of h_ids). */
    int T = bert_last_length(c->bert);
    if (!st) {
        out->n = T;
        out->ids = malloc(sizeof *out->ids * (size_t)T);
        out->is_text = calloc((size_t)T, 1);
        if (!out->ids || !out->is_text) st = err_set(c->dev->err, MLTC_ERR_OUT_OF_MEMORY, "explain: no memory");
    }
    if (!st) {
        memcpy(out->ids, c->h_ids, sizeof *out->ids * (size_t)T);
        int first = c->s.head == HEAD_LMMTC ? lmmtc_prompt_len(K) : 1;
        for (int t = first; t < T - 1; t++) out->is_text[t] = 1;
    }
    if (!st && c->s.head == HEAD_LAM) {
        out->rows = 1;
        out->weights = malloc(sizeof *out->weights * (size_t)T);
        out->best_token = malloc(sizeof *out->best_token * (size_t)K);
        st = out->weights && out->best_token ? lam_explain(c, T, out->weights, out->best_token)
                                             : err_set(c->dev->err, MLTC_ERR_OUT_OF_MEMORY, "explain: no memory");
    } else if (!st) {
        st = attention_rows(c, out);
    }
    if (st) clf_explanation_free(out);
    return st;
}
