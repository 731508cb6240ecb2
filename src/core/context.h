/* The public context: owns the last error. Internal layers receive &ctx->err. */
#ifndef MLTC_CORE_CONTEXT_H
#define MLTC_CORE_CONTEXT_H

#include "core/error.h"

struct mltc_ctx {
    mltc_error err;
};

#endif
