/* test_regress.c: the pieces of hyperkernel regression (docs/theory.md §9.1).
 *   - hntk_limit_cross_indexed (f once per image pair, g per input pair) against
 *     hntk_limit_cross and hntk_limit_cross_naive on the expanded inputs: every
 *     kernel, entry by entry (bit for bit, and so within 1e-12), one set and two
 *     sets, drawn features and the k -> infinity Fourier kernel, both variants;
 *   - the Gram is symmetric and, with eps > 0, positive definite (its smallest
 *     eigenvalue, GSL's symmetric eigensolver);
 *   - the Cholesky solve against a direct dense solve (GSL's LU);
 *   - as eps -> 0 the regression interpolates its training targets;
 *   - an indefinite matrix is refused with a message;
 *   - hntk_net_g_eval on f's outputs is the network's forward pass. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_linalg.h>

#include "hyperntk/analytic.h"
#include "hyperntk/error.h"
#include "hyperntk/net.h"
#include "hyperntk/regress.h"
#include "hyperntk/rng.h"
#include "testing.h"

enum { NX = 6, XD = 9, NZ = 7, ZD = 2, K = 16, G = 3, B = NX * G, NX2 = 2, B2 = NX2 * NZ };

static double max_abs_diff(const double *a, const double *b, long n, long *bits_differ)
{
    double m = 0.0;
    *bits_differ = 0;
    for (long i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (d > m) m = d;
        if (memcmp(&a[i], &b[i], sizeof(double))) (*bits_differ)++;
    }
    return m;
}

static double min_eig(long n, const double *A)
{
    gsl_matrix *M = gsl_matrix_alloc((size_t)n, (size_t)n);
    gsl_vector *ev = gsl_vector_alloc((size_t)n);
    gsl_eigen_symm_workspace *w = gsl_eigen_symm_alloc((size_t)n);
    memcpy(M->data, A, sizeof(double) * (size_t)(n * n));
    gsl_eigen_symm(M, ev, w);
    double m = gsl_vector_min(ev);
    gsl_eigen_symm_free(w), gsl_vector_free(ev), gsl_matrix_free(M);
    return m;
}

/* Compare the indexed kernels of (s1, s2) with the expanded inputs' hntk_limit_cross and _naive. */
static void compare_sets(const char *what, const hntk_hyper_arch *a, hntk_variant v, const hntk_indexed_set *s1,
                         const hntk_indexed_set *s2)
{
    long b1 = s1->B, b2 = s2->B, n = b1 * b2;
    double *X1 = malloc(sizeof(double) * (size_t)(b1 * a->x_dim)), *Z1 = malloc(sizeof(double) * (size_t)(b1 * a->z_dim));
    double *X2 = malloc(sizeof(double) * (size_t)(b2 * a->x_dim)), *Z2 = malloc(sizeof(double) * (size_t)(b2 * a->z_dim));
    for (long i = 0; i < b1; i++) {
        memcpy(X1 + i * a->x_dim, s1->X + s1->ix[i] * a->x_dim, sizeof(double) * (size_t)a->x_dim);
        memcpy(Z1 + i * a->z_dim, s1->Z + s1->iz[i] * a->z_dim, sizeof(double) * (size_t)a->z_dim);
    }
    for (long i = 0; i < b2; i++) {
        memcpy(X2 + i * a->x_dim, s2->X + s2->ix[i] * a->x_dim, sizeof(double) * (size_t)a->x_dim);
        memcpy(Z2 + i * a->z_dim, s2->Z + s2->iz[i] * a->z_dim, sizeof(double) * (size_t)a->z_dim);
    }
    double *buf = malloc(sizeof(double) * (size_t)(15 * n));
    hntk_cross_out oi = {buf, buf + n, buf + 2 * n, buf + 3 * n, buf + 4 * n};
    hntk_cross_out oc = {buf + 5 * n, buf + 6 * n, buf + 7 * n, buf + 8 * n, buf + 9 * n};
    hntk_cross_out on = {buf + 10 * n, buf + 11 * n, buf + 12 * n, buf + 13 * n, buf + 14 * n};
    int st = hntk_limit_cross_indexed(a, v, s1, s2, &oi);
    CHECK(st == HNTK_OK, "%s: indexed: %s", what, hntk_last_error());
    st = s1 == s2 ? hntk_limit_cross(a, v, b1, X1, Z1, b1, X1, Z1, &oc) : hntk_limit_cross(a, v, b1, X1, Z1, b2, X2, Z2, &oc);
    CHECK(st == HNTK_OK, "%s: cross: %s", what, hntk_last_error());
    st = hntk_limit_cross_naive(a, v, b1, X1, Z1, b2, s1 == s2 ? X1 : X2, s1 == s2 ? Z1 : Z2, &on);
    CHECK(st == HNTK_OK, "%s: naive: %s", what, hntk_last_error());
    static const char *names[5] = {"Theta^h", "Lambda^H", "Theta^f", "S", "Theta^g"};
    for (int k = 0; k < 5; k++) {
        long bits, bits_n;
        double d = max_abs_diff(buf + k * n, buf + (5 + k) * n, n, &bits);
        double dn = max_abs_diff(buf + k * n, buf + (10 + k) * n, n, &bits_n);
        CHECK(d <= 1e-12 && bits == 0, "%s: %s indexed vs hntk_limit_cross: max |diff| %.3g, %ld entries differ in bits",
              what, names[k], d, bits);
        CHECK(dn <= 1e-12 && bits_n == 0, "%s: %s indexed vs naive: max |diff| %.3g, %ld differ", what, names[k], dn, bits_n);
    }
    free(buf), free(X1), free(Z1), free(X2), free(Z2);
}

