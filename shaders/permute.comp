#version 450
// y = permutation of x (ndim <= 6). The host passes y's dims and, for each y axis, the
// stride of the x axis it comes from. ACCUMULATE (push) adds instead of storing.
// Bindings: 0 y, 1 x.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };

layout(push_constant) uniform Push {
    uint n, y_off, x_off, ndim, accumulate;
    uint ydims[6];
    uint xstride[6];
} pc;

void main() {
    uint stride = gl_NumWorkGroups.x * WG;
    for (uint o = gl_GlobalInvocationID.x; o < pc.n; o += stride) {
        uint rest = o, src = 0u;
        for (int j = int(pc.ndim) - 1; j >= 0; j--) {
            src += (rest % pc.ydims[j]) * pc.xstride[j];
            rest /= pc.ydims[j];
        }
        float v = x[pc.x_off + src];
        if (pc.accumulate != 0u) v += y[pc.y_off + o];
        y[pc.y_off + o] = v;
    }
}
