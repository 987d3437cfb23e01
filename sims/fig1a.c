/* fig1a.c: `hyperntk fig1a`: Figure 1(a) of Littwin et al. (THEORY.md section
 * 5, items 3-4): the variance of the empirical hyperkernel K^h(u,u') over
 * independent initializations, on a grid of widths n of f times widths m of g.
 * The claim: it tends to 0 only when both widths grow.
 *
 * Cell (a, g) of the grid (f width f_widths[a], g width g_widths[g]) is cell
 * c = a*G + g; it draws the samples c*N .. c*N + N - 1 of the seed.  Each cell
 * is checkpointed on completion (resume: fig1_common.h).  At the end the
 * variance is fitted along the four edges of the grid and its diagonal
 * (least squares on log-log, gsl_fit_linear), and against the model
 * var = a/n + b/m + c/(nm) (weighted least squares), whose b/m and a/n are the
 * floors along the edges.  Schema: docs/file-formats.md; reading: docs/figure1.md. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_fit.h>
#include <gsl/gsl_multifit.h>

#include "cli.h"
#include "commands.h"
#include "fig1_common.h"

static const char *CMD = "fig1a";

#define FIG1A_PI 3.14159265358979323846

/* Default and --quick grids. */
static const long DEFAULT_F_WIDTHS[] = {25, 50, 100, 200, 400, 800, 1600, 3200};
static const long DEFAULT_G_WIDTHS[] = {10, 20, 40, 80, 160, 320, 640, 1280};
static const long QUICK_F_WIDTHS[] = {25, 100, 400};
static const long QUICK_G_WIDTHS[] = {10, 40, 160};
enum { QUICK_SAMPLES = 100, TAIL_POINTS = 3, N_EDGES = 5, N_MODEL = 3 };

typedef struct {
    int f_depth, g_depth;
    long x_dim, z_dim;
    double x_angle, z_angle; /* degrees */
    long f_widths[FIG1_MAX_WIDTHS], g_widths[FIG1_MAX_WIDTHS];
    long A, G;
    long samples;
    uint64_t seed;
    const char *out;
    int quick, restart;
    long stop_after; /* -1: never */
    double budget_gib;
} fig1a_opts;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: hyperntk fig1a --out OUT.h5 [OPTIONS]\n"
            "Figure 1(a): variance of the empirical hyperkernel K^h(u,u') over independent\n"
            "initializations, on a grid of widths of f times widths of g, against the limit\n"
            "Theta^h(u,u') (THEORY.md section 5, items 3-4).  Prints the variance grid, its\n"
            "log-log slopes along each edge and the diagonal, and the fit var = a/n + b/m + c/(nm).\n\n"
            "  --out FILE           result file (written atomically; schema in docs/file-formats.md)\n"
            "  --f-widths LIST      widths n of f, comma list, strictly increasing, each 1..%ld\n"
            "                       (default 25,50,100,200,400,800,1600,3200)\n"
            "  --g-widths LIST      widths m of g, likewise (default 10,20,40,80,160,320,640,1280)\n"
            "  --f-depth L          weight layers of f, 2..%d (default 3)\n"
            "  --g-depth H          weight layers of g, 2..%d (default 2)\n"
            "  --x-dim n0           dimension of x, 2..%ld (default 2)\n"
            "  --z-dim m0           dimension of z, 2..%ld (default 2)\n"
            "  --x-angle DEG        angle between x and x', 0..180 degrees (default 90)\n"
            "  --z-angle DEG        angle between z and z', 0..180 degrees (default 90)\n"
            "                       x = sqrt(n0) e1, x' = sqrt(n0) (cos e1 + sin e2); z, z' likewise\n"
            "  --samples N          initializations per cell, 2..2147483647 (default 100)\n"
            "  --seed S             seed, 0..2^63-1 (default 1); cell c uses samples c*N..c*N+N-1\n"
            "  --quick              a 3 x 3 grid (f 25,100,400; g 10,40,160), 100 samples: seconds\n"
            "                       (options given explicitly override the preset)\n"
            "  --restart            discard OUT.h5.ckpt from an interrupted run and start over\n"
            "  --stop-after-cells K compute at most K cells, then stop with exit status 3, keeping\n"
            "                       the checkpoint (for batch jobs with time limits, and tests)\n"
            "  --mem-budget GiB     refuse grids needing more memory (default 3/4 of RAM)\n"
            "  --help               this text\n\n"
            "Resuming: after each cell the completed cells are saved atomically in OUT.h5.ckpt.\n"
            "Interrupted (Ctrl-C, SIGTERM: it stops at the next block of samples), the same command\n"
            "continues from the completed cells and writes the same file as an uninterrupted run;\n"
            "the checkpoint is removed once OUT.h5 is written.\n"
            "Threads: OMP_NUM_THREADS; processes: mpirun -np K (when built with MPI).  The result is\n"
            "bit-identical for any thread and process count, also across a resumption.\n",
            HNTK_MAX_WIDTH, HNTK_MAX_DEPTH, HNTK_MAX_DEPTH, HNTK_MAX_WIDTH, HNTK_MAX_WIDTH);
}

