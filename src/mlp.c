/* mlp.c: one-hidden-layer classifiers and their parametrizations (mlp.h). */
#include "hyperntk/mlp.h"

#include <math.h>
#include <stdlib.h>

#include "blas.h"
#include "hyperntk/error.h"

const char *const hntk_param_names[] = {"ntk", "standard", "meanfield", NULL};

hntk_hyper_arch hntk_mlp1_arch(long n, long d, long C)
{
    hntk_hyper_arch a = hntk_mlp_arch(2, n, d);
    a.g_out = C;
    return a;
}

int hntk_mlp1_param(int p, long n, long d, double rho[2], double *w2_scale)
{
    if (n < 1 || d < 1) return hntk_fail(HNTK_EINVAL, "width n = %ld, input d = %ld: accepted n, d >= 1", n, d);
    switch (p) {
    case HNTK_PARAM_NTK: rho[0] = 1.0, rho[1] = 1.0, *w2_scale = 1.0; return HNTK_OK;
    case HNTK_PARAM_STANDARD: rho[0] = (double)d, rho[1] = (double)n, *w2_scale = 1.0; return HNTK_OK;
    case HNTK_PARAM_MEANFIELD: rho[0] = 1.0, rho[1] = 1.0 / (double)n, *w2_scale = 1.0 / sqrt((double)n); return HNTK_OK;
    default:
        return hntk_fail(HNTK_EINVAL, "parametrization %d is out of range: accepted 0 (ntk), 1 (standard), 2 (meanfield)", p);
    }
}

static int check_arch(const hntk_hyper_arch *a)
{
    if (a->f_depth != 2 || a->g_depth != 1 || a->z_dim != 1 || a->fourier_k != 0)
        return hntk_fail(HNTK_EINVAL, "not a one-hidden-layer classifier (f depth %d, g depth %d, z_dim %ld): expected "
                         "hntk_mlp1_arch (f depth 2, g depth 1, z_dim 1)", a->f_depth, a->g_depth, a->z_dim);
    return HNTK_OK;
}

int hntk_mlp1_param_apply(hntk_train *t, int p)
{
    hntk_net *net = hntk_train_net(t);
    const hntk_hyper_arch *a = hntk_net_arch(net);
    int st = check_arch(a);
    double rho[2], s;
    if (!st) st = hntk_mlp1_param(p, a->f_width, a->x_dim, rho, &s);
    if (st) return st;
    if (s != 1.0) cblas_dscal((int)(hntk_g_outputs(a) * a->f_width), s, hntk_net_weights(net, 2), 1);
    st = hntk_train_set_layer_rate(t, 1, rho[0]);
    return st ? st : hntk_train_set_layer_rate(t, 2, rho[1]);
}

size_t hntk_mlp1_ntk_work(long B, long n) { return (size_t)B * (size_t)n + (size_t)B * (size_t)B; }

int hntk_mlp1_ntk(hntk_net *net, const double rho[2], long c, long B, const double *X, double *work, double *K)
{
    const hntk_hyper_arch *a = hntk_net_arch(net);
    int st = check_arch(a);
    if (st) return st;
    long n = a->f_width, d = a->x_dim, C = hntk_g_outputs(a);
    if (c < 0 || c >= C) return hntk_fail(HNTK_EINVAL, "output c = %ld is out of range: accepted 0..%ld", c, C - 1);
    if (B < 1 || B > 1000000) return hntk_fail(HNTK_EINVAL, "B = %ld inputs: accepted 1..1000000", B);
    double r1 = rho ? rho[0] : 1.0, r2 = rho ? rho[1] : 1.0;
    const double *W1 = hntk_net_weights(net, 1), *w2 = hntk_net_weights(net, 2) + c * n;
    double *Q = work, *G = work + (size_t)B * (size_t)n;
    /* Y = X W1^T / sqrt(d), then Q = sqrt(2) relu(Y) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)n, (int)d, 1.0 / sqrt((double)d), X, (int)d, W1,
                (int)d, 0.0, Q, (int)n);
    const double s2 = sqrt(2.0);
    for (size_t k = 0; k < (size_t)B * (size_t)n; k++) Q[k] = Q[k] > 0.0 ? s2 * Q[k] : 0.0;
    /* K = rho_2 Q Q^T / n (lower triangle) */
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)B, (int)n, r2 / (double)n, Q, (int)n, 0.0, K, (int)B);
    /* S = sqrt(2) |W^2_c| 1[y > 0] in place; G = S S^T / n (lower) */
    for (long b = 0; b < B; b++)
        for (long i = 0; i < n; i++) Q[b * n + i] = Q[b * n + i] > 0.0 ? s2 * fabs(w2[i]) : 0.0;
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)B, (int)n, 1.0 / (double)n, Q, (int)n, 0.0, G, (int)B);
    for (long i = 0; i < B; i++)
        for (long j = 0; j <= i; j++) {
            double xx = 0.0;
            for (long k = 0; k < d; k++) xx += X[i * d + k] * X[j * d + k];
            double v = K[i * B + j] + r1 * (xx / (double)d) * G[i * B + j];
            K[i * B + j] = K[j * B + i] = v;
        }
    return HNTK_OK;
}
