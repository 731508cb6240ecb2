/* The encoder's memory: parameter layout and tensor table, buffers, accessors, vocabulary
 * resizing. The passes themselves are in bert_forward.c and bert_backward.c (the last layer
 * at selected positions in bert_select.c), built from the layer pieces of bert_layer.c. */
#include "model/bert_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/philox.h"

/* 64 elements = 256 bytes, the largest storage-buffer offset alignment Vulkan devices ask. */
#define BERT_ALIGN 64u

static size_t take(size_t *cursor, size_t n) {
    size_t at = (*cursor + BERT_ALIGN - 1) / BERT_ALIGN * BERT_ALIGN;
    *cursor = at + n;
    return at;
}

/* ---- parameter layout and tensor table ------------------------------------------------ */

static void add_tensor(bert_model *m, const char *name, int rows, int cols, size_t off) {
    bert_tensor *t = &m->tensors[m->ntensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = cols ? 2 : 1;
    t->shape[0] = rows;
    t->shape[1] = cols;
    t->numel = (size_t)rows * (size_t)(cols ? cols : 1);
    t->off = off;
}

/* Computes offsets for cfg into lay (layers array allocated by the caller) and fills the
 * tensor table (HF names, HF shapes). q, k and v are three tensors in HF but one [3C, C]
 * block here, so the projection is a single matmul. */
static void layout_build(bert_model *m) {
    const bert_config *c = &m->cfg;
    size_t C = (size_t)c->hidden_size, I = (size_t)c->intermediate_size, cur = 0;
    bert_layout *L = &m->lay;
    L->word = take(&cur, (size_t)c->vocab_size * C);
    L->pos = take(&cur, (size_t)c->max_position * C);
    L->type = take(&cur, (size_t)c->type_vocab_size * C);
    for (int l = 0; l < c->num_layers; l++) {
        bert_layer_off *o = &L->layers[l];
        o->qkv_w = take(&cur, 3 * C * C);
        o->o_w = take(&cur, C * C);
        o->f1_w = take(&cur, I * C);
        o->f2_w = take(&cur, C * I);
    }
    L->n_decay = take(&cur, 0);
    L->emb_ln_w = take(&cur, C);
    L->emb_ln_b = take(&cur, C);
    for (int l = 0; l < c->num_layers; l++) {
        bert_layer_off *o = &L->layers[l];
        o->qkv_b = take(&cur, 3 * C);
        o->o_b = take(&cur, C);
        o->ln1_w = take(&cur, C);
        o->ln1_b = take(&cur, C);
        o->f1_b = take(&cur, I);
        o->f2_b = take(&cur, C);
        o->ln2_w = take(&cur, C);
        o->ln2_b = take(&cur, C);
    }
    L->n = take(&cur, 0);

    int Ci = c->hidden_size, Ii = c->intermediate_size;
    m->ntensors = 0;
    add_tensor(m, "embeddings.word_embeddings.weight", c->vocab_size, Ci, L->word);
    add_tensor(m, "embeddings.position_embeddings.weight", c->max_position, Ci, L->pos);
    add_tensor(m, "embeddings.token_type_embeddings.weight", c->type_vocab_size, Ci, L->type);
    add_tensor(m, "embeddings.LayerNorm.weight", Ci, 0, L->emb_ln_w);
    add_tensor(m, "embeddings.LayerNorm.bias", Ci, 0, L->emb_ln_b);
    for (int l = 0; l < c->num_layers; l++) {
        const bert_layer_off *o = &L->layers[l];
        static const char *const qkv[3] = {"query", "key", "value"};
        char name[80];
#define NAME(fmt) (snprintf(name, sizeof name, "encoder.layer.%d." fmt, l), name)
        for (int j = 0; j < 3; j++) {
            snprintf(name, sizeof name, "encoder.layer.%d.attention.self.%s.weight", l, qkv[j]);
            add_tensor(m, name, Ci, Ci, o->qkv_w + (size_t)j * C * C);
            snprintf(name, sizeof name, "encoder.layer.%d.attention.self.%s.bias", l, qkv[j]);
            add_tensor(m, name, Ci, 0, o->qkv_b + (size_t)j * C);
        }
        add_tensor(m, NAME("attention.output.dense.weight"), Ci, Ci, o->o_w);
        add_tensor(m, NAME("attention.output.dense.bias"), Ci, 0, o->o_b);
        add_tensor(m, NAME("attention.output.LayerNorm.weight"), Ci, 0, o->ln1_w);
        add_tensor(m, NAME("attention.output.LayerNorm.bias"), Ci, 0, o->ln1_b);
        add_tensor(m, NAME("intermediate.dense.weight"), Ii, Ci, o->f1_w);
        add_tensor(m, NAME("intermediate.dense.bias"), Ii, 0, o->f1_b);
        add_tensor(m, NAME("output.dense.weight"), Ci, Ii, o->f2_w);
        add_tensor(m, NAME("output.dense.bias"), Ci, 0, o->f2_b);
        add_tensor(m, NAME("output.LayerNorm.weight"), Ci, 0, o->ln2_w);
        add_tensor(m, NAME("output.LayerNorm.bias"), Ci, 0, o->ln2_b);
#undef NAME
    }
}

static int tensor_count_for(const bert_config *c) { return 5 + 16 * c->num_layers; }

/* ---- buffers -------------------------------------------------------------------------- */

static mltc_status alloc_zeroed(dev_ctx *dev, size_t elems, dev_buf **out) {
    *out = NULL;
    mltc_status st = dev_alloc(dev, elems * 4, out);
    if (st == MLTC_OK) st = dev_fill(dev, (dev_view){*out, 0}, elems, 0.0f);
    return st;
}

/* Activation buffers: one per layer, or for prediction two used in turn by all the layers. */
static int act_sets(const bert_model *m) {
    return m->predict_only && m->cfg.num_layers > 2 ? 2 : m->cfg.num_layers;
}

/* Activation views of one layer inside its own buffer, for n = max_batch * max_seq rows. */
static mltc_status layer_act_alloc(bert_model *m, bert_layer_act *a) {
    const bert_config *c = &m->cfg;
    size_t n = (size_t)m->max_batch * m->max_seq, C = (size_t)c->hidden_size, I = (size_t)c->intermediate_size;
    size_t att = (size_t)m->max_batch * c->num_heads * m->max_seq * m->max_seq, cur = 0;
    size_t rows_stat = (size_t)m->max_batch * c->num_heads * m->max_seq;
    int fused = m->fused_attention;
    size_t o_qkv = take(&cur, 3 * n * C), o_att = fused ? 0 : take(&cur, att);
    size_t o_lse = fused ? take(&cur, rows_stat) : 0;
    /* prediction-only models never apply dropout; the fused attention keeps no probabilities */
    size_t o_att_d = c->attention_dropout > 0.0f && !m->predict_only && !fused ? take(&cur, att) : 0;
    size_t o_ctx = take(&cur, n * C), o_res1 = take(&cur, n * C), o_ln1 = take(&cur, n * C);
    size_t o_ln1m = take(&cur, n), o_ln1r = take(&cur, n);
    size_t o_fpre = take(&cur, n * I), o_fgelu = take(&cur, n * I);
    size_t o_res2 = take(&cur, n * C), o_ln2 = take(&cur, n * C), o_ln2m = take(&cur, n), o_ln2r = take(&cur, n);
    mltc_status st = dev_alloc(m->dev, cur * 4, &a->buf);
    if (st) return st;
    dev_buf *b = a->buf;
    a->qkv = (dev_view){b, o_qkv};
    a->att = (dev_view){fused ? NULL : b, o_att};
    a->att_d = (dev_view){o_att_d ? b : NULL, o_att_d};
    a->lse = (dev_view){fused ? b : NULL, o_lse};
    a->ctx = (dev_view){b, o_ctx};
    a->res1 = (dev_view){b, o_res1};
    a->ln1 = (dev_view){b, o_ln1};
    a->ln1_mean = (dev_view){b, o_ln1m};
    a->ln1_rstd = (dev_view){b, o_ln1r};
    a->f_pre = (dev_view){b, o_fpre};
    a->f_gelu = (dev_view){b, o_fgelu};
    a->res2 = (dev_view){b, o_res2};
    a->ln2 = (dev_view){b, o_ln2};
    a->ln2_mean = (dev_view){b, o_ln2m};
    a->ln2_rstd = (dev_view){b, o_ln2r};
    return MLTC_OK;
}

static mltc_status acts_alloc(bert_model *m) {
    const bert_config *c = &m->cfg;
    dev_ctx *dev = m->dev;
    size_t n = (size_t)m->max_batch * m->max_seq, C = (size_t)c->hidden_size, I = (size_t)c->intermediate_size;
    size_t att = (size_t)m->max_batch * c->num_heads * m->max_seq * m->max_seq, cur;
    mltc_status st;

    cur = 0;
    size_t o_ids = take(&cur, n), o_types = take(&cur, n), o_pos = take(&cur, n), o_mask = take(&cur, n);
    if ((st = dev_alloc(dev, cur * 4, &m->inputs))) return st;
    m->ids = (dev_view){m->inputs, o_ids};
    m->types = (dev_view){m->inputs, o_types};
    m->pos = (dev_view){m->inputs, o_pos};
    m->mask = (dev_view){m->inputs, o_mask};
    if ((st = dev_alloc(dev, 3 * (3 * n + 1) * 4, &m->plans))) return st;

    cur = 0;
    size_t o_sum = take(&cur, n * C), o_mean = take(&cur, n), o_rstd = take(&cur, n), o_out = take(&cur, n * C);
    if ((st = dev_alloc(dev, cur * 4, &m->emb_buf))) return st;
    m->emb_sum = (dev_view){m->emb_buf, o_sum};
    m->emb_mean = (dev_view){m->emb_buf, o_mean};
    m->emb_rstd = (dev_view){m->emb_buf, o_rstd};
    m->emb_out = (dev_view){m->emb_buf, o_out};

    /* For prediction no backward reads a layer's activations after the next layer has run: two
     * sets in turn (layer l reads layer l-1's output, so never its own set) serve every layer. */
    int sets = act_sets(m);
    for (int l = 0; l < c->num_layers; l++) {
        if (l < sets) {
            if ((st = layer_act_alloc(m, &m->act[l]))) return st;
        } else {
            m->act[l] = m->act[l % sets];
        }
    }

    cur = 0;
    int grads = !m->predict_only; /* the backward's buffers */
    int fused = m->fused_attention;
    size_t o_scores = fused ? 0 : take(&cur, att), o_dqkv = take(&cur, grads ? 3 * n * C : 0);
    size_t o_delta = fused ? take(&cur, (size_t)m->max_batch * c->num_heads * m->max_seq) : 0;
    size_t o_dA = take(&cur, grads ? n * C : 0), o_dB = take(&cur, grads ? n * C : 0);
    size_t o_dC = take(&cur, grads ? n * C : 0), o_df1 = take(&cur, grads ? n * I : 0);
    if ((st = dev_alloc(dev, cur * 4, &m->scratch))) return st;
    dev_buf *s = m->scratch;
    m->s_scores = (dev_view){fused ? NULL : s, o_scores};
    m->s_delta = (dev_view){fused ? s : NULL, o_delta};
    m->s_dqkv = (dev_view){s, o_dqkv};
    /* The forward's scores are dead once softmax has read them, and the backward's score
     * gradients live within one layer's attention backward: one [B, H, T, T] serves both. */
    m->s_datt = (dev_view){fused ? NULL : s, o_scores};
    m->s_dA = (dev_view){s, o_dA};
    m->s_dB = (dev_view){s, o_dB};
    m->s_dC = (dev_view){s, o_dC};
    m->s_df1 = (dev_view){s, o_df1};
    return MLTC_OK;
}

/* Everything but the parameters: checks, host memory, layout, activations. */
static mltc_status model_new(dev_ctx *dev, const bert_config *cfg, int max_batch, int max_seq, int predict_only,
                             bert_model **out) {
    if (!dev || !cfg || !out) return MLTC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    mltc_error *err = dev->err;
    mltc_status st = bert_config_check(err, cfg, "bert_model_create");
    if (st) return st;
    if (max_batch < 1 || max_seq < 1 || max_seq > cfg->max_position)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT,
                       "bert_model_create: max_batch %d and max_seq %d must be >= 1 and max_seq <= "
                       "max_position_embeddings %d",
                       max_batch, max_seq, cfg->max_position);
    /* Dropout gives each site 32 bits of element counter (bert.h); the attention
     * probabilities are the largest site. Also keeps every int argument in range. */
    double att = (double)max_batch * cfg->num_heads * max_seq * max_seq;
    double rows = (double)max_batch * max_seq * (3.0 * cfg->hidden_size + cfg->intermediate_size);
    if (att >= 4294967296.0 || rows >= 2147483647.0)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT,
                       "bert_model_create: max_batch %d x max_seq %d is too large for one step", max_batch, max_seq);

    bert_model *m = calloc(1, sizeof *m);
    if (!m) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "bert_model_create: no host memory");
    m->dev = dev;
    m->cfg = *cfg;
    m->max_batch = max_batch;
    m->max_seq = max_seq;
    m->predict_only = predict_only;
    m->seed = 0;
    size_t n = (size_t)max_batch * max_seq;
    m->lay.layers = calloc((size_t)cfg->num_layers, sizeof *m->lay.layers);
    m->tensors = calloc((size_t)tensor_count_for(cfg), sizeof *m->tensors);
    m->act = calloc((size_t)cfg->num_layers, sizeof *m->act);
    m->h_ids = malloc(n * sizeof *m->h_ids);
    m->h_types = malloc(n * sizeof *m->h_types);
    m->h_pos = malloc(n * sizeof *m->h_pos);
    m->h_mask = malloc(n * sizeof *m->h_mask);
    m->h_plan = malloc((3 * n + 1) * sizeof *m->h_plan);
    m->h_sel = malloc(n * sizeof *m->h_sel);
    m->h_src = malloc(n * sizeof *m->h_src);
    if (!m->lay.layers || !m->tensors || !m->act || !m->h_ids || !m->h_types || !m->h_pos || !m->h_mask ||
        !m->h_plan || !m->h_sel || !m->h_src) {
        bert_model_free(m);
        return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "bert_model_create: no host memory");
    }
    layout_build(m);
    const char *att_path = getenv("MLTC_ATTENTION");
    m->fused_attention = dev_has_attention_train(dev) &&
                         cfg->hidden_size / cfg->num_heads <= DEV_ATTENTION_TRAIN_MAX_DIM &&
                         !(att_path && strcmp(att_path, "reference") == 0);
    st = acts_alloc(m);
    if (st) {
        err_prefix(err, "bert_model_create (batch %d, seq %d): ", max_batch, max_seq);
        bert_model_free(m);
        return st;
    }
    *out = m;
    return MLTC_OK;
}

