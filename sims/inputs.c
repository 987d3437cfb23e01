/* inputs.c: `hyperntk inputs`: write an inputs file for `hyperntk kernel`.
 *   random: B independent Gaussian directions, |x|^2 = x_dim and |z|^2 = z_dim
 *   circle: the Figure 1(b) set-up: one x for every row, z_0 = (1,0,..), and
 *           z_t = (cos theta_t, sin theta_t, 0..) for theta_t on [-pi/2, pi/2],
 *           all scaled to |z|^2 = z_dim (docs/theory.md §5.5). */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"

static const char *CMD = "inputs";

enum { KIND_RANDOM = 0, KIND_CIRCLE = 1 };
static const char *const KIND_NAMES[] = {"random", "circle", NULL};

typedef struct {
    const char *out;
    int kind;
    long count, thetas, x_dim, z_dim;
    uint64_t seed;
} inputs_opts;

#define F(field) offsetof(inputs_opts, field)
static const opt_spec SPECS[] = {
    {"out", "FILE", OPT_STRING, F(out), 0, 0, NULL, "the inputs file to write (atomically)", OPT_REQUIRED},
    {"kind", "K", OPT_CHOICE, F(kind), 0, 0, "random",
     "random: B Gaussian directions, |x|^2 = x_dim, |z|^2 = z_dim\n"
     "circle: x the same in every row; row 0 has z = (1,0,...), row t >= 1\n"
     "has z = (cos theta_t, sin theta_t, 0, ...), theta_t evenly on\n"
     "[-pi/2, pi/2]; all |z|^2 = z_dim  (Figure 1(b))", OPT_CONFIG, KIND_NAMES},
    {"count", "B", OPT_LONG, F(count), 1, 1000000, "4", "rows for random", 0},
    {"thetas", "T", OPT_LONG, F(thetas), 1, 1000000, "41", "angles for circle, so B = T + 1", 0},
    {"x-dim", "n0", OPT_LONG, F(x_dim), 2, HNTK_MAX_WIDTH, "2", "dimension of x", 0},
    {"z-dim", "m0", OPT_LONG, F(z_dim), 2, HNTK_MAX_WIDTH, "2", "dimension of z", 0},
    {"seed", "S", OPT_SEED, F(seed), 0, 0, "1", "seed of the random directions", OPT_CONFIG},
};
#undef F

static const opt_command COMMAND = {
    .cmd = "inputs",
    .synopsis = "--out IN.h5 [--kind random|circle] [OPTIONS]",
    .summary = "Write float64 datasets x (B, x_dim) and z (B, z_dim) for `hyperntk kernel`.",
    .footer = "The file's root attributes: kind, seed and the provenance.  Dimensions start at 2: with\n"
              "x_dim = 1 every normalized x is +-1, and the circle needs two coordinates of z.",
    OPTS_SPECS(SPECS),
};

int hntk_cmd_inputs(int argc, char **argv)
{
    inputs_opts o = {0};
    opts_state state;
    int st = opts_parse(&COMMAND, argc, argv, &o, &state);
    if (st) return st < 0 ? CLI_EXIT_OK : st;
    const char *out = o.out, *kind = KIND_NAMES[o.kind];
    long thetas = o.thetas, x_dim = o.x_dim, z_dim = o.z_dim;
    uint64_t seed = o.seed;
    int circle = o.kind == KIND_CIRCLE;

    long B = circle ? thetas + 1 : o.count;
    double *X = malloc(sizeof(double) * (size_t)(B * x_dim)), *Z = calloc((size_t)(B * z_dim), sizeof(double));
    if (!X || !Z) {
        free(X);
        free(Z);
        return cli_report(CMD, hntk_fail(HNTK_ENOMEM, "cannot allocate %ld inputs", B));
    }
    if (circle) {
        hntk_random_directions(seed, HNTK_TENSOR_INPUT_X, X, 1, (size_t)x_dim);
        for (long r = 1; r < B; r++) memcpy(X + r * x_dim, X, sizeof(double) * (size_t)x_dim);
        double radius = sqrt((double)z_dim);
        Z[0] = radius;
        for (long t = 0; t < thetas; t++) {
            double theta = thetas > 1 ? -M_PI_2 + M_PI * (double)t / (double)(thetas - 1) : 0.0;
            Z[(t + 1) * z_dim] = radius * cos(theta);
            Z[(t + 1) * z_dim + 1] = radius * sin(theta);
        }
    } else {
        hntk_random_directions(seed, HNTK_TENSOR_INPUT_X, X, (size_t)B, (size_t)x_dim);
        hntk_random_directions(seed, HNTK_TENSOR_INPUT_Z, Z, (size_t)B, (size_t)z_dim);
    }
    hntk_h5 *f;
    long xd[2] = {B, x_dim}, zd[2] = {B, z_dim};
    st = hntk_h5_create(out, &f);
    if (!st) {
        st = hntk_h5_write_described(f, "x", 2, xd, X, "inputs x of f, one row per input, |x|^2 = x_dim (B, x_dim)",
                                     NULL);
        if (!st) st = hntk_h5_write_described(f, "z", 2, zd, Z, "inputs z of g, one row per input, |z|^2 = z_dim (B, z_dim)",
                                              NULL);
        /* kind, seed, the provenance; commit (abort on failure) */
        opts_output res = {&state, argc, argv, 0.0};
        st = opts_commit_result(f, st, &COMMAND, &o, &res);
    }
    free(X);
    free(Z);
    if (st) return cli_report(CMD, st);
    printf("wrote %s: %ld inputs, x_dim %ld, z_dim %ld (%s)\n", out, B, x_dim, z_dim, kind);
    return CLI_EXIT_OK;
}
