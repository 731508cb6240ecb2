/* The report's numbers (report_numbers.h). */
#include "report/report_numbers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/fileio.h"
#include "run/thresholds.h"

static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int push(void **a, int *n, int *cap, size_t size) {
    if (*n < *cap) return 1;
    int c = *cap ? 2 * *cap : 64;
    void *p = realloc(*a, (size_t)c * size);
    if (!p) return 0;
    *a = p, *cap = c;
    return 1;
}

mltc_status report_log_read(mltc_error *e, const char *path, report_log *out) {
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t size = 0;
    mltc_status st = file_read_all(e, path, (size_t)1 << 30, &text, &size);
    if (st) return st;
    int cap_s = 0, cap_e = 0;
    long line_no = 0;
    for (char *line = text; !st && *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        line_no++;
        char *next = end ? end + 1 : line + len;
        if (len == 0) {
            line = next;
            continue;
        }
        cJSON *o = cJSON_ParseWithLength(line, len);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
        if (!o || !cJSON_IsString(type)) {
            st = err_set(e, MLTC_ERR_PARSE, "%s:%ld: not a log line (a JSON object with a \"type\")", path, line_no);
        } else if (!strcmp(type->valuestring, "step")) {
            if (!push((void **)&out->steps, &out->n_steps, &cap_s, sizeof *out->steps))
                st = err_set(e, MLTC_ERR_OUT_OF_MEMORY, "%s: no memory", path);
            else
                out->steps[out->n_steps++] = (report_step){num(o, "step"), num(o, "epoch"), num(o, "loss"),
                                                           num(o, "bce"), num(o, "mlm"), num(o, "lr"),
                                                           num(o, "grad_norm")};
        } else if (!strcmp(type->valuestring, "eval")) {
            if (!push((void **)&out->evals, &out->n_evals, &cap_e, sizeof *out->evals))
                st = err_set(e, MLTC_ERR_OUT_OF_MEMORY, "%s: no memory", path);
            else
                out->evals[out->n_evals++] =
                    (report_eval){num(o, "epoch"), num(o, "step"), num(o, "micro_f1"), num(o, "macro_f1"),
                                  num(o, "threshold"), cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "best"))};
        }
        cJSON_Delete(o);
        line = next;
    }
    free(text);
    if (st) report_log_free(out);
    return st;
}

void report_log_free(report_log *l) {
    free(l->steps);
    free(l->evals);
    memset(l, 0, sizeof *l);
}

mltc_status report_threshold_sweep(mltc_error *e, const uint8_t *gold, const float *probs, size_t n, int K,
                                   int min_labels, report_sweep_point out[REPORT_SWEEP]) {
    threshold_counts c[THRESHOLD_GRID];
    TRY(threshold_sweep(e, gold, probs, n, K, min_labels, c));
    for (int g = 0; g < REPORT_SWEEP; g++) {
        long long tp = c[g].tp, fp = c[g].fp, fn = c[g].fn;
        double P = tp + fp ? (double)tp / (double)(tp + fp) : 0, R = tp + fn ? (double)tp / (double)(tp + fn) : 0;
        double F = 2 * tp + fp + fn ? 2.0 * (double)tp / (double)(2 * tp + fp + fn) : 0;
        out[g] = (report_sweep_point){threshold_grid(g + 1), P, R, F};
    }
    return MLTC_OK;
}

void report_pearson(const uint8_t *y, size_t n, int K, double *corr) {
    for (int i = 0; i < K; i++) {
        for (int j = i; j < K; j++) {
            double si = 0, sj = 0, sij = 0;
            for (size_t r = 0; r < n; r++) {
                int a = y[r * (size_t)K + i] != 0, b = y[r * (size_t)K + j] != 0;
                si += a, sj += b, sij += a && b;
            }
            /* For 0/1 columns: cov = sij/n - mi mj, var = mi (1 - mi). */
            double N = (double)n, mi = si / N, mj = sj / N;
            double vi = mi * (1 - mi), vj = mj * (1 - mj);
            double c = n > 0 && vi > 0 && vj > 0 ? (sij / N - mi * mj) / sqrt(vi * vj) : NAN;
            corr[(size_t)i * K + j] = corr[(size_t)j * K + i] = c;
        }
    }
}

mltc_status report_cluster_order(mltc_error *e, const double *corr, int K, int *order) {
    /* Cluster c's labels are members[c * K ..][0 .. size[c]); merging appends one to the other,
     * so the final cluster's list is the leaf order. */
    int *size = malloc(sizeof *size * (size_t)K), *members = malloc(sizeof *members * (size_t)K * (size_t)K);
    double *sim = malloc(sizeof *sim * (size_t)K * (size_t)K); /* mean correlation between clusters */
    if (!size || !members || !sim) {
        free(size), free(members), free(sim);
        return err_set(e, MLTC_ERR_OUT_OF_MEMORY, "report: no memory to order %d labels", K);
    }
    for (int c = 0; c < K; c++) {
        size[c] = 1;
        members[(size_t)c * K] = c;
        for (int d = 0; d < K; d++) {
            double v = corr[(size_t)c * K + d];
            sim[(size_t)c * K + d] = isnan(v) ? 0.0 : v;
        }
    }
    for (int alive = K; alive > 1; alive--) {
        int bi = -1, bj = -1;
        double best = -INFINITY;
        for (int i = 0; i < K; i++)
            for (int j = i + 1; size[i] && j < K; j++)
                if (size[j] && sim[(size_t)i * K + j] > best) best = sim[(size_t)i * K + j], bi = i, bj = j;
        /* Average linkage: the merged cluster's similarity to another is the size-weighted mean. */
        for (int c = 0; c < K; c++) {
            if (!size[c] || c == bi || c == bj) continue;
            double v = (size[bi] * sim[(size_t)bi * K + c] + size[bj] * sim[(size_t)bj * K + c]) / (size[bi] + size[bj]);
            sim[(size_t)bi * K + c] = sim[(size_t)c * K + bi] = v;
        }
        memcpy(members + (size_t)bi * K + size[bi], members + (size_t)bj * K, sizeof *members * (size_t)size[bj]);
        size[bi] += size[bj];
        size[bj] = 0;
    }
    for (int c = 0; c < K; c++)
        if (size[c] == K) memcpy(order, members + (size_t)c * K, sizeof *order * (size_t)K);
    free(size), free(members), free(sim);
    return MLTC_OK;
}
