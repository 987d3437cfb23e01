/* analytic.c: the infinite-width limits in closed form (docs/theory.md §3-§4).
 *
 * Everything here is a short recursion over covariance triples
 * (k(u,u), k(u,u'), k(u',u')) driven by the two arc-cosine maps of
 * sigma = sqrt(2) relu.  Conventions:
 *
 *   - The angle between the two Gaussians is computed as
 *       t = atan2(sqrt(max(ab - c^2, 0)), c),
 *     never as acos(clip(c / sqrt(ab))): the acos form needs clipping as soon
 *     as rounding pushes the ratio past 1, and the clipped value biases the
 *     diagonal (D is not differentiable at rho = 1, so one ulp in rho moves D
 *     by ~1e-8).  ab - c^2 is evaluated with an FMA-compensated difference so
 *     that t is accurate to a few ulps even when c is within rounding of
 *     +-sqrt(ab).
 *   - For c < 0 the maps are written in terms of s = pi - t, computed directly
 *     as atan2(., -c), so that V ~ sqrt(ab) s^3 / (3 pi) and D = s / pi keep
 *     their full relative precision near c = -sqrt(ab).
 *   - a or b == 0 (a variable that is identically zero): V = 0 and D = 1/2.
 *     D there has no limit (it depends on the direction of approach); 1/2 is
 *     the limit along independent pairs (c = 0).  In every recursion of this
 *     file a zero-variance triple only ever multiplies a kernel entry that is
 *     itself zero, so Theta^f, Lambda^H and Theta^h do not depend on this
 *     choice (theta_g alone does, for the authors-code variant).
 *   - Negative or non-finite a or b, or a non-finite c, give NaN: they are
 *     not covariances, and a NaN makes the caller's bug visible.
 */
#include "hyperntk/analytic.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hyperntk/error.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---- arc-cosine maps ---------------------------------------------------- */

/* J(w) = sin w - w cos w for w in [0, pi/2].  For small w the two terms
 * cancel (J ~ w^3/3), so use the Taylor series
 *   J(w) = sum_{k>=1} (-1)^{k+1} 2k w^{2k+1} / (2k+1)!
 * below w = 1, where it converges to full precision in <= 10 terms. */
static double arccos_j(double w)
{
    if (w >= 1.0)
        return sin(w) - w * cos(w);
    const double w2 = w * w;
    double p = w * w2 / 6.0; /* w^{2k+1} / (2k+1)! at k = 1 */
    double sum = 0.0;
    for (int k = 1; k <= 30; k++) {
        const double term = 2.0 * k * p;
        sum += (k % 2) ? term : -term;
        if (term <= 0.25 * DBL_EPSILON * sum)
            break;
        p *= w2 / ((2.0 * k + 2.0) * (2.0 * k + 3.0));
    }
    return sum;
}

/* 2^e for -1022 <= e <= 1023, by its bits. */
static inline double pow2(int e)
{
    union { uint64_t u; double d; } x = {.u = (uint64_t)(e + 1023) << 52};
    return x.d;
}

/* frexp's exponent of a positive normal m: m = f 2^e, f in [0.5, 1). */
static inline int exponent_of(double m)
{
    union { double d; uint64_t u; } x = {.d = m};
    return (int)((x.u >> 52) & 0x7ff) - 1022;
}

/* ab - c^2 with the rounding errors of both products added back (FMA), so the
 * result is accurate even when the two products agree to many digits. */
static double gap_compensated(double a, double b, double c)
{
    const double p = a * b;
    const double ep = fma(a, b, -p);
    const double q = c * c;
    const double eq = fma(c, c, -q);
    return (p - q) + (ep - eq);
}

/* The shared part of V and D.  Returns 0 for an ordinary triple, 1 for the
 * degenerate a == 0 or b == 0, -1 for an invalid triple.  On 0 it sets
 *   *r = sqrt(ab) in the scaled units, *e = the binary exponent of the scale,
 *   *w = the acute angle atan2(sqrt(gap), |c|) in [0, pi/2], *neg = (c < 0).
 * The inputs are scaled by a power of two (exact) so that ab and c^2 neither
 * overflow nor underflow; V is then rescaled exactly, which keeps V
 * positively homogeneous to the last bit under powers of two. */
static int arccos_angle(double a, double b, double c, double *r, int *e, double *w, int *neg)
{
    if (!(a >= 0.0) || !(b >= 0.0) || !isfinite(a) || !isfinite(b) || !isfinite(c))
        return -1;
    if (a == 0.0 || b == 0.0)
        return 1;
    int ex;
    const double m = a > b ? a : b;
    if (m >= DBL_MIN && m < 0x1p1022) {
        /* frexp and ldexp by the bits: m = f 2^ex with f in [0.5, 1), and a
         * multiplication by 2^-ex, exact (or correctly rounded into the
         * subnormals), which is what ldexp returns: the same bits, without
         * four calls into libm (they were a sixth of the time of a pair). */
        ex = exponent_of(m);
        const double s = pow2(-ex);
        a *= s;
        b *= s;
        c *= s;
    } else {
        (void)frexp(m, &ex);
        a = ldexp(a, -ex);
        b = ldexp(b, -ex);
        c = ldexp(c, -ex);
    }
    const double gap = gap_compensated(a, b, c);
    const double y = sqrt(gap > 0.0 ? gap : 0.0);
    /* a == b: sqrt(a*a) == a exactly in binary floating point, but spelling it
     * out makes V(a,a,a) == a independent of that theorem. */
    *r = (a == b) ? a : sqrt(a * b);
    *e = ex;
    *neg = c < 0.0;
    *w = atan2(y, fabs(c));
    return 0;
}

