/* test_analytic.c: the closed-form limits of analytic.c against docs/theory.md
 * section 6, against direct quadrature of the Gaussian expectations, and
 * against their own special cases. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>

#include "hyperntk/analytic.h"
#include "hyperntk/error.h"
#include "hyperntk/net.h"
#include "hyperntk/rng.h"
#include "testing.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static double V(double a, double b, double c) { return hntk_arccos_value(a, b, c); }
static double D(double a, double b, double c) { return hntk_arccos_deriv(a, b, c); }

static hntk_cov cov(double aa, double ab, double bb)
{
    hntk_cov k = {aa, ab, bb};
    return k;
}

/* ---- 1. the V/D table, fixed points, homogeneity ---------------------- */

static void test_table(void)
{
    /* docs/theory.md §6, unit diagonal.  The table gives 6 decimals (or an
     * exact fraction), so 1e-6 absolute is its precision. */
    static const struct { double rho, v, d; } row[] = {
        {-1.0, 0.0, 0.0},
        {-0.5, 0.108998, 1.0 / 3.0},
        {0.0, 1.0 / M_PI, 0.5},
        {0.5, 0.608998, 2.0 / 3.0},
        {1.0, 1.0, 1.0},
    };
    for (size_t i = 0; i < sizeof row / sizeof row[0]; i++) {
        const double v = V(1.0, 1.0, row[i].rho), d = D(1.0, 1.0, row[i].rho);
        CHECK(fabs(v - row[i].v) <= 1e-6, "V(1,1,%g) = %.9f, want %.6f", row[i].rho, v, row[i].v);
        CHECK(fabs(d - row[i].d) <= 1e-6, "D(1,1,%g) = %.9f, want %.6f", row[i].rho, d, row[i].d);
    }
    /* The exact endpoints are exact, not merely within 1e-6. */
    CHECK(V(1.0, 1.0, -1.0) == 0.0 && D(1.0, 1.0, -1.0) == 0.0, "rho = -1 not exactly 0");
    CHECK(V(1.0, 1.0, 1.0) == 1.0 && D(1.0, 1.0, 1.0) == 1.0, "rho = 1 not exactly 1");

    /* V(a,a,a) = a and D(a,a,a) = 1, for values whose square roots are not
     * exact (1/3, 0.7, 1e-5, ...) as well as powers of two. */
    static const double as[] = {1e-300, 1e-5, 0.1, 1.0 / 3.0, 0.7, 1.0, 2.0, 3.0, 12.345, 1e5, 1e300};
    for (size_t i = 0; i < sizeof as / sizeof as[0]; i++) {
        const double a = as[i];
        CHECK(fabs(V(a, a, a) - a) <= 1e-15 * a, "V(a,a,a) = %.17g, a = %.17g", V(a, a, a), a);
        CHECK(fabs(D(a, a, a) - 1.0) <= 1e-15, "D(a,a,a) = %.17g, a = %.17g", D(a, a, a), a);
    }

    /* Positive homogeneity: V(ta,tb,tc) = t V(a,b,c), D(ta,tb,tc) = D(a,b,c). */
    static const double abc[][3] = {
        {1.0, 2.0, 0.3}, {0.5, 0.2, -0.25}, {3.0, 1.0 / 3.0, 0.99}, {2.0, 2.0, -1.9}, {1.0, 4.0, 0.0}};
    static const double ts[] = {0.25, 1.0 / 3.0, 7.0, 1e-3, 1e150};
    for (size_t i = 0; i < sizeof abc / sizeof abc[0]; i++) {
        const double a = abc[i][0], b = abc[i][1], c = abc[i][2];
        for (size_t j = 0; j < sizeof ts / sizeof ts[0]; j++) {
            const double t = ts[j];
            CHECK_CLOSE(V(t * a, t * b, t * c), t * V(a, b, c), 1e-14);
            CHECK_CLOSE(D(t * a, t * b, t * c), D(a, b, c), 1e-14);
        }
    }

    /* Degenerate and invalid triples (documented in analytic.c). */
    CHECK(V(0.0, 1.0, 0.0) == 0.0 && V(1.0, 0.0, 0.0) == 0.0 && V(0.0, 0.0, 0.0) == 0.0,
          "V with a zero variance must be 0");
    CHECK(D(0.0, 1.0, 0.0) == 0.5 && D(0.0, 0.0, 0.0) == 0.5, "D with a zero variance must be 1/2");
    CHECK(isnan(V(-1.0, 1.0, 0.0)) && isnan(D(1.0, -1.0, 0.0)), "negative variance must give NaN");
    CHECK(isnan(V(NAN, 1.0, 0.0)) && isnan(D(1.0, 1.0, NAN)), "NaN input must give NaN");
}

/* ---- 2. docs/theory.md reference values, L = 3, H = 3 ---------------------- */

