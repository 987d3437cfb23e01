/* bench_sampler.c: `hyperntk bench-sampler`: normals per second of the
 * Philox4x32-10 ziggurat (hntk_fill_normal_matrix), single-threaded and with
 * OpenMP over rows, against GSL's gsl_ran_gaussian_ziggurat on mt19937.
 *
 * Every measurement fills the same cache-resident matrix (ROWS x COLS, one per
 * thread) again and again until `count` normals are drawn, so it times the
 * generator, not the memory bus; each rate is the best of REPEATS runs, to
 * damp noise from other processes.  A checksum of the outputs is printed so
 * that no work can be optimized away. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <omp.h>

#include "cli.h"
#include "commands.h"

static const char *CMD = "bench-sampler";

enum { ROWS = 64, COLS = 1024 }; /* one matrix: 65536 normals, 512 KiB */
enum { TENSOR = HNTK_TENSOR_F_LAYER0 + 1 };
enum { REPEATS = 3 };

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: hyperntk bench-sampler [OPTIONS]\n"
            "Standard normals per second: hyperntk's Philox4x32-10 ziggurat (hntk_fill_normal_matrix,\n"
            "rows of %d) on one thread and with OpenMP over rows, against GSL's\n"
            "gsl_ran_gaussian_ziggurat with gsl_rng_mt19937 on one thread.  Each rate is the\n"
            "best of %d runs.\n\n"
            "  --count N     normals per measurement, %d..10^12 (default 5e7), rounded up to\n"
            "                whole %d x %d matrices\n"
            "  --simd S      cap the Philox kernels: none, avx2 or avx512 (default: the best the\n"
            "                CPU has); the values drawn do not depend on it\n"
            "  --help        this text\n\n"
            "Threads: OMP_NUM_THREADS (the OpenMP measurement uses them all).\n",
            COLS, REPEATS, ROWS * COLS, ROWS, COLS);
}

static const char *const simd_names[] = {"none", "avx2", "avx512"};

