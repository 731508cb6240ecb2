/* report_build: the report of a training run (report.h). */
#include "report/report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/fileio.h"
#include "core/platform.h"
#include "core/json_number.h"
#include "model/classifier.h"
#include "model/classifier_explain.h"
#include "model/decision.h"
#include "report/report_draw.h"
#include "report/report_explain.h"
#include "report/report_numbers.h"
#include "run/evaluate.h"
#include "run/metrics.h"

#define MAX_FIGURES 16
#define WEAKEST 5 /* labels named on the per-label chart */

typedef struct report_state {
    dev_ctx *dev;
    const report_request *q;
    char dir[4096];
    report_figure fig[MAX_FIGURES];
    int n_fig;
    cJSON *files, *missing, *numbers;
} report_state;

/* A text file of the report, written whole (a memory stream, then file_write_atomic). */
typedef plat_memstream out_text;

static int memtext_open(out_text *t) { return plat_memstream_open(t) == 0; }

static mltc_status memtext_save(report_state *r, out_text *t, const char *name) {
    mltc_error *e = r->dev->err;
    plat_memstream_close(t);
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", r->dir, name);
    mltc_status st = t->p ? file_write_atomic(e, path, t->p, t->n) : err_set(e, MLTC_ERR_OUT_OF_MEMORY, "report: no memory");
    free(t->p);
    if (!st) cJSON_AddItemToArray(r->files, cJSON_CreateString(name));
    return st;
}

/* Draws one figure; a build without drawing (or a failed drawing) becomes a note, not an error,
 * so the numbers still come out. */
static report_figure *figure(report_state *r, const char *title, const char *file_base, mltc_status drawn,
                             const char *caption) {
    report_figure *f = &r->fig[r->n_fig++];
    memset(f, 0, sizeof *f);
    snprintf(f->title, sizeof f->title, "%s", title);
    snprintf(f->caption, sizeof f->caption, "%s", caption);
    if (drawn == MLTC_OK) {
        snprintf(f->file, sizeof f->file, "%s.png", file_base);
        char svg[160];
        snprintf(svg, sizeof svg, "%s.svg", file_base);
        cJSON_AddItemToArray(r->files, cJSON_CreateString(f->file));
        cJSON_AddItemToArray(r->files, cJSON_CreateString(svg));
    } else {
        char note[700];
        snprintf(note, sizeof note, "%s: not drawn: %.500s", title, r->dev->err->msg);
        cJSON_AddItemToArray(r->missing, cJSON_CreateString(note));
        err_clear(r->dev->err);
    }
    return f;
}

static void base_path(const report_state *r, const char *name, char *out, size_t size) {
    snprintf(out, size, "%s/%s", r->dir, name);
}

/* ---- training curves ------------------------------------------------------------------- */

