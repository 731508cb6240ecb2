/* Philox4x32-10, the same function and uniform mapping as src/device/philox.h, so dropout
 * masks agree bit for bit with the CPU backend:
 *   g = index / 4, counter = {lo32(g), hi32(g), 0, 0}, key = {lo32(seed), hi32(seed)},
 *   uniform = (word[index % 4] >> 8) * 2^-24. */

/* The four words of counter group g (dropout indices 4g .. 4g+3). */
uint4 philox_words(ulong seed, ulong g) {
    uint c0 = (uint)g, c1 = (uint)(g >> 32), c2 = 0, c3 = 0;
    uint k0 = (uint)seed, k1 = (uint)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        uint hi0 = mul_hi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        uint hi1 = mul_hi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return (uint4)(c0, c1, c2, c3);
}

float philox_uniform(ulong seed, ulong index) {
    uint4 c = philox_words(seed, index >> 2);
    uint lane = (uint)index & 3u;
    uint w = lane == 0 ? c.x : lane == 1 ? c.y : lane == 2 ? c.z : c.w;
    return (float)(w >> 8) * (1.0f / 16777216.0f);
}
