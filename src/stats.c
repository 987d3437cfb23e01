/* stats.c: the statistics module (see stats.h for every definition).
 *
 * GSL does the sorting, quantiles, least squares and the normal CDF; the
 * one-pass higher moments, the counter-based bootstrap, the KS and
 * Anderson-Darling tests and Holm's correction are written here.  Nothing
 * allocates except the _alloc functions (and hntk_stats_fit_power_correction
 * when given no workspace); nothing prints or exits.
 */
#include "hyperntk/stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_fit.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_vector.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "hyperntk/error.h"

/* ================================================================ moments */

int hntk_stats_moments_alloc(long dim, hntk_stats_moments **out)
{
    if (!out) return hntk_fail(HNTK_EINVAL, "hntk_stats_moments_alloc: out is NULL");
    *out = NULL;
    if (dim < 1) return hntk_fail(HNTK_EINVAL, "moments dimension = %ld is out of range: accepted >= 1", dim);
    hntk_stats_moments *m = calloc(1, sizeof *m);
    double *buf = calloc(6 * (size_t)dim, sizeof(double));
    if (!m || !buf) {
        free(m);
        free(buf);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate moments of dimension %ld", dim);
    }
    m->dim = dim;
    m->mean = buf;
    m->m2 = buf + dim;
    m->m3 = buf + 2 * dim;
    m->m4 = buf + 3 * dim;
    m->shift = buf + 4 * dim;
    m->dmean = buf + 5 * dim;
    *out = m;
    return HNTK_OK;
}

void hntk_stats_moments_free(hntk_stats_moments *m)
{
    if (!m) return;
    free(m->mean);
    free(m);
}

void hntk_stats_moments_reset(hntk_stats_moments *m)
{
    m->count = 0;
    memset(m->mean, 0, sizeof(double) * 6 * (size_t)m->dim);
}

/* Pebay (2008), eq. (1.5) with one new point y = x - shift: with n the new
 * count, d = y - dmean_old, dn = d/n, t = d dn (n-1):
 *   M4 += t dn^2 (n^2 - 3n + 3) + 6 dn^2 M2 - 4 dn M3
 *   M3 += t dn (n - 2) - 3 dn M2
 *   M2 += t,  dmean += dn   (M4 first: it uses the old M2, M3).
 * The shift (the first sample) makes y small when the spread is small
 * against the mean: y is exact while x is within a factor 2 of the shift
 * (Sterbenz), so the moments lose no digits to a large common offset. */
void hntk_stats_moments_push(hntk_stats_moments *m, const double *x)
{
    if (m->count == 0) memcpy(m->shift, x, sizeof(double) * (size_t)m->dim);
    m->count++;
    double n = (double)m->count;
    for (long i = 0; i < m->dim; i++) {
        double d = (x[i] - m->shift[i]) - m->dmean[i], dn = d / n, dn2 = dn * dn, t = d * dn * (n - 1.0);
        m->m4[i] += t * dn2 * (n * n - 3.0 * n + 3.0) + 6.0 * dn2 * m->m2[i] - 4.0 * dn * m->m3[i];
        m->m3[i] += t * dn * (n - 2.0) - 3.0 * dn * m->m2[i];
        m->m2[i] += t;
        m->dmean[i] += dn;
        m->mean[i] = m->shift[i] + m->dmean[i];
    }
}

void hntk_stats_moments_push_n(hntk_stats_moments *m, const double *X, long n)
{
    for (long s = 0; s < n; s++) hntk_stats_moments_push(m, X + (size_t)s * (size_t)m->dim);
}

