/* Vulkan code paths that the small shapes of test_ops do not reach, checked against the
 * CPU backend (the oracle) on the same inputs:
 *  - chunked deterministic column reductions (bias and layernorm gradients, rows > 64);
 *  - rows wider than a 256-invocation work group (layernorm, cross-entropy, label attention);
 *  - more rows than the device allows work groups in x (softmax, 2-D group index);
 *  - grid-stride loops (more elements than groups x 256) and in-place ops;
 *  - dropout masks bit-identical to the CPU's, with 64-bit seeds and offsets that carry;
 *  - label-attention argmax ties (duplicated labels pick the smallest k) and more labels
 *    than invocations; run-to-run bit-identical gradients and sums of squares.
 * Exits 77 when no Vulkan device is present. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#ifndef MLTC_HAVE_VULKAN
int main(void) {
    printf("SKIP: this build has no Vulkan backend (MLTC_WITH_VULKAN=OFF)\n");
    return TU_SKIP;
}
#else
#include "device/vulkan/internal.h"

static dev_ctx *V, *H; /* Vulkan under test, CPU oracle */
static mltc_error ev, eh;

typedef struct pair {
    dev_buf *v, *h;
    size_t n;
} pair;

static pair mk(const void *host, size_t n) {
    pair p = {tu_buf(V, host, n), tu_buf(H, host, n), n};
    if (!host) {
        tu_must(dev_fill(V, tu_v(p.v), n, 0.0f), &ev, "fill");
        tu_must(dev_fill(H, tu_v(p.h), n, 0.0f), &eh, "fill");
    }
    return p;
}

static pair mk_rand(size_t n, float lo, float hi) {
    float *x = malloc(n * 4);
    tu_fill_uniform(x, n, lo, hi);
    pair p = mk(x, n);
    free(x);
    return p;
}

static void drop(pair p) {
    dev_free(V, p.v);
    dev_free(H, p.h);
}

/* Compares the two backends' contents of p; returns 1 when they agree. */
static int same(const char *what, pair p, double atol, double rtol) {
    float *gv = tu_get(V, p.v, p.n), *gh = tu_get(H, p.h, p.n);
    double *w = malloc(p.n * sizeof *w);
    for (size_t i = 0; i < p.n; i++) w[i] = gh[i];
    int ok = tu_close(what, gv, w, p.n, atol, rtol);
    free(gv);
    free(gh);
    free(w);
    return ok;
}

static int bits_equal(const char *what, dev_ctx *c, dev_buf *a, dev_buf *b, size_t n) {
    float *x = tu_get(c, a, n), *y = tu_get(c, b, n);
    int ok = memcmp(x, y, n * 4) == 0;
    free(x);
    free(y);
    return tu_check(ok, "%s: not bit-identical", what);
}

#define BOTH(call_v, call_h, what)                                                                                 \
    do {                                                                                                           \
        tu_must((call_v), &ev, what);                                                                              \
        tu_must((call_h), &eh, what);                                                                              \
    } while (0)

