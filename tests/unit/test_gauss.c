/* test_gauss.c: the Gaussianity statistics of `hyperntk thm2` against
 * independent references.
 *   - finite.h: E t^2 = 1 + 5/n and E t^3 from the moments of 2 relu(g)^2
 *     (1, 6, 60) by the multinomial expansion; E h^2 and E h^4 of a dense
 *     finite hypernetwork (40 000 initializations) within 4 standard errors of
 *     the exact formulas, where the Gaussian-process values are rejected;
 *   - the energy distance against a naive double loop, closed forms for tiny
 *     samples, 0 for identical samples, the same bits on 1 and 2 threads;
 *   - power: on 300 replicates of 500 draws, the energy distance (null level
 *     measured on Gaussian pairs), the kurtosis z-test and Anderson-Darling
 *     accept Gaussian draws at their level and reject a unit-variance
 *     Student-t with 5 degrees of freedom at the stated power. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <omp.h>

#include "hyperntk/hyperntk.h"
#include "testing.h"

static void test_finite(void)
{
    const long ns[4] = {1, 7, 100, 1000000};
    for (int k = 0; k < 4; k++) {
        double n = (double)ns[k];
        CHECK_CLOSE(hntk_finite_t_moment(ns[k], 1), 1.0, 1e-13);
        CHECK_CLOSE(hntk_finite_t_moment(ns[k], 2), 1.0 + 5.0 / n, 1e-13);
        /* E t^3 = (n EY^3 + 3 n(n-1) EY^2 EY + n(n-1)(n-2)) / n^3 with EY = 1, EY^2 = 6, EY^3 = 60 */
        double t3 = (60.0 * n + 18.0 * n * (n - 1) + n * (n - 1) * (n - 2)) / (n * n * n);
        CHECK_CLOSE(hntk_finite_t_moment(ns[k], 3), t3, 1e-12);
    }
    double v, kurt;
    /* leading orders: 15 H^2 (L-1)/n with g infinite, 15 (H-1)/m with f infinite */
    hntk_finite_output_moments(3, 2, 1000000, 0, &v, &kurt);
    CHECK_CLOSE(kurt * 1e6, 120.0, 1e-3);
    hntk_finite_output_moments(3, 2, 0, 40, &v, &kurt);
    CHECK_CLOSE(kurt, 15.0 / 40.0, 1e-13);
    CHECK(v == 1.0, "f infinite: variance ratio %.17g, want 1", v);
    CHECK(hntk_finite_output_moments(0, 2, 5, 5, &v, &kurt) == HNTK_EINVAL && strstr(hntk_last_error(), "L = 0"),
          "L = 0: %s", hntk_last_error());

    /* Monte Carlo of a dense hypernetwork: L = 3, n = 30, H = 2, m = 10, one input */
    hntk_hyper_arch a = {.f_depth = 3, .f_width = 30, .x_dim = 3, .g_depth = 2, .g_width = 10, .z_dim = 2,
                         .fourier_scale = 1.0};
    double x[3] = {1.0, -1.0, 1.0}, z[2] = {1.0, 1.0};
    enum { N = 40000 };
    hntk_net *net;
    hntk_net_alloc(&a, 1, 0, &net);
    double s2 = 0, s4 = 0, s22 = 0, s44 = 0, h;
    for (long i = 0; i < N; i++) {
        hntk_net_sample_weights(net, 21, (uint32_t)i);
        hntk_net_forward(net, 1, x, z, &h);
        double h2 = h * h, h4 = h2 * h2;
        s2 += h2; s22 += h2 * h2; s4 += h4; s44 += h4 * h4;
    }
    hntk_net_free(net);
    double m2 = s2 / N, m4 = s4 / N, se2 = sqrt((s22 / N - m2 * m2) / N), se4 = sqrt((s44 / N - m4 * m4) / N);
    hntk_finite_output_moments(3, 2, 30, 10, &v, &kurt);
    double want4 = (kurt + 3.0) * v * v;
    CHECK(fabs(m2 - v) < 4 * se2, "E h^2 = %.5g +- %.2g, exact %.5g", m2, se2, v);
    CHECK(fabs(m4 - want4) < 4 * se4, "E h^4 = %.5g +- %.2g, exact %.5g", m4, se4, want4);
    CHECK(fabs(m2 - 1.0) > 10 * se2 && m4 - 3.0 > 4 * se4, "the test cannot tell the GP values (1, 3) apart");
    printf("finite n = 30, m = 10: E h^2 = %.4f +- %.4f (exact %.4f, GP 1), E h^4 = %.3f +- %.3f (exact %.3f, GP 3), "
           "excess kurtosis %.3f\n", m2, se2, v, m4, se4, want4, kurt);
}

