/* Vulkan-specific behaviour: many ops recorded and run by one sync, uploads ordered with the
 * ops around them, overlapping copies, the per-buffer size limit and its message, reuse of
 * sub-allocated memory (and no reuse while a batch may still read it), and GEMM at odd
 * shapes, transposes and batches against a double-precision reference. Exits 77 when no
 * Vulkan device is present. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#ifndef MLTC_HAVE_VULKAN
int main(void) {
    printf("SKIP: this build has no Vulkan backend (MLTC_WITH_VULKAN=OFF)\n");
    return TU_SKIP;
}
#else
#include "device/vulkan/internal.h"

static dev_ctx *ctx;
static mltc_error err;

static void test_chain(void) {
    /* y = 0.5*y + b, 200 times, each depending on the last: wrong barriers or per-op
     * reordering would show up as a wrong sum. */
    enum { N = 1000, STEPS = 200 };
    float *hy = malloc(N * 4), *hb = malloc(N * 4);
    double *want = malloc(N * sizeof *want);
    tu_fill_uniform(hy, N, -1, 1);
    tu_fill_uniform(hb, N, -1, 1);
    dev_buf *y = tu_buf(ctx, hy, N), *b = tu_buf(ctx, hb, N);
    tu_must(dev_sync(ctx), &err, "sync the uploads");
    long waits = ctx->counts.host_waits;
    for (int i = 0; i < N; i++) want[i] = hy[i];
    for (int s = 0; s < STEPS; s++) {
        tu_must(dev_axpby(ctx, tu_v(y), 0.5f, tu_v(y), 1.0f, tu_v(b), N), &err, "axpby");
        for (int i = 0; i < N; i++) want[i] = (float)(0.5f * (float)want[i] + hb[i]);
    }
    vk_ctx *c = (vk_ctx *)ctx;
    /* Recorded in chunks, the full ones submitted early, and no wait for any of them. */
    tu_check(c->recording && c->nsubmitted * VK_CHUNK_COMMANDS + c->commands >= STEPS &&
                 c->nsubmitted == STEPS / VK_CHUNK_COMMANDS && ctx->counts.host_waits == waits,
             "200 axpby recorded before sync (recording %d, %d chunks submitted, %d commands, %ld waits)",
             c->recording, c->nsubmitted, c->commands, ctx->counts.host_waits - waits);
    tu_must(dev_sync(ctx), &err, "sync");
    tu_check(!c->recording && c->nsubmitted == 0 && ctx->counts.host_waits == waits + 1,
             "sync submitted the batch and waited once");
    float *got = tu_get(ctx, y, N);
    tu_close("chain of 200 axpby", got, want, N, 1e-5, 1e-5);
    free(got);
    free(hy);
    free(hb);
    free(want);
    dev_free(ctx, y);
    dev_free(ctx, b);
}

static void test_long_batch(void) {
    /* More dispatches than the chunks in flight hold: the recorder submits chunks on its own,
     * waits when too many are in flight, and keeps the order. */
    enum { N = 10, STEPS = VK_CHUNK_COMMANDS * VK_MAX_CHUNKS + 500 };
    float h[N];
    double want[N];
    for (int i = 0; i < N; i++) {
        h[i] = (float)i;
        want[i] = i + STEPS;
    }
    dev_buf *y = tu_buf(ctx, h, N), *one = tu_buf(ctx, NULL, N);
    tu_must(dev_fill(ctx, tu_v(one), N, 1.0f), &err, "fill");
    for (int s = 0; s < STEPS; s++) tu_must(dev_axpby(ctx, tu_v(y), 1.0f, tu_v(y), 1.0f, tu_v(one), N), &err, "axpby");
    vk_ctx *c = (vk_ctx *)ctx;
    tu_check(c->commands <= VK_CHUNK_COMMANDS && c->nsubmitted < VK_MAX_CHUNKS,
             "chunks of %d commands, at most %d in flight: now %d recorded, %d in flight", VK_CHUNK_COMMANDS,
             VK_MAX_CHUNKS, c->commands, c->nsubmitted);
    float *got = tu_get(ctx, y, N);
    tu_close("chain longer than one batch", got, want, N, 0, 0);
    free(got);
    dev_free(ctx, y);
    dev_free(ctx, one);
}

