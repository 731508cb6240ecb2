/* mltc bench: a random-weight BERT with the bert head, timed through the real classifier path. */
#include "run/bench.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"
#include "core/platform.h"
#include "model/bert.h"
#include "model/classifier.h"
#include "model/safetensors.h"
#include "model/labels.h"
#include "model/settings.h"
#include "run/data_parallel.h"

void bench_options_default(bench_options *o) {
    *o = (bench_options){.device = NULL, .config = "minilm", .seq = 128, .batch = 8, .steps = 5, .warmup = 2,
                         .profile_steps = 2, .labels = 90};
}

mltc_status bench_config(mltc_error *err, const char *spec, bert_config *cfg, char *name_out, size_t name_size) {
    if (!spec || !*spec) spec = "minilm";
    /* The named shapes share BERT's uncased vocabulary and 512 positions. */
    bert_config c = {.vocab_size = 30522, .max_position = 512, .type_vocab_size = 2, .layer_norm_eps = 1e-12f,
                     .hidden_dropout = 0.1f, .attention_dropout = 0.1f, .pad_token_id = 0, .num_heads = 12};
    const char *name = spec;
    if (!strcmp(spec, "minilm")) {
        c.hidden_size = 384, c.num_layers = 6, c.intermediate_size = 1536;
    } else if (!strcmp(spec, "small")) { /* where per-op overheads, not arithmetic, dominate */
        c.hidden_size = 64, c.num_layers = 6, c.intermediate_size = 256, c.num_heads = 4;
    } else if (!strcmp(spec, "base")) {
        c.hidden_size = 768, c.num_layers = 12, c.intermediate_size = 3072;
    } else {
        TRY(bert_config_load(err, spec, &c));
        const char *slash = strrchr(spec, '/');
        name = slash ? slash + 1 : spec;
    }
    TRY(bert_config_check(err, &c, spec));
    *cfg = c;
    if (name_out && name_size) snprintf(name_out, name_size, "%s", name);
    return MLTC_OK;
}

/* ---- the temporary model folder ------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s) { /* xorshift64*: weights only need to be unremarkable */
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

/* Random tensors under the names the loader expects, taken from a throw-away model's table. */
static mltc_status write_weights(mltc_error *err, const bert_config *cfg, const char *path) {
    dev_ctx *cpu = NULL;
    bert_model *m = NULL;
    st_writer *w = NULL;
    float *data = NULL;
    mltc_status st = dev_open(err, "cpu", &cpu);
    if (!st) st = bert_model_create(cpu, cfg, 1, 2, &m);
    if (!st) st = st_writer_create(err, &w);
    uint64_t rng = 0x6D6C7463ull; /* "mltc" */
    const float a = 0.02f * sqrtf(3.0f); /* U(-a, a) has std 0.02, BERT's initializer_range */
    for (int i = 0; !st && i < bert_tensor_count(m); i++) {
        const bert_tensor *t = bert_tensor_at(m, i);
        float *d = realloc(data, t->numel * sizeof *d);
        if (!d) {
            st = err_set(err, MLTC_ERR_OUT_OF_MEMORY, "bench: no memory for tensor %s", t->name);
            break;
        }
        data = d;
        int ln = strstr(t->name, "LayerNorm.weight") != NULL, bias = ends_with(t->name, "bias");
        for (size_t j = 0; j < t->numel; j++)
            d[j] = ln ? 1.0f : bias ? 0.0f : a * (2.0f * (float)(rng_next(&rng) >> 40) / (float)(1 << 24) - 1.0f);
        char name[128];
        snprintf(name, sizeof name, "bert.%s", t->name);
        st = st_writer_add_f32(w, name, t->ndim, t->shape, d);
    }
    free(data);
    bert_model_free(m); /* frees the parameters before the writer's copy goes to disk */
    m = NULL;
    if (!st) st = st_writer_commit(w, path);
    st_writer_free(w);
    dev_close(cpu);
    return st;
}

/* [PAD] [UNK] [CLS] [SEP] [MASK], then made-up words up to vocab_size lines. */
static mltc_status write_vocab(mltc_error *err, int vocab, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return err_set(err, MLTC_ERR_IO, "bench: cannot write %s", path);
    static const char *const specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (int i = 0; i < vocab; i++) {
        if (i < 5)
            fprintf(f, "%s\n", specials[i]);
        else
            fprintf(f, "w%d\n", i);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return err_set(err, MLTC_ERR_IO, "bench: writing %s failed", path);
    return MLTC_OK;
}

static void remove_folder(const char *dir) {
    static const char *const files[] = {"config.json", "model.safetensors", "vocab.txt"};
    char p[1100];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        remove(p);
    }
    plat_remove_dir(dir);
}

