/* thm2.c: `hyperntk thm2`: Theorem 2 of Littwin et al. (docs/theory.md §5.2,
 * §8.3): is h(u) = g(z; f(x)) a Gaussian process with covariance Lambda^H
 * only when both networks are wide?
 *
 * Cell (a, g) of a grid of widths n of f times widths m of g (cell
 * c = a G + g, samples c N .. c N + N - 1 of the seed, as fig1a) draws N
 * initializations of h on B fixed inputs U and standardizes
 * z_b = h(u_b) / sqrt(Lambda^H(u_b, u_b)).  Per input: excess kurtosis and
 * skewness with their standard errors, KS against N(0,1) and Anderson-Darling
 * (normality, case 4) with p-values; per cell: the means over inputs of the
 * kurtosis and skewness with bootstrap standard errors, the exact kurtosis of
 * the finite network (finite.h) and the energy distance between the B-vectors
 * z(U) and N draws of N(0, C), C the correlation matrix of Lambda^H(U,U), with
 * its null level measured on R pairs of Gaussian samples of the same size.
 * At the end: edge and diagonal slopes (gridfit.h) of the energy distance and
 * the kurtosis, and the fit kurtosis = a/n + b/m + c/(nm) with a bootstrap,
 * beside the same fit to the exact kurtosis and its asymptotic coefficients.
 * Schema: docs/file-formats.md; reading: docs/thm2.md. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_linalg.h>

#include "cli.h"
#include "commands.h"
#include "grid.h"
#include "opts.h"
#include "hyperntk/finite.h"
#include "hyperntk/gridfit.h"
#include "hyperntk/mc.h"
#include "hyperntk/parallel.h"
#include "hyperntk/stats.h"

static const char *CMD = "thm2";

/* Stream codes under the seed (rng.h, hntk_rng_derive_key): "thm2gref",
 * "thm2boot", "thm2fit\0". */
#define KEY_GREF 0x74686d3267726566ULL
#define KEY_BOOT 0x74686d32626f6f74ULL
#define KEY_FIT 0x74686d3266697400ULL

enum { TAIL_POINTS = 3, CELL_BOOT = 200, FIT_BOOT = 200, MAX_INPUTS = 64 };

typedef struct {
    int f_depth, g_depth;
    long x_dim, z_dim, inputs;
    uint64_t inputs_seed;
    opts_list f_widths, g_widths;
    long A, G;
    long samples, null_reps;
    int sampler, save_samples;
    grid_run_opts run;
} thm2_opts;

#define F(field) offsetof(thm2_opts, field)
static const opt_spec SPECS[] = {
    {"f-widths", "LIST", OPT_LIST, F(f_widths), 1, GRID_LAZY_MAX_WIDTH, NULL,
     "widths n of f (up to 1048576 with --sampler dense, 10^7 with lazy)", OPT_CONFIG | OPT_INCREASING},
    {"g-widths", "LIST", OPT_LIST, F(g_widths), 1, HNTK_MAX_WIDTH, NULL, "widths m of g", OPT_CONFIG | OPT_INCREASING},
    {"f-depth", "L", OPT_INT, F(f_depth), 2, HNTK_MAX_DEPTH, "3", "weight layers of f", OPT_CONFIG},
    {"g-depth", "H", OPT_INT, F(g_depth), 2, HNTK_MAX_DEPTH, "2", "weight layers of g", OPT_CONFIG},
    {"x-dim", "n0", OPT_LONG, F(x_dim), 1, HNTK_MAX_WIDTH, "3", "dimension of x", OPT_CONFIG},
    {"z-dim", "m0", OPT_LONG, F(z_dim), 1, HNTK_MAX_WIDTH, "3", "dimension of z", OPT_CONFIG},
    {"inputs", "B", OPT_LONG, F(inputs), 1, MAX_INPUTS, "4",
     "fixed inputs u_b = (x_b, z_b): random directions with |x|^2 = n0, |z|^2 = m0", OPT_CONFIG},
    {"inputs-seed", "S", OPT_SEED, F(inputs_seed), 0, 0, "1",
     "seed of the inputs (hyperntk inputs' streams; the same inputs for every --seed)", OPT_CONFIG},
    {"samples", "N", OPT_LONG, F(samples), 8, 2147483647.0, NULL,
     "initializations per cell; cell c uses samples c*N..c*N+N-1", OPT_CONFIG},
    {"null-replicates", "R", OPT_LONG, F(null_reps), 2, 10000, NULL,
     "pairs of Gaussian samples of size N that measure the null level of\nthe energy distance (and of KS and A-D)",
     OPT_CONFIG},
    GRID_SAMPLER_SPEC(thm2_opts),
    {"save-samples", NULL, OPT_FLAG, F(save_samples), 0, 0, NULL,
     "write every standardized sample z_b = h(u_b)/sqrt(Lambda^H(u_b,u_b)) to /samples/z", OPT_CONFIG},
    GRID_RUN_SPECS(thm2_opts, "cells"),
};
#undef F

