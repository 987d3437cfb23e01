/* fig1b.c: `hyperntk fig1b`: Figure 1(b) of Littwin et al. (docs/theory.md
 * §5.5): K^h(u,u') against theta in [-pi/2, pi/2] for one width of f and
 * a few widths of g, over independent initializations, with the limit
 * Theta^h(u,u') and, likewise, the NNGP h(u)h(u') with Lambda^H(u,u').
 * The claim: the mean follows the limit for every width of g; the spread
 * shrinks only when g is wide.
 *
 * Inputs: u = (x, z), u' = (x, z'): x = sqrt(n0) e1 in both, z = sqrt(m0) e1,
 * z' = sqrt(m0) (cos theta e1 + sin theta e2), theta_t = -pi/2 + pi t/(T-1).
 * One batch of B = T + 1 inputs (row 0 is u) gives every theta at once.
 * Cell g (g width g_widths[g]) draws the samples g*N .. g*N + N - 1 of the
 * seed and is checkpointed on completion (resume: grid.h).
 * Schema: docs/file-formats.md; reading: docs/figure1.md. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "grid.h"
#include "opts.h"

static const char *CMD = "fig1b";


enum { MAX_THETAS = 2000 };

typedef struct {
    int f_depth, g_depth;
    long f_width, x_dim, z_dim, thetas;
    opts_list g_widths;
    long G; /* the number of widths of g */
    long samples;
    int sampler; /* SAMPLER_DENSE or SAMPLER_LAZY */
    grid_run_opts run; /* --out, --seed, --restart, --stop-after-cells, --mem-budget */
} fig1b_opts;

#define F(field) offsetof(fig1b_opts, field)
static const opt_spec SPECS[] = {
    {"f-width", "n", OPT_LONG, F(f_width), 1, GRID_LAZY_MAX_WIDTH, "500",
     "hidden width of f (up to 1048576 with --sampler dense, 10^7 with lazy)", OPT_CONFIG},
    {"g-widths", "LIST", OPT_LIST, F(g_widths), 1, HNTK_MAX_WIDTH, "10,800", "hidden widths of g",
     OPT_CONFIG | OPT_INCREASING},
    {"f-depth", "L", OPT_INT, F(f_depth), 2, HNTK_MAX_DEPTH, "3",
     "weight layers of f (from 2: the run varies the width of a hidden layer)", OPT_CONFIG},
    {"g-depth", "H", OPT_INT, F(g_depth), 2, HNTK_MAX_DEPTH, "2", "weight layers of g", OPT_CONFIG},
    {"thetas", "T", OPT_LONG, F(thetas), 1, MAX_THETAS, NULL, "angles evenly on [-pi/2, pi/2]", OPT_CONFIG},
    {"x-dim", "n0", OPT_LONG, F(x_dim), 2, HNTK_MAX_WIDTH, "2", "dimension of x", OPT_CONFIG},
    {"z-dim", "m0", OPT_LONG, F(z_dim), 2, HNTK_MAX_WIDTH, "2", "dimension of z", OPT_CONFIG},
    {"samples", "N", OPT_LONG, F(samples), 2, 2147483647.0, "100",
     "initializations per width of g; width number c uses samples c*N..c*N+N-1", OPT_CONFIG},
    GRID_SAMPLER_SPEC(fig1b_opts),
    GRID_RUN_SPECS(fig1b_opts, "widths of g"),
};
#undef F

static const opt_preset PRESETS[] = {
    {"default", "the paper's figure: f width 500, g widths 10 and 800", "thetas=41"},
    {"quick", "21 angles (widths and samples as the default): seconds", "thetas=21"},
    {"wide", "results/fig1b_wide.h5: the default at f width 10^5 with the lazy sampler", "thetas=41 f-width=100000 "
     "sampler=lazy"},
};

static const opt_command COMMAND = {
    .cmd = "fig1b",
    .synopsis = "--out OUT.h5 [--quick] [OPTIONS]",
    .summary = "Figure 1(b): K^h(u,u') against theta in [-pi/2, pi/2] over independent initializations\n"
               "for one width of f and several widths of g, with the limit Theta^h(u,u'); the NNGP\n"
               "h(u)h(u') with Lambda^H(u,u') likewise (docs/theory.md §5.5).\n"
               "u = (x, z), u' = (x, z'): z = sqrt(m0) e1, z' = sqrt(m0) (cos theta e1 + sin theta e2),\n"
               "x = sqrt(n0) e1 in both.",
    .footer = GRID_FOOTER,
    OPTS_SPECS(SPECS),
    OPTS_PRESETS(PRESETS),
};

static int parse_options(int argc, char **argv, fig1b_opts *o, opts_state *state)
{
    memset(o, 0, sizeof *o);
    int st = grid_parse(&COMMAND, argc, argv, o, &o->run, state);
    o->G = o->g_widths.n;
    return st;
}

