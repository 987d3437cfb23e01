/* test_stats.c: the statistics module (src/stats.c).
 *
 * Reference values come from numpy 1.24.2 / scipy 1.10.1 (/usr/bin/python3)
 * on the literal data sets below; each block names the call that produced
 * them (printed with repr(float(...)): the shortest round-trip decimal).
 * Closed forms are used where they exist.  Tolerances are in units of
 * DBL_EPSILON (EPS) times a stated factor for the conditioning of the
 * computation; the Monte Carlo checks use a fixed seed, so they are fixed
 * numbers, with bounds of several standard errors of the check itself.
 */
#include <float.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "hyperntk/error.h"
#include "hyperntk/rng.h"
#include "hyperntk/stats.h"
#include "testing.h"

#define EPS DBL_EPSILON
#define N_OF(a) ((long)(sizeof(a) / sizeof((a)[0])))

/* ---- data sets (literal; the Python lines that produced the references are in each test) ---- */

static const double X12[12] = {2.1, -0.7, 3.3, 1.8, 0.4, 5.9, -1.2, 2.6, 0.9, 4.4, 1.1, 7.3};

/* ------------------------------------------------------------------ moments */

static void test_moments_reference(void)
{
    /* x = np.array(X12); n = 12
     * x.mean(), x.var(ddof=1), st.skew(x, bias=False), st.kurtosis(x, bias=False), st.sem(x)
     * m4 = np.mean((x - x.mean())**4); np.sqrt((m4 - (n-3)/(n-1) * x.var(ddof=1)**2) / n)
     * ses = np.sqrt(6n(n-1)/((n-2)(n+1)(n+3))); 2 ses np.sqrt((n^2-1)/((n-3)(n+5))) */
    hntk_stats_moments *m = NULL;
    CHECK(hntk_stats_moments_alloc(2, &m) == HNTK_OK, "alloc: %s", hntk_last_error());
    for (int i = 0; i < 12; i++) {
        double v[2] = {X12[i], X12[i] * X12[i]};
        hntk_stats_moments_push(m, v);
    }
    hntk_stats_summary s;
    CHECK(hntk_stats_moments_summary(m, 0, &s) == HNTK_OK, "summary: %s", hntk_last_error());
    CHECK(s.count == 12, "count %ld", s.count);
    CHECK_CLOSE(s.mean, 2.325, 8 * EPS);
    CHECK_CLOSE(s.var, 6.545681818181818, 16 * EPS);
    CHECK_CLOSE(s.mean_se, 0.7385617677950064, 16 * EPS);
    CHECK_CLOSE(s.var_se, 2.096677085958039, 64 * EPS);
    CHECK_CLOSE(s.skew, 0.6201750232539287, 64 * EPS);
    CHECK_CLOSE(s.kurt, -0.1581066960393387, 256 * EPS); /* G2 cancels: |G2| << (n+1) g2 + 6 terms */
    CHECK_CLOSE(s.skew_se, 0.6373020054525532, 4 * EPS);
    CHECK_CLOSE(s.kurt_se, 1.2322464739446488, 4 * EPS);
    /* the vector form agrees with the summaries */
    double fv[2], fse[2];
    hntk_stats_moments_finish(m, fv, fse);
    CHECK(fv[0] == s.var && fse[0] == s.mean_se, "moments_finish: %.17g %.17g vs %.17g %.17g", fv[0], fse[0], s.var,
          s.mean_se);
    /* component 1 (x^2): np.var(x**2, ddof=1), st.skew(x**2, bias=False), st.kurtosis(x**2, bias=False) */
    CHECK(hntk_stats_moments_summary(m, 1, &s) == HNTK_OK, "summary 1");
    CHECK_CLOSE(s.var, 278.54075378787877, 16 * EPS);
    CHECK_CLOSE(s.skew, 1.8738345602842106, 64 * EPS);
    CHECK_CLOSE(s.kurt, 2.97836946046805, 64 * EPS);

    /* shifted by 1e8 (power sums would lose all 16 digits of m4 here), xs = 1e8 + x
     * as doubles.  Reference: exact rational arithmetic on those doubles
     * (fractions.Fraction in Python: m = sum(xs)/n, c_k = sum((v - m)^k)/n, then
     * the formulas of stats.h in float).  scipy.stats.skew/kurtosis(bias=False)
     * on xs are themselves off here (0.6201750391053971, -0.15810668275237516:
     * 2.5e-8 and 1e-7 relative; they centre on the rounded mean), and so is a
     * one-pass update without the shift (~1e-8). */
    hntk_stats_moments_reset(m);
    for (int i = 0; i < 12; i++) {
        double v[2] = {1e8 + X12[i], 0.0};
        hntk_stats_moments_push(m, v);
    }
    hntk_stats_moments_summary(m, 0, &s);
    CHECK_CLOSE(s.mean, 100000002.325, 4 * EPS);
    CHECK_CLOSE(s.var, 6.545681822557341, 16 * EPS);
    CHECK_CLOSE(s.var_se, 2.096677086294471, 64 * EPS);
    CHECK_CLOSE(s.skew, 0.6201750233798257, 64 * EPS);
    CHECK_CLOSE(s.kurt, -0.15810669840470706, 256 * EPS);
    /* ... where power sums lose kappa^2 eps, kappa = mean/sd = 4e7: every digit */
    double s1 = 0.0, s2 = 0.0;
    for (int i = 0; i < 12; i++) {
        s1 += 1e8 + X12[i];
        s2 += (1e8 + X12[i]) * (1e8 + X12[i]);
    }
    double naive = (s2 - s1 * s1 / 12.0) / 11.0;
    CHECK(testing_rel_err(naive, 6.5456818225573405) > 1e-3,
          "power sums were expected to fail here (rel err %g): the test is not discriminating",
          testing_rel_err(naive, 6.5456818225573405));
    hntk_stats_moments_free(m);
}

/* 1..N: mean (N+1)/2, variance N(N+1)/12, skewness 0 (closed forms); merge of
 * halves agrees with one pass; push_n is bit-identical to single pushes. */
