/* mc.c: Monte Carlo over independent samples, reduced in sample order.
 *
 * Samples are computed in blocks: inside a block OpenMP threads fill disjoint
 * slots (one per sample); after the block the slots are pushed into the
 * accumulator strictly in sample order.  The result is therefore the same,
 * bit for bit, for any thread count and any block size.
 *
 * With several MPI ranks (parallel.h) a block holds `per` consecutive samples
 * for each rank in rank order: rank r computes samples start + r*per ..
 * start + (r+1)*per - 1 of the block with its own threads, sends their slots to
 * rank 0, and rank 0 pushes its own slots, then rank 1's, rank 2's, ...: the
 * same pushes in the same order as a single process, hence the same bits.
 * At the end rank 0 broadcasts the accumulator, so every rank holds the result.
 * With a `collect` callback the block's slots are instead gathered on every
 * rank (MPI_Allgather), and every rank pushes and collects the whole block.
 * Errors and interruptions are agreed on by every rank after each block.
 */
#include "hyperntk/mc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef HYPERNTK_HAVE_MPI
#include <mpi.h>
#endif

#include "hyperntk/error.h"
#include "hyperntk/parallel.h"


int hntk_mc_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* ---------------------------------------------------------------- MPI helpers */

#ifdef HYPERNTK_HAVE_MPI
/* MPI counts are int: large arrays go in chunks. */
#define MC_MSG_CHUNK (1L << 28)
enum { MC_TAG_SLOTS = 4242 };

static void send_doubles(const double *p, long n, int to)
{
    for (long off = 0; off < n; off += MC_MSG_CHUNK) {
        long c = n - off < MC_MSG_CHUNK ? n - off : MC_MSG_CHUNK;
        MPI_Send(p + off, (int)c, MPI_DOUBLE, to, MC_TAG_SLOTS, MPI_COMM_WORLD);
    }
}

