/* The encoder's forward pass: embeddings, then N post-LayerNorm transformer layers, as
 * Hugging Face's BertModel computes them. Shapes: N = B*T rows, C hidden, H heads of D. */
#include <string.h>

#include "model/bert_layer.h"

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

mltc_status bert_forward_explained(bert_model *m, const int32_t *ids, const int32_t *token_types,
                                   const int32_t *attention_mask, int B, int T, dev_view *hidden) {
    m->keep_attention = 1;
    mltc_status st = bert_forward(m, ids, token_types, attention_mask, B, T, 0, 0, hidden);
    m->keep_attention = 0;
    return st;
}

mltc_status bert_last_attention(const bert_model *m, float *out) {
    if (!m->have_forward)
        return err_set(m->dev->err, MLTC_ERR_INVALID_ARGUMENT,
                       "bert_last_attention: no attention kept (it needs a bert_forward, not an inference one)");
    if (m->fused_attention && !m->last_unfused)
        return err_set(m->dev->err, MLTC_ERR_INVALID_ARGUMENT,
                       "bert_last_attention: the last forward's fused attention kept no probabilities (it needs "
                       "bert_forward_explained)");
    int R = m->sel_R > 0 ? m->sel_R : m->T;
    size_t n = (size_t)m->B * m->cfg.num_heads * R * m->T;
    dev_view att = m->fused_attention ? m->unfused_att : m->act[m->cfg.num_layers - 1].att;
    return dev_download(m->dev, att.buf, att.off * 4, out, 4 * n);
}

int bert_last_length(const bert_model *m) { return m->T; }
