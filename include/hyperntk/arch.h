/* arch.h: architecture descriptions and their validation (docs/theory.md §1).
 *
 * f: L weight layers, widths n_0 = x_dim, n_1..n_{L-1} = f_width, n_L = P.
 * g: H weight layers, widths m_0 = z_dim (or fourier_k), m_1..m_{H-1} = g_width,
 *    m_H = g_out (1 unless set: the kernels, samplers and Taylor engine are for
 *    one output; the training engine, train.h, also takes C = g_out > 1 outputs).
 * Biases (bias_scale beta > 0; the training engine only): f's layer l adds
 * beta b^l (b^l in R^{n_l}, parameters); g's layer l adds beta c^l with c^l
 * (m_l) part of v, stored right after V^l, so then P = sum_l m_l (m_{l-1} + 1).  f's output v in R^P is cut into H row-major chunks V^l (m_l x m_{l-1}),
 *    so P = sum_l m_l m_{l-1}.
 * A plain MLP is g_depth = 1, z_dim = 1, z = 1 (then P = 1 and h = f).
 */
#ifndef HYPERNTK_ARCH_H
#define HYPERNTK_ARCH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Accepted ranges, checked once at the entry point (hntk_hyper_arch_validate). */
#define HNTK_MAX_DEPTH 32
#define HNTK_MAX_WIDTH (1L << 20)
/* Every matrix dimension handed to BLAS must fit an int. */
#define HNTK_MAX_DIM 2147483647L

typedef struct {
    int f_depth;          /* L >= 1 */
    long f_width;         /* n, hidden width of f (unused when L == 1) */
    long x_dim;           /* n_0 */
    int g_depth;          /* H >= 1 */
    long g_width;         /* m, hidden width of g (unused when H == 1) */
    long z_dim;           /* dimension of the raw input z */
    long fourier_k;       /* 0: a^0 = z; k > 0: a^0 = sqrt(2) cos(w_i.z + b_i), i = 1..k */
    double fourier_scale; /* s > 0: w_i ~ N(0, s^-2 I) (only with fourier_k > 0) */
    long g_out;           /* m_H, g's outputs; 0 means 1 (so {0}-initialized structs keep one output) */
    double bias_scale;    /* beta >= 0: 0 = no biases (the theory's model); > 0: every layer adds beta x a bias */
} hntk_hyper_arch;

/* An architecture with every field zero except what a plain MLP needs:
 * f of depth L, width n, input n_0 and a single output (g_depth = 1, z_dim = 1). */
hntk_hyper_arch hntk_mlp_arch(int depth, long width, long in_dim);

/* A hypernetwork without Fourier features: f of depth L, width n, input x_dim;
 * g of depth H, width m, input z_dim (fourier_k = 0, fourier_scale = 1). */
hntk_hyper_arch hntk_hyper_arch_make(int f_depth, long f_width, long x_dim, int g_depth, long g_width, long z_dim);

/* Check every field; on failure the message names the field, its value and the
 * accepted range.  Also rejects sizes whose derived dimensions overflow. */
int hntk_hyper_arch_validate(const hntk_hyper_arch *a);

/* Width n_l of f's layer l, l = 0..L (n_L = P). */
long hntk_f_layer_width(const hntk_hyper_arch *a, int l);
/* Width m_l of g's layer l, l = 0..H (m_0 = fourier_k or z_dim, m_H = g's outputs). */
long hntk_g_layer_width(const hntk_hyper_arch *a, int l);
/* C = m_H, the number of outputs of g (and of h): g_out, or 1 when g_out = 0. */
long hntk_g_outputs(const hntk_hyper_arch *a);
/* HNTK_OK when a is the theory's model (one output, no biases); else
 * HNTK_EINVAL with a message naming `who` (the kernels, samplers, Taylor
 * engine and Hessians are defined for it only). */
int hntk_arch_require_theory(const hntk_hyper_arch *a, const char *who);
/* P = number of outputs of f = number of weights of g. */
long hntk_f_out_dim(const hntk_hyper_arch *a);
/* Offset of chunk V^l (l = 1..H; H + 1: P) inside v. */
long hntk_g_chunk_offset(const hntk_hyper_arch *a, int l);
/* Offset of g's bias c^l (m_l, right after V^l) inside v; -1 without biases. */
long hntk_g_bias_offset(const hntk_hyper_arch *a, int l);
/* N_w = sum_l n_l n_{l-1} (+ sum_l n_l with biases): number of trainable parameters of f. */
long hntk_param_count(const hntk_hyper_arch *a);

#ifdef __cplusplus
}
#endif
#endif
