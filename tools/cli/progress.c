#include "progress.h"

#include <math.h>
#include <signal.h> /* sig_atomic_t */
#include <string.h>

#include "mltc_platform.h"

static volatile sig_atomic_t interrupted;

/* Ctrl-C and a request to stop (SIGTERM: what kill, job schedulers and session ends send; the
 * console's close on Windows) both stop the run after the current step, with OUT/last written. */
static void on_stop(void) { interrupted = 1; }

void progress_init(cli_progress *p, FILE *out, int log_every) {
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = mltc_is_terminal(out);
    p->log_every = log_every > 0 ? log_every : 10;
    p->last_draw_s = -1;
    interrupted = 0;
    /* A reader of the progress lines that goes away (a pipe to a killed parent) must not kill
     * the run before it writes OUT/last either: the lines are then lost, the training is not. */
    mltc_catch_stop(on_stop);
}

void progress_format_duration(double s, char *buf, size_t size) {
    if (!(s >= 0) || !isfinite(s) || s > 1e8) {
        snprintf(buf, size, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

static void step_text(const mltc_train_progress *pr, char *buf, size_t size) {
    char eta[32], elapsed[32];
    progress_format_duration(pr->eta_s, eta, sizeof eta);
    progress_format_duration(pr->elapsed_s, elapsed, sizeof elapsed);
    int n = snprintf(buf, size, "epoch %d/%d  step %ld/%ld  loss %.4f", pr->epoch, pr->epochs, pr->step,
                     pr->total_steps, pr->loss);
    if (pr->loss_mlm != 0 && n > 0 && (size_t)n < size)
        n += snprintf(buf + n, size - (size_t)n, " (mlm %.4f)", pr->loss_mlm);
    if (n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "  lr %.3g  %.1f ex/s  elapsed %s  ETA %s", pr->lr, pr->examples_per_s,
                 elapsed, eta);
}

static void end_line(cli_progress *p) {
    if (p->line_open) fputc('\n', p->out);
    p->line_open = 0;
}

int progress_report(const mltc_train_progress *pr, void *user) {
    cli_progress *p = user;
    char text[256];
    if (pr->is_eval) {
        end_line(p);
        if (pr->dev)
            fprintf(p->out,
                    "epoch %d/%d  dev: micro-F1 %.4f  macro-F1 %.4f  micro-P %.4f  micro-R %.4f  subset acc %.4f"
                    "  Hamming %.4f%s\n",
                    pr->epoch, pr->epochs, pr->dev->micro_f1, pr->dev->macro_f1, pr->dev->micro_precision,
                    pr->dev->micro_recall, pr->dev->subset_accuracy, pr->dev->hamming_loss,
                    pr->is_best ? "  (best, saved)" : "");
        fflush(p->out);
        return interrupted ? 1 : 0;
    }
    int last = pr->step >= pr->total_steps;
    if (p->tty) {
        /* Redraw at most ~10 times a second: a fast small model would otherwise spend its time
         * writing to the terminal. */
        if (last || p->last_draw_s < 0 || pr->elapsed_s - p->last_draw_s >= 0.1) {
            step_text(pr, text, sizeof text);
            fprintf(p->out, "\r\033[K%s", text);
            fflush(p->out);
            p->line_open = 1;
            p->last_draw_s = pr->elapsed_s;
        }
    } else if (pr->step % p->log_every == 0 || last || !p->reported) {
        step_text(pr, text, sizeof text);
        fprintf(p->out, "%s\n", text);
        fflush(p->out);
        p->reported = 1;
    }
    if (interrupted) {
        end_line(p);
        fprintf(p->out, "interrupted: stopping after step %ld and writing the last checkpoint\n", pr->step);
        return 1;
    }
    return 0;
}

void progress_finish(cli_progress *p) {
    end_line(p);
    mltc_default_stop();
}

int progress_interrupted(void) { return interrupted != 0; }
