/* thm1.c: `hyperntk thm1`: Theorem 1 (and Lemma 3 for plain MLPs): how the
 * higher-order terms K^(r)(u, u') = r! [t^r] h(u; w + t grad_w h(u')) scale with
 * the width n of f at a fixed g (THEORY.md sections 2 and 5.1).
 *
 * For every configuration (L, H) and every width n, `samples` independent
 * initializations give K^(r) for r = 1..R (exact Taylor mode, taylor.h).  Per
 * (configuration, width, r): median of |K^(r)| and RMS with bootstrap 95%
 * intervals, quantiles of the rescaled n^{-p} K^(r) (p the predicted exponent).
 * Per (configuration, r): log-log slope of the median over the widest widths with
 * a bootstrap interval, local slopes, the prediction min(0, H - r), a verdict, and
 * a two-sample KS distance of the rescaled variable between the two widest widths.
 * Schema: docs/file-formats.md; method and reading: docs/thm1.md. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_fit.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli.h"
#include "commands.h"

static const char *CMD = "thm1";

#define THM1_PI 3.14159265358979323846

enum { MAX_CONFIGS = 32, MAX_WIDTHS = 40, N_QUANT = 5, BATCH = 2, TENSOR_BOOTSTRAP = 3000 };
static const double QUANT_LEVELS[N_QUANT] = {0.05, 0.25, 0.5, 0.75, 0.95};

/* Verdict codes (dataset `verdict`). */
enum { V_NONZERO_ABOVE_DEGREE = -2, V_DISAGREES = -1, V_UNDECIDED = 0, V_AGREES = 1, V_EXACT_ZERO = 2 };

static const char *verdict_name(int v)
{
    switch (v) {
    case V_NONZERO_ABOVE_DEGREE: return "ERROR: nonzero above L*H";
    case V_DISAGREES: return "DISAGREES";
    case V_UNDECIDED: return "undecided";
    case V_AGREES: return "agrees";
    case V_EXACT_ZERO: return "exact 0 (r > L*H)";
    }
    return "?";
}

typedef struct {
    int L, H, mlp; /* mlp: plain MLP of depth L (g_depth 1, z = 1): Lemma 3 */
    char name[32]; /* group name: L3_H2 or MLP_L3 */
} thm1_config;

typedef struct {
    const char *preset;
    thm1_config cfg[MAX_CONFIGS];
    int n_cfg;
    long widths[MAX_WIDTHS];
    int n_widths;
    long samples;    /* per width, configurations with L >= 3 (a sample costs O(n^2)) */
    long samples_l2; /* per width, configurations with L = 2 (a sample costs O(n)) */
    long g_width, x_dim, z_dim, bootstrap, fit_widths;
    int R;
    uint64_t seed;
    int pair_diag;
    double angle, decide_width, budget_gib;
    const char *out, *export_dir, *from;
    int bench;
    double bench_seconds;
} thm1_opts;

/* ------------------------------------------------------------------ presets */

typedef struct {
    const char *name, *configs, *mlp_configs, *widths;
    long samples, samples_l2, bootstrap, fit_widths;
    int R;
} thm1_preset;

/* Sample counts: a sample of f with L >= 3 draws and reads n x n matrices, one with
 * L = 2 only P x n, so L = 2 gets more samples for the same time. */
static const thm1_preset PRESETS[] = {
    {"quick", "L2_H1,L2_H2,L3_H2", "MLP_L2,MLP_L3", "32,64,128,256,512", 400, 1000, 300, 4, 4},
    {"default", "L2_H1,L2_H2,L2_H3,L3_H1,L3_H2,L3_H3", "MLP_L2,MLP_L3,MLP_L4", "64,128,256,512,1024,2048,4096", 1500,
     4000, 1000, 5, 6},
    {"paper", "L2_H1,L2_H2,L2_H3,L3_H1,L3_H2,L3_H3,L4_H2", "MLP_L2,MLP_L3,MLP_L4,MLP_L5",
     "64,128,256,512,1024,2048,4096,8192", 4000, 10000, 2000, 5, 8},
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: hyperntk thm1 --out OUT.h5 [--quick | --paper] [--mlp] [OPTIONS]\n"
            "Theorem 1: the higher-order terms K^(r)(u,u') = r! [t^r] h(u; w + t grad h(u')) scale\n"
            "like n^{min(0, H - r)} in the width n of f at fixed g (Lemma 3 for a plain MLP:\n"
            "n^{-max(r-1, 0)}); K^(r) = 0 exactly for r > L*H.  Exact Taylor mode, no finite\n"
            "differences.  The verdict uses the median of |K^(r)| (heavy tails make the RMS\n"
            "unreliable; it is shown for information).\n\n"
            "Presets (explicit options override them):\n"
            "  (default)          %s; n = %s;\n"
            "                     %ld samples per width (%ld when L = 2), R = %d, fit over the %ld widest\n"
            "  --quick            CI-sized: %s; n = %s; %ld (%ld) samples\n"
            "  --paper            %s; n = %s; %ld (%ld) samples\n"
            "  --mlp              plain MLPs instead (Lemma 3): %s (default preset)\n\n"
            "Options:\n"
            "  --out FILE         result file (written atomically; schema in docs/file-formats.md)\n"
            "  --configs LIST     comma list of L<d>_H<d> (hypernetwork) or MLP_L<d>, L >= 2\n"
            "  --widths LIST      increasing f widths, at least 2, each 1..%ld\n"
            "  --samples N        initializations per width, 10..100000000 (every configuration)\n"
            "  --samples-l2 N     initializations per width for L = 2 only, 10..100000000\n"
            "  --orders R         orders r = 1..R, 1..%d (default 6 or the preset's)\n"
            "  --g-width m        hidden width of g, 1..%ld (default 8)\n"
            "  --x-dim n0         input dimension of f, 2..%ld (default 3)\n"
            "  --z-dim m0         input dimension of g, 2..%ld (default 3; MLPs use z = 1)\n"
            "  --angle A          angle between x and x' and between z and z', 0..pi (default pi/3)\n"
            "  --pair P           off: K^(r)(u, u') (default); diag: K^(r)(u', u')\n"
            "  --fit-widths K     fit the slope over the K widest widths, 2..#widths\n"
            "  --bootstrap NB     bootstrap replicates, 100..1000000\n"
            "  --decide D         a slope interval wider than D decides nothing, 0.01..10 (default 0.5:\n"
            "                     narrower, it cannot contain two neighbouring integer exponents)\n"
            "  --seed S           seed, 0..2^63-1 (default 1)\n"
            "  --export-dir DIR   also write whitespace-column files for plots/thm1.gp\n"
            "  --from FILE        with --export-dir: read an existing result file instead of running\n"
            "                     (every dataset's shape is checked) and write its columns\n"
            "  --bench            measure the cost of all R orders for one pair against one\n"
            "                     forward + backward pass at the widest width; no result file\n"
            "  --bench-seconds T  minimum time per measurement, 0.01..60 (default 0.3)\n"
            "  --mem-budget GiB   refuse configurations needing more memory (default 3/4 of RAM)\n"
            "  --help             this text\n\n"
            "Threads: OMP_NUM_THREADS.  The result is bit-identical for any thread count.\n",
            PRESETS[1].configs, PRESETS[1].widths, PRESETS[1].samples, PRESETS[1].samples_l2, PRESETS[1].R,
            PRESETS[1].fit_widths, PRESETS[0].configs, PRESETS[0].widths, PRESETS[0].samples, PRESETS[0].samples_l2,
            PRESETS[2].configs, PRESETS[2].widths, PRESETS[2].samples, PRESETS[2].samples_l2, PRESETS[1].mlp_configs, HNTK_MAX_WIDTH, HNTK_TAYLOR_MAX_ORDER, HNTK_MAX_WIDTH,
            HNTK_MAX_WIDTH, HNTK_MAX_WIDTH);
}

