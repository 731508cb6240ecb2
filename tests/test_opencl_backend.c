/*
 * What only the OpenCL backend has: the on-disk program cache (a second context loads every
 * program from it; corrupt, truncated or stale entries are refused, rebuilt and rewritten,
 * and results stay right; an unusable cache folder only turns caching off), device
 * enumeration, build failures (the compiler's log in the message), allocations above
 * CL_DEVICE_MAX_MEM_ALLOC_SIZE, a device index out of range,
 * and CLBlast's large-GEMM path honouring beta == 0 (C holds NaN and must not be read).
 * Skips (exit 77) when no OpenCL device is present.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/platform.h"
#include "device/opencl/opencl.h"
#include "testutil.h"

#ifndef MLTC_HAVE_OPENCL
int main(void) {
    printf("SKIP: this build has no OpenCL backend (MLTC_WITH_OPENCL=OFF)\n");
    return TU_SKIP;
}
#else
static mltc_error E;

/* One op from every program, on fixed inputs; the outputs are concatenated into out. */
#define R 5
#define COLS 37
#define N (R * COLS)
static void run_ops(dev_ctx *ctx, float *out) {
    float x[N], w[COLS], b[COLS];
    tu_seed(7);
    tu_fill_uniform(x, N, -3.0f, 3.0f);
    tu_fill_uniform(w, COLS, 0.5f, 1.5f);
    tu_fill_uniform(b, COLS, -0.5f, 0.5f);
    int32_t idx[R] = {4, 0, 2, 2, 1}, tgt[R] = {3, -1, 36, 0, 5};
    dev_buf *X = tu_buf(ctx, x, N), *W = tu_buf(ctx, w, COLS), *B = tu_buf(ctx, b, COLS);
    dev_buf *I = tu_buf(ctx, idx, R), *T = tu_buf(ctx, tgt, R), *Y = tu_zeros(ctx, 7 * N), *S = tu_zeros(ctx, 2 * R);
    dev_view y = tu_v(Y);
    tu_must(dev_gelu_forward(ctx, y, tu_v(X), N), &E, "gelu_forward");
    tu_must(dev_layernorm_forward(ctx, dev_at(y, N), tu_v(S), dev_at(tu_v(S), R), tu_v(X), tu_v(W), tu_v(B), R, COLS,
                                  1e-5f),
            &E, "layernorm_forward");
    dev_softmax sm = {1, 1, R, COLS, 0.5f, {NULL, 0}};
    tu_must(dev_softmax_forward(ctx, &sm, dev_at(y, 2 * N), tu_v(X)), &E, "softmax_forward");
    tu_must(dev_gather_rows(ctx, dev_at(y, 3 * N), tu_v(X), tu_v(I), R, COLS, R, 0.0f), &E, "gather_rows");
    tu_must(dev_crossentropy_forward(ctx, dev_at(y, 4 * N), tu_v(X), tu_v(T), R, COLS), &E, "crossentropy_forward");
    dev_buf *L = tu_buf(ctx, w, COLS), *M = tu_buf(ctx, x, N);
    float mask[R] = {1, 1, 0, 1, 1};
    dev_buf *MK = tu_buf(ctx, mask, R), *AM = tu_zeros(ctx, R);
    dev_label_attention la = {1, R, 1, COLS, tu_v(M), tu_v(L), tu_v(MK), dev_at(y, 5 * N), dev_at(y, 5 * N + COLS),
                              tu_v(AM)};
    tu_must(dev_label_attention_forward(ctx, &la), &E, "label_attention_forward");
    tu_must(dev_sumsq(ctx, dev_at(y, 6 * N), tu_v(X), N), &E, "sumsq");
    float *got = tu_get(ctx, Y, 7 * N);
    memcpy(out, got, sizeof(float) * 7 * N);
    free(got);
    dev_buf *all[] = {X, W, B, I, T, Y, S, L, M, MK, AM};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) dev_free(ctx, all[i]);
}

static void stats(dev_ctx *ctx, opencl_cache_stats *s) { tu_must(opencl_cache_stats_get(ctx, s), &E, "cache stats"); }

static dev_ctx *open_built(const char *what, opencl_cache_stats *s) {
    dev_ctx *ctx = NULL;
    tu_must(dev_open(&E, "opencl:0", &ctx), &E, what);
    tu_must(opencl_build_all(ctx), &E, what);
    stats(ctx, s);
    return ctx;
}

static int same(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof *a) == 0; }

/* Changes one byte of the file at offset (from the end when negative), or truncates it. */
static int damage(const char *path, long offset, int truncate_it) {
    FILE *f = fopen(path, "r+b");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    int ok;
    if (truncate_it) {
        fclose(f);
        ok = truncate(path, size / 2) == 0;
    } else {
        long at = offset >= 0 ? offset : size + offset;
        fseek(f, at, SEEK_SET);
        int c = fgetc(f);
        fseek(f, at, SEEK_SET);
        ok = c != EOF && fputc(c ^ 0x5a, f) != EOF;
        fclose(f);
    }
    return ok;
}

