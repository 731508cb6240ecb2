#version 450
// y[i, :] = beta*y[i, :] + table[idx[i], :]; an index outside the table reads a zero row
// (as the CPU does). Bindings: 0 y, 1 table, 2 idx (int32).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer T { float table[]; };
layout(std430, binding = 2) readonly buffer I { int idx[]; };

layout(push_constant) uniform Push {
    uint n, cols, table_rows, y_off, t_off, i_off;
    float beta;
} pc;

void main() {
    uint stride = gl_NumWorkGroups.x * WG;
    uint total = pc.n * pc.cols;
    for (uint e = gl_GlobalInvocationID.x; e < total; e += stride) {
        uint i = e / pc.cols, c = e - i * pc.cols;
        int r = idx[pc.i_off + i];
        float v = (r >= 0 && uint(r) < pc.table_rows) ? table[pc.t_off + uint(r) * pc.cols + c] : 0.0;
        y[pc.y_off + e] = (pc.beta != 0.0 ? y[pc.y_off + e] : 0.0) + v;
    }
}
