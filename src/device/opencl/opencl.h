/* OpenCL-backend specifics that tests and tools may inspect beyond device.h: the program
 * cache's counters and folder, and building every program ahead of time. */
#ifndef MLTC_DEVICE_OPENCL_H
#define MLTC_DEVICE_OPENCL_H

#include "device/device.h"

typedef struct opencl_cache_stats {
    int built;    /* programs compiled from source */
    int loaded;   /* programs loaded from a cached binary */
    int rejected; /* cache entries found but refused (corrupt, stale, or the driver refused them) */
    int written;  /* cache entries written */
} opencl_cache_stats;

/* Counters of ctx, which must be an OpenCL context (MLTC_ERR_INVALID_ARGUMENT otherwise). */
mltc_status opencl_cache_stats_get(dev_ctx *ctx, opencl_cache_stats *out);

/* The folder this context caches program binaries in ("" when caching is off). */
const char *opencl_cache_dir(dev_ctx *ctx);

/* Builds every program now rather than on first use (for warm-up and tests). */
mltc_status opencl_build_all(dev_ctx *ctx);

/* Builds `source` as an OpenCL C program called `name` (never cached) and releases it, so
 * tests can check how a failing build is reported (the driver's build log in the message). */
mltc_status opencl_build_source(dev_ctx *ctx, const char *name, const char *source);

/* The number of programs opencl_build_all builds. */
int opencl_program_count(void);

#endif