static int parse_options(int argc, char **argv, long *count, int *simd)
{
    static const struct option longopts[] = {{"count", required_argument, 0, 'n'},
                                             {"simd", required_argument, 0, 's'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    *count = 50000000L;
    *simd = HNTK_RNG_SIMD_AVX512;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (cli_parse_long(CMD, "count", optarg, ROWS * COLS, 1000000000000L, count)) return CLI_EXIT_USAGE;
            break;
        case 's':
            for (*simd = 0; *simd < 3 && strcmp(optarg, simd_names[*simd]); ++*simd) continue;
            if (*simd == 3) {
                fprintf(stderr, "hyperntk %s: --simd: '%s' is not one of the accepted values none, avx2, avx512\n",
                        CMD, optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return -1;
        default: return cli_usage_error(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    return 0;
}

/* Matrices of ROWS x COLS needed to draw at least `count` normals. */
static long n_matrices(long count) { return (count + ROWS * COLS - 1) / (ROWS * COLS); }

/* Sum of one entry per row and of the last entry: enough to keep every fill. */
static double checksum(const double *M)
{
    double s = 0.0;
    for (long r = 0; r < ROWS; r++) s += M[r * COLS + r % COLS];
    return s + M[ROWS * COLS - 1];
}

/* Ours, one thread: matrix k is sample k's tensor.  Returns seconds. */
static double time_ours(long mats, double *M, double *sum)
{
    double t0 = cli_now(), s = 0.0;
    for (long k = 0; k < mats; k++) {
        hntk_fill_normal_matrix(12345, (uint32_t)k, TENSOR, 1.0, M, ROWS, COLS);
        s += checksum(M);
    }
    *sum = s;
    return cli_now() - t0;
}

/* GSL, one thread: the same number of normals, entry by entry. */
static double time_gsl(long mats, gsl_rng *rng, double *M, double *sum)
{
    double t0 = cli_now(), s = 0.0;
    for (long k = 0; k < mats; k++) {
        for (long i = 0; i < ROWS * COLS; i++) M[i] = gsl_ran_gaussian_ziggurat(rng, 1.0);
        s += checksum(M);
    }
    *sum = s;
    return cli_now() - t0;
}

/* Ours, OpenMP: the mats x ROWS rows are split statically over the threads;
 * row g is row g % ROWS of sample g / ROWS, exactly as fill_normal_matrix
 * draws it, written to row g % ROWS of the thread's own matrix Ms[t]. */
static double time_ours_omp(long mats, double *const *Ms, double *sum)
{
    long total_rows = mats * ROWS;
    double s = 0.0;
    double t0 = cli_now();
#pragma omp parallel reduction(+ : s)
    {
        double *M = Ms[omp_get_thread_num()];
#pragma omp for schedule(static)
        for (long g = 0; g < total_rows; g++) {
            hntk_stream st;
            double *row = M + (g % ROWS) * COLS;
            hntk_stream_init(&st, 12345, (uint32_t)(g / ROWS), TENSOR, (uint32_t)(g % ROWS));
            hntk_stream_normals(&st, row, COLS);
            s += row[g % COLS];
        }
    }
    *sum = s;
    return cli_now() - t0;
}

static void free_matrices(double **Ms, int n)
{
    if (!Ms) return;
    for (int t = 0; t < n; t++) free(Ms[t]);
    free(Ms);
}

/* One ROWS x COLS matrix per thread; NULL if out of memory. */
static double **alloc_matrices(int n)
{
    double **Ms = calloc((size_t)n, sizeof *Ms);
    if (!Ms) return NULL;
    for (int t = 0; t < n; t++)
        if (!(Ms[t] = malloc(sizeof(double) * ROWS * COLS))) {
            free_matrices(Ms, n);
            return NULL;
        }
    return Ms;
}

int hntk_cmd_bench_sampler(int argc, char **argv)
{
    long count;
    int simd;
    int st = parse_options(argc, argv, &count, &simd);
    if (st) return st < 0 ? CLI_EXIT_OK : st;
    simd = hntk_rng_set_simd(simd);

    int threads = omp_get_max_threads();
    double **Ms = alloc_matrices(threads);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!Ms || !rng) {
        fprintf(stderr, "hyperntk %s: out of memory (%d matrices of %d x %d)\n", CMD, threads, ROWS, COLS);
        free_matrices(Ms, threads);
        if (rng) gsl_rng_free(rng);
        return CLI_EXIT_FAILURE;
    }
    gsl_rng_set(rng, 12345);
    long mats = n_matrices(count);
    double n = (double)mats * ROWS * COLS;
    double sum_ours = 0, sum_gsl = 0, sum_omp = 0;

    /* warm-up: page in the matrices, the tables and the OpenMP pool */
    time_ours(2, Ms[0], &sum_ours);
    time_gsl(2, rng, Ms[0], &sum_gsl);
    time_ours_omp(2 * threads, Ms, &sum_omp);

    double t_gsl = HUGE_VAL, t_ours = HUGE_VAL, t_omp = HUGE_VAL, t;
    for (int rep = 0; rep < REPEATS; rep++) {
        if ((t = time_gsl(mats, rng, Ms[0], &sum_gsl)) < t_gsl) t_gsl = t;
        if ((t = time_ours(mats, Ms[0], &sum_ours)) < t_ours) t_ours = t;
        if ((t = time_ours_omp(mats, Ms, &sum_omp)) < t_omp) t_omp = t;
    }
    double r_gsl = n / t_gsl, r_ours = n / t_ours, r_omp = n / t_omp;

    printf("bench-sampler: %.0f standard normals per measurement (rows of %d), Philox kernels: %s\n", n, COLS,
           simd_names[simd]);
    printf("  GSL gsl_ran_gaussian_ziggurat + mt19937, 1 thread:      %8.1f M normals/s\n", r_gsl * 1e-6);
    printf("  hyperntk Philox4x32-10 ziggurat, 1 thread:              %8.1f M normals/s  (%.2fx GSL)\n",
           r_ours * 1e-6, r_ours / r_gsl);
    printf("  hyperntk Philox4x32-10 ziggurat, OpenMP %3d threads:    %8.1f M normals/s  (%.2fx GSL, %.2fx 1 thread)\n",
           threads, r_omp * 1e-6, r_omp / r_gsl, r_omp / r_ours);
    printf("  checksums (keep the work): %.6g %.6g %.6g\n", sum_gsl, sum_ours, sum_omp);

    gsl_rng_free(rng);
    free_matrices(Ms, threads);
    return CLI_EXIT_OK;
}