static const opt_preset PRESETS[] = {
    {"default", "8 x 8 widths (f 25..3200, g 10..1280), 4 inputs, 2000 samples, 20 null\n"
                "                           pairs, lazy sampler (about 2 minutes on 2 cores)",
     "f-widths=25,50,100,200,400,800,1600,3200 g-widths=10,20,40,80,160,320,640,1280 samples=2000 "
     "null-replicates=20 sampler=lazy"},
    {"quick", "3 x 3 widths, 400 samples, 10 null pairs: seconds",
     "f-widths=25,100,400 g-widths=10,40,160 samples=400 null-replicates=10 sampler=lazy"},
    {"paper", "the paper-scale grid: 15 x 8 widths (f 25..409600, lazy; g 10..1280), 4 inputs,\n"
              "                           10000 samples, 20 null pairs.  Estimated (an extrapolation from 40 and 80 samples of\n"
              "                           every cell and one cell of 10000): about 3.5 core-hours (samples 2.4-2.9, energy\n"
              "                           distances 0.7), 2 hours on the lab's 2 cores; 0.5 GiB with 2 threads (0.13 GiB per\n"
              "                           thread, 0.11 GiB checkpoint).  mpirun -np K splits the samples and the null pairs;\n"
              "                           Slurm: docs/cluster.md",
     "f-widths=25,50,100,200,400,800,1600,3200,6400,12800,25600,51200,102400,204800,409600 "
     "g-widths=10,20,40,80,160,320,640,1280 samples=10000 null-replicates=20 sampler=lazy"},
};

static const opt_command COMMAND = {
    .cmd = "thm2",
    .synopsis = "--out OUT.h5 [--quick | --paper] [OPTIONS]",
    .summary = "Theorem 2: is h(u) = g(z; f(x)) Gaussian with covariance Lambda^H only when both networks\n"
               "are wide?  Per cell of a grid of widths of f and g: kurtosis, skewness, KS and Anderson-\n"
               "Darling of h(u)/sqrt(Lambda^H(u,u)) against N(0,1), the exact kurtosis of the finite\n"
               "network, and the energy distance of h(U) to N(0, Lambda^H(U,U)) with its null level;\n"
               "edge and diagonal slopes and the fit kurtosis = a/n + b/m + c/(nm) (docs/thm2.md).",
    .footer = GRID_FOOTER,
    OPTS_SPECS(SPECS),
    OPTS_PRESETS(PRESETS),
};

/* ---- per-cell values: [per input (PER x B) | cell scalars (NSC) | z samples (N x B)] ---- */
enum { P_KURT, P_KURT_SE, P_SKEW, P_SKEW_SE, P_VAR, P_KS_D, P_KS_P, P_AD, P_AD_P, PER };
enum { S_KURT, S_KURT_SE, S_SKEW, S_SKEW_SE, S_ENERGY, S_NULL_MEAN, S_NULL_SD, S_NULL_Q95, S_ENERGY_P, S_KS_NULL,
       S_AD_NULL, NSC };

static const char *const PER_NAMES[PER] = {"kurt", "kurt_stderr", "skew", "skew_stderr", "var", "ks_D", "ks_p",
                                           "ad_A2", "ad_p"};
static const char *const PER_WHAT[PER] = {
    "excess kurtosis G2 of z_b = h(u_b)/sqrt(Lambda^H(u_b,u_b)) per cell and input (A, G, B)",
    "standard error of kurt under normality, sqrt(24/N) to leading order (A, G, B)",
    "skewness G1 of z_b (A, G, B)",
    "standard error of skew under normality (A, G, B)",
    "variance of z_b, unbiased: E h^2 / Lambda^H(u,u) (A, G, B)",
    "Kolmogorov-Smirnov distance of z_b to N(0,1) (A, G, B)",
    "KS p-value (Stephens' asymptotic form, stats.h) (A, G, B)",
    "Anderson-Darling A*^2 of z_b, normal with estimated mean and variance (case 4) (A, G, B)",
    "Anderson-Darling p-value (D'Agostino & Stephens) (A, G, B)"};
static const char *const SC_NAMES[NSC] = {"kurt_mean", "kurt_mean_stderr", "skew_mean", "skew_mean_stderr",
                                          "energy", "energy_null_mean", "energy_null_sd", "energy_null_q95",
                                          "energy_p", "ks_null_mean", "ad_null_mean"};
static const char *const SC_WHAT[NSC] = {
    "excess kurtosis averaged over the B inputs (A, G)",
    "bootstrap standard error of kurt_mean over the samples (200 replicates) (A, G)",
    "skewness averaged over the inputs (A, G)",
    "bootstrap standard error of skew_mean (A, G)",
    "energy distance (V-statistic) between the N B-vectors z(U) and N draws of N(0, C), C the correlation of "
    "Lambda^H(U,U) (A, G)",
    "null level: mean energy distance between two independent samples of N draws of N(0, C) (A, G)",
    "standard deviation of the null energy distances (A, G)",
    "95% quantile (type 7) of the null energy distances (A, G)",
    "permutation-free p-value (1 + #{null >= energy}) / (1 + R) (A, G)",
    "null level of ks_D: its mean over the inputs of the first sample of each Gaussian pair (A, G)",
    "null level of ad_A2, likewise (A, G)"};

typedef struct {
    const thm2_opts *o;
    double *X, *Z;      /* (B, x_dim), (B, z_dim) */
    double *lambda;     /* (B, B) Lambda^H(U, U) */
    double *chol;       /* (B, B) lower Cholesky factor of the correlation C */
    double *inv_sd;     /* (B) 1/sqrt(Lambda^H(u_b, u_b)) */
    uint64_t key_gref, key_boot;
} thm2_data;

static hntk_hyper_arch cell_arch(const thm2_opts *o, long n, long m)
{
    return hntk_hyper_arch_make(o->f_depth, n, o->x_dim, o->g_depth, m, o->z_dim);
}

