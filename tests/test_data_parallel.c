/* mltc_train_parallel without MPI: two threads of this process as the ranks, each with its own
 * context and cpu device, talking through an mltc_comm of shared memory and barriers (so the
 * library's side of data parallel training is checked in every build):
 * - the ranks log the losses of one process with the same micro-batch and end on its weights;
 * - a stop asked by one rank's callback stops both after the same step, OUT/last written there;
 * - a rank that fails (its training file is missing) makes both return an error, the other's
 *   naming the failed rank, instead of waiting for it;
 * - a rank whose parameters came out different is caught by the hash at the first save;
 * - mltc_predict_parallel gives every rank the probabilities of one process;
 * - a communicator whose rank is out of range is refused.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/platform.h"
#include "testutil.h"

#define RANKS 2

/* ---- an mltc_comm over threads ------------------------------------------------------------ */

typedef struct group {
    pthread_barrier_t barrier;
    void *slot[RANKS]; /* each rank's data during a call */
} group;

typedef struct member {
    group *g;
    int rank;
    mltc_comm comm;
    int corrupt; /* the next large broadcast this rank receives arrives changed */
} member;

/* Every rank adds all ranks' values in rank order into scratch, then (once all have read) writes
 * them to its own data. */
#define SUM(NAME, T)                                                                 \
    static int NAME(void *user, T *data, size_t n) {                                 \
        member *m = user;                                                            \
        T *sum = malloc(sizeof *sum * (n ? n : 1));                                  \
        m->g->slot[m->rank] = data;                                                  \
        pthread_barrier_wait(&m->g->barrier);                                        \
        for (size_t i = 0; sum && i < n; i++) {                                      \
            sum[i] = 0;                                                              \
            for (int r = 0; r < RANKS; r++) sum[i] += ((const T *)m->g->slot[r])[i]; \
        }                                                                            \
        pthread_barrier_wait(&m->g->barrier);                                        \
        if (sum) memcpy(data, sum, sizeof *sum * n);                                 \
        free(sum);                                                                   \
        return sum ? 0 : 1;                                                          \
    }
SUM(sum_floats, float)
SUM(sum_doubles, double)

static int broadcast(void *user, void *data, size_t bytes, int root) {
    member *m = user;
    if (m->rank == root) m->g->slot[root] = data;
    pthread_barrier_wait(&m->g->barrier);
    if (m->rank != root) memcpy(data, m->g->slot[root], bytes);
    if (m->rank != root && m->corrupt && bytes >= 4096) {
        ((float *)data)[7] += 1e-3f;
        m->corrupt = 0;
    }
    pthread_barrier_wait(&m->g->barrier);
    return 0;
}

/* ---- runs ---------------------------------------------------------------------------------- */

static char dir[] = "/tmp/mltc_dpXXXXXX";
static char model[1100], data[1100], labels_path[1100];

static void options(mltc_train_options *o, const char *out) {
    mltc_train_options_default(o);
    o->model_dir = model;
    o->train_path = data;
    o->labels_path = labels_path;
    o->out_dir = out;
    o->batch = 4;
    o->max_len = 32;
    o->epochs = 2;
    o->log_every = 1;
    o->dev_split = 0;
    o->seed = 7;
}

typedef struct rank_run {
    member m;
    mltc_train_options o;
    long stop_at; /* the callback asks to stop after this step (0: never) */
    mltc_status st;
    char error[1024];
    mltc_train_result res;
} rank_run;

static int stop_at(const mltc_train_progress *p, void *user) {
    const rank_run *r = user;
    return r->stop_at > 0 && p->step >= r->stop_at;
}

static void *rank_main(void *arg) {
    rank_run *r = arg;
    mltc_ctx *ctx = NULL;
    mltc_device *dev = NULL;
    r->st = mltc_ctx_create(&ctx);
    if (!r->st) r->st = mltc_device_open(ctx, "cpu", &dev);
    if (!r->st) r->st = mltc_train_parallel(ctx, dev, &r->o, &r->m.comm, stop_at, r, &r->res);
    snprintf(r->error, sizeof r->error, "%s", ctx ? mltc_last_error(ctx) : "");
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);
    return NULL;
}

