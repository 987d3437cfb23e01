/* thm1.c: `hyperntk thm1`: Theorem 1 (and Lemma 3 for plain MLPs): how the
 * higher-order terms K^(r)(u, u') = r! [t^r] h(u; w + t grad_w h(u')) scale with
 * the width n of f at a fixed g (docs/theory.md §2.4 and §5.1).
 *
 * Cell c = k W + w of the grid (grid.h) is configuration k at width n = widths[w]:
 * `samples` initializations drawn from the streams (key, s, layer, row),
 * key = hntk_rng_derive_key(seed, mlp << 56 | L << 48 | H << 40 | n), give
 * K^(r) for r = 1..R (exact Taylor mode, taylor.h).  The checkpoint keeps every
 * sample's K^(r), so the analysis after the last cell sees all of them: per
 * (configuration, width, r) the median of |K^(r)| and the RMS with bootstrap 95%
 * intervals, quantiles of the rescaled n^{-p} K^(r) (p the predicted exponent);
 * per (configuration, r) the log-log slope of the median over the widest widths
 * with its bootstrap interval and standard error, local slopes, the prediction
 * min(0, H - r), a two-sample KS test of the rescaled variable between the two
 * widest widths, and a Wald test of slope = prediction, Holm-corrected across
 * the whole table, which the verdicts use.
 * Schema: docs/file-formats.md; method and reading: docs/thm1.md. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hyperntk/stats.h"

#include "cli.h"
#include "commands.h"
#include "grid.h"
#include "opts.h"

static const char *CMD = "thm1";

enum { MAX_CONFIGS = 32, MAX_WIDTHS = 40, N_QUANT = 5, BATCH = 2, CKPT_FORMAT = 1 };
static const double QUANT_LEVELS[N_QUANT] = {0.05, 0.25, 0.5, 0.75, 0.95};

/* Verdict codes (the enum dataset `verdict`). */
enum { V_NONZERO_ABOVE_DEGREE = -2, V_DISAGREES = -1, V_UNDECIDED = 0, V_AGREES = 1, V_EXACT_ZERO = 2 };
enum { N_VERDICTS = 5 };
static const char *const VERDICT_NAMES[N_VERDICTS] = {"nonzero_above_degree", "disagrees", "undecided", "agrees",
                                                      "exact_zero"};
static const int VERDICT_CODES[N_VERDICTS] = {V_NONZERO_ABOVE_DEGREE, V_DISAGREES, V_UNDECIDED, V_AGREES,
                                              V_EXACT_ZERO};

static const char *verdict_text(int v)
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

#define SLOPE_TEST                                                                                               \
    "Wald test of slope = predicted: z = (slope - predicted) / SE, SE the standard deviation of the "           \
    "bootstrap slopes, p = erfc(|z|/sqrt 2); Holm-corrected over every row with a test (r <= L*H) of every "    \
    "configuration"

typedef struct {
    int L, H, mlp; /* mlp: plain MLP of depth L (g_depth 1, z = 1): Lemma 3; H = 1 */
    char name[32]; /* group name: L3_H2 or MLP_L3 */
} thm1_config;

typedef struct {
    const char *configs; /* --configs, or the preset's list (its MLP list with --mlp) */
    int mlp;
    opts_list widths;
    long samples, samples_l2, g_width, x_dim, z_dim, bootstrap, fit_widths;
    int R, pair_diag, bench;
    int sampler; /* SAMPLER_DENSE or SAMPLER_LAZY */
    double angle, decide_width, alpha, bench_seconds;
    const char *export_dir, *from;
    grid_run_opts run; /* --out, --seed, --restart, --stop-after-cells, --mem-budget */
    /* derived */
    thm1_config cfg[MAX_CONFIGS];
    int n_cfg, W;
} thm1_opts;

/* ------------------------------------------------------------------ options */

static const char *const PAIRS[] = {"off", "diag", NULL};

#define F(field) offsetof(thm1_opts, field)
/* Not const: --out is required only for a run (not --from, --bench); see parse_options. */
static const opt_spec SPECS[] = {
    {"configs", "LIST", OPT_STRING, F(configs), 0, 0, NULL,
     "comma list of L<d>_H<d> (hypernetwork: f of depth L, g of depth H) or\nMLP_L<d> (plain MLP, Lemma 3); "
     "L in 2..32, H in 1..32, at most 32\n(default: the preset's list, see Presets)", OPT_CONFIG},
    {"mlp", NULL, OPT_FLAG, F(mlp), 0, 0, NULL,
     "the preset's plain-MLP list instead of its hypernetworks (Lemma 3);\nnot with --configs", 0},
    {"widths", "LIST", OPT_LIST, F(widths), 1, GRID_LAZY_MAX_WIDTH, NULL,
     "widths n of f (up to 1048576 with --sampler dense, 10^7 with lazy)", OPT_CONFIG | OPT_INCREASING, NULL, 2,
     MAX_WIDTHS},
    {"samples", "N", OPT_LONG, F(samples), 10, 100000000, NULL,
     "initializations per width (L >= 3; also L = 2 unless --samples-l2 is given)", OPT_CONFIG},
    {"samples-l2", "N", OPT_LONG, F(samples_l2), 10, 100000000, NULL,
     "initializations per width for L = 2 (a sample costs O(n), not O(n^2))", OPT_CONFIG},
    {"orders", "R", OPT_INT, F(R), 1, HNTK_TAYLOR_MAX_ORDER, NULL, "orders r = 1..R", OPT_CONFIG},
    {"g-width", "m", OPT_LONG, F(g_width), 1, HNTK_MAX_WIDTH, "8", "hidden width of g", OPT_CONFIG},
    {"x-dim", "n0", OPT_LONG, F(x_dim), 2, HNTK_MAX_WIDTH, "3", "dimension of x", OPT_CONFIG},
    {"z-dim", "m0", OPT_LONG, F(z_dim), 2, HNTK_MAX_WIDTH, "3", "dimension of z (MLPs use z = 1)", OPT_CONFIG},
    {"angle", "A", OPT_ANGLE, F(angle), 0, CLI_PI, "pi/3",
     "angle in radians between x and x' and between z and z':\nx = sqrt(n0) e1, x' = sqrt(n0) (cos A e1 + sin A e2)",
     OPT_CONFIG},
    {"pair", "P", OPT_CHOICE, F(pair_diag), 0, 0, "off", "off: K^(r)(u, u'); diag: K^(r)(u', u')", OPT_CONFIG,
     PAIRS},
    {"fit-widths", "K", OPT_LONG, F(fit_widths), 2, MAX_WIDTHS, NULL,
     "fit the slope over the K widest widths (at most the number of widths)", OPT_CONFIG},
    {"bootstrap", "NB", OPT_LONG, F(bootstrap), 100, 1000000, NULL, "bootstrap replicates", OPT_CONFIG},
    {"decide", "D", OPT_DOUBLE, F(decide_width), 0.01, 10, "0.5",
     "a slope interval wider than D decides nothing (0.5: narrower, it\ncannot contain two neighbouring integer "
     "exponents)", OPT_CONFIG},
    {"alpha", "a", OPT_DOUBLE, F(alpha), 1e-6, 0.5, "0.05",
     "family-wise level of the Holm-corrected slope tests (see above)", OPT_CONFIG},
    GRID_SAMPLER_SPEC(thm1_opts),
    GRID_RUN_SPECS_OUT(thm1_opts, "cells", 0), /* --from and --bench write no result: checked below */
    {"export-dir", "DIR", OPT_STRING, F(export_dir), 0, 0, NULL, "also write whitespace-column files for plots/thm1.gp",
     0},
    {"from", "FILE", OPT_STRING, F(from), 0, 0, NULL,
     "with --export-dir: read an existing result file instead of running\n(every dataset's shape is checked) and "
     "write its columns", 0},
    {"bench", NULL, OPT_FLAG, F(bench), 0, 0, NULL,
     "measure the cost of all R orders for one pair against one forward +\nbackward pass at the widest width; no "
     "result file", 0},
    {"bench-seconds", "T", OPT_DOUBLE, F(bench_seconds), 0.01, 60, "0.3", "minimum time per --bench measurement", 0},
};
#undef F

