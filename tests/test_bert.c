/* ctest: per-backend */
/*
 * The BERT encoder against PyTorch (tests/fixtures/bert_tiny, written by
 * tools/reference/bert_fixture.py: transformers.BertModel, 2 layers, hidden 64, 4 heads,
 * batch 3 x 24 with padding, eval mode), plus: the weight-decay layout boundary, input
 * errors, dropout (deterministic per seed and step, the identity at p = 0, the same masks as
 * the CPU oracle, gradients consistent with the masks), save -> load bit-exact, load errors
 * naming the tensor, a parameter-sharing sibling, vocabulary resizing, config parsing.
 * The [PAD] row of the word embeddings gets no gradient, as PyTorch's padding_idx; the
 * fixture's padded rows check that.
 *
 * Tolerances (fp32 on both sides; the differences come from summation order):
 *   last hidden states: max |h - h_ref| <= 1e-4
 *   every parameter gradient of loss = sum(hidden * R):
 *     max |g - g_ref| / max |g_ref| <= 1e-3, per tensor. The key biases' gradients are zero
 *     in exact arithmetic (softmax ignores a per-row shift), so both sides hold only rounding
 *     noise (~1e-6); the denominator is therefore never below 1e-3 x the largest gradient of
 *     any tensor, which only such tensors reach.
 *   dropout on (no PyTorch reference: mltc's masks come from Philox): the analytic gradient
 *     against central differences of the same deterministic function, relative 2e-2.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/bert.h"
#include "model/safetensors.h"
#include "core/platform.h"
#include "testutil.h"

#define B 3
#define T 24
#define HIDDEN_ATOL 1e-4
#define GRAD_RTOL 1e-3

static mltc_error err;
static dev_ctx *dev;
static char dir[1024];

static float *read_f32(const st_file *f, const char *name, size_t *numel) {
    const st_tensor *t = st_find(f, name);
    if (!t) tu_must(MLTC_ERR_PARSE, NULL, name);
    float *x = malloc(t->numel * sizeof *x);
    tu_must(st_read_f32(&err, f, t, x), &err, name);
    if (numel) *numel = t->numel;
    return x;
}

static int32_t *read_i32(const st_file *f, const char *name) {
    const st_tensor *t = st_find(f, name);
    if (!t) tu_must(MLTC_ERR_PARSE, NULL, name);
    int32_t *x = malloc(t->numel * sizeof *x);
    tu_must(st_read_i32(&err, f, t, x), &err, name);
    return x;
}

static const char *path(const char *file) {
    static char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    return p;
}

static bert_model *make_model(const bert_config *cfg, int max_batch, int max_seq) {
    bert_model *m = NULL;
    tu_must(bert_model_create(dev, cfg, max_batch, max_seq, &m), &err, "bert_model_create");
    tu_must(bert_load_hf_file(m, path("model.safetensors")), &err, "bert_load_hf_file");
    return m;
}

static float *download(dev_view v, size_t n) {
    float *h = malloc(n * sizeof *h);
    tu_must(dev_download(dev, v.buf, v.off * 4, h, n * 4), &err, "download");
    return h;
}

static int bits_equal(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof *a) == 0; }

/* The fixture's inputs and outputs. */
static int32_t *ids, *types, *mask;
static float *R, *h_ref;
static const size_t NC = (size_t)B * T * 64;

static double loss_of(const float *h) {
    double s = 0;
    for (size_t i = 0; i < NC; i++) s += (double)h[i] * R[i];
    return s;
}

static float *forward(bert_model *m, int train, uint64_t step) {
    dev_view h;
    tu_must(bert_forward(m, ids, types, mask, B, T, train, step, &h), &err, "bert_forward");
    return download(h, NC);
}

/* Forward then backward of loss = sum(hidden * R); returns the gradient buffer. */
static float *grads_of(bert_model *m, int train, uint64_t step, dev_buf *dR) {
    float *h = forward(m, train, step);
    free(h);
    tu_must(bert_zero_grads(m), &err, "zero grads");
    tu_must(bert_backward(m, tu_v(dR)), &err, "bert_backward");
    return download((dev_view){bert_grads(m), 0}, bert_num_params(m));
}

