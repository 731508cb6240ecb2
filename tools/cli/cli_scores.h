/* What `mltc eval` and `mltc metrics` both print: the scores and the per-label table, or one
 * JSON object with the same keys. */
#ifndef MLTC_CLI_SCORES_H
#define MLTC_CLI_SCORES_H

#include "run/metrics.h"

/* The scores, then (when m->per_label is set) a table with one row per label, named by names. */
void cli_print_scores(const metrics *m, const char *const *names);

/* One JSON object through metrics_json_string; 0 when out of memory. */
int cli_print_scores_json(const metrics *m);

#endif
