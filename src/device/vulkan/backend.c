/* The Vulkan backend: context, buffers, transfers and the vtable. Ops are recorded into one
 * command buffer (exec.c) and run at dev_sync or dev_download; shaders are the
 * SPIR-V files embedded from shaders/ at build time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/vulkan/internal.h"

/* Uploads are staged at call time; past this many pending bytes the batch is flushed so
 * staging memory stays bounded when a whole model is uploaded at once. */
#define STAGE_FLUSH_BYTES ((VkDeviceSize)128 << 20)
#define TRANSFER_PIECE ((size_t)32 << 20)

static vk_ctx *C(dev_ctx *ctx) { return (vk_ctx *)ctx; }

static void vk_destroy(dev_ctx *ctx) {
    vk_ctx *c = C(ctx);
    if (c->device) {
        if ((c->recording || c->nsubmitted) && !c->lost) vk_submit(c, 0);
        vkDeviceWaitIdle(c->device);
        ctx->counts.host_waits++;
        for (int i = 0; i < c->ndeferred; i++) vk_buffer_destroy(c, c->deferred[i]);
        free(c->deferred);
        free(c->scratch_free);
        free(c->scratch_busy);
        while (c->live) vk_buffer_destroy(c, c->live);
        vk_exec_destroy(c);
        vk_memory_destroy(c);
        vkDestroyDevice(c->device, NULL);
    }
    vk_instance_destroy(c);
    free(c);
}

static int vk_supports(dev_ctx *ctx, dev_op op) { return op >= 0 && op < DEV_OP_COUNT; }

static mltc_status vk_alloc(dev_ctx *ctx, size_t bytes, dev_buf **out) {
    vk_buf *b;
    mltc_status st = vk_buffer_create(C(ctx), bytes, &b);
    if (st == MLTC_OK) *out = &b->base;
    return st;
}

static void vk_free(dev_ctx *ctx, dev_buf *buf) { vk_buffer_release(C(ctx), vk_b(buf)); }

static mltc_status vk_upload(dev_ctx *ctx, dev_buf *dst, size_t off, const void *src, size_t bytes) {
    vk_ctx *c = C(ctx);
    mltc_status st;
    for (size_t done = 0; done < bytes;) {
        size_t piece = bytes - done < TRANSFER_PIECE ? bytes - done : TRANSFER_PIECE;
        if (vk_staging_pending(c) + piece > STAGE_FLUSH_BYTES && (st = vk_submit(c, 0)) != MLTC_OK) return st;
        vk_staging *s;
        VkDeviceSize soff;
        if ((st = vk_staging_get(c, piece, &s, &soff)) != MLTC_OK) return st;
        memcpy((char *)s->map + soff, (const char *)src + done, piece);
        if ((st = vk_chunk_check(c)) != MLTC_OK || (st = vk_begin(c)) != MLTC_OK) return st;
        vk_access rd = {s->buffer, soff, soff + piece}, wr = {vk_b(dst)->buffer, off + done, off + done + piece};
        vk_hazard(c, &rd, 1, &wr, 1);
        VkBufferCopy region = {soff, off + done, piece};
        vkCmdCopyBuffer(c->cmd, s->buffer, wr.buf, 1, &region);
        ctx->counts.transfers++;
        done += piece;
    }
    return MLTC_OK;
}