/* The configuration lists of the presets (not settings: a preset cannot set a string). */
#define QUICK_CONFIGS "L2_H1,L2_H2,L3_H2"
#define QUICK_MLP "MLP_L2,MLP_L3"
#define DEFAULT_CONFIGS "L2_H1,L2_H2,L2_H3,L3_H1,L3_H2,L3_H3"
#define DEFAULT_MLP "MLP_L2,MLP_L3,MLP_L4"
#define PAPER_CONFIGS "L2_H1,L2_H2,L2_H3,L3_H1,L3_H2,L3_H3,L4_H2"
#define PAPER_MLP "MLP_L2,MLP_L3,MLP_L4,MLP_L5"
#define PRESET_LINE "\n                           "
#define ASYMPTOTIC_WIDTHS                                                                                          \
    "64,128,256,512,1024,2048,4096,8192,16384,32768,65536,131072,262144,524288,1048576"

/* Sample counts: a sample of f with L >= 3 draws and reads n x n matrices, one with
 * L = 2 only P x n, so L = 2 gets more samples for the same time. */
static const opt_preset PRESETS[] = {
    {"default", "results/thm1.h5 (about 12 min on 2 cores)" PRESET_LINE "configs=" DEFAULT_CONFIGS
     " (--mlp: " DEFAULT_MLP ")",
     "widths=64,128,256,512,1024,2048,4096 samples=1500 samples-l2=4000 bootstrap=1000 fit-widths=5 orders=6"},
    {"quick", "CI-sized (seconds)" PRESET_LINE "configs=" QUICK_CONFIGS " (--mlp: " QUICK_MLP ")",
     "widths=32,64,128,256,512 samples=400 samples-l2=1000 bootstrap=300 fit-widths=4 orders=4"},
    {"paper", "the paper's scale (hours)" PRESET_LINE "configs=" PAPER_CONFIGS " (--mlp: " PAPER_MLP ")",
     "widths=64,128,256,512,1024,2048,4096,8192 samples=4000 samples-l2=10000 bootstrap=2000 fit-widths=5 orders=8"},
    {"asymptotic", "results/thm1_asymptotic.h5: the default's configurations at widths to" PRESET_LINE
     "2^20 with the lazy sampler (about 18 min on 2 cores; --mlp: 12 min)",
     "sampler=lazy widths=" ASYMPTOTIC_WIDTHS " samples=1000 samples-l2=2500 bootstrap=1000 fit-widths=5 orders=6"},
};
static const char *const PRESET_CONFIGS[][2] = {
    {DEFAULT_CONFIGS, DEFAULT_MLP}, {QUICK_CONFIGS, QUICK_MLP}, {PAPER_CONFIGS, PAPER_MLP},
    {DEFAULT_CONFIGS, DEFAULT_MLP}};

static const opt_command COMMAND = {
    .cmd = "thm1",
    .synopsis = "--out OUT.h5 [--quick | --paper] [--mlp] [OPTIONS]\n"
                "       hyperntk thm1 --from RESULT.h5 --export-dir DIR\n"
                "       hyperntk thm1 --bench [OPTIONS]",
    .summary =
        "Theorem 1: the higher-order terms K^(r)(u,u') = r! [t^r] h(u; w + t grad h(u')) scale\n"
        "like n^{min(0, H - r)} in the width n of f at fixed g (Lemma 3 for a plain MLP:\n"
        "n^{-max(r-1, 0)}); K^(r) = 0 exactly for r > L*H.  Exact Taylor mode, no finite\n"
        "differences.  The verdict uses the median of |K^(r)| (heavy tails make the RMS\n"
        "unreliable; it is shown for information): its log-log slope over the --fit-widths\n"
        "widest widths is tested against the prediction by a Wald test, z = (slope - pred)/SE\n"
        "with SE the standard deviation of the bootstrap slopes, p = erfc(|z|/sqrt 2), and the\n"
        "p-values of every row (r <= L*H) of every configuration are Holm-corrected at\n"
        "--alpha.  Verdict: 'undecided' when the bootstrap 95% interval of the slope is wider\n"
        "than --decide, else 'DISAGREES' when Holm rejects, else 'agrees'.  Theory and claims:\n"
        "docs/theory.md §2.4 and §5.1; method and reading: docs/thm1.md.",
    .footer = GRID_FOOTER,
    OPTS_SPECS(SPECS),
    OPTS_PRESETS(PRESETS),
};

/* The decimal digits at p, followed by `stop` (or the end when stop is NULL),
 * into *v: 1 on success.  No sscanf("%d"): its overflow is undefined and
 * reported a wrong depth.  A value beyond 10^9 saturates at LONG_MAX (still
 * out of range); messages quote the digits as written. */
static int parse_depth(const char *p, long *v, const char *stop)
{
    long n = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) n = n > 1000000000L ? LONG_MAX : 10 * n + (*p - '0');
    if (digits == 0 || (stop ? strncmp(p, stop, strlen(stop)) : *p != '\0')) return 0;
    *v = n;
    return 1;
}

/* The digits after `at` in tok, for messages ("99999999999"). */
static int digits_len(const char *at)
{
    int n = 0;
    while (at[n] >= '0' && at[n] <= '9') n++;
    return n;
}

/* "L3_H2" or "MLP_L4" (case-sensitive). */
static int parse_configs(const char *text, thm1_opts *o)
{
    char buf[4096];
    if (strlen(text) >= sizeof buf) return cli_usage_error(CMD, "--configs: a list of at most 4095 characters");
    strcpy(buf, text);
    o->n_cfg = 0;
    int commas = 0;
    for (const char *p = text; *p; p++) commas += *p == ',';
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        thm1_config c = {0};
        long L = 0, H = 1;
        if (!strncmp(tok, "MLP_L", 5) && parse_depth(tok + 5, &L, NULL)) {
            c.mlp = 1;
        } else if (!(tok[0] == 'L' && parse_depth(tok + 1, &L, "_H") && parse_depth(strstr(tok, "_H") + 2, &H, NULL))) {
            return cli_usage_error(CMD, "--configs: '%s' is not L<depth>_H<depth> or MLP_L<depth> (accepted L in "
                                   "2..%d, H in 1..%d)", tok, HNTK_MAX_DEPTH, HNTK_MAX_DEPTH);
        }
        if (L < 2 || L > HNTK_MAX_DEPTH || H < 1 || H > HNTK_MAX_DEPTH) {
            const char *ld = tok + (c.mlp ? 5 : 1), *hd = c.mlp ? "1" : strstr(tok, "_H") + 2;
            return cli_usage_error(CMD, "--configs: '%s': L = %.*s must be in 2..%d (with L = 1 f has no hidden "
                                   "width) and H = %.*s in 1..%d", tok, digits_len(ld), ld, HNTK_MAX_DEPTH,
                                   digits_len(hd), hd, HNTK_MAX_DEPTH);
        }
        c.L = (int)L;
        c.H = (int)H;
        if (o->n_cfg == MAX_CONFIGS)
            return cli_usage_error(CMD, "--configs: more than %d configurations (accepted 1..%d)", MAX_CONFIGS,
                                   MAX_CONFIGS);
        if (c.mlp) snprintf(c.name, sizeof c.name, "MLP_L%d", c.L);
        else snprintf(c.name, sizeof c.name, "L%d_H%d", c.L, c.H);
        for (int k = 0; k < o->n_cfg; k++)
            if (!strcmp(o->cfg[k].name, c.name)) return cli_usage_error(CMD, "--configs: '%s' is listed twice", c.name);
        o->cfg[o->n_cfg++] = c;
    }
    if (o->n_cfg != commas + 1)
        return cli_usage_error(CMD, "--configs: '%s' is not a comma list of 1..%d configurations", text, MAX_CONFIGS);
    return 0;
}

static int parse_options(int argc, char **argv, thm1_opts *o, opts_state *state)
{
    memset(o, 0, sizeof *o);
    int st = grid_parse(&COMMAND, argc, argv, o, &o->run, state);
    if (st) return st;
    if (opts_given(&COMMAND, state, "configs") && o->mlp)
        return cli_usage_error(CMD, "--mlp chooses the preset's MLP list: it does not combine with --configs");
    if (!opts_given(&COMMAND, state, "configs")) o->configs = PRESET_CONFIGS[state->preset][o->mlp ? 1 : 0];
    if (opts_given(&COMMAND, state, "samples") && !opts_given(&COMMAND, state, "samples-l2"))
        o->samples_l2 = o->samples;
    o->W = o->widths.n;
    if ((st = parse_configs(o->configs, o))) return st;
    if (o->from) {
        if (!o->export_dir) return cli_usage_error(CMD, "--from FILE needs --export-dir DIR");
        if (o->bench || o->run.out) return cli_usage_error(CMD, "--from reads a result: it takes neither --out nor --bench");
        return 0;
    }
    if (!o->bench && o->fit_widths > o->W)
        return cli_usage_error(CMD, "--fit-widths: '%ld' is more than the %d widths (accepted 2..%d)", o->fit_widths,
                               o->W, o->W);
    if (!o->bench && !o->run.out) return cli_usage_error(CMD, "--out FILE is required");
    return 0;
}

