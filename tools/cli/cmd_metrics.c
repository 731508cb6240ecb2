/* mltc metrics: scores any system's predictions against gold labels, both read as datasets. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_scores.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: mltc metrics --gold FILE --pred FILE [--labels FILE] [--format F] [--json]\n\n"
            "Scores predicted labels against gold labels. Both files hold the same examples in the\n"
            "same order, in any dataset format (their texts are not compared):\n"
            "  jsonl        {\"text\": ..., \"labels\": [\"a\", \"b\"]} a line\n"
            "  tsv          text<TAB>a,b\n"
            "  tsv-columns  a header (ID, text column, one column per label), then 0/1 cells\n\n"
            "options:\n"
            "  --gold FILE    gold labels\n"
            "  --pred FILE    predicted labels\n"
            "  --labels FILE  label names, one a line; may be left out when --gold is a tsv-columns\n"
            "                 file, whose header then names the labels\n"
            "  --format F     auto (default: detected per file), jsonl, tsv or tsv-columns\n"
            "  --json         print one JSON object: hamming_loss, micro_precision, micro_recall,\n"
            "                 micro_f1, macro_f1, subset_accuracy, micro_jaccard, n_examples, n_labels\n\n"
            "An undefined ratio (no predicted or no gold positives) scores 0, as scikit-learn's default.\n");
}

int cmd_metrics(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    const char *gold_path = NULL, *pred_path = NULL, *labels_path = NULL, *format = "auto";
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char **slot = !strcmp(argv[i], "--gold")     ? &gold_path
                            : !strcmp(argv[i], "--pred")   ? &pred_path
                            : !strcmp(argv[i], "--labels") ? &labels_path
                            : !strcmp(argv[i], "--format") ? &format
                                                           : NULL;
        if (slot) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mltc metrics: %s needs a value\n", argv[i]);
                return CLI_USAGE;
            }
            *slot = argv[++i];
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else {
            fprintf(stderr, "mltc metrics: unexpected argument '%s' (mltc metrics --help)\n", argv[i]);
            return CLI_USAGE;
        }
    }
    if (!gold_path || !pred_path) {
        fprintf(stderr, "mltc metrics: --gold and --pred are required (mltc metrics --help)\n");
        return CLI_USAGE;
    }
    int rc = cli_check_choice("metrics", "--format", mltc_check_format, format);
    if (rc != CLI_OK) return rc;
    mltc_ctx *ctx = NULL;
    if (mltc_ctx_create(&ctx) != MLTC_OK) {
        fprintf(stderr, "mltc metrics: out of memory\n");
        return CLI_FAIL;
    }
    /* Without a labels file, only a header can say which labels there are (SemEval ships none). */
    if (!labels_path) {
        int headerless = !strcmp(format, "jsonl") || !strcmp(format, "tsv");
        char **names = NULL;
        int n = 0;
        if (headerless || mltc_data_header_labels(ctx, gold_path, &names, &n) != MLTC_OK) {
            const char *why = headerless ? "" : mltc_last_error(ctx);
            fprintf(stderr,
                    "mltc metrics: --labels is required unless --gold is a tsv-columns file with a header%s%s%s\n",
                    why[0] ? " (reading it as one: " : "", why, why[0] ? ")" : "");
            mltc_ctx_destroy(ctx);
            return CLI_USAGE;
        }
        mltc_free(names);
    }
    mltc_metrics m = {0};
    rc = CLI_FAIL;
    if (mltc_score_files(ctx, gold_path, pred_path, labels_path, format, &m) != MLTC_OK) {
        fprintf(stderr, "mltc metrics: %s\n", mltc_last_error(ctx));
    } else if (json) {
        if (cli_print_scores_json(ctx, &m) == MLTC_OK) rc = CLI_OK;
        else fprintf(stderr, "mltc metrics: out of memory writing JSON\n");
    } else {
        printf("gold %s\npred %s\n", gold_path, pred_path);
        printf("%zu examples, %d labels; TP %zu, FP %zu, FN %zu\n\n", m.n_examples, m.n_labels, m.tp, m.fp, m.fn);
        cli_print_scores(&m);
        rc = CLI_OK;
    }
    mltc_metrics_free(&m);
    mltc_ctx_destroy(ctx);
    return rc;
}