static void test_against_pytorch(bert_model *m, dev_buf *dR) {
    float *h = forward(m, 0, 0);
    double max_abs = 0;
    for (size_t i = 0; i < NC; i++) max_abs = fmax(max_abs, fabs((double)h[i] - h_ref[i]));
    printf("hidden states: max abs error %.3g (tolerance %.0e)\n", max_abs, HIDDEN_ATOL);
    tu_check(max_abs <= HIDDEN_ATOL, "hidden states: max abs error %.3g > %g", max_abs, HIDDEN_ATOL);
    free(h);

    st_file *gf = NULL;
    tu_must(st_open(&err, path("grads.safetensors"), &gf), &err, "open grads.safetensors");
    tu_check(st_count(gf) == bert_tensor_count(m), "grads.safetensors has %d tensors, the model %d", st_count(gf),
             bert_tensor_count(m));
    float *g = grads_of(m, 0, 0, dR);
    float **refs = calloc((size_t)bert_tensor_count(m), sizeof *refs);
    double global = 0;
    for (int i = 0; i < bert_tensor_count(m); i++) {
        const bert_tensor *t = bert_tensor_at(m, i);
        size_t n = 0;
        refs[i] = read_f32(gf, t->name, &n);
        if (!tu_check(n == t->numel, "%s: %zu reference elements, model has %zu", t->name, n, t->numel)) {
            free(refs[i]);
            refs[i] = NULL;
            continue;
        }
        for (size_t j = 0; j < n; j++) global = fmax(global, fabs((double)refs[i][j]));
    }
    double worst = 0, worst_plain = 0;
    const char *worst_name = "", *worst_plain_name = "";
    for (int i = 0; i < bert_tensor_count(m); i++) {
        const bert_tensor *t = bert_tensor_at(m, i);
        const float *ref = refs[i];
        if (!ref) continue;
        double diff = 0, scale = 0;
        for (size_t j = 0; j < t->numel; j++) {
            diff = fmax(diff, fabs((double)g[t->off + j] - ref[j]));
            scale = fmax(scale, fabs((double)ref[j]));
        }
        tu_check(scale > 0, "%s: reference gradient is all zero (fixture cannot test it)", t->name);
        double rel = diff / fmax(scale, 1e-3 * global);
        tu_check(rel <= GRAD_RTOL, "gradient %s: relative error %.3g > %g (max |ref| %.3g)", t->name, rel, GRAD_RTOL,
                 scale);
        if (rel > worst) {
            worst = rel;
            worst_name = t->name;
        }
        if (scale >= 1e-3 * global && rel > worst_plain) {
            worst_plain = rel;
            worst_plain_name = t->name;
        }
        free(refs[i]);
    }
    free(refs);
    printf("gradients: worst relative error %.3g in %s (tolerance %.0e); over tensors whose gradient is not "
           "zero in exact arithmetic: %.3g in %s\n",
           worst, worst_name, GRAD_RTOL, worst_plain, worst_plain_name);
    free(g);
    st_close(gf);

    /* The gaps between tensors (alignment) must stay zero: nothing may write there. */
    float *all = download((dev_view){bert_grads(m), 0}, bert_num_params(m));
    char *covered = calloc(bert_num_params(m), 1);
    for (int i = 0; i < bert_tensor_count(m); i++) {
        const bert_tensor *t = bert_tensor_at(m, i);
        memset(covered + t->off, 1, t->numel);
    }
    size_t stray = 0;
    for (size_t j = 0; j < bert_num_params(m); j++) stray += !covered[j] && all[j] != 0.0f;
    tu_check(stray == 0, "%zu gradient elements outside every tensor are non-zero", stray);
    free(covered);
    free(all);
}

/* Central differences of `loss` at the largest-gradient element of each probe tensor (the best
 * signal-to-noise for fp32) against the analytic gradient g, each within 2e-2 relative; returns
 * the worst relative difference. */
static double central_differences(bert_model *m, const float *g, const char *const *probe, size_t nprobe,
                                  double (*loss)(bert_model *), const char *what) {
    double worst = 0;
    for (size_t p = 0; p < nprobe; p++) {
        const bert_tensor *t = bert_tensor_find(m, probe[p]);
        size_t best = 0;
        for (size_t j = 1; j < t->numel; j++)
            if (fabsf(g[t->off + j]) > fabsf(g[t->off + best])) best = j;
        float *w = malloc(t->numel * sizeof *w);
        tu_must(bert_tensor_download(m, t, w), &err, "tensor download");
        float w0 = w[best], eps = 1e-2f;
        double l[2];
        for (int side = 0; side < 2; side++) {
            w[best] = w0 + (side ? -eps : eps);
            tu_must(bert_tensor_upload(m, t, w), &err, "tensor upload");
            l[side] = loss(m);
        }
        w[best] = w0;
        tu_must(bert_tensor_upload(m, t, w), &err, "tensor upload");
        free(w);
        double fd = (l[0] - l[1]) / (2.0 * eps), an = g[t->off + best];
        double rel = fabs(fd - an) / fmax(fabs(an), 1e-3);
        worst = fmax(worst, rel);
        tu_check(rel <= 2e-2, "%s gradient %s[%zu]: analytic %.6g, central difference %.6g", what, t->name, best, an,
                 fd);
    }
    printf("%s: analytic vs central-difference gradients, worst relative difference %.3g\n", what, worst);
    return worst;
}

/* Selected outputs (bert_select_outputs): the last layer at a few positions only must give the
 * full layer's rows there, and the same parameter gradients as the full model under a loss
 * that reads only those rows; with dropout on, its gradient must match central differences. */
