/* Shared by the OpenCL backend's files: the context, buffers, the kernel table, launch
 * helpers and error reporting. */
#ifndef MLTC_DEVICE_OPENCL_INTERNAL_H
#define MLTC_DEVICE_OPENCL_INTERNAL_H

#include <CL/cl.h>

#include "device/device.h"
#include "device/opencl/opencl.h"

/* Programs: each is common.cl + its helpers + one kernels_cl file, built on first use. */
typedef enum ocl_prog {
    OCL_PROG_ELEMENTWISE,
    OCL_PROG_NORM,
    OCL_PROG_SOFTMAX,
    OCL_PROG_ROWS,
    OCL_PROG_LOSS,
    OCL_PROG_LABEL_ATTENTION,
    OCL_PROG_OPTIM,
    OCL_PROG_FLASH_ATTENTION,
    OCL_PROG_COUNT
} ocl_prog;

typedef enum ocl_kernel_id {
    K_GELU_FORWARD,
    K_GELU_BACKWARD,
    K_DROPOUT_FORWARD,
    K_AXPBY,
    K_BIAS_ADD,
    K_COLSUM_FINAL,
    K_COLSUM_LANES,
    K_LAYERNORM_FORWARD,
    K_LAYERNORM_BACKWARD_DX,
    K_LAYERNORM_BACKWARD_DWDB,
    K_LAYERNORM_DWDB_PARTIAL,
    K_ADD_LAYERNORM_FORWARD,
    K_ADD_LAYERNORM_BACKWARD_DX,
    K_ADD_LAYERNORM_PARAMS,
    K_BIAS_GELU_FORWARD,
    K_BIAS_GELU_BACKWARD,
    K_SOFTMAX_FORWARD,
    K_SOFTMAX_BACKWARD,
    K_GATHER_ROWS,
    K_SCATTER_ADD_ROWS,
    K_CROSSENTROPY_FORWARD,
    K_CROSSENTROPY_BACKWARD,
    K_BCE_FORWARD,
    K_BCE_BACKWARD,
    K_LA_LABEL_NORMS,
    K_LA_SCORES,
    K_LA_OUTPUT,
    K_LA_SCORE_GRADS,
    K_LA_DH,
    K_LA_DL,
    K_SUMSQ_PARTIAL,
    K_SUMSQ_FINAL,
    K_ADAMW,
    K_FLASH_ATTENTION_FORWARD,
    K_FLASH_ATTENTION_DQ,
    K_FLASH_ATTENTION_DKDV,
    K_COUNT
} ocl_kernel_id;

typedef struct ocl_buf {
    dev_buf base; /* must be first */
    cl_mem mem;
} ocl_buf;

typedef struct ocl_ctx {
    dev_ctx base; /* must be first */
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    char device_name[256], driver_version[128], platform_version[256];
    cl_ulong max_alloc;
    size_t max_wg;     /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
    cl_ulong local_mem;
    int fp64;
    cl_program programs[OCL_PROG_COUNT];
    cl_kernel kernels[K_COUNT];
    size_t kernel_wg[K_COUNT]; /* CL_KERNEL_WORK_GROUP_SIZE */
    opencl_cache_stats cache;
    char cache_dir[1024]; /* "" when no cache folder could be made */
    /* Scratch for multi-kernel ops (label attention, sumsq), grown on demand. Safe to reuse
     * across ops because the queue is in order. */
    cl_mem scratch;
    size_t scratch_bytes;
    /* Host copies of uploads not yet known to be done: uploads are enqueued without blocking
     * from a copy that lives here until the next host wait (after which an in-order queue has
     * run them). Chunks are kept and reused, so a warmed-up step allocates nothing. */
    struct ocl_hostbuf {
        char *data;
        size_t size, used;
    } *held;
    int nheld, capheld;
    /* Work was enqueued since the host last waited for the queue (sync then has to wait). */
    int pending;
} ocl_ctx;

/* Marks that a command was enqueued: counts it and remembers that the queue has work. */
static inline void ocl_enqueued(ocl_ctx *c, long *counter) {
    (*counter)++;
    c->pending = 1;
}

static inline cl_mem ocl_mem(dev_view v) { return ((ocl_buf *)v.buf)->mem; }

/* Host memory for an upload's copy, valid until the next host wait (backend.c). */
mltc_status ocl_hold(ocl_ctx *c, size_t bytes, void **out);

/* ---- devices (devices.c) ---- */
#define OCL_MAX_DEVICES 64
/* Every device of every platform in loader order: the numbering opencl:N uses. */
mltc_status ocl_list_devices(mltc_error *err, cl_platform_id *plat_of, cl_device_id *devs, int max, int *count);
mltc_status ocl_enumerate(mltc_error *err, mltc_device_info *infos, int max, int *count);
void ocl_dev_str(cl_device_id d, cl_device_info what, char *out, size_t cap);
void ocl_plat_str(cl_platform_id p, cl_platform_info what, char *out, size_t cap);
cl_ulong ocl_dev_ulong(cl_device_id d, cl_device_info what);
int ocl_has_extension(cl_device_id d, const char *ext);

