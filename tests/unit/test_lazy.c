/* test_lazy.c: the lazy Gaussian-conditioning sampler (docs/theory.md §7)
 * against the dense sampler hntk_net_sample_ntk_gram: equality in
 * distribution (two-sample KS, Holm-corrected), a broken variant the same
 * test must reject, bit-reproducibility across calls and threads, the
 * infinite-width limit at n = 10^5, and the error paths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "hyperntk/analytic.h"
#include "hyperntk/error.h"
#include "hyperntk/lazy.h"
#include "hyperntk/net.h"
#include "hyperntk/rng.h"
#include "hyperntk/stats.h"
#include "hyperntk/taylor.h"
#include "hyperntk/version.h"
#include "testing.h"

#define MAXP 128 /* p-values collected for the Holm family */
static double pvals[MAXP];
static char pnames[MAXP][96];
static int npvals;

static hntk_hyper_arch make_arch(int L, long n, long x_dim, int H, long m, long z_dim)
{
    hntk_hyper_arch a = {0};
    a.f_depth = L;
    a.f_width = n;
    a.x_dim = x_dim;
    a.g_depth = H;
    a.g_width = m;
    a.z_dim = z_dim;
    return a;
}

/* Random vector of squared norm dim (docs/theory.md §1.3), from a fixed stream. */
static void unit_input(double *x, long dim, uint32_t row, uint32_t tensor)
{
    hntk_stream s;
    hntk_stream_init(&s, 12345, 0, tensor, row);
    hntk_stream_normals(&s, x, (size_t)dim);
    double ss = 0;
    for (long i = 0; i < dim; i++) ss += x[i] * x[i];
    for (long i = 0; i < dim; i++) x[i] *= sqrt((double)dim / ss);
}

/* Per-sample statistics: K^h(u0, uj), K^h(u0, u0), h(u0) h(uj) and the
 * Taylor terms K^(r)(u0, uj), r = 1..TR (direction grad h(uj)), j = 1 (0 when
 * B = 1). */
enum { TR = 4 };
enum { STAT_K01, STAT_K00, STAT_H01, STAT_T1, NSTAT = STAT_T1 + TR };
static const char *stat_name[NSTAT] = {"K(u0,u1)", "K(u0,u0)", "h(u0)h(u1)", "K^(1)", "K^(2)", "K^(3)", "K^(4)"};
static double worst_t1_gap; /* max |K^(1) - K^h| / |K^h| over every lazy sample */

/* Per-sample statistics of N samples, dense (lazy = 0) or lazy (lazy = 1, fault). */
static void draw(const hntk_hyper_arch *a, long B, const double *X, const double *Z, long N, int lazy,
                 int fault, uint64_t seed, double *out /* (NSTAT, N) */)
{
    int nthreads = 2;
    double worst = 0.0;
#pragma omp parallel num_threads(nthreads) reduction(max : worst)
    {
        double K[64], nn[64], T[16 * TR];
        hntk_net *net = NULL;
        hntk_lazy *lz = NULL;
        hntk_taylor_ws *tw = NULL;
        hntk_taylor_ws_alloc(a, B, TR, 0, &tw);
        if (lazy) {
            if (hntk_lazy_alloc_taylor(a, B, TR, 0, &lz) == HNTK_OK) hntk_lazy_set_fault(lz, fault);
        } else {
            hntk_net_alloc(a, B, 0, &net);
        }
        long j = B > 1 ? 1 : 0;
#pragma omp for schedule(static)
        for (long s = 0; s < N; s++) {
            if (lazy) {
                hntk_lazy_sample_ntk_gram(lz, seed, (uint32_t)s, B, X, Z, K);
                hntk_lazy_nngp_gram(lz, nn);
                /* the same sample again (same streams: same passes), then its jets */
                hntk_taylor_kernels_lazy(lz, tw, seed, (uint32_t)s, B, X, Z, j, T);
                /* relative to the diagonal; absolute when every unit is dead (K = 0) */
                double scale = sqrt(K[0] * K[j * B + j]), gap = fabs(T[0] - K[0 * B + j]);
                if (scale > 0.0) gap /= scale;
                if (isnan(gap)) gap = INFINITY;
                if (gap > worst) worst = gap;
            } else {
                hntk_net_sample_ntk_gram(net, seed, (uint32_t)s, B, X, Z, K);
                hntk_net_nngp_gram(net, nn);
                hntk_taylor_kernels(net, tw, B, X, Z, j, T);
            }
            out[STAT_K01 * N + s] = K[0 * B + j];
            out[STAT_K00 * N + s] = K[0];
            out[STAT_H01 * N + s] = nn[0 * B + j];
            for (int r = 0; r < TR; r++) out[(STAT_T1 + r) * N + s] = T[r]; /* row i = 0 */
        }
        hntk_taylor_ws_free(tw);
        hntk_lazy_free(lz);
        hntk_net_free(net);
    }
    if (lazy && !fault && worst > worst_t1_gap) worst_t1_gap = worst;
}

