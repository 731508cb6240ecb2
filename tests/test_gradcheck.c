/*
 * Every backward op of the CPU backend against central finite differences of its forward op.
 *
 * For an op y = f(x1, x2, ...) the test draws a random projection r and the scalar
 * L = sum_i r_i * y_i (summed in double from the float outputs). The backward op, given
 * dy = r and zeroed gradient buffers, must return dL/dx; the finite difference is
 * (L(x + e) - L(x - e)) / (x+e - x-e), with the step taken exactly as the float values differ.
 *
 * Step and tolerance: the forward runs in float, so L carries a rounding noise of about
 * sqrt(N) * 6e-8 * |y| (N outputs, a few dozen here), i.e. ~1e-6; divided by 2e this is
 * ~1e-4 for e = 5e-3. The truncation error of a central difference is e^2/6 * |f'''|,
 * ~4e-6 * |f'''| for the smooth ops here. Hence e = 5e-3 for nonlinear ops with
 * atol 2e-4 + rtol 5e-3, and e = 1e-2 (no truncation error at all) for the linear ops
 * (matmul, gather, dropout, bias) with atol 1e-4 + rtol 1e-3. The largest error
 * seen on the CPU backend is under 15% of these bounds (layernorm dx); a backward off by
 * 2% (or missing a term) fails.
 * Label attention is kept away from argmax ties (the best label beats the next by > 0.05,
 * far more than a step can move a cosine), because the max is not differentiable there.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static dev_ctx *C;
static mltc_error E;

#define MAXIN 4

/* A forward op with its inputs held on the host and uploaded before each evaluation. */
typedef struct gc {
    int nin;
    float *in[MAXIN];
    size_t n_in[MAXIN];
    dev_buf *inb[MAXIN];
    size_t nout;
    dev_buf *outb;
    float *r;
    void (*forward)(struct gc *g);
    const void *param;
} gc;

static void gc_init(gc *g, size_t nout, void (*forward)(gc *), const void *param) {
    memset(g, 0, sizeof *g);
    g->nout = nout;
    g->outb = tu_zeros(C, nout);
    g->r = malloc(nout * 4);
    tu_fill_uniform(g->r, nout, -1, 1);
    g->forward = forward;
    g->param = param;
}

static int gc_input(gc *g, float *host, size_t n) {
    int i = g->nin++;
    g->in[i] = host;
    g->n_in[i] = n;
    g->inb[i] = tu_buf(C, host, n);
    return i;
}

static double gc_loss(gc *g) {
    for (int i = 0; i < g->nin; i++) tu_must(dev_upload(C, g->inb[i], 0, g->in[i], g->n_in[i] * 4), &E, "upload");
    g->forward(g);
    float *y = tu_get(C, g->outb, g->nout);
    double s = 0;
    for (size_t i = 0; i < g->nout; i++) s += (double)g->r[i] * y[i];
    free(y);
    return s;
}

/* Compares the analytic gradient of input `which` with central differences. */
static void gc_check(gc *g, int which, const float *analytic, float eps, double atol, double rtol, const char *what) {
    size_t n = g->n_in[which];
    double *num = calloc(n, sizeof(double));
    float *x = g->in[which];
    for (size_t i = 0; i < n; i++) {
        float save = x[i], hi = save + eps, lo = save - eps;
        x[i] = hi;
        double lp = gc_loss(g);
        x[i] = lo;
        double lm = gc_loss(g);
        x[i] = save;
        num[i] = (lp - lm) / ((double)hi - lo);
    }
    tu_close(what, analytic, num, n, atol, rtol);
    free(num);
    gc_loss(g); /* leave the outputs of the unperturbed inputs in place */
}

static void gc_free(gc *g) {
    for (int i = 0; i < g->nin; i++) dev_free(C, g->inb[i]);
    dev_free(C, g->outb);
    free(g->r);
}

#define LIN_EPS 1e-2f
#define LIN_ATOL 1e-4
#define LIN_RTOL 1e-3
#define NL_EPS 5e-3f
#define NL_ATOL 2e-4
#define NL_RTOL 5e-3

static dev_view V(dev_buf *b) { return tu_v(b); }

