/* BERT WordPiece tokenizer; see tokenizer.h for the pipeline it mirrors. */
#include "model/tokenizer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "core/fileio.h"
#include "core/platform.h"

struct tokenizer {
    char **tokens;     /* id -> token (owned) */
    uint32_t *lens;    /* id -> strlen(token) */
    int n, cap;        /* tokens in use / allocated */
    int n_base;        /* tokens read from vocab.txt; WordPiece uses only these */
    int32_t *slots;    /* open-addressing hash of ids, -1 = empty */
    size_t nslots;     /* power of two, kept at most half full */
    int32_t *whole;    /* ids matched as whole units in raw text */
    int n_whole;
    uint8_t first_byte[256]; /* first bytes of whole-unit tokens, to skip most positions fast */
    tok_specials sp;
};

/* ---- growable arrays -------------------------------------------------------------------- */

typedef struct ivec {
    int32_t *v;
    size_t n, cap;
} ivec;

static int ivec_push(ivec *a, int32_t x) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        int32_t *v = realloc(a->v, cap * sizeof *v);
        if (!v) return 0;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 1;
}

static int ivec_reserve(ivec *a, size_t cap) {
    if (cap <= a->cap) return 1;
    int32_t *v = realloc(a->v, cap * sizeof *v);
    if (!v) return 0;
    a->v = v;
    a->cap = cap;
    return 1;
}

/* ---- vocabulary hash (FNV-1a over the bytes; lookups take (ptr, len), no copies) ------- */

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return h;
}

static int32_t vocab_find(const tokenizer *t, const char *s, size_t n) {
    if (!t->nslots) return -1; /* an empty vocabulary file */
    size_t mask = t->nslots - 1;
    for (size_t i = hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        int32_t id = t->slots[i];
        if (id < 0) return -1;
        if (t->lens[id] == n && !memcmp(t->tokens[id], s, n)) return id;
    }
}

static void slots_insert(int32_t *slots, size_t nslots, const tokenizer *t, int32_t id) {
    size_t mask = nslots - 1;
    size_t i = hash_bytes(t->tokens[id], t->lens[id]) & mask;
    while (slots[i] >= 0) i = (i + 1) & mask;
    slots[i] = id;
}

/* Makes id findable by its text. A token that appears twice keeps the later id, as both
 * Hugging Face vocabulary readers do (a dict / HashMap filled line by line). */
static int vocab_index(tokenizer *t, int32_t id) {
    if ((size_t)(t->n + 1) * 2 > t->nslots) {
        size_t nslots = t->nslots ? t->nslots * 2 : 1024;
        while ((size_t)(t->n + 1) * 2 > nslots) nslots *= 2;
        int32_t *slots = malloc(nslots * sizeof *slots);
        if (!slots) return 0;
        memset(slots, 0xff, nslots * sizeof *slots);
        for (size_t i = 0; i < t->nslots; i++)
            if (t->slots[i] >= 0) slots_insert(slots, nslots, t, t->slots[i]);
        free(t->slots);
        t->slots = slots;
        t->nslots = nslots;
    }
    size_t mask = t->nslots - 1;
    for (size_t i = hash_bytes(t->tokens[id], t->lens[id]) & mask;; i = (i + 1) & mask) {
        int32_t old = t->slots[i];
        if (old < 0 || (t->lens[old] == t->lens[id] && !memcmp(t->tokens[old], t->tokens[id], t->lens[id]))) {
            t->slots[i] = id;
            return 1;
        }
    }
}

static int vocab_append(tokenizer *t, const char *s, size_t n) {
    if (t->n == t->cap) {
        int cap = t->cap ? t->cap * 2 : 32768;
        char **tokens = realloc(t->tokens, (size_t)cap * sizeof *tokens);
        if (!tokens) return 0;
        t->tokens = tokens;
        uint32_t *lens = realloc(t->lens, (size_t)cap * sizeof *lens);
        if (!lens) return 0;
        t->lens = lens;
        t->cap = cap;
    }
    char *copy = malloc(n + 1);
    if (!copy) return 0;
    memcpy(copy, s, n);
    copy[n] = '\0';
    t->tokens[t->n] = copy;
    t->lens[t->n] = (uint32_t)n;
    t->n++;
    if (!vocab_index(t, t->n - 1)) {
        t->n--;
        free(copy);
        return 0;
    }
    return 1;
}

