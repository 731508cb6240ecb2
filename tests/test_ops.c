/* ctest: per-backend */
/*
 * Every op of device.h, forward and backward, on the backend named in argv[1], against naive
 * double-precision references written from device.h's formulas (not from any backend).
 *
 * Shapes are small and odd (1, primes, non-multiples of 16/32/64) so that tiling, vector
 * widths and workgroup tails are exercised while the whole program stays fast on lavapipe.
 * Every tensor lives at a non-zero element offset inside a larger buffer whose guard
 * elements must come back untouched, so view offsets and out-of-range writes are checked too.
 *
 * Tolerances (fp32 result vs double reference), and why:
 *  - one rounding (copy, gather, bias add, axpby): exact or a few ulps;
 *  - elementwise transcendental (gelu, bce, dropout scale): atol 1e-5 + rtol 1e-4, room for
 *    GPU erf/exp/log of a few ulps (a tanh-approximated GELU, off by ~1e-4..1e-3, fails);
 *  - reductions of length L over O(1) values (bias_backward, layernorm, softmax, crossentropy,
 *    matmul): float summation error grows like sqrt(L)*u*|partial sum| on average and L*u in
 *    the worst case (u = 6e-8), so atol = 1e-5 + 1e-6*L or, for matmul, 2e-5*sqrt(k) scaled
 *    by |alpha| — tens of times the typical error, far below the error of a wrong index or
 *    a dropped term (~1e-1);
 *  - sumsq over 1e5 elements: rtol 2e-4 (random-walk error of a sequential float sum of 1e5
 *    positive terms is ~sqrt(n)*u/2 ≈ 1e-5 relative; tree reductions are far better);
 *  - adamw after 5 steps: param atol 2e-6 + rtol 1e-5 (each step moves p by ~lr = 1e-2 with a
 *    relative error ~1e-6), m and v rtol 1e-5.
 * The largest error seen on cpu, PoCL and lavapipe is 60% of its bound, and only for the
 * one-rounding checks (the 0.5-ulp limit itself); every other check stays under 15%.
 *
 * Exact checks: dropout's mask against philox_uniform, gather (beta 0) values,
 * the label argmax (ties to the smallest label), masked softmax columns and masked words
 * exactly 0, scatter_add_rows bit-identical to the plan's summation order, and twice-run
 * scatter_add_rows / label_attention_backward / sumsq bit-identical.
 *
 * Each section prints its name before it runs, so a hang shows where it happened.
 *
 * Where the device takes bf16 matmul (dev_set_matmul_precision), matmul and attention run
 * again in it. The matmul reference then rounds its operands to bfloat16 (to nearest even) in
 * double, so the products are exact and the fp32 bounds above still hold: a wrong rounding, a
 * misplaced operand or fp32 arithmetic that should have been bf16 fails them. Attention, whose
 * probabilities the device rounds after its own fp32 softmax, gets a bf16-sized bound (2^-8
 * relative per operand) and must still equal the three ops bit for bit. A device that refuses
 * bf16 must say why and stay fp32.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/platform.h"
#include "device/philox.h"
#include "testutil.h"

static dev_ctx *C;
static mltc_error E;

/* ---- small helpers --------------------------------------------------------------------- */

#define GUARD 3
static const float SENTINEL = -12345.5f;

/* A tensor of n elements at offset off inside a buffer of off + n + GUARD elements; every
 * element outside [off, off + n) holds SENTINEL and must still hold it after any op. */
typedef struct gbuf {
    dev_buf *b;
    size_t off, n;
} gbuf;

static size_t next_off(void) {
    static const size_t offs[] = {3, 0, 1, 6, 2, 5, 4, 7};
    static int turn;
    return offs[turn++ % 8];
}

static gbuf gb_make(const void *host, size_t n) {
    gbuf g;
    g.off = next_off();
    g.n = n;
    size_t tot = g.off + n + GUARD;
    float *tmp = malloc(tot * 4);
    for (size_t i = 0; i < tot; i++) tmp[i] = SENTINEL;
    if (host)
        memcpy(tmp + g.off, host, n * 4);
    else
        memset(tmp + g.off, 0, n * 4);
    g.b = tu_buf(C, tmp, tot);
    free(tmp);
    return g;
}

static dev_view gv(gbuf g) { return (dev_view){g.b, g.off}; }

/* Downloads the tensor (malloc'd), failing `what` if a guard element changed. */
static void *gb_get(const char *what, gbuf g) {
    size_t tot = g.off + g.n + GUARD;
    float *all = tu_get(C, g.b, tot);
    for (size_t i = 0; i < tot; i++) {
        if (i == g.off) i += g.n;
        if (i >= tot) break;
        if (memcmp(&all[i], &SENTINEL, 4) != 0) {
            tu_check(0, "%s: wrote element %zu outside its view [%zu, %zu) (got %g)", what, i, g.off, g.off + g.n,
                     all[i]);
            break;
        }
    }
    float *r = malloc(g.n * 4 + 4);
    memcpy(r, all + g.off, g.n * 4);
    free(all);
    return r;
}

static void gb_free(gbuf g) { dev_free(C, g.b); }

static int op_ok(mltc_status st, const char *what) {
    if (st == MLTC_OK) return 1;
    tu_check(0, "%s: returned '%s': %s", what, mltc_status_string(st), E.msg);
    return 0;
}

static int need(dev_op op) {
    if (dev_supports(C, op)) return 1;
    tu_check(0, "%s: not supported by backend %s", dev_op_name(op), C->id);
    return 0;
}

static float *rnd(size_t n, float lo, float hi) {
    float *x = malloc(n * 4 + 4);
    tu_fill_uniform(x, n, lo, hi);
    return x;
}

static double *dnew(size_t n) { return calloc(n + 1, sizeof(double)); }

/* 1 while matmul and attention run in bf16: the references round their operands to it. */
static int bf16_mode;

/* x rounded to bfloat16, to nearest even (NaN stays NaN). */
static float bf16_round(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return x;
    u = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
    float r;
    memcpy(&r, &u, 4);
    return r;
}

/* A matmul operand as the device multiplies it. */
static double operand(float x) { return bf16_mode ? bf16_round(x) : x; }

static double *widen(const float *x, size_t n) {
    double *d = dnew(n);
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

static int bit_equal(const char *what, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], 4) != 0)
            return tu_check(0, "%s: not bit-identical at index %zu: %.9g vs %.9g", what, i, a[i], b[i]);
    return tu_check(1, "%s", what);
}

/* Reductions of length L over O(1) values: see the header comment. */
static double red_atol(int len) { return 1e-5 + 1e-6 * len; }

/* ---- copy / fill / upload / download --------------------------------------------------- */

static void test_memory(void) {
    const size_t N = 37;
    float *src = rnd(N, -3, 3);
    float *init = rnd(N, -1, 1);
    dev_buf *b = tu_buf(C, init, N);
    /* upload 13 elements at element 5, download 11 elements starting at element 7 */
    tu_must(dev_upload(C, b, 5 * 4, src, 13 * 4), &E, "upload at offset");
    float got[64];
    double want[64];
    tu_must(dev_download(C, b, 7 * 4, got, 11 * 4), &E, "download at offset");
    for (int i = 0; i < 11; i++) want[i] = src[2 + i];
    tu_close("upload 13 @5 / download 11 @7", got, want, 11, 0, 0);
    float *all = tu_get(C, b, N);
    for (size_t i = 0; i < N; i++) want[i] = (i >= 5 && i < 18) ? src[i - 5] : init[i];
    tu_close("upload 13 @5 leaves the rest", all, want, N, 0, 0);
    free(all);

    /* fill 11 elements at offset 3 */
    if (op_ok(dev_fill(C, (dev_view){b, 3}, 11, 2.5f), "fill n=11 @3")) {
        for (size_t i = 3; i < 14; i++) want[i] = 2.5;
        all = tu_get(C, b, N);
        tu_close("fill n=11 @3", all, want, N, 0, 0);
        free(all);
    }
    /* copy between buffers and within one buffer (non-overlapping), at offsets */
    dev_buf *d = tu_buf(C, init, N);
    if (op_ok(dev_copy(C, (dev_view){d, 9}, (dev_view){b, 2}, 17), "copy n=17 @2 -> @9")) {
        double w2[64];
        for (size_t i = 0; i < N; i++) w2[i] = (i >= 9 && i < 26) ? want[i - 7] : init[i];
        all = tu_get(C, d, N);
        tu_close("copy n=17 @2 -> other buffer @9", all, w2, N, 0, 0);
        free(all);
    }
    if (op_ok(dev_copy(C, (dev_view){b, 20}, (dev_view){b, 1}, 13), "copy within a buffer")) {
        double w3[64];
        for (size_t i = 0; i < N; i++) w3[i] = (i >= 20 && i < 33) ? want[i - 19] : want[i];
        all = tu_get(C, b, N);
        tu_close("copy n=13 @1 -> same buffer @20", all, w3, N, 0, 0);
        free(all);
    }
    /* a single element, and n = 1 fills */
    if (op_ok(dev_fill(C, (dev_view){d, N - 1}, 1, -7.0f), "fill n=1 at the last element")) {
        tu_must(dev_download(C, d, (N - 1) * 4, got, 4), &E, "download last element");
        double w = -7.0;
        tu_close("fill n=1 at the last element", got, &w, 1, 0, 0);
    }
    /* Ops run in order: a fill, then an upload over part of it, then a copy reading both. */
    tu_must(dev_fill(C, (dev_view){d, 0}, N, 1.0f), &E, "fill");
    tu_must(dev_upload(C, d, 4 * 4, src, 2 * 4), &E, "upload");
    tu_must(dev_copy(C, (dev_view){b, 0}, (dev_view){d, 3}, 4), &E, "copy");
    tu_must(dev_download(C, b, 0, got, 4 * 4), &E, "download");
    double w4[4] = {1.0, src[0], src[1], 1.0};
    tu_close("fill, upload, copy in enqueue order", got, w4, 4, 0, 0);
    dev_free(C, b);
    dev_free(C, d);
    free(src);
    free(init);
}

/* ---- matmul ---------------------------------------------------------------------------- */

/* with_bias: C gets bias[n] added to every row (batch 1, dense C: ldc == n whatever pad says).
 * heads > 1: batch x heads problems with the heads side by side in each row, as attention reads
 * them from the projections' [B, T, H*D] output (head h at column h * cols, ld = heads * cols +
 * pad, head_stride = cols). */