static void mean_var(const double *x, long n, double *mean, double *var)
{
    double m = 0, v = 0;
    for (long i = 0; i < n; i++) m += x[i];
    m /= n;
    for (long i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
    *mean = m;
    *var = v / (n - 1);
}

/* Compare dense and lazy on one configuration; record the KS p-values.
 * Returns the smallest p-value (used by the negative control). */
static double compare(const char *label, const hntk_hyper_arch *a, long B, const double *X, const double *Z,
                      long N, int fault, int record)
{
    double *d = malloc(sizeof(double) * NSTAT * N), *l = malloc(sizeof(double) * NSTAT * N);
    double *scr = malloc(sizeof(double) * 2 * N);
    draw(a, B, X, Z, N, 0, 0, 777, d);
    draw(a, B, X, Z, N, 1, fault, 778, l);
    double pmin = 1.0;
    for (int st = 0; st < NSTAT; st++) {
        if (B == 1 && st == STAT_K01) continue; /* identical to K00 */
        if (st == STAT_T1) continue;            /* K^(1) = K^h(u0, uj) per sample (checked in draw) */
        if (st > STAT_T1 && st - STAT_T1 + 1 > hntk_taylor_degree(a)) {
            /* beyond the degree L*H both samplers give exactly 0 */
            int zero = 1;
            for (long i = 0; i < N; i++) zero &= d[st * N + i] == 0.0 && l[st * N + i] == 0.0;
            CHECK(zero, "%s %s: K^(r) for r > L*H must be exactly 0 for both samplers", label, stat_name[st]);
            continue;
        }
        double D, p;
        hntk_stats_ks2(d + st * N, N, l + st * N, N, scr, &D, &p);
        double md, vd, ml, vl;
        mean_var(d + st * N, N, &md, &vd);
        mean_var(l + st * N, N, &ml, &vl);
        double se = sqrt(vd / N + vl / N);
        double z = se > 0 ? (ml - md) / se : 0.0;
        printf("  %-34s %-11s N=%ld  dense mean %10.5g  lazy mean %10.5g  z = %6.2f  KS D = %.4f  p = %.3g\n",
               label, stat_name[st], N, md, ml, z, D, p);
        if (p < pmin) pmin = p;
        if (record) {
            CHECK(fabs(z) <= 4.0, "%s %s: lazy mean %.6g vs dense %.6g differ by %.2f standard errors", label,
                  stat_name[st], ml, md, z);
            if (npvals < MAXP) {
                pvals[npvals] = p;
                snprintf(pnames[npvals], sizeof pnames[0], "%s %s", label, stat_name[st]);
                npvals++;
            }
        }
    }
    free(d);
    free(l);
    free(scr);
    return pmin;
}

static void fill_batch(long B, long xd, long zd, double *X, double *Z, uint32_t off)
{
    for (long b = 0; b < B; b++) {
        unit_input(X + b * xd, xd, off + (uint32_t)b, HNTK_TENSOR_INPUT_X);
        unit_input(Z + b * zd, zd, off + (uint32_t)b, HNTK_TENSOR_INPUT_Z);
    }
}


/* One lazy matrix queried directly, backward and forward interleaved:
 * W^l (5 x 6) of layer 2 (H = 1, z_dim = 5, so P = 5).  Order: W^T e1, W q1,
 * W^T e2, W q2, W (q1 - 2 q2) (in span), W^T (3 e1) (in span). */
enum { QI = 6, QO = 5, NQ = 6, NSTAT_Q = 4 };
static void interleaved(hntk_lazy *lz, uint64_t seed, uint32_t s, const double q[2][QI], const double e[2][QO],
                        double fw[3][QO], double bw[3][QI])
{
    double q3[QI], e3[QO];
    for (int i = 0; i < QI; i++) q3[i] = q[0][i] - 2.0 * q[1][i];
    for (int i = 0; i < QO; i++) e3[i] = 3.0 * e[0][i];
    hntk_lazy_reset(lz);
    hntk_lazy_query(lz, 2, 1, seed, s, e[0], bw[0]);
    hntk_lazy_query(lz, 2, 0, seed, s, q[0], fw[0]);
    hntk_lazy_query(lz, 2, 1, seed, s, e[1], bw[1]);
    hntk_lazy_query(lz, 2, 0, seed, s, q[1], fw[1]);
    hntk_lazy_query(lz, 2, 0, seed, s, q3, fw[2]);
    hntk_lazy_query(lz, 2, 1, seed, s, e3, bw[2]);
}

static double max_inconsistency(const double q[2][QI], const double e[2][QO], double fw[3][QO],
                                double bw[3][QI])
{
    double q3[QI], e3[QO], worst = 0;
    for (int i = 0; i < QI; i++) q3[i] = q[0][i] - 2.0 * q[1][i];
    for (int i = 0; i < QO; i++) e3[i] = 3.0 * e[0][i];
    const double *qs[3] = {q[0], q[1], q3}, *es[3] = {e[0], e[1], e3};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double x = 0, y = 0, sc = 0;
            for (int i = 0; i < QO; i++) x += es[a][i] * fw[b][i];
            for (int i = 0; i < QI; i++) y += bw[a][i] * qs[b][i];
            for (int i = 0; i < QO; i++) sc += fabs(es[a][i] * fw[b][i]);
            double d = fabs(x - y) / (sc + 1e-300);
            if (d > worst) worst = d;
        }
    return worst;
}

