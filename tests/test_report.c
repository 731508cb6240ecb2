/* ctest: per-backend */
/* The report of a short training run of every head on a tiny random BERT: every figure it lists
 * is a PNG that decodes (libpng) to the size the drawing code states and is not blank, the CSV
 * and JSON numbers are there, and index.html embeds every figure. The explanations: an explained
 * prediction gives the plain prediction's probabilities, lam's weights sum to 1 over the tokens,
 * every head's attention row of bert and lmmtc sums to 1; and a hand-built case where one word's
 * state is exactly a label's vector gets the largest weight (the label-attention op the lam
 * explanation reads) and is that label's best-matching token. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "model/classifier_explain.h"
#include "model/classifier_internal.h"
#include "pngcheck.h"
#include "report/report.h"
#include "report/report_draw.h"
#include "report/report_explain.h"
#include "run/train.h"
#include "testutil.h"

static const char *const LABELS[] = {"earn", "acq", "crude", "grain", "money-fx", "trade"};
#define K 6
#define N_TRAIN 24
#define N_DEV 16

static tu_run_inputs in;

static int train_head(dev_ctx *dev, head_kind head, const char *out) {
    train_request q = {0};
    q.model_dir = in.model_dir;
    q.train_path = in.train_path;
    q.dev_path = in.dev_path;
    q.labels_path = in.labels_path;
    q.out_dir = out;
    train_settings_default(&q.settings);
    q.settings.head = head;
    q.settings.epochs = head == HEAD_BERT ? 2 : 1; /* the bert run's report shows two evaluations */
    q.settings.batch = 8;
    q.settings.max_len = 24;
    q.settings.seed = 5;
    q.log_every = 1;
    train_summary sum;
    return tu_status(train_run(dev, &q, &sum), MLTC_OK, dev->err, "training for the report");
}

/* The PNG's expected size: charts are fixed, example pictures REPORT text width by any height. */
static void check_png(const char *dir, const char *file) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int w = 0, h = 0;
    double ink = 0;
    if (png_inspect(path, &w, &h, &ink)) {
        tu_check(0, "%s decodes", file);
        return;
    }
    if (!strncmp(file, "example_", 8))
        tu_check(w == 1000 && h >= 80 && h < 4000, "%s: %d x %d, expected 1000 wide", file, w, h);
    else if (!strcmp(file, "cooccurrence.png"))
        tu_check(w == 1500 && h == 800, "%s: %d x %d, expected 1500 x 800", file, w, h);
    else
        tu_check(w == REPORT_CHART_W && h == REPORT_CHART_H, "%s: %d x %d, expected %d x %d", file, w, h,
                 REPORT_CHART_W, REPORT_CHART_H);
    /* Axes, text and lines cover a few percent of a chart; a blank or one-colour picture 0. */
    tu_check(ink > 0.01, "%s: %.2f%% of its pixels differ from the background", file, 100 * ink);
}

static void check_report(dev_ctx *dev, const char *out, const char *name) {
    char dir[400];
    snprintf(dir, sizeof dir, "%s/report", out);
    report_request q = {.run_dir = out, .data_path = in.dev_path, .examples = 2};
    char *summary = NULL;
    if (!tu_status(report_build(dev, &q, &summary), MLTC_OK, dev->err, name)) return;
    cJSON *o = cJSON_Parse(summary);
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(o, "files"), *missing =
        cJSON_GetObjectItemCaseSensitive(o, "missing"), *f;
    int pngs = 0, csv = 0;
    cJSON_ArrayForEach(f, files) {
        const char *s = f->valuestring;
        size_t n = strlen(s);
        if (n > 4 && !strcmp(s + n - 4, ".png")) check_png(dir, s), pngs++;
        if (n > 4 && !strcmp(s + n - 4, ".csv")) csv++;
    }
    int drawing = report_draw_missing() == NULL;
    /* curves, label_f1, threshold, cooccurrence and 2 examples */
    tu_check(!drawing || (pngs == 6 && cJSON_GetArraySize(missing) == 0), "%s: 6 figures drawn (got %d; missing %d)",
             name, pngs, cJSON_GetArraySize(missing));
    tu_check(!drawing || cJSON_GetArraySize(missing) == 0, "%s: nothing missing", name);
    tu_check(drawing || cJSON_GetArraySize(missing) == 6, "%s without drawing: 6 figures said missing", name);
    tu_check(csv == 6, "%s: 6 CSV files (got %d)", name, csv);
    char path[500];
    snprintf(path, sizeof path, "%s/index.html", dir);
    char *html = tu_read_file(path);
    int imgs = 0;
    for (const char *p = html; p && (p = strstr(p, "<img ")); p++) imgs++;
    tu_check(html && imgs == pngs, "%s: index.html holds %d images for %d PNGs", name, imgs, pngs);
    tu_check(html && (!pngs || strstr(html, "src=\"data:image/png;base64,iVBORw0KGgo")), "%s: images embedded", name);
    free(html);
    snprintf(path, sizeof path, "%s/threshold.csv", dir);
    char *th = tu_read_file(path);
    int lines = 0;
    for (const char *p = th; p && *p; p++) lines += *p == '\n';
    tu_check(lines == 100, "%s: threshold.csv has a header and 99 thresholds (%d lines)", name, lines);
    free(th);
    cJSON_Delete(o);
    free(summary);
}

