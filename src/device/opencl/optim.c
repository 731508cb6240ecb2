/* OpenCL global squared norm and fused AdamW (kernels_cl/optim.cl). */
#include <math.h>

#include "device/opencl/internal.h"

#define CTX(ctx) ((ocl_ctx *)(ctx))
/* Elements per stage-1 work-group: the same chunking as the CPU oracle. */
#define SUMSQ_CHUNK 16384
#define SUMSQ_LOCAL 256

mltc_status ocl_sumsq(dev_ctx *ctx, dev_view out, dev_view x, size_t n) {
    ocl_ctx *c = CTX(ctx);
    const char *op = "sumsq";
    size_t acc = c->fp64 ? 8 : 4, nparts = (n + SUMSQ_CHUNK - 1) / SUMSQ_CHUNK;
    cl_mem partial;
    mltc_status st = ocl_scratch(c, nparts * acc, op, &partial);
    if (st != MLTC_OK) return st;

    ocl_launch L;
    if (ocl_begin(&L, c, K_SUMSQ_PARTIAL, op) != MLTC_OK) return L.st;
    size_t local = ocl_group_size(c, K_SUMSQ_PARTIAL, SUMSQ_LOCAL);
    ocl_arg_mem(&L, partial);
    ocl_arg_view(&L, x);
    ocl_arg_ulong(&L, n);
    ocl_arg_ulong(&L, SUMSQ_CHUNK);
    ocl_arg_local(&L, local * acc);
    st = ocl_run_groups(&L, nparts, local);
    if (st != MLTC_OK) return st;

    if (ocl_begin(&L, c, K_SUMSQ_FINAL, op) != MLTC_OK) return L.st;
    local = ocl_group_size(c, K_SUMSQ_FINAL, SUMSQ_LOCAL);
    ocl_arg_view(&L, out);
    ocl_arg_mem(&L, partial);
    ocl_arg_ulong(&L, nparts);
    ocl_arg_local(&L, local * acc);
    return ocl_run_groups(&L, 1, local);
}

mltc_status ocl_adamw(dev_ctx *ctx, const dev_adamw_args *a) {
    /* Step constants on the host, computed exactly as the CPU oracle computes them. */
    float bc1 = 1.0f - powf(a->beta1, (float)a->step), bc2 = 1.0f - powf(a->beta2, (float)a->step);
    float step_size = a->lr / bc1, bc2_sqrt = sqrtf(bc2), decay = 1.0f - a->lr * a->weight_decay;
    int has_clip = a->sumsq.buf != NULL;
    ocl_launch L;
    ocl_begin(&L, CTX(ctx), K_ADAMW, "adamw");
    ocl_arg_view(&L, a->param);
    ocl_arg_view(&L, a->grad);
    ocl_arg_view(&L, a->m);
    ocl_arg_view(&L, a->v);
    ocl_arg_ulong(&L, a->n);
    ocl_arg_float(&L, a->beta1);
    ocl_arg_float(&L, a->beta2);
    ocl_arg_float(&L, a->eps);
    ocl_arg_float(&L, step_size);
    ocl_arg_float(&L, bc2_sqrt);
    ocl_arg_float(&L, decay);
    ocl_arg_view(&L, has_clip ? a->sumsq : a->param); /* any valid buffer when unused */
    ocl_arg_int(&L, has_clip);
    ocl_arg_float(&L, a->max_norm);
    return ocl_run_items(&L, a->n);
}
