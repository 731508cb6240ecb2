/* ctest: per-backend */
/*
 * The fused training attention (dev_attention_train_forward / _backward) on the backend named in
 * argv[1], where the backend has it (otherwise skipped):
 *  - against a double-precision reference written from device_ops.def's formulas, forward (out,
 *    lse) and backward (dq, dk, dv), over odd sizes (T = 1, 7, 33, 130), key padding masks (a
 *    sequence with every key masked too), dropout off and on, and R < T with the selected-output
 *    layout (q rows ld C, k and v rows ld 2C);
 *  - against the reference path on the same backend (matmul, softmax, dropout_forward, matmul and
 *    their backward), which draws its dropout mask through dropout_forward: the same mask;
 *  - against the CPU backend's fused op (the oracle) when the backend is not the CPU;
 *  - twice run, bit-identical (no atomics);
 *  - a whole tiny BERT: one training step's gradients with dropout, fused against reference
 *    attention (MLTC_ATTENTION=reference), relative to the largest gradient of each tensor.
 * Tolerances: sums of T products of O(1) values in fp32, against double: atol 2e-5 * sqrt(T) + 1e-5
 * and rtol 1e-4 (a wrong index, a dropped key or a different mask errs by ~1e-1).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/platform.h"
#include "device/philox.h"
#include "model/bert.h"
#include "testutil.h"

static dev_ctx *C, *CPU;
static mltc_error E;

typedef struct att_case {
    int B, H, R, T, D;
    int masked;   /* key padding: sequence b keeps its first T - b*(T/3) keys; with 2, sequence 1 keeps none */
    float p;      /* attention dropout */
    int selected; /* q [B, R, C] ld C, k and v [B, T, 2C] ld 2C; else q, k, v in one [B, T, 3C] */
    int v_first;  /* selected: v's columns before k's (a backend that writes dk and dv together must cope) */
} att_case;

/* Host data of one case and the double-precision reference. */
typedef struct att_data {
    att_case c;
    size_t nq, nkv, no; /* elements of the q, the k/v and the out buffers */
    float *q, *kv, *dout, *mask;
    dev_heads hq, hk, hv, ho; /* layouts with offsets into the host buffers (buf NULL) */
    double *out, *lse, *dq, *dk, *dv;
} att_data;

static const uint64_t SEED = 0x5eed1234abcdull, OFFSET = ((uint64_t)7 << 40) | ((uint64_t)4 << 32);

static size_t at(const dev_heads *x, int b, int h, int i) {
    return x->v.off + (size_t)b * (size_t)x->stride + (size_t)h * (size_t)x->head_stride + (size_t)i * (size_t)x->ld;
}

static double keep_factor(const att_case *c, int b, int h, int i, int j) {
    if (c->p <= 0.0f) return 1.0;
    uint64_t idx = OFFSET + (((uint64_t)b * c->H + (uint64_t)h) * (uint64_t)c->R + (uint64_t)i) * (uint64_t)c->T + j;
    return philox_uniform(SEED, idx) >= c->p ? 1.0 / (1.0 - (double)c->p) : 0.0;
}

