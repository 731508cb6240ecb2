#version 450
// add_layernorm's backward, column sums in one pass over the rows, deterministic with no atomics:
// one invocation per (chunk of rows_per_chunk rows, column) sums, in row order, dy * xhat (dw),
// dy (db) and dx (dbias, with has_bias). With one chunk (accumulate) it adds them into the
// gradients; otherwise they are three regions of a scratch buffer that colsum3.comp adds up.
// Bindings: 0 x (the sum), 1 mean, 2 rstd, 3 dy, 4 dx, 5 dw, 6 db, 7 dbias (or partials).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Mean { float mean[]; };
layout(std430, binding = 2) readonly buffer Rstd { float rstd[]; };
layout(std430, binding = 3) readonly buffer DY { float dy[]; };
layout(std430, binding = 4) readonly buffer DX { float dx[]; };
layout(std430, binding = 5) buffer DW { float dw[]; };
layout(std430, binding = 6) buffer DB { float db[]; };
layout(std430, binding = 7) buffer DBias { float dbias[]; };

layout(push_constant) uniform Push {
    uint rows, cols, x_off, mean_off, rstd_off, dy_off, dx_off, dw_off, db_off, dbias_off;
    uint rows_per_chunk, nchunks, accumulate, has_bias;
} pc;

void main() {
    uint stride = gl_NumWorkGroups.x * WG;
    uint n = pc.nchunks * pc.cols;
    for (uint e = gl_GlobalInvocationID.x; e < n; e += stride) {
        uint j = e / pc.cols, c = e - j * pc.cols;
        uint r1 = min(pc.rows, (j + 1u) * pc.rows_per_chunk);
        float gw = 0.0, gb = 0.0, gd = 0.0;
        for (uint r = j * pc.rows_per_chunk; r < r1; r++) {
            uint i = r * pc.cols + c;
            float d = dy[pc.dy_off + i];
            gw += d * (x[pc.x_off + i] - mean[pc.mean_off + r]) * rstd[pc.rstd_off + r];
            gb += d;
            if (pc.has_bias != 0u) gd += dx[pc.dx_off + i];
        }
        if (pc.accumulate != 0u) {
            dw[pc.dw_off + e] += gw;
            db[pc.db_off + e] += gb;
            if (pc.has_bias != 0u) dbias[pc.dbias_off + e] += gd;
        } else {
            dw[pc.dw_off + e] = gw;
            db[pc.db_off + e] = gb;
            if (pc.has_bias != 0u) dbias[pc.dbias_off + e] = gd;
        }
    }
}
