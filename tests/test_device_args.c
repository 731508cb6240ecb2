/* ctest: per-backend */
/*
 * Bad arguments to every dev_* entry point return MLTC_ERR_INVALID_ARGUMENT with a message
 * that names the op, and never reach (or crash) the backend: NULL buffers and parameter
 * structs, views past the end of their buffer, non-positive sizes, bad leading dimensions,
 * bad permutations, probabilities out of range, beta not 0/1. Afterwards the context still
 * works. Bad device specs give clear errors.
 *
 * Size arithmetic that overflows size_t (a product of four ints, a huge batch stride) is
 * checked against a stub backend whose ops only record that they were called, so a missing
 * check shows up as a failure instead of a wild memory access.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static dev_ctx *C;
static mltc_error E;

static void expect_bad(mltc_status st, const char *op, const char *desc) {
    if (!tu_check(st == MLTC_ERR_INVALID_ARGUMENT, "%s (%s): status '%s', expected 'invalid argument' (message: %s)",
                  op, desc, mltc_status_string(st), E.msg))
        return;
    tu_check(E.msg[0] != '\0' && strstr(E.msg, op) != NULL, "%s (%s): message '%s' does not name the op", op, desc,
             E.msg);
}

#define BAD(op, desc, call)                                                                                       \
    do {                                                                                                          \
        err_clear(&E);                                                                                            \
        expect_bad((call), op, desc);                                                                             \
    } while (0)

#define OK(desc, call)                                                                                            \
    do {                                                                                                          \
        err_clear(&E);                                                                                            \
        mltc_status st_ = (call);                                                                                 \
        tu_check(st_ == MLTC_OK, "%s: status '%s' (message: %s)", desc, mltc_status_string(st_), E.msg);         \
    } while (0)

static const dev_view NOBUF = {NULL, 0};

/* ---- memory ---------------------------------------------------------------------------- */

static void memory_args(dev_buf *b16) {
    dev_buf *out = NULL;
    float host[32] = {0};
    BAD("alloc", "0 bytes", dev_alloc(C, 0, &out));
    BAD("alloc", "6 bytes (not a multiple of 4)", dev_alloc(C, 6, &out));
    BAD("alloc", "out NULL", dev_alloc(C, 64, NULL));
    BAD("upload", "NULL buffer", dev_upload(C, NULL, 0, host, 4));
    BAD("upload", "NULL host pointer", dev_upload(C, b16, 0, NULL, 4));
    BAD("upload", "past the end", dev_upload(C, b16, 4, host, 64));
    BAD("upload", "offset past the end", dev_upload(C, b16, 68, host, 4));
    BAD("download", "NULL buffer", dev_download(C, NULL, 0, host, 4));
    BAD("download", "NULL host pointer", dev_download(C, b16, 0, NULL, 4));
    BAD("download", "past the end", dev_download(C, b16, 8, host, 60));
    BAD("copy", "NULL dst", dev_copy(C, NOBUF, (dev_view){b16, 0}, 4));
    BAD("copy", "NULL src", dev_copy(C, (dev_view){b16, 0}, NOBUF, 4));
    BAD("copy", "src past the end", dev_copy(C, (dev_view){b16, 0}, (dev_view){b16, 13}, 4));
    BAD("copy", "dst offset past the end", dev_copy(C, (dev_view){b16, 17}, (dev_view){b16, 0}, 1));
    BAD("fill", "NULL buffer", dev_fill(C, NOBUF, 4, 1.0f));
    BAD("fill", "past the end", dev_fill(C, (dev_view){b16, 1}, 16, 1.0f));
    BAD("fill", "huge n", dev_fill(C, (dev_view){b16, 1}, (size_t)-1, 1.0f));
}

/* ---- matmul ---------------------------------------------------------------------------- */

