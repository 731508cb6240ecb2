/* The mltc command line: one file per subcommand, dispatched from main.c. */
#ifndef MLTC_CLI_H
#define MLTC_CLI_H

#include "mltc.h"

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name; returns the exit code */
} cli_command;

/* Exit codes: 0 success, 1 failure reported on stderr, 2 bad command line. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

int cmd_devices(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* Writes the report o asks for and prints its summary; who names the command in messages. */
int cli_write_report(mltc_ctx *ctx, mltc_device *dev, const mltc_report_options *o, const char *who);

/* True when argv holds -h or --help. */
int cli_wants_help(int argc, char **argv);

/* Opens the --device spec and sets its --precision (NULL: leave fp32). */
mltc_status cli_open_device(mltc_ctx *ctx, const char *spec, const char *precision, mltc_device **out);

#endif