/* ---- layernorm ----------------------------------------------------------------------- */

typedef struct { int rows, cols; dev_buf *mean, *rstd; } ln_p;

static void ln_fwd(gc *g) {
    const ln_p *p = g->param;
    tu_must(dev_layernorm_forward(C, V(g->outb), V(p->mean), V(p->rstd), V(g->inb[0]), V(g->inb[1]), V(g->inb[2]),
                                  p->rows, p->cols, 1e-5f),
            &E, "layernorm_forward");
}

static void check_layernorm(void) {
    const int rows = 3, cols = 7;
    ln_p p = {rows, cols, tu_zeros(C, rows), tu_zeros(C, rows)};
    float *x = malloc(rows * cols * 4), *w = malloc(cols * 4), *b = malloc(cols * 4);
    tu_fill_uniform(x, rows * cols, -2, 2);
    tu_fill_uniform(w, cols, 0.5f, 1.5f);
    tu_fill_uniform(b, cols, -1, 1);
    gc g;
    gc_init(&g, rows * cols, ln_fwd, &p);
    gc_input(&g, x, rows * cols);
    gc_input(&g, w, cols);
    gc_input(&g, b, cols);
    gc_loss(&g);
    dev_buf *dy = tu_buf(C, g.r, rows * cols), *dx = tu_zeros(C, rows * cols), *dw = tu_zeros(C, cols),
            *db = tu_zeros(C, cols);
    tu_must(dev_layernorm_backward(C, V(dx), V(dw), V(db), V(dy), V(g.inb[0]), V(g.inb[1]), V(p.mean), V(p.rstd),
                                   rows, cols),
            &E, "layernorm_backward");
    float *hx = tu_get(C, dx, rows * cols), *hw = tu_get(C, dw, cols), *hb = tu_get(C, db, cols);
    gc_check(&g, 0, hx, NL_EPS, NL_ATOL, NL_RTOL, "layernorm_backward dx [3,7] vs finite differences");
    gc_check(&g, 1, hw, NL_EPS, NL_ATOL, NL_RTOL, "layernorm_backward dw [3,7] vs finite differences");
    gc_check(&g, 2, hb, NL_EPS, NL_ATOL, NL_RTOL, "layernorm_backward db [3,7] vs finite differences");
    free(hx);
    free(hw);
    free(hb);
    dev_free(C, dy);
    dev_free(C, dx);
    dev_free(C, dw);
    dev_free(C, db);
    dev_free(C, p.mean);
    dev_free(C, p.rstd);
    gc_free(&g);
    free(x);
    free(w);
    free(b);
}

/* ---- gelu ---------------------------------------------------------------------------- */

static void gelu_fwd(gc *g) {
    tu_must(dev_gelu_forward(C, V(g->outb), V(g->inb[0]), g->nout), &E, "gelu_forward");
}

static void check_gelu(void) {
    const int n = 29;
    float *x = malloc(n * 4);
    tu_fill_uniform(x, n, -4, 4);
    gc g;
    gc_init(&g, n, gelu_fwd, NULL);
    gc_input(&g, x, n);
    dev_buf *dy = tu_buf(C, g.r, n), *dx = tu_zeros(C, n);
    tu_must(dev_gelu_backward(C, V(dx), V(dy), V(g.inb[0]), n), &E, "gelu_backward");
    float *h = tu_get(C, dx, n);
    gc_check(&g, 0, h, NL_EPS, NL_ATOL, NL_RTOL, "gelu_backward n=29 x in [-4, 4] vs finite differences");
    free(h);
    dev_free(C, dy);
    dev_free(C, dx);
    gc_free(&g);
    free(x);
}

/* ---- softmax ------------------------------------------------------------------------- */

static void softmax_fwd(gc *g) {
    tu_must(dev_softmax_forward(C, g->param, V(g->outb), V(g->inb[0])), &E, "softmax_forward");
}

