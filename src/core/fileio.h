/* Small-file helpers shared by every layer: read a whole file, write one atomically. */
#ifndef MLTC_CORE_FILEIO_H
#define MLTC_CORE_FILEIO_H

#include <stddef.h>

#include "core/error.h"

/* Reads path into a malloc'd, NUL-terminated buffer. A file larger than max_bytes is
 * MLTC_ERR_PARSE (it is not the kind of file asked for); a missing one MLTC_ERR_IO. */
mltc_status file_read_all(mltc_error *err, const char *path, size_t max_bytes, char **data, size_t *size);

/* The same from an open descriptor (read to its end, not closed); path names it in errors. */
mltc_status file_read_fd(mltc_error *err, int fd, const char *path, size_t max_bytes, char **data, size_t *size);

/* Writes data to "<path>.tmp-<pid>", flushes and fsyncs it, then renames it over path, so
 * readers see the old file or the new one, never a part. */
mltc_status file_write_atomic(mltc_error *err, const char *path, const void *data, size_t size);

/* Creates a folder (mode 0777 before umask); an existing folder is fine. */
mltc_status dir_create(mltc_error *err, const char *path);

#endif