static void test_reference_values(void)
{
    hntk_limit lim;
    /* x perpendicular to x', z perpendicular to z', unit diagonals.  The table
     * gives 6 decimals, i.e. it is exact to half a unit of the 6th decimal:
     * absolute 5e-7.  (A relative 1e-6 would be tighter than the table for
     * Lambda^H = 0.197902, whose exact value 0.19790162... rounds correctly
     * but differs from it by 1.9e-6 relative.) */
    static const struct { const char *name; double want; } ref[] = {
        {"S", 0.493731}, {"Theta^f", 0.685709}, {"Theta^g", 0.487303},
        {"Theta^h", 0.334148}, {"Lambda^H", 0.197902}};
    hntk_limit_hyper(3, 3, cov(1.0, 0.0, 1.0), cov(1.0, 0.0, 1.0), HNTK_VARIANT_PAPER, &lim);
    const double got[] = {lim.S.ab, lim.theta_f, lim.theta_g, lim.theta_h, lim.lambda_h};
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++)
        CHECK(fabs(got[i] - ref[i].want) <= 5e-7, "%s = %.9f, docs/theory.md %.6f", ref[i].name, got[i],
              ref[i].want);
    /* Theta^h is the product of the two factors, bit for bit. */
    CHECK(lim.theta_h == lim.theta_f * lim.theta_g, "Theta^h != Theta^f Theta^g");
    CHECK(lim.S.aa == 1.0 && lim.S.bb == 1.0, "unit diagonal of S not preserved: %.17g %.17g",
          lim.S.aa, lim.S.bb);

    /* x = x', z = (1,0), z' = (cos t, sin t), m_0 = 2 so z.z'/m_0 would be
     * cos(t)/2: docs/theory.md says "unit diagonals", i.e. |z|^2 = m_0, so the
     * z-triple is (1, cos t, 1).  The table gives 4 decimals: absolute 5e-5
     * (half a unit of the last decimal). */
    static const struct { double t, theta_h, lambda_h; } sweep[] = {
        {0.0, 9.0000, 1.0000},
        {M_PI / 4.0, 5.3565, 0.7922},
        {M_PI / 2.0, 2.0571, 0.4937},
    };
    for (size_t i = 0; i < sizeof sweep / sizeof sweep[0]; i++) {
        hntk_limit_hyper(3, 3, cov(1.0, 1.0, 1.0), cov(1.0, cos(sweep[i].t), 1.0), HNTK_VARIANT_PAPER,
                         &lim);
        CHECK(fabs(lim.theta_h - sweep[i].theta_h) <= 5e-5, "Theta^h(t = %g) = %.6f, want %.4f",
              sweep[i].t, lim.theta_h, sweep[i].theta_h);
        CHECK(fabs(lim.lambda_h - sweep[i].lambda_h) <= 5e-5, "Lambda^H(t = %g) = %.6f, want %.4f",
              sweep[i].t, lim.lambda_h, sweep[i].lambda_h);
    }
    /* At t = 0 everything is on the diagonal: Theta^f = L, Theta^g = H exactly. */
    hntk_limit_hyper(3, 3, cov(1.0, 1.0, 1.0), cov(1.0, 1.0, 1.0), HNTK_VARIANT_PAPER, &lim);
    CHECK(lim.theta_h == 9.0 && lim.lambda_h == 1.0, "t = 0: Theta^h = %.17g, Lambda^H = %.17g",
          lim.theta_h, lim.lambda_h);

    /* hntk_limit_f alone: L = 1 returns the input, L = 2 one step by hand. */
    hntk_cov S;
    double tf;
    hntk_limit_f(1, cov(2.0, 0.3, 0.5), &S, &tf);
    CHECK(S.aa == 2.0 && S.ab == 0.3 && S.bb == 0.5 && tf == 0.3, "L = 1 must return Sigma^1");
    hntk_limit_f(2, cov(2.0, 0.3, 0.5), &S, &tf);
    CHECK_CLOSE(S.ab, V(2.0, 0.5, 0.3), 1e-15);
    CHECK_CLOSE(tf, V(2.0, 0.5, 0.3) + 0.3 * D(2.0, 0.5, 0.3), 1e-15);
    CHECK(S.aa == 2.0 && S.bb == 0.5, "diagonal of Sigma^2 must be V(a,a,a) = a");
    hntk_limit_f(0, cov(1.0, 0.0, 1.0), &S, &tf);
    CHECK(isnan(tf) && isnan(S.ab), "L = 0 must give NaN");
}

/* ---- 3. quadrature of the Gaussian expectations ----------------------- */
/*
 * u = sqrt(a) g, v = (c/sqrt(a)) g + sd g2 with sd = q/sqrt(a), q = sqrt(ab - c^2).
 * Given g, v ~ N(mu, sd^2), mu/sd = k g with k = c/q, and with
 *   psi(x) = E[relu(x + N)] = x Phi(x) + phi(x):
 *     V = 2 E[relu(u) relu(v)] = 2 q int_0^inf phi(g) g psi(k g) dg
 *     D = 2 P(u > 0, v > 0)    = 2   int_0^inf phi(g) Phi(k g) dg
 * For k >= 0 every term is positive: q psi(kg) = c g Phi(kg) + q phi(kg).
 * For k < 0 (c < 0) substitute g = w/|k| (features of scale 1, not 1/|k|) and
 * write psi(-w) = int_w^inf Q(t) dt (no cancellation) with t = w + s/(1+w):
 *     V = 2 (q/k^2) int_0^inf phi(w/|k|) w psi(-w) dw
 *     D = (2/|k|)   int_0^inf phi(w/|k|) Q(w) dw
 * For k > 1 the same substitution resolves the step of Phi(kg) at g ~ 1/k
 * (near c = +sqrt(ab) an unsubstituted quadrature misses it entirely):
 *     D = 1 - (2/k) int_0^inf phi(w/k) Q(w) dw
 * V needs no such care there: V - c = O(k^-3) c.
 * Phi and Q are GSL's, accurate in the tails.  None of this uses the angle.
 */

