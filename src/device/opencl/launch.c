/* Kernel launches: arguments are set in order and the first failure is reported at launch,
 * so each op reads as a list of arguments followed by one checked enqueue. */
#include <stdio.h>

#include "device/opencl/internal.h"

/* Elementwise kernels: a multiple of any SIMD width, small enough for every device. */
#define ITEMS_LOCAL 256

mltc_status ocl_begin(ocl_launch *L, ocl_ctx *c, ocl_kernel_id id, const char *op) {
    L->c = c;
    L->op = op;
    L->id = id;
    L->next = 0;
    L->rc = CL_SUCCESS;
    L->bad_arg = 0;
    L->k = NULL;
    L->st = ocl_kernel(c, id, op, &L->k);
    return L->st;
}

void ocl_arg(ocl_launch *L, size_t size, const void *value) {
    if (L->st != MLTC_OK) return;
    cl_int rc = clSetKernelArg(L->k, L->next, size, value);
    if (rc != CL_SUCCESS && L->rc == CL_SUCCESS) {
        L->rc = rc;
        L->bad_arg = L->next;
    }
    L->next++;
}

void ocl_arg_mem(ocl_launch *L, cl_mem m) { ocl_arg(L, sizeof m, &m); }

void ocl_arg_view(ocl_launch *L, dev_view v) {
    cl_mem m = ocl_mem(v);
    cl_ulong off = v.off;
    ocl_arg(L, sizeof m, &m);
    ocl_arg(L, sizeof off, &off);
}

void ocl_arg_int(ocl_launch *L, int v) {
    cl_int x = v;
    ocl_arg(L, sizeof x, &x);
}

void ocl_arg_ulong(ocl_launch *L, uint64_t v) {
    cl_ulong x = v;
    ocl_arg(L, sizeof x, &x);
}

void ocl_arg_float(ocl_launch *L, float v) {
    cl_float x = v;
    ocl_arg(L, sizeof x, &x);
}

void ocl_arg_local(ocl_launch *L, size_t bytes) { ocl_arg(L, bytes, NULL); }

static mltc_status enqueue(ocl_launch *L, size_t global, size_t local) {
    if (L->st != MLTC_OK) return L->st;
    if (L->rc != CL_SUCCESS) {
        char call[64];
        snprintf(call, sizeof call, "clSetKernelArg(argument %u)", L->bad_arg);
        return ocl_fail(L->c, L->op, call, L->rc);
    }
    cl_int rc = clEnqueueNDRangeKernel(L->c->queue, L->k, 1, NULL, &global, &local, 0, NULL, NULL);
    ocl_enqueued(L->c, &L->c->base.counts.dispatches);
    return rc == CL_SUCCESS ? MLTC_OK : ocl_fail(L->c, L->op, "clEnqueueNDRangeKernel", rc);
}

static size_t pow2_floor(size_t v) {
    size_t p = 1;
    while (p * 2 <= v) p *= 2;
    return p;
}

mltc_status ocl_run_items(ocl_launch *L, size_t n) {
    if (L->st != MLTC_OK) return L->st;
    size_t local = pow2_floor(L->c->kernel_wg[L->id] < ITEMS_LOCAL ? L->c->kernel_wg[L->id] : ITEMS_LOCAL);
    if (n == 0) return MLTC_OK;
    return enqueue(L, (n + local - 1) / local * local, local);
}

mltc_status ocl_run_groups(ocl_launch *L, size_t groups, size_t local) {
    if (L->st != MLTC_OK) return L->st;
    if (groups == 0) return MLTC_OK;
    return enqueue(L, groups * local, local);
}

size_t ocl_group_size(ocl_ctx *c, ocl_kernel_id id, size_t want) {
    size_t lim = c->kernel_wg[id];
    if (lim > c->max_wg) lim = c->max_wg;
    if (lim > want) lim = want;
    /* Reductions hold 8 bytes per work-item in local memory; leave half for the runtime. */
    while (lim > 1 && (cl_ulong)lim * 8 > c->local_mem / 2) lim /= 2;
    return pow2_floor(lim ? lim : 1);
}

size_t ocl_row_local(ocl_ctx *c, ocl_kernel_id id, int cols) {
    size_t want = 1;
    while (want < (size_t)cols && want < OCL_ROW_LOCAL) want *= 2;
    return ocl_group_size(c, id, want);
}

int ocl_colsum_shape(ocl_ctx *c, ocl_kernel_id id, int cols, size_t *local, size_t *groups) {
    /* 3 floats a work-item where ocl_group_size budgets 2: ask for half the local memory's share. */
    size_t l = ocl_group_size(c, id, OCL_COLSUM_LOCAL);
    while (l > 1 && (cl_ulong)l * 12 > c->local_mem / 2) l /= 2;
    int cg = l >= OCL_COLSUM_COLS ? OCL_COLSUM_COLS : (int)l;
    *local = l;
    *groups = ((size_t)cols + (size_t)cg - 1) / (size_t)cg;
    return cg;
}
