/* OpenCL attention: the scaled masked softmax and its backward (kernels_cl/softmax.cl), one
 * work-group per row, and the fused training attention (kernels_cl/flash_attention.cl). No fused
 * inference forward: dev_attention_forward runs the two products and the softmax as three ops. */
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

/* ---- fused training attention (kernels_cl/flash_attention.cl) ---------------------------- */

/* Work-items a group and rows a group covers, as the kernels' FA_ROWS. */
#define FA_ROWS 64

/* The shape, layouts and dropout arguments every flash kernel ends with. */
static void fa_tail_args(ocl_launch *L, const dev_attention_train *a) {
    ocl_arg_int(L, a->key_mask.buf != NULL);
    ocl_arg_int(L, a->heads);
    ocl_arg_int(L, a->rows);
    ocl_arg_int(L, a->cols);
    ocl_arg_int(L, a->dim);
    ocl_arg_int(L, a->q.ld);
    ocl_arg_ulong(L, (uint64_t)a->q.stride);
    ocl_arg_int(L, a->k.ld);
    ocl_arg_ulong(L, (uint64_t)a->k.stride);
    ocl_arg_int(L, a->v.ld);
    ocl_arg_ulong(L, (uint64_t)a->v.stride);
    ocl_arg_int(L, a->out.ld);
    ocl_arg_ulong(L, (uint64_t)a->out.stride);
    ocl_arg_float(L, a->scale);
    ocl_arg_float(L, a->p);
    ocl_arg_ulong(L, a->seed);
    ocl_arg_ulong(L, a->offset);
}

static size_t fa_groups(const dev_attention_train *a, int rows) {
    return (size_t)a->batch * a->heads * (size_t)((rows + FA_ROWS - 1) / FA_ROWS);
}

mltc_status ocl_attention_train_forward(dev_ctx *ctx, const dev_attention_train *a) {
    ocl_launch L;
    if (ocl_begin(&L, CTX(ctx), K_FLASH_ATTENTION_FORWARD, "attention_train_forward") != MLTC_OK) return L.st;
    ocl_arg_view(&L, a->q.v);
    ocl_arg_view(&L, a->k.v);
    ocl_arg_view(&L, a->v.v);
    ocl_arg_view(&L, a->out.v);
    ocl_arg_view(&L, a->lse);
    ocl_arg_view(&L, a->key_mask.buf ? a->key_mask : a->lse); /* any valid buffer when unused */
    fa_tail_args(&L, a);
    return ocl_run_groups(&L, fa_groups(a, a->rows), FA_ROWS);
}

/* Two kernels: dq (writing delta on the way), then dk and dv, which read delta. */
mltc_status ocl_attention_train_backward(dev_ctx *ctx, const dev_attention_train *a, const dev_attention_grads *g) {
    dev_view mask = a->key_mask.buf ? a->key_mask : a->lse;
    ocl_launch L;
    if (ocl_begin(&L, CTX(ctx), K_FLASH_ATTENTION_DQ, "attention_train_backward") != MLTC_OK) return L.st;
    ocl_arg_view(&L, a->q.v);
    ocl_arg_view(&L, a->k.v);
    ocl_arg_view(&L, a->v.v);
    ocl_arg_view(&L, a->out.v);
    ocl_arg_view(&L, g->dout.v);
    ocl_arg_view(&L, g->dq.v);
    ocl_arg_view(&L, a->lse);
    ocl_arg_view(&L, a->delta);
    ocl_arg_view(&L, mask);
    fa_tail_args(&L, a);
    mltc_status st = ocl_run_groups(&L, fa_groups(a, a->rows), FA_ROWS);
    if (st != MLTC_OK) return st;
    if (ocl_begin(&L, CTX(ctx), K_FLASH_ATTENTION_DKDV, "attention_train_backward") != MLTC_OK) return L.st;
    ocl_arg_view(&L, a->q.v);
    ocl_arg_view(&L, a->k.v);
    ocl_arg_view(&L, a->v.v);
    ocl_arg_view(&L, g->dout.v);
    ocl_arg_view(&L, g->dk.v);
    ocl_arg_view(&L, g->dv.v);
    ocl_arg_view(&L, a->lse);
    ocl_arg_view(&L, a->delta);
    ocl_arg_view(&L, mask);
    fa_tail_args(&L, a);
    return ocl_run_groups(&L, fa_groups(a, a->cols), FA_ROWS);
}
