#include "core/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

mltc_status file_read_fd(mltc_error *err, int fd, const char *path, size_t max_bytes, char **data, size_t *size) {
    *data = NULL;
    if (size) *size = 0;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    mltc_status st = MLTC_OK;
    while (buf && !st) {
        if (n == cap) {
            if (cap > max_bytes) {
                st = err_set(err, MLTC_ERR_PARSE, "%s: larger than %zu bytes", path, max_bytes);
                break;
            }
            char *grown = realloc(buf, 2 * cap + 1);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            st = err_set(err, MLTC_ERR_IO, "%s: read error (%s)", path, strerror(errno));
            break;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    if (!st && !buf) st = err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: no memory to read it", path);
    if (!st && n > max_bytes) st = err_set(err, MLTC_ERR_PARSE, "%s: larger than %zu bytes", path, max_bytes);
    if (st) {
        free(buf);
        return st;
    }
    /* Exactly n + 1 bytes (a shrink, which realloc does in place): AddressSanitizer then catches
     * any read past the end, which the slack of the doubling would hide. */
    char *exact = realloc(buf, n + 1);
    if (exact) buf = exact;
    buf[n] = '\0';
    *data = buf;
    if (size) *size = n;
    return MLTC_OK;
}

mltc_status file_read_all(mltc_error *err, const char *path, size_t max_bytes, char **data, size_t *size) {
    *data = NULL;
    if (size) *size = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return err_set(err, MLTC_ERR_IO, "%s: cannot open for reading (%s)", path, strerror(errno));
    mltc_status st = file_read_fd(err, fd, path, max_bytes, data, size);
    close(fd);
    return st;
}

mltc_status file_write_atomic(mltc_error *err, const char *path, const void *data, size_t size) {
    size_t len = strlen(path) + 32;
    char *tmp = malloc(len);
    if (!tmp) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: no memory", path);
    snprintf(tmp, len, "%s.tmp-%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) {
        mltc_status st = err_set(err, MLTC_ERR_IO, "%s: cannot create (%s)", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    const char *p = data;
    size_t left = size;
    int ok = 1;
    while (ok && left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        ok = w > 0;
        if (ok) p += w, left -= (size_t)w;
    }
    int saved = errno;
    ok = ok && fsync(fd) == 0;
    ok = (close(fd) == 0) && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) saved = errno;
    if (!ok) unlink(tmp);
    free(tmp);
    return ok ? MLTC_OK : err_set(err, MLTC_ERR_IO, "%s: cannot write (%s)", path, strerror(saved));
}

mltc_status dir_create(mltc_error *err, const char *path) {
    if (mkdir(path, 0777) == 0 || errno == EEXIST) {
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return MLTC_OK;
        return err_set(err, MLTC_ERR_IO, "%s: exists and is not a folder", path);
    }
    return err_set(err, MLTC_ERR_IO, "%s: cannot create the folder (%s)", path, strerror(errno));
}