static void test_disjoint_ranges(void) {
    /* Dispatches on disjoint ranges of one buffer are independent and share a barrier; one that
     * reads a range an earlier one wrote, or writes a range one read, gets a barrier first. */
    enum { N = 64, PARTS = 8 };
    float h[3 * PARTS * N];
    for (int i = 0; i < 3 * PARTS * N; i++) h[i] = (float)(i % 97);
    dev_buf *b = tu_buf(ctx, h, 3 * PARTS * N); /* [x parts | y parts | z parts] */
    tu_must(dev_sync(ctx), &err, "sync the upload");
    dev_view x = {b, 0}, y = {b, PARTS * N}, z = {b, 2 * PARTS * N};
    long b0 = ctx->counts.barriers;
    for (int p = 0; p < PARTS; p++) /* y_p = 2 x_p: reads and writes no other part's bytes */
        tu_must(dev_axpby(ctx, dev_at(y, p * N), 2.0f, dev_at(x, p * N), 0.0f, dev_at(x, p * N), N), &err, "axpby");
    long independent = ctx->counts.barriers - b0;
    /* z_0 = y_0 + y_1: reads what two of them wrote (one barrier); then x_0 = z_0 rewrites what the
     * first read and this one wrote (another). */
    tu_must(dev_axpby(ctx, z, 1.0f, y, 1.0f, dev_at(y, N), N), &err, "dependent axpby");
    tu_must(dev_copy(ctx, x, z, N), &err, "copy back");
    long dependent = ctx->counts.barriers - b0 - independent;
    tu_check(independent == 0, "%d dispatches on disjoint ranges took %ld barriers (want 0)", PARTS, independent);
    tu_check(dependent == 2, "two dependent commands took %ld barriers (want 2)", dependent);
    float *got = tu_get(ctx, b, 3 * PARTS * N);
    int bad = 0;
    for (int p = 0; p < PARTS && !bad; p++)
        for (int i = 0; i < N && !bad; i++) {
            float want = 2.0f * h[p * N + i];
            bad = got[PARTS * N + p * N + i] != want;
        }
    for (int i = 0; i < N && !bad; i++) {
        float want = 2.0f * h[i] + 2.0f * h[N + i];
        bad = got[2 * PARTS * N + i] != want || got[i] != want;
    }
    tu_check(!bad, "disjoint-range dispatches computed wrong values");
    free(got);
    dev_free(ctx, b);
}

static void test_upload_order(void) {
    /* An upload recorded after an op that reads the buffer must not change what the op saw. */
    enum { N = 300 };
    float h1[N], h2[N];
    double want1[N], want2[N];
    for (int i = 0; i < N; i++) {
        h1[i] = (float)i;
        h2[i] = (float)(-3 * i);
        want1[i] = 2.0 * i;
        want2[i] = -3.0 * i;
    }
    dev_buf *x = tu_buf(ctx, h1, N), *y = tu_zeros(ctx, N);
    tu_must(dev_axpby(ctx, tu_v(y), 2.0f, tu_v(x), 0.0f, tu_v(x), N), &err, "axpby");
    tu_must(dev_upload(ctx, x, 0, h2, sizeof h2), &err, "upload");
    memset(h2, 0, sizeof h2); /* host memory may be reused as soon as upload returns */
    float *gy = tu_get(ctx, y, N), *gx = tu_get(ctx, x, N);
    tu_close("op before upload sees old data", gy, want1, N, 0, 0);
    tu_close("upload lands after the op", gx, want2, N, 0, 0);
    free(gy);
    free(gx);

    /* Partial download at a byte offset. */
    float part[10];
    tu_must(dev_download(ctx, x, 40 * 4, part, sizeof part), &err, "download part");
    tu_close("download at offset", part, want2 + 40, 10, 0, 0);

    /* Overlapping copy inside one buffer behaves like memmove, both directions. */
    for (int i = 0; i < N; i++) h1[i] = (float)i;
    tu_must(dev_upload(ctx, x, 0, h1, sizeof h1), &err, "upload");
    tu_must(dev_copy(ctx, (dev_view){x, 10}, (dev_view){x, 0}, 100), &err, "copy forward overlap");
    tu_must(dev_copy(ctx, (dev_view){x, 200}, (dev_view){x, 205}, 50), &err, "copy backward overlap");
    for (int i = 0; i < N; i++) want1[i] = i;
    for (int i = 0; i < 100; i++) want1[10 + i] = i;
    for (int i = 0; i < 50; i++) want1[200 + i] = 205 + i;
    gx = tu_get(ctx, x, N);
    tu_close("overlapping copies", gx, want1, N, 0, 0);
    free(gx);
    dev_free(ctx, x);
    dev_free(ctx, y);
}