static void reference(att_data *d) {
    const att_case *c = &d->c;
    int B = c->B, H = c->H, R = c->R, T = c->T, D = c->D;
    double scale = 1.0 / sqrt((double)D);
    double *P = malloc(sizeof *P * (size_t)T), *dP = malloc(sizeof *dP * (size_t)T);
    size_t rows = (size_t)B * H * R;
    d->out = calloc((size_t)B * R * H * D, sizeof(double));
    d->lse = calloc(rows, sizeof(double));
    d->dq = calloc((size_t)B * R * H * D, sizeof(double));
    d->dk = calloc((size_t)B * T * H * D, sizeof(double));
    d->dv = calloc((size_t)B * T * H * D, sizeof(double));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < R; i++) {
                const float *qi = d->q + at(&d->hq, b, h, i), *gi = d->dout + at(&d->ho, b, h, i);
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < T; j++) {
                    const float *kj = d->kv + at(&d->hk, b, h, j);
                    double s = 0;
                    for (int e = 0; e < D; e++) s += (double)qi[e] * kj[e];
                    P[j] = d->mask[b * T + j] != 0.0f ? scale * s : -INFINITY;
                    mx = P[j] > mx ? P[j] : mx;
                }
                size_t row = ((size_t)b * H + h) * R + i, o = (((size_t)b * R + i) * H + h) * D;
                if (mx == -INFINITY) {
                    d->lse[row] = MLTC_ATT_NO_KEYS; /* out, dq stay 0 */
                    continue;
                }
                for (int j = 0; j < T; j++) sum += P[j] == -INFINITY ? 0.0 : exp(P[j] - mx);
                d->lse[row] = mx + log(sum);
                double delta = 0;
                for (int j = 0; j < T; j++) {
                    P[j] = P[j] == -INFINITY ? 0.0 : exp(P[j] - mx) / sum;
                    double z = keep_factor(c, b, h, i, j);
                    const float *vj = d->kv + at(&d->hv, b, h, j);
                    for (int e = 0; e < D; e++) d->out[o + e] += P[j] * z * vj[e];
                    double dp = 0;
                    for (int e = 0; e < D; e++) dp += (double)gi[e] * vj[e];
                    dP[j] = dp;
                }
                for (int e = 0; e < D; e++) delta += (double)gi[e] * d->out[o + e];
                for (int j = 0; j < T; j++) {
                    double z = keep_factor(c, b, h, i, j), ds = P[j] * (z * dP[j] - delta);
                    const float *kj = d->kv + at(&d->hk, b, h, j);
                    size_t kvo = (((size_t)b * T + j) * H + h) * D;
                    for (int e = 0; e < D; e++) {
                        d->dq[o + e] += scale * ds * kj[e];
                        d->dk[kvo + e] += scale * ds * qi[e];
                        d->dv[kvo + e] += P[j] * z * gi[e];
                    }
                }
            }
    free(P);
    free(dP);
}

static void make_data(const att_case *c, att_data *d) {
    memset(d, 0, sizeof *d);
    d->c = *c;
    int B = c->B, R = c->R, T = c->T, Cw = c->H * c->D;
    long Cl = Cw;
    if (c->selected) {
        d->nq = (size_t)B * R * Cw;
        d->nkv = (size_t)B * T * 2 * Cw;
        d->hq = (dev_heads){{NULL, 0}, Cw, (long)R * Cl, c->D};
        size_t ko = c->v_first ? (size_t)Cw : 0, vo = c->v_first ? 0 : (size_t)Cw;
        d->hk = (dev_heads){{NULL, ko}, 2 * Cw, (long)T * 2 * Cl, c->D};
        d->hv = (dev_heads){{NULL, vo}, 2 * Cw, (long)T * 2 * Cl, c->D};
    } else { /* q, k, v interleaved in one [B, T, 3C], R == T */
        d->nq = 0;
        d->nkv = (size_t)B * T * 3 * Cw;
        d->hq = (dev_heads){{NULL, 0}, 3 * Cw, (long)T * 3 * Cl, c->D};
        d->hk = (dev_heads){{NULL, (size_t)Cw}, 3 * Cw, (long)T * 3 * Cl, c->D};
        d->hv = (dev_heads){{NULL, 2 * (size_t)Cw}, 3 * Cw, (long)T * 3 * Cl, c->D};
    }
    d->no = (size_t)B * R * Cw;
    d->ho = (dev_heads){{NULL, 0}, Cw, (long)R * Cl, c->D};
    d->kv = malloc(sizeof(float) * d->nkv);
    tu_fill_uniform(d->kv, d->nkv, -1.5f, 1.5f);
    if (c->selected) {
        d->q = malloc(sizeof(float) * d->nq);
        tu_fill_uniform(d->q, d->nq, -1.5f, 1.5f);
    } else {
        d->q = d->kv;
    }
    d->dout = malloc(sizeof(float) * d->no);
    tu_fill_uniform(d->dout, d->no, -1.0f, 1.0f);
    d->mask = malloc(sizeof(float) * (size_t)B * T);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < T; j++) {
            int keep = !c->masked || j < T - b * (T / 3);
            if (c->masked == 2 && b == 1) keep = 0;
            d->mask[b * T + j] = keep ? 1.0f : 0.0f;
        }
    reference(d);
}

static void free_data(att_data *d) {
    if (d->q != d->kv) free(d->q);
    free(d->kv);
    free(d->dout);
    free(d->mask);
    free(d->out);
    free(d->lse);
    free(d->dq);
    free(d->dk);
    free(d->dv);
}

/* The device side of one case: buffers and the op's arguments. */
typedef struct att_dev {
    dev_buf *q, *kv, *out, *dout, *mask, *lse, *delta, *dq, *dkv;
    dev_attention_train a;
    dev_attention_grads g;
} att_dev;