/* ------------------------------------------------------------------ set-up */

static hntk_hyper_arch config_arch(const thm1_opts *o, const thm1_config *c, long n)
{
    if (c->mlp) return hntk_mlp_arch(c->L, n, o->x_dim);
    return hntk_hyper_arch_make(c->L, n, o->x_dim, c->H, o->g_width, o->z_dim);
}

static long config_samples(const thm1_opts *o, const thm1_config *c) { return c->L == 2 ? o->samples_l2 : o->samples; }

/* u = (x, z), u' = (x', z'): |x|^2 = n_0, |z|^2 = m_0, both pairs at angle A
 * (x = sqrt(n_0) e_1, x' = sqrt(n_0) (cos A e_1 + sin A e_2), z likewise; MLP: z = 1). */
static void make_inputs(const thm1_opts *o, int mlp, double *X, double *Z)
{
    long xd = o->x_dim, zd = mlp ? 1 : o->z_dim;
    double c, s, sx = sqrt((double)xd), sz = sqrt((double)zd);
    cli_cos_sin(o->angle, &c, &s);
    memset(X, 0, sizeof(double) * (size_t)(BATCH * xd));
    memset(Z, 0, sizeof(double) * (size_t)(BATCH * zd));
    X[0] = sx;
    X[xd] = sx * c;
    X[xd + 1] = sx * s;
    if (mlp) {
        Z[0] = Z[1] = 1.0;
    } else {
        Z[0] = sz;
        Z[zd] = sz * c;
        Z[zd + 1] = sz * s;
    }
}

/* Key of the weight streams of (configuration, width n): sample s of it uses the
 * streams (key, s, layer, row).  n = 0 gives the bootstrap key. */
static uint64_t stream_key(uint64_t seed, const thm1_config *c, long n)
{
    return hntk_rng_derive_key(seed, ((uint64_t)c->mlp << 56) | ((uint64_t)c->L << 48) | ((uint64_t)c->H << 40) |
                                         (uint64_t)n);
}

static double predicted_exponent(const thm1_config *c, int r)
{
    /* Theorem 1: n^{H - r} for r > H, n^0 otherwise; an MLP is H = 1 (Lemma 3: -max(r-1, 0)). */
    return r > c->H ? (double)(c->H - r) : 0.0;
}

/* ------------------------------------------------------------------ the grid */

typedef struct {
    const thm1_opts *o;
    double *X, *Zh, *Zm; /* inputs: x (BATCH, x_dim); z of a hypernetwork (BATCH, z_dim), of an MLP (BATCH, 1) */
    long max_n;          /* the largest sample count of a cell */
} grid_data;

/* One initialization: out (R) = K^(1..R) of the chosen pair. */
static int thm1_sample(void *ctx, long sample, double *out)
{
    hntk_worker *w = ctx;
    const grid_cell *c = w->job;
    const thm1_opts *o = ((const grid_data *)c->driver)->o;
    double K[BATCH * HNTK_TAYLOR_MAX_ORDER];
    int st;
    if (w->lazy) {
        st = hntk_taylor_kernels_lazy(w->lazy, w->taylor, c->key, (uint32_t)sample, BATCH, c->X, c->Z, 1, K);
    } else {
        hntk_net_sample_weights(w->net, c->key, (uint32_t)sample);
        st = hntk_taylor_kernels(w->net, w->taylor, BATCH, c->X, c->Z, 1, K);
    }
    if (st) return st;
    memcpy(out, K + (o->pair_diag ? o->R : 0), sizeof(double) * (size_t)o->R);
    return HNTK_OK;
}

static void describe_cell(const void *data, long index, grid_cell *cell)
{
    const grid_data *d = data;
    const thm1_opts *o = d->o;
    const thm1_config *c = &o->cfg[index / o->W];
    long n = o->widths.v[index % o->W];
    cell->arch = config_arch(o, c, n);
    cell->needs = (hntk_pool_needs){.batch = BATCH, .taylor_order = o->R, .lazy = o->sampler == SAMPLER_LAZY};
    cell->samples = config_samples(o, c);
    cell->first_sample = 0; /* the key differs per cell */
    cell->key = stream_key(o->run.seed, c, n);
    cell->sample_dim = o->R;
    cell->X = d->X;
    cell->Z = c->mlp ? d->Zm : d->Zh;
    snprintf(cell->label, sizeof cell->label, "cell %ld/%ld (%s, n = %ld)", index + 1, (long)o->n_cfg * o->W,
             c->name, n);
}

/* Cell values: [mean (R) | stderr of the mean (R) | K^(r) of every sample (N, R) | 0 up to max_n]. */
static int grid_values(const grid_cell *cell, const hntk_stats_moments *acc, const double *samples, double *values)
{
    const grid_data *d = cell->driver;
    long R = cell->sample_dim, N = cell->samples;
    memcpy(values, acc->mean, sizeof(double) * (size_t)R);
    hntk_stats_moments_finish(acc, NULL, values + R);
    memcpy(values + 2 * R, samples, sizeof(double) * (size_t)(N * R));
    memset(values + 2 * R + N * R, 0, sizeof(double) * (size_t)((d->max_n - N) * R));
    return HNTK_OK;
}

/* ------------------------------------------------------------------ statistics */

typedef struct {
    thm1_config cfg;
    int W, R;
    long N;
    long widths[MAX_WIDTHS];
    double wd[MAX_WIDTHS];         /* the widths as reals */
    double *k;                     /* (W, N, R) K^(r) of every sample */
    double *mean, *mean_se;        /* (W, R) signed mean and its standard error */
    double *median, *median_ci;    /* (W, R), (W, R, 2): median of |K^(r)| */
    double *rms, *rms_ci;          /* (W, R), (W, R, 2) */
    double *quant;                 /* (W, R, N_QUANT): quantiles of n^{-p} K^(r) */
    double *slope, *slope_ci, *slope_se; /* (R), (R, 2), (R): median-based */
    double *p, *p_holm;            /* (R) the slope test and its Holm-adjusted p-value */
    double *rms_slope, *rms_slope_ci;
    double *pred, *local;          /* (R), (W-1, R) */
    double *ks, *ks_p;             /* (R) */
    /* log median = a + p log n + b/n over every width: p, its bootstrap interval
     * and SE, b, and the Wald test of p = predicted (raw, Holm) (R, (R, 2)) */
    double *corr_p, *corr_p_ci, *corr_p_se, *corr_b, *corr_pv, *corr_pv_holm;
    int verdict[HNTK_TAYLOR_MAX_ORDER];
    int verdict_corr[HNTK_TAYLOR_MAX_ORDER]; /* the same rule on the corrected exponent */
    double *block;                 /* every array above but k */
} cfg_result;

static void result_free(cfg_result *r)
{
    free(r->k);
    free(r->block);
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
    size_t total = 10 * WR + WR * N_QUANT + 21 * (size_t)R;
    res->k = malloc(sizeof(double) * WR * (size_t)N);
    res->block = malloc(sizeof(double) * total);
    if (!res->k || !res->block) {
        result_free(res);
        return hntk_fail(HNTK_ENOMEM, "cannot store %ld samples x %d widths x %d orders", N, W, R);
    }
    double *p = res->block;
#define TAKE(field, count) (res->field = p, p += (count))
    TAKE(mean, WR); TAKE(mean_se, WR); TAKE(median, WR); TAKE(median_ci, 2 * WR); TAKE(rms, WR);
    TAKE(rms_ci, 2 * WR); TAKE(quant, WR * N_QUANT); TAKE(slope, R); TAKE(slope_ci, 2 * R); TAKE(slope_se, R);
    TAKE(p, R); TAKE(p_holm, R); TAKE(rms_slope, R); TAKE(rms_slope_ci, 2 * R); TAKE(pred, R); TAKE(ks, R);
    TAKE(ks_p, R); TAKE(local, (size_t)(W - 1) * R);
    TAKE(corr_p, R); TAKE(corr_p_ci, 2 * R); TAKE(corr_p_se, R); TAKE(corr_b, R); TAKE(corr_pv, R);
    TAKE(corr_pv_holm, R);
#undef TAKE
    for (size_t q = 0; q < total; q++) res->block[q] = NAN;
    return HNTK_OK;
}