/* V and D from one angle: both maps of the same triple cost one atan2.  The
 * values are those of the separate formulas bit for bit (the same operations). */
static void arccos_maps(double a, double b, double c, double *V, double *D)
{
    double r, w;
    int e, neg;
    const int status = arccos_angle(a, b, c, &r, &e, &w, &neg);
    if (status < 0) {
        *V = *D = NAN;
        return;
    }
    if (status > 0) {
        *V = 0.0;
        *D = 0.5; /* see the header comment of this file */
        return;
    }
    /* V: sin t + (pi - t) cos t = pi cos t + J(t)   with t = w   (c >= 0)
     *                           = J(s)             with s = w   (c < 0, s = pi - t)
     * The c >= 0 form gives exactly r at t = 0 (cos 0 = 1, J(0) = 0).
     * D: (pi - t)/pi = 1 - t/pi for c >= 0, = s/pi for c < 0 (no cancellation). */
    const double f = neg ? arccos_j(w) / M_PI : cos(w) + arccos_j(w) / M_PI;
    *V = (e >= -1021 && e <= 1022) ? (r * f) * pow2(e) : ldexp(r * f, e); /* ldexp's bits (see arccos_angle) */
    *D = neg ? w / M_PI : 1.0 - w / M_PI;
}

double hntk_arccos_value(double a, double b, double c)
{
    double V, D;
    arccos_maps(a, b, c, &V, &D);
    return V;
}

double hntk_arccos_deriv(double a, double b, double c)
{
    double r, w;
    int e, neg;
    const int status = arccos_angle(a, b, c, &r, &e, &w, &neg);
    if (status < 0)
        return NAN;
    if (status > 0)
        return 0.5;
    return neg ? w / M_PI : 1.0 - w / M_PI; /* as in arccos_maps */
}

/* ---- recursions ------------------------------------------------------- */

/* The recursions act on covariance triples (k(u,u), k(u,u'), k(u',u')).  The
 * diagonal entries of a triple evolve on their own (V(a,a,a) and products of
 * diagonals), so they are computed once per input (diag_chain) and the pair
 * recursion (f_pair, hyper_pair) carries only the off-diagonal entry.  Every
 * limit of this file -- one pair, a batch, two input sets -- goes through
 * these three functions. */

static const hntk_cov cov_nan = {NAN, NAN, NAN};

/* The diagonal recursions of one input u = (x, z) from xx = x.x/n_0 and
 * zz = Shat^0(z, z):
 *   sigma[l-1]  = Sigma^l(x, x),  Sigma^1 = xx, Sigma^{l+1} = V(Sigma^l)          l = 1..L
 *   lambda[l-1] = Lambda^l(u, u) = S(x,x) Shat^{l-1}(u,u), Shat^l = V(Lambda^l)   l = 1..H
 * (lambda may be NULL: f alone).  L, H in 1..HNTK_MAX_DEPTH. */
static void diag_chain(int L, int H, double xx, double zz, double *sigma, double *lambda)
{
    sigma[0] = xx;
    for (int l = 1; l < L; l++)
        sigma[l] = hntk_arccos_value(sigma[l - 1], sigma[l - 1], sigma[l - 1]);
    if (!lambda)
        return;
    const double s = sigma[L - 1];
    double shat = zz;
    lambda[0] = s * shat;
    for (int l = 1; l < H; l++) {
        shat = hntk_arccos_value(lambda[l - 1], lambda[l - 1], lambda[l - 1]);
        lambda[l] = s * shat;
    }
}

/* f for one pair (docs/theory.md §3.2), from the diagonal chains s1, s2 of the
 * two inputs and xy = x.x'/n_0:
 *   Sigma^{l+1} = V(Sigma^l),  Theta^{l+1} = Sigma^{l+1} + Theta^l D(Sigma^l).
 * Returns S(x,x') = Sigma^L(x,x'); *theta_f = Theta^L(x,x'). */
static double f_pair(int L, const double *s1, const double *s2, double xy, double *theta_f)
{
    double sigma = xy, theta = xy;
    for (int l = 1; l < L; l++) {
        double V, D;
        arccos_maps(s1[l - 1], s2[l - 1], sigma, &V, &D);
        theta = V + theta * D;
        sigma = V;
    }
    *theta_f = theta;
    return sigma;
}

/* g's half of one pair (docs/theory.md §3.3-§3.5), from the diagonal chains
 * l1, l2 (Lambda^l(u,u), Lambda^l(u',u')), S = S(x,x') and zw = Shat^0(z,z'):
 * *lambda = Lambda^H(u,u'), *g = Theta^g(u,u') (the recursion below). */
