/* Vulkan row gather and its deterministic scatter-add (shaders/gather_rows.comp, scatter_add_rows.comp). */
#include "device/vulkan/ops.h"

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
    /* order[] names rows of src anywhere past src's offset (a plan may leave rows out, as the
     * word table's leaves [PAD] out), so src is bound to the end of its buffer, or its window. */
    size_t src_elems = src.buf->bytes / 4 - src.off, win = vk_window_elems(c);
    vk_arg args[] = {VK_OUT(dst, cap_rows * cols, pc, d), VK_IN(src, src_elems < win ? src_elems : win, pc, s),
                     VK_IN(plan->rows, (size_t)plan->nseg, pc, r), VK_IN(plan->starts, (size_t)plan->nseg + 1, pc, st),
                     VK_IN(plan->order, (size_t)plan->n, pc, o)};
    return vk_dispatch(c, "scatter_add_rows", "scatter_add_rows", 0, 0, args, 5, &pc, sizeof pc,
                       groups_1d(c, (size_t)plan->nseg * cols), 1, 1);
}
