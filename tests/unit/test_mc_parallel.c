/* test_mc_parallel.c: the Monte Carlo engine's reduction is the serial one, bit
 * for bit, for any thread count and any number of MPI ranks.
 *
 * Each sample's statistics come from the counter-based stream of its index
 * alone, so the reference is a plain loop pushing samples 0..N-1 in order.
 * Run as is (one process, ctest) and under `mpirun -np K` (tests/cli/test_mpi.sh):
 * every rank must end with the reference accumulator, the `collect` callback
 * must see every sample exactly once, in order, with its values, and errors
 * and interruptions must reach every rank. */
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "hyperntk/hyperntk.h"
#include "testing.h"

enum { DIM = 7, N_MAX = 203 };

/* Statistics of sample s: DIM normals of stream (seed 77, s); sample FAIL_AT fails. */
typedef struct {
    long fail_at;
} ctx_t;

static int sample_fn(void *data, long sample, double *out)
{
    ctx_t *c = data;
    if (sample == c->fail_at) return hntk_fail(HNTK_EINVAL, "sample %ld fails on purpose", sample);
    hntk_stream s;
    hntk_stream_init(&s, 77, (uint32_t)sample, 5, 0);
    hntk_stream_normals(&s, out, DIM);
    return HNTK_OK;
}

typedef struct {
    long next;  /* the sample expected next */
    long first; /* first sample of the job */
    int in_order;
    double values[N_MAX][DIM];
} collected;

static void collect_fn(void *data, long sample, const double *stats)
{
    collected *c = data;
    if (sample != c->next) c->in_order = 0;
    if (sample - c->first >= 0 && sample - c->first < N_MAX)
        memcpy(c->values[sample - c->first], stats, sizeof(double) * DIM);
    c->next = sample + 1;
}

/* The reference: samples first..first+N-1 pushed in order by one thread. */
static void reference(long first, long N, hntk_stats_moments *w)
{
    ctx_t c = {-1};
    double x[DIM];
    hntk_stats_moments_reset(w);
    for (long s = first; s < first + N; s++) {
        sample_fn(&c, s, x);
        hntk_stats_moments_push(w, x);
    }
}

static int same_acc(const hntk_stats_moments *a, const hntk_stats_moments *b)
{
    return a->count == b->count && !memcmp(a->mean, b->mean, sizeof(double) * DIM) &&
           !memcmp(a->m2, b->m2, sizeof(double) * DIM);
}

