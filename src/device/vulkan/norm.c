/* Row-wise ops, one work group per row: layernorm, softmax, cross-entropy; and GEMM. */
#include "device/vulkan/internal.h"

#define U(x) ((uint32_t)(x))

static vk_ctx *C(dev_ctx *ctx) { return (vk_ctx *)ctx; }

/* Grid-stride dispatch of n items over groups of wg invocations. */
static uint32_t groups_1d(const vk_ctx *c, size_t n, size_t wg) {
    size_t g = (n + wg - 1) / wg, maxx = c->props.limits.maxComputeWorkGroupCount[0];
    return (uint32_t)(g < maxx ? g : maxx);
}

#define GEMM_TILE 128   /* shaders/gemm.comp: a work group computes a 128x128 tile of C */

mltc_status vk_layernorm_forward(dev_ctx *ctx, dev_view y, dev_view mean, dev_view rstd, dev_view x, dev_view w,
                                 dev_view b, int rows, int cols, float eps) {
    vk_ctx *c = C(ctx);
    struct {
        uint32_t rows, cols, x, w, b, y, mean, rstd;
        float eps;
    } pc = {U(rows), U(cols), U(x.off), U(w.off), U(b.off), U(y.off), U(mean.off), U(rstd.off), eps};
    size_t n = (size_t)rows * cols, r = (size_t)rows, k = (size_t)cols;
    vk_arg args[] = {VK_IN(x, n, pc, x),  VK_IN(w, k, pc, w),       VK_IN(b, k, pc, b),
                     VK_OUT(y, n, pc, y), VK_OUT(mean, r, pc, mean), VK_OUT(rstd, r, pc, rstd)};
    uint32_t gx, gy;
    vk_groups_2d(c, (uint64_t)rows, 1, &gx, &gy);
    return vk_dispatch(c, "layernorm_forward", "layernorm", 0, 0, args, 6, &pc, sizeof pc, gx, gy, 1);
}

mltc_status vk_layernorm_backward(dev_ctx *ctx, dev_view dx, dev_view dw, dev_view db, dev_view dy, dev_view x,
                                  dev_view w, dev_view mean, dev_view rstd, int rows, int cols) {
    vk_ctx *c = C(ctx);
    size_t n = (size_t)rows * cols, r = (size_t)rows, k = (size_t)cols;
    struct {
        uint32_t rows, cols, x, w, mean, rstd, dy, dx;
    } p1 = {U(rows), U(cols), U(x.off), U(w.off), U(mean.off), U(rstd.off), U(dy.off), U(dx.off)};
    vk_arg a1[] = {VK_IN(x, n, p1, x),       VK_IN(w, k, p1, w),    VK_IN(mean, r, p1, mean),
                   VK_IN(rstd, r, p1, rstd), VK_IN(dy, n, p1, dy), VK_OUT(dx, n, p1, dx)};
    uint32_t gx, gy;
    vk_groups_2d(c, (uint64_t)rows, 1, &gx, &gy);
    mltc_status st = vk_dispatch(c, "layernorm_backward", "layernorm_dx", 0, 0, a1, 6, &p1, sizeof p1, gx, gy, 1);
    if (st != MLTC_OK) return st;

    uint32_t nchunks = (U(rows) + VK_COLSUM_ROWS - 1) / VK_COLSUM_ROWS;
    struct {
        uint32_t rows, cols, x, mean, rstd, dy, dw, db, rows_per_chunk, nchunks, accumulate;
    } p2 = {U(rows), U(cols), U(x.off), U(mean.off), U(rstd.off), U(dy.off), U(dw.off), U(db.off),
            VK_COLSUM_ROWS, nchunks, 1};
    if (nchunks <= 1) { /* one chunk: straight into dw and db */
        vk_arg a2[] = {VK_IN(x, n, p2, x),   VK_IN(mean, r, p2, mean), VK_IN(rstd, r, p2, rstd),
                       VK_IN(dy, n, p2, dy), VK_OUT(dw, k, p2, dw),    VK_OUT(db, k, p2, db)};
        return vk_dispatch(c, "layernorm_backward", "layernorm_dwdb", 0, 0, a2, 6, &p2, sizeof p2,
                           groups_1d(c, k, 256), 1, 1);
    }
    /* Several chunks: partials for dw at [0, np) and for db at [np, 2 np) of a scratch buffer. */
    size_t np = (size_t)nchunks * cols;
    vk_buf *partial;
    if ((st = vk_buffer_create(c, 2 * np * 4, &partial)) != MLTC_OK) return st;
    p2.dw = 0;
    p2.db = U(np);
    p2.accumulate = 0;
    vk_arg a2[] = {VK_IN(x, n, p2, x),   VK_IN(mean, r, p2, mean), VK_IN(rstd, r, p2, rstd),
                   VK_IN(dy, n, p2, dy), VK_SCRATCH(partial, 1),   VK_SCRATCH(partial, 1)};
    st = vk_dispatch(c, "layernorm_backward", "layernorm_dwdb", 0, 0, a2, 6, &p2, sizeof p2, groups_1d(c, np, 256), 1,
                     1);
    if (st == MLTC_OK) st = vk_colsum(c, "layernorm_backward", &partial->base, 0, nchunks, cols, dw);
    if (st == MLTC_OK) st = vk_colsum(c, "layernorm_backward", &partial->base, U(np), nchunks, cols, db);
    vk_buffer_release(c, partial);
    return st;
}

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
