/* mltc predict: label probabilities for each line of text, one JSON object a line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_ranks.h"
#include "mltc_platform.h"

/* Lines predicted per library call when reading a file or a pipe; a terminal gets one line at
 * a time so each answer comes as soon as its line is typed. */
#define PREDICT_CHUNK 64

static void usage(FILE *out) {
    fprintf(out,
            "usage: mltc predict --checkpoint DIR [--input FILE|-] [--top-k N] [--threshold X]\n"
            "                    [--min-labels N] [--device D] [--precision P] [--explain [--pictures DIR]]\n\n"
            "Reads one text a line and writes one JSON object a line, in the same order:\n"
            "  {\"labels\": [the predicted labels], \"probs\": {\"label\": p, ...}}\n"
            "A label is predicted when p is above its threshold (tuned on dev data in training, or\n"
            "--threshold); a text with fewer than the checkpoint's minimum of labels (or --min-labels)\n"
            "gets its most probable ones. Under mpirun (mpirun -np N mltc predict --input FILE ...\n"
            "--device opencl:local) each process predicts a share of every chunk of lines on its own\n"
            "device, and rank 0 writes them (not with --explain).\n\n"
            "With --explain each line is instead mltc_explain's object: the tokens and the weight the\n"
            "prediction gave each (lam: its label attention and each label's best-matching token; lmmtc:\n"
            "the predicted labels' state attention; bert: [CLS]'s attention; last layer, mean of heads).\n\n"
            "options:\n"
            "  --checkpoint DIR  a folder written by mltc train (OUT/best or OUT/last)\n"
            "  --input FILE      texts, one a line; - or absent: standard input\n"
            "  --top-k N         list only the N most probable labels under \"probs\" (default: all)\n"
            "  --threshold X     list under \"labels\" those with p > X, 0..1 (default: the checkpoint's)\n"
            "  --min-labels N    at least N labels a text (default: the checkpoint's)\n"
            "  --explain         write the weights of every word piece (see above)\n"
            "  --pictures DIR    with --explain: also draw each text shaded by weight, DIR/text_N.png/.svg\n"
            "  --device D        cpu, opencl[:N], vulkan[:N] (default: $MLTC_DEVICE, else cpu)\n"
            "  --precision P     matrix products in fp32 (default) or bf16: mixed precision, the\n"
            "                    operands rounded to bfloat16 and summed in fp32 (cpu device of the\n"
            "                    oneMKL build, on CPUs with AVX512-BF16 or AMX)\n");
}

/* Rounds to 6 significant digits so the output is short and stable ("0.731059", not
 * "0.73105859756469727"). */
static double round6(float p) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.6g", (double)p);
    return strtod(buf, NULL);
}

typedef struct ranked {
    int index;
    float p;
} ranked;

static int by_prob_desc(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->index - y->index; /* ties keep label order, so output is deterministic */
}

/* Prints one JSON line for a row of probabilities and the model's decisions on it. Returns 0
 * when out of memory. */
static int print_row(const mltc_model *model, const float *p, const uint8_t *decided, int K, int top_k,
                     ranked *scratch) {
    cJSON *o = cJSON_CreateObject();
    cJSON *labels = o ? cJSON_AddArrayToObject(o, "labels") : NULL;
    cJSON *probs = labels ? cJSON_AddObjectToObject(o, "probs") : NULL;
    int ok = probs != NULL;
    for (int j = 0; ok && j < K; j++)
        if (decided[j]) ok = cJSON_AddItemToArray(labels, cJSON_CreateString(mltc_model_label_name(model, j)));
    for (int j = 0; j < K; j++) scratch[j] = (ranked){j, p[j]};
    int n = K;
    if (top_k > 0) {
        qsort(scratch, (size_t)K, sizeof *scratch, by_prob_desc);
        if (top_k < n) n = top_k;
    }
    for (int r = 0; ok && r < n; r++)
        ok = cJSON_AddNumberToObject(probs, mltc_model_label_name(model, scratch[r].index), round6(scratch[r].p)) !=
             NULL;
    char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!s) return 0;
    puts(s);
    free(s);
    return 1;
}

