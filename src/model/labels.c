#include "model/labels.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"

/* stb_ds is header-only; its functions must be compiled into exactly one object of the library.
 * This is that object: no other file may define STB_DS_IMPLEMENTATION. */
#define STB_DS_IMPLEMENTATION
#include <stb_ds.h>

int labels_find(const labels *l, const char *name) {
    if (!l || !l->map || !name) return -1;
    /* shgeti writes a temporary slot in the table header, hence the cast. */
    labels_entry *map = l->map;
    ptrdiff_t i = shgeti(map, (char *)name);
    return i < 0 ? -1 : map[i].value;
}

int labels_find_n(const labels *l, const char *name, size_t len) {
    char small[256];
    char *key = len < sizeof small ? small : malloc(len + 1);
    if (!key) return -1;
    memcpy(key, name, len);
    key[len] = '\0';
    int idx = labels_find(l, key);
    if (key != small) free(key);
    return idx;
}

mltc_status labels_add(mltc_error *e, labels *l, const char *name) {
    if (!l || !name || !name[0]) return err_set(e, MLTC_ERR_INVALID_ARGUMENT, "labels_add: empty label name");
    if (labels_find(l, name) >= 0)
        return err_set(e, MLTC_ERR_INVALID_ARGUMENT, "label '%s' is listed twice", name);
    char *copy = strdup(name);
    char **names = copy ? realloc(l->names, sizeof *names * (size_t)(l->count + 1)) : NULL;
    if (!names) {
        free(copy);
        return err_set(e, MLTC_ERR_OUT_OF_MEMORY, "labels_add: out of memory for label '%s'", name);
    }
    l->names = names;
    l->names[l->count] = copy;
    /* The default string mode stores the key pointer; names[] owns the bytes and outlives the map. */
    shput(l->map, copy, l->count);
    l->count++;
    return MLTC_OK;
}

void labels_free(labels *l) {
    if (!l) return;
    for (int i = 0; i < l->count; i++) free(l->names[i]);
    free(l->names);
    shfree(l->map);
    memset(l, 0, sizeof *l);
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '\v' || *s == '\f') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n' || s[n - 1] == '\v' ||
                 s[n - 1] == '\f'))
        s[--n] = '\0';
    return s;
}

mltc_status labels_load(mltc_error *e, const char *path, labels *out) {
    if (!path || !out) return err_set(e, MLTC_ERR_INVALID_ARGUMENT, "labels_load: null argument");
    memset(out, 0, sizeof *out);
    text_file *f = text_open(path); /* plain or gzip-compressed */
    if (!f) return err_set(e, MLTC_ERR_IO, "cannot open labels file %s: %s", path, strerror(errno));
    labels l = {0};
    int *first_line = NULL; /* line of each name, to point at both copies of a duplicate */
    char *buf = NULL;
    size_t cap = 0;
    mltc_status st = MLTC_OK;
    for (long lineno = 1;; lineno++) {
        ssize_t got = text_getline(f, &buf, &cap);
        if (got < 0) {
            if (text_error(f)) st = err_set(e, MLTC_ERR_IO, "%s:%ld: read error: %s", path, lineno, text_error(f));
            break;
        }
        char *s = buf;
        if (lineno == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF)
            s += 3;
        if (memchr(buf, '\0', (size_t)got)) {
            st = err_set(e, MLTC_ERR_PARSE, "%s:%ld: NUL byte in a label name (binary file?)", path, lineno);
            break;
        }
        s = trim(s);
        if (!*s) continue;
        int dup = labels_find(&l, s);
        if (dup >= 0) {
            st = err_set(e, MLTC_ERR_PARSE, "%s:%ld: duplicate label '%s' (first on line %d)", path, lineno, s,
                         first_line[dup]);
            break;
        }
        int *lines = realloc(first_line, sizeof *lines * (size_t)(l.count + 1));
        if (!lines) {
            st = err_set(e, MLTC_ERR_OUT_OF_MEMORY, "%s:%ld: out of memory", path, lineno);
            break;
        }
        first_line = lines;
        first_line[l.count] = (int)lineno;
        if ((st = labels_add(e, &l, s)) != MLTC_OK) {
            err_prefix(e, "%s:%ld: ", path, lineno);
            break;
        }
    }
    free(buf);
    free(first_line);
    text_close(f);
    if (st == MLTC_OK && l.count == 0) st = err_set(e, MLTC_ERR_PARSE, "%s: labels file has no label names", path);
    if (st != MLTC_OK) {
        labels_free(&l);
        return st;
    }
    *out = l;
    return MLTC_OK;
}