static void matmul_heads_case(int m, int n, int k, int batch, int heads, int ta, int tb, float alpha, float beta,
                              int pad, int shared_b, int with_bias) {
    if (!need(DEV_OP_MATMUL)) return;
    char what[220];
    snprintf(what, sizeof what, "matmul %dx%dx%d batch=%d heads=%d tA=%d tB=%d alpha=%g beta=%g pad=%d%s%s", m, n, k,
             batch, heads, ta, tb, alpha, beta, pad, shared_b ? " stride_b=0" : "", with_bias ? " bias" : "");
    int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
    int lda = heads * ac + pad, ldb = heads * bc + (pad ? pad + 1 : 0);
    int ldc = heads * n + (pad && !with_bias ? 2 * pad : 0);
    long sa = (long)ar * lda + (batch > 1 ? 5 : 0);
    long sb = shared_b ? 0 : (long)br * ldb + (batch > 1 ? 2 : 0);
    long sc = (long)m * ldc + (batch > 1 ? 3 : 0);
    size_t na = (size_t)batch * sa, nb = shared_b ? (size_t)br * ldb : (size_t)batch * sb, nc = (size_t)batch * sc;
    float *a = rnd(na, -1, 1), *b = rnd(nb, -1, 1), *c = rnd(nc, -1, 1), *bias = rnd(n, -1, 1);
    if (beta == 0.0f)
        for (size_t i = 0; i < nc; i++) c[i] = NAN; /* must not be read */
    double *want = widen(c, nc);                    /* padding keeps its value */
    for (int q = 0; q < batch; q++)
        for (int h = 0; h < heads; h++) {
            const float *ah = a + q * sa + (size_t)h * ac, *bh = b + q * sb + (size_t)h * bc;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        double av = operand(ta ? ah[(size_t)p * lda + i] : ah[(size_t)i * lda + p]);
                        double bv = operand(tb ? bh[(size_t)j * ldb + p] : bh[(size_t)p * ldb + j]);
                        s += av * bv;
                    }
                    size_t ci = (size_t)q * sc + (size_t)h * n + (size_t)i * ldc + j;
                    want[ci] = alpha * s + (beta == 0.0f ? 0.0 : (double)beta * c[ci]) + (with_bias ? bias[j] : 0.0);
                }
        }
    gbuf A = gb_make(a, na), B = gb_make(b, nb), Cc = gb_make(c, nc), Bi = gb_make(bias, n);
    dev_gemm g = {ta, tb, m, n, k, alpha, beta, gv(A), gv(B), gv(Cc), lda, ldb, ldc, sa, sb, sc, batch,
                  with_bias ? gv(Bi) : (dev_view){NULL, 0}, heads, ac, bc, n};
    if (op_ok(dev_matmul(C, &g), what)) {
        float *got = gb_get(what, Cc);
        double atol = 2e-5 * sqrt((double)k) * (fabs(alpha) > 1 ? fabs(alpha) : 1) + 1e-6;
        tu_close(what, got, want, nc, atol, 1e-4);
        free(got);
    }
    gb_free(A);
    gb_free(B);
    gb_free(Cc);
    gb_free(Bi);
    free(a);
    free(b);
    free(c);
    free(bias);
    free(want);
}

static void matmul_case(int m, int n, int k, int batch, int ta, int tb, float alpha, float beta, int pad,
                        int shared_b, int with_bias) {
    matmul_heads_case(m, n, k, batch, 1, ta, tb, alpha, beta, pad, shared_b, with_bias);
}

static void test_matmul(void) {
    for (int t = 0; t < 4; t++) {
        int ta = t >> 1, tb = t & 1;
        matmul_case(1, 1, 1, 1, ta, tb, 1.0f, 0.0f, 0, 0, 0);
        matmul_case(1, 1, 1, 1, ta, tb, -2.0f, 0.5f, 2, 0, 0);
        matmul_case(17, 31, 13, 1, ta, tb, 1.0f, 0.0f, 0, 0, 0);
        matmul_case(17, 31, 13, 1, ta, tb, -0.5f, 1.0f, 3, 0, 0);
        matmul_case(17, 31, 13, 1, ta, tb, 1.25f, 0.75f, 1, 0, 0);
        matmul_case(65, 33, 129, 1, ta, tb, 1.0f, 0.0f, 2, 0, 0);
        matmul_case(65, 33, 129, 1, ta, tb, 0.5f, 1.0f, 0, 0, 0);
        matmul_case(7, 13, 5, 3, ta, tb, 1.0f, 0.0f, 1, 0, 0);
        matmul_case(7, 13, 5, 3, ta, tb, 0.125f, 1.0f, 0, 0, 0);
        matmul_case(5, 1, 67, 3, ta, tb, 1.0f, 1.0f, 1, 0, 0);
        matmul_case(130, 257, 33, 1, ta, tb, 1.0f, 0.0f, 1, 0, 0); /* more than one 128-wide tile */
        /* A long k, as the weight gradients have (Vulkan may split it: split-K). */
        matmul_case(37, 29, 1031, 1, ta, tb, 1.0f, 0.0f, 1, 0, 0);
        matmul_case(37, 29, 1031, 1, ta, tb, -0.5f, 0.75f, 0, 0, 0);
    }
    matmul_case(70, 65, 777, 1, 0, 1, 1.0f, 0.0f, 0, 0, 1); /* long k with the fused bias */
    matmul_case(1031, 3, 5, 1, 0, 1, 1.0f, 0.0f, 0, 0, 0);  /* 1031 rows: 9 large tiles, the last of 7 */
    matmul_case(3, 1031, 5, 2, 1, 0, 1.0f, 0.5f, 1, 0, 0);  /* 1031 columns, batched */
    matmul_case(64, 64, 64, 1, 0, 0, 1.0f, 0.0f, 0, 0, 0); /* exact tile multiples */
    matmul_case(32, 128, 16, 2, 0, 1, 1.0f, 0.0f, 0, 0, 0);
    matmul_case(9, 11, 7, 3, 0, 1, 1.0f, 0.0f, 2, 1, 0); /* one B shared by the batch */
    matmul_case(1, 67, 31, 1, 1, 0, 1.0f, 0.0f, 0, 0, 0);
    matmul_case(67, 1, 31, 1, 0, 1, 1.0f, 1.0f, 0, 0, 0);
    /* Heads side by side in each row, as attention reads them: every transpose (the backward
     * uses all four), beta 0 and not, one batch entry and several, past a 128-wide tile. */
    for (int t = 0; t < 4; t++) {
        int ta = t >> 1, tb = t & 1;
        matmul_heads_case(7, 9, 5, 3, 4, ta, tb, 1.0f, 0.0f, 0, 0, 0);
        matmul_heads_case(7, 9, 5, 2, 3, ta, tb, 0.5f, 1.0f, 2, 0, 0);
        matmul_heads_case(13, 6, 8, 1, 5, ta, tb, 1.0f, 0.0f, 1, 0, 0);
    }
    matmul_heads_case(130, 140, 16, 2, 2, 0, 1, 1.0f, 0.0f, 0, 0, 0);
    matmul_heads_case(9, 11, 7, 3, 2, 0, 1, 1.0f, 0.0f, 2, 1, 0); /* one B shared by the batch */
    /* The fused bias: with beta 0 (the CPU accumulates onto C filled with the bias) and beta != 0,
     * both transposes of B (the encoder's linear layers use B transposed), past one tile. */
    matmul_case(17, 31, 13, 1, 0, 1, 1.0f, 0.0f, 1, 0, 1);
    matmul_case(17, 31, 13, 1, 0, 0, -0.5f, 0.75f, 0, 0, 1);
    matmul_case(130, 257, 33, 1, 0, 1, 1.0f, 0.0f, 0, 0, 1);
    matmul_case(1, 67, 31, 1, 1, 1, 1.0f, 1.0f, 0, 0, 1);
}

/* ---- bias ------------------------------------------------------------------------------ */

static void bias_case(int rows, int cols) {
    char what[120];
    float *y = rnd((size_t)rows * cols, -2, 2), *bias = rnd(cols, -1, 1), *db0 = rnd(cols, -1, 1);
    size_t n = (size_t)rows * cols;
    if (need(DEV_OP_BIAS_ADD)) {
        snprintf(what, sizeof what, "bias_add rows=%d cols=%d", rows, cols);
        gbuf Y = gb_make(y, n), Bi = gb_make(bias, cols);
        double *want = dnew(n);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) want[(size_t)r * cols + c] = (double)y[(size_t)r * cols + c] + bias[c];
        if (op_ok(dev_bias_add(C, gv(Y), gv(Bi), rows, cols), what)) {
            float *got = gb_get(what, Y);
            tu_close(what, got, want, n, 0, 1e-7); /* one rounding */
            free(got);
        }
        gb_free(Y);
        gb_free(Bi);
        free(want);
    }
    if (need(DEV_OP_BIAS_BACKWARD)) {
        snprintf(what, sizeof what, "bias_backward rows=%d cols=%d (accumulates)", rows, cols);
        gbuf DY = gb_make(y, n), DB = gb_make(db0, cols);
        double *want = widen(db0, cols);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) want[c] += y[(size_t)r * cols + c];
        if (op_ok(dev_bias_backward(C, gv(DB), gv(DY), rows, cols), what)) {
            float *got = gb_get(what, DB);
            tu_close(what, got, want, cols, 2 * red_atol(rows), 1e-5); /* sum of rows values in [-2, 2] */
            free(got);
        }
        gb_free(DY);
        gb_free(DB);
        free(want);
    }
    free(y);
    free(bias);
    free(db0);
}

static void test_bias(void) {
    bias_case(1, 1);
    bias_case(5, 2);
    bias_case(13, 67);
    bias_case(67, 13);
    bias_case(3, 257);
    bias_case(1031, 3); /* a long column reduction */
}

/* ---- layernorm ------------------------------------------------------------------------- */

