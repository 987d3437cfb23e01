/* test_cross.c: the cross-kernels hntk_limit_cross (two input sets, B1 x B2)
 * against an independent transcription of docs/theory.md §3.2-§3.5 written
 * here (covariance triples, the maps V and D applied entry by entry, as the
 * theory page states them), against the reference values of §6, against the
 * single-set hntk_limit_batch and the plain per-pair loop (bit for bit), for
 * 1, 2 and 3 threads (bit for bit), and on bad arguments. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "hyperntk/analytic.h"
#include "hyperntk/error.h"
#include "hyperntk/net.h"
#include "hyperntk/rng.h"
#include "testing.h"

/* ---- the theory page, transcribed (§3.2-§3.5): triples, no precomputation ---- */

typedef struct { double aa, ab, bb; } triple;

static triple map_v(triple k)
{
    triple o = {hntk_arccos_value(k.aa, k.aa, k.aa), hntk_arccos_value(k.aa, k.bb, k.ab),
                hntk_arccos_value(k.bb, k.bb, k.bb)};
    return o;
}

/* kernels[0..4] = Theta^h, Lambda^H, Theta^f, S, Theta^g of one pair */
static void theory_pair(int L, int H, int authors, triple x, triple z, double *kernels)
{
    triple sigma = x;
    double theta = x.ab;
    for (int l = 1; l < L; l++) {
        double d = hntk_arccos_deriv(sigma.aa, sigma.bb, sigma.ab);
        sigma = map_v(sigma);
        theta = sigma.ab + theta * d;
    }
    triple S = sigma, shat = z;
    triple lambda = {S.aa * shat.aa, S.ab * shat.ab, S.bb * shat.bb};
    double g = shat.ab;
    for (int l = 1; l < H; l++) {
        double d = hntk_arccos_deriv(lambda.aa, lambda.bb, lambda.ab);
        shat = map_v(lambda);
        g = shat.ab + g * (authors ? 1.0 : S.ab) * d;
        lambda = (triple){S.aa * shat.aa, S.ab * shat.ab, S.bb * shat.bb};
    }
    kernels[0] = theta * g;
    kernels[1] = lambda.ab;
    kernels[2] = theta;
    kernels[3] = S.ab;
    kernels[4] = g;
}

static double dotn(const double *p, const double *q, long n)
{
    double s = 0.0;
    for (long i = 0; i < n; i++) s += p[i] * q[i];
    return s / (double)n;
}

/* ---- helpers ---- */

typedef struct { double *k[5]; } kernels5;

static kernels5 alloc5(long n)
{
    kernels5 k;
    for (int q = 0; q < 5; q++) k.k[q] = calloc((size_t)n, sizeof(double));
    return k;
}
static void free5(kernels5 *k) { for (int q = 0; q < 5; q++) free(k->k[q]); }
static hntk_cross_out out_of(kernels5 *k) { return (hntk_cross_out){k->k[0], k->k[1], k->k[2], k->k[3], k->k[4]}; }
static const char *const NAMES[5] = {"ntk", "nngp", "f_ntk", "f_nngp", "g_ntk"};

static long count_diff(const double *a, const double *b, long n)
{
    long d = 0;
    for (long i = 0; i < n; i++) d += memcmp(&a[i], &b[i], sizeof(double)) != 0;
    return d;
}

static void set_threads(int t)
{
#ifdef _OPENMP
    omp_set_num_threads(t);
#else
    (void)t;
#endif
}

/* ---- 1. against the theory page, every output, both variants, B1 != B2 ---- */

