/* CPU attention: the scaled masked softmax, its backward, and the fused forward for inference. */
#include <math.h>
#include <omp.h>

#include "core/error.h"
#include "device/cpu/blas.h"
#include "device/cpu/internal.h"
#include "device/cpu/simd.h"
#include "device/philox.h"

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

/* ---- fused training attention (dev_attention_train) --------------------------------------- */

/* Element (b, h) of operand x: its first row. */
static float *att_heads_at(const dev_heads *x, int problem, int heads) {
    return cpu_f(x->v) + (size_t)(problem / heads) * (size_t)x->stride + (size_t)(problem % heads) * (size_t)x->head_stride;
}

/* z_j = keep / (1 - p) for the T keys of one probability row, the mask of dropout_forward over the
 * dense [B, H, R, T] buffer, whose element index `first` this row starts at. */
static void att_dropout_row(float *z, int T, float p, uint64_t seed, uint64_t first) {
    float keep_scale = 1.0f / (1.0f - p);
    uint32_t w[4];
    for (int j = 0; j < T; j++) {
        uint64_t idx = first + (uint64_t)j;
        if (j == 0 || (idx & 3) == 0) philox_group(seed, idx >> 2, w);
        z[j] = philox_word_uniform(w[idx & 3]) >= p ? keep_scale : 0.0f;
    }
}

/* Row i of P = exp(s - lse) over the unmasked keys, from the scaled scores in row (in place);
 * with find_lse the row's lse is computed first (forward), else it is read. The forward and the
 * backward both take P from lse, so they agree on it exactly. Branch-free loops (every exp is
 * computed, masked ones then dropped) so they vectorise. */
CPU_CLONES static void att_probs_row(float *row, const float *mask, int T, float *lse, int find_lse) {
    if (find_lse) {
        float mx = -INFINITY, sum = 0.0f;
#pragma omp simd reduction(max : mx)
        for (int j = 0; j < T; j++) {
            float v = !mask || mask[j] != 0.0f ? row[j] : -INFINITY;
            mx = v > mx ? v : mx;
        }
        if (mx == -INFINITY) {
            *lse = MLTC_ATT_NO_KEYS;
        } else {
#pragma omp simd reduction(+ : sum)
            for (int j = 0; j < T; j++) {
                float e = cpu_expf(row[j] - mx);
                sum += !mask || mask[j] != 0.0f ? e : 0.0f;
            }
            *lse = mx + logf(sum);
        }
    }
    float l = *lse;
#pragma omp simd
    for (int j = 0; j < T; j++) {
        float e = cpu_expf(row[j] - l);
        row[j] = !mask || mask[j] != 0.0f ? e : 0.0f;
    }
}

typedef struct att_tiles {
    int spread;             /* problems spread over the threads */
    size_t per_thread;      /* floats of tiles per thread */
    size_t gemm_scratch;    /* uint16 per thread (bf16 matmuls) */
    float *tiles;
    uint16_t *scratch;
} att_tiles;

/* ntiles R x T tiles per thread (one thread when the BLAS cannot run inside a parallel region). */
static mltc_status att_tiles_get(dev_ctx *ctx, const dev_attention_train *a, int ntiles, const char *op,
                                 att_tiles *t) {
    int problems = a->batch * a->heads, R = a->rows, T = a->cols, D = a->dim;
    t->spread = problems > 1 && cpu_blas_nests_in_openmp();
    int threads = t->spread ? omp_get_max_threads() : 1;
    size_t s1 = cpu_gemm_scratch(ctx->matmul_precision, R, T, D), s2 = cpu_gemm_scratch(ctx->matmul_precision, T, D, R);
    t->gemm_scratch = s1 > s2 ? s1 : s2;
    size_t tile = (size_t)R * T * (size_t)ntiles + (size_t)T; /* + one row of dropout factors */
    size_t tile_bytes = (sizeof(float) * tile * (size_t)threads + 63) / 64 * 64;
    t->tiles = cpu_scratch(ctx, tile_bytes + sizeof(uint16_t) * t->gemm_scratch * (size_t)threads);
    if (!t->tiles)
        return err_set(ctx->err, MLTC_ERR_OUT_OF_MEMORY, "%s: %d tiles of %d x %d per thread", op, ntiles, R, T);
    t->scratch = t->gemm_scratch ? (uint16_t *)((char *)t->tiles + tile_bytes) : NULL;
    t->per_thread = tile;
    return MLTC_OK;
}

/* Per problem (sequence x head) the R x T scores are made in a per-thread tile, turned into
 * probabilities (lse kept per row), dropped out and multiplied by the values: the same BLAS products
 * as the reference path, with nothing [B, H, R, T] in memory. */
