#include "model/checkpoint_meta.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

void ckpt_meta_free(ckpt_meta *m) {
    labels_free(&m->lbl);
    free(m->extra);
    m->extra = NULL;
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
    if (!st) {
        const cJSON *extra = cJSON_GetObjectItemCaseSensitive(o, "extra");
        if (extra && !(m->extra = cJSON_PrintUnformatted(extra)))
            st = err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: no memory", path);
    }
    cJSON_Delete(o);
    if (st) ckpt_meta_free(m);
    return st;
}
