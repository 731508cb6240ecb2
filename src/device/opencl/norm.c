/* OpenCL layernorm (kernels_cl/norm.cl): one work-group per row. */
#include "device/opencl/internal.h"

#define CTX(ctx) ((ocl_ctx *)(ctx))

mltc_status ocl_layernorm_forward(dev_ctx *ctx, dev_view y, dev_view mean, dev_view rstd, dev_view x, dev_view w,
                                  dev_view b, int rows, int cols, float eps) {
    ocl_launch L;
    if (ocl_begin(&L, CTX(ctx), K_LAYERNORM_FORWARD, "layernorm_forward") != MLTC_OK) return L.st;
    size_t local = ocl_row_local(CTX(ctx), K_LAYERNORM_FORWARD, cols);
    ocl_arg_view(&L, y);
    ocl_arg_view(&L, mean);
    ocl_arg_view(&L, rstd);
    ocl_arg_view(&L, x);
    ocl_arg_view(&L, w);
    ocl_arg_view(&L, b);
    ocl_arg_int(&L, cols);
    ocl_arg_float(&L, eps);
    ocl_arg_local(&L, local * sizeof(float));
    return ocl_run_groups(&L, (size_t)rows, local);
}

mltc_status ocl_layernorm_backward(dev_ctx *ctx, dev_view dx, dev_view dw, dev_view db, dev_view dy, dev_view x,
                                   dev_view w, dev_view mean, dev_view rstd, int rows, int cols) {
    ocl_launch L;
    if (ocl_begin(&L, CTX(ctx), K_LAYERNORM_BACKWARD_DX, "layernorm_backward") != MLTC_OK) return L.st;
    size_t local = ocl_row_local(CTX(ctx), K_LAYERNORM_BACKWARD_DX, cols);
    ocl_arg_view(&L, dx);
    ocl_arg_view(&L, dy);
    ocl_arg_view(&L, x);
    ocl_arg_view(&L, w);
    ocl_arg_view(&L, mean);
    ocl_arg_view(&L, rstd);
    ocl_arg_int(&L, cols);
    ocl_arg_local(&L, local * sizeof(float));
    mltc_status st = ocl_run_groups(&L, (size_t)rows, local);
    if (st != MLTC_OK) return st;

    if (rows <= OCL_COLSUM_SINGLE) {
        ocl_begin(&L, CTX(ctx), K_LAYERNORM_BACKWARD_DWDB, "layernorm_backward");
        ocl_arg_view(&L, dw);
        ocl_arg_view(&L, db);
        ocl_arg_view(&L, dy);
        ocl_arg_view(&L, x);
        ocl_arg_view(&L, mean);
        ocl_arg_view(&L, rstd);
        ocl_arg_int(&L, rows);
        ocl_arg_int(&L, cols);
        return ocl_run_items(&L, (size_t)cols);
    }
    /* Many rows: chunk partial sums for dw and db side by side in scratch, then in order. */
    ocl_ctx *c = CTX(ctx);
    int nchunks = (rows + OCL_COLSUM_CHUNK - 1) / OCL_COLSUM_CHUNK;
    size_t np = (size_t)nchunks * cols;
    cl_mem mem;
    st = ocl_scratch(c, 2 * np * 4, "layernorm_backward", &mem);
    if (st != MLTC_OK) return st;
    ocl_buf sb = {{c->scratch_bytes}, mem};
    dev_view pw = {&sb.base, 0}, pb = {&sb.base, np};
    ocl_begin(&L, c, K_LAYERNORM_DWDB_PARTIAL, "layernorm_backward");
    ocl_arg_view(&L, pw);
    ocl_arg_view(&L, pb);
    ocl_arg_view(&L, dy);
    ocl_arg_view(&L, x);
    ocl_arg_view(&L, mean);
    ocl_arg_view(&L, rstd);
    ocl_arg_int(&L, rows);
    ocl_arg_int(&L, cols);
    ocl_arg_int(&L, OCL_COLSUM_CHUNK);
    st = ocl_run_items(&L, np);
    if (st == MLTC_OK) st = ocl_colsum_final(c, dw, pw, nchunks, cols, "layernorm_backward");
    if (st == MLTC_OK) st = ocl_colsum_final(c, db, pb, nchunks, cols, "layernorm_backward");
    return st;
}