static void layernorm_case(int rows, int cols, float shift) {
    if (!need(DEV_OP_LAYERNORM_FORWARD)) return;
    char what[160];
    size_t n = (size_t)rows * cols;
    const float eps = 1e-5f;
    float *x = rnd(n, -1.5f + shift, 2.0f + shift), *w = rnd(cols, 0.5f, 1.5f), *b = rnd(cols, -0.5f, 0.5f);
    double *wy = dnew(n), *wmean = dnew(rows), *wrstd = dnew(rows);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * cols;
        double m = 0, v = 0;
        for (int c = 0; c < cols; c++) m += xr[c];
        m /= cols;
        for (int c = 0; c < cols; c++) v += (xr[c] - m) * (xr[c] - m);
        v /= cols;
        double s = 1.0 / sqrt(v + (double)eps);
        wmean[r] = m;
        wrstd[r] = s;
        for (int c = 0; c < cols; c++) wy[(size_t)r * cols + c] = (xr[c] - m) * s * w[c] + b[c];
    }
    gbuf X = gb_make(x, n), W = gb_make(w, cols), Bb = gb_make(b, cols), Y = gb_make(NULL, n),
         M = gb_make(NULL, rows), S = gb_make(NULL, rows);
    snprintf(what, sizeof what, "layernorm_forward rows=%d cols=%d x in [%g, %g)", rows, cols, -1.5 + shift,
             2.0 + shift);
    if (op_ok(dev_layernorm_forward(C, gv(Y), gv(M), gv(S), gv(X), gv(W), gv(Bb), rows, cols, eps), what)) {
        float *gy = gb_get(what, Y), *gm = gb_get(what, M), *gs = gb_get(what, S);
        char w2[200];
        /* y = O(1): the mean and variance are cols-long sums (relative error ~cols*u) */
        tu_close(what, gy, wy, n, red_atol(cols), 1e-4);
        snprintf(w2, sizeof w2, "%s: mean", what);
        tu_close(w2, gm, wmean, rows, red_atol(cols), 1e-5);
        snprintf(w2, sizeof w2, "%s: rstd", what);
        tu_close(w2, gs, wrstd, rows, 1e-5, 1e-4);
        free(gy);
        free(gm);
        free(gs);
    }
    if (need(DEV_OP_LAYERNORM_BACKWARD)) {
        /* mean and rstd given as the float roundings of the reference: the backward is tested
         * on its own, not on what this backend's forward saved. */
        float *fm = malloc(rows * 4), *fs = malloc(rows * 4);
        for (int r = 0; r < rows; r++) {
            fm[r] = (float)wmean[r];
            fs[r] = (float)wrstd[r];
        }
        float *dy = rnd(n, -1, 1), *dx0 = rnd(n, -1, 1), *dw0 = rnd(cols, -1, 1), *db0 = rnd(cols, -1, 1);
        for (size_t i = 0; i < n; i++) dx0[i] = NAN; /* dx is written, never read */
        double *wdx = widen(dx0, n), *wdw = widen(dw0, cols), *wdb = widen(db0, cols);
        for (int r = 0; r < rows; r++) {
            double mdn = 0, mdnx = 0;
            for (int c = 0; c < cols; c++) {
                size_t i = (size_t)r * cols + c;
                double xhat = (x[i] - (double)fm[r]) * fs[r], dn = (double)dy[i] * w[c];
                mdn += dn;
                mdnx += dn * xhat;
                wdw[c] += dy[i] * xhat;
                wdb[c] += dy[i];
            }
            mdn /= cols;
            mdnx /= cols;
            for (int c = 0; c < cols; c++) {
                size_t i = (size_t)r * cols + c;
                double xhat = (x[i] - (double)fm[r]) * fs[r], dn = (double)dy[i] * w[c];
                wdx[i] = fs[r] * (dn - mdn - xhat * mdnx);
            }
        }
        gbuf DY = gb_make(dy, n), DX = gb_make(dx0, n), DW = gb_make(dw0, cols), DB = gb_make(db0, cols),
             FM = gb_make(fm, rows), FS = gb_make(fs, rows);
        snprintf(what, sizeof what, "layernorm_backward rows=%d cols=%d (dx written, dw and db accumulate)", rows,
                 cols);
        if (op_ok(dev_layernorm_backward(C, gv(DX), gv(DW), gv(DB), gv(DY), gv(X), gv(W), gv(FM), gv(FS), rows,
                                         cols),
                  what)) {
            float *gdx = gb_get(what, DX), *gdw = gb_get(what, DW), *gdb = gb_get(what, DB);
            char w2[200];
            /* dx: rstd (up to ~300 for cols = 1) times O(1) cols-long sums */
            snprintf(w2, sizeof w2, "%s: dx", what);
            tu_close(w2, gdx, wdx, n, red_atol(cols) * 10, 1e-4);
            snprintf(w2, sizeof w2, "%s: dw", what);
            tu_close(w2, gdw, wdw, cols, 2 * red_atol(rows), 1e-4);
            snprintf(w2, sizeof w2, "%s: db", what);
            tu_close(w2, gdb, wdb, cols, red_atol(rows), 1e-5);
            free(gdx);
            free(gdw);
            free(gdb);
        }
        gb_free(DY);
        gb_free(DX);
        gb_free(DW);
        gb_free(DB);
        gb_free(FM);
        gb_free(FS);
        free(dy);
        free(dx0);
        free(dw0);
        free(db0);
        free(wdx);
        free(wdw);
        free(wdb);
        free(fm);
        free(fs);
    }
    gb_free(X);
    gb_free(W);
    gb_free(Bb);
    gb_free(Y);
    gb_free(M);
    gb_free(S);
    free(x);
    free(w);
    free(b);
    free(wy);
    free(wmean);
    free(wrstd);
}

static void test_layernorm(void) {
    layernorm_case(1, 1, 0);
    layernorm_case(5, 3, 0); /* several short rows */
    layernorm_case(7, 67, 0);
    layernorm_case(13, 31, 4.0f); /* non-zero mean */
    layernorm_case(3, 769, 0);    /* BERT-like width, not a power of two */
    layernorm_case(1031, 5, 0);   /* dw, db: long column reductions */
}

/* ---- gelu ------------------------------------------------------------------------------ */

