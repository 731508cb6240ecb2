/* Checkpoints: a folder PyTorch can read (model.safetensors with the encoder under Hugging
 * Face names, config.json, vocab.txt) plus mltc.json (head, labels, settings) and, for resuming,
 * optimizer.safetensors (AdamW moments). Written to a temporary folder and swapped in. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/fileio.h"
#include "core/json_number.h"
#include "core/platform.h"
#include "model/checkpoint_meta.h"
#include "model/classifier_internal.h"

#define MLTC_JSON_MAX (64u << 20)

static const char *const checkpoint_files[] = {"model.safetensors", "config.json", "vocab.txt", "mltc.json",
                                               "optimizer.safetensors"};
#define NFILES (sizeof checkpoint_files / sizeof *checkpoint_files)

/* Paths longer than PATH_MAX-like buffers are cut; opening them then fails with the cut name. */
static void join(char *out, size_t cap, const char *dir, const char *name) {
    if (snprintf(out, cap, "%s/%s", dir, name) >= (int)cap) out[cap - 1] = '\0';
}

/* Removes a checkpoint folder mltc wrote: its known files, then the folder. A folder that
 * still holds other files (a user's) is left in place. */
static void remove_checkpoint_dir(const char *dir) {
    char path[4096];
    for (size_t i = 0; i < NFILES; i++) {
        join(path, sizeof path, dir, checkpoint_files[i]);
        plat_remove_file(path);
    }
    plat_remove_dir(dir);
}

/* Leftovers of saves that were killed: <dir>.tmp-PID (a folder being written) and <dir>.old-PID
 * (the previous checkpoint moved aside, where folders cannot be exchanged) of processes that are
 * gone, each a copy of the model; removed before a save so killed runs do not pile them up. Only
 * while <dir> itself is there: otherwise a leftover may be the newest checkpoint left. */
static void remove_stale_saves(const char *dir) {
    if (!plat_exists(dir)) return;
    char parent[4096], path[4200];
    const char *slash = strrchr(dir, '/'), *base = slash ? slash + 1 : dir;
    if (!slash)
        snprintf(parent, sizeof parent, ".");
    else if (snprintf(parent, sizeof parent, "%.*s", (int)(slash - dir), dir) >= (int)sizeof parent || !*parent)
        snprintf(parent, sizeof parent, "%s", slash == dir ? "/" : ".");
    plat_dir *d = plat_dir_open(parent);
    if (!d) return;
    size_t bl = strlen(base);
    for (const char *n; (n = plat_dir_next(d)) != NULL;) {
        const char *tag = n + bl + 1;
        if (strncmp(n, base, bl) != 0 || n[bl] != '.' || (strncmp(tag, "tmp-", 4) && strncmp(tag, "old-", 4))) continue;
        char *end;
        long pid = strtol(tag + 4, &end, 10);
        if (*end || pid <= 0 || pid == plat_pid()) continue;
        if (plat_process_alive(pid)) continue; /* its writer may still be at work */
        join(path, sizeof path, parent, n);
        remove_checkpoint_dir(path);
    }
    plat_dir_close(d);
}

/* Puts the finished folder tmp in dir's place. Where the system can (Linux), the two are
 * exchanged in one step, so a process killed at any moment leaves dir whole (old or new);
 * elsewhere the old folder is moved aside first. */
static mltc_status swap_in(mltc_error *err, const char *tmp, const char *dir, const char *old) {
    int had_old = plat_exists(dir);
    if (had_old && plat_exchange(tmp, dir) == 0) {
        remove_checkpoint_dir(tmp); /* now the previous checkpoint */
        return MLTC_OK;
    } /* a system or file system without the exchange: the two renames below */
    if (had_old && plat_replace(dir, old) != 0) {
        remove_checkpoint_dir(tmp);
        return err_set(err, MLTC_ERR_IO, "saving checkpoint %s: cannot move the previous checkpoint aside", dir);
    }
    if (plat_replace(tmp, dir) != 0) {
        if (had_old) plat_replace(old, dir);
        remove_checkpoint_dir(tmp);
        return err_set(err, MLTC_ERR_IO, "saving checkpoint %s: cannot rename %s into place", dir, tmp);
    }
    if (had_old) remove_checkpoint_dir(old);
    return MLTC_OK;
}

/* Downloads n floats of buf into a fresh host array. */
static mltc_status download_floats(dev_ctx *d, dev_buf *buf, size_t n, float **out) {
    *out = malloc(n * 4 + 4);
    if (!*out) return err_set(d->err, MLTC_ERR_OUT_OF_MEMORY, "checkpoint: %zu bytes of host memory", n * 4);
    mltc_status st = dev_download(d, buf, 0, *out, n * 4);
    if (st) {
        free(*out);
        *out = NULL;
    }
    return st;
}

static mltc_status save_model(classifier *c, const char *path) {
    st_writer *w = NULL;
    TRY(st_writer_create(c->dev->err, &w));
    mltc_status st = st_writer_set_metadata(w, "format", "pt");
    if (!st) st = bert_save_hf(c->bert, w, "");
    if (!st) st = param_table_save(c->dev, &c->head, "mltc.", w);
    if (!st) st = st_writer_commit(w, path);
    st_writer_free(w);
    return st;
}

