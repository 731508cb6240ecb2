/* The encoder's state, shared by bert.c (layout, memory), bert_forward.c, bert_backward.c,
 * bert_select.c, bert_layer.c and bert_hf.c. Not part of bert.h: callers go through its
 * accessors. */
#ifndef MLTC_MODEL_BERT_INTERNAL_H
#define MLTC_MODEL_BERT_INTERNAL_H

#include "model/bert.h"

/* Element offsets of one layer's tensors in the parameter (and gradient) buffer. */
typedef struct bert_layer_off {
    size_t qkv_w, o_w, f1_w, f2_w;                                   /* decayed */
    size_t qkv_b, o_b, ln1_w, ln1_b, f1_b, f2_b, ln2_w, ln2_b;      /* not decayed */
} bert_layer_off;

typedef struct bert_layout {
    size_t word, pos, type, emb_ln_w, emb_ln_b;
    bert_layer_off *layers; /* [num_layers] */
    size_t n, n_decay;
} bert_layout;

/* What one layer keeps from forward for backward, sized for (max_batch, max_seq). */
typedef struct bert_layer_act {
    dev_buf *buf;
    dev_view qkv;               /* [B, T, 3C]: the q, k, v projection (bert_qkv_full) */
    dev_view att;               /* [B, H, T, T] softmax output (buf NULL with fused attention) */
    dev_view att_d;             /* [B, H, T, T] after dropout; buf NULL when p == 0 or fused */
    dev_view lse;               /* [B, H, T]: the fused attention's row statistics (buf NULL unfused) */
    dev_view ctx;               /* [B, T, C] heads merged */
    dev_view res1, ln1, ln1_mean, ln1_rstd;
    dev_view f_pre, f_gelu;     /* [B, T, I] */
    dev_view res2, ln2, ln2_mean, ln2_rstd;
} bert_layer_act;

struct bert_model {
    dev_ctx *dev;
    bert_config cfg;
    int max_batch, max_seq;
    uint64_t seed;

    bert_layout lay;
    bert_tensor *tensors; /* [ntensors], layout order */
    int ntensors;
    dev_buf *params, *grads;
    bert_model *owner; /* a sibling: the model whose params and grads these are; else NULL */
    int predict_only;  /* bert_model_create_inference (or its sibling): no gradients, no backward buffers */

    /* Inputs of the last forward: ids, token types, positions (int32) and the mask (float). */
    dev_buf *inputs;
    dev_view ids, types, pos, mask;
    int32_t *h_ids, *h_types, *h_pos; /* host copies for the backward's scatter plans */
    float *h_mask;
    int32_t *h_plan;                  /* host scratch for one plan: 3 * max_n + 1 */
    int32_t *h_sel, *h_src;           /* host scratch [max_n]: indices kept, their rows */
    dev_buf *plans;                   /* word, position and type plans, 3 * (3 * max_n + 1) int32 */

    /* Embedding activations. */
    dev_buf *emb_buf;
    dev_view emb_sum, emb_mean, emb_rstd, emb_out;
    bert_layer_act *act; /* [num_layers] */

    /* Scratch shared by all layers, forward and backward. */
    dev_buf *scratch;
    dev_view s_scores;           /* [B, H, T, T]: QK^T (forward; buf NULL with fused attention) */
    dev_view s_dqkv;             /* [B, T, 3C]: d qkv, laid out as act[l].qkv */
    dev_view s_datt;             /* [B, H, T, T]: d P, then d scores (backward; the same memory as s_scores) */
    dev_view s_dA, s_dB, s_dC;   /* [B, T, C] */
    dev_view s_df1;              /* [B, T, I] */
    dev_view s_delta;            /* [B, H, T]: the fused attention backward's row sums (buf NULL unfused) */

    /* Attention runs fused (dev_attention_train: no [B, H, T, T] buffer) where the device has it,
     * unless MLTC_ATTENTION=reference; prediction-only models too, so that they predict exactly what
     * a training model's evaluation did. A forward that keeps the last layer's probabilities
     * (bert_forward_explained) runs that layer unfused in unfused_buf, made on
     * first use, and its backward follows (last_unfused). */
    int fused_attention;
    int keep_attention; /* set by bert_forward_explained for its forward */
    int last_unfused;
    dev_buf *unfused_buf;
    dev_view unfused_att, unfused_scores; /* [B, H, R, T] each */

    /* Selected outputs (bert_select_outputs): the last layer computes only positions
     * sel_pos[0..sel_R) of each sequence; sel_R == 0 computes every position. */
    int sel_R;
    int32_t *sel_pos;       /* host [sel_R] */
    int32_t *h_sel_idx;     /* host [max_batch * sel_R]: rows b*T + sel_pos[r] of the last forward */
    dev_buf *sel_buf;
    dev_view sel_idx;       /* int32 [max_batch * sel_R] */
    dev_view sel_plan;      /* int32 [3 * max_batch * sel_R + 1]: scatter plan of sel_idx */
    dev_view sel_x;         /* [max_batch * sel_R, C]: the last layer's input at the selected rows */
    dev_rows_plan sel_rows; /* the plan of the last forward */

    /* The last forward, for backward. */
    int B, T, train, have_forward;
    int inference; /* bert_forward_inference: no backward will follow */
    uint64_t step;
};

/* A view into the parameter or gradient buffer. */
static inline dev_view bert_pv(const bert_model *m, size_t off) { return (dev_view){m->params, off}; }
static inline dev_view bert_gv(const bert_model *m, size_t off) { return (dev_view){m->grads, off}; }

/* Dropout probabilities in effect for the last forward (0 when not training). */
static inline float bert_p_hidden(const bert_model *m) { return m->train ? m->cfg.hidden_dropout : 0.0f; }
static inline float bert_p_attn(const bert_model *m) { return m->train ? m->cfg.attention_dropout : 0.0f; }

/* Site numbers, see bert.h. */
#define BERT_SITE_EMB 0u
#define BERT_SITE_ATT(l) (1u + 3u * (unsigned)(l))
#define BERT_SITE_ATT_OUT(l) (2u + 3u * (unsigned)(l))
#define BERT_SITE_FFN_OUT(l) (3u + 3u * (unsigned)(l))

/* The last layer when outputs are selected (bert_select.c): forward leaves [B, R, C] in the
 * layer's ln2; backward takes dout [B, R, C] and leaves d x [B, T, C] in s_dA, like
 * layer_backward. */
mltc_status bert_last_layer_forward_selected(bert_model *m, int l, dev_view x);
mltc_status bert_last_layer_backward_selected(bert_model *m, int l, dev_view x, dev_view dout);

#endif
