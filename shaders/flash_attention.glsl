// Shared by flash_attention_forward.comp and flash_attention_backward.comp (dev_attention_train,
// device_ops.def): sizes, the tile staging and the dropout factor. Operand x of (sequence b,
// head h), row i, column d is x[x_off + b*x_stride + h*D + i*x_ld + d]; the dropout element of
// (b, h, i, j) is offset + ((b*H + h)*R + i)*T + j, as dropout.comp's over a dense [B, H, R, T].
#ifndef MLTC_FLASH_ATTENTION_GLSL
#define MLTC_FLASH_ATTENTION_GLSL

#define WG 64u        // invocations a group: query rows (forward, dq, delta) or keys (dk, dv)
#define FA_TILE 16    // keys (forward, dq) or query rows (dk, dv) staged in shared memory at a time
#define FA_DMAX 64    // DEV_ATTENTION_TRAIN_MAX_DIM
#define FA_NO_KEYS 1e30 // MLTC_ATT_NO_KEYS

// The dropout factor keep / (1 - p) of element i; words holds the Philox words of i's group of
// four when fresh is false (consecutive elements of a row share a call).
float fa_factor(uvec2 seed, uvec2 offset, uint i, float p, bool fresh, inout uvec4 words) {
    uint carry;
    uint lo = uaddCarry(offset.x, i, carry);
    uint hi = offset.y + carry;
    if (fresh || (lo & 3u) == 0u) words = philox_words((lo >> 2) | (hi << 30), hi >> 2, seed.x, seed.y);
    return float(words[lo & 3u] >> 8) * (1.0 / 16777216.0) >= p ? 1.0 / (1.0 - p) : 0.0;
}

#endif
