#include "fuzz_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char scratch[64];

static void remove_scratch(void) { unlink(scratch); }

const char *fuzz_file(const uint8_t *data, size_t size) {
    if (!scratch[0]) {
        snprintf(scratch, sizeof scratch, "%s/mltc-fuzz-%ld", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
                 (long)getpid());
        atexit(remove_scratch);
    }
    FILE *f = fopen(scratch, "wb");
    if (!f) return NULL;
    size_t put = size ? fwrite(data, 1, size, f) : 0;
    return fclose(f) == 0 && put == size ? scratch : NULL;
}

char *fuzz_string(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (s) {
        if (size) memcpy(s, data, size);
        s[size] = 0;
    }
    return s;
}

void fuzz_check_labels(const labels *l) {
    for (int k = 0; k < l->count; k++)
        if (labels_find(l, l->names[k]) != k) abort();
}

void fuzz_expect_message(mltc_status st, const mltc_error *err, const char *what) {
    if (st != MLTC_OK && !err->msg[0]) {
        fprintf(stderr, "fuzz: %s failed (status %d) without a message\n", what, (int)st);
        abort();
    }
}
