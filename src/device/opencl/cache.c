/* Programs and kernels: each program is built once per context, on first use, from the
 * embedded kernels_cl sources, and its binary is cached on disk. A cache entry is keyed by a
 * hash of the sources, the build options, the device name and the driver version; on load
 * the whole key and a hash of the binary are checked before the driver ever sees it, so a
 * corrupt or stale entry is rebuilt, never trusted. Entries are written to a temporary file
 * and renamed, so a crash never leaves half an entry under the final name. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/platform.h"
#include "device/embedded.h"
#include "device/opencl/internal.h"

#define CACHE_MAGIC "MLTCCLB1"
#define CACHE_FORMAT "mltc-opencl-cache 1"

/* Every program is common.cl, then its helpers, then its own file. */
static const struct {
    const char *file;
    const char *helper; /* NULL: none */
} programs[OCL_PROG_COUNT] = {
    [OCL_PROG_ELEMENTWISE] = {"elementwise", "philox"},
    [OCL_PROG_NORM] = {"norm", "philox"},
    [OCL_PROG_SOFTMAX] = {"softmax", NULL},
    [OCL_PROG_ROWS] = {"rows", NULL},
    [OCL_PROG_LOSS] = {"loss", NULL},
    [OCL_PROG_LABEL_ATTENTION] = {"label_attention", NULL},
    [OCL_PROG_OPTIM] = {"optim", NULL},
    [OCL_PROG_FLASH_ATTENTION] = {"flash_attention", "philox"},
};

static const struct {
    const char *name;
    ocl_prog prog;
} kernels[K_COUNT] = {
    [K_GELU_FORWARD] = {"gelu_forward", OCL_PROG_ELEMENTWISE},
    [K_GELU_BACKWARD] = {"gelu_backward", OCL_PROG_ELEMENTWISE},
    [K_DROPOUT_FORWARD] = {"dropout_forward", OCL_PROG_ELEMENTWISE},
    [K_AXPBY] = {"axpby", OCL_PROG_ELEMENTWISE},
    [K_BIAS_ADD] = {"bias_add", OCL_PROG_ELEMENTWISE},
    [K_COLSUM_FINAL] = {"colsum_final", OCL_PROG_ELEMENTWISE},
    [K_COLSUM_LANES] = {"colsum_lanes", OCL_PROG_ELEMENTWISE},
    [K_LAYERNORM_FORWARD] = {"layernorm_forward", OCL_PROG_NORM},
    [K_LAYERNORM_BACKWARD_DX] = {"layernorm_backward_dx", OCL_PROG_NORM},
    [K_LAYERNORM_BACKWARD_DWDB] = {"layernorm_backward_dwdb", OCL_PROG_NORM},
    [K_LAYERNORM_DWDB_PARTIAL] = {"layernorm_dwdb_partial", OCL_PROG_NORM},
    [K_ADD_LAYERNORM_FORWARD] = {"add_layernorm_forward", OCL_PROG_NORM},
    [K_ADD_LAYERNORM_BACKWARD_DX] = {"add_layernorm_backward_dx", OCL_PROG_NORM},
    [K_ADD_LAYERNORM_PARAMS] = {"add_layernorm_params", OCL_PROG_NORM},
    [K_BIAS_GELU_FORWARD] = {"bias_gelu_forward", OCL_PROG_ELEMENTWISE},
    [K_BIAS_GELU_BACKWARD] = {"bias_gelu_backward", OCL_PROG_ELEMENTWISE},
    [K_SOFTMAX_FORWARD] = {"softmax_forward", OCL_PROG_SOFTMAX},
    [K_SOFTMAX_BACKWARD] = {"softmax_backward", OCL_PROG_SOFTMAX},
    [K_GATHER_ROWS] = {"gather_rows", OCL_PROG_ROWS},
    [K_SCATTER_ADD_ROWS] = {"scatter_add_rows", OCL_PROG_ROWS},
    [K_CROSSENTROPY_FORWARD] = {"crossentropy_forward", OCL_PROG_LOSS},
    [K_CROSSENTROPY_BACKWARD] = {"crossentropy_backward", OCL_PROG_LOSS},
    [K_BCE_FORWARD] = {"bce_forward", OCL_PROG_LOSS},
    [K_BCE_BACKWARD] = {"bce_backward", OCL_PROG_LOSS},
    [K_LA_LABEL_NORMS] = {"la_label_norms", OCL_PROG_LABEL_ATTENTION},
    [K_LA_SCORES] = {"la_scores", OCL_PROG_LABEL_ATTENTION},
    [K_LA_OUTPUT] = {"la_output", OCL_PROG_LABEL_ATTENTION},
    [K_LA_SCORE_GRADS] = {"la_score_grads", OCL_PROG_LABEL_ATTENTION},
    [K_LA_DH] = {"la_dh", OCL_PROG_LABEL_ATTENTION},
    [K_LA_DL] = {"la_dl", OCL_PROG_LABEL_ATTENTION},
    [K_SUMSQ_PARTIAL] = {"sumsq_partial", OCL_PROG_OPTIM},
    [K_SUMSQ_FINAL] = {"sumsq_final", OCL_PROG_OPTIM},
    [K_ADAMW] = {"adamw", OCL_PROG_OPTIM},
    [K_FLASH_ATTENTION_FORWARD] = {"flash_attention_forward", OCL_PROG_FLASH_ATTENTION},
    [K_FLASH_ATTENTION_DQ] = {"flash_attention_dq", OCL_PROG_FLASH_ATTENTION},
    [K_FLASH_ATTENTION_DKDV] = {"flash_attention_dkdv", OCL_PROG_FLASH_ATTENTION},
};

