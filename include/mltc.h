/*
 * mltc — BERT multi-label text classification on any GPU through OpenCL or Vulkan.
 *
 * This is the only public header. Every call returns an mltc_status; when it is not
 * MLTC_OK, mltc_last_error(ctx) says what failed and where. The library never calls
 * exit() or abort().
 */
#ifndef MLTC_H
#define MLTC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(MLTC_SHARED_BUILD)
#define MLTC_API __declspec(dllexport)
#elif defined(__GNUC__)
#define MLTC_API __attribute__((visibility("default")))
#else
#define MLTC_API
#endif

#define MLTC_VERSION_MAJOR 0
#define MLTC_VERSION_MINOR 6
#define MLTC_VERSION_PATCH 0

/* "MAJOR.MINOR.PATCH" of the library actually linked (may differ from the header's). */
MLTC_API const char *mltc_version(void);

typedef enum mltc_status {
    MLTC_OK = 0,
    MLTC_ERR_INVALID_ARGUMENT = 1, /* a caller's argument is wrong: null, size mismatch, range */
    MLTC_ERR_IO = 2,               /* a file could not be opened, read or written */
    MLTC_ERR_PARSE = 3,            /* a file's content is malformed */
    MLTC_ERR_OUT_OF_MEMORY = 4,    /* host or device allocation failed */
    MLTC_ERR_DEVICE = 5,           /* a driver call failed */
    MLTC_ERR_UNSUPPORTED = 6       /* the backend or build lacks the feature */
} mltc_status;

/* A static English name for a status ("invalid argument", ...). Never NULL. */
MLTC_API const char *mltc_status_string(mltc_status status);

/* A context owns the last error message and the devices opened through it.
 * Contexts are independent; one context must not be used by two threads at once. */
typedef struct mltc_ctx mltc_ctx;

MLTC_API mltc_status mltc_ctx_create(mltc_ctx **out);
MLTC_API void mltc_ctx_destroy(mltc_ctx *ctx);

/* The message of the last failed call on ctx ("" when none). Valid until the next call. */
MLTC_API const char *mltc_last_error(const mltc_ctx *ctx);

/* Frees memory a call hands over to the caller (JSON text, token ids, lists of names); NULL is
 * a no-op. */
MLTC_API void mltc_free(void *p);

/* ---- Checking a choice before any work -------------------------------------------------- */

/* Whether name is one the library takes, so a caller can refuse a typo before reading files or
 * opening a device; otherwise MLTC_ERR_INVALID_ARGUMENT with a message that names the value and
 * lists the choices ("precision 'fp64': expected fp32 or bf16").
 * mltc_check_precision: "fp32" or "bf16" (mltc_device_set_precision; NULL is refused).
 * mltc_check_format: a data format, "auto", "jsonl", "tsv" or "tsv-columns" (NULL: auto).
 * mltc_check_head: a classifier head, "bert", "lmmtc" or "lam" (NULL: bert). */
MLTC_API mltc_status mltc_check_precision(mltc_ctx *ctx, const char *name);
MLTC_API mltc_status mltc_check_format(mltc_ctx *ctx, const char *name);
MLTC_API mltc_status mltc_check_head(mltc_ctx *ctx, const char *name);

/* ---- Devices --------------------------------------------------------------------------- */

/* What `mltc devices` prints: one entry per device any compiled-in backend can see. */
typedef struct mltc_device_info {
    char id[32];            /* what --device / MLTC_DEVICE accept: "cpu", "opencl:0", "vulkan:1" */
    char backend[16];       /* "cpu", "opencl", "vulkan" */
    char name[256];         /* device name as the driver reports it */
    char driver[128];       /* driver / platform version */
    uint64_t global_mem_bytes;
    uint64_t max_alloc_bytes;
    uint64_t local_mem_bytes; /* shared / local memory per work-group, 0 if none */
    uint32_t compute_units;
    uint32_t subgroup_size;   /* 0 when unknown */
    int fp16;                 /* 1 if the device computes in half precision */
    int fp64;
    int cooperative_matrix;   /* Vulkan VK_KHR_cooperative_matrix */
    char details[512];        /* further backend-specific limits, human-readable */
} mltc_device_info;

