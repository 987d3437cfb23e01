/* kernel.c: `hyperntk kernel`: empirical hyperkernel and NNGP of a
 * hypernetwork over independent initializations, against the analytic limit,
 * on the inputs of an HDF5 file (schema: docs/file-formats.md).
 *
 * Fourier features (--fourier k): p_i(z) = sqrt(2) cos(w_i.z + b_i), i = 1..k,
 * w_i ~ N(0, s^-2 I), b_i ~ U[-pi, pi], are g's input.  Every limit below is
 * a function of S(x,x') and of g's input kernel Shat^0(z,z'):
 *   k -> infinity:     Shat^0 = exp(-|z-z'|^2/(2 s^2))          /analytic/ntk, nngp
 *   drawn features:    Shat^0 = (1/k) sum_i p_i(z) p_i(z')      /analytic/ntk_drawn_features, ...
 * --fourier-draw per-sample (default) redraws the features with every sample,
 * so the Monte Carlo mean converges to the expectation of the limit over the
 * draw.  For H = 1 the limits are linear in Shat^0 and that expectation is the
 * k -> infinity limit exactly; for H >= 2 it has no closed form and is
 * computed by averaging the drawn-features limit over --fourier-mean-draws
 * independent draws (/analytic/ntk_feature_mean, with its standard error).
 * --fourier-draw fixed draws them once per run (streams of the reserved sample
 * HNTK_FOURIER_RUN_SAMPLE), as a preprocessing step is in practice; the
 * reference is then the drawn-features limit, in closed form.
 * The printed z-scores compare like with like (the "reference"); the z
 * against the k -> infinity limit is printed beside them. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"

static const char *CMD = "kernel";

enum { DRAW_PER_SAMPLE = 0, DRAW_FIXED = 1 };
static const char *const DRAW_NAMES[] = {"per-sample", "fixed", NULL};
static const char *const VARIANT_NAMES[] = {"paper", "authors-code", NULL}; /* = hntk_variant order */

/* The key of the feature draws of the per-sample reference: hntk_rng_derive_key(seed, this). */
#define FEATURE_MEAN_KEY_CODE 0x6b65726e656c4d45ULL /* "kernelME" */

typedef struct {
    int f_depth, g_depth;
    long f_width, g_width;
    long samples;
    uint64_t seed;
    const char *inputs, *out;
    long fourier_k;
    double fourier_scale;
    int fourier_draw;
    long mean_draws;
    int variant;
    int fntk;  /* also measure K^f between f's outputs (costly: P x P x n per sample) */
    long rows; /* pairs shown in the table */
    double budget_gib;
    const char *dump; /* --dump-weights FILE: one sample's weights and kernel, for peers */
    long dump_sample;
    int sampler;      /* SAMPLER_DENSE (hntk_net) or SAMPLER_LAZY (lazy.h) */
    int save_samples; /* --save-samples: every sample's K^h and NNGP in /samples */
} kernel_opts;

#define F(field) offsetof(kernel_opts, field)
static const opt_spec SPECS[] = {
    {"inputs", "FILE", OPT_STRING, F(inputs), 0, 0, NULL, "float64 datasets x (B, x_dim) and z (B, z_dim), used as given",
     OPT_REQUIRED | OPT_CONFIG},
    {"out", "FILE", OPT_STRING, F(out), 0, 0, NULL, "result file (written atomically; schema in docs/file-formats.md)",
     OPT_REQUIRED},
    {"f-depth", "L", OPT_INT, F(f_depth), 1, HNTK_MAX_DEPTH, "3", "weight layers of f", OPT_CONFIG},
    {"f-width", "n", OPT_LONG, F(f_width), 1, HNTK_MAX_WIDTH, "1000", "hidden width of f", OPT_CONFIG},
    {"g-depth", "H", OPT_INT, F(g_depth), 1, HNTK_MAX_DEPTH, "2", "weight layers of g", OPT_CONFIG},
    {"g-width", "m", OPT_LONG, F(g_width), 1, HNTK_MAX_WIDTH, "200", "hidden width of g", OPT_CONFIG},
    {"samples", "N", OPT_LONG, F(samples), 2, 2147483647.0, "100", "independent initializations", OPT_CONFIG},
    {"seed", "S", OPT_SEED, F(seed), 0, 0, "1", "seed; sample i uses streams (S, i)", OPT_CONFIG},
    {"fourier", "k", OPT_LONG, F(fourier_k), 0, HNTK_MAX_WIDTH, "0",
     "use k Fourier features sqrt(2) cos(w.z + b) of z as g's input (0: z itself)", OPT_CONFIG},
    {"fourier-scale", "s", OPT_DOUBLE, F(fourier_scale), 1e-300, 1e300, "1", "Fourier length scale: w ~ N(0, s^-2 I)",
     OPT_CONFIG},
    {"fourier-draw", "D", OPT_CHOICE, F(fourier_draw), 0, 0, "per-sample",
     "per-sample: new features with every sample (the default: the result files of\n"
     "earlier runs stay reproducible); fixed: drawn once per run from the seed, as a\n"
     "preprocessing step is in practice.  Each has its own reference for the z-scores",
     OPT_CONFIG, DRAW_NAMES},
    {"fourier-mean-draws", "M", OPT_LONG, F(mean_draws), 100, 1e9, "10000",
     "per-sample features with H >= 2: feature draws averaged for the finite-k\n"
     "reference E_draw[Theta^h] (no closed form; its standard error enters z)", OPT_CONFIG},
    {"variant", "V", OPT_CHOICE, F(variant), 0, 0, "paper",
     "analytic limit: paper, or authors-code (no S(x,x') in the backward products;\nfor comparison only)", OPT_CONFIG,
     VARIANT_NAMES},
    {"fntk", NULL, OPT_FLAG, F(fntk), 0, 0, NULL,
     "also record K^f(x_0,x_0) and K^f(x_0,x_1): diagonal mean and off-diagonal RMS\n(costs O(P^2 n) per sample)", 0},
    {"rows", "R", OPT_LONG, F(rows), 0, 1000000, "10", "input pairs shown in the table", 0},
    {"mem-budget", "GiB", OPT_DOUBLE, F(budget_gib), 1e-6, 1e6, NULL,
     "refuse runs whose workers need more memory (default 3/4 of RAM)", 0},
    {"dump-weights", "FILE", OPT_STRING, F(dump), 0, 0, NULL,
     "also write sample I's weights W^1..W^L (raw N(0,1)), the inputs, h and that\n"
     "sample's K^h to FILE, for checks against other code (bench/torch_peer.py)", 0},
    {"dump-sample", "I", OPT_LONG, F(dump_sample), 0, 2147483646.0, "0", "the sample dumped, 0..samples-1", 0},
    {"sampler", "S", OPT_CHOICE, F(sampler), 0, 0, "dense",
     "how f's weights are sampled: dense (hntk_net: the results of earlier runs bit for\n"
     "bit) or lazy (lazy.h, Gaussian conditioning: exact in distribution, not the same\n"
     "numbers; no --fourier, --fntk or --dump-weights)", OPT_CONFIG, opts_sampler_names},
    {"save-samples", NULL, OPT_FLAG, F(save_samples), 0, 0, NULL,
     "also write every sample's K^h and h(u)h(u') to /samples/ntk and /samples/nngp\n"
     "(N, B, B): 16 N B^2 bytes, counted in the memory budget", 0},
};
#undef F

