/* Global squared norm (deterministic two-stage reduction) and fused AdamW. */

#ifdef MLTC_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double acc_t; /* as the CPU oracle: a sum over 10^8 squares needs the headroom */
#else
typedef float acc_t;
#endif

acc_t group_sum_acc(acc_t v, __local acc_t *s) {
    uint lid = get_local_id(0);
    s[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint o = get_local_size(0) / 2; o > 0; o >>= 1) {
        if (lid < o) s[lid] += s[lid + o];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    acc_t r = s[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

/* Stage 1: work-group g sums the squares of elements [g*chunk, (g+1)*chunk). The chunking
 * and the reduction tree depend only on n, chunk and the local size, never on timing. */
__kernel void sumsq_partial(__global acc_t *partial, __global const float *x, ulong xo, ulong n, ulong chunk,
                            __local acc_t *s) {
    size_t g = get_group_id(0);
    size_t lo = g * chunk, hi = min((size_t)n, lo + (size_t)chunk);
    acc_t acc = 0;
    for (size_t i = lo + get_local_id(0); i < hi; i += get_local_size(0)) {
        acc_t v = x[xo + i];
        acc += v * v;
    }
    acc_t t = group_sum_acc(acc, s);
    if (get_local_id(0) == 0) partial[g] = t;
}

/* Stage 2: one work-group adds the partial sums. */
__kernel void sumsq_final(__global float *out, ulong oo, __global const acc_t *partial, ulong nparts,
                          __local acc_t *s) {
    acc_t acc = 0;
    for (size_t i = get_local_id(0); i < nparts; i += get_local_size(0)) acc += partial[i];
    acc_t t = group_sum_acc(acc, s);
    if (get_local_id(0) == 0) out[oo] = (float)t;
}

/* step_size = lr / (1 - beta1^step), bc2_sqrt = sqrt(1 - beta2^step), decay = 1 - lr*wd are
 * computed on the host exactly as the CPU oracle does. */
__kernel void adamw(__global float *p, ulong po, __global const float *g, ulong go, __global float *m, ulong mo,
                    __global float *v, ulong vo, ulong n, float beta1, float beta2, float eps, float step_size,
                    float bc2_sqrt, float decay, __global const float *sumsq, ulong so, int has_clip,
                    float max_norm) {
    size_t i = get_global_id(0);
    if (i >= n) return;
    float clip = 1.0f;
    if (has_clip) {
        float c = max_norm / (sqrt(sumsq[so]) + 1e-6f);
        clip = c < 1.0f ? c : 1.0f;
    }
    float gi = g[go + i] * clip;
    float mi = beta1 * m[mo + i] + (1.0f - beta1) * gi;
    float vi = beta2 * v[vo + i] + (1.0f - beta2) * gi * gi;
    m[mo + i] = mi;
    v[vo + i] = vi;
    p[po + i] = p[po + i] * decay - step_size * mi / (sqrt(vi) / bc2_sqrt + eps);
}