static double naive_energy(const double *a, long na, const double *b, long nb, long d)
{
    double ab = 0, aa = 0, bb = 0;
    for (long i = 0; i < na; i++)
        for (long j = 0; j < nb; j++) {
            double s = 0;
            for (long k = 0; k < d; k++) s += pow(a[i * d + k] - b[j * d + k], 2);
            ab += sqrt(s);
        }
    for (long i = 0; i < na; i++)
        for (long j = 0; j < na; j++) {
            double s = 0;
            for (long k = 0; k < d; k++) s += pow(a[i * d + k] - a[j * d + k], 2);
            aa += sqrt(s);
        }
    for (long i = 0; i < nb; i++)
        for (long j = 0; j < nb; j++) {
            double s = 0;
            for (long k = 0; k < d; k++) s += pow(b[i * d + k] - b[j * d + k], 2);
            bb += sqrt(s);
        }
    return 2 * ab / (na * nb) - aa / (na * (double)na) - bb / (nb * (double)nb);
}

static void normals(uint64_t key, uint32_t s, double *x, long n)
{
    hntk_stream st;
    hntk_stream_init(&st, key, s, HNTK_TENSOR_BENCH, 0);
    hntk_stream_normals(&st, x, (size_t)n);
}

static void test_energy(void)
{
    double work[16], E;
    double a1[1] = {0}, b1[1] = {1}, a2[2] = {0, 1};
    hntk_stats_energy_distance(a1, 1, b1, 1, 1, work, &E);
    CHECK(E == 2.0, "E({0}, {1}) = %.17g, want 2", E);
    hntk_stats_energy_distance(a2, 2, a1, 1, 1, work, &E);
    CHECK(E == 0.5, "E({0,1}, {0}) = %.17g, want 0.5", E);
    enum { NA = 300, NB = 200, D = 3 };
    double *a = malloc(sizeof(double) * NA * D), *b = malloc(sizeof(double) * NB * D), *w = malloc(sizeof(double) * 2 * NA);
    normals(1, 0, a, NA * D);
    normals(1, 1, b, NB * D);
    for (long i = 0; i < NB * D; i++) b[i] = 1.3 * b[i] + 0.2;
    double E1, E2;
    omp_set_num_threads(1);
    hntk_stats_energy_distance(a, NA, b, NB, D, w, &E1);
    omp_set_num_threads(2);
    hntk_stats_energy_distance(a, NA, b, NB, D, w, &E2);
    CHECK(E1 == E2, "energy distance on 1 and 2 threads: %.17g vs %.17g", E1, E2);
    CHECK_CLOSE(E1, naive_energy(a, NA, b, NB, D), 1e-12);
    hntk_stats_energy_distance(a, NA, a, NA, D, w, &E);
    CHECK(fabs(E) < 1e-14, "identical samples: E = %.3g", E);
    CHECK(hntk_stats_energy_distance(a, 0, b, NB, D, w, &E) == HNTK_EINVAL && strstr(hntk_last_error(), "0 and 200"),
          "na = 0: %s", hntk_last_error());
    free(a);
    free(b);
    free(w);
}

