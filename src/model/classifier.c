/* The classifier: set-up, batch assembly, prediction, the training step and AdamW. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/classifier_internal.h"
#include "model/decision.h"

mltc_status clf_plan(classifier *c, const int32_t *idx, int n, int table_rows, dev_view region, dev_rows_plan *plan) {
    return dev_rows_plan_upload(c->dev, idx, n, table_rows, region, c->h_plan, plan);
}

uint64_t clf_dropout_seed(const classifier *c) { return c->drop_key; }

/* Part j of an accumulated batch draws dropout under its own Philox key, so no two parts share
 * masks; part 0 keeps the seed, so a batch run in one part draws exactly what it always did. */
static uint64_t part_key(uint64_t seed, int index) {
    return index == 0 ? seed : seed ^ ((uint64_t)index * 0xD1B54A32D192ED03ull);
}

static const head_ops *ops_for(head_kind h) {
    return h == HEAD_LMMTC ? &head_ops_lmmtc : h == HEAD_LAM ? &head_ops_lam : &head_ops_bert;
}

/* ---- set-up ------------------------------------------------------------------------------ */

static mltc_status copy_labels(mltc_error *err, const labels *src, labels *dst) {
    for (int i = 0; i < src->count; i++) TRY(labels_add(err, dst, src->names[i]));
    return MLTC_OK;
}

/* Everything after the encoder exists: host scratch, work memory, head, optimizer state. */
mltc_status clf_finish_setup(classifier *c, int fresh_head) {
    dev_ctx *d = c->dev;
    mltc_error *err = d->err;
    size_t rt = (size_t)c->max_rows * c->max_len, bk = (size_t)c->max_batch * c->K;
    c->h_ids = malloc(4 * rt);
    c->h_types = malloc(4 * rt);
    c->h_mask = malloc(4 * rt);
    c->h_mlm_target = malloc(4 * rt);
    c->h_idx = malloc(4 * rt);
    c->h_plan = malloc(4 * (3 * rt + 1));
    c->h_targets = malloc(4 * bk);
    c->h_loss = malloc(4 * (bk + 4)); /* the read-back of the loss terms, or of the norms and sums */
    c->thr = malloc(sizeof *c->thr * (size_t)c->K);
    if (!c->h_ids || !c->h_types || !c->h_mask || !c->h_mlm_target || !c->h_idx || !c->h_plan || !c->h_targets ||
        !c->h_loss || !c->thr)
        return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "classifier: no host memory for batches of %d x %d",
                       c->max_rows, c->max_len);
    for (int k = 0; k < c->K; k++) c->thr[k] = (float)c->s.threshold;
    size_t total = rt * c->C + 4 * bk + 4;
    TRY(dev_alloc(d, total * 4, &c->work));
    c->dhidden = (dev_view){c->work, 0};
    c->logits = (dev_view){c->work, rt * c->C};
    c->dlogits = dev_at(c->logits, bk);
    c->targets = dev_at(c->logits, 2 * bk);
    c->loss = dev_at(c->logits, 3 * bk);
    c->sq = dev_at(c->logits, 4 * bk);
    c->loss_sums = dev_at(c->sq, 2);

    param_spec specs[HEAD_MAX_PARAMS];
    int n = c->head_ops->specs(c, specs, HEAD_MAX_PARAMS);
    TRY(param_table_create(d, specs, n, &c->head));
    TRY(c->head_ops->alloc(c));
    int R = c->head_ops->outputs ? c->head_ops->outputs(c, c->h_idx) : 0;
    if (R > 0) TRY(bert_select_outputs(c->bert, c->h_idx, R));
    if (fresh_head) TRY(c->head_ops->init(c));

    if (!c->trainable) return MLTC_OK; /* no optimizer state for a model that only predicts */
    size_t ne = bert_num_params(c->bert), nh = c->head.n;
    dev_buf **bufs[] = {&c->m_enc, &c->v_enc, &c->m_head, &c->v_head};
    size_t sizes[] = {ne, ne, nh, nh};
    for (int i = 0; i < 4; i++) {
        TRY(dev_alloc(d, sizes[i] * 4, bufs[i]));
        TRY(dev_fill(d, (dev_view){*bufs[i], 0}, sizes[i], 0.0f));
    }
    return MLTC_OK;
}

