/* safetensors reader and writer; the checks every untrusted file goes through are listed in
 * safetensors.h. */
#include "model/safetensors.h"

#include "core/fileio.h"
#include "core/json_number.h"
#include "core/platform.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

struct st_file {
    char *path;
    const uint8_t *base; /* the whole file, mapped or read */
    size_t size;
    int mapped;
    void *map_handle; /* plat_map_file's */
    const uint8_t *data; /* the data section, after the header */
    size_t data_size;
    st_tensor *tensors;
    int n;
    char **meta_keys, **meta_vals;
    int n_meta;
};

/* ---- dtypes -------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    st_dtype dtype;
    size_t size;
} dtypes[] = {
    {"F32", ST_F32, 4},  {"F16", ST_F16, 2},   {"BF16", ST_BF16, 2},  {"I32", ST_I32, 4},     {"I64", ST_I64, 8},
    {"F64", ST_OTHER, 8}, {"BOOL", ST_OTHER, 1}, {"U8", ST_OTHER, 1},   {"I8", ST_OTHER, 1},    {"I16", ST_OTHER, 2},
    {"U16", ST_OTHER, 2}, {"U32", ST_OTHER, 4},  {"U64", ST_OTHER, 8},  {"F8_E4M3", ST_OTHER, 1}, {"F8_E5M2", ST_OTHER, 1},
};

static int dtype_lookup(const char *name, st_dtype *dtype, size_t *size) {
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (!strcmp(name, dtypes[i].name)) {
            *dtype = dtypes[i].dtype;
            *size = dtypes[i].size;
            return 1;
        }
    return 0;
}

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static float bits_to_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* IEEE half to float, exactly: subnormals scale by 2^-24, inf and NaN (payload kept) map to
 * their float forms. */
static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0) {
        float v = (float)mant * 0x1p-24f;
        return sign ? -v : v;
    }
    if (exp == 31) return bits_to_f32(sign | 0x7f800000u | (mant << 13));
    return bits_to_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

/* ---- opening and validating ---------------------------------------------------------------- */

void st_close(st_file *f) {
    if (!f) return;
    if (f->mapped)
        plat_unmap_file(f->base, f->size, f->map_handle);
    else
        free((void *)f->base);
    for (int i = 0; i < f->n; i++) free((char *)f->tensors[i].name);
    free(f->tensors);
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_vals[i]);
    }
    free(f->meta_keys);
    free(f->meta_vals);
    free(f->path);
    free(f);
}

/* Maps path, or reads it whole where mapping fails (an empty file, a pipe, a file system
 * without mmap). The fuzz build (tests/fuzz) defines MLTC_ST_NO_MMAP: AddressSanitizer sees a
 * read past the end of a heap copy, not one into the rest of a mapped page. */
#ifdef MLTC_ST_NO_MMAP
enum { try_mmap = 0 };
#else
enum { try_mmap = 1 };
#endif
static mltc_status load_bytes(mltc_error *err, st_file *f) {
    const void *base;
    int regular = plat_is_regular(f->path);
    if (regular < 0) return err_set(err, MLTC_ERR_IO, "%s: cannot open: %s", f->path, strerror(errno));
    if (try_mmap && regular && plat_map_file(f->path, &base, &f->size, &f->map_handle) == 0) {
        f->base = base;
        f->mapped = 1;
        return MLTC_OK;
    }
    char *bytes = NULL;
    size_t n = 0;
    mltc_status st = file_read_all(err, f->path, SIZE_MAX, &bytes, &n);
    f->base = (const uint8_t *)bytes;
    f->size = n;
    return st;
}

/* A JSON number that is a whole number a double holds exactly (offsets and dimensions). */
static int json_uint(const cJSON *v, uint64_t *out) {
    double d;
    if (!json_whole_number(v, 0.0, 9007199254740992.0, &d)) return 0;
    *out = (uint64_t)d;
    return 1;
}

