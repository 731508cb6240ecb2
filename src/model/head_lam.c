/* BERT-LAM: the label names run through the same encoder (a sibling sharing its parameters),
 * mean-pooled into label vectors; cosine label attention over the words gives one vector per
 * text; dense -> GELU -> linear gives the logits. Gradients flow back into the label pass. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/classifier_internal.h"

typedef struct lam_head {
    int TL;                              /* padded length of the label-name inputs */
    int32_t *l_ids, *l_types, *l_mask;   /* [K, TL] host inputs of the label pass */
    dev_buf *buf;
    dev_view pool;                       /* [K, TL] mask / count: mean pooling weights */
    dev_view lvec, dlvec;                /* [K, C] */
    dev_view dhl;                        /* [K, TL, C] */
    dev_view att, weights, argmax;       /* [maxB, C], [maxB, T], [maxB, T] */
    dev_view x, d1, g1, dg1, dd1, dx, datt; /* [maxB, C] */
    dev_view label_hidden;               /* of the last label pass */
    dev_label_attention a;
} lam_head;

enum { DW, DBIAS, CW, CB };

static int specs(const classifier *c, param_spec *out, int max) {
    out[DW] = (param_spec){"lam.dense.weight", 2, {c->C, c->C}, 1};
    out[DBIAS] = (param_spec){"lam.dense.bias", 1, {c->C}, 0};
    out[CW] = (param_spec){"lam.classifier.weight", 2, {c->K, c->C}, 1};
    out[CB] = (param_spec){"lam.classifier.bias", 1, {c->K}, 0};
    return 4;
}

static mltc_status init(classifier *c) {
    mltc_status st = param_init_normal(c->dev, &c->head, DW, 0.02f, c->s.seed, 0x4845414400000004ull);
    return st ? st : param_init_normal(c->dev, &c->head, CW, 0.02f, c->s.seed, 0x4845414400000005ull);
}

/* Label names as text: '_' and '-' read as spaces ("money-fx" -> "money fx"). */
static mltc_status label_inputs(classifier *c, lam_head *h) {
    int K = c->K, TL = 2;
    int32_t **ids = calloc((size_t)K, sizeof *ids);
    int *n = calloc((size_t)K, sizeof *n);
    mltc_status st = (!ids || !n) ? err_set(c->dev->err, MLTC_ERR_OUT_OF_MEMORY, "lam: no memory") : MLTC_OK;
    for (int k = 0; !st && k < K; k++) {
        char *name = strdup(c->lbl.names[k]);
        if (!name) {
            st = err_set(c->dev->err, MLTC_ERR_OUT_OF_MEMORY, "lam: no memory");
            break;
        }
        for (char *q = name; *q; q++)
            if (*q == '_' || *q == '-') *q = ' ';
        st = classifier_tokenize(c, name, strlen(name), &ids[k], &n[k]);
        free(name);
        if (!st && n[k] + 2 > TL) TL = n[k] + 2 < c->max_len ? n[k] + 2 : c->max_len;
    }
    if (!st) {
        h->TL = TL;
        size_t kt = (size_t)K * TL;
        h->l_ids = calloc(kt, sizeof *h->l_ids);
        h->l_types = calloc(kt, sizeof *h->l_types);
        h->l_mask = calloc(kt, sizeof *h->l_mask);
        float *pool = calloc(kt, sizeof *pool);
        if (!h->l_ids || !h->l_types || !h->l_mask || !pool)
            st = err_set(c->dev->err, MLTC_ERR_OUT_OF_MEMORY, "lam: no memory");
        int32_t pad = tok_special(c->tok)->pad >= 0 ? tok_special(c->tok)->pad : 0;
        for (int k = 0; !st && k < K; k++) {
            int len = 0;
            st = tok_build_from_ids(c->tok, c->dev->err, ids[k], n[k], NULL, 0, TL, h->l_ids + (size_t)k * TL, NULL,
                                    &len);
            for (int t = 0; t < TL; t++) {
                h->l_mask[(size_t)k * TL + t] = t < len;
                if (t >= len) h->l_ids[(size_t)k * TL + t] = pad;
                pool[(size_t)k * TL + t] = t < len ? 1.0f / (float)len : 0.0f;
            }
        }
        if (!st) st = dev_upload(c->dev, h->pool.buf, h->pool.off * 4, pool, 4 * kt);
        free(pool);
    }
    for (int k = 0; ids && k < K; k++) free(ids[k]);
    free(ids);
    free(n);
    return st;
}

