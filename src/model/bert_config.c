/* Hugging Face config.json <-> bert_config. */
#include "model/bert_config.h"

#include "core/fileio.h"
#include "core/json_number.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The config file is a few hundred bytes; anything this large is not a config. */
#define CONFIG_MAX_BYTES (1u << 20)

static mltc_status get_int(mltc_error *err, const cJSON *root, const char *source, const char *key, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v) return err_set(err, MLTC_ERR_PARSE, "%s: key '%s' is missing", source, key);
    double d;
    if (!json_whole_number(v, 1.0, INT_MAX, &d))
        return err_set(err, MLTC_ERR_PARSE, "%s: key '%s': expected a positive integer", source, key);
    *out = (int)d;
    return MLTC_OK;
}

static mltc_status get_float(mltc_error *err, const cJSON *root, const char *source, const char *key, float *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v) return err_set(err, MLTC_ERR_PARSE, "%s: key '%s' is missing", source, key);
    if (!cJSON_IsNumber(v) || !(fabs(v->valuedouble) <= FLT_MAX))
        return err_set(err, MLTC_ERR_PARSE, "%s: key '%s': expected a number within float range", source, key);
    *out = (float)v->valuedouble;
    return MLTC_OK;
}

mltc_status bert_config_check(mltc_error *err, const bert_config *c, const char *source) {
    const struct {
        const char *key;
        int v;
    } sizes[] = {
        {"vocab_size", c->vocab_size},
        {"hidden_size", c->hidden_size},
        {"num_hidden_layers", c->num_layers},
        {"num_attention_heads", c->num_heads},
        {"intermediate_size", c->intermediate_size},
        {"max_position_embeddings", c->max_position},
        {"type_vocab_size", c->type_vocab_size},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (sizes[i].v < 1)
            return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "%s: '%s' is %d, must be >= 1", source, sizes[i].key,
                           sizes[i].v);
    if (c->hidden_size % c->num_heads != 0)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT,
                       "%s: hidden_size %d is not divisible by num_attention_heads %d", source, c->hidden_size,
                       c->num_heads);
    /* The dropout offsets reserve 8 bits for the site (bert.h), 3 sites per layer. */
    if (c->num_layers > 80)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "%s: num_hidden_layers %d exceeds mltc's limit of 80",
                       source, c->num_layers);
    if (c->pad_token_id < -1 || c->pad_token_id >= c->vocab_size)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "%s: 'pad_token_id' %d is outside the vocabulary [0, %d)",
                       source, c->pad_token_id, c->vocab_size);
    if (!(c->layer_norm_eps > 0.0f))
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "%s: 'layer_norm_eps' must be > 0", source);
    if (!(c->hidden_dropout >= 0.0f && c->hidden_dropout < 1.0f))
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "%s: 'hidden_dropout_prob' %g is outside [0, 1)", source,
                       (double)c->hidden_dropout);
    if (!(c->attention_dropout >= 0.0f && c->attention_dropout < 1.0f))
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "%s: 'attention_probs_dropout_prob' %g is outside [0, 1)",
                       source, (double)c->attention_dropout);
    return MLTC_OK;
}

