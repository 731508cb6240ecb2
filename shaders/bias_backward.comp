#version 450
// dbias[c] += sum over r of dy[r, c] in one dispatch (colsum_wg.glsl). Bindings: 0 dy, 1 dbias.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "colsum_wg.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) buffer Out { float o[]; };

layout(push_constant) uniform Push {
    uint rows, cols, dy_off, o_off;
} pc;

void main() {
    uint c = cs_col();
    float s = 0.0;
    if (c < pc.cols)
        for (uint r = cs_lane(); r < pc.rows; r += CS_LANES) s += dy[pc.dy_off + r * pc.cols + c];
    s = cs_reduce(vec3(s, 0.0, 0.0)).x;
    if (c < pc.cols && cs_lane() == 0u) o[pc.o_off + c] += s;
}
