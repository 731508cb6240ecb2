/* ctest: per-backend */
/* The training recipe's levers on a tiny random BERT and a slice of Reuters: label biases start
 * at the prior log odds (every head), the head takes its own learning rate, a dev set is carved
 * out of the training file when none is given, thresholds are tuned on it and saved with the
 * best checkpoint, then used by evaluation and decisions (an explicit threshold still wins),
 * at least one label per prediction when asked, and early stopping ends a run for good. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model/classifier_internal.h"
#include "testutil.h"

static const char *const LABELS[] = {"earn", "acq", "crude", "grain", "money-fx", "trade"};
#define K 6
#define N_TRAIN 64

static char tmp[256], model_dir[300], train_path[300], test_path[300], labels_path[300];
static const char *backend;

static float *head_tensor(classifier *c, const char *name, size_t *n) {
    int i = param_find(&c->head, name);
    if (!tu_check(i >= 0, "no head tensor %s", name)) exit(1);
    *n = param_numel(&c->head.specs[i]);
    float *host = malloc(sizeof *host * *n);
    tu_must(dev_download(c->dev, c->head.params, c->head.offsets[i] * 4, host, 4 * *n), c->dev->err, name);
    return host;
}

/* Prior biases for every head, then one step: the head moves by its own learning rate (Adam's
 * first step moves each parameter with a gradient by lr, up to weight decay), the encoder by lr. */
static void test_priors_and_head_lr(dev_ctx *dev, head_kind head, const char *bias_name) {
    const char *hn = head_kind_name(head);
    labels lbl = {0};
    for (int k = 0; k < 3; k++) tu_must(labels_add(dev->err, &lbl, LABELS[k]), dev->err, "labels");
    train_settings s;
    train_settings_default(&s);
    s.head = head;
    s.max_len = 40;
    s.dropout = 0;
    s.weight_decay = 0;
    classifier *c = NULL;
    tu_must(classifier_create(dev, model_dir, &lbl, &s, 2, &c), dev->err, "classifier_create");
    const long counts[3] = {5, 0, 50};
    tu_must(classifier_set_label_priors(c, counts, 100), dev->err, "priors");
    size_t n = 0;
    float *b = head_tensor(c, bias_name, &n);
    int ok = n == 3;
    for (int k = 0; ok && k < 3; k++) {
        double p = (counts[k] + 0.5) / 101.0;
        ok = b[k] == (float)log(p / (1 - p));
    }
    tu_check(ok, "%s: %s starts at the log prior odds (%g %g %g)", hn, bias_name, b[0], b[1], b[2]);
    long n_back = 0;
    const long *back = classifier_label_counts(c, &n_back);
    tu_check(back && back[2] == 50 && n_back == 100, "%s: the label counts are kept", hn);

    const char *texts[2] = {"grain exports rose sharply", "the company agreed to buy a rival"};
    static const uint8_t gold[2][3] = {{0, 0, 1}, {0, 1, 0}};
    clf_example ex[2];
    int32_t *ids[2];
    for (int i = 0; i < 2; i++) {
        tu_must(classifier_tokenize(c, texts[i], strlen(texts[i]), &ids[i], &ex[i].n), dev->err, "tokenize");
        ex[i].ids = ids[i], ex[i].gold = gold[i];
    }
    size_t ne = bert_num_params(c->bert), nh = c->head.n;
    float *e0 = tu_get(dev, bert_params(c->bert), ne), *h0 = tu_get(dev, c->head.params, nh);
    tu_must(classifier_train_batch(c, ex, 2, 1, NULL), dev->err, "train_batch");
    tu_must(classifier_optimizer_step(c, 1e-5, 1e-2, 1, NULL), dev->err, "optimizer_step");
    float *e1 = tu_get(dev, bert_params(c->bert), ne), *h1 = tu_get(dev, c->head.params, nh);
    double emax = 0;
    for (size_t i = 0; i < ne; i++) emax = fmax(emax, fabs((double)e1[i] - e0[i]));
    tu_check(emax > 0.9e-5 && emax < 1.01e-5, "%s: the encoder moved by at most %.3g, want its lr 1e-5", hn, emax);
    /* Every head tensor with a gradient (lmmtc's MLM head has none without masked states here). */
    for (int t = 0; t < c->head.count; t++) {
        double hmax = 0;
        size_t from = c->head.offsets[t], to = from + param_numel(&c->head.specs[t]);
        for (size_t i = from; i < to; i++) hmax = fmax(hmax, fabs((double)h1[i] - h0[i]));
        if (hmax == 0 && head == HEAD_LMMTC && !strncmp(c->head.specs[t].name, "mlm.", 4)) continue;
        tu_check(hmax > 0.9e-2 && hmax < 1.01e-2, "%s: %s moved by at most %.3g, want the head lr 1e-2", hn,
                 c->head.specs[t].name, hmax);
    }
    free(e0), free(e1), free(h0), free(h1), free(b);
    for (int i = 0; i < 2; i++) free(ids[i]);
    classifier_free(c);
    labels_free(&lbl);
}

