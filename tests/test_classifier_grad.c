/* The three classifiers' backward passes against central finite differences of their loss on
 * the CPU: head parameters, encoder weights, word-embedding rows reached only through the
 * label names (LAM) and the LM-MTC label tokens (reached through the prompt and the tied MLM
 * decoder). Dropout stays on: its masks depend only on (seed, step), so every evaluation of a
 * step sees the same masks.
 *
 * Tolerance: the loss is a mean of float computations (~1e-7 relative noise); with eps = 1e-2
 * the numeric gradient carries ~1e-5 of noise, plus O(eps^2) curvature; we require
 * |analytic - numeric| <= 2e-5 + 5e-2 * |numeric| (the noise floor is ~4e-6: eps 1e-2, loss ~0.7). */
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/classifier_internal.h"
#include "testutil.h"

#define EPS 1e-2f

typedef struct probe {
    const char *what;
    dev_buf *params, *grads;
    size_t off;
} probe;

static double loss_at(classifier *c, const clf_example *ex, int B) {
    clf_losses l;
    tu_must(classifier_train_batch(c, ex, B, 3, &l), c->dev->err, "train_batch");
    return l.total;
}

static void check_probe(classifier *c, const clf_example *ex, int B, const probe *p, const char *head) {
    dev_ctx *d = c->dev;
    float analytic, p0;
    loss_at(c, ex, B);
    tu_must(dev_download(d, p->grads, p->off * 4, &analytic, 4), d->err, "grad");
    tu_must(dev_download(d, p->params, p->off * 4, &p0, 4), d->err, "param");
    float v = p0 + EPS;
    tu_must(dev_upload(d, p->params, p->off * 4, &v, 4), d->err, "set");
    double lp = loss_at(c, ex, B);
    v = p0 - EPS;
    tu_must(dev_upload(d, p->params, p->off * 4, &v, 4), d->err, "set");
    double lm = loss_at(c, ex, B);
    tu_must(dev_upload(d, p->params, p->off * 4, &p0, 4), d->err, "restore");
    double numeric = (lp - lm) / (2.0 * EPS), diff = analytic - numeric;
    if (getenv("VERBOSE")) printf("%s %s: %.6g vs %.6g\n", head, p->what, analytic, numeric);
    tu_check(fabs(diff) <= 2e-5 + 5e-2 * fabs(numeric), "%s: d loss / d %s: analytic %.6g, numeric %.6g", head,
             p->what, analytic, numeric);
}

static probe head_probe(classifier *c, const char *name, size_t elem) {
    int i = param_find(&c->head, name);
    if (i < 0) {
        printf("FAIL no head tensor %s\n", name);
        exit(1);
    }
    return (probe){name, c->head.params, c->head.grads, c->head.offsets[i] + elem};
}

static probe enc_probe(classifier *c, const char *name, size_t elem) {
    const bert_tensor *t = bert_tensor_find(c->bert, name);
    if (!t) {
        printf("FAIL no encoder tensor %s\n", name);
        exit(1);
    }
    return (probe){name, bert_params(c->bert), bert_grads(c->bert), t->off + elem};
}

