/* CPU layernorm and scaled masked softmax. */
#include <math.h>

#include "device/cpu/internal.h"
#include "device/cpu/simd.h"

/* One row of the LayerNorm forward. The sums run in vector lanes (omp simd): their rounding
 * differs from a sequential sum by a few ulp, the same on any thread count. */
CPU_CLONES static void layernorm_row(float *yr, float *mean, float *rstd, const float *xr, const float *w,
                                     const float *b, int cols, float eps) {
    float m = 0.0f;
#pragma omp simd reduction(+ : m)
    for (int c = 0; c < cols; c++) m += xr[c];
    m /= (float)cols;
    float v = 0.0f;
#pragma omp simd reduction(+ : v)
    for (int c = 0; c < cols; c++) v += (xr[c] - m) * (xr[c] - m);
    v /= (float)cols;
    float s = 1.0f / sqrtf(v + eps);
    for (int c = 0; c < cols; c++) yr[c] = (xr[c] - m) * s * w[c] + b[c];
    *mean = m;
    *rstd = s;
}

mltc_status cpu_layernorm_forward(dev_ctx *ctx, dev_view yv, dev_view meanv, dev_view rstdv, dev_view xv,
                                  dev_view wv, dev_view bv, int rows, int cols, float eps) {
    float *y = cpu_f(yv), *mean = cpu_f(meanv), *rstd = cpu_f(rstdv);
    const float *x = cpu_f(xv), *w = cpu_f(wv), *b = cpu_f(bv);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++)
        layernorm_row(y + (size_t)r * cols, mean + r, rstd + r, x + (size_t)r * cols, w, b, cols, eps);
    return MLTC_OK;
}

/* dx of one row: dx = (dnorm - mean(dnorm) - xhat * mean(dnorm * xhat)) * rstd, dnorm = dy * w. */
CPU_CLONES static void layernorm_backward_row(float *dxr, const float *dyr, const float *xr, const float *w, float m,
                                              float s, int cols) {
    float dnorm_mean = 0.0f, dnorm_xhat_mean = 0.0f;
#pragma omp simd reduction(+ : dnorm_mean, dnorm_xhat_mean)
    for (int c = 0; c < cols; c++) {
        float xhat = (xr[c] - m) * s, dnorm = dyr[c] * w[c];
        dnorm_mean += dnorm;
        dnorm_xhat_mean += dnorm * xhat;
    }
    dnorm_mean /= (float)cols;
    dnorm_xhat_mean /= (float)cols;
    for (int c = 0; c < cols; c++) {
        float xhat = (xr[c] - m) * s, dnorm = dyr[c] * w[c];
        dxr[c] = (dnorm - dnorm_mean - xhat * dnorm_xhat_mean) * s;
    }
}

/* dw and db over columns [c0, c0 + n): rows in order within each column (the same sums on any
 * thread count), walking row by row so the inner loop is contiguous (a column-by-column walk
 * strides through memory a row apart). */
#define LN_TILE 256
CPU_CLONES static void layernorm_params_tile(float *dw, float *db, const float *dy, const float *x, const float *mean,
                                             const float *rstd, int rows, int cols, int c0, int n) {
    float gw[LN_TILE] = {0}, gb[LN_TILE] = {0};
    for (int r = 0; r < rows; r++) {
        const float *dyr = dy + (size_t)r * cols + c0, *xr = x + (size_t)r * cols + c0;
        float m = mean[r], s = rstd[r];
        for (int c = 0; c < n; c++) {
            gw[c] += dyr[c] * (xr[c] - m) * s;
            gb[c] += dyr[c];
        }
    }
    for (int c = 0; c < n; c++) {
        dw[c0 + c] += gw[c];
        db[c0 + c] += gb[c];
    }
}

mltc_status cpu_layernorm_backward(dev_ctx *ctx, dev_view dxv, dev_view dwv, dev_view dbv, dev_view dyv,
                                   dev_view xv, dev_view wv, dev_view meanv, dev_view rstdv, int rows, int cols) {
    float *dx = cpu_f(dxv), *dw = cpu_f(dwv), *db = cpu_f(dbv);
    const float *dy = cpu_f(dyv), *x = cpu_f(xv), *w = cpu_f(wv), *mean = cpu_f(meanv), *rstd = cpu_f(rstdv);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++)
        layernorm_backward_row(dx + (size_t)r * cols, dy + (size_t)r * cols, x + (size_t)r * cols, w, mean[r],
                               rstd[r], cols);
    int tiles = (cols + LN_TILE - 1) / LN_TILE;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < tiles; t++) {
        int c0 = t * LN_TILE;
        layernorm_params_tile(dw, db, dy, x, mean, rstd, rows, cols, c0, cols - c0 < LN_TILE ? cols - c0 : LN_TILE);
    }
    return MLTC_OK;
}

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
