/* stdparam.c: the authors' standard parametrization on the NTK engine (see stdparam.h). */
#include "hyperntk/stdparam.h"

#include <math.h>

#include "hyperntk/error.h"
#include "hyperntk/net.h"
#include "blas.h"

double hntk_stdparam_rate(const hntk_hyper_arch *a, int l, long row)
{
    if (l < 1 || l > a->f_depth || row < 0 || row >= hntk_f_layer_width(a, l)) return 0.0;
    double n = (double)hntk_f_layer_width(a, l - 1);
    if (l < a->f_depth) return n;
    for (int k = a->g_depth; k >= 1; k--)
        if (row >= hntk_g_chunk_offset(a, k)) return n * (double)hntk_g_layer_width(a, k - 1);
    return 0.0;
}

/* Chunk k of W^L: its first row and its row count. */
static void chunk_rows(const hntk_hyper_arch *a, int k, long *first, long *count)
{
    *first = hntk_g_chunk_offset(a, k);
    *count = hntk_g_layer_width(a, k) * hntk_g_layer_width(a, k - 1);
}

int hntk_stdparam_init(hntk_train *t)
{
    hntk_net *net = hntk_train_net(t);
    const hntk_hyper_arch *a = hntk_net_arch(net);
    int L = a->f_depth;
    long n = hntk_f_layer_width(a, L - 1);
    double *W = hntk_net_weights(net, L);
    for (int k = 1; k <= a->g_depth; k++) {
        long first, count;
        chunk_rows(a, k, &first, &count);
        cblas_dscal((int)(count * n), sqrt((double)hntk_g_layer_width(a, k - 1)), W + first * n, 1);
    }
    return HNTK_OK;
}

int hntk_stdparam_apply(hntk_train *t, double mu)
{
    if (!isfinite(mu)) return hntk_fail(HNTK_EINVAL, "learning rate mu = %g is not finite", mu);
    hntk_net *net = hntk_train_net(t);
    const hntk_hyper_arch *a = hntk_net_arch(net);
    int L = a->f_depth;
    for (int l = 1; l < L; l++) {
        long k = hntk_f_layer_width(a, l) * hntk_f_layer_width(a, l - 1);
        cblas_daxpy((int)k, -mu * hntk_stdparam_rate(a, l, 0), hntk_train_grad(t, l), 1, hntk_net_weights(net, l), 1);
    }
    long n = hntk_f_layer_width(a, L - 1);
    const double *G = hntk_train_grad(t, L);
    double *W = hntk_net_weights(net, L);
    for (int k = 1; k <= a->g_depth; k++) {
        long first, count;
        chunk_rows(a, k, &first, &count);
        cblas_daxpy((int)(count * n), -mu * hntk_stdparam_rate(a, L, first), G + first * n, 1, W + first * n, 1);
    }
    return HNTK_OK;
}

int hntk_stdparam_weights(hntk_train *t, double *w)
{
    hntk_net *net = hntk_train_net(t);
    const hntk_hyper_arch *a = hntk_net_arch(net);
    long off = 0;
    for (int l = 1; l <= a->f_depth; l++) {
        long rows = hntk_f_layer_width(a, l), cols = hntk_f_layer_width(a, l - 1);
        const double *W = hntk_net_weights(net, l);
        for (long r = 0; r < rows; r++) {
            double c = sqrt(hntk_stdparam_rate(a, l, r));
            for (long j = 0; j < cols; j++) w[off + r * cols + j] = W[r * cols + j] / c;
        }
        off += rows * cols;
    }
    return HNTK_OK;
}
