/* hessian.h: the velocity dK^h/dt of the empirical hyperkernel at a point of
 * gradient flow, split into the appendix's two terms (docs/theory.md §8.1,
 * appendix Eqs. 78-88), exactly, with no Hessian matrix and no finite
 * differences.
 *
 * Gradient flow on C = 1/2 sum_k r_k^2 moves w along -rho, rho = grad_w C =
 * sum_k r_k grad_w h(u_k), so
 *
 *   dK(u_i, u_j)/dt = -( M(i, j) + M(j, i) ),   M(i, j) = Hess h(u_i)[rho, grad h(u_j)].
 *
 * How: with the ReLU masks fixed, grad_w h(u; w + t rho) is a polynomial in t;
 * its coefficient of t^1 is Hess h(u) rho, obtained exactly by propagating
 * first-order jets (value, t-coefficient) through the forward pass and then
 * through the backward pass ("forward over reverse").  Since
 * dh(u)/dW^l = E^l(u) (x) Q^{l-1}(u) / sqrt(n_{l-1}) is rank one, its
 * t-coefficient is Edot^l (x) Q^{l-1} + E^l (x) Qdot^{l-1} (over sqrt(n_{l-1})),
 * rank two, and every M(i, j) comes out of (B, B) Gram products:
 *
 *   M = sum_l [ (Edot^l E^l^T) o S^l + (E^l E^l^T) o (Qdot^{l-1} Q^{l-1}^T) / n_{l-1} ],
 *   S^l = Q^{l-1} Q^{l-1}^T / n_{l-1}.
 *
 * The direction rho is rank B per layer and never formed:
 * rho^l = (diag(r) E^l)^T Q^{l-1} / sqrt(n_{l-1}), so rho^l q and p rho^l are
 * (B, B) products.  One jet along rho serves every pair (i, j): the cost is
 * about three forward-backward passes of the batch, not one per pair.
 *
 * The split (grad h(u) = J_f(x)^T c(u), c = dh/dv):
 *   term g (g's curvature, Eq. 80): J_f^T (d c / dt), d c/dt = Hess_v g(z; v) J_f rho:
 *     the jet of c through g's forward and backward, then down f with W and the
 *     masks fixed.  Zero when H = 1 (g linear in its weights: a plain MLP).
 *   term f (f's second derivative, Eq. 84): (d J_f / dt)^T c, the rest: the jets
 *     of Q^{l-1} and of E^l through W^l + t rho^l with c fixed.
 * M = M_g + M_f.  Each term's velocity is -(M_x + M_x^T).
 *
 * A batch may mix training inputs (r_k = h(u_k) - y_k) with other inputs
 * (r_k = 0): rho is then the training-set gradient and the Gram covers every
 * pair of the batch (train-test blocks included).
 *
 * Plan once, execute many: the workspace is sized for (architecture, batch);
 * hntk_hess_velocity allocates nothing.  Single-threaded (BLAS as the caller
 * set it); dense weights only.
 */
#ifndef HYPERNTK_HESSIAN_H
#define HYPERNTK_HESSIAN_H

#include <stddef.h>

#include "hyperntk/arch.h"
#include "hyperntk/net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hntk_hess_ws hntk_hess_ws;

/* Bytes of hntk_hess_ws_alloc (architecture assumed valid). */
size_t hntk_hess_ws_bytes(const hntk_hyper_arch *a, long batch_cap);
/* Validate a (hntk_hyper_arch_validate) and batch_cap (1..2^24), check the
 * bytes against budget_bytes (0: none), allocate. */
int hntk_hess_ws_alloc(const hntk_hyper_arch *a, long batch_cap, size_t budget_bytes, hntk_hess_ws **out);
void hntk_hess_ws_free(hntk_hess_ws *ws); /* NULL is harmless */

/* For the batch of net's last hntk_net_forward + hntk_net_backward (B inputs,
 * B <= the workspace's batch) and weights r (B, finite) of rho = sum_k r_k grad h(u_k):
 *   Mg, Mf (B, B), row-major: M_x[i B + j] = term x of Hess h(u_i)[rho, grad h(u_j)].
 * Either may be NULL (that term is skipped).  Errors: HNTK_EINVAL
 * for another architecture, B out of range or a non-finite r_k (named). */
int hntk_hess_mixed(hntk_net *net, hntk_hess_ws *ws, const double *r, double *Mg, double *Mf);

/* The velocities themselves: forward and backward on X (B, x_dim), Z (B, z_dim),
 * then hntk_hess_mixed with r, and
 *   dKg = -(Mg + Mg^T),  dKf = -(Mf + Mf^T),  dK = dKg + dKf     (each (B, B), symmetric;
 * any of the three may be NULL).  The net's views then hold this batch. */
int hntk_hess_velocity(hntk_net *net, hntk_hess_ws *ws, long B, const double *X, const double *Z, const double *r,
                       double *dKg, double *dKf, double *dK);

#ifdef __cplusplus
}
#endif
#endif
