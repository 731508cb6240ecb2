/*
 * bench_ops: op throughput of one device through device.h only, so cpu, opencl and vulkan
 * are measured the same way. GEMM in GFLOP/s at BERT-base shapes (tokens x 768 x 768 for the
 * projections, x 3072 for the feed-forward pair, and the attention batches of 16 sequences x
 * 12 heads; inference attention whole, as three ops and through dev_attention_forward, in the
 * GFLOP/s of its two products; the fused training attention's forward and backward, in those of
 * the two and four products they replace), and the memory-bound ops in GB/s of bytes they must read and
 * write.
 *
 *   bench_ops [--device D] [--json] [--tokens N] [--seconds S] [--precision fp32|bf16]
 *
 * Each op runs once to warm up (kernel builds, first-touch), then repeatedly between two
 * dev_sync calls for about S seconds (default 0.3); the time reported is per call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/platform.h"
#include "device/device.h"

static mltc_error E;
static dev_ctx *C;

static double now(void) { return plat_seconds(); }

static void die(const char *what) {
    fprintf(stderr, "bench_ops: %s: %s\n", what, E.msg[0] ? E.msg : "failed");
    exit(1);
}

static dev_buf *buf(size_t elems, float value) {
    dev_buf *b = NULL;
    if (dev_alloc(C, elems * 4, &b) != MLTC_OK) die("alloc");
    if (dev_fill(C, (dev_view){b, 0}, elems, value) != MLTC_OK) die("fill");
    return b;
}

static dev_view V(dev_buf *b) { return (dev_view){b, 0}; }

/* One benchmark: a call that enqueues the op once, and the work it does per call. */
typedef struct bench {
    const char *name;
    char shape[64];
    double flops, bytes; /* per call; one of them is 0 */
    mltc_status (*call)(void *arg);
    void *arg;
} bench;

typedef struct result {
    const char *name;
    char shape[64];
    double ms, rate; /* GFLOP/s or GB/s */
    int is_flops;
    int iters;
} result;

static double seconds_target = 0.3;

static result measure(const bench *b) {
    if (b->call(b->arg) != MLTC_OK) die(b->name); /* warm-up */
    if (dev_sync(C) != MLTC_OK) die("sync");
    double t0 = now();
    if (b->call(b->arg) != MLTC_OK) die(b->name);
    if (dev_sync(C) != MLTC_OK) die("sync");
    double one = now() - t0;
    int iters = one > 0 ? (int)(seconds_target / one) : 100;
    if (iters < 1) iters = 1;
    if (iters > 200) iters = 200;
    t0 = now();
    for (int i = 0; i < iters; i++)
        if (b->call(b->arg) != MLTC_OK) die(b->name);
    if (dev_sync(C) != MLTC_OK) die("sync");
    double per = (now() - t0) / iters;
    result r = {b->name, "", per * 1e3, 0, b->flops > 0, iters};
    snprintf(r.shape, sizeof r.shape, "%s", b->shape);
    r.rate = (b->flops > 0 ? b->flops : b->bytes) / per / 1e9;
    return r;
}

/* ---- the ops ------------------------------------------------------------------------------ */

static mltc_status call_gemm(void *arg) { return dev_matmul(C, (const dev_gemm *)arg); }

typedef struct ln_args {
    dev_buf *y, *mean, *rstd, *x, *w, *b;
    int rows, cols;
} ln_args;
static mltc_status call_layernorm(void *arg) {
    ln_args *a = arg;
    return dev_layernorm_forward(C, V(a->y), V(a->mean), V(a->rstd), V(a->x), V(a->w), V(a->b), a->rows, a->cols,
                                 1e-12f);
}

typedef struct ew_args {
    dev_buf *y, *a, *b, *c, *d;
    size_t n;
    dev_softmax sm;
    int step;
} ew_args;
/* The fused sublayer end over ln's rows, with dropout 0.1: x + bias in place, the residual the
 * rows of x after them (x holds the FFN's width). */
