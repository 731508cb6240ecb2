/* The operating system, behind one set of calls: files and folders, atomic replacement, memory
 * mapping, aligned memory, the machine's memory and processes, temporary folders, and the
 * console (terminals, Ctrl-C). platform_posix.c implements it on Linux and other POSIX systems,
 * platform_windows.c on Windows (paths are UTF-8 there too). Nothing else in the library or the
 * tools calls these OS interfaces directly. Calls that fail return -1 (or NULL) with errno set,
 * so callers say why with strerror. */
#ifndef MLTC_CORE_PLATFORM_H
#define MLTC_CORE_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- processes and the machine ---- */

/* This process's id. */
long plat_pid(void);

/* 1 while a process with this id may be running (it exists, or cannot be asked), 0 when it is
 * known to be gone. */
int plat_process_alive(long pid);

/* Physical memory in bytes; 0 when unknown. */
uint64_t plat_physical_memory(void);

/* The processor's model name ("CPU" when the system does not say). */
void plat_cpu_name(char *out, size_t cap);

/* Seconds on a clock that only goes forward, from an arbitrary start. */
double plat_seconds(void);

/* ---- files and folders ---- */

/* 1 when path names a folder, 0 when it names something else, -1 (errno) when it is not there. */
int plat_is_dir(const char *path);

/* 1 when path names a regular file, 0 when it names something else (a folder, a pipe, a
 * device), -1 (errno) when it is not there. Asks without opening it: opening a pipe waits. */
int plat_is_regular(const char *path);

/* 1 when something (file or folder) is at path. */
int plat_exists(const char *path);

/* Creates one folder (0777 before the umask on POSIX, 0700 when owner_only); 0, or -1 (EEXIST
 * when it is there). */
int plat_mkdir(const char *path, int owner_only);

int plat_remove_file(const char *path);
int plat_remove_dir(const char *path); /* an empty folder */

/* Renames from to to, replacing a file at to in one step: readers see the old file or the new
 * one. A folder may be renamed onto a name that is free. */
int plat_replace(const char *from, const char *to);

/* Exchanges two folders in one step; -1 with errno ENOSYS where the system cannot. */
int plat_exchange(const char *a, const char *b);

/* fflush, then waits until the file's data is on the disk. */
int plat_sync_file(FILE *f);

/* The names in a folder, "." and ".." left out. */
typedef struct plat_dir plat_dir;
plat_dir *plat_dir_open(const char *path);
const char *plat_dir_next(plat_dir *d); /* NULL at the end; valid until the next call */
void plat_dir_close(plat_dir *d);

/* The user's folder for caches, mltc's own folder in it ($XDG_CACHE_HOME/mltc, ~/.cache/mltc;
 * %LOCALAPPDATA%/mltc on Windows); 0, or -1 when the environment names none. */
int plat_user_cache_dir(char *out, size_t cap);

/* Sets the environment variable name to value, or removes it when value is NULL (the tests
 * switch backend paths this way); 0, or -1. */
int plat_setenv(const char *name, const char *value);

/* Creates a new, empty folder "<temp>/<prefix>XXXXXX" (temp: TMPDIR, else the system's
 * temporary folder) and writes its path to out; 0, or -1 (ENAMETOOLONG when out is too small). */
int plat_make_temp_dir(const char *prefix, char *out, size_t cap);

/* ---- memory ---- */

/* A stream written to memory, as POSIX open_memstream: write to f; after plat_memstream_close,
 * p holds the n bytes written and a NUL (malloc'd: the caller frees it; NULL when memory ran
 * out). */
typedef struct plat_memstream {
    FILE *f;
    char *p;
    size_t n;
} plat_memstream;
int plat_memstream_open(plat_memstream *m);
void plat_memstream_close(plat_memstream *m);

/* Maps a whole regular, non-empty file read-only; 0, or -1 when it cannot be mapped (the caller
 * then reads it). Opens path: ask plat_is_regular first where it may be a pipe. *handle goes to
 * plat_unmap_file. */
int plat_map_file(const char *path, const void **base, size_t *size, void **handle);
void plat_unmap_file(const void *base, size_t size, void *handle);

/* size bytes aligned to align (a power of two, size a multiple of it); free with
 * plat_aligned_free, never free. */
void *plat_aligned_alloc(size_t align, size_t size);
void plat_aligned_free(void *p);

/* ---- the console ---- */

/* 1 when f is a terminal (a console window on Windows). */
int plat_is_terminal(FILE *f);

/* As POSIX getline: the next line of f with its '\n' into *line (grown as needed); its length,
 * or -1 at the end or on an error. */
long plat_read_line(FILE *f, char **line, size_t *cap);

/* From now on Ctrl-C and a request to stop (SIGTERM; on Windows the console's close and break
 * events) call on_stop instead of ending the process, and a reader that goes away (SIGPIPE) does
 * not end it either; plat_default_stop() brings the defaults back. on_stop must only set a flag. */
void plat_catch_stop(void (*on_stop)(void));
void plat_default_stop(void);

#endif
