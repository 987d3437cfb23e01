/* test_net.c: forward, gradients and empirical kernels of one sample against
 * independent references: a naive loop implementation of h (docs/theory.md §1),
 * central finite differences, and brute-force explicit gradient vectors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_matrix.h>

#include "hyperntk/hyperntk.h"
#include "testing.h"

#define SQ2 1.41421356237309504880
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static double relu2(double y) { return y > 0 ? SQ2 * y : 0.0; }

/* Naive h(u) for one input, straight from docs/theory.md §1 (no BLAS, no buffers reused). */
static double naive_h(hntk_net *net, const double *x, const double *z)
{
    const hntk_hyper_arch *a = hntk_net_arch(net);
    int L = a->f_depth, H = a->g_depth;
    long P = hntk_f_out_dim(a);
    double *q = malloc(sizeof(double) * 4096), *y = malloc(sizeof(double) * 4096);
    memcpy(q, x, sizeof(double) * (size_t)a->x_dim);
    for (int l = 1; l <= L; l++) {
        long nl = hntk_f_layer_width(a, l), np = hntk_f_layer_width(a, l - 1);
        const double *W = hntk_net_weights(net, l);
        for (long i = 0; i < nl; i++) {
            double s = 0;
            for (long j = 0; j < np; j++) s += W[i * np + j] * q[j];
            y[i] = s / sqrt((double)np);
        }
        for (long i = 0; i < nl; i++) q[i] = l < L ? relu2(y[i]) : y[i];
    }
    /* q now holds v (P) */
    double act[4096], g[4096];
    long m0 = hntk_g_layer_width(a, 0);
    if (a->fourier_k) {
        const double *w = hntk_net_fourier_freqs(net), *b = hntk_net_fourier_phases(net);
        for (long i = 0; i < m0; i++) {
            double t = b[i];
            for (long j = 0; j < a->z_dim; j++) t += w[i * a->z_dim + j] * z[j];
            act[i] = SQ2 * cos(t);
        }
    } else {
        memcpy(act, z, sizeof(double) * (size_t)m0);
    }
    for (int l = 1; l <= H; l++) {
        long ml = hntk_g_layer_width(a, l), mp = hntk_g_layer_width(a, l - 1);
        const double *V = q + hntk_g_chunk_offset(a, l);
        for (long i = 0; i < ml; i++) {
            double s = 0;
            for (long j = 0; j < mp; j++) s += V[i * mp + j] * act[j];
            g[i] = s / sqrt((double)mp);
        }
        for (long i = 0; i < ml; i++) act[i] = l < H ? relu2(g[i]) : g[i];
    }
    (void)P;
    free(q);
    free(y);
    return act[0];
}

/* Explicit gradient vectors (B, N_w): row b is grad_w h(u_b), layer by layer. */
static double *explicit_gradients(hntk_net *net, long B)
{
    const hntk_hyper_arch *a = hntk_net_arch(net);
    long Nw = hntk_param_count(a);
    double *G = malloc(sizeof(double) * (size_t)(B * Nw));
    for (long b = 0; b < B; b++) {
        double *row = G + b * Nw;
        for (int l = 1; l <= a->f_depth; l++) {
            hntk_net_weight_grad(net, b, l, row);
            row += hntk_f_layer_width(a, l) * hntk_f_layer_width(a, l - 1);
        }
    }
    return G;
}

static void random_inputs(double *M, long rows, long dim, uint32_t tensor)
{
    hntk_fill_normal_matrix(99, 0, tensor, 1.0, M, (size_t)rows, (size_t)dim);
}

/* The architectures every check runs on: hypernetworks with and without Fourier
 * features, depth-1 corner cases and the plain MLP. */
