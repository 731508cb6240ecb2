/* Recording: every op becomes a dispatch (or a transfer) in a command buffer, with a barrier
 * only where a command touches bytes an earlier command, not yet behind a barrier, wrote (or
 * writes bytes one read). Every VK_CHUNK_COMMANDS commands the command buffer is submitted
 * without waiting and recording goes on in the next, so the device works while the host
 * records; the host waits only at dev_sync or dev_download, once for everything submitted.
 * Pipelines are made on first use and kept for the context's life; descriptor sets come from
 * pools that are reset after each wait. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/embedded.h"
#include "device/vulkan/internal.h"

#define SETS_PER_POOL 512

mltc_status vk_exec_init(vk_ctx *c) {
    for (int n = 1; n <= VK_MAX_BINDINGS; n++) {
        VkDescriptorSetLayoutBinding b[VK_MAX_BINDINGS];
        for (int i = 0; i < n; i++)
            b[i] = (VkDescriptorSetLayoutBinding){.binding = (uint32_t)i,
                                                  .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                                  .descriptorCount = 1,
                                                  .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
        VkDescriptorSetLayoutCreateInfo li = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                              .bindingCount = (uint32_t)n,
                                              .pBindings = b};
        VK_TRY(c, vkCreateDescriptorSetLayout(c->device, &li, NULL, &c->set_layouts[n]));
        VkPushConstantRange pr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = VK_PUSH_BYTES};
        VkPipelineLayoutCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                         .setLayoutCount = 1,
                                         .pSetLayouts = &c->set_layouts[n],
                                         .pushConstantRangeCount = 1,
                                         .pPushConstantRanges = &pr};
        VK_TRY(c, vkCreatePipelineLayout(c->device, &pi, NULL, &c->layouts[n]));
    }
    VkCommandPoolCreateInfo cp = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                  .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                  .queueFamilyIndex = c->queue_family};
    VK_TRY(c, vkCreateCommandPool(c->device, &cp, NULL, &c->cmd_pool));
    VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VK_TRY(c, vkCreateFence(c->device, &fi, NULL, &c->fence));
    return MLTC_OK;
}

void vk_exec_destroy(vk_ctx *c) {
    if (!c->device) return;
    for (int i = 0; i < c->npipes; i++) {
        vkDestroyPipeline(c->device, c->pipes[i].pipeline, NULL);
        vkDestroyShaderModule(c->device, c->pipes[i].module, NULL);
    }
    free(c->pipes);
    c->pipes = NULL;
    c->npipes = 0;
    for (int i = 0; i < c->npools; i++) vkDestroyDescriptorPool(c->device, c->pools[i], NULL);
    free(c->pools);
    c->pools = NULL;
    c->npools = 0;
    for (int n = 1; n <= VK_MAX_BINDINGS; n++) {
        if (c->layouts[n]) vkDestroyPipelineLayout(c->device, c->layouts[n], NULL);
        if (c->set_layouts[n]) vkDestroyDescriptorSetLayout(c->device, c->set_layouts[n], NULL);
    }
    if (c->fence) vkDestroyFence(c->device, c->fence, NULL);
    if (c->cmd_pool) vkDestroyCommandPool(c->device, c->cmd_pool, NULL);
}

mltc_status vk_begin(vk_ctx *c) {
    if (c->lost) return err_set(c->base.err, MLTC_ERR_DEVICE, "vulkan: the device was lost earlier; reopen it");
    if (c->recording) return MLTC_OK;
    if (c->nsubmitted == c->ncmds) {
        VkCommandBufferAllocateInfo ca = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                          .commandPool = c->cmd_pool,
                                          .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                          .commandBufferCount = 1};
        VK_TRY(c, vkAllocateCommandBuffers(c->device, &ca, &c->cmds[c->ncmds]));
        c->ncmds++;
    }
    c->cmd = c->cmds[c->nsubmitted];
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    VK_TRY(c, vkBeginCommandBuffer(c->cmd, &bi));
    c->recording = 1;
    c->commands = 0;
    /* After a wait nothing earlier is running; after a submit without one, the accesses of the
     * chunks still in flight stay listed (a barrier orders them across command buffers). */
    if (c->nsubmitted == 0) c->nwritten = c->nread = 0;
    return MLTC_OK;
}

