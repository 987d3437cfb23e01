/* fig1a.c: `hyperntk fig1a`: Figure 1(a) of Littwin et al. (docs/theory.md
 * §5.3-§5.4): the variance of the empirical hyperkernel K^h(u,u') over
 * independent initializations, on a grid of widths n of f times widths m of g.
 * The claim: it tends to 0 only when both widths grow.
 *
 * Cell (a, g) of the grid (f width f_widths[a], g width g_widths[g]) is cell
 * c = a*G + g; it draws the samples c*N .. c*N + N - 1 of the seed.  Each cell
 * is checkpointed on completion (resume: grid.h).  At the end the
 * variance is fitted along the four edges of the grid and its diagonal
 * (least squares on log-log, gsl_fit_linear), and against the model
 * var = a/n + b/m + c/(nm) (weighted least squares), whose b/m and a/n are the
 * floors along the edges: both fits are the library's (gridfit.h).  Schema: docs/file-formats.md; reading: docs/figure1.md. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_statistics_double.h>

#include "cli.h"
#include "commands.h"
#include "grid.h"
#include "opts.h"
#include "hyperntk/gridfit.h"
#include "hyperntk/stats.h"

static const char *CMD = "fig1a";



enum { TAIL_POINTS = 3, N_EDGES = 5, N_MODEL = 3 };

typedef struct {
    int f_depth, g_depth;
    long x_dim, z_dim;
    double x_angle, z_angle; /* radians */
    opts_list f_widths, g_widths;
    long A, G;               /* the numbers of widths */
    long samples;
    int sampler;       /* SAMPLER_DENSE or SAMPLER_LAZY */
    grid_run_opts run; /* --out, --seed, --restart, --stop-after-cells, --mem-budget */
} fig1a_opts;

#define F(field) offsetof(fig1a_opts, field)
static const opt_spec SPECS[] = {
    {"f-widths", "LIST", OPT_LIST, F(f_widths), 1, GRID_LAZY_MAX_WIDTH, NULL,
     "widths n of f (up to 1048576 with --sampler dense, 10^7 with lazy)", OPT_CONFIG | OPT_INCREASING},
    {"g-widths", "LIST", OPT_LIST, F(g_widths), 1, HNTK_MAX_WIDTH, NULL, "widths m of g", OPT_CONFIG | OPT_INCREASING},
    {"f-depth", "L", OPT_INT, F(f_depth), 2, HNTK_MAX_DEPTH, "3",
     "weight layers of f (from 2: the run varies the width of a hidden layer)", OPT_CONFIG},
    {"g-depth", "H", OPT_INT, F(g_depth), 2, HNTK_MAX_DEPTH, "2", "weight layers of g", OPT_CONFIG},
    {"x-dim", "n0", OPT_LONG, F(x_dim), 2, HNTK_MAX_WIDTH, "2", "dimension of x", OPT_CONFIG},
    {"z-dim", "m0", OPT_LONG, F(z_dim), 2, HNTK_MAX_WIDTH, "2", "dimension of z", OPT_CONFIG},
    {"x-angle", "A", OPT_ANGLE, F(x_angle), 0, CLI_PI, "pi/2",
     "angle between x and x' in radians: x = sqrt(n0) e1,\nx' = sqrt(n0) (cos A e1 + sin A e2)", OPT_CONFIG},
    {"z-angle", "A", OPT_ANGLE, F(z_angle), 0, CLI_PI, "pi/2", "angle between z and z' in radians, likewise",
     OPT_CONFIG},
    {"samples", "N", OPT_LONG, F(samples), 2, 2147483647.0, NULL,
     "initializations per cell; cell c uses samples c*N..c*N+N-1", OPT_CONFIG},
    GRID_SAMPLER_SPEC(fig1a_opts),
    GRID_RUN_SPECS(fig1a_opts, "cells"),
};
#undef F

