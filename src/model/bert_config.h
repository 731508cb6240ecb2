/*
 * The BERT hyper-parameters mltc needs, read from (and written as) a Hugging Face config.json.
 */
#ifndef MLTC_MODEL_BERT_CONFIG_H
#define MLTC_MODEL_BERT_CONFIG_H

#include "core/error.h"

typedef struct bert_config {
    int vocab_size;
    int hidden_size;
    int num_layers;        /* num_hidden_layers */
    int num_heads;         /* num_attention_heads */
    int intermediate_size;
    int max_position;      /* max_position_embeddings */
    int type_vocab_size;
    float layer_norm_eps;
    float hidden_dropout;    /* hidden_dropout_prob */
    float attention_dropout; /* attention_probs_dropout_prob */
    /* The [PAD] id: like PyTorch's nn.Embedding(padding_idx=...) in BertEmbeddings, its
     * word-embedding row gets no gradient. Optional key, Hugging Face's default 0; null or a
     * negative value means none (-1). */
    int pad_token_id;
} bert_config;

/* Parses config.json text. `source` names the file in error messages ("ckpt/config.json:
 * key 'hidden_size': expected a positive integer"). Every key above is required, hidden_act
 * must be "gelu" (erf form), and the result passes bert_config_check. */
mltc_status bert_config_parse(mltc_error *err, const char *json, const char *source, bert_config *cfg);

/* Reads and parses the file at path. */
mltc_status bert_config_load(mltc_error *err, const char *path, bert_config *cfg);

/* Checks the values fit together: all sizes positive, hidden divisible by heads, dropout in
 * [0, 1), eps > 0. `source` prefixes the message. */
mltc_status bert_config_check(mltc_error *err, const bert_config *cfg, const char *source);

/* The config as Hugging Face config.json text (model_type "bert", hidden_act "gelu"), so
 * transformers.BertModel.from_pretrained can read a checkpoint mltc wrote. malloc'd; NULL on
 * out of memory. */
char *bert_config_to_json(const bert_config *cfg);

/* Writes bert_config_to_json to path through a temporary file and a rename. */
mltc_status bert_config_save(mltc_error *err, const bert_config *cfg, const char *path);

#endif
