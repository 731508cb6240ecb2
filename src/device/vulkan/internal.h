/* Shared by the Vulkan backend's files: the context, buffers, the sub-allocator, the
 * recorder that turns ops into dispatches in one command buffer, and the op entry points. */
#ifndef MLTC_DEVICE_VULKAN_INTERNAL_H
#define MLTC_DEVICE_VULKAN_INTERNAL_H

#include <vulkan/vulkan.h>

#include "device/device.h"

/* Push constants every shader may use; 128 bytes is the minimum every device grants. */
#define VK_PUSH_BYTES 128
/* Most storage buffers one dispatch binds. */
#define VK_MAX_BINDINGS 9
/* Commands recorded into one command buffer before it is submitted, without waiting, so the
 * device starts on a step while the host records the rest of it. */
#define VK_CHUNK_COMMANDS 128
/* Command buffers submitted and not yet waited for, at most: a caller that never syncs then
 * waits, which bounds descriptor and staging memory. */
#define VK_MAX_CHUNKS 64
/* Accesses remembered since the last barrier, per kind (reads, writes); more take a barrier. */
#define VK_MAX_ACCESSES 256

/* ---- memory ---------------------------------------------------------------------------- */

typedef struct vk_range {
    VkDeviceSize off, size;
} vk_range;

/* Bytes [lo, hi) of a buffer that a command reads or writes. */
typedef struct vk_access {
    VkBuffer buf;
    VkDeviceSize lo, hi;
} vk_access;

/* One VkDeviceMemory carved into buffers; free ranges kept sorted by offset and merged. */
typedef struct vk_block {
    VkDeviceMemory mem;
    VkDeviceSize size;
    VkDeviceSize used;
    vk_range *free;
    int nfree, capfree;
    int dedicated; /* a single buffer larger than the block size */
} vk_block;

typedef struct vk_buf {
    dev_buf base; /* must be first */
    VkBuffer buffer;
    int block;         /* index into ctx->blocks */
    VkDeviceSize off;  /* offset inside the block */
    VkDeviceSize size; /* bytes taken from the block */
    struct vk_buf *prev, *next; /* every live buffer, freed with the context */
} vk_buf;

/* Host-visible memory for uploads and downloads; a bump allocator reset after each submit. */
typedef struct vk_staging {
    VkBuffer buffer;
    VkDeviceMemory mem;
    void *map;
    VkDeviceSize size, used;
} vk_staging;

/* ---- pipelines ------------------------------------------------------------------------- */

typedef struct vk_pipeline {
    char name[48];
    int spec[2];
    int nbind;
    VkShaderModule module;
    VkPipeline pipeline;
} vk_pipeline;

/* ---- GEMM tiles (gemm_tiles.c) ----------------------------------------------------------- */

enum { VK_GEMM_LARGE, VK_GEMM_MEDIUM, VK_GEMM_SMALL }; /* tiles of 128, 64, 32 (shaders/gemm.comp) */

typedef struct vk_gemm_plan {
    const char *table;     /* the vendor table in use */
    int units;             /* compute units assumed */
    int units_from_driver; /* counted by the driver, not taken from the table */
    long min_groups;       /* a product takes the largest tile that launches this many groups */
    int forced;            /* MLTC_VK_GEMM_TILE, or -1 */
} vk_gemm_plan;

vk_gemm_plan vk_gemm_plan_for(VkPhysicalDevice pd);
int vk_gemm_tile_side(int tile);
typedef struct vk_gemm_shape {
    int tile;
    int splits;   /* split-K: partial products over k_chunk of k each, then summed; 1: none */
    long k_chunk;
} vk_gemm_shape;
/* The tile and the split of k for an m x n x k product repeated `problems` times. */
vk_gemm_shape vk_gemm_plan_product(const vk_gemm_plan *plan, long m, long n, long k, long problems);
void vk_gemm_plan_describe(const vk_gemm_plan *plan, char *out, size_t size);

/* ---- the context ----------------------------------------------------------------------- */

