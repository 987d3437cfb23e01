/* parallel.h: processes (MPI ranks) beside the threads (OpenMP).
 *
 * Built with MPI (CMake option HYPERNTK_WITH_MPI, on when MPI is found) and
 * started by a launcher (mpirun, srun), the program is one of `size` ranks.
 * The Monte Carlo engine (mc.h) then splits the samples of every job across
 * the ranks, gathers the per-sample results on rank 0 and pushes them in
 * sample order, so its statistics are bit-identical to a single process
 * (a sample's weights depend on (seed, sample) only); every rank ends a job
 * with the same accumulator.  Drivers get MPI for free, on two conditions:
 *   - every rank makes the same sequence of hntk_mc_run calls (same samples,
 *     same dim): each call is collective;
 *   - only rank 0 writes files (hntk_parallel_rank() == 0); the `hyperntk`
 *     program sends the stdout of the other ranks to /dev/null.
 *
 * Without MPI, or without a launcher, there is one rank: rank 0 of size 1,
 * and nothing here does anything.  MPI is initialized only when a launcher's
 * environment is present (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK), so a
 * plain run never starts MPI's runtime.
 */
#ifndef HYPERNTK_PARALLEL_H
#define HYPERNTK_PARALLEL_H

#ifdef __cplusplus
extern "C" {
#endif

/* 1 if the library was built with MPI, else 0. */
int hntk_parallel_built_with_mpi(void);

/* "Open MPI v4.1.4, ..." (the first line of MPI's own version string), or
 * "none (built without MPI)". */
const char *hntk_parallel_library(void);

/* Initialize MPI (MPI_THREAD_FUNNELED: only the calling thread talks to MPI)
 * when built with it and started by a launcher; otherwise do nothing.  Call
 * once from main before anything else.  HNTK_EMPI with a message on failure. */
int hntk_parallel_init(int *argc, char ***argv);

/* Finalize MPI if hntk_parallel_init started it (NULL-safe, idempotent). */
void hntk_parallel_finalize(void);

/* Stop every rank at once with exit code `code` (MPI_Abort), e.g. when this
 * rank failed outside a collective call and the others would wait for it.
 * Without MPI (or with one rank) it returns and does nothing. */
void hntk_parallel_abort(int code);

/* This process's rank, 0..size-1 (0 without MPI). */
int hntk_parallel_rank(void);
/* Number of ranks (1 without MPI). */
int hntk_parallel_size(void);

/* Collective: 1 on every rank if `flag` is non-zero on any rank, else 0 (the
 * flag itself with one rank).  For decisions taken outside the engine that
 * every rank must take alike, e.g. "a signal asked us to stop" between two
 * Monte Carlo jobs (a signal may reach the ranks at different moments). */
int hntk_parallel_any(int flag);

#ifdef __cplusplus
}
#endif
#endif