/* Pebay (2008), eqs. (3.1)-(3.3) (Chan et al. for M2), d = mean_b - mean_a. */
int hntk_stats_moments_merge(hntk_stats_moments *a, const hntk_stats_moments *b)
{
    if (a->dim != b->dim)
        return hntk_fail(HNTK_EINVAL, "moments merge: dimension %ld into %ld: they must be equal", b->dim, a->dim);
    if (b->count == 0) return HNTK_OK;
    if (a->count == 0) {
        a->count = b->count;
        memcpy(a->mean, b->mean, sizeof(double) * 6 * (size_t)a->dim);
        return HNTK_OK;
    }
    double na = (double)a->count, nb = (double)b->count, n = na + nb;
    for (long i = 0; i < a->dim; i++) {
        /* dn = d/n; q = d^2 na nb / n, the M2 term, so that the M3 term
         * d^3 na nb (na - nb)/n^2 = q dn (na - nb) and the M4 term
         * d^4 na nb (na^2 - na nb + nb^2)/n^3 = q dn^2 (na^2 - na nb + nb^2) */
        double d = (b->shift[i] - a->shift[i]) + (b->dmean[i] - a->dmean[i]), dn = d / n, q = d * d * na * nb / n;
        double m2a = a->m2[i], m2b = b->m2[i], m3a = a->m3[i], m3b = b->m3[i];
        a->m4[i] += b->m4[i] + q * dn * dn * (na * na - na * nb + nb * nb) +
                    6.0 * dn * dn * (na * na * m2b + nb * nb * m2a) + 4.0 * dn * (na * m3b - nb * m3a);
        a->m3[i] += m3b + q * dn * (na - nb) + 3.0 * dn * (na * m2b - nb * m2a);
        a->m2[i] += m2b + q;
        a->dmean[i] += dn * nb;
        a->mean[i] = a->shift[i] + a->dmean[i];
    }
    a->count += b->count;
    return HNTK_OK;
}

void hntk_stats_moments_finish(const hntk_stats_moments *m, double *var, double *mean_se)
{
    double n = (double)m->count;
    for (long k = 0; k < m->dim; k++) {
        double v = m->count >= 2 ? m->m2[k] / (n - 1.0) : NAN;
        if (var) var[k] = v;
        if (mean_se) mean_se[k] = m->count >= 2 ? sqrt(v / n) : NAN;
    }
}

int hntk_stats_moments_summary(const hntk_stats_moments *m, long k, hntk_stats_summary *s)
{
    s->count = m->count;
    s->mean = s->mean_se = s->var = s->var_se = s->skew = s->skew_se = s->kurt = s->kurt_se = NAN;
    if (k < 0 || k >= m->dim)
        return hntk_fail(HNTK_EINVAL, "moments summary: component %ld is out of range: accepted 0..%ld", k,
                         m->dim - 1);
    if (m->count >= 1) s->mean = m->mean[k];
    if (m->count < 2)
        return hntk_fail(HNTK_EINVAL, "moments summary: %ld samples: accepted >= 2 (a variance needs two)",
                         m->count);
    double n = (double)m->count, M2 = m->m2[k], var = M2 / (n - 1.0);
    double c2 = M2 / n, c3 = m->m3[k] / n, c4 = m->m4[k] / n; /* biased central moments */
    s->var = var;
    s->mean_se = sqrt(var / n);
    double vv = (c4 - (n - 3.0) / (n - 1.0) * var * var) / n;
    s->var_se = sqrt(vv > 0.0 ? vv : 0.0);
    if (m->count >= 3) {
        double g1 = c3 / (c2 * sqrt(c2));
        s->skew = g1 * sqrt(n * (n - 1.0)) / (n - 2.0);
        s->skew_se = sqrt(6.0 * n * (n - 1.0) / ((n - 2.0) * (n + 1.0) * (n + 3.0)));
    }
    if (m->count >= 4) {
        double g2 = c4 / (c2 * c2) - 3.0;
        s->kurt = ((n + 1.0) * g2 + 6.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0));
        s->kurt_se = 2.0 * s->skew_se * sqrt((n * n - 1.0) / ((n - 3.0) * (n + 5.0)));
    }
    return HNTK_OK;
}

/* ============================================================== quantiles */

/* scratch = the n values x[i stride], sorted; HNTK_EINVAL on a NaN. */
static int sorted_copy(const char *what, const double *x, long stride, long n, double *scratch)
{
    for (long i = 0; i < n; i++) {
        double v = x[(size_t)i * (size_t)stride];
        if (isnan(v)) return hntk_fail(HNTK_EINVAL, "%s: value %ld of %ld is NaN: accepted any non-NaN", what, i, n);
        scratch[i] = v;
    }
    gsl_sort(scratch, 1, (size_t)n);
    return HNTK_OK;
}

