/* bench.c: `hyperntk bench`: every performance figure of the lab beside its
 * reference, measured in the same run on the same machine, with the ratio and
 * the target (docs/performance.md keeps the output of this machine).
 *
 * Sections (--only picks some; all by default):
 *   gram     GFLOP/s of the empirical hyperkernel Gram (layer-wise dsyrk) for
 *            B x n in {1,16,128} x {512,2048,4096}, 1 thread, against OpenBLAS
 *            dgemm (square 2048) and a dgemm of the Gram's own shape.
 *   sampler  normals/s of the Philox ziggurat against GSL's ziggurat on mt19937,
 *            1 thread and OpenMP; bit-reproducibility across SIMD levels,
 *            thread counts and chunkings.
 *   mc       end-to-end Monte Carlo samples/s (weights, forward, backward, the
 *            three Gram matrices of `hyperntk kernel`) for the Figure 1(b)
 *            configuration and the widest Figure 1(a) cell, 1 and 2 threads,
 *            with the per-stage cost of a sample, the CPU time the run obtained
 *            and the memory read bandwidth for 1 and 2 threads (what bounds it).
 *   taylor   all R orders K^(1..R) for a pair (Taylor mode) against one forward
 *            plus backward pass (the metric of `hyperntk thm1 --bench`).
 *   lazy     samples per second of the lazy sampler (lazy.h) against the dense
 *            network at f width 4096, and its time per sample at n = 10^4..10^6.
 *   analytic (only with --only analytic) the infinite-width kernels Theta^h and
 *            Lambda^H between two sets of 10^4 inputs (10^8 pairs; quick:
 *            10^3 x 10^3) by hntk_limit_cross on T threads, against the plain
 *            per-pair loop (hntk_limit_cross_naive, 1 thread) on a subset of
 *            rows, per pair; the same bits checked.
 *   regress  (only with --only regress) the Eq. 1 solve of `hyperntk complete`
 *            (regress.h: LAPACK dpotrf + dpotrs, one BLAS thread as complete
 *            runs them) on a hyperkernel Gram of U images x G pixels (n = U G
 *            rows; --regress-images, --regress-coords; the size is
 *            U = 1000, G = 20: n = 20000), GFLOP/s against one OpenBLAS dgemm
 *            n^3 in the same run; the time to assemble that Gram the cheap way
 *            (hntk_limit_cross_indexed: Theta^f and S on the U^2 image pairs,
 *            g's recursion per row pair) against the time of that dgemm; the
 *            direct cross-kernel on the expanded inputs on the first rows
 *            (same bits checked).
 *   memory   peak resident memory (getrusage ru_maxrss) of the widest
 *            configuration against its weights plus activations (hntk_net_bytes).
 *            Measured first, before any other section touches memory, since
 *            ru_maxrss only grows; printed last.
 *
 * Timing: each figure is the best of several repetitions (the machine may be
 * shared); what counts are the ratios, measured in one run.  The load average
 * is printed with the results. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../src/blas.h"
#include "cli.h"
#include "commands.h"
#include "opts.h"

char *openblas_get_config(void);
char *openblas_get_corename(void);

static const char *CMD = "bench";

#define BENCH_PI 3.14159265358979323846

enum { SEC_GRAM = 1, SEC_SAMPLER = 2, SEC_MC = 4, SEC_TAYLOR = 8, SEC_MEMORY = 16, SEC_LAZY = 32, SEC_ANALYTIC = 64,
       SEC_REGRESS = 128, SEC_ALL = 255 };
static const char *const SECTION_NAMES[] = {"gram", "sampler", "mc", "taylor", "memory", "lazy", "analytic", "regress"};
enum { N_SECTIONS = 8 };

static const char *const SIMD_NAMES[] = {"none", "avx2", "avx512", NULL};

/* Targets (issue 5). */
#define TARGET_GRAM_OF_DGEMM 0.5  /* at B = 128, n >= 2048 */
#define TARGET_SAMPLER_X_GSL 4.0  /* per core */
#define TARGET_MC_SPEEDUP 1.8     /* 2 threads over 1 */
#define TARGET_LAZY_X_DENSE 100.0 /* lazy samples/s over dense at f 4096, g 640, B = 2 */
#define TARGET_LAZY_SCALING 130.0 /* lazy time per sample at n = 10^6 over n = 10^4 */
#define TARGET_LAZY_MS_1E6 100.0  /* lazy ms per sample of K^h at n = 10^6, one core */
#define TARGET_CHOL_OF_DGEMM 0.7  /* Cholesky GFLOP/s over dgemm GFLOP/s at n = 20000 (issue 13) */
#define TARGET_ASSEMBLY_OF_DGEMM 0.25 /* Gram assembly seconds over one n^3 dgemm's: "well below 1" (issue 13) */

typedef struct {
    int quick;
    unsigned sections;
    const char *only;     /* comma list of section names */
    double seconds;       /* minimum time of one measurement */
    opts_list batches;    /* gram */
    opts_list widths;
    long normals;         /* sampler: normals per measurement */
    int simd;             /* cap of the Philox kernels */
    int threads;          /* the "N threads" of the scaling rows (default 2) */
    long regress_images;  /* regress: U */
    long regress_coords;  /* regress: G */
} bench_opts;

/* Every ratio, for the summary at the end. */
enum { MAX_SUMMARY = 48 };
typedef struct {
    char what[96];
    double ratio;
    char target[32];
    int verdict; /* 1 met, 0 missed, -1 no target */
} summary_row;
static summary_row summary[MAX_SUMMARY];
static int n_summary;

static void add_summary(const char *what, double ratio, const char *target, int verdict)
{
    if (n_summary >= MAX_SUMMARY) return;
    summary_row *s = &summary[n_summary++];
    snprintf(s->what, sizeof s->what, "%s", what);
    snprintf(s->target, sizeof s->target, "%s", target);
    s->ratio = ratio;
    s->verdict = verdict;
}

static const char *verdict_word(int v) { return v > 0 ? "met" : v == 0 ? "MISSED" : "-"; }

/* ------------------------------------------------------------------ options */

#define F(field) offsetof(bench_opts, field)
static const opt_spec SPECS[] = {
    {"only", "LIST", OPT_STRING, F(only), 0, 0, "gram,sampler,mc,taylor,memory,lazy",
     "sections, comma list of gram, sampler, mc, taylor, memory, lazy, analytic, regress\n"
     "(analytic, 10^8 pairs, and regress run only when named)", 0},
    {"seconds", "T", OPT_DOUBLE, F(seconds), 0.001, 60, NULL, "minimum time of one measurement", 0},
    {"batches", "LIST", OPT_LIST, F(batches), 1, 4096, "1,16,128", "gram: inputs B", 0},
    {"widths", "LIST", OPT_LIST, F(widths), 1, 16384, "512,2048,4096", "gram: f widths n", 0},
    {"count", "N", OPT_LONG, F(normals), 65536, 1e12, NULL, "sampler: normals per measurement", 0},
    {"simd", "S", OPT_CHOICE, F(simd), 0, 0, "avx512",
     "cap the Philox kernels (the default avx512: the best the CPU has);\nthe values drawn do not depend on it", 0,
     SIMD_NAMES},
    {"threads", "T", OPT_INT, F(threads), 2, 256, "2", "thread count of the scaling rows", 0},
    {"regress-images", "U", OPT_LONG, F(regress_images), 1, 50000, "200",
     "regress: images of the Gram (n = U G rows; the issue's size: 1000, n = 20000:\n"
     "about 6 minutes and 6.5 GiB, the dgemm 4 of them)", 0},
    {"regress-coords", "G", OPT_LONG, F(regress_coords), 1, 784, "20", "regress: pixels per image", 0},
};
#undef F

static const opt_preset PRESETS[] = {
    {"default", "full timings", "seconds=0.5 count=5e7"},
    {"quick", "smoke run: every row, short timings, smaller sizes where noted (runs, not speed)",
     "seconds=0.02 count=1048576 regress-images=50"},
};

static const opt_command COMMAND = {
    .cmd = "bench",
    .synopsis = "[--quick] [--only LIST] [OPTIONS]",
    .summary = "Every performance figure beside its reference, measured in this run on this machine,\n"
               "with the ratio and the target; a missed target comes with what bounds it.",
    .footer = "Configurations: Figure 1(b) is L = 3, H = 2, f width 500, g width 800, 42 inputs\n"
              "(x = x', z on the circle); Figure 1(a) cells are L = 3, H = 2, 2 inputs, f x g widths\n"
              "1600 x 640 and 3200 x 1280 (the widest of fig1a's default grid, also the memory row);\n"
              "the Taylor row is thm1's L3_H2 at n = 4096, m = 8, R = 6 (quick: n = 512).\n"
              "regress: the kernel of `hyperntk complete` (L = 3, H = 2, 784-pixel images, 16 Fourier\n"
              "features of the 28 x 28 coordinates, s = 0.1), eps = 0.1; the issue's size:\n"
              "hyperntk bench --only regress --regress-images 1000   (n = 20000).\n"
              "x_dim = z_dim = 2 unless noted.  Every worker (network and workspaces) comes from the\n"
              "library pool (pool.h), sized and budget-checked once.",
    .specs = SPECS,
    .n_specs = (int)(sizeof SPECS / sizeof SPECS[0]),
    .presets = PRESETS,
    .n_presets = (int)(sizeof PRESETS / sizeof PRESETS[0]),
};

