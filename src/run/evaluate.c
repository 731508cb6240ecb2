#include "run/evaluate.h"

#include <stdlib.h>
#include <string.h>

#include "run/batching.h"

mltc_status predict_texts(classifier *c, const char *const *texts, size_t n, int batch, float *probs) {
    dev_ctx *d = classifier_device(c);
    if (!texts || !probs || batch < 1)
        return err_set(d->err, MLTC_ERR_INVALID_ARGUMENT, "predict: texts, probabilities and batch >= 1 needed");
    if (n == 0) return MLTC_OK;
    int K = classifier_num_labels(c);
    int32_t **ids = calloc(n, sizeof *ids);
    int *len = calloc(n, sizeof *len);
    int32_t *order = malloc(n * sizeof *order);
    clf_example *ex = malloc((size_t)batch * sizeof *ex);
    float *out = malloc((size_t)batch * K * sizeof *out);
    mltc_status st = (!ids || !len || !order || !ex || !out)
                         ? err_set(d->err, MLTC_ERR_OUT_OF_MEMORY, "predict: no memory for %zu texts", n)
                         : MLTC_OK;
    for (size_t i = 0; !st && i < n; i++) {
        if (!texts[i]) {
            st = err_set(d->err, MLTC_ERR_INVALID_ARGUMENT, "predict: text %zu is NULL", i);
            break;
        }
        st = classifier_tokenize(c, texts[i], strlen(texts[i]), &ids[i], &len[i]);
        if (st) err_prefix(d->err, "text %zu: ", i);
        order[i] = (int32_t)i;
    }
    /* Similar lengths share a batch: less padding, the same results (rows are independent). */
    if (!st) st = sort_by_length(d->err, order, n, len, 0);
    for (size_t s = 0; !st && s < n; s += (size_t)batch) {
        int B = (int)(n - s < (size_t)batch ? n - s : (size_t)batch);
        for (int b = 0; b < B; b++) ex[b] = (clf_example){ids[order[s + b]], len[order[s + b]], NULL};
        st = classifier_predict(c, ex, B, out);
        for (int b = 0; !st && b < B; b++) memcpy(probs + (size_t)order[s + b] * K, out + (size_t)b * K, 4 * (size_t)K);
    }
    for (size_t i = 0; ids && i < n; i++) free(ids[i]);
    free(ids);
    free(len);
    free(order);
    free(ex);
    free(out);
    return st;
}

mltc_status evaluate_dataset(classifier *c, const dataset *ds, int batch, metrics *out, float *probs) {
    dev_ctx *d = classifier_device(c);
    if (!ds || !out) return err_set(d->err, MLTC_ERR_INVALID_ARGUMENT, "evaluate: dataset and metrics needed");
    int K = classifier_num_labels(c);
    if (ds->n_labels != K)
        return err_set(d->err, MLTC_ERR_INVALID_ARGUMENT, "evaluate: the data has %d labels, the model %d",
                       ds->n_labels, K);
    if (ds->n == 0) return err_set(d->err, MLTC_ERR_INVALID_ARGUMENT, "evaluate: the data has no examples");
    const char **texts = malloc(ds->n * sizeof *texts);
    float *p = probs ? probs : malloc(ds->n * (size_t)K * sizeof *p);
    mltc_status st = (!texts || !p) ? err_set(d->err, MLTC_ERR_OUT_OF_MEMORY, "evaluate: no memory") : MLTC_OK;
    for (size_t i = 0; !st && i < ds->n; i++) texts[i] = ds->ex[i].text;
    if (!st) st = predict_texts(c, texts, ds->n, batch, p);
    if (!st) st = metrics_from_probs(d->err, ds->y, p, ds->n, K, (float)classifier_settings(c)->threshold, out);
    free(texts);
    if (p != probs) free(p);
    return st;
}
