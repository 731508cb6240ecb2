/* Layernorm over the last axis: one work-group per row, two-pass mean and variance (as the
 * CPU oracle) with local-memory reductions. Parameter gradients use one work-item per
 * column summing rows in order, so they are deterministic without atomics. */

__kernel void layernorm_forward(__global float *y, ulong yo, __global float *mean, ulong mo, __global float *rstd,
                                ulong ro, __global const float *x, ulong xo, __global const float *w, ulong wo,
                                __global const float *b, ulong bo, int cols, float eps, __local float *s) {
    size_t r = get_group_id(0);
    int lid = (int)get_local_id(0), nl = (int)get_local_size(0);
    __global const float *xr = x + xo + r * (size_t)cols;
    __global float *yr = y + yo + r * (size_t)cols;
    float acc = 0.0f;
    for (int c = lid; c < cols; c += nl) acc += xr[c];
    float m = group_sum(acc, s) / (float)cols;
    acc = 0.0f;
    for (int c = lid; c < cols; c += nl) {
        float d = xr[c] - m;
        acc += d * d;
    }
    float var = group_sum(acc, s) / (float)cols;
    float is = 1.0f / sqrt(var + eps);
    for (int c = lid; c < cols; c += nl) yr[c] = (xr[c] - m) * is * w[wo + c] + b[bo + c];
    if (lid == 0) {
        mean[mo + r] = m;
        rstd[ro + r] = is;
    }
}

__kernel void layernorm_backward_dx(__global float *dx, ulong dxo, __global const float *dy, ulong dyo,
                                    __global const float *x, ulong xo, __global const float *w, ulong wo,
                                    __global const float *mean, ulong mo, __global const float *rstd, ulong ro,
                                    int cols, __local float *s) {
    size_t r = get_group_id(0);
    int lid = (int)get_local_id(0), nl = (int)get_local_size(0);
    __global const float *xr = x + xo + r * (size_t)cols, *dyr = dy + dyo + r * (size_t)cols;
    __global float *dxr = dx + dxo + r * (size_t)cols;
    float m = mean[mo + r], is = rstd[ro + r];
    float a1 = 0.0f, a2 = 0.0f;
    for (int c = lid; c < cols; c += nl) {
        float xhat = (xr[c] - m) * is, dn = dyr[c] * w[wo + c];
        a1 += dn;
        a2 += dn * xhat;
    }
    float dn_mean = group_sum(a1, s) / (float)cols;
    float dn_xhat_mean = group_sum(a2, s) / (float)cols;
    for (int c = lid; c < cols; c += nl) {
        float xhat = (xr[c] - m) * is, dn = dyr[c] * w[wo + c];
        dxr[c] = (dn - dn_mean - xhat * dn_xhat_mean) * is;
    }
}

__kernel void layernorm_backward_dwdb(__global float *dw, ulong dwo, __global float *db, ulong dbo,
                                      __global const float *dy, ulong dyo, __global const float *x, ulong xo,
                                      __global const float *mean, ulong mo, __global const float *rstd, ulong ro,
                                      int rows, int cols) {
    int c = (int)get_global_id(0);
    if (c >= cols) return;
    float gw = 0.0f, gb = 0.0f;
    for (int r = 0; r < rows; r++) {
        size_t i = (size_t)r * cols + c;
        float g = dy[dyo + i];
        gw += g * (x[xo + i] - mean[mo + r]) * rstd[ro + r];
        gb += g;
    }
    dw[dwo + c] += gw;
    db[dbo + c] += gb;
}

/* Stage 1 of the two-stage parameter gradients for many rows (stage 2 is colsum_final):
 * per (chunk of rows, column), the chunk's sums of dy * xhat and dy, in row order. */
__kernel void layernorm_dwdb_partial(__global float *pw, ulong pwo, __global float *pb, ulong pbo,
                                     __global const float *dy, ulong dyo, __global const float *x, ulong xo,
                                     __global const float *mean, ulong mo, __global const float *rstd, ulong ro,
                                     int rows, int cols, int chunk) {
    size_t i = get_global_id(0);
    int nchunks = (rows + chunk - 1) / chunk;
    if (i >= (size_t)nchunks * cols) return;
    int ch = (int)(i / (size_t)cols), c = (int)(i % (size_t)cols);
    int r1 = min(rows, (ch + 1) * chunk);
    float gw = 0.0f, gb = 0.0f;
    for (int r = ch * chunk; r < r1; r++) {
        size_t k = (size_t)r * cols + c;
        float g = dy[dyo + k];
        gw += g * (x[xo + k] - mean[mo + r]) * rstd[ro + r];
        gb += g;
    }
    pw[pwo + i] = gw;
    pb[pbo + i] = gb;
}

