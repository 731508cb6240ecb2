/* The encoder's backward pass, layer by layer in reverse, accumulating into the gradient
 * buffer. Activation gradients live in scratch: matmuls that produce one write it with
 * beta = 0 so it needs no clearing; ops that can only accumulate (layernorm, gelu, softmax,
 * dropout backward) get a buffer filled with zeros first. */
#include "model/bert_layer.h"

/* dout: gradient w.r.t. this layer's output (read only by the first LayerNorm backward).
 * On return s_dA holds the gradient w.r.t. the layer's input x. */
static mltc_status layer_backward(bert_model *m, int l, dev_view x, dev_view dout) {
    const bert_config *c = &m->cfg;
    const bert_layer_off *o = &m->lay.layers[l];
    int B = m->B, T = m->T, C = c->hidden_size;
    TRY(bert_layer_tail_backward(m, l, dout, B * T));
    bert_qkv qkv = bert_qkv_full(m, m->act[l].qkv), dqkv = bert_qkv_full(m, m->s_dqkv);
    TRY(bert_attention_backward(m, l, T, &qkv, &dqkv));
    /* d x = d res1 (the residual, in s_dA) + the projection's input gradient. */
    return bert_linear_backward(m, m->s_dA, 1.0f, m->s_dqkv, x, o->qkv_w, o->qkv_b, B * T, C, 3 * C);
}

/* The embedding tables' gradients: scatter-add d emb_sum rows into the rows that were
 * gathered, through deterministic plans built from the host copies of the indices. Tokens
 * equal to `skip` (the [PAD] id for the word table, as PyTorch's padding_idx) are left out. */
static mltc_status scatter_table(bert_model *m, dev_view dsum, const int32_t *idx, int n, int32_t skip,
                                 size_t table_off, int slot) {
    dev_ctx *dev = m->dev;
    int32_t *sel = m->h_sel, *src = m->h_src, *h = m->h_plan;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (idx[i] != skip) {
            sel[k] = idx[i];
            src[k++] = i;
        }
    if (k == 0) return MLTC_OK;
    int nseg = dev_rows_plan_host(sel, k, h, h + k, h + 2 * k + 1);
    if (nseg < 0) return err_set(dev->err, MLTC_ERR_OUT_OF_MEMORY, "bert_backward: no memory for a row plan");
    /* The plan orders entries of sel; the scatter reads rows of dsum. */
    for (int p = 0; p < k; p++) h[2 * k + 1 + p] = src[h[2 * k + 1 + p]];
    size_t base = (size_t)slot * (3 * (size_t)m->max_batch * m->max_seq + 1), len = 3 * (size_t)k + 1;
    TRY(dev_upload(dev, m->plans, base * 4, h, len * 4));
    dev_rows_plan plan = {nseg, k, {m->plans, base}, {m->plans, base + k}, {m->plans, base + 2 * k + 1}};
    return dev_scatter_add_rows(dev, bert_gv(m, table_off), dsum, &plan, m->cfg.hidden_size);
}

static mltc_status embedding_backward(bert_model *m, dev_view dsum) {
    int n = m->B * m->T;
    int32_t pad = m->cfg.pad_token_id >= 0 ? m->cfg.pad_token_id : -1; /* -1 never occurs */
    TRY(scatter_table(m, dsum, m->h_ids, n, pad, m->lay.word, 0));
    TRY(scatter_table(m, dsum, m->h_pos, n, -1, m->lay.pos, 1));
    return scatter_table(m, dsum, m->h_types, n, -1, m->lay.type, 2);
}

mltc_status bert_backward(bert_model *m, dev_view dhidden) {
    dev_ctx *dev = m->dev;
    const bert_config *c = &m->cfg;
    if (m->predict_only)
        return err_set(dev->err, MLTC_ERR_INVALID_ARGUMENT, "bert_backward: an inference-only model has no gradients");
    if (!m->have_forward)
        return err_set(dev->err, MLTC_ERR_INVALID_ARGUMENT, "bert_backward: no forward pass to go back through");
    int N = m->B * m->T, C = c->hidden_size;
    size_t NC = (size_t)N * C;

    dev_view dout = dhidden;
    for (int l = c->num_layers - 1; l >= 0; l--) {
        dev_view x = l > 0 ? m->act[l - 1].ln2 : m->emb_out;
        if (l == c->num_layers - 1 && m->sel_R > 0)
            TRY(bert_last_layer_backward_selected(m, l, x, dout));
        else
            TRY(layer_backward(m, l, x, dout));
        dout = m->s_dA;
    }
    dev_view d;
    TRY(bert_dropout_backward(m, &d, dout, m->s_dC, NC, bert_p_hidden(m), BERT_SITE_EMB));
    TRY(dev_layernorm_backward(dev, m->s_dB, bert_gv(m, m->lay.emb_ln_w), bert_gv(m, m->lay.emb_ln_b), d,
                               m->emb_sum, bert_pv(m, m->lay.emb_ln_w), m->emb_mean, m->emb_rstd, N, C));
    return embedding_backward(m, m->s_dB);
}
