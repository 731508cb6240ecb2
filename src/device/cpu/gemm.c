/* One row-major GEMM on the CPU in the device's matmul precision (device.h, dev_precision).
 *
 * fp32 is the BLAS's sgemm. bf16 is oneMKL's cblas_gemm_bf16bf16f32: both operands are rounded
 * to bfloat16 (cpu_bf16.c: round to nearest even) into scratch, then
 * multiplied with fp32 accumulation into the fp32 C. Whether that pays depends on the CPU: with
 * AMX (a Xeon of 2023) oneMKL runs it several times faster than sgemm at the large inner
 * dimensions of BERT's layers and whole training steps 1.5-2.1x as fast; with AVX512-BF16 alone
 * (an AMD EPYC Zen 4) training and inference were slower than in fp32 (cpu_bf16_note). Debian's
 * OpenBLAS is built without its bf16 GEMM (sbgemm), so the OpenBLAS build offers fp32 only. */
#include <stdio.h>

#include "core/error.h"
#include "device/cpu/blas.h"
#include "device/cpu/internal.h"

#if defined(MLTC_BLAS_MKL) && defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#endif

size_t cpu_gemm_scratch(dev_precision p, int m, int n, int k) {
    return p == DEV_PREC_BF16 ? (size_t)m * (size_t)k + (size_t)k * (size_t)n : 0;
}

#ifdef MLTC_BLAS_MKL
/* The rows x cols operand as stored (op() not applied), with its leading dimension. */
static void operand_shape(int trans, int rows_op, int cols_op, int *rows, int *cols) {
    *rows = trans ? cols_op : rows_op;
    *cols = trans ? rows_op : cols_op;
}
#endif

void cpu_gemm(dev_precision p, const cpu_gemm_call *g, uint16_t *scratch) {
    CBLAS_TRANSPOSE ta = g->trans_a ? CblasTrans : CblasNoTrans, tb = g->trans_b ? CblasTrans : CblasNoTrans;
#ifdef MLTC_BLAS_MKL
    if (p == DEV_PREC_BF16) {
        int ar, ac, br, bc;
        operand_shape(g->trans_a, g->m, g->k, &ar, &ac);
        operand_shape(g->trans_b, g->k, g->n, &br, &bc);
        uint16_t *a16 = scratch, *b16 = scratch + (size_t)ar * ac;
        cpu_to_bf16(a16, g->a, ar, ac, g->lda);
        cpu_to_bf16(b16, g->b, br, bc, g->ldb);
        cblas_gemm_bf16bf16f32(CblasRowMajor, ta, tb, g->m, g->n, g->k, g->alpha, (const MKL_BF16 *)a16, ac,
                               (const MKL_BF16 *)b16, bc, g->beta, g->c, g->ldc);
        return;
    }
#else
    (void)p; /* bf16 is refused before it gets here (cpu_check_precision) */
    (void)scratch;
#endif
    cblas_sgemm(CblasRowMajor, ta, tb, g->m, g->n, g->k, g->alpha, g->a, g->lda, g->b, g->ldb, g->beta, g->c,
                g->ldc);
}

#ifdef MLTC_BLAS_MKL
/* How the processor multiplies bfloat16 in hardware: AMX-BF16 (CPUID 7.0 EDX bit 22) is 2,
 * AVX512-BF16 alone (CPUID 7.1 EAX bit 5) 1, neither 0 (oneMKL would emulate, slower than fp32). */
static int cpu_bf16_hardware(void) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    unsigned a, b, c, d;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (d & (1u << 22))) return 2;
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5))) return 1;
#endif
    return 0;
}
#endif

int cpu_bf16_available(char *why, size_t size) {
#ifdef MLTC_BLAS_MKL
    if (cpu_bf16_hardware()) return 1;
    snprintf(why, size, "bf16 matmul needs a CPU with AVX512-BF16 or AMX-BF16 (this one has neither, so oneMKL "
                        "would emulate it, slower than fp32)");
#else
    snprintf(why, size, "bf16 matmul needs the oneMKL build (cmake -DMLTC_BLAS=mkl, tools/build_mkl.sh): this one "
                        "uses OpenBLAS, whose Debian build has no bf16 GEMM");
#endif
    return 0;
}

void cpu_bf16_note(char *out, size_t size) {
#ifdef MLTC_BLAS_MKL
    /* Measured at seq 128, batch 8, 2 threads: with AMX on a Xeon, the minilm and base shapes
     * (README's table); with AVX512-BF16 alone on a Zen 4 EPYC, minilm: training 16.16 -> 14.29
     * seq/s, inference 67.32 -> 48.13. */
    int hw = cpu_bf16_hardware();
    if (hw == 2) {
        snprintf(out, size, "bf16 matmul available (--precision bf16), faster than fp32 with AMX (measured: "
                            "training 1.5-2.1x, inference 1.7-2.6x)");
        return;
    }
    if (hw == 1) {
        snprintf(out, size, "bf16 matmul available (--precision bf16), but slower than fp32 on this CPU "
                            "(AVX512-BF16 without AMX; measured on a Zen 4 EPYC: training 0.88x, inference 0.71x)");
        return;
    }
#endif
    cpu_bf16_available(out, size);
}

mltc_status cpu_check_precision(dev_ctx *ctx, dev_precision p) {
    char why[256];
    if (p != DEV_PREC_BF16 || cpu_bf16_available(why, sizeof why)) return MLTC_OK;
    return err_set(ctx->err, MLTC_ERR_UNSUPPORTED, "%s: %s", ctx->id, why);
}