static void recv_doubles(double *p, long n, int from)
{
    for (long off = 0; off < n; off += MC_MSG_CHUNK) {
        long c = n - off < MC_MSG_CHUNK ? n - off : MC_MSG_CHUNK;
        MPI_Recv(p + off, (int)c, MPI_DOUBLE, from, MC_TAG_SLOTS, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
}

static void bcast_doubles(double *p, long n)
{
    for (long off = 0; off < n; off += MC_MSG_CHUNK) {
        long c = n - off < MC_MSG_CHUNK ? n - off : MC_MSG_CHUNK;
        MPI_Bcast(p + off, (int)c, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    }
}

/* Every rank learns the failure of the lowest failing rank (status and message). */
static int agree_status(int status, char *message, int cap, int rank, int size)
{
    int first = status != HNTK_OK ? rank : size;
    MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == size) return HNTK_OK;
    MPI_Bcast(&status, 1, MPI_INT, first, MPI_COMM_WORLD);
    MPI_Bcast(message, cap, MPI_CHAR, first, MPI_COMM_WORLD);
    message[cap - 1] = '\0';
    if (first != 0) {
        char tagged[1024];
        snprintf(tagged, sizeof tagged, "%s (MPI rank %d)", message, first);
        memcpy(message, tagged, (size_t)cap < sizeof tagged ? (size_t)cap : sizeof tagged);
        message[cap - 1] = '\0';
    }
    return status;
}

static int any_rank(int flag)
{
    MPI_Allreduce(MPI_IN_PLACE, &flag, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return flag;
}
#endif

/* Samples of a block that rank r computes: `per` from r*per on, clipped to the block's `count`. */
static long rank_count(long count, long per, int r)
{
    long c = count - (long)r * per;
    return c < 0 ? 0 : c > per ? per : c;
}

/* ---------------------------------------------------------------- the engine */

int hntk_mc_run(const hntk_mc_job *job, hntk_stats_moments *acc)
{
    if (job->samples < 1)
        return hntk_fail(HNTK_EINVAL, "samples = %ld is out of range: accepted >= 1", job->samples);
    if (job->dim != acc->dim)
        return hntk_fail(HNTK_EINVAL, "statistics dimension %ld does not match the accumulator's %ld", job->dim,
                         acc->dim);
    if (job->n_ctx < 1) return hntk_fail(HNTK_EINVAL, "n_ctx = %d is out of range: accepted >= 1", job->n_ctx);
    int threads = hntk_mc_max_threads();
    if (threads > job->n_ctx) threads = job->n_ctx;
    int rank = hntk_parallel_rank(), size = hntk_parallel_size();
    /* Samples per rank and block: a few per thread keeps every thread busy while the
     * slots stay small.  Every rank must use the same value to agree on who computes
     * which sample: the largest ... */
    long per = 4L * threads;
#ifdef HYPERNTK_HAVE_MPI
    if (size > 1) MPI_Allreduce(MPI_IN_PLACE, &per, 1, MPI_LONG, MPI_MAX, MPI_COMM_WORLD);
#endif
    /* ... but no more than an even share, so that a short job still keeps every rank busy. */
    long share = (job->samples + size - 1) / size;
    if (per > share) per = share;
    long block = per * (long)size;
    /* Slots: this rank's `per`; under MPI rank 0 also needs a buffer for another
     * rank's slots, and with `collect` every rank holds the whole block (its own
     * part at offset rank * per).  The gathered part must fit an int count. */
    int gather_all = size > 1 && job->collect != NULL;
    size_t nslots = (size_t)per * (size_t)job->dim * (gather_all ? (size_t)size : rank == 0 && size > 1 ? 2 : 1);
    if (gather_all && per * job->dim > 2147483647L)
        return hntk_fail(HNTK_EINVAL, "%ld samples x %ld statistics per rank and block exceed the 2^31 doubles "
                         "MPI_Allgather takes: use fewer threads per rank or a smaller dim with `collect`",
                         per, job->dim);
    double *buffer = malloc(sizeof(double) * nslots);
    double *slots = gather_all ? buffer + (size_t)rank * (size_t)per * (size_t)job->dim : buffer;
    int status = buffer ? HNTK_OK : hntk_fail(HNTK_ENOMEM, "cannot allocate %ld x %ld sample slots", per, job->dim);
#ifdef HYPERNTK_HAVE_MPI
    if (size > 1) { /* every rank fails together, or none */
        char message[1024] = "";
        if (status) strncpy(message, hntk_last_error(), sizeof message - 1);
        status = agree_status(status, message, (int)sizeof message, rank, size);
        if (status) {
            free(buffer);
            return hntk_fail(status, "%s", message);
        }
    }
#endif
    if (status) return status;
#ifdef HYPERNTK_HAVE_MPI
    double *others = buffer + (size_t)per * (size_t)job->dim; /* rank 0, size > 1, no collect */
#endif

    for (long start = 0; start < job->samples && status == HNTK_OK; start += block) {
        int stop = job->stop && *job->stop;
#ifdef HYPERNTK_HAVE_MPI
        if (size > 1) stop = any_rank(stop);
#endif
        if (stop) {
            status = hntk_fail(HNTK_EINTR, "interrupted after %ld of %ld samples", start, job->samples);
            break;
        }
        long count = job->samples - start < block ? job->samples - start : block;
        long mine = rank_count(count, per, rank);
        long first = job->first_sample + start + (long)rank * per;
        int block_status = HNTK_OK;
        char message[1024] = "";
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (long s = 0; s < mine; s++) {
#ifdef _OPENMP
            int t = omp_get_thread_num();
#else
            int t = 0;
#endif
            int st = job->fn(job->ctx[t], first + s, slots + s * job->dim);
            if (st != HNTK_OK) {
#pragma omp critical(hntk_mc_error)
                if (block_status == HNTK_OK) {
                    block_status = st;
                    strncpy(message, hntk_last_error(), sizeof message - 1);
                }
            }
        }
#ifdef HYPERNTK_HAVE_MPI
        if (size > 1) block_status = agree_status(block_status, message, (int)sizeof message, rank, size);
#endif
        if (block_status != HNTK_OK) {
            status = hntk_fail(block_status, "%s", message);
            break;
        }
#ifdef HYPERNTK_HAVE_MPI
        if (gather_all) { /* every rank gets the block and reduces it: the same pushes everywhere */
            MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buffer, (int)(per * job->dim), MPI_DOUBLE,
                          MPI_COMM_WORLD);
            for (long s = 0; s < count; s++) {
                hntk_stats_moments_push(acc, buffer + s * job->dim);
                job->collect(job->collect_data, job->first_sample + start + s, buffer + s * job->dim);
            }
            if (rank == 0 && job->progress) job->progress(job->progress_data, start + count, job->samples);
            continue;
        }
#endif
        if (rank == 0) {
            for (long s = 0; s < mine; s++) {
                hntk_stats_moments_push(acc, slots + s * job->dim);
                if (job->collect) job->collect(job->collect_data, first + s, slots + s * job->dim);
            }
#ifdef HYPERNTK_HAVE_MPI
            for (int r = 1; r < size; r++) {
                long theirs = rank_count(count, per, r);
                if (theirs == 0) break;
                recv_doubles(others, theirs * job->dim, r);
                for (long s = 0; s < theirs; s++) hntk_stats_moments_push(acc, others + s * job->dim);
            }
#endif
            if (job->progress) job->progress(job->progress_data, start + count, job->samples);
        }
#ifdef HYPERNTK_HAVE_MPI
        else if (mine > 0) {
            send_doubles(slots, mine * job->dim, 0);
        }
#endif
    }
#ifdef HYPERNTK_HAVE_MPI
    if (status == HNTK_OK && size > 1 && !gather_all) { /* every rank ends with rank 0's accumulator */
        MPI_Bcast(&acc->count, 1, MPI_LONG, 0, MPI_COMM_WORLD);
        bcast_doubles(acc->mean, acc->dim);
        bcast_doubles(acc->m2, acc->dim);
        bcast_doubles(acc->m3, acc->dim);
        bcast_doubles(acc->m4, acc->dim);
        bcast_doubles(acc->shift, acc->dim);
        bcast_doubles(acc->dmean, acc->dim);
    }
#endif
    free(buffer);
    return status;
}