int hntk_stats_quantiles(const double *x, long stride, long n, const double *p, long np, double *scratch,
                         double *out)
{
    if (n < 1) return hntk_fail(HNTK_EINVAL, "quantiles: n = %ld values: accepted >= 1", n);
    if (stride < 1) return hntk_fail(HNTK_EINVAL, "quantiles: stride = %ld: accepted >= 1", stride);
    if (np < 0) return hntk_fail(HNTK_EINVAL, "quantiles: %ld levels: accepted >= 0", np);
    for (long j = 0; j < np; j++)
        if (!(p[j] >= 0.0 && p[j] <= 1.0))
            return hntk_fail(HNTK_EINVAL, "quantiles: level p[%ld] = %g is out of range: accepted 0..1", j, p[j]);
    int st = sorted_copy("quantiles", x, stride, n, scratch);
    if (st) return st;
    for (long j = 0; j < np; j++) out[j] = gsl_stats_quantile_from_sorted_data(scratch, 1, (size_t)n, p[j]);
    return HNTK_OK;
}

int hntk_stats_median(const double *x, long stride, long n, double *scratch, double *out)
{
    const double half = 0.5;
    return hntk_stats_quantiles(x, stride, n, &half, 1, scratch, out);
}

int hntk_stats_percentile_ci(const double *v, long stride, long n, double level, double max_drop, double *scratch,
                             double ci[2])
{
    ci[0] = ci[1] = NAN;
    if (n < 1) return hntk_fail(HNTK_EINVAL, "percentile interval: n = %ld values: accepted >= 1", n);
    if (stride < 1) return hntk_fail(HNTK_EINVAL, "percentile interval: stride = %ld: accepted >= 1", stride);
    if (!(level > 0.0 && level < 1.0))
        return hntk_fail(HNTK_EINVAL, "percentile interval: level = %g is out of range: accepted (0, 1)", level);
    if (!(max_drop >= 0.0 && max_drop < 1.0))
        return hntk_fail(HNTK_EINVAL, "percentile interval: max_drop = %g is out of range: accepted [0, 1)",
                         max_drop);
    long m = 0;
    for (long i = 0; i < n; i++) {
        double x = v[(size_t)i * (size_t)stride];
        if (isfinite(x)) scratch[m++] = x;
    }
    if ((double)(n - m) > max_drop * (double)n || m < 2) return HNTK_OK;
    gsl_sort(scratch, 1, (size_t)m);
    ci[0] = gsl_stats_quantile_from_sorted_data(scratch, 1, (size_t)m, 0.5 * (1.0 - level));
    ci[1] = gsl_stats_quantile_from_sorted_data(scratch, 1, (size_t)m, 0.5 * (1.0 + level));
    return HNTK_OK;
}

int hntk_stats_bootstrap_interval(const double *v, long stride, long n, double level, double max_drop,
                                  double *scratch, double ci[2], double *se)
{
    if (se) *se = NAN;
    int st = hntk_stats_percentile_ci(v, stride, n, level, max_drop, scratch, ci);
    if (st || !se) return st;
    long m = 0; /* the finite replicates again, in their order (the interval sorted them) */
    for (long i = 0; i < n; i++) {
        double x = v[(size_t)i * (size_t)stride];
        if (isfinite(x)) scratch[m++] = x;
    }
    if (m > 1) *se = gsl_stats_sd(scratch, 1, (size_t)m);
    return HNTK_OK;
}

/* ============================================================== bootstrap */

/* High and low words of the 128-bit product a b (exact, portable). */
static inline void mul_64x64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
#if defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 u128;
    u128 p = (u128)a * (u128)b;
    *hi = (uint64_t)(p >> 64);
    *lo = (uint64_t)p;
#else
    uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    *lo = (mid << 32) | (uint32_t)p00;
#endif
}

/* Lemire (2019), "Fast random integer generation in an interval": uniform on
 * 0..n-1 from 64-bit draws; threshold = 2^64 mod n. */
static inline uint64_t draw_below(hntk_stream *s, uint64_t n, uint64_t threshold)
{
    uint64_t hi, lo;
    mul_64x64(hntk_stream_u64(s), n, &hi, &lo);
    while (lo < threshold) mul_64x64(hntk_stream_u64(s), n, &hi, &lo);
    return hi;
}

#define BOOT_MAX_REPLICATE 4294967296.0 /* 2^32: the sample counter is 32 bits */

static void fill_indices(uint64_t key, uint32_t b, uint32_t row, long n, long m, long *idx)
{
    hntk_stream s;
    hntk_stream_init(&s, key, b, HNTK_STATS_TENSOR_BOOTSTRAP, row);
    uint64_t un = (uint64_t)n, threshold = (0 - un) % un;
    for (long i = 0; i < m; i++) idx[i] = (long)draw_below(&s, un, threshold);
}

