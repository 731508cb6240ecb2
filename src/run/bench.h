/*
 * The speed benchmark behind `mltc bench`: a random-weight BERT of a given shape with the `bert`
 * head (the real classifier path: classifier_create, classifier_train_batch,
 * classifier_optimizer_step, classifier_predict) on one device, measuring
 *  - training sequences/s: forward + backward + gradient clipping + AdamW, after warm-up
 *    steps, every step synchronised (the loss is read back);
 *  - inference sequences/s: classifier_predict on the same batch (in parts of micro_batch);
 *  - peak device memory: the most bytes held through dev_alloc at once, set-up included;
 *  - the time split by op family, from separate profiled steps (device_profile.h: a sync
 *    around every op, so those steps are slower and are not used for the rates);
 *  - what the backend asked of the device per timed training step and inference batch
 *    (dev_counts: dispatches, transfers, barriers, host waits, allocations, submits), counted by
 *    the backend over the timed (warmed-up) steps.
 * The model folder (config.json, model.safetensors with weights ~ U with std 0.02, layernorm
 * 1 and biases 0, and a synthetic vocab.txt) is written to a temporary folder and removed.
 */
#ifndef MLTC_RUN_BENCH_H
#define MLTC_RUN_BENCH_H

#include <stddef.h>

#include "core/error.h"
#include "mltc.h"
#include "device/device_profile.h"
#include "model/bert_config.h"

typedef struct bench_options {
    const char *device; /* dev_open spec; NULL: MLTC_DEVICE, else cpu */
    const char *config; /* "minilm", "base", or a config.json path; NULL: minilm */
    const char *precision; /* matmul precision, "fp32" or "bf16"; NULL: fp32 */
    int seq;            /* tokens per sequence, [CLS] and [SEP] included */
    int batch;
    int micro_batch;    /* sequences on the device at a time (gradient accumulation); 0: batch */
    int steps;          /* timed training steps, and timed inference batches */
    int warmup;         /* untimed steps before each timing */
    int profile_steps;  /* profiled training steps (and inference batches) for the split */
    int labels;         /* K of the bert head */
    const char *pooling; /* the bert head's text vector: "mean" (the recipe's) or "cls"; NULL: mean */
    const mltc_comm *comm; /* processes training together (NULL: one): rank 0 measures alone first,
                              then every rank runs its share of each batch (run/data_parallel.h) */
} bench_options;

/* Fractions of the profiled op time; they sum to 1 when any op ran. */
typedef struct bench_split {
    double matmul;    /* DEV_OP_MATMUL */
    double attention; /* softmax forward and backward; a fused attention op whole */
    double layernorm; /* layernorm forward/backward */
    double other;     /* every other op, copies, fills and transfers */
} bench_split;

typedef struct bench_result {
    char device[32];
    char precision[8];
    char config[64]; /* "minilm", "base" or the file's name */
    char pooling[8]; /* "mean" or "cls" */
    bert_config cfg;
    int seq, batch, micro_batch, steps, labels;
    double train_seq_per_s, infer_seq_per_s;
    double train_step_s, infer_batch_s; /* mean wall time of one timed step / batch */
    size_t peak_bytes;
    bench_split train_split, infer_split;
    dev_profile train_prof, infer_prof; /* raw buckets of the profiled passes */
    double train_prof_wall_s, infer_prof_wall_s; /* wall time of the profiled passes */
    /* Across processes (processes > 1): a timed step of all of them, split into the compute (the
     * parts, AdamW) and the sum (agreeing on the step, waiting for the slowest, copying the
     * gradients to the host, summing and back), the bytes summed, and against rank 0 alone. */
    int processes;
    double par_step_s, par_compute_s, par_sum_s, par_seq_per_s;
    double sum_bytes;
    double speedup, efficiency; /* train_step_s / par_step_s, and that over processes */
    dev_counts train_counts, infer_counts;        /* over the `steps` timed steps / batches */
} bench_result;

/* seq 128, batch 8, steps 5, warmup 2, profile_steps 2, labels 90 (Reuters' count). */
void bench_options_default(bench_options *o);

/* The shape named by "minilm" (6 x 384, 12 heads, FFN 1536, vocab 30522, 512 positions), "small"
 * (6 x 64, 4 heads, FFN 256, same vocabulary and positions),
 * "base" (12 x 768, 12 heads, FFN 3072, same vocabulary and positions) or a config.json path.
 * name_out (may be NULL) receives a short name for reports. */
mltc_status bench_config(mltc_error *err, const char *spec, bert_config *cfg, char *name_out, size_t name_size);

/* Family fractions of a profile's op time. */
void bench_split_of(const dev_profile *p, bench_split *s);

/* Runs the whole benchmark. Errors land in err. */
mltc_status bench_run(mltc_error *err, const bench_options *o, bench_result *r);

/* The result as JSON text (train_seq_per_s, infer_seq_per_s, peak_bytes, split, infer_split,
 * ops, infer_ops, counts {train_step, infer_batch}, shape, device, ...); malloc'd, NULL when out of
 * memory. */
char *bench_result_json(const bench_result *r);

#endif
