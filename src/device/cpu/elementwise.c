/* CPU elementwise ops: copy, fill, GELU, dropout, axpby; the bias add and its backward (column sums).
 *
 * Each op is a parallel loop over chunks that calls a worker built for several instruction sets
 * (simd.h); the workers are plain loops the compiler vectorises. */
#include <string.h>

#include "device/cpu/internal.h"
#include "device/cpu/simd.h"
#include "device/philox.h"

#define INV_SQRT2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

mltc_status cpu_copy(dev_ctx *ctx, dev_view dst, dev_view src, size_t n) {
    memmove(cpu_f(dst), cpu_f(src), n * sizeof(float));
    return MLTC_OK;
}

CPU_CLONES static void fill_chunk(float *d, size_t n, float value) {
    for (size_t i = 0; i < n; i++) d[i] = value;
}

CPU_CLONES static void gelu_forward_chunk(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + cpu_erff(x[i] * INV_SQRT2));
}

CPU_CLONES static void gelu_backward_chunk(float *dx, const float *dy, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        /* exp(-z^2) for z = x / sqrt 2 serves erf's tail and the density exp(-x^2 / 2) alike */
        float z = x[i] * INV_SQRT2, e = cpu_expf(-z * z);
        float cdf = 0.5f * (1.0f + cpu_erff_e(z, e));
        dx[i] = dy[i] * (cdf + x[i] * INV_SQRT_2PI * e);
    }
}

CPU_CLONES static void axpby_chunk(float *y, float alpha, const float *a, float beta, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = alpha * a[i] + beta * b[i];
}

mltc_status cpu_fill(dev_ctx *ctx, dev_view dst, size_t n, float value) {
    float *d = cpu_f(dst);
    CPU_FOR_CHUNKS(n, base, count, fill_chunk(d + base, count, value));
    return MLTC_OK;
}

mltc_status cpu_gelu_forward(dev_ctx *ctx, dev_view yv, dev_view xv, size_t n) {
    float *y = cpu_f(yv);
    const float *x = cpu_f(xv);
    CPU_FOR_CHUNKS(n, base, count, gelu_forward_chunk(y + base, x + base, count));
    return MLTC_OK;
}

mltc_status cpu_gelu_backward(dev_ctx *ctx, dev_view dxv, dev_view dyv, dev_view xv, size_t n) {
    float *dx = cpu_f(dxv);
    const float *dy = cpu_f(dyv), *x = cpu_f(xv);
    CPU_FOR_CHUNKS(n, base, count, gelu_backward_chunk(dx + base, dy + base, x + base, count));
    return MLTC_OK;
}

mltc_status cpu_axpby(dev_ctx *ctx, dev_view yv, float alpha, dev_view av, float beta, dev_view bv, size_t n) {
    float *y = cpu_f(yv);
    const float *a = cpu_f(av), *b = cpu_f(bv);
    CPU_FOR_CHUNKS(n, base, count, axpby_chunk(y + base, alpha, a + base, beta, b + base, count));
    return MLTC_OK;
}

/* ---- dropout ------------------------------------------------------------------------------
 * Philox gives four words per call, one for each of four consecutive indices (philox.h). A worker
 * draws DROPOUT_GROUPS counters side by side, lane-major, so the ten rounds vectorise across
 * counters; then it applies the mask to the elements whose indices those words cover. */
#define DROPOUT_GROUPS 16
#define DROPOUT_SPAN (4 * DROPOUT_GROUPS) /* indices covered by one worker call */

CPU_CLONES static void philox_groups(uint64_t seed, uint64_t first_group, uint32_t words[DROPOUT_SPAN]) {
    /* 32-bit words held in 64-bit lanes: the products are then plain 64-bit multiplies of
     * values below 2^32, which the vectoriser maps to the even-lane 32x32->64 multiply. */
    uint64_t c0[DROPOUT_GROUPS], c1[DROPOUT_GROUPS], c2[DROPOUT_GROUPS], c3[DROPOUT_GROUPS];
    for (int l = 0; l < DROPOUT_GROUPS; l++) {
        uint64_t g = first_group + (uint64_t)l;
        c0[l] = g & 0xffffffffu;
        c1[l] = g >> 32;
        c2[l] = 0;
        c3[l] = 0;
    }
    uint64_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
#pragma GCC unroll 1
        for (int l = 0; l < DROPOUT_GROUPS; l++) {
            uint64_t p0 = PHILOX_M0 * c0[l], p1 = PHILOX_M1 * c2[l];
            uint64_t n0 = (p1 >> 32) ^ c1[l] ^ k0, n2 = (p0 >> 32) ^ c3[l] ^ k1;
            c1[l] = p1 & 0xffffffffu;
            c3[l] = p0 & 0xffffffffu;
            c0[l] = n0;
            c2[l] = n2;
        }
        k0 = (k0 + PHILOX_W0) & 0xffffffffu;
        k1 = (k1 + PHILOX_W1) & 0xffffffffu;
    }
    for (int l = 0; l < DROPOUT_GROUPS; l++) {
        words[4 * l] = (uint32_t)c0[l];
        words[4 * l + 1] = (uint32_t)c1[l];
        words[4 * l + 2] = (uint32_t)c2[l];
        words[4 * l + 3] = (uint32_t)c3[l];
    }
}

