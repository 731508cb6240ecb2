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

static mltc_status check_dataset(classifier *c, const dataset *ds) {
    dev_ctx *d = classifier_device(c);
    if (!ds) return err_set(d->err, MLTC_ERR_INVALID_ARGUMENT, "evaluate: no dataset");
    if (ds->n_labels != classifier_num_labels(c))
        return err_set(d->err, MLTC_ERR_INVALID_ARGUMENT, "evaluate: the data has %d labels, the model %d",
                       ds->n_labels, classifier_num_labels(c));
    if (ds->n == 0) return err_set(d->err, MLTC_ERR_INVALID_ARGUMENT, "evaluate: the data has no examples");
    return MLTC_OK;
}

mltc_status predict_dataset(classifier *c, const dataset *ds, int batch, float *probs) {
    mltc_status st = check_dataset(c, ds);
    if (st) return st;
    const char **texts = malloc(ds->n * sizeof *texts);
    if (!texts) return err_set(classifier_device(c)->err, MLTC_ERR_OUT_OF_MEMORY, "evaluate: no memory");
    for (size_t i = 0; i < ds->n; i++) texts[i] = ds->ex[i].text;
    st = predict_texts(c, texts, ds->n, batch, probs);
    free(texts);
    return st;
}

mltc_status score_probs(classifier *c, const dataset *ds, const float *probs, metrics *out) {
    mltc_status st = check_dataset(c, ds);
    if (st) return st;
    uint8_t *pred = malloc(ds->n * (size_t)classifier_num_labels(c));
    if (!pred)
        return err_set(classifier_device(c)->err, MLTC_ERR_OUT_OF_MEMORY, "evaluate: no memory for %zu predictions",
                       ds->n);
    classifier_decide(c, probs, ds->n, pred);
    st = metrics_compute(classifier_device(c)->err, ds->y, pred, ds->n, classifier_num_labels(c), out);
    free(pred);
    return st;
}

mltc_status evaluate_dataset(classifier *c, const dataset *ds, int batch, metrics *out, float *probs) {
    dev_ctx *d = classifier_device(c);
    if (!out) return err_set(d->err, MLTC_ERR_INVALID_ARGUMENT, "evaluate: no metrics to fill");
    mltc_status st = check_dataset(c, ds);
    if (st) return st;
    float *p = probs ? probs : malloc(ds->n * (size_t)classifier_num_labels(c) * sizeof *p);
    if (!p) return err_set(d->err, MLTC_ERR_OUT_OF_MEMORY, "evaluate: no memory");
    st = predict_dataset(c, ds, batch, p);
    if (!st) st = score_probs(c, ds, p, out);
    if (p != probs) free(p);
    return st;
}