static int overlaps(const vk_access *set, int n, const vk_access *a) {
    for (int i = 0; i < n; i++)
        if (set[i].buf == a->buf && set[i].lo < a->hi && a->lo < set[i].hi) return 1;
    return 0;
}

/* Adds a range to a list, merged into one of the same buffer that it touches or overlaps. */
static void remember(vk_access *set, int *n, const vk_access *a) {
    for (int i = 0; i < *n; i++)
        if (set[i].buf == a->buf && set[i].lo <= a->hi && a->lo <= set[i].hi) {
            if (a->lo < set[i].lo) set[i].lo = a->lo;
            if (a->hi > set[i].hi) set[i].hi = a->hi;
            return;
        }
    set[(*n)++] = *a;
}

static void barrier(vk_ctx *c) {
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                           VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    VkPipelineStageFlags st = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    vkCmdPipelineBarrier(c->cmd, st, st, 0, 1, &mb, 0, NULL, 0, NULL);
    c->base.counts.barriers++;
    c->nwritten = c->nread = 0;
}

void vk_hazard(vk_ctx *c, const vk_access *reads, int nreads, const vk_access *writes, int nwrites) {
    int need = 0;
    for (int i = 0; i < nreads && !need; i++) need = overlaps(c->written, c->nwritten, &reads[i]);
    for (int i = 0; i < nwrites && !need; i++)
        need = overlaps(c->written, c->nwritten, &writes[i]) || overlaps(c->read, c->nread, &writes[i]);
    /* When the lists would overflow, a barrier is the safe answer. */
    if (!need && (c->nwritten + nwrites > VK_MAX_ACCESSES || c->nread + nreads > VK_MAX_ACCESSES)) need = 1;
    if (need) barrier(c);
    for (int i = 0; i < nreads; i++) remember(c->read, &c->nread, &reads[i]);
    for (int i = 0; i < nwrites; i++) remember(c->written, &c->nwritten, &writes[i]);
    c->commands++;
}

/* Ends and submits the command buffer being recorded; with fence, the one the host waits on. */
static mltc_status submit_current(vk_ctx *c, VkFence fence) {
    c->recording = 0;
    VkResult r = vkEndCommandBuffer(c->cmd);
    if (r != VK_SUCCESS) return vk_fail(c, r, "vkEndCommandBuffer");
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &c->cmd};
    r = vkQueueSubmit(c->queue, 1, &si, fence);
    c->base.counts.submits++;
    if (r != VK_SUCCESS) return vk_fail(c, r, "vkQueueSubmit");
    c->nsubmitted++;
    return MLTC_OK;
}

mltc_status vk_chunk_check(vk_ctx *c) {
    if (!c->recording || c->commands < VK_CHUNK_COMMANDS) return MLTC_OK;
    if (c->nsubmitted + 1 >= VK_MAX_CHUNKS) return vk_submit(c, 0);
    return submit_current(c, VK_NULL_HANDLE);
}

void vk_batch_done(vk_ctx *c) {
    for (int i = 0; i < c->npools; i++) vkResetDescriptorPool(c->device, c->pools[i], 0);
    c->pool_cur = 0;
    vk_staging_reset(c);
    vk_scratch_done(c);
    for (int i = 0; i < c->ndeferred; i++) vk_buffer_destroy(c, c->deferred[i]);
    c->ndeferred = 0;
}

