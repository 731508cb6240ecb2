/*
 * A multi-label classifier: the BERT encoder, one of three heads, the tokenizer and the label
 * set, with its AdamW state. Written against device.h only.
 *
 * Heads (K labels, hidden size C):
 *   bert   [CLS] -> dropout -> linear (K x C) -> logits; BCE.
 *   lmmtc  LM-MTC: the label prompt before the text (lmmtc_prompt.h); label i's logit is
 *          w_i . h(state i) + b_i. With lambda > 0 a second copy of each training example shows
 *          the true states, some masked, and a BERT MLM head (dense, GELU, layernorm, decoder
 *          tied to the word embeddings) predicts them: loss = BCE + lambda * MLM.
 *   lam    BERT-LAM: the label names through the same encoder, mean-pooled; cosine label
 *          attention over the words; dense -> GELU -> linear (K) -> logits; BCE. Gradients reach
 *          the label encodings too.
 * Every head's probability is sigmoid(logit); BCE is the mean over the B x K entries.
 */
#ifndef MLTC_MODEL_CLASSIFIER_H
#define MLTC_MODEL_CLASSIFIER_H

#include <stdint.h>

#include "device/device.h"
#include "model/bert.h"
#include "model/tokenizer.h"
#include "model/labels.h"
#include "model/settings.h"

typedef struct classifier classifier;

/* One example as the classifier takes it: the text's token ids without special tokens
 * (classifier_tokenize), and its gold labels (K bytes, 0/1) when training. */
typedef struct clf_example {
    const int32_t *ids;
    int n;
    const uint8_t *gold;
} clf_example;

typedef struct clf_losses {
    double bce; /* mean BCE over B x K */
    double mlm; /* LM-MTC label MLM cross-entropy (mean over masked states); 0 otherwise */
    double total;
} clf_losses;

/* A new classifier from a Hugging Face BERT folder (config.json, model.safetensors, vocab.txt):
 * head parameters are initialised from N(0, 0.02^2) under settings->seed (biases 0, layernorm
 * 1/0); LM-MTC appends its label tokens to the vocabulary. max_batch bounds the examples per
 * call (the micro-batch: 1 to settings->batch, else refused); settings->max_len the tokens per
 * input. */
mltc_status classifier_create(dev_ctx *dev, const char *model_dir, const labels *lbl, const train_settings *settings,
                              int max_batch, classifier **out);

/* Loads a checkpoint folder written by classifier_save (model.safetensors, config.json,
 * vocab.txt, mltc.json; optimizer.safetensors when with_optimizer). settings and labels come
 * from mltc.json and can be read back with classifier_settings / classifier_labels. max_batch 0
 * takes the batch of those settings; with with_optimizer (training goes on in parts of max_batch)
 * a max_batch above that batch is refused before anything is allocated, as by classifier_create. */
mltc_status classifier_load(dev_ctx *dev, const char *dir, int max_batch, int with_optimizer, classifier **out);

/* Writes a checkpoint folder: into dir.tmp-XXXX first, then renamed over dir, so a crash never
 * leaves a half-written checkpoint. extra (may be NULL) is merged into mltc.json (e.g. the
 * training position and the best score). with_optimizer adds optimizer.safetensors. */
mltc_status classifier_save(classifier *c, const char *dir, const char *extra_json, int with_optimizer);

void classifier_free(classifier *c);

const train_settings *classifier_settings(const classifier *c);
const labels *classifier_labels(const classifier *c);
int classifier_num_labels(const classifier *c);
const tokenizer *classifier_tokenizer(const classifier *c);
dev_ctx *classifier_device(const classifier *c);
/* The mltc.json "extra" object of a loaded checkpoint, as JSON text ("{}" when none). */
const char *classifier_extra_json(const classifier *c);

/* Sets one decision threshold for every label (settings.threshold) in memory; the caller checks
 * it is in [0, 1]. */
void classifier_set_threshold(classifier *c, double threshold);
/* The decision rule's minimum of labels per prediction (settings.min_labels), in memory. */
void classifier_set_min_labels(classifier *c, int min_labels);
/* Per-label thresholds t[K] (settings.threshold is left as the global one). */
void classifier_set_label_thresholds(classifier *c, const float *t);
/* The [K] thresholds in use. */
const float *classifier_thresholds(const classifier *c);
/* The labels the decision rule (model/decision.h: thresholds and settings.min_labels) predicts
 * for n rows of probabilities [n x K]. */
