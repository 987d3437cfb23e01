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
    (void)frexp(a > b ? a : b, &ex);
    a = ldexp(a, -ex);
    b = ldexp(b, -ex);
    c = ldexp(c, -ex);
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

double hntk_arccos_value(double a, double b, double c)
{
    double r, w;
    int e, neg;
    const int status = arccos_angle(a, b, c, &r, &e, &w, &neg);
    if (status < 0)
        return NAN;
    if (status > 0)
        return 0.0;
    /* sin t + (pi - t) cos t = pi cos t + J(t)   with t = w   (c >= 0)
     *                        = J(s)             with s = w   (c < 0, s = pi - t)
     * The c >= 0 form gives exactly r at t = 0 (cos 0 = 1, J(0) = 0). */
    const double f = neg ? arccos_j(w) / M_PI : cos(w) + arccos_j(w) / M_PI;
    return ldexp(r * f, e);
}

double hntk_arccos_deriv(double a, double b, double c)
{
    double r, w;
    int e, neg;
    const int status = arccos_angle(a, b, c, &r, &e, &w, &neg);
    if (status < 0)
        return NAN;
    if (status > 0)
        return 0.5; /* see the header comment of this file */
    /* (pi - t)/pi: = 1 - t/pi for c >= 0, = s/pi for c < 0 (no cancellation). */
    return neg ? w / M_PI : 1.0 - w / M_PI;
}

/* ---- recursions ------------------------------------------------------- */

/* V applied to each entry of a triple: the diagonals see V(a,a,a) (= a), the
 * off-diagonal V(aa, bb, ab). */
static hntk_cov cov_value(hntk_cov k)
{
    hntk_cov out;
    out.aa = hntk_arccos_value(k.aa, k.aa, k.aa);
    out.ab = hntk_arccos_value(k.aa, k.bb, k.ab);
    out.bb = hntk_arccos_value(k.bb, k.bb, k.bb);
    return out;
}

static double cov_deriv(hntk_cov k) { return hntk_arccos_deriv(k.aa, k.bb, k.ab); }

/* Entrywise product of two triples (Lambda = S * Shat). */
static hntk_cov cov_mul(hntk_cov s, hntk_cov t)
{
    hntk_cov out = {s.aa * t.aa, s.ab * t.ab, s.bb * t.bb};
    return out;
}

static const hntk_cov cov_nan = {NAN, NAN, NAN};

/* Sigma^{l+1} = V(Sigma^l), Theta^{l+1} = Sigma^{l+1} + Theta^l D(Sigma^l).
 * Either output pointer may be NULL.  L < 1 is outside the contract; the
 * outputs are then NaN (a void function has no other way to say so). */
void hntk_limit_f(int L, hntk_cov sigma1, hntk_cov *S, double *theta_f)
{
    hntk_cov sigma = sigma1;
    double theta = sigma1.ab;
    if (L < 1) {
        sigma = cov_nan;
        theta = NAN;
    }
    for (int l = 1; l < L; l++) {
        const double d = cov_deriv(sigma);
        sigma = cov_value(sigma);
        theta = sigma.ab + theta * d;
    }
    if (S)
        *S = sigma;
    if (theta_f)
        *theta_f = theta;
}

/* Forward: Lambda^l = S * Shat^{l-1}, Shat^l = V(Lambda^l).
 * Backward sum, accumulated forward in Horner form:
 *   G_1 = Shat^0,  G_{l+1} = Shat^l + G_l * S(x,x') * D(Lambda^l)
 * so that G_H = sum_{l=1..H} Shat^{l-1} prod_{j=l..H-1} [S(x,x') D(Lambda^j)]
 * (docs/theory.md §3.4).  The authors-code variant (§3.5) drops S(x,x') from the
 * backward factor only; the forward pass is the same. */
