/* Argument checks shared by every backend, dispatch to the vtable, backend selection. */
#include "device/device.h"
#include "device/device_profile.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const dev_backend dev_backend_cpu;
#ifdef MLTC_HAVE_OPENCL
extern const dev_backend dev_backend_opencl;
#endif
#ifdef MLTC_HAVE_VULKAN
extern const dev_backend dev_backend_vulkan;
#endif

static const dev_backend *const backends[] = {
    &dev_backend_cpu,
#ifdef MLTC_HAVE_OPENCL
    &dev_backend_opencl,
#endif
#ifdef MLTC_HAVE_VULKAN
    &dev_backend_vulkan,
#endif
    NULL,
};

const dev_backend *const *dev_backends(void) { return backends; }

static const char *const op_names[DEV_OP_COUNT] = {
#define DEV_OP(name, NAME, params) [DEV_OP_##NAME] = #name,
#include "device/device_ops.def"
};

const char *dev_op_name(dev_op op) { return (op >= 0 && op < DEV_OP_COUNT) ? op_names[op] : "unknown op"; }

/* ---- selection ------------------------------------------------------------------------ */

mltc_status dev_open(mltc_error *err, const char *spec, dev_ctx **out) {
    if (!out) return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "dev_open: out is NULL");
    *out = NULL;
    if (!spec || !*spec) spec = getenv("MLTC_DEVICE");
    if (!spec || !*spec) spec = "cpu";
    char name[32];
    int index = 0;
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    if (len == 0 || len >= sizeof name)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "device '%s': expected cpu, opencl[:N] or vulkan[:N]", spec);
    memcpy(name, spec, len);
    name[len] = '\0';
    if (colon) {
        char *end = NULL;
        long v = strtol(colon + 1, &end, 10);
        if (!colon[1] || *end || v < 0 || v > 1000)
            return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "device '%s': the index after ':' must be a number >= 0",
                           spec);
        index = (int)v;
    }
    for (const dev_backend *const *b = backends; *b; b++) {
        if (strcmp((*b)->name, name) != 0) continue;
        mltc_status st = (*b)->open(err, index, out);
        if (st == MLTC_OK) {
            snprintf((*out)->id, sizeof (*out)->id, "%.20s:%d", name, index);
            const char *unfused = getenv("MLTC_UNFUSED");
            (*out)->unfused = unfused && !strcmp(unfused, "1");
            dev_profile_forget(*out); /* a new context may reuse a closed one's address */
        }
        return st;
    }
    char known[128] = "";
    for (const dev_backend *const *b = backends; *b; b++) {
        if (known[0]) strncat(known, ", ", sizeof known - strlen(known) - 1);
        strncat(known, (*b)->name, sizeof known - strlen(known) - 1);
    }
    return err_set(err, MLTC_ERR_UNSUPPORTED, "device '%s': no such backend in this build (built with: %s)", spec,
                   known);
}

void dev_close(dev_ctx *ctx) {
    if (!ctx) return;
    ctx->ops->destroy(ctx);
    dev_profile_forget(ctx); /* only the pointer's value is used, as a key */
}

/* ---- argument checks ------------------------------------------------------------------ */

#define BAD(ctx, ...) err_set((ctx)->err, MLTC_ERR_INVALID_ARGUMENT, __VA_ARGS__)

/* A view of `elems` 4-byte elements must lie inside its buffer. */
static mltc_status check_view(dev_ctx *ctx, const char *op, const char *arg, dev_view v, size_t elems) {
    if (!v.buf) return BAD(ctx, "%s: buffer '%s' is NULL", op, arg);
    size_t cap = v.buf->bytes / 4;
    if (v.off > cap || elems > cap - v.off)
        return BAD(ctx, "%s: '%s' needs elements [%zu, %zu) but its buffer holds %zu", op, arg, v.off,
                   v.off + elems, cap);
    return MLTC_OK;
}

static mltc_status check_ctx(dev_ctx *ctx) {
    return ctx ? MLTC_OK : MLTC_ERR_INVALID_ARGUMENT; /* no ctx: nowhere to write a message */
}

/* Dispatch through the profiling hook: with profiling off everywhere, one branch. */
#define DISPATCH(ctx, bucket, call)                                                                               \
    do {                                                                                                          \
        if (!atomic_load_explicit(&dev_profile_active, memory_order_relaxed)) return (call);                      \
        double t0_;                                                                                               \
        mltc_status pst_ = dev_profile_begin((ctx), &t0_);                                                        \
        if (pst_ != MLTC_OK) return pst_;                                                                         \
        return dev_profile_end((ctx), (bucket), t0_, (call));                                                     \
    } while (0)

#define POSITIVE(ctx, op, name, v)                                                                                \
    do {                                                                                                          \
        if ((v) <= 0) return BAD(ctx, "%s: %s must be > 0 (got %ld)", op, name, (long)(v));                      \
    } while (0)

/* Size arithmetic saturates at SIZE_MAX, which no buffer holds: a shape whose element count
 * overflows then fails the view check instead of wrapping to a small, "valid" number. */
static size_t mul_sat(size_t a, size_t b) { return (a && b > SIZE_MAX / a) ? SIZE_MAX : a * b; }
static size_t add_sat(size_t a, size_t b) { return b > SIZE_MAX - a ? SIZE_MAX : a + b; }

size_t dev_gemm_span(const dev_gemm *g, char operand) {
    int heads = dev_gemm_heads(g), rows, cols, ld;
    long stride, head_stride;
    if (operand == 'a') {
        rows = g->trans_a ? g->k : g->m, cols = g->trans_a ? g->m : g->k, ld = g->lda;
        stride = g->stride_a, head_stride = g->head_stride_a;
    } else if (operand == 'b') {
        rows = g->trans_b ? g->n : g->k, cols = g->trans_b ? g->k : g->n, ld = g->ldb;
        stride = g->stride_b, head_stride = g->head_stride_b;
    } else {
        rows = g->m, cols = g->n, ld = g->ldc;
        stride = g->stride_c, head_stride = g->head_stride_c;
    }
    size_t last = add_sat(mul_sat((size_t)(g->batch - 1), (size_t)stride),
                          mul_sat((size_t)(heads - 1), (size_t)head_stride));
    return add_sat(add_sat(last, mul_sat((size_t)(rows - 1), (size_t)ld)), (size_t)cols);
}

