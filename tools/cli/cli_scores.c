/* The score printers shared by mltc eval and mltc metrics. */
#include "cli_scores.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_print_scores(const metrics *m, const char *const *names) {
    printf("  %-16s %.4f\n", "micro precision", m->micro_precision);
    printf("  %-16s %.4f\n", "micro recall", m->micro_recall);
    printf("  %-16s %.4f\n", "micro F1", m->micro_f1);
    printf("  %-16s %.4f\n", "macro F1", m->macro_f1);
    printf("  %-16s %.4f\n", "subset accuracy", m->subset_accuracy);
    printf("  %-16s %.4f\n", "micro Jaccard", m->micro_jaccard);
    printf("  %-16s %.4f\n", "Hamming loss", m->hamming_loss);
    if (!m->per_label) return;
    int w = 5;
    for (int j = 0; j < m->n_labels; j++) {
        int n = (int)strlen(names[j]);
        if (n > w) w = n;
    }
    printf("\n  %-*s %9s %9s %9s %9s %9s\n", w, "label", "precision", "recall", "F1", "support", "predicted");
    for (int j = 0; j < m->n_labels; j++) {
        const metrics_label *l = &m->per_label[j];
        printf("  %-*s %9.4f %9.4f %9.4f %9zu %9zu\n", w, names[j], l->precision, l->recall, l->f1, l->support,
               l->predicted);
    }
}

int cli_print_scores_json(const metrics *m) {
    char *s = metrics_json_string(m, 1);
    if (!s) return 0;
    printf("%s\n", s);
    free(s);
    return 1;
}
