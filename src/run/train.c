/* The training run (see train.h). Resuming is exact: the batch order is a function of (seed,
 * epoch), dropout and label masks of (seed, step), and the checkpoint holds the parameters,
 * the AdamW moments and the position (epoch, batch, step), so a resumed run repeats the
 * uninterrupted one bit for bit on the same backend. */
#include "run/train.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/fileio.h"
#include "core/json_number.h"
#include "core/platform.h"
#include "model/checkpoint_meta.h"
#include "model/classifier.h"
#include "run/batching.h"
#include "run/data_parallel.h"
#include "run/dev_split.h"
#include "run/evaluate.h"
#include "run/schedule.h"
#include "run/thresholds.h"

#define POOL_BATCHES 50 /* length buckets span this many batches */

typedef struct run_state {
    dev_ctx *dev;
    const train_request *req;
    train_settings s;
    labels lbl;
    dataset train, dev_data;
    int have_dev;
    classifier *c;
    int32_t **ids;
    int *len;
    FILE *log;
    char last_dir[4096], best_dir[4096];
    /* position */
    int epoch;          /* 0-based epoch in progress */
    int batch_in_epoch; /* next batch of that epoch */
    long step;          /* optimizer steps done */
    double best_f1;
    int since_best;     /* evaluations since the best one (early stopping) */
    int stopped_early;  /* the run ended on --patience: nothing left to resume */
    int n_batches;
    long total_steps;
    dp_group dp;        /* the processes training together (one without a communicator) */
    int root;           /* this process evaluates and writes OUT/ */
    clf_losses *part_loss; /* each part's losses of the step in progress */
    double step_comm_s; /* the last step's time in summing gradients */
} run_state;

static double now_s(void) { return plat_seconds(); }

static void paths(run_state *r) {
    if (snprintf(r->last_dir, sizeof r->last_dir, "%s/last", r->req->out_dir) >= (int)sizeof r->last_dir)
        r->last_dir[sizeof r->last_dir - 1] = '\0';
    if (snprintf(r->best_dir, sizeof r->best_dir, "%s/best", r->req->out_dir) >= (int)sizeof r->best_dir)
        r->best_dir[sizeof r->best_dir - 1] = '\0';
}

static char *position_json(const run_state *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "epoch", r->epoch);
    cJSON_AddNumberToObject(o, "batch_in_epoch", r->batch_in_epoch);
    cJSON_AddNumberToObject(o, "step", (double)r->step);
    cJSON_AddNumberToObject(o, "total_steps", (double)r->total_steps);
    cJSON_AddNumberToObject(o, "best_micro_f1", r->best_f1);
    cJSON_AddNumberToObject(o, "epochs_since_best", r->since_best);
    cJSON_AddBoolToObject(o, "stopped_early", r->stopped_early);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

static mltc_status save_last(run_state *r) {
    char *pos = position_json(r);
    if (!pos) return err_set(r->dev->err, MLTC_ERR_OUT_OF_MEMORY, "train: no memory");
    mltc_status st = classifier_save(r->c, r->last_dir, pos, 1);
    free(pos);
    return st;
}

/* OUT/last from rank 0, once every rank's parameters are seen to be rank 0's. */
static mltc_status checkpoint_last(run_state *r) {
    mltc_status st = dp_check_same(&r->dp, r->c, r->step);
    if (st) return st;
    if (r->root) st = save_last(r);
    return dp_agree(&r->dp, st, "writing OUT/last");
}

