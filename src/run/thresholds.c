#include "run/thresholds.h"

#include <math.h>
#include <stdlib.h>

#include "model/decision.h"

float threshold_grid(int i) { return (float)i / 100.0f; }

typedef threshold_counts counts;

/* a's micro-F1 > b's, exactly: 2TPa / Da > 2TPb / Db with D = 2TP + FP + FN (0 / 0 scores 0). */
static int better(counts a, counts b) {
    long long da = 2 * a.tp + a.fp + a.fn, db = 2 * b.tp + b.fp + b.fn;
    if (da == 0 || a.tp == 0) return 0;
    if (db == 0 || b.tp == 0) return 1;
    return (__int128)a.tp * db > (__int128)b.tp * da;
}

static int same(counts a, counts b) { return !better(a, b) && !better(b, a); }

/* Between two equally good grid candidates: the one closer to grid value `home`, then the lower
 * (compared as grid indices, so no rounding decides). */
static int closer(int cand, int best, int home) {
    int dc = abs(cand - home), db = abs(best - home);
    return dc < db || (dc == db && cand < best);
}

/* The grid index nearest to t. */
static int grid_index(float t) { return (int)lroundf(t * 100.0f); }

static counts tally(const uint8_t *gold, const uint8_t *pred, size_t n) {
    counts c = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        c.tp += gold[i] && pred[i];
        c.fp += !gold[i] && pred[i];
        c.fn += gold[i] && !pred[i];
    }
    return c;
}

mltc_status threshold_sweep(mltc_error *e, const uint8_t *gold, const float *probs, size_t n, int K,
                            int min_labels, threshold_counts out[THRESHOLD_GRID]) {
    size_t nk = n * (size_t)K;
    uint8_t *pred = malloc(nk ? nk : 1);
    float *t = malloc(sizeof *t * (size_t)(K > 0 ? K : 1));
    if (!pred || !t) {
        free(pred);
        free(t);
        return err_set(e, MLTC_ERR_OUT_OF_MEMORY, "threshold sweep: no memory for %zu x %d decisions", n, K);
    }
    for (int i = 1; i <= THRESHOLD_GRID; i++) {
        for (int k = 0; k < K; k++) t[k] = threshold_grid(i);
        decide_rows(probs, n, K, t, min_labels, pred);
        out[i - 1] = tally(gold, pred, nk);
    }
    free(pred);
    free(t);
    return MLTC_OK;
}

mltc_status tune_global_threshold(mltc_error *e, const uint8_t *gold, const float *probs, size_t n, int K,
                                  int min_labels, float *out) {
    counts c[THRESHOLD_GRID];
    TRY(threshold_sweep(e, gold, probs, n, K, min_labels, c));
    int best_i = 1;
    for (int i = 2; i <= THRESHOLD_GRID; i++)
        if (better(c[i - 1], c[best_i - 1]) || (same(c[i - 1], c[best_i - 1]) && closer(i, best_i, 50))) best_i = i;
    *out = threshold_grid(best_i);
    return MLTC_OK;
}

void tune_label_thresholds(const uint8_t *gold, const float *probs, size_t n, int K, float *t) {
    /* Totals over every label under the current thresholds; each label's own share is swapped in
     * and out as its threshold moves. */
    counts total = {0, 0, 0};
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < K; k++) {
            size_t j = i * (size_t)K + (size_t)k;
            int p = probs[j] > t[k], g = gold[j] != 0;
            total.tp += g && p, total.fp += !g && p, total.fn += g && !p;
        }
    for (int k = 0; k < K; k++) {
        long long pos = 0;
        counts own = {0, 0, 0};
        for (size_t i = 0; i < n; i++) {
            size_t j = i * (size_t)K + (size_t)k;
            int p = probs[j] > t[k], g = gold[j] != 0;
            pos += g;
            own.tp += g && p, own.fp += !g && p, own.fn += g && !p;
        }
        if (pos < THRESHOLD_MIN_POSITIVES) continue;
        counts rest = {total.tp - own.tp, total.fp - own.fp, total.fn - own.fn}, best = {0, 0, 0}, best_own = own;
        int home = grid_index(t[k]), best_i = home;
        for (int g_i = 1; g_i <= THRESHOLD_GRID; g_i++) {
            float cand = threshold_grid(g_i);
            counts c = {0, 0, 0};
            for (size_t i = 0; i < n; i++) {
                size_t j = i * (size_t)K + (size_t)k;
                int p = probs[j] > cand, g = gold[j] != 0;
                c.tp += g && p, c.fp += !g && p, c.fn += g && !p;
            }
            counts all = {rest.tp + c.tp, rest.fp + c.fp, rest.fn + c.fn};
            if (g_i == 1 || better(all, best) || (same(all, best) && closer(g_i, best_i, home)))
                best = all, best_i = g_i, best_own = c;
        }
        t[k] = threshold_grid(best_i);
        total = (counts){rest.tp + best_own.tp, rest.fp + best_own.fp, rest.fn + best_own.fn};
    }
}