#define NSEL 3
static const int32_t sel_pos[NSEL] = {0, 7, 3};

static double selected_loss(const float *hs) {
    double s = 0;
    for (int b = 0; b < B; b++)
        for (int r = 0; r < NSEL; r++)
            for (int j = 0; j < 64; j++) s += (double)hs[(b * NSEL + r) * 64 + j] * R[((size_t)b * T + sel_pos[r]) * 64 + j];
    return s;
}

static float *selected_forward(bert_model *m, int train, uint64_t step) {
    dev_view h;
    tu_must(bert_forward(m, ids, types, mask, B, T, train, step, &h), &err, "bert_forward (selected)");
    return download(h, (size_t)B * NSEL * 64);
}

static double selected_dropout_loss(bert_model *m) {
    float *hs = selected_forward(m, 1, 2);
    double l = selected_loss(hs);
    free(hs);
    return l;
}

static void test_selected_outputs(const bert_config *cfg, bert_model *m) {
    /* The fixture's R restricted to the selected rows: [B, T, C] with zeros elsewhere (full
     * model) and [B, NSEL, C] (selected). */
    float *r_full = calloc(NC, sizeof *r_full), *r_sel = malloc((size_t)B * NSEL * 64 * sizeof *r_sel);
    for (int b = 0; b < B; b++)
        for (int r = 0; r < NSEL; r++)
            for (int j = 0; j < 64; j++) {
                size_t i = ((size_t)b * T + sel_pos[r]) * 64 + j;
                r_full[i] = R[i];
                r_sel[(b * NSEL + r) * 64 + j] = R[i];
            }
    dev_buf *dfull = tu_buf(dev, r_full, NC), *dsel = tu_buf(dev, r_sel, (size_t)B * NSEL * 64);
    float *h_full = forward(m, 0, 0), *g_full = grads_of(m, 0, 0, dfull);

    tu_must(bert_select_outputs(m, sel_pos, NSEL), &err, "bert_select_outputs");
    tu_check(bert_selected_outputs(m) == NSEL, "bert_selected_outputs");
    float *h_sel = selected_forward(m, 0, 0);
    double dh = 0;
    for (int b = 0; b < B; b++)
        for (int r = 0; r < NSEL; r++)
            for (int j = 0; j < 64; j++)
                dh = fmax(dh, fabs((double)h_sel[(b * NSEL + r) * 64 + j] - h_full[((size_t)b * T + sel_pos[r]) * 64 + j]));
    tu_check(dh <= 1e-5, "selected outputs: hidden rows differ from the full model's by %.3g", dh);
    tu_must(bert_zero_grads(m), &err, "zero grads");
    tu_must(bert_backward(m, tu_v(dsel)), &err, "bert_backward (selected)");
    float *g_sel = download((dev_view){bert_grads(m), 0}, bert_num_params(m));
    /* As against PyTorch: no denominator is below 1e-3 x the largest gradient. The key biases'
     * gradients are zero in exact arithmetic, so both passes hold only the rounding noise of
     * their sums over rows, which the selected pass orders differently; that noise reached
     * 1.3e-7 of the largest gradient on one machine (OpenBLAS picks its kernels by CPU), so
     * they are held to 1e-4 of the largest gradient itself. */
    double worst = 0, global = 0;
    for (size_t j = 0; j < bert_num_params(m); j++) global = fmax(global, fabs((double)g_full[j]));
    for (int i = 0; i < bert_tensor_count(m); i++) {
        const bert_tensor *t = bert_tensor_at(m, i);
        double diff = 0, scale = 0;
        for (size_t j = 0; j < t->numel; j++) {
            diff = fmax(diff, fabs((double)g_sel[t->off + j] - g_full[t->off + j]));
            scale = fmax(scale, fabs((double)g_full[t->off + j]));
        }
        int exact_zero = strstr(t->name, "attention.self.key.bias") != NULL;
        double rel = diff / fmax(scale, (exact_zero ? 1.0 : 1e-3) * global);
        worst = fmax(worst, rel);
        tu_check(rel <= 1e-4, "selected outputs: gradient %s differs from the full model's by %.3g "
                 "(relative)", t->name, rel);
    }
    printf("selected outputs: hidden rows within %.3g of the full layer, gradients within %.3g (relative)\n", dh,
           worst);

    /* Errors: a position past this batch's length, repeated or negative positions. */
    int32_t late[1] = {T}, twice[2] = {4, 4}, neg[1] = {-1};
    tu_check(bert_select_outputs(m, late, 1) == MLTC_OK, "a position below max_seq is accepted");
    dev_view h;
    tu_check(bert_forward(m, ids, types, mask, B, T, 0, 0, &h) == MLTC_ERR_INVALID_ARGUMENT &&
                 strstr(err.msg, "position 24"),
             "a selected position past the batch's length is an error naming it (%s)", err.msg);
    tu_check(bert_select_outputs(m, twice, 2) == MLTC_ERR_INVALID_ARGUMENT && strstr(err.msg, "twice"),
             "a repeated position is an error (%s)", err.msg);
    tu_check(bert_select_outputs(m, neg, 1) == MLTC_ERR_INVALID_ARGUMENT, "a negative position is an error");
    tu_check(bert_selected_outputs(m) == 1, "a rejected selection leaves the previous one in place");
    tu_must(bert_select_outputs(m, NULL, 0), &err, "back to every position");
    float *h_again = forward(m, 0, 0);
    tu_check(bits_equal(h_again, h_full, NC), "after R = 0 the forward is the full model's again");

    /* With dropout: deterministic, and the analytic gradient matches central differences. */
    bert_config c = *cfg;
    c.hidden_dropout = 0.1f;
    c.attention_dropout = 0.1f;
    bert_model *md = make_model(&c, B, T);
    bert_set_dropout_seed(md, 7);
    tu_must(bert_select_outputs(md, sel_pos, NSEL), &err, "bert_select_outputs (dropout)");
    float *a1 = selected_forward(md, 1, 2), *a2 = selected_forward(md, 1, 2);
    tu_check(bits_equal(a1, a2, (size_t)B * NSEL * 64), "selected outputs with dropout are not deterministic");
    tu_must(bert_zero_grads(md), &err, "zero grads");
    tu_must(bert_backward(md, tu_v(dsel)), &err, "bert_backward (selected, dropout)");
    float *g = download((dev_view){bert_grads(md), 0}, bert_num_params(md));
    const char *probe[] = {"encoder.layer.1.attention.self.query.weight", "encoder.layer.1.attention.self.key.weight",
                           "encoder.layer.1.attention.self.value.bias", "encoder.layer.1.output.dense.weight",
                           "encoder.layer.0.intermediate.dense.weight"};
    central_differences(md, g, probe, sizeof probe / sizeof probe[0], selected_dropout_loss, "selected outputs with dropout");
    bert_model_free(md);
    dev_free(dev, dfull);
    dev_free(dev, dsel);
    free(r_full), free(r_sel), free(h_full), free(g_full), free(h_sel), free(g_sel), free(h_again), free(a1),
        free(a2), free(g);
}

