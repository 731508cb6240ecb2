/* Vulkan matmul: the tiled GEMM shader, batched and per head, at the tile gemm_tiles.c picks for
 * the shape; the bias as a second dispatch. */
#include "device/vulkan/ops.h"

mltc_status vk_matmul(dev_ctx *ctx, const dev_gemm *g) {
    vk_ctx *c = C(ctx);
    if (g->m == 0 || g->n == 0 || g->batch == 0) return MLTC_OK;
    /* k == 0 needs no special case: the tile loop does not run and C = beta * C. */
    int heads = dev_gemm_heads(g);
    struct {
        uint32_t m, n, k, lda, ldb, ldc, a, b, c, sa, sb, sc;
        float alpha, beta;
        uint32_t heads, hsa, hsb, hsc;
    } pc = {U(g->m),           U(g->n),           U(g->k),           U(g->lda),      U(g->ldb),
            U(g->ldc),         U(g->a.off),       U(g->b.off),       U(g->c.off),    U(g->stride_a),
            U(g->stride_b),    U(g->stride_c),    g->alpha,          g->beta,        U(heads),
            U(g->head_stride_a), U(g->head_stride_b), U(g->head_stride_c)};
    vk_arg args[] = {VK_IN(g->a, dev_gemm_span(g, 'a'), pc, a), VK_IN(g->b, dev_gemm_span(g, 'b'), pc, b),
                     VK_OUT(g->c, dev_gemm_span(g, 'c'), pc, c)};
    long problems = (long)dev_gemm_problems(g);
    int tile = vk_gemm_pick_tile(&c->gemm, g->m, g->n, problems), side = vk_gemm_tile_side(tile);
    /* Specialization 1: TRANS_B in bit 0, the tile above it (shaders/gemm.comp). */
    mltc_status st = vk_dispatch(c, "matmul", "gemm", g->trans_a != 0, (g->trans_b != 0) | tile << 1, args, 3, &pc,
                                 sizeof pc, (uint32_t)((g->n + side - 1) / side), (uint32_t)((g->m + side - 1) / side),
                                 (uint32_t)problems);
    /* The bias as its own dispatch after the product (the wrapper allows it on dense C only). */
    if (st == MLTC_OK && g->bias.buf) st = vk_bias_add(ctx, g->c, g->bias, g->m, g->n);
    return st;
}
