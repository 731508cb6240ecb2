#version 450
// The end of a split-K GEMM (shaders/gemm.comp): C = alpha * (sum of the splits' partial
// products) + beta * C, the partials summed in split order (the same bits every run). One
// invocation per element of the m x n matrix C. beta == 0 never reads C.
// With has_bias, bias[j] is added to column j (the GEMM's fused bias).
// Bindings: 0 the partials [splits, m, n], 1 C, 2 bias.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer P { float part[]; };
layout(std430, binding = 1) buffer Cm { float c[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };

layout(push_constant) uniform Push {
    uint m, n, ldc, c_off, splits;
    float alpha, beta;
    uint has_bias, bias_off;
} pc;

void main() {
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    uint mn = pc.m * pc.n;
    if (i >= mn) return;
    float s = 0.0;
    for (uint k = 0u; k < pc.splits; k++) s += part[k * mn + i];
    uint ci = pc.c_off + (i / pc.n) * pc.ldc + i % pc.n;
    float v = pc.alpha * s;
    if (pc.beta != 0.0) v += pc.beta * c[ci];
    if (pc.has_bias != 0u) v += bias[pc.bias_off + i % pc.n];
    c[ci] = v;
}