static void matmul_args(dev_buf *b16, dev_buf *b256) {
    /* a valid 3x4x5 problem: A 3x5, B 5x4, C 3x4 */
    dev_gemm ok = {0, 0, 3, 4, 5, 1.0f, 0.0f, {b256, 0}, {b256, 64}, {b256, 128}, 5, 4, 4, 0, 0, 0, 1, {NULL, 0}, 0, 0, 0, 0};
    dev_gemm g;
    OK("matmul: the valid base case", dev_matmul(C, &ok));
    BAD("matmul", "NULL parameters", dev_matmul(C, NULL));
    g = ok, g.m = 0;
    BAD("matmul", "m = 0", dev_matmul(C, &g));
    g = ok, g.n = -1;
    BAD("matmul", "n = -1", dev_matmul(C, &g));
    g = ok, g.k = 0;
    BAD("matmul", "k = 0", dev_matmul(C, &g));
    g = ok, g.batch = 0;
    BAD("matmul", "batch = 0", dev_matmul(C, &g));
    g = ok, g.lda = 4;
    BAD("matmul", "lda 4 < k 5", dev_matmul(C, &g));
    g = ok, g.trans_a = 1, g.lda = 2;
    BAD("matmul", "trans_a, lda 2 < m 3", dev_matmul(C, &g));
    g = ok, g.ldb = 3;
    BAD("matmul", "ldb 3 < n 4", dev_matmul(C, &g));
    g = ok, g.trans_b = 1, g.ldb = 4;
    BAD("matmul", "trans_b, ldb 4 < k 5", dev_matmul(C, &g));
    g = ok, g.ldc = 3;
    BAD("matmul", "ldc 3 < n 4", dev_matmul(C, &g));
    g = ok, g.a.buf = NULL;
    BAD("matmul", "NULL A", dev_matmul(C, &g));
    g = ok, g.b.buf = NULL;
    BAD("matmul", "NULL B", dev_matmul(C, &g));
    g = ok, g.c.buf = NULL;
    BAD("matmul", "NULL C", dev_matmul(C, &g));
    g = ok, g.a.buf = b16, g.lda = 6;
    BAD("matmul", "A past the end (3x5 with lda 6 spans 17 of 16 elements)", dev_matmul(C, &g));
    g = ok, g.b.off = 240;
    BAD("matmul", "B past the end", dev_matmul(C, &g));
    g = ok, g.c.off = 250;
    BAD("matmul", "C past the end", dev_matmul(C, &g));
    g = ok, g.batch = 2, g.stride_a = 15, g.stride_b = 20, g.stride_c = 12, g.c.off = 240;
    BAD("matmul", "batch 2: C's second problem past the end", dev_matmul(C, &g));
    g = ok, g.batch = 2, g.stride_a = -15, g.stride_b = 20, g.stride_c = 12;
    BAD("matmul", "negative stride_a", dev_matmul(C, &g));
    g = ok, g.batch = 2, g.stride_a = 15, g.stride_b = 20, g.stride_c = 0;
    BAD("matmul", "stride_c 0 with batch 2 (problems would overwrite each other)", dev_matmul(C, &g));
    g = ok, g.batch = 40, g.stride_a = 15, g.stride_b = 20, g.stride_c = 12;
    BAD("matmul", "batch 40 does not fit", dev_matmul(C, &g));
    /* Two heads side by side: A 3 x (2 x 5) with lda 10, B 5 x (2 x 4), C 3 x (2 x 4). */
    dev_gemm h2 = ok;
    h2.heads = 2, h2.lda = 10, h2.ldb = 8, h2.ldc = 8, h2.head_stride_a = 5, h2.head_stride_b = 4, h2.head_stride_c = 4;
    OK("matmul: two heads side by side", dev_matmul(C, &h2));
    g = h2, g.heads = -1;
    BAD("matmul", "heads -1", dev_matmul(C, &g));
    g = h2, g.head_stride_b = -4;
    BAD("matmul", "negative head_stride_b", dev_matmul(C, &g));
    g = h2, g.head_stride_c = 0;
    BAD("matmul", "head_stride_c 0 with 2 heads (heads would overwrite each other)", dev_matmul(C, &g));
    g = h2, g.c.off = 232;
    OK("matmul: two heads ending at the buffer's end (4 + 2 x 8 + 4 = 24 from 232)", dev_matmul(C, &g));
    g = h2, g.c.off = 233;
    BAD("matmul", "C's second head past the end (24 elements from 233 of 256)", dev_matmul(C, &g));
    g = h2, g.batch = 2, g.stride_a = 30, g.stride_b = 40, g.stride_c = 24, g.c.off = 208;
    OK("matmul: batch 2 x heads 2 ending at the buffer's end (24 + 24 from 208)", dev_matmul(C, &g));
    g = h2, g.batch = 2, g.stride_a = 30, g.stride_b = 40, g.stride_c = 24, g.c.off = 209;
    BAD("matmul", "batch 2 x heads 2: the last problem's C past the end", dev_matmul(C, &g));
    g = h2, g.bias = (dev_view){b256, 200}, g.ldc = 4, g.head_stride_c = 0, g.heads = 2;
    BAD("matmul", "a bias with heads 2", dev_matmul(C, &g));
    g = ok, g.bias = (dev_view){b256, 200};
    OK("matmul: with a bias", dev_matmul(C, &g));
    g = ok, g.bias = (dev_view){b16, 13};
    BAD("matmul", "bias past the end (4 from 13 of 16)", dev_matmul(C, &g));
    g = ok, g.bias = (dev_view){b256, 200}, g.batch = 2, g.stride_a = 15, g.stride_b = 20, g.stride_c = 12;
    BAD("matmul", "a bias with batch 2", dev_matmul(C, &g));
    g = ok, g.bias = (dev_view){b256, 200}, g.ldc = 5;
    BAD("matmul", "a bias with ldc 5 != n 4", dev_matmul(C, &g));
}