static void test_limits(void) {
    vk_ctx *c = (vk_ctx *)ctx;
    size_t too_big = (size_t)c->max_buffer + 4;
    too_big -= too_big % 4;
    dev_buf *b = NULL;
    mltc_status st = dev_alloc(ctx, too_big, &b);
    tu_status(st, MLTC_ERR_OUT_OF_MEMORY, &err, "oversize allocation");
    tu_check(strstr(err.msg, "maxMemoryAllocationSize") != NULL && strstr(err.msg, "bytes") != NULL,
             "oversize message names the limit: %s", err.msg);
    tu_check(b == NULL, "no buffer returned on failure");
    /* The context still works afterwards. */
    float one = 1.0f;
    dev_buf *s = tu_buf(ctx, &one, 1);
    float *g = tu_get(ctx, s, 1);
    double w = 1.0;
    tu_close("context usable after a failed allocation", g, &w, 1, 0, 0);
    free(g);
    dev_free(ctx, s);
}

static void test_suballoc(void) {
    vk_ctx *c = (vk_ctx *)ctx;
    tu_must(dev_sync(ctx), &err, "sync");
    int blocks_before = c->nblocks;
    dev_buf *a = tu_buf(ctx, NULL, 1 << 18), *b = tu_buf(ctx, NULL, 1 << 18);
    tu_check(vk_b(a)->block == vk_b(b)->block, "two 1 MiB buffers share a block (%d, %d)", vk_b(a)->block,
             vk_b(b)->block);
    tu_check(c->nblocks == blocks_before || blocks_before == 0, "no new block for small buffers (%d -> %d)",
             blocks_before, c->nblocks);
    int blk = vk_b(a)->block;
    VkDeviceSize off = vk_b(a)->off;
    dev_free(ctx, a);
    dev_buf *a2 = tu_buf(ctx, NULL, 1 << 18);
    tu_check(vk_b(a2)->block == blk && vk_b(a2)->off == off, "freed range reused (offset %llu, got %llu)",
             (unsigned long long)off, (unsigned long long)vk_b(a2)->off);

    /* Freed while a pending op reads it: the memory must not be handed out before the sync. */
    tu_must(dev_fill(ctx, tu_v(a2), 1 << 18, 3.0f), &err, "fill");
    tu_must(dev_axpby(ctx, tu_v(b), 1.0f, tu_v(a2), 0.0f, tu_v(a2), 1 << 18), &err, "axpby");
    VkDeviceSize off2 = vk_b(a2)->off;
    dev_free(ctx, a2);
    dev_buf *d = tu_buf(ctx, NULL, 1 << 18);
    tu_check(!(vk_b(d)->block == blk && vk_b(d)->off == off2), "memory of a buffer freed mid-batch not reused early");
    tu_must(dev_fill(ctx, tu_v(d), 1 << 18, -1.0f), &err, "fill");
    float *g = tu_get(ctx, b, 1 << 18);
    int ok = 1;
    for (int i = 0; i < (1 << 18); i++) ok &= g[i] == 3.0f;
    tu_check(ok, "op reading a buffer freed before sync saw its data");
    free(g);
    dev_free(ctx, d);
    dev_free(ctx, b);

    /* Many alloc/free cycles do not grow the number of blocks. */
    tu_must(dev_sync(ctx), &err, "sync");
    int nb = c->nblocks;
    for (int i = 0; i < 200; i++) {
        dev_buf *t = tu_buf(ctx, NULL, (size_t)(1 + i % 7) * 10000);
        dev_free(ctx, t);
    }
    tu_check(c->nblocks == nb, "alloc/free cycles keep %d block(s), now %d", nb, c->nblocks);
}

/* A buffer larger than maxStorageBufferRange (one flat parameter buffer): dispatches bind
 * windows of it. Elementwise ops and sumsq split into pieces; other ops work on views
 * anywhere in it as long as one operand fits a window; a larger operand is refused. */
