/*
 * The device interface: one vtable of ops, each with forward and backward, that every
 * backend (cpu, opencl, vulkan) implements. Model code above this layer never knows which
 * backend runs it; code below it never knows what BERT is.
 *
 * Conventions, the same for every op and every backend:
 *  - Every element is 4 bytes: float32 data, or int32 for index buffers.
 *  - A dev_view names a buffer and an element offset into it; ops address tensors through
 *    views so one flat parameter buffer can hold every weight (named views, llm.c style).
 *  - Shapes are row-major; the last dimension is contiguous.
 *  - Backward ops ACCUMULATE (+=) into every gradient they write, input gradients included.
 *    Callers zero gradient buffers before a backward pass.
 *  - Ops are enqueued in order; a backend may defer execution until dev_sync or
 *    dev_download (Vulkan records chunks of commands and submits them without waiting; OpenCL
 *    enqueues without blocking): dev_download and dev_sync wait for the device, uploads only past
 *    tens of MiB not yet copied (a model at set-up). Host memory given to dev_upload may be
 *    reused as soon as the call returns.
 *  - Output views must not overlap input views unless an op says otherwise.
 *  - Every call returns a status. The dev_* wrappers below check arguments (NULL buffers,
 *    negative sizes, views that run past their buffer) before a backend sees them, so a
 *    backend implements only valid calls; a bad call returns MLTC_ERR_INVALID_ARGUMENT with
 *    a message naming the op and the argument.
 *
 * Adding an op. The list of ops is src/device/device_ops.def; the dev_op enum, the op names, the
 * vtable's entries and every backend's declarations and vtable initialisers are made from it.
 * For an op `foo` of family F (the [F] the list gives each op, e.g. elementwise), the files to
 * touch are:
 *  1. src/device/device_ops.def: DEV_OP(foo, FOO, (dev_ctx *ctx, ...)) and a comment saying what
 *     it computes (DEV_OP_OPTIONAL if a backend may go without it; dev_foo then needs a fallback).
 *  2. src/device/device.c: dev_foo, the checked wrapper (every argument checked, then
 *     DISPATCH(ctx, DEV_OP_FOO, ctx->ops->foo(...))), declared at the end of this file.
 *  3. src/device/cpu/F.c: cpu_foo, the reference every other backend is tested against.
 *  4. src/device/opencl/F.c: ocl_foo; its kernel in kernels_cl/F.cl (softmax.cl for attention),
 *     with a K_FOO in opencl/internal.h's ocl_kernel_id and its row in opencl/cache.c's table.
 *  5. src/device/vulkan/F.c: vk_foo; its shader, shaders/foo.comp.
 *  6. tests/test_ops.c: foo on every backend against a double-precision reference written from
 *     the comment in (1); for a backward op, tests/test_gradcheck.c against its forward.
 *  7. tools/bench_ops.c: a row, in GFLOP/s or GB/s.
 * A backend without its <prefix>_foo does not link: the vtable names it.
 */
#ifndef MLTC_DEVICE_H
#define MLTC_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* A device buffer. Backends embed this header as the FIRST member of their own buffer
 * struct so the shared argument checks can read its size. */
typedef struct dev_buf {
    size_t bytes;
} dev_buf;

/* A tensor: buffer plus offset in 4-byte elements. */
typedef struct dev_view {
    dev_buf *buf;
    size_t off;
} dev_view;

static inline dev_view dev_at(dev_view v, size_t elems) {
    dev_view r = {v.buf, v.off + elems};
    return r;
}

/* The ops, DEV_OP_MATMUL ... in the order of device_ops.def. */
typedef enum dev_op {
#define DEV_OP(name, NAME, params) DEV_OP_##NAME,
#include "device/device_ops.def"
    DEV_OP_COUNT
} dev_op;

const char *dev_op_name(dev_op op);

/* ---- op parameters ------------------------------------------------------------------- */

