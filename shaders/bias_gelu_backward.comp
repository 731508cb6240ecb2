#version 450
// dx = dy * gelu'(pre) and dbias[c] += the column sums of dx, in one dispatch (colsum_wg.glsl).
// dx may be dy: each element is read, then written, by one invocation.
// Bindings: 0 dy, 1 pre, 2 dx, 3 dbias.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "erf.glsl"
#include "colsum_wg.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer Pre { float pre[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };
layout(std430, binding = 3) buffer Out { float o[]; };

layout(push_constant) uniform Push {
    uint rows, cols, dy_off, pre_off, dx_off, o_off;
} pc;

const float INV_SQRT2 = 0.70710678118654752440;
const float INV_SQRT_2PI = 0.39894228040143267794;

void main() {
    uint c = cs_col();
    float s = 0.0;
    if (c < pc.cols)
        for (uint r = cs_lane(); r < pc.rows; r += CS_LANES) {
            uint i = r * pc.cols + c;
            float v = pre[pc.pre_off + i];
            float cdf = 0.5 * (1.0 + erf_approx(v * INV_SQRT2)), pdf = INV_SQRT_2PI * exp(-0.5 * v * v);
            float g = dy[pc.dy_off + i] * (cdf + v * pdf);
            dx[pc.dx_off + i] = g;
            s += g;
        }
    s = cs_reduce(vec3(s, 0.0, 0.0)).x;
    if (c < pc.cols && cs_lane() == 0u) o[pc.o_off + c] += s;
}
