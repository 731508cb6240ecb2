/* The platform layer (core/platform.h) on Windows, through the Win32 API. Paths arrive as UTF-8
 * and go to the wide-character calls, so any file name works. */
#ifdef _WIN32
#include "core/platform.h"

#include <errno.h>
#include <io.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <windows.h>

/* errno for the last Win32 error, so callers' strerror says why. */
static int fail_with(DWORD code) {
    switch (code) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE: errno = ENOENT; break;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION: errno = EACCES; break;
    case ERROR_ALREADY_EXISTS:
    case ERROR_FILE_EXISTS: errno = EEXIST; break;
    case ERROR_DIR_NOT_EMPTY: errno = ENOTEMPTY; break;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY: errno = ENOMEM; break;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL: errno = ENOSPC; break;
    case ERROR_FILENAME_EXCED_RANGE: errno = ENAMETOOLONG; break;
    case ERROR_DIRECTORY: errno = ENOTDIR; break;
    default: errno = EIO; break;
    }
    return -1;
}

/* path as a malloc'd wide string; NULL (errno set) when it is not UTF-8 or memory ran out. */
static wchar_t *wide(const char *path) {
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
    if (n <= 0) {
        errno = EINVAL;
        return NULL;
    }
    wchar_t *w = malloc((size_t)n * sizeof *w);
    if (!w) {
        errno = ENOMEM;
        return NULL;
    }
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, w, n);
    return w;
}

long plat_pid(void) { return (long)GetCurrentProcessId(); }

int plat_process_alive(long pid) {
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (!h) return GetLastError() != ERROR_INVALID_PARAMETER; /* no such process */
    DWORD code = 0;
    int alive = !GetExitCodeProcess(h, &code) || code == STILL_ACTIVE;
    CloseHandle(h);
    return alive;
}

uint64_t plat_physical_memory(void) {
    MEMORYSTATUSEX m;
    m.dwLength = sizeof m;
    return GlobalMemoryStatusEx(&m) ? (uint64_t)m.ullTotalPhys : 0;
}

void plat_cpu_name(char *out, size_t cap) {
    snprintf(out, cap, "CPU");
    wchar_t name[256];
    DWORD bytes = sizeof name;
    if (RegGetValueW(HKEY_LOCAL_MACHINE, L"HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0",
                     L"ProcessorNameString", RRF_RT_REG_SZ, NULL, name, &bytes) == ERROR_SUCCESS &&
        WideCharToMultiByte(CP_UTF8, 0, name, -1, out, (int)cap, NULL, NULL) <= 0)
        snprintf(out, cap, "CPU");
}

double plat_seconds(void) {
    static LARGE_INTEGER freq;
    if (!freq.QuadPart) QueryPerformanceFrequency(&freq);
    LARGE_INTEGER t;
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart / (double)freq.QuadPart;
}

/* The file attributes of path in *a; 0, or -1 with errno. */
static int attributes(const char *path, DWORD *a) {
    wchar_t *w = wide(path);
    if (!w) return -1;
    *a = GetFileAttributesW(w);
    DWORD code = GetLastError();
    free(w);
    return *a == INVALID_FILE_ATTRIBUTES ? fail_with(code) : 0;
}

int plat_is_dir(const char *path) {
    DWORD a;
    if (attributes(path, &a)) return -1;
    return (a & FILE_ATTRIBUTE_DIRECTORY) ? 1 : 0;
}

int plat_is_regular(const char *path) {
    DWORD a;
    if (attributes(path, &a)) return -1;
    return (a & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_DEVICE)) ? 0 : 1;
}

int plat_exists(const char *path) { return plat_is_dir(path) >= 0; }

/* Runs one wide-path call that returns nonzero on success; 0, or -1 with errno. */
#define WIDE_CALL(path, call)                                                                                  \
    do {                                                                                                       \
        wchar_t *w = wide(path);                                                                               \
        if (!w) return -1;                                                                                     \
        BOOL ok_ = call;                                                                                       \
        DWORD code_ = GetLastError();                                                                          \
        free(w);                                                                                               \
        return ok_ ? 0 : fail_with(code_);                                                                     \
    } while (0)

/* A new folder inherits its parent's access list, which on Windows already keeps other users out
 * of the profile's folders; owner_only asks nothing more. */
int plat_mkdir(const char *path, int owner_only) {
    (void)owner_only;
    WIDE_CALL(path, CreateDirectoryW(w, NULL));
}