/* FNV-1a, 64-bit: not cryptographic, but the cache checks the full key as well. */
static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
#define FNV_SEED 0xcbf29ce484222325ull

/* ---- the cache folder ------------------------------------------------------------------- */

static int mkdir_p(char *path) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        int bad = plat_mkdir(path, 1) != 0 && errno != EEXIST;
        *p = '/';
        if (bad) return -1;
    }
    return (plat_mkdir(path, 1) == 0 || errno == EEXIST) ? 0 : -1;
}

void ocl_cache_init(ocl_ctx *c) {
    const char *dir = getenv("MLTC_CACHE_DIR");
    char base[900];
    if (dir && *dir)
        snprintf(base, sizeof base, "%s", dir);
    else if (plat_user_cache_dir(base, sizeof base) != 0)
        base[0] = '\0';
    c->cache_dir[0] = '\0';
    if (!base[0]) return; /* nowhere to cache: build every time */
    snprintf(c->cache_dir, sizeof c->cache_dir, "%s/opencl", base);
    if (mkdir_p(c->cache_dir) != 0) c->cache_dir[0] = '\0';
}

/* ---- keys and entries ------------------------------------------------------------------- */

typedef struct prog_src {
    const char *text[3];
    size_t len[3];
    int count;
    char options[128];
    char key[1024];   /* everything an entry must match */
    char path[1200];  /* "" when caching is off */
} prog_src;

static mltc_status prog_sources(ocl_ctx *c, ocl_prog p, const char *op, prog_src *s) {
    const char *names[3] = {"common", programs[p].helper, programs[p].file};
    s->count = 0;
    for (int i = 0; i < 3; i++) {
        if (!names[i]) continue;
        const mltc_embedded_file *f = mltc_embedded_find(mltc_cl_sources, names[i]);
        if (!f)
            return err_set(c->base.err, MLTC_ERR_UNSUPPORTED, "%s %s: kernels_cl/%s.cl is not embedded in this build",
                           c->base.id, op, names[i]);
        s->text[s->count] = (const char *)f->data;
        s->len[s->count] = strlen((const char *)f->data);
        s->count++;
    }
    snprintf(s->options, sizeof s->options, "-cl-std=CL1.2%s", c->fp64 ? " -DMLTC_FP64" : "");
    uint64_t h = FNV_SEED;
    for (int i = 0; i < s->count; i++) h = fnv1a(h, s->text[i], s->len[i] + 1);
    snprintf(s->key, sizeof s->key, "%s\n%s\n%.300s\n%.120s\n%.250s\n%s\n%016llx", CACHE_FORMAT, programs[p].file,
             c->device_name, c->driver_version, c->platform_version, s->options, (unsigned long long)h);
    s->path[0] = '\0';
    if (c->cache_dir[0])
        snprintf(s->path, sizeof s->path, "%s/%s-%016llx.bin", c->cache_dir, programs[p].file,
                 (unsigned long long)fnv1a(FNV_SEED, s->key, strlen(s->key)));
    return MLTC_OK;
}

