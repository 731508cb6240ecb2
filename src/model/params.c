#include "model/params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/philox.h"

size_t param_numel(const param_spec *s) {
    size_t n = 1;
    for (int d = 0; d < s->ndim; d++) n *= (size_t)s->shape[d];
    return n;
}

mltc_status param_table_create(dev_ctx *dev, const param_spec *specs, int count, param_table *out) {
    memset(out, 0, sizeof *out);
    if (count <= 0) return err_set(dev->err, MLTC_ERR_INVALID_ARGUMENT, "param table: no tensors");
    out->specs = malloc(sizeof *out->specs * (size_t)count);
    out->offsets = malloc(sizeof *out->offsets * (size_t)count);
    if (!out->specs || !out->offsets) {
        param_table_free(dev, out);
        return err_set(dev->err, MLTC_ERR_OUT_OF_MEMORY, "param table: %d tensors", count);
    }
    memcpy(out->specs, specs, sizeof *specs * (size_t)count);
    out->count = count;
    size_t off = 0;
    for (int pass = 1; pass >= 0; pass--) { /* decayed tensors first */
        for (int i = 0; i < count; i++) {
            if (!!specs[i].decay != pass) continue;
            if (specs[i].ndim < 1 || specs[i].ndim > PARAM_MAX_DIMS) {
                param_table_free(dev, out);
                return err_set(dev->err, MLTC_ERR_INVALID_ARGUMENT, "param table: tensor '%s' has %d dims",
                               specs[i].name, specs[i].ndim);
            }
            out->offsets[i] = off;
            off += param_numel(&specs[i]);
        }
        if (pass == 1) out->n_decay = off;
    }
    out->n = off;
    mltc_status st = dev_alloc(dev, off * 4, &out->params);
    if (st == MLTC_OK) st = dev_alloc(dev, off * 4, &out->grads);
    if (st == MLTC_OK) st = dev_fill(dev, (dev_view){out->params, 0}, off, 0.0f);
    if (st == MLTC_OK) st = dev_fill(dev, (dev_view){out->grads, 0}, off, 0.0f);
    if (st != MLTC_OK) param_table_free(dev, out);
    return st;
}

void param_table_free(dev_ctx *dev, param_table *t) {
    if (!t) return;
    dev_free(dev, t->params);
    dev_free(dev, t->grads);
    free(t->specs);
    free(t->offsets);
    memset(t, 0, sizeof *t);
}

int param_find(const param_table *t, const char *name) {
    for (int i = 0; i < t->count; i++)
        if (!strcmp(t->specs[i].name, name)) return i;
    return -1;
}

dev_view param_view(const param_table *t, int i) { return (dev_view){t->params, t->offsets[i]}; }
dev_view param_grad(const param_table *t, int i) { return (dev_view){t->grads, t->offsets[i]}; }

void philox_fill_normal(float *x, size_t n, float std, uint64_t seed, uint64_t stream) {
    for (size_t i = 0; i < n; i += 2) {
        uint32_t ctr[4] = {(uint32_t)i, (uint32_t)((uint64_t)i >> 32), (uint32_t)stream, (uint32_t)(stream >> 32)};
        uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
        uint32_t r[4];
        philox4x32_10(ctr, key, r);
        /* Box-Muller on two uniforms in (0, 1]. */
        double u1 = ((double)r[0] + 1.0) / 4294967296.0, u2 = (double)r[1] / 4294967296.0;
        double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
        x[i] = (float)(std * rad * cos(th));
        if (i + 1 < n) x[i + 1] = (float)(std * rad * sin(th));
    }
}

mltc_status param_init_normal(dev_ctx *dev, const param_table *t, int i, float std, uint64_t seed, uint64_t stream) {
    size_t n = param_numel(&t->specs[i]);
    float *h = malloc(n * 4);
    if (!h) return err_set(dev->err, MLTC_ERR_OUT_OF_MEMORY, "init '%s': %zu bytes", t->specs[i].name, n * 4);
    philox_fill_normal(h, n, std, seed, stream);
    mltc_status st = dev_upload(dev, t->params, t->offsets[i] * 4, h, n * 4);
    free(h);
    return st;
}

mltc_status param_init_const(dev_ctx *dev, const param_table *t, int i, float value) {
    return dev_fill(dev, param_view(t, i), param_numel(&t->specs[i]), value);
}

static void full_name(char *out, size_t cap, const char *prefix, const char *name) {
    snprintf(out, cap, "%s%s", prefix ? prefix : "", name);
}

mltc_status param_table_save(dev_ctx *dev, const param_table *t, const char *prefix, st_writer *w) {
    float *host = malloc(t->n * 4);
    if (!host) return err_set(dev->err, MLTC_ERR_OUT_OF_MEMORY, "saving parameters: %zu bytes", t->n * 4);
    mltc_status st = dev_download(dev, t->params, 0, host, t->n * 4);
    for (int i = 0; st == MLTC_OK && i < t->count; i++) {
        char name[300];
        full_name(name, sizeof name, prefix, t->specs[i].name);
        st = st_writer_add_f32(w, name, t->specs[i].ndim, t->specs[i].shape, host + t->offsets[i]);
    }
    free(host);
    return st;
}

mltc_status param_table_load(dev_ctx *dev, const param_table *t, const char *prefix, const st_file *f) {
    float *host = malloc(t->n * 4);
    if (!host) return err_set(dev->err, MLTC_ERR_OUT_OF_MEMORY, "loading parameters: %zu bytes", t->n * 4);
    mltc_status st = MLTC_OK;
    for (int i = 0; st == MLTC_OK && i < t->count; i++) {
        char name[300];
        full_name(name, sizeof name, prefix, t->specs[i].name);
        st = st_load_f32(dev->err, f, name, t->specs[i].ndim, t->specs[i].shape, host + t->offsets[i]);
    }
    if (st == MLTC_OK) st = dev_upload(dev, t->params, 0, host, t->n * 4);
    free(host);
    return st;
}