/* One initialization: out = h(U) (B). */
static int thm2_sample(void *ctx, long sample, double *out)
{
    hntk_worker *w = ctx;
    const grid_cell *c = w->job;
    long B = c->needs.batch;
    if (w->lazy) {
        int st = hntk_lazy_sample(w->lazy, c->key, (uint32_t)sample, B, c->X, c->Z);
        if (st) return st;
        memcpy(out, hntk_lazy_output(w->lazy), sizeof(double) * (size_t)B);
        return HNTK_OK;
    }
    hntk_net_sample_weights(w->net, c->key, (uint32_t)sample);
    return hntk_net_forward(w->net, B, c->X, c->Z, out);
}

static void describe_cell(const void *data, long c, grid_cell *cell)
{
    const thm2_data *d = data;
    const thm2_opts *o = d->o;
    long n = o->f_widths.v[c / o->G], m = o->g_widths.v[c % o->G];
    cell->arch = cell_arch(o, n, m);
    cell->needs = (hntk_pool_needs){.batch = o->inputs, .lazy = o->sampler == SAMPLER_LAZY};
    cell->samples = o->samples;
    cell->first_sample = c * o->samples;
    cell->key = o->run.seed;
    cell->sample_dim = o->inputs;
    cell->X = d->X;
    cell->Z = d->Z;
    snprintf(cell->label, sizeof cell->label, "cell %ld/%ld (n = %ld, m = %ld)", c + 1, o->A * o->G, n, m);
}

/* Skewness G1 and excess kurtosis G2 (stats.h's definitions, two passes) of
 * column k of x (n, dim), rows idx[i] (NULL: 0..n-1). */
static void g1g2(const double *x, long n, long dim, long k, const long *idx, double *G1, double *G2)
{
    double mean = 0.0, m2 = 0.0, m3 = 0.0, m4 = 0.0, dn = (double)n;
    for (long i = 0; i < n; i++) mean += x[(idx ? idx[i] : i) * dim + k];
    mean /= dn;
    for (long i = 0; i < n; i++) {
        double d = x[(idx ? idx[i] : i) * dim + k] - mean, d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
    }
    m2 /= dn, m3 /= dn, m4 /= dn;
    double g1 = m3 / pow(m2, 1.5), g2 = m4 / (m2 * m2) - 3.0;
    *G1 = g1 * sqrt(dn * (dn - 1.0)) / (dn - 2.0);
    *G2 = ((dn + 1.0) * g2 + 6.0) * (dn - 1.0) / ((dn - 2.0) * (dn - 3.0));
}

static double normal_cdf(double x, void *arg)
{
    (void)arg;
    return gsl_cdf_ugaussian_P(x);
}

/* Gaussian reference sample `set` of cell `cell`: N rows of N(0, C). */
static void gauss_set(const thm2_data *d, long cell, long set, long N, double *g, double *out)
{
    long B = d->o->inputs;
    hntk_stream s;
    hntk_stream_init(&s, d->key_gref, (uint32_t)cell, HNTK_TENSOR_GAUSS_REF, (uint32_t)set);
    hntk_stream_normals(&s, g, (size_t)(N * B));
    for (long i = 0; i < N; i++)
        for (long a = 0; a < B; a++) {
            double v = 0.0;
            for (long b = 0; b <= a; b++) v += d->chol[a * B + b] * g[i * B + b];
            out[i * B + a] = v;
        }
}

/* ---- the energy distance and its null level: a Monte Carlo job of R + 1 items ----
 *
 * Item 0 is the energy distance of the cell's z(U) to Gaussian set 0; item
 * r + 1 the null pair r: the energy distance of Gaussian sets 2r+1 and 2r+2,
 * and per input the KS distance and Anderson-Darling A*^2 of set 2r+1.  Each
 * item is one energy distance of 2N points, O(N^2 B): at N = 10^4 the R + 1 of
 * them cost more than the cell's samples.  The engine (mc.h) splits the items
 * over the threads and the MPI ranks like samples and hands them to every
 * rank in item order, so the sums below run in the order of a single process
 * and give the same bits.  Item statistics: [energy | KS D (B) | A*^2 (B)]. */
typedef struct {
    const thm2_data *d;
    long cell, N;
    const double *zs; /* (N, B) */
    double *items;    /* (R + 1, 1 + 2B), every rank */
} null_job;

typedef struct {
    const null_job *job;
    double *g, *ga, *gb, *col, *scratch; /* (N B) x 3, (N), (2N) */
} null_ctx;

static int null_item(void *ctx, long item, double *out)
{
    const null_ctx *x = ctx;
    const null_job *j = x->job;
    long N = j->N, B = j->d->o->inputs;
    if (item == 0) {
        for (long b = 0; b < 2 * B; b++) out[1 + b] = 0.0;
        gauss_set(j->d, j->cell, 0, N, x->g, x->ga);
        return hntk_stats_energy_distance(j->zs, N, x->ga, N, B, x->scratch, &out[0]);
    }
    long r = item - 1;
    gauss_set(j->d, j->cell, 2 * r + 1, N, x->g, x->ga);
    gauss_set(j->d, j->cell, 2 * r + 2, N, x->g, x->gb);
    int st = hntk_stats_energy_distance(x->ga, N, x->gb, N, B, x->scratch, &out[0]);
    for (long b = 0; b < B && !st; b++) {
        double a2;
        for (long i = 0; i < N; i++) x->col[i] = x->ga[i * B + b];
        st = hntk_stats_ks1(x->col, N, normal_cdf, NULL, x->scratch, &out[1 + b], NULL);
        if (!st) st = hntk_stats_anderson_normal(x->col, N, x->scratch, &a2, &out[1 + B + b], NULL);
    }
    return st;
}