static void check_softmax(void) {
    const int B = 3, H = 2, R = 3, Cn = 7;
    const int n = B * H * R * Cn;
    float mask[3 * 7];
    for (int i = 0; i < B * Cn; i++) mask[i] = 1.0f;
    mask[1 * Cn + 2] = mask[1 * Cn + 5] = 0.0f;          /* padding in example 1 */
    for (int j = 0; j < Cn; j++) mask[2 * Cn + j] = 0.0f; /* example 2 all padding */
    dev_buf *mb = tu_buf(C, mask, B * Cn);
    dev_softmax s = {B, H, R, Cn, 0.7f, V(mb)};
    float *x = malloc(n * 4);
    tu_fill_uniform(x, n, -2, 2);
    gc g;
    gc_init(&g, n, softmax_fwd, &s);
    gc_input(&g, x, n);
    gc_loss(&g);
    dev_buf *dy = tu_buf(C, g.r, n), *dx = tu_zeros(C, n);
    tu_must(dev_softmax_backward(C, &s, V(dx), V(dy), V(g.outb)), &E, "softmax_backward");
    float *h = tu_get(C, dx, n);
    gc_check(&g, 0, h, NL_EPS, NL_ATOL, NL_RTOL,
             "softmax_backward [3,2,3,7] scale=0.7 key_mask (one example all masked) vs finite differences");
    free(h);
    dev_free(C, dy);
    dev_free(C, dx);
    dev_free(C, mb);
    gc_free(&g);
    free(x);
}

/* ---- gather / scatter ---------------------------------------------------------------- */

typedef struct { int n, cols, rows; dev_buf *idx; } gather_p;

static void gather_fwd(gc *g) {
    const gather_p *p = g->param;
    tu_must(dev_gather_rows(C, V(g->outb), V(g->inb[0]), V(p->idx), p->n, p->cols, p->rows, 0.0f), &E,
            "gather_rows");
}

static void check_gather(void) {
    const int rows = 7, cols = 5, n = 11;
    int32_t idx[11] = {3, 0, 3, 6, 1, 3, 0, 2, 6, 6, 3}; /* repeats; row 4 and 5 never used */
    gather_p p = {n, cols, rows, tu_buf(C, idx, n)};
    float *table = malloc(rows * cols * 4);
    tu_fill_uniform(table, rows * cols, -1, 1);
    gc g;
    gc_init(&g, n * cols, gather_fwd, &p);
    gc_input(&g, table, rows * cols);
    dev_rows_plan plan;
    tu_must(dev_rows_plan_build(C, idx, n, rows, &plan), &E, "dev_rows_plan_build");
    dev_buf *src = tu_buf(C, g.r, n * cols), *dst = tu_zeros(C, rows * cols);
    tu_must(dev_scatter_add_rows(C, V(dst), V(src), &plan, cols), &E, "scatter_add_rows");
    float *h = tu_get(C, dst, rows * cols);
    gc_check(&g, 0, h, LIN_EPS, LIN_ATOL, LIN_RTOL,
             "scatter_add_rows as the gradient of gather_rows (7x5 table, 11 repeated indices)");
    free(h);
    dev_rows_plan_free(C, &plan);
    dev_free(C, src);
    dev_free(C, dst);
    dev_free(C, p.idx);
    gc_free(&g);
    free(table);
}

/* ---- dropout ------------------------------------------------------------------------- */

static void dropout_fwd(gc *g) {
    tu_must(dev_dropout_forward(C, V(g->outb), V(g->inb[0]), g->nout, 0.4f, 99, 12345), &E, "dropout_forward");
}

static void check_dropout(void) {
    const int n = 41;
    float *x = malloc(n * 4);
    tu_fill_uniform(x, n, -1, 1);
    gc g;
    gc_init(&g, n, dropout_fwd, NULL);
    gc_input(&g, x, n);
    /* the backward is the same dropout (seed, offset) of dy */
    dev_buf *dy = tu_buf(C, g.r, n), *dx = tu_zeros(C, n);
    tu_must(dev_dropout_forward(C, V(dx), V(dy), n, 0.4f, 99, 12345), &E, "dropout of dy");
    float *h = tu_get(C, dx, n);
    int zeros = 0;
    for (int i = 0; i < n; i++) zeros += h[i] == 0.0f;
    tu_check(zeros > 0 && zeros < n, "dropout p=0.4 n=41 drops some but not all (%d dropped)", zeros);
    gc_check(&g, 0, h, LIN_EPS, LIN_ATOL, LIN_RTOL, "dropout's backward (dropout of dy) n=41 p=0.4 vs finite differences");
    free(h);
    dev_free(C, dy);
    dev_free(C, dx);
    gc_free(&g);
    free(x);
}