static double gelu_d(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double gelu_grad_d(double x) { return 0.5 * (1 + erf(x / sqrt(2.0))) + x * exp(-0.5 * x * x) / sqrt(2 * 3.14159265358979323846); }

static void test_gelu(void) {
    const size_t n = 1031;
    float *x = rnd(n, -6, 6);
    x[0] = 0.0f;
    x[1] = -10.0f;
    x[2] = 10.0f;
    x[3] = 1e-3f;
    double *want = dnew(n);
    for (size_t i = 0; i < n; i++) want[i] = gelu_d(x[i]);
    if (need(DEV_OP_GELU_FORWARD)) {
        gbuf X = gb_make(x, n), Y = gb_make(NULL, n);
        if (op_ok(dev_gelu_forward(C, gv(Y), gv(X), n), "gelu_forward n=1031")) {
            float *got = gb_get("gelu_forward n=1031", Y);
            tu_close("gelu_forward n=1031 x in [-6, 6]", got, want, n, 1e-5, 1e-4);
            free(got);
        }
        /* in place */
        if (op_ok(dev_gelu_forward(C, gv(X), gv(X), n), "gelu_forward in place")) {
            float *got = gb_get("gelu_forward in place", X);
            tu_close("gelu_forward n=1031 in place (y == x)", got, want, n, 1e-5, 1e-4);
            free(got);
        }
        gbuf X1 = gb_make(x + 5, 1), Y1 = gb_make(NULL, 1);
        if (op_ok(dev_gelu_forward(C, gv(Y1), gv(X1), 1), "gelu_forward n=1")) {
            float *got = gb_get("gelu_forward n=1", Y1);
            tu_close("gelu_forward n=1", got, want + 5, 1, 1e-5, 1e-4);
            free(got);
        }
        gb_free(X);
        gb_free(Y);
        gb_free(X1);
        gb_free(Y1);
    }
    if (need(DEV_OP_GELU_BACKWARD)) {
        float *dy = rnd(n, -1, 1), *dx0 = rnd(n, -1, 1);
        for (size_t i = 0; i < n; i++) dx0[i] = NAN; /* dx is written, never read */
        double *wdx = widen(dx0, n);
        for (size_t i = 0; i < n; i++) wdx[i] = dy[i] * gelu_grad_d(x[i]);
        gbuf X = gb_make(x, n), DY = gb_make(dy, n), DX = gb_make(dx0, n);
        if (op_ok(dev_gelu_backward(C, gv(DX), gv(DY), gv(X), n), "gelu_backward n=1031")) {
            float *got = gb_get("gelu_backward n=1031", DX);
            tu_close("gelu_backward n=1031 (written over NaN)", got, wdx, n, 1e-5, 1e-4);
            free(got);
        }
        gbuf D2 = gb_make(dy, n); /* in place: dx == dy, as the encoder's backward runs it */
        if (op_ok(dev_gelu_backward(C, gv(D2), gv(D2), gv(X), n), "gelu_backward in place")) {
            float *got = gb_get("gelu_backward in place", D2);
            tu_close("gelu_backward n=1031 in place (dx == dy)", got, wdx, n, 1e-5, 1e-4);
            free(got);
        }
        gb_free(D2);
        gb_free(X);
        gb_free(DY);
        gb_free(DX);
        free(dy);
        free(dx0);
        free(wdx);
    }
    free(x);
    free(want);
}

/* Ops run in enqueue order with the right hazards (a backend may defer them all until the
 * download): an op reads X before a later upload overwrites it, an op reads what the op
 * before it wrote, and host memory given to dev_upload may be reused at once. */
static void test_ordering(void) {
    if (!need(DEV_OP_GELU_FORWARD) || !need(DEV_OP_AXPBY)) return;
    const size_t n = 1031;
    float *h = rnd(n, -3, 3);
    double *wy = dnew(n), *wz = dnew(n);
    for (size_t i = 0; i < n; i++) wy[i] = gelu_d(h[i]);
    dev_buf *x = tu_buf(C, h, n), *y = tu_zeros(C, n), *z = tu_zeros(C, n);
    tu_must(dev_gelu_forward(C, tu_v(y), tu_v(x), n), &E, "gelu_forward");
    for (size_t i = 0; i < n; i++) {
        h[i] = 2 * h[i] + 1;
        wz[i] = wy[i] + h[i]; /* z = gelu(old x) + new x */
    }
    tu_must(dev_upload(C, x, 0, h, n * 4), &E, "upload over the input of a pending op");
    for (size_t i = 0; i < n; i++) h[i] = NAN; /* the host copy is reused at once */
    tu_must(dev_axpby(C, tu_v(z), 1.0f, tu_v(y), 1.0f, tu_v(x), n), &E, "axpby");
    tu_must(dev_axpby(C, tu_v(y), 2.0f, tu_v(y), -1.0f, tu_v(z), n), &E, "axpby in place");
    for (size_t i = 0; i < n; i++) wy[i] = 2 * wy[i] - wz[i]; /* y = 2 y - z */
    float *gy = tu_get(C, y, n), *gz = tu_get(C, z, n);
    tu_close("ordering: gelu, upload over its input, axpby: z", gz, wz, n, 1e-5, 1e-4);
    tu_close("ordering: then axpby in place: y", gy, wy, n, 2e-5, 1e-4);
    free(gy);
    free(gz);
    free(h);
    free(wy);
    free(wz);
    dev_free(C, x);
    dev_free(C, y);
    dev_free(C, z);
}

/* ---- softmax --------------------------------------------------------------------------- */

static void softmax_case(int B, int H, int R, int Cn, float scale, int masked, float range) {
    char what[200];
    snprintf(what, sizeof what, "softmax_forward [%d,%d,%d,%d] scale=%g %s x in +-%g", B, H, R, Cn, scale,
             masked ? "key_mask (last batch all masked)" : "no mask", range);
    size_t n = (size_t)B * H * R * Cn;
    float *x = rnd(n, -range, range);
    float *mask = malloc((size_t)B * Cn * 4);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < Cn; j++) {
            float v = 1.0f;
            if (masked && b == B - 1 && B > 1) v = 0.0f;                  /* every key masked */
            else if (masked && j > 0 && (j * 7 + b * 3) % 5 == 0) v = 0.0f; /* scattered padding */
            else if (masked && b == 0 && j == Cn - 1 && Cn > 1) v = 0.0f;
            mask[(size_t)b * Cn + j] = v;
        }
    double *want = dnew(n);
    for (size_t row = 0; row < n / Cn; row++) {
        int b = (int)(row / ((size_t)H * R));
        const float *xr = x + row * Cn, *mr = mask + (size_t)b * Cn;
        double mx = -INFINITY;
        for (int j = 0; j < Cn; j++)
            if (!masked || mr[j] != 0) mx = fmax(mx, (double)scale * xr[j]);
        if (mx == -INFINITY) continue; /* zeros */
        double s = 0;
        for (int j = 0; j < Cn; j++)
            if (!masked || mr[j] != 0) s += exp((double)scale * xr[j] - mx);
        for (int j = 0; j < Cn; j++)
            want[row * Cn + j] = (!masked || mr[j] != 0) ? exp((double)scale * xr[j] - mx) / s : 0.0;
    }
    gbuf X = gb_make(x, n), Y = gb_make(NULL, n), M = gb_make(mask, (size_t)B * Cn);
    dev_softmax s = {B, H, R, Cn, scale, {NULL, 0}};
    if (masked) s.key_mask = gv(M);
    if (need(DEV_OP_SOFTMAX_FORWARD) && op_ok(dev_softmax_forward(C, &s, gv(Y), gv(X)), what)) {
        float *got = gb_get(what, Y);
        /* probabilities in [0, 1], a cols-long sum in the denominator */
        tu_close(what, got, want, n, 1e-6, 1e-4 + 1e-6 * Cn);
        if (masked) {
            size_t bad = n;
            for (size_t i = 0; i < n && bad == n; i++)
                if (mask[(i / ((size_t)H * R * Cn)) * Cn + i % Cn] == 0 && got[i] != 0.0f) bad = i;
            tu_check(bad == n, "%s: masked column not exactly 0 at index %zu (got %g)", what, bad,
                     bad < n ? got[bad] : 0.0);
        }
        free(got);
    }
    if (need(DEV_OP_SOFTMAX_BACKWARD)) {
        /* y given as the float rounding of the reference softmax */
        float *y = malloc(n * 4), *dy = rnd(n, -1, 1), *dx0 = rnd(n, -1, 1);
        for (size_t i = 0; i < n; i++) y[i] = (float)want[i];
        double *wdx = dnew(n);
        for (size_t row = 0; row < n / Cn; row++) {
            double dot = 0;
            for (int j = 0; j < Cn; j++) dot += (double)dy[row * Cn + j] * y[row * Cn + j];
            for (int j = 0; j < Cn; j++)
                wdx[row * Cn + j] = (double)scale * y[row * Cn + j] * (dy[row * Cn + j] - dot);
        }
        for (size_t i = 0; i < n; i++) dx0[i] = NAN; /* written, never read */
        gbuf YY = gb_make(y, n), DY = gb_make(dy, n), DX = gb_make(dx0, n);
        double atol = 1e-6 * fabs(scale) * Cn + 1e-6;
        snprintf(what, sizeof what, "softmax_backward [%d,%d,%d,%d] scale=%g %s (writes dx)", B, H, R, Cn, scale,
                 masked ? "key_mask" : "no mask");
        if (op_ok(dev_softmax_backward(C, &s, gv(DX), gv(DY), gv(YY)), what)) {
            float *got = gb_get(what, DX);
            tu_close(what, got, wdx, n, atol, 1e-4);
            free(got);
        }
        snprintf(what, sizeof what, "softmax_backward [%d,%d,%d,%d] scale=%g %s in place (dx = dy)", B, H, R, Cn,
                 scale, masked ? "key_mask" : "no mask");
        if (op_ok(dev_softmax_backward(C, &s, gv(DY), gv(DY), gv(YY)), what)) {
            float *got = gb_get(what, DY);
            tu_close(what, got, wdx, n, atol, 1e-4);
            free(got);
        }
        /* Through a dropout of the output (p 0.2): yd = y * keep / 0.8, dy the gradient of yd;
         * dx = scale * (yd * dy - y * sum_j dy * yd), over NaN and in place. */
        float *yd = malloc(n * 4), *dy2 = rnd(n, -1, 1);
        for (size_t i = 0; i < n; i++) yd[i] = tu_uniform(0, 1) < 0.2f ? 0.0f : y[i] * 1.25f;
        for (size_t row = 0; row < n / Cn; row++) {
            double dot = 0;
            for (int j = 0; j < Cn; j++) dot += (double)dy2[row * Cn + j] * yd[row * Cn + j];
            for (int j = 0; j < Cn; j++) {
                size_t i = row * Cn + j;
                wdx[i] = (double)scale * ((double)yd[i] * dy2[i] - (double)y[i] * dot);
            }
        }
        gbuf YD = gb_make(yd, n), DY2 = gb_make(dy2, n), DX2 = gb_make(dx0, n); /* NaN again */
        snprintf(what, sizeof what, "softmax_backward through dropout [%d,%d,%d,%d] scale=%g %s", B, H, R, Cn, scale,
                 masked ? "key_mask" : "no mask");
        if (op_ok(dev_softmax_dropout_backward(C, &s, gv(DX2), gv(DY2), gv(YY), gv(YD)), what)) {
            float *got = gb_get(what, DX2);
            tu_close(what, got, wdx, n, atol * 1.25, 1e-4);
            free(got);
        }
        snprintf(what, sizeof what, "softmax_backward through dropout [%d,%d,%d,%d] in place", B, H, R, Cn);
        if (op_ok(dev_softmax_dropout_backward(C, &s, gv(DY2), gv(DY2), gv(YY), gv(YD)), what)) {
            float *got = gb_get(what, DY2);
            tu_close(what, got, wdx, n, atol * 1.25, 1e-4);
            free(got);
        }
        gb_free(YD);
        gb_free(DY2);
        gb_free(DX2);
        free(yd);
        free(dy2);
        gb_free(YY);
        gb_free(DY);
        gb_free(DX);
        free(y);
        free(dy);
        free(dx0);
        free(wdx);
    }
    gb_free(X);
    gb_free(Y);
    gb_free(M);
    free(x);
    free(mask);
    free(want);
}

static void test_softmax(void) {
    softmax_case(1, 1, 1, 1, 1.0f, 0, 3);
    softmax_case(2, 2, 3, 3, 1.0f, 1, 3); /* several short rows */
    softmax_case(2, 3, 5, 13, 0.37f, 0, 4);
    softmax_case(3, 2, 7, 13, 0.125f, 1, 4);
    softmax_case(2, 1, 3, 67, 1.0f, 1, 4);
    softmax_case(1, 2, 3, 31, 2.0f, 0, 50);   /* scale*x up to 100: exp must be max-shifted */
    softmax_case(2, 1, 2, 131, 0.25f, 1, 4);  /* longer than a 128-wide workgroup */
}

/* ---- gather / scatter ------------------------------------------------------------------ */

/* ---- attention for inference ------------------------------------------------------------
 * dev_attention_forward on q, k, v laid out as attention reads them (the heads side by side in
 * rows of ld = 3*H*D, q of R rows, k and v of T), against a double reference and against the
 * three ops it stands for on the same device: bit-identical (the CPU backend fuses them with the
 * same BLAS calls and softmax code; the others run the three ops). */