static mltc_status write_folder(mltc_error *err, const bert_config *cfg, char *dir, size_t dir_size) {
    if (plat_make_temp_dir("mltc-bench-", dir, dir_size) != 0)
        return err_set(err, MLTC_ERR_IO, "bench: cannot create a temporary folder %s (%s)", dir, strerror(errno));
    if (cfg->vocab_size < 6) return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "bench: vocab_size must be >= 6");
    char p[1100];
    snprintf(p, sizeof p, "%s/config.json", dir);
    mltc_status st = bert_config_save(err, cfg, p);
    if (!st) snprintf(p, sizeof p, "%s/vocab.txt", dir), st = write_vocab(err, cfg->vocab_size, p);
    if (!st) snprintf(p, sizeof p, "%s/model.safetensors", dir), st = write_weights(err, cfg, p);
    return st;
}

/* ---- timing -------------------------------------------------------------------------------- */

static double now_s(void) { return plat_seconds(); }

void bench_split_of(const dev_profile *p, bench_split *s) {
    double total = 0, mm = 0, att = 0, ln = 0;
    for (int b = 0; b < DEV_PROF_COUNT; b++) {
        double t = p->seconds[b];
        total += t;
        if (b == DEV_OP_MATMUL || b == DEV_PROF_MATMUL_BATCHED) mm += t;
        if (b == DEV_OP_SOFTMAX_FORWARD || b == DEV_OP_SOFTMAX_BACKWARD || b == DEV_OP_ATTENTION_FORWARD ||
            b == DEV_OP_ATTENTION_TRAIN_FORWARD || b == DEV_OP_ATTENTION_TRAIN_BACKWARD)
            att += t;
        if (b == DEV_OP_LAYERNORM_FORWARD || b == DEV_OP_LAYERNORM_BACKWARD) ln += t;
    }
    if (!(total > 0)) {
        *s = (bench_split){0};
        return;
    }
    *s = (bench_split){mm / total, att / total, ln / total, (total - mm - att - ln) / total};
}

typedef struct bench_state {
    classifier *clf;
    dev_ctx *dev;
    clf_example *ex;
    int batch;
    long step; /* optimizer steps taken */
} bench_state;

static mltc_status train_steps(bench_state *b, int n) {
    for (int i = 0; i < n; i++) {
        b->step++;
        clf_losses loss;
        double norm;
        /* What a training run does: the losses and the norm come back (the step's one wait). */
        TRY(classifier_train_step(b->clf, b->ex, b->batch, (uint64_t)b->step, 5e-5, 1e-3, &loss, &norm));
        TRY(dev_sync(b->dev));
    }
    return MLTC_OK;
}

static mltc_status infer_batches(bench_state *b, int n, float *probs) {
    int micro = classifier_max_batch(b->clf);
    for (int i = 0; i < n; i++)
        for (int first = 0; first < b->batch; first += micro)
            TRY(classifier_predict(b->clf, b->ex + first, b->batch - first < micro ? b->batch - first : micro, probs));
    return MLTC_OK;
}

/* Runs fn's n steps profiled; leaves the buckets and the wall time in prof / wall. */
static mltc_status profiled(bench_state *b, int train, int n, float *probs, dev_profile *prof, double *wall) {
    TRY(dev_profile_enable(b->dev, 1));
    dev_profile_reset(b->dev);
    double t0 = now_s();
    mltc_status st = train ? train_steps(b, n) : infer_batches(b, n, probs);
    *wall = now_s() - t0;
    dev_profile_read(b->dev, prof);
    dev_profile_enable(b->dev, 0);
    return st;
}