static mltc_status read_position(run_state *r) {
    cJSON *o = cJSON_Parse(classifier_extra_json(r->c));
    double epoch, batch, step;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "best_micro_f1");
    mltc_status st = MLTC_OK;
    if (!json_whole_number(cJSON_GetObjectItemCaseSensitive(o, "epoch"), 0, INT_MAX, &epoch) ||
        !json_whole_number(cJSON_GetObjectItemCaseSensitive(o, "batch_in_epoch"), 0, INT_MAX, &batch) ||
        !json_whole_number(cJSON_GetObjectItemCaseSensitive(o, "step"), 0, LONG_MAX / 2, &step))
        st = err_set(r->dev->err, MLTC_ERR_PARSE,
                     "%s/mltc.json: no training position to resume from (extra.epoch, extra.batch_in_epoch and "
                     "extra.step must be counts)",
                     r->last_dir);
    else {
        r->epoch = (int)epoch;
        r->batch_in_epoch = (int)batch;
        r->step = (long)step;
        r->best_f1 = cJSON_IsNumber(f) ? f->valuedouble : -1.0;
        double since = 0;
        if (json_whole_number(cJSON_GetObjectItemCaseSensitive(o, "epochs_since_best"), 0, INT_MAX, &since))
            r->since_best = (int)since;
        r->stopped_early = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "stopped_early"));
    }
    cJSON_Delete(o);
    return st;
}

/* The saved position must be one this training data can reach: a run resumed on a file with
 * another number of examples would otherwise index past its batch plan, or train on a
 * different schedule without a word. */
static mltc_status check_position(run_state *r) {
    if (r->epoch <= r->s.epochs && r->batch_in_epoch < r->n_batches &&
        r->step == (long)r->epoch * r->n_batches + r->batch_in_epoch)
        return MLTC_OK;
    return err_set(r->dev->err, MLTC_ERR_INVALID_ARGUMENT,
                   "resume: %s/mltc.json holds the position step %ld (epoch %d, batch %d, both from 0), which "
                   "%zu training examples in batches of %d (%d an epoch, %d epochs) cannot reach: was --train "
                   "changed since the run started?",
                   r->last_dir, r->step, r->epoch, r->batch_in_epoch, r->train.n, r->s.batch, r->n_batches,
                   r->s.epochs);
}

static void log_json(run_state *r, cJSON *o) {
    if (!r->log) return;
    char *text = cJSON_PrintUnformatted(o);
    if (text) {
        fprintf(r->log, "%s\n", text);
        fflush(r->log);
        cJSON_free(text);
    }
}

/* Losses are logged with 17 significant digits so runs can be compared bit for bit. */
static void add_exact(cJSON *o, const char *key, double v) {
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", v);
    cJSON_AddItemToObject(o, key, isfinite(v) ? cJSON_CreateRaw(buf) : cJSON_CreateNull());
}

static mltc_status load_data(run_state *r) {
    mltc_error *err = r->dev->err;
    const train_request *q = r->req;
    mltc_status st = q->labels_path ? labels_load(err, q->labels_path, &r->lbl)
                                    : dataset_header_labels(err, q->train_path, &r->lbl);
    if (!st) st = dataset_load(err, q->train_path, &r->lbl, &q->data, &r->train);
    if (!st && r->train.n == 0) st = err_set(err, MLTC_ERR_INVALID_ARGUMENT, "%s: no examples", q->train_path);
    if (!st && q->dev_path) {
        st = dataset_load(err, q->dev_path, &r->lbl, &q->data, &r->dev_data);
        r->have_dev = !st;
    } else if (!st && r->s.dev_split > 0) {
        st = dev_split(err, &r->train, r->s.dev_split, r->s.seed, &r->dev_data);
        if (st) err_prefix(err, "%s: ", q->train_path);
        r->have_dev = !st;
    }
    return st;
}

/* The data's own answers to the settings left to it: at least one label per prediction when
 * every training example has one. */
static void resolve_settings(run_state *r) {
    if (r->s.min_labels != MIN_LABELS_AUTO) return;
    int every = 1;
    for (size_t i = 0; every && i < r->train.n; i++) {
        int any = 0;
        for (int k = 0; k < r->lbl.count; k++) any |= r->train.ex[i].labels[k];
        every = any;
    }
    r->s.min_labels = every;
}

/* How often each label occurs in the training data: saved with the model, and its prior odds
 * start the head's label biases. */
static mltc_status set_label_priors(run_state *r) {
    int K = r->lbl.count;
    long *counts = calloc((size_t)K, sizeof *counts);
    if (!counts) return err_set(r->dev->err, MLTC_ERR_OUT_OF_MEMORY, "train: no memory");
    for (size_t i = 0; i < r->train.n; i++)
        for (int k = 0; k < K; k++) counts[k] += r->train.ex[i].labels[k] != 0;
    mltc_status st = classifier_set_label_priors(r->c, counts, (long)r->train.n);
    free(counts);
    return st;
}