static mltc_status parse_metadata(mltc_error *err, st_file *f, const cJSON *meta) {
    if (!cJSON_IsObject(meta)) return err_set(err, MLTC_ERR_PARSE, "%s: __metadata__ is not an object", f->path);
    int n = cJSON_GetArraySize(meta);
    f->meta_keys = calloc((size_t)n + 1, sizeof *f->meta_keys);
    f->meta_vals = calloc((size_t)n + 1, sizeof *f->meta_vals);
    if (!f->meta_keys || !f->meta_vals) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: out of memory", f->path);
    for (const cJSON *kv = meta->child; kv; kv = kv->next) {
        if (!cJSON_IsString(kv))
            return err_set(err, MLTC_ERR_PARSE, "%s: __metadata__ value of '%s' is not a string", f->path, kv->string);
        f->meta_keys[f->n_meta] = strdup(kv->string);
        f->meta_vals[f->n_meta] = strdup(kv->valuestring);
        f->n_meta++;
        if (!f->meta_keys[f->n_meta - 1] || !f->meta_vals[f->n_meta - 1])
            return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: out of memory", f->path);
    }
    return MLTC_OK;
}

/* Validates one header entry against the data section and fills t. */
static mltc_status parse_tensor(mltc_error *err, const st_file *f, const cJSON *e, st_tensor *t) {
    const char *name = e->string;
    if (!cJSON_IsObject(e)) return err_set(err, MLTC_ERR_PARSE, "%s: tensor '%s': entry is not an object", f->path, name);
    const char *dt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "dtype"));
    if (!dt) return err_set(err, MLTC_ERR_PARSE, "%s: tensor '%s': no dtype string", f->path, name);
    size_t esize = 0;
    if (strlen(dt) >= sizeof t->dtype_name || !dtype_lookup(dt, &t->dtype, &esize))
        return err_set(err, MLTC_ERR_PARSE, "%s: tensor '%s': unknown dtype '%.32s'", f->path, name, dt);
    strcpy(t->dtype_name, dt);

    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    if (!cJSON_IsArray(shape)) return err_set(err, MLTC_ERR_PARSE, "%s: tensor '%s': no shape array", f->path, name);
    t->ndim = cJSON_GetArraySize(shape);
    if (t->ndim > ST_MAX_DIMS)
        return err_set(err, MLTC_ERR_UNSUPPORTED, "%s: tensor '%s': %d dimensions, at most %d supported", f->path, name,
                       t->ndim, ST_MAX_DIMS);
    uint64_t numel = 1;
    int d = 0;
    for (const cJSON *v = shape->child; v; v = v->next, d++) {
        uint64_t dim;
        if (!json_uint(v, &dim))
            return err_set(err, MLTC_ERR_PARSE, "%s: tensor '%s': shape entry %d is not a non-negative integer", f->path,
                           name, d);
        if (dim && numel > SIZE_MAX / esize / dim)
            return err_set(err, MLTC_ERR_PARSE, "%s: tensor '%s': shape overflows the address space", f->path, name);
        numel *= dim;
        t->shape[d] = (int64_t)dim;
    }
    t->numel = (size_t)numel;

    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    uint64_t begin, end;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 || !json_uint(offs->child, &begin) ||
        !json_uint(offs->child->next, &end))
        return err_set(err, MLTC_ERR_PARSE, "%s: tensor '%s': data_offsets is not a pair of non-negative integers",
                       f->path, name);
    if (begin > end)
        return err_set(err, MLTC_ERR_PARSE, "%s: tensor '%s': data_offsets [%llu, %llu) end before they begin", f->path,
                       name, (unsigned long long)begin, (unsigned long long)end);
    if (end > f->data_size)
        return err_set(err, MLTC_ERR_PARSE, "%s: tensor '%s': data_offsets [%llu, %llu) run past the %zu-byte data section",
                       f->path, name, (unsigned long long)begin, (unsigned long long)end, f->data_size);
    if (end - begin != numel * esize)
        return err_set(err, MLTC_ERR_PARSE,
                       "%s: tensor '%s': shape holds %llu elements of %zu bytes (%llu bytes) but data_offsets [%llu, %llu) "
                       "span %llu bytes",
                       f->path, name, (unsigned long long)numel, esize, (unsigned long long)(numel * esize),
                       (unsigned long long)begin, (unsigned long long)end, (unsigned long long)(end - begin));
    t->offset = (size_t)begin;
    t->nbytes = (size_t)(end - begin);
    t->name = strdup(name);
    if (!t->name) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: out of memory", f->path);
    return MLTC_OK;
}