static void test_window(void) {
    vk_ctx *c = (vk_ctx *)ctx;
    size_t range = c->props.limits.maxStorageBufferRange / 4, n = range + 300001;
    /* Devices with a range of gigabytes are not worth filling for this (nor is one whose
     * allocation limit equals its range); lavapipe's 128 MiB range is where it runs. */
    if ((n + 1) * 4 > c->max_buffer || range * 4 > ((size_t)512 << 20)) {
        printf("note: window test skipped (maxStorageBufferRange %zu bytes, maxMemoryAllocationSize %llu)\n",
               range * 4, (unsigned long long)c->max_buffer);
        return;
    }
    dev_buf *big = NULL;
    if (!tu_status(dev_alloc(ctx, n * 4, &big), MLTC_OK, &err, "alloc above maxStorageBufferRange")) return;
    tu_must(dev_fill(ctx, tu_v(big), n, 1.0f), &err, "fill");
    tu_must(dev_axpby(ctx, tu_v(big), 2.0f, tu_v(big), 0.5f, tu_v(big), n), &err, "axpby whole buffer");
    dev_buf *s = tu_zeros(ctx, 1);
    tu_must(dev_sumsq(ctx, tu_v(s), tu_v(big), n), &err, "sumsq whole buffer");
    /* Probes: the start, both sides of the first piece's end, the end. */
    size_t w = vk_window_elems(c), probe[] = {0, w - 1, w, n - 1};
    for (int i = 0; i < 4; i++) {
        float v = 0;
        tu_must(dev_download(ctx, big, probe[i] * 4, &v, 4), &err, "download probe");
        tu_check(v == 2.5f, "axpby over %zu elements (2 pieces): element %zu = %g, expected 2.5", n, probe[i], v);
    }
    float got = 0;
    tu_must(dev_download(ctx, s, 0, &got, 4), &err, "download sumsq");
    tu_check(got == (float)(6.25 * (double)n), "sumsq over the large buffer: %.9g, expected %.9g", got, 6.25 * n);

    /* GEMM and GELU on views past the first window. */
    enum { M = 5, K = 7, N = 3 };
    float ha[M * K], hb[K * N];
    tu_fill_uniform(ha, M * K, -1, 1);
    tu_fill_uniform(hb, K * N, -1, 1);
    size_t oa = n - 1000, ob = n - 500, oc = range + 17; /* oc: past the first window */
    tu_must(dev_upload(ctx, big, oa * 4, ha, sizeof ha), &err, "upload");
    tu_must(dev_upload(ctx, big, ob * 4, hb, sizeof hb), &err, "upload");
    dev_gemm g = {0, 0, M, N, K, 1.0f, 0.0f, {big, oa}, {big, ob}, {big, oc}, K, N, N, 0, 0, 0, 1, {NULL, 0}, 0, 0, 0, 0};
    tu_must(dev_matmul(ctx, &g), &err, "matmul on views of a large buffer");
    tu_must(dev_gelu_forward(ctx, (dev_view){big, oc}, (dev_view){big, oc}, M * N), &err, "gelu in place");
    float hc[M * N];
    double want[M * N];
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0;
            for (int p = 0; p < K; p++) acc += (double)ha[i * K + p] * hb[p * N + j];
            want[i * N + j] = 0.5 * acc * (1 + erf(acc / sqrt(2.0)));
        }
    tu_must(dev_download(ctx, big, oc * 4, hc, sizeof hc), &err, "download");
    tu_close("gemm + gelu on views past the first window", hc, want, M * N, 1e-5, 1e-5);

    /* One operand larger than a window, in an op that does not split: refused, named. */
    dev_buf *bias = tu_zeros(ctx, 1);
    mltc_status st = dev_bias_add(ctx, tu_v(big), tu_v(bias), (int)n, 1);
    tu_status(st, MLTC_ERR_INVALID_ARGUMENT, &err, "bias_add over more than one window");
    tu_check(strstr(err.msg, "maxStorageBufferRange") != NULL, "message names the limit: %s", err.msg);
    tu_must(dev_sync(ctx), &err, "sync after a refused op");
    dev_free(ctx, bias);
    dev_free(ctx, s);
    dev_free(ctx, big);
}