/* C = alpha * op(A) * op(B) + beta * C, row-major, for `batch` independent problems.
 * op(A) is m x k: A is stored m x k (lda >= k) or, with trans_a, k x m (lda >= m).
 * op(B) is k x n: B is stored k x n (ldb >= n) or, with trans_b, n x k (ldb >= k).
 * C is m x n (ldc >= n). Problem i uses a + i*stride_a, b + i*stride_b, c + i*stride_c.
 * With heads > 1 there are batch x heads problems, problem (i, j) at a + i*stride_a +
 * j*head_stride_a (b, c alike): attention reads each head's columns where the projection wrote
 * them ([B, T, H*D] rows, ld = the row length, head_stride = D) instead of a permuted copy.
 * beta == 0 means C is not read (it may hold NaN).
 * bias (buf == NULL: none) adds bias[n] to every row of C: C = alpha*op(A)*op(B) + beta*C + bias,
 * for batch 1 and a dense C (ldc == n) only. It is part of the op, not a second pass, so a backend
 * can fold it in: the CPU's sgemm accumulates onto C pre-filled with the bias (a BLAS with
 * beta == 0 clears C first anyway), which saves the separate read and write of C. */
typedef struct dev_gemm {
    int trans_a, trans_b;
    int m, n, k;
    float alpha, beta;
    dev_view a, b, c;
    int lda, ldb, ldc;
    long stride_a, stride_b, stride_c;
    int batch; /* >= 1 */
    dev_view bias;
    int heads; /* problems per batch entry; 0 counts as 1 */
    long head_stride_a, head_stride_b, head_stride_c;
} dev_gemm;

/* The heads and problems (batch x heads) of a dev_gemm, and the element offset of problem p of
 * A, B or C given that operand's strides. */
static inline int dev_gemm_heads(const dev_gemm *g) { return g->heads > 1 ? g->heads : 1; }
static inline int dev_gemm_problems(const dev_gemm *g) { return g->batch * dev_gemm_heads(g); }
static inline size_t dev_gemm_offset(const dev_gemm *g, long stride, long head_stride, int p) {
    int h = dev_gemm_heads(g);
    return (size_t)(p / h) * (size_t)stride + (size_t)(p % h) * (size_t)head_stride;
}
/* Elements operand 'a', 'b' or 'c' spans over all the problems, from its view's offset (the last
 * problem's offset plus one matrix; saturating at SIZE_MAX where the arithmetic would wrap). */
size_t dev_gemm_span(const dev_gemm *g, char operand);

/* Scaled masked softmax over the last axis of x[batch, heads, rows, cols]:
 *   y[b,h,i,j] = exp(scale*x - max) / sum, over the columns j whose key_mask[b*cols + j] != 0.
 * key_mask (float, 1 = real token, 0 = padding) may be NULL (no masking). Masked columns get
 * y = 0; a row whose columns are all masked is all zeros (and gets zero gradient). */
typedef struct dev_softmax {
    int batch, heads, rows, cols;
    float scale;
    dev_view key_mask; /* buf == NULL: none */
} dev_softmax;

/* A sublayer's end in one op (add_layernorm_forward): s = dropout(x + bias) + res, y = LayerNorm(s)
 * with weight w and bias b, over `rows` rows of `cols`. s is what the backward reads (with w, mean
 * and rstd). sum may equal x; no other output may overlap an input. */
typedef struct dev_add_layernorm {
    int rows, cols;
    float eps;
    dev_view x;    /* [rows, cols]: the sublayer's output before its bias */
    dev_view bias; /* [cols]; buf == NULL: none */
    dev_view res;  /* [rows, cols]: the residual input */
    float p;       /* dropout probability of x + bias; 0: none */
    uint64_t seed, offset;
    dev_view w, b;                /* [cols]: LayerNorm's weight and bias */
    dev_view sum, y, mean, rstd; /* written: s and y [rows, cols], mean and rstd [rows] */
} dev_add_layernorm;

/* The gradients of add_layernorm_backward. */
typedef struct dev_add_layernorm_grads {
    dev_view dy;     /* [rows, cols]: d y, read */
    dev_view dsum;   /* [rows, cols]: d s, written (the residual's gradient) */
    dev_view dx;     /* [rows, cols]: d x = dropout(d s), written; may equal dsum when p is 0 */
    dev_view dw, db; /* [cols] += */
    dev_view dbias;  /* [cols] += the column sums of dx; buf == NULL when f->bias is none */
} dev_add_layernorm_grads;

/* One operand of training attention per (sequence b, head h): rows `ld` floats apart starting at
 * v + b*stride + h*head_stride, each head's dim columns side by side (head_stride == dim). */
typedef struct dev_heads {
    dev_view v;
    int ld;
    long stride, head_stride;
} dev_heads;