mltc_status dev_alloc(dev_ctx *ctx, size_t bytes, dev_buf **out) {
    TRY(check_ctx(ctx));
    if (!out) return BAD(ctx, "alloc: out is NULL");
    *out = NULL;
    if (bytes == 0 || bytes % 4) return BAD(ctx, "alloc: size %zu bytes must be a positive multiple of 4", bytes);
    mltc_status st = ctx->ops->alloc(ctx, bytes, out);
    if (st == MLTC_OK && *out) dev_mem_on_alloc(ctx, (*out)->bytes);
    return st;
}

void dev_free(dev_ctx *ctx, dev_buf *buf) {
    if (!ctx || !buf) return;
    dev_mem_on_free(ctx, buf->bytes);
    ctx->ops->free(ctx, buf);
}

static mltc_status check_bytes(dev_ctx *ctx, const char *op, dev_buf *b, size_t off, const void *host,
                               size_t bytes) {
    if (!b) return BAD(ctx, "%s: buffer is NULL", op);
    if (!host && bytes) return BAD(ctx, "%s: host pointer is NULL", op);
    if (off > b->bytes || bytes > b->bytes - off)
        return BAD(ctx, "%s: bytes [%zu, %zu) lie outside the %zu-byte buffer", op, off, off + bytes, b->bytes);
    return MLTC_OK;
}

mltc_status dev_upload(dev_ctx *ctx, dev_buf *dst, size_t off, const void *src, size_t bytes) {
    TRY(check_ctx(ctx));
    TRY(check_bytes(ctx, "upload", dst, off, src, bytes));
    if (!bytes) return MLTC_OK;
    DISPATCH(ctx, DEV_PROF_UPLOAD, ctx->ops->upload(ctx, dst, off, src, bytes));
}

mltc_status dev_download(dev_ctx *ctx, dev_buf *src, size_t off, void *dst, size_t bytes) {
    TRY(check_ctx(ctx));
    TRY(check_bytes(ctx, "download", src, off, dst, bytes));
    if (!bytes) return MLTC_OK;
    DISPATCH(ctx, DEV_PROF_DOWNLOAD, ctx->ops->download(ctx, src, off, dst, bytes));
}

mltc_status dev_copy(dev_ctx *ctx, dev_view dst, dev_view src, size_t n) {
    TRY(check_ctx(ctx));
    TRY(check_view(ctx, "copy", "dst", dst, n));
    TRY(check_view(ctx, "copy", "src", src, n));
    if (!n) return MLTC_OK;
    DISPATCH(ctx, DEV_PROF_COPY, ctx->ops->copy(ctx, dst, src, n));
}

mltc_status dev_fill(dev_ctx *ctx, dev_view dst, size_t n, float value) {
    TRY(check_ctx(ctx));
    TRY(check_view(ctx, "fill", "dst", dst, n));
    if (!n) return MLTC_OK;
    DISPATCH(ctx, DEV_PROF_FILL, ctx->ops->fill(ctx, dst, n, value));
}

mltc_status dev_sync(dev_ctx *ctx) {
    TRY(check_ctx(ctx));
    return ctx->ops->sync(ctx);
}

int dev_supports(dev_ctx *ctx, dev_op op) {
    if (!ctx || op < 0 || op >= DEV_OP_COUNT) return 0;
    return ctx->ops->supports(ctx, op);
}

static mltc_status check_gemm(dev_ctx *ctx, const dev_gemm *g) {
    const char *op = "matmul";
    if (!g) return BAD(ctx, "matmul: parameters are NULL");
    POSITIVE(ctx, op, "m", g->m);
    POSITIVE(ctx, op, "n", g->n);
    POSITIVE(ctx, op, "k", g->k);
    POSITIVE(ctx, op, "batch", g->batch);
    int a_cols = g->trans_a ? g->m : g->k, b_cols = g->trans_b ? g->k : g->n;
    if (g->lda < a_cols) return BAD(ctx, "matmul: lda %d < %d columns of A", g->lda, a_cols);
    if (g->ldb < b_cols) return BAD(ctx, "matmul: ldb %d < %d columns of B", g->ldb, b_cols);
    if (g->ldc < g->n) return BAD(ctx, "matmul: ldc %d < n %d", g->ldc, g->n);
    if (g->batch > 1 && (g->stride_a < 0 || g->stride_b < 0 || g->stride_c <= 0))
        return BAD(ctx, "matmul: batch strides must be >= 0 (C's > 0)");
    if (g->heads < 0) return BAD(ctx, "matmul: heads %d must not be negative", g->heads);
    int heads = dev_gemm_heads(g);
    if (heads > 1 && (g->head_stride_a < 0 || g->head_stride_b < 0 || g->head_stride_c <= 0))
        return BAD(ctx, "matmul: head strides must be >= 0 (C's > 0)");
    if ((long long)g->batch * heads > INT_MAX)
        return BAD(ctx, "matmul: batch %d x heads %d problems are too many", g->batch, heads);
    TRY(check_view(ctx, op, "A", g->a, dev_gemm_span(g, 'a')));
    TRY(check_view(ctx, op, "B", g->b, dev_gemm_span(g, 'b')));
    TRY(check_view(ctx, op, "C", g->c, dev_gemm_span(g, 'c')));
    if (g->bias.buf) {
        if (g->batch != 1 || heads != 1)
            return BAD(ctx, "matmul: a bias needs batch 1 and heads 1 (got %d, %d)", g->batch, heads);
        if (g->ldc != g->n) return BAD(ctx, "matmul: a bias needs a dense C (ldc %d != n %d)", g->ldc, g->n);
        TRY(check_view(ctx, op, "bias", g->bias, (size_t)g->n));
    }
    return MLTC_OK;
}

