/* mltc tokenize: the model input ids of each line of text, to check the tokenizer by eye or
 * against another implementation. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mltc_platform.h"

static void tokenize_usage(FILE *out) {
    fprintf(out, "usage: mltc tokenize --vocab FILE [--input FILE|-] [--max-len N]\n\n"
                 "Prints, for each line of input, the ids of [CLS] line [SEP], space-separated, one\n"
                 "output line per input line (the line break itself is not part of the text).\n\n"
                 "  --vocab FILE    WordPiece vocabulary, one token a line (a BERT vocab.txt)\n"
                 "  --input FILE    text to tokenize; - or absent: standard input\n"
                 "  --max-len N     truncate each line's ids to N including [CLS] and [SEP] (N >= 2);\n"
                 "                  default: no truncation\n");
}

/* Accepts "--name VALUE" and "--name=VALUE"; returns the value or NULL if argv[*i] is not it. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *missing) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n)) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != '\0') return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

static int tokenize_stream(mltc_ctx *ctx, const mltc_tokenizer *tok, FILE *in, const char *in_name, int max_len) {
    char *line = NULL;
    size_t cap = 0;
    long got;
    long lineno = 0;
    int rc = CLI_OK;
    while ((got = mltc_read_line(in, &line, &cap)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        if (len && line[len - 1] == '\n') len--;
        if (len && line[len - 1] == '\r') len--;
        int32_t *ids = NULL;
        int n = 0;
        if (mltc_tokenize(ctx, tok, line, len, max_len, &ids, &n) != MLTC_OK) {
            fprintf(stderr, "mltc tokenize: %s:%ld: %s\n", in_name, lineno, mltc_last_error(ctx));
            rc = CLI_FAIL;
            break;
        }
        for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        putchar('\n');
        mltc_free(ids);
    }
    if (rc == CLI_OK && ferror(in)) {
        fprintf(stderr, "mltc tokenize: %s: read error after line %ld\n", in_name, lineno);
        rc = CLI_FAIL;
    }
    if (rc == CLI_OK && fflush(stdout) != 0) {
        fprintf(stderr, "mltc tokenize: writing the output: %s\n", strerror(errno));
        rc = CLI_FAIL;
    }
    free(line);
    return rc;
}

int cmd_tokenize(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        tokenize_usage(stdout);
        return CLI_OK;
    }
    const char *vocab = NULL, *input = "-", *max_arg = NULL;
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if ((v = opt_value(argc, argv, &i, "--vocab", &missing))) {
            vocab = v;
        } else if ((v = opt_value(argc, argv, &i, "--input", &missing))) {
            input = v;
        } else if ((v = opt_value(argc, argv, &i, "--max-len", &missing))) {
            max_arg = v;
        } else {
            fprintf(stderr, missing ? "mltc tokenize: %s needs a value\n" : "mltc tokenize: unknown argument '%s'\n",
                    argv[i]);
            tokenize_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (!vocab) {
        fprintf(stderr, "mltc tokenize: --vocab FILE is required\n");
        tokenize_usage(stderr);
        return CLI_USAGE;
    }
    long max_len = 0;
    if (max_arg) {
        char *end;
        errno = 0;
        max_len = strtol(max_arg, &end, 10);
        if (errno || end == max_arg || *end || max_len < 2 || max_len > INT_MAX / 4) {
            fprintf(stderr, "mltc tokenize: --max-len '%s' is not a whole number from 2 to %d\n", max_arg, INT_MAX / 4);
            return CLI_USAGE;
        }
    }
    mltc_ctx *ctx = NULL;
    mltc_tokenizer *tok = NULL;
    if (mltc_ctx_create(&ctx) != MLTC_OK) {
        fprintf(stderr, "mltc tokenize: out of memory\n");
        return CLI_FAIL;
    }
    if (mltc_tokenizer_load(ctx, vocab, &tok) != MLTC_OK) {
        fprintf(stderr, "mltc tokenize: %s\n", mltc_last_error(ctx));
        mltc_ctx_destroy(ctx);
        return CLI_FAIL;
    }
    FILE *in = stdin;
    int rc = CLI_FAIL;
    if (strcmp(input, "-") && !(in = fopen(input, "rb")))
        fprintf(stderr, "mltc tokenize: cannot open %s: %s\n", input, strerror(errno));
    else
        rc = tokenize_stream(ctx, tok, in, strcmp(input, "-") ? input : "<stdin>", (int)max_len);
    if (in && in != stdin) fclose(in);
    mltc_tokenizer_free(tok);
    mltc_ctx_destroy(ctx);
    return rc;
}
