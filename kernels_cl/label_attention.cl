/* Cosine label attention (BERT-LAM), see dev_label_attention in device.h. Norms and dot
 * products are work-group reductions; the label-gradient sum runs over (b, t) in increasing
 * order per (label, column) work-item, so it is deterministic without atomics. */

#define NORM_EPS 1e-12f

/* nl[k] = |l[k]|_e, one work-group per label. */
__kernel void la_label_norms(__global float *nl, ulong nlo, __global const float *l, ulong lo, int dim,
                             __local float *s) {
    size_t k = get_group_id(0);
    int lid = (int)get_local_id(0), n = (int)get_local_size(0);
    __global const float *lk = l + lo + k * (size_t)dim;
    float acc = 0.0f;
    for (int c = lid; c < dim; c += n) acc += lk[c] * lk[c];
    float t = group_sum(acc, s);
    if (lid == 0) nl[nlo + k] = sqrt(t + NORM_EPS);
}

/* One work-group per word: the best cosine over labels (ties: smallest k), stored as the
 * score in weights and the label in argmax; masked words get argmax -1 and score 0. */
__kernel void la_scores(__global float *weights, ulong wo, __global int *argmax, ulong ao,
                        __global const float *h, ulong ho, __global const float *l, ulong lo,
                        __global const float *nl, ulong nlo, __global const float *mask, ulong mo, int labels,
                        int dim,
                        __local float *s) {
    size_t bt = get_group_id(0);
    int lid = (int)get_local_id(0), n = (int)get_local_size(0);
    /* A masked word runs empty loops rather than returning: every work-item must reach every
     * barrier (PoCL hangs on an early return, even a uniform one). */
    int live = mask[mo + bt] != 0.0f, cdim = live ? dim : 0, nk = live ? labels : 0;
    __global const float *ht = h + ho + bt * (size_t)dim;
    float acc = 0.0f;
    for (int c = lid; c < cdim; c += n) acc += ht[c] * ht[c];
    float nh = sqrt(group_sum(acc, s) + NORM_EPS);
    float best = -INFINITY;
    int arg = -1;
    for (int k = 0; k < nk; k++) {
        __global const float *lk = l + lo + (size_t)k * dim;
        acc = 0.0f;
        for (int c = lid; c < cdim; c += n) acc += ht[c] * lk[c];
        float sim = group_sum(acc, s) / (nh * nl[nlo + k]);
        if (sim > best) {
            best = sim;
            arg = k;
        }
    }
    if (lid == 0) {
        weights[wo + bt] = live ? best : 0.0f;
        argmax[ao + bt] = live ? arg : -1;
    }
}

/* One work-group per batch row: softmax of the scores over unmasked words, then
 * out[b, c] = sum_t w[t] h[b, t, c] with t in increasing order per column. */
__kernel void la_output(__global float *out, ulong oo, __global float *weights, ulong wo,
                        __global const int *argmax, ulong ao, __global const float *h, ulong ho, int words, int dim,
                        __local float *s) {
    size_t b = get_group_id(0);
    int lid = (int)get_local_id(0), n = (int)get_local_size(0);
    __global float *w = weights + wo + b * (size_t)words;
    __global const int *am = argmax + ao + b * (size_t)words;
    __global const float *hb = h + ho + b * (size_t)words * dim;
    __global float *ob = out + oo + b * (size_t)dim;
    float mx = -INFINITY;
    for (int t = lid; t < words; t += n)
        if (am[t] >= 0) mx = fmax(mx, w[t]);
    mx = group_max(mx, s);
    int dead = mx == -INFINITY; /* no real word: out = 0, weights stay 0 */
    float acc = 0.0f;
    for (int t = lid; t < words; t += n)
        if (!dead && am[t] >= 0) {
            float e = exp(w[t] - mx);
            w[t] = e;
            acc += e;
        }
    float sum = group_sum(acc, s); /* its barriers also publish the w[t] writes to the group */
    barrier(CLK_GLOBAL_MEM_FENCE);
    for (int c = lid; c < dim; c += n) {
        float o = 0.0f;
        for (int t = 0; t < words && !dead; t++)
            if (am[t] >= 0) o += (w[t] / sum) * hb[(size_t)t * dim + c];
        ob[c] = o;
    }
    barrier(CLK_GLOBAL_MEM_FENCE); /* everyone has read the unnormalised w */
    for (int t = lid; t < words; t += n)
        if (!dead && am[t] >= 0) w[t] /= sum;
}

