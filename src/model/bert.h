/*
 * The BERT encoder, forward and hand-written backward, written only against device.h.
 *
 * Memory (the llm.c way): every parameter lives in ONE device buffer, addressed through
 * named views; the gradients live in a second buffer with the same layout; activations for
 * (max_batch, max_seq) are allocated once at creation (one buffer for the embeddings and one
 * per layer, so no single allocation grows with depth) plus one scratch buffer that the
 * layers share. Nothing is allocated per step.
 *
 * Parameter layout: all weight MATRICES and the embedding tables come first, then all biases
 * and LayerNorm weights, so AdamW can apply weight decay to [0, bert_num_decay_params) only.
 *   word, position, token-type embeddings; per layer: W_qkv [3C, C] (query, key, value rows
 *   in that order, each PyTorch's [out, in] Linear weight), W_o [C, C], W_1 [I, C], W_2 [C, I];
 *   then the embedding LayerNorm; per layer: b_qkv [3C], b_o, LN1 w/b, b_1 [I], b_2, LN2 w/b.
 * Every tensor starts at a multiple of 64 elements (256 bytes) so any backend can bind it at
 * an aligned offset; the gaps are zero in both buffers.
 *
 * Dropout (inverted, Philox, see device.h) draws element i of dropout site s at training step
 * `step` from Philox index  (step << 40) + (s << 32) + i  under the model's seed, so each (step,
 * site, element) has its own number and a resumed run redraws the same masks. Sites: 0 is the
 * embeddings; layer l uses 1 + 3l (attention probabilities), 2 + 3l (attention output) and
 * 3 + 3l (FFN output). Sites BERT_DROPOUT_HEAD_SITE.. 255 are left to the heads (use
 * bert_dropout_offset). A probability of 0, or train == 0, skips the op: exact identity.
 */
#ifndef MLTC_MODEL_BERT_H
#define MLTC_MODEL_BERT_H

#include <stddef.h>
#include <stdint.h>

#include "device/device.h"
#include "model/bert_config.h"
#include "model/safetensors.h"

#define BERT_DROPOUT_HEAD_SITE 248u
#define BERT_SIBLING_SEED_SALT 0x9E3779B97F4A7C15ull
#define BERT_MAX_STEP ((uint64_t)1 << 24) /* steps must stay below this (24 bits of the index) */

static inline uint64_t bert_dropout_offset(uint64_t step, unsigned site) { return (step << 40) | ((uint64_t)site << 32); }

typedef struct bert_model bert_model;

/* One parameter tensor under its Hugging Face name (without the "bert." prefix). `off` is its
 * element offset in the parameter buffer and, equally, in the gradient buffer. */
typedef struct bert_tensor {
    char name[80];
    int ndim;
    int64_t shape[2];
    size_t off, numel;
} bert_tensor;

/* Allocates parameters (zeroed), gradients (zeroed) and activations for up to max_batch
 * sequences of up to max_seq tokens (max_seq <= cfg->max_position). Errors go to dev->err. */
mltc_status bert_model_create(dev_ctx *dev, const bert_config *cfg, int max_batch, int max_seq, bert_model **out);
void bert_model_free(bert_model *m);

/* The same for prediction only: no gradient buffer (bert_backward and bert_zero_grads refuse). */
mltc_status bert_model_create_inference(dev_ctx *dev, const bert_config *cfg, int max_batch, int max_seq,
                                        bert_model **out);

/* A second encoder over the SAME parameter and gradient buffers as base, with activations of
 * its own for up to max_batch x max_seq (BERT-LAM encodes the label names with the text
 * encoder). Its backward accumulates into the shared gradients. Free it before base; do not
 * resize base's vocabulary while it exists; it cannot be resized itself. Its dropout seed
 * starts as base's seed XOR BERT_SIBLING_SEED_SALT, so at the same step its masks are not
 * base's; bert_set_dropout_seed sets it on its own. */
mltc_status bert_model_create_sibling(bert_model *base, int max_batch, int max_seq, bert_model **out);

const bert_config *bert_config_of(const bert_model *m);
dev_ctx *bert_device(const bert_model *m);

/* The parameter and gradient buffers, their length in elements (gaps included), and the
 * boundary below which weight decay applies. */
dev_buf *bert_params(const bert_model *m);
dev_buf *bert_grads(const bert_model *m);
size_t bert_num_params(const bert_model *m);
size_t bert_num_decay_params(const bert_model *m);

/* The tensor table, in layout order; bert_tensor_find takes a name with or without "bert.". */
int bert_tensor_count(const bert_model *m);
const bert_tensor *bert_tensor_at(const bert_model *m, int i);
const bert_tensor *bert_tensor_find(const bert_model *m, const char *name);