mltc_status clf_check_shape(classifier *c, const bert_config *cfg, const char *source) {
    if (c->max_len > cfg->max_position)
        return err_set(c->dev->err, MLTC_ERR_INVALID_ARGUMENT,
                       "%s: max-len %d exceeds the model's %d positions (max_position_embeddings)", source, c->max_len,
                       cfg->max_position);
    if (c->s.head == HEAD_LMMTC && lmmtc_prompt_len(c->K) + 2 > c->max_len)
        return err_set(c->dev->err, MLTC_ERR_INVALID_ARGUMENT,
                       "lmmtc: the prompt of %d labels needs %d tokens plus text, more than max-len %d "
                       "(the model has %d positions)",
                       c->K, lmmtc_prompt_len(c->K), c->max_len, cfg->max_position);
    return MLTC_OK;
}

classifier *clf_alloc(dev_ctx *dev, const train_settings *s, int max_batch) {
    classifier *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->dev = dev;
    c->s = *s;
    if (s->head != HEAD_BERT) c->s.pooling = POOL_CLS; /* the other heads read their own positions */
    c->head_ops = ops_for(s->head);
    c->max_batch = max_batch;
    c->max_rows = s->head == HEAD_LMMTC && s->lambda > 0 ? 2 * max_batch : max_batch;
    c->max_len = s->max_len;
    c->trainable = 1;
    c->drop_key = s->seed;
    return c;
}

mltc_status clf_check_micro_batch(mltc_error *err, int max_batch, int batch) {
    if (max_batch <= batch) return MLTC_OK;
    return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "micro-batch %d must be between 1 and the batch, %d (0: the batch)",
                   max_batch, batch);
}

/* Training entry points on a classifier loaded for prediction only. */
static mltc_status check_trainable(classifier *c) {
    return c->trainable ? MLTC_OK
                        : err_set(c->dev->err, MLTC_ERR_INVALID_ARGUMENT,
                                  "classifier: loaded for prediction (no gradients or optimizer state); load it "
                                  "with its optimizer state to train");
}

mltc_status classifier_create(dev_ctx *dev, const char *model_dir, const labels *lbl, const train_settings *settings,
                              int max_batch, classifier **out) {
    if (!dev || !out) return MLTC_ERR_INVALID_ARGUMENT;
    mltc_error *err = dev->err;
    *out = NULL;
    if (!model_dir || !lbl || !settings || lbl->count < 1 || max_batch < 1)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "classifier_create: a model folder, labels and batch >= 1 "
                                                       "are required");
    TRY(train_settings_check(err, settings));
    TRY(clf_check_micro_batch(err, max_batch, settings->batch));
    classifier *c = clf_alloc(dev, settings, max_batch);
    if (!c) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "classifier_create: no memory");
    char path[4096];
    bert_config cfg;
    mltc_status st = copy_labels(err, lbl, &c->lbl);
    c->K = lbl->count;
    if (!st) {
        snprintf(path, sizeof path, "%s/config.json", model_dir);
        st = bert_config_load(err, path, &cfg);
    }
    if (!st) {
        c->C = cfg.hidden_size;
        snprintf(path, sizeof path, "%s/vocab.txt", model_dir);
        st = tok_load(err, path, &c->tok);
    }
    if (!st && tok_vocab_size(c->tok) != cfg.vocab_size)
        st = err_set(err, MLTC_ERR_PARSE, "%s: %d tokens, but config.json says vocab_size %d", path,
                     tok_vocab_size(c->tok), cfg.vocab_size);
    if (!st) st = clf_check_shape(c, &cfg, model_dir);
    if (!st) st = bert_model_create(dev, &cfg, c->max_rows, c->max_len, &c->bert);
    if (!st) {
        snprintf(path, sizeof path, "%s/model.safetensors", model_dir);
        st = bert_load_hf_file(c->bert, path);
    }
    if (!st) bert_set_dropout_seed(c->bert, settings->seed);
    if (!st && settings->head == HEAD_LMMTC) {
        st = lmmtc_tokens_add(c->tok, err, c->K, settings->shared_label_tokens, &c->lt);
        if (!st) st = bert_resize_vocab(c->bert, tok_vocab_size(c->tok), settings->seed ^ 0x564F434142ull);
    }
    c->init_dir = model_dir;
    if (!st) st = clf_finish_setup(c, 1);
    c->init_dir = NULL;
    if (st) {
        classifier_free(c);
        return st;
    }
    *out = c;
    return MLTC_OK;
}