static void test_moments_closed_form_and_merge(void)
{
    enum { N = 1001 };
    hntk_stats_moments *all = NULL, *a = NULL, *b = NULL, *c = NULL;
    hntk_stats_moments_alloc(1, &all);
    hntk_stats_moments_alloc(1, &a);
    hntk_stats_moments_alloc(1, &b);
    hntk_stats_moments_alloc(1, &c);
    static double seq[N];
    for (int i = 0; i < N; i++) seq[i] = (double)(i + 1);
    for (int i = 0; i < N; i++) hntk_stats_moments_push(all, &seq[i]);
    hntk_stats_moments_push_n(c, seq, N);
    CHECK(c->mean[0] == all->mean[0] && c->m2[0] == all->m2[0] && c->m3[0] == all->m3[0] && c->m4[0] == all->m4[0],
          "push_n differs from single pushes");
    hntk_stats_summary s, t;
    hntk_stats_moments_summary(all, 0, &s);
    CHECK_CLOSE(s.mean, (N + 1) / 2.0, 4 * EPS);
    CHECK_CLOSE(s.var, N * (N + 1) / 12.0, 64 * EPS);
    CHECK(fabs(s.skew) < 1e-12, "skewness of 1..N = %g, want 0", s.skew);
    /* sample excess kurtosis G2 of 1..N: population value -6(N^2+1)/(5(N^2-1))
     * through the G2 adjustment of g2 (g2 = population value for the full sequence) */
    double g2 = -6.0 * ((double)N * N + 1) / (5.0 * ((double)N * N - 1)), n = N;
    double G2 = ((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3));
    CHECK_CLOSE(s.kurt, G2, 1e-12);

    hntk_stats_moments_push_n(a, seq, 400);
    hntk_stats_moments_push_n(b, seq + 400, N - 400);
    CHECK(hntk_stats_moments_merge(a, b) == HNTK_OK, "merge");
    hntk_stats_moments_summary(a, 0, &t);
    CHECK(t.count == N, "merged count %ld", t.count);
    CHECK_CLOSE(t.mean, s.mean, 8 * EPS);
    CHECK_CLOSE(t.var, s.var, 64 * EPS);
    CHECK(fabs(t.skew) < 1e-12, "merged skewness %g", t.skew);
    CHECK_CLOSE(t.kurt, s.kurt, 1e-12);
    /* merging into / from empty */
    hntk_stats_moments_reset(c);
    hntk_stats_moments_merge(c, all);
    CHECK(c->count == N && c->m4[0] == all->m4[0], "merge into empty copies");
    hntk_stats_moments_reset(b);
    double m4 = c->m4[0];
    hntk_stats_moments_merge(c, b);
    CHECK(c->count == N && c->m4[0] == m4, "merge of empty is a no-op");

    /* a merge of uneven, shifted parts against the scipy reference of X12 (the
     * M3/M4 cross terms matter only when the means differ) */
    hntk_stats_moments_reset(a);
    hntk_stats_moments_reset(b);
    hntk_stats_moments_push_n(a, X12, 5);
    hntk_stats_moments_push_n(b, X12 + 5, 7);
    hntk_stats_moments_merge(a, b);
    hntk_stats_moments_summary(a, 0, &t);
    CHECK_CLOSE(t.var, 6.545681818181818, 16 * EPS);
    CHECK_CLOSE(t.var_se, 2.096677085958039, 64 * EPS);
    CHECK_CLOSE(t.skew, 0.6201750232539287, 64 * EPS);
    CHECK_CLOSE(t.kurt, -0.1581066960393387, 256 * EPS);
    /* the same split on 1e8 + X12: the shifts of the parts differ; the exact
     * rational reference of test_moments_reference */
    hntk_stats_moments_reset(a);
    hntk_stats_moments_reset(b);
    for (int i = 0; i < 12; i++) {
        double v = 1e8 + X12[i];
        hntk_stats_moments_push(i < 5 ? a : b, &v);
    }
    hntk_stats_moments_merge(a, b);
    hntk_stats_moments_summary(a, 0, &t);
    CHECK_CLOSE(t.mean, 100000002.325, 4 * EPS);
    CHECK_CLOSE(t.var, 6.545681822557341, 16 * EPS);
    CHECK_CLOSE(t.skew, 0.6201750233798257, 64 * EPS);
    CHECK_CLOSE(t.kurt, -0.15810669840470706, 256 * EPS);
    hntk_stats_moments_free(all);
    hntk_stats_moments_free(a);
    hntk_stats_moments_free(b);
    hntk_stats_moments_free(c);
}

/* Each estimate against its own error bar: K samples of n normals (stream
 * (seed 12345, sample k, tensor 0, row 0)); the spread (SD) over the K samples
 * of the mean, variance, G1 and G2 against the RMS of their standard errors.
 * The SD of K = 4000 values is known to 1/sqrt(2K) = 1.1% (to ~1.5% for s^2
 * and G2, whose distributions have heavier tails), so a 5% bound is 3-4 of
 * its standard errors.  The SE formulas are large-sample: their O(1/n) bias
 * is ~1% at n = 200 (at n = 40 the SE of s^2 is already ~5% low). */
static void test_moments_monte_carlo(void)
{
    enum { K = 4000, NS = 200 };
    hntk_stats_moments *one = NULL, *est = NULL, *se = NULL;
    hntk_stats_moments_alloc(1, &one);
    hntk_stats_moments_alloc(4, &est);
    hntk_stats_moments_alloc(4, &se);
    static double x[NS];
    for (long k = 0; k < K; k++) {
        hntk_stream s;
        hntk_stream_init(&s, 12345, (uint32_t)k, 0, 0);
        hntk_stream_normals(&s, x, NS);
        hntk_stats_moments_reset(one);
        hntk_stats_moments_push_n(one, x, NS);
        hntk_stats_summary q;
        hntk_stats_moments_summary(one, 0, &q);
        double e[4] = {q.mean, q.var, q.skew, q.kurt};
        double f[4] = {q.mean_se * q.mean_se, q.var_se * q.var_se, q.skew_se * q.skew_se, q.kurt_se * q.kurt_se};
        hntk_stats_moments_push(est, e);
        hntk_stats_moments_push(se, f);
    }
    const char *names[4] = {"mean", "variance", "skewness G1", "kurtosis G2"};
    for (int j = 0; j < 4; j++) {
        hntk_stats_summary a, b;
        hntk_stats_moments_summary(est, j, &a);
        hntk_stats_moments_summary(se, j, &b);
        double ratio = sqrt(a.var) / sqrt(b.mean);
        CHECK(fabs(ratio - 1.0) < 0.05, "%s: spread over %d samples / RMS SE = %.4f, want 1 +- 0.05", names[j], K,
              ratio);
    }
    /* and the estimates are unbiased to within their error: E mean = 0, E s^2 = 1,
     * E G1 = 0 and E G2 = 0 for a normal (G1, G2 unbiased under normality) */
    const double truth[4] = {0.0, 1.0, 0.0, 0.0};
    for (int j = 0; j < 4; j++) {
        hntk_stats_summary a;
        hntk_stats_moments_summary(est, j, &a);
        double z = (a.mean - truth[j]) / a.mean_se;
        CHECK(fabs(z) < 4.0, "%s: average %.5f is %.2f standard errors from %g", names[j], a.mean, z, truth[j]);
    }
    hntk_stats_moments_free(one);
    hntk_stats_moments_free(est);
    hntk_stats_moments_free(se);
}

/* ---------------------------------------------------------------- quantiles */

