/* Vulkan layernorm (shaders/layernorm*.comp): one work group per row; the weight and bias
 * gradients by deterministic column sums. */
#include "device/vulkan/ops.h"

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
                           groups_1d(c, k), 1, 1);
    }
    /* Several chunks: partials for dw at [0, np) and for db at [np, 2 np) of a scratch buffer. */
    size_t np = (size_t)nchunks * cols;
    vk_buf *partial;
    if ((st = vk_scratch_get(c, 2 * np * 4, &partial)) != MLTC_OK) return st;
    p2.dw = 0;
    p2.db = U(np);
    p2.accumulate = 0;
    vk_arg a2[] = {VK_IN(x, n, p2, x),   VK_IN(mean, r, p2, mean), VK_IN(rstd, r, p2, rstd),
                   VK_IN(dy, n, p2, dy), VK_SCRATCH(partial, 1),   VK_SCRATCH(partial, 1)};
    st = vk_dispatch(c, "layernorm_backward", "layernorm_dwdb", 0, 0, a2, 6, &p2, sizeof p2, groups_1d(c, np), 1, 1);
    if (st == MLTC_OK) st = vk_colsum(c, "layernorm_backward", &partial->base, 0, nchunks, cols, dw);
    if (st == MLTC_OK) st = vk_colsum(c, "layernorm_backward", &partial->base, U(np), nchunks, cols, db);
    vk_scratch_put(c, partial);
    return st;
}