int plat_remove_file(const char *path) { WIDE_CALL(path, DeleteFileW(w)); }

int plat_remove_dir(const char *path) { WIDE_CALL(path, RemoveDirectoryW(w)); }

int plat_replace(const char *from, const char *to) {
    wchar_t *wf = wide(from), *wt = wf ? wide(to) : NULL;
    if (!wt) {
        free(wf);
        return -1;
    }
    /* The CRT's rename refuses an existing target; this replaces it, and write-through returns
     * once the rename is on the disk. */
    BOOL ok = MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
    DWORD code = GetLastError();
    free(wf);
    free(wt);
    return ok ? 0 : fail_with(code);
}

int plat_exchange(const char *a, const char *b) {
    (void)a, (void)b;
    errno = ENOSYS;
    return -1;
}

int plat_sync_file(FILE *f) {
    if (fflush(f) != 0) return -1;
    HANDLE h = (HANDLE)_get_osfhandle(_fileno(f));
    if (h == INVALID_HANDLE_VALUE) return -1;
    return FlushFileBuffers(h) ? 0 : fail_with(GetLastError());
}

struct plat_dir {
    HANDLE find;
    WIN32_FIND_DATAW data;
    int have; /* data holds an entry not yet returned */
    char name[MAX_PATH * 4];
};

plat_dir *plat_dir_open(const char *path) {
    size_t n = strlen(path);
    char *pattern = malloc(n + 3);
    if (!pattern) {
        errno = ENOMEM;
        return NULL;
    }
    memcpy(pattern, path, n);
    memcpy(pattern + n, "/*", 3);
    wchar_t *w = wide(pattern);
    free(pattern);
    plat_dir *d = w ? calloc(1, sizeof *d) : NULL;
    if (!d) {
        if (w) errno = ENOMEM;
        free(w);
        return NULL;
    }
    d->find = FindFirstFileW(w, &d->data);
    DWORD code = GetLastError();
    free(w);
    if (d->find == INVALID_HANDLE_VALUE) {
        free(d);
        fail_with(code);
        return NULL;
    }
    d->have = 1;
    return d;
}

const char *plat_dir_next(plat_dir *d) {
    for (;;) {
        if (!d->have && !FindNextFileW(d->find, &d->data)) return NULL;
        d->have = 0;
        const wchar_t *n = d->data.cFileName;
        if (!wcscmp(n, L".") || !wcscmp(n, L"..")) continue;
        if (WideCharToMultiByte(CP_UTF8, 0, n, -1, d->name, (int)sizeof d->name, NULL, NULL) > 0) return d->name;
    }
}

void plat_dir_close(plat_dir *d) {
    if (!d) return;
    FindClose(d->find);
    free(d);
}

int plat_user_cache_dir(char *out, size_t cap) {
    const char *local = getenv("LOCALAPPDATA");
    int n = local && *local ? snprintf(out, cap, "%s/mltc", local) : -1;
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}

int plat_make_temp_dir(const char *prefix, char *out, size_t cap) {
    char tmp[MAX_PATH * 4];
    const char *env = getenv("TMPDIR");
    if (env && *env) {
        snprintf(tmp, sizeof tmp, "%s", env);
    } else {
        wchar_t w[MAX_PATH + 1];
        DWORD n = GetTempPathW(MAX_PATH + 1, w);
        if (n == 0 || n > MAX_PATH) return fail_with(GetLastError());
        if (WideCharToMultiByte(CP_UTF8, 0, w, -1, tmp, (int)sizeof tmp, NULL, NULL) <= 0)
            return fail_with(GetLastError());
        size_t len = strlen(tmp);
        if (len > 1 && (tmp[len - 1] == '\\' || tmp[len - 1] == '/')) tmp[len - 1] = '\0';
    }
    /* Six characters, as mkdtemp's XXXXXX, from the process id, the clock and a counter, until a
     * name is free. */
    static volatile LONG counter;
    for (int attempt = 0; attempt < 1000; attempt++) {
        unsigned long r = (unsigned long)GetTickCount() ^ ((unsigned long)InterlockedIncrement(&counter) << 14) ^
                          ((unsigned long)plat_pid() << 4);
        int n = snprintf(out, cap, "%s/%s%06lx", tmp, prefix, r & 0xffffffUL);
        if (n < 0 || (size_t)n >= cap) {
            errno = ENAMETOOLONG;
            return -1;
        }
        if (plat_mkdir(out, 1) == 0) return 0;
        if (errno != EEXIST) return -1;
    }
    return -1;
}