static void test_quantiles(void)
{
    /* np.quantile(X12, [0, 0.1, 0.25, 0.5, 0.9, 1]) (type 7) */
    const double p[6] = {0, 0.1, 0.25, 0.5, 0.9, 1};
    const double want[6] = {-1.2, -0.5899999999999999, 0.775, 1.9500000000000002, 5.750000000000001, 7.3};
    double scratch[12], q[6], copy[12];
    memcpy(copy, X12, sizeof copy);
    CHECK(hntk_stats_quantiles(copy, 1, 12, p, 6, scratch, q) == HNTK_OK, "quantiles: %s", hntk_last_error());
    for (int j = 0; j < 6; j++) CHECK_CLOSE(q[j], want[j], 4 * EPS);
    CHECK(!memcmp(copy, X12, sizeof copy), "quantiles modified its input");
    double med;
    /* np.median(X12[:11]) = 1.8 (odd: the middle value); np.median(X12) = 1.95 (even) */
    hntk_stats_median(X12, 1, 11, scratch, &med);
    CHECK(med == 1.8, "median of 11 = %.17g, want 1.8", med);
    hntk_stats_median(X12, 1, 12, scratch, &med);
    CHECK_CLOSE(med, 1.9500000000000002, 2 * EPS);
    /* strided: X12[0::2] = 2.1 3.3 0.4 -1.2 0.9 1.1, sorted -1.2 0.4 0.9 1.1 2.1 3.3:
     * np.median(X12[0::2]) = 1.0 */
    hntk_stats_median(X12, 2, 6, scratch, &med);
    CHECK_CLOSE(med, 1.0, 2 * EPS);

    /* percentile intervals: v below; fv = v[np.isfinite(v)] (18 values);
     * np.quantile(fv, 0.025), np.quantile(fv, 0.975); np.quantile(fv, [0.1, 0.9]) */
    const double v[20] = {0.3, 1.7, -2.2, 0.8, 5.1, 2.4, -0.6, 1.9, 3.3, 0.05, NAN, INFINITY, 4.2, -1.1, 2.8, 0.6,
                          1.2, 2.0, -0.3, 3.9};
    double ci[2], sc[20];
    CHECK(hntk_stats_percentile_ci(v, 1, 20, 0.95, 0.1, sc, ci) == HNTK_OK, "ci: %s", hntk_last_error());
    CHECK_CLOSE(ci[0], -1.7325000000000002, 4 * EPS);
    CHECK_CLOSE(ci[1], 4.717499999999999, 4 * EPS);
    hntk_stats_percentile_ci(v, 1, 20, 0.8, 0.1, sc, ci);
    CHECK_CLOSE(ci[0], -0.7499999999999999, 4 * EPS);
    CHECK_CLOSE(ci[1], 3.99, 4 * EPS);
    /* 2 of 20 dropped is over max_drop = 5%: an undecided interval, status OK */
    CHECK(hntk_stats_percentile_ci(v, 1, 20, 0.95, 0.05, sc, ci) == HNTK_OK && isnan(ci[0]) && isnan(ci[1]),
          "too many non-finite values must give NaN");
    /* the bootstrap summary: the same interval, and np.std(fv, ddof=1) */
    double se;
    CHECK(hntk_stats_bootstrap_interval(v, 1, 20, 0.95, 0.1, sc, ci, &se) == HNTK_OK, "summary: %s",
          hntk_last_error());
    CHECK_CLOSE(ci[0], -1.7325000000000002, 4 * EPS);
    CHECK_CLOSE(ci[1], 4.717499999999999, 4 * EPS);
    CHECK_CLOSE(se, 1.9581257712281182, 8 * EPS);
}

/* ---------------------------------------------------------------- bootstrap */

typedef struct {
    const double *data;
    double *scratch; /* (2n) */
    long calls;      /* replicates this context (thread) computed */
    int id;          /* 0 or 1: the thread */
} boot_ctx;

/* In the 2-thread run each thread's first replicate waits (at most 5 s) for
 * the other thread to start one, so both threads really share the work even
 * on a loaded machine (the replicates are cheap: unforced, one thread may
 * take them all before the other is scheduled). */
static _Atomic long thread_calls[2];
static int wait_for_both;

/* out = (mean, median) of the resample, then the first index (a probe of the stream) */
static int boot_mean_median(void *vctx, long replicate, const long *idx, long n, double *out)
{
    boot_ctx *c = vctx;
    (void)replicate;
    c->calls++;
#ifdef _OPENMP
    if (wait_for_both && thread_calls[c->id]++ == 0) {
        double t0 = omp_get_wtime();
        while (thread_calls[1 - c->id] == 0 && omp_get_wtime() - t0 < 5.0) continue;
    }
#endif
    double sum = 0.0;
    for (long i = 0; i < n; i++) {
        c->scratch[i] = c->data[idx[i]];
        sum += c->scratch[i];
    }
    out[0] = sum / (double)n;
    double med;
    int st = hntk_stats_median(c->scratch, 1, n, c->scratch + n, &med);
    out[1] = med;
    out[2] = (double)idx[0];
    return st;
}

static int boot_fail_odd(void *vctx, long replicate, const long *idx, long n, double *out)
{
    (void)vctx;
    (void)idx;
    (void)n;
    out[0] = 0.0;
    if (replicate % 2 == 1) return hntk_fail(HNTK_EINVAL, "probe failure at replicate %ld", replicate);
    return HNTK_OK;
}

/* The test's own Lemire draw from the documented stream layout (32-bit
 * halves, independent of stats.c's multiply). */
static long ref_index(hntk_stream *s, uint64_t n)
{
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = hntk_stream_u64(s);
        uint64_t x0 = x & 0xffffffffu, x1 = x >> 32, n0 = n & 0xffffffffu, n1 = n >> 32;
        uint64_t p00 = x0 * n0, p01 = x0 * n1, p10 = x1 * n0, p11 = x1 * n1;
        uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
        uint64_t hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32), lo = (mid << 32) | (p00 & 0xffffffffu);
        if (lo >= threshold) return (long)hi;
    }
}