static cJSON *read_json(const char *dir, const char *name) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = tu_read_file(path);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    free(text);
    return o;
}

/* 1 when every example of the jsonl file has a label. */
static int every_labelled(const char *path) {
    char *text = tu_read_file(path);
    int every = text != NULL;
    for (char *line = text; every && line && *line;) {
        char *end = strchr(line, '\n');
        if (end) *end = '\0';
        cJSON *o = cJSON_Parse(line);
        every = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "labels")) > 0;
        cJSON_Delete(o);
        line = end ? end + 1 : NULL;
    }
    free(text);
    return every;
}

static mltc_train_options base_options(const char *out) {
    mltc_train_options o;
    mltc_train_options_default(&o);
    o.model_dir = model_dir;
    o.train_path = train_path;
    o.labels_path = labels_path;
    o.out_dir = out;
    o.epochs = 2;
    o.batch = 8;
    o.max_len = 32;
    o.lr = 3e-3;
    o.seed = 5;
    return o;
}

/* The default recipe: dev split, tuned global threshold saved and used. */
static void test_tuned_threshold(mltc_ctx *ctx, mltc_device *dev, const char *tune) {
    char out[320], best[340];
    snprintf(out, sizeof out, "%s/out-%s", tmp, tune);
    snprintf(best, sizeof best, "%s/best", out);
    mltc_train_options o = base_options(out);
    o.tune_threshold = tune;
    mltc_train_result res;
    if (!tu_status(mltc_train(ctx, dev, &o, NULL, NULL, &res), MLTC_OK, NULL, mltc_last_error(ctx))) return;
    tu_check(res.best_micro_f1 >= 0, "%s: a dev set was carved out and scored (best micro-F1 %g)", tune,
             res.best_micro_f1);
    cJSON *meta = read_json(best, "mltc.json");
    const cJSON *thr = cJSON_GetObjectItemCaseSensitive(meta, "thresholds");
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(meta, "label_counts");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(meta, "train_examples");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(meta, "settings");
    /* 0.1 of 64 is 6 (more when a label's share rounds up): the rest train. */
    tu_check(cJSON_GetArraySize(thr) == K && cJSON_GetArraySize(counts) == K && cJSON_IsNumber(n) &&
                 n->valueint <= N_TRAIN - 6 && n->valueint >= N_TRAIN - 12,
             "%s: best/mltc.json holds %d thresholds, the label counts and the examples trained on (%d)", tune, K,
             cJSON_IsNumber(n) ? n->valueint : -1);
    const cJSON *ml = cJSON_GetObjectItemCaseSensitive(st, "min_labels");
    tu_check(cJSON_IsNumber(ml) && ml->valueint == every_labelled(train_path),
             "%s: min_labels auto resolved from the data to %d", tune, cJSON_IsNumber(ml) ? ml->valueint : -9);
    cJSON_Delete(meta);

    mltc_model *m = NULL;
    if (!tu_status(mltc_model_load(ctx, dev, best, &m), MLTC_OK, NULL, mltc_last_error(ctx))) return;
    float t = mltc_model_threshold(m);
    int on_grid = fabsf(t * 100 - roundf(t * 100)) < 1e-4f && t > 0 && t < 1;
    tu_check(on_grid, "%s: the tuned global threshold %g is a grid value", tune, (double)t);
    /* ... the one the log shows for the best epoch's evaluation. */
    char log_path[400];
    snprintf(log_path, sizeof log_path, "%s/train_log.jsonl", out);
    char *log = tu_read_file(log_path);
    double logged = -1;
    for (char *line = log; line && *line;) {
        char *end = strchr(line, '\n');
        if (end) *end = '\0';
        cJSON *e = cJSON_Parse(line);
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "best")))
            logged = cJSON_GetObjectItemCaseSensitive(e, "threshold")->valuedouble;
        cJSON_Delete(e);
        line = end ? end + 1 : NULL;
    }
    free(log);
    tu_check((float)logged == t, "%s: the best evaluation logged threshold %g, the checkpoint has %g", tune, logged,
             (double)t);
    printf("%s: tuned global threshold %.2f\n", tune, (double)t);
    /* Evaluation decides with the saved thresholds: recount by hand from the probabilities. */
    const char *texts[] = {"oil prices rose", "the bank cut rates", "wheat harvest", "shares of the company fell",
                           "trade deficit widened", "net profit rose to 3 mln dlrs"};
    size_t nt = sizeof texts / sizeof *texts;
    float probs[6 * K];
    uint8_t dec[6 * K];
    tu_must(mltc_predict(ctx, m, texts, nt, probs), NULL, "predict");
    tu_must(mltc_decide(ctx, m, probs, nt, dec), NULL, "decide");
    int same = 1, min_ok = 1;
    for (size_t i = 0; i < nt; i++) {
        int count = 0;
        for (int k = 0; k < K; k++) {
            int above = probs[i * K + k] > mltc_model_label_threshold(m, k);
            same &= !above || dec[i * K + k]; /* every label above its threshold is predicted */
            count += dec[i * K + k];
        }
        min_ok &= count >= mltc_model_min_labels(m);
    }
    tu_check(same && min_ok, "%s: mltc_decide predicts every label above its threshold, and at least the minimum",
             tune);
    mltc_metrics mm = {0};
    tu_must(mltc_evaluate(ctx, m, test_path, NULL, &mm), NULL, "evaluate");
    tu_check(mm.n_bands == 3 && mm.bands[0].n_labels + mm.bands[1].n_labels + mm.bands[2].n_labels == K,
             "%s: evaluation reports the labels by training frequency", tune);
    mltc_metrics_free(&mm);
    /* An explicit threshold wins over the tuned ones: at 0 every label is predicted. */
    tu_must(mltc_model_set_threshold(ctx, m, 0.0f), NULL, "set threshold");
    tu_must(mltc_decide(ctx, m, probs, nt, dec), NULL, "decide");
    int all = 1;
    for (size_t i = 0; i < nt * K; i++) all &= dec[i];
    tu_check(all && mltc_model_label_threshold(m, K - 1) == 0.0f, "%s: an explicit threshold replaces the tuned", tune);
    /* At least one label per text: the most probable where none passes the threshold. */
    tu_must(mltc_model_set_threshold(ctx, m, 1.0f), NULL, "set threshold");
    tu_must(mltc_model_set_min_labels(ctx, m, 1), NULL, "set min labels");
    tu_must(mltc_decide(ctx, m, probs, nt, dec), NULL, "decide");
    int one = 1;
    for (size_t i = 0; i < nt; i++) {
        int count = 0, top = 0;
        for (int k = 0; k < K; k++) {
            count += dec[i * K + k];
            if (probs[i * K + k] > probs[i * K + top]) top = k;
        }
        one &= count == 1 && dec[i * K + top];
    }
    tu_check(one, "%s: min-labels 1 at threshold 1 predicts exactly each text's most probable label", tune);
    tu_status(mltc_model_set_min_labels(ctx, m, -1), MLTC_ERR_INVALID_ARGUMENT, NULL, "negative min-labels");
    mltc_model_free(m);
}

