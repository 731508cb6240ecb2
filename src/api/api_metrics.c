/* mltc_metrics: the public scores, filled from the internal ones, as JSON, and freed. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api/api_internal.h"

mltc_status api_metrics_export(mltc_error *e, const char *func, const metrics *m, mltc_metrics *out) {
    memset(out, 0, sizeof *out);
    out->hamming_loss = m->hamming_loss;
    out->micro_precision = m->micro_precision;
    out->micro_recall = m->micro_recall;
    out->micro_f1 = m->micro_f1;
    out->macro_f1 = m->macro_f1;
    out->subset_accuracy = m->subset_accuracy;
    out->micro_jaccard = m->micro_jaccard;
    out->n_examples = m->n_examples;
    out->n_labels = m->n_labels;
    out->tp = m->tp;
    out->fp = m->fp;
    out->fn = m->fn;
    if (m->n_labels <= 0 || !m->per_label) return MLTC_OK;
    out->per_label = calloc((size_t)m->n_labels, sizeof *out->per_label);
    if (!out->per_label) return err_set(e, MLTC_ERR_OUT_OF_MEMORY, "%s: out of host memory", func);
    for (int j = 0; j < m->n_labels; j++) {
        const metrics_label *l = &m->per_label[j];
        out->per_label[j] = (mltc_label_metrics){l->precision, l->recall, l->f1, l->support, l->predicted};
    }
    return MLTC_OK;
}

mltc_status api_strings_copy(mltc_error *e, const char *func, char *const *names, int n, char ***out) {
    *out = NULL;
    size_t bytes = (size_t)(n > 0 ? n : 0) * sizeof(char *);
    for (int i = 0; i < n; i++) bytes += strlen(names[i]) + 1;
    char **list = malloc(bytes ? bytes : 1);
    if (!list) return err_set(e, MLTC_ERR_OUT_OF_MEMORY, "%s: out of host memory", func);
    char *text = (char *)(list + (n > 0 ? n : 0));
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]) + 1;
        list[i] = memcpy(text, names[i], len);
        text += len;
    }
    *out = list;
    return MLTC_OK;
}

void mltc_metrics_free(mltc_metrics *m) {
    if (!m) return;
    free(m->per_label);
    m->per_label = NULL;
    free(m->label_names);
    m->label_names = NULL;
}

mltc_status mltc_metrics_json(mltc_ctx *ctx, const mltc_metrics *m, int pretty, char **json) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    if (!json) return api_null(ctx, "mltc_metrics_json", "json");
    *json = NULL;
    if (!m) return api_null(ctx, "mltc_metrics_json", "m");
    if (m->n_bands < 0 || m->n_bands > METRICS_BANDS)
        return err_set(&ctx->err, MLTC_ERR_INVALID_ARGUMENT, "mltc_metrics_json: n_bands %d must be in [0, %d]",
                       m->n_bands, METRICS_BANDS);
    /* The internal writers are the one place that knows the keys; they read only the scalars. */
    const metrics im = {
        .n_examples = m->n_examples,
        .n_labels = m->n_labels,
        .hamming_loss = m->hamming_loss,
        .micro_precision = m->micro_precision,
        .micro_recall = m->micro_recall,
        .micro_f1 = m->micro_f1,
        .macro_f1 = m->macro_f1,
        .subset_accuracy = m->subset_accuracy,
        .micro_jaccard = m->micro_jaccard,
    };
    metrics_band bands[METRICS_BANDS];
    for (int b = 0; b < m->n_bands; b++)
        bands[b] = (metrics_band){m->bands[b].min_train_examples, m->bands[b].max_train_examples, m->bands[b].n_labels,
                                  m->bands[b].support, m->bands[b].micro_f1, m->bands[b].macro_f1};
    cJSON *o = metrics_to_json(&im);
    int ok = o != NULL;
    if (ok && m->n_bands > 0) {
        cJSON *a = metrics_bands_to_json(bands, m->n_bands);
        ok = a && cJSON_AddItemToObject(o, "by_label_frequency", a);
        if (!ok) cJSON_Delete(a);
    }
    char *text = ok ? (pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o)) : NULL;
    cJSON_Delete(o);
    if (!text) return err_set(&ctx->err, MLTC_ERR_OUT_OF_MEMORY, "mltc_metrics_json: out of host memory");
    *json = text;
    return MLTC_OK;
}
