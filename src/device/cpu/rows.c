/* CPU row gather (embeddings, [CLS] / label positions) and its deterministic scatter-add. */
#include "device/cpu/internal.h"

mltc_status cpu_gather_rows(dev_ctx *ctx, dev_view yv, dev_view tablev, dev_view idxv, int n, int cols,
                            int table_rows, float beta) {
    float *y = cpu_f(yv);
    const float *table = cpu_f(tablev);
    const int32_t *idx = cpu_i(idxv);
#pragma omp parallel for
    for (int i = 0; i < n; i++) {
        float *yr = y + (size_t)i * cols;
        int32_t r = idx[i];
        /* An index outside the table reads as a zero row (GPU backends cannot report it). */
        const float *tr = (r >= 0 && r < table_rows) ? table + (size_t)r * cols : NULL;
        for (int c = 0; c < cols; c++) yr[c] = (beta != 0.0f ? yr[c] : 0.0f) + (tr ? tr[c] : 0.0f);
    }
    return MLTC_OK;
}

mltc_status cpu_scatter_add_rows(dev_ctx *ctx, dev_view dstv, dev_view srcv, const dev_rows_plan *plan, int cols) {
    float *dst = cpu_f(dstv);
    const float *src = cpu_f(srcv);
    const int32_t *rows = cpu_i(plan->rows), *starts = cpu_i(plan->starts), *order = cpu_i(plan->order);
    size_t cap_rows = (dstv.buf->bytes / 4 - dstv.off) / (size_t)cols;
#pragma omp parallel for
    for (int s = 0; s < plan->nseg; s++) {
        if (rows[s] < 0 || (size_t)rows[s] >= cap_rows) continue;
        float *dr = dst + (size_t)rows[s] * cols;
        for (int c = 0; c < cols; c++) {
            float acc = 0.0f;
            for (int p = starts[s]; p < starts[s + 1]; p++) acc += src[(size_t)order[p] * cols + c];
            dr[c] += acc;
        }
    }
    return MLTC_OK;
}