/* Reads lines into texts[] (each malloc'd, line break removed); returns how many (0 at end). */
static size_t read_chunk(FILE *in, char **texts, size_t max) {
    size_t n = 0;
    char *line = NULL;
    size_t cap = 0;
    long got;
    while (n < max && (got = mltc_read_line(in, &line, &cap)) >= 0) {
        size_t len = (size_t)got;
        if (len && line[len - 1] == '\n') len--;
        if (len && line[len - 1] == '\r') len--;
        line[len] = '\0';
        texts[n++] = line;
        line = NULL;
        cap = 0;
    }
    free(line);
    return n;
}

/* --explain: one object a line, and with pictures_dir a picture of each text. */
static int run_explain(mltc_ctx *ctx, mltc_model *model, FILE *in, const char *pictures_dir) {
    char *line = NULL;
    size_t cap = 0;
    long got;
    int rc = CLI_OK;
    for (long i = 1; rc == CLI_OK && (got = mltc_read_line(in, &line, &cap)) >= 0; i++) {
        size_t len = (size_t)got;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        char base[4200], *json = NULL;
        if (pictures_dir) snprintf(base, sizeof base, "%s/text_%ld", pictures_dir, i);
        if (mltc_explain(ctx, model, line, pictures_dir ? base : NULL, &json) != MLTC_OK) {
            fprintf(stderr, "mltc predict: line %ld: %s\n", i, mltc_last_error(ctx));
            rc = CLI_FAIL;
        } else {
            puts(json);
            fflush(stdout);
        }
        mltc_free(json);
    }
    free(line);
    return rc;
}

/* Under mpirun every rank reads the same chunks of the input file; each predicts a share of a
 * chunk, and rank 0 prints the chunk's lines. */
static int run(mltc_ctx *ctx, mltc_model *model, FILE *in, int top_k, cli_ranks *ranks) {
    int K = mltc_model_num_labels(model);
    size_t chunk = mltc_is_terminal(in) ? 1 : PREDICT_CHUNK;
    char *texts[PREDICT_CHUNK];
    float *probs = malloc(sizeof *probs * (size_t)K * PREDICT_CHUNK);
    uint8_t *decided = malloc((size_t)K * PREDICT_CHUNK);
    ranked *scratch = malloc(sizeof *scratch * (size_t)K);
    int rc = CLI_OK;
    if (!probs || !decided || !scratch) {
        fprintf(stderr, "mltc predict: out of memory\n");
        rc = CLI_FAIL;
    }
    size_t n;
    while (rc == CLI_OK && (n = read_chunk(in, texts, chunk)) > 0) {
        if (mltc_predict_parallel(ctx, model, (const char *const *)texts, n, ranks->comm, probs) != MLTC_OK ||
            mltc_decide(ctx, model, probs, n, decided) != MLTC_OK) {
            fprintf(stderr, "mltc predict: %s\n", mltc_last_error(ctx));
            rc = CLI_FAIL;
        }
        for (size_t i = 0; rc == CLI_OK && ranks->rank == 0 && i < n; i++)
            if (!print_row(model, probs + i * (size_t)K, decided + i * (size_t)K, K, top_k, scratch)) {
                fprintf(stderr, "mltc predict: out of memory writing JSON\n");
                rc = CLI_FAIL;
            }
        fflush(stdout);
        for (size_t i = 0; i < n; i++) free(texts[i]);
    }
    if (rc == CLI_OK && ferror(in)) {
        fprintf(stderr, "mltc predict: error reading the input\n");
        rc = CLI_FAIL;
    }
    free(scratch);
    free(decided);
    free(probs);
    return rc;
}