/* ---- elementwise and normalisation ----------------------------------------------------- */

static void simple_args(dev_buf *b16, dev_buf *b256) {
    dev_view v0 = {b256, 0}, v1 = {b256, 100}, v2 = {b256, 200}, end = {b16, 10};
    BAD("bias_add", "rows 0", dev_bias_add(C, v0, v1, 0, 4));
    BAD("bias_add", "cols -1", dev_bias_add(C, v0, v1, 4, -1));
    BAD("bias_add", "NULL y", dev_bias_add(C, NOBUF, v1, 4, 4));
    BAD("bias_add", "NULL bias", dev_bias_add(C, v0, NOBUF, 4, 4));
    BAD("bias_add", "y past the end", dev_bias_add(C, end, v1, 2, 4));
    BAD("bias_add", "bias past the end", dev_bias_add(C, v0, end, 1, 7));
    BAD("bias_backward", "rows 0", dev_bias_backward(C, v1, v0, 0, 4));
    BAD("bias_backward", "cols 0", dev_bias_backward(C, v1, v0, 4, 0));
    BAD("bias_backward", "NULL dbias", dev_bias_backward(C, NOBUF, v0, 4, 4));
    BAD("bias_backward", "dy past the end", dev_bias_backward(C, v1, end, 4, 4));

    BAD("layernorm_forward", "rows 0", dev_layernorm_forward(C, v0, v1, v2, v0, v1, v2, 0, 4, 1e-5f));
    BAD("layernorm_forward", "cols -3", dev_layernorm_forward(C, v0, v1, v2, v0, v1, v2, 4, -3, 1e-5f));
    BAD("layernorm_forward", "eps 0", dev_layernorm_forward(C, v0, v1, v2, v1, v1, v2, 4, 4, 0.0f));
    BAD("layernorm_forward", "eps NaN", dev_layernorm_forward(C, v0, v1, v2, v1, v1, v2, 4, 4, NAN));
    BAD("layernorm_forward", "NULL y", dev_layernorm_forward(C, NOBUF, v1, v2, v0, v1, v2, 4, 4, 1e-5f));
    BAD("layernorm_forward", "NULL mean", dev_layernorm_forward(C, v0, NOBUF, v2, v0, v1, v2, 4, 4, 1e-5f));
    BAD("layernorm_forward", "NULL rstd", dev_layernorm_forward(C, v0, v1, NOBUF, v0, v1, v2, 4, 4, 1e-5f));
    BAD("layernorm_forward", "NULL x", dev_layernorm_forward(C, v0, v1, v2, NOBUF, v1, v2, 4, 4, 1e-5f));
    BAD("layernorm_forward", "NULL w", dev_layernorm_forward(C, v0, v1, v2, v0, NOBUF, v2, 4, 4, 1e-5f));
    BAD("layernorm_forward", "NULL b", dev_layernorm_forward(C, v0, v1, v2, v0, v1, NOBUF, 4, 4, 1e-5f));
    BAD("layernorm_forward", "x past the end", dev_layernorm_forward(C, v0, v1, v2, end, v1, v2, 4, 4, 1e-5f));
    BAD("layernorm_forward", "w past the end", dev_layernorm_forward(C, v0, v1, v2, v0, end, v2, 1, 8, 1e-5f));
    BAD("layernorm_backward", "rows 0", dev_layernorm_backward(C, v0, v1, v2, v0, v1, v2, v0, v1, 0, 4));
    BAD("layernorm_backward", "cols 0", dev_layernorm_backward(C, v0, v1, v2, v0, v1, v2, v0, v1, 4, 0));
    BAD("layernorm_backward", "NULL dx", dev_layernorm_backward(C, NOBUF, v1, v2, v0, v1, v2, v0, v1, 4, 4));
    BAD("layernorm_backward", "NULL dw", dev_layernorm_backward(C, v0, NOBUF, v2, v0, v1, v2, v0, v1, 4, 4));
    BAD("layernorm_backward", "NULL rstd", dev_layernorm_backward(C, v0, v1, v2, v0, v1, v2, v0, NOBUF, 4, 4));
    BAD("layernorm_backward", "mean past the end", dev_layernorm_backward(C, v0, v1, v2, v0, v1, v2, end, v1, 8, 4));

    BAD("gelu_forward", "NULL y", dev_gelu_forward(C, NOBUF, v0, 4));
    BAD("gelu_forward", "NULL x", dev_gelu_forward(C, v0, NOBUF, 4));
    BAD("gelu_forward", "x past the end", dev_gelu_forward(C, v0, end, 7));
    BAD("gelu_backward", "NULL dx", dev_gelu_backward(C, NOBUF, v0, v1, 4));
    BAD("gelu_backward", "dy past the end", dev_gelu_backward(C, v0, end, v1, 7));
    BAD("gelu_backward", "x past the end", dev_gelu_backward(C, v0, v1, end, 7));

    BAD("dropout_forward", "p = 1", dev_dropout_forward(C, v0, v1, 4, 1.0f, 1, 0));
    BAD("dropout_forward", "p = -0.1", dev_dropout_forward(C, v0, v1, 4, -0.1f, 1, 0));
    BAD("dropout_forward", "p NaN", dev_dropout_forward(C, v0, v1, 4, NAN, 1, 0));
    BAD("dropout_forward", "NULL x", dev_dropout_forward(C, v0, NOBUF, 4, 0.1f, 1, 0));
    BAD("dropout_forward", "y past the end", dev_dropout_forward(C, end, v1, 7, 0.1f, 1, 0));

    BAD("axpby", "NULL y", dev_axpby(C, NOBUF, 1, v0, 1, v1, 4));
    BAD("axpby", "NULL a", dev_axpby(C, v0, 1, NOBUF, 1, v1, 4));
    BAD("axpby", "NULL b", dev_axpby(C, v0, 1, v1, 1, NOBUF, 4));
    BAD("axpby", "b past the end", dev_axpby(C, v0, 1, v1, 1, end, 7));

    BAD("bce_forward", "NULL loss", dev_bce_forward(C, NOBUF, v0, v1, 4));
    BAD("bce_forward", "targets past the end", dev_bce_forward(C, v2, v0, end, 7));
    BAD("bce_backward", "NULL logits", dev_bce_backward(C, v2, NOBUF, v1, 4, 1.0f));
    BAD("bce_backward", "dlogits past the end", dev_bce_backward(C, end, v0, v1, 7, 1.0f));

    BAD("sumsq", "n = 0", dev_sumsq(C, v0, v1, 0));
    BAD("sumsq", "NULL out", dev_sumsq(C, NOBUF, v1, 4));
    BAD("sumsq", "out past the end", dev_sumsq(C, (dev_view){b16, 16}, v1, 4));
    BAD("sumsq", "x past the end", dev_sumsq(C, v0, end, 7));
}