static void g_pair(int H, const double *l1, const double *l2, double S, double zw, hntk_variant v, double *lambda_out,
                   double *g_out)
{
    const double s_back = (v == HNTK_VARIANT_PAPER) ? S : 1.0;
    double shat = zw;          /* Shat^{l-1}(u,u') */
    double lambda = S * shat;  /* Lambda^l(u,u'), l = 1 */
    double g = shat;           /* G_l */
    for (int l = 1; l < H; l++) {
        double V, D;
        arccos_maps(l1[l - 1], l2[l - 1], lambda, &V, &D);
        shat = V;
        g = shat + g * s_back * D;
        lambda = S * shat;
    }
    *lambda_out = lambda;
    *g_out = g;
}

/* The whole hypernetwork for one pair (docs/theory.md §3.3-§3.5), from the
 * diagonal chains of both inputs, xy = x.x'/n_0 and zw = Shat^0(z, z').
 * Forward: Lambda^l = S * Shat^{l-1}, Shat^l = V(Lambda^l).
 * Backward sum, accumulated forward in Horner form:
 *   G_1 = Shat^0,  G_{l+1} = Shat^l + G_l * S(x,x') * D(Lambda^l)
 * so that G_H = sum_{l=1..H} Shat^{l-1} prod_{j=l..H-1} [S(x,x') D(Lambda^j)]
 * (§3.4).  The authors-code variant (§3.5) drops S(x,x') from the backward
 * factor only; the forward pass is the same. */
static void hyper_pair(int L, int H, const double *s1, const double *l1, const double *s2, const double *l2,
                       double xy, double zw, hntk_variant v, hntk_limit *out)
{
    double theta_f, lambda, g;
    const double S = f_pair(L, s1, s2, xy, &theta_f);
    g_pair(H, l1, l2, S, zw, v, &lambda, &g);
    out->S = (hntk_cov){s1[L - 1], S, s2[L - 1]};
    out->theta_f = theta_f;
    out->lambda_h = lambda;
    out->theta_g = g;
    out->theta_h = theta_f * g;
}

/* L < 1 (or above HNTK_MAX_DEPTH) is outside the contract; the outputs are
 * then NaN (a void function has no other way to say so).  Either output
 * pointer may be NULL. */
void hntk_limit_f(int L, hntk_cov sigma1, hntk_cov *S, double *theta_f)
{
    hntk_cov sig = cov_nan;
    double theta = NAN;
    if (L >= 1 && L <= HNTK_MAX_DEPTH) {
        double s1[HNTK_MAX_DEPTH], s2[HNTK_MAX_DEPTH];
        diag_chain(L, 1, sigma1.aa, 0.0, s1, NULL);
        diag_chain(L, 1, sigma1.bb, 0.0, s2, NULL);
        sig.ab = f_pair(L, s1, s2, sigma1.ab, &theta);
        sig.aa = s1[L - 1];
        sig.bb = s2[L - 1];
    }
    if (S)
        *S = sig;
    if (theta_f)
        *theta_f = theta;
}

void hntk_limit_hyper(int L, int H, hntk_cov x_cov, hntk_cov z_cov, hntk_variant v, hntk_limit *out)
{
    if (!out)
        return;
    if (L < 1 || H < 1 || L > HNTK_MAX_DEPTH || H > HNTK_MAX_DEPTH ||
        (v != HNTK_VARIANT_PAPER && v != HNTK_VARIANT_AUTHORS_CODE)) {
        out->S = cov_nan;
        out->theta_f = out->lambda_h = out->theta_g = out->theta_h = NAN;
        return;
    }
    double s1[HNTK_MAX_DEPTH], s2[HNTK_MAX_DEPTH], l1[HNTK_MAX_DEPTH], l2[HNTK_MAX_DEPTH];
    diag_chain(L, H, x_cov.aa, z_cov.aa, s1, l1);
    diag_chain(L, H, x_cov.bb, z_cov.bb, s2, l2);
    hyper_pair(L, H, s1, l1, s2, l2, x_cov.ab, z_cov.ab, v, out);
}

/* ---- Fourier features --------------------------------------------------- */

/* exp(-|z1 - z2|^2 / (2 s^2)).  scale must be positive and finite and dim
 * non-negative; otherwise (or with NULL vectors) the result is NaN. */
double hntk_fourier_kernel(const double *z1, const double *z2, long dim, double scale)
{
    if (!z1 || !z2 || dim < 0 || !(scale > 0.0) || !isfinite(scale))
        return NAN;
    double d2 = 0.0;
    for (long i = 0; i < dim; i++) {
        const double d = z1[i] - z2[i];
        d2 += d * d;
    }
    return exp(-d2 / (2.0 * scale * scale));
}

void hntk_fourier_features(long k, long z_dim, const double *freq, const double *phase, long B, const double *Z,
                           double *Phi)
{
    const double sqrt2 = 1.41421356237309504880;
    for (long b = 0; b < B; b++) {
        const double *z = Z + (size_t)b * (size_t)z_dim;
        for (long i = 0; i < k; i++) {
            const double *w = freq + (size_t)i * (size_t)z_dim;
            double t = phase[i]; /* the order of net.c's g_input: the same bits */
            for (long j = 0; j < z_dim; j++)
                t += w[j] * z[j];
            Phi[(size_t)b * (size_t)k + (size_t)i] = sqrt2 * cos(t);
        }
    }
}