static const struct {
    const char *name;
    size_t off; /* of the buffer pointer in classifier */
} moment_bufs[] = {
    {"adamw.encoder.m", offsetof(classifier, m_enc)},
    {"adamw.encoder.v", offsetof(classifier, v_enc)},
    {"adamw.head.m", offsetof(classifier, m_head)},
    {"adamw.head.v", offsetof(classifier, v_head)},
};

static dev_buf *moment_buf(classifier *c, int i) { return *(dev_buf **)((char *)c + moment_bufs[i].off); }
static size_t moment_len(classifier *c, int i) { return i < 2 ? bert_num_params(c->bert) : c->head.n; }

static mltc_status save_optimizer(classifier *c, const char *path) {
    st_writer *w = NULL;
    TRY(st_writer_create(c->dev->err, &w));
    mltc_status st = MLTC_OK;
    for (int i = 0; !st && i < 4; i++) {
        float *host = NULL;
        st = download_floats(c->dev, moment_buf(c, i), moment_len(c, i), &host);
        int64_t shape[1] = {(int64_t)moment_len(c, i)};
        if (!st) st = st_writer_add_f32(w, moment_bufs[i].name, 1, shape, host);
        free(host);
    }
    if (!st) st = st_writer_commit(w, path);
    st_writer_free(w);
    return st;
}

static mltc_status save_mltc_json(classifier *c, const char *path, const char *extra_json) {
    mltc_error *err = c->dev->err;
    cJSON *o = cJSON_CreateObject(), *lbl = cJSON_CreateArray(), *extra = NULL;
    if (extra_json && !(extra = cJSON_Parse(extra_json))) {
        cJSON_Delete(o);
        cJSON_Delete(lbl);
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "%s: the extra JSON is malformed", path);
    }
    cJSON_AddStringToObject(o, "format", CHECKPOINT_FORMAT);
    cJSON_AddNumberToObject(o, "format_version", CHECKPOINT_VERSION);
    cJSON_AddStringToObject(o, "mltc_version", mltc_version());
    cJSON_AddStringToObject(o, "head", head_kind_name(c->s.head));
    for (int i = 0; i < c->K; i++) cJSON_AddItemToArray(lbl, cJSON_CreateString(c->lbl.names[i]));
    cJSON_AddItemToObject(o, "labels", lbl);
    cJSON_AddItemToObject(o, "settings", train_settings_to_json(&c->s));
    cJSON *thr = cJSON_CreateArray();
    for (int k = 0; k < c->K; k++) cJSON_AddItemToArray(thr, cJSON_CreateNumber(float_for_json(c->thr[k])));
    cJSON_AddItemToObject(o, "thresholds", thr);
    if (c->label_counts) {
        cJSON *counts = cJSON_CreateArray();
        for (int k = 0; k < c->K; k++) cJSON_AddItemToArray(counts, cJSON_CreateNumber((double)c->label_counts[k]));
        cJSON_AddItemToObject(o, "label_counts", counts);
        cJSON_AddNumberToObject(o, "train_examples", (double)c->train_examples);
    }
    cJSON_AddItemToObject(o, "extra", extra ? extra : cJSON_CreateObject());
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: no memory", path);
    mltc_status st = file_write_atomic(err, path, text, strlen(text));
    cJSON_free(text);
    return st;
}

mltc_status classifier_save(classifier *c, const char *dir, const char *extra_json, int with_optimizer) {
    if (!c || !dir) return c ? err_set(c->dev->err, MLTC_ERR_INVALID_ARGUMENT, "save: no folder given")
                             : MLTC_ERR_INVALID_ARGUMENT;
    mltc_error *err = c->dev->err;
    if (with_optimizer && !c->trainable)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "saving checkpoint %s: a model loaded for prediction has no "
                                                       "optimizer state to save", dir);
    char tmp[4096], old[4096], path[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", dir, plat_pid()) >= (int)sizeof tmp ||
        snprintf(old, sizeof old, "%s.old-%ld", dir, plat_pid()) >= (int)sizeof old)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "saving checkpoint: folder name too long (%zu bytes)",
                       strlen(dir));
    remove_stale_saves(dir);
    remove_checkpoint_dir(tmp);
    TRY(dir_create(err, tmp));
    mltc_status st;
    join(path, sizeof path, tmp, "model.safetensors");
    st = save_model(c, path);
    if (!st) {
        join(path, sizeof path, tmp, "config.json");
        st = bert_config_save(err, bert_config_of(c->bert), path);
    }
    if (!st) {
        join(path, sizeof path, tmp, "vocab.txt");
        st = tok_save_vocab(err, c->tok, path);
    }
    if (!st) {
        join(path, sizeof path, tmp, "mltc.json");
        st = save_mltc_json(c, path, extra_json);
    }
    if (!st && with_optimizer) {
        join(path, sizeof path, tmp, "optimizer.safetensors");
        st = save_optimizer(c, path);
    }
    if (st) {
        err_prefix(err, "saving checkpoint %s: ", dir);
        remove_checkpoint_dir(tmp);
        return st;
    }
    return swap_in(err, tmp, dir, old);
}

