/* The encoder's forward pass: embeddings, then N post-LayerNorm transformer layers, as
 * Hugging Face's BertModel computes them. Shapes: N = B*T rows, C hidden, H heads of D. */
#include <math.h>
#include <string.h>

#include "model/bert_internal.h"

/* Checks and uploads ids, token types, positions and the mask; keeps host copies of the
 * indices for the backward's scatter plans. */
static mltc_status inputs_upload(bert_model *m, const int32_t *ids, const int32_t *types, const int32_t *mask, int B,
                                 int T) {
    const bert_config *c = &m->cfg;
    dev_ctx *dev = m->dev;
    size_t n = (size_t)B * T;
    for (size_t i = 0; i < n; i++) {
        int b = (int)(i / (size_t)T), t = (int)(i % (size_t)T);
        if (ids[i] < 0 || ids[i] >= c->vocab_size)
            return err_set(dev->err, MLTC_ERR_INVALID_ARGUMENT,
                           "bert_forward: token id %d at [%d, %d] is outside the vocabulary [0, %d)", ids[i], b, t,
                           c->vocab_size);
        int32_t ty = types ? types[i] : 0;
        if (ty < 0 || ty >= c->type_vocab_size)
            return err_set(dev->err, MLTC_ERR_INVALID_ARGUMENT,
                           "bert_forward: token type %d at [%d, %d] is outside [0, %d)", ty, b, t,
                           c->type_vocab_size);
        m->h_ids[i] = ids[i];
        m->h_types[i] = ty;
        m->h_pos[i] = t;
        m->h_mask[i] = (!mask || mask[i] != 0) ? 1.0f : 0.0f;
    }
    TRY(dev_upload(dev, m->inputs, m->ids.off * 4, m->h_ids, n * 4));
    TRY(dev_upload(dev, m->inputs, m->types.off * 4, m->h_types, n * 4));
    TRY(dev_upload(dev, m->inputs, m->pos.off * 4, m->h_pos, n * 4));
    TRY(dev_upload(dev, m->inputs, m->mask.off * 4, m->h_mask, n * 4));
    return MLTC_OK;
}

/* y = x W^T + b for x [n, in] and a PyTorch Linear weight W [out, in]. */
mltc_status bert_linear(bert_model *m, dev_view y, dev_view x, size_t w_off, size_t b_off, int n, int in, int out) {
    dev_gemm g = {.trans_b = 1, .m = n, .n = out, .k = in, .alpha = 1.0f, .beta = 0.0f, .a = x,
                  .b = bert_pv(m, w_off), .c = y, .lda = in, .ldb = in, .ldc = out, .batch = 1,
                  .bias = bert_pv(m, b_off)};
    return dev_matmul(m->dev, &g);
}

mltc_status bert_dropout(bert_model *m, dev_view x, size_t n, float p, unsigned site) {
    if (p == 0.0f) return MLTC_OK; /* exact identity: no op at all */
    return dev_dropout_forward(m->dev, x, x, n, p, m->seed, bert_dropout_offset(m->step, site));
}

/* Attention of R query rows per head over all T keys (R = T for a full layer, fewer for selected
 * outputs). The products read each head's columns where the projections wrote them and write the
 * context straight into its merged [B, R, C] place: no split or merge of the heads. */
mltc_status bert_attention_forward(bert_model *m, int l, int R, const bert_qkv *x) {
    const bert_config *c = &m->cfg;
    const bert_layer_act *a = &m->act[l];
    dev_ctx *dev = m->dev;
    int B = m->B, T = m->T, C = c->hidden_size, H = c->num_heads, D = C / H;
    size_t BHRT = (size_t)B * H * R * T;
    float p_a = bert_p_attn(m);
    bert_heads scores = bert_score_heads(m, m->s_scores, R), ctx = bert_row_heads(m, a->ctx, R, C);
    bert_heads P = bert_score_heads(m, a->att, R);
    dev_softmax sm = {B, H, R, T, 1.0f / sqrtf((float)D), m->mask};
    if (m->inference) { /* no backward will read the probabilities: the backend may fuse the three */
        dev_gemm qk = bert_heads_gemm(0, 1, R, T, D, x->q, x->k, scores, B, H);
        dev_gemm pv = bert_heads_gemm(0, 0, R, D, T, P, x->v, ctx, B, H);
        return dev_attention_forward(dev, &qk, &sm, &pv);
    }
    TRY(bert_gemm_heads(dev, 0, 1, R, T, D, x->q, x->k, scores, B, H));
    TRY(dev_softmax_forward(dev, &sm, a->att, m->s_scores));
    if (p_a > 0.0f) {
        TRY(dev_dropout_forward(dev, a->att_d, a->att, BHRT, p_a, m->seed,
                                bert_dropout_offset(m->step, BERT_SITE_ATT(l))));
        P.v = a->att_d;
    }
    return bert_gemm_heads(dev, 0, 0, R, D, T, P, x->v, ctx, B, H);
}

static mltc_status layer_forward(bert_model *m, int l, dev_view x) {
    const bert_config *c = &m->cfg;
    const bert_layer_off *o = &m->lay.layers[l];
    int B = m->B, T = m->T, C = c->hidden_size;

    /* One projection for q, k and v, [B, T, 3C], which attention reads as it is. */
    TRY(bert_linear(m, m->act[l].qkv, x, o->qkv_w, o->qkv_b, B * T, C, 3 * C));
    bert_qkv qkv = bert_qkv_full(m, m->act[l].qkv);
    TRY(bert_attention_forward(m, l, T, &qkv));
    return bert_layer_tail_forward(m, l, x, B * T);
}

