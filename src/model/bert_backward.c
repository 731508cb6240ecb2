/* The encoder's backward pass, layer by layer in reverse, accumulating into the gradient
 * buffer. Activation gradients live in scratch: matmuls that produce one write it with
 * beta = 0 so it needs no clearing; ops that can only accumulate (layernorm, gelu, softmax,
 * dropout backward) get a buffer filled with zeros first. */
#include <math.h>

#include "model/bert_internal.h"

/* For y = x W^T + b (x [n, in], W [out, in]) given dy [n, out]:
 * dW += dy^T x, db += sum of dy over rows, and dx = dx_beta * dx + dy W (dx_beta 1 adds a
 * residual gradient already in dx). */
mltc_status bert_linear_backward(bert_model *m, dev_view dx, float dx_beta, dev_view dy, dev_view x, size_t w_off,
                                 size_t b_off, int n, int in, int out) {
    dev_ctx *dev = m->dev;
    TRY(dev_bias_backward(dev, bert_gv(m, b_off), dy, n, out));
    TRY(dev_gemm_rm(dev, 1, 0, out, in, n, 1.0f, dy, out, x, in, bert_gv(m, w_off), in));
    return dev_gemm_rm(dev, 0, 0, n, in, out, dx_beta, dy, out, bert_pv(m, w_off), in, dx, in);
}

/* dx = the dropout's gradient of dy into `tmp` (which may be dy), or dy itself when p == 0. The
 * gradient is the dropout itself (the same mask and scale), so the forward op writes it: no
 * clearing of tmp first. */
mltc_status bert_dropout_backward(bert_model *m, dev_view *dx, dev_view dy, dev_view tmp, size_t n, float p,
                                  unsigned site) {
    if (p == 0.0f) {
        *dx = dy;
        return MLTC_OK;
    }
    TRY(dev_dropout_forward(m->dev, tmp, dy, n, p, m->seed, bert_dropout_offset(m->step, site)));
    *dx = tmp;
    return MLTC_OK;
}

/* The backward of bert_layer_tail_forward over n rows: from dout [n, C] (only read by the first
 * LayerNorm backward) to s_dA = d res1 (the residual's gradient, d x of the tail) and s_dB = d ctx. */
mltc_status bert_layer_tail_backward(bert_model *m, int l, dev_view dout, int N) {
    const bert_config *c = &m->cfg;
    const bert_layer_off *o = &m->lay.layers[l];
    const bert_layer_act *a = &m->act[l];
    dev_ctx *dev = m->dev;
    int C = c->hidden_size, I = c->intermediate_size;
    size_t NC = (size_t)N * C, NI = (size_t)N * I;
    float p_h = bert_p_hidden(m);
    dev_view dA = m->s_dA, dB = m->s_dB, d;

    /* LN2: dB = d res2. res2 = ln1 + dropout(f_gelu W2^T + b2). */
    TRY(dev_layernorm_backward(dev, dB, bert_gv(m, o->ln2_w), bert_gv(m, o->ln2_b), dout, a->res2,
                               bert_pv(m, o->ln2_w), a->ln2_mean, a->ln2_rstd, N, C));
    TRY(bert_dropout_backward(m, &d, dB, m->s_dC, NC, p_h, BERT_SITE_FFN_OUT(l)));
    TRY(bert_linear_backward(m, m->s_df1, 0.0f, d, a->f_gelu, o->f2_w, o->f2_b, N, I, C));
    TRY(dev_gelu_backward(dev, m->s_df1, m->s_df1, a->f_pre, NI)); /* in place */
    /* d ln1 = d res2 (the residual) + the FFN's input gradient: accumulate into dB. */
    TRY(bert_linear_backward(m, dB, 1.0f, m->s_df1, a->ln1, o->f1_w, o->f1_b, N, C, I));

    /* LN1: dA = d res1. res1 = x + dropout(ctx Wo^T + bo). dout is not read after this. */
    TRY(dev_layernorm_backward(dev, dA, bert_gv(m, o->ln1_w), bert_gv(m, o->ln1_b), dB, a->res1,
                               bert_pv(m, o->ln1_w), a->ln1_mean, a->ln1_rstd, N, C));
    TRY(bert_dropout_backward(m, &d, dA, m->s_dC, NC, p_h, BERT_SITE_ATT_OUT(l)));
    return bert_linear_backward(m, dB, 0.0f, d, a->ctx, o->o_w, o->o_b, N, C, C); /* dB = d ctx */
}

/* The backward of bert_attention_forward: from d ctx [B, R, C] in s_dB (read per head in place)
 * to dq, dk, dv in dx. */
mltc_status bert_attention_backward(bert_model *m, int l, int R, const bert_qkv *x, const bert_qkv *dx) {
    const bert_config *c = &m->cfg;
    const bert_layer_act *a = &m->act[l];
    dev_ctx *dev = m->dev;
    int B = m->B, T = m->T, C = c->hidden_size, H = c->num_heads, D = C / H;
    float p_a = bert_p_attn(m);
    bert_heads dctx = bert_row_heads(m, m->s_dB, R, C), dS = bert_score_heads(m, m->s_datt, R);
    bert_heads P = bert_score_heads(m, p_a > 0.0f ? a->att_d : a->att, R);
    TRY(bert_gemm_heads(dev, 0, 1, R, T, D, dctx, x->v, dS, B, H));  /* dP */
    TRY(bert_gemm_heads(dev, 1, 0, T, D, R, P, dctx, dx->v, B, H)); /* dv */
    /* Dropout's and softmax's gradients in one pass, in place on dP, which nothing reads
     * afterwards: no second [B, H, R, T] buffer (32 x 12 x 400 x 400 floats, 246 MB, for LM-MTC on
     * Reuters). The dropout's backward needs no mask drawn again: the kept probabilities att_d
     * are zero where it dropped and att / (1 - p) elsewhere, which is all it takes. */
    dev_softmax sm = {B, H, R, T, 1.0f / sqrtf((float)D), m->mask};
    dev_view kept = p_a > 0.0f ? a->att_d : (dev_view){NULL, 0};
    TRY(dev_softmax_dropout_backward(dev, &sm, m->s_datt, m->s_datt, a->att, kept)); /* d scores */
    TRY(bert_gemm_heads(dev, 0, 0, R, D, T, dS, x->k, dx->q, B, H)); /* dq */
    return bert_gemm_heads(dev, 1, 0, T, D, R, dS, x->q, dx->k, B, H); /* dk */
}

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