int hntk_stats_bootstrap_indices(uint64_t key, long replicate, uint32_t row, long n, long m, long *idx)
{
    if (n < 1) return hntk_fail(HNTK_EINVAL, "bootstrap: data size n = %ld is out of range: accepted >= 1", n);
    if (m < 0) return hntk_fail(HNTK_EINVAL, "bootstrap: %ld indices requested: accepted >= 0", m);
    if (replicate < 0 || (double)replicate >= BOOT_MAX_REPLICATE)
        return hntk_fail(HNTK_EINVAL, "bootstrap: replicate %ld is out of range: accepted 0..2^32-1", replicate);
    fill_indices(key, (uint32_t)replicate, row, n, m, idx);
    return HNTK_OK;
}

int hntk_stats_bootstrap_run(const hntk_stats_bootstrap_job *job, long *idx_ws, double *out)
{
    long n = job->n, B = job->replicates, dim = job->dim;
    if (!job->fn) return hntk_fail(HNTK_EINVAL, "bootstrap: the statistic function is NULL");
    if (n < 1) return hntk_fail(HNTK_EINVAL, "bootstrap: data size n = %ld is out of range: accepted >= 1", n);
    if (B < 1) return hntk_fail(HNTK_EINVAL, "bootstrap: %ld replicates: accepted >= 1", B);
    if (job->first < 0 || (double)job->first + (double)B > BOOT_MAX_REPLICATE)
        return hntk_fail(HNTK_EINVAL,
                         "bootstrap: replicates %ld..%ld are out of range: accepted 0..2^32-1", job->first,
                         job->first + B - 1);
    if (dim < 1) return hntk_fail(HNTK_EINVAL, "bootstrap: dim = %ld statistics: accepted >= 1", dim);
    if (job->threads < 1) return hntk_fail(HNTK_EINVAL, "bootstrap: threads = %d: accepted >= 1", job->threads);

    int threads = job->threads;
#ifdef _OPENMP
    if (threads > omp_get_max_threads()) threads = omp_get_max_threads();
#else
    threads = 1;
#endif
    long fail_b = -1; /* the lowest failing replicate, its status and message */
    int fail_st = HNTK_OK;
    char fail_msg[1024] = "";
#pragma omp parallel for schedule(dynamic, 4) num_threads(threads)
    for (long b = 0; b < B; b++) {
#ifdef _OPENMP
        int t = omp_get_thread_num();
#else
        int t = 0;
#endif
        long *ix = idx_ws + (size_t)t * (size_t)n, rep = job->first + b;
        fill_indices(job->key, (uint32_t)rep, job->row, n, n, ix);
        int st = job->fn(job->ctx ? job->ctx[t] : NULL, rep, ix, n, out + (size_t)b * (size_t)dim);
        if (st) {
            /* the message is per thread: copy the worker's into the result */
#pragma omp critical(hntk_stats_bootstrap_fail)
            if (fail_b < 0 || b < fail_b) {
                fail_b = b;
                fail_st = st;
                snprintf(fail_msg, sizeof fail_msg, "%s", hntk_last_error());
            }
        }
    }
    if (fail_b >= 0) return hntk_fail(fail_st, "%s", fail_msg);
    return HNTK_OK;
}

/* =================================================================== fits */

