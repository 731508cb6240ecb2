/* ctest: per-backend */
/*
 * The fused ops (add_layernorm, bias_gelu; forward and backward) on the backend named in argv[1]
 * against the CPU oracle, and against the unfused sequence of ops they replace run on the same
 * backend (the reference path the model takes with ctx->unfused): odd shapes (one row, one
 * column, rows past one column-sum chunk and past OpenCL's single-pass limit, columns past one
 * work group), dropout on and off, with and without a bias, in place (sum = x, dx = dy) and not.
 * Then one BERT encoder's forward and backward with the fused ops and with the reference path,
 * which must agree.
 *
 * Tolerances: one LayerNorm over `cols` values and GELU's transcendental, as tests/test_ops.c
 * (atol 1e-5 + 1e-6 * cols, rtol 1e-4); column sums over `rows` rows get 1e-6 * rows more. A
 * wrong dropout index or a missing term is off by ~1e-1.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/platform.h"
#include "testutil.h"

static mltc_error E;

typedef struct shape {
    int rows, cols;
} shape;

static const shape SHAPES[] = {{1, 1}, {3, 7}, {70, 33}, {300, 129}};

/* got (from a device) against want (from another run), both n floats. */
static int near(const char *what, const float *got, const float *want, size_t n, double atol) {
    double *w = malloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++) w[i] = want[i];
    int ok = tu_close(what, got, w, n, atol, 1e-4);
    free(w);
    return ok;
}

/* ---- add_layernorm ------------------------------------------------------------------------ */

typedef struct aln_host {
    int rows, cols, has_bias, in_place;
    float p;
    float *x, *bias, *res, *w, *b, *dy, *dw0, *db0, *dbias0;
} aln_host;

/* What one run gives back. */
typedef struct aln_out {
    float *sum, *y, *mean, *rstd, *dsum, *dx, *dw, *db, *dbias;
} aln_out;

static void aln_out_free(aln_out *o) {
    free(o->sum), free(o->y), free(o->mean), free(o->rstd), free(o->dsum), free(o->dx), free(o->dw), free(o->db);
    free(o->dbias);
}

