/* mltc_comm over MPI (include/mltc_mpi.h). */
#include "mltc_mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *describe(void *user, int code) {
    mltc_mpi *m = user;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "MPI error %d", code);
    snprintf(m->message, sizeof m->message, "%s", text);
    return m->message;
}

static int room(mltc_mpi *m, size_t bytes) {
    if (bytes <= m->scratch_bytes) return MPI_SUCCESS;
    void *p = realloc(m->scratch, bytes);
    if (!p) return MPI_ERR_NO_MEM;
    m->scratch = p;
    m->scratch_bytes = bytes;
    return MPI_SUCCESS;
}

/* Gathers every rank's n values on rank 0, adds them there in rank order (rank 0's, plus rank
 * 1's, plus ...), and broadcasts the sums: the same bits whatever the MPI library's algorithms. */
#define IN_ORDER_SUM(NAME, T, MPI_T)                                                                   \
    static int NAME(mltc_mpi *m, T *data, size_t n) {                                                  \
        int rank, size, rc = MPI_Comm_rank(m->mpi, &rank);                                             \
        if (rc == MPI_SUCCESS) rc = MPI_Comm_size(m->mpi, &size);                                      \
        int failed = rc == MPI_SUCCESS && rank == 0 ? room(m, sizeof(T) * n * (size_t)size) : rc;      \
        /* rank 0 may lack the room: say so to every rank before anything is sent to it */             \
        if (rc == MPI_SUCCESS) rc = MPI_Bcast(&failed, 1, MPI_INT, 0, m->mpi);                         \
        if (rc == MPI_SUCCESS && failed) rc = failed;                                                  \
        if (rc == MPI_SUCCESS)                                                                         \
            rc = MPI_Gather(data, (int)n, MPI_T, rank == 0 ? m->scratch : NULL, (int)n, MPI_T, 0, m->mpi); \
        if (rc == MPI_SUCCESS && rank == 0) {                                                          \
            const T *all = m->scratch;                                                                 \
            for (size_t i = 0; i < n; i++) {                                                           \
                T s = all[i];                                                                          \
                for (int r = 1; r < size; r++) s += all[(size_t)r * n + i];                            \
                data[i] = s;                                                                           \
            }                                                                                          \
        }                                                                                              \
        if (rc == MPI_SUCCESS) rc = MPI_Bcast(data, (int)n, MPI_T, 0, m->mpi);                         \
        return rc;                                                                                     \
    }
IN_ORDER_SUM(sum_floats_in_order, float, MPI_FLOAT)
IN_ORDER_SUM(sum_doubles_in_order, double, MPI_DOUBLE)

static int sum_floats(void *user, float *data, size_t n) {
    mltc_mpi *m = user;
    if (n > (size_t)0x7fffffff) return MPI_ERR_COUNT;
    if (m->in_order) return sum_floats_in_order(m, data, n);
    return MPI_Allreduce(MPI_IN_PLACE, data, (int)n, MPI_FLOAT, MPI_SUM, m->mpi);
}

static int sum_doubles(void *user, double *data, size_t n) {
    mltc_mpi *m = user;
    if (n > (size_t)0x7fffffff) return MPI_ERR_COUNT;
    if (m->in_order) return sum_doubles_in_order(m, data, n);
    return MPI_Allreduce(MPI_IN_PLACE, data, (int)n, MPI_DOUBLE, MPI_SUM, m->mpi);
}

static int broadcast(void *user, void *data, size_t bytes, int root) {
    mltc_mpi *m = user;
    if (bytes > (size_t)0x7fffffff) return MPI_ERR_COUNT;
    return MPI_Bcast(data, (int)bytes, MPI_BYTE, root, m->mpi);
}

int mltc_mpi_init(mltc_mpi *m, MPI_Comm comm, int in_order) {
    memset(m, 0, sizeof *m);
    int rc = MPI_Comm_dup(comm, &m->mpi);
    /* A failed call returns its error to the library, which stops every rank with a message,
     * instead of MPI aborting the job from inside the call. */
    if (rc == MPI_SUCCESS) rc = MPI_Comm_set_errhandler(m->mpi, MPI_ERRORS_RETURN);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_rank(m->mpi, &m->comm.rank);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_size(m->mpi, &m->comm.size);
    m->in_order = in_order;
    m->comm.sum_floats = sum_floats;
    m->comm.sum_doubles = sum_doubles;
    m->comm.broadcast = broadcast;
    m->comm.describe = describe;
    m->comm.user = m;
    return rc;
}

void mltc_mpi_free(mltc_mpi *m) {
    if (m->mpi != MPI_COMM_NULL && m->mpi != 0) MPI_Comm_free(&m->mpi);
    free(m->scratch);
    m->scratch = NULL;
    m->scratch_bytes = 0;
}

int mltc_mpi_local_rank(MPI_Comm comm, int *local_rank) {
    MPI_Comm node;
    int rc = MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    if (rc != MPI_SUCCESS) return rc;
    rc = MPI_Comm_rank(node, local_rank);
    MPI_Comm_free(&node);
    return rc;
}