static void test_column_reductions(void) {
    const int rows = 200, cols = 300; /* 4 chunks of 64 rows, cols above one work group */
    pair dy = mk_rand((size_t)rows * cols, -1, 1), db = mk_rand(cols, -1, 1);
    BOTH(dev_bias_backward(V, tu_v(db.v), tu_v(dy.v), rows, cols),
         dev_bias_backward(H, tu_v(db.h), tu_v(dy.h), rows, cols), "bias_backward");
    same("bias_backward rows=200 cols=300 (chunked)", db, 1e-4, 1e-5);

    pair x = mk_rand((size_t)rows * cols, -2, 3), w = mk_rand(cols, 0.5f, 1.5f), b = mk_rand(cols, -1, 1);
    pair y = mk(NULL, (size_t)rows * cols), mean = mk(NULL, rows), rstd = mk(NULL, rows);
    BOTH(dev_layernorm_forward(V, tu_v(y.v), tu_v(mean.v), tu_v(rstd.v), tu_v(x.v), tu_v(w.v), tu_v(b.v), rows, cols,
                               1e-5f),
         dev_layernorm_forward(H, tu_v(y.h), tu_v(mean.h), tu_v(rstd.h), tu_v(x.h), tu_v(w.h), tu_v(b.h), rows, cols,
                               1e-5f),
         "layernorm_forward");
    same("layernorm_forward y (cols=300)", y, 1e-5, 1e-4);
    same("layernorm_forward mean", mean, 1e-6, 1e-5);
    same("layernorm_forward rstd", rstd, 1e-6, 1e-4);
    pair dx = mk_rand((size_t)rows * cols, -1, 1), dw = mk_rand(cols, -1, 1), dbb = mk_rand(cols, -1, 1);
    BOTH(dev_layernorm_backward(V, tu_v(dx.v), tu_v(dw.v), tu_v(dbb.v), tu_v(dy.v), tu_v(x.v), tu_v(w.v),
                                tu_v(mean.v), tu_v(rstd.v), rows, cols),
         dev_layernorm_backward(H, tu_v(dx.h), tu_v(dw.h), tu_v(dbb.h), tu_v(dy.h), tu_v(x.h), tu_v(w.h),
                                tu_v(mean.h), tu_v(rstd.h), rows, cols),
         "layernorm_backward");
    same("layernorm_backward dx", dx, 1e-4, 1e-4);
    same("layernorm_backward dw (chunked)", dw, 2e-4, 1e-4);
    same("layernorm_backward db (chunked)", dbb, 2e-4, 1e-4);
    pair ps[] = {dy, db, x, w, b, y, mean, rstd, dx, dw, dbb};
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++) drop(ps[i]);
}

static void test_many_rows(void) {
    /* More rows than work groups in x (65535 on most devices): the 2-D group index. */
    vk_ctx *c = (vk_ctx *)V;
    const int rows = (int)c->props.limits.maxComputeWorkGroupCount[0] + 1000, cols = 3;
    pair x = mk_rand((size_t)rows * cols, -3, 3), y = mk(NULL, (size_t)rows * cols);
    dev_softmax s = {1, 1, rows, cols, 0.7f, {NULL, 0}};
    BOTH(dev_softmax_forward(V, &s, tu_v(y.v), tu_v(x.v)), dev_softmax_forward(H, &s, tu_v(y.h), tu_v(x.h)),
         "softmax_forward");
    char what[96];
    snprintf(what, sizeof what, "softmax_forward rows=%d (2-D grid)", rows);
    same(what, y, 1e-6, 1e-5);
    drop(x);
    drop(y);
}

static void test_grid_stride(void) {
    vk_ctx *c = (vk_ctx *)V;
    size_t n = (size_t)c->props.limits.maxComputeWorkGroupCount[0] * 256 + 777;
    if (n * 4 > c->max_buffer) n = c->max_buffer / 4;
    float *h = malloc(n * 4);
    for (size_t i = 0; i < n; i++) h[i] = (float)(i % 1000) - 500.0f;
    dev_buf *b = tu_buf(V, h, n);
    /* In place with all three views equal: y = 0.5*y + 0.25*y. */
    tu_must(dev_axpby(V, tu_v(b), 0.5f, tu_v(b), 0.25f, tu_v(b), n), &ev, "axpby");
    float *g = tu_get(V, b, n);
    size_t bad = n;
    for (size_t i = 0; i < n && bad == n; i++)
        if (g[i] != 0.75f * h[i]) bad = i;
    tu_check(bad == n, "axpby n=%zu in place (grid-stride): first wrong index %zu", n, bad);
    free(g);
    free(h);
    dev_free(V, b);
}

