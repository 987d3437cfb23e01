/* empirical.h: the Monte Carlo of `hyperntk kernel` as a library call
 * (docs/theory.md §2): the empirical hyperkernel K^h, the NNGP term h(u)h(u')
 * and the g-part c(u).c(u') over independent initializations of f.
 *
 * Sample s of seed S draws every weight from the Philox streams (S, s, layer,
 * row) (dense) or its lazy queries from (S, s, 5000 + l, query) (lazy.h); the
 * samples run in parallel over OpenMP threads (one pool worker each, pool.h)
 * and are reduced in sample order (mc.h): the numbers are those of
 * `hyperntk kernel --seed S --samples N --sampler dense|lazy` on the same
 * inputs, bit for bit, for any thread count.
 */
#ifndef HYPERNTK_EMPIRICAL_H
#define HYPERNTK_EMPIRICAL_H

#include <stddef.h>
#include <stdint.h>

#include "hyperntk/arch.h"
#include "hyperntk/pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Statistics per sample: 3 B^2 doubles, [K^h (B, B) | h(u_i) h(u_j) (B, B) | c(u_i).c(u_j) (B, B)]. */
#define HNTK_EMPIRICAL_KINDS 3

/* One initialization on a pool worker (its network, or its lazy sampler when
 * the pool was made with needs.lazy): out (3, B, B) as above, B <= the pool's
 * batch.  The sample function of `hyperntk kernel`.  Allocates nothing. */
int hntk_empirical_sample(hntk_worker *w, uint64_t seed, uint32_t sample, long B, const double *X, const double *Z,
                          double *out);

typedef struct {
    hntk_hyper_arch arch;  /* validated by the pool (hntk_pool_alloc) */
    int lazy;              /* 0: dense weights (hntk_net); 1: the lazy sampler (lazy.h; no Fourier features) */
    uint64_t seed;         /* streams (seed, sample) */
    long samples;          /* N >= 2 */
    int fourier_fixed;     /* with arch.fourier_k > 0: 0 new features with every sample (kernel's
                              --fourier-draw per-sample), 1 drawn once from (seed, HNTK_FOURIER_RUN_SAMPLE)
                              (--fourier-draw fixed) */
    size_t budget_bytes;   /* memory budget of the workers and the per-sample values (0: none) */
} hntk_empirical_spec;

/* Outputs, any of them NULL when not wanted. */
typedef struct {
    double *mean;    /* (3, B, B) mean over the samples */
    double *var;     /* (3, B, B) unbiased variance */
    double *se;      /* (3, B, B) standard error of the mean, sqrt(var / N) */
    double *samples; /* (N, 3, B, B) every sample's values, in sample order (24 N B^2 bytes) */
} hntk_empirical_out;

/* Run the N samples on X (B, x_dim), Z (B, z_dim), B >= 1, with
 * hntk_mc_max_threads() threads (OMP_NUM_THREADS); OpenBLAS is set to one
 * thread (hntk_blas_single_thread), as the program does.  Errors: the
 * architecture and budget (hntk_pool_alloc's messages), N < 2, B < 1, NULL
 * inputs, non-finite inputs (naming the entry). */
int hntk_empirical_run(const hntk_empirical_spec *spec, long B, const double *X, const double *Z,
                       const hntk_empirical_out *out);

#ifdef __cplusplus
}
#endif
#endif
