/* stdparam.h: the standard parametrization of the rotation experiment's
 * authors (no 1/sqrt(fan-in) in f nor in g) on top of the NTK engine of
 * train.h, exactly: the same function and the same SGD trajectory
 * (docs/theory.md §8.4; docs/rotations.md).
 *
 * The authors' model (bias-free here; sigma = sqrt(2) relu as in the whole
 * lab): f with weights w^l ~ N(0, 1/n_{l-1}) and y^l = w^l q^{l-1}; g reads
 * f's output chunks as its weights with no 1/sqrt(m_{k-1}):
 * g^k = U^k(x) a^{k-1}, U^k the k-th chunk of u = w^L q^{L-1}.
 * The engine's model computes y^l = W^l q^{l-1} / sqrt(n_{l-1}) and
 * g^k = V^k a^{k-1} / sqrt(m_{k-1}), V = W^L q^{L-1} / sqrt(n_{L-1}).  Both are
 * the same function when
 *
 *     W^l = sqrt(n_{l-1}) w^l                                   l < L,
 *     rows of chunk k of W^L = sqrt(n_{L-1} m_{k-1}) (those rows of w^L),
 *
 * i.e. W = c w row by row.  Then dC/dW = dC/dw / c, and an SGD step
 * w <- w - mu dC/dw is W <- W - mu c^2 dC/dW: the engine's gradient with the
 * rate factor c^2 = n_{l-1} for layer l < L and n_{L-1} m_{k-1} for the rows
 * of chunk k of the last layer.  (hntk_train_set_layer_rate has one factor per
 * layer, n_{L-1} for the last: scaling the initial rows alone would give the
 * authors' initial function but train chunk k with the rate mu / m_{k-1}.)
 * Initialization: the engine's N(0,1) weights with the rows of chunk k of
 * W^L multiplied by sqrt(m_{k-1}) are exactly w ~ N(0, 1/n_{l-1}).
 *
 * Biases (arch.bias_scale = 1; other scales are refused): the authors' f adds
 * a bias to every layer, y^l = w^l q^{l-1} + b^l, and g adds c^k, which f
 * outputs too (the engine's layout: the rows of c^k follow those of V^k).
 * With s = m_{k-1} for the rows of chunk V^k and s = 1 otherwise (layers
 * l < L, the rows of c^k), engine and authors agree when W_row =
 * sqrt(n_{l-1} s) w_row and b_row = sqrt(s) b_auth,row; an SGD step is then
 * the rate factors n_{l-1} s (weights) and s (biases), and the authors'
 * initialization N(0, 1/n_{l-1}) of every weight and bias is the engine's
 * N(0,1) draw times sqrt(s) (weights) and sqrt(s / n_{l-1}) (biases). */
#ifndef HYPERNTK_STDPARAM_H
#define HYPERNTK_STDPARAM_H

#include "hyperntk/arch.h"
#include "hyperntk/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rate factor c^2 of row `row` of layer l (1..L) of f: n_{l-1}, or
 * n_{L-1} m_{k-1} for a row of chunk k of the last layer (n_{L-1} for the
 * rows that are g's biases c^k); 0 out of range. */
double hntk_stdparam_rate(const hntk_hyper_arch *a, int l, long row);
/* With biases (bias_scale 1): the rate factor s of bias b^l_row, 1 for
 * l < L and for g's bias rows, m_{k-1} for chunk k's rows; 0 without biases. */
double hntk_stdparam_bias_rate(const hntk_hyper_arch *a, int l, long row);

/* After hntk_net_sample_weights(hntk_train_net(t), ..): multiply the rows of
 * chunk k of W^L by sqrt(m_{k-1}), k = 1..H (the authors' initialization). */
int hntk_stdparam_init(hntk_train *t);

/* W^l <- W^l - mu c^2 (the stored gradient), every layer and row: one step of
 * the authors' SGD with rate mu on the loss whose gradient hntk_train_loss_grad
 * stored (its `scale` included).  mu finite. */
int hntk_stdparam_apply(hntk_train *t, double mu);

/* The authors' weights w from the engine's (w = W / c, row by row), into
 * w (N_w doubles, layers 1..L in order, each row-major, followed by that
 * layer's biases when there are biases): for tests. */
int hntk_stdparam_weights(hntk_train *t, double *w);

#ifdef __cplusplus
}
#endif
#endif
