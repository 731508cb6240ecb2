#include "model/settings.h"

#include "core/json_number.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const head_names[] = {"bert", "lmmtc", "lam"};
static const char *const pooling_names[] = {"cls", "mean"};
static const char *const tune_names[] = {"none", "global", "per-label"};

void train_settings_default(train_settings *s) {
    memset(s, 0, sizeof *s);
    s->head = HEAD_BERT;
    s->epochs = 3;
    s->batch = 16;
    s->max_len = 128;
    s->seed = 42;
    s->lr = 1e-4; /* Reuters dev, 3 epochs: micro-F1 0.910 / macro 0.533 against 0.906 / 0.482 at 5e-5 */
    s->warmup = 0.1;
    s->weight_decay = 0.01;
    s->max_grad_norm = 1.0;
    s->dropout = 0.1;
    s->threshold = 0.5;
    s->lambda = 0.05;
    s->mask_prob = 0.15;
    s->head_lr = 1e-3;
    s->prior_bias = 1;
    s->pooling = POOL_MEAN;
    s->dev_split = 0.1;
    s->patience = 0;
    s->tune = TUNE_GLOBAL;
    s->min_labels = MIN_LABELS_AUTO;
}

void train_settings_papers(train_settings *s) {
    train_settings_default(s);
    s->lr = 5e-5;
    s->head_lr = 0;
    s->prior_bias = 0;
    s->pooling = POOL_CLS;
    s->dev_split = 0;
    s->patience = 0;
    s->tune = TUNE_NONE;
    s->min_labels = 0;
}

const char *head_kind_name(head_kind h) { return (h >= HEAD_BERT && h <= HEAD_LAM) ? head_names[h] : "?"; }

/* "a, b or c" */
static void list_choices(const char *const *names, int n, char *out, size_t cap) {
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? (i + 1 < n ? ", " : " or ") : "", names[i]);
}

/* One of names[n] by name; else an error listing the choices. */
static mltc_status parse_choice(mltc_error *err, const char *what, const char *const *names, int n, const char *name,
                                int *out) {
    for (int i = 0; i < n; i++)
        if (name && !strcmp(name, names[i])) {
            *out = i;
            return MLTC_OK;
        }
    char choices[128];
    list_choices(names, n, choices, sizeof choices);
    return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "%s '%s': expected %s", what, name ? name : "", choices);
}

mltc_status head_kind_parse(mltc_error *err, const char *name, head_kind *out) {
    int i = 0;
    mltc_status st = parse_choice(err, "head", head_names, 3, name, &i);
    if (!st) *out = (head_kind)i;
    return st;
}

const char *pooling_kind_name(pooling_kind p) { return (p == POOL_CLS || p == POOL_MEAN) ? pooling_names[p] : "?"; }

mltc_status pooling_kind_parse(mltc_error *err, const char *name, pooling_kind *out) {
    int i = 0;
    mltc_status st = parse_choice(err, "pooling", pooling_names, 2, name, &i);
    if (!st) *out = (pooling_kind)i;
    return st;
}

const char *tune_kind_name(tune_kind t) { return (t >= TUNE_NONE && t <= TUNE_PER_LABEL) ? tune_names[t] : "?"; }

mltc_status tune_kind_parse(mltc_error *err, const char *name, tune_kind *out) {
    int i = 0;
    mltc_status st = parse_choice(err, "threshold tuning", tune_names, 3, name, &i);
    if (!st) *out = (tune_kind)i;
    return st;
}

#define RANGE(cond, ...)                                                                                          \
    do {                                                                                                          \
        if (!(cond)) return err_set(err, MLTC_ERR_INVALID_ARGUMENT, __VA_ARGS__);                                 \
    } while (0)