static void test_theory(void)
{
    enum { B1 = 7, B2 = 300, XD = 3, ZD = 2 }; /* B2 > 256: more than one block of columns */
    double *X1 = malloc(sizeof(double) * B1 * XD), *Z1 = malloc(sizeof(double) * B1 * ZD);
    double *X2 = malloc(sizeof(double) * B2 * XD), *Z2 = malloc(sizeof(double) * B2 * ZD);
    hntk_random_directions(3, 2000, X1, B1, XD);
    hntk_random_directions(3, 2001, Z1, B1, ZD);
    hntk_random_directions(4, 2000, X2, B2, XD);
    hntk_random_directions(4, 2001, Z2, B2, ZD);
    /* other norms too (the closed forms use the actual x.x'/n_0), a repeated input, z = 0 */
    for (int d = 0; d < XD; d++) X1[1 * XD + d] *= 1.7, X2[5 * XD + d] = X1[2 * XD + d];
    for (int d = 0; d < ZD; d++) Z2[5 * ZD + d] = Z1[2 * ZD + d], Z2[9 * ZD + d] = 0.0;
    for (int fourier = 0; fourier < 2; fourier++)
        for (int authors = 0; authors < 2; authors++)
            for (int L = 1; L <= 4; L += 3)
                for (int H = 1; H <= 3; H++) {
                    hntk_hyper_arch a = {.f_depth = L, .x_dim = XD, .g_depth = H, .z_dim = ZD,
                                         .fourier_k = fourier ? 16 : 0, .fourier_scale = 0.8};
                    kernels5 k = alloc5(B1 * B2);
                    hntk_cross_out o = out_of(&k);
                    int st = hntk_limit_cross(&a, (hntk_variant)authors, B1, X1, Z1, B2, X2, Z2, &o);
                    CHECK(st == HNTK_OK, "cross: %s", hntk_last_error());
                    long diff[5] = {0};
                    for (long i = 0; i < B1; i++)
                        for (long j = 0; j < B2; j++) {
                            const double *xi = X1 + i * XD, *xj = X2 + j * XD, *zi = Z1 + i * ZD, *zj = Z2 + j * ZD;
                            triple x = {dotn(xi, xi, XD), dotn(xi, xj, XD), dotn(xj, xj, XD)};
                            triple z = {dotn(zi, zi, ZD), dotn(zi, zj, ZD), dotn(zj, zj, ZD)};
                            if (fourier) z = (triple){1.0, hntk_fourier_kernel(zi, zj, ZD, 0.8), 1.0};
                            double want[5];
                            theory_pair(L, H, authors, x, z, want);
                            for (int q = 0; q < 5; q++)
                                diff[q] += memcmp(&k.k[q][i * B2 + j], &want[q], sizeof(double)) != 0;
                        }
                    for (int q = 0; q < 5; q++)
                        CHECK(diff[q] == 0, "L=%d H=%d %s fourier=%d: %ld of %d entries of %s differ from the "
                              "theory page's recursion", L, H, authors ? "authors-code" : "paper", fourier, diff[q],
                              B1 * B2, NAMES[q]);
                    /* the plain per-pair loop: the same bits */
                    kernels5 n = alloc5(B1 * B2);
                    hntk_cross_out on = out_of(&n);
                    CHECK(hntk_limit_cross_naive(&a, (hntk_variant)authors, B1, X1, Z1, B2, X2, Z2, &on) == HNTK_OK,
                          "naive: %s", hntk_last_error());
                    for (int q = 0; q < 5; q++)
                        CHECK(count_diff(k.k[q], n.k[q], B1 * B2) == 0, "L=%d H=%d: %s differs from the naive loop",
                              L, H, NAMES[q]);
                    /* swapping the sets transposes every output, bit for bit */
                    kernels5 t = alloc5(B1 * B2);
                    hntk_cross_out ot = out_of(&t);
                    hntk_limit_cross(&a, (hntk_variant)authors, B2, X2, Z2, B1, X1, Z1, &ot);
                    long tdiff = 0;
                    for (int q = 0; q < 5; q++)
                        for (long i = 0; i < B1; i++)
                            for (long j = 0; j < B2; j++)
                                tdiff += memcmp(&k.k[q][i * B2 + j], &t.k[q][j * B1 + i], sizeof(double)) != 0;
                    CHECK(tdiff == 0, "L=%d H=%d: K(B, A) is not K(A, B)^T (%ld entries)", L, H, tdiff);
                    free5(&k);
                    free5(&n);
                    free5(&t);
                }
    free(X1), free(Z1), free(X2), free(Z2);
}

/* ---- 2. docs/theory.md §6: L = 3, H = 3, x ⊥ x', z ⊥ z' (6 decimals) ---- */