/* The forward and backward on ctx, fused or as the reference sequence of unfused ops. */
static int aln_run(dev_ctx *ctx, const aln_host *h, int fused, aln_out *o) {
    size_t n = (size_t)h->rows * h->cols, r = (size_t)h->rows, k = (size_t)h->cols;
    dev_buf *x = tu_buf(ctx, h->x, n), *bias = tu_buf(ctx, h->bias, k), *res = tu_buf(ctx, h->res, n);
    dev_buf *w = tu_buf(ctx, h->w, k), *b = tu_buf(ctx, h->b, k), *dy = tu_buf(ctx, h->dy, n);
    dev_buf *sum = h->in_place ? x : tu_zeros(ctx, n), *y = tu_zeros(ctx, n), *mean = tu_zeros(ctx, r);
    dev_buf *rstd = tu_zeros(ctx, r), *dsum = tu_zeros(ctx, n), *dx = h->p > 0.0f ? tu_zeros(ctx, n) : dsum;
    dev_buf *dw = tu_buf(ctx, h->dw0, k), *db = tu_buf(ctx, h->db0, k), *dbias = tu_buf(ctx, h->dbias0, k);
    uint64_t seed = 0x5eed1234abcdull, offset = 1000003;
    dev_add_layernorm f = {h->rows, h->cols, 1e-5f, tu_v(x), h->has_bias ? tu_v(bias) : (dev_view){NULL, 0},
                           tu_v(res), h->p, seed, offset, tu_v(w), tu_v(b), tu_v(sum), tu_v(y), tu_v(mean),
                           tu_v(rstd)};
    dev_add_layernorm_grads g = {tu_v(dy), tu_v(dsum), tu_v(dx), tu_v(dw), tu_v(db),
                                 h->has_bias ? tu_v(dbias) : (dev_view){NULL, 0}};
    mltc_status st;
    if (fused) {
        st = dev_add_layernorm_forward(ctx, &f);
        if (st == MLTC_OK) st = dev_add_layernorm_backward(ctx, &f, &g);
    } else {
        st = h->in_place ? MLTC_OK : dev_copy(ctx, f.sum, f.x, n);
        if (st == MLTC_OK && h->has_bias) st = dev_bias_add(ctx, f.sum, f.bias, h->rows, h->cols);
        if (st == MLTC_OK && h->p > 0.0f) st = dev_dropout_forward(ctx, f.sum, f.sum, n, h->p, seed, offset);
        if (st == MLTC_OK) st = dev_axpby(ctx, f.sum, 1.0f, f.sum, 1.0f, f.res, n);
        if (st == MLTC_OK) st = dev_layernorm_forward(ctx, f.y, f.mean, f.rstd, f.sum, f.w, f.b, h->rows, h->cols, f.eps);
        if (st == MLTC_OK)
            st = dev_layernorm_backward(ctx, g.dsum, g.dw, g.db, g.dy, f.sum, f.w, f.mean, f.rstd, h->rows, h->cols);
        if (st == MLTC_OK && h->p > 0.0f) st = dev_dropout_forward(ctx, g.dx, g.dsum, n, h->p, seed, offset);
        if (st == MLTC_OK && h->has_bias) st = dev_bias_backward(ctx, g.dbias, g.dx, h->rows, h->cols);
    }
    int ok = tu_status(st, MLTC_OK, &E, fused ? "add_layernorm (fused)" : "add_layernorm (reference)");
    if (ok) {
        o->sum = tu_get(ctx, sum, n), o->y = tu_get(ctx, y, n), o->mean = tu_get(ctx, mean, r);
        o->rstd = tu_get(ctx, rstd, r), o->dsum = tu_get(ctx, dsum, n), o->dx = tu_get(ctx, dx, n);
        o->dw = tu_get(ctx, dw, k), o->db = tu_get(ctx, db, k), o->dbias = tu_get(ctx, dbias, k);
    }
    dev_buf *all[] = {x, bias, res, w, b, dy, y, mean, rstd, dsum, dw, db, dbias};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) dev_free(ctx, all[i]);
    if (sum != x) dev_free(ctx, sum);
    if (dx != dsum) dev_free(ctx, dx);
    return ok;
}

