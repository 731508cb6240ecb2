/*
 * Data parallel training: processes that train one model together, each on a share of every
 * step's batch, talking through the caller's mltc_comm (include/mltc.h). Every function here is
 * collective: every rank calls it at the same point of the run, whatever happened locally, so a
 * rank that failed still answers the others and none waits for ever. Without a communicator
 * (comm NULL) each is a no-op or the local value.
 */
#ifndef MLTC_RUN_DATA_PARALLEL_H
#define MLTC_RUN_DATA_PARALLEL_H

#include "model/classifier.h"
#include "run/dataset.h"
#include "run/metrics.h"

typedef struct dp_group {
    const mltc_comm *comm; /* NULL: one process */
    mltc_error *err;
    float *host;           /* a gradient buffer's host copy */
    size_t host_n;
    double *flags;         /* scratch for the small agreements */
    size_t flags_n;
    double comm_s;         /* seconds in the gradient sum (copies to and from the host included) */
    size_t floats_summed;  /* floats per gradient sum */
} dp_group;

/* Floats per call of comm->sum_floats and bytes per broadcast: the host memory an in-order sum
 * gathers on rank 0 stays N times this, and a big model needs no single message of its size. */
#define DP_BUCKET_FLOATS ((size_t)1 << 20)

void dp_init(dp_group *g, const mltc_comm *comm, mltc_error *err);
void dp_free(dp_group *g);
int dp_rank(const dp_group *g);
int dp_size(const dp_group *g);
/* This rank's share of n items, [*lo, *hi): consecutive, the ranks' shares in rank order cover
 * all n (all of them when alone). */
void dp_share(const dp_group *g, size_t n, size_t *lo, size_t *hi);

/* Every rank's status of `what`: the local one when it failed; else an error naming the first
 * rank that failed (its own message is on that rank's side); else MLTC_OK. */
mltc_status dp_agree(dp_group *g, mltc_status local, const char *what);

/* One step's forward-backward outcome: agrees on the status as dp_agree, and gathers the parts'
 * losses (each part is computed by one rank, the others hold zeros there) so every rank holds
 * all of them exactly. */
mltc_status dp_agree_step(dp_group *g, mltc_status local, clf_losses *parts, int n_parts, long step);

/* The gradients summed over the ranks, through host memory, in buckets. */
mltc_status dp_sum_grads(dp_group *g, classifier *c);

/* Rank 0's parameters and AdamW moments copied to every other rank. */
mltc_status dp_broadcast_state(dp_group *g, classifier *c);

/* Whether every rank's parameters hash as rank 0's do (a difference names the first rank). */
mltc_status dp_check_same(dp_group *g, classifier *c, long step);

/* Non-zero when any rank's flag is; *st the communicator's error, if any. */
int dp_any(dp_group *g, int flag, mltc_status *st);

/* Rank 0's bytes copied to every rank. */
mltc_status dp_broadcast(dp_group *g, void *data, size_t bytes);

/* Probabilities [n x K] of texts on every rank: each rank predicts a run of consecutive texts
 * (its share), and the rows are gathered (summed with the others' zeros: exact). */
mltc_status dp_predict_texts(dp_group *g, classifier *c, const char *const *texts, size_t n, int batch, float *probs);

/* evaluate_dataset with the predictions shared among the ranks; every rank gets the scores. */
mltc_status dp_evaluate(dp_group *g, classifier *c, const dataset *d, int batch, metrics *out);

#endif
