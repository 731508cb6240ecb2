/* OpenCL matmul through CLBlast (row-major, with element offsets, strided-batched for
 * attention heads). CLBlast compiles and caches its own kernels per context. */
#include <stdlib.h>

#include <clblast_c.h>

#include "device/opencl/internal.h"

mltc_status ocl_matmul(dev_ctx *ctx, const dev_gemm *g) {
    ocl_ctx *c = (ocl_ctx *)ctx;
    CLBlastTranspose ta = g->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastTranspose tb = g->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastStatusCode rc;
    int heads = dev_gemm_heads(g);
    if (g->batch == 1 && heads == 1) {
        rc = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, (size_t)g->m, (size_t)g->n, (size_t)g->k, g->alpha,
                          ocl_mem(g->a), g->a.off, (size_t)g->lda, ocl_mem(g->b), g->b.off, (size_t)g->ldb, g->beta,
                          ocl_mem(g->c), g->c.off, (size_t)g->ldc, &c->queue, NULL);
        ctx->counts.dispatches++;
        if (rc != CLBlastSuccess) return ocl_fail(c, "matmul", "CLBlastSgemm", rc);
        /* The bias as its own kernel after the product (the wrapper allows it on dense C only). */
        return g->bias.buf ? ocl_bias_add(ctx, g->c, g->bias, g->m, g->n) : MLTC_OK;
    }
    if (heads == 1) {
        rc = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, (size_t)g->m, (size_t)g->n, (size_t)g->k,
                                        g->alpha, ocl_mem(g->a), g->a.off, (size_t)g->lda, (size_t)g->stride_a,
                                        ocl_mem(g->b), g->b.off, (size_t)g->ldb, (size_t)g->stride_b, g->beta,
                                        ocl_mem(g->c), g->c.off, (size_t)g->ldc, (size_t)g->stride_c, (size_t)g->batch,
                                        &c->queue, NULL);
        ctx->counts.dispatches++;
        return rc == CLBlastSuccess ? MLTC_OK : ocl_fail(c, "matmul", "CLBlastSgemmStridedBatched", rc);
    }
    /* Two-level batches (batch x heads) in one launch through the offset-list batch: CLBlast's
     * strided batch has a single stride, and a launch per head would leave a GPU mostly idle. */
    size_t n = (size_t)dev_gemm_problems(g);
    size_t *off = malloc(3 * n * sizeof *off);
    float *ab = malloc(2 * n * sizeof *ab);
    if (!off || !ab) {
        free(off);
        free(ab);
        return err_set(ctx->err, MLTC_ERR_OUT_OF_MEMORY, "%s matmul: out of host memory", ctx->id);
    }
    for (size_t p = 0; p < n; p++) {
        off[p] = g->a.off + dev_gemm_offset(g, g->stride_a, g->head_stride_a, (int)p);
        off[n + p] = g->b.off + dev_gemm_offset(g, g->stride_b, g->head_stride_b, (int)p);
        off[2 * n + p] = g->c.off + dev_gemm_offset(g, g->stride_c, g->head_stride_c, (int)p);
        ab[p] = g->alpha;
        ab[n + p] = g->beta;
    }
    rc = CLBlastSgemmBatched(CLBlastLayoutRowMajor, ta, tb, (size_t)g->m, (size_t)g->n, (size_t)g->k, ab,
                             ocl_mem(g->a), off, (size_t)g->lda, ocl_mem(g->b), off + n, (size_t)g->ldb, ab + n,
                             ocl_mem(g->c), off + 2 * n, (size_t)g->ldc, n, &c->queue, NULL);
    /* CLBlast 1.5 copies the offset and scalar lists into buffers it creates for the call, with
     * blocking writes: the call returns only after the device has caught up. Its own buffers
     * and waits happen inside CLBlast; the call we make counts as one host wait. */
    ctx->counts.dispatches++;
    ctx->counts.host_waits++;
    free(off);
    free(ab);
    return rc == CLBlastSuccess ? MLTC_OK : ocl_fail(c, "matmul", "CLBlastSgemmBatched", rc);
}
