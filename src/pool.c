/* pool.c: per-thread workers sized once (see pool.h). */
#include "hyperntk/pool.h"

#include <stdlib.h>
#include <string.h>

#include "hyperntk/error.h"

struct hntk_pool {
    int size;
    hntk_worker *workers; /* (size) */
    void **ctx;           /* (size) pointers into workers */
};

enum { POOL_MAX_WORKERS = 1024 };

size_t hntk_pool_worker_bytes(const hntk_hyper_arch *a, const hntk_pool_needs *needs)
{
    size_t B = (size_t)needs->batch;
    size_t bytes = sizeof(hntk_worker) + sizeof(void *) +
                   (needs->lazy ? hntk_lazy_bytes_taylor(a, needs->batch, needs->taylor_order)
                                : hntk_net_bytes(a, needs->batch));
    if (needs->gram) bytes += sizeof(double) * B * B;
    if (needs->taylor_order > 0) bytes += hntk_taylor_ws_bytes(a, needs->batch, needs->taylor_order);
    if (needs->fntk) bytes += hntk_fntk_ws_bytes(a);
    if (needs->out_doubles > 0) bytes += sizeof(double) * (size_t)needs->out_doubles;
    return bytes;
}

size_t hntk_pool_bytes(const hntk_hyper_arch *a, const hntk_pool_needs *needs, int workers)
{
    return sizeof(hntk_pool) + (size_t)workers * hntk_pool_worker_bytes(a, needs);
}

void hntk_pool_free(hntk_pool *p)
{
    if (!p) return;
    if (p->workers)
        for (int t = 0; t < p->size; t++) {
            hntk_worker *w = &p->workers[t];
            hntk_net_free(w->net);
            hntk_lazy_free(w->lazy);
            free(w->gram);
            hntk_taylor_ws_free(w->taylor);
            hntk_fntk_ws_free(w->fntk);
            free(w->out);
        }
    free(p->workers);
    free(p->ctx);
    free(p);
}

static int worker_alloc(const hntk_hyper_arch *a, const hntk_pool_needs *needs, hntk_worker *w)
{
    size_t B = (size_t)needs->batch;
    int st = needs->lazy ? hntk_lazy_alloc_taylor(a, needs->batch, needs->taylor_order, 0, &w->lazy)
                         : hntk_net_alloc(a, needs->batch, 0, &w->net);
    if (!st && needs->gram && !(w->gram = malloc(sizeof(double) * B * B)))
        st = hntk_fail(HNTK_ENOMEM, "cannot allocate a %zu x %zu Gram scratch", B, B);
    if (!st && needs->taylor_order > 0)
        st = hntk_taylor_ws_alloc(a, needs->batch, needs->taylor_order, 0, &w->taylor);
    if (!st && needs->fntk) st = hntk_fntk_ws_alloc(w->net, 0, &w->fntk);
    if (!st && needs->out_doubles > 0 && !(w->out = malloc(sizeof(double) * (size_t)needs->out_doubles)))
        st = hntk_fail(HNTK_ENOMEM, "cannot allocate a per-sample buffer of %ld doubles", needs->out_doubles);
    return st;
}

int hntk_pool_alloc(const hntk_hyper_arch *a, const hntk_pool_needs *needs, int workers, size_t budget_bytes,
                    hntk_pool **out)
{
    *out = NULL;
    int st;
    if (needs->lazy) {
        if (needs->fntk)
            return hntk_fail(HNTK_EINVAL, "pool: a lazy worker holds no network, so no f-NTK workspace (it "
                                          "needs the P x P f-NTK: P backward queries; use the dense sampler)");
        st = hntk_lazy_validate(a);
    } else {
        st = hntk_hyper_arch_validate(a);
    }
    if (!st) st = hntk_arch_require_theory(a, "the worker pool");
    if (st) return st;
    if (needs->lazy && needs->batch > HNTK_LAZY_MAX_BATCH)
        return hntk_fail(HNTK_EINVAL, "pool: batch %ld, accepted 1..%ld for the lazy sampler", needs->batch,
                         HNTK_LAZY_MAX_BATCH);
    if (workers < 1 || workers > POOL_MAX_WORKERS)
        return hntk_fail(HNTK_EINVAL, "pool: %d workers, accepted 1..%d", workers, POOL_MAX_WORKERS);
    if (needs->batch < 1 || needs->batch > HNTK_MAX_DIM)
        return hntk_fail(HNTK_EINVAL, "pool: batch %ld, accepted 1..%ld", needs->batch, (long)HNTK_MAX_DIM);
    if (needs->taylor_order < 0 || needs->taylor_order > HNTK_TAYLOR_MAX_ORDER)
        return hntk_fail(HNTK_EINVAL, "pool: Taylor order %d, accepted 0..%d", needs->taylor_order,
                         HNTK_TAYLOR_MAX_ORDER);
    if (needs->out_doubles < 0)
        return hntk_fail(HNTK_EINVAL, "pool: per-sample buffer of %ld doubles, accepted >= 0", needs->out_doubles);
    size_t per = hntk_pool_worker_bytes(a, needs), total = hntk_pool_bytes(a, needs, workers);
    if (budget_bytes && total > budget_bytes)
        return hntk_fail(HNTK_EBUDGET,
                         "%d thread workspaces of %.3g GiB each (f width %ld, g width %ld, batch %ld) need %.3g GiB, "
                         "over the memory budget of %.3g GiB (--mem-budget; or fewer threads, OMP_NUM_THREADS)",
                         workers, per / 1073741824.0, a->f_width, a->g_width, needs->batch, total / 1073741824.0,
                         budget_bytes / 1073741824.0);
    hntk_pool *p = calloc(1, sizeof *p);
    if (!p) return hntk_fail(HNTK_ENOMEM, "cannot allocate a pool");
    p->size = workers;
    p->workers = calloc((size_t)workers, sizeof *p->workers);
    p->ctx = calloc((size_t)workers, sizeof *p->ctx);
    if (!p->workers || !p->ctx) {
        hntk_pool_free(p);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate %d workers", workers);
    }
    for (int t = 0; t < workers; t++) {
        p->workers[t].index = t;
        p->ctx[t] = &p->workers[t];
        if ((st = worker_alloc(a, needs, &p->workers[t]))) {
            hntk_pool_free(p);
            return st;
        }
    }
    *out = p;
    return HNTK_OK;
}

int hntk_pool_size(const hntk_pool *p) { return p->size; }
hntk_worker *hntk_pool_worker(hntk_pool *p, int t) { return &p->workers[t]; }
void **hntk_pool_ctx(hntk_pool *p) { return p->ctx; }

void hntk_pool_set_job(hntk_pool *p, const void *job)
{
    for (int t = 0; t < p->size; t++) p->workers[t].job = job;
}
