/* CPU layernorm and scaled masked softmax. */
#include <math.h>

#include "device/cpu_internal.h"
#include "device/cpu_simd.h"

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

/* Rows [r0, r1) of the scaled masked softmax. Masked keys are 0; a row whose keys are all
 * masked is all 0. The sums run in vector lanes (omp simd), so their rounding differs from a
 * sequential sum by a few ulp, well inside every tolerance. */
CPU_CLONES static void softmax_rows(float *y, const float *x, const float *mask, long r0, long r1, long rows_per_mask,
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

CPU_CLONES static void softmax_backward_rows(float *dx, const float *dy, const float *y, long r0, long r1, int cols,
                                             float scale) {
    for (long r = r0; r < r1; r++) {
        const float *dyr = dy + r * cols, *yr = y + r * cols;
        float *dxr = dx + r * cols;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int j = 0; j < cols; j++) dot += dyr[j] * yr[j];
        for (int j = 0; j < cols; j++) dxr[j] += scale * yr[j] * (dyr[j] - dot);
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
        softmax_rows(y, x, mask, b * SOFTMAX_ROWS, r1, per_mask, s->cols, s->scale);
    }
    return MLTC_OK;
}

mltc_status cpu_softmax_backward(dev_ctx *ctx, const dev_softmax *s, dev_view dxv, dev_view dyv, dev_view yv) {
    float *dx = cpu_f(dxv);
    const float *dy = cpu_f(dyv), *y = cpu_f(yv);
    long nrows = (long)s->batch * s->heads * s->rows;
    long blocks = (nrows + SOFTMAX_ROWS - 1) / SOFTMAX_ROWS;
#pragma omp parallel for schedule(static)
    for (long b = 0; b < blocks; b++) {
        long r1 = (b + 1) * SOFTMAX_ROWS < nrows ? (b + 1) * SOFTMAX_ROWS : nrows;
        softmax_backward_rows(dx, dy, y, b * SOFTMAX_ROWS, r1, s->cols, s->scale);
    }
    return MLTC_OK;
}
