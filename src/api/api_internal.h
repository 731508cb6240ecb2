/* The public handles behind mltc.h, shared by the src/api files. */
#ifndef MLTC_API_INTERNAL_H
#define MLTC_API_INTERNAL_H

#include "core/context.h"
#include "device/device.h"
#include "model/classifier.h"
#include "run/metrics.h"

struct mltc_device {
    dev_ctx *dev;
    /* Where the device reports while no call is under way. During a call its error pointer is
     * bound to the caller's context, so a message always lands where the caller looks, and a
     * destroyed context is never written to afterwards. */
    mltc_error idle_err;
};

struct mltc_model {
    classifier *clf;
    mltc_device *device;
};

/* Examples per forward pass of a loaded model: bounds the activation memory of prediction. */
#define API_PREDICT_BATCH 16

/* Binds dev's error reporting to ctx for the duration of one call; api_unbind restores it. */
static inline void api_bind(mltc_device *d, mltc_ctx *ctx) { d->dev->err = &ctx->err; }
static inline void api_unbind(mltc_device *d) { d->dev->err = &d->idle_err; }

/* A NULL argument: records which one and returns MLTC_ERR_INVALID_ARGUMENT. */
mltc_status api_null(mltc_ctx *ctx, const char *func, const char *arg);
/* A caller's communicator (mltc_train_parallel, mltc_bench_parallel): NULL, or a rank within its
 * size and, with more than one process, every collective call present. */
mltc_status api_check_comm(mltc_ctx *ctx, const char *call, const mltc_comm *comm);

/* Copies internal scores into the public struct; per_label is malloc'd (mltc_metrics_free),
 * label_names left NULL. func names the public call in an out-of-memory message. */
mltc_status api_metrics_export(mltc_error *e, const char *func, const metrics *m, mltc_metrics *out);

/* n strings in one allocation (the pointers, then the texts), so free() releases them all. */
mltc_status api_strings_copy(mltc_error *e, const char *func, char *const *names, int n, char ***out);

#endif
