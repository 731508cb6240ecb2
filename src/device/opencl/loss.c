/* OpenCL losses (kernels_cl/loss.cl): cross-entropy one work-group per row, BCE elementwise. */
#include "device/opencl/internal.h"

#define CTX(ctx) ((ocl_ctx *)(ctx))

mltc_status ocl_crossentropy_forward(dev_ctx *ctx, dev_view loss, dev_view logits, dev_view target, int rows,
                                     int vocab) {
    ocl_launch L;
    if (ocl_begin(&L, CTX(ctx), K_CROSSENTROPY_FORWARD, "crossentropy_forward") != MLTC_OK) return L.st;
    size_t local = ocl_row_local(CTX(ctx), K_CROSSENTROPY_FORWARD, vocab);
    ocl_arg_view(&L, loss);
    ocl_arg_view(&L, logits);
    ocl_arg_view(&L, target);
    ocl_arg_int(&L, vocab);
    ocl_arg_local(&L, local * sizeof(float));
    return ocl_run_groups(&L, (size_t)rows, local);
}

mltc_status ocl_crossentropy_backward(dev_ctx *ctx, dev_view dlogits, dev_view logits, dev_view target, int rows,
                                      int vocab, float scale) {
    ocl_launch L;
    if (ocl_begin(&L, CTX(ctx), K_CROSSENTROPY_BACKWARD, "crossentropy_backward") != MLTC_OK) return L.st;
    size_t local = ocl_row_local(CTX(ctx), K_CROSSENTROPY_BACKWARD, vocab);
    ocl_arg_view(&L, dlogits);
    ocl_arg_view(&L, logits);
    ocl_arg_view(&L, target);
    ocl_arg_int(&L, vocab);
    ocl_arg_float(&L, scale);
    ocl_arg_local(&L, local * sizeof(float));
    return ocl_run_groups(&L, (size_t)rows, local);
}

mltc_status ocl_bce_forward(dev_ctx *ctx, dev_view loss, dev_view logits, dev_view targets, size_t n) {
    ocl_launch L;
    ocl_begin(&L, CTX(ctx), K_BCE_FORWARD, "bce_forward");
    ocl_arg_view(&L, loss);
    ocl_arg_view(&L, logits);
    ocl_arg_view(&L, targets);
    ocl_arg_ulong(&L, n);
    return ocl_run_items(&L, n);
}

mltc_status ocl_bce_backward(dev_ctx *ctx, dev_view dlogits, dev_view logits, dev_view targets, size_t n,
                             float scale) {
    ocl_launch L;
    ocl_begin(&L, CTX(ctx), K_BCE_BACKWARD, "bce_backward");
    ocl_arg_view(&L, dlogits);
    ocl_arg_view(&L, logits);
    ocl_arg_view(&L, targets);
    ocl_arg_ulong(&L, n);
    ocl_arg_float(&L, scale);
    return ocl_run_items(&L, n);
}