static void add_whole(tokenizer *t, int32_t id) {
    for (int i = 0; i < t->n_whole; i++)
        if (t->whole[i] == id) return;
    t->whole[t->n_whole++] = id;
    t->first_byte[(uint8_t)t->tokens[id][0]] = 1;
}

static int grow_whole(tokenizer *t) {
    int32_t *w = realloc(t->whole, (size_t)(t->n_whole + 1) * sizeof *w);
    if (!w) return 0;
    t->whole = w;
    return 1;
}

/* ---- loading and saving ------------------------------------------------------------------ */

void tok_free(tokenizer *t) {
    if (!t) return;
    for (int i = 0; i < t->n; i++) free(t->tokens[i]);
    free(t->tokens);
    free(t->lens);
    free(t->slots);
    free(t->whole);
    free(t);
}

mltc_status tok_load(mltc_error *err, const char *vocab_path, tokenizer **out) {
    if (!vocab_path || !out) return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "tok_load: null argument");
    *out = NULL;
    text_file *f = text_open(vocab_path); /* plain or gzip-compressed */
    if (!f) return err_set(err, MLTC_ERR_IO, "%s: cannot open vocabulary: %s", vocab_path, strerror(errno));
    tokenizer *t = calloc(1, sizeof *t);
    if (!t) {
        text_close(f);
        return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: out of memory for the tokenizer", vocab_path);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long lineno = 0;
    while ((got = text_getline(f, &line, &cap)) >= 0) {
        lineno++;
        size_t n = (size_t)got;
        /* tokenizers trims trailing whitespace of each line (so "\r\n" files work too). */
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            n--;
        if (memchr(line, '\0', n)) {
            free(line);
            text_close(f);
            tok_free(t);
            return err_set(err, MLTC_ERR_PARSE, "%s:%ld: NUL byte inside a token", vocab_path, lineno);
        }
        if (!vocab_append(t, line, n)) {
            free(line);
            text_close(f);
            tok_free(t);
            return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s:%ld: out of memory", vocab_path, lineno);
        }
    }
    if (text_error(f)) {
        mltc_status st = err_set(err, MLTC_ERR_IO, "%s: read error after line %ld: %s", vocab_path, lineno,
                                 text_error(f));
        free(line);
        text_close(f);
        tok_free(t);
        return st;
    }
    free(line);
    text_close(f);
    t->n_base = t->n;
    t->sp.cls = tok_id(t, "[CLS]");
    t->sp.sep = tok_id(t, "[SEP]");
    t->sp.pad = tok_id(t, "[PAD]");
    t->sp.unk = tok_id(t, "[UNK]");
    t->sp.mask = tok_id(t, "[MASK]");
    if (t->sp.unk < 0) {
        tok_free(t);
        return err_set(err, MLTC_ERR_PARSE, "%s: no [UNK] token among its %ld lines", vocab_path, lineno);
    }
    /* The specials are matched in raw text, as tokenizers does for its special added tokens. */
    const int32_t specials[5] = {t->sp.pad, t->sp.unk, t->sp.cls, t->sp.sep, t->sp.mask};
    for (int i = 0; i < 5; i++) {
        if (specials[i] < 0) continue;
        if (!grow_whole(t)) {
            tok_free(t);
            return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: out of memory", vocab_path);
        }
        add_whole(t, specials[i]);
    }
    *out = t;
    return MLTC_OK;
}

int tok_vocab_size(const tokenizer *t) { return t->n; }
const tok_specials *tok_special(const tokenizer *t) { return &t->sp; }
int32_t tok_id(const tokenizer *t, const char *token) { return vocab_find(t, token, strlen(token)); }
const char *tok_token(const tokenizer *t, int32_t id) { return id >= 0 && id < t->n ? t->tokens[id] : NULL; }

mltc_status tok_add_token(tokenizer *t, mltc_error *err, const char *token, int32_t *id) {
    if (!t || !token || !id) return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "tok_add_token: null argument");
    size_t n = strlen(token);
    if (n == 0) return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "tok_add_token: empty token");
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)token + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k < 0) return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "tok_add_token: invalid UTF-8 at byte %zu", i);
        if (cp == '\n' || cp == '\r')
            return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "tok_add_token: '%s' holds a line break", token);
        i += (size_t)k;
    }
    if (!grow_whole(t)) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "tok_add_token: out of memory");
    int32_t found = vocab_find(t, token, n);
    if (found < 0) {
        if (!vocab_append(t, token, n)) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "tok_add_token: out of memory");
        found = t->n - 1;
    }
    add_whole(t, found);
    *id = found;
    return MLTC_OK;
}