static void softmax_args(dev_buf *b16, dev_buf *b256) {
    dev_view v0 = {b256, 0}, v1 = {b256, 100}, v2 = {b256, 200};
    dev_softmax ok = {2, 2, 3, 4, 0.5f, {b16, 0}}, s;
    OK("softmax_forward: the valid base case", dev_softmax_forward(C, &ok, v0, v1));
    BAD("softmax_forward", "NULL parameters", dev_softmax_forward(C, NULL, v0, v1));
    s = ok, s.batch = 0;
    BAD("softmax_forward", "batch 0", dev_softmax_forward(C, &s, v0, v1));
    s = ok, s.heads = -2;
    BAD("softmax_forward", "heads -2", dev_softmax_forward(C, &s, v0, v1));
    s = ok, s.rows = 0;
    BAD("softmax_forward", "rows 0", dev_softmax_forward(C, &s, v0, v1));
    s = ok, s.cols = 0;
    BAD("softmax_forward", "cols 0", dev_softmax_forward(C, &s, v0, v1));
    s = ok, s.key_mask.off = 10;
    BAD("softmax_forward", "key_mask past the end", dev_softmax_forward(C, &s, v0, v1));
    BAD("softmax_forward", "NULL y", dev_softmax_forward(C, &ok, NOBUF, v1));
    BAD("softmax_forward", "x past the end", dev_softmax_forward(C, &ok, v0, (dev_view){b256, 230}));
    BAD("softmax_backward", "NULL parameters", dev_softmax_backward(C, NULL, v0, v1, v2));
    s = ok, s.cols = -4;
    BAD("softmax_backward", "cols -4", dev_softmax_backward(C, &s, v0, v1, v2));
    BAD("softmax_backward", "NULL dy", dev_softmax_backward(C, &ok, v0, NOBUF, v2));
    BAD("softmax_backward", "y past the end", dev_softmax_backward(C, &ok, v0, v1, (dev_view){b256, 230}));
}

