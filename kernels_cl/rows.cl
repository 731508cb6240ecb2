/* Row gather (embeddings, [CLS] / label positions) and its deterministic scatter-add. */

/* An index outside the table reads as a zero row, as on the CPU (a kernel cannot report it). */
__kernel void gather_rows(__global float *y, ulong yo, __global const float *table, ulong to,
                          __global const int *idx, ulong io, int n, int cols, int table_rows, float beta) {
    size_t i = get_global_id(0);
    if (i >= (size_t)n * cols) return;
    size_t row = i / (size_t)cols, c = i % (size_t)cols;
    int r = idx[io + row];
    float t = (r >= 0 && r < table_rows) ? table[to + (size_t)r * cols + c] : 0.0f;
    y[yo + i] = (beta != 0.0f ? y[yo + i] : 0.0f) + t;
}

/* One work-item per (segment, column): sums its source rows in plan order, then adds. No two
 * work-items write the same element (segment rows are distinct), so no atomics. */
__kernel void scatter_add_rows(__global float *dst, ulong dsto, __global const float *src, ulong srco,
                               __global const int *rows, ulong rowso, __global const int *starts, ulong startso,
                               __global const int *order, ulong ordero, int nseg, int cols, ulong cap_rows) {
    size_t i = get_global_id(0);
    if (i >= (size_t)nseg * cols) return;
    int sgm = (int)(i / (size_t)cols), c = (int)(i % (size_t)cols);
    int row = rows[rowso + sgm];
    if (row < 0 || (ulong)row >= cap_rows) return;
    float acc = 0.0f;
    for (int p = starts[startso + sgm]; p < starts[startso + sgm + 1]; p++)
        acc += src[srco + (size_t)order[ordero + p] * cols + c];
    dst[dsto + (size_t)row * cols + c] += acc;
}