static int parse_sections(const char *text, unsigned *sections)
{
    char copy[256];
    if (strlen(text) >= sizeof copy)
        return cli_usage_error(CMD, "--only: '%.40s...' is too long: accepted a comma list of gram, sampler, mc, "
                                    "taylor, memory, lazy, analytic, regress", text);
    strcpy(copy, text);
    *sections = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int k;
        for (k = 0; k < N_SECTIONS && strcmp(tok, SECTION_NAMES[k]); k++) continue;
        if (k == N_SECTIONS)
            return cli_usage_error(CMD, "--only: '%s' is not one of gram, sampler, mc, taylor, memory, lazy, analytic, "
                                        "regress", tok);
        *sections |= 1u << k;
    }
    if (!*sections)
        return cli_usage_error(CMD, "--only: '%s' names no section: accepted a comma list of gram, sampler, mc, "
                                    "taylor, memory, lazy, analytic, regress", text);
    return 0;
}

static int parse_options(int argc, char **argv, bench_opts *o)
{
    opts_state state;
    memset(o, 0, sizeof *o);
    int st = opts_parse(&COMMAND, argc, argv, o, &state);
    if (st) return st;
    o->quick = state.preset == 1;
    return parse_sections(o->only, &o->sections);
}

/* ------------------------------------------------------------------ utilities */

static void set_threads(int t)
{
#ifdef _OPENMP
    omp_set_num_threads(t);
#else
    (void)t;
#endif
}

static int max_threads(void) { return hntk_mc_max_threads(); }

/* CPU seconds (user + system) of the whole process so far. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

static double maxrss_bytes(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return 1024.0 * (double)ru.ru_maxrss; /* Linux: KiB */
}

static double rss_now_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return NAN;
    int ok = fscanf(f, "%ld %ld", &pages, &resident) == 2;
    fclose(f);
    return ok ? (double)resident * (double)sysconf(_SC_PAGE_SIZE) : NAN;
}

static void load_average(char *buf, size_t cap)
{
    snprintf(buf, cap, "unknown");
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f) return;
    double a, b, c;
    if (fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3) snprintf(buf, cap, "%.2f %.2f %.2f", a, b, c);
    fclose(f);
}

static void cpu_model(char *buf, size_t cap)
{
    snprintf(buf, cap, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *p = strchr(line, ':');
            if (p) {
                p += 1 + strspn(p + 1, " \t");
                p[strcspn(p, "\n")] = '\0';
                snprintf(buf, cap, "%s", p);
            }
            break;
        }
    fclose(f);
}

/* Seconds per call of fn: the best of `reps` runs of at least `seconds` each
 * (after one warm-up call). */
static double time_best(void (*fn)(void *), void *data, double seconds, int reps)
{
    fn(data);
    double best = INFINITY;
    for (int r = 0; r < reps; r++) {
        long calls = 0;
        double t0 = cli_now(), t;
        do {
            fn(data);
            calls++;
        } while ((t = cli_now() - t0) < seconds);
        if (t / (double)calls < best) best = t / (double)calls;
    }
    return best;
}


/* ------------------------------------------------------------------ 1. Gram */

typedef struct {
    long m, n, k;
    const double *A, *Bm;
    double *C;
    int transb;
} dgemm_case;

static void run_dgemm(void *data)
{
    dgemm_case *d = data;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, d->transb ? CblasTrans : CblasNoTrans, (int)d->m, (int)d->n, (int)d->k,
                1.0, d->A, (int)d->k, d->Bm, d->transb ? (int)d->k : (int)d->n, 0.0, d->C, (int)d->n);
}

typedef struct { hntk_net *net; double *K; } gram_case;

static void run_gram(void *data)
{
    gram_case *g = data;
    hntk_net_ntk_gram(g->net, g->K);
}

/* Square dgemm (n = 2048, quick 512), one thread: the reference of the Gram rows. */
static int measure_dgemm(const bench_opts *o, double *gflops, long *size)
{
    long n = o->quick ? 512 : 2048;
    size_t nn = (size_t)n * (size_t)n;
    double *A = malloc(sizeof(double) * nn), *Bm = malloc(sizeof(double) * nn), *C = malloc(sizeof(double) * nn);
    if (!A || !Bm || !C) {
        free(A);
        free(Bm);
        free(C);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate dgemm operands of %ld x %ld", n, n);
    }
    hntk_fill_normal_matrix(7, 0, 0, 1.0, A, nn, 1);
    hntk_fill_normal_matrix(7, 0, 1, 1.0, Bm, nn, 1);
    dgemm_case d = {n, n, n, A, Bm, C, 0};
    *gflops = 2.0 * (double)nn * (double)n / time_best(run_dgemm, &d, o->seconds, 3) / 1e9;
    *size = n;
    free(A);
    free(Bm);
    free(C);
    return HNTK_OK;
}

static int bench_gram(const bench_opts *o)
{
    double ref = NAN;
    long ref_n = 0;
    int st = measure_dgemm(o, &ref, &ref_n);
    if (st) return st;
    printf("\n[gram] Gram throughput of the empirical hyperkernel K^h (B x B) of one sample, 1 thread\n"
           "  flops of the layer-wise factorization sum_l (E^l E^l^T) o (Q^{l-1} Q^{l-1}^T) / n_{l-1}\n"
           "  (two dsyrk per layer: B(B+1)(n_l + n_{l-1}) flops, plus the Hadamard sums); L = 3, H = 2,\n"
           "  g width 64 (P = 192), x_dim = z_dim = 2.\n"
           "  reference: OpenBLAS dgemm %ldx%ldx%ld, 1 thread: %.2f GFLOP/s\n"
           "  same-shape: one dgemm (B x n) (n x B), the Gram's own BLAS shape, 2 B^2 n flops\n",
           ref_n, ref_n, ref_n, ref);
    printf("  %5s %6s %12s %10s %9s %16s %10s %8s\n", "B", "n", "Gram GFLOP/s", "ms/Gram", "of dgemm",
           "same-shape GF/s", "target", "verdict");
    int missed = 0;
    for (long wi = 0; wi < o->widths.n; wi++)
        for (long bi = 0; bi < o->batches.n; bi++) {
            long B = o->batches.v[bi], n = o->widths.v[wi];
            hntk_hyper_arch a = {.f_depth = 3, .f_width = n, .x_dim = 2, .g_depth = 2, .g_width = 64, .z_dim = 2};
            /* one worker: the network, the Gram K (B, B) and the same-shape product S (B, B) */
            hntk_pool_needs needs = {.batch = B, .gram = 1, .out_doubles = B * B + 2 * B};
            hntk_pool *pool;
            if ((st = hntk_pool_alloc(&a, &needs, 1, cli_default_budget(), &pool))) return st;
            hntk_worker *w = hntk_pool_worker(pool, 0);
            hntk_net *net = w->net;
            double *K = w->gram, *S = w->out, *X = w->out + B * B;
            hntk_random_directions(99, 3, X, (size_t)B, 2);
            hntk_net_sample_weights(net, 1, 0);
            hntk_net_forward(net, B, X, X, NULL);
            hntk_net_backward(net);
            gram_case g = {net, K};
            double sec = time_best(run_gram, &g, o->seconds, 3);
            double gflops = hntk_net_ntk_gram_flops(&a, B) / sec / 1e9;
            /* the same BLAS shape as one layer: E^2 (B, n) times its transpose */
            dgemm_case d = {B, B, n, hntk_net_dh_dy(net, 2), hntk_net_dh_dy(net, 2), S, 1};
            double shape = 2.0 * (double)B * (double)B * (double)n / time_best(run_dgemm, &d, o->seconds, 3) / 1e9;
            int has_target = B >= 128 && n >= 2048;
            int met = gflops >= TARGET_GRAM_OF_DGEMM * ref;
            if (has_target && !met) missed = 1;
            printf("  %5ld %6ld %12.2f %10.4f %8.1f%% %16.2f %10s %8s\n", B, n, gflops, 1e3 * sec, 100.0 * gflops / ref,
                   shape, has_target ? ">= 50%" : "-", has_target ? verdict_word(met) : "-");
            char what[96];
            snprintf(what, sizeof what, "Gram B=%ld n=%ld / dgemm", B, n);
            add_summary(what, gflops / ref, has_target ? ">= 0.50" : "-", has_target ? met : -1);
            hntk_pool_free(pool);
        }
    printf("  The target applies to B = 128, n >= 2048.  Below it the BLAS shape caps even a dgemm\n"
           "  (B = 1 is a dot product, 2 flops per 8 bytes read), and OpenBLAS's dsyrk adds a fixed\n"
           "  cost per call: for B <= 32 it is slower than the same-shape dgemm (compare the columns).\n");
    if (missed)
        printf("  MISSED at B >= 128, n >= 2048: compare with the same-shape dgemm column, what the BLAS\n"
               "  shape allows (dsyrk computes half of it), and with the load average.\n");
    return HNTK_OK;
}

/* ------------------------------------------------------------------ 2. sampler */

enum { S_ROWS = 64, S_COLS = 1024, S_TENSOR = HNTK_TENSOR_F_LAYER0 + 1 };