mltc_status bert_config_parse(mltc_error *err, const char *json, const char *source, bert_config *cfg) {
    cJSON *root = cJSON_Parse(json);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        return err_set(err, MLTC_ERR_PARSE, "%s: not valid JSON (near byte %ld)", source,
                       at ? (long)(at - json) : -1L);
    }
    bert_config c;
    memset(&c, 0, sizeof c);
    mltc_status st = MLTC_OK;
    if (!cJSON_IsObject(root)) st = err_set(err, MLTC_ERR_PARSE, "%s: expected a JSON object", source);
    if (!st) st = get_int(err, root, source, "vocab_size", &c.vocab_size);
    if (!st) st = get_int(err, root, source, "hidden_size", &c.hidden_size);
    if (!st) st = get_int(err, root, source, "num_hidden_layers", &c.num_layers);
    if (!st) st = get_int(err, root, source, "num_attention_heads", &c.num_heads);
    if (!st) st = get_int(err, root, source, "intermediate_size", &c.intermediate_size);
    if (!st) st = get_int(err, root, source, "max_position_embeddings", &c.max_position);
    if (!st) st = get_int(err, root, source, "type_vocab_size", &c.type_vocab_size);
    if (!st) st = get_float(err, root, source, "layer_norm_eps", &c.layer_norm_eps);
    if (!st) st = get_float(err, root, source, "hidden_dropout_prob", &c.hidden_dropout);
    if (!st) st = get_float(err, root, source, "attention_probs_dropout_prob", &c.attention_dropout);
    if (!st) {
        const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
        if (!act)
            st = err_set(err, MLTC_ERR_PARSE, "%s: key 'hidden_act' is missing", source);
        else if (!cJSON_IsString(act) || strcmp(act->valuestring, "gelu") != 0)
            st = err_set(err, MLTC_ERR_UNSUPPORTED,
                         "%s: key 'hidden_act' is %s; mltc implements only \"gelu\" (the erf form)", source,
                         cJSON_IsString(act) ? act->valuestring : "not a string");
    }
    if (!st) {
        const cJSON *pad = cJSON_GetObjectItemCaseSensitive(root, "pad_token_id");
        c.pad_token_id = 0;
        if (pad && cJSON_IsNull(pad)) c.pad_token_id = -1;
        else if (pad && (!cJSON_IsNumber(pad) || pad->valuedouble != floor(pad->valuedouble) ||
                         pad->valuedouble >= 2147483647.0))
            st = err_set(err, MLTC_ERR_PARSE, "%s: key 'pad_token_id': expected an integer or null", source);
        else if (pad)
            c.pad_token_id = pad->valuedouble < 0 ? -1 : (int)pad->valuedouble;
    }
    if (!st) {
        /* Relative position embeddings would silently compute something else. */
        const cJSON *pe = cJSON_GetObjectItemCaseSensitive(root, "position_embedding_type");
        if (pe && !(cJSON_IsString(pe) && strcmp(pe->valuestring, "absolute") == 0))
            st = err_set(err, MLTC_ERR_UNSUPPORTED,
                         "%s: key 'position_embedding_type' is %s; mltc implements only \"absolute\"", source,
                         cJSON_IsString(pe) ? pe->valuestring : "not a string");
    }
    cJSON_Delete(root);
    if (!st) st = bert_config_check(err, &c, source);
    if (!st) *cfg = c;
    return st;
}

mltc_status bert_config_load(mltc_error *err, const char *path, bert_config *cfg) {
    char *text = NULL;
    mltc_status st = file_read_all(err, path, CONFIG_MAX_BYTES, &text, NULL);
    if (st) return st;
    st = bert_config_parse(err, text, path, cfg);
    free(text);
    return st;
}

char *bert_config_to_json(const bert_config *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON *arch = cJSON_CreateStringArray((const char *const[]){"BertModel"}, 1);
    if (!o || !arch) {
        cJSON_Delete(o);
        cJSON_Delete(arch);
        return NULL;
    }
    cJSON_AddItemToObject(o, "architectures", arch);
    cJSON_AddStringToObject(o, "model_type", "bert");
    cJSON_AddNumberToObject(o, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(o, "hidden_size", c->hidden_size);
    cJSON_AddNumberToObject(o, "num_hidden_layers", c->num_layers);
    cJSON_AddNumberToObject(o, "num_attention_heads", c->num_heads);
    cJSON_AddNumberToObject(o, "intermediate_size", c->intermediate_size);
    cJSON_AddNumberToObject(o, "max_position_embeddings", c->max_position);
    cJSON_AddNumberToObject(o, "type_vocab_size", c->type_vocab_size);
    cJSON_AddStringToObject(o, "hidden_act", "gelu");
    cJSON_AddStringToObject(o, "position_embedding_type", "absolute");
    if (c->pad_token_id >= 0)
        cJSON_AddNumberToObject(o, "pad_token_id", c->pad_token_id);
    else
        cJSON_AddNullToObject(o, "pad_token_id");
    /* Floats go through double; print the float's shortest faithful value, not 1e-12's
     * float rounding error (9.9999999600419720025e-13). */
    char buf[32];
    const struct {
        const char *key;
        float v;
    } fl[] = {{"layer_norm_eps", c->layer_norm_eps},
              {"hidden_dropout_prob", c->hidden_dropout},
              {"attention_probs_dropout_prob", c->attention_dropout}};
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
        for (int digits = 1; digits <= 9; digits++) {
            snprintf(buf, sizeof buf, "%.*g", digits, (double)fl[i].v);
            if ((float)strtod(buf, NULL) == fl[i].v) break;
        }
        cJSON_AddItemToObject(o, fl[i].key, cJSON_CreateRaw(buf));
    }
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}

mltc_status bert_config_save(mltc_error *err, const bert_config *cfg, const char *path) {
    char *text = bert_config_to_json(cfg);
    if (!text) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: no memory to format the config", path);
    size_t n = strlen(text);
    text[n] = '\n'; /* replaces the NUL: the file ends with a newline */
    mltc_status st = file_write_atomic(err, path, text, n + 1);
    free(text);
    return st;
}
