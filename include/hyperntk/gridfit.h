/* gridfit.h: fits of a statistic measured on a grid of widths n of f times
 * widths m of g (Figure 1(a), Theorem 2): log-log slopes along the edges and
 * the diagonal of the grid, and the leading-order model
 *
 *     y(n, m) = a/n + b/m + c/(n m)
 *
 * by iteratively reweighted least squares, with intervals from a bootstrap
 * over the samples of every cell (the statistic recomputed on each resample
 * through a callback).  Moved here from sims/fig1a.c so that every grid
 * driver fits the same way: fig1a's files are bit-identical to before.
 *
 * Grids are row-major (A widths of f, G widths of g): cell c = a G + g.
 * Conventions as stats.h: statuses from error.h, nothing prints or exits.
 */
#ifndef HYPERNTK_GRIDFIT_H
#define HYPERNTK_GRIDFIT_H

#include <stdint.h>

#include "hyperntk/h5io.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { HNTK_GRIDFIT_EDGES = 5, HNTK_GRIDFIT_MAX_WIDTHS = 64, HNTK_GRIDFIT_MODEL = 3 };

/* The edges, in order (the names of the datasets' 5 entries). */
extern const char *const HNTK_GRIDFIT_EDGE_NAMES;

typedef struct {
    long points;
    double slope, slope_se;           /* log y = c0 + slope log width, all points (gsl_fit_linear) */
    double tail_slope, tail_slope_se; /* over the widest tail_points points */
    double tail_mean, tail_mean_se;   /* mean of y over the widest tail_points points: the floor, if any */
    double first, last;               /* y at the narrowest and the widest point */
} hntk_gridfit_edge;

/* The five edges of y (A, G) with standard errors y_se (A, G): 0 the f axis at
 * the narrowest g, 1 the f axis at the widest g, 2 the g axis at the narrowest
 * f, 3 the g axis at the widest f, 4 the diagonal (i-th f width with the i-th
 * g width, abscissa sqrt(n m)).  Slopes are NaN where a y is not > 0 (log).
 * A, G in 1..HNTK_GRIDFIT_MAX_WIDTHS, tail_points >= 1. */
int hntk_gridfit_edges(long A, long G, const long *f_widths, const long *g_widths, const double *y,
                       const double *y_se, int tail_points, hntk_gridfit_edge e[HNTK_GRIDFIT_EDGES]);

/* The statistic of one cell from its (resampled) data x (n, dim), into *value
 * (NaN allowed: that replicate's fit is then NaN). */
typedef int (*hntk_gridfit_stat_fn)(void *arg, long cell, const double *x, long n, long dim, double *value);

typedef struct {
    long A, G;
    const long *f_widths, *g_widths;
    const double *y;      /* (A, G) the statistic of every cell */
    /* Weights of the IRLS: w = 1/(model^2 + noise_var), starting from
     * 1/(mean(y)^2 + noise_var).  noise_var = 0: relative weights 1/model^2
     * with the model clamped at 1e-3 mean(y) (mean(y) must be > 0); a
     * statistic whose noise does not vanish with it (a kurtosis near 0) gives
     * its null variance here. */
    double noise_var;
    /* Reduced chi^2: cell variance 2 model^2/chi2_count + noise_var (chi2_count
     * = N - 1 for a sample variance of N Gaussian values; 0: noise_var alone). */
    long chi2_count;
    /* Bootstrap (replicates > 0): samples (A G, n, dim), cell c resampled from
     * stream row c of key (stats.h), its statistic recomputed by stat. */
    const double *samples;
    long n, dim;
    hntk_gridfit_stat_fn stat;
    void *stat_arg;
    uint64_t key;
    long replicates;
    int threads;          /* OpenMP threads of the bootstrap (>= 1); results do not depend on it */
} hntk_gridfit_model_job;

typedef struct {
    int ok;                                   /* 0: not identifiable (A < 2, G < 2) or the fit failed */
    double coef[HNTK_GRIDFIT_MODEL];          /* (a, b, c) */
    double coef_se[HNTK_GRIDFIT_MODEL];       /* bootstrap standard deviation */
    double coef_ci[HNTK_GRIDFIT_MODEL][2];    /* bootstrap 95% percentile interval */
    long replicates;
    int iterations;
    double chi2_dof;                          /* reduced chi^2 under the noise model of chi2_count, noise_var */
    double rel_rms;                           /* RMS of (model - y)/y over the cells */
    int negative_floor;                       /* a < 0 or b < 0 */
} hntk_gridfit_model;

int hntk_gridfit_model_fit(const hntk_gridfit_model_job *job, hntk_gridfit_model *out);

/* The edges e (HNTK_GRIDFIT_EDGES) as six described datasets
 * /fit/<prefix>_edge_{slope, slope_stderr, tail_slope, tail_slope_stderr,
 * tail_mean, tail_mean_stderr}, each described as "<what>: ...". */
int hntk_gridfit_write_edges(hntk_h5 *f, const char *prefix, const hntk_gridfit_edge *e, const char *what);

#ifdef __cplusplus
}
#endif
#endif