static const opt_command COMMAND = {
    .cmd = "kernel",
    .synopsis = "--inputs IN.h5 --out OUT.h5 [OPTIONS]",
    .summary = "Empirical hyperkernel K^h and NNGP h(u)h(u') over independent initializations,\n"
               "against the infinite-width limits Theta^h and Lambda^H (docs/theory.md §2-§3).",
    .footer = "Fourier features: the z-scores compare the mean with the limit it converges to: with fixed\n"
              "features, the limit for the features drawn (input kernel (1/k) sum_i p_i(z) p_i(z'));\n"
              "with per-sample features, its expectation over the draw (= the k -> infinity limit when\n"
              "H = 1, otherwise averaged over --fourier-mean-draws draws).  The z against the k -> infinity\n"
              "limit exp(-|z-z'|^2/(2 s^2)) is shown beside it.\n"
              "Threads: OMP_NUM_THREADS; processes: mpirun -np K.  The result is bit-identical for any\n"
              "thread or process count.  Theory: docs/theory.md.",
    .specs = SPECS,
    .n_specs = (int)(sizeof SPECS / sizeof SPECS[0]),
};

static int parse_options(int argc, char **argv, kernel_opts *o, opts_state *state)
{
    memset(o, 0, sizeof *o);
    o->budget_gib = (double)cli_default_budget() / 1073741824.0;
    int st = opts_parse(&COMMAND, argc, argv, o, state);
    if (st) return st;
    if (opts_given(&COMMAND, state, "dump-sample") && !o->dump)
        return cli_usage_error(CMD, "--dump-sample needs --dump-weights FILE (given: --dump-sample %ld alone)",
                               o->dump_sample);
    if (o->dump_sample >= o->samples)
        return cli_usage_error(CMD, "--dump-sample: %ld is not a sample of this run: accepted 0..%ld", o->dump_sample,
                               o->samples - 1);
    /* By device and inode, not by spelling: "./k.h5" is "k.h5". */
    if (o->dump && cli_same_file(o->dump, o->out))
        return cli_usage_error(CMD, "--dump-weights: '%s' is also the --out file '%s'", o->dump, o->out);
    if (cli_same_file(o->inputs, o->out))
        return cli_usage_error(CMD, "--out: '%s' is the --inputs file '%s': it would be replaced", o->out, o->inputs);
    if (o->dump && cli_same_file(o->inputs, o->dump))
        return cli_usage_error(CMD, "--dump-weights: '%s' is the --inputs file '%s': it would be replaced", o->dump,
                               o->inputs);
    if (o->sampler == SAMPLER_LAZY) {
        if (o->fourier_k > 0)
            return cli_usage_error(CMD, "--sampler lazy with --fourier %ld: the lazy sampler has no Fourier features "
                                        "(lazy.c v1); use --sampler dense or --fourier 0", o->fourier_k);
        if (o->fntk)
            return cli_usage_error(CMD, "--sampler lazy with --fntk: K^f needs f's whole Jacobian, which the lazy "
                                        "sampler never forms; use --sampler dense");
        if (o->dump)
            return cli_usage_error(CMD, "--sampler lazy with --dump-weights: the lazy sampler never draws the weight "
                                        "matrices W^l; use --sampler dense");
    }
    if (o->fourier_k == 0 && opts_given(&COMMAND, state, "fourier-draw"))
        return cli_usage_error(CMD, "--fourier-draw %s: no Fourier features (--fourier 0); accepted with --fourier "
                                    "1..%ld", DRAW_NAMES[o->fourier_draw], (long)HNTK_MAX_WIDTH);
    return 0;
}

/* ---- the shared, read-only description of the work (a worker's ->job) ---- */

typedef struct {
    hntk_hyper_arch arch;
    hntk_variant variant;
    long B;
    const double *X, *Z;
    uint64_t seed;     /* streams (seed, sample) of the networks */
    uint64_t mean_key; /* streams (mean_key, draw) of the feature draws of the per-sample reference */
    int fntk;
    hntk_cov *xcov;    /* (B, B) x-triples, for the per-sample reference */
} kernel_job;

enum { FNTK_STATS = 4 }; /* diag mean and off-diag RMS of K^f(x_0,x_0), then of K^f(x_0,x_1) */

