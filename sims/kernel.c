/* kernel.c: `hyperntk kernel`: empirical hyperkernel and NNGP of a
 * hypernetwork over independent initializations, against the analytic limit,
 * on the inputs of an HDF5 file (schema: docs/file-formats.md). */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static const char *CMD = "kernel";

typedef struct {
    hntk_hyper_arch arch;
    long samples;
    uint64_t seed;
    const char *inputs;
    const char *out;
    hntk_variant variant;
    double budget_gib;
    int fntk;  /* also measure K^f between f's outputs (costly: P x P x n per sample) */
    long rows; /* pairs shown in the table */
    const char *dump;  /* --dump-weights FILE: one sample's weights and kernel, for peers */
    long dump_sample;  /* --dump-sample I */
    int dump_sample_set;
} kernel_opts;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: hyperntk kernel --inputs IN.h5 --out OUT.h5 [OPTIONS]\n"
            "Empirical hyperkernel K^h and NNGP h(u)h(u') over independent initializations,\n"
            "against the infinite-width limits Theta^h and Lambda^H (THEORY.md sections 2-3).\n\n"
            "  --inputs FILE        float64 datasets x (B, x_dim) and z (B, z_dim), used as given\n"
            "  --out FILE           result file (written atomically; schema in docs/file-formats.md)\n"
            "  --f-depth L          weight layers of f, 1..%d (default 3)\n"
            "  --f-width n          hidden width of f, 1..%ld (default 1000)\n"
            "  --g-depth H          weight layers of g, 1..%d (default 2)\n"
            "  --g-width m          hidden width of g, 1..%ld (default 200)\n"
            "  --samples N          independent initializations, 2..2147483647 (default 100)\n"
            "  --seed S             seed, 0..2^63-1 (default 1); sample i uses streams (S, i)\n"
            "  --fourier k          use k Fourier features of z as g's input (default 0: none)\n"
            "  --fourier-scale s    Fourier-feature length scale s > 0 (default 1)\n"
            "  --variant V          analytic limit: paper (default) or authors-code (no S(x,x')\n"
            "                       in the backward products; for comparison only)\n"
            "  --fntk               also record K^f(x_0,x_0) and K^f(x_0,x_1): diagonal mean and\n"
            "                       off-diagonal RMS (costs O(P^2 n) per sample)\n"
            "  --rows R             input pairs shown in the table (default 10)\n"
            "  --mem-budget GiB     refuse configurations needing more memory (default 3/4 of RAM)\n"
            "  --dump-weights FILE  also write sample I's weights W^1..W^L (raw N(0,1)), the inputs,\n"
            "                       h and that sample's K^h to FILE, for checks against other code\n"
            "                       (bench/torch_peer.py; schema in docs/file-formats.md)\n"
            "  --dump-sample I      the sample dumped, 0..samples-1 (default 0)\n"
            "  --help               this text\n\n"
            "Threads: OMP_NUM_THREADS.  The result is bit-identical for any thread count.\n",
            HNTK_MAX_DEPTH, HNTK_MAX_WIDTH, HNTK_MAX_DEPTH, HNTK_MAX_WIDTH);
}

enum { OPT_F_DEPTH = 256, OPT_F_WIDTH, OPT_G_DEPTH, OPT_G_WIDTH, OPT_SAMPLES, OPT_SEED, OPT_INPUTS, OPT_OUT,
       OPT_FOURIER, OPT_FOURIER_SCALE, OPT_VARIANT, OPT_FNTK, OPT_ROWS, OPT_BUDGET, OPT_DUMP, OPT_DUMP_SAMPLE,
       OPT_HELP };