/* Enumerates devices of every compiled-in backend. *list is allocated by the library and
 * released with mltc_devices_free. A backend whose runtime is absent is skipped, and the
 * reason is appended to *notes (may be NULL; free with mltc_devices_free too). */
MLTC_API mltc_status mltc_devices(mltc_ctx *ctx, mltc_device_info **list, int *count, char **notes);
MLTC_API void mltc_devices_free(void *p);

/* ---- Opening a device ------------------------------------------------------------------- */

/* A device opened for models and training. It reports failures through the context of the
 * call that uses it, must outlive every model loaded on it, and must not be used by two
 * threads at once (open one device per thread instead). */
typedef struct mltc_device mltc_device;

/* spec: "cpu", "opencl", "opencl:N", "vulkan", "vulkan:N"; NULL or "" means the MLTC_DEVICE
 * environment variable, or "cpu" when that is unset. */
MLTC_API mltc_status mltc_device_open(mltc_ctx *ctx, const char *spec, mltc_device **out);
MLTC_API void mltc_device_close(mltc_device *dev);
/* The device actually opened ("cpu:0", "opencl:0", ...). */
MLTC_API const char *mltc_device_id(const mltc_device *dev);
/* The arithmetic of the device's matrix products from now on, for everything that runs on it
 * (training, evaluation, prediction): "fp32" (the default) or "bf16", mixed precision like
 * PyTorch's autocast: the operands of every matrix product rounded to bfloat16, the products
 * summed in fp32; weights, gradients, optimizer state and all other operations stay fp32, and
 * checkpoints are fp32 either way. bf16 is available on the cpu device of the oneMKL build on
 * CPUs with AVX512-BF16 or AMX; elsewhere MLTC_ERR_UNSUPPORTED says why, the device unchanged. */
MLTC_API mltc_status mltc_device_set_precision(mltc_ctx *ctx, mltc_device *dev, const char *precision);

/* ---- Loading a trained classifier and predicting ---------------------------------------- */

typedef struct mltc_model mltc_model;

/* Loads a checkpoint folder written by training (OUT/best or OUT/last): model.safetensors,
 * config.json, vocab.txt and mltc.json (head, labels, settings). A missing or unreadable
 * folder is MLTC_ERR_IO with the path in the message. */
MLTC_API mltc_status mltc_model_load(mltc_ctx *ctx, mltc_device *dev, const char *dir, mltc_model **out);
MLTC_API void mltc_model_free(mltc_model *model);

/* The labels, in the order of every probability row; names are valid while the model is. */
MLTC_API int mltc_model_num_labels(const mltc_model *model);
MLTC_API const char *mltc_model_label_name(const mltc_model *model, int index); /* NULL out of range */
/* The decision rule of a model: label j is predicted iff p_j > its threshold; then a text with
 * fewer than mltc_model_min_labels predicted labels gets its most probable other labels (ties:
 * the lower index) until it has that many. Training tunes the thresholds on dev data (one for
 * every label, or one per label) unless told not to.
 * mltc_model_threshold: the global threshold; mltc_model_label_threshold: label j's own (the
 * global one unless tuned per label; -1 out of range). */
MLTC_API float mltc_model_threshold(const mltc_model *model);
MLTC_API float mltc_model_label_threshold(const mltc_model *model, int index);
MLTC_API int mltc_model_min_labels(const mltc_model *model);
/* Sets one threshold for every label (replacing per-label ones) for this loaded model, as used
 * by mltc_evaluate and mltc_decide; the checkpoint on disk is not changed. A value outside
 * [0, 1] (or NaN) is MLTC_ERR_INVALID_ARGUMENT and leaves the thresholds as they were. */
MLTC_API mltc_status mltc_model_set_threshold(mltc_ctx *ctx, mltc_model *model, float threshold);
/* Sets the minimum of labels per text (0: none) for this loaded model; negative is refused. */
MLTC_API mltc_status mltc_model_set_min_labels(mltc_ctx *ctx, mltc_model *model, int min_labels);
/* How many training examples had label j (-1 when the checkpoint does not say, or out of range). */
MLTC_API long mltc_model_label_count(const mltc_model *model, int index);
/* "bert", "lmmtc" or "lam". */
MLTC_API const char *mltc_model_head(const mltc_model *model);

