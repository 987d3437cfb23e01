/* gridfit.c: edge slopes and the a/n + b/m + c/(nm) model of a width grid
 * (gridfit.h).  The arithmetic is sims/fig1a.c's, moved here unchanged, so
 * that fig1a's results keep their bits. */
#include "hyperntk/gridfit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_vector.h>

#include "hyperntk/error.h"
#include "hyperntk/stats.h"

const char *const HNTK_GRIDFIT_EDGE_NAMES =
    "f axis at the narrowest g; f axis at the widest g; g axis at the narrowest f; g axis at the widest f; "
    "diagonal (i-th f width with i-th g width)";

/* ------------------------------------------------------------------ edges */

static void loglog_slope(const double *x, const double *y, long n, double *slope, double *se)
{
    hntk_stats_loglog_slope(x, 1, y, 1, n, NULL, slope, se, NULL); /* NaN on bad input is the answer */
}

static void fit_edge(const double *x, const double *y, const double *ys, long n, int tail, hntk_gridfit_edge *e)
{
    e->points = n;
    loglog_slope(x, y, n, &e->slope, &e->slope_se);
    long t = n < tail ? n : tail;
    loglog_slope(x + n - t, y + n - t, t, &e->tail_slope, &e->tail_slope_se);
    double sum = 0.0, sum_se2 = 0.0;
    for (long i = n - t; i < n; i++) {
        sum += y[i];
        sum_se2 += ys[i] * ys[i];
    }
    e->tail_mean = sum / (double)t;
    e->tail_mean_se = sqrt(sum_se2) / (double)t;
    e->first = y[0];
    e->last = y[n - 1];
}

int hntk_gridfit_edges(long A, long G, const long *f_widths, const long *g_widths, const double *var,
                       const double *var_se, int tail_points, hntk_gridfit_edge e[HNTK_GRIDFIT_EDGES])
{
    if (A < 1 || A > HNTK_GRIDFIT_MAX_WIDTHS || G < 1 || G > HNTK_GRIDFIT_MAX_WIDTHS)
        return hntk_fail(HNTK_EINVAL, "grid of %ld x %ld widths is out of range: accepted 1..%d each", A, G,
                         HNTK_GRIDFIT_MAX_WIDTHS);
    if (tail_points < 1) return hntk_fail(HNTK_EINVAL, "tail_points = %d is out of range: accepted >= 1", tail_points);
    long D = A < G ? A : G;
    double x[HNTK_GRIDFIT_MAX_WIDTHS] = {0}, y[HNTK_GRIDFIT_MAX_WIDTHS] = {0}, ys[HNTK_GRIDFIT_MAX_WIDTHS] = {0};
    for (long a = 0; a < A; a++) { x[a] = (double)f_widths[a]; y[a] = var[a * G]; ys[a] = var_se[a * G]; }
    fit_edge(x, y, ys, A, tail_points, &e[0]);
    for (long a = 0; a < A; a++) { y[a] = var[a * G + G - 1]; ys[a] = var_se[a * G + G - 1]; }
    fit_edge(x, y, ys, A, tail_points, &e[1]);
    for (long g = 0; g < G; g++) { x[g] = (double)g_widths[g]; y[g] = var[g]; ys[g] = var_se[g]; }
    fit_edge(x, y, ys, G, tail_points, &e[2]);
    for (long g = 0; g < G; g++) { y[g] = var[(A - 1) * G + g]; ys[g] = var_se[(A - 1) * G + g]; }
    fit_edge(x, y, ys, G, tail_points, &e[3]);
    for (long k = 0; k < D; k++) {
        x[k] = sqrt((double)f_widths[k] * (double)g_widths[k]);
        y[k] = var[k * G + k];
        ys[k] = var_se[k * G + k];
    }
    fit_edge(x, y, ys, D, tail_points, &e[4]);
    return HNTK_OK;
}