static double normal_cdf(double x, void *arg) { (void)arg; return gsl_cdf_ugaussian_P(x); }

/* Power: 300 replicates of 500 draws; Gaussian vs Student-t(5) scaled to unit variance. */
static void test_power(void)
{
    enum { R = 300, N = 500 };
    double *x = malloc(sizeof(double) * N), *ref = malloc(sizeof(double) * N), *w = malloc(sizeof(double) * 2 * N),
           *nul = malloc(sizeof(double) * R), *sc = malloc(sizeof(double) * R), *ch = malloc(sizeof(double) * 5 * N);
    /* the energy distance's null: Gaussian pairs */
    for (int r = 0; r < R; r++) {
        normals(7, (uint32_t)(2 * r), x, N);
        normals(7, (uint32_t)(2 * r + 1), ref, N);
        hntk_stats_energy_distance(x, N, ref, N, 1, w, &nul[r]);
    }
    double p95 = 0.95, q95;
    hntk_stats_quantiles(nul, 1, R, &p95, 1, sc, &q95);
    int rej[2][4] = {{0}};
    hntk_stats_moments *m;
    hntk_stats_moments_alloc(1, &m);
    for (int kind = 0; kind < 2; kind++)
        for (int r = 0; r < R; r++) {
            normals(8, (uint32_t)r, x, N);
            if (kind == 1) {
                normals(9, (uint32_t)r, ch, 5 * N);
                for (long i = 0; i < N; i++) {
                    double c = 0;
                    for (int k = 0; k < 5; k++) c += ch[5 * i + k] * ch[5 * i + k];
                    x[i] = x[i] / sqrt(c / 5.0) / sqrt(5.0 / 3.0);
                }
            }
            normals(10, (uint32_t)r, ref, N);
            double E, D, p, a2, a2s, pad;
            hntk_stats_energy_distance(x, N, ref, N, 1, w, &E);
            hntk_stats_ks1(x, N, normal_cdf, NULL, w, &D, &p);
            hntk_stats_anderson_normal(x, N, w, &a2, &a2s, &pad);
            hntk_stats_moments_reset(m);
            hntk_stats_moments_push_n(m, x, N);
            hntk_stats_summary s;
            hntk_stats_moments_summary(m, 0, &s);
            rej[kind][0] += E > q95;
            rej[kind][1] += p < 0.05;
            rej[kind][2] += pad < 0.05;
            rej[kind][3] += fabs(s.kurt / s.kurt_se) > 1.96;
        }
    hntk_stats_moments_free(m);
    static const char *name[4] = {"energy distance", "KS vs N(0,1)", "Anderson-Darling", "kurtosis z"};
    /* stated power against t(5) at N = 500: measured 0.26, 0.50, 0.97, 0.997 on these streams, stated
     * about 4 binomial standard deviations lower; level 0.05 within 3 binomial sd (kurtosis z: at most) */
    static const double power[4] = {0.15, 0.35, 0.90, 0.95};
    double sd = sqrt(0.05 * 0.95 / R);
    for (int k = 0; k < 4; k++) {
        double lvl = rej[0][k] / (double)R, pw = rej[1][k] / (double)R;
        printf("%-17s level %.3f, power against t(5) %.3f (N = %d, %d replicates)\n", name[k], lvl, pw, N, R);
        if (k != 3) CHECK(fabs(lvl - 0.05) < 3 * sd + 0.5 / R, "%s: level %.3f on Gaussian draws", name[k], lvl);
        else CHECK(lvl < 0.05 + 3 * sd, "%s: level %.3f on Gaussian draws", name[k], lvl);
        CHECK(pw >= power[k], "%s: power %.3f < %.2f against t(5)", name[k], pw, power[k]);
    }
    free(x); free(ref); free(w); free(nul); free(sc); free(ch);
}

int main(void)
{
    test_finite();
    test_energy();
    test_power();
    return TEST_SUMMARY();
}
