/* The classifier's state, shared by classifier.c (set-up, batches, optimizer),
 * classifier_io.c (checkpoints) and the three heads. */
#ifndef MLTC_MODEL_CLASSIFIER_INTERNAL_H
#define MLTC_MODEL_CLASSIFIER_INTERNAL_H

#include "model/classifier.h"
#include "model/lmmtc_prompt.h"
#include "model/params.h"

/* Where a head's forward finds its inputs and leaves its outputs. */
typedef struct head_pass {
    int B, T;            /* examples and padded length of the text rows */
    int rows;            /* encoder rows: B, or 2B with the LM-MTC MLM copy */
    int hT;              /* hidden rows per encoder row: T, or the head's selected positions */
    dev_view hidden;     /* [rows * hT, C] encoder output */
    int train;
    uint64_t step;
    const int32_t *h_mlm_target; /* LM-MTC: [B * T] targets of the MLM copy (-1: none), or NULL */
    int mlm_states;      /* LM-MTC: masked states of the whole optimizer batch (the MLM mean's
                            count; 0: this pass's own), see classifier_train_batch */
    dev_view mlm_sum;    /* LM-MTC, when buf != NULL: the MLM terms' sum is added to mlm_sum[0] on
                            the device and not read back (classifier_train_step reads it once) */
} head_pass;

/* A head: parameters in c->head, its own work memory, forward to c->logits [B, K] and
 * backward from c->dlogits into c->dhidden (and parameter gradients). */
typedef struct head_ops {
    /* Declares the head's parameter tensors (names without the "mltc." prefix). */
    int (*specs)(const classifier *c, param_spec *out, int max);
    /* Initialises parameters for a fresh run (after the table is created). */
    mltc_status (*init)(classifier *c);
    mltc_status (*alloc)(classifier *c);
    void (*release)(classifier *c);
    /* The positions the head reads from the encoder's output, written to pos (at most
     * max_len); returns their count. The encoder then computes its last layer at those
     * positions only and hidden row r of an example is position pos[r] (bert_select_outputs).
     * NULL: the head reads every position. */
    int (*outputs)(const classifier *c, int32_t *pos);
    /* Runs whatever must happen before the text encoder (LAM: the label-name pass). */
    mltc_status (*before)(classifier *c, const head_pass *p);
    mltc_status (*forward)(classifier *c, const head_pass *p);
    /* Extra loss beyond BCE (LM-MTC's lambda * MLM), computed in forward; 0 when none. */
    mltc_status (*backward)(classifier *c, const head_pass *p);
    /* The index among specs() of the [K] per-label bias that starts at the labels' log prior
     * odds (classifier_set_label_priors). */
    int label_bias;
} head_ops;

extern const head_ops head_ops_bert, head_ops_lmmtc, head_ops_lam;

/* LAM after a prediction of one example of T tokens: its attention weights over the words
 * (weights[T]) and, per label, the token with the highest cosine similarity to the label's
 * vector (best[K]), from the hidden states and label vectors the forward used. */
mltc_status lam_explain(classifier *c, int T, float *weights, int *best);
/* best[k] = the t whose hidden[t] (T x C) has the highest cosine similarity to lvec[k] (K x C);
 * ties: the first. */
void lam_best_tokens(const float *hidden, const float *lvec, int T, int K, int C, int *best);

#define HEAD_MAX_PARAMS 16

struct classifier {
    dev_ctx *dev;
    train_settings s;
    labels lbl;
    tokenizer *tok;
    lmmtc_tokens lt;         /* LM-MTC only */
    const head_ops *head_ops;

    bert_model *bert;        /* the text encoder */
    bert_model *label_bert;  /* LAM: a sibling sharing the encoder's parameters */
    int K, C, max_batch, max_rows, max_len;
    int trainable;           /* 0: loaded for prediction, with no gradients or AdamW moments */

    param_table head;        /* head parameters and gradients */
    void *head_state;        /* the head's work memory */

    /* AdamW state: moments for the encoder and the head. */
    dev_buf *m_enc, *v_enc, *m_head, *v_head;

    /* Host scratch for one batch. */
    int32_t *h_ids, *h_types, *h_mask, *h_mlm_target;   /* [max_rows * max_len] */
    float *h_targets, *h_loss;                           /* [max_batch * K] */
    int32_t *h_plan;                                     /* 3 * max_rows * max_len + 1 */
    int32_t *h_idx;                                      /* [max_rows * max_len] */

    /* Device work memory shared by the heads. */
    dev_buf *work;
    dev_view dhidden;   /* [max_rows * max_len, C] */
    dev_view logits, dlogits, targets, loss; /* [max_batch, K] */
    dev_view sq;        /* [2] the squared gradient norms, then loss_sums: one read-back takes all four */
    dev_view loss_sums; /* [2] a training step's sums of BCE terms and of MLM terms, kept on the device */

    float *thr;         /* [K] decision thresholds: p_k > thr[k] predicts label k */
    long *label_counts; /* [K] training examples of each label, or NULL when not known */
    long train_examples;

    double mlm_loss;    /* LM-MTC: the last forward's MLM loss: the sum over its masked states
                           divided by head_pass.mlm_states (its own count when that is 0) */
    uint64_t drop_key;  /* Philox key of the dropout of the part being run (clf_dropout_seed) */
    const char *init_dir; /* during classifier_create: the BERT folder (for pretrained head parts) */
    char *extra_json;
    int keep_attention; /* predictions run the encoder's unfused path, keeping the last layer's
                           attention probabilities (classifier_explain) */
};

/* Set-up steps shared by classifier_create and classifier_load: the struct for settings; the
 * max-len / position / prompt checks; everything after the encoder exists (host scratch, work
 * memory, head parameters — initialised when fresh_head — and AdamW state). */
classifier *clf_alloc(dev_ctx *dev, const train_settings *s, int max_batch);
/* A classifier that trains runs each optimizer step's batch in parts of at most max_batch (the
 * micro-batch), so max_batch may not exceed the settings' batch; refused before anything is sized
 * by it (a mistyped 1000 would otherwise end in an out-of-memory error). */
mltc_status clf_check_micro_batch(mltc_error *err, int max_batch, int batch);
mltc_status clf_check_shape(classifier *c, const bert_config *cfg, const char *source);
mltc_status clf_finish_setup(classifier *c, int fresh_head);

/* Uploads the scatter plan for idx[n] into an int32 region of >= 3n + 1 elements. */
mltc_status clf_plan(classifier *c, const int32_t *idx, int n, int table_rows, dev_view region, dev_rows_plan *plan);

/* Head dropout shares the encoder's Philox key (the settings' seed, or a part's own key under
 * gradient accumulation); heads use sites from BERT_DROPOUT_HEAD_SITE. */
uint64_t clf_dropout_seed(const classifier *c);

#endif
