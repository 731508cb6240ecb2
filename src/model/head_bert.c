/* The baseline head: a text vector -> dropout -> linear (K x C) -> logits. The text vector is
 * [CLS]'s final state, or with mean pooling the mean of every real token's final state (the way
 * sentence encoders such as all-MiniLM-L6-v2 were trained). */
#include <stdlib.h>

#include "model/classifier_internal.h"

typedef struct bert_head {
    dev_buf *buf;
    dev_view idx, plan_region; /* int32 [maxB], [3 maxB + 1] ([CLS]) */
    dev_view pool;             /* [maxB, max_len] mean-pooling weights: mask / real tokens */
    dev_view cls, x, dx, dcls; /* [maxB, C] */
    dev_rows_plan plan;
    float *h_pool;             /* host copy of pool */
} bert_head;

enum { W, B_ };

static int specs(const classifier *c, param_spec *out, int max) {
    out[W] = (param_spec){"classifier.weight", 2, {c->K, c->C}, 1};
    out[B_] = (param_spec){"classifier.bias", 1, {c->K}, 0};
    return 2;
}

static mltc_status init(classifier *c) {
    mltc_status st = param_init_normal(c->dev, &c->head, W, 0.02f, c->s.seed, 0x4845414400000001ull);
    return st ? st : param_init_const(c->dev, &c->head, B_, 0.0f);
}

static int mean_pooled(const classifier *c) { return c->s.pooling == POOL_MEAN; }

static mltc_status alloc(classifier *c) {
    bert_head *h = calloc(1, sizeof *h);
    if (!h) return err_set(c->dev->err, MLTC_ERR_OUT_OF_MEMORY, "bert head: no memory");
    c->head_state = h;
    size_t mb = (size_t)c->max_batch, C = (size_t)c->C, pool = mean_pooled(c) ? mb * (size_t)c->max_len : 0;
    if (pool && !(h->h_pool = malloc(sizeof *h->h_pool * pool)))
        return err_set(c->dev->err, MLTC_ERR_OUT_OF_MEMORY, "bert head: no memory for pooling weights");
    size_t n = mb + 3 * mb + 1 + pool + 4 * mb * C;
    mltc_status st = dev_alloc(c->dev, n * 4, &h->buf);
    if (st) return st;
    size_t o = 0;
    h->idx = (dev_view){h->buf, o}, o += mb;
    h->plan_region = (dev_view){h->buf, o}, o += 3 * mb + 1;
    h->pool = (dev_view){h->buf, o}, o += pool;
    h->cls = (dev_view){h->buf, o}, o += mb * C;
    h->x = (dev_view){h->buf, o}, o += mb * C;
    h->dx = (dev_view){h->buf, o}, o += mb * C;
    h->dcls = (dev_view){h->buf, o};
    return MLTC_OK;
}

static void release(classifier *c) {
    bert_head *h = c->head_state;
    if (!h) return;
    dev_free(c->dev, h->buf);
    free(h->h_pool);
    free(h);
    c->head_state = NULL;
}

static float head_p(const classifier *c, const head_pass *p) { return p->train ? (float)c->s.dropout : 0.0f; }

/* The batch's pooling weights: 1 / (real tokens) at each real token of a row, 0 at padding. */
static mltc_status upload_pool(classifier *c, bert_head *h, const head_pass *p) {
    size_t T = (size_t)p->T;
    for (int b = 0; b < p->B; b++) {
        const int32_t *mask = c->h_mask + (size_t)b * T;
        int real = 0;
        for (size_t t = 0; t < T; t++) real += mask[t] != 0;
        for (size_t t = 0; t < T; t++) h->h_pool[b * T + t] = mask[t] ? 1.0f / (float)real : 0.0f;
    }
    return dev_upload(c->dev, h->pool.buf, h->pool.off * 4, h->h_pool, 4 * (size_t)p->B * T);
}

/* cls[b] = pool[b] (1 x T) hidden[b] (T x C), one product per example. */
static mltc_status pool_forward(classifier *c, bert_head *h, const head_pass *p) {
    mltc_status st = upload_pool(c, h, p);
    if (st) return st;
    int T = p->T, C = c->C;
    dev_gemm g = {.m = 1, .n = C, .k = T, .alpha = 1.0f, .beta = 0.0f,
                  .a = h->pool, .lda = T, .stride_a = T,
                  .b = p->hidden, .ldb = C, .stride_b = (long)T * C,
                  .c = h->cls, .ldc = C, .stride_c = C, .batch = p->B};
    return dev_matmul(c->dev, &g);
}