/* Layout: every matrix and embedding below the decay boundary, every bias and LayerNorm
 * weight above it. */
static void test_layout(bert_model *m) {
    size_t bound = bert_num_decay_params(m);
    int bad = 0;
    for (int i = 0; i < bert_tensor_count(m); i++) {
        const bert_tensor *t = bert_tensor_at(m, i);
        int is_matrix = t->ndim == 2;
        if (is_matrix != (t->off + t->numel <= bound) || (!is_matrix && t->off < bound)) {
            printf("FAIL layout: %s at [%zu, %zu), decay boundary %zu\n", t->name, t->off, t->off + t->numel, bound);
            bad++;
        }
    }
    tu_check(bad == 0, "layout: %d tensors on the wrong side of the weight-decay boundary", bad);
    tu_check(bert_tensor_find(m, "bert.encoder.layer.1.attention.self.key.bias") ==
                 bert_tensor_find(m, "encoder.layer.1.attention.self.key.bias") &&
                 bert_tensor_find(m, "encoder.layer.1.attention.self.key.bias") != NULL,
             "bert_tensor_find with and without the 'bert.' prefix");
}

static void test_input_errors(bert_model *m) {
    dev_view h;
    int32_t bad_ids[4] = {1, 2, 512, 3}, ok_ids[4] = {1, 2, 3, 4}, bad_types[4] = {0, 0, 2, 0};
    mltc_status st = bert_forward(m, bad_ids, NULL, NULL, 1, 4, 0, 0, &h);
    tu_check(st == MLTC_ERR_INVALID_ARGUMENT && strstr(err.msg, "512") && strstr(err.msg, "[0, 2]"),
             "forward: an id outside the vocabulary: status %d, message '%s'", st, err.msg);
    st = bert_forward(m, ok_ids, bad_types, NULL, 1, 4, 0, 0, &h);
    tu_check(st == MLTC_ERR_INVALID_ARGUMENT && strstr(err.msg, "token type 2"),
             "forward: a bad token type: status %d, message '%s'", st, err.msg);
    st = bert_forward(m, ok_ids, NULL, NULL, 100, 4, 0, 0, &h);
    tu_check(st == MLTC_ERR_INVALID_ARGUMENT, "forward: batch 100 over the model's maximum: status %d", st);
    st = bert_backward(m, h);
    tu_check(st == MLTC_ERR_INVALID_ARGUMENT && strstr(err.msg, "no forward"),
             "backward after a failed forward: status %d, message '%s'", st, err.msg);
    /* No mask and no token types mean all ones and all zeros. */
    int32_t ones[4] = {1, 1, 1, 1}, zeros[4] = {0, 0, 0, 0};
    tu_must(bert_forward(m, ok_ids, zeros, ones, 1, 4, 0, 0, &h), &err, "forward");
    float *a = download(h, 4 * 64);
    tu_must(bert_forward(m, ok_ids, NULL, NULL, 1, 4, 0, 0, &h), &err, "forward");
    float *b = download(h, 4 * 64);
    tu_check(memcmp(a, b, sizeof(float) * 4 * 64) == 0, "forward: NULL mask / token types differ from 1 / 0");
    free(a);
    free(b);
}


