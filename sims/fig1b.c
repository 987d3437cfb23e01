/* fig1b.c: `hyperntk fig1b`: Figure 1(b) of Littwin et al. (THEORY.md section
 * 5, item 5): K^h(u,u') against theta in [-pi/2, pi/2] for one width of f and
 * a few widths of g, over independent initializations, with the limit
 * Theta^h(u,u') and, likewise, the NNGP h(u)h(u') with Lambda^H(u,u').
 * The claim: the mean follows the limit for every width of g; the spread
 * shrinks only when g is wide.
 *
 * Inputs: u = (x, z), u' = (x, z'): x = sqrt(n0) e1 in both, z = sqrt(m0) e1,
 * z' = sqrt(m0) (cos theta e1 + sin theta e2), theta_t = -pi/2 + pi t/(T-1).
 * One batch of B = T + 1 inputs (row 0 is u) gives every theta at once.
 * Cell g (g width g_widths[g]) draws the samples g*N .. g*N + N - 1 of the
 * seed and is checkpointed on completion (resume: fig1_common.h).
 * Schema: docs/file-formats.md; reading: docs/figure1.md. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "fig1_common.h"

static const char *CMD = "fig1b";

#define FIG1B_PI 3.14159265358979323846

static const long DEFAULT_G_WIDTHS[] = {10, 800};
enum { DEFAULT_F_WIDTH = 500, DEFAULT_THETAS = 41, QUICK_THETAS = 21, MAX_THETAS = 2000 };

typedef struct {
    int f_depth, g_depth;
    long f_width, x_dim, z_dim, thetas;
    long g_widths[FIG1_MAX_WIDTHS], G;
    long samples;
    uint64_t seed;
    const char *out;
    int quick, restart;
    long stop_after; /* -1: never */
    double budget_gib;
} fig1b_opts;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: hyperntk fig1b --out OUT.h5 [OPTIONS]\n"
            "Figure 1(b): K^h(u,u') against theta in [-pi/2, pi/2] over independent initializations\n"
            "for one width of f and several widths of g, with the limit Theta^h(u,u'); the NNGP\n"
            "h(u)h(u') with Lambda^H(u,u') likewise (THEORY.md section 5, item 5).\n"
            "u = (x, z), u' = (x, z'): z = sqrt(m0) e1, z' = sqrt(m0) (cos theta e1 + sin theta e2),\n"
            "x = sqrt(n0) e1 in both.\n\n"
            "  --out FILE           result file (written atomically; schema in docs/file-formats.md)\n"
            "  --f-width n          hidden width of f, 1..%ld (default 500)\n"
            "  --g-widths LIST      hidden widths of g, comma list, strictly increasing, each 1..%ld\n"
            "                       (default 10,800)\n"
            "  --f-depth L          weight layers of f, 2..%d (default 3)\n"
            "  --g-depth H          weight layers of g, 2..%d (default 2)\n"
            "  --thetas T           angles evenly on [-pi/2, pi/2], 1..%d (default 41)\n"
            "  --x-dim n0           dimension of x, 1..%ld (default 2)\n"
            "  --z-dim m0           dimension of z, 2..%ld (default 2)\n"
            "  --samples N          initializations per g width, 2..2147483647 (default 100)\n"
            "  --seed S             seed, 0..2^63-1 (default 1); g width number c uses samples\n"
            "                       c*N..c*N+N-1\n"
            "  --quick              21 angles (widths and samples as the default): seconds\n"
            "                       (options given explicitly override the preset)\n"
            "  --restart            discard OUT.h5.ckpt from an interrupted run and start over\n"
            "  --stop-after-cells K compute at most K widths of g, then stop with exit status 3,\n"
            "                       keeping the checkpoint (for batch jobs with time limits, and tests)\n"
            "  --mem-budget GiB     refuse configurations needing more memory (default 3/4 of RAM)\n"
            "  --help               this text\n\n"
            "Resuming: after each width of g the completed ones are saved atomically in OUT.h5.ckpt.\n"
            "Interrupted (Ctrl-C, SIGTERM), the same command continues from them and writes the same\n"
            "file as an uninterrupted run; the checkpoint is removed once OUT.h5 is written.\n"
            "Threads: OMP_NUM_THREADS; processes: mpirun -np K (when built with MPI).  The result is\n"
            "bit-identical for any thread and process count, also across a resumption.\n",
            HNTK_MAX_WIDTH, HNTK_MAX_WIDTH, HNTK_MAX_DEPTH, HNTK_MAX_DEPTH, MAX_THETAS, HNTK_MAX_WIDTH,
            HNTK_MAX_WIDTH);
}

