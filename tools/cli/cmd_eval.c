/* mltc eval: scores a trained checkpoint on a labelled data file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_scores.h"
#include "run/dataset.h"
#include "run/metrics.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: mltc eval --checkpoint DIR --data FILE [--threshold X] [--device D]\n"
            "                 [--precision P] [--format F] [--json]\n\n"
            "Predicts every example of FILE with the checkpoint, thresholds at the threshold it was\n"
            "trained with (or --threshold), and prints Hamming loss, micro precision/recall/F1,\n"
            "macro-F1, subset accuracy, micro-Jaccard and a per-label table.\n\n"
            "options:\n"
            "  --checkpoint DIR  a folder written by mltc train (OUT/best or OUT/last)\n"
            "  --data FILE       labelled examples: jsonl, tsv or tsv-columns\n"
            "  --threshold X     predict a label when p > X, 0..1 (default: the checkpoint's)\n"
            "  --device D        cpu, opencl[:N], vulkan[:N] (default: $MLTC_DEVICE, else cpu)\n"
            "  --precision P     matrix products in fp32 (default) or bf16: mixed precision, the\n"
            "                    operands rounded to bfloat16 and summed in fp32 (cpu device of the\n"
            "                    oneMKL build, on CPUs with AVX512-BF16 or AMX)\n"
            "  --format F        auto (default), jsonl, tsv, tsv-columns\n"
            "  --json            print one JSON object: hamming_loss, micro_precision, micro_recall,\n"
            "                    micro_f1, macro_f1, subset_accuracy, micro_jaccard, n_examples, n_labels\n");
}

/* The public result as the internal struct the shared printers take (per_label and names are
 * allocated; 0 when out of memory). */
static int to_internal(const mltc_metrics *pm, const mltc_model *model, metrics *m, const char ***names) {
    *m = (metrics){
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
    size_t k = pm->n_labels > 0 ? (size_t)pm->n_labels : 0;
    *names = calloc(k + 1, sizeof **names);
    if (!*names) return 0;
    for (size_t j = 0; j < k; j++) (*names)[j] = mltc_model_label_name(model, (int)j);
    if (!pm->per_label) return 1;
    m->per_label = calloc(k + 1, sizeof *m->per_label);
    if (!m->per_label) return 0;
    for (size_t j = 0; j < k; j++) {
        const mltc_label_metrics *l = &pm->per_label[j];
        m->per_label[j] = (metrics_label){.precision = l->precision, .recall = l->recall, .f1 = l->f1,
                                          .support = l->support, .predicted = l->predicted};
    }
    return 1;
}

int cmd_eval(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    const char *ckpt = NULL, *data = NULL, *device = NULL, *format = "auto", *precision = NULL;
    int json = 0;
    double threshold = -1;
    const cli_arg args[] = {
        {"--checkpoint", CLI_ARG_STRING, &ckpt, 0, 0}, {"--data", CLI_ARG_STRING, &data, 0, 0},
        {"--device", CLI_ARG_STRING, &device, 0, 0},   {"--format", CLI_ARG_STRING, &format, 0, 0},
        {"--json", CLI_ARG_FLAG, &json, 0, 0},         {"--threshold", CLI_ARG_DOUBLE, &threshold, 0, 1},
        {"--precision", CLI_ARG_STRING, &precision, 0, 0},
    };
    int rc = cli_parse_args("eval", argc, argv, args, (int)(sizeof args / sizeof args[0]));
    if (rc == CLI_OK) rc = cli_check_precision("eval", precision);
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
    metrics im = {0};
    const char **names = NULL;
    if (mltc_ctx_create(&ctx) != MLTC_OK) {
        fprintf(stderr, "mltc eval: out of memory\n");
        return CLI_FAIL;
    }
    rc = CLI_FAIL;
    if (cli_open_device(ctx, device, precision, &dev) != MLTC_OK || mltc_model_load(ctx, dev, ckpt, &model) != MLTC_OK ||
        (threshold >= 0 && mltc_model_set_threshold(ctx, model, (float)threshold) != MLTC_OK) ||
        mltc_evaluate(ctx, model, data, format, &m) != MLTC_OK) {
        fprintf(stderr, "mltc eval: %s\n", mltc_last_error(ctx));
        goto done;
    }
    if (!to_internal(&m, model, &im, &names) || (json && !cli_print_scores_json(&im))) {
        fprintf(stderr, "mltc eval: out of memory printing the scores\n");
        goto done;
    }
    if (!json) {
        printf("checkpoint %s (head %s, threshold %g)\ndata       %s\n", ckpt, mltc_model_head(model),
               mltc_model_threshold(model), data);
        printf("%zu examples, %d labels\n\n", im.n_examples, im.n_labels);
        cli_print_scores(&im, names);
    }
    rc = CLI_OK;
done:
    metrics_free(&im);
    free(names);
    mltc_metrics_free(&m);
    mltc_model_free(model);
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);
    return rc;
}