static dev_heads on(dev_buf *b, dev_heads h) {
    h.v.buf = b;
    return h;
}

static void dev_setup(dev_ctx *ctx, const att_data *d, att_dev *x) {
    const att_case *c = &d->c;
    size_t rows = (size_t)c->B * c->H * c->R;
    x->kv = tu_buf(ctx, d->kv, d->nkv);
    x->q = c->selected ? tu_buf(ctx, d->q, d->nq) : x->kv;
    x->out = tu_zeros(ctx, d->no);
    x->dout = tu_buf(ctx, d->dout, d->no);
    x->mask = c->masked ? tu_buf(ctx, d->mask, (size_t)c->B * c->T) : NULL;
    x->lse = tu_zeros(ctx, rows);
    x->delta = tu_zeros(ctx, rows);
    x->dq = c->selected ? tu_zeros(ctx, d->nq) : NULL;
    x->dkv = tu_zeros(ctx, d->nkv);
    if (!x->dq) x->dq = x->dkv;
    x->a = (dev_attention_train){.batch = c->B, .heads = c->H, .rows = c->R, .cols = c->T, .dim = c->D,
                                 .scale = 1.0f / sqrtf((float)c->D), .key_mask = {x->mask, 0}, .p = c->p,
                                 .seed = SEED, .offset = OFFSET, .q = on(x->q, d->hq), .out = on(x->out, d->ho),
                                 .k = on(x->kv, d->hk), .v = on(x->kv, d->hv), .lse = tu_v(x->lse),
                                 .delta = tu_v(x->delta)};
    x->g = (dev_attention_grads){.dout = on(x->dout, d->ho), .dq = on(x->dq, d->hq), .dk = on(x->dkv, d->hk),
                                 .dv = on(x->dkv, d->hv)};
}

static void dev_teardown(dev_ctx *ctx, att_dev *x) {
    if (x->q != x->kv) dev_free(ctx, x->q);
    if (x->dq != x->dkv) dev_free(ctx, x->dq);
    dev_buf *bufs[] = {x->kv, x->out, x->dout, x->mask, x->lse, x->delta, x->dkv};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) dev_free(ctx, bufs[i]);
}

/* Results of one run, host copies in the host layouts. */
typedef struct att_result {
    float *out, *lse, *dq, *dkv; /* dq == dkv (one buffer) unless selected */
} att_result;

static att_result run_fused(dev_ctx *ctx, const att_data *d) {
    att_dev x;
    dev_setup(ctx, d, &x);
    tu_must(dev_attention_train_forward(ctx, &x.a), &E, "attention_train_forward");
    tu_must(dev_attention_train_backward(ctx, &x.a, &x.g), &E, "attention_train_backward");
    att_result r = {tu_get(ctx, x.out, d->no), tu_get(ctx, x.lse, (size_t)d->c.B * d->c.H * d->c.R), NULL,
                    tu_get(ctx, x.dkv, d->nkv)};
    r.dq = d->c.selected ? tu_get(ctx, x.dq, d->nq) : r.dkv;
    dev_teardown(ctx, &x);
    return r;
}

/* The reference path of bert_layer.c on the same device: scores, softmax, dropout, PV; dP, dV,
 * softmax-dropout backward, dQ, dK. */
