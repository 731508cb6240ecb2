#include "model/checkpoint_meta.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/json_number.h"

void ckpt_meta_free(ckpt_meta *m) {
    labels_free(&m->lbl);
    free(m->thresholds);
    free(m->label_counts);
    m->thresholds = NULL;
    m->label_counts = NULL;
    free(m->extra);
    m->extra = NULL;
}

/* "thresholds": one number in [0, 1] per label (optional). */
static mltc_status read_thresholds(mltc_error *err, const cJSON *a, const char *path, ckpt_meta *m) {
    if (!a) return MLTC_OK;
    int K = m->lbl.count;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != K)
        return err_set(err, MLTC_ERR_PARSE, "%s: \"thresholds\" must be an array of %d numbers, one per label", path,
                       K);
    if (!(m->thresholds = malloc(sizeof *m->thresholds * (size_t)K)))
        return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: no memory", path);
    for (int k = 0; k < K; k++) {
        const cJSON *v = cJSON_GetArrayItem(a, k);
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1))
            return err_set(err, MLTC_ERR_PARSE, "%s: thresholds[%d] must be a number in [0, 1]", path, k);
        m->thresholds[k] = (float)v->valuedouble;
    }
    return MLTC_OK;
}

/* "label_counts" (one count per label) with "train_examples" (optional, together). */
static mltc_status read_counts(mltc_error *err, const cJSON *o, const char *path, ckpt_meta *m) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "label_counts");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "train_examples");
    if (!a && !n) return MLTC_OK;
    int K = m->lbl.count;
    double total = 0;
    if (!json_whole_number(n, 1, 1e15, &total))
        return err_set(err, MLTC_ERR_PARSE, "%s: \"train_examples\" must be a count >= 1 beside \"label_counts\"",
                       path);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != K)
        return err_set(err, MLTC_ERR_PARSE, "%s: \"label_counts\" must be an array of %d counts, one per label", path,
                       K);
    if (!(m->label_counts = malloc(sizeof *m->label_counts * (size_t)K)))
        return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: no memory", path);
    for (int k = 0; k < K; k++) {
        double v = 0;
        if (!json_whole_number(cJSON_GetArrayItem(a, k), 0, total, &v))
            return err_set(err, MLTC_ERR_PARSE, "%s: label_counts[%d] must be a count between 0 and train_examples",
                           path, k);
        m->label_counts[k] = (long)v;
    }
    m->train_examples = (long)total;
    return MLTC_OK;
}

mltc_status ckpt_meta_parse(mltc_error *err, const char *text, const char *path, ckpt_meta *m) {
    *m = (ckpt_meta){0};
    cJSON *o = cJSON_Parse(text);
    mltc_status st = MLTC_OK;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(o, "format");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(o, "format_version");
    const cJSON *lbl = cJSON_GetObjectItemCaseSensitive(o, "labels");
    if (!o)
        st = err_set(err, MLTC_ERR_PARSE, "%s: not valid JSON", path);
    else if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, CHECKPOINT_FORMAT))
        st = err_set(err, MLTC_ERR_PARSE, "%s: \"format\" is not \"%s\"", path, CHECKPOINT_FORMAT);
    else if (!cJSON_IsNumber(ver) || ver->valuedouble != CHECKPOINT_VERSION)
        st = err_set(err, MLTC_ERR_UNSUPPORTED, "%s: format_version %g is not the supported %d", path,
                     cJSON_IsNumber(ver) ? ver->valuedouble : -1.0, CHECKPOINT_VERSION);
    else if (!cJSON_IsArray(lbl) || cJSON_GetArraySize(lbl) < 1)
        st = err_set(err, MLTC_ERR_PARSE, "%s: \"labels\" must be a non-empty array of names", path);
    train_settings_default(&m->s);
    if (!st) st = train_settings_from_json(err, cJSON_GetObjectItemCaseSensitive(o, "settings"), path, &m->s);
    const cJSON *it;
    int i = 0;
    if (!st)
        cJSON_ArrayForEach(it, lbl) {
            if (!cJSON_IsString(it)) {
                st = err_set(err, MLTC_ERR_PARSE, "%s: labels[%d] is not a string", path, i);
                break;
            }
            st = labels_add(err, &m->lbl, it->valuestring);
            if (st) {
                err_prefix(err, "%s: labels[%d]: ", path, i);
                break;
            }
            i++;
        }
    if (!st) st = read_thresholds(err, cJSON_GetObjectItemCaseSensitive(o, "thresholds"), path, m);
    if (!st) st = read_counts(err, o, path, m);
    if (!st) {
        const cJSON *extra = cJSON_GetObjectItemCaseSensitive(o, "extra");
        if (extra && !(m->extra = cJSON_PrintUnformatted(extra)))
            st = err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: no memory", path);
    }
    cJSON_Delete(o);
    if (st) ckpt_meta_free(m);
    return st;
}
