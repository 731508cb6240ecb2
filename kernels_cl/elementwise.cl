/* Elementwise ops: GELU, dropout, axpby, bias. One work-item per element; the
 * global size is rounded up to the work-group size, so every kernel checks its bound. */

#define INV_SQRT2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

__kernel void gelu_forward(__global float *y, ulong yo, __global const float *x, ulong xo, ulong n) {
    size_t i = get_global_id(0);
    if (i >= n) return;
    float v = x[xo + i];
    y[yo + i] = 0.5f * v * (1.0f + erf(v * INV_SQRT2));
}

__kernel void gelu_backward(__global float *dx, ulong dxo, __global const float *dy, ulong dyo,
                            __global const float *x, ulong xo, ulong n) {
    size_t i = get_global_id(0);
    if (i >= n) return;
    float v = x[xo + i];
    float cdf = 0.5f * (1.0f + erf(v * INV_SQRT2));
    float pdf = INV_SQRT_2PI * exp(-0.5f * v * v);
    dx[dxo + i] = dy[dyo + i] * (cdf + v * pdf);
}

__kernel void dropout_forward(__global float *y, ulong yo, __global const float *x, ulong xo, ulong n, float p,
                              ulong seed, ulong offset) {
    size_t i = get_global_id(0);
    if (i >= n) return;
    float scale = 1.0f / (1.0f - p);
    y[yo + i] = philox_uniform(seed, offset + i) >= p ? x[xo + i] * scale : 0.0f;
}

/* y may alias a or b: each work-item reads its own element before writing it. */
__kernel void axpby(__global float *y, ulong yo, float alpha, __global const float *a, ulong ao, float beta,
                    __global const float *b, ulong bo, ulong n) {
    size_t i = get_global_id(0);
    if (i >= n) return;
    y[yo + i] = alpha * a[ao + i] + beta * b[bo + i];
}

__kernel void bias_add(__global float *y, ulong yo, __global const float *bias, ulong bo, ulong n, int cols) {
    size_t i = get_global_id(0);
    if (i >= n) return;
    y[yo + i] += bias[bo + i % (size_t)cols];
}

/* dst[c] += sum over rows of x[r, c], in one kernel (lanes_sum3). */
__kernel void colsum_lanes(__global float *dst, ulong dsto, __global const float *x, ulong xo, int rows, int cols,
                           int cg, __local float *s) {
    int lid = (int)get_local_id(0), lanes = (int)get_local_size(0) / cg;
    int c = (int)get_group_id(0) * cg + lid % cg;
    float acc = 0.0f;
    if (c < cols)
        for (int r = lid / cg; r < rows; r += lanes) acc += x[xo + (size_t)r * cols + c];
    acc = lanes_sum3((float3)(acc, 0.0f, 0.0f), cg, s).x;
    if (c < cols && lid < cg) dst[dsto + c] += acc;
}

/* The second stage of LayerNorm's two-stage parameter gradients (norm.cl's layernorm_dwdb_partial
 * is the first): the chunks' partial sums added in order into dst. */
__kernel void colsum_final(__global float *dst, ulong dsto, __global const float *part, ulong po, int nchunks,
                           int cols) {
    int c = (int)get_global_id(0);
    if (c >= cols) return;
    float s = 0.0f;
    for (int ch = 0; ch < nchunks; ch++) s += part[po + (size_t)ch * cols + c];
    dst[dsto + c] += s;
}

/* pre += bias (kept for the backward) and y = gelu(pre), one pass. */
__kernel void bias_gelu_forward(__global float *y, ulong yo, __global float *pre, ulong po, __global const float *bias,
                                ulong bo, ulong n, int cols) {
    size_t i = get_global_id(0);
    if (i >= n) return;
    float v = pre[po + i] + bias[bo + i % (size_t)cols];
    pre[po + i] = v;
    y[yo + i] = 0.5f * v * (1.0f + erf(v * INV_SQRT2));
}

/* dx = dy * gelu'(pre) and dbias += the column sums of dx, in one kernel (lanes_sum3). dx may be
 * dy: each element is read, then written, by one work-item. */
__kernel void bias_gelu_backward(__global float *dx, ulong dxo, __global float *dbias, ulong dbo,
                                 __global const float *dy, ulong dyo, __global const float *pre, ulong po, int rows,
                                 int cols, int cg, __local float *s) {
    int lid = (int)get_local_id(0), lanes = (int)get_local_size(0) / cg;
    int c = (int)get_group_id(0) * cg + lid % cg;
    float acc = 0.0f;
    if (c < cols)
        for (int r = lid / cg; r < rows; r += lanes) {
            size_t k = (size_t)r * cols + c;
            float v = pre[po + k];
            float cdf = 0.5f * (1.0f + erf(v * INV_SQRT2)), pdf = INV_SQRT_2PI * exp(-0.5f * v * v);
            float g = dy[dyo + k] * (cdf + v * pdf);
            dx[dxo + k] = g;
            acc += g;
        }
    acc = lanes_sum3((float3)(acc, 0.0f, 0.0f), cg, s).x;
    if (c < cols && lid < cg) dbias[dbo + c] += acc;
}