static mltc_status tokenize_all(run_state *r) {
    size_t n = r->train.n;
    r->ids = calloc(n, sizeof *r->ids);
    r->len = calloc(n, sizeof *r->len);
    if (!r->ids || !r->len) return err_set(r->dev->err, MLTC_ERR_OUT_OF_MEMORY, "train: no memory for %zu texts", n);
    for (size_t i = 0; i < n; i++) {
        const dataset_example *e = &r->train.ex[i];
        mltc_status st = classifier_tokenize(r->c, e->text, strlen(e->text), &r->ids[i], &r->len[i]);
        if (st) return err_prefix(r->dev->err, "%s:%ld: ", r->req->train_path, e->line);
    }
    return MLTC_OK;
}

/* Labels of a resumed checkpoint must be those of the data, in the same order. */
static mltc_status check_labels(run_state *r) {
    const labels *have = classifier_labels(r->c);
    if (have->count != r->lbl.count)
        return err_set(r->dev->err, MLTC_ERR_INVALID_ARGUMENT, "resume: the checkpoint has %d labels, the data %d",
                       have->count, r->lbl.count);
    for (int i = 0; i < have->count; i++)
        if (strcmp(have->names[i], r->lbl.names[i]))
            return err_set(r->dev->err, MLTC_ERR_INVALID_ARGUMENT,
                           "resume: label %d is '%s' in the checkpoint but '%s' in the labels file", i,
                           have->names[i], r->lbl.names[i]);
    return MLTC_OK;
}

/* Tunes the decision thresholds on the dev probabilities (settings.tune), then scores dev. */
static mltc_status score_dev(run_state *r, metrics *m) {
    mltc_error *err = r->dev->err;
    int K = r->lbl.count;
    size_t n = r->dev_data.n;
    float *probs = malloc(sizeof *probs * n * (size_t)K), *t = malloc(sizeof *t * (size_t)K);
    mltc_status st = probs && t ? MLTC_OK : err_set(err, MLTC_ERR_OUT_OF_MEMORY, "evaluating: no memory");
    if (!st) st = predict_dataset(r->c, &r->dev_data, classifier_max_batch(r->c), probs);
    if (!st && r->s.tune != TUNE_NONE) {
        float g = 0.5f;
        st = tune_global_threshold(err, r->dev_data.y, probs, n, K, r->s.min_labels, &g);
        if (!st) classifier_set_threshold(r->c, float_for_json(g)); /* 0.42, not 0.41999998688697815 */
        if (!st && r->s.tune == TUNE_PER_LABEL) {
            for (int k = 0; k < K; k++) t[k] = g;
            tune_label_thresholds(r->dev_data.y, probs, n, K, t);
            classifier_set_label_thresholds(r->c, t);
        }
    }
    if (!st) st = score_probs(r->c, &r->dev_data, probs, m);
    free(probs);
    free(t);
    return st;
}

static mltc_status evaluate_epoch(run_state *r, train_progress *p, int *stop) {
    metrics m = {0};
    mltc_status st = MLTC_OK;
    if (r->have_dev) st = score_dev(r, &m);
    if (st) return err_prefix(r->dev->err, "evaluating %s: ", r->req->dev_path ? r->req->dev_path : "the dev split");
    int best = !r->have_dev || m.micro_f1 > r->best_f1;
    if (r->have_dev && best) r->best_f1 = m.micro_f1;
    r->since_best = best ? 0 : r->since_best + 1;
    if (best) st = classifier_save(r->c, r->best_dir, NULL, 0);
    if (r->have_dev) {
        cJSON *o = metrics_to_json(&m);
        if (o) {
            cJSON_AddStringToObject(o, "type", "eval");
            cJSON_AddNumberToObject(o, "epoch", r->epoch + 1);
            cJSON_AddNumberToObject(o, "step", (double)r->step);
            cJSON_AddNumberToObject(o, "threshold", classifier_settings(r->c)->threshold);
            cJSON_AddBoolToObject(o, "best", best);
            log_json(r, o);
            cJSON_Delete(o);
        }
        p->is_eval = 1;
        p->dev = &m;
        p->is_best = best;
        if (r->req->callback && r->req->callback(p, r->req->user)) *stop = 1;
        p->is_eval = 0;
        p->dev = NULL;
    }
    /* Early stopping: the run is over once `patience` epochs in a row brought nothing better. */
    if (r->have_dev && r->s.patience > 0 && r->since_best >= r->s.patience && r->epoch + 1 < r->s.epochs) {
        r->stopped_early = 1;
        *stop = 1;
    }
    metrics_free(&m);
    return st;
}

