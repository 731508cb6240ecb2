/* LM-MTC: label i's logit is w_i . h(state i) + b_i, read at the state positions of the
 * classification copy; with lambda > 0 the label MLM predicts the masked true states of the
 * second copy through BERT's MLM transform and a decoder tied to the word embeddings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/classifier_internal.h"

typedef struct lmmtc_head {
    dev_buf *buf;
    dev_view idx, plan_region; /* int32 [maxB K], [3 maxB K + 1] */
    dev_view x, dx;            /* [maxB, K, C] hidden states at the state positions */
    dev_rows_plan plan;
    /* Label MLM, sized for up to cap masked states (grown on demand). */
    int cap, M;
    double states;             /* the MLM mean's count: the batch's masked states */
    dev_buf *mbuf;
    dev_view m_idx, m_plan_region, m_target;                  /* int32 */
    dev_view xm, t1, g, y, mean, rstd, dy, dg, dt1, dxm, loss; /* [cap, C] / [cap] */
    dev_view logits, dlogits;                                  /* [cap, V] */
    dev_rows_plan m_plan;
    float *h_loss;
} lmmtc_head;

enum { SW, SB, TW, TB, LNW, LNB, DB };

static int vocab(const classifier *c) { return bert_config_of(c->bert)->vocab_size; }

static int specs(const classifier *c, param_spec *out, int max) {
    int C = c->C;
    out[SW] = (param_spec){"lmmtc.state.weight", 2, {c->K, C}, 1};
    out[SB] = (param_spec){"lmmtc.state.bias", 1, {c->K}, 0};
    out[TW] = (param_spec){"mlm.transform.dense.weight", 2, {C, C}, 1};
    out[TB] = (param_spec){"mlm.transform.dense.bias", 1, {C}, 0};
    out[LNW] = (param_spec){"mlm.transform.LayerNorm.weight", 1, {C}, 0};
    out[LNB] = (param_spec){"mlm.transform.LayerNorm.bias", 1, {C}, 0};
    out[DB] = (param_spec){"mlm.decoder.bias", 1, {vocab(c)}, 0};
    return 7;
}

/* BertForMaskedLM checkpoints carry a trained MLM transform and decoder bias under
 * "cls.predictions.*"; LM-MTC starts from them when present (the label tokens' decoder bias
 * starts at 0). A folder without them (e.g. a sentence-transformers model) starts from scratch. */
static mltc_status load_pretrained_mlm(classifier *c, int *loaded) {
    char path[4200];
    *loaded = 0;
    snprintf(path, sizeof path, "%s/model.safetensors", c->init_dir);
    st_file *f = NULL;
    mltc_status st = st_open(c->dev->err, path, &f);
    if (st) return st;
    static const struct {
        const char *hf;
        int idx;
    } parts[] = {{"cls.predictions.transform.dense.weight", TW},
                 {"cls.predictions.transform.dense.bias", TB},
                 {"cls.predictions.transform.LayerNorm.weight", LNW},
                 {"cls.predictions.transform.LayerNorm.bias", LNB}};
    int present = 0;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) present += st_find(f, parts[i].hf) != NULL;
    const st_tensor *bias = st_find(f, "cls.predictions.bias");
    if (present == 4 && bias && bias->ndim == 1 && bias->numel <= (size_t)vocab(c)) {
        size_t V = (size_t)vocab(c), n = bias->numel < V ? bias->numel : V, C = (size_t)c->C;
        float *host = calloc(V > C * C ? V : C * C, sizeof *host);
        if (!host) st = err_set(c->dev->err, MLTC_ERR_OUT_OF_MEMORY, "lmmtc: no memory");
        for (size_t i = 0; !st && i < sizeof parts / sizeof *parts; i++) {
            const param_spec *sp = &c->head.specs[parts[i].idx];
            st = st_load_f32(c->dev->err, f, parts[i].hf, sp->ndim, sp->shape, host);
            if (!st) st = dev_upload(c->dev, c->head.params, c->head.offsets[parts[i].idx] * 4, host,
                                     4 * param_numel(sp));
        }
        if (!st) {
            float *b = calloc(V, sizeof *b);
            st = b ? st_read_f32(c->dev->err, f, bias, host) : err_set(c->dev->err, MLTC_ERR_OUT_OF_MEMORY, "lmmtc");
            if (!st) {
                memcpy(b, host, n * sizeof *b);
                st = dev_upload(c->dev, c->head.params, c->head.offsets[DB] * 4, b, 4 * V);
            }
            free(b);
        }
        free(host);
        *loaded = !st;
    }
    st_close(f);
    return st;
}

