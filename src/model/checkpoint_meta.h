/* mltc.json, a checkpoint's own file beside the Hugging Face ones: the format tag and version,
 * the head and training settings, the label names in order, the decision thresholds per label,
 * how often each label occurs in the training data, and an "extra" object the trainer keeps its
 * resume position in. The file is untrusted (a checkpoint may come from anywhere):
 * every field is checked, and an error names the file and the field. */
#ifndef MLTC_MODEL_CHECKPOINT_META_H
#define MLTC_MODEL_CHECKPOINT_META_H

#include "core/error.h"
#include "model/labels.h"
#include "model/settings.h"

#define CHECKPOINT_FORMAT "mltc-checkpoint"
#define CHECKPOINT_VERSION 1

typedef struct ckpt_meta {
    train_settings s;
    labels lbl;
    float *thresholds;  /* [labels] per-label thresholds in [0, 1], or NULL (settings.threshold) */
    long *label_counts; /* [labels] training examples per label, or NULL when not recorded */
    long train_examples;
    char *extra; /* the "extra" object as compact JSON, or NULL */
} ckpt_meta;

/* Parses the text of mltc.json; `path` names it in errors. On failure *m is left empty. */
mltc_status ckpt_meta_parse(mltc_error *err, const char *text, const char *path, ckpt_meta *m);

void ckpt_meta_free(ckpt_meta *m);

#endif
