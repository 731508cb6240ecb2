#include "device/cpu/blas.h"

#include <stdio.h>
#include <string.h>

#ifdef MLTC_BLAS_MKL

#include <pthread.h>
#include <stdlib.h>

const char *cpu_blas_name(void) { return "oneMKL"; }

/* oneMKL picks among code paths whose rounding depends on things like the alignment of the
 * buffers it is given, so a resumed process, whose buffers lie elsewhere, computes other last
 * bits than the run it continues (measured: lmmtc resume off at step 8 on an AMD EPYC).
 * Conditional numerical reproducibility (CNR) fixes the path; AUTO keeps the fastest one for this
 * CPU (COMPATIBLE, SSE2 only, ran at a third of the speed). mkl_cbwr_set must come before any
 * other oneMKL call, hence once here, before the first. A user's MKL_CBWR is left to oneMKL. */
static int cbwr_status = MKL_CBWR_SUCCESS, cbwr_from_env;
static pthread_once_t cbwr_once = PTHREAD_ONCE_INIT;

static void cbwr_set(void) {
    const char *env = getenv("MKL_CBWR");
    cbwr_from_env = env && *env;
    if (!cbwr_from_env) cbwr_status = mkl_cbwr_set(MKL_CBWR_AUTO);
}

void cpu_blas_setup(void) { pthread_once(&cbwr_once, cbwr_set); }

/* The GNU OpenMP layer (mkl_gnu_thread, what the build links) shares libgomp's threads with ours
 * and, with nesting off (the default), runs one thread per call made inside a parallel region. */
int cpu_blas_nests_in_openmp(void) { return 1; }

void cpu_blas_describe(char *buf, size_t size) {
    cpu_blas_setup();
    char cnr[160];
    if (cbwr_from_env)
        snprintf(cnr, sizeof cnr, "reproducibility mode from MKL_CBWR=%.60s", getenv("MKL_CBWR"));
    else if (cbwr_status != MKL_CBWR_SUCCESS)
        snprintf(cnr, sizeof cnr, "reproducibility mode not set (mkl_cbwr_set: %d): a resumed run may differ in the "
                                  "last bits", cbwr_status);
    else
        snprintf(cnr, sizeof cnr, "reproducibility mode AUTO (set by mltc, MKL_CBWR overrides it)");
    MKLVersion v;
    mkl_get_version(&v);
    /* Processor reads "Intel(R) Advanced Vector Extensions 512 (Intel(R) AVX-512) with support
     * for ..."; the kernels' name is enough. */
    const char *proc = v.Processor ? v.Processor : "?", *with = strstr(proc, " with ");
    int len = with ? (int)(with - proc) : (int)strlen(proc);
    snprintf(buf, size, "oneMKL %d.%d.%d, %.*s kernels, GNU OpenMP threading, %s", v.MajorVersion, v.MinorVersion,
             v.UpdateVersion, len, proc, cnr);
}

#else

const char *cpu_blas_name(void) { return "OpenBLAS"; }

/* OpenBLAS has no such mode and needs none here: a resumed run matches the uninterrupted one
 * bit for bit (test_train at 1, 2 and 3 threads). */
void cpu_blas_setup(void) {}

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
