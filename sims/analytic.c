/* analytic.c: `hyperntk analytic`: the infinite-width kernels between two sets
 * of inputs (docs/theory.md §3-§4): Theta^h, Lambda^H, Theta^f, S and Theta^g,
 * each a (B1, B2) matrix (hntk_limit_cross).  Without --inputs2 the second set
 * is the first (B1 x B1, exactly symmetric).  g's input kernel is z.z'/z_dim,
 * or with --fourier k the Fourier-feature kernel: its k -> infinity limit
 * (--fourier-draw limit, what `hyperntk kernel` writes to /analytic/ntk) or
 * the kernel of the k features drawn once from --seed (--fourier-draw fixed,
 * the same features and the same bits as kernel's /analytic/ntk_drawn_features). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"

static const char *CMD = "analytic";

enum { DRAW_LIMIT = 0, DRAW_FIXED = 1 };
static const char *const DRAW_NAMES[] = {"limit", "fixed", NULL};
static const char *const VARIANT_NAMES[] = {"paper", "authors-code", NULL}; /* = hntk_variant order */

/* The kernels, in hntk_cross_out's order: --kernels names, datasets /analytic/NAME. */
enum { N_KERNELS = 5 };
static const char *const KERNEL_NAMES[N_KERNELS] = {"ntk", "nngp", "f_ntk", "f_nngp", "g_ntk"};
static const char *const KERNEL_DESCRIPTIONS[N_KERNELS] = {
    "Theta^h(u_i, u'_j) (B1, B2): infinite-width hyperkernel Theta^f Theta^g (docs/theory.md §3.4)",
    "Lambda^H(u_i, u'_j) (B1, B2): infinite-width NNGP of the hypernetwork, the covariance of h (§3.3)",
    "Theta^f(x_i, x'_j) (B1, B2): infinite-width NTK of f per output coordinate (§3.2)",
    "S(x_i, x'_j) = Sigma^L(x_i, x'_j) (B1, B2): infinite-width NNGP of f, the covariance of each of its "
    "outputs (§3.2)",
    "Theta^g(u_i, u'_j) (B1, B2): the g-part of the hyperkernel, Theta^h = Theta^f Theta^g (§3.4)",
};
static const char *const KERNEL_LABELS[N_KERNELS] = {"Theta^h", "Lambda^H", "Theta^f", "S", "Theta^g"};

typedef struct {
    const char *inputs, *inputs2, *out, *kernels;
    int f_depth, g_depth, variant;
    long fourier_k;
    double fourier_scale;
    int fourier_draw;
    uint64_t seed;
    long rows;
    double budget_gib;
} analytic_opts;

