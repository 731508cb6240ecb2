#version 450
// Scaled masked softmax over rows of x[batch, heads, rows, cols]; one work group per row.
// BACKWARD = 0: y = softmax(scale*x) over unmasked columns; masked columns and all-masked
// rows give 0. BACKWARD = 1: dx = scale * y * (dy - sum_j dy*y), written (dx may be dy); with
// has_yd, y went through dropout, yd = dropout(y), dy is d yd, and dx = scale * (yd * dy - y *
// sum_j dy*yd). Bindings: 0 out (y or dx), 1 in (x or dy), 2 key_mask (fwd) / y (bwd), 3 yd.
#extension GL_GOOGLE_include_directive : require
#define MLTC_REDUCE
// 64 invocations per row: rows are short (BERT: 128..768), and fewer, fuller groups
// with shorter reduction trees ran 2-3x faster on lavapipe than 256.
#define WG 64u
#include "common.glsl"
layout(local_size_x = 64) in;
layout(constant_id = 0) const int BACKWARD = 0;

layout(std430, binding = 0) buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer In { float x[]; };
layout(std430, binding = 2) readonly buffer Aux { float aux[]; };
layout(std430, binding = 3) readonly buffer Yd { float yd[]; };

layout(push_constant) uniform Push {
    uint nrows, cols, rows_per_batch, has_mask, o_off, x_off, aux_off;
    float scale;
    uint has_yd, yd_off;
} pc;

bool kept(uint b, uint j) { return pc.has_mask == 0u || aux[pc.aux_off + b * pc.cols + j] != 0.0; }

void main() {
    uint r = group_index();
    if (r >= pc.nrows) return;
    uint t = gl_LocalInvocationID.x, base = r * pc.cols;
    if (BACKWARD == 1 && pc.has_yd != 0u) {
        float d = 0.0;
        for (uint j = t; j < pc.cols; j += WG) d += x[pc.x_off + base + j] * yd[pc.yd_off + base + j];
        float dot = wg_sum(d);
        for (uint j = t; j < pc.cols; j += WG) {
            float yj = aux[pc.aux_off + base + j], ydj = yd[pc.yd_off + base + j];
            o[pc.o_off + base + j] = pc.scale * (ydj * x[pc.x_off + base + j] - yj * dot);
        }
        return;
    }
    if (BACKWARD == 1) {
        float d = 0.0;
        for (uint j = t; j < pc.cols; j += WG) d += x[pc.x_off + base + j] * aux[pc.aux_off + base + j];
        float dot = wg_sum(d);
        for (uint j = t; j < pc.cols; j += WG) {
            float yj = aux[pc.aux_off + base + j];
            // In place (o and x the same memory) each invocation rewrites only its own columns,
            // read by it alone after the reduction.
            o[pc.o_off + base + j] = pc.scale * yj * (x[pc.x_off + base + j] - dot);
        }
        return;
    }
    uint b = r / pc.rows_per_batch;
    float mx = neg_inf();
    for (uint j = t; j < pc.cols; j += WG)
        if (kept(b, j)) mx = max(mx, pc.scale * x[pc.x_off + base + j]);
    mx = wg_max(mx);
    if (mx == neg_inf()) { // every key masked
        for (uint j = t; j < pc.cols; j += WG) o[pc.o_off + base + j] = 0.0;
        return;
    }
    float s = 0.0;
    for (uint j = t; j < pc.cols; j += WG) {
        float e = kept(b, j) ? exp(pc.scale * x[pc.x_off + base + j] - mx) : 0.0;
        o[pc.o_off + base + j] = e;
        s += e;
    }
    float inv = 1.0 / wg_sum(s);
    // Each invocation rescales only the columns it wrote itself: no cross-invocation hazard.
    for (uint j = t; j < pc.cols; j += WG) o[pc.o_off + base + j] *= inv;
}
