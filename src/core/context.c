#include "core/context.h"

#include <stdlib.h>

#define MLTC_STR2(x) #x
#define MLTC_STR(x) MLTC_STR2(x)

const char *mltc_version(void) {
    return MLTC_STR(MLTC_VERSION_MAJOR) "." MLTC_STR(MLTC_VERSION_MINOR) "." MLTC_STR(MLTC_VERSION_PATCH);
}

const char *mltc_status_string(mltc_status status) {
    switch (status) {
    case MLTC_OK: return "ok";
    case MLTC_ERR_INVALID_ARGUMENT: return "invalid argument";
    case MLTC_ERR_IO: return "I/O error";
    case MLTC_ERR_PARSE: return "parse error";
    case MLTC_ERR_OUT_OF_MEMORY: return "out of memory";
    case MLTC_ERR_DEVICE: return "device error";
    case MLTC_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown status";
}

mltc_status mltc_ctx_create(mltc_ctx **out) {
    if (!out) return MLTC_ERR_INVALID_ARGUMENT;
    *out = calloc(1, sizeof **out);
    return *out ? MLTC_OK : MLTC_ERR_OUT_OF_MEMORY;
}

void mltc_ctx_destroy(mltc_ctx *ctx) { free(ctx); }

const char *mltc_last_error(const mltc_ctx *ctx) { return ctx ? ctx->err.msg : "no context"; }

void mltc_free(void *p) { free(p); }
