/* The pieces of a BERT layer that the full and the selected-output paths share, forward and
 * backward: the linear projections and dropout sites, attention over the heads in place, and the
 * layer's tail (output projection .. LN2). bert_forward.c, bert_backward.c and bert_select.c call
 * down into these; nothing here calls back up. */
#include <math.h>

#include "model/bert_layer.h"

/* ---- operands of the attention products ------------------------------------------------ */

/* C = op(A) op(B) for every sequence and head (batch x heads problems, beta 0): the dev_gemm,
 * and the product run. */
static dev_gemm bert_heads_gemm(int trans_a, int trans_b, int m, int n, int k, bert_heads a, bert_heads b,
                                bert_heads c, int batch, int heads) {
    return (dev_gemm){.trans_a = trans_a, .trans_b = trans_b, .m = m, .n = n, .k = k, .alpha = 1.0f, .beta = 0.0f,
                      .a = a.v, .b = b.v, .c = c.v, .lda = a.ld, .ldb = b.ld, .ldc = c.ld,
                      .stride_a = a.stride, .stride_b = b.stride, .stride_c = c.stride, .batch = batch,
                      .heads = heads, .head_stride_a = a.head_stride, .head_stride_b = b.head_stride,
                      .head_stride_c = c.head_stride};
}

static mltc_status bert_gemm_heads(dev_ctx *dev, int trans_a, int trans_b, int m, int n, int k, bert_heads a,
                                   bert_heads b, bert_heads c, int batch, int heads) {
    dev_gemm g = bert_heads_gemm(trans_a, trans_b, m, n, k, a, b, c, batch, heads);
    return dev_matmul(dev, &g);
}

/* Rows of the batch's sequences, `rows` a sequence and ld floats apart, holding the heads side by
 * side (head h's D columns at h * D): q, k, v, the merged context and their gradients. */
static bert_heads bert_row_heads(const bert_model *m, dev_view v, int rows, int ld) {
    return (bert_heads){v, ld, (long)rows * ld, m->cfg.hidden_size / m->cfg.num_heads};
}

/* The dense [B, H, R, T] attention scores or probabilities at v. */
static bert_heads bert_score_heads(const bert_model *m, dev_view v, int R) {
    long RT = (long)R * m->T;
    return (bert_heads){v, m->T, m->cfg.num_heads * RT, RT};
}

bert_qkv bert_qkv_full(const bert_model *m, dev_view base) {
    size_t C = (size_t)m->cfg.hidden_size;
    int T = m->T, ld = 3 * (int)C;
    return (bert_qkv){bert_row_heads(m, base, T, ld), bert_row_heads(m, dev_at(base, C), T, ld),
                      bert_row_heads(m, dev_at(base, 2 * C), T, ld)};
}

bert_qkv bert_qkv_selected(const bert_model *m, dev_view base, int R) {
    size_t C = (size_t)m->cfg.hidden_size;
    dev_view kv = dev_at(base, (size_t)m->B * m->T * C);
    return (bert_qkv){bert_row_heads(m, base, R, (int)C), bert_row_heads(m, kv, m->T, 2 * (int)C),
                      bert_row_heads(m, dev_at(kv, C), m->T, 2 * (int)C)};
}

/* ---- forward ----------------------------------------------------------------------------- */

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

/* The fused attention's arguments for layer l (dev_attention_train). */
static dev_attention_train bert_attention_train_args(bert_model *m, int l, int R, const bert_qkv *x) {
    const bert_config *c = &m->cfg;
    int C = c->hidden_size, H = c->num_heads, D = C / H;
    return (dev_attention_train){.batch = m->B, .heads = H, .rows = R, .cols = m->T, .dim = D,
                                 .scale = 1.0f / sqrtf((float)D), .key_mask = m->mask, .p = bert_p_attn(m),
                                 .seed = m->seed, .offset = bert_dropout_offset(m->step, BERT_SITE_ATT(l)),
                                 .q = x->q, .out = bert_row_heads(m, m->act[l].ctx, R, C), .k = x->k, .v = x->v,
                                 .lse = m->act[l].lse, .delta = m->s_delta};
}

/* Whether layer l's attention runs unfused on a fused model: the last layer of a forward that
 * keeps its probabilities for an explanation. */
static int bert_layer_unfused(const bert_model *m, int l) {
    return m->keep_attention && l == m->cfg.num_layers - 1;
}

/* The scores and probabilities of one layer for an unfused layer of a fused model, made on first use
 * (and again when a larger batch needs more). */
