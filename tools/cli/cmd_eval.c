/* mltc eval: scores a trained checkpoint on a labelled data file. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_ranks.h"
#include "cli_scores.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: mltc eval --checkpoint DIR --data FILE [--threshold X] [--min-labels N] [--device D]\n"
            "                 [--precision P] [--format F] [--json]\n\n"
            "Predicts every example of FILE with the checkpoint, decides with its thresholds (tuned on\n"
            "dev data in training, or --threshold) and its minimum of labels, and prints Hamming loss,\n"
            "micro precision/recall/F1, macro-F1, subset accuracy, micro-Jaccard, a per-label table\n"
            "and the scores of rare, medium and frequent labels (by training examples). Under mpirun\n"
            "(mpirun -np N mltc eval ... --device opencl:local) each process predicts a share of FILE\n"
            "on its own device and rank 0 prints the scores.\n\n"
            "options:\n"
            "  --checkpoint DIR  a folder written by mltc train (OUT/best or OUT/last)\n"
            "  --data FILE       labelled examples: jsonl, tsv or tsv-columns\n"
            "  --threshold X     predict a label when p > X, 0..1, for every label (default: the\n"
            "                    checkpoint's own, global or per label)\n"
            "  --device D        cpu, opencl[:N], vulkan[:N] (default: $MLTC_DEVICE, else cpu)\n"
            "  --precision P     matrix products in fp32 (default) or bf16: mixed precision, the\n"
            "                    operands rounded to bfloat16 and summed in fp32 (cpu device of the\n"
            "                    oneMKL build, on CPUs with AVX512-BF16 or AMX)\n"
            "  --format F        auto (default), jsonl, tsv, tsv-columns\n"
            "  --min-labels N    at least N labels a text (default: the checkpoint's)\n"
            "  --json            print one JSON object: hamming_loss, micro_precision, micro_recall,\n"
            "                    micro_f1, macro_f1, subset_accuracy, micro_jaccard, n_examples, n_labels,\n"
            "                    and by_label_frequency (labels with <= 10, 11-100, > 100 training examples)\n");
}

static int per_label_thresholds(const mltc_model *model) {
    for (int j = 0; j < mltc_model_num_labels(model); j++)
        if (mltc_model_label_threshold(model, j) != mltc_model_threshold(model)) return 1;
    return 0;
}

/* The tail made visible: scores of rare, medium and frequent labels by training examples. */
static void print_bands(const mltc_metrics *m) {
    if (m->n_bands == 0) {
        printf("\n  (the checkpoint does not record its labels' training frequencies)\n");
        return;
    }
    printf("\n  %-22s %8s %9s %9s %9s\n", "labels by training ex.", "labels", "support", "micro F1", "macro F1");
    for (int i = 0; i < m->n_bands; i++) {
        const struct mltc_frequency_band *b = &m->bands[i];
        long lo = b->min_train_examples, hi = b->max_train_examples;
        char range[48];
        if (hi < 0) snprintf(range, sizeof range, "> %ld", lo - 1);
        else if (lo <= 0) snprintf(range, sizeof range, "<= %ld", hi);
        else snprintf(range, sizeof range, "%ld-%ld", lo, hi);
        printf("  %-22s %8d %9zu %9.4f %9.4f\n", range, b->n_labels, b->support, b->micro_f1, b->macro_f1);
    }
}

int cmd_eval(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    const char *ckpt = NULL, *data = NULL, *device = NULL, *format = "auto", *precision = NULL;
    int json = 0;
    double threshold = -1;
    int min_labels = -1;
    const cli_arg args[] = {
        {"--min-labels", CLI_ARG_INT, &min_labels, 0, 1000000},
        {"--checkpoint", CLI_ARG_STRING, &ckpt, 0, 0}, {"--data", CLI_ARG_STRING, &data, 0, 0},
        {"--device", CLI_ARG_STRING, &device, 0, 0},   {"--format", CLI_ARG_STRING, &format, 0, 0},
        {"--json", CLI_ARG_FLAG, &json, 0, 0},         {"--threshold", CLI_ARG_DOUBLE, &threshold, 0, 1},
        {"--precision", CLI_ARG_STRING, &precision, 0, 0},
    };
    int rc = cli_parse_args("eval", argc, argv, args, (int)(sizeof args / sizeof args[0]));
    if (rc == CLI_OK) rc = cli_check_choice("eval", "--precision", mltc_check_precision, precision);
    if (rc == CLI_OK) rc = cli_require("eval", "--checkpoint", ckpt);
    if (rc == CLI_OK) rc = cli_require("eval", "--data", data);
    if (rc == CLI_OK) rc = cli_check_choice("eval", "--format", mltc_check_format, format);
    if (rc != CLI_OK) return rc;

    /* Under mpirun each process predicts a share of the data; rank 0 prints the scores. */
    cli_ranks ranks;
    if (cli_ranks_start(&ranks, "eval", 0)) return CLI_FAIL;
    char who[32] = "", spec[256];
    if (ranks.size > 1) snprintf(who, sizeof who, "rank %d: ", ranks.rank);
    mltc_ctx *ctx = NULL;
    mltc_device *dev = NULL;
    mltc_model *model = NULL;
    mltc_metrics m = {0};
    if (mltc_ctx_create(&ctx) != MLTC_OK) {
        fprintf(stderr, "mltc eval: out of memory\n");
        cli_ranks_stop(&ranks, 1);
        return CLI_FAIL;
    }
    rc = CLI_FAIL;
    int failed = cli_rank_device(&ranks, device ? device : getenv("MLTC_DEVICE"), spec, sizeof spec);
    if (!failed &&
        (cli_open_device(ctx, *spec ? spec : NULL, precision, &dev) != MLTC_OK ||
         mltc_model_load(ctx, dev, ckpt, &model) != MLTC_OK ||
         (threshold >= 0 && mltc_model_set_threshold(ctx, model, (float)threshold) != MLTC_OK) ||
         (min_labels >= 0 && mltc_model_set_min_labels(ctx, model, min_labels) != MLTC_OK))) {
        fprintf(stderr, "mltc eval: %s%s\n", who, mltc_last_error(ctx));
        failed = 1;
    }
    /* every rank learns of one that cannot start, instead of waiting for it */
    if (cli_ranks_agree(&ranks, failed, "to load the checkpoint")) goto done;
    if (mltc_evaluate_parallel(ctx, model, data, format, ranks.comm, &m) != MLTC_OK) {
        fprintf(stderr, "mltc eval: %s%s\n", who, mltc_last_error(ctx));
        goto done;
    }
    if (ranks.rank > 0) {
        rc = CLI_OK;
        goto done;
    }
    if (json && cli_print_scores_json(ctx, &m) != MLTC_OK) {
        fprintf(stderr, "mltc eval: out of memory printing the scores\n");
        goto done;
    }
    if (!json) {
        printf("checkpoint %s (head %s, threshold %g%s, at least %d label(s) a text)\ndata       %s\n", ckpt,
               mltc_model_head(model), mltc_model_threshold(model), per_label_thresholds(model) ? " and per label" : "",
               mltc_model_min_labels(model), data);
        printf("%zu examples, %d labels\n\n", m.n_examples, m.n_labels);
        cli_print_scores(&m);
        print_bands(&m);
    }
    rc = CLI_OK;
done:
    mltc_metrics_free(&m);
    mltc_model_free(model);
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);
    cli_ranks_stop(&ranks, 0);
    return rc;
}
