/* Length-bucketed batches with dynamic padding: examples of similar length share a batch, so
 * little compute is spent on padding, while the order of batches stays random.
 *
 * Per epoch: shuffle all example indices with the epoch's seed; cut the shuffled list into
 * pools of `pool_batches` batches; sort each pool by length (stable, longest first); cut the pool
 * into batches; shuffle the batches of the whole epoch. Deterministic in (seed, epoch). */
#ifndef MLTC_RUN_BATCHING_H
#define MLTC_RUN_BATCHING_H

#include <stdint.h>

#include "core/error.h"

typedef struct batch_plan {
    int n_batches;
    int *starts;   /* [n_batches + 1] offsets into order */
    int32_t *order; /* example indices, batch after batch */
} batch_plan;

/* lengths[n] are token counts (after truncation); pool_batches >= 1 (1 = no bucketing). */
mltc_status batch_plan_make(mltc_error *err, const int *lengths, int n, int batch_size, int pool_batches,
                            uint64_t seed, int epoch, batch_plan *out);
void batch_plan_free(batch_plan *p);

/* Fisher-Yates shuffle of idx[n] driven by Philox (seed, stream): same on every platform. */
void shuffle_indices(int32_t *idx, int n, uint64_t seed, uint64_t stream);

/* Sorts idx[0, n) by lengths[idx[i]], longest first when descending, ties by index (so the
 * order is deterministic). Keeps no state between calls: threads may sort at once. Returns
 * MLTC_OK, or MLTC_ERR_OUT_OF_MEMORY (idx unchanged) after setting err. */
mltc_status sort_by_length(mltc_error *err, int32_t *idx, size_t n, const int *lengths, int descending);

#endif
