/* Training settings: the recipe a run gets by default (chosen on dev splits), the papers' recipe,
 * their checks, and their JSON form in mltc.json. */
#ifndef MLTC_MODEL_SETTINGS_H
#define MLTC_MODEL_SETTINGS_H

#include <cjson/cJSON.h>

#include "core/error.h"

typedef enum head_kind { HEAD_BERT, HEAD_LMMTC, HEAD_LAM } head_kind;

/* What the bert head reads from the encoder: [CLS], or the mean of every real token's state. */
typedef enum pooling_kind { POOL_CLS, POOL_MEAN } pooling_kind;

/* Where decision thresholds come from after each dev evaluation (thresholds.h). */
typedef enum tune_kind { TUNE_NONE, TUNE_GLOBAL, TUNE_PER_LABEL } tune_kind;

/* min_labels before training resolves it: 1 when every training example has a label, else 0. */
#define MIN_LABELS_AUTO (-1)

typedef struct train_settings {
    head_kind head;
    int epochs, batch, max_len;
    unsigned long long seed;
    double lr, warmup, weight_decay, max_grad_norm, dropout, threshold;
    double lambda;        /* LM-MTC: weight of the label MLM loss */
    double mask_prob;     /* LM-MTC: probability of masking a label state in the MLM copy */
    int shared_label_tokens; /* LM-MTC ablation: one set of label tokens for all labels */
    double head_lr;       /* peak learning rate of the head's parameters; 0: lr */
    int prior_bias;       /* 1: each label's bias starts at the training data's log prior odds */
    pooling_kind pooling; /* bert head: [CLS] or the mean over real tokens (other heads: unused) */
    double dev_split;     /* share of the training file held out as dev data when none is given */
    int patience;         /* stop after this many epochs without a better dev score; 0: never */
    tune_kind tune;       /* decision thresholds tuned on dev data after each epoch */
    int min_labels;       /* every prediction has at least this many labels (MIN_LABELS_AUTO before
                             training resolves it) */
} train_settings;

/* The recipe a run gets without options (chosen on dev splits; README, BENCHMARKS.md). */
void train_settings_default(train_settings *s);
/* The papers' own recipe: the defaults with every lever of train_settings_default that the papers
 * do not have turned off: one learning rate (5e-5), zero biases, [CLS], no dev split, threshold 0.5
 * and no minimum of labels. */
void train_settings_papers(train_settings *s);

const char *pooling_kind_name(pooling_kind p);
mltc_status pooling_kind_parse(mltc_error *err, const char *name, pooling_kind *out);
const char *tune_kind_name(tune_kind t);
mltc_status tune_kind_parse(mltc_error *err, const char *name, tune_kind *out);

const char *head_kind_name(head_kind h);
/* "bert", "lmmtc", "lam"; anything else is MLTC_ERR_INVALID_ARGUMENT naming the choices. */
mltc_status head_kind_parse(mltc_error *err, const char *name, head_kind *out);

/* Checks ranges (batch >= 1, 0 <= dropout < 1, ...) with a message naming the setting. */
mltc_status train_settings_check(mltc_error *err, const train_settings *s);

cJSON *train_settings_to_json(const train_settings *s);
/* Reads what train_settings_to_json wrote; keys that are absent keep their defaults, keys of
 * the wrong type are errors naming `where` (the file) and the key. */
mltc_status train_settings_from_json(mltc_error *err, const cJSON *obj, const char *where, train_settings *s);

#endif
