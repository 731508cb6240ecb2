#version 450
// pre += bias (kept for the backward) and y = gelu(pre), one pass. Bindings: 0 y, 1 pre, 2 bias.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "erf.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) buffer Y { float y[]; };
layout(std430, binding = 1) buffer Pre { float pre[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };

layout(push_constant) uniform Push {
    uint rows, cols, y_off, pre_off, bias_off;
} pc;

const float INV_SQRT2 = 0.70710678118654752440;

void main() {
    uint stride = gl_NumWorkGroups.x * WG, n = pc.rows * pc.cols;
    for (uint i = gl_GlobalInvocationID.x; i < n; i += stride) {
        float v = pre[pc.pre_off + i] + bias[pc.bias_off + i % pc.cols];
        pre[pc.pre_off + i] = v;
        y[pc.y_off + i] = v * 0.5 * (1.0 + erf_approx(v * INV_SQRT2));
    }
}