static mltc_status curves(report_state *r) {
    char path[4300];
    snprintf(path, sizeof path, "%s/train_log.jsonl", r->q->run_dir);
    report_log log;
    mltc_status st = report_log_read(r->dev->err, path, &log);
    if (st) return st;
    out_text t;
    if (!memtext_open(&t)) return err_set(r->dev->err, MLTC_ERR_OUT_OF_MEMORY, "report: no memory");
    fprintf(t.f, "step,epoch,loss,bce,mlm,lr,grad_norm\n");
    for (int i = 0; i < log.n_steps; i++) {
        const report_step *s = &log.steps[i];
        fprintf(t.f, "%.0f,%.0f,%.9g,%.9g,%.9g,%.9g,%.9g\n", s->step, s->epoch, s->loss, s->bce, s->mlm, s->lr,
                s->grad_norm);
    }
    st = memtext_save(r, &t, "curves_steps.csv");
    if (!st && memtext_open(&t)) {
        fprintf(t.f, "epoch,step,micro_f1,macro_f1,threshold,best\n");
        for (int i = 0; i < log.n_evals; i++) {
            const report_eval *v = &log.evals[i];
            fprintf(t.f, "%.0f,%.0f,%.6f,%.6f,%.4f,%d\n", v->epoch, v->step, v->micro_f1, v->macro_f1, v->threshold,
                    v->best);
        }
        st = memtext_save(r, &t, "curves_dev.csv");
    }
    if (!st) {
        char base[4300];
        base_path(r, "curves", base, sizeof base);
        report_figure *f = figure(r, "Training curves", "curves", report_draw_curves(r->dev->err, base, &log),
                                  "Loss (total, its BCE part and LM-MTC's label MLM part), the encoder's learning rate "
                                  "and the gradient norm before clipping at every logged step; dev micro- and "
                                  "macro-F1 at the end of each epoch (numbers: curves_steps.csv, curves_dev.csv).");
        out_text h;
        if (log.n_evals > 0 && memtext_open(&h)) {
            fprintf(h.f, "<table><tr><th>epoch</th><th>step</th><th>dev micro-F1</th><th>dev macro-F1</th>"
                         "<th>threshold</th><th>best</th></tr>");
            for (int i = 0; i < log.n_evals; i++) {
                const report_eval *v = &log.evals[i];
                fprintf(h.f, "<tr><td>%.0f</td><td>%.0f</td><td>%.4f</td><td>%.4f</td><td>%.2f</td><td>%s</td></tr>",
                        v->epoch, v->step, v->micro_f1, v->macro_f1, v->threshold, v->best ? "yes" : "");
            }
            fprintf(h.f, "</table>");
            plat_memstream_close(&h);
            f->numbers_html = h.p;
        }
        cJSON *o = cJSON_AddObjectToObject(r->numbers, "training");
        if (o) {
            cJSON_AddNumberToObject(o, "logged_steps", log.n_steps);
            cJSON_AddNumberToObject(o, "evaluations", log.n_evals);
            if (log.n_steps) cJSON_AddNumberToObject(o, "last_loss", log.steps[log.n_steps - 1].loss);
        }
    }
    report_log_free(&log);
    return st;
}

/* ---- the model on the data ------------------------------------------------------------- */

typedef struct scored {
    classifier *c;
    dataset d;
    float *probs;
    uint8_t *pred;
    metrics m;
} scored;

static void scored_free(scored *s) {
    classifier_free(s->c);
    dataset_free(&s->d);
    free(s->probs);
    free(s->pred);
    metrics_free(&s->m);
}

static mltc_status score(report_state *r, scored *s) {
    mltc_error *e = r->dev->err;
    char ckpt[4300];
    snprintf(ckpt, sizeof ckpt, "%s/best", r->q->run_dir);
    if (!plat_exists(ckpt)) snprintf(ckpt, sizeof ckpt, "%s/last", r->q->run_dir);
    mltc_status st = classifier_load(r->dev, ckpt, 16, 0, &s->c);
    if (!st) st = dataset_load(e, r->q->data_path, classifier_labels(s->c), &r->q->data, &s->d);
    if (!st && s->d.n == 0) st = err_set(e, MLTC_ERR_PARSE, "%s: no examples", r->q->data_path);
    int K = s->c ? classifier_num_labels(s->c) : 0;
    if (!st) {
        s->probs = malloc(sizeof *s->probs * s->d.n * (size_t)K);
        s->pred = malloc(s->d.n * (size_t)K);
        if (!s->probs || !s->pred) st = err_set(e, MLTC_ERR_OUT_OF_MEMORY, "report: no memory for %zu examples", s->d.n);
    }
    if (!st) st = predict_dataset(s->c, &s->d, classifier_max_batch(s->c), s->probs);
    if (!st) classifier_decide(s->c, s->probs, s->d.n, s->pred);
    if (!st) st = metrics_compute(e, s->d.y, s->pred, s->d.n, K, &s->m);
    if (st) err_prefix(e, "report on %s with %s: ", r->q->data_path, ckpt);
    return st;
}


