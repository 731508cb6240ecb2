/*
 * safetensors reader and writer (https://huggingface.co/docs/safetensors): an 8-byte little-
 * endian header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}},
 * then the raw data. The file is untrusted: the header length is bounded, the JSON parsed with
 * cJSON, every offset and size checked against the file before any read.
 */
#ifndef MLTC_MODEL_SAFETENSORS_H
#define MLTC_MODEL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER_BYTES (100u * 1024u * 1024u) /* the format's own limit */

typedef enum st_dtype { ST_F32, ST_F16, ST_BF16, ST_I32, ST_I64, ST_OTHER } st_dtype;

typedef struct st_tensor {
    const char *name;
    st_dtype dtype;
    char dtype_name[16]; /* as written in the file ("F32", "BF16", ...) */
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t numel;
    size_t offset; /* from the start of the data section */
    size_t nbytes;
} st_tensor;

typedef struct st_file st_file;

/* Opens and validates path (memory-mapped where possible). Errors name the file and, where
 * one is at fault, the tensor: "model.safetensors: tensor 'x.weight': data_offsets [0, 96)
 * run past the 64-byte data section". */
mltc_status st_open(mltc_error *err, const char *path, st_file **out);
void st_close(st_file *f);

int st_count(const st_file *f);
const st_tensor *st_at(const st_file *f, int i); /* in file order */
const st_tensor *st_find(const st_file *f, const char *name);
const char *st_metadata(const st_file *f, const char *key); /* __metadata__ value or NULL */

/* Reads a tensor as float32 (F32, F16 and BF16 are converted) into dst[numel]. */
mltc_status st_read_f32(mltc_error *err, const st_file *f, const st_tensor *t, float *dst);
/* Reads an integer tensor (I32, or I64 that fits) into dst[numel]. */
mltc_status st_read_i32(mltc_error *err, const st_file *f, const st_tensor *t, int32_t *dst);

/* Convenience for loaders: finds name, checks that its shape equals shape[0..ndim), reads it
 * as float32. A missing tensor or a shape mismatch is an error naming both shapes. */
mltc_status st_load_f32(mltc_error *err, const st_file *f, const char *name, int ndim, const int64_t *shape,
                        float *dst);

/* Writer: tensors are added in memory (copied) and written by st_writer_commit to a
 * temporary file in the same folder, flushed and renamed over path, so a crash never leaves
 * a half-written file. */
typedef struct st_writer st_writer;
mltc_status st_writer_create(mltc_error *err, st_writer **out);
mltc_status st_writer_add_f32(st_writer *w, const char *name, int ndim, const int64_t *shape, const float *data);
mltc_status st_writer_add_i32(st_writer *w, const char *name, int ndim, const int64_t *shape, const int32_t *data);
mltc_status st_writer_set_metadata(st_writer *w, const char *key, const char *value);
mltc_status st_writer_commit(st_writer *w, const char *path);
void st_writer_free(st_writer *w);

#endif