enum { WS_SIZE = 2000 };
static gsl_integration_workspace *ws_outer, *ws_inner;
static int quad_failures;

static double phi(double x) { return exp(-0.5 * x * x) / sqrt(2.0 * M_PI); }

static double integrate_semi_infinite(gsl_function *f, gsl_integration_workspace *ws, double epsrel)
{
    double result, abserr;
    if (gsl_integration_qagiu(f, 0.0, 0.0, epsrel, WS_SIZE, ws, &result, &abserr) != GSL_SUCCESS)
        quad_failures++;
    return result;
}

struct qparams { double c, q, k, w; };

static double psi_neg_inner(double s, void *p)
{
    const double w = ((struct qparams *)p)->w;
    return gsl_cdf_ugaussian_Q(w + s / (1.0 + w)) / (1.0 + w);
}

static double psi_neg(double w) /* psi(-w), w >= 0 */
{
    struct qparams p = {0, 0, 0, w};
    gsl_function f = {psi_neg_inner, &p};
    return integrate_semi_infinite(&f, ws_inner, 1e-13);
}

static double v_pos_integrand(double g, void *vp)
{
    const struct qparams *p = vp;
    const double kg = p->k * g;
    return phi(g) * g * (p->c * g * gsl_cdf_ugaussian_P(kg) + p->q * phi(kg));
}

static double v_neg_integrand(double w, void *vp)
{
    const struct qparams *p = vp;
    return phi(w / fabs(p->k)) * w * psi_neg(w);
}

static double d_pos_integrand(double g, void *vp)
{
    const struct qparams *p = vp;
    return phi(g) * gsl_cdf_ugaussian_P(p->k * g);
}

static double d_neg_integrand(double w, void *vp)
{
    const struct qparams *p = vp;
    return phi(w / fabs(p->k)) * gsl_cdf_ugaussian_Q(w);
}

/* ab - c^2 without cancellation (FMA two-products), as the library does: the
 * test points near c = +-sqrt(ab) are otherwise dominated by the test's own
 * rounding. */
static double exact_gap(double a, double b, double c)
{
    const double p = a * b, q = c * c;
    return (p - q) + (fma(a, b, -p) - fma(c, c, -q));
}

static void quad_vd(double a, double b, double c, double *v, double *d)
{
    struct qparams p;
    p.q = sqrt(exact_gap(a, b, c));
    p.c = c;
    p.k = c / p.q;
    p.w = 0.0;
    gsl_function fv, fd;
    fv.params = fd.params = &p;
    if (c >= 0.0) {
        fv.function = v_pos_integrand;
        *v = 2.0 * integrate_semi_infinite(&fv, ws_outer, 1e-12);
    } else {
        fv.function = v_neg_integrand;
        *v = 2.0 * (p.q / (p.k * p.k)) * integrate_semi_infinite(&fv, ws_outer, 1e-12);
    }
    if (c >= 0.0 && p.k <= 1.0) {
        fd.function = d_pos_integrand;
        *d = 2.0 * integrate_semi_infinite(&fd, ws_outer, 1e-12);
    } else {
        fd.function = d_neg_integrand;
        const double tail = (2.0 / fabs(p.k)) * integrate_semi_infinite(&fd, ws_outer, 1e-12);
        *d = (c < 0.0) ? tail : 1.0 - tail;
    }
}

static void test_quadrature(void)
{
    gsl_set_error_handler_off();
    ws_outer = gsl_integration_workspace_alloc(WS_SIZE);
    ws_inner = gsl_integration_workspace_alloc(WS_SIZE);
    CHECK(ws_outer && ws_inner, "GSL workspace allocation");
    if (!ws_outer || !ws_inner)
        return;

    /* (a, b) pairs, the non-dyadic ones making every product inexact. */
    static const double ab[][2] = {{1.0, 1.0}, {2.25, 0.5625}, {0.3, 1.7}, {4.0, 0.1}};
    /* correlations, including within 1e-3 .. 1e-9 of +-1 */
    static const double rhos[] = {-1.0 + 1e-9, -1.0 + 1e-6, -0.999, -0.9, -0.5, -0.1, 0.0,
                                  0.2,         0.5,         0.8,    0.999, 1.0 - 1e-6, 1.0 - 1e-9};
    double worst_v = 0.0, worst_d = 0.0;
    for (size_t i = 0; i < sizeof ab / sizeof ab[0]; i++) {
        const double a = ab[i][0], b = ab[i][1];
        for (size_t j = 0; j < sizeof rhos / sizeof rhos[0]; j++) {
            const double c = rhos[j] * sqrt(a * b);
            double vq, dq;
            quad_vd(a, b, c, &vq, &dq);
            const double v = V(a, b, c), d = D(a, b, c);
            CHECK_CLOSE(v, vq, 1e-9);
            CHECK_CLOSE(d, dq, 1e-9);
            if (testing_rel_err(v, vq) > worst_v)
                worst_v = testing_rel_err(v, vq);
            if (testing_rel_err(d, dq) > worst_d)
                worst_d = testing_rel_err(d, dq);
        }
    }
    CHECK(quad_failures == 0, "%d GSL quadratures did not reach their tolerance", quad_failures);
    printf("quadrature: worst relative error V %.2g, D %.2g\n", worst_v, worst_d);
    gsl_integration_workspace_free(ws_outer);
    gsl_integration_workspace_free(ws_inner);
}