/* Fused attention for training (flash-attention style): for every sequence b and head h, R query
 * rows q[i] over T key rows k[j], v[j] of dim D:
 *   s_ij = scale * q_i . k_j over keys with key_mask[b*T + j] != 0 (key_mask NULL: every key)
 *   P_ij = exp(s_ij - lse_i), lse_i = log sum_j exp(s_ij) (a row with every key masked: P = 0,
 *          lse_i = MLTC_ATT_NO_KEYS)
 *   out_i = sum_j P_ij z_ij v_j, z_ij = keep_ij / (1 - p) (p == 0: z = 1), where keep_ij is
 *          philox_uniform(seed, offset + ((b*H + h)*R + i)*T + j) >= p: the same element index,
 *          hence the same mask, as dropout_forward over a dense [B, H, R, T] probability buffer.
 * Nothing of size [R, T] is stored: the backward recomputes P and the mask from q, k and lse. */
#define MLTC_ATT_NO_KEYS 1e30f
typedef struct dev_attention_train {
    int batch, heads, rows, cols, dim; /* B, H, R (query rows), T (keys), D */
    float scale;
    dev_view key_mask; /* [B, T] float, buf NULL: none */
    float p;           /* dropout on the probabilities, in [0, 1) */
    uint64_t seed, offset;
    dev_heads q, out; /* R rows each */
    dev_heads k, v;   /* T rows each */
    dev_view lse;     /* [B, H, R]: written by the forward, read by the backward */
    dev_view delta;   /* [B, H, R]: the backward's scratch, rowsum(dout * out) */
} dev_attention_train;

/* The gradients of dev_attention_train's backward, laid out as the operand each belongs to
 * (dq as q, dk as k, dv as v, dout as out). dq, dk, dv are written, not accumulated. */
typedef struct dev_attention_grads {
    dev_heads dout, dq, dk, dv;
} dev_attention_grads;

/* Deterministic scatter-add plan for dst[row[s]] += sum of src rows listed for segment s.
 * Built on the host (dev_rows_plan_build) from the index list of a gather, so every backend
 * sums the same rows in the same order with no float atomics:
 *   for s in [0, nseg): dst[rows[s], :] += sum over p in [starts[s], starts[s+1]) of src[order[p], :]
 * (the sum over p is formed first, in increasing p, then added to dst). rows, starts and
 * order are int32 device buffers. */
typedef struct dev_rows_plan {
    int nseg, n;
    dev_view rows;   /* [nseg] destination row of each segment, distinct */
    dev_view starts; /* [nseg + 1] */
    dev_view order;  /* [n] source rows, grouped by destination, increasing within a group */
} dev_rows_plan;

/* Cosine label attention (BERT-LAM) over words h[batch, words, dim] and labels l[labels, dim]:
 *   sim[b,t,k] = (h[b,t] . l[k]) / (|h[b,t]|_e * |l[k]|_e),  |x|_e = sqrt(sum x^2 + 1e-12)
 *   a[b,t]     = max_k sim[b,t,k]  (ties: smallest k),   argmax saved as int32 (-1: masked word)
 *   w[b,:]     = softmax over t of a[b,t], restricted to word_mask[b,t] != 0
 *   out[b,:]   = sum_t w[b,t] * h[b,t,:]
 * A row with no unmasked word gives w = 0 and out = 0. */
typedef struct dev_label_attention {
    int batch, words, labels, dim;
    dev_view h, l, word_mask;
    dev_view out;     /* [batch, dim] */
    dev_view weights; /* [batch, words], saved for backward */
    dev_view argmax;  /* [batch, words] int32, saved for backward */
} dev_label_attention;

/* Fused AdamW (PyTorch semantics: decoupled weight decay, bias correction) over n elements:
 *   g = grad * clip, clip = min(1, max_norm / (sqrt(*sumsq) + 1e-6)) when sumsq.buf != NULL
 *   m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*g^2
 *   p = p - lr*weight_decay*p - lr * (m / (1-beta1^step)) / (sqrt(v / (1-beta2^step)) + eps)
 * step counts from 1. sumsq is a one-element buffer written by dev_sumsq. */
typedef struct dev_adamw_args {
    size_t n;
    dev_view param, grad, m, v;
    float lr, beta1, beta2, eps, weight_decay;
    int step;
    dev_view sumsq; /* buf == NULL: no clipping */
    float max_norm;
} dev_adamw_args;

