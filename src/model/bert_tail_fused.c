/* A layer's tail (output projection .. LN2) with the fused ops: each sublayer ends in one
 * add_layernorm (its bias, dropout, residual add and LayerNorm) and the FFN's first projection in
 * one bias_gelu, where the reference sequence (bert_layer.c, run with ctx->unfused) makes a pass
 * of each. The projections run without their bias, which the fused op adds. Same results, same
 * dropout draws (element r*C + c of a site at the same Philox index). */
#include "model/bert_layer.h"

/* y = x W^T, the bias left to the op that follows. */
static mltc_status linear_nobias(bert_model *m, dev_view y, dev_view x, size_t w_off, int n, int in, int out) {
    dev_gemm g = {.trans_b = 1, .m = n, .n = out, .k = in, .alpha = 1.0f, .beta = 0.0f, .a = x,
                  .b = bert_pv(m, w_off), .c = y, .lda = in, .ldb = in, .ldc = out, .batch = 1};
    return dev_matmul(m->dev, &g);
}

/* dW += dy^T x and dx = dx_beta * dx + dy W: a linear's backward whose bias gradient the fused op
 * before it summed. The two products read dy and write disjoint buffers. */
static mltc_status linear_nobias_backward(bert_model *m, dev_view dx, float dx_beta, dev_view dy, dev_view x,
                                          size_t w_off, int n, int in, int out) {
    TRY(dev_gemm_rm(m->dev, 1, 0, out, in, n, 1.0f, dy, out, x, in, bert_gv(m, w_off), in));
    return dev_gemm_rm(m->dev, 0, 0, n, in, out, dx_beta, dy, out, bert_pv(m, w_off), in, dx, in);
}

/* The end of a sublayer over N rows: sum = dropout(x + bias) + res (x is sum, in place), y = LN(sum). */
static dev_add_layernorm sublayer_end(bert_model *m, dev_view sum, dev_view res, size_t bias_off, size_t ln_w,
                                      size_t ln_b, dev_view y, dev_view mean, dev_view rstd, int N, unsigned site) {
    return (dev_add_layernorm){.rows = N, .cols = m->cfg.hidden_size, .eps = m->cfg.layer_norm_eps, .x = sum,
                               .bias = bert_pv(m, bias_off), .res = res, .p = bert_p_hidden(m), .seed = m->seed,
                               .offset = bert_dropout_offset(m->step, site), .w = bert_pv(m, ln_w),
                               .b = bert_pv(m, ln_b), .sum = sum, .y = y, .mean = mean, .rstd = rstd};
}

static dev_add_layernorm sublayer1(bert_model *m, int l, dev_view x, int N) {
    const bert_layer_off *o = &m->lay.layers[l];
    const bert_layer_act *a = &m->act[l];
    return sublayer_end(m, a->res1, x, o->o_b, o->ln1_w, o->ln1_b, a->ln1, a->ln1_mean, a->ln1_rstd, N,
                        BERT_SITE_ATT_OUT(l));
}

static dev_add_layernorm sublayer2(bert_model *m, int l, int N) {
    const bert_layer_off *o = &m->lay.layers[l];
    const bert_layer_act *a = &m->act[l];
    return sublayer_end(m, a->res2, a->ln1, o->f2_b, o->ln2_w, o->ln2_b, a->ln2, a->ln2_mean, a->ln2_rstd, N,
                        BERT_SITE_FFN_OUT(l));
}

mltc_status bert_layer_tail_forward_fused(bert_model *m, int l, dev_view x, int N) {
    const bert_layer_off *o = &m->lay.layers[l];
    const bert_layer_act *a = &m->act[l];
    int C = m->cfg.hidden_size, I = m->cfg.intermediate_size;
    TRY(linear_nobias(m, a->res1, a->ctx, o->o_w, N, C, C));
    dev_add_layernorm s1 = sublayer1(m, l, x, N);
    TRY(dev_add_layernorm_forward(m->dev, &s1));
    TRY(linear_nobias(m, a->f_pre, a->ln1, o->f1_w, N, C, I));
    TRY(dev_bias_gelu_forward(m->dev, a->f_gelu, a->f_pre, bert_pv(m, o->f1_b), N, I));
    TRY(linear_nobias(m, a->res2, a->f_gelu, o->f2_w, N, I, C));
    dev_add_layernorm s2 = sublayer2(m, l, N);
    return dev_add_layernorm_forward(m->dev, &s2);
}

/* The gradients of a sublayer's end: d sum into dsum, d x into tmp (dsum itself without dropout). */
static dev_add_layernorm_grads sublayer_grads(bert_model *m, const dev_add_layernorm *f, dev_view dy, dev_view dsum,
                                              dev_view tmp, size_t bias_off, size_t ln_w, size_t ln_b) {
    return (dev_add_layernorm_grads){.dy = dy, .dsum = dsum, .dx = f->p > 0.0f ? tmp : dsum,
                                     .dw = bert_gv(m, ln_w), .db = bert_gv(m, ln_b), .dbias = bert_gv(m, bias_off)};
}

mltc_status bert_layer_tail_backward_fused(bert_model *m, int l, dev_view dout, int N) {
    const bert_layer_off *o = &m->lay.layers[l];
    const bert_layer_act *a = &m->act[l];
    int C = m->cfg.hidden_size, I = m->cfg.intermediate_size;
    /* LN2 .. the FFN's bias: dB = d res2 (d ln1's residual part), d of the FFN's output in s_dC. */
    dev_add_layernorm s2 = sublayer2(m, l, N);
    dev_add_layernorm_grads g2 = sublayer_grads(m, &s2, dout, m->s_dB, m->s_dC, o->f2_b, o->ln2_w, o->ln2_b);
    TRY(dev_add_layernorm_backward(m->dev, &s2, &g2));
    TRY(linear_nobias_backward(m, m->s_df1, 0.0f, g2.dx, a->f_gelu, o->f2_w, N, I, C));
    TRY(dev_bias_gelu_backward(m->dev, m->s_df1, bert_gv(m, o->f1_b), m->s_df1, a->f_pre, N, I));
    TRY(linear_nobias_backward(m, m->s_dB, 1.0f, m->s_df1, a->ln1, o->f1_w, N, C, I)); /* dB = d ln1 */
    /* LN1 .. the output projection's bias: dA = d res1, then dB = d ctx. */
    dev_add_layernorm s1 = sublayer1(m, l, (dev_view){NULL, 0}, N);
    dev_add_layernorm_grads g1 = sublayer_grads(m, &s1, m->s_dB, m->s_dA, m->s_dC, o->o_b, o->ln1_w, o->ln1_b);
    TRY(dev_add_layernorm_backward(m->dev, &s1, &g1));
    return linear_nobias_backward(m, m->s_dB, 0.0f, g1.dx, a->ctx, o->o_w, N, C, C);
}