/* Gradient accumulation: parts of at most micro examples make up each batch (0: the batch, shared
 * among the processes: one part each). */
static int micro_of(const train_request *q, int batch, int processes) {
    return q->micro_batch > 0 ? q->micro_batch : (batch + processes - 1) / processes;
}

static void log_step(run_state *r, const clf_losses *loss, double lr, double norm, double examples_per_s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "step");
    cJSON_AddNumberToObject(o, "epoch", r->epoch + 1);
    cJSON_AddNumberToObject(o, "step", (double)r->step);
    add_exact(o, "loss", loss->total);
    add_exact(o, "bce", loss->bce);
    if (r->s.head == HEAD_LMMTC) add_exact(o, "mlm", loss->mlm);
    cJSON_AddNumberToObject(o, "lr", lr);
    add_exact(o, "grad_norm", norm);
    cJSON_AddNumberToObject(o, "examples_per_s", examples_per_s);
    if (dp_size(&r->dp) > 1) { /* the step's gradient sum across the processes */
        cJSON_AddNumberToObject(o, "processes", dp_size(&r->dp));
        cJSON_AddNumberToObject(o, "sum_ms", 1e3 * r->step_comm_s);
        cJSON_AddNumberToObject(o, "sum_bytes", 4.0 * (double)r->dp.floats_summed);
    }
    log_json(r, o);
    cJSON_Delete(o);
}

/* End of an epoch (also when a stop fell on its last batch): evaluate and keep the best, then
 * save where to resume (the next epoch) with the best score so far. In this order a resumed run
 * knows the score a later epoch must beat, and one stopped or killed during the evaluation
 * repeats the epoch's last steps and evaluates again. r->epoch is still the finished epoch. */
static mltc_status finish_epoch(run_state *r, train_progress *p, int *stop) {
    mltc_status st = r->root ? evaluate_epoch(r, p, stop) : MLTC_OK;
    st = dp_agree(&r->dp, st, "evaluating on dev data");
    if (st) return st;
    /* What rank 0's evaluation decided, for the others to go on from. */
    double shared[4] = {*stop, r->stopped_early, r->since_best, r->best_f1};
    TRY(dp_broadcast(&r->dp, shared, sizeof shared));
    *stop = shared[0] != 0;
    r->stopped_early = shared[1] != 0;
    r->since_best = (int)shared[2];
    r->best_f1 = shared[3];
    r->epoch++;
    r->batch_in_epoch = 0;
    st = checkpoint_last(r);
    r->epoch--;
    return st;
}