int hntk_stats_loglog_slope(const double *x, long xs, const double *y, long ys, long n, double *work,
                            double *slope, double *slope_se, double *intercept)
{
    double stack[2 * HNTK_STATS_LOGLOG_STACK];
    *slope = NAN;
    if (slope_se) *slope_se = NAN;
    if (intercept) *intercept = NAN;
    if (n < 2) return hntk_fail(HNTK_EINVAL, "log-log slope: %ld points: accepted >= 2", n);
    if (!work) {
        if (n > HNTK_STATS_LOGLOG_STACK)
            return hntk_fail(HNTK_EINVAL, "log-log slope: %ld points without a workspace: accepted <= %d", n,
                             HNTK_STATS_LOGLOG_STACK);
        work = stack;
    }
    double *lx = work, *ly = work + n;
    for (long i = 0; i < n; i++) {
        double xi = x[(size_t)i * (size_t)xs], yi = y[(size_t)i * (size_t)ys];
        if (!(xi > 0.0 && isfinite(xi)) || !(yi > 0.0 && isfinite(yi)))
            return hntk_fail(HNTK_EINVAL, "log-log slope: point %ld is (%g, %g): accepted finite x > 0, y > 0", i,
                             xi, yi);
        lx[i] = log(xi);
        ly[i] = log(yi);
    }
    int distinct = 0;
    for (long i = 1; i < n && !distinct; i++) distinct = lx[i] != lx[0];
    if (!distinct) return hntk_fail(HNTK_EINVAL, "log-log slope: all %ld x are equal (%g): accepted >= 2 distinct", n, x[0]);
    double c0, c1, cov00, cov01, cov11, sumsq;
    gsl_fit_linear(lx, 1, ly, 1, (size_t)n, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
    *slope = c1;
    if (slope_se) *slope_se = n > 2 ? sqrt(cov11) : NAN;
    if (intercept) *intercept = c0;
    return HNTK_OK;
}

struct hntk_stats_wls {
    size_t n, p;
    gsl_matrix *X, *cov;
    gsl_vector *y, *w, *c;
    gsl_multifit_linear_workspace *ws;
};

void hntk_stats_wls_free(hntk_stats_wls *ws)
{
    if (!ws) return;
    gsl_multifit_linear_free(ws->ws);
    gsl_vector_free(ws->c);
    gsl_vector_free(ws->w);
    gsl_vector_free(ws->y);
    gsl_matrix_free(ws->cov);
    gsl_matrix_free(ws->X);
    free(ws);
}

int hntk_stats_wls_alloc(long n, long p, hntk_stats_wls **out)
{
    if (!out) return hntk_fail(HNTK_EINVAL, "hntk_stats_wls_alloc: out is NULL");
    *out = NULL;
    if (p < 1 || n < p)
        return hntk_fail(HNTK_EINVAL, "least squares: %ld points and %ld parameters: accepted 1 <= p <= n", n, p);
    hntk_stats_wls *ws = calloc(1, sizeof *ws);
    if (!ws) return hntk_fail(HNTK_ENOMEM, "cannot allocate a least-squares workspace");
    ws->n = (size_t)n;
    ws->p = (size_t)p;
    ws->X = gsl_matrix_alloc(ws->n, ws->p);
    ws->cov = gsl_matrix_alloc(ws->p, ws->p);
    ws->y = gsl_vector_alloc(ws->n);
    ws->w = gsl_vector_alloc(ws->n);
    ws->c = gsl_vector_alloc(ws->p);
    ws->ws = gsl_multifit_linear_alloc(ws->n, ws->p);
    if (!ws->X || !ws->cov || !ws->y || !ws->w || !ws->c || !ws->ws) {
        hntk_stats_wls_free(ws);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate a least-squares workspace for %ld x %ld", n, p);
    }
    *out = ws;
    return HNTK_OK;
}

int hntk_stats_wls_fit(hntk_stats_wls *ws, const double *X, const double *y, const double *w, double *coef,
                       double *cov, double *chi2)
{
    size_t n = ws->n, p = ws->p;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < p; j++) {
            double v = X[i * p + j];
            if (!isfinite(v))
                return hntk_fail(HNTK_EINVAL, "least squares: X[%zu][%zu] = %g: accepted finite", i, j, v);
            gsl_matrix_set(ws->X, i, j, v);
        }
        if (!isfinite(y[i])) return hntk_fail(HNTK_EINVAL, "least squares: y[%zu] = %g: accepted finite", i, y[i]);
        gsl_vector_set(ws->y, i, y[i]);
        if (w) {
            if (!(w[i] >= 0.0 && isfinite(w[i])))
                return hntk_fail(HNTK_EINVAL, "least squares: weight w[%zu] = %g: accepted finite >= 0", i, w[i]);
            gsl_vector_set(ws->w, i, w[i]);
        }
    }
    double chisq;
    int gst = w ? gsl_multifit_wlinear(ws->X, ws->w, ws->y, ws->c, ws->cov, &chisq, ws->ws)
                : gsl_multifit_linear(ws->X, ws->y, ws->c, ws->cov, &chisq, ws->ws);
    if (gst) return hntk_fail(HNTK_EINVAL, "least squares: GSL failed (status %d)", gst);
    for (size_t j = 0; j < p; j++) coef[j] = gsl_vector_get(ws->c, j);
    if (cov)
        for (size_t j = 0; j < p; j++)
            for (size_t k = 0; k < p; k++) cov[j * p + k] = gsl_matrix_get(ws->cov, j, k);
    if (chi2) *chi2 = chisq;
    return HNTK_OK;
}

