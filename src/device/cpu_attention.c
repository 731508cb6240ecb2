/* CPU attention for inference, fused: per problem (sequence x head) the R x T scores are made,
 * put through the softmax and multiplied by the values while they sit in a per-thread tile in
 * cache, instead of three passes over a [B, H, R, T] buffer in memory (at 400 tokens a layer's
 * scores are 245 MB for 32 sequences). The products are the same BLAS calls on the same operands
 * as the three-op path and the softmax is the same code, so the result is identical to it. */
#include <omp.h>
#include <stdlib.h>

#include "core/error.h"
#include "device/cpu_blas.h"
#include "device/cpu_internal.h"

mltc_status cpu_attention_forward(dev_ctx *ctx, const dev_gemm *qk, const dev_softmax *sm, const dev_gemm *pv) {
    int problems = dev_gemm_problems(qk), R = qk->m, T = qk->n;
    /* Spread over the threads, one problem each, where the BLAS then runs on the calling thread
     * (as cpu_matmul does for a batch); otherwise one problem after another, each GEMM threaded. */
    int spread = problems > 1 && cpu_blas_nests_in_openmp();
    int tiles = spread ? omp_get_max_threads() : 1;
    float *tile = malloc(sizeof(float) * (size_t)tiles * (size_t)R * (size_t)T);
    if (!tile)
        return err_set(ctx->err, MLTC_ERR_OUT_OF_MEMORY, "attention_forward: %d score tiles of %d x %d", tiles, R, T);
    const float *q = cpu_f(qk->a), *k = cpu_f(qk->b), *v = cpu_f(pv->b);
    const float *mask = sm->key_mask.buf ? cpu_f(sm->key_mask) : NULL;
    float *out = cpu_f(pv->c);
#pragma omp parallel for schedule(static) if (spread)
    for (int p = 0; p < problems; p++) {
        float *s = tile + (size_t)(spread ? omp_get_thread_num() : 0) * (size_t)R * (size_t)T;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, qk->trans_b ? CblasTrans : CblasNoTrans, R, T, qk->k, qk->alpha,
                    q + dev_gemm_offset(qk, qk->stride_a, qk->head_stride_a, p), qk->lda,
                    k + dev_gemm_offset(qk, qk->stride_b, qk->head_stride_b, p), qk->ldb, 0.0f, s, T);
        /* every row of this problem takes its sequence's key mask: row r / R = 0 of mask row b */
        cpu_softmax_rows(s, s, mask ? mask + (size_t)(p / sm->heads) * (size_t)T : NULL, 0, R, R, T, sm->scale);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, pv->trans_b ? CblasTrans : CblasNoTrans, R, pv->n, T, pv->alpha, s,
                    T, v + dev_gemm_offset(pv, pv->stride_b, pv->head_stride_b, p), pv->ldb, pv->beta,
                    out + dev_gemm_offset(pv, pv->stride_c, pv->head_stride_c, p), pv->ldc);
    }
    free(tile);
    return MLTC_OK;
}
