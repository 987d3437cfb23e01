/* analytic.h: infinite-width limits in closed form (docs/theory.md §3-§4).
 *
 * Arc-cosine maps of sqrt(2) relu for a centred Gaussian pair with variances
 * a, b and covariance c, angle t = atan2(sqrt(max(ab - c^2, 0)), c):
 *   V(a,b,c) = (sqrt(ab)/pi) (sin t + (pi - t) cos t)      value map
 *   D(a,b,c) = (pi - t)/pi                                 derivative map
 */
#ifndef HYPERNTK_ANALYTIC_H
#define HYPERNTK_ANALYTIC_H

#include "hyperntk/arch.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    HNTK_VARIANT_PAPER = 0,       /* docs/theory.md §3.4: S(x,x') in every backward product (default) */
    HNTK_VARIANT_AUTHORS_CODE = 1 /* authors' published code (docs/theory.md §3.5): no S in the
                                     backward products; for comparisons only */
} hntk_variant;

/* "paper" / "authors-code"; parse returns HNTK_EINVAL with a message on anything else. */
const char *hntk_variant_name(hntk_variant v);
int hntk_variant_parse(const char *s, hntk_variant *v);

/* A covariance triple of a pair of inputs: k(u,u), k(u,u'), k(u',u'). */
typedef struct { double aa, ab, bb; } hntk_cov;

double hntk_arccos_value(double a, double b, double c);
double hntk_arccos_deriv(double a, double b, double c);

/* The limits for one pair of inputs (entry (u,u') of each kernel). */
typedef struct {
    hntk_cov S;        /* f's output covariance triple: Sigma^L */
    double theta_f;    /* Theta^f(x,x') = Theta^L */
    double lambda_h;   /* Lambda^H(u,u'): the hyper-NNGP */
    double theta_g;    /* Theta^g(u,u') */
    double theta_h;    /* Theta^h = Theta^f * Theta^g */
} hntk_limit;

/* f alone (depth 1 <= L <= HNTK_MAX_DEPTH; NaN outside) from the input triple
 * Sigma^1 = x.x'/n_0: S triple (Sigma^L) and Theta^f (off-diagonal entry). */
void hntk_limit_f(int L, hntk_cov sigma1, hntk_cov *S, double *theta_f);

/* Full hypernetwork limit for depths L, H (1..HNTK_MAX_DEPTH; NaN outside) from
 * the x-triple (x.x'/n_0) and the z-triple Shat^0 (z.z'/m_0, or the
 * Fourier-feature kernel). */
void hntk_limit_hyper(int L, int H, hntk_cov x_cov, hntk_cov z_cov, hntk_variant v, hntk_limit *out);

/* Limit of the Fourier-feature input kernel (unit diagonal): exp(-|z-z'|^2/(2 s^2)). */
double hntk_fourier_kernel(const double *z1, const double *z2, long dim, double scale);

/* Fourier features actually drawn, k of them (freq k x z_dim already divided
 * by s, phase k, as hntk_fourier_draw gives them):
 *   Phi (B, k), Phi_bi = sqrt(2) cos(w_i.z_b + b_i)   (g's input a^0, as the network computes it)
 *   Shat^0 (B, B) = Phi Phi^T / k                     (the input kernel of g for these features;
 *                                                      its diagonal is not 1 at finite k)
 * E over the draw of Shat^0 is the k -> infinity kernel hntk_fourier_kernel
 * (unit diagonal) exactly, for every k; the limits Theta^h and Lambda^H are
 * nonlinear in Shat^0 when H >= 2, so their expectation over the draw is not
 * the limit at the expected kernel (it is when H = 1). */
void hntk_fourier_features(long k, long z_dim, const double *freq, const double *phase, long B, const double *Z,
                           double *Phi);
void hntk_fourier_feature_gram(long k, long B, const double *Phi, double *Shat0);

/* Theta^h and Lambda^H (B x B, either may be NULL) as hntk_limit_batch, but with
 * an explicit input kernel of g: Kz (B x B, symmetric) in place of z.z'/m_0
 * (or of the k -> infinity Fourier kernel); Z and fourier_k are not used. */
int hntk_limit_batch_zgram(const hntk_hyper_arch *a, hntk_variant v, long B, const double *X, const double *Kz,
                           double *theta_h, double *lambda_h);

/* B x B matrices Theta^h and Lambda^H (either may be NULL) for a batch of inputs
 * X (B, x_dim), Z (B, z_dim), with the architecture's depths and Fourier option:
 * hntk_limit_cross of the batch with itself (upper triangle mirrored, exactly
 * symmetric; OpenMP over rows; non-finite inputs refused). */
int hntk_limit_batch(const hntk_hyper_arch *a, hntk_variant v, long B,
                     const double *X, const double *Z, double *theta_h, double *lambda_h);