static att_result run_reference(dev_ctx *ctx, const att_data *d) {
    const att_case *c = &d->c;
    int B = c->B, H = c->H, R = c->R, T = c->T, D = c->D;
    size_t n = (size_t)B * H * R * T;
    att_dev x;
    dev_setup(ctx, d, &x);
    dev_buf *S = tu_zeros(ctx, n), *P = tu_zeros(ctx, n), *Pd = tu_zeros(ctx, n);
    dev_heads hs = {tu_v(S), T, (long)H * R * T, (long)R * T};
    dev_softmax sm = {B, H, R, T, x.a.scale, x.a.key_mask};
#define GEMM(ta, tb, m_, n_, k_, A, Bm, Cm)                                                                         \
    (dev_gemm) {                                                                                                  \
        .trans_a = ta, .trans_b = tb, .m = m_, .n = n_, .k = k_, .alpha = 1.0f, .a = (A).v, .b = (Bm).v,           \
        .c = (Cm).v, .lda = (A).ld, .ldb = (Bm).ld, .ldc = (Cm).ld, .stride_a = (A).stride,                       \
        .stride_b = (Bm).stride, .stride_c = (Cm).stride, .batch = B, .heads = H, .head_stride_a = (A).head_stride, \
        .head_stride_b = (Bm).head_stride, .head_stride_c = (Cm).head_stride                                      \
    }
    dev_heads hp = hs, hpd = hs;
    hp.v = tu_v(P), hpd.v = tu_v(Pd);
    dev_gemm g1 = GEMM(0, 1, R, T, D, x.a.q, x.a.k, hs);
    tu_must(dev_matmul(ctx, &g1), &E, "reference: scores");
    tu_must(dev_softmax_forward(ctx, &sm, hp.v, hs.v), &E, "reference: softmax");
    dev_heads used = hp;
    if (c->p > 0.0f) {
        tu_must(dev_dropout_forward(ctx, hpd.v, hp.v, n, c->p, SEED, OFFSET), &E, "reference: dropout");
        used = hpd;
    }
    dev_gemm g2 = GEMM(0, 0, R, D, T, used, x.a.v, x.a.out);
    tu_must(dev_matmul(ctx, &g2), &E, "reference: PV");
    dev_gemm g3 = GEMM(0, 1, R, T, D, x.g.dout, x.a.v, hs); /* dP into S */
    tu_must(dev_matmul(ctx, &g3), &E, "reference: dP");
    dev_gemm g4 = GEMM(1, 0, T, D, R, used, x.g.dout, x.g.dv);
    tu_must(dev_matmul(ctx, &g4), &E, "reference: dV");
    tu_must(dev_softmax_dropout_backward(ctx, &sm, hs.v, hs.v, hp.v, c->p > 0.0f ? hpd.v : (dev_view){NULL, 0}), &E,
            "reference: softmax backward");
    dev_gemm g5 = GEMM(0, 0, R, D, T, hs, x.a.k, x.g.dq);
    tu_must(dev_matmul(ctx, &g5), &E, "reference: dQ");
    dev_gemm g6 = GEMM(1, 0, T, D, R, hs, x.a.q, x.g.dk);
    tu_must(dev_matmul(ctx, &g6), &E, "reference: dK");
#undef GEMM
    att_result r = {tu_get(ctx, x.out, d->no), NULL, NULL, tu_get(ctx, x.dkv, d->nkv)};
    r.dq = c->selected ? tu_get(ctx, x.dq, d->nq) : r.dkv;
    dev_free(ctx, S);
    dev_free(ctx, P);
    dev_free(ctx, Pd);
    dev_teardown(ctx, &x);
    return r;
}

static void free_result(att_result *r, int selected) {
    free(r->out);
    free(r->lse);
    if (selected) free(r->dq);
    free(r->dkv);
}

/* Host reference values in the device layout of operand h (elements outside it: 0). */
static double *in_layout(const att_data *d, const double *ref, const dev_heads *h, int rows, size_t n,
                         double *into) {
    const att_case *c = &d->c;
    for (int b = 0; b < c->B; b++)
        for (int hh = 0; hh < c->H; hh++)
            for (int i = 0; i < rows; i++)
                for (int e = 0; e < c->D; e++)
                    into[at(h, b, hh, i) + e] = ref[(((size_t)b * rows + i) * c->H + hh) * c->D + e];
    (void)n;
    return into;
}

static int close_to(const char *what, const att_case *c, const float *got, const double *want, size_t n) {
    char name[160];
    snprintf(name, sizeof name, "%s (B%d H%d R%d T%d D%d mask %d p %.2f %s)", what, c->B, c->H, c->R, c->T, c->D,
             c->masked, (double)c->p, c->selected ? "selected" : "full");
    return tu_close(name, got, want, n, 1e-5 + 2e-5 * sqrt((double)c->T), 1e-4);
}

static void compare_results(const char *what, const att_case *c, const att_result *a, const att_result *b,
                            const att_data *d) {
    double *wa = malloc(sizeof(double) * d->nkv);
    for (size_t i = 0; i < d->no; i++) wa[i] = b->out[i];
    char name[64];
    snprintf(name, sizeof name, "%s: out", what);
    close_to(name, c, a->out, wa, d->no);
    for (size_t i = 0; i < d->nkv; i++) wa[i] = b->dkv[i];
    snprintf(name, sizeof name, "%s: %s", what, c->selected ? "dk, dv" : "dq, dk, dv");
    close_to(name, c, a->dkv, wa, d->nkv);
    if (c->selected) {
        for (size_t i = 0; i < d->nq; i++) wa[i] = b->dq[i];
        snprintf(name, sizeof name, "%s: dq", what);
        close_to(name, c, a->dq, wa, d->nq);
    }
    free(wa);
}