mltc_status dev_matmul(dev_ctx *ctx, const dev_gemm *g) {
    TRY(check_ctx(ctx));
    TRY(check_gemm(ctx, g));
    DISPATCH(ctx, dev_gemm_problems(g) > 1 ? DEV_PROF_MATMUL_BATCHED : DEV_OP_MATMUL, ctx->ops->matmul(ctx, g));
}

mltc_status dev_gemm_rm(dev_ctx *ctx, int trans_a, int trans_b, int m, int n, int k, float beta, dev_view a, int lda,
                        dev_view b, int ldb, dev_view c, int ldc) {
    dev_gemm g = {.trans_a = trans_a, .trans_b = trans_b, .m = m, .n = n, .k = k, .alpha = 1.0f, .beta = beta,
                  .a = a, .lda = lda, .b = b, .ldb = ldb, .c = c, .ldc = ldc, .batch = 1};
    return dev_matmul(ctx, &g);
}

mltc_status dev_set_matmul_precision(dev_ctx *ctx, dev_precision p) {
    TRY(check_ctx(ctx));
    if (p != DEV_PREC_FP32) {
        if (p != DEV_PREC_BF16) return BAD(ctx, "set_matmul_precision: unknown precision %d", (int)p);
        if (!ctx->ops->check_precision)
            return err_set(ctx->err, MLTC_ERR_UNSUPPORTED, "%s: matmul precision %s is not available on this backend "
                                                          "(fp32 only)", ctx->id, dev_precision_name(p));
        TRY(ctx->ops->check_precision(ctx, p));
    }
    ctx->matmul_precision = p;
    return MLTC_OK;
}

const char *dev_precision_name(dev_precision p) { return p == DEV_PREC_BF16 ? "bf16" : "fp32"; }

mltc_status dev_precision_parse(mltc_error *err, const char *name, dev_precision *out) {
    if (name && !strcmp(name, "fp32")) *out = DEV_PREC_FP32;
    else if (name && !strcmp(name, "bf16")) *out = DEV_PREC_BF16;
    else return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "precision '%s': expected fp32 or bf16", name ? name : "");
    return MLTC_OK;
}

mltc_status dev_bias_add(dev_ctx *ctx, dev_view y, dev_view bias, int rows, int cols) {
    TRY(check_ctx(ctx));
    POSITIVE(ctx, "bias_add", "rows", rows);
    POSITIVE(ctx, "bias_add", "cols", cols);
    TRY(check_view(ctx, "bias_add", "y", y, (size_t)rows * cols));
    TRY(check_view(ctx, "bias_add", "bias", bias, (size_t)cols));
    DISPATCH(ctx, DEV_OP_BIAS_ADD, ctx->ops->bias_add(ctx, y, bias, rows, cols));
}

mltc_status dev_bias_backward(dev_ctx *ctx, dev_view dbias, dev_view dy, int rows, int cols) {
    TRY(check_ctx(ctx));
    POSITIVE(ctx, "bias_backward", "rows", rows);
    POSITIVE(ctx, "bias_backward", "cols", cols);
    TRY(check_view(ctx, "bias_backward", "dy", dy, (size_t)rows * cols));
    TRY(check_view(ctx, "bias_backward", "dbias", dbias, (size_t)cols));
    DISPATCH(ctx, DEV_OP_BIAS_BACKWARD, ctx->ops->bias_backward(ctx, dbias, dy, rows, cols));
}

mltc_status dev_layernorm_forward(dev_ctx *ctx, dev_view y, dev_view mean, dev_view rstd, dev_view x, dev_view w,
                                  dev_view b, int rows, int cols, float eps) {
    TRY(check_ctx(ctx));
    const char *op = "layernorm_forward";
    POSITIVE(ctx, op, "rows", rows);
    POSITIVE(ctx, op, "cols", cols);
    if (!(eps > 0)) return BAD(ctx, "%s: eps must be > 0", op);
    size_t rc = (size_t)rows * cols;
    TRY(check_view(ctx, op, "y", y, rc));
    TRY(check_view(ctx, op, "x", x, rc));
    TRY(check_view(ctx, op, "mean", mean, (size_t)rows));
    TRY(check_view(ctx, op, "rstd", rstd, (size_t)rows));
    TRY(check_view(ctx, op, "w", w, (size_t)cols));
    TRY(check_view(ctx, op, "b", b, (size_t)cols));
    DISPATCH(ctx, DEV_OP_LAYERNORM_FORWARD,
             ctx->ops->layernorm_forward(ctx, y, mean, rstd, x, w, b, rows, cols, eps));
}

mltc_status dev_layernorm_backward(dev_ctx *ctx, dev_view dx, dev_view dw, dev_view db, dev_view dy, dev_view x,
                                   dev_view w, dev_view mean, dev_view rstd, int rows, int cols) {
    TRY(check_ctx(ctx));
    const char *op = "layernorm_backward";
    POSITIVE(ctx, op, "rows", rows);
    POSITIVE(ctx, op, "cols", cols);
    size_t rc = (size_t)rows * cols;
    TRY(check_view(ctx, op, "dx", dx, rc));
    TRY(check_view(ctx, op, "dy", dy, rc));
    TRY(check_view(ctx, op, "x", x, rc));
    TRY(check_view(ctx, op, "dw", dw, (size_t)cols));
    TRY(check_view(ctx, op, "db", db, (size_t)cols));
    TRY(check_view(ctx, op, "w", w, (size_t)cols));
    TRY(check_view(ctx, op, "mean", mean, (size_t)rows));
    TRY(check_view(ctx, op, "rstd", rstd, (size_t)rows));
    DISPATCH(ctx, DEV_OP_LAYERNORM_BACKWARD,
             ctx->ops->layernorm_backward(ctx, dx, dw, db, dy, x, w, mean, rstd, rows, cols));
}

mltc_status dev_gelu_forward(dev_ctx *ctx, dev_view y, dev_view x, size_t n) {
    TRY(check_ctx(ctx));
    TRY(check_view(ctx, "gelu_forward", "y", y, n));
    TRY(check_view(ctx, "gelu_forward", "x", x, n));
    if (!n) return MLTC_OK;
    DISPATCH(ctx, DEV_OP_GELU_FORWARD, ctx->ops->gelu_forward(ctx, y, x, n));
}

