/* Losses: cross-entropy over a vocabulary (one work-group per row) and BCE with logits. */

/* Targets outside [0, vocab) (-1 included) are ignored, as on the CPU. Ignored rows still
 * pass every barrier (their loops are empty): some runtimes (PoCL at local sizes below 16)
 * hang when part of a kernel returns before a barrier, even when the return is uniform. */
__kernel void crossentropy_forward(__global float *loss, ulong lo, __global const float *logits, ulong go,
                                   __global const int *target, ulong to, int vocab, __local float *s) {
    size_t r = get_group_id(0);
    int lid = (int)get_local_id(0), nl = (int)get_local_size(0);
    int t = target[to + r];
    int valid = t >= 0 && t < vocab, cols = valid ? vocab : 0;
    __global const float *lr = logits + go + r * (size_t)vocab;
    float mx = -INFINITY;
    for (int j = lid; j < cols; j += nl) mx = fmax(mx, lr[j]);
    mx = group_max(mx, s);
    float acc = 0.0f;
    for (int j = lid; j < cols; j += nl) acc += exp(lr[j] - mx);
    float sum = group_sum(acc, s);
    if (lid == 0) loss[lo + r] = valid ? log(sum) + mx - lr[t] : 0.0f;
}

__kernel void crossentropy_backward(__global float *dlogits, ulong dgo, __global const float *logits, ulong go,
                                    __global const int *target, ulong to, int vocab, float scale,
                                    __local float *s) {
    size_t r = get_group_id(0);
    int lid = (int)get_local_id(0), nl = (int)get_local_size(0);
    int t = target[to + r];
    int cols = (t >= 0 && t < vocab) ? vocab : 0; /* ignored rows: empty loops, no early return */
    __global const float *lr = logits + go + r * (size_t)vocab;
    __global float *dr = dlogits + dgo + r * (size_t)vocab;
    float mx = -INFINITY;
    for (int j = lid; j < cols; j += nl) mx = fmax(mx, lr[j]);
    mx = group_max(mx, s);
    float acc = 0.0f;
    for (int j = lid; j < cols; j += nl) acc += exp(lr[j] - mx);
    float inv = 1.0f / group_sum(acc, s);
    for (int j = lid; j < cols; j += nl) dr[j] += scale * (exp(lr[j] - mx) * inv - (j == t ? 1.0f : 0.0f));
}

__kernel void bce_forward(__global float *loss, ulong lo, __global const float *x, ulong xo,
                          __global const float *y, ulong yo, ulong n) {
    size_t i = get_global_id(0);
    if (i >= n) return;
    float v = x[xo + i];
    loss[lo + i] = fmax(v, 0.0f) - v * y[yo + i] + log1p(exp(-fabs(v)));
}

__kernel void bce_backward(__global float *dx, ulong dxo, __global const float *x, ulong xo,
                           __global const float *y, ulong yo, ulong n, float scale) {
    size_t i = get_global_id(0);
    if (i >= n) return;
    dx[dxo + i] += scale * (1.0f / (1.0f + exp(-x[xo + i])) - y[yo + i]);
}
