/* mltc_device_*: a backend device behind an opaque handle. */
#include <stdlib.h>

#include "api/api_internal.h"

mltc_status api_null(mltc_ctx *ctx, const char *func, const char *arg) {
    return err_set(&ctx->err, MLTC_ERR_INVALID_ARGUMENT, "%s: %s is NULL", func, arg);
}

mltc_status mltc_device_open(mltc_ctx *ctx, const char *spec, mltc_device **out) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    if (!out) return api_null(ctx, "mltc_device_open", "out");
    *out = NULL;
    mltc_device *d = calloc(1, sizeof *d);
    if (!d) return err_set(&ctx->err, MLTC_ERR_OUT_OF_MEMORY, "mltc_device_open: out of host memory");
    mltc_status st = dev_open(&ctx->err, spec, &d->dev);
    if (st != MLTC_OK) {
        free(d);
        return st;
    }
    api_unbind(d);
    *out = d;
    return MLTC_OK;
}

void mltc_device_close(mltc_device *dev) {
    if (!dev) return;
    api_unbind(dev);
    dev_close(dev->dev);
    free(dev);
}

const char *mltc_device_id(const mltc_device *dev) { return dev ? dev->dev->id : ""; }

mltc_status mltc_device_set_precision(mltc_ctx *ctx, mltc_device *dev, const char *precision) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    if (!dev) return api_null(ctx, "mltc_device_set_precision", "dev");
    dev_precision p;
    mltc_status st = dev_precision_parse(&ctx->err, precision, &p);
    if (st != MLTC_OK) return st;
    api_bind(dev, ctx);
    st = dev_set_matmul_precision(dev->dev, p);
    api_unbind(dev);
    return st;
}
