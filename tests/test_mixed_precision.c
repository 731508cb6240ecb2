/* bf16 matmul (mixed precision) through a whole training step, where the device offers it (the
 * oneMKL build on a CPU with AVX512-BF16 or AMX; elsewhere the program reports a skip). The op
 * tests check each product against a bf16-rounded reference; here the question is whether a
 * step built from hundreds of them stays close to fp32: for each head, from the same weights
 * and batch (dropout off), the loss within 1% and the gradients within 5% of the largest, yet
 * not identical (bf16 really ran). Then ten optimizer steps in each precision from the same
 * start: the losses keep within 2% of each other.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/classifier_internal.h"
#include "testutil.h"

#define B 4

static const char *texts[B] = {"grain exports rose sharply in march", "the central bank cut interest rates",
                               "crude oil prices fell", "wheat and corn harvests were larger than expected"};
static const uint8_t gold[B][4] = {{1, 0, 0, 1}, {0, 1, 0, 0}, {0, 0, 1, 0}, {1, 0, 0, 1}};

/* Loss and all gradients of one step on a fresh classifier in precision p. */
static double step_grads(dev_ctx *dev, const char *model, const labels *lbl, const train_settings *s,
                         dev_precision p, float **grads, size_t *n) {
    classifier *c = NULL;
    tu_must(dev_set_matmul_precision(dev, p), dev->err, "precision");
    tu_must(classifier_create(dev, model, lbl, s, B, &c), dev->err, "classifier_create");
    clf_example ex[B];
    int32_t *ids[B];
    for (int i = 0; i < B; i++) {
        tu_must(classifier_tokenize(c, texts[i], strlen(texts[i]), &ids[i], &ex[i].n), dev->err, "tokenize");
        ex[i].ids = ids[i];
        ex[i].gold = gold[i];
    }
    clf_losses l;
    tu_must(classifier_train_batch(c, ex, B, 1, &l), dev->err, "train_batch");
    size_t ne = bert_num_params(c->bert);
    *n = ne + c->head.n;
    float *enc = tu_get(dev, bert_grads(c->bert), ne), *head = tu_get(dev, c->head.grads, c->head.n);
    *grads = malloc(sizeof **grads * *n);
    memcpy(*grads, enc, sizeof *enc * ne);
    memcpy(*grads + ne, head, sizeof *head * c->head.n);
    free(enc);
    free(head);
    for (int i = 0; i < B; i++) free(ids[i]);
    classifier_free(c);
    return l.total;
}

static void check_head(dev_ctx *dev, const char *model, const labels *lbl, head_kind head) {
    train_settings s;
    train_settings_default(&s);
    s.head = head;
    s.batch = B;
    s.max_len = 40;
    s.dropout = 0;
    float *g32, *g16;
    size_t n32, n16;
    double l32 = step_grads(dev, model, lbl, &s, DEV_PREC_FP32, &g32, &n32);
    double l16 = step_grads(dev, model, lbl, &s, DEV_PREC_BF16, &g16, &n16);
    double d = 0, m = 0;
    for (size_t i = 0; i < n32 && n32 == n16; i++) {
        d = fmax(d, fabs((double)g16[i] - g32[i]));
        m = fmax(m, fabs((double)g32[i]));
    }
    const char *hn = head_kind_name(head);
    printf("%s: loss fp32 %.7g, bf16 %.7g; gradients differ by %.3g of the largest\n", hn, l32, l16, d / m);
    tu_check(fabs(l16 - l32) <= 1e-2 * fabs(l32), "%s: bf16 loss %.7g vs fp32 %.7g", hn, l16, l32);
    tu_check(d <= 5e-2 * m && d > 1e-7 * m, "%s: bf16 gradients differ from fp32 by %.3g of the largest", hn, d / m);
    free(g32);
    free(g16);
}

