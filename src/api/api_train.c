/* mltc_train: the public face of train_run (src/run/train.h). */
#include <string.h>

#include "api/api_internal.h"
#include "run/train.h"

/* One source of truth for the defaults: the internal settings. */
static void from_settings(mltc_train_options *o, const train_settings *src) {
    memset(o, 0, sizeof *o);
    train_settings s = *src;
    o->head = head_kind_name(s.head);
    o->epochs = s.epochs;
    o->batch = s.batch;
    o->max_len = s.max_len;
    o->seed = s.seed;
    o->lr = s.lr;
    o->warmup = s.warmup;
    o->weight_decay = s.weight_decay;
    o->max_grad_norm = s.max_grad_norm;
    o->dropout = s.dropout;
    o->threshold = s.threshold;
    o->lambda = s.lambda;
    o->mask_prob = s.mask_prob;
    o->shared_label_tokens = s.shared_label_tokens;
    o->head_lr = s.head_lr;
    o->label_bias = s.prior_bias ? "prior" : "zero";
    o->pooling = NULL; /* the head's own default */
    o->dev_split = s.dev_split;
    o->patience = s.patience;
    o->tune_threshold = tune_kind_name(s.tune);
    o->min_labels = s.min_labels;
    o->log_every = 10;
}

void mltc_train_options_default(mltc_train_options *o) {
    if (!o) return;
    train_settings s;
    train_settings_default(&s);
    from_settings(o, &s);
}

void mltc_train_options_papers(mltc_train_options *o) {
    if (!o) return;
    train_settings s;
    train_settings_papers(&s);
    from_settings(o, &s);
    o->pooling = pooling_kind_name(s.pooling);
}

typedef struct relay {
    mltc_train_callback cb;
    void *user;
} relay;

/* Converts each internal progress report into the public struct for the caller's callback. */
static int relay_progress(const train_progress *p, void *user) {
    relay *r = user;
    mltc_metrics dev = {0};
    mltc_train_progress pub = {
        .epoch = p->epoch,
        .epochs = p->epochs,
        .step = p->step,
        .total_steps = p->total_steps,
        .loss = p->loss,
        .loss_mlm = p->loss_mlm,
        .lr = p->lr,
        .examples_per_s = p->examples_per_s,
        .elapsed_s = p->elapsed_s,
        .eta_s = p->eta_s,
        .is_eval = p->is_eval,
        .is_best = p->is_best,
    };
    /* Without memory for per_label the scalar scores still reach the caller. */
    if (p->is_eval && p->dev) {
        mltc_error scratch = {0};
        api_metrics_export(&scratch, "mltc_train", p->dev, &dev);
        pub.dev = &dev;
    }
    int stop = r->cb(&pub, r->user);
    mltc_metrics_free(&dev);
    return stop;
}

static mltc_status to_settings(mltc_error *e, const mltc_train_options *o, train_settings *s) {
    train_settings_default(s);
    mltc_status st = head_kind_parse(e, o->head ? o->head : "bert", &s->head);
    if (st != MLTC_OK) return st;
    s->epochs = o->epochs;
    s->batch = o->batch;
    s->max_len = o->max_len;
    s->seed = o->seed;
    s->lr = o->lr;
    s->warmup = o->warmup;
    s->weight_decay = o->weight_decay;
    s->max_grad_norm = o->max_grad_norm;
    s->dropout = o->dropout;
    s->threshold = o->threshold;
    s->lambda = o->lambda;
    s->mask_prob = o->mask_prob;
    s->shared_label_tokens = o->shared_label_tokens;
    s->head_lr = o->head_lr;
    s->dev_split = o->dev_split;
    s->patience = o->patience;
    s->min_labels = o->min_labels;
    if (o->label_bias && strcmp(o->label_bias, "prior") && strcmp(o->label_bias, "zero"))
        return err_set(e, MLTC_ERR_INVALID_ARGUMENT, "label bias '%s': expected prior or zero", o->label_bias);
    s->prior_bias = !o->label_bias || !strcmp(o->label_bias, "prior");
    if (o->tune_threshold && (st = tune_kind_parse(e, o->tune_threshold, &s->tune)) != MLTC_OK) return st;
    if (o->pooling && (st = pooling_kind_parse(e, o->pooling, &s->pooling)) != MLTC_OK) return st;
    if (!o->pooling) s->pooling = s->head == HEAD_BERT ? POOL_MEAN : POOL_CLS;
    if (s->pooling == POOL_MEAN && s->head != HEAD_BERT)
        return err_set(e, MLTC_ERR_INVALID_ARGUMENT, "pooling mean is for the bert head; the %s head reads its own "
                                                     "positions", head_kind_name(s->head));
    return train_settings_check(e, s);
}

