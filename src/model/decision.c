#include "model/decision.h"

void decide_row(const float *p, int K, const float *t, int min_labels, uint8_t *out) {
    int count = 0;
    for (int k = 0; k < K; k++) count += out[k] = p[k] > t[k];
    int want = min_labels < K ? min_labels : K;
    for (; count < want; count++) {
        int best = -1;
        for (int k = 0; k < K; k++)
            if (!out[k] && (best < 0 || p[k] > p[best])) best = k;
        out[best] = 1;
    }
}

void decide_rows(const float *p, size_t n, int K, const float *t, int min_labels, uint8_t *out) {
    for (size_t i = 0; i < n; i++) decide_row(p + i * (size_t)K, K, t, min_labels, out + i * (size_t)K);
}
