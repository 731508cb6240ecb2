/* mltc_devices: every device of every compiled-in backend, for `mltc devices` and apps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/context.h"
#include "device/device.h"

#define MAX_DEVICES_PER_BACKEND 64

static void append_note(char **notes, const char *backend, const char *msg) {
    if (!notes) return;
    size_t old = *notes ? strlen(*notes) : 0, add = strlen(backend) + strlen(msg) + 4;
    char *p = realloc(*notes, old + add);
    if (!p) return;
    snprintf(p + old, add, "%s: %s\n", backend, msg);
    *notes = p;
}

mltc_status mltc_devices(mltc_ctx *ctx, mltc_device_info **list, int *count, char **notes) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    if (!list || !count) return err_set(&ctx->err, MLTC_ERR_INVALID_ARGUMENT, "mltc_devices: list or count is NULL");
    *list = NULL;
    *count = 0;
    if (notes) *notes = NULL;
    int total = 0;
    for (const dev_backend *const *b = dev_backends(); *b; b++) {
        mltc_device_info infos[MAX_DEVICES_PER_BACKEND];
        int n = 0;
        mltc_error berr = {0};
        mltc_status st = (*b)->enumerate(&berr, infos, MAX_DEVICES_PER_BACKEND, &n);
        if (st != MLTC_OK) {
            append_note(notes, (*b)->name, berr.msg[0] ? berr.msg : mltc_status_string(st));
            continue;
        }
        if (n > MAX_DEVICES_PER_BACKEND) n = MAX_DEVICES_PER_BACKEND;
        if (n == 0) append_note(notes, (*b)->name, "no devices found");
        mltc_device_info *grown = realloc(*list, sizeof **list * (size_t)(total + n + 1));
        if (!grown) {
            free(*list);
            *list = NULL;
            return err_set(&ctx->err, MLTC_ERR_OUT_OF_MEMORY, "mltc_devices: out of memory");
        }
        *list = grown;
        memcpy(*list + total, infos, sizeof *infos * (size_t)n);
        total += n;
    }
    *count = total;
    return MLTC_OK;
}

void mltc_devices_free(void *p) { free(p); }
