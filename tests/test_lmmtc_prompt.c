/* LM-MTC prompt layout, truncation, the error for a prompt that cannot fit, label tokens
 * (per-label and shared), and the label-MLM masking (rate, at least one, targets). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/lmmtc_prompt.h"
#include "testutil.h"

int main(void) {
    const char *vocab = tu_data_file("vocab/bert-base-uncased/vocab.txt");
    mltc_error err = {0};
    tokenizer *tok = NULL;
    tu_must(tok_load(&err, vocab, &tok), &err, "load vocab");
    int base = tok_vocab_size(tok);

    lmmtc_tokens k;
    tu_must(lmmtc_tokens_add(tok, &err, 3, 0, &k), &err, "add tokens");
    tu_check(tok_vocab_size(tok) == base + 15, "3 labels add 15 tokens (vocab %d -> %d)", base, tok_vocab_size(tok));
    tu_check(lmmtc_token(&k, 0, LMMTC_LS) == base && tok_id(tok, "[MASK-3]") == lmmtc_token(&k, 2, LMMTC_MASK),
             "token ids follow the vocabulary");
    lmmtc_tokens again;
    tu_must(lmmtc_tokens_add(tok, &err, 3, 0, &again), &err, "add again");
    tu_check(tok_vocab_size(tok) == base + 15 && !memcmp(again.ids, k.ids, sizeof(int32_t) * 15),
             "adding again finds the existing tokens");
    lmmtc_tokens_free(&again);

    int32_t text[40], ids[64], types[64];
    for (int i = 0; i < 40; i++) text[i] = 2000 + i;
    int n = 0;
    tu_must(lmmtc_build(&k, tok, &err, text, 5, 64, ids, types, &n), &err, "build");
    const tok_specials *sp = tok_special(tok);
    tu_check(n == 11 + 5 + 1, "length %d, expected 17", n);
    tu_check(ids[0] == sp->cls && ids[10] == sp->sep && ids[16] == sp->sep, "[CLS] prompt [SEP] text [SEP]");
    tu_check(ids[lmmtc_state_pos(1)] == lmmtc_token(&k, 1, LMMTC_MASK) && ids[3] == lmmtc_token(&k, 0, LMMTC_LE),
             "states are MASK between LS and LE");
    tu_check(types[10] == 0 && types[11] == 1 && types[16] == 1, "token types 0 then 1");
    tu_must(lmmtc_build(&k, tok, &err, text, 40, 20, ids, types, &n), &err, "truncating build");
    tu_check(n == 20 && ids[19] == sp->sep && ids[18] == text[7], "text truncated to fit max-len 20");
    mltc_status st = lmmtc_build(&k, tok, &err, text, 5, 12, ids, types, &n);
    tu_check(st == MLTC_ERR_INVALID_ARGUMENT && strstr(err.msg, "max-len 12") && strstr(err.msg, "3 labels"),
             "a prompt that cannot fit names max-len and the label count: %s", err.msg);

    /* Masking: over many examples the rate is near p, every example has >= 1 mask, targets
     * hold the true state exactly at the masked positions. */
    enum { L = 3 };
    uint8_t gold[L] = {1, 0, 1};
    int total = 0, ok = 1;
    for (int e = 0; e < 2000; e++) {
        int32_t in[64], tgt[64];
        int m = 0;
        lmmtc_build(&k, tok, &err, text, 5, 64, in, NULL, &m);
        int masked = lmmtc_mask_copy(&k, gold, 0.15f, 7, (uint64_t)e, in, m, tgt);
        total += masked;
        ok &= masked >= 1;
        for (int l = 0; l < L; l++) {
            int pos = lmmtc_state_pos(l);
            int32_t truth = lmmtc_token(&k, l, gold[l] ? LMMTC_YES : LMMTC_NO);
            if (tgt[pos] >= 0) ok &= tgt[pos] == truth && in[pos] == lmmtc_token(&k, l, LMMTC_MASK);
            else ok &= in[pos] == truth;
        }
    }
    tu_check(ok, "every example masks >= 1 state and targets match");
    /* Expected masks per example: 3p plus the forced one when none is drawn (0.85^3). */
    double mean = total / 2000.0, want = 3 * 0.15 + 0.614125;
    tu_check(mean > want - 0.08 && mean < want + 0.08, "mean masks per example %.3f, expected about %.3f", mean, want);

    lmmtc_tokens sh;
    tokenizer *tok2 = NULL;
    tu_must(tok_load(&err, vocab, &tok2), &err, "load vocab");
    tu_must(lmmtc_tokens_add(tok2, &err, 90, 1, &sh), &err, "shared tokens");
    tu_check(tok_vocab_size(tok2) == base + 5 && lmmtc_token(&sh, 89, LMMTC_YES) == tok_id(tok2, "[YES]"),
             "shared ablation adds one set of 5 tokens for 90 labels");
    lmmtc_tokens_free(&sh);
    lmmtc_tokens_free(&k);
    tok_free(tok);
    tok_free(tok2);
    return tu_finish();
}
