/* Vulkan matmul: one tiled GEMM shader for every shape, batched and per head; the bias as a second dispatch. */
#include "device/vulkan/ops.h"

#define GEMM_TILE 128 /* shaders/gemm.comp: a work group computes a 128x128 tile of C */

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
    mltc_status st = vk_dispatch(c, "matmul", "gemm", g->trans_a != 0, g->trans_b != 0, args, 3, &pc, sizeof pc,
                                 (uint32_t)((g->n + GEMM_TILE - 1) / GEMM_TILE),
                                 (uint32_t)((g->m + GEMM_TILE - 1) / GEMM_TILE), (uint32_t)dev_gemm_problems(g));
    /* The bias as its own dispatch after the product (the wrapper allows it on dense C only). */
    if (st == MLTC_OK && g->bias.buf) st = vk_bias_add(ctx, g->c, g->bias, g->m, g->n);
    return st;
}
