/* mltc_report and mltc_explain: the pictures of a run and of one prediction. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api/api_internal.h"
#include "model/classifier_explain.h"
#include "report/report.h"
#include "report/report_draw.h"
#include "report/report_explain.h"

void mltc_report_options_default(mltc_report_options *opts) {
    if (!opts) return;
    memset(opts, 0, sizeof *opts);
    opts->examples = 3;
}

const char *mltc_report_drawing_missing(void) { return report_draw_missing(); }

mltc_status mltc_report(mltc_ctx *ctx, mltc_device *dev, const mltc_report_options *opts, char **summary) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    if (summary) *summary = NULL;
    if (!dev) return api_null(ctx, "mltc_report", "dev");
    if (!opts) return api_null(ctx, "mltc_report", "opts");
    if (!opts->run_dir) return api_null(ctx, "mltc_report", "opts->run_dir");
    if (opts->examples < 0)
        return err_set(&ctx->err, MLTC_ERR_INVALID_ARGUMENT, "mltc_report: examples %d must be >= 0", opts->examples);
    report_request q = {.run_dir = opts->run_dir, .data_path = opts->data_path, .out_dir = opts->out_dir,
                        .examples = opts->examples};
    mltc_status st = dataset_format_parse(&ctx->err, opts->format ? opts->format : "auto", &q.data.format);
    if (st) return st;
    api_bind(dev, ctx);
    st = report_build(dev->dev, &q, summary);
    api_unbind(dev);
    return st;
}

mltc_status mltc_explain(mltc_ctx *ctx, mltc_model *model, const char *text, const char *picture_base, char **json) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    if (!json) return api_null(ctx, "mltc_explain", "json");
    *json = NULL;
    if (!model) return api_null(ctx, "mltc_explain", "model");
    if (!text) return api_null(ctx, "mltc_explain", "text");
    classifier *c = model->clf;
    int K = classifier_num_labels(c);
    int32_t *ids = NULL;
    int n = 0;
    clf_explanation x = {0};
    uint8_t *dec = malloc((size_t)K);
    api_bind(model->device, ctx);
    mltc_status st = dec ? classifier_tokenize(c, text, strlen(text), &ids, &n)
                         : err_set(&ctx->err, MLTC_ERR_OUT_OF_MEMORY, "mltc_explain: no memory");
    if (!st) st = classifier_explain(c, ids, n, &x);
    if (!st) classifier_decide(c, x.probs, 1, dec);
    if (!st && picture_base) st = report_explain_picture(&ctx->err, c, &x, dec, NULL, picture_base, NULL, NULL);
    if (!st) {
        cJSON *o = report_explain_json(c, &x, dec);
        *json = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!*json) st = err_set(&ctx->err, MLTC_ERR_OUT_OF_MEMORY, "mltc_explain: no memory for the JSON");
    }
    api_unbind(model->device);
    clf_explanation_free(&x);
    free(ids);
    free(dec);
    return st;
}