static mltc_status parse_header(mltc_error *err, st_file *f) {
    if (f->size < 8)
        return err_set(err, MLTC_ERR_PARSE, "%s: truncated: %zu bytes, too short for the 8-byte header length", f->path,
                       f->size);
    uint64_t hlen = le64(f->base);
    if (hlen > ST_MAX_HEADER_BYTES)
        return err_set(err, MLTC_ERR_PARSE, "%s: header length %llu exceeds the format's limit of %u bytes", f->path,
                       (unsigned long long)hlen, ST_MAX_HEADER_BYTES);
    if (hlen > f->size - 8)
        return err_set(err, MLTC_ERR_PARSE, "%s: header length %llu runs past the end of the %zu-byte file", f->path,
                       (unsigned long long)hlen, f->size);
    const char *hdr = (const char *)f->base + 8;
    f->data = f->base + 8 + hlen;
    f->data_size = f->size - 8 - (size_t)hlen;
    if (hlen == 0 || hdr[0] != '{')
        return err_set(err, MLTC_ERR_PARSE, "%s: header does not start with '{'", f->path);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &end, 0);
    if (!root) {
        size_t at = end && end >= hdr && end <= hdr + hlen ? (size_t)(end - hdr) : 0;
        return err_set(err, MLTC_ERR_PARSE, "%s: header is not valid JSON (near byte %zu of %llu)", f->path, at,
                       (unsigned long long)hlen);
    }
    mltc_status st = MLTC_OK;
    for (const char *p = end; p < hdr + hlen && st == MLTC_OK; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            st = err_set(err, MLTC_ERR_PARSE, "%s: header has bytes after its JSON object (at byte %zu)", f->path,
                         (size_t)(p - hdr));
    if (st == MLTC_OK && !cJSON_IsObject(root)) st = err_set(err, MLTC_ERR_PARSE, "%s: header is not a JSON object", f->path);
    int count = st == MLTC_OK ? cJSON_GetArraySize(root) : 0;
    if (st == MLTC_OK && !(f->tensors = calloc((size_t)count + 1, sizeof *f->tensors)))
        st = err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: out of memory for %d tensors", f->path, count);
    for (const cJSON *e = st == MLTC_OK ? root->child : NULL; e && st == MLTC_OK; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) {
            st = f->meta_keys ? err_set(err, MLTC_ERR_PARSE, "%s: __metadata__ appears twice", f->path)
                              : parse_metadata(err, f, e);
            continue;
        }
        if (st_find(f, e->string)) {
            st = err_set(err, MLTC_ERR_PARSE, "%s: tensor '%s' appears twice in the header", f->path, e->string);
            break;
        }
        st = parse_tensor(err, f, e, &f->tensors[f->n]);
        if (st == MLTC_OK) f->n++;
    }
    cJSON_Delete(root);
    return st;
}

mltc_status st_open(mltc_error *err, const char *path, st_file **out) {
    if (!path || !out) return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "st_open: null argument");
    *out = NULL;
    st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    mltc_status st = load_bytes(err, f);
    if (st == MLTC_OK) st = parse_header(err, f);
    if (st != MLTC_OK) {
        st_close(f);
        return st;
    }
    *out = f;
    return MLTC_OK;
}

int st_count(const st_file *f) { return f->n; }
const st_tensor *st_at(const st_file *f, int i) { return i >= 0 && i < f->n ? &f->tensors[i] : NULL; }

const st_tensor *st_find(const st_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

const char *st_metadata(const st_file *f, const char *key) {
    for (int i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta_keys[i], key)) return f->meta_vals[i];
    return NULL;
}

/* ---- reading tensors --------------------------------------------------------------------- */

