/* Philox4x32-10 against the Random123 known-answer vectors (kat_vectors), and the uniform
 * mapping every backend shares. */
#include <stdio.h>

#include "device/philox.h"
#include "testutil.h"

int main(void) {
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
         0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
         0x24126ea1},
    };
    for (int v = 0; v < 3; v++) {
        uint32_t out[4];
        philox4x32_10(kat[v], kat[v] + 4, out);
        for (int j = 0; j < 4; j++)
            tu_check(out[j] == kat[v][6 + j], "philox4x32_10 vector %d word %d: got %08x, expected %08x", v, j, out[j],
                     kat[v][6 + j]);
    }
    /* Indices 0..3 of seed 0 take the four words of the all-zero vector in order; index 4 starts
     * counter 1; an index above 2^34 puts its group's high bits in counter word 1. */
    for (int j = 0; j < 4; j++)
        tu_check(philox_uniform(0, (uint64_t)j) == (float)(kat[0][6 + j] >> 8) / 16777216.0f, "philox_uniform(0, %d)", j);
    {
        uint32_t ctr[4] = {1, 0, 0, 0}, key[2] = {0, 0}, out[4];
        philox4x32_10(ctr, key, out);
        tu_check(philox_uniform(0, 5) == (float)(out[1] >> 8) / 16777216.0f, "philox_uniform(0, 5) = word 1 of counter 1");
        uint32_t ctr2[4] = {7, 1, 0, 0}, key2[2] = {99, 3};
        philox4x32_10(ctr2, key2, out);
        uint64_t index = ((uint64_t)1 << 34) + 7 * 4 + 2, seed = ((uint64_t)3 << 32) | 99;
        tu_check(philox_uniform(seed, index) == (float)(out[2] >> 8) / 16777216.0f, "philox_uniform above 2^34");
    }
    /* Mean of many uniforms is near 1/2 and every value lies in [0, 1). */
    double sum = 0;
    int in_range = 1;
    for (int i = 0; i < 100000; i++) {
        float u = philox_uniform(1234, (uint64_t)i);
        in_range &= u >= 0.0f && u < 1.0f;
        sum += u;
    }
    tu_check(in_range, "philox_uniform values in [0, 1)");
    tu_check(sum / 100000 > 0.495 && sum / 100000 < 0.505, "philox_uniform mean %f", sum / 100000);
    return tu_finish();
}
