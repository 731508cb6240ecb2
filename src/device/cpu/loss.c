/* CPU losses: cross-entropy over a vocabulary, binary cross-entropy with logits. */
#include <math.h>

#include "device/cpu/internal.h"

mltc_status cpu_crossentropy_forward(dev_ctx *ctx, dev_view lossv, dev_view logitsv, dev_view targetv, int rows,
                                     int vocab) {
    float *loss = cpu_f(lossv);
    const float *logits = cpu_f(logitsv);
    const int32_t *target = cpu_i(targetv);
#pragma omp parallel for
    for (int r = 0; r < rows; r++) {
        int32_t t = target[r];
        if (t < 0 || t >= vocab) { /* -1 (and anything out of range) is ignored */
            loss[r] = 0.0f;
            continue;
        }
        const float *lr = logits + (size_t)r * vocab;
        float mx = -INFINITY;
        for (int j = 0; j < vocab; j++) mx = fmaxf(mx, lr[j]);
        float sum = 0.0f;
        for (int j = 0; j < vocab; j++) sum += expf(lr[j] - mx);
        loss[r] = logf(sum) + mx - lr[t];
    }
    return MLTC_OK;
}

mltc_status cpu_crossentropy_backward(dev_ctx *ctx, dev_view dlogitsv, dev_view logitsv, dev_view targetv,
                                      int rows, int vocab, float scale) {
    float *dlogits = cpu_f(dlogitsv);
    const float *logits = cpu_f(logitsv);
    const int32_t *target = cpu_i(targetv);
#pragma omp parallel for
    for (int r = 0; r < rows; r++) {
        int32_t t = target[r];
        if (t < 0 || t >= vocab) continue;
        const float *lr = logits + (size_t)r * vocab;
        float *dr = dlogits + (size_t)r * vocab;
        float mx = -INFINITY;
        for (int j = 0; j < vocab; j++) mx = fmaxf(mx, lr[j]);
        float sum = 0.0f;
        for (int j = 0; j < vocab; j++) sum += expf(lr[j] - mx);
        float inv = 1.0f / sum;
        for (int j = 0; j < vocab; j++) dr[j] += scale * (expf(lr[j] - mx) * inv - (j == t ? 1.0f : 0.0f));
    }
    return MLTC_OK;
}

mltc_status cpu_bce_forward(dev_ctx *ctx, dev_view lossv, dev_view logitsv, dev_view targetsv, size_t n) {
    float *loss = cpu_f(lossv);
    const float *x = cpu_f(logitsv), *y = cpu_f(targetsv);
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) loss[i] = fmaxf(x[i], 0.0f) - x[i] * y[i] + log1pf(expf(-fabsf(x[i])));
    return MLTC_OK;
}

mltc_status cpu_bce_backward(dev_ctx *ctx, dev_view dlogitsv, dev_view logitsv, dev_view targetsv, size_t n,
                             float scale) {
    float *dx = cpu_f(dlogitsv);
    const float *x = cpu_f(logitsv), *y = cpu_f(targetsv);
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) dx[i] += scale * (1.0f / (1.0f + expf(-x[i])) - y[i]);
    return MLTC_OK;
}