/* One initialization: [K^h (B,B) | NNGP (B,B) | c.c' (B,B) (hntk_empirical_sample) | K^f stats (4, with --fntk)]. */
static int kernel_sample(void *ctx, long sample, double *out)
{
    hntk_worker *w = ctx;
    const kernel_job *j = w->job;
    long B = j->B;
    int st = hntk_empirical_sample(w, j->seed, (uint32_t)sample, B, j->X, j->Z, out);
    if (st) return st;
    if (j->fntk) {
        double *f = out + 3 * B * B;
        hntk_net_fntk_stats(w->net, w->fntk, 0, 0, &f[0], &f[1]);
        hntk_net_fntk_stats(w->net, w->fntk, 0, B > 1 ? 1 : 0, &f[2], &f[3]);
    }
    return HNTK_OK;
}

/* Doubles of the worker buffer of one feature draw: freq, phase, Phi, Shat^0. */
static long draw_doubles(const hntk_hyper_arch *a, long B)
{
    long k = a->fourier_k;
    return k * (a->z_dim + 1) + B * k + B * B;
}

/* One feature draw of the per-sample reference: [Theta^h (B,B) | Lambda^H (B,B)]
 * for the input kernel of the features of stream (mean_key, draw). */
static int feature_draw_sample(void *ctx, long draw, double *out)
{
    hntk_worker *w = ctx;
    const kernel_job *j = w->job;
    const hntk_hyper_arch *a = &j->arch;
    long B = j->B, k = a->fourier_k;
    double *freq = w->out, *phase = freq + k * a->z_dim, *phi = phase + k, *kz = phi + B * k;
    hntk_fourier_draw(a, j->mean_key, (uint32_t)draw, freq, phase);
    hntk_fourier_features(k, a->z_dim, freq, phase, B, j->Z, phi);
    hntk_fourier_feature_gram(k, B, phi, kz);
    for (long p = 0; p < B; p++)
        for (long q = p; q < B; q++) {
            hntk_cov zc = {kz[p * B + p], kz[p * B + q], kz[q * B + q]};
            hntk_limit lim;
            hntk_limit_hyper(a->f_depth, a->g_depth, j->xcov[p * B + q], zc, j->variant, &lim);
            out[p * B + q] = out[q * B + p] = lim.theta_h;
            out[B * B + p * B + q] = out[B * B + q * B + p] = lim.lambda_h;
        }
    return HNTK_OK;
}

/* ---- the run ---- */

typedef struct {
    long B, x_dim, z_dim;
    double *X, *Z;
    hntk_hyper_arch arch;
    kernel_job job;
    hntk_pool *pool;
    hntk_stats_moments *acc;
    double *var, *se;               /* (dim) */
    double *theta_inf, *lambda_inf; /* (B,B) limits with the raw or the k -> infinity input kernel */
    /* fixed features: the features, their input kernel and limits */
    double *freq, *phase, *phi, *shat0, *theta_drawn, *lambda_drawn;
    /* per-sample features, H >= 2: the expectation over the draw and its standard error */
    hntk_stats_moments *mean_acc;
    double *mean_var, *mean_se;     /* (2 B B) */
    /* the reference of the z-scores */
    const double *ref_t, *ref_l, *ref_t_se, *ref_l_se; /* se may be NULL */
    const char *ref_name, *ref_t_path, *ref_l_path;
    int threads;
    double *saved_ntk, *saved_nngp; /* --save-samples: (N, B, B) each, filled by collect_sample */
} kernel_run;

/* hntk_mc_job.collect: keep sample i's K^h and NNGP (called in sample order, on every rank). */
static void collect_sample(void *data, long sample, const double *stats)
{
    kernel_run *r = data;
    size_t BB = (size_t)(r->B * r->B);
    memcpy(r->saved_ntk + (size_t)sample * BB, stats, sizeof(double) * BB);
    memcpy(r->saved_nngp + (size_t)sample * BB, stats + BB, sizeof(double) * BB);
}

static void run_free(kernel_run *r)
{
    hntk_pool_free(r->pool);
    hntk_stats_moments_free(r->acc);
    hntk_stats_moments_free(r->mean_acc);
    double *bufs[] = {r->X, r->Z, r->var, r->se, r->theta_inf, r->lambda_inf, r->freq, r->phase, r->phi, r->shat0,
                      r->theta_drawn, r->lambda_drawn, r->mean_var, r->mean_se, r->saved_ntk, r->saved_nngp};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(r->job.xcov);
}

static int alloc_doubles(long n, double **p)
{
    *p = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    return *p ? HNTK_OK : hntk_fail(HNTK_ENOMEM, "cannot allocate %ld doubles of results", n);
}

static int fourier_on(const kernel_run *r) { return r->arch.fourier_k > 0; }
static int per_sample_mean(const kernel_opts *o, const kernel_run *r)
{
    return fourier_on(r) && o->fourier_draw == DRAW_PER_SAMPLE && r->arch.g_depth >= 2;
}

