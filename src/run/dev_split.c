#include "run/dev_split.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SPLIT_SALT 0x53504C4954ull /* "SPLIT" */

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct label_count {
    long count;
    int index;
} label_count;

static int by_count(const void *a, const void *b) {
    const label_count *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

mltc_status dev_split_choose(mltc_error *e, const dataset *d, double share, uint64_t seed, uint8_t *chosen) {
    size_t N = d->n;
    int K = d->n_labels;
    if (N < 2 || !(share > 0 && share <= 0.5))
        return err_set(e, MLTC_ERR_INVALID_ARGUMENT, "dev split: %zu examples cannot give a share of %g to a dev set",
                       N, share);
    size_t *order = malloc(sizeof *order * N);
    label_count *lc = malloc(sizeof *lc * (size_t)(K > 0 ? K : 1));
    if (!order || !lc) {
        free(order);
        free(lc);
        return err_set(e, MLTC_ERR_OUT_OF_MEMORY, "dev split: no memory for %zu examples", N);
    }
    uint64_t s = seed ^ SPLIT_SALT;
    for (size_t i = 0; i < N; i++) order[i] = i;
    for (size_t i = N - 1; i > 0; i--) {
        size_t j = (size_t)(splitmix64(&s) % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    size_t D = (size_t)floor(share * (double)N + 0.5);
    if (D < 1) D = 1;
    if (D > N - 1) D = N - 1;
    for (int k = 0; k < K; k++) {
        lc[k] = (label_count){0, k};
        for (size_t i = 0; i < N; i++) lc[k].count += d->y[i * (size_t)K + (size_t)k] != 0;
    }
    qsort(lc, (size_t)K, sizeof *lc, by_count);
    memset(chosen, 0, N);
    size_t taken = 0;
    for (int r = 0; r < K; r++) {
        int k = lc[r].index;
        long need = (long)floor(share * (double)lc[r].count + 0.5), have = 0;
        for (size_t i = 0; i < N; i++) have += chosen[i] && d->y[i * (size_t)K + (size_t)k];
        for (size_t i = 0; i < N && have < need; i++) {
            size_t x = order[i];
            if (!chosen[x] && d->y[x * (size_t)K + (size_t)k]) chosen[x] = 1, have++, taken++;
        }
    }
    for (size_t i = 0; i < N && taken < D; i++)
        if (!chosen[order[i]]) chosen[order[i]] = 1, taken++;
    free(order);
    free(lc);
    return MLTC_OK;
}

/* The examples of src with chosen[i] == pick, in order, moved into dst (texts change owner). */
static mltc_status take(mltc_error *e, dataset *src, const uint8_t *chosen, int pick, dataset *dst) {
    size_t n = 0, K = (size_t)src->n_labels;
    for (size_t i = 0; i < src->n; i++) n += chosen[i] == pick;
    *dst = (dataset){.n = n, .n_labels = src->n_labels, .format = src->format};
    dst->ex = calloc(n ? n : 1, sizeof *dst->ex);
    dst->y = malloc(n * K > 0 ? n * K : 1);
    if (!dst->ex || !dst->y) {
        free(dst->ex);
        free(dst->y);
        *dst = (dataset){0};
        return err_set(e, MLTC_ERR_OUT_OF_MEMORY, "dev split: no memory for %zu examples", n);
    }
    size_t o = 0;
    for (size_t i = 0; i < src->n; i++) {
        if (chosen[i] != pick) continue;
        dst->ex[o] = src->ex[i];
        dst->ex[o].labels = dst->y + o * K;
        memcpy(dst->ex[o].labels, src->y + i * K, K);
        o++;
    }
    return MLTC_OK;
}

mltc_status dev_split(mltc_error *e, dataset *train, double share, uint64_t seed, dataset *dev) {
    uint8_t *chosen = malloc(train->n ? train->n : 1);
    if (!chosen) return err_set(e, MLTC_ERR_OUT_OF_MEMORY, "dev split: no memory for %zu examples", train->n);
    dataset picked = {0}, rest = {0};
    mltc_status st = dev_split_choose(e, train, share, seed, chosen);
    if (!st) st = take(e, train, chosen, 1, &picked);
    if (!st) st = take(e, train, chosen, 0, &rest);
    free(chosen);
    if (st) { /* the texts still belong to train; only the new arrays go */
        free(picked.ex), free(picked.y);
        return st;
    }
    /* Every text now belongs to exactly one of the two. */
    rest.skipped = train->skipped;
    rest.n_reasons = train->n_reasons;
    memcpy(rest.reasons, train->reasons, sizeof rest.reasons);
    free(train->ex);
    free(train->y);
    *train = rest;
    *dev = picked;
    return MLTC_OK;
}