mltc_status dev_gelu_backward(dev_ctx *ctx, dev_view dx, dev_view dy, dev_view x, size_t n) {
    TRY(check_ctx(ctx));
    TRY(check_view(ctx, "gelu_backward", "dx", dx, n));
    TRY(check_view(ctx, "gelu_backward", "dy", dy, n));
    TRY(check_view(ctx, "gelu_backward", "x", x, n));
    if (!n) return MLTC_OK;
    DISPATCH(ctx, DEV_OP_GELU_BACKWARD, ctx->ops->gelu_backward(ctx, dx, dy, x, n));
}

static mltc_status check_softmax(dev_ctx *ctx, const char *op, const dev_softmax *s) {
    if (!s) return BAD(ctx, "%s: parameters are NULL", op);
    POSITIVE(ctx, op, "batch", s->batch);
    POSITIVE(ctx, op, "heads", s->heads);
    POSITIVE(ctx, op, "rows", s->rows);
    POSITIVE(ctx, op, "cols", s->cols);
    if (s->key_mask.buf) TRY(check_view(ctx, op, "key_mask", s->key_mask, mul_sat((size_t)s->batch, (size_t)s->cols)));
    return MLTC_OK;
}

static size_t softmax_elems(const dev_softmax *s) {
    return mul_sat(mul_sat(mul_sat((size_t)s->batch, (size_t)s->heads), (size_t)s->rows), (size_t)s->cols);
}

mltc_status dev_softmax_forward(dev_ctx *ctx, const dev_softmax *s, dev_view y, dev_view x) {
    TRY(check_ctx(ctx));
    TRY(check_softmax(ctx, "softmax_forward", s));
    TRY(check_view(ctx, "softmax_forward", "y", y, softmax_elems(s)));
    TRY(check_view(ctx, "softmax_forward", "x", x, softmax_elems(s)));
    DISPATCH(ctx, DEV_OP_SOFTMAX_FORWARD, ctx->ops->softmax_forward(ctx, s, y, x));
}

mltc_status dev_attention_forward(dev_ctx *ctx, const dev_gemm *qk, const dev_softmax *sm, const dev_gemm *pv) {
    TRY(check_ctx(ctx));
    if (!qk || !sm || !pv) return BAD(ctx, "attention_forward: parameters are NULL");
    TRY(check_gemm(ctx, qk));
    TRY(check_gemm(ctx, pv));
    TRY(check_softmax(ctx, "attention_forward", sm));
    int problems = dev_gemm_problems(qk);
    if (qk->bias.buf || pv->bias.buf || qk->beta != 0.0f || qk->trans_a || pv->trans_a || pv->m != qk->m ||
        pv->k != qk->n || dev_gemm_problems(pv) != problems || dev_gemm_heads(pv) != dev_gemm_heads(qk) ||
        sm->batch * sm->heads != problems || sm->heads != dev_gemm_heads(qk) || sm->rows != qk->m ||
        sm->cols != qk->n)
        return BAD(ctx, "attention_forward: the products and the softmax do not chain (scores %dx%d in %d problems, "
                        "softmax %dx%d in %dx%d, values product %dx%dx%d in %d)",
                   qk->m, qk->n, problems, sm->rows, sm->cols, sm->batch, sm->heads, pv->m, pv->n, pv->k,
                   dev_gemm_problems(pv));
    /* the scores and probabilities dense [B, H, R, T], as the softmax reads and writes them */
    long RT = (long)qk->m * qk->n, H = dev_gemm_heads(qk);
    if (qk->ldc != qk->n || pv->lda != qk->n || (H > 1 && (qk->head_stride_c != RT || pv->head_stride_a != RT)) ||
        (qk->batch > 1 && (qk->stride_c != H * RT || pv->stride_a != H * RT)))
        return BAD(ctx, "attention_forward: the scores and probabilities must be dense [batch, heads, %d, %d]",
                   qk->m, qk->n);
    TRY(check_view(ctx, "attention_forward", "scores", qk->c, softmax_elems(sm)));
    TRY(check_view(ctx, "attention_forward", "probabilities", pv->a, softmax_elems(sm)));
    if (!ctx->ops->attention_forward) {
        TRY(dev_matmul(ctx, qk));
        TRY(dev_softmax_forward(ctx, sm, pv->a, qk->c));
        return dev_matmul(ctx, pv);
    }
    DISPATCH(ctx, DEV_OP_ATTENTION_FORWARD, ctx->ops->attention_forward(ctx, qk, sm, pv));
}

mltc_status dev_softmax_dropout_backward(dev_ctx *ctx, const dev_softmax *s, dev_view dx, dev_view dy, dev_view y,
                                         dev_view yd) {
    TRY(check_ctx(ctx));
    TRY(check_softmax(ctx, "softmax_backward", s));
    TRY(check_view(ctx, "softmax_backward", "dx", dx, softmax_elems(s)));
    TRY(check_view(ctx, "softmax_backward", "dy", dy, softmax_elems(s)));
    TRY(check_view(ctx, "softmax_backward", "y", y, softmax_elems(s)));
    if (yd.buf) TRY(check_view(ctx, "softmax_backward", "yd", yd, softmax_elems(s)));
    DISPATCH(ctx, DEV_OP_SOFTMAX_BACKWARD, ctx->ops->softmax_backward(ctx, s, dx, dy, y, yd));
}

/* ---- fused training attention ---- */

/* Elements operand h spans over every sequence and head, from its view's offset. */
static size_t heads_span(const dev_attention_train *a, const dev_heads *h, int rows) {
    size_t last = add_sat(mul_sat((size_t)(a->batch - 1), (size_t)h->stride),
                          mul_sat((size_t)(a->heads - 1), (size_t)h->head_stride));
    return add_sat(add_sat(last, mul_sat((size_t)(rows - 1), (size_t)h->ld)), (size_t)a->dim);
}

