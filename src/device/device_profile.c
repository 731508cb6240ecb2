/* Per-context memory accounting and op profiling, kept beside the contexts in a small table. */
#include "device/device_profile.h"

#include <stdlib.h>
#include <string.h>

#include "core/platform.h"

atomic_int dev_profile_active = 0;

typedef struct entry {
    const dev_ctx *key;
    size_t cur, peak;
    int on;
    dev_profile prof;
} entry;

/* A handful of contexts live at once, so a linear search beats anything cleverer. */
static entry *table;
static size_t used, cap;
static atomic_flag lock = ATOMIC_FLAG_INIT;

static void acquire(void) {
    while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire)) {
    }
}
static void release(void) { atomic_flag_clear_explicit(&lock, memory_order_release); }

/* Under the lock. create: add a zeroed entry when absent (NULL when out of memory). */
static entry *find(const dev_ctx *ctx, int create) {
    for (size_t i = 0; i < used; i++)
        if (table[i].key == ctx) return &table[i];
    if (!create || !ctx) return NULL;
    if (used == cap) {
        size_t ncap = cap ? 2 * cap : 8;
        entry *t = realloc(table, ncap * sizeof *t);
        if (!t) return NULL;
        table = t;
        cap = ncap;
    }
    entry *e = &table[used++];
    memset(e, 0, sizeof *e);
    e->key = ctx;
    return e;
}

static double now_s(void) { return plat_seconds(); }

const char *dev_prof_bucket_name(int b) {
    if (b >= 0 && b < DEV_OP_COUNT) return dev_op_name((dev_op)b);
    switch (b) {
    case DEV_PROF_COPY: return "copy";
    case DEV_PROF_FILL: return "fill";
    case DEV_PROF_UPLOAD: return "upload";
    case DEV_PROF_DOWNLOAD: return "download";
    case DEV_PROF_MATMUL_BATCHED: return "matmul_batched";
    default: return "unknown";
    }
}

/* ---- memory -------------------------------------------------------------------------------- */

void dev_mem_on_alloc(const dev_ctx *ctx, size_t bytes) {
    acquire();
    entry *e = find(ctx, 1);
    if (e) {
        e->cur += bytes;
        if (e->cur > e->peak) e->peak = e->cur;
    }
    release();
}

void dev_mem_on_free(const dev_ctx *ctx, size_t bytes) {
    acquire();
    entry *e = find(ctx, 0);
    /* An entry lost to out-of-memory undercounts; never wrap below zero. */
    if (e) e->cur = bytes > e->cur ? 0 : e->cur - bytes;
    release();
}

size_t dev_mem_current(const dev_ctx *ctx) {
    acquire();
    entry *e = find(ctx, 0);
    size_t v = e ? e->cur : 0;
    release();
    return v;
}

size_t dev_mem_peak(const dev_ctx *ctx) {
    acquire();
    entry *e = find(ctx, 0);
    size_t v = e ? e->peak : 0;
    release();
    return v;
}

void dev_mem_reset_peak(const dev_ctx *ctx) {
    acquire();
    entry *e = find(ctx, 0);
    if (e) e->peak = e->cur;
    release();
}

void dev_profile_forget(const dev_ctx *ctx) {
    acquire();
    for (size_t i = 0; i < used; i++) {
        if (table[i].key != ctx) continue;
        if (table[i].on) atomic_fetch_sub_explicit(&dev_profile_active, 1, memory_order_relaxed);
        table[i] = table[--used];
        break;
    }
    if (used == 0) { /* the last context gone: give the table back (leak checkers stay quiet) */
        free(table);
        table = NULL;
        cap = 0;
    }
    release();
}

/* ---- profiling ----------------------------------------------------------------------------- */

mltc_status dev_profile_enable(dev_ctx *ctx, int on) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    on = on != 0;
    acquire();
    entry *e = find(ctx, on);
    if (e && e->on != on) {
        e->on = on;
        atomic_fetch_add_explicit(&dev_profile_active, on ? 1 : -1, memory_order_relaxed);
    }
    release();
    if (!e && on) return err_set(ctx->err, MLTC_ERR_OUT_OF_MEMORY, "profiling: no memory for the context table");
    return MLTC_OK;
}

int dev_profile_enabled(const dev_ctx *ctx) {
    acquire();
    entry *e = find(ctx, 0);
    int on = e ? e->on : 0;
    release();
    return on;
}

void dev_profile_reset(const dev_ctx *ctx) {
    acquire();
    entry *e = find(ctx, 0);
    if (e) memset(&e->prof, 0, sizeof e->prof);
    release();
}

void dev_profile_read(const dev_ctx *ctx, dev_profile *out) {
    if (!out) return;
    acquire();
    entry *e = find(ctx, 0);
    if (e)
        *out = e->prof;
    else
        memset(out, 0, sizeof *out);
    release();
}

mltc_status dev_profile_begin(dev_ctx *ctx, double *t0) {
    *t0 = -1.0;
    if (!dev_profile_enabled(ctx)) return MLTC_OK;
    /* Drain what earlier ops queued, so the clock sees this op alone. */
    mltc_status st = ctx->ops->sync(ctx);
    if (st != MLTC_OK) return st;
    *t0 = now_s();
    return MLTC_OK;
}

mltc_status dev_profile_end(dev_ctx *ctx, int bucket, double t0, mltc_status st) {
    if (t0 < 0 || st != MLTC_OK) return st;
    st = ctx->ops->sync(ctx);
    double dt = now_s() - t0;
    acquire();
    entry *e = find(ctx, 0);
    if (e && bucket >= 0 && bucket < DEV_PROF_COUNT) {
        e->prof.seconds[bucket] += dt;
        e->prof.count[bucket]++;
    }
    release();
    return st;
}
