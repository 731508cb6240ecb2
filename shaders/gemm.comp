#version 450
// C = alpha * op(A) * op(B) + beta * C, row-major, strided-batched: work group z is problem
// (z / heads, z % heads), at z / heads * stride + z % heads * head_stride of each matrix.
// A square tile of C per work group of 16x16 invocations, each computing an R x R block in
// registers (register blocking) from tile x 8 / 8 x tile slices of A and B staged in shared
// memory. Three tiles (specialization): large 128 (R 8: 64 multiply-adds per 16 shared loads,
// 8.3 KB shared; on lavapipe 2-3x faster than 64), medium 64 (R 4) and small 32 (R 2), so a
// GEMM with few rows or columns still launches enough work groups to fill a GPU
// (src/device/vulkan/matmul.c picks one per shape and device).
// TRANS_A / TRANS_B pick how tiles are read, so each variant loads along the contiguous axis of
// the stored matrix. beta == 0 never reads C. Any size: loads outside the matrices read 0 and
// stores outside C are skipped.
// bias (has_bias): C += bias[col] in the store, where the op has one (batch 1, dense C).
// Bindings: 0 A, 1 B, 2 C, 3 bias.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 16, local_size_y = 16) in;
layout(constant_id = 0) const int TRANS_A = 0;
// Specialization 1 holds TRANS_B in bit 0 and the tile above it: 0 large, 1 medium, 2 small.
layout(constant_id = 1) const int SPEC1 = 0;
const int TRANS_B = SPEC1 & 1;
const uint R = 8u >> uint(SPEC1 >> 1); // outputs per invocation per side

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) buffer Cm { float c[]; };
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };

layout(push_constant) uniform Push {
    uint m, n, k, lda, ldb, ldc, a_off, b_off, c_off, stride_a, stride_b, stride_c;
    float alpha, beta;
    uint heads, head_stride_a, head_stride_b, head_stride_c;
    // Split-K: work group z is split z % splits of problem z / splits, summing k from
    // split * k_chunk over at most k_chunk, its partial C at split * split_stride (the host
    // passes alpha 1, beta 0 and sums the partials in splitk_reduce.comp). Else splits 1.
    uint k_chunk, splits, split_stride;
    uint has_bias, bias_off;
} pc;

#define T 16u // invocations per side
const uint BM = T * R;
const uint BN = T * R;
#define BK 8u

shared float As[BK][BM + 1u];
shared float Bs[BK][BN + 1u];

void main() {
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    uint tid = ty * T + tx;
    uint row0 = gl_WorkGroupID.y * BM, col0 = gl_WorkGroupID.x * BN;
    uint z = gl_WorkGroupID.z / pc.splits, split = gl_WorkGroupID.z % pc.splits;
    uint zb = z / pc.heads, zh = z % pc.heads;
    uint abase = pc.a_off + zb * pc.stride_a + zh * pc.head_stride_a;
    uint bbase = pc.b_off + zb * pc.stride_b + zh * pc.head_stride_b;
    uint cbase = pc.c_off + zb * pc.stride_c + zh * pc.head_stride_c + split * pc.split_stride;
    uint kbegin = split * pc.k_chunk, kend = min(pc.k, kbegin + pc.k_chunk);

    float acc[R][R];
    for (uint i = 0u; i < R; i++)
        for (uint j = 0u; j < R; j++) acc[i][j] = 0.0;

    for (uint k0 = kbegin; k0 < kend; k0 += BK) {
        // BM * BK elements of each slice: 4, 2 or 1 per invocation.
        for (uint idx = tid; idx < BM * BK; idx += T * T) {
            uint mm, kk;
            if (TRANS_A == 0) { kk = idx % BK; mm = idx / BK; }
            else { mm = idx % BM; kk = idx / BM; }
            uint gr = row0 + mm, gk = k0 + kk;
            float v = 0.0;
            if (gr < pc.m && gk < kend) v = TRANS_A == 0 ? a[abase + gr * pc.lda + gk] : a[abase + gk * pc.lda + gr];
            As[kk][mm] = v;
        }
        for (uint idx = tid; idx < BN * BK; idx += T * T) {
            uint nn, kk;
            if (TRANS_B == 0) { nn = idx % BN; kk = idx / BN; }
            else { kk = idx % BK; nn = idx / BK; }
            uint gc = col0 + nn, gk = k0 + kk;
            float v = 0.0;
            if (gc < pc.n && gk < kend) v = TRANS_B == 0 ? b[bbase + gk * pc.ldb + gc] : b[bbase + gc * pc.ldb + gk];
            Bs[kk][nn] = v;
        }
        barrier();
        for (uint kk = 0u; kk < BK; kk++) {
            float ar[R], br[R];
            // Rows ty, ty+16, ...: neighbouring invocations read neighbouring banks.
            for (uint i = 0u; i < R; i++) ar[i] = As[kk][ty + T * i];
            for (uint j = 0u; j < R; j++) br[j] = Bs[kk][tx + T * j];
            for (uint i = 0u; i < R; i++)
                for (uint j = 0u; j < R; j++) acc[i][j] += ar[i] * br[j];
        }
        barrier();
    }

    for (uint i = 0u; i < R; i++) {
        uint r = row0 + ty + T * i;
        if (r >= pc.m) continue;
        for (uint j = 0u; j < R; j++) {
            uint col = col0 + tx + T * j;
            if (col >= pc.n) continue;
            uint ci = cbase + r * pc.ldc + col;
            float v = pc.alpha * acc[i][j];
            if (pc.beta != 0.0) v += pc.beta * c[ci];
            if (pc.has_bias != 0u) v += bias[pc.bias_off + col];
            c[ci] = v;
        }
    }
}
