/* test_pool.c: the worker pool (pool.h): sizes, the one budget check, what each
 * worker holds, and that a pool's workers compute what a lone network does. */
#include <stdlib.h>
#include <string.h>

#include "hyperntk/hyperntk.h"
#include "testing.h"

static hntk_hyper_arch small_arch(void)
{
    hntk_hyper_arch a = {0};
    a.f_depth = 3;
    a.f_width = 40;
    a.x_dim = 3;
    a.g_depth = 2;
    a.g_width = 6;
    a.z_dim = 2;
    a.fourier_scale = 1.0;
    return a;
}

int main(void)
{
    hntk_hyper_arch a = small_arch();
    const long B = 3;
    hntk_pool_needs none = {.batch = B};
    hntk_pool_needs all = {.batch = B, .gram = 1, .taylor_order = 4, .fntk = 1, .out_doubles = 17};

    /* Sizes: the sum of the parts, per worker, times the workers. */
    size_t base = hntk_pool_worker_bytes(&a, &none);
    CHECK(base >= hntk_net_bytes(&a, B), "a worker holds at least its network");
    size_t full = hntk_pool_worker_bytes(&a, &all);
    size_t parts = sizeof(double) * (size_t)(B * B) + hntk_taylor_ws_bytes(&a, B, 4) + hntk_fntk_ws_bytes(&a) +
                   sizeof(double) * 17;
    CHECK(full == base + parts, "worker bytes %zu = %zu + %zu", full, base, parts);
    CHECK(hntk_pool_bytes(&a, &all, 3) > 3 * full && hntk_pool_bytes(&a, &all, 3) < 3 * full + 1024,
          "pool bytes of 3 workers");

    /* The budget: refused just below the total, accepted at it. */
    hntk_pool *p = NULL;
    size_t total = hntk_pool_bytes(&a, &all, 2);
    int st = hntk_pool_alloc(&a, &all, 2, total - 1, &p);
    CHECK(st == HNTK_EBUDGET && p == NULL, "budget one byte short: status %d", st);
    CHECK(strstr(hntk_last_error(), "--mem-budget") != NULL, "the message names --mem-budget: %s",
          hntk_last_error());
    st = hntk_pool_alloc(&a, &all, 2, total, &p);
    CHECK(st == HNTK_OK && p != NULL, "budget exactly the total: status %d (%s)", st, hntk_last_error());

    /* Every worker holds what was asked, and its index. */
    if (p) {
        CHECK(hntk_pool_size(p) == 2, "size");
        void **ctx = hntk_pool_ctx(p);
        int x = 42;
        hntk_pool_set_job(p, &x);
        for (int t = 0; t < 2; t++) {
            hntk_worker *w = hntk_pool_worker(p, t);
            CHECK(ctx[t] == w && w->index == t, "ctx[%d] is worker %d", t, t);
            CHECK(w->net && w->gram && w->taylor && w->fntk && w->out, "worker %d holds every part", t);
            CHECK(w->job == &x, "job pointer");
            CHECK(hntk_taylor_order(w->taylor) == 4, "Taylor order");
        }
        /* A worker's network computes what a lone network does, bit for bit. */
        double X[3 * 3] = {1, 0.5, -1, 0.2, 1.2, 0.3, -0.7, 0.1, 1.4}, Z[3 * 2] = {1, 1, -1, 0.4, 0.3, -1.2};
        hntk_net *lone = NULL;
        double K1[9], K2[9];
        st = hntk_net_alloc(&a, B, 0, &lone);
        CHECK(st == HNTK_OK, "lone network");
        if (!st) {
            hntk_worker *w = hntk_pool_worker(p, 1);
            CHECK(hntk_net_sample_ntk_gram(w->net, 7, 3, B, X, Z, w->gram) == HNTK_OK, "pool Gram");
            CHECK(hntk_net_sample_ntk_gram(lone, 7, 3, B, X, Z, K2) == HNTK_OK, "lone Gram");
            memcpy(K1, w->gram, sizeof K1);
            CHECK(memcmp(K1, K2, sizeof K1) == 0, "identical Gram matrices");
        }
        hntk_net_free(lone);
    }
    hntk_pool_free(p);
    hntk_pool_free(NULL); /* harmless */

    /* Lazy workers (needs.lazy): hntk_lazy_bytes is counted instead of the
     * network, the budget is checked against it, no network is held, and K^h
     * for a (seed, sample) equals a lone hntk_lazy's bit for bit. */
    {
        hntk_pool_needs lz_needs = {.batch = B, .gram = 1, .lazy = 1};
        hntk_pool_needs gram_only = {.batch = B, .gram = 1};
        size_t lb = hntk_pool_worker_bytes(&a, &lz_needs);
        size_t nb = hntk_pool_worker_bytes(&a, &gram_only);
        CHECK(lb == nb - hntk_net_bytes(&a, B) + hntk_lazy_bytes(&a, B), "lazy worker bytes %zu count hntk_lazy_bytes",
              lb);
        size_t lt = hntk_pool_bytes(&a, &lz_needs, 2);
        hntk_pool *lp = NULL;
        st = hntk_pool_alloc(&a, &lz_needs, 2, lt - 1, &lp);
        CHECK(st == HNTK_EBUDGET && lp == NULL, "lazy pool: budget one byte short: status %d", st);
        st = hntk_pool_alloc(&a, &lz_needs, 2, lt, &lp);
        CHECK(st == HNTK_OK && lp != NULL, "lazy pool: budget exactly the total: status %d (%s)", st,
              hntk_last_error());
        if (lp) {
            double X[3 * 3] = {1, 0.5, -1, 0.2, 1.2, 0.3, -0.7, 0.1, 1.4}, Z[3 * 2] = {1, 1, -1, 0.4, 0.3, -1.2};
            double K1[9], K2[9], N1[9], N2[9];
            for (int t = 0; t < 2; t++) {
                hntk_worker *w = hntk_pool_worker(lp, t);
                CHECK(w->lazy && !w->net && w->gram, "lazy worker %d holds a lazy sampler, no network", t);
            }
            hntk_lazy *lone = NULL;
            st = hntk_lazy_alloc(&a, B, 0, &lone);
            CHECK(st == HNTK_OK, "lone lazy sampler");
            hntk_worker *w = hntk_pool_worker(lp, 1);
            if (!st && w->lazy) {
                CHECK(hntk_lazy_sample_ntk_gram(w->lazy, 7, 3, B, X, Z, w->gram) == HNTK_OK, "lazy pool Gram");
                memcpy(K1, w->gram, sizeof K1);
                hntk_lazy_nngp_gram(w->lazy, N1);
                CHECK(hntk_lazy_sample_ntk_gram(lone, 7, 3, B, X, Z, K2) == HNTK_OK, "lone lazy Gram");
                hntk_lazy_nngp_gram(lone, N2);
                CHECK(memcmp(K1, K2, sizeof K1) == 0, "identical lazy Gram matrices");
                CHECK(memcmp(N1, N2, sizeof N1) == 0, "identical lazy NNGP terms");
            }
            hntk_lazy_free(lone);
        }
        hntk_pool_free(lp);
        /* Wider than HNTK_MAX_WIDTH: refused dense, sized lazily. */
        hntk_hyper_arch wide = a;
        wide.f_width = HNTK_MAX_WIDTH + 1;
        size_t wb = hntk_pool_worker_bytes(&wide, &lz_needs);
        CHECK(wb > hntk_lazy_bytes(&wide, B) && wb < hntk_lazy_bytes(&wide, B) + 4096, "wide lazy worker bytes");
        lp = NULL;
        CHECK(hntk_pool_alloc(&wide, &gram_only, 1, 1, &lp) == HNTK_EINVAL && !lp, "dense width > 2^20 refused");
        CHECK(hntk_pool_alloc(&wide, &lz_needs, 1, 1, &lp) == HNTK_EBUDGET && !lp,
              "lazy width > 2^20 passes validation, then the budget");
        /* lazy with a Taylor workspace: room for the jets in the sampler, plus the workspace */
        hntk_pool_needs lz_taylor = {.batch = B, .lazy = 1, .taylor_order = 3};
        CHECK(hntk_pool_worker_bytes(&a, &lz_taylor) == sizeof(hntk_worker) + sizeof(void *) +
                                                         hntk_lazy_bytes_taylor(&a, B, 3) +
                                                         hntk_taylor_ws_bytes(&a, B, 3),
              "lazy Taylor worker bytes");
        CHECK(hntk_pool_alloc(&a, &lz_taylor, 1, 0, &lp) == HNTK_OK && lp && hntk_pool_worker(lp, 0)->taylor &&
                  hntk_lazy_taylor_order(hntk_pool_worker(lp, 0)->lazy) == 3,
              "lazy pool with Taylor order 3: %s", hntk_last_error());
        hntk_pool_free(lp);
        lp = NULL;
        hntk_pool_needs lz_fntk = {.batch = B, .lazy = 1, .fntk = 1};
        CHECK(hntk_pool_alloc(&a, &lz_fntk, 1, 0, &lp) == HNTK_EINVAL && !lp, "lazy with an f-NTK refused");
        hntk_hyper_arch four = a;
        four.fourier_k = 4;
        CHECK(hntk_pool_alloc(&four, &lz_needs, 1, 0, &lp) == HNTK_EINVAL && !lp, "lazy with Fourier refused");
    }

    /* Bad arguments name the value and the range. */
    p = NULL;
    CHECK(hntk_pool_alloc(&a, &none, 0, 0, &p) == HNTK_EINVAL && !p, "0 workers refused");
    CHECK(strstr(hntk_last_error(), "1..1024") != NULL, "range in message: %s", hntk_last_error());
    hntk_pool_needs bad = {.batch = 0};
    CHECK(hntk_pool_alloc(&a, &bad, 1, 0, &p) == HNTK_EINVAL && !p, "batch 0 refused");
    hntk_pool_needs bad_r = {.batch = 1, .taylor_order = HNTK_TAYLOR_MAX_ORDER + 1};
    CHECK(hntk_pool_alloc(&a, &bad_r, 1, 0, &p) == HNTK_EINVAL && !p, "Taylor order too high refused");
    hntk_hyper_arch bad_a = a;
    bad_a.f_width = 0;
    CHECK(hntk_pool_alloc(&bad_a, &none, 1, 0, &p) != HNTK_OK && !p, "invalid architecture refused");
    return TEST_SUMMARY();
}
