#version 450
// y = alpha*a + beta*b elementwise; y may be the same buffer as a or b (same index only).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer A { float a[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };

layout(push_constant) uniform Push {
    uint n, y_off, a_off, b_off;
    float alpha, beta;
} pc;

void main() {
    uint stride = gl_NumWorkGroups.x * WG;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride)
        y[pc.y_off + i] = pc.alpha * a[pc.a_off + i] + pc.beta * b[pc.b_off + i];
}