mltc_status train_settings_check(mltc_error *err, const train_settings *s) {
    RANGE(s->epochs >= 1, "epochs %d must be >= 1", s->epochs);
    RANGE(s->batch >= 1, "batch %d must be >= 1", s->batch);
    RANGE(s->max_len >= 4, "max-len %d must be >= 4", s->max_len);
    RANGE(s->lr > 0 && s->lr < 1, "lr %g must be in (0, 1)", s->lr);
    RANGE(s->warmup >= 0 && s->warmup <= 1, "warmup %g must be a fraction in [0, 1]", s->warmup);
    RANGE(s->weight_decay >= 0, "weight decay %g must be >= 0", s->weight_decay);
    RANGE(s->max_grad_norm > 0, "max grad norm %g must be > 0", s->max_grad_norm);
    RANGE(s->dropout >= 0 && s->dropout < 1, "dropout %g must be in [0, 1)", s->dropout);
    RANGE(s->threshold > 0 && s->threshold < 1, "threshold %g must be in (0, 1)", s->threshold);
    RANGE(s->lambda >= 0, "lambda %g must be >= 0", s->lambda);
    RANGE(s->mask_prob > 0 && s->mask_prob < 1, "mask probability %g must be in (0, 1)", s->mask_prob);
    RANGE(s->head_lr >= 0 && s->head_lr < 1, "head lr %g must be in [0, 1) (0: the lr)", s->head_lr);
    RANGE(s->dev_split >= 0 && s->dev_split <= 0.5, "dev split %g must be a fraction in [0, 0.5]", s->dev_split);
    RANGE(s->patience >= 0, "patience %d must be >= 0 (0: never stop early)", s->patience);
    RANGE(s->min_labels >= MIN_LABELS_AUTO, "min-labels %d must be >= 0 (or auto)", s->min_labels);
    return MLTC_OK;
}

cJSON *train_settings_to_json(const train_settings *s) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "head", head_kind_name(s->head));
    cJSON_AddNumberToObject(o, "epochs", s->epochs);
    cJSON_AddNumberToObject(o, "batch", s->batch);
    cJSON_AddNumberToObject(o, "max_len", s->max_len);
    /* A double holds integers exactly up to 2^53: seeds above that are written as strings. */
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", s->seed);
    cJSON_AddStringToObject(o, "seed", seed);
    cJSON_AddNumberToObject(o, "lr", s->lr);
    cJSON_AddNumberToObject(o, "warmup", s->warmup);
    cJSON_AddNumberToObject(o, "weight_decay", s->weight_decay);
    cJSON_AddNumberToObject(o, "max_grad_norm", s->max_grad_norm);
    cJSON_AddNumberToObject(o, "dropout", s->dropout);
    cJSON_AddNumberToObject(o, "threshold", s->threshold);
    cJSON_AddNumberToObject(o, "lambda", s->lambda);
    cJSON_AddNumberToObject(o, "mask_prob", s->mask_prob);
    cJSON_AddStringToObject(o, "label_tokens", s->shared_label_tokens ? "shared" : "per-label");
    cJSON_AddNumberToObject(o, "head_lr", s->head_lr);
    cJSON_AddStringToObject(o, "label_bias", s->prior_bias ? "prior" : "zero");
    cJSON_AddStringToObject(o, "pooling", pooling_kind_name(s->pooling));
    cJSON_AddNumberToObject(o, "dev_split", s->dev_split);
    cJSON_AddNumberToObject(o, "patience", s->patience);
    cJSON_AddStringToObject(o, "tune_threshold", tune_kind_name(s->tune));
    cJSON_AddNumberToObject(o, "min_labels", s->min_labels);
    return o;
}

static mltc_status get_number(mltc_error *err, const cJSON *obj, const char *where, const char *key, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return MLTC_OK;
    if (!cJSON_IsNumber(v)) return err_set(err, MLTC_ERR_PARSE, "%s: settings.%s must be a number", where, key);
    *out = v->valuedouble;
    return MLTC_OK;
}

static mltc_status get_int(mltc_error *err, const cJSON *obj, const char *where, const char *key, int *out) {
    double d = *out;
    mltc_status st = get_number(err, obj, where, key, &d);
    if (st != MLTC_OK) return st;
    if (!whole_in_range(d, INT_MIN, INT_MAX)) /* d is the default when the key is absent */
        return err_set(err, MLTC_ERR_PARSE, "%s: settings.%s must be an integer that fits in 32 bits, not %g", where,
                       key, d);
    *out = (int)d;
    return MLTC_OK;
}