static void test_dropout_bits(void) {
    const size_t n = 5000;
    const uint64_t seed = 0x123456789abcdef0ull, offset = 0xfffffff0ull - 2000; /* offset + i carries into bit 32 */
    pair x = mk_rand(n, -1, 1), y = mk(NULL, n);
    BOTH(dev_dropout_forward(V, tu_v(y.v), tu_v(x.v), n, 0.3f, seed, offset),
         dev_dropout_forward(H, tu_v(y.h), tu_v(x.h), n, 0.3f, seed, offset), "dropout_forward");
    float *a = tu_get(V, y.v, n), *b = tu_get(H, y.h, n);
    size_t mism = 0;
    for (size_t i = 0; i < n; i++) mism += (a[i] == 0.0f) != (b[i] == 0.0f);
    tu_check(mism == 0, "dropout mask vs CPU (64-bit seed, carrying offset): %zu of %zu differ", mism, n);
    free(a);
    free(b);
    same("dropout_forward values", y, 0, 1e-6);
    /* In place forward. */
    BOTH(dev_dropout_forward(V, tu_v(x.v), tu_v(x.v), n, 0.5f, seed, 7), dev_dropout_forward(H, tu_v(x.h), tu_v(x.h), n, 0.5f, seed, 7),
         "dropout in place");
    same("dropout_forward in place", x, 0, 1e-6);
    drop(x);
    drop(y);
}

static void test_wide_rows(void) {
    const int rows = 5, vocab = 1000;
    pair l = mk_rand((size_t)rows * vocab, -5, 5), loss = mk(NULL, rows), dl = mk_rand((size_t)rows * vocab, -1, 1);
    int32_t t[] = {3, -1, 999, 1000, 0}; /* ignored, last class, out of range */
    pair tg = {tu_buf(V, t, rows), tu_buf(H, t, rows), rows};
    BOTH(dev_crossentropy_forward(V, tu_v(loss.v), tu_v(l.v), tu_v(tg.v), rows, vocab),
         dev_crossentropy_forward(H, tu_v(loss.h), tu_v(l.h), tu_v(tg.h), rows, vocab), "crossentropy_forward");
    same("crossentropy_forward vocab=1000", loss, 1e-5, 1e-5);
    BOTH(dev_crossentropy_backward(V, tu_v(dl.v), tu_v(l.v), tu_v(tg.v), rows, vocab, 0.5f),
         dev_crossentropy_backward(H, tu_v(dl.h), tu_v(l.h), tu_v(tg.h), rows, vocab, 0.5f), "crossentropy_backward");
    same("crossentropy_backward vocab=1000", dl, 1e-6, 1e-5);

    /* gather with indices outside the table, and GELU in place. */
    int32_t idx[] = {0, -1, 4, 5, 2, 100};
    pair ix = {tu_buf(V, idx, 6), tu_buf(H, idx, 6), 6};
    pair table = mk_rand(5 * 300, -1, 1), out = mk_rand(6 * 300, -1, 1);
    BOTH(dev_gather_rows(V, tu_v(out.v), tu_v(table.v), tu_v(ix.v), 6, 300, 5, 1.0f),
         dev_gather_rows(H, tu_v(out.h), tu_v(table.h), tu_v(ix.h), 6, 300, 5, 1.0f), "gather_rows");
    same("gather_rows beta=1 with out-of-range indices", out, 0, 0);
    BOTH(dev_gelu_forward(V, tu_v(out.v), tu_v(out.v), out.n), dev_gelu_forward(H, tu_v(out.h), tu_v(out.h), out.n),
         "gelu in place");
    same("gelu_forward in place", out, 1e-6, 1e-5);
    pair ps[] = {l, loss, dl, tg, ix, table, out};
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++) drop(ps[i]);
}