static void query_stats(double fw[3][QO], double bw[3][QI], double *st)
{
    st[0] = fw[0][0];
    st[1] = bw[1][2];
    st[2] = fw[0][0] * bw[0][0]; /* forward-backward cross moment: E = q1_0 e1_0 */
    double ss = 0;
    for (int i = 0; i < QO; i++) ss += fw[1][i] * fw[1][i];
    st[3] = ss + fw[2][1] * bw[2][0];
}

static double test_interleaved(long N, int fault, int record)
{
    hntk_hyper_arch a = make_arch(2, QI, 3, 1, 1, QO);
    double q[2][QI], e[2][QO];
    unit_input(q[0], QI, 200, HNTK_TENSOR_BENCH);
    unit_input(q[1], QI, 201, HNTK_TENSOR_BENCH);
    unit_input(e[0], QO, 202, HNTK_TENSOR_BENCH);
    unit_input(e[1], QO, 203, HNTK_TENSOR_BENCH);
    q[0][0] += 2.0; /* a larger cross moment q1_0 e1_0 */
    e[0][0] += 2.0;
    hntk_lazy *lz = NULL;
    CHECK(hntk_lazy_alloc(&a, 4, 0, &lz) == HNTK_OK, "alloc: %s", hntk_last_error());
    hntk_lazy_set_fault(lz, fault);
    double *d = malloc(sizeof(double) * NSTAT_Q * N), *l = malloc(sizeof(double) * NSTAT_Q * N);
    double *scr = malloc(sizeof(double) * 2 * N), W[QO * QI], worst = 0;
    for (long s = 0; s < N; s++) {
        double fw[3][QO], bw[3][QI], st[NSTAT_Q];
        interleaved(lz, 31, (uint32_t)s, q, e, fw, bw);
        double w = max_inconsistency(q, e, fw, bw);
        if (w > worst) worst = w;
        query_stats(fw, bw, st);
        for (int k = 0; k < NSTAT_Q; k++) l[k * N + s] = st[k];
        /* dense reference */
        hntk_fill_normal_matrix(32, (uint32_t)s, HNTK_TENSOR_BENCH, 1.0, W, QO, QI);
        double q3[QI], e3[QO];
        for (int i = 0; i < QI; i++) q3[i] = q[0][i] - 2.0 * q[1][i];
        for (int i = 0; i < QO; i++) e3[i] = 3.0 * e[0][i];
        const double *qs[3] = {q[0], q[1], q3}, *es[3] = {e[0], e[1], e3};
        int fo[3] = {0, 1, 2}, bo[3] = {0, 1, 2};
        for (int t = 0; t < 3; t++) {
            for (int i = 0; i < QO; i++) {
                double x = 0;
                for (int j = 0; j < QI; j++) x += W[i * QI + j] * qs[fo[t]][j];
                fw[t][i] = x;
            }
            for (int j = 0; j < QI; j++) {
                double x = 0;
                for (int i = 0; i < QO; i++) x += W[i * QI + j] * es[bo[t]][i];
                bw[t][j] = x;
            }
        }
        query_stats(fw, bw, st);
        for (int k = 0; k < NSTAT_Q; k++) d[k * N + s] = st[k];
    }
    double pmin = 1;
    static const char *nm[NSTAT_Q] = {"(Wq1)_0", "(W^T e2)_2", "(Wq1)_0 (W^T e1)_0", "|Wq2|^2 + cross"};
    for (int k = 0; k < NSTAT_Q; k++) {
        double D, p, md, vd, ml, vl;
        hntk_stats_ks2(d + k * N, N, l + k * N, N, scr, &D, &p);
        mean_var(d + k * N, N, &md, &vd);
        mean_var(l + k * N, N, &ml, &vl);
        double z = (ml - md) / sqrt(vd / N + vl / N);
        printf("  %-34s %-18s N=%ld  dense mean %9.5f  lazy mean %9.5f  z = %6.2f  KS p = %.3g\n",
               fault ? "BROKEN fwd-after-bwd (no V Bm^T u)" : "interleaved W^T/W queries", nm[k], N, md, ml, z,
               p);
        if (p < pmin) pmin = p;
        if (record) {
            CHECK(fabs(z) <= 4.0, "interleaved %s: means differ by %.2f SE", nm[k], z);
            if (npvals < MAXP) {
                pvals[npvals] = p;
                snprintf(pnames[npvals], sizeof pnames[0], "interleaved %s", nm[k]);
                npvals++;
            }
        }
    }
    printf("  %s: largest |e.(Wq) - (W^T e).q| / sum|..| over all pairs = %.3g\n",
           fault ? "BROKEN" : "exact", worst);
    if (!fault) CHECK(worst < 1e-12, "answers inconsistent: e.(W q) != (W^T e).q (rel %.3g)", worst);
    else CHECK(worst > 1e-3, "the broken forward conditioning went unnoticed (rel %.3g)", worst);
    /* capacity: layer 1 takes no backward directions */
    double e1[QI] = {1, 0, 0, 0, 0, 0}, out[3];
    hntk_lazy_reset(lz);
    CHECK(hntk_lazy_query(lz, 1, 1, 1, 0, e1, out) == HNTK_EINVAL, "a backward query of layer 1 must be refused");
    CHECK(hntk_lazy_query(lz, 3, 0, 1, 0, e1, out) == HNTK_EINVAL &&
              strstr(hntk_last_error(), "accepted 1..2"),
          "layer 3 of 2 must be refused: %s", hntk_last_error());
    hntk_lazy_free(lz);
    free(d);
    free(l);
    free(scr);
    return pmin;
}

