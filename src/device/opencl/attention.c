/* OpenCL attention: the scaled masked softmax and its backward (kernels_cl/softmax.cl), one
 * work-group per row. No fused forward: dev_attention_forward runs the two products and the
 * softmax as three ops. */
#include "device/opencl/internal.h"

#define CTX(ctx) ((ocl_ctx *)(ctx))

mltc_status ocl_softmax_forward(dev_ctx *ctx, const dev_softmax *s, dev_view y, dev_view x) {
    ocl_launch L;
    if (ocl_begin(&L, CTX(ctx), K_SOFTMAX_FORWARD, "softmax_forward") != MLTC_OK) return L.st;
    size_t local = ocl_row_local(CTX(ctx), K_SOFTMAX_FORWARD, s->cols);
    int has_mask = s->key_mask.buf != NULL;
    ocl_arg_view(&L, y);
    ocl_arg_view(&L, x);
    ocl_arg_view(&L, has_mask ? s->key_mask : x); /* any valid buffer when unused */
    ocl_arg_int(&L, has_mask);
    ocl_arg_int(&L, s->heads * s->rows);
    ocl_arg_int(&L, s->cols);
    ocl_arg_float(&L, s->scale);
    ocl_arg_local(&L, local * sizeof(float));
    return ocl_run_groups(&L, (size_t)s->batch * s->heads * s->rows, local);
}

mltc_status ocl_softmax_backward(dev_ctx *ctx, const dev_softmax *s, dev_view dx, dev_view dy, dev_view y,
                                 dev_view yd) {
    ocl_launch L;
    if (ocl_begin(&L, CTX(ctx), K_SOFTMAX_BACKWARD, "softmax_backward") != MLTC_OK) return L.st;
    size_t local = ocl_row_local(CTX(ctx), K_SOFTMAX_BACKWARD, s->cols);
    ocl_arg_view(&L, dx);
    ocl_arg_view(&L, dy);
    ocl_arg_view(&L, y);
    ocl_arg_view(&L, yd.buf ? yd : y); /* a valid buffer either way; has_yd says whether to read it */
    ocl_arg_int(&L, yd.buf != NULL);
    ocl_arg_int(&L, s->cols);
    ocl_arg_float(&L, s->scale);
    ocl_arg_local(&L, local * sizeof(float));
    return ocl_run_groups(&L, (size_t)s->batch * s->heads * s->rows, local);
}
