/* stats.h: the estimators of the drivers (moments, quantiles, bootstrap,
 * fits, goodness-of-fit tests, multiple testing), in one place.
 *
 * Conventions (as in the rest of the library): functions return a status
 * from error.h and record a message naming the bad value and the accepted
 * range; nothing prints or exits; _alloc/_free pairs, _free(NULL) is a no-op;
 * workspaces are owned by the caller, and the hot functions (moment updates,
 * quantiles, the bootstrap loop, log-log slopes) never allocate.  Shapes of
 * arrays are given as (rows, cols), row-major.  GSL does the work where it
 * has the estimator (gsl_sort, gsl_stats_quantile_from_sorted_data,
 * gsl_fit_linear, gsl_multifit_[w]linear, gsl_cdf_ugaussian_P); the rest is
 * here.  The GSL error handler is never needed: inputs are checked first.
 *
 * Definitions chosen (each matches the scipy/numpy function named, which the
 * unit test uses as its reference):
 *   variance    unbiased, n - 1 in the denominator (numpy var(ddof=1)).
 *   var_se      standard error of the unbiased variance s^2:
 *               sqrt((m4 - (n-3)/(n-1) s^4) / n), m4 = M4/n the sample fourth
 *               central moment (large-sample formula, not unbiased).
 *   skewness    adjusted Fisher-Pearson G1 = g1 sqrt(n(n-1))/(n-2), g1 = m3/m2^1.5
 *               (scipy.stats.skew(bias=False)); SE = sqrt(6n(n-1)/((n-2)(n+1)(n+3))).
 *   kurtosis    excess, adjusted G2 = ((n+1) g2 + 6)(n-1)/((n-2)(n-3)),
 *               g2 = m4/m2^2 - 3 (scipy.stats.kurtosis(bias=False));
 *               SE = 2 SE_skew sqrt((n^2-1)/((n-3)(n+5))).
 *   quantiles   type 7 of Hyndman & Fan: linear interpolation between order
 *               statistics at h = (n-1) p (numpy.quantile default,
 *               gsl_stats_quantile_from_sorted_data).
 *   KS p-value  asymptotic Kolmogorov distribution at Stephens' (1970)
 *               corrected argument lambda = (sqrt(ne) + 0.12 + 0.11/sqrt(ne)) D,
 *               p = Q_KS(lambda) = 2 sum_k>=1 (-1)^(k-1) exp(-2 k^2 lambda^2),
 *               ne = n (one sample) or na nb/(na + nb) (two samples).  This is
 *               neither scipy's exact one-sample p nor its two-sample 'asymp'
 *               (kstwo.sf(D, round(ne))); it is scipy.special.kolmogorov(lambda).
 *   A-D         normal with mean and variance estimated (Stephens' case 4),
 *               z = (x - mean)/s with the unbiased s (as scipy.stats.anderson);
 *               A*^2 = A^2 (1 + 0.75/n + 2.25/n^2) and the p-value of
 *               D'Agostino & Stephens (1986), Table 4.9.
 *   Holm        step-down adjusted p_(i) = max_{j<=i} min(1, (m-j+1) p_(j)).
 */
#ifndef HYPERNTK_STATS_H
#define HYPERNTK_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "hyperntk/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ moments */

/* One-pass central moments of a vector of `dim` values per sample, updated
 * in sample order (Welford's mean, Pebay's 2008 recurrences for M3 and M4:
 * no power sums, hence no cancellation), on the values shifted by the first
 * sample, so that a large common offset costs no digits either (the test:
 * 1e8 + O(1) data to ~1e-14).  The result depends on the order of the
 * pushes and merges only, never on a thread count. */
typedef struct {
    long dim;
    long count;
    double *mean;  /* (dim) shift + dmean */
    double *m2;    /* (dim) sum of (x - mean)^2 */
    double *m3;    /* (dim) sum of (x - mean)^3 */
    double *m4;    /* (dim) sum of (x - mean)^4 */
    double *shift; /* (dim) the first sample pushed */
    double *dmean; /* (dim) mean of x - shift */
} hntk_stats_moments;

