#include "run/batching.h"

#include <stdlib.h>
#include <string.h>

#include "device/philox.h"

/* A uniform integer in [0, bound) from 32 random bits; the bias (< bound / 2^32) is irrelevant
 * for shuffling a dataset. Uses Philox word 0 at counter (index) and key (seed ^ stream). */
static uint32_t draw_below(uint64_t seed, uint64_t stream, uint64_t index, uint32_t bound) {
    uint32_t ctr[4] = {(uint32_t)index, (uint32_t)(index >> 32), (uint32_t)stream, (uint32_t)(stream >> 32)};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t out[4];
    philox4x32_10(ctr, key, out);
    return (uint32_t)(((uint64_t)out[0] * bound) >> 32);
}

void shuffle_indices(int32_t *idx, int n, uint64_t seed, uint64_t stream) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)draw_below(seed, stream, (uint64_t)i, (uint32_t)i + 1);
        int32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

/* qsort has no context argument in C11, so the key travels with the index (a file-scope pointer
 * to the lengths would be shared by threads training or predicting in their own contexts). */
typedef struct keyed {
    long key; /* the length, negated for longest first */
    int32_t index;
} keyed;

static int by_key(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

mltc_status sort_by_length(mltc_error *err, int32_t *idx, size_t n, const int *lengths, int descending) {
    keyed *k = malloc(sizeof *k * (n ? n : 1));
    if (!k) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "no memory to sort %zu examples by length", n);
    for (size_t i = 0; i < n; i++) k[i] = (keyed){descending ? -(long)lengths[idx[i]] : lengths[idx[i]], idx[i]};
    qsort(k, n, sizeof *k, by_key);
    for (size_t i = 0; i < n; i++) idx[i] = k[i].index;
    free(k);
    return MLTC_OK;
}

mltc_status batch_plan_make(mltc_error *err, const int *lengths, int n, int batch_size, int pool_batches,
                            uint64_t seed, int epoch, batch_plan *out) {
    memset(out, 0, sizeof *out);
    if (!lengths || n <= 0) return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "batching: no examples");
    if (batch_size <= 0 || pool_batches <= 0)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "batching: batch size %d and pool %d must be > 0", batch_size,
                       pool_batches);
    int nb = (n + batch_size - 1) / batch_size;
    int32_t *order = malloc(sizeof *order * (size_t)n), *tmp = malloc(sizeof *tmp * (size_t)n);
    int *starts = malloc(sizeof *starts * ((size_t)nb + 1));
    int32_t *batch_ids = malloc(sizeof *batch_ids * (size_t)nb);
    if (!order || !tmp || !starts || !batch_ids) {
        free(order), free(tmp), free(starts), free(batch_ids);
        return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "batching: no memory for %d examples", n);
    }
    for (int i = 0; i < n; i++) order[i] = i;
    /* Stream 2*epoch shuffles examples, 2*epoch+1 shuffles batches. */
    shuffle_indices(order, n, seed, 2 * (uint64_t)epoch);
    long pool = (long)pool_batches * batch_size;
    mltc_status st = MLTC_OK;
    for (long p = 0; pool_batches > 1 && !st && p < n; p += pool) {
        long end = p + pool < n ? p + pool : n;
        st = sort_by_length(err, order + p, (size_t)(end - p), lengths, 1);
    }
    if (st) {
        free(order), free(tmp), free(starts), free(batch_ids);
        return st;
    }
    for (int b = 0; b < nb; b++) batch_ids[b] = b;
    shuffle_indices(batch_ids, nb, seed, 2 * (uint64_t)epoch + 1);
    int pos = 0;
    for (int b = 0; b < nb; b++) {
        int src = batch_ids[b] * batch_size, len = (src + batch_size < n ? batch_size : n - src);
        starts[b] = pos;
        memcpy(tmp + pos, order + src, sizeof *tmp * (size_t)len);
        pos += len;
    }
    starts[nb] = n;
    free(order);
    free(batch_ids);
    out->n_batches = nb;
    out->starts = starts;
    out->order = tmp;
    return MLTC_OK;
}

void batch_plan_free(batch_plan *p) {
    if (!p) return;
    free(p->starts);
    free(p->order);
    memset(p, 0, sizeof *p);
}
