/* Vulkan elementwise ops: axpby, GELU, dropout, and the bias add and its backward (column sums).
 * Each packs sizes and element offsets into push constants. Elementwise ops run in pieces of at
 * most one binding window, so they also cover buffers larger than maxStorageBufferRange (one flat
 * parameter buffer). */
#include "device/vulkan/ops.h"

mltc_status vk_axpby(dev_ctx *ctx, dev_view y, float alpha, dev_view a, float beta, dev_view b, size_t n) {
    vk_ctx *c = C(ctx);
    for (size_t s = 0, k; s < n; s += k) {
        k = piece(c, n, s);
        dev_view ys = dev_at(y, s), as = dev_at(a, s), bs = dev_at(b, s);
        struct { uint32_t n, y, a, b; float alpha, beta; } pc = {U(k), U(ys.off), U(as.off), U(bs.off), alpha, beta};
        vk_arg args[] = {VK_OUT(ys, k, pc, y), VK_IN(as, k, pc, a), VK_IN(bs, k, pc, b)};
        mltc_status st = vk_dispatch(c, "axpby", "axpby", 0, 0, args, 3, &pc, sizeof pc, groups_1d(c, k), 1, 1);
        if (st != MLTC_OK) return st;
    }
    return MLTC_OK;
}

typedef struct gelu_push {
    uint32_t n, o, x, dy;
} gelu_push;

mltc_status vk_gelu_forward(dev_ctx *ctx, dev_view y, dev_view x, size_t n) {
    vk_ctx *c = C(ctx);
    for (size_t s = 0, k; s < n; s += k) {
        k = piece(c, n, s);
        dev_view ys = dev_at(y, s), xs = dev_at(x, s);
        gelu_push pc = {U(k), U(ys.off), U(xs.off), 0};
        vk_arg args[] = {VK_OUT(ys, k, pc, o), VK_IN(xs, k, pc, x), VK_NONE};
        mltc_status st = vk_dispatch(c, "gelu_forward", "gelu", 0, 0, args, 3, &pc, sizeof pc, groups_1d(c, k), 1, 1);
        if (st != MLTC_OK) return st;
    }
    return MLTC_OK;
}

mltc_status vk_gelu_backward(dev_ctx *ctx, dev_view dx, dev_view dy, dev_view x, size_t n) {
    vk_ctx *c = C(ctx);
    for (size_t s = 0, k; s < n; s += k) {
        k = piece(c, n, s);
        dev_view dxs = dev_at(dx, s), dys = dev_at(dy, s), xs = dev_at(x, s);
        gelu_push pc = {U(k), U(dxs.off), U(xs.off), U(dys.off)};
        vk_arg args[] = {VK_OUT(dxs, k, pc, o), VK_IN(xs, k, pc, x), VK_IN(dys, k, pc, dy)};
        mltc_status st = vk_dispatch(c, "gelu_backward", "gelu", 1, 0, args, 3, &pc, sizeof pc, groups_1d(c, k), 1, 1);
        if (st != MLTC_OK) return st;
    }
    return MLTC_OK;
}

static mltc_status dropout(dev_ctx *ctx, const char *op, dev_view out, dev_view in, size_t n, float p,
                           uint64_t seed, uint64_t offset) {
    vk_ctx *c = C(ctx);
    for (size_t s = 0, k; s < n; s += k) {
        k = piece(c, n, s);
        dev_view os = dev_at(out, s), is = dev_at(in, s);
        uint64_t o = offset + s; /* element i of the piece is element s + i of the op */
        struct {
            uint32_t n, o, x;
            float p, scale;
            uint32_t seed_lo, seed_hi, off_lo, off_hi;
        } pc = {U(k), U(os.off), U(is.off), p, 1.0f / (1.0f - p), U(seed), U(seed >> 32), U(o), U(o >> 32)};
        vk_arg args[] = {VK_OUT(os, k, pc, o), VK_IN(is, k, pc, x)};
        mltc_status st = vk_dispatch(c, op, "dropout", 0, 0, args, 2, &pc, sizeof pc, groups_1d(c, k), 1, 1);
        if (st != MLTC_OK) return st;
    }
    return MLTC_OK;
}

