/* mltc_model_*, mltc_predict, mltc_evaluate: a trained classifier behind an opaque handle. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/platform.h"
#include "run/data_parallel.h"
#include "run/evaluate.h"

mltc_status mltc_model_load(mltc_ctx *ctx, mltc_device *dev, const char *dir, mltc_model **out) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    if (!out) return api_null(ctx, "mltc_model_load", "out");
    *out = NULL;
    if (!dev) return api_null(ctx, "mltc_model_load", "dev");
    if (!dir) return api_null(ctx, "mltc_model_load", "dir");
    /* Checked here so the message is the same whatever file the loader would try first. */
    int is_dir = plat_is_dir(dir);
    if (is_dir < 0)
        return err_set(&ctx->err, MLTC_ERR_IO, "checkpoint folder %s: %s", dir, strerror(errno));
    if (!is_dir)
        return err_set(&ctx->err, MLTC_ERR_IO, "checkpoint folder %s: not a directory", dir);
    mltc_model *m = calloc(1, sizeof *m);
    if (!m) return err_set(&ctx->err, MLTC_ERR_OUT_OF_MEMORY, "mltc_model_load: out of host memory");
    api_bind(dev, ctx);
    mltc_status st = classifier_load(dev->dev, dir, API_PREDICT_BATCH, 0, &m->clf);
    api_unbind(dev);
    if (st != MLTC_OK) {
        if (!ctx->err.msg[0]) err_set(&ctx->err, st, "loading checkpoint %s failed", dir);
        free(m);
        return st;
    }
    m->device = dev;
    *out = m;
    return MLTC_OK;
}

void mltc_model_free(mltc_model *model) {
    if (!model) return;
    /* Freeing device buffers may report; keep that away from any caller's context. */
    api_unbind(model->device);
    classifier_free(model->clf);
    free(model);
}

int mltc_model_num_labels(const mltc_model *model) { return model ? classifier_num_labels(model->clf) : 0; }

const char *mltc_model_label_name(const mltc_model *model, int index) {
    if (!model) return NULL;
    const labels *l = classifier_labels(model->clf);
    return index >= 0 && index < l->count ? l->names[index] : NULL;
}

float mltc_model_threshold(const mltc_model *model) {
    return model ? (float)classifier_settings(model->clf)->threshold : 0.5f;
}

float mltc_model_label_threshold(const mltc_model *model, int index) {
    if (!model || index < 0 || index >= classifier_num_labels(model->clf)) return -1.0f;
    return classifier_thresholds(model->clf)[index];
}

int mltc_model_min_labels(const mltc_model *model) { return model ? classifier_settings(model->clf)->min_labels : 0; }

long mltc_model_label_count(const mltc_model *model, int index) {
    if (!model || index < 0 || index >= classifier_num_labels(model->clf)) return -1;
    const long *counts = classifier_label_counts(model->clf, NULL);
    return counts ? counts[index] : -1;
}

mltc_status mltc_model_set_min_labels(mltc_ctx *ctx, mltc_model *model, int min_labels) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    if (!model) return api_null(ctx, "mltc_model_set_min_labels", "model");
    if (min_labels < 0)
        return err_set(&ctx->err, MLTC_ERR_INVALID_ARGUMENT, "mltc_model_set_min_labels: %d must be >= 0", min_labels);
    classifier_set_min_labels(model->clf, min_labels);
    return MLTC_OK;
}

mltc_status mltc_decide(mltc_ctx *ctx, const mltc_model *model, const float *probs, size_t n, uint8_t *decisions) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    if (!model) return api_null(ctx, "mltc_decide", "model");
    if (n == 0) return MLTC_OK;
    if (!probs) return api_null(ctx, "mltc_decide", "probs");
    if (!decisions) return api_null(ctx, "mltc_decide", "decisions");
    classifier_decide(model->clf, probs, n, decisions);
    return MLTC_OK;
}

mltc_status mltc_model_set_threshold(mltc_ctx *ctx, mltc_model *model, float threshold) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    if (!model) return api_null(ctx, "mltc_model_set_threshold", "model");
    if (!(threshold >= 0.0f && threshold <= 1.0f))
        return err_set(&ctx->err, MLTC_ERR_INVALID_ARGUMENT,
                       "mltc_model_set_threshold: threshold %g must be in [0, 1] (a label is predicted iff p > it)",
                       (double)threshold);
    classifier_set_threshold(model->clf, threshold);
    return MLTC_OK;
}

