/*
 * An mltc_comm (mltc.h) over MPI, for mltc_train_parallel: built as the static library
 * mltc_mpi when CMake finds MPI. The mltc library itself knows no MPI; an application that
 * trains across processes links this beside it (or writes its own mltc_comm).
 *
 *   MPI_Init(&argc, &argv);
 *   mltc_mpi m;
 *   mltc_mpi_init(&m, MPI_COMM_WORLD, 0);
 *   mltc_train_parallel(ctx, dev, &opts, &m.comm, cb, user, &result);
 *   mltc_mpi_free(&m);
 *   MPI_Finalize();
 */
#ifndef MLTC_MPI_H
#define MLTC_MPI_H

#include <mpi.h>

#include "mltc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mltc_mpi {
    mltc_comm comm; /* pass &comm to mltc_train_parallel */
    MPI_Comm mpi;   /* a duplicate of the communicator given, its errors returned, not fatal */
    int in_order;   /* sums gathered on rank 0 and added in rank order, then broadcast */
    void *scratch;  /* in_order: rank 0's room for every rank's part */
    size_t scratch_bytes;
    char message[MPI_MAX_ERROR_STRING + 64];
} mltc_mpi;

/* Sets m up over a duplicate of comm. in_order 0: sums by MPI_Allreduce, whose order of adding
 * is the MPI library's (it may regroup the terms, so results can change with the number of
 * ranks, the library or its tuning); in_order 1: every sum is gathered on rank 0, added in rank
 * order and broadcast, bitwise reproducible whatever MPI does, at the cost of more traffic.
 * Returns an MPI error code (MPI_SUCCESS). */
int mltc_mpi_init(mltc_mpi *m, MPI_Comm comm, int in_order);
void mltc_mpi_free(mltc_mpi *m);

/* This process's index among the processes of comm on its own machine (shared memory), for
 * picking its device: opencl:local is opencl:<local rank>. */
int mltc_mpi_local_rank(MPI_Comm comm, int *local_rank);

#ifdef __cplusplus
}
#endif
#endif
