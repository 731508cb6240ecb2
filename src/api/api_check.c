/* mltc_check_*: the names the library takes, checked before any work. */
#include "api/api_internal.h"
#include "model/settings.h"
#include "run/dataset.h"

mltc_status mltc_check_precision(mltc_ctx *ctx, const char *name) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    dev_precision p;
    return dev_precision_parse(&ctx->err, name, &p);
}

mltc_status mltc_check_format(mltc_ctx *ctx, const char *name) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    dataset_format f;
    return dataset_format_parse(&ctx->err, name ? name : "auto", &f);
}

mltc_status mltc_check_head(mltc_ctx *ctx, const char *name) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    head_kind h;
    return head_kind_parse(&ctx->err, name ? name : "bert", &h);
}
