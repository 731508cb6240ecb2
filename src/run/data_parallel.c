/* Data parallel training's collectives over an mltc_comm (see data_parallel.h). */
#include "run/data_parallel.h"

#include "run/evaluate.h"
#include "core/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dp_init(dp_group *g, const mltc_comm *comm, mltc_error *err) {
    memset(g, 0, sizeof *g);
    g->comm = comm && comm->size > 1 ? comm : NULL;
    g->err = err;
}

void dp_free(dp_group *g) {
    free(g->host);
    free(g->flags);
    g->host = NULL;
    g->flags = NULL;
}

int dp_rank(const dp_group *g) { return g->comm ? g->comm->rank : 0; }
int dp_size(const dp_group *g) { return g->comm ? g->comm->size : 1; }

void dp_share(const dp_group *g, size_t n, size_t *lo, size_t *hi) {
    size_t size = (size_t)dp_size(g), rank = (size_t)dp_rank(g);
    *lo = n * rank / size, *hi = n * (rank + 1) / size;
}

static mltc_status comm_failed(dp_group *g, const char *call, int code) {
    const char *why = g->comm->describe ? g->comm->describe(g->comm->user, code) : NULL;
    return err_set(g->err, MLTC_ERR_DEVICE, "rank %d: the communicator's %s failed (code %d%s%s)", g->comm->rank, call,
                   code, why ? ": " : "", why ? why : "");
}

static double *flags(dp_group *g, size_t n) {
    if (n > g->flags_n) {
        double *p = realloc(g->flags, sizeof *p * n);
        if (!p) return NULL;
        g->flags = p;
        g->flags_n = n;
    }
    memset(g->flags, 0, sizeof *g->flags * n);
    return g->flags;
}

/* v[0..size): 1 where that rank failed; then `extra` values. */
static mltc_status agree_with(dp_group *g, mltc_status local, const char *what, double *v, size_t n) {
    int size = g->comm->size;
    v[g->comm->rank] = local != MLTC_OK;
    int rc = g->comm->sum_doubles(g->comm->user, v, n);
    if (local) return local;
    if (rc) return comm_failed(g, "sum_doubles", rc);
    for (int r = 0; r < size; r++)
        if (v[r] != 0)
            return err_set(g->err, MLTC_ERR_DEVICE, "%s: rank %d of %d failed (its own error says why); rank %d stops too",
                           what, r, size, g->comm->rank);
    return MLTC_OK;
}

mltc_status dp_agree(dp_group *g, mltc_status local, const char *what) {
    if (!g->comm) return local;
    double *v = flags(g, (size_t)g->comm->size);
    if (!v) return local ? local : err_set(g->err, MLTC_ERR_OUT_OF_MEMORY, "%s: no memory", what);
    return agree_with(g, local, what, v, (size_t)g->comm->size);
}

mltc_status dp_agree_step(dp_group *g, mltc_status local, clf_losses *parts, int n_parts, long step) {
    if (!g->comm) return local;
    size_t size = (size_t)g->comm->size, n = size + 3 * (size_t)n_parts;
    double *v = flags(g, n);
    if (!v) return local ? local : err_set(g->err, MLTC_ERR_OUT_OF_MEMORY, "train step %ld: no memory", step);
    /* A part's losses come from the one rank that ran it, zeros from the others: the sum is
     * exact whatever order the communicator adds in. */
    if (!local)
        for (int i = 0; i < n_parts; i++) {
            v[size + 3 * (size_t)i] = parts[i].bce;
            v[size + 3 * (size_t)i + 1] = parts[i].mlm;
            v[size + 3 * (size_t)i + 2] = parts[i].total;
        }
    char what[64];
    snprintf(what, sizeof what, "train step %ld", step);
    mltc_status st = agree_with(g, local, what, v, n);
    if (st) return st;
    for (int i = 0; i < n_parts; i++)
        parts[i] = (clf_losses){v[size + 3 * (size_t)i], v[size + 3 * (size_t)i + 1], v[size + 3 * (size_t)i + 2]};
    return MLTC_OK;
}

static double now_s(void) { return plat_seconds(); }

static mltc_status host_room(dp_group *g, size_t n) {
    if (n <= g->host_n) return MLTC_OK;
    float *p = realloc(g->host, sizeof *p * n);
    if (!p) return err_set(g->err, MLTC_ERR_OUT_OF_MEMORY, "data parallel: no host memory for %zu floats", n);
    g->host = p;
    g->host_n = n;
    return MLTC_OK;
}

mltc_status dp_sum_grads(dp_group *g, classifier *c) {
    if (!g->comm) return MLTC_OK;
    double t0 = now_s();
    dev_ctx *d = classifier_device(c);
    clf_flat f[2];
    int nf = classifier_flat_grads(c, f);
    size_t total = 0;
    for (int i = 0; i < nf; i++) {
        TRY(host_room(g, f[i].n));
        TRY(dev_download(d, f[i].buf, 0, g->host, 4 * f[i].n));
        for (size_t at = 0; at < f[i].n; at += DP_BUCKET_FLOATS) {
            size_t n = f[i].n - at < DP_BUCKET_FLOATS ? f[i].n - at : DP_BUCKET_FLOATS;
            int rc = g->comm->sum_floats(g->comm->user, g->host + at, n);
            if (rc) return comm_failed(g, "sum_floats", rc);
        }
        TRY(dev_upload(d, f[i].buf, 0, g->host, 4 * f[i].n));
        total += f[i].n;
    }
    g->floats_summed = total;
    g->comm_s += now_s() - t0;
    return MLTC_OK;
}

