/* The platform layer (core/platform.h) on Linux and other POSIX systems. */
#ifndef _WIN32
#ifdef __linux__
#define _GNU_SOURCE /* renameat2 */
#endif
#include "core/platform.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

long plat_pid(void) { return (long)getpid(); }

int plat_process_alive(long pid) { return kill((pid_t)pid, 0) == 0 || errno != ESRCH; }

uint64_t plat_physical_memory(void) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return (pages > 0 && page > 0) ? (uint64_t)pages * (uint64_t)page : 0;
}

void plat_cpu_name(char *out, size_t cap) {
    snprintf(out, cap, "CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');
            if (colon) {
                colon++;
                while (*colon == ' ') colon++;
                colon[strcspn(colon, "\n")] = '\0';
                snprintf(out, cap, "%s", colon);
            }
            break;
        }
    }
    fclose(f);
}

double plat_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int plat_is_dir(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) return -1;
    return S_ISDIR(sb.st_mode) ? 1 : 0;
}

int plat_is_regular(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) return -1;
    return S_ISREG(sb.st_mode) ? 1 : 0;
}

int plat_exists(const char *path) { return access(path, F_OK) == 0; }

int plat_mkdir(const char *path, int owner_only) { return mkdir(path, owner_only ? 0700 : 0777); }

int plat_remove_file(const char *path) { return unlink(path); }

int plat_remove_dir(const char *path) { return rmdir(path); }

int plat_replace(const char *from, const char *to) { return rename(from, to); }

int plat_exchange(const char *a, const char *b) {
#if defined(__linux__) && defined(RENAME_EXCHANGE)
    return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
#else
    (void)a, (void)b;
    errno = ENOSYS;
    return -1;
#endif
}

int plat_sync_file(FILE *f) { return fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1; }

struct plat_dir {
    DIR *d;
};

plat_dir *plat_dir_open(const char *path) {
    DIR *d = opendir(path);
    if (!d) return NULL;
    plat_dir *pd = malloc(sizeof *pd);
    if (!pd) {
        closedir(d);
        errno = ENOMEM;
        return NULL;
    }
    pd->d = d;
    return pd;
}

const char *plat_dir_next(plat_dir *pd) {
    for (struct dirent *e; (e = readdir(pd->d)) != NULL;)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) return e->d_name;
    return NULL;
}

void plat_dir_close(plat_dir *pd) {
    if (!pd) return;
    closedir(pd->d);
    free(pd);
}

int plat_user_cache_dir(char *out, size_t cap) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n = -1;
    if (xdg && *xdg) n = snprintf(out, cap, "%s/mltc", xdg);
    else if (home && *home) n = snprintf(out, cap, "%s/.cache/mltc", home);
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}

int plat_make_temp_dir(const char *prefix, char *out, size_t cap) {
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    int n = snprintf(out, cap, "%s/%sXXXXXX", tmp, prefix);
    if (n < 0 || (size_t)n >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mkdtemp(out) ? 0 : -1;
}

int plat_memstream_open(plat_memstream *m) {
    m->p = NULL, m->n = 0;
    m->f = open_memstream(&m->p, &m->n);
    return m->f ? 0 : -1;
}

void plat_memstream_close(plat_memstream *m) {
    fclose(m->f);
    m->f = NULL;
}

int plat_map_file(const char *path, const void **base, size_t *size, void **handle) {
    *base = NULL, *size = 0, *handle = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    struct stat sb;
    void *p = MAP_FAILED;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0)
        p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) {
        errno = e;
        return -1;
    }
    *base = p;
    *size = (size_t)sb.st_size;
    return 0;
}

void plat_unmap_file(const void *base, size_t size, void *handle) {
    (void)handle;
    if (base) munmap((void *)base, size);
}

void *plat_aligned_alloc(size_t align, size_t size) { return aligned_alloc(align, size); }

void plat_aligned_free(void *p) { free(p); }

int plat_is_terminal(FILE *f) { return isatty(fileno(f)); }

long plat_read_line(FILE *f, char **line, size_t *cap) { return (long)getline(line, cap, f); }

static void (*stop_handler)(void);

static void on_signal(int sig) {
    (void)sig;
    if (stop_handler) stop_handler();
}

void plat_catch_stop(void (*on_stop)(void)) {
    stop_handler = on_stop;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void plat_default_stop(void) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    stop_handler = NULL;
}

int plat_setenv(const char *name, const char *value) {
    return value ? setenv(name, value, 1) : unsetenv(name);
}
#endif
