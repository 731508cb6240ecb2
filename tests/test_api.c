/* ctest: per-backend */
/* The public API (mltc.h) end to end on a tiny random BERT: train two steps with mltc_train,
 * load the checkpoint, predict, evaluate, benchmark, and the error cases a caller meets. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "mltc.h"
#include "testutil.h"

static const char *const LABELS[] = {"earn", "acq", "crude", "grain", "money-fx", "trade"};
#define K 6

static char tmp[256], model_dir[300], train_path[300], labels_path[300], eval_path[300], out_dir[300];

typedef struct counter {
    int steps, evals, stop_at;
    long last_step;
    int bad;
} counter;

static int count_progress(const mltc_train_progress *p, void *user) {
    counter *c = user;
    if (p->is_eval) {
        c->evals++;
        return 0;
    }
    c->steps++;
    if (p->step != c->last_step + 1 || !isfinite(p->loss) || p->loss <= 0 || p->total_steps < p->step) c->bad++;
    c->last_step = p->step;
    return c->stop_at && p->step >= c->stop_at;
}

static void test_null_arguments(mltc_ctx *ctx) {
    mltc_device *dev = NULL;
    mltc_model *model = NULL;
    mltc_metrics m;
    mltc_train_options o;
    mltc_train_options_default(&o);
    float p[K];
    const char *text = "x";
    tu_check(mltc_device_open(NULL, "cpu", &dev) == MLTC_ERR_INVALID_ARGUMENT, "device_open(NULL ctx)");
    tu_check(mltc_model_load(NULL, dev, "x", &model) == MLTC_ERR_INVALID_ARGUMENT, "model_load(NULL ctx)");
    tu_check(mltc_predict(NULL, model, &text, 1, p) == MLTC_ERR_INVALID_ARGUMENT, "predict(NULL ctx)");
    tu_check(mltc_evaluate(NULL, model, "x", NULL, &m) == MLTC_ERR_INVALID_ARGUMENT, "evaluate(NULL ctx)");
    tu_check(mltc_train(NULL, dev, &o, NULL, NULL, NULL) == MLTC_ERR_INVALID_ARGUMENT, "train(NULL ctx)");

    tu_check(mltc_device_open(ctx, "cpu", NULL) == MLTC_ERR_INVALID_ARGUMENT && strstr(mltc_last_error(ctx), "out"),
             "device_open(out NULL): %s", mltc_last_error(ctx));
    tu_check(mltc_model_load(ctx, NULL, "x", &model) == MLTC_ERR_INVALID_ARGUMENT &&
                 strstr(mltc_last_error(ctx), "dev"),
             "model_load(dev NULL): %s", mltc_last_error(ctx));
    tu_check(mltc_predict(ctx, NULL, &text, 1, p) == MLTC_ERR_INVALID_ARGUMENT && strstr(mltc_last_error(ctx), "model"),
             "predict(model NULL): %s", mltc_last_error(ctx));
    tu_check(mltc_evaluate(ctx, NULL, "x", NULL, &m) == MLTC_ERR_INVALID_ARGUMENT &&
                 strstr(mltc_last_error(ctx), "model"),
             "evaluate(model NULL): %s", mltc_last_error(ctx));
    tu_check(mltc_train(ctx, NULL, &o, NULL, NULL, NULL) == MLTC_ERR_INVALID_ARGUMENT &&
                 strstr(mltc_last_error(ctx), "dev"),
             "train(dev NULL): %s", mltc_last_error(ctx));
    tu_check(mltc_device_open(ctx, "nosuch", &dev) == MLTC_ERR_UNSUPPORTED && dev == NULL &&
                 strstr(mltc_last_error(ctx), "nosuch"),
             "device_open(nosuch): %s", mltc_last_error(ctx));
    /* Freeing NULL handles is a no-op, as free(NULL). */
    mltc_model_free(NULL);
    mltc_device_close(NULL);
    mltc_metrics_free(NULL);
}

/* Precision: fp32 always; bf16 where the device has it, else refused with the reason; a name
 * that is neither refused, naming it. */
static void test_precision(mltc_ctx *ctx, mltc_device *dev) {
    tu_check(mltc_device_set_precision(ctx, dev, "fp64") == MLTC_ERR_INVALID_ARGUMENT &&
                 strstr(mltc_last_error(ctx), "fp64"),
             "precision fp64: %s", mltc_last_error(ctx));
    tu_check(mltc_device_set_precision(ctx, NULL, "fp32") == MLTC_ERR_INVALID_ARGUMENT, "precision of no device");
    tu_check(mltc_device_set_precision(ctx, dev, "fp32") == MLTC_OK, "precision fp32: %s", mltc_last_error(ctx));
    mltc_status st = mltc_device_set_precision(ctx, dev, "bf16");
    printf("bf16 on %s: %s\n", mltc_device_id(dev), st == MLTC_OK ? "available" : mltc_last_error(ctx));
    tu_check(st == MLTC_OK || (st == MLTC_ERR_UNSUPPORTED && strstr(mltc_last_error(ctx), "bf16")),
             "precision bf16: status %d, '%s'", st, mltc_last_error(ctx));
    tu_check(mltc_device_set_precision(ctx, dev, "fp32") == MLTC_OK, "back to fp32");
}