static mltc_status vk_download(dev_ctx *ctx, dev_buf *src, size_t off, void *dst, size_t bytes) {
    vk_ctx *c = C(ctx);
    mltc_status st;
    for (size_t done = 0; done < bytes;) {
        size_t piece = bytes - done < TRANSFER_PIECE ? bytes - done : TRANSFER_PIECE;
        vk_staging *s;
        VkDeviceSize soff;
        if ((st = vk_staging_get(c, piece, &s, &soff)) != MLTC_OK) return st;
        if ((st = vk_begin(c)) != MLTC_OK) return st;
        vk_access rd = {vk_b(src)->buffer, off + done, off + done + piece}, wr = {s->buffer, soff, soff + piece};
        vk_hazard(c, &rd, 1, &wr, 1);
        VkBufferCopy region = {off + done, soff, piece};
        vkCmdCopyBuffer(c->cmd, rd.buf, s->buffer, 1, &region);
        ctx->counts.transfers++;
        st = vk_submit(c, 1);
        if (st == MLTC_OK) memcpy((char *)dst + done, (const char *)s->map + soff, piece);
        if (!c->lost) vk_batch_done(c);
        if (st != MLTC_OK) return st;
        done += piece;
    }
    return MLTC_OK;
}

mltc_status vk_copy(dev_ctx *ctx, dev_view dst, dev_view src, size_t n) {
    vk_ctx *c = C(ctx);
    if (n == 0 || (dst.buf == src.buf && dst.off == src.off)) return MLTC_OK;
    mltc_status st = vk_chunk_check(c);
    if (st == MLTC_OK) st = vk_begin(c);
    if (st != MLTC_OK) return st;
    VkBuffer sb = vk_b(src.buf)->buffer, db = vk_b(dst.buf)->buffer;
    VkDeviceSize bytes = (VkDeviceSize)n * 4;
    vk_access ra = {sb, (VkDeviceSize)src.off * 4, (VkDeviceSize)src.off * 4 + bytes};
    vk_access wa = {db, (VkDeviceSize)dst.off * 4, (VkDeviceSize)dst.off * 4 + bytes};
    int overlap = dst.buf == src.buf && dst.off < src.off + n && src.off < dst.off + n;
    if (!overlap) {
        vk_hazard(c, &ra, 1, &wa, 1);
        VkBufferCopy region = {(VkDeviceSize)src.off * 4, (VkDeviceSize)dst.off * 4, bytes};
        vkCmdCopyBuffer(c->cmd, sb, db, 1, &region);
        ctx->counts.dispatches++;
        return MLTC_OK;
    }
    /* vkCmdCopyBuffer forbids overlapping regions; go through staging memory (memmove). */
    vk_staging *s;
    VkDeviceSize soff;
    if ((st = vk_staging_get(c, bytes, &s, &soff)) != MLTC_OK) return st;
    VkBuffer tb = s->buffer;
    vk_access ta = {tb, soff, soff + bytes};
    vk_hazard(c, &ra, 1, &ta, 1);
    VkBufferCopy r1 = {(VkDeviceSize)src.off * 4, soff, bytes};
    vkCmdCopyBuffer(c->cmd, sb, tb, 1, &r1);
    vk_hazard(c, &ta, 1, &wa, 1);
    VkBufferCopy r2 = {soff, (VkDeviceSize)dst.off * 4, bytes};
    vkCmdCopyBuffer(c->cmd, tb, db, 1, &r2);
    ctx->counts.dispatches += 2;
    return MLTC_OK;
}

mltc_status vk_fill(dev_ctx *ctx, dev_view dst, size_t n, float value) {
    vk_ctx *c = C(ctx);
    if (n == 0) return MLTC_OK;
    mltc_status st = vk_chunk_check(c);
    if (st == MLTC_OK) st = vk_begin(c);
    if (st != MLTC_OK) return st;
    uint32_t bits;
    memcpy(&bits, &value, 4);
    VkBuffer db = vk_b(dst.buf)->buffer;
    vk_access wa = {db, (VkDeviceSize)dst.off * 4, (VkDeviceSize)dst.off * 4 + (VkDeviceSize)n * 4};
    vk_hazard(c, NULL, 0, &wa, 1);
    vkCmdFillBuffer(c->cmd, db, (VkDeviceSize)dst.off * 4, (VkDeviceSize)n * 4, bits);
    ctx->counts.dispatches++;
    return MLTC_OK;
}

static mltc_status vk_sync(dev_ctx *ctx) { return vk_submit(C(ctx), 0); }