static mltc_status check_heads(dev_ctx *ctx, const char *op, const char *arg, const dev_attention_train *a,
                               const dev_heads *h, int rows) {
    if (h->ld < a->dim || h->stride < 0 || h->head_stride != a->dim)
        return BAD(ctx, "%s: '%s' must hold each head's %d columns side by side in rows of ld >= %d (got ld %d, "
                        "head stride %ld, stride %ld)",
                   op, arg, a->dim, a->dim, h->ld, h->head_stride, h->stride);
    return check_view(ctx, op, arg, h->v, heads_span(a, h, rows));
}

static int same_layout(const dev_heads *x, const dev_heads *y) {
    return x->ld == y->ld && x->stride == y->stride && x->head_stride == y->head_stride;
}

static mltc_status check_attention_train(dev_ctx *ctx, const char *op, const dev_attention_train *a) {
    TRY(check_ctx(ctx));
    if (!a) return BAD(ctx, "%s: parameters are NULL", op);
    POSITIVE(ctx, op, "batch", a->batch);
    POSITIVE(ctx, op, "heads", a->heads);
    POSITIVE(ctx, op, "rows", a->rows);
    POSITIVE(ctx, op, "cols", a->cols);
    POSITIVE(ctx, op, "dim", a->dim);
    if (a->dim > DEV_ATTENTION_TRAIN_MAX_DIM)
        return BAD(ctx, "%s: head size %d is above the %d this op takes", op, a->dim, DEV_ATTENTION_TRAIN_MAX_DIM);
    if (!(a->p >= 0.0f && a->p < 1.0f)) return BAD(ctx, "%s: dropout p %g is not in [0, 1)", op, (double)a->p);
    if (a->key_mask.buf) TRY(check_view(ctx, op, "key_mask", a->key_mask, mul_sat((size_t)a->batch, (size_t)a->cols)));
    TRY(check_heads(ctx, op, "q", a, &a->q, a->rows));
    TRY(check_heads(ctx, op, "out", a, &a->out, a->rows));
    TRY(check_heads(ctx, op, "k", a, &a->k, a->cols));
    TRY(check_heads(ctx, op, "v", a, &a->v, a->cols));
    size_t bhr = mul_sat(mul_sat((size_t)a->batch, (size_t)a->heads), (size_t)a->rows);
    TRY(check_view(ctx, op, "lse", a->lse, bhr));
    /* the dropout element index (b, h, i, j) in 32 bits, as a BERT dropout site's counter */
    if (mul_sat(bhr, (size_t)a->cols) > UINT32_MAX || heads_span(a, &a->k, a->cols) > UINT32_MAX)
        return BAD(ctx, "%s: %d x %d x %d x %d is too large for one call", op, a->batch, a->heads, a->rows, a->cols);
    return MLTC_OK;
}

int dev_has_attention_train(dev_ctx *ctx) {
    return ctx && ctx->ops->attention_train_forward && ctx->ops->attention_train_backward;
}

mltc_status dev_attention_train_forward(dev_ctx *ctx, const dev_attention_train *a) {
    const char *op = "attention_train_forward";
    TRY(check_attention_train(ctx, op, a));
    if (!ctx->ops->attention_train_forward)
        return err_set(ctx->err, MLTC_ERR_UNSUPPORTED, "%s: %s has no fused training attention", op, ctx->id);
    DISPATCH(ctx, DEV_OP_ATTENTION_TRAIN_FORWARD, ctx->ops->attention_train_forward(ctx, a));
}

mltc_status dev_attention_train_backward(dev_ctx *ctx, const dev_attention_train *a, const dev_attention_grads *g) {
    const char *op = "attention_train_backward";
    TRY(check_attention_train(ctx, op, a));
    if (!g) return BAD(ctx, "%s: gradients are NULL", op);
    if (!same_layout(&g->dq, &a->q) || !same_layout(&g->dk, &a->k) || !same_layout(&g->dv, &a->v) ||
        !same_layout(&g->dout, &a->out))
        return BAD(ctx, "%s: dq, dk, dv and dout must be laid out as q, k, v and out", op);
    TRY(check_heads(ctx, op, "dout", a, &g->dout, a->rows));
    TRY(check_heads(ctx, op, "dq", a, &g->dq, a->rows));
    TRY(check_heads(ctx, op, "dk", a, &g->dk, a->cols));
    TRY(check_heads(ctx, op, "dv", a, &g->dv, a->cols));
    TRY(check_view(ctx, op, "delta", a->delta, mul_sat(mul_sat((size_t)a->batch, (size_t)a->heads), (size_t)a->rows)));
    if (!ctx->ops->attention_train_backward)
        return err_set(ctx->err, MLTC_ERR_UNSUPPORTED, "%s: %s has no fused training attention", op, ctx->id);
    DISPATCH(ctx, DEV_OP_ATTENTION_TRAIN_BACKWARD, ctx->ops->attention_train_backward(ctx, a, g));
}

mltc_status dev_softmax_backward(dev_ctx *ctx, const dev_softmax *s, dev_view dx, dev_view dy, dev_view y) {
    return dev_softmax_dropout_backward(ctx, s, dx, dy, y, (dev_view){NULL, 0});
}

mltc_status dev_gather_rows(dev_ctx *ctx, dev_view y, dev_view table, dev_view idx, int n, int cols,
                            int table_rows, float beta) {
    TRY(check_ctx(ctx));
    const char *op = "gather_rows";
    POSITIVE(ctx, op, "n", n);
    POSITIVE(ctx, op, "cols", cols);
    POSITIVE(ctx, op, "table_rows", table_rows);
    if (beta != 0.0f && beta != 1.0f) return BAD(ctx, "%s: beta must be 0 or 1 (got %g)", op, beta);
    TRY(check_view(ctx, op, "y", y, (size_t)n * cols));
    TRY(check_view(ctx, op, "table", table, (size_t)table_rows * cols));
    TRY(check_view(ctx, op, "idx", idx, (size_t)n));
    DISPATCH(ctx, DEV_OP_GATHER_ROWS, ctx->ops->gather_rows(ctx, y, table, idx, n, cols, table_rows, beta));
}

