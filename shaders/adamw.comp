#version 450
// Fused AdamW with optional global-norm clipping (device.h): the host precomputes the bias
// corrections exactly as the CPU backend does.
// Bindings: 0 param, 1 grad, 2 m, 3 v, 4 sumsq (dummy when no clipping).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) buffer P { float p[]; };
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) buffer M { float m[]; };
layout(std430, binding = 3) buffer V { float v[]; };
layout(std430, binding = 4) readonly buffer S { float sumsq[]; };

layout(push_constant) uniform Push {
    uint n, p_off, g_off, m_off, v_off, s_off, clip;
    float beta1, beta2, eps, decay, step_size, bc2_sqrt, max_norm;
} pc;

void main() {
    float clip = 1.0;
    if (pc.clip != 0u) clip = min(pc.max_norm / (sqrt(sumsq[pc.s_off]) + 1e-6), 1.0);
    uint stride = gl_NumWorkGroups.x * WG;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        float gi = g[pc.g_off + i] * clip;
        float mi = pc.beta1 * m[pc.m_off + i] + (1.0 - pc.beta1) * gi;
        float vi = pc.beta2 * v[pc.v_off + i] + (1.0 - pc.beta2) * gi * gi;
        m[pc.m_off + i] = mi;
        v[pc.v_off + i] = vi;
        p[pc.p_off + i] = p[pc.p_off + i] * pc.decay - pc.step_size * mi / (sqrt(vi) / pc.bc2_sqrt + pc.eps);
    }
}
