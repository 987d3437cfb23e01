/* main.c: the `hyperntk` program dispatches to one subcommand per file in sims/. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"kernel", hntk_cmd_kernel, "empirical vs analytic hyperkernel and NNGP on given inputs"},
    {"analytic", hntk_cmd_analytic, "infinite-width kernels between two input sets (Theta^h, Lambda^H, Theta^f, S, Theta^g)"},
    {"inputs", hntk_cmd_inputs, "write an inputs file (random or the Figure 1(b) circle)"},
    {"export", hntk_cmd_export, "print datasets or attributes of a result file as columns (gnuplot)"},
    {"compare", hntk_cmd_compare, "are two result files the same (bit for bit, or within --rtol/--atol)?"},
    {"bench", hntk_cmd_bench, "performance figures beside their references, ratios and targets"},
    {"thm1", hntk_cmd_thm1, "Theorem 1: scaling of the higher-order terms K^(r) with the width of f"},
    {"fig1a", hntk_cmd_fig1a, "Figure 1(a): variance of K^h over a grid of widths of f and g"},
    {"fig1b", hntk_cmd_fig1b, "Figure 1(b): K^h against the angle between z and z', narrow and wide g"},
    {"thm2", hntk_cmd_thm2, "Theorem 2: is h Gaussian (kurtosis, KS, A-D, energy distance) on a grid of widths?"},
    {"thm3", hntk_cmd_thm3, "Theorem 3: does K^h stay put under training (dK/dt by term, drift, linearization)?"},
    {"complete", hntk_cmd_complete, "image completion/inpainting: hyperkernel regression vs a trained hypernetwork"},
    {"widelr", hntk_cmd_widelr, "wide one-hidden-layer networks trained with lr ~ sqrt(n) and ~ n, three parametrizations"},
    {"rotations", hntk_cmd_rotations, "rotation prediction (appendix 2.1): test accuracy vs learning rate, g depth, width"},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void print_help(FILE *out)
{
    fprintf(out,
            "Usage: hyperntk COMMAND [OPTIONS]\n"
            "Infinite-width hypernetworks (Littwin et al., NeurIPS 2020), verified by experiment.\n\n"
            "Commands:\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\nEvery command has --help.  Threads: OMP_NUM_THREADS (results do not depend on it).\n"
            "hyperntk %s (git %s)\n",
            hntk_version(), hntk_git_revision());
}

/* Under MPI (include/hyperntk/parallel.h) every rank runs the command: the
 * Monte Carlo engine splits the samples, rank 0 prints (the other ranks'
 * stdout goes to /dev/null) and writes the files. */
static int run_command(int i, int argc, char **argv)
{
    if (hntk_parallel_init(&argc, &argv)) {
        fprintf(stderr, "hyperntk: %s: %s\n", hntk_status_name(HNTK_EMPI), hntk_last_error());
        return 1;
    }
    if (hntk_parallel_rank() != 0 && !freopen("/dev/null", "w", stdout)) {
        fprintf(stderr, "hyperntk: MPI rank %d cannot silence its standard output\n", hntk_parallel_rank());
        hntk_parallel_abort(1);
    }
    int code = commands[i].run(argc - 1, argv + 1);
    fflush(stdout);
    fflush(stderr);
    /* A rank that failed while the others wait in a collective call would hang
     * them: stop every rank. */
    if (code != 0) hntk_parallel_abort(code);
    hntk_parallel_finalize();
    return code;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        print_help(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("hyperntk %s (git %s)\nMPI: %s\n", hntk_version(), hntk_git_revision(), hntk_parallel_library());
        return 0;
    }
    hntk_blas_single_thread();
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) return run_command(i, argc, argv);
    fprintf(stderr, "hyperntk: unknown command '%s'; accepted: ", argv[1]);
    for (int i = 0; i < N_COMMANDS; i++) fprintf(stderr, "%s%s", i ? ", " : "", commands[i].name);
    fprintf(stderr, ".\nTry 'hyperntk --help'.\n");
    return 2;
}