/* ---- losses -------------------------------------------------------------------------- */

typedef struct { int rows, vocab; dev_buf *target; } ce_p;

static void ce_fwd(gc *g) {
    const ce_p *p = g->param;
    tu_must(dev_crossentropy_forward(C, V(g->outb), V(g->inb[0]), V(p->target), p->rows, p->vocab), &E,
            "crossentropy_forward");
}

static void check_crossentropy(void) {
    const int rows = 4, vocab = 9;
    const float scale = 0.3f;
    int32_t target[4] = {2, -1, 8, 0};
    ce_p p = {rows, vocab, tu_buf(C, target, rows)};
    float *x = malloc(rows * vocab * 4);
    tu_fill_uniform(x, rows * vocab, -3, 3);
    gc g;
    gc_init(&g, rows, ce_fwd, &p);
    for (int i = 0; i < rows; i++) g.r[i] = scale; /* the backward takes one scale for all rows */
    gc_input(&g, x, rows * vocab);
    dev_buf *d = tu_zeros(C, rows * vocab);
    tu_must(dev_crossentropy_backward(C, V(d), V(g.inb[0]), V(p.target), rows, vocab, scale), &E,
            "crossentropy_backward");
    float *h = tu_get(C, d, rows * vocab);
    gc_check(&g, 0, h, NL_EPS, NL_ATOL, NL_RTOL,
             "crossentropy_backward rows=4 vocab=9 (one ignored) scale=0.3 vs finite differences");
    free(h);
    dev_free(C, d);
    dev_free(C, p.target);
    gc_free(&g);
    free(x);
}

static void bce_fwd(gc *g) {
    tu_must(dev_bce_forward(C, V(g->outb), V(g->inb[0]), V(g->inb[1]), g->nout), &E, "bce_forward");
}

static void check_bce(void) {
    const int n = 23;
    const float scale = 0.5f;
    float *x = malloc(n * 4), *y = malloc(n * 4);
    tu_fill_uniform(x, n, -5, 5);
    tu_fill_uniform(y, n, 0, 1);
    y[0] = 0;
    y[1] = 1;
    gc g;
    gc_init(&g, n, bce_fwd, NULL);
    for (int i = 0; i < n; i++) g.r[i] = scale;
    gc_input(&g, x, n);
    gc_input(&g, y, n);
    dev_buf *d = tu_zeros(C, n);
    tu_must(dev_bce_backward(C, V(d), V(g.inb[0]), V(g.inb[1]), n, scale), &E, "bce_backward");
    float *h = tu_get(C, d, n);
    gc_check(&g, 0, h, NL_EPS, NL_ATOL, NL_RTOL, "bce_backward n=23 scale=0.5 vs finite differences");
    free(h);
    dev_free(C, d);
    gc_free(&g);
    free(x);
    free(y);
}

/* ---- label attention ----------------------------------------------------------------- */

typedef struct { dev_label_attention a; } la_p;

static void la_fwd(gc *g) {
    const la_p *p = g->param;
    dev_label_attention a = p->a;
    a.h = V(g->inb[0]);
    a.l = V(g->inb[1]);
    a.out = V(g->outb);
    tu_must(dev_label_attention_forward(C, &a), &E, "label_attention_forward");
}

/* Smallest margin between a word's best label score and its second best. */
static double la_margin(const float *h, const float *l, int BT, int K, int D) {
    double gap = INFINITY;
    for (int t = 0; t < BT; t++) {
        double best = -2, second = -2;
        for (int k = 0; k < K; k++) {
            double dot = 0, nh = 0, nl = 0;
            for (int c = 0; c < D; c++) {
                dot += (double)h[t * D + c] * l[k * D + c];
                nh += (double)h[t * D + c] * h[t * D + c];
                nl += (double)l[k * D + c] * l[k * D + c];
            }
            double sim = dot / sqrt(nh * nl);
            if (sim > best) {
                second = best;
                best = sim;
            } else if (sim > second) {
                second = sim;
            }
        }
        if (best - second < gap) gap = best - second;
    }
    return gap;
}