void hntk_fourier_feature_gram(long k, long B, const double *Phi, double *Shat0)
{
    for (long b = 0; b < B; b++)
        for (long c = b; c < B; c++) {
            const double *p = Phi + (size_t)b * (size_t)k, *q = Phi + (size_t)c * (size_t)k;
            double s = 0.0;
            for (long i = 0; i < k; i++)
                s += p[i] * q[i];
            Shat0[(size_t)b * (size_t)B + (size_t)c] = Shat0[(size_t)c * (size_t)B + (size_t)b] = s / (double)k;
        }
}

/* ---- batches ------------------------------------------------------------ */

static double dot(const double *p, const double *q, long n)
{
    double s = 0.0;
    for (long i = 0; i < n; i++)
        s += p[i] * q[i];
    return s;
}

static int check_batch_args(const char *who, const hntk_hyper_arch *a, hntk_variant v, long B, const double *X,
                            const double *Z)
{
    if (!a)
        return hntk_fail(HNTK_EINVAL, "%s: architecture is NULL", who);
    if (v != HNTK_VARIANT_PAPER && v != HNTK_VARIANT_AUTHORS_CODE)
        return hntk_fail(HNTK_EINVAL,
                         "%s: variant = %d, accepted: %d (paper) or %d (authors-code)", who,
                         (int)v, (int)HNTK_VARIANT_PAPER, (int)HNTK_VARIANT_AUTHORS_CODE);
    if (a->g_out > 1 || a->bias_scale != 0) return hntk_arch_require_theory(a, who);
    if (a->f_depth < 1 || a->f_depth > HNTK_MAX_DEPTH)
        return hntk_fail(HNTK_EINVAL, "%s: f_depth = %d, accepted range [1, %d]", who,
                         a->f_depth, HNTK_MAX_DEPTH);
    if (a->g_depth < 1 || a->g_depth > HNTK_MAX_DEPTH)
        return hntk_fail(HNTK_EINVAL, "%s: g_depth = %d, accepted range [1, %d]", who,
                         a->g_depth, HNTK_MAX_DEPTH);
    if (a->x_dim < 1 || a->x_dim > HNTK_MAX_DIM)
        return hntk_fail(HNTK_EINVAL, "%s: x_dim = %ld, accepted range [1, %ld]", who,
                         a->x_dim, HNTK_MAX_DIM);
    if (a->z_dim < 1 || a->z_dim > HNTK_MAX_DIM)
        return hntk_fail(HNTK_EINVAL, "%s: z_dim = %ld, accepted range [1, %ld]", who,
                         a->z_dim, HNTK_MAX_DIM);
    if (a->fourier_k < 0)
        return hntk_fail(HNTK_EINVAL,
                         "%s: fourier_k = %ld, accepted: 0 (raw z) or >= 1", who,
                         a->fourier_k);
    if (a->fourier_k > 0 && (!(a->fourier_scale > 0.0) || !isfinite(a->fourier_scale)))
        return hntk_fail(HNTK_EINVAL,
                         "%s: fourier_scale = %g, accepted: finite and > 0", who,
                         a->fourier_scale);
    if (B < 1)
        return hntk_fail(HNTK_EINVAL, "%s: B = %ld, accepted range B >= 1", who, B);
    /* B*B entries per output, B*x_dim and B*z_dim inputs: all must be
     * addressable. */
    const long max_elems = (long)(PTRDIFF_MAX / (long)sizeof(double));
    if (B > max_elems / B || B > max_elems / a->x_dim || B > max_elems / a->z_dim)
        return hntk_fail(HNTK_EINVAL,
                         "%s: B = %ld too large for x_dim = %ld, z_dim = %ld "
                         "(B*B, B*x_dim and B*z_dim must be at most %ld)", who,
                         B, a->x_dim, a->z_dim, max_elems);
    if (!X)
        return hntk_fail(HNTK_EINVAL, "%s: X is NULL, accepted: a (B, x_dim) array", who);
    if (!Z)
        return hntk_fail(HNTK_EINVAL, "%s: Z is NULL, accepted: a (B, z_dim) array", who);
    return HNTK_OK;
}

/* ---- two input sets ----------------------------------------------------- */

/* Columns of a row handled at once: their dot products are vectorized across
 * the block (each one summed over the input's coordinates in order, so the same
 * bits as dot()). */
enum { CROSS_BLOCK = 256 };

static int check_finite(const char *who, const char *name, long B, long dim, const double *M)
{
    for (long i = 0; i < B; i++)
        for (long d = 0; d < dim; d++)
            if (!isfinite(M[(size_t)i * (size_t)dim + (size_t)d]))
                return hntk_fail(HNTK_EINVAL, "%s: %s[%ld, %ld] = %g, accepted: finite values", who, name, i, d,
                                 M[(size_t)i * (size_t)dim + (size_t)d]);
    return HNTK_OK;
}

/* out[j] = M_j . p / n for the nj rows j of M (B2, dim) from jb on, through the
 * transpose MT (dim, B2). */
