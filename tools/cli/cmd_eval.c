/* mltc eval: scores a trained checkpoint on a labelled data file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "run/dataset.h"
#include "run/metrics.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: mltc eval --checkpoint DIR --data FILE [--device D] [--format F] [--json]\n\n"
            "Predicts every example of FILE with the checkpoint, thresholds at the threshold it was\n"
            "trained with, and prints Hamming loss, micro precision/recall/F1, macro-F1, subset\n"
            "accuracy, micro-Jaccard and a per-label table.\n\n"
            "options:\n"
            "  --checkpoint DIR  a folder written by mltc train (OUT/best or OUT/last)\n"
            "  --data FILE       labelled examples: jsonl, tsv or tsv-columns\n"
            "  --device D        cpu, opencl[:N], vulkan[:N] (default: $MLTC_DEVICE, else cpu)\n"
            "  --format F        auto (default), jsonl, tsv, tsv-columns\n"
            "  --json            print one JSON object: hamming_loss, micro_precision, micro_recall,\n"
            "                    micro_f1, macro_f1, subset_accuracy, micro_jaccard, n_examples, n_labels\n");
}

/* Through metrics_json_string so `mltc eval --json` and `mltc metrics --json` print the same keys
 * the same way. */
static int print_json(const mltc_metrics *pm) {
    metrics m = {
        .n_examples = pm->n_examples,
        .n_labels = pm->n_labels,
        .hamming_loss = pm->hamming_loss,
        .micro_precision = pm->micro_precision,
        .micro_recall = pm->micro_recall,
        .micro_f1 = pm->micro_f1,
        .macro_f1 = pm->macro_f1,
        .subset_accuracy = pm->subset_accuracy,
        .micro_jaccard = pm->micro_jaccard,
    };
    char *s = metrics_json_string(&m, 1);
    if (!s) return 0;
    printf("%s\n", s);
    free(s);
    return 1;
}

static void print_table(const mltc_metrics *m, const mltc_model *model, const char *ckpt, const char *data) {
    printf("checkpoint %s (head %s, threshold %g)\ndata       %s\n", ckpt, mltc_model_head(model),
           mltc_model_threshold(model), data);
    printf("%zu examples, %d labels\n\n", m->n_examples, m->n_labels);
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
        int n = (int)strlen(mltc_model_label_name(model, j));
        if (n > w) w = n;
    }
    printf("\n  %-*s %9s %9s %9s %9s %9s\n", w, "label", "precision", "recall", "F1", "support", "predicted");
    for (int j = 0; j < m->n_labels; j++) {
        const mltc_label_metrics *l = &m->per_label[j];
        printf("  %-*s %9.4f %9.4f %9.4f %9zu %9zu\n", w, mltc_model_label_name(model, j), l->precision, l->recall,
               l->f1, l->support, l->predicted);
    }
}

int cmd_eval(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    const char *ckpt = NULL, *data = NULL, *device = NULL, *format = "auto";
    int json = 0;
    const cli_arg args[] = {
        {"--checkpoint", CLI_ARG_STRING, &ckpt, 0, 0}, {"--data", CLI_ARG_STRING, &data, 0, 0},
        {"--device", CLI_ARG_STRING, &device, 0, 0},   {"--format", CLI_ARG_STRING, &format, 0, 0},
        {"--json", CLI_ARG_FLAG, &json, 0, 0},
    };
    int rc = cli_parse_args("eval", argc, argv, args, (int)(sizeof args / sizeof args[0]));
    if (rc == CLI_OK) rc = cli_require("eval", "--checkpoint", ckpt);
    if (rc == CLI_OK) rc = cli_require("eval", "--data", data);
    if (rc != CLI_OK) return rc;
    mltc_error err = {0};
    dataset_format fmt;
    if (dataset_format_parse(&err, format, &fmt) != MLTC_OK) {
        fprintf(stderr, "mltc eval: --format: %s\n", err.msg);
        return CLI_USAGE;
    }

    mltc_ctx *ctx = NULL;
    mltc_device *dev = NULL;
    mltc_model *model = NULL;
    mltc_metrics m = {0};
    if (mltc_ctx_create(&ctx) != MLTC_OK) {
        fprintf(stderr, "mltc eval: out of memory\n");
        return CLI_FAIL;
    }
    rc = CLI_FAIL;
    if (mltc_device_open(ctx, device, &dev) != MLTC_OK || mltc_model_load(ctx, dev, ckpt, &model) != MLTC_OK ||
        mltc_evaluate(ctx, model, data, format, &m) != MLTC_OK) {
        fprintf(stderr, "mltc eval: %s\n", mltc_last_error(ctx));
        goto done;
    }
    if (json) {
        if (!print_json(&m)) {
            fprintf(stderr, "mltc eval: out of memory writing JSON\n");
            goto done;
        }
    } else {
        print_table(&m, model, ckpt, data);
    }
    rc = CLI_OK;
done:
    mltc_metrics_free(&m);
    mltc_model_free(model);
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);
    return rc;
}
