/* mpirun's processes for the CLI (cli_ranks.h). */
#include "cli_ranks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef MLTC_HAVE_MPI
#include "mltc_mpi.h"
static mltc_mpi world;
#endif

/* The size an MPI launcher gives its processes in their environment (Open MPI, then the PMI of
 * MPICH, Slurm and others); 0 when nothing launched this process. */
static int launched_size(void) {
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return atoi(v);
    }
    return 0;
}

int cli_ranks_start(cli_ranks *r, const char *command, int in_order) {
    memset(r, 0, sizeof *r);
    r->command = command;
    r->size = 1;
    int launched = launched_size();
    if (launched <= 1) return 0;
#ifdef MLTC_HAVE_MPI
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "mltc %s: MPI_Init failed\n", r->command);
        return 1;
    }
    int rc = mltc_mpi_init(&world, MPI_COMM_WORLD, in_order);
    if (rc == MPI_SUCCESS) rc = mltc_mpi_local_rank(MPI_COMM_WORLD, &r->local_rank);
    if (rc != MPI_SUCCESS) {
        fprintf(stderr, "mltc %s: setting up MPI failed: %s\n", r->command, world.comm.describe(&world, rc));
        MPI_Abort(MPI_COMM_WORLD, 1);
        return 1;
    }
    r->comm = &world.comm;
    r->rank = world.comm.rank;
    r->size = world.comm.size;
    return 0;
#else
    (void)in_order;
    /* Run alone, each of the launched processes would train the whole model into the same
     * folder. */
    fprintf(stderr, "mltc %s: started as one of %d processes (mpirun), but this mltc was built without MPI "
                    "(install libopenmpi-dev and build again)\n", r->command, launched);
    return 1;
#endif
}

int cli_ranks_agree(cli_ranks *r, int failed, const char *what) {
    if (!r->comm) return failed;
    double *v = calloc((size_t)r->size, sizeof *v);
    if (!v) return 1;
    v[r->rank] = failed != 0;
    int rc = r->comm->sum_doubles(r->comm->user, v, (size_t)r->size), first = -1;
    for (int i = 0; i < r->size && first < 0; i++)
        if (v[i] != 0) first = i;
    free(v);
    if (rc) {
        fprintf(stderr, "mltc %s: rank %d: agreeing on %s failed: %s\n", r->command, r->rank, what,
                r->comm->describe(r->comm->user, rc));
        return 1;
    }
    if (first >= 0 && !failed)
        fprintf(stderr, "mltc %s: rank %d: stopping: rank %d failed %s\n", r->command, r->rank, first, what);
    return first >= 0;
}

void cli_ranks_stop(cli_ranks *r, int abort_all) {
#ifdef MLTC_HAVE_MPI
    if (!r->comm) return;
    if (abort_all) MPI_Abort(MPI_COMM_WORLD, 1);
    mltc_mpi_free(&world);
    MPI_Finalize();
#else
    (void)abort_all;
#endif
    r->comm = NULL;
}

int cli_rank_device(const cli_ranks *r, const char *spec, char *out, size_t size) {
    const char *colon = spec ? strchr(spec, ':') : NULL;
    if (!colon || (strcmp(colon + 1, "local") && !strchr(colon + 1, ','))) {
        snprintf(out, size, "%s", spec ? spec : "");
        return 0;
    }
    int backend = (int)(colon - spec);
    if (!strcmp(colon + 1, "local")) {
        snprintf(out, size, "%.*s:%d", backend, spec, r->local_rank);
        return 0;
    }
    const char *item = colon + 1;
    for (int i = 0; i < r->local_rank && item; i++) {
        item = strchr(item, ',');
        if (item) item++;
    }
    if (!item || !*item || *item == ',') {
        fprintf(stderr, "mltc %s: --device %s names too few devices for local rank %d (rank %d)\n", r->command, spec,
                r->local_rank, r->rank);
        return 1;
    }
    size_t n = strcspn(item, ",");
    snprintf(out, size, "%.*s:%.*s", backend, spec, (int)n, item);
    return 0;
}
