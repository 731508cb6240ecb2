#version 450
// Inverted dropout with the shared Philox mask: out = keep ? in*scale : 0 (out may be in; the
// backward is the same op on the gradient). Bindings: 0 out, 1 in.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "philox.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer In { float x[]; };

layout(push_constant) uniform Push {
    uint n, o_off, x_off;
    float p, scale;
    uint seed_lo, seed_hi, off_lo, off_hi;
} pc;

void main() {
    uint stride = gl_NumWorkGroups.x * WG;
    uvec2 seed = uvec2(pc.seed_lo, pc.seed_hi), off = uvec2(pc.off_lo, pc.off_hi);
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        bool keep = philox_uniform(seed, off, i) >= pc.p;
        o[pc.o_off + i] = keep ? x[pc.x_off + i] * pc.scale : 0.0;
    }
}
