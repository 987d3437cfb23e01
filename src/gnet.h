/* gnet.h (internal): the implicit network g, shared by the dense network
 * (net.c) and the lazy sampler (lazy.c), so g's forward and backward passes
 * exist once.  g's weights are f's output v (P) of one input, cut into the
 * chunks V^l (m_l, m_{l-1}), row-major (docs/theory.md §1.2). */
#ifndef HYPERNTK_GNET_H
#define HYPERNTK_GNET_H

#include "hyperntk/arch.h"

#define HNTK_SQRT2 1.41421356237309504880

/* On a loop of the form y[i] = q[i] > 0 ? w : 0 (w computed unconditionally),
 * lets GCC turn the branch into a vector select: a wide layer's signs are
 * random, so a branch per entry mispredicts half the time (2x at n = 10^6).
 * The values are the same; only floating-point exception flags could differ. */
#if defined(__GNUC__) && !defined(__clang__)
#define HNTK_VECTOR_SELECT __attribute__((optimize("no-trapping-math")))
#else
#define HNTK_VECTOR_SELECT
#endif

/* Where everything of g sits, from the architecture. */
typedef struct {
    int H;
    long m[HNTK_MAX_DEPTH + 1];       /* widths m_0..m_H (m_H = C, g's outputs) */
    long off[HNTK_MAX_DEPTH + 2];     /* offset of chunk V^l in v, l = 1..H (+1: P) */
    long boff[HNTK_MAX_DEPTH + 1];    /* offset of the bias c^l (m_l) in v, l = 1..H (beta > 0) */
    double beta;                      /* bias scale (0: no biases) */
    long pre_off[HNTK_MAX_DEPTH + 1]; /* offset of g^l in a row of pre, l = 1..H */
    long act_off[HNTK_MAX_DEPTH + 1]; /* offset of a^l in a row of act, l = 0..H-1 */
    long pre_len, act_len, m_max;
} hntk_glayout;

void hntk_glayout_init(hntk_glayout *g, const hntk_hyper_arch *a);

/* q = sqrt(2) relu(y), n entries. */
void hntk_relu_sqrt2(double *q, const double *y, long n);

/* e <- c 1[q > 0] o e, n entries (a ReLU mask applied to a backward vector or
 * a jet coefficient); e and q do not overlap. */
void hntk_mask_scaled(double *restrict e, const double *restrict q, long n, double c);

/* g on one input (g^l = V^l a^{l-1} / sqrt(m_{l-1}) [+ beta c^l]):
 * v (P) its weights, act (act_len) with a^0 filled in; fills
 * pre (pre_len) and the rest of act; the outputs h = g^H (m_H) are the last
 * m_H entries of pre.  Returns h_1 (the output when m_H = 1). */
double hntk_g_forward(const hntk_glayout *g, const double *v, double *pre, double *act);

/* d(seed . h)/dv of one input into c (P), from the forward's pre and act;
 * seed (m_H) weighs g's outputs, NULL meaning 1 (one output: c = dh/dv); dg
 * and da are scratch of m_max doubles each. */
void hntk_g_backward(const hntk_glayout *g, const double *v, const double *pre, const double *act,
                     const double *seed, double *c, double *dg, double *da);

#endif