static void null_store(void *data, long item, const double *stats)
{
    const null_job *j = data;
    long dim = 1 + 2 * j->d->o->inputs;
    memcpy(j->items + item * dim, stats, sizeof(double) * (size_t)dim);
}

/* Collective: items (R + 1, 1 + 2B) on every rank.  The workspaces are agreed
 * on by every rank before the job, so a failed allocation stops them all. */
static int null_items(const thm2_data *d, long cell, long N, const double *zs, double *items)
{
    long B = d->o->inputs, R = d->o->null_reps, dim = 1 + 2 * B;
    int threads = hntk_mc_max_threads();
    null_job job = {d, cell, N, zs, items};
    null_ctx *ctx = calloc((size_t)threads, sizeof *ctx);
    void **ptrs = calloc((size_t)threads, sizeof *ptrs);
    hntk_stats_moments *acc = NULL;
    int st = ctx && ptrs ? hntk_stats_moments_alloc(dim, &acc) : HNTK_ENOMEM;
    for (int t = 0; t < threads && !st; t++) {
        null_ctx *x = &ctx[t];
        x->job = &job;
        x->g = malloc(sizeof(double) * (size_t)(3 * N * B + 3 * N));
        if (!x->g) st = HNTK_ENOMEM;
        else x->ga = x->g + N * B, x->gb = x->ga + N * B, x->col = x->gb + N * B, x->scratch = x->col + N;
        ptrs[t] = x;
    }
    if (hntk_parallel_any(st != HNTK_OK))
        st = hntk_fail(HNTK_ENOMEM, "cannot allocate the %d workspaces of the energy distance's null level (%ld "
                       "samples of %ld inputs) on every MPI rank", threads, N, B);
    if (!st) {
        hntk_mc_job mc = {.samples = R + 1, .first_sample = 0, .dim = dim, .n_ctx = threads, .ctx = ptrs,
                          .fn = null_item, .stop = &grid_stop_signal, .collect = null_store, .collect_data = &job};
        st = hntk_mc_run(&mc, acc);
    }
    for (int t = 0; ctx && t < threads; t++) free(ctx[t].g);
    free(ctx), free(ptrs);
    hntk_stats_moments_free(acc);
    return st;
}

static int cell_values(const grid_cell *cell, const hntk_stats_moments *acc, const double *samples, double *values)
{
    (void)acc;
    const thm2_data *d = cell->driver;
    const thm2_opts *o = d->o;
    long N = cell->samples, B = o->inputs, R = o->null_reps;
    double *sv = values + PER * B, *zs = sv + NSC;
    for (long i = 0; i < N; i++)
        for (long b = 0; b < B; b++) zs[i * B + b] = samples[i * B + b] * d->inv_sd[b];
    long ns = N > CELL_BOOT ? N : CELL_BOOT; /* KS and A-D (N), bootstrap (CELL_BOOT), quantiles (R <= 2N) */
    if (R > ns) ns = R;
    double *col = malloc(sizeof(double) * (size_t)N), *scratch = malloc(sizeof(double) * (size_t)ns);
    double *nul = malloc(sizeof(double) * (size_t)R), *items = malloc(sizeof(double) * (size_t)((R + 1) * (1 + 2 * B)));
    double *boot = malloc(sizeof(double) * 2 * CELL_BOOT);
    long *idx = malloc(sizeof(long) * (size_t)N);
    hntk_stats_moments *m = NULL;
    int st = col && scratch && nul && items && boot && idx ? hntk_stats_moments_alloc(B, &m) : HNTK_ENOMEM;
    /* every rank allocates alike, or none goes on to the collective null_items */
    if (hntk_parallel_any(st != HNTK_OK)) st = hntk_fail(HNTK_ENOMEM, "cannot allocate a cell's statistics");
    if (!st) hntk_stats_moments_push_n(m, zs, N);
    double kurt_sum = 0.0, skew_sum = 0.0;
    for (long b = 0; b < B && !st; b++) {
        hntk_stats_summary s;
        double *p = values + b * PER;
        st = hntk_stats_moments_summary(m, b, &s);
        if (st) break;
        p[P_KURT] = s.kurt, p[P_KURT_SE] = s.kurt_se, p[P_SKEW] = s.skew, p[P_SKEW_SE] = s.skew_se, p[P_VAR] = s.var;
        kurt_sum += s.kurt, skew_sum += s.skew;
        for (long i = 0; i < N; i++) col[i] = zs[i * B + b];
        st = hntk_stats_ks1(col, N, normal_cdf, NULL, scratch, &p[P_KS_D], &p[P_KS_P]);
        double a2;
        if (!st) st = hntk_stats_anderson_normal(col, N, scratch, &a2, &p[P_AD], &p[P_AD_P]);
    }
    if (!st) {
        sv[S_KURT] = kurt_sum / (double)B;
        sv[S_SKEW] = skew_sum / (double)B;
        /* bootstrap of the means over inputs: every replicate resamples whole B-vectors */
        for (long r = 0; r < CELL_BOOT && !st; r++) {
            st = hntk_stats_bootstrap_indices(d->key_boot, r, (uint32_t)cell->index, N, N, idx);
            double ks = 0.0, ss = 0.0;
            for (long b = 0; b < B; b++) {
                double G1, G2;
                g1g2(zs, N, B, b, idx, &G1, &G2);
                ks += G2, ss += G1;
            }
            boot[2 * r] = ks / (double)B;
            boot[2 * r + 1] = ss / (double)B;
        }
    }
    if (!st) {
        double ci[2];
        st = hntk_stats_bootstrap_interval(boot, 2, CELL_BOOT, 0.95, 0.05, scratch, ci, &sv[S_KURT_SE]);
        if (!st) st = hntk_stats_bootstrap_interval(boot + 1, 2, CELL_BOOT, 0.95, 0.05, scratch, ci, &sv[S_SKEW_SE]);
    }
    /* The ranks agree on the statuses so far (each computed the same thing)
     * before the collective job: the energy distance to N(0, C) and its null
     * on R Gaussian pairs. */
    if (hntk_parallel_any(st != HNTK_OK) && !st) st = hntk_fail(HNTK_EINVAL, "a cell's statistics failed on another MPI rank");
    if (!st) st = null_items(d, cell->index, N, zs, items);
    double ks_null = 0.0, ad_null = 0.0, above = 0.0, nm = 0.0, nv = 0.0;
    if (!st) sv[S_ENERGY] = items[0];
    for (long r = 0; r < R && !st; r++) {
        const double *it = items + (r + 1) * (1 + 2 * B);
        nul[r] = it[0];
        for (long b = 0; b < B; b++) ks_null += it[1 + b], ad_null += it[1 + B + b];
        above += nul[r] >= sv[S_ENERGY];
        nm += nul[r];
    }
    if (!st) {
        nm /= (double)R;
        for (long r = 0; r < R; r++) nv += (nul[r] - nm) * (nul[r] - nm);
        sv[S_NULL_MEAN] = nm;
        sv[S_NULL_SD] = sqrt(nv / (double)(R - 1));
        double p95 = 0.95;
        st = hntk_stats_quantiles(nul, 1, R, &p95, 1, scratch, &sv[S_NULL_Q95]);
        sv[S_ENERGY_P] = (1.0 + above) / (1.0 + (double)R);
        sv[S_KS_NULL] = ks_null / (double)(R * B);
        sv[S_AD_NULL] = ad_null / (double)(R * B);
    }
    hntk_stats_moments_free(m);
    free(col), free(scratch), free(nul), free(items), free(boot), free(idx);
    return st;
}