/* "L3_H2" or "MLP_L4" (case-sensitive). */
static int parse_configs(const char *text, thm1_opts *o)
{
    char *copy = strdup(text), *save = NULL;
    if (!copy) return cli_usage_error(CMD, "out of memory");
    o->n_cfg = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        thm1_config c = {0};
        int L = 0, H = 0, used = 0;
        if (sscanf(tok, "MLP_L%d%n", &L, &used) == 1 && tok[used] == '\0') {
            c.mlp = 1;
            H = 1;
        } else if (!(sscanf(tok, "L%d_H%d%n", &L, &H, &used) == 2 && tok[used] == '\0')) {
            int st = cli_usage_error(CMD, "--configs: '%s' is not L<depth>_H<depth> or MLP_L<depth>", tok);
            free(copy);
            return st;
        }
        if (L < 2 || L > HNTK_MAX_DEPTH || H < 1 || H > HNTK_MAX_DEPTH) {
            int st = cli_usage_error(CMD,
                                     "--configs: '%s': L = %d must be in 2..%d (with L = 1 f has no hidden width) "
                                     "and H = %d in 1..%d",
                                     tok, L, HNTK_MAX_DEPTH, H, HNTK_MAX_DEPTH);
            free(copy);
            return st;
        }
        if (o->n_cfg == MAX_CONFIGS) {
            free(copy);
            return cli_usage_error(CMD, "--configs: more than %d configurations", MAX_CONFIGS);
        }
        c.L = L;
        c.H = H;
        if (c.mlp) snprintf(c.name, sizeof c.name, "MLP_L%d", L);
        else snprintf(c.name, sizeof c.name, "L%d_H%d", L, H);
        for (int k = 0; k < o->n_cfg; k++)
            if (!strcmp(o->cfg[k].name, c.name)) {
                free(copy);
                return cli_usage_error(CMD, "--configs: '%s' is listed twice", c.name);
            }
        o->cfg[o->n_cfg++] = c;
    }
    free(copy);
    if (o->n_cfg == 0) return cli_usage_error(CMD, "--configs: empty list");
    return 0;
}

static int parse_widths(const char *text, thm1_opts *o)
{
    long *v, count;
    int st = cli_parse_long_list(CMD, "widths", text, 1, HNTK_MAX_WIDTH, &v, &count);
    if (st) return st;
    if (count < 2 || count > MAX_WIDTHS) {
        free(v);
        return cli_usage_error(CMD, "--widths: %ld widths given, accepted 2..%d", count, MAX_WIDTHS);
    }
    for (long k = 1; k < count; k++)
        if (v[k] <= v[k - 1]) {
            long a = v[k - 1], b = v[k];
            free(v);
            return cli_usage_error(CMD, "--widths: %ld after %ld: widths must increase", b, a);
        }
    for (long k = 0; k < count; k++) o->widths[k] = v[k];
    o->n_widths = (int)count;
    free(v);
    return 0;
}

enum { OPT_OUT = 256, OPT_QUICK, OPT_PAPER, OPT_MLP, OPT_CONFIGS, OPT_WIDTHS, OPT_SAMPLES, OPT_ORDERS, OPT_G_WIDTH,
       OPT_X_DIM, OPT_Z_DIM, OPT_ANGLE, OPT_PAIR, OPT_FIT, OPT_BOOT, OPT_DECIDE, OPT_SEED, OPT_EXPORT, OPT_BENCH,
       OPT_BENCH_SECONDS, OPT_BUDGET, OPT_FROM, OPT_SAMPLES_L2, OPT_HELP };

static const struct option LONGOPTS[] = {
    {"out", required_argument, 0, OPT_OUT},          {"quick", no_argument, 0, OPT_QUICK},
    {"paper", no_argument, 0, OPT_PAPER},            {"mlp", no_argument, 0, OPT_MLP},
    {"configs", required_argument, 0, OPT_CONFIGS},  {"widths", required_argument, 0, OPT_WIDTHS},
    {"samples", required_argument, 0, OPT_SAMPLES},  {"orders", required_argument, 0, OPT_ORDERS},
    {"g-width", required_argument, 0, OPT_G_WIDTH},  {"x-dim", required_argument, 0, OPT_X_DIM},
    {"z-dim", required_argument, 0, OPT_Z_DIM},      {"angle", required_argument, 0, OPT_ANGLE},
    {"pair", required_argument, 0, OPT_PAIR},        {"fit-widths", required_argument, 0, OPT_FIT},
    {"bootstrap", required_argument, 0, OPT_BOOT},   {"decide", required_argument, 0, OPT_DECIDE},
    {"seed", required_argument, 0, OPT_SEED},        {"export-dir", required_argument, 0, OPT_EXPORT},
    {"bench", no_argument, 0, OPT_BENCH},            {"bench-seconds", required_argument, 0, OPT_BENCH_SECONDS},
    {"mem-budget", required_argument, 0, OPT_BUDGET}, {"from", required_argument, 0, OPT_FROM},
    {"samples-l2", required_argument, 0, OPT_SAMPLES_L2}, {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0}};

/* Two passes: the first picks the preset (and --mlp, --help), the second applies
 * every other option on top of it, whatever the order on the command line. */