/* ---- the vtable ---------------------------------------------------------------------- */

typedef struct dev_ctx dev_ctx;

/* The arithmetic of dev_matmul. fp32 is the default and what every other op uses. bf16 is the
 * opt-in speed path of mixed-precision training (PyTorch's autocast): both operands rounded to
 * bfloat16 (8 bits of mantissa), products summed in fp32, the result stored in fp32; parameters,
 * gradients, optimizer state and every other op stay fp32. */
typedef enum dev_precision { DEV_PREC_FP32 = 0, DEV_PREC_BF16 = 1 } dev_precision;

typedef struct dev_ops {
    void (*destroy)(dev_ctx *ctx);
    int (*supports)(dev_ctx *ctx, dev_op op);

    mltc_status (*alloc)(dev_ctx *ctx, size_t bytes, dev_buf **out);
    void (*free)(dev_ctx *ctx, dev_buf *buf);
    mltc_status (*upload)(dev_ctx *ctx, dev_buf *dst, size_t dst_byte_off, const void *src, size_t bytes);
    mltc_status (*download)(dev_ctx *ctx, dev_buf *src, size_t src_byte_off, void *dst, size_t bytes);
    mltc_status (*copy)(dev_ctx *ctx, dev_view dst, dev_view src, size_t n);
    mltc_status (*fill)(dev_ctx *ctx, dev_view dst, size_t n, float value);
    mltc_status (*sync)(dev_ctx *ctx);

    /* Optional (NULL: fp32 only): MLTC_OK when matmul can run in precision p on this device
     * (then it reads ctx->matmul_precision), else MLTC_ERR_UNSUPPORTED saying why. */
    mltc_status (*check_precision)(dev_ctx *ctx, dev_precision p);

    /* The ops: mltc_status (*name)(params) for each entry of device_ops.def, which says what
     * each computes. An optional one (DEV_OP_OPTIONAL) may be NULL. */
#define DEV_OP(name, NAME, params) mltc_status(*name) params;
#include "device/device_ops.def"
} dev_ops;

/* What a backend asked of the device, counted by the backend itself where it makes the call
 * (exact, never sampled): the figures that decide how a discrete GPU spends a step. A backend
 * without the concept leaves a field at 0 (the CPU counts only allocations). */
typedef struct dev_counts {
    long dispatches;  /* commands that compute: kernel launches and dispatches, device-side copies and
                         fills (a CLBlast call counts as one: CLBlast may launch more inside) */
    long transfers;   /* host <-> device copies enqueued (uploads, downloads) */
    long barriers;    /* pipeline barriers recorded (Vulkan; an in-order OpenCL queue has none) */
    long host_waits;  /* calls that block the host until the device is done: clFinish, blocking
                         reads and writes, vkWaitForFences, vkDeviceWaitIdle */
    long allocations; /* device buffers created: clCreateBuffer, vkCreateBuffer, the CPU's buffers */
    long submits;     /* work handed to the device: vkQueueSubmit, clFlush and clFinish */
} dev_counts;

/* The part of every backend context that shared code reads. Backends embed it first. */
struct dev_ctx {
    const dev_ops *ops;
    mltc_error *err;   /* where failures are described; owned by the caller */
    char id[32];       /* "cpu", "opencl:0", ... */
    dev_precision matmul_precision; /* set through dev_set_matmul_precision; fp32 at open */
    dev_counts counts; /* since the context opened; the backend adds to it */
    /* The model runs the unfused reference sequence of ops (bias, dropout, residual add, LayerNorm,
     * GELU each a pass of its own) instead of the fused ones: set at open from MLTC_UNFUSED=1, and
     * by tests, which check that both give the same result. */
    int unfused;
};

/* ctx's counts since it opened; b - a for a span between two reads. */
static inline dev_counts dev_counts_read(const dev_ctx *ctx) { return ctx->counts; }
static inline dev_counts dev_counts_diff(dev_counts b, dev_counts a) {
    dev_counts d = {b.dispatches - a.dispatches, b.transfers - a.transfers, b.barriers - a.barriers,
                    b.host_waits - a.host_waits, b.allocations - a.allocations, b.submits - a.submits};
    return d;
}

/* ---- backends and selection ---------------------------------------------------------- */