/* ---- the report and the file ---- */

typedef struct {
    long cells;
    double *per[PER];   /* (A, G, B) */
    double *sc[NSC];    /* (A, G) */
    double *z;          /* (A, G, N, B) */
    double *kurt_exact, *var_exact, *energy_ratio, *zscore; /* (A, G) */
    hntk_gridfit_edge e_energy[HNTK_GRIDFIT_EDGES], e_kurt[HNTK_GRIDFIT_EDGES], e_exact[HNTK_GRIDFIT_EDGES];
    hntk_gridfit_model fit, fit_exact;
    double asym[3];
} thm2_result;

static void result_free(thm2_result *r)
{
    for (int k = 0; k < PER; k++) free(r->per[k]);
    for (int k = 0; k < NSC; k++) free(r->sc[k]);
    free(r->z), free(r->kurt_exact), free(r->var_exact), free(r->energy_ratio), free(r->zscore);
}

static int kurt_stat(void *arg, long cell, const double *x, long n, long dim, double *value)
{
    (void)arg, (void)cell;
    double s = 0.0;
    for (long b = 0; b < dim; b++) {
        double G1, G2;
        g1g2(x, n, dim, b, NULL, &G1, &G2);
        s += G2;
    }
    *value = s / (double)dim;
    return HNTK_OK;
}

static void print_grid(const char *title, const thm2_opts *o, const double *v, const double *w, const char *fmt)
{
    printf("%s\n%9s", title, "n \\ m");
    for (long g = 0; g < o->G; g++) printf(" %15ld", o->g_widths.v[g]);
    printf("\n");
    for (long a = 0; a < o->A; a++) {
        printf("%9ld", o->f_widths.v[a]);
        for (long g = 0; g < o->G; g++) {
            char buf[64];
            if (w) snprintf(buf, sizeof buf, fmt, v[a * o->G + g], w[a * o->G + g]);
            else snprintf(buf, sizeof buf, fmt, v[a * o->G + g]);
            printf(" %15s", buf);
        }
        printf("\n");
    }
}