static void test_distribution(long N)
{
    double X[64], Z[64];
    printf("exactness in distribution (dense vs lazy, %ld samples each):\n", N);
    /* generic inputs */
    {
        hntk_hyper_arch a = make_arch(2, 32, 3, 2, 4, 3);
        fill_batch(3, 3, 3, X, Z, 0);
        compare("L=2 H=2 n=32 m=4 B=3", &a, 3, X, Z, N, 0, 1);
    }
    {
        hntk_hyper_arch a = make_arch(3, 16, 2, 2, 6, 2);
        fill_batch(3, 2, 2, X, Z, 10);
        compare("L=3 H=2 n=16 m=6 B=3", &a, 3, X, Z, N, 0, 1);
    }
    {
        hntk_hyper_arch a = make_arch(2, 64, 4, 2, 8, 3);
        fill_batch(1, 4, 3, X, Z, 20);
        compare("L=2 H=2 n=64 m=8 B=1", &a, 1, X, Z, N, 0, 1);
    }
    {
        hntk_hyper_arch a = make_arch(3, 24, 3, 3, 4, 2);
        fill_batch(1, 3, 2, X, Z, 30);
        compare("L=3 H=3 n=24 m=4 B=1", &a, 1, X, Z, N, 0, 1);
    }
    /* degenerate: u0 = (x, z), u1 = (x, z'), u2 = (x + 1e-9 d, z) */
    {
        hntk_hyper_arch a = make_arch(3, 16, 3, 2, 5, 3);
        fill_batch(3, 3, 3, X, Z, 40);
        double d[3];
        unit_input(d, 3, 99, HNTK_TENSOR_INPUT_X);
        memcpy(X + 3, X, sizeof(double) * 3);
        memcpy(X + 6, X, sizeof(double) * 3);
        for (int i = 0; i < 3; i++) X[6 + i] += 1e-9 * d[i];
        memcpy(Z + 6, Z, sizeof(double) * 3);
        compare("L=3 deg x=x' (z!=z'), x+1e-9d", &a, 3, X, Z, N, 0, 1);
        /* the same batch reordered so (u0, u1) is the near-duplicate pair */
        double X2[9], Z2[9];
        memcpy(X2, X, sizeof X2);
        memcpy(Z2, Z, sizeof Z2);
        memcpy(X2 + 3, X + 6, sizeof(double) * 3);
        memcpy(Z2 + 3, Z + 6, sizeof(double) * 3);
        memcpy(X2 + 6, X + 3, sizeof(double) * 3);
        memcpy(Z2 + 6, Z + 3, sizeof(double) * 3);
        compare("L=3 deg (u0,u1)=(u, u+1e-9d)", &a, 3, X2, Z2, N, 0, 1);
    }
    /* degenerate: u1 = u0 exactly (x = x' and z = z'), L = 2 */
    {
        hntk_hyper_arch a = make_arch(2, 32, 3, 2, 4, 3);
        fill_batch(2, 3, 3, X, Z, 50);
        memcpy(X + 3, X, sizeof(double) * 3);
        memcpy(Z + 3, Z, sizeof(double) * 3);
        compare("L=2 deg u=u' B=2", &a, 2, X, Z, N, 0, 1);
    }
    /* z = z', x != x' */
    {
        hntk_hyper_arch a = make_arch(2, 32, 3, 2, 4, 3);
        fill_batch(2, 3, 3, X, Z, 60);
        memcpy(Z + 3, Z, sizeof(double) * 3);
        compare("L=2 deg z=z' B=2", &a, 2, X, Z, N, 0, 1);
    }

    test_interleaved(N, 0, 1);

    size_t order[MAXP];
    double adj[MAXP];
    int rej[MAXP];
    hntk_stats_holm(pvals, npvals, 0.001, order, adj, rej);
    double pmin = 1.0;
    for (int i = 0; i < npvals; i++) {
        if (pvals[i] < pmin) pmin = pvals[i];
        CHECK(!rej[i], "%s: KS p = %.3g rejected by Holm at family alpha 0.001 (adjusted %.3g)", pnames[i],
              pvals[i], adj[i]);
    }
    printf("  %d KS tests, smallest p = %.3g, none rejected by Holm (alpha 0.001) expected\n", npvals, pmin);
    printf("  K^(1) of the lazy Taylor engine against the lazy K^h of the same sample: max relative gap %.3g\n",
           worst_t1_gap);
    CHECK(worst_t1_gap <= 1e-12, "lazy K^(1) differs from K^h of the same sample by %.3g (relative)", worst_t1_gap);
}

