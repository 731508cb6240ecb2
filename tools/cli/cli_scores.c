/* The score printers shared by mltc eval and mltc metrics. */
#include "cli_scores.h"

#include <stdio.h>
#include <string.h>

void cli_print_scores(const mltc_metrics *m) {
    printf("  %-16s %.4f\n", "micro precision", m->micro_precision);
    printf("  %-16s %.4f\n", "micro recall", m->micro_recall);
    printf("  %-16s %.4f\n", "micro F1", m->micro_f1);
    printf("  %-16s %.4f\n", "macro F1", m->macro_f1);
    printf("  %-16s %.4f\n", "subset accuracy", m->subset_accuracy);
    printf("  %-16s %.4f\n", "micro Jaccard", m->micro_jaccard);
    printf("  %-16s %.4f\n", "Hamming loss", m->hamming_loss);
    if (!m->per_label || !m->label_names) return;
    const char *const *names = (const char *const *)m->label_names;
    int w = 5;
    for (int j = 0; j < m->n_labels; j++) {
        int n = (int)strlen(names[j]);
        if (n > w) w = n;
    }
    printf("\n  %-*s %9s %9s %9s %9s %9s\n", w, "label", "precision", "recall", "F1", "support", "predicted");
    for (int j = 0; j < m->n_labels; j++) {
        const mltc_label_metrics *l = &m->per_label[j];
        printf("  %-*s %9.4f %9.4f %9.4f %9zu %9zu\n", w, names[j], l->precision, l->recall, l->f1, l->support,
               l->predicted);
    }
}

mltc_status cli_print_scores_json(mltc_ctx *ctx, const mltc_metrics *m) {
    char *s = NULL;
    mltc_status st = mltc_metrics_json(ctx, m, 1, &s);
    if (st != MLTC_OK) return st;
    printf("%s\n", s);
    mltc_free(s);
    return MLTC_OK;
}
