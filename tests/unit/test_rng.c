/* test_rng.c: Philox streams and the ziggurat (src/rng.c).
 *
 * Every seed is fixed, so every statistic below is a fixed number and the test
 * is deterministic: a threshold such as "p > 1e-3" is not a flaky 1-in-1000
 * event but a fixed check that the current generator passes and that a broken
 * one (a wrong table entry, a biased bit, a wrong tail) fails.  About 3 s.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <Random123/philox.h>
#include <gsl/gsl_cdf.h>

#include "hyperntk/rng.h"
#include "testing.h"

/* ---- helpers ---- */

/* Kolmogorov-Smirnov p-value of statistic D for n samples (Stephens 1970:
 * t = D (sqrt(n) + 0.12 + 0.11/sqrt(n)), P = 2 sum (-1)^(k-1) exp(-2 k^2 t^2)). */
static double ks_pvalue(double D, size_t n)
{
    double sn = sqrt((double)n), t = D * (sn + 0.12 + 0.11 / sn), p = 0.0;
    if (t < 0.2) return 1.0;
    for (int k = 1; k <= 100; k++) {
        double term = exp(-2.0 * k * k * t * t);
        p += (k % 2 ? 2.0 : -2.0) * term;
        if (term < 1e-18) break;
    }
    return p < 0 ? 0 : p > 1 ? 1 : p;
}

/* D = sup |F_n - F| of sorted x[0..n) against the CDF cdf. */
static double ks_statistic(const double *x, size_t n, double (*cdf)(double, void *), void *arg)
{
    double D = 0.0;
    for (size_t i = 0; i < n; i++) {
        double F = cdf(x[i], arg);
        double lo = F - (double)i / (double)n, hi = (double)(i + 1) / (double)n - F;
        if (lo > D) D = lo;
        if (hi > D) D = hi;
    }
    return D;
}

static double cdf_normal(double x, void *arg)
{
    (void)arg;
    return gsl_cdf_ugaussian_P(x);
}

static double cdf_uniform(double x, void *arg)
{
    (void)arg;
    return x;
}