#define F(field) offsetof(analytic_opts, field)
static const opt_spec SPECS[] = {
    {"inputs", "FILE", OPT_STRING, F(inputs), 0, 0, NULL,
     "first set: float64 datasets x (B1, x_dim) and z (B1, z_dim) (as `hyperntk inputs` writes)",
     OPT_REQUIRED | OPT_CONFIG},
    {"inputs2", "FILE", OPT_STRING, F(inputs2), 0, 0, NULL,
     "second set, x (B2, x_dim) and z (B2, z_dim), the same dimensions (default: the first set)", OPT_CONFIG},
    {"out", "FILE", OPT_STRING, F(out), 0, 0, NULL, "result file (written atomically; schema in docs/file-formats.md)",
     OPT_REQUIRED},
    {"f-depth", "L", OPT_INT, F(f_depth), 1, HNTK_MAX_DEPTH, "3", "weight layers of f", OPT_CONFIG},
    {"g-depth", "H", OPT_INT, F(g_depth), 1, HNTK_MAX_DEPTH, "2", "weight layers of g", OPT_CONFIG},
    {"variant", "V", OPT_CHOICE, F(variant), 0, 0, "paper",
     "paper, or authors-code (no S(x,x') in the backward products; for comparison only)", OPT_CONFIG,
     VARIANT_NAMES},
    {"kernels", "LIST", OPT_STRING, F(kernels), 0, 0, "ntk,nngp,f_ntk,f_nngp,g_ntk",
     "the kernels written, comma list of ntk (Theta^h), nngp (Lambda^H), f_ntk (Theta^f),\n"
     "f_nngp (S), g_ntk (Theta^g); 8 B1 B2 bytes each", OPT_CONFIG},
    {"fourier", "k", OPT_LONG, F(fourier_k), 0, HNTK_MAX_WIDTH, "0",
     "g reads k Fourier features sqrt(2) cos(w.z + b) of z (0: z itself)", OPT_CONFIG},
    {"fourier-scale", "s", OPT_DOUBLE, F(fourier_scale), 1e-300, 1e300, "1", "Fourier length scale: w ~ N(0, s^-2 I)",
     OPT_CONFIG},
    {"fourier-draw", "D", OPT_CHOICE, F(fourier_draw), 0, 0, "limit",
     "limit: the k -> infinity kernel exp(-|z-z'|^2/(2 s^2)) (k only switches it on);\n"
     "fixed: the kernel of the k features drawn once from --seed, as\n"
     "`hyperntk kernel --fourier k --fourier-draw fixed --seed S` draws them",
     OPT_CONFIG, DRAW_NAMES},
    {"seed", "S", OPT_SEED, F(seed), 0, 0, "1", "seed of the fixed features (--fourier-draw fixed only)", OPT_CONFIG},
    {"rows", "R", OPT_LONG, F(rows), 0, 1000000, "6", "pairs shown in the table", 0},
    {"mem-budget", "GiB", OPT_DOUBLE, F(budget_gib), 1e-6, 1e6, NULL,
     "refuse runs whose inputs and kernels need more memory (default 3/4 of RAM)", 0},
};
#undef F

static const opt_command COMMAND = {
    .cmd = "analytic",
    .synopsis = "--inputs A.h5 [--inputs2 B.h5] --out K.h5 [OPTIONS]",
    .summary = "The infinite-width kernels Theta^h, Lambda^H, Theta^f, S and Theta^g between every input\n"
               "of A (rows) and every input of B (columns) (docs/theory.md §3-§4).",
    .footer = "Threads: OMP_NUM_THREADS (over rows); the result is bit-identical for any thread count,\n"
              "and equal bit for bit to `hyperntk kernel`'s /analytic/ntk and /analytic/nngp on one set.\n"
              "Python: hyperntk.kernel_fn (docs/python.md).",
    OPTS_SPECS(SPECS),
};

static int parse_kernels(const char *text, int *want)
{
    char copy[256];
    if (strlen(text) >= sizeof copy)
        return cli_usage_error(CMD, "--kernels: '%.40s...' is too long: accepted a comma list of ntk, nngp, f_ntk, "
                                    "f_nngp, g_ntk", text);
    strcpy(copy, text);
    int any = 0;
    char *save = NULL;
    for (int k = 0; k < N_KERNELS; k++) want[k] = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int k;
        for (k = 0; k < N_KERNELS && strcmp(tok, KERNEL_NAMES[k]); k++) continue;
        if (k == N_KERNELS)
            return cli_usage_error(CMD, "--kernels: '%s' is not one of ntk, nngp, f_ntk, f_nngp, g_ntk", tok);
        want[k] = any = 1;
    }
    if (!any)
        return cli_usage_error(CMD, "--kernels: '%s' names no kernel: accepted a comma list of ntk, nngp, f_ntk, "
                                    "f_nngp, g_ntk", text);
    return 0;
}

typedef struct {
    long B1, B2, x_dim, z_dim, x_dim2, z_dim2;
    double *X1, *Z1, *X2, *Z2;     /* X2, Z2 may alias X1, Z1 */
    double *freq, *phase, *P1, *P2; /* fixed features: (k, z_dim), (k), Phi (B1, k), (B2, k) */
    double *k[N_KERNELS];
} analytic_run;