void classifier_free(classifier *c) {
    if (!c) return;
    dev_ctx *d = c->dev;
    if (c->head_ops && c->head_state) c->head_ops->release(c);
    param_table_free(d, &c->head);
    bert_model_free(c->label_bert);
    bert_model_free(c->bert);
    dev_free(d, c->work);
    dev_free(d, c->m_enc);
    dev_free(d, c->v_enc);
    dev_free(d, c->m_head);
    dev_free(d, c->v_head);
    tok_free(c->tok);
    lmmtc_tokens_free(&c->lt);
    labels_free(&c->lbl);
    free(c->h_ids);
    free(c->h_types);
    free(c->h_mask);
    free(c->h_mlm_target);
    free(c->h_idx);
    free(c->h_plan);
    free(c->h_targets);
    free(c->h_loss);
    free(c->thr);
    free(c->label_counts);
    free(c->extra_json);
    free(c);
}

const train_settings *classifier_settings(const classifier *c) { return &c->s; }
const labels *classifier_labels(const classifier *c) { return &c->lbl; }
int classifier_num_labels(const classifier *c) { return c->K; }
int classifier_max_batch(const classifier *c) { return c->max_batch; }
void classifier_set_threshold(classifier *c, double threshold) {
    c->s.threshold = threshold;
    for (int k = 0; k < c->K; k++) c->thr[k] = (float)threshold;
}

void classifier_set_min_labels(classifier *c, int min_labels) { c->s.min_labels = min_labels; }

void classifier_set_label_thresholds(classifier *c, const float *t) { memcpy(c->thr, t, sizeof *t * (size_t)c->K); }
const float *classifier_thresholds(const classifier *c) { return c->thr; }

void classifier_decide(const classifier *c, const float *probs, size_t n, uint8_t *out) {
    decide_rows(probs, n, c->K, c->thr, c->s.min_labels, out);
}

mltc_status classifier_set_label_priors(classifier *c, const long *counts, long n) {
    mltc_error *err = c->dev->err;
    long *keep = malloc(sizeof *keep * (size_t)c->K);
    float *bias = malloc(sizeof *bias * (size_t)c->K);
    if (!keep || !bias) {
        free(keep);
        free(bias);
        return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "classifier: no memory for %d label priors", c->K);
    }
    for (int k = 0; k < c->K; k++) {
        keep[k] = counts[k];
        double p = ((double)counts[k] + 0.5) / ((double)n + 1.0);
        bias[k] = (float)log(p / (1.0 - p));
    }
    free(c->label_counts);
    c->label_counts = keep;
    c->train_examples = n;
    mltc_status st = MLTC_OK;
    if (c->s.prior_bias) {
        int i = c->head_ops->label_bias;
        st = dev_upload(c->dev, c->head.params, c->head.offsets[i] * 4, bias, sizeof *bias * (size_t)c->K);
    }
    free(bias);
    return st;
}

const long *classifier_label_counts(const classifier *c, long *n) {
    if (n) *n = c->train_examples;
    return c->label_counts;
}
dev_ctx *classifier_device(const classifier *c) { return c->dev; }
const char *classifier_extra_json(const classifier *c) { return c->extra_json ? c->extra_json : "{}"; }

const tokenizer *classifier_tokenizer(const classifier *c) { return c->tok; }

mltc_status classifier_tokenize(const classifier *c, const char *text, size_t len, int32_t **ids, int *n) {
    return tok_encode(c->tok, c->dev->err, text, len, ids, n);
}

/* ---- batches ----------------------------------------------------------------------------- */

/* Where a forward's examples sit in their optimizer step's batch (gradient accumulation). */
typedef struct clf_part {
    int first;      /* the first example's index in the batch */
    int batch;      /* the batch's examples: BCE is the mean over batch x K */
    int index;      /* the part's number: its dropout key */
    int mlm_states; /* LM-MTC: the batch's masked states (0: this part's own) */
    int defer;      /* losses summed into c->loss_sums on the device, not read back */
} clf_part;

/* The label-MLM draws of an example: a stream per (step, example of the batch), so parts of a
 * batch draw what one pass would (the stride is the settings' batch, which no batch exceeds). */
