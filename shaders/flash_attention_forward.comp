#version 450
// The fused training attention's forward (flash-attention style, fp32): one invocation per query
// row, the keys and values staged FA_TILE rows at a time in shared memory, an online softmax over
// them; writes the context row and the row's log-sum-exp (FA_NO_KEYS when every key is masked).
// The head size is a specialization constant (DIM, pc.D equals it) and every loop over keys runs
// to FA_TILE, so the loops unroll and the row's q, accumulator and scores stay in registers
// (with a loop bound from push constants the arrays were indexed at run time: on RDNA3 that
// spilled them to scratch).
// Bindings: 0 q, 1 k, 2 v, 3 out, 4 lse, 5 key_mask [B, T] (read only with has_mask).
#extension GL_GOOGLE_include_directive : require
#include "philox.glsl"
#include "flash_attention.glsl"
#include "common.glsl"
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint DIM = 64u; // head size, 1..FA_DMAX

layout(std430, binding = 0) readonly buffer Q { float q[]; };
layout(std430, binding = 1) readonly buffer K { float k[]; };
layout(std430, binding = 2) readonly buffer V { float v[]; };
layout(std430, binding = 3) writeonly buffer O { float o[]; };
layout(std430, binding = 4) writeonly buffer L { float lse[]; };
layout(std430, binding = 5) readonly buffer M { float mask[]; };

layout(push_constant) uniform Push {
    uint problems, H, R, T, D, has_mask;
    uint q_off, k_off, v_off, o_off, lse_off, mask_off;
    uint q_ld, q_stride, k_ld, k_stride, v_ld, v_stride, o_ld, o_stride;
    float scale, p;
    uint seed_lo, seed_hi, off_lo, off_hi;
} pc;

shared float ks[FA_TILE * DIM], vs[FA_TILE * DIM];

void main() {
    uint tiles = (pc.R + WG - 1u) / WG, g = group_index(), t = gl_LocalInvocationID.x;
    uint pr = g / tiles, i = (g % tiles) * WG + t, b = pr / pc.H, h = pr % pc.H;
    if (pr >= pc.problems) return; // a spare group of a 2-D grid: the whole group leaves
    bool valid = i < pc.R;
    float qr[DIM], acc[DIM];
    uint qb = pc.q_off + b * pc.q_stride + h * DIM + (valid ? i : 0u) * pc.q_ld;
    for (uint d = 0u; d < DIM; d++) {
        qr[d] = valid ? pc.scale * q[qb + d] : 0.0;
        acc[d] = 0.0;
    }
    uint kb = pc.k_off + b * pc.k_stride + h * DIM, vb = pc.v_off + b * pc.v_stride + h * DIM;
    uint first = (pr * pc.R + i) * pc.T;
    uvec2 seed = uvec2(pc.seed_lo, pc.seed_hi), offset = uvec2(pc.off_lo, pc.off_hi);
    float m = neg_inf(), l = 0.0;
    uvec4 words = uvec4(0u);
    for (uint j0 = 0u; j0 < pc.T; j0 += FA_TILE) {
        uint n = min(uint(FA_TILE), pc.T - j0);
        for (uint e = t; e < FA_TILE * DIM; e += WG) {
            uint r = e / DIM, d = e % DIM;
            ks[e] = r < n ? k[kb + (j0 + r) * pc.k_ld + d] : 0.0;
            vs[e] = r < n ? v[vb + (j0 + r) * pc.v_ld + d] : 0.0;
        }
        barrier();
        if (valid) {
            float s[FA_TILE];
            float tmax = neg_inf();
            for (uint r = 0u; r < FA_TILE; r++) { // rows past n: no key (-inf)
                float dot = 0.0;
                for (uint d = 0u; d < DIM; d++) dot += qr[d] * ks[r * DIM + d];
                bool live = r < n && (pc.has_mask == 0u || mask[pc.mask_off + b * pc.T + j0 + r] != 0.0);
                s[r] = live ? dot : neg_inf();
                tmax = max(tmax, s[r]);
            }
            if (tmax > neg_inf()) { // online softmax: rescale what the earlier tiles summed
                float mn = max(m, tmax), corr = m == neg_inf() ? 0.0 : exp(m - mn);
                l *= corr;
                for (uint d = 0u; d < DIM; d++) acc[d] *= corr;
                for (uint r = 0u; r < FA_TILE; r++) {
                    if (r >= n) break;
                    float z = pc.p > 0.0 ? fa_factor(seed, offset, first + j0 + r, pc.p, r == 0u, words) : 1.0;
                    if (s[r] == neg_inf()) continue;
                    float e = exp(s[r] - mn);
                    l += e;
                    float pz = e * z;
                    if (pz != 0.0)
                        for (uint d = 0u; d < DIM; d++) acc[d] += pz * vs[r * DIM + d];
                }
                m = mn;
            }
        }
        barrier();
    }
    if (!valid) return;
    uint ob = pc.o_off + b * pc.o_stride + h * DIM + i * pc.o_ld;
    float inv = l > 0.0 ? 1.0 / l : 0.0;
    for (uint d = 0u; d < DIM; d++) o[ob + d] = acc[d] * inv;
    lse[pc.lse_off + pr * pc.R + i] = l > 0.0 ? m + log(l) : FA_NO_KEYS;
}