typedef struct vk_ctx {
    dev_ctx base; /* must be first */
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice phys;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties memprops;
    vk_gemm_plan gemm;
    uint32_t device_type; /* memory type index for buffers */
    uint32_t host_type;   /* memory type index for staging */
    VkDeviceSize block_size;
    VkDeviceSize max_buffer; /* largest buffer: maxMemoryAllocationSize */

    vk_block *blocks;
    int nblocks, capblocks;

    vk_staging *staging;
    int nstaging, capstaging;

    VkDescriptorSetLayout set_layouts[VK_MAX_BINDINGS + 1]; /* by binding count */
    VkPipelineLayout layouts[VK_MAX_BINDINGS + 1];
    vk_pipeline *pipes;
    int npipes, cappipes;

    VkDescriptorPool *pools;
    int npools, cappools, pool_cur;

    VkCommandPool cmd_pool;
    VkCommandBuffer cmds[VK_MAX_CHUNKS]; /* cmds[nsubmitted] is the one being recorded */
    VkCommandBuffer cmd;                 /* the one being recorded */
    int ncmds;                           /* allocated so far */
    int nsubmitted;                      /* submitted since the last wait, still possibly running */
    VkFence fence;
    int recording;
    int commands; /* recorded into the current command buffer */

    /* Byte ranges written or read since the last barrier (across chunks submitted since the last
     * wait): a later command that reads a written range, or writes a range read or written,
     * needs a barrier first; commands on disjoint ranges share one. */
    vk_access written[VK_MAX_ACCESSES], read[VK_MAX_ACCESSES];
    int nwritten, nread;

    /* Buffers freed while commands that use them may still be pending. */
    vk_buf **deferred;
    int ndeferred, capdeferred;

    /* Scratch buffers of multi-dispatch ops (partial sums): free ones, and ones handed back
     * during the batch that pending commands may still use. A warmed-up step finds all it
     * needs in the pool and creates no buffer. */
    vk_buf **scratch_free, **scratch_busy;
    int nscratch_free, nscratch_busy, capscratch_free, capscratch_busy;

    vk_buf *live;  /* list of buffers not yet freed */
    vk_buf *dummy; /* bound where an optional argument is absent */
    int lost;      /* VK_ERROR_DEVICE_LOST seen: every later call fails */
    int validation;
    int validation_errors;
    char validation_msg[512];
} vk_ctx;

static inline vk_buf *vk_b(dev_buf *b) { return (vk_buf *)b; }

