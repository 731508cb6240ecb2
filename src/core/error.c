#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

mltc_status err_set(mltc_error *e, mltc_status status, const char *fmt, ...) {
    if (!e) return status;
    e->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return status;
}

mltc_status err_prefix(mltc_error *e, const char *fmt, ...) {
    if (!e) return MLTC_OK;
    char prefix[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Shift the old message right to make room, keeping as much of it as fits. */
    size_t plen = strlen(prefix), olen = strlen(e->msg);
    if (plen >= sizeof e->msg) plen = sizeof e->msg - 1;
    if (plen + olen >= sizeof e->msg) olen = sizeof e->msg - 1 - plen;
    memmove(e->msg + plen, e->msg, olen);
    memcpy(e->msg, prefix, plen);
    e->msg[plen + olen] = '\0';
    return e->status;
}

mltc_status err_suffix(mltc_error *e, const char *fmt, ...) {
    if (!e) return MLTC_OK;
    size_t olen = strlen(e->msg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg + olen, sizeof e->msg - olen, fmt, ap);
    va_end(ap);
    return e->status;
}

void err_clear(mltc_error *e) {
    if (!e) return;
    e->status = MLTC_OK;
    e->msg[0] = '\0';
}