static const hntk_hyper_arch ARCHS[] = {
    {.f_depth = 3, .f_width = 7, .x_dim = 3, .g_depth = 3, .g_width = 4, .z_dim = 2},
    {.f_depth = 2, .f_width = 6, .x_dim = 4, .g_depth = 2, .g_width = 5, .z_dim = 3, .fourier_k = 6, .fourier_scale = 0.7},
    {.f_depth = 1, .f_width = 0, .x_dim = 3, .g_depth = 2, .g_width = 3, .z_dim = 2},
    {.f_depth = 4, .f_width = 5, .x_dim = 2, .g_depth = 1, .g_width = 0, .z_dim = 3},
    {.f_depth = 3, .f_width = 8, .x_dim = 3, .g_depth = 1, .g_width = 1, .z_dim = 1}, /* plain MLP */
};
enum { N_ARCHS = sizeof ARCHS / sizeof ARCHS[0] };
enum { B = 4 };

static void check_forward_against_naive(hntk_net *net, const double *X, const double *Z)
{
    const hntk_hyper_arch *a = hntk_net_arch(net);
    double h[B];
    hntk_net_forward(net, B, X, Z, h);
    for (long b = 0; b < B; b++) {
        double want = naive_h(net, X + b * a->x_dim, Z + b * a->z_dim);
        CHECK(fabs(h[b] - want) <= 1e-13 * (fabs(want) + 1e-3), "h[%ld] = %.17g, naive %.17g", b, h[b], want);
    }
}

/* dh/dW^l against central differences of the naive h.  h is a polynomial of degree
 * <= H in each single weight (ReLU masks fixed), so the truncation error is
 * eps^2 |h'''| / 6; eps = 1e-5 bounds it well below the tolerance. */
static void check_gradients_fd(hntk_net *net, const double *X, const double *Z)
{
    const hntk_hyper_arch *a = hntk_net_arch(net);
    const double eps = 1e-5;
    double grad[4096];
    hntk_net_forward(net, B, X, Z, NULL);
    hntk_net_backward(net);
    for (long b = 0; b < B; b += 3) {
        for (int l = 1; l <= a->f_depth; l++) {
            long cnt = hntk_f_layer_width(a, l) * hntk_f_layer_width(a, l - 1);
            hntk_net_weight_grad(net, b, l, grad);
            double *W = hntk_net_weights(net, l);
            for (long k = 0; k < cnt; k += 3) {
                double w0 = W[k];
                W[k] = w0 + eps;
                double hp = naive_h(net, X + b * a->x_dim, Z + b * a->z_dim);
                W[k] = w0 - eps;
                double hm = naive_h(net, X + b * a->x_dim, Z + b * a->z_dim);
                W[k] = w0;
                double fd = (hp - hm) / (2 * eps);
                CHECK(fabs(fd - grad[k]) <= 1e-7 * (fabs(grad[k]) + 1e-2),
                      "layer %d weight %ld input %ld: grad %.12g, finite difference %.12g", l, k, b, grad[k], fd);
            }
        }
    }
}

static void check_gram_against_explicit(hntk_net *net, const double *X, const double *Z)
{
    const hntk_hyper_arch *a = hntk_net_arch(net);
    long Nw = hntk_param_count(a);
    double K[B * B];
    hntk_net_forward(net, B, X, Z, NULL);
    hntk_net_backward(net);
    hntk_net_ntk_gram(net, K);
    double *G = explicit_gradients(net, B);
    for (long i = 0; i < B; i++)
        for (long j = 0; j < B; j++) {
            double want = 0;
            for (long k = 0; k < Nw; k++) want += G[i * Nw + k] * G[j * Nw + k];
            CHECK(testing_rel_err(K[i * B + j], want) < 1e-12, "K^h[%ld][%ld] = %.17g, explicit %.17g (rel %.2g)",
                  i, j, K[i * B + j], want, testing_rel_err(K[i * B + j], want));
        }
    /* positive semi-definite: smallest eigenvalue >= -1e-12 * largest */
    gsl_matrix *M = gsl_matrix_alloc(B, B);
    gsl_vector *ev = gsl_vector_alloc(B);
    gsl_eigen_symm_workspace *ws = gsl_eigen_symm_alloc(B);
    memcpy(M->data, K, sizeof K);
    gsl_eigen_symm(M, ev, ws);
    CHECK(gsl_vector_min(ev) >= -1e-12 * gsl_vector_max(ev), "K^h has eigenvalue %g < 0", gsl_vector_min(ev));
    gsl_eigen_symm_free(ws);
    gsl_vector_free(ev);
    gsl_matrix_free(M);

    /* NNGP term and g-part against their definitions */
    double N[B * B], Cg[B * B];
    const double *h = hntk_net_output(net), *c = hntk_net_dh_dv(net);
    long P = hntk_f_out_dim(a);
    hntk_net_nngp_gram(net, N);
    hntk_net_g_gram(net, Cg);
    for (long i = 0; i < B; i++)
        for (long j = 0; j < B; j++) {
            double cc = 0;
            for (long p = 0; p < P; p++) cc += c[i * P + p] * c[j * P + p];
            CHECK(N[i * B + j] == h[i] * h[j], "NNGP[%ld][%ld]", i, j);
            CHECK(testing_rel_err(Cg[i * B + j], cc) < 1e-13, "c.c'[%ld][%ld] = %g, want %g", i, j, Cg[i * B + j], cc);
        }
    free(G);
}

