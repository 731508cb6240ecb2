#version 450
// add_layernorm's backward, rows: dsum = LayerNorm's input gradient (as layernorm_dx.comp, x =
// the saved sum) and dx = the dropout of dsum (dx may be dsum when p is 0); one work group per row.
// Bindings: 0 x (the sum), 1 w, 2 mean, 3 rstd, 4 dy, 5 dsum, 6 dx.
#extension GL_GOOGLE_include_directive : require
#define MLTC_REDUCE
#define WG 64u // see layernorm.comp
#include "common.glsl"
#include "philox.glsl"
layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) readonly buffer Mean { float mean[]; };
layout(std430, binding = 3) readonly buffer Rstd { float rstd[]; };
layout(std430, binding = 4) readonly buffer DY { float dy[]; };
layout(std430, binding = 5) buffer DSum { float dsum[]; };
layout(std430, binding = 6) buffer DX { float dx[]; };

layout(push_constant) uniform Push {
    uint rows, cols, x_off, w_off, mean_off, rstd_off, dy_off, dsum_off, dx_off;
    float p, scale;
    uint seed_lo, seed_hi, off_lo, off_hi;
} pc;

void main() {
    uint r = group_index();
    if (r >= pc.rows) return;
    uint t = gl_LocalInvocationID.x, base = r * pc.cols;
    float m = mean[pc.mean_off + r], s = rstd[pc.rstd_off + r];
    vec3 acc = vec3(0.0);
    for (uint c = t; c < pc.cols; c += WG) {
        float xhat = (x[pc.x_off + base + c] - m) * s, dn = dy[pc.dy_off + base + c] * w[pc.w_off + c];
        acc.x += dn;
        acc.y += dn * xhat;
    }
    vec3 tot = wg_sum3(acc);
    float dn_mean = tot.x / float(pc.cols), dnx_mean = tot.y / float(pc.cols);
    uvec2 seed = uvec2(pc.seed_lo, pc.seed_hi), off = uvec2(pc.off_lo, pc.off_hi);
    for (uint c = t; c < pc.cols; c += WG) {
        float xhat = (x[pc.x_off + base + c] - m) * s, dn = dy[pc.dy_off + base + c] * w[pc.w_off + c];
        float g = (dn - dn_mean - xhat * dnx_mean) * s;
        dsum[pc.dsum_off + base + c] = g;
        if (pc.p > 0.0) g = philox_uniform(seed, off, base + c) >= pc.p ? g * pc.scale : 0.0;
        dx[pc.dx_off + base + c] = g;
    }
}
