#version 450
// Second pass of the deterministic column reductions (bias and layernorm parameter
// gradients): dst[c] += sum over chunks j, in increasing j, of partial[j*cols + c].
// Bindings: 0 partial, 1 dst.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer P { float partial[]; };
layout(std430, binding = 1) buffer D { float dst[]; };

layout(push_constant) uniform Push {
    uint nchunks, cols, p_off, d_off;
} pc;

void main() {
    uint stride = gl_NumWorkGroups.x * WG;
    for (uint c = gl_GlobalInvocationID.x; c < pc.cols; c += stride) {
        float s = 0.0;
        for (uint j = 0u; j < pc.nchunks; j++) s += partial[pc.p_off + j * pc.cols + c];
        dst[pc.d_off + c] += s;
    }
}