static void test_bootstrap_indices(void)
{
    /* stream layout: (key, replicate, HNTK_STATS_TENSOR_BOOTSTRAP, row), one
     * Lemire draw per index; checked with n = 3 2^60, where 2^64 mod n = 2^60
     * and 1/16 of the draws are rejected */
    enum { M = 2000 };
    static long idx[M];
    const uint64_t key = 0xfeedbeefULL;
    const long big = 3L << 60;
    CHECK(hntk_stats_bootstrap_indices(key, 17, 5, big, M, idx) == HNTK_OK, "indices: %s", hntk_last_error());
    hntk_stream s;
    hntk_stream_init(&s, key, 17, HNTK_STATS_TENSOR_BOOTSTRAP, 5);
    int same = 1, inside = 1;
    for (long i = 0; i < M; i++) {
        same &= idx[i] == ref_index(&s, (uint64_t)big);
        inside &= idx[i] >= 0 && idx[i] < big;
    }
    CHECK(same, "bootstrap indices do not follow the documented stream layout");
    CHECK(inside, "bootstrap index out of range");
    CHECK(HNTK_STATS_TENSOR_BOOTSTRAP == HNTK_TENSOR_BOOTSTRAP, "the tensor id is the registry's");

    /* uniform: n = 7, 70000 indices, Pearson chi^2 with 6 degrees of freedom
     * (fixed seed: a fixed number; p < 1e-3 would mean a bias) */
    enum { MU = 70000 };
    static long u[MU];
    hntk_stats_bootstrap_indices(key, 0, 0, 7, MU, u);
    long count[7] = {0};
    for (long i = 0; i < MU; i++) count[u[i]]++;
    double chi2 = 0.0;
    for (int k = 0; k < 7; k++) chi2 += (count[k] - 10000.0) * (count[k] - 10000.0) / 10000.0;
    CHECK(gsl_cdf_chisq_Q(chi2, 6) > 1e-3, "index chi^2 = %g (6 dof)", chi2);
    /* the first m indices do not depend on m (a prefix) */
    long pre[10];
    hntk_stats_bootstrap_indices(key, 0, 0, 7, 10, pre);
    CHECK(!memcmp(pre, u, sizeof pre), "indices are not a prefix-stable stream");
    /* n = 1: always 0 */
    hntk_stats_bootstrap_indices(key, 3, 0, 1, 10, pre);
    int zero = 1;
    for (int i = 0; i < 10; i++) zero &= pre[i] == 0;
    CHECK(zero, "n = 1 must give index 0");
}

static void test_bootstrap_run(void)
{
    enum { N = 30, B = 2000, DIM = 3 };
    static double data[N], out1[B * DIM], out2[B * DIM], part[7 * DIM];
    hntk_stream s;
    hntk_stream_init(&s, 99, 0, 0, 0);
    hntk_stream_normals(&s, data, N);
    static double scratch[2][2 * N];
    boot_ctx c[2] = {{data, scratch[0], 0, 0}, {data, scratch[1], 0, 1}};
    void *ctx[2] = {&c[0], &c[1]};
    static long ws[2 * N];
    hntk_stats_bootstrap_job job = {.key = 2024, .row = 3, .n = N, .replicates = B, .first = 0, .dim = DIM,
                                    .threads = 1, .ctx = ctx, .fn = boot_mean_median};
    CHECK(hntk_stats_bootstrap_run(&job, ws, out1) == HNTK_OK, "bootstrap 1 thread: %s", hntk_last_error());
    CHECK(c[0].calls == B && c[1].calls == 0, "1 thread: calls %ld %ld", c[0].calls, c[1].calls);
    c[0].calls = 0;
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    omp_set_num_threads(2); /* whatever OMP_NUM_THREADS says */
#endif
    job.threads = 2;
    wait_for_both = 1;
    CHECK(hntk_stats_bootstrap_run(&job, ws, out2) == HNTK_OK, "bootstrap 2 threads: %s", hntk_last_error());
    CHECK(!memcmp(out1, out2, sizeof out1), "bootstrap differs between 1 and 2 threads");
#ifdef _OPENMP
    /* both threads took some replicates */
    CHECK(c[0].calls > 0 && c[1].calls > 0 && c[0].calls + c[1].calls == B, "2 threads: calls %ld + %ld",
          c[0].calls, c[1].calls);
    omp_set_num_threads(saved);
#endif
    wait_for_both = 0;
    /* replicates 1000..1006 alone: the same rows (a function of (key, replicate) only) */
    job.first = 1000;
    job.replicates = 7;
    hntk_stats_bootstrap_run(&job, ws, part);
    CHECK(!memcmp(part, out1 + 1000 * DIM, sizeof part), "replicates depend on more than (key, replicate)");
    /* the first index of replicate b is that of hntk_stats_bootstrap_indices */
    long first_idx;
    hntk_stats_bootstrap_indices(2024, 1234, 3, N, 1, &first_idx);
    CHECK(out1[1234 * DIM + 2] == (double)first_idx, "replicate 1234 first index %g, want %ld", out1[1234 * DIM + 2],
          first_idx);
    /* another row: different resamples */
    job.first = 0;
    job.row = 4;
    hntk_stats_bootstrap_run(&job, ws, part);
    CHECK(memcmp(part, out1, sizeof part) != 0, "rows 3 and 4 gave the same resamples");

    /* the bootstrap SD of the mean against its expectation sqrt((n-1)/n) s/sqrt(n)
     * (the plug-in variance of the resampled mean); B = 2000 replicates know
     * the SD to 1/sqrt(2B) = 1.6%, bound 6% */
    hntk_stats_moments *m = NULL, *d = NULL;
    hntk_stats_moments_alloc(DIM, &m);
    hntk_stats_moments_alloc(1, &d);
    hntk_stats_moments_push_n(m, out1, B);
    hntk_stats_moments_push_n(d, data, N);
    hntk_stats_summary bm, dd;
    hntk_stats_moments_summary(m, 0, &bm);
    hntk_stats_moments_summary(d, 0, &dd);
    double want = sqrt((N - 1.0) / N) * dd.mean_se;
    CHECK(fabs(sqrt(bm.var) / want - 1.0) < 0.06, "bootstrap SD of the mean %.4g, want %.4g", sqrt(bm.var), want);
    CHECK(fabs(bm.mean - dd.mean) < 4.0 * bm.mean_se + 1e-12, "bootstrap mean %.5g far from the data mean %.5g",
          bm.mean, dd.mean);
    /* percentile interval of the mean replicates (column 0 of (B, DIM)) covers the mean */
    static double sc[B];
    double ci[2];
    CHECK(hntk_stats_percentile_ci(out1, DIM, B, 0.95, 0.0, sc, ci) == HNTK_OK, "ci");
    CHECK(ci[0] < dd.mean && dd.mean < ci[1], "95%% interval [%g, %g] misses the mean %g", ci[0], ci[1], dd.mean);
    /* normal-theory width 2 * 1.96 SD within 10% */
    CHECK(fabs((ci[1] - ci[0]) / (2 * 1.959963984540054 * want) - 1.0) < 0.10, "interval width %g", ci[1] - ci[0]);
    hntk_stats_moments_free(m);
    hntk_stats_moments_free(d);

    /* a failing statistic: the lowest failing replicate's status and message
     * (set on a worker thread, reported on this one) */
    hntk_fail(HNTK_OK, "%s", "");
    hntk_stats_bootstrap_job bad = {.key = 1, .n = N, .replicates = 64, .dim = 1, .threads = 2,
                                    .fn = boot_fail_odd};
    static double o[64];
    CHECK(hntk_stats_bootstrap_run(&bad, ws, o) == HNTK_EINVAL, "failure status");
    CHECK(!strcmp(hntk_last_error(), "probe failure at replicate 1"), "failure message '%s'", hntk_last_error());
}

