/* fig1a.c: `hyperntk fig1a`: Figure 1(a) of Littwin et al. (THEORY.md section
 * 5, items 3-4): the variance of the empirical hyperkernel K^h(u,u') over
 * independent initializations, on a grid of widths n of f times widths m of g.
 * The claim: it tends to 0 only when both widths grow.
 *
 * Cell (a, g) of the grid (f width f_widths[a], g width g_widths[g]) is cell
 * c = a*G + g; it draws the samples c*N .. c*N + N - 1 of the seed.  Each cell
 * is checkpointed on completion (resume: grid.h).  At the end the
 * variance is fitted along the four edges of the grid and its diagonal
 * (least squares on log-log, gsl_fit_linear), and against the model
 * var = a/n + b/m + c/(nm) (weighted least squares), whose b/m and a/n are the
 * floors along the edges.  Schema: docs/file-formats.md; reading: docs/figure1.md. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_fit.h>
#include <gsl/gsl_multifit.h>

#include "cli.h"
#include "commands.h"
#include "grid.h"
#include "opts.h"

static const char *CMD = "fig1a";


enum { TAIL_POINTS = 3, N_EDGES = 5, N_MODEL = 3 };

typedef struct {
    int f_depth, g_depth;
    long x_dim, z_dim;
    double x_angle, z_angle; /* radians */
    opts_list f_widths, g_widths;
    long A, G;               /* the numbers of widths */
    long samples;
    grid_run_opts run; /* --out, --seed, --restart, --stop-after-cells, --mem-budget */
} fig1a_opts;

#define F(field) offsetof(fig1a_opts, field)
static const opt_spec SPECS[] = {
    {"f-widths", "LIST", OPT_LIST, F(f_widths), 1, HNTK_MAX_WIDTH, NULL, "widths n of f", OPT_CONFIG | OPT_INCREASING},
    {"g-widths", "LIST", OPT_LIST, F(g_widths), 1, HNTK_MAX_WIDTH, NULL, "widths m of g", OPT_CONFIG | OPT_INCREASING},
    {"f-depth", "L", OPT_INT, F(f_depth), 2, HNTK_MAX_DEPTH, "3", "weight layers of f", OPT_CONFIG},
    {"g-depth", "H", OPT_INT, F(g_depth), 2, HNTK_MAX_DEPTH, "2", "weight layers of g", OPT_CONFIG},
    {"x-dim", "n0", OPT_LONG, F(x_dim), 2, HNTK_MAX_WIDTH, "2", "dimension of x", OPT_CONFIG},
    {"z-dim", "m0", OPT_LONG, F(z_dim), 2, HNTK_MAX_WIDTH, "2", "dimension of z", OPT_CONFIG},
    {"x-angle", "A", OPT_ANGLE, F(x_angle), 0, CLI_PI, "pi/2",
     "angle between x and x' in radians: x = sqrt(n0) e1,\nx' = sqrt(n0) (cos A e1 + sin A e2)", OPT_CONFIG},
    {"z-angle", "A", OPT_ANGLE, F(z_angle), 0, CLI_PI, "pi/2", "angle between z and z' in radians, likewise",
     OPT_CONFIG},
    {"samples", "N", OPT_LONG, F(samples), 2, 2147483647.0, NULL,
     "initializations per cell; cell c uses samples c*N..c*N+N-1", OPT_CONFIG},
    GRID_RUN_SPECS(fig1a_opts, "cells"),
};
#undef F

static const opt_preset PRESETS[] = {
    {"default", "the paper's grid: 8 x 8 widths, 100 samples (about a minute on 2 cores)",
     "f-widths=25,50,100,200,400,800,1600,3200 g-widths=10,20,40,80,160,320,640,1280 samples=100"},
    {"quick", "a 3 x 3 grid, 100 samples: seconds", "f-widths=25,100,400 g-widths=10,40,160 samples=100"},
};

