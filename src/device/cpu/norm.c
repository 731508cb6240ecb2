/* CPU layernorm. */
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

/* The fused sublayer end, as the sequence of passes it stands for: the CPU gains nothing from
 * fusing them (its passes stay in cache at these sizes), and as the oracle it is then the
 * unfused definition itself. */
mltc_status cpu_add_layernorm_forward(dev_ctx *ctx, const dev_add_layernorm *f) {
    size_t n = (size_t)f->rows * f->cols;
    if (f->sum.buf != f->x.buf || f->sum.off != f->x.off) cpu_copy(ctx, f->sum, f->x, n);
    if (f->bias.buf) cpu_bias_add(ctx, f->sum, f->bias, f->rows, f->cols);
    if (f->p > 0.0f) cpu_dropout_forward(ctx, f->sum, f->sum, n, f->p, f->seed, f->offset);
    cpu_axpby(ctx, f->sum, 1.0f, f->sum, 1.0f, f->res, n);
    return cpu_layernorm_forward(ctx, f->y, f->mean, f->rstd, f->sum, f->w, f->b, f->rows, f->cols, f->eps);
}

mltc_status cpu_add_layernorm_backward(dev_ctx *ctx, const dev_add_layernorm *f, const dev_add_layernorm_grads *g) {
    size_t n = (size_t)f->rows * f->cols;
    cpu_layernorm_backward(ctx, g->dsum, g->dw, g->db, g->dy, f->sum, f->w, f->mean, f->rstd, f->rows, f->cols);
    if (f->p > 0.0f)
        cpu_dropout_forward(ctx, g->dx, g->dsum, n, f->p, f->seed, f->offset);
    else if (g->dx.buf != g->dsum.buf || g->dx.off != g->dsum.off)
        cpu_copy(ctx, g->dx, g->dsum, n);
    if (f->bias.buf) cpu_bias_backward(ctx, g->dbias, g->dx, f->rows, f->cols);
    return MLTC_OK;
}