mltc_status dev_scatter_add_rows(dev_ctx *ctx, dev_view dst, dev_view src, const dev_rows_plan *plan, int cols) {
    TRY(check_ctx(ctx));
    const char *op = "scatter_add_rows";
    if (!plan) return BAD(ctx, "%s: plan is NULL", op);
    POSITIVE(ctx, op, "cols", cols);
    POSITIVE(ctx, op, "plan.n", plan->n);
    POSITIVE(ctx, op, "plan.nseg", plan->nseg);
    if (plan->nseg > plan->n) return BAD(ctx, "%s: plan has %d segments for %d rows", op, plan->nseg, plan->n);
    TRY(check_view(ctx, op, "plan.rows", plan->rows, (size_t)plan->nseg));
    TRY(check_view(ctx, op, "plan.starts", plan->starts, (size_t)plan->nseg + 1));
    TRY(check_view(ctx, op, "plan.order", plan->order, (size_t)plan->n));
    TRY(check_view(ctx, op, "src", src, (size_t)plan->n * cols));
    /* dst rows are checked when the plan is built; here at least one row must fit. */
    TRY(check_view(ctx, op, "dst", dst, (size_t)cols));
    DISPATCH(ctx, DEV_OP_SCATTER_ADD_ROWS, ctx->ops->scatter_add_rows(ctx, dst, src, plan, cols));
}

static mltc_status check_p(dev_ctx *ctx, const char *op, float p) {
    if (!(p >= 0.0f && p < 1.0f)) return BAD(ctx, "%s: probability %g must be in [0, 1)", op, p);
    return MLTC_OK;
}

mltc_status dev_dropout_forward(dev_ctx *ctx, dev_view y, dev_view x, size_t n, float p, uint64_t seed,
                                uint64_t offset) {
    TRY(check_ctx(ctx));
    TRY(check_p(ctx, "dropout_forward", p));
    TRY(check_view(ctx, "dropout_forward", "y", y, n));
    TRY(check_view(ctx, "dropout_forward", "x", x, n));
    if (!n) return MLTC_OK;
    DISPATCH(ctx, DEV_OP_DROPOUT_FORWARD, ctx->ops->dropout_forward(ctx, y, x, n, p, seed, offset));
}

mltc_status dev_axpby(dev_ctx *ctx, dev_view y, float alpha, dev_view a, float beta, dev_view b, size_t n) {
    TRY(check_ctx(ctx));
    TRY(check_view(ctx, "axpby", "y", y, n));
    TRY(check_view(ctx, "axpby", "a", a, n));
    TRY(check_view(ctx, "axpby", "b", b, n));
    if (!n) return MLTC_OK;
    DISPATCH(ctx, DEV_OP_AXPBY, ctx->ops->axpby(ctx, y, alpha, a, beta, b, n));
}

/* Shapes, probability and the views an add_layernorm reads and writes in both directions. */
static mltc_status check_add_layernorm(dev_ctx *ctx, const char *op, const dev_add_layernorm *f) {
    if (!f) return BAD(ctx, "%s: the op's description is NULL", op);
    POSITIVE(ctx, op, "rows", f->rows);
    POSITIVE(ctx, op, "cols", f->cols);
    if (!(f->eps > 0)) return BAD(ctx, "%s: eps must be > 0", op);
    TRY(check_p(ctx, op, f->p));
    size_t rc = (size_t)f->rows * f->cols, r = (size_t)f->rows, k = (size_t)f->cols;
    TRY(check_view(ctx, op, "sum", f->sum, rc));
    TRY(check_view(ctx, op, "w", f->w, k));
    TRY(check_view(ctx, op, "mean", f->mean, r));
    TRY(check_view(ctx, op, "rstd", f->rstd, r));
    return MLTC_OK;
}

mltc_status dev_add_layernorm_forward(dev_ctx *ctx, const dev_add_layernorm *f) {
    TRY(check_ctx(ctx));
    const char *op = "add_layernorm_forward";
    TRY(check_add_layernorm(ctx, op, f));
    size_t rc = (size_t)f->rows * f->cols, k = (size_t)f->cols;
    TRY(check_view(ctx, op, "x", f->x, rc));
    TRY(check_view(ctx, op, "res", f->res, rc));
    TRY(check_view(ctx, op, "y", f->y, rc));
    TRY(check_view(ctx, op, "b", f->b, k));
    if (f->bias.buf) TRY(check_view(ctx, op, "bias", f->bias, k));
    DISPATCH(ctx, DEV_OP_ADD_LAYERNORM_FORWARD, ctx->ops->add_layernorm_forward(ctx, f));
}

mltc_status dev_add_layernorm_backward(dev_ctx *ctx, const dev_add_layernorm *f, const dev_add_layernorm_grads *g) {
    TRY(check_ctx(ctx));
    const char *op = "add_layernorm_backward";
    TRY(check_add_layernorm(ctx, op, f));
    if (!g) return BAD(ctx, "%s: the gradients are NULL", op);
    size_t rc = (size_t)f->rows * f->cols, k = (size_t)f->cols;
    TRY(check_view(ctx, op, "dy", g->dy, rc));
    TRY(check_view(ctx, op, "dsum", g->dsum, rc));
    TRY(check_view(ctx, op, "dx", g->dx, rc));
    TRY(check_view(ctx, op, "dw", g->dw, k));
    TRY(check_view(ctx, op, "db", g->db, k));
    if (f->bias.buf) TRY(check_view(ctx, op, "dbias", g->dbias, k));
    else if (g->dbias.buf) return BAD(ctx, "%s: dbias is given but the op has no bias", op);
    if (f->p > 0.0f && g->dx.buf == g->dsum.buf && g->dx.off == g->dsum.off)
        return BAD(ctx, "%s: dx may equal dsum only without dropout (p is %g)", op, f->p);
    DISPATCH(ctx, DEV_OP_ADD_LAYERNORM_BACKWARD, ctx->ops->add_layernorm_backward(ctx, f, g));
}

