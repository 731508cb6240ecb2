/* WordPiece tokenizer: unit checks on hand-picked text, then parity with Hugging Face's
 * tokenizer on every text of the datasets in data/ (tests/fixtures/tokenizer/, written by
 * tools/reference/tokenizer_fixture.py; the expected tokens below come from the same
 * tokenizers 0.23 Tokenizer on data/vocab/bert-base-uncased/tokenizer.json). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model/tokenizer.h"
#include "testutil.h"

/* ---- unit checks ------------------------------------------------------------------------ */

/* Encodes text and compares the token strings with want (space-separated). */
static void check_tokens(const tokenizer *t, const char *text, size_t len, const char *want) {
    mltc_error err = {0};
    int32_t *ids = NULL;
    int n = 0;
    mltc_status st = tok_encode(t, &err, text, len, &ids, &n);
    if (!tu_check(st == MLTC_OK, "encode '%s': %s", text, err.msg)) return;
    char got[4096];
    size_t k = 0;
    got[0] = '\0';
    for (int i = 0; i < n && k < sizeof got - 200; i++) k += (size_t)snprintf(got + k, sizeof got - k, i ? " %s" : "%s", tok_token(t, ids[i]));
    tu_check(!strcmp(got, want), "encode '%s':\n  got  %s\n  want %s", text, got, want);
    free(ids);
}
#define CHECK(t, s, want) check_tokens(t, s, sizeof(s) - 1, want)

static void check_build(const tokenizer *t, const char *a, const char *b, int max_len, const char *want_tokens,
                        const char *want_types) {
    mltc_error err = {0};
    int32_t ids[64], types[64];
    int n = 0;
    mltc_status st = tok_build_input(t, &err, a, strlen(a), b, b ? strlen(b) : 0, max_len, ids, types, &n);
    if (!tu_check(st == MLTC_OK, "build '%s' | '%s': %s", a, b ? b : "-", err.msg)) return;
    char got[1024], gtypes[256];
    size_t k = 0, kt = 0;
    got[0] = gtypes[0] = '\0';
    for (int i = 0; i < n; i++) {
        k += (size_t)snprintf(got + k, sizeof got - k, i ? " %s" : "%s", tok_token(t, ids[i]));
        kt += (size_t)snprintf(gtypes + kt, sizeof gtypes - kt, "%d", types[i]);
    }
    tu_check(n <= max_len, "build '%s' | '%s': %d tokens exceed max_len %d", a, b ? b : "-", n, max_len);
    tu_check(!strcmp(got, want_tokens) && !strcmp(gtypes, want_types),
             "build '%s' | '%s' max_len %d:\n  got  %s  %s\n  want %s  %s", a, b ? b : "-", max_len, got, gtypes,
             want_tokens, want_types);
}

static void check_invalid_utf8(const tokenizer *t, const char *text, size_t len, const char *want_offset) {
    mltc_error err = {0};
    int32_t *ids = NULL;
    int n = 0;
    mltc_status st = tok_encode(t, &err, text, len, &ids, &n);
    tu_check(st == MLTC_ERR_PARSE && strstr(err.msg, want_offset) && strstr(err.msg, "UTF-8"),
             "invalid UTF-8 (%s): status %d, message '%s'", want_offset, (int)st, err.msg);
    free(ids);
}