static double sampler_checksum(const double *M)
{
    double s = 0.0;
    for (long r = 0; r < S_ROWS; r++) s += M[r * S_COLS + r % S_COLS];
    return s + M[S_ROWS * S_COLS - 1];
}

/* Ours, 1 thread: matrix k is sample k's tensor (cache resident).  Seconds. */
static double sampler_ours(long mats, double *M, double *sum)
{
    double t0 = cli_now(), s = 0.0;
    for (long k = 0; k < mats; k++) {
        hntk_fill_normal_matrix(12345, (uint32_t)k, S_TENSOR, 1.0, M, S_ROWS, S_COLS);
        s += sampler_checksum(M);
    }
    *sum = s;
    return cli_now() - t0;
}

static double sampler_gsl(long mats, gsl_rng *rng, double *M, double *sum)
{
    double t0 = cli_now(), s = 0.0;
    for (long k = 0; k < mats; k++) {
        for (long i = 0; i < S_ROWS * S_COLS; i++) M[i] = gsl_ran_gaussian_ziggurat(rng, 1.0);
        s += sampler_checksum(M);
    }
    *sum = s;
    return cli_now() - t0;
}

/* Ours, OpenMP over rows: row g is row g % S_ROWS of sample g / S_ROWS, written
 * to that row of the thread's own matrix Ms[t]. */
static double sampler_ours_omp(long mats, double *const *Ms, int threads, double *sum)
{
    long total_rows = mats * S_ROWS;
    double s = 0.0, t0 = cli_now();
#pragma omp parallel num_threads(threads) reduction(+ : s)
    {
#ifdef _OPENMP
        double *M = Ms[omp_get_thread_num()];
#else
        double *M = Ms[0];
#endif
#pragma omp for schedule(static)
        for (long g = 0; g < total_rows; g++) {
            hntk_stream st;
            double *row = M + (g % S_ROWS) * S_COLS;
            hntk_stream_init(&st, 12345, (uint32_t)(g / S_ROWS), S_TENSOR, (uint32_t)(g % S_ROWS));
            hntk_stream_normals(&st, row, S_COLS);
            s += row[g % S_COLS];
        }
    }
    *sum = s;
    return cli_now() - t0;
}

/* Bit-reproducibility: one 257 x 1031 matrix (odd sizes: partial SIMD batches)
 * drawn (a) whole by hntk_fill_normal_matrix at every SIMD level, (b) row by row
 * with OpenMP over rows in reverse order, each row in three uneven chunks.
 * Returns 1 when every copy is bit-identical to (a) at SIMD none. */
static int sampler_reproducible(int threads, int best_simd, char *detail, size_t cap)
{
    enum { R = 257, C = 1031 };
    double *ref = malloc(sizeof(double) * R * C), *M = malloc(sizeof(double) * R * C);
    if (!ref || !M) {
        free(ref);
        free(M);
        snprintf(detail, cap, "out of memory");
        return 0;
    }
    int ok = 1, levels = 0;
    hntk_rng_set_simd(HNTK_RNG_SIMD_NONE);
    hntk_fill_normal_matrix(2024, 17, 3, 1.0, ref, R, C);
    for (int level = HNTK_RNG_SIMD_AVX2; level <= best_simd; level++) {
        if (hntk_rng_set_simd(level) != level) continue;
        hntk_fill_normal_matrix(2024, 17, 3, 1.0, M, R, C);
        ok &= !memcmp(ref, M, sizeof(double) * R * C);
        levels++;
    }
    hntk_rng_set_simd(best_simd);
    memset(M, 0, sizeof(double) * R * C);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long i = 0; i < R; i++) {
        long r = R - 1 - i;
        hntk_stream s;
        hntk_stream_init(&s, 2024, 17, 3, (uint32_t)r);
        hntk_stream_normals(&s, M + r * C, 5);
        hntk_stream_normals(&s, M + r * C + 5, 600);
        hntk_stream_normals(&s, M + r * C + 605, C - 605);
    }
    ok &= !memcmp(ref, M, sizeof(double) * R * C);
    snprintf(detail, cap, "SIMD none%s%s, %d threads over rows in reverse, rows in 3 chunks",
             levels >= 1 ? "/avx2" : "", levels >= 2 ? "/avx512" : "", threads);
    free(ref);
    free(M);
    return ok;
}

static int bench_sampler(const bench_opts *o)
{
    int simd = hntk_rng_set_simd(o->simd);
    int threads = o->threads;
    double *Ms[256] = {0};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    int st = rng ? HNTK_OK : hntk_fail(HNTK_ENOMEM, "cannot allocate GSL's mt19937");
    for (int t = 0; t < threads && !st; t++)
        if (!(Ms[t] = malloc(sizeof(double) * S_ROWS * S_COLS)))
            st = hntk_fail(HNTK_ENOMEM, "cannot allocate %d sampler matrices", threads);
    if (!st) {
        gsl_rng_set(rng, 12345);
        long mats = (o->normals + S_ROWS * S_COLS - 1) / (S_ROWS * S_COLS);
        double n = (double)mats * S_ROWS * S_COLS;
        double sg = 0, so = 0, sp = 0;
        sampler_ours(2, Ms[0], &so); /* warm-up: tables, pages, thread pool */
        sampler_gsl(2, rng, Ms[0], &sg);
        sampler_ours_omp(2 * threads, Ms, threads, &sp);
        double tg = INFINITY, to = INFINITY, tp = INFINITY, t;
        for (int rep = 0; rep < 3; rep++) { /* interleaved, best of 3: damps load from other processes */
            if ((t = sampler_gsl(mats, rng, Ms[0], &sg)) < tg) tg = t;
            if ((t = sampler_ours(mats, Ms[0], &so)) < to) to = t;
            if ((t = sampler_ours_omp(mats, Ms, threads, &sp)) < tp) tp = t;
        }
        double rg = n / tg, ro = n / to, rp = n / tp;
        char detail[160];
        int repro = sampler_reproducible(threads, simd, detail, sizeof detail);
        printf("\n[sampler] standard normals per second, %.0f per measurement (rows of %d, cache resident),\n"
               "  Philox kernels: %s; best of 3 interleaved runs\n",
               n, S_COLS, SIMD_NAMES[simd]);
        printf("  reference: GSL gsl_ran_gaussian_ziggurat + mt19937, 1 thread: %8.1f M/s\n", rg * 1e-6);
        printf("  hyperntk Philox4x32-10 ziggurat, 1 thread:                %8.1f M/s  %6.2fx GSL  target >= %.0fx  %s\n",
               ro * 1e-6, ro / rg, TARGET_SAMPLER_X_GSL, verdict_word(ro / rg >= TARGET_SAMPLER_X_GSL));
        printf("  hyperntk Philox4x32-10 ziggurat, %d threads:               %8.1f M/s  %6.2fx GSL  %.2fx 1 thread\n",
               threads, rp * 1e-6, rp / rg, rp / ro);
        printf("  bit-reproducible: %s (%s)\n", repro ? "yes" : "NO", detail);
        printf("  checksums (keep the work): %.6g %.6g %.6g\n", sg, so, sp);
        if (ro / rg < TARGET_SAMPLER_X_GSL)
            printf("  MISSED: check the Philox SIMD level above (`--simd none` shows the scalar rate) and the\n"
                   "  load average: both generators run interleaved on the same core.\n");
        add_summary("sampler 1 thread / GSL ziggurat+mt19937", ro / rg, ">= 4", ro / rg >= TARGET_SAMPLER_X_GSL);
        char what[96];
        snprintf(what, sizeof what, "sampler %d threads / 1 thread", threads);
        add_summary(what, rp / ro, "-", -1);
        add_summary("sampler bit-reproducible (1 = yes)", repro, "= 1", repro);
    }
    for (int t = 0; t < threads; t++) free(Ms[t]);
    if (rng) gsl_rng_free(rng);
    return st;
}

/* ------------------------------------------------------------------ 3. Monte Carlo */

/* One Monte Carlo configuration: its inputs (the workers' shared job) and a
 * pool of one worker per thread. */
typedef struct {
    const char *name;
    hntk_hyper_arch arch;
    long B;
    double *X, *Z;
    hntk_pool *pool;
} mc_setup;

/* The per-sample work of `hyperntk kernel` (kernel.c: kernel_sample, without --fntk). */
static int mc_sample(void *ctx, long sample, double *out)
{
    hntk_worker *w = ctx;
    const mc_setup *s = w->job;
    long B = s->B;
    int st = hntk_net_sample_ntk_gram(w->net, 1, (uint32_t)sample, B, s->X, s->Z, out);
    if (st) return st;
    hntk_net_nngp_gram(w->net, out + B * B);
    hntk_net_g_gram(w->net, out + 2 * B * B);
    return HNTK_OK;
}

static void mc_setup_free(mc_setup *s)
{
    hntk_pool_free(s->pool);
    free(s->X);
    free(s->Z);
    memset(s, 0, sizeof *s);
}

/* fig1b: x the same in every row, z_0 = (1,0), z_t on the circle, |z|^2 = 2 (inputs.c --kind circle).
 * fig1a: two random inputs.  Worker 0 also holds a per-sample buffer for mc_stages. */