static uint64_t mlm_stream(const classifier *c, uint64_t step, int example) {
    return step * (uint64_t)c->s.batch + (uint64_t)example;
}

static uint64_t mlm_seed(const classifier *c) { return c->s.seed ^ 0x4D4C4Dull; /* "MLM" */ }

/* Fills the host inputs for B examples (plus the MLM copy when mlm) and sets *T. */
static mltc_status build_batch(classifier *c, const clf_example *ex, int B, int mlm, uint64_t step, int first,
                               int *T) {
    mltc_error *err = c->dev->err;
    int L = c->max_len, maxn = 1;
    /* Build unpadded rows at stride L first, then compact to the batch's length. */
    int *len = (int *)c->h_plan; /* scratch: at most max_rows ints */
    for (int b = 0; b < B; b++) {
        if (!ex[b].ids && ex[b].n > 0)
            return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "classifier: example %d has no token ids", b);
        int32_t *ids = c->h_ids + (size_t)b * L, *types = c->h_types + (size_t)b * L;
        if (c->s.head == HEAD_LMMTC)
            TRY(lmmtc_build(&c->lt, c->tok, err, ex[b].ids, ex[b].n, L, ids, types, &len[b]));
        else
            TRY(tok_build_from_ids(c->tok, err, ex[b].ids, ex[b].n, NULL, 0, L, ids, types, &len[b]));
        if (len[b] > maxn) maxn = len[b];
    }
    int rows = mlm ? 2 * B : B;
    for (int b = B; b < rows; b++) { /* the MLM copy repeats the classification rows */
        memcpy(c->h_ids + (size_t)b * L, c->h_ids + (size_t)(b - B) * L, 4 * (size_t)L);
        memcpy(c->h_types + (size_t)b * L, c->h_types + (size_t)(b - B) * L, 4 * (size_t)L);
        len[b] = len[b - B];
    }
    int32_t pad = tok_special(c->tok)->pad >= 0 ? tok_special(c->tok)->pad : 0;
    /* Compact in place: row r moves from stride L to stride maxn (r * maxn <= r * L). */
    for (int r = 0; r < rows; r++) {
        for (int t = 0; t < maxn; t++) {
            int real = t < len[r];
            c->h_ids[(size_t)r * maxn + t] = real ? c->h_ids[(size_t)r * L + t] : pad;
            c->h_types[(size_t)r * maxn + t] = real ? c->h_types[(size_t)r * L + t] : 0;
            c->h_mask[(size_t)r * maxn + t] = real;
        }
    }
    if (mlm) {
        for (int b = 0; b < B; b++)
            lmmtc_mask_copy(&c->lt, ex[b].gold, (float)c->s.mask_prob, mlm_seed(c), mlm_stream(c, step, first + b),
                            c->h_ids + (size_t)(B + b) * maxn, len[b], c->h_mlm_target + (size_t)b * maxn);
        for (int b = 0; b < B; b++)
            for (int t = len[b]; t < maxn; t++) c->h_mlm_target[(size_t)b * maxn + t] = -1;
    }
    *T = maxn;
    return MLTC_OK;
}

/* part: where a training forward's examples sit in their batch (NULL for predictions). */
static mltc_status run_forward(classifier *c, const clf_example *ex, int B, const clf_part *part, uint64_t step,
                               head_pass *p) {
    if (B < 1 || B > c->max_batch)
        return err_set(c->dev->err, MLTC_ERR_INVALID_ARGUMENT, "classifier: batch of %d examples (1..%d allowed)", B,
                       c->max_batch);
    int train = part != NULL, mlm = train && c->s.head == HEAD_LMMTC && c->s.lambda > 0;
    int T = 0;
    TRY(build_batch(c, ex, B, mlm, step, train ? part->first : 0, &T));
    *p = (head_pass){.B = B, .T = T, .rows = mlm ? 2 * B : B, .train = train, .step = step,
                     .h_mlm_target = mlm ? c->h_mlm_target : NULL, .mlm_states = train ? part->mlm_states : 0,
                     .mlm_sum = train && part->defer ? dev_at(c->loss_sums, 1) : (dev_view){NULL, 0}};
    if (c->head_ops->before) TRY(c->head_ops->before(c, p));
    if (train)
        TRY(bert_forward(c->bert, c->h_ids, c->h_types, c->h_mask, p->rows, T, 1, step, &p->hidden));
    else if (c->keep_attention) /* an explained prediction reads the attention afterwards */
        TRY(bert_forward_explained(c->bert, c->h_ids, c->h_types, c->h_mask, p->rows, T, &p->hidden));
    else /* predictions: no backward follows */
        TRY(bert_forward_inference(c->bert, c->h_ids, c->h_types, c->h_mask, p->rows, T, &p->hidden));
    p->hT = bert_selected_outputs(c->bert) ? bert_selected_outputs(c->bert) : T;
    return c->head_ops->forward(c, p);
}

