/* CPU matmul (the BLAS's sgemm, row-major), with the bias folded in. */

#include <omp.h>

#include "core/error.h"
#include "device/cpu/blas.h"
#include "device/cpu/internal.h"
#include "device/cpu/simd.h"

CPU_CLONES static void row_copy(float *dst, const float *src, int n) {
    for (int j = 0; j < n; j++) dst[j] = src[j];
}

CPU_CLONES static void row_add(float *dst, const float *src, int n) {
    for (int j = 0; j < n; j++) dst[j] += src[j];
}

/* Problem p of a (batched) dev_gemm as one call. */
static cpu_gemm_call problem(const dev_gemm *g, int p) {
    return (cpu_gemm_call){.trans_a = g->trans_a, .trans_b = g->trans_b, .m = g->m, .n = g->n, .k = g->k,
                           .alpha = g->alpha, .a = cpu_f(g->a) + dev_gemm_offset(g, g->stride_a, g->head_stride_a, p),
                           .lda = g->lda, .b = cpu_f(g->b) + dev_gemm_offset(g, g->stride_b, g->head_stride_b, p),
                           .ldb = g->ldb, .beta = g->beta,
                           .c = cpu_f(g->c) + dev_gemm_offset(g, g->stride_c, g->head_stride_c, p), .ldc = g->ldc};
}

/* C = A B + bias (batch 1, dense C). With beta == 0 the BLAS would clear C before accumulating
 * onto it; writing the bias there instead and accumulating with beta = 1 saves the read and write
 * of C that adding the bias afterwards costs (5-10% of a 1024 x 1152 x 384 GEMM's time here).
 * (The sum is then bias + the K-block partial sums, in the BLAS's order: a different rounding of
 * the same value.) */
static void matmul_bias(dev_precision prec, const dev_gemm *g, const float *bias, uint16_t *scratch) {
    cpu_gemm_call call = problem(g, 0);
    if (g->beta == 0.0f) {
#pragma omp parallel for schedule(static)
        for (int i = 0; i < g->m; i++) row_copy(call.c + (size_t)i * g->n, bias, g->n);
        call.beta = 1.0f;
    }
    cpu_gemm(prec, &call, scratch);
    if (g->beta != 0.0f) {
#pragma omp parallel for schedule(static)
        for (int i = 0; i < g->m; i++) row_add(call.c + (size_t)i * g->n, bias, g->n);
    }
}

/* A batch of small GEMMs (attention: batch x heads of 128 x 128 x 64) is spread over the threads,
 * one GEMM each, where the BLAS runs single-threaded inside a parallel region; otherwise (OpenBLAS's
 * pthreads build would start its own threads inside ours) every GEMM is split across all threads.
 * bf16 rounds each GEMM's operands into its thread's slot of scratch first. */
mltc_status cpu_matmul(dev_ctx *ctx, const dev_gemm *g) {
    dev_precision prec = ctx->matmul_precision;
    int problems = dev_gemm_problems(g), spread = problems > 1 && cpu_blas_nests_in_openmp();
    size_t per = cpu_gemm_scratch(prec, g->m, g->n, g->k);
    int slots = spread ? omp_get_max_threads() : 1;
    uint16_t *scratch = per ? cpu_scratch(ctx, sizeof *scratch * per * (size_t)slots) : NULL;
    if (per && !scratch)
        return err_set(ctx->err, MLTC_ERR_OUT_OF_MEMORY, "matmul: no memory to round %d x %d and %d x %d to bf16",
                       g->m, g->k, g->k, g->n);
    if (g->bias.buf) {
        matmul_bias(prec, g, cpu_f(g->bias), scratch);
    } else {
#pragma omp parallel for schedule(static) if (spread)
        for (int p = 0; p < problems; p++) {
            /* sgemm with beta == 0 overwrites C without reading it, as the interface promises. */
            cpu_gemm_call call = problem(g, p);
            cpu_gemm(prec, &call, scratch ? scratch + per * (size_t)(spread ? omp_get_thread_num() : 0) : NULL);
        }
    }
    return MLTC_OK;
}
