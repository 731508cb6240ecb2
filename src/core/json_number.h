/* JSON numbers in one place. The check every reader of a JSON number it will convert to an integer
 * needs: the value must be a JSON number, whole, and inside [lo, hi], all tested on the double
 * before any conversion (converting a double outside the target type's range is undefined
 * behaviour). And floats written so they read back exactly, in as few digits as that takes. */
#ifndef MLTC_CORE_JSON_NUMBER_H
#define MLTC_CORE_JSON_NUMBER_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

/* 1 when d is a whole number in [lo, hi]; 0 otherwise (NaN fails). */
static inline int whole_in_range(double d, double lo, double hi) { return d >= lo && d <= hi && floor(d) == d; }

/* 1 and *out = the value when v is a JSON number that is whole and in [lo, hi]; 0 otherwise. */
static inline int json_whole_number(const cJSON *v, double lo, double hi, double *out) {
    if (!cJSON_IsNumber(v) || !whole_in_range(v->valuedouble, lo, hi)) return 0;
    *out = v->valuedouble;
    return 1;
}

/* The shortest decimal that reads back as f, as a double for cJSON: 0.37f is written 0.37, not
 * 0.37000000476837158. */
static inline double float_for_json(float f) {
    char buf[32];
    for (int digits = 1; digits < 10; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
        if ((float)strtod(buf, NULL) == f) break;
    }
    return strtod(buf, NULL);
}

#endif