/* dhidden[b] (T x C) = pool[b]^T (T x 1) dcls[b] (1 x C). */
static mltc_status pool_backward(classifier *c, bert_head *h, const head_pass *p, dev_view dcls) {
    int T = p->T, C = c->C;
    dev_gemm g = {.trans_a = 1, .m = T, .n = C, .k = 1, .alpha = 1.0f, .beta = 0.0f,
                  .a = h->pool, .lda = T, .stride_a = T,
                  .b = dcls, .ldb = C, .stride_b = C,
                  .c = c->dhidden, .ldc = C, .stride_c = (long)T * C, .batch = p->B};
    return dev_matmul(c->dev, &g);
}

/* [CLS] is token 0 of each row, and the encoder's only output row (outputs() below). */
static mltc_status cls_forward(classifier *c, bert_head *h, const head_pass *p) {
    int32_t *idx = c->h_idx;
    for (int b = 0; b < p->B; b++) idx[b] = b * p->hT;
    mltc_status st = dev_upload(c->dev, h->idx.buf, h->idx.off * 4, idx, sizeof *idx * (size_t)p->B);
    if (!st) st = clf_plan(c, idx, p->B, p->rows * p->hT, h->plan_region, &h->plan);
    if (!st) st = dev_gather_rows(c->dev, h->cls, p->hidden, h->idx, p->B, c->C, p->rows * p->hT, 0.0f);
    return st;
}

static mltc_status forward(classifier *c, const head_pass *p) {
    bert_head *h = c->head_state;
    dev_ctx *d = c->dev;
    mltc_status st = mean_pooled(c) ? pool_forward(c, h, p) : cls_forward(c, h, p);
    dev_view x = h->cls;
    float pr = head_p(c, p);
    if (!st && pr > 0) {
        st = dev_dropout_forward(d, h->x, h->cls, (size_t)p->B * c->C, pr, clf_dropout_seed(c),
                                 bert_dropout_offset(p->step, BERT_DROPOUT_HEAD_SITE));
        x = h->x;
    }
    /* logits[B, K] = x[B, C] W^T + b */
    if (!st) st = dev_gemm_rm(d, 0, 1, p->B, c->K, c->C, 0.0f, x, c->C, param_view(&c->head, W), c->C, c->logits, c->K);
    if (!st) st = dev_bias_add(d, c->logits, param_view(&c->head, B_), p->B, c->K);
    return st;
}

static mltc_status backward(classifier *c, const head_pass *p) {
    bert_head *h = c->head_state;
    dev_ctx *d = c->dev;
    float pr = head_p(c, p);
    dev_view x = pr > 0 ? h->x : h->cls;
    /* dW[K, C] += dlogits^T x; db += column sums; dx[B, C] = dlogits W */
    mltc_status st =
        dev_gemm_rm(d, 1, 0, c->K, c->C, p->B, 1.0f, c->dlogits, c->K, x, c->C, param_grad(&c->head, W), c->C);
    if (!st) st = dev_bias_backward(d, param_grad(&c->head, B_), c->dlogits, p->B, c->K);
    if (!st)
        st = dev_gemm_rm(d, 0, 0, p->B, c->C, c->K, 0.0f, c->dlogits, c->K, param_view(&c->head, W), c->C, h->dx, c->C);
    dev_view dcls = h->dx;
    if (!st && pr > 0) {
        /* a dropout's gradient is the same dropout (mask and scale) of dy */
        st = dev_dropout_forward(d, h->dcls, h->dx, (size_t)p->B * c->C, pr, clf_dropout_seed(c),
                                 bert_dropout_offset(p->step, BERT_DROPOUT_HEAD_SITE));
        dcls = h->dcls;
    }
    if (st) return st;
    return mean_pooled(c) ? pool_backward(c, h, p, dcls) : dev_scatter_add_rows(d, c->dhidden, dcls, &h->plan, c->C);
}

/* With [CLS] only that row is read: the encoder's last layer runs for it alone. Mean pooling
 * reads every position (0: no selection). */
static int outputs(const classifier *c, int32_t *pos) {
    if (mean_pooled(c)) return 0;
    pos[0] = 0;
    return 1;
}

const head_ops head_ops_bert = {specs, init, alloc, release, outputs, NULL, forward, backward, B_};