/* da[b, t]: the gradient reaching word t's pre-softmax score. One work-group per batch row. */
__kernel void la_score_grads(__global float *da, ulong dao, __global const float *weights, ulong wo,
                             __global const int *argmax, ulong ao, __global const float *h, ulong ho,
                             __global const float *dout, ulong doo, int words, int dim, __local float *s) {
    size_t b = get_group_id(0);
    int lid = (int)get_local_id(0), n = (int)get_local_size(0);
    __global const float *w = weights + wo + b * (size_t)words;
    __global const int *am = argmax + ao + b * (size_t)words;
    __global const float *dob = dout + doo + b * (size_t)dim;
    __global float *dab = da + dao + b * (size_t)words;
    float tot = 0.0f; /* the same in every work-item: each sees every group_sum result */
    for (int t = 0; t < words; t++) {
        /* A masked word runs an empty loop but still reaches the barriers. */
        int live = am[t] >= 0, cdim = live ? dim : 0;
        __global const float *ht = h + ho + (b * (size_t)words + t) * dim;
        float acc = 0.0f;
        for (int c = lid; c < cdim; c += n) acc += dob[c] * ht[c];
        float d = group_sum(acc, s);
        if (lid == 0) dab[t] = live ? d : 0.0f;
        if (live) tot += w[t] * d;
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
    if (lid == 0)
        for (int t = 0; t < words; t++)
            if (am[t] >= 0) dab[t] = w[t] * (dab[t] - tot);
}

/* dh for one word per work-group; saves |h|_e and the cosine for the label gradient. */
__kernel void la_dh(__global float *dh, ulong dho, __global float *nh_out, ulong nho, __global float *sim_out,
                    ulong simo, __global const float *h, ulong ho, __global const float *l, ulong lo,
                    __global const float *nl, ulong nlo, __global const float *weights, ulong wo,
                    __global const int *argmax, ulong ao, __global const float *da, ulong dao,
                    __global const float *dout, ulong doo, int words, int dim,
                    __local float *s) {
    size_t bt = get_group_id(0);
    int lid = (int)get_local_id(0), n = (int)get_local_size(0);
    int k = argmax[ao + bt];
    /* A masked word runs empty loops rather than returning (every barrier must be reached). */
    int live = k >= 0, cdim = live ? dim : 0;
    if (!live) k = 0;
    __global const float *ht = h + ho + bt * (size_t)dim, *lk = l + lo + (size_t)k * dim;
    __global const float *dob = dout + doo + (bt / (size_t)words) * dim;
    __global float *dht = dh + dho + bt * (size_t)dim;
    float a1 = 0.0f, a2 = 0.0f;
    for (int c = lid; c < cdim; c += n) {
        a1 += ht[c] * ht[c];
        a2 += ht[c] * lk[c];
    }
    float nh = sqrt(group_sum(a1, s) + NORM_EPS);
    float nlk = nl[nlo + k], sim = group_sum(a2, s) / (nh * nlk), w = weights[wo + bt], g = da[dao + bt];
    for (int c = lid; c < cdim; c += n) dht[c] += w * dob[c] + g * (lk[c] / (nh * nlk) - sim * ht[c] / (nh * nh));
    if (lid == 0 && live) {
        nh_out[nho + bt] = nh;
        sim_out[simo + bt] = sim;
    }
}

/* One work-item per (label, column), adding each word's term in increasing (b, t). */
__kernel void la_dl(__global float *dl, ulong dlo, __global const float *h, ulong ho, __global const float *l,
                    ulong lo, __global const float *nl, ulong nlo, __global const int *argmax, ulong ao,
                    __global const float *da, ulong dao, __global const float *nh, ulong nho,
                    __global const float *sim, ulong simo, int bt_count, int labels, int dim) {
    size_t i = get_global_id(0);
    if (i >= (size_t)labels * dim) return;
    int k = (int)(i / (size_t)dim), c = (int)(i % (size_t)dim);
    float nlk = nl[nlo + k], lkc = l[lo + (size_t)k * dim + c];
    float acc = dl[dlo + i];
    for (int bt = 0; bt < bt_count; bt++) {
        if (argmax[ao + bt] != k) continue;
        acc += da[dao + bt] * (h[ho + (size_t)bt * dim + c] / (nh[nho + bt] * nlk) - sim[simo + bt] * lkc / (nlk * nlk));
    }
    dl[dlo + i] = acc;
}