int cmd_predict(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    const char *ckpt = NULL, *input = "-", *device = NULL, *precision = NULL;
    int top_k = 0, explain = 0;
    const char *pictures = NULL;
    double threshold = -1;
    int min_labels = -1;
    const cli_arg args[] = {
        {"--min-labels", CLI_ARG_INT, &min_labels, 0, 1000000},
        {"--checkpoint", CLI_ARG_STRING, &ckpt, 0, 0},
        {"--input", CLI_ARG_STRING, &input, 0, 0},
        {"--top-k", CLI_ARG_INT, &top_k, 1, 1000000000},
        {"--threshold", CLI_ARG_DOUBLE, &threshold, 0, 1},
        {"--precision", CLI_ARG_STRING, &precision, 0, 0},
        {"--device", CLI_ARG_STRING, &device, 0, 0},
        {"--explain", CLI_ARG_FLAG, &explain, 0, 0},
        {"--pictures", CLI_ARG_STRING, &pictures, 0, 0},
    };
    int rc = cli_parse_args("predict", argc, argv, args, (int)(sizeof args / sizeof args[0]));
    if (rc == CLI_OK) rc = cli_check_choice("predict", "--precision", mltc_check_precision, precision);
    if (rc == CLI_OK) rc = cli_require("predict", "--checkpoint", ckpt);
    if (rc == CLI_OK && pictures && !explain) {
        fprintf(stderr, "mltc predict: --pictures goes with --explain\n");
        rc = CLI_USAGE;
    }
    if (rc != CLI_OK) return rc;

    if (pictures) {
        mltc_ctx *folder_ctx = NULL;
        int made = mltc_ctx_create(&folder_ctx) == MLTC_OK && mltc_make_folder(folder_ctx, pictures) == MLTC_OK;
        if (!made) fprintf(stderr, "mltc predict: --pictures: %s\n", folder_ctx ? mltc_last_error(folder_ctx) : "out of memory");
        mltc_ctx_destroy(folder_ctx);
        if (!made) return CLI_FAIL;
    }
    cli_ranks ranks;
    if (cli_ranks_start(&ranks, "predict", 0)) return CLI_FAIL;
    if (ranks.size > 1 && explain) {
        if (ranks.rank == 0) fprintf(stderr, "mltc predict: --explain runs in one process, not under mpirun\n");
        cli_ranks_stop(&ranks, 0);
        return CLI_USAGE;
    }
    if (ranks.size > 1 && !strcmp(input, "-")) { /* mpirun gives stdin to rank 0 alone */
        if (ranks.rank == 0) fprintf(stderr, "mltc predict: under mpirun the texts come from --input FILE\n");
        cli_ranks_stop(&ranks, 0);
        return CLI_USAGE;
    }
    char who[32] = "", spec[256];
    if (ranks.size > 1) snprintf(who, sizeof who, "rank %d: ", ranks.rank);
    FILE *in = strcmp(input, "-") ? fopen(input, "rb") : stdin;
    mltc_ctx *ctx = NULL;
    mltc_device *dev = NULL;
    mltc_model *model = NULL;
    rc = CLI_FAIL;
    int failed = 1;
    if (!in) {
        fprintf(stderr, "mltc predict: %scannot open %s: %s\n", who, input, strerror(errno));
    } else if (mltc_ctx_create(&ctx) != MLTC_OK) {
        fprintf(stderr, "mltc predict: %sout of memory\n", who);
    } else if (cli_rank_device(&ranks, device ? device : getenv("MLTC_DEVICE"), spec, sizeof spec)) {
        /* said on stderr */
    } else if (cli_open_device(ctx, *spec ? spec : NULL, precision, &dev) != MLTC_OK ||
               mltc_model_load(ctx, dev, ckpt, &model) != MLTC_OK ||
               (threshold >= 0 && mltc_model_set_threshold(ctx, model, (float)threshold) != MLTC_OK) ||
               (min_labels >= 0 && mltc_model_set_min_labels(ctx, model, min_labels) != MLTC_OK)) {
        fprintf(stderr, "mltc predict: %s%s\n", who, mltc_last_error(ctx));
    } else {
        failed = 0;
    }
    /* every rank learns of one that cannot start, instead of waiting for it */
    if (!cli_ranks_agree(&ranks, failed, "to load the checkpoint"))
        rc = explain ? run_explain(ctx, model, in, pictures) : run(ctx, model, in, top_k, &ranks);
    mltc_model_free(model);
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);
    if (in && in != stdin) fclose(in);
    cli_ranks_stop(&ranks, 0);
    return rc;
}