static void attention_case(int B, int H, int R, int T, int D, int masked) {
    char what[200];
    snprintf(what, sizeof what, "attention_forward B=%d H=%d R=%d T=%d D=%d %s", B, H, R, T, D,
             masked ? "key_mask (last sequence all masked)" : "no mask");
    int ld = 3 * H * D, Cc = H * D;
    float scale = 1.0f / sqrtf((float)D);
    size_t nq = (size_t)B * T * ld, nc = (size_t)B * R * Cc, ns = (size_t)B * H * R * T;
    float *x = rnd(nq, -1, 1), *mask = malloc((size_t)B * T * 4);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < T; j++)
            mask[(size_t)b * T + j] = !masked ? 1.0f : (b == B - 1 && B > 1) ? 0.0f : (j % 4 == 3) ? 0.0f : 1.0f;
    double *want = dnew(nc), *sc = dnew(T);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < R; i++) {
                const float *q = x + ((size_t)b * T + i) * ld + h * D; /* q rows: the first R of T */
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < T; j++) {
                    const float *k = x + ((size_t)b * T + j) * ld + Cc + h * D;
                    double d = 0;
                    for (int e = 0; e < D; e++) d += (double)q[e] * k[e];
                    sc[j] = mask[(size_t)b * T + j] != 0 ? scale * d : -INFINITY;
                    mx = fmax(mx, sc[j]);
                }
                if (mx == -INFINITY) continue; /* all keys masked: zeros */
                for (int j = 0; j < T; j++) sum += sc[j] == -INFINITY ? 0 : exp(sc[j] - mx);
                for (int e = 0; e < D; e++) {
                    double o = 0;
                    for (int j = 0; j < T; j++)
                        if (sc[j] != -INFINITY) o += exp(sc[j] - mx) / sum * x[((size_t)b * T + j) * ld + 2 * Cc + h * D + e];
                    want[((size_t)b * R + i) * Cc + h * D + e] = o;
                }
            }
    gbuf X = gb_make(x, nq), M = gb_make(mask, (size_t)B * T), S = gb_make(NULL, ns), P = gb_make(NULL, ns);
    gbuf O1 = gb_make(NULL, nc), O2 = gb_make(NULL, nc);
    dev_softmax sm = {B, H, R, T, scale, masked ? gv(M) : (dev_view){NULL, 0}};
    dev_view xv = gv(X);
    dev_gemm qk = {.trans_b = 1, .m = R, .n = T, .k = D, .alpha = 1.0f, .a = xv, .b = dev_at(xv, Cc), .c = gv(S),
                   .lda = ld, .ldb = ld, .ldc = T, .stride_a = (long)T * ld, .stride_b = (long)T * ld,
                   .stride_c = (long)H * R * T, .batch = B, .heads = H, .head_stride_a = D, .head_stride_b = D,
                   .head_stride_c = (long)R * T};
    dev_gemm pv = {.m = R, .n = D, .k = T, .alpha = 1.0f, .a = gv(P), .b = dev_at(xv, 2 * Cc), .c = gv(O1),
                   .lda = T, .ldb = ld, .ldc = Cc, .stride_a = (long)H * R * T, .stride_b = (long)T * ld,
                   .stride_c = (long)R * Cc, .batch = B, .heads = H, .head_stride_a = (long)R * T, .head_stride_b = D,
                   .head_stride_c = D};
    if (op_ok(dev_attention_forward(C, &qk, &sm, &pv), what)) {
        float *got = gb_get(what, O1);
        /* bf16: q, k, p and v each rounded (2^-9 relative), so the outputs (|o| <= 1) move by
         * up to ~4 * 2^-9 * sqrt(D) through the scores' exponent; 2e-2 holds it for D <= 32. */
        tu_close(what, got, want, nc, bf16_mode ? 2e-2 : 1e-5, bf16_mode ? 2e-2 : 1e-5 + 1e-6 * T);
        /* the three ops */
        dev_gemm pv2 = pv;
        pv2.c = gv(O2);
        if (op_ok(dev_matmul(C, &qk), what) && op_ok(dev_softmax_forward(C, &sm, gv(P), gv(S)), what) &&
            op_ok(dev_matmul(C, &pv2), what)) {
            float *three = gb_get(what, O2);
            char also[240];
            snprintf(also, sizeof also, "%s: equals matmul + softmax + matmul", what);
            bit_equal(also, got, three, nc);
            free(three);
        }
        free(got);
    }
    /* a chain that does not fit is refused */
    dev_softmax bad = sm;
    bad.rows = R + 1;
    tu_check(dev_attention_forward(C, &qk, &bad, &pv) == MLTC_ERR_INVALID_ARGUMENT && strstr(E.msg, "chain"),
             "%s: softmax rows %d for %d query rows refused: %s", what, R + 1, R, E.msg);
    gb_free(X), gb_free(M), gb_free(S), gb_free(P), gb_free(O1), gb_free(O2);
    free(x), free(mask), free(want), free(sc);
}

static void test_attention(void) {
    attention_case(2, 3, 5, 5, 4, 0);
    attention_case(3, 2, 7, 7, 8, 1);
    attention_case(2, 2, 3, 9, 4, 1); /* fewer query rows than keys (selected outputs) */
    attention_case(2, 12, 33, 33, 32, 1);
}

static void test_gather_scatter(void) {
    const int rows = 31, cols = 13, n = 23;
    int32_t idx[23];
    for (int i = 0; i < n; i++) idx[i] = (i * 7 + 3) % 6; /* rows 0..5, about 4 times each */
    idx[4] = rows - 1;
    idx[9] = 0;
    idx[17] = 0;
    float *table = rnd((size_t)rows * cols, -2, 2);
    char what[160];
    if (need(DEV_OP_GATHER_ROWS)) {
        for (int pass = 0; pass < 2; pass++) {
            float beta = (float)pass;
            float *y0 = rnd((size_t)n * cols, -1, 1);
            if (beta == 0.0f)
                for (int i = 0; i < n * cols; i++) y0[i] = NAN; /* beta 0: y is not read */
            double *want = dnew((size_t)n * cols);
            for (int i = 0; i < n; i++)
                for (int c = 0; c < cols; c++)
                    want[(size_t)i * cols + c] =
                        (beta != 0.0f ? (double)y0[(size_t)i * cols + c] : 0.0) + table[(size_t)idx[i] * cols + c];
            gbuf T = gb_make(table, (size_t)rows * cols), I = gb_make(idx, n), Y = gb_make(y0, (size_t)n * cols);
            snprintf(what, sizeof what, "gather_rows n=%d cols=%d table_rows=%d beta=%g repeated idx", n, cols, rows,
                     beta);
            if (op_ok(dev_gather_rows(C, gv(Y), gv(T), gv(I), n, cols, rows, beta), what)) {
                float *got = gb_get(what, Y);
                tu_close(what, got, want, (size_t)n * cols, 0, beta == 0.0f ? 0 : 1e-7);
                free(got);
            }
            gb_free(T);
            gb_free(I);
            gb_free(Y);
            free(y0);
            free(want);
        }
        /* one row, one column */
        int32_t one = 4;
        gbuf T = gb_make(table, (size_t)rows), I = gb_make(&one, 1), Y = gb_make(NULL, 1);
        if (op_ok(dev_gather_rows(C, gv(Y), gv(T), gv(I), 1, 1, rows, 0.0f), "gather_rows n=1 cols=1")) {
            float *got = gb_get("gather_rows n=1 cols=1", Y);
            double w = table[4];
            tu_close("gather_rows n=1 cols=1", got, &w, 1, 0, 0);
            free(got);
        }
        gb_free(T);
        gb_free(I);
        gb_free(Y);
    }
    if (need(DEV_OP_SCATTER_ADD_ROWS)) {
        const int dst_rows = rows;
        float *src = rnd((size_t)n * cols, -1, 1), *dst0 = rnd((size_t)dst_rows * cols, -1, 1);
        /* full mantissas, so that the order of summation changes the float result */
        for (int i = 0; i < n * cols; i++) src[i] *= 2.7182817f;
        double *want = widen(dst0, (size_t)dst_rows * cols);
        for (int i = 0; i < n; i++)
            for (int c = 0; c < cols; c++) want[(size_t)idx[i] * cols + c] += src[(size_t)i * cols + c];
        /* The exact float result the plan's contract fixes: per destination row, the sources
         * summed in increasing source position, then added to dst. */
        float *exact = malloc((size_t)dst_rows * cols * 4);
        memcpy(exact, dst0, (size_t)dst_rows * cols * 4);
        for (int r = 0; r < dst_rows; r++)
            for (int c = 0; c < cols; c++) {
                float acc = 0.0f;
                int any = 0;
                for (int i = 0; i < n; i++)
                    if (idx[i] == r) {
                        acc = any ? acc + src[(size_t)i * cols + c] : src[(size_t)i * cols + c];
                        any = 1;
                    }
                if (any) exact[(size_t)r * cols + c] += acc;
            }
        dev_rows_plan plan;
        tu_must(dev_rows_plan_build(C, idx, n, dst_rows, &plan), &E, "dev_rows_plan_build");
        gbuf S = gb_make(src, (size_t)n * cols), D = gb_make(dst0, (size_t)dst_rows * cols),
             D2 = gb_make(dst0, (size_t)dst_rows * cols);
        snprintf(what, sizeof what, "scatter_add_rows n=%d cols=%d dst_rows=%d repeated idx (accumulates)", n, cols,
                 dst_rows);
        if (op_ok(dev_scatter_add_rows(C, gv(D), gv(S), &plan, cols), what) &&
            op_ok(dev_scatter_add_rows(C, gv(D2), gv(S), &plan, cols), what)) {
            float *got = gb_get(what, D), *got2 = gb_get(what, D2);
            tu_close(what, got, want, (size_t)dst_rows * cols, 1e-5, 1e-6);
            snprintf(what, sizeof what, "scatter_add_rows n=%d cols=%d: twice, bit-identical", n, cols);
            bit_equal(what, got, got2, (size_t)dst_rows * cols);
            snprintf(what, sizeof what, "scatter_add_rows n=%d cols=%d: bit-identical to the plan's summation order",
                     n, cols);
            bit_equal(what, got, exact, (size_t)dst_rows * cols);
            free(got);
            free(got2);
        }
        dev_rows_plan_free(C, &plan);
        /* A plan over some of the sources (the word table's leaves [PAD] out): order[] names
         * source rows past the plan's entry count, which a backend must still read. */
        int32_t sel[23], pos[23], h[3 * 23 + 1];
        int k = 0;
        for (int i = 0; i < n; i++)
            if (idx[i] != 0) sel[k] = idx[i], pos[k++] = i;
        int nseg = dev_rows_plan_host(sel, k, h, h + k, h + 2 * k + 1);
        for (int p = 0; p < k; p++) h[2 * k + 1 + p] = pos[h[2 * k + 1 + p]];
        double *want_sub = widen(dst0, (size_t)dst_rows * cols);
        for (int i = 0; i < n; i++)
            for (int c = 0; c < cols && idx[i] != 0; c++) want_sub[(size_t)idx[i] * cols + c] += src[(size_t)i * cols + c];
        gbuf P = gb_make(h, 3 * (size_t)k + 1), D3 = gb_make(dst0, (size_t)dst_rows * cols);
        dev_rows_plan sub = {nseg, k, gv(P), dev_at(gv(P), (size_t)k), dev_at(gv(P), 2 * (size_t)k + 1)};
        snprintf(what, sizeof what, "scatter_add_rows n=%d of %d sources (order past n) cols=%d", k, n, cols);
        if (op_ok(dev_scatter_add_rows(C, gv(D3), gv(S), &sub, cols), what)) {
            float *got = gb_get(what, D3);
            tu_close(what, got, want_sub, (size_t)dst_rows * cols, 1e-5, 1e-6);
            free(got);
        }
        gb_free(P);
        gb_free(D3);
        free(want_sub);
        gb_free(S);
        gb_free(D);
        gb_free(D2);
        free(src);
        free(dst0);
        free(want);
        free(exact);
    }
    free(table);
}