/* ------------------------------------------------------------------ model */

enum { IRLS_MAX_ITER = 50, N_MODEL = HNTK_GRIDFIT_MODEL };

typedef struct {
    gsl_matrix *X, *cov;
    gsl_vector *y, *w, *c;
    gsl_multifit_linear_workspace *ws;
} irls_ws;

static void irls_free(irls_ws *s)
{
    gsl_multifit_linear_free(s->ws);
    gsl_vector_free(s->c);
    gsl_vector_free(s->w);
    gsl_vector_free(s->y);
    gsl_matrix_free(s->cov);
    gsl_matrix_free(s->X);
}

static int irls_alloc(const hntk_gridfit_model_job *j, irls_ws *s)
{
    size_t n = (size_t)(j->A * j->G);
    memset(s, 0, sizeof *s);
    s->X = gsl_matrix_alloc(n, N_MODEL);
    s->cov = gsl_matrix_alloc(N_MODEL, N_MODEL);
    s->y = gsl_vector_alloc(n);
    s->w = gsl_vector_alloc(n);
    s->c = gsl_vector_alloc(N_MODEL);
    s->ws = gsl_multifit_linear_alloc(n, N_MODEL);
    if (!s->X || !s->cov || !s->y || !s->w || !s->c || !s->ws) {
        irls_free(s);
        memset(s, 0, sizeof *s);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate the fit of %zu cells", n);
    }
    for (long i = 0; i < j->A * j->G; i++) {
        double nf = (double)j->f_widths[i / j->G], mg = (double)j->g_widths[i % j->G];
        gsl_matrix_set(s->X, (size_t)i, 0, 1.0 / nf);
        gsl_matrix_set(s->X, (size_t)i, 1, 1.0 / mg);
        gsl_matrix_set(s->X, (size_t)i, 2, 1.0 / (nf * mg));
    }
    return HNTK_OK;
}

static double model_at(const irls_ws *s, const double coef[N_MODEL], long i)
{
    double v = 0.0;
    for (int k = 0; k < N_MODEL; k++) v += coef[k] * gsl_matrix_get(s->X, (size_t)i, (size_t)k);
    return v;
}

/* The IRLS fit of y (cells) into coef; returns the iterations, 0 on failure. */
static int irls_fit(irls_ws *s, const double *y, long cells, double noise_var, double coef[N_MODEL])
{
    double mean = 0.0, floor_w = 0.0;
    for (long i = 0; i < cells; i++) mean += y[i] / (double)cells;
    if (noise_var == 0.0 ? !(mean > 0.0) : !isfinite(mean)) return 0;
    for (long i = 0; i < cells; i++) {
        gsl_vector_set(s->y, (size_t)i, y[i]);
        gsl_vector_set(s->w, (size_t)i, 1.0 / (mean * mean + noise_var));
    }
    /* Relative weights: a model value below 1e-3 of the mean is clamped there,
     * so that the weight of a cell stays finite when the model crosses 0. */
    floor_w = 1e-3 * mean;
    for (int it = 1; it <= IRLS_MAX_ITER; it++) {
        double chisq, prev[N_MODEL];
        for (int k = 0; k < N_MODEL; k++) prev[k] = coef[k];
        if (gsl_multifit_wlinear(s->X, s->w, s->y, s->c, s->cov, &chisq, s->ws) != GSL_SUCCESS) return 0;
        double change = 0.0, size = 0.0;
        for (int k = 0; k < N_MODEL; k++) {
            coef[k] = gsl_vector_get(s->c, (size_t)k);
            if (it > 1) change += fabs(coef[k] - prev[k]);
            size += fabs(coef[k]);
        }
        if (it > 1 && change <= 1e-12 * size) return it;
        for (long i = 0; i < cells; i++) {
            double m = model_at(s, coef, i);
            if (noise_var == 0.0 && m < floor_w) m = floor_w;
            gsl_vector_set(s->w, (size_t)i, 1.0 / (m * m + noise_var));
        }
    }
    return IRLS_MAX_ITER;
}