static hntk_hyper_arch cell_arch(const fig1b_opts *o, long m)
{
    return hntk_hyper_arch_make(o->f_depth, o->f_width, o->x_dim, o->g_depth, m, o->z_dim);
}

/* theta (T); X (T+1, x_dim), Z (T+1, z_dim) as in the header comment.  The end
 * points are exactly perpendicular to z (cos = 0), the midpoint exactly z. */
static void circle_inputs(const fig1b_opts *o, double *theta, double *X, double *Z)
{
    long T = o->thetas, B = T + 1;
    double rx = sqrt((double)o->x_dim), rz = sqrt((double)o->z_dim);
    memset(X, 0, sizeof(double) * (size_t)(B * o->x_dim));
    memset(Z, 0, sizeof(double) * (size_t)(B * o->z_dim));
    for (long b = 0; b < B; b++) X[b * o->x_dim] = rx;
    Z[0] = rz;
    for (long t = 0; t < T; t++) {
        double th = T > 1 ? -CLI_PI / 2 + CLI_PI * (double)t / (double)(T - 1) : 0.0, c = cos(th), s = sin(th);
        if (T > 1 && t == 0) { th = -CLI_PI / 2; c = 0.0; s = -1.0; }
        if (T > 1 && t == T - 1) { th = CLI_PI / 2; c = 0.0; s = 1.0; }
        theta[t] = th;
        Z[(t + 1) * o->z_dim] = rz * c;
        Z[(t + 1) * o->z_dim + 1] = rz * s;
    }
}

static double dot_over(const double *a, const double *b, long n)
{
    double s = 0.0;
    for (long i = 0; i < n; i++) s += a[i] * b[i];
    return s / (double)n;
}

/* One initialization: out = [K^h(u, u'_t), t < T | h(u) h(u'_t), t < T]. */
static int fig1b_sample(void *ctx, long sample, double *out)
{
    hntk_worker *w = ctx;
    const grid_cell *c = w->job;
    long B = c->needs.batch, T = B - 1;
    int st = w->lazy ? hntk_lazy_sample_ntk_gram(w->lazy, c->key, (uint32_t)sample, B, c->X, c->Z, w->gram)
                     : hntk_net_sample_ntk_gram(w->net, c->key, (uint32_t)sample, B, c->X, c->Z, w->gram);
    if (st) return st;
    memcpy(out, w->gram + 1, sizeof(double) * (size_t)T);
    if (w->lazy)
        hntk_lazy_nngp_gram(w->lazy, w->gram);
    else
        hntk_net_nngp_gram(w->net, w->gram);
    memcpy(out + T, w->gram + 1, sizeof(double) * (size_t)T);
    return HNTK_OK;
}

typedef struct {
    double *theta;            /* (T) */
    double *X, *Z;            /* (T+1, x_dim), (T+1, z_dim) */
    double *analytic, *nngp_analytic; /* (T) */
    double *mean, *var, *se;  /* (G, T) */
    double *nmean, *nvar, *nse; /* (G, T) */
} fig1b_result;

static void result_free(fig1b_result *r)
{
    free(r->theta);
    free(r->X);
    free(r->Z);
    free(r->analytic);
    free(r->nngp_analytic);
    free(r->mean);
    free(r->var);
    free(r->se);
    free(r->nmean);
    free(r->nvar);
    free(r->nse);
}

static int result_alloc(const fig1b_opts *o, fig1b_result *r)
{
    long T = o->thetas, B = T + 1;
    size_t gt = sizeof(double) * (size_t)(o->G * T);
    r->theta = malloc(sizeof(double) * (size_t)T);
    r->X = malloc(sizeof(double) * (size_t)(B * o->x_dim));
    r->Z = malloc(sizeof(double) * (size_t)(B * o->z_dim));
    r->analytic = malloc(sizeof(double) * (size_t)T);
    r->nngp_analytic = malloc(sizeof(double) * (size_t)T);
    r->mean = malloc(gt);
    r->var = malloc(gt);
    r->se = malloc(gt);
    r->nmean = malloc(gt);
    r->nvar = malloc(gt);
    r->nse = malloc(gt);
    if (!r->theta || !r->X || !r->Z || !r->analytic || !r->nngp_analytic || !r->mean || !r->var || !r->se ||
        !r->nmean || !r->nvar || !r->nse)
        return hntk_fail(HNTK_ENOMEM, "cannot allocate the results of %ld angles", T);
    return HNTK_OK;
}