const char *mltc_model_head(const mltc_model *model) {
    return model ? head_kind_name(classifier_settings(model->clf)->head) : "";
}

mltc_status mltc_predict(mltc_ctx *ctx, mltc_model *model, const char *const *texts, size_t n, float *probs) {
    return mltc_predict_parallel(ctx, model, texts, n, NULL, probs);
}

mltc_status mltc_predict_parallel(mltc_ctx *ctx, mltc_model *model, const char *const *texts, size_t n,
                                  const mltc_comm *comm, float *probs) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    TRY(api_check_comm(ctx, "mltc_predict_parallel", comm));
    if (!model) return api_null(ctx, "mltc_predict", "model");
    if (n == 0) return MLTC_OK;
    if (!texts) return api_null(ctx, "mltc_predict", "texts");
    if (!probs) return api_null(ctx, "mltc_predict", "probs");
    for (size_t i = 0; i < n; i++)
        if (!texts[i])
            return err_set(&ctx->err, MLTC_ERR_INVALID_ARGUMENT, "mltc_predict: texts[%zu] is NULL", i);
    dp_group g;
    dp_init(&g, comm, &ctx->err);
    api_bind(model->device, ctx);
    mltc_status st = dp_predict_texts(&g, model->clf, texts, n, API_PREDICT_BATCH, probs);
    api_unbind(model->device);
    dp_free(&g);
    return st;
}

mltc_status mltc_evaluate(mltc_ctx *ctx, mltc_model *model, const char *data_path, const char *format,
                          mltc_metrics *out) {
    return mltc_evaluate_parallel(ctx, model, data_path, format, NULL, out);
}

mltc_status mltc_evaluate_parallel(mltc_ctx *ctx, mltc_model *model, const char *data_path, const char *format,
                                   const mltc_comm *comm, mltc_metrics *out) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    TRY(api_check_comm(ctx, "mltc_evaluate_parallel", comm));
    if (!out) return api_null(ctx, "mltc_evaluate", "out");
    memset(out, 0, sizeof *out);
    if (!model) return api_null(ctx, "mltc_evaluate", "model");
    if (!data_path) return api_null(ctx, "mltc_evaluate", "data_path");
    dataset_options opt = {0};
    mltc_status st = dataset_format_parse(&ctx->err, format ? format : "auto", &opt.format);
    if (st != MLTC_OK) return st;
    dataset d = {0};
    dp_group g;
    dp_init(&g, comm, &ctx->err);
    st = dataset_load(&ctx->err, data_path, classifier_labels(model->clf), &opt, &d);
    st = dp_agree(&g, st, "reading the data");
    if (st != MLTC_OK) {
        dataset_free(&d);
        dp_free(&g);
        return st;
    }
    if (d.n == 0) {
        dataset_free(&d);
        dp_free(&g);
        return err_set(&ctx->err, MLTC_ERR_PARSE, "%s: no examples to evaluate", data_path);
    }
    metrics m = {0};
    api_bind(model->device, ctx);
    st = dp_evaluate(&g, model->clf, &d, API_PREDICT_BATCH, &m);
    api_unbind(model->device);
    if (st == MLTC_OK) st = api_metrics_export(&ctx->err, "mltc_evaluate", &m, out);
    const labels *lbl = classifier_labels(model->clf);
    if (st == MLTC_OK) st = api_strings_copy(&ctx->err, "mltc_evaluate", lbl->names, lbl->count, &out->label_names);
    const long *counts = classifier_label_counts(model->clf, NULL);
    if (st == MLTC_OK && counts) {
        metrics_band bands[METRICS_BANDS];
        metrics_bands(&m, counts, bands);
        out->n_bands = METRICS_BANDS;
        for (int b = 0; b < METRICS_BANDS; b++)
            out->bands[b] = (struct mltc_frequency_band){bands[b].lo, bands[b].hi, bands[b].n_labels,
                                                         bands[b].support, bands[b].micro_f1, bands[b].macro_f1};
    }
    if (st != MLTC_OK) mltc_metrics_free(out);
    metrics_free(&m);
    dataset_free(&d);
    dp_free(&g);
    return st;
}
