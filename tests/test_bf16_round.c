/* fp32 -> bf16 rounding of the CPU's bf16 GEMM operands (src/device/cpu/bf16.c), both paths:
 * the portable loop, and AVX512-BF16's instruction where this CPU has it.
 *
 * Each is held to a reference written here another way: the nearest bf16 found by comparing the
 * two bf16 neighbours of x in double arithmetic, ties to the even one; NaN a quiet NaN of the same
 * sign, subnormal inputs a zero of their sign. Checked on hand-picked values (ties both ways,
 * rounding up into the next binade and into infinity, the subnormal boundary, NaN payloads) and
 * on 2^20 random bit patterns; then a strided operand (leading dimension past the row, odd row
 * lengths that leave the instruction path a masked tail) through cpu_to_bf16 must not read or
 * write outside its rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/cpu/internal.h"
#include "testutil.h"

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static uint16_t reference(float x) {
    uint32_t u = bits(x);
    uint32_t sign = u & 0x80000000u, mag = u & 0x7FFFFFFFu;
    if (mag > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40u);
    if (mag < 0x00800000u) return (uint16_t)(sign >> 16);
    if (mag == 0x7F800000u) return (uint16_t)(u >> 16);
    /* the bf16 values just below and just above |x| (truncation and one step up) */
    uint32_t lo = mag & 0xFFFF0000u, hi = lo + 0x10000u;
    double ax = fabs((double)x), dlo = fabs((double)from_bits(lo));
    double dhi = hi >= 0x7F800000u ? ldexp(1.0, 128) : (double)from_bits(hi); /* next "value" past max: 2^128 */
    uint32_t pick;
    if (ax - dlo < dhi - ax)
        pick = lo;
    else if (ax - dlo > dhi - ax)
        pick = hi;
    else
        pick = (lo >> 16) & 1u ? hi : lo;
    return (uint16_t)((sign | pick) >> 16);
}

typedef void rows_fn(uint16_t *dst, const float *src, long rows, int cols, int ld);

static void check_values(const char *path, rows_fn *fn, const float *x, size_t n) {
    uint16_t *got = malloc(n * sizeof *got);
    fn(got, x, 1, (int)n, (int)n);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t want = reference(x[i]);
        if (got[i] != want && bad++ < 5)
            printf("  %s: %.9g (0x%08x) -> 0x%04x, want 0x%04x\n", path, x[i], bits(x[i]), got[i], want);
    }
    tu_check(bad == 0, "%s: %zu of %zu values rounded wrongly", path, bad, n);
    free(got);
}

static void check_path(const char *path, rows_fn *fn) {
    const float special[] = {
        0.0f, -0.0f, 1.0f, -1.0f,
        from_bits(0x3F808000u), /* 1 + 2^-8: a tie, even below */
        from_bits(0x3F818000u), /* a tie, even above */
        from_bits(0x3F808001u), /* just past a tie: up */
        from_bits(0x3F807FFFu), /* just below a tie: down */
        from_bits(0x3FFF8000u), /* a tie that carries into the next binade (2.0) */
        from_bits(0x7F7FFFFFu), /* FLT_MAX rounds to infinity */
        from_bits(0x7F7F7FFFu), /* the largest that stays finite */
        INFINITY, -INFINITY,
        from_bits(0x7F800001u), from_bits(0xFF800001u), /* signalling NaNs: quiet, payload's top */
        from_bits(0x7FC00000u), from_bits(0x7FFFFFFFu),
        from_bits(0x00800000u), from_bits(0x80800000u), /* the smallest normals stay */
        from_bits(0x007FFFFFu), from_bits(0x807FFFFFu), from_bits(0x00000001u), /* subnormals: zero */
        1e-39f, -5.9e-39f, 3.14159265f, -2.71828183f, 65504.0f, 1e30f, -1e-30f,
    };
    size_t ns = sizeof special / sizeof special[0];
    check_values(path, fn, special, ns);

    size_t n = (size_t)1 << 20;
    float *x = malloc(n * sizeof *x);
    uint64_t state = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = from_bits((uint32_t)(state >> 32));
    }
    check_values(path, fn, x, n);
    free(x);
}

/* rows x cols taken from a [rows, ld] array; the columns past cols and the guard after dst must
 * stay as they were. */
static void check_strided(int rows, int cols, int ld) {
    float *src = malloc(sizeof *src * (size_t)rows * (size_t)ld);
    for (size_t i = 0; i < (size_t)rows * (size_t)ld; i++) src[i] = (float)((int)(i % 1001) - 500) * 0.013f;
    size_t n = (size_t)rows * (size_t)cols;
    uint16_t *dst = malloc(sizeof *dst * (n + 64));
    for (size_t i = 0; i < n + 64; i++) dst[i] = 0xABCD;
    cpu_to_bf16(dst, src, rows, cols, ld);
    int bad = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) bad += dst[(size_t)r * cols + c] != reference(src[(size_t)r * ld + c]);
    for (size_t i = n; i < n + 64; i++) bad += dst[i] != 0xABCD;
    tu_check(bad == 0, "cpu_to_bf16 %d x %d (ld %d): %d elements wrong or written past the end", rows, cols, ld, bad);
    free(src);
    free(dst);
}

int main(void) {
    check_path("portable", cpu_bf16_rows_portable);
    if (cpu_bf16_instruction_available()) {
        check_path("AVX512-BF16", cpu_bf16_rows);
        printf("both paths checked (this CPU has AVX512-BF16)\n");
    } else {
        printf("portable path checked; this CPU has no AVX512-BF16, so cpu_bf16_rows is the same path\n");
        check_path("cpu_bf16_rows", cpu_bf16_rows);
    }
    /* short rows (the tail alone), a row of 33 (one block + a tail of 1), and a large operand
     * that cpu_to_bf16 splits over the threads */
    check_strided(3, 5, 7);
    check_strided(17, 33, 40);
    check_strided(7, 16, 16);
    check_strided(300, 1000, 1003);
    return tu_finish();
}
