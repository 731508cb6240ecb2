/*
 * A table of named parameter tensors laid out in one flat device buffer (llm.c style), with
 * a gradient buffer of the same layout. Tensors that get weight decay come first, so AdamW
 * runs as two calls: [0, n_decay) with decay and [n_decay, n) without (biases, layernorms).
 * Saving and loading go through safetensors under the tensors' names.
 */
#ifndef MLTC_MODEL_PARAMS_H
#define MLTC_MODEL_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "device/device.h"
#include "model/safetensors.h"

#define PARAM_MAX_DIMS 4

typedef struct param_spec {
    char name[128];
    int ndim;
    int64_t shape[PARAM_MAX_DIMS];
    int decay; /* 1: matrices and embeddings; 0: biases and layernorm parameters */
} param_spec;

typedef struct param_table {
    int count;
    param_spec *specs;
    size_t *offsets; /* element offset of each tensor in the flat buffers */
    size_t n, n_decay;
    dev_buf *params, *grads;
} param_table;

/* Lays out specs[count] (copied) and allocates zeroed params and grads on dev. */
mltc_status param_table_create(dev_ctx *dev, const param_spec *specs, int count, param_table *out);
void param_table_free(dev_ctx *dev, param_table *t);

size_t param_numel(const param_spec *s);
int param_find(const param_table *t, const char *name); /* index or -1 */
dev_view param_view(const param_table *t, int i);
dev_view param_grad(const param_table *t, int i);

/* Fills tensor i with N(0, std^2) (Box-Muller over Philox (seed, stream)), or a constant. */
mltc_status param_init_normal(dev_ctx *dev, const param_table *t, int i, float std, uint64_t seed, uint64_t stream);
mltc_status param_init_const(dev_ctx *dev, const param_table *t, int i, float value);

/* Adds every tensor to w under its name (prefix + name). */
mltc_status param_table_save(dev_ctx *dev, const param_table *t, const char *prefix, st_writer *w);
/* Loads every tensor from f (prefix + name); a missing tensor or a shape mismatch is an
 * error naming the tensor and both shapes. */
mltc_status param_table_load(dev_ctx *dev, const param_table *t, const char *prefix, const st_file *f);

/* Host normal samples: x[i] = std * N(0,1) drawn from Philox (seed, stream, i). */
void philox_fill_normal(float *x, size_t n, float std, uint64_t seed, uint64_t stream);

#endif
