/* Files embedded into the library at build time by cmake/embed.cmake. */
#ifndef MLTC_DEVICE_EMBEDDED_H
#define MLTC_DEVICE_EMBEDDED_H

#include <stddef.h>

typedef struct mltc_embedded_file {
    const char *name;          /* file name without folder and extension */
    const unsigned char *data; /* 4-byte aligned */
    size_t size;               /* bytes; OpenCL sources include a terminating NUL */
} mltc_embedded_file;

/* The kernels_cl folder as C strings and the shaders folder as SPIR-V; each ends with a NULL name. */
extern const mltc_embedded_file mltc_cl_sources[];
extern const mltc_embedded_file mltc_spirv[];

/* The entry called name, or NULL. */
const mltc_embedded_file *mltc_embedded_find(const mltc_embedded_file *table, const char *name);

#endif