static void test_train_errors(mltc_ctx *ctx, mltc_device *dev) {
    mltc_train_options o;
    mltc_train_options_default(&o);
    o.model_dir = model_dir;
    o.train_path = train_path;
    o.labels_path = labels_path;
    o.out_dir = out_dir;
    tu_check(mltc_train(ctx, dev, NULL, NULL, NULL, NULL) == MLTC_ERR_INVALID_ARGUMENT &&
                 strstr(mltc_last_error(ctx), "opts"),
             "train(opts NULL): %s", mltc_last_error(ctx));
    o.head = "nope";
    tu_check(mltc_train(ctx, dev, &o, NULL, NULL, NULL) == MLTC_ERR_INVALID_ARGUMENT &&
                 strstr(mltc_last_error(ctx), "nope"),
             "train(head nope): %s", mltc_last_error(ctx));
    o.head = "bert";
    o.batch = 0;
    tu_check(mltc_train(ctx, dev, &o, NULL, NULL, NULL) == MLTC_ERR_INVALID_ARGUMENT &&
                 strstr(mltc_last_error(ctx), "batch"),
             "train(batch 0): %s", mltc_last_error(ctx));
    o.batch = 4;
    o.save_every = -1;
    tu_check(mltc_train(ctx, dev, &o, NULL, NULL, NULL) == MLTC_ERR_INVALID_ARGUMENT &&
                 strstr(mltc_last_error(ctx), "save_every"),
             "train(save_every -1): %s", mltc_last_error(ctx));
    o.save_every = 0;
    /* Only tsv-columns data can name the labels itself. */
    o.labels_path = NULL;
    o.format = "jsonl";
    tu_check(mltc_train(ctx, dev, &o, NULL, NULL, NULL) == MLTC_ERR_INVALID_ARGUMENT &&
                 strstr(mltc_last_error(ctx), "labels_path"),
             "train(jsonl, labels_path NULL): %s", mltc_last_error(ctx));
    o.labels_path = labels_path;
    o.format = NULL;
    o.train_path = NULL;
    tu_check(mltc_train(ctx, dev, &o, NULL, NULL, NULL) == MLTC_ERR_INVALID_ARGUMENT &&
                 strstr(mltc_last_error(ctx), "train_path"),
             "train(train_path NULL): %s", mltc_last_error(ctx));
}

static mltc_status train_tiny(mltc_ctx *ctx, mltc_device *dev, const char *out, long max_steps, counter *c,
                              mltc_train_result *res) {
    mltc_train_options o;
    mltc_train_options_default(&o);
    o.model_dir = model_dir;
    o.train_path = train_path;
    o.dev_path = eval_path;
    o.labels_path = labels_path;
    o.out_dir = out;
    o.epochs = 1;
    o.batch = 8; /* 16 examples: one epoch of 2 steps, so OUT/best is written */
    o.max_len = 32;
    o.lr = 1e-3;
    o.max_steps = max_steps;
    o.log_every = 1;
    return mltc_train(ctx, dev, &o, count_progress, c, res);
}

static void test_train(mltc_ctx *ctx, mltc_device *dev) {
    counter c = {0};
    mltc_train_result res;
    /* A whole epoch (2 steps): evaluation on the dev file at its end writes OUT/best. */
    mltc_status st = train_tiny(ctx, dev, out_dir, 0, &c, &res);
    if (!tu_check(st == MLTC_OK, "mltc_train: %s (%s)", mltc_last_error(ctx), mltc_status_string(st))) return;
    tu_check(res.steps == 2 && c.steps == 2 && c.bad == 0 && c.evals == 1,
             "train: %ld steps reported, %d step callbacks (%d bad), %d evaluations", res.steps, c.steps, c.bad,
             c.evals);
    tu_check(res.best_micro_f1 >= 0 && res.best_micro_f1 <= 1, "train: best micro-F1 %g", res.best_micro_f1);
    tu_check(isfinite(res.final_loss) && res.final_loss > 0, "train: final loss %g", res.final_loss);

    /* A callback that returns non-zero stops training after that step. */
    char stop_dir[320];
    snprintf(stop_dir, sizeof stop_dir, "%s/stopped", tmp);
    counter s = {.stop_at = 1};
    st = train_tiny(ctx, dev, stop_dir, 3, &s, &res);
    tu_check(st == MLTC_OK && s.steps == 1 && res.steps == 1, "train stopped by callback: %s, %d callbacks, %ld steps",
             mltc_status_string(st), s.steps, res.steps);
}

static void test_load_errors(mltc_ctx *ctx, mltc_device *dev) {
    mltc_model *model = NULL;
    char missing[320];
    snprintf(missing, sizeof missing, "%s/no-such-checkpoint", tmp);
    tu_check(mltc_model_load(ctx, dev, missing, &model) == MLTC_ERR_IO && model == NULL &&
                 strstr(mltc_last_error(ctx), missing),
             "load missing checkpoint: %s", mltc_last_error(ctx));
    tu_check(mltc_model_load(ctx, dev, train_path, &model) == MLTC_ERR_IO && strstr(mltc_last_error(ctx), train_path),
             "load a file as checkpoint: %s", mltc_last_error(ctx));
    /* A folder that is a BERT but not a trained checkpoint lacks mltc.json. */
    mltc_status st = mltc_model_load(ctx, dev, model_dir, &model);
    tu_check(st != MLTC_OK && model == NULL && mltc_last_error(ctx)[0], "load a bare BERT folder: %s (%s)",
             mltc_last_error(ctx), mltc_status_string(st));
}

