/* parallel.c: the rank API of parallel.h; MPI only when HYPERNTK_HAVE_MPI. */
#define _POSIX_C_SOURCE 200809L
#include "hyperntk/parallel.h"

#include <stdlib.h>
#include <string.h>

#include "hyperntk/error.h"

#ifdef HYPERNTK_HAVE_MPI
#include <mpi.h>

static int started; /* hntk_parallel_init called MPI_Init_thread */

int hntk_parallel_built_with_mpi(void) { return 1; }

const char *hntk_parallel_library(void)
{
    static char version[MPI_MAX_LIBRARY_VERSION_STRING];
    if (!version[0]) {
        int len = 0;
        MPI_Get_library_version(version, &len); /* callable before MPI_Init */
        version[strcspn(version, "\n")] = '\0';
    }
    return version;
}

/* A launcher (Open MPI's mpirun, Slurm's srun with PMI/PMIx, MPICH's Hydra) started us. */
static int launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK", NULL};
    for (int i = 0; vars[i]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

int hntk_parallel_init(int *argc, char ***argv)
{
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized || !launched()) return HNTK_OK;
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return hntk_fail(HNTK_EMPI, "MPI_Init_thread failed");
    started = 1;
    if (provided < MPI_THREAD_FUNNELED) {
        /* OpenMP threads never call MPI, but MPI must tolerate their existence. */
        MPI_Finalize();
        started = 0;
        return hntk_fail(HNTK_EMPI, "the MPI library provides thread level %d, below MPI_THREAD_FUNNELED", provided);
    }
    return HNTK_OK;
}

void hntk_parallel_finalize(void)
{
    if (!started) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
    started = 0;
}

void hntk_parallel_abort(int code)
{
    if (hntk_parallel_size() > 1) MPI_Abort(MPI_COMM_WORLD, code);
}

static int active(void)
{
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) return 0;
    MPI_Finalized(&finalized);
    return !finalized;
}

int hntk_parallel_rank(void)
{
    int rank = 0;
    if (active()) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

int hntk_parallel_size(void)
{
    int size = 1;
    if (active()) MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
}

int hntk_parallel_any(int flag)
{
    flag = flag != 0;
    if (hntk_parallel_size() > 1) MPI_Allreduce(MPI_IN_PLACE, &flag, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return flag;
}

#else /* without MPI: one rank */

int hntk_parallel_built_with_mpi(void) { return 0; }
const char *hntk_parallel_library(void) { return "none (built without MPI)"; }
int hntk_parallel_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return HNTK_OK;
}
void hntk_parallel_finalize(void) {}
void hntk_parallel_abort(int code) { (void)code; }
int hntk_parallel_rank(void) { return 0; }
int hntk_parallel_size(void) { return 1; }
int hntk_parallel_any(int flag) { return flag != 0; }

#endif