static mltc_status call_add_layernorm(void *arg) {
    ln_args *a = arg;
    dev_view res = dev_at(V(a->x), (size_t)a->rows * a->cols);
    dev_add_layernorm f = {a->rows, a->cols, 1e-12f, V(a->x), V(a->b), res, 0.1f, 1234, 0, V(a->w), V(a->b),
                           V(a->x), V(a->y), V(a->mean), V(a->rstd)};
    return dev_add_layernorm_forward(C, &f);
}
static mltc_status call_gelu(void *arg) {
    ew_args *a = arg;
    return dev_gelu_forward(C, V(a->y), V(a->a), a->n);
}
static mltc_status call_bias_gelu(void *arg) {
    ew_args *a = arg;
    return dev_bias_gelu_forward(C, V(a->y), V(a->a), V(a->b), (int)(a->n / 3072), 3072);
}
static mltc_status call_softmax(void *arg) {
    ew_args *a = arg;
    return dev_softmax_forward(C, &a->sm, V(a->y), V(a->a));
}
static mltc_status call_dropout(void *arg) {
    ew_args *a = arg;
    return dev_dropout_forward(C, V(a->y), V(a->a), a->n, 0.1f, 1234, 0);
}
static mltc_status call_axpby(void *arg) {
    ew_args *a = arg;
    return dev_axpby(C, V(a->y), 1.0f, V(a->a), 1.0f, V(a->b), a->n);
}
static mltc_status call_adamw(void *arg) {
    ew_args *a = arg;
    dev_adamw_args w = {a->n, V(a->y), V(a->a), V(a->b), V(a->c), 1e-4f, 0.9f, 0.999f, 1e-8f, 0.01f, ++a->step,
                        {NULL, 0}, 1.0f};
    return dev_adamw(C, &w);
}

/* Attention for inference: the three ops one after the other, or dev_attention_forward (which
 * a backend may fuse); the scores in att, the probabilities in pv->a. */
typedef struct att_args {
    dev_gemm qk, pv;
    dev_softmax sm;
} att_args;
static mltc_status call_attention_3ops(void *arg) {
    att_args *a = arg;
    mltc_status st = dev_matmul(C, &a->qk);
    if (!st) st = dev_softmax_forward(C, &a->sm, a->pv.a, a->qk.c);
    return st ? st : dev_matmul(C, &a->pv);
}
static mltc_status call_attention(void *arg) {
    att_args *a = arg;
    return dev_attention_forward(C, &a->qk, &a->sm, &a->pv);
}

/* Fused training attention (dev_attention_train), forward and backward, dropout 0.1: where the
 * device has it, in the GFLOP/s of the products it replaces (two forward, four backward). */
typedef struct att_train_args {
    dev_attention_train a;
    dev_attention_grads g;
} att_train_args;
static mltc_status call_attention_train_fwd(void *arg) {
    return dev_attention_train_forward(C, &((att_train_args *)arg)->a);
}
static mltc_status call_attention_train_bwd(void *arg) {
    att_train_args *t = arg;
    return dev_attention_train_backward(C, &t->a, &t->g);
}

static void usage(void) {
    printf("usage: bench_ops [--device D] [--json] [--tokens N] [--seconds S] [--precision P]\n"
           "  --device D   cpu, opencl[:N], vulkan[:N] (default: MLTC_DEVICE, else cpu)\n"
           "  --json       print JSON instead of a table\n"
           "  --tokens N   rows of the token-major shapes (default 2048 = 16 sequences x 128)\n"
           "  --seconds S  time spent per op after warm-up (default 0.3)\n"
           "  --precision P  matmul precision, fp32 (default) or bf16 where the device has it\n");
}