typedef struct dev_backend {
    const char *name; /* "cpu", "opencl", "vulkan" */
    /* Fills up to max entries; sets *count to the number of devices present. A missing
     * runtime returns MLTC_ERR_UNSUPPORTED with the reason in err. */
    mltc_status (*enumerate)(mltc_error *err, mltc_device_info *infos, int max, int *count);
    mltc_status (*open)(mltc_error *err, int index, dev_ctx **out);
} dev_backend;

/* The backends compiled into this build, NULL-terminated. */
const dev_backend *const *dev_backends(void);

/* Opens "cpu", "opencl", "opencl:N", "vulkan", "vulkan:N"; NULL or "" means the MLTC_DEVICE
 * environment variable, or "cpu" when it is unset. */
mltc_status dev_open(mltc_error *err, const char *spec, dev_ctx **out);
void dev_close(dev_ctx *ctx);

/* ---- checked entry points: validate, then dispatch to ctx->ops ------------------------ */

mltc_status dev_alloc(dev_ctx *ctx, size_t bytes, dev_buf **out);
void dev_free(dev_ctx *ctx, dev_buf *buf);
mltc_status dev_upload(dev_ctx *ctx, dev_buf *dst, size_t dst_byte_off, const void *src, size_t bytes);
mltc_status dev_download(dev_ctx *ctx, dev_buf *src, size_t src_byte_off, void *dst, size_t bytes);
mltc_status dev_copy(dev_ctx *ctx, dev_view dst, dev_view src, size_t n);
mltc_status dev_fill(dev_ctx *ctx, dev_view dst, size_t n, float value);
mltc_status dev_sync(dev_ctx *ctx);
int dev_supports(dev_ctx *ctx, dev_op op);

mltc_status dev_matmul(dev_ctx *ctx, const dev_gemm *g);
/* One plain row-major product through dev_matmul: C = op(A) op(B) + beta C (alpha 1, batch 1, no
 * bias), A, B and C with leading dimensions lda, ldb and ldc. */
mltc_status dev_gemm_rm(dev_ctx *ctx, int trans_a, int trans_b, int m, int n, int k, float beta, dev_view a, int lda,
                        dev_view b, int ldb, dev_view c, int ldc);
mltc_status dev_bias_add(dev_ctx *ctx, dev_view y, dev_view bias, int rows, int cols);
mltc_status dev_bias_backward(dev_ctx *ctx, dev_view dbias, dev_view dy, int rows, int cols);
mltc_status dev_layernorm_forward(dev_ctx *ctx, dev_view y, dev_view mean, dev_view rstd, dev_view x, dev_view w,
                                  dev_view b, int rows, int cols, float eps);
mltc_status dev_layernorm_backward(dev_ctx *ctx, dev_view dx, dev_view dw, dev_view db, dev_view dy, dev_view x,
                                   dev_view w, dev_view mean, dev_view rstd, int rows, int cols);
mltc_status dev_gelu_forward(dev_ctx *ctx, dev_view y, dev_view x, size_t n);
mltc_status dev_gelu_backward(dev_ctx *ctx, dev_view dx, dev_view dy, dev_view x, size_t n);
mltc_status dev_softmax_forward(dev_ctx *ctx, const dev_softmax *s, dev_view y, dev_view x);
/* Attention without a backward to feed (inference): qk computes the scores into qk->c, sm is
 * their softmax into pv->a (R = qk->m query rows over T = qk->n keys per problem, pv->a read
 * untransposed), pv multiplies it by the values into pv->c. A backend may fuse the three and
 * leave qk->c and pv->a unwritten; either way their contents afterwards are unspecified. */
mltc_status dev_attention_forward(dev_ctx *ctx, const dev_gemm *qk, const dev_softmax *sm, const dev_gemm *pv);

/* Fused training attention (dev_attention_train); optional ops: MLTC_ERR_UNSUPPORTED where the
 * backend has none (dev_has_attention_train says beforehand). Shapes and views are checked. */
mltc_status dev_attention_train_forward(dev_ctx *ctx, const dev_attention_train *a);
mltc_status dev_attention_train_backward(dev_ctx *ctx, const dev_attention_train *a, const dev_attention_grads *g);
int dev_has_attention_train(dev_ctx *ctx);
/* The largest head size dim the fused training attention takes (the kernels keep a row in
 * registers). */
#define DEV_ATTENTION_TRAIN_MAX_DIM 64