/* bert_forward_inference (which lets a backend fuse attention) gives bert_forward's hidden
 * states bit for bit, and leaves nothing for a backward. */
static void test_inference(bert_model *m, dev_buf *dR) {
    float *full = forward(m, 0, 0);
    dev_view h;
    tu_must(bert_forward_inference(m, ids, types, mask, B, T, &h), &err, "bert_forward_inference");
    float *inf = download(h, NC);
    size_t bad = NC;
    for (size_t i = 0; i < NC && bad == NC; i++)
        if (memcmp(&full[i], &inf[i], 4) != 0) bad = i;
    tu_check(bad == NC, "inference forward equals bert_forward bit for bit (first difference at %zu of %zu)", bad, NC);
    mltc_status st = bert_backward(m, tu_v(dR));
    tu_check(st == MLTC_ERR_INVALID_ARGUMENT && strstr(err.msg, "no forward"),
             "backward after an inference forward refused: status %d, message '%s'", st, err.msg);
    free(full);
    free(inf);
}

static double dropout_loss(bert_model *m) {
    float *h = forward(m, 1, 5);
    double l = loss_of(h);
    free(h);
    return l;
}

static void test_dropout(const bert_config *cfg, bert_model *eval_model, dev_buf *dR) {
    bert_config c = *cfg;
    c.hidden_dropout = 0.1f;
    c.attention_dropout = 0.1f;
    bert_model *m = make_model(&c, B, T);
    bert_set_dropout_seed(m, 42);
    float *e = forward(eval_model, 0, 0);
    float *a = forward(m, 1, 5), *b = forward(m, 1, 5), *s6 = forward(m, 1, 6), *ev = forward(m, 0, 5);
    tu_check(bits_equal(a, b, NC), "dropout: two forwards with the same seed and step differ");
    tu_check(!bits_equal(a, s6, NC), "dropout: steps 5 and 6 drew the same masks");
    tu_check(!bits_equal(a, e, NC), "dropout: training output equals the eval output (no dropout applied?)");
    tu_check(bits_equal(ev, e, NC), "dropout: train = 0 is not the exact eval output");
    if (strncmp(dev->id, "cpu", 3) != 0) {
        /* Every backend must draw the same masks: compare with the CPU oracle. A different
         * mask changes outputs by O(1); summation order by ~1e-6. */
        dev_ctx *mine = dev;
        tu_must(dev_open(&err, "cpu", &dev), &err, "open cpu");
        bert_model *mc = make_model(&c, B, T);
        bert_set_dropout_seed(mc, 42);
        float *ac = forward(mc, 1, 5);
        double d = 0;
        for (size_t i = 0; i < NC; i++) d = fmax(d, fabs((double)ac[i] - a[i]));
        printf("dropout: training forward vs cpu, max abs difference %.3g\n", d);
        tu_check(d <= HIDDEN_ATOL, "dropout: %s and cpu differ by %.3g in training mode (different masks?)", mine->id,
                 d);
        free(ac);
        bert_model_free(mc);
        dev_close(dev);
        dev = mine;
    }
    bert_set_dropout_seed(m, 43);
    float *s43 = forward(m, 1, 5);
    tu_check(!bits_equal(a, s43, NC), "dropout: seeds 42 and 43 drew the same masks");
    bert_set_dropout_seed(m, 42);

    /* p = 0 in training is the identity: bit-exact eval output. */
    bert_config z = *cfg;
    z.hidden_dropout = 0.0f;
    z.attention_dropout = 0.0f;
    bert_model *m0 = make_model(&z, B, T);
    float *t0 = forward(m0, 1, 3);
    tu_check(bits_equal(t0, e, NC), "dropout p = 0 with train = 1 is not bit-identical to eval");

    /* Backward with dropout: deterministic, and consistent with the forward's masks
     * (central differences of the same deterministic function). */
    float *g1 = grads_of(m, 1, 5, dR), *g2 = grads_of(m, 1, 5, dR);
    tu_check(bits_equal(g1, g2, bert_num_params(m)), "dropout: two backward passes differ");
    const char *probe[] = {"encoder.layer.0.attention.self.query.weight", "encoder.layer.0.attention.self.value.bias",
                           "encoder.layer.1.intermediate.dense.weight", "encoder.layer.0.output.LayerNorm.weight",
                           "embeddings.LayerNorm.bias", "embeddings.word_embeddings.weight"};
    central_differences(m, g1, probe, sizeof probe / sizeof probe[0], dropout_loss, "dropout");
    /* The reference path (each layer's bias, dropout, residual, LayerNorm and GELU a pass of their
     * own, ctx->unfused) computes the same function with the same masks as the fused ops. */
    dev->unfused = 1;
    float *au = forward(m, 1, 5), *gu = grads_of(m, 1, 5, dR);
    dev->unfused = 0;
    double dh = 0, dg = 0, gmax = 0;
    for (size_t i = 0; i < NC; i++) dh = fmax(dh, fabs((double)au[i] - a[i]));
    for (size_t i = 0; i < bert_num_params(m); i++) {
        dg = fmax(dg, fabs((double)gu[i] - g1[i]));
        gmax = fmax(gmax, fabs((double)gu[i]));
    }
    printf("dropout: fused vs reference path, max abs difference %.3g (hidden), %.3g of %.3g (gradients)\n", dh, dg,
           gmax);
    tu_check(dh <= HIDDEN_ATOL, "dropout: the fused and the reference path differ by %.3g (hidden)", dh);
    tu_check(gmax > 0 && dg <= GRAD_RTOL * gmax, "dropout: the fused and the reference path's gradients differ by %.3g",
             dg);
    free(au);
    free(gu);
    free(g1);
    free(g2);
    free(e);
    free(a);
    free(b);
    free(s6);
    free(ev);
    free(s43);
    free(t0);
    bert_model_free(m);
    bert_model_free(m0);
}