static int read_file(const char *path, unsigned char **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    int ok = fseek(f, 0, SEEK_END) == 0;
    long n = ok ? ftell(f) : -1;
    ok = ok && n > 0 && fseek(f, 0, SEEK_SET) == 0;
    unsigned char *buf = ok ? malloc((size_t)n) : NULL;
    ok = buf && fread(buf, 1, (size_t)n, f) == (size_t)n;
    fclose(f);
    if (!ok) {
        free(buf);
        return -1;
    }
    *data = buf;
    *size = (size_t)n;
    return 0;
}

/* The binary inside a cache entry, or NULL when the entry is corrupt or for another key. */
static const unsigned char *entry_payload(const unsigned char *d, size_t n, const char *key, size_t *len) {
    size_t klen = strlen(key), head = 8 + 4 + klen + 16;
    if (n < head || memcmp(d, CACHE_MAGIC, 8) != 0) return NULL;
    uint32_t stored_klen;
    memcpy(&stored_klen, d + 8, 4);
    if (stored_klen != klen || memcmp(d + 12, key, klen) != 0) return NULL;
    uint64_t plen, phash;
    memcpy(&plen, d + 12 + klen, 8);
    memcpy(&phash, d + 20 + klen, 8);
    if (plen == 0 || plen != n - head) return NULL;
    if (fnv1a(FNV_SEED, d + head, (size_t)plen) != phash) return NULL;
    *len = (size_t)plen;
    return d + head;
}

static void write_entry(ocl_ctx *c, const prog_src *s, const unsigned char *bin, size_t len) {
    char tmp[1300];
    static atomic_uint counter; /* threads of one process build in their own contexts */
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", s->path, plat_pid(), atomic_fetch_add(&counter, 1u));
    FILE *f = fopen(tmp, "wb");
    if (!f) return; /* the cache only saves time; a read-only folder is not an error */
    uint32_t klen = (uint32_t)strlen(s->key);
    uint64_t plen = len, phash = fnv1a(FNV_SEED, bin, len);
    int ok = fwrite(CACHE_MAGIC, 1, 8, f) == 8 && fwrite(&klen, 4, 1, f) == 1 &&
             fwrite(s->key, 1, klen, f) == klen && fwrite(&plen, 8, 1, f) == 1 && fwrite(&phash, 8, 1, f) == 1 &&
             fwrite(bin, 1, len, f) == len;
    ok = (fflush(f) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (ok && plat_replace(tmp, s->path) == 0)
        c->cache.written++;
    else
        remove(tmp);
}

/* ---- building ----------------------------------------------------------------------------- */

static mltc_status build_failure(ocl_ctx *c, cl_program prog, const char *op, const char *file, cl_int rc) {
    /* The start of the log holds the first error; keep what fits in the message. */
    char shown[3000] = "(no build log)";
    size_t n = 0;
    if (clGetProgramBuildInfo(prog, c->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) == CL_SUCCESS && n > 1) {
        char *log = malloc(n + 1);
        if (log && clGetProgramBuildInfo(prog, c->device, CL_PROGRAM_BUILD_LOG, n, log, NULL) == CL_SUCCESS) {
            log[n] = '\0';
            snprintf(shown, sizeof shown, "%s", log);
            if (strlen(log) >= sizeof shown) snprintf(shown + sizeof shown - 16, 16, "\n[log cut]\n");
        }
        free(log);
    }
    return err_set(c->base.err, MLTC_ERR_DEVICE, "%s %s: clBuildProgram of %s failed: %s (%d); build log:\n%s",
                   c->base.id, op, file, ocl_error_name(rc), rc, shown);
}

static mltc_status build_source(ocl_ctx *c, prog_src *s, const char *file, const char *op, cl_program *out) {
    cl_int rc = CL_SUCCESS;
    cl_program prog = clCreateProgramWithSource(c->context, (cl_uint)s->count, s->text, s->len, &rc);
    if (rc != CL_SUCCESS) return ocl_fail(c, op, "clCreateProgramWithSource", rc);
    rc = clBuildProgram(prog, 1, &c->device, s->options, NULL, NULL);
    if (rc != CL_SUCCESS) {
        mltc_status st = build_failure(c, prog, op, file, rc);
        clReleaseProgram(prog);
        return st;
    }
    *out = prog;
    return MLTC_OK;
}

static cl_program from_binary(ocl_ctx *c, const prog_src *s) {
    unsigned char *data = NULL;
    size_t size = 0, len = 0;
    if (read_file(s->path, &data, &size) != 0) return NULL; /* no entry yet */
    const unsigned char *bin = entry_payload(data, size, s->key, &len);
    cl_program prog = NULL;
    if (bin) {
        cl_int rc = CL_SUCCESS, bin_rc = CL_SUCCESS;
        prog = clCreateProgramWithBinary(c->context, 1, &c->device, &len, &bin, &bin_rc, &rc);
        if (rc != CL_SUCCESS || bin_rc != CL_SUCCESS) {
            if (rc == CL_SUCCESS) clReleaseProgram(prog);
            prog = NULL;
        } else if (clBuildProgram(prog, 1, &c->device, s->options, NULL, NULL) != CL_SUCCESS) {
            clReleaseProgram(prog);
            prog = NULL;
        }
    }
    free(data);
    if (!prog) c->cache.rejected++;
    return prog;
}

static void save_binary(ocl_ctx *c, cl_program prog, const prog_src *s) {
    size_t len = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof len, &len, NULL) != CL_SUCCESS || len == 0) return;
    unsigned char *bin = malloc(len);
    if (!bin) return;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) == CL_SUCCESS) write_entry(c, s, bin, len);
    free(bin);
}

