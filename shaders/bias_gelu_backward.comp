#version 450
// dx = dy * gelu'(pre) and the column sums of dx in one pass, deterministic with no atomics: one
// invocation per (chunk of rows_per_chunk rows, column) writes its elements of dx and sums them
// in row order, into dbias (accumulate: one chunk) or a partial that colsum.comp adds up. dx may
// be dy: each element is read, then written, by one invocation.
// Bindings: 0 dy, 1 pre, 2 dx, 3 out (dbias or partials).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "erf.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer Pre { float pre[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };
layout(std430, binding = 3) buffer Out { float o[]; };

layout(push_constant) uniform Push {
    uint rows, cols, dy_off, pre_off, dx_off, o_off, rows_per_chunk, nchunks, accumulate;
} pc;

const float INV_SQRT2 = 0.70710678118654752440;
const float INV_SQRT_2PI = 0.39894228040143267794;

void main() {
    uint stride = gl_NumWorkGroups.x * WG;
    uint n = pc.nchunks * pc.cols;
    for (uint e = gl_GlobalInvocationID.x; e < n; e += stride) {
        uint j = e / pc.cols, c = e - j * pc.cols;
        uint r1 = min(pc.rows, (j + 1u) * pc.rows_per_chunk);
        float s = 0.0;
        for (uint r = j * pc.rows_per_chunk; r < r1; r++) {
            uint i = r * pc.cols + c;
            float v = pre[pc.pre_off + i];
            float cdf = 0.5 * (1.0 + erf_approx(v * INV_SQRT2)), pdf = INV_SQRT_2PI * exp(-0.5 * v * v);
            float g = dy[pc.dy_off + i] * (cdf + v * pdf);
            dx[pc.dx_off + i] = g;
            s += g;
        }
        if (pc.accumulate != 0u) o[pc.o_off + e] += s;
        else o[pc.o_off + e] = s;
    }
}
