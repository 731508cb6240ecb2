/* The public calls that need no device (mltc.h): checking choices, scoring two label files,
 * the labels of a data file's header, the scores as JSON, and the tokenizer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mltc.h"
#include "testutil.h"

static char tmp[256];

/* tmp/name with text in it; the path in a static buffer, one of 4 used in turn. */
static const char *scratch(const char *name, const char *text) {
    static char paths[4][320];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", tmp, name);
    if (tu_write_file(p, text)) tu_check(0, "writing %s", p);
    return p;
}

/* A failed call: the status, and a message that contains want. */
static void expect_error(mltc_ctx *ctx, mltc_status got, mltc_status want, const char *want_text, const char *what) {
    tu_check(got == want && strstr(mltc_last_error(ctx), want_text), "%s: status %s (expected %s), message '%s' "
             "should contain '%s'", what, mltc_status_string(got), mltc_status_string(want), mltc_last_error(ctx),
             want_text);
}

static void test_checks(mltc_ctx *ctx) {
    tu_check(mltc_check_precision(ctx, "fp32") == MLTC_OK && mltc_check_precision(ctx, "bf16") == MLTC_OK,
             "precision fp32 and bf16: %s", mltc_last_error(ctx));
    expect_error(ctx, mltc_check_precision(ctx, "fp64"), MLTC_ERR_INVALID_ARGUMENT, "'fp64': expected fp32 or bf16",
                 "precision fp64");
    expect_error(ctx, mltc_check_precision(ctx, NULL), MLTC_ERR_INVALID_ARGUMENT, "precision", "precision NULL");
    static const char *const formats[] = {"auto", "jsonl", "tsv", "tsv-columns", NULL};
    for (int i = 0; i < 5; i++)
        tu_check(mltc_check_format(ctx, formats[i]) == MLTC_OK, "format %s: %s", formats[i] ? formats[i] : "NULL",
                 mltc_last_error(ctx));
    expect_error(ctx, mltc_check_format(ctx, "xml"), MLTC_ERR_INVALID_ARGUMENT,
                 "'xml' (auto, jsonl, tsv or tsv-columns)", "format xml");
    static const char *const heads[] = {"bert", "lmmtc", "lam", NULL};
    for (int i = 0; i < 4; i++)
        tu_check(mltc_check_head(ctx, heads[i]) == MLTC_OK, "head %s: %s", heads[i] ? heads[i] : "NULL",
                 mltc_last_error(ctx));
    expect_error(ctx, mltc_check_head(ctx, "gpt"), MLTC_ERR_INVALID_ARGUMENT, "'gpt': expected bert, lmmtc or lam",
                 "head gpt");
    tu_check(mltc_check_precision(NULL, "fp32") == MLTC_ERR_INVALID_ARGUMENT &&
                 mltc_check_format(NULL, "tsv") == MLTC_ERR_INVALID_ARGUMENT &&
                 mltc_check_head(NULL, "bert") == MLTC_ERR_INVALID_ARGUMENT,
             "the checks without a context");
    mltc_check_format(ctx, "xml");
    tu_check(mltc_check_format(ctx, "tsv") == MLTC_OK && !mltc_last_error(ctx)[0], "a check clears the last error");
    mltc_free(NULL);
}

/* gold {a,c} {b} {a,b}, pred {a} {b,d} {a,b}: TP 4, FP 1, FN 1; micro-F1 0.8, macro-F1 0.5
 * (a 1, b 1, c 0, d 0). */
static const char *const GOLD = "{\"text\": \"one\", \"labels\": [\"a\", \"c\"]}\n"
                                "{\"text\": \"two\", \"labels\": [\"b\"]}\n"
                                "{\"text\": \"three\", \"labels\": [\"a\", \"b\"]}\n";
static const char *const PRED = "one\ta\ntwo\tb,d\nthree\ta,b\n";
static const char *const GOLD_COLUMNS = "ID\ttext\ta\tb\tc\td\n1\tone\t1\t0\t1\t0\n2\ttwo\t0\t1\t0\t0\n"
                                        "3\tthree\t1\t1\t0\t0\n";

static int near(double a, double b) { return a - b < 1e-12 && b - a < 1e-12; }

