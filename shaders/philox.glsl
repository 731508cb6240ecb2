// Philox4x32-10 with mltc's mapping (src/device/philox.h): g = index / 4,
// counter = {lo(g), hi(g), 0, 0}, key = {lo(seed), hi(seed)}, uniform = (word[index % 4] >> 8) * 2^-24.
// 64-bit values travel as two uints so no shaderInt64 is needed.
#ifndef MLTC_PHILOX_GLSL
#define MLTC_PHILOX_GLSL

uvec4 philox_words(uint c0, uint c1, uint k0, uint k1) {
    uint c2 = 0u, c3 = 0u;
    for (int r = 0; r < 10; r++) {
        uint hi0, lo0, hi1, lo1;
        umulExtended(0xD2511F53u, c0, hi0, lo0);
        umulExtended(0xCD9E8D57u, c2, hi1, lo1);
        uint n0 = hi1 ^ c1 ^ k0;
        uint n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return uvec4(c0, c1, c2, c3);
}

// uniform(seed, offset + i) in [0, 1)
float philox_uniform(uvec2 seed, uvec2 offset, uint i) {
    uint carry;
    uint lo = uaddCarry(offset.x, i, carry);
    uint hi = offset.y + carry;
    uvec4 w = philox_words((lo >> 2) | (hi << 30), hi >> 2, seed.x, seed.y);
    return float(w[lo & 3u] >> 8) * (1.0 / 16777216.0);
}

#endif
