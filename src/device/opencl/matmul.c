/* OpenCL matmul through CLBlast (row-major, with element offsets). Batches go through
 * CLBlastSgemmStridedBatched, which only enqueues kernels. CLBlastSgemmBatched (a list of
 * offsets per problem) is not used: CLBlast 1.5 copies its offset and scalar lists into buffers
 * it creates for each call, with blocking writes, so every call stalls the host and allocates.
 * CLBlast compiles and caches its own kernels per context. */
#include <clblast_c.h>

#include "device/opencl/internal.h"

static mltc_status strided(ocl_ctx *c, const dev_gemm *g, size_t a_off, size_t b_off, size_t c_off, long sa, long sb,
                           long sc, size_t count) {
    CLBlastTranspose ta = g->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastTranspose tb = g->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastStatusCode rc = CLBlastSgemmStridedBatched(
        CLBlastLayoutRowMajor, ta, tb, (size_t)g->m, (size_t)g->n, (size_t)g->k, g->alpha, ocl_mem(g->a), a_off,
        (size_t)g->lda, (size_t)sa, ocl_mem(g->b), b_off, (size_t)g->ldb, (size_t)sb, g->beta, ocl_mem(g->c), c_off,
        (size_t)g->ldc, (size_t)sc, count, &c->queue, NULL);
    ocl_enqueued(c, &c->base.counts.dispatches);
    return rc == CLBlastSuccess ? MLTC_OK : ocl_fail(c, "matmul", "CLBlastSgemmStridedBatched", rc);
}

mltc_status ocl_matmul(dev_ctx *ctx, const dev_gemm *g) {
    ocl_ctx *c = (ocl_ctx *)ctx;
    int heads = dev_gemm_heads(g);
    if (g->batch == 1 && heads == 1) {
        CLBlastStatusCode rc = CLBlastSgemm(
            CLBlastLayoutRowMajor, g->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
            g->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, (size_t)g->m, (size_t)g->n, (size_t)g->k, g->alpha,
            ocl_mem(g->a), g->a.off, (size_t)g->lda, ocl_mem(g->b), g->b.off, (size_t)g->ldb, g->beta, ocl_mem(g->c),
            g->c.off, (size_t)g->ldc, &c->queue, NULL);
        ocl_enqueued(c, &ctx->counts.dispatches);
        if (rc != CLBlastSuccess) return ocl_fail(c, "matmul", "CLBlastSgemm", rc);
        /* The bias as its own kernel after the product (the wrapper allows it on dense C only). */
        return g->bias.buf ? ocl_bias_add(ctx, g->c, g->bias, g->m, g->n) : MLTC_OK;
    }
    if (heads == 1)
        return strided(c, g, g->a.off, g->b.off, g->c.off, g->stride_a, g->stride_b, g->stride_c, (size_t)g->batch);
    /* batch x heads problems. When every operand's batch stride is heads times its head stride
     * the problems are one regular sequence; otherwise (attention reads each head's columns of
     * [B, T, H*D] rows) one strided call per entry of the smaller dimension covers the larger:
     * a few launches, each still wide enough to fill a GPU. */
    if (g->stride_a == heads * g->head_stride_a && g->stride_b == heads * g->head_stride_b &&
        g->stride_c == heads * g->head_stride_c)
        return strided(c, g, g->a.off, g->b.off, g->c.off, g->head_stride_a, g->head_stride_b, g->head_stride_c,
                       (size_t)g->batch * heads);
    int per_head = heads <= g->batch; /* loop over heads, batching over the batch */
    int loops = per_head ? heads : g->batch;
    for (int i = 0; i < loops; i++) {
        long oa = per_head ? i * g->head_stride_a : i * g->stride_a;
        long ob = per_head ? i * g->head_stride_b : i * g->stride_b;
        long oc = per_head ? i * g->head_stride_c : i * g->stride_c;
        mltc_status st = per_head ? strided(c, g, g->a.off + oa, g->b.off + ob, g->c.off + oc, g->stride_a, g->stride_b,
                                            g->stride_c, (size_t)g->batch)
                                  : strided(c, g, g->a.off + oa, g->b.off + ob, g->c.off + oc, g->head_stride_a,
                                            g->head_stride_b, g->head_stride_c, (size_t)heads);
        if (st != MLTC_OK) return st;
    }
    return MLTC_OK;
}