/* ---- 4. the diagonal: no clipping, no bias ---------------------------- */

static void test_diagonal(void)
{
    /* Deterministic spread of (a, b) over many binades and mantissas. */
    int acos_needs_clip = 0, acos_biased = 0;
    for (int i = 0; i < 2000; i++) {
        const double a = ldexp(1.0 + fmod(i * 0.6180339887498949, 1.0), (i % 41) - 20);
        const double b = ldexp(1.0 + fmod(i * 0.41421356237309515, 1.0), (i % 37) - 18);

        /* The diagonal itself, V(a,a,a) and D(a,a,a): exact. */
        CHECK(V(a, a, a) == a && D(a, a, a) == 1.0, "V(a,a,a) = %.17g, D = %.17g, a = %.17g",
              V(a, a, a), D(a, a, a), a);
        /* The acos route with the usual denominator sqrt(a) sqrt(a) would see
         * a ratio != 1 here: above 1 it needs clipping, below 1 it gives
         * t ~ 1.5e-8 and D = 1 - 5e-9 (the diagonal bias). */
        const double ratio = a / (sqrt(a) * sqrt(a));
        acos_needs_clip += ratio > 1.0;
        acos_biased += ratio < 1.0;

        /* c = sqrt(ab) as computed in floating point, and its neighbours: V
         * within 2 ulps of sqrt(ab), never NaN, D within the inherent
         * sqrt(eps)/pi sensitivity of D at rho = 1 and exactly 1 once c has
         * been rounded past sqrt(ab) (max(., 0), not clipping, takes care of
         * it). */
        const double r = sqrt(a * b);
        const double cs[] = {r, nextafter(r, 0.0), nextafter(r, INFINITY)};
        for (int k = 0; k < 3; k++) {
            const double v = V(a, b, cs[k]), d = D(a, b, cs[k]);
            CHECK(fabs(v - r) <= 2.0 * DBL_EPSILON * r, "V(%.17g, %.17g, %.17g) = %.17g, want %.17g",
                  a, b, cs[k], v, r);
            CHECK(d <= 1.0 && d >= 1.0 - sqrt(4.0 * DBL_EPSILON) / M_PI,
                  "D(%.17g, %.17g, %.17g) = %.17g", a, b, cs[k], d);
            if (exact_gap(a, b, cs[k]) <= 0.0)
                CHECK(d == 1.0 && v == r, "c >= sqrt(ab): D = %.17g, V = %.17g", d, v);
        }
    }
    /* The hazard is real (so the test above is not vacuous) ... */
    CHECK(acos_needs_clip > 0 && acos_biased > 0, "acos ratio never off 1 (%d above, %d below)",
          acos_needs_clip, acos_biased);
    /* ... and the unclipped acos would be NaN there, while atan2 is not. */
    for (int i = 0; i < 2000; i++) {
        const double a = ldexp(1.0 + fmod(i * 0.6180339887498949, 1.0), (i % 41) - 20);
        if (a / (sqrt(a) * sqrt(a)) > 1.0) {
            CHECK(isnan(acos(a / (sqrt(a) * sqrt(a)))), "acos of a ratio > 1 should be NaN");
            break;
        }
    }
}

/* ---- 5. the authors-code variant -------------------------------------- */