static void aln_compare(const char *vs, const aln_host *h, const aln_out *got, const aln_out *want) {
    char what[160];
    size_t n = (size_t)h->rows * h->cols, r = (size_t)h->rows, k = (size_t)h->cols;
    double row_tol = 1e-5 + 1e-6 * h->cols, col_tol = row_tol + 1e-6 * h->rows;
#define CMP(field, count, tol)                                                                                    \
    snprintf(what, sizeof what, "add_layernorm %dx%d p %g bias %d in place %d, %s vs %s", h->rows, h->cols, h->p, \
             h->has_bias, h->in_place, #field, vs);                                                               \
    near(what, got->field, want->field, count, tol)
    CMP(sum, n, 1e-6);
    CMP(y, n, row_tol);
    CMP(mean, r, row_tol);
    CMP(rstd, r, row_tol);
    CMP(dsum, n, row_tol);
    CMP(dx, n, row_tol);
    CMP(dw, k, col_tol);
    CMP(db, k, col_tol);
    CMP(dbias, k, col_tol);
#undef CMP
}

static void test_add_layernorm(dev_ctx *dev, dev_ctx *cpu) {
    for (size_t s = 0; s < sizeof SHAPES / sizeof *SHAPES; s++)
        for (int variant = 0; variant < 4; variant++) {
            aln_host h = {.rows = SHAPES[s].rows, .cols = SHAPES[s].cols, .has_bias = variant != 1,
                          .in_place = variant == 2, .p = variant >= 2 ? 0.3f : 0.0f};
            printf("add_layernorm %dx%d, p %g, bias %d, in place %d\n", h.rows, h.cols, h.p, h.has_bias, h.in_place);
            size_t n = (size_t)h.rows * h.cols, k = (size_t)h.cols;
            float **arrays[] = {&h.x, &h.res, &h.dy}, **params[] = {&h.bias, &h.w, &h.b, &h.dw0, &h.db0, &h.dbias0};
            for (int i = 0; i < 3; i++) tu_fill_uniform(*arrays[i] = malloc(n * 4), n, -2.0f, 2.0f);
            for (int i = 0; i < 6; i++) tu_fill_uniform(*params[i] = malloc(k * 4), k, -1.0f, 1.0f);
            aln_out fused = {0}, ref = {0}, oracle = {0};
            if (aln_run(dev, &h, 1, &fused) && aln_run(dev, &h, 0, &ref) && aln_run(cpu, &h, 1, &oracle)) {
                aln_compare("the cpu oracle", &h, &fused, &oracle);
                aln_compare("the unfused ops", &h, &fused, &ref);
            }
            aln_out_free(&fused), aln_out_free(&ref), aln_out_free(&oracle);
            for (int i = 0; i < 3; i++) free(*arrays[i]);
            for (int i = 0; i < 6; i++) free(*params[i]);
        }
}

/* ---- bias_gelu ---------------------------------------------------------------------------- */

typedef struct bg_out {
    float *pre, *y, *dx, *dbias;
} bg_out;

static int bg_run(dev_ctx *ctx, int rows, int cols, int in_place, int fused, const float *pre0, const float *bias0,
                  const float *dy0, const float *dbias0, bg_out *o) {
    size_t n = (size_t)rows * cols, k = (size_t)cols;
    dev_buf *pre = tu_buf(ctx, pre0, n), *bias = tu_buf(ctx, bias0, k), *y = tu_zeros(ctx, n);
    dev_buf *dy = tu_buf(ctx, dy0, n), *dx = in_place ? dy : tu_zeros(ctx, n), *dbias = tu_buf(ctx, dbias0, k);
    mltc_status st;
    if (fused) {
        st = dev_bias_gelu_forward(ctx, tu_v(y), tu_v(pre), tu_v(bias), rows, cols);
        if (st == MLTC_OK) st = dev_bias_gelu_backward(ctx, tu_v(dx), tu_v(dbias), tu_v(dy), tu_v(pre), rows, cols);
    } else {
        st = dev_bias_add(ctx, tu_v(pre), tu_v(bias), rows, cols);
        if (st == MLTC_OK) st = dev_gelu_forward(ctx, tu_v(y), tu_v(pre), n);
        if (st == MLTC_OK) st = dev_gelu_backward(ctx, tu_v(dx), tu_v(dy), tu_v(pre), n);
        if (st == MLTC_OK) st = dev_bias_backward(ctx, tu_v(dbias), tu_v(dx), rows, cols);
    }
    int ok = tu_status(st, MLTC_OK, &E, fused ? "bias_gelu (fused)" : "bias_gelu (reference)");
    if (ok)
        o->pre = tu_get(ctx, pre, n), o->y = tu_get(ctx, y, n), o->dx = tu_get(ctx, dx, n),
        o->dbias = tu_get(ctx, dbias, k);
    dev_free(ctx, pre), dev_free(ctx, bias), dev_free(ctx, y), dev_free(ctx, dy), dev_free(ctx, dbias);
    if (dx != dy) dev_free(ctx, dx);
    return ok;
}

static void bg_compare(const char *vs, int rows, int cols, int in_place, const bg_out *got, const bg_out *want) {
    char what[160];
    size_t n = (size_t)rows * cols;
    double tol = 1e-5, col_tol = 1e-5 + 1e-6 * rows;
#define CMP(field, count, t)                                                                                      \
    snprintf(what, sizeof what, "bias_gelu %dx%d in place %d, %s vs %s", rows, cols, in_place, #field, vs);        \
    near(what, got->field, want->field, count, t)
    CMP(pre, n, 1e-6);
    CMP(y, n, tol);
    CMP(dx, n, tol);
    CMP(dbias, (size_t)cols, col_tol);
#undef CMP
}

static void test_bias_gelu(dev_ctx *dev, dev_ctx *cpu) {
    for (size_t s = 0; s < sizeof SHAPES / sizeof *SHAPES; s++)
        for (int in_place = 0; in_place < 2; in_place++) {
            int rows = SHAPES[s].rows, cols = SHAPES[s].cols;
            printf("bias_gelu %dx%d, in place %d\n", rows, cols, in_place);
            size_t n = (size_t)rows * cols, k = (size_t)cols;
            float *pre = malloc(n * 4), *dy = malloc(n * 4), *bias = malloc(k * 4), *dbias = malloc(k * 4);
            tu_fill_uniform(pre, n, -3.0f, 3.0f), tu_fill_uniform(dy, n, -1.0f, 1.0f);
            tu_fill_uniform(bias, k, -1.0f, 1.0f), tu_fill_uniform(dbias, k, -1.0f, 1.0f);
            bg_out fused = {0}, ref = {0}, oracle = {0};
            if (bg_run(dev, rows, cols, in_place, 1, pre, bias, dy, dbias, &fused) &&
                bg_run(dev, rows, cols, in_place, 0, pre, bias, dy, dbias, &ref) &&
                bg_run(cpu, rows, cols, in_place, 1, pre, bias, dy, dbias, &oracle)) {
                bg_compare("the cpu oracle", rows, cols, in_place, &fused, &oracle);
                bg_compare("the unfused ops", rows, cols, in_place, &fused, &ref);
            }
            bg_out *outs[] = {&fused, &ref, &oracle};
            for (int i = 0; i < 3; i++) free(outs[i]->pre), free(outs[i]->y), free(outs[i]->dx), free(outs[i]->dbias);
            free(pre), free(dy), free(bias), free(dbias);
        }
}

/* ---- bad calls ---------------------------------------------------------------------------- */

static void test_bad_calls(dev_ctx *dev) {
    dev_buf *a = tu_zeros(dev, 12), *k = tu_zeros(dev, 4);
    dev_add_layernorm f = {3, 4, 1e-5f, tu_v(a), {NULL, 0}, tu_v(a), 0.5f, 1, 0, tu_v(k), tu_v(k), tu_v(a),
                           tu_v(a), tu_v(k), tu_v(k)};
    dev_add_layernorm_grads g = {tu_v(a), tu_v(a), tu_v(a), tu_v(k), tu_v(k), {NULL, 0}};
    tu_status(dev_add_layernorm_backward(dev, &f, &g), MLTC_ERR_INVALID_ARGUMENT, &E,
              "add_layernorm_backward with dx = dsum under dropout");
    tu_check(strstr(E.msg, "dsum") != NULL, "the message names dsum: %s", E.msg);
    f.p = 1.0f;
    tu_status(dev_add_layernorm_forward(dev, &f), MLTC_ERR_INVALID_ARGUMENT, &E, "add_layernorm_forward with p 1");
    f.p = 0.0f, f.rows = 4;
    tu_status(dev_add_layernorm_forward(dev, &f), MLTC_ERR_INVALID_ARGUMENT, &E, "add_layernorm_forward past x");
    tu_check(strstr(E.msg, "add_layernorm_forward") != NULL, "the message names the op: %s", E.msg);
    tu_status(dev_bias_gelu_forward(dev, tu_v(a), tu_v(a), tu_v(k), 3, 5), MLTC_ERR_INVALID_ARGUMENT, &E,
              "bias_gelu_forward with a short bias");
    dev_free(dev, a), dev_free(dev, k);
}

int main(int argc, char **argv) {
    const char *backend = argc > 1 ? argv[1] : "cpu";
    dev_ctx *dev = NULL, *cpu = NULL;
    int rc = tu_open(backend, &E, &dev);
    if (rc) return rc;
    if (tu_open("cpu", &E, &cpu)) return 1;
    tu_seed(23);
    test_add_layernorm(dev, cpu);
    test_bias_gelu(dev, cpu);
    test_bad_calls(dev);
    /* MLTC_UNFUSED=1 selects the reference path for a context opened after it is set. */
    plat_setenv("MLTC_UNFUSED", "1");
    dev_ctx *ref = NULL;
    if (!tu_open("cpu", &E, &ref)) {
        tu_check(ref->unfused == 1 && dev->unfused == 0 && cpu->unfused == 0,
                 "MLTC_UNFUSED=1: unfused %d (set after opening: %d, %d)", ref->unfused, dev->unfused, cpu->unfused);
        dev_close(ref);
    }
    plat_setenv("MLTC_UNFUSED", NULL);
    dev_close(cpu);
    dev_close(dev);
    return tu_finish();
}