/* ---- dropout --------------------------------------------------------------------------- */

static void dropout_case(size_t n, float p, uint64_t seed, uint64_t offset) {
    char what[200];
    float *x = rnd(n, -1, 1);
    for (size_t i = 0; i < n; i++)
        if (x[i] == 0.0f) x[i] = 0.5f;
    double *want = dnew(n);
    double scale = 1.0 / (1.0 - (double)p);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        int keep = philox_uniform(seed, offset + i) >= p;
        kept += keep;
        want[i] = keep ? x[i] * scale : 0.0;
    }
    if (need(DEV_OP_DROPOUT_FORWARD)) {
        for (int inplace = 0; inplace < 2; inplace++) {
            snprintf(what, sizeof what, "dropout_forward n=%zu p=%g seed=%llx offset=%llu%s", n, p,
                     (unsigned long long)seed, (unsigned long long)offset, inplace ? " in place" : "");
            gbuf X = gb_make(x, n), Y = gb_make(NULL, n);
            gbuf out = inplace ? X : Y;
            if (op_ok(dev_dropout_forward(C, gv(out), gv(X), n, p, seed, offset), what)) {
                float *got = gb_get(what, out);
                size_t bad = n;
                for (size_t i = 0; i < n && bad == n; i++)
                    if ((got[i] == 0.0f) != (want[i] == 0.0)) bad = i;
                tu_check(bad == n, "%s: mask differs from philox_uniform at index %zu (got %g, expected %g)", what,
                         bad, bad < n ? got[bad] : 0.0, bad < n ? want[bad] : 0.0);
                tu_close(what, got, want, n, 0, 1e-6); /* x/(1-p) or x*(1/(1-p)): an ulp or two */
                free(got);
            }
            gb_free(X);
            gb_free(Y);
        }
    }
    if (p > 0 && n > 1000) /* the data really exercises both branches */
        tu_check(kept > n * (1 - p) * 0.8 && kept < n * (1 - p) * 1.2 + 1, "dropout p=%g keeps %zu of %zu", p, kept,
                 n);
    free(x);
    free(want);
}

static void test_dropout(void) {
    dropout_case(1037, 0.3f, 0x0123456789ABCDEFull, 1000003);
    dropout_case(1037, 0.1f, 42, 0);
    dropout_case(1037, 0.0f, 7, 5);
    dropout_case(1, 0.5f, 3, 11);
    /* indices crossing 2^32: the counter's high word must come from offset + i */
    dropout_case(1031, 0.5f, 0xFFFFFFFF00000001ull, (1ull << 32) - 500);
    /* four indices share one Philox call: groups (index / 4) crossing 2^32 */
    dropout_case(1031, 0.25f, 99, (1ull << 34) - 502);
}

/* ---- axpby ----------------------------------------------------------------------------- */

static void test_axpby(void) {
    if (!need(DEV_OP_AXPBY)) return;
    const size_t n = 1031;
    float *a = rnd(n, -2, 2), *b = rnd(n, -2, 2);
    const float al = 0.75f, be = -1.5f;
    double *want = dnew(n);
    for (size_t i = 0; i < n; i++) want[i] = (double)al * a[i] + (double)be * b[i];
    const char *names[3] = {"axpby n=1031 (y separate)", "axpby n=1031 (y == a)", "axpby n=1031 (y == b)"};
    for (int mode = 0; mode < 3; mode++) {
        gbuf A = gb_make(a, n), B = gb_make(b, n), Y = gb_make(NULL, n);
        gbuf out = mode == 0 ? Y : mode == 1 ? A : B;
        if (op_ok(dev_axpby(C, gv(out), al, gv(A), be, gv(B), n), names[mode])) {
            float *got = gb_get(names[mode], out);
            tu_close(names[mode], got, want, n, 1e-6, 1e-6); /* two products and a sum, FMA or not */
            free(got);
        }
        gb_free(A);
        gb_free(B);
        gb_free(Y);
    }
    /* y == a == b: y = (alpha + beta) * a, and n = 1 */
    gbuf A = gb_make(a, 1);
    double w1 = (double)al * a[0] + (double)be * a[0];
    if (op_ok(dev_axpby(C, gv(A), al, gv(A), be, gv(A), 1), "axpby n=1 y == a == b")) {
        float *got = gb_get("axpby n=1 y == a == b", A);
        tu_close("axpby n=1 y == a == b", got, &w1, 1, 1e-6, 1e-6);
        free(got);
    }
    gb_free(A);
    free(a);
    free(b);
    free(want);
}

/* ---- losses ---------------------------------------------------------------------------- */

static void crossentropy_case(int rows, int vocab) {
    char what[160];
    size_t n = (size_t)rows * vocab;
    float *logits = rnd(n, -5, 5);
    int32_t *target = malloc(rows * 4);
    for (int r = 0; r < rows; r++) target[r] = (r * 37 + 11) % vocab;
    if (rows > 2) {
        target[1] = -1; /* ignored */
        target[2] = vocab - 1;
    }
    if (rows > 3)
        for (int j = 0; j < vocab; j++) logits[3 * vocab + j] += 100.0f; /* exp(100) overflows float */
    target[0] = 0;
    double *wl = dnew(rows), *sm = dnew(n);
    for (int r = 0; r < rows; r++) {
        const float *lr = logits + (size_t)r * vocab;
        double mx = -INFINITY, s = 0;
        for (int j = 0; j < vocab; j++) mx = fmax(mx, lr[j]);
        for (int j = 0; j < vocab; j++) s += exp(lr[j] - mx);
        for (int j = 0; j < vocab; j++) sm[(size_t)r * vocab + j] = exp(lr[j] - mx) / s;
        wl[r] = target[r] < 0 ? 0.0 : log(s) + mx - lr[target[r]];
    }
    gbuf L = gb_make(logits, n), T = gb_make(target, rows), LO = gb_make(NULL, rows);
    if (need(DEV_OP_CROSSENTROPY_FORWARD)) {
        snprintf(what, sizeof what, "crossentropy_forward rows=%d vocab=%d (row 1 ignored, row 3 logits ~100)",
                 rows, vocab);
        if (op_ok(dev_crossentropy_forward(C, gv(LO), gv(L), gv(T), rows, vocab), what)) {
            float *got = gb_get(what, LO);
            /* log of a vocab-long sum: relative error of the sum ~vocab*u at worst */
            tu_close(what, got, wl, rows, red_atol(vocab), 1e-5);
            if (rows > 2) tu_check(got[1] == 0.0f, "%s: ignored row's loss is %g, not 0", what, got[1]);
            free(got);
        }
    }
    if (need(DEV_OP_CROSSENTROPY_BACKWARD)) {
        const float scale = 1.0f / 7.0f;
        float *d0 = rnd(n, -1, 1);
        double *wd = widen(d0, n);
        for (int r = 0; r < rows; r++) {
            if (target[r] < 0) continue;
            for (int j = 0; j < vocab; j++)
                wd[(size_t)r * vocab + j] += scale * (sm[(size_t)r * vocab + j] - (j == target[r] ? 1.0 : 0.0));
        }
        gbuf D = gb_make(d0, n);
        snprintf(what, sizeof what, "crossentropy_backward rows=%d vocab=%d scale=1/7 (accumulates)", rows, vocab);
        if (op_ok(dev_crossentropy_backward(C, gv(D), gv(L), gv(T), rows, vocab, scale), what)) {
            float *got = gb_get(what, D);
            tu_close(what, got, wd, n, 1e-6, 1e-5);
            if (rows > 2)
                tu_check(memcmp(got + vocab, d0 + vocab, (size_t)vocab * 4) == 0,
                         "%s: the ignored row's gradient changed", what);
            free(got);
        }
        gb_free(D);
        free(d0);
        free(wd);
    }
    gb_free(L);
    gb_free(T);
    gb_free(LO);
    free(logits);
    free(target);
    free(wl);
    free(sm);
}

static void test_bce(void) {
    const size_t n = 67;
    float *x = rnd(n, -6, 6), *y = rnd(n, 0, 1);
    const float big[] = {30, -30, 100, -100, 1e4f, -1e4f, 88, -88, 0, 1e-4f};
    for (int i = 0; i < 10; i++) x[i] = big[i];
    y[0] = 0;
    y[1] = 1;
    y[2] = 0;
    y[3] = 1;
    y[4] = 0.3f;
    y[5] = 0.7f;
    double *wl = dnew(n), *wg = dnew(n);
    const float scale = 0.25f;
    for (size_t i = 0; i < n; i++) {
        double xi = x[i], yi = y[i];
        wl[i] = fmax(xi, 0) - xi * yi + log1p(exp(-fabs(xi)));
        wg[i] = scale * (1 / (1 + exp(-xi)) - yi);
    }
    gbuf X = gb_make(x, n), Y = gb_make(y, n), L = gb_make(NULL, n);
    if (need(DEV_OP_BCE_FORWARD) && op_ok(dev_bce_forward(C, gv(L), gv(X), gv(Y), n), "bce_forward n=67")) {
        float *got = gb_get("bce_forward", L);
        tu_close("bce_forward n=67 incl. |x| = 30, 100, 1e4", got, wl, n, 1e-5, 1e-5);
        free(got);
    }
    if (need(DEV_OP_BCE_BACKWARD)) {
        float *d0 = rnd(n, -1, 1);
        for (size_t i = 0; i < n; i++) wg[i] += d0[i];
        gbuf D = gb_make(d0, n);
        if (op_ok(dev_bce_backward(C, gv(D), gv(X), gv(Y), n, scale), "bce_backward n=67")) {
            float *got = gb_get("bce_backward", D);
            tu_close("bce_backward n=67 scale=0.25 incl. |x| = 30, 100, 1e4 (accumulates)", got, wg, n, 1e-6, 1e-5);
            free(got);
        }
        gb_free(D);
        free(d0);
    }
    gb_free(X);
    gb_free(Y);
    gb_free(L);
    free(x);
    free(y);
    free(wl);
    free(wg);
}

static void test_losses(void) {
    crossentropy_case(1, 1);
    crossentropy_case(4, 3); /* several rows, a vocabulary smaller than any workgroup */
    crossentropy_case(3, 13);
    crossentropy_case(7, 67);
    crossentropy_case(5, 1031);
    test_bce();
}

