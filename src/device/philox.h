/*
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011),
 * a counter-based generator: the output depends only on (counter, key), so every backend
 * draws the same random numbers for the same (seed, element) and a resumed run continues
 * exactly. The OpenCL kernels and Vulkan shaders implement the same function.
 *
 * mltc's mapping, shared by every backend: one call gives four words, used by four
 * consecutive indices (a quarter of the work of one call per index):
 *   g = index / 4, counter = {lo32(g), hi32(g), 0, 0}, key = {lo32(seed), hi32(seed)}
 *   uniform(seed, index) = (word[index % 4] >> 8) * 2^-24, in [0, 1)
 */
#ifndef MLTC_PHILOX_H
#define MLTC_PHILOX_H

#include <stdint.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline void philox4x32_10(const uint32_t ctr_in[4], const uint32_t key_in[2], uint32_t out[4]) {
    uint32_t c0 = ctr_in[0], c1 = ctr_in[1], c2 = ctr_in[2], c3 = ctr_in[3];
    uint32_t k0 = key_in[0], k1 = key_in[1];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* The four words for indices 4*group .. 4*group + 3. */
static inline void philox_group(uint64_t seed, uint64_t group, uint32_t out[4]) {
    uint32_t ctr[4] = {(uint32_t)group, (uint32_t)(group >> 32), 0, 0};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    philox4x32_10(ctr, key, out);
}

static inline float philox_word_uniform(uint32_t word) { return (float)(word >> 8) * (1.0f / 16777216.0f); }

static inline float philox_uniform(uint64_t seed, uint64_t index) {
    uint32_t out[4];
    philox_group(seed, index >> 2, out);
    return philox_word_uniform(out[index & 3]);
}

#endif
