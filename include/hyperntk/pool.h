/* pool.h: one worker per thread, sized once from what a run needs.
 *
 * Every Monte Carlo driver needs, per OpenMP thread, a network for its
 * architecture and batch, and some of: a (B, B) Gram scratch, a Taylor-mode
 * workspace of order R, an f-NTK workspace, and a per-sample output buffer.
 * A pool allocates all of them at once, after one memory-budget check that
 * counts every byte the workers will hold (hntk_pool_bytes), so a run that
 * does not fit is refused before anything is computed, with one message.
 *
 * Plan once, execute many: nothing here allocates after hntk_pool_alloc.
 * Workers are indexed by the OpenMP thread number (hntk_mc_job's ctx[t]);
 * hntk_pool_ctx gives the void *ctx[] array the engine wants.  A worker's
 * `job` pointer is the driver's shared, read-only description of the work
 * (inputs, seed, ...), set once with hntk_pool_set_job.
 */
#ifndef HYPERNTK_POOL_H
#define HYPERNTK_POOL_H

#include <stddef.h>

#include "hyperntk/arch.h"
#include "hyperntk/lazy.h"
#include "hyperntk/net.h"
#include "hyperntk/taylor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What each worker holds besides its network. */
typedef struct {
    long batch;        /* inputs per sample, B >= 1 (the network's batch capacity) */
    int gram;          /* 1: a (B, B) Gram scratch */
    int taylor_order;  /* R > 0: a Taylor workspace of order R (0: none) */
    int fntk;          /* 1: an f-NTK workspace (P x P x n per sample: costly) */
    long out_doubles;  /* a per-sample output buffer of this many doubles (0: none) */
    int lazy;          /* 1: a lazy sampler (lazy.h) instead of the network: `lazy` is set and `net` is
                        * NULL.  f's width may then exceed HNTK_MAX_WIDTH (up to HNTK_LAZY_MAX_WIDTH);
                        * fourier_k must be 0.  With taylor_order R the sampler has room for the
                        * jets (hntk_lazy_alloc_taylor; hntk_taylor_kernels_lazy).  Only the f-NTK
                        * workspace needs a network, so lazy with fntk is refused: a lazy worker
                        * never holds an hntk_net. */
} hntk_pool_needs;

typedef struct {
    int index;                 /* the thread number this worker serves */
    hntk_net *net;             /* NULL when needs.lazy */
    hntk_lazy *lazy;           /* needs.lazy: the lazy sampler (else NULL) */
    double *gram;              /* (B, B) or NULL */
    hntk_taylor_ws *taylor;    /* or NULL */
    hntk_fntk_ws *fntk;        /* or NULL */
    double *out;               /* (out_doubles) or NULL */
    const void *job;           /* the driver's shared description of the work */
} hntk_worker;

typedef struct hntk_pool hntk_pool;

/* Bytes one worker holds for architecture a (assumed valid) and `needs`
 * (hntk_net_bytes, or hntk_lazy_bytes_taylor when needs->lazy, plus the rest). */
size_t hntk_pool_worker_bytes(const hntk_hyper_arch *a, const hntk_pool_needs *needs);
/* Bytes of a pool of `workers` workers: workers * worker bytes + bookkeeping. */
size_t hntk_pool_bytes(const hntk_hyper_arch *a, const hntk_pool_needs *needs, int workers);

/* Validate a (hntk_hyper_arch_validate; with needs->lazy as hntk_lazy_alloc
 * does: f width up to HNTK_LAZY_MAX_WIDTH, no Fourier features) and needs, check hntk_pool_bytes against budget_bytes (0 = no
 * budget; HNTK_EBUDGET names the worker count, the bytes per worker and the
 * budget), then allocate `workers` (1..1024) workers.  Nothing is allocated on
 * failure. */
int hntk_pool_alloc(const hntk_hyper_arch *a, const hntk_pool_needs *needs, int workers, size_t budget_bytes,
                    hntk_pool **out);
void hntk_pool_free(hntk_pool *p); /* NULL is harmless */

int hntk_pool_size(const hntk_pool *p);
hntk_worker *hntk_pool_worker(hntk_pool *p, int t);
/* The array {&worker 0, &worker 1, ...} for hntk_mc_job.ctx (n_ctx = hntk_pool_size). */
void **hntk_pool_ctx(hntk_pool *p);
/* Set every worker's job pointer. */
void hntk_pool_set_job(hntk_pool *p, const void *job);

#ifdef __cplusplus
}
#endif
#endif
