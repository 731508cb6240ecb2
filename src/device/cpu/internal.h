/* Shared by the CPU backend's files: host buffers and typed pointers into views. */
#ifndef MLTC_DEVICE_CPU_INTERNAL_H
#define MLTC_DEVICE_CPU_INTERNAL_H

#include "device/device.h"

typedef struct cpu_buf {
    dev_buf base; /* must be first */
    void *data;
} cpu_buf;

static inline float *cpu_f(dev_view v) { return (float *)((cpu_buf *)v.buf)->data + v.off; }
static inline int32_t *cpu_i(dev_view v) { return (int32_t *)((cpu_buf *)v.buf)->data + v.off; }

/* One row-major GEMM, C = alpha op(A) op(B) + beta C (gemm.c), in precision p; bf16 needs
 * cpu_gemm_scratch(p, m, n, k) uint16 of scratch (none for fp32: NULL will do). It runs on the
 * calling thread when called inside a parallel region, else on all threads. */
typedef struct cpu_gemm_call {
    int trans_a, trans_b, m, n, k;
    float alpha;
    const float *a;
    int lda;
    const float *b;
    int ldb;
    float beta;
    float *c;
    int ldc;
} cpu_gemm_call;
void cpu_gemm(dev_precision p, const cpu_gemm_call *g, uint16_t *scratch);
size_t cpu_gemm_scratch(dev_precision p, int m, int n, int k);
mltc_status cpu_check_precision(dev_ctx *ctx, dev_precision p);
/* fp32 -> bf16 (cpu_bf16.c): rows x cols of src (leading dimension ld) into dense dst, round to
 * nearest even, NaN quiet, subnormals to signed zero. cpu_to_bf16 splits the rows over the
 * threads unless called inside a parallel region; cpu_bf16_rows runs on the calling thread, by
 * AVX512-BF16's conversion instruction where cpu_bf16_instruction_available() says the CPU has
 * it, else by cpu_bf16_rows_portable (the same bits). */
void cpu_to_bf16(uint16_t *dst, const float *src, int rows, int cols, int ld);
void cpu_bf16_rows(uint16_t *dst, const float *src, long rows, int cols, int ld);
void cpu_bf16_rows_portable(uint16_t *dst, const float *src, long rows, int cols, int ld);
int cpu_bf16_instruction_available(void);
/* 1 when this build on this CPU runs bf16 matmul; else 0 with the reason in why. */
int cpu_bf16_available(char *why, size_t size);
/* One line for mltc devices: whether bf16 matmul is available here and whether it pays. */
void cpu_bf16_note(char *out, size_t size);

/* Working memory for one op of ctx (backend.c): at least bytes, 64-byte aligned, the same buffer
 * from call to call while it is large enough; NULL when it cannot be had. Its contents do not
 * survive the next call. */
void *cpu_scratch(dev_ctx *ctx, size_t bytes);

/* The ops of device_ops.def, cpu_<name>, each in the file of its family (matmul.c, norm.c, ...). */
#define DEV_OP(name, NAME, params) mltc_status cpu_##name params;
#include "device/device_ops.def"

/* Rows [r0, r1) of x [rows, cols] through the scaled masked softmax into y (y may be x); row r
 * takes its key mask (NULL: none) from mask row r / rows_per_mask (attention.c). */
void cpu_softmax_rows(float *y, const float *x, const float *mask, long r0, long r1, long rows_per_mask, int cols,
                      float scale);

/* The vtable's copy and fill (elementwise.c). */
mltc_status cpu_copy(dev_ctx *ctx, dev_view dst, dev_view src, size_t n);
mltc_status cpu_fill(dev_ctx *ctx, dev_view dst, size_t n, float value);

#endif
