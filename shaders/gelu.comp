#version 450
// GELU, erf form. BACKWARD = 0: out = gelu(x).  BACKWARD = 1: out = dy * gelu'(x).
// Bindings: 0 out (y or dx), 1 x, 2 dy (backward only). out may be x in the forward pass.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "erf.glsl"
layout(local_size_x = 256) in;
layout(constant_id = 0) const int BACKWARD = 0;

layout(std430, binding = 0) buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer DY { float dy[]; };

layout(push_constant) uniform Push {
    uint n, o_off, x_off, dy_off;
} pc;

const float INV_SQRT2 = 0.70710678118654752440;
const float INV_SQRT_2PI = 0.39894228040143267794;

void main() {
    uint stride = gl_NumWorkGroups.x * WG;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        float v = x[pc.x_off + i];
        float cdf = 0.5 * (1.0 + erf_approx(v * INV_SQRT2));
        if (BACKWARD == 0) {
            o[pc.o_off + i] = v * cdf;
        } else {
            float pdf = INV_SQRT_2PI * exp(-0.5 * v * v);
            o[pc.o_off + i] = dy[pc.dy_off + i] * (cdf + v * pdf);
        }
    }
}
