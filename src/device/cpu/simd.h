/* What lets the CPU backend's elementwise loops run at vector speed on any x86-64:
 *
 * - CPU_CLONES: GCC builds the marked function for AVX-512 (x86-64-v4), AVX2 + FMA (x86-64-v3)
 *   and the SSE2 baseline, and picks one at load time (ifunc), so the library stays portable
 *   without -march=native. OpenMP outlines a parallel region into its own function before
 *   cloning happens, so the clones go on the per-chunk workers that the parallel loops call,
 *   never on a function containing `#pragma omp parallel`.
 * - cpu_expf / cpu_erff: branch-free float approximations that GCC vectorises (libm's expf and
 *   erff are calls it cannot). cpu_expf is within 2 ulp of expf over the float range; cpu_erff
 *   is the same approximation as shaders/erf.glsl (A&S 7.1.26, 1.5e-7 absolute error, with the
 *   Taylor series for |x| < 0.25), so CPU and Vulkan GELU agree closely.
 */
#ifndef MLTC_CPU_SIMD_H
#define MLTC_CPU_SIMD_H

#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CPU_CLONES
#endif

/* Elements a parallel loop hands to one call of a cloned worker: large enough that the call is
 * free, small enough that two threads share the work of a 128x384 activation evenly. */
#define CPU_CHUNK 8192

/* Runs `body` over [0, n) in CPU_CHUNK pieces on all threads; `body` sees base and count. */
#define CPU_FOR_CHUNKS(n, base, count, body)                                                                  \
    do {                                                                                                      \
        size_t nchunks_ = ((n) + CPU_CHUNK - 1) / CPU_CHUNK;                                                  \
        _Pragma("omp parallel for schedule(static)") for (size_t c_ = 0; c_ < nchunks_; c_++) {               \
            size_t base = c_ * CPU_CHUNK, count = (n)-base < CPU_CHUNK ? (n)-base : CPU_CHUNK;                \
            body;                                                                                             \
        }                                                                                                     \
    } while (0)

/* e^x: x = n*ln2 + f with |f| <= ln2/2, e^f by its degree-7 Taylor polynomial (truncation error
 * below 1e-8 relative), 2^n by building the exponent bits. Below -87.3 the result is 0 (the
 * float denormal range is not needed by any caller: softmax and the GELU density). */
static inline float cpu_expf(float x) {
    float xc = x > 88.7f ? 88.7f : (x < -87.3f ? -87.3f : x);
    float t = xc * 1.44269504088896341f;
    float n = (t + 12582912.0f) - 12582912.0f; /* round to nearest with the 1.5*2^23 trick */
    float f = xc - n * 0.693145751953125f;     /* ln2 split in two: the product n*hi is exact */
    f = f - n * 1.42860682030941723212e-6f;
    float p = 1.0f / 5040.0f;
    p = p * f + 1.0f / 720.0f;
    p = p * f + 1.0f / 120.0f;
    p = p * f + 1.0f / 24.0f;
    p = p * f + 1.0f / 6.0f;
    p = p * f + 0.5f;
    p = p * f + 1.0f;
    p = p * f + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x < -87.3f ? 0.0f : p * scale;
}

/* erf(x) given e = exp(-x*x), which the GELU backward has already (its density needs the same
 * exponential), so it computes one exp instead of two. */
static inline float cpu_erff_e(float x, float e) {
    float a = x < 0.0f ? -x : x;
    float x2 = x * x;
    /* 2/sqrt(pi) * (x - x^3/3 + x^5/10 - x^7/42) */
    float small = 1.1283791670955126f * x * (1.0f + x2 * (-1.0f / 3.0f + x2 * (0.1f + x2 * (-1.0f / 42.0f))));
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
    float r = 1.0f - poly * e;
    r = x < 0.0f ? -r : r;
    return a < 0.25f ? small : r;
}

static inline float cpu_erff(float x) { return cpu_erff_e(x, cpu_expf(-x * x)); }

#endif