/* min-labels auto is 1 when every training example has a label. */
static void test_min_labels_auto(mltc_ctx *ctx, mltc_device *dev) {
    char out[320], labelled[320], last[340];
    snprintf(out, sizeof out, "%s/out-auto", tmp);
    snprintf(labelled, sizeof labelled, "%s/labelled.jsonl", tmp);
    snprintf(last, sizeof last, "%s/last", out);
    char *text = tu_read_file(train_path), *keep = text ? calloc(strlen(text) + 1, 1) : NULL;
    for (char *line = text; keep && line && *line;) {
        char *end = strchr(line, '\n');
        if (end) *end = '\0';
        if (!strstr(line, "\"labels\":[]")) strcat(strcat(keep, line), "\n");
        line = end ? end + 1 : NULL;
    }
    free(text);
    if (!keep || tu_write_file(labelled, keep)) exit(1);
    free(keep);
    tu_check(every_labelled(labelled) && !every_labelled(train_path), "the two files differ as the test needs");
    mltc_train_options o = base_options(out);
    o.train_path = labelled;
    o.max_steps = 1;
    if (!tu_status(mltc_train(ctx, dev, &o, NULL, NULL, NULL), MLTC_OK, NULL, mltc_last_error(ctx))) return;
    cJSON *meta = read_json(last, "mltc.json");
    const cJSON *ml = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(meta, "settings"), "min_labels");
    tu_check(cJSON_IsNumber(ml) && ml->valueint == 1, "min_labels auto on data where every example has a label: %d",
             cJSON_IsNumber(ml) ? ml->valueint : -9);
    cJSON_Delete(meta);
}