int hntk_stats_moments_alloc(long dim, hntk_stats_moments **out);
void hntk_stats_moments_free(hntk_stats_moments *m);
void hntk_stats_moments_reset(hntk_stats_moments *m);
/* Push one sample x (dim). */
void hntk_stats_moments_push(hntk_stats_moments *m, const double *x);
/* Push n samples X (n, dim) in row order; the same bits as n single pushes. */
void hntk_stats_moments_push_n(hntk_stats_moments *m, const double *X, long n);
/* a <- the moments of a's samples followed by b's (Pebay's pairwise
 * combination; b is unchanged).  Deterministic for a fixed merge order; it is
 * not bit-identical to pushing b's samples one by one.  HNTK_EINVAL if the
 * dimensions differ. */
int hntk_stats_moments_merge(hntk_stats_moments *a, const hntk_stats_moments *b);

/* Every component at once: var (dim) the unbiased variances, mean_se (dim)
 * the standard errors of the means sqrt(var / n); either may be NULL.  NaN
 * when count < 2. */
void hntk_stats_moments_finish(const hntk_stats_moments *m, double *var, double *mean_se);

/* Everything about component k of the moments (definitions at the top). */
typedef struct {
    long count;
    double mean, mean_se; /* mean_se = sqrt(var / n) */
    double var, var_se;   /* unbiased variance; its standard error from m4 */
    double skew, skew_se; /* G1 and its SE: NaN when n < 3 */
    double kurt, kurt_se; /* excess G2 and its SE: NaN when n < 4 */
} hntk_stats_summary;

/* HNTK_EINVAL if k is not in 0..dim-1 or count < 2 (then every field but
 * count, and mean if count = 1, is NaN).  A zero variance gives NaN skewness
 * and kurtosis (0/0). */
int hntk_stats_moments_summary(const hntk_stats_moments *m, long k, hntk_stats_summary *s);

/* ---------------------------------------------------------------- quantiles */

/* out[j] = the type-7 quantile of level p[j] (np levels, each in [0, 1]) of
 * x[0], x[stride], .., x[(n-1) stride] (n >= 1, no NaN).  scratch (n) receives
 * the sorted values; x is not modified. */
int hntk_stats_quantiles(const double *x, long stride, long n, const double *p, long np, double *scratch,
                         double *out);
/* The median (type 7: the mean of the two middle values when n is even). */
int hntk_stats_median(const double *x, long stride, long n, double *scratch, double *out);

/* Two-sided percentile interval of level `level` in (0, 1) (0.95: the 2.5%
 * and 97.5% type-7 quantiles) of v[0], v[stride], .. v[(n-1) stride], e.g.
 * bootstrap replicates.  Non-finite values are dropped (a statistic may be
 * undefined on a replicate); when more than a fraction max_drop in [0, 1) of
 * them are dropped, or fewer than 2 remain, ci = {NaN, NaN} (status OK: an
 * undecided interval, not an error).  scratch (n). */
int hntk_stats_percentile_ci(const double *v, long stride, long n, double level, double max_drop, double *scratch,
                             double ci[2]);

/* The summary of bootstrap replicates v[0], v[stride], .. v[(n-1) stride]:
 * the percentile interval ci as hntk_stats_percentile_ci, and *se (may be
 * NULL) the standard deviation (n - 1 in the denominator, gsl_stats_sd) of
 * the finite replicates in their order, NaN when fewer than 2 are finite.
 * scratch (n). */
int hntk_stats_bootstrap_interval(const double *v, long stride, long n, double level, double max_drop,
                                  double *scratch, double ci[2], double *se);

/* ---------------------------------------------------------------- bootstrap */

/* Bootstrap streams use the project's registered tensor id (rng.h):
 * replicate b, resampling `row`, draws its indices from the stream
 * (key, sample = b, tensor = HNTK_STATS_TENSOR_BOOTSTRAP, row).  `row` keeps
 * independent resamplings under one key apart (thm1: one row per width).
 * (3000, not 4000: 4000 is HNTK_TENSOR_BENCH in the registry.) */
#define HNTK_STATS_TENSOR_BOOTSTRAP HNTK_TENSOR_BOOTSTRAP

