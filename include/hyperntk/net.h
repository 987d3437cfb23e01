/* net.h: one hypernetwork sample h(u) = g(z; f(x)) on a batch of inputs,
 * its exact gradients and empirical kernels (docs/theory.md §1-§2).
 *
 * Plan once, execute many: hntk_net_alloc sizes every buffer for a batch of
 * up to `batch_cap` inputs; sampling weights, forward, backward and the Gram
 * matrices then allocate nothing.  Matrices are row-major.
 *
 *   X      (B, n_0)      inputs of f, used exactly as given
 *   Z      (B, z_dim)    inputs of g (before optional Fourier features)
 *   W^l    (n_l, n_{l-1}) f's weights, entries N(0,1); scaled by 1/sqrt(n_{l-1}) in use
 *   b^l    (n_l)         f's biases (bias_scale beta > 0 only), entries N(0,1); beta b^l in use
 *   Y^l    (B, n_l)      pre-activations of f, Y^L = v (B, P)
 *   Q^l    (B, n_l)      sqrt(2) relu(Y^l), Q^0 = X
 *   E^l    (B, n_l)      dh/dY^l,  E^L = c = dh/dv (B, P)
 *   h      (B, C)        outputs, C = hntk_g_outputs (1 unless arch.g_out > 1)
 *
 * With C > 1 outputs (the training engine's classifiers) E^l is the gradient
 * of a weighted sum of the outputs (hntk_net_backward_seeded); the Gram
 * matrices and the f-NTK are defined for C = 1.  With biases the NTK Gram
 * includes their gradients (f's: beta^2 E^l E^l^T; g's are coordinates of v);
 * the f-NTK and the samplers, kernels and Hessians elsewhere do not take them.
 */
#ifndef HYPERNTK_NET_H
#define HYPERNTK_NET_H

#include <stddef.h>
#include <stdint.h>

#include "hyperntk/arch.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hntk_net hntk_net;

/* Bytes that hntk_net_alloc would allocate for this architecture and batch. */
size_t hntk_net_bytes(const hntk_hyper_arch *a, long batch_cap);

/* Validate `a` and batch_cap (1..HNTK_MAX_DIM), check hntk_net_bytes against
 * budget_bytes (0 = no budget), then allocate.  Nothing is allocated on failure. */
int hntk_net_alloc(const hntk_hyper_arch *a, long batch_cap, size_t budget_bytes, hntk_net **out);
void hntk_net_free(hntk_net *net); /* NULL is harmless */

const hntk_hyper_arch *hntk_net_arch(const hntk_net *net);

/* Draw every weight of sample `sample` (and its Fourier features; biases from
 * tensors HNTK_TENSOR_F_BIAS0 + l) from the counter-based streams: a function
 * of (seed, sample, layer, row, column) only. */
void hntk_net_sample_weights(hntk_net *net, uint64_t seed, uint32_t sample);

/* Weight matrix W^l (n_l x n_{l-1}), l = 1..L, raw N(0,1) entries.  Writable so
 * that tests and users can install their own weights. */
double *hntk_net_weights(hntk_net *net, int l);
/* Bias b^l (n_l), l = 1..L, raw N(0,1) entries (beta b^l is added); NULL
 * without biases (bias_scale = 0).  Writable. */
double *hntk_net_biases(hntk_net *net, int l);
/* Fourier features: frequencies (k x z_dim, already divided by s) and phases (k);
 * NULL when fourier_k == 0. */
double *hntk_net_fourier_freqs(hntk_net *net);
double *hntk_net_fourier_phases(hntk_net *net);

/* ---- Fourier features drawn per sample or once per run ----
 * By default hntk_net_sample_weights redraws the features with every sample,
 * from streams (seed, sample, HNTK_TENSOR_FOURIER_W / _B, row).  A run that
 * treats them as a fixed preprocessing step draws them once, from the
 * reserved sample index HNTK_FOURIER_RUN_SAMPLE (no Monte Carlo sample uses
 * it: sample counters stay below 2^32 - 1), and installs them in every network
 * with hntk_net_fix_fourier. */
#define HNTK_FOURIER_RUN_SAMPLE 0xFFFFFFFFu

/* The features of stream (seed, sample) for architecture a (fourier_k = k > 0):
 * freq (k x z_dim) = w_i ~ N(0, s^-2 I), phase (k) = b_i ~ U[-pi, pi]: exactly
 * what hntk_net_sample_weights draws for that sample. */
void hntk_fourier_draw(const hntk_hyper_arch *a, uint64_t seed, uint32_t sample, double *freq, double *phase);

/* Install fixed features (copied; freq k x z_dim, phase k): from then on
 * hntk_net_sample_weights draws f's weights only.  NULL, NULL returns to
 * per-sample features.  HNTK_EINVAL when the network has no Fourier features
 * or only one of the pointers is NULL. */
int hntk_net_fix_fourier(hntk_net *net, const double *freq, const double *phase);
/* 1 when features are fixed (hntk_net_fix_fourier), 0 otherwise. */
int hntk_net_fourier_fixed(const hntk_net *net);