static void block_dots(const double *p, const double *MT, long dim, long B2, long jb, long nj, double *out)
{
    for (long jj = 0; jj < nj; jj++)
        out[jj] = 0.0;
    for (long d = 0; d < dim; d++) {
        const double pd = p[d];
        const double *col = MT + (size_t)d * (size_t)B2 + (size_t)jb;
        for (long jj = 0; jj < nj; jj++)
            out[jj] += pd * col[jj];
    }
    for (long jj = 0; jj < nj; jj++)
        out[jj] /= (double)dim;
}

static void transpose(const double *M, long B, long dim, double *MT)
{
    for (long i = 0; i < B; i++)
        for (long d = 0; d < dim; d++)
            MT[(size_t)d * (size_t)B + (size_t)i] = M[(size_t)i * (size_t)dim + (size_t)d];
}

static void store(double *M, long B2, long i, long j, int mirror, double value)
{
    if (!M)
        return;
    M[(size_t)i * (size_t)B2 + (size_t)j] = value;
    if (mirror)
        M[(size_t)j * (size_t)B2 + (size_t)i] = value;
}

static int cross_args(const char *who, const hntk_hyper_arch *a, hntk_variant v, long B1, const double *X1,
                      const double *Z1, long B2, const double *X2, const double *Z2)
{
    int st = check_batch_args(who, a, v, B1, X1, Z1);
    if (st == HNTK_OK && (X2 != X1 || Z2 != Z1 || B2 != B1)) {
        if (B2 < 1)
            return hntk_fail(HNTK_EINVAL, "%s: B2 = %ld, accepted range B2 >= 1", who, B2);
        st = check_batch_args(who, a, v, B2, X2, Z2);
    }
    if (st)
        return st;
    const long max_elems = (long)(PTRDIFF_MAX / (long)sizeof(double));
    if (B1 > max_elems / B2)
        return hntk_fail(HNTK_EINVAL, "%s: B1 x B2 = %ld x %ld entries per output, accepted at most %ld", who, B1,
                         B2, max_elems);
    st = check_finite(who, "X1", B1, a->x_dim, X1);
    if (!st) st = check_finite(who, "Z1", B1, a->z_dim, Z1);
    if (!st && X2 != X1) st = check_finite(who, "X2", B2, a->x_dim, X2);
    if (!st && Z2 != Z1) st = check_finite(who, "Z2", B2, a->z_dim, Z2);
    return st;
}

static int cross_run(const char *who, const hntk_hyper_arch *a, hntk_variant v, long B1, const double *X1,
                     const double *Z1, long B2, const double *X2, const double *Z2, const hntk_cross_out *o)
{
    int st = cross_args(who, a, v, B1, X1, Z1, B2, X2, Z2);
    if (st)
        return st;
    if (!o || (!o->ntk && !o->nngp && !o->f_ntk && !o->f_nngp && !o->g_ntk))
        return HNTK_OK;
    const int L = a->f_depth, H = a->g_depth;
    const long n0 = a->x_dim, m0 = a->z_dim, chain = L + H;
    const int fourier = a->fourier_k > 0;
    const int sym = X2 == X1 && Z2 == Z1 && B2 == B1; /* one set: the upper triangle, mirrored */
    const int need_g = o->ntk || o->nngp || o->g_ntk;
    /* Workspace: the diagonal chains of every input, the transposes of the second set. */
    const size_t n_diag = (size_t)(B1 + (sym ? 0 : B2)) * (size_t)chain;
    const size_t n_t = (size_t)B2 * (size_t)n0 + (fourier ? 0 : (size_t)B2 * (size_t)m0);
    double *ws = malloc(sizeof(double) * (n_diag + n_t));
    if (!ws)
        return hntk_fail(HNTK_ENOMEM, "%s: cannot allocate the workspace of %zu doubles", who, n_diag + n_t);
    double *diag1 = ws, *diag2 = sym ? diag1 : diag1 + (size_t)B1 * (size_t)chain;
    double *XT = ws + n_diag, *ZT = fourier ? NULL : XT + (size_t)B2 * (size_t)n0;
    /* diag[i*chain .. +L): Sigma^l(x_i, x_i); then H entries Lambda^l(u_i, u_i) */
    for (int set = 0; set < (sym ? 1 : 2); set++) {
        const long B = set ? B2 : B1;
        const double *X = set ? X2 : X1, *Z = set ? Z2 : Z1;
        double *dg = set ? diag2 : diag1;
        for (long i = 0; i < B; i++) {
            const double *xi = X + (size_t)i * (size_t)n0, *zi = Z + (size_t)i * (size_t)m0;
            const double zz = fourier ? 1.0 : dot(zi, zi, m0) / (double)m0;
            diag_chain(L, H, dot(xi, xi, n0) / (double)n0, zz, dg + (size_t)i * (size_t)chain,
                       dg + (size_t)i * (size_t)chain + L);
        }
    }
    transpose(X2, B2, n0, XT);
    if (ZT)
        transpose(Z2, B2, m0, ZT);

#pragma omp parallel for schedule(dynamic, 1)
    for (long i = 0; i < B1; i++) {
        double xy[CROSS_BLOCK], zw[CROSS_BLOCK];
        const double *xi = X1 + (size_t)i * (size_t)n0, *zi = Z1 + (size_t)i * (size_t)m0;
        const double *s1 = diag1 + (size_t)i * (size_t)chain, *l1 = s1 + L;
        for (long jb = sym ? i : 0; jb < B2; jb += CROSS_BLOCK) {
            const long nj = B2 - jb < CROSS_BLOCK ? B2 - jb : CROSS_BLOCK;
            block_dots(xi, XT, n0, B2, jb, nj, xy);
            if (need_g) {
                if (fourier)
                    for (long jj = 0; jj < nj; jj++)
                        zw[jj] = hntk_fourier_kernel(zi, Z2 + (size_t)(jb + jj) * (size_t)m0, m0, a->fourier_scale);
                else
                    block_dots(zi, ZT, m0, B2, jb, nj, zw);
            }
            for (long jj = 0; jj < nj; jj++) {
                const long j = jb + jj;
                const int mirror = sym && j != i;
                const double *s2 = diag2 + (size_t)j * (size_t)chain, *l2 = s2 + L;
                if (!need_g) {
                    double tf;
                    const double S = f_pair(L, s1, s2, xy[jj], &tf);
                    store(o->f_ntk, B2, i, j, mirror, tf);
                    store(o->f_nngp, B2, i, j, mirror, S);
                    continue;
                }
                hntk_limit lim;
                hyper_pair(L, H, s1, l1, s2, l2, xy[jj], zw[jj], v, &lim);
                store(o->ntk, B2, i, j, mirror, lim.theta_h);
                store(o->nngp, B2, i, j, mirror, lim.lambda_h);
                store(o->f_ntk, B2, i, j, mirror, lim.theta_f);
                store(o->f_nngp, B2, i, j, mirror, lim.S.ab);
                store(o->g_ntk, B2, i, j, mirror, lim.theta_g);
            }
        }
    }
    free(ws);
    return HNTK_OK;
}