static void test_cache(const char *root) {
    char dir[512], path[1024];
    snprintf(dir, sizeof dir, "%s/cache", root);
    plat_setenv("MLTC_CACHE_DIR", dir);
    int np = opencl_program_count();
    opencl_cache_stats s;
    float first[7 * N], again[7 * N];

    dev_ctx *ctx = open_built("first open", &s);
    snprintf(path, sizeof path, "%s/opencl", dir);
    tu_check(strcmp(opencl_cache_dir(ctx), path) == 0, "cache folder is '%s', expected '%s'", opencl_cache_dir(ctx),
             path);
    tu_check(s.built == np && s.loaded == 0 && s.written == np && s.rejected == 0,
             "empty cache: built %d loaded %d written %d rejected %d, expected %d built and written", s.built, s.loaded,
             s.written, s.rejected, np);
    run_ops(ctx, first);
    dev_close(ctx);

    ctx = open_built("second open", &s);
    tu_check(s.loaded == np && s.built == 0 && s.rejected == 0 && s.written == 0,
             "warm cache: built %d loaded %d written %d rejected %d, expected all %d loaded", s.built, s.loaded,
             s.written, s.rejected, np);
    run_ops(ctx, again);
    tu_check(same(first, again, 7 * N), "results from cached programs differ from freshly built ones");
    dev_close(ctx);

    /* A flipped payload byte, a flipped key byte (a stale entry: another device or driver),
     * and a truncated file: each is refused and rebuilt. */
    const char *victims[] = {"elementwise", "norm", "softmax"};
    int damaged = 0;
    char cmd[1200];
    for (int v = 0; v < 3; v++) {
        snprintf(cmd, sizeof cmd, "ls %s/opencl/%s-*.bin 2>/dev/null", dir, victims[v]);
        FILE *p = popen(cmd, "r");
        char file[1024] = "";
        if (p) {
            if (!fgets(file, sizeof file, p)) file[0] = '\0';
            pclose(p);
        }
        file[strcspn(file, "\n")] = '\0';
        damaged += damage(file, v == 0 ? -100 : 30, v == 2);
    }
    tu_check(damaged == 3, "damaged %d of 3 cache files", damaged);
    ctx = open_built("open with damaged cache", &s);
    tu_check(s.rejected == 3 && s.built == 3 && s.loaded == np - 3 && s.written == 3,
             "damaged cache: built %d loaded %d written %d rejected %d, expected 3 rejected, rebuilt and rewritten",
             s.built, s.loaded, s.written, s.rejected);
    memset(again, 0, sizeof again);
    run_ops(ctx, again);
    tu_check(same(first, again, 7 * N), "results after rebuilding damaged entries differ");
    dev_close(ctx);

    ctx = open_built("open after repair", &s);
    tu_check(s.loaded == np && s.built == 0 && s.rejected == 0, "repaired cache: built %d loaded %d rejected %d",
             s.built, s.loaded, s.rejected);
    dev_close(ctx);

    /* A folder that cannot be made: caching is off, programs still build and run. */
    snprintf(dir, sizeof dir, "%s/file", root);
    FILE *f = fopen(dir, "w");
    if (f) fclose(f);
    snprintf(path, sizeof path, "%s/file/sub", root);
    plat_setenv("MLTC_CACHE_DIR", path);
    ctx = open_built("open with unusable cache folder", &s);
    tu_check(opencl_cache_dir(ctx)[0] == '\0' && s.built == np && s.written == 0,
             "unusable cache folder: dir '%s', built %d written %d", opencl_cache_dir(ctx), s.built, s.written);
    run_ops(ctx, again);
    tu_check(same(first, again, 7 * N), "results without a cache differ");
    dev_close(ctx);
    plat_setenv("MLTC_CACHE_DIR", NULL);
}

