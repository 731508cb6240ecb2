/* The CPU backend's BLAS: OpenBLAS (the default) or Intel oneMKL (cmake -DMLTC_BLAS=mkl), both
 * through the CBLAS interface, so matmul.c is the same for either; what differs is how each
 * reports itself and how it threads. */
#ifndef MLTC_DEVICE_CPU_BLAS_H
#define MLTC_DEVICE_CPU_BLAS_H

#include <stddef.h>

#ifdef MLTC_BLAS_MKL
#include <mkl.h>
#else
#include <cblas.h>
/* An OpenBLAS built with a symbol prefix (SciPy's Windows builds, whose pkg-config file defines
 * BLAS_SYMBOL_PREFIX=scipy_) names every function with it. */
#if defined(BLAS_SYMBOL_PREFIX)
#define MLTC_BLAS_CAT2(p, n) p##n
#define MLTC_BLAS_CAT(p, n) MLTC_BLAS_CAT2(p, n)
#define cblas_sgemm MLTC_BLAS_CAT(BLAS_SYMBOL_PREFIX, cblas_sgemm)
#define openblas_get_parallel MLTC_BLAS_CAT(BLAS_SYMBOL_PREFIX, openblas_get_parallel)
#define openblas_get_corename MLTC_BLAS_CAT(BLAS_SYMBOL_PREFIX, openblas_get_corename)
#endif
#endif

/* Called before the library's first BLAS call (cpu_open, cpu_blas_describe): with oneMKL, turns
 * on its conditional numerical reproducibility (MKL_CBWR_AUTO) unless MKL_CBWR is set, so that
 * the same run on the same machine gives the same bits and a resumed run continues exactly. */
void cpu_blas_setup(void);

/* "OpenBLAS" or "oneMKL": the device's driver string names it. */
const char *cpu_blas_name(void);

/* Nonzero when a BLAS call made inside an OpenMP parallel region runs on the calling thread
 * alone, so a batch of small GEMMs may be spread over the threads, one GEMM each. */
int cpu_blas_nests_in_openmp(void);

/* One line for the device details: version or kernels, threading, and a hint when the library
 * fell back to slow generic kernels on this CPU. */
void cpu_blas_describe(char *buf, size_t size);

#endif