/* Probabilities for n NUL-terminated UTF-8 texts: probs[i * K + j] = P(label j | texts[i]),
 * K = mltc_model_num_labels. probs must hold n * K floats. Texts longer than the model's
 * max_len tokens are truncated. Each text's result does not depend on the others (up to float
 * rounding: texts are batched by length and padded). */
MLTC_API mltc_status mltc_predict(mltc_ctx *ctx, mltc_model *model, const char *const *texts, size_t n,
                                  float *probs);

/* The model's decisions for n rows of probabilities from mltc_predict: decisions[i * K + j] = 1
 * when label j is predicted for text i (the decision rule above), else 0. */
MLTC_API mltc_status mltc_decide(mltc_ctx *ctx, const mltc_model *model, const float *probs, size_t n,
                                 uint8_t *decisions);

/* ---- Evaluating -------------------------------------------------------------------------- */

typedef struct mltc_label_metrics {
    double precision, recall, f1;
    size_t support;   /* gold positives */
    size_t predicted; /* predicted positives */
} mltc_label_metrics;

/* Scores with the conventions of scikit-learn (an undefined ratio counts as 0). */
typedef struct mltc_metrics {
    double hamming_loss;
    double micro_precision, micro_recall, micro_f1;
    double macro_f1;
    double subset_accuracy;
    double micro_jaccard;
    size_t n_examples;
    int n_labels;
    mltc_label_metrics *per_label; /* n_labels entries, or NULL; release with mltc_metrics_free */
    /* The labels grouped by how many training examples they had (<= 10, 11-100, > 100), when
     * the checkpoint records it (n_bands 3), else n_bands 0: micro-F1 pooled over a band's
     * labels, macro-F1 their mean F1. */
    int n_bands;
    struct mltc_frequency_band {
        long min_train_examples, max_train_examples; /* max -1: no upper bound */
        int n_labels;
        size_t support;
        double micro_f1, macro_f1;
    } bands[3];
    size_t tp, fp, fn;   /* true and false positives, false negatives, over all labels */
    char **label_names;  /* n_labels names in the order of per_label, or NULL; owned like per_label */
} mltc_metrics;

/* Predicts every example of a data file (format NULL or "auto", "jsonl", "tsv", "tsv-columns"),
 * decides with the model's decision rule and scores against the file's labels, which must all be
 * labels of the model. out->per_label and out->label_names are filled; free them with
 * mltc_metrics_free. A malformed line is MLTC_ERR_PARSE with file:line in the message. */
MLTC_API mltc_status mltc_evaluate(mltc_ctx *ctx, mltc_model *model, const char *data_path, const char *format,
                                   mltc_metrics *out);

/* Scores any system's predictions without a model: gold_path and pred_path hold the same
 * examples in the same order, in any data format (format as mltc_evaluate's, detected per file
 * with NULL or "auto"; their texts are not compared). The labels are those of labels_path (one a
 * line), or with labels_path NULL those that the header of a tsv-columns gold_path names. Files
 * without examples or with different numbers of them are MLTC_ERR_PARSE, and so is a label not
 * in the set (naming file:line). out->per_label and out->label_names are filled (n_bands is 0);
 * free them with mltc_metrics_free. */
MLTC_API mltc_status mltc_score_files(mltc_ctx *ctx, const char *gold_path, const char *pred_path,
                                      const char *labels_path, const char *format, mltc_metrics *out);

/* The label names that the header of a tsv-columns data file declares (the columns after its
 * text column), for data that ships without a labels file. *names is one allocation holding
 * *count strings; free it with mltc_free. Any other file is an error saying why its first line
 * is no such header. */
MLTC_API mltc_status mltc_data_header_labels(mltc_ctx *ctx, const char *path, char ***names, int *count);