static double row_sum(const float *w, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += w[i];
    return s;
}

/* The JSON of `mltc predict --explain`: one weight per token summing to 1 (lmmtc: one row per
 * predicted label), the predicted labels those of the decision rule. */
static void check_json(classifier *c, const clf_explanation *x, const char *name) {
    uint8_t dec[K];
    classifier_decide(c, x->probs, 1, dec);
    cJSON *o = report_explain_json(c, x, dec);
    const cJSON *tokens = cJSON_GetObjectItemCaseSensitive(o, "tokens");
    const cJSON *predicted_json = cJSON_GetObjectItemCaseSensitive(o, "labels");
    int predicted = 0, rows = 0, good = 0;
    for (int k = 0; k < K; k++) predicted += dec[k];
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "weights"), *lw = cJSON_GetObjectItemCaseSensitive(o, "label_weights");
    const cJSON *row, *v;
    if (w) {
        rows = 1;
        double sum = 0;
        cJSON_ArrayForEach(v, w) sum += v->valuedouble;
        good += cJSON_GetArraySize(w) == x->n && fabs(sum - 1) < 1e-4;
    }
    cJSON_ArrayForEach(row, lw) {
        rows++;
        double sum = 0;
        cJSON_ArrayForEach(v, row) sum += v->valuedouble;
        good += cJSON_GetArraySize(row) == x->n && fabs(sum - 1) < 1e-4;
    }
    int want_rows = strcmp(name, "lmmtc") ? 1 : predicted;
    tu_check(o && cJSON_GetArraySize(tokens) == x->n && cJSON_GetArraySize(predicted_json) == predicted && rows == want_rows &&
                 good == rows && (!strcmp(name, "lam") == (cJSON_GetObjectItemCaseSensitive(o, "best_token") != NULL)),
             "%s: explanation JSON: %d tokens, %d weight rows (%d expected) of which %d sum to 1", name,
             cJSON_GetArraySize(tokens), rows, want_rows, good);
    cJSON_Delete(o);
}

static void check_explain(dev_ctx *dev, const char *out, head_kind head) {
    const char *name = head_kind_name(head);
    char ckpt[400];
    snprintf(ckpt, sizeof ckpt, "%s/best", out);
    classifier *c = NULL;
    if (!tu_status(classifier_load(dev, ckpt, 4, 0, &c), MLTC_OK, dev->err, "loading for explain")) return;
    const char *text = "Crude oil prices rose after the OPEC meeting, while grain exports fell sharply";
    int32_t *ids = NULL;
    int n = 0;
    float probs[K];
    clf_explanation x;
    tu_must(classifier_tokenize(c, text, strlen(text), &ids, &n), dev->err, "tokenize");
    clf_example ex = {ids, n, NULL};
    tu_must(classifier_predict(c, &ex, 1, probs), dev->err, "predict");
    if (tu_status(classifier_explain(c, ids, n, &x), MLTC_OK, dev->err, name)) {
        double worst = 0;
        for (int k = 0; k < K; k++) worst = fmax(worst, fabs(x.probs[k] - probs[k]));
        tu_check(worst < 1e-5, "%s: explained probabilities equal predicted ones (max diff %g)", name, worst);
        int text_tokens = 0;
        for (int t = 0; t < x.n; t++) text_tokens += x.is_text[t];
        /* [CLS] text [SEP], or LM-MTC's [CLS] prompt [SEP] text [SEP], cut to max_len. */
        int other = head == HEAD_LMMTC ? 3 * K + 3 : 2, max_len = classifier_settings(c)->max_len;
        int want = n + other < max_len ? n + other : max_len;
        tu_check(x.n == want && text_tokens == want - other, "%s: %d tokens (expected %d), %d of the text", name,
                 x.n, want, text_tokens);
        double bad = 0;
        for (int r = 0; r < x.rows; r++) bad = fmax(bad, fabs(row_sum(x.weights + (size_t)r * x.n, x.n) - 1));
        for (int r = 0; x.head_weights && r < x.rows * x.heads; r++)
            bad = fmax(bad, fabs(row_sum(x.head_weights + (size_t)r * x.n, x.n) - 1));
        tu_check(bad < 1e-4, "%s: every weight row sums to 1 (worst off by %g)", name, bad);
        tu_check(x.rows == (head == HEAD_LMMTC ? K : 1) && (head == HEAD_LAM) == (x.head_weights == NULL) &&
                     (head == HEAD_LAM) == (x.best_token != NULL),
                 "%s: %d rows", name, x.rows);
        for (int k = 0; x.best_token && k < K; k++)
            tu_check(x.best_token[k] >= 0 && x.best_token[k] < x.n, "lam: best token of label %d in range", k);
        check_json(c, &x, name);
        clf_explanation_free(&x);
    }
    free(ids);
    classifier_free(c);
}