static void rows_args(dev_buf *b16, dev_buf *b256) {
    int32_t idx[4] = {0, 2, 2, 1};
    dev_buf *ib = tu_buf(C, idx, 4);
    dev_view v0 = {b256, 0}, v1 = {b256, 100}, iv = {ib, 0};
    OK("gather_rows: the valid base case", dev_gather_rows(C, v0, v1, iv, 4, 5, 3, 1.0f));
    BAD("gather_rows", "n 0", dev_gather_rows(C, v0, v1, iv, 0, 5, 3, 0.0f));
    BAD("gather_rows", "cols 0", dev_gather_rows(C, v0, v1, iv, 4, 0, 3, 0.0f));
    BAD("gather_rows", "table_rows 0", dev_gather_rows(C, v0, v1, iv, 4, 5, 0, 0.0f));
    BAD("gather_rows", "beta 0.5", dev_gather_rows(C, v0, v1, iv, 4, 5, 3, 0.5f));
    BAD("gather_rows", "beta -1", dev_gather_rows(C, v0, v1, iv, 4, 5, 3, -1.0f));
    BAD("gather_rows", "beta NaN", dev_gather_rows(C, v0, v1, iv, 4, 5, 3, NAN));
    BAD("gather_rows", "NULL idx", dev_gather_rows(C, v0, v1, NOBUF, 4, 5, 3, 0.0f));
    BAD("gather_rows", "idx past the end", dev_gather_rows(C, v0, v1, (dev_view){ib, 1}, 4, 5, 3, 0.0f));
    BAD("gather_rows", "table past the end", dev_gather_rows(C, v0, (dev_view){b256, 250}, iv, 4, 5, 3, 0.0f));
    BAD("gather_rows", "y past the end", dev_gather_rows(C, (dev_view){b16, 0}, v1, iv, 4, 5, 3, 0.0f));

    dev_rows_plan plan, p;
    BAD("rows_plan", "NULL idx", dev_rows_plan_build(C, NULL, 4, 3, &plan));
    BAD("rows_plan", "NULL plan", dev_rows_plan_build(C, idx, 4, 3, NULL));
    BAD("rows_plan", "n 0", dev_rows_plan_build(C, idx, 0, 3, &plan));
    BAD("rows_plan", "index 2 outside [0, 2)", dev_rows_plan_build(C, idx, 4, 2, &plan));
    int32_t neg[2] = {0, -1};
    BAD("rows_plan", "index -1", dev_rows_plan_build(C, neg, 2, 3, &plan));
    tu_must(dev_rows_plan_build(C, idx, 4, 3, &plan), &E, "rows_plan_build");
    OK("scatter_add_rows: the valid base case", dev_scatter_add_rows(C, v1, v0, &plan, 5));
    BAD("scatter_add_rows", "NULL plan", dev_scatter_add_rows(C, v1, v0, NULL, 5));
    BAD("scatter_add_rows", "cols 0", dev_scatter_add_rows(C, v1, v0, &plan, 0));
    p = plan, p.n = 0;
    BAD("scatter_add_rows", "plan.n 0", dev_scatter_add_rows(C, v1, v0, &p, 5));
    p = plan, p.nseg = 0;
    BAD("scatter_add_rows", "plan.nseg 0", dev_scatter_add_rows(C, v1, v0, &p, 5));
    p = plan, p.nseg = 5;
    BAD("scatter_add_rows", "plan.nseg > plan.n", dev_scatter_add_rows(C, v1, v0, &p, 5));
    p = plan, p.order.buf = NULL;
    BAD("scatter_add_rows", "NULL plan.order", dev_scatter_add_rows(C, v1, v0, &p, 5));
    p = plan, p.starts.off = 1000;
    BAD("scatter_add_rows", "plan.starts past the end", dev_scatter_add_rows(C, v1, v0, &p, 5));
    BAD("scatter_add_rows", "NULL dst", dev_scatter_add_rows(C, NOBUF, v0, &plan, 5));
    BAD("scatter_add_rows", "src past the end", dev_scatter_add_rows(C, v1, (dev_view){b256, 240}, &plan, 5));
    dev_rows_plan_free(C, &plan);
    dev_free(C, ib);
}