mltc_status ocl_add_layernorm_forward(dev_ctx *ctx, const dev_add_layernorm *f) {
    ocl_launch L;
    if (ocl_begin(&L, CTX(ctx), K_ADD_LAYERNORM_FORWARD, "add_layernorm_forward") != MLTC_OK) return L.st;
    size_t local = ocl_row_local(CTX(ctx), K_ADD_LAYERNORM_FORWARD, f->cols);
    int has_bias = f->bias.buf != NULL;
    ocl_arg_view(&L, f->sum);
    ocl_arg_view(&L, f->y);
    ocl_arg_view(&L, f->mean);
    ocl_arg_view(&L, f->rstd);
    ocl_arg_view(&L, f->x);
    ocl_arg_view(&L, has_bias ? f->bias : f->w); /* not read without a bias; any buffer will do */
    ocl_arg_int(&L, has_bias);
    ocl_arg_view(&L, f->res);
    ocl_arg_view(&L, f->w);
    ocl_arg_view(&L, f->b);
    ocl_arg_int(&L, f->cols);
    ocl_arg_float(&L, f->eps);
    ocl_arg_float(&L, f->p);
    ocl_arg_ulong(&L, f->seed);
    ocl_arg_ulong(&L, f->offset);
    ocl_arg_local(&L, local * sizeof(float));
    return ocl_run_groups(&L, (size_t)f->rows, local);
}

/* The column sums of add_layernorm_backward (dw, db and dbias) in one kernel over all the rows. */
static mltc_status add_layernorm_params(ocl_ctx *c, const dev_add_layernorm *f, const dev_add_layernorm_grads *g) {
    int has_bias = f->bias.buf != NULL;
    size_t local, groups;
    int cg = ocl_colsum_shape(c, K_ADD_LAYERNORM_PARAMS, f->cols, &local, &groups);
    ocl_launch L;
    ocl_begin(&L, c, K_ADD_LAYERNORM_PARAMS, "add_layernorm_backward");
    ocl_arg_view(&L, g->dw);
    ocl_arg_view(&L, g->db);
    ocl_arg_view(&L, has_bias ? g->dbias : g->dw); /* not written without a bias */
    ocl_arg_int(&L, has_bias);
    ocl_arg_view(&L, g->dy);
    ocl_arg_view(&L, f->sum);
    ocl_arg_view(&L, f->mean);
    ocl_arg_view(&L, f->rstd);
    ocl_arg_view(&L, g->dx);
    ocl_arg_int(&L, f->rows);
    ocl_arg_int(&L, f->cols);
    ocl_arg_int(&L, cg);
    ocl_arg_local(&L, 3 * local * sizeof(float));
    return ocl_run_groups(&L, groups, local);
}

mltc_status ocl_add_layernorm_backward(dev_ctx *ctx, const dev_add_layernorm *f, const dev_add_layernorm_grads *g) {
    ocl_launch L;
    if (ocl_begin(&L, CTX(ctx), K_ADD_LAYERNORM_BACKWARD_DX, "add_layernorm_backward") != MLTC_OK) return L.st;
    size_t local = ocl_row_local(CTX(ctx), K_ADD_LAYERNORM_BACKWARD_DX, f->cols);
    ocl_arg_view(&L, g->dsum);
    ocl_arg_view(&L, g->dx);
    ocl_arg_view(&L, g->dy);
    ocl_arg_view(&L, f->sum);
    ocl_arg_view(&L, f->w);
    ocl_arg_view(&L, f->mean);
    ocl_arg_view(&L, f->rstd);
    ocl_arg_int(&L, f->cols);
    ocl_arg_float(&L, f->p);
    ocl_arg_ulong(&L, f->seed);
    ocl_arg_ulong(&L, f->offset);
    ocl_arg_local(&L, local * sizeof(float));
    mltc_status st = ocl_run_groups(&L, (size_t)f->rows, local);
    return st != MLTC_OK ? st : add_layernorm_params(CTX(ctx), f, g);
}