mltc_status vk_submit(vk_ctx *c, int host_read) {
    if (c->lost) return err_set(c->base.err, MLTC_ERR_DEVICE, "vulkan: the device was lost earlier; reopen it");
    mltc_status st = MLTC_OK;
    if (c->recording || c->nsubmitted > 0) {
        if (!c->recording) st = vk_begin(c); /* an empty command buffer carries the fence */
        if (st == MLTC_OK && host_read) {
            VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                                  .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_WRITE_BIT,
                                  .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
            vkCmdPipelineBarrier(c->cmd, VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                 VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
            c->base.counts.barriers++;
        }
        if (st == MLTC_OK) st = submit_current(c, c->fence);
        if (st == MLTC_OK) {
            /* The fence covers every command submitted before it on this queue: every chunk. */
            VkResult r = vkWaitForFences(c->device, 1, &c->fence, VK_TRUE, UINT64_MAX);
            c->base.counts.host_waits++;
            if (r != VK_SUCCESS) st = vk_fail(c, r, "vkWaitForFences");
            else if ((r = vkResetFences(c->device, 1, &c->fence)) != VK_SUCCESS) st = vk_fail(c, r, "vkResetFences");
        }
        /* After a lost device nothing may be freed safely; otherwise the batch is over (a
         * download first copies its data out of staging memory, then ends the batch). */
        if (!c->lost) {
            c->recording = 0;
            for (int i = 0; i < c->nsubmitted; i++) {
                VkResult rr = vkResetCommandBuffer(c->cmds[i], 0);
                if (rr != VK_SUCCESS && st == MLTC_OK) st = vk_fail(c, rr, "vkResetCommandBuffer");
            }
            c->nsubmitted = 0;
            if (!host_read) vk_batch_done(c);
        }
    }
    if (st == MLTC_OK && c->validation_errors) {
        st = err_set(c->base.err, MLTC_ERR_DEVICE, "vulkan: %d validation error(s); first: %s", c->validation_errors,
                     c->validation_msg);
        c->validation_errors = 0;
    }
    return st;
}

/* With MLTC_VK_PIPELINE_LOG=FILE, each pipeline created is appended to FILE as "shader spec0
 * spec1": the variants tools/shader_stats.c compiles for another GPU. Best effort: a log that
 * cannot be written changes nothing else. */
static void log_pipeline(const vk_pipeline *p) {
    const char *path = getenv("MLTC_VK_PIPELINE_LOG");
    if (!path || !*path) return;
    FILE *f = fopen(path, "a");
    if (!f) return;
    fprintf(f, "%s %d %d\n", p->name, p->spec[0], p->spec[1]);
    fclose(f);
}

static mltc_status get_pipeline(vk_ctx *c, const char *name, int spec0, int spec1, int nbind, vk_pipeline **out) {
    for (int i = 0; i < c->npipes; i++) {
        vk_pipeline *p = &c->pipes[i];
        if (p->spec[0] == spec0 && p->spec[1] == spec1 && strcmp(p->name, name) == 0) {
            if (p->nbind != nbind)
                return err_set(c->base.err, MLTC_ERR_INVALID_ARGUMENT, "vulkan: shader %s used with %d and %d bindings",
                               name, p->nbind, nbind);
            *out = p;
            return MLTC_OK;
        }
    }
    const mltc_embedded_file *spv = mltc_embedded_find(mltc_spirv, name);
    if (!spv) return err_set(c->base.err, MLTC_ERR_UNSUPPORTED, "vulkan: shader '%s' is not in this build", name);
    if (c->npipes == c->cappipes) {
        int cap = c->cappipes ? 2 * c->cappipes : 32;
        vk_pipeline *np = realloc(c->pipes, sizeof *np * (size_t)cap);
        if (!np) return err_set(c->base.err, MLTC_ERR_OUT_OF_MEMORY, "vulkan: host memory for pipelines");
        c->pipes = np;
        c->cappipes = cap;
    }
    vk_pipeline *p = &c->pipes[c->npipes];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->spec[0] = spec0;
    p->spec[1] = spec1;
    p->nbind = nbind;
    VkShaderModuleCreateInfo mi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                   .codeSize = spv->size,
                                   .pCode = (const uint32_t *)spv->data};
    VkResult r = vkCreateShaderModule(c->device, &mi, NULL, &p->module);
    if (r != VK_SUCCESS) return vk_fail(c, r, "vkCreateShaderModule");
    int32_t values[2] = {spec0, spec1};
    VkSpecializationMapEntry map[2] = {{0, 0, 4}, {1, 4, 4}};
    VkSpecializationInfo si = {.mapEntryCount = 2, .pMapEntries = map, .dataSize = sizeof values, .pData = values};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = p->module,
                  .pName = "main",
                  .pSpecializationInfo = &si},
        .layout = c->layouts[nbind],
    };
    r = vkCreateComputePipelines(c->device, VK_NULL_HANDLE, 1, &ci, NULL, &p->pipeline);
    if (r != VK_SUCCESS) {
        vkDestroyShaderModule(c->device, p->module, NULL);
        mltc_status st = vk_fail(c, r, "vkCreateComputePipelines");
        err_prefix(c->base.err, "shader %s: ", name);
        return st;
    }
    c->npipes++;
    *out = p;
    log_pipeline(p);
    return MLTC_OK;
}