/* Every limit, and the choice of the reference. */
static int compute_limits(const kernel_opts *o, kernel_run *r)
{
    long B = r->B, BB = B * B, k = r->arch.fourier_k;
    int st = alloc_doubles(BB, &r->theta_inf);
    if (!st) st = alloc_doubles(BB, &r->lambda_inf);
    if (!st) st = hntk_limit_batch(&r->arch, r->job.variant, B, r->X, r->Z, r->theta_inf, r->lambda_inf);
    if (st) return st;
    r->ref_t = r->theta_inf;
    r->ref_l = r->lambda_inf;
    r->ref_t_path = "/analytic/ntk";
    r->ref_l_path = "/analytic/nngp";
    r->ref_name = !fourier_on(r) ? "the limit" : "the k -> infinity limit, exact for per-sample features when H = 1";
    if (fourier_on(r) && o->fourier_draw == DRAW_FIXED) {
        /* r->freq, r->phase: drawn before the pool was made */
        if (!st) st = alloc_doubles(B * k, &r->phi);
        if (!st) st = alloc_doubles(BB, &r->shat0);
        if (!st) st = alloc_doubles(BB, &r->theta_drawn);
        if (!st) st = alloc_doubles(BB, &r->lambda_drawn);
        if (st) return st;
        hntk_fourier_features(k, r->z_dim, r->freq, r->phase, B, r->Z, r->phi);
        hntk_fourier_feature_gram(k, B, r->phi, r->shat0);
        st = hntk_limit_batch_zgram(&r->arch, r->job.variant, B, r->X, r->shat0, r->theta_drawn, r->lambda_drawn);
        r->ref_t = r->theta_drawn;
        r->ref_l = r->lambda_drawn;
        r->ref_t_path = "/analytic/ntk_drawn_features";
        r->ref_l_path = "/analytic/nngp_drawn_features";
        r->ref_name = "the limit for the features drawn (fixed for the run)";
    }
    if (!st && per_sample_mean(o, r)) {
        r->job.xcov = malloc(sizeof(hntk_cov) * (size_t)BB);
        if (!r->job.xcov) return hntk_fail(HNTK_ENOMEM, "cannot allocate %ld covariance triples", BB);
        for (long p = 0; p < B; p++)
            for (long q = 0; q < B; q++) {
                const double *xp = r->X + p * r->x_dim, *xq = r->X + q * r->x_dim;
                double pp = 0, pq = 0, qq = 0;
                for (long d = 0; d < r->x_dim; d++) {
                    pp += xp[d] * xp[d];
                    pq += xp[d] * xq[d];
                    qq += xq[d] * xq[d];
                }
                r->job.xcov[p * B + q] = (hntk_cov){pp / (double)r->x_dim, pq / (double)r->x_dim, qq / (double)r->x_dim};
            }
        if (!st) st = hntk_stats_moments_alloc(2 * BB, &r->mean_acc);
        if (!st) st = alloc_doubles(2 * BB, &r->mean_var);
        if (!st) st = alloc_doubles(2 * BB, &r->mean_se);
        if (st) return st;
        cli_progress progress;
        cli_progress_init(&progress, "kernel feature draws");
        hntk_mc_job job = {.samples = o->mean_draws, .dim = 2 * BB, .n_ctx = r->threads, .ctx = hntk_pool_ctx(r->pool),
                           .fn = feature_draw_sample, .progress = cli_progress_update, .progress_data = &progress};
        st = hntk_mc_run(&job, r->mean_acc);
        cli_progress_end(&progress);
        if (st) return st;
        hntk_stats_moments_finish(r->mean_acc, r->mean_var, r->mean_se);
        r->ref_t = r->mean_acc->mean;
        r->ref_l = r->mean_acc->mean + BB;
        r->ref_t_se = r->mean_se;
        r->ref_l_se = r->mean_se + BB;
        r->ref_t_path = "/analytic/ntk_feature_mean";
        r->ref_l_path = "/analytic/nngp_feature_mean";
        r->ref_name = "the expectation of the limit over the feature draw (Monte Carlo over draws)";
    }
    return st;
}

static double zscore(double mean, double se, double ref, const double *ref_se, long k)
{
    double s2 = se * se + (ref_se ? ref_se[k] * ref_se[k] : 0.0);
    return (mean - ref) / sqrt(s2);
}

static void print_table(const kernel_opts *o, const kernel_run *r)
{
    long B = r->B, shown = 0, BB = B * B;
    const double *mean = r->acc->mean;
    int four = fourier_on(r);
    printf("hyperntk kernel: L=%d n=%ld H=%d m=%ld, %ld samples, seed %llu, variant %s\n", r->arch.f_depth,
           r->arch.f_width, r->arch.g_depth, r->arch.g_width, o->samples, (unsigned long long)o->seed,
           hntk_variant_name(r->job.variant));
    if (four) {
        printf("Fourier features: k = %ld, s = %g, drawn %s; z = (mean - reference)/stderr, reference: %s%s\n",
               r->arch.fourier_k, r->arch.fourier_scale,
               o->fourier_draw == DRAW_FIXED ? "once for the run" : "anew for every sample", r->ref_name,
               r->ref_t_se ? " (its standard error included)" : "");
        if (per_sample_mean(o, r))
            printf("  (no closed form for H >= 2: Theta^h is nonlinear in the input kernel; reference averaged over "
                   "%ld feature draws)\n", o->mean_draws);
        printf("  z inf: against the k -> infinity limit exp(-|z-z'|^2/(2 s^2)) (%s)\n",
               o->fourier_draw == DRAW_FIXED || per_sample_mean(o, r) ? "not what the mean converges to at finite k"
                                                                      : "the same");
    }
    printf("%4s %4s | %24s %11s %7s%s | %24s %11s %7s%s\n", "i", "j", "K^h mean +- stderr",
           four ? "reference" : "Theta^h", "z", four ? "   z inf" : "", "NNGP mean +- stderr",
           four ? "reference" : "Lambda^H", "z", four ? "   z inf" : "");
    for (long i = 0; i < B && shown < o->rows; i++)
        for (long j = i; j < B && shown < o->rows; j++, shown++) {
            long k = i * B + j, kn = BB + k;
            printf("%4ld %4ld | %11.5g +- %-9.3g %11.5g %7.2f", i, j, mean[k], r->se[k], r->ref_t[k],
                   zscore(mean[k], r->se[k], r->ref_t[k], r->ref_t_se, k));
            if (four) printf(" %7.2f", (mean[k] - r->theta_inf[k]) / r->se[k]);
            printf(" | %11.5g +- %-9.3g %11.5g %7.2f", mean[kn], r->se[kn], r->ref_l[k],
                   zscore(mean[kn], r->se[kn], r->ref_l[k], r->ref_l_se, k));
            if (four) printf(" %7.2f", (mean[kn] - r->lambda_inf[k]) / r->se[kn]);
            printf("\n");
        }
    /* every pair: the largest |z| and the RMS z, against the reference and the k -> infinity limit */
    double zmax[4] = {0}, z2[4] = {0};
    long pairs = 0;
    for (long i = 0; i < B; i++)
        for (long j = i; j < B; j++, pairs++) {
            long k = i * B + j, kn = BB + k;
            double z[4] = {zscore(mean[k], r->se[k], r->ref_t[k], r->ref_t_se, k),
                           zscore(mean[kn], r->se[kn], r->ref_l[k], r->ref_l_se, k),
                           (mean[k] - r->theta_inf[k]) / r->se[k], (mean[kn] - r->lambda_inf[k]) / r->se[kn]};
            for (int q = 0; q < 4; q++) {
                if (fabs(z[q]) > zmax[q]) zmax[q] = fabs(z[q]);
                z2[q] += z[q] * z[q];
            }
        }
    printf("all %ld pairs: K^h max |z| %.2f, RMS z %.2f; NNGP max |z| %.2f, RMS z %.2f", pairs, zmax[0],
           sqrt(z2[0] / pairs), zmax[1], sqrt(z2[1] / pairs));
    if (four)
        printf(" (reference)\n               K^h max |z| %.2f, RMS z %.2f; NNGP max |z| %.2f, RMS z %.2f "
               "(k -> infinity limit)", zmax[2], sqrt(z2[2] / pairs), zmax[3], sqrt(z2[3] / pairs));
    printf("\n");
    if (o->fntk) {
        const double *f = mean + 3 * BB, *fs = r->se + 3 * BB;
        printf("K^f(x0,x0): diagonal mean %.5g +- %.3g, off-diagonal RMS %.4g +- %.3g\n", f[0], fs[0], f[1], fs[1]);
        printf("K^f(x0,x1): diagonal mean %.5g +- %.3g, off-diagonal RMS %.4g +- %.3g\n", f[2], fs[2], f[3], fs[3]);
    }
}

