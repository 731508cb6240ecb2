/* The encoder's state, shared by bert.c (layout, memory), bert_forward.c, bert_backward.c
 * and bert_hf.c. Not part of bert.h: callers go through its accessors. */
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
    dev_view qkvh;              /* [3, B, H, T, D]: q, k, v split into heads */
    dev_view att;               /* [B, H, T, T] softmax output */
    dev_view att_d;             /* [B, H, T, T] after dropout; buf NULL when p == 0 */
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
    dev_view s_qkv;              /* [B, T, 3C]: qkv projection / its gradient */
    dev_view s_scores;           /* [B, H, T, T]: QK^T / its gradient */
    dev_view s_ctxh;             /* [B, H, T, D]: P V / its gradient */
    dev_view s_dqkvh;            /* [3, B, H, T, D] */
    dev_view s_datt, s_datt2;    /* [B, H, T, T] (s_datt2 only with attention dropout) */
    dev_view s_dA, s_dB, s_dC;   /* [B, T, C] */
    dev_view s_df1, s_df2;       /* [B, T, I] */

    /* The last forward, for backward. */
    int B, T, train, have_forward;
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

/* Small helpers that build dev_gemm for the two shapes the encoder uses. */
mltc_status bert_gemm(dev_ctx *dev, int trans_a, int trans_b, int m, int n, int k, float beta, dev_view a, int lda,
                      dev_view b, int ldb, dev_view c, int ldc);
mltc_status bert_gemm_batched(dev_ctx *dev, int trans_a, int trans_b, int m, int n, int k, dev_view a, int lda,
                              long sa, dev_view b, int ldb, long sb, dev_view c, int ldc, long sc, int batch);

#endif
