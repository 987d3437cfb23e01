/* bench_gram.c: `hyperntk bench-gram`: GFLOP/s of the empirical hyperkernel
 * Gram (layer-wise factorization, dsyrk) against OpenBLAS dgemm, one thread,
 * measured in the same run on the same machine. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "../src/blas.h"
#include "cli.h"
#include "commands.h"

static const char *CMD = "bench-gram";

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: hyperntk bench-gram [--batches LIST] [--widths LIST] [--seconds T]\n"
            "GFLOP/s of the hyperkernel Gram K^h (B x B) of one sample, single thread, against\n"
            "OpenBLAS dgemm (square, 2048) in the same run.  Architecture: L = 3, H = 2, g width 64,\n"
            "x_dim = z_dim = 2.\n\n"
            "  --batches LIST    inputs B, comma list (default 1,16,128)\n"
            "  --widths LIST     f widths n, comma list (default 512,2048,4096)\n"
            "  --seconds T       minimum time per measurement, 0.05..60 (default 0.5)\n"
            "  --help            this text\n");
}

/* Repeat fn until `seconds` have passed; return the mean seconds per call. */
static double time_repeated(void (*fn)(void *), void *data, double seconds)
{
    fn(data); /* warm-up */
    long reps = 0;
    double t0 = cli_now(), t;
    do {
        fn(data);
        reps++;
        t = cli_now();
    } while (t - t0 < seconds);
    return (t - t0) / (double)reps;
}

typedef struct { long n; double *A, *Bm, *C; } dgemm_case;

static void run_dgemm(void *data)
{
    dgemm_case *d = data;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d->n, (int)d->n, (int)d->n, 1.0, d->A, (int)d->n,
                d->Bm, (int)d->n, 0.0, d->C, (int)d->n);
}

typedef struct { hntk_net *net; double *K; } gram_case;

static void run_gram(void *data)
{
    gram_case *g = data;
    hntk_net_ntk_gram(g->net, g->K);
}

int hntk_cmd_bench_gram(int argc, char **argv)
{
    enum { OPT_BATCHES = 256, OPT_WIDTHS, OPT_SECONDS, OPT_HELP };
    static const struct option longopts[] = {{"batches", required_argument, 0, OPT_BATCHES},
                                             {"widths", required_argument, 0, OPT_WIDTHS},
                                             {"seconds", required_argument, 0, OPT_SECONDS},
                                             {"help", no_argument, 0, OPT_HELP},
                                             {0, 0, 0, 0}};
    long *batches = NULL, *widths = NULL, nb = 0, nw = 0;
    double seconds = 0.5;
    int c, st = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_BATCHES: free(batches); st = cli_parse_long_list(CMD, "batches", optarg, 1, 4096, &batches, &nb); break;
        case OPT_WIDTHS: free(widths); st = cli_parse_long_list(CMD, "widths", optarg, 1, 16384, &widths, &nw); break;
        case OPT_SECONDS: st = cli_parse_double(CMD, "seconds", optarg, 0.05, 60, &seconds); break;
        case OPT_HELP: usage(stdout); free(batches); free(widths); return CLI_EXIT_OK;
        default: st = cli_usage_error(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
        if (st) { free(batches); free(widths); return st; }
    }
    if (!batches) cli_parse_long_list(CMD, "batches", "1,16,128", 1, 4096, &batches, &nb);
    if (!widths) cli_parse_long_list(CMD, "widths", "512,2048,4096", 1, 16384, &widths, &nw);

    /* Reference: single-thread dgemm on 2048 x 2048 matrices. */
    dgemm_case d = {.n = 2048};
    size_t nn = (size_t)d.n * (size_t)d.n;
    d.A = malloc(sizeof(double) * nn);
    d.Bm = malloc(sizeof(double) * nn);
    d.C = malloc(sizeof(double) * nn);
    if (!d.A || !d.Bm || !d.C) { st = cli_report(CMD, hntk_fail(HNTK_ENOMEM, "cannot allocate dgemm operands")); goto done; }
    hntk_fill_normal_matrix(7, 0, 0, 1.0, d.A, nn, 1);
    hntk_fill_normal_matrix(7, 0, 1, 1.0, d.Bm, nn, 1);
    double dgemm_gflops = 2.0 * (double)nn * (double)d.n / time_repeated(run_dgemm, &d, seconds) / 1e9;
    printf("OpenBLAS dgemm %ldx%ldx%ld, 1 thread: %.2f GFLOP/s\n\n", d.n, d.n, d.n, dgemm_gflops);
    printf("%6s %6s %12s %12s %10s\n", "B", "n", "Gram GFLOP/s", "ms per Gram", "of dgemm");

    for (long wi = 0; wi < nw; wi++)
        for (long bi = 0; bi < nb; bi++) {
            hntk_hyper_arch a = {.f_depth = 3, .f_width = widths[wi], .x_dim = 2, .g_depth = 2, .g_width = 64,
                                 .z_dim = 2};
            long B = batches[bi];
            hntk_net *net;
            if ((st = hntk_net_alloc(&a, B, cli_default_budget(), &net))) { st = cli_report(CMD, st); goto done; }
            double *X = malloc(sizeof(double) * (size_t)(2 * B)), *K = malloc(sizeof(double) * (size_t)(B * B));
            hntk_fill_normal_matrix(3, 0, 0, 1.0, X, (size_t)B, 2);
            hntk_net_sample_weights(net, 1, 0);
            hntk_net_forward(net, B, X, X, NULL);
            hntk_net_backward(net);
            gram_case g = {net, K};
            double sec = time_repeated(run_gram, &g, seconds);
            double gflops = hntk_net_ntk_gram_flops(&a, B) / sec / 1e9;
            printf("%6ld %6ld %12.2f %12.4f %9.1f%%\n", B, widths[wi], gflops, 1e3 * sec, 100.0 * gflops / dgemm_gflops);
            free(X);
            free(K);
            hntk_net_free(net);
        }
    st = CLI_EXIT_OK;
done:
    free(d.A);
    free(d.Bm);
    free(d.C);
    free(batches);
    free(widths);
    return st;
}
