/* The decision rule (thresholds and a minimum of labels), threshold tuning on dev data, the dev
 * split and the scores by label frequency, on hand-computed cases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/decision.h"
#include "run/dev_split.h"
#include "run/metrics.h"
#include "model/settings.h"
#include "run/thresholds.h"
#include "testutil.h"

static void expect_row(const char *what, const float *p, int K, const float *t, int min_labels, const char *want) {
    uint8_t out[8];
    char got[9] = {0};
    decide_row(p, K, t, min_labels, out);
    for (int k = 0; k < K; k++) got[k] = (char)('0' + out[k]);
    tu_check(!strcmp(got, want), "%s: decided %s, want %s", what, got, want);
}

static void test_decide(void) {
    const float half[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    const float p[4] = {0.9f, 0.2f, 0.6f, 0.1f};
    expect_row("p > t", p, 4, half, 0, "1010");
    expect_row("a minimum already met adds nothing", p, 4, half, 1, "1010");
    const float low[4] = {0.3f, 0.45f, 0.2f, 0.1f};
    expect_row("none above: none", low, 4, half, 0, "0000");
    expect_row("min 1: the most probable", low, 4, half, 1, "0100");
    expect_row("min 2: the two most probable", low, 4, half, 2, "1100");
    const float tie[3] = {0.4f, 0.4f, 0.1f};
    expect_row("ties go to the lower index", tie, 3, half, 1, "100");
    const float at[2] = {0.5f, 0.7f};
    expect_row("p equal to t is not above it", at, 2, half, 0, "01");
    const float own[4] = {0.95f, 0.1f, 0.5f, 0.5f};
    expect_row("per-label thresholds", p, 4, own, 0, "0110");
    expect_row("a minimum above K predicts every label", low, 2, half, 5, "11");
    uint8_t rows[2 * 4];
    const float two[8] = {0.9f, 0.2f, 0.6f, 0.1f, 0.3f, 0.45f, 0.2f, 0.1f};
    decide_rows(two, 2, 4, half, 1, rows);
    tu_check(!memcmp(rows, (const uint8_t[]){1, 0, 1, 0, 0, 1, 0, 0}, 8), "decide_rows: row by row");
}

static void test_tune_global(void) {
    mltc_error err = {0};
    /* Micro-F1 by threshold: < 0.25: 8/10; [0.25, 0.3): 6/9; [0.3, 0.35): 6/8; [0.35, 0.6): 6/7;
     * [0.6, 0.7): 4/6; ... The best band holds 0.35..0.59: the grid value nearest 0.5 is 0.5. */
    const uint8_t gold[6] = {1, 0, 0, 1, 1, 1};
    const float probs[6] = {0.8f, 0.3f, 0.35f, 0.6f, 0.7f, 0.25f};
    float t = 0;
    tu_must(tune_global_threshold(&err, gold, probs, 3, 2, 0, &t), &err, "tune");
    tu_check(t == 0.5f, "global threshold: %g, want 0.5", (double)t);
    /* One example, gold {1, 0}, probabilities {0.3, 0.1}. Without a minimum, F1 is 1 for t in
     * [0.1, 0.3) and 2/3 below: 0.29 is the candidate nearest 0.5. With at least one label,
     * label 0 is predicted at any t >= 0.1 too: F1 1 on [0.1, 0.99], and 0.5 wins the tie. */
    const uint8_t g1[2] = {1, 0};
    const float p1[2] = {0.3f, 0.1f};
    tu_must(tune_global_threshold(&err, g1, p1, 1, 2, 0, &t), &err, "tune");
    tu_check(t == threshold_grid(29), "global threshold without a minimum: %g, want 0.29", (double)t);
    tu_must(tune_global_threshold(&err, g1, p1, 1, 2, 1, &t), &err, "tune");
    tu_check(t == 0.5f, "global threshold with min-labels 1: %g, want 0.5", (double)t);
    /* Nothing to gain anywhere (no gold positives): the tie keeps 0.5. */
    const uint8_t g0[2] = {0, 0};
    tu_must(tune_global_threshold(&err, g0, p1, 1, 2, 0, &t), &err, "tune");
    tu_check(t == 0.5f, "no positives: %g, want 0.5", (double)t);
}

