/* lazy.h: exact-in-distribution lazy sampling of f's Gaussian weights by
 * Gaussian conditioning (docs/theory.md §7).
 *
 * One Monte Carlo sample of the empirical hyperkernel K^h (B x B) and of the
 * NNGP term h(u) h(u') touches each weight matrix W^l of f only through B
 * forward products W^l q and (l >= 2) B backward products W^l^T e.  Instead of
 * drawing W^l (n_l x n_{l-1}) the sampler keeps, per layer, orthonormal bases
 * U (queried input directions) with A = W U and V (queried output directions)
 * with Bm = W^T V, and answers each new query from the conditional law of W
 * given the answers so far: cost O(L n B^2 + P B) per sample and memory
 * O((n + P) B) instead of O(L n^2 + P n).
 *
 * The answers have the joint law of a dense iid N(0,1) W, so
 * hntk_lazy_sample_ntk_gram has the same distribution as
 * hntk_net_sample_ntk_gram (net.h) -- not the same numbers.  Fresh Gaussians
 * come from the counter-based streams (seed, sample, HNTK_LAZY_TENSOR_BASE + l,
 * q), q = index of the query on layer l within the sample (forward queries
 * 0..B-1, then backward queries B..2B-1): results depend on (seed, sample, X,
 * Z) only, never on the thread count (one workspace per thread).
 *
 * Same model and conventions as net.c (docs/theory.md §1-§2): NTK
 * parametrization, no biases, g's weights are v(x) cut into row-major chunks
 * (hntk_g_chunk_offset).  v1 limitation: no Fourier features (fourier_k > 0 is
 * refused).  f's hidden width may exceed HNTK_MAX_WIDTH, up to
 * HNTK_LAZY_MAX_WIDTH: nothing of size n^2 is ever formed.
 */
#ifndef HYPERNTK_LAZY_H
#define HYPERNTK_LAZY_H

#include <stddef.h>
#include <stdint.h>

#include "hyperntk/arch.h"
#include "hyperntk/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Tensor id of layer l's lazy streams: HNTK_LAZY_TENSOR_BASE + l (l = 1..L),
 * registered in rng.h's enum hntk_tensor_id. */
#define HNTK_LAZY_TENSOR_BASE ((uint32_t)HNTK_TENSOR_LAZY_LAYER0)

/* Accepted ranges beyond hntk_hyper_arch_validate: f_width 1..HNTK_LAZY_MAX_WIDTH
 * (a BLAS int dimension), batch 1..HNTK_LAZY_MAX_BATCH. */
#define HNTK_LAZY_MAX_WIDTH 2147483647L
#define HNTK_LAZY_MAX_BATCH 65536L
#define HNTK_LAZY_MAX_TAYLOR_ORDER 64 /* = HNTK_TAYLOR_MAX_ORDER */

typedef struct hntk_lazy hntk_lazy;

/* Bytes that hntk_lazy_alloc would allocate: about 8 B ((6 L - 7) n + 4 P)
 * for hidden width n >> x_dim, L >= 2 (0 if the sizes overflow); 1.64 GiB at
 * n = 10^7, L = 3, B = 2. */
size_t hntk_lazy_bytes(const hntk_hyper_arch *a, long batch_cap);

/* hntk_hyper_arch_validate, but f_width up to HNTK_LAZY_MAX_WIDTH, and
 * fourier_k must be 0 (no Fourier features yet). */
int hntk_lazy_validate(const hntk_hyper_arch *a);

/* Validate `a` (as hntk_hyper_arch_validate, but f_width up to
 * HNTK_LAZY_MAX_WIDTH; fourier_k must be 0) and batch_cap
 * (1..HNTK_LAZY_MAX_BATCH), check hntk_lazy_bytes against budget_bytes
 * (0 = no budget), then allocate.  Nothing is allocated on failure. */
int hntk_lazy_alloc(const hntk_hyper_arch *a, long batch_cap, size_t budget_bytes, hntk_lazy **out);
void hntk_lazy_free(hntk_lazy *lz); /* NULL is harmless */

/* As hntk_lazy_alloc, with room for the Taylor engine (taylor.h,
 * hntk_taylor_kernels_lazy) of orders up to taylor_order (0..64; 0: none):
 * layer l then holds up to B (1 + min(l - 1, R)) forward directions, the
 * forward queries of the sample and those of the jets along ONE direction
 * grad_w h(u_j) per sample. */