static const dev_ops vk_ops = {
    .destroy = vk_destroy,
    .supports = vk_supports,
    .alloc = vk_alloc,
    .free = vk_free,
    .upload = vk_upload,
    .download = vk_download,
    .copy = vk_copy,
    .fill = vk_fill,
    .sync = vk_sync,
    /* Every op of device_ops.def but the optional attention_forward (dev_attention_forward runs
     * it as three ops); the fused training attention is named below. */
#define DEV_OP_OPTIONAL(name, NAME, params)
#define DEV_OP(name, NAME, params) .name = vk_##name,
#include "device/device_ops.def"
    .attention_train_forward = vk_attention_train_forward,
    .attention_train_backward = vk_attention_train_backward,
};

static mltc_status open_device(vk_ctx *c, int index) {
    mltc_error *err = c->base.err;
    VkPhysicalDevice pds[64];
    int n = 0;
    mltc_status st = vk_compute_devices(err, c->instance, pds, 64, &n);
    if (st != MLTC_OK) return st;
    if (n == 0) return err_set(err, MLTC_ERR_UNSUPPORTED, "vulkan: no device with a compute queue");
    if (index < 0 || index >= n || index >= 64)
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "vulkan:%d: there are %d Vulkan device(s) (vulkan:0..%d)",
                       index, n, n - 1);
    c->phys = pds[index];
    vkGetPhysicalDeviceProperties(c->phys, &c->props);
    vkGetPhysicalDeviceMemoryProperties(c->phys, &c->memprops);
    c->gemm = vk_gemm_plan_for(c->phys);

    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(c->phys, &nq, NULL);
    VkQueueFamilyProperties q[64];
    if (nq > 64) nq = 64;
    vkGetPhysicalDeviceQueueFamilyProperties(c->phys, &nq, q);
    int fam = -1;
    for (uint32_t i = 0; i < nq; i++) /* prefer a compute-only family: it runs beside graphics */
        if ((q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) {
            fam = (int)i;
            break;
        }
    for (uint32_t i = 0; i < nq && fam < 0; i++)
        if (q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) fam = (int)i;
    c->queue_family = (uint32_t)fam;

    float prio = 1.0f;
    VkDeviceQueueCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                  .queueFamilyIndex = c->queue_family,
                                  .queueCount = 1,
                                  .pQueuePriorities = &prio};
    VkDeviceCreateInfo di = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1,
                             .pQueueCreateInfos = &qi};
    VK_TRY(c, vkCreateDevice(c->phys, &di, NULL, &c->device));
    vkGetDeviceQueue(c->device, c->queue_family, 0, &c->queue);
    if ((st = vk_memory_init(c)) != MLTC_OK) return st;
    if ((st = vk_exec_init(c)) != MLTC_OK) return st;
    if ((st = vk_buffer_create(c, 16, &c->dummy)) != MLTC_OK) return st;
    return MLTC_OK;
}

static mltc_status vk_open(mltc_error *err, int index, dev_ctx **out) {
    *out = NULL;
    vk_ctx *c = calloc(1, sizeof *c);
    if (!c) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "vulkan: cannot allocate a context");
    c->base.ops = &vk_ops;
    c->base.err = err;
    const char *v = getenv("MLTC_VK_VALIDATION");
    c->validation = v && *v && strcmp(v, "0") != 0;
    mltc_status st = vk_instance_create(err, c->validation, c, &c->instance);
    if (st == MLTC_OK) st = open_device(c, index);
    if (st == MLTC_OK && c->validation_errors) /* creating the device must be clean too */
        st = err_set(err, MLTC_ERR_DEVICE, "vulkan: validation error while opening: %s", c->validation_msg);
    if (st != MLTC_OK) {
        vk_destroy(&c->base);
        return st;
    }
    *out = &c->base;
    return MLTC_OK;
}

const dev_backend dev_backend_vulkan = {"vulkan", vk_enumerate, vk_open};