static void run_free(analytic_run *r)
{
    if (r->X2 != r->X1) free(r->X2);
    if (r->Z2 != r->Z1) free(r->Z2);
    if (r->P2 != r->P1) free(r->P2);
    free(r->X1), free(r->Z1), free(r->freq), free(r->phase), free(r->P1);
    for (int k = 0; k < N_KERNELS; k++) free(r->k[k]);
}

static int write_results(const analytic_opts *o, const opts_state *state, const analytic_run *r, int argc,
                         char **argv, double wall)
{
    const int two = o->inputs2 != NULL;
    hntk_h5 *f;
    int st = hntk_h5_create(o->out, &f);
    if (st) return st;
    long d1[2] = {r->B1, r->x_dim}, e1[2] = {r->B1, r->z_dim}, d2[2] = {r->B2, r->x_dim}, e2[2] = {r->B2, r->z_dim};
    st = hntk_h5_write_described(f, "/inputs/x", 2, d1, r->X1, "inputs x of f (B1, x_dim), as read from --inputs", NULL);
    if (!st) st = hntk_h5_write_described(f, "/inputs/z", 2, e1, r->Z1, "inputs z of g (B1, z_dim), as read from "
                                          "--inputs, before any Fourier features", NULL);
    if (!st && two)
        st = hntk_h5_write_described(f, "/inputs2/x", 2, d2, r->X2, "inputs x' of f (B2, x_dim), as read from --inputs2",
                                     NULL);
    if (!st && two)
        st = hntk_h5_write_described(f, "/inputs2/z", 2, e2, r->Z2, "inputs z' of g (B2, z_dim), as read from "
                                     "--inputs2, before any Fourier features", NULL);
    /* the axes: input numbers, as dimension scales */
    long *idx = malloc(sizeof(long) * (size_t)(r->B1 > r->B2 ? r->B1 : r->B2));
    if (!idx) st = st ? st : hntk_fail(HNTK_ENOMEM, "cannot allocate %ld indices", r->B1 > r->B2 ? r->B1 : r->B2);
    for (long i = 0; !st && i < (r->B1 > r->B2 ? r->B1 : r->B2); i++) idx[i] = i;
    if (!st) st = hntk_h5_write_long(f, "/rows", 1, &r->B1, idx, "input number i of the rows: row i of /inputs (B1)");
    if (!st) st = hntk_h5_make_scale(f, "/rows", "input i (--inputs)");
    if (!st)
        st = hntk_h5_write_long(f, "/cols", 1, &r->B2, idx,
                                two ? "input number j of the columns: row j of /inputs2 (B2)"
                                    : "input number j of the columns: row j of /inputs (B2 = B1, no --inputs2)");
    if (!st) st = hntk_h5_make_scale(f, "/cols", two ? "input j (--inputs2)" : "input j (--inputs)");
    free(idx);
    const char *scales[2] = {"/rows", "/cols"};
    for (int k = 0; k < N_KERNELS && !st; k++) {
        if (!r->k[k]) continue;
        char name[32];
        long dims[2] = {r->B1, r->B2};
        snprintf(name, sizeof name, "/analytic/%s", KERNEL_NAMES[k]);
        st = hntk_h5_write_scaled(f, name, 2, dims, r->k[k], KERNEL_DESCRIPTIONS[k], NULL, scales);
    }
    if (!st && r->freq) {
        long fd[2] = {o->fourier_k, r->z_dim};
        st = hntk_h5_write_described(f, "/fourier/freqs", 2, fd, r->freq,
                                     "frequencies w_l (k, z_dim) of the fixed features, already divided by s, drawn "
                                     "from streams (seed, 0xFFFFFFFF, 1000, row)", NULL);
        if (!st)
            st = hntk_h5_write_described(f, "/fourier/phases", 1, fd, r->phase,
                                         "phases b_l (k) in [-pi, pi] of the fixed features, from stream (seed, "
                                         "0xFFFFFFFF, 1001, 0)", NULL);
    }
    const char *kernel_z = o->fourier_k == 0 ? "z.z'/z_dim"
                           : o->fourier_draw == DRAW_LIMIT ? "exp(-|z-z'|^2/(2 s^2)) (k -> infinity Fourier features)"
                                                           : "p(z).p(z')/k for the k Fourier features drawn (/fourier/*)";
    if (!st) st = hntk_h5_attr_string(f, "/", "g_input_kernel", kernel_z);
    if (!st) st = hntk_h5_attr_long(f, "/", "x_dim", r->x_dim);
    if (!st) st = hntk_h5_attr_long(f, "/", "z_dim", r->z_dim);
    if (!st) st = hntk_h5_attr_long(f, "/", "batch", r->B1);
    if (!st) st = hntk_h5_attr_long(f, "/", "batch2", r->B2);
    opts_output out = {state, argc, argv, wall};
    return opts_commit_result(f, st, &COMMAND, o, &out);
}