static int mc_setup_alloc(mc_setup *s, const char *name, int fig1b, long f_width, long g_width, int n_ctx)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    s->arch = (hntk_hyper_arch){.f_depth = 3, .f_width = f_width, .x_dim = 2, .g_depth = 2, .g_width = g_width,
                                .z_dim = 2};
    s->B = fig1b ? 42 : 2;
    s->X = malloc(sizeof(double) * (size_t)(2 * s->B));
    s->Z = malloc(sizeof(double) * (size_t)(2 * s->B));
    if (!s->X || !s->Z) {
        mc_setup_free(s);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate the Monte Carlo benchmark");
    }
    if (fig1b) {
        for (long b = 0; b < s->B; b++) {
            double theta = b == 0 ? 0.0 : -BENCH_PI / 2 + BENCH_PI * (double)(b - 1) / (double)(s->B - 2);
            s->X[2 * b] = s->X[2 * b + 1] = 1.0;
            s->Z[2 * b] = sqrt(2.0) * cos(theta);
            s->Z[2 * b + 1] = sqrt(2.0) * sin(theta);
        }
    } else {
        hntk_random_directions(99, HNTK_TENSOR_INPUT_X, s->X, (size_t)s->B, 2);
        hntk_random_directions(99, HNTK_TENSOR_INPUT_Z, s->Z, (size_t)s->B, 2);
    }
    hntk_pool_needs needs = {.batch = s->B, .out_doubles = 3 * s->B * s->B};
    int st = hntk_pool_alloc(&s->arch, &needs, n_ctx, cli_default_budget(), &s->pool);
    if (st) {
        mc_setup_free(s);
        return st;
    }
    hntk_pool_set_job(s->pool, s);
    return HNTK_OK;
}

/* Run `samples` samples on `threads` threads; wall and CPU seconds. */
static int mc_time(mc_setup *s, int threads, long first, long samples, double *wall, double *cpu)
{
    hntk_stats_moments *acc;
    int st = hntk_stats_moments_alloc(3 * s->B * s->B, &acc);
    if (st) return st;
    set_threads(threads);
    hntk_mc_job job = {.samples = samples, .first_sample = first, .dim = 3 * s->B * s->B, .n_ctx = threads,
                       .ctx = hntk_pool_ctx(s->pool), .fn = mc_sample};
    double c0 = cpu_seconds(), t0 = cli_now();
    st = hntk_mc_run(&job, acc);
    *wall = cli_now() - t0;
    *cpu = cpu_seconds() - c0;
    hntk_stats_moments_free(acc);
    return st;
}

/* Per-stage seconds of one sample on one thread: weights, forward, backward, Grams (best of reps). */
static void mc_stages(mc_setup *s, int reps, double stage[4])
{
    hntk_net *net = hntk_pool_worker(s->pool, 0)->net;
    long B = s->B;
    double *out = hntk_pool_worker(s->pool, 0)->out;
    for (int k = 0; k < 4; k++) stage[k] = INFINITY;
    for (int r = 0; r < reps; r++) {
        double t0 = cli_now();
        hntk_net_sample_weights(net, 1, (uint32_t)r);
        double t1 = cli_now();
        hntk_net_forward(net, B, s->X, s->Z, NULL);
        double t2 = cli_now();
        hntk_net_backward(net);
        double t3 = cli_now();
        hntk_net_ntk_gram(net, out);
        hntk_net_nngp_gram(net, out + B * B);
        hntk_net_g_gram(net, out + 2 * B * B);
        double t4 = cli_now(), t[4] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3};
        for (int k = 0; k < 4; k++)
            if (t[k] < stage[k]) stage[k] = t[k];
    }
}

/* Memory read bandwidth (GB/s) with `threads` threads: sum of an array of
 * `bytes` (far beyond the caches), best of 3. */
static double read_bandwidth(const double *a, size_t n, int threads)
{
    double best = INFINITY, sink = 0.0;
    for (int rep = 0; rep < 3; rep++) {
        double s = 0.0, t0 = cli_now();
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : s)
        for (size_t i = 0; i < n; i++) s += a[i];
        double t = cli_now() - t0;
        sink += s;
        if (t < best) best = t;
    }
    if (sink == 1.2345) printf(" "); /* keep the sums */
    return (double)n * sizeof(double) / best / 1e9;
}

static int bench_mc(const bench_opts *o)
{
    int T = o->threads;
    struct {
        const char *name;
        int fig1b;
        long f_width, g_width;
        const char *tag;
    } configs[3] = {{"Figure 1(b): L=3 H=2 f 500 g 800, B=42", 1, 500, 800, "fig1b"},
                    {"Figure 1(a) cell: L=3 H=2 f 1600 g 640, B=2", 0, 1600, 640, "fig1a 1600x640"},
                    {"Figure 1(a) widest: L=3 H=2 f 3200 g 1280, B=2", 0, 3200, 1280, "fig1a 3200x1280"}};
    printf("\n[mc] end-to-end Monte Carlo samples per second (weights + forward + backward + the three\n"
           "  Gram matrices of `hyperntk kernel`), OpenMP over samples; reference: the same job on 1 thread.\n"
           "  Alternating 1-thread and %d-thread runs, best of 5 each; 'CPUs' = CPU time / wall time the\n"
           "  run obtained (at most %d on an idle machine), 'per CPU' = the speedup per CPU-second.\n",
           T, T);
    /* Memory bandwidth, to tell a bandwidth bound from a CPU-share bound. */
    size_t bw_n = o->quick ? ((size_t)1 << 22) : ((size_t)1 << 25); /* 32 MiB / 256 MiB */
    double *bw = malloc(sizeof(double) * bw_n);
    double bw1 = NAN, bwT = NAN;
    if (bw) {
        for (size_t i = 0; i < bw_n; i++) bw[i] = (double)(i & 1023);
        bw1 = read_bandwidth(bw, bw_n, 1);
        bwT = read_bandwidth(bw, bw_n, T);
        free(bw);
    }
    char la[64];
    load_average(la, sizeof la);
    printf("  memory read bandwidth (%.0f MiB array): 1 thread %.1f GB/s, %d threads %.1f GB/s (%.2fx); load %s\n",
           bw_n * 8.0 / 1048576.0, bw1, T, bwT, bwT / bw1, la);
    printf("  %-48s %9s %9s %6s %9s %6s %7s %8s %8s\n", "configuration", "1 thr/s", "N thr/s", "ratio", "target",
           "CPUs", "per CPU", "verdict", "samples");
    for (int k = 0; k < 3; k++) {
        mc_setup s;
        int st = mc_setup_alloc(&s, configs[k].name, configs[k].fig1b, configs[k].f_width, configs[k].g_width, T);
        if (st) return st;
        double stage[4];
        mc_stages(&s, o->quick ? 2 : 5, stage);
        double per_sample = stage[0] + stage[1] + stage[2] + stage[3];
        /* samples per run: about 4 `seconds` of work on one thread (quick: 2 blocks), a multiple of 4 T;
         * short runs, many of them: the best of 5 catches the quiet moments of a shared machine */
        long block = 4L * T;
        long samples = (long)ceil((o->quick ? 0.0 : 4.0 * o->seconds) / per_sample / (double)block) * block;
        if (samples < 2 * block) samples = 2 * block;
        double w1 = INFINITY, wT = INFINITY, c1 = 0, cT = 0;
        for (int rep = 0; rep < (o->quick ? 1 : 5) && !st; rep++) {
            double w, c;
            if (!(st = mc_time(&s, 1, 0, samples, &w, &c)) && w < w1) { w1 = w; c1 = c; }
            if (!st && !(st = mc_time(&s, T, 0, samples, &w, &c)) && w < wT) { wT = w; cT = c; }
        }
        set_threads(max_threads());
        if (st) {
            mc_setup_free(&s);
            return st;
        }
        double r1 = samples / w1, rT = samples / wT, ratio = rT / r1;
        double cpus1 = c1 / w1, cpusT = cT / wT;
        double per_cpu = (samples / cT) / (samples / c1); /* samples per CPU-second, N threads over 1 */
        int met = ratio >= TARGET_MC_SPEEDUP;
        printf("  %-48s %9.2f %9.2f %5.2fx %9s %6.2f %6.2fx %8s %8ld\n", s.name, r1, rT, ratio, ">= 1.8x", cpusT,
               per_cpu, verdict_word(met), samples);
        /* What bounds a sample: forward reads every W^l once, backward W^L..W^2 once
         * (2 B flops per weight read); the sampler writes every weight once. */
        double nw = (double)hntk_param_count(&s.arch);
        double first_layer = (double)hntk_f_layer_width(&s.arch, 1) * (double)hntk_f_layer_width(&s.arch, 0);
        double read = 8.0 * (2.0 * nw - first_layer), fb = stage[1] + stage[2];
        double gflops = 2.0 * (double)s.B * (2.0 * nw - first_layer) / fb / 1e9, gbs = read / fb / 1e9;
        int mem_bound = gbs > 0.7 * bw1;
        printf("    one sample on 1 thread: %.2f ms = weights %.2f (%.0f%%) + forward %.2f + backward %.2f + Grams %.2f ms;\n"
               "    %.3g weights (%.1f MB) per sample, %.0f M normals/s in the sampler here; forward + backward\n"
               "    %.1f GFLOP/s, reading the weights at %.1f GB/s (%s); 1-thread run %.2f CPUs\n",
               1e3 * per_sample, 1e3 * stage[0], 100.0 * stage[0] / per_sample, 1e3 * stage[1], 1e3 * stage[2],
               1e3 * stage[3], nw, 8e-6 * nw, 1e-6 * nw / stage[0], gflops, gbs,
               mem_bound ? "memory-bound: the 1-thread read bandwidth" : "compute-bound: dgemm on B rows", cpus1);
        if (!met) {
            if (cpusT < 0.95 * TARGET_MC_SPEEDUP * cpus1)
                printf("    MISSED, bound by the CPU share: the %d-thread run obtained only %.2f CPUs (machine shared,\n"
                       "    load %s); per CPU-second it did %.2fx the 1-thread work, so on %d free cores it\n"
                       "    would reach about %.2fx (per-CPU ratio x cores).\n",
                       T, cpusT, la, per_cpu, T, per_cpu * T);
            else if (mem_bound)
                printf("    MISSED with %.2f CPUs obtained (per CPU-second %.2fx): bound by memory bandwidth.  A sample\n"
                       "    moves ~%.0f MB through memory (the sampler's writes, x2 for write-allocate, and the\n"
                       "    reads %s), %.1f GB/s at 1 thread;\n"
                       "    %d threads need %.1f GB/s for %.1fx, against %.1f GB/s of read bandwidth (%.2fx of 1 thread).\n",
                       cpusT, per_cpu, (8.0 * nw * 2.0 + read) / 1e6, "of forward and backward",
                       (8.0 * nw * 2.0 + read) * r1 / 1e9, T, (8.0 * nw * 2.0 + read) * r1 * TARGET_MC_SPEEDUP / 1e9,
                       TARGET_MC_SPEEDUP, bwT, bwT / bw1);
            else
                printf("    MISSED with %.2f CPUs obtained: per CPU-second %.2fx (barrier at the end of each block,\n"
                       "    shared caches); the %d-thread read bandwidth is %.2fx of 1 thread.\n",
                       cpusT, per_cpu, T, bwT / bw1);
        }
        char what[96];
        snprintf(what, sizeof what, "MC %s: %d thr / 1 thr", configs[k].tag, T);
        add_summary(what, ratio, ">= 1.8", met);
        snprintf(what, sizeof what, "MC %s: per CPU-second, %d thr / 1 thr", configs[k].tag, T);
        add_summary(what, per_cpu, "-", -1);
        mc_setup_free(&s);
    }
    return HNTK_OK;
}

