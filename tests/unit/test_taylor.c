/* test_taylor.c: the Taylor-mode K^(r) engine against independent references:
 *  - K^(1) against the core library's empirical hyperkernel (hntk_net_ntk_gram);
 *  - the Taylor polynomial against h(u_i; w + t v) evaluated directly, on an
 *    explicitly perturbed copy of the weights, for small t where no ReLU flips;
 *  - K^(r) = 0 exactly for r > L*H, and K^(L*H) != 0 (the degree is exactly L*H);
 *  - K^(2), K^(3) against derivatives of phi'(t) = grad_w h(u_i; w + t v) . v,
 *    where every phi'(t) is an exact gradient of the core library (backward pass at
 *    perturbed weights).  With the masks fixed phi' is a polynomial of degree L*H - 1,
 *    so interpolating it on 2M+1 >= L*H points t = k eps is exact: the tolerance is
 *    the rounding of phi', amplified by the inverse Vandermonde row and eps^-(r-1);
 *  - truncation (R smaller than the degree), batch independence, error paths.
 * Hypernetworks (with and without Fourier features, L = 1, H = 1) and plain MLPs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>

#include "hyperntk/hyperntk.h"
#include "testing.h"

#define SQ2 1.41421356237309504880

enum { B = 4, MAXW = 4096 };

static const hntk_hyper_arch HYPER_ARCHS[] = {
    {.f_depth = 3, .f_width = 10, .x_dim = 3, .g_depth = 3, .g_width = 4, .z_dim = 2},
    {.f_depth = 2, .f_width = 12, .x_dim = 4, .g_depth = 2, .g_width = 6, .z_dim = 3, .fourier_k = 6, .fourier_scale = 0.7},
    {.f_depth = 1, .f_width = 0, .x_dim = 3, .g_depth = 2, .g_width = 3, .z_dim = 2},
    {.f_depth = 4, .f_width = 8, .x_dim = 2, .g_depth = 1, .g_width = 0, .z_dim = 3},
    {.f_depth = 2, .f_width = 12, .x_dim = 3, .g_depth = 3, .g_width = 6, .z_dim = 2},
};
enum { N_HYPER = sizeof HYPER_ARCHS / sizeof HYPER_ARCHS[0] };

/* ------------------------------------------------------------ helpers */

typedef struct {
    hntk_hyper_arch a;
    int is_mlp;
    double X[B * 8], Z[B * 8];
} setup;

static void make_setup(setup *s, const hntk_hyper_arch *a, int is_mlp, uint32_t seed)
{
    s->a = *a;
    s->is_mlp = is_mlp;
    hntk_fill_normal_matrix(77, seed, 1, 1.0, s->X, B, (size_t)a->x_dim);
    if (is_mlp)
        for (long i = 0; i < B; i++) s->Z[i] = 1.0;
    else
        hntk_fill_normal_matrix(77, seed, 2, 1.0, s->Z, B, (size_t)a->z_dim);
}

/* Copy every weight (and Fourier feature) of src into dst (same architecture). */
static void copy_weights(hntk_net *dst, hntk_net *src)
{
    const hntk_hyper_arch *a = hntk_net_arch(src);
    for (int l = 1; l <= a->f_depth; l++)
        memcpy(hntk_net_weights(dst, l), hntk_net_weights(src, l),
               sizeof(double) * (size_t)(hntk_f_layer_width(a, l) * hntk_f_layer_width(a, l - 1)));
    if (a->fourier_k) {
        memcpy(hntk_net_fourier_freqs(dst), hntk_net_fourier_freqs(src), sizeof(double) * (size_t)(a->fourier_k * a->z_dim));
        memcpy(hntk_net_fourier_phases(dst), hntk_net_fourier_phases(src), sizeof(double) * (size_t)a->fourier_k);
    }
}

/* The direction v = grad_w h(u_j) of the net's last forward/backward, layer by layer (N_w). */
static void direction(const hntk_net *net, long j, double *v)
{
    const hntk_hyper_arch *a = hntk_net_arch(net);
    for (int l = 1; l <= a->f_depth; l++) {
        hntk_net_weight_grad(net, j, l, v);
        v += hntk_f_layer_width(a, l) * hntk_f_layer_width(a, l - 1);
    }
}

