/* CPU elementwise ops: copy, fill, GELU, dropout, axpby, permute. */
#include <math.h>
#include <string.h>

#include "device/cpu_internal.h"
#include "device/philox.h"

mltc_status cpu_copy(dev_ctx *ctx, dev_view dst, dev_view src, size_t n) {
    memmove(cpu_f(dst), cpu_f(src), n * sizeof(float));
    return MLTC_OK;
}

mltc_status cpu_fill(dev_ctx *ctx, dev_view dst, size_t n, float value) {
    float *d = cpu_f(dst);
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) d[i] = value;
    return MLTC_OK;
}

#define INV_SQRT2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

mltc_status cpu_gelu_forward(dev_ctx *ctx, dev_view yv, dev_view xv, size_t n) {
    float *y = cpu_f(yv);
    const float *x = cpu_f(xv);
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * INV_SQRT2));
    return MLTC_OK;
}

mltc_status cpu_gelu_backward(dev_ctx *ctx, dev_view dxv, dev_view dyv, dev_view xv, size_t n) {
    float *dx = cpu_f(dxv);
    const float *dy = cpu_f(dyv), *x = cpu_f(xv);
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) {
        float cdf = 0.5f * (1.0f + erff(x[i] * INV_SQRT2));
        float pdf = INV_SQRT_2PI * expf(-0.5f * x[i] * x[i]);
        dx[i] += dy[i] * (cdf + x[i] * pdf);
    }
    return MLTC_OK;
}

mltc_status cpu_dropout_forward(dev_ctx *ctx, dev_view yv, dev_view xv, size_t n, float p, uint64_t seed,
                                uint64_t offset) {
    float *y = cpu_f(yv);
    const float *x = cpu_f(xv);
    float scale = 1.0f / (1.0f - p);
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) y[i] = philox_uniform(seed, offset + i) >= p ? x[i] * scale : 0.0f;
    return MLTC_OK;
}

mltc_status cpu_dropout_backward(dev_ctx *ctx, dev_view dxv, dev_view dyv, size_t n, float p, uint64_t seed,
                                 uint64_t offset) {
    float *dx = cpu_f(dxv);
    const float *dy = cpu_f(dyv);
    float scale = 1.0f / (1.0f - p);
#pragma omp parallel for
    for (size_t i = 0; i < n; i++)
        if (philox_uniform(seed, offset + i) >= p) dx[i] += dy[i] * scale;
    return MLTC_OK;
}

mltc_status cpu_axpby(dev_ctx *ctx, dev_view yv, float alpha, dev_view av, float beta, dev_view bv, size_t n) {
    float *y = cpu_f(yv);
    const float *a = cpu_f(av), *b = cpu_f(bv);
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) y[i] = alpha * a[i] + beta * b[i];
    return MLTC_OK;
}

mltc_status cpu_permute(dev_ctx *ctx, dev_view yv, dev_view xv, int ndim, const int *dims, const int *perm,
                        int accumulate) {
    float *y = cpu_f(yv);
    const float *x = cpu_f(xv);
    size_t xstride[6], ydims[6], n = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        xstride[i] = n;
        n *= (size_t)dims[i];
    }
    for (int j = 0; j < ndim; j++) ydims[j] = (size_t)dims[perm[j]];
#pragma omp parallel for
    for (size_t o = 0; o < n; o++) {
        size_t rest = o, src = 0;
        for (int j = ndim - 1; j >= 0; j--) {
            src += (rest % ydims[j]) * xstride[perm[j]];
            rest /= ydims[j];
        }
        y[o] = accumulate ? y[o] + x[src] : x[src];
    }
    return MLTC_OK;
}
