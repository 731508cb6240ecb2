/*
 * mltc — BERT multi-label text classification on any GPU through OpenCL or Vulkan.
 *
 * This is the only public header. Every call returns an mltc_status; when it is not
 * MLTC_OK, mltc_last_error(ctx) says what failed and where. The library never calls
 * exit() or abort().
 */
#ifndef MLTC_H
#define MLTC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(MLTC_SHARED_BUILD)
#define MLTC_API __declspec(dllexport)
#elif defined(__GNUC__)
#define MLTC_API __attribute__((visibility("default")))
#else
#define MLTC_API
#endif

#define MLTC_VERSION_MAJOR 0
#define MLTC_VERSION_MINOR 1
#define MLTC_VERSION_PATCH 0

/* "MAJOR.MINOR.PATCH" of the library actually linked (may differ from the header's). */
MLTC_API const char *mltc_version(void);

typedef enum mltc_status {
    MLTC_OK = 0,
    MLTC_ERR_INVALID_ARGUMENT = 1, /* a caller's argument is wrong: null, size mismatch, range */
    MLTC_ERR_IO = 2,               /* a file could not be opened, read or written */
    MLTC_ERR_PARSE = 3,            /* a file's content is malformed */
    MLTC_ERR_OUT_OF_MEMORY = 4,    /* host or device allocation failed */
    MLTC_ERR_DEVICE = 5,           /* a driver call failed */
    MLTC_ERR_UNSUPPORTED = 6       /* the backend or build lacks the feature */
} mltc_status;

/* A static English name for a status ("invalid argument", ...). Never NULL. */
MLTC_API const char *mltc_status_string(mltc_status status);

/* A context owns the last error message and the devices opened through it.
 * Contexts are independent; one context must not be used by two threads at once. */
typedef struct mltc_ctx mltc_ctx;

MLTC_API mltc_status mltc_ctx_create(mltc_ctx **out);
MLTC_API void mltc_ctx_destroy(mltc_ctx *ctx);

/* The message of the last failed call on ctx ("" when none). Valid until the next call. */
MLTC_API const char *mltc_last_error(const mltc_ctx *ctx);

/* ---- Devices --------------------------------------------------------------------------- */

/* What `mltc devices` prints: one entry per device any compiled-in backend can see. */
typedef struct mltc_device_info {
    char id[32];            /* what --device / MLTC_DEVICE accept: "cpu", "opencl:0", "vulkan:1" */
    char backend[16];       /* "cpu", "opencl", "vulkan" */
    char name[256];         /* device name as the driver reports it */
    char driver[128];       /* driver / platform version */
    uint64_t global_mem_bytes;
    uint64_t max_alloc_bytes;
    uint64_t local_mem_bytes; /* shared / local memory per work-group, 0 if none */
    uint32_t compute_units;
    uint32_t subgroup_size;   /* 0 when unknown */
    int fp16;                 /* 1 if the device computes in half precision */
    int fp64;
    int cooperative_matrix;   /* Vulkan VK_KHR_cooperative_matrix */
    char details[512];        /* further backend-specific limits, human-readable */
} mltc_device_info;

/* Enumerates devices of every compiled-in backend. *list is allocated by the library and
 * released with mltc_devices_free. A backend whose runtime is absent is skipped, and the
 * reason is appended to *notes (may be NULL; free with mltc_devices_free too). */
MLTC_API mltc_status mltc_devices(mltc_ctx *ctx, mltc_device_info **list, int *count, char **notes);
MLTC_API void mltc_devices_free(void *p);

#ifdef __cplusplus
}
#endif
#endif /* MLTC_H */
