/*
 * mltc_platform — the few operating-system services a command-line application of mltc needs,
 * the same on Linux and Windows: reading lines, knowing a terminal, making a folder, and
 * stopping cleanly on Ctrl-C. The mltc CLI uses them; other applications may.
 *
 * FILE arguments must come from the same C runtime as the library (the static library, or a
 * program built with the same toolchain as mltc.dll).
 */
#ifndef MLTC_PLATFORM_H
#define MLTC_PLATFORM_H

#include <stdio.h>

#include "mltc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* As POSIX getline: the next line of f with its '\n' into *line (grown with realloc, freed by
 * the caller with free); its length in bytes, or -1 at the end or on an error. */
MLTC_API long mltc_read_line(FILE *f, char **line, size_t *cap);

/* 1 when f is a terminal or a console window. */
MLTC_API int mltc_is_terminal(FILE *f);

/* 1 when path is a folder, 0 when it is something else, -1 when nothing is there. */
MLTC_API int mltc_path_kind(const char *path);

/* Creates the folder path and any missing parents, as mkdir -p. MLTC_OK, or why not in ctx. */
MLTC_API mltc_status mltc_make_folder(mltc_ctx *ctx, const char *path);

/* From now on Ctrl-C and requests to stop (SIGTERM; the console's break and close events on
 * Windows) call on_stop, which must only set a flag, instead of ending the process; a reader of
 * the output that goes away does not end it either. mltc_default_stop brings the defaults back. */
MLTC_API void mltc_catch_stop(void (*on_stop)(void));
MLTC_API void mltc_default_stop(void);

#ifdef __cplusplus
}
#endif

#endif