/* ---- label attention ------------------------------------------------------------------- */

typedef struct la_ref {
    double *out, *w, *sim_best;
    int *am;
} la_ref;

static double norm_e(const float *v, int d) {
    double s = 0;
    for (int c = 0; c < d; c++) s += (double)v[c] * v[c];
    return sqrt(s + 1e-12);
}

/* Returns the smallest gap between the best and the best other-valued label score over all
 * unmasked words (ties between identical labels do not count), to keep the data away from
 * float-vs-double argmax flips. */
static double la_forward_ref(int B, int T, int K, int D, const float *h, const float *l, const float *mask,
                             la_ref *r) {
    double gap = INFINITY;
    for (int b = 0; b < B; b++) {
        double mx = -INFINITY;
        for (int t = 0; t < T; t++) {
            size_t bt = (size_t)b * T + t;
            r->am[bt] = -1;
            r->w[bt] = 0;
            if (mask[bt] == 0) continue;
            const float *ht = h + bt * D;
            double best = -INFINITY, second = -INFINITY;
            for (int k = 0; k < K; k++) {
                const float *lk = l + (size_t)k * D;
                double dot = 0;
                for (int c = 0; c < D; c++) dot += (double)ht[c] * lk[c];
                double sim = dot / (norm_e(ht, D) * norm_e(lk, D));
                if (sim > best) {
                    if (best > -INFINITY) second = best;
                    best = sim;
                    r->am[bt] = k;
                } else if (sim < best && sim > second) {
                    second = sim;
                }
            }
            if (best - second < gap) gap = best - second;
            r->sim_best[bt] = best;
            mx = fmax(mx, best);
        }
        for (int c = 0; c < D; c++) r->out[(size_t)b * D + c] = 0;
        if (mx == -INFINITY) continue;
        double s = 0;
        for (int t = 0; t < T; t++)
            if (r->am[(size_t)b * T + t] >= 0) s += exp(r->sim_best[(size_t)b * T + t] - mx);
        for (int t = 0; t < T; t++) {
            size_t bt = (size_t)b * T + t;
            if (r->am[bt] < 0) continue;
            r->w[bt] = exp(r->sim_best[bt] - mx) / s;
            for (int c = 0; c < D; c++) r->out[(size_t)b * D + c] += r->w[bt] * h[bt * D + c];
        }
    }
    return gap;
}

static void la_case(int B, int T, int K, int D) {
    if (!need(DEV_OP_LABEL_ATTENTION_FORWARD)) return;
    char what[200];
    size_t BT = (size_t)B * T;
    float *h = malloc(BT * D * 4), *l = malloc((size_t)K * D * 4), *mask = malloc(BT * 4);
    la_ref r = {dnew(B * D), dnew(BT), dnew(BT), calloc(BT, sizeof(int))};
    /* Draw until every word's best label beats the next distinct one by a clear margin. */
    for (int attempt = 0; attempt < 200; attempt++) {
        tu_fill_uniform(l, (size_t)K * D, -1, 1);
        if (K > 3) memcpy(l + 3 * D, l + 1 * D, D * 4); /* labels 1 and 3 identical: ties -> 1 */
        tu_fill_uniform(h, BT * D, -1, 1);
        for (size_t bt = 0; bt < BT; bt++) {
            mask[bt] = 1.0f;
            if (bt % 3 == 0 && K > 3) /* some words close to label 1 (== 3) so the tie decides */
                for (int c = 0; c < D; c++) h[bt * D + c] = 1.5f * l[D + c] + 0.3f * h[bt * D + c];
        }
        if (B > 1) {
            mask[1 * T + 1] = 0.0f; /* masked words */
            mask[1 * T + T - 1] = 0.0f;
        }
        if (B > 2)
            for (int t = 0; t < T; t++) mask[2 * T + t] = 0.0f; /* an all-masked example */
        if (la_forward_ref(B, T, K, D, h, l, mask, &r) > 1e-3) break;
    }
    int ties = 0;
    for (size_t bt = 0; bt < BT; bt++) ties += r.am[bt] == 1 && K > 3;
    gbuf H = gb_make(h, BT * D), L = gb_make(l, (size_t)K * D), M = gb_make(mask, BT), O = gb_make(NULL, B * D),
         W = gb_make(NULL, BT), AM = gb_make(NULL, BT);
    dev_label_attention a = {B, T, K, D, gv(H), gv(L), gv(M), gv(O), gv(W), gv(AM)};
    snprintf(what, sizeof what, "label_attention_forward batch=%d words=%d labels=%d dim=%d (%d tie words)", B, T, K,
             D, ties);
    if (!op_ok(dev_label_attention_forward(C, &a), what)) goto done;
    float *go = gb_get(what, O), *gw = gb_get(what, W);
    int32_t *gam = gb_get(what, AM);
    char w2[240];
    snprintf(w2, sizeof w2, "%s: out", what);
    tu_close(w2, go, r.out, B * D, 1e-5, 1e-4);
    snprintf(w2, sizeof w2, "%s: weights", what);
    tu_close(w2, gw, r.w, BT, 1e-6, 1e-4);
    size_t bad = BT;
    for (size_t bt = 0; bt < BT && bad == BT; bt++)
        if (mask[bt] != 0 && gam[bt] != r.am[bt]) bad = bt;
    tu_check(bad == BT, "%s: argmax at word %zu: got %d, expected %d (ties go to the smallest k)", what, bad,
             bad < BT ? gam[bad] : 0, bad < BT ? r.am[bad] : 0);
    bad = BT;
    for (size_t bt = 0; bt < BT && bad == BT; bt++)
        if (mask[bt] == 0 && gw[bt] != 0.0f) bad = bt;
    tu_check(bad == BT, "%s: masked word %zu has weight %g, not 0", what, bad, bad < BT ? gw[bad] : 0.0);
    free(go);
    free(gw);
    free(gam);

    if (need(DEV_OP_LABEL_ATTENTION_BACKWARD)) {
        float *dout = rnd((size_t)B * D, -1, 1), *dh0 = rnd(BT * D, -1, 1), *dl0 = rnd((size_t)K * D, -1, 1);
        double *wdh = widen(dh0, BT * D), *wdl = widen(dl0, (size_t)K * D);
        for (int b = 0; b < B; b++) {
            const float *dob = dout + (size_t)b * D;
            double sg = 0, *g = dnew(T);
            for (int t = 0; t < T; t++) {
                size_t bt = (size_t)b * T + t;
                if (r.am[bt] < 0) continue;
                for (int c = 0; c < D; c++) g[t] += (double)dob[c] * h[bt * D + c]; /* dL/dw_t */
                sg += r.w[bt] * g[t];
            }
            for (int t = 0; t < T; t++) {
                size_t bt = (size_t)b * T + t;
                if (r.am[bt] < 0) continue;
                double da = r.w[bt] * (g[t] - sg); /* through the softmax over words */
                const float *ht = h + bt * D, *lk = l + (size_t)r.am[bt] * D;
                double nh = norm_e(ht, D), nl = norm_e(lk, D), sim = r.sim_best[bt];
                for (int c = 0; c < D; c++) {
                    wdh[bt * D + c] += r.w[bt] * dob[c] + da * (lk[c] / (nh * nl) - sim * ht[c] / (nh * nh));
                    wdl[(size_t)r.am[bt] * D + c] += da * (ht[c] / (nh * nl) - sim * lk[c] / (nl * nl));
                }
            }
            free(g);
        }
        gbuf DO = gb_make(dout, (size_t)B * D), DH = gb_make(dh0, BT * D), DL = gb_make(dl0, (size_t)K * D),
             DH2 = gb_make(dh0, BT * D), DL2 = gb_make(dl0, (size_t)K * D);
        snprintf(what, sizeof what, "label_attention_backward batch=%d words=%d labels=%d dim=%d (accumulates)", B, T,
                 K, D);
        if (op_ok(dev_label_attention_backward(C, &a, gv(DH), gv(DL), gv(DO)), what) &&
            op_ok(dev_label_attention_backward(C, &a, gv(DH2), gv(DL2), gv(DO)), what)) {
            float *gdh = gb_get(what, DH), *gdl = gb_get(what, DL), *gdh2 = gb_get(what, DH2),
                  *gdl2 = gb_get(what, DL2);
            snprintf(w2, sizeof w2, "%s: dh", what);
            tu_close(w2, gdh, wdh, BT * D, 1e-5, 1e-4);
            snprintf(w2, sizeof w2, "%s: dl", what);
            tu_close(w2, gdl, wdl, (size_t)K * D, red_atol((int)BT), 1e-4);
            snprintf(w2, sizeof w2, "%s: dh twice, bit-identical", what);
            bit_equal(w2, gdh, gdh2, BT * D);
            snprintf(w2, sizeof w2, "%s: dl twice, bit-identical", what);
            bit_equal(w2, gdl, gdl2, (size_t)K * D);
            free(gdh);
            free(gdl);
            free(gdh2);
            free(gdl2);
        }
        gb_free(DO);
        gb_free(DH);
        gb_free(DL);
        gb_free(DH2);
        gb_free(DL2);
        free(dout);
        free(dh0);
        free(dl0);
        free(wdh);
        free(wdl);
    }
done:
    gb_free(H);
    gb_free(L);
    gb_free(M);
    gb_free(O);
    gb_free(W);
    gb_free(AM);
    free(h);
    free(l);
    free(mask);
    free(r.out);
    free(r.w);
    free(r.sim_best);
    free(r.am);
}

static void test_label_attention(void) {
    la_case(1, 1, 1, 1);
    la_case(2, 3, 2, 3); /* several short rows */
    la_case(3, 7, 5, 13);
    la_case(3, 13, 7, 67); /* dim above a 64-wide workgroup */
    la_case(2, 31, 6, 8);
    la_case(2, 133, 3, 20); /* more words than a 128-wide workgroup */
}

/* ---- sumsq / adamw --------------------------------------------------------------------- */