static void test_variants(void)
{
    hntk_limit p, q;
    /* x = x': S(x,x') = 1, the variants agree (to rounding: the factor is
     * exactly 1.0 in both). */
    const double thetas[] = {0.0, 0.7, M_PI / 2.0, 2.5};
    for (int H = 1; H <= 4; H++) {
        for (size_t i = 0; i < sizeof thetas / sizeof thetas[0]; i++) {
            hntk_cov z = cov(1.0, cos(thetas[i]), 1.0);
            hntk_limit_hyper(3, H, cov(1.0, 1.0, 1.0), z, HNTK_VARIANT_PAPER, &p);
            hntk_limit_hyper(3, H, cov(1.0, 1.0, 1.0), z, HNTK_VARIANT_AUTHORS_CODE, &q);
            CHECK(p.theta_h == q.theta_h && p.lambda_h == q.lambda_h,
                  "x = x', H = %d: paper %.17g, authors %.17g", H, p.theta_h, q.theta_h);
        }
    }
    /* x perpendicular to x': S(x,x') = 0.4937 < 1, the backward products
     * differ for H >= 2; the forward (Lambda^H) and Theta^f do not. */
    for (int H = 2; H <= 4; H++) {
        hntk_limit_hyper(3, H, cov(1.0, 0.0, 1.0), cov(1.0, 0.3, 1.0), HNTK_VARIANT_PAPER, &p);
        hntk_limit_hyper(3, H, cov(1.0, 0.0, 1.0), cov(1.0, 0.3, 1.0), HNTK_VARIANT_AUTHORS_CODE, &q);
        CHECK(q.theta_g > p.theta_g * (1.0 + 1e-3), "H = %d: authors %.17g not above paper %.17g", H,
              q.theta_g, p.theta_g);
        CHECK(p.lambda_h == q.lambda_h && p.theta_f == q.theta_f, "forward pass must not depend on the variant");
    }
    /* H = 1: no backward product, the variants coincide everywhere. */
    hntk_limit_hyper(3, 1, cov(1.0, 0.0, 1.0), cov(1.0, 0.3, 1.0), HNTK_VARIANT_PAPER, &p);
    hntk_limit_hyper(3, 1, cov(1.0, 0.0, 1.0), cov(1.0, 0.3, 1.0), HNTK_VARIANT_AUTHORS_CODE, &q);
    CHECK(p.theta_h == q.theta_h, "H = 1: variants must agree");

    /* Names. */
    hntk_variant v = HNTK_VARIANT_PAPER;
    CHECK(strcmp(hntk_variant_name(HNTK_VARIANT_PAPER), "paper") == 0, "name of paper");
    CHECK(strcmp(hntk_variant_name(HNTK_VARIANT_AUTHORS_CODE), "authors-code") == 0, "name of authors-code");
    CHECK(hntk_variant_parse("authors-code", &v) == HNTK_OK && v == HNTK_VARIANT_AUTHORS_CODE, "parse authors-code");
    CHECK(hntk_variant_parse("paper", &v) == HNTK_OK && v == HNTK_VARIANT_PAPER, "parse paper");
    CHECK(hntk_variant_parse("Paper ", &v) == HNTK_EINVAL && strlen(hntk_last_error()) > 0, "parse garbage");
    CHECK(hntk_variant_parse(NULL, &v) == HNTK_EINVAL, "parse NULL");
    CHECK(strstr(hntk_last_error(), "authors-code") != NULL, "message lists accepted values: %s", hntk_last_error());
}

/* ---- 6. batches ------------------------------------------------------- */

enum { NB = 5, XD = 4, ZD = 3 };