/* Median of |K^(r)| and RMS of K^(r) over the rows idx[s] (or s) of k (N, R), each r. */
typedef struct {
    const double *k;
    long N;
    int R;
    double *abs, *sorted; /* (N) each */
} width_ctx;

static void median_rms(width_ctx *c, const long *idx, double *median, double *rms)
{
    for (int r = 0; r < c->R; r++) {
        double ss = 0.0;
        for (long s = 0; s < c->N; s++) {
            double v = c->k[(size_t)(idx ? idx[s] : s) * (size_t)c->R + (size_t)r];
            c->abs[s] = fabs(v);
            ss += v * v;
        }
        rms[r] = sqrt(ss / (double)c->N);
        hntk_stats_median(c->abs, 1, c->N, c->sorted, &median[r]);
    }
}

/* A bootstrap replicate of one width: out = [median (R) | rms (R)]. */
static int boot_width(void *ctx, long replicate, const long *idx, long n, double *out)
{
    width_ctx *c = ctx;
    (void)replicate;
    (void)n;
    median_rms(c, idx, out, out + c->R);
    return HNTK_OK;
}

/* Slope of log y against log n over the F widest widths (NaN where undefined: a
 * zero median, say); y[w * ys]. */
static double fit_slope(const cfg_result *res, const double *y, long ys, int F)
{
    double slope;
    (void)hntk_stats_loglog_slope(res->wd + res->W - F, 1, y + (size_t)(res->W - F) * (size_t)ys, ys, F, NULL,
                                  &slope, NULL, NULL);
    return slope;
}

/* Exponent p and correction b of log y = a + p log n + b/n over every width,
 * y[w * ys] (NaN without at least 4 widths or with a zero median). */
static void fit_corrected(const cfg_result *res, hntk_stats_wls *ws, const double *y, long ys, double *p, double *b)
{
    double yw[MAX_WIDTHS], coef[3];
    *p = *b = NAN;
    if (res->W < 4) return;
    for (int w = 0; w < res->W; w++) {
        yw[w] = y[(size_t)w * (size_t)ys];
        if (!(yw[w] > 0.0)) return;
    }
    if (hntk_stats_fit_power_correction(ws, res->wd, yw, NULL, res->W, coef, NULL, NULL)) return;
    *p = coef[1];
    *b = coef[2];
}

/* Two-sided p-value of the Wald test estimate = predicted with standard error se. */
static double wald_pvalue(double estimate, double predicted, double se)
{
    if (!isfinite(estimate) || !isfinite(se)) return NAN;
    if (se == 0.0) return estimate == predicted ? 1.0 : 0.0;
    return erfc(fabs((estimate - predicted) / se) / sqrt(2.0));
}

/* Bootstrap interval and standard error of slopes v (NB); both NaN when more
 * than 5% of the replicates have no slope.  scratch (NB). */
static void slope_interval(const double *v, long NB, double *scratch, double ci[2], double *se)
{
    hntk_stats_bootstrap_interval(v, 1, NB, 0.95, 0.05, scratch, ci, se);
    if (se && !isfinite(ci[0])) *se = NAN; /* an undecided interval has no standard error either */
}

/* Everything about one configuration but the verdicts, which need every
 * configuration's p-values (Holm). */
static int analyse(const thm1_opts *o, cfg_result *res)
{
    int W = res->W, R = res->R, F = (int)o->fit_widths, threads = hntk_mc_max_threads();
    long N = res->N, NB = o->bootstrap, D = 2L * R;
    const thm1_config *c = &res->cfg;
    double *boot = malloc(sizeof(double) * (size_t)W * (size_t)NB * (size_t)D); /* (W, NB, [median R | rms R]) */
    double *buf = malloc(sizeof(double) * (size_t)(2 * threads + 2) * (size_t)N);
    double *col = malloc(sizeof(double) * 2 * (size_t)(NB > N ? NB : N));
    long *idx = malloc(sizeof(long) * (size_t)threads * (size_t)N);
    width_ctx *ctx = calloc((size_t)threads, sizeof *ctx);
    void **ptrs = calloc((size_t)threads, sizeof *ptrs);
    hntk_stats_wls *wls = NULL;
    int st = W >= 4 ? hntk_stats_wls_alloc(W, 3, &wls) : HNTK_OK;
    if (!st && (!boot || !buf || !col || !idx || !ctx || !ptrs))
        st = hntk_fail(HNTK_ENOMEM, "%s: cannot allocate %ld bootstrap replicates", c->name, NB);

    /* point estimates, and the bootstrap: replicate b resamples every width
     * independently, width w from the stream (bootstrap key, b, HNTK_TENSOR_BOOTSTRAP, w) */
    uint64_t bkey = stream_key(o->run.seed, c, 0);
    for (int w = 0; w < W && !st; w++) {
        const double *kw = res->k + (size_t)w * (size_t)N * (size_t)R;
        for (int t = 0; t < threads; t++) {
            ctx[t] = (width_ctx){kw, N, R, buf + (size_t)(2 * t) * (size_t)N, buf + (size_t)(2 * t + 1) * (size_t)N};
            ptrs[t] = &ctx[t];
        }
        double med[HNTK_TAYLOR_MAX_ORDER], rms[HNTK_TAYLOR_MAX_ORDER];
        median_rms(&ctx[0], NULL, med, rms);
        for (int r = 0; r < R; r++) {
            res->median[w * R + r] = med[r];
            res->rms[w * R + r] = rms[r];
        }
        hntk_stats_bootstrap_job job = {.key = bkey, .row = (uint32_t)w, .n = N, .replicates = NB, .dim = D,
                                        .threads = threads, .ctx = ptrs, .fn = boot_width};
        st = hntk_stats_bootstrap_run(&job, idx, boot + (size_t)w * (size_t)NB * (size_t)D);
    }
    for (int w = 0; w < W && !st; w++)
        for (int r = 0; r < R; r++) {
            const double *bw = boot + (size_t)w * (size_t)NB * (size_t)D;
            hntk_stats_percentile_ci(bw + r, D, NB, 0.95, 0.05, col, &res->median_ci[2 * (w * R + r)]);
            hntk_stats_percentile_ci(bw + R + r, D, NB, 0.95, 0.05, col, &res->rms_ci[2 * (w * R + r)]);
        }

    long degree = (long)c->L * c->H;
    for (int r = 0; r < R && !st; r++) {
        res->pred[r] = predicted_exponent(c, r + 1);
        res->slope[r] = fit_slope(res, res->median + r, R, F);
        res->rms_slope[r] = fit_slope(res, res->rms + r, R, F);
        long ys = NB * D;
        for (long b = 0; b < NB; b++) col[b] = fit_slope(res, boot + b * D + r, ys, F);
        slope_interval(col, NB, col + NB, &res->slope_ci[2 * r], &res->slope_se[r]);
        for (long b = 0; b < NB; b++) col[b] = fit_slope(res, boot + b * D + R + r, ys, F);
        slope_interval(col, NB, col + NB, &res->rms_slope_ci[2 * r], NULL);
        for (int w = 0; w + 1 < W; w++) {
            double a = res->median[w * R + r], b = res->median[(w + 1) * R + r];
            res->local[w * R + r] = (a > 0 && b > 0) ? log(b / a) / log(res->wd[w + 1] / res->wd[w]) : NAN;
        }
        /* the slope test (r <= L*H): Wald with the bootstrap standard error */
        if (r + 1 <= degree) res->p[r] = wald_pvalue(res->slope[r], res->pred[r], res->slope_se[r]);
        /* the same for the exponent of the fit with a finite-width correction */
        double b_unused;
        fit_corrected(res, wls, res->median + r, R, &res->corr_p[r], &res->corr_b[r]);
        for (long b = 0; b < NB; b++) fit_corrected(res, wls, boot + b * D + r, ys, &col[b], &b_unused);
        slope_interval(col, NB, col + NB, &res->corr_p_ci[2 * r], &res->corr_p_se[r]);
        if (r + 1 <= degree) res->corr_pv[r] = wald_pvalue(res->corr_p[r], res->pred[r], res->corr_p_se[r]);

        /* the rescaled variable n^{-p} K^(r): quantiles per width, KS between the two
         * widest (width W-1 goes to v + N, so v keeps width W-2) */
        double *v = col, *scratch = buf + (size_t)(2 * threads) * (size_t)N;
        for (int w = 0; w < W; w++) {
            double scale = pow(res->wd[w], -res->pred[r]), *vw = w == W - 1 ? v + N : v;
            for (long s = 0; s < N; s++) vw[s] = scale * res->k[((size_t)w * (size_t)N + (size_t)s) * (size_t)R + r];
            hntk_stats_quantiles(vw, 1, N, QUANT_LEVELS, N_QUANT, scratch, &res->quant[(w * R + r) * N_QUANT]);
        }
        hntk_stats_ks2(v, N, v + N, N, scratch, &res->ks[r], &res->ks_p[r]);
    }
    free(boot);
    free(buf);
    free(col);
    free(idx);
    free(ctx);
    free(ptrs);
    hntk_stats_wls_free(wls);
    return st;
}

