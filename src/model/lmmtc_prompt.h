/*
 * LM-MTC inputs (Song et al., label mask multi-label text classification): a prompt of label
 * tokens before the text,
 *     [CLS] [LS-1] s-1 [LE-1] ... [LS-K] s-K [LE-K] [SEP] text [SEP]
 * with state s-i one of [YES-i], [NO-i], [MASK-i]. Each label has its own 5 tokens appended to
 * the vocabulary, or (the paper's ablation) all labels share one set [LS] [LE] [YES] [NO]
 * [LMASK]. Label i's state sits at position 3i + 2.
 *
 * The classification copy shows every state as MASK; the label-MLM copy shows the true YES/NO
 * states, each replaced by MASK with probability p (at least one per example), and asks the
 * model to predict the true token at the masked positions.
 */
#ifndef MLTC_MODEL_LMMTC_PROMPT_H
#define MLTC_MODEL_LMMTC_PROMPT_H

#include <stdint.h>

#include "model/tokenizer.h"

enum { LMMTC_LS, LMMTC_LE, LMMTC_YES, LMMTC_NO, LMMTC_MASK, LMMTC_NTOK };

typedef struct lmmtc_tokens {
    int labels;
    int shared;
    int32_t *ids; /* [labels][LMMTC_NTOK], or one row when shared */
} lmmtc_tokens;

/* Adds the label tokens to the tokenizer's vocabulary (or finds them, when a checkpoint's
 * vocabulary has them already). Names: "[LS-i]" "[LE-i]" "[YES-i]" "[NO-i]" "[MASK-i]" with i
 * from 1, or "[LS]" "[LE]" "[YES]" "[NO]" "[LMASK]" when shared. */
mltc_status lmmtc_tokens_add(tokenizer *t, mltc_error *err, int n_labels, int shared, lmmtc_tokens *out);
void lmmtc_tokens_free(lmmtc_tokens *k);
int32_t lmmtc_token(const lmmtc_tokens *k, int label, int which);

static inline int lmmtc_state_pos(int label) { return 3 * label + 2; }
static inline int lmmtc_prompt_len(int n_labels) { return 3 * n_labels + 2; } /* [CLS] .. [SEP] */

/* Builds the classification input (all states MASK) for encoded text[ntext], truncating the
 * text so the whole input fits max_len. Token types: 0 through the first [SEP], 1 after.
 * ids/types hold max_len entries. A prompt that leaves no room for one text token and the
 * final [SEP] is MLTC_ERR_INVALID_ARGUMENT naming max_len and the label count. */
mltc_status lmmtc_build(const lmmtc_tokens *k, const tokenizer *t, mltc_error *err, const int32_t *text, int ntext,
                        int max_len, int32_t *ids, int32_t *types, int *n);

/* Turns a classification input (from lmmtc_build) into the label-MLM copy for gold[labels]:
 * states become YES/NO, each masked with probability p drawn from Philox (seed, stream), at
 * least one per example. target[max n] receives the true state id at masked positions and -1
 * elsewhere. Returns the number of masked positions. */
int lmmtc_mask_copy(const lmmtc_tokens *k, const uint8_t *gold, float p, uint64_t seed, uint64_t stream,
                    int32_t *ids, int n, int32_t *target);

/* The number of states lmmtc_mask_copy masks for (p, seed, stream) with this many labels, without
 * building the copy: gradient accumulation needs a whole batch's count before its first part. */
int lmmtc_mask_count(int labels, float p, uint64_t seed, uint64_t stream);

#endif