/* The scores as one JSON object with the keys hamming_loss, micro_precision, micro_recall,
 * micro_f1, macro_f1, subset_accuracy, micro_jaccard, n_examples and n_labels, and when
 * m->n_bands > 0 by_label_frequency: an array of {min_train_examples, max_train_examples (null:
 * no bound), n_labels, support, micro_f1, macro_f1}. Indented when pretty, else on one line.
 * *json is NUL-terminated UTF-8; free it with mltc_free. */
MLTC_API mltc_status mltc_metrics_json(mltc_ctx *ctx, const mltc_metrics *m, int pretty, char **json);

/* Frees per_label and label_names and sets them to NULL; the other fields stay. */
MLTC_API void mltc_metrics_free(mltc_metrics *m);

/* ---- Training ---------------------------------------------------------------------------- */

/* Always start from mltc_train_options_default, then set what you need. */
typedef struct mltc_train_options {
    const char *model_dir;   /* Hugging Face BERT folder (config.json, model.safetensors, vocab.txt);
                                may be NULL with resume */
    const char *train_path;  /* training data (jsonl, tsv or tsv-columns) */
    const char *dev_path;    /* evaluated at the end of every epoch, the best micro-F1 saved to
                                OUT/best; NULL: OUT/best is the checkpoint of the last epoch */
    const char *labels_path; /* one label a line; NULL only for tsv-columns data */
    const char *out_dir;     /* OUT/best, OUT/last, OUT/train_log.jsonl */
    const char *head;        /* "bert" (default), "lmmtc" or "lam" */
    const char *format;      /* data format of train and dev files: NULL/"auto", "jsonl", ... */
    int skip_bad;            /* skip malformed data lines (counted) instead of failing */
    int epochs, batch, max_len;
    uint64_t seed;
    double lr;               /* peak AdamW learning rate */
    double warmup;           /* share of the steps with a linear warm-up, in [0, 1] */
    double weight_decay, max_grad_norm;
    double dropout;          /* before the head's classifier; the encoder's dropout comes from the
                                model's config.json (hidden_ / attention_probs_dropout_prob) */
    double threshold;        /* p > threshold predicts a label, unless tuned (tune_threshold) */
    double lambda;           /* lmmtc: weight of the label MLM loss */
    double mask_prob;        /* lmmtc: probability of masking a label state in the MLM copy */
    int shared_label_tokens; /* lmmtc ablation: one set of label tokens for all labels */
    int resume;              /* continue the run in out_dir from OUT/last, bit-identically; the
                                settings saved there apply, max_steps and the paths come from here */
    long max_steps;          /* stop after this many optimizer steps (0 = train every epoch) */
    int log_every;           /* steps between log lines of OUT/train_log.jsonl */
    long save_every;         /* also write OUT/last every this many steps (0: only at the end of an
                                epoch and on a stop), so a killed run loses at most that many */
    int micro_batch;         /* examples on the device at a time (0: batch): each batch runs in
                                parts whose gradients add up, so activation memory follows
                                micro_batch, not batch; same losses and gradients up to rounding
                                and dropout draws. Not saved: a resumed run may set another. */
    double head_lr;          /* peak learning rate of the head's own parameters (0: lr) */
    const char *label_bias;  /* "prior": each label's bias starts at its log prior odds in the
                                training data; "zero" */
    const char *pooling;     /* bert head: "mean" over the real tokens or "cls"; NULL: the head's
                                default (mean; other heads have none) */
    double dev_split;        /* without dev_path, this share of the training data (drawn under
                                the seed, stratified by label) is held out as dev data; 0: none */
    int patience;            /* stop after this many epochs without a better dev micro-F1 (0: never) */
    const char *tune_threshold; /* after each dev pass: "global" (one threshold for all labels),
                                "per-label" or "none" (keep threshold) */
    int min_labels;          /* at least this many labels per prediction; -1: 1 when every
                                training example has a label, else 0 */
} mltc_train_options;

/* mltc's recipe (see the README for how it was chosen): head bert with mean pooling, batch 16,
 * 3 epochs, max_len 128, AdamW with lr 1e-4 and head_lr 1e-3, warm-up 0.1, weight decay 0.01, clipping
 * 1.0, dropout 0.1, prior label biases, a 0.1 dev split, a global threshold tuned on it, at
 * least one label when every training example has one, lambda 0.05, mask 0.15, seed 42. */
