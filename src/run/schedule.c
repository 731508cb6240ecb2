#include "run/schedule.h"

#include <math.h>

lr_schedule lr_schedule_linear(double peak, long total_steps, double warmup_fraction) {
    lr_schedule s = {peak, total_steps > 0 ? total_steps : 1, 0};
    if (warmup_fraction > 0) s.warmup = lround(warmup_fraction * (double)s.total);
    if (s.warmup > s.total) s.warmup = s.total;
    return s;
}

double lr_at(const lr_schedule *s, long step) {
    /* Hugging Face evaluates the multiplier at the 0-based scheduler count before each update. */
    long t = step - 1;
    if (t < 0) t = 0;
    if (t < s->warmup) return s->peak * (double)t / (double)s->warmup;
    long decay = s->total - s->warmup;
    if (decay <= 0) return 0.0;
    double f = (double)(s->total - t) / (double)decay;
    return s->peak * (f > 0 ? f : 0.0);
}