/* C = alpha op(A) op(B) + beta C in double, batch included. */
static void gemm_ref(const dev_gemm *g, const float *a, const float *b, const float *c0, double *c) {
    for (int z = 0; z < g->batch; z++)
        for (int i = 0; i < g->m; i++)
            for (int j = 0; j < g->n; j++) {
                double s = 0;
                for (int p = 0; p < g->k; p++) {
                    double av = g->trans_a ? a[z * g->stride_a + (long)p * g->lda + i] : a[z * g->stride_a + (long)i * g->lda + p];
                    double bv = g->trans_b ? b[z * g->stride_b + (long)j * g->ldb + p] : b[z * g->stride_b + (long)p * g->ldb + j];
                    s += av * bv;
                }
                long ci = z * g->stride_c + (long)i * g->ldc + j;
                c[ci] = g->alpha * s + (g->beta != 0.0f ? g->beta * (double)c0[ci] : 0.0);
            }
}

static void gemm_case(int m, int n, int k, int ta, int tb, int batch, float alpha, float beta, int pad) {
    dev_gemm g = {.trans_a = ta, .trans_b = tb, .m = m, .n = n, .k = k, .alpha = alpha, .beta = beta, .batch = batch};
    g.lda = (ta ? m : k) + pad;
    g.ldb = (tb ? k : n) + pad;
    g.ldc = n + pad;
    long arows = ta ? k : m, brows = tb ? n : k;
    g.stride_a = arows * g.lda + 3; /* gaps between problems must stay untouched */
    g.stride_b = brows * g.ldb + 5;
    g.stride_c = (long)m * g.ldc + 7;
    size_t na = (size_t)g.stride_a * batch + 2, nb = (size_t)g.stride_b * batch + 1, nc = (size_t)g.stride_c * batch;
    float *ha = malloc(na * 4), *hb = malloc(nb * 4), *hc = malloc(nc * 4);
    double *want = malloc(nc * sizeof *want);
    tu_fill_uniform(ha, na, -1, 1);
    tu_fill_uniform(hb, nb, -1, 1);
    tu_fill_uniform(hc, nc, -1, 1);
    if (beta == 0.0f) /* beta == 0 must not read C: NaN there must not leak into the result */
        for (size_t i = 0; i < nc; i++)
            if (i % 3 == 0) hc[i] = NAN;
    for (size_t i = 0; i < nc; i++) want[i] = hc[i];
    /* Elements of C outside the m x n windows keep their values (even NaN). */
    gemm_ref(&g, ha + 2, hb + 1, hc, want);
    dev_buf *A = tu_buf(ctx, ha, na), *B = tu_buf(ctx, hb, nb), *Cb = tu_buf(ctx, hc, nc);
    g.a = (dev_view){A, 2};
    g.b = (dev_view){B, 1};
    g.c = (dev_view){Cb, 0};
    char what[160];
    snprintf(what, sizeof what, "gemm m=%d n=%d k=%d ta=%d tb=%d batch=%d alpha=%g beta=%g pad=%d", m, n, k, ta, tb,
             batch, alpha, beta, pad);
    mltc_status st = dev_matmul(ctx, &g);
    if (!tu_status(st, MLTC_OK, &err, what)) goto out;
    float *got = tu_get(ctx, Cb, nc);
    tu_close(what, got, want, nc, 1e-5 * (k + 1), 1e-5);
    free(got);
out:
    dev_free(ctx, A);
    dev_free(ctx, B);
    dev_free(ctx, Cb);
    free(ha);
    free(hb);
    free(hc);
    free(want);
}

static void test_gemm(void) {
    gemm_case(1, 1, 1, 0, 0, 1, 1.0f, 0.0f, 0);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            gemm_case(7, 13, 5, ta, tb, 1, 1.0f, 0.0f, 0);
            gemm_case(65, 17, 129, ta, tb, 1, 0.5f, 0.0f, 0);
            gemm_case(31, 67, 19, ta, tb, 3, -1.5f, 0.25f, 2); /* batched, padded, beta != 0 */
        }
    gemm_case(2, 130, 70, 0, 1, 5, 1.0f, 1.0f, 1);
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    int rc = tu_open("vulkan", &err, &ctx);
    if (rc) return rc;
    tu_seed(7);
    test_chain();
    test_long_batch();
    test_disjoint_ranges();
    test_upload_order();
    test_limits();
    test_suballoc();
    test_window();
    test_gemm();
    tu_must(dev_sync(ctx), &err, "final sync (validation errors surface here)");
    dev_close(ctx);
    return tu_finish();
}
#endif
