/* Fused training attention (dev_attention_train, device_ops.def): flash-attention style, fp32.
 * No [R, T] matrix is stored: the forward keeps each query row's log-sum-exp, the backward
 * recomputes scores, probabilities and the Philox dropout mask tile by tile (FlashAttention-2).
 * Every sum runs in a fixed order inside one work-item, so results are deterministic (no atomics).
 *
 * Operand x of (sequence b, head h) row i, column d: x[xo + b*x_stride + h*D + i*x_ld + d].
 * The key mask (has_mask) is [B, T]; the dropout element of (b, h, i, j) is
 * offset + ((b*H + h)*R + i)*T + j, as for dropout_forward over a dense [B, H, R, T] buffer. */

#define FA_ROWS 64   /* work-items a group: query rows (forward, dq) or keys (dk, dv) */
#define FA_TILE 32   /* keys (forward, dq) or query rows (dk, dv) staged in local memory at a time */
#define FA_DMAX 64   /* DEV_ATTENTION_TRAIN_MAX_DIM */
#define FA_NO_KEYS 1e30f /* MLTC_ATT_NO_KEYS */

float fa_word_factor(uint4 w, ulong idx, float p) {
    uint lane = (uint)idx & 3u;
    uint x = lane == 0 ? w.s0 : lane == 1 ? w.s1 : lane == 2 ? w.s2 : w.s3;
    return (float)(x >> 8) * (1.0f / 16777216.0f) >= p ? 1.0f / (1.0f - p) : 0.0f;
}

/* Stages rows j0 .. j0+n-1 of x (n <= FA_TILE) into tile[FA_TILE][FA_DMAX], zeros past n. */
void fa_stage(__local float *tile, __global const float *x, ulong base, int ld, int j0, int n, int D) {
    for (int e = get_local_id(0); e < FA_TILE * D; e += FA_ROWS) {
        int r = e / D, d = e % D;
        tile[r * FA_DMAX + d] = r < n ? x[base + (ulong)(j0 + r) * (ulong)ld + (ulong)d] : 0.0f;
    }
}

