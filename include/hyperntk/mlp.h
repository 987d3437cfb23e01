/* mlp.h: one-hidden-layer classifiers through the training engine, and their
 * parametrizations (docs/theory.md §8.5; `hyperntk widelr`).
 *
 * The network is f of depth 2 and width n on x in R^d, read by g of depth 1
 * on z = 1 with C outputs (hntk_mlp1_arch): P = C, V^1 = v(x) (C x 1) and
 *
 *     h(x) = W^2 q / sqrt(n),   q = sqrt(2) relu(W^1 x / sqrt(d)),   W^l raw, N(0,1) at init.
 *
 * A parametrization is the same function class trained differently; each is
 * realised in the engine by a scale of the initial W^2 and per-layer rate
 * factors rho_l (hntk_train_set_layer_rate: W^l <- W^l - eta rho_l dC/dW^l):
 *
 *   ntk        rho = (1, 1), W^2 as drawn: the theory's model;
 *   standard   rho = (d, n): weights w^l = W^l / sqrt(n_{l-1}) ~ N(0, 1/n_{l-1}),
 *              no 1/sqrt in the forward pass, trained by SGD on w with the same eta;
 *   meanfield  rho = (1, 1/n), W^2 scaled by 1/sqrt(n): the network
 *              h = (1/n) sum_i a_i sqrt(2) relu(w_i.x / sqrt(d)), a_i, w_i ~ N(0, 1),
 *              trained by SGD on (a, w) with the same eta (W^1 = w, W^2 = a / sqrt(n)).
 *
 * The empirical NTK of output c with the rates, the kernel of the linearized
 * function-space step (one GD step on the loss C moves h_c(x_a) by
 * -eta sum_b K_c(a, b) dC/dh_c(x_b), plus the cross-output terms, which vanish
 * like 1/sqrt(n)):
 *
 *     K_c(a, b) = rho_2 q_a.q_b / n + rho_1 (x_a.x_b / d) (2/n) sum_i W^2_ci^2 1[y_ai > 0] 1[y_bi > 0]
 *
 * (y = W^1 x / sqrt(d)): O(1) in n for ntk, O(n) for standard (its first
 * term), O(1/n) for meanfield. */
#ifndef HYPERNTK_MLP_H
#define HYPERNTK_MLP_H

#include "hyperntk/arch.h"
#include "hyperntk/net.h"
#include "hyperntk/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { HNTK_PARAM_NTK = 0, HNTK_PARAM_STANDARD = 1, HNTK_PARAM_MEANFIELD = 2, HNTK_PARAM_COUNT = 3 } hntk_param;
/* "ntk", "standard", "meanfield", NULL. */
extern const char *const hntk_param_names[];

/* f of depth 2, width n, input d; g of depth 1 on z_dim = 1 with C outputs. */
hntk_hyper_arch hntk_mlp1_arch(long n, long d, long C);

/* The rate factors rho[0] = rho_1, rho[1] = rho_2 and the initial scale of
 * W^2 of parametrization p at width n and input dimension d (both >= 1). */
int hntk_mlp1_param(int p, long n, long d, double rho[2], double *w2_scale);

/* Apply parametrization p to a trainer of an hntk_mlp1_arch network whose
 * weights were just drawn: scale W^2, set rho_1 and rho_2. */
int hntk_mlp1_param_apply(hntk_train *t, int p);

/* Doubles of work hntk_mlp1_ntk needs for B inputs at width n. */
size_t hntk_mlp1_ntk_work(long B, long n);
/* K_c (B, B) above for the B inputs X (B, d) under rates rho (NULL: 1, 1),
 * from the current weights of `net` (an hntk_mlp1_arch network, any batch
 * capacity: the forward pass is computed here, in `work`). */
int hntk_mlp1_ntk(hntk_net *net, const double rho[2], long c, long B, const double *X, double *work, double *K);

#ifdef __cplusplus
}
#endif
#endif