mltc_status vk_dropout_forward(dev_ctx *ctx, dev_view y, dev_view x, size_t n, float p, uint64_t seed,
                               uint64_t offset) {
    return dropout(ctx, "dropout_forward", y, x, n, p, seed, offset);
}

mltc_status vk_bias_add(dev_ctx *ctx, dev_view y, dev_view bias, int rows, int cols) {
    size_t n = (size_t)rows * cols;
    struct { uint32_t rows, cols, y, b; } pc = {U(rows), U(cols), U(y.off), U(bias.off)};
    vk_arg args[] = {VK_OUT(y, n, pc, y), VK_IN(bias, (size_t)cols, pc, b)};
    return vk_dispatch(C(ctx), "bias_add", "bias_add", 0, 0, args, 2, &pc, sizeof pc, groups_1d(C(ctx), n), 1, 1);
}

mltc_status vk_bias_backward(dev_ctx *ctx, dev_view dbias, dev_view dy, int rows, int cols) {
    vk_ctx *c = C(ctx);
    struct { uint32_t rows, cols, dy, o; } pc = {U(rows), U(cols), U(dy.off), U(dbias.off)};
    vk_arg args[] = {VK_IN(dy, (size_t)rows * cols, pc, dy), VK_OUT(dbias, (size_t)cols, pc, o)};
    uint32_t gx, gy;
    vk_groups_2d(c, (uint64_t)cols, VK_COLSUM_WG_COLS, &gx, &gy);
    return vk_dispatch(c, "bias_backward", "bias_backward", 0, 0, args, 2, &pc, sizeof pc, gx, gy, 1);
}

mltc_status vk_colsum(vk_ctx *c, const char *op, dev_buf *partial, uint32_t p_off, uint32_t nchunks, int cols,
                      dev_view dst) {
    struct { uint32_t nchunks, cols, p, d; } pc = {nchunks, U(cols), p_off, U(dst.off)};
    vk_arg args[] = {{partial, 0, 0, 0, -1}, VK_OUT(dst, (size_t)cols, pc, d)};
    return vk_dispatch(c, op, "colsum", 0, 0, args, 2, &pc, sizeof pc, groups_1d(c, (size_t)cols), 1, 1);
}

mltc_status vk_bias_gelu_forward(dev_ctx *ctx, dev_view y, dev_view pre, dev_view bias, int rows, int cols) {
    size_t n = (size_t)rows * cols;
    struct { uint32_t rows, cols, y, pre, b; } pc = {U(rows), U(cols), U(y.off), U(pre.off), U(bias.off)};
    vk_arg args[] = {VK_OUT(y, n, pc, y), VK_OUT(pre, n, pc, pre), VK_IN(bias, (size_t)cols, pc, b)};
    return vk_dispatch(C(ctx), "bias_gelu_forward", "bias_gelu", 0, 0, args, 3, &pc, sizeof pc,
                       groups_1d(C(ctx), n), 1, 1);
}

/* dx and its column sums in one dispatch (bias_gelu_backward.comp). */
mltc_status vk_bias_gelu_backward(dev_ctx *ctx, dev_view dx, dev_view dbias, dev_view dy, dev_view pre, int rows,
                                  int cols) {
    vk_ctx *c = C(ctx);
    size_t n = (size_t)rows * cols;
    struct {
        uint32_t rows, cols, dy, pre, dx, o;
    } pc = {U(rows), U(cols), U(dy.off), U(pre.off), U(dx.off), U(dbias.off)};
    vk_arg args[] = {VK_IN(dy, n, pc, dy), VK_IN(pre, n, pc, pre), VK_OUT(dx, n, pc, dx),
                     VK_OUT(dbias, (size_t)cols, pc, o)};
    uint32_t gx, gy;
    vk_groups_2d(c, (uint64_t)cols, VK_COLSUM_WG_COLS, &gx, &gy);
    return vk_dispatch(c, "bias_gelu_backward", "bias_gelu_backward", 0, 0, args, 4, &pc, sizeof pc, gx, gy, 1);
}