static mltc_status alloc(classifier *c) {
    lam_head *h = calloc(1, sizeof *h);
    if (!h) return err_set(c->dev->err, MLTC_ERR_OUT_OF_MEMORY, "lam head: no memory");
    c->head_state = h;
    /* Label-name lengths bound the label pass; pooling weights need the buffer, so size with
     * the largest possible TL first. */
    size_t K = (size_t)c->K, C = (size_t)c->C, mb = (size_t)c->max_batch, T = (size_t)c->max_len;
    size_t kt = K * T, total = kt + 2 * K * C + kt * C + mb * C + 2 * mb * T + 7 * mb * C;
    mltc_status st = dev_alloc(c->dev, total * 4, &h->buf);
    if (st) return st;
    size_t o = 0;
    h->pool = (dev_view){h->buf, o}, o += kt;
    h->lvec = (dev_view){h->buf, o}, o += K * C;
    h->dlvec = (dev_view){h->buf, o}, o += K * C;
    h->dhl = (dev_view){h->buf, o}, o += kt * C;
    h->att = (dev_view){h->buf, o}, o += mb * C;
    h->weights = (dev_view){h->buf, o}, o += mb * T;
    h->argmax = (dev_view){h->buf, o}, o += mb * T;
    dev_view *v[] = {&h->x, &h->d1, &h->g1, &h->dg1, &h->dd1, &h->dx, &h->datt};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) *v[i] = (dev_view){h->buf, o}, o += mb * C;
    st = label_inputs(c, h);
    if (!st) st = bert_model_create_sibling(c->bert, c->K, h->TL, &c->label_bert);
    return st;
}

static void release(classifier *c) {
    lam_head *h = c->head_state;
    if (!h) return;
    bert_model_free(c->label_bert);
    c->label_bert = NULL;
    dev_free(c->dev, h->buf);
    free(h->l_ids);
    free(h->l_types);
    free(h->l_mask);
    free(h);
    c->head_state = NULL;
}

/* The label pass: label vectors = mean over each name's tokens of the encoder's output. */
static mltc_status before(classifier *c, const head_pass *p) {
    lam_head *h = c->head_state;
    /* The label pass's dropout: its own stream beside the text's (that of the part being run). */
    bert_set_dropout_seed(c->label_bert, clf_dropout_seed(c) ^ 0x4C4142454C53ull); /* "LABELS" */
    mltc_status st = p->train ? bert_forward(c->label_bert, h->l_ids, h->l_types, h->l_mask, c->K, h->TL, 1, p->step,
                                             &h->label_hidden)
                              : bert_forward_inference(c->label_bert, h->l_ids, h->l_types, h->l_mask, c->K, h->TL,
                                                       &h->label_hidden);
    if (st) return st;
    int TL = h->TL, C = c->C;
    dev_gemm g = {.m = 1, .n = C, .k = TL, .alpha = 1.0f, .beta = 0.0f,
                  .a = h->pool, .lda = TL, .stride_a = TL,
                  .b = h->label_hidden, .ldb = C, .stride_b = (long)TL * C,
                  .c = h->lvec, .ldc = C, .stride_c = C, .batch = c->K};
    return dev_matmul(c->dev, &g);
}

static float head_p(const classifier *c, const head_pass *p) { return p->train ? (float)c->s.dropout : 0.0f; }

static mltc_status forward(classifier *c, const head_pass *p) {
    lam_head *h = c->head_state;
    dev_ctx *d = c->dev;
    int B = p->B, C = c->C, K = c->K;
    h->a = (dev_label_attention){.batch = B, .words = p->T, .labels = K, .dim = C, .h = p->hidden, .l = h->lvec,
                                 .word_mask = bert_mask(c->bert), .out = h->att, .weights = h->weights,
                                 .argmax = h->argmax};
    mltc_status st = dev_label_attention_forward(d, &h->a);
    dev_view x = h->att;
    float pr = head_p(c, p);
    if (!st && pr > 0) {
        st = dev_dropout_forward(d, h->x, h->att, (size_t)B * C, pr, clf_dropout_seed(c),
                                 bert_dropout_offset(p->step, BERT_DROPOUT_HEAD_SITE + 1));
        x = h->x;
    }
    if (!st) st = dev_gemm_rm(d, 0, 1, B, C, C, 0.0f, x, C, param_view(&c->head, DW), C, h->d1, C);
    if (!st) st = dev_bias_add(d, h->d1, param_view(&c->head, DBIAS), B, C);
    if (!st) st = dev_gelu_forward(d, h->g1, h->d1, (size_t)B * C);
    if (!st) st = dev_gemm_rm(d, 0, 1, B, K, C, 0.0f, h->g1, C, param_view(&c->head, CW), C, c->logits, K);
    if (!st) st = dev_bias_add(d, c->logits, param_view(&c->head, CB), B, K);
    return st;
}

