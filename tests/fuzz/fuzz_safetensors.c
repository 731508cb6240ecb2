/* st_open on any bytes, then every read of every tensor it accepts. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "model/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(data, size);
    if (!path) return 0;
    mltc_error err = {0};
    st_file *f = NULL;
    mltc_status st = st_open(&err, path, &f);
    fuzz_expect_message(st, &err, "st_open");
    if (st) return 0;
    st_metadata(f, "format");
    for (int i = 0; i < st_count(f); i++) {
        const st_tensor *t = st_at(f, i);
        if (st_find(f, t->name) == NULL) abort(); /* every listed tensor can be found by name */
        /* st_open checked that the data lies inside the (at most max_len) file, so numel is small */
        float *fbuf = malloc((t->numel ? t->numel : 1) * sizeof(float));
        int32_t *ibuf = malloc((t->numel ? t->numel : 1) * sizeof(int32_t));
        if (fbuf && ibuf) {
            err.msg[0] = 0;
            fuzz_expect_message(st_read_f32(&err, f, t, fbuf), &err, "st_read_f32");
            err.msg[0] = 0;
            fuzz_expect_message(st_read_i32(&err, f, t, ibuf), &err, "st_read_i32");
        }
        free(fbuf);
        free(ibuf);
    }
    st_close(f);
    return 0;
}
