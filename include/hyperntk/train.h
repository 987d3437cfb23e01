/* train.h: training a hypernetwork by gradient descent (docs/theory.md §8).
 *
 * The parameters are f's raw weights W^l (N(0,1) at initialization, scaled by
 * 1/sqrt(n_{l-1}) in the forward pass: the NTK parametrization, so that
 * <grad h(u), grad h(u')> is K^h of net.h).  Loss: the squared loss
 *
 *     C = 1/2 sum_b r_b^2,    r_b = h(u_b) - y_b,
 *
 * whose gradient is, through the network's own backward pass (net.h: E^l =
 * dh/dY^l, Q^{l-1} the activations), one dgemm per layer:
 *
 *     dC/dW^l = sum_b r_b E^l_b (x) Q^{l-1}_b / sqrt(n_{l-1})
 *             = (diag(r) E^l)^T Q^{l-1} / sqrt(n_{l-1})          (n_l x n_{l-1}).
 *
 * Gradient descent: W <- W - eta dC/dW on the whole training set.  Minibatch
 * SGD: epoch e visits a permutation of the N training inputs drawn from the
 * counter-based stream (key, e, HNTK_TENSOR_SHUFFLE, 0) (Fisher-Yates with
 * unbiased bounded draws), in minibatches of b (the last one shorter); each
 * step uses (N / |batch|) times the minibatch gradient, an unbiased estimate
 * of the full-batch gradient, so that eta means the same as for GD.
 * Only the squared loss exists (g has one output: m_H = 1); cross-entropy
 * needs a multi-output g and is not implemented.
 *
 * Plan once, execute many: hntk_train_alloc sizes the network (batch N),
 * the gradients, the weighted backward rows, the permutation and the
 * minibatch copies; nothing allocates afterwards.  Single-threaded
 * (OpenBLAS is used as the caller set it; drivers run one trainer per thread
 * with OpenBLAS on one thread): the result is a function of the inputs only.
 */
#ifndef HYPERNTK_TRAIN_H
#define HYPERNTK_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "hyperntk/arch.h"
#include "hyperntk/net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hntk_train hntk_train;

/* Bytes of hntk_train_alloc for architecture a and N training inputs. */
size_t hntk_train_bytes(const hntk_hyper_arch *a, long n_train);
/* Validate a (hntk_hyper_arch_validate) and n_train (1..2^24), check the bytes
 * against budget_bytes (0: none), allocate.  The network's weights are
 * uninitialized: draw them with hntk_net_sample_weights(hntk_train_net(t), ..). */
int hntk_train_alloc(const hntk_hyper_arch *a, long n_train, size_t budget_bytes, hntk_train **out);
void hntk_train_free(hntk_train *t); /* NULL is harmless */

/* The network being trained (its weights are the parameters; it may be used
 * for other forward passes between steps: the next step redoes its own). */
hntk_net *hntk_train_net(hntk_train *t);

/* Loss C on the batch X (B, x_dim), Z (B, z_dim), y (B), B = 1..N, and its
 * gradient times `scale` into the trainer's buffers (hntk_train_grad).  The
 * network's forward/backward views then hold this batch.  HNTK_EINVAL for B
 * out of range or a non-finite y_b or scale (named). */
int hntk_train_loss_grad(hntk_train *t, long B, const double *X, const double *Z, const double *y, double scale,
                         double *loss);
/* scale * dC/dW^l (n_l, n_{l-1}), l = 1..L, of the last hntk_train_loss_grad. */
const double *hntk_train_grad(const hntk_train *t, int l);
/* Residuals r (B) of the last hntk_train_loss_grad. */
const double *hntk_train_residuals(const hntk_train *t);
/* W^l <- W^l - eta * (the stored gradient), every layer.  eta finite. */
int hntk_train_apply(hntk_train *t, double eta);

/* One full-batch gradient descent step on the N inputs: *loss (may be NULL)
 * receives C before the step. */
int hntk_train_gd_step(hntk_train *t, long N, const double *X, const double *Z, const double *y, double eta,
                       double *loss);

/* The permutation perm (N) of 0..N-1 of epoch `epoch` under key (the SGD order). */
int hntk_train_permutation(uint64_t key, uint32_t epoch, long N, long *perm);

/* One epoch of minibatch SGD over the N inputs in the order of
 * hntk_train_permutation(key, epoch), minibatches of `batch` (1..N);
 * *loss (may be NULL) receives the sum over the epoch's steps of the
 * minibatch losses times N/|batch| divided by the number of steps (the mean
 * running estimate of C before each step). */
int hntk_train_sgd_epoch(hntk_train *t, uint64_t key, uint32_t epoch, long N, const double *X, const double *Z,
                         const double *y, long batch, double eta, double *loss);

#ifdef __cplusplus
}
#endif
#endif
