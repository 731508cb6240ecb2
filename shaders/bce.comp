#version 450
// Binary cross-entropy with logits. BACKWARD = 0: out = max(x,0) - x*y + log1p(exp(-|x|)).
// BACKWARD = 1: out += scale * (sigmoid(x) - y). Bindings: 0 out, 1 logits, 2 targets.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;
layout(constant_id = 0) const int BACKWARD = 0;

layout(std430, binding = 0) buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer T { float t[]; };

layout(push_constant) uniform Push {
    uint n, o_off, x_off, t_off;
    float scale;
} pc;

// GLSL has no log1p; log(1 + e) loses e's digits when e is tiny.
float log1p_small(float e) { return e < 1e-4 ? e * (1.0 - 0.5 * e) : log(1.0 + e); }

void main() {
    uint stride = gl_NumWorkGroups.x * WG;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        float v = x[pc.x_off + i], y = t[pc.t_off + i];
        if (BACKWARD == 0)
            o[pc.o_off + i] = max(v, 0.0) - v * y + log1p_small(exp(-abs(v)));
        else
            o[pc.o_off + i] += pc.scale * (1.0 / (1.0 + exp(-v)) - y);
    }
}
