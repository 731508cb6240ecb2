#version 450
// Sum of squares in a fixed order. STAGE 0: work group g reduces elements
// [g*CHUNK, (g+1)*CHUNK) of its piece into partial[o_off + g] (a piece of a large buffer
// starts at chunk o_off). STAGE 1: one work group reduces the partials into out[o_off].
// The order depends only on n, never on scheduling (deterministic).
// Bindings: 0 x (stage 0) / partials (stage 1), 1 partials (stage 0) / out (stage 1).
#extension GL_GOOGLE_include_directive : require
#define MLTC_REDUCE
#include "common.glsl"
layout(local_size_x = 256) in;
layout(constant_id = 0) const int STAGE = 0;

layout(std430, binding = 0) readonly buffer In { float x[]; };
layout(std430, binding = 1) buffer Out { float o[]; };

layout(push_constant) uniform Push {
    uint n, chunk, x_off, o_off;
} pc;

void main() {
    uint t = gl_LocalInvocationID.x;
    if (STAGE == 0) {
        uint g = group_index();
        uint start = g * pc.chunk;
        if (start >= pc.n) return;
        uint end = min(start + pc.chunk, pc.n);
        float s = 0.0;
        for (uint i = start + t; i < end; i += WG) {
            float v = x[pc.x_off + i];
            s += v * v;
        }
        s = wg_sum(s);
        if (t == 0u) o[pc.o_off + g] = s;
    } else {
        float s = 0.0;
        for (uint i = t; i < pc.n; i += WG) s += x[i];
        s = wg_sum(s);
        if (t == 0u) o[pc.o_off] = s;
    }
}