static mltc_status init(classifier *c) {
    mltc_status st = param_init_normal(c->dev, &c->head, SW, 0.02f, c->s.seed, 0x4845414400000002ull);
    int loaded = 0;
    if (!st && c->init_dir) st = load_pretrained_mlm(c, &loaded);
    if (!st && !loaded) st = param_init_normal(c->dev, &c->head, TW, 0.02f, c->s.seed, 0x4845414400000003ull);
    if (!st && !loaded) st = param_init_const(c->dev, &c->head, LNW, 1.0f);
    return st; /* otherwise biases start at 0: the table is zeroed */
}

static mltc_status alloc(classifier *c) {
    lmmtc_head *h = calloc(1, sizeof *h);
    if (!h) return err_set(c->dev->err, MLTC_ERR_OUT_OF_MEMORY, "lmmtc head: no memory");
    c->head_state = h;
    size_t bk = (size_t)c->max_batch * c->K, C = (size_t)c->C;
    mltc_status st = dev_alloc(c->dev, (bk + 3 * bk + 1 + 2 * bk * C) * 4, &h->buf);
    if (st) return st;
    size_t o = 0;
    h->idx = (dev_view){h->buf, o}, o += bk;
    h->plan_region = (dev_view){h->buf, o}, o += 3 * bk + 1;
    h->x = (dev_view){h->buf, o}, o += bk * C;
    h->dx = (dev_view){h->buf, o};
    return MLTC_OK;
}

static void release(classifier *c) {
    lmmtc_head *h = c->head_state;
    if (!h) return;
    dev_free(c->dev, h->buf);
    dev_free(c->dev, h->mbuf);
    free(h->h_loss);
    free(h);
    c->head_state = NULL;
}

/* MLM work memory for M masked states. */
static mltc_status mlm_reserve(classifier *c, lmmtc_head *h, int M) {
    if (M <= h->cap) return MLTC_OK;
    int cap = M + M / 2 + 16;
    size_t C = (size_t)c->C, V = (size_t)vocab(c), n = (size_t)cap;
    size_t total = n + 3 * n + 1 + n + 8 * n * C + 3 * n + 2 * n * V;
    dev_free(c->dev, h->mbuf);
    h->mbuf = NULL;
    h->cap = 0;
    free(h->h_loss);
    h->h_loss = malloc(sizeof *h->h_loss * n);
    if (!h->h_loss) return err_set(c->dev->err, MLTC_ERR_OUT_OF_MEMORY, "lmmtc MLM: no host memory");
    mltc_status st = dev_alloc(c->dev, total * 4, &h->mbuf);
    if (st) return err_prefix(c->dev->err, "lmmtc MLM work memory for %d masked states: ", M);
    size_t o = 0;
    dev_buf *b = h->mbuf;
    h->m_idx = (dev_view){b, o}, o += n;
    h->m_plan_region = (dev_view){b, o}, o += 3 * n + 1;
    h->m_target = (dev_view){b, o}, o += n;
    dev_view *mats[] = {&h->xm, &h->t1, &h->g, &h->y, &h->dy, &h->dg, &h->dt1, &h->dxm};
    for (size_t i = 0; i < sizeof mats / sizeof *mats; i++) *mats[i] = (dev_view){b, o}, o += n * C;
    h->mean = (dev_view){b, o}, o += n;
    h->rstd = (dev_view){b, o}, o += n;
    h->loss = (dev_view){b, o}, o += n;
    h->logits = (dev_view){b, o}, o += n * V;
    h->dlogits = (dev_view){b, o};
    h->cap = cap;
    return MLTC_OK;
}

/* The hidden row of position t of an example: t itself, or with selected outputs (hT = K, always
 * below T = 3K + 2 + text) the index of the label whose state position t is. */
static int hidden_row(const head_pass *p, int t) { return p->hT == p->T ? t : (t - 2) / 3; }

