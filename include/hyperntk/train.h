/* train.h: training a hypernetwork by gradient descent (docs/theory.md §8).
 *
 * The parameters are f's raw weights W^l (N(0,1) at initialization, scaled by
 * 1/sqrt(n_{l-1}) in the forward pass: the NTK parametrization, so that
 * <grad h(u), grad h(u')> is K^h of net.h).  g has C = hntk_g_outputs
 * outputs (arch.g_out).  Losses, summed over the inputs b of a batch:
 *
 *   squared        C = 1/2 sum_b |h(u_b) - y_b|^2,          y_b in R^C,
 *   cross-entropy  C = sum_b [log sum_c exp h_c(u_b) - h_{y_b}(u_b)],
 *                  y_b a class label 0..C-1 (stored as a double), C >= 2;
 *
 * with r_b = dC/dh(u_b) (R^C: h - y, or softmax(h) - e_{y_b}) the gradient
 * is, through the network's own backward pass (net.h: E^l = dh/dY^l,
 * Q^{l-1} the activations), one dgemm per layer:
 *
 *     dC/dW^l = sum_b Er^l_b (x) Q^{l-1}_b / sqrt(n_{l-1}) = (Er^l)^T Q^{l-1} / sqrt(n_{l-1}),
 *
 * Er^l = diag(r) E^l with one output, the backward pass seeded with r
 * (hntk_net_backward_seeded) with several.  With biases (arch.bias_scale
 * beta > 0): dC/db^l = beta sum_b Er^l_b, and g's biases are outputs of f.
 *
 * Gradient descent: W^l <- W^l - eta rho_l dC/dW^l on the whole training set
 * (rho_l = 1 unless hntk_train_set_layer_rate: rho_l = n_{l-1} gives exactly
 * the trajectory of the standard parametrization, weights N(0, 1/n_{l-1}) and
 * no 1/sqrt in the forward pass, trained with rate eta; its biases are
 * beta b^l, so their factor is 1/beta^2, 1 for beta = 1).  Minibatch SGD:
 * epoch e visits a permutation of the N training inputs drawn from the
 * counter-based stream (key, e, HNTK_TENSOR_SHUFFLE, 0) (Fisher-Yates with
 * unbiased bounded draws), in minibatches of b (the last one shorter); each
 * step uses (N / |batch|) times the minibatch gradient, an unbiased estimate
 * of the full-batch gradient, so that eta means the same as for GD (the rate
 * of the minibatch mean loss is eta N).
 *
 * Plan once, execute many: hntk_train_alloc sizes the network for batches of
 * up to batch_cap inputs (default: all N), the gradients, the weighted
 * backward rows, the permutation and the minibatch copies; nothing allocates
 * afterwards.  Full-batch gradients over N > batch_cap inputs are summed
 * chunk by chunk.  Single-threaded (OpenBLAS is used as the caller set it;
 * drivers run one trainer per thread with OpenBLAS on one thread): the
 * result is a function of the inputs only.
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

typedef enum { HNTK_LOSS_SQUARED = 0, HNTK_LOSS_CROSS_ENTROPY = 1 } hntk_loss;

typedef struct {
    hntk_loss loss; /* HNTK_LOSS_SQUARED (targets (B, C)) or HNTK_LOSS_CROSS_ENTROPY (labels (B)) */
    long batch_cap; /* inputs per forward pass, 1..2^24; 0: the whole training set */
} hntk_train_config;

/* Bytes of hntk_train_alloc_config for architecture a and N training inputs
 * (cfg NULL: squared loss, batch capacity N). */
size_t hntk_train_bytes_config(const hntk_hyper_arch *a, long n_train, const hntk_train_config *cfg);
size_t hntk_train_bytes(const hntk_hyper_arch *a, long n_train);
/* Validate a (hntk_hyper_arch_validate), n_train (1..2^30), the loss (cross-
 * entropy needs g_out >= 2) and the batch capacity, check the bytes against
 * budget_bytes (0: none), allocate.  The network's weights are uninitialized:
 * draw them with hntk_net_sample_weights(hntk_train_net(t), ..). */
