/* OpenCL row gather and deterministic scatter-add (kernels_cl/rows.cl). */
#include "device/opencl/internal.h"

#define CTX(ctx) ((ocl_ctx *)(ctx))

mltc_status ocl_gather_rows(dev_ctx *ctx, dev_view y, dev_view table, dev_view idx, int n, int cols,
                            int table_rows, float beta) {
    ocl_launch L;
    ocl_begin(&L, CTX(ctx), K_GATHER_ROWS, "gather_rows");
    ocl_arg_view(&L, y);
    ocl_arg_view(&L, table);
    ocl_arg_view(&L, idx);
    ocl_arg_int(&L, n);
    ocl_arg_int(&L, cols);
    ocl_arg_int(&L, table_rows);
    ocl_arg_float(&L, beta);
    return ocl_run_items(&L, (size_t)n * cols);
}

mltc_status ocl_scatter_add_rows(dev_ctx *ctx, dev_view dst, dev_view src, const dev_rows_plan *plan, int cols) {
    /* Rows past the end of dst are skipped, as on the CPU. */
    size_t cap_rows = (dst.buf->bytes / 4 - dst.off) / (size_t)cols;
    ocl_launch L;
    ocl_begin(&L, CTX(ctx), K_SCATTER_ADD_ROWS, "scatter_add_rows");
    ocl_arg_view(&L, dst);
    ocl_arg_view(&L, src);
    ocl_arg_view(&L, plan->rows);
    ocl_arg_view(&L, plan->starts);
    ocl_arg_view(&L, plan->order);
    ocl_arg_int(&L, plan->nseg);
    ocl_arg_int(&L, cols);
    ocl_arg_ulong(&L, cap_rows);
    return ocl_run_items(&L, (size_t)plan->nseg * cols);
}
