#version 450
// The fused training attention's backward (FlashAttention-2, fp32), in three stages (spec constant
// STAGE), with the probabilities and the dropout mask recomputed from q, k and lse:
//  0: delta_i = dout_i . out_i, one invocation per query row;
//  1: dq_i = scale sum_j ds_ij k_j, ds_ij = P_ij (z_ij dp_ij - delta_i), dp_ij = dout_i . v_j, one
//     invocation per query row, keys and values staged in shared memory;
//  2: dk_j = scale sum_i ds_ij q_i and dv_j = sum_i P_ij z_ij dout_i, one invocation per key, the
//     query rows, dout rows, lse and delta staged; every sum in order (deterministic). MODE (spec
//     constant 1) says what binding 4 receives: 0 dk at its offset and dv at dv_rel elements from it
//     (the two in one buffer), 1 dk only, 2 dv only.
// Bindings: 0 q (stage 0: out), 1 k, 2 v, 3 dout, 4 the gradient written (delta, dq, dk/dv),
// 5 lse, 6 delta, 7 key_mask [B, T] (read only with has_mask).
#extension GL_GOOGLE_include_directive : require
#include "philox.glsl"
#include "flash_attention.glsl"
#include "common.glsl"
layout(local_size_x = 64) in;
layout(constant_id = 0) const int STAGE = 0;
layout(constant_id = 1) const int MODE = 0;

layout(std430, binding = 0) readonly buffer Q { float q[]; };
layout(std430, binding = 1) readonly buffer K { float k[]; };
layout(std430, binding = 2) readonly buffer V { float v[]; };
layout(std430, binding = 3) readonly buffer G { float dout[]; };
layout(std430, binding = 4) writeonly buffer W { float w[]; };
layout(std430, binding = 5) readonly buffer L { float lse[]; };
layout(std430, binding = 6) readonly buffer Dl { float delta[]; };
layout(std430, binding = 7) readonly buffer M { float mask[]; };

layout(push_constant) uniform Push {
    uint problems, H, R, T, D, has_mask;
    uint q_off, k_off, v_off, g_off, w_off, lse_off, delta_off, mask_off;
    uint q_ld, q_stride, k_ld, k_stride, v_ld, v_stride, o_ld, o_stride;
    float scale, p;
    uint seed_lo, seed_hi, off_lo, off_hi;
    int dv_rel;
} pc;

shared float sa[FA_TILE * FA_DMAX], sb[FA_TILE * FA_DMAX], sl[FA_TILE], sd[FA_TILE], sz[FA_TILE * WG];

bool key_live(uint b, uint j) { return pc.has_mask == 0u || mask[pc.mask_off + b * pc.T + j] != 0.0; }

// Stage 0: binding 0 holds out (laid out as dout).
void stage_delta(uint pr, uint i, uint b, uint h) {
    if (i >= pc.R) return;
    uint ob = b * pc.o_stride + h * pc.D + i * pc.o_ld;
    float s = 0.0;
    for (uint d = 0u; d < pc.D; d++) s += dout[pc.g_off + ob + d] * q[pc.q_off + ob + d];
    w[pc.w_off + pr * pc.R + i] = s;
}

void stage_dq(uint pr, uint i, uint b, uint h, uint t) {
    bool valid = i < pc.R;
    float qr[FA_DMAX], gr[FA_DMAX], acc[FA_DMAX];
    uint qb = b * pc.q_stride + h * pc.D + (valid ? i : 0u) * pc.q_ld;
    uint gb = pc.g_off + b * pc.o_stride + h * pc.D + (valid ? i : 0u) * pc.o_ld;
    for (uint d = 0u; d < pc.D; d++) {
        qr[d] = valid ? pc.scale * q[pc.q_off + qb + d] : 0.0;
        gr[d] = valid ? dout[gb + d] : 0.0;
        acc[d] = 0.0;
    }
    float li = valid ? lse[pc.lse_off + pr * pc.R + i] : FA_NO_KEYS;
    float di = valid ? delta[pc.delta_off + pr * pc.R + i] : 0.0;
    uint kb = pc.k_off + b * pc.k_stride + h * pc.D, vb = pc.v_off + b * pc.v_stride + h * pc.D;
    uint first = (pr * pc.R + i) * pc.T;
    uvec2 seed = uvec2(pc.seed_lo, pc.seed_hi), offset = uvec2(pc.off_lo, pc.off_hi);
    uvec4 words = uvec4(0u);
    for (uint j0 = 0u; j0 < pc.T; j0 += FA_TILE) {
        uint n = min(uint(FA_TILE), pc.T - j0);
        for (uint e = t; e < FA_TILE * pc.D; e += WG) {
            uint r = e / pc.D, d = e % pc.D;
            sa[r * FA_DMAX + d] = r < n ? k[kb + (j0 + r) * pc.k_ld + d] : 0.0;
            sb[r * FA_DMAX + d] = r < n ? v[vb + (j0 + r) * pc.v_ld + d] : 0.0;
        }
        barrier();
        if (valid) {
            for (uint r = 0u; r < n; r++) {
                float z = pc.p > 0.0 ? fa_factor(seed, offset, first + j0 + r, pc.p, r == 0u, words) : 1.0;
                if (!key_live(b, j0 + r)) continue;
                float s = 0.0, dp = 0.0;
                for (uint d = 0u; d < pc.D; d++) {
                    s += qr[d] * sa[r * FA_DMAX + d];
                    dp += gr[d] * sb[r * FA_DMAX + d];
                }
                float ds = exp(s - li) * (z * dp - di);
                for (uint d = 0u; d < pc.D; d++) acc[d] += ds * sa[r * FA_DMAX + d];
            }
        }
        barrier();
    }
    if (!valid) return;
    for (uint d = 0u; d < pc.D; d++) w[pc.w_off + qb + d] = pc.scale * acc[d];
}