mltc_status mltc_train(mltc_ctx *ctx, mltc_device *dev, const mltc_train_options *o, mltc_train_callback callback,
                       void *user, mltc_train_result *result) {
    return mltc_train_parallel(ctx, dev, o, NULL, callback, user, result);
}

mltc_status api_check_comm(mltc_ctx *ctx, const char *call, const mltc_comm *c) {
    if (!c) return MLTC_OK;
    if (c->size < 1 || c->rank < 0 || c->rank >= c->size)
        return err_set(&ctx->err, MLTC_ERR_INVALID_ARGUMENT, "%s: comm->rank %d of comm->size %d", call, c->rank,
                       c->size);
    if (c->size > 1 && (!c->sum_floats || !c->sum_doubles || !c->broadcast))
        return err_set(&ctx->err, MLTC_ERR_INVALID_ARGUMENT, "%s: comm->%s is NULL", call,
                       !c->sum_floats    ? "sum_floats"
                       : !c->sum_doubles ? "sum_doubles"
                                         : "broadcast");
    return MLTC_OK;
}

mltc_status mltc_train_parallel(mltc_ctx *ctx, mltc_device *dev, const mltc_train_options *o, const mltc_comm *comm,
                                mltc_train_callback callback, void *user, mltc_train_result *result) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    if (result) memset(result, 0, sizeof *result);
    if (!dev) return api_null(ctx, "mltc_train", "dev");
    if (!o) return api_null(ctx, "mltc_train", "opts");
    if (!o->model_dir && !o->resume) return api_null(ctx, "mltc_train", "opts->model_dir");
    if (!o->train_path) return api_null(ctx, "mltc_train", "opts->train_path");
    if (!o->out_dir) return api_null(ctx, "mltc_train", "opts->out_dir");
    if (o->max_steps < 0 || o->log_every < 0 || o->save_every < 0 || o->micro_batch < 0)
        return err_set(&ctx->err, MLTC_ERR_INVALID_ARGUMENT, "mltc_train: %s must not be negative",
                       o->max_steps < 0   ? "max_steps"
                       : o->log_every < 0 ? "log_every"
                       : o->save_every < 0 ? "save_every"
                                           : "micro_batch");

    train_request req = {
        .model_dir = o->model_dir,
        .train_path = o->train_path,
        .dev_path = o->dev_path,
        .labels_path = o->labels_path,
        .out_dir = o->out_dir,
        .resume = o->resume,
        .log_every = o->log_every > 0 ? o->log_every : 10,
        .max_steps = o->max_steps,
        .save_every = o->save_every,
        .micro_batch = o->micro_batch,
    };
    req.comm = comm;
    mltc_status st = api_check_comm(ctx, "mltc_train_parallel", comm);
    if (st == MLTC_OK) st = to_settings(&ctx->err, o, &req.settings);
    if (st != MLTC_OK) return st;
    req.data.skip_bad = o->skip_bad;
    st = dataset_format_parse(&ctx->err, o->format ? o->format : "auto", &req.data.format);
    if (st != MLTC_OK) return st;
    if (!o->labels_path && (req.data.format == DATASET_JSONL || req.data.format == DATASET_TSV))
        return err_set(&ctx->err, MLTC_ERR_INVALID_ARGUMENT,
                       "mltc_train: opts->labels_path is NULL, and %s data has no header to name the labels "
                       "(only tsv-columns data has one)",
                       dataset_format_name(req.data.format));
    relay r = {callback, user};
    if (callback) {
        req.callback = relay_progress;
        req.user = &r;
    }

    train_summary sum = {0};
    api_bind(dev, ctx);
    st = train_run(dev->dev, &req, &sum);
    api_unbind(dev);
    if (st == MLTC_OK && result)
        *result = (mltc_train_result){sum.steps, sum.epochs_done, sum.final_loss, sum.best_micro_f1, sum.seconds,
                                      sum.examples_per_s};
    return st;
}