int hntk_limit_cross(const hntk_hyper_arch *a, hntk_variant v, long B1, const double *X1, const double *Z1, long B2,
                     const double *X2, const double *Z2, const hntk_cross_out *out)
{
    return cross_run("hntk_limit_cross", a, v, B1, X1, Z1, B2, X2, Z2, out);
}

int hntk_limit_cross_naive(const hntk_hyper_arch *a, hntk_variant v, long B1, const double *X1, const double *Z1,
                           long B2, const double *X2, const double *Z2, const hntk_cross_out *o)
{
    int st = cross_args("hntk_limit_cross_naive", a, v, B1, X1, Z1, B2, X2, Z2);
    if (st || !o)
        return st;
    const long n0 = a->x_dim, m0 = a->z_dim;
    const int fourier = a->fourier_k > 0;
    for (long i = 0; i < B1; i++)
        for (long j = 0; j < B2; j++) {
            const double *xi = X1 + (size_t)i * (size_t)n0, *xj = X2 + (size_t)j * (size_t)n0;
            const double *zi = Z1 + (size_t)i * (size_t)m0, *zj = Z2 + (size_t)j * (size_t)m0;
            hntk_cov xc = {dot(xi, xi, n0) / (double)n0, dot(xi, xj, n0) / (double)n0, dot(xj, xj, n0) / (double)n0};
            hntk_cov zc = {1.0, 0.0, 1.0};
            if (fourier)
                zc.ab = hntk_fourier_kernel(zi, zj, m0, a->fourier_scale);
            else
                zc = (hntk_cov){dot(zi, zi, m0) / (double)m0, dot(zi, zj, m0) / (double)m0,
                                dot(zj, zj, m0) / (double)m0};
            hntk_limit lim;
            hntk_limit_hyper(a->f_depth, a->g_depth, xc, zc, v, &lim);
            store(o->ntk, B2, i, j, 0, lim.theta_h);
            store(o->nngp, B2, i, j, 0, lim.lambda_h);
            store(o->f_ntk, B2, i, j, 0, lim.theta_f);
            store(o->f_nngp, B2, i, j, 0, lim.S.ab);
            store(o->g_ntk, B2, i, j, 0, lim.theta_g);
        }
    return HNTK_OK;
}

/* One set: the cross-kernel of the batch with itself (the upper triangle,
 * mirrored: exactly symmetric). */
int hntk_limit_batch(const hntk_hyper_arch *a, hntk_variant v, long B, const double *X,
                     const double *Z, double *theta_h, double *lambda_h)
{
    const hntk_cross_out o = {.ntk = theta_h, .nngp = lambda_h};
    return cross_run("hntk_limit_batch", a, v, B, X, Z, B, X, Z, &o);
}

