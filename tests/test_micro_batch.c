/* Gradient accumulation (classifier_train_batch, mltc train --micro-batch): a batch run in
 * parts must give the losses and gradients of one pass over it, for each head and backend.
 * That holds only if every backward op ADDS into the parameter gradients (a backend whose
 * layernorm or bias gradient overwrote would pass the single-pass tests and fail here), the
 * BCE and MLM means run over the whole batch, and the label-MLM masks are drawn per example of
 * the batch. With dropout off the parts and the single pass compute the same sums in another
 * order (padding differs too), so they agree to rounding. With dropout on, the parts must draw
 * different masks: two copies of one example in parts of one must not give the gradient of one.
 * Then the run level: mltc_train with micro_batch gives the single pass's logged losses, also
 * when a run resumed with another micro-batch, and a micro-batch above the batch is refused.
 */
/* ctest: per-backend */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/classifier_internal.h"
#include "testutil.h"

#define B 6

static const char *texts[B] = {"grain exports rose sharply in march", "the central bank cut interest rates",
                               "crude oil prices fell", "wheat and corn harvests were larger than expected",
                               "the dollar fell against the yen", "oil"};
static const uint8_t gold[B][4] = {{1, 0, 0, 1}, {0, 1, 0, 0}, {0, 0, 1, 0}, {1, 0, 0, 1}, {0, 1, 0, 0}, {0, 0, 1, 0}};

/* All gradients (encoder, then head) after one classifier_train_batch, and the losses. */
typedef struct grads {
    float *g;
    size_t n;
    clf_losses l;
} grads;

static grads run_batch(dev_ctx *dev, const char *model, const labels *lbl, const train_settings *s, int micro,
                       const clf_example *ex, int n_ex) {
    classifier *c = NULL;
    tu_must(classifier_create(dev, model, lbl, s, micro, &c), dev->err, "classifier_create");
    grads r = {0};
    tu_must(classifier_train_batch(c, ex, n_ex, 3, &r.l), dev->err, "train_batch");
    size_t ne = bert_num_params(c->bert), nh = c->head.n;
    float *enc = tu_get(dev, bert_grads(c->bert), ne), *head = tu_get(dev, c->head.grads, nh);
    r.n = ne + nh;
    r.g = malloc(sizeof *r.g * r.n);
    memcpy(r.g, enc, sizeof *enc * ne);
    memcpy(r.g + ne, head, sizeof *head * nh);
    free(enc);
    free(head);
    classifier_free(c);
    return r;
}

/* The losses of one classifier_train_step (every part's losses summed on the device) and the
 * host waits it took. */
static clf_losses step_losses(dev_ctx *dev, const char *model, const labels *lbl, const train_settings *s, int micro,
                              const clf_example *ex, int n_ex, long *waits) {
    classifier *c = NULL;
    tu_must(classifier_create(dev, model, lbl, s, micro, &c), dev->err, "classifier_create");
    clf_losses l = {0};
    double norm = 0;
    long before = dev->counts.host_waits;
    tu_must(classifier_train_step(c, ex, n_ex, 3, 5e-5, 1e-3, &l, &norm), dev->err, "train_step");
    *waits = dev->counts.host_waits - before;
    tu_check(norm > 0 && isfinite(norm), "train_step: gradient norm %g", norm);
    classifier_free(c);
    return l;
}

/* max |a - b| over the largest |b|: the gradients' worst relative disagreement. */
static double rel_diff(const grads *a, const grads *b) {
    double d = 0, m = 0;
    for (size_t i = 0; i < a->n; i++) {
        d = fmax(d, fabs((double)a->g[i] - b->g[i]));
        m = fmax(m, fabs((double)b->g[i]));
    }
    return m > 0 ? d / m : d;
}

static void tokenize(dev_ctx *dev, const char *model, const labels *lbl, const train_settings *s, clf_example *ex,
                     int32_t **ids) {
    classifier *c = NULL;
    tu_must(classifier_create(dev, model, lbl, s, 1, &c), dev->err, "classifier_create");
    for (int i = 0; i < B; i++) {
        tu_must(classifier_tokenize(c, texts[i], strlen(texts[i]), &ids[i], &ex[i].n), dev->err, "tokenize");
        ex[i].ids = ids[i];
        ex[i].gold = gold[i];
    }
    classifier_free(c);
}