mltc_status st_read_f32(mltc_error *err, const st_file *f, const st_tensor *t, float *dst) {
    if (!f || !t || (!dst && t->numel)) return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "st_read_f32: null argument");
    const uint8_t *p = f->data + t->offset;
    size_t n = t->numel;
    switch (t->dtype) {
    case ST_F32:
        if (host_is_little_endian()) {
            memcpy(dst, p, n * 4);
        } else {
            for (size_t i = 0; i < n; i++) dst[i] = bits_to_f32(le32(p + 4 * i));
        }
        return MLTC_OK;
    case ST_F16:
        for (size_t i = 0; i < n; i++) dst[i] = f16_to_f32(le16(p + 2 * i));
        return MLTC_OK;
    case ST_BF16:
        for (size_t i = 0; i < n; i++) dst[i] = bits_to_f32((uint32_t)le16(p + 2 * i) << 16);
        return MLTC_OK;
    default:
        if (!strcmp(t->dtype_name, "F64")) {
            for (size_t i = 0; i < n; i++) {
                uint64_t u = le64(p + 8 * i);
                double d;
                memcpy(&d, &u, 8);
                dst[i] = (float)d;
            }
            return MLTC_OK;
        }
        return err_set(err, MLTC_ERR_UNSUPPORTED, "%s: tensor '%s': dtype %s cannot be read as float32", f->path, t->name,
                       t->dtype_name);
    }
}

mltc_status st_read_i32(mltc_error *err, const st_file *f, const st_tensor *t, int32_t *dst) {
    if (!f || !t || (!dst && t->numel)) return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "st_read_i32: null argument");
    const uint8_t *p = f->data + t->offset;
    size_t n = t->numel;
    if (t->dtype == ST_I32) {
        for (size_t i = 0; i < n; i++) dst[i] = (int32_t)le32(p + 4 * i);
        return MLTC_OK;
    }
    if (t->dtype == ST_I64) {
        for (size_t i = 0; i < n; i++) {
            int64_t v = (int64_t)le64(p + 8 * i);
            if (v < INT32_MIN || v > INT32_MAX)
                return err_set(err, MLTC_ERR_UNSUPPORTED, "%s: tensor '%s': element %zu = %lld does not fit in int32",
                               f->path, t->name, i, (long long)v);
            dst[i] = (int32_t)v;
        }
        return MLTC_OK;
    }
    return err_set(err, MLTC_ERR_UNSUPPORTED, "%s: tensor '%s': dtype %s cannot be read as int32", f->path, t->name,
                   t->dtype_name);
}

static void format_shape(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++) k += (size_t)snprintf(buf + k, cap - k, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

mltc_status st_load_f32(mltc_error *err, const st_file *f, const char *name, int ndim, const int64_t *shape,
                        float *dst) {
    if (!f || !name || ndim < 0 || (ndim && !shape))
        return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "st_load_f32: null or negative argument");
    char want[256], have[256];
    format_shape(want, sizeof want, ndim, shape);
    const st_tensor *t = st_find(f, name);
    if (!t) return err_set(err, MLTC_ERR_PARSE, "%s: tensor '%s' (expected shape %s) is missing", f->path, name, want);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        format_shape(have, sizeof have, t->ndim, t->shape);
        return err_set(err, MLTC_ERR_PARSE, "%s: tensor '%s' has shape %s, expected %s", f->path, name, have, want);
    }
    return st_read_f32(err, f, t, dst);
}

/* ---- writer ------------------------------------------------------------------------------- */

typedef struct st_entry {
    char *name;
    const char *dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    uint8_t *data; /* little-endian bytes */
    size_t nbytes;
} st_entry;

/* The add and commit calls take no error argument, so the writer reports into the one given
 * to st_writer_create; it must outlive the writer. */
struct st_writer {
    mltc_error *err;
    st_entry *e;
    int n, cap;
    char **meta_keys, **meta_vals;
    int n_meta;
};

mltc_status st_writer_create(mltc_error *err, st_writer **out) {
    if (!out) return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "st_writer_create: null argument");
    *out = calloc(1, sizeof **out);
    if (!*out) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "st_writer_create: out of memory");
    (*out)->err = err;
    return MLTC_OK;
}

void st_writer_free(st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) {
        free(w->e[i].name);
        free(w->e[i].data);
    }
    free(w->e);
    for (int i = 0; i < w->n_meta; i++) {
        free(w->meta_keys[i]);
        free(w->meta_vals[i]);
    }
    free(w->meta_keys);
    free(w->meta_vals);
    free(w);
}

