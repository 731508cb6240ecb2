/*
 * Device-level accounting, per dev_ctx, for every backend at once (the hooks live in the
 * checked dev_* wrappers of device.c, so no backend implements anything):
 *  - memory: bytes currently allocated through dev_alloc and not yet freed, and the peak;
 *  - profiling (opt-in, off by default): each op wrapper syncs before and after its dispatch
 *    and adds the elapsed wall time to its op's bucket, with a count. Syncing around every op
 *    defeats a deferring backend's batching, so profiled times are for the split between op
 *    families, never for throughput.
 * The op interface has no room for per-context state, so the figures live in a small table
 * keyed by the dev_ctx pointer (guarded by a spin lock; contexts may live on different threads).
 * With profiling off everywhere, an op pays one relaxed atomic load and one branch.
 */
#ifndef MLTC_DEVICE_PROFILE_H
#define MLTC_DEVICE_PROFILE_H

#include <stdatomic.h>
#include <stddef.h>

#include "device/device.h"

/* Buckets: the DEV_OP_* values, then the transfers that are not ops. */
enum {
    DEV_PROF_COPY = DEV_OP_COUNT,
    DEV_PROF_FILL,
    DEV_PROF_UPLOAD,
    DEV_PROF_DOWNLOAD,
    DEV_PROF_MATMUL_BATCHED, /* matmuls with batch > 1 (attention's), apart from the big ones */
    DEV_PROF_COUNT
};

typedef struct dev_profile {
    double seconds[DEV_PROF_COUNT];
    long count[DEV_PROF_COUNT];
} dev_profile;

/* "matmul", ..., "copy", "fill", "upload", "download", "matmul_batched". */
const char *dev_prof_bucket_name(int bucket);

/* ---- memory ------------------------------------------------------------------------------ */

/* Bytes allocated on ctx through dev_alloc and not freed; the most held at once since the
 * context opened or the last dev_mem_reset_peak. 0 for a context never seen. */
size_t dev_mem_current(const dev_ctx *ctx);
size_t dev_mem_peak(const dev_ctx *ctx);
/* Sets the peak to the current figure, so a later peak covers only what follows. */
void dev_mem_reset_peak(const dev_ctx *ctx);

/* ---- profiling --------------------------------------------------------------------------- */

/* Turns profiling on or off for ctx (the buckets are kept; see dev_profile_reset). Returns
 * MLTC_ERR_OUT_OF_MEMORY when the table cannot grow. */
mltc_status dev_profile_enable(dev_ctx *ctx, int on);
int dev_profile_enabled(const dev_ctx *ctx);
void dev_profile_reset(const dev_ctx *ctx);
/* Copies ctx's buckets into out (zeros when none). */
void dev_profile_read(const dev_ctx *ctx, dev_profile *out);

/* ---- hooks for device.c only ---------------------------------------------------------------- */

/* The number of contexts with profiling on: the one branch an op pays when it is 0. */
extern atomic_int dev_profile_active;

void dev_mem_on_alloc(const dev_ctx *ctx, size_t bytes);
void dev_mem_on_free(const dev_ctx *ctx, size_t bytes);
/* Drops ctx's entry: at dev_open (a new context may reuse a freed one's address) and after
 * dev_close (the pointer is only a key; it is never read). */
void dev_profile_forget(const dev_ctx *ctx);
/* Around a dispatch: begin syncs and starts the clock when ctx is profiled (*t0 < 0 when
 * not); end syncs, adds the time to bucket and returns st (or the sync's failure). */
mltc_status dev_profile_begin(dev_ctx *ctx, double *t0);
mltc_status dev_profile_end(dev_ctx *ctx, int bucket, double t0, mltc_status st);

#endif
