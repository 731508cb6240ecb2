/* The shared pieces of a BERT layer (bert_layer.c), which the full layer (bert_forward.c,
 * bert_backward.c) and the selected-output last layer (bert_select.c) are built from. */
#ifndef MLTC_MODEL_BERT_LAYER_H
#define MLTC_MODEL_BERT_LAYER_H

#include "model/bert_internal.h"

/* bert_linear: y = x W^T + b for x [n, in] and W [out, in] at w_off. bert_dropout: in place at a
 * site. bert_linear_backward: dW += dy^T x, db += column sums of dy, dx = dx_beta*dx + dy W.
 * bert_dropout_backward: *dx = the dropout's gradient of dy in tmp (which may be dy), or dy when p == 0. */
mltc_status bert_linear(bert_model *m, dev_view y, dev_view x, size_t w_off, size_t b_off, int n, int in, int out);
mltc_status bert_dropout(bert_model *m, dev_view x, size_t n, float p, unsigned site);
mltc_status bert_linear_backward(bert_model *m, dev_view dx, float dx_beta, dev_view dy, dev_view x, size_t w_off,
                                 size_t b_off, int n, int in, int out);
mltc_status bert_dropout_backward(bert_model *m, dev_view *dx, dev_view dy, dev_view tmp, size_t n, float p,
                                  unsigned site);

/* The part of a layer after attention (output projection .. LN2) over n rows, and its backward
 * (leaves d res1 in s_dA and d ctx in s_dB). */
mltc_status bert_layer_tail_forward(bert_model *m, int l, dev_view x, int n);
mltc_status bert_layer_tail_backward(bert_model *m, int l, dev_view dout, int n);
/* The same with the fused ops (bert_tail_fused.c); the two above run these unless ctx->unfused. */
mltc_status bert_layer_tail_forward_fused(bert_model *m, int l, dev_view x, int n);
mltc_status bert_layer_tail_backward_fused(bert_model *m, int l, dev_view dout, int n);

/* Where attention finds one operand, per sequence b and head h: the matrix at v + b * stride +
 * h * head_stride with rows ld apart. q, k and v are read where their projection wrote them,
 * each head's D columns of a row (head_stride D); the [B, H, R, T] scores are dense. */
typedef dev_heads bert_heads;
typedef struct bert_qkv {
    bert_heads q, k, v;
} bert_qkv;
/* A full layer's q, k, v: the projection's output [B, T, 3C] at base, as it is. */
bert_qkv bert_qkv_full(const bert_model *m, dev_view base);
/* The selected last layer's: q of the R selected rows [B, R, C] at base, k and v of every row
 * [B, T, 2C] at base + B*T*C (the same 3 x B*T*C elements a full layer takes). */
bert_qkv bert_qkv_selected(const bert_model *m, dev_view base, int R);

/* Attention with R query rows per head (R = T: a full layer) over x's q, k, v, leaving the
 * heads merged, [B, R, C], in act[l].ctx; its backward takes d ctx [B, R, C] from s_dB and
 * writes dq, dk, dv into dx (laid out as x). */
mltc_status bert_attention_forward(bert_model *m, int l, int R, const bert_qkv *x);
mltc_status bert_attention_backward(bert_model *m, int l, int R, const bert_qkv *x, const bert_qkv *dx);

#endif