static int parse_options(int argc, char **argv, thm1_opts *o)
{
    int c, preset = 1, mlp = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", LONGOPTS, NULL)) != -1) {
        if (c == OPT_HELP) {
            usage(stdout);
            return -1;
        }
        if (c == OPT_QUICK || c == OPT_PAPER) {
            int p = c == OPT_QUICK ? 0 : 2;
            if (preset != 1 && preset != p) return cli_usage_error(CMD, "--quick and --paper exclude each other");
            preset = p;
        }
        if (c == OPT_MLP) mlp = 1;
        if (c == '?' || c == ':') return cli_usage_error(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);

    const thm1_preset *p = &PRESETS[preset];
    memset(o, 0, sizeof *o);
    o->preset = p->name;
    o->samples = p->samples;
    o->samples_l2 = p->samples_l2;
    o->bootstrap = p->bootstrap;
    o->fit_widths = p->fit_widths;
    o->R = p->R;
    o->g_width = 8;
    o->x_dim = 3;
    o->z_dim = 3;
    o->angle = THM1_PI / 3.0;
    o->decide_width = 0.5;
    o->seed = 1;
    o->bench_seconds = 0.3;
    o->budget_gib = (double)cli_default_budget() / 1073741824.0;
    int st = parse_configs(mlp ? p->mlp_configs : p->configs, o);
    if (!st) st = parse_widths(p->widths, o);
    if (st) return st;

    long v, samples_all = 0, samples_l2 = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", LONGOPTS, NULL)) != -1) {
        switch (c) {
        case OPT_OUT: o->out = optarg; break;
        case OPT_QUICK: case OPT_PAPER: case OPT_MLP: break;
        case OPT_CONFIGS: st = parse_configs(optarg, o); break;
        case OPT_WIDTHS: st = parse_widths(optarg, o); break;
        case OPT_SAMPLES: st = cli_parse_long(CMD, "samples", optarg, 10, 100000000L, &samples_all); break;
        case OPT_SAMPLES_L2: st = cli_parse_long(CMD, "samples-l2", optarg, 10, 100000000L, &samples_l2); break;
        case OPT_ORDERS: st = cli_parse_long(CMD, "orders", optarg, 1, HNTK_TAYLOR_MAX_ORDER, &v); o->R = (int)v; break;
        case OPT_G_WIDTH: st = cli_parse_long(CMD, "g-width", optarg, 1, HNTK_MAX_WIDTH, &o->g_width); break;
        case OPT_X_DIM: st = cli_parse_long(CMD, "x-dim", optarg, 2, HNTK_MAX_WIDTH, &o->x_dim); break;
        case OPT_Z_DIM: st = cli_parse_long(CMD, "z-dim", optarg, 2, HNTK_MAX_WIDTH, &o->z_dim); break;
        case OPT_ANGLE: st = cli_parse_double(CMD, "angle", optarg, 0.0, THM1_PI, &o->angle); break;
        case OPT_PAIR:
            if (!strcmp(optarg, "off")) o->pair_diag = 0;
            else if (!strcmp(optarg, "diag")) o->pair_diag = 1;
            else return cli_usage_error(CMD, "--pair: '%s' is not one of: off, diag", optarg);
            break;
        case OPT_FIT: st = cli_parse_long(CMD, "fit-widths", optarg, 2, MAX_WIDTHS, &o->fit_widths); break;
        case OPT_BOOT: st = cli_parse_long(CMD, "bootstrap", optarg, 100, 1000000, &o->bootstrap); break;
        case OPT_DECIDE: st = cli_parse_double(CMD, "decide", optarg, 0.01, 10.0, &o->decide_width); break;
        case OPT_SEED: st = cli_parse_seed(CMD, optarg, &o->seed); break;
        case OPT_EXPORT: o->export_dir = optarg; break;
        case OPT_FROM: o->from = optarg; break;
        case OPT_BENCH: o->bench = 1; break;
        case OPT_BENCH_SECONDS: st = cli_parse_double(CMD, "bench-seconds", optarg, 0.01, 60.0, &o->bench_seconds); break;
        case OPT_BUDGET: st = cli_parse_double(CMD, "mem-budget", optarg, 1e-6, 1e6, &o->budget_gib); break;
        default: break;
        }
        if (st) return st;
    }
    if (samples_all) o->samples = o->samples_l2 = samples_all;
    if (samples_l2) o->samples_l2 = samples_l2;
    if (o->from && !o->export_dir) return cli_usage_error(CMD, "--from FILE needs --export-dir DIR");
    if (o->from && (o->bench || o->out)) return cli_usage_error(CMD, "--from reads a result: it takes neither --out nor --bench");
    if (o->from) return 0;
    if (!o->bench && o->fit_widths > o->n_widths)
        return cli_usage_error(CMD, "--fit-widths: %ld is more than the %d widths (accepted 2..%d)", o->fit_widths,
                               o->n_widths, o->n_widths);
    if (!o->bench && !o->out) return cli_usage_error(CMD, "--out FILE is required");
    return 0;
}

/* ------------------------------------------------------------------ set-up */

static hntk_hyper_arch config_arch(const thm1_opts *o, const thm1_config *c, long n)
{
    if (c->mlp) return hntk_mlp_arch(c->L, n, o->x_dim);
    hntk_hyper_arch a = {0};
    a.f_depth = c->L;
    a.f_width = n;
    a.x_dim = o->x_dim;
    a.g_depth = c->H;
    a.g_width = o->g_width;
    a.z_dim = o->z_dim;
    return a;
}

/* u = (x, z), u' = (x', z'): |x|^2 = n_0, |z|^2 = m_0, both pairs at angle A
 * (x = sqrt(n_0) e_1, x' = sqrt(n_0) (cos A e_1 + sin A e_2), z likewise; MLP: z = 1). */
static void make_inputs(const thm1_opts *o, const thm1_config *c, double *X, double *Z)
{
    long xd = o->x_dim, zd = c->mlp ? 1 : o->z_dim;
    memset(X, 0, sizeof(double) * (size_t)(BATCH * xd));
    memset(Z, 0, sizeof(double) * (size_t)(BATCH * zd));
    double sx = sqrt((double)xd), sz = sqrt((double)zd);
    X[0] = sx;
    X[xd] = sx * cos(o->angle);
    X[xd + 1] = sx * sin(o->angle);
    if (c->mlp) {
        Z[0] = Z[1] = 1.0;
    } else {
        Z[0] = sz;
        Z[zd] = sz * cos(o->angle);
        Z[zd + 1] = sz * sin(o->angle);
    }
}

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Key of the weight streams of (configuration, width): sample s of it uses the
 * streams (key, s, layer, row).  Width n = 0 gives the bootstrap key. */
static uint64_t stream_key(uint64_t seed, const thm1_config *c, long n)
{
    uint64_t code = ((uint64_t)c->mlp << 56) | ((uint64_t)c->L << 48) | ((uint64_t)c->H << 40) | (uint64_t)n;
    return mix64(seed ^ mix64(code));
}

static double predicted_exponent(const thm1_config *c, int r)
{
    /* Theorem 1: n^{H - r} for r > H, n^0 otherwise; an MLP is H = 1 (Lemma 3: -max(r-1, 0)). */
    int H = c->mlp ? 1 : c->H;
    return r > H ? (double)(H - r) : 0.0;
}

/* ------------------------------------------------------------------ sampling */

typedef struct {
    hntk_net *net;
    hntk_taylor_ws *ws;
    const double *X, *Z;
    uint64_t key;
    int R;
    long pair_i;     /* row of K: 0 = K(u, u'), 1 = K(u', u') */
    double K[BATCH * HNTK_TAYLOR_MAX_ORDER];
} sample_ctx;

static int thm1_sample(void *data, long sample, double *out)
{
    sample_ctx *c = data;
    hntk_net_sample_weights(c->net, c->key, (uint32_t)sample);
    int st = hntk_taylor_kernels(c->net, c->ws, BATCH, c->X, c->Z, 1, c->K);
    if (st) return st;
    memcpy(out, c->K + c->pair_i * c->R, sizeof(double) * (size_t)c->R);
    return HNTK_OK;
}

/* The engine's collect callback: sees every sample, in order, on every MPI rank
 * (a sample computed on another rank included), so the medians and the bootstrap
 * below see all N samples whatever the number of ranks. */
typedef struct {
    double *store; /* (N, R) */
    int R;
} sample_store;

static void store_sample(void *data, long sample, const double *k)
{
    sample_store *s = data;
    memcpy(s->store + (size_t)sample * (size_t)s->R, k, sizeof(double) * (size_t)s->R);
}

typedef struct {
    int threads;
    sample_ctx *ctx;
    void **ptrs;
} thread_set;

static void threads_free(thread_set *t)
{
    if (t->ctx)
        for (int k = 0; k < t->threads; k++) {
            hntk_net_free(t->ctx[k].net);
            hntk_taylor_ws_free(t->ctx[k].ws);
        }
    free(t->ctx);
    free(t->ptrs);
    memset(t, 0, sizeof *t);
}