static void test_negative_control(long N)
{
    double X[64], Z[64];
    printf("negative control (backward queries without the conditional mean U A^T v):\n");
    hntk_hyper_arch a = make_arch(2, 8, 3, 2, 4, 3);
    fill_batch(3, 3, 3, X, Z, 0);
    double p = compare("BROKEN L=2 n=8 B=3", &a, 3, X, Z, N, HNTK_LAZY_FAULT_NO_BACKWARD_MEAN, 0);
    CHECK(p < 1e-6, "the KS test failed to reject the broken sampler: smallest p = %.3g", p);
    printf("  negative control: smallest p = %.3g (must be < 1e-6)\n", p);
    double p2 = test_interleaved(N, HNTK_LAZY_FAULT_NO_FORWARD_MEAN, 0);
    printf("  negative control (forward without V Bm^T u): smallest p = %.3g\n", p2);
    CHECK(p2 < 1e-6, "the KS test failed to reject the broken forward conditioning: smallest p = %.3g", p2);
}

static void test_reproducible(void)
{
    hntk_hyper_arch a = make_arch(3, 40, 3, 2, 5, 3);
    enum { B = 3, NS = 32 };
    double X[B * 3], Z[B * 3];
    fill_batch(B, 3, 3, X, Z, 70);
    hntk_lazy *lz = NULL;
    CHECK(hntk_lazy_alloc(&a, B, 0, &lz) == HNTK_OK, "alloc: %s", hntk_last_error());
    double K1[B * B], K2[B * B], h1[B];
    hntk_lazy_sample_ntk_gram(lz, 42, 7, B, X, Z, K1);
    memcpy(h1, hntk_lazy_output(lz), sizeof h1);
    hntk_lazy_sample_ntk_gram(lz, 42, 8, B, X, Z, K2); /* something else in between */
    hntk_lazy_sample_ntk_gram(lz, 42, 7, B, X, Z, K2);
    CHECK(memcmp(K1, K2, sizeof K1) == 0, "K of (seed 42, sample 7) differs between two calls");
    CHECK(memcmp(h1, hntk_lazy_output(lz), sizeof h1) == 0, "h of (seed 42, sample 7) differs between calls");
    long ku, kv;
    hntk_lazy_rank(lz, 1, &ku, &kv);
    CHECK(ku == 3 && kv == 0, "layer 1 rank: forward %ld (want 3 = x_dim), backward %ld (want 0)", ku, kv);
    hntk_lazy_rank(lz, 3, &ku, &kv);
    CHECK(ku == 3 && kv == 3, "layer 3 rank: forward %ld, backward %ld (want 3, 3)", ku, kv);
    /* serial vs two threads, each with its own workspace */
    double serial[NS][B * B + B], par[NS][B * B + B];
    for (int s = 0; s < NS; s++) {
        hntk_lazy_sample_ntk_gram(lz, 42, (uint32_t)s, B, X, Z, serial[s]);
        memcpy(serial[s] + B * B, hntk_lazy_output(lz), sizeof(double) * B);
    }
    hntk_lazy_free(lz);
#pragma omp parallel num_threads(2)
    {
        hntk_lazy *w = NULL;
        hntk_lazy_alloc(&a, B, 0, &w);
#pragma omp for schedule(dynamic, 1)
        for (int s = NS - 1; s >= 0; s--) {
            hntk_lazy_sample_ntk_gram(w, 42, (uint32_t)s, B, X, Z, par[s]);
            memcpy(par[s] + B * B, hntk_lazy_output(w), sizeof(double) * B);
        }
        hntk_lazy_free(w);
    }
    CHECK(memcmp(serial, par, sizeof serial) == 0, "results differ between 1 and 2 threads");
    printf("bit-identical: repeated call and 1 vs 2 threads (%d samples)\n", NS);
}