enum { OPT_OUT = 256, OPT_F_WIDTH, OPT_G_WIDTHS, OPT_F_DEPTH, OPT_G_DEPTH, OPT_THETAS, OPT_X_DIM, OPT_Z_DIM,
       OPT_SAMPLES, OPT_SEED, OPT_QUICK, OPT_RESTART, OPT_STOP_AFTER, OPT_BUDGET, OPT_HELP };

static int parse_options(int argc, char **argv, fig1b_opts *o)
{
    static const struct option longopts[] = {
        {"out", required_argument, 0, OPT_OUT},           {"f-width", required_argument, 0, OPT_F_WIDTH},
        {"g-widths", required_argument, 0, OPT_G_WIDTHS}, {"f-depth", required_argument, 0, OPT_F_DEPTH},
        {"g-depth", required_argument, 0, OPT_G_DEPTH},   {"thetas", required_argument, 0, OPT_THETAS},
        {"x-dim", required_argument, 0, OPT_X_DIM},       {"z-dim", required_argument, 0, OPT_Z_DIM},
        {"samples", required_argument, 0, OPT_SAMPLES},   {"seed", required_argument, 0, OPT_SEED},
        {"quick", no_argument, 0, OPT_QUICK},             {"restart", no_argument, 0, OPT_RESTART},
        {"stop-after-cells", required_argument, 0, OPT_STOP_AFTER},
        {"mem-budget", required_argument, 0, OPT_BUDGET}, {"help", no_argument, 0, OPT_HELP},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->f_depth = 3;
    o->g_depth = 2;
    o->f_width = DEFAULT_F_WIDTH;
    o->x_dim = 2;
    o->z_dim = 2;
    o->samples = 100;
    o->seed = 1;
    o->stop_after = -1;
    o->budget_gib = (double)cli_default_budget() / 1073741824.0;
    o->G = (long)(sizeof DEFAULT_G_WIDTHS / sizeof *DEFAULT_G_WIDTHS);
    memcpy(o->g_widths, DEFAULT_G_WIDTHS, sizeof DEFAULT_G_WIDTHS);
    int given_thetas = 0;
    long v, *list, n;
    int c, st = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_OUT: o->out = optarg; break;
        case OPT_F_WIDTH: st = cli_parse_long(CMD, "f-width", optarg, 1, HNTK_MAX_WIDTH, &o->f_width); break;
        case OPT_G_WIDTHS:
            st = cli_parse_long_list(CMD, "g-widths", optarg, 1, HNTK_MAX_WIDTH, &list, &n);
            if (st) break;
            if (n > FIG1_MAX_WIDTHS) {
                free(list);
                return cli_usage_error(CMD, "--g-widths: %ld widths, accepted at most %d", n, FIG1_MAX_WIDTHS);
            }
            memcpy(o->g_widths, list, sizeof(long) * (size_t)n);
            o->G = n;
            free(list);
            st = fig1_check_increasing(CMD, "g-widths", o->g_widths, o->G);
            break;
        case OPT_F_DEPTH: st = cli_parse_long(CMD, "f-depth", optarg, 2, HNTK_MAX_DEPTH, &v); o->f_depth = (int)v; break;
        case OPT_G_DEPTH: st = cli_parse_long(CMD, "g-depth", optarg, 2, HNTK_MAX_DEPTH, &v); o->g_depth = (int)v; break;
        case OPT_THETAS: st = cli_parse_long(CMD, "thetas", optarg, 1, MAX_THETAS, &o->thetas); given_thetas = 1; break;
        case OPT_X_DIM: st = cli_parse_long(CMD, "x-dim", optarg, 1, HNTK_MAX_WIDTH, &o->x_dim); break;
        case OPT_Z_DIM: st = cli_parse_long(CMD, "z-dim", optarg, 2, HNTK_MAX_WIDTH, &o->z_dim); break;
        case OPT_SAMPLES: st = cli_parse_long(CMD, "samples", optarg, 2, 2147483647L, &o->samples); break;
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
    if (!given_thetas) o->thetas = o->quick ? QUICK_THETAS : DEFAULT_THETAS;
    return 0;
}

static hntk_hyper_arch cell_arch(const fig1b_opts *o, long m)
{
    hntk_hyper_arch a = {0};
    a.f_depth = o->f_depth;
    a.f_width = o->f_width;
    a.x_dim = o->x_dim;
    a.g_depth = o->g_depth;
    a.g_width = m;
    a.z_dim = o->z_dim;
    a.fourier_scale = 1.0;
    return a;
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
        double th = T > 1 ? -FIG1B_PI / 2 + FIG1B_PI * (double)t / (double)(T - 1) : 0.0, c = cos(th), s = sin(th);
        if (T > 1 && t == 0) { th = -FIG1B_PI / 2; c = 0.0; s = -1.0; }
        if (T > 1 && t == T - 1) { th = FIG1B_PI / 2; c = 0.0; s = 1.0; }
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
static int fig1b_sample(void *data, long sample, double *out)
{
    fig1_ctx *c = data;
    long B = c->B, T = B - 1;
    int st = hntk_net_sample_ntk_gram(c->net, c->seed, (uint32_t)sample, B, c->X, c->Z, c->gram);
    if (st) return st;
    memcpy(out, c->gram + 1, sizeof(double) * (size_t)T);
    hntk_net_nngp_gram(c->net, c->gram);
    memcpy(out + T, c->gram + 1, sizeof(double) * (size_t)T);
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

static int build_config(const fig1b_opts *o, char **out)
{
    fig1_config c;
    fig1_config_init(&c, CMD);
    fig1_config_long(&c, "format", 1);
    fig1_config_long(&c, "f_depth", o->f_depth);
    fig1_config_long(&c, "g_depth", o->g_depth);
    fig1_config_long(&c, "f_width", o->f_width);
    fig1_config_list(&c, "g_widths", o->g_widths, o->G);
    fig1_config_long(&c, "thetas", o->thetas);
    fig1_config_long(&c, "x_dim", o->x_dim);
    fig1_config_long(&c, "z_dim", o->z_dim);
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

static void print_report(const fig1b_opts *o, const fig1b_result *r)
{
    long T = o->thetas, G = o->G;
    printf("hyperntk fig1b: L=%d n=%ld H=%d, %ld angles, %ld samples per width of g, seed %llu\n", o->f_depth,
           o->f_width, o->g_depth, T, o->samples, (unsigned long long)o->seed);
    printf("K^h(u,u'): mean +- standard deviation over initializations, z = (mean - Theta^h)/stderr\n");
    printf("%8s %9s", "theta", "Theta^h");
    for (long g = 0; g < G; g++) {
        char head[48];
        snprintf(head, sizeof head, "m = %ld", o->g_widths[g]);
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
        printf("%8ld | %12.4g %12.2f | %12.4g %12.2f\n", o->g_widths[g], sqrt(s / (double)T), zmax,
               sqrt(ns / (double)T), nzmax);
    }
}

static int write_results(const fig1b_opts *o, const fig1b_result *r, int argc, char **argv, double wall)
{
    long T = o->thetas, G = o->G, B = T + 1;
    double gw[FIG1_MAX_WIDTHS];
    for (long g = 0; g < G; g++) gw[g] = (double)o->g_widths[g];
    hntk_h5 *f;
    int st = hntk_h5_create(o->out, &f);
    if (st) return st;
    long td[1] = {T}, gd[1] = {G}, gt[2] = {G, T}, xd[2] = {B, o->x_dim}, zd[2] = {B, o->z_dim};
    st = hntk_h5_write(f, "theta", 1, td, r->theta);
    if (!st) st = hntk_h5_write(f, "g_widths", 1, gd, gw);
    if (!st) st = hntk_h5_write(f, "mean", 2, gt, r->mean);
    if (!st) st = hntk_h5_write(f, "var", 2, gt, r->var);
    if (!st) st = hntk_h5_write(f, "stderr", 2, gt, r->se);
    if (!st) st = hntk_h5_write(f, "analytic", 1, td, r->analytic);
    if (!st) st = hntk_h5_write(f, "nngp_mean", 2, gt, r->nmean);
    if (!st) st = hntk_h5_write(f, "nngp_var", 2, gt, r->nvar);
    if (!st) st = hntk_h5_write(f, "nngp_stderr", 2, gt, r->nse);
    if (!st) st = hntk_h5_write(f, "nngp_analytic", 1, td, r->nngp_analytic);
    if (!st) st = hntk_h5_write(f, "/inputs/x", 2, xd, r->X);
    if (!st) st = hntk_h5_write(f, "/inputs/z", 2, zd, r->Z);
    if (!st) st = hntk_h5_attr_long(f, "/", "f_depth", o->f_depth);
    if (!st) st = hntk_h5_attr_long(f, "/", "g_depth", o->g_depth);
    if (!st) st = hntk_h5_attr_long(f, "/", "f_width", o->f_width);
    if (!st) st = hntk_h5_attr_long(f, "/", "thetas", o->thetas);
    if (!st) st = hntk_h5_attr_long(f, "/", "x_dim", o->x_dim);
    if (!st) st = hntk_h5_attr_long(f, "/", "z_dim", o->z_dim);
    if (!st) st = hntk_h5_attr_long(f, "/", "samples", o->samples);
    if (!st) st = hntk_h5_attr_long(f, "/", "seed", (long)o->seed);
    if (!st) st = hntk_h5_attr_string(f, "/", "preset", o->quick ? "quick" : "default");
    if (!st) st = hntk_h5_attr_string(f, "/", "variant", hntk_variant_name(HNTK_VARIANT_PAPER));
    if (!st) st = cli_write_provenance(f, CMD, argc, argv, wall);
    if (st) {
        hntk_h5_abort(f);
        return st;
    }
    return hntk_h5_commit(f);
}

/* ---- the grid: cell g is the g-th width of g ---- */

static hntk_hyper_arch grid_arch(const void *data, long g)
{
    const fig1b_opts *o = data;
    return cell_arch(o, o->g_widths[g]);
}

static void grid_label(const void *data, long g, char *buf, size_t cap)
{
    const fig1b_opts *o = data;
    snprintf(buf, cap, "width %ld/%ld (m = %ld)", g + 1, o->G, o->g_widths[g]);
}

/* cell values: [mean (2T) | var (2T) | stderr (2T)], each [K^h (T) | NNGP (T)] */
static void grid_values(const void *data, const hntk_welford *acc, double *values)
{
    (void)data;
    long dim = acc->dim;
    memcpy(values, acc->mean, sizeof(double) * (size_t)dim);
    hntk_welford_finish(acc, values + dim, values + 2 * dim);
}

static fig1_grid make_grid(const fig1b_opts *o, const fig1b_result *r)
{
    long T = o->thetas, dim = 2 * T;
    fig1_grid g = {.cmd = CMD, .cells = o->G, .batch = T + 1, .X = r->X, .Z = r->Z, .seed = o->seed,
                   .samples = o->samples, .stop_after = o->stop_after, .sample_dim = dim, .cell_dim = 3 * dim,
                   .sample = fig1b_sample, .driver = o, .arch = grid_arch, .label = grid_label,
                   .values = grid_values};
    return g;
}

int hntk_cmd_fig1b(int argc, char **argv)
{
    fig1b_opts o;
    int st = parse_options(argc, argv, &o);
    if (st) return st < 0 ? CLI_EXIT_OK : st;
    double t0 = cli_now();
    hntk_h5_install_signal_cleanup();
    fig1_signals_install();

    long T = o.thetas, B = T + 1, G = o.G, dim = 2 * T;
    int threads = hntk_mc_max_threads();
    fig1b_result r = {0};
    hntk_checkpoint *ck = NULL;
    char *config = NULL, *ckpath = NULL;

    hntk_hyper_arch widest = cell_arch(&o, o.g_widths[G - 1]);
    st = fig1_check_out_dir(o.out);
    if (!st) st = hntk_hyper_arch_validate(&widest);
    if (!st) st = fig1_check_budget(fig1_thread_bytes(&widest, B), threads, o.budget_gib);
    if (!st) st = fig1_check_streams(G, o.samples);
    if (!st) st = result_alloc(&o, &r);
    if (!st) {
        ckpath = fig1_checkpoint_path(o.out);
        if (!ckpath) st = hntk_fail(HNTK_ENOMEM, "cannot allocate the checkpoint path");
    }
    if (!st) {
        circle_inputs(&o, r.theta, r.X, r.Z);
        limits(&o, &r);
        st = build_config(&o, &config);
    }
    double previous = 0.0;
    long loaded = 0;
    fig1_grid grid = make_grid(&o, &r);
    if (!st) st = fig1_run_grid(&grid, ckpath, config, o.restart, "widths of g", threads, &ck, &previous, &loaded);
    if (st == HNTK_EINTR) {
        hntk_checkpoint_free(ck);
        free(config);
        free(ckpath);
        result_free(&r);
        fig1_die_if_signalled();
        return FIG1_EXIT_INCOMPLETE;
    }
    if (!st) {
        for (long g = 0; g < G; g++) {
            const double *v = hntk_checkpoint_values(ck, g);
            size_t row = sizeof(double) * (size_t)T;
            memcpy(r.mean + g * T, v, row);
            memcpy(r.nmean + g * T, v + T, row);
            memcpy(r.var + g * T, v + dim, row);
            memcpy(r.nvar + g * T, v + dim + T, row);
            memcpy(r.se + g * T, v + 2 * dim, row);
            memcpy(r.nse + g * T, v + 2 * dim + T, row);
        }
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