/* dst = src + t v (weights only). */
static void perturb(hntk_net *dst, hntk_net *src, const double *v, double t)
{
    const hntk_hyper_arch *a = hntk_net_arch(src);
    copy_weights(dst, src);
    for (int l = 1; l <= a->f_depth; l++) {
        long cnt = hntk_f_layer_width(a, l) * hntk_f_layer_width(a, l - 1);
        double *W = hntk_net_weights(dst, l);
        for (long k = 0; k < cnt; k++) W[k] += t * v[k];
        v += cnt;
    }
}

/* Signature of every ReLU mask of the last forward: f's (from Q^l > 0) and g's
 * (recomputed naively from v = f's output).  Returns the number of mask bits written. */
static long masks(hntk_net *net, const double *Z, unsigned char *bits)
{
    const hntk_hyper_arch *a = hntk_net_arch(net);
    long k = 0, P = hntk_f_out_dim(a);
    for (int l = 1; l < a->f_depth; l++) {
        const double *Q = hntk_net_activation(net, l);
        for (long c = 0; c < B * hntk_f_layer_width(a, l); c++) bits[k++] = Q[c] > 0;
    }
    double act[64], g[64];
    for (long b = 0; b < B; b++) {
        const double *v = hntk_net_f_output(net) + b * P;
        long m0 = hntk_g_layer_width(a, 0);
        if (a->fourier_k) {
            const double *w = hntk_net_fourier_freqs(net), *ph = hntk_net_fourier_phases(net);
            for (long i = 0; i < m0; i++) {
                double t = ph[i];
                for (long c = 0; c < a->z_dim; c++) t += w[i * a->z_dim + c] * Z[b * a->z_dim + c];
                act[i] = SQ2 * cos(t);
            }
        } else {
            memcpy(act, Z + b * a->z_dim, sizeof(double) * (size_t)m0);
        }
        for (int l = 1; l < a->g_depth; l++) {
            long ml = hntk_g_layer_width(a, l), mp = hntk_g_layer_width(a, l - 1);
            const double *V = v + hntk_g_chunk_offset(a, l);
            for (long i = 0; i < ml; i++) {
                double s = 0;
                for (long c = 0; c < mp; c++) s += V[i * mp + c] * act[c];
                g[i] = s / sqrt((double)mp);
            }
            for (long i = 0; i < ml; i++) {
                bits[k++] = g[i] > 0;
                act[i] = g[i] > 0 ? SQ2 * g[i] : 0.0;
            }
        }
    }
    return k;
}

static double factorial(int r)
{
    double f = 1;
    for (int k = 2; k <= r; k++) f *= k;
    return f;
}

/* ------------------------------------------------------------ checks */

/* K^(1) = column j of the empirical hyperkernel; c_0 = h bit for bit. */
static void check_first_order(hntk_net *net, hntk_taylor_ws *ws, const setup *s, const char *name)
{
    int R = hntk_taylor_order(ws);
    double K[B * HNTK_TAYLOR_MAX_ORDER], G[B * B];
    for (long j = 0; j < B; j++) {
        CHECK(hntk_taylor_kernels(net, ws, B, s->X, s->Z, j, K) == HNTK_OK, "%s: %s", name, hntk_last_error());
        hntk_net_ntk_gram(net, G);
        const double *c = hntk_taylor_coefficients(ws), *h = hntk_net_output(net);
        for (long i = 0; i < B; i++) {
            /* scale sqrt(K_ii K_jj) bounds |K_ij| (Cauchy-Schwarz) */
            double scale = sqrt(G[i * B + i] * G[j * B + j]);
            CHECK(fabs(K[i * R] - G[i * B + j]) <= 1e-12 * scale, "%s: K^(1)(%ld,%ld) = %.17g, Gram %.17g", name, i, j,
                  K[i * R], G[i * B + j]);
            CHECK(c[i * (R + 1)] == h[i], "%s: c_0(%ld) = %.17g, h = %.17g", name, i, c[i * (R + 1)], h[i]);
        }
    }
}

