/*
 * The training run: data, tokenization, length-bucketed batches, AdamW with linear warm-up
 * and decay, evaluation on a dev file every epoch with the best checkpoint kept by micro-F1,
 * checkpoints that can be resumed bit-identically on the same backend, and a JSONL log.
 *
 * Output folder:
 *   OUT/best/   the checkpoint with the best dev micro-F1 (or the last one without --dev)
 *   OUT/last/   the latest checkpoint with optimizer state, for --resume
 *   OUT/train_log.jsonl   one JSON object per logged step and per evaluation
 */
#ifndef MLTC_RUN_TRAIN_H
#define MLTC_RUN_TRAIN_H

#include "device/device.h"
#include "run/dataset.h"
#include "run/metrics.h"
#include "model/settings.h"

typedef struct train_progress {
    int epoch, epochs;            /* 1-based */
    long step, total_steps;       /* optimizer steps done so far, of all */
    double loss, loss_mlm;        /* of the last step */
    double lr;
    double examples_per_s;
    double elapsed_s, eta_s;
    int is_eval;                  /* 1: an evaluation just finished; dev holds its scores */
    const metrics *dev;
    int is_best;                  /* the evaluation is the best so far (saved to OUT/best) */
} train_progress;

/* Called after every step and evaluation; a non-zero return stops training (the last
 * checkpoint is written first). */
typedef int (*train_callback)(const train_progress *p, void *user);

typedef struct train_request {
    const char *model_dir;   /* Hugging Face BERT folder; or a checkpoint when resuming */
    const char *train_path;
    const char *dev_path;    /* may be NULL */
    const char *labels_path; /* may be NULL when the training file is tsv-columns */
    const char *out_dir;
    dataset_options data;
    train_settings settings;
    int resume;              /* continue from OUT/last */
    int log_every;           /* steps between log lines (default 10) */
    long max_steps;          /* stop after this many optimizer steps (0 = all); for tests */
    long save_every;         /* write OUT/last every this many steps too (0: epoch ends and stops) */
    int micro_batch;         /* examples on the device at a time (gradient accumulation; 0: the
                                batch). Not a setting: a resumed run may use another. */
    train_callback callback;
    void *user;
    const mltc_comm *comm;   /* the processes training together (run/data_parallel.h); NULL: one */
} train_request;

typedef struct train_summary {
    long steps;
    int epochs_done;
    double final_loss;       /* NaN when no step ran: a resumed run that had already finished */
    double best_micro_f1;    /* -1 without a dev file */
    double seconds;
    double examples_per_s;
    double comm_seconds;     /* in summing gradients across processes (host copies included) */
    size_t floats_summed;    /* gradient floats summed per step (0 alone) */
} train_summary;

mltc_status train_run(dev_ctx *dev, const train_request *req, train_summary *out);

#endif