/* ------------------------------------------------------------------ 4. Taylor */

typedef struct {
    hntk_net *net;
    hntk_taylor_ws *ws;
    const double *X, *Z;
    double K[2 * HNTK_TAYLOR_MAX_ORDER];
    int what; /* 0: forward + backward of 1 input; 1: of the pair; 2: all R orders for the pair */
} taylor_case;

static void run_taylor(void *data)
{
    taylor_case *b = data;
    if (b->what < 2) {
        hntk_net_forward(b->net, b->what == 0 ? 1 : 2, b->X, b->Z, NULL);
        hntk_net_backward(b->net);
    } else {
        hntk_taylor_kernels(b->net, b->ws, 2, b->X, b->Z, 1, b->K);
    }
}

static int bench_taylor(const bench_opts *o)
{
    enum { R = 6 };
    long n = o->quick ? 512 : 4096;
    hntk_hyper_arch a = {.f_depth = 3, .f_width = n, .x_dim = 3, .g_depth = 2, .g_width = 8, .z_dim = 3};
    taylor_case b = {0};
    double X[6], Z[6];
    hntk_random_directions(99, 2100, X, 2, 3);
    hntk_random_directions(99, 2101, Z, 2, 3);
    hntk_pool_needs needs = {.batch = 2, .taylor_order = R};
    hntk_pool *pool;
    int st = hntk_pool_alloc(&a, &needs, 1, cli_default_budget(), &pool);
    if (st) {
        printf("\n[taylor] not available: %s\n", hntk_last_error());
        add_summary("Taylor K^(1..R) / fwd+bwd: not available", NAN, "<= R+2", -1);
        return HNTK_OK;
    }
    b.net = hntk_pool_worker(pool, 0)->net;
    b.ws = hntk_pool_worker(pool, 0)->taylor;
    hntk_net_sample_weights(b.net, 1, 0);
    b.X = X;
    b.Z = Z;
    double t[3];
    for (b.what = 0; b.what < 3; b.what++) t[b.what] = time_best(run_taylor, &b, o->seconds, 3);
    double ratio = t[2] / t[0];
    int met = ratio <= R + 2;
    printf("\n[taylor] all R = %d orders K^(1..R)(u, u') of one pair by Taylor mode (taylor.h), against one\n"
           "  forward + backward pass of one input (the metric of `hyperntk thm1 --bench`); thm1's L3_H2:\n"
           "  L = 3, H = 2, f width %ld, g width 8, x_dim = z_dim = 3, 1 thread, weights excluded\n",
           R, n);
    printf("  reference: forward + backward of 1 input %.3f ms (of the pair %.3f ms)\n", 1e3 * t[0], 1e3 * t[1]);
    printf("  K^(1..%d) of the pair: %.3f ms = %.2fx the reference  target <= R + 2 = %d  %s;\n"
           "  the jets alone (minus the pair's forward + backward) cost %.2fx\n",
           R, 1e3 * t[2], ratio, R + 2, verdict_word(met), (t[2] - t[1]) / t[0]);
    if (!met)
        printf("  MISSED: the jets run one dgemm per layer on the stacked orders (min(l, R) B rows), so their\n"
               "  cost is that of a forward on %d rows plus the Cauchy products through g.\n", 2 * R);
    add_summary("Taylor K^(1..6) pair / fwd+bwd(1)", ratio, "<= 8", met);
    hntk_pool_free(pool);
    return HNTK_OK;
}

/* ------------------------------------------------------------------ lazy */

typedef struct {
    hntk_worker *w; /* a pool worker: w->lazy or w->net */
    const double *X, *Z;
    uint32_t sample; /* a fresh sample with every call */
} lazy_case;

static void run_lazy_sample(void *data)
{
    lazy_case *c = data;
    uint32_t s = c->sample++;
    if (c->w->lazy)
        hntk_lazy_sample_ntk_gram(c->w->lazy, 3, s, 2, c->X, c->Z, c->w->gram);
    else
        hntk_net_sample_ntk_gram(c->w->net, 3, s, 2, c->X, c->Z, c->w->gram);
}

/* Seconds per sample of K^h (B = 2) on one thread, lazy or dense; NAN if it does not fit. */
static double lazy_time(const bench_opts *o, long n, int lazy, double *bytes)
{
    hntk_hyper_arch a = {.f_depth = 3, .f_width = n, .x_dim = 2, .g_depth = 2, .g_width = 640, .z_dim = 2};
    hntk_pool_needs needs = {.batch = 2, .gram = 1, .lazy = lazy};
    hntk_pool *pool;
    double X[4], Z[4];
    hntk_random_directions(99, 2200, X, 2, 2);
    hntk_random_directions(99, 2201, Z, 2, 2);
    *bytes = (double)hntk_pool_worker_bytes(&a, &needs);
    if (hntk_pool_alloc(&a, &needs, 1, cli_default_budget(), &pool)) return NAN;
    lazy_case c = {hntk_pool_worker(pool, 0), X, Z, 0};
    double t = time_best(run_lazy_sample, &c, o->seconds, 3);
    hntk_pool_free(pool);
    return t;
}