/* The configuration attributes: the option table's, and what the inputs file fixed. */
static int write_config(hntk_h5 *f, const kernel_opts *o, const opts_state *state, const kernel_run *r)
{
    int st = opts_write_attrs(&COMMAND, o, state, f);
    if (!st) st = hntk_h5_attr_long(f, "/", "x_dim", r->x_dim);
    if (!st) st = hntk_h5_attr_long(f, "/", "z_dim", r->z_dim);
    if (!st) st = hntk_h5_attr_long(f, "/", "batch", r->B);
    return st;
}

typedef struct {
    const char *name;
    int rank;
    long d0, d1;
    const double *data;
    const char *description;
} dataset;

static int write_datasets(hntk_h5 *f, const dataset *d, int n)
{
    int st = HNTK_OK;
    for (int i = 0; i < n && !st; i++) {
        long dims[2] = {d[i].d0, d[i].d1};
        st = hntk_h5_write_described(f, d[i].name, d[i].rank, dims, d[i].data, d[i].description, NULL);
    }
    return st;
}

static int write_results(const kernel_opts *o, const opts_state *state, const kernel_run *r, int argc, char **argv,
                         double wall)
{
    long B = r->B, BB = B * B, k = r->arch.fourier_k;
    const double *mean = r->acc->mean;
    int four = fourier_on(r);
    const char *lim_t = !four ? "Theta^h(u_i, u_j) (B, B): infinite-width limit of the hyperkernel; g's input kernel "
                                "z.z'/z_dim"
                              : "Theta^h(u_i, u_j) (B, B): infinite-width limit of the hyperkernel for k -> infinity "
                                "Fourier features, g's input kernel exp(-|z-z'|^2/(2 s^2)) (unit diagonal)";
    const char *lim_l = !four ? "Lambda^H(u_i, u_j) (B, B): infinite-width limit of the NNGP h(u)h(u'); g's input "
                                "kernel z.z'/z_dim"
                              : "Lambda^H(u_i, u_j) (B, B): infinite-width limit of the NNGP for k -> infinity "
                                "Fourier features, g's input kernel exp(-|z-z'|^2/(2 s^2)) (unit diagonal)";
    dataset d[24] = {
        {"/inputs/x", 2, B, r->x_dim, r->X, "inputs x of f (B, x_dim), as read from --inputs"},
        {"/inputs/z", 2, B, r->z_dim, r->Z, "inputs z of g (B, z_dim), before any Fourier features"},
        {"/analytic/ntk", 2, B, B, r->theta_inf, lim_t},
        {"/analytic/nngp", 2, B, B, r->lambda_inf, lim_l},
        {"/empirical/ntk_mean", 2, B, B, mean, "mean over the samples of the empirical hyperkernel K^h (B, B)"},
        {"/empirical/ntk_var", 2, B, B, r->var, "variance over the samples (unbiased) of K^h (B, B)"},
        {"/empirical/ntk_stderr", 2, B, B, r->se, "standard error of /empirical/ntk_mean (B, B)"},
        {"/empirical/nngp_mean", 2, B, B, mean + BB, "mean over the samples of h(u_i) h(u_j) (B, B)"},
        {"/empirical/nngp_var", 2, B, B, r->var + BB, "variance over the samples (unbiased) of h(u_i) h(u_j) (B, B)"},
        {"/empirical/nngp_stderr", 2, B, B, r->se + BB, "standard error of /empirical/nngp_mean (B, B)"},
        {"/empirical/gpart_mean", 2, B, B, mean + 2 * BB, "mean over the samples of the g-part c(u_i).c(u_j) (B, B)"},
        {"/empirical/gpart_var", 2, B, B, r->var + 2 * BB, "variance over the samples (unbiased) of c(u_i).c(u_j)"},
        {"/empirical/gpart_stderr", 2, B, B, r->se + 2 * BB, "standard error of /empirical/gpart_mean (B, B)"},
    };
    int n = 13;
    if (o->fntk) {
        d[n++] = (dataset){"/empirical/fntk_stats_mean", 1, FNTK_STATS, 0, mean + 3 * BB,
                           "mean of [diag mean, off-diag RMS of K^f(x0,x0), the same of K^f(x0,x1)] (4)"};
        d[n++] = (dataset){"/empirical/fntk_stats_stderr", 1, FNTK_STATS, 0, r->se + 3 * BB,
                           "standard error of /empirical/fntk_stats_mean (4)"};
    }
    if (r->theta_drawn) {
        d[n++] = (dataset){"/analytic/ntk_drawn_features", 2, B, B, r->theta_drawn,
                           "Theta^h(u_i, u_j) (B, B): infinite-width limit for the Fourier features drawn for this run "
                           "(/fourier/*), g's input kernel /fourier/input_kernel; the reference of fixed features"};
        d[n++] = (dataset){"/analytic/nngp_drawn_features", 2, B, B, r->lambda_drawn,
                           "Lambda^H(u_i, u_j) (B, B): infinite-width NNGP limit for the Fourier features drawn for "
                           "this run; the reference of fixed features"};
        d[n++] = (dataset){"/fourier/input_kernel", 2, B, B, r->shat0,
                           "Shat^0(z_i, z_j) = (1/k) sum_l p_l(z_i) p_l(z_j) (B, B) for the features drawn"};
        d[n++] = (dataset){"/fourier/freqs", 2, k, r->z_dim, r->freq,
                           "frequencies w_l (k, z_dim), already divided by s, drawn once from streams (seed, "
                           "0xFFFFFFFF, 1000, row)"};
        d[n++] = (dataset){"/fourier/phases", 1, k, 0, r->phase,
                           "phases b_l (k) in [-pi, pi], drawn once from stream (seed, 0xFFFFFFFF, 1001, 0)"};
    }
    if (r->mean_acc) {
        d[n++] = (dataset){"/analytic/ntk_feature_mean", 2, B, B, r->mean_acc->mean,
                           "E over the Fourier-feature draw of Theta^h(u_i, u_j) (B, B) at finite k: the limit of the "
                           "mean with per-sample features; Monte Carlo over feature_mean_draws draws (no closed form "
                           "for H >= 2)"};
        d[n++] = (dataset){"/analytic/ntk_feature_mean_stderr", 2, B, B, r->mean_se,
                           "standard error of /analytic/ntk_feature_mean (B, B)"};
        d[n++] = (dataset){"/analytic/nngp_feature_mean", 2, B, B, r->mean_acc->mean + BB,
                           "E over the Fourier-feature draw of Lambda^H(u_i, u_j) (B, B) at finite k; Monte Carlo "
                           "over feature_mean_draws draws"};
        d[n++] = (dataset){"/analytic/nngp_feature_mean_stderr", 2, B, B, r->mean_se + BB,
                           "standard error of /analytic/nngp_feature_mean (B, B)"};
    }
    hntk_h5 *f;
    int st = hntk_h5_create(o->out, &f);
    if (st) return st;
    st = write_datasets(f, d, n);
    if (!st && r->saved_ntk) {
        long dims[3] = {o->samples, B, B};
        st = hntk_h5_write_described(f, "/samples/ntk", 3, dims, r->saved_ntk,
                                     "empirical hyperkernel K^h(u_i, u_j) of every sample (N, B, B), sample order "
                                     "(sample s uses streams (seed, s))",
                                     NULL);
        if (!st)
            st = hntk_h5_write_described(f, "/samples/nngp", 3, dims, r->saved_nngp,
                                         "NNGP term h(u_i) h(u_j) of every sample (N, B, B), sample order", NULL);
    }
    if (!st) st = write_config(f, o, state, r);
    if (!st && four) st = hntk_h5_attr_string(f, "/", "z_reference", r->ref_t_path);
    if (!st && four) st = hntk_h5_attr_string(f, "/", "z_reference_nngp", r->ref_l_path);
    if (!st && four) st = hntk_h5_attr_string(f, "/", "z_reference_description", r->ref_name);
    if (!st) st = cli_write_provenance(f, CMD, argc, argv, wall);
    if (st) {
        hntk_h5_abort(f);
        return st;
    }
    return hntk_h5_commit(f);
}