static const opt_preset PRESETS[] = {
    {"default", "the paper's grid: 8 x 8 widths, 100 samples (about a minute on 2 cores)",
     "f-widths=25,50,100,200,400,800,1600,3200 g-widths=10,20,40,80,160,320,640,1280 samples=100"},
    {"quick", "a 3 x 3 grid, 100 samples: seconds", "f-widths=25,100,400 g-widths=10,40,160 samples=100"},
    {"wide", "results/fig1a_wide.h5: the paper's g widths, f widths 25..409600 with the\n"
             "                           lazy sampler, 100 samples (a few minutes on 2 cores)",
     "f-widths=25,50,100,200,400,800,1600,3200,6400,12800,25600,51200,102400,204800,409600 "
     "g-widths=10,20,40,80,160,320,640,1280 samples=100 sampler=lazy"},
    /* default and quick use --sampler dense (the default): bit-identical to earlier files. */
};

static const opt_command COMMAND = {
    .cmd = "fig1a",
    .synopsis = "--out OUT.h5 [--quick] [OPTIONS]",
    .summary = "Figure 1(a): variance of the empirical hyperkernel K^h(u,u') over independent\n"
               "initializations, on a grid of widths of f times widths of g, against the limit\n"
               "Theta^h(u,u') (docs/theory.md §5.4).  Prints the variance grid, its log-log\n"
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
    return hntk_hyper_arch_make(o->f_depth, n, o->x_dim, o->g_depth, m, o->z_dim);
}

enum { SAMPLE_DIM = 1, CELL_DIM = 4 };

/* ------------------------------------------------------------------- fits */

/* The edges and the model are the library's (gridfit.h): the variance of K^h
 * is fitted with relative weights 1/model^2 (noise_var = 0: the standard
 * error of a sample variance is proportional to the variance itself,
 * sqrt(2/(N-1)) var for Gaussian noise), the bootstrap over the samples of
 * every cell recomputing each variance (gsl_stats_variance). */
typedef hntk_gridfit_edge edge_fit;
typedef hntk_gridfit_model model_fit;
#define EDGE_NAMES HNTK_GRIDFIT_EDGE_NAMES
enum { BOOT_REPLICATES = 400 };

static void fit_edges(const fig1a_opts *o, const double *var, const double *var_se, edge_fit e[N_EDGES])
{
    hntk_gridfit_edges(o->A, o->G, o->f_widths.v, o->g_widths.v, var, var_se, TAIL_POINTS, e); /* A, G <= 64 */
}

static int variance_stat(void *arg, long cell, const double *x, long n, long dim, double *value)
{
    (void)arg, (void)cell, (void)dim;
    *value = gsl_stats_variance(x, 1, (size_t)n);
    return HNTK_OK;
}

static int fit_model(const fig1a_opts *o, const double *var, const double *samples, model_fit *mf)
{
    hntk_gridfit_model_job job = {.A = o->A, .G = o->G, .f_widths = o->f_widths.v, .g_widths = o->g_widths.v,
                                  .y = var, .noise_var = 0.0, .chi2_count = o->samples - 1, .samples = samples,
                                  .n = o->samples, .dim = 1, .stat = variance_stat,
                                  .key = hntk_rng_derive_key(o->run.seed, HNTK_TENSOR_BOOTSTRAP),
                                  .replicates = BOOT_REPLICATES, .threads = hntk_mc_max_threads()};
    return hntk_gridfit_model_fit(&job, mf);
}

/* -------------------------------------------------------------------- run */