/* One network and one Taylor workspace per thread, after checking the total. */
static int threads_alloc(const thm1_opts *o, const hntk_hyper_arch *a, int threads, thread_set *t)
{
    memset(t, 0, sizeof *t);
    int st = hntk_hyper_arch_validate(a);
    if (st) return st;
    size_t budget = (size_t)(o->budget_gib * 1073741824.0);
    size_t per = hntk_net_bytes(a, BATCH) + hntk_taylor_ws_bytes(a, BATCH, o->R);
    if (per * (size_t)threads > budget)
        return hntk_fail(HNTK_EBUDGET,
                         "f width %ld: %d thread workspaces of %.3g GiB need %.3g GiB, over the memory budget of "
                         "%.3g GiB (--mem-budget; or fewer --widths / OMP_NUM_THREADS)",
                         a->f_width, threads, per / 1073741824.0, per * (double)threads / 1073741824.0,
                         o->budget_gib);
    t->threads = threads;
    t->ctx = calloc((size_t)threads, sizeof *t->ctx);
    t->ptrs = calloc((size_t)threads, sizeof *t->ptrs);
    if (!t->ctx || !t->ptrs) return hntk_fail(HNTK_ENOMEM, "cannot allocate thread contexts");
    for (int k = 0; k < threads; k++) {
        if ((st = hntk_net_alloc(a, BATCH, 0, &t->ctx[k].net))) return st;
        if ((st = hntk_taylor_ws_alloc(a, BATCH, o->R, 0, &t->ctx[k].ws))) return st;
        t->ptrs[k] = &t->ctx[k];
    }
    return HNTK_OK;
}

/* ------------------------------------------------------------------ statistics */

typedef struct {
    thm1_config cfg;
    int W, R;
    long N;
    double *k;                      /* (W, N, R) K^(r) of every sample */
    double *mean, *mean_se;         /* (W, R) signed mean and its standard error */
    double *median, *median_ci;     /* (W, R), (W, R, 2): median of |K^(r)| */
    double *rms, *rms_ci;           /* (W, R), (W, R, 2) */
    double *quant;                  /* (W, R, N_QUANT): quantiles of n^{-p} K^(r) */
    double *slope, *slope_ci;       /* (R), (R, 2): median-based */
    double *rms_slope, *rms_slope_ci;
    double *pred, *local;           /* (R), (W-1, R) */
    double *ks, *ks_p;              /* (R) */
    double *verdict;                /* (R) codes */
    double widths[MAX_WIDTHS];
    double seconds;
} cfg_result;

static void result_free(cfg_result *r)
{
    free(r->k);
    free(r->mean);
    memset(r, 0, sizeof *r);
}

static int result_alloc(cfg_result *res, const thm1_config *c, int W, int R, long N)
{
    memset(res, 0, sizeof *res);
    res->cfg = *c;
    res->W = W;
    res->R = R;
    res->N = N;
    size_t WR = (size_t)W * (size_t)R;
    size_t total = 2 * WR + 3 * WR + 3 * WR + WR * N_QUANT + 3 * (size_t)R * 3 + (size_t)R + (size_t)(W - 1) * R +
                   3 * (size_t)R;
    res->k = malloc(sizeof(double) * WR * (size_t)N);
    res->mean = malloc(sizeof(double) * total);
    if (!res->k || !res->mean) {
        free(res->k);
        free(res->mean);
        return hntk_fail(HNTK_ENOMEM, "cannot store %ld samples x %d widths x %d orders", N, W, R);
    }
    double *p = res->mean + WR;
    res->mean_se = p; p += WR;
    res->median = p; p += WR;
    res->median_ci = p; p += 2 * WR;
    res->rms = p; p += WR;
    res->rms_ci = p; p += 2 * WR;
    res->quant = p; p += WR * N_QUANT;
    res->slope = p; p += R;
    res->slope_ci = p; p += 2 * (size_t)R;
    res->rms_slope = p; p += R;
    res->rms_slope_ci = p; p += 2 * (size_t)R;
    res->pred = p; p += R;
    res->local = p; p += (size_t)(W - 1) * R;
    res->ks = p; p += R;
    res->ks_p = p; p += R;
    res->verdict = p;
    return HNTK_OK;
}

/* Median of |K^(r)| and RMS over the N samples of one width (rows idx[s], or s). */
static void width_stats(const double *k, long N, int R, int r, const long *idx, double *scratch, double *median,
                        double *rms)
{
    double ss = 0.0;
    for (long s = 0; s < N; s++) {
        double v = k[(size_t)(idx ? idx[s] : s) * (size_t)R + (size_t)r];
        scratch[s] = fabs(v);
        ss += v * v;
    }
    *rms = sqrt(ss / (double)N);
    *median = gsl_stats_median(scratch, 1, (size_t)N); /* reorders scratch */
}