static void check_case_a(const mltc_metrics *m, const char *what) {
    static const char *const names[] = {"a", "b", "c", "d"};
    int names_ok = m->label_names != NULL && m->n_labels == 4;
    for (int j = 0; names_ok && j < 4; j++) names_ok = !strcmp(m->label_names[j], names[j]);
    tu_check(names_ok, "%s: label names a, b, c, d", what);
    tu_check(m->n_examples == 3 && m->tp == 4 && m->fp == 1 && m->fn == 1 && near(m->micro_f1, 0.8) &&
                 near(m->macro_f1, 0.5) && m->n_bands == 0,
             "%s: %zu examples, TP %zu FP %zu FN %zu, micro-F1 %g, macro-F1 %g, %d bands", what, m->n_examples, m->tp,
             m->fp, m->fn, m->micro_f1, m->macro_f1, m->n_bands);
    tu_check(m->per_label && m->per_label[3].support == 0 && m->per_label[3].predicted == 1 &&
                 near(m->per_label[0].f1, 1.0),
             "%s: per-label scores", what);
}

static void test_score_files(mltc_ctx *ctx) {
    char labels[320], gold[320], pred[320], cols[320];
    snprintf(labels, sizeof labels, "%s", scratch("labels.txt", "a\nb\nc\nd\n"));
    snprintf(gold, sizeof gold, "%s", scratch("gold.jsonl", GOLD));
    snprintf(pred, sizeof pred, "%s", scratch("pred.tsv", PRED));
    snprintf(cols, sizeof cols, "%s", scratch("gold_columns.tsv", GOLD_COLUMNS));
    mltc_metrics m;
    mltc_status st = mltc_score_files(ctx, gold, pred, labels, NULL, &m);
    if (tu_check(st == MLTC_OK, "score_files: %s", mltc_last_error(ctx))) check_case_a(&m, "score_files");
    mltc_metrics_free(&m);
    tu_check(!m.per_label && !m.label_names, "metrics_free clears per_label and label_names");
    /* Without a labels file, the header of tsv-columns gold data names the labels. */
    st = mltc_score_files(ctx, cols, pred, NULL, "auto", &m);
    if (tu_check(st == MLTC_OK, "score_files, labels from the header: %s", mltc_last_error(ctx)))
        check_case_a(&m, "score_files, labels from the header");
    mltc_metrics_free(&m);

    expect_error(ctx, mltc_score_files(ctx, gold, pred, NULL, NULL, &m), MLTC_ERR_PARSE, "labels_path is NULL",
                 "score_files: jsonl gold without labels");
    tu_check(!m.per_label && !m.label_names, "a failed score_files leaves nothing to free");
    expect_error(ctx, mltc_score_files(ctx, gold, pred, NULL, "jsonl", &m), MLTC_ERR_INVALID_ARGUMENT,
                 "labels_path is NULL", "score_files: format jsonl without labels");
    expect_error(ctx, mltc_score_files(ctx, gold, pred, labels, "xml", &m), MLTC_ERR_INVALID_ARGUMENT, "'xml'",
                 "score_files: format xml");
    const char *short_pred = scratch("short.tsv", "one\ta\n");
    expect_error(ctx, mltc_score_files(ctx, gold, short_pred, labels, NULL, &m), MLTC_ERR_PARSE,
                 "has 3 examples but", "score_files: 3 gold, 1 predicted");
    const char *bad = scratch("bad.tsv", "one\ta\ntwo\tb,zz\nthree\ta\n");
    expect_error(ctx, mltc_score_files(ctx, gold, bad, labels, NULL, &m), MLTC_ERR_PARSE, "bad.tsv:2:",
                 "score_files: an unknown label");
    const char *empty = scratch("empty.jsonl", "");
    expect_error(ctx, mltc_score_files(ctx, empty, empty, labels, NULL, &m), MLTC_ERR_PARSE, "no examples to score",
                 "score_files: no examples");
    expect_error(ctx, mltc_score_files(ctx, NULL, pred, labels, NULL, &m), MLTC_ERR_INVALID_ARGUMENT, "gold_path",
                 "score_files: gold_path NULL");
    expect_error(ctx, mltc_score_files(ctx, gold, NULL, labels, NULL, &m), MLTC_ERR_INVALID_ARGUMENT, "pred_path",
                 "score_files: pred_path NULL");
    expect_error(ctx, mltc_score_files(ctx, gold, pred, labels, NULL, NULL), MLTC_ERR_INVALID_ARGUMENT, "out",
                 "score_files: out NULL");
    tu_check(mltc_score_files(NULL, gold, pred, labels, NULL, &m) == MLTC_ERR_INVALID_ARGUMENT,
             "score_files without a context");

    char **names = NULL;
    int n = 0;
    st = mltc_data_header_labels(ctx, cols, &names, &n);
    tu_check(st == MLTC_OK && n == 4 && !strcmp(names[0], "a") && !strcmp(names[3], "d"),
             "data_header_labels: %d names: %s", n, mltc_last_error(ctx));
    mltc_free(names);
    expect_error(ctx, mltc_data_header_labels(ctx, gold, &names, &n), MLTC_ERR_PARSE, "gold.jsonl:1:",
                 "data_header_labels of jsonl data");
    tu_check(names == NULL && n == 0, "a failed data_header_labels leaves no names");
    expect_error(ctx, mltc_data_header_labels(ctx, NULL, &names, &n), MLTC_ERR_INVALID_ARGUMENT, "path",
                 "data_header_labels: path NULL");
    expect_error(ctx, mltc_data_header_labels(ctx, cols, NULL, &n), MLTC_ERR_INVALID_ARGUMENT, "names",
                 "data_header_labels: names NULL");
}

