/* The processes of one mltc train run under mpirun (data parallel training); one process
 * otherwise. Only cli_ranks.c knows MPI, and only in a build that found it. */
#ifndef MLTC_CLI_RANKS_H
#define MLTC_CLI_RANKS_H

#include <stddef.h>

#include "mltc.h"

typedef struct cli_ranks {
    const mltc_comm *comm; /* NULL when alone */
    int rank, size;
    int local_rank;        /* among the processes on this machine */
    const char *command;   /* "train", "bench": named in messages */
} cli_ranks;

/* Joins the processes mpirun started (MPI_Init), if it started this one; in_order picks the
 * bitwise reproducible sums (mltc_mpi.h). Returns non-zero, with the reason on stderr, when an
 * mpirun started it and this build has no MPI, or MPI cannot start. */
int cli_ranks_start(cli_ranks *r, const char *command, int in_order);
/* Whether any rank failed (failed: this one did), asked of every rank; the others say on stderr
 * that they stop because of it. 0 when alone and not failed. */
int cli_ranks_agree(cli_ranks *r, int failed, const char *what);
/* Leaves MPI: MPI_Finalize, or with abort_all MPI_Abort, which stops every rank at once: for a
 * failure the others cannot know of (they would wait for this rank for ever). */
void cli_ranks_stop(cli_ranks *r, int abort_all);

/* The device of this rank: "opencl:local" is opencl:<local rank>, "vulkan:0,2" the local rank's
 * entry of the list (too short a list is an error, on stderr); anything else as given. */
int cli_rank_device(const cli_ranks *r, const char *spec, char *out, size_t size);

#endif