/* --------------------------------------------------------------------- fits */

static void test_loglog(void)
{
    /* exact power law y = 5 x^-1.5: slope -1.5, intercept log 5, SE ~ 0 */
    double x[6] = {16, 32, 64, 128, 256, 512}, y[6];
    for (int i = 0; i < 6; i++) y[i] = 5.0 * pow(x[i], -1.5);
    double slope, se, c0;
    CHECK(hntk_stats_loglog_slope(x, 1, y, 1, 6, NULL, &slope, &se, &c0) == HNTK_OK, "loglog: %s", hntk_last_error());
    CHECK_CLOSE(slope, -1.5, 64 * EPS);
    CHECK_CLOSE(c0, log(5.0), 1024 * EPS); /* intercept at log x = 0, extrapolated from log x ~ 3..6 */
    CHECK(se < 1e-13, "SE of an exact power law = %g", se);
    /* noisy: st.linregress(np.log(X), np.log(Y)) -> slope, stderr, intercept */
    const double Y[6] = {0.91, 0.62, 0.47, 0.30, 0.225, 0.148};
    CHECK(hntk_stats_loglog_slope(x, 1, Y, 1, 6, NULL, &slope, &se, &c0) == HNTK_OK, "loglog");
    CHECK_CLOSE(slope, -0.5181735641578933, 64 * EPS);
    CHECK_CLOSE(se, 0.014276354523436176, 1e-12); /* a difference of near-equal sums of squares */
    CHECK_CLOSE(c0, 1.3456852509031627, 256 * EPS);
    /* strided y (thm1: one column of (W, R)), and a caller workspace */
    double Y2[12], work[12];
    for (int i = 0; i < 6; i++) {
        Y2[2 * i] = Y[i];
        Y2[2 * i + 1] = -1.0;
    }
    double slope2;
    hntk_stats_loglog_slope(x, 1, Y2, 2, 6, work, &slope2, NULL, NULL);
    CHECK(slope2 == slope, "strided slope %.17g != %.17g", slope2, slope);
    /* two points: the slope, no SE */
    hntk_stats_loglog_slope(x, 1, y, 1, 2, NULL, &slope, &se, NULL);
    CHECK_CLOSE(slope, -1.5, 64 * EPS);
    CHECK(isnan(se), "SE with 2 points must be NaN, got %g", se);
}

static void test_wls(void)
{
    /* t = 1..8, design [1, t, t^2], yy, ww below.  Reference: sw = np.sqrt(ww);
     * c = np.linalg.lstsq(A*sw[:,None], yy*sw)[0]; cov = inv(A.T @ (ww[:,None]*A));
     * chi2 = sum(ww*(yy - A@c)**2); unweighted: c0 = lstsq(A, yy),
     * cov0 = rss/(n-3) inv(A.T@A), chi2 = rss */
    const double yy[8] = {2.9, 5.2, 8.8, 13.1, 18.7, 26.0, 33.9, 43.2};
    const double ww[8] = {1.0, 0.5, 2.0, 1.5, 0.8, 1.2, 0.3, 2.5};
    double A[24];
    for (int i = 0; i < 8; i++) {
        double t = i + 1;
        A[3 * i] = 1;
        A[3 * i + 1] = t;
        A[3 * i + 2] = t * t;
    }
    const double wc[3] = {1.8931159189715896, 0.4987368469232618, 0.5830230156755329};
    const double wcov[9] = {1.9751788211666064,  -0.8653637143128536, 0.07979834301719767,
                            -0.8653637143128543, 0.4356512141425666,  -0.0428622765241337,
                            0.07979834301719782, -0.04286227652413373, 0.00440212767063622};
    const double oc[3] = {1.8964285714285862, 0.47619047619047317, 0.5857142857142856};
    const double ocov[9] = {0.04884608843537494,   -0.022854591836735095, 0.002240646258503443,
                            -0.022854591836735067, 0.012696995464852824,  -0.0013443877551020643,
                            0.002240646258503438,  -0.0013443877551020634, 0.00014937641723356261};
    hntk_stats_wls *ws = NULL;
    CHECK(hntk_stats_wls_alloc(8, 3, &ws) == HNTK_OK, "wls alloc");
    double c[3], cov[9], chi2;
    CHECK(hntk_stats_wls_fit(ws, A, yy, ww, c, cov, &chi2) == HNTK_OK, "wls: %s", hntk_last_error());
    /* the Vandermonde-like design has condition number ~1e3: 1e-12 relative */
    for (int j = 0; j < 3; j++) CHECK_CLOSE(c[j], wc[j], 1e-12);
    for (int j = 0; j < 9; j++) CHECK_CLOSE(cov[j], wcov[j], 1e-11);
    CHECK_CLOSE(chi2, 0.15450884535382337, 1e-10); /* residuals: the fit's digits cancel */
    CHECK(hntk_stats_wls_fit(ws, A, yy, NULL, c, cov, &chi2) == HNTK_OK, "ols: %s", hntk_last_error());
    for (int j = 0; j < 3; j++) CHECK_CLOSE(c[j], oc[j], 1e-12);
    for (int j = 0; j < 9; j++) CHECK_CLOSE(cov[j], ocov[j], 1e-10);
    CHECK_CLOSE(chi2, 0.12547619047619177, 1e-10);
    hntk_stats_wls_free(ws);
}

