#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static int passed, failed;
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static dev_ctx *last_ctx;

int tu_open(const char *backend, mltc_error *err, dev_ctx **out) {
    char spec[64];
    snprintf(spec, sizeof spec, "%s:0", backend);
    mltc_status st = dev_open(err, spec, out);
    if (st == MLTC_OK) {
        last_ctx = *out;
        return 0;
    }
    if (st == MLTC_ERR_UNSUPPORTED || st == MLTC_ERR_DEVICE || st == MLTC_ERR_INVALID_ARGUMENT) {
        printf("SKIP: backend %s unavailable: %s\n", backend, err->msg);
        return TU_SKIP;
    }
    printf("FAIL: opening %s: %s\n", spec, err->msg);
    return 1;
}

void tu_seed(uint64_t seed) { rng_state = seed * 0x9E3779B97F4A7C15ull + 1; }

static uint64_t next_u64(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float tu_uniform(float lo, float hi) { return lo + (hi - lo) * (float)((next_u64() >> 40) * (1.0 / 16777216.0)); }

void tu_fill_uniform(float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = tu_uniform(lo, hi);
}

void tu_must(mltc_status st, const mltc_error *err, const char *what) {
    if (st == MLTC_OK) return;
    printf("FAIL: %s: %s (%s)\n", what, err && err->msg[0] ? err->msg : "", mltc_status_string(st));
    printf("%d passed, %d failed\n", passed, failed + 1);
    exit(1);
}

dev_buf *tu_buf(dev_ctx *ctx, const void *host, size_t elems) {
    dev_buf *b = NULL;
    tu_must(dev_alloc(ctx, elems * 4, &b), ctx->err, "alloc");
    if (host) tu_must(dev_upload(ctx, b, 0, host, elems * 4), ctx->err, "upload");
    return b;
}

dev_buf *tu_zeros(dev_ctx *ctx, size_t elems) {
    dev_buf *b = tu_buf(ctx, NULL, elems);
    tu_must(dev_fill(ctx, (dev_view){b, 0}, elems, 0.0f), ctx->err, "fill");
    return b;
}

float *tu_get(dev_ctx *ctx, dev_buf *b, size_t elems) {
    float *h = malloc(elems * 4);
    if (!h) tu_must(MLTC_ERR_OUT_OF_MEMORY, NULL, "host copy");
    tu_must(dev_download(ctx, b, 0, h, elems * 4), ctx->err, "download");
    return h;
}

dev_view tu_v(dev_buf *b) { return (dev_view){b, 0}; }

int tu_close(const char *what, const float *got, const double *want, size_t n, double atol, double rtol) {
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        int bad = isnan(g) != isnan(w) || (!isnan(w) && fabs(g - w) > atol + rtol * fabs(w));
        if (bad) {
            printf("FAIL %s: index %zu of %zu: got %.9g, expected %.9g (atol %g, rtol %g)\n", what, i, n, g, w, atol,
                   rtol);
            failed++;
            return 0;
        }
    }
    passed++;
    return 1;
}

int tu_check(int cond, const char *fmt, ...) {
    if (cond) {
        passed++;
        return 1;
    }
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    failed++;
    return 0;
}

int tu_status(mltc_status got, mltc_status want, const mltc_error *err, const char *what) {
    return tu_check(got == want, "%s: status '%s', expected '%s' (message: %s)", what, mltc_status_string(got),
                    mltc_status_string(want), err ? err->msg : "");
}

int tu_finish(void) {
    (void)last_ctx;
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