static void test_case(const att_case *c) {
    att_data d;
    make_data(c, &d);
    att_result f = run_fused(C, &d);

    /* against the double-precision reference */
    double *w = calloc(d.nkv > d.no ? d.nkv : d.no, sizeof(double));
    close_to("fused out vs double", c, f.out, in_layout(&d, d.out, &d.ho, c->R, d.no, w), d.no);
    size_t rows = (size_t)c->B * c->H * c->R;
    close_to("fused lse vs double", c, f.lse, d.lse, rows);
    memset(w, 0, sizeof(double) * d.nkv);
    in_layout(&d, d.dk, &d.hk, c->T, d.nkv, w);
    in_layout(&d, d.dv, &d.hv, c->T, d.nkv, w);
    if (!c->selected) in_layout(&d, d.dq, &d.hq, c->R, d.nkv, w);
    close_to(c->selected ? "fused dk, dv vs double" : "fused dq, dk, dv vs double", c, f.dkv, w, d.nkv);
    if (c->selected) {
        memset(w, 0, sizeof(double) * d.nq);
        close_to("fused dq vs double", c, f.dq, in_layout(&d, d.dq, &d.hq, c->R, d.nq, w), d.nq);
    }
    free(w);

    /* against the reference path on this device (its own dropout_forward mask) */
    att_result r = run_reference(C, &d);
    compare_results("fused vs reference path", c, &f, &r, &d);
    free_result(&r, c->selected);

    /* against the CPU oracle */
    if (CPU != C) {
        att_result o = run_fused(CPU, &d);
        compare_results("fused vs cpu fused", c, &f, &o, &d);
        free_result(&o, c->selected);
    }

    /* run again: the same bits */
    att_result f2 = run_fused(C, &d);
    int same = memcmp(f.out, f2.out, d.no * 4) == 0 && memcmp(f.dkv, f2.dkv, d.nkv * 4) == 0 &&
               (!c->selected || memcmp(f.dq, f2.dq, d.nq * 4) == 0);
    tu_check(same, "fused attention (B%d H%d R%d T%d) is not bit-identical from run to run", c->B, c->H, c->R, c->T);
    free_result(&f2, c->selected);
    free_result(&f, c->selected);
    free_data(&d);
}

/* ---- a tiny BERT: a training step's gradients, fused against reference attention ---------- */

static bert_model *tiny_bert(const bert_config *cfg, int reference) {
    if (reference)
        plat_setenv("MLTC_ATTENTION", "reference");
    else
        plat_setenv("MLTC_ATTENTION", NULL);
    bert_model *m = NULL;
    tu_must(bert_model_create(C, cfg, 3, 19, &m), &E, "bert_model_create");
    plat_setenv("MLTC_ATTENTION", NULL);
    tu_seed(99);
    for (int i = 0; i < bert_tensor_count(m); i++) {
        const bert_tensor *t = bert_tensor_at(m, i);
        float *x = malloc(sizeof(float) * t->numel);
        int is_ln_w = strstr(t->name, "LayerNorm.weight") != NULL;
        for (size_t k = 0; k < t->numel; k++) x[k] = is_ln_w ? 1.0f + tu_uniform(-0.1f, 0.1f) : tu_uniform(-0.1f, 0.1f);
        tu_must(bert_tensor_upload(m, t, x), &E, "upload a tensor");
        free(x);
    }
    return m;
}

static float *train_step_grads(bert_model *m, const int32_t *ids, const int32_t *types, const int32_t *mask, int B,
                               int T, dev_buf *dR) {
    dev_view h;
    tu_must(bert_zero_grads(m), &E, "zero grads");
    tu_must(bert_forward(m, ids, types, mask, B, T, 1, 5, &h), &E, "bert_forward (train)");
    tu_must(bert_backward(m, tu_v(dR)), &E, "bert_backward");
    size_t n = bert_num_params(m);
    float *g = malloc(sizeof(float) * n);
    tu_must(dev_download(C, bert_grads(m), 0, g, n * 4), &E, "download grads");
    return g;
}