static void print_report(const thm2_opts *o, const thm2_data *d, const thm2_result *r)
{
    long B = o->inputs, N = o->samples;
    printf("hyperntk thm2: L=%d H=%d, %ld inputs (|x|^2 = %ld, |z|^2 = %ld), %ld samples per cell, %ld null pairs, "
           "seed %llu, sampler %s\n", o->f_depth, o->g_depth, B, o->x_dim, o->z_dim, N, o->null_reps,
           (unsigned long long)o->run.seed, opts_sampler_names[o->sampler]);
    printf("Lambda^H(u_0, u_1) = %.6g (infinite-width covariance, docs/theory.md §3.3)\n\n", B > 1 ? d->lambda[1] : d->lambda[0]);
    print_grid("excess kurtosis of h(u)/sqrt(Lambda^H(u,u)), mean over inputs +- bootstrap se (0 for a GP)", o,
               r->sc[S_KURT], r->sc[S_KURT_SE], "%.3f+-%.2g");
    printf("\n");
    print_grid("exact excess kurtosis of the finite network (finite.h)", o, r->kurt_exact, NULL, "%.4f");
    printf("\n");
    print_grid("(measured - exact) / se", o, r->zscore, NULL, "%.2f");
    printf("\n");
    print_grid("energy distance to N(0, Lambda^H(U,U)) / its null mean (1: at the noise level; p-value)", o,
               r->energy_ratio, r->sc[S_ENERGY_P], "%.3g (p %.2g)");
    double ks = 0, ksn = 0, ad = 0, adn = 0;
    for (long c = 0; c < r->cells; c++) {
        ksn += r->sc[S_KS_NULL][c] / (double)r->cells;
        adn += r->sc[S_AD_NULL][c] / (double)r->cells;
    }
    printf("\nKS distance to N(0,1) and Anderson-Darling A*^2, mean over inputs (null levels: %.4f, %.3f, measured)\n",
           ksn, adn);
    printf("%9s %8s %8s %16s %16s\n", "n", "m", "skew", "KS D", "A-D A*^2");
    for (long c = 0; c < r->cells; c++) {
        ks = ad = 0;
        for (long b = 0; b < B; b++) ks += r->per[P_KS_D][c * B + b] / (double)B, ad += r->per[P_AD][c * B + b] / (double)B;
        printf("%9ld %8ld %8.3f %16.4f %16.3f\n", o->f_widths.v[c / o->G], o->g_widths.v[c % o->G], r->sc[S_SKEW][c], ks, ad);
    }
    grid_print_edges("energy distance along the edges and the diagonal (log-log slopes; a floor: slope 0)", &o->f_widths,
                     &o->g_widths, r->e_energy, NULL, HNTK_GRIDFIT_EDGES);
    grid_print_edges("excess kurtosis along the edges and the diagonal", &o->f_widths, &o->g_widths, r->e_kurt,
                     r->e_exact, HNTK_GRIDFIT_EDGES);
    const hntk_gridfit_model *m = &r->fit, *x = &r->fit_exact;
    if (m->ok) {
        printf("\nfit excess kurtosis = a/n + b/m + c/(n m) over the %ld cells (IRLS, weights 1/(model^2 + se^2); [95%%] "
               "from %ld bootstrap replicates):\n", r->cells, m->replicates);
        static const char nm[3] = {'a', 'b', 'c'};
        for (int k = 0; k < 3; k++)
            printf("  %c = %8.4g +- %-7.2g [%.4g, %.4g]   same fit to the exact kurtosis: %8.4g   asymptotic: %g\n", nm[k],
                   m->coef[k], m->coef_se[k], m->coef_ci[k][0], m->coef_ci[k][1], x->coef[k], r->asym[k]);
        printf("  reduced chi^2 %.3g; the floors: b/m = %.3g at m = %ld (f wide), a/n = %.3g at n = %ld (g wide)\n",
               m->chi2_dof, m->coef[1] / (double)o->g_widths.v[0], o->g_widths.v[0], m->coef[0] / (double)o->f_widths.v[0],
               o->f_widths.v[0]);
    }
}

static int write_grid(hntk_h5 *f, const char *name, const thm2_opts *o, const double *v, const char *what)
{
    long dims[2] = {o->A, o->G};
    static const char *const scales[2] = {"f_widths", "g_widths"};
    return hntk_h5_write_scaled(f, name, 2, dims, v, what, NULL, scales);
}

static int write_model(hntk_h5 *f, const char *name, const hntk_gridfit_model *m, const char *what)
{
    long md[1] = {3}, cd[2] = {3, 2};
    char n2[96], t2[300];
    int st = hntk_h5_write_described(f, name, 1, md, m->coef, what, NULL);
    if (!st && m->replicates > 0) {
        double ci[6];
        for (int k = 0; k < 3; k++) ci[2 * k] = m->coef_ci[k][0], ci[2 * k + 1] = m->coef_ci[k][1];
        snprintf(n2, sizeof n2, "%s_stderr", name);
        snprintf(t2, sizeof t2, "bootstrap standard deviation of %s over the samples (3)", name);
        st = hntk_h5_write_described(f, n2, 1, md, m->coef_se, t2, NULL);
        snprintf(n2, sizeof n2, "%s_ci", name);
        snprintf(t2, sizeof t2, "bootstrap 95%% percentile interval of %s: rows a, b, c; columns low, high (3, 2)", name);
        if (!st) st = hntk_h5_write_described(f, n2, 2, cd, ci, t2, NULL);
        if (!st) st = hntk_h5_attr_long(f, name, "bootstrap_replicates", m->replicates);
    }
    if (!st) st = hntk_h5_attr_double(f, name, "chi2_dof", m->chi2_dof);
    if (!st) st = hntk_h5_attr_long(f, name, "iterations", m->iterations);
    return st;
}