/* Word embedding table [vocab, C] and its gradient (for heads that tie to it). */
dev_view bert_word_embeddings(const bert_model *m);
dev_view bert_word_embeddings_grad(const bert_model *m);

/* Loads every tensor from a Hugging Face file, under its name with or without the "bert."
 * prefix (the pooler and anything else is ignored). A missing tensor or a wrong shape is an
 * error naming the tensor and both shapes. */
mltc_status bert_load_hf(bert_model *m, const st_file *f);
/* Opens path, loads, closes. */
mltc_status bert_load_hf_file(bert_model *m, const char *path);
/* Adds every parameter to w under prefix + its Hugging Face name (prefix "" or "bert."). */
mltc_status bert_save_hf(bert_model *m, st_writer *w, const char *prefix);

/* Uploads / downloads one tensor's values (numel floats) by table entry. */
mltc_status bert_tensor_upload(bert_model *m, const bert_tensor *t, const float *src);
mltc_status bert_tensor_download(bert_model *m, const bert_tensor *t, float *dst);

/* Grows (or shrinks) the word embedding table to new_vocab rows, keeping the first rows;
 * added rows are drawn from N(0, 0.02^2) by Philox under `seed` (Box-Muller), the same on
 * every backend. Reallocates the parameter and gradient buffers: every view and size taken
 * before is stale (create the optimizer state after resizing). Gradients are zeroed. */
mltc_status bert_resize_vocab(bert_model *m, int new_vocab, uint64_t seed);

void bert_set_dropout_seed(bert_model *m, uint64_t seed);

/* Runs the encoder on B sequences of T tokens (host arrays of B*T int32, row-major):
 * ids in [0, vocab), token_types in [0, type_vocab) or NULL for all 0, attention_mask 1 for
 * real tokens and 0 for padding or NULL for all 1. train != 0 applies dropout with the
 * config's probabilities at training step `step`. *hidden is set to the last hidden states
 * [B, T, C] (or [B, R, C] under bert_select_outputs), valid until the next forward. */
mltc_status bert_forward(bert_model *m, const int32_t *ids, const int32_t *token_types,
                         const int32_t *attention_mask, int B, int T, int train, uint64_t step, dev_view *hidden);

/* bert_forward without dropout for inference only: nothing is kept for a backward (bert_backward
 * then fails), which lets the device fuse each layer's attention (dev_attention_forward). */
mltc_status bert_forward_inference(bert_model *m, const int32_t *ids, const int32_t *token_types,
                                   const int32_t *attention_mask, int B, int T, dev_view *hidden);

/* bert_forward without dropout that keeps the last layer's attention probabilities for
 * bert_last_attention (an explanation): that layer's attention runs unfused even where training
 * attention is fused (a [B, H, R, T] buffer made on first use). */
mltc_status bert_forward_explained(bert_model *m, const int32_t *ids, const int32_t *token_types,
                                   const int32_t *attention_mask, int B, int T, dev_view *hidden);

/* Selects the outputs: from now on the last layer computes only positions[0..R) of each
 * sequence (distinct, each in [0, max_seq) and below every batch's length), so bert_forward's
 * *hidden is [B, R, C] (row b*R + r is position positions[r] of sequence b) and bert_backward
 * takes dhidden of that shape. R == 0 goes back to every position. The rows equal the full
 * layer's at those positions; the work saved is most of the last layer (bert_select.c). A
 * backward must follow a forward made under the same selection. Invalid positions are an
 * error that leaves the current selection in place. */
mltc_status bert_select_outputs(bert_model *m, const int32_t *positions, int R);
/* R of the current selection, 0 when every position is computed. */
int bert_selected_outputs(const bert_model *m);

/* The last layer's attention probabilities of the last bert_forward_explained (or bert_forward
 * where training attention is not fused; never _inference, which fuses them away), [B, H, R, T] into out: R = the selected outputs' count (row r: position
 * positions[r]) or T. Each row sums to 1 over the real tokens. */
mltc_status bert_last_attention(const bert_model *m, float *out);
/* T, the padded length of the last forward's sequences. */
int bert_last_length(const bert_model *m);

/* The attention mask of the last forward as floats [B, T] on the device (1 = token). */
dev_view bert_mask(const bert_model *m);

/* Back-propagates dhidden [B, T, C] (the gradient of the loss w.r.t. the hidden states of the
 * last forward) through the encoder, ACCUMULATING into the gradient buffer. dhidden is only
 * read. */
mltc_status bert_backward(bert_model *m, dev_view dhidden);

/* Sets every gradient to zero. */
mltc_status bert_zero_grads(bert_model *m);

#endif