mltc_status dev_bias_gelu_forward(dev_ctx *ctx, dev_view y, dev_view pre, dev_view bias, int rows, int cols) {
    TRY(check_ctx(ctx));
    const char *op = "bias_gelu_forward";
    POSITIVE(ctx, op, "rows", rows);
    POSITIVE(ctx, op, "cols", cols);
    TRY(check_view(ctx, op, "y", y, (size_t)rows * cols));
    TRY(check_view(ctx, op, "pre", pre, (size_t)rows * cols));
    TRY(check_view(ctx, op, "bias", bias, (size_t)cols));
    DISPATCH(ctx, DEV_OP_BIAS_GELU_FORWARD, ctx->ops->bias_gelu_forward(ctx, y, pre, bias, rows, cols));
}

mltc_status dev_bias_gelu_backward(dev_ctx *ctx, dev_view dx, dev_view dbias, dev_view dy, dev_view pre, int rows,
                                   int cols) {
    TRY(check_ctx(ctx));
    const char *op = "bias_gelu_backward";
    POSITIVE(ctx, op, "rows", rows);
    POSITIVE(ctx, op, "cols", cols);
    TRY(check_view(ctx, op, "dx", dx, (size_t)rows * cols));
    TRY(check_view(ctx, op, "dy", dy, (size_t)rows * cols));
    TRY(check_view(ctx, op, "pre", pre, (size_t)rows * cols));
    TRY(check_view(ctx, op, "dbias", dbias, (size_t)cols));
    DISPATCH(ctx, DEV_OP_BIAS_GELU_BACKWARD, ctx->ops->bias_gelu_backward(ctx, dx, dbias, dy, pre, rows, cols));
}

mltc_status dev_crossentropy_forward(dev_ctx *ctx, dev_view loss, dev_view logits, dev_view target, int rows,
                                     int vocab) {
    TRY(check_ctx(ctx));
    const char *op = "crossentropy_forward";
    POSITIVE(ctx, op, "rows", rows);
    POSITIVE(ctx, op, "vocab", vocab);
    TRY(check_view(ctx, op, "loss", loss, (size_t)rows));
    TRY(check_view(ctx, op, "logits", logits, (size_t)rows * vocab));
    TRY(check_view(ctx, op, "target", target, (size_t)rows));
    DISPATCH(ctx, DEV_OP_CROSSENTROPY_FORWARD, ctx->ops->crossentropy_forward(ctx, loss, logits, target, rows, vocab));
}

mltc_status dev_crossentropy_backward(dev_ctx *ctx, dev_view dlogits, dev_view logits, dev_view target, int rows,
                                      int vocab, float scale) {
    TRY(check_ctx(ctx));
    const char *op = "crossentropy_backward";
    POSITIVE(ctx, op, "rows", rows);
    POSITIVE(ctx, op, "vocab", vocab);
    TRY(check_view(ctx, op, "dlogits", dlogits, (size_t)rows * vocab));
    TRY(check_view(ctx, op, "logits", logits, (size_t)rows * vocab));
    TRY(check_view(ctx, op, "target", target, (size_t)rows));
    DISPATCH(ctx, DEV_OP_CROSSENTROPY_BACKWARD,
             ctx->ops->crossentropy_backward(ctx, dlogits, logits, target, rows, vocab, scale));
}

mltc_status dev_bce_forward(dev_ctx *ctx, dev_view loss, dev_view logits, dev_view targets, size_t n) {
    TRY(check_ctx(ctx));
    TRY(check_view(ctx, "bce_forward", "loss", loss, n));
    TRY(check_view(ctx, "bce_forward", "logits", logits, n));
    TRY(check_view(ctx, "bce_forward", "targets", targets, n));
    if (!n) return MLTC_OK;
    DISPATCH(ctx, DEV_OP_BCE_FORWARD, ctx->ops->bce_forward(ctx, loss, logits, targets, n));
}

mltc_status dev_bce_backward(dev_ctx *ctx, dev_view dlogits, dev_view logits, dev_view targets, size_t n,
                             float scale) {
    TRY(check_ctx(ctx));
    TRY(check_view(ctx, "bce_backward", "dlogits", dlogits, n));
    TRY(check_view(ctx, "bce_backward", "logits", logits, n));
    TRY(check_view(ctx, "bce_backward", "targets", targets, n));
    if (!n) return MLTC_OK;
    DISPATCH(ctx, DEV_OP_BCE_BACKWARD, ctx->ops->bce_backward(ctx, dlogits, logits, targets, n, scale));
}

static mltc_status check_label_attention(dev_ctx *ctx, const char *op, const dev_label_attention *a) {
    if (!a) return BAD(ctx, "%s: parameters are NULL", op);
    POSITIVE(ctx, op, "batch", a->batch);
    POSITIVE(ctx, op, "words", a->words);
    POSITIVE(ctx, op, "labels", a->labels);
    POSITIVE(ctx, op, "dim", a->dim);
    size_t bt = (size_t)a->batch * a->words;
    TRY(check_view(ctx, op, "h", a->h, mul_sat(bt, (size_t)a->dim)));
    TRY(check_view(ctx, op, "l", a->l, (size_t)a->labels * a->dim));
    TRY(check_view(ctx, op, "word_mask", a->word_mask, bt));
    TRY(check_view(ctx, op, "out", a->out, (size_t)a->batch * a->dim));
    TRY(check_view(ctx, op, "weights", a->weights, bt));
    TRY(check_view(ctx, op, "argmax", a->argmax, bt));
    return MLTC_OK;
}

mltc_status dev_label_attention_forward(dev_ctx *ctx, const dev_label_attention *a) {
    TRY(check_ctx(ctx));
    TRY(check_label_attention(ctx, "label_attention_forward", a));
    DISPATCH(ctx, DEV_OP_LABEL_ATTENTION_FORWARD, ctx->ops->label_attention_forward(ctx, a));
}