int main(void)
{
    /* images: random directions with |x|^2 = XD, one of them repeated at another scale */
    double X[NX * XD], Xt[NX2 * XD], Zc[NZ * ZD], Phi[NZ * K], freq[K * ZD], phase[K];
    hntk_random_directions(11, HNTK_TENSOR_INPUT_X, X, NX, XD);
    hntk_random_directions(12, HNTK_TENSOR_INPUT_X, Xt, NX2, XD);
    for (int d = 0; d < XD; d++) X[5 * XD + d] = 0.5 * X[4 * XD + d];
    for (int p = 0; p < NZ; p++) Zc[p * ZD] = p / 6.0, Zc[p * ZD + 1] = (p * 3 % 7) / 6.0;
    hntk_hyper_arch net_arch = {.f_depth = 3, .f_width = 40, .x_dim = XD, .g_depth = 2, .g_width = 5, .z_dim = ZD,
                                .fourier_k = K, .fourier_scale = 0.4};
    hntk_fourier_draw(&net_arch, 7, HNTK_FOURIER_RUN_SAMPLE, freq, phase);
    hntk_fourier_features(K, ZD, freq, phase, NZ, Zc, Phi);
    long ix[B], iz[B], ix2[B2], iz2[B2];
    for (int i = 0; i < NX; i++)
        for (int g = 0; g < G; g++) ix[i * G + g] = i, iz[i * G + g] = (i * 2 + g * 3) % NZ;
    for (int i = 0; i < NX2; i++)
        for (int p = 0; p < NZ; p++) ix2[i * NZ + p] = i, iz2[i * NZ + p] = p;

    /* drawn features: the kernel of the network that uses them */
    hntk_hyper_arch ka = {.f_depth = 3, .x_dim = XD, .g_depth = 2, .z_dim = K};
    hntk_indexed_set tr = {NX, X, NZ, Phi, B, ix, iz}, te = {NX2, Xt, NZ, Phi, B2, ix2, iz2};
    compare_sets("one set, drawn features", &ka, HNTK_VARIANT_PAPER, &tr, &tr);
    compare_sets("test x train, drawn features", &ka, HNTK_VARIANT_PAPER, &te, &tr);
    compare_sets("one set, authors-code", &ka, HNTK_VARIANT_AUTHORS_CODE, &tr, &tr);
    hntk_hyper_arch kf = {.f_depth = 3, .x_dim = XD, .g_depth = 3, .z_dim = ZD, .fourier_k = 1, .fourier_scale = 0.3};
    hntk_indexed_set trc = {NX, X, NZ, Zc, B, ix, iz}, tec = {NX2, Xt, NZ, Zc, B2, ix2, iz2};
    compare_sets("train x test, k -> inf Fourier kernel, H = 3", &kf, HNTK_VARIANT_PAPER, &trc, &tec);

    /* an index out of range is refused */
    long bad[B];
    memcpy(bad, ix, sizeof bad);
    bad[4] = NX;
    hntk_indexed_set trb = {NX, X, NZ, Phi, B, bad, iz};
    double Kh[B * B];
    hntk_cross_out only = {.ntk = Kh};
    CHECK(hntk_limit_cross_indexed(&ka, HNTK_VARIANT_PAPER, &trb, &trb, &only) == HNTK_EINVAL &&
              strstr(hntk_last_error(), "ix1[4] = 6") != NULL, "bad index: %s", hntk_last_error());

    /* the Gram: symmetric, positive definite with eps > 0 */
    CHECK(hntk_limit_cross_indexed(&ka, HNTK_VARIANT_PAPER, &tr, &tr, &only) == HNTK_OK, "%s", hntk_last_error());
    int sym = 1;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) sym &= Kh[i * B + j] == Kh[j * B + i];
    CHECK(sym, "Theta^h(U, U) is exactly symmetric");
    double lmin = min_eig(B, Kh);
    CHECK(lmin > -1e-12, "Theta^h(U, U) is positive semi-definite: smallest eigenvalue %g", lmin);
    double KE[B * B];
    memcpy(KE, Kh, sizeof KE);
    for (int i = 0; i < B; i++) KE[i * B + i] += 1e-3;
    CHECK(min_eig(B, KE) >= 1e-3 * (1 - 1e-9), "Theta^h + eps I: smallest eigenvalue %g >= eps", min_eig(B, KE));

    /* Cholesky solve against GSL's LU on the same K + eps I */
    double y[B], yy[2 * B], F[B * B];
    hntk_stream s;
    hntk_stream_init(&s, 3, 0, HNTK_TENSOR_BENCH, 0);
    hntk_stream_normals(&s, yy, 2 * B);
    memcpy(y, yy, sizeof y);
    const double eps = 1e-3;
    memcpy(F, Kh, sizeof F);
    CHECK(hntk_chol_factor(B, F, eps) == HNTK_OK, "factor: %s", hntk_last_error());
    CHECK(hntk_chol_solve(B, F, 2, yy) == HNTK_OK, "solve: %s", hntk_last_error());
    gsl_matrix_view M = gsl_matrix_view_array(KE, B, B);
    gsl_matrix *LU = gsl_matrix_alloc(B, B);
    gsl_matrix_memcpy(LU, &M.matrix);
    gsl_permutation *perm = gsl_permutation_alloc(B);
    gsl_vector *x = gsl_vector_alloc(B);
    int sg;
    gsl_linalg_LU_decomp(LU, perm, &sg);
    double cond = 0.0;
    for (int r = 0; r < 2; r++) {
        gsl_vector_view bv = gsl_vector_view_array(r ? yy + B : y, B); /* second rhs: regenerate */
        double rhs[B];
        hntk_stream_init(&s, 3, 0, HNTK_TENSOR_BENCH, 0);
        double tmp[2 * B];
        hntk_stream_normals(&s, tmp, 2 * B);
        memcpy(rhs, tmp + r * B, sizeof rhs);
        bv = gsl_vector_view_array(rhs, B);
        gsl_linalg_LU_solve(LU, perm, &bv.vector, x);
        double md = 0.0, mx = 0.0;
        for (int i = 0; i < B; i++) {
            double d = fabs(gsl_vector_get(x, i) - yy[r * B + i]);
            if (d > md) md = d;
            if (fabs(gsl_vector_get(x, i)) > mx) mx = fabs(gsl_vector_get(x, i));
        }
        /* both solvers are backward stable: the difference is bounded by a small multiple of
         * cond(K + eps I) * machine epsilon, relative to |x| */
        if (r == 0) {
            double lmax = 0.0;
            for (int i = 0; i < B; i++) lmax += KE[i * B + i]; /* trace >= lambda_max */
            cond = lmax / min_eig(B, KE);
        }
        CHECK(md <= 100.0 * cond * 2.2e-16 * mx, "rhs %d: Cholesky vs LU max |diff| %.3g > 100 cond eps |x| = %.3g", r, md,
              100.0 * cond * 2.2e-16 * mx);
    }
    gsl_matrix_free(LU), gsl_permutation_free(perm), gsl_vector_free(x);

    /* eps -> 0: the training targets are interpolated.  On a well-conditioned
     * case (distinct images, one coordinate each) the error at the training
     * points is eps |alpha| to first order: it falls in proportion to eps. */
    {
        enum { NI = 6 };
        long ixw[NI], izw[NI];
        for (int i = 0; i < NI; i++) ixw[i] = i, izw[i] = i;
        hntk_indexed_set w = {NX, X, NZ, Phi, NI, ixw, izw};
        double Kw[NI * NI], Fw[NI * NI], al[NI];
        hntk_cross_out ow = {.ntk = Kw};
        CHECK(hntk_limit_cross_indexed(&ka, HNTK_VARIANT_PAPER, &w, &w, &ow) == HNTK_OK, "%s", hntk_last_error());
        double lw = min_eig(NI, Kw);
        CHECK(lw > 1e-3, "the interpolation case is well conditioned: smallest eigenvalue %g", lw);
        double prev = INFINITY;
        for (double e = 1e-2; e >= 1e-10; e *= 1e-2) {
            memcpy(Fw, Kw, sizeof Fw);
            memcpy(al, y, sizeof al);
            CHECK(hntk_chol_factor(NI, Fw, e) == HNTK_OK && hntk_chol_solve(NI, Fw, 1, al) == HNTK_OK, "%s",
                  hntk_last_error());
            double err = 0.0, na = 0.0;
            for (int i = 0; i < NI; i++) {
                double p = 0.0;
                for (int j = 0; j < NI; j++) p += Kw[i * NI + j] * al[j];
                if (fabs(p - y[i]) > err) err = fabs(p - y[i]);
                if (fabs(al[i]) > na) na = fabs(al[i]);
            }
            CHECK(err <= 1.01 * e * na + 1e-12, "eps %g: max |yhat - y| at the training points %.3g > eps |alpha| = %.3g", e,
                  err, e * na);
            CHECK(err < prev, "eps %g: the training error %.3g did not fall (previous %.3g)", e, err, prev);
            prev = err;
        }
        CHECK(prev < 1e-9, "eps = 1e-10: training targets reproduced to %.3g", prev);
    }

    /* an indefinite matrix and a bad eps are refused */
    double A2[4] = {1, 2, 2, 1};
    CHECK(hntk_chol_factor(2, A2, 0.0) == HNTK_EINVAL && strstr(hntk_last_error(), "not positive definite"),
          "indefinite: %s", hntk_last_error());
    double A3[4] = {1, 0, 0, 1};
    CHECK(hntk_chol_factor(2, A3, -1.0) == HNTK_EINVAL, "negative eps refused");

    /* g with f's own outputs as weights is the forward pass */
    {
        hntk_net *net;
        CHECK(hntk_net_alloc(&net_arch, NZ, 0, &net) == HNTK_OK, "%s", hntk_last_error());
        hntk_net_sample_weights(net, 5, 0);
        hntk_net_fix_fourier(net, freq, phase);
        double Xr[NZ * XD], h[NZ], hg[NZ];
        for (int p = 0; p < NZ; p++) memcpy(Xr + p * XD, X + 2 * XD, sizeof(double) * XD);
        CHECK(hntk_net_forward(net, NZ, Xr, Zc, h) == HNTK_OK, "%s", hntk_last_error());
        double v[NZ * 200];
        long P = hntk_f_out_dim(&net_arch);
        memcpy(v, hntk_net_f_output(net), sizeof(double) * (size_t)(P * NZ));
        for (int p = 0; p < NZ; p++)
            CHECK(hntk_net_g_eval(net, v + p * P, 1, Zc + p * ZD, hg + p) == HNTK_OK, "%s", hntk_last_error());
        CHECK(memcmp(h, hg, sizeof h) == 0, "hntk_net_g_eval(v(x_b), z_b) = h(x_b, z_b) bit for bit");
        CHECK(hntk_net_g_eval(net, v, NZ + 1, Zc, hg) == HNTK_EINVAL, "batch above capacity refused");
        hntk_net_free(net);
    }
    return TEST_SUMMARY();
}
