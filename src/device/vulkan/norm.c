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

mltc_status vk_add_layernorm_forward(dev_ctx *ctx, const dev_add_layernorm *f) {
    vk_ctx *c = C(ctx);
    int has_bias = f->bias.buf != NULL;
    struct {
        uint32_t rows, cols, x, bias, res, w, b, sum, y, mean, rstd, has_bias;
        float eps, p, scale;
        uint32_t seed_lo, seed_hi, off_lo, off_hi;
    } pc = {U(f->rows), U(f->cols), U(f->x.off), U(f->bias.off), U(f->res.off), U(f->w.off), U(f->b.off),
            U(f->sum.off), U(f->y.off), U(f->mean.off), U(f->rstd.off), U(has_bias), f->eps, f->p,
            1.0f / (1.0f - f->p), U(f->seed), U(f->seed >> 32), U(f->offset), U(f->offset >> 32)};
    size_t n = (size_t)f->rows * f->cols, r = (size_t)f->rows, k = (size_t)f->cols;
    vk_arg bias = VK_IN(f->bias, k, pc, bias), none = VK_NONE;
    vk_arg args[] = {VK_IN(f->x, n, pc, x),       has_bias ? bias : none,        VK_IN(f->res, n, pc, res),
                     VK_IN(f->w, k, pc, w),       VK_IN(f->b, k, pc, b),         VK_OUT(f->sum, n, pc, sum),
                     VK_OUT(f->y, n, pc, y),      VK_OUT(f->mean, r, pc, mean), VK_OUT(f->rstd, r, pc, rstd)};
    uint32_t gx, gy;
    vk_groups_2d(c, (uint64_t)f->rows, 1, &gx, &gy);
    return vk_dispatch(c, "add_layernorm_forward", "add_layernorm", 0, 0, args, 9, &pc, sizeof pc, gx, gy, 1);
}

/* dw, db and dbias of add_layernorm_backward in one dispatch over all the rows. */
static mltc_status add_layernorm_params(vk_ctx *c, const dev_add_layernorm *f, const dev_add_layernorm_grads *g) {
    int has_bias = f->bias.buf != NULL;
    size_t n = (size_t)f->rows * f->cols, r = (size_t)f->rows, k = (size_t)f->cols;
    struct {
        uint32_t rows, cols, x, mean, rstd, dy, dx, dw, db, dbias, has_bias;
    } p = {U(f->rows), U(f->cols), U(f->sum.off), U(f->mean.off), U(f->rstd.off), U(g->dy.off), U(g->dx.off),
           U(g->dw.off), U(g->db.off), U(g->dbias.off), U(has_bias)};
    vk_arg dx = VK_IN(g->dx, n, p, dx), dbias = VK_OUT(g->dbias, k, p, dbias), none = VK_NONE;
    vk_arg args[] = {VK_IN(f->sum, n, p, x),  VK_IN(f->mean, r, p, mean), VK_IN(f->rstd, r, p, rstd),
                     VK_IN(g->dy, n, p, dy),  has_bias ? dx : none,       VK_OUT(g->dw, k, p, dw),
                     VK_OUT(g->db, k, p, db), has_bias ? dbias : none};
    uint32_t gx, gy;
    vk_groups_2d(c, k, VK_COLSUM_WG_COLS, &gx, &gy);
    return vk_dispatch(c, "add_layernorm_backward", "add_layernorm_params", 0, 0, args, 8, &p, sizeof p, gx, gy, 1);
}

mltc_status vk_add_layernorm_backward(dev_ctx *ctx, const dev_add_layernorm *f, const dev_add_layernorm_grads *g) {
    vk_ctx *c = C(ctx);
    size_t n = (size_t)f->rows * f->cols, r = (size_t)f->rows, k = (size_t)f->cols;
    struct {
        uint32_t rows, cols, x, w, mean, rstd, dy, dsum, dx;
        float p, scale;
        uint32_t seed_lo, seed_hi, off_lo, off_hi;
    } pc = {U(f->rows), U(f->cols), U(f->sum.off), U(f->w.off), U(f->mean.off), U(f->rstd.off), U(g->dy.off),
            U(g->dsum.off), U(g->dx.off), f->p, 1.0f / (1.0f - f->p), U(f->seed), U(f->seed >> 32),
            U(f->offset), U(f->offset >> 32)};
    vk_arg args[] = {VK_IN(f->sum, n, pc, x),   VK_IN(f->w, k, pc, w),      VK_IN(f->mean, r, pc, mean),
                     VK_IN(f->rstd, r, pc, rstd), VK_IN(g->dy, n, pc, dy), VK_OUT(g->dsum, n, pc, dsum),
                     VK_OUT(g->dx, n, pc, dx)};
    uint32_t gx, gy;
    vk_groups_2d(c, (uint64_t)f->rows, 1, &gx, &gy);
    mltc_status st = vk_dispatch(c, "add_layernorm_backward", "add_layernorm_dx", 0, 0, args, 7, &pc, sizeof pc, gx,
                                 gy, 1);
    return st != MLTC_OK ? st : add_layernorm_params(c, f, g);
}
