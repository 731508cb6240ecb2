#version 450
// add_layernorm's backward, column sums in one dispatch (colsum_wg.glsl): dw += sum of dy * xhat,
// db += sum of dy, and dbias += sum of dx (with has_bias).
// Bindings: 0 x (the sum), 1 mean, 2 rstd, 3 dy, 4 dx, 5 dw, 6 db, 7 dbias.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "colsum_wg.glsl"
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
    uint rows, cols, x_off, mean_off, rstd_off, dy_off, dx_off, dw_off, db_off, dbias_off, has_bias;
} pc;

void main() {
    uint c = cs_col();
    vec3 s = vec3(0.0);
    if (c < pc.cols)
        for (uint r = cs_lane(); r < pc.rows; r += CS_LANES) {
            uint i = r * pc.cols + c;
            float d = dy[pc.dy_off + i];
            s.x += d * (x[pc.x_off + i] - mean[pc.mean_off + r]) * rstd[pc.rstd_off + r];
            s.y += d;
            if (pc.has_bias != 0u) s.z += dx[pc.dx_off + i];
        }
    s = cs_reduce(s);
    if (c < pc.cols && cs_lane() == 0u) {
        dw[pc.dw_off + c] += s.x;
        db[pc.db_off + c] += s.y;
        if (pc.has_bias != 0u) dbias[pc.dbias_off + c] += s.z;
    }
}