typedef struct {
    double *X, *Z;            /* (2, x_dim), (2, z_dim) */
    double analytic;          /* Theta^h(u, u') */
    double *mean, *var, *se;  /* (A, G) */
    double *var_se;           /* (A, G) standard error of var */
    double *samples;          /* (A, G, N) K^h of every initialization */
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
    free(r->samples);
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
    printf("Theta^h(u,u') = %.6g (infinite-width limit, docs/theory.md §3.4)\n\n", r->analytic);
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
        printf("\nleading-order fit var = a/n + b/m + c/(n m) over all %ld cells (IRLS with model weights, %d\n"
               "iterations; +- and [95%%] from a bootstrap over the samples of every cell, %ld replicates):\n",
               N, m->iterations, m->replicates);
        static const char name[N_MODEL] = {'a', 'b', 'c'};
        for (int k = 0; k < N_MODEL; k++)
            printf("  %c = %.4g +- %.2g  [%.4g, %.4g]\n", name[k], m->coef[k], m->coef_se[k], m->coef_ci[k][0],
                   m->coef_ci[k][1]);
        printf("  reduced chi^2 under Gaussian-noise weights (N-1)/(2 model^2): %.3g (heavy tails raise it); RMS "
               "relative misfit %.3g\n", m->chi2_dof, m->rel_rms);
        printf("  floor along the f axis (n -> inf) at m = %ld: b/m = %.3g  [%.3g, %.3g]\n", o->g_widths.v[0],
               m->coef[1] / (double)o->g_widths.v[0], m->coef_ci[1][0] / (double)o->g_widths.v[0],
               m->coef_ci[1][1] / (double)o->g_widths.v[0]);
        printf("  floor along the g axis (m -> inf) at n = %ld: a/n = %.3g  [%.3g, %.3g] (leading order in 1/n)\n",
               o->f_widths.v[0], m->coef[0] / (double)o->f_widths.v[0], m->coef_ci[0][0] / (double)o->f_widths.v[0],
               m->coef_ci[0][1] / (double)o->f_widths.v[0]);
        printf("  both widths -> inf: the fit tends to 0; measured %.3g at n = %ld, m = %ld\n", r->var[N - 1],
               o->f_widths.v[A - 1], o->g_widths.v[G - 1]);
        if (m->negative_floor)
            printf("  WARNING: a fitted floor is negative (a = %.3g, b = %.3g): the model does not describe this "
                   "grid\n  (too few samples per cell, or widths outside its 1/n + 1/m regime)\n", m->coef[0],
                   m->coef[1]);
    }
}

/* /fit: the edge slopes and the model fit. */
static int write_fits(hntk_h5 *f, const fig1a_opts *o, const fig1a_result *r)
{
    (void)o;
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
    static const char *what[N_EDGE_DATASETS] = {
        "log-log slope of the variance along each edge, all points (5 edges, see /fit attribute edges)",
        "standard error of edge_slope (5)",
        "log-log slope of the variance over the widest tail_points points of each edge (5)",
        "standard error of edge_tail_slope (5)",
        "mean variance over the widest tail_points points of each edge: the floor, if any (5)",
        "standard error of edge_tail_mean, from the cells' var_stderr (5)",
        "variance at the narrowest point of each edge (5)",
        "variance at the widest point of each edge (5)"};
    long ed[1] = {N_EDGES}, md[1] = {N_MODEL}, cd[2] = {N_MODEL, 2};
    int st = HNTK_OK;
    for (int q = 0; q < N_EDGE_DATASETS && !st; q++) st = hntk_h5_write_described(f, names[q], 1, ed, v[q], what[q], NULL);
    if (!st) st = hntk_h5_describe(f, "/fit", "fits of the variance grid: along its edges and to a/n + b/m + c/(nm)", NULL);
    if (!st) st = hntk_h5_attr_string(f, "/fit", "edges", EDGE_NAMES);
    if (!st) st = hntk_h5_attr_long(f, "/fit", "tail_points", TAIL_POINTS);
    const model_fit *m = &r->model;
    double ci[N_MODEL * 2];
    for (int k = 0; k < N_MODEL; k++) {
        ci[2 * k] = m->coef_ci[k][0];
        ci[2 * k + 1] = m->coef_ci[k][1];
    }
    if (!st) st = hntk_h5_write_described(f, "/fit/model", 1, md, m->coef,
                                          "coefficients (a, b, c) of var = a/n + b/m + c/(n m), IRLS with weights "
                                          "1/model^2 (3)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/fit/model_stderr", 1, md, m->coef_se,
                                          "bootstrap standard deviation of (a, b, c) over samples (3)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/fit/model_ci", 2, cd, ci,
                                          "bootstrap 95% percentile interval of (a, b, c): rows a, b, c; columns low, "
                                          "high (3, 2)", NULL);
    if (!st) st = hntk_h5_attr_string(f, "/fit/model", "formula", "var = a/n + b/m + c/(n m), coefficients (a, b, c)");
    if (!st) st = hntk_h5_attr_string(f, "/fit/model", "weights", "IRLS: 1/model^2, from equal relative weights");
    if (!st) st = hntk_h5_attr_long(f, "/fit/model", "iterations", m->iterations);
    if (!st) st = hntk_h5_attr_long(f, "/fit/model", "bootstrap_replicates", m->replicates);
    if (!st) st = hntk_h5_attr_double(f, "/fit/model", "chi2_dof", m->chi2_dof);
    if (!st) st = hntk_h5_attr_double(f, "/fit/model", "rel_rms", m->rel_rms);
    if (!st) st = hntk_h5_attr_long(f, "/fit/model", "negative_floor", m->negative_floor);
    return st;
}