mltc_status tok_save_vocab(mltc_error *err, const tokenizer *t, const char *path) {
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, plat_pid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        err_set(err, MLTC_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return MLTC_ERR_IO;
    }
    int ok = 1;
    for (int i = 0; i < t->n && ok; i++) ok = fwrite(t->tokens[i], 1, t->lens[i], f) == t->lens[i] && fputc('\n', f) != EOF;
    ok = ok && plat_sync_file(f) == 0;
    int saved = errno;
    ok = (fclose(f) == 0) && ok;
    if (!ok || plat_replace(tmp, path) != 0) {
        if (ok) saved = errno;
        remove(tmp);
        free(tmp);
        return err_set(err, MLTC_ERR_IO, "%s: cannot write the vocabulary: %s", path, strerror(saved));
    }
    free(tmp);
    return MLTC_OK;
}

/* ---- normalization (BertNormalizer) ------------------------------------------------------ */

/* Rust's char::is_whitespace (the White_Space property) is exactly Z* plus U+0009..U+000D and
 * U+0085; tokenizers also counts \t \n \r as whitespace rather than control. */
static int is_ws(int32_t c) {
    if ((c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85) return 1;
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_ZS || k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP;
}

/* tokenizers' is_control: the "Other" categories Cc Cf Co Cs except \t \n \r. Its comment
 * says Cn too, but the unicode_categories crate it uses never reports Cn, so unassigned code
 * points are kept (checked over all code points against tokenizers 0.23). */
static int is_control(int32_t c) {
    if (c == '\t' || c == '\n' || c == '\r') return 0;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS: return 1;
    default: return 0;
    }
}

/* The blocks tokenizers treats as Chinese (its own definition, not a Unicode property). */
static int is_cjk(int32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* BertPreTokenizer's split points: ASCII punctuation or any Unicode P* category. */
static int is_punct(int32_t c) {
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return 1;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO: return 1;
    default: return 0;
    }
}

static mltc_status check_utf8(mltc_error *err, const char *text, size_t len) {
    for (size_t i = 0; i < len;) {
        if ((uint8_t)text[i] < 0x80) {
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k < 0)
            return err_set(err, MLTC_ERR_PARSE, "invalid UTF-8 at byte offset %zu (byte 0x%02x)", i, (uint8_t)text[i]);
        i += (size_t)k;
    }
    return MLTC_OK;
}

/* Appends the normalized code points of valid UTF-8 text[0..len) to out. The clean-text and
 * CJK steps act on single characters, so they run first into a UTF-8 scratch string; NFD
 * (decomposition plus canonical reordering) then runs on that string, as in tokenizers,
 * followed by dropping Mn marks and lowercasing. Returns 0 when out of memory. */
static int normalize_into(const char *text, size_t len, ivec *out) {
    char *buf = malloc(len * 3 + 16); /* a CJK ideograph (3 bytes) at most gains two spaces */
    if (!buf) return 0;
    size_t b = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0) k = 1, c = 0xFFFD; /* callers validated first; never taken */
        i += (size_t)k;
        if (c == 0 || c == 0xFFFD || is_control(c)) continue;
        if (is_ws(c)) c = ' ';
        if (is_cjk(c)) {
            buf[b++] = ' ';
            b += (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)buf + b);
            buf[b++] = ' ';
        } else {
            b += (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)buf + b);
        }
    }
    size_t start = out->n;
    size_t room = b + 16;
    for (;;) {
        if (!ivec_reserve(out, start + room)) {
            free(buf);
            return 0;
        }
        utf8proc_ssize_t got = utf8proc_decompose((const utf8proc_uint8_t *)buf, (utf8proc_ssize_t)b, out->v + start,
                                                  (utf8proc_ssize_t)room, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
        if (got < 0) { /* only on invalid input or overflow, both excluded above */
            free(buf);
            return 0;
        }
        if ((size_t)got <= room) {
            room = (size_t)got;
            break;
        }
        room = (size_t)got;
    }
    free(buf);
    size_t w = start;
    for (size_t r = start; r < start + room; r++) {
        int32_t c = out->v[r];
        if (utf8proc_category(c) == UTF8PROC_CATEGORY_MN) continue;
        /* Rust's char::to_lowercase differs from the simple mapping only for U+0130, which NFD
         * has already split into I + U+0307 (then dropped as Mn). */
        out->v[w++] = utf8proc_tolower(c);
    }
    out->n = w;
    return 1;
}

