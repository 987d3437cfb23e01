/* empirical.c: the Monte Carlo of `hyperntk kernel` as a library call (empirical.h). */
#include "hyperntk/empirical.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyperntk/error.h"
#include "hyperntk/lazy.h"
#include "hyperntk/mc.h"
#include "hyperntk/net.h"
#include "hyperntk/stats.h"
#include "hyperntk/version.h"

int hntk_empirical_sample(hntk_worker *w, uint64_t seed, uint32_t sample, long B, const double *X, const double *Z,
                          double *out)
{
    if (w->lazy) {
        int st = hntk_lazy_sample_ntk_gram(w->lazy, seed, sample, B, X, Z, out);
        if (st) return st;
        hntk_lazy_nngp_gram(w->lazy, out + B * B);
        /* the g-part c(u_i).c(u_j), c = dh/dv (B, P) */
        const double *c = hntk_lazy_dh_dv(w->lazy);
        long P = hntk_f_out_dim(hntk_lazy_arch(w->lazy));
        double *G = out + 2 * B * B;
        for (long p = 0; p < B; p++)
            for (long q = p; q < B; q++) {
                double acc = 0.0;
                for (long i = 0; i < P; i++) acc += c[p * P + i] * c[q * P + i];
                G[p * B + q] = G[q * B + p] = acc;
            }
        return HNTK_OK;
    }
    int st = hntk_net_sample_ntk_gram(w->net, seed, sample, B, X, Z, out);
    if (st) return st;
    hntk_net_nngp_gram(w->net, out + B * B);
    hntk_net_g_gram(w->net, out + 2 * B * B);
    return HNTK_OK;
}

/* ---- the run ---- */

typedef struct {
    uint64_t seed;
    long B;
    const double *X, *Z;
    double *samples; /* (N, 3, B, B) or NULL */
} empirical_job;

static int run_sample(void *ctx, long sample, double *out)
{
    hntk_worker *w = ctx;
    const empirical_job *j = w->job;
    return hntk_empirical_sample(w, j->seed, (uint32_t)sample, j->B, j->X, j->Z, out);
}

static void collect(void *data, long sample, const double *stats)
{
    empirical_job *j = data;
    size_t dim = (size_t)HNTK_EMPIRICAL_KINDS * (size_t)(j->B * j->B);
    memcpy(j->samples + (size_t)sample * dim, stats, sizeof(double) * dim);
}

static int finite_inputs(const char *name, long B, long dim, const double *M)
{
    for (long i = 0; i < B * dim; i++)
        if (!isfinite(M[i]))
            return hntk_fail(HNTK_EINVAL, "hntk_empirical_run: %s[%ld, %ld] = %g, accepted: finite values", name,
                             i / dim, i % dim, M[i]);
    return HNTK_OK;
}

int hntk_empirical_run(const hntk_empirical_spec *spec, long B, const double *X, const double *Z,
                       const hntk_empirical_out *out)
{
    if (!spec || !out) return hntk_fail(HNTK_EINVAL, "hntk_empirical_run: spec or out is NULL");
    if (spec->samples < 2 || spec->samples > 2147483647L)
        return hntk_fail(HNTK_EINVAL, "hntk_empirical_run: samples = %ld, accepted range 2..2147483647",
                         spec->samples);
    if (B < 1 || B > 65536)
        return hntk_fail(HNTK_EINVAL, "hntk_empirical_run: B = %ld inputs, accepted range 1..65536", B);
    if (!X || !Z) return hntk_fail(HNTK_EINVAL, "hntk_empirical_run: X or Z is NULL, accepted (B, x_dim), (B, z_dim)");
    const hntk_hyper_arch *a = &spec->arch;
    if (spec->fourier_fixed && a->fourier_k <= 0)
        return hntk_fail(HNTK_EINVAL, "hntk_empirical_run: fixed Fourier features with fourier_k = %ld, accepted "
                                      "fourier_k >= 1", a->fourier_k);
    int st = spec->lazy ? hntk_lazy_validate(a) : hntk_hyper_arch_validate(a);
    if (!st) st = hntk_arch_require_theory(a, "hntk_empirical_run");
    if (!st) st = finite_inputs("X", B, a->x_dim, X);
    if (!st) st = finite_inputs("Z", B, a->z_dim, Z);
    if (st) return st;

    hntk_blas_single_thread();
    const long BB = B * B, dim = HNTK_EMPIRICAL_KINDS * BB;
    const int threads = hntk_mc_max_threads();
    const double saved = out->samples ? 8.0 * (double)spec->samples * (double)dim : 0.0;
    size_t budget = spec->budget_bytes;
    if (budget && saved >= (double)budget)
        return hntk_fail(HNTK_EBUDGET, "hntk_empirical_run: the per-sample values (%ld samples x 3 x %ld x %ld "
                         "doubles, %.3g GiB) exceed the memory budget of %.3g GiB", spec->samples, B, B,
                         saved / 1073741824.0, (double)budget / 1073741824.0);
    if (budget) budget -= (size_t)saved;
    hntk_pool_needs needs = {.batch = B, .lazy = spec->lazy};
    hntk_pool *pool = NULL;
    hntk_stats_moments *acc = NULL;
    double *freq = NULL, *phase = NULL;
    st = hntk_pool_alloc(a, &needs, threads, budget, &pool);
    if (!st) st = hntk_stats_moments_alloc(dim, &acc);
    if (!st && spec->fourier_fixed) {
        freq = malloc(sizeof(double) * (size_t)(a->fourier_k * a->z_dim));
        phase = malloc(sizeof(double) * (size_t)a->fourier_k);
        if (!freq || !phase) st = hntk_fail(HNTK_ENOMEM, "hntk_empirical_run: cannot allocate the features");
        if (!st) hntk_fourier_draw(a, spec->seed, HNTK_FOURIER_RUN_SAMPLE, freq, phase);
        for (int t = 0; t < threads && !st; t++)
            st = hntk_net_fix_fourier(hntk_pool_worker(pool, t)->net, freq, phase);
    }
    if (!st) {
        empirical_job job = {spec->seed, B, X, Z, out->samples};
        hntk_pool_set_job(pool, &job);
        hntk_mc_job mc = {.samples = spec->samples, .dim = dim, .n_ctx = threads, .ctx = hntk_pool_ctx(pool),
                          .fn = run_sample, .collect = out->samples ? collect : NULL, .collect_data = &job};
        st = hntk_mc_run(&mc, acc);
    }
    if (!st) {
        hntk_stats_moments_finish(acc, out->var, out->se);
        if (out->mean) memcpy(out->mean, acc->mean, sizeof(double) * (size_t)dim);
    }
    free(freq);
    free(phase);
    hntk_stats_moments_free(acc);
    hntk_pool_free(pool);
    return st;
}