static void test_save_load(const bert_config *cfg, bert_model *m) {
    char out[1200];
    const char *tmpdir = getenv("TMPDIR");
    snprintf(out, sizeof out, "%s/mltc_test_bert_%s_%ld.safetensors", tmpdir && *tmpdir ? tmpdir : "/tmp",
             dev->id, plat_pid());
    st_writer *w = NULL;
    tu_must(st_writer_create(&err, &w), &err, "st_writer_create");
    tu_must(bert_save_hf(m, w, "bert."), &err, "bert_save_hf");
    tu_must(st_writer_commit(w, out), &err, "st_writer_commit");
    st_writer_free(w);

    bert_model *m2 = NULL;
    tu_must(bert_model_create(dev, cfg, 2, 16, &m2), &err, "create");
    tu_must(bert_load_hf_file(m2, out), &err, "load what was saved");
    float *p1 = download((dev_view){bert_params(m), 0}, bert_num_params(m));
    float *p2 = download((dev_view){bert_params(m2), 0}, bert_num_params(m2));
    tu_check(bert_num_params(m) == bert_num_params(m2) && bits_equal(p1, p2, bert_num_params(m)),
             "save -> load does not round-trip the parameters bit-exactly");
    free(p1);
    free(p2);
    bert_model_free(m2);
    remove(out);

    /* A shape mismatch names the tensor and both shapes. */
    bert_config bad = *cfg;
    bad.intermediate_size = 96;
    tu_must(bert_model_create(dev, &bad, 1, 8, &m2), &err, "create");
    mltc_status st = bert_load_hf_file(m2, path("model.safetensors"));
    tu_check(st != MLTC_OK && strstr(err.msg, "encoder.layer.0.intermediate.dense.weight") &&
                 strstr(err.msg, "128") && strstr(err.msg, "96"),
             "loading into a mismatched config: status %d, message '%s'", st, err.msg);
    bert_model_free(m2);

    /* A missing tensor names it (io.safetensors holds no weights). */
    tu_must(bert_model_create(dev, cfg, 1, 8, &m2), &err, "create");
    st = bert_load_hf_file(m2, path("io.safetensors"));
    tu_check(st != MLTC_OK && strstr(err.msg, "embeddings.word_embeddings.weight") && strstr(err.msg, "missing"),
             "loading from a file without weights: status %d, message '%s'", st, err.msg);
    bert_model_free(m2);
}

