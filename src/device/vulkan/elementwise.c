/* Elementwise and row-indexed ops: axpby, GELU, dropout, bias, BCE, AdamW, gather
 * and its deterministic scatter-add. Each packs sizes and element offsets into push
 * constants. Elementwise ops run in pieces of at most one binding window, so they also
 * cover buffers larger than maxStorageBufferRange (one flat parameter buffer). */
#include <math.h>

#include "device/vulkan/internal.h"

#define U(x) ((uint32_t)(x))

static vk_ctx *C(dev_ctx *ctx) { return (vk_ctx *)ctx; }

/* Grid-stride shaders: enough groups to cover n, at most the device's x limit. */
static uint32_t groups_1d(const vk_ctx *c, size_t n) {
    size_t g = (n + 255) / 256, maxx = c->props.limits.maxComputeWorkGroupCount[0];
    return (uint32_t)(g < maxx ? g : maxx);
}

/* Elements of the piece that starts at element s of an n-element op. */
static size_t piece(const vk_ctx *c, size_t n, size_t s) {
    size_t w = vk_window_elems(c);
    return n - s < w ? n - s : w;
}

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
    size_t n = (size_t)rows * cols;
    uint32_t nchunks = (U(rows) + VK_COLSUM_ROWS - 1) / VK_COLSUM_ROWS;
    struct {
        uint32_t rows, cols, dy, o, rows_per_chunk, nchunks, accumulate;
    } pc = {U(rows), U(cols), U(dy.off), U(dbias.off), VK_COLSUM_ROWS, nchunks, 1};
    if (nchunks <= 1) { /* one chunk: straight into dbias */
        vk_arg args[] = {VK_IN(dy, n, pc, dy), VK_OUT(dbias, (size_t)cols, pc, o)};
        return vk_dispatch(c, "bias_backward", "bias_backward", 0, 0, args, 2, &pc, sizeof pc,
                           groups_1d(c, (size_t)cols), 1, 1);
    }
    vk_buf *partial;
    mltc_status st = vk_buffer_create(c, (size_t)nchunks * cols * 4, &partial);
    if (st != MLTC_OK) return st;
    pc.o = 0;
    pc.accumulate = 0;
    vk_arg args[] = {VK_IN(dy, n, pc, dy), VK_SCRATCH(partial, 1)};
    st = vk_dispatch(c, "bias_backward", "bias_backward", 0, 0, args, 2, &pc, sizeof pc,
                     groups_1d(c, (size_t)nchunks * cols), 1, 1);
    if (st == MLTC_OK) st = vk_colsum(c, "bias_backward", &partial->base, 0, nchunks, cols, dbias);
    vk_buffer_release(c, partial);
    return st;
}

mltc_status vk_colsum(vk_ctx *c, const char *op, dev_buf *partial, uint32_t p_off, uint32_t nchunks, int cols,
                      dev_view dst) {
    struct { uint32_t nchunks, cols, p, d; } pc = {nchunks, U(cols), p_off, U(dst.off)};
    vk_arg args[] = {{partial, 0, 0, 0, -1}, VK_OUT(dst, (size_t)cols, pc, d)};
    return vk_dispatch(c, op, "colsum", 0, 0, args, 2, &pc, sizeof pc, groups_1d(c, (size_t)cols), 1, 1);
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

mltc_status vk_adamw(dev_ctx *ctx, const dev_adamw_args *a) {
    vk_ctx *c = C(ctx);
    /* The same float expressions as the CPU backend, so both round alike. */
    float bc1 = 1.0f - powf(a->beta1, (float)a->step), bc2 = 1.0f - powf(a->beta2, (float)a->step);
    for (size_t s = 0, k; s < a->n; s += k) {
        k = piece(c, a->n, s);
        dev_view p = dev_at(a->param, s), g = dev_at(a->grad, s), m = dev_at(a->m, s), v = dev_at(a->v, s);
        struct {
            uint32_t n, p, g, m, v, s, clip;
            float beta1, beta2, eps, decay, step_size, bc2_sqrt, max_norm;
        } pc = {U(k),        U(p.off),   U(g.off), U(m.off), U(v.off), U(a->sumsq.off), a->sumsq.buf != NULL,
                a->beta1,    a->beta2,   a->eps,   1.0f - a->lr * a->weight_decay, a->lr / bc1, sqrtf(bc2),
                a->max_norm};
        vk_arg args[] = {VK_OUT(p, k, pc, p), VK_IN(g, k, pc, g), VK_OUT(m, k, pc, m), VK_OUT(v, k, pc, v),
                         VK_IN(a->sumsq, 1, pc, s)};
        mltc_status st = vk_dispatch(c, "adamw", "adamw", 0, 0, args, 5, &pc, sizeof pc, groups_1d(c, k), 1, 1);
        if (st != MLTC_OK) return st;
    }
    return MLTC_OK;
}

mltc_status vk_gather_rows(dev_ctx *ctx, dev_view y, dev_view table, dev_view idx, int n, int cols, int table_rows,
                           float beta) {
    struct {
        uint32_t n, cols, table_rows, y, t, i;
        float beta;
    } pc = {U(n), U(cols), U(table_rows), U(y.off), U(table.off), U(idx.off), beta};
    vk_arg args[] = {VK_OUT(y, (size_t)n * cols, pc, y), VK_IN(table, (size_t)table_rows * cols, pc, t),
                     VK_IN(idx, (size_t)n, pc, i)};
    return vk_dispatch(C(ctx), "gather_rows", "gather_rows", 0, 0, args, 3, &pc, sizeof pc,
                       groups_1d(C(ctx), (size_t)n * cols), 1, 1);
}

mltc_status vk_scatter_add_rows(dev_ctx *ctx, dev_view dst, dev_view src, const dev_rows_plan *plan, int cols) {
    vk_ctx *c = C(ctx);
    /* Rows past the buffer are skipped, as on the CPU; in a buffer larger than one binding
     * window, rows past the window are too (a plan's rows lie inside its table). */
    size_t cap_rows = (dst.buf->bytes / 4 - dst.off) / (size_t)cols, win_rows = vk_window_elems(c) / (size_t)cols;
    if (cap_rows > win_rows) cap_rows = win_rows;
    struct {
        uint32_t nseg, cols, cap_rows, d, s, r, st, o;
    } pc = {U(plan->nseg), U(cols), U(cap_rows), U(dst.off), U(src.off), U(plan->rows.off), U(plan->starts.off),
            U(plan->order.off)};
    vk_arg args[] = {VK_OUT(dst, cap_rows * cols, pc, d), VK_IN(src, (size_t)plan->n * cols, pc, s),
                     VK_IN(plan->rows, (size_t)plan->nseg, pc, r), VK_IN(plan->starts, (size_t)plan->nseg + 1, pc, st),
                     VK_IN(plan->order, (size_t)plan->n, pc, o)};
    return vk_dispatch(c, "scatter_add_rows", "scatter_add_rows", 0, 0, args, 5, &pc, sizeof pc,
                       groups_1d(c, (size_t)plan->nseg * cols), 1, 1);
}
