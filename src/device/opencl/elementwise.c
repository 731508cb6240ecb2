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

mltc_status ocl_bias_backward(dev_ctx *ctx, dev_view dbias, dev_view dy, int rows, int cols) {
    ocl_ctx *c = CTX(ctx);
    const char *op = "bias_backward";
    ocl_launch L;
    /* Few rows: the second stage alone, reading each row of dy as a chunk's partial sum. */
    if (rows <= OCL_COLSUM_SINGLE) return ocl_colsum_final(c, dbias, dy, rows, cols, op);
    int nchunks = (rows + OCL_COLSUM_CHUNK - 1) / OCL_COLSUM_CHUNK;
    cl_mem mem;
    mltc_status st = ocl_scratch(c, (size_t)nchunks * cols * 4, op, &mem);
    if (st != MLTC_OK) return st;
    ocl_buf sb = {{c->scratch_bytes}, mem};
    dev_view part = {&sb.base, 0};
    ocl_begin(&L, c, K_COLSUM_PARTIAL, op);
    ocl_arg_view(&L, part);
    ocl_arg_view(&L, dy);
    ocl_arg_int(&L, rows);
    ocl_arg_int(&L, cols);
    ocl_arg_int(&L, OCL_COLSUM_CHUNK);
    st = ocl_run_items(&L, (size_t)nchunks * cols);
    return st != MLTC_OK ? st : ocl_colsum_final(c, dbias, part, nchunks, cols, op);
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

/* dx and its column sums in one pass: straight into dbias for few rows, else per chunk into
 * scratch and then colsum_final, as bias_backward. */
mltc_status ocl_bias_gelu_backward(dev_ctx *ctx, dev_view dx, dev_view dbias, dev_view dy, dev_view pre, int rows,
                                   int cols) {
    ocl_ctx *c = CTX(ctx);
    const char *op = "bias_gelu_backward";
    int single = rows <= OCL_COLSUM_SINGLE, chunk = single ? rows : OCL_COLSUM_CHUNK;
    int nchunks = (rows + chunk - 1) / chunk;
    dev_view part = dbias;
    ocl_buf sb;
    if (!single) {
        cl_mem mem;
        mltc_status st = ocl_scratch(c, (size_t)nchunks * cols * 4, op, &mem);
        if (st != MLTC_OK) return st;
        sb = (ocl_buf){{c->scratch_bytes}, mem};
        part = (dev_view){&sb.base, 0};
    }
    ocl_launch L;
    ocl_begin(&L, c, K_BIAS_GELU_BACKWARD, op);
    ocl_arg_view(&L, dx);
    ocl_arg_view(&L, part);
    ocl_arg_int(&L, single);
    ocl_arg_view(&L, dy);
    ocl_arg_view(&L, pre);
    ocl_arg_int(&L, rows);
    ocl_arg_int(&L, cols);
    ocl_arg_int(&L, chunk);
    mltc_status st = ocl_run_items(&L, (size_t)nchunks * cols);
    return st != MLTC_OK || single ? st : ocl_colsum_final(c, dbias, part, nchunks, cols, op);
}
