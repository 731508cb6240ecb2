#version 450
// Cosine label attention backward, three dispatches with no float atomics:
// STAGE 0: one work group per batch row b: da[b,t] = w[t] * (dout_b . h_bt - sum_t' w dout.h),
//          the gradient reaching word t's score, into scratch[0 .. B*T).
// STAGE 1: one work group per word bt: dh[bt, :] += w*dout + da*(l/(nh*nl) - sim*h/nh^2);
//          saves da/(nh*nl) and da*sim/nl^2 in scratch[B*T ..) for stage 2.
// STAGE 2: one invocation per (k, c): dl[k, c] accumulates its words in increasing (b, t),
//          exactly the CPU's order.
// Bindings: 0 h, 1 l, 2 weights, 3 argmax, 4 dout, 5 dh, 6 dl, 7 scratch [3*B*T].
#extension GL_GOOGLE_include_directive : require
#define MLTC_REDUCE
#include "common.glsl"
layout(local_size_x = 256) in;
layout(constant_id = 0) const int STAGE = 0;

layout(std430, binding = 0) readonly buffer H { float h[]; };
layout(std430, binding = 1) readonly buffer L { float l[]; };
layout(std430, binding = 2) readonly buffer Wt { float wt[]; };
layout(std430, binding = 3) readonly buffer Am { int am[]; };
layout(std430, binding = 4) readonly buffer Dout { float dout[]; };
layout(std430, binding = 5) buffer DH { float dh[]; };
layout(std430, binding = 6) buffer DL { float dl[]; };
layout(std430, binding = 7) buffer Scratch { float scr[]; };

layout(push_constant) uniform Push {
    uint batch, words, labels, dim, h_off, l_off, w_off, am_off, dout_off, dh_off, dl_off;
} pc;

const float NORM_EPS = 1e-12;

void score_grads(uint b) {
    uint t = gl_LocalInvocationID.x, bt0 = b * pc.words;
    float s = 0.0;
    for (uint i = t; i < pc.words; i += WG) {
        uint bt = bt0 + i;
        float d = 0.0;
        if (am[pc.am_off + bt] >= 0) {
            for (uint c = 0u; c < pc.dim; c++) d += dout[pc.dout_off + b * pc.dim + c] * h[pc.h_off + bt * pc.dim + c];
            s += wt[pc.w_off + bt] * d;
        }
        scr[bt] = d;
    }
    s = wg_sum(s);
    // Each invocation rewrites only the entries it wrote above.
    for (uint i = t; i < pc.words; i += WG) {
        uint bt = bt0 + i;
        if (am[pc.am_off + bt] >= 0) scr[bt] = wt[pc.w_off + bt] * (scr[bt] - s);
    }
}

void word_grads(uint bt) {
    int k = am[pc.am_off + bt];
    if (k < 0) return;
    uint t = gl_LocalInvocationID.x, b = bt / pc.words;
    uint hb = pc.h_off + bt * pc.dim, lb = pc.l_off + uint(k) * pc.dim;
    vec3 acc = vec3(0.0);
    for (uint c = t; c < pc.dim; c += WG) {
        float hv = h[hb + c], lv = l[lb + c];
        acc += vec3(hv * hv, lv * lv, hv * lv);
    }
    vec3 tot = wg_sum3(acc);
    float nh = sqrt(tot.x + NORM_EPS), nl = sqrt(tot.y + NORM_EPS), sim = tot.z / (nh * nl);
    float w = wt[pc.w_off + bt], da = scr[bt];
    uint BT = pc.batch * pc.words;
    for (uint c = t; c < pc.dim; c += WG)
        dh[pc.dh_off + bt * pc.dim + c] += w * dout[pc.dout_off + b * pc.dim + c] +
                                          da * (l[lb + c] / (nh * nl) - sim * h[hb + c] / (nh * nh));
    if (t == 0u) {
        scr[BT + bt] = da / (nh * nl);
        scr[2u * BT + bt] = da * sim / (nl * nl);
    }
}

void label_grads() {
    uint stride = gl_NumWorkGroups.x * WG;
    uint BT = pc.batch * pc.words, total = pc.labels * pc.dim;
    for (uint e = gl_GlobalInvocationID.x; e < total; e += stride) {
        uint k = e / pc.dim, c = e - k * pc.dim;
        float lv = l[pc.l_off + e];
        float acc = dl[pc.dl_off + e];
        for (uint bt = 0u; bt < BT; bt++)
            if (am[pc.am_off + bt] == int(k)) acc += scr[BT + bt] * h[pc.h_off + bt * pc.dim + c] - scr[2u * BT + bt] * lv;
        dl[pc.dl_off + e] = acc;
    }
}

void main() {
    uint g = group_index();
    if (STAGE == 0) {
        if (g < pc.batch) score_grads(g);
    } else if (STAGE == 1) {
        if (g < pc.batch * pc.words) word_grads(g);
    } else {
        label_grads();
    }
}
