#version 450
// Cosine label attention forward (device.h, dev_label_attention).
// STAGE 0: one work group per word (b, t): the best label by cosine similarity (ties: the
//          smallest k) -> weights[b,t] = score, argmax[b,t] = k; masked words get -1 and 0.
// STAGE 1: one work group per batch row b: softmax of the scores over real words, then
//          out[b, :] = sum_t w[t] * h[b, t, :]; a row with no real word gives zeros.
// Bindings: 0 h, 1 l, 2 word_mask, 3 out, 4 weights, 5 argmax (int32).
#extension GL_GOOGLE_include_directive : require
#define MLTC_REDUCE
#include "common.glsl"
layout(local_size_x = 256) in;
layout(constant_id = 0) const int STAGE = 0;

layout(std430, binding = 0) readonly buffer H { float h[]; };
layout(std430, binding = 1) readonly buffer L { float l[]; };
layout(std430, binding = 2) readonly buffer Mask { float mask[]; };
layout(std430, binding = 3) buffer Out { float o[]; };
layout(std430, binding = 4) buffer Wt { float wt[]; };
layout(std430, binding = 5) buffer Am { int am[]; };

layout(push_constant) uniform Push {
    uint batch, words, labels, dim, h_off, l_off, mask_off, o_off, w_off, am_off;
} pc;

shared float best_s[WG];
shared int best_k[WG];

const float NORM_EPS = 1e-12;

void scores(uint bt) {
    uint t = gl_LocalInvocationID.x;
    if (mask[pc.mask_off + bt] == 0.0) {
        if (t == 0u) {
            am[pc.am_off + bt] = -1;
            wt[pc.w_off + bt] = 0.0;
        }
        return;
    }
    uint hb = pc.h_off + bt * pc.dim;
    float s = 0.0;
    for (uint c = t; c < pc.dim; c += WG) s += h[hb + c] * h[hb + c];
    float nh = sqrt(wg_sum(s) + NORM_EPS);
    // Each invocation scores labels t, t + WG, ... in increasing k, keeping the first best.
    float best = neg_inf();
    int bk = -1;
    for (uint k = t; k < pc.labels; k += WG) {
        uint lb = pc.l_off + k * pc.dim;
        float d = 0.0, nl = 0.0;
        for (uint c = 0u; c < pc.dim; c++) {
            d += h[hb + c] * l[lb + c];
            nl += l[lb + c] * l[lb + c];
        }
        float sim = d / (nh * sqrt(nl + NORM_EPS));
        if (sim > best) {
            best = sim;
            bk = int(k);
        }
    }
    best_s[t] = best;
    best_k[t] = bk;
    barrier();
    for (uint st = WG / 2u; st > 0u; st >>= 1u) {
        if (t < st) {
            float o2 = best_s[t + st];
            int k2 = best_k[t + st];
            if (k2 >= 0 && (best_k[t] < 0 || o2 > best_s[t] || (o2 == best_s[t] && k2 < best_k[t]))) {
                best_s[t] = o2;
                best_k[t] = k2;
            }
        }
        barrier();
    }
    if (t == 0u) {
        am[pc.am_off + bt] = best_k[0];
        wt[pc.w_off + bt] = best_k[0] >= 0 ? best_s[0] : 0.0;
    }
}

void pool(uint b) {
    uint t = gl_LocalInvocationID.x, wb = pc.w_off + b * pc.words, ab = pc.am_off + b * pc.words;
    float mx = neg_inf();
    for (uint i = t; i < pc.words; i += WG)
        if (am[ab + i] >= 0) mx = max(mx, wt[wb + i]);
    mx = wg_max(mx);
    uint ob = pc.o_off + b * pc.dim;
    if (mx == neg_inf()) { // no real word
        for (uint c = t; c < pc.dim; c += WG) o[ob + c] = 0.0;
        return;
    }
    float s = 0.0;
    for (uint i = t; i < pc.words; i += WG)
        if (am[ab + i] >= 0) s += exp(wt[wb + i] - mx);
    float sum = wg_sum(s);
    for (uint c = t; c < pc.dim; c += WG) {
        float acc = 0.0;
        for (uint i = 0u; i < pc.words; i++)
            if (am[ab + i] >= 0) acc += exp(wt[wb + i] - mx) / sum * h[pc.h_off + (b * pc.words + i) * pc.dim + c];
        o[ob + c] = acc;
    }
    // Every invocation has read all scores (the barrier orders those reads before these
    // writes); now the scores become weights.
    barrier();
    for (uint i = t; i < pc.words; i += WG)
        if (am[ab + i] >= 0) wt[wb + i] = exp(wt[wb + i] - mx) / sum;
}

void main() {
    uint g = group_index();
    if (STAGE == 0) {
        if (g < pc.batch * pc.words) scores(g);
    } else {
        if (g < pc.batch) pool(g);
    }
}