/* A string setting that must be one of names[n]. */
static mltc_status get_choice(mltc_error *err, const cJSON *v, const char *where, const char *key,
                              const char *const *names, int n, int *out) {
    for (int i = 0; cJSON_IsString(v) && i < n; i++)
        if (!strcmp(v->valuestring, names[i])) {
            *out = i;
            return MLTC_OK;
        }
    char choices[128];
    list_choices(names, n, choices, sizeof choices);
    return err_set(err, MLTC_ERR_PARSE, "%s: settings.%s must be %s", where, key, choices);
}

mltc_status train_settings_from_json(mltc_error *err, const cJSON *obj, const char *where, train_settings *s) {
    if (!cJSON_IsObject(obj)) return err_set(err, MLTC_ERR_PARSE, "%s: settings must be an object", where);
    const cJSON *head = cJSON_GetObjectItemCaseSensitive(obj, "head");
    if (head) {
        if (!cJSON_IsString(head)) return err_set(err, MLTC_ERR_PARSE, "%s: settings.head must be a string", where);
        TRY(head_kind_parse(err, head->valuestring, &s->head));
    }
    TRY(get_int(err, obj, where, "epochs", &s->epochs));
    TRY(get_int(err, obj, where, "batch", &s->batch));
    TRY(get_int(err, obj, where, "max_len", &s->max_len));
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(obj, "seed");
    if (seed) {
        char *end = NULL;
        if (!cJSON_IsString(seed) || !*seed->valuestring ||
            (s->seed = strtoull(seed->valuestring, &end, 10), *end))
            return err_set(err, MLTC_ERR_PARSE, "%s: settings.seed must be a decimal string", where);
    }
    TRY(get_number(err, obj, where, "lr", &s->lr));
    TRY(get_number(err, obj, where, "warmup", &s->warmup));
    TRY(get_number(err, obj, where, "weight_decay", &s->weight_decay));
    TRY(get_number(err, obj, where, "max_grad_norm", &s->max_grad_norm));
    TRY(get_number(err, obj, where, "dropout", &s->dropout));
    TRY(get_number(err, obj, where, "threshold", &s->threshold));
    TRY(get_number(err, obj, where, "lambda", &s->lambda));
    TRY(get_number(err, obj, where, "mask_prob", &s->mask_prob));
    /* Checkpoints from before a lever existed were trained without it. */
    train_settings papers;
    train_settings_papers(&papers);
    s->head_lr = papers.head_lr, s->prior_bias = papers.prior_bias, s->pooling = papers.pooling;
    s->dev_split = papers.dev_split, s->tune = papers.tune, s->min_labels = papers.min_labels;
    TRY(get_number(err, obj, where, "head_lr", &s->head_lr));
    TRY(get_number(err, obj, where, "dev_split", &s->dev_split));
    TRY(get_int(err, obj, where, "patience", &s->patience));
    TRY(get_int(err, obj, where, "min_labels", &s->min_labels));
    int choice = 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "label_bias");
    if (v) {
        static const char *const bias_names[] = {"zero", "prior"};
        TRY(get_choice(err, v, where, "label_bias", bias_names, 2, &choice));
        s->prior_bias = choice;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "pooling"))) {
        TRY(get_choice(err, v, where, "pooling", pooling_names, 2, &choice));
        s->pooling = (pooling_kind)choice;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "tune_threshold"))) {
        TRY(get_choice(err, v, where, "tune_threshold", tune_names, 3, &choice));
        s->tune = (tune_kind)choice;
    }
    const cJSON *lt = cJSON_GetObjectItemCaseSensitive(obj, "label_tokens");
    if (lt) {
        if (!cJSON_IsString(lt) || (strcmp(lt->valuestring, "shared") && strcmp(lt->valuestring, "per-label")))
            return err_set(err, MLTC_ERR_PARSE, "%s: settings.label_tokens must be \"shared\" or \"per-label\"", where);
        s->shared_label_tokens = !strcmp(lt->valuestring, "shared");
    }
    return train_settings_check(err, s);
}
