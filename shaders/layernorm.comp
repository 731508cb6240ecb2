#version 450
// LayerNorm forward over the last axis, one work group per row; saves mean and rstd
// (1/sqrt(biased variance + eps)). Two passes over the row as the CPU does.
// Bindings: 0 x, 1 w, 2 b, 3 y, 4 mean, 5 rstd.
#extension GL_GOOGLE_include_directive : require
#define MLTC_REDUCE
// 64 invocations per row: rows are short (BERT: 128..1024), and fewer, fuller groups with
// shorter reduction trees ran 2-3x faster on lavapipe than 256.
#define WG 64u
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };
layout(std430, binding = 3) buffer Y { float y[]; };
layout(std430, binding = 4) buffer Mean { float mean[]; };
layout(std430, binding = 5) buffer Rstd { float rstd[]; };

layout(push_constant) uniform Push {
    uint rows, cols, x_off, w_off, b_off, y_off, mean_off, rstd_off;
    float eps;
} pc;

void main() {
    uint r = group_index();
    if (r >= pc.rows) return; // the whole group leaves together: barriers stay uniform
    uint t = gl_LocalInvocationID.x, base = r * pc.cols;
    float s = 0.0;
    for (uint c = t; c < pc.cols; c += WG) s += x[pc.x_off + base + c];
    float m = wg_sum(s) / float(pc.cols);
    float v = 0.0;
    for (uint c = t; c < pc.cols; c += WG) {
        float d = x[pc.x_off + base + c] - m;
        v += d * d;
    }
    float rs = 1.0 / sqrt(wg_sum(v) / float(pc.cols) + pc.eps);
    for (uint c = t; c < pc.cols; c += WG)
        y[pc.y_off + base + c] = (x[pc.x_off + base + c] - m) * rs * w[pc.w_off + c] + b[pc.b_off + c];
    if (t == 0u) {
        mean[pc.mean_off + r] = m;
        rstd[pc.rstd_off + r] = rs;
    }
}