static int probs_ok(const float *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!(p[i] > 0 && p[i] < 1)) return 0;
    return 1;
}

static void test_predict(mltc_ctx *ctx, mltc_model *model) {
    tu_check(mltc_model_num_labels(model) == K, "num_labels %d", mltc_model_num_labels(model));
    int names_ok = 1;
    for (int j = 0; j < K; j++) names_ok &= mltc_model_label_name(model, j) && !strcmp(mltc_model_label_name(model, j), LABELS[j]);
    tu_check(names_ok && !mltc_model_label_name(model, K) && !mltc_model_label_name(model, -1), "label names");
    tu_check(mltc_model_threshold(model) == 0.5f, "threshold %g", mltc_model_threshold(model));
    tu_check(!strcmp(mltc_model_head(model), "bert"), "head %s", mltc_model_head(model));

    const char *a = "Oil prices rose sharply after OPEC agreed to cut crude output.";
    const char *b = "Company reports first quarter earnings, net profit up 12 pct, revenues 1.2 billion dlrs.";
    const char *c = "Wheat and corn exports";
    const char *batch1[] = {a, b, c}, *batch2[] = {c, a, b}, *alone[] = {a};
    float p1[3 * K], p2[3 * K], p3[K];
    mltc_status st = mltc_predict(ctx, model, batch1, 3, p1);
    if (!tu_check(st == MLTC_OK, "predict: %s", mltc_last_error(ctx))) return;
    tu_check(probs_ok(p1, 3 * K), "probabilities in (0, 1)");
    tu_must(mltc_predict(ctx, model, batch2, 3, p2), NULL, mltc_last_error(ctx));
    tu_must(mltc_predict(ctx, model, alone, 1, p3), NULL, mltc_last_error(ctx));
    /* Padding to another batch's length changes GEMM shapes, hence summation order: close, not
     * necessarily bit-equal. */
    double da = 0, db = 0, dc = 0, d1 = 0;
    for (int j = 0; j < K; j++) {
        da = fmax(da, fabs(p1[j] - p2[K + j]));
        db = fmax(db, fabs(p1[K + j] - p2[2 * K + j]));
        dc = fmax(dc, fabs(p1[2 * K + j] - p2[j]));
        d1 = fmax(d1, fabs(p1[j] - p3[j]));
    }
    tu_check(da < 1e-5 && db < 1e-5 && dc < 1e-5 && d1 < 1e-5,
             "same text, other batch position: max differences %g %g %g, alone %g", da, db, dc, d1);
    double spread = 0;
    for (int j = 0; j < K; j++) spread = fmax(spread, fabs(p1[j] - p1[K + j]));
    tu_check(spread > 0, "different texts give different probabilities");

    tu_check(mltc_predict(ctx, model, NULL, 0, NULL) == MLTC_OK, "predict 0 texts");
    const char *with_null[] = {a, NULL};
    tu_check(mltc_predict(ctx, model, with_null, 2, p1) == MLTC_ERR_INVALID_ARGUMENT &&
                 strstr(mltc_last_error(ctx), "texts[1]"),
             "predict with a NULL text: %s", mltc_last_error(ctx));
    tu_check(mltc_predict(ctx, model, batch1, 3, NULL) == MLTC_ERR_INVALID_ARGUMENT, "predict probs NULL");
}

/* Reads the eval file back as the dataset reader does (title + "\n" + text), to score
 * mltc_predict's output by hand. Returns the number of examples. */
static int read_eval(char ***texts, uint8_t **gold) {
    *texts = NULL;
    *gold = NULL;
    FILE *f = fopen(eval_path, "rb");
    if (!f) return 0;
    int n = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) >= 0) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *title = cJSON_GetObjectItemCaseSensitive(o, "title");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(o, "text");
        const char *ti = cJSON_IsString(title) ? title->valuestring : "";
        const char *te = cJSON_IsString(text) ? text->valuestring : "";
        *texts = realloc(*texts, sizeof **texts * (size_t)(n + 1));
        *gold = realloc(*gold, (size_t)K * (size_t)(n + 1));
        char *joined = malloc(strlen(ti) + strlen(te) + 2);
        sprintf(joined, "%s%s%s", ti, *ti ? "\n" : "", te);
        (*texts)[n] = joined;
        memset(*gold + n * K, 0, K);
        const cJSON *l;
        cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(o, "labels")) {
            for (int j = 0; j < K; j++)
                if (cJSON_IsString(l) && !strcmp(l->valuestring, LABELS[j])) (*gold)[n * K + j] = 1;
        }
        cJSON_Delete(o);
        n++;
    }
    free(line);
    fclose(f);
    return n;
}