static void test_label_attention(void) {
    const int B = 2, T = 9, K = 300, D = 260;
    float *l = malloc((size_t)K * D * 4);
    tu_fill_uniform(l, (size_t)K * D, -1, 1);
    /* Label 7 duplicated at 150 and 299: a word closest to it must pick 7. */
    memcpy(l + 150 * D, l + 7 * D, D * 4);
    memcpy(l + 299 * D, l + 7 * D, D * 4);
    float *h = malloc((size_t)B * T * D * 4);
    tu_fill_uniform(h, (size_t)B * T * D, -1, 1);
    for (int c = 0; c < D; c++) h[2 * D + c] = 2.0f * l[7 * D + c]; /* word (0, 2) points at label 7 */
    float mask[2 * 9] = {1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}; /* row 1 fully masked */
    pair L = mk(l, (size_t)K * D), Hh = mk(h, (size_t)B * T * D), M = mk(mask, (size_t)B * T);
    pair O = mk(NULL, (size_t)B * D), W = mk(NULL, (size_t)B * T), AM = mk(NULL, (size_t)B * T);
    dev_label_attention av = {B, T, K, D, tu_v(Hh.v), tu_v(L.v), tu_v(M.v), tu_v(O.v), tu_v(W.v), tu_v(AM.v)};
    dev_label_attention ah = {B, T, K, D, tu_v(Hh.h), tu_v(L.h), tu_v(M.h), tu_v(O.h), tu_v(W.h), tu_v(AM.h)};
    BOTH(dev_label_attention_forward(V, &av), dev_label_attention_forward(H, &ah), "label_attention_forward");
    int32_t *amv = (int32_t *)tu_get(V, AM.v, AM.n), *amh = (int32_t *)tu_get(H, AM.h, AM.n);
    tu_check(memcmp(amv, amh, AM.n * 4) == 0, "label_attention argmax equals the CPU's (K=300)");
    tu_check(amv[2] == 7, "duplicated label: argmax of word 2 is %d, expected the smallest k, 7", amv[2]);
    free(amv);
    free(amh);
    same("label_attention out (row 1 all masked -> 0)", O, 1e-5, 1e-4);
    same("label_attention weights", W, 1e-6, 1e-4);

    pair dout = mk_rand((size_t)B * D, -1, 1), dh = mk_rand((size_t)B * T * D, -1, 1), dl = mk_rand((size_t)K * D, -1, 1);
    dev_buf *dh0 = tu_buf(V, NULL, dh.n), *dl0 = tu_buf(V, NULL, dl.n);
    tu_must(dev_copy(V, tu_v(dh0), tu_v(dh.v), dh.n), &ev, "copy");
    tu_must(dev_copy(V, tu_v(dl0), tu_v(dl.v), dl.n), &ev, "copy");
    BOTH(dev_label_attention_backward(V, &av, tu_v(dh.v), tu_v(dl.v), tu_v(dout.v)),
         dev_label_attention_backward(H, &ah, tu_v(dh.h), tu_v(dl.h), tu_v(dout.h)), "label_attention_backward");
    same("label_attention_backward dh", dh, 1e-5, 1e-4);
    same("label_attention_backward dl", dl, 1e-5, 1e-4);
    /* Run again from the same starting gradients: bit-identical. */
    tu_must(dev_label_attention_backward(V, &av, tu_v(dh0), tu_v(dl0), tu_v(dout.v)), &ev, "label_attention_backward");
    bits_equal("label_attention_backward dh run twice", V, dh0, dh.v, dh.n);
    bits_equal("label_attention_backward dl run twice", V, dl0, dl.v, dl.n);
    dev_free(V, dh0);
    dev_free(V, dl0);
    pair ps[] = {L, Hh, M, O, W, AM, dout, dh, dl};
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++) drop(ps[i]);
    free(l);
    free(h);
}

static void test_sumsq(void) {
    const size_t n = 100003;
    pair x = mk_rand(n, -1, 1), s = mk(NULL, 2);
    BOTH(dev_sumsq(V, (dev_view){s.v, 1}, tu_v(x.v), n), dev_sumsq(H, (dev_view){s.h, 1}, tu_v(x.h), n), "sumsq");
    same("sumsq n=100003 (and element 0 untouched)", s, 0, 1e-5);
    dev_buf *s2 = tu_zeros(V, 2);
    tu_must(dev_sumsq(V, (dev_view){s2, 1}, tu_v(x.v), n), &ev, "sumsq");
    bits_equal("sumsq run twice", V, s.v, s2, 2);
    dev_free(V, s2);
    drop(x);
    drop(s);
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    int rc = tu_open("vulkan", &ev, &V);
    if (rc) return rc;
    tu_must(dev_open(&eh, "cpu", &H), &eh, "open cpu");
    tu_seed(11);
    test_column_reductions();
    test_many_rows();
    test_dropout_bits();
    test_wide_rows();
    test_label_attention();
    test_sumsq();
    test_grid_stride();
    tu_must(dev_sync(V), &ev, "final sync (validation errors surface here)");
    dev_close(V);
    dev_close(H);
    return tu_finish();
}
#endif