void classifier_decide(const classifier *c, const float *probs, size_t n, uint8_t *out);

/* Records how often each label occurs in the training data (counts[K] of n examples; saved in
 * the checkpoint, for scores by label frequency) and, when settings.prior_bias is on, sets each
 * label's bias to its log prior odds log(p / (1 - p)), p = (count + 0.5) / (n + 1). Call before
 * the first training step of a fresh run. */
mltc_status classifier_set_label_priors(classifier *c, const long *counts, long n);
/* counts[K] from the checkpoint or classifier_set_label_priors, or NULL when unknown; *n the
 * training examples. */
const long *classifier_label_counts(const classifier *c, long *n);

/* Tokenizes a text for this classifier (no special tokens). *ids is malloc'd. */
mltc_status classifier_tokenize(const classifier *c, const char *text, size_t len, int32_t **ids, int *n);

/* Probabilities [B x K] for B <= max_batch examples (inference: no dropout). */
mltc_status classifier_predict(classifier *c, const clf_example *ex, int B, float *probs);

/* One optimizer step's forward and backward with dropout at step `step` (1-based): zeroes the
 * gradients, then runs the batch of B examples (every one with gold; B <= the settings' batch,
 * any size up to it) as parts of at most max_batch, each forward and backward accumulating into
 * the gradients (gradient accumulation), so device memory holds max_batch examples at a time. The
 * losses and gradients are those of the whole batch (BCE the mean over B x K, the label MLM the
 * mean over all of the batch's masked states): with dropout off they equal a single pass over B
 * up to rounding. The label-MLM masks are drawn per example of the batch as in a single pass;
 * dropout draws differ, each part having its own stream (part 0 draws what a single pass
 * would). */
mltc_status classifier_train_batch(classifier *c, const clf_example *ex, int B, uint64_t step, clf_losses *out);

/* How many parts of at most max_batch examples a batch of B runs in. */
int classifier_parts(const classifier *c, int B);

/* classifier_train_batch for parts from .. to - 1 of the batch only (data parallel: each process
 * runs a share of the parts): zeroes the gradients, then adds those parts' gradients; part i's
 * losses (its share of the batch's means) go to losses[i]. Each part draws what it draws in a
 * run of all the parts, so the processes' gradients add up to the batch's. */
mltc_status classifier_train_parts(classifier *c, const clf_example *ex, int B, uint64_t step, int from, int to,
                                   clf_losses *losses);
/* The batch's losses from its parts', added in part order (as classifier_train_batch does). */
clf_losses classifier_sum_parts(const clf_losses *losses, int parts);

/* The flat device buffers that processes training together keep equal: the gradients (encoder,
 * head), and the state (parameters of the encoder and head, then the AdamW moments m and v of
 * each when trainable). Return how many were written. */
typedef struct clf_flat {
    dev_buf *buf;
    size_t n; /* floats */
} clf_flat;
int classifier_flat_grads(classifier *c, clf_flat out[2]);
int classifier_flat_state(classifier *c, clf_flat out[6]);

/* The most examples one forward takes (set at creation or load). */
int classifier_max_batch(const classifier *c);

/* Global gradient-norm clipping to settings->max_grad_norm, then AdamW for update number step
 * (1-based): the encoder at learning rate lr, the head at head_lr; weight decay on matrices and
 * embeddings only. If norm is not NULL it receives the gradient norm before clipping. */
mltc_status classifier_optimizer_step(classifier *c, double lr, double head_lr, long step, double *norm);

/* classifier_train_batch then classifier_optimizer_step, with the same results, waiting for the
 * device once: every part's BCE and label-MLM terms are summed on the device, and those sums and
 * the gradient norm come back in one read-back after the optimizer's ops are enqueued (the
 * losses are float sums there, double sums in classifier_train_batch). out and norm may be NULL. */
mltc_status classifier_train_step(classifier *c, const clf_example *ex, int B, uint64_t step, double lr,
                                  double head_lr, clf_losses *out, double *norm);

#endif
