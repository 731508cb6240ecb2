/*
 * BERT WordPiece tokenizer, matching Hugging Face's BertTokenizerFast (tokenizers'
 * BertNormalizer + BertPreTokenizer + WordPiece) for uncased vocabularies:
 *   clean text (drop NUL, U+FFFD and C* characters; whitespace to ' '), spaces around CJK
 *   ideographs, NFD then drop Mn marks, lowercase, split on whitespace and punctuation,
 *   then greedy longest-match-first WordPiece with "##" continuations; a word longer than
 *   100 characters, or one that cannot be covered by vocabulary pieces, becomes [UNK].
 *
 * Tokens added at run time (and the special tokens [CLS] [SEP] [PAD] [UNK] [MASK] found in
 * the vocabulary) are matched as whole units in the raw text before normalization, leftmost
 * then longest, case-sensitively and even inside words, as tokenizers does for an
 * AddedToken(normalized=False): "a[SEP]b" gives a, [SEP], b. WordPiece itself uses only the
 * tokens of vocab.txt.
 *
 * Parity: identical ids to tokenizers 0.23 for all 21,772 texts of the shared datasets
 * (tests/test_tokenizer.c). Over single code points, 568 of 1,112,064 differ, all characters
 * that utf8proc's Unicode 15 classes differently from tokenizers' older tables (marks and
 * punctuation added in Unicode 9 and later, in rare scripts).
 *
 * Input must be valid UTF-8; anything else is MLTC_ERR_PARSE naming the byte offset (Hugging
 * Face receives Python str and never sees invalid bytes, so there is nothing to mirror).
 *
 * A tokenizer is read-only after loading except for tok_add_token; concurrent tok_encode
 * calls on one tokenizer are safe as long as no token is being added.
 */
#ifndef MLTC_MODEL_TOKENIZER_H
#define MLTC_MODEL_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define TOK_MAX_WORD_CHARS 100 /* tokenizers' max_input_chars_per_word for BERT */

typedef struct tokenizer tokenizer;

/* Ids of the special tokens, looked up by name in the vocabulary; -1 where absent. */
typedef struct tok_specials {
    int32_t cls, sep, pad, unk, mask;
} tok_specials;

/* Loads vocab.txt: one token a line, the id is the 0-based line number; trailing spaces,
 * tabs and "\r" are trimmed as tokenizers does. [UNK] must be present (WordPiece needs it).
 * A token listed twice is found by its later id, as in both Hugging Face readers. */
mltc_status tok_load(mltc_error *err, const char *vocab_path, tokenizer **out);
void tok_free(tokenizer *t);

int tok_vocab_size(const tokenizer *t);
const tok_specials *tok_special(const tokenizer *t);
int32_t tok_id(const tokenizer *t, const char *token); /* -1 when absent */
const char *tok_token(const tokenizer *t, int32_t id); /* NULL when out of range */

/* Adds token (e.g. "[LS-3]") at the end of the vocabulary unless it is there already, and
 * from then on matches it as a whole unit in text. *id receives its id. */
mltc_status tok_add_token(tokenizer *t, mltc_error *err, const char *token, int32_t *id);

/* Tokenizes text[0..len) without special tokens. *ids is malloc'd (free it with free());
 * *n is its length. An empty or all-whitespace text gives n = 0 and *ids may be NULL. */
mltc_status tok_encode(const tokenizer *t, mltc_error *err, const char *text, size_t len, int32_t **ids, int *n);

/* Builds a model input from already encoded sequences: [CLS] a [SEP] when b is NULL, else
 * [CLS] a [SEP] b [SEP], truncated to max_len the way tokenizers' "longest_first" does
 * (a single sequence loses its tail; of a pair, the longer one is cut first, and when both
 * must be cut each keeps half). ids, and token_types unless it is NULL, must hold max_len
 * entries; token types are 0 up to the first [SEP], 1 after. *n receives the length (no
 * padding is added). max_len must leave room for the special tokens (2, or 3 for a pair). */
mltc_status tok_build_from_ids(const tokenizer *t, mltc_error *err, const int32_t *a, int na, const int32_t *b, int nb,
                               int max_len, int32_t *ids, int32_t *token_types, int *n);

/* The text as the WordPiece step sees it (cleaned, CJK spaced, accents stripped, lowercased),
 * as a malloc'd NUL-terminated UTF-8 string; for debugging and parity checks. Whole-unit
 * tokens are not split out here. */
mltc_status tok_normalize(mltc_error *err, const char *text, size_t len, char **out, size_t *out_len);

/* tok_encode on each text, then tok_build_from_ids. b may be NULL for a single sequence. */
mltc_status tok_build_input(const tokenizer *t, mltc_error *err, const char *a, size_t alen, const char *b,
                            size_t blen, int max_len, int32_t *ids, int32_t *token_types, int *n);

/* Writes the vocabulary (added tokens included) one token a line, to a temporary file in
 * the same folder that is flushed, synced and renamed over path. */
mltc_status tok_save_vocab(mltc_error *err, const tokenizer *t, const char *path);

#endif
