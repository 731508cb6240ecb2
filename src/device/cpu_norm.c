/* CPU layernorm and scaled masked softmax. */
#include <math.h>

#include "device/cpu_internal.h"

mltc_status cpu_layernorm_forward(dev_ctx *ctx, dev_view yv, dev_view meanv, dev_view rstdv, dev_view xv,
                                  dev_view wv, dev_view bv, int rows, int cols, float eps) {
    float *y = cpu_f(yv), *mean = cpu_f(meanv), *rstd = cpu_f(rstdv);
    const float *x = cpu_f(xv), *w = cpu_f(wv), *b = cpu_f(bv);
#pragma omp parallel for
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * cols;
        float *yr = y + (size_t)r * cols;
        float m = 0.0f;
        for (int c = 0; c < cols; c++) m += xr[c];
        m /= (float)cols;
        float v = 0.0f;
        for (int c = 0; c < cols; c++) v += (xr[c] - m) * (xr[c] - m);
        v /= (float)cols;
        float s = 1.0f / sqrtf(v + eps);
        for (int c = 0; c < cols; c++) yr[c] = (xr[c] - m) * s * w[c] + b[c];
        mean[r] = m;
        rstd[r] = s;
    }
    return MLTC_OK;
}

mltc_status cpu_layernorm_backward(dev_ctx *ctx, dev_view dxv, dev_view dwv, dev_view dbv, dev_view dyv,
                                   dev_view xv, dev_view wv, dev_view meanv, dev_view rstdv, int rows, int cols) {
    float *dx = cpu_f(dxv), *dw = cpu_f(dwv), *db = cpu_f(dbv);
    const float *dy = cpu_f(dyv), *x = cpu_f(xv), *w = cpu_f(wv), *mean = cpu_f(meanv), *rstd = cpu_f(rstdv);
#pragma omp parallel for
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * cols, *dyr = dy + (size_t)r * cols;
        float *dxr = dx + (size_t)r * cols;
        float m = mean[r], s = rstd[r];
        float dnorm_mean = 0.0f, dnorm_xhat_mean = 0.0f;
        for (int c = 0; c < cols; c++) {
            float xhat = (xr[c] - m) * s, dnorm = dyr[c] * w[c];
            dnorm_mean += dnorm;
            dnorm_xhat_mean += dnorm * xhat;
        }
        dnorm_mean /= (float)cols;
        dnorm_xhat_mean /= (float)cols;
        for (int c = 0; c < cols; c++) {
            float xhat = (xr[c] - m) * s, dnorm = dyr[c] * w[c];
            dxr[c] += (dnorm - dnorm_mean - xhat * dnorm_xhat_mean) * s;
        }
    }
    /* Parameter gradients reduce over rows: columns in parallel, rows in order. */
#pragma omp parallel for
    for (int c = 0; c < cols; c++) {
        float gw = 0.0f, gb = 0.0f;
        for (int r = 0; r < rows; r++) {
            size_t i = (size_t)r * cols + c;
            gw += dy[i] * (x[i] - mean[r]) * rstd[r];
            gb += dy[i];
        }
        dw[c] += gw;
        db[c] += gb;
    }
    return MLTC_OK;
}

mltc_status cpu_softmax_forward(dev_ctx *ctx, const dev_softmax *s, dev_view yv, dev_view xv) {
    float *y = cpu_f(yv);
    const float *x = cpu_f(xv);
    const float *mask = s->key_mask.buf ? cpu_f(s->key_mask) : NULL;
    long nrows = (long)s->batch * s->heads * s->rows;
    int cols = s->cols;
#pragma omp parallel for
    for (long r = 0; r < nrows; r++) {
        long b = r / ((long)s->heads * s->rows);
        const float *xr = x + r * cols, *mr = mask ? mask + b * cols : NULL;
        float *yr = y + r * cols;
        float mx = -INFINITY;
        for (int j = 0; j < cols; j++)
            if (!mr || mr[j] != 0.0f) mx = fmaxf(mx, s->scale * xr[j]);
        if (mx == -INFINITY) { /* every key masked */
            for (int j = 0; j < cols; j++) yr[j] = 0.0f;
            continue;
        }
        float sum = 0.0f;
        for (int j = 0; j < cols; j++) {
            float e = (!mr || mr[j] != 0.0f) ? expf(s->scale * xr[j] - mx) : 0.0f;
            yr[j] = e;
            sum += e;
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < cols; j++) yr[j] *= inv;
    }
    return MLTC_OK;
}

mltc_status cpu_softmax_backward(dev_ctx *ctx, const dev_softmax *s, dev_view dxv, dev_view dyv, dev_view yv) {
    float *dx = cpu_f(dxv);
    const float *dy = cpu_f(dyv), *y = cpu_f(yv);
    long nrows = (long)s->batch * s->heads * s->rows;
    int cols = s->cols;
#pragma omp parallel for
    for (long r = 0; r < nrows; r++) {
        const float *dyr = dy + r * cols, *yr = y + r * cols;
        float *dxr = dx + r * cols;
        float dot = 0.0f;
        for (int j = 0; j < cols; j++) dot += dyr[j] * yr[j];
        for (int j = 0; j < cols; j++) dxr[j] += s->scale * yr[j] * (dyr[j] - dot);
    }
    return MLTC_OK;
}
