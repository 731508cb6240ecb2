/* mltc report: the pictures of a training run, with their numbers, in one folder. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cli_args.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: mltc report --run OUT [--data FILE] [--out DIR] [--examples N] [--format F] [--device D]\n\n"
            "Writes a report of the training run in OUT (the --out of mltc train) into DIR (default\n"
            "OUT/report): PNG and SVG figures, their numbers as CSV, report.json and one\n"
            "self-contained index.html that shows them:\n"
            "  curves         loss (BCE and MLM parts), learning rate, gradient norm; dev F1 per epoch\n"
            "  label_f1       per-label F1 on --data against the label's training examples (log scale)\n"
            "  threshold      micro precision, recall and F1 against the threshold, the model's marked\n"
            "  cooccurrence   label-pair Pearson correlations, gold beside predicted, clustered\n"
            "  example_N      texts of --data shaded by what the model looked at (mltc predict --explain)\n"
            "Without --data only the curves. A build without PLplot and cairo writes the numbers and\n"
            "says what is missing.\n\n"
            "options:\n"
            "  --run OUT       a folder written by mltc train (its best/ checkpoint, else last/)\n"
            "  --data FILE     labelled data to score the model on (jsonl, tsv, tsv-columns)\n"
            "  --out DIR       the report's folder (default OUT/report)\n"
            "  --examples N    texts drawn shaded (default 3)\n"
            "  --format F      the data's format: auto (default), jsonl, tsv, tsv-columns\n"
            "  --device D      cpu, opencl[:N], vulkan[:N] (default: $MLTC_DEVICE, else cpu)\n");
}

int cli_write_report(mltc_ctx *ctx, mltc_device *dev, const mltc_report_options *o, const char *who) {
    char *summary = NULL;
    if (mltc_report(ctx, dev, o, &summary) != MLTC_OK) {
        fprintf(stderr, "mltc %s: %s\n", who, mltc_last_error(ctx));
        return CLI_FAIL;
    }
    const char *missing = mltc_report_drawing_missing();
    if (missing) fprintf(stderr, "mltc %s: %s\n", who, missing);
    printf("%s\n", summary);
    mltc_free(summary);
    return CLI_OK;
}

int cmd_report(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    mltc_report_options o;
    mltc_report_options_default(&o);
    const char *device = NULL, *format = "auto";
    const cli_arg args[] = {
        {"--run", CLI_ARG_STRING, &o.run_dir, 0, 0},
        {"--data", CLI_ARG_STRING, &o.data_path, 0, 0},
        {"--out", CLI_ARG_STRING, &o.out_dir, 0, 0},
        {"--examples", CLI_ARG_INT, &o.examples, 0, 1000},
        {"--format", CLI_ARG_STRING, &format, 0, 0},
        {"--device", CLI_ARG_STRING, &device, 0, 0},
    };
    int rc = cli_parse_args("report", argc, argv, args, (int)(sizeof args / sizeof args[0]));
    if (rc == CLI_OK) rc = cli_require("report", "--run", o.run_dir);
    if (rc == CLI_OK) rc = cli_check_choice("report", "--format", mltc_check_format, format);
    if (rc != CLI_OK) return rc;
    o.format = format;
    mltc_ctx *ctx = NULL;
    mltc_device *dev = NULL;
    if (mltc_ctx_create(&ctx) != MLTC_OK) {
        fprintf(stderr, "mltc report: out of memory\n");
        return CLI_FAIL;
    }
    rc = CLI_FAIL;
    if (cli_open_device(ctx, device, NULL, &dev) != MLTC_OK)
        fprintf(stderr, "mltc report: %s\n", mltc_last_error(ctx));
    else
        rc = cli_write_report(ctx, dev, &o, "report");
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);
    return rc;
}
