#version 450
// Cross-entropy over a vocabulary, one work group per row; a target outside [0, vocab)
// (-1 = ignored) gives loss 0 and no gradient, as the CPU does.
// BACKWARD = 0: out[r] = logsumexp(l[r, :]) - l[r, t].
// BACKWARD = 1: out[r, j] += scale * (softmax(l[r, :])_j - [j == t]).
// Bindings: 0 out (loss or dlogits), 1 logits, 2 target (int32).
#extension GL_GOOGLE_include_directive : require
#define MLTC_REDUCE
#include "common.glsl"
layout(local_size_x = 256) in;
layout(constant_id = 0) const int BACKWARD = 0;

layout(std430, binding = 0) buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer L { float l[]; };
layout(std430, binding = 2) readonly buffer T { int target[]; };

layout(push_constant) uniform Push {
    uint rows, vocab, o_off, l_off, t_off;
    float scale;
} pc;

void main() {
    uint r = group_index();
    if (r >= pc.rows) return;
    uint t = gl_LocalInvocationID.x, base = pc.l_off + r * pc.vocab;
    int tg = target[pc.t_off + r];
    if (tg < 0 || uint(tg) >= pc.vocab) {
        if (BACKWARD == 0 && t == 0u) o[pc.o_off + r] = 0.0;
        return;
    }
    float mx = neg_inf();
    for (uint j = t; j < pc.vocab; j += WG) mx = max(mx, l[base + j]);
    mx = wg_max(mx);
    float s = 0.0;
    for (uint j = t; j < pc.vocab; j += WG) s += exp(l[base + j] - mx);
    s = wg_sum(s);
    if (BACKWARD == 0) {
        if (t == 0u) o[pc.o_off + r] = log(s) + mx - l[base + uint(tg)];
    } else {
        float inv = 1.0 / s;
        for (uint j = t; j < pc.vocab; j += WG)
            o[pc.o_off + r * pc.vocab + j] += pc.scale * (exp(l[base + j] - mx) * inv - (j == uint(tg) ? 1.0 : 0.0));
    }
}