/* Resident set size of this process now, bytes (/proc/self/statm; 0 if unreadable). */
static double rss_now(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (!f) return 0.0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

/* Peak memory of one lazy worker at f width n: a child process allocates it,
 * draws one sample and reports its peak RSS growth (ru_maxrss minus the RSS
 * it started with), so the parent's own peak cannot hide it.  Writes the
 * bytes counted by hntk_pool_worker_bytes and the seconds of that sample;
 * returns the growth in bytes (NAN on failure). */
static double lazy_peak(long n, double *counted, double *seconds)
{
    hntk_hyper_arch a = {.f_depth = 3, .f_width = n, .x_dim = 2, .g_depth = 2, .g_width = 640, .z_dim = 2};
    hntk_pool_needs needs = {.batch = 2, .gram = 1, .lazy = 1};
    *counted = (double)hntk_pool_worker_bytes(&a, &needs);
    *seconds = NAN;
    int fd[2];
    if (pipe(fd)) return NAN;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return NAN;
    if (pid == 0) {
        double out[2] = {NAN, NAN}, X[4], Z[4];
        close(fd[0]);
        double start = rss_now();
        hntk_pool *pool;
        if (!hntk_pool_alloc(&a, &needs, 1, cli_default_budget(), &pool)) {
            hntk_random_directions(99, 2200, X, 2, 2);
            hntk_random_directions(99, 2201, Z, 2, 2);
            hntk_worker *w = hntk_pool_worker(pool, 0);
            double t0 = cli_now();
            hntk_lazy_sample_ntk_gram(w->lazy, 3, 0, 2, X, Z, w->gram);
            out[1] = cli_now() - t0;
            struct rusage ru;
            getrusage(RUSAGE_SELF, &ru);
            out[0] = (double)ru.ru_maxrss * 1024.0 - start;
            hntk_pool_free(pool);
        }
        if (write(fd[1], out, sizeof out) != (ssize_t)sizeof out) _exit(1);
        _exit(0);
    }
    close(fd[1]);
    double in[2] = {NAN, NAN};
    if (read(fd[0], in, sizeof in) != (ssize_t)sizeof in) in[0] = NAN;
    close(fd[0]);
    waitpid(pid, NULL, 0);
    *seconds = in[1];
    return in[0];
}

static int bench_lazy(const bench_opts *o)
{
    set_threads(1);
    double bd, bl, b4, b5, b6;
    double td = lazy_time(o, 4096, 0, &bd), tl = lazy_time(o, 4096, 1, &bl);
    double t4 = lazy_time(o, 10000, 1, &b4), t5 = lazy_time(o, 100000, 1, &b5), t6 = lazy_time(o, 1000000, 1, &b6);
    set_threads(max_threads());
    double ratio = td / tl, scaling = t6 / t4;
    int met = ratio >= TARGET_LAZY_X_DENSE, met_s = scaling <= TARGET_LAZY_SCALING;
    printf("\n[lazy] one sample of K^h by the lazy sampler (lazy.h: Gaussian conditioning, exact in\n"
           "  distribution) against the dense network (hntk_net_sample_ntk_gram, weights drawn included);\n"
           "  L = 3, H = 2, B = 2, g width 640, x_dim = z_dim = 2, 1 thread, best of 3\n");
    printf("  f width 4096: dense %.3f ms (%.1f samples/s, %.3g MiB), lazy %.4f ms (%.0f samples/s, %.3g MiB)\n",
           1e3 * td, 1.0 / td, bd / 1048576.0, 1e3 * tl, 1.0 / tl, bl / 1048576.0);
    printf("  lazy / dense samples per second: %.1fx  target >= %.0fx  %s\n", ratio, TARGET_LAZY_X_DENSE,
           verdict_word(met));
    printf("  lazy per sample: n = 10^4 %.4f ms (%.3g MiB), n = 10^5 %.4f ms (%.3g MiB), n = 10^6 %.4f ms (%.3g MiB)\n",
           1e3 * t4, b4 / 1048576.0, 1e3 * t5, b5 / 1048576.0, 1e3 * t6, b6 / 1048576.0);
    printf("  n = 10^6 / n = 10^4: %.1fx (100x the width; O(L n B^2 + P B))  target <= %.0f  %s\n", scaling,
           TARGET_LAZY_SCALING, verdict_word(met_s));
    if (!met)
        printf("  MISSED: at f width 4096 the lazy sample is bound by g (P = %ld weights, its forward and\n"
               "  backward are the dense network's), not by f.\n",
               hntk_f_out_dim(&(hntk_hyper_arch){.f_depth = 3, .f_width = 4096, .x_dim = 2, .g_depth = 2,
                                                 .g_width = 640, .z_dim = 2}));
    if (!met_s)
        printf("  MISSED: the cost per unit of width grows from %.1f ns at n = 10^4 to %.1f ns at n = 10^6,\n"
               "  where the workspace (%.3g MiB) is far beyond the caches: memory traffic, not arithmetic.\n",
               1e9 * t4 / 1e4, 1e9 * t6 / 1e6, b6 / 1048576.0);
    int met_ms = 1e3 * t6 <= TARGET_LAZY_MS_1E6;
    printf("  n = 10^6: %.1f ms per sample  target <= %.0f ms  %s\n", 1e3 * t6, TARGET_LAZY_MS_1E6,
           verdict_word(met_ms));
    /* memory at n = 10^7: the bases hold (ku + kv) directions of (n_in + n_out) per layer,
     * the passes B (n_l) per layer: O(n s), nothing of size n^2 */
    double counted, secs, peak = lazy_peak(10000000L, &counted, &secs);
    printf("  n = 10^7: one sample %.2f s; worker bytes counted (the O(n s) estimate, hntk_lazy_bytes:\n"
           "  bases of 2 + 2 directions per layer, passes, v) %.3f GiB; measured peak RSS growth %.3f GiB\n"
           "  (%.3f of the estimate; a dense f would hold %.0f GiB of weights)\n",
           secs, counted / 1073741824.0, peak / 1073741824.0, peak / counted, 8.0 * 1e14 / 1073741824.0);
    add_summary("lazy / dense samples/s (f 4096, g 640, B=2, 1 thr)", ratio, ">= 100", met);
    add_summary("lazy time per sample n=10^6 / n=10^4", scaling, "<= 130", met_s);
    add_summary("lazy ms per sample at n=10^6 (K^h, 1 thr)", 1e3 * t6, "<= 100", met_ms);
    add_summary("lazy peak RSS / counted bytes at n=10^7", peak / counted, "<= 1.05", peak <= 1.05 * counted);
    return HNTK_OK;
}

/* ------------------------------------------------------------------ analytic */

typedef struct {
    const hntk_hyper_arch *a;
    long B1, B2;
    const double *X1, *Z1, *X2, *Z2;
    hntk_cross_out out;
    int naive;
} cross_case;

static void run_cross(void *data)
{
    cross_case *c = data;
    if (c->naive)
        hntk_limit_cross_naive(c->a, HNTK_VARIANT_PAPER, c->B1, c->X1, c->Z1, c->B2, c->X2, c->Z2, &c->out);
    else
        hntk_limit_cross(c->a, HNTK_VARIANT_PAPER, c->B1, c->X1, c->Z1, c->B2, c->X2, c->Z2, &c->out);
}

static int bench_analytic(const bench_opts *o)
{
    const long B = o->quick ? 1000 : 10000, XD = 16, ZD = 4, sub = o->quick ? 8 : 40, block = 500;
    hntk_hyper_arch a = {.f_depth = 3, .x_dim = XD, .g_depth = 2, .z_dim = ZD};
    double *X1 = malloc(sizeof(double) * (size_t)(B * XD)), *Z1 = malloc(sizeof(double) * (size_t)(B * ZD));
    double *X2 = malloc(sizeof(double) * (size_t)(B * XD)), *Z2 = malloc(sizeof(double) * (size_t)(B * ZD));
    double *K = malloc(sizeof(double) * (size_t)(2 * block * B)), *R = malloc(sizeof(double) * (size_t)(2 * sub * B));
    if (!X1 || !Z1 || !X2 || !Z2 || !K || !R) {
        free(X1), free(Z1), free(X2), free(Z2), free(K), free(R);
        return hntk_fail(HNTK_ENOMEM, "bench analytic: cannot allocate %ld inputs and the kernels", 2 * B);
    }
    hntk_random_directions(21, HNTK_TENSOR_BENCH, X1, (size_t)B, (size_t)XD);
    hntk_random_directions(22, HNTK_TENSOR_BENCH, Z1, (size_t)B, (size_t)ZD);
    hntk_random_directions(23, HNTK_TENSOR_BENCH, X2, (size_t)B, (size_t)XD);
    hntk_random_directions(24, HNTK_TENSOR_BENCH, Z2, (size_t)B, (size_t)ZD);
    /* the reference and the cross-kernel on the first `sub` rows, 1 thread */
    set_threads(1);
    cross_case naive = {&a, sub, B, X1, Z1, X2, Z2, {.ntk = R, .nngp = R + sub * B}, 1};
    cross_case one = {&a, sub, B, X1, Z1, X2, Z2, {.ntk = K, .nngp = K + sub * B}, 0};
    double t_naive = time_best(run_cross, &naive, o->seconds, 2), t_one = time_best(run_cross, &one, o->seconds, 3);
    int same = !memcmp(R, K, sizeof(double) * (size_t)(2 * sub * B));
    /* all B x B pairs on T threads, `block` rows at a time (2 kernels of block x B in memory) */
    set_threads(o->threads);
    double t0 = cli_now();
    int st = HNTK_OK;
    for (long r0 = 0; r0 < B && !st; r0 += block) {
        long rows = B - r0 < block ? B - r0 : block;
        hntk_cross_out out = {.ntk = K, .nngp = K + rows * B};
        st = hntk_limit_cross(&a, HNTK_VARIANT_PAPER, rows, X1 + r0 * XD, Z1 + r0 * ZD, B, X2, Z2, &out);
    }
    double t_all = cli_now() - t0;
    set_threads(max_threads());
    double pairs = (double)B * (double)B, sub_pairs = (double)sub * (double)B;
    double pp_naive = t_naive / sub_pairs, pp_one = t_one / sub_pairs, pp_all = t_all / pairs;
    printf("\n[analytic] Theta^h and Lambda^H between two sets of %ld inputs (%.0e pairs), L = 3, H = 2,\n"
           "  x_dim = %ld, z_dim = %ld: hntk_limit_cross (diagonal recursions once per input, V and D from one\n"
           "  angle, dot products vectorized across a row, OpenMP over rows) against the plain per-pair loop\n"
           "  (hntk_limit_cross_naive: hntk_limit_hyper per pair, 1 thread) on the first %ld rows (%.0e pairs)\n",
           B, pairs, XD, ZD, sub, sub_pairs);
    printf("  reference, naive loop, 1 thread: %8.1f ns per pair (%.3f s for %ld x %ld)\n", 1e9 * pp_naive, t_naive,
           sub, B);
    printf("  hntk_limit_cross, 1 thread:      %8.1f ns per pair  %.2fx the reference  (same bits: %s)\n", 1e9 * pp_one,
           pp_naive / pp_one, same ? "yes" : "NO");
    printf("  hntk_limit_cross, %d threads:     %8.1f ns per pair  %.2fx the reference  %ld x %ld pairs in %.2f s "
           "(%.2fx 1 thread)\n", o->threads, 1e9 * pp_all, pp_naive / pp_all, B, B, t_all, pp_one / pp_all);
    char what[96];
    snprintf(what, sizeof what, "analytic %ld x %ld: naive 1 thr / cross %d thr", B, B, o->threads);
    add_summary(what, pp_naive / pp_all, "-", -1);
    add_summary("analytic: naive / cross, both 1 thread", pp_naive / pp_one, "-", -1);
    free(X1), free(Z1), free(X2), free(Z2), free(K), free(R);
    if (!st && !same) st = hntk_fail(HNTK_EINVAL, "bench analytic: hntk_limit_cross differs from the naive loop");
    return st;
}

/* ------------------------------------------------------------------ regress */

enum { RG_SIDE = 28, RG_NPIX = RG_SIDE * RG_SIDE, RG_K = 16 };

typedef struct {
    const hntk_hyper_arch *a;
    const hntk_indexed_set *set;
    double *K;
} indexed_case;

static void run_indexed(void *data)
{
    indexed_case *c = data;
    hntk_cross_out out = {.ntk = c->K};
    hntk_limit_cross_indexed(c->a, HNTK_VARIANT_PAPER, c->set, c->set, &out);
}

/* Seconds of one call of fn; when that is shorter than `seconds`, the best of
 * time_best's repetitions instead (a 20000^3 dgemm is timed once). */
static double time_once_or_best(void (*fn)(void *), void *data, double seconds)
{
    double t0 = cli_now();
    fn(data);
    double t = cli_now() - t0;
    return t >= seconds ? t : time_best(fn, data, seconds, 3);
}

static int bench_regress(const bench_opts *o)
{
    const long U = o->regress_images, G = o->regress_coords, n = U * G, k = RG_K, sub = n < 4 ? n : 4;
    const double eps = 0.1;
    if (n > 46340) /* n^2 < 2^31 for LAPACK's int leading dimension products */
        return hntk_fail(HNTK_EINVAL, "bench regress: U G = %ld rows: accepted at most 46340", n);
    double need = 8.0 * (2.0 * (double)n * (double)n + (double)n * (RG_NPIX + k + 4) + (double)U * RG_NPIX);
    if (need > (double)cli_default_budget())
        return hntk_fail(HNTK_EBUDGET, "bench regress: n = %ld rows need %.3g GiB (the Gram and the dgemm's product), "
                         "over the memory budget of %.3g GiB", n, need / 1073741824.0,
                         (double)cli_default_budget() / 1073741824.0);
    /* the kernel of `hyperntk complete`: f of depth 3 on 784-pixel images, g of depth 2 on 16 drawn Fourier
     * features of the pixel coordinates (row/27, col/27), s = 0.1 */
    hntk_hyper_arch fa = {.f_depth = 3, .f_width = 1, .x_dim = RG_NPIX, .g_depth = 2, .g_width = 1, .z_dim = 2,
                          .fourier_k = k, .fourier_scale = 0.1};
    hntk_hyper_arch ka = {.f_depth = 3, .f_width = 1, .x_dim = RG_NPIX, .g_depth = 2, .g_width = 1, .z_dim = k};
    size_t nn = (size_t)n * (size_t)n;
    double *K = malloc(sizeof(double) * nn), *C = malloc(sizeof(double) * nn);
    double *X = malloc(sizeof(double) * (size_t)(U * RG_NPIX)), *phi = malloc(sizeof(double) * RG_NPIX * RG_K);
    double *Xe = malloc(sizeof(double) * (size_t)n * RG_NPIX), *Ze = malloc(sizeof(double) * (size_t)(n * k));
    double *R = malloc(sizeof(double) * (size_t)(sub * n)), *dg = malloc(sizeof(double) * (size_t)n);
    double *y = malloc(sizeof(double) * (size_t)n), *a = malloc(sizeof(double) * (size_t)n);
    double *r = malloc(sizeof(double) * (size_t)n);
    long *ix = malloc(sizeof(long) * (size_t)n), *iz = malloc(sizeof(long) * (size_t)n);
    int st = HNTK_OK;
    if (!K || !C || !X || !phi || !Xe || !Ze || !R || !dg || !y || !a || !r || !ix || !iz)
        st = hntk_fail(HNTK_ENOMEM, "bench regress: cannot allocate the Gram of %ld rows and the dgemm operands "
                       "(%.3g GiB)", n, need / 1073741824.0);
    if (!st) {
        double coords[RG_NPIX * 2], freq[RG_K * 2], phase[RG_K];
        for (long p = 0; p < RG_NPIX; p++) coords[2 * p] = (p / RG_SIDE) / 27.0, coords[2 * p + 1] = (p % RG_SIDE) / 27.0;
        hntk_fourier_draw(&fa, 31, HNTK_FOURIER_RUN_SAMPLE, freq, phase);
        hntk_fourier_features(k, 2, freq, phase, RG_NPIX, coords, phi);
        hntk_random_directions(32, HNTK_TENSOR_BENCH, X, (size_t)U, RG_NPIX); /* images: |x|^2 = 784 */
        for (long i = 0; i < U; i++) { /* G distinct pixels of image i (a partial Fisher-Yates shuffle) */
            long perm[RG_NPIX];
            hntk_stream s;
            hntk_stream_init(&s, 33, 0, HNTK_TENSOR_BENCH, (uint32_t)i);
            for (long p = 0; p < RG_NPIX; p++) perm[p] = p;
            for (long g = 0; g < G; g++) {
                long j = g + (long)(hntk_stream_u64(&s) % (uint64_t)(RG_NPIX - g)), t = perm[g];
                perm[g] = perm[j], perm[j] = t;
                ix[i * G + g] = i, iz[i * G + g] = perm[g];
            }
        }
        for (long b = 0; b < n; b++) { /* the expanded inputs of the direct cross-kernel */
            memcpy(Xe + (size_t)b * RG_NPIX, X + ix[b] * RG_NPIX, sizeof(double) * RG_NPIX);
            memcpy(Ze + b * k, phi + iz[b] * k, sizeof(double) * (size_t)k);
        }
        hntk_stream s;
        hntk_stream_init(&s, 34, 0, HNTK_TENSOR_BENCH, 0);
        hntk_stream_uniforms(&s, y, (size_t)n);
    }
    hntk_indexed_set set = {U, X, RG_NPIX, phi, n, ix, iz};
    double t_asm1 = NAN, t_asmT = NAN, t_direct = NAN, t_gemm = NAN, t_chol = INFINITY, resid = NAN;
    int same = 0, same_threads = 0;
    if (!st) {
        /* the Gram: T threads (as complete runs it), then 1 thread (the ratio's figure); the same bits */
        indexed_case ic = {&ka, &set, K};
        set_threads(o->threads);
        t_asmT = time_once_or_best(run_indexed, &ic, o->seconds);
        for (long i = 0; i < sub; i++) memcpy(R + i * n, K + i * n, sizeof(double) * (size_t)n);
        set_threads(1);
        t_asm1 = time_once_or_best(run_indexed, &ic, o->seconds);
        same_threads = !memcmp(R, K, sizeof(double) * (size_t)(sub * n));
        /* the direct cross-kernel of the first rows against all n on the expanded inputs, 1 thread */
        cross_case cc = {&ka, sub, n, Xe, Ze, Xe, Ze, {.ntk = R}, 0};
        t_direct = time_once_or_best(run_cross, &cc, o->seconds);
        same = !memcmp(R, K, sizeof(double) * (size_t)(sub * n));
        set_threads(max_threads());
        /* the reference: C = K K, one dgemm n^3, 1 thread (OpenBLAS as complete calls it) */
        dgemm_case dc = {n, n, n, K, K, C, 0};
        t_gemm = time_once_or_best(run_dgemm, &dc, o->seconds);
        /* factor + solve, as complete (hntk_chol_factor adds eps to the diagonal); each repetition restores
         * the triangle and diagonal dpotrf overwrote (untimed) */
        for (long i = 0; i < n; i++) dg[i] = K[i * n + i];
        double spent = 0.0;
        for (int rep = 0; rep < 5 && !st && (rep == 0 || spent < o->seconds); rep++) {
            if (rep > 0)
                for (long i = 0; i < n; i++) {
                    K[i * n + i] = dg[i];
                    for (long j = i + 1; j < n; j++) K[i * n + j] = K[j * n + i];
                }
            memcpy(a, y, sizeof(double) * (size_t)n);
            double t0 = cli_now();
            st = hntk_chol_factor(n, K, eps);
            if (!st) st = hntk_chol_solve(n, K, 1, a);
            double t = cli_now() - t0;
            spent += t;
            if (t < t_chol) t_chol = t;
        }
        if (!st) { /* |(K + eps I) a - y| / |y| from the untouched lower triangle and the saved diagonal */
            for (long i = 0; i < n; i++) K[i * n + i] = dg[i] + eps;
            memcpy(r, y, sizeof(double) * (size_t)n);
            cblas_dsymv(CblasRowMajor, CblasLower, (int)n, 1.0, K, (int)n, a, 1, -1.0, r, 1);
            resid = cblas_dnrm2((int)n, r, 1) / cblas_dnrm2((int)n, y, 1);
        }
    }
    if (!st) {
        double f_gemm = 2.0 * (double)n * (double)n * (double)n, f_chol = hntk_chol_factor_flops(n) + hntk_chol_solve_flops(n, 1);
        double g_gemm = f_gemm / t_gemm / 1e9, g_chol = f_chol / t_chol / 1e9, ratio = g_chol / g_gemm;
        double asm_ratio = t_asm1 / t_gemm, entries = (double)n * (double)n;
        int met = ratio >= TARGET_CHOL_OF_DGEMM, met_a = asm_ratio <= TARGET_ASSEMBLY_OF_DGEMM;
        int has_target = n >= 20000; /* the size; below it the O(n^2) parts weigh more */
        printf("\n[regress] Eq. 1 of `hyperntk complete`: the hyperkernel Gram Theta^h of U = %ld images x G = %ld\n"
               "  pixels (n = %ld rows; L = 3, H = 2, 784-pixel images, %d Fourier features of the 28 x 28\n"
               "  coordinates, s = 0.1), its Cholesky factor + solve (src/regress.c: dpotrf + dpotrs, eps = %g,\n"
               "  1 BLAS thread as complete runs them) and its assembly (hntk_limit_cross_indexed: Theta^f and S\n"
               "  on the %ld image pairs, g's recursion per row pair); each timed once when it takes >= %g s\n",
               U, G, n, RG_K, eps, U * U, o->seconds);
        printf("  reference: OpenBLAS dgemm %ldx%ldx%ld (C = K K), 1 thread: %.3f s, %.2f GFLOP/s\n", n, n, n, t_gemm,
               g_gemm);
        printf("  Cholesky factor + solve: %.3f s, %.2f GFLOP/s = %.1f%% of dgemm  target >= %.0f%%%s  %s\n", t_chol,
               g_chol, 100.0 * ratio, 100.0 * TARGET_CHOL_OF_DGEMM, has_target ? "" : " at n >= 20000",
               has_target ? verdict_word(met) : "-");
        printf("  relative residual |(K + eps I) a - y| / |y| = %.2g\n", resid);
        printf("  Gram assembly, 1 thread: %.3f s (%.1f ns per entry) = %.3f of the dgemm's time  target <= %.2f%s  %s\n",
               t_asm1, 1e9 * t_asm1 / entries, asm_ratio, TARGET_ASSEMBLY_OF_DGEMM, has_target ? "" : " at n >= 20000",
               has_target ? verdict_word(met_a) : "-");
        printf("  Gram assembly, %d threads: %.3f s (%.2fx 1 thread) = %.3f of the dgemm's time; same bits: %s\n",
               o->threads, t_asmT, t_asm1 / t_asmT, t_asmT / t_gemm, same_threads ? "yes" : "NO");
        printf("  direct cross-kernel (hntk_limit_cross on the expanded inputs), first %ld rows x %ld, 1 thread:\n"
               "  %.1f ns per entry = %.1fx the indexed assembly's; same bits: %s\n", sub, n,
               1e9 * t_direct / ((double)sub * (double)n), (t_direct / ((double)sub * (double)n)) / (t_asm1 / entries),
               same ? "yes" : "NO");
        if (has_target && !met)
            printf("  MISSED: dpotrf's panel factorizations and triangular solves run below dgemm's rate; the\n"
                   "  smaller n, the larger their share (the target is for n = 20000).\n");
        char what[96];
        snprintf(what, sizeof what, "Cholesky n=%ld GFLOP/s / dgemm", n);
        add_summary(what, ratio, has_target ? ">= 0.70" : "-", has_target ? met : -1);
        snprintf(what, sizeof what, "Gram assembly n=%ld (1 thr) s / dgemm s", n);
        add_summary(what, asm_ratio, has_target ? "<= 0.25" : "-", has_target ? met_a : -1);
        if (!same || !same_threads)
            st = hntk_fail(HNTK_EINVAL, "bench regress: the indexed Gram differs from %s",
                           same ? "its 2-thread assembly" : "hntk_limit_cross on the expanded inputs");
    }
    free(K), free(C), free(X), free(phi), free(Xe), free(Ze), free(R), free(dg), free(y), free(a), free(r);
    free(ix), free(iz);
    return st;
}

/* ------------------------------------------------------------------ 5. memory */

typedef struct {
    int done;
    double baseline, peak, expected, net_bytes, weights, jacobian;
    long samples;
    int threads;
} memory_result;

/* Run the widest configuration (Figure 1(a) cell) on T threads for a few samples
 * and record ru_maxrss against what the nets need. */
static int measure_memory(const bench_opts *o, memory_result *m)
{
    memset(m, 0, sizeof *m);
    m->threads = o->threads;
    m->baseline = rss_now_bytes();
    mc_setup s;
    int st = mc_setup_alloc(&s, "widest", 0, 3200, 1280, o->threads);
    if (st) return st;
    m->samples = 4L * o->threads;
    double w, c;
    st = mc_time(&s, o->threads, 0, m->samples, &w, &c);
    set_threads(max_threads());
    m->peak = maxrss_bytes();
    m->net_bytes = (double)hntk_net_bytes(&s.arch, s.B);
    m->weights = 8.0 * (double)hntk_param_count(&s.arch);
    m->jacobian = 8.0 * (double)s.B * (double)hntk_param_count(&s.arch);
    /* nets + the block's sample slots + the accumulator */
    m->expected = m->net_bytes * o->threads + 8.0 * (double)(4L * o->threads + 2) * 3.0 * (double)(s.B * s.B);
    mc_setup_free(&s);
    m->done = !st;
    return st;
}

static void print_memory(const memory_result *m)
{
    const double MB = 1048576.0;
    double used = m->peak - m->baseline;
    printf("\n[memory] peak resident memory of the widest configuration (Figure 1(a)'s widest default cell:\n"
           "  L=3 H=2 f 3200 g 1280, B=2), %d threads, %ld samples; measured before any other section\n"
           "  (ru_maxrss only grows)\n",
           m->threads, m->samples);
    printf("  reference: weights + activations (hntk_net_bytes) %.1f MiB per thread x %d = %.1f MiB\n",
           m->net_bytes / MB, m->threads, m->expected / MB);
    printf("  peak RSS %.1f MiB - resident at start %.1f MiB = %.1f MiB = %.3fx the reference\n", m->peak / MB,
           m->baseline / MB, used / MB, used / m->expected);
    printf("  (weights alone %.1f MiB per thread; an explicit Jacobian of the batch would add %.1f MiB\n"
           "  per thread; the excess over 1x is thread stacks, OpenBLAS and HDF5/libc buffers)\n",
           m->weights / MB, m->jacobian / MB);
    add_summary("memory: peak RSS growth / (weights + activations)", used / m->expected, "~ 1", -1);
}

/* ------------------------------------------------------------------ entry */

int hntk_cmd_bench(int argc, char **argv)
{
    bench_opts o;
    int st = parse_options(argc, argv, &o);
    if (st) return st < 0 ? CLI_EXIT_OK : st;
    n_summary = 0;

    memory_result mem = {0};
    if (o.sections & SEC_MEMORY) st = measure_memory(&o, &mem);

    char cpu[128], la[64];
    cpu_model(cpu, sizeof cpu);
    load_average(la, sizeof la);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("hyperntk bench%s: hyperntk %s (git %s)\n", o.quick ? " --quick (smoke run: timings not meaningful)" : "",
           hntk_version(), hntk_git_revision());
    printf("machine: %ld CPUs (%s), OpenMP max threads %d, scaling rows use %d threads\n", cores, cpu, max_threads(),
           o.threads);
    printf("OpenBLAS: %s (core %s), 1 thread inside every sample; RNG SIMD: %s\n", openblas_get_config(),
           openblas_get_corename(), SIMD_NAMES[hntk_rng_set_simd(o.simd)]);
    printf("load average at start: %s (a shared machine slows every figure; the ratios are measured in\n"
           "one run, interleaved, best of several repetitions)\n",
           la);

    if (!st && (o.sections & SEC_GRAM)) st = bench_gram(&o);
    if (!st && (o.sections & SEC_SAMPLER)) st = bench_sampler(&o);
    if (!st && (o.sections & SEC_MC)) st = bench_mc(&o);
    if (!st && (o.sections & SEC_TAYLOR)) st = bench_taylor(&o);
    if (!st && (o.sections & SEC_LAZY)) st = bench_lazy(&o);
    if (!st && (o.sections & SEC_ANALYTIC)) st = bench_analytic(&o);
    if (!st && (o.sections & SEC_REGRESS)) st = bench_regress(&o);
    if (!st && mem.done) print_memory(&mem);

    if (!st) {
        load_average(la, sizeof la);
        printf("\n[summary] every ratio (figure / reference), target and verdict; load average at end: %s\n", la);
        printf("  %-52s %9s %9s %8s\n", "figure / reference", "ratio", "target", "verdict");
        for (int i = 0; i < n_summary; i++)
            printf("  %-52s %9.3f %9s %8s\n", summary[i].what, summary[i].ratio, summary[i].target,
                   verdict_word(summary[i].verdict));
    }
    return st ? cli_report(CMD, st) : CLI_EXIT_OK;
}