static void test_reference_values(void)
{
    /* |x|^2 = n_0 = 2 exactly, x.x' = 0 exactly */
    double X1[2] = {1.0, 1.0}, X2[2] = {1.0, -1.0}, Z1[2] = {1.0, 1.0}, Z2[2] = {-1.0, 1.0};
    hntk_hyper_arch a = {.f_depth = 3, .x_dim = 2, .g_depth = 3, .z_dim = 2};
    double k[5];
    hntk_cross_out o = {&k[0], &k[1], &k[2], &k[3], &k[4]};
    CHECK(hntk_limit_cross(&a, HNTK_VARIANT_PAPER, 1, X1, Z1, 1, X2, Z2, &o) == HNTK_OK, "%s", hntk_last_error());
    CHECK(fabs(k[3] - 0.493731) <= 5e-7, "S = %.7f, §6: 0.493731", k[3]);
    CHECK(fabs(k[2] - 0.685709) <= 5e-7, "Theta^f = %.7f, §6: 0.685709", k[2]);
    CHECK(fabs(k[4] - 0.487303) <= 5e-7, "Theta^g = %.7f, §6: 0.487303", k[4]);
    CHECK(fabs(k[0] - 0.334148) <= 5e-7, "Theta^h = %.7f, §6: 0.334148", k[0]);
    CHECK(fabs(k[1] - 0.197902) <= 5e-7, "Lambda^H = %.7f, §6: 0.197902", k[1]);
    CHECK(hntk_limit_cross(&a, HNTK_VARIANT_AUTHORS_CODE, 1, X1, Z1, 1, X2, Z2, &o) == HNTK_OK, "authors");
    CHECK(fabs(k[4] - 0.575974) <= 5e-7, "authors Theta^g = %.7f, §6: 0.575974", k[4]);
    CHECK(fabs(k[0] - 0.394950) <= 5e-7, "authors Theta^h = %.7f, §6: 0.394950", k[0]);
    CHECK(fabs(k[1] - 0.197902) <= 5e-7, "authors Lambda^H = %.7f, unchanged", k[1]);
    a.g_depth = 2;
    hntk_limit_cross(&a, HNTK_VARIANT_PAPER, 1, X1, Z1, 1, X2, Z2, &o);
    CHECK(fabs(k[0] - 0.218268) <= 5e-7, "H = 2: Theta^h = %.7f, §6: 0.218268", k[0]);
    /* x = x', z = z', unit diagonal: Theta^h = L H = 9 and Lambda^H = 1 exactly */
    a.g_depth = 3;
    hntk_limit_cross(&a, HNTK_VARIANT_PAPER, 1, X1, Z1, 1, X1, Z1, &o);
    CHECK(k[0] == 9.0 && k[1] == 1.0 && k[2] == 3.0 && k[3] == 1.0 && k[4] == 3.0,
          "u = u': Theta^h %.17g (9), Lambda^H %.17g (1), Theta^f %.17g (3), S %.17g (1), Theta^g %.17g (3)", k[0],
          k[1], k[2], k[3], k[4]);
}

/* ---- 3. one set: hntk_limit_batch, copies, threads, drawn features ---- */