mltc_status dev_label_attention_backward(dev_ctx *ctx, const dev_label_attention *a, dev_view dh, dev_view dl,
                                         dev_view dout) {
    TRY(check_ctx(ctx));
    const char *op = "label_attention_backward";
    TRY(check_label_attention(ctx, op, a));
    TRY(check_view(ctx, op, "dh", dh, mul_sat((size_t)a->batch * a->words, (size_t)a->dim)));
    TRY(check_view(ctx, op, "dl", dl, (size_t)a->labels * a->dim));
    TRY(check_view(ctx, op, "dout", dout, (size_t)a->batch * a->dim));
    DISPATCH(ctx, DEV_OP_LABEL_ATTENTION_BACKWARD, ctx->ops->label_attention_backward(ctx, a, dh, dl, dout));
}

mltc_status dev_sumsq(dev_ctx *ctx, dev_view out, dev_view x, size_t n) {
    TRY(check_ctx(ctx));
    POSITIVE(ctx, "sumsq", "n", (long)n);
    TRY(check_view(ctx, "sumsq", "out", out, 1));
    TRY(check_view(ctx, "sumsq", "x", x, n));
    DISPATCH(ctx, DEV_OP_SUMSQ, ctx->ops->sumsq(ctx, out, x, n));
}

mltc_status dev_adamw(dev_ctx *ctx, const dev_adamw_args *a) {
    TRY(check_ctx(ctx));
    const char *op = "adamw";
    if (!a) return BAD(ctx, "%s: parameters are NULL", op);
    POSITIVE(ctx, op, "n", (long)a->n);
    POSITIVE(ctx, op, "step", a->step);
    if (!(a->beta1 >= 0 && a->beta1 < 1 && a->beta2 >= 0 && a->beta2 < 1))
        return BAD(ctx, "%s: betas (%g, %g) must be in [0, 1)", op, a->beta1, a->beta2);
    if (!(a->eps > 0)) return BAD(ctx, "%s: eps must be > 0", op);
    TRY(check_view(ctx, op, "param", a->param, a->n));
    TRY(check_view(ctx, op, "grad", a->grad, a->n));
    TRY(check_view(ctx, op, "m", a->m, a->n));
    TRY(check_view(ctx, op, "v", a->v, a->n));
    if (a->sumsq.buf) {
        TRY(check_view(ctx, op, "sumsq", a->sumsq, 1));
        if (!(a->max_norm > 0)) return BAD(ctx, "%s: max_norm must be > 0 when clipping", op);
    }
    DISPATCH(ctx, DEV_OP_ADAMW, ctx->ops->adamw(ctx, a));
}

/* ---- scatter plans -------------------------------------------------------------------- */

int dev_rows_plan_host(const int32_t *idx, int n, int32_t *rows, int32_t *starts, int32_t *order) {
    /* Counting sort by destination row keeps source order within a row: deterministic. */
    int32_t max = 0;
    for (int i = 0; i < n; i++)
        if (idx[i] > max) max = idx[i];
    int32_t *count = calloc((size_t)max + 2, sizeof *count);
    if (!count) return -1;
    for (int i = 0; i < n; i++) count[idx[i] + 1]++;
    int nseg = 0;
    for (int32_t r = 0; r <= max; r++) {
        if (count[r + 1]) {
            rows[nseg++] = r;
        }
        count[r + 1] += count[r];
    }
    for (int s = 0; s < nseg; s++) starts[s] = count[rows[s]];
    starts[nseg] = n;
    for (int i = 0; i < n; i++) order[count[idx[i]]++] = i;
    free(count);
    return nseg;
}

mltc_status dev_rows_plan_upload(dev_ctx *ctx, const int32_t *idx, int n, int table_rows, dev_view dst,
                                 int32_t *host_scratch, dev_rows_plan *plan) {
    TRY(check_ctx(ctx));
    if (!idx || !plan) return BAD(ctx, "rows_plan: idx or plan is NULL");
    memset(plan, 0, sizeof *plan);
    POSITIVE(ctx, "rows_plan", "n", n);
    size_t elems = 3 * (size_t)n + 1;
    TRY(check_view(ctx, "rows_plan", "dst", dst, elems));
    for (int i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= table_rows)
            return BAD(ctx, "rows_plan: idx[%d] = %d is outside [0, %d)", i, idx[i], table_rows);
    int32_t *host = host_scratch ? host_scratch : malloc(sizeof(int32_t) * elems);
    if (!host) return err_set(ctx->err, MLTC_ERR_OUT_OF_MEMORY, "rows_plan: %zu bytes", 4 * elems);
    /* Layout: rows [n] | starts [n+1] | order [n]; only nseg(+1) of the first two are used. */
    int nseg = dev_rows_plan_host(idx, n, host, host + n, host + 2 * n + 1);
    mltc_status st = nseg < 0 ? err_set(ctx->err, MLTC_ERR_OUT_OF_MEMORY, "rows_plan: no memory for %d rows",
                                        table_rows)
                              : dev_upload(ctx, dst.buf, dst.off * 4, host, 4 * elems);
    if (!host_scratch) free(host);
    if (st != MLTC_OK) return st;
    plan->nseg = nseg;
    plan->n = n;
    plan->rows = dst;
    plan->starts = dev_at(dst, (size_t)n);
    plan->order = dev_at(dst, 2 * (size_t)n + 1);
    return MLTC_OK;
}

mltc_status dev_rows_plan_build(dev_ctx *ctx, const int32_t *idx, int n, int table_rows, dev_rows_plan *plan) {
    TRY(check_ctx(ctx));
    if (!plan) return BAD(ctx, "rows_plan_build: plan is NULL");
    memset(plan, 0, sizeof *plan);
    POSITIVE(ctx, "rows_plan_build", "n", n);
    dev_buf *buf = NULL;
    TRY(dev_alloc(ctx, sizeof(int32_t) * (3 * (size_t)n + 1), &buf));
    mltc_status st = dev_rows_plan_upload(ctx, idx, n, table_rows, (dev_view){buf, 0}, NULL, plan);
    if (st != MLTC_OK) dev_free(ctx, buf);
    return st;
}

void dev_rows_plan_free(dev_ctx *ctx, dev_rows_plan *plan) {
    if (!plan) return;
    dev_free(ctx, plan->rows.buf);
    memset(plan, 0, sizeof *plan);
}