int hntk_stats_fit_power_correction(hntk_stats_wls *ws, const double *n, const double *y, const double *w,
                                    long count, double coef[3], double cov[9], double *chi2)
{
    coef[0] = coef[1] = coef[2] = NAN;
    if (count < 3) return hntk_fail(HNTK_EINVAL, "power-law fit: %ld points: accepted >= 3", count);
    if (ws && (ws->n != (size_t)count || ws->p != 3))
        return hntk_fail(HNTK_EINVAL, "power-law fit: workspace for %zu x %zu: accepted %ld x 3", ws->n, ws->p,
                         count);
    int distinct = 0;
    for (long i = 0; i < count; i++) {
        if (!(n[i] > 0.0 && isfinite(n[i])) || !(y[i] > 0.0 && isfinite(y[i])))
            return hntk_fail(HNTK_EINVAL, "power-law fit: point %ld is (n, y) = (%g, %g): accepted finite n > 0, y > 0",
                             i, n[i], y[i]);
        if (n[i] != n[0]) distinct = 1;
    }
    if (!distinct) return hntk_fail(HNTK_EINVAL, "power-law fit: all n are equal (%g): accepted distinct", n[0]);
    hntk_stats_wls *own = NULL;
    int st = HNTK_OK;
    if (!ws) {
        st = hntk_stats_wls_alloc(count, 3, &own);
        if (st) return st;
        ws = own;
    }
    /* the design matrix goes straight into the GSL workspace */
    for (long i = 0; i < count; i++) {
        gsl_matrix_set(ws->X, (size_t)i, 0, 1.0);
        gsl_matrix_set(ws->X, (size_t)i, 1, log(n[i]));
        gsl_matrix_set(ws->X, (size_t)i, 2, 1.0 / n[i]);
        gsl_vector_set(ws->y, (size_t)i, log(y[i]));
        if (w) {
            if (!(w[i] >= 0.0 && isfinite(w[i]))) {
                st = hntk_fail(HNTK_EINVAL, "power-law fit: weight w[%ld] = %g: accepted finite >= 0", i, w[i]);
                break;
            }
            gsl_vector_set(ws->w, (size_t)i, w[i]);
        }
    }
    if (!st) {
        double chisq;
        int gst = w ? gsl_multifit_wlinear(ws->X, ws->w, ws->y, ws->c, ws->cov, &chisq, ws->ws)
                    : gsl_multifit_linear(ws->X, ws->y, ws->c, ws->cov, &chisq, ws->ws);
        if (gst) {
            st = hntk_fail(HNTK_EINVAL, "power-law fit: GSL failed (status %d)", gst);
        } else {
            for (size_t j = 0; j < 3; j++) coef[j] = gsl_vector_get(ws->c, j);
            if (cov)
                for (size_t j = 0; j < 3; j++)
                    for (size_t k = 0; k < 3; k++) cov[j * 3 + k] = gsl_matrix_get(ws->cov, j, k);
            if (chi2) *chi2 = chisq;
        }
    }
    hntk_stats_wls_free(own);
    return st;
}

/* ======================================================= goodness of fit */

double hntk_stats_kolmogorov_q(double lambda)
{
    if (isnan(lambda)) return NAN;
    if (lambda <= 0.0) return 1.0;
    if (lambda < 1.0) {
        /* P(K <= lambda) = sqrt(2 pi)/lambda sum_k>=1 exp(-(2k-1)^2 pi^2/(8 lambda^2)):
         * every term positive, fast for small lambda (4 terms at lambda = 1) */
        const double pi = 3.14159265358979323846, sqrt_2pi = 2.50662827463100050242;
        double c = -pi * pi / (8.0 * lambda * lambda), cdf = 0.0;
        for (int k = 1; k <= 100; k++) {
            double odd = 2.0 * (double)k - 1.0, term = exp(c * odd * odd);
            cdf += term;
            if (term <= 1e-17 * cdf) break;
        }
        cdf *= sqrt_2pi / lambda;
        return cdf > 1.0 ? 0.0 : 1.0 - cdf;
    }
    /* Q = 2 sum_k>=1 (-1)^(k-1) exp(-2 k^2 lambda^2): fast for lambda >= 1 */
    double p = 0.0, l2 = lambda * lambda;
    for (int k = 1; k <= 100; k++) {
        double term = exp(-2.0 * (double)k * (double)k * l2);
        p += (k % 2 ? 2.0 : -2.0) * term;
        if (term <= 1e-17 * p) break;
    }
    return p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
}