/* ---- --dump-weights: one sample, recomputed from (seed, I) alone on worker 0 ----
 * Datasets /W1../WL (n_l, n_{l-1}) raw N(0,1) entries, /x (B, x_dim), /z (B, z_dim),
 * /h (B), /ntk (B, B) = K^h of this sample, and with --fourier /fourier_freqs
 * (k, z_dim, already divided by s) and /fourier_phases (k) (the run's, when
 * fixed); attributes: the configuration, `sample`, and the provenance. */
static int write_dump(const kernel_opts *o, const opts_state *state, const kernel_run *r, int argc, char **argv)
{
    const hntk_hyper_arch *a = &r->arch;
    long B = r->B;
    hntk_worker *w = hntk_pool_worker(r->pool, 0);
    hntk_net *net = w->net;
    double *K = w->gram;
    hntk_h5 *f = NULL;
    int st = hntk_net_sample_ntk_gram(net, o->seed, (uint32_t)o->dump_sample, B, r->X, r->Z, K);
    if (!st) st = hntk_h5_create(o->dump, &f);
    for (int l = 1; l <= a->f_depth && !st; l++) {
        char name[32];
        long dims[2] = {hntk_f_layer_width(a, l), hntk_f_layer_width(a, l - 1)};
        snprintf(name, sizeof name, "/W%d", l);
        st = hntk_h5_write_described(f, name, 2, dims, hntk_net_weights(net, l),
                                     "weights of f's layer l (n_l, n_{l-1}), raw N(0,1), scaled by 1/sqrt(n_{l-1}) in use",
                                     NULL);
    }
    dataset d[6] = {
        {"/x", 2, B, r->x_dim, r->X, "inputs x (B, x_dim)"},
        {"/z", 2, B, r->z_dim, r->Z, "inputs z (B, z_dim)"},
        {"/h", 1, B, 0, hntk_net_output(net), "outputs h(u_b) of this sample (B)"},
        {"/ntk", 2, B, B, K, "this sample's hyperkernel K^h (B, B)"},
    };
    int n = 4;
    if (a->fourier_k > 0) {
        d[n++] = (dataset){"/fourier_freqs", 2, a->fourier_k, a->z_dim, hntk_net_fourier_freqs(net),
                           "Fourier frequencies (k, z_dim), already divided by s"};
        d[n++] = (dataset){"/fourier_phases", 1, a->fourier_k, 0, hntk_net_fourier_phases(net),
                           "Fourier phases (k) in [-pi, pi]"};
    }
    if (!st) st = write_datasets(f, d, n);
    if (!st) st = write_config(f, o, state, r);
    if (!st) st = hntk_h5_attr_long(f, "/", "sample", o->dump_sample);
    if (!st) st = cli_write_provenance(f, CMD, argc, argv, 0.0);
    if (f) {
        if (st) hntk_h5_abort(f);
        else st = hntk_h5_commit(f);
    }
    return st;
}

