/* The CPU backend: plain C loops with OpenMP, a BLAS (OpenBLAS or oneMKL) for matmul. It is the oracle every
 * other backend is tested against, so clarity wins over speed wherever the two disagree. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/platform.h"

#include "device/cpu/blas.h"
#include "device/cpu/internal.h"

typedef struct cpu_ctx {
    dev_ctx base; /* must be first */
    void *scratch; /* cpu_scratch's buffer, kept from op to op */
    size_t scratch_bytes;
} cpu_ctx;

static void cpu_destroy(dev_ctx *ctx) {
    plat_aligned_free(((cpu_ctx *)ctx)->scratch);
    free(ctx);
}

/* Ops that need working memory (bf16 operands, attention score tiles) take it from here rather
 * than malloc and free it each call: glibc serves blocks above 32 MiB by mmap, so every call
 * faulted in and zeroed fresh pages (at LM-MTC's 400 tokens in bf16, 195 M page faults and 6% of
 * the run's CPU time in the kernel over 3 epochs). A context is used by one thread at a time. */
void *cpu_scratch(dev_ctx *ctx, size_t bytes) {
    cpu_ctx *c = (cpu_ctx *)ctx;
    if (bytes <= c->scratch_bytes) return c->scratch;
    plat_aligned_free(c->scratch);
    size_t rounded = (bytes + 63) / 64 * 64;
    c->scratch = plat_aligned_alloc(64, rounded);
    c->scratch_bytes = c->scratch ? rounded : 0;
    ctx->counts.allocations++;
    return c->scratch;
}

static int cpu_supports(dev_ctx *ctx, dev_op op) { return op >= 0 && op < DEV_OP_COUNT; }

static mltc_status cpu_alloc(dev_ctx *ctx, size_t bytes, dev_buf **out) {
    cpu_buf *b = calloc(1, sizeof *b);
    /* 64-byte alignment suits AVX-512 loads and OpenBLAS. */
    size_t rounded = (bytes + 63) / 64 * 64;
    if (b) b->data = plat_aligned_alloc(64, rounded);
    if (!b || !b->data) {
        free(b);
        return err_set(ctx->err, MLTC_ERR_OUT_OF_MEMORY, "cpu: cannot allocate %zu bytes", bytes);
    }
    b->base.bytes = bytes;
    ctx->counts.allocations++;
    *out = &b->base;
    return MLTC_OK;
}

static void cpu_free(dev_ctx *ctx, dev_buf *buf) {
    cpu_buf *b = (cpu_buf *)buf;
    plat_aligned_free(b->data);
    free(b);
}

static mltc_status cpu_upload(dev_ctx *ctx, dev_buf *dst, size_t off, const void *src, size_t bytes) {
    memcpy((char *)((cpu_buf *)dst)->data + off, src, bytes);
    ctx->counts.transfers++;
    return MLTC_OK;
}

static mltc_status cpu_download(dev_ctx *ctx, dev_buf *src, size_t off, void *dst, size_t bytes) {
    memcpy(dst, (const char *)((cpu_buf *)src)->data + off, bytes);
    ctx->counts.transfers++;
    return MLTC_OK;
}

static mltc_status cpu_sync(dev_ctx *ctx) { return MLTC_OK; }

static const dev_ops cpu_ops = {
    .destroy = cpu_destroy,
    .supports = cpu_supports,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .copy = cpu_copy,
    .fill = cpu_fill,
    .sync = cpu_sync,
    .check_precision = cpu_check_precision,
    /* Every op of device_ops.def, the optional attention_forward included. */
#define DEV_OP(name, NAME, params) .name = cpu_##name,
#include "device/device_ops.def"
};

static mltc_status cpu_enumerate(mltc_error *err, mltc_device_info *infos, int max, int *count) {
    *count = 1;
    if (max < 1 || !infos) return MLTC_OK;
    mltc_device_info *d = &infos[0];
    memset(d, 0, sizeof *d);
    snprintf(d->id, sizeof d->id, "cpu");
    snprintf(d->backend, sizeof d->backend, "cpu");
    plat_cpu_name(d->name, sizeof d->name);
    snprintf(d->driver, sizeof d->driver, "OpenMP + %s", cpu_blas_name());
    d->global_mem_bytes = plat_physical_memory();
    d->max_alloc_bytes = d->global_mem_bytes;
    d->compute_units = (uint32_t)omp_get_max_threads();
    d->fp64 = 1;
    char blas[320];
    cpu_blas_describe(blas, sizeof blas);
    /* libgomp reads OMP_WAIT_POLICY when it loads, so the library cannot set it; it can say so. */
    const char *wait = getenv("OMP_WAIT_POLICY");
    snprintf(d->details, sizeof d->details,
             "%d OpenMP threads (OMP_NUM_THREADS sets them); %s; OMP_WAIT_POLICY %s", omp_get_max_threads(), blas,
             wait ? wait : "unset (set it to passive: spinning threads slow the BLAS)");
    char bf16[256];
    cpu_bf16_note(bf16, sizeof bf16);
    size_t used = strlen(d->details);
    if (used + 2 < sizeof d->details) snprintf(d->details + used, sizeof d->details - used, "; %s", bf16);
    return MLTC_OK;
}

static mltc_status cpu_open(mltc_error *err, int index, dev_ctx **out) {
    if (index != 0) return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "device cpu:%d: there is only cpu:0", index);
    cpu_blas_setup();
    cpu_ctx *c = calloc(1, sizeof *c);
    if (!c) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "cpu: cannot allocate a context");
    c->base.ops = &cpu_ops;
    c->base.err = err;
    *out = &c->base;
    return MLTC_OK;
}

const dev_backend dev_backend_cpu = {"cpu", cpu_enumerate, cpu_open};