static int write_results(const thm2_opts *o, const thm2_data *d, const thm2_result *r, const opts_output *out)
{
    long A = o->A, G = o->G, B = o->inputs, N = o->samples;
    hntk_h5 *f;
    int st = hntk_h5_create(o->run.out, &f);
    if (st) return st;
    long ad[1] = {A}, gd[1] = {G}, xd[2] = {B, o->x_dim}, zd[2] = {B, o->z_dim}, ld[2] = {B, B}, pd[3] = {A, G, B},
         sd[4] = {A, G, N, B};
    static const char *const scales[4] = {"f_widths", "g_widths", NULL, NULL};
    st = hntk_h5_write_long(f, "f_widths", 1, ad, o->f_widths.v, "widths n of f, the rows of the grid (A)");
    if (!st) st = hntk_h5_make_scale(f, "f_widths", "f width n");
    if (!st) st = hntk_h5_write_long(f, "g_widths", 1, gd, o->g_widths.v, "widths m of g, the columns of the grid (G)");
    if (!st) st = hntk_h5_make_scale(f, "g_widths", "g width m");
    for (int k = 0; k < PER && !st; k++)
        st = hntk_h5_write_scaled(f, PER_NAMES[k], 3, pd, r->per[k], PER_WHAT[k], NULL, scales);
    for (int k = 0; k < NSC && !st; k++) st = write_grid(f, SC_NAMES[k], o, r->sc[k], SC_WHAT[k]);
    if (!st) st = write_grid(f, "kurt_exact", o, r->kurt_exact, "exact excess kurtosis of one output of the finite "
                             "network (finite.h; the same for every input) (A, G)");
    if (!st) st = write_grid(f, "var_exact", o, r->var_exact, "exact E h^2 / Lambda^H(u,u) of the finite network (A, G)");
    if (!st) st = write_grid(f, "kurt_zscore", o, r->zscore, "(kurt_mean - kurt_exact) / kurt_mean_stderr (A, G)");
    if (!st) st = write_grid(f, "energy_ratio", o, r->energy_ratio, "energy / energy_null_mean: 1 at the noise level (A, G)");
    if (!st && o->save_samples)
        st = hntk_h5_write_scaled(f, "/samples/z", 4, sd, r->z, "standardized samples z_b = h(u_b)/sqrt(Lambda^H(u_b,"
                                  "u_b)) in sample order (A, G, samples, B)", NULL, scales);
    if (!st) st = hntk_h5_write_described(f, "/inputs/x", 2, xd, d->X, "inputs x_b of f (B, x_dim)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/inputs/z", 2, zd, d->Z, "inputs z_b of g (B, z_dim)", NULL);
    if (!st) st = hntk_h5_write_described(f, "lambda", 2, ld, d->lambda, "Lambda^H(U, U), the covariance of the limiting "
                                          "Gaussian process on the inputs (B, B)", NULL);
    if (!st) st = hntk_gridfit_write_edges(f, "energy", r->e_energy, "energy distance");
    if (!st) st = hntk_gridfit_write_edges(f, "kurt", r->e_kurt, "excess kurtosis kurt_mean");
    if (!st) st = hntk_gridfit_write_edges(f, "kurt_exact", r->e_exact, "exact excess kurtosis");
    if (!st) st = hntk_h5_describe(f, "/fit", "fits over the grid: edges (gridfit.h) and kurtosis = a/n + b/m + c/(nm)", NULL);
    if (!st) st = hntk_h5_attr_string(f, "/fit", "edges", HNTK_GRIDFIT_EDGE_NAMES);
    if (!st) st = hntk_h5_attr_long(f, "/fit", "tail_points", TAIL_POINTS);
    if (!st) st = write_model(f, "/fit/kurt_model", &r->fit, "coefficients (a, b, c) of kurt_mean = a/n + b/m + c/(n m), "
                              "IRLS with weights 1/(model^2 + mean kurt_mean_stderr^2) (3)");
    if (!st) st = write_model(f, "/fit/kurt_model_exact", &r->fit_exact, "the same fit to kurt_exact on the same grid (3)");
    long md[1] = {3};
    if (!st) st = hntk_h5_write_described(f, "/fit/kurt_asymptotic", 1, md, r->asym, "leading-order coefficients of the "
                                          "exact kurtosis: 15 H^2 (L-1), 15 (H-1), 75 H^2 (L-1)(H-1) (3)", NULL);
    if (!st) st = hntk_h5_attr_string(f, "/", "energy_kernel", "energy distance, Euclidean norm of R^B, V-statistic");
    return opts_commit_result(f, st, &COMMAND, o, out);
}

static int finish(const void *data, const hntk_checkpoint *ck, const opts_output *out)
{
    const thm2_data *d = data;
    const thm2_opts *o = d->o;
    long A = o->A, G = o->G, B = o->inputs, N = o->samples, C = A * G;
    thm2_result r = {.cells = C};
    int st = HNTK_OK;
    for (int k = 0; k < PER && !st; k++)
        if (!(r.per[k] = malloc(sizeof(double) * (size_t)(C * B)))) st = HNTK_ENOMEM;
    for (int k = 0; k < NSC && !st; k++)
        if (!(r.sc[k] = malloc(sizeof(double) * (size_t)C))) st = HNTK_ENOMEM;
    r.z = malloc(sizeof(double) * (size_t)(C * N * B));
    r.kurt_exact = malloc(sizeof(double) * (size_t)C);
    r.var_exact = malloc(sizeof(double) * (size_t)C);
    r.energy_ratio = malloc(sizeof(double) * (size_t)C);
    r.zscore = malloc(sizeof(double) * (size_t)C);
    if (st || !r.z || !r.kurt_exact || !r.var_exact || !r.energy_ratio || !r.zscore) {
        result_free(&r);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate the results of %ld cells", C);
    }
    double noise = 0.0;
    for (long c = 0; c < C && !st; c++) {
        const double *v = hntk_checkpoint_values(ck, c);
        for (long b = 0; b < B; b++)
            for (int k = 0; k < PER; k++) r.per[k][c * B + b] = v[b * PER + k];
        for (int k = 0; k < NSC; k++) r.sc[k][c] = v[PER * B + k];
        memcpy(r.z + c * N * B, v + PER * B + NSC, sizeof(double) * (size_t)(N * B));
        st = hntk_finite_output_moments(o->f_depth, o->g_depth, o->f_widths.v[c / G], o->g_widths.v[c % G],
                                        &r.var_exact[c], &r.kurt_exact[c]);
        r.energy_ratio[c] = r.sc[S_ENERGY][c] / r.sc[S_NULL_MEAN][c];
        r.zscore[c] = (r.sc[S_KURT][c] - r.kurt_exact[c]) / r.sc[S_KURT_SE][c];
        noise += r.sc[S_KURT_SE][c] * r.sc[S_KURT_SE][c] / (double)C;
    }
    double zero[HNTK_GRIDFIT_MAX_WIDTHS * HNTK_GRIDFIT_MAX_WIDTHS] = {0};
    if (!st) st = hntk_gridfit_edges(A, G, o->f_widths.v, o->g_widths.v, r.sc[S_ENERGY], r.sc[S_NULL_SD], TAIL_POINTS, r.e_energy);
    if (!st) st = hntk_gridfit_edges(A, G, o->f_widths.v, o->g_widths.v, r.sc[S_KURT], r.sc[S_KURT_SE], TAIL_POINTS, r.e_kurt);
    if (!st) st = hntk_gridfit_edges(A, G, o->f_widths.v, o->g_widths.v, r.kurt_exact, zero, TAIL_POINTS, r.e_exact);
    hntk_gridfit_model_job job = {.A = A, .G = G, .f_widths = o->f_widths.v, .g_widths = o->g_widths.v,
                                  .y = r.sc[S_KURT], .noise_var = noise, .chi2_count = 0, .samples = r.z, .n = N,
                                  .dim = B, .stat = kurt_stat, .key = hntk_rng_derive_key(o->run.seed, KEY_FIT),
                                  .replicates = FIT_BOOT, .threads = hntk_mc_max_threads()};
    if (!st) st = hntk_gridfit_model_fit(&job, &r.fit);
    job.y = r.kurt_exact;
    job.replicates = 0;
    if (!st) st = hntk_gridfit_model_fit(&job, &r.fit_exact);
    double L1 = o->f_depth - 1.0, H = o->g_depth;
    r.asym[0] = 15.0 * H * H * L1;
    r.asym[1] = 15.0 * (H - 1.0);
    r.asym[2] = 75.0 * H * H * L1 * (H - 1.0);
    if (!st) print_report(o, d, &r);
    if (!st && grid_is_root()) st = write_results(o, d, &r, out);
    result_free(&r);
    return st;
}