double hntk_stats_ks_pvalue(double D, double ne)
{
    double sq = sqrt(ne);
    return hntk_stats_kolmogorov_q((sq + 0.12 + 0.11 / sq) * D);
}

int hntk_stats_ks1(const double *x, long n, hntk_stats_cdf_fn cdf, void *arg, double *scratch, double *D,
                   double *pvalue)
{
    *D = NAN;
    if (pvalue) *pvalue = NAN;
    if (n < 1) return hntk_fail(HNTK_EINVAL, "KS test: n = %ld values: accepted >= 1", n);
    if (!cdf) return hntk_fail(HNTK_EINVAL, "KS test: the CDF is NULL");
    int st = sorted_copy("KS test", x, 1, n, scratch);
    if (st) return st;
    double d = 0.0, nn = (double)n;
    for (long i = 0; i < n; i++) {
        double F = cdf(scratch[i], arg);
        if (!(F >= 0.0 && F <= 1.0))
            return hntk_fail(HNTK_EINVAL, "KS test: cdf(%g) = %g: accepted 0..1", scratch[i], F);
        double lo = F - (double)i / nn, hi = (double)(i + 1) / nn - F;
        if (lo > d) d = lo;
        if (hi > d) d = hi;
    }
    *D = d;
    if (pvalue) *pvalue = hntk_stats_ks_pvalue(d, nn);
    return HNTK_OK;
}

int hntk_stats_ks2(const double *a, long na, const double *b, long nb, double *scratch, double *D, double *pvalue)
{
    *D = NAN;
    if (pvalue) *pvalue = NAN;
    if (na < 1 || nb < 1)
        return hntk_fail(HNTK_EINVAL, "two-sample KS test: %ld and %ld values: accepted >= 1 each", na, nb);
    double *sa = scratch, *sb = scratch + na;
    int st = sorted_copy("two-sample KS test (first sample)", a, 1, na, sa);
    if (!st) st = sorted_copy("two-sample KS test (second sample)", b, 1, nb, sb);
    if (st) return st;
    long i = 0, j = 0;
    double d = 0.0;
    while (i < na && j < nb) {
        double v = sa[i] < sb[j] ? sa[i] : sb[j];
        while (i < na && sa[i] <= v) i++;
        while (j < nb && sb[j] <= v) j++;
        double diff = fabs((double)i / (double)na - (double)j / (double)nb);
        if (diff > d) d = diff;
    }
    *D = d;
    if (pvalue) *pvalue = hntk_stats_ks_pvalue(d, (double)na * (double)nb / ((double)na + (double)nb));
    return HNTK_OK;
}

/* D'Agostino & Stephens (1986), Goodness-of-Fit Techniques, Table 4.9 (case 4). */
double hntk_stats_anderson_normal_pvalue(double z)
{
    if (isnan(z)) return NAN;
    double p;
    if (z >= 0.6) p = exp(1.2937 - 5.709 * z + 0.0186 * z * z);
    else if (z >= 0.34) p = exp(0.9177 - 4.279 * z - 1.38 * z * z);
    else if (z >= 0.2) p = 1.0 - exp(-8.318 + 42.796 * z - 59.938 * z * z);
    else p = 1.0 - exp(-13.436 + 101.14 * z - 223.73 * z * z);
    return p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
}

