/* Loading and saving the encoder's parameters under Hugging Face tensor names. */
#include <stdio.h>
#include <stdlib.h>

#include "model/bert_internal.h"

/* The largest tensor in the table, for one host staging buffer. */
static size_t max_numel(const bert_model *m) {
    size_t n = 0;
    for (int i = 0; i < m->ntensors; i++)
        if (m->tensors[i].numel > n) n = m->tensors[i].numel;
    return n;
}

mltc_status bert_load_hf(bert_model *m, const st_file *f) {
    mltc_error *err = m->dev->err;
    float *host = malloc(max_numel(m) * sizeof *host);
    if (!host) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "bert_load_hf: no host memory for staging");
    mltc_status st = MLTC_OK;
    char prefixed[96];
    for (int i = 0; !st && i < m->ntensors; i++) {
        const bert_tensor *t = &m->tensors[i];
        /* BertModel saves bare names; BertFor* models put the encoder under "bert.". */
        const char *name = t->name;
        snprintf(prefixed, sizeof prefixed, "bert.%s", t->name);
        if (!st_find(f, name) && st_find(f, prefixed)) name = prefixed;
        st = st_load_f32(err, f, name, t->ndim, t->shape, host);
        if (st) {
            err_prefix(err, "loading BERT weights (tried '%s' and '%s'): ", t->name, prefixed);
            break;
        }
        st = bert_tensor_upload(m, t, host);
    }
    free(host);
    return st;
}

mltc_status bert_load_hf_file(bert_model *m, const char *path) {
    st_file *f = NULL;
    mltc_status st = st_open(m->dev->err, path, &f);
    if (st) return st;
    st = bert_load_hf(m, f);
    st_close(f);
    return st;
}

mltc_status bert_save_hf(bert_model *m, st_writer *w, const char *prefix) {
    mltc_error *err = m->dev->err;
    if (!prefix) prefix = "";
    float *host = malloc(max_numel(m) * sizeof *host);
    if (!host) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "bert_save_hf: no host memory for staging");
    mltc_status st = MLTC_OK;
    char name[160];
    for (int i = 0; !st && i < m->ntensors; i++) {
        const bert_tensor *t = &m->tensors[i];
        snprintf(name, sizeof name, "%s%s", prefix, t->name);
        st = bert_tensor_download(m, t, host);
        /* The writer records its own errors (safetensors.h); it copies the data. */
        if (!st) st = st_writer_add_f32(w, name, t->ndim, t->shape, host);
    }
    free(host);
    return st;
}