static int parse_options(int argc, char **argv, kernel_opts *o)
{
    static const struct option longopts[] = {
        {"f-depth", required_argument, 0, OPT_F_DEPTH}, {"f-width", required_argument, 0, OPT_F_WIDTH},
        {"g-depth", required_argument, 0, OPT_G_DEPTH}, {"g-width", required_argument, 0, OPT_G_WIDTH},
        {"samples", required_argument, 0, OPT_SAMPLES}, {"seed", required_argument, 0, OPT_SEED},
        {"inputs", required_argument, 0, OPT_INPUTS},   {"out", required_argument, 0, OPT_OUT},
        {"fourier", required_argument, 0, OPT_FOURIER}, {"fourier-scale", required_argument, 0, OPT_FOURIER_SCALE},
        {"variant", required_argument, 0, OPT_VARIANT}, {"fntk", no_argument, 0, OPT_FNTK},
        {"rows", required_argument, 0, OPT_ROWS},       {"mem-budget", required_argument, 0, OPT_BUDGET},
        {"dump-weights", required_argument, 0, OPT_DUMP}, {"dump-sample", required_argument, 0, OPT_DUMP_SAMPLE},
        {"help", no_argument, 0, OPT_HELP},             {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->arch.f_depth = 3;
    o->arch.f_width = 1000;
    o->arch.g_depth = 2;
    o->arch.g_width = 200;
    o->arch.fourier_scale = 1.0;
    o->samples = 100;
    o->seed = 1;
    o->variant = HNTK_VARIANT_PAPER;
    o->budget_gib = (double)cli_default_budget() / 1073741824.0;
    o->rows = 10;
    long v;
    int c, st = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_F_DEPTH: st = cli_parse_long(CMD, "f-depth", optarg, 1, HNTK_MAX_DEPTH, &v); o->arch.f_depth = (int)v; break;
        case OPT_F_WIDTH: st = cli_parse_long(CMD, "f-width", optarg, 1, HNTK_MAX_WIDTH, &o->arch.f_width); break;
        case OPT_G_DEPTH: st = cli_parse_long(CMD, "g-depth", optarg, 1, HNTK_MAX_DEPTH, &v); o->arch.g_depth = (int)v; break;
        case OPT_G_WIDTH: st = cli_parse_long(CMD, "g-width", optarg, 1, HNTK_MAX_WIDTH, &o->arch.g_width); break;
        case OPT_SAMPLES: st = cli_parse_long(CMD, "samples", optarg, 2, 2147483647L, &o->samples); break;
        case OPT_SEED: st = cli_parse_seed(CMD, optarg, &o->seed); break;
        case OPT_INPUTS: o->inputs = optarg; break;
        case OPT_OUT: o->out = optarg; break;
        case OPT_FOURIER: st = cli_parse_long(CMD, "fourier", optarg, 0, HNTK_MAX_WIDTH, &o->arch.fourier_k); break;
        case OPT_FOURIER_SCALE: st = cli_parse_double(CMD, "fourier-scale", optarg, 1e-300, 1e300, &o->arch.fourier_scale); break;
        case OPT_VARIANT:
            if (hntk_variant_parse(optarg, &o->variant)) return cli_usage_error(CMD, "--variant: %s", hntk_last_error());
            break;
        case OPT_FNTK: o->fntk = 1; break;
        case OPT_ROWS: st = cli_parse_long(CMD, "rows", optarg, 0, 1000000, &o->rows); break;
        case OPT_BUDGET: st = cli_parse_double(CMD, "mem-budget", optarg, 1e-6, 1e6, &o->budget_gib); break;
        case OPT_DUMP: o->dump = optarg; break;
        case OPT_DUMP_SAMPLE:
            st = cli_parse_long(CMD, "dump-sample", optarg, 0, 2147483646L, &o->dump_sample);
            o->dump_sample_set = 1;
            break;
        case OPT_HELP: usage(stdout); return -1;
        default:
            return cli_usage_error(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
        if (st) return st;
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!o->inputs) return cli_usage_error(CMD, "--inputs FILE is required");
    if (!o->out) return cli_usage_error(CMD, "--out FILE is required");
    if (o->dump_sample_set && !o->dump) return cli_usage_error(CMD, "--dump-sample needs --dump-weights FILE");
    if (o->dump_sample >= o->samples)
        return cli_usage_error(CMD, "--dump-sample: %ld is not a sample of this run: accepted 0..%ld", o->dump_sample,
                               o->samples - 1);
    if (o->dump && !strcmp(o->dump, o->out))
        return cli_usage_error(CMD, "--dump-weights: '%s' is also the --out file", o->dump);
    return 0;
}

/* ---- per-sample statistics: [K^h (B,B) | NNGP (B,B) | c.c' (B,B) | K^f stats (4)] ---- */

typedef struct {
    hntk_net *net;
    hntk_fntk_ws *fntk; /* NULL unless --fntk */
    const double *X, *Z;
    long B;
    uint64_t seed;
} sample_ctx;

enum { FNTK_STATS = 4 }; /* diag mean and off-diag RMS of K^f(x_0,x_0), then of K^f(x_0,x_1) */

static long stats_dim(long B, int fntk) { return 3 * B * B + (fntk ? FNTK_STATS : 0); }

static int kernel_sample(void *data, long sample, double *out)
{
    sample_ctx *c = data;
    long B = c->B;
    int st = hntk_net_sample_ntk_gram(c->net, c->seed, (uint32_t)sample, B, c->X, c->Z, out);
    if (st) return st;
    hntk_net_nngp_gram(c->net, out + B * B);
    hntk_net_g_gram(c->net, out + 2 * B * B);
    if (c->fntk) {
        double *f = out + 3 * B * B;
        hntk_net_fntk_stats(c->net, c->fntk, 0, 0, &f[0], &f[1]);
        hntk_net_fntk_stats(c->net, c->fntk, 0, B > 1 ? 1 : 0, &f[2], &f[3]);
    }
    return HNTK_OK;
}

/* ---- the run ---- */

typedef struct {
    long B, x_dim, z_dim;
    double *X, *Z;
    double *theta_h, *lambda_h; /* (B,B) analytic */
    hntk_welford *acc;
    double *var, *se;           /* (dim) */
    int threads;
    sample_ctx *ctx;
    void **ctx_ptrs;
} kernel_run;

static void run_free(kernel_run *r)
{
    if (r->ctx)
        for (int t = 0; t < r->threads; t++) {
            hntk_net_free(r->ctx[t].net);
            hntk_fntk_ws_free(r->ctx[t].fntk);
        }
    free(r->ctx);
    free(r->ctx_ptrs);
    hntk_welford_free(r->acc);
    free(r->X);
    free(r->Z);
    free(r->theta_h);
    free(r->lambda_h);
    free(r->var);
    free(r->se);
}

/* Allocate one network per thread after checking the total against the budget. */
static int alloc_contexts(const kernel_opts *o, kernel_run *r)
{
    size_t budget = (size_t)(o->budget_gib * 1073741824.0);
    size_t per_thread = hntk_net_bytes(&o->arch, r->B) + (o->fntk ? hntk_fntk_ws_bytes(&o->arch) : 0);
    size_t total = per_thread * (size_t)r->threads;
    if (total > budget)
        return hntk_fail(HNTK_EBUDGET,
                         "%d thread workspaces of %.3g GiB each need %.3g GiB, over the memory budget of %.3g GiB "
                         "(--mem-budget, accepted up to the machine's memory)",
                         r->threads, per_thread / 1073741824.0, total / 1073741824.0, o->budget_gib);
    r->ctx = calloc((size_t)r->threads, sizeof *r->ctx);
    r->ctx_ptrs = calloc((size_t)r->threads, sizeof *r->ctx_ptrs);
    if (!r->ctx || !r->ctx_ptrs) return hntk_fail(HNTK_ENOMEM, "cannot allocate thread contexts");
    for (int t = 0; t < r->threads; t++) {
        sample_ctx *c = &r->ctx[t];
        int st = hntk_net_alloc(&o->arch, r->B, 0, &c->net);
        if (!st && o->fntk) st = hntk_fntk_ws_alloc(c->net, 0, &c->fntk);
        if (st) return st;
        c->X = r->X;
        c->Z = r->Z;
        c->B = r->B;
        c->seed = o->seed;
        r->ctx_ptrs[t] = c;
    }
    return HNTK_OK;
}

static void print_table(const kernel_opts *o, const kernel_run *r)
{
    long B = r->B, shown = 0;
    const double *mean = r->acc->mean;
    printf("hyperntk kernel: L=%d n=%ld H=%d m=%ld, %ld samples, seed %llu, variant %s\n", o->arch.f_depth,
           o->arch.f_width, o->arch.g_depth, o->arch.g_width, o->samples, (unsigned long long)o->seed,
           hntk_variant_name(o->variant));
    printf("%4s %4s | %24s %11s %7s | %24s %11s %7s\n", "i", "j", "K^h mean +- stderr", "Theta^h", "z",
           "NNGP mean +- stderr", "Lambda^H", "z");
    for (long i = 0; i < B && shown < o->rows; i++)
        for (long j = i; j < B && shown < o->rows; j++, shown++) {
            long k = i * B + j, kn = B * B + k;
            printf("%4ld %4ld | %11.5g +- %-9.3g %11.5g %7.2f | %11.5g +- %-9.3g %11.5g %7.2f\n", i, j, mean[k],
                   r->se[k], r->theta_h[k], (mean[k] - r->theta_h[k]) / r->se[k], mean[kn], r->se[kn],
                   r->lambda_h[k], (mean[kn] - r->lambda_h[k]) / r->se[kn]);
        }
    if (o->fntk) {
        const double *f = mean + 3 * B * B, *fs = r->se + 3 * B * B;
        printf("K^f(x0,x0): diagonal mean %.5g +- %.3g, off-diagonal RMS %.4g +- %.3g\n", f[0], fs[0], f[1], fs[1]);
        printf("K^f(x0,x1): diagonal mean %.5g +- %.3g, off-diagonal RMS %.4g +- %.3g\n", f[2], fs[2], f[3], fs[3]);
    }
}

static int write_config(hntk_h5 *f, const kernel_opts *o, const kernel_run *r)
{
    int st;
    if ((st = hntk_h5_attr_long(f, "/", "f_depth", o->arch.f_depth))) return st;
    if ((st = hntk_h5_attr_long(f, "/", "f_width", o->arch.f_width))) return st;
    if ((st = hntk_h5_attr_long(f, "/", "g_depth", o->arch.g_depth))) return st;
    if ((st = hntk_h5_attr_long(f, "/", "g_width", o->arch.g_width))) return st;
    if ((st = hntk_h5_attr_long(f, "/", "x_dim", o->arch.x_dim))) return st;
    if ((st = hntk_h5_attr_long(f, "/", "z_dim", o->arch.z_dim))) return st;
    if ((st = hntk_h5_attr_long(f, "/", "fourier", o->arch.fourier_k))) return st;
    if ((st = hntk_h5_attr_double(f, "/", "fourier_scale", o->arch.fourier_scale))) return st;
    if ((st = hntk_h5_attr_long(f, "/", "samples", o->samples))) return st;
    if ((st = hntk_h5_attr_long(f, "/", "seed", (long)o->seed))) return st;
    if ((st = hntk_h5_attr_string(f, "/", "variant", hntk_variant_name(o->variant)))) return st;
    if ((st = hntk_h5_attr_string(f, "/", "inputs", o->inputs))) return st;
    if ((st = hntk_h5_attr_long(f, "/", "batch", r->B))) return st;
    return HNTK_OK;
}

static int write_results(const kernel_opts *o, const kernel_run *r, int argc, char **argv, double wall)
{
    long B = r->B, dims[2] = {B, B};
    const double *mean = r->acc->mean;
    hntk_h5 *f;
    int st = hntk_h5_create(o->out, &f);
    if (st) return st;
    long xd[2] = {B, r->x_dim}, zd[2] = {B, r->z_dim};
    if (!st) st = hntk_h5_write(f, "/inputs/x", 2, xd, r->X);
    if (!st) st = hntk_h5_write(f, "/inputs/z", 2, zd, r->Z);
    if (!st) st = hntk_h5_write(f, "/analytic/ntk", 2, dims, r->theta_h);
    if (!st) st = hntk_h5_write(f, "/analytic/nngp", 2, dims, r->lambda_h);
    const char *names[3] = {"ntk", "nngp", "gpart"};
    for (int q = 0; q < 3 && !st; q++) {
        char name[64];
        snprintf(name, sizeof name, "/empirical/%s_mean", names[q]);
        st = hntk_h5_write(f, name, 2, dims, mean + q * B * B);
        snprintf(name, sizeof name, "/empirical/%s_var", names[q]);
        if (!st) st = hntk_h5_write(f, name, 2, dims, r->var + q * B * B);
        snprintf(name, sizeof name, "/empirical/%s_stderr", names[q]);
        if (!st) st = hntk_h5_write(f, name, 2, dims, r->se + q * B * B);
    }
    if (!st && o->fntk) {
        long fd[1] = {FNTK_STATS};
        st = hntk_h5_write(f, "/empirical/fntk_stats_mean", 1, fd, mean + 3 * B * B);
        if (!st) st = hntk_h5_write(f, "/empirical/fntk_stats_stderr", 1, fd, r->se + 3 * B * B);
    }
    if (!st) st = write_config(f, o, r);
    if (!st) st = cli_write_provenance(f, CMD, argc, argv, wall);
    if (st) {
        hntk_h5_abort(f);
        return st;
    }
    return hntk_h5_commit(f);
}

/* ---- --dump-weights: one sample, recomputed from (seed, I) alone ----
 * Datasets /W1../WL (n_l, n_{l-1}) raw N(0,1) entries, /x (B, x_dim), /z (B, z_dim),
 * /h (B), /ntk (B, B) = K^h of this sample, and with --fourier /fourier_freqs
 * (k, z_dim, already divided by s) and /fourier_phases (k); attributes: the
 * configuration, `sample`, and the provenance. */
static int write_dump(const kernel_opts *o, const kernel_run *r, int argc, char **argv)
{
    const hntk_hyper_arch *a = &o->arch;
    long B = r->B;
    hntk_net *net = NULL;
    double *K = malloc(sizeof(double) * (size_t)(B * B));
    int st = K ? hntk_net_alloc(a, B, 0, &net) : hntk_fail(HNTK_ENOMEM, "cannot allocate the dumped kernel");
    if (!st) {
        hntk_net_sample_weights(net, o->seed, (uint32_t)o->dump_sample);
        st = hntk_net_forward(net, B, r->X, r->Z, NULL);
    }
    hntk_h5 *f = NULL;
    if (!st) {
        hntk_net_backward(net);
        hntk_net_ntk_gram(net, K);
        st = hntk_h5_create(o->dump, &f);
    }
    for (int l = 1; l <= a->f_depth && !st; l++) {
        char name[32];
        long dims[2] = {hntk_f_layer_width(a, l), hntk_f_layer_width(a, l - 1)};
        snprintf(name, sizeof name, "/W%d", l);
        st = hntk_h5_write(f, name, 2, dims, hntk_net_weights(net, l));
    }
    long xd[2] = {B, r->x_dim}, zd[2] = {B, r->z_dim}, hd[1] = {B}, kd[2] = {B, B};
    if (!st) st = hntk_h5_write(f, "/x", 2, xd, r->X);
    if (!st) st = hntk_h5_write(f, "/z", 2, zd, r->Z);
    if (!st) st = hntk_h5_write(f, "/h", 1, hd, hntk_net_output(net));
    if (!st) st = hntk_h5_write(f, "/ntk", 2, kd, K);
    if (!st && a->fourier_k > 0) {
        long fd[2] = {a->fourier_k, a->z_dim}, pd[1] = {a->fourier_k};
        st = hntk_h5_write(f, "/fourier_freqs", 2, fd, hntk_net_fourier_freqs(net));
        if (!st) st = hntk_h5_write(f, "/fourier_phases", 1, pd, hntk_net_fourier_phases(net));
    }
    if (!st) st = write_config(f, o, r);
    if (!st) st = hntk_h5_attr_long(f, "/", "sample", o->dump_sample);
    if (!st) st = cli_write_provenance(f, CMD, argc, argv, 0.0);
    if (f) {
        if (st) hntk_h5_abort(f);
        else st = hntk_h5_commit(f);
    }
    hntk_net_free(net);
    free(K);
    return st;
}

int hntk_cmd_kernel(int argc, char **argv)
{
    kernel_opts o;
    int st = parse_options(argc, argv, &o);
    if (st) return st < 0 ? CLI_EXIT_OK : st;
    double t0 = cli_now();
    hntk_h5_install_signal_cleanup();

    kernel_run r = {0};
    st = hntk_h5_read_inputs(o.inputs, &r.B, &r.x_dim, &r.X, &r.z_dim, &r.Z);
    if (!st) {
        /* The input dimensions come from the file. */
        o.arch.x_dim = r.x_dim;
        o.arch.z_dim = r.z_dim;
        st = hntk_hyper_arch_validate(&o.arch);
    }
    long dim = stats_dim(r.B, o.fntk);
    r.threads = hntk_mc_max_threads();
    if (!st) st = alloc_contexts(&o, &r);
    if (!st) st = hntk_welford_alloc(dim, &r.acc);
    if (!st) {
        r.theta_h = malloc(sizeof(double) * (size_t)(r.B * r.B));
        r.lambda_h = malloc(sizeof(double) * (size_t)(r.B * r.B));
        r.var = malloc(sizeof(double) * (size_t)dim);
        r.se = malloc(sizeof(double) * (size_t)dim);
        if (!r.theta_h || !r.lambda_h || !r.var || !r.se) st = hntk_fail(HNTK_ENOMEM, "cannot allocate results");
    }
    if (!st) st = hntk_limit_batch(&o.arch, o.variant, r.B, r.X, r.Z, r.theta_h, r.lambda_h);
    if (!st) {
        cli_progress progress;
        cli_progress_init(&progress, "kernel samples");
        hntk_mc_job job = {.samples = o.samples, .dim = dim, .n_ctx = r.threads, .ctx = r.ctx_ptrs,
                           .fn = kernel_sample, .progress = cli_progress_update, .progress_data = &progress};
        st = hntk_mc_run(&job, r.acc);
        cli_progress_end(&progress);
    }
    if (!st) {
        hntk_welford_finish(r.acc, r.var, r.se);
        print_table(&o, &r);
        double wall = cli_now() - t0;
        /* Under MPI every rank holds the same statistics; rank 0 writes. */
        if (hntk_parallel_rank() == 0) st = write_results(&o, &r, argc, argv, wall);
        if (!st && hntk_parallel_size() > 1)
            printf("wrote %s (%.2f s on %d MPI ranks x %d threads)\n", o.out, wall, hntk_parallel_size(), r.threads);
        else if (!st)
            printf("wrote %s (%.2f s on %d threads)\n", o.out, wall, r.threads);
    }
    if (!st && o.dump && hntk_parallel_rank() == 0) {
        st = write_dump(&o, &r, argc, argv);
        if (!st) printf("wrote sample %ld's weights and kernel to %s\n", o.dump_sample, o.dump);
    }
    int code = st ? cli_report(CMD, st) : CLI_EXIT_OK;
    run_free(&r);
    return code;
}