/* Optimizer step r->step + 1 on the plan's batch r->batch_in_epoch (ex: room for its examples). */
static mltc_status take_step(run_state *r, const batch_plan *plan, clf_example *ex, double lr, double head_lr,
                             clf_losses *loss, double *norm) {
    int first = plan->starts[r->batch_in_epoch], nb = plan->starts[r->batch_in_epoch + 1] - first;
    for (int b = 0; b < nb; b++) {
        int32_t i = plan->order[first + b];
        ex[b] = (clf_example){r->ids[i], r->len[i], r->train.ex[i].labels};
    }
    long step = r->step + 1;
    if (!r->dp.comm) { /* alone: the whole step enqueued, and one wait for its losses and norm */
        mltc_status st = classifier_train_step(r->c, ex, nb, (uint64_t)step, lr, head_lr, loss, norm);
        if (st) return err_prefix(r->dev->err, "train step %ld (epoch %d, batch %d): ", step, r->epoch + 1, r->batch_in_epoch);
        r->step = step;
        return MLTC_OK;
    }
    /* This process's share of the parts: a run of consecutive ones. */
    int parts = classifier_parts(r->c, nb);
    size_t from, to;
    dp_share(&r->dp, (size_t)parts, &from, &to);
    memset(r->part_loss, 0, sizeof *r->part_loss * (size_t)parts);
    mltc_status st = classifier_train_parts(r->c, ex, nb, (uint64_t)step, (int)from, (int)to, r->part_loss);
    if (st) err_prefix(r->dev->err, "train step %ld (epoch %d, batch %d): ", step, r->epoch + 1, r->batch_in_epoch);
    st = dp_agree_step(&r->dp, st, r->part_loss, parts, step);
    if (!st) *loss = classifier_sum_parts(r->part_loss, parts);
    double comm0 = r->dp.comm_s;
    if (!st) st = dp_sum_grads(&r->dp, r->c);
    r->step_comm_s = r->dp.comm_s - comm0;
    if (st) return st;
    st = classifier_optimizer_step(r->c, lr, head_lr, step, norm);
    if (st) err_prefix(r->dev->err, "train step %ld (epoch %d, batch %d): ", step, r->epoch + 1, r->batch_in_epoch);
    TRY(dp_agree(&r->dp, st, "the optimizer step"));
    r->step = step;
    return MLTC_OK;
}

static mltc_status run_loop(run_state *r, train_summary *sum) {
    mltc_error *err = r->dev->err;
    const train_request *q = r->req;
    size_t n = r->train.n;
    int B = r->s.batch;
    lr_schedule sched = lr_schedule_linear(r->s.lr, r->total_steps, r->s.warmup);
    /* The head follows the encoder's schedule at its own peak. */
    double head_scale = r->s.head_lr > 0 ? r->s.head_lr / r->s.lr : 1.0;
    clf_example *ex = malloc(sizeof *ex * (size_t)B);
    int *blen = malloc(sizeof *blen * n);
    r->part_loss = calloc((size_t)classifier_parts(r->c, B), sizeof *r->part_loss);
    if (!ex || !blen || !r->part_loss) {
        free(ex);
        free(blen);
        return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "train: no memory");
    }
    /* Batching sees the truncated input lengths. */
    for (size_t i = 0; i < n; i++) blen[i] = r->len[i] + 2 < r->s.max_len ? r->len[i] + 2 : r->s.max_len;
    int log_every = q->log_every > 0 ? q->log_every : 10;
    double t0 = now_s(), examples = 0;
    long steps_this_run = 0;
    clf_losses loss = {0};
    mltc_status st = MLTC_OK;
    int stop = 0;
    train_progress p = {.epochs = r->s.epochs, .total_steps = r->total_steps};
    for (; !st && !stop && r->epoch < r->s.epochs; r->epoch++, r->batch_in_epoch = 0) {
        batch_plan plan;
        mltc_status made = batch_plan_make(err, blen, (int)n, B, POOL_BATCHES, r->s.seed, r->epoch, &plan);
        st = dp_agree(&r->dp, made, "planning the epoch's batches");
        if (st) {
            if (!made) batch_plan_free(&plan); /* another process failed */
            break;
        }
        p.epoch = r->epoch + 1;
        for (; !st && r->batch_in_epoch < plan.n_batches; r->batch_in_epoch++) {
            int nb = plan.starts[r->batch_in_epoch + 1] - plan.starts[r->batch_in_epoch];
            double lr = lr_at(&sched, r->step + 1), norm = 0;
            st = take_step(r, &plan, ex, lr, lr * head_scale, &loss, &norm);
            if (st) break;
            steps_this_run++;
            examples += nb;
            double el = now_s() - t0;
            p.step = r->step;
            p.loss = loss.total;
            p.loss_mlm = loss.mlm;
            p.lr = lr;
            p.elapsed_s = el;
            p.examples_per_s = el > 0 ? examples / el : 0;
            p.eta_s = steps_this_run > 0 ? el / steps_this_run * (double)(r->total_steps - r->step) : 0;
            if (r->step % log_every == 0 || r->step == 1 || r->step == r->total_steps)
                log_step(r, &loss, lr, norm, p.examples_per_s);
            if (!isfinite(loss.total)) {
                st = err_set(err, MLTC_ERR_INVALID_ARGUMENT,
                             "train step %ld: the loss is not finite (lr %g too high?); the last checkpoint is kept",
                             r->step, lr);
                break;
            }
            if (q->callback && q->callback(&p, q->user)) stop = 1;
            if (q->max_steps > 0 && r->step >= q->max_steps) stop = 1;
            stop = dp_any(&r->dp, stop, &st); /* a stop asked of any process stops all after this step */
            if (st) break;
            if (stop) {
                r->batch_in_epoch++; /* the position to resume at */
                break;
            }
            /* A periodic save mid-epoch (the epoch's last batch is saved below anyway). It stores
             * the next batch as the position, like a stop, so a run killed later resumes there and
             * repeats the steps after it exactly. */
            if (q->save_every > 0 && r->step % q->save_every == 0 && r->batch_in_epoch + 1 < plan.n_batches) {
                r->batch_in_epoch++;
                st = checkpoint_last(r);
                r->batch_in_epoch--;
                if (st) err_prefix(err, "train step %ld: ", r->step);
            }
        }
        int epoch_done = r->batch_in_epoch >= plan.n_batches;
        batch_plan_free(&plan);
        if (st) break;
        if (!epoch_done) { /* stopped mid-epoch: keep the position, nothing to evaluate yet */
            st = checkpoint_last(r);
            break;
        }
        st = finish_epoch(r, &p, &stop);
        if (stop) {
            r->epoch++;
            break;
        }
    }
    free(ex);
    free(blen);
    sum->steps = r->step;
    sum->comm_seconds = r->dp.comm_s;
    sum->floats_summed = r->dp.floats_summed;
    sum->epochs_done = r->epoch;
    sum->final_loss = loss.total;
    sum->best_micro_f1 = r->have_dev ? r->best_f1 : -1;
    sum->seconds = now_s() - t0;
    sum->examples_per_s = sum->seconds > 0 ? examples / sum->seconds : 0;
    return st;
}