static void unit_checks(tokenizer *t, const char *tmpdir) {
    const tok_specials *sp = tok_special(t);
    tu_check(tok_vocab_size(t) == 30522, "vocab size %d, expected 30522", tok_vocab_size(t));
    tu_check(sp->pad == 0 && sp->unk == 100 && sp->cls == 101 && sp->sep == 102 && sp->mask == 103,
             "specials pad %d unk %d cls %d sep %d mask %d", sp->pad, sp->unk, sp->cls, sp->sep, sp->mask);

    CHECK(t, "Héllò Wörld, naïve CAFÉ Ångström", "hello world , naive cafe ang ##strom");
    CHECK(t, "İstanbul ΣΊΣΥΦΟΣ", "istanbul σ ##ι ##σ ##υ ##φ ##ο ##σ");
    CHECK(t, "中文abc日本語", "中 文 abc 日 本 語");
    CHECK(t, "hello,world!!(x) a—b «c» 1.5%", "hello , world ! ! ( x ) a — b « c » 1 . 5 %");
    CHECK(t, "unaffable playing", "una ##ffa ##ble playing");
    CHECK(t, "snowman ☃ 🤩 ∰", "snow ##man [UNK] [UNK] [UNK]");
    /* NUL, zero-width space (Cf), U+FFFD and U+0085 vanish; tab, NBSP, ideographic space split. */
    CHECK(t, "a\0b\xe2\x80\x8b" "c\tD\xc2\xa0" "e\xe3\x80\x80" "f\xef\xbf\xbdg\xc2\x85h", "abc d e f ##gh");
    CHECK(t, "hello[SEP]world [MASK]x [cls]", "hello [SEP] world [MASK] x [ cl ##s ]");
    CHECK(t, "", "");
    CHECK(t, " \t\n ", "");

    /* 100 characters still go through WordPiece; 101 are one [UNK], as is a word with an
     * uncoverable character. */
    char word[128];
    memset(word, 'a', 101);
    char want[1024];
    size_t k = (size_t)snprintf(want, sizeof want, "aaa");
    for (int i = 0; i < 48; i++) k += (size_t)snprintf(want + k, sizeof want - k, " ##aa");
    snprintf(want + k, sizeof want - k, " ##a");
    check_tokens(t, word, 100, want);
    check_tokens(t, word, 101, "[UNK]");
    memcpy(word, "abc\xe2\x98\x83", 6);
    check_tokens(t, word, 6, "[UNK]");

    /* Model inputs: truncation and token types as tokenizers' longest_first gives them. */
    check_build(t, "one two three four five", "six seven", 32, "[CLS] one two three four five [SEP] six seven [SEP]",
                "0000000111");
    check_build(t, "one two three four five six seven eight", NULL, 8, "[CLS] one two three four five six [SEP]",
                "00000000");
    check_build(t, "one two three four five", "six seven", 8, "[CLS] one two three [SEP] six seven [SEP]", "00000111");
    check_build(t, "one two three", "four five six seven eight nine", 8, "[CLS] one two [SEP] four five six [SEP]",
                "00001111");
    check_build(t, "a b c d e f", "g h i j k l", 8, "[CLS] a b [SEP] g h i [SEP]", "00001111");
    check_build(t, "a b c d e f g", "h i j k l m", 8, "[CLS] a b c [SEP] h i [SEP]", "00000111");
    check_build(t, "", "x", 8, "[CLS] [SEP] x [SEP]", "0011");
    {
        mltc_error err = {0};
        int32_t ids[4];
        int n = 0;
        mltc_status st = tok_build_input(t, &err, "a", 1, "b", 1, 2, ids, NULL, &n);
        tu_check(st == MLTC_ERR_INVALID_ARGUMENT && strstr(err.msg, "max_len 2"), "pair with max_len 2: %d '%s'",
                 (int)st, err.msg);
    }

    /* Invalid UTF-8 names the offset of the first bad byte. */
    check_invalid_utf8(t, "ab\xff" "cd", 5, "byte offset 2 ");
    check_invalid_utf8(t, "abc\xc3", 4, "byte offset 3 ");       /* truncated sequence */
    check_invalid_utf8(t, "\xc0\xaf", 2, "byte offset 0 ");       /* overlong */
    check_invalid_utf8(t, "x \xed\xa0\x80", 5, "byte offset 2 "); /* a surrogate */

    /* Added tokens: new ids at the end, matched whole in raw text; existing tokens keep theirs. */
    mltc_error err = {0};
    int32_t ls3 = -1, ls12 = -1, hello = -1;
    tu_must(tok_add_token(t, &err, "[LS-3]", &ls3), &err, "add [LS-3]");
    tu_must(tok_add_token(t, &err, "[LS-12]", &ls12), &err, "add [LS-12]");
    tu_must(tok_add_token(t, &err, "hello", &hello), &err, "add hello");
    tu_check(ls3 == 30522 && ls12 == 30523 && hello == 7592, "added ids %d %d %d, expected 30522 30523 7592", ls3, ls12,
             hello);
    tu_check(tok_vocab_size(t) == 30524, "vocab size after adding: %d", tok_vocab_size(t));
    /* As tokenizers with AddedToken(normalized=False): matched case-sensitively anywhere in
     * the raw text, even inside a word ("helloworld"); "HELLO" goes through WordPiece. */
    CHECK(t, "x [LS-3] y[LS-12]z [ls-3] [LS-1]", "x [LS-3] y [LS-12] z [ l ##s - 3 ] [ l ##s - 1 ]");
    CHECK(t, "HELLO helloworld", "hello hello world");

    char path[4096];
    snprintf(path, sizeof path, "%s/mltc_test_vocab.txt", tmpdir);
    tu_must(tok_save_vocab(&err, t, path), &err, "save vocab");
    tokenizer *t2 = NULL;
    tu_must(tok_load(&err, path, &t2), &err, "reload vocab");
    tu_check(tok_vocab_size(t2) == 30524 && tok_id(t2, "[LS-12]") == 30523 && tok_id(t2, "##strom") == 15687,
             "reloaded vocab: size %d, [LS-12] %d", tok_vocab_size(t2), tok_id(t2, "[LS-12]"));
    tok_free(t2);
    remove(path);

    mltc_status st = tok_load(&err, "/nonexistent/vocab.txt", &t2);
    tu_check(st == MLTC_ERR_IO && strstr(err.msg, "/nonexistent/vocab.txt"), "missing vocab: %d '%s'", (int)st, err.msg);

    /* A small vocabulary with CRLF line ends, a duplicate and no [CLS]/[SEP]; then an empty one. */
    FILE *f = fopen(path, "wb");
    fputs("[PAD]\r\n[UNK]\r\nab\r\n##c\r\nab\r\n", f);
    fclose(f);
    tu_must(tok_load(&err, path, &t2), &err, "load the small vocabulary");
    tu_check(tok_vocab_size(t2) == 5 && tok_id(t2, "ab") == 4 && tok_id(t2, "##c") == 3 && tok_special(t2)->unk == 1 &&
                 tok_special(t2)->cls == -1,
             "small vocabulary: size %d, ab %d, cls %d", tok_vocab_size(t2), tok_id(t2, "ab"), tok_special(t2)->cls);
    check_tokens(t2, "abc ABCC x", 10, "ab ##c ab ##c ##c [UNK]");
    int32_t ids[8];
    int n = 0;
    st = tok_build_input(t2, &err, "ab", 2, NULL, 0, 8, ids, NULL, &n);
    tu_check(st == MLTC_ERR_INVALID_ARGUMENT && strstr(err.msg, "[CLS]"), "no [CLS]: %d '%s'", (int)st, err.msg);
    tok_free(t2);
    f = fopen(path, "wb");
    fclose(f);
    st = tok_load(&err, path, &t2);
    tu_check(st == MLTC_ERR_PARSE && strstr(err.msg, "no [UNK]") && strstr(err.msg, path), "empty vocabulary: %d '%s'",
             (int)st, err.msg);
    remove(path);
}