int hntk_cmd_analytic(int argc, char **argv)
{
    analytic_opts o;
    opts_state state;
    memset(&o, 0, sizeof o);
    o.budget_gib = (double)cli_default_budget() / 1073741824.0;
    int st = opts_parse(&COMMAND, argc, argv, &o, &state);
    if (st) return st < 0 ? CLI_EXIT_OK : st;
    int want[N_KERNELS];
    if ((st = parse_kernels(o.kernels, want))) return st;
    if (o.fourier_k == 0 && opts_given(&COMMAND, &state, "fourier-draw"))
        return cli_usage_error(CMD, "--fourier-draw %s: no Fourier features (--fourier 0); accepted with --fourier "
                                    "1..%ld", DRAW_NAMES[o.fourier_draw], (long)HNTK_MAX_WIDTH);
    if (opts_given(&COMMAND, &state, "seed") && !(o.fourier_k > 0 && o.fourier_draw == DRAW_FIXED))
        return cli_usage_error(CMD, "--seed %llu: nothing is random here; accepted only with --fourier k "
                                    "--fourier-draw fixed", (unsigned long long)o.seed);
    double t0 = cli_now();
    hntk_h5_install_signal_cleanup();

    analytic_run r = {0};
    st = hntk_h5_read_inputs(o.inputs, &r.B1, &r.x_dim, &r.X1, &r.z_dim, &r.Z1);
    if (!st && o.inputs2) {
        st = hntk_h5_read_inputs(o.inputs2, &r.B2, &r.x_dim2, &r.X2, &r.z_dim2, &r.Z2);
        if (!st && (r.x_dim2 != r.x_dim || r.z_dim2 != r.z_dim))
            st = hntk_fail(HNTK_EINVAL, "--inputs2 %s has x_dim = %ld, z_dim = %ld; accepted: those of --inputs %s "
                           "(x_dim = %ld, z_dim = %ld)", o.inputs2, r.x_dim2, r.z_dim2, o.inputs, r.x_dim, r.z_dim);
    } else if (!st) {
        r.B2 = r.B1;
        r.X2 = r.X1;
        r.Z2 = r.Z1;
    }
    /* memory: the inputs, the features and the kernels */
    int n_out = 0;
    for (int k = 0; k < N_KERNELS; k++) n_out += want[k];
    double bytes = 8.0 * ((double)n_out * (double)r.B1 * (double)r.B2 +
                          2.0 * (double)(r.B1 + r.B2) * (double)(r.x_dim + r.z_dim + o.fourier_k));
    if (!st && bytes > o.budget_gib * 1073741824.0)
        st = hntk_fail(HNTK_EBUDGET, "%d kernels of %ld x %ld pairs and the inputs need %.3g GiB, over the memory "
                       "budget of %.3g GiB (--mem-budget; or fewer --kernels, or fewer inputs)", n_out, r.B1, r.B2,
                       bytes / 1073741824.0, o.budget_gib);
    hntk_hyper_arch arch = {.f_depth = o.f_depth, .x_dim = r.x_dim, .g_depth = o.g_depth, .z_dim = r.z_dim,
                            .fourier_k = o.fourier_k, .fourier_scale = o.fourier_scale};
    const double *ZA = r.Z1, *ZB = r.Z2;
    if (!st && o.fourier_k > 0 && o.fourier_draw == DRAW_FIXED) {
        /* the features of kernel --fourier-draw fixed; g then reads Phi, with kernel Phi.Phi'/k */
        long k = o.fourier_k;
        r.freq = malloc(sizeof(double) * (size_t)(k * r.z_dim));
        r.phase = malloc(sizeof(double) * (size_t)k);
        r.P1 = malloc(sizeof(double) * (size_t)(r.B1 * k));
        r.P2 = o.inputs2 ? malloc(sizeof(double) * (size_t)(r.B2 * k)) : r.P1;
        if (!r.freq || !r.phase || !r.P1 || !r.P2)
            st = hntk_fail(HNTK_ENOMEM, "cannot allocate %ld Fourier features of %ld + %ld inputs", k, r.B1, r.B2);
        if (!st) {
            hntk_fourier_draw(&arch, o.seed, HNTK_FOURIER_RUN_SAMPLE, r.freq, r.phase);
            hntk_fourier_features(k, r.z_dim, r.freq, r.phase, r.B1, r.Z1, r.P1);
            if (o.inputs2) hntk_fourier_features(k, r.z_dim, r.freq, r.phase, r.B2, r.Z2, r.P2);
            ZA = r.P1;
            ZB = r.P2;
            arch.z_dim = k;
            arch.fourier_k = 0;
        }
    }
    for (int k = 0; k < N_KERNELS && !st; k++)
        if (want[k] && !(r.k[k] = malloc(sizeof(double) * (size_t)(r.B1 * r.B2))))
            st = hntk_fail(HNTK_ENOMEM, "cannot allocate a %ld x %ld kernel", r.B1, r.B2);
    double tc = 0.0;
    if (!st) {
        hntk_cross_out out = {r.k[0], r.k[1], r.k[2], r.k[3], r.k[4]};
        double t1 = cli_now();
        st = hntk_limit_cross(&arch, (hntk_variant)o.variant, r.B1, r.X1, ZA, r.B2, r.X2, ZB, &out);
        tc = cli_now() - t1;
    }
    if (!st) {
        printf("hyperntk analytic: L=%d H=%d, variant %s, %ld x %ld pairs, g's input kernel %s\n", o.f_depth,
               o.g_depth, VARIANT_NAMES[o.variant], r.B1, r.B2,
               o.fourier_k == 0 ? "z.z'/z_dim"
               : o.fourier_draw == DRAW_LIMIT ? "exp(-|z-z'|^2/(2 s^2)) (k -> infinity)"
                                              : "of the k features drawn once");
        printf("%6s %6s", "i", "j");
        for (int k = 0; k < N_KERNELS; k++)
            if (want[k]) printf(" %12s", KERNEL_LABELS[k]);
        printf("\n");
        long shown = 0;
        for (long i = 0; i < r.B1 && shown < o.rows; i++)
            for (long j = 0; j < r.B2 && shown < o.rows; j++, shown++) {
                printf("%6ld %6ld", i, j);
                for (int k = 0; k < N_KERNELS; k++)
                    if (want[k]) printf(" %12.6g", r.k[k][i * r.B2 + j]);
                printf("\n");
            }
        double wall = cli_now() - t0;
        st = write_results(&o, &state, &r, argc, argv, wall);
        if (!st)
            printf("wrote %s (%ld x %ld pairs: %.3f s, %.1f ns per pair, on %d threads; %.2f s in all)\n", o.out,
                   r.B1, r.B2, tc, 1e9 * tc / ((double)r.B1 * (double)r.B2), hntk_mc_max_threads(), cli_now() - t0);
    }
    int code = st ? cli_report(CMD, st) : CLI_EXIT_OK;
    run_free(&r);
    return code;
}