/* Timed steps of every process on its share of the batch (the parts of the data-parallel run). */
static mltc_status measure_parallel(bench_state *b, dp_group *dp, const bench_options *o, bench_result *r) {
    int parts = classifier_parts(b->clf, b->batch), size = dp_size(dp);
    size_t from, to;
    dp_share(dp, (size_t)parts, &from, &to);
    clf_losses *loss = calloc((size_t)parts, sizeof *loss);
    mltc_status st = loss ? MLTC_OK : err_set(dp->err, MLTC_ERR_OUT_OF_MEMORY, "bench: no memory");
    st = dp_agree(dp, st, "bench");
    double compute = 0, sum = 0, t_start = 0;
    for (int i = 0; !st && i < o->warmup + o->steps; i++) {
        if (i == o->warmup) {
            compute = sum = 0;
            t_start = now_s();
        }
        b->step++;
        double t0 = now_s();
        memset(loss, 0, sizeof *loss * (size_t)parts);
        st = classifier_train_parts(b->clf, b->ex, b->batch, (uint64_t)b->step, (int)from, (int)to, loss);
        if (!st) st = dev_sync(b->dev);
        double t1 = now_s();
        st = dp_agree_step(dp, st, loss, parts, b->step);
        if (!st) st = dp_sum_grads(dp, b->clf);
        double t2 = now_s();
        if (!st) st = classifier_optimizer_step(b->clf, 5e-5, 1e-3, b->step, NULL);
        if (!st) st = dev_sync(b->dev);
        st = dp_agree(dp, st, "bench: the optimizer step");
        compute += (t1 - t0) + (now_s() - t2);
        sum += t2 - t1;
    }
    free(loss);
    if (st) return st;
    r->processes = size;
    r->par_step_s = (now_s() - t_start) / o->steps;
    r->par_compute_s = compute / o->steps;
    r->par_sum_s = sum / o->steps;
    r->par_seq_per_s = o->batch / r->par_step_s;
    r->sum_bytes = 4.0 * (double)dp->floats_summed;
    /* rank 0's alone time, for every rank's report */
    double alone = r->train_step_s;
    TRY(dp_broadcast(dp, &alone, sizeof alone));
    r->train_step_s = alone;
    r->speedup = alone / r->par_step_s;
    r->efficiency = r->speedup / size;
    return MLTC_OK;
}

static mltc_status measure(bench_state *b, const bench_options *o, bench_result *r, float *probs) {
    TRY(train_steps(b, o->warmup));
    dev_counts c0 = dev_counts_read(b->dev);
    double t0 = now_s();
    TRY(train_steps(b, o->steps));
    r->train_step_s = (now_s() - t0) / o->steps;
    r->train_counts = dev_counts_diff(dev_counts_read(b->dev), c0);
    r->train_seq_per_s = o->batch / r->train_step_s;

    TRY(infer_batches(b, o->warmup, probs));
    c0 = dev_counts_read(b->dev);
    t0 = now_s();
    TRY(infer_batches(b, o->steps, probs));
    r->infer_batch_s = (now_s() - t0) / o->steps;
    r->infer_counts = dev_counts_diff(dev_counts_read(b->dev), c0);
    r->infer_seq_per_s = o->batch / r->infer_batch_s;

    if (o->profile_steps > 0) {
        TRY(profiled(b, 1, o->profile_steps, probs, &r->train_prof, &r->train_prof_wall_s));
        TRY(profiled(b, 0, o->profile_steps, probs, &r->infer_prof, &r->infer_prof_wall_s));
        bench_split_of(&r->train_prof, &r->train_split);
        bench_split_of(&r->infer_prof, &r->infer_split);
    }
    return MLTC_OK;
}

/* B random sequences of seq - 2 ids (the classifier adds [CLS] and [SEP]) and random gold. */
static mltc_status make_examples(mltc_error *err, const bench_options *o, int vocab, int32_t **ids_out,
                                 uint8_t **gold_out, clf_example **ex_out) {
    int n = o->seq - 2;
    int32_t *ids = malloc(sizeof *ids * (size_t)o->batch * (size_t)(n > 0 ? n : 1));
    uint8_t *gold = malloc((size_t)o->batch * (size_t)o->labels);
    clf_example *ex = malloc(sizeof *ex * (size_t)o->batch);
    *ids_out = ids, *gold_out = gold, *ex_out = ex;
    if (!ids || !gold || !ex) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "bench: no memory for the batch");
    uint64_t rng = 0x42454E4348ull; /* "BENCH" */
    for (int b = 0; b < o->batch; b++) {
        for (int t = 0; t < n; t++) ids[(size_t)b * n + t] = 5 + (int32_t)(rng_next(&rng) % (uint64_t)(vocab - 5));
        for (int k = 0; k < o->labels; k++) gold[(size_t)b * o->labels + k] = (rng_next(&rng) >> 60) == 0;
        ex[b] = (clf_example){ids + (size_t)b * n, n, gold + (size_t)b * o->labels};
    }
    return MLTC_OK;
}