static mltc_status alloc_set(vk_ctx *c, int nbind, VkDescriptorSet *set) {
    for (;;) {
        if (c->pool_cur == c->npools) {
            if (c->npools == c->cappools) {
                int cap = c->cappools ? 2 * c->cappools : 4;
                VkDescriptorPool *np = realloc(c->pools, sizeof *np * (size_t)cap);
                if (!np) return err_set(c->base.err, MLTC_ERR_OUT_OF_MEMORY, "vulkan: host memory for pools");
                c->pools = np;
                c->cappools = cap;
            }
            VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * VK_MAX_BINDINGS};
            VkDescriptorPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                             .maxSets = SETS_PER_POOL,
                                             .poolSizeCount = 1,
                                             .pPoolSizes = &ps};
            VK_TRY(c, vkCreateDescriptorPool(c->device, &pi, NULL, &c->pools[c->npools]));
            c->npools++;
        }
        VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                          .descriptorPool = c->pools[c->pool_cur],
                                          .descriptorSetCount = 1,
                                          .pSetLayouts = &c->set_layouts[nbind]};
        VkResult r = vkAllocateDescriptorSets(c->device, &ai, set);
        if (r == VK_SUCCESS) return MLTC_OK;
        if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL) return vk_fail(c, r, "vkAllocateDescriptorSets");
        c->pool_cur++; /* this pool is full until the batch ends */
    }
}

size_t vk_window_elems(const vk_ctx *c) {
    size_t e = (c->props.limits.maxStorageBufferRange - c->props.limits.minStorageBufferOffsetAlignment) / 4;
    return e / 4096 * 4096;
}

/* Binds a window of a buffer larger than maxStorageBufferRange (see vk_arg). */
static mltc_status window(vk_ctx *c, const char *op, int i, const vk_arg *a, vk_buf *b, uint32_t *pcw,
                          uint32_t push_bytes, VkDescriptorBufferInfo *info) {
    VkDeviceSize align = c->props.limits.minStorageBufferOffsetAlignment, range = c->props.limits.maxStorageBufferRange;
    VkDeviceSize off = (VkDeviceSize)a->off * 4, base = off / align * align;
    VkDeviceSize len = b->base.bytes - base < range ? b->base.bytes - base : range / 4 * 4;
    if (a->slot < 0 || (uint32_t)a->slot >= push_bytes / 4)
        return err_set(c->base.err, MLTC_ERR_INVALID_ARGUMENT,
                       "vulkan %s: binding %d cannot address a %zu-byte buffer (larger than maxStorageBufferRange %u)",
                       op, i, b->base.bytes, c->props.limits.maxStorageBufferRange);
    if (off - base + (VkDeviceSize)a->span * 4 > len)
        return err_set(c->base.err, MLTC_ERR_INVALID_ARGUMENT,
                       "vulkan %s: binding %d spans %zu elements from element %zu, more than one "
                       "maxStorageBufferRange (%u bytes) window; use smaller tensors",
                       op, i, a->span, a->off, c->props.limits.maxStorageBufferRange);
    pcw[a->slot] = (uint32_t)((off - base) / 4);
    info->offset = base;
    info->range = len;
    return MLTC_OK;
}

