/* CPU cosine label attention (BERT-LAM): see dev_label_attention in device.h. */
#include <math.h>
#include <stdlib.h>

#include "device/cpu/internal.h"

#define NORM_EPS 1e-12f

static float norm_e(const float *v, int dim) {
    float s = 0.0f;
    for (int c = 0; c < dim; c++) s += v[c] * v[c];
    return sqrtf(s + NORM_EPS);
}

static float dot(const float *a, const float *b, int dim) {
    float s = 0.0f;
    for (int c = 0; c < dim; c++) s += a[c] * b[c];
    return s;
}

mltc_status cpu_label_attention_forward(dev_ctx *ctx, const dev_label_attention *a) {
    const float *h = cpu_f(a->h), *l = cpu_f(a->l), *mask = cpu_f(a->word_mask);
    float *out = cpu_f(a->out), *weights = cpu_f(a->weights);
    int32_t *argmax = cpu_i(a->argmax);
    int T = a->words, K = a->labels, C = a->dim;
#pragma omp parallel for
    for (int b = 0; b < a->batch; b++) {
        float *w = weights + (size_t)b * T;
        int32_t *am = argmax + (size_t)b * T;
        float mx = -INFINITY;
        for (int t = 0; t < T; t++) {
            am[t] = -1;
            w[t] = 0.0f;
            if (mask[(size_t)b * T + t] == 0.0f) continue;
            const float *ht = h + ((size_t)b * T + t) * C;
            float nh = norm_e(ht, C), best = -INFINITY;
            for (int k = 0; k < K; k++) {
                float sim = dot(ht, l + (size_t)k * C, C) / (nh * norm_e(l + (size_t)k * C, C));
                if (sim > best) {
                    best = sim;
                    am[t] = k;
                }
            }
            w[t] = best; /* the score a[b,t], turned into a weight below */
            mx = fmaxf(mx, best);
        }
        float *ob = out + (size_t)b * C;
        for (int c = 0; c < C; c++) ob[c] = 0.0f;
        if (mx == -INFINITY) continue; /* no real word */
        float sum = 0.0f;
        for (int t = 0; t < T; t++) {
            if (am[t] < 0) continue;
            w[t] = expf(w[t] - mx);
            sum += w[t];
        }
        for (int t = 0; t < T; t++) {
            if (am[t] < 0) continue;
            w[t] /= sum;
            const float *ht = h + ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) ob[c] += w[t] * ht[c];
        }
    }
    return MLTC_OK;
}

/* da[b,t]: the gradient reaching the pre-softmax score of word t. */
static void score_grads(const dev_label_attention *a, const float *h, const float *weights, const int32_t *argmax,
                        const float *dout, int b, float *da) {
    int T = a->words, C = a->dim;
    const float *w = weights + (size_t)b * T, *dob = dout + (size_t)b * C;
    float s = 0.0f;
    for (int t = 0; t < T; t++) {
        da[t] = 0.0f;
        if (argmax[(size_t)b * T + t] < 0) continue;
        da[t] = dot(dob, h + ((size_t)b * T + t) * C, C); /* dL/dw[t] */
        s += w[t] * da[t];
    }
    for (int t = 0; t < T; t++)
        if (argmax[(size_t)b * T + t] >= 0) da[t] = w[t] * (da[t] - s);
}

mltc_status cpu_label_attention_backward(dev_ctx *ctx, const dev_label_attention *a, dev_view dhv, dev_view dlv,
                                         dev_view doutv) {
    const float *h = cpu_f(a->h), *l = cpu_f(a->l), *weights = cpu_f(a->weights), *dout = cpu_f(doutv);
    const int32_t *argmax = cpu_i(a->argmax);
    float *dh = cpu_f(dhv), *dl = cpu_f(dlv);
    int B = a->batch, T = a->words, K = a->labels, C = a->dim;
    size_t BT = (size_t)B * T;
    float *da = malloc(sizeof(float) * BT);
    if (!da) return err_set(ctx->err, MLTC_ERR_OUT_OF_MEMORY, "label_attention_backward: %zu bytes", 4 * BT);
#pragma omp parallel for
    for (int b = 0; b < B; b++) score_grads(a, h, weights, argmax, dout, b, da + (size_t)b * T);

#pragma omp parallel for
    for (size_t bt = 0; bt < BT; bt++) {
        int k = argmax[bt];
        if (k < 0) continue;
        const float *ht = h + bt * C, *lk = l + (size_t)k * C, *dob = dout + (bt / T) * C;
        float *dht = dh + bt * C;
        float nh = norm_e(ht, C), nl = norm_e(lk, C), sim = dot(ht, lk, C) / (nh * nl), w = weights[bt];
        for (int c = 0; c < C; c++) dht[c] += w * dob[c] + da[bt] * (lk[c] / (nh * nl) - sim * ht[c] / (nh * nh));
    }
    /* Each label sums its words in increasing (b, t): deterministic without atomics. */
#pragma omp parallel for
    for (int k = 0; k < K; k++) {
        const float *lk = l + (size_t)k * C;
        float nl = norm_e(lk, C);
        float *dlk = dl + (size_t)k * C;
        for (size_t bt = 0; bt < BT; bt++) {
            if (argmax[bt] != k) continue;
            const float *ht = h + bt * C;
            float nh = norm_e(ht, C), sim = dot(ht, lk, C) / (nh * nl);
            for (int c = 0; c < C; c++) dlk[c] += da[bt] * (ht[c] / (nh * nl) - sim * lk[c] / (nl * nl));
        }
    }
    free(da);
    return MLTC_OK;
}