/* ---- parity with Hugging Face on the datasets ---------------------------------------------- */

/* A whole file, gzip-compressed or plain. */
static char *read_all(const char *path, size_t *len) { return tu_read_text(path, len); }

typedef struct text_list {
    char **s;
    size_t *len;
    int n, cap;
} text_list;

static void list_add(text_list *l, char *s, size_t len) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->s = realloc(l->s, (size_t)l->cap * sizeof *l->s);
        l->len = realloc(l->len, (size_t)l->cap * sizeof *l->len);
        if (!l->s || !l->len) {
            printf("FAIL: out of memory\n");
            exit(1);
        }
    }
    l->s[l->n] = s;
    l->len[l->n++] = len;
}

/* Reuters jsonl: title + "\n" + text, as the data reader joins them. */
static int read_reuters(const char *path, text_list *out) {
    size_t len;
    char *buf = read_all(path, &len);
    if (!buf) return 0;
    for (char *line = buf; line < buf + len;) {
        char *end = memchr(line, '\n', (size_t)(buf + len - line));
        if (!end) end = buf + len;
        if (end > line) {
            cJSON *doc = cJSON_ParseWithLength(line, (size_t)(end - line));
            const char *title = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "title"));
            const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "text"));
            if (!title || !text) {
                printf("FAIL: %s: text %d: no title or text\n", path, out->n);
                exit(1);
            }
            size_t tl = strlen(title), xl = strlen(text);
            char *s = malloc(tl + xl + 2);
            memcpy(s, title, tl);
            s[tl] = '\n';
            memcpy(s + tl + 1, text, xl + 1);
            list_add(out, s, tl + 1 + xl);
            cJSON_Delete(doc);
        }
        line = end + 1;
    }
    free(buf);
    return 1;
}

