#version 450
// y[r, c] += bias[c]. Bindings: 0 y, 1 bias.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer Bias { float bias[]; };

layout(push_constant) uniform Push {
    uint rows, cols, y_off, b_off;
} pc;

void main() {
    uint stride = gl_NumWorkGroups.x * WG;
    uint n = pc.rows * pc.cols;
    for (uint i = gl_GlobalInvocationID.x; i < n; i += stride) y[pc.y_off + i] += bias[pc.b_off + i % pc.cols];
}