/* Hamming loss, subset accuracy and micro-F1 of thresholded probabilities, by hand. */
static void score_by_hand(const float *p, const uint8_t *gold, int n, float t, double *hamming, double *subset,
                          double *micro_f1) {
    long tp = 0, fp = 0, fn = 0, exact = 0;
    for (int i = 0; i < n; i++) {
        int row_ok = 1;
        for (int j = 0; j < K; j++) {
            int pred = p[i * K + j] > t, g = gold[i * K + j];
            tp += pred && g;
            fp += pred && !g;
            fn += !pred && g;
            row_ok &= pred == g;
        }
        exact += row_ok;
    }
    *hamming = (double)(fp + fn) / ((double)n * K);
    *subset = (double)exact / n;
    *micro_f1 = tp ? 2.0 * tp / (2.0 * tp + fp + fn) : 0.0;
}

static void test_evaluate(mltc_ctx *ctx, mltc_model *model) {
    mltc_metrics m;
    mltc_status st = mltc_evaluate(ctx, model, eval_path, NULL, &m);
    if (!tu_check(st == MLTC_OK, "evaluate: %s", mltc_last_error(ctx))) return;
    tu_check(m.n_examples == 16 && m.n_labels == K, "evaluate: %zu examples, %d labels", m.n_examples, m.n_labels);
    double v[] = {m.hamming_loss, m.micro_precision, m.micro_recall, m.micro_f1, m.macro_f1, m.subset_accuracy,
                  m.micro_jaccard};
    int in_range = 1;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) in_range &= v[i] >= 0 && v[i] <= 1;
    tu_check(in_range, "evaluate: every score in [0, 1]");
    int support_ok = m.per_label != NULL;
    size_t support = 0;
    for (int j = 0; support_ok && j < K; j++) support += m.per_label[j].support;
    char **texts = NULL;
    uint8_t *gold = NULL;
    int n = read_eval(&texts, &gold);
    size_t want_support = 0;
    for (int i = 0; i < n * K; i++) want_support += gold[i];
    tu_check(support_ok && support == want_support, "evaluate: total support %zu, file has %zu gold labels", support,
             want_support);
    size_t predicted = 0;
    for (int j = 0; support_ok && j < K; j++) predicted += m.per_label[j].predicted;
    tu_check(m.tp + m.fn == support && m.tp + m.fp == predicted, "evaluate: TP %zu, FP %zu, FN %zu for %zu gold and "
             "%zu predicted labels", m.tp, m.fp, m.fn, support, predicted);
    int names_ok = m.label_names != NULL;
    for (int j = 0; names_ok && j < K; j++) names_ok = !strcmp(m.label_names[j], mltc_model_label_name(model, j));
    tu_check(names_ok, "evaluate: label_names are the model's labels");
    /* The checkpoint records its labels' training counts, so the JSON has the bands. */
    char *json = NULL;
    cJSON *jo = mltc_metrics_json(ctx, &m, 1, &json) == MLTC_OK ? cJSON_Parse(json) : NULL;
    tu_check(m.n_bands == 3 && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(jo, "by_label_frequency")) == 3 &&
                 cJSON_GetObjectItemCaseSensitive(jo, "n_examples")->valuedouble == 16,
             "evaluate's metrics_json: %d bands: %s", m.n_bands, json ? json : mltc_last_error(ctx));
    cJSON_Delete(jo);
    mltc_free(json);
    /* The same texts in one mltc_predict call are batched as evaluation batches them, so the
     * scores must agree exactly. */
    float *p = malloc(sizeof *p * (size_t)(n * K));
    if (n == 16 && mltc_predict(ctx, model, (const char *const *)texts, (size_t)n, p) == MLTC_OK) {
        double h, sa, f1;
        score_by_hand(p, gold, n, mltc_model_threshold(model), &h, &sa, &f1);
        tu_check(h == m.hamming_loss && sa == m.subset_accuracy && fabs(f1 - m.micro_f1) < 1e-12,
                 "evaluate vs predict by hand: hamming %g/%g, subset %g/%g, micro-F1 %g/%g", m.hamming_loss, h,
                 m.subset_accuracy, sa, m.micro_f1, f1);
    } else {
        tu_check(0, "reading %s back (%d examples) or predicting it: %s", eval_path, n, mltc_last_error(ctx));
    }
    free(p);
    for (int i = 0; i < n; i++) free(texts[i]);
    free(texts);
    free(gold);
    mltc_metrics_free(&m);
    tu_check(m.per_label == NULL && m.label_names == NULL, "metrics_free clears per_label and label_names");
    mltc_metrics_free(&m);

    char bad[320];
    snprintf(bad, sizeof bad, "%s/bad.jsonl", tmp);
    FILE *f = fopen(bad, "wb");
    fprintf(f, "{\"text\": \"fine\", \"labels\": [\"earn\"]}\n{\"text\": \"broken\", \"labels\": [\n");
    fclose(f);
    char where[340];
    snprintf(where, sizeof where, "%s:2", bad);
    st = mltc_evaluate(ctx, model, bad, NULL, &m);
    tu_check(st == MLTC_ERR_PARSE && strstr(mltc_last_error(ctx), where), "evaluate a malformed file: %s (%s)",
             mltc_last_error(ctx), mltc_status_string(st));
    st = mltc_evaluate(ctx, model, eval_path, "yaml", &m);
    tu_check(st == MLTC_ERR_INVALID_ARGUMENT && strstr(mltc_last_error(ctx), "yaml"), "evaluate format yaml: %s",
             mltc_last_error(ctx));

    /* Another threshold: at 0 every label is predicted (recall 1), at 1 none (precision and
     * recall 0); outside [0, 1] refused, the threshold kept. */
    float trained = mltc_model_threshold(model);
    static const float ends[2] = {0.0f, 1.0f};
    for (int i = 0; i < 2; i++) {
        st = mltc_model_set_threshold(ctx, model, ends[i]);
        if (st == MLTC_OK) st = mltc_evaluate(ctx, model, eval_path, NULL, &m);
        tu_check(st == MLTC_OK && mltc_model_threshold(model) == ends[i] &&
                     m.micro_recall == (i == 0 ? 1.0 : 0.0) && (i == 0 || m.micro_precision == 0),
                 "threshold %g: status %d, micro recall %g, precision %g: %s", ends[i], st, m.micro_recall,
                 m.micro_precision, mltc_last_error(ctx));
        mltc_metrics_free(&m);
    }
    static const float bad_t[3] = {-0.1f, 1.5f, NAN};
    for (int i = 0; i < 3; i++) {
        st = mltc_model_set_threshold(ctx, model, bad_t[i]);
        tu_check(st == MLTC_ERR_INVALID_ARGUMENT && strstr(mltc_last_error(ctx), "[0, 1]") &&
                     mltc_model_threshold(model) == 1.0f,
                 "threshold %g: status %d, '%s', threshold now %g", bad_t[i], st, mltc_last_error(ctx),
                 mltc_model_threshold(model));
    }
    tu_check(mltc_model_set_threshold(ctx, model, trained) == MLTC_OK, "threshold back to %g", trained);
}