/* Both ranks train with their options; returns after both have. */
static void run_ranks(rank_run *runs) {
    group g;
    pthread_barrier_init(&g.barrier, NULL, RANKS);
    pthread_t t[RANKS];
    for (int r = 0; r < RANKS; r++) {
        runs[r].m = (member){&g, r, {r, RANKS, sum_floats, sum_doubles, broadcast, NULL, NULL}, runs[r].m.corrupt};
        runs[r].m.comm.user = &runs[r].m;
        pthread_create(&t[r], NULL, rank_main, &runs[r]);
    }
    for (int r = 0; r < RANKS; r++) pthread_join(t[r], NULL);
    pthread_barrier_destroy(&g.barrier);
}

static double logged(const char *out, long step, const char *key) {
    char path[1200];
    snprintf(path, sizeof path, "%s/train_log.jsonl", out);
    char *text = tu_read_file(path);
    double v = NAN;
    for (char *line = text; line && *line;) {
        char *end = strchr(line, '\n');
        if (end) *end = '\0';
        cJSON *o = cJSON_Parse(line);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "step"), *x = cJSON_GetObjectItemCaseSensitive(o, key);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
        if (cJSON_IsNumber(s) && (long)s->valuedouble == step && cJSON_IsNumber(x) && cJSON_IsString(type) &&
            !strcmp(type->valuestring, "step"))
            v = x->valuedouble;
        cJSON_Delete(o);
        line = end ? end + 1 : line + strlen(line);
    }
    free(text);
    return v;
}

static void check_same_numbers(void) {
    char one[1200], two[1200];
    snprintf(one, sizeof one, "%s/one", dir);
    snprintf(two, sizeof two, "%s/two", dir);
    /* One process in parts of 2, the parts the two ranks share. */
    mltc_ctx *ctx = NULL;
    mltc_device *dev = NULL;
    tu_must(mltc_ctx_create(&ctx), NULL, "ctx");
    mltc_train_options o;
    options(&o, one);
    o.micro_batch = 2;
    mltc_status st = mltc_device_open(ctx, "cpu", &dev);
    if (!st) st = mltc_train(ctx, dev, &o, NULL, NULL, NULL);
    if (!tu_status(st, MLTC_OK, NULL, "one process trains")) printf("  %s\n", mltc_last_error(ctx));
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);

    rank_run runs[RANKS] = {0};
    for (int r = 0; r < RANKS; r++) options(&runs[r].o, two);
    run_ranks(runs);
    for (int r = 0; r < RANKS; r++)
        if (!tu_status(runs[r].st, MLTC_OK, NULL, "a rank trains")) printf("  rank %d: %s\n", r, runs[r].error);
    tu_check(runs[0].res.steps == 6 && runs[1].res.steps == 6, "both ranks took 6 steps (%ld, %ld)", runs[0].res.steps,
             runs[1].res.steps);
    for (long step = 1; step <= 6; step++) {
        double a = logged(one, step, "loss"), b = logged(two, step, "loss");
        double na = logged(one, step, "grad_norm"), nb = logged(two, step, "grad_norm");
        printf("step %ld: loss %.9g (one process) vs %.9g (two ranks), grad norm %.9g vs %.9g\n", step, a, b, na, nb);
        tu_check(isfinite(a) && fabs(a - b) <= 1e-6 * fabs(a) && fabs(na - nb) <= 1e-5 * fabs(na),
                 "step %ld: two ranks log loss %.9g, grad norm %.9g; one process %.9g, %.9g", step, b, nb, a, na);
    }
    /* Only rank 0 writes: the other's callback never saw an evaluation. */
    tu_check(runs[1].res.final_loss == runs[0].res.final_loss, "both ranks end on loss %.9g (rank 1: %.9g)",
             runs[0].res.final_loss, runs[1].res.final_loss);
}