static mltc_status per_label(report_state *r, const scored *s) {
    int K = s->m.n_labels;
    const labels *lbl = classifier_labels(s->c);
    const long *counts = classifier_label_counts(s->c, NULL);
    report_label_point *p = calloc((size_t)K, sizeof *p);
    if (!p) return err_set(r->dev->err, MLTC_ERR_OUT_OF_MEMORY, "report: no memory");
    /* The weakest: the lowest F1 among labels present in the data, ties to the more frequent. */
    int weak[WEAKEST], n_weak = 0;
    for (int k = 0; k < K; k++)
        p[k] = (report_label_point){lbl->names[k], counts ? (double)counts[k] : NAN, s->m.per_label[k].f1,
                                    (long)s->m.per_label[k].support, 0};
    for (int w = 0; w < WEAKEST; w++) {
        int pick = -1;
        for (int k = 0; k < K; k++)
            if (p[k].support > 0 && !p[k].weak &&
                (pick < 0 || p[k].f1 < p[pick].f1 || (p[k].f1 == p[pick].f1 && p[k].support > p[pick].support)))
                pick = k;
        if (pick < 0) break;
        weak[n_weak++] = pick;
        p[pick].weak = n_weak;
    }
    out_text t;
    mltc_status st = MLTC_OK;
    if (!memtext_open(&t)) st = err_set(r->dev->err, MLTC_ERR_OUT_OF_MEMORY, "report: no memory");
    if (!st) {
        fprintf(t.f, "label,train_examples,support,predicted,precision,recall,f1\n");
        for (int k = 0; k < K; k++)
            fprintf(t.f, "%s,%.0f,%zu,%zu,%.6f,%.6f,%.6f\n", lbl->names[k], counts ? p[k].train_count : -1,
                    s->m.per_label[k].support, s->m.per_label[k].predicted, s->m.per_label[k].precision,
                    s->m.per_label[k].recall, s->m.per_label[k].f1);
        st = memtext_save(r, &t, "per_label.csv");
    }
    if (!st) {
        /* Labels absent from the data have no F1 to speak of: only those present are plotted. */
        report_label_point *present = calloc((size_t)K, sizeof *present);
        int n = 0;
        for (int k = 0; present && k < K; k++)
            if (p[k].support > 0) present[n] = p[k], present[n].train_count = counts ? p[k].train_count : 1, n++;
        char base[4300], cap[512];
        base_path(r, "label_f1", base, sizeof base);
        snprintf(cap, sizeof cap,
                 "Each label present in the data (%d of %d) as a point: its F1 on the data against how many training "
                 "examples it had (log scale%s). Red: the %d weakest, named. All labels: per_label.csv.",
                 n, K, counts ? "" : "; the checkpoint does not record them: all at 1", n_weak);
        report_figure *f = figure(r, "Per-label F1 against training frequency", "label_f1",
                                  present ? report_draw_label_f1(r->dev->err, base, present, n)
                                          : err_set(r->dev->err, MLTC_ERR_OUT_OF_MEMORY, "no memory"),
                                  cap);
        free(present);
        out_text h;
        if (memtext_open(&h)) {
            fprintf(h.f, "<table><tr><th>weakest labels</th><th>training examples</th><th>support</th>"
                         "<th>precision</th><th>recall</th><th>F1</th></tr>");
            cJSON *wj = cJSON_AddArrayToObject(r->numbers, "weakest_labels");
            for (int w = 0; w < n_weak; w++) {
                int k = weak[w];
                fprintf(h.f, "<tr><td>%s</td><td>%.0f</td><td>%ld</td><td>%.3f</td><td>%.3f</td><td>%.3f</td></tr>",
                        lbl->names[k], counts ? p[k].train_count : -1, p[k].support, s->m.per_label[k].precision,
                        s->m.per_label[k].recall, p[k].f1);
                cJSON_AddItemToArray(wj, cJSON_CreateString(lbl->names[k]));
            }
            fprintf(h.f, "</table>");
            plat_memstream_close(&h);
            f->numbers_html = h.p;
        }
    }
    free(p);
    return st;
}