static mltc_status mlm_forward(classifier *c, lmmtc_head *h, const head_pass *p) {
    dev_ctx *d = c->dev;
    int M = 0, T = p->T, hT = p->hT, C = c->C, V = vocab(c);
    int32_t *idx = c->h_idx, *tgt = c->h_idx + (size_t)p->B * T;
    for (int b = 0; b < p->B; b++)
        for (int t = 0; t < T; t++) {
            int32_t y = p->h_mlm_target[(size_t)b * T + t];
            if (y < 0) continue;
            idx[M] = (p->B + b) * hT + hidden_row(p, t); /* the copy rows follow the classification rows */
            tgt[M++] = y;
        }
    h->M = M;
    if (M == 0) return MLTC_OK;
    mltc_status st = mlm_reserve(c, h, M);
    if (!st) st = dev_upload(d, h->m_idx.buf, h->m_idx.off * 4, idx, 4 * (size_t)M);
    if (!st) st = dev_upload(d, h->m_target.buf, h->m_target.off * 4, tgt, 4 * (size_t)M);
    if (!st) st = clf_plan(c, idx, M, p->rows * hT, h->m_plan_region, &h->m_plan);
    if (!st) st = dev_gather_rows(d, h->xm, p->hidden, h->m_idx, M, C, p->rows * hT, 0.0f);
    if (!st) st = dev_gemm_rm(d, 0, 1, M, C, C, 0.0f, h->xm, C, param_view(&c->head, TW), C, h->t1, C);
    if (!st) st = dev_bias_add(d, h->t1, param_view(&c->head, TB), M, C);
    if (!st) st = dev_gelu_forward(d, h->g, h->t1, (size_t)M * C);
    if (!st)
        st = dev_layernorm_forward(d, h->y, h->mean, h->rstd, h->g, param_view(&c->head, LNW),
                                   param_view(&c->head, LNB), M, C, bert_config_of(c->bert)->layer_norm_eps);
    if (!st) st = dev_gemm_rm(d, 0, 1, M, V, C, 0.0f, h->y, C, bert_word_embeddings(c->bert), C, h->logits, V);
    if (!st) st = dev_bias_add(d, h->logits, param_view(&c->head, DB), M, V);
    if (!st) st = dev_crossentropy_forward(d, h->loss, h->logits, h->m_target, M, V);
    if (st) return st;
    h->states = p->mlm_states > 0 ? p->mlm_states : M; /* a part of a batch: the batch's count */
    /* Summed on the device (the terms as one column) for the step's single read-back. */
    if (p->mlm_sum.buf) return dev_bias_backward(d, p->mlm_sum, h->loss, M, 1);
    TRY(dev_download(d, h->loss.buf, h->loss.off * 4, h->h_loss, 4 * (size_t)M));
    double sum = 0;
    for (int i = 0; i < M; i++) sum += h->h_loss[i];
    c->mlm_loss = sum / h->states;
    return MLTC_OK;
}

static mltc_status forward(classifier *c, const head_pass *p) {
    lmmtc_head *h = c->head_state;
    dev_ctx *d = c->dev;
    int K = c->K, C = c->C, B = p->B;
    int32_t *idx = c->h_idx;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < K; i++) idx[b * K + i] = b * p->hT + hidden_row(p, lmmtc_state_pos(i));
    mltc_status st = dev_upload(d, h->idx.buf, h->idx.off * 4, idx, 4 * (size_t)B * K);
    if (!st) st = clf_plan(c, idx, B * K, p->rows * p->hT, h->plan_region, &h->plan);
    if (!st) st = dev_gather_rows(d, h->x, p->hidden, h->idx, B * K, C, p->rows * p->hT, 0.0f);
    /* One small GEMM per label, batched: logits[:, i] = X[:, i, :] w_i (column i of [B, K]). */
    if (!st) {
        dev_gemm g = {.trans_a = 0, .trans_b = 1, .m = B, .n = 1, .k = C, .alpha = 1.0f, .beta = 0.0f,
                      .a = h->x, .lda = K * C, .stride_a = C,
                      .b = param_view(&c->head, SW), .ldb = C, .stride_b = C,
                      .c = c->logits, .ldc = K, .stride_c = 1, .batch = K};
        st = dev_matmul(d, &g);
    }
    if (!st) st = dev_bias_add(d, c->logits, param_view(&c->head, SB), B, K);
    c->mlm_loss = 0;
    h->M = 0;
    if (!st && p->h_mlm_target) st = mlm_forward(c, h, p);
    return st;
}

