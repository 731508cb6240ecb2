/* Training progress for `mltc train`: one line redrawn in place on a terminal, plain log lines
 * otherwise (every log_every steps), and an evaluation line after each dev evaluation.
 * Ctrl-C asks training to stop after the current step, which still writes OUT/last. */
#ifndef MLTC_CLI_PROGRESS_H
#define MLTC_CLI_PROGRESS_H

#include <stdio.h>

#include "mltc.h"

typedef struct cli_progress {
    FILE *out;
    int tty;            /* redraw one line instead of logging */
    int log_every;      /* steps between plain lines */
    int line_open;      /* a redrawn line is on screen without its newline */
    int reported;       /* a step line was shown already (a resumed run shows its first step) */
    double last_draw_s; /* elapsed time of the last redraw, to limit redraws to ~10 a second */
} cli_progress;

/* Sets up the display on out (stderr in the CLI) and the Ctrl-C handler. */
void progress_init(cli_progress *p, FILE *out, int log_every);

/* An mltc_train_callback; user is the cli_progress. Returns 1 after Ctrl-C. */
int progress_report(const mltc_train_progress *pr, void *user);

/* Ends a redrawn line and restores the default Ctrl-C behaviour. */
void progress_finish(cli_progress *p);

/* True when Ctrl-C stopped the run. */
int progress_interrupted(void);

/* "1:02:03" or "4:05" for a number of seconds; "?" when unknown or negative. */
void progress_format_duration(double seconds, char *buf, size_t size);

#endif