int hntk_stats_anderson_normal(const double *x, long n, double *scratch, double *a2, double *a2_adj,
                               double *pvalue)
{
    *a2 = NAN;
    if (a2_adj) *a2_adj = NAN;
    if (pvalue) *pvalue = NAN;
    if (n < 8) return hntk_fail(HNTK_EINVAL, "Anderson-Darling test: n = %ld values: accepted >= 8", n);
    int st = sorted_copy("Anderson-Darling test", x, 1, n, scratch);
    if (st) return st;
    double mean = gsl_stats_mean(scratch, 1, (size_t)n);
    double sd = gsl_stats_sd_m(scratch, 1, (size_t)n, mean); /* n - 1 */
    if (!(sd > 0.0) || !isfinite(sd))
        return hntk_fail(HNTK_EINVAL, "Anderson-Darling test: standard deviation %g: accepted finite > 0 "
                                      "(values not all equal)", sd);
    /* A^2 = -n - (1/n) sum (2i-1) [log F(z_i) + log(1 - F(z_{n+1-i}))], with
     * log(1 - F(z)) = log Q(z) for accuracy in the upper tail. */
    double s = 0.0;
    for (long i = 0; i < n; i++) {
        double zi = (scratch[i] - mean) / sd, zr = (scratch[n - 1 - i] - mean) / sd;
        s += (2.0 * (double)i + 1.0) * (log(gsl_cdf_ugaussian_P(zi)) + log(gsl_cdf_ugaussian_Q(zr)));
    }
    double nn = (double)n, A = -nn - s / nn, Astar = A * (1.0 + 0.75 / nn + 2.25 / (nn * nn));
    *a2 = A;
    if (a2_adj) *a2_adj = Astar;
    if (pvalue) *pvalue = hntk_stats_anderson_normal_pvalue(Astar);
    return HNTK_OK;
}

/* ====================================================== multiple testing */

int hntk_stats_holm(const double *p, long m, double alpha, size_t *order_ws, double *adjusted, int *reject)
{
    if (m < 1) return hntk_fail(HNTK_EINVAL, "Holm correction: m = %ld p-values: accepted >= 1", m);
    if (!(alpha > 0.0 && alpha < 1.0))
        return hntk_fail(HNTK_EINVAL, "Holm correction: alpha = %g is out of range: accepted (0, 1)", alpha);
    for (long i = 0; i < m; i++)
        if (!(p[i] >= 0.0 && p[i] <= 1.0))
            return hntk_fail(HNTK_EINVAL, "Holm correction: p[%ld] = %g is out of range: accepted 0..1", i, p[i]);
    gsl_sort_index(order_ws, p, 1, (size_t)m);
    /* ties: tied p-values get the same adjusted value whatever their order */
    double running = 0.0;
    for (long j = 0; j < m; j++) {
        size_t i = order_ws[j];
        double v = (double)(m - j) * p[i];
        if (v > 1.0) v = 1.0;
        if (v > running) running = v;
        if (adjusted) adjusted[i] = running;
        if (reject) reject[i] = running <= alpha;
    }
    return HNTK_OK;
}

/* ======================================================== energy distance */

static double row_dist_sum(const double *x, const double *Y, long ny, long dim)
{
    double s = 0.0;
    for (long j = 0; j < ny; j++) {
        const double *y = Y + j * dim;
        double d2 = 0.0;
        for (long k = 0; k < dim; k++) d2 += (x[k] - y[k]) * (x[k] - y[k]);
        s += sqrt(d2);
    }
    return s;
}

int hntk_stats_energy_distance(const double *a, long na, const double *b, long nb, long dim, double *work,
                               double *E)
{
    if (na < 1 || nb < 1 || dim < 1)
        return hntk_fail(HNTK_EINVAL, "energy distance of samples of %ld and %ld points of dimension %ld: accepted "
                                      ">= 1 each", na, nb, dim);
    for (long i = 0; i < na * dim; i++)
        if (isnan(a[i])) return hntk_fail(HNTK_EINVAL, "energy distance: a[%ld] is NaN", i);
    for (long i = 0; i < nb * dim; i++)
        if (isnan(b[i])) return hntk_fail(HNTK_EINVAL, "energy distance: b[%ld] is NaN", i);
    /* work[i] = 2/nb sum_j |a_i - b_j| - 1/na sum_j |a_i - a_j| (row i of a);
     * work[na + i] = 1/nb sum_j |b_i - b_j| */
#pragma omp parallel for schedule(static)
    for (long i = 0; i < na + nb; i++) {
        if (i < na)
            work[i] = 2.0 * row_dist_sum(a + i * dim, b, nb, dim) / (double)nb -
                      row_dist_sum(a + i * dim, a, na, dim) / (double)na;
        else
            work[i] = row_dist_sum(b + (i - na) * dim, b, nb, dim) / (double)nb;
    }
    double sa = 0.0, sb = 0.0;
    for (long i = 0; i < na; i++) sa += work[i];
    for (long i = 0; i < nb; i++) sb += work[na + i];
    *E = sa / (double)na - sb / (double)nb;
    return HNTK_OK;
}