/* The resample indices of replicate b: idx[i] (i = 0..m-1) uniform on 0..n-1,
 * unbiased: Lemire's multiply-shift on one 64-bit draw, with rejection of the
 * 2^64 mod n biased low words (a rejected draw takes the next one; for
 * n <= 2^32 fewer than one draw in 2^32 is rejected).  A function of
 * (key, b, row, n, i) only.  n >= 1, m >= 0, b in 0..2^32-1. */
int hntk_stats_bootstrap_indices(uint64_t key, long replicate, uint32_t row, long n, long m, long *idx);

/* The statistics (dim values) of one replicate into out, from the data
 * resampled by idx (n indices into 0..n-1).  `ctx` is the calling thread's
 * private context.  Must write only `out` (and its ctx). */
typedef int (*hntk_stats_bootstrap_fn)(void *ctx, long replicate, const long *idx, long n, double *out);

typedef struct {
    uint64_t key;
    uint32_t row;       /* stream row (see HNTK_STATS_TENSOR_BOOTSTRAP) */
    long n;             /* data size, >= 1: each replicate draws n indices */
    long replicates;    /* B, 1..2^32 */
    long first;         /* index of the first replicate (usually 0), first + B <= 2^32 */
    long dim;           /* statistics per replicate, >= 1 */
    int threads;        /* at most this many OpenMP threads, >= 1 */
    void **ctx;         /* NULL (fn gets NULL) or ctx[t] for thread t, t < threads */
    hntk_stats_bootstrap_fn fn;
} hntk_stats_bootstrap_job;

/* out (B, dim): row b = fn on the resample of replicate first + b.  OpenMP
 * over replicates, each writing its own row: bit-identical for any thread
 * count.  idx_ws (threads, n) is the caller's index workspace.  If fn fails,
 * every replicate still runs and the status (and message) of the failing
 * replicate with the lowest index is returned. */
int hntk_stats_bootstrap_run(const hntk_stats_bootstrap_job *job, long *idx_ws, double *out);

/* --------------------------------------------------------------------- fits */

/* Largest n for which the log-log slope needs no caller workspace. */
#define HNTK_STATS_LOGLOG_STACK 64

/* Ordinary least squares log y = c0 + slope log x over n points
 * (x[i xs], y[i ys]) by gsl_fit_linear; slope_se = sqrt(cov11), the residual
 * variance with n - 2 degrees of freedom (NaN when n = 2).  intercept and
 * slope_se may be NULL.  work: 2n doubles, or NULL when n <= HNTK_STATS_LOGLOG_STACK.
 * HNTK_EINVAL (outputs NaN) if n < 2 or an x or y is not finite and > 0, or
 * all x are equal: a bootstrap may ignore the status and keep the NaN. */
int hntk_stats_loglog_slope(const double *x, long xs, const double *y, long ys, long n, double *work,
                            double *slope, double *slope_se, double *intercept);

/* Weighted linear least squares y ~ X c by gsl_multifit_wlinear (SVD).  The
 * workspace holds the GSL matrices for n points and p parameters. */
typedef struct hntk_stats_wls hntk_stats_wls;

int hntk_stats_wls_alloc(long n, long p, hntk_stats_wls **out); /* 1 <= p <= n */
void hntk_stats_wls_free(hntk_stats_wls *ws);

/* X (n, p), y (n), w (n) weights >= 0 (1/sigma_i^2), coef (p), cov (p, p) or
 * NULL, chi2 or NULL.  With weights, cov = (X^T W X)^-1 (GSL: not scaled by
 * the residuals; multiply by chi2/(n - p) for a scaled error) and chi2 =
 * sum w r^2.  w = NULL is ordinary least squares (gsl_multifit_linear):
 * cov = s^2 (X^T X)^-1 with s^2 = chi2/(n - p) (NaN when n = p) and
 * chi2 = sum r^2.  HNTK_EINVAL for a non-finite entry or a negative weight. */
int hntk_stats_wls_fit(hntk_stats_wls *ws, const double *X, const double *y, const double *w, double *coef,
                       double *cov, double *chi2);

