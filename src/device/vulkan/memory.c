/* Device memory: buffers sub-allocated from a few large blocks (first fit, free ranges merged
 * on release), and host-visible staging memory for uploads and downloads. Few large
 * VkDeviceMemory objects matter because drivers cap their number (often 4096) and each
 * allocation is slow. */
#include <stdlib.h>
#include <string.h>

#include "device/vulkan/internal.h"

#define BLOCK_BYTES ((VkDeviceSize)256 << 20)
#define STAGING_MIN ((VkDeviceSize)16 << 20)
#define STAGING_KEEP ((VkDeviceSize)64 << 20)

static int find_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits, VkMemoryPropertyFlags want) {
    for (uint32_t i = 0; i < mp->memoryTypeCount; i++)
        if ((bits & (1u << i)) && (mp->memoryTypes[i].propertyFlags & want) == want) return (int)i;
    return -1;
}

mltc_status vk_memory_init(vk_ctx *c) {
    VkPhysicalDeviceMaintenance3Properties m3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &m3};
    vkGetPhysicalDeviceProperties2(c->phys, &p2);
    c->block_size = BLOCK_BYTES < m3.maxMemoryAllocationSize ? BLOCK_BYTES : m3.maxMemoryAllocationSize;
    /* A buffer may exceed maxStorageBufferRange: dispatches bind windows of it (vk_arg). */
    c->max_buffer = m3.maxMemoryAllocationSize;

    int dt = find_type(&c->memprops, ~0u, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (dt < 0) dt = find_type(&c->memprops, ~0u, 0);
    int ht = find_type(&c->memprops, ~0u,
                       VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
                           VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    if (ht < 0) ht = find_type(&c->memprops, ~0u, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (dt < 0 || ht < 0)
        return err_set(c->base.err, MLTC_ERR_UNSUPPORTED, "vulkan: %s has no %s memory type", c->props.deviceName,
                       dt < 0 ? "device" : "host-visible coherent");
    c->device_type = (uint32_t)dt;
    c->host_type = (uint32_t)ht;
    return MLTC_OK;
}

static VkDeviceSize align_up(VkDeviceSize v, VkDeviceSize a) { return (v + a - 1) / a * a; }

static mltc_status block_new(vk_ctx *c, VkDeviceSize size, uint32_t type, int dedicated, int *out) {
    int slot = -1;
    for (int i = 0; i < c->nblocks; i++)
        if (!c->blocks[i].mem) slot = i;
    if (slot < 0) {
        if (c->nblocks == c->capblocks) {
            int cap = c->capblocks ? 2 * c->capblocks : 8;
            vk_block *nb = realloc(c->blocks, sizeof *nb * (size_t)cap);
            if (!nb) return err_set(c->base.err, MLTC_ERR_OUT_OF_MEMORY, "vulkan: host memory for block list");
            c->blocks = nb;
            c->capblocks = cap;
        }
        slot = c->nblocks++;
        memset(&c->blocks[slot], 0, sizeof c->blocks[slot]);
    }
    vk_block *b = &c->blocks[slot];
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = size,
                               .memoryTypeIndex = type};
    VkResult r = vkAllocateMemory(c->device, &ai, NULL, &b->mem);
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) {
        b->mem = VK_NULL_HANDLE;
        return err_set(c->base.err, MLTC_ERR_OUT_OF_MEMORY,
                       "vulkan: out of device memory: vkAllocateMemory of %llu bytes failed (%s)",
                       (unsigned long long)size, vk_result_name(r));
    }
    if (r != VK_SUCCESS) {
        b->mem = VK_NULL_HANDLE;
        return vk_fail(c, r, "vkAllocateMemory");
    }
    b->size = size;
    b->used = 0;
    b->dedicated = dedicated;
    b->nfree = 0;
    if (!b->free) {
        b->capfree = 16;
        b->free = malloc(sizeof *b->free * (size_t)b->capfree);
        if (!b->free) {
            vkFreeMemory(c->device, b->mem, NULL);
            b->mem = VK_NULL_HANDLE;
            return err_set(c->base.err, MLTC_ERR_OUT_OF_MEMORY, "vulkan: host memory for free list");
        }
    }
    b->free[b->nfree++] = (vk_range){0, size};
    *out = slot;
    return MLTC_OK;
}

