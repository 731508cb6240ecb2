/* mltc devices: what each backend sees, with the limits that matter for training. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void print_bytes(const char *label, uint64_t b) {
    if (b == 0) return;
    printf("    %-18s %.2f GiB (%llu bytes)\n", label, (double)b / (1024.0 * 1024.0 * 1024.0), (unsigned long long)b);
}

int cmd_devices(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        printf("usage: mltc devices\n\nLists each device of each compiled-in backend (cpu, opencl, vulkan) with the\n"
               "id that --device and MLTC_DEVICE accept, and says why a backend shows none.\n");
        return CLI_OK;
    }
    if (argc > 1) {
        fprintf(stderr, "mltc devices: unexpected argument '%s'\n", argv[1]);
        return CLI_USAGE;
    }
    mltc_ctx *ctx = NULL;
    if (mltc_ctx_create(&ctx) != MLTC_OK) {
        fprintf(stderr, "mltc devices: out of memory\n");
        return CLI_FAIL;
    }
    mltc_device_info *list = NULL;
    int n = 0;
    char *notes = NULL;
    if (mltc_devices(ctx, &list, &n, &notes) != MLTC_OK) {
        fprintf(stderr, "mltc devices: %s\n", mltc_last_error(ctx));
        mltc_ctx_destroy(ctx);
        return CLI_FAIL;
    }
    for (int i = 0; i < n; i++) {
        const mltc_device_info *d = &list[i];
        printf("%-10s %s\n", d->id, d->name);
        printf("    %-18s %s\n", "driver", d->driver);
        print_bytes("global memory", d->global_mem_bytes);
        print_bytes("max allocation", d->max_alloc_bytes);
        if (d->local_mem_bytes) printf("    %-18s %llu KiB\n", "local memory", (unsigned long long)d->local_mem_bytes / 1024);
        printf("    %-18s %u\n", "compute units", d->compute_units);
        if (d->subgroup_size) printf("    %-18s %u\n", "subgroup size", d->subgroup_size);
        printf("    %-18s fp16 %s, fp64 %s%s\n", "precision", d->fp16 ? "yes" : "no", d->fp64 ? "yes" : "no",
               d->cooperative_matrix ? ", cooperative matrix" : "");
        if (d->details[0]) printf("    %-18s %s\n", "details", d->details);
    }
    if (notes) printf("\n%s", notes);
    mltc_devices_free(list);
    mltc_devices_free(notes);
    mltc_ctx_destroy(ctx);
    return CLI_OK;
}