MLTC_API void mltc_train_options_default(mltc_train_options *opts);
/* The papers' recipe: the defaults with lr 5e-5 for the whole model, zero biases, [CLS], no dev
 * split, threshold 0.5 and no minimum of labels. */
MLTC_API void mltc_train_options_papers(mltc_train_options *opts);

typedef struct mltc_train_progress {
    int epoch, epochs;       /* 1-based */
    long step, total_steps;  /* optimizer steps done, of all */
    double loss, loss_mlm;   /* of the last step (loss is the total) */
    double lr;
    double examples_per_s;
    double elapsed_s, eta_s;
    int is_eval;             /* 1: an evaluation on dev_path just finished; dev holds it */
    int is_best;             /* that evaluation is the best so far (saved to OUT/best) */
    const mltc_metrics *dev; /* valid during the callback only (per_label included) */
} mltc_train_progress;

/* Called after every optimizer step and every evaluation; return non-zero to stop (the last
 * checkpoint is written first). */
typedef int (*mltc_train_callback)(const mltc_train_progress *progress, void *user);

typedef struct mltc_train_result {
    long steps;
    int epochs_done;
    double final_loss;    /* NaN when this call ran no step (resuming a run that had finished) */
    double best_micro_f1; /* -1 without dev_path */
    double seconds;
    double examples_per_s;
} mltc_train_result;

/* Fine-tunes opts->model_dir on opts->train_path and writes checkpoints under opts->out_dir.
 * callback and result may be NULL. With opts->resume, a run that already finished is left as it
 * is and the call succeeds (result: its steps and epochs, final_loss NaN, seconds 0). */
MLTC_API mltc_status mltc_train(mltc_ctx *ctx, mltc_device *dev, const mltc_train_options *opts,
                                mltc_train_callback callback, void *user, mltc_train_result *result);

/* ---- Training across processes (data parallel) ----------------------------------------- */

/* How processes that train one model together talk, without the library knowing MPI (or any
 * other transport): a table of collective calls and the caller's pointer. Every rank must make
 * every call the same number of times in the same order, as with MPI's collectives.
 * include/mltc_mpi.h is an implementation over MPI, built when CMake finds MPI. Each call
 * returns 0 on success, else a code that describe (may be NULL) turns into words. */
typedef struct mltc_comm {
    int rank; /* this process, 0 .. size - 1 */
    int size; /* processes in the run, >= 1 */
    /* data[0..n) replaced by its sum over the ranks, on every rank. */
    int (*sum_floats)(void *user, float *data, size_t n);
    int (*sum_doubles)(void *user, double *data, size_t n);
    /* bytes of root's data copied into every other rank's data. */
    int (*broadcast)(void *user, void *data, size_t bytes, int root);
    const char *(*describe)(void *user, int code);
    void *user;
} mltc_comm;

/* mltc_train with each optimizer step's batch shared among comm->size processes, one device
 * each (comm NULL, or of size 1: mltc_train). Every rank passes the same options and reads the
 * same files (model, data, and OUT/last on resume: a shared folder across machines). The batch
 * stays the whole step's: it runs in parts of micro_batch examples (0: batch / size, rounded
 * up), each rank a run of consecutive parts; each part draws the dropout and label-MLM masks it
 * draws in one process with that micro-batch, so the losses are those of one process up to the
 * order of adding the gradients. The gradients are summed through host memory by
 * comm->sum_floats, then every rank takes the same AdamW step; rank 0's parameters are copied
 * to the others at the start, and a hash shows they are still equal at every save. Only rank 0
 * evaluates dev data, writes OUT/ and calls the callback after evaluations; a stop that any
 * rank's callback asks for stops every rank after the same step. When any rank fails, every
 * rank returns an error (the others' says which rank failed) at the same step. */
MLTC_API mltc_status mltc_train_parallel(mltc_ctx *ctx, mltc_device *dev, const mltc_train_options *opts,
                                         const mltc_comm *comm, mltc_train_callback callback, void *user,
                                         mltc_train_result *result);