static mltc_status writer_add(st_writer *w, const char *name, const char *dtype, int ndim, const int64_t *shape,
                              const void *data, size_t esize) {
    if (!w) return MLTC_ERR_INVALID_ARGUMENT;
    if (!name || !*name || ndim < 0 || ndim > ST_MAX_DIMS || (ndim && !shape))
        return err_set(w->err, MLTC_ERR_INVALID_ARGUMENT, "safetensors writer: tensor '%s': bad name or %d dimensions",
                       name ? name : "(null)", ndim);
    if (!strcmp(name, "__metadata__"))
        return err_set(w->err, MLTC_ERR_INVALID_ARGUMENT, "safetensors writer: '__metadata__' is not a tensor name");
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->e[i].name, name))
            return err_set(w->err, MLTC_ERR_INVALID_ARGUMENT, "safetensors writer: tensor '%s' added twice", name);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] && numel > SIZE_MAX / esize / (size_t)shape[i]))
            return err_set(w->err, MLTC_ERR_INVALID_ARGUMENT, "safetensors writer: tensor '%s': bad dimension %d = %lld",
                           name, i, (long long)shape[i]);
        numel *= (size_t)shape[i];
    }
    if (numel && !data)
        return err_set(w->err, MLTC_ERR_INVALID_ARGUMENT, "safetensors writer: tensor '%s': no data", name);
    if (w->n == w->cap) {
        int cap = w->cap ? w->cap * 2 : 64;
        st_entry *e = realloc(w->e, (size_t)cap * sizeof *e);
        if (!e) return err_set(w->err, MLTC_ERR_OUT_OF_MEMORY, "safetensors writer: out of memory");
        w->e = e;
        w->cap = cap;
    }
    st_entry *e = &w->e[w->n];
    memset(e, 0, sizeof *e);
    e->nbytes = numel * esize;
    e->name = strdup(name);
    e->data = malloc(e->nbytes ? e->nbytes : 1);
    if (!e->name || !e->data) {
        free(e->name);
        free(e->data);
        return err_set(w->err, MLTC_ERR_OUT_OF_MEMORY, "safetensors writer: tensor '%s': out of memory for %zu bytes",
                       name, e->nbytes);
    }
    /* Stored little-endian whatever the host; both element types are 4 bytes. */
    const uint8_t *src = data;
    for (size_t i = 0; i < numel; i++) {
        uint32_t u;
        memcpy(&u, src + 4 * i, 4);
        for (int b = 0; b < 4; b++) e->data[4 * i + (size_t)b] = (uint8_t)(u >> (8 * b));
    }
    e->dtype = dtype;
    e->ndim = ndim;
    for (int i = 0; i < ndim; i++) e->shape[i] = shape[i];
    w->n++;
    return MLTC_OK;
}

mltc_status st_writer_add_f32(st_writer *w, const char *name, int ndim, const int64_t *shape, const float *data) {
    return writer_add(w, name, "F32", ndim, shape, data, 4);
}

mltc_status st_writer_add_i32(st_writer *w, const char *name, int ndim, const int64_t *shape, const int32_t *data) {
    return writer_add(w, name, "I32", ndim, shape, data, 4);
}

mltc_status st_writer_set_metadata(st_writer *w, const char *key, const char *value) {
    if (!w) return MLTC_ERR_INVALID_ARGUMENT;
    if (!key || !value) return err_set(w->err, MLTC_ERR_INVALID_ARGUMENT, "safetensors writer: null metadata key or value");
    for (int i = 0; i < w->n_meta; i++)
        if (!strcmp(w->meta_keys[i], key)) {
            char *v = strdup(value);
            if (!v) return err_set(w->err, MLTC_ERR_OUT_OF_MEMORY, "safetensors writer: out of memory");
            free(w->meta_vals[i]);
            w->meta_vals[i] = v;
            return MLTC_OK;
        }
    char **k = realloc(w->meta_keys, (size_t)(w->n_meta + 1) * sizeof *k);
    if (k) w->meta_keys = k;
    char **v = realloc(w->meta_vals, (size_t)(w->n_meta + 1) * sizeof *v);
    if (v) w->meta_vals = v;
    char *kc = strdup(key), *vc = strdup(value);
    if (!k || !v || !kc || !vc) {
        free(kc);
        free(vc);
        return err_set(w->err, MLTC_ERR_OUT_OF_MEMORY, "safetensors writer: out of memory");
    }
    w->meta_keys[w->n_meta] = kc;
    w->meta_vals[w->n_meta] = vc;
    w->n_meta++;
    return MLTC_OK;
}

