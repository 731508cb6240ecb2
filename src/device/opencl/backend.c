/* The OpenCL backend: one context and in-order queue per device, buffers, and the vtable
 * (devices are found in devices.c). Kernels live in kernels_cl/ (embedded at build
 * time); programs are built on first use and cached on disk (cache.c); GEMM goes
 * through CLBlast (matmul.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/opencl/internal.h"

/* ---- buffers ----------------------------------------------------------------------------- */

static mltc_status ocl_alloc(dev_ctx *ctx, size_t bytes, dev_buf **out) {
    ocl_ctx *c = (ocl_ctx *)ctx;
    if ((cl_ulong)bytes > c->max_alloc)
        return err_set(ctx->err, MLTC_ERR_OUT_OF_MEMORY,
                       "%s alloc: %zu bytes asked, but this device allows at most %llu bytes in one buffer "
                       "(CL_DEVICE_MAX_MEM_ALLOC_SIZE)",
                       ctx->id, bytes, (unsigned long long)c->max_alloc);
    ocl_buf *b = calloc(1, sizeof *b);
    if (!b) return err_set(ctx->err, MLTC_ERR_OUT_OF_MEMORY, "%s alloc: out of host memory", ctx->id);
    cl_int rc = CL_SUCCESS;
    b->mem = clCreateBuffer(c->context, CL_MEM_READ_WRITE, bytes, NULL, &rc);
    if (rc != CL_SUCCESS) {
        free(b);
        if (rc == CL_MEM_OBJECT_ALLOCATION_FAILURE || rc == CL_OUT_OF_RESOURCES || rc == CL_OUT_OF_HOST_MEMORY ||
            rc == CL_INVALID_BUFFER_SIZE)
            return err_set(ctx->err, MLTC_ERR_OUT_OF_MEMORY, "%s alloc: clCreateBuffer of %zu bytes failed: %s (%d)",
                           ctx->id, bytes, ocl_error_name(rc), rc);
        return ocl_fail(c, "alloc", "clCreateBuffer", rc);
    }
    c->base.counts.allocations++;
    b->base.bytes = bytes;
    *out = &b->base;
    return MLTC_OK;
}

static void ocl_free(dev_ctx *ctx, dev_buf *buf) {
    ocl_buf *b = (ocl_buf *)buf;
    /* The runtime keeps the memory alive until enqueued work that uses it is done. */
    clReleaseMemObject(b->mem);
    free(b);
}

/* ---- host copies of uploads ------------------------------------------------------------- */

/* Past this many bytes held, an upload first waits for the queue (a whole model uploaded at
 * set-up); chunks beyond HOLD_KEEP are given back after a wait. */
#define HOLD_MAX ((size_t)64 << 20)
#define HOLD_KEEP ((size_t)16 << 20)
#define HOLD_CHUNK ((size_t)1 << 20)

/* After a host wait the in-order queue has run every upload: their copies may be reused. */
static void holds_done(ocl_ctx *c) {
    size_t kept = 0;
    int n = 0;
    for (int i = 0; i < c->nheld; i++) {
        if (kept + c->held[i].size <= HOLD_KEEP) {
            kept += c->held[i].size;
            c->held[i].used = 0;
            c->held[n++] = c->held[i];
        } else {
            free(c->held[i].data);
        }
    }
    c->nheld = n;
    c->pending = 0;
}

static mltc_status wait_queue(ocl_ctx *c, const char *op) {
    cl_int rc = clFinish(c->queue);
    c->base.counts.submits++;
    c->base.counts.host_waits++;
    if (rc != CL_SUCCESS) return ocl_fail(c, op, "clFinish", rc);
    holds_done(c);
    return MLTC_OK;
}