/* mltc_predict and mltc_evaluate across comm->size processes, each with the model loaded on its
 * own device (NULL or size 1: one process): every rank passes the same arguments, predicts a run
 * of consecutive texts (its share), and receives every probability and the same scores. */
MLTC_API mltc_status mltc_predict_parallel(mltc_ctx *ctx, mltc_model *model, const char *const *texts, size_t n,
                                           const mltc_comm *comm, float *probs);
MLTC_API mltc_status mltc_evaluate_parallel(mltc_ctx *ctx, mltc_model *model, const char *data_path,
                                            const char *format, const mltc_comm *comm, mltc_metrics *out);

/* ---- Tokenizing -------------------------------------------------------------------------- */

/* A BERT WordPiece tokenizer, as the models use (Hugging Face's BertTokenizerFast for uncased
 * vocabularies). Read-only once loaded: several threads may tokenize with one at once. */
typedef struct mltc_tokenizer mltc_tokenizer;

/* Loads a vocab.txt (one token a line, the id is the 0-based line number), plain or
 * gzip-compressed. It must hold [UNK]; [CLS] and [SEP] are needed to tokenize. */
MLTC_API mltc_status mltc_tokenizer_load(mltc_ctx *ctx, const char *vocab_path, mltc_tokenizer **out);
MLTC_API void mltc_tokenizer_free(mltc_tokenizer *tok);
MLTC_API int mltc_tokenizer_vocab_size(const mltc_tokenizer *tok);
/* The text of token id (NULL out of range); valid while the tokenizer is. */
MLTC_API const char *mltc_tokenizer_token(const mltc_tokenizer *tok, int32_t id);

/* The model input ids of text[0..len) (valid UTF-8): [CLS] tokens [SEP], cut to max_len ids
 * ([SEP] kept last) when max_len is not 0; max_len must be 0 or >= 2. *ids holds *n ids; free it
 * with mltc_free. Invalid UTF-8 is MLTC_ERR_PARSE naming the byte offset. */
MLTC_API mltc_status mltc_tokenize(mltc_ctx *ctx, const mltc_tokenizer *tok, const char *text, size_t len, int max_len,
                                   int32_t **ids, int *n);

/* ---- Explaining a prediction ------------------------------------------------------------- */

/* Which word pieces one prediction of text looked at, as one JSON object (free with mltc_free):
 * {"head", "labels": [predicted], "probs": {label: p}, "tokens": [the model's input tokens],
 * "is_text": [1 for the text's own word pieces, 0 for [CLS], [SEP] and LM-MTC's prompt], and
 *   lam:   "weights": its label-attention weights alpha (the softmax over the tokens), and
 *          "best_token": {label: the index of the token most similar to the label's vector};
 *   bert:  "weights": the last layer's attention from [CLS], averaged over the heads;
 *   lmmtc: "label_weights": {predicted label: the last layer's attention from its state
 *          position, averaged over the heads}}.
 * Every weight row sums to 1 over the tokens. With picture_base not NULL the text's pieces are
 * also drawn shaded by weight into picture_base.png and .svg (MLTC_ERR_UNSUPPORTED in a build
 * without cairo; the JSON is then not returned either). */
MLTC_API mltc_status mltc_explain(mltc_ctx *ctx, mltc_model *model, const char *text, const char *picture_base,
                                  char **json);

/* ---- Reports ------------------------------------------------------------------------------ */

typedef struct mltc_report_options {
    const char *run_dir;   /* the --out folder of mltc train: train_log.jsonl, best/ (else last/) */
    const char *data_path; /* labelled data to score the model on; NULL: the training curves only */
    const char *format;    /* its format (NULL: auto) */
    const char *out_dir;   /* NULL: run_dir/report */
    int examples;          /* texts of the data drawn shaded by what the model looked at */
} mltc_report_options;

/* run_dir and data NULL, examples 3. */
MLTC_API void mltc_report_options_default(mltc_report_options *opts);

/* NULL when this build draws pictures (PLplot and cairo), else a sentence saying what is missing. */
MLTC_API const char *mltc_report_drawing_missing(void);

