/* The report's pictures. Charts are drawn by PLplot (its cairo drivers write each one as PNG and
 * SVG), shaded text by cairo; both write to a temporary name and rename. Without them (built
 * without MLTC_HAVE_DRAWING) every call is MLTC_ERR_UNSUPPORTED and report_draw_missing() says
 * what to install. base is the path without its extension: base.png and base.svg are written. */
#ifndef MLTC_REPORT_DRAW_H
#define MLTC_REPORT_DRAW_H

#include "core/error.h"
#include "report/report_numbers.h"

/* NULL when pictures can be drawn, else a sentence naming what is missing. */
const char *report_draw_missing(void);

/* The size in pixels of every chart's PNG. */
#define REPORT_CHART_W 1100
#define REPORT_CHART_H 760

/* Loss (total, BCE, MLM), learning rate, gradient norm against the step; dev micro/macro-F1 per
 * epoch. */
mltc_status report_draw_curves(mltc_error *e, const char *base, const report_log *log);

/* Per label: F1 on the data against its training examples (log scale), the weakest named. */
typedef struct report_label_point {
    const char *name;
    double train_count, f1;
    long support;
    int weak; /* named on the chart: its rank among the weakest from 1, else 0 */
} report_label_point;
mltc_status report_draw_label_f1(mltc_error *e, const char *base, const report_label_point *p, int K);

/* Micro precision, recall and F1 against the threshold, the model's threshold marked. */
mltc_status report_draw_threshold(mltc_error *e, const char *base, const report_sweep_point *s, int n,
                                  double model_threshold);

/* The label-pair correlations of gold and predicted labels side by side, labels in order[K]: a
 * PNG of 1500 x 800 pixels, taller (and wider) past 42 labels (14 pixels a label). */
mltc_status report_draw_cooccurrence(mltc_error *e, const char *base, const double *gold, const double *pred,
                                     const int *order, char *const *names, int K);

/* A text as word pieces (tokens[n], "##" marking a continuation) shaded by weights[n] (white at
 * the smallest, the darkest at the largest), under a heading of lines; width is fixed, the height follows the text.
 * The PNG's size is returned in *w, *h. */
mltc_status report_draw_shaded_text(mltc_error *e, const char *base, const char *const *heading, int n_heading,
                                    const char *const *tokens, const float *weights, int n, int *w, int *h);

#endif