/* Huge finite inputs (1e150 passes the finiteness check of the inputs file)
 * overflow the kernels, which grow like a power of |x| and |z|, or their
 * variance (the square): refused before sampling when a limit is outside the
 * accepted range, and after sampling if any statistic is not finite, never
 * written as NaN. */
#define KERNEL_MAX_LIMIT 1e150

static double row_norm(const double *a, long dim, long i)
{
    double m = 0, s = 0; /* scaled: |x| itself may overflow when squared */
    for (long d = 0; d < dim; d++) m = fmax(m, fabs(a[i * dim + d]));
    if (m == 0 || !isfinite(m)) return m;
    for (long d = 0; d < dim; d++) s += (a[i * dim + d] / m) * (a[i * dim + d] / m);
    return m * sqrt(s);
}

static int pair_fail(const kernel_run *r, long i, long j, const char *what, double v, const char *range)
{
    return hntk_fail(HNTK_EINVAL,
                     "input pair (%ld, %ld) (|x_%ld| = %g, |z_%ld| = %g, |x_%ld| = %g, |z_%ld| = %g): %s = %g is "
                     "outside the accepted range %s; the kernels grow like powers of |x| and |z|: scale the "
                     "inputs down",
                     i, j, i, row_norm(r->X, r->x_dim, i), i, row_norm(r->Z, r->z_dim, i), j,
                     row_norm(r->X, r->x_dim, j), j, row_norm(r->Z, r->z_dim, j), what, v, range);
}

static int check_limits_range(const kernel_run *r)
{
    long B = r->B;
    for (long i = 0; i < B; i++)
        for (long j = 0; j < B; j++) {
            double t = r->theta_inf[i * B + j], l = r->lambda_inf[i * B + j];
            if (!(fabs(t) <= KERNEL_MAX_LIMIT))
                return pair_fail(r, i, j, "Theta^h", t, "|Theta^h| <= 1e150 (its samples' variance must be finite)");
            if (!(fabs(l) <= KERNEL_MAX_LIMIT))
                return pair_fail(r, i, j, "Lambda^H", l, "|Lambda^H| <= 1e150 (its samples' variance must be finite)");
        }
    return HNTK_OK;
}

static int check_stats_finite(const kernel_run *r, long dim)
{
    static const char *const names[] = {"K^h", "NNGP", "g-part"};
    long BB = r->B * r->B;
    for (long q = 0; q < dim; q++) {
        double m = r->acc->mean[q], v = r->var[q], e = r->se[q];
        if (isfinite(m) && isfinite(v) && isfinite(e)) continue;
        if (q >= 3 * BB)
            return hntk_fail(HNTK_EINVAL, "the K^f statistics are not finite (mean %g, variance %g): the inputs are "
                                          "too large; scale them down", m, v);
        char what[96];
        snprintf(what, sizeof what, "the %s %s", names[q / BB], !isfinite(m) ? "mean" : "variance");
        return pair_fail(r, (q % BB) / r->B, q % r->B, what, !isfinite(m) ? m : v,
                         "of finite doubles (nothing is written rather than NaN)");
    }
    return HNTK_OK;
}

/* Doubles the Monte Carlo engine holds for a job of `samples` samples of `dim`
 * statistics: the accumulator's six moments and the sample slots (a few per
 * thread; twice on MPI rank 0, which also receives another rank's). */
static double mc_doubles(long samples, double dim, int threads)
{
    double per = 4.0 * threads < (double)samples ? 4.0 * threads : (double)samples;
    return 6.0 * dim + (hntk_parallel_size() > 1 ? 2.0 : 1.0) * per * dim;
}

/* Everything but the pool, in bytes: the statistics of every pair (the
 * engine's accumulator and slots, variance and standard error), the limits and
 * Fourier references, --save-samples, and the result file, which h5io builds in
 * memory and copies once at commit (every (B, B) dataset and the samples twice
 * more).  These are the (B, B) arrays the budget used to miss: 3 B^2 statistics
 * make about 30 B^2 doubles. */
static void kernel_bytes(const kernel_opts *o, const kernel_run *r, double *stats, double *saved, double *file)
{
    double B = (double)r->B, BB = B * B, k = (double)r->arch.fourier_k, dim = 3 * BB + (o->fntk ? FNTK_STATS : 0);
    double d = mc_doubles(o->samples, dim, r->threads) + 2 * dim + 2 * BB; /* + var, se; ntk and nngp limits */
    double arrays = 13; /* (B, B) datasets of the result file */
    if (fourier_on(r) && o->fourier_draw == DRAW_FIXED) {
        d += 3 * BB + B * k + k * (double)r->z_dim + k;
        arrays += 3;
    }
    if (per_sample_mean(o, r)) {
        d += 3 * BB + mc_doubles(o->mean_draws, 2 * BB, r->threads) + 4 * BB;
        arrays += 4;
    }
    *stats = sizeof(double) * d;
    *saved = o->save_samples ? 2.0 * sizeof(double) * (double)o->samples * BB : 0.0;
    *file = 2.0 * (sizeof(double) * arrays * BB + *saved);
}

/* The pool: one network per thread, plus what --fntk, --dump-weights and the
 * per-sample reference need; one budget check counts all of it with
 * kernel_bytes. */