static const opt_command COMMAND = {
    .cmd = "fig1a",
    .synopsis = "--out OUT.h5 [--quick] [OPTIONS]",
    .summary = "Figure 1(a): variance of the empirical hyperkernel K^h(u,u') over independent\n"
               "initializations, on a grid of widths of f times widths of g, against the limit\n"
               "Theta^h(u,u') (docs/theory.md, claims 4).  Prints the variance grid, its log-log\n"
               "slopes along each edge and the diagonal, and the fit var = a/n + b/m + c/(nm).",
    .footer = GRID_FOOTER,
    OPTS_SPECS(SPECS),
    OPTS_PRESETS(PRESETS),
};

static int parse_options(int argc, char **argv, fig1a_opts *o, opts_state *state)
{
    memset(o, 0, sizeof *o);
    int st = grid_parse(&COMMAND, argc, argv, o, &o->run, state);
    o->A = o->f_widths.n;
    o->G = o->g_widths.n;
    return st;
}

/* Row 0: r e1; row 1: r (cos e1 + sin e2), r = sqrt(dim), so |row|^2 = dim. */
static void pair_inputs(double angle, long dim, double *M)
{
    double c, s, r = sqrt((double)dim);
    cli_cos_sin(angle, &c, &s);
    memset(M, 0, sizeof(double) * (size_t)(2 * dim));
    M[0] = r;
    M[dim] = r * c;
    M[dim + 1] = r * s;
}

static hntk_hyper_arch cell_arch(const fig1a_opts *o, long n, long m)
{
    hntk_hyper_arch a = {0};
    a.f_depth = o->f_depth;
    a.f_width = n;
    a.x_dim = o->x_dim;
    a.g_depth = o->g_depth;
    a.g_width = m;
    a.z_dim = o->z_dim;
    a.fourier_scale = 1.0;
    return a;
}

enum { SAMPLE_DIM = 4, CELL_DIM = 4 };

/* Cell values [mean, var, stderr, var_stderr] from the accumulator of the
 * samples above.  var_stderr = sqrt(m4/N - var^2 (N-3)/(N(N-1))), the standard
 * error of the unbiased sample variance, with the sample fourth central moment
 * m4.  Heavy tails make it (like var) an underestimate when N is small. */
static void cell_values(const hntk_welford *acc, double center, double v[CELL_DIM])
{
    double vars[SAMPLE_DIM], ses[SAMPLE_DIM];
    hntk_welford_finish(acc, vars, ses); /* only element 0, that of K, is wanted */
    double var = vars[0], se = ses[0];
    double N = (double)acc->count, mu = acc->mean[0] - center;
    double r2 = acc->mean[1], r3 = acc->mean[2], r4 = acc->mean[3];
    double m4 = r4 - 4.0 * mu * r3 + 6.0 * mu * mu * r2 - 3.0 * mu * mu * mu * mu;
    double vv = m4 / N - var * var * (N - 3.0) / (N * (N - 1.0));
    v[0] = acc->mean[0];
    v[1] = var;
    v[2] = se;
    v[3] = sqrt(vv > 0.0 ? vv : 0.0);
}

/* ------------------------------------------------------------------- fits */

typedef struct {
    long points;
    double slope, slope_se;           /* log var = c0 + slope log width, all points */
    double tail_slope, tail_slope_se; /* the last TAIL_POINTS points */
    double tail_mean, tail_mean_se;   /* mean variance over the last TAIL_POINTS points: the floor, if any */
    double first, last;               /* variance at the narrowest and the widest point */
} edge_fit;

static const char *EDGE_NAMES =
    "f axis at the narrowest g; f axis at the widest g; g axis at the narrowest f; g axis at the widest f; "
    "diagonal (i-th f width with i-th g width)";