static void test_power_correction(void)
{
    /* exact y = 3 n^-0.5 exp(2/n): (a, p, b) = (log 3, -0.5, 2) */
    double n[7] = {8, 16, 32, 64, 128, 256, 512}, y[7];
    for (int i = 0; i < 7; i++) y[i] = 3.0 * pow(n[i], -0.5) * exp(2.0 / n[i]);
    double coef[3], cov[9], chi2;
    CHECK(hntk_stats_fit_power_correction(NULL, n, y, NULL, 7, coef, cov, &chi2) == HNTK_OK, "fit: %s",
          hntk_last_error());
    CHECK(fabs(coef[0] - log(3.0)) < 1e-12, "a = %.17g, want log 3", coef[0]);
    CHECK(fabs(coef[1] + 0.5) < 1e-12, "p = %.17g, want -0.5", coef[1]);
    CHECK(fabs(coef[2] - 2.0) < 1e-11, "b = %.17g, want 2", coef[2]); /* b multiplies 1/n <= 1/8 */
    CHECK(chi2 < 1e-26, "chi^2 of exact data = %g", chi2);
    /* noisy, weighted: B = [1, log n, 1/n], sw = sqrt(wv);
     * cp = lstsq(B*sw[:,None], log(yv)*sw); covp = inv(B.T@(wv[:,None]*B)); chi2 = sum wv r^2 */
    const double yv[7] = {1.80, 1.05, 0.60, 0.40, 0.268, 0.190, 0.1335};
    const double wv[7] = {4, 9, 16, 25, 36, 49, 64};
    const double pc[3] = {1.0668093943027122, -0.4957654048801117, 4.8081166492655365};
    const double pcov[9] = {0.4153159786573197, -0.07227335451907253, -3.2402731278929293,
                            -0.07227335451907255, 0.01278231559849431, 0.5485268453429166,
                            -3.24027312789293,    0.5485268453429167, 34.58591761585228};
    hntk_stats_wls *ws = NULL;
    hntk_stats_wls_alloc(7, 3, &ws);
    CHECK(hntk_stats_fit_power_correction(ws, n, yv, wv, 7, coef, cov, &chi2) == HNTK_OK, "weighted fit");
    for (int j = 0; j < 3; j++) CHECK_CLOSE(coef[j], pc[j], 1e-11); /* columns log n and 1/n: cond ~1e3 */
    for (int j = 0; j < 9; j++) CHECK_CLOSE(cov[j], pcov[j], 1e-10);
    CHECK_CLOSE(chi2, 0.04948975011184141, 1e-9);
    hntk_stats_wls_free(ws);
}

/* -------------------------------------------------------- goodness of fit */

static double cdf_normal(double x, void *arg)
{
    (void)arg;
    return gsl_cdf_ugaussian_P(x);
}

static double cdf_broken(double x, void *arg)
{
    (void)arg;
    (void)x;
    return 1.5;
}

static void test_ks(void)
{
    /* scipy.special.kolmogorov(lambda) */
    static const double kq[][2] = {{0.05, 1.0},
                                   {0.1, 1.0},
                                   {0.2, 0.999999999999495},
                                   {0.3, 0.9999906941986655},
                                   {0.5, 0.9639452436648751},
                                   {0.8, 0.5441424115741981},
                                   {0.99, 0.2808738392255489},
                                   {1.0, 0.26999967167735456},
                                   {1.5, 0.022217962616525127},
                                   {3.0, 3.045995948942526e-08},
                                   {6.0, 1.0760372320042276e-31}};
    for (long i = 0; i < N_OF(kq); i++) {
        double q = hntk_stats_kolmogorov_q(kq[i][0]);
        /* 1 - cdf near 1 has absolute error ~eps: compare absolutely there */
        CHECK(fabs(q - kq[i][1]) <= 16 * EPS * kq[i][1] || fabs(q - kq[i][1]) <= 4 * EPS,
              "Q_KS(%g) = %.17g, want %.17g", kq[i][0], q, kq[i][1]);
    }
    CHECK(hntk_stats_kolmogorov_q(0.0) == 1.0 && hntk_stats_kolmogorov_q(-1.0) == 1.0, "Q_KS(<= 0) = 1");

    /* one sample against N(0,1): st.kstest(k1, 'norm').statistic;
     * p = sp.kolmogorov((sqrt(13) + 0.12 + 0.11/sqrt(13)) D) (scipy's own exact p is 0.9455052682550964) */
    const double k1[13] = {0.12, -1.35, 0.88, 2.10, -0.47, 0.31, -0.92, 1.44, 0.05, -0.21, 0.67, -1.80, 0.95};
    double sc[32], D, p;
    CHECK(hntk_stats_ks1(k1, 13, cdf_normal, NULL, sc, &D, &p) == HNTK_OK, "ks1: %s", hntk_last_error());
    CHECK_CLOSE(D, 0.13532342122298785, 1e-14); /* gsl_cdf_ugaussian_P vs scipy's ndtr: a few ulps */
    CHECK_CLOSE(p, 0.9583987114311754, 1e-13);

    /* two samples with ties: st.ks_2samp(a, b, method='asymp').statistic;
     * p = sp.kolmogorov((sqrt(ne) + 0.12 + 0.11/sqrt(ne)) D), ne = 11*9/20
     * (scipy's 'asymp' p, kstwo.sf(D, round(ne)), is 0.2729850246547778) */
    const double a[11] = {1.2, 3.4, 2.2, 5.1, 2.2, 0.7, 4.4, 3.9, 2.8, 1.9, 3.1};
    const double b[9] = {2.5, 4.1, 5.5, 3.3, 6.0, 4.8, 2.2, 5.9, 3.7};
    CHECK(hntk_stats_ks2(a, 11, b, 9, sc, &D, &p) == HNTK_OK, "ks2: %s", hntk_last_error());
    CHECK_CLOSE(D, 0.41414141414141414, 4 * EPS);
    CHECK_CLOSE(p, 0.2791360432587495, 16 * EPS);
    double D2;
    hntk_stats_ks2(b, 9, a, 11, sc, &D2, NULL);
    CHECK(D2 == D, "two-sample D is not symmetric");
    /* identical samples: D = 0, p = 1 */
    hntk_stats_ks2(a, 11, a, 11, sc, &D, &p);
    CHECK(D == 0.0 && p == 1.0, "identical samples: D = %g, p = %g", D, p);
}

static void test_anderson(void)
{
    /* st.anderson(ad, 'norm').statistic; A* = A2 (1 + 0.75/n + 2.25/n^2);
     * p from D'Agostino & Stephens Table 4.9 evaluated in Python */
    const double ad[15] = {4.1, 5.3, 3.8, 6.2, 4.9, 5.0, 7.7, 4.4, 5.6, 3.1, 5.2, 4.7, 6.8, 4.0, 5.9};
    double sc[16], a2, as, p;
    CHECK(hntk_stats_anderson_normal(ad, 15, sc, &a2, &as, &p) == HNTK_OK, "AD: %s", hntk_last_error());
    /* A^2 = -n - sum/n: a cancellation of ~n/A^2 = 100 in the log terms */
    CHECK_CLOSE(a2, 0.14927580185083045, 1e-12);
    CHECK_CLOSE(as, 0.1582323499618803, 1e-12);
    CHECK_CLOSE(p, 0.9518779486480013, 1e-12);
    /* skewed data: a small p */
    const double ad2[12] = {0.1, 0.2, 0.15, 0.3, 0.25, 2.5, 3.9, 0.05, 0.12, 0.4, 6.1, 0.22};
    hntk_stats_anderson_normal(ad2, 12, sc, &a2, &as, &p);
    CHECK_CLOSE(a2, 2.0341709122565437, 1e-13);
    CHECK_CLOSE(as, 2.193090514776586, 1e-13);
    CHECK_CLOSE(p, 1.4560555941230281e-05, 1e-12);
    /* every branch of the p-value formula (Python, same table) */
    static const double tab[4][2] = {{0.1, 0.9961485285157409},
                                     {0.25, 0.7446512446013425},
                                     {0.5, 0.20871199326901024},
                                     {1.0, 0.012317922048460184}};
    for (int i = 0; i < 4; i++) CHECK_CLOSE(hntk_stats_anderson_normal_pvalue(tab[i][0]), tab[i][1], 16 * EPS);
}