static void test_whole_model(void) {
    bert_config cfg = {.vocab_size = 50, .hidden_size = 32, .num_layers = 2, .num_heads = 2,
                       .intermediate_size = 48, .max_position = 32, .type_vocab_size = 2, .layer_norm_eps = 1e-12f,
                       .hidden_dropout = 0.1f, .attention_dropout = 0.1f, .pad_token_id = 0};
    enum { B = 3, T = 19 };
    int32_t ids[B * T], types[B * T], mask[B * T];
    tu_seed(7);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int real = t < T - 5 * b;
            ids[b * T + t] = real ? 1 + (int)tu_uniform(0.0f, 48.0f) : 0;
            types[b * T + t] = t > T / 2;
            mask[b * T + t] = real;
        }
    float *hR = malloc(sizeof(float) * B * T * 32);
    tu_fill_uniform(hR, (size_t)B * T * 32, -1.0f, 1.0f);
    dev_buf *dR = tu_buf(C, hR, (size_t)B * T * 32);
    bert_model *fused = tiny_bert(&cfg, 0), *ref = tiny_bert(&cfg, 1);
    float *gf = train_step_grads(fused, ids, types, mask, B, T, dR);
    float *gr = train_step_grads(ref, ids, types, mask, B, T, dR);
    /* Relative to each tensor's largest gradient, but never below 1e-3 of the largest of all: the
     * key biases' gradients are zero in exact arithmetic (softmax ignores a per-row constant), so
     * theirs is rounding noise that any change of summation order changes. */
    double worst = 0, all = 0;
    const char *worst_name = "";
    for (size_t k = 0; k < bert_num_params(ref); k++) all = fmax(all, fabs((double)gr[k]));
    for (int i = 0; i < bert_tensor_count(ref); i++) {
        const bert_tensor *t = bert_tensor_at(ref, i);
        double scale = 1e-3 * all, err = 0;
        for (size_t k = 0; k < t->numel; k++) {
            scale = fmax(scale, fabs((double)gr[t->off + k]));
            err = fmax(err, fabs((double)gf[t->off + k] - gr[t->off + k]));
        }
        double rel = err / scale;
        if (rel > worst) worst = rel, worst_name = t->name;
        tu_check(rel <= 1e-4, "whole model: gradient %s, fused vs reference attention: relative error %.3g", t->name,
                 rel);
    }
    printf("whole model (dropout 0.1, padding): fused vs reference gradients, worst relative error %.3g in %s\n",
           worst, worst_name);
    free(gf);
    free(gr);
    free(hR);
    bert_model_free(fused);
    bert_model_free(ref);
    dev_free(C, dR);
}

int main(int argc, char **argv) {
    const char *backend = argc > 1 ? argv[1] : "cpu";
    int rc = tu_open(backend, &E, &C);
    if (rc) return rc;
    if (!dev_has_attention_train(C)) {
        printf("SKIP: %s has no fused training attention\n", C->id);
        dev_close(C);
        return TU_SKIP;
    }
    if (strcmp(backend, "cpu") == 0) {
        CPU = C;
    } else if ((rc = tu_open("cpu", &E, &CPU)) != 0) {
        return rc;
    }
    printf("test_fused_attention on %s\n", C->id);
    tu_seed(20261207);
    static const att_case cases[] = {
        {2, 2, 1, 1, 16, 0, 0.0f, 0, 0},   {2, 3, 7, 7, 16, 1, 0.0f, 0, 0},  {2, 2, 7, 7, 16, 1, 0.3f, 0, 0},
        {3, 2, 33, 33, 16, 2, 0.1f, 0, 0}, {2, 2, 130, 130, 16, 1, 0.1f, 0, 0}, {2, 2, 5, 33, 16, 1, 0.2f, 1, 0},
        {1, 2, 3, 130, 16, 0, 0.0f, 1, 0}, {2, 2, 9, 40, 64, 1, 0.1f, 0, 0},  {2, 1, 4, 37, 64, 2, 0.1f, 1, 0},
        {1, 1, 11, 11, 7, 0, 0.5f, 0, 0},   {2, 2, 6, 21, 16, 1, 0.1f, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const att_case *c = &cases[i];
        printf("- B %d H %d R %d T %d D %d mask %d p %.2f %s%s\n", c->B, c->H, c->R, c->T, c->D, c->masked,
               (double)c->p, c->selected ? "selected" : "full", c->v_first ? ", v before k" : "");
        fflush(stdout);
        test_case(c);
    }
    printf("- whole model\n");
    fflush(stdout);
    test_whole_model();
    if (CPU != C) dev_close(CPU);
    dev_close(C);
    return tu_finish();
}