/* Early stopping: at a learning rate too small to change a prediction, no epoch beats the first,
 * so patience 1 ends the run after the second, for good (a resume has nothing to do). */
static void test_patience(mltc_ctx *ctx, mltc_device *dev) {
    char out[320];
    snprintf(out, sizeof out, "%s/out-patience", tmp);
    mltc_train_options o = base_options(out);
    o.epochs = 6;
    o.lr = 1e-12;
    o.head_lr = 1e-12;
    o.dropout = 0;
    o.patience = 1;
    mltc_train_result res;
    if (!tu_status(mltc_train(ctx, dev, &o, NULL, NULL, &res), MLTC_OK, NULL, mltc_last_error(ctx))) return;
    tu_check(res.epochs_done == 2, "patience 1: stopped after %d epochs, want 2", res.epochs_done);
    o.resume = 1;
    if (!tu_status(mltc_train(ctx, dev, &o, NULL, NULL, &res), MLTC_OK, NULL, mltc_last_error(ctx))) return;
    tu_check(isnan(res.final_loss) && res.epochs_done == 2, "an early-stopped run resumed does nothing (%d epochs)",
             res.epochs_done);
}

/* Options a run cannot use are refused before any data is read. */
static void test_refusals(mltc_ctx *ctx, mltc_device *dev) {
    char out[320];
    snprintf(out, sizeof out, "%s/out-refused", tmp);
    mltc_train_options o = base_options(out);
    o.head = "lmmtc";
    o.pooling = "mean";
    tu_check(mltc_train(ctx, dev, &o, NULL, NULL, NULL) == MLTC_ERR_INVALID_ARGUMENT &&
                 strstr(mltc_last_error(ctx), "pooling mean is for the bert head"),
             "mean pooling with lmmtc refused: %s", mltc_last_error(ctx));
    o = base_options(out);
    o.tune_threshold = "best";
    tu_check(mltc_train(ctx, dev, &o, NULL, NULL, NULL) == MLTC_ERR_INVALID_ARGUMENT &&
                 strstr(mltc_last_error(ctx), "expected none, global or per-label"),
             "an unknown tuning refused: %s", mltc_last_error(ctx));
    o = base_options(out);
    o.dev_split = 0.7;
    tu_check(mltc_train(ctx, dev, &o, NULL, NULL, NULL) == MLTC_ERR_INVALID_ARGUMENT &&
                 strstr(mltc_last_error(ctx), "dev split 0.7 must be a fraction in [0, 0.5]"),
             "a dev split above 0.5 refused: %s", mltc_last_error(ctx));
}

int main(int argc, char **argv) {
    backend = argc > 1 ? argv[1] : "cpu";
    mltc_error err = {0};
    dev_ctx *dev = NULL;
    int rc = tu_open(backend, &err, &dev);
    if (rc) return rc;
    snprintf(tmp, sizeof tmp, "/tmp/mltc_test_recipe_%s_XXXXXX", backend);
    if (!tu_mkdtemp(tmp, sizeof tmp)) return 1;
    snprintf(model_dir, sizeof model_dir, "%s/bert", tmp);
    snprintf(train_path, sizeof train_path, "%s/train.jsonl", tmp);
    snprintf(test_path, sizeof test_path, "%s/test.jsonl", tmp);
    snprintf(labels_path, sizeof labels_path, "%s/labels.txt", tmp);
    if (tu_write_tiny_bert(model_dir, 3) ||
        tu_write_reuters_slice(train_path, labels_path, 0, N_TRAIN, LABELS, K) != N_TRAIN ||
        tu_write_reuters_slice(test_path, NULL, N_TRAIN, 24, LABELS, K) != 24)
        return 1;
    test_priors_and_head_lr(dev, HEAD_BERT, "classifier.bias");
    test_priors_and_head_lr(dev, HEAD_LMMTC, "lmmtc.state.bias");
    test_priors_and_head_lr(dev, HEAD_LAM, "lam.classifier.bias");
    dev_close(dev);

    mltc_ctx *ctx = NULL;
    mltc_device *pub = NULL;
    tu_must(mltc_ctx_create(&ctx), NULL, "ctx");
    rc = tu_open_public(ctx, backend, &pub);
    if (rc) return rc;
    test_refusals(ctx, pub);
    test_tuned_threshold(ctx, pub, "global");
    test_tuned_threshold(ctx, pub, "per-label");
    test_patience(ctx, pub);
    test_min_labels_auto(ctx, pub);
    mltc_device_close(pub);
    mltc_ctx_destroy(ctx);
    tu_remove_tree(tmp);
    return tu_finish();
}