/* Least-squares slope of log y against log x over the last F points; NaN if any y <= 0. */
static double loglog_slope(const double *x, const double *y, int W, int F, size_t stride)
{
    double lx[MAX_WIDTHS], ly[MAX_WIDTHS];
    for (int k = 0; k < F; k++) {
        int w = W - F + k;
        double v = y[(size_t)w * stride];
        if (!(v > 0.0) || !isfinite(v)) return NAN;
        lx[k] = log(x[w]);
        ly[k] = log(v);
    }
    double c0, c1, cov00, cov01, cov11, sumsq;
    gsl_fit_linear(lx, 1, ly, 1, (size_t)F, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
    return c1;
}

/* 2.5% and 97.5% percentiles of the finite values among v[0..n) (sorted in place);
 * NaN when more than 5% of them are not finite. */
static void percentile_ci(double *v, long n, double *ci)
{
    long m = 0;
    for (long k = 0; k < n; k++)
        if (isfinite(v[k])) v[m++] = v[k];
    if (m < 0.95 * (double)n || m < 2) {
        ci[0] = ci[1] = NAN;
        return;
    }
    gsl_sort(v, 1, (size_t)m);
    ci[0] = gsl_stats_quantile_from_sorted_data(v, 1, (size_t)m, 0.025);
    ci[1] = gsl_stats_quantile_from_sorted_data(v, 1, (size_t)m, 0.975);
}

/* Two-sample Kolmogorov-Smirnov distance of sorted a (na) and b (nb), and its
 * asymptotic p-value (Kolmogorov distribution with the Stephens correction). */
static double ks_distance(const double *a, long na, const double *b, long nb, double *pvalue)
{
    long i = 0, j = 0;
    double d = 0.0;
    while (i < na && j < nb) {
        double v = a[i] < b[j] ? a[i] : b[j];
        while (i < na && a[i] <= v) i++;
        while (j < nb && b[j] <= v) j++;
        double diff = fabs((double)i / (double)na - (double)j / (double)nb);
        if (diff > d) d = diff;
    }
    double ne = (double)na * (double)nb / (double)(na + nb), sq = sqrt(ne);
    double lambda = (sq + 0.12 + 0.11 / sq) * d, p = 0.0;
    if (lambda < 0.2) {
        p = 1.0;
    } else {
        for (int k = 1; k <= 100; k++) {
            double term = exp(-2.0 * k * k * lambda * lambda);
            p += (k % 2 ? 2.0 : -2.0) * term;
            if (term < 1e-16) break;
        }
        p = p < 0 ? 0 : p > 1 ? 1 : p;
    }
    *pvalue = p;
    return d;
}

/* Everything after the sampling of one configuration. */
static int analyse(const thm1_opts *o, cfg_result *res)
{
    int W = res->W, R = res->R, F = (int)o->fit_widths;
    long N = res->N, NB = o->bootstrap;
    const thm1_config *c = &res->cfg;
    long degree = (long)c->L * (long)(c->mlp ? 1 : c->H);
    int threads = hntk_mc_max_threads();
    size_t WR = (size_t)W * (size_t)R;

    double *bmed = malloc(sizeof(double) * (size_t)NB * WR), *brms = malloc(sizeof(double) * (size_t)NB * WR);
    double *scratch = malloc(sizeof(double) * (size_t)threads * (size_t)N);
    long *idx = malloc(sizeof(long) * (size_t)threads * (size_t)N);
    double *col = malloc(sizeof(double) * (size_t)(NB > 2 * N ? NB : 2 * N));
    if (!bmed || !brms || !scratch || !idx || !col) {
        free(bmed); free(brms); free(scratch); free(idx); free(col);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate %ld bootstrap replicates", NB);
    }

    /* point estimates */
    for (int w = 0; w < W; w++)
        for (int r = 0; r < R; r++)
            width_stats(res->k + (size_t)w * (size_t)N * (size_t)R, N, R, r, NULL, scratch,
                        &res->median[w * R + r], &res->rms[w * R + r]);

    /* bootstrap: replicate b resamples every width independently, with indices from
     * the counter-based stream (bootstrap key, b, TENSOR_BOOTSTRAP, width index), so
     * the intervals do not depend on the thread count. */
    uint64_t bkey = stream_key(o->seed, c, 0);
#pragma omp parallel for schedule(dynamic, 4) num_threads(threads)
    for (long b = 0; b < NB; b++) {
#ifdef _OPENMP
        int t = omp_get_thread_num();
#else
        int t = 0;
#endif
        double *sc = scratch + (size_t)t * (size_t)N;
        long *ix = idx + (size_t)t * (size_t)N;
        for (int w = 0; w < W; w++) {
            hntk_stream s;
            hntk_stream_init(&s, bkey, (uint32_t)b, TENSOR_BOOTSTRAP, (uint32_t)w);
            hntk_stream_uniforms(&s, sc, (size_t)N);
            for (long q = 0; q < N; q++) {
                long v = (long)(sc[q] * (double)N);
                ix[q] = v < N ? v : N - 1;
            }
            for (int r = 0; r < R; r++)
                width_stats(res->k + (size_t)w * (size_t)N * (size_t)R, N, R, r, ix, sc,
                            &bmed[(size_t)b * WR + (size_t)w * R + r], &brms[(size_t)b * WR + (size_t)w * R + r]);
        }
    }

    for (int w = 0; w < W; w++)
        for (int r = 0; r < R; r++) {
            for (long b = 0; b < NB; b++) col[b] = bmed[(size_t)b * WR + (size_t)w * R + r];
            percentile_ci(col, NB, &res->median_ci[2 * ((size_t)w * R + r)]);
            for (long b = 0; b < NB; b++) col[b] = brms[(size_t)b * WR + (size_t)w * R + r];
            percentile_ci(col, NB, &res->rms_ci[2 * ((size_t)w * R + r)]);
        }

    for (int r = 0; r < R; r++) {
        res->pred[r] = predicted_exponent(c, r + 1);
        res->slope[r] = loglog_slope(res->widths, res->median + r, W, F, (size_t)R);
        res->rms_slope[r] = loglog_slope(res->widths, res->rms + r, W, F, (size_t)R);
        for (long b = 0; b < NB; b++) col[b] = loglog_slope(res->widths, bmed + (size_t)b * WR + r, W, F, (size_t)R);
        percentile_ci(col, NB, &res->slope_ci[2 * r]);
        for (long b = 0; b < NB; b++) col[b] = loglog_slope(res->widths, brms + (size_t)b * WR + r, W, F, (size_t)R);
        percentile_ci(col, NB, &res->rms_slope_ci[2 * r]);
        for (int w = 0; w + 1 < W; w++) {
            double a = res->median[w * R + r], b2 = res->median[(w + 1) * R + r];
            res->local[w * R + r] = (a > 0 && b2 > 0) ? log(b2 / a) / log(res->widths[w + 1] / res->widths[w]) : NAN;
        }

        /* rescaled variable n^{-p} K^(r): quantiles per width, KS between the two widest */
        for (int w = 0; w < W; w++) {
            double scale = pow(res->widths[w], -res->pred[r]);
            double *v = col + (w >= W - 2 ? (size_t)(w - (W - 2)) * (size_t)N : 0);
            for (long s = 0; s < N; s++) v[s] = scale * res->k[((size_t)w * (size_t)N + (size_t)s) * (size_t)R + r];
            gsl_sort(v, 1, (size_t)N);
            for (int q = 0; q < N_QUANT; q++)
                res->quant[((size_t)w * R + r) * N_QUANT + q] =
                    gsl_stats_quantile_from_sorted_data(v, 1, (size_t)N, QUANT_LEVELS[q]);
        }
        res->ks[r] = ks_distance(col, N, col + N, N, &res->ks_p[r]);

        /* verdict, from the median (the RMS is dominated by a few samples) */
        int all_zero = 1;
        for (size_t q = 0; q < (size_t)W * (size_t)N && all_zero; q++) all_zero = res->k[q * (size_t)R + r] == 0.0;
        int v;
        if (r + 1 > degree) v = all_zero ? V_EXACT_ZERO : V_NONZERO_ABOVE_DEGREE;
        else if (!isfinite(res->slope_ci[2 * r]) || res->slope_ci[2 * r + 1] - res->slope_ci[2 * r] > o->decide_width)
            v = V_UNDECIDED;
        else if (res->pred[r] >= res->slope_ci[2 * r] && res->pred[r] <= res->slope_ci[2 * r + 1]) v = V_AGREES;
        else v = V_DISAGREES;
        res->verdict[r] = v;
    }
    free(bmed);
    free(brms);
    free(scratch);
    free(idx);
    free(col);
    return HNTK_OK;
}

/* ------------------------------------------------------------------ one configuration */

static int run_config(const thm1_opts *o, const thm1_config *c, cfg_result *res)
{
    int W = o->n_widths, R = o->R;
    long N = c->L == 2 ? o->samples_l2 : o->samples;
    int st = result_alloc(res, c, W, R, N);
    if (st) return st;
    double t0 = cli_now();
    double *Xp = malloc(sizeof(double) * (size_t)(BATCH * o->x_dim));
    double *Zp = malloc(sizeof(double) * (size_t)(BATCH * (c->mlp ? 1 : o->z_dim)));
    hntk_welford *acc = NULL;
    if (!Xp || !Zp) st = hntk_fail(HNTK_ENOMEM, "cannot allocate the inputs");
    if (!st) st = hntk_welford_alloc(R, &acc);
    if (!st) make_inputs(o, c, Xp, Zp);
    int threads = hntk_mc_max_threads();
    for (int w = 0; w < W && !st; w++) {
        long n = o->widths[w];
        res->widths[w] = (double)n;
        hntk_hyper_arch a = config_arch(o, c, n);
        thread_set ts;
        st = threads_alloc(o, &a, threads, &ts);
        if (!st) {
            double *store = res->k + (size_t)w * (size_t)N * (size_t)R;
            for (int t = 0; t < threads; t++) {
                sample_ctx *x = &ts.ctx[t];
                x->X = Xp;
                x->Z = Zp;
                x->key = stream_key(o->seed, c, n);
                x->R = R;
                x->pair_i = o->pair_diag ? 1 : 0;
            }
            sample_store collected = {store, R};
            char label[96];
            snprintf(label, sizeof label, "thm1 %s n=%ld", c->name, n);
            cli_progress progress;
            cli_progress_init(&progress, label);
            hntk_welford_reset(acc);
            hntk_mc_job job = {.samples = N, .dim = R, .n_ctx = threads, .ctx = ts.ptrs, .fn = thm1_sample,
                               .progress = cli_progress_update, .progress_data = &progress,
                               .collect = store_sample, .collect_data = &collected};
            st = hntk_mc_run(&job, acc);
            cli_progress_end(&progress);
            if (!st) {
                for (int r = 0; r < R; r++) res->mean[w * R + r] = acc->mean[r];
                hntk_welford_finish(acc, NULL, res->mean_se + (size_t)w * R);
            }
        }
        threads_free(&ts);
    }
    hntk_welford_free(acc);
    free(Xp);
    free(Zp);
    if (!st) st = analyse(o, res);
    res->seconds = cli_now() - t0;
    return st;
}

/* ------------------------------------------------------------------ output */

static void print_config(const thm1_opts *o, const cfg_result *res)
{
    const thm1_config *c = &res->cfg;
    int W = res->W, R = res->R, F = (int)o->fit_widths;
    if (c->mlp)
        printf("\n%s: plain MLP, L = %d (Lemma 3: T^r ~ n^-max(r-1,0)), %ld samples per width, %.1f s\n", c->name,
               c->L, res->N, res->seconds);
    else
        printf("\n%s: L = %d, H = %d, g width m = %ld, %ld samples per width, %.1f s\n", c->name, c->L, c->H,
               o->g_width, res->N, res->seconds);
    printf("  median |K^(r)| per width:\n  %7s", "n");
    for (int r = 1; r <= R; r++) printf("   r=%-7d", r);
    printf("\n");
    for (int w = 0; w < W; w++) {
        printf("  %7ld", (long)res->widths[w]);
        for (int r = 0; r < R; r++) printf(" %10.3e", res->median[w * R + r]);
        printf("\n");
    }
    printf("  slopes of log median |K^(r)| vs log n, fit over n = %ld..%ld (bootstrap 95%%):\n", (long)res->widths[W - F],
           (long)res->widths[W - 1]);
    printf("  %2s %5s  %-24s %-*s %-24s %-12s %s\n", "r", "pred", "median slope [95% CI]", 6 * (W - 1) + 2,
           "local slopes", "rms slope [95% CI]", "KS (p)", "verdict (median)");
    for (int r = 0; r < R; r++) {
        char med[64], rms[64], ks[32], loc[6 * MAX_WIDTHS + 8] = "";
        if (res->verdict[r] == V_EXACT_ZERO) {
            snprintf(med, sizeof med, "all samples exactly 0");
            snprintf(rms, sizeof rms, "-");
            snprintf(ks, sizeof ks, "-");
        } else {
            snprintf(med, sizeof med, "%+.3f [%+.3f, %+.3f]", res->slope[r], res->slope_ci[2 * r],
                     res->slope_ci[2 * r + 1]);
            snprintf(rms, sizeof rms, "%+.3f [%+.3f, %+.3f]", res->rms_slope[r], res->rms_slope_ci[2 * r],
                     res->rms_slope_ci[2 * r + 1]);
            snprintf(ks, sizeof ks, "%.3f (%.2g)", res->ks[r], res->ks_p[r]);
            for (int w = 0; w + 1 < W; w++) {
                char one[16];
                snprintf(one, sizeof one, "%+5.2f ", res->local[w * R + r]);
                strcat(loc, one);
            }
        }
        printf("  %2d %+5.0f  %-24s %-*s %-24s %-12s %s\n", r + 1, res->pred[r], med, 6 * (W - 1) + 2, loc, rms, ks,
               verdict_name((int)res->verdict[r]));
    }
}

static int write_group(hntk_h5 *f, const thm1_opts *o, const cfg_result *res)
{
    const thm1_config *c = &res->cfg;
    long W = res->W, R = res->R, N = res->N;
    char g[48], name[96];
    snprintf(g, sizeof g, "/%s", c->name);
    int st = 0;
#define DS(NAME, RANK, DIMS, DATA)                                   \
    do {                                                             \
        snprintf(name, sizeof name, "%s/%s", g, NAME);               \
        if (!st) st = hntk_h5_write(f, name, RANK, DIMS, DATA);      \
    } while (0)
    long dW[1] = {W}, dR[1] = {R}, dWR[2] = {W, R}, dWR2[3] = {W, R, 2}, dR2[2] = {R, 2}, dL[2] = {W - 1, R},
         dQ[3] = {W, R, N_QUANT}, dK[3] = {W, N, R}, dQL[1] = {N_QUANT};
    DS("widths", 1, dW, res->widths);
    DS("median", 2, dWR, res->median);
    DS("median_ci", 3, dWR2, res->median_ci);
    DS("rms", 2, dWR, res->rms);
    DS("rms_ci", 3, dWR2, res->rms_ci);
    DS("mean", 2, dWR, res->mean);
    DS("mean_stderr", 2, dWR, res->mean_se);
    DS("slope", 1, dR, res->slope);
    DS("slope_ci", 2, dR2, res->slope_ci);
    DS("rms_slope", 1, dR, res->rms_slope);
    DS("rms_slope_ci", 2, dR2, res->rms_slope_ci);
    DS("predicted", 1, dR, res->pred);
    DS("local_slope", 2, dL, res->local);
    DS("rescaled_quantiles", 3, dQ, res->quant);
    DS("quantile_levels", 1, dQL, QUANT_LEVELS);
    DS("ks", 1, dR, res->ks);
    DS("ks_pvalue", 1, dR, res->ks_p);
    DS("verdict", 1, dR, res->verdict);
    DS("k_samples", 3, dK, res->k);
#undef DS
    if (!st) st = hntk_h5_attr_long(f, g, "L", c->L);
    if (!st) st = hntk_h5_attr_long(f, g, "H", c->mlp ? 1 : c->H);
    if (!st) st = hntk_h5_attr_long(f, g, "m", c->mlp ? 1 : o->g_width);
    if (!st) st = hntk_h5_attr_long(f, g, "mlp", c->mlp);
    if (!st) st = hntk_h5_attr_long(f, g, "samples", N);
    if (!st) st = hntk_h5_attr_long(f, g, "degree", (long)c->L * (c->mlp ? 1 : c->H));
    return st;
}

static int write_results(const thm1_opts *o, const cfg_result *res, int n_res, int argc, char **argv, double wall)
{
    hntk_h5 *f;
    int st = hntk_h5_create(o->out, &f);
    if (st) return st;
    for (int k = 0; k < n_res && !st; k++) st = write_group(f, o, &res[k]);
    char configs[MAX_CONFIGS * 16] = "", widths[MAX_WIDTHS * 12] = "";
    for (int k = 0; k < o->n_cfg; k++) {
        strcat(configs, k ? "," : "");
        strcat(configs, o->cfg[k].name);
    }
    for (int w = 0; w < o->n_widths; w++) {
        char one[24];
        snprintf(one, sizeof one, "%s%ld", w ? "," : "", o->widths[w]);
        strcat(widths, one);
    }
    if (!st) st = hntk_h5_attr_string(f, "/", "preset", o->preset);
    if (!st) st = hntk_h5_attr_string(f, "/", "configs", configs);
    if (!st) st = hntk_h5_attr_string(f, "/", "widths", widths);
    if (!st) st = hntk_h5_attr_long(f, "/", "samples", o->samples);
    if (!st) st = hntk_h5_attr_long(f, "/", "samples_l2", o->samples_l2);
    if (!st) st = hntk_h5_attr_long(f, "/", "orders", o->R);
    if (!st) st = hntk_h5_attr_long(f, "/", "g_width", o->g_width);
    if (!st) st = hntk_h5_attr_long(f, "/", "x_dim", o->x_dim);
    if (!st) st = hntk_h5_attr_long(f, "/", "z_dim", o->z_dim);
    if (!st) st = hntk_h5_attr_double(f, "/", "angle", o->angle);
    if (!st) st = hntk_h5_attr_string(f, "/", "pair", o->pair_diag ? "diag" : "off");
    if (!st) st = hntk_h5_attr_long(f, "/", "fit_widths", o->fit_widths);
    if (!st) st = hntk_h5_attr_long(f, "/", "bootstrap", o->bootstrap);
    if (!st) st = hntk_h5_attr_double(f, "/", "decide", o->decide_width);
    if (!st) st = hntk_h5_attr_long(f, "/", "seed", (long)o->seed);
    if (!st) st = hntk_h5_attr_string(f, "/", "verdict_statistic", "median");
    if (!st) st = cli_write_provenance(f, CMD, argc, argv, wall);
    if (st) {
        hntk_h5_abort(f);
        return st;
    }
    return hntk_h5_commit(f);
}

/* Columns for gnuplot: DIR/index.dat (one configuration per line) and DIR/<name>.dat:
 * n, then per r: median, CI low, CI high, predicted line anchored at the widest width. */
static int export_columns(const thm1_opts *o, const cfg_result *res, int n_res)
{
    if (mkdir(o->export_dir, 0777) && errno != EEXIST)
        return hntk_fail(HNTK_EIO, "--export-dir: cannot create '%s': %s", o->export_dir, strerror(errno));
    char path[4096], tmp[4200];
    for (int k = -1; k < n_res; k++) {
        if (k < 0) snprintf(path, sizeof path, "%s/index.dat", o->export_dir);
        else snprintf(path, sizeof path, "%s/%s.dat", o->export_dir, res[k].cfg.name);
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
        FILE *fp = fopen(tmp, "w");
        if (!fp) return hntk_fail(HNTK_EIO, "--export-dir: cannot write '%s': %s", tmp, strerror(errno));
        if (k < 0) {
            fprintf(fp, "# hyperntk thm1: name L H orders mlp (one configuration per line)\n");
            for (int q = 0; q < n_res; q++)
                fprintf(fp, "%s %d %d %d %d\n", res[q].cfg.name, res[q].cfg.L, res[q].cfg.mlp ? 1 : res[q].cfg.H,
                        res[q].R, res[q].cfg.mlp);
        } else {
            const cfg_result *x = &res[k];
            int W = x->W, R = x->R;
            fprintf(fp, "# hyperntk thm1 %s: n, then for r = 1..%d: median |K^(r)|, 95%% CI low, high, "
                        "predicted n^p through the widest width (NaN where K^(r) = 0)\n# predicted p:",
                    x->cfg.name, R);
            for (int r = 0; r < R; r++) fprintf(fp, " %g", x->pred[r]);
            fprintf(fp, "\n");
            for (int w = 0; w < W; w++) {
                fprintf(fp, "%ld", (long)x->widths[w]);
                for (int r = 0; r < R; r++) {
                    double m = x->median[w * R + r], last = x->median[(W - 1) * R + r];
                    int zero = !(m > 0);
                    double line = last > 0 ? last * pow(x->widths[w] / x->widths[W - 1], x->pred[r]) : NAN;
                    if (zero) fprintf(fp, " NaN NaN NaN NaN");
                    else fprintf(fp, " %.10g %.10g %.10g %.10g", m, x->median_ci[2 * (w * R + r)],
                                 x->median_ci[2 * (w * R + r) + 1], line);
                }
                fprintf(fp, "\n");
            }
        }
        if (fclose(fp) || rename(tmp, path)) {
            remove(tmp);
            return hntk_fail(HNTK_EIO, "--export-dir: cannot write '%s': %s", path, strerror(errno));
        }
    }
    return HNTK_OK;
}

/* Read the groups of an existing result file back (shapes checked against the
 * schema), then export their columns. */
static int read_group(const char *path, const char *name, cfg_result *res)
{
    char g[48], ds[96];
    snprintf(g, sizeof g, "/%s", name);
    long L, H, mlp, dims[3];
    int st = hntk_h5_read_attr_long(path, g, "L", &L);
    if (!st) st = hntk_h5_read_attr_long(path, g, "H", &H);
    if (!st) st = hntk_h5_read_attr_long(path, g, "mlp", &mlp);
    double *widths = NULL;
    snprintf(ds, sizeof ds, "%s/widths", g);
    if (!st) st = hntk_h5_read(path, ds, 1, dims, &widths);
    long W = st ? 0 : dims[0];
    double *pred = NULL;
    snprintf(ds, sizeof ds, "%s/predicted", g);
    if (!st) st = hntk_h5_read(path, ds, 1, dims, &pred);
    long R = st ? 0 : dims[0];
    if (!st && (W < 2 || W > MAX_WIDTHS || R < 1 || R > HNTK_TAYLOR_MAX_ORDER))
        st = hntk_fail(HNTK_EFORMAT, "%s: %s: %ld widths and %ld orders, accepted 2..%d and 1..%d", path, g, W, R,
                       MAX_WIDTHS, HNTK_TAYLOR_MAX_ORDER);
    thm1_config c = {.L = (int)L, .H = (int)H, .mlp = (int)mlp};
    snprintf(c.name, sizeof c.name, "%s", name);
    if (!st) st = result_alloc(res, &c, (int)W, (int)R, 1);
    if (!st) {
        memcpy(res->widths, widths, sizeof(double) * (size_t)W);
        memcpy(res->pred, pred, sizeof(double) * (size_t)R);
    }
    free(widths);
    free(pred);
    /* every other dataset: its shape, and the ones the export needs */
    static const struct { const char *name; int rank; int shape; } SCHEMA[] = {
        {"median", 2, 0}, {"median_ci", 3, 1}, {"rms", 2, 0}, {"rms_ci", 3, 1}, {"mean", 2, 0},
        {"mean_stderr", 2, 0}, {"slope", 1, 2}, {"slope_ci", 2, 3}, {"rms_slope", 1, 2}, {"rms_slope_ci", 2, 3},
        {"local_slope", 2, 4}, {"rescaled_quantiles", 3, 5}, {"ks", 1, 2}, {"ks_pvalue", 1, 2}, {"verdict", 1, 2},
        {"k_samples", 3, 6}};
    for (size_t k = 0; k < sizeof SCHEMA / sizeof SCHEMA[0] && !st; k++) {
        long want[7][3] = {{W, R, -1}, {W, R, 2}, {R, -1, -1}, {R, 2, -1}, {W - 1, R, -1}, {W, R, N_QUANT},
                           {W, -1, R}};
        double *data = NULL;
        snprintf(ds, sizeof ds, "%s/%s", g, SCHEMA[k].name);
        st = hntk_h5_read_shaped(path, ds, SCHEMA[k].rank, want[SCHEMA[k].shape], dims, &data);
        if (!st && !strcmp(SCHEMA[k].name, "median")) memcpy(res->median, data, sizeof(double) * (size_t)(W * R));
        if (!st && !strcmp(SCHEMA[k].name, "median_ci"))
            memcpy(res->median_ci, data, sizeof(double) * (size_t)(2 * W * R));
        free(data);
    }
    return st;
}

static int export_from_file(const thm1_opts *o)
{
    char configs[MAX_CONFIGS * 16 + 16];
    int st = hntk_h5_read_attr_string(o->from, "/", "configs", configs, sizeof configs);
    if (st) return st;
    cfg_result res[MAX_CONFIGS];
    memset(res, 0, sizeof res);
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(configs, ",", &save); tok && !st; tok = strtok_r(NULL, ",", &save)) {
        if (n == MAX_CONFIGS) st = hntk_fail(HNTK_EFORMAT, "%s: more than %d configurations", o->from, MAX_CONFIGS);
        else st = read_group(o->from, tok, &res[n++]);
    }
    if (!st) st = export_columns(o, res, n);
    if (!st) printf("exported %d configuration(s) of %s to %s\n", n, o->from, o->export_dir);
    for (int k = 0; k < n; k++) result_free(&res[k]);
    return st;
}