/* First fit inside one block; returns 1 and the offset on success. */
static int block_take(vk_block *b, VkDeviceSize size, VkDeviceSize align, VkDeviceSize *off) {
    for (int i = 0; i < b->nfree; i++) {
        vk_range f = b->free[i];
        VkDeviceSize start = align_up(f.off, align);
        if (start + size > f.off + f.size) continue;
        VkDeviceSize tail = f.off + f.size - (start + size);
        /* Replace range i by the gap before the buffer and the space after it. */
        int pieces = (start > f.off) + (tail > 0);
        if (pieces == 2) {
            if (b->nfree == b->capfree) {
                vk_range *nf = realloc(b->free, sizeof *nf * (size_t)(2 * b->capfree));
                if (!nf) return 0;
                b->free = nf;
                b->capfree *= 2;
            }
            memmove(&b->free[i + 2], &b->free[i + 1], sizeof *b->free * (size_t)(b->nfree - i - 1));
            b->free[i] = (vk_range){f.off, start - f.off};
            b->free[i + 1] = (vk_range){start + size, tail};
            b->nfree++;
        } else if (pieces == 1) {
            b->free[i] = start > f.off ? (vk_range){f.off, start - f.off} : (vk_range){start + size, tail};
        } else {
            memmove(&b->free[i], &b->free[i + 1], sizeof *b->free * (size_t)(b->nfree - i - 1));
            b->nfree--;
        }
        b->used += size;
        *off = start;
        return 1;
    }
    return 0;
}

/* Gives a range back, merging with its neighbours. The list never needs to grow by more than
 * one entry, and when it cannot grow the range is dropped (a leak inside the block, not a crash). */
static void block_give(vk_block *b, VkDeviceSize off, VkDeviceSize size) {
    int i = 0;
    while (i < b->nfree && b->free[i].off < off) i++;
    int merge_prev = i > 0 && b->free[i - 1].off + b->free[i - 1].size == off;
    int merge_next = i < b->nfree && off + size == b->free[i].off;
    b->used -= size;
    if (merge_prev && merge_next) {
        b->free[i - 1].size += size + b->free[i].size;
        memmove(&b->free[i], &b->free[i + 1], sizeof *b->free * (size_t)(b->nfree - i - 1));
        b->nfree--;
    } else if (merge_prev) {
        b->free[i - 1].size += size;
    } else if (merge_next) {
        b->free[i].off = off;
        b->free[i].size += size;
    } else {
        if (b->nfree == b->capfree) {
            vk_range *nf = realloc(b->free, sizeof *nf * (size_t)(2 * b->capfree));
            if (!nf) return;
            b->free = nf;
            b->capfree *= 2;
        }
        memmove(&b->free[i + 1], &b->free[i], sizeof *b->free * (size_t)(b->nfree - i));
        b->free[i] = (vk_range){off, size};
        b->nfree++;
    }
}

static void block_release_if_empty(vk_ctx *c, int i) {
    vk_block *b = &c->blocks[i];
    /* Keep the first shared block: a training step frees and reallocates constantly. */
    if (b->used != 0 || (!b->dedicated && i == 0)) return;
    vkFreeMemory(c->device, b->mem, NULL);
    b->mem = VK_NULL_HANDLE;
    b->nfree = 0;
}

