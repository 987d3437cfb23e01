/* taylor.h: the higher-order terms K^(r) of Theorem 1 by exact Taylor mode
 * (docs/theory.md §2.4).
 *
 *   K^(r)(u_i, u_j) = < grad^r_w h(u_i), (grad_w h(u_j))^{(x) r} >
 *                   = r! [t^r] h(u_i; w + t grad_w h(u_j))
 *
 * With the ReLU masks fixed at t = 0 (the second derivative of relu is zero
 * almost everywhere), t -> h(u_i; w + t v) is a polynomial of degree L*H, so
 * truncated Taylor polynomials ("jets", coefficients of t^0..t^R) propagated
 * through the network give every K^(r), r = 1..R, exactly (up to rounding),
 * and K^(r) = 0 exactly for r > L*H.
 *
 * How: the direction v = grad_w h(u_j) is rank one per layer,
 *   V^l = E^l_j (x) Q^{l-1}_j / sqrt(n_{l-1})        (hntk_net_weight_grad),
 * so (W^l + t V^l) q(t) / sqrt(n_{l-1}) = W^l q(t) / sqrt(n_{l-1}) + t E^l_j (Q^{l-1}_j . q(t)) / n_{l-1}:
 * through f, one dgemm per layer on the stacked orders of the whole batch plus
 * one rank-one update.  Through g, whose weights are f's output jets, each layer
 * multiplies two jets (a truncated Cauchy product).  Scaling exactly as net.c.
 * For a plain MLP (hntk_mlp_arch, z = 1) K^(r) is T^r of the appendix, Eq. 5.
 *
 * Plan once, execute many: the workspace is sized for (architecture, batch, R);
 * hntk_taylor_kernels allocates nothing.
 */
#ifndef HYPERNTK_TAYLOR_H
#define HYPERNTK_TAYLOR_H

#include <stddef.h>

#include <stdint.h>

#include "hyperntk/arch.h"
#include "hyperntk/lazy.h"
#include "hyperntk/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest order R accepted (r! stays finite and exact enough in double). */
#define HNTK_TAYLOR_MAX_ORDER 64

typedef struct hntk_taylor_ws hntk_taylor_ws;

/* Degree of t -> h(u; w + t v) with fixed masks: L * H (K^(r) = 0 beyond). */
long hntk_taylor_degree(const hntk_hyper_arch *a);

/* Bytes that hntk_taylor_ws_alloc would allocate (architecture assumed valid). */
size_t hntk_taylor_ws_bytes(const hntk_hyper_arch *a, long batch_cap, int R);

/* Validate `a`, batch_cap (1..2^24) and R (1..HNTK_TAYLOR_MAX_ORDER; R may exceed
 * L*H: those orders are exactly 0), check the size against budget_bytes
 * (0 = no budget), then allocate.  Nothing is allocated on failure. */
int hntk_taylor_ws_alloc(const hntk_hyper_arch *a, long batch_cap, int R, size_t budget_bytes,
                         hntk_taylor_ws **out);
void hntk_taylor_ws_free(hntk_taylor_ws *ws); /* NULL is harmless */

int hntk_taylor_order(const hntk_taylor_ws *ws); /* R */

/* Run net's forward and backward on the batch (X (B, n_0), Z (B, z_dim); the
 * net's current weights), then propagate jets along the direction
 * v = grad_w h(u_j) of input j (0 <= j < B) and write
 *
 *   K (B, R):  K[i R + r - 1] = K^(r)(u_i, u_j),   r = 1..R.
 *
 * K^(1) is column j of the empirical hyperkernel hntk_net_ntk_gram.  The net's
 * forward/backward views stay valid afterwards (e.g. for hntk_net_ntk_gram).
 * B must fit both the net and the workspace; ws must have been sized for the
 * net's architecture.  Errors: HNTK_EINVAL with the bad value and its range. */
int hntk_taylor_kernels(hntk_net *net, hntk_taylor_ws *ws, long B, const double *X, const double *Z, long j,
                        double *K);

/* The same for one sample (seed, sample) of the lazy sampler (lazy.h): its
 * forward and backward passes (hntk_lazy_sample), then the jets, whose
 * products W^l q are further queries of the same lazily drawn W^l
 * (hntk_lazy_apply).  Exact in distribution: K has the law of
 * hntk_taylor_kernels on densely drawn weights, not the same numbers.  lz
 * must come from hntk_lazy_alloc_taylor with an order >= R; the workspace may
 * then be sized for f widths beyond HNTK_MAX_WIDTH.  One direction j per
 * sample: calls for another j redraw the sample's conditional answers
 * (each call is exact; two calls are not jointly those of one W).  No Fourier
 * features (the lazy sampler refuses them). */
int hntk_taylor_kernels_lazy(hntk_lazy *lz, hntk_taylor_ws *ws, uint64_t seed, uint32_t sample, long B,
                             const double *X, const double *Z, long j, double *K);

/* Taylor coefficients of the last hntk_taylor_kernels call, (B, R+1):
 * row i holds c_0..c_R with h(u_i; w + t v) = sum_k c_k t^k (masks fixed),
 * c_0 = h(u_i) bit for bit as hntk_net_forward, K^(r) = r! c_r. */
const double *hntk_taylor_coefficients(const hntk_taylor_ws *ws);

#ifdef __cplusplus
}
#endif
#endif