static mltc_status bert_unfused_buffers(bert_model *m, int R) {
    size_t n = (size_t)m->B * m->cfg.num_heads * R * m->T;
    if (!m->unfused_buf || m->unfused_buf->bytes < 2 * n * 4) {
        dev_free(m->dev, m->unfused_buf);
        m->unfused_buf = NULL;
        TRY(dev_alloc(m->dev, 2 * n * 4, &m->unfused_buf));
    }
    m->unfused_att = (dev_view){m->unfused_buf, 0};
    m->unfused_scores = (dev_view){m->unfused_buf, n};
    return MLTC_OK;
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
    dev_view att = a->att, s_scores = m->s_scores;
    if (m->fused_attention) {
        m->last_unfused = bert_layer_unfused(m, l);
        if (!m->last_unfused) {
            dev_attention_train at = bert_attention_train_args(m, l, R, x);
            return dev_attention_train_forward(dev, &at);
        }
        TRY(bert_unfused_buffers(m, R)); /* p_a is 0 here: no dropout buffer */
        att = m->unfused_att, s_scores = m->unfused_scores;
    }
    bert_heads scores = bert_score_heads(m, s_scores, R), ctx = bert_row_heads(m, a->ctx, R, C);
    bert_heads P = bert_score_heads(m, att, R);
    dev_softmax sm = {B, H, R, T, 1.0f / sqrtf((float)D), m->mask};
    if (m->inference) { /* no backward will read the probabilities: the backend may fuse the three */
        dev_gemm qk = bert_heads_gemm(0, 1, R, T, D, x->q, x->k, scores, B, H);
        dev_gemm pv = bert_heads_gemm(0, 0, R, D, T, P, x->v, ctx, B, H);
        return dev_attention_forward(dev, &qk, &sm, &pv);
    }
    TRY(bert_gemm_heads(dev, 0, 1, R, T, D, x->q, x->k, scores, B, H));
    TRY(dev_softmax_forward(dev, &sm, att, s_scores));
    if (p_a > 0.0f) {
        TRY(dev_dropout_forward(dev, a->att_d, att, BHRT, p_a, m->seed,
                                bert_dropout_offset(m->step, BERT_SITE_ATT(l))));
        P.v = a->att_d;
    }
    return bert_gemm_heads(dev, 0, 0, R, D, T, P, x->v, ctx, B, H);
}

/* Output projection, dropout, residual, LayerNorm; feed-forward with erf GELU, dropout,
 * residual, LayerNorm: over n rows of a->ctx, with residual input x [n, C]. The fused ops run it
 * (bert_tail_fused.c); this sequence of passes is the reference path, run with dev->unfused. */
mltc_status bert_layer_tail_forward(bert_model *m, int l, dev_view x, int N) {
    const bert_config *c = &m->cfg;
    const bert_layer_off *o = &m->lay.layers[l];
    const bert_layer_act *a = &m->act[l];
    dev_ctx *dev = m->dev;
    int C = c->hidden_size, I = c->intermediate_size;
    size_t NC = (size_t)N * C;
    float p_h = bert_p_hidden(m);
    if (!dev->unfused) return bert_layer_tail_forward_fused(m, l, x, N);
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

/* ---- backward ---------------------------------------------------------------------------- */

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
    if (!dev->unfused) return bert_layer_tail_backward_fused(m, l, dout, N);

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
    bert_heads dctx = bert_row_heads(m, m->s_dB, R, C);
    dev_view att = a->att, s_datt = m->s_datt;
    if (m->fused_attention) {
        if (!(m->last_unfused && l == c->num_layers - 1)) {
            dev_attention_train at = bert_attention_train_args(m, l, R, x);
            dev_attention_grads g = {.dout = dctx, .dq = dx->q, .dk = dx->k, .dv = dx->v};
            return dev_attention_train_backward(dev, &at, &g);
        }
        att = m->unfused_att, s_datt = m->unfused_scores; /* the forward ran unfused, p_a 0 */
    }
    bert_heads dS = bert_score_heads(m, s_datt, R);
    bert_heads P = bert_score_heads(m, p_a > 0.0f ? a->att_d : att, R);
    TRY(bert_gemm_heads(dev, 0, 1, R, T, D, dctx, x->v, dS, B, H));  /* dP */
    TRY(bert_gemm_heads(dev, 1, 0, T, D, R, P, dctx, dx->v, B, H)); /* dv */
    /* Dropout's and softmax's gradients in one pass, in place on dP, which nothing reads
     * afterwards: no second [B, H, R, T] buffer (32 x 12 x 400 x 400 floats, 246 MB, for LM-MTC on
     * Reuters). The dropout's backward needs no mask drawn again: the kept probabilities att_d
     * are zero where it dropped and att / (1 - p) elsewhere, which is all it takes. */
    dev_softmax sm = {B, H, R, T, 1.0f / sqrtf((float)D), m->mask};
    dev_view kept = p_a > 0.0f ? a->att_d : (dev_view){NULL, 0};
    TRY(dev_softmax_dropout_backward(dev, &sm, s_datt, s_datt, att, kept)); /* d scores */
    TRY(bert_gemm_heads(dev, 0, 0, R, D, T, dS, x->k, dx->q, B, H)); /* dq */
    return bert_gemm_heads(dev, 1, 0, T, D, R, dS, x->q, dx->k, B, H); /* dk */
}