static mltc_status threshold_figure(report_state *r, const scored *s) {
    int K = s->m.n_labels;
    report_sweep_point sw[REPORT_SWEEP];
    TRY(report_threshold_sweep(r->dev->err, s->d.y, s->probs, s->d.n, K, classifier_settings(s->c)->min_labels, sw));
    out_text t;
    if (!memtext_open(&t)) return err_set(r->dev->err, MLTC_ERR_OUT_OF_MEMORY, "report: no memory");
    fprintf(t.f, "threshold,micro_precision,micro_recall,micro_f1\n");
    int best = 0;
    for (int i = 0; i < REPORT_SWEEP; i++) {
        fprintf(t.f, "%.2f,%.6f,%.6f,%.6f\n", sw[i].threshold, sw[i].precision, sw[i].recall, sw[i].f1);
        if (sw[i].f1 > sw[best].f1) best = i;
    }
    mltc_status st = memtext_save(r, &t, "threshold.csv");
    if (st) return st;
    double th = classifier_settings(s->c)->threshold;
    char base[4300], cap[512];
    base_path(r, "threshold", base, sizeof base);
    snprintf(cap, sizeof cap,
             "Micro precision, recall and F1 on the data when every label's threshold is t (the model's minimum of "
             "%d label(s) a text applied). Dashed: the model's threshold %.2f, micro-F1 %.4f with its own "
             "thresholds; the best on this data: %.2f (micro-F1 %.4f). Numbers: threshold.csv.",
             classifier_settings(s->c)->min_labels, th, s->m.micro_f1, (double)sw[best].threshold, sw[best].f1);
    figure(r, "Scores against the decision threshold", "threshold",
           report_draw_threshold(r->dev->err, base, sw, REPORT_SWEEP, th), cap);
    cJSON *o = cJSON_AddObjectToObject(r->numbers, "threshold");
    if (o) {
        cJSON_AddNumberToObject(o, "model", th);
        cJSON_AddNumberToObject(o, "best_on_data", float_for_json(sw[best].threshold));
        cJSON_AddNumberToObject(o, "best_micro_f1", sw[best].f1);
    }
    return MLTC_OK;
}

static void matrix_csv(FILE *f, const double *m, const int *order, char *const *names, int K) {
    fprintf(f, "label");
    for (int j = 0; j < K; j++) fprintf(f, ",%s", names[order[j]]);
    fprintf(f, "\n");
    for (int i = 0; i < K; i++) {
        fprintf(f, "%s", names[order[i]]);
        for (int j = 0; j < K; j++) {
            double v = m[(size_t)order[i] * K + order[j]];
            if (isfinite(v)) fprintf(f, ",%.4f", v);
            else fprintf(f, ",");
        }
        fprintf(f, "\n");
    }
}

static mltc_status cooccurrence(report_state *r, const scored *s) {
    int K = s->m.n_labels;
    const labels *lbl = classifier_labels(s->c);
    double *g = malloc(sizeof *g * (size_t)K * K), *p = malloc(sizeof *p * (size_t)K * K);
    int *order = malloc(sizeof *order * (size_t)K);
    mltc_status st = g && p && order ? MLTC_OK : err_set(r->dev->err, MLTC_ERR_OUT_OF_MEMORY, "report: no memory");
    if (!st) {
        report_pearson(s->d.y, s->d.n, K, g);
        report_pearson(s->pred, s->d.n, K, p);
        st = report_cluster_order(r->dev->err, g, K, order);
    }
    out_text t;
    for (int which = 0; !st && which < 2; which++) {
        if (!memtext_open(&t)) {
            st = err_set(r->dev->err, MLTC_ERR_OUT_OF_MEMORY, "report: no memory");
            break;
        }
        matrix_csv(t.f, which ? p : g, order, lbl->names, K);
        st = memtext_save(r, &t, which ? "cooccurrence_predicted.csv" : "cooccurrence_gold.csv");
    }
    if (!st) {
        char base[4300];
        base_path(r, "cooccurrence", base, sizeof base);
        figure(r, "Label co-occurrence: gold beside predicted", "cooccurrence",
               report_draw_cooccurrence(r->dev->err, base, g, p, order, lbl->names, K),
               "The Pearson correlation of every pair of labels over the data's examples, for the gold labels (left) "
               "and the model's decisions (right), labels in the order of an average-linkage clustering of the gold "
               "correlations so that labels which occur together sit together. Numbers: cooccurrence_gold.csv, "
               "cooccurrence_predicted.csv (same order; empty: a label without variation).");
    }
    free(g), free(p), free(order);
    return st;
}