/* error.c */
const char *vk_result_name(VkResult r);
/* MLTC_ERR_DEVICE (or OUT_OF_MEMORY / lost) naming the call and the result. */
mltc_status vk_fail(vk_ctx *c, VkResult r, const char *call);
#define VK_TRY(c, call)                                                                                           \
    do {                                                                                                          \
        VkResult r_ = (call);                                                                                     \
        if (r_ != VK_SUCCESS) return vk_fail((c), r_, #call);                                                     \
    } while (0)

/* info.c: the backend's enumerate entry */
mltc_status vk_enumerate(mltc_error *err, mltc_device_info *infos, int max, int *count);

/* instance.c */
mltc_status vk_instance_create(mltc_error *err, int validation, vk_ctx *c, VkInstance *out);
void vk_instance_destroy(vk_ctx *c);
/* Vulkan 1.1+ physical devices with a compute queue, in the order the loader lists them. */
mltc_status vk_compute_devices(mltc_error *err, VkInstance inst, VkPhysicalDevice *out, int max, int *count);
int vk_has_device_ext(VkPhysicalDevice pd, const char *name);

/* memory.c */
mltc_status vk_memory_init(vk_ctx *c);
void vk_memory_destroy(vk_ctx *c);
mltc_status vk_buffer_create(vk_ctx *c, size_t bytes, vk_buf **out);
void vk_buffer_destroy(vk_ctx *c, vk_buf *b);
/* Frees now, or after the pending batch when commands may still use the buffer. */
void vk_buffer_release(vk_ctx *c, vk_buf *b);
/* A scratch buffer of at least `bytes` from the pool (the smallest free one that fits), created
 * when none does; hand it back with vk_scratch_put once its dispatches are recorded. */
mltc_status vk_scratch_get(vk_ctx *c, size_t bytes, vk_buf **out);
void vk_scratch_put(vk_ctx *c, vk_buf *b);
/* After a batch is done: every scratch buffer handed back is free again. */
void vk_scratch_done(vk_ctx *c);
/* A slice of host-visible memory valid until the next submit completes. */
mltc_status vk_staging_get(vk_ctx *c, VkDeviceSize bytes, vk_staging **s, VkDeviceSize *off);
void vk_staging_reset(vk_ctx *c);
/* Bytes staged since the last submit (uploads flush when this grows large). */
VkDeviceSize vk_staging_pending(const vk_ctx *c);

/* exec.c */
mltc_status vk_exec_init(vk_ctx *c);
void vk_exec_destroy(vk_ctx *c);
mltc_status vk_begin(vk_ctx *c);
/* Declares the byte ranges a command reads and writes; inserts a barrier when it depends on an
 * earlier command not yet behind one. */
void vk_hazard(vk_ctx *c, const vk_access *reads, int nreads, const vk_access *writes, int nwrites);
/* Before recording a command: submits the command buffer, without waiting, when it is full. */
mltc_status vk_chunk_check(vk_ctx *c);
/* Ends, submits and waits for the batch. host_read adds the barrier that makes transfer
 * writes visible to the host and leaves staging memory alone: the caller reads it, then
 * calls vk_batch_done. */
mltc_status vk_submit(vk_ctx *c, int host_read);
/* Resets descriptor pools and staging memory and frees buffers released during the batch. */
void vk_batch_done(vk_ctx *c);

/* One storage buffer of a dispatch. Buffers up to maxStorageBufferRange are bound whole and
 * the shader adds the view offset it finds in the push constants. A larger buffer is bound
 * as a window that starts at (or just below, for alignment) the view: `span` elements from
 * `off` must fit in it, and push-constant word `slot` is rewritten to the offset inside the
 * window. slot < 0: the shader indexes the buffer from 0 (scratch buffers, never large). */
typedef struct vk_arg {
    dev_buf *buf; /* NULL: the dummy buffer */
    int write;
    size_t off, span; /* elements */
    int slot;
} vk_arg;

/* The index of push-constant word `field` in struct pc. */
#define VK_SLOT(pc, field) ((int)(((const char *)&(pc).field - (const char *)&(pc)) / 4))
#define VK_IN(view, n, pc, field) {(view).buf, 0, (view).off, (n), VK_SLOT(pc, field)}
#define VK_OUT(view, n, pc, field) {(view).buf, 1, (view).off, (n), VK_SLOT(pc, field)}
#define VK_NONE {NULL, 0, 0, 0, -1}
#define VK_SCRATCH(b, w) {&(b)->base, (w), 0, 0, -1}

/* Elements one dispatch may span in a large buffer: a window less the alignment slack,
 * rounded down to a multiple of 4096 so chunked reductions keep their partition. Ops over
 * more elements than this split into several dispatches. */
size_t vk_window_elems(const vk_ctx *c);

/* Records one dispatch of shader `name` (specialization constants 0 and 1 = spec0, spec1)
 * with storage buffers args[0..nargs) at bindings 0.. and push constants. */
mltc_status vk_dispatch(vk_ctx *c, const char *op, const char *name, int spec0, int spec1, const vk_arg *args,
                        int nargs, const void *push, uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz);
/* Work-group counts for `items` items of `per_group` each, split over x and y so neither
 * exceeds the device limit (shaders rebuild the index as y * num_groups.x + x). */
void vk_groups_2d(const vk_ctx *c, uint64_t items, uint32_t per_group, uint32_t *gx, uint32_t *gy);

/* Rows per chunk in LayerNorm's two-stage parameter gradients (norm.c): each (chunk, column)
 * sums its rows in order, then the chunks are added in order. */
#define VK_COLSUM_ROWS 64u
/* Columns a work group of the one-dispatch column sums takes (shaders/colsum_wg.glsl: CS_COLS). */
#define VK_COLSUM_WG_COLS 16u
/* dst[c] += sum over j < nchunks, in order, of partial[p_off + j*cols + c]. */
mltc_status vk_colsum(vk_ctx *c, const char *op, dev_buf *partial, uint32_t p_off, uint32_t nchunks, int cols,
                      dev_view dst);

/* backend.c: the vtable's copy and fill (sumsq writes its zero with vk_fill). */
mltc_status vk_copy(dev_ctx *ctx, dev_view dst, dev_view src, size_t n);
mltc_status vk_fill(dev_ctx *ctx, dev_view dst, size_t n, float value);

/* The ops of device_ops.def, vk_<name>, each in the file of its family (matmul.c, norm.c, ...);
 * none of the optional ones. */
#define DEV_OP_OPTIONAL(name, NAME, params)
#define DEV_OP(name, NAME, params) mltc_status vk_##name params;
#include "device/device_ops.def"
/* The optional fused training attention (attention.c). */
mltc_status vk_attention_train_forward(dev_ctx *ctx, const dev_attention_train *a);
mltc_status vk_attention_train_backward(dev_ctx *ctx, const dev_attention_train *a, const dev_attention_grads *g);

#endif