mltc_status cpu_attention_train_forward(dev_ctx *ctx, const dev_attention_train *a) {
    int problems = a->batch * a->heads, R = a->rows, T = a->cols, D = a->dim;
    att_tiles t;
    TRY(att_tiles_get(ctx, a, 1, "attention_train_forward", &t));
    dev_precision prec = ctx->matmul_precision;
    const float *mask = a->key_mask.buf ? cpu_f(a->key_mask) : NULL;
    float *lse = cpu_f(a->lse);
#pragma omp parallel for schedule(static) if (t.spread)
    for (int pr = 0; pr < problems; pr++) {
        int slot = t.spread ? omp_get_thread_num() : 0;
        float *s = t.tiles + (size_t)slot * t.per_thread, *z = s + (size_t)R * T;
        uint16_t *sc = t.scratch ? t.scratch + t.gemm_scratch * (size_t)slot : NULL;
        const float *mrow = mask ? mask + (size_t)(pr / a->heads) * (size_t)T : NULL;
        cpu_gemm_call scores = {.trans_b = 1, .m = R, .n = T, .k = D, .alpha = a->scale,
                                .a = att_heads_at(&a->q, pr, a->heads), .lda = a->q.ld,
                                .b = att_heads_at(&a->k, pr, a->heads), .ldb = a->k.ld, .c = s, .ldc = T};
        cpu_gemm(prec, &scores, sc);
        for (int i = 0; i < R; i++) {
            float *row = s + (size_t)i * T;
            att_probs_row(row, mrow, T, &lse[(size_t)pr * R + i], 1);
            if (a->p > 0.0f) {
                att_dropout_row(z, T, a->p, a->seed, a->offset + ((uint64_t)pr * R + (uint64_t)i) * (uint64_t)T);
                for (int j = 0; j < T; j++) row[j] *= z[j];
            }
        }
        cpu_gemm_call values = {.m = R, .n = D, .k = T, .alpha = 1.0f, .a = s, .lda = T,
                                .b = att_heads_at(&a->v, pr, a->heads), .ldb = a->v.ld,
                                .c = att_heads_at(&a->out, pr, a->heads), .ldc = a->out.ld};
        cpu_gemm(prec, &values, sc);
    }
    return MLTC_OK;
}

/* Per problem: P again from the scores and lse, dP = dout V^T, then in one pass over each row
 * ds = P (z dP - delta) and P z; the four products dV = (P z)^T dout, dQ = scale ds K,
 * dK = scale ds^T Q. A problem writes only its own head's rows of dq, dk and dv. */
mltc_status cpu_attention_train_backward(dev_ctx *ctx, const dev_attention_train *a, const dev_attention_grads *g) {
    int problems = a->batch * a->heads, R = a->rows, T = a->cols, D = a->dim, H = a->heads;
    att_tiles t;
    TRY(att_tiles_get(ctx, a, 2, "attention_train_backward", &t));
    dev_precision prec = ctx->matmul_precision;
    const float *mask = a->key_mask.buf ? cpu_f(a->key_mask) : NULL;
    float *lse = cpu_f(a->lse), *delta = cpu_f(a->delta);
#pragma omp parallel for schedule(static) if (t.spread)
    for (int pr = 0; pr < problems; pr++) {
        int slot = t.spread ? omp_get_thread_num() : 0;
        float *pz = t.tiles + (size_t)slot * t.per_thread, *ds = pz + (size_t)R * T, *z = ds + (size_t)R * T;
        uint16_t *sc = t.scratch ? t.scratch + t.gemm_scratch * (size_t)slot : NULL;
        const float *mrow = mask ? mask + (size_t)(pr / H) * (size_t)T : NULL;
        const float *q = att_heads_at(&a->q, pr, H), *k = att_heads_at(&a->k, pr, H), *v = att_heads_at(&a->v, pr, H);
        const float *o = att_heads_at(&a->out, pr, H), *dout = att_heads_at(&g->dout, pr, H);
        cpu_gemm_call scores = {.trans_b = 1, .m = R, .n = T, .k = D, .alpha = a->scale, .a = q, .lda = a->q.ld,
                                .b = k, .ldb = a->k.ld, .c = pz, .ldc = T};
        cpu_gemm(prec, &scores, sc);
        cpu_gemm_call dp = {.trans_b = 1, .m = R, .n = T, .k = D, .alpha = 1.0f, .a = dout, .lda = g->dout.ld,
                            .b = v, .ldb = a->v.ld, .c = ds, .ldc = T};
        cpu_gemm(prec, &dp, sc);
        for (int i = 0; i < R; i++) {
            float *prow = pz + (size_t)i * T, *drow = ds + (size_t)i * T;
            const float *oi = o + (size_t)i * a->out.ld, *gi = dout + (size_t)i * g->dout.ld;
            float di = 0.0f;
            for (int d = 0; d < D; d++) di += gi[d] * oi[d];
            delta[(size_t)pr * R + i] = di;
            att_probs_row(prow, mrow, T, &lse[(size_t)pr * R + i], 0);
            if (a->p > 0.0f)
                att_dropout_row(z, T, a->p, a->seed, a->offset + ((uint64_t)pr * R + (uint64_t)i) * (uint64_t)T);
            for (int j = 0; j < T; j++) {
                float zj = a->p > 0.0f ? z[j] : 1.0f;
                drow[j] = prow[j] * (zj * drow[j] - di);
                prow[j] *= zj;
            }
        }
        cpu_gemm_call dv = {.trans_a = 1, .m = T, .n = D, .k = R, .alpha = 1.0f, .a = pz, .lda = T, .b = dout,
                            .ldb = g->dout.ld, .c = att_heads_at(&g->dv, pr, H), .ldc = g->dv.ld};
        cpu_gemm(prec, &dv, sc);
        cpu_gemm_call dq = {.m = R, .n = D, .k = T, .alpha = a->scale, .a = ds, .lda = T, .b = k, .ldb = a->k.ld,
                            .c = att_heads_at(&g->dq, pr, H), .ldc = g->dq.ld};
        cpu_gemm(prec, &dq, sc);
        cpu_gemm_call dk = {.trans_a = 1, .m = T, .n = D, .k = R, .alpha = a->scale, .a = ds, .lda = T, .b = q,
                            .ldb = a->q.ld, .c = att_heads_at(&g->dk, pr, H), .ldc = g->dk.ld};
        cpu_gemm(prec, &dk, sc);
    }
    return MLTC_OK;
}