static void loss_args(dev_buf *b16, dev_buf *b256) {
    int32_t t[4] = {0, 1, -1, 2};
    dev_buf *tb = tu_buf(C, t, 4);
    dev_view v0 = {b256, 0}, v1 = {b256, 100}, tv = {tb, 0};
    OK("crossentropy_forward: the valid base case", dev_crossentropy_forward(C, v0, v1, tv, 1, 3));
    BAD("crossentropy_forward", "rows 0", dev_crossentropy_forward(C, v0, v1, tv, 0, 3));
    BAD("crossentropy_forward", "vocab 0", dev_crossentropy_forward(C, v0, v1, tv, 4, 0));
    BAD("crossentropy_forward", "NULL target", dev_crossentropy_forward(C, v0, v1, NOBUF, 4, 3));
    BAD("crossentropy_forward", "target past the end", dev_crossentropy_forward(C, v0, v1, tv, 5, 3));
    BAD("crossentropy_forward", "logits past the end",
        dev_crossentropy_forward(C, v0, (dev_view){b256, 250}, tv, 4, 3));
    BAD("crossentropy_backward", "rows -1", dev_crossentropy_backward(C, v0, v1, tv, -1, 3, 1.0f));
    BAD("crossentropy_backward", "NULL dlogits", dev_crossentropy_backward(C, NOBUF, v1, tv, 4, 3, 1.0f));
    BAD("crossentropy_backward", "dlogits past the end",
        dev_crossentropy_backward(C, (dev_view){b16, 8}, v1, tv, 4, 3, 1.0f));
    dev_free(C, tb);
}

static void label_attention_args(dev_buf *b16, dev_buf *b256) {
    (void)b16;
    /* batch 2, words 3, labels 4, dim 5 */
    dev_label_attention ok = {2, 3, 4, 5, {b256, 0}, {b256, 30}, {b256, 50}, {b256, 60}, {b256, 70}, {b256, 80}}, a;
    float ones[6] = {1, 1, 1, 1, 1, 1};
    tu_must(dev_upload(C, b256, 50 * 4, ones, sizeof ones), &E, "upload mask");
    OK("label_attention_forward: the valid base case", dev_label_attention_forward(C, &ok));
    dev_view dh = {b256, 100}, dl = {b256, 130}, dout = {b256, 150};
    OK("label_attention_backward: the valid base case", dev_label_attention_backward(C, &ok, dh, dl, dout));
    BAD("label_attention_forward", "NULL parameters", dev_label_attention_forward(C, NULL));
    const char *names[4] = {"batch 0", "words 0", "labels 0", "dim -1"};
    for (int i = 0; i < 4; i++) {
        a = ok;
        int *f = i == 0 ? &a.batch : i == 1 ? &a.words : i == 2 ? &a.labels : &a.dim;
        *f = i == 3 ? -1 : 0;
        BAD("label_attention_forward", names[i], dev_label_attention_forward(C, &a));
        BAD("label_attention_backward", names[i], dev_label_attention_backward(C, &a, dh, dl, dout));
    }
    const char *vnames[6] = {"NULL h", "NULL l", "NULL word_mask", "NULL out", "NULL weights", "NULL argmax"};
    for (int i = 0; i < 6; i++) {
        a = ok;
        dev_view *v = i == 0 ? &a.h : i == 1 ? &a.l : i == 2 ? &a.word_mask : i == 3 ? &a.out : i == 4 ? &a.weights
                                                                                                        : &a.argmax;
        v->buf = NULL;
        BAD("label_attention_forward", vnames[i], dev_label_attention_forward(C, &a));
        v->buf = b256;
        v->off = 251; /* the 6-element views need 251 + 6 > 256 too */
        BAD("label_attention_forward", "a view past the end", dev_label_attention_forward(C, &a));
    }
    BAD("label_attention_backward", "NULL parameters", dev_label_attention_backward(C, NULL, dh, dl, dout));
    BAD("label_attention_backward", "NULL dh", dev_label_attention_backward(C, &ok, NOBUF, dl, dout));
    BAD("label_attention_backward", "dl past the end",
        dev_label_attention_backward(C, &ok, dh, (dev_view){b256, 240}, dout));
    BAD("label_attention_backward", "dout past the end",
        dev_label_attention_backward(C, &ok, dh, dl, (dev_view){b256, 250}));
}