/* A model with parameters of its own, and gradients unless it is for prediction only. */
static mltc_status model_create(dev_ctx *dev, const bert_config *cfg, int max_batch, int max_seq, int predict_only,
                                bert_model **out) {
    bert_model *m = NULL;
    mltc_status st = model_new(dev, cfg, max_batch, max_seq, predict_only, &m);
    if (st) return st;
    st = alloc_zeroed(dev, m->lay.n, &m->params);
    if (!st && !predict_only) st = alloc_zeroed(dev, m->lay.n, &m->grads);
    if (st) {
        err_prefix(dev->err, "bert_model_create: parameters (%zu floats): ", m->lay.n);
        bert_model_free(m);
        return st;
    }
    *out = m;
    return MLTC_OK;
}

mltc_status bert_model_create(dev_ctx *dev, const bert_config *cfg, int max_batch, int max_seq, bert_model **out) {
    return model_create(dev, cfg, max_batch, max_seq, 0, out);
}

mltc_status bert_model_create_inference(dev_ctx *dev, const bert_config *cfg, int max_batch, int max_seq,
                                        bert_model **out) {
    return model_create(dev, cfg, max_batch, max_seq, 1, out);
}

mltc_status bert_model_create_sibling(bert_model *base, int max_batch, int max_seq, bert_model **out) {
    if (!base || !out) return MLTC_ERR_INVALID_ARGUMENT;
    bert_model *m = NULL;
    mltc_status st = model_new(base->dev, &base->cfg, max_batch, max_seq, base->predict_only, &m);
    if (st) return st;
    m->params = base->params;
    m->grads = base->grads;
    m->owner = base;
    m->seed = base->seed ^ BERT_SIBLING_SEED_SALT;
    *out = m;
    return MLTC_OK;
}

