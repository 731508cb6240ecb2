/* Vulkan optimizer ops: the deterministic sum of squares (two passes through a scratch buffer) and
 * fused AdamW. */
#include <math.h>

#include "device/vulkan/ops.h"

#define SUMSQ_CHUNK 4096u /* elements per work group in the first pass */

mltc_status vk_sumsq(dev_ctx *ctx, dev_view out, dev_view x, size_t n) {
    vk_ctx *c = C(ctx);
    if (n == 0) return vk_fill(ctx, out, 1, 0.0f);
    size_t groups = (n + SUMSQ_CHUNK - 1) / SUMSQ_CHUNK;
    vk_buf *partial;
    mltc_status st = vk_scratch_get(c, groups * 4, &partial);
    if (st != MLTC_OK) return st;
    /* Pieces of whole chunks (the window is a multiple of SUMSQ_CHUNK): partial[g] covers the
     * same elements however the op is split, so the sum stays deterministic. */
    size_t w = vk_window_elems(c);
    for (size_t s = 0; s < n && st == MLTC_OK; s += w) {
        size_t k = n - s < w ? n - s : w, kg = (k + SUMSQ_CHUNK - 1) / SUMSQ_CHUNK;
        dev_view xs = dev_at(x, s);
        struct { uint32_t n, chunk, x, o; } p0 = {U(k), SUMSQ_CHUNK, U(xs.off), U(s / SUMSQ_CHUNK)};
        vk_arg a0[] = {VK_IN(xs, k, p0, x), VK_SCRATCH(partial, 1)};
        uint32_t gx, gy;
        vk_groups_2d(c, kg, 1, &gx, &gy);
        st = vk_dispatch(c, "sumsq", "sumsq", 0, 0, a0, 2, &p0, sizeof p0, gx, gy, 1);
    }
    if (st == MLTC_OK) {
        struct { uint32_t n, chunk, x, o; } p1 = {U(groups), 0, 0, U(out.off)};
        vk_arg a1[] = {VK_SCRATCH(partial, 0), VK_OUT(out, 1, p1, o)};
        st = vk_dispatch(c, "sumsq", "sumsq", 1, 0, a1, 2, &p1, sizeof p1, 1, 1, 1);
    }
    vk_scratch_put(c, partial);
    return st;
}

mltc_status vk_adamw(dev_ctx *ctx, const dev_adamw_args *a) {
    vk_ctx *c = C(ctx);
    /* The same float expressions as the CPU backend, so both round alike. */
    float bc1 = 1.0f - powf(a->beta1, (float)a->step), bc2 = 1.0f - powf(a->beta2, (float)a->step);
    for (size_t s = 0, k; s < a->n; s += k) {
        k = piece(c, a->n, s);
        dev_view p = dev_at(a->param, s), g = dev_at(a->grad, s), m = dev_at(a->m, s), v = dev_at(a->v, s);
        struct {
            uint32_t n, p, g, m, v, s, clip;
            float beta1, beta2, eps, decay, step_size, bc2_sqrt, max_norm;
        } pc = {U(k),        U(p.off),   U(g.off), U(m.off), U(v.off), U(a->sumsq.off), a->sumsq.buf != NULL,
                a->beta1,    a->beta2,   a->eps,   1.0f - a->lr * a->weight_decay, a->lr / bc1, sqrtf(bc2),
                a->max_norm};
        vk_arg args[] = {VK_OUT(p, k, pc, p), VK_IN(g, k, pc, g), VK_OUT(m, k, pc, m), VK_OUT(v, k, pc, v),
                         VK_IN(a->sumsq, 1, pc, s)};
        mltc_status st = vk_dispatch(c, "adamw", "adamw", 0, 0, args, 5, &pc, sizeof pc, groups_1d(c, k), 1, 1);
        if (st != MLTC_OK) return st;
    }
    return MLTC_OK;
}