typedef struct {
    const hntk_gridfit_model_job *job;
    irls_ws fit;
    long *idx;    /* (n) */
    double *vals; /* (n, dim) */
    double *y;    /* (cells) */
} boot_ctx;

static int boot_replicate(void *ctx, long b, const long *idx0, long n, double *out)
{
    boot_ctx *c = ctx;
    const hntk_gridfit_model_job *j = c->job;
    long cells = j->A * j->G, dim = j->dim;
    (void)idx0; /* every cell draws its own row below, row 0 included */
    for (long cell = 0; cell < cells; cell++) {
        int st = hntk_stats_bootstrap_indices(j->key, b, (uint32_t)cell, n, n, c->idx);
        if (st) return st;
        const double *k = j->samples + cell * n * dim;
        if (dim == 1)
            for (long i = 0; i < n; i++) c->vals[i] = k[c->idx[i]];
        else
            for (long i = 0; i < n; i++) memcpy(c->vals + i * dim, k + c->idx[i] * dim, sizeof(double) * (size_t)dim);
        st = j->stat(j->stat_arg, cell, c->vals, n, dim, &c->y[cell]);
        if (st) return st;
    }
    if (!irls_fit(&c->fit, c->y, cells, j->noise_var, out))
        for (int k = 0; k < N_MODEL; k++) out[k] = NAN;
    return HNTK_OK;
}