/* Holm across every row with a test of one family: the p-values in the field
 * at byte offset p_off of each cfg_result (a double * of R values), adjusted
 * into the field at holm_off.  *family: the number of tests. */
static int holm_family(const thm1_opts *o, cfg_result *res, int n_res, size_t p_off, size_t holm_off, long *family)
{
#define FIELD(x, off) (*(double **)((char *)(x) + (off)))
    long m = 0;
    for (int k = 0; k < n_res; k++)
        for (int r = 0; r < res[k].R; r++) m += isfinite(FIELD(&res[k], p_off)[r]);
    double *p = malloc(sizeof(double) * (size_t)(m ? m : 1) * 2);
    size_t *order = malloc(sizeof(size_t) * (size_t)(m ? m : 1));
    int st = p && order ? HNTK_OK : hntk_fail(HNTK_ENOMEM, "out of memory");
    long q = 0;
    for (int k = 0; k < n_res && !st; k++)
        for (int r = 0; r < res[k].R; r++)
            if (isfinite(FIELD(&res[k], p_off)[r])) p[q++] = FIELD(&res[k], p_off)[r];
    if (!st && m) st = hntk_stats_holm(p, m, o->alpha, order, p + m, NULL);
    q = 0;
    for (int k = 0; k < n_res && !st; k++)
        for (int r = 0; r < res[k].R; r++)
            if (isfinite(FIELD(&res[k], p_off)[r])) FIELD(&res[k], holm_off)[r] = p[m + q++];
#undef FIELD
    free(p);
    free(order);
    *family = m;
    return st;
}

/* A row's verdict from its Holm-adjusted p-value and its interval ci. */
static int verdict_of(const thm1_opts *o, double p_holm, const double ci[2])
{
    if (!isfinite(p_holm) || !isfinite(ci[0]) || ci[1] - ci[0] > o->decide_width) return V_UNDECIDED;
    return p_holm <= o->alpha ? V_DISAGREES : V_AGREES;
}

/* Holm across every row with a test, then the verdicts. */
static int decide(const thm1_opts *o, cfg_result *res, int n_res, long *family)
{
    long corr_family;
    int st = holm_family(o, res, n_res, offsetof(cfg_result, p), offsetof(cfg_result, p_holm), family);
    if (!st)
        st = holm_family(o, res, n_res, offsetof(cfg_result, corr_pv), offsetof(cfg_result, corr_pv_holm),
                         &corr_family);
    for (int k = 0; k < n_res && !st; k++) {
        cfg_result *x = &res[k];
        long degree = (long)x->cfg.L * x->cfg.H;
        for (int r = 0; r < x->R; r++) {
            int all_zero = 1;
            for (size_t s = 0; s < (size_t)x->W * (size_t)x->N && all_zero; s++) all_zero = x->k[s * (size_t)x->R + r] == 0.0;
            if (r + 1 > degree) {
                x->verdict[r] = x->verdict_corr[r] = all_zero ? V_EXACT_ZERO : V_NONZERO_ABOVE_DEGREE;
            } else {
                x->verdict[r] = verdict_of(o, x->p_holm[r], &x->slope_ci[2 * r]);
                x->verdict_corr[r] = verdict_of(o, x->corr_pv_holm[r], &x->corr_p_ci[2 * r]);
            }
        }
    }
    return st;
}

/* ------------------------------------------------------------------ output */

static void print_header(const thm1_opts *o, const opts_state *state, long family)
{
    printf("hyperntk thm1 (%s preset): %s; n = ", PRESETS[state->preset].name,
           o->cfg[0].mlp ? "Lemma 3, plain MLPs" : "Theorem 1");
    for (int w = 0; w < o->W; w++) printf("%s%ld", w ? "," : "", o->widths.v[w]);
    printf("; g width m = %ld, x_dim = %ld, z_dim = %ld, angle %.4f, pair %s; %ld samples per width\n"
           "(%ld when L = 2), R = %d, bootstrap %ld, seed %llu.  Verdict from the median of |K^(r)| (heavy tails: a "
           "few samples\ndominate the RMS, shown for information): slope test z = (slope - pred)/SE (bootstrap SE), "
           "Holm over\nthe %ld tested rows at level %g ('p Holm'); 'undecided' when the slope's 95%% interval is "
           "wider than %.2f.\n",
           o->g_width, o->x_dim, o->z_dim, o->angle, o->pair_diag ? "diag K(u',u')" : "off K(u,u')", o->samples,
           o->samples_l2, o->R, o->bootstrap, (unsigned long long)o->run.seed, family, o->alpha, o->decide_width);
}

static void print_config(const thm1_opts *o, const cfg_result *res)
{
    const thm1_config *c = &res->cfg;
    int W = res->W, R = res->R, F = (int)o->fit_widths;
    if (c->mlp)
        printf("\n%s: plain MLP, L = %d (Lemma 3: T^r ~ n^-max(r-1,0)), %ld samples per width\n", c->name, c->L,
               res->N);
    else
        printf("\n%s: L = %d, H = %d, g width m = %ld, %ld samples per width\n", c->name, c->L, c->H, o->g_width,
               res->N);
    printf("  median |K^(r)| per width:\n  %7s", "n");
    for (int r = 1; r <= R; r++) printf("   r=%-7d", r);
    printf("\n");
    for (int w = 0; w < W; w++) {
        printf("  %7ld", res->widths[w]);
        for (int r = 0; r < R; r++) printf(" %10.3e", res->median[w * R + r]);
        printf("\n");
    }
    printf("  slopes of log median |K^(r)| vs log n, fit over n = %ld..%ld (bootstrap 95%%):\n", res->widths[W - F],
           res->widths[W - 1]);
    printf("  %2s %5s  %-24s %-18s %-*s %-24s %-16s %-17s %-24s %-18s %s\n", "r", "pred", "median slope [95% CI]",
           "p (p Holm)", 6 * (W - 1) + 2, "local slopes", "rms slope [95% CI]", "KS (p)", "verdict (median)",
           "corrected p [95% CI]", "p (p Holm)", "verdict (corrected)");
    for (int r = 0; r < R; r++) {
        char med[64], rms[64], ks[32], pv[40], loc[6 * MAX_WIDTHS + 8] = "", corr[64], cpv[40];
        if (res->verdict[r] == V_EXACT_ZERO) {
            snprintf(med, sizeof med, "all samples exactly 0");
            snprintf(rms, sizeof rms, "-");
            snprintf(ks, sizeof ks, "-");
            snprintf(pv, sizeof pv, "-");
            snprintf(corr, sizeof corr, "-");
            snprintf(cpv, sizeof cpv, "-");
        } else {
            snprintf(corr, sizeof corr, "%+.3f [%+.3f, %+.3f]", res->corr_p[r], res->corr_p_ci[2 * r],
                     res->corr_p_ci[2 * r + 1]);
            snprintf(cpv, sizeof cpv, "%.2g (%.2g)", res->corr_pv[r], res->corr_pv_holm[r]);
            snprintf(med, sizeof med, "%+.3f [%+.3f, %+.3f]", res->slope[r], res->slope_ci[2 * r],
                     res->slope_ci[2 * r + 1]);
            snprintf(rms, sizeof rms, "%+.3f [%+.3f, %+.3f]", res->rms_slope[r], res->rms_slope_ci[2 * r],
                     res->rms_slope_ci[2 * r + 1]);
            snprintf(ks, sizeof ks, "%.3f (%.2g)", res->ks[r], res->ks_p[r]);
            snprintf(pv, sizeof pv, "%.2g (%.2g)", res->p[r], res->p_holm[r]);
            for (int w = 0; w + 1 < W; w++) {
                char one[16];
                snprintf(one, sizeof one, "%+5.2f ", res->local[w * R + r]);
                strcat(loc, one);
            }
        }
        printf("  %2d %+5.0f  %-24s %-18s %-*s %-24s %-16s %-17s %-24s %-18s %s\n", r + 1, res->pred[r], med, pv,
               6 * (W - 1) + 2, loc, rms, ks, verdict_text(res->verdict[r]), corr, cpv,
               verdict_text(res->verdict_corr[r]));
    }
}