static void test_metrics_json(mltc_ctx *ctx) {
    mltc_metrics m = {.micro_f1 = 0.8, .macro_f1 = 0.5, .n_examples = 3, .n_labels = 4};
    static const char *const keys[] = {"hamming_loss", "micro_precision", "micro_recall", "micro_f1", "macro_f1",
                                       "subset_accuracy", "micro_jaccard", "n_examples", "n_labels"};
    for (int pretty = 0; pretty <= 1; pretty++) {
        char *text = NULL;
        mltc_status st = mltc_metrics_json(ctx, &m, pretty, &text);
        cJSON *o = st == MLTC_OK ? cJSON_Parse(text) : NULL;
        int ok = o && cJSON_GetArraySize(o) == 9;
        for (int k = 0; ok && k < 9; k++) ok = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, keys[k]));
        ok = ok && cJSON_GetObjectItemCaseSensitive(o, "micro_f1")->valuedouble == 0.8 &&
             cJSON_GetObjectItemCaseSensitive(o, "n_labels")->valuedouble == 4;
        tu_check(ok && (strchr(text, '\n') != NULL) == pretty, "metrics_json (pretty %d): the 9 keys: %s", pretty,
                 text ? text : mltc_last_error(ctx));
        cJSON_Delete(o);
        mltc_free(text);
    }
    /* Bands: by_label_frequency, an unbounded band's max as null. */
    m.n_bands = 2;
    m.bands[0] = (struct mltc_frequency_band){0, 10, 3, 7, 0.25, 0.125};
    m.bands[1] = (struct mltc_frequency_band){11, -1, 1, 40, 0.5, 0.5};
    char *text = NULL;
    mltc_status st = mltc_metrics_json(ctx, &m, 0, &text);
    cJSON *o = st == MLTC_OK ? cJSON_Parse(text) : NULL;
    const cJSON *bands = cJSON_GetObjectItemCaseSensitive(o, "by_label_frequency");
    const cJSON *b1 = cJSON_GetArrayItem(bands, 1);
    tu_check(cJSON_GetArraySize(o) == 10 && cJSON_GetArraySize(bands) == 2 &&
                 cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(b1, "max_train_examples")) &&
                 cJSON_GetObjectItemCaseSensitive(b1, "support")->valuedouble == 40,
             "metrics_json with 2 bands: %s", text ? text : mltc_last_error(ctx));
    cJSON_Delete(o);
    mltc_free(text);
    m.n_bands = 4;
    expect_error(ctx, mltc_metrics_json(ctx, &m, 0, &text), MLTC_ERR_INVALID_ARGUMENT, "n_bands",
                 "metrics_json: 4 bands");
    tu_check(text == NULL, "a failed metrics_json hands out no text");
    expect_error(ctx, mltc_metrics_json(ctx, NULL, 0, &text), MLTC_ERR_INVALID_ARGUMENT, "m", "metrics_json: m NULL");
    expect_error(ctx, mltc_metrics_json(ctx, &m, 0, NULL), MLTC_ERR_INVALID_ARGUMENT, "json",
                 "metrics_json: json NULL");
}

/* Tokenizes text with max_len and compares with want[0..nwant). */
static void expect_ids(mltc_ctx *ctx, const mltc_tokenizer *tok, const char *text, int max_len, const int32_t *want,
                       int nwant, const char *what) {
    int32_t *ids = NULL;
    int n = -1;
    mltc_status st = mltc_tokenize(ctx, tok, text, strlen(text), max_len, &ids, &n);
    int same = st == MLTC_OK && n == nwant;
    for (int i = 0; same && i < n; i++) same = ids[i] == want[i];
    tu_check(same, "%s: '%s' (max_len %d): status %s, %d ids: %s", what, text, max_len, mltc_status_string(st), n,
             mltc_last_error(ctx));
    mltc_free(ids);
}

