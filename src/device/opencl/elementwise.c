/* OpenCL elementwise ops: GELU, dropout, axpby, bias (kernels_cl/elementwise.cl). */
#include "device/opencl/internal.h"

#define CTX(ctx) ((ocl_ctx *)(ctx))

mltc_status ocl_gelu_forward(dev_ctx *ctx, dev_view y, dev_view x, size_t n) {
    ocl_launch L;
    ocl_begin(&L, CTX(ctx), K_GELU_FORWARD, "gelu_forward");
    ocl_arg_view(&L, y);
    ocl_arg_view(&L, x);
    ocl_arg_ulong(&L, n);
    return ocl_run_items(&L, n);
}

mltc_status ocl_gelu_backward(dev_ctx *ctx, dev_view dx, dev_view dy, dev_view x, size_t n) {
    ocl_launch L;
    ocl_begin(&L, CTX(ctx), K_GELU_BACKWARD, "gelu_backward");
    ocl_arg_view(&L, dx);
    ocl_arg_view(&L, dy);
    ocl_arg_view(&L, x);
    ocl_arg_ulong(&L, n);
    return ocl_run_items(&L, n);
}

mltc_status ocl_dropout_forward(dev_ctx *ctx, dev_view y, dev_view x, size_t n, float p, uint64_t seed,
                                uint64_t offset) {
    ocl_launch L;
    ocl_begin(&L, CTX(ctx), K_DROPOUT_FORWARD, "dropout_forward");
    ocl_arg_view(&L, y);
    ocl_arg_view(&L, x);
    ocl_arg_ulong(&L, n);
    ocl_arg_float(&L, p);
    ocl_arg_ulong(&L, seed);
    ocl_arg_ulong(&L, offset);
    return ocl_run_items(&L, n);
}

mltc_status ocl_axpby(dev_ctx *ctx, dev_view y, float alpha, dev_view a, float beta, dev_view b, size_t n) {
    ocl_launch L;
    ocl_begin(&L, CTX(ctx), K_AXPBY, "axpby");
    ocl_arg_view(&L, y);
    ocl_arg_float(&L, alpha);
    ocl_arg_view(&L, a);
    ocl_arg_float(&L, beta);
    ocl_arg_view(&L, b);
    ocl_arg_ulong(&L, n);
    return ocl_run_items(&L, n);
}

mltc_status ocl_bias_add(dev_ctx *ctx, dev_view y, dev_view bias, int rows, int cols) {
    size_t n = (size_t)rows * cols;
    ocl_launch L;
    ocl_begin(&L, CTX(ctx), K_BIAS_ADD, "bias_add");
    ocl_arg_view(&L, y);
    ocl_arg_view(&L, bias);
    ocl_arg_ulong(&L, n);
    ocl_arg_int(&L, cols);
    return ocl_run_items(&L, n);
}

mltc_status ocl_colsum_final(ocl_ctx *c, dev_view dst, dev_view part, int nchunks, int cols, const char *op) {
    ocl_launch L;
    ocl_begin(&L, c, K_COLSUM_FINAL, op);
    ocl_arg_view(&L, dst);
    ocl_arg_view(&L, part);
    ocl_arg_int(&L, nchunks);
    ocl_arg_int(&L, cols);
    return ocl_run_items(&L, (size_t)cols);
}

/* The column sums in one kernel over all the rows (colsum_lanes). */
mltc_status ocl_bias_backward(dev_ctx *ctx, dev_view dbias, dev_view dy, int rows, int cols) {
    ocl_ctx *c = CTX(ctx);
    size_t local, groups;
    int cg = ocl_colsum_shape(c, K_COLSUM_LANES, cols, &local, &groups);
    ocl_launch L;
    ocl_begin(&L, c, K_COLSUM_LANES, "bias_backward");
    ocl_arg_view(&L, dbias);
    ocl_arg_view(&L, dy);
    ocl_arg_int(&L, rows);
    ocl_arg_int(&L, cols);
    ocl_arg_int(&L, cg);
    ocl_arg_local(&L, 3 * local * sizeof(float));
    return ocl_run_groups(&L, groups, local);
}

mltc_status ocl_bias_gelu_forward(dev_ctx *ctx, dev_view y, dev_view pre, dev_view bias, int rows, int cols) {
    size_t n = (size_t)rows * cols;
    ocl_launch L;
    ocl_begin(&L, CTX(ctx), K_BIAS_GELU_FORWARD, "bias_gelu_forward");
    ocl_arg_view(&L, y);
    ocl_arg_view(&L, pre);
    ocl_arg_view(&L, bias);
    ocl_arg_ulong(&L, n);
    ocl_arg_int(&L, cols);
    return ocl_run_items(&L, n);
}

/* dx and its column sums in one kernel over all the rows. */
mltc_status ocl_bias_gelu_backward(dev_ctx *ctx, dev_view dx, dev_view dbias, dev_view dy, dev_view pre, int rows,
                                   int cols) {
    ocl_ctx *c = CTX(ctx);
    size_t local, groups;
    int cg = ocl_colsum_shape(c, K_BIAS_GELU_BACKWARD, cols, &local, &groups);
    ocl_launch L;
    ocl_begin(&L, c, K_BIAS_GELU_BACKWARD, "bias_gelu_backward");
    ocl_arg_view(&L, dx);
    ocl_arg_view(&L, dbias);
    ocl_arg_view(&L, dy);
    ocl_arg_view(&L, pre);
    ocl_arg_int(&L, rows);
    ocl_arg_int(&L, cols);
    ocl_arg_int(&L, cg);
    ocl_arg_local(&L, 3 * local * sizeof(float));
    return ocl_run_groups(&L, groups, local);
}