/* ---- cross-kernels: two input sets (docs/theory.md §3-§4) ----
 *
 * Every kernel of §3 between the inputs u_i = (X1_i, Z1_i), i < B1, and
 * u'_j = (X2_j, Z2_j), j < B2, each a (B1, B2) row-major matrix; any output
 * pointer may be NULL (not computed):
 *   ntk     Theta^h(u_i, u'_j) = Theta^f Theta^g      (§3.4; the variant's backward factor, §3.5)
 *   nngp    Lambda^H(u_i, u'_j)                      (§3.3)
 *   f_ntk   Theta^f(x_i, x'_j)                       (§3.2)
 *   f_nngp  S(x_i, x'_j) = Sigma^L(x_i, x'_j)        (§3.2: f's NNGP, the covariance of its outputs)
 *   g_ntk   Theta^g(u_i, u'_j)                       (§3.4)
 * g's input kernel: z.z'/z_dim, or with a->fourier_k > 0 the k -> infinity
 * Fourier kernel exp(-|z - z'|^2/(2 s^2)) with unit diagonal (§4.1).  For the
 * kernel of features actually drawn (§4.2) pass the features themselves,
 * Phi = hntk_fourier_features(...) (B, k), as Z with z_dim = k and
 * fourier_k = 0: Phi.Phi'/k is then g's input kernel, bit for bit
 * hntk_fourier_feature_gram's.
 *
 * Each entry is the one-pair recursion of hntk_limit_hyper, the same bits:
 * with X2 = X1 and Z2 = Z1 (B2 = B1), ntk and nngp equal hntk_limit_batch's bit
 * for bit (and are then exactly symmetric; when X2 == X1 and Z2 == Z1 as
 * pointers only the upper triangle is computed and mirrored).  The diagonal
 * recursions k(u,u) are computed once per input, not per pair; the dot products
 * of a row are vectorized across the row (each one summed in input order);
 * OpenMP over rows: the result does not depend on the thread count.
 * Allocates (B1 + B2)(x_dim + z_dim + 2 H + 2 L) doubles once per call, never
 * per row or pair.  Validation as hntk_limit_batch (depths 1..HNTK_MAX_DEPTH,
 * dimensions, Fourier scale), B1, B2 >= 1; non-finite inputs are refused
 * (HNTK_EINVAL naming the array, the row and the column). */
typedef struct {
    double *ntk, *nngp, *f_ntk, *f_nngp, *g_ntk; /* (B1, B2) each, or NULL */
} hntk_cross_out;

int hntk_limit_cross(const hntk_hyper_arch *a, hntk_variant v, long B1, const double *X1, const double *Z1, long B2,
                     const double *X2, const double *Z2, const hntk_cross_out *out);

/* The reference of hntk_limit_cross for tests and the bench: the plain loop over
 * pairs, each entry by hntk_limit_hyper from its own dot products (no
 * precomputed diagonals, no vectorization, one thread).  The same arguments and
 * the same bits. */
int hntk_limit_cross_naive(const hntk_hyper_arch *a, hntk_variant v, long B1, const double *X1, const double *Z1,
                           long B2, const double *X2, const double *Z2, const hntk_cross_out *out);

/* ---- kernels on (x, z) pairs drawn from sets of distinct x's and z's (docs/theory.md §9.1) ----
 *
 * A set of B inputs u_i = (X[ix[i]], Z[iz[i]]) built from NX distinct x's
 * (X, (NX, x_dim)) and NZ distinct z's (Z, (NZ, z_dim)), e.g. images and the
 * pixel coordinates (or their Fourier features) read at each image. */
typedef struct {
    long NX;
    const double *X;
    long NZ;
    const double *Z;
    long B;
    const long *ix, *iz;
} hntk_indexed_set;

/* Every kernel of hntk_limit_cross between two such sets (s1 == s2 as
 * pointers: one set, the upper triangle mirrored), assembled the cheap way:
 * f's recursion (Theta^f, S) once per pair of distinct x's (NX1 x NX2), g's
 * input kernel once per pair of distinct z's (NZ1 x NZ2), and per pair of
 * inputs only g's recursion, combined entrywise (Theta^h = Theta^f Theta^g).
 * The same one-pair functions in the same order as hntk_limit_cross on the
 * expanded inputs, hence the same bits.  g's input kernel: z.z'/z_dim, or with
 * fourier_k > 0 the k -> infinity Fourier kernel of the raw z's; for drawn
 * features pass Phi as Z with fourier_k = 0 (as for hntk_limit_cross).
 * OpenMP over rows (thread-count independent).  Allocates
 * 2 NX1 NX2 + NZ1 NZ2 + (B1 + B2)(L + H) doubles once per call.  Indices out
 * of range and non-finite inputs are refused (HNTK_EINVAL, named). */
int hntk_limit_cross_indexed(const hntk_hyper_arch *a, hntk_variant v, const hntk_indexed_set *s1,
                             const hntk_indexed_set *s2, const hntk_cross_out *out);

#ifdef __cplusplus
}
#endif
#endif