/* SemEval tsv: the second column of each line after the header. */
static int read_semeval(const char *path, text_list *out) {
    size_t len;
    char *buf = read_all(path, &len);
    if (!buf) return 0;
    char *line = memchr(buf, '\n', len);
    line = line ? line + 1 : buf + len;
    while (line < buf + len) {
        char *end = memchr(line, '\n', (size_t)(buf + len - line));
        if (!end) end = buf + len;
        if (end > line) {
            char *tab = memchr(line, '\t', (size_t)(end - line));
            char *tab2 = tab ? memchr(tab + 1, '\t', (size_t)(end - tab - 1)) : NULL;
            char *stop = tab2 ? tab2 : end;
            if (!tab) {
                printf("FAIL: %s: text %d: no tab\n", path, out->n);
                exit(1);
            }
            size_t l = (size_t)(stop - tab - 1);
            char *s = malloc(l + 1);
            memcpy(s, tab + 1, l);
            s[l] = '\0';
            list_add(out, s, l);
        }
        line = end + 1;
    }
    free(buf);
    return 1;
}

static uint64_t fnv1a_ids(const int32_t *ids, int n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < n; i++) {
        uint32_t v = (uint32_t)ids[i];
        for (int b = 0; b < 4; b++) h = (h ^ ((v >> (8 * b)) & 0xff)) * 0x100000001b3ull;
    }
    return h;
}

/* The fixture's full ids of (dataset, index), or NULL: a line "dataset\tindex\tids". */
static const char *find_full_ids(const char *ids_tsv, const char *dataset, int index) {
    char key[128];
    int kl = snprintf(key, sizeof key, "\n%s\t%d\t", dataset, index);
    const char *p = strstr(ids_tsv, key);
    return p ? p + kl : NULL;
}

static void show_mismatch(const tokenizer *t, const char *ids_tsv, const char *dataset, int index, const char *text,
                          const int32_t *ids, int n, int want_n) {
    printf("MISMATCH %s text %d: %d ids, expected %d\n  text: %.200s\n", dataset, index, n, want_n, text);
    const char *full = find_full_ids(ids_tsv, dataset, index);
    if (!full) {
        printf("  (no full ids in the fixture for this text; the hash differs)\n");
        return;
    }
    for (int i = 0;; i++) {
        char *end;
        long want = strtol(full, &end, 10);
        int have_want = end != full && *full != '\n';
        if (!have_want && i >= n) break;
        if (!have_want || i >= n || want != ids[i]) {
            printf("  first difference at position %d: got %d (%s), expected %ld (%s)\n", i, i < n ? ids[i] : -1,
                   i < n ? tok_token(t, ids[i]) : "end", have_want ? want : -1L,
                   have_want ? tok_token(t, (int32_t)want) : "end");
            return;
        }
        full = end;
    }
}

