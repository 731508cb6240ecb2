/* mltc_score_files and mltc_data_header_labels: scoring two label files, no model involved. */
#include <string.h>

#include "api/api_internal.h"
#include "model/labels.h"
#include "run/dataset.h"

mltc_status mltc_data_header_labels(mltc_ctx *ctx, const char *path, char ***names, int *count) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    if (!names) return api_null(ctx, "mltc_data_header_labels", "names");
    *names = NULL;
    if (!count) return api_null(ctx, "mltc_data_header_labels", "count");
    *count = 0;
    if (!path) return api_null(ctx, "mltc_data_header_labels", "path");
    labels lbl = {0};
    mltc_status st = dataset_header_labels(&ctx->err, path, &lbl);
    if (st == MLTC_OK) st = api_strings_copy(&ctx->err, "mltc_data_header_labels", lbl.names, lbl.count, names);
    if (st == MLTC_OK) *count = lbl.count;
    labels_free(&lbl);
    return st;
}

/* The label set: the labels file, else the gold file's tsv-columns header. */
static mltc_status load_labels(mltc_error *e, const char *labels_path, const char *gold_path, dataset_format format,
                               labels *out) {
    if (labels_path) return labels_load(e, labels_path, out);
    if (format == DATASET_JSONL || format == DATASET_TSV)
        return err_set(e, MLTC_ERR_INVALID_ARGUMENT,
                       "mltc_score_files: labels_path is NULL, and %s data has no header to name the labels",
                       dataset_format_name(format));
    mltc_status st = dataset_header_labels(e, gold_path, out);
    if (st != MLTC_OK)
        err_prefix(e, "mltc_score_files: labels_path is NULL, and gold_path is not a tsv-columns file with a header "
                      "that names the labels: ");
    return st;
}

mltc_status mltc_score_files(mltc_ctx *ctx, const char *gold_path, const char *pred_path, const char *labels_path,
                             const char *format, mltc_metrics *out) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    if (!out) return api_null(ctx, "mltc_score_files", "out");
    memset(out, 0, sizeof *out);
    if (!gold_path) return api_null(ctx, "mltc_score_files", "gold_path");
    if (!pred_path) return api_null(ctx, "mltc_score_files", "pred_path");
    mltc_error *e = &ctx->err;
    dataset_options opt = {0};
    mltc_status st = dataset_format_parse(e, format ? format : "auto", &opt.format);
    if (st != MLTC_OK) return st;
    labels lbl = {0};
    dataset gold = {0}, pred = {0};
    metrics m = {0};
    st = load_labels(e, labels_path, gold_path, opt.format, &lbl);
    if (st == MLTC_OK) st = dataset_load(e, gold_path, &lbl, &opt, &gold);
    if (st == MLTC_OK) st = dataset_load(e, pred_path, &lbl, &opt, &pred);
    if (st == MLTC_OK && gold.n != pred.n)
        st = err_set(e, MLTC_ERR_PARSE, "%s has %zu examples but %s has %zu; they must match one for one", gold_path,
                     gold.n, pred_path, pred.n);
    if (st == MLTC_OK && gold.n == 0) st = err_set(e, MLTC_ERR_PARSE, "%s: no examples to score", gold_path);
    if (st == MLTC_OK) st = metrics_compute(e, gold.y, pred.y, gold.n, lbl.count, &m);
    if (st == MLTC_OK) st = api_metrics_export(e, "mltc_score_files", &m, out);
    if (st == MLTC_OK) st = api_strings_copy(e, "mltc_score_files", lbl.names, lbl.count, &out->label_names);
    if (st != MLTC_OK) mltc_metrics_free(out);
    metrics_free(&m);
    dataset_free(&pred);
    dataset_free(&gold);
    labels_free(&lbl);
    return st;
}