/* K^f against a Jacobian of v by central differences (v is linear in each single
 * weight while no ReLU flips, so the difference is exact up to rounding), and
 * K^h = c^T K^f c'. */
static void check_fntk(hntk_net *net, const double *X, const double *Z)
{
    const hntk_hyper_arch *a = hntk_net_arch(net);
    long P = hntk_f_out_dim(a), Nw = hntk_param_count(a);
    hntk_fntk_ws *ws;
    CHECK(hntk_fntk_ws_alloc(net, 0, &ws) == HNTK_OK, "fntk workspace: %s", hntk_last_error());
    double *J = calloc((size_t)(2 * P * Nw), sizeof(double)); /* J[i] (P, N_w) for inputs 0 and 1 */
    double *vp = malloc(sizeof(double) * (size_t)(B * P)), *vm = malloc(sizeof(double) * (size_t)(B * P));
    const double eps = 1e-4;
    long col = 0;
    for (int l = 1; l <= a->f_depth; l++) {
        double *W = hntk_net_weights(net, l);
        long cnt = hntk_f_layer_width(a, l) * hntk_f_layer_width(a, l - 1);
        for (long k = 0; k < cnt; k++, col++) {
            double w0 = W[k];
            W[k] = w0 + eps;
            hntk_net_forward(net, B, X, Z, NULL);
            memcpy(vp, hntk_net_f_output(net), sizeof(double) * (size_t)(B * P));
            W[k] = w0 - eps;
            hntk_net_forward(net, B, X, Z, NULL);
            memcpy(vm, hntk_net_f_output(net), sizeof(double) * (size_t)(B * P));
            W[k] = w0;
            for (int i = 0; i < 2; i++)
                for (long p = 0; p < P; p++)
                    J[(i * P + p) * Nw + col] = (vp[i * P + p] - vm[i * P + p]) / (2 * eps);
        }
    }
    hntk_net_forward(net, B, X, Z, NULL);
    hntk_net_backward(net);
    double *Kf = malloc(sizeof(double) * (size_t)(P * P));
    hntk_net_fntk(net, ws, 0, 1, Kf);
    double worst = 0, scale = 0;
    for (long p = 0; p < P; p++)
        for (long q = 0; q < P; q++) {
            double want = 0;
            for (long k = 0; k < Nw; k++) want += J[p * Nw + k] * J[(P + q) * Nw + k];
            worst = fmax(worst, fabs(Kf[p * P + q] - want));
            scale = fmax(scale, fabs(want));
        }
    CHECK(worst <= 1e-9 * scale, "K^f(x0,x1) vs finite-difference Jacobians: max error %.3g (scale %.3g)", worst, scale);
    /* K^h(u0,u1) = c(u0)^T K^f(x0,x1) c(u1) */
    const double *c = hntk_net_dh_dv(net);
    double khc = 0, K[B * B];
    for (long p = 0; p < P; p++)
        for (long q = 0; q < P; q++) khc += c[p] * Kf[p * P + q] * c[P + q];
    hntk_net_ntk_gram(net, K);
    CHECK(testing_rel_err(khc, K[1]) < 1e-12, "c^T K^f c' = %.17g, K^h = %.17g", khc, K[1]);
    double dm, orms;
    hntk_net_fntk_stats(net, ws, 0, 1, &dm, &orms);
    double tr = 0, off = 0;
    for (long p = 0; p < P; p++)
        for (long q = 0; q < P; q++) (p == q ? (tr += Kf[p * P + q]) : (off += Kf[p * P + q] * Kf[p * P + q]));
    CHECK(testing_rel_err(dm, tr / P) < 1e-14, "diag mean %g, want %g", dm, tr / P);
    CHECK(P == 1 ? orms == 0 : testing_rel_err(orms, sqrt(off / (P * (P - 1.0)))) < 1e-14, "off-diag RMS %g", orms);
    free(J);
    free(vp);
    free(vm);
    free(Kf);
    hntk_fntk_ws_free(ws);
}