/* Output projection, dropout, residual, LayerNorm; feed-forward with erf GELU, dropout,
 * residual, LayerNorm: over n rows of a->ctx, with residual input x [n, C]. */
mltc_status bert_layer_tail_forward(bert_model *m, int l, dev_view x, int N) {
    const bert_config *c = &m->cfg;
    const bert_layer_off *o = &m->lay.layers[l];
    const bert_layer_act *a = &m->act[l];
    dev_ctx *dev = m->dev;
    int C = c->hidden_size, I = c->intermediate_size;
    size_t NC = (size_t)N * C;
    float p_h = bert_p_hidden(m);
    TRY(bert_linear(m, a->res1, a->ctx, o->o_w, o->o_b, N, C, C));
    TRY(bert_dropout(m, a->res1, NC, p_h, BERT_SITE_ATT_OUT(l)));
    TRY(dev_axpby(dev, a->res1, 1.0f, a->res1, 1.0f, x, NC));
    TRY(dev_layernorm_forward(dev, a->ln1, a->ln1_mean, a->ln1_rstd, a->res1, bert_pv(m, o->ln1_w),
                              bert_pv(m, o->ln1_b), N, C, c->layer_norm_eps));
    TRY(bert_linear(m, a->f_pre, a->ln1, o->f1_w, o->f1_b, N, C, I));
    TRY(dev_gelu_forward(dev, a->f_gelu, a->f_pre, (size_t)N * I));
    TRY(bert_linear(m, a->res2, a->f_gelu, o->f2_w, o->f2_b, N, I, C));
    TRY(bert_dropout(m, a->res2, NC, p_h, BERT_SITE_FFN_OUT(l)));
    TRY(dev_axpby(dev, a->res2, 1.0f, a->res2, 1.0f, a->ln1, NC));
    return dev_layernorm_forward(dev, a->ln2, a->ln2_mean, a->ln2_rstd, a->res2, bert_pv(m, o->ln2_w),
                                 bert_pv(m, o->ln2_b), N, C, c->layer_norm_eps);
}

mltc_status bert_forward(bert_model *m, const int32_t *ids, const int32_t *token_types,
                         const int32_t *attention_mask, int B, int T, int train, uint64_t step, dev_view *hidden) {
    dev_ctx *dev = m->dev;
    const bert_config *c = &m->cfg;
    if (!ids || !hidden) return err_set(dev->err, MLTC_ERR_INVALID_ARGUMENT, "bert_forward: ids or hidden is NULL");
    if (B < 1 || B > m->max_batch || T < 1 || T > m->max_seq)
        return err_set(dev->err, MLTC_ERR_INVALID_ARGUMENT,
                       "bert_forward: batch %d x length %d exceeds the model's %d x %d (or is empty)", B, T,
                       m->max_batch, m->max_seq);
    if (train && step >= BERT_MAX_STEP)
        return err_set(dev->err, MLTC_ERR_INVALID_ARGUMENT, "bert_forward: step %llu >= the dropout limit %llu",
                       (unsigned long long)step, (unsigned long long)BERT_MAX_STEP);
    for (int r = 0; r < m->sel_R; r++)
        if (m->sel_pos[r] >= T)
            return err_set(dev->err, MLTC_ERR_INVALID_ARGUMENT,
                           "bert_forward: selected output position %d is outside the batch's length %d",
                           m->sel_pos[r], T);
    m->have_forward = 0;
    m->B = B;
    m->T = T;
    m->train = train != 0;
    m->step = step;
    TRY(inputs_upload(m, ids, token_types, attention_mask, B, T));

    int N = B * T, C = c->hidden_size;
    const bert_layout *L = &m->lay;
    TRY(dev_gather_rows(dev, m->emb_sum, bert_pv(m, L->word), m->ids, N, C, c->vocab_size, 0.0f));
    TRY(dev_gather_rows(dev, m->emb_sum, bert_pv(m, L->pos), m->pos, N, C, c->max_position, 1.0f));
    TRY(dev_gather_rows(dev, m->emb_sum, bert_pv(m, L->type), m->types, N, C, c->type_vocab_size, 1.0f));
    TRY(dev_layernorm_forward(dev, m->emb_out, m->emb_mean, m->emb_rstd, m->emb_sum, bert_pv(m, L->emb_ln_w),
                              bert_pv(m, L->emb_ln_b), N, C, c->layer_norm_eps));
    TRY(bert_dropout(m, m->emb_out, (size_t)N * C, bert_p_hidden(m), BERT_SITE_EMB));

    dev_view x = m->emb_out;
    for (int l = 0; l < c->num_layers; l++) {
        if (l == c->num_layers - 1 && m->sel_R > 0)
            TRY(bert_last_layer_forward_selected(m, l, x));
        else
            TRY(layer_forward(m, l, x));
        x = m->act[l].ln2;
    }
    m->have_forward = 1;
    *hidden = x;
    return MLTC_OK;
}

mltc_status bert_forward_inference(bert_model *m, const int32_t *ids, const int32_t *token_types,
                                   const int32_t *attention_mask, int B, int T, dev_view *hidden) {
    m->inference = 1;
    mltc_status st = bert_forward(m, ids, token_types, attention_mask, B, T, 0, 0, hidden);
    m->inference = 0;
    m->have_forward = 0; /* the attention probabilities were not kept */
    return st;
}
