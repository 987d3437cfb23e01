/* inputs.c: `hyperntk inputs`: write an inputs file for `hyperntk kernel`.
 *   random: B independent Gaussian directions, |x|^2 = x_dim and |z|^2 = z_dim
 *   circle: the Figure 1(b) set-up: one x for every row, z_0 = (1,0,..), and
 *           z_t = (cos theta_t, sin theta_t, 0..) for theta_t on [-pi/2, pi/2],
 *           all scaled to |z|^2 = z_dim (docs/theory.md §5.5). */
#define _XOPEN_SOURCE 700
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static const char *CMD = "inputs";


static void usage(FILE *out)
{
    fprintf(out,
            "Usage: hyperntk inputs --out IN.h5 [--kind random|circle] [OPTIONS]\n"
            "Write float64 datasets x (B, x_dim) and z (B, z_dim) for `hyperntk kernel`.\n\n"
            "  --out FILE        the inputs file to write (atomically)\n"
            "  --kind K          random (default): B Gaussian directions, |x|^2 = x_dim, |z|^2 = z_dim\n"
            "                    circle: x the same in every row; row 0 has z = (1,0,...), row t >= 1\n"
            "                    has z = (cos theta_t, sin theta_t, 0, ...), theta_t evenly on\n"
            "                    [-pi/2, pi/2]; all |z|^2 = z_dim  (Figure 1(b))\n"
            "  --count B         rows for random, 1..1000000 (default 4)\n"
            "  --thetas T        angles for circle, 1..1000000 (default 41), so B = T + 1\n"
            "  --x-dim n0        dimension of x, 1..%ld (default 2)\n"
            "  --z-dim m0        dimension of z, 1..%ld (default 2; circle needs >= 2)\n"
            "  --seed S          seed of the random directions (default 1)\n"
            "  --help            this text\n",
            HNTK_MAX_WIDTH, HNTK_MAX_WIDTH);
}

/* Row r of M (rows, dim): Gaussian direction from stream (seed, 0, tensor, r), scaled to |row|^2 = dim. */
static void random_directions(uint64_t seed, uint32_t tensor, double *M, long rows, long dim)
{
    hntk_fill_normal_matrix(seed, 0, tensor, 1.0, M, (size_t)rows, (size_t)dim);
    for (long r = 0; r < rows; r++) {
        double *row = M + r * dim, s = 0.0;
        for (long j = 0; j < dim; j++) s += row[j] * row[j];
        double scale = sqrt((double)dim / s);
        for (long j = 0; j < dim; j++) row[j] *= scale;
    }
}

int hntk_cmd_inputs(int argc, char **argv)
{
    enum { OPT_OUT = 256, OPT_KIND, OPT_COUNT, OPT_THETAS, OPT_XDIM, OPT_ZDIM, OPT_SEED, OPT_HELP };
    static const struct option longopts[] = {
        {"out", required_argument, 0, OPT_OUT},     {"kind", required_argument, 0, OPT_KIND},
        {"count", required_argument, 0, OPT_COUNT}, {"thetas", required_argument, 0, OPT_THETAS},
        {"x-dim", required_argument, 0, OPT_XDIM},  {"z-dim", required_argument, 0, OPT_ZDIM},
        {"seed", required_argument, 0, OPT_SEED},   {"help", no_argument, 0, OPT_HELP},
        {0, 0, 0, 0}};
    const char *out = NULL, *kind = "random";
    long count = 4, thetas = 41, x_dim = 2, z_dim = 2;
    uint64_t seed = 1;
    int c, st = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_OUT: out = optarg; break;
        case OPT_KIND: kind = optarg; break;
        case OPT_COUNT: st = cli_parse_long(CMD, "count", optarg, 1, 1000000, &count); break;
        case OPT_THETAS: st = cli_parse_long(CMD, "thetas", optarg, 1, 1000000, &thetas); break;
        case OPT_XDIM: st = cli_parse_long(CMD, "x-dim", optarg, 1, HNTK_MAX_WIDTH, &x_dim); break;
        case OPT_ZDIM: st = cli_parse_long(CMD, "z-dim", optarg, 1, HNTK_MAX_WIDTH, &z_dim); break;
        case OPT_SEED: st = cli_parse_seed(CMD, optarg, &seed); break;
        case OPT_HELP: usage(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
        if (st) return st;
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!out) return cli_usage_error(CMD, "--out FILE is required");
    int circle = !strcmp(kind, "circle");
    if (!circle && strcmp(kind, "random"))
        return cli_usage_error(CMD, "--kind: '%s' is not accepted: random or circle", kind);
    if (circle && z_dim < 2) return cli_usage_error(CMD, "--z-dim = %ld is out of range for circle: accepted >= 2", z_dim);

    long B = circle ? thetas + 1 : count;
    double *X = malloc(sizeof(double) * (size_t)(B * x_dim)), *Z = calloc((size_t)(B * z_dim), sizeof(double));
    if (!X || !Z) {
        free(X);
        free(Z);
        return cli_report(CMD, hntk_fail(HNTK_ENOMEM, "cannot allocate %ld inputs", B));
    }
    if (circle) {
        random_directions(seed, HNTK_TENSOR_INPUT_X, X, 1, x_dim);
        for (long r = 1; r < B; r++) memcpy(X + r * x_dim, X, sizeof(double) * (size_t)x_dim);
        double radius = sqrt((double)z_dim);
        Z[0] = radius;
        for (long t = 0; t < thetas; t++) {
            double theta = thetas > 1 ? -M_PI_2 + M_PI * (double)t / (double)(thetas - 1) : 0.0;
            Z[(t + 1) * z_dim] = radius * cos(theta);
            Z[(t + 1) * z_dim + 1] = radius * sin(theta);
        }
    } else {
        random_directions(seed, HNTK_TENSOR_INPUT_X, X, B, x_dim);
        random_directions(seed, HNTK_TENSOR_INPUT_Z, Z, B, z_dim);
    }
    hntk_h5 *f;
    long xd[2] = {B, x_dim}, zd[2] = {B, z_dim};
    st = hntk_h5_create(out, &f);
    if (!st) {
        st = hntk_h5_write(f, "x", 2, xd, X);
        if (!st) st = hntk_h5_write(f, "z", 2, zd, Z);
        if (!st) st = hntk_h5_attr_string(f, "/", "kind", kind);
        if (!st) st = hntk_h5_attr_long(f, "/", "seed", (long)seed);
        if (!st) st = cli_write_provenance(f, CMD, argc, argv, 0.0);
        if (st) hntk_h5_abort(f);
        else st = hntk_h5_commit(f);
    }
    free(X);
    free(Z);
    if (st) return cli_report(CMD, st);
    printf("wrote %s: %ld inputs, x_dim %ld, z_dim %ld (%s)\n", out, B, x_dim, z_dim, kind);
    return CLI_EXIT_OK;
}
