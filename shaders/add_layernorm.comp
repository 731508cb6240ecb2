#version 450
// A sublayer's end in one pass, one work group per row: s = dropout(x + bias) + res, written to
// sum (which may be x: each invocation reads its own elements before writing them), then y =
// LayerNorm(s) as layernorm.comp. Element (r, c) draws Philox index offset + r*cols + c, the
// index dropout.comp gives it over the whole tensor.
// Bindings: 0 x, 1 bias (unread without HAS_BIAS), 2 res, 3 w, 4 b, 5 sum, 6 y, 7 mean, 8 rstd.
#extension GL_GOOGLE_include_directive : require
#define MLTC_REDUCE
#define WG 64u // see layernorm.comp
#include "common.glsl"
#include "philox.glsl"
layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Bias { float bias[]; };
layout(std430, binding = 2) readonly buffer Res { float res[]; };
layout(std430, binding = 3) readonly buffer W { float w[]; };
layout(std430, binding = 4) readonly buffer B { float b[]; };
layout(std430, binding = 5) buffer Sum { float sum[]; };
layout(std430, binding = 6) buffer Y { float y[]; };
layout(std430, binding = 7) buffer Mean { float mean[]; };
layout(std430, binding = 8) buffer Rstd { float rstd[]; };

layout(push_constant) uniform Push {
    uint rows, cols, x_off, bias_off, res_off, w_off, b_off, sum_off, y_off, mean_off, rstd_off, has_bias;
    float eps, p, scale;
    uint seed_lo, seed_hi, off_lo, off_hi;
} pc;

void main() {
    uint r = group_index();
    if (r >= pc.rows) return; // the whole group leaves together: barriers stay uniform
    uint t = gl_LocalInvocationID.x, base = r * pc.cols;
    uvec2 seed = uvec2(pc.seed_lo, pc.seed_hi), off = uvec2(pc.off_lo, pc.off_hi);
    float s = 0.0;
    for (uint c = t; c < pc.cols; c += WG) {
        float v = x[pc.x_off + base + c];
        if (pc.has_bias != 0u) v += bias[pc.bias_off + c];
        if (pc.p > 0.0) v = philox_uniform(seed, off, base + c) >= pc.p ? v * pc.scale : 0.0;
        v += res[pc.res_off + base + c];
        sum[pc.sum_off + base + c] = v;
        s += v;
    }
    float m = wg_sum(s) / float(pc.cols);
    float v = 0.0;
    for (uint c = t; c < pc.cols; c += WG) {
        float d = sum[pc.sum_off + base + c] - m;
        v += d * d;
    }
    float rs = 1.0 / sqrt(wg_sum(v) / float(pc.cols) + pc.eps);
    for (uint c = t; c < pc.cols; c += WG)
        y[pc.y_off + base + c] = (sum[pc.sum_off + base + c] - m) * rs * w[pc.w_off + c] + b[pc.b_off + c];
    if (t == 0u) {
        mean[pc.mean_off + r] = m;
        rstd[pc.rstd_off + r] = rs;
    }
}
