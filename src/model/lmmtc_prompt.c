#include "model/lmmtc_prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/philox.h"

static const char *const kind_names[LMMTC_NTOK] = {"LS", "LE", "YES", "NO", "MASK"};

mltc_status lmmtc_tokens_add(tokenizer *t, mltc_error *err, int n_labels, int shared, lmmtc_tokens *out) {
    memset(out, 0, sizeof *out);
    if (n_labels < 1) return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "lmmtc: %d labels", n_labels);
    int rows = shared ? 1 : n_labels;
    out->ids = malloc(sizeof *out->ids * (size_t)rows * LMMTC_NTOK);
    if (!out->ids) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "lmmtc: label tokens for %d labels", n_labels);
    out->labels = n_labels;
    out->shared = shared;
    for (int r = 0; r < rows; r++) {
        for (int k = 0; k < LMMTC_NTOK; k++) {
            char name[48];
            if (shared)
                snprintf(name, sizeof name, "[%s]", k == LMMTC_MASK ? "LMASK" : kind_names[k]);
            else
                snprintf(name, sizeof name, "[%s-%d]", kind_names[k], r + 1);
            mltc_status st = tok_add_token(t, err, name, &out->ids[r * LMMTC_NTOK + k]);
            if (st != MLTC_OK) {
                lmmtc_tokens_free(out);
                return st;
            }
        }
    }
    return MLTC_OK;
}

void lmmtc_tokens_free(lmmtc_tokens *k) {
    free(k->ids);
    memset(k, 0, sizeof *k);
}

int32_t lmmtc_token(const lmmtc_tokens *k, int label, int which) {
    return k->ids[(k->shared ? 0 : label) * LMMTC_NTOK + which];
}

mltc_status lmmtc_build(const lmmtc_tokens *k, const tokenizer *t, mltc_error *err, const int32_t *text, int ntext,
                        int max_len, int32_t *ids, int32_t *types, int *n) {
    int prompt = lmmtc_prompt_len(k->labels);
    if (prompt + 2 > max_len)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT,
                       "lmmtc: the prompt of %d labels takes %d tokens, which leaves no room for text within "
                       "max-len %d (need at least %d)",
                       k->labels, prompt, max_len, prompt + 2);
    const tok_specials *sp = tok_special(t);
    if (sp->cls < 0 || sp->sep < 0)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "lmmtc: the vocabulary lacks [CLS] or [SEP]");
    int pos = 0;
    ids[pos++] = sp->cls;
    for (int i = 0; i < k->labels; i++) {
        ids[pos++] = lmmtc_token(k, i, LMMTC_LS);
        ids[pos++] = lmmtc_token(k, i, LMMTC_MASK);
        ids[pos++] = lmmtc_token(k, i, LMMTC_LE);
    }
    ids[pos++] = sp->sep;
    int room = max_len - pos - 1, take = ntext < room ? ntext : room;
    if (take > 0) memcpy(ids + pos, text, sizeof *ids * (size_t)take);
    pos += take;
    ids[pos++] = sp->sep;
    for (int i = 0; types && i < pos; i++) types[i] = i < prompt ? 0 : 1;
    *n = pos;
    return MLTC_OK;
}

/* Counter (stream, label): each example's draws are its own, on every backend. */
static uint32_t draw(uint64_t seed, uint64_t stream, uint32_t label) {
    uint32_t ctr[4] = {label, 0, (uint32_t)stream, (uint32_t)(stream >> 32)};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)}, r[4];
    philox4x32_10(ctr, key, r);
    return r[0];
}

static int drawn_masked(float p, uint64_t seed, uint64_t stream, int label) {
    return (float)(draw(seed, stream, (uint32_t)label) >> 8) * (1.0f / 16777216.0f) < p;
}

/* The label masked when the draws mask none: uniform over the labels. */
static int fallback_label(int labels, uint64_t seed, uint64_t stream) {
    return (int)(((uint64_t)draw(seed, stream, 0xFFFFFFFFu) * (uint32_t)labels) >> 32);
}

int lmmtc_mask_count(int labels, float p, uint64_t seed, uint64_t stream) {
    int masked = 0;
    for (int l = 0; l < labels; l++) masked += drawn_masked(p, seed, stream, l);
    return masked > 0 ? masked : 1;
}

int lmmtc_mask_copy(const lmmtc_tokens *k, const uint8_t *gold, float p, uint64_t seed, uint64_t stream,
                    int32_t *ids, int n, int32_t *target) {
    for (int i = 0; i < n; i++) target[i] = -1;
    int masked = 0;
    for (int l = 0; l < k->labels; l++) {
        int pos = lmmtc_state_pos(l);
        int32_t truth = lmmtc_token(k, l, gold[l] ? LMMTC_YES : LMMTC_NO);
        ids[pos] = truth;
        if (drawn_masked(p, seed, stream, l)) {
            ids[pos] = lmmtc_token(k, l, LMMTC_MASK);
            target[pos] = truth;
            masked++;
        }
    }
    if (masked == 0) { /* at least one per example */
        int l = fallback_label(k->labels, seed, stream), pos = lmmtc_state_pos(l);
        target[pos] = ids[pos];
        ids[pos] = lmmtc_token(k, l, LMMTC_MASK);
        masked = 1;
    }
    return masked;
}
