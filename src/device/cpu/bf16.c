/* fp32 -> bfloat16 rounding of GEMM operands for the CPU's bf16 matmul (gemm.c).
 *
 * Round to nearest even, NaN kept a quiet NaN, and subnormal inputs flushed to a zero of their
 * sign: what AVX512-BF16's VCVTNE2PS2BF16 does, so the two paths below give the same bits and a
 * result never depends on which one the CPU took. (PyTorch's .to(torch.bfloat16) keeps
 * subnormals; below 1.2e-38 an operand is zero to any product BERT forms.)
 *
 * The rounding is on the critical path of every bf16 GEMM: both operands go through it on each
 * call. The portable loop vectorises with CPU_CLONES, but with the compare-and-select it needs for
 * NaN and subnormals it moved about 23 GB/s inside a bf16 GEMM here, half of a plain copy's speed;
 * the instruction converts 32 floats at once and keeps up with memory. */
#include <omp.h>
#include <string.h>

#include "device/cpu/internal.h"
#include "device/cpu/simd.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#include <immintrin.h>
#define CPU_BF16_INSTRUCTION 1
#endif

CPU_CLONES void cpu_bf16_rows_portable(uint16_t *dst, const float *src, long rows, int cols, int ld) {
    for (long r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            uint32_t u;
            memcpy(&u, src + r * ld + c, 4);
            uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
            uint32_t nan = (u >> 16) | 0x40u, zero = (u >> 16) & 0x8000u;
            uint32_t mag = u & 0x7FFFFFFFu;
            dst[r * cols + c] = (uint16_t)(mag > 0x7F800000u ? nan : mag < 0x00800000u ? zero : rounded);
        }
}

#ifdef CPU_BF16_INSTRUCTION
__attribute__((target("avx512f,avx512bf16"))) static void bf16_rows_instruction(uint16_t *dst, const float *src,
                                                                              long rows, int cols, int ld) {
    for (long r = 0; r < rows; r++) {
        const float *s = src + r * ld;
        uint16_t *d = dst + r * cols;
        int c = 0;
        for (; c + 32 <= cols; c += 32) {
            __m512bh h = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(s + c + 16), _mm512_loadu_ps(s + c));
            _mm512_storeu_si512((void *)(d + c), (__m512i)h);
        }
        if (c < cols) {
            /* the row's tail: a masked load and store, so nothing past the row is touched */
            int left = cols - c;
            __mmask16 lo = (__mmask16)((left >= 16 ? 0xFFFFu : (1u << left) - 1u));
            __mmask16 hi = (__mmask16)((left <= 16 ? 0u : (1u << (left - 16)) - 1u));
            __m512bh h = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, s + c + 16), _mm512_maskz_loadu_ps(lo, s + c));
            _mm512_mask_storeu_epi16(d + c, (__mmask32)((uint32_t)lo | ((uint32_t)hi << 16)), (__m512i)h);
        }
    }
}
#endif

int cpu_bf16_instruction_available(void) {
#ifdef CPU_BF16_INSTRUCTION
    return __builtin_cpu_supports("avx512bf16"); /* a read of what libgcc found at load time */
#else
    return 0;
#endif
}

void cpu_bf16_rows(uint16_t *dst, const float *src, long rows, int cols, int ld) {
#ifdef CPU_BF16_INSTRUCTION
    if (cpu_bf16_instruction_available()) {
        bf16_rows_instruction(dst, src, rows, cols, ld);
        return;
    }
#endif
    cpu_bf16_rows_portable(dst, src, rows, cols, ld);
}

void cpu_to_bf16(uint16_t *dst, const float *src, int rows, int cols, int ld) {
    int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (threads <= 1 || (long)rows * cols < 65536) {
        cpu_bf16_rows(dst, src, rows, cols, ld);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int t = 0; t < threads; t++) {
        long r0 = (long)rows * t / threads, r1 = (long)rows * (t + 1) / threads;
        cpu_bf16_rows(dst + r0 * cols, src + r0 * ld, r1 - r0, cols, ld);
    }
}
