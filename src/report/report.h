/* The report of a training run: a folder of figures (report_draw.h), their numbers as CSV and
 * JSON, and one self-contained index.html that shows them (report_html.c). */
#ifndef MLTC_REPORT_REPORT_H
#define MLTC_REPORT_REPORT_H

#include "device/device.h"
#include "run/dataset.h"

typedef struct report_request {
    const char *run_dir;    /* a folder of mltc train: train_log.jsonl, best/, last/ */
    const char *data_path;  /* labelled data for the figures of the model's scores; NULL: curves only */
    dataset_options data;
    const char *out_dir;    /* NULL: run_dir/report */
    int examples;           /* texts of the data shown shaded by attention */
} report_request;

/* Writes the report. *summary (may be NULL) receives a JSON object {out_dir, files: [...],
 * missing: [what could not be drawn and why]}; free() it. */
mltc_status report_build(dev_ctx *dev, const report_request *q, char **summary);

/* One figure or block of the page. */
typedef struct report_figure {
    char title[128];
    char file[128];     /* the PNG beside index.html ("" for none) */
    char caption[512];
    char *numbers_html; /* a table of its numbers (owned), or NULL */
} report_figure;

/* index.html in dir: every figure with its PNG embedded (data: URI) and its numbers. */
mltc_status report_write_html(mltc_error *e, const char *dir, const char *title, const report_figure *f, int n,
                              const char *notes_html);

#endif