mltc_status classifier_predict(classifier *c, const clf_example *ex, int B, float *probs) {
    if (!c || !ex || !probs) return c ? err_set(c->dev->err, MLTC_ERR_INVALID_ARGUMENT, "predict: NULL argument")
                                      : MLTC_ERR_INVALID_ARGUMENT;
    head_pass p;
    TRY(run_forward(c, ex, B, NULL, 0, &p));
    size_t n = (size_t)B * c->K;
    TRY(dev_download(c->dev, c->logits.buf, c->logits.off * 4, probs, 4 * n));
    for (size_t i = 0; i < n; i++) probs[i] = 1.0f / (1.0f + expf(-probs[i]));
    return MLTC_OK;
}

static mltc_status check_examples(classifier *c, const clf_example *ex, int B) {
    if (!ex) return err_set(c->dev->err, MLTC_ERR_INVALID_ARGUMENT, "train step: NULL argument");
    TRY(check_trainable(c));
    if (B < 1 || B > c->s.batch)
        return err_set(c->dev->err, MLTC_ERR_INVALID_ARGUMENT,
                       "train step: a batch of %d examples (1..%d allowed: the settings' batch)", B, c->s.batch);
    for (int b = 0; b < B; b++)
        if (!ex[b].gold)
            return err_set(c->dev->err, MLTC_ERR_INVALID_ARGUMENT, "train step: example %d has no labels", b);
    return MLTC_OK;
}

/* A part's losses from its BCE terms in c->h_loss (n of them): its share of the batch's means. */
static void part_losses(const classifier *c, const clf_part *part, size_t n, clf_losses *out) {
    double entries = (double)part->batch * c->K;
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += c->h_loss[i];
    if (out) {
        out->bce = sum / entries;
        out->mlm = c->mlm_loss;
        out->total = out->bce + (c->s.head == HEAD_LMMTC ? c->s.lambda * c->mlm_loss : 0.0);
    }
}

/* One part's forward and backward, its gradients added to those already there; its losses
 * are its share of the batch's means (the parts' losses add up to the batch's). With
 * part->defer, nothing is read back: the part's BCE terms (and LM-MTC's MLM terms) are added to
 * c->loss_sums on the device, for the caller to read once with the step's other figures. */
static mltc_status forward_backward_part(classifier *c, const clf_example *ex, int B, uint64_t step,
                                         const clf_part *part, clf_losses *out) {
    dev_ctx *d = c->dev;
    c->drop_key = part_key(c->s.seed, part->index);
    bert_set_dropout_seed(c->bert, c->drop_key);
    head_pass p;
    TRY(run_forward(c, ex, B, part, step, &p));
    size_t n = (size_t)B * c->K;
    for (int b = 0; b < B; b++)
        for (int k = 0; k < c->K; k++) c->h_targets[(size_t)b * c->K + k] = ex[b].gold[k] ? 1.0f : 0.0f;
    TRY(dev_upload(d, c->targets.buf, c->targets.off * 4, c->h_targets, 4 * n));
    TRY(dev_bce_forward(d, c->loss, c->logits, c->targets, n));
    /* The column sum of the n terms as one column: loss_sums[0] += their sum. */
    if (part->defer) TRY(dev_bias_backward(d, c->loss_sums, c->loss, (int)n, 1));
    TRY(dev_fill(d, c->dlogits, n, 0.0f));
    /* BCEWithLogitsLoss(reduction='mean') over the whole batch's B x K entries. */
    double entries = (double)part->batch * c->K; /* exact in float too: 1/entries rounds as before */
    TRY(dev_bce_backward(d, c->dlogits, c->logits, c->targets, n, 1.0f / (float)entries));
    TRY(dev_fill(d, c->dhidden, (size_t)p.rows * p.hT * c->C, 0.0f));
    TRY(c->head_ops->backward(c, &p));
    TRY(bert_backward(c->bert, c->dhidden));
    if (part->defer) return MLTC_OK;
    TRY(dev_download(d, c->loss.buf, c->loss.off * 4, c->h_loss, 4 * n));
    part_losses(c, part, n, out);
    return MLTC_OK;
}