/* The benchmark on the tiny BERT's shape, one step of each kind: its JSON has the figures, the
 * shape and the profiled ops; a shape it cannot run is refused naming the option. */
static void test_bench(mltc_ctx *ctx, const char *backend) {
    mltc_bench_options o;
    mltc_bench_options_default(&o);
    tu_check(o.seq == 128 && o.batch == 8 && o.steps == 5 && o.labels == 90 && !strcmp(o.config, "minilm"),
             "bench defaults");
    char config[320];
    snprintf(config, sizeof config, "%s/config.json", model_dir);
    o.device = backend;
    o.config = config;
    o.seq = 16;
    o.batch = 4;
    o.steps = 1;
    o.warmup = 0;
    o.profile_steps = 1;
    o.labels = 5;
    char *json = NULL;
    mltc_status st = mltc_bench(ctx, &o, &json);
    cJSON *r = st == MLTC_OK ? cJSON_Parse(json) : NULL;
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(r, "device");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(r, "shape");
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(r, "ops");
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(r, "train_seq_per_s");
    tu_check(cJSON_IsString(dev) && !strncmp(dev->valuestring, backend, strlen(backend)) && cJSON_IsNumber(rate) &&
                 rate->valuedouble > 0 && cJSON_GetObjectItemCaseSensitive(shape, "hidden")->valuedouble == 32 &&
                 cJSON_GetObjectItemCaseSensitive(r, "labels")->valuedouble == 5 &&
                 cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(ops, "matmul")),
             "bench: %s", json ? json : mltc_last_error(ctx));
    cJSON_Delete(r);
    mltc_free(json);
    o.seq = 2;
    tu_check(mltc_bench(ctx, &o, &json) == MLTC_ERR_INVALID_ARGUMENT && json == NULL &&
                 strstr(mltc_last_error(ctx), "--seq 2"),
             "bench seq 2: %s", mltc_last_error(ctx));
    tu_check(mltc_bench(ctx, NULL, &json) == MLTC_ERR_INVALID_ARGUMENT && strstr(mltc_last_error(ctx), "opts"),
             "bench opts NULL: %s", mltc_last_error(ctx));
    tu_check(mltc_bench(ctx, &o, NULL) == MLTC_ERR_INVALID_ARGUMENT && strstr(mltc_last_error(ctx), "json"),
             "bench json NULL: %s", mltc_last_error(ctx));
}

/* ---- the command line on the same files (cpu only: it exercises option handling, not ops) -- */

static char cli_bin[600];

/* Runs the mltc binary with args (a shell fragment), stdout and stderr to files under tmp.
 * Returns the exit code, or -1 when it did not exit normally. */
static int cli_run(const char *args, char *out_path, char *err_path, size_t size) {
    snprintf(out_path, size, "%s/cli.out", tmp);
    snprintf(err_path, size, "%s/cli.err", tmp);
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "'%s' %s > '%s' 2> '%s'", cli_bin, args, out_path, err_path);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Checks the exit code and that stderr (or stdout) contains want. */
static void cli_expect(const char *args, int want_rc, const char *want_text) {
    char o[400], e[400];
    int rc = cli_run(args, o, e, sizeof o);
    char *err = tu_read_file(e), *out = tu_read_file(o);
    int has = !want_text || (err && strstr(err, want_text)) || (out && strstr(out, want_text));
    tu_check(rc == want_rc && has, "mltc %s: exit %d (expected %d), output should contain '%s': %s%s", args, rc,
             want_rc, want_text ? want_text : "", err ? err : "", out ? out : "");
    free(err);
    free(out);
}