static void test_limit(void)
{
    enum { B = 2 };
    long n = 100000, N = 200;
    hntk_hyper_arch a = make_arch(3, n, 4, 2, 10, 4);
    double X[B * 4], Z[B * 4];
    fill_batch(B, 4, 4, X, Z, 80);
    double theta[B * B];
    CHECK(hntk_limit_batch(&a, HNTK_VARIANT_PAPER, B, X, Z, theta, NULL) == HNTK_OK, "limit: %s",
          hntk_last_error());
    double *Ks = malloc(sizeof(double) * N * B * B);
    double t0 = omp_get_wtime(), t_per = 0;
#pragma omp parallel num_threads(2)
    {
        hntk_lazy *w = NULL;
        hntk_lazy_alloc(&a, B, 0, &w);
#pragma omp for schedule(static)
        for (long s = 0; s < N; s++) hntk_lazy_sample_ntk_gram(w, 5, (uint32_t)s, B, X, Z, Ks + s * B * B);
        hntk_lazy_free(w);
    }
    t_per = (omp_get_wtime() - t0) / N * 2.0;
    printf("n = 1e5, L = 3, H = 2, m = 10, B = 2: %.2f ms per sample per thread; workspace %.1f MiB\n",
           1e3 * t_per, hntk_lazy_bytes(&a, B) / 1048576.0);
    for (int e = 0; e < 3; e++) {
        int i = e == 2 ? 1 : 0, j = e == 0 ? 0 : 1;
        double *x = malloc(sizeof(double) * N);
        for (long s = 0; s < N; s++) x[s] = Ks[s * B * B + i * B + j];
        double m, v;
        mean_var(x, N, &m, &v);
        double se = sqrt(v / N), z = (m - theta[i * B + j]) / se;
        printf("  K(u%d,u%d): mean %.5f +- %.5f, limit %.5f, z = %.2f\n", i, j, m, se, theta[i * B + j], z);
        CHECK(fabs(z) <= 4.0, "n = 1e5: mean K(u%d,u%d) = %.6g is %.2f SE from the limit %.6g", i, j, m, z,
              theta[i * B + j]);
        free(x);
    }
    free(Ks);
}

/* h(u_i; W + t V) with V = grad_w h(u_j) of the last lazy sample, by an
 * independent forward pass: (W^l + t V^l) q / sqrt(n_{l-1}) =
 * W^l q / sqrt(n_{l-1}) + t E^l_j (Q^{l-1}_j . q) / n_{l-1}, W^l q further
 * queries of the same lazy W^l, g written out here.  *flips counts the ReLU
 * units whose sign differs from the sample's (t = 0) pass (NaN is returned
 * once f has one: only unflipped masks keep q^l(t) in the span of the jets'
 * queries, which the lazy W^l can answer). */
enum { PJ_B = 2, PJ_MAXN = 64, PJ_MAXP = 256 };
static double perturbed_forward(hntk_lazy *lz, const hntk_hyper_arch *a, const double *x, const double *z, long i,
                                long j, double t, int *flips)
{
    int L = a->f_depth;
    double q[PJ_MAXP], y[PJ_MAXP];
    long np = a->x_dim;
    memcpy(q, x, sizeof(double) * (size_t)np);
    for (int l = 1; l <= L; l++) {
        long nl = hntk_f_layer_width(a, l);
        const double *Qj = hntk_lazy_activation(lz, l - 1) + j * np, *Ej = hntk_lazy_dh_dy(lz, l) + j * nl;
        CHECK(hntk_lazy_apply(lz, l, 1, q, 1.0 / sqrt((double)np), y) == HNTK_OK, "apply: %s", hntk_last_error());
        double s = 0.0;
        for (long c = 0; c < np; c++) s += Qj[c] * q[c];
        for (long c = 0; c < nl; c++) y[c] += t * Ej[c] * s / (double)np;
        if (l < L) {
            const double *Q0 = hntk_lazy_activation(lz, l) + i * nl;
            for (long c = 0; c < nl; c++) {
                *flips += (y[c] > 0.0) != (Q0[c] > 0.0);
                q[c] = y[c] > 0.0 ? sqrt(2.0) * y[c] : 0.0;
            }
            /* a flipped unit takes q out of the queried span: stop before querying with it */
            if (*flips) return NAN;
        }
        np = nl;
    }
    /* g on v = y: chunks V^l (m_l, m_{l-1}) row-major; masks against g at t = 0 on the sample's v */
    const double *v0 = hntk_lazy_f_output(lz) + i * hntk_f_out_dim(a);
    double act[PJ_MAXN], act0[PJ_MAXN], pre[PJ_MAXN], pre0[PJ_MAXN];
    long mp = a->z_dim;
    memcpy(act, z, sizeof(double) * (size_t)mp);
    memcpy(act0, z, sizeof(double) * (size_t)mp);
    for (int l = 1; l <= a->g_depth; l++) {
        long ml = hntk_g_layer_width(a, l), off = hntk_g_chunk_offset(a, l);
        for (long r = 0; r < ml; r++) {
            double s = 0.0, s0 = 0.0;
            for (long c = 0; c < mp; c++) {
                s += y[off + r * mp + c] * act[c];
                s0 += v0[off + r * mp + c] * act0[c];
            }
            pre[r] = s / sqrt((double)mp);
            pre0[r] = s0 / sqrt((double)mp);
        }
        if (l < a->g_depth)
            for (long r = 0; r < ml; r++) {
                *flips += (pre[r] > 0.0) != (pre0[r] > 0.0);
                act[r] = pre[r] > 0.0 ? sqrt(2.0) * pre[r] : 0.0;
                act0[r] = pre0[r] > 0.0 ? sqrt(2.0) * pre0[r] : 0.0;
            }
        mp = ml;
    }
    return pre[0];
}

