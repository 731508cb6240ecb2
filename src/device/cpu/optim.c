/* CPU global squared norm and fused AdamW. */
#include <math.h>
#include <stdlib.h>

#include "device/cpu/internal.h"
#include "device/cpu/simd.h"

/* Fixed-size chunks summed in a fixed order: the result does not depend on the thread count. */
#define SUMSQ_CHUNK 16384

/* In double, in vector lanes: the order depends only on the chunk and the instruction set. */
CPU_CLONES static double sumsq_chunk(const float *x, size_t n) {
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

mltc_status cpu_sumsq(dev_ctx *ctx, dev_view outv, dev_view xv, size_t n) {
    const float *x = cpu_f(xv);
    size_t nchunks = (n + SUMSQ_CHUNK - 1) / SUMSQ_CHUNK;
    double *partial = malloc(sizeof(double) * nchunks);
    if (!partial) return err_set(ctx->err, MLTC_ERR_OUT_OF_MEMORY, "sumsq: %zu bytes", 8 * nchunks);
#pragma omp parallel for schedule(static)
    for (size_t c = 0; c < nchunks; c++) {
        size_t end = (c + 1) * SUMSQ_CHUNK < n ? (c + 1) * SUMSQ_CHUNK : n;
        partial[c] = sumsq_chunk(x + c * SUMSQ_CHUNK, end - c * SUMSQ_CHUNK);
    }
    double total = 0.0;
    for (size_t c = 0; c < nchunks; c++) total += partial[c];
    free(partial);
    cpu_f(outv)[0] = (float)total;
    return MLTC_OK;
}

CPU_CLONES static void adamw_chunk(float *p, float *m, float *v, const float *g, size_t n, float clip, float beta1,
                                   float beta2, float eps, float step_size, float bc2_sqrt, float decay) {
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * clip;
        m[i] = beta1 * m[i] + (1.0f - beta1) * gi;
        v[i] = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        p[i] = p[i] * decay - step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
    }
}

mltc_status cpu_adamw(dev_ctx *ctx, const dev_adamw_args *a) {
    float *p = cpu_f(a->param), *m = cpu_f(a->m), *v = cpu_f(a->v);
    const float *g = cpu_f(a->grad);
    float clip = 1.0f;
    if (a->sumsq.buf) {
        float norm = sqrtf(cpu_f(a->sumsq)[0]);
        float c = a->max_norm / (norm + 1e-6f);
        clip = c < 1.0f ? c : 1.0f;
    }
    float bc1 = 1.0f - powf(a->beta1, (float)a->step), bc2 = 1.0f - powf(a->beta2, (float)a->step);
    float step_size = a->lr / bc1, bc2_sqrt = sqrtf(bc2), decay = 1.0f - a->lr * a->weight_decay;
    CPU_FOR_CHUNKS(a->n, base, count,
                   adamw_chunk(p + base, m + base, v + base, g + base, count, clip, a->beta1, a->beta2, a->eps,
                               step_size, bc2_sqrt, decay));
    return MLTC_OK;
}