static void check_stop(void) {
    char out[1200];
    snprintf(out, sizeof out, "%s/stop", dir);
    rank_run runs[RANKS] = {0};
    for (int r = 0; r < RANKS; r++) options(&runs[r].o, out);
    runs[1].stop_at = 2; /* rank 1 alone asks */
    run_ranks(runs);
    tu_check(!runs[0].st && !runs[1].st, "a stop: statuses %d, %d (%s / %s)", runs[0].st, runs[1].st, runs[0].error,
             runs[1].error);
    tu_check(runs[0].res.steps == 2 && runs[1].res.steps == 2, "a stop asked by rank 1 after step 2: steps %ld, %ld",
             runs[0].res.steps, runs[1].res.steps);
    char path[1300];
    snprintf(path, sizeof path, "%s/last/mltc.json", out);
    char *text = tu_read_file(path);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "extra"), "step");
    tu_check(cJSON_IsNumber(step) && step->valuedouble == 2, "OUT/last holds step 2");
    cJSON_Delete(o);
    free(text);
}

static void check_hash(void) {
    char out[1200];
    snprintf(out, sizeof out, "%s/hash", dir);
    rank_run runs[RANKS] = {0};
    for (int r = 0; r < RANKS; r++) {
        options(&runs[r].o, out);
        runs[r].o.max_steps = 2; /* the stop saves OUT/last */
    }
    runs[1].m.corrupt = 1; /* rank 1 starts from other weights than rank 0 */
    run_ranks(runs);
    printf("different parameters: rank 0 says '%s'\n", runs[0].error);
    for (int r = 0; r < RANKS; r++)
        tu_check(runs[r].st != MLTC_OK && strstr(runs[r].error, "rank 1's parameters differ"),
                 "rank %d: different parameters are not caught at the save: %d '%s'", r, runs[r].st, runs[r].error);
    char last[1300];
    snprintf(last, sizeof last, "%s/last", out);
    tu_check(!plat_exists(last), "different parameters: OUT/last was written");
}

static void check_failure(void) {
    char out[1200], missing[1200];
    snprintf(out, sizeof out, "%s/fail", dir);
    snprintf(missing, sizeof missing, "%s/no-such-file.jsonl", dir);
    rank_run runs[RANKS] = {0};
    for (int r = 0; r < RANKS; r++) options(&runs[r].o, out);
    runs[1].o.train_path = missing;
    run_ranks(runs); /* returns: nobody waits for the failed rank */
    printf("a failed rank: rank 0 says '%s'; rank 1 says '%s'\n", runs[0].error, runs[1].error);
    tu_check(runs[1].st == MLTC_ERR_IO && strstr(runs[1].error, "no-such-file"), "rank 1 reports its own error");
    tu_check(runs[0].st != MLTC_OK && strstr(runs[0].error, "rank 1"), "rank 0 names rank 1 as the one that failed");
}

/* ---- predictions shared among the ranks ---------------------------------------------------- */

#define N_TEXTS 5
static const char *const texts[N_TEXTS] = {"oil prices rose", "the bank cut rates", "wheat exports",
                                           "net profit up 12 pct", "crude output fell in march"};

typedef struct predict_run {
    member m;
    const char *checkpoint;
    mltc_status st;
    char error[1024];
    float probs[N_TEXTS * 4];
} predict_run;

static void *predict_main(void *arg) {
    predict_run *r = arg;
    mltc_ctx *ctx = NULL;
    mltc_device *dev = NULL;
    mltc_model *loaded = NULL;
    r->st = mltc_ctx_create(&ctx);
    if (!r->st) r->st = mltc_device_open(ctx, "cpu", &dev);
    if (!r->st) r->st = mltc_model_load(ctx, dev, r->checkpoint, &loaded);
    if (!r->st) r->st = mltc_predict_parallel(ctx, loaded, texts, N_TEXTS, &r->m.comm, r->probs);
    snprintf(r->error, sizeof r->error, "%s", ctx ? mltc_last_error(ctx) : "");
    mltc_model_free(loaded);
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);
    return NULL;
}