enum { OPT_OUT = 256, OPT_F_WIDTHS, OPT_G_WIDTHS, OPT_F_DEPTH, OPT_G_DEPTH, OPT_X_DIM, OPT_Z_DIM, OPT_X_ANGLE,
       OPT_Z_ANGLE, OPT_SAMPLES, OPT_SEED, OPT_QUICK, OPT_RESTART, OPT_STOP_AFTER, OPT_BUDGET, OPT_HELP };

static int parse_widths(const char *name, const char *text, long *dst, long *count)
{
    long *v, n;
    int st = cli_parse_long_list(CMD, name, text, 1, HNTK_MAX_WIDTH, &v, &n);
    if (st) return st;
    if (n > FIG1_MAX_WIDTHS) {
        free(v);
        return cli_usage_error(CMD, "--%s: %ld widths, accepted at most %d", name, n, FIG1_MAX_WIDTHS);
    }
    memcpy(dst, v, sizeof(long) * (size_t)n);
    *count = n;
    free(v);
    return fig1_check_increasing(CMD, name, dst, n);
}

static int parse_options(int argc, char **argv, fig1a_opts *o)
{
    static const struct option longopts[] = {
        {"out", required_argument, 0, OPT_OUT},         {"f-widths", required_argument, 0, OPT_F_WIDTHS},
        {"g-widths", required_argument, 0, OPT_G_WIDTHS}, {"f-depth", required_argument, 0, OPT_F_DEPTH},
        {"g-depth", required_argument, 0, OPT_G_DEPTH}, {"x-dim", required_argument, 0, OPT_X_DIM},
        {"z-dim", required_argument, 0, OPT_Z_DIM},     {"x-angle", required_argument, 0, OPT_X_ANGLE},
        {"z-angle", required_argument, 0, OPT_Z_ANGLE}, {"samples", required_argument, 0, OPT_SAMPLES},
        {"seed", required_argument, 0, OPT_SEED},       {"quick", no_argument, 0, OPT_QUICK},
        {"restart", no_argument, 0, OPT_RESTART},       {"stop-after-cells", required_argument, 0, OPT_STOP_AFTER},
        {"mem-budget", required_argument, 0, OPT_BUDGET}, {"help", no_argument, 0, OPT_HELP},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->f_depth = 3;
    o->g_depth = 2;
    o->x_dim = 2;
    o->z_dim = 2;
    o->x_angle = 90.0;
    o->z_angle = 90.0;
    o->seed = 1;
    o->stop_after = -1;
    o->budget_gib = (double)cli_default_budget() / 1073741824.0;
    int given_f = 0, given_g = 0, given_samples = 0;
    long v;
    int c, st = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_OUT: o->out = optarg; break;
        case OPT_F_WIDTHS: st = parse_widths("f-widths", optarg, o->f_widths, &o->A); given_f = 1; break;
        case OPT_G_WIDTHS: st = parse_widths("g-widths", optarg, o->g_widths, &o->G); given_g = 1; break;
        case OPT_F_DEPTH: st = cli_parse_long(CMD, "f-depth", optarg, 2, HNTK_MAX_DEPTH, &v); o->f_depth = (int)v; break;
        case OPT_G_DEPTH: st = cli_parse_long(CMD, "g-depth", optarg, 2, HNTK_MAX_DEPTH, &v); o->g_depth = (int)v; break;
        case OPT_X_DIM: st = cli_parse_long(CMD, "x-dim", optarg, 2, HNTK_MAX_WIDTH, &o->x_dim); break;
        case OPT_Z_DIM: st = cli_parse_long(CMD, "z-dim", optarg, 2, HNTK_MAX_WIDTH, &o->z_dim); break;
        case OPT_X_ANGLE: st = cli_parse_double(CMD, "x-angle", optarg, 0.0, 180.0, &o->x_angle); break;
        case OPT_Z_ANGLE: st = cli_parse_double(CMD, "z-angle", optarg, 0.0, 180.0, &o->z_angle); break;
        case OPT_SAMPLES: st = cli_parse_long(CMD, "samples", optarg, 2, 2147483647L, &o->samples); given_samples = 1; break;
        case OPT_SEED: st = cli_parse_seed(CMD, optarg, &o->seed); break;
        case OPT_QUICK: o->quick = 1; break;
        case OPT_RESTART: o->restart = 1; break;
        case OPT_STOP_AFTER: st = cli_parse_long(CMD, "stop-after-cells", optarg, 0, 2147483647L, &o->stop_after); break;
        case OPT_BUDGET: st = cli_parse_double(CMD, "mem-budget", optarg, 1e-6, 1e6, &o->budget_gib); break;
        case OPT_HELP: usage(stdout); return -1;
        default: return cli_usage_error(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
        if (st) return st;
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!o->out) return cli_usage_error(CMD, "--out FILE is required");
    /* The preset fills in what was not given explicitly. */
    if (!given_f) {
        const long *w = o->quick ? QUICK_F_WIDTHS : DEFAULT_F_WIDTHS;
        o->A = o->quick ? (long)(sizeof QUICK_F_WIDTHS / sizeof *w) : (long)(sizeof DEFAULT_F_WIDTHS / sizeof *w);
        memcpy(o->f_widths, w, sizeof(long) * (size_t)o->A);
    }
    if (!given_g) {
        const long *w = o->quick ? QUICK_G_WIDTHS : DEFAULT_G_WIDTHS;
        o->G = o->quick ? (long)(sizeof QUICK_G_WIDTHS / sizeof *w) : (long)(sizeof DEFAULT_G_WIDTHS / sizeof *w);
        memcpy(o->g_widths, w, sizeof(long) * (size_t)o->G);
    }
    if (!given_samples) o->samples = o->quick ? QUICK_SAMPLES : 100;
    return 0;
}

/* (cos, sin) of an angle in degrees, exact at multiples of 90 degrees (so that
 * "90" gives exactly perpendicular inputs). */
static void cos_sin_deg(double deg, double *c, double *s)
{
    if (deg == 0.0) { *c = 1.0; *s = 0.0; }
    else if (deg == 90.0) { *c = 0.0; *s = 1.0; }
    else if (deg == 180.0) { *c = -1.0; *s = 0.0; }
    else { *c = cos(deg * FIG1A_PI / 180.0); *s = sin(deg * FIG1A_PI / 180.0); }
}

/* Row 0: r e1; row 1: r (cos e1 + sin e2), r = sqrt(dim), so |row|^2 = dim. */
static void pair_inputs(double deg, long dim, double *M)
{
    double c, s, r = sqrt((double)dim);
    cos_sin_deg(deg, &c, &s);
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

/* One initialization: out = [K, d^2, d^3, d^4] with K = K^h(u, u') and
 * d = K - Theta^h.  The power sums of d give the fourth central moment, hence
 * the standard error of the sample variance (the limit is a centre close to
 * the mean, so the sums lose few digits to cancellation). */
enum { SAMPLE_DIM = 4, CELL_DIM = 4 };

static int fig1a_sample(void *data, long sample, double *out)
{
    fig1_ctx *c = data;
    int st = hntk_net_sample_ntk_gram(c->net, c->seed, (uint32_t)sample, 2, c->X, c->Z, c->gram);
    if (st) return st;
    double k = c->gram[1], d = k - c->center;
    out[0] = k;
    out[1] = d * d;
    out[2] = d * d * d;
    out[3] = d * d * d * d;
    return HNTK_OK;
}

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
    double lx[FIG1_MAX_WIDTHS], ly[FIG1_MAX_WIDTHS];
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
    double x[FIG1_MAX_WIDTHS] = {0}, y[FIG1_MAX_WIDTHS] = {0}, ys[FIG1_MAX_WIDTHS] = {0};
    for (long a = 0; a < A; a++) { x[a] = (double)o->f_widths[a]; y[a] = var[a * G]; ys[a] = var_se[a * G]; }
    fit_edge(x, y, ys, A, &e[0]);
    for (long a = 0; a < A; a++) { y[a] = var[a * G + G - 1]; ys[a] = var_se[a * G + G - 1]; }
    fit_edge(x, y, ys, A, &e[1]);
    for (long g = 0; g < G; g++) { x[g] = (double)o->g_widths[g]; y[g] = var[g]; ys[g] = var_se[g]; }
    fit_edge(x, y, ys, G, &e[2]);
    for (long g = 0; g < G; g++) { y[g] = var[(A - 1) * G + g]; ys[g] = var_se[(A - 1) * G + g]; }
    fit_edge(x, y, ys, G, &e[3]);
    for (long k = 0; k < D; k++) {
        x[k] = sqrt((double)o->f_widths[k] * (double)o->g_widths[k]);
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
                double n = (double)o->f_widths[a], m = (double)o->g_widths[g], v = var[i];
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
                double n = (double)o->f_widths[i / G], m = (double)o->g_widths[i % G];
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

static int build_config(const fig1a_opts *o, char **out)
{
    fig1_config c;
    fig1_config_init(&c, CMD);
    fig1_config_long(&c, "format", 1);
    fig1_config_long(&c, "f_depth", o->f_depth);
    fig1_config_long(&c, "g_depth", o->g_depth);
    fig1_config_long(&c, "x_dim", o->x_dim);
    fig1_config_long(&c, "z_dim", o->z_dim);
    fig1_config_double(&c, "x_angle", o->x_angle);
    fig1_config_double(&c, "z_angle", o->z_angle);
    fig1_config_list(&c, "f_widths", o->f_widths, o->A);
    fig1_config_list(&c, "g_widths", o->g_widths, o->G);
    fig1_config_long(&c, "samples", o->samples);
    fig1_config_long(&c, "seed", (long)o->seed);
    int st = fig1_config_status(&c);
    if (st) {
        fig1_config_free(&c);
        return st;
    }
    *out = c.text;
    return HNTK_OK;
}

static void print_grid(const char *title, const fig1a_opts *o, const double *v, const char *fmt)
{
    printf("%s\n%9s", title, "n \\ m");
    for (long g = 0; g < o->G; g++) printf(" %9ld", o->g_widths[g]);
    printf("\n");
    for (long a = 0; a < o->A; a++) {
        printf("%9ld", o->f_widths[a]);
        for (long g = 0; g < o->G; g++) printf(fmt, v[a * o->G + g]);
        printf("\n");
    }
}

static void print_report(const fig1a_opts *o, const fig1a_result *r)
{
    long A = o->A, G = o->G, N = A * G;
    printf("hyperntk fig1a: L=%d H=%d, angle(x,x') = %g deg, angle(z,z') = %g deg, %ld samples per cell, seed %llu\n",
           o->f_depth, o->g_depth, o->x_angle, o->z_angle, o->samples, (unsigned long long)o->seed);
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
        case 0: snprintf(label, sizeof label, "f axis n %ld..%ld at m = %ld", o->f_widths[0], o->f_widths[A - 1], o->g_widths[0]); break;
        case 1: snprintf(label, sizeof label, "f axis n %ld..%ld at m = %ld", o->f_widths[0], o->f_widths[A - 1], o->g_widths[G - 1]); break;
        case 2: snprintf(label, sizeof label, "g axis m %ld..%ld at n = %ld", o->g_widths[0], o->g_widths[G - 1], o->f_widths[0]); break;
        case 3: snprintf(label, sizeof label, "g axis m %ld..%ld at n = %ld", o->g_widths[0], o->g_widths[G - 1], o->f_widths[A - 1]); break;
        default: snprintf(label, sizeof label, "diagonal (%ld,%ld)..(%ld,%ld)", o->f_widths[0], o->g_widths[0], o->f_widths[D - 1], o->g_widths[D - 1]); break;
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
        printf("  floor along the f axis (n -> inf) at m = %ld: b/m = %.3g +- %.2g\n", o->g_widths[0],
               m->coef[1] / (double)o->g_widths[0], m->coef_se[1] / (double)o->g_widths[0]);
        printf("  floor along the g axis (m -> inf) at n = %ld: a/n = %.3g +- %.2g (leading order in 1/n)\n",
               o->f_widths[0], m->coef[0] / (double)o->f_widths[0], m->coef_se[0] / (double)o->f_widths[0]);
        printf("  both widths -> inf: the fit tends to 0; measured %.3g at n = %ld, m = %ld\n", r->var[N - 1],
               o->f_widths[A - 1], o->g_widths[G - 1]);
    }
}

static int write_config(hntk_h5 *f, const fig1a_opts *o)
{
    int st;
    if ((st = hntk_h5_attr_long(f, "/", "f_depth", o->f_depth))) return st;
    if ((st = hntk_h5_attr_long(f, "/", "g_depth", o->g_depth))) return st;
    if ((st = hntk_h5_attr_long(f, "/", "x_dim", o->x_dim))) return st;
    if ((st = hntk_h5_attr_long(f, "/", "z_dim", o->z_dim))) return st;
    if ((st = hntk_h5_attr_double(f, "/", "x_angle", o->x_angle))) return st;
    if ((st = hntk_h5_attr_double(f, "/", "z_angle", o->z_angle))) return st;
    if ((st = hntk_h5_attr_long(f, "/", "samples", o->samples))) return st;
    if ((st = hntk_h5_attr_long(f, "/", "seed", (long)o->seed))) return st;
    if ((st = hntk_h5_attr_string(f, "/", "preset", o->quick ? "quick" : "default"))) return st;
    if ((st = hntk_h5_attr_string(f, "/", "variant", hntk_variant_name(HNTK_VARIANT_PAPER)))) return st;
    return HNTK_OK;
}

static int write_results(const fig1a_opts *o, const fig1a_result *r, int argc, char **argv, double wall)
{
    long A = o->A, G = o->G, dims[2] = {A, G};
    double fw[FIG1_MAX_WIDTHS], gw[FIG1_MAX_WIDTHS];
    for (long a = 0; a < A; a++) fw[a] = (double)o->f_widths[a];
    for (long g = 0; g < G; g++) gw[g] = (double)o->g_widths[g];
    hntk_h5 *f;
    int st = hntk_h5_create(o->out, &f);
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
    if (!st) st = write_config(f, o);
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
    const fig1a_result *r;
} grid_data;

static hntk_hyper_arch grid_arch(const void *data, long c)
{
    const fig1a_opts *o = ((const grid_data *)data)->o;
    return cell_arch(o, o->f_widths[c / o->G], o->g_widths[c % o->G]);
}

static void grid_label(const void *data, long c, char *buf, size_t cap)
{
    const fig1a_opts *o = ((const grid_data *)data)->o;
    snprintf(buf, cap, "cell %ld/%ld (n = %ld, m = %ld)", c + 1, o->A * o->G, o->f_widths[c / o->G],
             o->g_widths[c % o->G]);
}

static void grid_values(const void *data, const hntk_welford *acc, double *values)
{
    cell_values(acc, ((const grid_data *)data)->r->analytic, values);
}

static fig1_grid make_grid(const grid_data *data)
{
    const fig1a_opts *o = data->o;
    const fig1a_result *r = data->r;
    fig1_grid g = {.cmd = CMD, .cells = o->A * o->G, .batch = 2, .X = r->X, .Z = r->Z, .seed = o->seed,
                   .samples = o->samples, .stop_after = o->stop_after, .sample_dim = SAMPLE_DIM,
                   .cell_dim = CELL_DIM, .center = r->analytic, .sample = fig1a_sample, .driver = data,
                   .arch = grid_arch, .label = grid_label, .values = grid_values};
    return g;
}

int hntk_cmd_fig1a(int argc, char **argv)
{
    fig1a_opts o;
    int st = parse_options(argc, argv, &o);
    if (st) return st < 0 ? CLI_EXIT_OK : st;
    double t0 = cli_now();
    hntk_h5_install_signal_cleanup();
    fig1_signals_install();

    long A = o.A, G = o.G, cells = A * G;
    int threads = hntk_mc_max_threads();
    fig1a_result r = {0};
    hntk_checkpoint *ck = NULL;
    char *config = NULL, *ckpath = NULL;

    /* Everything is checked before the first sample: the widest cell is the largest. */
    hntk_hyper_arch widest = cell_arch(&o, o.f_widths[A - 1], o.g_widths[G - 1]);
    st = fig1_check_out_dir(o.out);
    if (!st) st = hntk_hyper_arch_validate(&widest);
    if (!st) st = fig1_check_budget(fig1_thread_bytes(&widest, 2), threads, o.budget_gib);
    if (!st) st = fig1_check_streams(cells, o.samples);
    if (!st) {
        r.X = malloc(sizeof(double) * (size_t)(2 * o.x_dim));
        r.Z = malloc(sizeof(double) * (size_t)(2 * o.z_dim));
        r.mean = malloc(sizeof(double) * (size_t)cells);
        r.var = malloc(sizeof(double) * (size_t)cells);
        r.se = malloc(sizeof(double) * (size_t)cells);
        r.var_se = malloc(sizeof(double) * (size_t)cells);
        ckpath = fig1_checkpoint_path(o.out);
        if (!r.X || !r.Z || !r.mean || !r.var || !r.se || !r.var_se || !ckpath)
            st = hntk_fail(HNTK_ENOMEM, "cannot allocate the results of %ld cells", cells);
    }
    if (!st) {
        pair_inputs(o.x_angle, o.x_dim, r.X);
        pair_inputs(o.z_angle, o.z_dim, r.Z);
        double theta_h[4];
        st = hntk_limit_batch(&widest, HNTK_VARIANT_PAPER, 2, r.X, r.Z, theta_h, NULL);
        r.analytic = theta_h[1];
    }
    if (!st) st = build_config(&o, &config);
    double previous = 0.0;
    long loaded = 0;
    grid_data data = {&o, &r};
    fig1_grid grid = make_grid(&data);
    if (!st) st = fig1_run_grid(&grid, ckpath, config, o.restart, "cells", threads, &ck, &previous, &loaded);
    if (st == HNTK_EINTR) {
        hntk_checkpoint_free(ck);
        free(config);
        free(ckpath);
        result_free(&r);
        fig1_die_if_signalled();
        return FIG1_EXIT_INCOMPLETE;
    }
    if (!st) {
        for (long c = 0; c < cells; c++) {
            const double *v = hntk_checkpoint_values(ck, c);
            r.mean[c] = v[0];
            r.var[c] = v[1];
            r.se[c] = v[2];
            r.var_se[c] = v[3];
        }
        gsl_set_error_handler_off();
        fit_edges(&o, r.var, r.var_se, r.edges);
        fit_model(&o, r.var, r.var_se, &r.model);
        print_report(&o, &r);
        double wall = previous + (cli_now() - t0);
        /* Under MPI every rank holds the same cells; rank 0 writes and removes the checkpoint. */
        if (fig1_is_root()) st = write_results(&o, &r, argc, argv, wall);
        if (!st && fig1_is_root()) st = hntk_checkpoint_remove(ck);
        if (!st) fig1_print_wrote(o.out, wall, threads, loaded);
    }
    int code = st ? cli_report(CMD, st) : CLI_EXIT_OK;
    hntk_checkpoint_free(ck);
    free(config);
    free(ckpath);
    result_free(&r);
    return code;
}