static mltc_status zero_grads(classifier *c) {
    TRY(bert_zero_grads(c->bert));
    return dev_fill(c->dev, (dev_view){c->head.grads, 0}, c->head.n, 0.0f);
}

int classifier_parts(const classifier *c, int B) { return (B + c->max_batch - 1) / c->max_batch; }

/* The parts from..to-1 of a batch, each part's losses in losses[its index]; with defer, no
 * part reads anything back and their losses are summed in c->loss_sums instead (losses unused).
 * *mlm_states: the batch's masked states, the MLM mean's count. */
static mltc_status train_parts(classifier *c, const clf_example *ex, int B, uint64_t step, int from, int to,
                               int defer, clf_losses *losses, int *mlm_states) {
    TRY(check_examples(c, ex, B));
    int parts = classifier_parts(c, B);
    if (from < 0 || to > parts || from > to)
        return err_set(c->dev->err, MLTC_ERR_INVALID_ARGUMENT, "train step: parts %d..%d of %d", from, to, parts);
    TRY(zero_grads(c));
    if (defer) TRY(dev_fill(c->dev, c->loss_sums, 2, 0.0f));
    clf_part part = {.batch = B, .first = from * c->max_batch, .index = from, .defer = defer};
    /* The MLM's mean runs over the whole batch's masked states: count them before the first
     * part's backward needs the total. */
    if (c->s.head == HEAD_LMMTC && c->s.lambda > 0)
        for (int b = 0; b < B; b++)
            part.mlm_states += lmmtc_mask_count(c->K, (float)c->s.mask_prob, mlm_seed(c), mlm_stream(c, step, b));
    if (mlm_states) *mlm_states = part.mlm_states;
    for (; part.index < to; part.first += c->max_batch, part.index++) {
        int n = B - part.first < c->max_batch ? B - part.first : c->max_batch;
        TRY(forward_backward_part(c, ex + part.first, n, step, &part, defer ? NULL : &losses[part.index]));
    }
    return MLTC_OK;
}

mltc_status classifier_train_parts(classifier *c, const clf_example *ex, int B, uint64_t step, int from, int to,
                                   clf_losses *losses) {
    if (!c) return MLTC_ERR_INVALID_ARGUMENT;
    return train_parts(c, ex, B, step, from, to, 0, losses, NULL);
}

/* Room for one clf_losses a part of a batch of B (B already checked). */
static clf_losses *part_loss_array(classifier *c, int B) {
    clf_losses *l = calloc((size_t)classifier_parts(c, B), sizeof *l);
    if (!l) err_set(c->dev->err, MLTC_ERR_OUT_OF_MEMORY, "train step: no memory");
    return l;
}

mltc_status classifier_train_batch(classifier *c, const clf_example *ex, int B, uint64_t step, clf_losses *out) {
    if (!c) return MLTC_ERR_INVALID_ARGUMENT;
    TRY(check_examples(c, ex, B));
    int parts = classifier_parts(c, B);
    clf_losses *l = part_loss_array(c, B);
    if (!l) return MLTC_ERR_OUT_OF_MEMORY;
    mltc_status st = classifier_train_parts(c, ex, B, step, 0, parts, l);
    if (!st && out) *out = classifier_sum_parts(l, parts);
    free(l);
    return st;
}

clf_losses classifier_sum_parts(const clf_losses *l, int parts) {
    clf_losses sum = {0};
    for (int i = 0; i < parts; i++) sum.bce += l[i].bce, sum.mlm += l[i].mlm, sum.total += l[i].total;
    return sum;
}

int classifier_flat_grads(classifier *c, clf_flat out[2]) {
    out[0] = (clf_flat){bert_grads(c->bert), bert_num_params(c->bert)};
    out[1] = (clf_flat){c->head.grads, c->head.n};
    return 2;
}