/* sum_k c_k t^k against h(u_i; w + t v) on an explicitly perturbed copy. */
static void check_polynomial(hntk_net *net, hntk_net *pert, hntk_taylor_ws *ws, const setup *s, const char *name)
{
    int R = hntk_taylor_order(ws);
    long Nw = hntk_param_count(&s->a);
    double *v = malloc(sizeof(double) * (size_t)Nw), K[B * HNTK_TAYLOR_MAX_ORDER];
    static unsigned char m0[MAXW], m1[MAXW];
    const double taus[] = {-0.05, 1e-3, 1e-2, 0.05};
    int checked = 0;
    for (long j = 0; j < B; j += 2) {
        hntk_taylor_kernels(net, ws, B, s->X, s->Z, j, K);
        direction(net, j, v);
        long nbits = masks(net, s->Z, m0);
        double vnorm = sqrt(K[j * R]); /* K^(1)(u_j,u_j) = |v|^2 */
        double coeff[B * (HNTK_TAYLOR_MAX_ORDER + 1)];
        memcpy(coeff, hntk_taylor_coefficients(ws), sizeof(double) * (size_t)(B * (R + 1)));
        for (size_t q = 0; q < sizeof taus / sizeof taus[0]; q++) {
            double t = taus[q] / vnorm, h[B];
            perturb(pert, net, v, t);
            hntk_net_forward(pert, B, s->X, s->Z, h);
            masks(pert, s->Z, m1);
            if (memcmp(m0, m1, (size_t)nbits)) continue; /* a ReLU flipped: the polynomial does not apply */
            checked++;
            for (long i = 0; i < B; i++) {
                const double *c = coeff + i * (R + 1);
                double poly = 0, mag = 0, tk = 1;
                for (int k = 0; k <= R; k++, tk *= t) {
                    poly += c[k] * tk;
                    mag += fabs(c[k] * tk);
                }
                CHECK(fabs(poly - h[i]) <= 1e-10 * mag, "%s: j=%ld t=%g i=%ld: Taylor %.17g, direct %.17g (scale %.3g)",
                      name, j, t, i, poly, h[i], mag);
            }
        }
    }
    CHECK(checked >= 2, "%s: only %d step(s) without a ReLU flip", name, checked);
    free(v);
}

/* Orders above L*H are exactly zero, the order L*H itself is not. */
static void check_degree(hntk_net *net, const setup *s, const char *name)
{
    long D = hntk_taylor_degree(&s->a);
    int R = (int)D + 3;
    hntk_taylor_ws *ws;
    CHECK(hntk_taylor_ws_alloc(&s->a, B, R, 0, &ws) == HNTK_OK, "%s: %s", name, hntk_last_error());
    double K[B * HNTK_TAYLOR_MAX_ORDER];
    for (long j = 0; j < B; j++) {
        hntk_taylor_kernels(net, ws, B, s->X, s->Z, j, K);
        for (long i = 0; i < B; i++) {
            for (int r = (int)D + 1; r <= R; r++)
                CHECK(K[i * R + r - 1] == 0.0, "%s: K^(%d)(%ld,%ld) = %g, want exactly 0 (L*H = %ld)", name, r, i, j,
                      K[i * R + r - 1], D);
        }
        /* On the diagonal every mask overlaps itself, so the top order is generically
         * nonzero (off the diagonal it vanishes when two inputs share no active unit). */
        CHECK(K[j * R + D - 1] != 0.0, "%s: K^(%ld)(%ld,%ld) = 0: degree below L*H", name, D, j, j);
    }
    hntk_taylor_ws_free(ws);
}

/* phi'(t) = grad_w h(u_i; w + t v) . v, from the core library's backward pass. */
static double dphi(hntk_net *net, hntk_net *pert, const setup *s, const double *v, double t, long i, double *grad)
{
    perturb(pert, net, v, t);
    hntk_net_forward(pert, B, s->X, s->Z, NULL);
    hntk_net_backward(pert);
    const hntk_hyper_arch *a = &s->a;
    double d = 0;
    for (int l = 1; l <= a->f_depth; l++) {
        long cnt = hntk_f_layer_width(a, l) * hntk_f_layer_width(a, l - 1);
        hntk_net_weight_grad(pert, i, l, grad);
        for (long k = 0; k < cnt; k++) d += grad[k] * v[k];
        v += cnt;
    }
    return d;
}