void bert_model_free(bert_model *m) {
    if (!m) return;
    dev_ctx *dev = m->dev;
    if (!m->owner) {
        dev_free(dev, m->params);
        dev_free(dev, m->grads);
    }
    dev_free(dev, m->inputs);
    dev_free(dev, m->plans);
    dev_free(dev, m->emb_buf);
    dev_free(dev, m->scratch);
    dev_free(dev, m->unfused_buf);
    dev_free(dev, m->sel_buf);
    free(m->sel_pos);
    free(m->h_sel_idx);
    if (m->act)
        for (int l = 0; l < act_sets(m); l++) dev_free(dev, m->act[l].buf);
    free(m->act);
    free(m->lay.layers);
    free(m->tensors);
    free(m->h_ids);
    free(m->h_types);
    free(m->h_pos);
    free(m->h_mask);
    free(m->h_plan);
    free(m->h_sel);
    free(m->h_src);
    free(m);
}

/* ---- accessors ------------------------------------------------------------------------ */

const bert_config *bert_config_of(const bert_model *m) { return &m->cfg; }
dev_ctx *bert_device(const bert_model *m) { return m->dev; }
dev_buf *bert_params(const bert_model *m) { return m->params; }
dev_buf *bert_grads(const bert_model *m) { return m->grads; }
size_t bert_num_params(const bert_model *m) { return m->lay.n; }
size_t bert_num_decay_params(const bert_model *m) { return m->lay.n_decay; }
int bert_tensor_count(const bert_model *m) { return m->ntensors; }
const bert_tensor *bert_tensor_at(const bert_model *m, int i) {
    return i >= 0 && i < m->ntensors ? &m->tensors[i] : NULL;
}
dev_view bert_word_embeddings(const bert_model *m) { return bert_pv(m, m->lay.word); }
dev_view bert_word_embeddings_grad(const bert_model *m) { return bert_gv(m, m->lay.word); }
dev_view bert_mask(const bert_model *m) { return m->mask; }
void bert_set_dropout_seed(bert_model *m, uint64_t seed) { m->seed = seed; }

