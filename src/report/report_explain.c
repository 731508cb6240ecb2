/* Explained predictions as JSON and pictures (report_explain.h). */
#include "report/report_explain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_draw.h"

static double round6(float v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.6g", (double)v);
    return strtod(buf, NULL);
}

static cJSON *weights_array(const float *w, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++)
        if (!cJSON_AddItemToArray(a, cJSON_CreateNumber(round6(w[i])))) {
            cJSON_Delete(a);
            return NULL;
        }
    return a;
}

cJSON *report_explain_json(const classifier *c, const clf_explanation *x, const uint8_t *decided) {
    const labels *lbl = classifier_labels(c);
    const tokenizer *tok = classifier_tokenizer(c);
    head_kind head = classifier_settings(c)->head;
    cJSON *o = cJSON_CreateObject();
    int ok = o && cJSON_AddStringToObject(o, "head", head_kind_name(head));
    cJSON *labs = ok ? cJSON_AddArrayToObject(o, "labels") : NULL;
    cJSON *probs = labs ? cJSON_AddObjectToObject(o, "probs") : NULL;
    cJSON *toks = probs ? cJSON_AddArrayToObject(o, "tokens") : NULL;
    cJSON *is_text = toks ? cJSON_AddArrayToObject(o, "is_text") : NULL;
    ok = is_text != NULL;
    for (int k = 0; ok && k < x->K; k++) {
        if (decided[k]) ok = cJSON_AddItemToArray(labs, cJSON_CreateString(lbl->names[k]));
        if (ok) ok = cJSON_AddNumberToObject(probs, lbl->names[k], round6(x->probs[k])) != NULL;
    }
    for (int t = 0; ok && t < x->n; t++) {
        const char *s = tok_token(tok, x->ids[t]);
        ok = cJSON_AddItemToArray(toks, cJSON_CreateString(s ? s : "[?]")) &&
             cJSON_AddItemToArray(is_text, cJSON_CreateNumber(x->is_text[t]));
    }
    if (ok && head != HEAD_LMMTC) {
        cJSON *w = weights_array(x->weights, x->n);
        ok = w && cJSON_AddItemToObject(o, "weights", w);
        if (!ok) cJSON_Delete(w);
    }
    if (ok && x->best_token) {
        cJSON *b = cJSON_AddObjectToObject(o, "best_token");
        ok = b != NULL;
        for (int k = 0; ok && k < x->K; k++) ok = cJSON_AddNumberToObject(b, lbl->names[k], x->best_token[k]) != NULL;
    }
    if (ok && head == HEAD_LMMTC) {
        cJSON *lw = cJSON_AddObjectToObject(o, "label_weights");
        ok = lw != NULL;
        for (int k = 0; ok && k < x->K; k++) {
            if (!decided[k]) continue;
            cJSON *w = weights_array(x->weights + (size_t)k * x->n, x->n);
            ok = w && cJSON_AddItemToObject(lw, lbl->names[k], w);
            if (!ok) cJSON_Delete(w);
        }
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

void report_explain_shading(const clf_explanation *x, const uint8_t *decided, float *w) {
    memset(w, 0, sizeof *w * (size_t)x->n);
    if (x->rows == 1) {
        memcpy(w, x->weights, sizeof *w * (size_t)x->n);
        return;
    }
    int any = 0;
    for (int k = 0; k < x->K; k++) any |= decided[k] != 0;
    for (int k = 0; k < x->rows; k++)
        if (!any || decided[k])
            for (int t = 0; t < x->n; t++) w[t] += x->weights[(size_t)k * x->n + t];
}

mltc_status report_explain_picture(mltc_error *e, const classifier *c, const clf_explanation *x,
                                   const uint8_t *decided, const char *first_line, const char *base, int *w, int *h) {
    const labels *lbl = classifier_labels(c);
    const tokenizer *tok = classifier_tokenizer(c);
    head_kind head = classifier_settings(c)->head;
    const char **pieces = malloc(sizeof *pieces * (size_t)x->n);
    float *all = malloc(sizeof *all * (size_t)x->n), *shade = malloc(sizeof *shade * (size_t)x->n);
    char *line = malloc(1024);
    if (!pieces || !all || !shade || !line) {
        free(pieces), free(all), free(shade), free(line);
        return err_set(e, MLTC_ERR_OUT_OF_MEMORY, "explain picture: no memory");
    }
    report_explain_shading(x, decided, all);
    int n = 0;
    for (int t = 0; t < x->n; t++) {
        if (!x->is_text[t]) continue;
        const char *s = tok_token(tok, x->ids[t]);
        pieces[n] = s ? s : "[?]";
        shade[n++] = all[t];
    }
    size_t used = (size_t)snprintf(line, 1024, "predicted:");
    int none = 1;
    for (int k = 0; k < x->K && used < 900; k++)
        if (decided[k]) {
            used += (size_t)snprintf(line + used, 1024 - used, "%s %s (%.2f)", none ? "" : ",", lbl->names[k],
                                     (double)x->probs[k]);
            none = 0;
        }
    if (none) snprintf(line + used, 1024 - used, " nothing");
    const char *how = head == HEAD_LAM     ? "shaded by the label attention weights (alpha)"
                      : head == HEAD_BERT  ? "shaded by the last layer's attention from [CLS] (mean of heads)"
                                           : "shaded by the predicted labels' state attention (last layer, mean of heads)";
    const char *heading[3];
    int nh = 0;
    if (first_line) heading[nh++] = first_line;
    heading[nh++] = line;
    heading[nh++] = how;
    mltc_status st = report_draw_shaded_text(e, base, heading, nh, pieces, shade, n, w, h);
    free(pieces), free(all), free(shade), free(line);
    return st;
}