static int make_pool(const kernel_opts *o, kernel_run *r)
{
    hntk_pool_needs needs = {.batch = r->B, .gram = o->dump != NULL, .fntk = o->fntk,
                             .out_doubles = per_sample_mean(o, r) ? draw_doubles(&r->arch, r->B) : 0,
                             .lazy = o->sampler == SAMPLER_LAZY};
    double budget = o->budget_gib * 1073741824.0, stats, saved, file;
    kernel_bytes(o, r, &stats, &saved, &file);
    double pool = (double)hntk_pool_bytes(&r->arch, &needs, r->threads), G = 1073741824.0;
    if (pool + stats + saved + file > budget) {
        char save[160] = "";
        if (o->save_samples)
            snprintf(save, sizeof save, ", --save-samples (2 x %ld samples x %ld x %ld doubles, %.3g GiB)", o->samples,
                     r->B, r->B, saved / G);
        return hntk_fail(HNTK_EBUDGET,
                         "%ld inputs: %d thread workspaces (%.3g GiB), the statistics of the %ld x %ld pairs "
                         "(%.3g GiB)%s and the result file (%.3g GiB) need %.3g GiB, over the memory budget of "
                         "%.3g GiB (--mem-budget; or fewer inputs%s)",
                         r->B, r->threads, pool / G, r->B, r->B, stats / G, save, file / G,
                         (pool + stats + saved + file) / G, budget / G, o->save_samples ? ", or no --save-samples" : "");
    }
    int st = hntk_pool_alloc(&r->arch, &needs, r->threads, (size_t)(budget - stats - saved - file), &r->pool);
    if (!st && o->save_samples) {
        size_t n = (size_t)o->samples * (size_t)(r->B * r->B);
        r->saved_ntk = malloc(sizeof(double) * n);
        r->saved_nngp = malloc(sizeof(double) * n);
        if (!r->saved_ntk || !r->saved_nngp)
            st = hntk_fail(HNTK_ENOMEM, "cannot allocate %.3g GiB for --save-samples", saved / G);
    }
    if (st) return st;
    hntk_pool_set_job(r->pool, &r->job);
    for (int t = 0; t < r->threads && !st && r->freq; t++)
        st = hntk_net_fix_fourier(hntk_pool_worker(r->pool, t)->net, r->freq, r->phase);
    return st;
}

int hntk_cmd_kernel(int argc, char **argv)
{
    kernel_opts o;
    opts_state state;
    int st = parse_options(argc, argv, &o, &state);
    if (st) return st < 0 ? CLI_EXIT_OK : st;
    double t0 = cli_now();
    hntk_h5_install_signal_cleanup();

    kernel_run r = {0};
    st = hntk_h5_read_inputs(o.inputs, &r.B, &r.x_dim, &r.X, &r.z_dim, &r.Z);
    if (!st) {
        /* The input dimensions come from the file. */
        r.arch = (hntk_hyper_arch){.f_depth = o.f_depth, .f_width = o.f_width, .x_dim = r.x_dim, .g_depth = o.g_depth,
                                   .g_width = o.g_width, .z_dim = r.z_dim, .fourier_k = o.fourier_k,
                                   .fourier_scale = o.fourier_scale};
        st = o.sampler == SAMPLER_LAZY ? hntk_lazy_validate(&r.arch) : hntk_hyper_arch_validate(&r.arch);
    }
    long dim = 3 * r.B * r.B + (o.fntk ? FNTK_STATS : 0);
    r.threads = hntk_mc_max_threads();
    r.job = (kernel_job){.arch = r.arch, .variant = (hntk_variant)o.variant, .B = r.B, .X = r.X, .Z = r.Z,
                         .seed = o.seed, .mean_key = hntk_rng_derive_key(o.seed, FEATURE_MEAN_KEY_CODE),
                         .fntk = o.fntk};
    if (!st && fourier_on(&r) && o.fourier_draw == DRAW_FIXED) {
        /* the features first (the pool's networks get them), then the rest of the limits */
        st = alloc_doubles(r.arch.fourier_k * r.z_dim, &r.freq);
        if (!st) st = alloc_doubles(r.arch.fourier_k, &r.phase);
        if (!st) hntk_fourier_draw(&r.arch, o.seed, HNTK_FOURIER_RUN_SAMPLE, r.freq, r.phase);
    }
    if (!st) st = make_pool(&o, &r);
    if (!st) st = hntk_stats_moments_alloc(dim, &r.acc);
    if (!st) st = alloc_doubles(dim, &r.var);
    if (!st) st = alloc_doubles(dim, &r.se);
    if (!st) st = compute_limits(&o, &r);
    if (!st) st = check_limits_range(&r);
    if (!st) {
        cli_progress progress;
        cli_progress_init(&progress, "kernel samples");
        hntk_mc_job job = {.samples = o.samples, .dim = dim, .n_ctx = r.threads, .ctx = hntk_pool_ctx(r.pool),
                           .fn = kernel_sample, .progress = cli_progress_update, .progress_data = &progress,
                           .collect = o.save_samples ? collect_sample : NULL, .collect_data = &r};
        st = hntk_mc_run(&job, r.acc);
        cli_progress_end(&progress);
    }
    if (!st) {
        hntk_stats_moments_finish(r.acc, r.var, r.se);
        st = check_stats_finite(&r, dim);
    }
    if (!st) {
        print_table(&o, &r);
        double wall = cli_now() - t0;
        /* Under MPI every rank holds the same statistics; rank 0 writes. */
        if (hntk_parallel_rank() == 0) st = write_results(&o, &state, &r, argc, argv, wall);
        if (!st && hntk_parallel_size() > 1)
            printf("wrote %s (%.2f s on %d MPI ranks x %d threads)\n", o.out, wall, hntk_parallel_size(), r.threads);
        else if (!st)
            printf("wrote %s (%.2f s on %d threads)\n", o.out, wall, r.threads);
    }
    if (!st && o.dump && hntk_parallel_rank() == 0) {
        st = write_dump(&o, &state, &r, argc, argv);
        if (!st) printf("wrote sample %ld's weights and kernel to %s\n", o.dump_sample, o.dump);
    }
    int code = st ? cli_report(CMD, st) : CLI_EXIT_OK;
    run_free(&r);
    return code;
}
