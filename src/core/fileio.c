#include "core/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/platform.h"

#include <zlib.h>

static mltc_status read_stream(mltc_error *err, FILE *in, const char *path, size_t max_bytes, char **data, size_t *size) {
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
        size_t got = fread(buf + n, 1, cap - n, in);
        n += got;
        if (got == 0 && ferror(in)) {
            st = err_set(err, MLTC_ERR_IO, "%s: read error (%s)", path, strerror(errno));
            break;
        }
        if (got == 0) break;
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
    FILE *in = fopen(path, "rb");
    if (!in) return err_set(err, MLTC_ERR_IO, "%s: cannot open for reading (%s)", path, strerror(errno));
    mltc_status st = read_stream(err, in, path, max_bytes, data, size);
    fclose(in);
    return st;
}

mltc_status file_write_atomic(mltc_error *err, const char *path, const void *data, size_t size) {
    size_t len = strlen(path) + 32;
    char *tmp = malloc(len);
    if (!tmp) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: no memory", path);
    snprintf(tmp, len, "%s.tmp-%ld", path, plat_pid());
    FILE *out = fopen(tmp, "wb");
    if (!out) {
        mltc_status st = err_set(err, MLTC_ERR_IO, "%s: cannot create (%s)", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    int ok = fwrite(data, 1, size, out) == size;
    ok = ok && plat_sync_file(out) == 0;
    int saved = errno;
    ok = (fclose(out) == 0) && ok;
    ok = ok && plat_replace(tmp, path) == 0;
    if (!ok) saved = errno;
    if (!ok) plat_remove_file(tmp);
    free(tmp);
    return ok ? MLTC_OK : err_set(err, MLTC_ERR_IO, "%s: cannot write (%s)", path, strerror(saved));
}

/* Makes one folder of a dir_create path unless it is there; 0, or -1 with errno set. */
static int make_one(const char *dir) {
    int is_dir = plat_is_dir(dir);
    if (is_dir == 1) return 0;
    if (is_dir == 0) {
        errno = ENOTDIR;
        return -1;
    }
    if (plat_mkdir(dir, 0) == 0) return 0;
    int e = errno;
    /* Made by someone else in between: fine if it is a folder. */
    if (e == EEXIST && plat_is_dir(dir) == 1) return 0;
    errno = e;
    return -1;
}

mltc_status dir_create(mltc_error *err, const char *path) {
    if (!path || !*path) return err_set(err, MLTC_ERR_INVALID_ARGUMENT, "an empty folder name");
    size_t len = strlen(path);
    char *dir = malloc(len + 1);
    if (!dir) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: no memory", path);
    memcpy(dir, path, len + 1);
    while (len > 1 && dir[len - 1] == '/') dir[--len] = '\0';
    mltc_status st = MLTC_OK;
    /* Each prefix that ends a component ("a", "a/b", "a/b/c"), the root and repeated slashes
     * skipped. */
    for (size_t i = 1; i <= len && !st; i++) {
        if ((dir[i] != '/' && dir[i] != '\0') || dir[i - 1] == '/') continue;
        char keep = dir[i];
        dir[i] = '\0';
        if (make_one(dir) != 0) {
            int e = errno;
            const char *why = plat_is_dir(dir) == 0 ? "exists and is not a folder" : strerror(e);
            if (i == len)
                st = err_set(err, MLTC_ERR_IO, "%s: cannot create the folder (%s)", path, why);
            else
                st = err_set(err, MLTC_ERR_IO, "%s: cannot create the folder (%s: %s)", path, dir, why);
        }
        dir[i] = keep;
    }
    free(dir);
    return st;
}

mltc_status dir_create_parent(mltc_error *err, const char *path) {
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!slash || slash == path) return MLTC_OK; /* the current folder or the root */
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (!dir) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "%s: no memory", path);
    memcpy(dir, path, n);
    dir[n] = '\0';
    mltc_status st = dir_create(err, dir);
    free(dir);
    return st;
}

/* ---- text files, plain or gzip-compressed -------------------------------------------------- */

#define TEXT_CHUNK ((size_t)1 << 16)

struct text_file {
    gzFile gz;
    char *path;       /* zlib's messages start with it */
    char *chunk;      /* TEXT_CHUNK bytes read ahead */
    size_t pos, have; /* the unread part is chunk[pos, have) */
    int eof;
    char why[256]; /* set once something went wrong */
};

text_file *text_open(const char *path) {
    text_file *f = calloc(1, sizeof *f);
    char *chunk = malloc(TEXT_CHUNK);
    if (!f || !chunk) {
        free(f);
        free(chunk);
        errno = ENOMEM;
        return NULL;
    }
    f->chunk = chunk;
    f->path = strdup(path);
    errno = 0;
    f->gz = gzopen(path, "rb");
    if (!f->gz) {
        int saved = errno ? errno : ENOMEM; /* gzopen leaves errno 0 when it ran out of memory */
        free(f->path);
        free(chunk);
        free(f);
        errno = saved;
        return NULL;
    }
    return f;
}

/* Refills the read-ahead; 0 at the end of the file or on an error (f->why says which). */
static size_t text_fill(text_file *f) {
    f->pos = f->have = 0;
    if (f->eof || f->why[0]) return 0;
    int got = gzread(f->gz, f->chunk, (unsigned)TEXT_CHUNK);
    int code = Z_OK;
    const char *msg = gzerror(f->gz, &code);
    size_t plen = f->path ? strlen(f->path) : 0;
    if (plen && !strncmp(msg, f->path, plen) && !strncmp(msg + plen, ": ", 2)) msg += plen + 2;
    /* Z_BUF_ERROR at the end: the compressed data stopped in the middle (a cut-off file). */
    if (got < 0 || (code != Z_OK && !(code == Z_BUF_ERROR && got > 0))) {
        if (code == Z_ERRNO) snprintf(f->why, sizeof f->why, "%s", msg); /* zlib's strerror */
        else if (code == Z_BUF_ERROR) snprintf(f->why, sizeof f->why, "compressed data cut off (%s)", msg);
        else snprintf(f->why, sizeof f->why, "corrupt compressed data (%s)", msg);
        return 0;
    }
    if (got == 0) f->eof = 1;
    f->have = (size_t)got;
    return f->have;
}

ssize_t text_getline(text_file *f, char **line, size_t *cap) {
    size_t n = 0;
    for (;;) {
        if (f->pos == f->have && text_fill(f) == 0) {
            if (f->why[0] || n == 0) return -1;
            break; /* a last line without '\n' */
        }
        const char *start = f->chunk + f->pos;
        size_t avail = f->have - f->pos;
        const char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) + 1 : avail;
        if (n + take + 1 > *cap || !*line) {
            size_t want = *cap ? *cap : 128;
            while (want < n + take + 1) want *= 2;
            char *grown = realloc(*line, want);
            if (!grown) {
                snprintf(f->why, sizeof f->why, "%s", strerror(ENOMEM));
                return -1;
            }
            *line = grown;
            *cap = want;
        }
        memcpy(*line + n, start, take);
        n += take;
        f->pos += take;
        if (nl) break;
    }
    (*line)[n] = '\0';
    return (ssize_t)n;
}

const char *text_error(text_file *f) { return f->why[0] ? f->why : NULL; }

void text_close(text_file *f) {
    if (!f) return;
    gzclose_r(f->gz);
    free(f->path);
    free(f->chunk);
    free(f);
}