static mltc_status check_options(mltc_error *err, const bench_options *o, const bert_config *cfg) {
    if (o->seq < 3 || o->seq > cfg->max_position)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "bench: --seq %d must be in [3, %d] (the model's positions)",
                       o->seq, cfg->max_position);
    if (o->batch < 1 || o->steps < 1 || o->warmup < 0 || o->profile_steps < 0 || o->labels < 1)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT,
                       "bench: batch, steps and labels must be >= 1, warmup and profile steps >= 0");
    if (o->micro_batch < 0 || o->micro_batch > o->batch)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "bench: --micro-batch %d must be in [1, --batch %d]",
                       o->micro_batch, o->batch);
    return MLTC_OK;
}

mltc_status bench_run(mltc_error *err, const bench_options *o, bench_result *r) {
    if (!o || !r) return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "bench: NULL argument");
    memset(r, 0, sizeof *r);
    TRY(bench_config(err, o->config, &r->cfg, r->config, sizeof r->config));
    TRY(check_options(err, o, &r->cfg));
    dp_group dp;
    dp_init(&dp, o->comm, err);
    /* across processes the batch is shared: one part each unless told */
    int micro = o->micro_batch > 0 ? o->micro_batch : (o->batch + dp_size(&dp) - 1) / dp_size(&dp);
    r->seq = o->seq, r->batch = o->batch, r->micro_batch = micro, r->steps = o->steps, r->labels = o->labels;

    char dir[1024];
    bench_state b = {.batch = o->batch};
    labels lbl = {0};
    int32_t *ids = NULL;
    uint8_t *gold = NULL;
    float *probs = NULL;
    mltc_status st = write_folder(err, &r->cfg, dir, sizeof dir);
    dev_precision prec = DEV_PREC_FP32;
    if (!st && o->precision) st = dev_precision_parse(err, o->precision, &prec);
    if (!st) st = dev_open(err, o->device, &b.dev);
    if (!st) st = dev_set_matmul_precision(b.dev, prec);
    if (!st) snprintf(r->device, sizeof r->device, "%s", b.dev->id);
    snprintf(r->precision, sizeof r->precision, "%s", dev_precision_name(prec));
    char name[32];
    for (int k = 0; !st && k < o->labels; k++) {
        snprintf(name, sizeof name, "label%d", k);
        st = labels_add(err, &lbl, name);
    }
    train_settings s;
    train_settings_default(&s);
    s.head = HEAD_BERT;
    if (!st && o->pooling) st = pooling_kind_parse(err, o->pooling, &s.pooling);
    snprintf(r->pooling, sizeof r->pooling, "%s", pooling_kind_name(s.pooling));
    s.batch = o->batch;
    s.max_len = o->seq;
    if (!st) st = classifier_create(b.dev, dir, &lbl, &s, micro, &b.clf);
    if (!st) st = make_examples(err, o, r->cfg.vocab_size, &ids, &gold, &b.ex);
    if (!st && !(probs = malloc(sizeof *probs * (size_t)o->batch * (size_t)o->labels)))
        st = err_set(err, MLTC_ERR_OUT_OF_MEMORY, "bench: no memory for probabilities");
    /* rank 0 alone first (the others wait), then all together */
    st = dp_agree(&dp, st, "bench: setting up");
    if (!st && dp_rank(&dp) == 0) st = measure(&b, o, r, probs);
    st = dp_agree(&dp, st, "bench: rank 0 alone");
    if (!st && dp_size(&dp) > 1) st = measure_parallel(&b, &dp, o, r);
    /* Peak over set-up, training and inference: what a training run of this shape needs. */
    if (b.dev) r->peak_bytes = dev_mem_peak(b.dev);
    free(probs);
    free(ids);
    free(gold);
    free(b.ex);
    classifier_free(b.clf);
    labels_free(&lbl);
    dev_close(b.dev);
    dp_free(&dp);
    remove_folder(dir);
    return st;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static cJSON *split_json(const bench_split *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "matmul", s->matmul);
    cJSON_AddNumberToObject(o, "attention", s->attention);
    cJSON_AddNumberToObject(o, "layernorm", s->layernorm);
    cJSON_AddNumberToObject(o, "other", s->other);
    return o;
}