/* ---- loading ----------------------------------------------------------------------------- */

static mltc_status read_meta(mltc_error *err, const char *path, ckpt_meta *m) {
    char *text = NULL;
    TRY(file_read_all(err, path, MLTC_JSON_MAX, &text, NULL));
    mltc_status st = ckpt_meta_parse(err, text, path, m);
    free(text);
    return st;
}

static mltc_status load_optimizer(classifier *c, const char *path) {
    st_file *f = NULL;
    TRY(st_open(c->dev->err, path, &f));
    mltc_status st = MLTC_OK;
    for (int i = 0; !st && i < 4; i++) {
        size_t n = moment_len(c, i);
        float *host = malloc(n * 4 + 4);
        int64_t shape[1] = {(int64_t)n};
        st = host ? st_load_f32(c->dev->err, f, moment_bufs[i].name, 1, shape, host)
                  : err_set(c->dev->err, MLTC_ERR_OUT_OF_MEMORY, "%s: no memory", path);
        if (!st) st = dev_upload(c->dev, moment_buf(c, i), 0, host, n * 4);
        free(host);
    }
    st_close(f);
    return st;
}

mltc_status classifier_load(dev_ctx *dev, const char *dir, int max_batch, int with_optimizer, classifier **out) {
    if (!dev || !out) return MLTC_ERR_INVALID_ARGUMENT;
    mltc_error *err = dev->err;
    *out = NULL;
    if (!dir || max_batch < 0)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "classifier_load: a folder and batch >= 0 are required");
    char path[4200];
    ckpt_meta meta = {0};
    join(path, sizeof path, dir, "mltc.json");
    mltc_status st = read_meta(err, path, &meta);
    classifier *c = NULL;
    bert_config cfg;
    st_file *f = NULL;
    if (!st && with_optimizer) st = clf_check_micro_batch(err, max_batch, meta.s.batch);
    if (!st && !(c = clf_alloc(dev, &meta.s, max_batch > 0 ? max_batch : meta.s.batch)))
        st = err_set(err, MLTC_ERR_OUT_OF_MEMORY, "classifier_load: no memory");
    if (!st) {
        c->trainable = with_optimizer;
        c->lbl = meta.lbl; /* moved */
        memset(&meta.lbl, 0, sizeof meta.lbl);
        c->extra_json = meta.extra;
        meta.extra = NULL;
        c->K = c->lbl.count;
        join(path, sizeof path, dir, "config.json");
        st = bert_config_load(err, path, &cfg);
    }
    if (!st) {
        c->C = cfg.hidden_size;
        join(path, sizeof path, dir, "vocab.txt");
        st = tok_load(err, path, &c->tok);
    }
    if (!st && c->s.head == HEAD_LMMTC) {
        int before = tok_vocab_size(c->tok);
        st = lmmtc_tokens_add(c->tok, err, c->K, c->s.shared_label_tokens, &c->lt);
        if (!st && tok_vocab_size(c->tok) != before)
            st = err_set(err, MLTC_ERR_PARSE, "%s: lacks the LM-MTC label tokens of %d labels", path, c->K);
    }
    if (!st && tok_vocab_size(c->tok) != cfg.vocab_size)
        st = err_set(err, MLTC_ERR_PARSE, "%s: %d tokens, but config.json says vocab_size %d", path,
                     tok_vocab_size(c->tok), cfg.vocab_size);
    if (!st) st = clf_check_shape(c, &cfg, dir);
    if (!st)
        st = with_optimizer ? bert_model_create(dev, &cfg, c->max_rows, c->max_len, &c->bert)
                            : bert_model_create_inference(dev, &cfg, c->max_rows, c->max_len, &c->bert);
    if (!st) {
        bert_set_dropout_seed(c->bert, c->s.seed);
        join(path, sizeof path, dir, "model.safetensors");
        st = st_open(err, path, &f);
    }
    if (!st) st = bert_load_hf(c->bert, f);
    if (!st) st = clf_finish_setup(c, 0);
    if (!st && meta.thresholds) classifier_set_label_thresholds(c, meta.thresholds);
    if (!st && meta.label_counts) {
        c->label_counts = meta.label_counts; /* moved */
        c->train_examples = meta.train_examples;
        meta.label_counts = NULL;
    }
    if (!st) st = param_table_load(dev, &c->head, "mltc.", f);
    st_close(f);
    if (!st && with_optimizer) {
        join(path, sizeof path, dir, "optimizer.safetensors");
        st = load_optimizer(c, path);
    }
    ckpt_meta_free(&meta);
    if (st) {
        err_prefix(err, "loading checkpoint %s: ", dir);
        classifier_free(c);
        return st;
    }
    *out = c;
    return MLTC_OK;
}