static mltc_status mlm_backward(classifier *c, lmmtc_head *h) {
    dev_ctx *d = c->dev;
    int M = h->M, C = c->C, V = vocab(c);
    size_t mc = (size_t)M * C;
    mltc_status st = dev_fill(d, h->dlogits, (size_t)M * V, 0.0f);
    if (!st) st = dev_crossentropy_backward(d, h->dlogits, h->logits, h->m_target, M, V,
                                                (float)(c->s.lambda / h->states));
    /* Decoder tied to the word embeddings: dE += dlogits^T Y, dY = dlogits E. */
    if (!st) st = dev_gemm_rm(d, 1, 0, V, C, M, 1.0f, h->dlogits, V, h->y, C, bert_word_embeddings_grad(c->bert), C);
    if (!st) st = dev_bias_backward(d, param_grad(&c->head, DB), h->dlogits, M, V);
    if (!st) st = dev_gemm_rm(d, 0, 0, M, C, V, 0.0f, h->dlogits, V, bert_word_embeddings(c->bert), C, h->dy, C);
    if (!st)
        st = dev_layernorm_backward(d, h->dg, param_grad(&c->head, LNW), param_grad(&c->head, LNB), h->dy, h->g,
                                    param_view(&c->head, LNW), h->mean, h->rstd, M, C);
    if (!st) st = dev_gelu_backward(d, h->dt1, h->dg, h->t1, mc);
    if (!st) st = dev_gemm_rm(d, 1, 0, C, C, M, 1.0f, h->dt1, C, h->xm, C, param_grad(&c->head, TW), C);
    if (!st) st = dev_bias_backward(d, param_grad(&c->head, TB), h->dt1, M, C);
    if (!st) st = dev_gemm_rm(d, 0, 0, M, C, C, 0.0f, h->dt1, C, param_view(&c->head, TW), C, h->dxm, C);
    if (!st) st = dev_scatter_add_rows(d, c->dhidden, h->dxm, &h->m_plan, C);
    return st;
}

static mltc_status backward(classifier *c, const head_pass *p) {
    lmmtc_head *h = c->head_state;
    dev_ctx *d = c->dev;
    int K = c->K, C = c->C, B = p->B;
    /* dw_i += sum_b dlogits[b, i] X[b, i, :];  dX[b, i, :] = dlogits[b, i] w_i */
    dev_gemm gw = {.trans_a = 1, .trans_b = 0, .m = 1, .n = C, .k = B, .alpha = 1.0f, .beta = 1.0f,
                   .a = c->dlogits, .lda = K, .stride_a = 1,
                   .b = h->x, .ldb = K * C, .stride_b = C,
                   .c = param_grad(&c->head, SW), .ldc = C, .stride_c = C, .batch = K};
    mltc_status st = dev_matmul(d, &gw);
    if (!st) st = dev_bias_backward(d, param_grad(&c->head, SB), c->dlogits, B, K);
    if (!st) {
        dev_gemm gx = {.trans_a = 0, .trans_b = 0, .m = B, .n = C, .k = 1, .alpha = 1.0f, .beta = 0.0f,
                       .a = c->dlogits, .lda = K, .stride_a = 1,
                       .b = param_view(&c->head, SW), .ldb = C, .stride_b = C,
                       .c = h->dx, .ldc = K * C, .stride_c = C, .batch = K};
        st = dev_matmul(d, &gx);
    }
    if (!st) st = dev_scatter_add_rows(d, c->dhidden, h->dx, &h->plan, C);
    if (!st && h->M > 0) st = mlm_backward(c, h);
    return st;
}

/* Only the K state positions are read (classification, and the MLM's masked states, which are
 * state positions too): the encoder's last layer runs for them alone, hidden row i of an
 * example being label i's state. */
static int outputs(const classifier *c, int32_t *pos) {
    for (int i = 0; i < c->K; i++) pos[i] = lmmtc_state_pos(i);
    return c->K;
}

const head_ops head_ops_lmmtc = {specs, init, alloc, release, outputs, NULL, forward, backward, SB};
