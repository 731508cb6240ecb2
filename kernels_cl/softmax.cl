/* Scaled masked softmax over the last axis of x[batch, heads, rows, cols]: one work-group per
 * row. Masked columns give 0; a row with every column masked is all zeros. */

__kernel void softmax_forward(__global float *y, ulong yo, __global const float *x, ulong xo,
                              __global const float *mask, ulong mko, int has_mask, int heads_rows, int cols,
                              float scale, __local float *s) {
    size_t r = get_group_id(0);
    int lid = (int)get_local_id(0), nl = (int)get_local_size(0);
    __global const float *xr = x + xo + r * (size_t)cols;
    __global float *yr = y + yo + r * (size_t)cols;
    __global const float *mr = mask + mko + (r / (size_t)heads_rows) * (size_t)cols;
    float mx = -INFINITY;
    for (int j = lid; j < cols; j += nl)
        if (!has_mask || mr[j] != 0.0f) mx = fmax(mx, scale * xr[j]);
    mx = group_max(mx, s);
    /* Every key masked: the row is zeros. No early return: every work-item must reach every
     * barrier (PoCL hangs otherwise, even on a uniform return). */
    int dead = mx == -INFINITY;
    float acc = 0.0f;
    for (int j = lid; j < cols; j += nl) {
        float e = (!dead && (!has_mask || mr[j] != 0.0f)) ? exp(scale * xr[j] - mx) : 0.0f;
        yr[j] = e;
        acc += e;
    }
    float sum = group_sum(acc, s);
    float inv = dead ? 0.0f : 1.0f / sum;
    /* Each work-item rescales exactly the elements it wrote, so no barrier is needed. */
    for (int j = lid; j < cols; j += nl) yr[j] *= inv;
}

/* With has_yd, y went through dropout, yd = dropout(y), and dy is the gradient of yd. */
__kernel void softmax_backward(__global float *dx, ulong dxo, __global const float *dy, ulong dyo,
                               __global const float *y, ulong yo, __global const float *yd, ulong ydo, int has_yd,
                               int cols, float scale, __local float *s) {
    size_t r = get_group_id(0);
    int lid = (int)get_local_id(0), nl = (int)get_local_size(0);
    __global const float *dyr = dy + dyo + r * (size_t)cols, *yr = y + yo + r * (size_t)cols;
    __global const float *ydr = has_yd ? yd + ydo + r * (size_t)cols : yr;
    __global float *dxr = dx + dxo + r * (size_t)cols;
    float acc = 0.0f;
    for (int j = lid; j < cols; j += nl) acc += dyr[j] * ydr[j];
    float dot = group_sum(acc, s);
    /* dx may be dy: each work-item rewrites only the elements it read after the reduction. */
    if (has_yd)
        for (int j = lid; j < cols; j += nl) dxr[j] = scale * (ydr[j] * dyr[j] - yr[j] * dot);
    else
        for (int j = lid; j < cols; j += nl) dxr[j] = scale * yr[j] * (dyr[j] - dot);
}