/* ------------------------------------------------------------------ --bench */

typedef struct {
    hntk_net *net;
    hntk_taylor_ws *ws;
    const double *X, *Z;
    double K[BATCH * HNTK_TAYLOR_MAX_ORDER];
    int what; /* 0: forward + backward of 1 input; 1: of the pair; 2: all R orders for the pair */
} bench_ctx;

static void bench_once(bench_ctx *b)
{
    if (b->what < 2) {
        hntk_net_forward(b->net, b->what == 0 ? 1 : BATCH, b->X, b->Z, NULL);
        hntk_net_backward(b->net);
    } else {
        hntk_taylor_kernels(b->net, b->ws, BATCH, b->X, b->Z, 1, b->K);
    }
}

/* Seconds per call: the best of 3 runs of at least `seconds` each. */
static double bench_time(bench_ctx *b, double seconds)
{
    double best = INFINITY;
    for (int rep = 0; rep < 3; rep++) {
        long calls = 0;
        double t0 = cli_now(), t;
        do {
            bench_once(b);
            calls++;
        } while ((t = cli_now() - t0) < seconds);
        if (t / (double)calls < best) best = t / (double)calls;
    }
    return best;
}

static int run_bench(const thm1_opts *o)
{
    long n = o->widths[o->n_widths - 1];
    printf("hyperntk thm1 --bench: cost of all R = %d orders K^(1..R)(u, u') for one pair (Taylor mode)\n"
           "against one forward + backward pass of one input, f width n = %ld, g width m = %ld, 1 thread\n",
           o->R, n, o->g_width);
    printf("  %-8s %12s %12s %12s %9s %9s %8s\n", "config", "fwd+bwd(1)", "fwd+bwd(2)", "K^(1..R)", "ratio", "jets",
           "R + 2");
    for (int k = 0; k < o->n_cfg; k++) {
        const thm1_config *c = &o->cfg[k];
        hntk_hyper_arch a = config_arch(o, c, n);
        bench_ctx b = {0};
        double X[BATCH * 64], Z[BATCH * 64];
        if (o->x_dim > 64 || o->z_dim > 64) return hntk_fail(HNTK_EINVAL, "--bench takes x-dim and z-dim <= 64");
        make_inputs(o, c, X, Z);
        int st = hntk_net_alloc(&a, BATCH, (size_t)(o->budget_gib * 1073741824.0), &b.net);
        if (!st) st = hntk_taylor_ws_alloc(&a, BATCH, o->R, 0, &b.ws);
        if (st) {
            hntk_net_free(b.net);
            return st;
        }
        hntk_net_sample_weights(b.net, stream_key(o->seed, c, n), 0);
        b.X = X;
        b.Z = Z;
        double t[3];
        for (b.what = 0; b.what < 3; b.what++) t[b.what] = bench_time(&b, o->bench_seconds);
        /* ratio: everything the pair needs (its forward/backward and the jets) over one
         * forward + backward; jets: the Taylor part alone */
        printf("  %-8s %9.3f ms %9.3f ms %9.3f ms %9.2f %9.2f %8d\n", c->name, 1e3 * t[0], 1e3 * t[1], 1e3 * t[2],
               t[2] / t[0], (t[2] - t[1]) / t[0], o->R + 2);
        hntk_net_free(b.net);
        hntk_taylor_ws_free(b.ws);
    }
    printf("ratio = K^(1..R) / fwd+bwd(1) (target <= R + 2); jets = (K^(1..R) - fwd+bwd(2)) / fwd+bwd(1).\n"
           "Weight sampling is excluded from every time.\n");
    return HNTK_OK;
}