/* A row of mltc predict: "labels" an array, "probs" an object of `top` (0: all K) numbers in
 * (0, 1), most probable first with top. */
static int probs_row_ok(const cJSON *row, int top) {
    const cJSON *labs = cJSON_GetObjectItemCaseSensitive(row, "labels");
    const cJSON *probs = cJSON_GetObjectItemCaseSensitive(row, "probs");
    int ok = cJSON_IsArray(labs) && cJSON_IsObject(probs) && cJSON_GetArraySize(probs) == (top ? top : K);
    double prev = 2;
    const cJSON *p;
    cJSON_ArrayForEach(p, probs) {
        ok &= cJSON_IsNumber(p) && p->valuedouble > 0 && p->valuedouble < 1;
        if (top) ok &= p->valuedouble <= prev; /* most probable first */
        prev = p->valuedouble;
    }
    return ok;
}

/* A row whose "labels" list has exactly n entries. */
static int labels_row_ok(const cJSON *row, int n) {
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(row, "labels")) == n;
}

/* Runs mltc predict with args; *lines counts the output lines up to the first that row_ok(row,
 * arg) rejects (all of them when every one passes). Returns the exit code. */
static int predict_rows(const char *args, int (*row_ok)(const cJSON *row, int arg), int arg, int *lines) {
    char o[400], e[400];
    int rc = cli_run(args, o, e, sizeof o);
    char *text = tu_read_file(o);
    int ok = text != NULL;
    *lines = 0;
    for (char *line = text ? strtok(text, "\n") : NULL; ok && line; line = strtok(NULL, "\n")) {
        cJSON *row = cJSON_Parse(line);
        ok = row_ok(row, arg);
        *lines += ok;
        cJSON_Delete(row);
    }
    free(text);
    return rc;
}

