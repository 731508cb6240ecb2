/* Vulkan losses: cross-entropy one work group per row, BCE elementwise (shaders/crossentropy.comp,
 * bce.comp). */
#include "device/vulkan/ops.h"

typedef struct ce_push {
    uint32_t rows, vocab, o, l, t;
    float scale;
} ce_push;

mltc_status vk_crossentropy_forward(dev_ctx *ctx, dev_view loss, dev_view logits, dev_view target, int rows,
                                    int vocab) {
    vk_ctx *c = C(ctx);
    ce_push pc = {U(rows), U(vocab), U(loss.off), U(logits.off), U(target.off), 0.0f};
    vk_arg args[] = {VK_OUT(loss, (size_t)rows, pc, o), VK_IN(logits, (size_t)rows * vocab, pc, l),
                     VK_IN(target, (size_t)rows, pc, t)};
    uint32_t gx, gy;
    vk_groups_2d(c, (uint64_t)rows, 1, &gx, &gy);
    return vk_dispatch(c, "crossentropy_forward", "crossentropy", 0, 0, args, 3, &pc, sizeof pc, gx, gy, 1);
}

mltc_status vk_crossentropy_backward(dev_ctx *ctx, dev_view dlogits, dev_view logits, dev_view target, int rows,
                                     int vocab, float scale) {
    vk_ctx *c = C(ctx);
    ce_push pc = {U(rows), U(vocab), U(dlogits.off), U(logits.off), U(target.off), scale};
    vk_arg args[] = {VK_OUT(dlogits, (size_t)rows * vocab, pc, o), VK_IN(logits, (size_t)rows * vocab, pc, l),
                     VK_IN(target, (size_t)rows, pc, t)};
    uint32_t gx, gy;
    vk_groups_2d(c, (uint64_t)rows, 1, &gx, &gy);
    return vk_dispatch(c, "crossentropy_backward", "crossentropy", 1, 0, args, 3, &pc, sizeof pc, gx, gy, 1);
}

static mltc_status bce(dev_ctx *ctx, const char *op, int backward, dev_view out, dev_view logits, dev_view targets,
                       size_t n, float scale) {
    vk_ctx *c = C(ctx);
    for (size_t s = 0, k; s < n; s += k) {
        k = piece(c, n, s);
        dev_view os = dev_at(out, s), xs = dev_at(logits, s), ts = dev_at(targets, s);
        struct { uint32_t n, o, x, t; float scale; } pc = {U(k), U(os.off), U(xs.off), U(ts.off), scale};
        vk_arg args[] = {VK_OUT(os, k, pc, o), VK_IN(xs, k, pc, x), VK_IN(ts, k, pc, t)};
        mltc_status st = vk_dispatch(c, op, "bce", backward, 0, args, 3, &pc, sizeof pc, groups_1d(c, k), 1, 1);
        if (st != MLTC_OK) return st;
    }
    return MLTC_OK;
}

mltc_status vk_bce_forward(dev_ctx *ctx, dev_view loss, dev_view logits, dev_view targets, size_t n) {
    return bce(ctx, "bce_forward", 0, loss, logits, targets, n, 0.0f);
}

mltc_status vk_bce_backward(dev_ctx *ctx, dev_view dlogits, dev_view logits, dev_view targets, size_t n,
                            float scale) {
    return bce(ctx, "bce_backward", 1, dlogits, logits, targets, n, scale);
}