static void test_resize(const bert_config *cfg, dev_buf *dR) {
    bert_model *m = make_model(cfg, B, T), *m2 = make_model(cfg, B, T);
    size_t n_old = bert_num_params(m);
    float *before = download((dev_view){bert_params(m), 0}, n_old);
    int V = cfg->vocab_size, V2 = V + 40, C = cfg->hidden_size;
    tu_must(bert_resize_vocab(m, V2, 7), &err, "bert_resize_vocab");
    tu_must(bert_resize_vocab(m2, V2, 7), &err, "bert_resize_vocab");
    tu_check(bert_config_of(m)->vocab_size == V2, "resize: config says %d rows", bert_config_of(m)->vocab_size);
    float *after = download((dev_view){bert_params(m), 0}, bert_num_params(m));
    float *again = download((dev_view){bert_params(m2), 0}, bert_num_params(m2));
    tu_check(bits_equal(after, again, bert_num_params(m)), "resize: the same seed gave different new rows");
    const bert_tensor *w = bert_tensor_find(m, "embeddings.word_embeddings.weight");
    tu_check(w->shape[0] == V2 && w->numel == (size_t)V2 * C, "resize: word table shape %lld",
             (long long)w->shape[0]);
    /* Old rows and every other tensor unchanged: compare through a fresh table lookup. */
    bert_model *ref = make_model(cfg, B, T);
    int moved = 0;
    for (int i = 0; i < bert_tensor_count(ref); i++) {
        const bert_tensor *o = bert_tensor_at(ref, i), *t = bert_tensor_find(m, o->name);
        moved += !bits_equal(before + o->off, after + t->off, o->numel);
    }
    tu_check(moved == 0, "resize: %d tensors (old rows) changed", moved);
    double s = 0, s2 = 0;
    size_t nn = (size_t)(V2 - V) * C;
    for (size_t j = 0; j < nn; j++) {
        double x = after[w->off + (size_t)V * C + j];
        s += x;
        s2 += x * x;
    }
    double mean = s / nn, sd = sqrt(s2 / nn - mean * mean);
    printf("resize: %zu new values, mean %.4f, std %.4f (want 0, 0.02)\n", nn, mean, sd);
    tu_check(fabs(mean) < 0.003 && fabs(sd - 0.02) < 0.002, "resize: new rows mean %.4f std %.4f, want N(0, 0.02)",
             mean, sd);
    /* The resized model computes the same function on the old ids, and trains. */
    float *h = forward(m, 0, 0), *h0 = forward(ref, 0, 0);
    tu_check(bits_equal(h, h0, NC), "resize: hidden states changed");
    float *g = grads_of(m, 0, 0, dR), *g0 = grads_of(ref, 0, 0, dR);
    const bert_tensor *q = bert_tensor_find(m, "encoder.layer.1.attention.self.query.weight"),
                      *q0 = bert_tensor_find(ref, "encoder.layer.1.attention.self.query.weight");
    tu_check(bits_equal(g + q->off, g0 + q0->off, q->numel), "resize: gradients changed");
    free(before);
    free(after);
    free(again);
    free(h);
    free(h0);
    free(g);
    free(g0);
    bert_model_free(m);
    bert_model_free(m2);
    bert_model_free(ref);
}

/* A sibling (shared parameters, own activations) computes the same function, and its backward
 * accumulates into the same gradients. */
static void test_sibling(bert_model *m, dev_buf *dR) {
    bert_model *s = NULL;
    tu_must(bert_model_create_sibling(m, B + 1, T, &s), &err, "bert_model_create_sibling");
    tu_check(bert_params(s) == bert_params(m) && bert_grads(s) == bert_grads(m), "sibling: buffers not shared");
    float *h = forward(m, 0, 0), *hs = forward(s, 0, 0);
    tu_check(bits_equal(h, hs, NC), "sibling: hidden states differ from the base model's");
    float *g = grads_of(m, 0, 0, dR);
    free(forward(s, 0, 0));
    tu_must(bert_backward(s, tu_v(dR)), &err, "sibling backward");
    float *g2 = download((dev_view){bert_grads(m), 0}, bert_num_params(m));
    double worst = 0;
    for (size_t i = 0; i < bert_num_params(m); i++)
        worst = fmax(worst, fabs((double)g2[i] - 2.0 * g[i]) / (1e-3 + fabs(2.0 * g[i])));
    tu_check(worst <= 1e-5, "sibling: base + sibling backward is not twice the gradient (worst %.3g)", worst);
    tu_check(bert_resize_vocab(s, 600, 1) == MLTC_ERR_INVALID_ARGUMENT, "sibling: resize was not refused");
    /* In training the sibling draws its own masks, not the base's. */
    bert_config c = *bert_config_of(m);
    c.hidden_dropout = c.attention_dropout = 0.1f;
    bert_model *d = make_model(&c, B, T), *ds = NULL;
    tu_must(bert_model_create_sibling(d, B, T, &ds), &err, "sibling of a dropout model");
    float *td = forward(d, 1, 3), *tds = forward(ds, 1, 3);
    tu_check(!bits_equal(td, tds, NC), "sibling: same dropout masks as its base at the same step");
    free(td);
    free(tds);
    bert_model_free(ds);
    bert_model_free(d);
    free(h);
    free(hs);
    free(g);
    free(g2);
    bert_model_free(s);
}

