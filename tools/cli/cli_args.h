/* Table-driven option parsing shared by train, eval and predict: "--name VALUE" or
 * "--name=VALUE", numbers checked whole and in range, every complaint naming the option. */
#ifndef MLTC_CLI_ARGS_H
#define MLTC_CLI_ARGS_H

#include <stdint.h>

#include "mltc.h"

typedef enum cli_arg_kind {
    CLI_ARG_STRING, /* dest: const char ** */
    CLI_ARG_INT,    /* dest: int *, within [min, max] */
    CLI_ARG_LONG,   /* dest: long *, within [min, max] */
    CLI_ARG_U64,    /* dest: uint64_t *, any value an unsigned 64-bit number holds */
    CLI_ARG_DOUBLE, /* dest: double *, finite, within [min, max] */
    CLI_ARG_FLAG    /* dest: int *, set to 1; takes no value */
} cli_arg_kind;

typedef struct cli_arg {
    const char *name; /* "--epochs" */
    cli_arg_kind kind;
    void *dest;
    double min, max;  /* for INT, LONG, DOUBLE; both 0 means no range beyond the type's */
} cli_arg;

/* Parses argv[1..argc) against args[0..n). On a bad, unknown or value-less option prints
 * "mltc CMD: ..." to stderr naming the option and returns CLI_USAGE; otherwise CLI_OK. */
int cli_parse_args(const char *cmd, int argc, char **argv, const cli_arg *args, int n);

/* Prints "mltc CMD: OPTION is required (mltc CMD --help)" and returns CLI_USAGE when value is
 * NULL; returns CLI_OK otherwise. */
int cli_require(const char *cmd, const char *option, const char *value);

/* A choice the library must know (check: mltc_check_precision, mltc_check_format, ...): absent
 * (NULL) or known is CLI_OK; anything else prints "mltc CMD: OPTION: why" and returns CLI_USAGE. */
int cli_check_choice(const char *cmd, const char *option, mltc_status (*check)(mltc_ctx *, const char *),
                     const char *value);

#endif
