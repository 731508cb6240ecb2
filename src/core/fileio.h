/* File helpers shared by every layer: read a whole file, read a text file line by line (plain or
 * gzip-compressed), write one atomically, create a folder with its parents. */
#ifndef MLTC_CORE_FILEIO_H
#define MLTC_CORE_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

/* Reads path into a malloc'd, NUL-terminated buffer. A file larger than max_bytes is
 * MLTC_ERR_PARSE (it is not the kind of file asked for); a missing one MLTC_ERR_IO. */
mltc_status file_read_all(mltc_error *err, const char *path, size_t max_bytes, char **data, size_t *size);

/* Writes data to "<path>.tmp-<pid>", flushes and fsyncs it, then renames it over path, so
 * readers see the old file or the new one, never a part. */
mltc_status file_write_atomic(mltc_error *err, const char *path, const void *data, size_t size);

/* Creates a folder (mode 0777 before umask) and any missing parents, as mkdir -p; an existing
 * folder is fine. A failure names the folder that could not be made and why. */
mltc_status dir_create(mltc_error *err, const char *path);

/* Creates the folder that holds path (everything before its last '/'), as dir_create. */
mltc_status dir_create_parent(mltc_error *err, const char *path);

/* A text file read line by line. A gzip-compressed file (known by its first bytes, whatever its
 * name) is decompressed as it is read; any other file is read as it is. */
typedef struct text_file text_file;

/* NULL with errno set when the file cannot be opened, as fopen. */
text_file *text_open(const char *path);

/* As getline: the next line with its '\n' (the last may lack one) into *line, NUL-terminated,
 * growing *line / *cap; the line's length in bytes (it may hold NUL bytes), or -1 at the end of
 * the file or on an error (text_error tells which). */
ssize_t text_getline(text_file *f, char **line, size_t *cap);

/* NULL while nothing has gone wrong; else why the file could not be read (a read error, or
 * corrupt or truncated compressed data). Valid until text_close. */
const char *text_error(text_file *f);

void text_close(text_file *f);

#endif
