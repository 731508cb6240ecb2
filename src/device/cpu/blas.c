#include "device/cpu/blas.h"

#include <stdio.h>
#include <string.h>

#ifdef MLTC_BLAS_MKL

const char *cpu_blas_name(void) { return "oneMKL"; }

/* The GNU OpenMP layer (mkl_gnu_thread, what the build links) shares libgomp's threads with ours
 * and, with nesting off (the default), runs one thread per call made inside a parallel region. */
int cpu_blas_nests_in_openmp(void) { return 1; }

void cpu_blas_describe(char *buf, size_t size) {
    MKLVersion v;
    mkl_get_version(&v);
    /* Processor reads "Intel(R) Advanced Vector Extensions 512 (Intel(R) AVX-512) with support
     * for ..."; the kernels' name is enough. */
    const char *proc = v.Processor ? v.Processor : "?", *with = strstr(proc, " with ");
    int len = with ? (int)(with - proc) : (int)strlen(proc);
    snprintf(buf, size, "oneMKL %d.%d.%d, %.*s kernels, GNU OpenMP threading", v.MajorVersion, v.MinorVersion,
             v.UpdateVersion, len, proc);
}

#else

const char *cpu_blas_name(void) { return "OpenBLAS"; }

/* OpenBLAS built on OpenMP (or single-threaded) runs one thread per call made inside a parallel
 * region; the pthreads build would start its own threads inside ours. */
int cpu_blas_nests_in_openmp(void) {
    int mode = openblas_get_parallel();
    return mode == 0 || mode == 2;
}

void cpu_blas_describe(char *buf, size_t size) {
    /* OpenBLAS picks its kernels from the CPU model at load time; an unknown (e.g. virtualised)
     * model gets the generic Prescott kernels, several times slower on AVX2 / AVX-512 CPUs. */
    const char *core = openblas_get_corename(), *hint = "";
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    if (core && !strcmp(core, "Prescott")) {
        if (__builtin_cpu_supports("avx512f"))
            hint = "; generic kernels on an AVX-512 CPU: set OPENBLAS_CORETYPE=SkylakeX";
        else if (__builtin_cpu_supports("avx2"))
            hint = "; generic kernels on an AVX2 CPU: set OPENBLAS_CORETYPE=Haswell";
    }
#endif
    int par = openblas_get_parallel();
    const char *threading = par == 2 ? "OpenMP" : par == 1 ? "pthreads (its own pool beside OpenMP: slower)" : "serial";
    snprintf(buf, size, "OpenBLAS core %s, %s threading%s", core ? core : "?", threading, hint);
}

#endif