static int write_group(hntk_h5 *f, const thm1_opts *o, const cfg_result *res)
{
    const thm1_config *c = &res->cfg;
    long W = res->W, R = res->R, N = res->N;
    char g[48], path[160], wpath[96], opath[96], qpath[96];
    snprintf(g, sizeof g, "/%s", c->name);
    snprintf(wpath, sizeof wpath, "%s/widths", g);
    snprintf(opath, sizeof opath, "%s/orders", g);
    snprintf(qpath, sizeof qpath, "%s/quantile_levels", g);
    long orders[HNTK_TAYLOR_MAX_ORDER], dW[1] = {W}, dR[1] = {R}, dQ[1] = {N_QUANT};
    for (long r = 0; r < R; r++) orders[r] = r + 1;
    int st = hntk_h5_write_long(f, wpath, 1, dW, res->widths, "widths n of f (W)");
    if (!st) st = hntk_h5_make_scale(f, wpath, "f width n");
    if (!st) st = hntk_h5_write_long(f, opath, 1, dR, orders, "orders r = 1..R of K^(r) (R)");
    if (!st) st = hntk_h5_make_scale(f, opath, "order r");
    if (!st) st = hntk_h5_write_described(f, qpath, 1, dQ, QUANT_LEVELS,
                                          "levels of rescaled_quantiles (5)", NULL);
    if (!st) st = hntk_h5_make_scale(f, qpath, "quantile level");
    /* axes: W widths, N samples, R orders, 2 interval bounds, Q quantile levels, L = W-1 width pairs */
    static const struct {
        const char *name, *shape, *what;
    } DS[] = {
        {"k_samples", "WNR", "K^(r)(u,u') of every initialization (W widths, N samples, R orders)"},
        {"mean", "WR", "signed mean of K^(r) over the samples (W, R)"},
        {"mean_stderr", "WR", "standard error of `mean` (W, R)"},
        {"median", "WR", "median of |K^(r)| over the samples (W, R)"},
        {"median_ci", "WR2", "bootstrap 95% percentile interval of `median`: low, high (W, R, 2)"},
        {"rms", "WR", "root mean square of K^(r) (W, R)"},
        {"rms_ci", "WR2", "bootstrap 95% percentile interval of `rms`: low, high (W, R, 2)"},
        {"rescaled_quantiles", "WRQ", "quantiles of n^{-predicted} K^(r) at quantile_levels (W, R, 5)"},
        {"slope", "R", "least-squares slope of log median against log n over the fit_widths widest widths (R)"},
        {"slope_ci", "R2", "bootstrap 95% percentile interval of `slope`: low, high (R, 2)"},
        {"slope_stderr", "R", "standard deviation of the bootstrap slopes: the SE of the slope test (R)"},
        {"slope_pvalue", "R", "two-sided p-value of the Wald test slope = predicted (NaN: no test, r > L*H) (R)"},
        {"slope_pvalue_holm", "R", "slope_pvalue after Holm's correction over every tested row of the file (R)"},
        {"rms_slope", "R", "least-squares slope of log rms against log n, information only (R)"},
        {"rms_slope_ci", "R2", "bootstrap 95% percentile interval of `rms_slope` (R, 2)"},
        {"predicted", "R", "predicted exponent min(0, H - r) (MLP: -max(r - 1, 0)) (R)"},
        {"local_slope", "LR", "log(median_{w+1}/median_w) / log(n_{w+1}/n_w) (W-1 width pairs, R)"},
        {"ks", "R", "two-sample KS distance of n^{-predicted} K^(r) between the two widest widths (R)"},
        {"ks_pvalue", "R", "asymptotic p-value of `ks` (Stephens) (R)"},
        {"corrected_exponent", "R", "p of the least-squares fit log median = a + p log n + b/n over every width (R)"},
        {"corrected_exponent_ci", "R2", "bootstrap 95% percentile interval of `corrected_exponent` (R, 2)"},
        {"corrected_exponent_stderr", "R", "standard deviation of the bootstrap values of `corrected_exponent` (R)"},
        {"correction_b", "R", "b of that fit: the finite-width correction of log median (R)"},
        {"corrected_pvalue", "R", "two-sided p-value of the Wald test corrected_exponent = predicted (R)"},
        {"corrected_pvalue_holm", "R", "corrected_pvalue after Holm's correction over every tested row (R)"},
    };
    const double *data[] = {res->k, res->mean, res->mean_se, res->median, res->median_ci, res->rms, res->rms_ci,
                            res->quant, res->slope, res->slope_ci, res->slope_se, res->p, res->p_holm,
                            res->rms_slope, res->rms_slope_ci, res->pred, res->local, res->ks, res->ks_p,
                            res->corr_p, res->corr_p_ci, res->corr_p_se, res->corr_b, res->corr_pv,
                            res->corr_pv_holm};
    for (size_t k = 0; k < sizeof DS / sizeof DS[0] && !st; k++) {
        long dims[3];
        int rank = (int)strlen(DS[k].shape);
        for (int a = 0; a < rank; a++) {
            char ax = DS[k].shape[a];
            dims[a] = ax == 'W' ? W : ax == 'N' ? N : ax == 'R' ? R : ax == 'Q' ? N_QUANT : ax == 'L' ? W - 1 : 2;
        }
        snprintf(path, sizeof path, "%s/%s", g, DS[k].name);
        st = hntk_h5_write_described(f, path, rank, dims, data[k], DS[k].what, NULL);
        for (int a = 0; a < rank && !st; a++) {
            char ax = DS[k].shape[a];
            const char *scale = ax == 'W' ? wpath : ax == 'R' ? opath : ax == 'Q' ? qpath : NULL;
            if (scale) st = hntk_h5_attach_scale(f, path, a, scale);
        }
    }
    snprintf(path, sizeof path, "%s/verdict", g);
    if (!st) st = hntk_h5_write_enum(f, path, 1, dR, res->verdict, N_VERDICTS, VERDICT_NAMES, VERDICT_CODES,
                                     "verdict per order (R): agrees, disagrees (Holm rejects slope = predicted), "
                                     "undecided (slope_ci wider than `decide`), exact_zero (r > L*H), "
                                     "nonzero_above_degree (an error)");
    if (!st) st = hntk_h5_attach_scale(f, path, 0, opath);
    snprintf(path, sizeof path, "%s/verdict_corrected", g);
    if (!st) st = hntk_h5_write_enum(f, path, 1, dR, res->verdict_corr, N_VERDICTS, VERDICT_NAMES, VERDICT_CODES,
                                     "verdict per order (R) by the same rule from corrected_exponent, its interval "
                                     "and corrected_pvalue_holm (undecided with fewer than 4 widths)");
    if (!st) st = hntk_h5_attach_scale(f, path, 0, opath);
    if (!st) st = hntk_h5_attr_long(f, g, "L", c->L);
    if (!st) st = hntk_h5_attr_long(f, g, "H", c->H);
    if (!st) st = hntk_h5_attr_long(f, g, "m", c->mlp ? 1 : o->g_width);
    if (!st) st = hntk_h5_attr_long(f, g, "mlp", c->mlp);
    if (!st) st = hntk_h5_attr_long(f, g, "samples", N);
    if (!st) st = hntk_h5_attr_long(f, g, "degree", (long)c->L * c->H);
    return st;
}