/* Slope of log y against log x; NaN when fewer than 2 points, NaN error with 2. */
static void loglog_slope(const double *x, const double *y, long n, double *slope, double *se)
{
    *slope = NAN;
    *se = NAN;
    if (n < 2) return;
    double lx[OPTS_LIST_MAX], ly[OPTS_LIST_MAX];
    for (long i = 0; i < n; i++) {
        lx[i] = log(x[i]);
        ly[i] = log(y[i]);
    }
    double c0, c1, cov00, cov01, cov11, sumsq;
    gsl_fit_linear(lx, 1, ly, 1, (size_t)n, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
    *slope = c1;
    *se = n > 2 ? sqrt(cov11) : NAN;
}

/* x: widths, y: variances, ys: their standard errors (n points). */
static void fit_edge(const double *x, const double *y, const double *ys, long n, edge_fit *e)
{
    e->points = n;
    loglog_slope(x, y, n, &e->slope, &e->slope_se);
    long t = n < TAIL_POINTS ? n : TAIL_POINTS;
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

/* The five edges: x is the width along the edge (the geometric mean sqrt(n m)
 * on the diagonal), y the variance. */
static void fit_edges(const fig1a_opts *o, const double *var, const double *var_se, edge_fit e[N_EDGES])
{
    long A = o->A, G = o->G, D = A < G ? A : G;
    double x[OPTS_LIST_MAX] = {0}, y[OPTS_LIST_MAX] = {0}, ys[OPTS_LIST_MAX] = {0};
    for (long a = 0; a < A; a++) { x[a] = (double)o->f_widths.v[a]; y[a] = var[a * G]; ys[a] = var_se[a * G]; }
    fit_edge(x, y, ys, A, &e[0]);
    for (long a = 0; a < A; a++) { y[a] = var[a * G + G - 1]; ys[a] = var_se[a * G + G - 1]; }
    fit_edge(x, y, ys, A, &e[1]);
    for (long g = 0; g < G; g++) { x[g] = (double)o->g_widths.v[g]; y[g] = var[g]; ys[g] = var_se[g]; }
    fit_edge(x, y, ys, G, &e[2]);
    for (long g = 0; g < G; g++) { y[g] = var[(A - 1) * G + g]; ys[g] = var_se[(A - 1) * G + g]; }
    fit_edge(x, y, ys, G, &e[3]);
    for (long k = 0; k < D; k++) {
        x[k] = sqrt((double)o->f_widths.v[k] * (double)o->g_widths.v[k]);
        y[k] = var[k * G + k];
        ys[k] = var_se[k * G + k];
    }
    fit_edge(x, y, ys, D, &e[4]);
}

/* var(n, m) = a/n + b/m + c/(n m), weighted least squares with weights
 * 1/var_stderr^2 (each cell's own standard error of the variance, from its
 * fourth moment).  coef = (a, b, c); their errors are scaled by the reduced
 * chi^2 when it exceeds 1. */
typedef struct {
    int ok;
    double coef[N_MODEL], coef_se[N_MODEL];
    double chi2_dof;  /* reduced chi^2 with the weights 1/var_stderr^2 */
    double rel_rms;   /* RMS of (model - var)/var over the cells */
} model_fit;

static void fit_model(const fig1a_opts *o, const double *var, const double *var_se, model_fit *mf)
{
    long A = o->A, G = o->G, N = A * G;
    memset(mf, 0, sizeof *mf);
    for (int k = 0; k < N_MODEL; k++) mf->coef[k] = mf->coef_se[k] = NAN;
    mf->chi2_dof = mf->rel_rms = NAN;
    if (N <= N_MODEL || A < 2 || G < 2) return;
    for (long i = 0; i < N; i++)
        if (!(var_se[i] > 0.0)) return; /* a cell without an error bar cannot be weighted */
    gsl_matrix *X = gsl_matrix_alloc((size_t)N, N_MODEL), *cov = gsl_matrix_alloc(N_MODEL, N_MODEL);
    gsl_vector *y = gsl_vector_alloc((size_t)N), *w = gsl_vector_alloc((size_t)N), *c = gsl_vector_alloc(N_MODEL);
    gsl_multifit_linear_workspace *ws = gsl_multifit_linear_alloc((size_t)N, N_MODEL);
    if (X && cov && y && w && c && ws) {
        for (long a = 0; a < A; a++)
            for (long g = 0; g < G; g++) {
                size_t i = (size_t)(a * G + g);
                double n = (double)o->f_widths.v[a], m = (double)o->g_widths.v[g], v = var[i];
                gsl_matrix_set(X, i, 0, 1.0 / n);
                gsl_matrix_set(X, i, 1, 1.0 / m);
                gsl_matrix_set(X, i, 2, 1.0 / (n * m));
                gsl_vector_set(y, i, v);
                gsl_vector_set(w, i, 1.0 / (var_se[i] * var_se[i]));
            }
        double chisq;
        if (gsl_multifit_wlinear(X, w, y, c, cov, &chisq, ws) == GSL_SUCCESS) {
            mf->ok = 1;
            mf->chi2_dof = chisq / (double)(N - N_MODEL);
            for (int k = 0; k < N_MODEL; k++) {
                mf->coef[k] = gsl_vector_get(c, (size_t)k);
                mf->coef_se[k] = sqrt(gsl_matrix_get(cov, (size_t)k, (size_t)k) * (mf->chi2_dof > 1 ? mf->chi2_dof : 1));
            }
            double s = 0.0;
            for (long i = 0; i < N; i++) {
                double n = (double)o->f_widths.v[i / G], m = (double)o->g_widths.v[i % G];
                double model = mf->coef[0] / n + mf->coef[1] / m + mf->coef[2] / (n * m);
                s += (model - var[i]) * (model - var[i]) / (var[i] * var[i]);
            }
            mf->rel_rms = sqrt(s / (double)N);
        }
    }
    gsl_multifit_linear_free(ws);
    gsl_vector_free(c);
    gsl_vector_free(w);
    gsl_vector_free(y);
    gsl_matrix_free(cov);
    gsl_matrix_free(X);
}

/* -------------------------------------------------------------------- run */

typedef struct {
    double *X, *Z;            /* (2, x_dim), (2, z_dim) */
    double analytic;          /* Theta^h(u, u') */
    double *mean, *var, *se;  /* (A, G) */
    double *var_se;           /* (A, G) standard error of var */
    edge_fit edges[N_EDGES];
    model_fit model;
} fig1a_result;

static void result_free(fig1a_result *r)
{
    free(r->X);
    free(r->Z);
    free(r->mean);
    free(r->var);
    free(r->se);
    free(r->var_se);
}


static void print_grid(const char *title, const fig1a_opts *o, const double *v, const char *fmt)
{
    printf("%s\n%9s", title, "n \\ m");
    for (long g = 0; g < o->G; g++) printf(" %9ld", o->g_widths.v[g]);
    printf("\n");
    for (long a = 0; a < o->A; a++) {
        printf("%9ld", o->f_widths.v[a]);
        for (long g = 0; g < o->G; g++) printf(fmt, v[a * o->G + g]);
        printf("\n");
    }
}

static void print_report(const fig1a_opts *o, const fig1a_result *r)
{
    long A = o->A, G = o->G, N = A * G;
    printf("hyperntk fig1a: L=%d H=%d, angle(x,x') = %.4g rad, angle(z,z') = %.4g rad, %ld samples per cell, seed %llu\n",
           o->f_depth, o->g_depth, o->x_angle, o->z_angle, o->samples, (unsigned long long)o->run.seed);
    printf("Theta^h(u,u') = %.6g (infinite-width limit, THEORY.md section 3)\n\n", r->analytic);
    print_grid("variance of K^h(u,u') over initializations (rows: width n of f, columns: width m of g)", o, r->var,
               " %9.3g");
    double *z = malloc(sizeof(double) * (size_t)N);
    if (z) {
        for (long i = 0; i < N; i++) z[i] = (r->mean[i] - r->analytic) / r->se[i];
        printf("\n");
        print_grid("(mean of K^h - Theta^h) / standard error", o, z, " %9.2f");
        free(z);
    }
    long D = A < G ? A : G;
    printf("\nthe variance along the edges of the grid and its diagonal: log-log slopes (gsl_fit_linear; -1: falls\n"
           "like 1/width, 0: a floor) and the mean variance over the %d widest points of each edge (the floor, if any)\n",
           TAIL_POINTS);
    printf("%-32s %10s %22s %17s %17s\n", "edge", "var first", "widest 3: mean +- se", "slope (all)",
           "slope (widest 3)");
    for (int k = 0; k < N_EDGES; k++) {
        const edge_fit *e = &r->edges[k];
        char label[96];
        switch (k) {
        case 0: snprintf(label, sizeof label, "f axis n %ld..%ld at m = %ld", o->f_widths.v[0], o->f_widths.v[A - 1], o->g_widths.v[0]); break;
        case 1: snprintf(label, sizeof label, "f axis n %ld..%ld at m = %ld", o->f_widths.v[0], o->f_widths.v[A - 1], o->g_widths.v[G - 1]); break;
        case 2: snprintf(label, sizeof label, "g axis m %ld..%ld at n = %ld", o->g_widths.v[0], o->g_widths.v[G - 1], o->f_widths.v[0]); break;
        case 3: snprintf(label, sizeof label, "g axis m %ld..%ld at n = %ld", o->g_widths.v[0], o->g_widths.v[G - 1], o->f_widths.v[A - 1]); break;
        default: snprintf(label, sizeof label, "diagonal (%ld,%ld)..(%ld,%ld)", o->f_widths.v[0], o->g_widths.v[0], o->f_widths.v[D - 1], o->g_widths.v[D - 1]); break;
        }
        printf("%-32s %10.3g %11.3g +- %-8.2g %7.3f +- %-6.3f %7.3f +- %-6.3f\n", label, e->first, e->tail_mean,
               e->tail_mean_se, e->slope, e->slope_se, e->tail_slope, e->tail_slope_se);
    }
    const model_fit *m = &r->model;
    if (m->ok) {
        printf("\nleading-order fit var = a/n + b/m + c/(n m) over all %ld cells (weights 1/var_stderr^2):\n", N);
        printf("  a = %.4g +- %.2g   b = %.4g +- %.2g   c = %.4g +- %.2g   (reduced chi^2 %.3g, RMS relative misfit %.3g)\n",
               m->coef[0], m->coef_se[0], m->coef[1], m->coef_se[1], m->coef[2], m->coef_se[2], m->chi2_dof,
               m->rel_rms);
        printf("  floor along the f axis (n -> inf) at m = %ld: b/m = %.3g +- %.2g\n", o->g_widths.v[0],
               m->coef[1] / (double)o->g_widths.v[0], m->coef_se[1] / (double)o->g_widths.v[0]);
        printf("  floor along the g axis (m -> inf) at n = %ld: a/n = %.3g +- %.2g (leading order in 1/n)\n",
               o->f_widths.v[0], m->coef[0] / (double)o->f_widths.v[0], m->coef_se[0] / (double)o->f_widths.v[0]);
        printf("  both widths -> inf: the fit tends to 0; measured %.3g at n = %ld, m = %ld\n", r->var[N - 1],
               o->f_widths.v[A - 1], o->g_widths.v[G - 1]);
    }
}

static int write_config(hntk_h5 *f, const fig1a_opts *o, const opts_state *state)
{
    int st = opts_write_attrs(&COMMAND, o, state, f);
    if (!st) st = hntk_h5_attr_string(f, "/", "variant", hntk_variant_name(HNTK_VARIANT_PAPER));
    return st;
}

static int write_results(const fig1a_opts *o, const opts_state *state, const fig1a_result *r, int argc, char **argv,
                         double wall)
{
    long A = o->A, G = o->G, dims[2] = {A, G};
    double fw[OPTS_LIST_MAX], gw[OPTS_LIST_MAX];
    for (long a = 0; a < A; a++) fw[a] = (double)o->f_widths.v[a];
    for (long g = 0; g < G; g++) gw[g] = (double)o->g_widths.v[g];
    hntk_h5 *f;
    int st = hntk_h5_create(o->run.out, &f);
    if (st) return st;
    long xd[2] = {2, o->x_dim}, zd[2] = {2, o->z_dim}, ad[1] = {A}, gd[1] = {G};
    st = hntk_h5_write(f, "f_widths", 1, ad, fw);
    if (!st) st = hntk_h5_write(f, "g_widths", 1, gd, gw);
    if (!st) st = hntk_h5_write(f, "mean", 2, dims, r->mean);
    if (!st) st = hntk_h5_write(f, "var", 2, dims, r->var);
    if (!st) st = hntk_h5_write(f, "stderr", 2, dims, r->se);
    if (!st) st = hntk_h5_write(f, "var_stderr", 2, dims, r->var_se);
    if (!st) st = hntk_h5_write_scalar(f, "analytic", r->analytic);
    if (!st) st = hntk_h5_write(f, "/inputs/x", 2, xd, r->X);
    if (!st) st = hntk_h5_write(f, "/inputs/z", 2, zd, r->Z);
    if (!st) {
        enum { N_EDGE_DATASETS = 8 };
        double v[N_EDGE_DATASETS][N_EDGES];
        for (int k = 0; k < N_EDGES; k++) {
            v[0][k] = r->edges[k].slope;
            v[1][k] = r->edges[k].slope_se;
            v[2][k] = r->edges[k].tail_slope;
            v[3][k] = r->edges[k].tail_slope_se;
            v[4][k] = r->edges[k].tail_mean;
            v[5][k] = r->edges[k].tail_mean_se;
            v[6][k] = r->edges[k].first;
            v[7][k] = r->edges[k].last;
        }
        static const char *names[N_EDGE_DATASETS] = {
            "/fit/edge_slope",     "/fit/edge_slope_stderr",     "/fit/edge_tail_slope", "/fit/edge_tail_slope_stderr",
            "/fit/edge_tail_mean", "/fit/edge_tail_mean_stderr", "/fit/edge_var_first",  "/fit/edge_var_last"};
        long ed[1] = {N_EDGES}, md[1] = {N_MODEL};
        for (int q = 0; q < N_EDGE_DATASETS && !st; q++) st = hntk_h5_write(f, names[q], 1, ed, v[q]);
        if (!st) st = hntk_h5_attr_string(f, "/fit", "edges", EDGE_NAMES);
        if (!st) st = hntk_h5_attr_long(f, "/fit", "tail_points", TAIL_POINTS);
        if (!st) st = hntk_h5_write(f, "/fit/model", 1, md, r->model.coef);
        if (!st) st = hntk_h5_write(f, "/fit/model_stderr", 1, md, r->model.coef_se);
        if (!st) st = hntk_h5_attr_string(f, "/fit/model", "formula", "var = a/n + b/m + c/(n m), coefficients (a, b, c)");
        if (!st) st = hntk_h5_attr_double(f, "/fit/model", "chi2_dof", r->model.chi2_dof);
        if (!st) st = hntk_h5_attr_double(f, "/fit/model", "rel_rms", r->model.rel_rms);
    }
    if (!st) st = write_config(f, o, state);
    if (!st) st = cli_write_provenance(f, CMD, argc, argv, wall);
    if (st) {
        hntk_h5_abort(f);
        return st;
    }
    return hntk_h5_commit(f);
}

/* ---- the grid: cell c is the width pair (f_widths[c / G], g_widths[c % G]) ---- */

typedef struct {
    const fig1a_opts *o;
    const opts_state *state;
    fig1a_result *r;
    int argc;
    char **argv;
} grid_data;

/* One initialization: out = [K, d^2, d^3, d^4] with K = K^h(u, u') and
 * d = K - Theta^h.  The power sums of d give the fourth central moment, hence
 * the standard error of the sample variance (the limit is a centre close to
 * the mean, so the sums lose few digits to cancellation). */
static int fig1a_sample(void *ctx, long sample, double *out)
{
    hntk_worker *w = ctx;
    const grid_cell *c = w->job;
    int st = hntk_net_sample_ntk_gram(w->net, c->key, (uint32_t)sample, 2, c->X, c->Z, w->gram);
    if (st) return st;
    double k = w->gram[1], d = k - c->center;
    out[0] = k;
    out[1] = d * d;
    out[2] = d * d * d;
    out[3] = d * d * d * d;
    return HNTK_OK;
}

static void describe_cell(const void *data, long c, grid_cell *cell)
{
    const grid_data *d = data;
    const fig1a_opts *o = d->o;
    long n = o->f_widths.v[c / o->G], m = o->g_widths.v[c % o->G];
    cell->arch = cell_arch(o, n, m);
    cell->needs = (hntk_pool_needs){.batch = 2, .gram = 1};
    cell->samples = o->samples;
    cell->first_sample = c * o->samples;
    cell->key = o->run.seed;
    cell->sample_dim = SAMPLE_DIM;
    cell->X = d->r->X;
    cell->Z = d->r->Z;
    cell->center = d->r->analytic;
    snprintf(cell->label, sizeof cell->label, "cell %ld/%ld (n = %ld, m = %ld)", c + 1, o->A * o->G, n, m);
}

static int grid_values(const grid_cell *cell, const hntk_welford *acc, const double *samples, double *values)
{
    (void)samples;
    cell_values(acc, cell->center, values);
    return HNTK_OK;
}

/* Every cell is done: the fits, the report and (rank 0) the file. */
static int finish(const void *data, const hntk_checkpoint *ck, double wall)
{
    const grid_data *d = data;
    const fig1a_opts *o = d->o;
    fig1a_result *r = d->r;
    for (long c = 0; c < o->A * o->G; c++) {
        const double *v = hntk_checkpoint_values(ck, c);
        r->mean[c] = v[0];
        r->var[c] = v[1];
        r->se[c] = v[2];
        r->var_se[c] = v[3];
    }
    gsl_set_error_handler_off();
    fit_edges(o, r->var, r->var_se, r->edges);
    fit_model(o, r->var, r->var_se, &r->model);
    print_report(o, r);
    return grid_is_root() ? write_results(o, d->state, r, d->argc, d->argv, wall) : HNTK_OK;
}

int hntk_cmd_fig1a(int argc, char **argv)
{
    fig1a_opts o;
    opts_state state;
    int st = parse_options(argc, argv, &o, &state);
    if (st) return st < 0 ? CLI_EXIT_OK : st;
    double t0 = cli_now();
    hntk_h5_install_signal_cleanup();
    grid_signals_install();

    long A = o.A, G = o.G, cells = A * G;
    fig1a_result r = {0};
    hntk_hyper_arch widest = cell_arch(&o, o.f_widths.v[A - 1], o.g_widths.v[G - 1]);
    st = hntk_hyper_arch_validate(&widest);
    if (!st) {
        r.X = malloc(sizeof(double) * (size_t)(2 * o.x_dim));
        r.Z = malloc(sizeof(double) * (size_t)(2 * o.z_dim));
        r.mean = malloc(sizeof(double) * (size_t)cells);
        r.var = malloc(sizeof(double) * (size_t)cells);
        r.se = malloc(sizeof(double) * (size_t)cells);
        r.var_se = malloc(sizeof(double) * (size_t)cells);
        if (!r.X || !r.Z || !r.mean || !r.var || !r.se || !r.var_se)
            st = hntk_fail(HNTK_ENOMEM, "cannot allocate the results of %ld cells", cells);
    }
    if (!st) {
        pair_inputs(o.x_angle, o.x_dim, r.X);
        pair_inputs(o.z_angle, o.z_dim, r.Z);
        double theta_h[4];
        st = hntk_limit_batch(&widest, HNTK_VARIANT_PAPER, 2, r.X, r.Z, theta_h, NULL);
        r.analytic = theta_h[1];
    }
    grid_data data = {&o, &state, &r, argc, argv};
    grid_spec grid = {.cmd = CMD, .what = "cells", .cells = cells, .cell_dim = CELL_DIM,
                      .stop_after = o.run.stop_after, .budget_bytes = (size_t)(o.run.budget_gib * 1073741824.0),
                      .sample = fig1a_sample, .driver = &data, .describe = describe_cell, .values = grid_values};
    int code = grid_main(st, &grid, &COMMAND, &o, 2, &o.run, t0, finish);
    result_free(&r);
    return code;
}