/* The precision of this device's matmuls from now on (dev_precision); a precision the device
 * cannot run is MLTC_ERR_UNSUPPORTED with the reason, the old one kept. */
mltc_status dev_set_matmul_precision(dev_ctx *ctx, dev_precision p);
/* "fp32" or "bf16" (the names the command line and the API take). */
mltc_status dev_precision_parse(mltc_error *err, const char *name, dev_precision *out);
const char *dev_precision_name(dev_precision p);
mltc_status dev_softmax_backward(dev_ctx *ctx, const dev_softmax *s, dev_view dx, dev_view dy, dev_view y);
/* The softmax backward through a dropout of its output yd = dropout(y); dy is d yd. */
mltc_status dev_softmax_dropout_backward(dev_ctx *ctx, const dev_softmax *s, dev_view dx, dev_view dy, dev_view y,
                                         dev_view yd);
mltc_status dev_gather_rows(dev_ctx *ctx, dev_view y, dev_view table, dev_view idx, int n, int cols,
                            int table_rows, float beta);
mltc_status dev_scatter_add_rows(dev_ctx *ctx, dev_view dst, dev_view src, const dev_rows_plan *plan, int cols);
mltc_status dev_dropout_forward(dev_ctx *ctx, dev_view y, dev_view x, size_t n, float p, uint64_t seed,
                                uint64_t offset);
mltc_status dev_axpby(dev_ctx *ctx, dev_view y, float alpha, dev_view a, float beta, dev_view b, size_t n);
mltc_status dev_add_layernorm_forward(dev_ctx *ctx, const dev_add_layernorm *f);
mltc_status dev_add_layernorm_backward(dev_ctx *ctx, const dev_add_layernorm *f, const dev_add_layernorm_grads *g);
mltc_status dev_bias_gelu_forward(dev_ctx *ctx, dev_view y, dev_view pre, dev_view bias, int rows, int cols);
mltc_status dev_bias_gelu_backward(dev_ctx *ctx, dev_view dx, dev_view dbias, dev_view dy, dev_view pre, int rows,
                                   int cols);
mltc_status dev_crossentropy_forward(dev_ctx *ctx, dev_view loss, dev_view logits, dev_view target, int rows,
                                     int vocab);
mltc_status dev_crossentropy_backward(dev_ctx *ctx, dev_view dlogits, dev_view logits, dev_view target, int rows,
                                      int vocab, float scale);
mltc_status dev_bce_forward(dev_ctx *ctx, dev_view loss, dev_view logits, dev_view targets, size_t n);
mltc_status dev_bce_backward(dev_ctx *ctx, dev_view dlogits, dev_view logits, dev_view targets, size_t n,
                             float scale);
mltc_status dev_label_attention_forward(dev_ctx *ctx, const dev_label_attention *a);
mltc_status dev_label_attention_backward(dev_ctx *ctx, const dev_label_attention *a, dev_view dh, dev_view dl,
                                         dev_view dout);
mltc_status dev_sumsq(dev_ctx *ctx, dev_view out, dev_view x, size_t n);
mltc_status dev_adamw(dev_ctx *ctx, const dev_adamw_args *a);

/* Builds the scatter plan for index list idx[n] (host memory, values in [0, table_rows))
 * into freshly allocated device buffers (one int32 buffer holding rows, starts, order).
 * Release with dev_rows_plan_free. */
mltc_status dev_rows_plan_build(dev_ctx *ctx, const int32_t *idx, int n, int table_rows, dev_rows_plan *plan);
void dev_rows_plan_free(dev_ctx *ctx, dev_rows_plan *plan);

/* Builds the plan for idx[n] on the host and uploads it into dst, which must hold 3n + 1
 * int32 elements; the plan's views point into dst. For plans rebuilt every step. host_scratch
 * holds 3n + 1 int32 (or NULL to allocate one for the call). */
mltc_status dev_rows_plan_upload(dev_ctx *ctx, const int32_t *idx, int n, int table_rows, dev_view dst,
                                 int32_t *host_scratch, dev_rows_plan *plan);

/* Host-side plan (no device): rows/starts/order into caller arrays of sizes n, n+1, n.
 * Returns nseg. Shared by dev_rows_plan_build and the tests. */
int dev_rows_plan_host(const int32_t *idx, int n, int32_t *rows, int32_t *starts, int32_t *order);

#endif
