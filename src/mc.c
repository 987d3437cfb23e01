/* mc.c: Monte Carlo over independent samples, reduced in sample order.
 *
 * Samples are computed in blocks: inside a block OpenMP threads fill disjoint
 * slots (one per sample); after the block the slots are pushed into the
 * accumulator strictly in sample order.  The result is therefore the same,
 * bit for bit, for any thread count and any block size.
 */
#include "hyperntk/mc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "hyperntk/error.h"

int hntk_welford_alloc(long dim, hntk_welford **out)
{
    *out = NULL;
    if (dim < 1) return hntk_fail(HNTK_EINVAL, "statistics dimension = %ld is out of range: accepted >= 1", dim);
    hntk_welford *w = calloc(1, sizeof *w);
    double *buf = calloc(2 * (size_t)dim, sizeof(double));
    if (!w || !buf) {
        free(w);
        free(buf);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate statistics of dimension %ld", dim);
    }
    w->dim = dim;
    w->mean = buf;
    w->m2 = buf + dim;
    *out = w;
    return HNTK_OK;
}

void hntk_welford_free(hntk_welford *w)
{
    if (!w) return;
    free(w->mean);
    free(w);
}

void hntk_welford_reset(hntk_welford *w)
{
    w->count = 0;
    memset(w->mean, 0, sizeof(double) * 2 * (size_t)w->dim);
}

void hntk_welford_push(hntk_welford *w, const double *x)
{
    w->count++;
    double inv = 1.0 / (double)w->count;
    for (long i = 0; i < w->dim; i++) {
        double delta = x[i] - w->mean[i];
        w->mean[i] += delta * inv;
        w->m2[i] += delta * (x[i] - w->mean[i]);
    }
}

void hntk_welford_finish(const hntk_welford *w, double *var, double *stderr_mean)
{
    for (long i = 0; i < w->dim; i++) {
        double v = w->count > 1 ? w->m2[i] / (double)(w->count - 1) : NAN;
        if (var) var[i] = v;
        if (stderr_mean) stderr_mean[i] = sqrt(v / (double)w->count);
    }
}

int hntk_mc_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int hntk_mc_run(const hntk_mc_job *job, hntk_welford *acc)
{
    if (job->samples < 1)
        return hntk_fail(HNTK_EINVAL, "samples = %ld is out of range: accepted >= 1", job->samples);
    if (job->dim != acc->dim)
        return hntk_fail(HNTK_EINVAL, "statistics dimension %ld does not match the accumulator's %ld", job->dim,
                         acc->dim);
    if (job->n_ctx < 1) return hntk_fail(HNTK_EINVAL, "n_ctx = %d is out of range: accepted >= 1", job->n_ctx);
    int threads = hntk_mc_max_threads();
    if (threads > job->n_ctx) threads = job->n_ctx;
    /* A block of a few samples per thread keeps every thread busy while the slots stay small. */
    long block = 4L * threads;
    if (block > job->samples) block = job->samples;
    double *slots = malloc(sizeof(double) * (size_t)block * (size_t)job->dim);
    if (!slots) return hntk_fail(HNTK_ENOMEM, "cannot allocate %ld x %ld sample slots", block, job->dim);

    int status = HNTK_OK;
    for (long start = 0; start < job->samples && status == HNTK_OK; start += block) {
        if (job->stop && *job->stop) {
            status = hntk_fail(HNTK_EINTR, "interrupted after %ld of %ld samples", start, job->samples);
            break;
        }
        long count = job->samples - start < block ? job->samples - start : block;
        int block_status = HNTK_OK;
        char message[1024] = "";
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (long s = 0; s < count; s++) {
#ifdef _OPENMP
            int t = omp_get_thread_num();
#else
            int t = 0;
#endif
            int st = job->fn(job->ctx[t], job->first_sample + start + s, slots + s * job->dim);
            if (st != HNTK_OK) {
#pragma omp critical(hntk_mc_error)
                if (block_status == HNTK_OK) {
                    block_status = st;
                    strncpy(message, hntk_last_error(), sizeof message - 1);
                }
            }
        }
        if (block_status != HNTK_OK) {
            status = hntk_fail(block_status, "%s", message);
            break;
        }
        for (long s = 0; s < count; s++) hntk_welford_push(acc, slots + s * job->dim);
        if (job->progress) job->progress(job->progress_data, start + count, job->samples);
    }
    free(slots);
    return status;
}