static void test_one_set_and_threads(void)
{
    enum { B = 301, XD = 4, ZD = 3, K = 9 };
    double *X = malloc(sizeof(double) * B * XD), *Z = malloc(sizeof(double) * B * ZD);
    double *Xc = malloc(sizeof(double) * B * XD), *Zc = malloc(sizeof(double) * B * ZD);
    hntk_random_directions(8, 2000, X, B, XD);
    hntk_random_directions(8, 2001, Z, B, ZD);
    memcpy(Xc, X, sizeof(double) * B * XD);
    memcpy(Zc, Z, sizeof(double) * B * ZD);
    hntk_hyper_arch a = {.f_depth = 3, .x_dim = XD, .g_depth = 2, .z_dim = ZD};
    double *T = malloc(sizeof(double) * B * B), *Lm = malloc(sizeof(double) * B * B);
    CHECK(hntk_limit_batch(&a, HNTK_VARIANT_PAPER, B, X, Z, T, Lm) == HNTK_OK, "batch");
    kernels5 ref = alloc5(B * B);
    for (int threads = 1; threads <= 3; threads++) {
        set_threads(threads);
        kernels5 k = alloc5(B * B), s = alloc5(B * B);
        hntk_cross_out o = out_of(&k), os = out_of(&s);
        /* copies: the full B x B computed; the same arrays: the upper triangle mirrored */
        CHECK(hntk_limit_cross(&a, HNTK_VARIANT_PAPER, B, X, Z, B, Xc, Zc, &o) == HNTK_OK, "copies");
        CHECK(hntk_limit_cross(&a, HNTK_VARIANT_PAPER, B, X, Z, B, X, Z, &os) == HNTK_OK, "same arrays");
        CHECK(count_diff(k.k[0], T, B * B) == 0 && count_diff(k.k[1], Lm, B * B) == 0,
              "%d threads: cross(X, copy of X) differs from hntk_limit_batch", threads);
        for (int q = 0; q < 5; q++)
            CHECK(count_diff(k.k[q], s.k[q], B * B) == 0, "%d threads: %s, mirrored triangle != full matrix",
                  threads, NAMES[q]);
        if (threads == 1)
            for (int q = 0; q < 5; q++) memcpy(ref.k[q], k.k[q], sizeof(double) * B * B);
        else
            for (int q = 0; q < 5; q++)
                CHECK(count_diff(k.k[q], ref.k[q], B * B) == 0, "%s: %d threads differ from 1 thread", NAMES[q],
                      threads);
        free5(&k);
        free5(&s);
    }
    set_threads(2);
    /* drawn features: Phi as z with z_dim = k is the fixed-feature kernel of hntk_limit_batch_zgram */
    hntk_hyper_arch af = a;
    af.fourier_k = K;
    af.fourier_scale = 0.7;
    double *freq = malloc(sizeof(double) * K * ZD), phase[K], *Phi = malloc(sizeof(double) * B * K);
    double *kz = malloc(sizeof(double) * B * B);
    hntk_fourier_draw(&af, 5, HNTK_FOURIER_RUN_SAMPLE, freq, phase);
    hntk_fourier_features(K, ZD, freq, phase, B, Z, Phi);
    hntk_fourier_feature_gram(K, B, Phi, kz);
    hntk_limit_batch_zgram(&a, HNTK_VARIANT_PAPER, B, X, kz, T, Lm);
    hntk_hyper_arch ap = a;
    ap.z_dim = K;
    kernels5 k = alloc5(B * B);
    hntk_cross_out o = out_of(&k);
    CHECK(hntk_limit_cross(&ap, HNTK_VARIANT_PAPER, B, X, Phi, B, X, Phi, &o) == HNTK_OK, "features");
    CHECK(count_diff(k.k[0], T, B * B) == 0 && count_diff(k.k[1], Lm, B * B) == 0,
          "drawn features: cross on Phi differs from hntk_limit_batch_zgram on Phi Phi^T/k");
    free5(&k);
    free5(&ref);
    free(X), free(Z), free(Xc), free(Zc), free(T), free(Lm), free(freq), free(Phi), free(kz);
}

/* ---- 4. bad arguments: refused, with the bad value named ---- */

static void test_errors(void)
{
    double X[4] = {1, 0, 0, 1}, Z[4] = {1, 0, 0, 1}, Xn[4] = {1, 0, NAN, 1}, out[4];
    hntk_hyper_arch a = {.f_depth = 3, .x_dim = 2, .g_depth = 2, .z_dim = 2};
    hntk_cross_out o = {.ntk = out};
    int st = hntk_limit_cross(&a, HNTK_VARIANT_PAPER, 2, X, Z, 2, Xn, Z, &o);
    CHECK(st == HNTK_EINVAL && strstr(hntk_last_error(), "X2[1, 0] = nan"), "NaN in X2: %d %s", st,
          hntk_last_error());
    st = hntk_limit_cross(&a, HNTK_VARIANT_PAPER, 2, X, Z, 0, X, Z, &o);
    CHECK(st == HNTK_EINVAL && strstr(hntk_last_error(), "B2 = 0"), "B2 = 0: %s", hntk_last_error());
    st = hntk_limit_cross(&a, HNTK_VARIANT_PAPER, 2, X, Z, 2, NULL, Z, &o);
    CHECK(st == HNTK_EINVAL && strstr(hntk_last_error(), "X is NULL"), "X2 NULL: %s", hntk_last_error());
    a.g_depth = 40;
    st = hntk_limit_cross(&a, HNTK_VARIANT_PAPER, 2, X, Z, 2, X, Z, &o);
    CHECK(st == HNTK_EINVAL && strstr(hntk_last_error(), "g_depth = 40, accepted range [1, 32]"), "g_depth: %s",
          hntk_last_error());
    a.g_depth = 2;
    st = hntk_limit_cross(&a, (hntk_variant)7, 2, X, Z, 2, X, Z, &o);
    CHECK(st == HNTK_EINVAL && strstr(hntk_last_error(), "variant = 7"), "variant: %s", hntk_last_error());
    CHECK(hntk_limit_cross(&a, HNTK_VARIANT_PAPER, 2, X, Z, 2, X, Z, NULL) == HNTK_OK, "no outputs: nothing to do");
}

int main(void)
{
    test_theory();
    test_reference_values();
    test_one_set_and_threads();
    test_errors();
    return TEST_SUMMARY();
}