static void test_batch(void)
{
    /* Arbitrary, deterministic, not normalized (diagonals != 1). */
    double X[NB * XD], Z[NB * ZD], T[NB * NB], Lm[NB * NB], T2[NB * NB];
    for (int i = 0; i < NB * XD; i++)
        X[i] = sin(1.3 * i + 0.2) + 0.1 * (i % 3);
    for (int i = 0; i < NB * ZD; i++)
        Z[i] = cos(0.7 * i * i + 1.0);
    /* x_3 = 0 exercises the zero-variance triples; x_4 = x_1 the diagonal. */
    memset(X + 3 * XD, 0, sizeof(double) * XD);
    memcpy(X + 4 * XD, X + 1 * XD, sizeof(double) * XD);

    hntk_hyper_arch a;
    memset(&a, 0, sizeof a);
    a.f_depth = 3;
    a.g_depth = 2;
    a.x_dim = XD;
    a.z_dim = ZD;

    for (int variant = 0; variant <= 1; variant++) {
        const hntk_variant v = (hntk_variant)variant;
        CHECK(hntk_limit_batch(&a, v, NB, X, Z, T, Lm) == HNTK_OK, "batch: %s", hntk_last_error());
        for (int i = 0; i < NB; i++)
            for (int j = 0; j < NB; j++) {
                const double *xi = X + i * XD, *xj = X + j * XD, *zi = Z + i * ZD, *zj = Z + j * ZD;
                double xx[3] = {0, 0, 0}, zz[3] = {0, 0, 0};
                for (int k = 0; k < XD; k++) {
                    xx[0] += xi[k] * xi[k];
                    xx[1] += xi[k] * xj[k];
                    xx[2] += xj[k] * xj[k];
                }
                for (int k = 0; k < ZD; k++) {
                    zz[0] += zi[k] * zi[k];
                    zz[1] += zi[k] * zj[k];
                    zz[2] += zj[k] * zj[k];
                }
                hntk_limit lim;
                hntk_limit_hyper(3, 2, cov(xx[0] / XD, xx[1] / XD, xx[2] / XD),
                                 cov(zz[0] / ZD, zz[1] / ZD, zz[2] / ZD), v, &lim);
                CHECK_CLOSE(T[i * NB + j], lim.theta_h, 1e-14);
                CHECK_CLOSE(Lm[i * NB + j], lim.lambda_h, 1e-14);
                CHECK(T[i * NB + j] == T[j * NB + i] && Lm[i * NB + j] == Lm[j * NB + i],
                      "batch not symmetric at (%d, %d)", i, j);
            }
    }
    /* x_3 = 0: its kernels vanish whatever D(0, b, c) is defined to be. */
    for (int j = 0; j < NB; j++)
        CHECK(T[3 * NB + j] == 0.0 && Lm[3 * NB + j] == 0.0, "x = 0 row: %.17g %.17g",
              T[3 * NB + j], Lm[3 * NB + j]);
    /* Either output may be NULL, and the other is unchanged by that. */
    CHECK(hntk_limit_batch(&a, HNTK_VARIANT_PAPER, NB, X, Z, T, Lm) == HNTK_OK, "batch");
    CHECK(hntk_limit_batch(&a, HNTK_VARIANT_PAPER, NB, X, Z, T2, NULL) == HNTK_OK, "theta only");
    CHECK(memcmp(T, T2, sizeof T) == 0, "theta-only batch differs");
    CHECK(hntk_limit_batch(&a, HNTK_VARIANT_PAPER, NB, X, Z, NULL, T2) == HNTK_OK, "lambda only");
    CHECK(memcmp(Lm, T2, sizeof Lm) == 0, "lambda-only batch differs");

    /* Fourier path: the z-triple is (1, exp(-|z-z'|^2/(2 s^2)), 1). */
    a.fourier_k = 64;
    a.fourier_scale = 0.8;
    CHECK(hntk_limit_batch(&a, HNTK_VARIANT_PAPER, NB, X, Z, T, Lm) == HNTK_OK, "fourier batch: %s",
          hntk_last_error());
    for (int i = 0; i < NB; i++)
        for (int j = 0; j < NB; j++) {
            double d2 = 0.0, xx[3] = {0, 0, 0};
            for (int k = 0; k < ZD; k++)
                d2 += (Z[i * ZD + k] - Z[j * ZD + k]) * (Z[i * ZD + k] - Z[j * ZD + k]);
            for (int k = 0; k < XD; k++) {
                xx[0] += X[i * XD + k] * X[i * XD + k];
                xx[1] += X[i * XD + k] * X[j * XD + k];
                xx[2] += X[j * XD + k] * X[j * XD + k];
            }
            const double kz = exp(-d2 / (2.0 * 0.8 * 0.8));
            CHECK_CLOSE(hntk_fourier_kernel(Z + i * ZD, Z + j * ZD, ZD, 0.8), kz, 1e-14);
            hntk_limit lim;
            hntk_limit_hyper(3, 2, cov(xx[0] / XD, xx[1] / XD, xx[2] / XD), cov(1.0, kz, 1.0),
                             HNTK_VARIANT_PAPER, &lim);
            CHECK_CLOSE(T[i * NB + j], lim.theta_h, 1e-14);
            CHECK_CLOSE(Lm[i * NB + j], lim.lambda_h, 1e-14);
        }
    /* H = 1 with Fourier inputs: Lambda^1 = S(x,x') k(z,z'), a direct check. */
    a.g_depth = 1;
    CHECK(hntk_limit_batch(&a, HNTK_VARIANT_PAPER, NB, X, Z, NULL, Lm) == HNTK_OK, "fourier H = 1");
    {
        hntk_cov S;
        double xx[3] = {0, 0, 0}, d2 = 0.0;
        for (int k = 0; k < XD; k++) {
            xx[0] += X[0 * XD + k] * X[0 * XD + k];
            xx[1] += X[0 * XD + k] * X[2 * XD + k];
            xx[2] += X[2 * XD + k] * X[2 * XD + k];
        }
        for (int k = 0; k < ZD; k++)
            d2 += (Z[k] - Z[2 * ZD + k]) * (Z[k] - Z[2 * ZD + k]);
        hntk_limit_f(3, cov(xx[0] / XD, xx[1] / XD, xx[2] / XD), &S, NULL);
        CHECK_CLOSE(Lm[0 * NB + 2], S.ab * exp(-d2 / 1.28), 1e-14);
    }
    CHECK(isnan(hntk_fourier_kernel(Z, Z, ZD, 0.0)), "fourier scale 0 must give NaN");
    a.g_depth = 2;

    /* Bad arguments: HNTK_EINVAL and a message naming the value. */
    struct { const char *what; hntk_hyper_arch arch; long B; int x_null, z_null; int variant; } bad[] = {
        {"B = 0", a, 0, 0, 0, 0},
        {"B = -3", a, -3, 0, 0, 0},
        {"f_depth", a, NB, 0, 0, 0},
        {"g_depth", a, NB, 0, 0, 0},
        {"x_dim", a, NB, 0, 0, 0},
        {"fourier_scale", a, NB, 0, 0, 0},
        {"X", a, NB, 1, 0, 0},
        {"Z", a, NB, 0, 1, 0},
        {"variant", a, NB, 0, 0, 7},
    };
    bad[2].arch.f_depth = 0;
    bad[3].arch.g_depth = HNTK_MAX_DEPTH + 1;
    bad[4].arch.x_dim = 0;
    bad[5].arch.fourier_scale = -1.0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hntk_fail(HNTK_OK, "%s", ""); /* clear the message */
        const int st = hntk_limit_batch(&bad[i].arch, (hntk_variant)bad[i].variant, bad[i].B,
                                        bad[i].x_null ? NULL : X, bad[i].z_null ? NULL : Z, T, Lm);
        CHECK(st == HNTK_EINVAL, "%s: status %d, want HNTK_EINVAL", bad[i].what, st);
        CHECK(strlen(hntk_last_error()) > 0, "%s: empty message", bad[i].what);
        const char *key = (i < 2) ? "B = " : bad[i].what;
        CHECK(strstr(hntk_last_error(), key) != NULL, "%s: message '%s' does not name it", bad[i].what,
              hntk_last_error());
    }
    hntk_fail(HNTK_OK, "%s", "");
    CHECK(hntk_limit_batch(NULL, HNTK_VARIANT_PAPER, NB, X, Z, T, Lm) == HNTK_EINVAL &&
              strlen(hntk_last_error()) > 0,
          "NULL architecture");
}

