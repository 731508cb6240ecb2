/* Any bytes as text through a small WordPiece vocabulary (normalisation, whole-unit added
 * tokens, pairs and truncation), or as a vocab.txt to load: the first byte picks which. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "model/tokenizer.h"

static tokenizer *T;

static const char VOCAB[] = "[PAD]\n[unused0]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n!\n,\n.\n'\nthe\na\n##s\n##b\ncafe\n"
                            "\xe6\x9d\xb1\nun\n##aff\n##able\n##ing\nre\n##x\nwheat\nexport\n##s\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    mltc_error err = {0};
    const char *path = fuzz_file((const uint8_t *)VOCAB, sizeof VOCAB - 1);
    int32_t id;
    if (!path || tok_load(&err, path, &T) || tok_add_token(T, &err, "[LS-3]", &id)) {
        fprintf(stderr, "fuzz_tokenizer: setup: %s\n", err.msg);
        abort();
    }
    return 0;
}

static void check_ids(const int32_t *ids, int n, int vocab) {
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= vocab) abort();
}

static void text_case(const uint8_t *data, size_t size, int max_len) {
    mltc_error err = {0};
    const char *text = (const char *)data;
    int32_t *ids = NULL;
    int n = 0;
    mltc_status st = tok_encode(T, &err, text, size, &ids, &n);
    fuzz_expect_message(st, &err, "tok_encode");
    if (!st) check_ids(ids, n, tok_vocab_size(T));
    free(ids);

    char *norm = NULL;
    size_t norm_len = 0;
    err.msg[0] = 0;
    st = tok_normalize(&err, text, size, &norm, &norm_len);
    fuzz_expect_message(st, &err, "tok_normalize");
    if (!st && strlen(norm) != norm_len) abort();
    free(norm);

    int32_t pair[64], types[64];
    size_t half = size / 2;
    err.msg[0] = 0;
    st = tok_build_input(T, &err, text, half, text + half, size - half, max_len, pair, types, &n);
    fuzz_expect_message(st, &err, "tok_build_input");
    if (!st) {
        if (n > max_len || n < 3 || pair[0] != tok_special(T)->cls) abort();
        check_ids(pair, n, tok_vocab_size(T));
        for (int i = 0; i < n; i++)
            if (types[i] != 0 && types[i] != 1) abort();
    }
}

static void vocab_case(const uint8_t *data, size_t size) {
    mltc_error err = {0};
    const char *path = fuzz_file(data, size);
    if (!path) return;
    tokenizer *t = NULL;
    mltc_status st = tok_load(&err, path, &t);
    fuzz_expect_message(st, &err, "tok_load");
    if (st) return;
    static const char text[] = "Unaffable CAFE\xcc\x81 exports, the wheat!";
    int32_t *ids = NULL;
    int n = 0;
    if (tok_encode(t, &err, text, sizeof text - 1, &ids, &n)) abort(); /* [UNK] is there, so no failure */
    check_ids(ids, n, tok_vocab_size(t));
    free(ids);
    tok_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    if (data[0] & 1)
        vocab_case(data + 1, size - 1);
    else
        text_case(data + 1, size - 1, 3 + (data[0] >> 1) % 61);
    return 0;
}
