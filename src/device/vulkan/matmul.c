/* Vulkan matmul: the tiled GEMM shader, batched and per head, at the tile gemm_tiles.c picks for
 * the shape (split along k where that picks it), with the bias added as C is stored. */
#include "device/vulkan/ops.h"

mltc_status vk_matmul(dev_ctx *ctx, const dev_gemm *g) {
    vk_ctx *c = C(ctx);
    if (g->m == 0 || g->n == 0 || g->batch == 0) return MLTC_OK;
    /* k == 0 needs no special case: the tile loop does not run and C = beta * C. */
    int heads = dev_gemm_heads(g);
    long problems = (long)dev_gemm_problems(g);
    vk_gemm_shape shape = vk_gemm_plan_product(&c->gemm, g->m, g->n, g->k, problems);
    int side = vk_gemm_tile_side(shape.tile);
    vk_buf *part = NULL;
    size_t mn = (size_t)g->m * g->n;
    if (shape.splits > 1) {
        mltc_status st = vk_scratch_get(c, (size_t)shape.splits * mn * 4, &part);
        if (st != MLTC_OK) return st;
    }
    int split = part != NULL;
    struct {
        uint32_t m, n, k, lda, ldb, ldc, a, b, c, sa, sb, sc;
        float alpha, beta;
        uint32_t heads, hsa, hsb, hsc, k_chunk, splits, split_stride, has_bias, bias_off;
    } pc = {U(g->m),
            U(g->n),
            U(g->k),
            U(g->lda),
            U(g->ldb),
            split ? U(g->n) : U(g->ldc), /* the partials are dense [splits, m, n] */
            U(g->a.off),
            U(g->b.off),
            split ? 0 : U(g->c.off),
            U(g->stride_a),
            U(g->stride_b),
            U(g->stride_c),
            split ? 1.0f : g->alpha,
            split ? 0.0f : g->beta,
            U(heads),
            U(g->head_stride_a),
            U(g->head_stride_b),
            U(g->head_stride_c),
            split ? U(shape.k_chunk) : U(g->k),
            U(shape.splits),
            U(mn),
            !split && g->bias.buf != NULL, /* a split adds it in its sum */
            U(g->bias.off)};
    vk_arg args[] = {VK_IN(g->a, dev_gemm_span(g, 'a'), pc, a), VK_IN(g->b, dev_gemm_span(g, 'b'), pc, b),
                     split ? (vk_arg)VK_SCRATCH(part, 1) : (vk_arg)VK_OUT(g->c, dev_gemm_span(g, 'c'), pc, c),
                     !split && g->bias.buf ? (vk_arg)VK_IN(g->bias, (size_t)g->n, pc, bias_off) : (vk_arg)VK_NONE};
    /* Specialization 1: TRANS_B in bit 0, the tile above it (shaders/gemm.comp). */
    mltc_status st = vk_dispatch(c, "matmul", "gemm", g->trans_a != 0, (g->trans_b != 0) | shape.tile << 1, args, 4,
                                 &pc, sizeof pc, (uint32_t)((g->n + side - 1) / side),
                                 (uint32_t)((g->m + side - 1) / side), (uint32_t)(problems * shape.splits));
    if (split) {
        if (st == MLTC_OK) {
            struct {
                uint32_t m, n, ldc, c_off, splits;
                float alpha, beta;
                uint32_t has_bias, bias_off;
            } pr = {U(g->m),  U(g->n),  U(g->ldc),          U(g->c.off), U(shape.splits),
                    g->alpha, g->beta,  g->bias.buf != NULL, U(g->bias.off)};
            vk_arg ra[] = {VK_SCRATCH(part, 0), VK_OUT(g->c, dev_gemm_span(g, 'c'), pr, c_off),
                           g->bias.buf ? (vk_arg)VK_IN(g->bias, (size_t)g->n, pr, bias_off) : (vk_arg)VK_NONE};
            uint32_t gx, gy;
            vk_groups_2d(c, mn, 256, &gx, &gy);
            st = vk_dispatch(c, "matmul", "splitk_reduce", 0, 0, ra, 3, &pr, sizeof pr, gx, gy, 1);
        }
        vk_scratch_put(c, part);
    }
    return st;
}