mltc_status ocl_hold(ocl_ctx *c, size_t bytes, void **out) {
    size_t used = 0;
    for (int i = 0; i < c->nheld; i++) used += c->held[i].used;
    if (used + bytes > HOLD_MAX && used > 0) {
        mltc_status st = wait_queue(c, "upload");
        if (st != MLTC_OK) return st;
    }
    for (int i = 0; i < c->nheld; i++) {
        struct ocl_hostbuf *h = &c->held[i];
        size_t start = (h->used + 63) / 64 * 64;
        if (start + bytes <= h->size) {
            h->used = start + bytes;
            *out = h->data + start;
            return MLTC_OK;
        }
    }
    if (c->nheld == c->capheld) {
        int cap = c->capheld ? 2 * c->capheld : 8;
        struct ocl_hostbuf *nh = realloc(c->held, sizeof *nh * (size_t)cap);
        if (!nh) return err_set(c->base.err, MLTC_ERR_OUT_OF_MEMORY, "%s upload: out of host memory", c->base.id);
        c->held = nh;
        c->capheld = cap;
    }
    size_t size = bytes > HOLD_CHUNK ? bytes : HOLD_CHUNK;
    char *data = malloc(size);
    if (!data) return err_set(c->base.err, MLTC_ERR_OUT_OF_MEMORY, "%s upload: out of host memory", c->base.id);
    c->held[c->nheld++] = (struct ocl_hostbuf){data, size, bytes};
    *out = data;
    return MLTC_OK;
}

static mltc_status ocl_upload(dev_ctx *ctx, dev_buf *dst, size_t off, const void *src, size_t bytes) {
    ocl_ctx *c = (ocl_ctx *)ctx;
    /* Not blocking: the caller may reuse src as soon as we return, so the write reads a copy
     * that lives until the next host wait. */
    void *copy;
    mltc_status st = ocl_hold(c, bytes, &copy);
    if (st != MLTC_OK) return st;
    memcpy(copy, src, bytes);
    cl_int rc = clEnqueueWriteBuffer(c->queue, ((ocl_buf *)dst)->mem, CL_FALSE, off, bytes, copy, 0, NULL, NULL);
    ocl_enqueued(c, &ctx->counts.transfers);
    return rc == CL_SUCCESS ? MLTC_OK : ocl_fail(c, "upload", "clEnqueueWriteBuffer", rc);
}

static mltc_status ocl_download(dev_ctx *ctx, dev_buf *src, size_t off, void *dst, size_t bytes) {
    ocl_ctx *c = (ocl_ctx *)ctx;
    /* Blocking, and on an in-order queue it returns after every earlier command is done. */
    cl_int rc = clEnqueueReadBuffer(c->queue, ((ocl_buf *)src)->mem, CL_TRUE, off, bytes, dst, 0, NULL, NULL);
    ctx->counts.transfers++;
    ctx->counts.host_waits++;
    if (rc != CL_SUCCESS) return ocl_fail(c, "download", "clEnqueueReadBuffer", rc);
    holds_done(c);
    return MLTC_OK;
}

static mltc_status ocl_copy(dev_ctx *ctx, dev_view dst, dev_view src, size_t n) {
    ocl_ctx *c = (ocl_ctx *)ctx;
    if (dst.buf == src.buf && dst.off == src.off) return MLTC_OK;
    cl_int rc = clEnqueueCopyBuffer(c->queue, ocl_mem(src), ocl_mem(dst), src.off * 4, dst.off * 4, n * 4, 0, NULL,
                                    NULL);
    ocl_enqueued(c, &ctx->counts.dispatches);
    return rc == CL_SUCCESS ? MLTC_OK : ocl_fail(c, "copy", "clEnqueueCopyBuffer", rc);
}

static mltc_status ocl_fill(dev_ctx *ctx, dev_view dst, size_t n, float value) {
    ocl_ctx *c = (ocl_ctx *)ctx;
    cl_int rc = clEnqueueFillBuffer(c->queue, ocl_mem(dst), &value, sizeof value, dst.off * 4, n * 4, 0, NULL, NULL);
    ocl_enqueued(c, &ctx->counts.dispatches);
    return rc == CL_SUCCESS ? MLTC_OK : ocl_fail(c, "fill", "clEnqueueFillBuffer", rc);
}