/* |x| given |x| > R: P(|x| <= t | |x| > R) = 1 - Q(t)/Q(R). */
static double cdf_tail(double t, void *arg)
{
    double R = *(const double *)arg;
    return 1.0 - gsl_cdf_ugaussian_Q(t) / gsl_cdf_ugaussian_Q(R);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- Philox itself ---- */

/* Random123 tests/kat_vectors, the three "philox4x32 10" lines:
 * ctr[4] key[2] -> out[4]. */
static const uint32_t kat[3][10] = {
    {0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c,
     0x9b00dbd8},
    {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
     0x6d5451fd},
    {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
     0x24126ea1},
};

/* A stream positioned at block ctr[0] of the counter ctr (the fields are public). */
static void stream_at(hntk_stream *s, const uint32_t ctr[4], const uint32_t key[2])
{
    hntk_stream_init(s, (uint64_t)key[1] << 32 | key[0], ctr[3], ctr[2], ctr[1]);
    s->ctr[0] = ctr[0];
}

static void test_philox_kat(void)
{
    for (int v = 0; v < 3; v++) {
        const uint32_t *c = kat[v], *k = kat[v] + 4, *want = kat[v] + 6;
        philox4x32_ctr_t ctr = {{c[0], c[1], c[2], c[3]}};
        philox4x32_key_t key = {{k[0], k[1]}};
        philox4x32_ctr_t r = philox4x32_R(10, ctr, key);
        CHECK(!memcmp(r.v, want, 16), "Random123 philox4x32_R(10) KAT %d: got %08x %08x %08x %08x", v, r.v[0],
              r.v[1], r.v[2], r.v[3]);

        /* the stream: draws are (w0 | w1 << 32), (w2 | w3 << 32) */
        hntk_stream s;
        stream_at(&s, c, k);
        uint64_t a = hntk_stream_u64(&s), b = hntk_stream_u64(&s);
        CHECK(a == ((uint64_t)want[1] << 32 | want[0]) && b == ((uint64_t)want[3] << 32 | want[2]),
              "stream KAT %d: draws %016llx %016llx", v, (unsigned long long)a, (unsigned long long)b);

        /* the bulk path at every SIMD level: uniform = (draw >> 11) 2^-53 */
        for (int level = HNTK_RNG_SIMD_NONE; level <= HNTK_RNG_SIMD_AVX512; level++) {
            hntk_rng_set_simd(level);
            double u[40];
            stream_at(&s, c, k);
            hntk_stream_uniforms(&s, u, 40);
            uint64_t first = (uint64_t)want[1] << 32 | want[0];
            CHECK(u[0] == (double)(first >> 11) * 0x1p-53, "bulk KAT %d at SIMD level %d: u[0] = %.17g", v, level,
                  u[0]);
        }
    }
    hntk_rng_set_simd(HNTK_RNG_SIMD_AVX512);
    /* the key is the seed, low word first */
    hntk_stream s;
    hntk_stream_init(&s, 0, 0, 0, 0);
    CHECK(hntk_stream_u64(&s) == UINT64_C(0xe169c58d6627e8d5), "stream (0,0,0,0) must start with KAT 0");
}

/* Every SIMD level against Random123, through the bulk uniforms (53 bits of
 * each draw) and normals (the low bits: layer and sign), including a block
 * counter that wraps around 2^32. */
static void test_simd_levels(void)
{
    enum { N = 3000 };
    static double ref_u[N], ref_z[N], u[N], z[N];
    const uint32_t starts[3] = {0, 12345, 0xfffffff0u};
    for (int t = 0; t < 3; t++) {
        uint32_t ctr[4] = {starts[t], 7u + (uint32_t)t, 3, 0x80000001u}, key[2] = {0xdeadbeef, 0x01234567u * (uint32_t)t};
        hntk_stream s;
        stream_at(&s, ctr, key);
        for (int i = 0; i < N; i++) ref_u[i] = (double)(hntk_stream_u64(&s) >> 11) * 0x1p-53;
        hntk_rng_set_simd(HNTK_RNG_SIMD_NONE);
        stream_at(&s, ctr, key);
        hntk_stream_normals(&s, ref_z, N);
        for (int level = HNTK_RNG_SIMD_NONE; level <= HNTK_RNG_SIMD_AVX512; level++) {
            int got = hntk_rng_set_simd(level);
            CHECK(got >= HNTK_RNG_SIMD_NONE && got <= level, "hntk_rng_set_simd(%d) = %d", level, got);
            stream_at(&s, ctr, key);
            hntk_stream_uniforms(&s, u, N);
            CHECK(!memcmp(u, ref_u, sizeof u), "uniforms at SIMD level %d (start block %08x) differ from Random123",
                  got, starts[t]);
            stream_at(&s, ctr, key);
            hntk_stream_normals(&s, z, N);
            CHECK(!memcmp(z, ref_z, sizeof z), "normals at SIMD level %d (start block %08x) differ from level 0",
                  got, starts[t]);
        }
    }
    hntk_rng_set_simd(HNTK_RNG_SIMD_AVX512);
    printf("SIMD level in use: %d (0 none, 1 AVX2, 2 AVX-512)\n", hntk_rng_simd());
}

/* ---- determinism and stream addressing ---- */

static void test_determinism(void)
{
    enum { N = 1000 };
    static double a[N], b[N];
    hntk_stream s, t;

    hntk_stream_init(&s, 42, 1, 2, 3);
    hntk_stream_init(&t, 42, 1, 2, 3);
    hntk_stream_normals(&s, a, N);
    hntk_stream_normals(&t, b, N);
    CHECK(!memcmp(a, b, sizeof a), "same stream, different values");

    /* any change of seed (either half), sample, tensor or row changes the stream */
    const uint64_t seeds[5] = {42, 43, 42 + (UINT64_C(1) << 32), 42, 42};
    const uint32_t ids[5][3] = {{1, 2, 3}, {1, 2, 3}, {1, 2, 3}, {2, 2, 3}, {1, 3, 3}};
    for (int v = 1; v < 5; v++) {
        hntk_stream_init(&t, seeds[v], ids[v][0], ids[v][1], ids[v][2]);
        hntk_stream_normals(&t, b, N);
        int same = 0;
        for (int i = 0; i < N; i++) same += a[i] == b[i];
        CHECK(same == 0, "variant %d of (seed, sample, tensor, row) shares %d of %d values", v, same, N);
    }
    hntk_stream_init(&t, 42, 1, 2, 4);
    hntk_stream_normals(&t, b, N);
    CHECK(memcmp(a, b, sizeof a) != 0, "rows 3 and 4 give the same values");

    /* n = 0 reads nothing */
    hntk_stream_init(&s, 42, 1, 2, 3);
    hntk_stream_normals(&s, a, 0);
    hntk_stream_uniforms(&s, a, 0);
    hntk_stream_init(&t, 42, 1, 2, 3);
    CHECK(hntk_stream_u64(&s) == hntk_stream_u64(&t), "reading 0 values moved the stream");
}

/* Reading a row in two chunks equals reading it at once, and leaves the stream
 * at the same place; also with u64 and uniform reads interleaved. */
static void test_chunks(void)
{
    enum { N = 1000 };
    static double whole[N], part[N];
    const size_t splits[] = {0, 1, 2, 3, 7, 31, 32, 33, 63, 64, 65, 127, 128, 129, 500, 999, 1000};
    hntk_stream s, t;
    for (size_t k = 0; k < sizeof splits / sizeof splits[0]; k++) {
        size_t n1 = splits[k];
        hntk_stream_init(&s, 7, 0, 1, 11);
        hntk_stream_normals(&s, whole, N);
        hntk_stream_init(&t, 7, 0, 1, 11);
        hntk_stream_normals(&t, part, n1);
        hntk_stream_normals(&t, part + n1, N - n1);
        CHECK(!memcmp(whole, part, sizeof whole), "normals %zu + %zu differ from %d at once", n1, N - n1, N);
        CHECK(hntk_stream_u64(&s) == hntk_stream_u64(&t), "after normals %zu + %zu the stream is elsewhere", n1,
              N - n1);

        hntk_stream_init(&s, 7, 0, 1, 11);
        hntk_stream_uniforms(&s, whole, N);
        hntk_stream_init(&t, 7, 0, 1, 11);
        hntk_stream_uniforms(&t, part, n1);
        hntk_stream_uniforms(&t, part + n1, N - n1);
        CHECK(!memcmp(whole, part, sizeof whole), "uniforms %zu + %zu differ from %d at once", n1, N - n1, N);
    }

    /* one value at a time, mixing kinds, equals the same sequence read in bulk */
    hntk_stream_init(&s, 9, 5, 6, 7);
    hntk_stream_init(&t, 9, 5, 6, 7);
    double x[3][100], y[3][100];
    uint64_t us[3], ut[3];
    for (int r = 0; r < 3; r++) {
        hntk_stream_normals(&s, x[r], 100);
        for (int i = 0; i < 100; i++) hntk_stream_normals(&t, &y[r][i], 1);
        us[r] = hntk_stream_u64(&s);
        ut[r] = hntk_stream_u64(&t);
    }
    hntk_stream_uniforms(&s, x[0], 5);
    for (int i = 0; i < 5; i++) hntk_stream_uniforms(&t, &y[0][i], 1);
    CHECK(!memcmp(x, y, sizeof x) && !memcmp(us, ut, sizeof us), "one-at-a-time reads differ from bulk reads");
}

static void test_fill_matrix(void)
{
    enum { ROWS = 37, COLS = 301 };
    static double M[ROWS * COLS], row[COLS];
    const double scale = 0.37;
    hntk_fill_normal_matrix(5, 17, HNTK_TENSOR_FOURIER_W, scale, M, ROWS, COLS);
    int bad = 0;
    for (int r = 0; r < ROWS; r++) {
        hntk_stream s;
        hntk_stream_init(&s, 5, 17, HNTK_TENSOR_FOURIER_W, (uint32_t)r);
        hntk_stream_normals(&s, row, COLS);
        for (int c = 0; c < COLS; c++) bad += M[r * COLS + c] != row[c] * scale;
    }
    CHECK(bad == 0, "fill_normal_matrix: %d entries differ from scale * stream (seed, sample, tensor, row)", bad);

    /* rows 0 and cols 0 write nothing */
    M[0] = 123.0;
    hntk_fill_normal_matrix(5, 17, 1, 1.0, M, 0, COLS);
    hntk_fill_normal_matrix(5, 17, 1, 1.0, M, ROWS, 0);
    CHECK(M[0] == 123.0, "an empty fill wrote to M");
}

/* Fixed values of the stream layout documented in rng.h.  If the layout is
 * changed on purpose, update them and say so: old results are then not
 * reproducible bit for bit. */
static void test_frozen_values(void)
{
    /* stream (seed 1, sample 0, tensor 1, row 0): 4 normals, then 2 uniforms */
    static const double want[6] = {0x1.6155d7086f02p-1, 0x1.a6c20b7228794p-1, -0x1.c73e780a22b2ap+0,
                                   -0x1.862123efbaf23p-2, 0x1.537177d0fa694p-1, 0x1.7d9926cbdd21p-3};
    double z[6];
    hntk_stream s;
    hntk_stream_init(&s, 1, 0, 1, 0);
    hntk_stream_normals(&s, z, 4);
    hntk_stream_uniforms(&s, z + 4, 2);
    for (int i = 0; i < 6; i++) CHECK(z[i] == want[i], "frozen value %d: got %a, want %a", i, z[i], want[i]);
}

/* ---- distribution ---- */

static void test_ziggurat_tables(void)
{
    double err = hntk_rng_ziggurat_check();
    printf("ziggurat tables: largest relative deviation from their definitions %.3g\n", err);
    CHECK(err < 1e-12, "ziggurat tables deviate from their definitions by %.3g (relative)", err);
}

enum { BIG_ROWS = 1000, BIG_COLS = 1000, BIG_MATS = 50 }; /* 5e7 normals */
enum { CHI_BINS = 50 };

/* Moments, tail fractions, equiprobable-bin chi-square, lag-1 and row-to-row
 * correlation over 5e7 normals; KS on the first 1e7, and KS of |x| beyond R
 * against the conditional tail law. */
static void test_normal_distribution(void)
{
    const size_t n_mat = (size_t)BIG_ROWS * BIG_COLS, n = n_mat * BIG_MATS;
    double *M = malloc(sizeof(double) * n_mat);
    size_t ks_n = 10 * n_mat;
    double *ks = malloc(sizeof(double) * ks_n);
    double *tail = malloc(sizeof(double) * 100000);
    if (!M || !ks || !tail) {
        CHECK(0, "out of memory");
        free(M), free(ks), free(tail);
        return;
    }
    double edges[CHI_BINS - 1];
    for (int b = 0; b < CHI_BINS - 1; b++) edges[b] = gsl_cdf_ugaussian_Pinv((b + 1.0) / CHI_BINS);
    const double R = 3.6541528853610088; /* the ziggurat's tail start */
    long count[CHI_BINS] = {0}, beyond35 = 0, beyond45 = 0;
    size_t n_tail = 0;
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0, lag = 0, rows = 0;

    for (int k = 0; k < BIG_MATS; k++) {
        hntk_fill_normal_matrix(2024, (uint32_t)k, 1, 1.0, M, BIG_ROWS, BIG_COLS);
        if ((size_t)k * n_mat < ks_n) memcpy(ks + (size_t)k * n_mat, M, sizeof(double) * n_mat);
        for (size_t i = 0; i < n_mat; i++) {
            double x = M[i], x2 = x * x;
            s1 += x;
            s2 += x2;
            s3 += x2 * x;
            s4 += x2 * x2;
            if (i % BIG_COLS) lag += x * M[i - 1];
            if (i >= BIG_COLS) rows += x * M[i - BIG_COLS];
            double a = fabs(x);
            beyond35 += a > 3.5;
            beyond45 += a > 4.5;
            if (a > R && n_tail < 100000) tail[n_tail++] = a;
            int lo = 0, hi = CHI_BINS - 1; /* bin = number of edges below x */
            while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (x < edges[mid]) hi = mid;
                else lo = mid + 1;
            }
            count[lo]++;
        }
    }
    double dn = (double)n, mean = s1 / dn, var = s2 / dn - mean * mean;
    double m3 = s3 / dn - 3 * mean * s2 / dn + 2 * mean * mean * mean;
    double m4 = s4 / dn - 4 * mean * s3 / dn + 6 * mean * mean * s2 / dn - 3 * mean * mean * mean * mean;
    double skew = m3 / pow(var, 1.5), kurt = m4 / (var * var);
    /* standard errors under N(0,1): 1, sqrt(2), sqrt(6), sqrt(24) over sqrt(n) */
    double se = 1.0 / sqrt(dn);
    printf("normals: n = %zu, mean %.3g, var - 1 %.3g, skew %.3g, kurt - 3 %.3g (in SE: %.2f %.2f %.2f %.2f)\n", n,
           mean, var - 1, skew, kurt - 3, mean / se, (var - 1) / (sqrt(2) * se), skew / (sqrt(6) * se),
           (kurt - 3) / (sqrt(24) * se));
    CHECK(fabs(mean) < 4 * se, "mean %.3g is beyond 4 SE (%.3g)", mean, 4 * se);
    CHECK(fabs(var - 1) < 4 * sqrt(2) * se, "variance %.6f is beyond 4 SE of 1", var);
    CHECK(fabs(skew) < 4 * sqrt(6) * se, "skewness %.3g is beyond 4 SE of 0", skew);
    CHECK(fabs(kurt - 3) < 4 * sqrt(24) * se, "kurtosis %.6f is beyond 4 SE of 3", kurt);

    /* correlations: lag 1 within a row, and the same column of adjacent rows */
    double n_lag = (double)BIG_MATS * BIG_ROWS * (BIG_COLS - 1), n_rows = (double)BIG_MATS * (BIG_ROWS - 1) * BIG_COLS;
    double c_lag = lag / n_lag, c_rows = rows / n_rows;
    printf("normals: lag-1 correlation %.3g, adjacent-row correlation %.3g (SE %.2g)\n", c_lag, c_rows,
           1 / sqrt(n_lag));
    CHECK(fabs(c_lag) < 4 / sqrt(n_lag), "lag-1 correlation %.3g is beyond 4 SE", c_lag);
    CHECK(fabs(c_rows) < 4 / sqrt(n_rows), "adjacent-row correlation %.3g is beyond 4 SE", c_rows);

    /* tails: binomial counts against 2 Q(t) */
    const double ts[2] = {3.5, 4.5};
    const long got[2] = {beyond35, beyond45};
    for (int t = 0; t < 2; t++) {
        double p = 2 * gsl_cdf_ugaussian_Q(ts[t]), want = dn * p, sd = sqrt(dn * p * (1 - p));
        printf("normals: |x| > %.1f: %ld, expected %.1f +- %.1f (%.2f SE)\n", ts[t], got[t], want, sd,
               (got[t] - want) / sd);
        CHECK(fabs(got[t] - want) < 4 * sd, "|x| > %.1f: %ld, expected %.1f +- %.1f", ts[t], got[t], want, sd);
    }

    /* chi-square over equiprobable bins */
    double chi2 = 0, e = dn / CHI_BINS;
    for (int b = 0; b < CHI_BINS; b++) chi2 += (count[b] - e) * (count[b] - e) / e;
    double p_chi = gsl_cdf_chisq_Q(chi2, CHI_BINS - 1);
    printf("normals: chi-square %.1f on %d df, p = %.3g\n", chi2, CHI_BINS - 1, p_chi);
    CHECK(p_chi > 1e-3, "chi-square %.1f on %d bins: p = %.3g <= 1e-3", chi2, CHI_BINS, p_chi);

    /* KS on 1e7 normals (sorting 1e7 doubles is most of this test's time) */
    qsort(ks, ks_n, sizeof(double), cmp_double);
    double D = ks_statistic(ks, ks_n, cdf_normal, NULL), p_ks = ks_pvalue(D, ks_n);
    printf("normals: KS D = %.3g on n = %zu, p = %.3g\n", D, ks_n, p_ks);
    CHECK(p_ks > 1e-3, "KS against N(0,1): D = %.3g, p = %.3g <= 1e-3", D, p_ks);

    /* the tail algorithm: |x| beyond R against P(|x| <= t | |x| > R) */
    qsort(tail, n_tail, sizeof(double), cmp_double);
    double Rv = R;
    double Dt = ks_statistic(tail, n_tail, cdf_tail, &Rv), p_tail = ks_pvalue(Dt, n_tail);
    double want_tail = dn * 2 * gsl_cdf_ugaussian_Q(R);
    printf("normals: %zu beyond R = %.4f (expected %.0f), tail KS D = %.3g, p = %.3g\n", n_tail, R, want_tail, Dt,
           p_tail);
    CHECK(n_tail > 1000 && p_tail > 1e-3, "tail beyond R: n = %zu, KS p = %.3g <= 1e-3", n_tail, p_tail);
    free(M);
    free(ks);
    free(tail);
}