mltc_status vk_buffer_create(vk_ctx *c, size_t bytes, vk_buf **out) {
    *out = NULL;
    if (bytes > c->max_buffer)
        return err_set(c->base.err, MLTC_ERR_OUT_OF_MEMORY,
                       "vulkan: a buffer of %zu bytes exceeds %s's maxMemoryAllocationSize of %llu bytes; "
                       "split it into smaller buffers",
                       bytes, c->props.deviceName, (unsigned long long)c->max_buffer);
    vk_buf *vb = calloc(1, sizeof *vb);
    if (!vb) return err_set(c->base.err, MLTC_ERR_OUT_OF_MEMORY, "vulkan: host memory for a buffer handle");
    vb->base.bytes = bytes;
    vb->block = -1;
    VkBufferCreateInfo bi = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = bytes,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult r = vkCreateBuffer(c->device, &bi, NULL, &vb->buffer);
    c->base.counts.allocations++;
    if (r != VK_SUCCESS) {
        free(vb);
        return vk_fail(c, r, "vkCreateBuffer");
    }
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(c->device, vb->buffer, &req);
    uint32_t type = c->device_type;
    if (!(req.memoryTypeBits & (1u << type))) {
        int t = find_type(&c->memprops, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
        if (t < 0) t = find_type(&c->memprops, req.memoryTypeBits, 0);
        type = (uint32_t)t;
    }
    mltc_status st = MLTC_OK;
    VkDeviceSize off = 0;
    int blk = -1;
    if (req.size > c->block_size || type != c->device_type) {
        st = block_new(c, req.size, type, 1, &blk);
        if (st == MLTC_OK) block_take(&c->blocks[blk], req.size, 1, &off);
    } else {
        for (int i = 0; i < c->nblocks && blk < 0; i++)
            if (c->blocks[i].mem && !c->blocks[i].dedicated && block_take(&c->blocks[i], req.size, req.alignment, &off))
                blk = i;
        if (blk < 0) {
            st = block_new(c, c->block_size, type, 0, &blk);
            if (st == MLTC_OK && !block_take(&c->blocks[blk], req.size, req.alignment, &off))
                st = err_set(c->base.err, MLTC_ERR_OUT_OF_MEMORY, "vulkan: %zu bytes do not fit a fresh block", bytes);
        }
    }
    if (st != MLTC_OK) {
        if (c->base.err && st == MLTC_ERR_OUT_OF_MEMORY)
            err_prefix(c->base.err, "vulkan: allocating a buffer of %zu bytes: ", bytes);
        vkDestroyBuffer(c->device, vb->buffer, NULL);
        free(vb);
        return st;
    }
    vb->block = blk;
    vb->off = off;
    vb->size = req.size;
    r = vkBindBufferMemory(c->device, vb->buffer, c->blocks[blk].mem, off);
    if (r != VK_SUCCESS) {
        vk_buffer_destroy(c, vb);
        return vk_fail(c, r, "vkBindBufferMemory");
    }
    vb->next = c->live;
    if (c->live) c->live->prev = vb;
    c->live = vb;
    *out = vb;
    return MLTC_OK;
}

void vk_buffer_destroy(vk_ctx *c, vk_buf *b) {
    if (!b) return;
    if (b->prev) b->prev->next = b->next;
    else if (c->live == b) c->live = b->next;
    if (b->next) b->next->prev = b->prev;
    if (b->buffer) vkDestroyBuffer(c->device, b->buffer, NULL);
    if (b->block >= 0) {
        block_give(&c->blocks[b->block], b->off, b->size);
        block_release_if_empty(c, b->block);
    }
    free(b);
}

static int push_buf(vk_buf ***list, int *n, int *cap, vk_buf *b) {
    if (*n == *cap) {
        int nc = *cap ? 2 * *cap : 16;
        vk_buf **nl = realloc(*list, sizeof *nl * (size_t)nc);
        if (!nl) return 0;
        *list = nl;
        *cap = nc;
    }
    (*list)[(*n)++] = b;
    return 1;
}

mltc_status vk_scratch_get(vk_ctx *c, size_t bytes, vk_buf **out) {
    int best = -1;
    for (int i = 0; i < c->nscratch_free; i++) {
        size_t have = c->scratch_free[i]->base.bytes;
        if (have >= bytes && (best < 0 || have < c->scratch_free[best]->base.bytes)) best = i;
    }
    if (best < 0) return vk_buffer_create(c, bytes, out);
    *out = c->scratch_free[best];
    c->scratch_free[best] = c->scratch_free[--c->nscratch_free];
    return MLTC_OK;
}

void vk_scratch_put(vk_ctx *c, vk_buf *b) {
    if (!b) return;
    int idle = !c->recording || c->commands == 0;
    if (idle && c->nsubmitted == 0) {
        if (!push_buf(&c->scratch_free, &c->nscratch_free, &c->capscratch_free, b)) vk_buffer_destroy(c, b);
        return;
    }
    /* Without room in the list the buffer is simply freed once the batch is done. */
    if (!push_buf(&c->scratch_busy, &c->nscratch_busy, &c->capscratch_busy, b)) vk_buffer_release(c, b);
}

void vk_scratch_done(vk_ctx *c) {
    for (int i = 0; i < c->nscratch_busy; i++)
        if (!push_buf(&c->scratch_free, &c->nscratch_free, &c->capscratch_free, c->scratch_busy[i]))
            vk_buffer_destroy(c, c->scratch_busy[i]);
    c->nscratch_busy = 0;
}

void vk_buffer_release(vk_ctx *c, vk_buf *b) {
    if (!b) return;
    if ((!c->recording || c->commands == 0) && c->nsubmitted == 0) {
        vk_buffer_destroy(c, b);
        return;
    }
    if (c->ndeferred == c->capdeferred) {
        int cap = c->capdeferred ? 2 * c->capdeferred : 16;
        vk_buf **nd = realloc(c->deferred, sizeof *nd * (size_t)cap);
        if (!nd) { /* cannot defer: wait for the device instead of freeing memory in use */
            vk_submit(c, 0);
            vk_buffer_destroy(c, b);
            return;
        }
        c->deferred = nd;
        c->capdeferred = cap;
    }
    c->deferred[c->ndeferred++] = b;
}

mltc_status vk_staging_get(vk_ctx *c, VkDeviceSize bytes, vk_staging **out, VkDeviceSize *off) {
    for (int i = 0; i < c->nstaging; i++) {
        vk_staging *s = &c->staging[i];
        VkDeviceSize start = align_up(s->used, 16);
        if (start + bytes <= s->size) {
            s->used = start + bytes;
            *out = s;
            *off = start;
            return MLTC_OK;
        }
    }
    if (c->nstaging == c->capstaging) {
        int cap = c->capstaging ? 2 * c->capstaging : 4;
        vk_staging *ns = realloc(c->staging, sizeof *ns * (size_t)cap);
        if (!ns) return err_set(c->base.err, MLTC_ERR_OUT_OF_MEMORY, "vulkan: host memory for staging list");
        c->staging = ns;
        c->capstaging = cap;
    }
    vk_staging *s = &c->staging[c->nstaging];
    memset(s, 0, sizeof *s);
    s->size = align_up(bytes > STAGING_MIN ? bytes : STAGING_MIN, 4096);
    VkBufferCreateInfo bi = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = s->size,
        .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VK_TRY(c, vkCreateBuffer(c->device, &bi, NULL, &s->buffer));
    c->base.counts.allocations++;
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(c->device, s->buffer, &req);
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                               .memoryTypeIndex = c->host_type};
    VkResult r = vkAllocateMemory(c->device, &ai, NULL, &s->mem);
    if (r == VK_SUCCESS) r = vkBindBufferMemory(c->device, s->buffer, s->mem, 0);
    if (r == VK_SUCCESS) r = vkMapMemory(c->device, s->mem, 0, VK_WHOLE_SIZE, 0, &s->map);
    if (r != VK_SUCCESS) {
        vkDestroyBuffer(c->device, s->buffer, NULL);
        if (s->mem) vkFreeMemory(c->device, s->mem, NULL);
        if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
            return err_set(c->base.err, MLTC_ERR_OUT_OF_MEMORY, "vulkan: staging memory of %llu bytes: %s",
                           (unsigned long long)req.size, vk_result_name(r));
        return vk_fail(c, r, "allocating staging memory");
    }
    c->nstaging++;
    s->used = bytes;
    *out = s;
    *off = 0;
    return MLTC_OK;
}