static int parity(const tokenizer *t, const char *src) {
    struct {
        const char *name, *file;
        int reuters;
    } sets[] = {
        {"reuters-train", "reuters-modapte/train.jsonl", 1}, {"reuters-test", "reuters-modapte/test.jsonl", 1},
        {"semeval-train", "semeval2018-ec/train.tsv", 0},    {"semeval-dev", "semeval2018-ec/dev.tsv", 0},
        {"semeval-test", "semeval2018-ec/test.tsv", 0},
    };
    char path[4096];
    size_t hl, il;
    snprintf(path, sizeof path, "%s/tests/fixtures/tokenizer/hashes.tsv", src);
    char *hashes = read_all(path, &hl);
    snprintf(path, sizeof path, "%s/tests/fixtures/tokenizer/ids.tsv", src);
    char *ids_tsv = read_all(path, &il);
    if (!tu_check(hashes && ids_tsv, "cannot read the fixture %s", path)) return 0;

    const char *h = hashes;
    int total = 0, same = 0, shown = 0;
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        text_list texts = {0};
        snprintf(path, sizeof path, "%s", tu_data_file(sets[s].file));
        int ok = sets[s].reuters ? read_reuters(path, &texts) : read_semeval(path, &texts);
        if (!tu_check(ok, "cannot read the dataset %s", path)) {
            free(hashes);
            free(ids_tsv);
            return 0;
        }
        for (int i = 0; i < texts.n; i++) {
            while (*h == '#') h = strchr(h, '\n') + 1;
            char name[64];
            int index = -1, want_n = -1, used = 0;
            unsigned long long want_hash = 0;
            if (sscanf(h, "%63[^\t]\t%d\t%d\t%llx%n", name, &index, &want_n, &want_hash, &used) != 4 ||
                strcmp(name, sets[s].name) || index != i) {
                tu_check(0, "fixture hashes.tsv is out of step with %s at text %d (was it written from other data?)",
                         sets[s].name, i);
                break;
            }
            h = strchr(h, '\n') + 1;
            mltc_error err = {0};
            int32_t *ids = NULL;
            int n = 0;
            mltc_status st = tok_encode(t, &err, texts.s[i], texts.len[i], &ids, &n);
            total++;
            if (st != MLTC_OK) {
                printf("MISMATCH %s text %d: %s\n", sets[s].name, i, err.msg);
            } else if (n == want_n && fnv1a_ids(ids, n) == want_hash) {
                same++;
            } else if (shown++ < 10) {
                show_mismatch(t, ids_tsv, sets[s].name, i, texts.s[i], ids, n, want_n);
            }
            free(ids);
        }
        for (int i = 0; i < texts.n; i++) free(texts.s[i]);
        free(texts.s);
        free(texts.len);
    }
    while (*h == '#') h = strchr(h, '\n') + 1;
    tu_check(*h == '\0', "fixture hashes.tsv has texts the datasets lack, from: %.60s", h);
    printf("ids identical for %d of %d texts\n", same, total);
    tu_check(total > 0 && same == total, "%d of %d texts tokenize differently from Hugging Face", total - same, total);
    free(hashes);
    free(ids_tsv);
    return 1;
}

int main(void) {
    const char *src = getenv("MLTC_SOURCE_DIR");
    if (!src) {
        printf("FAIL: MLTC_SOURCE_DIR must be set (ctest sets it)\n");
        return 1;
    }
    const char *path = tu_data_file("vocab/bert-base-uncased/vocab.txt");
    mltc_error err = {0};
    tokenizer *t = NULL;
    if (tok_load(&err, path, &t) != MLTC_OK) {
        printf("FAIL: %s\n", err.msg);
        return 1;
    }
    parity(t, src); /* before unit_checks, which add tokens */
    const char *tmp = getenv("TMPDIR");
    unit_checks(t, tmp && *tmp ? tmp : "/tmp");
    tok_free(t);
    return tu_finish();
}