/* Permuting the inputs permutes the Gram: K(pi X)[i][j] = K(X)[pi i][pi j]. */
static void check_permutation(hntk_net *net, const double *X, const double *Z)
{
    const hntk_hyper_arch *a = hntk_net_arch(net);
    static const long perm[B] = {2, 0, 3, 1};
    double Xp[B * 64], Zp[B * 64], K[B * B], Kp[B * B];
    for (long b = 0; b < B; b++) {
        memcpy(Xp + b * a->x_dim, X + perm[b] * a->x_dim, sizeof(double) * (size_t)a->x_dim);
        memcpy(Zp + b * a->z_dim, Z + perm[b] * a->z_dim, sizeof(double) * (size_t)a->z_dim);
    }
    hntk_net_forward(net, B, X, Z, NULL);
    hntk_net_backward(net);
    hntk_net_ntk_gram(net, K);
    hntk_net_forward(net, B, Xp, Zp, NULL);
    hntk_net_backward(net);
    hntk_net_ntk_gram(net, Kp);
    for (long i = 0; i < B; i++)
        for (long j = 0; j < B; j++)
            CHECK(testing_rel_err(Kp[i * B + j], K[perm[i] * B + perm[j]]) < 1e-13, "permuted K[%ld][%ld]", i, j);
}

/* The same sample gives the same weights whatever else was sampled before. */
static void check_weights_reproducible(const hntk_hyper_arch *a)
{
    hntk_net *n1, *n2;
    hntk_net_alloc(a, B, 0, &n1);
    hntk_net_alloc(a, 1, 0, &n2);
    hntk_net_sample_weights(n1, 5, 17);
    hntk_net_sample_weights(n2, 5, 3);
    hntk_net_sample_weights(n2, 5, 17);
    int same = 1;
    for (int l = 1; l <= a->f_depth; l++) {
        size_t cnt = (size_t)(hntk_f_layer_width(a, l) * hntk_f_layer_width(a, l - 1));
        same &= !memcmp(hntk_net_weights(n1, l), hntk_net_weights(n2, l), cnt * sizeof(double));
    }
    CHECK(same, "weights of (seed 5, sample 17) differ between two networks");
    hntk_net_sample_weights(n2, 5, 18);
    CHECK(memcmp(hntk_net_weights(n1, 1), hntk_net_weights(n2, 1), sizeof(double)) != 0,
          "samples 17 and 18 have the same first weight");
    hntk_net_free(n1);
    hntk_net_free(n2);
}