// The dropout factors of query rows i0 .. i0+n-1 over the group's WG keys j0 .. into sz: a row's
// keys are consecutive elements, so one Philox call serves four of them.
void stage_factors(uint pr, uint i0, uint n, uint j0, uint t) {
    const uint per_row = WG / 4u + 1u; // Philox groups a row of WG keys can touch
    uvec2 seed = uvec2(pc.seed_lo, pc.seed_hi);
    for (uint e = t; e < n * per_row; e += WG) {
        uint r = e / per_row;
        // 64-bit base = offset + element of (row i0 + r, key j0), as two words
        uint carry, el = (pr * pc.R + i0 + r) * pc.T + j0;
        uint lo = uaddCarry(pc.off_lo, el, carry), hi = pc.off_hi + carry;
        uint g_lo = ((lo >> 2) | (hi << 30)) + e % per_row, g_hi = (hi >> 2) + (g_lo < e % per_row ? 1u : 0u);
        uvec4 words = philox_words(g_lo, g_hi, seed.x, seed.y);
        for (uint lane = 0u; lane < 4u; lane++) {
            int c = int(e % per_row) * 4 + int(lane) - int(lo & 3u); // the key column this word serves
            if (c < 0 || c >= int(WG) || j0 + uint(c) >= pc.T) continue;
            sz[r * WG + uint(c)] = float(words[lane] >> 8) * (1.0 / 16777216.0) >= pc.p ? 1.0 / (1.0 - pc.p) : 0.0;
        }
    }
}

void stage_dkdv(uint pr, uint j, uint b, uint h, uint t) {
    bool live = j < pc.T && key_live(b, j < pc.T ? j : 0u);
    float kr[FA_DMAX], vr[FA_DMAX], dka[FA_DMAX], dva[FA_DMAX];
    uint kb = b * pc.k_stride + h * pc.D + (j < pc.T ? j : 0u) * pc.k_ld;
    uint vb = b * pc.v_stride + h * pc.D + (j < pc.T ? j : 0u) * pc.v_ld;
    for (uint d = 0u; d < pc.D; d++) {
        kr[d] = live ? pc.scale * k[pc.k_off + kb + d] : 0.0;
        vr[d] = live ? v[pc.v_off + vb + d] : 0.0;
        dka[d] = 0.0;
        dva[d] = 0.0;
    }
    uint qb = pc.q_off + b * pc.q_stride + h * pc.D, gb = pc.g_off + b * pc.o_stride + h * pc.D;
    for (uint i0 = 0u; i0 < pc.R; i0 += FA_TILE) {
        uint n = min(uint(FA_TILE), pc.R - i0);
        for (uint e = t; e < FA_TILE * pc.D; e += WG) {
            uint r = e / pc.D, d = e % pc.D;
            sa[r * FA_DMAX + d] = r < n ? q[qb + (i0 + r) * pc.q_ld + d] : 0.0;
            sb[r * FA_DMAX + d] = r < n ? dout[gb + (i0 + r) * pc.o_ld + d] : 0.0;
        }
        if (t < FA_TILE) {
            sl[t] = t < n ? lse[pc.lse_off + pr * pc.R + i0 + t] : FA_NO_KEYS;
            sd[t] = t < n ? delta[pc.delta_off + pr * pc.R + i0 + t] : 0.0;
        }
        if (pc.p > 0.0) stage_factors(pr, i0, n, j - t, t);
        barrier();
        if (live) {
            for (uint r = 0u; r < n; r++) {
                float s = 0.0, dp = 0.0;
                for (uint d = 0u; d < pc.D; d++) {
                    s += kr[d] * sa[r * FA_DMAX + d];
                    dp += vr[d] * sb[r * FA_DMAX + d];
                }
                float z = pc.p > 0.0 ? sz[r * WG + t] : 1.0;
                float P = exp(s - sl[r]), ds = P * (z * dp - sd[r]), pz = P * z;
                for (uint d = 0u; d < pc.D; d++) {
                    dva[d] += pz * sb[r * FA_DMAX + d];
                    dka[d] += ds * sa[r * FA_DMAX + d];
                }
            }
        }
        barrier();
    }
    if (j >= pc.T) return;
    if (MODE != 2)
        for (uint d = 0u; d < pc.D; d++) w[pc.w_off + kb + d] = pc.scale * dka[d];
    // MODE 0: dv lies dv_rel elements from dk's offset in the same buffer; MODE 2: at w_off
    uint dvb = MODE == 0 ? uint(int(pc.w_off) + pc.dv_rel) : pc.w_off;
    if (MODE != 1)
        for (uint d = 0u; d < pc.D; d++) w[dvb + vb + d] = dva[d];
}

void main() {
    uint rows = STAGE == 2 ? pc.T : pc.R;
    uint tiles = (rows + WG - 1u) / WG, g = group_index(), t = gl_LocalInvocationID.x;
    uint pr = g / tiles, i = (g % tiles) * WG + t, b = pr / pc.H, h = pr % pc.H;
    if (pr >= pc.problems) return; // a spare group of a 2-D grid: the whole group leaves
    if (STAGE == 0)
        stage_delta(pr, i, b, h);
    else if (STAGE == 1)
        stage_dq(pr, i, b, h, t);
    else
        stage_dkdv(pr, i, b, h, t);
}