int hntk_limit_batch_zgram(const hntk_hyper_arch *a, hntk_variant v, long B, const double *X, const double *Kz,
                           double *theta_h, double *lambda_h)
{
    if (!Kz)
        return hntk_fail(HNTK_EINVAL, "hntk_limit_batch_zgram: Kz is NULL, accepted: a (B, B) array");
    /* The checks of hntk_limit_batch, with a raw z of dimension 1 (unused). */
    hntk_hyper_arch plain = a ? *a : (hntk_hyper_arch){0};
    plain.fourier_k = 0;
    plain.z_dim = 1;
    const int status = check_batch_args("hntk_limit_batch", a ? &plain : NULL, v, B, X, Kz);
    if (status != HNTK_OK)
        return status;
    const long n0 = a->x_dim;
    for (long i = 0; i < B; i++) {
        const double *xi = X + (size_t)i * (size_t)n0;
        const double xii = dot(xi, xi, n0) / (double)n0;
        for (long j = i; j < B; j++) {
            const double *xj = X + (size_t)j * (size_t)n0;
            const size_t ij = (size_t)i * (size_t)B + (size_t)j;
            const size_t ji = (size_t)j * (size_t)B + (size_t)i;
            hntk_cov xc = {xii, dot(xi, xj, n0) / (double)n0, dot(xj, xj, n0) / (double)n0};
            hntk_cov zc = {Kz[(size_t)i * (size_t)B + (size_t)i], Kz[ij], Kz[(size_t)j * (size_t)B + (size_t)j]};
            hntk_limit lim;
            hntk_limit_hyper(a->f_depth, a->g_depth, xc, zc, v, &lim);
            if (theta_h)
                theta_h[ij] = theta_h[ji] = lim.theta_h;
            if (lambda_h)
                lambda_h[ij] = lambda_h[ji] = lim.lambda_h;
        }
    }
    return HNTK_OK;
}

/* ---- variant names ------------------------------------------------------ */

const char *hntk_variant_name(hntk_variant v)
{
    switch (v) {
    case HNTK_VARIANT_PAPER: return "paper";
    case HNTK_VARIANT_AUTHORS_CODE: return "authors-code";
    default: return "unknown";
    }
}

int hntk_variant_parse(const char *s, hntk_variant *v)
{
    if (!v)
        return hntk_fail(HNTK_EINVAL, "hntk_variant_parse: output pointer is NULL");
    if (s && strcmp(s, "paper") == 0) {
        *v = HNTK_VARIANT_PAPER;
        return HNTK_OK;
    }
    if (s && strcmp(s, "authors-code") == 0) {
        *v = HNTK_VARIANT_AUTHORS_CODE;
        return HNTK_OK;
    }
    return hntk_fail(HNTK_EINVAL, "kernel variant '%s' unknown, accepted: 'paper' or 'authors-code'",
                     s ? s : "(null)");
}

/* ---- kernels on (x, z) pairs indexed into sets of distinct x's and z's (§9.1) ---- */

static int check_index(const char *who, const char *name, long B, const long *idx, long n)
{
    if (!idx)
        return hntk_fail(HNTK_EINVAL, "%s: %s is NULL, accepted: %ld indices", who, name, B);
    for (long i = 0; i < B; i++)
        if (idx[i] < 0 || idx[i] >= n)
            return hntk_fail(HNTK_EINVAL, "%s: %s[%ld] = %ld, accepted range [0, %ld]", who, name, i, idx[i], n - 1);
    return HNTK_OK;
}