/* The name of an OpenCL (or CLBlast) error code: "CL_OUT_OF_RESOURCES", ... */
const char *ocl_error_name(int code);

/* MLTC_ERR_DEVICE with "opencl:N op: call failed: NAME (code)". */
mltc_status ocl_fail(ocl_ctx *c, const char *op, const char *call, int code);

/* The kernel, building its program on first use (disk cache, see cache.c). */
mltc_status ocl_kernel(ocl_ctx *c, ocl_kernel_id id, const char *op, cl_kernel *out);

/* Builds (or loads from the disk cache) one program. */
mltc_status ocl_program_build(ocl_ctx *c, ocl_prog p, const char *op);
/* Sets the cache folder: $MLTC_CACHE_DIR, else $XDG_CACHE_HOME/mltc, else ~/.cache/mltc. */
void ocl_cache_init(ocl_ctx *c);
/* Builds a program from one source string, uncached, then releases it (opencl_build_source). */
mltc_status ocl_build_test_source(ocl_ctx *c, const char *name, const char *source);
/* Releases programs and kernels. */
void ocl_programs_release(ocl_ctx *c);

/* At least `bytes` of scratch device memory. */
mltc_status ocl_scratch(ocl_ctx *c, size_t bytes, const char *op, cl_mem *out);

/* Argument setting and launch: errors are remembered and reported at launch. */
typedef struct ocl_launch {
    ocl_ctx *c;
    const char *op;
    ocl_kernel_id id;
    cl_kernel k;
    cl_uint next;
    cl_int rc;
    cl_uint bad_arg;
    mltc_status st;
} ocl_launch;

mltc_status ocl_begin(ocl_launch *L, ocl_ctx *c, ocl_kernel_id id, const char *op);
void ocl_arg(ocl_launch *L, size_t size, const void *value);
void ocl_arg_view(ocl_launch *L, dev_view v); /* cl_mem, then cl_ulong offset */
void ocl_arg_mem(ocl_launch *L, cl_mem m);
void ocl_arg_int(ocl_launch *L, int v);
void ocl_arg_ulong(ocl_launch *L, uint64_t v);
void ocl_arg_float(ocl_launch *L, float v);
void ocl_arg_local(ocl_launch *L, size_t bytes);
/* One work-item per element of n (global size rounded up to the work-group size). */
mltc_status ocl_run_items(ocl_launch *L, size_t n);
/* `groups` work-groups of `local` items each. */
mltc_status ocl_run_groups(ocl_launch *L, size_t groups, size_t local);
/* The local size for a one-group-per-row reduction kernel: a power of two <= want that the
 * kernel and device allow. */
size_t ocl_group_size(ocl_ctx *c, ocl_kernel_id id, size_t want);
/* The local size for one group per row of `cols` elements: the smallest power of two that
 * covers the row (no idle work-items on short rows), at most OCL_ROW_LOCAL, within what the
 * kernel and device allow. */
#define OCL_ROW_LOCAL 256
size_t ocl_row_local(ocl_ctx *c, ocl_kernel_id id, int cols);

/* LayerNorm's parameter gradients over many rows run in two stages of this many rows per chunk;
 * up to OCL_COLSUM_SINGLE rows, one work-item per column sums every row (the CPU's exact order). */
#define OCL_COLSUM_CHUNK 64
#define OCL_COLSUM_SINGLE 256
/* The one-kernel column sums of bias_backward and the fused backward ops (common.cl's lanes_sum3): a work group of
 * up to OCL_COLSUM_LOCAL work-items takes OCL_COLSUM_COLS columns (fewer where the group is
 * smaller) with the rest of its work-items as lanes over the rows. Returns the columns a group
 * takes and sets its local size and the number of groups. */
#define OCL_COLSUM_LOCAL 256
#define OCL_COLSUM_COLS 16
int ocl_colsum_shape(ocl_ctx *c, ocl_kernel_id id, int cols, size_t *local, size_t *groups);

/* dst[c] += the chunk partial sums part[ch * cols + c], chunks in order (colsum_final). */
mltc_status ocl_colsum_final(ocl_ctx *c, dev_view dst, dev_view part, int nchunks, int cols, const char *op);

/* The ops of device_ops.def, ocl_<name>, each in the file of its family (matmul.c, norm.c, ...);
 * none of the optional ones but the fused training attention (kernels_cl/flash_attention.cl). */
#define DEV_OP_OPTIONAL(name, NAME, params)
#define DEV_OP(name, NAME, params) mltc_status ocl_##name params;
#include "device/device_ops.def"
mltc_status ocl_attention_train_forward(dev_ctx *ctx, const dev_attention_train *a);
mltc_status ocl_attention_train_backward(dev_ctx *ctx, const dev_attention_train *a, const dev_attention_grads *g);

#endif