/* Elements [lo, hi) of the op, whose indices are offset + i, with words covering indices from
 * word_base: dst = keep ? src*scale : 0. */
CPU_CLONES static void dropout_apply(float *dst, const float *src, size_t lo, size_t hi, uint64_t offset,
                                     uint64_t word_base, const uint32_t *words, float p, float scale) {
    for (size_t i = lo; i < hi; i++) {
        int keep = philox_word_uniform(words[offset + i - word_base]) >= p;
        dst[i] = keep ? src[i] * scale : 0.0f;
    }
}

static void cpu_dropout(float *dst, const float *src, size_t n, float p, uint64_t seed, uint64_t offset) {
    if (n == 0) return;
    float scale = 1.0f / (1.0f - p);
    uint64_t first_group = offset >> 2;
    size_t spans = (size_t)(((offset + n + 3) >> 2) - first_group + DROPOUT_GROUPS - 1) / DROPOUT_GROUPS;
#pragma omp parallel for schedule(static)
    for (size_t s = 0; s < spans; s++) {
        uint32_t words[DROPOUT_SPAN];
        uint64_t group = first_group + (uint64_t)s * DROPOUT_GROUPS, word_base = group * 4;
        philox_groups(seed, group, words);
        /* the elements whose indices fall in [word_base, word_base + DROPOUT_SPAN) */
        size_t lo = word_base > offset ? (size_t)(word_base - offset) : 0;
        size_t hi = (size_t)(word_base + DROPOUT_SPAN - offset);
        if (hi > n) hi = n;
        dropout_apply(dst, src, lo, hi, offset, word_base, words, p, scale);
    }
}

mltc_status cpu_dropout_forward(dev_ctx *ctx, dev_view yv, dev_view xv, size_t n, float p, uint64_t seed,
                                uint64_t offset) {
    cpu_dropout(cpu_f(yv), cpu_f(xv), n, p, seed, offset);
    return MLTC_OK;
}

mltc_status cpu_bias_add(dev_ctx *ctx, dev_view yv, dev_view biasv, int rows, int cols) {
    float *y = cpu_f(yv);
    const float *bias = cpu_f(biasv);
#pragma omp parallel for
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) y[(size_t)r * cols + c] += bias[c];
    return MLTC_OK;
}

/* Columns [c0, c0 + n) of dy summed over rows, rows in order within each column (the same sum on
 * any thread count), walking dy row by row so the inner loop is contiguous and vectorises. */
#define BIAS_TILE 256
CPU_CLONES static void bias_backward_tile(float *db, const float *dy, int rows, int cols, int c0, int n) {
    float s[BIAS_TILE] = {0};
    for (int r = 0; r < rows; r++) {
        const float *row = dy + (size_t)r * cols + c0;
        for (int c = 0; c < n; c++) s[c] += row[c];
    }
    for (int c = 0; c < n; c++) db[c0 + c] += s[c];
}

mltc_status cpu_bias_backward(dev_ctx *ctx, dev_view dbiasv, dev_view dyv, int rows, int cols) {
    float *db = cpu_f(dbiasv);
    const float *dy = cpu_f(dyv);
    int tiles = (cols + BIAS_TILE - 1) / BIAS_TILE;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < tiles; t++) {
        int c0 = t * BIAS_TILE;
        bias_backward_tile(db, dy, rows, cols, c0, cols - c0 < BIAS_TILE ? cols - c0 : BIAS_TILE);
    }
    return MLTC_OK;
}

/* bias + GELU and its backward as their two passes (see cpu_add_layernorm_forward). */
mltc_status cpu_bias_gelu_forward(dev_ctx *ctx, dev_view y, dev_view pre, dev_view bias, int rows, int cols) {
    cpu_bias_add(ctx, pre, bias, rows, cols);
    return cpu_gelu_forward(ctx, y, pre, (size_t)rows * cols);
}

mltc_status cpu_bias_gelu_backward(dev_ctx *ctx, dev_view dx, dev_view dbias, dev_view dy, dev_view pre, int rows,
                                   int cols) {
    cpu_gelu_backward(ctx, dx, dy, pre, (size_t)rows * cols);
    return cpu_bias_backward(ctx, dbias, dx, rows, cols);
}