static void test_holm(void)
{
    /* closed form: sorted 0.005 0.01 0.03 0.04 0.2 times 5 4 3 2 1 =
     * 0.025 0.04 0.09 0.08 0.2, running max 0.025 0.04 0.09 0.09 0.2 */
    const double p[5] = {0.01, 0.04, 0.03, 0.005, 0.2};
    const double want[5] = {0.04, 0.09, 0.09, 0.025, 0.2};
    const int rej[5] = {1, 0, 0, 1, 0};
    size_t ord[5];
    double adj[5];
    int r[5];
    CHECK(hntk_stats_holm(p, 5, 0.05, ord, adj, r) == HNTK_OK, "holm: %s", hntk_last_error());
    for (int i = 0; i < 5; i++) {
        CHECK_CLOSE(adj[i], want[i], 2 * EPS);
        CHECK(r[i] == rej[i], "reject[%d] = %d, want %d", i, r[i], rej[i]);
    }
    /* capped at 1 and max-accumulated: 2 * 0.5 = 1 (cap 1), then 0.6 -> 1 */
    const double q[2] = {0.6, 0.5};
    hntk_stats_holm(q, 2, 0.05, ord, adj, NULL);
    CHECK(adj[0] == 1.0 && adj[1] == 1.0, "capped: %g %g", adj[0], adj[1]);
    /* ties get equal adjusted values: 3 * 0.02 = 0.06 for all three */
    const double t[3] = {0.02, 0.02, 0.02};
    hntk_stats_holm(t, 3, 0.05, ord, adj, r);
    CHECK(adj[0] == adj[1] && adj[1] == adj[2] && fabs(adj[0] - 0.06) < 2 * EPS && !r[0] && !r[1] && !r[2],
          "ties: %g %g %g", adj[0], adj[1], adj[2]);
}

/* ------------------------------------------------------------- error paths */

static int boot_ok(void *ctx, long b, const long *idx, long n, double *out)
{
    (void)ctx;
    (void)b;
    (void)idx;
    (void)n;
    out[0] = 0;
    return HNTK_OK;
}

#define CHECK_FAILS(call, what)                                                                    \
    do {                                                                                           \
        hntk_fail(HNTK_OK, "%s", "");                                                                    \
        int st_ = (call);                                                                          \
        CHECK(st_ == HNTK_EINVAL && hntk_last_error()[0] != '\0', "%s: status %d, message '%s'", what, \
              st_, hntk_last_error());                                                             \
    } while (0)