void hntk_limit_hyper(int L, int H, hntk_cov x_cov, hntk_cov z_cov, hntk_variant v, hntk_limit *out)
{
    if (!out)
        return;
    if (L < 1 || H < 1 || (v != HNTK_VARIANT_PAPER && v != HNTK_VARIANT_AUTHORS_CODE)) {
        out->S = cov_nan;
        out->theta_f = out->lambda_h = out->theta_g = out->theta_h = NAN;
        return;
    }
    hntk_cov S;
    double theta_f;
    hntk_limit_f(L, x_cov, &S, &theta_f);
    const double s_back = (v == HNTK_VARIANT_PAPER) ? S.ab : 1.0;

    hntk_cov shat = z_cov;                /* Shat^{l-1} */
    hntk_cov lambda = cov_mul(S, shat);   /* Lambda^l, l = 1 */
    double g = shat.ab;                   /* G_l */
    for (int l = 1; l < H; l++) {
        const double d = cov_deriv(lambda);
        shat = cov_value(lambda);
        g = shat.ab + g * s_back * d;
        lambda = cov_mul(S, shat);
    }
    out->S = S;
    out->theta_f = theta_f;
    out->lambda_h = lambda.ab;
    out->theta_g = g;
    out->theta_h = theta_f * g;
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

static int check_batch_args(const hntk_hyper_arch *a, hntk_variant v, long B, const double *X,
                            const double *Z)
{
    if (!a)
        return hntk_fail(HNTK_EINVAL, "hntk_limit_batch: architecture is NULL");
    if (v != HNTK_VARIANT_PAPER && v != HNTK_VARIANT_AUTHORS_CODE)
        return hntk_fail(HNTK_EINVAL,
                         "hntk_limit_batch: variant = %d, accepted: %d (paper) or %d (authors-code)",
                         (int)v, (int)HNTK_VARIANT_PAPER, (int)HNTK_VARIANT_AUTHORS_CODE);
    if (a->f_depth < 1 || a->f_depth > HNTK_MAX_DEPTH)
        return hntk_fail(HNTK_EINVAL, "hntk_limit_batch: f_depth = %d, accepted range [1, %d]",
                         a->f_depth, HNTK_MAX_DEPTH);
    if (a->g_depth < 1 || a->g_depth > HNTK_MAX_DEPTH)
        return hntk_fail(HNTK_EINVAL, "hntk_limit_batch: g_depth = %d, accepted range [1, %d]",
                         a->g_depth, HNTK_MAX_DEPTH);
    if (a->x_dim < 1 || a->x_dim > HNTK_MAX_DIM)
        return hntk_fail(HNTK_EINVAL, "hntk_limit_batch: x_dim = %ld, accepted range [1, %ld]",
                         a->x_dim, HNTK_MAX_DIM);
    if (a->z_dim < 1 || a->z_dim > HNTK_MAX_DIM)
        return hntk_fail(HNTK_EINVAL, "hntk_limit_batch: z_dim = %ld, accepted range [1, %ld]",
                         a->z_dim, HNTK_MAX_DIM);
    if (a->fourier_k < 0)
        return hntk_fail(HNTK_EINVAL,
                         "hntk_limit_batch: fourier_k = %ld, accepted: 0 (raw z) or >= 1",
                         a->fourier_k);
    if (a->fourier_k > 0 && (!(a->fourier_scale > 0.0) || !isfinite(a->fourier_scale)))
        return hntk_fail(HNTK_EINVAL,
                         "hntk_limit_batch: fourier_scale = %g, accepted: finite and > 0",
                         a->fourier_scale);
    if (B < 1)
        return hntk_fail(HNTK_EINVAL, "hntk_limit_batch: B = %ld, accepted range B >= 1", B);
    /* B*B entries per output, B*x_dim and B*z_dim inputs: all must be
     * addressable. */
    const long max_elems = (long)(PTRDIFF_MAX / (long)sizeof(double));
    if (B > max_elems / B || B > max_elems / a->x_dim || B > max_elems / a->z_dim)
        return hntk_fail(HNTK_EINVAL,
                         "hntk_limit_batch: B = %ld too large for x_dim = %ld, z_dim = %ld "
                         "(B*B, B*x_dim and B*z_dim must be at most %ld)",
                         B, a->x_dim, a->z_dim, max_elems);
    if (!X)
        return hntk_fail(HNTK_EINVAL, "hntk_limit_batch: X is NULL, accepted: a (B, x_dim) array");
    if (!Z)
        return hntk_fail(HNTK_EINVAL, "hntk_limit_batch: Z is NULL, accepted: a (B, z_dim) array");
    return HNTK_OK;
}

int hntk_limit_batch(const hntk_hyper_arch *a, hntk_variant v, long B, const double *X,
                     const double *Z, double *theta_h, double *lambda_h)
{
    const int status = check_batch_args(a, v, B, X, Z);
    if (status != HNTK_OK)
        return status;
    if (!theta_h && !lambda_h)
        return HNTK_OK;

    const long n0 = a->x_dim, m0 = a->z_dim;
    const int fourier = a->fourier_k > 0;
    /* The upper triangle (diagonal included) is computed, the lower mirrored:
     * the result is symmetric bit for bit. */
    for (long i = 0; i < B; i++) {
        const double *xi = X + (size_t)i * (size_t)n0;
        const double *zi = Z + (size_t)i * (size_t)m0;
        const double xii = dot(xi, xi, n0) / (double)n0;
        const double zii = fourier ? 1.0 : dot(zi, zi, m0) / (double)m0;
        for (long j = i; j < B; j++) {
            const double *xj = X + (size_t)j * (size_t)n0;
            const double *zj = Z + (size_t)j * (size_t)m0;
            hntk_cov xc, zc;
            xc.aa = xii;
            xc.ab = dot(xi, xj, n0) / (double)n0;
            xc.bb = dot(xj, xj, n0) / (double)n0;
            if (fourier) {
                zc.aa = 1.0;
                zc.ab = hntk_fourier_kernel(zi, zj, m0, a->fourier_scale);
                zc.bb = 1.0;
            } else {
                zc.aa = zii;
                zc.ab = dot(zi, zj, m0) / (double)m0;
                zc.bb = dot(zj, zj, m0) / (double)m0;
            }
            hntk_limit lim;
            hntk_limit_hyper(a->f_depth, a->g_depth, xc, zc, v, &lim);
            const size_t ij = (size_t)i * (size_t)B + (size_t)j;
            const size_t ji = (size_t)j * (size_t)B + (size_t)i;
            if (theta_h)
                theta_h[ij] = theta_h[ji] = lim.theta_h;
            if (lambda_h)
                lambda_h[ij] = lambda_h[ji] = lim.lambda_h;
        }
    }
    return HNTK_OK;
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
    const int status = check_batch_args(a ? &plain : NULL, v, B, X, Kz);
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