/* ---- 7. H = 1 special cases ------------------------------------------- */

static void test_h1(void)
{
    /* H = 1: Lambda^1 = S(x,x') * z.z'/m_0 and Theta^g = Shat^0 = z.z'/m_0,
     * so Theta^h = Theta^f * z.z'/m_0. */
    const hntk_cov xs[] = {cov(1.0, 0.0, 1.0), cov(2.0, -0.7, 0.5), cov(1.5, 1.5, 1.5)};
    const hntk_cov zs[] = {cov(1.0, 0.25, 1.0), cov(0.3, -0.2, 2.0)};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        for (size_t j = 0; j < sizeof zs / sizeof zs[0]; j++)
            for (int L = 1; L <= 4; L++) {
                hntk_cov S;
                double tf;
                hntk_limit lim;
                hntk_limit_f(L, xs[i], &S, &tf);
                hntk_limit_hyper(L, 1, xs[i], zs[j], HNTK_VARIANT_PAPER, &lim);
                CHECK(lim.lambda_h == S.ab * zs[j].ab, "H = 1, L = %d: Lambda = %.17g, want %.17g", L,
                      lim.lambda_h, S.ab * zs[j].ab);
                CHECK(lim.theta_g == zs[j].ab, "H = 1: Theta^g = %.17g, want %.17g", lim.theta_g, zs[j].ab);
                CHECK(lim.theta_f == tf && lim.theta_h == tf * zs[j].ab, "H = 1: Theta^h");
            }
    /* A plain MLP is H = 1, z = 1: Theta^h = Theta^f, Lambda^H = S. */
    hntk_limit lim;
    hntk_cov S;
    double tf;
    hntk_limit_f(4, cov(1.0, 0.3, 1.0), &S, &tf);
    hntk_limit_hyper(4, 1, cov(1.0, 0.3, 1.0), cov(1.0, 1.0, 1.0), HNTK_VARIANT_PAPER, &lim);
    CHECK(lim.theta_h == tf && lim.lambda_h == S.ab, "MLP special case");
    /* H = 2 by hand: Theta^g = Shat^1 + Shat^0 S D(Lambda^1). */
    hntk_limit_hyper(2, 2, cov(1.0, 0.3, 1.0), cov(1.0, 0.6, 1.0), HNTK_VARIANT_PAPER, &lim);
    {
        hntk_cov S2;
        hntk_limit_f(2, cov(1.0, 0.3, 1.0), &S2, NULL);
        const double l1 = S2.ab * 0.6;
        const double want = V(1.0, 1.0, l1) + 0.6 * S2.ab * D(1.0, 1.0, l1);
        CHECK_CLOSE(lim.theta_g, want, 1e-15);
        CHECK_CLOSE(lim.lambda_h, S2.ab * V(1.0, 1.0, l1), 1e-15);
    }
}

/* ---- Fourier features actually drawn ---- */

/* The features, their input kernel and the limits for them against a direct
 * computation from the features. */
static void test_fourier_drawn(void)
{
    enum { NB = 4, ZD = 3, XD = 2, K = 5 };
    const hntk_hyper_arch a = {.f_depth = 3, .f_width = 1, .x_dim = XD, .g_depth = 3, .g_width = 1, .z_dim = ZD,
                               .fourier_k = K, .fourier_scale = 0.8};
    double X[NB * XD], Z[NB * ZD], freq[K * ZD], phase[K], phi[NB * K], shat[NB * NB], T[NB * NB], Lm[NB * NB];
    hntk_fill_normal_matrix(5, 0, HNTK_TENSOR_INPUT_X, 1.0, X, NB, XD);
    hntk_fill_normal_matrix(5, 0, HNTK_TENSOR_INPUT_Z, 1.0, Z, NB, ZD);
    hntk_fourier_draw(&a, 3, HNTK_FOURIER_RUN_SAMPLE, freq, phase);
    hntk_fourier_features(K, ZD, freq, phase, NB, Z, phi);
    hntk_fourier_feature_gram(K, NB, phi, shat);
    CHECK(hntk_limit_batch_zgram(&a, HNTK_VARIANT_PAPER, NB, X, shat, T, Lm) == HNTK_OK, "zgram: %s",
          hntk_last_error());
    double p[NB][K];
    for (int b = 0; b < NB; b++)
        for (int i = 0; i < K; i++) {
            double t = phase[i];
            for (int j = 0; j < ZD; j++) t += freq[i * ZD + j] * Z[b * ZD + j];
            p[b][i] = sqrt(2.0) * cos(t);
            CHECK_CLOSE(phi[b * K + i], p[b][i], 1e-15);
        }
    for (int b = 0; b < NB; b++)
        for (int c = 0; c < NB; c++) {
            double s = 0.0;
            for (int i = 0; i < K; i++) s += p[b][i] * p[c][i];
            CHECK_CLOSE(shat[b * NB + c], s / K, 1e-14);
            hntk_cov xc = {0}, zc = {0};
            for (int j = 0; j < XD; j++) {
                xc.aa += X[b * XD + j] * X[b * XD + j] / XD;
                xc.ab += X[b * XD + j] * X[c * XD + j] / XD;
                xc.bb += X[c * XD + j] * X[c * XD + j] / XD;
            }
            for (int i = 0; i < K; i++) {
                zc.aa += p[b][i] * p[b][i] / K;
                zc.ab += p[b][i] * p[c][i] / K;
                zc.bb += p[c][i] * p[c][i] / K;
            }
            hntk_limit lim;
            hntk_limit_hyper(3, 3, xc, zc, HNTK_VARIANT_PAPER, &lim);
            CHECK_CLOSE(T[b * NB + c], lim.theta_h, 1e-13);
            CHECK_CLOSE(Lm[b * NB + c], lim.lambda_h, 1e-13);
        }
    /* the drawn diagonal is not 1 at finite k (the k -> infinity kernel's is) */
    int off_one = 0;
    for (int b = 0; b < NB; b++) off_one |= fabs(shat[b * NB + b] - 1.0) > 1e-3;
    CHECK(off_one, "the drawn input kernel has a unit diagonal at k = %d: suspicious", K);
    /* with z.z'/m0 as Kz, the raw-z limit bit for bit */
    hntk_hyper_arch raw = a;
    raw.fourier_k = 0;
    double kz[NB * NB], T0[NB * NB];
    for (int b = 0; b < NB; b++)
        for (int c = 0; c < NB; c++) {
            double s = 0.0;
            for (int j = 0; j < ZD; j++) s += Z[b * ZD + j] * Z[c * ZD + j];
            kz[b * NB + c] = s / ZD;
        }
    hntk_limit_batch(&raw, HNTK_VARIANT_PAPER, NB, X, Z, T0, NULL);
    hntk_limit_batch_zgram(&raw, HNTK_VARIANT_PAPER, NB, X, kz, T, NULL);
    CHECK(!memcmp(T, T0, sizeof T), "zgram with z.z'/m0 differs from hntk_limit_batch");
    CHECK(hntk_limit_batch_zgram(&a, HNTK_VARIANT_PAPER, NB, X, NULL, T, NULL) == HNTK_EINVAL &&
              strstr(hntk_last_error(), "Kz"),
          "NULL Kz accepted: %s", hntk_last_error());
}

