#version 450
// LayerNorm backward, input gradient: dx = (dnorm - mean(dnorm) - xhat*mean(dnorm*xhat)) * rstd
// with dnorm = dy * w; one work group per row.
// Bindings: 0 x, 1 w, 2 mean, 3 rstd, 4 dy, 5 dx.
#extension GL_GOOGLE_include_directive : require
#define MLTC_REDUCE
#define WG 64u // see layernorm.comp
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) readonly buffer Mean { float mean[]; };
layout(std430, binding = 3) readonly buffer Rstd { float rstd[]; };
layout(std430, binding = 4) readonly buffer DY { float dy[]; };
layout(std430, binding = 5) buffer DX { float dx[]; };

layout(push_constant) uniform Push {
    uint rows, cols, x_off, w_off, mean_off, rstd_off, dy_off, dx_off;
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
    for (uint c = t; c < pc.cols; c += WG) {
        float xhat = (x[pc.x_off + base + c] - m) * s, dn = dy[pc.dy_off + base + c] * w[pc.w_off + c];
        dx[pc.dx_off + base + c] = (dn - dn_mean - xhat * dnx_mean) * s;
    }
}