/* ------------------------------------------------------------------ entry */

int hntk_cmd_thm1(int argc, char **argv)
{
    thm1_opts o;
    int st = parse_options(argc, argv, &o);
    if (st) return st < 0 ? CLI_EXIT_OK : st;
    if (o.from) {
        st = export_from_file(&o);
        return st ? cli_report(CMD, st) : CLI_EXIT_OK;
    }
    if (o.bench) {
        st = run_bench(&o);
        return st ? cli_report(CMD, st) : CLI_EXIT_OK;
    }
    double t0 = cli_now();
    hntk_h5_install_signal_cleanup();
    /* every width's arch must be valid before anything runs */
    for (int k = 0; k < o.n_cfg && !st; k++)
        for (int w = 0; w < o.n_widths && !st; w++) {
            hntk_hyper_arch a = config_arch(&o, &o.cfg[k], o.widths[w]);
            st = hntk_hyper_arch_validate(&a);
        }
    if (st) return cli_report(CMD, st);

    printf("hyperntk thm1 (%s preset): %s; n = ", o.preset, o.cfg[0].mlp ? "Lemma 3, plain MLPs" : "Theorem 1");
    for (int w = 0; w < o.n_widths; w++) printf("%s%ld", w ? "," : "", o.widths[w]);
    printf("; g width m = %ld, x_dim = %ld, z_dim = %ld, angle %.4f, pair %s; %ld samples per width\n"
           "(%ld when L = 2), R = %d, bootstrap %ld, seed %llu.  Verdict from the median of |K^(r)| (heavy tails: a few samples\n"
           "dominate the RMS, shown for information): 'agrees' when the predicted exponent lies in the\n"
           "slope's 95%% interval, 'undecided' when the interval is wider than %.2f.\n",
           o.g_width, o.x_dim, o.z_dim, o.angle, o.pair_diag ? "diag K(u',u')" : "off K(u,u')", o.samples, o.samples_l2, o.R,
           o.bootstrap, (unsigned long long)o.seed, o.decide_width);
    fflush(stdout);

    cfg_result *res = calloc((size_t)o.n_cfg, sizeof *res);
    if (!res) return cli_report(CMD, hntk_fail(HNTK_ENOMEM, "cannot allocate results"));
    int done = 0;
    for (int k = 0; k < o.n_cfg && !st; k++) {
        st = run_config(&o, &o.cfg[k], &res[k]);
        if (!st) {
            print_config(&o, &res[k]);
            fflush(stdout);
            done++;
        }
    }
    if (!st && hntk_parallel_rank() == 0) { /* under MPI every rank has the results; rank 0 writes */
        double wall = cli_now() - t0;
        st = write_results(&o, res, done, argc, argv, wall);
        if (!st && o.export_dir) st = export_columns(&o, res, done);
        if (!st) printf("\nwrote %s (%.1f s on %d threads)\n", o.out, wall, hntk_mc_max_threads());
    }
    for (int k = 0; k < o.n_cfg; k++) result_free(&res[k]);
    free(res);
    return st ? cli_report(CMD, st) : CLI_EXIT_OK;
}
