/* CPU attention: the scaled masked softmax, its backward, and the fused forward for inference. */
#include <math.h>
#include <omp.h>

#include "core/error.h"
#include "device/cpu/blas.h"
#include "device/cpu/internal.h"
#include "device/cpu/simd.h"

/* Rows [r0, r1) of the scaled masked softmax. Masked keys are 0; a row whose keys are all
 * masked is all 0. The sums run in vector lanes (omp simd), so their rounding differs from a
 * sequential sum by a few ulp, well inside every tolerance. */
CPU_CLONES void cpu_softmax_rows(float *y, const float *x, const float *mask, long r0, long r1, long rows_per_mask,
                                    int cols, float scale) {
    for (long r = r0; r < r1; r++) {
        const float *xr = x + r * cols, *mr = mask ? mask + (r / rows_per_mask) * cols : NULL;
        float *yr = y + r * cols;
        /* Branch-free loops (every exp is computed, masked ones then dropped) so they vectorise. */
        float mx = -INFINITY;
        if (mr) {
#pragma omp simd reduction(max : mx)
            for (int j = 0; j < cols; j++) {
                float v = mr[j] != 0.0f ? scale * xr[j] : -INFINITY;
                mx = v > mx ? v : mx;
            }
        } else {
#pragma omp simd reduction(max : mx)
            for (int j = 0; j < cols; j++) mx = scale * xr[j] > mx ? scale * xr[j] : mx;
        }
        if (mx == -INFINITY) { /* every key masked */
            for (int j = 0; j < cols; j++) yr[j] = 0.0f;
            continue;
        }
        float sum = 0.0f;
        if (mr) {
#pragma omp simd reduction(+ : sum)
            for (int j = 0; j < cols; j++) {
                float e = cpu_expf(scale * xr[j] - mx);
                e = mr[j] != 0.0f ? e : 0.0f;
                yr[j] = e;
                sum += e;
            }
        } else {
#pragma omp simd reduction(+ : sum)
            for (int j = 0; j < cols; j++) {
                float e = cpu_expf(scale * xr[j] - mx);
                yr[j] = e;
                sum += e;
            }
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < cols; j++) yr[j] *= inv;
    }
}

CPU_CLONES static void softmax_backward_rows(float *dx, const float *dy, const float *y, const float *yd, long r0,
                                             long r1, int cols, float scale) {
    for (long r = r0; r < r1; r++) {
        const float *dyr = dy + r * cols, *yr = y + r * cols;
        float *dxr = dx + r * cols;
        float dot = 0.0f;
        if (!yd) {
#pragma omp simd reduction(+ : dot)
            for (int j = 0; j < cols; j++) dot += dyr[j] * yr[j];
            for (int j = 0; j < cols; j++) dxr[j] = scale * yr[j] * (dyr[j] - dot); /* dxr may be dyr */
            continue;
        }
        const float *ydr = yd + r * cols;
#pragma omp simd reduction(+ : dot)
        for (int j = 0; j < cols; j++) dot += dyr[j] * ydr[j];
        for (int j = 0; j < cols; j++) dxr[j] = scale * (ydr[j] * dyr[j] - yr[j] * dot);
    }
}

/* Rows handed to one worker call. */
#define SOFTMAX_ROWS 16

mltc_status cpu_softmax_forward(dev_ctx *ctx, const dev_softmax *s, dev_view yv, dev_view xv) {
    float *y = cpu_f(yv);
    const float *x = cpu_f(xv);
    const float *mask = s->key_mask.buf ? cpu_f(s->key_mask) : NULL;
    long nrows = (long)s->batch * s->heads * s->rows, per_mask = (long)s->heads * s->rows;
    long blocks = (nrows + SOFTMAX_ROWS - 1) / SOFTMAX_ROWS;
#pragma omp parallel for schedule(static)
    for (long b = 0; b < blocks; b++) {
        long r1 = (b + 1) * SOFTMAX_ROWS < nrows ? (b + 1) * SOFTMAX_ROWS : nrows;
        cpu_softmax_rows(y, x, mask, b * SOFTMAX_ROWS, r1, per_mask, s->cols, s->scale);
    }
    return MLTC_OK;
}