static void check_interpolation(hntk_net *net, hntk_net *pert, const setup *s, const char *name)
{
    long D = hntk_taylor_degree(&s->a), Nw = hntk_param_count(&s->a);
    int R = (int)(D < 3 ? 3 : D);
    int M = (int)(D / 2 > 1 ? D / 2 : 1); /* 2M + 1 >= D points: exact for phi' of degree D - 1 */
    int N = 2 * M + 1;
    hntk_taylor_ws *ws;
    hntk_taylor_ws_alloc(&s->a, B, R, 0, &ws);
    double *v = malloc(sizeof(double) * (size_t)Nw), *grad = malloc(sizeof(double) * (size_t)Nw);
    static unsigned char m0[MAXW], m1[MAXW];
    double K[B * HNTK_TAYLOR_MAX_ORDER], phi[32];

    /* Vandermonde in s = k (k = -M..M) and its inverse: phi'(k eps) = sum_q c_q k^q */
    gsl_matrix *A = gsl_matrix_alloc(N, N), *Ainv = gsl_matrix_alloc(N, N);
    gsl_permutation *perm = gsl_permutation_alloc(N);
    int sign;
    for (int k = 0; k < N; k++)
        for (int q = 0; q < N; q++) gsl_matrix_set(A, k, q, pow(k - M, q));
    gsl_linalg_LU_decomp(A, perm, &sign);
    gsl_linalg_LU_invert(A, perm, Ainv);

    const long pairs[][2] = {{0, 1}, {2, 2}, {3, 0}};
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
        long i = pairs[p][0], j = pairs[p][1];
        hntk_taylor_kernels(net, ws, B, s->X, s->Z, j, K);
        direction(net, j, v);
        long nbits = masks(net, s->Z, m0);
        /* the largest eps = 2^-k * 0.02 / |v| keeping every mask at every point */
        double eps = 0.02 / sqrt(K[j * R]);
        int fixed = 0;
        for (int tries = 0; tries < 40 && !fixed; tries++, eps *= 0.5) {
            fixed = 1;
            for (int k = -M; k <= M && fixed; k++) {
                perturb(pert, net, v, k * eps);
                hntk_net_forward(pert, B, s->X, s->Z, NULL);
                masks(pert, s->Z, m1);
                fixed = !memcmp(m0, m1, (size_t)nbits);
            }
            if (fixed) break;
        }
        CHECK(fixed, "%s: no step keeps the ReLU masks", name);
        double pmax = 0;
        for (int k = 0; k < N; k++) {
            phi[k] = dphi(net, pert, s, v, (k - M) * eps, i, grad);
            pmax = fmax(pmax, fabs(phi[k]));
        }
        /* rounding of one phi': generously 1e3 ulps of its largest value */
        double dphi_err = 1e3 * 2.2e-16 * pmax;
        for (int r = 2; r <= 3 && r <= D; r++) {
            int q = r - 1;
            double c = 0, rownorm = 0;
            for (int k = 0; k < N; k++) {
                c += gsl_matrix_get(Ainv, q, k) * phi[k];
                rownorm += fabs(gsl_matrix_get(Ainv, q, k));
            }
            double want = factorial(q) * c / pow(eps, q);
            double tol = factorial(q) * rownorm * dphi_err / pow(eps, q);
            double got = K[i * R + r - 1];
            CHECK(fabs(got - want) <= tol, "%s: K^(%d)(%ld,%ld) = %.15g, interpolated %.15g (tol %.3g, eps %.3g)", name,
                  r, i, j, got, want, tol, eps);
            /* the reference must be sharp enough to mean something */
            CHECK(tol <= 1e-5 * fmax(fabs(got), 1e-3 * pow(K[j * R], 0.5 * r)),
                  "%s: interpolation tolerance %.3g too loose for K^(%d) = %.3g", name, tol, r, got);
        }
    }
    gsl_permutation_free(perm);
    gsl_matrix_free(A);
    gsl_matrix_free(Ainv);
    free(v);
    free(grad);
    hntk_taylor_ws_free(ws);
}

