#version 450
// dst[rows[s], :] += sum over p in [starts[s], starts[s+1]) of src[order[p], :], each sum
// formed in increasing p (the plan in device.h): deterministic, no float atomics. A
// destination row outside dst is skipped, as the CPU does.
// Bindings: 0 dst, 1 src, 2 rows, 3 starts, 4 order.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) buffer D { float dst[]; };
layout(std430, binding = 1) readonly buffer S { float src[]; };
layout(std430, binding = 2) readonly buffer R { int rows[]; };
layout(std430, binding = 3) readonly buffer St { int starts[]; };
layout(std430, binding = 4) readonly buffer O { int order[]; };

layout(push_constant) uniform Push {
    uint nseg, cols, cap_rows, d_off, s_off, r_off, st_off, o_off;
} pc;

void main() {
    uint stride = gl_NumWorkGroups.x * WG;
    uint total = pc.nseg * pc.cols;
    for (uint e = gl_GlobalInvocationID.x; e < total; e += stride) {
        uint s = e / pc.cols, c = e - s * pc.cols;
        int r = rows[pc.r_off + s];
        if (r < 0 || uint(r) >= pc.cap_rows) continue;
        float acc = 0.0;
        int end = starts[pc.st_off + s + 1u];
        for (int p = starts[pc.st_off + s]; p < end; p++) acc += src[pc.s_off + uint(order[pc.o_off + uint(p)]) * pc.cols + c];
        dst[pc.d_off + uint(r) * pc.cols + c] += acc;
    }
}