static void check_label_attention(void) {
    const int B = 3, T = 5, K = 4, D = 6, BT = B * T;
    float *h = malloc(BT * D * 4), *l = malloc(K * D * 4), mask[15];
    for (int attempt = 0; attempt < 1000; attempt++) {
        tu_fill_uniform(h, BT * D, -1, 1);
        tu_fill_uniform(l, K * D, -1, 1);
        if (la_margin(h, l, BT, K, D) > 0.05) break;
    }
    tu_check(la_margin(h, l, BT, K, D) > 0.05, "label attention gradcheck data: argmax margin %g > 0.05",
             la_margin(h, l, BT, K, D));
    for (int i = 0; i < BT; i++) mask[i] = 1.0f;
    mask[1 * T + 3] = 0.0f;                           /* a masked word */
    for (int t = 0; t < T; t++) mask[2 * T + t] = 0.0f; /* an all-masked example */
    dev_buf *mb = tu_buf(C, mask, BT), *wb = tu_zeros(C, BT), *amb = tu_zeros(C, BT);
    la_p p;
    p.a = (dev_label_attention){B, T, K, D, {NULL, 0}, {NULL, 0}, V(mb), {NULL, 0}, V(wb), V(amb)};
    gc g;
    gc_init(&g, B * D, la_fwd, &p);
    gc_input(&g, h, BT * D);
    gc_input(&g, l, K * D);
    gc_loss(&g);
    dev_label_attention a = p.a;
    a.h = V(g.inb[0]);
    a.l = V(g.inb[1]);
    a.out = V(g.outb);
    dev_buf *dout = tu_buf(C, g.r, B * D), *dh = tu_zeros(C, BT * D), *dl = tu_zeros(C, K * D);
    tu_must(dev_label_attention_backward(C, &a, V(dh), V(dl), V(dout)), &E, "label_attention_backward");
    float *hh = tu_get(C, dh, BT * D), *hl = tu_get(C, dl, K * D);
    gc_check(&g, 0, hh, NL_EPS, NL_ATOL, NL_RTOL,
             "label_attention_backward dh [3,5,6] x 4 labels (masked word, all-masked example) vs finite differences");
    gc_check(&g, 1, hl, NL_EPS, NL_ATOL, NL_RTOL, "label_attention_backward dl [3,5,6] x 4 labels vs finite differences");
    free(hh);
    free(hl);
    dev_free(C, mb);
    dev_free(C, wb);
    dev_free(C, amb);
    dev_free(C, dout);
    dev_free(C, dh);
    dev_free(C, dl);
    gc_free(&g);
    free(h);
    free(l);
}

/* ---- bias ---------------------------------------------------------------------------- */

typedef struct { int rows, cols; } bias_p;

static void bias_fwd(gc *g) {
    const bias_p *p = g->param;
    /* y = y0 + bias in place: start from a copy of y0 in the output buffer */
    tu_must(dev_copy(C, V(g->outb), V(g->inb[0]), g->nout), &E, "copy");
    tu_must(dev_bias_add(C, V(g->outb), V(g->inb[1]), p->rows, p->cols), &E, "bias_add");
}

static void check_bias(void) {
    const int rows = 5, cols = 7;
    bias_p p = {rows, cols};
    float *y0 = malloc(rows * cols * 4), *b = malloc(cols * 4);
    tu_fill_uniform(y0, rows * cols, -1, 1);
    tu_fill_uniform(b, cols, -1, 1);
    gc g;
    gc_init(&g, rows * cols, bias_fwd, &p);
    gc_input(&g, y0, rows * cols);
    gc_input(&g, b, cols);
    dev_buf *dy = tu_buf(C, g.r, rows * cols), *db = tu_zeros(C, cols);
    tu_must(dev_bias_backward(C, V(db), V(dy), rows, cols), &E, "bias_backward");
    float *h = tu_get(C, db, cols);
    gc_check(&g, 1, h, LIN_EPS, LIN_ATOL, LIN_RTOL, "bias_backward [5,7] vs finite differences of bias_add");
    gc_check(&g, 0, g.r, LIN_EPS, LIN_ATOL, LIN_RTOL, "bias_add passes dy through to y (identity)");
    free(h);
    dev_free(C, dy);
    dev_free(C, db);
    gc_free(&g);
    free(y0);
    free(b);
}