/* Forward pass on B <= batch_cap inputs; stores everything backward needs.
 * h_out (B, C) may be NULL. */
int hntk_net_forward(hntk_net *net, long B, const double *X, const double *Z, double *h_out);

/* g alone with given weights: h_out (B, C) row b = g(Z_b; v) for b < B <= batch_cap, v (P)
 * any vector of g's weights (f's output for some x, or an interpolation of two;
 * docs/theory.md §9.1), through the network's Fourier features.  Overwrites the
 * g scratch of the last forward (run forward again before a backward). */
int hntk_net_g_eval(hntk_net *net, const double *v, long B, const double *Z, double *h_out);

/* Backward pass for the inputs of the last forward: fills c = dh/dv and E^l
 * (with C > 1 outputs: of their sum, as hntk_net_backward_seeded(net, NULL)). */
void hntk_net_backward(hntk_net *net);
/* Backward pass of the weighted outputs sum_c seed[b][c] h_c(u_b), input by
 * input: c_b = d(seed_b . h(u_b))/dv and E^l_b likewise; seed (B, C), NULL
 * meaning every weight 1.  With C = 1, E^l_b = seed_b dh(u_b)/dY^l. */
void hntk_net_backward_seeded(hntk_net *net, const double *seed);

/* Views into the last forward/backward (valid until the next call). */
long hntk_net_batch(const hntk_net *net);                       /* B of the last forward (0 before any) */
const double *hntk_net_output(const hntk_net *net);             /* h (B, C) */
const double *hntk_net_f_output(const hntk_net *net);           /* v (B, P) */
const double *hntk_net_dh_dv(const hntk_net *net);              /* c (B, P) */
const double *hntk_net_dh_dy(const hntk_net *net, int l);       /* E^l (B, n_l), l = 1..L */
const double *hntk_net_activation(const hntk_net *net, int l);  /* Q^l (B, n_l), l = 0..L-1 */
/* g's state per input (gnet.h's layout): pre-activations g^1..g^H (B, pre_len) and
 * activations a^0..a^{H-1} (B, act_len), pre_len = m_1 + .. + m_H, act_len = m_0 + .. + m_{H-1}. */
const double *hntk_net_g_preacts(const hntk_net *net);
const double *hntk_net_g_acts(const hntk_net *net);

/* Gradient of h(u_b) with respect to W^l (n_l x n_{l-1}), l = 1..L, for input b
 * of the last forward/backward:  dh/dW^l = E^l_b (x) Q^{l-1}_b / sqrt(n_{l-1}). */
void hntk_net_weight_grad(const hntk_net *net, long b, int l, double *grad);

/* Empirical hyperkernel Gram K (B x B, full symmetric) of the last batch:
 *   K = sum_l (E^l E^l^T) o (Q^{l-1} Q^{l-1}^T) / n_{l-1}        (BLAS-3, no Jacobian) */
void hntk_net_ntk_gram(hntk_net *net, double *K);

/* One sample's hyperkernel in one call: draw the weights of (seed, sample), run
 * the forward and backward passes on the batch X (B, x_dim), Z (B, z_dim) and
 * write the Gram K (B x B).  The sample's NNGP and g-part then follow from
 * hntk_net_nngp_gram and hntk_net_g_gram. */
int hntk_net_sample_ntk_gram(hntk_net *net, uint64_t seed, uint32_t sample, long B, const double *X,
                             const double *Z, double *K);

/* Empirical NNGP term h(u_i) . h(u_j) (B x B). */
void hntk_net_nngp_gram(const hntk_net *net, double *K);

/* g-part c(u_i) . c(u_j) (B x B). */
void hntk_net_g_gram(hntk_net *net, double *K);

/* Floating-point operations of hntk_net_ntk_gram for a batch of B (for GFLOP/s). */
double hntk_net_ntk_gram_flops(const hntk_hyper_arch *a, long B);

/* ---- f-NTK between f's output coordinates: K^f(x_i, x_j) = J_f(x_i) J_f(x_j)^T ----
 * Needs P x n_l Jacobian blocks, so it has its own workspace (sized once). */
typedef struct hntk_fntk_ws hntk_fntk_ws;
size_t hntk_fntk_ws_bytes(const hntk_hyper_arch *a);
int hntk_fntk_ws_alloc(const hntk_net *net, size_t budget_bytes, hntk_fntk_ws **out);
void hntk_fntk_ws_free(hntk_fntk_ws *ws);

/* Full K^f(x_i, x_j) (P x P) for inputs i, j of the last forward. */
void hntk_net_fntk(const hntk_net *net, hntk_fntk_ws *ws, long i, long j, double *Kf);
/* Its diagonal mean and off-diagonal root-mean-square (off_rms = 0 when P == 1). */
void hntk_net_fntk_stats(const hntk_net *net, hntk_fntk_ws *ws, long i, long j,
                         double *diag_mean, double *off_rms);

#ifdef __cplusplus
}
#endif
#endif