static void test_enumerate_and_errors(void) {
    mltc_device_info info[8];
    int count = 0;
    extern const dev_backend dev_backend_opencl;
    tu_must(dev_backend_opencl.enumerate(&E, info, 8, &count), &E, "enumerate");
    tu_check(count >= 1, "enumerate: %d devices", count);
    tu_check(strcmp(info[0].id, "opencl:0") == 0 && strcmp(info[0].backend, "opencl") == 0, "info id '%s' backend '%s'",
             info[0].id, info[0].backend);
    tu_check(info[0].name[0] && info[0].driver[0] && info[0].details[0], "info strings: name '%s' driver '%s'",
             info[0].name, info[0].driver);
    tu_check(info[0].global_mem_bytes > 0 && info[0].max_alloc_bytes > 0 &&
                 info[0].max_alloc_bytes <= info[0].global_mem_bytes && info[0].compute_units > 0 &&
                 info[0].local_mem_bytes > 0,
             "info limits: global %llu max alloc %llu local %llu units %u",
             (unsigned long long)info[0].global_mem_bytes, (unsigned long long)info[0].max_alloc_bytes,
             (unsigned long long)info[0].local_mem_bytes, info[0].compute_units);
    printf("opencl:0 = %s | %s | %s\n", info[0].name, info[0].driver, info[0].details);

    dev_ctx *ctx = NULL;
    char spec[32];
    snprintf(spec, sizeof spec, "opencl:%d", count + 3);
    mltc_status st = dev_open(&E, spec, &ctx);
    tu_status(st, MLTC_ERR_INVALID_ARGUMENT, &E, "open past the last device");
    tu_check(strstr(E.msg, "no such device") && strstr(E.msg, spec), "index out of range message: %s", E.msg);
    if (st == MLTC_OK) dev_close(ctx);

    tu_must(dev_open(&E, "opencl:0", &ctx), &E, "open");
    /* A failing build says which program and carries the compiler's log. */
    st = opencl_build_source(ctx, "broken_probe",
                             "__kernel void k(__global float *y) { y[0] = undeclared_name_xyz; }\n");
    tu_status(st, MLTC_ERR_DEVICE, &E, "build of a broken program");
    tu_check(strstr(E.msg, "broken_probe") && strstr(E.msg, "CL_BUILD_PROGRAM_FAILURE") &&
                 strstr(E.msg, "undeclared_name_xyz"),
             "build failure message names the program, the error and the log: %s", E.msg);
    tu_must(opencl_build_source(ctx, "fine_probe", "__kernel void k(__global float *y) { y[0] = 1.0f; }\n"), &E,
            "build of a valid program");
    size_t too_big = (size_t)((info[0].max_alloc_bytes / 4 + 1) * 4);
    dev_buf *b = NULL;
    tu_status(dev_alloc(ctx, too_big, &b), MLTC_ERR_OUT_OF_MEMORY, &E, "alloc above max allocation");
    char asked[32], limit[32];
    snprintf(asked, sizeof asked, "%zu", too_big);
    snprintf(limit, sizeof limit, "%llu", (unsigned long long)info[0].max_alloc_bytes);
    tu_check(strstr(E.msg, asked) && strstr(E.msg, limit) && strstr(E.msg, "CL_DEVICE_MAX_MEM_ALLOC_SIZE"),
             "oversize allocation message names bytes %s and limit %s: %s", asked, limit, E.msg);
    tu_check(b == NULL, "failed alloc returns no buffer");
    dev_close(ctx);
}

/* Large enough for CLBlast's indirect (padded, tiled) GEMM, odd so padding is exercised;
 * batch 1 goes through CLBlastSgemm, batch 2 through CLBlastSgemmStridedBatched. */
static void big_gemm_beta0(dev_ctx *ctx, int m, int n, int k, int batch) {
    size_t na = (size_t)m * k, nb = (size_t)k * n, nc = (size_t)m * n;
    float *a = malloc(sizeof(float) * na * batch), *b = malloc(sizeof(float) * nb * batch);
    float *c = malloc(sizeof(float) * nc * batch);
    tu_seed(3);
    tu_fill_uniform(a, na * batch, -1, 1);
    tu_fill_uniform(b, nb * batch, -1, 1);
    for (size_t i = 0; i < nc * batch; i++) c[i] = NAN;
    dev_buf *A = tu_buf(ctx, a, na * batch), *B = tu_buf(ctx, b, nb * batch), *Cb = tu_buf(ctx, c, nc * batch);
    dev_gemm g = {0, 0, m, n, k, 1.0f, 0.0f, tu_v(A), tu_v(B), tu_v(Cb), k, n, n, (long)na, (long)nb, (long)nc,
                  batch, {NULL, 0}, 0, 0, 0, 0};
    tu_must(dev_matmul(ctx, &g), &E, "matmul");
    float *got = tu_get(ctx, Cb, nc * batch);
    int nan_seen = 0;
    for (size_t i = 0; i < nc * batch; i++) nan_seen |= isnan(got[i]);
    tu_check(!nan_seen, "matmul %dx%dx%d batch %d beta=0 read C (NaN in the result)", m, n, k, batch);
    double *want = malloc(sizeof(double) * n);
    for (int p = 0; p < batch; p++)
        for (int i = p; i < m; i += 37) { /* a sample of rows; every column of each */
            const float *ap = a + p * na, *bp = b + p * nb;
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int q = 0; q < k; q++) s += (double)ap[(size_t)i * k + q] * bp[(size_t)q * n + j];
                want[j] = s;
            }
            char what[96];
            snprintf(what, sizeof what, "matmul %dx%dx%d batch %d: problem %d row %d", m, n, k, batch, p, i);
            if (!tu_close(what, got + p * nc + (size_t)i * n, want, (size_t)n, 2e-5 * sqrt((double)k), 1e-5)) break;
        }
    free(want);
    free(got);
    dev_free(ctx, A);
    dev_free(ctx, B);
    dev_free(ctx, Cb);
    free(a);
    free(b);
    free(c);
}