static void test_tune_labels(void) {
    /* Label 0 (3 dev positives): F1 is 1 overall for t0 in [0.2, 0.35) with label 1 at 0.5, so
     * 0.34 (nearest its start, 0.5). Label 1 has 2 positives, fewer than 3: it keeps 0.5. */
    const uint8_t gold[8] = {1, 0, 1, 1, 1, 0, 0, 1};
    const float probs[8] = {0.9f, 0.1f, 0.4f, 0.8f, 0.35f, 0.3f, 0.2f, 0.7f};
    float t[2] = {0.5f, 0.5f};
    tune_label_thresholds(gold, probs, 4, 2, t);
    tu_check(t[0] == threshold_grid(34) && t[1] == 0.5f, "per-label thresholds: %g %g, want 0.34 0.5", (double)t[0],
             (double)t[1]);
}

/* n examples with K labels: label k on every (k + 2)-th example, label 4 on examples 0..2 only. */
static dataset synthetic(size_t n) {
    dataset d = {.n = n, .n_labels = 5};
    d.ex = calloc(n, sizeof *d.ex);
    d.y = calloc(n * 5, 1);
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < 4; k++) d.y[i * 5 + (size_t)k] = i % (size_t)(k + 2) == 0;
        d.y[i * 5 + 4] = i < 3;
        d.ex[i].labels = d.y + i * 5;
        d.ex[i].line = (long)i + 1;
        d.ex[i].text = malloc(16);
        snprintf(d.ex[i].text, 16, "t%zu", i);
    }
    return d;
}

static void test_dev_split(void) {
    mltc_error err = {0};
    size_t n = 200;
    dataset d = synthetic(n);
    uint8_t a[200], b[200];
    tu_must(dev_split_choose(&err, &d, 0.1, 42, a), &err, "split");
    tu_must(dev_split_choose(&err, &d, 0.1, 42, b), &err, "split again");
    tu_check(!memcmp(a, b, n), "the same seed draws the same dev set");
    size_t chosen = 0, per_label[5] = {0}, total[5] = {0};
    for (size_t i = 0; i < n; i++) {
        chosen += a[i];
        for (int k = 0; k < 5; k++) per_label[k] += a[i] && d.y[i * 5 + (size_t)k], total[k] += d.y[i * 5 + (size_t)k];
    }
    tu_check(chosen == 20, "dev split of 0.1 x 200: %zu examples, want 20", chosen);
    /* Each label gets floor(0.1 count + 0.5) examples or more; label 4 (3 examples) rounds to 0. */
    for (int k = 0; k < 4; k++)
        tu_check(per_label[k] >= (total[k] + 5) / 10, "label %d: %zu of %zu examples in dev, want >= %zu", k,
                 per_label[k], total[k], (total[k] + 5) / 10);
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the chosen indices, shared with recipe.py */
    for (size_t i = 0; i < n; i++)
        if (a[i]) h = (h ^ (uint64_t)i) * 1099511628211ull;
    /* The same set through the algorithm written independently in Python (tools/reference). */
    tu_check(h == 0x1ff354766328deadull, "dev split of the synthetic set (n 200, seed 42, 0.1): FNV-1a %016llx, "
             "want 1ff354766328dead", (unsigned long long)h);
    tu_must(dev_split_choose(&err, &d, 0.1, 43, b), &err, "split, seed 43");
    tu_check(memcmp(a, b, n) != 0, "another seed draws another dev set");

    dataset dev = {0};
    tu_must(dev_split(&err, &d, 0.1, 42, &dev), &err, "dev_split");
    tu_check(dev.n == 20 && d.n == 180, "dev %zu + train %zu examples, want 20 + 180", dev.n, d.n);
    int ordered = 1, labels_ok = 1;
    for (size_t i = 0; i < dev.n; i++) {
        long line = dev.ex[i].line;
        ordered &= i == 0 || line > dev.ex[i - 1].line;
        labels_ok &= dev.ex[i].labels == dev.y + i * 5 && dev.ex[i].labels[0] == ((line - 1) % 2 == 0);
    }
    for (size_t i = 0; i < d.n; i++) ordered &= i == 0 || d.ex[i].line > d.ex[i - 1].line;
    tu_check(ordered && labels_ok, "both sets keep the file's order and their labels");
    dataset none = {0};
    tu_status(dev_split(&err, &d, 0.7, 42, &none), MLTC_ERR_INVALID_ARGUMENT, &err, "a share above 0.5");
    tu_check(none.n == 0 && none.ex == NULL && d.n == 180, "a refused split leaves both sets as they were");
    dataset_free(&dev);
    dataset_free(&d);
}

