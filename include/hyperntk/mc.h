/* mc.h: Monte Carlo engine over independent network samples.
 *
 * Samples are computed in parallel (OpenMP over samples), each into its own
 * slot; the slots are then reduced strictly in sample order (the one-pass moments of
 * stats.h: mean, variance and the third and fourth moments), so the
 * mean and variance are bit-identical for any number of threads.
 *
 * Under MPI (parallel.h) the samples are also split across the ranks and the
 * reduction stays in sample order: bit-identical for any number of processes.
 * hntk_mc_run is then collective (every rank calls it with the same job
 * sizes) and every rank returns with the same accumulator.  The sample
 * function must only write its `out` slot: a side effect (storing per-sample
 * values elsewhere) happens on one rank only -- use `collect` for that.
 */
#ifndef HYPERNTK_MC_H
#define HYPERNTK_MC_H

#include <signal.h>
#include <stddef.h>

#include "hyperntk/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Compute the `dim` statistics of sample `sample` into out.  `ctx` is the
 * calling thread's private context (a workspace sized once). */
typedef int (*hntk_mc_sample_fn)(void *ctx, long sample, double *out);

/* Called from the calling thread after each block: done of total samples
 * (under MPI on rank 0 only). */
typedef void (*hntk_mc_progress_fn)(void *data, long done, long total);

/* Called from the calling thread for every sample, in sample order, with its
 * `dim` statistics, after its block: for drivers that keep per-sample values
 * (quantiles, bootstrap) beside the running mean and variance.  Under MPI it
 * is called on every rank with every sample (the block's slots are gathered
 * on all ranks). */
typedef void (*hntk_mc_collect_fn)(void *data, long sample, const double *stats);

typedef struct {
    long samples;              /* N >= 1 */
    long first_sample;         /* index of the first sample (usually 0) */
    long dim;                  /* statistics per sample */
    int n_ctx;                 /* contexts available: >= the OpenMP thread count used */
    void **ctx;                /* ctx[t] used by OpenMP thread t */
    hntk_mc_sample_fn fn;
    hntk_mc_progress_fn progress; /* may be NULL */
    void *progress_data;
    volatile sig_atomic_t *stop;  /* if non-NULL and set, stop between blocks (HNTK_EINTR);
                                     under MPI a stop on any rank stops every rank */
    hntk_mc_collect_fn collect;   /* may be NULL */
    void *collect_data;
} hntk_mc_job;

/* Run the job and push every sample, in order, into `acc` (which is not reset,
 * so a job can continue an earlier one).  The number of threads is at most
 * job->n_ctx.  Returns the first failing status of fn, or HNTK_EINTR. */
int hntk_mc_run(const hntk_mc_job *job, hntk_stats_moments *acc);

/* Number of OpenMP threads the engine will use (omp_get_max_threads()). */
int hntk_mc_max_threads(void);

#ifdef __cplusplus
}
#endif
#endif