/* Integers go in as raw JSON text: cJSON keeps numbers as doubles and prints large ones in
 * exponent form, which strict readers (the Rust safetensors crate) reject. */
static cJSON *raw_int_array(size_t n, const uint64_t *v) {
    char buf[ST_MAX_DIMS * 24 + 8];
    size_t k = (size_t)snprintf(buf, sizeof buf, "[");
    for (size_t i = 0; i < n; i++) k += (size_t)snprintf(buf + k, sizeof buf - k, i ? ",%llu" : "%llu", (unsigned long long)v[i]);
    snprintf(buf + k, sizeof buf - k, "]");
    return cJSON_CreateRaw(buf);
}

/* The header JSON, in insertion order with __metadata__ first; NULL when out of memory. */
static char *writer_header(const st_writer *w) {
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    if (ok && w->n_meta) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        ok = meta != NULL;
        for (int i = 0; ok && i < w->n_meta; i++) ok = cJSON_AddStringToObject(meta, w->meta_keys[i], w->meta_vals[i]) != NULL;
    }
    size_t offset = 0;
    for (int i = 0; ok && i < w->n; i++) {
        const st_entry *e = &w->e[i];
        cJSON *t = cJSON_AddObjectToObject(root, e->name);
        uint64_t dims[ST_MAX_DIMS], offs[2] = {offset, offset + e->nbytes};
        for (int d = 0; d < e->ndim; d++) dims[d] = (uint64_t)e->shape[d];
        cJSON *shape = raw_int_array((size_t)e->ndim, dims), *range = raw_int_array(2, offs);
        ok = t && cJSON_AddStringToObject(t, "dtype", e->dtype) && shape && range;
        if (ok) {
            cJSON_AddItemToObject(t, "shape", shape);
            cJSON_AddItemToObject(t, "data_offsets", range);
        } else {
            cJSON_Delete(shape);
            cJSON_Delete(range);
        }
        offset += e->nbytes;
    }
    char *s = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return s;
}

mltc_status st_writer_commit(st_writer *w, const char *path) {
    if (!w) return MLTC_ERR_INVALID_ARGUMENT;
    if (!path) return err_set(w->err, MLTC_ERR_INVALID_ARGUMENT, "st_writer_commit: null path");
    char *hdr = writer_header(w);
    if (!hdr) return err_set(w->err, MLTC_ERR_OUT_OF_MEMORY, "%s: out of memory building the header", path);
    /* The spec pads the header with spaces so the data section starts 8-byte aligned. */
    size_t hlen = strlen(hdr), padded = (hlen + 7) & ~(size_t)7;
    uint8_t lenbytes[8];
    for (int b = 0; b < 8; b++) lenbytes[b] = (uint8_t)((uint64_t)padded >> (8 * b));

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) {
        free(hdr);
        return err_set(w->err, MLTC_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, plat_pid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int e = errno;
        free(hdr);
        mltc_status st = err_set(w->err, MLTC_ERR_IO, "%s: cannot create: %s", tmp, strerror(e));
        free(tmp);
        return st;
    }
    int ok = fwrite(lenbytes, 1, 8, f) == 8 && fwrite(hdr, 1, hlen, f) == hlen;
    for (size_t i = hlen; ok && i < padded; i++) ok = fputc(' ', f) != EOF;
    for (int i = 0; ok && i < w->n; i++) ok = fwrite(w->e[i].data, 1, w->e[i].nbytes, f) == w->e[i].nbytes;
    ok = ok && plat_sync_file(f) == 0;
    int e = errno;
    ok = fclose(f) == 0 && ok;
    if (ok && plat_replace(tmp, path) != 0) {
        e = errno;
        ok = 0;
    }
    free(hdr);
    if (!ok) {
        remove(tmp);
        free(tmp);
        return err_set(w->err, MLTC_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    }
    free(tmp);
    return MLTC_OK;
}