int classifier_flat_state(classifier *c, clf_flat out[6]) {
    size_t ne = bert_num_params(c->bert), nh = c->head.n;
    out[0] = (clf_flat){bert_params(c->bert), ne};
    out[1] = (clf_flat){c->head.params, nh};
    if (!c->trainable) return 2;
    out[2] = (clf_flat){c->m_enc, ne};
    out[3] = (clf_flat){c->v_enc, ne};
    out[4] = (clf_flat){c->m_head, nh};
    out[5] = (clf_flat){c->v_head, nh};
    return 6;
}

/* ---- optimizer --------------------------------------------------------------------------- */

static mltc_status adamw_range(classifier *c, dev_buf *p, dev_buf *g, dev_buf *m, dev_buf *v, size_t from, size_t to,
                               double lr, long step, double wd) {
    if (to <= from) return MLTC_OK;
    dev_adamw_args a = {.n = to - from, .param = {p, from}, .grad = {g, from}, .m = {m, from}, .v = {v, from},
                        .lr = (float)lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = (float)wd,
                        .step = (int)step, .sumsq = c->sq, .max_norm = (float)c->s.max_grad_norm};
    return dev_adamw(c->dev, &a);
}

/* The optimizer's ops, enqueued; the squared norm is left in c->sq[0]. */
static mltc_status optimizer_ops(classifier *c, double lr, double head_lr, long step) {
    dev_ctx *d = c->dev;
    TRY(check_trainable(c));
    if (step < 1) return err_set(d->err, MLTC_ERR_INVALID_ARGUMENT, "optimizer step %ld must be >= 1", step);
    dev_view n0 = c->sq, n1 = dev_at(c->sq, 1);
    /* The global norm covers the encoder and the head: two partial sums, then one. */
    TRY(dev_sumsq(d, n0, (dev_view){bert_grads(c->bert), 0}, bert_num_params(c->bert)));
    TRY(dev_sumsq(d, n1, (dev_view){c->head.grads, 0}, c->head.n));
    TRY(dev_axpby(d, n0, 1.0f, n0, 1.0f, n1, 1));
    size_t ne = bert_num_params(c->bert), nd = bert_num_decay_params(c->bert);
    double wd = c->s.weight_decay;
    dev_buf *pe = bert_params(c->bert), *ge = bert_grads(c->bert);
    TRY(adamw_range(c, pe, ge, c->m_enc, c->v_enc, 0, nd, lr, step, wd));
    TRY(adamw_range(c, pe, ge, c->m_enc, c->v_enc, nd, ne, lr, step, 0.0));
    TRY(adamw_range(c, c->head.params, c->head.grads, c->m_head, c->v_head, 0, c->head.n_decay, head_lr, step, wd));
    return adamw_range(c, c->head.params, c->head.grads, c->m_head, c->v_head, c->head.n_decay, c->head.n, head_lr,
                       step, 0.0);
}

mltc_status classifier_optimizer_step(classifier *c, double lr, double head_lr, long step, double *norm) {
    TRY(optimizer_ops(c, lr, head_lr, step));
    if (norm) {
        float sq = 0;
        TRY(dev_download(c->dev, c->sq.buf, c->sq.off * 4, &sq, 4));
        *norm = sqrt((double)sq);
    }
    return MLTC_OK;
}

mltc_status classifier_train_step(classifier *c, const clf_example *ex, int B, uint64_t step, double lr,
                                  double head_lr, clf_losses *out, double *norm) {
    if (!c) return MLTC_ERR_INVALID_ARGUMENT;
    int mlm_states = 0;
    TRY(train_parts(c, ex, B, step, 0, classifier_parts(c, B), 1, NULL, &mlm_states));
    TRY(optimizer_ops(c, lr, head_lr, (long)step));
    /* The squared norm and the two loss sums in one read-back: the step's one wait for the device. */
    float *h = c->h_loss;
    TRY(dev_download(c->dev, c->sq.buf, c->sq.off * 4, h, 4 * 4));
    if (out) {
        out->bce = (double)h[2] / ((double)B * c->K);
        out->mlm = mlm_states > 0 ? (double)h[3] / mlm_states : 0.0;
        out->total = out->bce + (c->s.head == HEAD_LMMTC ? c->s.lambda * out->mlm : 0.0);
    }
    if (norm) *norm = sqrt((double)h[0]);
    return MLTC_OK;
}