int hntk_train_alloc_config(const hntk_hyper_arch *a, long n_train, const hntk_train_config *cfg,
                            size_t budget_bytes, hntk_train **out);
/* The squared loss with batch capacity n_train (cfg NULL). */
int hntk_train_alloc(const hntk_hyper_arch *a, long n_train, size_t budget_bytes, hntk_train **out);
void hntk_train_free(hntk_train *t); /* NULL is harmless */

/* The network being trained (its weights are the parameters; it may be used
 * for other forward passes between steps: the next step redoes its own). */
hntk_net *hntk_train_net(hntk_train *t);

/* The batch capacity (inputs per forward pass). */
long hntk_train_batch_cap(const hntk_train *t);
/* Learning-rate factor rho_l of layer l (1..L), finite and > 0 (default 1). */
int hntk_train_set_layer_rate(hntk_train *t, int l, double factor);

/* Loss C on the batch X (B, x_dim), Z (B, z_dim), y (B, C) or labels (B),
 * B = 1..batch_cap, and its gradient times `scale` into the trainer's buffers
 * (hntk_train_grad).  The network's forward/backward views then hold this
 * batch.  HNTK_EINVAL for B out of range, a non-finite scale or target, or a
 * label that is not an integer 0..C-1 (named). */
int hntk_train_loss_grad(hntk_train *t, long B, const double *X, const double *Z, const double *y, double scale,
                         double *loss);
/* scale * dC/dW^l (n_l, n_{l-1}), l = 1..L, of the last hntk_train_loss_grad. */
const double *hntk_train_bias_grad(const hntk_train *t, int l); /* scale * dC/db^l (n_l); NULL without biases */
/* Learning-rate factor of f's bias b^l (default 1; HNTK_EINVAL without biases). */
int hntk_train_set_bias_rate(hntk_train *t, int l, double factor);
const double *hntk_train_grad(const hntk_train *t, int l);
/* r = dC/dh (B, C) of the last hntk_train_loss_grad (the residuals h - y
 * for the squared loss); hntk_train_evaluate overwrites its first row. */
const double *hntk_train_residuals(const hntk_train *t);
/* W^l <- W^l - eta rho_l (the stored gradient), every layer (biases with
 * their own factors).  eta finite. */
int hntk_train_apply(hntk_train *t, double eta);

/* The gradient of the loss on all N (1..n_train) inputs, in chunks of the
 * batch capacity, into the trainer's buffers; *loss (may be NULL) receives C. */
int hntk_train_full_grad(hntk_train *t, long N, const double *X, const double *Z, const double *y, double *loss);
/* One full-batch gradient descent step on the N inputs: *loss (may be NULL)
 * receives C before the step. */
int hntk_train_gd_step(hntk_train *t, long N, const double *X, const double *Z, const double *y, double eta,
                       double *loss);

/* The permutation perm (N) of 0..N-1 of epoch `epoch` under key (the SGD order). */
int hntk_train_permutation(uint64_t key, uint32_t epoch, long N, long *perm);

/* One epoch of minibatch SGD over the N inputs in the order of
 * hntk_train_permutation(key, epoch), minibatches of `batch` (1..min(N, batch_cap));
 * *loss (may be NULL) receives the sum over the epoch's steps of the
 * minibatch losses times N/|batch| divided by the number of steps (the mean
 * running estimate of C before each step). */
int hntk_train_sgd_epoch(hntk_train *t, uint64_t key, uint32_t epoch, long N, const double *X, const double *Z,
                         const double *y, long batch, double eta, double *loss);

/* Forward passes only, in chunks of the batch capacity: *loss (may be NULL)
 * receives C summed over the N inputs (any N >= 1) and, with the cross-
 * entropy loss, *correct (may be NULL; else HNTK_EINVAL for the squared loss)
 * the number of inputs whose largest output (the first, on ties) is the label. */
int hntk_train_evaluate(hntk_train *t, long N, const double *X, const double *Z, const double *y, double *loss,
                        long *correct);

#ifdef __cplusplus
}
#endif
#endif