/* Limits Theta^h(u, u'_t) and Lambda^H(u, u'_t), entry by entry from the inputs. */
static void limits(const fig1b_opts *o, fig1b_result *r)
{
    long T = o->thetas, xd = o->x_dim, zd = o->z_dim;
    for (long t = 0; t < T; t++) {
        const double *x0 = r->X, *x1 = r->X + (t + 1) * xd, *z0 = r->Z, *z1 = r->Z + (t + 1) * zd;
        hntk_cov xc = {dot_over(x0, x0, xd), dot_over(x0, x1, xd), dot_over(x1, x1, xd)};
        hntk_cov zc = {dot_over(z0, z0, zd), dot_over(z0, z1, zd), dot_over(z1, z1, zd)};
        hntk_limit lim;
        hntk_limit_hyper(o->f_depth, o->g_depth, xc, zc, HNTK_VARIANT_PAPER, &lim);
        r->analytic[t] = lim.theta_h;
        r->nngp_analytic[t] = lim.lambda_h;
    }
}


static void print_report(const fig1b_opts *o, const fig1b_result *r)
{
    long T = o->thetas, G = o->G;
    printf("hyperntk fig1b: L=%d n=%ld H=%d, %ld angles, %ld samples per width of g, seed %llu\n", o->f_depth,
           o->f_width, o->g_depth, T, o->samples, (unsigned long long)o->run.seed);
    printf("K^h(u,u'): mean +- standard deviation over initializations, z = (mean - Theta^h)/stderr\n");
    printf("%8s %9s", "theta", "Theta^h");
    for (long g = 0; g < G; g++) {
        char head[48];
        snprintf(head, sizeof head, "m = %ld", o->g_widths.v[g]);
        printf(" | %-20s %6s", head, "z");
    }
    printf("\n");
    for (long t = 0; t < T; t++) {
        printf("%8.4f %9.5f", r->theta[t], r->analytic[t]);
        for (long g = 0; g < G; g++) {
            long k = g * T + t;
            printf(" | %8.4f +- %-8.4f %6.2f", r->mean[k], sqrt(r->var[k]), (r->mean[k] - r->analytic[t]) / r->se[k]);
        }
        printf("\n");
    }
    printf("\nsummary per width of g (spread: RMS over theta of the standard deviation across initializations)\n");
    printf("%8s | %12s %12s | %12s %12s\n", "m", "K^h spread", "max |z|", "NNGP spread", "max |z|");
    for (long g = 0; g < G; g++) {
        double s = 0, zmax = 0, ns = 0, nzmax = 0;
        for (long t = 0; t < T; t++) {
            long k = g * T + t;
            s += r->var[k];
            ns += r->nvar[k];
            double z = fabs(r->mean[k] - r->analytic[t]) / r->se[k];
            double nz = fabs(r->nmean[k] - r->nngp_analytic[t]) / r->nse[k];
            if (z > zmax) zmax = z;
            if (nz > nzmax) nzmax = nz;
        }
        printf("%8ld | %12.4g %12.2f | %12.4g %12.2f\n", o->g_widths.v[g], sqrt(s / (double)T), zmax,
               sqrt(ns / (double)T), nzmax);
    }
}

static int write_results(const fig1b_opts *o, const fig1b_result *r, const opts_output *out)
{
    long T = o->thetas, G = o->G, B = T + 1;
    hntk_h5 *f;
    int st = hntk_h5_create(o->run.out, &f);
    if (st) return st;
    long td[1] = {T}, gd[1] = {G}, gt[2] = {G, T}, xd[2] = {B, o->x_dim}, zd[2] = {B, o->z_dim};
    st = hntk_h5_write_described(f, "theta", 1, td, r->theta,
                                 "angle theta_t between z and z'_t, evenly on [-pi/2, pi/2] (T)", "rad");
    if (!st) st = hntk_h5_make_scale(f, "theta", "theta");
    if (!st) st = hntk_h5_write_long(f, "g_widths", 1, gd, o->g_widths.v, "hidden widths m of g (G)");
    if (!st) st = hntk_h5_make_scale(f, "g_widths", "g width m");
    static const struct {
        const char *name, *what;
        int kernel; /* 0: K^h, 1: NNGP */
        int field;  /* 0 mean, 1 var, 2 stderr */
    } grids[] = {
        {"mean", "mean over initializations of K^h(u, u'_t) (G widths of g, T angles)", 0, 0},
        {"var", "variance over initializations of K^h(u, u'_t), unbiased (G, T)", 0, 1},
        {"stderr", "standard error of the mean of K^h(u, u'_t) (G, T)", 0, 2},
        {"nngp_mean", "mean over initializations of h(u) h(u'_t) (G, T)", 1, 0},
        {"nngp_var", "variance over initializations of h(u) h(u'_t), unbiased (G, T)", 1, 1},
        {"nngp_stderr", "standard error of the mean of h(u) h(u'_t) (G, T)", 1, 2},
    };
    const double *data[2][3] = {{r->mean, r->var, r->se}, {r->nmean, r->nvar, r->nse}};
    static const char *const by_width_theta[2] = {"g_widths", "theta"}, *const by_theta[1] = {"theta"};
    for (size_t k = 0; k < sizeof grids / sizeof grids[0] && !st; k++)
        st = hntk_h5_write_scaled(f, grids[k].name, 2, gt, data[grids[k].kernel][grids[k].field], grids[k].what,
                                  NULL, by_width_theta);
    if (!st) st = hntk_h5_write_scaled(f, "analytic", 1, td, r->analytic, "infinite-width limit Theta^h(u, u'_t) (T)",
                                       NULL, by_theta);
    if (!st) st = hntk_h5_write_scaled(f, "nngp_analytic", 1, td, r->nngp_analytic,
                                       "infinite-width limit Lambda^H(u, u'_t) of the NNGP (T)", NULL, by_theta);
    if (!st) st = hntk_h5_write_described(f, "/inputs/x", 2, xd, r->X,
                                          "inputs x of f: row 0 for u, row t+1 for u'_t, all equal (T+1, x_dim)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/inputs/z", 2, zd, r->Z,
                                          "inputs z of g: row 0 is z, row t+1 is z'_t (T+1, z_dim)", NULL);
    if (!st) st = hntk_h5_attr_string(f, "/", "variant", hntk_variant_name(HNTK_VARIANT_PAPER));
    return opts_commit_result(f, st, &COMMAND, o, out);
}