static int write_results(const fig1a_opts *o, const fig1a_result *r, const opts_output *out)
{
    long A = o->A, G = o->G, N = o->samples, dims[2] = {A, G}, sd[3] = {A, G, N};
    hntk_h5 *f;
    int st = hntk_h5_create(o->run.out, &f);
    if (st) return st;
    long xd[2] = {2, o->x_dim}, zd[2] = {2, o->z_dim}, ad[1] = {A}, gd[1] = {G};
    st = hntk_h5_write_long(f, "f_widths", 1, ad, o->f_widths.v, "widths n of f, the rows of the grid (A)");
    if (!st) st = hntk_h5_make_scale(f, "f_widths", "f width n");
    if (!st) st = hntk_h5_write_long(f, "g_widths", 1, gd, o->g_widths.v, "widths m of g, the columns of the grid (G)");
    if (!st) st = hntk_h5_make_scale(f, "g_widths", "g width m");
    static const char *const grid_names[4] = {"mean", "var", "stderr", "var_stderr"};
    static const char *const grid_what[4] = {
        "mean over initializations of K^h(u, u') per width pair (A widths of f, G widths of g)",
        "variance over initializations of K^h(u, u'), unbiased, per width pair (A, G)",
        "standard error of the mean of K^h(u, u') (A, G)",
        "standard error of the variance, from the cell's fourth central moment (A, G)"};
    const double *grid_data[4] = {r->mean, r->var, r->se, r->var_se};
    static const char *const scales[3] = {"f_widths", "g_widths", NULL};
    for (int k = 0; k < 4 && !st; k++)
        st = hntk_h5_write_scaled(f, grid_names[k], 2, dims, grid_data[k], grid_what[k], NULL, scales);
    if (!st)
        st = hntk_h5_write_scaled(f, "/samples/ntk", 3, sd, r->samples,
                                  "K^h(u, u') of every initialization, in sample order (A, G, samples)", NULL, scales);
    if (!st) st = hntk_h5_write_scalar(f, "analytic", r->analytic);
    if (!st) st = hntk_h5_describe(f, "analytic", "infinite-width limit Theta^h(u, u') (scalar)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/inputs/x", 2, xd, r->X, "inputs x (row 0) and x' (row 1) of f (2, x_dim)",
                                          NULL);
    if (!st) st = hntk_h5_write_described(f, "/inputs/z", 2, zd, r->Z, "inputs z (row 0) and z' (row 1) of g (2, z_dim)",
                                          NULL);
    if (!st) st = write_fits(f, o, r);
    if (!st) st = hntk_h5_attr_string(f, "/", "variant", hntk_variant_name(HNTK_VARIANT_PAPER));
    return opts_commit_result(f, st, &COMMAND, o, out);
}

/* ---- the grid: cell c is the width pair (f_widths[c / G], g_widths[c % G]) ---- */

typedef struct {
    const fig1a_opts *o;
    fig1a_result *r;
} grid_data;

/* One initialization: out = [K^h(u, u')]. */
static int fig1a_sample(void *ctx, long sample, double *out)
{
    hntk_worker *w = ctx;
    const grid_cell *c = w->job;
    int st = w->lazy ? hntk_lazy_sample_ntk_gram(w->lazy, c->key, (uint32_t)sample, 2, c->X, c->Z, w->gram)
                     : hntk_net_sample_ntk_gram(w->net, c->key, (uint32_t)sample, 2, c->X, c->Z, w->gram);
    if (st) return st;
    out[0] = w->gram[1];
    return HNTK_OK;
}

