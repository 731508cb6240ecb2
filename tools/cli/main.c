#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_command commands[] = {
    {"devices", "list every device mltc can run on, with its limits", cmd_devices},
    {"tokenize", "print the WordPiece ids of each line of text ([CLS] line [SEP])", cmd_tokenize},
    {"metrics", "score predicted labels against gold labels (micro/macro F1, ...)", cmd_metrics},
    {"train", "fine-tune a BERT folder into a multi-label classifier (bert, lmmtc, lam heads)", cmd_train},
    {"eval", "score a trained checkpoint on a labelled data file", cmd_eval},
    {"predict", "label probabilities for each line of text, as JSON lines", cmd_predict},
    {"report", "figures of a training run and its model on data, in one HTML page", cmd_report},
    {"bench", "training and inference speed of a random BERT on a device, with the op split", cmd_bench},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out) {
    fprintf(out, "mltc %s — BERT multi-label text classification on any GPU (OpenCL, Vulkan)\n\n", mltc_version());
    fprintf(out, "usage: mltc COMMAND [options]   (mltc COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nenvironment:\n  MLTC_DEVICE  default device: cpu, opencl[:N], vulkan[:N]\n");
}

int cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
    return 0;
}

mltc_status cli_open_device(mltc_ctx *ctx, const char *spec, const char *precision, mltc_device **out) {
    mltc_status st = mltc_device_open(ctx, spec, out);
    if (st == MLTC_OK && precision && (st = mltc_device_set_precision(ctx, *out, precision)) != MLTC_OK) {
        mltc_device_close(*out);
        *out = NULL;
    }
    return st;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("mltc %s\n", mltc_version());
        return CLI_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "mltc: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