static void check_head(dev_ctx *dev, const char *quiet_model, const char *model, const labels *lbl, head_kind head) {
    const char *hn = head_kind_name(head);
    train_settings s;
    train_settings_default(&s);
    s.head = head;
    s.batch = B;
    s.max_len = 40;
    s.lambda = 0.5; /* weigh the MLM term enough to be seen */
    s.mask_prob = 0.5;
    s.dropout = 0;
    clf_example ex[B];
    int32_t *ids[B];
    tokenize(dev, quiet_model, lbl, &s, ex, ids);

    /* Dropout off (quiet_model's config and the head's): parts of 4 + 2 and of 1 against one pass. */
    grads whole = run_batch(dev, quiet_model, lbl, &s, B, ex, B);
    static const int micro[] = {4, 1};
    for (int i = 0; i < 2; i++) {
        grads part = run_batch(dev, quiet_model, lbl, &s, micro[i], ex, B);
        double dg = rel_diff(&part, &whole);
        printf("%s: micro-batch %d vs one pass of %d: loss %.9g vs %.9g (mlm %.9g vs %.9g), gradients %.3g\n", hn,
               micro[i], B, part.l.total, whole.l.total, part.l.mlm, whole.l.mlm, dg);
        tu_check(fabs(part.l.total - whole.l.total) <= 1e-6 * fabs(whole.l.total) &&
                     fabs(part.l.bce - whole.l.bce) <= 1e-6 * fabs(whole.l.bce) &&
                     fabs(part.l.mlm - whole.l.mlm) <= 1e-6 * fabs(whole.l.mlm) + 1e-12,
                 "%s: micro-batch %d: loss %.9g (bce %.9g, mlm %.9g), one pass %.9g (bce %.9g, mlm %.9g)", hn,
                 micro[i], part.l.total, part.l.bce, part.l.mlm, whole.l.total, whole.l.bce, whole.l.mlm);
        tu_check(dg <= 2e-5, "%s: micro-batch %d: gradients differ from one pass by %.3g of the largest", hn,
                 micro[i], dg);
        free(part.g);
    }
    tu_check(head != HEAD_LMMTC || whole.l.mlm > 0, "%s: the MLM term is on", hn);
    /* The whole step enqueued with its losses summed on the device: the same losses (float sums
     * against the host's double ones), and one wait for the device however many parts. */
    for (int i = 0; i < 2; i++) {
        long waits = 0;
        clf_losses l = step_losses(dev, quiet_model, lbl, &s, micro[i], ex, B, &waits);
        printf("%s: train step in parts of %d: loss %.9g (bce %.9g, mlm %.9g), %ld host wait(s)\n", hn, micro[i],
               l.total, l.bce, l.mlm, waits);
        tu_check(fabs(l.total - whole.l.total) <= 1e-5 * fabs(whole.l.total) &&
                     fabs(l.bce - whole.l.bce) <= 1e-5 * fabs(whole.l.bce) &&
                     fabs(l.mlm - whole.l.mlm) <= 1e-5 * fabs(whole.l.mlm) + 1e-12,
                 "%s: train step in parts of %d: loss %.9g (bce %.9g, mlm %.9g), one pass %.9g (bce %.9g, mlm %.9g)",
                 hn, micro[i], l.total, l.bce, l.mlm, whole.l.total, whole.l.bce, whole.l.mlm);
        tu_check(waits <= 1, "%s: train step in parts of %d waited for the device %ld times", hn, micro[i], waits);
    }
    free(whole.g);

    /* Dropout on: two copies of one example in parts of one. Drawing the same masks, the mean
     * of the two would be one copy's gradient. (No label MLM: its masks differ by example.) */
    s.dropout = 0.1;
    s.lambda = 0;
    s.batch = 2;
    clf_example twice[2] = {ex[0], ex[0]};
    grads one = run_batch(dev, model, lbl, &s, 2, twice, 1);
    grads two = run_batch(dev, model, lbl, &s, 1, twice, 2);
    double dd = rel_diff(&two, &one);
    printf("%s: dropout on, two copies in parts of one vs one copy: gradients differ by %.3g\n", hn, dd);
    tu_check(dd > 1e-3, "%s: parts of a batch draw the same dropout masks (gradients differ by %.3g)", hn, dd);
    free(one.g);
    free(two.g);
    for (int i = 0; i < B; i++) free(ids[i]);
}

/* ---- the run level: mltc_train --------------------------------------------------------- */

static double logged_loss(const char *out, long step) {
    char path[1200], key[64];
    snprintf(path, sizeof path, "%s/train_log.jsonl", out);
    char *text = tu_read_file(path);
    if (!text) return NAN;
    snprintf(key, sizeof key, "\"step\":%ld,", step);
    const char *at = strstr(text, key), *loss = at ? strstr(at, "\"loss\":") : NULL;
    double v = loss ? strtod(loss + 7, NULL) : NAN;
    free(text);
    return v;
}

static mltc_status train(mltc_ctx *ctx, mltc_device *dev, const char *model, const char *data, const char *labels_path,
                         const char *out, int micro, long max_steps, int resume) {
    mltc_train_options o;
    mltc_train_options_default(&o);
    o.model_dir = resume ? NULL : model;
    o.train_path = data;
    o.labels_path = labels_path;
    o.out_dir = out;
    o.head = "lmmtc";
    o.batch = 4;
    o.micro_batch = micro;
    o.max_len = 64;
    o.dropout = 0;
    o.epochs = 1;
    o.log_every = 1;
    o.max_steps = max_steps;
    o.resume = resume;
    return mltc_train(ctx, dev, &o, NULL, NULL, NULL);
}

