/* Uses only the public header: version, a context, the device list. */
#include <stdio.h>
#include <string.h>

#include <mltc.h>

int main(void) {
    mltc_ctx *ctx = NULL;
    if (mltc_ctx_create(&ctx) != MLTC_OK) return 1;
    mltc_device_info *list = NULL;
    int n = 0;
    mltc_status st = mltc_devices(ctx, &list, &n, NULL);
    int ok = st == MLTC_OK && n >= 1 && strcmp(list[0].id, "cpu") == 0;
    printf("mltc %s: %d device(s), first %s\n", mltc_version(), n, n ? list[0].id : "-");
    mltc_devices_free(list);
    mltc_ctx_destroy(ctx);
    return ok ? 0 : 1;
}