/* ---- matmul -------------------------------------------------------------------------- */

typedef struct { int m, n, k, tb; } mm_p;

static void mm_fwd(gc *g) {
    const mm_p *p = g->param;
    /* C = A op(B): A m x k; B k x n, or n x k with tb (a linear layer's y = x W^T) */
    dev_gemm gm = {0, p->tb, p->m, p->n, p->k, 1.0f, 0.0f, V(g->inb[0]), V(g->inb[1]), V(g->outb), p->k,
                   p->tb ? p->k : p->n, p->n, 0, 0, 0, 1, {NULL, 0}, 0, 0, 0, 0};
    tu_must(dev_matmul(C, &gm), &E, "matmul");
}

static void check_matmul(int tb) {
    const int m = 3, n = 5, k = 4;
    mm_p p = {m, n, k, tb};
    float *a = malloc(m * k * 4), *b = malloc(k * n * 4);
    tu_fill_uniform(a, m * k, -1, 1);
    tu_fill_uniform(b, k * n, -1, 1);
    gc g;
    gc_init(&g, m * n, mm_fwd, &p);
    gc_input(&g, a, m * k);
    gc_input(&g, b, k * n);
    dev_buf *dc = tu_buf(C, g.r, m * n), *da = tu_zeros(C, m * k), *db = tu_zeros(C, k * n);
    /* dA = dC op(B)^T; with tb: dA = dC B (B n x k) */
    dev_gemm ga = {0, !tb, m, k, n, 1.0f, 1.0f, V(dc), V(g.inb[1]), V(da), n, tb ? k : n, k, 0, 0, 0, 1, {NULL, 0}, 0, 0, 0, 0};
    /* dB = A^T dC (k x n); with tb: dB = dC^T A (n x k) */
    dev_gemm gb = tb ? (dev_gemm){1, 0, n, k, m, 1.0f, 1.0f, V(dc), V(g.inb[0]), V(db), n, k, k, 0, 0, 0, 1, {NULL, 0}, 0, 0, 0, 0}
                     : (dev_gemm){1, 0, k, n, m, 1.0f, 1.0f, V(g.inb[0]), V(dc), V(db), k, n, n, 0, 0, 0, 1, {NULL, 0}, 0, 0, 0, 0};
    tu_must(dev_matmul(C, &ga), &E, "matmul dA");
    tu_must(dev_matmul(C, &gb), &E, "matmul dB");
    float *ha = tu_get(C, da, m * k), *hb = tu_get(C, db, k * n);
    char what[160];
    snprintf(what, sizeof what, "matmul backward dA = dC %s vs finite differences (3x5x4, tB=%d)",
             tb ? "B" : "B^T", tb);
    gc_check(&g, 0, ha, LIN_EPS, LIN_ATOL, LIN_RTOL, what);
    snprintf(what, sizeof what, "matmul backward dB = %s vs finite differences (3x5x4, tB=%d)",
             tb ? "dC^T A" : "A^T dC", tb);
    gc_check(&g, 1, hb, LIN_EPS, LIN_ATOL, LIN_RTOL, what);
    free(ha);
    free(hb);
    dev_free(C, dc);
    dev_free(C, da);
    dev_free(C, db);
    gc_free(&g);
    free(a);
    free(b);
}

int main(void) {
    int rc = tu_open("cpu", &E, &C);
    if (rc) return rc;
    tu_seed(77);
    check_layernorm();
    check_gelu();
    check_softmax();
    check_gather();
    check_dropout();
    check_crossentropy();
    check_bce();
    check_label_attention();
    check_bias();
    check_matmul(0);
    check_matmul(1);
    dev_close(C);
    return tu_finish();
}