static void check_runs(const char *backend, const char *dir, const char *quiet_model) {
    mltc_ctx *ctx = NULL;
    mltc_device *dev = NULL;
    tu_must(mltc_ctx_create(&ctx), NULL, "ctx");
    if (tu_open_public(ctx, backend, &dev)) {
        mltc_ctx_destroy(ctx);
        return;
    }
    static const char *const names[] = {"earn", "acq", "crude", "grain"};
    char data[1100], lab[1100], a[1100], b[1100];
    snprintf(data, sizeof data, "%s/train.jsonl", dir);
    snprintf(lab, sizeof lab, "%s/labels.txt", dir);
    snprintf(a, sizeof a, "%s/run-whole", dir);
    snprintf(b, sizeof b, "%s/run-parts", dir);
    if (tu_write_reuters_slice(data, lab, 0, 8, names, 4) != 8) {
        tu_check(0, "writing the training slice");
        goto done;
    }
    /* One pass of 4 for two steps; parts of 3 + 1 for a step, then resumed in parts of 2. */
    mltc_status st = train(ctx, dev, quiet_model, data, lab, a, 0, 2, 0);
    if (!tu_status(st, MLTC_OK, NULL, "train, one pass")) printf("  %s\n", mltc_last_error(ctx));
    st = train(ctx, dev, quiet_model, data, lab, b, 3, 1, 0);
    if (!tu_status(st, MLTC_OK, NULL, "train, micro-batch 3")) printf("  %s\n", mltc_last_error(ctx));
    st = train(ctx, dev, quiet_model, data, lab, b, 2, 2, 1);
    if (!tu_status(st, MLTC_OK, NULL, "resume, micro-batch 2")) printf("  %s\n", mltc_last_error(ctx));
    for (long step = 1; step <= 2; step++) {
        double la = logged_loss(a, step), lb = logged_loss(b, step);
        printf("run: step %ld loss %.9g (one pass) vs %.9g (parts)\n", step, la, lb);
        tu_check(isfinite(la) && fabs(la - lb) <= 1e-5 * fabs(la), "run: step %ld: loss %.9g in parts, %.9g in one",
                 step, lb, la);
    }
    /* Above the batch: refused, naming both numbers, and nothing trained. */
    st = train(ctx, dev, quiet_model, data, lab, b, 5, 3, 1);
    tu_check(st == MLTC_ERR_INVALID_ARGUMENT && strstr(mltc_last_error(ctx), "micro-batch 5") &&
                 strstr(mltc_last_error(ctx), "4"),
             "micro-batch 5 of a batch of 4: status %d, '%s'", st, mltc_last_error(ctx));
    /* ... before the model is sized by it: a huge one is the same refusal, not out of memory. */
    st = train(ctx, dev, quiet_model, data, lab, b, 1000000, 3, 1);
    tu_check(st == MLTC_ERR_INVALID_ARGUMENT && strstr(mltc_last_error(ctx), "micro-batch 1000000"),
             "micro-batch 1000000 on resume: status %d, '%s'", st, mltc_last_error(ctx));
    tu_check(isnan(logged_loss(b, 3)), "the refused resumes trained no step");
done:
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);
}

int main(int argc, char **argv) {
    const char *backend = argc > 1 ? argv[1] : "cpu";
    mltc_error err = {0};
    dev_ctx *dev = NULL;
    int rc = tu_open(backend, &err, &dev);
    if (rc) return rc;
    char dir[] = "/tmp/mltc_microXXXXXX";
    if (!tu_mkdtemp(dir, sizeof dir)) return 1;
    char model[1100], quiet[1100];
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(quiet, sizeof quiet, "%s/quiet", dir);
    /* quiet: the same BERT with its encoder dropout off */
    if (tu_write_tiny_bert(model, 11) || tu_write_tiny_bert(quiet, 11) || tu_set_bert_dropout(quiet, 0)) return 1;
    labels lbl = {0};
    const char *names[4] = {"grain", "money-fx", "crude", "wheat"};
    for (int i = 0; i < 4; i++) tu_must(labels_add(&err, &lbl, names[i]), &err, "labels");
    check_head(dev, quiet, model, &lbl, HEAD_BERT);
    check_head(dev, quiet, model, &lbl, HEAD_LMMTC);
    check_head(dev, quiet, model, &lbl, HEAD_LAM);
    labels_free(&lbl);
    dev_close(dev);
    check_runs(backend, dir, quiet);
    tu_remove_tree(dir);
    return tu_finish();
}