/* A smaller R gives the same leading orders; a batch of two gives the same values. */
static void check_truncation_and_batch(hntk_net *net, const setup *s, const char *name)
{
    long D = hntk_taylor_degree(&s->a);
    int R = (int)D, R2 = 2;
    hntk_taylor_ws *ws, *ws2;
    hntk_taylor_ws_alloc(&s->a, B, R, 0, &ws);
    hntk_taylor_ws_alloc(&s->a, B, R2, 0, &ws2);
    double K[B * HNTK_TAYLOR_MAX_ORDER], K2[B * HNTK_TAYLOR_MAX_ORDER], Kp[2 * HNTK_TAYLOR_MAX_ORDER];
    long j = 1;
    hntk_taylor_kernels(net, ws, B, s->X, s->Z, j, K);
    hntk_taylor_kernels(net, ws2, B, s->X, s->Z, j, K2);
    for (long i = 0; i < B; i++)
        for (int r = 1; r <= R2 && r <= R; r++)
            CHECK(testing_rel_err(K2[i * R2 + r - 1], K[i * R + r - 1]) <= 1e-13, "%s: R=%d vs R=%d, K^(%d)(%ld,%ld)",
                  name, R2, R, r, i, j);
    /* batch {u_3, u_j}, direction its input 1 */
    double Xp[2 * 8], Zp[2 * 8];
    long i = 3;
    memcpy(Xp, s->X + i * s->a.x_dim, sizeof(double) * (size_t)s->a.x_dim);
    memcpy(Xp + s->a.x_dim, s->X + j * s->a.x_dim, sizeof(double) * (size_t)s->a.x_dim);
    memcpy(Zp, s->Z + i * s->a.z_dim, sizeof(double) * (size_t)s->a.z_dim);
    memcpy(Zp + s->a.z_dim, s->Z + j * s->a.z_dim, sizeof(double) * (size_t)s->a.z_dim);
    CHECK(hntk_taylor_kernels(net, ws, 2, Xp, Zp, 1, Kp) == HNTK_OK, "%s: %s", name, hntk_last_error());
    for (int r = 1; r <= R; r++) {
        double scale = fmax(fabs(K[i * R + r - 1]), 1e-12 * pow(K[j * R], 0.5 * r));
        CHECK(fabs(Kp[r - 1] - K[i * R + r - 1]) <= 1e-12 * scale, "%s: batch of 2 vs %d: K^(%d) = %.17g vs %.17g",
              name, B, r, Kp[r - 1], K[i * R + r - 1]);
    }
    hntk_taylor_ws_free(ws);
    hntk_taylor_ws_free(ws2);
}

static void run_all(const setup *s, const char *name)
{
    hntk_net *net, *pert;
    CHECK(hntk_net_alloc(&s->a, B, 0, &net) == HNTK_OK, "%s: %s", name, hntk_last_error());
    CHECK(hntk_net_alloc(&s->a, B, 0, &pert) == HNTK_OK, "%s: %s", name, hntk_last_error());
    hntk_net_sample_weights(net, 5, 3);
    hntk_taylor_ws *ws;
    int R = (int)hntk_taylor_degree(&s->a);
    CHECK(hntk_taylor_ws_alloc(&s->a, B, R, 0, &ws) == HNTK_OK, "%s: %s", name, hntk_last_error());
    /* The setup must not be degenerate: no input whose gradient vanishes (every unit of a
     * layer of g inactive), else its direction is zero and the checks say nothing. */
    double G[B * B];
    hntk_net_forward(net, B, s->X, s->Z, NULL);
    hntk_net_backward(net);
    hntk_net_ntk_gram(net, G);
    for (long j = 0; j < B; j++) CHECK(G[j * B + j] > 0, "%s: degenerate setup: grad h(u_%ld) = 0", name, j);
    check_first_order(net, ws, s, name);
    check_polynomial(net, pert, ws, s, name);
    check_degree(net, s, name);
    check_interpolation(net, pert, s, name);
    check_truncation_and_batch(net, s, name);
    hntk_taylor_ws_free(ws);
    hntk_net_free(net);
    hntk_net_free(pert);
}

