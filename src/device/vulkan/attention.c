/* Vulkan attention: the scaled masked softmax and its backward (shaders/softmax.comp), one work
 * group per row. No fused forward: dev_attention_forward runs the two products and the softmax
 * as three ops. */
#include "device/vulkan/ops.h"

typedef struct sm_push {
    uint32_t nrows, cols, rows_per_batch, has_mask, o, x, aux;
    float scale;
    uint32_t has_yd, yd;
} sm_push;

mltc_status vk_softmax_forward(dev_ctx *ctx, const dev_softmax *s, dev_view y, dev_view x) {
    vk_ctx *c = C(ctx);
    uint64_t nrows = (uint64_t)s->batch * s->heads * s->rows;
    sm_push pc = {U(nrows), U(s->cols), U((uint64_t)s->heads * s->rows), s->key_mask.buf != NULL,
                  U(y.off), U(x.off), U(s->key_mask.off), s->scale, 0, 0};
    size_t n = (size_t)nrows * s->cols;
    vk_arg args[] = {VK_OUT(y, n, pc, o), VK_IN(x, n, pc, x),
                     VK_IN(s->key_mask, s->key_mask.buf ? (size_t)s->batch * s->cols : 0, pc, aux), VK_NONE};
    uint32_t gx, gy;
    vk_groups_2d(c, nrows, 1, &gx, &gy);
    return vk_dispatch(c, "softmax_forward", "softmax", 0, 0, args, 4, &pc, sizeof pc, gx, gy, 1);
}

mltc_status vk_softmax_backward(dev_ctx *ctx, const dev_softmax *s, dev_view dx, dev_view dy, dev_view y,
                                dev_view yd) {
    vk_ctx *c = C(ctx);
    uint64_t nrows = (uint64_t)s->batch * s->heads * s->rows;
    sm_push pc = {U(nrows), U(s->cols), U((uint64_t)s->heads * s->rows), 0, U(dx.off), U(dy.off), U(y.off), s->scale,
                  yd.buf != NULL, U(yd.off)};
    size_t n = (size_t)nrows * s->cols;
    vk_arg args[] = {VK_OUT(dx, n, pc, o), VK_IN(dy, n, pc, x), VK_IN(y, n, pc, aux),
                     yd.buf ? (vk_arg)VK_IN(yd, n, pc, yd) : (vk_arg)VK_NONE};
    uint32_t gx, gy;
    vk_groups_2d(c, nrows, 1, &gx, &gy);
    return vk_dispatch(c, "softmax_backward", "softmax", 1, 0, args, 4, &pc, sizeof pc, gx, gy, 1);
}