int hntk_limit_cross_indexed(const hntk_hyper_arch *a, hntk_variant v, const hntk_indexed_set *s1,
                             const hntk_indexed_set *s2, const hntk_cross_out *o)
{
    static const char *who = "hntk_limit_cross_indexed";
    if (!s1 || !s2)
        return hntk_fail(HNTK_EINVAL, "%s: an input set is NULL", who);
    const int sym = s1 == s2;
    int st = HNTK_OK;
    for (int k = 0; k < (sym ? 1 : 2) && !st; k++) {
        const hntk_indexed_set *s = k ? s2 : s1;
        if (s->NX < 1 || s->NZ < 1 || s->B < 1)
            return hntk_fail(HNTK_EINVAL, "%s: set %d has NX = %ld, NZ = %ld, B = %ld, accepted: all >= 1", who,
                             k + 1, s->NX, s->NZ, s->B);
        st = check_batch_args(who, a, v, s->NX, s->X, s->X);
        if (!st) st = check_batch_args(who, a, v, s->NZ, s->Z, s->Z);
        if (!st) st = check_finite(who, k ? "X2" : "X1", s->NX, a->x_dim, s->X);
        if (!st) st = check_finite(who, k ? "Z2" : "Z1", s->NZ, a->z_dim, s->Z);
        if (!st) st = check_index(who, k ? "ix2" : "ix1", s->B, s->ix, s->NX);
        if (!st) st = check_index(who, k ? "iz2" : "iz1", s->B, s->iz, s->NZ);
    }
    if (st)
        return st;
    const long max_elems = (long)(PTRDIFF_MAX / (long)sizeof(double));
    if (s1->B > max_elems / s2->B || s1->NX > max_elems / s2->NX || s1->NZ > max_elems / s2->NZ)
        return hntk_fail(HNTK_EINVAL, "%s: B1 x B2 = %ld x %ld entries too many", who, s1->B, s2->B);
    if (!o || (!o->ntk && !o->nngp && !o->f_ntk && !o->f_nngp && !o->g_ntk))
        return HNTK_OK;
    const int L = a->f_depth, H = a->g_depth, fourier = a->fourier_k > 0;
    const long n0 = a->x_dim, m0 = a->z_dim, NX1 = s1->NX, NX2 = s2->NX, NZ1 = s1->NZ, NZ2 = s2->NZ;
    const long B1 = s1->B, B2 = s2->B;
    /* workspace: Theta^f and S of every x pair, Shat^0 of every z pair, the diagonal chains of every input */
    const size_t nfx = (size_t)NX1 * (size_t)NX2, nz = (size_t)NZ1 * (size_t)NZ2;
    const size_t nd = (size_t)(B1 + (sym ? 0 : B2)) * (size_t)(L + H), nsx = (size_t)(NX1 + NX2) * (size_t)L;
    double *ws = malloc(sizeof(double) * (2 * nfx + nz + nd + nsx));
    if (!ws)
        return hntk_fail(HNTK_ENOMEM, "%s: cannot allocate the workspace of %zu doubles", who,
                         2 * nfx + nz + nd + nsx);
    double *TF = ws, *SF = ws + nfx, *KZ = SF + nfx, *diag1 = KZ + nz;
    double *diag2 = sym ? diag1 : diag1 + (size_t)B1 * (size_t)(L + H);
    double *sx1 = ws + 2 * nfx + nz + nd, *sx2 = sx1 + (size_t)NX1 * (size_t)L;
    for (long p = 0; p < NX1; p++) {
        const double *xp = s1->X + (size_t)p * (size_t)n0;
        diag_chain(L, 1, dot(xp, xp, n0) / (double)n0, 0.0, sx1 + (size_t)p * (size_t)L, NULL);
    }
    for (long q = 0; q < NX2; q++) {
        const double *xq = s2->X + (size_t)q * (size_t)n0;
        diag_chain(L, 1, dot(xq, xq, n0) / (double)n0, 0.0, sx2 + (size_t)q * (size_t)L, NULL);
    }
    const long chain = L + H;
    /* Every input's diagonal chain from its own x.x/n_0 and Shat^0(z,z), as cross_run computes it. */
    for (int k = 0; k < (sym ? 1 : 2); k++) {
        const hntk_indexed_set *s = k ? s2 : s1;
        double *dg = k ? diag2 : diag1;
        for (long i = 0; i < s->B; i++) {
            const double *xi = s->X + (size_t)s->ix[i] * (size_t)n0, *zi = s->Z + (size_t)s->iz[i] * (size_t)m0;
            const double zz = fourier ? 1.0 : dot(zi, zi, m0) / (double)m0;
            diag_chain(L, H, dot(xi, xi, n0) / (double)n0, zz, dg + (size_t)i * (size_t)chain,
                       dg + (size_t)i * (size_t)chain + L);
        }
    }
    /* f once per pair of distinct x's, g's input kernel once per pair of distinct z's */
#pragma omp parallel for schedule(dynamic, 1)
    for (long p = 0; p < NX1; p++) {
        const double *xp = s1->X + (size_t)p * (size_t)n0, *sp = sx1 + (size_t)p * (size_t)L;
        for (long q = 0; q < NX2; q++) {
            const double *xq = s2->X + (size_t)q * (size_t)n0, *sq = sx2 + (size_t)q * (size_t)L;
            SF[(size_t)p * (size_t)NX2 + (size_t)q] =
                f_pair(L, sp, sq, dot(xp, xq, n0) / (double)n0, &TF[(size_t)p * (size_t)NX2 + (size_t)q]);
        }
    }
    for (long p = 0; p < NZ1; p++)
        for (long q = 0; q < NZ2; q++) {
            const double *zp = s1->Z + (size_t)p * (size_t)m0, *zq = s2->Z + (size_t)q * (size_t)m0;
            KZ[(size_t)p * (size_t)NZ2 + (size_t)q] =
                fourier ? hntk_fourier_kernel(zp, zq, m0, a->fourier_scale) : dot(zp, zq, m0) / (double)m0;
        }
    /* g's recursion per pair of inputs, combined entrywise with the f part */
#pragma omp parallel for schedule(dynamic, 16)
    for (long i = 0; i < B1; i++) {
        const double *l1 = diag1 + (size_t)i * (size_t)chain + L;
        const double *tf = TF + (size_t)s1->ix[i] * (size_t)NX2, *sf = SF + (size_t)s1->ix[i] * (size_t)NX2;
        const double *kz = KZ + (size_t)s1->iz[i] * (size_t)NZ2;
        for (long j = sym ? i : 0; j < B2; j++) {
            const int mirror = sym && j != i;
            const double *l2 = diag2 + (size_t)j * (size_t)chain + L;
            const double S = sf[s2->ix[j]], theta_f = tf[s2->ix[j]];
            double lambda, g;
            g_pair(H, l1, l2, S, kz[s2->iz[j]], v, &lambda, &g);
            store(o->ntk, B2, i, j, mirror, theta_f * g);
            store(o->nngp, B2, i, j, mirror, lambda);
            store(o->f_ntk, B2, i, j, mirror, theta_f);
            store(o->f_nngp, B2, i, j, mirror, S);
            store(o->g_ntk, B2, i, j, mirror, g);
        }
    }
    free(ws);
    return HNTK_OK;
}