static mltc_status ocl_sync(dev_ctx *ctx) {
    ocl_ctx *c = (ocl_ctx *)ctx;
    /* Nothing enqueued since the host last waited (a download): the queue is already idle. */
    return c->pending ? wait_queue(c, "sync") : MLTC_OK;
}

mltc_status ocl_scratch(ocl_ctx *c, size_t bytes, const char *op, cl_mem *out) {
    if (bytes == 0) bytes = 4;
    if (c->scratch_bytes < bytes) {
        if (c->scratch) clReleaseMemObject(c->scratch);
        c->scratch = NULL;
        c->scratch_bytes = 0;
        if ((cl_ulong)bytes > c->max_alloc)
            return err_set(c->base.err, MLTC_ERR_OUT_OF_MEMORY,
                           "%s %s: %zu bytes of scratch asked, the device allows %llu in one buffer", c->base.id, op,
                           bytes, (unsigned long long)c->max_alloc);
        cl_int rc = CL_SUCCESS;
        c->scratch = clCreateBuffer(c->context, CL_MEM_READ_WRITE, bytes, NULL, &rc);
        if (rc != CL_SUCCESS) {
            c->scratch = NULL;
            return ocl_fail(c, op, "clCreateBuffer (scratch)", rc);
        }
        c->scratch_bytes = bytes;
        c->base.counts.allocations++;
    }
    *out = c->scratch;
    return MLTC_OK;
}

/* ---- context ----------------------------------------------------------------------------- */

static void ocl_destroy(dev_ctx *ctx) {
    ocl_ctx *c = (ocl_ctx *)ctx;
    if (c->queue) clFinish(c->queue);
    for (int i = 0; i < c->nheld; i++) free(c->held[i].data);
    free(c->held);
    ocl_programs_release(c);
    if (c->scratch) clReleaseMemObject(c->scratch);
    if (c->queue) clReleaseCommandQueue(c->queue);
    if (c->context) clReleaseContext(c->context);
    free(c);
}

static int ocl_supports(dev_ctx *ctx, dev_op op) { return op >= 0 && op < DEV_OP_COUNT; }

static const dev_ops ocl_ops = {
    .destroy = ocl_destroy,
    .supports = ocl_supports,
    .alloc = ocl_alloc,
    .free = ocl_free,
    .upload = ocl_upload,
    .download = ocl_download,
    .copy = ocl_copy,
    .fill = ocl_fill,
    .sync = ocl_sync,
    /* Every op of device_ops.def but the optional attention_forward (dev_attention_forward runs
     * it as three ops); the fused training attention is named below. */
#define DEV_OP_OPTIONAL(name, NAME, params)
#define DEV_OP(name, NAME, params) .name = ocl_##name,
#include "device/device_ops.def"
    .attention_train_forward = ocl_attention_train_forward,
    .attention_train_backward = ocl_attention_train_backward,
};

