#version 450
// colsum.comp for up to three column sums in one dispatch: output k < outputs gets
// dst_k[c] += sum over chunks j, in increasing j, of partial[p_off + k*nchunks*cols + j*cols + c].
// Bindings: 0 partial, 1 dst 0, 2 dst 1, 3 dst 2 (unused ones: any buffer).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer P { float partial[]; };
layout(std430, binding = 1) buffer D0 { float d0[]; };
layout(std430, binding = 2) buffer D1 { float d1[]; };
layout(std430, binding = 3) buffer D2 { float d2[]; };

layout(push_constant) uniform Push {
    uint nchunks, cols, p_off, d0_off, d1_off, d2_off, outputs;
} pc;

void main() {
    uint stride = gl_NumWorkGroups.x * WG;
    for (uint e = gl_GlobalInvocationID.x; e < pc.outputs * pc.cols; e += stride) {
        uint k = e / pc.cols, c = e - k * pc.cols;
        uint p = pc.p_off + k * pc.nchunks * pc.cols + c;
        float s = 0.0;
        for (uint j = 0u; j < pc.nchunks; j++) s += partial[p + j * pc.cols];
        if (k == 0u) d0[pc.d0_off + c] += s;
        else if (k == 1u) d1[pc.d1_off + c] += s;
        else d2[pc.d2_off + c] += s;
    }
}
