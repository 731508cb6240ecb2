#include "run/metrics.h"

#include <stdlib.h>
#include <string.h>

/* num / den with sklearn's zero_division=0 convention for an undefined ratio. */
static double ratio(size_t num, size_t den) { return den ? (double)num / (double)den : 0.0; }

mltc_status metrics_compute(mltc_error *e, const uint8_t *gold, const uint8_t *pred, size_t n, int k, metrics *out) {
    if (!out) return err_set(e, MLTC_ERR_INVALID_ARGUMENT, "metrics_compute: null output");
    memset(out, 0, sizeof *out);
    if (!gold || !pred) return err_set(e, MLTC_ERR_INVALID_ARGUMENT, "metrics_compute: null label matrix");
    if (n == 0 || k <= 0)
        return err_set(e, MLTC_ERR_INVALID_ARGUMENT, "metrics_compute: nothing to score (%zu examples, %d labels)", n,
                       k);
    metrics_label *pl = calloc((size_t)k, sizeof *pl);
    if (!pl) return err_set(e, MLTC_ERR_OUT_OF_MEMORY, "metrics_compute: out of memory for %d labels", k);

    size_t exact = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *g = gold + i * (size_t)k, *p = pred + i * (size_t)k;
        int same = 1;
        for (int j = 0; j < k; j++) {
            int gj = g[j] != 0, pj = p[j] != 0;
            pl[j].support += (size_t)gj;
            pl[j].predicted += (size_t)pj;
            pl[j].tp += (size_t)(gj & pj);
            same &= gj == pj;
        }
        exact += (size_t)same;
    }

    size_t tp = 0, fp = 0, fn = 0;
    double f1_sum = 0.0;
    for (int j = 0; j < k; j++) {
        metrics_label *l = &pl[j];
        size_t lfp = l->predicted - l->tp, lfn = l->support - l->tp;
        l->precision = ratio(l->tp, l->predicted);
        l->recall = ratio(l->tp, l->support);
        /* 2TP / (2TP + FP + FN) equals 2PR / (P + R) whenever both are defined, and is what
         * sklearn computes; it stays defined when only one of P and R is. */
        l->f1 = ratio(2 * l->tp, 2 * l->tp + lfp + lfn);
        f1_sum += l->f1;
        tp += l->tp;
        fp += lfp;
        fn += lfn;
    }

    out->n_examples = n;
    out->n_labels = k;
    out->tp = tp;
    out->fp = fp;
    out->fn = fn;
    out->hamming_loss = (double)(fp + fn) / ((double)n * (double)k);
    out->micro_precision = ratio(tp, tp + fp);
    out->micro_recall = ratio(tp, tp + fn);
    out->micro_f1 = ratio(2 * tp, 2 * tp + fp + fn);
    out->macro_f1 = f1_sum / (double)k;
    out->subset_accuracy = (double)exact / (double)n;
    out->micro_jaccard = ratio(tp, tp + fp + fn);
    out->per_label = pl;
    return MLTC_OK;
}

mltc_status metrics_from_probs(mltc_error *e, const uint8_t *gold, const float *probs, size_t n, int k,
                               float threshold, metrics *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!probs || !gold || !out) return err_set(e, MLTC_ERR_INVALID_ARGUMENT, "metrics_from_probs: null argument");
    if (n == 0 || k <= 0)
        return err_set(e, MLTC_ERR_INVALID_ARGUMENT, "metrics_from_probs: nothing to score (%zu examples, %d labels)",
                       n, k);
    size_t total = n * (size_t)k;
    uint8_t *pred = malloc(total);
    if (!pred) return err_set(e, MLTC_ERR_OUT_OF_MEMORY, "metrics_from_probs: out of memory for %zu predictions", total);
    for (size_t i = 0; i < total; i++) pred[i] = probs[i] > threshold; /* NaN compares false: negative */
    mltc_status st = metrics_compute(e, gold, pred, n, k, out);
    free(pred);
    return st;
}

void metrics_free(metrics *m) {
    if (!m) return;
    free(m->per_label);
    memset(m, 0, sizeof *m);
}

cJSON *metrics_to_json(const metrics *m) {
    if (!m) return NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = cJSON_AddNumberToObject(o, "hamming_loss", m->hamming_loss) &&
             cJSON_AddNumberToObject(o, "micro_precision", m->micro_precision) &&
             cJSON_AddNumberToObject(o, "micro_recall", m->micro_recall) &&
             cJSON_AddNumberToObject(o, "micro_f1", m->micro_f1) &&
             cJSON_AddNumberToObject(o, "macro_f1", m->macro_f1) &&
             cJSON_AddNumberToObject(o, "subset_accuracy", m->subset_accuracy) &&
             cJSON_AddNumberToObject(o, "micro_jaccard", m->micro_jaccard) &&
             cJSON_AddNumberToObject(o, "n_examples", (double)m->n_examples) &&
             cJSON_AddNumberToObject(o, "n_labels", (double)m->n_labels);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

char *metrics_json_string(const metrics *m, int pretty) {
    cJSON *o = metrics_to_json(m);
    if (!o) return NULL;
    char *s = pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

void metrics_bands(const metrics *m, const long *counts, metrics_band out[METRICS_BANDS]) {
    static const long bounds[METRICS_BANDS][2] = {{0, 10}, {11, 100}, {101, -1}};
    for (int b = 0; b < METRICS_BANDS; b++) {
        metrics_band *o = &out[b];
        *o = (metrics_band){.lo = bounds[b][0], .hi = bounds[b][1]};
        size_t tp = 0, fp = 0, fn = 0;
        double f1_sum = 0;
        for (int j = 0; j < m->n_labels; j++) {
            if (counts[j] < o->lo || (o->hi >= 0 && counts[j] > o->hi)) continue;
            const metrics_label *l = &m->per_label[j];
            o->n_labels++;
            o->support += l->support;
            tp += l->tp, fp += l->predicted - l->tp, fn += l->support - l->tp;
            f1_sum += l->f1;
        }
        o->micro_f1 = ratio(2 * tp, 2 * tp + fp + fn);
        o->macro_f1 = o->n_labels ? f1_sum / o->n_labels : 0.0;
    }
}

cJSON *metrics_bands_to_json(const metrics_band *bands, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int b = 0; a && b < n; b++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            cJSON_Delete(a);
            return NULL;
        }
        cJSON_AddNumberToObject(o, "min_train_examples", (double)bands[b].lo);
        if (bands[b].hi >= 0) cJSON_AddNumberToObject(o, "max_train_examples", (double)bands[b].hi);
        else cJSON_AddNullToObject(o, "max_train_examples");
        cJSON_AddNumberToObject(o, "n_labels", bands[b].n_labels);
        cJSON_AddNumberToObject(o, "support", (double)bands[b].support);
        cJSON_AddNumberToObject(o, "micro_f1", bands[b].micro_f1);
        cJSON_AddNumberToObject(o, "macro_f1", bands[b].macro_f1);
    }
    return a;
}