static void check_mlp_is_special_case(void)
{
    /* With g_depth = 1, z = 1: h(x) = v(x), the MLP output, and c = 1, so K^h is the MLP NTK. */
    hntk_hyper_arch a = hntk_mlp_arch(3, 8, 3);
    CHECK(hntk_f_out_dim(&a) == 1, "MLP output dimension %ld", hntk_f_out_dim(&a));
    hntk_net *net;
    CHECK(hntk_net_alloc(&a, B, 0, &net) == HNTK_OK, "MLP alloc: %s", hntk_last_error());
    double X[B * 3], Z[B] = {1, 1, 1, 1};
    random_inputs(X, B, 3, 7);
    hntk_net_sample_weights(net, 11, 0);
    hntk_net_forward(net, B, X, Z, NULL);
    hntk_net_backward(net);
    const double *v = hntk_net_f_output(net), *h = hntk_net_output(net), *c = hntk_net_dh_dv(net);
    for (long b = 0; b < B; b++) {
        CHECK(h[b] == v[b], "MLP h[%ld] = %g but v = %g", b, h[b], v[b]);
        CHECK(c[b] == 1.0, "MLP c[%ld] = %g, want 1", b, c[b]);
    }
    hntk_net_free(net);
}

static void check_validation(void)
{
    hntk_hyper_arch good = ARCHS[0], a;
    hntk_net *net = (hntk_net *)&good;
#define EXPECT_REJECT(field, value, status)                                                           \
    do {                                                                                              \
        a = good;                                                                                     \
        a.field = value;                                                                              \
        int st_ = hntk_net_alloc(&a, B, 0, &net);                                                     \
        CHECK(st_ == status && net == NULL && strstr(hntk_last_error(), #field),                      \
              "%s = %g: status %d, message '%s'", #field, (double)(value), st_, hntk_last_error());   \
    } while (0)
    EXPECT_REJECT(f_depth, 0, HNTK_EINVAL);
    EXPECT_REJECT(f_depth, HNTK_MAX_DEPTH + 1, HNTK_EINVAL);
    EXPECT_REJECT(g_depth, 0, HNTK_EINVAL);
    EXPECT_REJECT(f_width, 0, HNTK_EINVAL);
    EXPECT_REJECT(f_width, -5, HNTK_EINVAL);
    EXPECT_REJECT(g_width, 0, HNTK_EINVAL);
    EXPECT_REJECT(x_dim, 0, HNTK_EINVAL);
    EXPECT_REJECT(z_dim, -1, HNTK_EINVAL);
    EXPECT_REJECT(fourier_k, -2, HNTK_EINVAL);
    a = good;
    a.fourier_k = 4;
    a.fourier_scale = 0;
    CHECK(hntk_net_alloc(&a, B, 0, &net) == HNTK_EINVAL && strstr(hntk_last_error(), "fourier_scale"),
          "fourier_scale 0 accepted: %s", hntk_last_error());
    CHECK(hntk_net_alloc(&good, 0, 0, &net) == HNTK_EINVAL && strstr(hntk_last_error(), "batch"),
          "batch 0 accepted: %s", hntk_last_error());
    a = good;
    a.f_width = 100000;
    CHECK(hntk_net_alloc(&a, B, (size_t)1 << 30, &net) == HNTK_EBUDGET && net == NULL &&
              strstr(hntk_last_error(), "budget"),
          "a 80 GB network fits a 1 GiB budget? %s", hntk_last_error());
    a = good;
    a.g_depth = 3;
    a.g_width = 1L << 20; /* P = 2^40 + ... does not fit a BLAS int */
    CHECK(hntk_net_alloc(&a, B, 0, &net) == HNTK_EINVAL && strstr(hntk_last_error(), "P ="),
          "huge P accepted: %s", hntk_last_error());
    CHECK(hntk_net_alloc(&good, B, 0, &net) == HNTK_OK, "valid architecture rejected: %s", hntk_last_error());
    CHECK(hntk_net_forward(net, B + 1, NULL, NULL, NULL) == HNTK_EINVAL, "batch over capacity accepted");
    hntk_net_free(net);
    hntk_net_free(NULL);
}

/* ---- Fourier features fixed for a run (hntk_fourier_draw, hntk_net_fix_fourier) ---- */

static void check_fixed_fourier(void)
{
    const hntk_hyper_arch a = ARCHS[1]; /* Fourier, k = 6 */
    long k = a.fourier_k, zd = a.z_dim;
    hntk_net *n1, *n2;
    CHECK(hntk_net_alloc(&a, B, 0, &n1) == HNTK_OK && hntk_net_alloc(&a, B, 0, &n2) == HNTK_OK, "alloc: %s",
          hntk_last_error());
    double freq[64], phase[16], f2[64], p2[16];
    /* hntk_fourier_draw gives exactly the per-sample features of that sample */
    hntk_net_sample_weights(n1, 77, 5);
    hntk_fourier_draw(&a, 77, 5, freq, phase);
    CHECK(!memcmp(freq, hntk_net_fourier_freqs(n1), sizeof(double) * (size_t)(k * zd)) &&
              !memcmp(phase, hntk_net_fourier_phases(n1), sizeof(double) * (size_t)k),
          "hntk_fourier_draw differs from the features hntk_net_sample_weights draws");
    int in_range = 1;
    for (long i = 0; i < k; i++) in_range &= phase[i] >= -M_PI && phase[i] <= M_PI;
    CHECK(in_range, "phases outside [-pi, pi]");
    /* fixed: sampling redraws f's weights (the same as per sample) but not the features */
    hntk_fourier_draw(&a, 77, HNTK_FOURIER_RUN_SAMPLE, f2, p2);
    CHECK(memcmp(f2, freq, sizeof(double) * (size_t)(k * zd)) != 0, "the run-level stream equals sample 5's");
    CHECK(hntk_net_fix_fourier(n2, f2, p2) == HNTK_OK && hntk_net_fourier_fixed(n2), "fix: %s", hntk_last_error());
    hntk_net_sample_weights(n2, 77, 5);
    CHECK(!memcmp(f2, hntk_net_fourier_freqs(n2), sizeof(double) * (size_t)(k * zd)) &&
              !memcmp(p2, hntk_net_fourier_phases(n2), sizeof(double) * (size_t)k),
          "fixed features were redrawn by hntk_net_sample_weights");
    int same_w = 1;
    for (int l = 1; l <= a.f_depth; l++)
        same_w &= !memcmp(hntk_net_weights(n1, l), hntk_net_weights(n2, l),
                          sizeof(double) * (size_t)(hntk_f_layer_width(&a, l) * hntk_f_layer_width(&a, l - 1)));
    CHECK(same_w, "f's weights of a sample depend on whether the features are fixed");
    CHECK(hntk_net_fix_fourier(n2, NULL, NULL) == HNTK_OK && !hntk_net_fourier_fixed(n2), "unfix");
    hntk_net_sample_weights(n2, 77, 5);
    CHECK(!memcmp(freq, hntk_net_fourier_freqs(n2), sizeof(double) * (size_t)(k * zd)),
          "after unfixing, the features are not the per-sample ones");
    CHECK(hntk_net_fix_fourier(n2, f2, NULL) == HNTK_EINVAL, "freq without phase accepted");
    hntk_net *plain;
    hntk_net_alloc(&ARCHS[0], B, 0, &plain);
    CHECK(hntk_net_fix_fourier(plain, f2, p2) == HNTK_EINVAL && strstr(hntk_last_error(), "fourier_k = 0"),
          "fixing features of a network without them: %s", hntk_last_error());
    hntk_net_free(plain);
    hntk_net_free(n1);
    hntk_net_free(n2);
}

/* With features fixed, the Monte Carlo mean of K^h over f's initializations at
 * large widths lands on the limit for the drawn features (analytic (a)), not
 * on the k -> infinity limit, which at k = 2 is several percent away. */
static void check_fixed_fourier_mc_mean(void)
{
    enum { NB = 3, N = 600 };
    const hntk_hyper_arch a = {.f_depth = 2, .f_width = 1024, .x_dim = 2, .g_depth = 2, .g_width = 512, .z_dim = 2,
                               .fourier_k = 2, .fourier_scale = 1.0};
    double X[NB * 2], Z[NB * 2], freq[4], phase[2], phi[NB * 2], shat[NB * NB], drawn[NB * NB], inf[NB * NB];
    random_inputs(X, NB, 2, 40);
    random_inputs(Z, NB, 2, 41);
    hntk_fourier_draw(&a, 11, HNTK_FOURIER_RUN_SAMPLE, freq, phase);
    hntk_fourier_features(2, 2, freq, phase, NB, Z, phi);
    hntk_fourier_feature_gram(2, NB, phi, shat);
    CHECK(hntk_limit_batch_zgram(&a, HNTK_VARIANT_PAPER, NB, X, shat, drawn, NULL) == HNTK_OK, "zgram: %s",
          hntk_last_error());
    CHECK(hntk_limit_batch(&a, HNTK_VARIANT_PAPER, NB, X, Z, inf, NULL) == HNTK_OK, "batch: %s", hntk_last_error());
    hntk_net *net;
    CHECK(hntk_net_alloc(&a, NB, 0, &net) == HNTK_OK, "alloc: %s", hntk_last_error());
    hntk_net_fix_fourier(net, freq, phase);
    double K[NB * NB], mean[NB * NB] = {0}, m2[NB * NB] = {0};
    for (long s = 0; s < N; s++) {
        hntk_net_sample_ntk_gram(net, 11, (uint32_t)s, NB, X, Z, K);
        for (int e = 0; e < NB * NB; e++) {
            double d = K[e] - mean[e];
            mean[e] += d / (double)(s + 1);
            m2[e] += d * (K[e] - mean[e]);
        }
    }
    double zmax = 0.0, zinf = 0.0;
    for (int i = 0; i < NB; i++)
        for (int j = i; j < NB; j++) {
            int e = i * NB + j;
            double se = sqrt(m2[e] / (double)(N - 1) / (double)N);
            double z = (mean[e] - drawn[e]) / se, zi = (mean[e] - inf[e]) / se;
            if (fabs(z) > zmax) zmax = fabs(z);
            if (fabs(zi) > zinf) zinf = fabs(zi);
            printf("fixed features, K^h[%d][%d]: mean %.5f +- %.5f, drawn-features limit %.5f (z %.2f), "
                   "k -> inf limit %.5f (z %.2f)\n", i, j, mean[e], se, drawn[e], z, inf[e], zi);
        }
    CHECK(zmax < 4.0, "the mean with fixed features is %.2f standard errors from the drawn-features limit", zmax);
    CHECK(zinf > 4.0, "at k = 2 the mean should be far from the k -> infinity limit (max |z| %.2f): the test "
                      "cannot tell the two limits apart", zinf);
    hntk_net_free(net);
}

int main(void)
{
    hntk_blas_single_thread();
    for (int k = 0; k < N_ARCHS; k++) {
        const hntk_hyper_arch *a = &ARCHS[k];
        hntk_net *net;
        int st = hntk_net_alloc(a, B, 0, &net);
        CHECK(st == HNTK_OK, "arch %d: %s", k, hntk_last_error());
        if (st) continue;
        double X[B * 64], Z[B * 64];
        random_inputs(X, B, a->x_dim, 10 + 2 * k);
        random_inputs(Z, B, a->z_dim, 11 + 2 * k);
        if (a->z_dim == 1)
            for (long b = 0; b < B; b++) Z[b] = 1.0;
        hntk_net_sample_weights(net, 2024, (uint32_t)k);
        check_forward_against_naive(net, X, Z);
        check_gradients_fd(net, X, Z);
        check_gram_against_explicit(net, X, Z);
        check_fntk(net, X, Z);
        check_permutation(net, X, Z);
        check_weights_reproducible(a);
        hntk_net_free(net);
    }
    check_mlp_is_special_case();
    check_validation();
    check_fixed_fourier();
    check_fixed_fourier_mc_mean();
    return TEST_SUMMARY();
}