static mltc_status examples(report_state *r, const scored *s) {
    int K = s->m.n_labels, n = r->q->examples;
    if ((size_t)n > s->d.n) n = (int)s->d.n;
    const labels *lbl = classifier_labels(s->c);
    cJSON *all = cJSON_CreateArray();
    mltc_status st = all ? MLTC_OK : err_set(r->dev->err, MLTC_ERR_OUT_OF_MEMORY, "report: no memory");
    for (int i = 0; !st && i < n; i++) {
        const dataset_example *ex = &s->d.ex[i];
        int32_t *ids = NULL;
        int n_ids = 0;
        clf_explanation x;
        st = classifier_tokenize(s->c, ex->text, strlen(ex->text), &ids, &n_ids);
        if (!st) st = classifier_explain(s->c, ids, n_ids, &x);
        free(ids);
        if (st) break;
        uint8_t *dec = s->pred + (size_t)i * K;
        cJSON *o = report_explain_json(s->c, &x, dec);
        if (o) cJSON_AddItemToArray(all, o);
        char gold[700], name[64], base[4300], title[128];
        size_t used = (size_t)snprintf(gold, sizeof gold, "example %d (line %ld); gold:", i + 1, ex->line);
        for (int k = 0; k < K && used < 600; k++)
            if (ex->labels[k]) used += (size_t)snprintf(gold + used, sizeof gold - used, " %s", lbl->names[k]);
        snprintf(name, sizeof name, "example_%d", i + 1);
        base_path(r, name, base, sizeof base);
        snprintf(title, sizeof title, "Example %d: the words the model looked at", i + 1);
        figure(r, title, name, report_explain_picture(r->dev->err, s->c, &x, dec, gold, base, NULL, NULL),
               "Each word piece of the text (truncated to the model's max-len) shaded by its weight, from white at "
               "the smallest weight of this text to the darkest at its largest; every token's weight is in "
               "examples.json.");
        clf_explanation_free(&x);
    }
    if (!st) {
        char *text = cJSON_Print(all);
        char path[4300];
        snprintf(path, sizeof path, "%s/examples.json", r->dir);
        st = text ? file_write_atomic(r->dev->err, path, text, strlen(text))
                  : err_set(r->dev->err, MLTC_ERR_OUT_OF_MEMORY, "report: no memory");
        if (!st) cJSON_AddItemToArray(r->files, cJSON_CreateString("examples.json"));
        free(text);
    }
    cJSON_Delete(all);
    return st;
}

static mltc_status on_data(report_state *r) {
    scored s = {0};
    mltc_status st = score(r, &s);
    if (!st) {
        metrics_band bands[METRICS_BANDS];
        cJSON *m = metrics_to_json(&s.m);
        const long *counts = classifier_label_counts(s.c, NULL);
        if (m && counts) {
            metrics_bands(&s.m, counts, bands);
            cJSON_AddItemToObject(m, "by_label_frequency", metrics_bands_to_json(bands, METRICS_BANDS));
        }
        if (m) cJSON_AddItemToObject(r->numbers, "scores", m);
        cJSON_AddStringToObject(r->numbers, "data", r->q->data_path);
        cJSON_AddStringToObject(r->numbers, "head", head_kind_name(classifier_settings(s.c)->head));
    }
    if (!st) st = per_label(r, &s);
    if (!st) st = threshold_figure(r, &s);
    if (!st) st = cooccurrence(r, &s);
    if (!st && r->q->examples > 0) st = examples(r, &s);
    scored_free(&s);
    return st;
}