int hntk_gridfit_model_fit(const hntk_gridfit_model_job *j, hntk_gridfit_model *mf)
{
    long A = j->A, G = j->G, cells = A * G, N = j->n;
    memset(mf, 0, sizeof *mf);
    for (int k = 0; k < N_MODEL; k++) mf->coef[k] = mf->coef_se[k] = mf->coef_ci[k][0] = mf->coef_ci[k][1] = NAN;
    mf->chi2_dof = mf->rel_rms = NAN;
    if (!(j->noise_var >= 0.0) || !isfinite(j->noise_var))
        return hntk_fail(HNTK_EINVAL, "noise_var = %g is out of range: accepted finite >= 0", j->noise_var);
    if (j->replicates > 0 && (!j->samples || !j->stat || N < 1 || j->dim < 1 || j->threads < 1))
        return hntk_fail(HNTK_EINVAL, "a bootstrap of the grid fit needs samples, a statistic, n >= 1 (%ld), dim >= 1 "
                                      "(%ld) and threads >= 1 (%d)", N, j->dim, j->threads);
    if (cells <= N_MODEL || A < 2 || G < 2) return HNTK_OK; /* the model is not identifiable */
    irls_ws main_fit;
    int st = irls_alloc(j, &main_fit);
    if (st) return st;
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    mf->iterations = irls_fit(&main_fit, j->y, cells, j->noise_var, mf->coef);
    if (mf->iterations) {
        double chi2 = 0.0, rel = 0.0;
        for (long i = 0; i < cells; i++) {
            double m = model_at(&main_fit, mf->coef, i), y = j->y[i];
            if (j->noise_var == 0.0)
                chi2 += (y - m) * (y - m) * (double)j->chi2_count / (2.0 * m * m);
            else
                chi2 += (y - m) * (y - m) /
                        (j->noise_var + (j->chi2_count > 0 ? 2.0 * m * m / (double)j->chi2_count : 0.0));
            rel += (m - y) * (m - y) / (y * y);
        }
        mf->chi2_dof = chi2 / (double)(cells - N_MODEL);
        mf->rel_rms = sqrt(rel / (double)cells);
        mf->negative_floor = mf->coef[0] < 0.0 || mf->coef[1] < 0.0;
    }
    irls_free(&main_fit);
    if (!mf->iterations || j->replicates <= 0) {
        mf->ok = mf->iterations > 0;
        gsl_set_error_handler(old);
        return HNTK_OK;
    }
    mf->ok = 1;

    /* The bootstrap over samples: B replicates, OpenMP over replicates. */
    int threads = j->threads;
    long R = j->replicates, dim = j->dim;
    boot_ctx *ctx = calloc((size_t)threads, sizeof *ctx);
    void **ptrs = calloc((size_t)threads, sizeof *ptrs);
    long *idx_ws = malloc(sizeof(long) * (size_t)(threads * N));
    double *reps = malloc(sizeof(double) * (size_t)R * N_MODEL), *scratch = malloc(sizeof(double) * (size_t)R);
    st = ctx && ptrs && idx_ws && reps && scratch ? HNTK_OK : hntk_fail(HNTK_ENOMEM, "cannot allocate the bootstrap");
    for (int t = 0; t < threads && !st; t++) {
        ptrs[t] = &ctx[t];
        ctx[t].job = j;
        st = irls_alloc(j, &ctx[t].fit);
        ctx[t].idx = malloc(sizeof(long) * (size_t)N);
        ctx[t].vals = malloc(sizeof(double) * (size_t)(N * dim));
        ctx[t].y = malloc(sizeof(double) * (size_t)cells);
        if (!st && (!ctx[t].idx || !ctx[t].vals || !ctx[t].y)) st = hntk_fail(HNTK_ENOMEM, "cannot allocate the bootstrap");
    }
    if (!st) {
        hntk_stats_bootstrap_job job = {.key = j->key, .row = 0, .n = N, .replicates = R, .dim = N_MODEL,
                                        .threads = threads, .ctx = ptrs, .fn = boot_replicate};
        st = hntk_stats_bootstrap_run(&job, idx_ws, reps);
    }
    for (int k = 0; k < N_MODEL && !st; k++)
        st = hntk_stats_bootstrap_interval(reps + k, N_MODEL, R, 0.95, 0.05, scratch, mf->coef_ci[k], &mf->coef_se[k]);
    mf->replicates = R;
    if (ctx)
        for (int t = 0; t < threads; t++) {
            irls_free(&ctx[t].fit);
            free(ctx[t].idx);
            free(ctx[t].vals);
            free(ctx[t].y);
        }
    free(ctx);
    free(ptrs);
    free(idx_ws);
    free(reps);
    free(scratch);
    gsl_set_error_handler(old);
    return st;
}

int hntk_gridfit_write_edges(hntk_h5 *f, const char *prefix, const hntk_gridfit_edge *e, const char *what)
{
    double v[6][HNTK_GRIDFIT_EDGES];
    for (int k = 0; k < HNTK_GRIDFIT_EDGES; k++) {
        v[0][k] = e[k].slope, v[1][k] = e[k].slope_se, v[2][k] = e[k].tail_slope, v[3][k] = e[k].tail_slope_se;
        v[4][k] = e[k].tail_mean, v[5][k] = e[k].tail_mean_se;
    }
    static const char *suffix[6] = {"slope", "slope_stderr", "tail_slope", "tail_slope_stderr", "tail_mean",
                                    "tail_mean_stderr"};
    static const char *desc[6] = {"log-log slope along each edge, all points", "its standard error",
                                  "log-log slope over the widest 3 points", "its standard error",
                                  "mean over the widest 3 points: the floor, if any", "its standard error"};
    long ed[1] = {HNTK_GRIDFIT_EDGES};
    int st = HNTK_OK;
    for (int q = 0; q < 6 && !st; q++) {
        char name[96], text[400];
        snprintf(name, sizeof name, "/fit/%s_edge_%s", prefix, suffix[q]);
        snprintf(text, sizeof text, "%s: %s (5 edges, see /fit attribute edges)", what, desc[q]);
        st = hntk_h5_write_described(f, name, 1, ed, v[q], text, NULL);
    }
    return st;
}