/* The jets of the lazy Taylor engine against that forward pass: with the
 * masks unchanged, h(u_i; W + t V) = sum_k c_k t^k exactly (degree L H), so
 * at the largest t = 2^-k that flips no unit the two agree to rounding. */
static void test_jets_perturbed(void)
{
    hntk_hyper_arch a = make_arch(3, 48, 3, 2, 5, 3);
    int R = (int)hntk_taylor_degree(&a);
    double X[PJ_B * 3], Z[PJ_B * 3];
    fill_batch(PJ_B, 3, 3, X, Z, 90);
    hntk_lazy *lz = NULL;
    hntk_taylor_ws *tw = NULL;
    CHECK(hntk_lazy_alloc_taylor(&a, PJ_B, R, 0, &lz) == HNTK_OK, "alloc: %s", hntk_last_error());
    CHECK(hntk_taylor_ws_alloc(&a, PJ_B, R, 0, &tw) == HNTK_OK, "ws: %s", hntk_last_error());
    if (!lz || !tw) return;
    double worst = 0.0, best_top = 0.0;
    for (uint32_t s = 0; s < 8; s++) {
        double K[PJ_B * 8];
        long j = s % 2;
        CHECK(hntk_taylor_kernels_lazy(lz, tw, 99, s, PJ_B, X, Z, j, K) == HNTK_OK, "jets: %s", hntk_last_error());
        const double *c = hntk_taylor_coefficients(tw);
        for (long i = 0; i < PJ_B; i++) {
            const double *ci = c + i * (R + 1);
            double t = 1.0, h = 0.0;
            for (int k = 0; k < 40; k++, t *= 0.5) {
                int flips = 0;
                h = perturbed_forward(lz, &a, X + i * 3, Z + i * 3, i, j, t, &flips);
                if (!flips) break;
            }
            double poly = 0.0, size = 0.0, tk = 1.0, top = 0.0;
            for (int k = 0; k <= R; k++, tk *= t) {
                poly += ci[k] * tk;
                size += fabs(ci[k] * tk);
                if (k >= 2) top = fmax(top, fabs(ci[k] * tk));
            }
            if (size == 0.0) { /* every unit of g dead: h = 0 near w, all of it exactly */
                CHECK(h == 0.0, "dead g: h(t) = %.3g, want 0", h);
                continue;
            }
            double err = fabs(h - poly) / size;
            if (!(err <= worst)) worst = err; /* NaN is kept: it fails the check below */
            if (top / size > best_top) best_top = top / size;
        }
        /* the extra queries answered inside the span: nothing new drawn, the sample unchanged */
        CHECK(hntk_taylor_kernels_lazy(lz, tw, 99, s, PJ_B, X, Z, j, K) == HNTK_OK, "jets again");
    }
    printf("jets vs the lazy forward pass at W + t grad h (8 samples x 2 inputs, largest t = 2^-k flipping no "
           "ReLU): max |h - sum c_k t^k| / sum |c_k t^k| = %.3g; orders >= 2 carry up to %.2g of the sum\n",
           worst, best_top);
    CHECK(worst <= 1e-12, "lazy jets disagree with the perturbed forward pass: %.3g", worst);
    CHECK(best_top >= 1e-3, "the check is blind to orders >= 2 (they carry at most %.3g)", best_top);
    hntk_taylor_ws_free(tw);
    hntk_lazy_free(lz);
}