static void test_big_gemm_beta0(void) {
    dev_ctx *ctx = NULL;
    tu_must(dev_open(&E, "opencl:0", &ctx), &E, "open");
    big_gemm_beta0(ctx, 515, 513, 517, 1);
    big_gemm_beta0(ctx, 401, 397, 389, 2);
    dev_close(ctx);
}

/* Rows shorter than 16 get work-groups of 1 to 8 items; with ignored targets, all-masked
 * softmax rows and masked words, every barrier must still be reached by every work-item
 * (PoCL hangs on an early return before a barrier). Results against the CPU backend. */
static void small_groups(dev_ctx *ctx, float *out) {
    float x[12] = {0.3f, -1.2f, 2.0f, 0.7f, 0.1f, -0.4f, 1.5f, -2.2f, 0.9f, 0.0f, -0.8f, 1.1f};
    float mask[4] = {1, 0, 0, 0}, wmask[4] = {0, 1, 1, 0}, l[6] = {1, 0, 1, -1, 2, 0};
    int32_t tgt[4] = {2, -1, 0, 7};
    dev_buf *X = tu_buf(ctx, x, 12), *MK = tu_buf(ctx, mask, 4), *WM = tu_buf(ctx, wmask, 4), *L = tu_buf(ctx, l, 6);
    dev_buf *T = tu_buf(ctx, tgt, 4), *Y = tu_zeros(ctx, 40), *AM = tu_zeros(ctx, 4);
    dev_view y = tu_v(Y);
    tu_must(dev_crossentropy_forward(ctx, y, tu_v(X), tu_v(T), 4, 3), &E, "crossentropy_forward vocab 3");
    tu_must(dev_crossentropy_backward(ctx, dev_at(y, 4), tu_v(X), tu_v(T), 4, 3, 0.5f), &E, "crossentropy_backward");
    /* batch 2 x 1 head x 3 rows x 2 cols; batch 1's keys are all masked */
    dev_softmax sm = {2, 1, 3, 2, 1.0f, tu_v(MK)};
    tu_must(dev_softmax_forward(ctx, &sm, dev_at(y, 16), tu_v(X)), &E, "softmax_forward cols 2");
    /* 2 batch rows x 2 words x dim 3, 2 labels; batch 0 has word 1 only, batch 1 word 0 only */
    dev_label_attention la = {2, 2, 2, 3, tu_v(X), tu_v(L), tu_v(WM), dev_at(y, 28), dev_at(y, 34), tu_v(AM)};
    tu_must(dev_label_attention_forward(ctx, &la), &E, "label_attention_forward dim 3");
    tu_must(dev_label_attention_backward(ctx, &la, dev_at(y, 16), dev_at(y, 4), dev_at(y, 28)), &E,
            "label_attention_backward dim 3");
    float *got = tu_get(ctx, Y, 40);
    memcpy(out, got, sizeof(float) * 40);
    free(got);
    dev_buf *all[] = {X, MK, WM, L, T, Y, AM};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) dev_free(ctx, all[i]);
}

static void test_small_groups(void) {
    dev_ctx *ocl = NULL, *cpu = NULL;
    tu_must(dev_open(&E, "opencl:0", &ocl), &E, "open opencl");
    tu_must(dev_open(&E, "cpu", &cpu), &E, "open cpu");
    float got[40], want_f[40];
    small_groups(ocl, got);
    small_groups(cpu, want_f);
    double want[40];
    for (int i = 0; i < 40; i++) want[i] = want_f[i];
    tu_close("small work-groups (crossentropy, masked softmax, label attention) vs cpu", got, want, 40, 1e-6, 1e-5);
    dev_close(ocl);
    dev_close(cpu);
}

int main(void) {
    dev_ctx *probe = NULL;
    int rc = tu_open("opencl", &E, &probe);
    if (rc) return rc;
    dev_close(probe);

    char root[] = "/tmp/mltc_opencl_test_XXXXXX";
    if (!tu_mkdtemp(root, sizeof root)) {
        printf("FAIL: mkdtemp\n");
        return 1;
    }
    test_cache(root);
    test_enumerate_and_errors();
    test_big_gemm_beta0();
    test_small_groups();
    tu_remove_tree(root);
    return tu_finish();
}
#endif