/* A resumed run goes on from the saved step: log lines that a killed run wrote after its last
 * save, for steps it will now take again, are dropped, so the log reads as one run. */
static mltc_status trim_log(run_state *r, const char *path) {
    if (!plat_exists(path)) return MLTC_OK;
    char *text = NULL;
    size_t size = 0;
    mltc_status st = file_read_all(r->dev->err, path, (size_t)1 << 30, &text, &size);
    if (st) return st;
    size_t kept = 0, dropped = 0;
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
        cJSON *o = cJSON_ParseWithLength(line, len);
        const cJSON *step = cJSON_GetObjectItemCaseSensitive(o, "step");
        int keep = !cJSON_IsNumber(step) || step->valuedouble <= (double)r->step;
        cJSON_Delete(o);
        if (keep) memmove(text + kept, line, len), kept += len;
        else dropped++;
        line += len;
    }
    if (dropped) st = file_write_atomic(r->dev->err, path, text, kept);
    free(text);
    return st;
}

/* The batch a checkpoint was trained with, for the micro-batch its processes share it in. */
static mltc_status saved_batch(run_state *r, int *batch) {
    char path[4200], *text = NULL;
    size_t size = 0;
    snprintf(path, sizeof path, "%s/mltc.json", r->last_dir);
    mltc_status st = file_read_all(r->dev->err, path, (size_t)1 << 26, &text, &size);
    ckpt_meta m = {0};
    if (!st) st = ckpt_meta_parse(r->dev->err, text, path, &m);
    if (!st) *batch = m.s.batch;
    ckpt_meta_free(&m);
    free(text);
    return st;
}