static void run_head(dev_ctx *dev, const char *model, const labels *lbl, head_kind head, pooling_kind pooling) {
    train_settings s;
    train_settings_default(&s);
    s.head = head;
    s.pooling = pooling;
    s.max_len = 40;
    s.lambda = 0.5;    /* make the LM-MTC MLM term weigh enough to be seen */
    s.mask_prob = 0.5;
    classifier *c = NULL;
    tu_must(classifier_create(dev, model, lbl, &s, 4, &c), dev->err, "classifier_create");
    const char *texts[3] = {"grain exports rose sharply in march", "the central bank cut interest rates",
                            "crude oil prices fell"};
    static const uint8_t gold[3][4] = {{1, 0, 0, 1}, {0, 1, 0, 0}, {0, 0, 1, 0}};
    clf_example ex[3];
    int32_t *ids[3];
    for (int i = 0; i < 3; i++) {
        tu_must(classifier_tokenize(c, texts[i], strlen(texts[i]), &ids[i], &ex[i].n), dev->err, "tokenize");
        ex[i].ids = ids[i];
        ex[i].gold = gold[i];
    }
    char hn[32];
    snprintf(hn, sizeof hn, "%s%s", head_kind_name(head), head == HEAD_BERT ? (pooling == POOL_MEAN ? " (mean)" : " (cls)") : "");
    int C = c->C;

    /* Selected outputs (the encoder's last layer for the rows a head reads) must predict what the
     * full encoder predicts: this checks each head's mapping from positions to hidden rows. */
    int32_t pos0[64];
    if (head == HEAD_BERT && pooling == POOL_MEAN)
        tu_check(bert_selected_outputs(c->bert) == 0 && c->head_ops->outputs(c, pos0) == 0,
                 "%s: mean pooling reads every position, so no output is selected", hn);
    else if (c->head_ops->outputs) {
        float sel[3 * 4], full[3 * 4];
        tu_check(bert_selected_outputs(c->bert) > 0, "%s: the head's outputs are selected", hn);
        tu_must(classifier_predict(c, ex, 3, sel), dev->err, "predict (selected)");
        tu_must(bert_select_outputs(c->bert, NULL, 0), dev->err, "select all");
        tu_must(classifier_predict(c, ex, 3, full), dev->err, "predict (full)");
        double d = 0;
        for (int i = 0; i < 3 * 4; i++) d = fmax(d, fabs((double)sel[i] - full[i]));
        printf("%s: selected vs full encoder outputs, max probability difference %.3g\n", hn, d);
        tu_check(d <= 1e-5, "%s: selected outputs change the predictions by %.3g", hn, d);
        int32_t pos[64];
        int R = c->head_ops->outputs(c, pos);
        tu_must(bert_select_outputs(c->bert, pos, R), dev->err, "select again");
    }
    probe probes[16];
    int np = 0;
    if (head == HEAD_BERT) {
        probes[np++] = head_probe(c, "classifier.weight", 1 * C + 5);
        probes[np++] = head_probe(c, "classifier.bias", 3);
    } else if (head == HEAD_LMMTC) {
        probes[np++] = head_probe(c, "lmmtc.state.weight", 2 * C + 7);
        probes[np++] = head_probe(c, "lmmtc.state.bias", 0);
        probes[np++] = head_probe(c, "mlm.transform.dense.weight", 3 * C + 1);
        probes[np++] = head_probe(c, "mlm.transform.LayerNorm.weight", 4);
        probes[np++] = head_probe(c, "mlm.decoder.bias", (size_t)lmmtc_token(&c->lt, 0, LMMTC_YES));
        /* A label token's embedding row: input of the prompt and row of the tied decoder. */
        probes[np++] = enc_probe(c, "embeddings.word_embeddings.weight",
                                 (size_t)lmmtc_token(&c->lt, 1, LMMTC_NO) * C + 2);
    } else {
        probes[np++] = head_probe(c, "lam.dense.weight", 5 * C + 3);
        probes[np++] = head_probe(c, "lam.classifier.weight", 2 * C + 9);
        probes[np++] = head_probe(c, "lam.classifier.bias", 1);
        /* "wheat" occurs only in a label name: its gradient comes through the label pass. */
        probes[np++] = enc_probe(c, "embeddings.word_embeddings.weight", (size_t)tok_id(c->tok, "wheat") * C + 4);
    }
    probes[np++] = enc_probe(c, "encoder.layer.1.attention.self.query.weight", 3 * C + 2);
    /* The last layer's feed-forward: at [CLS] alone, or with mean pooling at every position. */
    probes[np++] = enc_probe(c, "encoder.layer.1.output.dense.weight", 2 * C + 5);
    probes[np++] = enc_probe(c, "encoder.layer.0.output.LayerNorm.weight", 6);
    probes[np++] = enc_probe(c, "embeddings.word_embeddings.weight", (size_t)ids[0][1] * C + 3);
    for (int i = 0; i < np; i++) check_probe(c, ex, 3, &probes[i], hn);
    for (int i = 0; i < 3; i++) free(ids[i]);
    classifier_free(c);
}

int main(void) {
    mltc_error err = {0};
    dev_ctx *dev = NULL;
    int rc = tu_open("cpu", &err, &dev);
    if (rc) return rc;
    char dir[] = "/tmp/mltc_gradXXXXXX";
    if (!tu_mkdtemp(dir, sizeof dir)) return 1;
    if (tu_write_tiny_bert(dir, 11)) return 1;
    labels lbl = {0};
    const char *names[4] = {"grain", "money-fx", "crude", "wheat"};
    for (int i = 0; i < 4; i++) tu_must(labels_add(&err, &lbl, names[i]), &err, "labels");
    run_head(dev, dir, &lbl, HEAD_BERT, POOL_CLS);
    run_head(dev, dir, &lbl, HEAD_BERT, POOL_MEAN);
    run_head(dev, dir, &lbl, HEAD_LMMTC, POOL_CLS);
    run_head(dev, dir, &lbl, HEAD_LAM, POOL_CLS);
    labels_free(&lbl);
    dev_close(dev);
    tu_remove_tree(dir);
    return tu_finish();
}
