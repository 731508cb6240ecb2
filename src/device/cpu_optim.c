/* CPU global squared norm and fused AdamW. */
#include <math.h>
#include <stdlib.h>

#include "device/cpu_internal.h"

/* Fixed-size chunks summed in a fixed order: the result does not depend on the thread count. */
#define SUMSQ_CHUNK 16384

mltc_status cpu_sumsq(dev_ctx *ctx, dev_view outv, dev_view xv, size_t n) {
    const float *x = cpu_f(xv);
    size_t nchunks = (n + SUMSQ_CHUNK - 1) / SUMSQ_CHUNK;
    double *partial = malloc(sizeof(double) * nchunks);
    if (!partial) return err_set(ctx->err, MLTC_ERR_OUT_OF_MEMORY, "sumsq: %zu bytes", 8 * nchunks);
#pragma omp parallel for schedule(static)
    for (size_t c = 0; c < nchunks; c++) {
        size_t end = (c + 1) * SUMSQ_CHUNK < n ? (c + 1) * SUMSQ_CHUNK : n;
        double s = 0.0;
        for (size_t i = c * SUMSQ_CHUNK; i < end; i++) s += (double)x[i] * x[i];
        partial[c] = s;
    }
    double total = 0.0;
    for (size_t c = 0; c < nchunks; c++) total += partial[c];
    free(partial);
    cpu_f(outv)[0] = (float)total;
    return MLTC_OK;
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
#pragma omp parallel for
    for (size_t i = 0; i < a->n; i++) {
        float gi = g[i] * clip;
        m[i] = a->beta1 * m[i] + (1.0f - a->beta1) * gi;
        v[i] = a->beta2 * v[i] + (1.0f - a->beta2) * gi * gi;
        p[i] = p[i] * decay - step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + a->eps);
    }
    return MLTC_OK;
}
