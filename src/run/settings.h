/* Training settings: defaults from the papers (AdamW 5e-5, batch 16, 10% warm-up, dropout 0.1,
 * threshold 0.5, lambda 0.05, mask probability 0.15), and their JSON form in mltc.json. */
#ifndef MLTC_RUN_SETTINGS_H
#define MLTC_RUN_SETTINGS_H

#include <cjson/cJSON.h>

#include "core/error.h"

typedef enum head_kind { HEAD_BERT, HEAD_LMMTC, HEAD_LAM } head_kind;

typedef struct train_settings {
    head_kind head;
    int epochs, batch, max_len;
    unsigned long long seed;
    double lr, warmup, weight_decay, max_grad_norm, dropout, threshold;
    double lambda;        /* LM-MTC: weight of the label MLM loss */
    double mask_prob;     /* LM-MTC: probability of masking a label state in the MLM copy */
    int shared_label_tokens; /* LM-MTC ablation: one set of label tokens for all labels */
} train_settings;

void train_settings_default(train_settings *s);

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