/* One word whose state is a label's vector exactly (cosine 1) gets the largest weight, and is
 * the label's best-matching token. */
static void check_hand_built(dev_ctx *dev) {
    enum { T = 7, L = 3, C = 16, MATCH = 4, LABEL = 1 };
    float h[T * C], l[L * C], mask[T], w[T];
    tu_seed(11);
    tu_fill_uniform(h, T * C, -1, 1);
    tu_fill_uniform(l, L * C, -1, 1);
    for (int c = 0; c < C; c++) h[MATCH * C + c] = 2.5f * l[LABEL * C + c];
    for (int t = 0; t < T; t++) mask[t] = t < T - 1; /* the last is padding */
    dev_buf *bh = tu_buf(dev, h, T * C), *bl = tu_buf(dev, l, L * C), *bm = tu_buf(dev, mask, T);
    dev_buf *bo = tu_zeros(dev, C), *bw = tu_zeros(dev, T), *ba = tu_zeros(dev, T);
    dev_label_attention a = {1, T, L, C, tu_v(bh), tu_v(bl), tu_v(bm), tu_v(bo), tu_v(bw), tu_v(ba)};
    tu_must(dev_label_attention_forward(dev, &a), dev->err, "label attention");
    tu_must(dev_download(dev, bw, 0, w, sizeof w), dev->err, "download");
    int top = 0;
    for (int t = 1; t < T; t++)
        if (w[t] > w[top]) top = t;
    tu_check(top == MATCH, "hand-built: the matching word %d has the largest weight (got word %d)", MATCH, top);
    tu_check(fabs(row_sum(w, T) - 1) < 1e-5 && w[T - 1] == 0, "hand-built: weights sum to 1, padding 0");
    int best[L];
    lam_best_tokens(h, l, T - 1, L, C, best);
    tu_check(best[LABEL] == MATCH, "hand-built: label %d's best token is %d (got %d)", LABEL, MATCH, best[LABEL]);
    dev_buf *bufs[] = {bh, bl, bm, bo, bw, ba};
    for (int i = 0; i < 6; i++) dev_free(dev, bufs[i]);
}

int main(int argc, char **argv) {
    const char *backend = argc > 1 ? argv[1] : "cpu";
    mltc_error err = {0};
    dev_ctx *dev = NULL;
    int rc = tu_open(backend, &err, &dev);
    if (rc) return rc;
    snprintf(in.tmp, sizeof in.tmp, "/tmp/mltc_test_report_%s_XXXXXX", backend);
    if (tu_make_run_inputs(&in, N_TRAIN, N_DEV, LABELS, K)) return 1;
    if (report_draw_missing()) printf("NOTE: %s; the pictures are not checked\n", report_draw_missing());
    check_hand_built(dev);
    const head_kind heads[] = {HEAD_BERT, HEAD_LMMTC, HEAD_LAM};
    for (int i = 0; i < 3; i++) {
        char out[320];
        snprintf(out, sizeof out, "%s/out-%s", in.tmp, head_kind_name(heads[i]));
        if (!train_head(dev, heads[i], out)) continue;
        check_explain(dev, out, heads[i]);
        /* One report per backend is enough for the pictures: the bert head's. */
        if (heads[i] == HEAD_BERT) check_report(dev, out, backend);
    }
    dev_close(dev);
    tu_remove_tree(in.tmp);
    return tu_finish();
}