mltc_status vk_dispatch(vk_ctx *c, const char *op, const char *name, int spec0, int spec1, const vk_arg *args,
                        int nargs, const void *push, uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz) {
    if (nargs < 1 || nargs > VK_MAX_BINDINGS || push_bytes > VK_PUSH_BYTES || push_bytes % 4)
        return err_set(c->base.err, MLTC_ERR_INVALID_ARGUMENT, "vulkan %s: %d bindings, %u push bytes", op, nargs,
                       push_bytes);
    if (gx == 0 || gy == 0 || gz == 0) return MLTC_OK; /* nothing to do */
    const uint32_t *maxg = c->props.limits.maxComputeWorkGroupCount;
    if (gx > maxg[0] || gy > maxg[1] || gz > maxg[2])
        return err_set(c->base.err, MLTC_ERR_INVALID_ARGUMENT,
                       "vulkan %s: %u x %u x %u work groups exceed the device limit %u x %u x %u", op, gx, gy, gz,
                       maxg[0], maxg[1], maxg[2]);
    mltc_status st = vk_chunk_check(c);
    if (st != MLTC_OK) return st;
    vk_pipeline *p = NULL;
    st = get_pipeline(c, name, spec0, spec1, nargs, &p);
    if (st != MLTC_OK) {
        err_prefix(c->base.err, "%s: ", op);
        return st;
    }
    if ((st = vk_begin(c)) != MLTC_OK) return st;
    VkDescriptorSet set;
    if ((st = alloc_set(c, nargs, &set)) != MLTC_OK) return st;

    vk_access reads[VK_MAX_BINDINGS], writes[VK_MAX_BINDINGS];
    VkDescriptorBufferInfo info[VK_MAX_BINDINGS];
    VkWriteDescriptorSet w[VK_MAX_BINDINGS];
    uint32_t pcw[VK_PUSH_BYTES / 4];
    memcpy(pcw, push, push_bytes);
    int nr = 0, nw = 0;
    for (int i = 0; i < nargs; i++) {
        vk_buf *b = args[i].buf ? vk_b(args[i].buf) : c->dummy;
        info[i] = (VkDescriptorBufferInfo){b->buffer, 0, VK_WHOLE_SIZE};
        /* The bytes the dispatch may touch, which are the bytes bound: the view's span from its
         * offset (rounded down to the binding alignment; the shader finds the rest of the offset
         * in its push constants), or the whole buffer for scratch. Binding no more than that lets
         * independent dispatches on one buffer run unordered, for the driver and for the
         * synchronization validation alike. */
        VkDeviceSize lo = 0, hi = b->base.bytes;
        if (b->base.bytes > c->props.limits.maxStorageBufferRange) {
            if ((st = window(c, op, i, &args[i], b, pcw, push_bytes, &info[i])) != MLTC_OK) return st;
            lo = info[i].offset;
            hi = info[i].offset + info[i].range;
        } else if (args[i].buf && args[i].slot >= 0 && (uint32_t)args[i].slot < push_bytes / 4 && args[i].span > 0) {
            VkDeviceSize align = c->props.limits.minStorageBufferOffsetAlignment;
            VkDeviceSize off = (VkDeviceSize)args[i].off * 4, end = off + (VkDeviceSize)args[i].span * 4;
            if (end > b->base.bytes || end < off) end = b->base.bytes;
            lo = off / align * align;
            hi = end;
            info[i].offset = lo;
            info[i].range = hi - lo;
            pcw[args[i].slot] = (uint32_t)((off - lo) / 4);
        }
        w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                      .dstSet = set,
                                      .dstBinding = (uint32_t)i,
                                      .descriptorCount = 1,
                                      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                      .pBufferInfo = &info[i]};
        if (!args[i].buf) continue; /* the dummy is never written */
        vk_access a = {b->buffer, lo, hi};
        if (args[i].write) writes[nw++] = a;
        else reads[nr++] = a;
    }
    vkUpdateDescriptorSets(c->device, (uint32_t)nargs, w, 0, NULL);
    vk_hazard(c, reads, nr, writes, nw);
    vkCmdBindPipeline(c->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
    vkCmdBindDescriptorSets(c->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, c->layouts[nargs], 0, 1, &set, 0, NULL);
    if (push_bytes) vkCmdPushConstants(c->cmd, c->layouts[nargs], VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, pcw);
    vkCmdDispatch(c->cmd, gx, gy, gz);
    c->base.counts.dispatches++;
    return MLTC_OK;
}

void vk_groups_2d(const vk_ctx *c, uint64_t items, uint32_t per_group, uint32_t *gx, uint32_t *gy) {
    uint64_t groups = (items + per_group - 1) / per_group;
    uint64_t maxx = c->props.limits.maxComputeWorkGroupCount[0];
    if (groups <= maxx) {
        *gx = (uint32_t)groups;
        *gy = groups ? 1 : 0;
    } else {
        *gx = (uint32_t)maxx;
        *gy = (uint32_t)((groups + maxx - 1) / maxx);
    }
}