static void test_cli(const char *argv0) {
    const char *slash = strrchr(argv0, '/');
    snprintf(cli_bin, sizeof cli_bin, "%.*s/../mltc", slash ? (int)(slash - argv0) : 1, slash ? argv0 : ".");
    if (access(cli_bin, X_OK) != 0) {
        printf("note: no mltc binary at %s; the command-line checks are not run\n", cli_bin);
        return;
    }
    char args[2000], o[400], e[400], ckpt[400], texts[400];
    /* Bad command lines: exit 2 and the option named. */
    cli_expect("train --epochs abc", 2, "--epochs");
    cli_expect("train --model m --train t --out o --head bert --batch 0", 2, "--batch");
    cli_expect("train --model m --train t --out o --head bert --lr x", 2, "--lr");
    cli_expect("train --model m --train t --out o --head nope", 2, "--head");
    cli_expect("train --train t --out o --head bert", 2, "--model");
    cli_expect("train --model m --train t --out o --head bert --warmup 2", 2, "--warmup");
    cli_expect("eval --checkpoint c --data d --format yaml", 2, "--format");
    cli_expect("predict --checkpoint c --top-k -1", 2, "--top-k");
    cli_expect("predict --checkpoint c --frobnicate", 2, "--frobnicate");
    cli_expect("train --model m --train t --out o --head bert --dropout 2", 2, "--dropout");
    cli_expect("train --model m --train t --out o --head bert --max-grad-norm -1", 2, "--max-grad-norm");
    cli_expect("train --help", 0, "--label-tokens");
    cli_expect("train --model m --train t --out o --head bert --precision fp64", 2, "--precision");
    cli_expect("bench --precision half", 2, "--precision");

    /* A value the parser takes but the trainer refuses: exit 1, said before anything is written. */
    char out[340];
    snprintf(out, sizeof out, "%s/cli-refused", tmp);
    snprintf(args, sizeof args, "train --model '%s' --train '%s' --labels '%s' --head bert --out '%s' --dropout 1",
             model_dir, train_path, labels_path, out);
    cli_expect(args, 1, "dropout 1 must be in [0, 1)");
    tu_check(access(out, F_OK) != 0, "a refused mltc train created %s", out);

    /* Train the lam head for one epoch, then evaluate and predict with it. The optimiser and
     * regularisation flags must reach the run (its saved settings). */
    snprintf(out, sizeof out, "%s/cli-out", tmp);
    snprintf(args, sizeof args,
             "train --model '%s' --train '%s' --dev '%s' --labels '%s' --head lam --out '%s' --epochs 1 --batch 8 "
             "--max-len 32 --lr 1e-3 --device cpu --dropout 0.25 --weight-decay 0.03 --max-grad-norm 0.5 "
             "--mask-prob 0.4",
             model_dir, train_path, eval_path, labels_path, out);
    cli_expect(args, 0, "best dev micro-F1");
    snprintf(ckpt, sizeof ckpt, "%s/last/mltc.json", out);
    char *saved = tu_read_file(ckpt);
    cJSON *meta = saved ? cJSON_Parse(saved) : NULL;
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(meta, "settings");
    static const struct {
        const char *key;
        double want;
    } flags[] = {{"dropout", 0.25}, {"weight_decay", 0.03}, {"max_grad_norm", 0.5}, {"mask_prob", 0.4}};
    for (int i = 0; i < 4; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(set, flags[i].key);
        tu_check(cJSON_IsNumber(v) && v->valuedouble == flags[i].want, "mltc train: settings.%s in %s is not %g",
                 flags[i].key, ckpt, flags[i].want);
    }
    cJSON_Delete(meta);
    free(saved);
    snprintf(ckpt, sizeof ckpt, "%s/best", out);

    snprintf(args, sizeof args, "eval --checkpoint '%s' --data '%s' --json", ckpt, eval_path);
    int rc = cli_run(args, o, e, sizeof o);
    char *text = tu_read_file(o);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    static const char *const keys[] = {"hamming_loss", "micro_precision", "micro_recall", "micro_f1", "macro_f1",
                                       "subset_accuracy", "micro_jaccard", "n_examples", "n_labels"};
    /* The 9 scores, and the labels by training frequency (a trained checkpoint records it). */
    int keys_ok = j && cJSON_GetArraySize(j) == 10 &&
                  cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "by_label_frequency")) == 3;
    for (int k = 0; keys_ok && k < 9; k++) keys_ok = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, keys[k]));
    tu_check(rc == 0 && keys_ok && cJSON_GetObjectItemCaseSensitive(j, "n_examples")->valuedouble == 16,
             "mltc eval --json: exit %d, the 9 keys, by_label_frequency and 16 examples: %s", rc, text ? text : "");
    cJSON_Delete(j);
    free(text);
    snprintf(args, sizeof args, "eval --checkpoint '%s' --data '%s'", ckpt, eval_path);
    cli_expect(args, 0, "micro Jaccard");
    snprintf(args, sizeof args, "eval --checkpoint '%s' --data '%s' --threshold 0.03125", ckpt, eval_path);
    cli_expect(args, 0, "threshold 0.03125");
    cli_expect("eval --checkpoint c --data d --threshold 2", 2, "--threshold");

    snprintf(texts, sizeof texts, "%s/texts.txt", tmp);
    FILE *f = fopen(texts, "wb");
    fprintf(f, "Oil prices rose after OPEC cut output\n\nNet profit up 12 pct\r\n");
    fclose(f);
    for (int top = 0; top <= 2; top += 2) {
        snprintf(args, sizeof args, "predict --checkpoint '%s' --input '%s'%s", ckpt, texts, top ? " --top-k 2" : "");
        int lines = 0;
        rc = predict_rows(args, probs_row_ok, top, &lines);
        tu_check(rc == 0 && lines == 3, "mltc predict%s: exit %d, %d good JSON lines for 3 input lines",
                 top ? " --top-k 2" : "", rc, lines);
    }
    /* --threshold decides the "labels" list: all of them at 0, none at 1. */
    for (int t = 0; t <= 1; t++) {
        snprintf(args, sizeof args, "predict --checkpoint '%s' --input '%s' --threshold %d", ckpt, texts, t);
        int lines = 0;
        rc = predict_rows(args, labels_row_ok, t == 0 ? K : 0, &lines);
        tu_check(rc == 0 && lines == 3, "mltc predict --threshold %d: exit %d, %d lines with %s labels", t, rc, lines,
                 t == 0 ? "all" : "no");
    }
    snprintf(args, sizeof args, "predict --checkpoint '%s/none' --input '%s'", tmp, texts);
    cli_expect(args, 1, "/none");

    /* tokenize: [CLS] ... [SEP] a line, cut to --max-len. */
    snprintf(args, sizeof args, "tokenize --vocab '%s/vocab.txt' --input '%s' --max-len 4", model_dir, texts);
    rc = cli_run(args, o, e, sizeof o);
    text = tu_read_file(o);
    tu_check(rc == 0 && text && !strcmp(text, "101 3514 7597 102\n101 102\n101 5658 5618 102\n"),
             "mltc tokenize --max-len 4: exit %d: %s", rc, text ? text : "");
    free(text);
    cli_expect("tokenize --vocab /nonexistent/vocab.txt", 1, "/nonexistent/vocab.txt");
    /* bench: the table, with the profiled ops. */
    snprintf(args, sizeof args,
             "bench --device cpu --config '%s/config.json' --seq 16 --batch 2 --steps 1 --warmup 0 --labels 3",
             model_dir);
    cli_expect(args, 0, "op (profiled inference)");
}

/* What mltc.h promises an application with threads: contexts are independent, so threads that
 * each open their own context, device and model predict at the same time and get what one thread
 * alone gets. (Three at once, four rounds each, against the main thread's model.) */
#define N_WORKERS 3
static const char *const WORKER_TEXTS[] = {"Oil prices rose sharply after OPEC agreed to cut crude output.",
                                           "Net profit up 12 pct, revenues 1.2 billion dlrs.", "Wheat and corn exports"};