/* The fused sublayer end, one work-group per row: s = dropout(x + bias) + res written to sum
 * (which may be x: each work-item reads its own elements before writing them), then the
 * LayerNorm of s as layernorm_forward. Element (r, c) draws Philox index offset + r*cols + c,
 * the index dropout_forward gives it over the whole tensor. */
__kernel void add_layernorm_forward(__global float *sum, ulong so, __global float *y, ulong yo,
                                    __global float *mean, ulong mo, __global float *rstd, ulong ro,
                                    __global const float *x, ulong xo, __global const float *bias, ulong bo,
                                    int has_bias, __global const float *res, ulong reso, __global const float *w,
                                    ulong wo, __global const float *b, ulong lbo, int cols, float eps, float p,
                                    ulong seed, ulong offset, __local float *s) {
    size_t r = get_group_id(0);
    int lid = (int)get_local_id(0), nl = (int)get_local_size(0);
    size_t base = r * (size_t)cols;
    float scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f, acc = 0.0f;
    for (int c = lid; c < cols; c += nl) {
        float v = x[xo + base + c] + (has_bias ? bias[bo + c] : 0.0f);
        if (p > 0.0f) v = philox_uniform(seed, offset + base + c) >= p ? v * scale : 0.0f;
        v += res[reso + base + c];
        sum[so + base + c] = v;
        acc += v;
    }
    float m = group_sum(acc, s) / (float)cols;
    acc = 0.0f;
    for (int c = lid; c < cols; c += nl) {
        float d = sum[so + base + c] - m;
        acc += d * d;
    }
    float is = 1.0f / sqrt(group_sum(acc, s) / (float)cols + eps);
    for (int c = lid; c < cols; c += nl) y[yo + base + c] = (sum[so + base + c] - m) * is * w[wo + c] + b[lbo + c];
    if (lid == 0) {
        mean[mo + r] = m;
        rstd[ro + r] = is;
    }
}

/* Its backward's rows: dsum = LayerNorm's dx (as layernorm_backward_dx, x = sum) and dx = the
 * dropout of dsum (dx may be dsum when p is 0). */
__kernel void add_layernorm_backward_dx(__global float *dsum, ulong dso, __global float *dx, ulong dxo,
                                        __global const float *dy, ulong dyo, __global const float *x, ulong xo,
                                        __global const float *w, ulong wo, __global const float *mean, ulong mo,
                                        __global const float *rstd, ulong ro, int cols, float p, ulong seed,
                                        ulong offset, __local float *s) {
    size_t r = get_group_id(0);
    int lid = (int)get_local_id(0), nl = (int)get_local_size(0);
    size_t base = r * (size_t)cols;
    float m = mean[mo + r], is = rstd[ro + r];
    float a1 = 0.0f, a2 = 0.0f;
    for (int c = lid; c < cols; c += nl) {
        float xhat = (x[xo + base + c] - m) * is, dn = dy[dyo + base + c] * w[wo + c];
        a1 += dn;
        a2 += dn * xhat;
    }
    float dn_mean = group_sum(a1, s) / (float)cols;
    float dn_xhat_mean = group_sum(a2, s) / (float)cols;
    float scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
    for (int c = lid; c < cols; c += nl) {
        float xhat = (x[xo + base + c] - m) * is, dn = dy[dyo + base + c] * w[wo + c];
        float g = (dn - dn_mean - xhat * dn_xhat_mean) * is;
        dsum[dso + base + c] = g;
        if (p > 0.0f) g = philox_uniform(seed, offset + base + c) >= p ? g * scale : 0.0f;
        dx[dxo + base + c] = g;
    }
}

/* Its backward's column sums in one kernel over all the rows (lanes_sum3): dw += sum of dy * xhat,
 * db += sum of dy and, with has_bias, dbias += sum of dx. */
__kernel void add_layernorm_params(__global float *dw, ulong dwo, __global float *db, ulong dbo,
                                   __global float *dbias, ulong dbiaso, int has_bias, __global const float *dy,
                                   ulong dyo, __global const float *x, ulong xo, __global const float *mean, ulong mo,
                                   __global const float *rstd, ulong ro, __global const float *dx, ulong dxo,
                                   int rows, int cols, int cg, __local float *s) {
    int lid = (int)get_local_id(0), lanes = (int)get_local_size(0) / cg;
    int c = (int)get_group_id(0) * cg + lid % cg;
    float3 acc = (float3)(0.0f);
    if (c < cols)
        for (int r = lid / cg; r < rows; r += lanes) {
            size_t k = (size_t)r * cols + c;
            float g = dy[dyo + k];
            acc.x += g * (x[xo + k] - mean[mo + r]) * rstd[ro + r];
            acc.y += g;
            if (has_bias) acc.z += dx[dxo + k];
        }
    acc = lanes_sum3(acc, cg, s);
    if (c < cols && lid < cg) {
        dw[dwo + c] += acc.x;
        db[dbo + c] += acc.y;
        if (has_bias) dbias[dbiaso + c] += acc.z;
    }
}
