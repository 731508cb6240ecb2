#version 450
// LayerNorm backward, parameter gradients, deterministic with no atomics: one invocation per
// (chunk of rows_per_chunk rows, column) sums its rows in order. With one chunk
// (ACCUMULATE) it adds into dw and db; otherwise dw and db are two regions of a scratch
// buffer (partials at [chunk*cols + c]) that colsum.comp adds in order.
// Bindings: 0 x, 1 mean, 2 rstd, 3 dy, 4 dw (or partials), 5 db (or partials).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Mean { float mean[]; };
layout(std430, binding = 2) readonly buffer Rstd { float rstd[]; };
layout(std430, binding = 3) readonly buffer DY { float dy[]; };
layout(std430, binding = 4) buffer DW { float dw[]; };
layout(std430, binding = 5) buffer DB { float db[]; };

layout(push_constant) uniform Push {
    uint rows, cols, x_off, mean_off, rstd_off, dy_off, dw_off, db_off, rows_per_chunk, nchunks, accumulate;
} pc;

void main() {
    uint stride = gl_NumWorkGroups.x * WG;
    uint n = pc.nchunks * pc.cols;
    for (uint e = gl_GlobalInvocationID.x; e < n; e += stride) {
        uint j = e / pc.cols, c = e - j * pc.cols;
        uint r1 = min(pc.rows, (j + 1u) * pc.rows_per_chunk);
        float gw = 0.0, gb = 0.0;
        for (uint r = j * pc.rows_per_chunk; r < r1; r++) {
            uint i = r * pc.cols + c;
            float d = dy[pc.dy_off + i];
            gw += d * (x[pc.x_off + i] - mean[pc.mean_off + r]) * rstd[pc.rstd_off + r];
            gb += d;
        }
        if (pc.accumulate != 0u) {
            dw[pc.dw_off + e] += gw;
            db[pc.db_off + e] += gb;
        } else {
            dw[pc.dw_off + e] = gw;
            db[pc.db_off + e] = gb;
        }
    }
}