static int write_results(const grid_data *d, const cfg_result *res, long family, const opts_output *out)
{
    hntk_h5 *f;
    int st = hntk_h5_create(d->o->run.out, &f);
    if (st) return st;
    for (int k = 0; k < d->o->n_cfg && !st; k++) st = write_group(f, d->o, &res[k]);
    if (!st) st = hntk_h5_attr_string(f, "/", "verdict_statistic", "median");
    if (!st) st = hntk_h5_attr_string(f, "/", "slope_test", SLOPE_TEST);
    if (!st) st = hntk_h5_attr_long(f, "/", "slope_tests", family);
    return opts_commit_result(f, st, &COMMAND, d->o, out);
}

/* Columns for gnuplot: DIR/index.dat (one configuration per line) and DIR/<name>.dat:
 * n, then per r: median, CI low, CI high, predicted line anchored at the widest width. */
static int export_columns(const char *dir, const cfg_result *res, int n_res)
{
    if (mkdir(dir, 0777) && errno != EEXIST)
        return hntk_fail(HNTK_EIO, "--export-dir: cannot create '%s': %s", dir, strerror(errno));
    char path[4096], tmp[4200];
    for (int k = -1; k < n_res; k++) {
        if (k < 0) snprintf(path, sizeof path, "%s/index.dat", dir);
        else snprintf(path, sizeof path, "%s/%s.dat", dir, res[k].cfg.name);
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
        /* Created exclusively, never through a link planted at the predictable name. */
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (fd >= 0 && !fp) close(fd);
        if (!fp) return hntk_fail(HNTK_EIO, "--export-dir: cannot write '%s': %s", tmp, strerror(errno));
        if (k < 0) {
            fprintf(fp, "# hyperntk thm1: name L H orders mlp (one configuration per line)\n");
            for (int q = 0; q < n_res; q++)
                fprintf(fp, "%s %d %d %d %d\n", res[q].cfg.name, res[q].cfg.L, res[q].cfg.H, res[q].R, res[q].cfg.mlp);
        } else {
            const cfg_result *x = &res[k];
            int W = x->W, R = x->R;
            fprintf(fp, "# hyperntk thm1 %s: n, then for r = 1..%d: median |K^(r)|, 95%% CI low, high, "
                        "predicted n^p through the widest width (NaN where K^(r) = 0)\n# predicted p:",
                    x->cfg.name, R);
            for (int r = 0; r < R; r++) fprintf(fp, " %g", x->pred[r]);
            fprintf(fp, "\n");
            for (int w = 0; w < W; w++) {
                fprintf(fp, "%ld", x->widths[w]);
                for (int r = 0; r < R; r++) {
                    double m = x->median[w * R + r], last = x->median[(W - 1) * R + r];
                    double line = last > 0 ? last * pow(x->wd[w] / x->wd[W - 1], x->pred[r]) : NAN;
                    if (!(m > 0)) fprintf(fp, " NaN NaN NaN NaN");
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

/* ------------------------------------------------------------------ the end of a run */

static int finish(const void *data, const hntk_checkpoint *ck, const opts_output *out)
{
    const grid_data *d = data;
    const thm1_opts *o = d->o;
    int W = o->W, R = o->R, st = HNTK_OK, n = 0;
    cfg_result *res = calloc((size_t)o->n_cfg, sizeof *res);
    if (!res) return hntk_fail(HNTK_ENOMEM, "cannot allocate results");
    for (; n < o->n_cfg && !st; n++) {
        cfg_result *x = &res[n];
        long N = config_samples(o, &o->cfg[n]);
        if ((st = result_alloc(x, &o->cfg[n], W, R, N))) break;
        for (int w = 0; w < W; w++) {
            const double *v = hntk_checkpoint_values(ck, (long)n * W + w);
            x->widths[w] = o->widths.v[w];
            x->wd[w] = (double)o->widths.v[w];
            for (int r = 0; r < R; r++) {
                x->mean[w * R + r] = v[r];
                x->mean_se[w * R + r] = v[R + r];
            }
            memcpy(x->k + (size_t)w * (size_t)N * (size_t)R, v + 2 * R, sizeof(double) * (size_t)N * (size_t)R);
        }
        st = analyse(o, x);
    }
    long family = 0;
    if (!st) st = decide(o, res, o->n_cfg, &family);
    if (!st && grid_is_root()) {
        print_header(o, out->state, family);
        for (int k = 0; k < o->n_cfg; k++) print_config(o, &res[k]);
        printf("\n");
        fflush(stdout);
        st = write_results(d, res, family, out);
        if (!st && o->export_dir) st = export_columns(o->export_dir, res, o->n_cfg);
    }
    for (int k = 0; k < n; k++) result_free(&res[k]);
    free(res);
    return st;
}

/* What finish allocates after the cells, for the budget (grid_spec.finish_bytes):
 * every configuration's results at once (the per-sample K^(r), W x N x R, and
 * the block of statistics), the bootstrap of one configuration at a time
 * (analyse: W x NB x 2R replicates and its scratch), and the result file, which
 * holds the per-sample K^(r) again and is built in memory and copied once at
 * commit (h5io). */
static size_t finish_bytes(const thm1_opts *o, int threads)
{
    double results = 0, boot = 0, W = (double)o->W, R = (double)o->R, NB = (double)o->bootstrap;
    for (int k = 0; k < o->n_cfg; k++) {
        double N = (double)config_samples(o, &o->cfg[k]);
        results += W * N * R + 10 * W * R + W * R * N_QUANT + 14 * R;
        double b = W * NB * 2 * R + (2.0 * threads + 2) * N + 2 * (NB > N ? NB : N) + (double)threads * N;
        if (b > boot) boot = b;
    }
    double bytes = sizeof(double) * (results + boot + 2 * results);
    return bytes > (double)SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)bytes;
}

/* --export-dir before the run, not after OUT.h5 is written: it must be a
 * directory, or a path whose parent directory exists (it is created). */
static int check_export_dir(const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) == 0)
        return S_ISDIR(sb.st_mode) ? HNTK_OK
                                   : hntk_fail(HNTK_EIO, "--export-dir: '%s' exists and is not a directory", dir);
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", dir);
    size_t n = strlen(parent);
    while (n > 1 && parent[n - 1] == '/') parent[--n] = '\0';
    char *slash = strrchr(parent, '/');
    if (!slash) snprintf(parent, sizeof parent, ".");
    else if (slash == parent) parent[1] = '\0';
    else *slash = '\0';
    if (stat(parent, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return hntk_fail(HNTK_EIO, "--export-dir: cannot create '%s': the directory '%s' does not exist", dir, parent);
    if (access(parent, W_OK | X_OK) != 0)
        return hntk_fail(HNTK_EIO, "--export-dir: cannot create '%s' in '%s': %s", dir, parent, strerror(errno));
    return HNTK_OK;
}

/* ------------------------------------------------------------------ --from */

/* Read a group of a result file back (shapes checked against the schema). Files
 * written before the integer widths and the enum verdict are read too. */
static int read_group(const char *path, const char *name, cfg_result *res)
{
    char g[48], ds[96];
    snprintf(g, sizeof g, "/%s", name);
    long L, H, mlp, dims[3];
    int st = hntk_h5_read_attr_long(path, g, "L", &L);
    if (!st) st = hntk_h5_read_attr_long(path, g, "H", &H);
    if (!st) st = hntk_h5_read_attr_long(path, g, "mlp", &mlp);
    long *iw = NULL;
    double *dw = NULL, *pred = NULL;
    snprintf(ds, sizeof ds, "%s/widths", g);
    if (!st && hntk_h5_read_long(path, ds, 1, dims, &iw)) st = hntk_h5_read(path, ds, 1, dims, &dw);
    long W = st ? 0 : dims[0];
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
        for (long w = 0; w < W; w++) {
            res->widths[w] = iw ? iw[w] : (long)dw[w];
            res->wd[w] = (double)res->widths[w];
        }
        memcpy(res->pred, pred, sizeof(double) * (size_t)R);
    }
    free(iw);
    free(dw);
    free(pred);
    /* every other dataset: its shape (those added with the Holm test only if present) */
    static const struct {
        const char *name;
        int rank, shape, optional;
    } SCHEMA[] = {{"median", 2, 0, 0}, {"median_ci", 3, 1, 0}, {"rms", 2, 0, 0}, {"rms_ci", 3, 1, 0},
                  {"mean", 2, 0, 0}, {"mean_stderr", 2, 0, 0}, {"slope", 1, 2, 0}, {"slope_ci", 2, 3, 0},
                  {"rms_slope", 1, 2, 0}, {"rms_slope_ci", 2, 3, 0}, {"local_slope", 2, 4, 0},
                  {"rescaled_quantiles", 3, 5, 0}, {"ks", 1, 2, 0}, {"ks_pvalue", 1, 2, 0}, {"k_samples", 3, 6, 0},
                  {"slope_stderr", 1, 2, 1}, {"slope_pvalue", 1, 2, 1}, {"slope_pvalue_holm", 1, 2, 1}};
    long want[7][3] = {{W, R, -1}, {W, R, 2}, {R, -1, -1}, {R, 2, -1}, {W - 1, R, -1}, {W, R, N_QUANT}, {W, -1, R}};
    for (size_t k = 0; k < sizeof SCHEMA / sizeof SCHEMA[0] && !st; k++) {
        double *data = NULL;
        snprintf(ds, sizeof ds, "%s/%s", g, SCHEMA[k].name);
        if (SCHEMA[k].optional && !hntk_h5_exists(path, ds)) continue;
        st = hntk_h5_read_shaped(path, ds, SCHEMA[k].rank, want[SCHEMA[k].shape], dims, &data);
        if (!st && !strcmp(SCHEMA[k].name, "median")) memcpy(res->median, data, sizeof(double) * (size_t)(W * R));
        if (!st && !strcmp(SCHEMA[k].name, "median_ci"))
            memcpy(res->median_ci, data, sizeof(double) * (size_t)(2 * W * R));
        free(data);
    }
    /* the verdicts: an enum, or reals in files from before */
    snprintf(ds, sizeof ds, "%s/verdict", g);
    int *codes = NULL;
    double *reals = NULL;
    if (!st && hntk_h5_read_enum(path, ds, 1, dims, &codes)) st = hntk_h5_read(path, ds, 1, dims, &reals);
    if (!st && dims[0] != R)
        st = hntk_fail(HNTK_EFORMAT, "%s: %s has %ld values, not the %ld orders", path, ds, dims[0], R);
    free(codes);
    free(reals);
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
    if (!st) st = export_columns(o->export_dir, res, n);
    if (!st) printf("exported %d configuration(s) of %s to %s\n", n, o->from, o->export_dir);
    for (int k = 0; k < n; k++) result_free(&res[k]);
    return st;
}

/* ------------------------------------------------------------------ --bench */

typedef struct {
    hntk_worker *w;
    const double *X, *Z;
    uint64_t key;
    double K[BATCH * HNTK_TAYLOR_MAX_ORDER];
    int what; /* 0: forward + backward of 1 input; 1: of the pair; 2: all R orders for the pair */
} bench_ctx;

/* Dense: the weights drawn once, outside the timing.  Lazy: a sample is its
 * weights' queries, so every call draws (sample 0 again: same work). */
static void bench_once(bench_ctx *b)
{
    long B = b->what == 0 ? 1 : BATCH;
    if (b->w->lazy) {
        if (b->what < 2) hntk_lazy_sample(b->w->lazy, b->key, 0, B, b->X, b->Z);
        else hntk_taylor_kernels_lazy(b->w->lazy, b->w->taylor, b->key, 0, BATCH, b->X, b->Z, 1, b->K);
    } else if (b->what < 2) {
        hntk_net_forward(b->w->net, B, b->X, b->Z, NULL);
        hntk_net_backward(b->w->net);
    } else {
        hntk_taylor_kernels(b->w->net, b->w->taylor, BATCH, b->X, b->Z, 1, b->K);
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

static int run_bench(const thm1_opts *o, const grid_data *d)
{
    long n = o->widths.v[o->W - 1];
    printf("hyperntk thm1 --bench: cost of all R = %d orders K^(1..R)(u, u') for one pair (Taylor mode)\n"
           "against one forward + backward pass of one input, f width n = %ld, g width m = %ld, 1 thread,\n"
           "%s sampler\n",
           o->R, n, o->g_width, opts_sampler_names[o->sampler]);
    printf("  %-8s %12s %12s %12s %9s %9s %8s\n", "config", "fwd+bwd(1)", "fwd+bwd(2)", "K^(1..R)", "ratio", "jets",
           "R + 2");
    for (int k = 0; k < o->n_cfg; k++) {
        const thm1_config *c = &o->cfg[k];
        hntk_hyper_arch a = config_arch(o, c, n);
        hntk_pool_needs needs = {.batch = BATCH, .taylor_order = o->R, .lazy = o->sampler == SAMPLER_LAZY};
        hntk_pool *pool;
        int st = hntk_pool_alloc(&a, &needs, 1, (size_t)(o->run.budget_gib * 1073741824.0), &pool);
        if (st) return st;
        bench_ctx b = {.w = hntk_pool_worker(pool, 0), .X = d->X, .Z = c->mlp ? d->Zm : d->Zh,
                       .key = stream_key(o->run.seed, c, n)};
        if (b.w->net) hntk_net_sample_weights(b.w->net, b.key, 0);
        double t[3];
        for (b.what = 0; b.what < 3; b.what++) t[b.what] = bench_time(&b, o->bench_seconds);
        /* ratio: everything the pair needs (its forward/backward and the jets) over one
         * forward + backward; jets: the Taylor part alone */
        printf("  %-8s %9.3f ms %9.3f ms %9.3f ms %9.2f %9.2f %8d\n", c->name, 1e3 * t[0], 1e3 * t[1], 1e3 * t[2],
               t[2] / t[0], (t[2] - t[1]) / t[0], o->R + 2);
        hntk_pool_free(pool);
    }
    printf("ratio = K^(1..R) / fwd+bwd(1) (target <= R + 2); jets = (K^(1..R) - fwd+bwd(2)) / fwd+bwd(1).\n"
           "%s\n", o->sampler == SAMPLER_LAZY ? "Lazy: every time includes drawing the answers (that is the sample)."
                                               : "Weight sampling is excluded from every time.");
    return HNTK_OK;
}

/* ------------------------------------------------------------------ entry */

int hntk_cmd_thm1(int argc, char **argv)
{
    thm1_opts o;
    opts_state state;
    int st = parse_options(argc, argv, &o, &state);
    if (st) return st < 0 ? CLI_EXIT_OK : st;
    if (o.from) {
        st = export_from_file(&o);
        return st ? cli_report(CMD, st) : CLI_EXIT_OK;
    }
    grid_data data = {.o = &o};
    opts_output out = {&state, argc, argv, 0.0};
    data.X = malloc(sizeof(double) * (size_t)(BATCH * o.x_dim));
    data.Zh = malloc(sizeof(double) * (size_t)(BATCH * o.z_dim));
    data.Zm = malloc(sizeof(double) * BATCH);
    if (!data.X || !data.Zh || !data.Zm) st = hntk_fail(HNTK_ENOMEM, "cannot allocate the inputs");
    if (!st) {
        make_inputs(&o, 0, data.X, data.Zh);
        make_inputs(&o, 1, data.X, data.Zm);
    }
    for (int k = 0; k < o.n_cfg; k++) {
        if (config_samples(&o, &o.cfg[k]) > data.max_n) data.max_n = config_samples(&o, &o.cfg[k]);
        hntk_hyper_arch widest = config_arch(&o, &o.cfg[k], o.widths.v[o.W - 1]);
        if (!st) st = grid_validate_widest(&widest, o.sampler, "--widths");
    }
    if (!st && o.export_dir && !o.bench) st = check_export_dir(o.export_dir);
    int code;
    if (o.bench) {
        if (!st) st = run_bench(&o, &data);
        code = st ? cli_report(CMD, st) : CLI_EXIT_OK;
    } else {
        grid_spec grid = {.cmd = CMD, .what = "cells", .cells = (long)o.n_cfg * o.W,
                          .cell_dim = 2L * o.R + data.max_n * o.R, .collect = 1, .sample = thm1_sample,
                          .driver = &data, .describe = describe_cell, .values = grid_values,
                          .finish_bytes = finish_bytes(&o, hntk_mc_max_threads()),
                          .finish_what = "every width's per-sample K^(r), the bootstrap and the result file"};
        code = grid_main(st, &grid, &COMMAND, &o, CKPT_FORMAT, &o.run, &out, finish);
    }
    free(data.X);
    free(data.Zh);
    free(data.Zm);
    return code;
}