static mltc_status ocl_open(mltc_error *err, int index, dev_ctx **out) {
    cl_platform_id plats[OCL_MAX_DEVICES];
    cl_device_id devs[OCL_MAX_DEVICES];
    int n = 0;
    mltc_status st = ocl_list_devices(err, plats, devs, OCL_MAX_DEVICES, &n);
    if (st != MLTC_OK) return st;
    if (n == 0) return err_set(err, MLTC_ERR_UNSUPPORTED, "opencl: the OpenCL platforms present have no devices");
    if (index < 0 || index >= n || index >= OCL_MAX_DEVICES) {
        if (n == 1)
            return err_set(err, MLTC_ERR_INVALID_ARGUMENT,
                           "device opencl:%d: no such device; this machine has one OpenCL device, opencl:0", index);
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT,
                       "device opencl:%d: no such device; this machine has %d OpenCL devices, opencl:0 to opencl:%d",
                       index, n, n - 1);
    }
    ocl_ctx *c = calloc(1, sizeof *c);
    if (!c) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "opencl: cannot allocate a context");
    c->base.ops = &ocl_ops;
    c->base.err = err;
    snprintf(c->base.id, sizeof c->base.id, "opencl:%d", index);
    c->platform = plats[index];
    c->device = devs[index];
    ocl_dev_str(c->device, CL_DEVICE_NAME, c->device_name, sizeof c->device_name);
    ocl_dev_str(c->device, CL_DRIVER_VERSION, c->driver_version, sizeof c->driver_version);
    ocl_plat_str(c->platform, CL_PLATFORM_VERSION, c->platform_version, sizeof c->platform_version);
    c->max_alloc = ocl_dev_ulong(c->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
    c->local_mem = ocl_dev_ulong(c->device, CL_DEVICE_LOCAL_MEM_SIZE);
    c->fp64 = ocl_has_extension(c->device, "cl_khr_fp64");
    if (clGetDeviceInfo(c->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof c->max_wg, &c->max_wg, NULL) != CL_SUCCESS)
        c->max_wg = 1;
    cl_int rc = CL_SUCCESS;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)c->platform, 0};
    c->context = clCreateContext(props, 1, &c->device, NULL, NULL, &rc);
    if (rc != CL_SUCCESS) {
        c->context = NULL;
        st = ocl_fail(c, "open", "clCreateContext", rc);
        ocl_destroy(&c->base);
        return st;
    }
    /* In order: ops run in the order they are enqueued, so no events are needed between them. */
    c->queue = clCreateCommandQueue(c->context, c->device, 0, &rc);
    if (rc != CL_SUCCESS) {
        c->queue = NULL;
        st = ocl_fail(c, "open", "clCreateCommandQueue", rc);
        ocl_destroy(&c->base);
        return st;
    }
    ocl_cache_init(c);
    *out = &c->base;
    return MLTC_OK;
}

const dev_backend dev_backend_opencl = {"opencl", ocl_enumerate, ocl_open};

/* ---- opencl.h ---------------------------------------------------------------------------- */

static ocl_ctx *as_ocl(dev_ctx *ctx) { return (ctx && ctx->ops == &ocl_ops) ? (ocl_ctx *)ctx : NULL; }

mltc_status opencl_cache_stats_get(dev_ctx *ctx, opencl_cache_stats *out) {
    ocl_ctx *c = as_ocl(ctx);
    if (!c || !out) return ctx ? err_set(ctx->err, MLTC_ERR_INVALID_ARGUMENT, "opencl_cache_stats_get: not an OpenCL "
                                                                              "context")
                               : MLTC_ERR_INVALID_ARGUMENT;
    *out = c->cache;
    return MLTC_OK;
}

const char *opencl_cache_dir(dev_ctx *ctx) {
    ocl_ctx *c = as_ocl(ctx);
    return c ? c->cache_dir : "";
}

mltc_status opencl_build_all(dev_ctx *ctx) {
    ocl_ctx *c = as_ocl(ctx);
    if (!c) return ctx ? err_set(ctx->err, MLTC_ERR_INVALID_ARGUMENT, "opencl_build_all: not an OpenCL context")
                       : MLTC_ERR_INVALID_ARGUMENT;
    for (int p = 0; p < OCL_PROG_COUNT; p++) {
        mltc_status st = ocl_program_build(c, (ocl_prog)p, "build_all");
        if (st != MLTC_OK) return st;
    }
    return MLTC_OK;
}

mltc_status opencl_build_source(dev_ctx *ctx, const char *name, const char *source) {
    ocl_ctx *c = as_ocl(ctx);
    if (!c || !name || !source)
        return ctx ? err_set(ctx->err, MLTC_ERR_INVALID_ARGUMENT, "opencl_build_source: not an OpenCL context, or "
                                                                  "name/source is NULL")
                   : MLTC_ERR_INVALID_ARGUMENT;
    return ocl_build_test_source(c, name, source);
}

int opencl_program_count(void) { return OCL_PROG_COUNT; }
