/* The check every reader of a JSON number it will convert to an integer needs, in one place: the
 * value must be a JSON number, whole, and inside [lo, hi], all tested on the double before any
 * conversion (converting a double outside the target type's range is undefined behaviour). */
#ifndef MLTC_CORE_JSON_NUMBER_H
#define MLTC_CORE_JSON_NUMBER_H

#include <math.h>

#include <cjson/cJSON.h>

/* 1 when d is a whole number in [lo, hi]; 0 otherwise (NaN fails). */
static inline int whole_in_range(double d, double lo, double hi) { return d >= lo && d <= hi && floor(d) == d; }

/* 1 and *out = the value when v is a JSON number that is whole and in [lo, hi]; 0 otherwise. */
static inline int json_whole_number(const cJSON *v, double lo, double hi, double *out) {
    if (!cJSON_IsNumber(v) || !whole_in_range(v->valuedouble, lo, hi)) return 0;
    *out = v->valuedouble;
    return 1;
}

#endif