mltc_status dp_broadcast(dp_group *g, void *data, size_t bytes) {
    if (!g->comm) return MLTC_OK;
    for (size_t at = 0; at < bytes; at += 4 * DP_BUCKET_FLOATS) {
        size_t n = bytes - at < 4 * DP_BUCKET_FLOATS ? bytes - at : 4 * DP_BUCKET_FLOATS;
        int rc = g->comm->broadcast(g->comm->user, (char *)data + at, n, 0);
        if (rc) return comm_failed(g, "broadcast", rc);
    }
    return MLTC_OK;
}

mltc_status dp_broadcast_state(dp_group *g, classifier *c) {
    if (!g->comm) return MLTC_OK;
    dev_ctx *d = classifier_device(c);
    clf_flat f[6];
    int nf = classifier_flat_state(c, f);
    for (int i = 0; i < nf; i++) {
        TRY(host_room(g, f[i].n));
        if (g->comm->rank == 0) TRY(dev_download(d, f[i].buf, 0, g->host, 4 * f[i].n));
        TRY(dp_broadcast(g, g->host, 4 * f[i].n));
        if (g->comm->rank != 0) TRY(dev_upload(d, f[i].buf, 0, g->host, 4 * f[i].n));
    }
    return MLTC_OK;
}

/* FNV-1a over 32-bit words: equal parameters give equal hashes, bit for bit. */
static uint64_t hash_words(uint64_t h, const float *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t w;
        memcpy(&w, &p[i], 4);
        h = (h ^ w) * 0x100000001B3ull;
    }
    return h;
}

mltc_status dp_check_same(dp_group *g, classifier *c, long step) {
    if (!g->comm) return MLTC_OK;
    dev_ctx *d = classifier_device(c);
    clf_flat f[6];
    int nf = classifier_flat_state(c, f);
    uint64_t h = 0xCBF29CE484222325ull;
    mltc_status st = MLTC_OK;
    for (int i = 0; !st && i < 2 && i < nf; i++) { /* the parameters: the moments follow from them */
        st = host_room(g, f[i].n);
        if (!st) st = dev_download(d, f[i].buf, 0, g->host, 4 * f[i].n);
        if (!st) h = hash_words(h, g->host, f[i].n);
    }
    char what[96];
    snprintf(what, sizeof what, "checking that the ranks' parameters agree at step %ld", step);
    st = dp_agree(g, st, what);
    if (st) return st;
    uint64_t root = h;
    TRY(dp_broadcast(g, &root, sizeof root));
    int size = g->comm->size;
    double *v = flags(g, (size_t)size);
    if (!v) return err_set(g->err, MLTC_ERR_OUT_OF_MEMORY, "%s: no memory", what);
    v[g->comm->rank] = root != h;
    int rc = g->comm->sum_doubles(g->comm->user, v, (size_t)size);
    if (rc) return comm_failed(g, "sum_doubles", rc);
    for (int r = 0; r < size; r++)
        if (v[r] != 0)
            return err_set(g->err, MLTC_ERR_DEVICE,
                           "step %ld: rank %d's parameters differ from rank 0's (their hashes differ): the ranks' "
                           "devices do not compute alike, so the run stops before saving",
                           step, r);
    return MLTC_OK;
}

int dp_any(dp_group *g, int flag, mltc_status *st) {
    *st = MLTC_OK;
    if (!g->comm) return flag;
    double v = flag != 0;
    int rc = g->comm->sum_doubles(g->comm->user, &v, 1);
    if (rc) {
        *st = comm_failed(g, "sum_doubles", rc);
        return 1;
    }
    return v != 0;
}

mltc_status dp_predict_texts(dp_group *g, classifier *c, const char *const *texts, size_t n, int batch, float *probs) {
    if (!g->comm) return predict_texts(c, texts, n, batch, probs);
    size_t K = (size_t)classifier_num_labels(c), lo, hi;
    dp_share(g, n, &lo, &hi);
    memset(probs, 0, sizeof *probs * n * K);
    mltc_status st = hi > lo ? predict_texts(c, texts + lo, hi - lo, batch, probs + lo * K) : MLTC_OK;
    TRY(dp_agree(g, st, "predicting"));
    for (size_t at = 0; at < n * K; at += DP_BUCKET_FLOATS) {
        size_t m = n * K - at < DP_BUCKET_FLOATS ? n * K - at : DP_BUCKET_FLOATS;
        int rc = g->comm->sum_floats(g->comm->user, probs + at, m);
        if (rc) return comm_failed(g, "sum_floats", rc);
    }
    return MLTC_OK;
}

mltc_status dp_evaluate(dp_group *g, classifier *c, const dataset *d, int batch, metrics *out) {
    if (!g->comm) return evaluate_dataset(c, d, batch, out, NULL);
    size_t K = (size_t)classifier_num_labels(c);
    float *probs = malloc(sizeof *probs * (d->n ? d->n : 1) * K);
    const char **texts = malloc(sizeof *texts * (d->n ? d->n : 1));
    mltc_status st = probs && texts ? MLTC_OK : err_set(g->err, MLTC_ERR_OUT_OF_MEMORY, "evaluating: no memory");
    st = dp_agree(g, st, "evaluating");
    for (size_t i = 0; !st && i < d->n; i++) texts[i] = d->ex[i].text;
    if (!st) st = dp_predict_texts(g, c, texts, d->n, batch, probs);
    if (!st) st = score_probs(c, d, probs, out);
    free(probs);
    free(texts);
    return st;
}