/* Writes a report of a training run into a folder: PNG and SVG figures (training curves; per-label
 * F1 against training frequency; micro P/R/F1 against the threshold; label co-occurrence, gold
 * beside predicted; examples shaded by attention), their numbers as CSV, report.json, and one
 * self-contained index.html. A figure that cannot be drawn is listed under "missing" in
 * *summary (may be NULL: a JSON object {out_dir, files, missing}; free with mltc_free). The
 * drawing library keeps global state: one report or explanation picture at a time per process. */
MLTC_API mltc_status mltc_report(mltc_ctx *ctx, mltc_device *dev, const mltc_report_options *opts, char **summary);

/* ---- Benchmarking ------------------------------------------------------------------------ */

/* Always start from mltc_bench_options_default, then set what you need. */
typedef struct mltc_bench_options {
    const char *device;    /* as mltc_device_open: NULL means MLTC_DEVICE, else cpu */
    const char *config;    /* "minilm" (6 x 384), "small" (6 x 64, 4 heads), "base" (12 x 768) or a
                              config.json path */
    const char *precision; /* matrix products in "fp32" or "bf16" (mltc_device_set_precision); NULL: fp32 */
    int seq;               /* tokens per sequence, [CLS] and [SEP] included, >= 3 */
    int batch;             /* sequences per step, >= 1 */
    int micro_batch;       /* sequences on the device at a time, 1..batch (0: batch) */
    int steps;             /* timed training steps and inference batches, >= 1 */
    int warmup;            /* untimed steps before each timing, >= 0 */
    int profile_steps;     /* profiled steps for the split by op, >= 0 (0: none) */
    int labels;            /* labels of the bert head, >= 1 */
    const char *pooling;   /* the bert head's text vector: "mean" (the default recipe's) or "cls"
                              (only [CLS] through the last layer); NULL: mean */
} mltc_bench_options;

/* minilm, seq 128, batch 8, steps 5, warmup 2, profile_steps 2, labels 90 (Reuters' count). */
MLTC_API void mltc_bench_options_default(mltc_bench_options *opts);

/* The speed of a random-weight BERT of the given shape with the bert head on one device, opened
 * for this call: training and inference sequences/s, peak device memory and the time split by
 * op family, as one JSON object: device, config, precision, shape {layers, hidden, heads,
 * intermediate, vocab}, seq, batch, micro_batch, steps, labels, train_seq_per_s,
 * infer_seq_per_s, train_step_ms, infer_batch_ms, peak_bytes, split and infer_split {matmul,
 * attention, layernorm, other: fractions of the profiled time}, profiled_train_wall_ms,
 * ops and infer_ops {op: {ms, count}} (profiled ops only), and counts {train_step, infer_batch}:
 * what the backend asked of the device per timed training step and per inference batch, each
 * {dispatches, transfers, barriers, host_waits, allocations, submits}, counted exactly by the
 * backend (host_waits: calls that block the host until the device is done; allocations: device
 * buffers created). *json is indented; free it with mltc_free. */
MLTC_API mltc_status mltc_bench(mltc_ctx *ctx, const mltc_bench_options *opts, char **json);

/* mltc_bench across comm->size processes (mltc_comm above; NULL or size 1: mltc_bench), each on
 * its own opts->device: rank 0 measures alone first (everything mltc_bench measures, the batch in
 * parts of micro_batch, 0: batch / size rounded up), then every rank trains on its share of each
 * batch, the gradients summed through comm. The JSON gains "parallel": {processes,
 * train_seq_per_s, train_step_ms, compute_ms (the parts and AdamW), sum_ms (agreeing, waiting
 * for the slowest, host copies and the sum), sum_bytes, speedup (rank 0 alone's step time over
 * the shared one), efficiency (speedup / processes)}; every rank gets it. */
MLTC_API mltc_status mltc_bench_parallel(mltc_ctx *ctx, const mltc_bench_options *opts, const mltc_comm *comm,
                                         char **json);

#ifdef __cplusplus
}
#endif
#endif /* MLTC_H */
