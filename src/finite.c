/* finite.c: exact moments of one output of a finite hypernetwork (finite.h). */
#include "hyperntk/finite.h"

#include <math.h>

#include "hyperntk/error.h"

double hntk_finite_t_moment(long n, int p)
{
    if (n < 1 || p < 0 || p > 128) return NAN;
    if (p == 0) return 1.0;
    /* K ~ Binomial(n, 1/2), weights relative to the mode by the ratio
     * recurrence pmf(K+1)/pmf(K) = (n-K)/(K+1), normalized by their sum (no
     * lgamma of large arguments: exact to rounding at any n); terms beyond
     * 40 standard deviations (sqrt(n)/2 each) weigh less than exp(-800). */
    long mode = n / 2, half = (long)ceil(20.0 * sqrt((double)n)) + 2L * p + 10;
    long lo = mode - half < 0 ? 0 : mode - half, hi = mode + half > n ? n : mode + half;
    double W = 0.0, S = 0.0, w = 1.0;
    for (long K = mode; K <= hi; K++) {
        double prod = w;
        for (int j = 0; j < p; j++) prod *= 2.0 * ((double)K + 2.0 * j) / (double)n;
        W += w;
        S += prod;
        w *= (double)(n - K) / (double)(K + 1);
    }
    w = 1.0;
    for (long K = mode - 1; K >= lo; K--) {
        w *= (double)(K + 1) / (double)(n - K);
        double prod = w;
        for (int j = 0; j < p; j++) prod *= 2.0 * ((double)K + 2.0 * j) / (double)n;
        W += w;
        S += prod;
    }
    return S / W;
}

int hntk_finite_output_moments(int L, int H, long n, long m, double *var_ratio, double *kurt)
{
    if (L < 1 || L > 32) return hntk_fail(HNTK_EINVAL, "f depth L = %d is out of range: accepted 1..32", L);
    if (H < 1 || H > 32) return hntk_fail(HNTK_EINVAL, "g depth H = %d is out of range: accepted 1..32", H);
    if (n < 0 || m < 0)
        return hntk_fail(HNTK_EINVAL, "widths n = %ld, m = %ld: accepted >= 1, or 0 for infinite", n, m);
    double tH = n > 0 && L > 1 ? hntk_finite_t_moment(n, H) : 1.0;
    double t2H = n > 0 && L > 1 ? hntk_finite_t_moment(n, 2 * H) : 1.0;
    double tm2 = m > 0 && H > 1 ? hntk_finite_t_moment(m, 2) : 1.0;
    double e2 = pow(tH, L - 1), r4 = 3.0 * pow(tm2, H - 1) * pow(t2H, L - 1) / (e2 * e2);
    if (var_ratio) *var_ratio = e2;
    if (kurt) *kurt = r4 - 3.0;
    return HNTK_OK;
}