static void test_uniforms(void)
{
    enum { N = 10000000 };
    double *u = malloc(sizeof(double) * N);
    if (!u) {
        CHECK(0, "out of memory");
        return;
    }
    hntk_stream s;
    hntk_stream_init(&s, 99, 3, 1000, 0);
    hntk_stream_uniforms(&s, u, N);
    size_t outside = 0;
    double sum = 0, sum2 = 0;
    for (size_t i = 0; i < N; i++) {
        outside += !(u[i] > 0.0 && u[i] < 1.0);
        sum += u[i];
        sum2 += (u[i] - 0.5) * (u[i] - 0.5);
    }
    double mean = sum / N, var = sum2 / N, se = sqrt(1.0 / 12.0 / N);
    printf("uniforms: n = %d, mean - 1/2 = %.3g (%.2f SE), var - 1/12 = %.3g\n", N, mean - 0.5, (mean - 0.5) / se,
           var - 1.0 / 12);
    CHECK(outside == 0, "%zu uniforms outside the open interval (0,1)", outside);
    CHECK(fabs(mean - 0.5) < 4 * se, "uniform mean %.8f is beyond 4 SE of 1/2", mean);
    /* var of (u - 1/2)^2 is 1/80 - 1/144 = 1/180 */
    CHECK(fabs(var - 1.0 / 12) < 4 * sqrt(1.0 / 180 / N), "uniform variance %.8f is beyond 4 SE of 1/12", var);
    qsort(u, N, sizeof(double), cmp_double);
    double D = ks_statistic(u, N, cdf_uniform, NULL), p = ks_pvalue(D, N);
    printf("uniforms: KS D = %.3g, p = %.3g\n", D, p);
    CHECK(p > 1e-3, "KS against U(0,1): D = %.3g, p = %.3g <= 1e-3", D, p);
    free(u);
}

/* The statistical helpers must be able to fail: a shifted sample is rejected. */
static void test_helpers_reject(void)
{
    enum { N = 100000 };
    static double x[N];
    hntk_stream s;
    hntk_stream_init(&s, 1, 2, 3, 4);
    hntk_stream_normals(&s, x, N);
    for (int i = 0; i < N; i++) x[i] = x[i] * 1.05; /* 5% too wide */
    qsort(x, N, sizeof(double), cmp_double);
    double p = ks_pvalue(ks_statistic(x, N, cdf_normal, NULL), N);
    CHECK(p < 1e-3, "KS accepts N(0, 1.05^2) on 1e5 samples as N(0,1): p = %.3g", p);
}

int main(void)
{
    test_philox_kat();
    test_simd_levels();
    test_determinism();
    test_chunks();
    test_fill_matrix();
    test_frozen_values();
    test_ziggurat_tables();
    test_normal_distribution();
    test_uniforms();
    test_helpers_reject();
    return TEST_SUMMARY();
}
