/* What `mltc eval` and `mltc metrics` both print: the scores and the per-label table, or one
 * JSON object with the same keys. */
#ifndef MLTC_CLI_SCORES_H
#define MLTC_CLI_SCORES_H

#include "mltc.h"

/* The scores, then (when m->per_label and m->label_names are set) a table with one row per
 * label. */
void cli_print_scores(const mltc_metrics *m);

/* One JSON object through mltc_metrics_json (by_label_frequency included when m has bands);
 * MLTC_OK or the failure, explained by mltc_last_error(ctx). */
mltc_status cli_print_scores_json(mltc_ctx *ctx, const mltc_metrics *m);

#endif