static void adamw_args(dev_buf *b16, dev_buf *b256) {
    dev_adamw_args ok = {10, {b256, 0}, {b256, 10}, {b256, 20}, {b256, 30}, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 1,
                         {b16, 0}, 1.0f},
                   a;
    tu_must(dev_fill(C, (dev_view){b256, 0}, 40, 0.5f), &E, "fill");
    tu_must(dev_fill(C, (dev_view){b16, 0}, 1, 4.0f), &E, "fill");
    OK("adamw: the valid base case", dev_adamw(C, &ok));
    BAD("adamw", "NULL parameters", dev_adamw(C, NULL));
    a = ok, a.n = 0;
    BAD("adamw", "n 0", dev_adamw(C, &a));
    a = ok, a.step = 0;
    BAD("adamw", "step 0", dev_adamw(C, &a));
    a = ok, a.beta1 = 1.0f;
    BAD("adamw", "beta1 1", dev_adamw(C, &a));
    a = ok, a.beta2 = -0.1f;
    BAD("adamw", "beta2 -0.1", dev_adamw(C, &a));
    a = ok, a.eps = 0.0f;
    BAD("adamw", "eps 0", dev_adamw(C, &a));
    a = ok, a.param.buf = NULL;
    BAD("adamw", "NULL param", dev_adamw(C, &a));
    a = ok, a.grad.off = 250;
    BAD("adamw", "grad past the end", dev_adamw(C, &a));
    a = ok, a.v.off = 247;
    BAD("adamw", "v past the end", dev_adamw(C, &a));
    a = ok, a.sumsq.off = 16;
    BAD("adamw", "sumsq past the end", dev_adamw(C, &a));
    a = ok, a.max_norm = 0.0f;
    BAD("adamw", "max_norm 0 while clipping", dev_adamw(C, &a));
}

/* ---- no context, bad specs ------------------------------------------------------------- */

static void null_ctx_args(dev_buf *b256) {
    dev_gemm g = {0, 0, 1, 1, 1, 1.0f, 0.0f, {b256, 0}, {b256, 1}, {b256, 2}, 1, 1, 1, 0, 0, 0, 1, {NULL, 0}, 0, 0, 0, 0};
    tu_check(dev_matmul(NULL, &g) == MLTC_ERR_INVALID_ARGUMENT, "matmul with a NULL context");
    tu_check(dev_fill(NULL, (dev_view){b256, 0}, 1, 0.0f) == MLTC_ERR_INVALID_ARGUMENT, "fill with a NULL context");
    tu_check(dev_sync(NULL) == MLTC_ERR_INVALID_ARGUMENT, "sync with a NULL context");
    tu_check(dev_supports(NULL, DEV_OP_MATMUL) == 0, "supports with a NULL context");
    tu_check(dev_supports(C, DEV_OP_COUNT) == 0 && dev_supports(C, (dev_op)-1) == 0, "supports of no op");
}

static void open_args(const char *backend) {
    const char *specs[] = {"gpu", "opencl:x", "cpu:3", "cpu:", ":0", "vulkan:-1", "cpu:0x", "cpu:99999999999999999999",
                           "a-name-that-is-far-too-long-for-any-backend:0"};
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        mltc_error e = {0};
        dev_ctx *out = (dev_ctx *)&e; /* must be reset to NULL */
        mltc_status st = dev_open(&e, specs[i], &out);
        tu_check(st != MLTC_OK && out == NULL && e.msg[0] != '\0', "dev_open('%s'): status '%s', message '%s'",
                 specs[i], mltc_status_string(st), e.msg);
        tu_check(strstr(e.msg, specs[i]) != NULL,
                 "dev_open('%s'): the message '%s' does not name the device", specs[i], e.msg);
        tu_check(st == MLTC_ERR_INVALID_ARGUMENT || st == MLTC_ERR_UNSUPPORTED,
                 "dev_open('%s'): status '%s', expected invalid argument or unsupported", specs[i],
                 mltc_status_string(st));
    }
    mltc_error e = {0};
    tu_check(dev_open(&e, "cpu", NULL) == MLTC_ERR_INVALID_ARGUMENT, "dev_open with out NULL");
    /* an index past the devices of this backend */
    char spec[64];
    snprintf(spec, sizeof spec, "%s:999", backend);
    dev_ctx *out = NULL;
    mltc_status st = dev_open(&e, spec, &out);
    tu_check(st != MLTC_OK && out == NULL && strstr(e.msg, "999") != NULL,
             "dev_open('%s'): status '%s', message '%s' (should name the index)", spec, mltc_status_string(st),
             e.msg);
    if (out) dev_close(out);
}

/* ---- overflow in the size arithmetic, against a stub backend ----------------------------- */