static char *notes_html(report_state *r) {
    out_text t;
    if (!memtext_open(&t)) return NULL;
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(r->numbers, "scores");
    if (sc)
        fprintf(t.f, "<p>On <code>%s</code> (%s head): micro-F1 <b>%.4f</b>, macro-F1 <b>%.4f</b>, micro precision "
                     "%.4f, recall %.4f, Hamming loss %.5f, %.0f examples.</p>",
                r->q->data_path, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r->numbers, "head")),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sc, "micro_f1")),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sc, "macro_f1")),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sc, "micro_precision")),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sc, "micro_recall")),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sc, "hamming_loss")),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sc, "n_examples")));
    else
        fprintf(t.f, "<p>No data given (<code>--data</code>): the training curves only.</p>");
    const cJSON *m;
    cJSON_ArrayForEach(m, r->missing) fprintf(t.f, "<p>%s</p>", m->valuestring);
    plat_memstream_close(&t);
    return t.p;
}

mltc_status report_build(dev_ctx *dev, const report_request *q, char **summary) {
    if (summary) *summary = NULL;
    if (!q->run_dir) return err_set(dev->err, MLTC_ERR_INVALID_ARGUMENT, "report: the run folder is required");
    int is_dir = plat_is_dir(q->run_dir);
    if (is_dir != 1)
        return err_set(dev->err, MLTC_ERR_IO, "run folder %s: not a folder of mltc train (%s)", q->run_dir,
                       is_dir < 0 ? strerror(errno) : "not a directory");
    report_state r = {.dev = dev, .q = q};
    if (q->out_dir) snprintf(r.dir, sizeof r.dir, "%s", q->out_dir);
    else snprintf(r.dir, sizeof r.dir, "%s/report", q->run_dir);
    r.files = cJSON_CreateArray(), r.missing = cJSON_CreateArray(), r.numbers = cJSON_CreateObject();
    mltc_status st = r.files && r.missing && r.numbers ? dir_create(dev->err, r.dir)
                                                       : err_set(dev->err, MLTC_ERR_OUT_OF_MEMORY, "report: no memory");
    if (!st) st = curves(&r);
    if (!st && q->data_path) st = on_data(&r);
    if (!st) {
        char *notes = notes_html(&r);
        char title[4200];
        snprintf(title, sizeof title, "mltc report: %s", q->run_dir);
        st = report_write_html(dev->err, r.dir, title, r.fig, r.n_fig, notes);
        free(notes);
        if (!st) cJSON_AddItemToArray(r.files, cJSON_CreateString("index.html"));
    }
    if (!st) {
        cJSON_AddItemReferenceToObject(r.numbers, "files", r.files);
        cJSON_AddItemReferenceToObject(r.numbers, "missing", r.missing);
        char *text = cJSON_Print(r.numbers);
        char path[4300];
        snprintf(path, sizeof path, "%s/report.json", r.dir);
        st = text ? file_write_atomic(dev->err, path, text, strlen(text))
                  : err_set(dev->err, MLTC_ERR_OUT_OF_MEMORY, "report: no memory");
        free(text);
    }
    if (!st && summary) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "out_dir", r.dir);
        cJSON_AddItemReferenceToObject(o, "files", r.files);
        cJSON_AddItemReferenceToObject(o, "missing", r.missing);
        *summary = cJSON_Print(o);
        cJSON_Delete(o);
    }
    for (int i = 0; i < r.n_fig; i++) free(r.fig[i].numbers_html);
    cJSON_Delete(r.numbers);
    cJSON_Delete(r.files);
    cJSON_Delete(r.missing);
    return st;
}