static mltc_status backward(classifier *c, const head_pass *p) {
    lam_head *h = c->head_state;
    dev_ctx *d = c->dev;
    int B = p->B, C = c->C, K = c->K, TL = h->TL;
    size_t bc = (size_t)B * C;
    float pr = head_p(c, p);
    dev_view x = pr > 0 ? h->x : h->att;
    mltc_status st = dev_gemm_rm(d, 1, 0, K, C, B, 1.0f, c->dlogits, K, h->g1, C, param_grad(&c->head, CW), C);
    if (!st) st = dev_bias_backward(d, param_grad(&c->head, CB), c->dlogits, B, K);
    if (!st) st = dev_gemm_rm(d, 0, 0, B, C, K, 0.0f, c->dlogits, K, param_view(&c->head, CW), C, h->dg1, C);
    if (!st) st = dev_gelu_backward(d, h->dd1, h->dg1, h->d1, bc);
    if (!st) st = dev_gemm_rm(d, 1, 0, C, C, B, 1.0f, h->dd1, C, x, C, param_grad(&c->head, DW), C);
    if (!st) st = dev_bias_backward(d, param_grad(&c->head, DBIAS), h->dd1, B, C);
    if (!st) st = dev_gemm_rm(d, 0, 0, B, C, C, 0.0f, h->dd1, C, param_view(&c->head, DW), C, h->dx, C);
    dev_view datt = h->dx;
    if (!st && pr > 0) {
        /* a dropout's gradient is the same dropout (mask and scale) of dy */
        st = dev_dropout_forward(d, h->datt, h->dx, bc, pr, clf_dropout_seed(c),
                                 bert_dropout_offset(p->step, BERT_DROPOUT_HEAD_SITE + 1));
        datt = h->datt;
    }
    if (!st) st = dev_fill(d, h->dlvec, (size_t)K * C, 0.0f);
    if (!st) st = dev_label_attention_backward(d, &h->a, c->dhidden, h->dlvec, datt);
    /* Mean pooling backward: dHl[k] = pool[k]^T dlvec[k], then the label pass's backward. */
    if (!st) {
        dev_gemm g = {.trans_a = 1, .m = TL, .n = C, .k = 1, .alpha = 1.0f, .beta = 0.0f,
                      .a = h->pool, .lda = TL, .stride_a = TL,
                      .b = h->dlvec, .ldb = C, .stride_b = C,
                      .c = h->dhl, .ldc = C, .stride_c = (long)TL * C, .batch = K};
        st = dev_matmul(d, &g);
    }
    if (!st) st = bert_backward(c->label_bert, h->dhl);
    return st;
}

static double cosine(const float *a, const float *b, int C) {
    double ab = 0, aa = 1e-12, bb = 1e-12;
    for (int i = 0; i < C; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return ab / sqrt(aa * bb);
}

void lam_best_tokens(const float *hidden, const float *lvec, int T, int K, int C, int *best) {
    for (int k = 0; k < K; k++) {
        double top = -INFINITY;
        best[k] = 0;
        for (int t = 0; t < T; t++) {
            double s = cosine(hidden + (size_t)t * C, lvec + (size_t)k * C, C);
            if (s > top) top = s, best[k] = t;
        }
    }
}

mltc_status lam_explain(classifier *c, int T, float *weights, int *best) {
    lam_head *h = c->head_state;
    int K = c->K, C = c->C;
    float *hid = malloc(sizeof *hid * (size_t)T * C), *lv = malloc(sizeof *lv * (size_t)K * C);
    mltc_status st = hid && lv ? MLTC_OK : err_set(c->dev->err, MLTC_ERR_OUT_OF_MEMORY, "lam explain: no memory");
    if (!st) st = dev_download(c->dev, h->weights.buf, h->weights.off * 4, weights, 4 * (size_t)T);
    if (!st) st = dev_download(c->dev, h->a.h.buf, h->a.h.off * 4, hid, 4 * (size_t)T * C);
    if (!st) st = dev_download(c->dev, h->lvec.buf, h->lvec.off * 4, lv, 4 * (size_t)K * C);
    if (!st) lam_best_tokens(hid, lv, T, K, C, best);
    free(hid);
    free(lv);
    return st;
}

const head_ops head_ops_lam = {specs, init, alloc, release, NULL, before, forward, backward, CB};
