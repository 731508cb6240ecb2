/* Learning-rate schedule of the papers: linear warm-up over the first `warmup` fraction of
 * the steps, then linear decay to zero (Hugging Face's get_linear_schedule_with_warmup). */
#ifndef MLTC_RUN_SCHEDULE_H
#define MLTC_RUN_SCHEDULE_H

typedef struct lr_schedule {
    double peak;     /* e.g. 5e-5 */
    long total;      /* optimizer steps in the whole run */
    long warmup;     /* steps of warm-up: round(fraction * total) */
} lr_schedule;

lr_schedule lr_schedule_linear(double peak, long total_steps, double warmup_fraction);

/* The rate for optimizer step `step` (1-based, as AdamW counts): the rate in force while
 * applying update number `step`. */
double lr_at(const lr_schedule *s, long step);

#endif