/* ---- the grid: cell g is the g-th width of g ---- */

typedef struct {
    const fig1b_opts *o;
    fig1b_result *r;
} grid_data;

static void describe_cell(const void *data, long g, grid_cell *cell)
{
    const grid_data *d = data;
    const fig1b_opts *o = d->o;
    cell->arch = cell_arch(o, o->g_widths.v[g]);
    cell->needs = (hntk_pool_needs){.batch = o->thetas + 1, .gram = 1, .lazy = o->sampler == SAMPLER_LAZY};
    cell->samples = o->samples;
    cell->first_sample = g * o->samples;
    cell->key = o->run.seed;
    cell->sample_dim = 2 * o->thetas;
    cell->X = d->r->X;
    cell->Z = d->r->Z;
    snprintf(cell->label, sizeof cell->label, "width %ld/%ld (m = %ld)", g + 1, o->G, o->g_widths.v[g]);
}

/* cell values: [mean (2T) | var (2T) | stderr (2T)], each [K^h (T) | NNGP (T)] */
static int grid_values(const grid_cell *cell, const hntk_stats_moments *acc, const double *samples, double *values)
{
    (void)cell;
    (void)samples;
    long dim = acc->dim;
    memcpy(values, acc->mean, sizeof(double) * (size_t)dim);
    hntk_stats_moments_finish(acc, values + dim, values + 2 * dim);
    return HNTK_OK;
}

/* Every cell is done: the report and (rank 0) the file. */
static int finish(const void *data, const hntk_checkpoint *ck, const opts_output *out)
{
    const grid_data *d = data;
    const fig1b_opts *o = d->o;
    fig1b_result *r = d->r;
    long T = o->thetas, dim = 2 * T;
    for (long g = 0; g < o->G; g++) {
        const double *v = hntk_checkpoint_values(ck, g);
        size_t row = sizeof(double) * (size_t)T;
        memcpy(r->mean + g * T, v, row);
        memcpy(r->nmean + g * T, v + T, row);
        memcpy(r->var + g * T, v + dim, row);
        memcpy(r->nvar + g * T, v + dim + T, row);
        memcpy(r->se + g * T, v + 2 * dim, row);
        memcpy(r->nse + g * T, v + 2 * dim + T, row);
    }
    print_report(o, r);
    return grid_is_root() ? write_results(o, r, out) : HNTK_OK;
}

int hntk_cmd_fig1b(int argc, char **argv)
{
    fig1b_opts o;
    opts_state state;
    int st = parse_options(argc, argv, &o, &state);
    if (st) return st < 0 ? CLI_EXIT_OK : st;

    fig1b_result r = {0};
    hntk_hyper_arch widest = cell_arch(&o, o.g_widths.v[o.G - 1]);
    st = grid_validate_widest(&widest, o.sampler, "--f-width");
    if (!st) st = result_alloc(&o, &r);
    if (!st) {
        circle_inputs(&o, r.theta, r.X, r.Z);
        limits(&o, &r);
    }
    grid_data data = {&o, &r};
    opts_output out = {&state, argc, argv, 0.0};
    grid_spec grid = {.cmd = CMD, .what = "widths of g", .cells = o.G, .cell_dim = 6 * o.thetas,
                      .sample = fig1b_sample, .driver = &data, .describe = describe_cell, .values = grid_values};
    int code = grid_main(st, &grid, &COMMAND, &o, 2, &o.run, &out, finish);
    result_free(&r);
    return code;
}