static void test_config_errors(void) {
    bert_config c;
    const char *base = "{\"vocab_size\": 10, \"hidden_size\": 8, \"num_hidden_layers\": 1, "
                       "\"num_attention_heads\": 2, \"intermediate_size\": 16, \"max_position_embeddings\": 4, "
                       "\"type_vocab_size\": 2, \"layer_norm_eps\": 1e-12, \"hidden_act\": \"%s\", "
                       "\"hidden_dropout_prob\": 0.1, \"attention_probs_dropout_prob\": %s}";
    char text[1024];
    snprintf(text, sizeof text, base, "gelu", "0.1");
    tu_status(bert_config_parse(&err, text, "x/config.json", &c), MLTC_OK, &err, "config: a valid config");
    tu_check(c.vocab_size == 10 && c.num_heads == 2 && c.layer_norm_eps == 1e-12f && c.attention_dropout == 0.1f,
             "config: values read back wrong");
    snprintf(text, sizeof text, base, "relu", "0.1");
    tu_check(bert_config_parse(&err, text, "x/config.json", &c) != MLTC_OK && strstr(err.msg, "x/config.json") &&
                 strstr(err.msg, "hidden_act"),
             "config: hidden_act relu accepted or badly reported: %s", err.msg);
    snprintf(text, sizeof text, base, "gelu", "\"a lot\"");
    tu_check(bert_config_parse(&err, text, "x/config.json", &c) == MLTC_ERR_PARSE &&
                 strstr(err.msg, "attention_probs_dropout_prob"),
             "config: a string dropout accepted or badly reported: %s", err.msg);
    tu_check(bert_config_parse(&err, "{\"hidden_size\": 8}", "y.json", &c) == MLTC_ERR_PARSE &&
                 strstr(err.msg, "y.json") && strstr(err.msg, "vocab_size"),
             "config: missing key badly reported: %s", err.msg);
    snprintf(text, sizeof text, base, "gelu", "0.1");
    char *nine = strstr(text, "\"num_attention_heads\": 2");
    nine[sizeof "\"num_attention_heads\": " - 1] = '3';
    tu_check(bert_config_parse(&err, text, "x/config.json", &c) == MLTC_ERR_INVALID_ARGUMENT &&
                 strstr(err.msg, "divisible"),
             "config: 8 hidden / 3 heads accepted or badly reported: %s", err.msg);
    tu_check(bert_config_load(&err, "/nonexistent/config.json", &c) == MLTC_ERR_IO &&
                 strstr(err.msg, "/nonexistent/config.json"),
             "config: missing file badly reported: %s", err.msg);

    /* to_json -> parse round-trips (what a checkpoint writes, PyTorch reads, and mltc reads). */
    snprintf(text, sizeof text, base, "gelu", "0.1");
    bert_config a, b2;
    tu_must(bert_config_parse(&err, text, "x", &a), &err, "parse");
    char *js = bert_config_to_json(&a);
    tu_status(bert_config_parse(&err, js, "to_json", &b2), MLTC_OK, &err, "config: to_json output parses");
    tu_check(memcmp(&a, &b2, sizeof a) == 0, "config: to_json -> parse changed a value:\n%s", js);
    tu_check(strstr(js, "1e-12") != NULL, "config: layer_norm_eps not written as 1e-12:\n%s", js);
    free(js);
}

int main(int argc, char **argv) {
    const char *backend = argc > 1 ? argv[1] : "cpu";
    int rc = tu_open(backend, &err, &dev);
    if (rc) return rc;
    const char *src = getenv("MLTC_SOURCE_DIR");
    snprintf(dir, sizeof dir, "%s/tests/fixtures/bert_tiny", src ? src : ".");

    bert_config cfg;
    tu_must(bert_config_load(&err, path("config.json"), &cfg), &err, "config.json");
    st_file *io = NULL;
    tu_must(st_open(&err, path("io.safetensors"), &io), &err, "io.safetensors");
    ids = read_i32(io, "input_ids");
    types = read_i32(io, "token_type_ids");
    mask = read_i32(io, "attention_mask");
    size_t nr = 0, nh = 0;
    R = read_f32(io, "R", &nr);
    h_ref = read_f32(io, "hidden", &nh);
    st_close(io);
    tu_check(nr == NC && nh == NC && cfg.hidden_size == 64, "fixture shapes");
    dev_buf *dR = tu_buf(dev, R, NC);

    /* Larger than the batch: the forward must use a compact [B, T] layout inside. */
    bert_model *m = make_model(&cfg, B + 2, T + 8);
    test_layout(m);
    test_input_errors(m);
    test_inference(m, dR);
    test_against_pytorch(m, dR);
    test_selected_outputs(&cfg, m);
    test_dropout(&cfg, m, dR);
    test_save_load(&cfg, m);
    test_sibling(m, dR);
    test_resize(&cfg, dR);
    test_config_errors();

    bert_model_free(m);
    dev_free(dev, dR);
    free(ids);
    free(types);
    free(mask);
    free(R);
    free(h_ref);
    dev_close(dev);
    return tu_finish();
}
