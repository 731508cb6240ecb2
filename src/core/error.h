/* Error reporting shared by every layer: a status plus a message that says what and where. */
#ifndef MLTC_CORE_ERROR_H
#define MLTC_CORE_ERROR_H

#include "mltc.h"

#define MLTC_ERROR_MSG_MAX 4096

typedef struct mltc_error {
    mltc_status status;
    char msg[MLTC_ERROR_MSG_MAX];
} mltc_error;

#if defined(__MINGW32__)
/* mingw builds take the C99 printf family (__USE_MINGW_ANSI_STDIO, CMakeLists.txt): %zu works. */
#define MLTC_PRINTF(a, b) __attribute__((format(gnu_printf, a, b)))
#elif defined(__GNUC__)
#define MLTC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MLTC_PRINTF(a, b)
#endif

/* Records status and a printf-style message in e (if e is not NULL) and returns status,
 * so callers can write `return err_set(e, MLTC_ERR_IO, "cannot open %s", path);`. */
mltc_status err_set(mltc_error *e, mltc_status status, const char *fmt, ...) MLTC_PRINTF(3, 4);

/* Puts a prefix before the message already recorded ("loading ckpt/model.safetensors: ..."),
 * keeping the status. Returns the recorded status. */
mltc_status err_prefix(mltc_error *e, const char *fmt, ...) MLTC_PRINTF(2, 3);

/* Adds to the end of the message already recorded (a hint on what to do), keeping the status
 * and as much of the message as fits. Returns the recorded status. */
mltc_status err_suffix(mltc_error *e, const char *fmt, ...) MLTC_PRINTF(2, 3);

void err_clear(mltc_error *e);

/* Returns the status of x from the calling function unless it is MLTC_OK:
 * `TRY(dev_alloc(dev, bytes, &buf));`. */
#define TRY(x)                                                                                                    \
    do {                                                                                                          \
        mltc_status st_ = (x);                                                                                    \
        if (st_ != MLTC_OK) return st_;                                                                           \
    } while (0)

#endif