/* As k grows the drawn input kernel and the limits for the drawn features
 * approach the k -> infinity ones, at the Monte Carlo rate 1/sqrt(k). */
static void test_fourier_k_limit(void)
{
    enum { NB = 4, ZD = 2, XD = 2 };
    static double freq[16384 * ZD], phase[16384], phi[NB * 16384];
    double X[NB * XD], Z[NB * ZD], shat[NB * NB], T[NB * NB], Tinf[NB * NB];
    hntk_fill_normal_matrix(6, 0, HNTK_TENSOR_INPUT_X, 1.0, X, NB, XD);
    hntk_fill_normal_matrix(6, 0, HNTK_TENSOR_INPUT_Z, 1.0, Z, NB, ZD);
    double err_first = 0.0, err_last = 0.0;
    const long ks[] = {4, 64, 1024, 16384};
    for (int q = 0; q < 4; q++) {
        long k = ks[q];
        hntk_hyper_arch a = {.f_depth = 2, .x_dim = XD, .f_width = 1, .g_depth = 2, .g_width = 1, .z_dim = ZD,
                             .fourier_k = k, .fourier_scale = 1.3};
        hntk_fourier_draw(&a, 9, HNTK_FOURIER_RUN_SAMPLE, freq, phase);
        hntk_fourier_features(k, ZD, freq, phase, NB, Z, phi);
        hntk_fourier_feature_gram(k, NB, phi, shat);
        hntk_limit_batch_zgram(&a, HNTK_VARIANT_PAPER, NB, X, shat, T, NULL);
        hntk_limit_batch(&a, HNTK_VARIANT_PAPER, NB, X, Z, Tinf, NULL);
        double ek = 0.0, et = 0.0;
        for (int b = 0; b < NB; b++)
            for (int c = 0; c < NB; c++) {
                double want = b == c ? 1.0 : hntk_fourier_kernel(Z + b * ZD, Z + c * ZD, ZD, 1.3);
                ek = fmax(ek, fabs(shat[b * NB + c] - want));
                et = fmax(et, testing_rel_err(T[b * NB + c], Tinf[b * NB + c]));
            }
        printf("fourier k = %5ld: max |Shat^0 - exp kernel| %.4f, max rel |Theta^h drawn - k->inf| %.4f\n", k, ek,
               et);
        /* the entries of Shat^0 are means of k bounded terms (|p p'| <= 2): 6 standard deviations */
        CHECK(ek < 6.0 * 2.0 / sqrt((double)k), "k = %ld: the drawn kernel is %.3g from its limit", k, ek);
        if (q == 0) err_first = et;
        err_last = et;
    }
    CHECK(err_last < 0.05 && err_last < err_first, "Theta^h for drawn features does not approach the k -> infinity "
                                                   "limit: rel err %.3g at k = 4, %.3g at k = 16384",
          err_first, err_last);
}

int main(void)
{
    test_table();
    test_reference_values();
    test_quadrature();
    test_diagonal();
    test_variants();
    test_batch();
    test_h1();
    test_fourier_drawn();
    test_fourier_k_limit();
    return TEST_SUMMARY();
}