static mltc_status create_kernels(ocl_ctx *c, ocl_prog p, const char *op) {
    for (int k = 0; k < K_COUNT; k++) {
        if (kernels[k].prog != p) continue;
        cl_int rc = CL_SUCCESS;
        c->kernels[k] = clCreateKernel(c->programs[p], kernels[k].name, &rc);
        if (rc != CL_SUCCESS) {
            c->kernels[k] = NULL;
            return err_set(c->base.err, MLTC_ERR_DEVICE, "%s %s: clCreateKernel(%s) failed: %s (%d)", c->base.id, op,
                           kernels[k].name, ocl_error_name(rc), rc);
        }
        size_t wg = 0;
        rc = clGetKernelWorkGroupInfo(c->kernels[k], c->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
        if (rc != CL_SUCCESS) return ocl_fail(c, op, "clGetKernelWorkGroupInfo", rc);
        c->kernel_wg[k] = wg ? wg : 1;
    }
    return MLTC_OK;
}

static void release_program(ocl_ctx *c, ocl_prog p) {
    for (int k = 0; k < K_COUNT; k++)
        if (kernels[k].prog == p && c->kernels[k]) {
            clReleaseKernel(c->kernels[k]);
            c->kernels[k] = NULL;
        }
    if (c->programs[p]) clReleaseProgram(c->programs[p]);
    c->programs[p] = NULL;
}

mltc_status ocl_program_build(ocl_ctx *c, ocl_prog p, const char *op) {
    if (c->programs[p]) return MLTC_OK;
    prog_src s;
    mltc_status st = prog_sources(c, p, op, &s);
    if (st != MLTC_OK) return st;
    cl_program prog = s.path[0] ? from_binary(c, &s) : NULL;
    if (prog) {
        c->cache.loaded++;
    } else {
        char what[64];
        snprintf(what, sizeof what, "kernels_cl/%s.cl", programs[p].file);
        st = build_source(c, &s, what, op, &prog);
        if (st != MLTC_OK) return st;
        c->cache.built++;
        if (s.path[0]) save_binary(c, prog, &s);
    }
    c->programs[p] = prog;
    st = create_kernels(c, p, op);
    if (st != MLTC_OK) release_program(c, p);
    return st;
}

void ocl_programs_release(ocl_ctx *c) {
    for (int p = 0; p < OCL_PROG_COUNT; p++) release_program(c, (ocl_prog)p);
}

mltc_status ocl_kernel(ocl_ctx *c, ocl_kernel_id id, const char *op, cl_kernel *out) {
    if (!c->kernels[id]) {
        mltc_status st = ocl_program_build(c, kernels[id].prog, op);
        if (st != MLTC_OK) return st;
    }
    *out = c->kernels[id];
    return MLTC_OK;
}

mltc_status ocl_build_test_source(ocl_ctx *c, const char *name, const char *source) {
    prog_src s = {.text = {source}, .len = {strlen(source)}, .count = 1};
    snprintf(s.options, sizeof s.options, "-cl-std=CL1.2");
    cl_program prog = NULL;
    mltc_status st = build_source(c, &s, name, "build_source", &prog);
    if (st == MLTC_OK) clReleaseProgram(prog);
    return st;
}
