/* OpenCL matmul through CLBlast (row-major, with element offsets, strided-batched for
 * attention heads). CLBlast compiles and caches its own kernels per context. */
#include <clblast_c.h>

#include "device/opencl_internal.h"

mltc_status ocl_matmul(dev_ctx *ctx, const dev_gemm *g) {
    ocl_ctx *c = (ocl_ctx *)ctx;
    CLBlastTranspose ta = g->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastTranspose tb = g->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastStatusCode rc;
    if (g->batch == 1) {
        rc = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, (size_t)g->m, (size_t)g->n, (size_t)g->k, g->alpha,
                          ocl_mem(g->a), g->a.off, (size_t)g->lda, ocl_mem(g->b), g->b.off, (size_t)g->ldb, g->beta,
                          ocl_mem(g->c), g->c.off, (size_t)g->ldc, &c->queue, NULL);
        if (rc != CLBlastSuccess) return ocl_fail(c, "matmul", "CLBlastSgemm", rc);
        /* The bias as its own kernel after the product (the wrapper allows it on dense C only). */
        return g->bias.buf ? ocl_bias_add(ctx, g->c, g->bias, g->m, g->n) : MLTC_OK;
    }
    rc = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, (size_t)g->m, (size_t)g->n, (size_t)g->k, g->alpha,
                                    ocl_mem(g->a), g->a.off, (size_t)g->lda, (size_t)g->stride_a, ocl_mem(g->b),
                                    g->b.off, (size_t)g->ldb, (size_t)g->stride_b, g->beta, ocl_mem(g->c), g->c.off,
                                    (size_t)g->ldc, (size_t)g->stride_c, (size_t)g->batch, &c->queue, NULL);
    return rc == CLBlastSuccess ? MLTC_OK : ocl_fail(c, "matmul", "CLBlastSgemmStridedBatched", rc);
}
