/* Vulkan cosine label attention, forward and backward (shaders/label_attention*.comp), in several
 * dispatches through a scratch buffer. Scratch buffers are released right after recording; the
 * scratch pool keeps them until the batch is done (vk_scratch_put). */
#include "device/vulkan/ops.h"

mltc_status vk_label_attention_forward(dev_ctx *ctx, const dev_label_attention *a) {
    vk_ctx *c = C(ctx);
    struct {
        uint32_t batch, words, labels, dim, h, l, mask, o, w, am;
    } pc = {U(a->batch), U(a->words), U(a->labels), U(a->dim), U(a->h.off), U(a->l.off), U(a->word_mask.off),
            U(a->out.off), U(a->weights.off), U(a->argmax.off)};
    size_t bt = (size_t)a->batch * a->words, bd = (size_t)a->batch * a->dim;
    vk_arg args[] = {VK_IN(a->h, bt * a->dim, pc, h),  VK_IN(a->l, (size_t)a->labels * a->dim, pc, l),
                     VK_IN(a->word_mask, bt, pc, mask), VK_OUT(a->out, bd, pc, o),
                     VK_OUT(a->weights, bt, pc, w),     VK_OUT(a->argmax, bt, pc, am)};
    uint32_t gx, gy;
    vk_groups_2d(c, (uint64_t)a->batch * a->words, 1, &gx, &gy);
    mltc_status st = vk_dispatch(c, "label_attention_forward", "label_attention", 0, 0, args, 6, &pc, sizeof pc, gx,
                                 gy, 1);
    if (st != MLTC_OK) return st;
    vk_groups_2d(c, (uint64_t)a->batch, 1, &gx, &gy);
    return vk_dispatch(c, "label_attention_forward", "label_attention", 1, 0, args, 6, &pc, sizeof pc, gx, gy, 1);
}

mltc_status vk_label_attention_backward(dev_ctx *ctx, const dev_label_attention *a, dev_view dh, dev_view dl,
                                        dev_view dout) {
    vk_ctx *c = C(ctx);
    size_t bt = (size_t)a->batch * a->words;
    if (bt == 0) return MLTC_OK;
    vk_buf *scratch;
    mltc_status st = vk_scratch_get(c, 3 * bt * 4, &scratch);
    if (st != MLTC_OK) {
        err_prefix(c->base.err, "label_attention_backward: scratch: ");
        return st;
    }
    struct {
        uint32_t batch, words, labels, dim, h, l, w, am, dout, dh, dl;
    } pc = {U(a->batch),      U(a->words),       U(a->labels), U(a->dim), U(a->h.off), U(a->l.off),
            U(a->weights.off), U(a->argmax.off), U(dout.off),  U(dh.off), U(dl.off)};
    size_t kd = (size_t)a->labels * a->dim;
    vk_arg args[] = {VK_IN(a->h, bt * a->dim, pc, h),          VK_IN(a->l, kd, pc, l),
                     VK_IN(a->weights, bt, pc, w),              VK_IN(a->argmax, bt, pc, am),
                     VK_IN(dout, (size_t)a->batch * a->dim, pc, dout), VK_OUT(dh, bt * a->dim, pc, dh),
                     VK_OUT(dl, kd, pc, dl),                    VK_SCRATCH(scratch, 1)};
    uint32_t gx, gy;
    vk_groups_2d(c, (uint64_t)a->batch, 1, &gx, &gy);
    st = vk_dispatch(c, "label_attention_backward", "label_attention_backward", 0, 0, args, 8, &pc, sizeof pc, gx, gy,
                     1);
    if (st == MLTC_OK) {
        vk_groups_2d(c, (uint64_t)bt, 1, &gx, &gy);
        st = vk_dispatch(c, "label_attention_backward", "label_attention_backward", 1, 0, args, 8, &pc, sizeof pc, gx,
                         gy, 1);
    }
    if (st == MLTC_OK)
        st = vk_dispatch(c, "label_attention_backward", "label_attention_backward", 2, 0, args, 8, &pc, sizeof pc,
                         groups_1d(c, (size_t)a->labels * a->dim), 1, 1);
    vk_scratch_put(c, scratch);
    return st;
}