/* Ten steps of mltc_train in precision p; the logged losses into loss[10]. */
static void train_run(const char *backend, const char *dir, const char *model, const char *precision,
                      double *loss) {
    mltc_ctx *ctx = NULL;
    mltc_device *dev = NULL;
    tu_must(mltc_ctx_create(&ctx), NULL, "ctx");
    if (tu_open_public(ctx, backend, &dev)) exit(1);
    tu_must(mltc_device_set_precision(ctx, dev, precision), NULL, precision);
    char data[1100], lab[1100], out[1100], log[1200];
    snprintf(data, sizeof data, "%s/train.jsonl", dir);
    snprintf(lab, sizeof lab, "%s/labels.txt", dir);
    snprintf(out, sizeof out, "%s/run-%s", dir, precision);
    static const char *const names[] = {"earn", "acq", "crude", "grain"};
    if (tu_write_reuters_slice(data, lab, 0, 40, names, 4) != 40) exit(1);
    mltc_train_options o;
    mltc_train_options_default(&o);
    o.model_dir = model;
    o.train_path = data;
    o.labels_path = lab;
    o.out_dir = out;
    o.batch = 4;
    o.max_len = 64;
    o.lr = 1e-3;
    o.dropout = 0;
    o.log_every = 1;
    o.max_steps = 10;
    mltc_status st = mltc_train(ctx, dev, &o, NULL, NULL, NULL);
    if (!tu_status(st, MLTC_OK, NULL, precision)) printf("  %s\n", mltc_last_error(ctx));
    snprintf(log, sizeof log, "%s/train_log.jsonl", out);
    char *text = tu_read_file(log);
    for (int s = 1; s <= 10; s++) {
        char key[32];
        snprintf(key, sizeof key, "\"step\":%d,", s);
        const char *at = text ? strstr(text, key) : NULL, *l = at ? strstr(at, "\"loss\":") : NULL;
        loss[s - 1] = l ? strtod(l + 7, NULL) : NAN;
    }
    free(text);
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);
}

int main(void) {
    mltc_error err = {0};
    dev_ctx *dev = NULL;
    int rc = tu_open("cpu", &err, &dev);
    if (rc) return rc;
    if (dev_set_matmul_precision(dev, DEV_PREC_BF16) != MLTC_OK) {
        printf("SKIP: %s\n", err.msg);
        dev_close(dev);
        return TU_SKIP;
    }
    char dir[] = "/tmp/mltc_bf16XXXXXX";
    if (!tu_mkdtemp(dir, sizeof dir)) return 1;
    char model[1100];
    snprintf(model, sizeof model, "%s/model", dir);
    /* dropout off in the encoder too: the two precisions then differ by rounding alone */
    if (tu_write_tiny_bert(model, 5) || tu_set_bert_dropout(model, 0)) return 1;
    labels lbl = {0};
    const char *names[4] = {"grain", "money-fx", "crude", "wheat"};
    for (int i = 0; i < 4; i++) tu_must(labels_add(&err, &lbl, names[i]), &err, "labels");
    check_head(dev, model, &lbl, HEAD_BERT);
    check_head(dev, model, &lbl, HEAD_LMMTC);
    check_head(dev, model, &lbl, HEAD_LAM);
    labels_free(&lbl);
    dev_close(dev);

    double l32[10], l16[10];
    train_run("cpu", dir, model, "fp32", l32);
    train_run("cpu", dir, model, "bf16", l16);
    for (int s = 0; s < 10; s++) {
        printf("step %2d: loss fp32 %.6f, bf16 %.6f\n", s + 1, l32[s], l16[s]);
        tu_check(isfinite(l32[s]) && fabs(l16[s] - l32[s]) <= 2e-2 * fabs(l32[s]),
                 "step %d: bf16 loss %.6f vs fp32 %.6f", s + 1, l16[s], l32[s]);
    }
    tu_check(l32[9] < l32[0] && l16[9] < l16[0], "both runs learn: %.4f -> %.4f and %.4f -> %.4f", l32[0], l32[9],
             l16[0], l16[9]);
    tu_remove_tree(dir);
    return tu_finish();
}