static void staging_free(vk_ctx *c, vk_staging *s) {
    if (s->map) vkUnmapMemory(c->device, s->mem);
    vkDestroyBuffer(c->device, s->buffer, NULL);
    vkFreeMemory(c->device, s->mem, NULL);
}

void vk_staging_reset(vk_ctx *c) {
    /* Keep a modest amount for the next batch; a one-off large upload gives its memory back. */
    VkDeviceSize kept = 0;
    int n = 0;
    for (int i = 0; i < c->nstaging; i++) {
        vk_staging *s = &c->staging[i];
        if (kept + s->size <= STAGING_KEEP) {
            s->used = 0;
            kept += s->size;
            c->staging[n++] = *s;
        } else {
            staging_free(c, s);
        }
    }
    c->nstaging = n;
}

VkDeviceSize vk_staging_pending(const vk_ctx *c) {
    VkDeviceSize t = 0;
    for (int i = 0; i < c->nstaging; i++) t += c->staging[i].used;
    return t;
}

void vk_memory_destroy(vk_ctx *c) {
    for (int i = 0; i < c->nstaging; i++) staging_free(c, &c->staging[i]);
    free(c->staging);
    c->staging = NULL;
    c->nstaging = c->capstaging = 0;
    for (int i = 0; i < c->nblocks; i++) {
        if (c->blocks[i].mem) vkFreeMemory(c->device, c->blocks[i].mem, NULL);
        free(c->blocks[i].free);
    }
    free(c->blocks);
    c->blocks = NULL;
    c->nblocks = c->capblocks = 0;
}