/* Power law with a finite-width correction: log y = a + p log n + b/n over
 * `count` points (n[i] > 0, y[i] > 0), by hntk_stats_wls_fit; w (count) are
 * weights of log y (1/sigma_log^2) or NULL (ordinary least squares).
 * coef = (a, p, b), cov (3, 3) or NULL, chi2 or NULL.  ws: a workspace for
 * (count, 3), or NULL to allocate one for this call.  count >= 3, and the n
 * must not all be equal. */
int hntk_stats_fit_power_correction(hntk_stats_wls *ws, const double *n, const double *y, const double *w,
                                    long count, double coef[3], double cov[9], double *chi2);

/* -------------------------------------------------------- goodness of fit */

typedef double (*hntk_stats_cdf_fn)(double x, void *arg);

/* Q_KS(lambda) = P(K > lambda) of the Kolmogorov distribution: for
 * lambda < 1 one minus the Jacobi-theta form of the CDF,
 * sqrt(2 pi)/lambda sum exp(-(2k-1)^2 pi^2/(8 lambda^2)), otherwise the
 * alternating series above (both converge in a few terms there); 1 for
 * lambda <= 0.  As scipy.special.kolmogorov to ~1e-15 absolute. */
double hntk_stats_kolmogorov_q(double lambda);
/* Stephens' p-value of a KS distance D with effective size ne (> 0). */
double hntk_stats_ks_pvalue(double D, double ne);

/* One-sample KS: D = sup |F_n - cdf| of x (n >= 1, no NaN), p-value above.
 * scratch (n).  pvalue may be NULL. */
int hntk_stats_ks1(const double *x, long n, hntk_stats_cdf_fn cdf, void *arg, double *scratch, double *D,
                   double *pvalue);
/* Two-sample KS: D = sup |F_a - F_b| (ties handled: both steps at a value
 * are taken before comparing), p-value above with ne = na nb/(na + nb).
 * scratch (na + nb).  pvalue may be NULL. */
int hntk_stats_ks2(const double *a, long na, const double *b, long nb, double *scratch, double *D,
                   double *pvalue);

/* Anderson-Darling A^2 against a normal with estimated mean and variance
 * (case 4); n >= 8 (the range of Stephens' table), not all equal.  scratch (n).
 * a2_adj (A*^2) and pvalue may be NULL. */
int hntk_stats_anderson_normal(const double *x, long n, double *scratch, double *a2, double *a2_adj,
                               double *pvalue);
/* D'Agostino & Stephens' p-value of an adjusted A*^2 (case 4). */
double hntk_stats_anderson_normal_pvalue(double a2_adj);

/* ------------------------------------------------------ energy distance */

/* The two-sample energy distance (Szekely & Rizzo) between samples a (na, dim)
 * and b (nb, dim) of points of R^dim, Euclidean norm, as the V-statistic
 *
 *   E = 2/(na nb) sum_ij |a_i - b_j| - 1/na^2 sum_ij |a_i - a_j| - 1/nb^2 sum_ij |b_i - b_j|  >= 0,
 *
 * which is 0 only for identical samples; its mean under the null (both from
 * one law) is positive, of order 1/na + 1/nb: compare it with a null level
 * measured on samples of the same sizes.  OpenMP over rows (each row's sum in
 * order, rows summed in order): the bits do not depend on the thread count.
 * work: na + nb doubles.  na, nb >= 1, dim >= 1, no NaN. */
int hntk_stats_energy_distance(const double *a, long na, const double *b, long nb, long dim, double *work,
                               double *E);

/* ------------------------------------------------------- multiple testing */

/* Holm's step-down correction of m p-values p (m), each in [0, 1], at family
 * level alpha in (0, 1): adjusted (m) the adjusted p-values (in the input's
 * order; may be NULL), reject (m) 1 where adjusted <= alpha (may be NULL).
 * order_ws (m) is the caller's workspace (the sort permutation). */
int hntk_stats_holm(const double *p, long m, double alpha, size_t *order_ws, double *adjusted, int *reject);

#ifdef __cplusplus
}
#endif
#endif