static int stub_called;
static mltc_status stub_matmul(dev_ctx *ctx, const dev_gemm *g) { return stub_called++, MLTC_OK; }
static mltc_status stub_softmax(dev_ctx *ctx, const dev_softmax *s, dev_view y, dev_view x) {
    return stub_called++, MLTC_OK;
}
static mltc_status stub_softmax_bw(dev_ctx *ctx, const dev_softmax *s, dev_view dx, dev_view dy, dev_view y,
                                   dev_view yd) {
    return stub_called++, MLTC_OK;
}
static mltc_status stub_la(dev_ctx *ctx, const dev_label_attention *a) { return stub_called++, MLTC_OK; }

static void overflow_args(void) {
    /* A backend whose ops only count calls; the ops not listed are never reached. */
    dev_ops ops = {0};
    ops.matmul = stub_matmul;
    ops.softmax_forward = stub_softmax;
    ops.softmax_backward = stub_softmax_bw;
    ops.label_attention_forward = stub_la;
    struct dev_ctx stub = {&ops, &E, "stub", DEV_PREC_FP32, {0}, 0};
    dev_ctx *S = &stub;
    dev_buf small = {64}; /* 16 elements */
    dev_view v = {&small, 0};
    char desc[200];

    /* batch*heads*rows*cols = 2^64 wraps to 0 */
    dev_softmax s = {65536, 65536, 65536, 65536, 1.0f, {NULL, 0}};
    stub_called = 0;
    err_clear(&E);
    expect_bad(dev_softmax_forward(S, &s, v, v), "softmax_forward", "batch=heads=rows=cols=65536 (2^64 elements)");
    tu_check(!stub_called, "softmax_forward with 2^64 elements reached the backend");
    stub_called = 0;
    err_clear(&E);
    expect_bad(dev_softmax_backward(S, &s, v, v, v), "softmax_backward", "2^64 elements");
    tu_check(!stub_called, "softmax_backward with 2^64 elements reached the backend");

    /* matmul: (batch-1)*stride_a wraps so that the extent looks like 1 element */
    dev_gemm g = {0, 0, 1, 1, 3, 1.0f, 0.0f, v, v, v, 3, 1, 1, LONG_MAX, 0, 1, 3, {NULL, 0}, 0, 0, 0, 0};
    stub_called = 0;
    err_clear(&E);
    snprintf(desc, sizeof desc, "batch 3 stride_a LONG_MAX");
    expect_bad(dev_matmul(S, &g), "matmul", desc);
    tu_check(!stub_called, "matmul with batch 3 and stride_a = LONG_MAX reached the backend");

    /* label attention: batch*words*dim wraps (batch*words does not) */
    dev_label_attention a = {1 << 21, 1 << 21, 1, 1 << 22, v, v, v, v, v, v};
    stub_called = 0;
    err_clear(&E);
    expect_bad(dev_label_attention_forward(S, &a), "label_attention_forward", "2^21 x 2^21 x 2^22");
    tu_check(!stub_called, "label_attention_forward with wrapping sizes reached the backend");
}

int main(int argc, char **argv) {
    const char *backend = argc > 1 ? argv[1] : "cpu";
    int rc = tu_open(backend, &E, &C);
    if (rc) return rc;
    dev_buf *b16 = tu_zeros(C, 16), *b256 = tu_zeros(C, 256);
    memory_args(b16);
    matmul_args(b16, b256);
    simple_args(b16, b256);
    softmax_args(b16, b256);
    rows_args(b16, b256);
    loss_args(b16, b256);
    label_attention_args(b16, b256);
    adamw_args(b16, b256);
    null_ctx_args(b256);

    /* the context still works after all of that */
    float x[16], got[16];
    double want[16];
    for (int i = 0; i < 16; i++) want[i] = x[i] = (float)i - 3.5f;
    tu_must(dev_upload(C, b16, 0, x, sizeof x), &E, "upload after bad calls");
    dev_view v = {b16, 0};
    tu_must(dev_axpby(C, v, 2.0f, v, -1.0f, v, 16), &E, "axpby after bad calls");
    tu_must(dev_download(C, b16, 0, got, sizeof got), &E, "download after bad calls");
    tu_close("the context still computes after the bad calls (axpby)", got, want, 16, 0, 0);
    dev_free(C, b16);
    dev_free(C, b256);

    open_args(backend);
    if (strcmp(backend, "cpu") == 0) overflow_args(); /* backend-independent: once is enough */
    dev_close(C);
    return tu_finish();
}
