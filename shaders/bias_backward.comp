#version 450
// dbias[c] += sum over r of dy[r, c], without atomics and deterministic: one invocation per
// (chunk of rows_per_chunk rows, column) sums its rows in order. With one chunk (ACCUMULATE)
// it adds into out = dbias; otherwise out = partial[chunk*cols + c] and colsum.comp adds the
// chunks in order. Bindings: 0 dy, 1 out.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) buffer Out { float o[]; };

layout(push_constant) uniform Push {
    uint rows, cols, dy_off, o_off, rows_per_chunk, nchunks, accumulate;
} pc;

void main() {
    uint stride = gl_NumWorkGroups.x * WG;
    uint n = pc.nchunks * pc.cols;
    for (uint e = gl_GlobalInvocationID.x; e < n; e += stride) {
        uint j = e / pc.cols, c = e - j * pc.cols;
        uint r1 = min(pc.rows, (j + 1u) * pc.rows_per_chunk);
        float s = 0.0;
        for (uint r = j * pc.rows_per_chunk; r < r1; r++) s += dy[pc.dy_off + r * pc.cols + c];
        if (pc.accumulate != 0u) o[pc.o_off + e] += s;
        else o[pc.o_off + e] = s;
    }
}