size_t hntk_lazy_bytes_taylor(const hntk_hyper_arch *a, long batch_cap, int taylor_order);
int hntk_lazy_alloc_taylor(const hntk_hyper_arch *a, long batch_cap, int taylor_order, size_t budget_bytes,
                           hntk_lazy **out);

const hntk_hyper_arch *hntk_lazy_arch(const hntk_lazy *lz);
int hntk_lazy_taylor_order(const hntk_lazy *lz);

/* One sample: the forward and backward passes of f and g on the batch
 * X (B, x_dim), Z (B, z_dim), B = 1..batch_cap, with the weights of sample
 * (seed, sample) drawn lazily.  Allocates nothing. */
int hntk_lazy_sample(hntk_lazy *lz, uint64_t seed, uint32_t sample, long B, const double *X, const double *Z);
/* K (B x B, full symmetric) = K^h of the last sample. */
void hntk_lazy_ntk_gram(const hntk_lazy *lz, double *K);
/* Both: one sample of K^h. */
int hntk_lazy_sample_ntk_gram(hntk_lazy *lz, uint64_t seed, uint32_t sample, long B, const double *X,
                              const double *Z, double *K);

/* More forward products within the last sample: Y (rows, n_l) =
 * alpha Q W^l^T for Q (rows, n_{l-1}), conditioned on every answer of the
 * sample so far, fresh Gaussians continuing its streams (the next query
 * rows).  So W^l is the same matrix as in the sample's passes, as the
 * Taylor engine needs.  HNTK_EINVAL when layer l has no room left
 * (hntk_lazy_alloc_taylor sizes it). */
int hntk_lazy_apply(hntk_lazy *lz, int l, long rows, const double *Q, double alpha, double *Y);

/* Views of the last sample (valid until the next one). */
long hntk_lazy_batch(const hntk_lazy *lz);             /* its B */
const double *hntk_lazy_activation(const hntk_lazy *lz, int l); /* Q^l (B, n_l), l = 0..L-1; l = L: v */
const double *hntk_lazy_dh_dy(const hntk_lazy *lz, int l);      /* E^l = dh/dY^l (B, n_l), l = 1..L */
const double *hntk_lazy_output(const hntk_lazy *lz);  /* h (B) */
const double *hntk_lazy_f_output(const hntk_lazy *lz); /* v (B, P) */
const double *hntk_lazy_dh_dv(const hntk_lazy *lz);    /* c = dh/dv (B, P) */
/* NNGP term h(u_i) h(u_j) (B x B) of the last sample. */
void hntk_lazy_nngp_gram(const hntk_lazy *lz, double *K);
/* Columns (queried directions) that layer l (1..L) holds after the last
 * sample: forward (U) and backward (V); either pointer may be NULL. */
void hntk_lazy_rank(const hntk_lazy *lz, int l, long *forward, long *backward);

/* ---- one lazy matrix, queried directly (tests, other algorithms) ----
 * hntk_lazy_reset forgets every answer (a new draw of all W^l);
 * hntk_lazy_query answers W^l q (transpose = 0; q has n_{l-1} entries, ans
 * n_l) or W^l^T q (transpose = 1; q has n_l, ans n_{l-1}) conditionally on
 * all answers since the reset, drawing fresh Gaussians from stream
 * (seed, sample, HNTK_LAZY_TENSOR_BASE + l, number of queries of layer l
 * since the reset).  Unscaled: W^l has N(0,1) entries.  Capacity: at most
 * min(batch_cap, n_{l-1}) new forward and min(batch_cap, n_l) new backward
 * directions per layer (none backward on layer 1); HNTK_EINVAL beyond. */
void hntk_lazy_reset(hntk_lazy *lz);
int hntk_lazy_query(hntk_lazy *lz, int l, int transpose, uint64_t seed, uint32_t sample, const double *q,
                    double *ans);

/* ---- test hook: deliberately wrong samplers (the tests' negative control) ----
 * HNTK_LAZY_FAULT_NO_BACKWARD_MEAN drops the conditional mean U (A^T v) of
 * backward queries (as if W^T were independent of the forward answers);
 * HNTK_LAZY_FAULT_NO_FORWARD_MEAN drops V (Bm^T u) of forward queries.
 * Never use outside tests. */
enum { HNTK_LAZY_FAULT_NONE = 0, HNTK_LAZY_FAULT_NO_BACKWARD_MEAN = 1, HNTK_LAZY_FAULT_NO_FORWARD_MEAN = 2 };
void hntk_lazy_set_fault(hntk_lazy *lz, int fault);

#ifdef __cplusplus
}
#endif
#endif