/* Windows has no memory streams: a temporary file that the system deletes when it is closed
 * ("D"), kept in memory where it can be ("T"), read back at the end. */
int plat_memstream_open(plat_memstream *m) {
    m->f = NULL, m->p = NULL, m->n = 0;
    wchar_t dir[MAX_PATH + 1], name[MAX_PATH + 1];
    DWORD n = GetTempPathW(MAX_PATH + 1, dir);
    if (n == 0 || n > MAX_PATH || !GetTempFileNameW(dir, L"mlt", 0, name)) return fail_with(GetLastError());
    m->f = _wfopen(name, L"w+bTD");
    return m->f ? 0 : -1;
}

void plat_memstream_close(plat_memstream *m) {
    long size = fflush(m->f) == 0 && fseek(m->f, 0, SEEK_END) == 0 ? ftell(m->f) : -1;
    if (size >= 0 && fseek(m->f, 0, SEEK_SET) == 0 && (m->p = malloc((size_t)size + 1)) != NULL) {
        m->n = fread(m->p, 1, (size_t)size, m->f);
        m->p[m->n] = '\0';
    }
    fclose(m->f);
    m->f = NULL;
}

/* A mapped file keeps its mapping handle; the file handle is closed once mapped. */
int plat_map_file(const char *path, const void **base, size_t *size, void **handle) {
    *base = NULL, *size = 0, *handle = NULL;
    wchar_t *w = wide(path);
    if (!w) return -1;
    HANDLE f = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD code = GetLastError();
    free(w);
    if (f == INVALID_HANDLE_VALUE) return fail_with(code);
    LARGE_INTEGER len;
    HANDLE m = NULL;
    const void *p = NULL;
    if (GetFileType(f) == FILE_TYPE_DISK && GetFileSizeEx(f, &len) && len.QuadPart > 0 &&
        (uint64_t)len.QuadPart <= (uint64_t)SIZE_MAX) {
        m = CreateFileMappingW(f, NULL, PAGE_READONLY, 0, 0, NULL);
        if (m) p = MapViewOfFile(m, FILE_MAP_READ, 0, 0, 0);
    }
    code = GetLastError();
    CloseHandle(f);
    if (!p) {
        if (m) CloseHandle(m);
        return fail_with(code);
    }
    *base = p;
    *size = (size_t)len.QuadPart;
    *handle = m;
    return 0;
}

void plat_unmap_file(const void *base, size_t size, void *handle) {
    (void)size;
    if (base) UnmapViewOfFile(base);
    if (handle) CloseHandle((HANDLE)handle);
}

void *plat_aligned_alloc(size_t align, size_t size) { return _aligned_malloc(size, align); }

void plat_aligned_free(void *p) { _aligned_free(p); }

int plat_is_terminal(FILE *f) { return _isatty(_fileno(f)) != 0; }

long plat_read_line(FILE *f, char **line, size_t *cap) {
    size_t n = 0;
    int c;
    while ((c = getc(f)) != EOF) {
        if (n + 2 > *cap || !*line) {
            size_t want = *cap ? *cap * 2 : 128;
            char *grown = realloc(*line, want);
            if (!grown) {
                errno = ENOMEM;
                return -1;
            }
            *line = grown;
            *cap = want;
        }
        (*line)[n++] = (char)c;
        if (c == '\n') break;
    }
    if (n == 0) return -1;
    (*line)[n] = '\0';
    return (long)n;
}

static void (*stop_handler)(void);

/* Runs on a thread of its own: Ctrl-C, Ctrl-Break and closing the console all ask to stop. */
static BOOL WINAPI on_console_event(DWORD event) {
    if (event == CTRL_C_EVENT || event == CTRL_BREAK_EVENT || event == CTRL_CLOSE_EVENT) {
        if (stop_handler) stop_handler();
        return TRUE;
    }
    return FALSE;
}

void plat_catch_stop(void (*on_stop)(void)) {
    stop_handler = on_stop;
    SetConsoleCtrlHandler(on_console_event, TRUE);
}

void plat_default_stop(void) {
    SetConsoleCtrlHandler(on_console_event, FALSE);
    stop_handler = NULL;
}

int plat_setenv(const char *name, const char *value) {
    /* _putenv_s with an empty value removes the variable. */
    return _putenv_s(name, value ? value : "") == 0 ? 0 : -1;
}
#endif