int hntk_cmd_thm2(int argc, char **argv)
{
    thm2_opts o;
    memset(&o, 0, sizeof o);
    opts_state state;
    int st = grid_parse(&COMMAND, argc, argv, &o, &o.run, &state);
    if (st) return st < 0 ? CLI_EXIT_OK : st;
    o.A = o.f_widths.n;
    o.G = o.g_widths.n;
    long B = o.inputs;
    thm2_data d = {.o = &o};
    hntk_hyper_arch widest = cell_arch(&o, o.f_widths.v[o.A - 1], o.g_widths.v[o.G - 1]);
    st = grid_validate_widest(&widest, o.sampler, "--f-widths");
    if (!st) {
        d.X = malloc(sizeof(double) * (size_t)(B * o.x_dim));
        d.Z = malloc(sizeof(double) * (size_t)(B * o.z_dim));
        d.lambda = malloc(sizeof(double) * (size_t)(B * B));
        d.chol = calloc((size_t)(B * B), sizeof(double));
        d.inv_sd = malloc(sizeof(double) * (size_t)B);
        if (!d.X || !d.Z || !d.lambda || !d.chol || !d.inv_sd) st = hntk_fail(HNTK_ENOMEM, "cannot allocate the inputs");
    }
    if (!st) {
        hntk_random_directions(o.inputs_seed, HNTK_TENSOR_INPUT_X, d.X, (size_t)B, (size_t)o.x_dim);
        hntk_random_directions(o.inputs_seed, HNTK_TENSOR_INPUT_Z, d.Z, (size_t)B, (size_t)o.z_dim);
        st = hntk_limit_batch(&widest, HNTK_VARIANT_PAPER, B, d.X, d.Z, NULL, d.lambda);
    }
    if (!st) {
        for (long b = 0; b < B; b++) d.inv_sd[b] = 1.0 / sqrt(d.lambda[b * B + b]);
        gsl_matrix *M = gsl_matrix_alloc((size_t)B, (size_t)B);
        for (long a = 0; a < B; a++)
            for (long b = 0; b < B; b++) gsl_matrix_set(M, (size_t)a, (size_t)b, d.lambda[a * B + b] * d.inv_sd[a] * d.inv_sd[b]);
        gsl_set_error_handler_off();
        if (gsl_linalg_cholesky_decomp1(M) != 0)
            st = hntk_fail(HNTK_EINVAL, "Lambda^H(U,U) of the %ld inputs is singular (repeated inputs?): choose another "
                           "--inputs-seed or fewer --inputs", B);
        for (long a = 0; a < B && !st; a++)
            for (long b = 0; b <= a; b++) d.chol[a * B + b] = gsl_matrix_get(M, (size_t)a, (size_t)b);
        gsl_matrix_free(M);
        d.key_gref = hntk_rng_derive_key(o.run.seed, KEY_GREF);
        d.key_boot = hntk_rng_derive_key(o.run.seed, KEY_BOOT);
    }
    opts_output out = {&state, argc, argv, 0.0};
    grid_spec grid = {.cmd = CMD, .what = "cells", .cells = o.A * o.G, .cell_dim = PER * B + NSC + o.samples * B,
                      .collect = 1, .sample = thm2_sample, .driver = &d, .describe = describe_cell,
                      .values = cell_values};
    int code = grid_main(st, &grid, &COMMAND, &o, 1, &o.run, &out, finish);
    free(d.X), free(d.Z), free(d.lambda), free(d.chol), free(d.inv_sd);
    return code;
}
