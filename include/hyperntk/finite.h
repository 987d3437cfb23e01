/* finite.h: exact moments of one output h(u) of a finite hypernetwork over
 * its initialization (docs/theory.md §8.3, the Theorem 2 reference).
 *
 * For one input with |x|^2 = n_0 and |z|^2 = m_0, no Fourier features, f of
 * depth L and hidden width n, g of depth H and hidden width m: given f's
 * hidden layers, f's P outputs are iid N(0, s_f) with
 * s_f = |q^{L-1}|^2 / n = prod_{l=1}^{L-1} t_l, and each t_l = (1/n) sum_i
 * 2 relu(g_i)^2 (g_i iid N(0,1)) = (2/n) chi^2_K, K ~ Binomial(n, 1/2),
 * independent across layers.  g is then positively homogeneous of degree H in
 * its weights, so h = s_f^{H/2} h~ with h~ the same g on standard normal
 * weights, and h~ given its hidden layers is N(0, prod_{l=1}^{H-1} t'_l) with
 * t'_l the same law at width m.  Hence, exactly,
 *
 *   E h^2 / Lambda^H(u,u) = E s_f^H = (E t_n^H)^{L-1}
 *   E h^4 / (E h^2)^2     = 3 (E t_m^2)^{H-1} (E t_n^{2H})^{L-1} / (E t_n^H)^{2(L-1)},
 *   E t_n^p = (2/n)^p E_K[K (K+2) .. (K+2p-2)],   E t^2 = 1 + 5/n,
 *
 * and the excess kurtosis is the second line minus 3 (skewness: 0, h is
 * symmetric).  Leading orders: 15 H^2 (L-1)/n + 15 (H-1)/m + 75 H^2 (L-1)(H-1)/(n m).
 * With f wide and g at width m the excess stays at 3 (1 + 5/m)^{H-1} - 3: h is
 * not Gaussian; with g wide it stays at that of the scale mixture s_f^{H/2}.
 */
#ifndef HYPERNTK_FINITE_H
#define HYPERNTK_FINITE_H

#ifdef __cplusplus
extern "C" {
#endif

/* E t_n^p for n >= 1 hidden units and p = 0..128 (exact sum over K; NaN outside). */
double hntk_finite_t_moment(long n, int p);

/* var_ratio = E h^2 / Lambda^H(u,u) and kurt = the excess kurtosis of h(u),
 * either may be NULL, for depths L, H in 1..32 and widths n, m >= 1 (unused
 * when L = 1, resp. H = 1; m = 0 or n = 0 means infinite).  HNTK_EINVAL
 * naming the bad value otherwise. */
int hntk_finite_output_moments(int L, int H, long n, long m, double *var_ratio, double *kurt);

#ifdef __cplusplus
}
#endif
#endif
