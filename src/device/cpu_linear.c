/* CPU matmul (OpenBLAS sgemm, row-major) and bias. */
#include <cblas.h>

#include "device/cpu_internal.h"

mltc_status cpu_matmul(dev_ctx *ctx, const dev_gemm *g) {
    const float *a = cpu_f(g->a), *b = cpu_f(g->b);
    float *c = cpu_f(g->c);
    for (int i = 0; i < g->batch; i++) {
        /* sgemm with beta == 0 overwrites C without reading it, as the interface promises. */
        cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans, g->trans_b ? CblasTrans : CblasNoTrans,
                    g->m, g->n, g->k, g->alpha, a + (size_t)i * g->stride_a, g->lda, b + (size_t)i * g->stride_b,
                    g->ldb, g->beta, c + (size_t)i * g->stride_c, g->ldc);
    }
    return MLTC_OK;
}

mltc_status cpu_bias_add(dev_ctx *ctx, dev_view yv, dev_view biasv, int rows, int cols) {
    float *y = cpu_f(yv);
    const float *bias = cpu_f(biasv);
#pragma omp parallel for
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) y[(size_t)r * cols + c] += bias[c];
    return MLTC_OK;
}

mltc_status cpu_bias_backward(dev_ctx *ctx, dev_view dbiasv, dev_view dyv, int rows, int cols) {
    float *db = cpu_f(dbiasv);
    const float *dy = cpu_f(dyv);
    /* Columns in parallel, rows in order within a column: the same sum on any thread count. */
#pragma omp parallel for
    for (int c = 0; c < cols; c++) {
        float s = 0.0f;
        for (int r = 0; r < rows; r++) s += dy[(size_t)r * cols + c];
        db[c] += s;
    }
    return MLTC_OK;
}