__kernel __attribute__((reqd_work_group_size(FA_ROWS, 1, 1))) void
flash_attention_forward(__global const float *q, ulong qo, __global const float *k, ulong ko,
                        __global const float *v, ulong vo, __global float *out, ulong oo, __global float *lse,
                        ulong lo, __global const float *mask, ulong mo, int has_mask, int H, int R, int T, int D,
                        int q_ld, ulong q_stride, int k_ld, ulong k_stride, int v_ld, ulong v_stride, int o_ld,
                        ulong o_stride, float scale, float p, ulong seed, ulong offset) {
    __local float ks[FA_TILE * FA_DMAX], vs[FA_TILE * FA_DMAX];
    int t = get_local_id(0), tiles = (R + FA_ROWS - 1) / FA_ROWS;
    int pr = get_group_id(0) / tiles, i = (get_group_id(0) % tiles) * FA_ROWS + t;
    int b = pr / H, h = pr % H, valid = i < R;
    float qr[FA_DMAX], acc[FA_DMAX];
    ulong qb = qo + b * q_stride + (ulong)h * D + (ulong)(valid ? i : 0) * q_ld;
    for (int d = 0; d < D; d++) {
        qr[d] = valid ? scale * q[qb + d] : 0.0f;
        acc[d] = 0.0f;
    }
    ulong kb = ko + b * k_stride + (ulong)h * D, vb = vo + b * v_stride + (ulong)h * D;
    ulong first = offset + ((ulong)pr * R + (ulong)i) * (ulong)T;
    float m = -INFINITY, l = 0.0f;
    for (int j0 = 0; j0 < T; j0 += FA_TILE) {
        int n = min(FA_TILE, T - j0);
        fa_stage(ks, k, kb, k_ld, j0, n, D);
        fa_stage(vs, v, vb, v_ld, j0, n, D);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (valid) {
            float s[FA_TILE], tmax = -INFINITY;
            for (int r = 0; r < n; r++) {
                float dot = 0.0f;
                for (int d = 0; d < D; d++) dot += qr[d] * ks[r * FA_DMAX + d];
                s[r] = !has_mask || mask[mo + (ulong)b * T + (ulong)(j0 + r)] != 0.0f ? dot : -INFINITY;
                tmax = fmax(tmax, s[r]);
            }
            if (tmax > -INFINITY) { /* online softmax: rescale what the earlier tiles summed */
                float mn = fmax(m, tmax), corr = exp(m - mn);
                l *= corr;
                for (int d = 0; d < D; d++) acc[d] *= corr;
                uint4 w = (uint4)(0);
                for (int r = 0; r < n; r++) {
                    ulong idx = first + (ulong)(j0 + r);
                    if (p > 0.0f && (r == 0 || (idx & 3) == 0)) w = philox_words(seed, idx >> 2);
                    if (s[r] == -INFINITY) continue;
                    float e = exp(s[r] - mn);
                    l += e;
                    float pz = p > 0.0f ? e * fa_word_factor(w, idx, p) : e;
                    if (pz != 0.0f)
                        for (int d = 0; d < D; d++) acc[d] += pz * vs[r * FA_DMAX + d];
                }
                m = mn;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (!valid) return;
    ulong ob = oo + b * o_stride + (ulong)h * D + (ulong)i * o_ld;
    float inv = l > 0.0f ? 1.0f / l : 0.0f;
    for (int d = 0; d < D; d++) out[ob + d] = acc[d] * inv;
    lse[lo + (ulong)pr * R + i] = l > 0.0f ? m + log(l) : FA_NO_KEYS;
}

/* dq, and delta_i = dout_i . out_i (kept for flash_attention_dkdv): one work-item per query row. */
__kernel __attribute__((reqd_work_group_size(FA_ROWS, 1, 1))) void
flash_attention_dq(__global const float *q, ulong qo, __global const float *k, ulong ko, __global const float *v,
                   ulong vo, __global const float *out, ulong oo, __global const float *dout, ulong go,
                   __global float *dq, ulong dqo, __global const float *lse, ulong lo, __global float *delta,
                   ulong delo, __global const float *mask, ulong mo, int has_mask, int H, int R, int T, int D,
                   int q_ld, ulong q_stride, int k_ld, ulong k_stride, int v_ld, ulong v_stride, int o_ld,
                   ulong o_stride, float scale, float p, ulong seed, ulong offset) {
    __local float ks[FA_TILE * FA_DMAX], vs[FA_TILE * FA_DMAX];
    int t = get_local_id(0), tiles = (R + FA_ROWS - 1) / FA_ROWS;
    int pr = get_group_id(0) / tiles, i = (get_group_id(0) % tiles) * FA_ROWS + t;
    int b = pr / H, h = pr % H, valid = i < R;
    float qr[FA_DMAX], gr[FA_DMAX], acc[FA_DMAX];
    ulong qb = qo + b * q_stride + (ulong)h * D + (ulong)(valid ? i : 0) * q_ld;
    ulong ob = b * o_stride + (ulong)h * D + (ulong)(valid ? i : 0) * o_ld;
    float di = 0.0f;
    for (int d = 0; d < D; d++) {
        qr[d] = valid ? scale * q[qb + d] : 0.0f;
        gr[d] = valid ? dout[go + ob + d] : 0.0f;
        di += valid ? gr[d] * out[oo + ob + d] : 0.0f;
        acc[d] = 0.0f;
    }
    float li = valid ? lse[lo + (ulong)pr * R + i] : FA_NO_KEYS;
    if (valid) delta[delo + (ulong)pr * R + i] = di;
    ulong kb = ko + b * k_stride + (ulong)h * D, vb = vo + b * v_stride + (ulong)h * D;
    ulong first = offset + ((ulong)pr * R + (ulong)i) * (ulong)T;
    for (int j0 = 0; j0 < T; j0 += FA_TILE) {
        int n = min(FA_TILE, T - j0);
        fa_stage(ks, k, kb, k_ld, j0, n, D);
        fa_stage(vs, v, vb, v_ld, j0, n, D);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (valid) {
            uint4 w = (uint4)(0);
            for (int r = 0; r < n; r++) {
                ulong idx = first + (ulong)(j0 + r);
                if (p > 0.0f && (r == 0 || (idx & 3) == 0)) w = philox_words(seed, idx >> 2);
                if (has_mask && mask[mo + (ulong)b * T + (ulong)(j0 + r)] == 0.0f) continue;
                float s = 0.0f, dp = 0.0f;
                for (int d = 0; d < D; d++) {
                    s += qr[d] * ks[r * FA_DMAX + d];
                    dp += gr[d] * vs[r * FA_DMAX + d];
                }
                float z = p > 0.0f ? fa_word_factor(w, idx, p) : 1.0f;
                float ds = exp(s - li) * (z * dp - di);
                for (int d = 0; d < D; d++) acc[d] += ds * ks[r * FA_DMAX + d];
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (!valid) return;
    ulong db = dqo + b * q_stride + (ulong)h * D + (ulong)i * q_ld;
    for (int d = 0; d < D; d++) dq[db + d] = scale * acc[d];
}

/* The dropout factors of query rows i0 .. i0+n-1 over the group's FA_ROWS keys j0 .. into
 * zs[FA_TILE][FA_ROWS]: a row's keys are consecutive elements, so one Philox call serves four of
 * them (a work-item per key would make a call per element). */
void fa_stage_factors(__local float *zs, int pr, int R, int T, int i0, int n, int j0, float p, ulong seed,
                      ulong offset) {
    const int per_row = FA_ROWS / 4 + 1; /* Philox groups a row of FA_ROWS keys can touch */
    for (int e = get_local_id(0); e < n * per_row; e += FA_ROWS) {
        int r = e / per_row;
        ulong base = offset + ((ulong)pr * R + (ulong)(i0 + r)) * (ulong)T + (ulong)j0;
        ulong g = (base >> 2) + (ulong)(e % per_row);
        uint4 w = philox_words(seed, g);
        for (int lane = 0; lane < 4; lane++) {
            ulong idx = g * 4 + (ulong)lane;
            if (idx < base || idx >= base + FA_ROWS || j0 + (int)(idx - base) >= T) continue;
            zs[r * FA_ROWS + (int)(idx - base)] = fa_word_factor(w, idx, p);
        }
    }
}

/* dk and dv: one work-item per key, the query rows staged a tile at a time and summed in order. */
__kernel __attribute__((reqd_work_group_size(FA_ROWS, 1, 1))) void
flash_attention_dkdv(__global const float *q, ulong qo, __global const float *k, ulong ko, __global const float *v,
                     ulong vo, __global const float *dout, ulong go, __global float *dk, ulong dko,
                     __global float *dv, ulong dvo, __global const float *lse, ulong lo,
                     __global const float *delta, ulong delo, __global const float *mask, ulong mo, int has_mask,
                     int H, int R, int T, int D, int q_ld, ulong q_stride, int k_ld, ulong k_stride, int v_ld,
                     ulong v_stride, int o_ld, ulong o_stride, float scale, float p, ulong seed, ulong offset) {
    __local float qs[FA_TILE * FA_DMAX], gs[FA_TILE * FA_DMAX], ls[FA_TILE], dls[FA_TILE], zs[FA_TILE * FA_ROWS];
    int t = get_local_id(0), tiles = (T + FA_ROWS - 1) / FA_ROWS;
    int pr = get_group_id(0) / tiles, j0 = (get_group_id(0) % tiles) * FA_ROWS, j = j0 + t;
    int b = pr / H, h = pr % H;
    int live = j < T && (!has_mask || mask[mo + (ulong)b * T + (ulong)(j < T ? j : 0)] != 0.0f);
    float kr[FA_DMAX], vr[FA_DMAX], dka[FA_DMAX], dva[FA_DMAX];
    ulong kb = k_stride * b + (ulong)h * D + (ulong)(j < T ? j : 0) * k_ld;
    ulong vb = v_stride * b + (ulong)h * D + (ulong)(j < T ? j : 0) * v_ld;
    for (int d = 0; d < D; d++) {
        kr[d] = live ? scale * k[ko + kb + d] : 0.0f;
        vr[d] = live ? v[vo + vb + d] : 0.0f;
        dka[d] = 0.0f;
        dva[d] = 0.0f;
    }
    ulong qb = qo + b * q_stride + (ulong)h * D, gb = go + b * o_stride + (ulong)h * D;
    for (int i0 = 0; i0 < R; i0 += FA_TILE) {
        int n = min(FA_TILE, R - i0);
        fa_stage(qs, q, qb, q_ld, i0, n, D);
        fa_stage(gs, dout, gb, o_ld, i0, n, D);
        if (t < FA_TILE) {
            ls[t] = t < n ? lse[lo + (ulong)pr * R + (ulong)(i0 + t)] : FA_NO_KEYS;
            dls[t] = t < n ? delta[delo + (ulong)pr * R + (ulong)(i0 + t)] : 0.0f;
        }
        if (p > 0.0f) fa_stage_factors(zs, pr, R, T, i0, n, j0, p, seed, offset);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (live) {
            for (int r = 0; r < n; r++) {
                float s = 0.0f, dp = 0.0f;
                for (int d = 0; d < D; d++) {
                    s += kr[d] * qs[r * FA_DMAX + d];
                    dp += vr[d] * gs[r * FA_DMAX + d];
                }
                float z = p > 0.0f ? zs[r * FA_ROWS + t] : 1.0f;
                float P = exp(s - ls[r]), ds = P * (z * dp - dls[r]), pz = P * z;
                for (int d = 0; d < D; d++) {
                    dva[d] += pz * gs[r * FA_DMAX + d];
                    dka[d] += ds * qs[r * FA_DMAX + d];
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (j >= T) return;
    for (int d = 0; d < D; d++) {
        dk[dko + kb + d] = scale * dka[d];
        dv[dvo + vb + d] = dva[d];
    }
}
