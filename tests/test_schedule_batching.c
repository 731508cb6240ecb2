/* The learning-rate schedule against Hugging Face's linear schedule with warm-up (values worked
 * out by hand below), and length-bucketed batching: a permutation, deterministic, bucketed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "run/batching.h"
#include "run/schedule.h"
#include "testutil.h"

static void test_schedule(void) {
    /* 100 steps, 10% warm-up, peak 5e-5: HF's multiplier at count t is t/10 for t < 10, then
     * (100 - t)/90. Update number s uses count t = s - 1. */
    lr_schedule s = lr_schedule_linear(5e-5, 100, 0.1);
    tu_check(s.warmup == 10, "warmup steps %ld, expected 10", s.warmup);
    struct { long step; double want; } cases[] = {
        {1, 0.0}, {2, 5e-6}, {10, 4.5e-5}, {11, 5e-5}, {12, 5e-5 * 89.0 / 90.0}, {100, 5e-5 / 90.0}, {101, 0.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = lr_at(&s, cases[i].step);
        tu_check(fabs(got - cases[i].want) < 1e-15, "lr_at(step %ld) = %.12g, expected %.12g", cases[i].step, got,
                 cases[i].want);
    }
    lr_schedule none = lr_schedule_linear(1e-3, 4, 0.0);
    tu_check(lr_at(&none, 1) == 1e-3 && fabs(lr_at(&none, 4) - 0.25e-3) < 1e-18, "no warm-up: decays from the peak");
}

static void test_batching(void) {
    enum { N = 103, B = 8 };
    int lengths[N];
    for (int i = 0; i < N; i++) lengths[i] = 5 + (i * 37) % 120;
    mltc_error err = {0};
    batch_plan a, b, c;
    tu_must(batch_plan_make(&err, lengths, N, B, 4, 42, 0, &a), &err, "plan a");
    tu_must(batch_plan_make(&err, lengths, N, B, 4, 42, 0, &b), &err, "plan b");
    tu_must(batch_plan_make(&err, lengths, N, B, 4, 42, 1, &c), &err, "plan c");
    tu_check(a.n_batches == 13 && a.starts[13] == N, "13 batches covering %d examples", N);
    int seen[N] = {0}, perm = 1;
    for (int i = 0; i < N; i++) perm &= a.order[i] >= 0 && a.order[i] < N && !seen[a.order[i]]++;
    tu_check(perm, "batch order is a permutation of the examples");
    tu_check(!memcmp(a.order, b.order, sizeof(int32_t) * N), "same seed and epoch give the same batches");
    tu_check(memcmp(a.order, c.order, sizeof(int32_t) * N) != 0, "another epoch gives other batches");
    /* Bucketing: padding (sum over batches of max length * size - lengths) is well below that of
     * unbucketed batches with the same seed. */
    batch_plan u;
    tu_must(batch_plan_make(&err, lengths, N, B, 1, 42, 0, &u), &err, "plan u");
    long pad_a = 0, pad_u = 0;
    for (int k = 0; k < a.n_batches; k++) {
        int ma = 0, mu = 0;
        for (int i = a.starts[k]; i < a.starts[k + 1]; i++) ma = lengths[a.order[i]] > ma ? lengths[a.order[i]] : ma;
        for (int i = u.starts[k]; i < u.starts[k + 1]; i++) mu = lengths[u.order[i]] > mu ? lengths[u.order[i]] : mu;
        for (int i = a.starts[k]; i < a.starts[k + 1]; i++) pad_a += ma - lengths[a.order[i]];
        for (int i = u.starts[k]; i < u.starts[k + 1]; i++) pad_u += mu - lengths[u.order[i]];
    }
    tu_check(pad_a * 2 < pad_u, "bucketed padding %ld is under half of unbucketed %ld", pad_a, pad_u);
    batch_plan_free(&u);
    tu_status(batch_plan_make(&err, lengths, N, 0, 4, 1, 0, &u), MLTC_ERR_INVALID_ARGUMENT, &err, "batch size 0");
    batch_plan_free(&a), batch_plan_free(&b), batch_plan_free(&c);
}

int main(void) {
    test_schedule();
    test_batching();
    return tu_finish();
}