static void test_tokenizer(mltc_ctx *ctx) {
    /* The vocabulary gzip-compressed as in data/, and a plain copy of it. */
    char gz[600], plain[320];
    snprintf(gz, sizeof gz, "%s", tu_data_file("vocab/bert-base-uncased/vocab.txt"));
    snprintf(plain, sizeof plain, "%s/vocab.txt", tmp);
    size_t len = 0;
    char *vocab = tu_read_text(gz, &len);
    if (!tu_check(vocab && tu_write_file(plain, vocab) == 0, "a plain copy of %s", gz)) {
        free(vocab);
        return;
    }
    free(vocab);
    const char *paths[2] = {gz, plain};
    for (int i = 0; i < 2; i++) {
        mltc_tokenizer *tok = NULL;
        mltc_status st = mltc_tokenizer_load(ctx, paths[i], &tok);
        if (!tu_check(st == MLTC_OK, "tokenizer_load %s: %s", paths[i], mltc_last_error(ctx))) continue;
        tu_check(mltc_tokenizer_vocab_size(tok) == 30522, "%s: vocabulary of %d tokens", paths[i],
                 mltc_tokenizer_vocab_size(tok));
        const char *cls = mltc_tokenizer_token(tok, 101), *hello = mltc_tokenizer_token(tok, 7592);
        tu_check(cls && !strcmp(cls, "[CLS]") && hello && !strcmp(hello, "hello") &&
                     mltc_tokenizer_token(tok, -1) == NULL && mltc_tokenizer_token(tok, 30522) == NULL,
                 "%s: token texts by id", paths[i]);
        static const int32_t hello_world[] = {101, 7592, 2088, 102}, fox[] = {101, 1996, 4248, 102};
        static const int32_t none[] = {101, 102};
        expect_ids(ctx, tok, "Hello  world", 0, hello_world, 4, paths[i]);
        expect_ids(ctx, tok, "The quick brown fox, jumps!", 4, fox, 4, paths[i]);
        expect_ids(ctx, tok, "The quick brown fox", 2, none, 2, paths[i]);
        expect_ids(ctx, tok, "", 0, none, 2, paths[i]);
        int32_t *ids = NULL;
        int n = 0;
        expect_error(ctx, mltc_tokenize(ctx, tok, "bad \xff byte", 10, 0, &ids, &n), MLTC_ERR_PARSE, "offset 4",
                     "tokenize invalid UTF-8");
        tu_check(ids == NULL && n == 0, "a failed tokenize hands out no ids");
        expect_error(ctx, mltc_tokenize(ctx, tok, "x", 1, 1, &ids, &n), MLTC_ERR_INVALID_ARGUMENT, "max_len 1",
                     "tokenize max_len 1");
        expect_error(ctx, mltc_tokenize(ctx, tok, "x", 1, -5, &ids, &n), MLTC_ERR_INVALID_ARGUMENT, "max_len -5",
                     "tokenize max_len -5");
        expect_error(ctx, mltc_tokenize(ctx, NULL, "x", 1, 0, &ids, &n), MLTC_ERR_INVALID_ARGUMENT, "tok",
                     "tokenize tok NULL");
        expect_error(ctx, mltc_tokenize(ctx, tok, NULL, 1, 0, &ids, &n), MLTC_ERR_INVALID_ARGUMENT, "text",
                     "tokenize text NULL");
        expect_error(ctx, mltc_tokenize(ctx, tok, "x", 1, 0, NULL, &n), MLTC_ERR_INVALID_ARGUMENT, "ids",
                     "tokenize ids NULL");
        mltc_tokenizer_free(tok);
    }
    mltc_tokenizer *tok = NULL;
    expect_error(ctx, mltc_tokenizer_load(ctx, "/nonexistent/vocab.txt", &tok), MLTC_ERR_IO, "/nonexistent/vocab.txt",
                 "tokenizer_load of a missing file");
    tu_check(tok == NULL, "a failed tokenizer_load hands out no tokenizer");
    expect_error(ctx, mltc_tokenizer_load(ctx, NULL, &tok), MLTC_ERR_INVALID_ARGUMENT, "vocab_path",
                 "tokenizer_load: vocab_path NULL");
    tu_check(mltc_tokenizer_vocab_size(NULL) == 0 && mltc_tokenizer_token(NULL, 0) == NULL, "a NULL tokenizer");
    mltc_tokenizer_free(NULL);
}

int main(void) {
    mltc_ctx *ctx = NULL;
    if (mltc_ctx_create(&ctx) != MLTC_OK) return 1;
    snprintf(tmp, sizeof tmp, "/tmp/mltc_test_api_data_XXXXXX");
    if (!tu_mkdtemp(tmp, sizeof tmp)) return 1;
    test_checks(ctx);
    test_score_files(ctx);
    test_metrics_json(ctx);
    test_tokenizer(ctx);
    mltc_ctx_destroy(ctx);
    tu_remove_tree(tmp);
    return tu_finish();
}