mltc_status train_run(dev_ctx *dev, const train_request *req, train_summary *out) {
    if (!dev || !req) return MLTC_ERR_INVALID_ARGUMENT;
    mltc_error *err = dev->err;
    if (!req->train_path || !req->out_dir || (!req->model_dir && !req->resume))
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "train: --model, --train and --out are required");
    run_state r = {.dev = dev, .req = req, .s = req->settings, .best_f1 = -1.0};
    train_summary sum = {0};
    paths(&r);
    dp_init(&r.dp, req->comm, err);
    r.root = dp_rank(&r.dp) == 0;
    mltc_status st = train_settings_check(err, &r.s);
    if (!st && r.root) st = dir_create(err, req->out_dir);
    if (!st && req->resume) {
        /* The batch is a saved setting, the micro-batch not (alone, max_batch 0: the saved batch). */
        int micro = req->micro_batch;
        if (!micro && dp_size(&r.dp) > 1 && !(st = saved_batch(&r, &micro))) micro = micro_of(req, micro, dp_size(&r.dp));
        if (!st) st = classifier_load(dev, r.last_dir, micro, 1, &r.c); /* refuses a micro-batch > batch */
        if (!st) {
            r.s = *classifier_settings(r.c); /* the dev split below is the saved run's */
            st = read_position(&r);
        }
        if (!st) st = load_data(&r);
        if (!st) st = check_labels(&r);
    } else if (!st) {
        st = load_data(&r);
        if (!st) resolve_settings(&r);
        if (!st) st = classifier_create(dev, req->model_dir, &r.lbl, &r.s, micro_of(req, r.s.batch, dp_size(&r.dp)),
                                        &r.c); /* likewise */
        if (!st) st = set_label_priors(&r);
    }
    if (!st) st = tokenize_all(&r);
    if (!st) {
        r.n_batches = (int)((r.train.n + (size_t)r.s.batch - 1) / (size_t)r.s.batch);
        r.total_steps = (long)r.n_batches * r.s.epochs;
        if (req->resume) st = check_position(&r);
        char log_path[4200];
        snprintf(log_path, sizeof log_path, "%s/train_log.jsonl", req->out_dir);
        if (!st && req->resume && r.root) st = trim_log(&r, log_path);
        r.log = st || !r.root ? NULL : fopen(log_path, req->resume ? "a" : "w");
        if (!st && r.root && !r.log)
            st = err_set(err, MLTC_ERR_IO, "%s: cannot open the training log (%s)", log_path, strerror(errno));
    }
    /* Every process set up, then all start from rank 0's parameters (and moments). */
    st = dp_agree(&r.dp, st, "setting up training");
    if (!st) st = dp_broadcast_state(&r.dp, r.c);
    /* Resuming a run that already finished does nothing and succeeds, so the same command can be
     * repeated (a requeued job, a script that went on after a kill) without it looking failed;
     * final_loss is NaN, which tells the caller that no step ran. */
    if (!st && (r.step >= r.total_steps || r.stopped_early))
        sum = (train_summary){.steps = r.step, .epochs_done = r.epoch, .final_loss = NAN,
                              .best_micro_f1 = r.have_dev ? r.best_f1 : -1};
    else if (!st)
        st = run_loop(&r, &sum);
    /* Device memory is what a user can trade for time: say how. */
    if (st == MLTC_ERR_OUT_OF_MEMORY) {
        int micro = r.c ? classifier_max_batch(r.c) : micro_of(req, r.s.batch, dp_size(&r.dp));
        if (micro > 1)
            err_suffix(err, " (a smaller --micro-batch / micro_batch than %d keeps fewer examples on the device at a "
                            "time, the batch unchanged)", micro);
        else
            err_suffix(err, " (the micro-batch is 1 already; a smaller --max-len than %d needs less)", r.s.max_len);
    }
    if (r.log) fclose(r.log);
    for (size_t i = 0; r.ids && i < r.train.n; i++) free(r.ids[i]);
    free(r.ids);
    free(r.len);
    classifier_free(r.c);
    free(r.part_loss);
    dp_free(&r.dp);
    dataset_free(&r.train);
    dataset_free(&r.dev_data);
    labels_free(&r.lbl);
    if (out) *out = sum;
    return st;
}
