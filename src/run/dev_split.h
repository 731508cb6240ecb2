/* A dev set carved out of the training data when the user gives none: a share of the examples,
 * drawn under a seed, stratified so that every label frequent enough to have a share in the dev
 * set (share x its examples >= 0.5) gets that share, rarest labels first. The algorithm is
 * portable on purpose (splitmix64 and integer steps only): tools/reference/recipe.py repeats it
 * exactly, so the PyTorch reference trains and tunes on the same examples.
 *
 *   order   a Fisher-Yates shuffle of 0..N-1: for i = N-1..1, j = next() % (i + 1)
 *   target  D = floor(share N + 0.5), within [1, N - 1]
 *   labels  in order of (training count, index): need = floor(share count + 0.5); walk `order`
 *           choosing examples of the label until the dev set holds `need` of them
 *   rest    walk `order` choosing any example until the dev set holds D
 * The dev and training sets keep the file's order. */
#ifndef MLTC_RUN_DEV_SPLIT_H
#define MLTC_RUN_DEV_SPLIT_H

#include <stdint.h>

#include "run/dataset.h"

/* chosen[N] = 1 for the examples of d that form the dev set. */
mltc_status dev_split_choose(mltc_error *e, const dataset *d, double share, uint64_t seed, uint8_t *chosen);

/* Moves the dev set out of *train (which keeps the rest) into *dev. share in (0, 0.5]; a set of
 * fewer than 2 examples cannot be split (MLTC_ERR_INVALID_ARGUMENT). */
mltc_status dev_split(mltc_error *e, dataset *train, double share, uint64_t seed, dataset *dev);

#endif