static void test_errors(void)
{
    hntk_stats_moments *m = NULL, *m2 = NULL;
    CHECK_FAILS(hntk_stats_moments_alloc(0, &m), "moments dim 0");
    CHECK(m == NULL, "failed alloc leaves NULL");
    hntk_stats_moments_free(NULL);
    hntk_stats_wls_free(NULL);

    hntk_stats_moments_alloc(1, &m);
    hntk_stats_moments_alloc(2, &m2);
    hntk_stats_summary s;
    CHECK_FAILS(hntk_stats_moments_summary(m, 0, &s), "summary with 0 samples");
    CHECK(isnan(s.mean) && isnan(s.var), "0 samples: NaN");
    double one = 3.0;
    hntk_stats_moments_push(m, &one);
    CHECK_FAILS(hntk_stats_moments_summary(m, 0, &s), "summary with 1 sample");
    CHECK(s.mean == 3.0 && isnan(s.var), "1 sample: mean %g var %g", s.mean, s.var);
    CHECK_FAILS(hntk_stats_moments_summary(m, 1, &s), "summary component out of range");
    CHECK_FAILS(hntk_stats_moments_summary(m, -1, &s), "summary component -1");
    CHECK_FAILS(hntk_stats_moments_merge(m, m2), "merge of different dims");
    double two = 5.0;
    hntk_stats_moments_push(m, &two);
    CHECK(hntk_stats_moments_summary(m, 0, &s) == HNTK_OK && isnan(s.skew) && isnan(s.kurt) && s.var == 2.0,
          "2 samples: var 2, no skewness or kurtosis");
    hntk_stats_moments_push(m, &two);
    CHECK(hntk_stats_moments_summary(m, 0, &s) == HNTK_OK && isfinite(s.skew) && isnan(s.kurt),
          "3 samples: skewness, no kurtosis");
    hntk_stats_moments_free(m);
    hntk_stats_moments_free(m2);

    double sc[64], q, ci[2];
    const double lv[2] = {0.5, 1.5}, nanv[3] = {1, NAN, 2};
    CHECK_FAILS(hntk_stats_quantiles(X12, 1, 0, lv, 1, sc, &q), "quantiles n = 0");
    CHECK_FAILS(hntk_stats_quantiles(X12, 0, 12, lv, 1, sc, &q), "quantiles stride 0");
    CHECK_FAILS(hntk_stats_quantiles(X12, 1, 12, lv, 2, sc, &q), "quantile level 1.5");
    CHECK_FAILS(hntk_stats_median(nanv, 1, 3, sc, &q), "median of NaN");
    CHECK_FAILS(hntk_stats_percentile_ci(X12, 1, 12, 1.0, 0.0, sc, ci), "ci level 1");
    CHECK_FAILS(hntk_stats_percentile_ci(X12, 1, 12, 0.0, 0.0, sc, ci), "ci level 0");
    CHECK_FAILS(hntk_stats_percentile_ci(X12, 1, 12, NAN, 0.0, sc, ci), "ci level NaN");
    CHECK_FAILS(hntk_stats_percentile_ci(X12, 1, 12, 0.9, 1.0, sc, ci), "ci max_drop 1");
    CHECK_FAILS(hntk_stats_percentile_ci(X12, 1, 0, 0.9, 0.0, sc, ci), "ci n = 0");

    long idx[4];
    CHECK_FAILS(hntk_stats_bootstrap_indices(1, 0, 0, 0, 4, idx), "indices n = 0");
    CHECK_FAILS(hntk_stats_bootstrap_indices(1, -1, 0, 5, 4, idx), "indices replicate -1");
    CHECK_FAILS(hntk_stats_bootstrap_indices(1, 1L << 32, 0, 5, 4, idx), "indices replicate 2^32");
    CHECK_FAILS(hntk_stats_bootstrap_indices(1, 0, 0, 5, -1, idx), "indices m = -1");
    long ws[8];
    double out[8];
    hntk_stats_bootstrap_job job = {.key = 1, .n = 4, .replicates = 2, .dim = 1, .threads = 1, .fn = boot_ok};
    CHECK(hntk_stats_bootstrap_run(&job, ws, out) == HNTK_OK, "valid job");
    hntk_stats_bootstrap_job bad = job;
    bad.fn = NULL;
    CHECK_FAILS(hntk_stats_bootstrap_run(&bad, ws, out), "bootstrap NULL fn");
    bad = job;
    bad.replicates = 0;
    CHECK_FAILS(hntk_stats_bootstrap_run(&bad, ws, out), "bootstrap B = 0");
    bad = job;
    bad.n = 0;
    CHECK_FAILS(hntk_stats_bootstrap_run(&bad, ws, out), "bootstrap n = 0");
    bad = job;
    bad.dim = 0;
    CHECK_FAILS(hntk_stats_bootstrap_run(&bad, ws, out), "bootstrap dim = 0");
    bad = job;
    bad.threads = 0;
    CHECK_FAILS(hntk_stats_bootstrap_run(&bad, ws, out), "bootstrap threads = 0");
    bad = job;
    bad.first = (1L << 32) - 1;
    CHECK_FAILS(hntk_stats_bootstrap_run(&bad, ws, out), "bootstrap replicates past 2^32");

    double x[3] = {1, 2, 4}, y[3] = {1, 0, 3}, sl, se;
    CHECK_FAILS(hntk_stats_loglog_slope(x, 1, x, 1, 1, NULL, &sl, &se, NULL), "loglog 1 point");
    CHECK(isnan(sl) && isnan(se), "failed slope is NaN");
    CHECK_FAILS(hntk_stats_loglog_slope(x, 1, y, 1, 3, NULL, &sl, NULL, NULL), "loglog y = 0");
    CHECK(isnan(sl), "failed slope is NaN");
    double eq[3] = {2, 2, 2};
    CHECK_FAILS(hntk_stats_loglog_slope(eq, 1, x, 1, 3, NULL, &sl, NULL, NULL), "loglog equal x");
    static double big[100];
    for (int i = 0; i < 100; i++) big[i] = i + 1;
    CHECK_FAILS(hntk_stats_loglog_slope(big, 1, big, 1, 100, NULL, &sl, NULL, NULL), "loglog n > 64 without work");
    static double work[200];
    CHECK(hntk_stats_loglog_slope(big, 1, big, 1, 100, work, &sl, NULL, NULL) == HNTK_OK && fabs(sl - 1) < 1e-14,
          "loglog n = 100 with work: slope %g", sl);

    hntk_stats_wls *w = NULL;
    CHECK_FAILS(hntk_stats_wls_alloc(2, 3, &w), "wls n < p");
    CHECK_FAILS(hntk_stats_wls_alloc(3, 0, &w), "wls p = 0");
    CHECK(w == NULL, "failed wls alloc leaves NULL");
    hntk_stats_wls_alloc(3, 2, &w);
    double X[6] = {1, 1, 1, 2, 1, 3}, yy[3] = {1, 2, 3}, wneg[3] = {1, -1, 1}, c[2];
    CHECK_FAILS(hntk_stats_wls_fit(w, X, yy, wneg, c, NULL, NULL), "wls negative weight");
    double ynan[3] = {1, NAN, 3};
    CHECK_FAILS(hntk_stats_wls_fit(w, X, ynan, NULL, c, NULL, NULL), "wls NaN y");
    CHECK(hntk_stats_wls_fit(w, X, yy, NULL, c, NULL, NULL) == HNTK_OK && fabs(c[1] - 1) < 1e-14 &&
              fabs(c[0]) < 1e-14,
          "wls line: %g %g", c[0], c[1]);
    double coef[3];
    CHECK_FAILS(hntk_stats_fit_power_correction(NULL, x, x, NULL, 2, coef, NULL, NULL), "power fit 2 points");
    CHECK_FAILS(hntk_stats_fit_power_correction(w, x, x, NULL, 3, coef, NULL, NULL), "power fit wrong workspace");
    CHECK_FAILS(hntk_stats_fit_power_correction(NULL, x, y, NULL, 3, coef, NULL, NULL), "power fit y = 0");
    CHECK_FAILS(hntk_stats_fit_power_correction(NULL, eq, x, NULL, 3, coef, NULL, NULL), "power fit equal n");
    CHECK_FAILS(hntk_stats_fit_power_correction(NULL, x, x, wneg, 3, coef, NULL, NULL), "power fit negative weight");
    hntk_stats_wls_free(w);

    double D, p;
    CHECK_FAILS(hntk_stats_ks1(X12, 0, cdf_normal, NULL, sc, &D, &p), "ks1 n = 0");
    CHECK_FAILS(hntk_stats_ks1(X12, 12, NULL, NULL, sc, &D, &p), "ks1 NULL cdf");
    CHECK_FAILS(hntk_stats_ks1(X12, 12, cdf_broken, NULL, sc, &D, &p), "ks1 cdf outside 0..1");
    CHECK_FAILS(hntk_stats_ks1(nanv, 3, cdf_normal, NULL, sc, &D, &p), "ks1 NaN");
    CHECK_FAILS(hntk_stats_ks2(X12, 12, X12, 0, sc, &D, &p), "ks2 nb = 0");
    CHECK_FAILS(hntk_stats_ks2(X12, 0, X12, 3, sc, &D, &p), "ks2 na = 0");
    double a2;
    CHECK_FAILS(hntk_stats_anderson_normal(X12, 7, sc, &a2, NULL, NULL), "AD n = 7");
    double flat[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    CHECK_FAILS(hntk_stats_anderson_normal(flat, 8, sc, &a2, NULL, NULL), "AD constant data");

    size_t ord[4];
    double adj[4], pv[2] = {0.1, 0.2}, pbad[2] = {0.1, 1.2};
    CHECK_FAILS(hntk_stats_holm(pv, 2, 0.0, ord, adj, NULL), "holm alpha 0");
    CHECK_FAILS(hntk_stats_holm(pv, 2, 1.0, ord, adj, NULL), "holm alpha 1");
    CHECK_FAILS(hntk_stats_holm(pv, 2, NAN, ord, adj, NULL), "holm alpha NaN");
    CHECK_FAILS(hntk_stats_holm(pbad, 2, 0.05, ord, adj, NULL), "holm p > 1");
    CHECK_FAILS(hntk_stats_holm(pv, 0, 0.05, ord, adj, NULL), "holm m = 0");
}

int main(void)
{
    test_moments_reference();
    test_moments_closed_form_and_merge();
    test_moments_monte_carlo();
    test_quantiles();
    test_bootstrap_indices();
    test_bootstrap_run();
    test_loglog();
    test_wls();
    test_power_correction();
    test_ks();
    test_anderson();
    test_holm();
    test_errors();
    return TEST_SUMMARY();
}