static void sumsq_case(size_t n) {
    if (!need(DEV_OP_SUMSQ)) return;
    char what[120];
    snprintf(what, sizeof what, "sumsq n=%zu", n);
    float *x = rnd(n, -1, 1);
    double want = 0;
    for (size_t i = 0; i < n; i++) want += (double)x[i] * x[i];
    gbuf X = gb_make(x, n), O = gb_make(NULL, 1), O2 = gb_make(NULL, 1);
    if (op_ok(dev_sumsq(C, gv(O), gv(X), n), what) && op_ok(dev_sumsq(C, gv(O2), gv(X), n), what)) {
        float *g = gb_get(what, O), *g2 = gb_get(what, O2);
        tu_close(what, g, &want, 1, 1e-7, n > 10000 ? 2e-4 : 2e-5);
        char w2[160];
        snprintf(w2, sizeof w2, "%s twice, bit-identical", what);
        bit_equal(w2, g, g2, 1);
        free(g);
        free(g2);
    }
    gb_free(X);
    gb_free(O);
    gb_free(O2);
    free(x);
}

static void adamw_case(size_t n, int clip, float wd, int steps) {
    if (!need(DEV_OP_ADAMW) || (clip && !need(DEV_OP_SUMSQ))) return;
    char what[200];
    snprintf(what, sizeof what, "adamw n=%zu %s weight_decay=%g after %d steps", n, clip ? "clipped" : "unclipped",
             wd, steps);
    const float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, max_norm = 1.0f;
    float *p = rnd(n, -1, 1), *m0 = rnd(n, -0.1f, 0.1f), *v0 = rnd(n, 0, 0.01f);
    double *P = widen(p, n), *Mm = widen(m0, n), *V = widen(v0, n);
    gbuf GP = gb_make(p, n), GM = gb_make(m0, n), GV = gb_make(v0, n), GG = gb_make(NULL, n), SS = gb_make(NULL, 1);
    int ok = 1;
    for (int s = 1; s <= steps && ok; s++) {
        float *g = rnd(n, -1, 1);
        tu_must(dev_upload(C, GG.b, GG.off * 4, g, n * 4), &E, "upload grad");
        double clipf = 1.0;
        if (clip) {
            double ss = 0;
            for (size_t i = 0; i < n; i++) ss += (double)g[i] * g[i];
            clipf = fmin(1.0, max_norm / (sqrt(ss) + 1e-6));
            ok = op_ok(dev_sumsq(C, gv(SS), gv(GG), n), what);
        }
        dev_adamw_args a = {n, gv(GP), gv(GG), gv(GM), gv(GV), lr, b1, b2, eps, wd, s, {NULL, 0}, max_norm};
        if (clip) a.sumsq = gv(SS);
        ok = ok && op_ok(dev_adamw(C, &a), what);
        double bc1 = 1 - pow(b1, s), bc2 = 1 - pow(b2, s);
        for (size_t i = 0; i < n; i++) {
            double gi = g[i] * clipf;
            Mm[i] = b1 * Mm[i] + (1 - (double)b1) * gi;
            V[i] = b2 * V[i] + (1 - (double)b2) * gi * gi;
            P[i] = P[i] - (double)lr * wd * P[i] - lr * (Mm[i] / bc1) / (sqrt(V[i] / bc2) + eps);
        }
        free(g);
    }
    if (ok) {
        float *gp = gb_get(what, GP), *gm = gb_get(what, GM), *gvv = gb_get(what, GV);
        char w2[240];
        /* each step moves p by ~lr with a relative error ~1e-6: atol 1e-6 on p of size ~1 */
        snprintf(w2, sizeof w2, "%s: param", what);
        tu_close(w2, gp, P, n, 2e-6, 1e-5);
        snprintf(w2, sizeof w2, "%s: m", what);
        tu_close(w2, gm, Mm, n, 1e-7, 1e-5);
        snprintf(w2, sizeof w2, "%s: v", what);
        tu_close(w2, gvv, V, n, 1e-9, 1e-5);
        free(gp);
        free(gm);
        free(gvv);
    }
    gb_free(GP);
    gb_free(GM);
    gb_free(GV);
    gb_free(GG);
    gb_free(SS);
    free(p);
    free(m0);
    free(v0);
    free(P);
    free(Mm);
    free(V);
}

static void test_optim(void) {
    sumsq_case(1);
    sumsq_case(67);
    sumsq_case(4099);
    sumsq_case(100003);
    adamw_case(1031, 1, 0.01f, 5);
    adamw_case(1031, 0, 0.0f, 5);
    adamw_case(1, 0, 0.1f, 3);
    /* a gradient norm below max_norm leaves the gradient alone (clip = 1) */
    adamw_case(3, 1, 0.0f, 2);
}

/* More work groups than one dispatch dimension allows on many GPUs (65535 of 256). */
static void test_large_dispatch(void) {
    if (!need(DEV_OP_AXPBY) || !need(DEV_OP_SUMSQ)) return;
    const size_t n = (size_t)65535 * 256 + 1031;
    float *h = malloc(n * 4);
    for (size_t i = 0; i < n; i++) h[i] = (float)(i % 1009) * (1.0f / 1024) - 0.25f;
    dev_buf *x = tu_buf(C, h, n), *o = tu_zeros(C, 1);
    tu_must(dev_axpby(C, tu_v(x), 2.0f, tu_v(x), 1.0f, tu_v(x), n), &E, "axpby n=16.8M");
    tu_must(dev_sumsq(C, tu_v(o), tu_v(x), n), &E, "sumsq n=16.8M");
    float *g = tu_get(C, x, n), *go = tu_get(C, o, 1);
    size_t bad = n;
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
        float w = (float)(3.0 * h[i]); /* 2x is exact, so 2x + x rounds once, FMA or not */
        ss += (double)w * w;
        if (g[i] != w && bad == n) bad = i;
    }
    tu_check(bad == n, "axpby n=%zu (y == a == b) at index %zu: got %g, expected %g", n, bad, bad < n ? g[bad] : 0.0,
             bad < n ? 3.0 * h[bad] : 0.0);
    /* 16.8M float terms: a sequential float sum could drift ~sqrt(n)*u = 2.5e-4 */
    tu_close("sumsq n=16.8M", go, &ss, 1, 0, 1e-3);
    free(g);
    free(go);
    free(h);
    dev_free(C, x);
    dev_free(C, o);
}

/* The same 64 x 64 x 64 product in fp32 and in bf16 must differ (else bf16 was not applied),
 * by about the rounding of the operands. */
static void bf16_changes_the_result(void) {
    size_t n = 64 * 64;
    float *a = rnd(n, -1, 1), *b = rnd(n, -1, 1);
    gbuf A = gb_make(a, n), B = gb_make(b, n), C1 = gb_make(NULL, n), C2 = gb_make(NULL, n);
    dev_gemm g = {.m = 64, .n = 64, .k = 64, .alpha = 1.0f, .a = gv(A), .b = gv(B), .c = gv(C1), .lda = 64,
                  .ldb = 64, .ldc = 64, .batch = 1};
    dev_gemm g2 = g;
    g2.c = gv(C2);
    if (op_ok(dev_set_matmul_precision(C, DEV_PREC_FP32), "fp32") && op_ok(dev_matmul(C, &g), "fp32 matmul") &&
        op_ok(dev_set_matmul_precision(C, DEV_PREC_BF16), "bf16") && op_ok(dev_matmul(C, &g2), "bf16 matmul")) {
        float *x = gb_get("fp32", C1), *y = gb_get("bf16", C2);
        double d = 0;
        for (size_t i = 0; i < n; i++) d = fmax(d, fabs((double)x[i] - y[i]));
        printf("  bf16 vs fp32 64x64x64: max difference %.3g\n", d);
        tu_check(d > 1e-3 && d < 0.2, "bf16 matmul differs from fp32 by %.3g (expected ~1e-2)", d);
        free(x), free(y);
    }
    gb_free(A), gb_free(B), gb_free(C1), gb_free(C2);
    free(a), free(b);
}

static void test_bf16(void) {
    printf("- bf16 matmul\n");
    mltc_status st = dev_set_matmul_precision(C, DEV_PREC_BF16);
    if (st != MLTC_OK) {
        printf("  not on this device: %s\n", E.msg);
        tu_check(st == MLTC_ERR_UNSUPPORTED && E.msg[0] && C->matmul_precision == DEV_PREC_FP32,
                 "a refused bf16: status %d, message '%s', precision %d", st, E.msg, (int)C->matmul_precision);
        return;
    }
    bf16_mode = 1;
    test_matmul();
    test_attention();
    bf16_changes_the_result();
    bf16_mode = 0;
    tu_check(dev_set_matmul_precision(C, DEV_PREC_FP32) == MLTC_OK, "back to fp32");
}

int main(int argc, char **argv) {
    const char *backend = argc > 1 ? argv[1] : "cpu";
    int rc = tu_open(backend, &E, &C);
    if (rc) return rc;
    printf("test_ops on %s\n", C->id);
    tu_seed(20261121);
    static const struct {
        const char *name;
        void (*run)(void);
    } tests[] = {
        {"memory", test_memory},     {"matmul", test_matmul},
        {"bias", test_bias},         {"layernorm", test_layernorm},
        {"gelu", test_gelu},         {"ordering", test_ordering},
        {"softmax", test_softmax},   {"attention", test_attention},
        {"gather/scatter", test_gather_scatter}, {"dropout", test_dropout},
        {"axpby", test_axpby},
        {"losses", test_losses},     {"label attention", test_label_attention},
        {"sumsq/adamw", test_optim}, {"large dispatch", test_large_dispatch},
    };
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) {
        printf("- %s\n", tests[i].name); /* says where a hang happened */
        fflush(stdout);
        tests[i].run();
    }
    test_bf16();
    /* Vulkan's GEMM has three tiles, picked by shape: every product above once more at each. */
    if (!strcmp(backend, "vulkan")) {
        static const char *const tiles[] = {"large", "medium", "small"};
        for (int i = 0; i < 3; i++) {
            plat_setenv("MLTC_VK_GEMM_TILE", tiles[i]);
            dev_close(C);
            C = NULL;
            if (tu_open(backend, &E, &C)) break;
            printf("- matmul, %s tiles\n", tiles[i]);
            fflush(stdout);
            test_matmul();
        }
        plat_setenv("MLTC_VK_GEMM_TILE", NULL);
        /* A device with more units than any: every single product with a long k splits it. */
        plat_setenv("MLTC_VK_GEMM_UNITS", "100000");
        dev_close(C);
        C = NULL;
        if (!tu_open(backend, &E, &C)) {
            printf("- matmul, split-K\n");
            fflush(stdout);
            test_matmul();
        }
        plat_setenv("MLTC_VK_GEMM_UNITS", NULL);
    }
    dev_close(C);
    return tu_finish();
}