static void check_predict(void) {
    char ckpt[1200];
    snprintf(ckpt, sizeof ckpt, "%s/two/best", dir);
    float alone[N_TEXTS * 4];
    mltc_ctx *ctx = NULL;
    mltc_device *dev = NULL;
    mltc_model *loaded = NULL;
    tu_must(mltc_ctx_create(&ctx), NULL, "ctx");
    mltc_status st = mltc_device_open(ctx, "cpu", &dev);
    if (!st) st = mltc_model_load(ctx, dev, ckpt, &loaded);
    if (!st) st = mltc_predict(ctx, loaded, texts, N_TEXTS, alone);
    if (!tu_status(st, MLTC_OK, NULL, "one process predicts")) printf("  %s\n", mltc_last_error(ctx));
    mltc_model_free(loaded);
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);

    group g;
    pthread_barrier_init(&g.barrier, NULL, RANKS);
    predict_run runs[RANKS] = {0};
    pthread_t t[RANKS];
    for (int r = 0; r < RANKS; r++) {
        runs[r].m = (member){&g, r, {r, RANKS, sum_floats, sum_doubles, broadcast, NULL, NULL}, 0};
        runs[r].m.comm.user = &runs[r].m;
        runs[r].checkpoint = ckpt;
        pthread_create(&t[r], NULL, predict_main, &runs[r]);
    }
    for (int r = 0; r < RANKS; r++) pthread_join(t[r], NULL);
    pthread_barrier_destroy(&g.barrier);
    for (int r = 0; r < RANKS; r++) {
        if (!tu_status(runs[r].st, MLTC_OK, NULL, "a rank predicts")) printf("  rank %d: %s\n", r, runs[r].error);
        double worst = 0;
        for (int i = 0; i < N_TEXTS * 4; i++) worst = fmax(worst, fabs((double)runs[r].probs[i] - alone[i]));
        printf("predict, rank %d of 2: the probabilities differ from one process's by %.3g\n", r, worst);
        tu_check(worst <= 1e-6, "predict: rank %d's probabilities differ by %.3g", r, worst);
    }
}

static void check_refused(void) {
    mltc_ctx *ctx = NULL;
    mltc_device *dev = NULL;
    tu_must(mltc_ctx_create(&ctx), NULL, "ctx");
    tu_must(mltc_device_open(ctx, "cpu", &dev), NULL, "device");
    mltc_train_options o;
    options(&o, dir);
    mltc_comm bad = {2, 2, sum_floats, sum_doubles, broadcast, NULL, NULL};
    mltc_status st = mltc_train_parallel(ctx, dev, &o, &bad, NULL, NULL, NULL);
    tu_check(st == MLTC_ERR_INVALID_ARGUMENT && strstr(mltc_last_error(ctx), "rank 2"),
             "rank 2 of 2 is refused: %d '%s'", st, mltc_last_error(ctx));
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);
}

int main(void) {
    if (!tu_mkdtemp(dir, sizeof dir)) return 1;
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(data, sizeof data, "%s/train.jsonl", dir);
    snprintf(labels_path, sizeof labels_path, "%s/labels.txt", dir);
    static const char *const names[] = {"earn", "acq", "crude", "grain"};
    if (tu_write_tiny_bert(model, 5) || tu_write_reuters_slice(data, labels_path, 0, 12, names, 4) != 12) return 1;
    check_same_numbers();
    check_predict();
    check_stop();
    check_hash();
    check_failure();
    check_refused();
    if (tu_finish() == 0) tu_remove_tree(dir);
    return tu_finish();
}