static void describe_cell(const void *data, long c, grid_cell *cell)
{
    const grid_data *d = data;
    const fig1a_opts *o = d->o;
    long n = o->f_widths.v[c / o->G], m = o->g_widths.v[c % o->G];
    cell->arch = cell_arch(o, n, m);
    cell->needs = (hntk_pool_needs){.batch = 2, .gram = 1, .lazy = o->sampler == SAMPLER_LAZY};
    cell->samples = o->samples;
    cell->first_sample = c * o->samples;
    cell->key = o->run.seed;
    cell->sample_dim = SAMPLE_DIM;
    cell->X = d->r->X;
    cell->Z = d->r->Z;
    snprintf(cell->label, sizeof cell->label, "cell %ld/%ld (n = %ld, m = %ld)", c + 1, o->A * o->G, n, m);
}

/* Cell values: [mean, var, stderr, var_stderr | K^h of each sample (N)], the
 * moments in one pass in sample order (stats.h: var_stderr from the fourth
 * central moment; heavy tails make it, like var, an underestimate at small N). */
static int grid_values(const grid_cell *cell, const hntk_stats_moments *acc, const double *samples, double *values)
{
    (void)acc;
    hntk_stats_moments *m = NULL;
    hntk_stats_summary s;
    int st = hntk_stats_moments_alloc(1, &m);
    if (!st) {
        hntk_stats_moments_push_n(m, samples, cell->samples);
        st = hntk_stats_moments_summary(m, 0, &s);
    }
    hntk_stats_moments_free(m);
    if (st) return st;
    values[0] = s.mean;
    values[1] = s.var;
    values[2] = s.mean_se;
    values[3] = s.var_se;
    memcpy(values + CELL_DIM, samples, sizeof(double) * (size_t)cell->samples);
    return HNTK_OK;
}

/* Every cell is done: the fits, the report and (rank 0) the file. */
static int finish(const void *data, const hntk_checkpoint *ck, const opts_output *out)
{
    const grid_data *d = data;
    const fig1a_opts *o = d->o;
    fig1a_result *r = d->r;
    /* Allocated once the grid is done: its size was checked by grid_run. */
    r->samples = malloc(sizeof(double) * (size_t)(o->A * o->G) * (size_t)o->samples);
    if (!r->samples) return hntk_fail(HNTK_ENOMEM, "cannot allocate %ld samples", o->A * o->G * o->samples);
    for (long c = 0; c < o->A * o->G; c++) {
        const double *v = hntk_checkpoint_values(ck, c);
        r->mean[c] = v[0];
        r->var[c] = v[1];
        r->se[c] = v[2];
        r->var_se[c] = v[3];
        memcpy(r->samples + c * o->samples, v + CELL_DIM, sizeof(double) * (size_t)o->samples);
    }
    gsl_set_error_handler_off();
    fit_edges(o, r->var, r->var_se, r->edges);
    int st = fit_model(o, r->var, r->samples, &r->model);
    if (st) return st;
    print_report(o, r);
    return grid_is_root() ? write_results(o, r, out) : HNTK_OK;
}

int hntk_cmd_fig1a(int argc, char **argv)
{
    fig1a_opts o;
    opts_state state;
    int st = parse_options(argc, argv, &o, &state);
    if (st) return st < 0 ? CLI_EXIT_OK : st;

    long A = o.A, G = o.G, cells = A * G;
    fig1a_result r = {0};
    hntk_hyper_arch widest = cell_arch(&o, o.f_widths.v[A - 1], o.g_widths.v[G - 1]);
    st = grid_validate_widest(&widest, o.sampler, "--f-widths");
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
    grid_data data = {&o, &r};
    opts_output out = {&state, argc, argv, 0.0};
    grid_spec grid = {.cmd = CMD, .what = "cells", .cells = cells, .cell_dim = CELL_DIM + o.samples, .collect = 1,
                      .sample = fig1a_sample, .driver = &data, .describe = describe_cell, .values = grid_values};
    int code = grid_main(st, &grid, &COMMAND, &o, 2, &o.run, &out, finish);
    result_free(&r);
    return code;
}