mltc_status cpu_softmax_backward(dev_ctx *ctx, const dev_softmax *s, dev_view dxv, dev_view dyv, dev_view yv,
                                 dev_view ydv) {
    float *dx = cpu_f(dxv);
    const float *dy = cpu_f(dyv), *y = cpu_f(yv), *yd = ydv.buf ? cpu_f(ydv) : NULL;
    long nrows = (long)s->batch * s->heads * s->rows;
    long blocks = (nrows + SOFTMAX_ROWS - 1) / SOFTMAX_ROWS;
#pragma omp parallel for schedule(static)
    for (long b = 0; b < blocks; b++) {
        long r1 = (b + 1) * SOFTMAX_ROWS < nrows ? (b + 1) * SOFTMAX_ROWS : nrows;
        softmax_backward_rows(dx, dy, y, yd, b * SOFTMAX_ROWS, r1, s->cols, s->scale);
    }
    return MLTC_OK;
}

/* The fused forward: per problem (sequence x head) the R x T scores are made,
 * put through the softmax and multiplied by the values while they sit in a per-thread tile in
 * cache, instead of three passes over a [B, H, R, T] buffer in memory (at 400 tokens a layer's
 * scores are 245 MB for 32 sequences). The products are the same BLAS calls on the same operands
 * as the three-op path and the softmax is the same code, so the result is identical to it. */
mltc_status cpu_attention_forward(dev_ctx *ctx, const dev_gemm *qk, const dev_softmax *sm, const dev_gemm *pv) {
    int problems = dev_gemm_problems(qk), R = qk->m, T = qk->n;
    dev_precision prec = ctx->matmul_precision;
    /* Spread over the threads, one problem each, where the BLAS then runs on the calling thread
     * (as cpu_matmul does for a batch); otherwise one problem after another, each GEMM threaded. */
    int spread = problems > 1 && cpu_blas_nests_in_openmp();
    int tiles = spread ? omp_get_max_threads() : 1;
    size_t s1 = cpu_gemm_scratch(prec, R, T, qk->k), s2 = cpu_gemm_scratch(prec, R, pv->n, T);
    size_t per = s1 > s2 ? s1 : s2;
    size_t tile_bytes = (sizeof(float) * (size_t)tiles * (size_t)R * (size_t)T + 63) / 64 * 64;
    float *tile = cpu_scratch(ctx, tile_bytes + sizeof(uint16_t) * per * (size_t)tiles);
    if (!tile)
        return err_set(ctx->err, MLTC_ERR_OUT_OF_MEMORY, "attention_forward: %d score tiles of %d x %d", tiles, R, T);
    uint16_t *scratch = per ? (uint16_t *)((char *)tile + tile_bytes) : NULL;
    const float *q = cpu_f(qk->a), *k = cpu_f(qk->b), *v = cpu_f(pv->b);
    const float *mask = sm->key_mask.buf ? cpu_f(sm->key_mask) : NULL;
    float *out = cpu_f(pv->c);
#pragma omp parallel for schedule(static) if (spread)
    for (int p = 0; p < problems; p++) {
        int slot = spread ? omp_get_thread_num() : 0;
        float *s = tile + (size_t)slot * (size_t)R * (size_t)T;
        uint16_t *sc = scratch ? scratch + per * (size_t)slot : NULL;
        cpu_gemm_call scores = {.trans_b = qk->trans_b, .m = R, .n = T, .k = qk->k, .alpha = qk->alpha,
                                .a = q + dev_gemm_offset(qk, qk->stride_a, qk->head_stride_a, p), .lda = qk->lda,
                                .b = k + dev_gemm_offset(qk, qk->stride_b, qk->head_stride_b, p), .ldb = qk->ldb,
                                .beta = 0.0f, .c = s, .ldc = T};
        cpu_gemm(prec, &scores, sc);
        /* every row of this problem takes its sequence's key mask: row r / R = 0 of mask row b */
        cpu_softmax_rows(s, s, mask ? mask + (size_t)(p / sm->heads) * (size_t)T : NULL, 0, R, R, T, sm->scale);
        cpu_gemm_call values = {.trans_b = pv->trans_b, .m = R, .n = pv->n, .k = T, .alpha = pv->alpha, .a = s,
                                .lda = T, .b = v + dev_gemm_offset(pv, pv->stride_b, pv->head_stride_b, p),
                                .ldb = pv->ldb, .beta = pv->beta,
                                .c = out + dev_gemm_offset(pv, pv->stride_c, pv->head_stride_c, p), .ldc = pv->ldc};
        cpu_gemm(prec, &values, sc);
    }
    return MLTC_OK;
}