const bert_tensor *bert_tensor_find(const bert_model *m, const char *name) {
    if (strncmp(name, "bert.", 5) == 0) name += 5;
    for (int i = 0; i < m->ntensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}

mltc_status bert_tensor_upload(bert_model *m, const bert_tensor *t, const float *src) {
    return dev_upload(m->dev, m->params, t->off * 4, src, t->numel * 4);
}

mltc_status bert_tensor_download(bert_model *m, const bert_tensor *t, float *dst) {
    return dev_download(m->dev, m->params, t->off * 4, dst, t->numel * 4);
}

mltc_status bert_zero_grads(bert_model *m) {
    if (m->predict_only)
        return err_set(m->dev->err, MLTC_ERR_INVALID_ARGUMENT,
                       "bert_zero_grads: an inference-only model has no gradients");
    return dev_fill(m->dev, bert_gv(m, 0), m->lay.n, 0.0f);
}

/* ---- vocabulary resizing -------------------------------------------------------------- */

/* N(0, std^2) from two Philox uniforms per value (Box-Muller, first output only), so the
 * value at row r, column j depends only on (seed, r, j). */
static void normal_rows(float *dst, size_t first_row, size_t rows, size_t cols, uint64_t seed, float std) {
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++) {
            uint64_t i = ((first_row + r) * cols + j) * 2;
            double u1 = 1.0 - (double)philox_uniform(seed, i); /* (0, 1]: log is finite */
            double u2 = (double)philox_uniform(seed, i + 1);
            dst[r * cols + j] = (float)(std * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
        }
}

mltc_status bert_resize_vocab(bert_model *m, int new_vocab, uint64_t seed) {
    dev_ctx *dev = m->dev;
    if (new_vocab < 1)
        return err_set(dev->err, MLTC_ERR_INVALID_ARGUMENT, "bert_resize_vocab: new vocabulary size %d < 1",
                       new_vocab);
    if (m->owner)
        return err_set(dev->err, MLTC_ERR_INVALID_ARGUMENT,
                       "bert_resize_vocab: a sibling shares its parameters; resize the base model");
    if (m->cfg.pad_token_id >= new_vocab)
        return err_set(dev->err, MLTC_ERR_INVALID_ARGUMENT,
                       "bert_resize_vocab: %d rows would drop the [PAD] row %d", new_vocab, m->cfg.pad_token_id);
    if (new_vocab == m->cfg.vocab_size) return MLTC_OK;

    bert_model old = *m; /* the old layout, table and buffers */
    size_t C = (size_t)m->cfg.hidden_size;
    bert_layer_off *layers = calloc((size_t)m->cfg.num_layers, sizeof *layers);
    bert_tensor *tensors = calloc((size_t)m->ntensors, sizeof *tensors);
    if (!layers || !tensors) {
        free(layers);
        free(tensors);
        return err_set(dev->err, MLTC_ERR_OUT_OF_MEMORY, "bert_resize_vocab: no host memory");
    }
    bert_model nw = *m;
    nw.cfg.vocab_size = new_vocab;
    nw.lay.layers = layers;
    nw.tensors = tensors;
    nw.params = nw.grads = NULL;
    layout_build(&nw);

    size_t keep = (size_t)(new_vocab < old.cfg.vocab_size ? new_vocab : old.cfg.vocab_size);
    float *rows = NULL;
    mltc_status st = alloc_zeroed(dev, nw.lay.n, &nw.params);
    if (!st) st = alloc_zeroed(dev, nw.lay.n, &nw.grads);
    /* Same tensors in the same order; only the word table changes size. */
    for (int i = 0; !st && i < nw.ntensors; i++) {
        size_t n = i == 0 ? keep * C : nw.tensors[i].numel;
        st = dev_copy(dev, (dev_view){nw.params, nw.tensors[i].off}, (dev_view){old.params, old.tensors[i].off}, n);
    }
    if (!st && (size_t)new_vocab > keep) {
        size_t add = (size_t)new_vocab - keep;
        rows = malloc(add * C * sizeof *rows);
        if (!rows)
            st = err_set(dev->err, MLTC_ERR_OUT_OF_MEMORY, "bert_resize_vocab: no host memory for %zu rows", add);
        else {
            normal_rows(rows, keep, add, C, seed, 0.02f);
            st = dev_upload(dev, nw.params, (nw.lay.word + keep * C) * 4, rows, add * C * 4);
        }
    }
    free(rows);
    if (st) {
        dev_free(dev, nw.params);
        dev_free(dev, nw.grads);
        free(layers);
        free(tensors);
        return err_prefix(dev->err, "bert_resize_vocab %d -> %d: ", old.cfg.vocab_size, new_vocab);
    }
    dev_free(dev, old.params);
    dev_free(dev, old.grads);
    free(old.lay.layers);
    free(old.tensors);
    m->cfg = nw.cfg;
    m->lay = nw.lay;
    m->tensors = nw.tensors;
    m->params = nw.params;
    m->grads = nw.grads;
    m->have_forward = 0; /* a backward must follow a forward on the new table */
    return MLTC_OK;
}