static cJSON *ops_json(const dev_profile *p) {
    cJSON *o = cJSON_CreateObject();
    for (int b = 0; b < DEV_PROF_COUNT; b++) {
        if (!p->count[b]) continue;
        cJSON *e = cJSON_AddObjectToObject(o, dev_prof_bucket_name(b));
        cJSON_AddNumberToObject(e, "ms", 1e3 * p->seconds[b]);
        cJSON_AddNumberToObject(e, "count", (double)p->count[b]);
    }
    return o;
}

/* Counts per step (or batch): the totals over the timed steps divided by their number. */
static cJSON *counts_json(const dev_counts *c, int steps) {
    cJSON *o = cJSON_CreateObject();
    double n = steps > 0 ? steps : 1;
    cJSON_AddNumberToObject(o, "dispatches", (double)c->dispatches / n);
    cJSON_AddNumberToObject(o, "transfers", (double)c->transfers / n);
    cJSON_AddNumberToObject(o, "barriers", (double)c->barriers / n);
    cJSON_AddNumberToObject(o, "host_waits", (double)c->host_waits / n);
    cJSON_AddNumberToObject(o, "allocations", (double)c->allocations / n);
    cJSON_AddNumberToObject(o, "submits", (double)c->submits / n);
    return o;
}

char *bench_result_json(const bench_result *r) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "device", r->device);
    cJSON_AddStringToObject(o, "config", r->config);
    cJSON_AddStringToObject(o, "precision", r->precision);
    cJSON_AddStringToObject(o, "pooling", r->pooling);
    cJSON *sh = cJSON_AddObjectToObject(o, "shape");
    cJSON_AddNumberToObject(sh, "layers", r->cfg.num_layers);
    cJSON_AddNumberToObject(sh, "hidden", r->cfg.hidden_size);
    cJSON_AddNumberToObject(sh, "heads", r->cfg.num_heads);
    cJSON_AddNumberToObject(sh, "intermediate", r->cfg.intermediate_size);
    cJSON_AddNumberToObject(sh, "vocab", r->cfg.vocab_size);
    cJSON_AddNumberToObject(o, "seq", r->seq);
    cJSON_AddNumberToObject(o, "batch", r->batch);
    cJSON_AddNumberToObject(o, "micro_batch", r->micro_batch);
    cJSON_AddNumberToObject(o, "steps", r->steps);
    cJSON_AddNumberToObject(o, "labels", r->labels);
    cJSON_AddNumberToObject(o, "train_seq_per_s", r->train_seq_per_s);
    cJSON_AddNumberToObject(o, "infer_seq_per_s", r->infer_seq_per_s);
    cJSON_AddNumberToObject(o, "train_step_ms", 1e3 * r->train_step_s);
    cJSON_AddNumberToObject(o, "infer_batch_ms", 1e3 * r->infer_batch_s);
    cJSON_AddNumberToObject(o, "peak_bytes", (double)r->peak_bytes);
    cJSON_AddItemToObject(o, "split", split_json(&r->train_split));
    cJSON_AddItemToObject(o, "infer_split", split_json(&r->infer_split));
    cJSON_AddNumberToObject(o, "profiled_train_wall_ms", 1e3 * r->train_prof_wall_s);
    cJSON_AddItemToObject(o, "ops", ops_json(&r->train_prof));
    cJSON_AddItemToObject(o, "infer_ops", ops_json(&r->infer_prof));
    if (r->processes > 1) {
        cJSON *p = cJSON_AddObjectToObject(o, "parallel");
        cJSON_AddNumberToObject(p, "processes", r->processes);
        cJSON_AddNumberToObject(p, "train_seq_per_s", r->par_seq_per_s);
        cJSON_AddNumberToObject(p, "train_step_ms", 1e3 * r->par_step_s);
        cJSON_AddNumberToObject(p, "compute_ms", 1e3 * r->par_compute_s);
        cJSON_AddNumberToObject(p, "sum_ms", 1e3 * r->par_sum_s);
        cJSON_AddNumberToObject(p, "sum_bytes", r->sum_bytes);
        cJSON_AddNumberToObject(p, "speedup", r->speedup);
        cJSON_AddNumberToObject(p, "efficiency", r->efficiency);
    }
    cJSON *counts = cJSON_AddObjectToObject(o, "counts");
    cJSON_AddItemToObject(counts, "train_step", counts_json(&r->train_counts, r->steps));
    cJSON_AddItemToObject(counts, "infer_batch", counts_json(&r->infer_counts, r->steps));
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}