/* The same split of the real data as tools/reference/recipe.py (its pinned test_recipe.py values:
 * size, FNV-1a 64 of the text "i\n" for each dev index in file order). */
static void test_split_matches_reference(const char *train, const char *labels_rel, size_t size, uint64_t want) {
    mltc_error err = {0};
    labels lbl = {0};
    dataset d = {0};
    const char *path = tu_data_file(train);
    mltc_status st = labels_rel ? labels_load(&err, tu_data_file(labels_rel), &lbl) : dataset_header_labels(&err, path, &lbl);
    if (!st) st = dataset_load(&err, path, &lbl, NULL, &d);
    if (!tu_status(st, MLTC_OK, &err, train)) return;
    uint8_t *chosen = malloc(d.n);
    tu_must(dev_split_choose(&err, &d, 0.1, 42, chosen), &err, "split");
    size_t n = 0;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < d.n; i++) {
        if (!chosen[i]) continue;
        char text[32];
        int len = snprintf(text, sizeof text, "%zu\n", i);
        for (int j = 0; j < len; j++) h = (h ^ (uint8_t)text[j]) * 1099511628211ull;
        n++;
    }
    tu_check(n == size && h == want, "%s: dev split of %zu examples, FNV-1a %016llx; the reference's: %zu, %016llx",
             train, n, (unsigned long long)h, size, (unsigned long long)want);
    free(chosen);
    dataset_free(&d);
    labels_free(&lbl);
}

static void test_bands(void) {
    mltc_error err = {0};
    /* Three labels with 5, 50 and 500 training examples, one in each band. */
    const uint8_t gold[6] = {1, 1, 0, 0, 1, 1}, pred[6] = {1, 0, 0, 1, 1, 1};
    metrics m = {0};
    tu_must(metrics_compute(&err, gold, pred, 2, 3, &m), &err, "metrics");
    const long counts[3] = {5, 50, 500};
    metrics_band b[METRICS_BANDS];
    metrics_bands(&m, counts, b);
    /* label 0: TP 1, FP 1 (F1 2/3, support 1); label 1: TP 1, FN 1 (2/3, support 2); label 2: TP 1 (1). */
    tu_check(b[0].n_labels == 1 && b[0].micro_f1 == 2.0 / 3.0 && b[0].support == 1 && b[0].hi == 10,
             "rare band: label 0, F1 2/3 (%g)", b[0].micro_f1);
    tu_check(b[1].n_labels == 1 && b[1].micro_f1 == 2.0 / 3.0 && b[1].support == 2 && b[1].lo == 11,
             "medium band: label 1, F1 2/3 (%g)", b[1].micro_f1);
    tu_check(b[2].n_labels == 1 && b[2].macro_f1 == 1.0 && b[2].lo == 101 && b[2].hi < 0,
             "frequent band: label 2, F1 1 (%g)", b[2].macro_f1);
    metrics_free(&m);
}

static void test_papers_recipe(void) {
    train_settings d, p;
    train_settings_default(&d);
    train_settings_papers(&p);
    tu_check(p.head_lr == 0 && !p.prior_bias && p.pooling == POOL_CLS && p.dev_split == 0 && p.tune == TUNE_NONE &&
                 p.min_labels == 0 && p.lr == 5e-5 && d.lr == 1e-4 && p.batch == d.batch && p.dropout == d.dropout,
             "the papers' recipe turns the levers off and keeps the rest");
}

int main(void) {
    test_decide();
    test_tune_global();
    test_tune_labels();
    test_dev_split();
    test_split_matches_reference("reuters-modapte/train.jsonl", "reuters-modapte/labels.txt", 781,
                                 0xa59dc96169d76118ull);
    test_split_matches_reference("semeval2018-ec/train.tsv", NULL, 684, 0xabb9de93ce09cef3ull);
    test_bands();
    test_papers_recipe();
    return tu_finish();
}