int main(int argc, char **argv)
{
    if (hntk_parallel_init(&argc, &argv)) {
        fprintf(stderr, "%s\n", hntk_last_error());
        return 1;
    }
    hntk_blas_single_thread();
    int rank = hntk_parallel_rank(), size = hntk_parallel_size();
    if (rank != 0 && !freopen("/dev/null", "w", stdout)) return 1;
    printf("test_mc_parallel: %d rank(s), MPI: %s\n", size, hntk_parallel_library());

    hntk_stats_moments *ref, *acc;
    if (hntk_stats_moments_alloc(DIM, &ref) || hntk_stats_moments_alloc(DIM, &acc)) return 1;
    static collected col;
    ctx_t ctx[4] = {{-1}, {-1}, {-1}, {-1}};
    void *ptrs[4] = {&ctx[0], &ctx[1], &ctx[2], &ctx[3]};

    const long counts[] = {1, 2, 3, 7, 8, 9, 31, 64, 203};
    for (int threads = 1; threads <= 3; threads++) {
        omp_set_num_threads(threads);
        for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++)
            for (int with_collect = 0; with_collect <= 1; with_collect++) {
                long N = counts[k], first = 1000 * (long)k;
                reference(first, N, ref);
                hntk_stats_moments_reset(acc);
                memset(&col, 0, sizeof col);
                col.next = col.first = first;
                col.in_order = 1;
                hntk_mc_job job = {.samples = N, .first_sample = first, .dim = DIM, .n_ctx = 4, .ctx = ptrs,
                                   .fn = sample_fn};
                if (with_collect) {
                    job.collect = collect_fn;
                    job.collect_data = &col;
                }
                int st = hntk_mc_run(&job, acc);
                CHECK(st == HNTK_OK, "N=%ld threads=%d: status %d (%s)", N, threads, st, hntk_last_error());
                CHECK(same_acc(acc, ref), "rank %d/%d, N=%ld, threads=%d, collect=%d: not the serial accumulator",
                      rank, size, N, threads, with_collect);
                if (with_collect) {
                    CHECK(col.in_order && col.next == first + N, "rank %d: collect saw samples out of order", rank);
                    int same = 1;
                    ctx_t c = {-1};
                    for (long s = 0; s < N; s++) {
                        double x[DIM];
                        sample_fn(&c, first + s, x);
                        same &= !memcmp(x, col.values[s], sizeof x);
                    }
                    CHECK(same, "rank %d, N=%ld: collected values differ from the samples'", rank, N);
                }
            }
    }

    /* A job continued from an earlier one equals one job over both ranges. */
    omp_set_num_threads(2);
    reference(0, 50, ref);
    hntk_stats_moments_reset(acc);
    hntk_mc_job part1 = {.samples = 21, .first_sample = 0, .dim = DIM, .n_ctx = 4, .ctx = ptrs, .fn = sample_fn};
    hntk_mc_job part2 = {.samples = 29, .first_sample = 21, .dim = DIM, .n_ctx = 4, .ctx = ptrs, .fn = sample_fn};
    CHECK(hntk_mc_run(&part1, acc) == HNTK_OK && hntk_mc_run(&part2, acc) == HNTK_OK, "continued job failed");
    CHECK(same_acc(acc, ref), "rank %d: 21 + 29 samples differ from 50", rank);

    /* A failing sample (on whichever rank computes it) fails the job on every rank, with its message. */
    for (int t = 0; t < 4; t++) ctx[t].fail_at = 13;
    hntk_mc_job bad = {.samples = 40, .dim = DIM, .n_ctx = 4, .ctx = ptrs, .fn = sample_fn};
    int st = hntk_mc_run(&bad, acc);
    CHECK(st == HNTK_EINVAL && strstr(hntk_last_error(), "sample 13 fails on purpose"),
          "rank %d: failing sample gave status %d, message '%s'", rank, st, hntk_last_error());
    for (int t = 0; t < 4; t++) ctx[t].fail_at = -1;

    /* A stop request on one rank stops every rank before the first block. */
    volatile sig_atomic_t stop = rank == size - 1;
    hntk_mc_job stopped = {.samples = 40, .dim = DIM, .n_ctx = 4, .ctx = ptrs, .fn = sample_fn, .stop = &stop};
    st = hntk_mc_run(&stopped, acc);
    CHECK(st == HNTK_EINTR, "rank %d: a stop on rank %d gave status %d", rank, size - 1, st);

    /* hntk_parallel_any: a flag raised on the last rank only is seen by all. */
    CHECK(hntk_parallel_any(rank == size - 1) == 1, "rank %d: hntk_parallel_any missed the last rank's flag", rank);
    CHECK(hntk_parallel_any(0) == 0, "rank %d: hntk_parallel_any(0) != 0", rank);

    /* Bad arguments are refused on every rank alike. */
    hntk_mc_job zero = {.samples = 0, .dim = DIM, .n_ctx = 4, .ctx = ptrs, .fn = sample_fn};
    CHECK(hntk_mc_run(&zero, acc) == HNTK_EINVAL, "samples = 0 accepted");

    hntk_stats_moments_free(ref);
    hntk_stats_moments_free(acc);
    int code = TEST_SUMMARY();
    if (code) hntk_parallel_abort(code);
    hntk_parallel_finalize();
    return code;
}