mltc_status tok_normalize(mltc_error *err, const char *text, size_t len, char **out, size_t *out_len) {
    mltc_status st = check_utf8(err, text, len);
    if (st != MLTC_OK) return st;
    ivec cps = {0};
    if (!normalize_into(text, len, &cps)) {
        free(cps.v);
        return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "tok_normalize: out of memory for %zu bytes of text", len);
    }
    char *s = malloc(cps.n * 4 + 1);
    if (!s) {
        free(cps.v);
        return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "tok_normalize: out of memory for %zu bytes of text", len);
    }
    size_t n = 0;
    for (size_t i = 0; i < cps.n; i++) n += (size_t)utf8proc_encode_char(cps.v[i], (utf8proc_uint8_t *)s + n);
    s[n] = '\0';
    free(cps.v);
    *out = s;
    if (out_len) *out_len = n;
    return MLTC_OK;
}

/* ---- pre-tokenization and WordPiece ------------------------------------------------------ */

/* Greedy longest-match-first over the characters cps[0..n). Pieces after the first carry the
 * "##" prefix. Returns 0 when out of memory. */
static int wordpiece(const tokenizer *t, const int32_t *cps, size_t n, ivec *ids) {
    if (n > TOK_MAX_WORD_CHARS) return ivec_push(ids, t->sp.unk);
    char bytes[TOK_MAX_WORD_CHARS * 4];
    char cont[2 + TOK_MAX_WORD_CHARS * 4]; /* "##" + the rest of the word, for continuations */
    size_t off[TOK_MAX_WORD_CHARS + 1];
    off[0] = 0;
    for (size_t i = 0; i < n; i++) off[i + 1] = off[i] + (size_t)utf8proc_encode_char(cps[i], (utf8proc_uint8_t *)bytes + off[i]);
    size_t first = ids->n;
    for (size_t s = 0; s < n;) {
        const char *base = bytes + off[s];
        size_t extra = 0;
        if (s > 0) {
            cont[0] = cont[1] = '#';
            memcpy(cont + 2, bytes + off[s], off[n] - off[s]);
            base = cont;
            extra = 2;
        }
        int32_t found = -1;
        size_t e = n;
        for (; e > s; e--) {
            int32_t id = vocab_find(t, base, off[e] - off[s] + extra);
            if (id >= 0 && id < t->n_base) {
                found = id;
                break;
            }
        }
        if (found < 0) { /* one uncovered piece makes the whole word unknown */
            ids->n = first;
            return ivec_push(ids, t->sp.unk);
        }
        if (!ivec_push(ids, found)) return 0;
        s = e;
    }
    return 1;
}

/* Splits normalized code points on whitespace (dropped) and punctuation (kept alone), running
 * WordPiece on each word. */
static int pretokenize(const tokenizer *t, const int32_t *cps, size_t n, ivec *ids) {
    size_t w = 0; /* start of the current word */
    for (size_t i = 0; i <= n; i++) {
        int end = i == n || is_ws(cps[i]) || is_punct(cps[i]);
        if (!end) continue;
        if (i > w && !wordpiece(t, cps + w, i - w, ids)) return 0;
        if (i < n && !is_ws(cps[i]) && !wordpiece(t, cps + i, 1, ids)) return 0;
        w = i + 1;
    }
    return 1;
}

/* Longest whole-unit token starting at text[i], or -1. */
static int32_t whole_at(const tokenizer *t, const char *text, size_t len, size_t i, size_t *mlen) {
    int32_t best = -1;
    size_t best_len = 0;
    for (int k = 0; k < t->n_whole; k++) {
        int32_t id = t->whole[k];
        size_t l = t->lens[id];
        if (l > best_len && l <= len - i && !memcmp(text + i, t->tokens[id], l)) {
            best = id;
            best_len = l;
        }
    }
    *mlen = best_len;
    return best;
}

static int encode_segment(const tokenizer *t, const char *text, size_t len, ivec *cps, ivec *ids) {
    if (len == 0) return 1;
    cps->n = 0;
    return normalize_into(text, len, cps) && pretokenize(t, cps->v, cps->n, ids);
}