static void check_errors(void)
{
    hntk_hyper_arch a = HYPER_ARCHS[0], other = HYPER_ARCHS[4];
    hntk_taylor_ws *ws = (hntk_taylor_ws *)1;
    CHECK(hntk_taylor_ws_alloc(&a, B, 0, 0, &ws) == HNTK_EINVAL && ws == NULL, "R = 0 accepted");
    CHECK(strstr(hntk_last_error(), "R = 0") != NULL, "message: %s", hntk_last_error());
    CHECK(hntk_taylor_ws_alloc(&a, B, HNTK_TAYLOR_MAX_ORDER + 1, 0, &ws) == HNTK_EINVAL, "R too large accepted");
    CHECK(hntk_taylor_ws_alloc(&a, 0, 3, 0, &ws) == HNTK_EINVAL, "batch 0 accepted");
    CHECK(hntk_taylor_ws_alloc(&a, B, 3, 16, &ws) == HNTK_EBUDGET, "budget ignored");
    hntk_hyper_arch bad = a;
    bad.g_depth = 0;
    CHECK(hntk_taylor_ws_alloc(&bad, B, 3, 0, &ws) == HNTK_EINVAL, "invalid architecture accepted");
    hntk_taylor_ws_free(NULL);

    hntk_net *net;
    hntk_net_alloc(&a, B + 2, 0, &net);
    hntk_net_sample_weights(net, 1, 0);
    double X[(B + 2) * 8] = {0}, Z[(B + 2) * 8] = {0}, K[(B + 2) * 8];
    for (int k = 0; k < (B + 2) * 8; k++) X[k] = Z[k] = 1.0 + k;
    CHECK(hntk_taylor_ws_alloc(&a, B, 3, 0, &ws) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_taylor_kernels(net, ws, B, X, Z, B, K) == HNTK_EINVAL, "j = B accepted");
    CHECK(strstr(hntk_last_error(), "j = 4") != NULL, "message: %s", hntk_last_error());
    CHECK(hntk_taylor_kernels(net, ws, B, X, Z, -1, K) == HNTK_EINVAL, "j = -1 accepted");
    CHECK(hntk_taylor_kernels(net, ws, B + 1, X, Z, 0, K) == HNTK_EINVAL, "B over the workspace accepted");
    CHECK(hntk_taylor_kernels(net, ws, 0, X, Z, 0, K) == HNTK_EINVAL, "B = 0 accepted");
    hntk_taylor_ws *ws_other;
    hntk_taylor_ws_alloc(&other, B, 3, 0, &ws_other);
    CHECK(hntk_taylor_kernels(net, ws_other, B, X, Z, 0, K) == HNTK_EINVAL, "workspace of another architecture accepted");
    CHECK(hntk_taylor_kernels(net, ws, B, X, Z, 0, K) == HNTK_OK, "%s", hntk_last_error());
    hntk_taylor_ws_free(ws_other);
    hntk_taylor_ws_free(ws);
    hntk_net_free(net);
}

int main(void)
{
    char name[128];
    for (int k = 0; k < N_HYPER; k++) {
        setup s;
        make_setup(&s, &HYPER_ARCHS[k], 0, (uint32_t)k);
        snprintf(name, sizeof name, "hyper L=%d H=%d%s", s.a.f_depth, s.a.g_depth, s.a.fourier_k ? " fourier" : "");
        run_all(&s, name);
    }
    const int mlp_depths[] = {2, 3, 4};
    for (int k = 0; k < 3; k++) {
        setup s;
        hntk_hyper_arch a = hntk_mlp_arch(mlp_depths[k], 8, 3);
        make_setup(&s, &a, 1, (uint32_t)(100 + k));
        snprintf(name, sizeof name, "MLP L=%d", a.f_depth);
        run_all(&s, name);
    }
    check_errors();
    return TEST_SUMMARY();
}