static void test_errors(void)
{
    hntk_lazy *lz = (hntk_lazy *)1;
    hntk_hyper_arch a = make_arch(2, 16, 3, 2, 4, 3);
    a.fourier_k = 8;
    a.fourier_scale = 1.0;
    CHECK(hntk_lazy_alloc(&a, 2, 0, &lz) == HNTK_EINVAL && lz == NULL, "fourier_k > 0 must be refused");
    CHECK(strstr(hntk_last_error(), "fourier_k = 8") && strstr(hntk_last_error(), "accepted 0"),
          "message names fourier_k and its range: %s", hntk_last_error());
    a.fourier_k = 0;
    CHECK(hntk_lazy_alloc(&a, 0, 0, &lz) == HNTK_EINVAL, "batch 0 must be refused");
    CHECK(strstr(hntk_last_error(), "batch size = 0") && strstr(hntk_last_error(), "accepted 1..65536"),
          "message names the batch range: %s", hntk_last_error());
    a.f_width = 0;
    CHECK(hntk_lazy_alloc(&a, 2, 0, &lz) == HNTK_EINVAL, "f_width 0 must be refused");
    CHECK(strstr(hntk_last_error(), "f_width = 0") && strstr(hntk_last_error(), "accepted 1..2147483647"),
          "message names the width range: %s", hntk_last_error());
    a.f_width = 16;
    CHECK(hntk_lazy_alloc(&a, 2, 1000, &lz) == HNTK_EBUDGET, "a 1000-byte budget must be refused");
    CHECK(hntk_lazy_alloc(&a, 2, 0, &lz) == HNTK_OK, "alloc: %s", hntk_last_error());
    double X[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, Z[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, K[9];
    CHECK(hntk_lazy_sample_ntk_gram(lz, 1, 0, 3, X, Z, K) == HNTK_EINVAL, "B = 3 > batch_cap 2 must be refused");
    CHECK(strstr(hntk_last_error(), "accepted 1..2"), "message names the batch range: %s", hntk_last_error());
    CHECK(hntk_lazy_sample_ntk_gram(lz, 1, 0, 0, X, Z, K) == HNTK_EINVAL, "B = 0 must be refused");
    hntk_lazy_free(lz);
    hntk_lazy_free(NULL);
    /* the Taylor engine needs room for its jets: order 2 sampler, order 3 workspace */
    {
        hntk_hyper_arch t = make_arch(3, 16, 3, 2, 4, 3);
        hntk_taylor_ws *tw = NULL;
        CHECK(hntk_lazy_alloc_taylor(&t, 2, 2, 0, &lz) == HNTK_OK, "alloc order 2: %s", hntk_last_error());
        CHECK(hntk_taylor_ws_alloc(&t, 2, 3, 0, &tw) == HNTK_OK, "ws order 3: %s", hntk_last_error());
        double T[2 * 3];
        CHECK(hntk_taylor_kernels_lazy(lz, tw, 1, 0, 2, X, Z, 1, T) == HNTK_EINVAL, "order 3 jets on an order-2 sampler");
        CHECK(strstr(hntk_last_error(), "up to 2") && strstr(hntk_last_error(), "R = 3"), "message: %s",
              hntk_last_error());
        hntk_lazy_free(lz);
        CHECK(hntk_lazy_alloc_taylor(&t, 2, 65, 0, &lz) == HNTK_EINVAL && !lz, "order 65 refused");
        CHECK(strstr(hntk_last_error(), "accepted 0..64"), "message: %s", hntk_last_error());
        CHECK(hntk_lazy_bytes_taylor(&t, 2, 3) > hntk_lazy_bytes(&t, 2), "room for jets is counted");
        hntk_taylor_ws_free(tw);
        /* a Taylor workspace wider than a dense network can be: sized for the lazy sampler */
        t.f_width = HNTK_MAX_WIDTH + 1;
        CHECK(hntk_taylor_ws_alloc(&t, 2, 3, 1, &tw) == HNTK_EBUDGET && !tw, "wide Taylor workspace: budget");
    }
    /* wide f beyond HNTK_MAX_WIDTH is accepted by the lazy sampler (sizes only) */
    a = make_arch(3, 10000000, 4, 2, 10, 4);
    printf("hntk_lazy_bytes at n = 1e7 (L = 3, H = 2, m = 10, B = 2): %.3f GiB\n",
           hntk_lazy_bytes(&a, 2) / 1073741824.0);
}

int main(void)
{
    hntk_blas_single_thread();
    const char *env = getenv("HNTK_LAZY_TEST_SAMPLES");
    long N = env ? atol(env) : 20000;
    test_errors();
    test_reproducible();
    test_jets_perturbed();
    test_distribution(N);
    test_negative_control(N);
    test_limit();
    return TEST_SUMMARY();
}