int main(int argc, char **argv) {
    const char *spec = NULL, *precision = "fp32";
    int json = 0, tokens = 2048;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc)
            spec = argv[++i];
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--tokens") && i + 1 < argc)
            tokens = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds_target = atof(argv[++i]);
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc)
            precision = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return 0;
        } else {
            fprintf(stderr, "bench_ops: unknown argument '%s'\n", argv[i]);
            usage();
            return 2;
        }
    }
    if (tokens < 1 || !(seconds_target > 0)) {
        fprintf(stderr, "bench_ops: --tokens and --seconds must be positive\n");
        return 2;
    }
    dev_precision prec;
    if (dev_precision_parse(&E, precision, &prec) != MLTC_OK) {
        fprintf(stderr, "bench_ops: %s\n", E.msg);
        return 2;
    }
    if (dev_open(&E, spec, &C) != MLTC_OK) die("open");
    if (dev_set_matmul_precision(C, prec) != MLTC_OK) die("--precision");

    const int H = 768, F = 3072, HEADS = 12, SEQ = 128, HD = 64, BH = 16 * HEADS;
    size_t T = (size_t)tokens;
    dev_buf *x = buf(T * F, 0.01f), *y = buf(T * F, 0.0f), *w = buf((size_t)F * H, 0.02f);
    dev_buf *q = buf((size_t)BH * SEQ * HD, 0.01f), *k = buf((size_t)BH * SEQ * HD, 0.01f);
    dev_buf *att = buf((size_t)BH * SEQ * SEQ, 0.0f);
    dev_buf *lw = buf(H, 1.0f), *lb = buf(H, 0.0f), *mean = buf(T, 0.0f), *rstd = buf(T, 0.0f);

    /* y[T, n] = x[T, k] * W^T with W stored [n, k]: how a linear layer runs forward. */
    dev_gemm g_qkv = {0, 1, tokens, H, H, 1.0f, 0.0f, V(x), V(w), V(y), H, H, H, 0, 0, 0, 1, {NULL, 0}, 0, 0, 0, 0};
    dev_gemm g_up = {0, 1, tokens, F, H, 1.0f, 0.0f, V(x), V(w), V(y), H, H, F, 0, 0, 0, 1, {NULL, 0}, 0, 0, 0, 0};
    dev_gemm g_down = {0, 1, tokens, H, F, 1.0f, 0.0f, V(x), V(w), V(y), F, F, H, 0, 0, 0, 1, {NULL, 0}, 0, 0, 0, 0};
    /* scores = Q K^T per (sequence, head); context = P V. */
    dev_gemm g_qk = {0, 1, SEQ, SEQ, HD, 0.125f, 0.0f, V(q), V(k), V(att), HD, HD, SEQ,
                     SEQ * HD, SEQ * HD, SEQ * SEQ, BH, {NULL, 0}, 0, 0, 0, 0};
    dev_gemm g_pv = {0, 0, SEQ, HD, SEQ, 1.0f, 0.0f, V(att), V(k), V(q), SEQ, HD, HD, SEQ * SEQ, SEQ * HD, SEQ * HD, BH, {NULL, 0}, 0, 0, 0, 0};
    ln_args ln = {y, mean, rstd, x, lw, lb, tokens, H};
    size_t nh = T * H, nf = T * F, nsm = (size_t)BH * SEQ * SEQ;
    ew_args e_gelu = {y, x, NULL, NULL, NULL, nf, {0}, 0};
    ew_args e_bias_gelu = {y, x, w, NULL, NULL, nf, {0}, 0}; /* w's first F floats as the bias */
    ew_args e_sm = {att, att, NULL, NULL, NULL, nsm, {16, HEADS, SEQ, SEQ, 0.125f, {NULL, 0}}, 0};
    dev_buf *sm_out = buf(nsm, 0.0f);
    e_sm.y = sm_out;
    att_args e_att = {g_qk, g_pv, {BH, 1, SEQ, SEQ, 0.125f, {NULL, 0}}};
    e_att.pv.a = V(sm_out);
    ew_args e_drop = {y, x, NULL, NULL, NULL, nh, {0}, 0};
    ew_args e_axpby = {y, x, y, NULL, NULL, nh, {0}, 0};
    /* AdamW over the feed-forward pair of one layer (2 x 768 x 3072 parameters). */
    size_t np = (size_t)2 * F * H;
    dev_buf *p = buf(np, 0.01f), *pg = buf(np, 0.001f), *pm = buf(np, 0.0f), *pv = buf(np, 0.0f);
    ew_args e_adam = {p, pg, pm, pv, NULL, np, {0}, 0};
    /* the encoder's layout: 16 sequences of SEQ rows, the heads side by side (rows of 768) */
    size_t nqk = (size_t)BH * SEQ * HD;
    dev_buf *t_out = buf(nqk, 0.0f), *t_dout = buf(nqk, 0.01f), *t_dq = buf(nqk, 0.0f), *t_dk = buf(nqk, 0.0f);
    dev_buf *t_dv = buf(nqk, 0.0f), *t_lse = buf((size_t)BH * SEQ, 0.0f), *t_delta = buf((size_t)BH * SEQ, 0.0f);
    dev_heads hq = {V(q), HEADS * HD, (long)SEQ * HEADS * HD, HD}, hk = hq, ho = hq;
    hk.v = V(k), ho.v = V(t_out);
    att_train_args e_train = {{.batch = 16, .heads = HEADS, .rows = SEQ, .cols = SEQ, .dim = HD, .scale = 0.125f,
                               .p = 0.1f, .seed = 1, .q = hq, .out = ho, .k = hk, .v = hk, .lse = V(t_lse),
                               .delta = V(t_delta)},
                              {hq, hq, hq, hq}};
    e_train.g.dout.v = V(t_dout), e_train.g.dq.v = V(t_dq), e_train.g.dk.v = V(t_dk), e_train.g.dv.v = V(t_dv);

    bench benches[] = {
        {"gemm qkv/out", "", 2.0 * T * H * H, 0, call_gemm, &g_qkv},
        {"gemm ffn up", "", 2.0 * T * F * H, 0, call_gemm, &g_up},
        {"gemm ffn down", "", 2.0 * T * H * F, 0, call_gemm, &g_down},
        {"gemm attn QK^T", "", 2.0 * BH * SEQ * SEQ * HD, 0, call_gemm, &g_qk},
        {"gemm attn PV", "", 2.0 * BH * SEQ * HD * SEQ, 0, call_gemm, &g_pv},
        {"layernorm fwd", "", 0, 8.0 * nh, call_layernorm, &ln},
        {"gelu fwd", "", 0, 8.0 * nf, call_gelu, &e_gelu},
        {"add_layernorm fwd", "", 0, 16.0 * nh, call_add_layernorm, &ln},
        {"bias_gelu fwd", "", 0, 12.0 * nf, call_bias_gelu, &e_bias_gelu},
        {"softmax fwd", "", 0, 8.0 * nsm, call_softmax, &e_sm},
        {"attention 3 ops", "", 4.0 * BH * SEQ * SEQ * HD, 0, call_attention_3ops, &e_att},
        {"attention fwd", "", 4.0 * BH * SEQ * SEQ * HD, 0, call_attention, &e_att},
        {"dropout fwd", "", 0, 8.0 * nh, call_dropout, &e_drop},
        {"axpby", "", 0, 12.0 * nh, call_axpby, &e_axpby},
        {"adamw", "", 0, 28.0 * np, call_adamw, &e_adam},
        {"attn train fwd", "", 4.0 * BH * SEQ * SEQ * HD, 0, call_attention_train_fwd, &e_train},
        {"attn train bwd", "", 8.0 * BH * SEQ * SEQ * HD, 0, call_attention_train_bwd, &e_train},
    };
    int nb = (int)(sizeof benches / sizeof *benches);
    if (!dev_has_attention_train(C)) nb -= 2; /* the last two rows */
    snprintf(benches[0].shape, 64, "%dx%dx%d", tokens, H, H);
    snprintf(benches[1].shape, 64, "%dx%dx%d", tokens, F, H);
    snprintf(benches[2].shape, 64, "%dx%dx%d", tokens, H, F);
    snprintf(benches[3].shape, 64, "%dx(%dx%dx%d)", BH, SEQ, SEQ, HD);
    snprintf(benches[4].shape, 64, "%dx(%dx%dx%d)", BH, SEQ, HD, SEQ);
    snprintf(benches[5].shape, 64, "%dx%d", tokens, H);
    snprintf(benches[6].shape, 64, "%zu", nf);
    snprintf(benches[7].shape, 64, "%dx%d", tokens, H);
    snprintf(benches[8].shape, 64, "%dx%d", tokens, F);
    snprintf(benches[9].shape, 64, "%dx%dx%dx%d", 16, HEADS, SEQ, SEQ);
    snprintf(benches[10].shape, 64, "%dx(%dx%d, d %d)", BH, SEQ, SEQ, HD);
    snprintf(benches[11].shape, 64, "%dx(%dx%d, d %d)", BH, SEQ, SEQ, HD);
    snprintf(benches[12].shape, 64, "%zu", nh);
    snprintf(benches[13].shape, 64, "%zu", nh);
    snprintf(benches[14].shape, 64, "%zu", np);
    snprintf(benches[15].shape, 64, "%dx(%dx%d, d %d)", BH, SEQ, SEQ, HD);
    snprintf(benches[16].shape, 64, "%dx(%dx%d, d %d)", BH, SEQ, SEQ, HD);

    result res[sizeof benches / sizeof benches[0]];
    for (int i = 0; i < nb; i++) {
        res[i] = measure(&benches[i]);
        if (!json) {
            if (i == 0) printf("%-16s %-20s %10s %12s %6s   (%s)\n", "op", "shape", "ms/call", "rate", "iters", C->id);
            printf("%-16s %-20s %10.3f %8.2f %-6s %5d\n", res[i].name, res[i].shape, res[i].ms, res[i].rate,
                   res[i].is_flops ? "GFLOP/s" : "GB/s", res[i].iters);
            fflush(stdout);
        }
    }
    if (json) {
        printf("{\n  \"device\": \"%s\",\n  \"tokens\": %d,\n  \"results\": [\n", C->id, tokens);
        for (int i = 0; i < nb; i++)
            printf("    {\"op\": \"%s\", \"shape\": \"%s\", \"ms\": %.6f, \"%s\": %.4f, \"iters\": %d}%s\n", res[i].name,
                   res[i].shape, res[i].ms, res[i].is_flops ? "gflops" : "gbps", res[i].rate, res[i].iters,
                   i + 1 < nb ? "," : "");
        printf("  ]\n}\n");
    }
    dev_buf *all[] = {x, y, w, q, k, att, lw, lb, mean, rstd, sm_out, p, pg, pm, pv,
                      t_out, t_dout, t_dq, t_dk, t_dv, t_lse, t_delta};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) dev_free(C, all[i]);
    dev_close(C);
    return 0;
}