mltc_status tok_encode(const tokenizer *t, mltc_error *err, const char *text, size_t len, int32_t **ids, int *n) {
    if (!t || (!text && len) || !ids || !n) return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "tok_encode: null argument");
    *ids = NULL;
    *n = 0;
    mltc_status st = check_utf8(err, text, len);
    if (st != MLTC_OK) return st;
    ivec out = {0}, cps = {0};
    int ok = 1;
    size_t seg = 0; /* start of the text not yet tokenized */
    for (size_t i = 0; i < len && ok;) {
        size_t mlen = 0;
        int32_t id = t->first_byte[(uint8_t)text[i]] ? whole_at(t, text, len, i, &mlen) : -1;
        if (id < 0) {
            i++;
            continue;
        }
        ok = encode_segment(t, text + seg, i - seg, &cps, &out) && ivec_push(&out, id);
        i += mlen;
        seg = i;
    }
    ok = ok && encode_segment(t, text + seg, len - seg, &cps, &out);
    free(cps.v);
    if (!ok || out.n > (size_t)INT32_MAX) {
        free(out.v);
        return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "tok_encode: out of memory for %zu bytes of text", len);
    }
    *ids = out.v;
    *n = (int)out.n;
    return MLTC_OK;
}

/* ---- model inputs -------------------------------------------------------------------------- */

mltc_status tok_build_from_ids(const tokenizer *t, mltc_error *err, const int32_t *a, int na, const int32_t *b, int nb,
                               int max_len, int32_t *ids, int32_t *token_types, int *n) {
    if (!t || !ids || !n || (na && !a) || (nb && !b) || na < 0 || nb < 0)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "tok_build_from_ids: null or negative argument");
    if (t->sp.cls < 0 || t->sp.sep < 0)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "tok_build_from_ids: the vocabulary lacks [CLS] or [SEP]");
    int pair = b != NULL;
    int specials = pair ? 3 : 2;
    if (max_len < specials)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "tok_build_from_ids: max_len %d leaves no room for the %d special tokens",
                       max_len, specials);
    int room = max_len - specials;
    int ka = na, kb = pair ? nb : 0;
    if (!pair) {
        if (ka > room) ka = room;
    } else if (ka + kb > room) {
        /* tokenizers' longest_first: the shorter keeps its length if it can, the longer takes
         * the rest; when even that is too long each keeps half, the longer the odd one. */
        int swap = ka > kb;
        int n1 = swap ? kb : ka, n2;
        if (n1 > room) {
            n2 = n1;
        } else {
            n2 = room - n1 > n1 ? room - n1 : n1;
        }
        if (n1 + n2 > room) {
            n1 = room / 2;
            n2 = n1 + room % 2;
        }
        ka = swap ? n2 : n1;
        kb = swap ? n1 : n2;
        if (ka > na) ka = na;
        if (kb > nb) kb = nb;
    }
    int k = 0;
    ids[k++] = t->sp.cls;
    if (ka) memcpy(ids + k, a, (size_t)ka * sizeof *ids);
    k += ka;
    ids[k++] = t->sp.sep;
    int first_len = k;
    if (pair) {
        if (kb) memcpy(ids + k, b, (size_t)kb * sizeof *ids);
        k += kb;
        ids[k++] = t->sp.sep;
    }
    if (token_types)
        for (int i = 0; i < k; i++) token_types[i] = i < first_len ? 0 : 1;
    *n = k;
    return MLTC_OK;
}

mltc_status tok_build_input(const tokenizer *t, mltc_error *err, const char *a, size_t alen, const char *b,
                            size_t blen, int max_len, int32_t *ids, int32_t *token_types, int *n) {
    int32_t *ia = NULL, *ib = NULL;
    int na = 0, nb = 0;
    mltc_status st = tok_encode(t, err, a, alen, &ia, &na);
    if (st != MLTC_OK) return err_prefix(err, "first sequence: ");
    if (b) {
        st = tok_encode(t, err, b, blen, &ib, &nb);
        if (st != MLTC_OK) {
            free(ia);
            return err_prefix(err, "second sequence: ");
        }
    }
    /* tok_encode gives NULL for an empty text; an empty second text still makes a pair. */
    static const int32_t none[1] = {0};
    st = tok_build_from_ids(t, err, ia, na, b ? (ib ? ib : none) : NULL, nb, max_len, ids, token_types, n);
    free(ia);
    free(ib);
    return st;
}