typedef struct worker {
    const char *backend, *checkpoint;
    const float *want; /* 3 x K, from the main thread */
    double max_diff;   /* -1 when the worker failed */
    char error[400];
} worker;

static void *predict_worker(void *arg) {
    worker *w = arg;
    mltc_ctx *ctx = NULL;
    mltc_device *dev = NULL;
    mltc_model *model = NULL;
    w->max_diff = -1;
    if (mltc_ctx_create(&ctx) != MLTC_OK) {
        snprintf(w->error, sizeof w->error, "mltc_ctx_create failed");
        return NULL;
    }
    if (mltc_device_open(ctx, w->backend, &dev) == MLTC_OK && mltc_model_load(ctx, dev, w->checkpoint, &model) == MLTC_OK) {
        float p[3 * K];
        double diff = 0;
        int round = 0;
        for (; round < 4 && mltc_predict(ctx, model, WORKER_TEXTS, 3, p) == MLTC_OK; round++)
            for (int j = 0; j < 3 * K; j++) diff = fmax(diff, fabs(p[j] - w->want[j]));
        if (round == 4) w->max_diff = diff;
    }
    if (w->max_diff < 0) snprintf(w->error, sizeof w->error, "%s", mltc_last_error(ctx));
    mltc_model_free(model);
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);
    return NULL;
}

static void test_threads(mltc_ctx *ctx, mltc_model *model, const char *backend, const char *checkpoint) {
    float want[3 * K];
    if (!tu_check(mltc_predict(ctx, model, WORKER_TEXTS, 3, want) == MLTC_OK, "threads: reference: %s",
                  mltc_last_error(ctx)))
        return;
    worker w[N_WORKERS];
    pthread_t t[N_WORKERS];
    int started[N_WORKERS] = {0};
    for (int i = 0; i < N_WORKERS; i++) {
        w[i] = (worker){.backend = backend, .checkpoint = checkpoint, .want = want};
        started[i] = pthread_create(&t[i], NULL, predict_worker, &w[i]) == 0;
    }
    for (int i = 0; i < N_WORKERS; i++) {
        if (started[i]) pthread_join(t[i], NULL);
        /* Each thread's GEMMs may split over another number of OpenMP threads: close, not equal. */
        tu_check(started[i] && w[i].max_diff >= 0 && w[i].max_diff < 1e-5,
                 "threads: worker %d of %d: max difference %g from one thread's probabilities%s%s", i + 1, N_WORKERS,
                 w[i].max_diff, w[i].error[0] ? "; error: " : "", w[i].error);
    }
}

int main(int argc, char **argv) {
    const char *backend = argc > 1 ? argv[1] : "cpu";
    mltc_ctx *ctx = NULL;
    if (mltc_ctx_create(&ctx) != MLTC_OK) return 1;
    mltc_device *dev = NULL;
    int opened = tu_open_public(ctx, backend, &dev);
    if (opened) {
        mltc_ctx_destroy(ctx);
        return opened;
    }
    tu_check(!strncmp(mltc_device_id(dev), backend, strlen(backend)), "device id %s", mltc_device_id(dev));

    /* With a second argument the files go there and stay, so the example program can be run
     * on the checkpoint (DIR/out/best) afterwards. */
    const char *keep = argc > 2 ? argv[2] : NULL;
    if (keep) {
        snprintf(tmp, sizeof tmp, "%s", keep);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", tmp, tmp);
        if (system(cmd) != 0) return 1;
    } else {
        snprintf(tmp, sizeof tmp, "/tmp/mltc_test_api_%s_XXXXXX", backend);
        if (!tu_mkdtemp(tmp, sizeof tmp)) return 1;
    }
    snprintf(model_dir, sizeof model_dir, "%s/bert", tmp);
    snprintf(train_path, sizeof train_path, "%s/train.jsonl", tmp);
    snprintf(eval_path, sizeof eval_path, "%s/eval.jsonl", tmp);
    snprintf(labels_path, sizeof labels_path, "%s/labels.txt", tmp);
    snprintf(out_dir, sizeof out_dir, "%s/out", tmp);
    if (tu_write_tiny_bert(model_dir, 1) || tu_write_reuters_slice(train_path, labels_path, 0, 16, LABELS, K) != 16 ||
        tu_write_reuters_slice(eval_path, NULL, 100, 16, LABELS, K) != 16)
        return 1;

    test_null_arguments(ctx);
    test_precision(ctx, dev);
    test_train_errors(ctx, dev);
    test_train(ctx, dev);
    test_load_errors(ctx, dev);
    char best[320];
    snprintf(best, sizeof best, "%s/best", out_dir);
    mltc_model *model = NULL;
    mltc_status st = mltc_model_load(ctx, dev, best, &model);
    if (tu_check(st == MLTC_OK, "load %s: %s", best, mltc_last_error(ctx))) {
        test_predict(ctx, model);
        test_evaluate(ctx, model);
        test_threads(ctx, model, backend, best);
    }
    test_bench(ctx, backend);
    if (!strcmp(backend, "cpu")) test_cli(argv[0]);
    mltc_model_free(model);
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);
    if (!keep) tu_remove_tree(tmp);
    return tu_finish();
}
