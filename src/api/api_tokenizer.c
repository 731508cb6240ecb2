/* mltc_tokenizer: the WordPiece tokenizer of the models behind an opaque handle. */
#include <stdlib.h>

#include "api/api_internal.h"
#include "model/tokenizer.h"

struct mltc_tokenizer {
    tokenizer *tok;
};

mltc_status mltc_tokenizer_load(mltc_ctx *ctx, const char *vocab_path, mltc_tokenizer **out) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    if (!out) return api_null(ctx, "mltc_tokenizer_load", "out");
    *out = NULL;
    if (!vocab_path) return api_null(ctx, "mltc_tokenizer_load", "vocab_path");
    mltc_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return err_set(&ctx->err, MLTC_ERR_OUT_OF_MEMORY, "mltc_tokenizer_load: out of host memory");
    mltc_status st = tok_load(&ctx->err, vocab_path, &t->tok);
    if (st != MLTC_OK) {
        free(t);
        return st;
    }
    *out = t;
    return MLTC_OK;
}

void mltc_tokenizer_free(mltc_tokenizer *t) {
    if (!t) return;
    tok_free(t->tok);
    free(t);
}

int mltc_tokenizer_vocab_size(const mltc_tokenizer *t) { return t ? tok_vocab_size(t->tok) : 0; }

const char *mltc_tokenizer_token(const mltc_tokenizer *t, int32_t id) { return t ? tok_token(t->tok, id) : NULL; }

mltc_status mltc_tokenize(mltc_ctx *ctx, const mltc_tokenizer *t, const char *text, size_t len, int max_len,
                          int32_t **ids, int *n) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    if (!ids) return api_null(ctx, "mltc_tokenize", "ids");
    *ids = NULL;
    if (!n) return api_null(ctx, "mltc_tokenize", "n");
    *n = 0;
    if (!t) return api_null(ctx, "mltc_tokenize", "tok");
    if (!text && len) return api_null(ctx, "mltc_tokenize", "text");
    if (max_len < 0 || max_len == 1)
        return err_set(&ctx->err, MLTC_ERR_INVALID_ARGUMENT,
                       "mltc_tokenize: max_len %d must be 0 (no limit) or >= 2 ([CLS] and [SEP])", max_len);
    int32_t *a = NULL;
    int na = 0;
    mltc_status st = tok_encode(t->tok, &ctx->err, text ? text : "", len, &a, &na);
    if (st != MLTC_OK) return st;
    int cap = max_len > 0 ? max_len : na + 2;
    int32_t *out = malloc(sizeof *out * (size_t)cap);
    if (!out) st = err_set(&ctx->err, MLTC_ERR_OUT_OF_MEMORY, "mltc_tokenize: out of host memory for %d ids", cap);
    if (st == MLTC_OK) st = tok_build_from_ids(t->tok, &ctx->err, a, na, NULL, 0, cap, out, NULL, n);
    free(a);
    if (st != MLTC_OK) {
        free(out);
        *n = 0;
        return st;
    }
    *ids = out;
    return MLTC_OK;
}
